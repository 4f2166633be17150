/* SPDX-License-Identifier: MIT */
/*
 * b-share.c: sharing N bytes (4 KiB .. 256 MiB) from one process to another,
 * end to end: the writer produces N bytes and hands them off; the reader
 * (another process) gets at them and reads every byte; the time runs from
 * the writer's start to the reader's acknowledgement. Writer on CPU 0,
 * reader, shmviewd and redis-server on CPU 1.
 *
 *   shmview-fresh  create(N) (posix_fallocate: O(N)), open a writable view,
 *                  write N, hand the name over; the reader opens a read-only
 *                  view, reads N, releases
 *   shmview-reuse  one segment made beforehand and kept mapped by the writer
 *                  (its pages faulted in); per hand-off: write N, the reader
 *                  opens a view, reads N, releases
 *   raw-shm        floor: anonymous MAP_SHARED memory inherited over fork(),
 *                  mapped and faulted in by both beforehand; write N, read N
 *   memfd-fd-passing  floor for shmview-fresh, without a daemon: memfd_create
 *                  + posix_fallocate(N) + mmap, write N, send the descriptor
 *                  with SCM_RIGHTS; the reader maps it and reads N
 *   unix-socket    write N into a buffer, send it over a socketpair; the
 *                  reader receives into its buffer and reads it
 *   redis          SET key <N bytes> then, in the reader, GET key, over
 *                  loopback TCP to redis-server (--redis-port), RESP by hand
 *   shmview-fresh-prefault  shmview-fresh with SHMV_PREFAULT on both opens
 *                  (MAP_POPULATE: the pages mapped by the open, not by faults)
 *   shmview-create-open[-prefault]  shmview-fresh[-prefault] with the
 *                  writer's create and open in one round trip
 *                  (shmv_view_create)
 *
 * At each N the methods' hand-offs alternate, one of each in turn.
 * Python's multiprocessing.shared_memory (bench/shm_share.py) and iceoryx
 * (bench/iox-share.c) are separate programs; run.py runs them.
 */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "shmview.h"

enum method {
  M_FRESH,
  M_REUSE,
  M_RAW,
  M_FDPASS,
  M_SOCK,
  M_REDIS,
  M_FRESH_PF,
  M_CO,
  M_CO_PF,
  M_COUNT
};
static const char *mnames[M_COUNT] = {
  "shmview-fresh",          "shmview-reuse",       "raw-shm",
  "memfd-fd-passing",       "unix-socket",         "redis",
  "shmview-fresh-prefault", "shmview-create-open", "shmview-create-open-prefault"
};

/* The methods that make a fresh segment per hand-off. */
static int fresh(enum method m) {
  return m == M_FRESH || m == M_FRESH_PF || m == M_CO || m == M_CO_PF;
}

struct cmd {
  uint64_t n;
  int32_t rep;
  int32_t quit;
};

struct ack {
  uint64_t sum;
  uint64_t t_open, t_read, t_release; /* reader's parts, ns */
};

struct ctx {
  enum method m;
  size_t n;
  struct daemon *d;
  shmv_client *c;
  shmv_view *keep; /* reuse: the writer's view */
  char *buf;       /* private buffer (socket, redis) */
  char *raw;       /* raw-shm region */
  int sock;        /* socketpair end or redis connection */
};

static void fill(char *p, size_t n, int rep) {
  memset(p, 'a' + rep % 26, n);
}

/* ---- a minimal RESP client ---- */

static int redis_connect(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET,
                            .sin_port = htons((uint16_t)bench_opts.redis_port) };
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0)
    die("redis connect: %s", strerror(errno));
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

static void redis_line(int s, char *line, size_t cap) {
  size_t i = 0;
  for (;;) {
    char ch;
    if (read_full(s, &ch, 1) != 0)
      die("redis: connection lost");
    if (ch == '\n')
      break;
    if (ch != '\r' && i + 1 < cap)
      line[i++] = ch;
  }
  line[i] = '\0';
}

static void redis_set(int s, const char *data, size_t n) {
  char hdr[128];
  int h = snprintf(hdr, sizeof hdr, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", n);
  if (write_full(s, hdr, (size_t)h) || write_full(s, data, n) || write_full(s, "\r\n", 2))
    die("redis: write");
  char line[256];
  redis_line(s, line, sizeof line);
  if (strcmp(line, "+OK") != 0)
    die("redis SET: %s", line);
}

static void redis_get(int s, char *into, size_t n) {
  static const char q[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
  if (write_full(s, q, sizeof q - 1))
    die("redis: write");
  char line[256];
  redis_line(s, line, sizeof line);
  if (line[0] != '$' || strtoull(line + 1, NULL, 10) != n)
    die("redis GET: %s", line);
  char crlf[2];
  if (read_full(s, into, n) || read_full(s, crlf, 2))
    die("redis: read");
}

/* ---- descriptor passing (the memfd floor) ---- */

static void send_fd(int s, int fd) {
  char byte = 'f';
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr m = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf
  };
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (sendmsg(s, &m, 0) != 1)
    die("sendmsg: %s", strerror(errno));
}

static int recv_fd(int s) {
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr m = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf
  };
  if (recvmsg(s, &m, MSG_CMSG_CLOEXEC) != 1)
    die("recvmsg: %s", strerror(errno));
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  int fd;
  if (!c || c->cmsg_type != SCM_RIGHTS)
    die("no descriptor");
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* ---- the two sides ---- */

static void seg_name(char *buf, size_t cap, int rep) {
  snprintf(buf, cap, "share-%d", rep);
}

/* Writer: produce n bytes and hand them off. parts[0..1]: its own parts. */
static void writer(struct ctx *x, int rep, uint64_t *parts) {
  size_t n = x->n;
  int rc;
  uint64_t t0 = now_ns();
  switch (x->m) {
  case M_FRESH:
  case M_FRESH_PF: {
    char name[64];
    seg_name(name, sizeof name, rep);
    if ((rc = shmv_create(x->c, name, n, 0600)) < 0)
      die("create: %s", shmv_strerror(rc));
    uint64_t t1 = now_ns();
    shmv_view *v;
    int pf = x->m == M_FRESH_PF ? SHMV_PREFAULT : 0;
    if ((rc = shmv_view_open(x->c, name, 0, SHMV_TO_END, SHMV_WRITABLE | pf, &v)) < 0)
      die("open: %s", shmv_strerror(rc));
    fill(shmv_view_data(v), n, rep);
    shmv_view_release(v);
    parts[0] = t1 - t0;
    parts[1] = now_ns() - t1;
    break;
  }
  case M_CO:
  case M_CO_PF: {
    char name[64];
    seg_name(name, sizeof name, rep);
    shmv_view *v;
    unsigned pf = x->m == M_CO_PF ? SHMV_PREFAULT : 0;
    if ((rc = shmv_view_create(x->c, name, n, 0600, pf, &v)) < 0)
      die("create_open: %s", shmv_strerror(rc));
    uint64_t t1 = now_ns();
    fill(shmv_view_data(v), n, rep);
    shmv_view_release(v);
    parts[0] = t1 - t0; /* create and open, one round trip */
    parts[1] = now_ns() - t1;
    break;
  }
  case M_REUSE: fill(shmv_view_data(x->keep), n, rep); break;
  case M_RAW: fill(x->raw, n, rep); break;
  case M_FDPASS: {
    int fd = memfd_create("share", MFD_CLOEXEC);
    if (fd < 0 || posix_fallocate(fd, 0, (off_t)n) != 0)
      die("memfd: %s", strerror(errno));
    uint64_t t1 = now_ns();
    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
      die("mmap: %s", strerror(errno));
    fill(p, n, rep);
    munmap(p, n);
    send_fd(x->sock, fd);
    close(fd);
    parts[0] = t1 - t0;
    parts[1] = now_ns() - t1;
    break;
  }
  case M_SOCK:
    fill(x->buf, n, rep);
    /* the send completes as the reader drains it (below, concurrently) */
    break;
  case M_REDIS:
    fill(x->buf, n, rep);
    redis_set(x->sock, x->buf, n);
    break;
  default: break;
  }
}

static void reader(struct ctx *x, int rep, struct ack *a) {
  size_t n = x->n;
  int rc;
  uint64_t t0 = now_ns(), t1 = t0, t2, t3;
  switch (x->m) {
  case M_FRESH:
  case M_FRESH_PF:
  case M_CO:
  case M_CO_PF:
  case M_REUSE: {
    char name[64];
    if (x->m != M_REUSE)
      seg_name(name, sizeof name, rep);
    else
      strcpy(name, "share-reuse");
    shmv_view *v;
    int pf = x->m == M_FRESH_PF || x->m == M_CO_PF ? SHMV_PREFAULT : 0;
    if ((rc = shmv_view_open(x->c, name, 0, SHMV_TO_END, pf, &v)) < 0)
      die("reader open: %s", shmv_strerror(rc));
    t1 = now_ns();
    a->sum = sum_bytes(shmv_view_data(v), n);
    t2 = now_ns();
    shmv_view_release(v);
    t3 = now_ns();
    break;
  }
  case M_RAW:
    a->sum = sum_bytes(x->raw, n);
    t2 = t3 = now_ns();
    break;
  case M_FDPASS: {
    int fd = recv_fd(x->sock);
    char *p = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
      die("reader mmap: %s", strerror(errno));
    t1 = now_ns();
    a->sum = sum_bytes(p, n);
    t2 = now_ns();
    munmap(p, n);
    t3 = now_ns();
    break;
  }
  case M_SOCK:
    if (read_full(x->sock, x->buf, n))
      die("socket read");
    t1 = now_ns();
    a->sum = sum_bytes(x->buf, n);
    t2 = t3 = now_ns();
    break;
  case M_REDIS:
    redis_get(x->sock, x->buf, n);
    t1 = now_ns();
    a->sum = sum_bytes(x->buf, n);
    t2 = t3 = now_ns();
    break;
  default: t2 = t3 = t0;
  }
  a->t_open = t1 - t0;
  a->t_read = t2 - t1;
  a->t_release = t3 - t2;
}

static int reps_for(size_t n) {
  int r = n <= (1u << 20) ? 31 : n <= (16u << 20) ? 11 : n <= (64u << 20) ? 5 : 3;
  return bench_opts.quick ? (r > 3 ? 3 : r) : r;
}

/* One method at one N: its reader process and its samples. */
struct run {
  struct ctx x;
  int sv[2];    /* socketpair (socket, memfd) */
  pid_t kid;    /* the reader */
  int to, from; /* the writer's ends of the reader's pipes */
  int k;        /* samples so far */
  uint64_t tot[64], wc[64], ww[64], ro[64], rr[64], rl[64];
};

/* The reader of r->x.m: setup made before the fork (shared memory the
 * reader inherits, the socketpair), then the fork. The writer's private
 * buffers come after every fork (share_writer_setup), so no writer page is
 * shared copy-on-write with a reader. */
static void share_fork(struct run *r, enum method m, size_t n, struct daemon *d) {
  struct ctx *x = &r->x;
  int rc;

  memset(r, 0, sizeof *r);
  x->m = m;
  x->n = n;
  x->d = d;
  x->sock = -1;
  r->sv[0] = r->sv[1] = -1;
  if (m == M_RAW) {
    x->raw = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (x->raw == MAP_FAILED)
      die("mmap %zu: %s", n, strerror(errno));
    memset(x->raw, 1, n);
  }
  if ((m == M_SOCK || m == M_FDPASS) && socketpair(AF_UNIX, SOCK_STREAM, 0, r->sv) != 0)
    die("socketpair");
  if (m == M_REUSE) {
    if ((rc = shmv_connect(d->socket, &x->c)) < 0 ||
        (rc = shmv_create(x->c, "share-reuse", n, 0600)) < 0 ||
        (rc = shmv_view_open(x->c, "share-reuse", 0, SHMV_TO_END, SHMV_WRITABLE, &x->keep)) < 0)
      die("reuse: %s", shmv_strerror(rc));
    memset(shmv_view_data(x->keep), 1, n); /* faulted in, as a reused buffer is */
  }
  int down[2], up[2];
  r->kid = fork_piped(down, up);
  if (r->kid == 0) {
    pin_cpu(1 < ncpus() ? 1 : 0);
    x->keep = NULL; /* the parent's: never used after fork */
    x->c = NULL;
    if (fresh(m) || m == M_REUSE)
      if ((rc = shmv_connect(d->socket, &x->c)) < 0)
        die("reader connect: %s", shmv_strerror(rc));
    if (m == M_SOCK || m == M_FDPASS) {
      close(r->sv[0]);
      x->sock = r->sv[1];
    }
    if (m == M_REDIS)
      x->sock = redis_connect();
    if (m == M_SOCK || m == M_REDIS) {
      x->buf = malloc(n);
      memset(x->buf, 0, n);
    }
    struct cmd cm;
    while (read_full(down[0], &cm, sizeof cm) == 0 && !cm.quit) {
      struct ack a;
      memset(&a, 0, sizeof a);
      reader(x, cm.rep, &a);
      if (write_full(up[1], &a, sizeof a))
        break;
    }
    _exit(0);
  }
  r->to = down[1];
  r->from = up[0];
}

static void share_writer_setup(struct run *r) {
  struct ctx *x = &r->x;
  int rc;

  if (fresh(x->m))
    if ((rc = shmv_connect(x->d->socket, &x->c)) < 0)
      die("writer connect: %s", shmv_strerror(rc));
  if (x->m == M_SOCK || x->m == M_FDPASS) {
    close(r->sv[1]);
    x->sock = r->sv[0];
  }
  if (x->m == M_REDIS)
    x->sock = redis_connect();
  if (x->m == M_SOCK || x->m == M_REDIS) {
    x->buf = malloc(x->n);
    memset(x->buf, 0, x->n);
  }
}

/* One hand-off; rep < 0 is a warm-up, not kept. */
static void share_once(struct run *r, int rep) {
  struct ctx *x = &r->x;
  size_t n = x->n;
  uint64_t parts[2] = { 0, 0 };
  struct cmd cm = { .n = n, .rep = rep + 1000 * (int)x->m, .quit = 0 };
  uint64_t t0 = now_ns();
  writer(x, cm.rep, parts);
  if (write_full(r->to, &cm, sizeof cm))
    die("reader gone");
  if (x->m == M_SOCK && write_full(x->sock, x->buf, n))
    die("socket write");
  struct ack a;
  if (read_full(r->from, &a, sizeof a))
    die("reader died");
  uint64_t t1 = now_ns();
  if (a.sum == 0 && n >= 8)
    die("%s: reader read nothing", mnames[x->m]);
  if (fresh(x->m)) {
    char name[64];
    seg_name(name, sizeof name, cm.rep);
    shmv_unlink(x->c, name);
  }
  if (rep < 0)
    return;
  int k = r->k++;
  r->tot[k] = t1 - t0;
  r->wc[k] = parts[0];
  r->ww[k] = parts[1];
  r->ro[k] = a.t_open;
  r->rr[k] = a.t_read;
  r->rl[k] = a.t_release;
}

static void share_stop_reader(struct run *r) {
  struct cmd q = { .quit = 1 };

  write_full(r->to, &q, sizeof q);
  close(r->to);
  close(r->from);
  waitpid(r->kid, NULL, 0);
}

/* After every reader is gone: the RESULT line, the writer's side undone. */
static void share_finish(struct run *r) {
  struct ctx *x = &r->x;
  int k = r->k;

  result("\"bench\":\"share\",\"method\":\"%s\",\"n\":%zu,\"unit\":\"us\","
         "\"median\":%.2f,\"p99\":%.2f,\"samples\":%d,"
         "\"create_median\":%.2f,\"writer_open_write_median\":%.2f,"
         "\"reader_open_median\":%.2f,\"reader_read_median\":%.2f,"
         "\"reader_release_median\":%.2f,\"reader_open_p99\":%.2f",
         mnames[x->m], x->n, percentile(r->tot, k, 50) / 1e3, percentile(r->tot, k, 99) / 1e3, k,
         percentile(r->wc, k, 50) / 1e3, percentile(r->ww, k, 50) / 1e3,
         percentile(r->ro, k, 50) / 1e3, percentile(r->rr, k, 50) / 1e3,
         percentile(r->rl, k, 50) / 1e3, percentile(r->ro, k, 99) / 1e3);
  if (x->keep) {
    shmv_view_release(x->keep);
    shmv_unlink(x->c, "share-reuse");
  }
  if (x->c)
    shmv_disconnect(x->c);
  if (x->raw)
    munmap(x->raw, x->n);
  if (x->sock >= 0)
    close(x->sock);
  free(x->buf);
}

/* At each N every method has its reader process, and the hand-offs of the
 * methods alternate, one of each in turn, so a comparison (shmview against
 * its floors and the copying alternatives) is between samples taken under
 * the same load. */
int bench_share(void) {
  size_t maxn = bench_only_max_size("share");
  struct daemon d;
  static struct run runs[M_COUNT];
  daemon_start(&d, 1 < ncpus() ? 1 : 0, NULL);
  for (size_t n = 4096; n <= maxn; n *= 4) {
    int ms[M_COUNT], nm = 0;
    for (int m = 0; m < M_COUNT; m++)
      if (m != M_REDIS || bench_opts.redis_port != 0)
        ms[nm++] = m;
    for (int i = 0; i < nm; i++)
      share_fork(&runs[i], (enum method)ms[i], n, &d);
    pin_cpu(0);
    for (int i = 0; i < nm; i++)
      share_writer_setup(&runs[i]);
    for (int rep = -1; rep < reps_for(n); rep++) /* one warm-up */
      for (int i = 0; i < nm; i++)
        share_once(&runs[i], rep);
    /* the last forked first: a reader holds the writer ends made before it */
    for (int i = nm - 1; i >= 0; i--)
      share_stop_reader(&runs[i]);
    for (int i = 0; i < nm; i++)
      share_finish(&runs[i]);
  }
  daemon_stop(&d);
  return 0;
}

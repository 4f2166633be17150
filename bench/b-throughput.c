/* SPDX-License-Identifier: MIT */
/*
 * b-throughput.c: control-plane throughput. K client processes (1, 8, 64),
 * each with its own shmv_client, open + touch + release views of one segment
 * as fast as they can. The floor is a minimal libuv server (floor_server
 * below) on the daemon's CPU: it reads a 4-byte length + payload and answers
 * one frame; its clients make the same two exchanges per op as libshmview
 * (open, release) with frames of exactly the sizes shmview puts on the wire.
 * Runs of the floor and of shmview alternate (floor first in even runs,
 * shmview first in odd ones, so neither always follows the other), and the
 * figure is shmview's ops/s over the floor's: target >= 0.7.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "bench.h"
#include "proto.h"
#include "shmview.h"

#define CAP 20000 /* latency samples kept per client per run */

/* ---- the floor: a minimal libuv frame server ---- */

struct fconn {
  uv_pipe_t pipe;
  char *buf;
  size_t len, cap;
};

struct fwrite {
  uv_write_t req;
  uv_buf_t b;
};

static void f_alloc(uv_handle_t *h, size_t want, uv_buf_t *out) {
  struct fconn *c = h->data;
  if (c->cap - c->len < 65536) {
    c->cap = c->cap * 2 + 65536;
    c->buf = realloc(c->buf, c->cap);
  }
  (void)want;
  *out = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void f_closed(uv_handle_t *h) {
  struct fconn *c = h->data;
  free(c->buf);
  free(c);
}

static void f_written(uv_write_t *w, int status) {
  (void)status;
  free(((struct fwrite *)w)->b.base);
  free(w);
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* Frame: 4-byte big-endian length + payload. The payload's first 4 bytes
 * say how long an answer to send (the size of shmview's answer). */
static void f_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct fconn *c = s->data;
  (void)b;
  if (n < 0) {
    uv_close((uv_handle_t *)s, f_closed);
    return;
  }
  c->len += (size_t)n;
  size_t off = 0;
  while (c->len - off >= 8) {
    uint32_t len = be32((unsigned char *)c->buf + off);
    if (c->len - off < 4 + (size_t)len)
      break;
    uint32_t ans = be32((unsigned char *)c->buf + off + 4);
    struct fwrite *w = malloc(sizeof *w);
    w->b = uv_buf_init(calloc(1, 4 + ans), 4 + ans);
    put_be32((unsigned char *)w->b.base, ans);
    uv_write(&w->req, s, &w->b, 1, f_written);
    off += 4 + len;
  }
  memmove(c->buf, c->buf + off, c->len - off);
  c->len -= off;
}

static void f_connection(uv_stream_t *server, int status) {
  if (status < 0)
    return;
  struct fconn *c = calloc(1, sizeof *c);
  uv_pipe_init(server->loop, &c->pipe, 0);
  c->pipe.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) == 0)
    uv_read_start((uv_stream_t *)&c->pipe, f_alloc, f_read);
  else
    uv_close((uv_handle_t *)&c->pipe, f_closed);
}

static pid_t floor_server_start(const char *path, int cpu) {
  unlink(path);
  int ready[2];
  if (pipe(ready) != 0)
    die("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    pin_cpu(cpu);
    uv_loop_t *loop = uv_default_loop();
    uv_pipe_t srv;
    uv_pipe_init(loop, &srv, 0);
    if (uv_pipe_bind(&srv, path) != 0 || uv_listen((uv_stream_t *)&srv, 128, f_connection) != 0)
      _exit(1);
    write_full(ready[1], "r", 1);
    close(ready[1]);
    uv_run(loop, UV_RUN_DEFAULT);
    _exit(0);
  }
  close(ready[1]);
  char ch;
  if (read_full(ready[0], &ch, 1) != 0)
    die("floor server did not start");
  close(ready[0]);
  return pid;
}

/* ---- frame sizes shmview uses for one open + release ---- */

static size_t open_req, open_resp, rel_req, rel_resp;

/* The payload size of one encoded request (resp NULL) or response. */
static size_t payload_size(const struct proto_request *req, const struct proto_response *resp) {
  msgpack_sbuffer sb;
  int rc;

  msgpack_sbuffer_init(&sb);
  rc = req != NULL ? proto_request_encode(req, PROTO_FRAME_MAX_DEFAULT, &sb)
                   : proto_response_encode(resp, PROTO_FRAME_MAX_DEFAULT, &sb);
  if (rc < 0)
    die("encode");
  size_t n = sb.size - PROTO_HEADER_SIZE;
  msgpack_sbuffer_destroy(&sb);
  return n;
}

static void frame_sizes(void) {
  struct proto_request q;
  memset(&q, 0, sizeof q);
  q.id = 1000;
  q.op = PROTO_OP_OPEN;
  strcpy(q.name, "tp");
  q.length = PROTO_TO_END;
  q.writable = true;
  open_req = payload_size(&q, NULL);
  memset(&q, 0, sizeof q);
  q.id = 1001;
  q.op = PROTO_OP_RELEASE;
  q.lease = 1000;
  rel_req = payload_size(&q, NULL);
  struct proto_response r;
  memset(&r, 0, sizeof r);
  r.id = 1000;
  r.op = PROTO_OP_OPEN;
  strcpy(r.u.view.name, "tp");
  r.u.view.length = 4096;
  r.u.view.segment_size = 4096;
  r.u.view.lease = 1000;
  r.u.view.writable = true;
  open_resp = payload_size(NULL, &r);
  memset(&r, 0, sizeof r);
  r.id = 1001;
  r.op = PROTO_OP_RELEASE;
  rel_resp = payload_size(NULL, &r);
}

static void floor_exchange(int s, size_t req, size_t resp, char *buf) {
  memset(buf, 0, 8 + req);
  put_be32((unsigned char *)buf, (uint32_t)req);
  put_be32((unsigned char *)buf + 4, (uint32_t)resp);
  if (write_full(s, buf, 4 + req) != 0 || read_full(s, buf, 4 + resp) != 0)
    die("floor exchange");
}

/* ---- the clients ---- */

struct shared {
  double rate[64]; /* ops/s of each client */
  uint32_t nsamples[64];
  uint64_t samples[64][CAP]; /* per-op latency, ns */
};

static void client(int who, int floor, const char *path, int cpu, double secs, int start_fd,
                   int ready_fd, struct shared *sh) {
  pin_cpu(cpu);
  shmv_client *c = NULL;
  int s = -1;
  char buf[1024];
  if (floor) {
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0)
      die("connect floor: %s", strerror(errno));
  } else {
    int rc = shmv_connect(path, &c);
    if (rc < 0)
      die("connect: %s", shmv_strerror(rc));
  }
  write_full(ready_fd, "r", 1);
  char ch;
  (void)read(start_fd, &ch, 1); /* EOF: go */
  uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9), t = t0;
  uint64_t ops = 0;
  uint32_t k = 0;
  while (t < end) {
    uint64_t a = t;
    if (floor) {
      floor_exchange(s, open_req, open_resp, buf);
      floor_exchange(s, rel_req, rel_resp, buf);
    } else {
      shmv_view *v;
      int rc = shmv_view_open(c, "tp", 0, SHMV_TO_END, SHMV_WRITABLE, &v);
      if (rc < 0)
        die("open: %s", shmv_strerror(rc));
      ((volatile char *)shmv_view_data(v))[0] = 1;
      shmv_view_release(v);
    }
    t = now_ns();
    if (k < CAP)
      sh->samples[who][k++] = t - a;
    ops++;
  }
  sh->rate[who] = (double)ops / ((double)(t - t0) / 1e9);
  sh->nsamples[who] = k;
  if (c)
    shmv_disconnect(c);
  if (s >= 0)
    close(s);
  _exit(0);
}

/* One run: K clients for secs; returns total ops/s, appends latencies. */
static double run(int K, int floor, const char *path, int cpu, double secs, struct shared *sh,
                  uint64_t *lat, size_t *nlat) {
  int start[2], ready[2];
  if (pipe(start) != 0 || pipe(ready) != 0)
    die("pipe");
  pid_t kids[64];
  for (int i = 0; i < K; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      close(start[1]);
      close(ready[0]);
      client(i, floor, path, cpu, secs, start[0], ready[1], sh);
    }
  }
  close(start[0]);
  close(ready[1]);
  for (int i = 0; i < K; i++) {
    char ch;
    if (read_full(ready[0], &ch, 1) != 0)
      die("a client died before starting");
  }
  close(ready[0]);
  close(start[1]); /* go */
  double total = 0;
  for (int i = 0; i < K; i++) {
    int st;
    waitpid(kids[i], &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      die("a client failed");
    total += sh->rate[i];
    memcpy(lat + *nlat, sh->samples[i], sh->nsamples[i] * sizeof(uint64_t));
    *nlat += sh->nsamples[i];
  }
  return total;
}

int bench_throughput(void) {
  static const int Ks[] = { 1, 8, 64 };
  int runs = bench_opts.quick ? 2 : 5;
  double secs = bench_opts.quick ? 0.2 : 0.5;
  frame_sizes();
  struct shared *sh =
      mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED)
    die("mmap");
  size_t latcap = (size_t)runs * 64 * CAP;
  uint64_t *lat = malloc(latcap * 8), *flat = malloc(latcap * 8);
  if (!lat || !flat)
    die("out of memory");

  for (int p = 0; p < 2; p++) {
    const struct placement *pl = &bench_placements[p];
    if (pl->server_cpu >= ncpus())
      continue;
    struct daemon d;
    daemon_start(&d, pl->server_cpu, NULL);
    char fpath[160];
    snprintf(fpath, sizeof fpath, "%s/floor.sock", d.dir);
    pid_t fpid = floor_server_start(fpath, pl->server_cpu);
    shmv_client *c;
    int rc = shmv_connect(d.socket, &c);
    if (rc < 0 || (rc = shmv_create(c, "tp", 4096, 0600)) < 0)
      die("shmview: %s", shmv_strerror(rc));
    shmv_disconnect(c);

    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
      int K = Ks[ki];
      double rs[16], fs[16];
      char pairs[16 * 24] = "";
      size_t nl = 0, nf = 0, used = 0;
      for (int r = 0; r < runs; r++) {
        int floor_first = r % 2 == 0;
        for (int j = 0; j < 2; j++)
          if ((j == 0) == floor_first)
            fs[r] = run(K, 1, fpath, pl->client_cpu, secs, sh, flat, &nf);
          else
            rs[r] = run(K, 0, d.socket, pl->client_cpu, secs, sh, lat, &nl);
        /* each run's ratio against the floor's run beside it: the spread */
        if (used < sizeof pairs)
          used += (size_t)snprintf(pairs + used, sizeof pairs - used, "%s%.3f", r ? "," : "",
                                   rs[r] / fs[r]);
      }
      double fmed = percentile_d(fs, runs, 50), flo = percentile_d(fs, runs, 1);
      double med = percentile_d(rs, runs, 50), lo = percentile_d(rs, runs, 1);
      result("\"bench\":\"throughput\",\"figure\":\"open/release per second, %d client%s\","
             "\"placement\":\"%s\",\"unit\":\"ops/s\",\"higher_is_better\":true,"
             "\"median\":%.0f,\"p99\":%.0f,\"p99_is\":\"p1 over runs\","
             "\"floor\":\"libuv frame server, same frame sizes (%zu/%zu + %zu/%zu B)\","
             "\"floor_median\":%.0f,\"floor_p99\":%.0f,\"target_min\":0.7,"
             "\"run_ratios\":[%s],\"samples\":%d",
             K, K > 1 ? "s" : "", pl->name, med, lo, open_req, open_resp, rel_req, rel_resp, fmed,
             flo, pairs, runs);
      result("\"bench\":\"throughput\",\"figure\":\"  per-op latency, %d client%s\","
             "\"placement\":\"%s\",\"unit\":\"us\",\"median\":%.2f,\"p99\":%.2f,"
             "\"floor\":\"libuv frame server\",\"floor_median\":%.2f,\"floor_p99\":%.2f,"
             "\"samples\":%zu",
             K, K > 1 ? "s" : "", pl->name, percentile(lat, nl, 50) / 1e3,
             percentile(lat, nl, 99) / 1e3, percentile(flat, nf, 50) / 1e3,
             percentile(flat, nf, 99) / 1e3, nl);
    }
    kill(fpid, SIGTERM);
    waitpid(fpid, NULL, 0);
    unlink(fpath);
    daemon_stop(&d);
  }
  free(lat);
  free(flat);
  munmap(sh, sizeof *sh);
  return 0;
}

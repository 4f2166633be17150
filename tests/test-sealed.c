/* SPDX-License-Identifier: MIT */
/*
 * test-sealed.c: sealed segments (SHMV_SEALED), where the kernel keeps a
 * segment's size and, once frozen, its bytes.
 *
 *  - a holder of a writable descriptor, another uid, tries ftruncate 1000
 *    times (and growing, and fallocate past the end): each fails with
 *    EPERM, while a reader (a third process) loops over its read-only view
 *    and takes no SIGBUS; the size and the bytes stay;
 *  - freeze adds F_SEAL_WRITE: a descriptor kept past the freeze cannot
 *    pwrite, write, or map PROT_WRITE MAP_SHARED (on a plain segment the
 *    same pwrite succeeds: the gap sealing closes); a writable mapping kept
 *    after its view was released makes freeze fail (EBUSY, a sentence);
 *  - a read-only descriptor, as another uid: no write, truncate, seal,
 *    chmod, writable mapping, mprotect or reopen O_RDWR through
 *    /proc/self/fd (the memfd is the daemon's, 0600);
 *  - resize is refused (EPERM) with a sentence; stat and list say sealed;
 *    an unlinked sealed segment lives on in its views;
 *  - restarts: without a store a sealed segment is gone after the daemon
 *    stops, and nothing else is; with a store (this test plays systemd:
 *    $NOTIFY_SOCKET, then LISTEN_FDS/LISTEN_FDNAMES) its bytes, owner,
 *    mode and flags survive kill -9 and a restart, a holder's view stays,
 *    unlink takes it out of the store, and a stored descriptor no record
 *    claims is dropped from the store;
 *  - sealed channels (both segments sealed): another uid's ftruncate of
 *    either fails while a participant works on with no SIGBUS; across
 *    restarts as sealed segments, and whole or not at all.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <msgpack.h>

#include "harness.h"
#include "proto.h"
#include "shmview.h"

#define ATTACKER 60001
#define SIZE     (256u * 1024u)
#define TRIES    1000

static struct harness_daemon d;
static shmv_client *c;

static void setup(void) {
  harness_daemon_start(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
}

static void teardown(void) {
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

/* ---- the raw protocol: descriptors in hand, as a hostile client has them ---- */

static int call(int sock, const struct proto_request *req, struct proto_response *resp, int *fd) {
  msgpack_sbuffer sb;
  struct proto_reader rd;
  struct proto_frame f;
  int got = 0, rc = -1;

  if (fd != NULL)
    *fd = -1;
  msgpack_sbuffer_init(&sb);
  if (proto_request_encode(req, PROTO_FRAME_MAX_DEFAULT, &sb) == 0 &&
      send(sock, sb.data, sb.size, MSG_NOSIGNAL) == (ssize_t)sb.size) {
    proto_reader_init(&rd, PROTO_FRAME_MAX_DEFAULT, true);
    while ((got = proto_reader_get(&rd, &f)) == 0)
      if (proto_reader_read(&rd, sock) <= 0)
        break;
    if (got == 1 && proto_response_decode(f.payload, f.len, req->op, resp) == 0)
      rc = 0;
    if (got == 1 && fd != NULL && rc == 0)
      *fd = f.fd;
    else if (got == 1 && f.fd >= 0)
      close(f.fd);
    proto_reader_free(&rd);
  }
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* A view of all of name: its descriptor (or -1) and lease; 0 or the error. */
static int raw_open(int sock, const char *name, bool writable, int *fd, uint64_t *lease) {
  struct proto_request req = {
    .id = 1, .op = PROTO_OP_OPEN, .length = PROTO_TO_END, .writable = writable
  };
  struct proto_response resp;

  snprintf(req.name, sizeof req.name, "%s", name);
  if (call(sock, &req, &resp, fd) != 0)
    return -EPROTO;
  if (lease != NULL)
    *lease = resp.u.view.lease;
  return resp.err;
}

static int raw_release(int sock, uint64_t lease) {
  struct proto_request req = { .id = 2, .op = PROTO_OP_RELEASE, .lease = lease };
  struct proto_response resp;

  return call(sock, &req, &resp, NULL) == 0 ? resp.err : -EPROTO;
}

/* ---- a reader that counts SIGBUS ---- */

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_count;

static void on_bus(int sig) {
  (void)sig;
  bus_count++;
  siglongjmp(bus_jmp, 1);
}

struct reader {
  int up[2], down[2];
  pid_t pid;
};

/* Read every page of "s" until told to stop; exits with the SIGBUS count
 * (capped), or 200+ when something else went wrong. */
static int reader_main(struct reader *r) {
  struct sigaction sa = { .sa_handler = on_bus };
  volatile const unsigned char *p;
  volatile unsigned long sum = 0;
  shmv_client *mine;
  shmv_view *v;
  struct pollfd_like {
    int fd;
  } stop = { r->down[0] };

  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NODEFER;
  if (sigaction(SIGBUS, &sa, NULL) != 0 || shmv_connect(d.socket, &mine) != 0 ||
      shmv_view_open(mine, "s", 0, SHMV_TO_END, 0, &v) != 0)
    return 200;
  p = shmv_view_data(v);
  fcntl(stop.fd, F_SETFL, O_NONBLOCK);
  harness_say(r->up[1], 'r');
  for (;;) {
    char b;

    /* A SIGBUS lands here, and so does every pass: stop when told. */
    sigsetjmp(bus_jmp, 1);
    if (read(stop.fd, &b, 1) == 1)
      break;
    for (size_t off = 0; off < SIZE; off += 4096)
      sum += p[off];
  }
  if (bus_count == 0 && (p[0] != 'k' || p[SIZE - 1] != 'z'))
    return 201; /* the bytes past a cut would be lost */
  shmv_view_release(v);
  shmv_disconnect(mine);
  return bus_count > 100 ? 100 : (int)bus_count;
}

static void reader_start(struct reader *r) {
  ck_assert_int_eq(pipe(r->up), 0);
  ck_assert_int_eq(pipe(r->down), 0);
  r->pid = fork();
  ck_assert_int_ge(r->pid, 0);
  if (r->pid == 0)
    _exit(reader_main(r));
  ck_assert_int_eq(harness_hear(r->up[0]), 'r');
}

/* The reader's SIGBUS count. */
static int reader_stop(struct reader *r) {
  int st;

  harness_say(r->down[1], 's');
  ck_assert_int_eq(waitpid(r->pid, &st, 0), r->pid);
  ck_assert_msg(WIFEXITED(st), "the reader died of signal %d", WTERMSIG(st));
  ck_assert_msg(WEXITSTATUS(st) < 200, "the reader failed (%d)", WEXITSTATUS(st));
  for (int i = 0; i < 2; i++) {
    close(r->up[i]);
    close(r->down[i]);
  }
  return WEXITSTATUS(st);
}

/* ---- the attackers ---- */

/* Another uid with a writable descriptor of "s" tries to change its size. */
static int truncate_attack(void *arg) {
  int sock = harness_raw_connect(&d), fd, eperm = 0;
  uint64_t lease;
  struct stat st;

  (void)arg;
  CHILD_CHECK(sock >= 0);
  CHILD_CHECK(raw_open(sock, "s", true, &fd, &lease) == 0 && fd >= 0);
  CHILD_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
  for (int i = 0; i < TRIES; i++)
    eperm += ftruncate(fd, i % 2 ? 0 : 4096) == -1 && errno == EPERM;
  CHILD_CHECK(eperm == TRIES);
  CHILD_CHECK(ftruncate(fd, SIZE * 2) == -1 && errno == EPERM);
  CHILD_CHECK(posix_fallocate(fd, 0, SIZE * 2) == EPERM);
  /* Its seals stay: removing one is no call at all, and adding more is
   * for a writable descriptor (harmless: its writes are its to make). */
  CHILD_CHECK(fstat(fd, &st) == 0 && st.st_size == SIZE);
  CHILD_CHECK((fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW)) ==
              (F_SEAL_SHRINK | F_SEAL_GROW));
  /* Nor the owner or mode of the memfd, which are the daemon's. */
  CHILD_CHECK(fchmod(fd, 0666) == -1 && errno == EPERM);
  CHILD_CHECK(raw_release(sock, lease) == 0);
  close(fd);
  close(sock);
  return 0;
}

START_TEST(truncate_refused_no_sigbus) {
  struct reader r;
  shmv_view *w;
  shmv_segment_info info;
  int status, bus;

  if (!harness_can_attack("test-sealed", "truncate_refused_no_sigbus"))
    return;
  harness_open_to_all(&d);
  OK(shmv_view_create(c, "s", SIZE, 0666, SHMV_SEALED, &w));
  ((char *)shmv_view_data(w))[0] = 'k';
  ((char *)shmv_view_data(w))[SIZE - 1] = 'z';
  shmv_view_release(w);
  reader_start(&r);
  status = harness_run_as(ATTACKER, ATTACKER, truncate_attack, NULL);
  bus = reader_stop(&r);
  ck_assert_msg(bus == 0, "the reader took %d SIGBUS%s", bus, bus == 100 ? " or more" : "");
  ATTACK_OK(status, "ftruncate of a sealed segment");
  OK(shmv_stat(c, "s", &info));
  ck_assert_uint_eq(info.size, SIZE);
  ck_assert_int_eq(info.sealed, 1);
  OK(shmv_unlink(c, "s"));
}
END_TEST

/* A holder that kept its writable descriptor past its view (released) and
 * the freeze. */
struct kept {
  int up[2], down[2];
  pid_t pid;
  const char *name;
  bool map;         /* also keep a writable mapping */
  int expect_write; /* after the freeze: 0 pwrite works, else the errno */
};

static int kept_main(struct kept *k) {
  int sock = harness_raw_connect(&d), fd;
  uint64_t lease;
  char *p = NULL;

  CHILD_CHECK(harness_become(ATTACKER, ATTACKER) == 0);
  CHILD_CHECK(sock >= 0);
  CHILD_CHECK(raw_open(sock, k->name, true, &fd, &lease) == 0 && fd >= 0);
  if (k->map) {
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHILD_CHECK(p != MAP_FAILED);
  }
  CHILD_CHECK(raw_release(sock, lease) == 0);
  harness_say(k->up[1], 'k');
  harness_hear(k->down[0]); /* frozen (or refused) now */
  if (k->map) {
    munmap(p, 4096);
    close(fd);
    return 0;
  }
  if (k->expect_write == 0) {
    CHILD_CHECK(pwrite(fd, "late", 4, 0) == 4);
  } else {
    CHILD_CHECK(pwrite(fd, "late", 4, 0) == -1 && errno == k->expect_write);
    CHILD_CHECK(write(fd, "late", 4) == -1 && errno == k->expect_write);
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHILD_CHECK(p == MAP_FAILED && errno == EPERM);
    /* A private (copy-on-write) mapping writes nothing back: allowed. */
    p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHILD_CHECK(p != MAP_FAILED);
    p[0] = 'x';
    munmap(p, 4096);
    CHILD_CHECK(ftruncate(fd, 0) == -1 && errno == EPERM);
    CHILD_CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == -1 &&
                errno == EPERM);
  }
  close(fd);
  close(sock);
  return 0;
}

static void kept_start(struct kept *k) {
  ck_assert_int_eq(pipe(k->up), 0);
  ck_assert_int_eq(pipe(k->down), 0);
  k->pid = fork();
  ck_assert_int_ge(k->pid, 0);
  if (k->pid == 0)
    _exit(kept_main(k));
  ck_assert_int_eq(harness_hear(k->up[0]), 'k');
}

static void kept_stop(struct kept *k) {
  int st;

  harness_say(k->down[1], 'g');
  ck_assert_int_eq(waitpid(k->pid, &st, 0), k->pid);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the kept holder failed (status %#x)", st);
  for (int i = 0; i < 2; i++) {
    close(k->up[i]);
    close(k->down[i]);
  }
}

static void first_bytes(const char *name, char *out, size_t n) {
  shmv_view *v;

  OK(shmv_view_open(c, name, 0, SHMV_TO_END, 0, &v));
  memcpy(out, shmv_view_data(v), n);
  shmv_view_release(v);
}

START_TEST(freeze_seals_writes) {
  struct kept k = { .name = "s", .expect_write = EPERM };
  struct kept plain = { .name = "p", .expect_write = 0 };
  shmv_segment_info info;
  shmv_view *w;
  char got[5] = { 0 };

  if (!harness_can_attack("test-sealed", "freeze_seals_writes"))
    return;
  harness_open_to_all(&d);
  OK(shmv_view_create(c, "s", SIZE, 0666, SHMV_SEALED, &w));
  memcpy(shmv_view_data(w), "kept", 4);
  shmv_view_release(w);
  OK(shmv_create(c, "p", SIZE, 0666));

  kept_start(&k);
  kept_start(&plain);
  OK(shmv_freeze(c, "s"));
  OK(shmv_freeze(c, "p"));
  kept_stop(&k);
  kept_stop(&plain);
  first_bytes("s", got, 4);
  ck_assert_str_eq(got, "kept"); /* the kernel's word */
  first_bytes("p", got, 4);
  ck_assert_str_eq(got, "late"); /* what a plain freeze cannot stop */
  OK(shmv_stat(c, "s", &info));
  ck_assert_int_eq(info.frozen, 1);
  ck_assert_int_eq(info.sealed, 1);
  OK(shmv_unlink(c, "s"));
  OK(shmv_unlink(c, "p"));
}
END_TEST

START_TEST(freeze_refused_while_mapped_writable) {
  struct kept k = { .name = "s", .map = true };
  shmv_segment_info info;
  char msg[512];

  if (!harness_can_attack("test-sealed", "freeze_refused_while_mapped_writable"))
    return;
  harness_open_to_all(&d);
  OK(shmv_create_flags(c, "s", SIZE, 0666, SHMV_SEALED));
  kept_start(&k);
  /* No view is leased, but a writable mapping outlived its view. */
  ck_assert_int_eq(shmv_freeze(c, "s"), -EBUSY);
  snprintf(msg, sizeof msg, "%s", shmv_last_error(c));
  ck_assert_msg(strstr(msg, "writable shared mapping") != NULL, "sentence: %s", msg);
  OK(shmv_stat(c, "s", &info));
  ck_assert_int_eq(info.frozen, 0);
  kept_stop(&k);
  OK(shmv_freeze(c, "s")); /* the mapping is gone */
  OK(shmv_unlink(c, "s"));
}
END_TEST

/* With a read-only descriptor of a 0644 sealed segment, as another uid:
 * every route to writing it fails. */
static int escalate(void *arg) {
  int sock = harness_raw_connect(&d), fd, again;
  char path[64];
  void *p;

  (void)arg;
  CHILD_CHECK(sock >= 0);
  CHILD_CHECK(raw_open(sock, "s", true, &fd, NULL) == EACCES && fd < 0);
  CHILD_CHECK(raw_open(sock, "s", false, &fd, NULL) == 0 && fd >= 0);
  CHILD_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
  (void)fcntl(fd, F_SETFL, O_RDWR | O_APPEND);
  CHILD_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
  CHILD_CHECK(write(fd, "x", 1) == -1 && errno == EBADF);
  CHILD_CHECK(pwrite(fd, "x", 1, 0) == -1 && errno == EBADF);
  CHILD_CHECK(ftruncate(fd, 0) == -1 && (errno == EINVAL || errno == EBADF));
  CHILD_CHECK(posix_fallocate(fd, 0, 4096) == EBADF);
  /* Seals are added through a writable descriptor only. */
  CHILD_CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) == -1 && errno == EPERM);
  CHILD_CHECK(fchmod(fd, 0666) == -1 && errno == EPERM);
  CHILD_CHECK(fchown(fd, getuid(), getgid()) == -1 && errno == EPERM);
  p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHILD_CHECK(p == MAP_FAILED && errno == EACCES);
  p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  CHILD_CHECK(p != MAP_FAILED && memcmp(p, "hello", 5) == 0);
  CHILD_CHECK(mprotect(p, 4096, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
  munmap(p, 4096);
  /* A memfd is made 0777 (or 0666): reopened through /proc it would be
   * anyone's to write. The daemon's is its own, 0600. */
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  again = open(path, O_RDWR | O_CLOEXEC);
  CHILD_CHECK(again == -1 && errno == EACCES);
  again = open(path, O_WRONLY | O_CLOEXEC);
  CHILD_CHECK(again == -1 && errno == EACCES);
  snprintf(path, sizeof path, "/dev/fd/%d", fd);
  again = open(path, O_RDWR | O_CLOEXEC);
  CHILD_CHECK(again == -1 && errno == EACCES);
  close(fd);
  close(sock);
  return 0;
}

START_TEST(readonly_descriptor_as_stranger) {
  shmv_view *w;
  struct stat st;
  int fd, sock;

  if (!harness_can_attack("test-sealed", "readonly_descriptor_as_stranger"))
    return;
  harness_open_to_all(&d);
  OK(shmv_view_create(c, "s", SIZE, 0644, SHMV_SEALED, &w));
  memcpy(shmv_view_data(w), "hello", 5);
  shmv_view_release(w);
  /* What the kernel says of the memfd: the daemon's, 0600. */
  sock = harness_raw_connect(&d);
  ck_assert_int_ge(sock, 0);
  ck_assert_int_eq(raw_open(sock, "s", false, &fd, NULL), 0);
  ck_assert_int_eq(fstat(fd, &st), 0);
  ck_assert_uint_eq(st.st_uid, geteuid());
  ck_assert_uint_eq(st.st_mode & 07777, 0600);
  close(fd);
  close(sock);
  ATTACK_OK(harness_run_as(ATTACKER, ATTACKER, escalate, NULL), "read-only sealed descriptor");
  OK(shmv_unlink(c, "s"));
}
END_TEST

START_TEST(resize_refused_flags_shown) {
  shmv_segment_info info;
  shmv_segment_info *items = NULL;
  size_t n = 0;
  shmv_view *v, *w;

  OK(shmv_create_flags(c, "s", 8192, 0600, SHMV_SEALED));
  OK(shmv_create(c, "p", 8192, 0600));
  ck_assert_int_eq(shmv_resize(c, "s", 16384), -EPERM);
  ck_assert_msg(strstr(shmv_last_error(c), "is sealed") != NULL, "sentence: %s",
                shmv_last_error(c));
  ck_assert_int_eq(shmv_resize(c, "s", 4096), -EPERM);
  OK(shmv_resize(c, "p", 16384));
  OK(shmv_stat(c, "s", &info));
  ck_assert_uint_eq(info.size, 8192);
  ck_assert_int_eq(info.sealed, 1);
  OK(shmv_stat(c, "p", &info));
  ck_assert_int_eq(info.sealed, 0);
  OK(shmv_list(c, &items, &n));
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(items[0].sealed, 0); /* sorted: p, s */
  ck_assert_int_eq(items[1].sealed, 1);
  shmv_list_free(items);
  /* Views and slices work as on a plain segment; an unlinked one lives
   * on in its views. */
  OK(shmv_view_open(c, "s", 4096, 4096, SHMV_WRITABLE, &w));
  OK(shmv_view_open(c, "s", 0, SHMV_TO_END, 0, &v));
  memcpy(shmv_view_data(w), "there", 5);
  ck_assert_mem_eq((char *)shmv_view_data(v) + 4096, "there", 5);
  OK(shmv_unlink(c, "s"));
  ck_assert_int_eq(shmv_stat(c, "s", &info), -ENOENT);
  memcpy(shmv_view_data(w), "still", 5);
  ck_assert_mem_eq((char *)shmv_view_data(v) + 4096, "still", 5);
  shmv_view_release(w);
  shmv_view_release(v);
  /* Ephemeral and sealed together: it goes with its last view. */
  OK(shmv_view_create(c, "e", 4096, 0600, SHMV_SEALED | SHMV_CREATE_EPHEMERAL, &w));
  OK(shmv_stat(c, "e", &info));
  ck_assert_int_eq(info.sealed, 1);
  ck_assert_int_eq(info.ephemeral, 1);
  shmv_view_release(w);
  ck_assert_int_eq(shmv_stat(c, "e", &info), -ENOENT);
  ck_assert_int_eq(harness_shm_count(d.prefix), 1); /* p only: a memfd has no name */
  OK(shmv_unlink(c, "p"));
}
END_TEST

/* Without a store: the daemon stops, and with it the sealed segment (no
 * view held it); the plain one comes back. */
START_TEST(restart_without_store) {
  shmv_segment_info info;

  OK(shmv_create_flags(c, "s", 4096, 0600, SHMV_SEALED));
  OK(shmv_create(c, "p", 4096, 0600));
  shmv_disconnect(c);
  ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
  ck_assert_int_eq(waitpid(d.pid, NULL, 0), d.pid);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_stat(c, "s", &info), -ENOENT);
  OK(shmv_stat(c, "p", &info));
  OK(shmv_create_flags(c, "s", 4096, 0600, SHMV_SEALED)); /* its name is free */
  OK(shmv_unlink(c, "s"));
  OK(shmv_unlink(c, "p"));
}
END_TEST

/* ---- a file descriptor store, as systemd keeps one ---- */

#define STORE_MAX 16

struct store {
  int sock;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  int fds[STORE_MAX];
  char names[STORE_MAX][256];
  int n;
  int removed; /* FDSTOREREMOVE=1 messages */
  char last_removed[256];
};

static void store_open(struct store *s) {
  struct sockaddr_un sa = { .sun_family = AF_UNIX };

  memset(s, 0, sizeof *s);
  ck_assert_uint_lt(strlen(d.dir) + sizeof "/n.sock", sizeof s->path);
  memcpy(s->path, d.dir, strlen(d.dir));
  memcpy(s->path + strlen(d.dir), "/n.sock", sizeof "/n.sock");
  memcpy(sa.sun_path, s->path, sizeof sa.sun_path);
  s->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  ck_assert_int_ge(s->sock, 0);
  ck_assert_int_eq(bind(s->sock, (struct sockaddr *)&sa, sizeof sa), 0);
}

/* Take every notification waiting: FDSTORE=1 keeps its descriptor under its
 * FDNAME, FDSTOREREMOVE=1 drops the name's. */
static void store_drain(struct store *s) {
  for (;;) {
    char buf[1024], *name;
    union {
      char b[CMSG_SPACE(sizeof(int) * 4)];
      struct cmsghdr align;
    } ctl;
    struct iovec iov = { buf, sizeof buf - 1 };
    struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b
    };
    struct cmsghdr *cm;
    ssize_t len = recvmsg(s->sock, &mh, MSG_CMSG_CLOEXEC);
    int fd = -1;

    if (len < 0)
      return;
    buf[len] = '\0';
    for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    name = strstr(buf, "FDNAME=");
    if (name != NULL) {
      name += 7;
      name[strcspn(name, "\n")] = '\0';
    }
    if (strstr(buf, "FDSTORE=1") != NULL && fd >= 0 && name != NULL) {
      ck_assert_int_lt(s->n, STORE_MAX);
      s->fds[s->n] = fd;
      snprintf(s->names[s->n++], sizeof s->names[0], "%s", name);
    } else if (strstr(buf, "FDSTOREREMOVE=1") != NULL && name != NULL) {
      s->removed++;
      snprintf(s->last_removed, sizeof s->last_removed, "%s", name);
      for (int i = 0; i < s->n; i++) {
        if (strcmp(s->names[i], name) == 0) {
          close(s->fds[i]);
          s->fds[i] = s->fds[--s->n];
          memcpy(s->names[i], s->names[s->n], sizeof s->names[0]);
          i--;
        }
      }
    } else if (fd >= 0) {
      close(fd);
    }
  }
}

/* The next daemon gets the store, as systemd passes it. */
static void store_pass(struct store *s) {
  char names[STORE_MAX * 256] = "";

  for (int i = 0; i < s->n; i++) {
    if (i > 0)
      strcat(names, ":");
    strcat(names, s->names[i]);
  }
  harness_pass_fds(s->fds, s->n, names);
}

static void store_close(struct store *s) {
  harness_pass_fds(NULL, 0, NULL);
  for (int i = 0; i < s->n; i++)
    close(s->fds[i]);
  close(s->sock);
  unsetenv("NOTIFY_SOCKET");
}

/* A holder of a read-write view of "s" across the restarts: it writes
 * after the daemon came back, and reads what was written before. */
static int holder_main(void *arg) {
  shmv_client *mine;
  shmv_view *v;
  int *pipes = arg;

  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_view_open(mine, "s", 0, SHMV_TO_END, SHMV_WRITABLE, &v) == 0);
  harness_say(pipes[1], 'h');
  harness_hear(pipes[2]);
  CHILD_CHECK(memcmp(shmv_view_data(v), "stored", 6) == 0);
  memcpy((char *)shmv_view_data(v) + 100, "held", 4);
  harness_say(pipes[1], 'w');
  harness_hear(pipes[2]);
  return 0;
}

START_TEST(store_keeps_sealed_across_restarts) {
  struct store st;
  shmv_segment_info info;
  shmv_view *w, *v;
  int up[2], down[2], pipes[3], ghost, status;
  pid_t holder;
  char name[256];

  shmv_disconnect(c);
  harness_daemon_kill(&d);
  store_open(&st);
  setenv("NOTIFY_SOCKET", st.path, 1);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);

  OK(shmv_view_create(c, "s", SIZE, 0640, SHMV_SEALED, &w));
  memcpy(shmv_view_data(w), "stored", 6);
  shmv_view_release(w);
  OK(shmv_chown(c, "s", 4242, 4343));
  OK(shmv_create_flags(c, "gone", 4096, 0600, SHMV_SEALED));
  OK(shmv_create(c, "plain", 4096, 0600));
  store_drain(&st);
  ck_assert_int_eq(st.n, 2);
  snprintf(name, sizeof name, "seal.%s.s", d.prefix);
  ck_assert_msg(strcmp(st.names[0], name) == 0 || strcmp(st.names[1], name) == 0,
                "stored as %s and %s, not %s", st.names[0], st.names[1], name);
  /* An unlink takes its descriptor out of the store. */
  OK(shmv_unlink(c, "gone"));
  store_drain(&st);
  ck_assert_int_eq(st.n, 1);
  ck_assert_int_eq(st.removed, 1);

  ck_assert_int_eq(pipe(up), 0);
  ck_assert_int_eq(pipe(down), 0);
  pipes[0] = 0;
  pipes[1] = up[1];
  pipes[2] = down[0];
  holder = fork();
  ck_assert_int_ge(holder, 0);
  if (holder == 0)
    _exit(holder_main(pipes));
  ck_assert_int_eq(harness_hear(up[0]), 'h');

  /* kill -9 (Restart=on-failure), with a stray descriptor in the store. */
  shmv_disconnect(c);
  harness_daemon_kill(&d);
  ghost = memfd_create("ghost", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ck_assert_int_ge(ghost, 0);
  st.fds[st.n] = ghost;
  snprintf(st.names[st.n++], sizeof st.names[0], "seal.%s.ghost", d.prefix);
  store_pass(&st);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  OK(shmv_stat(c, "s", &info));
  ck_assert_uint_eq(info.size, SIZE);
  ck_assert_uint_eq(info.uid, 4242);
  ck_assert_uint_eq(info.gid, 4343);
  ck_assert_uint_eq(info.mode, 0640);
  ck_assert_int_eq(info.sealed, 1);
  OK(shmv_stat(c, "plain", &info));
  ck_assert_int_eq(shmv_stat(c, "ghost", &info), -ENOENT);
  store_drain(&st);
  ck_assert_int_eq(st.removed, 2);
  snprintf(name, sizeof name, "seal.%s.ghost", d.prefix);
  ck_assert_str_eq(st.last_removed, name);
  ck_assert_int_eq(st.n, 1);

  /* The holder's view is the same memory: it reads what was stored and
   * writes for the new daemon's views to see. */
  harness_say(down[1], 'r');
  ck_assert_int_eq(harness_hear(up[0]), 'w');
  OK(shmv_view_open(c, "s", 0, SHMV_TO_END, 0, &v));
  ck_assert_mem_eq(shmv_view_data(v), "stored", 6);
  ck_assert_mem_eq((char *)shmv_view_data(v) + 100, "held", 4);
  shmv_view_release(v);
  harness_say(down[1], 'q');
  ck_assert_int_eq(waitpid(holder, &status, 0), holder);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "holder status %#x", status);

  /* A clean stop and start, frozen: the flags come back, and its bytes
   * stay sealed. The holder's view was kept for its process across the
   * kill; the daemon ends it once it sees the process gone. */
  for (int i = 0; i < 1000; i++) {
    OK(shmv_stat(c, "s", &info));
    if (info.writable_views == 0)
      break;
    usleep(10 * 1000);
  }
  ck_assert_uint_eq(info.writable_views, 0);
  OK(shmv_freeze(c, "s"));
  shmv_disconnect(c);
  ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
  ck_assert_int_eq(waitpid(d.pid, NULL, 0), d.pid);
  store_drain(&st);
  store_pass(&st);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  OK(shmv_stat(c, "s", &info));
  ck_assert_int_eq(info.frozen, 1);
  ck_assert_int_eq(info.sealed, 1);
  ck_assert_int_eq(fcntl(st.fds[0], F_GET_SEALS) & F_SEAL_WRITE, F_SEAL_WRITE);
  OK(shmv_view_open(c, "s", 0, SHMV_TO_END, 0, &v));
  ck_assert_mem_eq((char *)shmv_view_data(v) + 100, "held", 4);
  shmv_view_release(v);
  OK(shmv_unlink(c, "s"));
  OK(shmv_unlink(c, "plain"));
  store_drain(&st);
  ck_assert_int_eq(st.n, 0);
  store_close(&st);
  for (int i = 0; i < 2; i++) {
    close(up[i]);
    close(down[i]);
  }
}
END_TEST

/* ---- sealed channels: both segments sealed ---- */

#define CH_CAP (64u * 1024u)

struct participant {
  int up[2], down[2];
  pid_t pid;
};

/* Another participant of "ch" (send and receive), in its own process:
 * sends and receives numbered messages, checking each, until told to stop;
 * exits with its SIGBUS count (capped), or 200+ when a call failed or a
 * message came back wrong. */
static int participant_main(struct participant *pt) {
  struct sigaction sa = { .sa_handler = on_bus };
  shmv_client *mine;
  shmv_channel *ch;
  volatile unsigned long sent = 0;
  int rc = 0;

  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NODEFER;
  if (sigaction(SIGBUS, &sa, NULL) != 0 || shmv_connect(d.socket, &mine) != 0 ||
      shmv_channel_open(mine, "ch", SHMV_SEND | SHMV_RECV, &ch) != 0)
    return 200;
  fcntl(pt->down[0], F_SETFL, O_NONBLOCK);
  harness_say(pt->up[1], 'p');
  for (;;) {
    char msg[4096], b;
    shmv_view *v;

    if (sigsetjmp(bus_jmp, 1) != 0 && bus_count > 100)
      break;
    if (read(pt->down[0], &b, 1) == 1)
      break;
    memset(msg, (int)(sent % 251), sizeof msg);
    snprintf(msg, sizeof msg, "m%lu", (unsigned long)sent);
    if (shmv_channel_send(ch, msg, sizeof msg, 1000000000) != 0) {
      rc = 202;
      break;
    }
    if (shmv_channel_recv(ch, 1000000000, &v) != 0) {
      rc = 203;
      break;
    }
    if (shmv_view_length(v) != sizeof msg || memcmp(shmv_view_data(v), msg, sizeof msg) != 0)
      rc = 204;
    shmv_view_release(v);
    if (rc != 0)
      break;
    sent++;
  }
  if (rc == 0 && sent == 0)
    rc = 205;
  shmv_channel_close(ch);
  shmv_disconnect(mine);
  if (rc != 0)
    return rc;
  return bus_count > 100 ? 100 : (int)bus_count;
}

static void participant_start(struct participant *pt) {
  ck_assert_int_eq(pipe(pt->up), 0);
  ck_assert_int_eq(pipe(pt->down), 0);
  pt->pid = fork();
  ck_assert_int_ge(pt->pid, 0);
  if (pt->pid == 0)
    _exit(participant_main(pt));
  ck_assert_int_eq(harness_hear(pt->up[0]), 'p');
}

static int participant_stop(struct participant *pt) {
  int st;

  harness_say(pt->down[1], 's');
  ck_assert_int_eq(waitpid(pt->pid, &st, 0), pt->pid);
  ck_assert_msg(WIFEXITED(st), "the participant died of signal %d", WTERMSIG(st));
  ck_assert_msg(WEXITSTATUS(st) < 200, "the participant failed (%d)", WEXITSTATUS(st));
  for (int i = 0; i < 2; i++) {
    close(pt->up[i]);
    close(pt->down[i]);
  }
  return WEXITSTATUS(st);
}

/* A participant of another uid, with writable descriptors of both of a
 * channel's segments (a sender has them), tries to change their sizes. */
static int channel_truncate_attack(void *arg) {
  static const char *const names[] = { "ch", "ch.ctl" };
  int sock = harness_raw_connect(&d);

  (void)arg;
  CHILD_CHECK(sock >= 0);
  for (int k = 0; k < 2; k++) {
    int fd, eperm = 0;
    uint64_t lease;
    struct stat st, after;

    CHILD_CHECK(raw_open(sock, names[k], true, &fd, &lease) == 0 && fd >= 0);
    CHILD_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    CHILD_CHECK(fstat(fd, &st) == 0);
    for (int i = 0; i < TRIES; i++)
      eperm += ftruncate(fd, i % 2 ? 0 : 64) == -1 && errno == EPERM;
    CHILD_CHECK(eperm == TRIES);
    CHILD_CHECK(ftruncate(fd, st.st_size * 2) == -1 && errno == EPERM);
    CHILD_CHECK(posix_fallocate(fd, 0, st.st_size * 2) == EPERM);
    CHILD_CHECK(fstat(fd, &after) == 0 && after.st_size == st.st_size);
    CHILD_CHECK((fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW)) ==
                (F_SEAL_SHRINK | F_SEAL_GROW));
    CHILD_CHECK(raw_release(sock, lease) == 0);
    close(fd);
  }
  close(sock);
  return 0;
}

START_TEST(channel_truncate_refused) {
  struct participant pt;
  shmv_segment_info info;
  shmv_segment_info *items = NULL;
  size_t n = 0;
  int status, bus;

  if (!harness_can_attack("test-sealed", "channel_truncate_refused"))
    return;
  harness_open_to_all(&d);
  /* Only SHMV_SEALED is a channel flag. */
  ck_assert_int_eq(shmv_channel_create(c, "ch", CH_CAP, 0666, SHMV_CREATE_EPHEMERAL), -EINVAL);
  OK(shmv_channel_create(c, "ch", CH_CAP, 0666, SHMV_SEALED));
  participant_start(&pt);
  status = harness_run_as(ATTACKER, ATTACKER, channel_truncate_attack, NULL);
  bus = participant_stop(&pt);
  ck_assert_msg(bus == 0, "the participant took %d SIGBUS%s", bus, bus == 100 ? " or more" : "");
  ATTACK_OK(status, "ftruncate of a sealed channel's segments");
  /* list and stat say what each is. */
  OK(shmv_stat(c, "ch", &info));
  ck_assert_int_eq(info.sealed, 1);
  ck_assert_int_eq(info.channel, 1);
  ck_assert_uint_eq(info.size, CH_CAP);
  OK(shmv_stat(c, "ch.ctl", &info));
  ck_assert_int_eq(info.sealed, 1);
  ck_assert_int_eq(info.control, 1);
  OK(shmv_list(c, &items, &n));
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(items[0].name, "ch");
  ck_assert_int_eq(items[0].sealed && items[0].channel, 1);
  ck_assert_int_eq(items[1].sealed && items[1].control, 1);
  shmv_list_free(items);
  ck_assert_int_eq(harness_shm_count(d.prefix), 0); /* memfds: no name in /dev/shm */
  /* A channel is not frozen, sealed or not. */
  ck_assert_int_eq(shmv_freeze(c, "ch"), -EOPNOTSUPP);
  OK(shmv_unlink(c, "ch"));
  ck_assert_int_eq(shmv_stat(c, "ch.ctl", &info), -ENOENT);
}
END_TEST

/* Without a store a sealed channel goes with the daemon, both of its
 * segments; a plain channel stays, and the name is free again. */
START_TEST(channel_restart_without_store) {
  shmv_segment_info info;
  shmv_channel *ch;

  OK(shmv_channel_create(c, "ch", CH_CAP, 0600, SHMV_SEALED));
  OK(shmv_channel_create(c, "pl", CH_CAP, 0600, 0));
  OK(shmv_channel_open(c, "pl", SHMV_SEND, &ch));
  OK(shmv_channel_send(ch, "plain", 5, 0));
  shmv_channel_close(ch);
  shmv_disconnect(c);
  ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
  ck_assert_int_eq(waitpid(d.pid, NULL, 0), d.pid);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_stat(c, "ch", &info), -ENOENT);
  ck_assert_int_eq(shmv_stat(c, "ch.ctl", &info), -ENOENT);
  OK(shmv_stat(c, "pl", &info));
  ck_assert_int_eq(info.channel, 1);
  ck_assert_int_eq(info.sealed, 0);
  ck_assert_uint_eq(info.depth, 1);
  OK(shmv_channel_create(c, "ch", CH_CAP, 0600, SHMV_SEALED));
  OK(shmv_unlink(c, "ch"));
  OK(shmv_unlink(c, "pl"));
}
END_TEST

/* With a store both segments come back, with the queued message, and the
 * channel works on; a store that kept only one of the two (its
 * FileDescriptorStoreMax= reached between them) drops the channel whole. */
START_TEST(channel_store_keeps_sealed) {
  struct store st;
  shmv_segment_info info;
  shmv_channel *tx, *rx;
  shmv_view *v;
  char name[256];
  int ctl = -1;

  shmv_disconnect(c);
  harness_daemon_kill(&d);
  store_open(&st);
  setenv("NOTIFY_SOCKET", st.path, 1);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);

  OK(shmv_channel_create(c, "ch", CH_CAP, 0640, SHMV_SEALED));
  OK(shmv_channel_open(c, "ch", SHMV_SEND, &tx));
  OK(shmv_channel_send(tx, "kept", 4, 0));
  shmv_channel_close(tx);
  store_drain(&st);
  ck_assert_int_eq(st.n, 2);

  shmv_disconnect(c);
  harness_daemon_kill(&d);
  store_pass(&st);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  OK(shmv_stat(c, "ch", &info));
  ck_assert_int_eq(info.sealed && info.channel, 1);
  ck_assert_uint_eq(info.mode, 0640);
  ck_assert_uint_eq(info.depth, 1);
  OK(shmv_stat(c, "ch.ctl", &info));
  ck_assert_int_eq(info.sealed && info.control, 1);
  OK(shmv_channel_open(c, "ch", SHMV_RECV, &rx));
  OK(shmv_channel_open(c, "ch", SHMV_SEND, &tx));
  OK(shmv_channel_recv(rx, 0, &v));
  ck_assert_uint_eq(shmv_view_length(v), 4);
  ck_assert_mem_eq(shmv_view_data(v), "kept", 4);
  shmv_view_release(v);
  OK(shmv_channel_send(tx, "after", 5, 0));
  OK(shmv_channel_recv(rx, 0, &v));
  ck_assert_mem_eq(shmv_view_data(v), "after", 5);
  shmv_view_release(v);
  shmv_channel_close(tx);
  shmv_channel_close(rx);

  /* The store lost NAME.ctl's descriptor: the ring alone is no channel. */
  shmv_disconnect(c);
  harness_daemon_kill(&d);
  store_drain(&st);
  ck_assert_int_eq(st.n, 2);
  snprintf(name, sizeof name, "seal.%s.ch.ctl", d.prefix);
  for (int i = 0; i < st.n; i++)
    if (strcmp(st.names[i], name) == 0)
      ctl = i;
  ck_assert_int_ge(ctl, 0);
  close(st.fds[ctl]);
  st.fds[ctl] = st.fds[--st.n];
  memcpy(st.names[ctl], st.names[st.n], sizeof st.names[0]);
  st.removed = 0;
  store_pass(&st);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_stat(c, "ch", &info), -ENOENT);
  ck_assert_int_eq(shmv_stat(c, "ch.ctl", &info), -ENOENT);
  store_drain(&st);
  ck_assert_int_eq(st.removed, 1);
  ck_assert_int_eq(st.n, 0);
  OK(shmv_channel_create(c, "ch", CH_CAP, 0600, SHMV_SEALED));
  OK(shmv_unlink(c, "ch"));
  store_drain(&st);
  ck_assert_int_eq(st.n, 0);
  store_close(&st);
}
END_TEST

/* A sender that sends "before", then one message per byte it hears, with
 * no request to the daemon in between. */
static int store_sender(void *arg) {
  int *p = arg;
  shmv_client *mine;
  shmv_channel *tx;

  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_channel_open(mine, "ch", SHMV_SEND, &tx) == 0);
  CHILD_CHECK(shmv_channel_send(tx, "before", 6, 0) == 0);
  harness_say(p[1], 'o');
  for (;;) {
    char what = harness_hear(p[0]);

    CHILD_CHECK(shmv_channel_send(tx, &what, 1, 0) == 0);
    harness_say(p[1], 'o');
  }
}

/* Participants of a sealed channel across a kill -9 of a daemon with a
 * store: messages flow while it is down, the receiver's lease on ch.ctl
 * re-registers on the memfd, and the sender's death after the restart
 * (no request since) still ends the stream. */
START_TEST(channel_participants_across_store_restart) {
  struct store st;
  shmv_segment_info info;
  shmv_channel *rx;
  shmv_view *v;
  int to[2], from[2], p[2], status;
  pid_t sender;

  shmv_disconnect(c);
  harness_daemon_kill(&d);
  store_open(&st);
  setenv("NOTIFY_SOCKET", st.path, 1);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  OK(shmv_channel_create(c, "ch", CH_CAP, 0600, SHMV_SEALED));
  OK(shmv_channel_open(c, "ch", SHMV_RECV, &rx));
  ck_assert_int_eq(pipe(to), 0);
  ck_assert_int_eq(pipe(from), 0);
  p[0] = to[0];
  p[1] = from[1];
  sender = fork();
  ck_assert_int_ge(sender, 0);
  if (sender == 0)
    _exit(store_sender(p));
  ck_assert_int_eq(harness_hear(from[0]), 'o');

  harness_daemon_kill(&d);
  harness_say(to[1], 'a'); /* no daemon: messages still go through */
  ck_assert_int_eq(harness_hear(from[0]), 'o');
  store_drain(&st);
  ck_assert_int_eq(st.n, 2);
  store_pass(&st);
  harness_daemon_restart(&d, NULL);
  OK(shmv_channel_recv(rx, 0, &v));
  ck_assert_mem_eq(shmv_view_data(v), "before", 6);
  shmv_view_release(v);
  /* a request: this client reconnects and re-registers its views, its
   * participant's lease on the sealed ch.ctl among them */
  OK(shmv_stat(c, "ch", &info));
  ck_assert_int_eq(info.sealed && info.channel, 1);
  ck_assert_uint_eq(info.senders, 1);
  ck_assert_uint_eq(info.receivers, 1);
  OK(shmv_channel_recv(rx, 0, &v));
  ck_assert_mem_eq(shmv_view_data(v), "a", 1);
  shmv_view_release(v);
  kill(sender, SIGKILL);
  ck_assert_int_eq(waitpid(sender, &status, 0), sender);
  ck_assert_int_eq(shmv_channel_recv(rx, 10 * 1000000000LL, &v), -EPIPE);
  shmv_channel_close(rx);
  OK(shmv_stat(c, "ch", &info));
  ck_assert_uint_eq(info.senders, 0);
  ck_assert_uint_eq(info.receivers, 0);
  OK(shmv_unlink(c, "ch"));
  store_drain(&st);
  ck_assert_int_eq(st.n, 0);
  store_close(&st);
  for (int i = 0; i < 2; i++) {
    close(to[i]);
    close(from[i]);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("sealed");
  TCase *tc = tcase_create("sealed");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, truncate_refused_no_sigbus);
  tcase_add_test(tc, freeze_seals_writes);
  tcase_add_test(tc, freeze_refused_while_mapped_writable);
  tcase_add_test(tc, readonly_descriptor_as_stranger);
  tcase_add_test(tc, resize_refused_flags_shown);
  tcase_add_test(tc, restart_without_store);
  tcase_add_test(tc, store_keeps_sealed_across_restarts);
  tcase_add_test(tc, channel_truncate_refused);
  tcase_add_test(tc, channel_restart_without_store);
  tcase_add_test(tc, channel_store_keeps_sealed);
  tcase_add_test(tc, channel_participants_across_store_restart);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(suite());
}

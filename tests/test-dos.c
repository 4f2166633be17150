/* SPDX-License-Identifier: MIT */
/*
 * test-dos.c: what one client can make the daemon hold, tried as an
 * attacker would, with real processes (another uid via setresuid) against
 * the real daemon: descriptors left unread, half-sent frames, a flood of
 * idle connections, who pays for bytes, and a writable view's holder
 * truncating the object under other readers.
 *
 * During each attack an honest client keeps making requests; the tests
 * assert only that it stays served (every request succeeds within a
 * generous deadline) and print its median latency: timing is not a pass
 * criterion on a shared machine. Counts are modest (tens to hundreds).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "proto.h"
#include "shmview.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define NOBODY   65534
#define STRANGER 4242 /* a second unprivileged uid, with no passwd entry */

static struct harness_daemon d;

static uint64_t now_us(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

  nanosleep(&ts, NULL);
}

static bool is_root(const char *test) {
  if (geteuid() == 0)
    return true;
  fprintf(stderr, "test-dos: %s skipped: needs root to become other users\n", test);
  return false;
}

/* Let other uids reach the socket. */
static void open_socket_to_all(void) {
  ck_assert_int_eq(chmod(d.dir, 0711), 0);
  ck_assert_int_eq(chmod(d.socket, 0666), 0);
}

static int become(uid_t uid) {
  return setresgid(uid, uid, uid) == 0 && setresuid(uid, uid, uid) == 0 ? 0 : -1;
}

/* Fork a child running fn(arg) as uid (0: stay root); returns its pid. */
static pid_t spawn(uid_t uid, int (*fn)(void *), void *arg) {
  pid_t pid = fork();

  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (uid != 0 && become(uid) != 0)
      _exit(100);
    _exit(fn(arg));
  }
  return pid;
}

/* Wait (up to 5 s) until the daemon counts `want` clients. */
static void expect_clients(shmv_client *c, uint64_t want) {
  shmv_status_info st;
  uint64_t t0 = now_us();

  for (;;) {
    ck_assert_int_eq(shmv_status(c, &st), 0);
    if (st.clients == want || now_us() - t0 > 5000000u)
      break;
    sleep_ms(10);
  }
  ck_assert_uint_eq(st.clients, want);
}

static void expect_child_ok(pid_t pid, const char *what) {
  int status;

  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed (status %#x)", what,
                status);
}

/* ---- the honest client ---- */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

  return x < y ? -1 : x > y;
}

/* For ms milliseconds, open and release a view of `name` and stat it,
 * again and again. Every request must succeed within 10 s (a generous
 * deadline: the point is that it is served at all). Prints the median. */
static void honest_client(const char *what, const char *name, unsigned ms) {
  enum { MAX_SAMPLES = 4096 };
  static uint64_t lat[MAX_SAMPLES];
  uint64_t end = now_us() + (uint64_t)ms * 1000u, t0, dt;
  shmv_client *c;
  shmv_segment_info info;
  size_t n = 0;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  while (n < MAX_SAMPLES && (n < 20 || now_us() < end)) {
    shmv_view *v;

    t0 = now_us();
    ck_assert_int_eq(shmv_view_open(c, name, 0, SHMV_TO_END, 0, &v), 0);
    shmv_view_release(v);
    ck_assert_int_eq(shmv_stat(c, name, &info), 0);
    dt = now_us() - t0;
    ck_assert_msg(dt < 10u * 1000000u, "an honest request took %llu us", (unsigned long long)dt);
    lat[n++] = dt;
    sleep_ms(2);
  }
  shmv_disconnect(c);
  qsort(lat, n, sizeof lat[0], cmp_u64);
  printf("test-dos: %s: honest client served %zu open+release+stat rounds, median %llu us, "
         "max %llu us\n",
         what, n, (unsigned long long)lat[n / 2], (unsigned long long)lat[n - 1]);
  fflush(stdout);
}

/* ---- raw protocol, for attackers ---- */

static int send_all(int fd, const void *buf, size_t len) {
  const char *p = buf;

  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int send_open(int fd, uint64_t id, const char *name, uint64_t length, bool writable) {
  struct proto_request req;
  msgpack_sbuffer sb;
  int rc;

  memset(&req, 0, sizeof req);
  req.id = id;
  req.op = PROTO_OP_OPEN;
  snprintf(req.name, sizeof req.name, "%s", name);
  req.length = length;
  req.writable = writable;
  msgpack_sbuffer_init(&sb);
  rc = proto_request_encode(&req, PROTO_FRAME_MAX_DEFAULT, &sb);
  if (rc == 0)
    rc = send_all(fd, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

/* Read every frame until EOF (or timeout_ms of silence); count the
 * descriptors that came with them. Returns the frames read, or -1 if the
 * connection was still open after the timeout. */
static int drain(int fd, unsigned timeout_ms, int *fds) {
  struct proto_reader rd;
  struct proto_frame f;
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  int frames = 0, rc = -1;

  *fds = 0;
  proto_reader_init(&rd, PROTO_FRAME_MAX_DEFAULT, true);
  for (;;) {
    while (proto_reader_get(&rd, &f) == 1) {
      frames++;
      if (f.fd >= 0) {
        (*fds)++;
        close(f.fd);
      }
    }
    if (poll(&pfd, 1, (int)timeout_ms) != 1)
      break;
    if (proto_reader_read(&rd, fd) <= 0) {
      rc = frames;
      break;
    }
  }
  proto_reader_free(&rd);
  return rc;
}

/* ---- descriptors in flight ---- */

#define FD_ATTACKERS 4
#define FD_PIPELINE  150
#define FD_LIMIT     8

/* Pipeline opens on one connection and never read, until told to (a byte
 * on the pipe); then read all that came. Reports 0 if the daemon sent at
 * most FD_LIMIT descriptors and then hung up. */
static int fd_attacker(void *arg) {
  int go = *(int *)arg, sock = harness_raw_connect(&d), fds, frames;
  char b;

  CHILD_CHECK(sock >= 0);
  for (int i = 0; i < FD_PIPELINE; i++)
    CHILD_CHECK(send_open(sock, (uint64_t)i + 1, "fdseg", 1, false) == 0);
  CHILD_CHECK(read(go, &b, 1) == 1);
  frames = drain(sock, 5000, &fds);
  fprintf(stderr, "test-dos: an fd attacker got %d answers, %d descriptors, then %s\n", frames, fds,
          frames < 0 ? "no hang-up" : "a hang-up");
  CHILD_CHECK(frames >= 0); /* dropped */
  CHILD_CHECK(fds <= FD_LIMIT);
  close(sock);
  return 0;
}

START_TEST(fds_in_flight) {
  static const char *const args[] = { "--max-fds-in-flight", "8", "--send-timeout", "1", NULL };
  pid_t pids[FD_ATTACKERS];
  int go[2];
  shmv_client *c;
  shmv_status_info st;

  if (!is_root("fds_in_flight"))
    return;
  harness_daemon_start(&d, args);
  open_socket_to_all();
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "fdseg", 4096, 0644), 0);
  ck_assert_int_eq(pipe(go), 0);
  for (int i = 0; i < FD_ATTACKERS; i++)
    pids[i] = spawn(NOBODY, fd_attacker, &go[0]);

  /* While they leave their descriptors unread, and after the daemon drops
   * them (--send-timeout 1), the honest client is served. */
  honest_client("descriptors in flight", "fdseg", 2500);
  expect_clients(c, 1); /* the attackers are gone */
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.views, 0);
  for (int i = 0; i < FD_ATTACKERS; i++)
    ck_assert_int_eq(write(go[1], "g", 1), 1);
  for (int i = 0; i < FD_ATTACKERS; i++)
    expect_child_ok(pids[i], "an fd attacker");
  close(go[0]);
  close(go[1]);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* ---- the kernel's own limit: ETOOMANYREFS ---- */

#define REFS_ATTACKERS 5
#define REFS_NOFILE    64

/* A daemon that is not root: the kernel refuses it more than its
 * RLIMIT_NOFILE descriptors in flight (root is exempt). A wrapper runs
 * the real one as nobody with REFS_NOFILE descriptors (and the socket's
 * directory given to nobody). Returns false where that cannot be done. */
static bool use_nobody_daemon(char *wrapper, size_t cap) {
  const char *real = getenv("SHMVIEWD"), *tmp = getenv("SHMVIEW_TEST_TMPDIR");
  FILE *f;

  if (real == NULL || access("/usr/bin/setpriv", X_OK) != 0 ||
      access("/usr/bin/prlimit", X_OK) != 0) {
    fprintf(stderr, "test-dos: too_many_refs skipped: needs setpriv and prlimit\n");
    return false;
  }
  if (getenv("SHMVIEW_TEST_VALGRIND") != NULL &&
      strcmp(getenv("SHMVIEW_TEST_VALGRIND"), "1") == 0) {
    fprintf(stderr, "test-dos: too_many_refs skipped under valgrind (its daemon is wrapped)\n");
    return false;
  }
  snprintf(wrapper, cap, "%s/dos-nobody-%d.sh", tmp != NULL ? tmp : "/tmp", (int)getpid());
  f = fopen(wrapper, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f,
          "#!/bin/sh\n"
          "prev=\n"
          "for a; do [ \"$prev\" = --socket ] && chown %d:%d \"${a%%/*}\"; prev=$a; done\n"
          "exec /usr/bin/prlimit --nofile=%d:%d /usr/bin/setpriv --reuid=%d --regid=%d "
          "--clear-groups --pdeathsig TERM -- '%s' \"$@\"\n",
          NOBODY, NOBODY, REFS_NOFILE, REFS_NOFILE, NOBODY, NOBODY, real);
  fclose(f);
  ck_assert_int_eq(chmod(wrapper, 0700), 0);
  setenv("SHMVIEWD", wrapper, 1);
  return true;
}

/* Pipeline opens, never read until told; then read all and leave. */
static int refs_attacker(void *arg) {
  int go = *(int *)arg, sock = harness_raw_connect(&d), fds;
  char b;

  CHILD_CHECK(sock >= 0);
  for (int i = 0; i < 40; i++)
    CHILD_CHECK(send_open(sock, (uint64_t)i + 1, "refs", 1, false) == 0);
  CHILD_CHECK(read(go, &b, 1) == 1);
  drain(sock, 200, &fds);
  CHILD_CHECK(fds <= 16);
  close(sock);
  return 0;
}

START_TEST(too_many_refs) {
  static const char *const args[] = { "--send-timeout", "2", NULL };
  char wrapper[320];
  pid_t pids[REFS_ATTACKERS];
  int go[2], ok = 0, again = 0, rc;
  uint64_t t0;
  shmv_client *c;
  shmv_view *v;
  shmv_segment_info info;
  shmv_status_info st;

  if (!is_root("too_many_refs") || !use_nobody_daemon(wrapper, sizeof wrapper))
    return;
  harness_daemon_start(&d, args);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "refs", 4096, 0644), 0);
  ck_assert_int_eq(pipe(go), 0);
  for (int i = 0; i < REFS_ATTACKERS; i++)
    pids[i] = spawn(0, refs_attacker, &go[0]);
  /* Let the attackers' pipelines be answered until the kernel refuses
   * the daemon more descriptors (some of them are dropped for it, but
   * what they were sent stays in flight while they keep their sockets). */
  t0 = now_us();
  do {
    sleep_ms(20);
    rc = shmv_view_open(c, "refs", 0, SHMV_TO_END, 0, &v);
    ck_assert_msg(rc == 0 || rc == -EAGAIN, "open: %s", shmv_strerror(rc));
    if (rc == 0)
      shmv_view_release(v);
  } while (rc == 0 && now_us() - t0 < 2000000u);
  ck_assert_int_eq(shmv_status(c, &st), 0);
  printf("test-dos: %s after %llu ms, with %llu views held\n",
         rc == -EAGAIN ? "the daemon's descriptors in flight ran out" : "no refusal yet",
         (unsigned long long)((now_us() - t0) / 1000), (unsigned long long)st.views);
  /* The honest client keeps its connection: each open succeeds or is
   * refused for now (EAGAIN), and every other request is served. */
  t0 = now_us();
  while (now_us() - t0 < 1000000u) {
    rc = shmv_view_open(c, "refs", 0, SHMV_TO_END, 0, &v);
    ck_assert_msg(rc == 0 || rc == -EAGAIN, "open: %s", shmv_strerror(rc));
    if (rc == 0) {
      ok++;
      shmv_view_release(v);
    } else {
      again++;
    }
    ck_assert_int_eq(shmv_stat(c, "refs", &info), 0);
    sleep_ms(5);
  }
  printf("test-dos: with the daemon's descriptors in flight used up, an honest client's opens: "
         "%d served, %d refused for now (EAGAIN), connection kept\n",
         ok, again);
  /* Once the attackers read theirs and leave, opens are served again. */
  for (int i = 0; i < REFS_ATTACKERS; i++)
    ck_assert_int_eq(write(go[1], "g", 1), 1);
  for (int i = 0; i < REFS_ATTACKERS; i++)
    expect_child_ok(pids[i], "an attacker");
  t0 = now_us();
  while ((rc = shmv_view_open(c, "refs", 0, SHMV_TO_END, 0, &v)) == -EAGAIN &&
         now_us() - t0 < 5000000u)
    sleep_ms(20);
  ck_assert_int_eq(rc, 0);
  shmv_view_release(v);
  close(go[0]);
  close(go[1]);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
  unlink(wrapper);
}
END_TEST

/* ---- half-sent frames ---- */

#define HALF_CONNS 150

static long daemon_rss_kb(void) {
  char path[64], line[256];
  long kb = -1;
  FILE *f;

  snprintf(path, sizeof path, "/proc/%d/status", (int)d.pid);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
      break;
  fclose(f);
  return kb;
}

/* Many connections each sending 48 KiB of a 64 KiB frame and stopping:
 * the daemon drops each after --frame-timeout, and its memory returns. */
START_TEST(half_frames) {
  static const char *const args[] = { "--frame-timeout", "2", NULL };
  static uint8_t part[PROTO_HEADER_SIZE + 48 * 1024];
  int socks[HALF_CONNS], open_socks = 0, fds;
  long before, during, after;
  uint64_t t0;
  struct rlimit rl;
  shmv_client *c;

  getrlimit(RLIMIT_NOFILE, &rl);
  ck_assert_msg(rl.rlim_cur > HALF_CONNS + 32, "RLIMIT_NOFILE too low for this test");
  harness_daemon_start(&d, args);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "half", 4096, 0600), 0);
  honest_client("before the half-frame attack", "half", 200);
  before = daemon_rss_kb();

  proto_frame_header(part, PROTO_FRAME_MAX_DEFAULT);
  memset(part + PROTO_HEADER_SIZE, 0x80, sizeof part - PROTO_HEADER_SIZE);
  t0 = now_us();
  for (int i = 0; i < HALF_CONNS; i++) {
    socks[i] = harness_raw_connect(&d);
    ck_assert_int_ge(socks[i], 0);
    ck_assert_int_eq(send_all(socks[i], part, sizeof part), 0);
  }
  honest_client("during the half-frame attack", "half", 500);
  during = daemon_rss_kb();

  /* Each is dropped once its frame is 2 s late (checks run every 0.5 s). */
  for (int i = 0; i < HALF_CONNS; i++) {
    ck_assert_int_ge(drain(socks[i], 10000, &fds), 0);
    close(socks[i]);
    open_socks++;
  }
  ck_assert_uint_lt(now_us() - t0, 15u * 1000000u);
  honest_client("after the half-frame attack", "half", 1200); /* a sweep trims */
  after = daemon_rss_kb();
  printf("test-dos: daemon RSS before %ld kB, during %ld kB (%d connections with 48 KiB of a "
         "64 KiB frame), after %ld kB\n",
         before, during, HALF_CONNS, after);
  ck_assert_int_eq(open_socks, HALF_CONNS);
  /* Under valgrind or ASan (whose allocators keep freed memory in
   * quarantine) RSS says nothing about the daemon's own memory. */
  if (!d.valgrind && !SANITIZED) {
    ck_assert_int_gt(before, 0);
    ck_assert_msg(after < before + 4096, "RSS stayed at %ld kB after the attack (before: %ld kB)",
                  after, before);
  }
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* ---- an idle flood by one uid ---- */

#define FLOOD_CONNS   40
#define FLOOD_PER_UID 15

/* Hold FLOOD_CONNS idle connections as nobody until told; the ones past
 * the per-uid limit learn why (EUSERS) when they ask. */
static int idle_flooder(void *arg) {
  int *p = arg, socks[FLOOD_CONNS], refused = 0, fds;
  char b;

  for (int i = 0; i < FLOOD_CONNS; i++) {
    socks[i] = harness_raw_connect(&d);
    CHILD_CHECK(socks[i] >= 0);
  }
  CHILD_CHECK(write(p[1], "r", 1) == 1); /* all connected */
  CHILD_CHECK(read(p[0], &b, 1) == 1);
  /* The connections past the limit are answered EUSERS and closed. */
  for (int i = 0; i < FLOOD_CONNS; i++) {
    CHILD_CHECK(send_open(socks[i], 1, "idle", 1, false) == 0);
  }
  for (int i = 0; i < FLOOD_CONNS; i++) {
    struct proto_reader rd;
    struct proto_frame f;
    struct proto_response resp;

    proto_reader_init(&rd, PROTO_FRAME_MAX_DEFAULT, true);
    while (proto_reader_get(&rd, &f) == 0)
      CHILD_CHECK(proto_reader_read(&rd, socks[i]) > 0);
    if (f.fd >= 0)
      close(f.fd);
    CHILD_CHECK(proto_response_decode(f.payload, f.len, PROTO_OP_OPEN, &resp) == 0);
    if (resp.err == EUSERS)
      refused++;
    proto_response_free(&resp);
    proto_reader_free(&rd);
  }
  fprintf(stderr, "test-dos: %d of %d idle connections by one uid were refused\n", refused,
          FLOOD_CONNS);
  CHILD_CHECK(refused == FLOOD_CONNS - FLOOD_PER_UID);
  for (int i = 0; i < FLOOD_CONNS; i++)
    close(socks[i]);
  (void)fds;
  return 0;
}

static int stranger_client(void *arg) {
  shmv_client *c;
  shmv_view *v;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "idle", 0, SHMV_TO_END, 0, &v) == 0);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

START_TEST(idle_flood_per_uid) {
  static const char *const args[] = { "--max-clients", "50", "--max-clients-per-uid", "15", NULL };
  int to_parent[2], to_child[2], p[2];
  char b;
  pid_t flooder;
  shmv_client *c;

  if (!is_root("idle_flood_per_uid"))
    return;
  harness_daemon_start(&d, args);
  open_socket_to_all();
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "idle", 4096, 0644), 0);
  ck_assert_int_eq(pipe(to_parent), 0);
  ck_assert_int_eq(pipe(to_child), 0);
  p[0] = to_child[0];
  p[1] = to_parent[1];
  flooder = spawn(NOBODY, idle_flooder, p);
  ck_assert_int_eq(read(to_parent[0], &b, 1), 1);

  /* The flood holds nobody's 15 connections; another uid, and root, are
   * still served. */
  expect_child_ok(spawn(STRANGER, stranger_client, NULL), "another uid's client");
  honest_client("idle flood by one uid", "idle", 300);
  expect_clients(c, 1 + FLOOD_PER_UID);
  ck_assert_int_eq(write(to_child[1], "g", 1), 1);
  expect_child_ok(flooder, "the idle flooder");
  close(to_parent[0]);
  close(to_parent[1]);
  close(to_child[0]);
  close(to_child[1]);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* ---- who pays ---- */

static int owner_creates(void *arg) {
  shmv_client *c;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_create(c, "common", 4096, 0666) == 0);
  shmv_disconnect(c);
  return 0;
}

static int grower(void *arg) {
  shmv_client *c;
  shmv_status_info st;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_resize(c, "common", 512 * 1024) == 0);
  CHILD_CHECK(shmv_status(c, &st) == 0);
  CHILD_CHECK(st.used_bytes == 0); /* the grower is not charged */
  /* Growing past the owner's quota is refused: the owner pays. */
  CHILD_CHECK(shmv_resize(c, "common", 2 * 1024 * 1024) == -EDQUOT);
  shmv_disconnect(c);
  return 0;
}

static int owner_sees(void *arg) {
  uint64_t want = *(uint64_t *)arg;
  shmv_client *c;
  shmv_status_info st;

  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_status(c, &st) == 0);
  shmv_disconnect(c);
  if (st.used_bytes != want)
    fprintf(stderr, "test-dos: owner holds %llu bytes, expected %llu\n",
            (unsigned long long)st.used_bytes, (unsigned long long)want);
  CHILD_CHECK(st.used_bytes == want);
  return 0;
}

static int owner_unlinks(void *arg) {
  shmv_client *c;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_unlink(c, "common") == 0);
  shmv_disconnect(c);
  return 0;
}

START_TEST(who_pays) {
  static const char *const args[] = { "--quota-bytes", "1M", NULL };
  uint64_t want;
  shmv_client *c;
  shmv_view *v;
  shmv_status_info st;

  if (!is_root("who_pays"))
    return;
  harness_daemon_start(&d, args);
  open_socket_to_all();
  expect_child_ok(spawn(STRANGER, owner_creates, NULL), "the owner's create");
  expect_child_ok(spawn(NOBODY, grower, NULL), "another uid growing it");
  want = 512 * 1024;
  expect_child_ok(spawn(STRANGER, owner_sees, &want), "the owner's status");

  /* A reader's view keeps an unlinked segment's bytes charged to its
   * owner (as an open file's blocks stay on its owner's disk quota) until
   * the view goes. */
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_view_open(c, "common", 0, 4096, 0, &v), 0);
  expect_child_ok(spawn(STRANGER, owner_unlinks, NULL), "the owner's unlink");
  expect_child_ok(spawn(STRANGER, owner_sees, &want), "the owner's status after unlink");
  shmv_view_release(v);
  ck_assert_int_eq(shmv_status(c, &st), 0); /* the release's answer came before */
  ck_assert_uint_eq(st.bytes, 0);
  want = 0;
  expect_child_ok(spawn(STRANGER, owner_sees, &want), "the owner's status after the view");
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

START_TEST(default_limits) {
  /* Out of the box every limit has a value (docs/security.md). */
  shmv_client *c;
  shmv_status_info st;

  harness_daemon_start(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.max_clients, 1024);
  ck_assert_uint_eq(st.max_views, 262144);
  ck_assert_uint_eq(st.quota_views, 131072);
  ck_assert_uint_eq(st.quota_segments, 16384);
  ck_assert_uint_gt(st.quota_bytes, 0);
  ck_assert_uint_gt(st.max_total_size, st.quota_bytes); /* 3/4 and 1/4 of /dev/shm */
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* ---- a writable view's holder truncates the object ---- */

/* Read every byte of a 64 KiB view when told to; a SIGBUS kills it. */
static int reader(void *arg) {
  int *p = arg;
  shmv_client *c;
  shmv_view *v;
  unsigned sum = 0;
  char b;

  signal(SIGBUS, SIG_DFL);
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "trunc", 0, SHMV_TO_END, 0, &v) == 0);
  CHILD_CHECK(shmv_view_length(v) == 65536);
  CHILD_CHECK(write(p[1], "m", 1) == 1); /* mapped */
  CHILD_CHECK(read(p[0], &b, 1) == 1);
  for (size_t i = 0; i < 65536; i++)
    sum += ((volatile unsigned char *)shmv_view_data(v))[i];
  (void)sum;
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

/* Take a writable 1-byte view over the raw protocol and ftruncate its
 * descriptor to nothing; keep the lease until told. */
static int truncator(void *arg) {
  int *p = arg, sock = harness_raw_connect(&d), fd = -1;
  struct proto_reader rd;
  struct proto_frame f;
  struct proto_response resp;
  char b;

  CHILD_CHECK(sock >= 0);
  CHILD_CHECK(send_open(sock, 1, "trunc", 1, true) == 0);
  proto_reader_init(&rd, PROTO_FRAME_MAX_DEFAULT, true);
  while (proto_reader_get(&rd, &f) == 0)
    CHILD_CHECK(proto_reader_read(&rd, sock) > 0);
  fd = f.fd;
  CHILD_CHECK(proto_response_decode(f.payload, f.len, PROTO_OP_OPEN, &resp) == 0);
  CHILD_CHECK(resp.err == 0 && fd >= 0);
  CHILD_CHECK(ftruncate(fd, 0) == 0);
  CHILD_CHECK(write(p[1], "t", 1) == 1); /* truncated */
  CHILD_CHECK(read(p[0], &b, 1) == 1);
  close(fd);
  close(sock);
  proto_reader_free(&rd);
  return 0;
}

static bool file_contains(const char *path, const char *needle) {
  char buf[65536];
  FILE *f = fopen(path, "r");
  size_t n;

  if (f == NULL)
    return false;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strstr(buf, needle) != NULL;
}

START_TEST(truncate_repaired) {
  int r_up[2], r_down[2], t_up[2], t_down[2], rp[2], tp[2], saved;
  char b, path[256], logpath[320];
  pid_t rpid, tpid;
  shmv_client *c;
  shmv_segment_info info;
  struct stat st;
  uint64_t t0;
  int log;

  if (!is_root("truncate_repaired"))
    return;
  /* The daemon's log goes to a file we can read. */
  snprintf(logpath, sizeof logpath, "%s/dos-daemon-%d.log",
           getenv("SHMVIEW_TEST_TMPDIR") ? getenv("SHMVIEW_TEST_TMPDIR") : "/tmp", (int)getpid());
  log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ck_assert_int_ge(log, 0);
  saved = dup(2);
  dup2(log, 2);
  harness_daemon_start(&d, NULL);
  dup2(saved, 2);
  close(saved);
  close(log);
  open_socket_to_all();

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "trunc", 65536, 0666), 0);
  ck_assert(pipe(r_up) == 0 && pipe(r_down) == 0 && pipe(t_up) == 0 && pipe(t_down) == 0);
  rp[0] = r_down[0];
  rp[1] = r_up[1];
  tp[0] = t_down[0];
  tp[1] = t_up[1];
  rpid = spawn(0, reader, rp);
  ck_assert_int_eq(read(r_up[0], &b, 1), 1);
  tpid = spawn(NOBODY, truncator, tp);
  ck_assert_int_eq(read(t_up[0], &b, 1), 1);

  /* The daemon notices on its own (no request) and restores the size. */
  snprintf(path, sizeof path, "/dev/shm/%s.trunc", d.prefix);
  t0 = now_us();
  while (stat(path, &st) == 0 && st.st_size != 65536 && now_us() - t0 < 5000000u)
    sleep_ms(5);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_size, 65536);
  printf("test-dos: a truncated object was restored within %llu us\n",
         (unsigned long long)(now_us() - t0));
  ck_assert_int_eq(write(r_down[1], "r", 1), 1);
  expect_child_ok(rpid, "the reader after the repair");
  ck_assert_int_eq(shmv_stat(c, "trunc", &info), 0);
  ck_assert_uint_eq(info.size, 65536);

  /* Shrunk again behind the daemon's back: a stat right after answers
   * with the daemon's size (it checks the object before answering). */
  ck_assert_int_eq(truncate(path, 100), 0);
  ck_assert_int_eq(shmv_stat(c, "trunc", &info), 0);
  ck_assert_uint_eq(info.size, 65536);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_size, 65536);

  ck_assert_int_eq(write(t_down[1], "d", 1), 1);
  expect_child_ok(tpid, "the truncator");
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
  ck_assert_msg(file_contains(logpath, "held by uid 65534 (1 writable view)"),
                "the log does not name the truncating uid");
  unlink(logpath);
  for (int i = 0; i < 2; i++) {
    close(r_up[i]);
    close(r_down[i]);
    close(t_up[i]);
    close(t_down[i]);
  }
}
END_TEST

/* ---- stalls by another uid ---- */

#define STALL_HALF 20

/* True once the daemon has closed its end of sock (within ms), without
 * reading what it queued for us: reading would end a send stall. */
static bool dropped_within(int sock, unsigned ms) {
  struct pollfd pfd = { .fd = sock, .events = POLLRDHUP };
  uint64_t end = now_us() + (uint64_t)ms * 1000u;

  while (now_us() < end)
    if (poll(&pfd, 1, 100) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP)) != 0)
      return true;
  return false;
}

/* As nobody: STALL_HALF connections with half a frame each, and one that
 * sends requests and never reads the answers; all held until the daemon
 * drops them, which it must do by itself. */
static int staller(void *arg) {
  int *p = arg, half[STALL_HALF], flood, fl;
  static uint8_t part[PROTO_HEADER_SIZE + 1024];
  char b;

  proto_frame_header(part, 4096);
  memset(part + PROTO_HEADER_SIZE, 0x80, sizeof part - PROTO_HEADER_SIZE);
  for (int i = 0; i < STALL_HALF; i++) {
    half[i] = harness_raw_connect(&d);
    CHILD_CHECK(half[i] >= 0);
    CHILD_CHECK(send_all(half[i], part, sizeof part) == 0);
  }
  flood = harness_raw_connect(&d);
  CHILD_CHECK(flood >= 0);
  fl = fcntl(flood, F_GETFL);
  CHILD_CHECK(fcntl(flood, F_SETFL, fl | O_NONBLOCK) == 0);
  for (int i = 0; i < 100000; i++)
    if (send_open(flood, (uint64_t)i + 1, "stall", 1, false) != 0)
      break; /* the socket is full: the daemon stopped reading us */
  CHILD_CHECK(write(p[1], "r", 1) == 1);
  CHILD_CHECK(read(p[0], &b, 1) == 1);
  for (int i = 0; i < STALL_HALF; i++) {
    CHILD_CHECK(dropped_within(half[i], 10000));
    close(half[i]);
  }
  CHILD_CHECK(dropped_within(flood, 10000));
  close(flood);
  return 0;
}

START_TEST(stalls_by_another_uid) {
  static const char *const args[] = { "--frame-timeout", "1", "--send-timeout", "2", NULL };
  int to_parent[2], to_child[2], p[2];
  char b;
  pid_t pid;
  shmv_client *c;

  if (!is_root("stalls_by_another_uid"))
    return;
  harness_daemon_start(&d, args);
  open_socket_to_all();
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "stall", 4096, 0644), 0);
  ck_assert_int_eq(pipe(to_parent), 0);
  ck_assert_int_eq(pipe(to_child), 0);
  p[0] = to_child[0];
  p[1] = to_parent[1];
  pid = spawn(NOBODY, staller, p);
  /* The child's ends: a child that fails before it is ready is an EOF. */
  close(to_parent[1]);
  close(to_child[0]);
  ck_assert_msg(read(to_parent[0], &b, 1) == 1, "the attacker failed before it was ready");
  honest_client("stalls by another uid", "stall", 300);
  ck_assert_int_eq(write(to_child[1], "g", 1), 1);
  expect_child_ok(pid, "the staller (its connections were dropped)");
  expect_clients(c, 1);
  honest_client("after stalls by another uid", "stall", 100);
  close(to_parent[0]);
  close(to_child[1]);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* ---- out of descriptors ---- */

#define SHED_NOFILE 48
#define SHED_CONNS  200

/* As nobody: SHED_CONNS connections, far more than the daemon has
 * descriptors; keep the ones it took until told. */
static int shed_flooder(void *arg) {
  int *p = arg, socks[SHED_CONNS];
  char b;

  for (int i = 0; i < SHED_CONNS; i++) {
    socks[i] = harness_raw_connect(&d);
    CHILD_CHECK(socks[i] >= 0);
  }
  CHILD_CHECK(write(p[1], "r", 1) == 1);
  CHILD_CHECK(read(p[0], &b, 1) == 1);
  for (int i = 0; i < SHED_CONNS; i++)
    close(socks[i]);
  return 0;
}

/* The daemon's user and system CPU time so far, in clock ticks. */
static long daemon_cpu_ticks(void) {
  char path[64], buf[1024], *p;
  unsigned long ut = 0, st = 0;
  FILE *f;
  size_t n;

  snprintf(path, sizeof path, "/proc/%d/stat", (int)d.pid);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  p = strrchr(buf, ')'); /* after the command name, fields 3.. */
  if (p == NULL ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
    return -1;
  return (long)(ut + st);
}

/* Another uid's connections take every descriptor the daemon has: it sheds
 * the rest (no spinning on a readable listening socket), logs that at most
 * 10 times a second, and serves again once they go. */
START_TEST(emfile_shed_by_another_uid) {
  const char *real = getenv("SHMVIEWD");
  char wrapper[320], logpath[320], line[512];
  int to_parent[2], to_child[2], p[2], log, saved, rc = -1;
  long cpu0, cpu1, lines = 0, ticks = sysconf(_SC_CLK_TCK);
  struct timespec t0, t1;
  shmv_client *c = NULL;
  shmv_status_info st;
  pid_t pid;
  FILE *f;
  char b;

  if (!is_root("emfile_shed_by_another_uid"))
    return;
  if (real == NULL || access("/usr/bin/prlimit", X_OK) != 0 ||
      (getenv("SHMVIEW_TEST_VALGRIND") != NULL &&
       strcmp(getenv("SHMVIEW_TEST_VALGRIND"), "1") == 0)) {
    fprintf(stderr, "test-dos: emfile_shed_by_another_uid skipped: needs prlimit, no valgrind\n");
    return;
  }
  /* The daemon (root) with only SHED_NOFILE descriptors, its log in a file. */
  snprintf(wrapper, sizeof wrapper, "/tmp/shmvt%s-shed-%d.sh", getenv("SHMVIEW_TEST_RUN"),
           (int)getpid());
  f = fopen(wrapper, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "#!/bin/sh\nexec /usr/bin/prlimit --nofile=%d:%d -- '%s' \"$@\"\n", SHED_NOFILE,
          SHED_NOFILE, real);
  fclose(f);
  ck_assert_int_eq(chmod(wrapper, 0700), 0);
  setenv("SHMVIEWD", wrapper, 1);
  snprintf(logpath, sizeof logpath, "/tmp/shmvt%s-shed-%d.log", getenv("SHMVIEW_TEST_RUN"),
           (int)getpid());
  log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ck_assert_int_ge(log, 0);
  saved = dup(2);
  dup2(log, 2);
  harness_daemon_start(&d, NULL);
  dup2(saved, 2);
  close(saved);
  close(log);
  setenv("SHMVIEWD", real, 1);
  open_socket_to_all();

  ck_assert_int_eq(pipe(to_parent), 0);
  ck_assert_int_eq(pipe(to_child), 0);
  p[0] = to_child[0];
  p[1] = to_parent[1];
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid = spawn(NOBODY, shed_flooder, p);
  close(to_parent[1]);
  close(to_child[0]);
  ck_assert_msg(read(to_parent[0], &b, 1) == 1, "the flooder failed before it was ready");
  /* Out of descriptors with the flood held: the daemon must sleep. */
  cpu0 = daemon_cpu_ticks();
  sleep_ms(1000);
  cpu1 = daemon_cpu_ticks();
  ck_assert_int_ge(cpu0, 0);
  ck_assert_msg(cpu1 - cpu0 < ticks / 2, "the daemon used %ld of %ld ticks out of descriptors",
                cpu1 - cpu0, ticks);
  ck_assert_int_eq(write(to_child[1], "g", 1), 1);
  expect_child_ok(pid, "the descriptor flooder");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  close(to_parent[0]);
  close(to_child[1]);

  /* Served again once the flood is gone. */
  for (int i = 0; i < 500 && rc != 0; i++) {
    rc = shmv_connect(d.socket, &c);
    if (rc == 0 && (rc = shmv_status(c, &st)) != 0) {
      shmv_disconnect(c);
      c = NULL;
    }
    if (rc != 0)
      sleep_ms(10);
  }
  ck_assert_msg(rc == 0, "not served after the flood: %s", shmv_strerror(rc));
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);

  f = fopen(logpath, "r");
  ck_assert_ptr_nonnull(f);
  while (fgets(line, sizeof line, f) != NULL)
    if (strstr(line, "shedding a connection") != NULL)
      lines++;
  fclose(f);
  fprintf(stderr, "test-dos: %d connections against %d descriptors: %ld shedding lines in %ld s\n",
          SHED_CONNS, SHED_NOFILE, lines, (long)(t1.tv_sec - t0.tv_sec) + 1);
  ck_assert_int_gt(lines, 0); /* it did run out */
  ck_assert_msg(lines <= 10 * ((long)(t1.tv_sec - t0.tv_sec) + 2), "%ld shedding lines in %ld s",
                lines, (long)(t1.tv_sec - t0.tv_sec) + 1);
  unlink(logpath);
  unlink(wrapper);
}
END_TEST

/* ---- refused connections, in numbers ---- */

#define REFUSED_CONNS 300
#define REFUSED_WAIT  64 /* refused connections the daemon keeps for their answer */

static bool closed_by_daemon(int sock) {
  struct pollfd pfd = { .fd = sock, .events = POLLRDHUP };

  return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP)) != 0;
}

/* As nobody, over its per-uid limit of 10: of REFUSED_CONNS silent
 * connections the daemon keeps at most REFUSED_WAIT beyond the 10 it took
 * (closing the rest at once), and closes those after --frame-timeout. */
static int refused_flooder(void *arg) {
  int socks[REFUSED_CONNS], closed = 0;

  (void)arg;
  for (int i = 0; i < REFUSED_CONNS; i++) {
    socks[i] = harness_raw_connect(&d);
    CHILD_CHECK(socks[i] >= 0);
  }
  sleep_ms(300); /* let the daemon accept them all */
  for (int i = 0; i < REFUSED_CONNS; i++)
    closed += closed_by_daemon(socks[i]);
  fprintf(stderr, "test-dos: %d of %d connections over the per-uid limit closed at once\n", closed,
          REFUSED_CONNS);
  CHILD_CHECK(closed >= REFUSED_CONNS - 10 - REFUSED_WAIT);
  sleep_ms(2500); /* past --frame-timeout 1 and a sweep */
  closed = 0;
  for (int i = 0; i < REFUSED_CONNS; i++)
    closed += closed_by_daemon(socks[i]);
  fprintf(stderr, "test-dos: %d closed after the frame timeout\n", closed);
  CHILD_CHECK(closed == REFUSED_CONNS - 10);
  for (int i = 0; i < REFUSED_CONNS; i++)
    close(socks[i]);
  return 0;
}

START_TEST(refused_connections_bounded) {
  static const char *const args[] = { "--max-clients-per-uid", "10", "--frame-timeout", "1", NULL };
  struct rlimit rl;

  if (!is_root("refused_connections_bounded"))
    return;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < REFUSED_CONNS + 64) {
    rl.rlim_cur = rl.rlim_max < REFUSED_CONNS + 64 ? rl.rlim_max : REFUSED_CONNS + 64;
    setrlimit(RLIMIT_NOFILE, &rl); /* inherited by the attacker */
  }
  ck_assert_msg(rl.rlim_cur >= REFUSED_CONNS + 64, "RLIMIT_NOFILE too low for this test");
  harness_daemon_start(&d, args);
  open_socket_to_all();
  ATTACK_OK(harness_run_as(NOBODY, NOBODY, refused_flooder, NULL), "refused connections");
  {
    shmv_client *c;
    shmv_status_info st;

    ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
    ck_assert_int_eq(shmv_status(c, &st), 0);
    shmv_disconnect(c);
  }
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* ---- one uid's quota is not another's ---- */

/* uid STRANGER takes all its quotas (segments, bytes, views) and holds
 * them until told. */
static int quota_hog(void *arg) {
  int *p = arg;
  shmv_client *c;
  shmv_view *v;
  char b;

  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_create(c, "hog1", 32768, 0644) == 0);
  CHILD_CHECK(shmv_create(c, "hog2", 32768, 0644) == 0);
  CHILD_CHECK(shmv_create(c, "hog3", 1, 0644) == -EDQUOT); /* segments */
  CHILD_CHECK(shmv_resize(c, "hog2", 65536) == -EDQUOT);   /* bytes */
  for (int i = 0; i < 4; i++)
    CHILD_CHECK(shmv_view_open(c, "hog1", 0, 1, 0, &v) == 0);
  CHILD_CHECK(shmv_view_open(c, "hog1", 0, 1, 0, &v) == -EDQUOT); /* views */
  CHILD_CHECK(write(p[1], "r", 1) == 1);
  CHILD_CHECK(read(p[0], &b, 1) == 1);
  shmv_disconnect(c);
  return 0;
}

/* Another uid, beside the hog, has its whole share; a view of the hog's
 * segment is charged to it, not to the hog. */
static int quota_fair(void *arg) {
  shmv_client *c;
  shmv_view *v;
  shmv_status_info st;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_create(c, "mine1", 32768, 0600) == 0);
  CHILD_CHECK(shmv_create(c, "mine2", 32768, 0600) == 0);
  CHILD_CHECK(shmv_view_open(c, "hog1", 0, 1, 0, &v) == 0);
  for (int i = 0; i < 3; i++)
    CHILD_CHECK(shmv_view_open(c, "mine1", 0, 1, 0, &v) == 0);
  CHILD_CHECK(shmv_view_open(c, "mine2", 0, 1, 0, &v) == -EDQUOT);
  CHILD_CHECK(shmv_status(c, &st) == 0);
  CHILD_CHECK(st.used_bytes == 65536);
  CHILD_CHECK(shmv_unlink(c, "mine1") == 0 && shmv_unlink(c, "mine2") == 0);
  shmv_disconnect(c);
  return 0;
}

START_TEST(quota_per_uid) {
  static const char *const args[] = {
    "--quota-segments", "2", "--quota-bytes", "64K", "--quota-views", "4", NULL
  };
  int to_parent[2], to_child[2], p[2];
  char b;
  pid_t hog;
  shmv_client *c;
  shmv_view *v;

  if (!is_root("quota_per_uid"))
    return;
  harness_daemon_start(&d, args);
  open_socket_to_all();
  ck_assert_int_eq(pipe(to_parent), 0);
  ck_assert_int_eq(pipe(to_child), 0);
  p[0] = to_child[0];
  p[1] = to_parent[1];
  hog = spawn(STRANGER, quota_hog, p);
  /* The child's ends: a child that fails before it is ready is an EOF. */
  close(to_parent[1]);
  close(to_child[0]);
  ck_assert_msg(read(to_parent[0], &b, 1) == 1, "the attacker failed before it was ready");

  ATTACK_OK(harness_run_as(NOBODY, NOBODY, quota_fair, NULL), "nobody beside the hog");
  /* Root too (quotas apply to it as to anyone, its own). */
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "root1", 65536, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "root1", 0, 1, 0, &v), 0);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_unlink(c, "root1"), 0);

  ck_assert_int_eq(write(to_child[1], "g", 1), 1);
  expect_child_ok(hog, "the quota hog");
  close(to_parent[0]);
  close(to_child[1]);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("dos");
  TCase *tc = tcase_create("dos");

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, fds_in_flight);
  tcase_add_test(tc, too_many_refs);
  tcase_add_test(tc, half_frames);
  tcase_add_test(tc, idle_flood_per_uid);
  tcase_add_test(tc, who_pays);
  tcase_add_test(tc, default_limits);
  tcase_add_test(tc, truncate_repaired);
  tcase_add_test(tc, quota_per_uid);
  tcase_add_test(tc, stalls_by_another_uid);
  tcase_add_test(tc, emfile_shed_by_another_uid);
  tcase_add_test(tc, refused_connections_bounded);
  suite_add_tcase(s, tc);
  return harness_main(s);
}

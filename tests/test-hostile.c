/* SPDX-License-Identifier: MIT */
/*
 * test-hostile.c: clients that break the protocol, stall or die.
 *
 * Raw sockets send what the library never would: garbage, oversize and
 * empty frames, wrong types, unknown ops, half frames, descriptors, and
 * floods of requests never read. Each offender gets an error answer (and
 * for broken framing, a hang-up); the daemon keeps serving everyone else.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "fixture-client.h"
#include "harness.h"
#include "proto.h"
#include "shmview.h"

/* The daemon still answers a well-behaved client. */
static void assert_serving(void) {
  shmv_status_info st;
  shmv_client *fresh;

  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_int_eq(shmv_connect(d.socket, &fresh), 0);
  ck_assert_int_eq(shmv_status(fresh, &st), 0);
  shmv_disconnect(fresh);
}

static void send_all(int fd, const void *buf, size_t len) {
  const char *p = buf;

  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

    ck_assert_int_gt(n, 0);
    p += n;
    len -= (size_t)n;
  }
}

/* A frame around an arbitrary payload. */
static void send_frame(int fd, const void *payload, uint32_t len) {
  uint8_t hdr[PROTO_HEADER_SIZE];

  proto_frame_header(hdr, len);
  send_all(fd, hdr, sizeof hdr);
  if (len > 0)
    send_all(fd, payload, len);
}

static void send_request(int fd, const struct proto_request *req) {
  msgpack_sbuffer sb;

  msgpack_sbuffer_init(&sb);
  ck_assert_int_eq(proto_request_encode(req, PROTO_FRAME_MAX_DEFAULT, &sb), 0);
  send_all(fd, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

/* Read one response; *got_fd (if non-NULL) receives a passed descriptor.
 * Returns 0, or -1 at EOF before a whole frame. */
static int read_response(int fd, enum proto_op op, struct proto_response *resp, int *got_fd) {
  static struct proto_reader rd;
  static int rd_sock = -1;
  struct proto_frame f;

  if (rd_sock != fd) {
    if (rd_sock >= 0)
      proto_reader_free(&rd);
    proto_reader_init(&rd, PROTO_FRAME_MAX_DEFAULT, true);
    rd_sock = fd;
  }
  if (got_fd != NULL)
    *got_fd = -1;
  while (proto_reader_get(&rd, &f) == 0) {
    if (proto_reader_read(&rd, fd) <= 0) {
      proto_reader_free(&rd);
      rd_sock = -1;
      return -1;
    }
  }
  if (got_fd != NULL)
    *got_fd = f.fd;
  else if (f.fd >= 0)
    close(f.fd);
  ck_assert_int_eq(proto_response_decode(f.payload, f.len, op, resp), 0);
  return 0;
}

static void expect_error(int fd, uint64_t id, int code) {
  struct proto_response resp;

  ck_assert_int_eq(read_response(fd, PROTO_OP_NONE, &resp, NULL), 0);
  ck_assert_uint_eq(resp.id, id);
  ck_assert_int_eq(resp.err, code);
  ck_assert_int_gt(strlen(resp.msg), 0);
}

static void expect_hangup(int fd) {
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  char b;

  ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
  ck_assert_int_eq(recv(fd, &b, 1, 0), 0);
}

START_TEST(garbage_payload) {
  int fd = harness_raw_connect(&d);
  static const uint8_t junk[] = { 0xc1, 0xc1, 0xc1, 0xc1, 0xff, 0x00, 0x42 };

  send_frame(fd, junk, sizeof junk);
  expect_error(fd, 0, EPROTO);
  expect_hangup(fd);
  close(fd);
  assert_serving();
}
END_TEST

START_TEST(oversize_frame) {
  int fd = harness_raw_connect(&d);
  uint8_t hdr[4] = { 0x7f, 0xff, 0xff, 0xff };

  send_all(fd, hdr, sizeof hdr);
  expect_error(fd, 0, EMSGSIZE);
  expect_hangup(fd);
  close(fd);
  /* One byte over the limit is refused too. */
  fd = harness_raw_connect(&d);
  proto_frame_header(hdr, PROTO_FRAME_MAX_DEFAULT + 1);
  send_all(fd, hdr, sizeof hdr);
  expect_error(fd, 0, EMSGSIZE);
  expect_hangup(fd);
  close(fd);
  assert_serving();
}
END_TEST

START_TEST(empty_frame_and_non_map) {
  int fd = harness_raw_connect(&d);
  static const uint8_t array[] = { 0x92, 0x01, 0x02 }; /* [1, 2] */
  static const uint8_t trailing[] = { 0x80, 0x80 };    /* {} {} */

  send_frame(fd, NULL, 0);
  expect_error(fd, 0, EPROTO);
  expect_hangup(fd);
  close(fd);

  fd = harness_raw_connect(&d);
  send_frame(fd, array, sizeof array);
  expect_error(fd, 0, EPROTO);
  expect_hangup(fd);
  close(fd);

  fd = harness_raw_connect(&d);
  send_frame(fd, trailing, sizeof trailing);
  expect_error(fd, 0, EPROTO);
  expect_hangup(fd);
  close(fd);
  assert_serving();
}
END_TEST

/* Pack a map of n string keys with the values the callback writes. */
static void send_packed(int fd, void (*fill)(msgpack_packer *pk)) {
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  fill(&pk);
  send_frame(fd, sb.data, (uint32_t)sb.size);
  msgpack_sbuffer_destroy(&sb);
}

static void key(msgpack_packer *pk, const char *k) {
  msgpack_pack_str_with_body(pk, k, strlen(k));
}

static void name_is_int(msgpack_packer *pk) {
  msgpack_pack_map(pk, 4);
  key(pk, "id"), msgpack_pack_uint64(pk, 5);
  key(pk, "op"), key(pk, "create");
  key(pk, "name"), msgpack_pack_int(pk, 123);
  key(pk, "size"), msgpack_pack_uint64(pk, 1);
}

static void unknown_op(msgpack_packer *pk) {
  msgpack_pack_map(pk, 2);
  key(pk, "id"), msgpack_pack_uint64(pk, 6);
  key(pk, "op"), key(pk, "frobnicate");
}

static void open_without_name(msgpack_packer *pk) {
  msgpack_pack_map(pk, 2);
  key(pk, "id"), msgpack_pack_uint64(pk, 7);
  key(pk, "op"), key(pk, "open");
}

static void traversal_name(msgpack_packer *pk) {
  msgpack_pack_map(pk, 4);
  key(pk, "id"), msgpack_pack_uint64(pk, 8);
  key(pk, "op"), key(pk, "create");
  key(pk, "name"), key(pk, "../../etc/x");
  key(pk, "size"), msgpack_pack_uint64(pk, 1);
}

static void negative_size(msgpack_packer *pk) {
  msgpack_pack_map(pk, 4);
  key(pk, "id"), msgpack_pack_uint64(pk, 9);
  key(pk, "op"), key(pk, "create");
  key(pk, "name"), key(pk, "neg");
  key(pk, "size"), msgpack_pack_int64(pk, -1);
}

static void op_is_nil(msgpack_packer *pk) {
  msgpack_pack_map(pk, 2);
  key(pk, "id"), msgpack_pack_uint64(pk, 10);
  key(pk, "op"), msgpack_pack_nil(pk);
}

START_TEST(bad_requests_keep_connection) {
  int fd = harness_raw_connect(&d);
  struct proto_request req = { .id = 11, .op = PROTO_OP_STATUS };
  struct proto_response resp;

  send_packed(fd, name_is_int);
  expect_error(fd, 5, EINVAL);
  send_packed(fd, unknown_op);
  expect_error(fd, 6, EOPNOTSUPP);
  send_packed(fd, open_without_name);
  expect_error(fd, 7, EINVAL);
  send_packed(fd, traversal_name);
  expect_error(fd, 8, EINVAL);
  send_packed(fd, negative_size);
  expect_error(fd, 9, EINVAL);
  send_packed(fd, op_is_nil);
  expect_error(fd, 10, EINVAL);
  /* Still the same connection, still served. */
  send_request(fd, &req);
  ck_assert_int_eq(read_response(fd, PROTO_OP_STATUS, &resp, NULL), 0);
  ck_assert_uint_eq(resp.id, 11);
  ck_assert_int_eq(resp.err, 0);
  ck_assert_uint_eq(resp.u.status.segments, 0);
  ck_assert_int_eq(harness_shm_count(d.prefix), 0);
  close(fd);
}
END_TEST

START_TEST(half_frame_stall_and_hangup) {
  int stall = harness_raw_connect(&d), quit = harness_raw_connect(&d);
  uint8_t hdr[4];
  static const uint8_t part[10] = { 0x84 };

  proto_frame_header(hdr, 100);
  send_all(stall, hdr, sizeof hdr);
  send_all(stall, part, sizeof part);
  send_all(quit, hdr, 2); /* half a header */
  close(quit);
  /* The stalled client costs the others nothing. */
  for (int i = 0; i < 100; i++)
    ck_assert_int_eq(shmv_create(c, "s", 1, 0600), i == 0 ? 0 : -EEXIST);
  assert_serving();
  close(stall);
  ck_assert_int_eq(shmv_unlink(c, "s"), 0);
}
END_TEST

static int count_fds(pid_t pid) {
  char path[64];
  DIR *dir;
  int n = 0;

  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  dir = opendir(path);
  ck_assert_ptr_nonnull(dir);
  while (readdir(dir) != NULL)
    n++;
  closedir(dir);
  return n;
}

/* The daemon never keeps a descriptor a client sends it. */
START_TEST(passed_fds_are_closed) {
  int fd = harness_raw_connect(&d);
  int before, after;
  msgpack_sbuffer sb;
  struct proto_response resp;

  /* Settle: one round trip so the connection's own fd is counted. */
  {
    struct proto_request req = { .id = 1, .op = PROTO_OP_STATUS };

    send_request(fd, &req);
    ck_assert_int_eq(read_response(fd, PROTO_OP_STATUS, &resp, NULL), 0);
  }
  before = count_fds(d.pid);
  for (uint64_t i = 2; i < 22; i++) {
    struct proto_request req = { .id = i, .op = PROTO_OP_STATUS };
    int extra = open("/dev/null", O_RDONLY);

    msgpack_sbuffer_init(&sb);
    ck_assert_int_eq(proto_request_encode(&req, PROTO_FRAME_MAX_DEFAULT, &sb), 0);
    ck_assert_int_eq(proto_send(fd, sb.data, sb.size, extra), (ssize_t)sb.size);
    msgpack_sbuffer_destroy(&sb);
    close(extra);
    ck_assert_int_eq(read_response(fd, PROTO_OP_STATUS, &resp, NULL), 0);
    ck_assert_uint_eq(resp.id, i);
  }
  after = count_fds(d.pid);
  ck_assert_int_eq(after, before);
  close(fd);
}
END_TEST

/* Many requests in one write are all answered, in order. */
START_TEST(pipelined_requests) {
  int fd = harness_raw_connect(&d);
  msgpack_sbuffer all;
  struct proto_response resp;

  msgpack_sbuffer_init(&all);
  for (uint64_t i = 1; i <= 200; i++) {
    struct proto_request req = { .id = i, .op = PROTO_OP_STATUS };
    msgpack_sbuffer one;

    msgpack_sbuffer_init(&one);
    ck_assert_int_eq(proto_request_encode(&req, PROTO_FRAME_MAX_DEFAULT, &one), 0);
    msgpack_sbuffer_write(&all, one.data, one.size);
    msgpack_sbuffer_destroy(&one);
  }
  send_all(fd, all.data, all.size);
  msgpack_sbuffer_destroy(&all);
  for (uint64_t i = 1; i <= 200; i++) {
    ck_assert_int_eq(read_response(fd, PROTO_OP_STATUS, &resp, NULL), 0);
    ck_assert_uint_eq(resp.id, i);
    ck_assert_int_eq(resp.err, 0);
  }
  close(fd);
}
END_TEST

/* A client that floods requests and never reads stalls only itself. */
START_TEST(flood_without_reading) {
  int fd = harness_raw_connect(&d);
  msgpack_sbuffer sb;
  struct proto_request req = { .id = 1, .op = PROTO_OP_LIST };
  size_t sent = 0;
  int fl = fcntl(fd, F_GETFL);

  ck_assert_int_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
  msgpack_sbuffer_init(&sb);
  ck_assert_int_eq(proto_request_encode(&req, PROTO_FRAME_MAX_DEFAULT, &sb), 0);
  /* Write until the daemon stops reading and the socket fills. */
  for (int i = 0; i < 200000; i++) {
    ssize_t n = send(fd, sb.data, sb.size, MSG_NOSIGNAL);

    if (n < 0) {
      ck_assert_int_eq(errno, EAGAIN);
      break;
    }
    sent += (size_t)n;
  }
  msgpack_sbuffer_destroy(&sb);
  ck_assert_int_gt(sent, 0);
  assert_serving();
  for (int i = 0; i < 50; i++)
    ck_assert_int_eq(shmv_create(c, "f", 1, 0600), i == 0 ? 0 : -EEXIST);
  close(fd);
  assert_serving();
  ck_assert_int_eq(shmv_unlink(c, "f"), 0);
}
END_TEST

/* ...and one that reads nothing for --send-timeout is dropped, leases and
 * all. */
START_TEST(never_reading_client_dropped) {
  static const char *const args[] = { "--send-timeout", "1", NULL };
  struct harness_daemon strict;
  shmv_client *good;
  shmv_status_info st;
  shmv_view *v;
  msgpack_sbuffer sb;
  struct proto_request req = { .id = 1, .op = PROTO_OP_LIST };
  int fd, fl;

  harness_daemon_start(&strict, args);
  ck_assert_int_eq(shmv_connect(strict.socket, &good), 0);
  ck_assert_int_eq(shmv_create(good, "s", 4096, 0600), 0);
  fd = harness_raw_connect(&strict);
  fl = fcntl(fd, F_GETFL);
  ck_assert_int_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
  msgpack_sbuffer_init(&sb);
  ck_assert_int_eq(proto_request_encode(&req, PROTO_FRAME_MAX_DEFAULT, &sb), 0);
  /* Keep the daemon's answers coming until they back up in its queue;
   * it drops us about a second after that. */
  for (int i = 0; i < 10000; i++) {
    if (send(fd, sb.data, sb.size, MSG_NOSIGNAL) >= 0)
      continue;
    if (errno != EAGAIN)
      break; /* dropped */
    usleep(1000);
  }
  msgpack_sbuffer_destroy(&sb);
  ck_assert_int_eq(shmv_view_open(good, "s", 0, 1, 0, &v), 0);
  for (int i = 0; i < 500; i++) {
    ck_assert_int_eq(shmv_status(good, &st), 0);
    if (st.clients == 1)
      break;
    usleep(10 * 1000);
  }
  ck_assert_uint_eq(st.clients, 1);
  ck_assert_uint_eq(st.views, 1); /* the good client's, untouched */
  shmv_view_release(v);
  close(fd);
  ck_assert_int_eq(shmv_unlink(good, "s"), 0);
  shmv_disconnect(good);
  ck_assert_int_eq(harness_daemon_stop(&strict), 0);
}
END_TEST

/* A lease belongs to the connection that took it. */
START_TEST(foreign_lease_release) {
  int a = harness_raw_connect(&d), b = harness_raw_connect(&d);
  struct proto_request open_req = {
    .id = 1, .op = PROTO_OP_OPEN, .offset = 0, .length = PROTO_TO_END, .writable = false
  };
  struct proto_request rel = { .id = 2, .op = PROTO_OP_RELEASE };
  struct proto_response resp;
  int got;

  ck_assert_int_eq(shmv_create(c, "leased", 100, 0600), 0);
  snprintf(open_req.name, sizeof open_req.name, "leased");
  send_request(a, &open_req);
  ck_assert_int_eq(read_response(a, PROTO_OP_OPEN, &resp, &got), 0);
  ck_assert_int_eq(resp.err, 0);
  ck_assert_int_ge(got, 0);
  /* Read-only: the descriptor itself refuses writing. */
  ck_assert_int_eq(fcntl(got, F_GETFL) & O_ACCMODE, O_RDONLY);
  close(got);

  rel.lease = resp.u.view.lease;
  send_request(b, &rel);
  expect_error(b, 2, ENOENT);
  ck_assert_int_eq(shmv_resize(c, "leased", 1), -EBUSY);
  send_request(a, &rel);
  ck_assert_int_eq(read_response(a, PROTO_OP_RELEASE, &resp, NULL), 0);
  ck_assert_int_eq(resp.err, 0);
  ck_assert_int_eq(shmv_resize(c, "leased", 1), 0);
  close(a);
  close(b);
  ck_assert_int_eq(shmv_unlink(c, "leased"), 0);
}
END_TEST

/* Clients dying mid-request, in numbers. */
START_TEST(clients_die_mid_request) {
  shmv_status_info st;

  for (int i = 0; i < 30; i++) {
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      int fd = harness_raw_connect(&d);
      uint8_t hdr[4];

      proto_frame_header(hdr, 50);
      if (fd >= 0 && send(fd, hdr, sizeof hdr, MSG_NOSIGNAL) < 0)
        _exit(1);
      _exit(0); /* die with the frame half sent */
    }
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
  }
  for (int i = 0; i < 200; i++) {
    ck_assert_int_eq(shmv_status(c, &st), 0);
    if (st.clients == 1)
      break;
    usleep(10 * 1000);
  }
  ck_assert_uint_eq(st.clients, 1);
}
END_TEST

/* ---- the same, played by other uids ----
 *
 * Root (the fixture's client) is the victim; nobody and a uid with no
 * passwd entry are real attacker processes (harness_run_as) that speak the
 * raw protocol. No ck_assert in them: they report through their exit
 * status. */

static const uid_t strangers[] = { HARNESS_NOBODY, HARNESS_NO_PASSWD };

/* One request and its answer on a raw socket; *fd (when non-NULL) gets
 * the descriptor that came with it. Returns 0, or -1 (no answer). */
static int child_call(int sock, const struct proto_request *req, struct proto_response *resp,
                      int *fd) {
  msgpack_sbuffer sb;
  struct proto_reader rd;
  struct proto_frame f;
  int got = 0, rc = -1;

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

static int child_open(int sock, const char *name, bool writable, struct proto_response *resp,
                      int *fd) {
  struct proto_request req = {
    .id = 1, .op = PROTO_OP_OPEN, .length = PROTO_TO_END, .writable = writable
  };

  snprintf(req.name, sizeof req.name, "%s", name);
  *fd = -1;
  return child_call(sock, &req, resp, fd);
}

/* With the read-only descriptor of root's 0644 segment in hand, bypassing
 * the library: nothing it allows writes or resizes the object. */
static int escalate_descriptor(void *arg) {
  int sock = harness_raw_connect(&d), fd, again;
  struct proto_response resp;
  char path[64];
  void *p;

  (void)arg;
  CHILD_CHECK(sock >= 0);
  /* Asking for write is refused, with no descriptor. */
  CHILD_CHECK(child_open(sock, "pub", true, &resp, &fd) == 0);
  CHILD_CHECK(resp.err == EACCES && fd < 0);
  CHILD_CHECK(child_open(sock, "pub", false, &resp, &fd) == 0);
  CHILD_CHECK(resp.err == 0 && fd >= 0);
  CHILD_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
  /* The access mode cannot be changed afterwards ... */
  (void)fcntl(fd, F_SETFL, O_RDWR | O_APPEND);
  CHILD_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
  CHILD_CHECK(write(fd, "x", 1) == -1 && errno == EBADF);
  CHILD_CHECK(pwrite(fd, "x", 1, 0) == -1 && errno == EBADF);
  CHILD_CHECK(ftruncate(fd, 0) == -1 && (errno == EINVAL || errno == EBADF));
  CHILD_CHECK(ftruncate(fd, 1 << 20) == -1 && (errno == EINVAL || errno == EBADF));
  CHILD_CHECK(posix_fallocate(fd, 0, 1 << 20) == EBADF);
  /* ... nor the object's mode or owner, which are the daemon's ... */
  CHILD_CHECK(fchmod(fd, 0666) == -1 && errno == EPERM);
  CHILD_CHECK(fchown(fd, getuid(), getgid()) == -1 && errno == EPERM);
  /* ... nor a writable shared mapping made of it ... */
  p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHILD_CHECK(p == MAP_FAILED && errno == EACCES);
  p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  CHILD_CHECK(p != MAP_FAILED);
  CHILD_CHECK(mprotect(p, 4096, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
  munmap(p, 4096);
  /* ... nor reopening it for writing through /proc. */
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  again = open(path, O_RDWR | O_CLOEXEC);
  CHILD_CHECK(again == -1 && errno == EACCES);
  snprintf(path, sizeof path, "/dev/fd/%d", fd);
  again = open(path, O_WRONLY | O_CLOEXEC);
  CHILD_CHECK(again == -1 && errno == EACCES);
  close(fd);
  /* A 0600 segment gives no descriptor at all. */
  CHILD_CHECK(child_open(sock, "secret", false, &resp, &fd) == 0);
  CHILD_CHECK(resp.err == EACCES && fd < 0);
  close(sock);
  return 0;
}

START_TEST(readonly_descriptor_as_strangers) {
  shmv_view *v;
  shmv_segment_info info;

  if (!harness_can_attack("test-hostile", "readonly_descriptor_as_strangers"))
    return;
  harness_open_to_all(&d);
  ck_assert_int_eq(shmv_create(c, "pub", 8192, 0644), 0);
  ck_assert_int_eq(shmv_create(c, "secret", 4096, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "pub", 0, 5, SHMV_WRITABLE, &v), 0);
  memcpy(shmv_view_data(v), "hello", 5);
  shmv_view_release(v);
  for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++)
    ATTACK_OK(harness_run_as(strangers[i], strangers[i], escalate_descriptor, NULL),
              "read-only descriptor");
  ck_assert_int_eq(shmv_stat(c, "pub", &info), 0);
  ck_assert_uint_eq(info.size, 8192);
  ck_assert_uint_eq(info.mode, 0644);
  ck_assert_int_eq(shmv_view_open(c, "pub", 0, SHMV_TO_END, 0, &v), 0);
  ck_assert_mem_eq(shmv_view_data(v), "hello", 5);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_unlink(c, "pub"), 0);
  ck_assert_int_eq(shmv_unlink(c, "secret"), 0);
}
END_TEST

/* Another uid guesses lease ids: a release names a lease of its own
 * connection or nothing, so root's views (and its ephemeral segment) stay.
 * The stranger opens no view of its own here. */
static int release_guesses(void *arg) {
  uint64_t top = *(const uint64_t *)arg + 64;
  int sock = harness_raw_connect(&d);
  struct proto_request rel = { .op = PROTO_OP_RELEASE };
  struct proto_response resp;

  CHILD_CHECK(sock >= 0);
  for (uint64_t lease = 0; lease <= top; lease++) {
    rel.id = lease + 1;
    rel.lease = lease;
    CHILD_CHECK(child_call(sock, &rel, &resp, NULL) == 0);
    if (resp.err != ENOENT)
      fprintf(stderr, "test-hostile: uid %d released lease %llu: %d\n", (int)getuid(),
              (unsigned long long)lease, resp.err);
    CHILD_CHECK(resp.err == ENOENT);
  }
  close(sock);
  return 0;
}

START_TEST(foreign_lease_release_as_strangers) {
  int a = harness_raw_connect(&d), got;
  struct proto_request open_req = {
    .id = 1, .op = PROTO_OP_OPEN, .offset = 0, .length = PROTO_TO_END, .writable = false
  };
  struct proto_response resp;
  shmv_segment_info info;
  uint64_t leases[2];

  if (!harness_can_attack("test-hostile", "foreign_lease_release_as_strangers"))
    return;
  harness_open_to_all(&d);
  ck_assert_int_eq(shmv_create(c, "held", 100, 0644), 0);
  ck_assert_int_eq(shmv_create_flags(c, "eph", 100, 0644, SHMV_CREATE_EPHEMERAL), 0);
  for (int i = 0; i < 2; i++) {
    snprintf(open_req.name, sizeof open_req.name, "%s", i == 0 ? "held" : "eph");
    send_request(a, &open_req);
    ck_assert_int_eq(read_response(a, PROTO_OP_OPEN, &resp, &got), 0);
    ck_assert_int_eq(resp.err, 0);
    close(got);
    leases[i] = resp.u.view.lease;
  }
  for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++)
    ATTACK_OK(harness_run_as(strangers[i], strangers[i], release_guesses, &leases[1]),
              "guessed releases");
  /* Root's leases are live: the segment cannot shrink, the ephemeral one
   * is there with its view. */
  ck_assert_int_eq(shmv_resize(c, "held", 1), -EBUSY);
  ck_assert_int_eq(shmv_stat(c, "eph", &info), 0);
  ck_assert_uint_eq(info.views, 1);
  close(a);
  ck_assert_int_eq(shmv_unlink(c, "held"), 0);
}
END_TEST

/* Valid requests of every op, as the library would send them, for the
 * mutator to break. */
static size_t encode_seeds(msgpack_sbuffer *seeds, size_t cap) {
  static const struct proto_request base[] = {
    { .op = PROTO_OP_HELLO, .version = 1 },
    { .op = PROTO_OP_CREATE, .name = "x", .size = 4096, .mode = 0666 },
    { .op = PROTO_OP_OPEN, .name = "pub", .length = PROTO_TO_END, .writable = true },
    { .op = PROTO_OP_OPEN, .name = "secret", .length = 10 },
    { .op = PROTO_OP_RELEASE, .lease = 1 },
    { .op = PROTO_OP_LIST, .unlinked = true },
    { .op = PROTO_OP_STAT, .name = "secret", .holders = true },
    { .op = PROTO_OP_UNLINK, .name = "secret" },
    { .op = PROTO_OP_RESIZE, .name = "pub", .size = 1 },
    { .op = PROTO_OP_STATUS },
    { .op = PROTO_OP_FREEZE, .name = "pub" },
    { .op = PROTO_OP_CREATE_OPEN, .name = "y", .size = 4096, .mode = 0600, .flags = 1 },
  };
  size_t n = 0;

  for (size_t i = 0; i < sizeof base / sizeof base[0] && n < cap; i++, n++) {
    struct proto_request req = base[i];

    req.id = i + 1;
    msgpack_sbuffer_init(&seeds[n]);
    if (proto_request_encode(&req, PROTO_FRAME_MAX_DEFAULT, &seeds[n]) != 0)
      return 0;
  }
  return n;
}

/* Send one frame and take its answer (and any descriptor) if one comes
 * within a second; returns false when the daemon hung up. A partial answer
 * left unread is drained with the next one: nothing is decoded. */
static bool fuzz_exchange(int sock, const uint8_t *frame, size_t len) {
  struct pollfd pfd = { .fd = sock, .events = POLLIN };
  char buf[4096], cbuf[CMSG_SPACE(4 * sizeof(int))];
  int wait_ms = 1000;

  if (send(sock, frame, len, MSG_NOSIGNAL) != (ssize_t)len)
    return false;
  while (poll(&pfd, 1, wait_ms) == 1) {
    struct iovec iov = { buf, sizeof buf };
    struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
    };
    ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

    if (n <= 0)
      return false;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
        for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++)
          close(((int *)CMSG_DATA(cm))[k]);
    wait_ms = 0;
  }
  return true;
}

#define FUZZ_FRAMES 2000

/* FUZZ_FRAMES broken requests: a valid one with bytes flipped, cut short,
 * stretched with junk, its header lying about its length, or plain junk;
 * on one connection until the daemon hangs up, then on a new one. */
static int fuzz_frames(void *arg) {
  msgpack_sbuffer seeds[16];
  size_t nseeds = encode_seeds(seeds, 16);
  unsigned seed = *(const unsigned *)arg;
  uint8_t frame[512];
  int sock = -1, hangups = 0;

  CHILD_CHECK(nseeds > 0);
  for (int i = 0; i < FUZZ_FRAMES; i++) {
    const msgpack_sbuffer *sb = &seeds[(size_t)rand_r(&seed) % nseeds];
    size_t len = sb->size;
    int kind = rand_r(&seed) % 6;

    if (sock < 0)
      sock = harness_raw_connect(&d);
    CHILD_CHECK(sock >= 0);
    memcpy(frame, sb->data, len);
    switch (kind) {
    case 0: /* flip up to 4 payload bytes */
    case 1:
      for (int k = rand_r(&seed) % 4; k >= 0; k--)
        frame[PROTO_HEADER_SIZE + (size_t)rand_r(&seed) % (len - PROTO_HEADER_SIZE)] =
            (uint8_t)rand_r(&seed);
      break;
    case 2: /* cut short, header adjusted */
      len = PROTO_HEADER_SIZE + 1 + (size_t)rand_r(&seed) % (len - PROTO_HEADER_SIZE);
      proto_frame_header(frame, (uint32_t)(len - PROTO_HEADER_SIZE));
      break;
    case 3: /* junk after a valid map */
      for (size_t k = 0, extra = 1 + (size_t)rand_r(&seed) % 64; k < extra; k++)
        frame[len++] = (uint8_t)rand_r(&seed);
      proto_frame_header(frame, (uint32_t)(len - PROTO_HEADER_SIZE));
      break;
    case 4: /* the header lies (the daemon waits, then hangs up, or refuses) */
      proto_frame_header(frame, (uint32_t)rand_r(&seed));
      break;
    default: /* junk */
      len = PROTO_HEADER_SIZE + 1 + (size_t)rand_r(&seed) % 200;
      for (size_t k = PROTO_HEADER_SIZE; k < len; k++)
        frame[k] = (uint8_t)rand_r(&seed);
      proto_frame_header(frame, (uint32_t)(len - PROTO_HEADER_SIZE));
      break;
    }
    if (kind == 4) {
      /* A lying header on a connection of its own, dropped at once: the
       * daemon may wait for the rest of the frame. */
      (void)!send(sock, frame, len, MSG_NOSIGNAL);
      close(sock);
      sock = -1;
      continue;
    }
    if (!fuzz_exchange(sock, frame, len)) {
      close(sock);
      sock = -1;
      hangups++;
    }
  }
  if (sock >= 0)
    close(sock);
  for (size_t k = 0; k < nseeds; k++)
    msgpack_sbuffer_destroy(&seeds[k]);
  fprintf(stderr, "test-hostile: uid %d sent %d broken frames (%d hang-ups)\n", (int)getuid(),
          FUZZ_FRAMES, hangups);
  return 0;
}

START_TEST(hostile_frames_as_strangers) {
  static const char *const limits[] = { "--max-segment-size", "64K", "--quota-bytes", "1M", NULL };
  shmv_view *v;
  shmv_segment_info info, *list;
  size_t n;

  if (!harness_can_attack("test-hostile", "hostile_frames_as_strangers"))
    return;
  /* A mutated create may ask for any size: the same daemon again, with
   * limits that keep what the strangers can make small. */
  kill(d.pid, SIGTERM);
  ck_assert_int_eq(waitpid(d.pid, NULL, 0), d.pid);
  d.pid = 0;
  harness_daemon_restart(&d, limits);
  harness_open_to_all(&d);
  ck_assert_int_eq(shmv_create(c, "pub", 8192, 0644), 0);
  ck_assert_int_eq(shmv_create(c, "secret", 4096, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "secret", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  memcpy(shmv_view_data(v), "s3cret", 6);
  shmv_view_release(v);
  for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++) {
    unsigned seed = 18u + (unsigned)i;

    ATTACK_OK(harness_run_as(strangers[i], strangers[i], fuzz_frames, &seed), "broken frames");
    ck_assert_msg(kill(d.pid, 0) == 0, "the daemon died of uid %d's frames", (int)strangers[i]);
  }
  /* Root is still served, and nothing of root's changed hands. */
  assert_serving();
  ck_assert_int_eq(shmv_stat(c, "secret", &info), 0);
  ck_assert_uint_eq(info.uid, 0);
  ck_assert_uint_eq(info.mode, 0600);
  ck_assert_uint_eq(info.size, 4096);
  ck_assert_int_eq(info.frozen, 0);
  ck_assert_int_eq(shmv_view_open(c, "secret", 0, SHMV_TO_END, 0, &v), 0);
  ck_assert_mem_eq(shmv_view_data(v), "s3cret", 6);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_stat(c, "pub", &info), 0);
  ck_assert_uint_eq(info.uid, 0);
  ck_assert_uint_eq(info.size, 8192);
  ck_assert_int_eq(info.frozen, 0);
  /* Whatever the strangers' frames created is theirs. */
  ck_assert_int_eq(shmv_list(c, &list, &n), 0);
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i].name, "pub") != 0 && strcmp(list[i].name, "secret") != 0)
      ck_assert_msg(list[i].uid == HARNESS_NOBODY || list[i].uid == HARNESS_NO_PASSWD,
                    "segment %s is uid %u's", list[i].name, (unsigned)list[i].uid);
  shmv_list_free(list);
}
END_TEST

/* Warnings about clients are logged at most 10 a second (docs/security.md),
 * whatever the client sends: another uid's broken frames must not become a
 * flood of log lines. */
#define LOG_FLOOD 300

static int log_flooder(void *arg) {
  const struct harness_daemon *h = arg;
  static const uint8_t junk[] = { 0xc1, 0xc1, 0xc1 };
  uint8_t frame[PROTO_HEADER_SIZE + sizeof junk];

  for (int i = 0; i < LOG_FLOOD; i++) {
    int fd = harness_raw_connect(h);
    size_t len = PROTO_HEADER_SIZE;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    char buf[512];

    CHILD_CHECK(fd >= 0);
    if (i % 3 == 0) { /* undecodable */
      proto_frame_header(frame, sizeof junk);
      memcpy(frame + PROTO_HEADER_SIZE, junk, sizeof junk);
      len += sizeof junk;
    } else if (i % 3 == 1) { /* too large */
      proto_frame_header(frame, PROTO_FRAME_MAX_DEFAULT + 1);
    } else { /* empty */
      proto_frame_header(frame, 0);
    }
    CHILD_CHECK(send(fd, frame, len, MSG_NOSIGNAL) == (ssize_t)len);
    while (poll(&pfd, 1, 2000) == 1 && recv(fd, buf, sizeof buf, 0) > 0)
      ; /* until the daemon hangs up */
    close(fd);
  }
  return 0;
}

START_TEST(client_warnings_rate_limited) {
  struct harness_daemon h;
  struct timespec t0, t1;
  char logpath[300], line[512];
  int log, saved;
  long secs, lines = 0;
  FILE *f;

  if (!harness_can_attack("test-hostile", "client_warnings_rate_limited"))
    return;
  /* A daemon of its own whose log we can read. */
  snprintf(logpath, sizeof logpath, "%s/warnings.log", d.dir);
  log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ck_assert_int_ge(log, 0);
  saved = dup(2);
  dup2(log, 2);
  harness_daemon_start(&h, NULL);
  dup2(saved, 2);
  close(saved);
  close(log);
  harness_open_to_all(&h);

  clock_gettime(CLOCK_MONOTONIC, &t0);
  ATTACK_OK(harness_run_as(HARNESS_NOBODY, HARNESS_NOBODY, log_flooder, &h), "log flood");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  ck_assert_int_eq(harness_daemon_stop(&h), 0);
  secs = (long)(t1.tv_sec - t0.tv_sec) + 1;

  f = fopen(logpath, "r");
  ck_assert_ptr_nonnull(f);
  while (fgets(line, sizeof line, f) != NULL)
    if (strstr(line, "client pid") != NULL)
      lines++;
  fclose(f);
  fprintf(stderr, "test-hostile: %d broken frames from nobody in about %ld s: %ld warning lines\n",
          LOG_FLOOD, secs, lines);
  /* At most 10 in each one-second window the flood touched. */
  ck_assert_msg(lines <= 10 * (secs + 1), "%ld warnings about one client's %d frames in %ld s",
                lines, LOG_FLOOD, secs);
}
END_TEST

static Suite *hostile_suite(void) {
  Suite *s = suite_create("hostile");
  TCase *tc = tcase_create("hostile");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, garbage_payload);
  tcase_add_test(tc, oversize_frame);
  tcase_add_test(tc, empty_frame_and_non_map);
  tcase_add_test(tc, bad_requests_keep_connection);
  tcase_add_test(tc, half_frame_stall_and_hangup);
  tcase_add_test(tc, passed_fds_are_closed);
  tcase_add_test(tc, pipelined_requests);
  tcase_add_test(tc, flood_without_reading);
  tcase_add_test(tc, never_reading_client_dropped);
  tcase_add_test(tc, foreign_lease_release);
  tcase_add_test(tc, clients_die_mid_request);
  tcase_add_test(tc, readonly_descriptor_as_strangers);
  tcase_add_test(tc, foreign_lease_release_as_strangers);
  tcase_add_test(tc, hostile_frames_as_strangers);
  tcase_add_test(tc, client_warnings_rate_limited);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  return harness_main(hostile_suite());
}

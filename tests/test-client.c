/* SPDX-License-Identifier: MIT */
/*
 * test-client.c: libshmview through its public API.
 *
 * "offline" needs no daemon: descriptors, names, error sentences, connect
 * failures (also against fake servers that misbehave). "daemon" runs each
 * test against its own real shmviewd ($SHMVIEWD, started by the harness)
 * and checks that it exits cleanly afterwards.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

#define FAILS(expr, code)                                                                     \
  do {                                                                                        \
    int rc_ = (expr);                                                                         \
    ck_assert_msg(rc_ == (code), "%s = %d (%s), expected %s", #expr, rc_, shmv_strerror(rc_), \
                  #code);                                                                     \
  } while (0)

/* ======================================================================
 * offline
 * ====================================================================== */

START_TEST(descriptor_parse_forms) {
  shmv_descriptor d;

  OK(shmv_descriptor_parse("frames:4096:1024:rw", &d));
  ck_assert_str_eq(d.name, "frames");
  ck_assert_uint_eq(d.offset, 4096);
  ck_assert_uint_eq(d.length, 1024);
  ck_assert_int_eq(d.writable, 1);

  OK(shmv_descriptor_parse("a", &d));
  ck_assert_str_eq(d.name, "a");
  ck_assert_uint_eq(d.offset, 0);
  ck_assert(d.length == SHMV_TO_END);
  ck_assert_int_eq(d.writable, 0);

  OK(shmv_descriptor_parse("a:7", &d));
  ck_assert_uint_eq(d.offset, 7);
  ck_assert(d.length == SHMV_TO_END);

  OK(shmv_descriptor_parse("a:7:", &d));
  ck_assert(d.length == SHMV_TO_END);
  OK(shmv_descriptor_parse("a:7:end", &d));
  ck_assert(d.length == SHMV_TO_END);
  OK(shmv_descriptor_parse("a:7::rw", &d));
  ck_assert(d.length == SHMV_TO_END);
  ck_assert_int_eq(d.writable, 1);
  OK(shmv_descriptor_parse("a:0:0:ro", &d));
  ck_assert_uint_eq(d.length, 0);
  ck_assert_int_eq(d.writable, 0);

  OK(shmv_descriptor_parse("A-b_c.9:18446744073709551614:1", &d));
  ck_assert_str_eq(d.name, "A-b_c.9");
  ck_assert(d.offset == (size_t)-2);

  char longname[SHMV_NAME_MAX + 1];
  memset(longname, 'n', SHMV_NAME_MAX);
  longname[SHMV_NAME_MAX] = '\0';
  OK(shmv_descriptor_parse(longname, &d));
  ck_assert_str_eq(d.name, longname);
}
END_TEST

START_TEST(descriptor_parse_malformed) {
  static const char *const bad[] = {
    "",
    ":",
    ":1:2",
    ".hidden:1:2",
    "a/b:1:2",
    "a b",
    "a:",
    "a:x",
    "a:0x10",
    "a: 1",
    "a:1 ",
    "a:+1",
    "a:-1",
    "a:1:-2",
    "a:1:+2",
    "a:1:2:rx",
    "a:1:2:",
    "a:1:2:RW",
    "a:1:2:rw:extra",
    "a:1:2:ro:",
    "a:99999999999999999999999",
    "a:18446744073709551616",
    "a:0:99999999999999999999",
    "a:1:ends",
    "a::2",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    shmv_descriptor d;
    memset(&d, 0x5a, sizeof d);
    int rc = shmv_descriptor_parse(bad[i], &d);
    ck_assert_msg(rc == -EINVAL, "parse(\"%s\") = %d", bad[i], rc);
  }
  char toolong[SHMV_NAME_MAX + 8];
  memset(toolong, 'n', SHMV_NAME_MAX + 1);
  strcpy(toolong + SHMV_NAME_MAX + 1, ":1:2");
  shmv_descriptor d;
  FAILS(shmv_descriptor_parse(toolong, &d), -EINVAL);
  FAILS(shmv_descriptor_parse(NULL, &d), -EINVAL);
}
END_TEST

START_TEST(descriptor_format_roundtrip) {
  static const struct {
    const char *in, *out;
  } cases[] = {
    { "frames:4096:1024:rw", "frames:4096:1024:rw" },
    { "a", "a:0:end:ro" },
    { "a:5", "a:5:end:ro" },
    { "a:5:", "a:5:end:ro" },
    { "a:5:end:rw", "a:5:end:rw" },
    { "x.y-z_1:0:0:ro", "x.y-z_1:0:0:ro" },
    { "a:007:010:ro", "a:7:10:ro" },
    { "a:18446744073709551614:1:rw", "a:18446744073709551614:1:rw" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    shmv_descriptor d, back;
    char buf[SHMV_DESCRIPTOR_MAX];
    OK(shmv_descriptor_parse(cases[i].in, &d));
    int n = shmv_descriptor_format(&d, buf, sizeof buf);
    ck_assert_int_eq(n, (int)strlen(cases[i].out));
    ck_assert_str_eq(buf, cases[i].out);
    OK(shmv_descriptor_parse(buf, &back));
    ck_assert_str_eq(back.name, d.name);
    ck_assert(back.offset == d.offset);
    ck_assert(back.length == d.length);
    ck_assert_int_eq(back.writable, d.writable);
  }

  /* The longest form fits SHMV_DESCRIPTOR_MAX exactly. */
  shmv_descriptor d;
  memset(&d, 0, sizeof d);
  memset(d.name, 'z', SHMV_NAME_MAX);
  d.offset = (size_t)-1;
  d.length = (size_t)-2;
  d.writable = 1;
  char buf[SHMV_DESCRIPTOR_MAX];
  int n = shmv_descriptor_format(&d, buf, sizeof buf);
  ck_assert_int_eq(n, SHMV_DESCRIPTOR_MAX - 1);
  FAILS(shmv_descriptor_format(&d, buf, sizeof buf - 1), -ENOSPC);
}
END_TEST

START_TEST(descriptor_format_nospace) {
  shmv_descriptor d;
  OK(shmv_descriptor_parse("abc:1:2:rw", &d)); /* "abc:1:2:rw": 10 chars */
  char buf[16];
  FAILS(shmv_descriptor_format(&d, buf, 10), -ENOSPC);
  FAILS(shmv_descriptor_format(&d, buf, 1), -ENOSPC);
  FAILS(shmv_descriptor_format(&d, NULL, 0), -ENOSPC);
  ck_assert_int_eq(shmv_descriptor_format(&d, buf, 11), 10);
  ck_assert_str_eq(buf, "abc:1:2:rw");

  /* A descriptor with a bad name is not written at all. */
  strcpy(d.name, ".bad");
  FAILS(shmv_descriptor_format(&d, buf, sizeof buf), -EINVAL);
}
END_TEST

START_TEST(name_check) {
  OK(shmv_name_check("a"));
  OK(shmv_name_check("frames"));
  OK(shmv_name_check("A.b-c_9"));
  OK(shmv_name_check("a."));
  char name[SHMV_NAME_MAX + 2];
  memset(name, 'q', SHMV_NAME_MAX);
  name[SHMV_NAME_MAX] = '\0';
  OK(shmv_name_check(name));
  name[SHMV_NAME_MAX] = 'q';
  name[SHMV_NAME_MAX + 1] = '\0';
  FAILS(shmv_name_check(name), -EINVAL);
  FAILS(shmv_name_check(""), -EINVAL);
  FAILS(shmv_name_check(".a"), -EINVAL);
  FAILS(shmv_name_check("a/b"), -EINVAL);
  FAILS(shmv_name_check("a:b"), -EINVAL);
  FAILS(shmv_name_check("a b"), -EINVAL);
  FAILS(shmv_name_check("\xc3\xa9"), -EINVAL);
  FAILS(shmv_name_check(NULL), -EINVAL);
}
END_TEST

START_TEST(strerror_sentences) {
  static const int codes[] = {
    0,      ENOENT,       EEXIST,     EACCES,   EPERM,  ERANGE,     EBUSY,
    EINVAL, ENOSPC,       EFBIG,      EMSGSIZE, EPROTO, EOPNOTSUPP, EPROTONOSUPPORT,
    EUSERS, ECONNREFUSED, ECONNRESET, ENOTCONN, ENOMEM, EDQUOT,     ENAMETOOLONG,
  };
  const char *generic = shmv_strerror(987654);
  ck_assert_ptr_nonnull(generic);
  ck_assert_str_eq(generic, "unknown error");
  ck_assert_ptr_nonnull(shmv_strerror(-2147483647 - 1));

  size_t n = sizeof codes / sizeof codes[0];
  for (size_t i = 0; i < n; i++) {
    const char *s = shmv_strerror(codes[i]);
    ck_assert_ptr_nonnull(s);
    ck_assert_msg(strlen(s) > 0, "empty sentence for %d", codes[i]);
    ck_assert_msg(strcmp(s, generic) != 0, "no sentence for %d", codes[i]);
    /* Hand-written, not libc's. */
    if (codes[i] != 0)
      ck_assert_msg(strcmp(s, strerror(codes[i])) != 0, "libc's sentence for %d: %s", codes[i], s);
    ck_assert_ptr_eq(shmv_strerror(-codes[i]), s);
    for (size_t j = 0; j < i; j++)
      ck_assert_msg(strcmp(s, shmv_strerror(codes[j])) != 0, "%d and %d share a sentence", codes[i],
                    codes[j]);
  }
  /* Other errno values still get a sentence. */
  const char *s = shmv_strerror(-EIO);
  ck_assert_ptr_nonnull(s);
  ck_assert(strlen(s) > 0);
}
END_TEST

START_TEST(default_socket_path) {
  char buf[256];
  setenv("SHMVIEW_SOCKET", "/some/where/x.sock", 1);
  OK(shmv_default_socket_path(buf, sizeof buf));
  ck_assert_str_eq(buf, "/some/where/x.sock");
  FAILS(shmv_default_socket_path(buf, 5), -ENAMETOOLONG);
  unsetenv("SHMVIEW_SOCKET");
  OK(shmv_default_socket_path(buf, sizeof buf));
  ck_assert(buf[0] == '/');
}
END_TEST

/* A private directory for sockets of the offline tests. */
static void temp_dir(char *buf, size_t cap) {
  const char *base = getenv("SHMVIEW_TEST_TMPDIR");
  if (!base || !*base || strlen(base) > 60) /* sun_path is short */
    base = "/tmp";
  snprintf(buf, cap, "%.60s/tc-XXXXXX", base);
  ck_assert_ptr_nonnull(mkdtemp(buf));
}

START_TEST(connect_missing_socket) {
  char dir[80], path[256];
  temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/nobody.sock", dir);
  shmv_client *c = (shmv_client *)&c;
  FAILS(shmv_connect(path, &c), -ENOENT);
  ck_assert_ptr_null(c);

  /* Through $SHMVIEW_SOCKET too. */
  setenv("SHMVIEW_SOCKET", path, 1);
  FAILS(shmv_connect(NULL, &c), -ENOENT);
  unsetenv("SHMVIEW_SOCKET");

  /* A socket nobody listens on. */
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  ck_assert_int_ge(s, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/deaf.sock", dir);
  ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
  FAILS(shmv_connect(sa.sun_path, &c), -ECONNREFUSED);
  close(s);
  unlink(sa.sun_path);

  /* A path longer than sun_path. */
  char longpath[300];
  memset(longpath, 'p', sizeof longpath - 1);
  longpath[0] = '/';
  longpath[sizeof longpath - 1] = '\0';
  FAILS(shmv_connect(longpath, &c), -ENAMETOOLONG);
  rmdir(dir);
}
END_TEST

/* A fake daemon that accepts one connection, reads the hello and answers
 * with `reply` (len bytes; NULL: hang up). */
struct fake {
  int lsock;
  const void *reply;
  size_t len;
};

static void *fake_serve(void *arg) {
  struct fake *f = arg;
  int s = accept(f->lsock, NULL, NULL);
  if (s < 0)
    return NULL;
  char buf[4096];
  (void)!read(s, buf, sizeof buf);
  if (f->reply)
    (void)!send(s, f->reply, f->len, MSG_NOSIGNAL);
  close(s);
  return NULL;
}

/* Connect to a fake daemon answering the hello with reply. */
static int fake_client(const void *reply, size_t len, shmv_client **c) {
  char dir[80];
  temp_dir(dir, sizeof dir);
  struct fake f = { .reply = reply, .len = len };
  f.lsock = socket(AF_UNIX, SOCK_STREAM, 0);
  ck_assert_int_ge(f.lsock, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s/fake.sock", dir);
  ck_assert_int_eq(bind(f.lsock, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(listen(f.lsock, 4), 0);
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, fake_serve, &f), 0);
  *c = NULL;
  int rc = shmv_connect(sa.sun_path, c);
  pthread_join(t, NULL);
  close(f.lsock);
  unlink(sa.sun_path);
  rmdir(dir);
  return rc;
}

static int fake_connect(const void *reply, size_t len) {
  shmv_client *c;
  int rc = fake_client(reply, len, &c);
  ck_assert_ptr_null(c);
  return rc;
}

/* A whole hello answer frame, by hand: {id, ok, version, server,
 * frame_max: 4096, name_max: 200}. */
static size_t hello_frame(unsigned char *buf, unsigned char id, unsigned char version) {
  static const unsigned char body[] = {
    0x86,                                             /* map of 6 */
    0xa2, 'i',  'd', 0x00,                            /* id (patched) */
    0xa2, 'o',  'k', 0xc3,                            /* ok: true */
    0xa7, 'v',  'e', 'r',  's', 'i', 'o', 'n',  0x00, /* version (patched) */
    0xa6, 's',  'e', 'r',  'v', 'e', 'r', 0xa1, 'x',  /* server: "x" */
    0xa9, 'f',  'r', 'a',  'm', 'e', '_', 'm',  'a',  'x', 0xcd, 0x10,
    0x00, 0xa8, 'n', 'a',  'm', 'e', '_', 'm',  'a',  'x', 0xcc, 0xc8,
  };
  size_t n = sizeof body;
  buf[0] = buf[1] = buf[2] = 0;
  buf[3] = (unsigned char)n;
  memcpy(buf + 4, body, n);
  buf[4 + 4] = id;
  buf[4 + 17] = version;
  return 4 + n;
}

START_TEST(connect_bad_servers) {
  /* No reconnection attempts: these fakes never come back (reconnecting
   * to a restarted daemon is test-restart's). */
  setenv("SHMVIEW_RECONNECT_MS", "0", 1);
  /* Hangs up without a word. */
  FAILS(fake_connect(NULL, 0), -ECONNRESET);
  /* An empty frame. */
  static const unsigned char empty[] = { 0, 0, 0, 0 };
  FAILS(fake_connect(empty, sizeof empty), -EPROTO);
  /* A frame announcing 1 GiB. */
  static const unsigned char huge[] = { 0x40, 0, 0, 0, 0x80 };
  FAILS(fake_connect(huge, sizeof huge), -EPROTO);
  /* A frame that is not a msgpack map. */
  static const unsigned char junk[] = { 0, 0, 0, 3, 0xc1, 0xc1, 0xc1 };
  FAILS(fake_connect(junk, sizeof junk), -EPROTO);
  /* Half a frame, then EOF. */
  static const unsigned char half[] = { 0, 0, 0, 10, 0x81 };
  FAILS(fake_connect(half, sizeof half), -ECONNRESET);

  unsigned char hello[128];
  /* Another protocol version. */
  FAILS(fake_connect(hello, hello_frame(hello, 1, 2)), -EPROTONOSUPPORT);
  /* An answer to some other request. */
  FAILS(fake_connect(hello, hello_frame(hello, 99, 1)), -EPROTO);

  /* A good hello, then the "daemon" hangs up and its socket is gone: the
   * next call and later ones fail at once (reconnect_ms 0), as a connect
   * with nobody listening does. */
  shmv_client *c;
  OK(fake_client(hello, hello_frame(hello, 1, 1), &c));
  ck_assert_ptr_nonnull(c);
  shmv_segment_info si;
  FAILS(shmv_stat(c, "x", &si), -ECONNREFUSED);
  FAILS(shmv_stat(c, "x", &si), -ECONNREFUSED);
  FAILS(shmv_create(c, "x", 1, 0), -ECONNREFUSED);
  shmv_disconnect(c);
}
END_TEST

/* A fake daemon that answers the hello (hello_frame, id 1) and then one
 * open (id 2) with a zero-length view of "x", naming its owner or not
 * (a daemon from before the `own` key), and reads on until the client
 * goes. */
struct fake_open {
  int lsock;
  bool with_owner;
};

static void *fake_open_serve(void *arg) {
  struct fake_open *f = arg;
  /* {id: 2, ok: true, view: {name: "x", offset: 0, length: 0, size: 0,
   *  lease: 1, writable: false[, uid: 0, gid: 0]}} */
  static const unsigned char view[] = {
    0xa2, 'i',  'd', 0x02, 0xa2, 'o',  'k',  0xc3, 0xa4, 'v', 'i',  'e', 'w', 0x00, /* map header, patched */
    0xa4, 'n',  'a', 'm',  'e',  0xa1, 'x',  0xa6, 'o',  'f', 'f',  's', 'e', 't',  0x00,
    0xa6, 'l',  'e', 'n',  'g',  't',  'h',  0x00, 0xa4, 's', 'i',  'z', 'e', 0x00, 0xa5,
    'l',  'e',  'a', 's',  'e',  0x01, 0xa8, 'w',  'r',  'i', 't',  'a', 'b', 'l',  'e',
    0xc2, 0xa3, 'u', 'i',  'd',  0x00, 0xa3, 'g',  'i',  'd', 0x00,
  };
  unsigned char frame[4 + 1 + sizeof view], hello[128], buf[4096];
  size_t n = sizeof view - (f->with_owner ? 0 : 10);
  int s = accept(f->lsock, NULL, NULL);

  if (s < 0)
    return NULL;
  frame[0] = frame[1] = frame[2] = 0;
  frame[3] = (unsigned char)(n + 1);
  frame[4] = 0x83; /* map of 3 */
  memcpy(frame + 5, view, n);
  frame[5 + 13] = f->with_owner ? 0x88 : 0x86;
  (void)!read(s, buf, sizeof buf);
  (void)!send(s, hello, hello_frame(hello, 1, 1), MSG_NOSIGNAL);
  (void)!read(s, buf, sizeof buf);
  (void)!send(s, frame, 4 + 1 + n, MSG_NOSIGNAL);
  while (read(s, buf, sizeof buf) > 0) {
  }
  close(s);
  return NULL;
}

/* SHMV_OWN against a daemon that cannot check it: -EOPNOTSUPP, never a
 * view of whoever's segment it was; one that names the owner: the view. */
START_TEST(own_needs_a_daemon_that_checks) {
  for (int with_owner = 0; with_owner < 2; with_owner++) {
    char dir[80];
    temp_dir(dir, sizeof dir);
    struct fake_open f = { .with_owner = with_owner };
    f.lsock = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(f.lsock, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/fake.sock", dir);
    ck_assert_int_eq(bind(f.lsock, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(f.lsock, 4), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, fake_open_serve, &f), 0);
    shmv_client *c;
    shmv_view *v = NULL;
    OK(shmv_connect(sa.sun_path, &c));
    int rc = shmv_view_open(c, "x", 0, 0, SHMV_OWN, &v);
    if (with_owner) {
      OK(rc);
      shmv_view_release(v);
    } else {
      FAILS(rc, -EOPNOTSUPP);
      ck_assert_ptr_null(v);
    }
    shmv_disconnect(c);
    pthread_join(t, NULL);
    close(f.lsock);
    unlink(sa.sun_path);
    rmdir(dir);
  }
}
END_TEST

START_TEST(null_arguments) {
  shmv_view *v = (shmv_view *)&v;
  FAILS(shmv_connect(NULL, NULL), -EINVAL);
  FAILS(shmv_view_open(NULL, "a", 0, 1, 0, &v), -EINVAL);
  ck_assert_ptr_null(v);
  FAILS(shmv_create(NULL, "a", 1, 0), -EINVAL);
  shmv_disconnect(NULL);
  shmv_view_release(NULL);
  shmv_list_free(NULL);
}
END_TEST

/* ======================================================================
 * against a real daemon
 * ====================================================================== */

static struct harness_daemon daemon_;

static shmv_client *start_with(const char *const *extra) {
  harness_daemon_start(&daemon_, extra);
  shmv_client *c = NULL;
  OK(shmv_connect(daemon_.socket, &c));
  ck_assert_ptr_nonnull(c);
  return c;
}

static shmv_client *start(void) {
  return start_with(NULL);
}

static void stop(shmv_client *c) {
  if (c)
    shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&daemon_), 0);
}

static uint64_t live_views(shmv_client *c) {
  shmv_status_info st;
  OK(shmv_status(c, &st));
  return st.views;
}

/* The daemon drops a closed connection's leases when it sees EOF: wait. */
static uint64_t wait_views(shmv_client *c, uint64_t want) {
  uint64_t n = live_views(c);
  for (int i = 0; i < 200 && n != want; i++) {
    usleep(10 * 1000);
    n = live_views(c);
  }
  return n;
}

START_TEST(segments_roundtrip) {
  shmv_client *c = start();
  struct timespec before;
  clock_gettime(CLOCK_REALTIME, &before);

  OK(shmv_create(c, "charlie", 3000, 0));
  OK(shmv_create(c, "alpha", 1000, 0640));
  OK(shmv_create(c, "bravo", 2000, 0));
  FAILS(shmv_create(c, "alpha", 10, 0), -EEXIST);
  FAILS(shmv_create(c, ".bad", 10, 0), -EINVAL);
  FAILS(shmv_create(c, "", 10, 0), -EINVAL);

  shmv_segment_info si;
  OK(shmv_stat(c, "alpha", &si));
  ck_assert_str_eq(si.name, "alpha");
  ck_assert_uint_eq(si.size, 1000);
  ck_assert_uint_eq(si.mode, 0640);
  ck_assert_uint_eq(si.uid, getuid());
  ck_assert_uint_eq(si.gid, getgid());
  ck_assert_uint_eq(si.views, 0);
  ck_assert_uint_eq(si.writable_views, 0);
  ck_assert_int_ge(si.created_sec, before.tv_sec - 1);
  ck_assert_int_le(si.created_sec, time(NULL) + 1);
  OK(shmv_stat(c, "bravo", &si));
  ck_assert_uint_eq(si.mode, 0600); /* mode 0 means 0600 */
  FAILS(shmv_stat(c, "delta", &si), -ENOENT);

  shmv_segment_info *list = NULL;
  size_t n = 99;
  OK(shmv_list(c, &list, &n));
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(list[0].name, "alpha");
  ck_assert_str_eq(list[1].name, "bravo");
  ck_assert_str_eq(list[2].name, "charlie");
  ck_assert_uint_eq(list[0].size, 1000);
  ck_assert_uint_eq(list[1].size, 2000);
  ck_assert_uint_eq(list[2].size, 3000);
  ck_assert_uint_eq(list[0].mode, 0640);
  shmv_list_free(list);

  OK(shmv_resize(c, "bravo", 65536));
  OK(shmv_stat(c, "bravo", &si));
  ck_assert_uint_eq(si.size, 65536);
  OK(shmv_resize(c, "bravo", 100));
  OK(shmv_stat(c, "bravo", &si));
  ck_assert_uint_eq(si.size, 100);
  FAILS(shmv_resize(c, "delta", 100), -ENOENT);

  OK(shmv_unlink(c, "bravo"));
  FAILS(shmv_stat(c, "bravo", &si), -ENOENT);
  FAILS(shmv_unlink(c, "bravo"), -ENOENT);
  OK(shmv_list(c, &list, &n));
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(list[0].name, "alpha");
  ck_assert_str_eq(list[1].name, "charlie");
  shmv_list_free(list);

  OK(shmv_unlink(c, "alpha"));
  OK(shmv_unlink(c, "charlie"));
  OK(shmv_list(c, &list, &n));
  ck_assert_uint_eq(n, 0);
  shmv_list_free(list);

  shmv_status_info st;
  OK(shmv_status(c, &st));
  ck_assert_uint_eq(st.protocol, 1);
  ck_assert_uint_eq(st.segments, 0);
  ck_assert_uint_eq(st.clients, 1);
  ck_assert_uint_ge(st.frame_max, 4096);
  ck_assert(st.version[0] != '\0');
  stop(c);
}
END_TEST

START_TEST(share_between_clients) {
  shmv_client *a = start(), *b = NULL;
  OK(shmv_connect(daemon_.socket, &b));
  OK(shmv_create(a, "buf", 8192, 0));

  shmv_view *w, *r;
  OK(shmv_view_open(a, "buf", 100, 1000, SHMV_WRITABLE, &w));
  ck_assert_uint_eq(shmv_view_length(w), 1000);
  ck_assert_int_eq(shmv_view_readonly(w), 0);
  unsigned char *p = shmv_view_data(w);
  ck_assert_ptr_nonnull(p);
  for (int i = 0; i < 1000; i++)
    p[i] = (unsigned char)(i * 7 + 1);

  OK(shmv_view_open(b, "buf", 0, SHMV_TO_END, 0, &r));
  ck_assert_uint_eq(shmv_view_length(r), 8192);
  ck_assert_int_ne(shmv_view_readonly(r), 0);
  const unsigned char *q = shmv_view_data(r);
  for (int i = 0; i < 100; i++)
    ck_assert_uint_eq(q[i], 0);
  for (int i = 0; i < 1000; i++)
    ck_assert_uint_eq(q[100 + i], (unsigned char)(i * 7 + 1));
  ck_assert_uint_eq(q[1100], 0);

  /* Writes after the open show up too: nothing was copied. */
  p[500] = 0xee;
  ck_assert_uint_eq(q[600], 0xee);

  shmv_segment_info si;
  OK(shmv_stat(b, "buf", &si));
  ck_assert_uint_eq(si.views, 2);
  ck_assert_uint_eq(si.writable_views, 1);
  /* No shrinking under live views; growing is fine. */
  FAILS(shmv_resize(a, "buf", 4096), -EBUSY);
  OK(shmv_resize(a, "buf", 16384));

  shmv_view_release(w);
  shmv_view_release(r);
  OK(shmv_stat(b, "buf", &si));
  ck_assert_uint_eq(si.views, 0);
  ck_assert_uint_eq(si.writable_views, 0);
  OK(shmv_resize(a, "buf", 4096));
  shmv_disconnect(b);
  stop(a);
}
END_TEST

static int write_readonly(void *arg) {
  volatile unsigned char *p = arg;
  /* Die of the signal itself, even under a sanitizer's handler. */
  signal(SIGSEGV, SIG_DFL);
  signal(SIGBUS, SIG_DFL);
  p[0] = 1; /* must die of SIGSEGV */
  return 0;
}

START_TEST(readonly_is_enforced) {
  shmv_client *c = start();
  OK(shmv_create(c, "ro", 4096, 0));
  shmv_view *v;
  OK(shmv_view_open(c, "ro", 0, 4096, 0, &v));
  int st = harness_run_child(write_readonly, shmv_view_data(v));
  ck_assert_msg(WIFSIGNALED(st) && (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS),
                "writing a read-only view: status %#x", st);
  shmv_view_release(v);
  stop(c);
}
END_TEST

START_TEST(open_errors) {
  shmv_client *c = start();
  OK(shmv_create(c, "seg", 4096, 0));
  shmv_view *v = (shmv_view *)&v;
  FAILS(shmv_view_open(c, "nope", 0, 1, 0, &v), -ENOENT);
  ck_assert_ptr_null(v);
  FAILS(shmv_view_open(c, "seg", 4000, 97, 0, &v), -ERANGE);
  FAILS(shmv_view_open(c, "seg", 4097, SHMV_TO_END, 0, &v), -ERANGE);
  FAILS(shmv_view_open(c, "seg", 4097, 0, 0, &v), -ERANGE);
  FAILS(shmv_view_open(c, "seg", (size_t)-100, 200, 0, &v), -ERANGE);
  FAILS(shmv_view_open(c, "seg", 0, 1, 0x80, &v), -EINVAL);
  FAILS(shmv_view_open(c, ".seg", 0, 1, 0, &v), -EINVAL);
  ck_assert_uint_eq(live_views(c), 0);
  /* The connection is still good after all those errors. */
  OK(shmv_view_open(c, "seg", 4000, 96, 0, &v));
  shmv_view_release(v);
  stop(c);
}
END_TEST

START_TEST(slices_share_memory) {
  shmv_client *c = start();
  OK(shmv_create(c, "s", 16384, 0));
  shmv_view *v, *s1, *s2, *e;
  OK(shmv_view_open(c, "s", 1000, 5000, SHMV_WRITABLE, &v));
  unsigned char *base = shmv_view_data(v);

  OK(shmv_view_slice(v, 10, 110, &s1));
  ck_assert_ptr_eq(shmv_view_data(s1), base + 10);
  ck_assert_uint_eq(shmv_view_length(s1), 100);
  ck_assert_int_eq(shmv_view_readonly(s1), 0);
  unsigned char *p1 = shmv_view_data(s1);
  p1[0] = 0xab;
  ck_assert_uint_eq(base[10], 0xab);
  base[50] = 0xcd;
  ck_assert_uint_eq(p1[40], 0xcd);

  OK(shmv_view_slice(s1, 5, 20, &s2));
  ck_assert_ptr_eq(shmv_view_data(s2), base + 15);
  ck_assert_uint_eq(shmv_view_length(s2), 15);
  shmv_descriptor d;
  OK(shmv_view_descriptor(s2, &d));
  ck_assert_str_eq(d.name, "s");
  ck_assert_uint_eq(d.offset, 1015);
  ck_assert_uint_eq(d.length, 15);
  ck_assert_int_eq(d.writable, 1);

  /* Range errors. */
  shmv_view *x = (shmv_view *)&x;
  FAILS(shmv_view_slice(v, 5, 4, &x), -ERANGE);
  ck_assert_ptr_null(x);
  FAILS(shmv_view_slice(v, 0, 5001, &x), -ERANGE);
  FAILS(shmv_view_slice(v, 5001, 5001, &x), -ERANGE);
  FAILS(shmv_view_slice(s1, 0, 101, &x), -ERANGE);
  FAILS(shmv_view_slice(s2, 16, 16, &x), -ERANGE);
  FAILS(shmv_view_slice(v, (size_t)-1, (size_t)-1, &x), -ERANGE);
  /* An empty slice at the very end is fine. */
  OK(shmv_view_slice(v, 5000, 5000, &e));
  ck_assert_uint_eq(shmv_view_length(e), 0);
  ck_assert_ptr_eq(shmv_view_data(e), base + 5000);
  shmv_view_release(e);

  /* Slicing is local: still one lease. */
  ck_assert_uint_eq(live_views(c), 1);

  /* The slices keep the mapping (and the lease) alive. */
  shmv_view_release(v);
  ck_assert_uint_eq(live_views(c), 1);
  p1[1] = 0x11;
  ck_assert_uint_eq(((unsigned char *)shmv_view_data(s1))[0], 0xab);
  ck_assert_uint_eq(((unsigned char *)shmv_view_data(s2))[0], p1[5]);
  shmv_view_release(s1);
  ck_assert_uint_eq(live_views(c), 1);
  ((unsigned char *)shmv_view_data(s2))[14] = 0x22;
  shmv_view_release(s2);
  ck_assert_uint_eq(live_views(c), 0);

  /* The writes went to the segment. */
  OK(shmv_view_open(c, "s", 1000, 200, 0, &v));
  base = shmv_view_data(v);
  ck_assert_uint_eq(base[10], 0xab);
  ck_assert_uint_eq(base[11], 0x11);
  ck_assert_uint_eq(base[29], 0x22);
  ck_assert_uint_eq(base[50], 0xcd);
  /* A slice of a read-only view is read-only. */
  OK(shmv_view_slice(v, 1, 2, &s1));
  ck_assert_int_ne(shmv_view_readonly(s1), 0);
  OK(shmv_view_descriptor(s1, &d));
  ck_assert_int_eq(d.writable, 0);
  shmv_view_release(s1);
  shmv_view_release(v);
  stop(c);
}
END_TEST

START_TEST(zero_length_and_to_end) {
  shmv_client *c = start();
  OK(shmv_create(c, "z", 4096, 0));
  shmv_view *v, *s;
  OK(shmv_view_open(c, "z", 100, 0, SHMV_WRITABLE, &v));
  ck_assert_ptr_null(shmv_view_data(v));
  ck_assert_uint_eq(shmv_view_length(v), 0);
  ck_assert_uint_eq(live_views(c), 1); /* the lease is held all the same */
  OK(shmv_view_slice(v, 0, 0, &s));
  ck_assert_uint_eq(shmv_view_length(s), 0);
  shmv_view *x = (shmv_view *)&x;
  FAILS(shmv_view_slice(v, 0, 1, &x), -ERANGE);
  ck_assert_ptr_null(x);
  unsigned char buf[4] = { 9, 9, 9, 9 };
  ck_assert_uint_eq(shmv_view_tobytes(v, buf, sizeof buf), 0);
  ck_assert_uint_eq(buf[0], 9);
  shmv_view_release(v);
  ck_assert_uint_eq(live_views(c), 1);
  shmv_view *s0 = NULL;
  OK(shmv_view_slice(s, 0, 0, &s0));
  shmv_view_release(s);
  shmv_view_release(s0);
  ck_assert_uint_eq(live_views(c), 0);

  /* Zero length at the very end, and TO_END there. */
  OK(shmv_view_open(c, "z", 4096, 0, 0, &v));
  shmv_view_release(v);
  OK(shmv_view_open(c, "z", 4096, SHMV_TO_END, 0, &v));
  ck_assert_uint_eq(shmv_view_length(v), 0);
  shmv_view_release(v);

  /* TO_END from an unaligned offset. */
  OK(shmv_view_open(c, "z", 1000, SHMV_TO_END, SHMV_WRITABLE, &v));
  ck_assert_uint_eq(shmv_view_length(v), 3096);
  unsigned char *p = shmv_view_data(v);
  p[0] = 1;
  p[3095] = 2;
  shmv_descriptor d;
  OK(shmv_view_descriptor(v, &d));
  ck_assert_uint_eq(d.offset, 1000);
  ck_assert_uint_eq(d.length, 3096); /* resolved */
  shmv_view_release(v);

  /* Offsets beyond a page, not page-aligned. */
  OK(shmv_resize(c, "z", 3 * 65536));
  OK(shmv_view_open(c, "z", 65536 + 4095, 2, SHMV_WRITABLE, &v));
  p = shmv_view_data(v);
  p[0] = 0x31;
  p[1] = 0x32;
  shmv_view_release(v);
  OK(shmv_view_open(c, "z", 65536 + 4094, 4, 0, &v));
  p = shmv_view_data(v);
  ck_assert_uint_eq(p[0], 0);
  ck_assert_uint_eq(p[1], 0x31);
  ck_assert_uint_eq(p[2], 0x32);
  ck_assert_uint_eq(p[3], 0);
  shmv_view_release(v);
  stop(c);
}
END_TEST

START_TEST(tobytes_copies) {
  shmv_client *c = start();
  OK(shmv_create(c, "t", 256, 0));
  shmv_view *v;
  OK(shmv_view_open(c, "t", 0, 256, SHMV_WRITABLE, &v));
  unsigned char *p = shmv_view_data(v);
  for (int i = 0; i < 256; i++)
    p[i] = (unsigned char)i;

  unsigned char buf[300];
  memset(buf, 0xff, sizeof buf);
  ck_assert_uint_eq(shmv_view_tobytes(v, buf, 10), 256);
  for (int i = 0; i < 10; i++)
    ck_assert_uint_eq(buf[i], i);
  ck_assert_uint_eq(buf[10], 0xff); /* nothing past cap */

  memset(buf, 0xff, sizeof buf);
  ck_assert_uint_eq(shmv_view_tobytes(v, buf, sizeof buf), 256);
  ck_assert_int_eq(memcmp(buf, p, 256), 0);
  ck_assert_uint_eq(buf[256], 0xff);

  ck_assert_uint_eq(shmv_view_tobytes(v, NULL, 0), 256);

  shmv_view *s;
  OK(shmv_view_slice(v, 100, 120, &s));
  memset(buf, 0xff, sizeof buf);
  ck_assert_uint_eq(shmv_view_tobytes(s, buf, sizeof buf), 20);
  ck_assert_uint_eq(buf[0], 100);
  ck_assert_uint_eq(buf[19], 119);
  ck_assert_uint_eq(buf[20], 0xff);
  /* A copy is a copy. */
  p[100] = 0;
  ck_assert_uint_eq(buf[0], 100);
  shmv_view_release(s);
  shmv_view_release(v);
  stop(c);
}
END_TEST

struct child_arg {
  char socket[108];
  char text[SHMV_DESCRIPTOR_MAX];
  unsigned char expect[64];
  size_t len;
};

/* In another process: parse the descriptor, open it, compare, write back. */
static int child_open_descriptor(void *p) {
  struct child_arg *a = p;
  shmv_descriptor d;
  if (shmv_descriptor_parse(a->text, &d) < 0)
    return 10;
  shmv_client *c;
  if (shmv_connect(a->socket, &c) < 0)
    return 11;
  shmv_view *v;
  if (shmv_view_open_descriptor(c, &d, &v) < 0)
    return 12;
  if (shmv_view_length(v) != a->len || shmv_view_readonly(v))
    return 13;
  if (memcmp(shmv_view_data(v), a->expect, a->len) != 0)
    return 14;
  memset(shmv_view_data(v), 0x77, a->len);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

START_TEST(descriptor_to_other_process) {
  shmv_client *c = start();
  OK(shmv_create(c, "desc", 10000, 0));
  shmv_view *v, *s;
  OK(shmv_view_open(c, "desc", 5000, 5000, SHMV_WRITABLE, &v));
  unsigned char *p = shmv_view_data(v);
  for (int i = 0; i < 5000; i++)
    p[i] = (unsigned char)(i % 251);
  OK(shmv_view_slice(v, 4000, 4040, &s));

  static struct child_arg a; /* static: the child gets a copy anyway */
  memset(&a, 0, sizeof a);
  snprintf(a.socket, sizeof a.socket, "%s", daemon_.socket);
  shmv_descriptor d;
  OK(shmv_view_descriptor(s, &d));
  ck_assert_uint_eq(d.offset, 9000);
  ck_assert_int_gt(shmv_descriptor_format(&d, a.text, sizeof a.text), 0);
  ck_assert_str_eq(a.text, "desc:9000:40:rw");
  a.len = 40;
  memcpy(a.expect, shmv_view_data(s), 40);

  int st = harness_run_child(child_open_descriptor, &a);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  /* The child's writes are in our mapping. */
  for (int i = 0; i < 40; i++)
    ck_assert_uint_eq(((unsigned char *)shmv_view_data(s))[i], 0x77);
  ck_assert_uint_eq(p[3999], 3999 % 251);
  ck_assert_uint_eq(p[4040], 4040 % 251);

  shmv_view_release(s);
  shmv_view_release(v);
  stop(c);
}
END_TEST

START_TEST(views_survive_disconnect) {
  shmv_client *c = start(), *watch = NULL;
  OK(shmv_connect(daemon_.socket, &watch));
  OK(shmv_create(c, "keep", 8192, 0));
  shmv_view *v, *s, *s2;
  OK(shmv_view_open(c, "keep", 0, 8192, SHMV_WRITABLE, &v));
  OK(shmv_view_slice(v, 4096, 8192, &s));
  unsigned char *p = shmv_view_data(v);
  memset(p, 0x5e, 8192);
  ck_assert_uint_eq(live_views(watch), 1);

  shmv_disconnect(c);
  /* The memory is still ours... */
  for (int i = 0; i < 8192; i += 512)
    ck_assert_uint_eq(p[i], 0x5e);
  p[8191] = 0x42;
  /* ...slicing still works (no round trip)... */
  OK(shmv_view_slice(s, 4000, 4096, &s2));
  ck_assert_uint_eq(((unsigned char *)shmv_view_data(s2))[95], 0x42);
  /* ...while the daemon dropped the lease with the connection. */
  ck_assert_uint_eq(wait_views(watch, 0), 0);

  shmv_view_release(v);
  shmv_view_release(s);
  shmv_view_release(s2);
  ck_assert_uint_eq(live_views(watch), 0);

  /* The writes reached the segment. */
  OK(shmv_view_open(watch, "keep", 8191, 1, 0, &v));
  ck_assert_uint_eq(*(unsigned char *)shmv_view_data(v), 0x42);
  shmv_view_release(v);
  stop(watch);
}
END_TEST

START_TEST(daemon_goes_away) {
  setenv("SHMVIEW_RECONNECT_MS", "0", 1); /* it does not come back */
  shmv_client *c = start();
  OK(shmv_create(c, "gone", 4096, 0));
  shmv_view *v;
  OK(shmv_view_open(c, "gone", 0, 4096, SHMV_WRITABLE, &v));
  ck_assert_int_eq(harness_daemon_stop(&daemon_), 0);
  shmv_segment_info si;
  FAILS(shmv_stat(c, "gone", &si), -ECONNREFUSED);
  ck_assert_ptr_nonnull(strstr(shmv_last_error(c), "went away"));
  FAILS(shmv_stat(c, "gone", &si), -ECONNREFUSED);
  shmv_view *w = (shmv_view *)&w;
  FAILS(shmv_view_open(c, "gone", 0, 1, 0, &w), -ECONNREFUSED);
  ck_assert_ptr_null(w);
  /* The mapping is still memory. */
  ((unsigned char *)shmv_view_data(v))[4095] = 1;
  shmv_view_release(v);
  shmv_disconnect(c);
}
END_TEST

/* Connect, retrying while the daemon still counts a connection that just
 * closed (it learns of the close asynchronously). */
static int connect_retry(shmv_client **c) {
  int rc = shmv_connect(daemon_.socket, c);
  for (int i = 0; i < 200 && rc == -EUSERS; i++) {
    usleep(10 * 1000);
    rc = shmv_connect(daemon_.socket, c);
  }
  return rc;
}

START_TEST(too_many_clients) {
  static const char *const extra[] = { "--max-clients", "1", NULL };
  harness_daemon_start(&daemon_, extra);
  shmv_client *a = NULL, *b = (shmv_client *)&b;
  OK(connect_retry(&a)); /* the harness's probe may still count */
  FAILS(shmv_connect(daemon_.socket, &b), -EUSERS);
  ck_assert_ptr_null(b);
  ck_assert_str_eq(shmv_strerror(-EUSERS), "the daemon has too many clients");
  shmv_disconnect(a);
  OK(connect_retry(&b));
  OK(shmv_create(b, "one", 1, 0));
  stop(b);
}
END_TEST

#define THREADS 8
#define ROUNDS  200

struct thread_arg {
  shmv_client *c;
  int index;
  atomic_int *errors;
};

static void *thread_main(void *p) {
  struct thread_arg *a = p;
  for (int i = 0; i < ROUNDS; i++) {
    size_t off = (size_t)((a->index * 613 + i * 97) % 60000);
    int flags = (i + a->index) % 2 ? SHMV_WRITABLE : 0;
    shmv_view *v, *s;
    int rc = shmv_view_open(a->c, "mt", off, 512, flags, &v);
    if (rc < 0) {
      atomic_fetch_add(a->errors, 1);
      continue;
    }
    unsigned char *d = shmv_view_data(v);
    if (flags)
      d[a->index] = (unsigned char)i;
    else
      (void)*(volatile unsigned char *)d;
    if (shmv_view_slice(v, 100, 200, &s) < 0 || shmv_view_data(s) != (void *)(d + 100))
      atomic_fetch_add(a->errors, 1);
    /* Release in either order: the last one sends RELEASE. */
    if (i % 3) {
      shmv_view_release(v);
      shmv_view_release(s);
    } else {
      shmv_view_release(s);
      shmv_view_release(v);
    }
  }
  return NULL;
}

START_TEST(threads_share_client) {
  shmv_client *c = start();
  OK(shmv_create(c, "mt", 65536, 0));
  atomic_int errors = 0;
  pthread_t t[THREADS];
  struct thread_arg args[THREADS];
  for (int i = 0; i < THREADS; i++) {
    args[i] = (struct thread_arg){ .c = c, .index = i, .errors = &errors };
    ck_assert_int_eq(pthread_create(&t[i], NULL, thread_main, &args[i]), 0);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  ck_assert_int_eq(atomic_load(&errors), 0);

  shmv_status_info st;
  OK(shmv_status(c, &st));
  ck_assert_uint_eq(st.views, 0);
  ck_assert_uint_eq(st.writable_views, 0);
  ck_assert_uint_ge(st.requests, THREADS * ROUNDS * 2);
  stop(c);
}
END_TEST

#define MANY 300

static void many_name(char *buf, size_t cap, int i) {
  /* 180 chars: a few of them fill a 4 KiB frame. */
  int n = snprintf(buf, cap, "seg-%03d-", i);
  memset(buf + n, 'x', 180 - (size_t)n);
  buf[180] = '\0';
}

START_TEST(list_pages) {
  static const char *const extra[] = { "--frame-max", "4096", NULL };
  shmv_client *c = start_with(extra);
  shmv_status_info st;
  OK(shmv_status(c, &st));
  ck_assert_uint_eq(st.frame_max, 4096);

  char name[SHMV_NAME_MAX + 1];
  /* Created out of order; listed sorted. */
  for (int i = 0; i < MANY; i++) {
    many_name(name, sizeof name, (i * 7) % MANY);
    OK(shmv_create(c, name, (size_t)(i + 1), 0));
  }
  shmv_segment_info *list;
  size_t n;
  OK(shmv_list(c, &list, &n));
  ck_assert_uint_eq(n, MANY); /* MANY * 180 bytes of names: many pages */
  for (int i = 0; i < MANY; i++) {
    many_name(name, sizeof name, i);
    ck_assert_str_eq(list[i].name, name);
    if (i > 0)
      ck_assert_int_lt(strcmp(list[i - 1].name, list[i].name), 0);
  }
  shmv_list_free(list);

  /* Requests with the longest names still fit the small frame. */
  shmv_segment_info si;
  many_name(name, sizeof name, 0);
  OK(shmv_stat(c, name, &si));
  stop(c);
}
END_TEST

static Suite *client_suite(void) {
  Suite *s = suite_create("client");

  TCase *off = tcase_create("offline");
  tcase_add_test(off, descriptor_parse_forms);
  tcase_add_test(off, descriptor_parse_malformed);
  tcase_add_test(off, descriptor_format_roundtrip);
  tcase_add_test(off, descriptor_format_nospace);
  tcase_add_test(off, name_check);
  tcase_add_test(off, strerror_sentences);
  tcase_add_test(off, default_socket_path);
  tcase_add_test(off, connect_missing_socket);
  tcase_add_test(off, connect_bad_servers);
  tcase_add_test(off, own_needs_a_daemon_that_checks);
  tcase_add_test(off, null_arguments);
  suite_add_tcase(s, off);

  TCase *d = tcase_create("daemon");
  tcase_set_timeout(d, 120); /* valgrind runs are slow */
  tcase_add_test(d, segments_roundtrip);
  tcase_add_test(d, share_between_clients);
  tcase_add_test(d, readonly_is_enforced);
  tcase_add_test(d, open_errors);
  tcase_add_test(d, slices_share_memory);
  tcase_add_test(d, zero_length_and_to_end);
  tcase_add_test(d, tobytes_copies);
  tcase_add_test(d, descriptor_to_other_process);
  tcase_add_test(d, views_survive_disconnect);
  tcase_add_test(d, daemon_goes_away);
  tcase_add_test(d, too_many_clients);
  tcase_add_test(d, threads_share_client);
  tcase_add_test(d, list_pages);
  suite_add_tcase(s, d);
  return s;
}

int main(void) {
  /* harness_main also sweeps what a failed test left in /dev/shm. */
  return harness_main(client_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test-messages.c: the daemon's sentences reach the caller.
 *
 * shmv_last_error(c) gives the daemon's own sentence for the calling
 * thread's last failed call on c (shmv_strerror's when the failure was the
 * library's), kept apart per client and per thread; shmv_last_error(NULL)
 * tells why a connect failed, and a socket that refuses a connection is
 * not blamed on a segment's mode.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture-client.h"

#define SAYS(c, text)                                                                      \
  ck_assert_msg(strcmp(shmv_last_error(c), (text)) == 0, "last error '%s', expected '%s'", \
                shmv_last_error(c), (text))

START_TEST(daemon_sentences) {
  shmv_segment_info si;
  shmv_view *v;

  SAYS(c, ""); /* nothing failed yet */
  ck_assert_int_eq(shmv_stat(c, "nosuch", &si), -ENOENT);
  SAYS(c, "no segment named 'nosuch'");
  SAYS(NULL, "no segment named 'nosuch'"); /* the thread's last, any client */

  OK(shmv_create(c, "one", 1, 0));
  ck_assert_int_eq(shmv_create(c, "one", 1, 0), -EEXIST);
  SAYS(c, "segment 'one' already exists");
  ck_assert_int_eq(shmv_view_open(c, "one", 2, SHMV_TO_END, 0, &v), -ERANGE);
  SAYS(c, "offset 2 is past the end of 'one' (1 byte)");
  ck_assert_int_eq(shmv_view_open(c, "one", 0, 5, 0, &v), -ERANGE);
  SAYS(c, "range 0+5 is past the end of 'one' (1 byte)");

  OK(shmv_view_open(c, "one", 0, 1, 0, &v));
  OK(shmv_resize(c, "one", 4096));
  ck_assert_int_eq(shmv_resize(c, "one", 0), -EBUSY);
  SAYS(c, "cannot shrink segment 'one': it has 1 live view");
  /* A success does not clear it. */
  OK(shmv_stat(c, "one", &si));
  SAYS(c, "cannot shrink segment 'one': it has 1 live view");
  shmv_view_release(v);

  /* The library's own refusals get shmv_strerror's sentence. */
  ck_assert_int_eq(shmv_create(c, ".bad", 1, 0), -EINVAL);
  SAYS(c, shmv_strerror(-EINVAL));
  ck_assert_int_eq(shmv_view_open(c, "one", 0, 1, 0x40, &v), -EINVAL);
  SAYS(c, shmv_strerror(-EINVAL));
  ck_assert_int_eq(shmv_stat_sized(c, "one", &si, 3), -EINVAL);
  SAYS(c, shmv_strerror(-EINVAL));
  OK(shmv_unlink(c, "one"));
}
END_TEST

START_TEST(per_client) {
  shmv_client *other;
  shmv_segment_info si;
  OK(shmv_connect(d.socket, &other));
  ck_assert_int_eq(shmv_stat(c, "a", &si), -ENOENT);
  ck_assert_int_eq(shmv_stat(other, "b", &si), -ENOENT);
  SAYS(c, "no segment named 'a'");
  SAYS(other, "no segment named 'b'");
  shmv_disconnect(other);
  /* A new client (perhaps at the same address) starts with nothing. */
  OK(shmv_connect(d.socket, &other));
  SAYS(other, "");
  SAYS(c, "no segment named 'a'");
  shmv_disconnect(other);
}
END_TEST

static void *other_thread(void *arg) {
  shmv_segment_info si;
  (void)arg;
  /* The main thread's failure is not this thread's. */
  if (strcmp(shmv_last_error(c), "") != 0)
    return (void *)"saw the main thread's error";
  if (shmv_stat(c, "from-thread", &si) != -ENOENT)
    return (void *)"stat did not fail";
  if (strcmp(shmv_last_error(c), "no segment named 'from-thread'") != 0)
    return (void *)"wrong sentence in the thread";
  return NULL;
}

START_TEST(per_thread) {
  shmv_segment_info si;
  ck_assert_int_eq(shmv_stat(c, "from-main", &si), -ENOENT);
  pthread_t t;
  void *why;
  ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
  ck_assert_int_eq(pthread_join(t, &why), 0);
  ck_assert_msg(why == NULL, "%s", (const char *)why);
  SAYS(c, "no segment named 'from-main'");
}
END_TEST

START_TEST(connect_sentences) {
  char dir[] = "/tmp/shmvt-msg-XXXXXX", path[128];
  shmv_client *x;
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/none.sock", dir);
  ck_assert_int_eq(shmv_connect(path, &x), -ENOENT);
  SAYS(NULL, shmv_strerror(-ENOENT));

  /* Too many clients: the daemon's sentence. */
  struct harness_daemon one;
  static const char *const max1[] = { "--max-clients", "1", NULL };
  harness_daemon_start(&one, max1);
  shmv_client *first;
  /* The harness's readiness probe may still hold the one place. */
  int rc = -EUSERS;
  for (int i = 0; i < 500 && rc == -EUSERS; i++) {
    rc = shmv_connect(one.socket, &first);
    if (rc == -EUSERS)
      usleep(10 * 1000);
  }
  OK(rc);
  ck_assert_int_eq(shmv_connect(one.socket, &x), -EUSERS);
  ck_assert_msg(strcmp(shmv_last_error(NULL), shmv_strerror(-EUSERS)) != 0 &&
                    strstr(shmv_last_error(NULL), "1") != NULL,
                "last error: %s", shmv_last_error(NULL));
  shmv_disconnect(first);
  ck_assert_int_eq(harness_daemon_stop(&one), 0);
  rmdir(dir);
}
END_TEST

/* Run the shmview tool against our daemon; its stderr (and stdout) into
 * out. Returns its exit status. */
static int cli(char *out, size_t cap, const char *input, const char *args) {
  const char *tool = getenv("SHMVIEW_CLI");
  ck_assert_msg(tool != NULL, "SHMVIEW_CLI is not set (run through make check)");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s%s%s'%s' --socket '%s' %s 2>&1", input ? "printf '" : "",
           input ? input : "", input ? "' | " : "", tool, d.socket, args);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  size_t n = fread(out, 1, cap - 1, p);
  out[n] = '\0';
  int status = pclose(p);
  ck_assert(WIFEXITED(status));
  return WEXITSTATUS(status);
}

#define CLI_SAYS(input, args, text)                                                   \
  do {                                                                                \
    char out_[2048];                                                                  \
    ck_assert_int_eq(cli(out_, sizeof out_, (input), (args)), 1);                     \
    ck_assert_msg(strstr(out_, (text)) != NULL, "shmview %s said: %s", (args), out_); \
  } while (0)

START_TEST(cli_prints_them) {
  shmv_view *v;
  OK(shmv_create(c, "one", 1, 0));
  OK(shmv_create(c, "big", 1000, 0));
  CLI_SAYS(NULL, "stat nosuch", "shmview: nosuch: no segment named 'nosuch'\n");
  CLI_SAYS(NULL, "dump big:999:2",
           "shmview: big: range 999+2 is past the end of 'big' (1000 bytes)\n");
  CLI_SAYS(NULL, "cat big:1001",
           "shmview: big: offset 1001 is past the end of 'big' (1000 bytes)\n");
  CLI_SAYS(NULL, "dump one:2", "offset 2 is past the end of 'one' (1 byte)\n");
  CLI_SAYS("ab", "write one",
           "shmview: input is larger than the 1 byte from offset 0 to the end of one\n");
  CLI_SAYS(NULL, "create one 1", "shmview: one: segment 'one' already exists\n");
  OK(shmv_view_open(c, "big", 0, 10, 0, &v));
  CLI_SAYS(NULL, "resize big 10",
           "shmview: big: cannot shrink segment 'big': it has 1 live view\n");
  shmv_view_release(v);
  OK(shmv_unlink(c, "one"));
  OK(shmv_unlink(c, "big"));
}
END_TEST

/* As nobody, connect to a socket only root may use: EACCES from connect(),
 * which is the socket's doing, not a segment's. */
static char denied_path[128];

static int connect_as_nobody(void *arg) {
  struct passwd *pw = getpwnam("nobody");
  (void)arg;
  CHILD_CHECK(pw != NULL);
  CHILD_CHECK(setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == 0);
  CHILD_CHECK(setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == 0);
  shmv_client *x;
  CHILD_CHECK(shmv_connect(denied_path, &x) == -EACCES);
  char want[256];
  snprintf(want, sizeof want, "the socket %s refused the connection", denied_path);
  if (strstr(shmv_last_error(NULL), want) == NULL) {
    fprintf(stderr, "last error: %s\n", shmv_last_error(NULL));
    return 1;
  }
  CHILD_CHECK(strstr(shmv_last_error(NULL), "segment") == NULL);
  return 0;
}

START_TEST(socket_refuses) {
  if (geteuid() != 0)
    return; /* needs root to become nobody */
  char dir[] = "/tmp/shmvt-acc-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(chmod(dir, 0755), 0);
  snprintf(denied_path, sizeof denied_path, "%s/s.sock", dir);
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  ck_assert_int_lt(snprintf(sa.sun_path, sizeof sa.sun_path, "%s", denied_path),
                   (int)sizeof sa.sun_path);
  ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(listen(l, 1), 0);
  ck_assert_int_eq(chmod(denied_path, 0700), 0);
  int status = harness_run_child(connect_as_nobody, NULL);
  close(l);
  unlink(denied_path);
  rmdir(dir);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}
END_TEST

int main(void) {
  Suite *s = suite_create("messages");
  TCase *t = tcase_create("daemon");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, daemon_sentences);
  tcase_add_test(t, per_client);
  tcase_add_test(t, per_thread);
  tcase_add_test(t, cli_prints_them);
  suite_add_tcase(s, t);
  TCase *n = tcase_create("connect");
  tcase_set_timeout(n, 60);
  tcase_add_test(n, connect_sentences);
  tcase_add_test(n, socket_refuses);
  suite_add_tcase(s, n);
  return harness_main(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * test-holders.c: who holds views of a segment (shmv_holders, shmview stat
 * and list --holders), with real separate processes.
 *
 * Each holder is reported with its connection's pid and uid (SO_PEERCRED),
 * its command name (/proc/PID/comm, read at connect), its window, rw/ro
 * and since when; more holders than fit one answer are paged; a killed
 * holder disappears.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

static struct harness_daemon d;
static shmv_client *c;

static void setup(void) {
  static const char *const args[] = { "--frame-max", "4096", NULL }; /* small pages */

  harness_daemon_start(&d, args);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
}

static void teardown(void) {
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

/* A child named `comm` (maybe as uid `uid`) that opens `nviews` views of
 * "seg" at offset 100 * i, length 10, writable if asked, says so on a
 * pipe and waits to be killed. */
struct holder_args {
  const char *comm;
  uid_t uid;
  int nviews;
  bool writable;
};

static int holder_main(void *arg) {
  const struct holder_args *a = arg;
  shmv_client *hc;
  shmv_view *v;

  prctl(PR_SET_NAME, a->comm, 0, 0, 0);
  if (a->uid != 0 && setuid(a->uid) != 0)
    return 1;
  if (shmv_connect(d.socket, &hc) != 0)
    return 2;
  for (int i = 0; i < a->nviews; i++)
    if (shmv_view_open(hc, "seg", (size_t)(100 * i), 10, a->writable ? SHMV_WRITABLE : 0, &v) != 0)
      return 3;
  return 0;
}

static pid_t holder(const char *comm, uid_t uid, int nviews, bool writable) {
  struct holder_args a = { comm, uid, nviews, writable };

  return harness_start_holder(holder_main, &a);
}

static void reap(pid_t pid) {
  kill(pid, SIGKILL);
  ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}

START_TEST(who_holds) {
  struct passwd *nobody = getpwnam("nobody");
  shmv_holder_info *h;
  size_t n, i;
  time_t before = time(NULL);
  pid_t a, b;

  ck_assert_ptr_nonnull(nobody);
  /* nobody must be able to reach the socket */
  ck_assert_int_eq(chmod(d.dir, 0711), 0);
  ck_assert_int_eq(chmod(d.socket, 0666), 0);
  ck_assert_int_eq(shmv_create(c, "seg", 1 << 16, 0666), 0);
  ck_assert_int_eq(shmv_holders(c, "seg", &h, &n), 0);
  ck_assert_uint_eq(n, 0);
  shmv_holders_free(h);
  ck_assert_int_eq(shmv_holders(c, "nosuch", &h, &n), -ENOENT);

  a = holder("holder-rw", 0, 1, true);
  /* another uid when we may become one (as root, which tests run as) */
  uid_t other = getuid() == 0 ? nobody->pw_uid : 0;
  b = holder("holder-ro", other, 2, false);
  ck_assert_int_eq(shmv_holders(c, "seg", &h, &n), 0);
  ck_assert_uint_eq(n, 3);
  /* oldest first */
  ck_assert_int_eq(h[0].pid, a);
  ck_assert_uint_eq(h[0].uid, getuid());
  ck_assert_str_eq(h[0].comm, "holder-rw");
  ck_assert_uint_eq(h[0].offset, 0);
  ck_assert_uint_eq(h[0].length, 10);
  ck_assert_int_eq(h[0].writable, 1);
  for (i = 1; i < 3; i++) {
    ck_assert_int_eq(h[i].pid, b);
    ck_assert_uint_eq(h[i].uid, other != 0 ? other : getuid());
    ck_assert_str_eq(h[i].comm, "holder-ro");
    ck_assert_uint_eq(h[i].offset, 100 * (i - 1));
    ck_assert_int_eq(h[i].writable, 0);
  }
  for (i = 0; i < 3; i++)
    ck_assert(h[i].since_sec >= before && h[i].since_sec <= time(NULL));
  shmv_holders_free(h);

  /* only those who may read the segment see its holders */
  if (other != 0) {
    int st;
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      shmv_client *nc;
      shmv_holder_info *nh;
      size_t nn;

      if (setuid(other) != 0 || shmv_connect(d.socket, &nc) != 0)
        _exit(1);
      if (shmv_create(nc, "private", 10, 0600) != 0 || shmv_holders(nc, "private", &nh, &nn) != 0)
        _exit(2);
      shmv_holders_free(nh);
      /* "seg" is 0666: readable by all */
      if (shmv_holders(nc, "seg", &nh, &nn) != 0 || nn != 3)
        _exit(3);
      shmv_holders_free(nh);
      _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_int_eq(shmv_create(c, "root-only", 10, 0600), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      shmv_client *nc;
      shmv_holder_info *nh;
      size_t nn;
      shmv_segment_info info;

      if (setuid(other) != 0 || shmv_connect(d.socket, &nc) != 0)
        _exit(1);
      if (shmv_stat(nc, "root-only", &info) != 0) /* metadata: anyone */
        _exit(2);
      _exit(shmv_holders(nc, "root-only", &nh, &nn) == -EACCES ? 0 : 3);
    }
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }

  /* kill -9: its holders are gone */
  reap(b);
  for (i = 0; i < 500; i++) {
    ck_assert_int_eq(shmv_holders(c, "seg", &h, &n), 0);
    shmv_holders_free(h);
    if (n == 1)
      break;
    usleep(10000);
  }
  ck_assert_uint_eq(n, 1);
  reap(a);
}
END_TEST

/* More holders than fit in one 4 KiB answer: every one comes back, once. */
START_TEST(paged) {
  shmv_holder_info *h;
  size_t n, i;
  pid_t a;

  ck_assert_int_eq(shmv_create(c, "seg", 1 << 16, 0600), 0);
  a = holder("many", 0, 200, false);
  ck_assert_int_eq(shmv_holders(c, "seg", &h, &n), 0);
  ck_assert_uint_eq(n, 200);
  for (i = 0; i < n; i++) {
    ck_assert_int_eq(h[i].pid, a);
    ck_assert_uint_eq(h[i].offset, 100 * i); /* in order, none twice */
  }
  shmv_holders_free(h);
  reap(a);
}
END_TEST

/* Run the CLI; its stdout into buf. */
static int cli(char *buf, size_t cap, const char *args) {
  const char *exe = getenv("SHMVIEW_CLI");
  char cmd[1024];
  FILE *f;
  size_t n;

  ck_assert_ptr_nonnull(exe);
  snprintf(cmd, sizeof cmd, "%s --socket %s %s", exe, d.socket, args);
  f = popen(cmd, "r");
  ck_assert_ptr_nonnull(f);
  n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  return pclose(f);
}

START_TEST(cli_shows_holders) {
  char out[8192];
  char want[128];
  pid_t a;

  ck_assert_int_eq(shmv_create(c, "seg", 4096, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "idle", 4096, 0600), 0);
  a = holder("clitest", 0, 1, true);
  ck_assert_int_eq(cli(out, sizeof out, "stat seg"), 0);
  ck_assert_msg(strstr(out, "holders:        1\n") != NULL, "%s", out);
  snprintf(want, sizeof want, "%d", (int)a);
  ck_assert_msg(strstr(out, want) != NULL && strstr(out, "clitest") != NULL &&
                    strstr(out, "0+10") != NULL && strstr(out, " rw ") != NULL,
                "%s", out);
  ck_assert_int_eq(cli(out, sizeof out, "list --holders"), 0);
  ck_assert_msg(strncmp(out, "NAME", 4) == 0 && strstr(out, "seg ") != NULL &&
                    strstr(out, "clitest") != NULL && strstr(out, "idle") == NULL,
                "%s", out);
  ck_assert_int_eq(cli(out, sizeof out, "list --holders --json"), 0);
  snprintf(want, sizeof want,
           "[\n  {\"name\": \"seg\", \"pid\": %d, \"uid\": %u, \"comm\": \"clitest\", "
           "\"offset\": 0, \"length\": 10, \"writable\": true, \"since\": \"",
           (int)a, (unsigned)getuid());
  ck_assert_msg(strncmp(out, want, strlen(want)) == 0 && strstr(out, "}\n]\n") != NULL, "%s", out);
  reap(a);
}
END_TEST

/* Who holds root's segments, asked by clean strangers (no root group,
 * unlike who_holds's child, which keeps gid 0): only a segment they may
 * read shows its holders, a 0640 one of root's group included. */
static int strangers_ask(void *arg) {
  shmv_client *nc;
  shmv_holder_info *h;
  size_t n;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &nc) == 0);
  CHILD_CHECK(shmv_holders(nc, "g640", &h, &n) == -EACCES);
  CHILD_CHECK(shmv_holders(nc, "p600", &h, &n) == -EACCES);
  CHILD_CHECK(shmv_holders(nc, "pub", &h, &n) == 0);
  CHILD_CHECK(n == 1 && h[0].uid == 0);
  shmv_holders_free(h);
  shmv_disconnect(nc);
  return 0;
}

START_TEST(holders_hidden_from_strangers) {
  static const char *const names[] = { "g640", "p600", "pub" };
  static const unsigned modes[] = { 0640, 0600, 0644 };
  shmv_view *v[3];

  if (!harness_can_attack("test-holders", "holders_hidden_from_strangers"))
    return;
  harness_open_to_all(&d);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(shmv_create(c, names[i], 100, modes[i]), 0);
    ck_assert_int_eq(shmv_view_open(c, names[i], 0, 10, 0, &v[i]), 0);
  }
  ATTACK_OK(harness_run_as(HARNESS_NOBODY, HARNESS_NOBODY, strangers_ask, NULL), "nobody");
  ATTACK_OK(harness_run_as(HARNESS_NO_PASSWD, HARNESS_NO_PASSWD, strangers_ask, NULL), "uid 60001");
  for (int i = 0; i < 3; i++) {
    shmv_view_release(v[i]);
    ck_assert_int_eq(shmv_unlink(c, names[i]), 0);
  }
}
END_TEST

/* A stranger names itself with terminal escapes (its command name is its
 * own to choose) and holds a view of root's segment: what root's client and
 * `shmview stat` show of it is printable. */
static int escaping_holder(void *arg) {
  shmv_client *hc;
  shmv_view *v;

  (void)arg;
  CHILD_CHECK(harness_become(HARNESS_NO_PASSWD, HARNESS_NO_PASSWD) == 0);
  prctl(PR_SET_NAME, "\x1b]0;pwn\x07\x1b[2J", 0, 0, 0);
  CHILD_CHECK(shmv_connect(d.socket, &hc) == 0);
  CHILD_CHECK(shmv_view_open(hc, "pub", 0, 10, 0, &v) == 0);
  return 0;
}

static bool printable(const char *s) {
  for (; *s != '\0'; s++)
    if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
      return false;
    else if ((unsigned char)*s == 0x7f)
      return false;
  return true;
}

START_TEST(stranger_comm_is_printable) {
  shmv_holder_info *h;
  size_t n;
  char out[8192];
  pid_t a;

  if (!harness_can_attack("test-holders", "stranger_comm_is_printable"))
    return;
  harness_open_to_all(&d);
  ck_assert_int_eq(shmv_create(c, "pub", 100, 0644), 0);
  a = harness_start_holder(escaping_holder, NULL);
  ck_assert_int_eq(shmv_holders(c, "pub", &h, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_uint_eq(h[0].uid, HARNESS_NO_PASSWD);
  ck_assert_msg(printable(h[0].comm), "the holder's command name reached root raw");
  ck_assert_msg(strchr(h[0].comm, '?') != NULL, "comm '%s'", h[0].comm);
  shmv_holders_free(h);
  ck_assert_int_eq(cli(out, sizeof out, "stat pub"), 0);
  ck_assert_msg(printable(out), "shmview stat printed the escapes: %s", out);
  ck_assert_int_eq(cli(out, sizeof out, "list --holders"), 0);
  ck_assert_msg(printable(out), "shmview list --holders printed the escapes: %s", out);
  ck_assert_int_eq(cli(out, sizeof out, "list --holders --json"), 0);
  ck_assert_msg(printable(out), "shmview list --holders --json printed the escapes: %s", out);
  reap(a);
  ck_assert_int_eq(shmv_unlink(c, "pub"), 0);
}
END_TEST

static Suite *holders_suite(void) {
  Suite *s = suite_create("holders");
  TCase *tc = tcase_create("holders");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, who_holds);
  tcase_add_test(tc, paged);
  tcase_add_test(tc, cli_shows_holders);
  tcase_add_test(tc, holders_hidden_from_strangers);
  tcase_add_test(tc, stranger_comm_is_printable);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(holders_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test-fallback.c: the fallback socket directory, /tmp/shmview-UID.
 *
 * With neither $SHMVIEW_SOCKET nor $XDG_RUNTIME_DIR, a user's client and
 * daemon meet in /tmp/shmview-UID/, a name anyone may create first. Here
 * an attacker (nobody) plants it for a victim (a uid with no passwd entry)
 * as a 0755 directory of its own and as a symbolic link to one (0711), and
 * listens in it. The victim's `shmview write`, its library
 * (shmv_connect(NULL)) and its own daemon must each refuse, naming the
 * directory and its owner, and the impostor must hear nothing. The
 * victim's own directory (made by its daemon) keeps working, and refuses
 * once opened to others. Root is needed to become other uids; without it
 * the test is skipped.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

static uid_t victim;   /* no passwd entry */
static uid_t attacker; /* nobody */
static gid_t attacker_gid;
static char fallback[64];      /* /tmp/shmview-VICTIM */
static char fallback_sock[96]; /* in it */
static char attacker_dir[64];  /* the attacker's own 0700 directory */
static char prefix[64];        /* the victim's daemon's --prefix */
static uid_t victim_base;      /* the first victim uid tried, set by main */

static void become(uid_t uid, gid_t gid) {
  if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
    _exit(99);
}

/* A victim whose fallback directory does not exist yet: a uid of its own
 * per run, so parallel runs never meet. */
static void setup(void) {
  struct passwd *pw = getpwnam("nobody");
  struct stat st;

  ck_assert_msg(pw != NULL, "no user nobody");
  attacker = pw->pw_uid;
  attacker_gid = pw->pw_gid;
  for (victim = victim_base;; victim++) {
    ck_assert_msg(victim < victim_base + 32, "no free victim uid");
    snprintf(fallback, sizeof fallback, "/tmp/shmview-%u", (unsigned)victim);
    if (getpwuid(victim) == NULL && lstat(fallback, &st) != 0)
      break;
  }
  snprintf(fallback_sock, sizeof fallback_sock, "%s/shmview.sock", fallback);
  /* Named for the run: harness_main removes what a failed test left. */
  const char *run = getenv("SHMVIEW_TEST_RUN");
  snprintf(attacker_dir, sizeof attacker_dir, "/tmp/shmvt%s-attacker-XXXXXX", run);
  ck_assert_ptr_nonnull(mkdtemp(attacker_dir));
  ck_assert_int_eq(chown(attacker_dir, attacker, attacker_gid), 0);
  /* Closed to writers, open to the victim's connect(): as stat() sees
   * through the link, a directory whose owner vouches for its socket. */
  ck_assert_int_eq(chmod(attacker_dir, 0711), 0);
  snprintf(prefix, sizeof prefix, "shmvt%s-fb%u", run, (unsigned)victim);
}

static void teardown(void) {
  char cmd[512];

  /* Whatever a run left: the planted directory or link, its socket, the
   * victim's daemon's state file, its shm objects. */
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' /dev/shm/%s.* /dev/shm/%s..lock", fallback,
           attacker_dir, prefix, prefix);
  ck_assert_int_eq(system(cmd), 0);
}

struct impostor {
  pid_t pid;
  int report; /* read end: one line per connection, the bytes it sent */
};

/* Fork the attacker: it plants the fallback directory (a 0755 directory,
 * or with link a symbolic link to its own 0700 one), listens there and
 * reports, per connection, how many bytes the client sent. */
static void impostor_start(struct impostor *im, bool link) {
  int ready[2], report[2];
  pid_t parent = getpid();

  ck_assert_int_eq(pipe(ready), 0);
  ck_assert_int_eq(pipe(report), 0);
  im->pid = fork();
  ck_assert_int_ge(im->pid, 0);
  if (im->pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(1);
    close(ready[0]);
    close(report[0]);
    become(attacker, attacker_gid);
    umask(0); /* a socket anyone may connect to */
    if (link ? symlink(attacker_dir, fallback) != 0 : mkdir(fallback, 0755) != 0)
      _exit(2);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", fallback_sock);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 8) != 0)
      _exit(3);
    (void)!write(ready[1], "r", 1);
    harness_impostor_serve(l, report[1]);
  }
  close(ready[1]);
  close(report[1]);
  char r;
  ck_assert_msg(read(ready[0], &r, 1) == 1, "the impostor did not start");
  close(ready[0]);
  im->report = report[0];
}

/* Fails the test if the impostor reports a connection within 1.5 s (it
 * reports one at most a second after the client went quiet). */
static void impostor_heard_nothing(struct impostor *im) {
  struct pollfd p = { .fd = im->report, .events = POLLIN };
  char line[32] = "";

  if (poll(&p, 1, 1500) == 1) {
    ssize_t n = read(im->report, line, sizeof line - 1);
    line[n > 0 ? n : 0] = '\0';
  }
  ck_assert_msg(line[0] == '\0', "the impostor had a connection, and heard %s bytes", line);
}

static void impostor_stop(struct impostor *im) {
  kill(im->pid, SIGKILL);
  waitpid(im->pid, NULL, 0);
  close(im->report);
}

/* Run argv as the victim, with an environment that names no socket (no
 * $XDG_RUNTIME_DIR, no $SHMVIEW_SOCKET), input on stdin; stdout and stderr
 * into out. Returns the wait status. */
static int run_as_victim(const char *const *argv, const char *input, char *out, size_t cap) {
  int in[2], res[2];

  ck_assert_int_eq(pipe(in), 0);
  ck_assert_int_eq(pipe(res), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    char *const env[] = { "PATH=/usr/bin:/bin", "SHMVIEW_RECONNECT_MS=0", NULL };
    dup2(in[0], 0);
    dup2(res[1], 1);
    dup2(res[1], 2);
    close(in[1]);
    close(res[0]);
    become(victim, victim);
    execve(argv[0], (char *const *)argv, env);
    _exit(127);
  }
  close(in[0]);
  close(res[1]);
  if (input != NULL)
    (void)!write(in[1], input, strlen(input));
  close(in[1]);
  size_t got = 0;
  ssize_t n;
  while (got < cap - 1 && (n = read(res[0], out + got, cap - 1 - got)) > 0)
    got += (size_t)n;
  out[got] = '\0';
  close(res[0]);
  int status;
  waitpid(pid, &status, 0);
  return status;
}

static const char *cli(void) {
  const char *p = getenv("SHMVIEW_CLI");
  ck_assert_msg(p != NULL, "SHMVIEW_CLI is not set (run through make check)");
  return p;
}

/* The library, as the victim: shmv_connect(NULL) resolves to the fallback
 * socket and must refuse with -EPERM and a sentence holding want. */
static int library_refuses(void *arg) {
  const char *want = arg;
  shmv_client *c = NULL;

  become(victim, victim);
  unsetenv("XDG_RUNTIME_DIR");
  unsetenv("SHMVIEW_SOCKET");
  unsetenv("SHMVIEW_TRUSTED_UID");
  setenv("SHMVIEW_RECONNECT_MS", "0", 1);
  int rc = shmv_connect(NULL, &c);
  if (rc != -EPERM || strstr(shmv_last_error(NULL), want) == NULL) {
    fprintf(stderr, "shmv_connect(NULL) = %d: %s\n", rc, shmv_last_error(NULL));
    return 1;
  }
  return 0;
}

/* The victim's attempts against a planted directory: the CLI, the library
 * and the victim's own daemon all refuse, naming what they found. */
static void victim_refuses(struct impostor *im, const char *want_cli, const char *want_daemon) {
  char out[2048];
  const char *write_argv[] = { cli(), "write", "mydata", NULL };

  int status = run_as_victim(write_argv, "SECRET", out, sizeof out);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0, "shmview write: status %d: %s",
                status, out);
  ck_assert_msg(strstr(out, want_cli) != NULL, "shmview write said: %s", out);
  impostor_heard_nothing(im);

  status = harness_run_child(library_refuses, (void *)want_cli);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "library child: %d", status);
  impostor_heard_nothing(im);

  const char *daemon_argv[] = { getenv("SHMVIEWD"), "--prefix", prefix, NULL };
  ck_assert_ptr_nonnull(daemon_argv[0]);
  status = run_as_victim(daemon_argv, NULL, out, sizeof out);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0, "shmviewd: status %d: %s", status,
                out);
  ck_assert_msg(strstr(out, want_daemon) != NULL, "shmviewd said: %s", out);
}

START_TEST(planted_directory_is_refused) {
  struct impostor im;
  char want[256];

  impostor_start(&im, false);
  snprintf(want, sizeof want, "directory %s is owned by uid %u, not %u", fallback,
           (unsigned)attacker, (unsigned)victim);
  victim_refuses(&im, want, want);
  impostor_stop(&im);
}
END_TEST

START_TEST(planted_symlink_is_refused) {
  struct impostor im;
  char want[256];

  impostor_start(&im, true);
  snprintf(want, sizeof want, "%s is a symbolic link (owned by uid %u) to %s (owned by uid %u)",
           fallback, (unsigned)attacker, attacker_dir, (unsigned)attacker);
  victim_refuses(&im, want, want);
  impostor_stop(&im);
}
END_TEST

/* The legitimate case: the victim's own daemon makes the directory 0700
 * and its clients use it; opened to others, the clients refuse it. */
START_TEST(own_directory_is_used) {
  char out[2048];
  int status;

  pid_t d = fork();
  ck_assert_int_ge(d, 0);
  if (d == 0) {
    char *const env[] = { "PATH=/usr/bin:/bin", NULL };
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    become(victim, victim);
    execle(getenv("SHMVIEWD"), "shmviewd", "--prefix", prefix, (char *)NULL, env);
    _exit(127);
  }
  struct stat st;
  for (int i = 0; i < 500 && lstat(fallback_sock, &st) != 0; i++)
    usleep(10000);
  ck_assert_msg(lstat(fallback_sock, &st) == 0, "the victim's daemon made no %s", fallback_sock);
  ck_assert_int_eq(lstat(fallback, &st), 0);
  ck_assert_int_eq(st.st_mode & 07777, 0700);
  ck_assert_int_eq(st.st_uid, victim);

  const char *create_argv[] = { cli(), "create", "mydata", "4K", NULL };
  status = run_as_victim(create_argv, NULL, out, sizeof out);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "create: %s", out);
  const char *write_argv[] = { cli(), "write", "mydata", NULL };
  status = run_as_victim(write_argv, "SECRET", out, sizeof out);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "write: %s", out);
  const char *dump_argv[] = { cli(), "dump", "mydata:0:6", NULL };
  status = run_as_victim(dump_argv, NULL, out, sizeof out);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "dump: %s", out);
  ck_assert_msg(strstr(out, "SECRET") != NULL, "dump: %s", out);

  /* Opened to others, it could hold anyone's socket next time. */
  ck_assert_int_eq(chmod(fallback, 0755), 0);
  char want[128];
  snprintf(want, sizeof want, "directory %s has mode 0755, not 0700", fallback);
  const char *list_argv[] = { cli(), "list", NULL };
  status = run_as_victim(list_argv, NULL, out, sizeof out);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0, "list: %s", out);
  ck_assert_msg(strstr(out, want) != NULL, "list said: %s", out);

  kill(d, SIGTERM);
  ck_assert_int_eq(waitpid(d, &status, 0), d);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon status %d", status);
}
END_TEST

int main(void) {
  if (geteuid() != 0) {
    fprintf(stderr, "SKIP: test-fallback needs root (to run a victim and an attacker)\n");
    return 77;
  }
  Suite *s = suite_create("fallback");
  TCase *t = tcase_create("fallback");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, planted_directory_is_refused);
  tcase_add_test(t, planted_symlink_is_refused);
  tcase_add_test(t, own_directory_is_used);
  suite_add_tcase(s, t);
  victim_base = 61000 + (uid_t)(getpid() % 4000);
  struct passwd *pw = getpwnam("nobody");
  attacker = pw != NULL ? pw->pw_uid : 65534;
  int status = harness_main(s);
  /* A failed test leaves its planted (or own) directory behind. */
  for (uid_t u = victim_base; u < victim_base + 32; u++) {
    char cmd[128];
    struct stat st;
    snprintf(fallback, sizeof fallback, "/tmp/shmview-%u", (unsigned)u);
    if (lstat(fallback, &st) == 0 && (st.st_uid == u || st.st_uid == attacker)) {
      snprintf(cmd, sizeof cmd, "rm -rf '%s'", fallback);
      (void)!system(cmd);
    }
  }
  return status;
}

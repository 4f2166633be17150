/* SPDX-License-Identifier: MIT */
/*
 * harness.c: the real shmviewd for tests. See harness.h.
 *
 * Check runs each test in a forked child; a failing test exits without its
 * teardown. So a daemon is tied to the test process that started it
 * (PR_SET_PDEATHSIG) and every name it uses carries the run's id, which
 * harness_run_end() sweeps from /dev/shm and /tmp whatever happened.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static unsigned counter;

/* The run id: the pid of the test program's main process. */
static const char *run_id(void) {
  static char id[32];
  const char *e = getenv("SHMVIEW_TEST_RUN");

  if (e == NULL) {
    snprintf(id, sizeof id, "%d", (int)getpid());
    setenv("SHMVIEW_TEST_RUN", id, 1);
    return id;
  }
  snprintf(id, sizeof id, "%s", e);
  return id;
}

void harness_run_begin(void) {
  char id[32];

  snprintf(id, sizeof id, "%d", (int)getpid());
  setenv("SHMVIEW_TEST_RUN", id, 1);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void sweep_shm_named(const char *start, bool say) {
  DIR *dir = opendir("/dev/shm");
  struct dirent *e;
  char path[512];

  if (dir == NULL)
    return;
  while ((e = readdir(dir)) != NULL) {
    if (strncmp(e->d_name, start, strlen(start)) == 0) {
      if (say)
        fprintf(stderr, "harness: left in /dev/shm: %s\n", e->d_name);
      snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
      unlink(path);
    }
  }
  closedir(dir);
}

static void sweep_shm(const char *start) {
  sweep_shm_named(start, false);
}

static bool is_lock(const char *name) {
  size_t n = strlen(name);

  return n > 6 && strcmp(name + n - 6, "..lock") == 0;
}

static int count_locks(const char *start) {
  DIR *dir = opendir("/dev/shm");
  struct dirent *e;
  int n = 0;

  if (dir == NULL)
    return 0;
  while ((e = readdir(dir)) != NULL)
    if (strncmp(e->d_name, start, strlen(start)) == 0 && is_lock(e->d_name))
      n++;
  closedir(dir);
  return n;
}

int harness_run_end(void) {
  char start[64], path[512];
  DIR *dir;
  struct dirent *e;
  int left;

  snprintf(start, sizeof start, "shmvt%s-", run_id());
  /* Daemons of failed tests get SIGTERM when their test exits; give them
   * a moment, then remove whatever is left. */
  usleep(100 * 1000);
  /* A daemon's prefix lock, "<prefix>..lock", stays after a clean stop by
   * design: swept, not counted. */
  left = harness_shm_count_start(start) - count_locks(start);
  sweep_shm_named(start, left > 0);
  dir = opendir("/tmp");
  if (dir != NULL) {
    while ((e = readdir(dir)) != NULL) {
      if (strncmp(e->d_name, start, strlen(start)) == 0) {
        snprintf(path, sizeof path, "/tmp/%s", e->d_name);
        nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
      }
    }
    closedir(dir);
  }
  return left;
}

int harness_shm_count_start(const char *start) {
  DIR *dir = opendir("/dev/shm");
  struct dirent *e;
  int n = 0;

  if (dir == NULL)
    return -1;
  while ((e = readdir(dir)) != NULL)
    if (strncmp(e->d_name, start, strlen(start)) == 0)
      n++;
  closedir(dir);
  return n;
}

int harness_shm_count(const char *prefix) {
  char start[80], lock[96];
  int n;

  snprintf(start, sizeof start, "%s.", prefix);
  n = harness_shm_count_start(start);
  /* The daemon's prefix lock, "<prefix>..lock", is not a segment. */
  snprintf(lock, sizeof lock, "%s..lock", prefix);
  if (n > 0 && harness_shm_count_start(lock) > 0)
    n--;
  return n;
}

void harness_impostor_serve(int l, int report) {
  for (;;) {
    int s = accept(l, NULL, NULL);
    if (s < 0)
      _exit(4);
    size_t total = 0;
    char buf[4096];
    struct pollfd p = { .fd = s, .events = POLLIN };
    while (poll(&p, 1, 1000) == 1) {
      ssize_t n = read(s, buf, sizeof buf);
      if (n <= 0)
        break;
      total += (size_t)n;
    }
    close(s);
    char line[32];
    int len = snprintf(line, sizeof line, "%zu\n", total);
    (void)!write(report, line, (size_t)len);
  }
}

int harness_raw_connect(const struct harness_daemon *d) {
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", d->socket);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static bool valgrind_wanted(void) {
  const char *e = getenv("SHMVIEW_TEST_VALGRIND");

  return e != NULL && strcmp(e, "1") == 0;
}

#define PASS_MAX 64
static int pass_fds[PASS_MAX], pass_n;
static char pass_names[PASS_MAX * 256];

void harness_pass_fds(const int *fds, int n, const char *names) {
  ck_assert(n >= 0 && n <= PASS_MAX);
  if (n > 0) /* fds may be NULL with n 0: memcpy's pointers may not */
    memcpy(pass_fds, fds, sizeof *fds * (size_t)n);
  pass_n = n;
  snprintf(pass_names, sizeof pass_names, "%s", names != NULL ? names : "");
}

/* In the daemon's child, before exec: the passed descriptors at 3.. (moved
 * above them first, so that none is overwritten before it is moved). */
static void pass_to_child(void) {
  char n[16], pid[16];
  int moved[PASS_MAX];

  if (pass_n == 0)
    return;
  for (int i = 0; i < pass_n; i++)
    moved[i] = fcntl(pass_fds[i], F_DUPFD, 3 + PASS_MAX);
  for (int i = 0; i < pass_n; i++)
    if (moved[i] < 0 || dup2(moved[i], 3 + i) != 3 + i)
      _exit(126);
  for (int i = 0; i < pass_n; i++)
    close(moved[i]);
  snprintf(n, sizeof n, "%d", pass_n);
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  setenv("LISTEN_FDS", n, 1);
  setenv("LISTEN_PID", pid, 1);
  if (pass_names[0] != '\0')
    setenv("LISTEN_FDNAMES", pass_names, 1);
}

static void spawn(struct harness_daemon *d, const char *const *extra_args) {
  const char *daemon_path = getenv("SHMVIEWD");
  const char *argv[64];
  char vglog[320];
  int n = 0;
  pid_t parent = getpid();

  ck_assert_msg(daemon_path != NULL, "SHMVIEWD is not set (run through make check)");
  if (d->valgrind) {
    snprintf(vglog, sizeof vglog, "--log-file=%s/valgrind.log", d->dir);
    argv[n++] = "valgrind";
    argv[n++] = "--quiet";
    argv[n++] = "--error-exitcode=99";
    argv[n++] = "--leak-check=full";
    argv[n++] = "--show-leak-kinds=definite,indirect";
    argv[n++] = "--errors-for-leak-kinds=definite,indirect";
    argv[n++] = "--track-fds=no";
    argv[n++] = vglog;
  }
  argv[n++] = daemon_path;
  argv[n++] = "--socket";
  argv[n++] = d->socket;
  argv[n++] = "--prefix";
  argv[n++] = d->prefix;
  argv[n++] = "--log-level";
  argv[n++] = getenv("SHMVIEW_TEST_DEBUG") != NULL ? "debug" : "warning";
  for (int i = 0; extra_args != NULL && extra_args[i] != NULL && n < 62; i++)
    argv[n++] = extra_args[i];
  argv[n] = NULL;

  d->pid = fork();
  ck_assert_msg(d->pid >= 0, "fork: %s", strerror(errno));
  if (d->pid == 0) {
    /* Die with the test that started us, even if it fails mid-way. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(127);
    pass_to_child();
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
}

static void wait_ready(struct harness_daemon *d) {
  int tries = d->valgrind ? 600 : 200; /* 10 ms each */

  for (int i = 0; i < tries; i++) {
    int status, fd = harness_raw_connect(d);

    if (fd >= 0) {
      close(fd);
      return;
    }
    if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
      d->pid = 0;
      ck_abort_msg("shmviewd exited during start-up (status %d)", status);
    }
    usleep(10 * 1000);
  }
  ck_abort_msg("shmviewd did not accept connections on %s", d->socket);
}

void harness_daemon_start(struct harness_daemon *d, const char *const *extra_args) {
  char tmpl[128];

  memset(d, 0, sizeof *d);
  counter++;
  /* /tmp rather than the build tree: sun_path holds only 108 bytes. */
  snprintf(tmpl, sizeof tmpl, "/tmp/shmvt%s-%d-%u-XXXXXX", run_id(), (int)getpid(), counter);
  ck_assert_msg(mkdtemp(tmpl) != NULL, "mkdtemp: %s", strerror(errno));
  snprintf(d->dir, sizeof d->dir, "%s", tmpl);
  ck_assert_msg((size_t)snprintf(d->socket, sizeof d->socket, "%s/s.sock", d->dir) <
                    sizeof d->socket,
                "socket path too long");
  snprintf(d->prefix, sizeof d->prefix, "shmvt%s-%d-%u", run_id(), (int)getpid(), counter);
  d->valgrind = valgrind_wanted();
  spawn(d, extra_args);
  wait_ready(d);
}

void harness_daemon_restart(struct harness_daemon *d, const char *const *extra_args) {
  spawn(d, extra_args);
  wait_ready(d);
}

static int reap(struct harness_daemon *d, int sig) {
  int status = 0;

  if (d->pid <= 0)
    return -1;
  kill(d->pid, sig);
  while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR)
    ;
  d->pid = 0;
  return status;
}

void harness_daemon_kill(struct harness_daemon *d) {
  reap(d, SIGKILL);
}

static void show_valgrind_log(const struct harness_daemon *d) {
  char path[320], line[512];
  FILE *f;

  snprintf(path, sizeof path, "%s/valgrind.log", d->dir);
  f = fopen(path, "r");
  if (f == NULL)
    return;
  while (fgets(line, sizeof line, f) != NULL)
    fputs(line, stderr);
  fclose(f);
}

int harness_daemon_stop(struct harness_daemon *d) {
  char start[80];
  int status = reap(d, SIGTERM);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

  if (code != 0 && d->valgrind)
    show_valgrind_log(d);
  snprintf(start, sizeof start, "%s.", d->prefix);
  sweep_shm(start);
  nftw(d->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
  return code;
}

int harness_run_child(int (*fn)(void *arg), void *arg) {
  int status;
  pid_t pid = fork();

  ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0)
    _exit(fn(arg));
  while (waitpid(pid, &status, 0) < 0)
    ck_assert_int_eq(errno, EINTR);
  return status;
}

bool harness_can_attack(const char *prog, const char *test) {
  if (geteuid() == 0)
    return true;
  fprintf(stderr, "%s: %s skipped: needs root to run the attacker as another uid\n", prog, test);
  return false;
}

void harness_open_to_all(const struct harness_daemon *d) {
  ck_assert_int_eq(chmod(d->dir, 0711), 0);
  ck_assert_int_eq(chmod(d->socket, 0666), 0);
}

int harness_become(uid_t uid, gid_t gid) {
  if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
    return -1;
  /* An attacker that could become root again would prove nothing. */
  if (getuid() != uid || geteuid() != uid || getegid() != gid || setuid(0) == 0)
    return -1;
  return 0;
}

int harness_run_as(uid_t uid, gid_t gid, int (*fn)(void *arg), void *arg) {
  int status;
  pid_t pid = fork();

  ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    /* Die with the test, as the daemon does. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (harness_become(uid, gid) != 0)
      _exit(100);
    _exit(fn(arg));
  }
  while (waitpid(pid, &status, 0) < 0)
    ck_assert_int_eq(errno, EINTR);
  return status;
}

pid_t harness_start_holder(int (*fn)(void *arg), void *arg) {
  int p[2], rc;
  pid_t pid;
  char b;

  ck_assert_int_eq(pipe(p), 0);
  pid = fork();
  ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    close(p[0]);
    if ((rc = fn(arg)) != 0)
      _exit(rc);
    if (write(p[1], "r", 1) != 1)
      _exit(120);
    pause();
    _exit(0);
  }
  close(p[1]);
  ck_assert_msg(read(p[0], &b, 1) == 1, "holder child %ld failed before it was ready", (long)pid);
  close(p[0]);
  return pid;
}

void harness_say(int fd, char c) {
  if (write(fd, &c, 1) != 1)
    _exit(3);
}

char harness_hear(int fd) {
  char c = 0;

  if (read(fd, &c, 1) != 1)
    _exit(4);
  return c;
}

int harness_main(Suite *s) {
  SRunner *sr;
  int failed, left;

  harness_run_begin();
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  left = harness_run_end();
  if (left > 0) {
    fprintf(stderr, "harness: %d shm object%s left in /dev/shm by this run\n", left,
            left == 1 ? "" : "s");
    failed++;
  }
  return failed == 0 ? 0 : 1;
}

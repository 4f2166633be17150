/* SPDX-License-Identifier: MIT */
/*
 * harness.h: start the real, built shmviewd for a test.
 *
 * Each daemon gets a private temporary directory for its socket and a
 * unique --prefix, so concurrent test runs never collide; stopping it
 * removes any shm object left under that prefix, so nothing stays behind
 * in /dev/shm. With SHMVIEW_TEST_VALGRIND=1 in the environment the daemon
 * runs under valgrind and harness_daemon_stop() reports its errors/leaks.
 */
#ifndef SHMV_TESTS_HARNESS_H
#define SHMV_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <check.h>

struct harness_daemon {
  pid_t pid;
  char dir[256];    /* private temporary directory */
  char socket[108]; /* dir/s.sock */
  char prefix[64];  /* unique shm prefix */
  bool valgrind;
};

/* Start $SHMVIEWD --socket ... --prefix ... plus extra_args (NULL-terminated,
 * may be NULL) and wait until it accepts connections. Aborts the test
 * (ck_abort) on failure. */
void harness_daemon_start(struct harness_daemon *d, const char *const *extra_args);

/* SIGTERM the daemon and wait. Returns its exit status (0 expected; under
 * valgrind non-zero also when valgrind found errors or leaks), removes every
 * /dev/shm/<prefix>.* left over, and the temporary directory. */
int harness_daemon_stop(struct harness_daemon *d);

/* Restart a stopped daemon with the same socket and prefix (segments and
 * state left in place). */
void harness_daemon_restart(struct harness_daemon *d, const char *const *extra_args);

/* The next start or restart passes these n descriptors as a service
 * manager does (sd_listen_fds(3)): at 3, 4, ..., with LISTEN_FDS,
 * LISTEN_PID (the daemon's own) and LISTEN_FDNAMES (names, ':'-separated;
 * NULL: none). n = 0 passes none again. The caller keeps its descriptors. */
void harness_pass_fds(const int *fds, int n, const char *names);

/* SIGKILL the daemon and reap it, leaving its segments and files behind. */
void harness_daemon_kill(struct harness_daemon *d);

/* Number of /dev/shm entries named <prefix>.* */
int harness_shm_count(const char *prefix);

/* Assert that a libshmview call returned 0, naming the call and its error
 * (shmv_strerror: the test includes shmview.h). */
#define OK(expr)                                                             \
  do {                                                                       \
    int rc_ = (expr);                                                        \
    ck_assert_msg(rc_ == 0, "%s = %d (%s)", #expr, rc_, shmv_strerror(rc_)); \
  } while (0)

/* Children report failures through their exit status: a ck_assert in a
 * forked child would be lost. */
#define CHILD_CHECK(cond)                                                            \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: child check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                      \
    }                                                                                \
  } while (0)

/* Run fn(arg) in a forked child process; returns its wait status. The
 * child exits with fn's return value (0 = success). */
int harness_run_child(int (*fn)(void *arg), void *arg);

/* A child that runs fn(arg) (typically: connect and open views), then
 * says it is ready and waits to be killed. Returns its pid once it is
 * ready; the test fails if fn returned non-zero (the child exits with that
 * value). The caller kills and reaps the child. */
pid_t harness_start_holder(int (*fn)(void *arg), void *arg);

/* One byte over a pipe between test processes. A failed write or read
 * (the peer died) ends the process: 3 from harness_say, 4 from
 * harness_hear. */
void harness_say(int fd, char c);
char harness_hear(int fd);

/* ---- attackers: real processes of another, unprivileged uid ---- */

#define HARNESS_NOBODY    65534 /* nobody */
#define HARNESS_NO_PASSWD 60001 /* a uid with no passwd entry */

/* True when the test may run attackers as other uids (it runs as root, as
 * make check in CI does); otherwise prints the one line "PROG: TEST
 * skipped: needs root to run the attacker as another uid" and returns
 * false, and the test returns (passes). */
bool harness_can_attack(const char *prog, const char *test);

/* Let every uid reach d's socket (its directory 0711, the socket 0666). */
void harness_open_to_all(const struct harness_daemon *d);

/* Become uid (group gid, no supplementary groups; real, effective and
 * saved ids, so root cannot be got back, which it checks): 0, or -1. For
 * children that must drop root themselves (harness_start_holder's fn). */
int harness_become(uid_t uid, gid_t gid);

/* Run fn(arg) in a forked child that first becomes uid (group gid, no
 * supplementary groups; real, effective and saved ids, so it cannot get
 * root back, which it checks). Returns the wait status; the child exits
 * with fn's return value, or 100 when it could not drop root. */
int harness_run_as(uid_t uid, gid_t gid, int (*fn)(void *arg), void *arg);

/* Assert that a wait status (evaluated once) is a clean exit 0, naming
 * what the attacker tried. */
#define ATTACK_OK(status, what)                                                  \
  do {                                                                           \
    int st_ = (status);                                                          \
    ck_assert_msg(WIFEXITED(st_) && WEXITSTATUS(st_) == 0,                       \
                  "%s: the attacker's checks failed (status %#x)", (what), st_); \
  } while (0)

/* In a forked impostor daemon: accept connections on the listening socket
 * l for ever, and for each write one line to report, the number of bytes
 * its client sent before it went quiet for a second (0: the client sent
 * nothing, as one that refused the impostor does). Exits 4 if accept
 * fails. */
void harness_impostor_serve(int l, int report) __attribute__((noreturn));

/* A raw connected socket to the daemon (for hostile-input tests), or -1. */
int harness_raw_connect(const struct harness_daemon *d);

/* A test program's main: runs the suite (each test forked), then removes
 * anything this run left in /dev/shm or /tmp (a failed test skips its
 * teardown). Returns the exit status for main. */
int harness_main(Suite *s);

/* The same in two halves, for programs that run their own SRunner.
 * harness_run_end returns how many shm objects it had to remove. */
void harness_run_begin(void);
int harness_run_end(void);

/* Number of /dev/shm entries whose names start with `start`. */
int harness_shm_count_start(const char *start);

#endif

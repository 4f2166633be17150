/* SPDX-License-Identifier: MIT */
/*
 * test-wait.c: shmv_view_wait / shmv_view_wake between real processes.
 *
 * A waiter in one process is woken by a writer in another (through views at
 * different offsets of the segment, so different addresses of one word),
 * a waiter on a read-only view, many waiters woken at once or a few at a
 * time, timeouts (also across signals), the argument checks, and a writer
 * killed with -9 while a reader waits: the reader's timeout fires and the
 * daemon's lease count tells it the writer is gone.
 *
 * "Asleep" is checked, not assumed: before a wake the test waits until the
 * waiter sleeps in the kernel's futex code (/proc/PID/wchan), so a wake that
 * does not reach another process's waiter (a private futex) fails the test
 * instead of passing by luck.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

#define SEC  1000000000LL
#define MSEC 1000000LL

static struct harness_daemon d;

static void setup(void) {
  harness_daemon_start(&d, NULL);
}

static void teardown(void) {
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static uint32_t *word_at(shmv_view *v, size_t offset) {
  return (uint32_t *)((char *)shmv_view_data(v) + offset);
}

static void store(shmv_view *v, size_t offset, uint32_t val) {
  __atomic_store_n(word_at(v, offset), val, __ATOMIC_RELEASE);
}

static uint32_t load(shmv_view *v, size_t offset) {
  return __atomic_load_n(word_at(v, offset), __ATOMIC_ACQUIRE);
}

static int read_proc(pid_t pid, const char *what, char *buf, size_t cap) {
  char path[64];
  FILE *f;

  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
  if ((f = fopen(path, "r")) == NULL)
    return -1;
  size_t n = fread(buf, 1, cap - 1, f);
  fclose(f);
  buf[n] = '\0';
  return 0;
}

/* 'S' if pid is asleep, as /proc/PID/stat says. */
static char proc_state(pid_t pid) {
  char buf[512];
  if (read_proc(pid, "stat", buf, sizeof buf) != 0)
    return '?';
  const char *p = strrchr(buf, ')');
  return p != NULL && p[1] == ' ' ? p[2] : '?';
}

/* Whether /proc/PID/wchan names where a task sleeps (kernels may hide it
 * as "0"): asked once of a child asleep in pause(). */
static int wchan_works(void) {
  static int known = -1;
  if (known >= 0)
    return known;
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    pause();
    _exit(0);
  }
  /* A task that set itself asleep but is still on its way out of the CPU
   * reads "0" too: look again for up to 2 s. */
  known = 0;
  for (int i = 0; i < 2000 && !known; i++) {
    char buf[128] = "0";
    usleep(1000);
    known = proc_state(pid) == 'S' && read_proc(pid, "wchan", buf, sizeof buf) == 0 &&
            buf[0] != '\0' && strcmp(buf, "0") != 0;
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return known;
}

/* Whether process pid sleeps in the kernel's futex code now. Where wchan is
 * hidden, "asleep" has to do: a child still waiting for the daemon's answer
 * passes too, so there a very slow daemon could fail a test. */
static int in_futex(pid_t pid) {
  char buf[128];

  if (!wchan_works())
    return proc_state(pid) == 'S';
  return read_proc(pid, "wchan", buf, sizeof buf) == 0 && strstr(buf, "futex") != NULL;
}

/* Wait (up to 20 s) until every pid sleeps on a futex. */
static void await_asleep(const pid_t *pids, int n) {
  int64_t end = mono_ns() + 20 * SEC;
  for (;;) {
    int all = 1;
    for (int i = 0; i < n; i++)
      all = all && in_futex(pids[i]);
    if (all)
      return;
    ck_assert_msg(mono_ns() < end, "waiters did not fall asleep on the futex within 20 s");
    usleep(2000);
  }
}

static int exit_code(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0)
    ck_assert_int_eq(errno, EINTR);
  ck_assert_msg(WIFEXITED(st), "child %d died of signal %d", (int)pid,
                WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return WEXITSTATUS(st);
}

static shmv_client *connect_or_die(void) {
  shmv_client *c;
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  return c;
}

/* A waiter process: view [view_off, view_off + len) of "w", read-only or
 * not; waits while the word at offset is 0; exits 0 if it then reads want. */
struct waiter {
  size_t view_off, len, offset;
  int writable;
  uint32_t want;
  int64_t timeout_ns;
  int expect_rc; /* what the first wait that ends must return */
};

static int waiter_main(void *arg) {
  struct waiter *w = arg;
  shmv_client *c;
  shmv_view *v;
  int rc;

  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "w", w->view_off, w->len, w->writable ? SHMV_WRITABLE : 0, &v) ==
              0);
  CHILD_CHECK(shmv_view_readonly(v) == !w->writable);
  while ((rc = shmv_view_wait(v, w->offset, 0, w->timeout_ns)) == 0 && load(v, w->offset) == 0)
    ; /* a wake without a change: wait again */
  CHILD_CHECK(rc == w->expect_rc);
  if (rc == 0)
    CHILD_CHECK(load(v, w->offset) == w->want);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

static pid_t spawn(int (*fn)(void *), void *arg) {
  pid_t pid = fork();
  ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0)
    _exit(fn(arg));
  return pid;
}

/* ---- a waiter woken by a writer in another process ----------------------- */

START_TEST(woken_across_processes) {
  shmv_client *c = connect_or_die();
  shmv_view *v;

  ck_assert_int_eq(shmv_create(c, "w", 8192, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "w", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);

  /* The waiter maps only the second page: the word is at 4096 of the
   * segment, at offset 0 of its view and 4096 of ours. */
  struct waiter w = { 4096, 4096, 0, 1, 42, 60 * SEC, 0 };
  pid_t pid = spawn(waiter_main, &w);
  await_asleep(&pid, 1);
  store(v, 4096, 42);
  ck_assert_int_eq(shmv_view_wake(v, 4096, 1), 1);
  ck_assert_int_eq(exit_code(pid), 0);

  /* Nobody waits now. */
  ck_assert_int_eq(shmv_view_wake(v, 4096, SHMV_WAKE_ALL), 0);
  shmv_view_release(v);
  shmv_disconnect(c);
}
END_TEST

/* ---- a waiter on a read-only view, which also wakes the writer ------------ */

static int ro_reader(void *arg) {
  (void)arg;
  shmv_client *c;
  shmv_view *v;

  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "w", 0, SHMV_TO_END, 0, &v) == 0);
  CHILD_CHECK(shmv_view_readonly(v));
  while (load(v, 0) == 0)
    CHILD_CHECK(shmv_view_wait(v, 0, 0, 60 * SEC) == 0);
  CHILD_CHECK(load(v, 0) == 7);
  /* It cannot write an acknowledgement, but it can wake the writer, which
   * sleeps on word 4 (unchanged): wake until the writer was there. */
  int64_t end = mono_ns() + 20 * SEC;
  int n;
  while ((n = shmv_view_wake(v, 4, 1)) == 0 && mono_ns() < end)
    usleep(1000);
  CHILD_CHECK(n == 1);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

START_TEST(read_only_view) {
  shmv_client *c = connect_or_die();
  shmv_view *v;

  ck_assert_int_eq(shmv_create(c, "w", 4096, 0644), 0);
  ck_assert_int_eq(shmv_view_open(c, "w", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  pid_t pid = spawn(ro_reader, NULL);
  await_asleep(&pid, 1);
  store(v, 0, 7);
  ck_assert_int_eq(shmv_view_wake(v, 0, 1), 1);
  /* The reader's wake ends this wait although the word stays 0. */
  ck_assert_int_eq(shmv_view_wait(v, 4, 0, 60 * SEC), 0);
  ck_assert_uint_eq(load(v, 4), 0);
  ck_assert_int_eq(exit_code(pid), 0);
  shmv_view_release(v);
  shmv_disconnect(c);
}
END_TEST

/* ---- many waiters, woken a few at a time and all at once ----------------- */

#define MANY 8

START_TEST(many_waiters) {
  shmv_client *c = connect_or_die();
  shmv_view *v;
  pid_t pids[MANY];

  ck_assert_int_eq(shmv_create(c, "w", 4096, 0644), 0);
  ck_assert_int_eq(shmv_view_open(c, "w", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  /* half of them on read-only views */
  struct waiter w[2] = { { 0, SHMV_TO_END, 64, 1, 9, 60 * SEC, 0 },
                         { 0, SHMV_TO_END, 64, 0, 9, 60 * SEC, 0 } };
  for (int i = 0; i < MANY; i++)
    pids[i] = spawn(waiter_main, &w[i % 2]);
  await_asleep(pids, MANY);

  /* A wake without a change: exactly three leave the futex, see the word
   * still 0 and wait again. */
  ck_assert_int_eq(shmv_view_wake(v, 64, 3), 3);
  await_asleep(pids, MANY);

  store(v, 64, 9);
  ck_assert_int_eq(shmv_view_wake(v, 64, SHMV_WAKE_ALL), MANY);
  for (int i = 0; i < MANY; i++)
    ck_assert_int_eq(exit_code(pids[i]), 0);
  shmv_view_release(v);
  shmv_disconnect(c);
}
END_TEST

/* ---- timeouts, signals, arguments ---------------------------------------- */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig) {
  (void)sig;
  alarms++;
}

START_TEST(timeouts) {
  shmv_client *c = connect_or_die();
  shmv_view *v;

  ck_assert_int_eq(shmv_create(c, "w", 4096, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "w", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);

  /* The word already differs: 0 at once, whatever the timeout. */
  store(v, 8, 5);
  ck_assert_int_eq(shmv_view_wait(v, 8, 4, 0), 0);
  ck_assert_int_eq(shmv_view_wait(v, 8, 4, -1), 0);
  ck_assert_int_eq(shmv_view_wait_spin(v, 8, 4, -1, SHMV_SPIN_ADAPTIVE), 0);
  /* It does not: a zero timeout does not sleep. */
  ck_assert_int_eq(shmv_view_wait(v, 8, 5, 0), -ETIMEDOUT);
  ck_assert_int_eq(shmv_view_wait_spin(v, 8, 5, 0, 1000), -ETIMEDOUT);

  int64_t t0 = mono_ns();
  ck_assert_int_eq(shmv_view_wait(v, 8, 5, 50 * MSEC), -ETIMEDOUT);
  ck_assert_int_ge(mono_ns() - t0, 50 * MSEC);
  t0 = mono_ns();
  ck_assert_int_eq(shmv_view_wait_spin(v, 8, 5, 30 * MSEC, 10000), -ETIMEDOUT);
  ck_assert_int_ge(mono_ns() - t0, 30 * MSEC);
  t0 = mono_ns();
  ck_assert_int_eq(shmv_view_wait_spin(v, 8, 5, 30 * MSEC, SHMV_SPIN_ADAPTIVE), -ETIMEDOUT);
  ck_assert_int_ge(mono_ns() - t0, 30 * MSEC);

  /* Signals (no SA_RESTART) every 10 ms do not end a 200 ms wait early. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
  struct itimerval it = { { 0, 10000 }, { 0, 10000 } };
  ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
  t0 = mono_ns();
  ck_assert_int_eq(shmv_view_wait(v, 8, 5, 200 * MSEC), -ETIMEDOUT);
  int64_t took = mono_ns() - t0;
  struct itimerval off = { { 0, 0 }, { 0, 0 } };
  setitimer(ITIMER_REAL, &off, NULL);
  ck_assert_int_ge(took, 200 * MSEC);
  ck_assert_int_gt(alarms, 0);

  shmv_view_release(v);
  shmv_disconnect(c);
}
END_TEST

START_TEST(arguments) {
  shmv_client *c = connect_or_die();
  shmv_view *v, *odd, *empty, *slice;

  ck_assert_int_eq(shmv_create(c, "w", 4096, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "w", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  ck_assert_int_eq(shmv_view_open(c, "w", 2, 100, 0, &odd), 0);
  ck_assert_int_eq(shmv_view_open(c, "w", 4096, 0, 0, &empty), 0);

  /* misaligned in the segment */
  ck_assert_int_eq(shmv_view_wait(v, 2, 0, 0), -EINVAL);
  ck_assert_int_eq(shmv_view_wake(v, 1, 1), -EINVAL);
  ck_assert_int_eq(shmv_view_wait(odd, 0, 0, 0), -EINVAL);
  /* the view starts at 2: its offset 2 is the segment's 4 */
  ck_assert_int_eq(shmv_view_wait(odd, 2, 1, 0), 0);
  ck_assert_int_eq(shmv_view_wake(odd, 2, 1), 0);
  /* outside the view */
  ck_assert_int_eq(shmv_view_wait(v, 4096, 0, 0), -ERANGE);
  ck_assert_int_eq(shmv_view_wait(v, 4094, 0, 0), -ERANGE);
  ck_assert_int_eq(shmv_view_wake(v, (size_t)-4, 1), -ERANGE);
  ck_assert_int_eq(shmv_view_wait(odd, 98, 0, 0), -ERANGE); /* bytes 98..101 of a 100-byte view */
  ck_assert_int_eq(shmv_view_wait(empty, 0, 0, 0), -ERANGE);
  ck_assert_int_eq(shmv_view_wake(empty, 0, 1), -ERANGE);
  ck_assert_int_eq(shmv_view_slice(v, 100, 102, &slice), 0);
  ck_assert_int_eq(shmv_view_wait(slice, 0, 0, 0), -ERANGE);
  shmv_view_release(slice);
  ck_assert_int_eq(shmv_view_slice(v, 100, 104, &slice), 0);
  ck_assert_int_eq(shmv_view_wait(slice, 0, 0, 0), -ETIMEDOUT);
  shmv_view_release(slice);
  /* bad counts, spins, handles */
  ck_assert_int_eq(shmv_view_wake(v, 0, 0), -EINVAL);
  ck_assert_int_eq(shmv_view_wake(v, 0, -1), -EINVAL);
  ck_assert_int_eq(shmv_view_wait_spin(v, 0, 0, 0, -2), -EINVAL);
  ck_assert_int_eq(shmv_view_wait(NULL, 0, 0, 0), -EINVAL);
  ck_assert_int_eq(shmv_view_wake(NULL, 0, 1), -EINVAL);

  shmv_view_release(empty);
  shmv_view_release(odd);
  shmv_view_release(v);
  shmv_disconnect(c);
}
END_TEST

/* ---- a writer killed while a reader waits -------------------------------- */

static int dying_writer(void *arg) {
  int *ready = arg;
  shmv_client *c;
  shmv_view *v;

  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "w", 0, SHMV_TO_END, SHMV_WRITABLE, &v) == 0);
  memset((char *)shmv_view_data(v) + 64, 'x', 100); /* half a payload, never published */
  if (write(ready[1], "r", 1) != 1)
    return 2;
  for (;;)
    pause(); /* killed here */
}

static int waiting_reader(void *arg) {
  (void)arg;
  shmv_client *c;
  shmv_view *v;
  shmv_segment_info info;

  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "w", 0, SHMV_TO_END, 0, &v) == 0);
  /* Wait for the sequence word in bounded slices; the writer's death is
   * seen as no writable view of the segment being left. */
  int64_t end = mono_ns() + 30 * SEC;
  for (;;) {
    int rc = shmv_view_wait(v, 0, 0, 100 * MSEC);
    CHILD_CHECK(rc == -ETIMEDOUT); /* never published */
    CHILD_CHECK(shmv_stat(c, "w", &info) == 0);
    if (info.writable_views == 0)
      break;
    CHILD_CHECK(mono_ns() < end);
  }
  CHILD_CHECK(load(v, 0) == 0);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

START_TEST(writer_killed) {
  shmv_client *c = connect_or_die();
  int ready[2];

  ck_assert_int_eq(shmv_create(c, "w", 4096, 0644), 0);
  ck_assert_int_eq(pipe(ready), 0);
  pid_t writer = spawn(dying_writer, ready);
  char ch;
  ck_assert_int_eq(read(ready[0], &ch, 1), 1);
  pid_t reader = spawn(waiting_reader, NULL);
  await_asleep(&reader, 1);
  ck_assert_int_eq(kill(writer, SIGKILL), 0);
  int st;
  ck_assert_int_eq(waitpid(writer, &st, 0), writer);
  ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  ck_assert_int_eq(exit_code(reader), 0);
  close(ready[0]);
  close(ready[1]);
  shmv_disconnect(c);
}
END_TEST

static Suite *wait_suite(void) {
  Suite *s = suite_create("wait");
  TCase *tc = tcase_create("futex");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, woken_across_processes);
  tcase_add_test(tc, read_only_view);
  tcase_add_test(tc, many_waiters);
  tcase_add_test(tc, timeouts);
  tcase_add_test(tc, arguments);
  tcase_add_test(tc, writer_killed);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(wait_suite());
}

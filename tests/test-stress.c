/* SPDX-License-Identifier: MIT */
/*
 * test-stress.c: 500 clients at once.
 *
 * Ten processes of fifty threads, each thread with its own connection,
 * open, touch and release views for a bounded time. Not one request may
 * fail, and when they are gone every count is back to zero.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

#define PROCESSES 10
#define THREADS   50
#define SECONDS   3

static struct harness_daemon d;

static void setup(void) {
  harness_daemon_start(&d, NULL);
}

static void teardown(void) {
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

struct worker {
  pthread_barrier_t *start;
  atomic_int *errors;
  atomic_long *ops;
  unsigned seed;
};

static double now(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *work(void *arg) {
  struct worker *w = arg;
  shmv_client *c;
  double end;

  if (shmv_connect(d.socket, &c) != 0) {
    atomic_fetch_add(w->errors, 1);
    pthread_barrier_wait(w->start);
    return NULL;
  }
  /* Everyone connected before anyone starts: 500 live connections. */
  pthread_barrier_wait(w->start);
  end = now() + SECONDS;
  while (now() < end) {
    size_t off = (size_t)(rand_r(&w->seed) % 60000);
    int writable = rand_r(&w->seed) % 2;
    shmv_view *v, *s;

    if (shmv_view_open(c, "hot", off, 4096, writable ? SHMV_WRITABLE : 0, &v) != 0) {
      atomic_fetch_add(w->errors, 1);
      continue;
    }
    if (writable)
      ((volatile char *)shmv_view_data(v))[0] = 1;
    else
      (void)((volatile char *)shmv_view_data(v))[4095];
    if (shmv_view_slice(v, 10, 20, &s) != 0)
      atomic_fetch_add(w->errors, 1);
    else
      shmv_view_release(s);
    shmv_view_release(v);
    atomic_fetch_add(w->ops, 1);
  }
  shmv_disconnect(c);
  return NULL;
}

static int process(void *arg) {
  pthread_t t[THREADS];
  struct worker w[THREADS];
  pthread_barrier_t start;
  atomic_int errors = 0;
  atomic_long ops = 0;
  int base = *(int *)arg;

  pthread_barrier_init(&start, NULL, THREADS);
  for (int i = 0; i < THREADS; i++) {
    w[i] = (struct worker){ &start, &errors, &ops, (unsigned)(base * THREADS + i) };
    if (pthread_create(&t[i], NULL, work, &w[i]) != 0)
      return 2;
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  fprintf(stderr, "test-stress: process %d: %ld view cycles, %d errors\n", base, (long)ops,
          (int)errors);
  return errors == 0 && ops > 0 ? 0 : 1;
}

START_TEST(five_hundred_clients) {
  shmv_client *c;
  shmv_status_info st;
  pid_t pids[PROCESSES];
  int ids[PROCESSES];

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "hot", 65536, 0600), 0);
  for (int i = 0; i < PROCESSES; i++) {
    ids[i] = i;
    pids[i] = fork();
    ck_assert_int_ge(pids[i], 0);
    if (pids[i] == 0)
      _exit(process(&ids[i]));
  }
  for (int i = 0; i < PROCESSES; i++) {
    int status;

    ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "client process %d failed (status %#x)", i, status);
  }
  for (int i = 0; i < 300; i++) {
    ck_assert_int_eq(shmv_status(c, &st), 0);
    if (st.clients == 1 && st.views == 0)
      break;
    usleep(10 * 1000);
  }
  ck_assert_uint_eq(st.clients, 1);
  ck_assert_uint_eq(st.views, 0);
  ck_assert_uint_eq(st.writable_views, 0);
  ck_assert_uint_eq(st.used_views, 0);
  ck_assert_int_eq(shmv_unlink(c, "hot"), 0);
  shmv_disconnect(c);
}
END_TEST

static Suite *stress_suite(void) {
  Suite *s = suite_create("stress");
  TCase *tc = tcase_create("stress");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, five_hundred_clients);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(stress_suite());
}

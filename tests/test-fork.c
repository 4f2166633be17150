/* SPDX-License-Identifier: MIT */
/*
 * test-fork.c: a forked child never touches its parent's connection.
 *
 * A client belongs to the process that connected it. In a real fork()ed
 * child, releasing inherited views only unmaps, disconnecting only closes
 * the child's copy of the socket, and every request fails with -ECHILD; the
 * parent's next request, its leases (as the daemon counts them) and its
 * memory are untouched. The child can connect anew and work normally.
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
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

static struct harness_daemon d;

/* What a parent hands its child. */
struct inherited {
  shmv_client *c;
  shmv_view *rw, *ro, *slice;
};

static uint64_t daemon_views(shmv_client *c, const char *name) {
  shmv_segment_info si;
  OK(shmv_stat(c, name, &si));
  return si.views;
}

/* The child: reads and writes through inherited views, releases all of
 * them, finds requests refused with -ECHILD, disconnects. */
static int child_releases(void *arg) {
  struct inherited *in = arg;
  shmv_segment_info si;

  CHILD_CHECK(memcmp(shmv_view_data(in->ro), "parent", 6) == 0);
  memcpy((char *)shmv_view_data(in->rw) + 100, "child", 5); /* shared memory */
  shmv_view_release(in->slice);
  shmv_view_release(in->rw);
  shmv_view_release(in->ro);

  CHILD_CHECK(shmv_stat(in->c, "f", &si) == -ECHILD);
  CHILD_CHECK(strstr(shmv_last_error(in->c), "after fork()") != NULL);
  shmv_view *v = NULL;
  CHILD_CHECK(shmv_view_open(in->c, "f", 0, 16, 0, &v) == -ECHILD && v == NULL);
  CHILD_CHECK(shmv_create(in->c, "g", 10, 0) == -ECHILD);
  shmv_disconnect(in->c);

  /* A connection of its own works. */
  shmv_client *mine;
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_stat(mine, "f", &si) == 0);
  CHILD_CHECK(si.views == 2); /* the parent's two, none of ours */
  CHILD_CHECK(shmv_view_open(mine, "f", 0, 16, 0, &v) == 0);
  CHILD_CHECK(memcmp(shmv_view_data(v), "parent", 6) == 0);
  shmv_view_release(v);
  shmv_disconnect(mine);
  return 0;
}

START_TEST(child_release_and_disconnect) {
  struct inherited in;
  harness_daemon_start(&d, NULL);
  OK(shmv_connect(d.socket, &in.c));
  OK(shmv_create(in.c, "f", 8192, 0));
  OK(shmv_view_open(in.c, "f", 0, SHMV_TO_END, SHMV_WRITABLE, &in.rw));
  OK(shmv_view_open(in.c, "f", 4096, 100, 0, &in.ro));
  OK(shmv_view_slice(in.rw, 10, 20, &in.slice));
  memcpy(shmv_view_data(in.rw), "parent", 6);
  memcpy((char *)shmv_view_data(in.rw) + 4096, "parent", 6);
  ck_assert_uint_eq(daemon_views(in.c, "f"), 2);

  int status = harness_run_child(child_releases, &in);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status %d)", status);

  /* The parent's connection answers, its leases are all there. */
  ck_assert_uint_eq(daemon_views(in.c, "f"), 2);
  shmv_status_info st;
  OK(shmv_status(in.c, &st));
  ck_assert_uint_eq(st.views, 2);
  ck_assert_uint_eq(st.writable_views, 1);
  /* Its memory too, with the child's write in it. */
  ck_assert_mem_eq((char *)shmv_view_data(in.rw) + 100, "child", 5);
  ck_assert_mem_eq(shmv_view_data(in.slice), (char *)shmv_view_data(in.rw) + 10, 10);
  /* The leases are still the parent's to end. */
  ck_assert_int_eq(shmv_resize(in.c, "f", 4096), -EBUSY);
  shmv_view_release(in.ro);
  shmv_view_release(in.slice);
  ck_assert_uint_eq(daemon_views(in.c, "f"), 1);
  shmv_view_release(in.rw);
  ck_assert_uint_eq(daemon_views(in.c, "f"), 0);
  OK(shmv_resize(in.c, "f", 4096));
  OK(shmv_unlink(in.c, "f"));
  shmv_disconnect(in.c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* A child that only disconnects, and one that exits holding views (as a
 * Python child releases what it inherited at exit): the parent's leases
 * stay, several times over. */
static int child_disconnects(void *arg) {
  shmv_disconnect(((struct inherited *)arg)->c);
  return 0;
}

static int child_exits_with_views(void *arg) {
  struct inherited *in = arg;
  shmv_view_release(in->rw);
  shmv_disconnect(in->c);
  _exit(0);
}

START_TEST(children_come_and_go) {
  struct inherited in;
  harness_daemon_start(&d, NULL);
  OK(shmv_connect(d.socket, &in.c));
  OK(shmv_create(in.c, "h", 4096, 0));
  OK(shmv_view_open(in.c, "h", 0, 4096, SHMV_WRITABLE, &in.rw));
  /* Another client watches, so that the parent makes no request (which
   * would re-register a lost lease) before we look. The daemon drops a
   * closed connection's leases as soon as it reads the EOF: look a few
   * times over 200 ms. */
  shmv_client *watch;
  OK(shmv_connect(d.socket, &watch));
  for (int i = 0; i < 4; i++) {
    int status = harness_run_child(i % 2 ? child_disconnects : child_exits_with_views, &in);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int k = 0; k < 10; k++) {
      ck_assert_uint_eq(daemon_views(watch, "h"), 1);
      usleep(20 * 1000);
    }
  }
  shmv_disconnect(watch);
  /* Requests and releases of the parent still line up with the answers. */
  shmv_view *v;
  OK(shmv_view_open(in.c, "h", 0, 10, 0, &v));
  shmv_view_release(v);
  ck_assert_uint_eq(daemon_views(in.c, "h"), 1);
  shmv_view_release(in.rw);
  ck_assert_uint_eq(daemon_views(in.c, "h"), 0);
  OK(shmv_unlink(in.c, "h"));
  shmv_disconnect(in.c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* Forks while another thread of the parent is mid-request, holding the
 * client's lock: a child that took that (copied, never to be unlocked)
 * lock would hang. Each child releases, disconnects and exits; an alarm
 * kills a hung one, which fails the test. */
static atomic_bool stop_requests;

static void *requests(void *arg) {
  shmv_client *c = arg;
  shmv_segment_info si;
  while (!atomic_load(&stop_requests))
    if (shmv_stat(c, "t", &si) != 0)
      return (void *)"stat failed in the parent's thread";
  return NULL;
}

static int child_quick(void *arg) {
  struct inherited *in = arg;
  alarm(10);
  shmv_view_release(in->rw);
  shmv_segment_info si;
  CHILD_CHECK(shmv_stat(in->c, "t", &si) == -ECHILD);
  shmv_disconnect(in->c);
  return 0;
}

START_TEST(fork_during_requests) {
  struct inherited in;
  harness_daemon_start(&d, NULL);
  OK(shmv_connect(d.socket, &in.c));
  OK(shmv_create(in.c, "t", 4096, 0));
  OK(shmv_view_open(in.c, "t", 0, 4096, SHMV_WRITABLE, &in.rw));
  pthread_t t;
  atomic_store(&stop_requests, false);
  ck_assert_int_eq(pthread_create(&t, NULL, requests, in.c), 0);
  for (int i = 0; i < 20; i++) {
    int status = harness_run_child(child_quick, &in);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %d", i, status);
  }
  atomic_store(&stop_requests, true);
  void *why;
  pthread_join(t, &why);
  ck_assert_msg(why == NULL, "%s", (const char *)why);
  ck_assert_uint_eq(daemon_views(in.c, "t"), 1);
  shmv_view_release(in.rw);
  OK(shmv_unlink(in.c, "t"));
  shmv_disconnect(in.c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fork");
  TCase *t = tcase_create("fork");
  tcase_set_timeout(t, 60);
  tcase_add_test(t, child_release_and_disconnect);
  tcase_add_test(t, children_come_and_go);
  tcase_add_test(t, fork_during_requests);
  suite_add_tcase(s, t);
  return harness_main(s);
}

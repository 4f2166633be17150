/* SPDX-License-Identifier: MIT */
/*
 * test-ephemeral.c: segments created with SHMV_CREATE_EPHEMERAL, with real
 * separate processes.
 *
 * The daemon removes an ephemeral segment when its last view anywhere ends
 * (release, exit, kill -9), or at once when its creator goes without
 * opening one; never while a view is open; it survives a daemon restart
 * (the state file keeps the flag) and is removed after the grace period if
 * nobody views it again.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture-client.h"


/* Wait (up to 10 s) until `name` is gone from the daemon and /dev/shm. */
static bool gone(const char *name) {
  shmv_segment_info info;
  struct timespec pause = { 0, 20 * 1000 * 1000 };

  for (int i = 0; i < 500; i++) {
    if (shmv_stat(c, name, &info) == -ENOENT && harness_shm_count(d.prefix) == 0)
      return true;
    nanosleep(&pause, NULL);
  }
  return false;
}

static bool present(const char *name) {
  shmv_segment_info info;

  return shmv_stat(c, name, &info) == 0 && info.ephemeral;
}

/* A child that connects, creates `name` ephemeral, maybe opens a view,
 * tells the parent (one byte on fd) and waits to be killed or told to go
 * (a byte on back). */
struct holder {
  const char *name;
  bool create, view;
  int ready, go; /* pipe ends */
};

static int holder_main(void *arg) {
  struct holder *h = arg;
  shmv_client *hc;
  shmv_view *v = NULL;
  char b = 'r';

  CHILD_CHECK(shmv_connect(d.socket, &hc) == 0);
  if (h->create)
    CHILD_CHECK(shmv_create_flags(hc, h->name, 4096, 0666, SHMV_CREATE_EPHEMERAL) == 0);
  if (h->view) {
    CHILD_CHECK(shmv_view_open(hc, h->name, 0, SHMV_TO_END, SHMV_WRITABLE, &v) == 0);
    ((char *)shmv_view_data(v))[0] = 'h';
  }
  CHILD_CHECK(write(h->ready, &b, 1) == 1);
  if (read(h->go, &b, 1) != 1) /* EOF: the parent went */
    return 0;
  if (v != NULL)
    shmv_view_release(v);
  shmv_disconnect(hc);
  return 0;
}

/* Fork a holder; returns its pid once it is ready. *go is the write end
 * that lets it finish. */
static pid_t start_holder(const char *name, bool create, bool view, int *go) {
  int rp[2], gp[2];
  struct holder h = { name, create, view, -1, -1 };
  pid_t pid;
  char b;

  ck_assert_int_eq(pipe(rp), 0);
  ck_assert_int_eq(pipe(gp), 0);
  h.ready = rp[1];
  h.go = gp[0];
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(rp[0]);
    close(gp[1]);
    _exit(holder_main(&h));
  }
  close(rp[1]);
  close(gp[0]);
  ck_assert_int_eq(read(rp[0], &b, 1), 1);
  close(rp[0]);
  *go = gp[1];
  return pid;
}

static void finish(pid_t pid, int go, bool kill9) {
  int status;

  if (kill9)
    kill(pid, SIGKILL);
  else
    ck_assert_int_eq(write(go, "g", 1), 1);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  if (!kill9)
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(go);
}

START_TEST(flags_checked) {
  shmv_segment_info info;

  ck_assert_int_eq(shmv_create_flags(c, "x", 10, 0600, 0x2u), -EINVAL);
  ck_assert_int_eq(shmv_create_flags(c, "x", 10, 0600, ~0u), -EINVAL);
  ck_assert_int_eq(shmv_stat(c, "x", &info), -ENOENT);
  ck_assert_int_eq(shmv_create_flags(c, "plain", 10, 0600, 0), 0);
  ck_assert_int_eq(shmv_stat(c, "plain", &info), 0);
  ck_assert_int_eq(info.ephemeral, 0);
  ck_assert_int_eq(shmv_create(c, "plain2", 10, 0600), 0);
  ck_assert_int_eq(shmv_stat(c, "plain2", &info), 0);
  ck_assert_int_eq(info.ephemeral, 0);
  ck_assert_int_eq(shmv_unlink(c, "plain"), 0);
  ck_assert_int_eq(shmv_unlink(c, "plain2"), 0);
}
END_TEST

START_TEST(creator_leaves_without_viewing) {
  shmv_segment_info *list;
  size_t n;
  int go;
  pid_t pid;

  /* a clean exit */
  pid = start_holder("e1", true, false, &go);
  ck_assert(present("e1"));
  ck_assert_int_eq(shmv_list(c, &list, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(list[0].ephemeral, 1);
  shmv_list_free(list);
  finish(pid, go, false);
  ck_assert(gone("e1"));

  /* kill -9 */
  pid = start_holder("e2", true, false, &go);
  ck_assert(present("e2"));
  finish(pid, go, true);
  ck_assert(gone("e2"));
}
END_TEST

START_TEST(last_view_anywhere) {
  shmv_view *v;
  int go;
  pid_t pid;

  /* Created here, viewed by a child that exits: our own view keeps it. */
  ck_assert_int_eq(shmv_create_flags(c, "e3", 4096, 0666, SHMV_CREATE_EPHEMERAL), 0);
  ck_assert_int_eq(shmv_view_open(c, "e3", 0, SHMV_TO_END, 0, &v), 0);
  pid = start_holder("e3", false, true, &go);
  ck_assert_uint_eq(((char *)shmv_view_data(v))[0], 'h');
  finish(pid, go, false);
  ck_assert(present("e3"));
  ck_assert_int_eq(harness_shm_count(d.prefix), 1);
  /* ours is the last: releasing it removes the segment */
  shmv_view_release(v);
  ck_assert(gone("e3"));

  /* Created by a child that viewed it and went: a second child's view
   * keeps it until that one goes too. */
  int go2;
  pid_t pid2;

  pid = start_holder("e4", true, true, &go);
  pid2 = start_holder("e4", false, true, &go2);
  finish(pid, go, false);
  ck_assert(present("e4"));
  finish(pid2, go2, false);
  ck_assert(gone("e4"));
}
END_TEST

START_TEST(kill9_every_holder) {
  pid_t pids[3];
  int gos[3];

  pids[0] = start_holder("e5", true, true, &gos[0]);
  pids[1] = start_holder("e5", false, true, &gos[1]);
  pids[2] = start_holder("e5", false, true, &gos[2]);
  ck_assert(present("e5"));
  finish(pids[0], gos[0], true);
  finish(pids[1], gos[1], true);
  ck_assert(present("e5")); /* one holder left */
  finish(pids[2], gos[2], true);
  ck_assert(gone("e5"));
}
END_TEST

START_TEST(explicit_unlink_still_works) {
  shmv_view *v;

  ck_assert_int_eq(shmv_create_flags(c, "e6", 4096, 0600, SHMV_CREATE_EPHEMERAL), 0);
  ck_assert_int_eq(shmv_view_open(c, "e6", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  ck_assert_int_eq(shmv_unlink(c, "e6"), 0);
  ck_assert(gone("e6"));
  ((char *)shmv_view_data(v))[0] = 1; /* still mapped */
  shmv_view_release(v);
  /* the name can be reused, and a new ephemeral one behaves */
  ck_assert_int_eq(shmv_create_flags(c, "e6", 4096, 0600, SHMV_CREATE_EPHEMERAL), 0);
  ck_assert(present("e6"));
  shmv_disconnect(c);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert(gone("e6"));
}
END_TEST

/* A restart (SIGTERM or kill -9) keeps an ephemeral segment and its flag;
 * a view from before keeps it past the grace period; once nobody views it
 * after the grace period, it goes. */
START_TEST(survives_restart) {
  static const char *const grace[] = { "--grace", "1", NULL };
  shmv_segment_info info;
  shmv_view *v;
  struct timespec pause = { 1, 500 * 1000 * 1000 };
  int round;

  for (round = 0; round < 2; round++) {
    ck_assert_int_eq(shmv_create_flags(c, "e7", 4096, 0600, SHMV_CREATE_EPHEMERAL), 0);
    ck_assert_int_eq(shmv_view_open(c, "e7", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
    ((char *)shmv_view_data(v))[7] = 'k';
    if (round == 0) {
      kill(d.pid, SIGTERM); /* a clean stop drops every lease: none may reap */
      waitpid(d.pid, NULL, 0);
    } else {
      harness_daemon_kill(&d);
    }
    harness_daemon_restart(&d, grace);
    /* the next request reconnects and re-registers our view */
    ck_assert_int_eq(shmv_stat(c, "e7", &info), 0);
    ck_assert_int_eq(info.ephemeral, 1);
    ck_assert_uint_eq(info.views, 1);
    nanosleep(&pause, NULL); /* past the grace period: still viewed, still there */
    ck_assert(present("e7"));
    ck_assert_uint_eq(((char *)shmv_view_data(v))[7], 'k');
    shmv_view_release(v);
    ck_assert(gone("e7"));
  }

  /* Nobody comes back: its only holder dies while the daemon is down; the
   * segment is removed once the grace period is over. */
  int go;
  pid_t pid = start_holder("e8", true, true, &go);

  ck_assert(present("e8"));
  harness_daemon_kill(&d);
  finish(pid, go, true);
  harness_daemon_restart(&d, grace);
  ck_assert(gone("e8"));
}
END_TEST

static Suite *ephemeral_suite(void) {
  Suite *s = suite_create("ephemeral");
  TCase *tc = tcase_create("ephemeral");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, flags_checked);
  tcase_add_test(tc, creator_leaves_without_viewing);
  tcase_add_test(tc, last_view_anywhere);
  tcase_add_test(tc, kill9_every_holder);
  tcase_add_test(tc, explicit_unlink_still_works);
  tcase_add_test(tc, survives_restart);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(ephemeral_suite());
}

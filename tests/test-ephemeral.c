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
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture-client.h"

#define NOBODY 65534

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

/* The same for one name, whatever else exists. */
static bool gone_one(const char *name) {
  shmv_segment_info info;
  struct timespec pause = { 0, 20 * 1000 * 1000 };
  char path[256];

  snprintf(path, sizeof path, "/dev/shm/%s.%s", d.prefix, name);
  for (int i = 0; i < 500; i++) {
    if (shmv_stat(c, name, &info) == -ENOENT && access(path, F_OK) != 0)
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

  ck_assert_int_eq(shmv_create_flags(c, "x", 10, 0600, 0x4u), -EINVAL); /* 0x1, 0x2 are known */
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

/* ---- another uid and the creator's claim ---- */

static bool is_root(const char *test) {
  if (geteuid() == 0)
    return true;
  fprintf(stderr, "test-ephemeral: %s skipped: needs root to become another user\n", test);
  return false;
}

/* nobody must be able to reach the daemon's socket. */
static void open_socket_to_all(void) {
  ck_assert_int_eq(chmod(d.dir, 0711), 0);
  ck_assert_int_eq(chmod(d.socket, 0666), 0);
}

static int become_nobody(void) {
  CHILD_CHECK(setgroups(0, NULL) == 0);
  CHILD_CHECK(setgid(NOBODY) == 0);
  CHILD_CHECK(setuid(NOBODY) == 0);
  return 0;
}

/* As nobody: view root's ephemeral "claimed" (0644) read-only, release
 * the view, then try to take the name for itself. */
static int reap_attempt(void *arg) {
  shmv_client *mine;
  shmv_view *v;
  shmv_segment_info info;

  (void)arg;
  if (become_nobody() != 0)
    return 1;
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_view_open(mine, "claimed", 0, SHMV_TO_END, 0, &v) == 0);
  shmv_view_release(v);
  /* Its answer is in before the next one: the release was acted on. */
  CHILD_CHECK(shmv_stat(mine, "claimed", &info) == 0);
  CHILD_CHECK(info.uid == 0 && info.ephemeral);
  CHILD_CHECK(shmv_create(mine, "claimed", 4096, 0666) == -EEXIST);
  shmv_disconnect(mine);
  return 0;
}

/* Root creates an ephemeral segment and means to open it later; another
 * uid's view and release must not end it (which would free its name for
 * that uid to take); the creator's own first view and release do. */
START_TEST(other_uid_cannot_reap) {
  shmv_segment_info info;
  shmv_view *v;
  int status;

  if (!is_root("other_uid_cannot_reap"))
    return;
  open_socket_to_all();
  OK(shmv_create_flags(c, "claimed", 4096, 0644, SHMV_CREATE_EPHEMERAL));
  status = harness_run_child(reap_attempt, NULL);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "nobody's child failed");
  ck_assert(present("claimed"));
  ck_assert_int_eq(shmv_stat(c, "claimed", &info), 0);
  ck_assert_uint_eq(info.uid, 0);
  ck_assert_uint_eq(info.views, 0);
  /* The creator's first view starts the last-view rule. */
  OK(shmv_view_open(c, "claimed", 0, SHMV_TO_END, SHMV_WRITABLE | SHMV_OWN, &v));
  memcpy(shmv_view_data(v), "root", 4);
  shmv_view_release(v);
  ck_assert(gone("claimed"));
}
END_TEST

/* As nobody: hold a read-only view of "claimed2" until told to go. */
static int nobody_viewer(void *arg) {
  shmv_client *mine;
  shmv_view *v;
  int *pipes = arg; /* ready write end, go read end */

  if (become_nobody() != 0)
    return 1;
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_view_open(mine, "claimed2", 0, SHMV_TO_END, 0, &v) == 0);
  harness_say(pipes[0], 'r');
  harness_hear(pipes[1]);
  shmv_view_release(v);
  shmv_disconnect(mine);
  return 0;
}

/* The creator's connection ends without a view while another uid holds
 * one: the segment goes with that view. */
START_TEST(creator_leaves_while_other_views) {
  shmv_client *creator;
  int ready[2], go[2], pipes[2], status;
  pid_t pid;

  if (!is_root("creator_leaves_while_other_views"))
    return;
  open_socket_to_all();
  OK(shmv_connect(d.socket, &creator));
  OK(shmv_create_flags(creator, "claimed2", 4096, 0644, SHMV_CREATE_EPHEMERAL));
  ck_assert_int_eq(pipe(ready), 0);
  ck_assert_int_eq(pipe(go), 0);
  pipes[0] = ready[1];
  pipes[1] = go[0];
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(nobody_viewer(pipes));
  harness_hear(ready[0]);
  shmv_disconnect(creator);
  ck_assert(present("claimed2"));
  harness_say(go[1], 'g');
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ck_assert(gone("claimed2"));
  close(ready[0]);
  close(ready[1]);
  close(go[0]);
  close(go[1]);
}
END_TEST

/* As nobody: take the name "taken" with a 0666 segment of its own, and
 * check that SHMV_OWN lets it open its own. */
static int take_name(void *arg) {
  shmv_client *mine;
  shmv_view *v;

  (void)arg;
  if (become_nobody() != 0)
    return 1;
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_create(mine, "taken", 4096, 0666) == 0);
  CHILD_CHECK(shmv_view_open(mine, "taken", 0, SHMV_TO_END, SHMV_WRITABLE | SHMV_OWN, &v) == 0);
  shmv_view_release(v);
  shmv_disconnect(mine);
  return 0;
}

/* Root opening by name with SHMV_OWN is refused another uid's segment,
 * with no view and a sentence naming the owner. */
START_TEST(own_refuses_another_owner) {
  shmv_segment_info info;
  shmv_view *v = NULL;
  int status;

  if (!is_root("own_refuses_another_owner"))
    return;
  open_socket_to_all();
  status = harness_run_child(take_name, NULL);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "nobody's child failed");
  ck_assert_int_eq(shmv_view_open(c, "taken", 0, SHMV_TO_END, SHMV_WRITABLE | SHMV_OWN, &v),
                   -EPERM);
  ck_assert_ptr_null(v);
  ck_assert_msg(strstr(shmv_last_error(c), "owned by uid 65534") != NULL, "%s", shmv_last_error(c));
  ck_assert_int_eq(shmv_view_open(c, "taken", 0, SHMV_TO_END, SHMV_OWN, &v), -EPERM);
  /* without the flag root may open it, as root may open any file */
  OK(shmv_view_open(c, "taken", 0, SHMV_TO_END, 0, &v));
  shmv_view_release(v);
  /* its own: allowed; shmv_view_create takes the flag too */
  OK(shmv_create(c, "mine", 4096, 0600));
  OK(shmv_view_open(c, "mine", 0, SHMV_TO_END, SHMV_OWN, &v));
  shmv_view_release(v);
  OK(shmv_view_create(c, "mine2", 4096, 0600, SHMV_OWN | SHMV_CREATE_EPHEMERAL, &v));
  shmv_view_release(v);
  ck_assert(gone_one("mine2"));
  ck_assert_int_eq(shmv_stat(c, "mine", &info), 0); /* not ephemeral: stays */
  OK(shmv_unlink(c, "mine"));
  OK(shmv_unlink(c, "taken"));
}
END_TEST

/* ---- views kept across a restart end an ephemeral segment too ---- */

/* A child with a view of its own new ephemeral segment, from a connection
 * of its own; on the first byte after the restart it releases the view
 * (or, exit_only, just exits), then asks the daemon something (which
 * reconnects), says so, and exits on the next byte. */
struct kept {
  const char *name;
  bool exit_only;
  int ready, go; /* pipe ends */
};

static int kept_main(void *arg) {
  struct kept *k = arg;
  shmv_client *kc;
  shmv_view *v;
  shmv_status_info st;

  CHILD_CHECK(shmv_connect(d.socket, &kc) == 0);
  CHILD_CHECK(shmv_view_create(kc, k->name, 4096, 0600, SHMV_CREATE_EPHEMERAL, &v) == 0);
  ((char *)shmv_view_data(v))[0] = 'k';
  harness_say(k->ready, 'r');
  harness_hear(k->go);
  if (k->exit_only)
    _exit(0); /* the view's mapping goes with the process */
  shmv_view_release(v);
  CHILD_CHECK(shmv_status(kc, &st) == 0);
  harness_say(k->ready, 'r');
  harness_hear(k->go);
  shmv_disconnect(kc);
  return 0;
}

static pid_t start_kept(struct kept *k, int *ready, int *go) {
  int rp[2], gp[2];
  pid_t pid;

  ck_assert_int_eq(pipe(rp), 0);
  ck_assert_int_eq(pipe(gp), 0);
  k->ready = rp[1];
  k->go = gp[0];
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(rp[0]);
    close(gp[1]);
    _exit(kept_main(k));
  }
  close(rp[1]);
  close(gp[0]);
  harness_hear(rp[0]);
  *ready = rp[0];
  *go = gp[1];
  return pid;
}

static void end_kept(pid_t pid, int ready, int go) {
  int status;

  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a holder failed");
  close(ready);
  close(go);
}

/* Two processes each hold a view of their own ephemeral segment; the
 * daemon is killed and restarted; after the grace period one releases its
 * view, the other exits. Both segments go, and stay gone. */
START_TEST(kept_views_end_after_restart) {
  static const char *const grace[] = { "--grace", "1", NULL };
  struct timespec past_grace = { 1, 500 * 1000 * 1000 };
  struct kept rel = { "k-release", false, -1, -1 }, ex = { "k-exit", true, -1, -1 };
  shmv_segment_info info;
  int rready, rgo, eready, ego;
  pid_t rpid, epid;

  rpid = start_kept(&rel, &rready, &rgo);
  epid = start_kept(&ex, &eready, &ego);
  harness_daemon_kill(&d);
  harness_daemon_restart(&d, grace);
  nanosleep(&past_grace, NULL);
  /* kept for their processes, past the grace period */
  ck_assert_int_eq(shmv_stat(c, "k-release", &info), 0);
  ck_assert_uint_eq(info.views, 1);
  ck_assert_int_eq(shmv_stat(c, "k-exit", &info), 0);
  ck_assert_uint_eq(info.views, 1);

  /* exit: the process's end releases what was kept for it */
  harness_say(ego, 'g');
  end_kept(epid, eready, ego);
  ck_assert(present("k-release"));
  ck_assert_msg(gone_one("k-exit"), "the exited holder's ephemeral segment stayed");

  /* release: the daemon hears of it once the library is back */
  harness_say(rgo, 'g');
  harness_hear(rready);
  ck_assert_msg(gone("k-release"), "the released ephemeral segment stayed");
  harness_say(rgo, 'g');
  end_kept(rpid, rready, rgo);

  /* and nothing comes back after another restart */
  harness_daemon_kill(&d);
  harness_daemon_restart(&d, grace);
  ck_assert_int_eq(shmv_stat(c, "k-release", &info), -ENOENT);
  ck_assert_int_eq(shmv_stat(c, "k-exit", &info), -ENOENT);
  ck_assert_int_eq(harness_shm_count(d.prefix), 0);
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
  tcase_add_test(tc, other_uid_cannot_reap);
  tcase_add_test(tc, creator_leaves_while_other_views);
  tcase_add_test(tc, own_refuses_another_owner);
  tcase_add_test(tc, kept_views_end_after_restart);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(ephemeral_suite());
}

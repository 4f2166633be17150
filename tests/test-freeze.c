/* SPDX-License-Identifier: MIT */
/*
 * test-freeze.c: a frozen segment stops changing.
 *
 * Freezing is refused with EBUSY while another process holds a writable
 * view (read-only views do not stand in the way); afterwards writable
 * opens, create-and-open over it and resizes are refused with EROFS while
 * read-only views work as before; stat and list show the flag; only the
 * owner or root may freeze (nobody, another uid, gets EPERM); and the flag
 * survives kill -9 of the daemon and its restart.
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
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

#define NOBODY 65534

static struct harness_daemon d;

static void setup(void) {
  harness_daemon_start(&d, NULL);
}

static void teardown(void) {
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

/* Another process with a view of "f" (writable or not) until told to go. */
struct holder {
  int writable;
  int up[2], down[2];
  pid_t pid;
};

static int holder_main(void *arg) {
  struct holder *h = arg;
  shmv_client *c;
  shmv_view *v;

  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "f", 0, SHMV_TO_END, h->writable ? SHMV_WRITABLE : 0, &v) == 0);
  if (h->writable)
    memcpy(shmv_view_data(v), "written", 7);
  harness_say(h->up[1], 'o');
  harness_hear(h->down[0]);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

static void holder_start(struct holder *h, int writable) {
  h->writable = writable;
  ck_assert_int_eq(pipe(h->up), 0);
  ck_assert_int_eq(pipe(h->down), 0);
  h->pid = fork();
  ck_assert_int_ge(h->pid, 0);
  if (h->pid == 0)
    _exit(holder_main(h));
  ck_assert_int_eq(harness_hear(h->up[0]), 'o');
}

static void holder_stop(struct holder *h) {
  int st;
  harness_say(h->down[1], 'g');
  ck_assert_int_eq(waitpid(h->pid, &st, 0), h->pid);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  close(h->up[0]);
  close(h->up[1]);
  close(h->down[0]);
  close(h->down[1]);
}

/* The daemon has seen the holder's release (its answer is not waited for). */
static void await_writable_views(shmv_client *c, uint64_t n) {
  shmv_segment_info info;
  for (int i = 0; i < 2000; i++) {
    ck_assert_int_eq(shmv_stat(c, "f", &info), 0);
    if (info.writable_views == n)
      return;
    usleep(5000);
  }
  ck_abort_msg("writable views never became %llu", (unsigned long long)n);
}

START_TEST(freeze_refused_while_writable) {
  shmv_client *c;
  shmv_segment_info info;
  struct holder w, r;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "f", 4096, 0644), 0);
  ck_assert_int_eq(shmv_freeze(c, "nope"), -ENOENT);

  holder_start(&w, 1);
  ck_assert_int_eq(shmv_freeze(c, "f"), -EBUSY);
  ck_assert_int_eq(shmv_stat(c, "f", &info), 0);
  ck_assert_int_eq(info.frozen, 0);
  holder_stop(&w);
  await_writable_views(c, 0);

  /* A reader does not stand in the way, and keeps its view. */
  holder_start(&r, 0);
  ck_assert_int_eq(shmv_freeze(c, "f"), 0);
  ck_assert_int_eq(shmv_freeze(c, "f"), 0); /* again: nothing to do */
  holder_stop(&r);
  shmv_disconnect(c);
}
END_TEST

START_TEST(frozen_refuses_writes) {
  shmv_client *c;
  shmv_view *v;
  shmv_segment_info info, *list;
  size_t n;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "f", 4096, 0644), 0);
  ck_assert_int_eq(shmv_view_open(c, "f", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  memcpy(shmv_view_data(v), "constant", 8);
  shmv_view_release(v);
  await_writable_views(c, 0);
  ck_assert_int_eq(shmv_freeze(c, "f"), 0);

  ck_assert_int_eq(shmv_view_open(c, "f", 0, SHMV_TO_END, SHMV_WRITABLE, &v), -EROFS);
  ck_assert_ptr_null(v);
  ck_assert_int_eq(shmv_view_open(c, "f", 16, 16, SHMV_WRITABLE, &v), -EROFS);
  ck_assert_int_eq(shmv_resize(c, "f", 8192), -EROFS);
  ck_assert_int_eq(shmv_resize(c, "f", 1024), -EROFS);
  ck_assert_int_eq(shmv_view_create(c, "f", 4096, 0644, 0, &v), -EEXIST);

  /* Read-only views as before. */
  ck_assert_int_eq(shmv_view_open(c, "f", 0, 8, 0, &v), 0);
  ck_assert_mem_eq(shmv_view_data(v), "constant", 8);
  shmv_view_release(v);

  ck_assert_int_eq(shmv_stat(c, "f", &info), 0);
  ck_assert_int_eq(info.frozen, 1);
  ck_assert_uint_eq(info.size, 4096);
  ck_assert_int_eq(shmv_create(c, "g", 10, 0600), 0);
  ck_assert_int_eq(shmv_list(c, &list, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(list[0].name, "f");
  ck_assert_int_eq(list[0].frozen, 1);
  ck_assert_int_eq(list[1].frozen, 0);
  shmv_list_free(list);

  /* The owner may still remove it. */
  ck_assert_int_eq(shmv_unlink(c, "f"), 0);
  shmv_disconnect(c);
}
END_TEST

/* nobody freezes its own segment but not root's. */
static int as_nobody(void *arg) {
  shmv_client *c;
  (void)arg;
  CHILD_CHECK(setgroups(0, NULL) == 0);
  CHILD_CHECK(setgid(NOBODY) == 0);
  CHILD_CHECK(setuid(NOBODY) == 0);
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_freeze(c, "f") == -EPERM);
  CHILD_CHECK(shmv_create(c, "mine", 10, 0666) == 0);
  CHILD_CHECK(shmv_freeze(c, "mine") == 0);
  CHILD_CHECK(shmv_create(c, "theirs", 10, 0666) == 0);
  shmv_disconnect(c);
  return 0;
}

START_TEST(owner_or_root) {
  shmv_client *c;
  shmv_segment_info info;

  if (geteuid() != 0) {
    fprintf(stderr, "test-freeze: owner_or_root skipped: needs root to become nobody\n");
    return;
  }
  ck_assert_int_eq(chmod(d.dir, 0711), 0);
  ck_assert_int_eq(chmod(d.socket, 0666), 0);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "f", 10, 0666), 0); /* writable by all, still root's */
  int st = harness_run_child(as_nobody, NULL);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "nobody's checks failed (%#x)", st);
  ck_assert_int_eq(shmv_stat(c, "f", &info), 0);
  ck_assert_int_eq(info.frozen, 0);
  ck_assert_int_eq(shmv_stat(c, "mine", &info), 0);
  ck_assert_int_eq(info.frozen, 1);
  /* root may freeze what nobody owns */
  ck_assert_int_eq(shmv_freeze(c, "theirs"), 0);
  shmv_disconnect(c);
}
END_TEST

START_TEST(kept_across_kill) {
  shmv_client *c;
  shmv_view *v;
  shmv_segment_info info;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "f", 4096, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "g", 4096, 0600), 0);
  ck_assert_int_eq(shmv_freeze(c, "f"), 0);
  shmv_disconnect(c);

  harness_daemon_kill(&d);
  harness_daemon_restart(&d, NULL);

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_stat(c, "f", &info), 0);
  ck_assert_int_eq(info.frozen, 1);
  ck_assert_int_eq(shmv_stat(c, "g", &info), 0);
  ck_assert_int_eq(info.frozen, 0);
  ck_assert_int_eq(shmv_view_open(c, "f", 0, SHMV_TO_END, SHMV_WRITABLE, &v), -EROFS);
  ck_assert_int_eq(shmv_resize(c, "f", 8192), -EROFS);

  /* and across a clean restart, whose snapshot writes it anew */
  shmv_disconnect(c);
  kill(d.pid, SIGTERM);
  waitpid(d.pid, NULL, 0);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_stat(c, "f", &info), 0);
  ck_assert_int_eq(info.frozen, 1);
  ck_assert_int_eq(shmv_view_open(c, "f", 0, SHMV_TO_END, SHMV_WRITABLE, &v), -EROFS);
  shmv_disconnect(c);
}
END_TEST

/* ---- the same against other uids ---- */

/* A stranger's writable view of root's 0666 segment, held until killed. */
static int stranger_writer(void *arg) {
  shmv_client *c;
  shmv_view *v;

  (void)arg;
  CHILD_CHECK(harness_become(HARNESS_NO_PASSWD, HARNESS_NO_PASSWD) == 0);
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "f", 0, SHMV_TO_END, SHMV_WRITABLE, &v) == 0);
  memcpy(shmv_view_data(v), "stranger", 8);
  return 0;
}

/* Once frozen, a segment whose mode lets strangers write is closed to
 * their writes and resizes; they still read it, and cannot freeze it. */
static int stranger_meets_frozen(void *arg) {
  shmv_client *c;
  shmv_view *v;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "f", 0, SHMV_TO_END, SHMV_WRITABLE, &v) == -EROFS);
  CHILD_CHECK(shmv_resize(c, "f", 8192) == -EROFS);
  CHILD_CHECK(shmv_resize(c, "f", 1) == -EROFS);
  CHILD_CHECK(shmv_view_create(c, "f", 4096, 0666, 0, &v) == -EEXIST);
  CHILD_CHECK(shmv_freeze(c, "f") == -EPERM);
  CHILD_CHECK(shmv_view_open(c, "f", 0, 8, 0, &v) == 0);
  CHILD_CHECK(memcmp(shmv_view_data(v), "stranger", 8) == 0);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

START_TEST(frozen_for_strangers) {
  shmv_client *c;
  shmv_segment_info info;
  pid_t writer;

  if (!harness_can_attack("test-freeze", "frozen_for_strangers"))
    return;
  harness_open_to_all(&d);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "f", 4096, 0666), 0);
  /* Another uid's writable view stands in the way, as root's would. */
  writer = harness_start_holder(stranger_writer, NULL);
  ck_assert_int_eq(shmv_freeze(c, "f"), -EBUSY);
  kill(writer, SIGKILL);
  ck_assert_int_eq(waitpid(writer, NULL, 0), writer);
  await_writable_views(c, 0);
  ck_assert_int_eq(shmv_freeze(c, "f"), 0);

  ATTACK_OK(harness_run_as(HARNESS_NOBODY, HARNESS_NOBODY, stranger_meets_frozen, NULL),
            "nobody against a frozen segment");
  ATTACK_OK(harness_run_as(HARNESS_NO_PASSWD, HARNESS_NO_PASSWD, stranger_meets_frozen, NULL),
            "uid 60001 against a frozen segment");
  ck_assert_int_eq(shmv_stat(c, "f", &info), 0);
  ck_assert_int_eq(info.frozen, 1);
  ck_assert_uint_eq(info.size, 4096);
  ck_assert_uint_eq(info.writable_views, 0);
  ck_assert_int_eq(shmv_unlink(c, "f"), 0);
  shmv_disconnect(c);
}
END_TEST

static Suite *freeze_suite(void) {
  Suite *s = suite_create("freeze");
  TCase *tc = tcase_create("freeze");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, freeze_refused_while_writable);
  tcase_add_test(tc, frozen_refuses_writes);
  tcase_add_test(tc, owner_or_root);
  tcase_add_test(tc, kept_across_kill);
  tcase_add_test(tc, frozen_for_strangers);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(freeze_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test-chmod.c: chmod and chown of segments, as files have them.
 *
 * The owner (or root) sets the mode; only root gives a segment away; the
 * owner may set the group to one it is in, supplementary groups included
 * (SO_PEERGROUPS). Both are kept across a kill -9 and a restart, allowed on
 * a frozen segment, and move the quota charge to the new owner. The attacks
 * run as real processes of other uids (they need root to drop to those
 * uids; skipped otherwise).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture-client.h"
#include "harness.h"
#include "shmview.h"

#define STRANGER   HARNESS_NOBODY
#define OWNER      HARNESS_NO_PASSWD /* owns "theirs"; has no passwd entry */
#define OWNER_SUPP 60010             /* a supplementary group of OWNER's, in one test */

START_TEST(owner_sets_mode_and_group) {
  shmv_segment_info info;

  ck_assert_int_eq(shmv_create(c, "s", 4096, 0600), 0);
  ck_assert_int_eq(shmv_chmod(c, "s", 0640), 0);
  ck_assert_int_eq(shmv_stat(c, "s", &info), 0);
  ck_assert_uint_eq(info.mode, 0640);
  ck_assert_int_eq(shmv_chown(c, "s", (uid_t)-1, 123), 0);
  ck_assert_int_eq(shmv_stat(c, "s", &info), 0);
  ck_assert_uint_eq(info.uid, 0);
  ck_assert_uint_eq(info.gid, 123);
  ck_assert_uint_eq(info.mode, 0640);
  /* Both -1: nothing changes, and that is no error. */
  ck_assert_int_eq(shmv_chown(c, "s", (uid_t)-1, (gid_t)-1), 0);
  ck_assert_int_eq(shmv_stat(c, "s", &info), 0);
  ck_assert_uint_eq(info.gid, 123);
  /* Beyond the permission bits, a missing name, a bad name. */
  ck_assert_int_eq(shmv_chmod(c, "s", 01777), -EINVAL);
  ck_assert_ptr_nonnull(strstr(shmv_last_error(c), "0777"));
  ck_assert_int_eq(shmv_chmod(c, "s", 04600), -EINVAL);
  ck_assert_int_eq(shmv_chmod(c, "nope", 0600), -ENOENT);
  ck_assert_int_eq(shmv_chown(c, "nope", 1, 1), -ENOENT);
  ck_assert_int_eq(shmv_chmod(c, "../x", 0600), -EINVAL);
  ck_assert_int_eq(shmv_stat(c, "s", &info), 0);
  ck_assert_uint_eq(info.mode, 0640);
  ck_assert_int_eq(shmv_unlink(c, "s"), 0);
}
END_TEST

/* Freezing fixes bytes and size, not who may read them (docs/security.md). */
START_TEST(frozen_metadata_may_change) {
  shmv_segment_info info;

  ck_assert_int_eq(shmv_create(c, "f", 4096, 0600), 0);
  ck_assert_int_eq(shmv_freeze(c, "f"), 0);
  ck_assert_int_eq(shmv_chmod(c, "f", 0644), 0);
  ck_assert_int_eq(shmv_chown(c, "f", 7, 8), 0);
  ck_assert_int_eq(shmv_stat(c, "f", &info), 0);
  ck_assert_uint_eq(info.mode, 0644);
  ck_assert_uint_eq(info.uid, 7);
  ck_assert_uint_eq(info.gid, 8);
  ck_assert_int_eq(info.frozen, 1);
  ck_assert_int_eq(shmv_unlink(c, "f"), 0);
}
END_TEST

/* Journaled before answered: a kill -9 right after loses nothing. */
START_TEST(kept_across_kill_and_restart) {
  shmv_segment_info info;

  ck_assert_int_eq(shmv_create(c, "k", 4096, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "k2", 8192, 0600), 0);
  ck_assert_int_eq(shmv_chmod(c, "k", 0604), 0);
  ck_assert_int_eq(shmv_chown(c, "k", STRANGER, 4242), 0);
  ck_assert_int_eq(shmv_chown(c, "k2", (uid_t)-1, 77), 0);
  ck_assert_int_eq(shmv_chmod(c, "k2", 0660), 0);
  shmv_disconnect(c);

  harness_daemon_kill(&d);
  harness_daemon_restart(&d, NULL);

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_stat(c, "k", &info), 0);
  ck_assert_uint_eq(info.mode, 0604);
  ck_assert_uint_eq(info.uid, STRANGER);
  ck_assert_uint_eq(info.gid, 4242);
  ck_assert_int_eq(shmv_stat(c, "k2", &info), 0);
  ck_assert_uint_eq(info.mode, 0660);
  ck_assert_uint_eq(info.uid, 0);
  ck_assert_uint_eq(info.gid, 77);
  shmv_disconnect(c);

  /* And after a clean stop (the file compacted). */
  kill(d.pid, SIGTERM);
  waitpid(d.pid, NULL, 0);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_stat(c, "k", &info), 0);
  ck_assert_uint_eq(info.mode, 0604);
  ck_assert_uint_eq(info.uid, STRANGER);
  ck_assert_uint_eq(info.gid, 4242);
  ck_assert_int_eq(shmv_unlink(c, "k"), 0);
  ck_assert_int_eq(shmv_unlink(c, "k2"), 0);
}
END_TEST

/* ---- attacks, as real processes of other uids ---- */

/* A stranger may neither chmod nor chown root's segments, whatever their
 * mode (write permission is not ownership). */
static int stranger_changes(void *arg) {
  shmv_client *mine;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_chmod(mine, "root600", 0666) == -EPERM);
  CHILD_CHECK(strstr(shmv_last_error(mine), "owner") != NULL);
  CHILD_CHECK(shmv_chmod(mine, "root666", 0666) == -EPERM);
  CHILD_CHECK(shmv_chown(mine, "root666", STRANGER, (gid_t)-1) == -EPERM);
  CHILD_CHECK(shmv_chown(mine, "root666", (uid_t)-1, STRANGER) == -EPERM);
  CHILD_CHECK(shmv_chown(mine, "root600", (uid_t)-1, (gid_t)-1) == -EPERM);
  shmv_disconnect(mine);
  return 0;
}

START_TEST(strangers_may_not_change) {
  static const uid_t who[] = { HARNESS_NOBODY, HARNESS_NO_PASSWD };
  shmv_segment_info info;

  if (!harness_can_attack("test-chmod", "strangers_may_not_change"))
    return;
  harness_open_to_all(&d);
  ck_assert_int_eq(shmv_create(c, "root600", 4096, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "root666", 4096, 0666), 0);
  for (size_t i = 0; i < sizeof who / sizeof who[0]; i++)
    ATTACK_OK(harness_run_as(who[i], who[i], stranger_changes, NULL), "stranger chmod/chown");
  ck_assert_int_eq(shmv_stat(c, "root600", &info), 0);
  ck_assert_uint_eq(info.mode, 0600);
  ck_assert_uint_eq(info.uid, 0);
  ck_assert_uint_eq(info.gid, 0);
  ck_assert_int_eq(shmv_stat(c, "root666", &info), 0);
  ck_assert_uint_eq(info.mode, 0666);
  ck_assert_uint_eq(info.uid, 0);
  ck_assert_uint_eq(info.gid, 0);
  ck_assert_int_eq(shmv_unlink(c, "root600"), 0);
  ck_assert_int_eq(shmv_unlink(c, "root666"), 0);
}
END_TEST

/* The owner of "theirs" (not root) may set its mode and keep it, but may
 * not give it away, nor give it to a group it is not in. */
static int owner_limits(void *arg) {
  shmv_client *mine;
  shmv_segment_info info;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_create(mine, "theirs", 4096, 0600) == 0);
  CHILD_CHECK(shmv_chmod(mine, "theirs", 0644) == 0);
  CHILD_CHECK(shmv_chmod(mine, "theirs", 01000) == -EINVAL);
  /* Giving it away: to root, to a stranger. */
  CHILD_CHECK(shmv_chown(mine, "theirs", 0, (gid_t)-1) == -EPERM);
  CHILD_CHECK(strstr(shmv_last_error(mine), "only root") != NULL);
  CHILD_CHECK(shmv_chown(mine, "theirs", STRANGER, (gid_t)-1) == -EPERM);
  CHILD_CHECK(shmv_chown(mine, "theirs", STRANGER, OWNER) == -EPERM);
  /* A group it is not in: root's, the stranger's. */
  CHILD_CHECK(shmv_chown(mine, "theirs", (uid_t)-1, 0) == -EPERM);
  CHILD_CHECK(strstr(shmv_last_error(mine), "not in group 0") != NULL);
  CHILD_CHECK(shmv_chown(mine, "theirs", OWNER, STRANGER) == -EPERM);
  /* Its own uid and its own group: allowed, nothing moves. */
  CHILD_CHECK(shmv_chown(mine, "theirs", OWNER, OWNER) == 0);
  CHILD_CHECK(shmv_stat(mine, "theirs", &info) == 0);
  CHILD_CHECK(info.uid == OWNER && info.gid == OWNER && info.mode == 0644);
  shmv_disconnect(mine);
  return 0;
}

/* Its supplementary group counts (SO_PEERGROUPS), as for chown(2). */
static int owner_supplementary(void *arg) {
  static const gid_t groups[] = { OWNER_SUPP };
  shmv_client *mine;
  shmv_segment_info info;

  (void)arg;
  CHILD_CHECK(setgroups(1, groups) == 0);
  CHILD_CHECK(setgid(OWNER) == 0 && setuid(OWNER) == 0);
  CHILD_CHECK(setuid(0) != 0);
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_chown(mine, "theirs", (uid_t)-1, OWNER_SUPP) == 0);
  CHILD_CHECK(shmv_stat(mine, "theirs", &info) == 0 && info.gid == OWNER_SUPP);
  CHILD_CHECK(shmv_chown(mine, "theirs", (uid_t)-1, OWNER_SUPP + 1) == -EPERM);
  shmv_disconnect(mine);
  return 0;
}

START_TEST(owner_may_not_give_away) {
  shmv_segment_info info;

  if (!harness_can_attack("test-chmod", "owner_may_not_give_away"))
    return;
  harness_open_to_all(&d);
  ATTACK_OK(harness_run_as(OWNER, OWNER, owner_limits, NULL), "owner gives away");
  ATTACK_OK(harness_run_child(owner_supplementary, NULL), "owner's supplementary group");
  ck_assert_int_eq(shmv_stat(c, "theirs", &info), 0);
  ck_assert_uint_eq(info.uid, OWNER);
  ck_assert_uint_eq(info.gid, OWNER_SUPP);
  ck_assert_uint_eq(info.mode, 0644);
  /* Root may give it to anyone, and then it is that one's. */
  ck_assert_int_eq(shmv_chown(c, "theirs", STRANGER, STRANGER), 0);
  ck_assert_int_eq(shmv_stat(c, "theirs", &info), 0);
  ck_assert_uint_eq(info.uid, STRANGER);
  ck_assert_uint_eq(info.gid, STRANGER);
  ck_assert_int_eq(shmv_unlink(c, "theirs"), 0);
}
END_TEST

/* After chmod 0600 a stranger that could read it opens nothing more, and
 * sees the new mode in list and stat (what ls -l shows). */
static int stranger_reads(void *arg) {
  shmv_client *mine;
  shmv_view *v;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_view_open(mine, "closing", 0, SHMV_TO_END, 0, &v) == 0);
  shmv_view_release(v);
  shmv_disconnect(mine);
  return 0;
}

static int stranger_locked_out(void *arg) {
  shmv_client *mine;
  shmv_view *v;
  shmv_segment_info info, *list;
  size_t n, i;
  int found = 0;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_view_open(mine, "closing", 0, SHMV_TO_END, 0, &v) == -EACCES);
  CHILD_CHECK(shmv_view_open(mine, "closing", 0, 1, 0, &v) == -EACCES);
  CHILD_CHECK(shmv_stat(mine, "closing", &info) == 0);
  CHILD_CHECK(info.mode == 0600 && info.restricted == 1 && info.views == 0);
  CHILD_CHECK(shmv_list(mine, &list, &n) == 0);
  for (i = 0; i < n; i++)
    if (strcmp(list[i].name, "closing") == 0) {
      found = 1;
      CHILD_CHECK(list[i].mode == 0600 && list[i].restricted == 1 && list[i].uid == 0);
    }
  shmv_list_free(list);
  CHILD_CHECK(found);
  shmv_disconnect(mine);
  return 0;
}

START_TEST(chmod_closes_later_opens) {
  static const uid_t who[] = { HARNESS_NOBODY, HARNESS_NO_PASSWD };

  if (!harness_can_attack("test-chmod", "chmod_closes_later_opens"))
    return;
  harness_open_to_all(&d);
  ck_assert_int_eq(shmv_create(c, "closing", 4096, 0644), 0);
  for (size_t i = 0; i < sizeof who / sizeof who[0]; i++)
    ATTACK_OK(harness_run_as(who[i], who[i], stranger_reads, NULL), "stranger reads 0644");
  ck_assert_int_eq(shmv_chmod(c, "closing", 0600), 0);
  for (size_t i = 0; i < sizeof who / sizeof who[0]; i++)
    ATTACK_OK(harness_run_as(who[i], who[i], stranger_locked_out, NULL), "stranger after 0600");
  ck_assert_int_eq(shmv_unlink(c, "closing"), 0);
}
END_TEST

/* The new owner pays: a chown its quota cannot take is refused, with a
 * sentence; one it can moves the charge. */
START_TEST(chown_moves_the_quota_charge) {
  static const char *const args[] = { "--quota-bytes", "8192", NULL };
  shmv_segment_info info;

  shmv_disconnect(c);
  harness_daemon_stop(&d);
  harness_daemon_start(&d, args);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "a", 8192, 0600), 0);
  ck_assert_int_eq(shmv_chown(c, "a", STRANGER, (gid_t)-1), 0);
  /* Root's charge went with it: room for b. */
  ck_assert_int_eq(shmv_create(c, "b", 4096, 0600), 0);
  /* STRANGER owns 8192 bytes: no room for b's 4096; root, no room for a. */
  ck_assert_int_eq(shmv_chown(c, "b", STRANGER, (gid_t)-1), -EDQUOT);
  ck_assert_ptr_nonnull(strstr(shmv_last_error(c), "quota"));
  ck_assert_int_eq(shmv_stat(c, "b", &info), 0);
  ck_assert_uint_eq(info.uid, 0);
  ck_assert_int_eq(shmv_chown(c, "a", 0, (gid_t)-1), -EDQUOT);
  ck_assert_int_eq(shmv_stat(c, "a", &info), 0);
  ck_assert_uint_eq(info.uid, STRANGER);
  /* A group change alone charges no one. */
  ck_assert_int_eq(shmv_chown(c, "b", (uid_t)-1, 5), 0);
  ck_assert_int_eq(shmv_unlink(c, "b"), 0);
  ck_assert_int_eq(shmv_chown(c, "a", 0, (gid_t)-1), 0);
  ck_assert_int_eq(shmv_create(c, "c", 4096, 0600), -EDQUOT); /* root holds 8192 again */
  ck_assert_int_eq(shmv_unlink(c, "a"), 0);
}
END_TEST

static Suite *chmod_suite(void) {
  Suite *s = suite_create("chmod");
  TCase *tc = tcase_create("chmod");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, owner_sets_mode_and_group);
  tcase_add_test(tc, frozen_metadata_may_change);
  tcase_add_test(tc, kept_across_kill_and_restart);
  tcase_add_test(tc, strangers_may_not_change);
  tcase_add_test(tc, owner_may_not_give_away);
  tcase_add_test(tc, chmod_closes_later_opens);
  tcase_add_test(tc, chown_moves_the_quota_charge);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(chmod_suite());
}

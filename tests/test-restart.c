/* SPDX-License-Identifier: MIT */
/*
 * test-restart.c: the daemon dies, comes back, and nothing is lost.
 *
 * kill -9 of the daemon keeps every segment with its bytes and metadata;
 * clients keep writing through their mappings while it is down, reconnect
 * on their next request and re-register their views, and re-adopted
 * segments cannot shrink until the grace period is over. The state file
 * is checked against /dev/shm on start: vanished objects are dropped,
 * orphans adopted, a corrupt file set aside.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

static struct harness_daemon d;
static const char *const grace_args[] = { "--grace", "2", NULL };

static void setup(void) {
  harness_daemon_start(&d, grace_args);
}

static void teardown(void) {
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

static shmv_client *connect_ok(void) {
  shmv_client *c;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  return c;
}

static void fill(shmv_client *c, const char *name, size_t size, unsigned seed) {
  shmv_view *v;

  ck_assert_int_eq(shmv_view_open(c, name, 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  ck_assert_uint_eq(shmv_view_length(v), size);
  for (size_t i = 0; i < size; i++)
    ((unsigned char *)shmv_view_data(v))[i] = (unsigned char)(i * 31 + seed);
  shmv_view_release(v);
}

static void check_fill(shmv_client *c, const char *name, size_t size, unsigned seed) {
  shmv_view *v;

  ck_assert_int_eq(shmv_view_open(c, name, 0, SHMV_TO_END, 0, &v), 0);
  ck_assert_uint_eq(shmv_view_length(v), size);
  for (size_t i = 0; i < size; i++)
    ck_assert_uint_eq(((unsigned char *)shmv_view_data(v))[i], (unsigned char)(i * 31 + seed));
  shmv_view_release(v);
}

START_TEST(kill9_loses_nothing) {
  shmv_client *c = connect_ok();
  shmv_segment_info before[3], after;

  ck_assert_int_eq(shmv_create(c, "alpha", 10000, 0640), 0);
  ck_assert_int_eq(shmv_create(c, "beta", 1, 0604), 0);
  ck_assert_int_eq(shmv_create(c, "gamma", 0, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "delta", 5, 0600), 0);
  ck_assert_int_eq(shmv_resize(c, "alpha", 70000), 0);
  ck_assert_int_eq(shmv_unlink(c, "delta"), 0);
  fill(c, "alpha", 70000, 7);
  fill(c, "beta", 1, 9);
  ck_assert_int_eq(shmv_stat(c, "alpha", &before[0]), 0);
  ck_assert_int_eq(shmv_stat(c, "beta", &before[1]), 0);
  ck_assert_int_eq(shmv_stat(c, "gamma", &before[2]), 0);
  shmv_disconnect(c);

  harness_daemon_kill(&d);
  harness_daemon_restart(&d, grace_args);
  c = connect_ok();
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(shmv_stat(c, before[i].name, &after), 0);
    ck_assert_uint_eq(after.size, before[i].size);
    ck_assert_uint_eq(after.mode, before[i].mode);
    ck_assert_uint_eq(after.uid, before[i].uid);
    ck_assert_uint_eq(after.gid, before[i].gid);
    ck_assert_int_eq(after.created_sec, before[i].created_sec);
    ck_assert_int_eq(after.created_nsec, before[i].created_nsec);
  }
  ck_assert_int_eq(shmv_stat(c, "delta", &after), -ENOENT);
  check_fill(c, "alpha", 70000, 7);
  check_fill(c, "beta", 1, 9);
  {
    shmv_status_info st;

    ck_assert_int_eq(shmv_status(c, &st), 0);
    ck_assert_uint_eq(st.segments, 3);
    ck_assert_uint_eq(st.bytes, 70001);
    ck_assert_uint_gt(st.grace_ms, 0);
  }
  /* Twice in a row, and after a clean stop too. */
  shmv_disconnect(c);
  harness_daemon_kill(&d);
  harness_daemon_restart(&d, grace_args);
  kill(d.pid, SIGTERM);
  waitpid(d.pid, NULL, 0);
  harness_daemon_restart(&d, grace_args);
  c = connect_ok();
  check_fill(c, "alpha", 70000, 7);
  ck_assert_int_eq(shmv_stat(c, "gamma", &after), 0);
  ck_assert_int_eq(harness_shm_count(d.prefix), 3);
  shmv_disconnect(c);
}
END_TEST

/* A child holding a writable view and writing through a daemon restart. */
struct rider {
  int ready[2], go[2], done[2];
  size_t offset;
  unsigned seed;
};

static int ride(void *arg) {
  struct rider *r = arg;
  shmv_client *c;
  shmv_view *v;
  shmv_status_info st;
  unsigned char *p;
  char b;

  if (shmv_connect(d.socket, &c) != 0 ||
      shmv_view_open(c, "shared", r->offset, 4096, SHMV_WRITABLE, &v) != 0)
    return 1;
  p = shmv_view_data(v);
  for (int i = 0; i < 2048; i++)
    p[i] = (unsigned char)(i + r->seed);
  if (write(r->ready[1], "r", 1) != 1)
    return 2;
  /* The daemon is being killed and restarted meanwhile: the mapping
   * stays memory, and writes land in the segment. */
  for (int i = 2048; i < 4096; i++)
    p[i] = (unsigned char)(i + r->seed);
  if (read(r->go[0], &b, 1) != 1)
    return 3;
  /* The next request reconnects and re-registers the view. */
  if (shmv_status(c, &st) != 0)
    return 4;
  if (write(r->done[1], "d", 1) != 1 || read(r->go[0], &b, 1) != 1)
    return 5;
  shmv_view_release(v);
  if (shmv_status(c, &st) != 0)
    return 6;
  shmv_disconnect(c);
  return 0;
}

static pid_t start_rider(struct rider *r, size_t offset, unsigned seed) {
  pid_t pid;

  r->offset = offset;
  r->seed = seed;
  ck_assert_int_eq(pipe(r->ready), 0);
  ck_assert_int_eq(pipe(r->go), 0);
  ck_assert_int_eq(pipe(r->done), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(ride(r));
  return pid;
}

static void hear(int fd) {
  char b;

  ck_assert_int_eq(read(fd, &b, 1), 1);
}

START_TEST(clients_ride_through_restart) {
  shmv_client *c = connect_ok();
  struct rider a, b;
  pid_t pa, pb;
  shmv_status_info st;
  shmv_view *v;
  int status;

  ck_assert_int_eq(shmv_create(c, "shared", 8192, 0600), 0);
  shmv_disconnect(c);
  pa = start_rider(&a, 0, 1);
  pb = start_rider(&b, 4096, 2);
  hear(a.ready[0]);
  hear(b.ready[0]);

  harness_daemon_kill(&d);
  usleep(100 * 1000); /* clients are without a daemon for a while */
  harness_daemon_restart(&d, grace_args);

  ck_assert_int_eq(write(a.go[1], "g", 1), 1);
  ck_assert_int_eq(write(b.go[1], "g", 1), 1);
  hear(a.done[0]);
  hear(b.done[0]);

  c = connect_ok();
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.clients, 3);
  ck_assert_uint_eq(st.views, 2);
  ck_assert_uint_eq(st.writable_views, 2);
  /* The leases are true again: no shrinking under them. */
  ck_assert_int_eq(shmv_resize(c, "shared", 100), -EBUSY);

  ck_assert_int_eq(write(a.go[1], "g", 1), 1);
  ck_assert_int_eq(write(b.go[1], "g", 1), 1);
  ck_assert_int_eq(waitpid(pa, &status, 0), pa);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "rider a: %#x", status);
  ck_assert_int_eq(waitpid(pb, &status, 0), pb);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "rider b: %#x", status);

  /* Every byte both wrote, before, during and after the restart. */
  ck_assert_int_eq(shmv_view_open(c, "shared", 0, SHMV_TO_END, 0, &v), 0);
  for (int i = 0; i < 4096; i++) {
    ck_assert_uint_eq(((unsigned char *)shmv_view_data(v))[i], (unsigned char)(i + 1));
    ck_assert_uint_eq(((unsigned char *)shmv_view_data(v))[4096 + i], (unsigned char)(i + 2));
  }
  shmv_view_release(v);

  /* No views now, but within the grace period a re-adopted segment still
   * may not shrink: views from before might not be back yet. */
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.views, 0);
  if (st.grace_ms > 200)
    ck_assert_int_eq(shmv_resize(c, "shared", 100), -EBUSY);
  ck_assert_int_eq(shmv_resize(c, "shared", 10000), 0); /* growing is fine */
  usleep((useconds_t)(st.grace_ms + 50) * 1000);
  ck_assert_int_eq(shmv_resize(c, "shared", 100), 0);
  shmv_disconnect(c);
}
END_TEST

/* The state file and /dev/shm disagree: /dev/shm wins. */
START_TEST(orphans_adopted_vanished_dropped) {
  shmv_client *c = connect_ok();
  shmv_segment_info info;
  char path[256];
  int fd;

  ck_assert_int_eq(shmv_create(c, "kept", 100, 0644), 0);
  ck_assert_int_eq(shmv_create(c, "vanishing", 100, 0644), 0);
  fill(c, "kept", 100, 3);
  shmv_disconnect(c);
  kill(d.pid, SIGTERM);
  waitpid(d.pid, NULL, 0);

  snprintf(path, sizeof path, "/dev/shm/%s.vanishing", d.prefix);
  ck_assert_int_eq(unlink(path), 0);
  /* An object like the daemon's own (its euid, mode 0600) is adopted. */
  snprintf(path, sizeof path, "/dev/shm/%s.orphan", d.prefix);
  fd = open(path, O_CREAT | O_RDWR | O_EXCL, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(fchmod(fd, 0600), 0);
  ck_assert_int_eq(write(fd, "orphan data", 11), 11);
  close(fd);
  /* One with another mode is not something the daemon made: left alone. */
  snprintf(path, sizeof path, "/dev/shm/%s.loose", d.prefix);
  fd = open(path, O_CREAT | O_RDWR | O_EXCL, 0644);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(fchmod(fd, 0644), 0);
  close(fd);

  harness_daemon_restart(&d, grace_args);
  c = connect_ok();
  ck_assert_int_eq(shmv_stat(c, "vanishing", &info), -ENOENT);
  ck_assert_int_eq(shmv_stat(c, "kept", &info), 0);
  ck_assert_uint_eq(info.mode, 0644);
  check_fill(c, "kept", 100, 3);
  ck_assert_int_eq(shmv_stat(c, "orphan", &info), 0);
  ck_assert_uint_eq(info.size, 11);
  ck_assert_uint_eq(info.mode, 0600);
  ck_assert_uint_eq(info.uid, geteuid());
  ck_assert_int_eq(shmv_stat(c, "loose", &info), -ENOENT);
  ck_assert_int_eq(access(path, F_OK), 0);
  {
    shmv_view *v;

    ck_assert_int_eq(shmv_view_open(c, "orphan", 0, SHMV_TO_END, 0, &v), 0);
    ck_assert_mem_eq(shmv_view_data(v), "orphan data", 11);
    shmv_view_release(v);
  }
  shmv_disconnect(c);
}
END_TEST

START_TEST(corrupt_and_torn_state) {
  shmv_client *c = connect_ok();
  shmv_segment_info info;
  char path[400], aside[420];
  FILE *f;

  ck_assert_int_eq(shmv_create(c, "one", 10, 0640), 0);
  shmv_disconnect(c);
  harness_daemon_kill(&d);

  /* A torn last line (a crash mid-append) is ignored. */
  snprintf(path, sizeof path, "%s/%s.state", d.dir, d.prefix);
  f = fopen(path, "a");
  ck_assert_ptr_nonnull(f);
  fputs("+ half-written 10 0 0 6", f);
  fclose(f);
  harness_daemon_restart(&d, grace_args);
  c = connect_ok();
  ck_assert_int_eq(shmv_stat(c, "one", &info), 0);
  ck_assert_uint_eq(info.mode, 0640);
  ck_assert_int_eq(shmv_stat(c, "half-written", &info), -ENOENT);
  shmv_disconnect(c);
  harness_daemon_kill(&d);

  /* A file that is not a state file is set aside; the segment survives,
   * adopted with default metadata. */
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("garbage\n", f);
  fclose(f);
  harness_daemon_restart(&d, grace_args);
  c = connect_ok();
  ck_assert_int_eq(shmv_stat(c, "one", &info), 0); /* served: the load is done */
  snprintf(aside, sizeof aside, "%s.corrupt", path);
  ck_assert_int_eq(access(aside, F_OK), 0);
  ck_assert_uint_eq(info.size, 10);
  ck_assert_uint_eq(info.mode, 0600);
  shmv_disconnect(c);
}
END_TEST

static void quota_setup(void) {
  static const char *const args[] = {
    "--quota-bytes", "8K", "--quota-segments", "3", "--quota-views", "2", NULL
  };
  harness_daemon_start(&d, args);
}

START_TEST(quotas) {
  shmv_client *c = connect_ok();
  shmv_status_info st;
  shmv_view *v[3];

  ck_assert_int_eq(shmv_create(c, "q1", 4096, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "q2", 4096, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "q3", 1, 0600), -EDQUOT); /* bytes */
  ck_assert_int_eq(shmv_resize(c, "q2", 4097), -EDQUOT);
  ck_assert_int_eq(shmv_create(c, "q3", 0, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "q4", 0, 0600), -EDQUOT); /* segments */
  ck_assert_int_eq(shmv_view_open(c, "q1", 0, 1, 0, &v[0]), 0);
  ck_assert_int_eq(shmv_view_open(c, "q1", 0, 1, 0, &v[1]), 0);
  ck_assert_int_eq(shmv_view_open(c, "q1", 0, 1, 0, &v[2]), -EDQUOT); /* views */

  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.quota_bytes, 8192);
  ck_assert_uint_eq(st.quota_segments, 3);
  ck_assert_uint_eq(st.quota_views, 2);
  ck_assert_uint_eq(st.uid, geteuid());
  ck_assert_uint_eq(st.used_bytes, 8192);
  ck_assert_uint_eq(st.used_segments, 3);
  ck_assert_uint_eq(st.used_views, 2);

  /* An unlinked segment's bytes count until its last view goes. */
  ck_assert_int_eq(shmv_unlink(c, "q1"), 0);
  ck_assert_int_eq(shmv_create(c, "q4", 4096, 0600), -EDQUOT);
  shmv_view_release(v[0]);
  shmv_view_release(v[1]);
  ck_assert_int_eq(shmv_create(c, "q4", 4096, 0600), 0);
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.used_bytes, 8192);
  ck_assert_uint_eq(st.used_views, 0);
  ck_assert_int_eq(shmv_unlink(c, "q2"), 0);
  ck_assert_int_eq(shmv_unlink(c, "q3"), 0);
  ck_assert_int_eq(shmv_unlink(c, "q4"), 0);
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.used_bytes, 0);
  ck_assert_uint_eq(st.used_segments, 0);
  shmv_disconnect(c);
}
END_TEST

/* ---- no more trust after a restart ---- */

static int stranger_creates(void *arg) {
  shmv_client *c;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_create(c, "theirs", 4096, 0600) == 0);
  shmv_disconnect(c);
  return 0;
}

/* After the restart, another uid may do exactly what it could before. */
static int stranger_after(void *arg) {
  shmv_client *c;
  shmv_view *v;
  shmv_segment_info info;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "secret", 0, 1, 0, &v) == -EACCES);
  CHILD_CHECK(shmv_view_open(c, "pub", 0, 1, SHMV_WRITABLE, &v) == -EACCES);
  CHILD_CHECK(shmv_view_open(c, "pub", 0, 1, 0, &v) == 0);
  shmv_view_release(v);
  CHILD_CHECK(shmv_unlink(c, "pub") == -EPERM);
  CHILD_CHECK(shmv_resize(c, "pub", 1) == -EACCES);
  CHILD_CHECK(shmv_stat(c, "theirs", &info) == 0);
  CHILD_CHECK(info.uid == HARNESS_NOBODY && info.mode == 0600);
  if (getuid() == HARNESS_NOBODY) {
    CHILD_CHECK(shmv_view_open(c, "theirs", 0, 1, SHMV_WRITABLE, &v) == 0);
    shmv_view_release(v);
  } else {
    CHILD_CHECK(shmv_view_open(c, "theirs", 0, 1, 0, &v) == -EACCES);
    CHILD_CHECK(shmv_unlink(c, "theirs") == -EPERM);
  }
  shmv_disconnect(c);
  return 0;
}

START_TEST(strangers_after_restart) {
  shmv_client *c;
  shmv_segment_info info;

  if (!harness_can_attack("test-restart", "strangers_after_restart"))
    return;
  harness_open_to_all(&d);
  c = connect_ok();
  ck_assert_int_eq(shmv_create(c, "secret", 4096, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "pub", 4096, 0644), 0);
  fill(c, "secret", 4096, 7);
  shmv_disconnect(c);
  ATTACK_OK(harness_run_as(HARNESS_NOBODY, HARNESS_NOBODY, stranger_creates, NULL),
            "nobody's create");

  for (int round = 0; round < 2; round++) {
    /* kill -9, then a clean stop: each restart must keep every owner and
     * mode, and trust no one more. */
    if (round == 0) {
      harness_daemon_kill(&d);
    } else {
      kill(d.pid, SIGTERM);
      ck_assert_int_eq(waitpid(d.pid, NULL, 0), d.pid);
      d.pid = 0;
    }
    harness_daemon_restart(&d, grace_args);
    harness_open_to_all(&d);
    ATTACK_OK(harness_run_as(HARNESS_NOBODY, HARNESS_NOBODY, stranger_after, NULL), "nobody");
    ATTACK_OK(harness_run_as(HARNESS_NO_PASSWD, HARNESS_NO_PASSWD, stranger_after, NULL),
              "uid 60001");
  }
  c = connect_ok();
  ck_assert_int_eq(shmv_stat(c, "secret", &info), 0);
  ck_assert_uint_eq(info.uid, 0);
  ck_assert_uint_eq(info.mode, 0600);
  check_fill(c, "secret", 4096, 7);
  ck_assert_int_eq(shmv_stat(c, "pub", &info), 0);
  ck_assert_uint_eq(info.size, 4096);
  shmv_disconnect(c);
}
END_TEST

static Suite *restart_suite(void) {
  Suite *s = suite_create("restart");
  TCase *tc = tcase_create("restart");
  TCase *q = tcase_create("quotas");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, kill9_loses_nothing);
  tcase_add_test(tc, clients_ride_through_restart);
  tcase_add_test(tc, orphans_adopted_vanished_dropped);
  tcase_add_test(tc, corrupt_and_torn_state);
  tcase_add_test(tc, strangers_after_restart);
  suite_add_tcase(s, tc);

  tcase_add_checked_fixture(q, quota_setup, teardown);
  tcase_set_timeout(q, 60);
  tcase_add_test(q, quotas);
  suite_add_tcase(s, q);
  return s;
}

int main(void) {
  return harness_main(restart_suite());
}

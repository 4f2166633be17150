/* SPDX-License-Identifier: MIT */
/*
 * test-limits.c: the default memory limits leave room for others, and an
 * error says which limit was hit.
 *
 * The test runs in a private mount namespace with an 8 MiB tmpfs on
 * /dev/shm, so the daemon's defaults (computed from /dev/shm's size at
 * start) are small and /dev/shm can really be filled, cheaply and without
 * touching the host's. Two users each take all their quota; a third still
 * creates; a fourth meets the daemon's cap; then a file written straight
 * into /dev/shm fills it and a create that the daemon's limits allow fails
 * on /dev/shm itself. Needs root (to mount and to become other uids);
 * skipped otherwise.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

#define SHM_SIZE (8u << 20)
#define QUOTA    (SHM_SIZE / 4)     /* --quota-bytes' default */
#define CAP      (SHM_SIZE / 4 * 3) /* --max-total-size's default */
#define FILLER   "/dev/shm/not-the-daemons"

static struct harness_daemon d;

struct attempt {
  uid_t uid;
  const char *name;
  size_t size;
  int want;             /* what shmv_create must return */
  const char *want_msg; /* a part of shmv_last_error(c) when want < 0 */
};

static int try_create(void *arg) {
  const struct attempt *a = arg;
  shmv_client *c;
  int rc;

  if (a->uid != 0) {
    CHILD_CHECK(setgroups(0, NULL) == 0);
    CHILD_CHECK(setgid(a->uid) == 0);
    CHILD_CHECK(setuid(a->uid) == 0);
  }
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  rc = shmv_create(c, a->name, a->size, 0600);
  if (rc != a->want || (a->want_msg != NULL && strstr(shmv_last_error(c), a->want_msg) == NULL)) {
    fprintf(stderr, "uid %u: create %s %zu = %d (%s), want %d with '%s'\n", (unsigned)a->uid,
            a->name, a->size, rc, shmv_last_error(c), a->want, a->want_msg ? a->want_msg : "");
    return 1;
  }
  shmv_disconnect(c);
  return 0;
}

static void expect(uid_t uid, const char *name, size_t size, int want, const char *want_msg) {
  struct attempt a = { uid, name, size, want, want_msg };
  int status = harness_run_child(try_create, &a);

  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "uid %u: create %s (%zu bytes) did not end as expected (status %#x)", (unsigned)uid,
                name, size, status);
}

/* A private 8 MiB /dev/shm for this test process and its children. */
static bool private_shm(void) {
  if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=1777") != 0) {
    fprintf(stderr, "test-limits: skipped: cannot mount a private /dev/shm: %s\n", strerror(errno));
    return false;
  }
  return true;
}

START_TEST(default_shares) {
  char msg[160];
  shmv_client *c;
  shmv_status_info st;
  int fd;

  if (geteuid() != 0) {
    fprintf(stderr, "test-limits: skipped: needs root (to mount a private /dev/shm and to "
                    "become other uids)\n");
    return;
  }
  /* Without a fork per test the mount would outlive this test. */
  if (getenv("CK_FORK") != NULL && strcmp(getenv("CK_FORK"), "no") == 0) {
    fprintf(stderr, "test-limits: skipped: needs CK_FORK=yes\n");
    return;
  }
  if (!private_shm())
    return;
  harness_daemon_start(&d, NULL);
  ck_assert_int_eq(chmod(d.dir, 0711), 0);
  ck_assert_int_eq(chmod(d.socket, 0666), 0);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.quota_bytes, QUOTA);
  ck_assert_uint_eq(st.max_total_size, CAP);

  /* Two users take all they may: half of /dev/shm. */
  snprintf(msg, sizeof msg,
           "uid 65534's quota of %u bytes (--quota-bytes) would be exceeded: "
           "it owns %u bytes and this needs 4096 more",
           QUOTA, QUOTA);
  expect(65534, "a1", QUOTA, 0, NULL);
  expect(65534, "a2", 4096, -EDQUOT, msg);
  snprintf(msg, sizeof msg, "uid 60001's quota of %u bytes", QUOTA);
  expect(60001, "b1", QUOTA / 2, 0, NULL);
  expect(60001, "b2", QUOTA / 2, 0, NULL);
  expect(60001, "b3", 1, -EDQUOT, msg);
  /* A third still has room. */
  expect(60002, "c1", QUOTA / 2, 0, NULL);
  /* The daemon's cap: 5/8 of /dev/shm held, 1/4 more would pass it. */
  snprintf(msg, sizeof msg,
           "the daemon's cap --max-total-size of %u bytes would be exceeded: "
           "all segments hold %u bytes and this needs %u more",
           CAP, 5 * QUOTA / 2, QUOTA);
  expect(60003, "d1", QUOTA, -ENOSPC, msg);

  /* Someone fills /dev/shm around the daemon: 3 MiB were free, 512 KiB
   * stay. */
  fd = open(FILLER, O_WRONLY | O_CREAT | O_EXCL, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(posix_fallocate(fd, 0, 5u << 19), 0);
  close(fd);
  /* Within the cap and the quota, beyond what /dev/shm has left. */
  expect(60003, "d2", 1u << 20, -ENOSPC,
         "/dev/shm is full (524288 of 8388608 bytes free): the new segment needs 1048576 "
         "bytes; this daemon's segments hold 5242880 bytes, other programs the rest");
  /* Growing is refused the same way, and names the segment. */
  ck_assert_int_eq(shmv_create(c, "root", 4096, 0600), 0);
  ck_assert_int_eq(shmv_resize(c, "root", 4096 + (1u << 19)), -ENOSPC);
  ck_assert_msg(strstr(shmv_last_error(c), "/dev/shm is full") != NULL &&
                    strstr(shmv_last_error(c), "growing 'root' needs 524288 more bytes") != NULL,
                "resize: %s", shmv_last_error(c));
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.bytes, (5u << 20) + 4096);
  ck_assert_int_eq(harness_shm_count(d.prefix), 5);
  /* Once it is freed, the same create passes. */
  ck_assert_int_eq(shmv_unlink(c, "root"), 0);
  ck_assert_int_eq(unlink(FILLER), 0);
  expect(60003, "d2", 1u << 20, 0, NULL);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("limits");
  TCase *tc = tcase_create("limits");

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, default_shares);
  suite_add_tcase(s, tc);
  return harness_main(s);
}

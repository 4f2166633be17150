/* SPDX-License-Identifier: MIT */
/*
 * test-errors.c: every refusal the API can get, with its code.
 *
 * Ranges (including offset+length overflow), names, modes, missing and
 * existing segments, the daemon's limits, and a segment larger than
 * /dev/shm can hold: each is a clear error that leaves nothing behind.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

static struct harness_daemon d;
static shmv_client *c;

static void start_with(const char *const *args) {
  harness_daemon_start(&d, args);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
}

static void setup(void) {
  /* No per-uid byte quota and no cap (by default a quarter and three
   * quarters of /dev/shm), so that only /dev/shm itself refuses a segment
   * larger than it. */
  static const char *const args[] = { "--quota-bytes", "0", "--max-total-size", "0", NULL };

  start_with(args);
}

static void teardown(void) {
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

START_TEST(ranges) {
  shmv_view *v = NULL;

  ck_assert_int_eq(shmv_create(c, "r", 100, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "r", 101, 0, 0, &v), -ERANGE);
  ck_assert_int_eq(shmv_view_open(c, "r", 101, SHMV_TO_END, 0, &v), -ERANGE);
  ck_assert_int_eq(shmv_view_open(c, "r", 0, 101, 0, &v), -ERANGE);
  ck_assert_int_eq(shmv_view_open(c, "r", 50, 51, 0, &v), -ERANGE);
  /* offset + length wraps around: must not pass as "small". */
  ck_assert_int_eq(shmv_view_open(c, "r", 10, SIZE_MAX - 5, 0, &v), -ERANGE);
  ck_assert_int_eq(shmv_view_open(c, "r", SIZE_MAX, 2, 0, &v), -ERANGE);
  ck_assert_int_eq(shmv_view_open(c, "r", SIZE_MAX - 1, 1, SHMV_WRITABLE, &v), -ERANGE);
  ck_assert_ptr_null(v);
  /* The edges themselves are fine. */
  ck_assert_int_eq(shmv_view_open(c, "r", 0, 100, 0, &v), 0);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_view_open(c, "r", 99, 1, 0, &v), 0);
  ck_assert_uint_eq(shmv_view_length(v), 1);
  ck_assert_int_eq(shmv_view_slice(v, 0, 2, &(shmv_view *){ NULL }), -ERANGE);
  ck_assert_int_eq(shmv_view_slice(v, 2, 1, &(shmv_view *){ NULL }), -ERANGE);
  shmv_view_release(v);
  {
    shmv_status_info st;

    ck_assert_int_eq(shmv_status(c, &st), 0);
    ck_assert_uint_eq(st.views, 0);
  }
  ck_assert_int_eq(shmv_unlink(c, "r"), 0);
}
END_TEST

START_TEST(names) {
  char longest[SHMV_NAME_MAX + 1], too_long[SHMV_NAME_MAX + 2];
  static const char *const bad[] = {
    "", ".hidden", "a/b", "a b", "../x", "é", "a\tb", "a:b", NULL
  };

  for (int i = 0; bad[i] != NULL; i++) {
    ck_assert_msg(shmv_create(c, bad[i], 1, 0600) == -EINVAL, "accepted '%s'", bad[i]);
    ck_assert_int_eq(shmv_name_check(bad[i]), -EINVAL);
  }
  memset(too_long, 'n', sizeof too_long - 1);
  too_long[sizeof too_long - 1] = '\0';
  ck_assert_int_eq(shmv_create(c, too_long, 1, 0600), -EINVAL);
  memset(longest, 'n', sizeof longest - 1);
  longest[sizeof longest - 1] = '\0';
  ck_assert_int_eq(shmv_create(c, longest, 1, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "a.b-c_D9", 1, 0600), 0);
  ck_assert_int_eq(shmv_unlink(c, longest), 0);
  ck_assert_int_eq(shmv_unlink(c, "a.b-c_D9"), 0);
  ck_assert_int_eq(harness_shm_count(d.prefix), 0);
}
END_TEST

START_TEST(exists_and_missing) {
  shmv_segment_info info;
  shmv_view *v;

  ck_assert_int_eq(shmv_create(c, "x", 10, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "x", 10, 0600), -EEXIST);
  ck_assert_int_eq(shmv_create(c, "x", 99, 0644), -EEXIST);
  ck_assert_int_eq(shmv_stat(c, "x", &info), 0);
  ck_assert_uint_eq(info.size, 10); /* the refused create changed nothing */
  ck_assert_int_eq(shmv_stat(c, "nope", &info), -ENOENT);
  ck_assert_int_eq(shmv_view_open(c, "nope", 0, 1, 0, &v), -ENOENT);
  ck_assert_int_eq(shmv_unlink(c, "nope"), -ENOENT);
  ck_assert_int_eq(shmv_resize(c, "nope", 1), -ENOENT);
  ck_assert_int_eq(shmv_unlink(c, "x"), 0);
}
END_TEST

START_TEST(modes) {
  shmv_segment_info info;

  ck_assert_int_eq(shmv_create(c, "m", 1, 01777), -EINVAL);
  ck_assert_int_eq(shmv_create(c, "m", 1, 04600), -EINVAL);
  ck_assert_int_eq(shmv_create(c, "m", 1, 0), 0); /* default */
  ck_assert_int_eq(shmv_stat(c, "m", &info), 0);
  ck_assert_uint_eq(info.mode, 0600);
  ck_assert_int_eq(shmv_unlink(c, "m"), 0);
  ck_assert_int_eq(shmv_create(c, "m", 1, 0640), 0);
  ck_assert_int_eq(shmv_stat(c, "m", &info), 0);
  ck_assert_uint_eq(info.mode, 0640);
  ck_assert_int_eq(shmv_unlink(c, "m"), 0);
}
END_TEST

/* A segment larger than /dev/shm: ENOSPC at create, nothing left. */
START_TEST(dev_shm_full) {
  struct statvfs vfs;
  uint64_t too_big;
  shmv_status_info st;

  ck_assert_int_eq(statvfs("/dev/shm", &vfs), 0);
  too_big = (uint64_t)vfs.f_blocks * vfs.f_frsize + (1u << 20);
  ck_assert_int_eq(shmv_create(c, "huge", (size_t)too_big, 0600), -ENOSPC);
  ck_assert_msg(strstr(shmv_last_error(c), "/dev/shm is full (") != NULL, "%s", shmv_last_error(c));
  ck_assert_int_eq(harness_shm_count(d.prefix), 0);
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.segments, 0);
  ck_assert_uint_eq(st.bytes, 0);
  /* Growing past it is refused the same way, and the old size kept. */
  ck_assert_int_eq(shmv_create(c, "small", 4096, 0600), 0);
  ck_assert_int_eq(shmv_resize(c, "small", (size_t)too_big), -ENOSPC);
  {
    shmv_segment_info info;

    ck_assert_int_eq(shmv_stat(c, "small", &info), 0);
    ck_assert_uint_eq(info.size, 4096);
  }
  ck_assert_int_eq(shmv_unlink(c, "small"), 0);
  ck_assert_int_eq(harness_shm_count(d.prefix), 0);
}
END_TEST

static void limits_setup(void) {
  static const char *const args[] = { "--max-segment-size",
                                      "1M",
                                      "--max-total-size",
                                      "1536K",
                                      "--max-views",
                                      "3",
                                      "--max-clients",
                                      "2",
                                      NULL };
  start_with(args);
}

START_TEST(limits) {
  shmv_view *v[4];
  shmv_client *second, *third;
  shmv_status_info st;

  ck_assert_int_eq(shmv_create(c, "big", (1u << 20) + 1, 0600), -EFBIG);
  ck_assert_int_eq(shmv_create(c, "a", 1u << 20, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "b", 600u << 10, 0600), -ENOSPC);
  ck_assert_msg(strstr(shmv_last_error(c), "the daemon's cap --max-total-size of 1572864 bytes") !=
                    NULL,
                "%s", shmv_last_error(c));
  ck_assert_int_eq(shmv_create(c, "b", 512u << 10, 0600), 0);
  ck_assert_int_eq(shmv_resize(c, "b", (512u << 10) + 1), -ENOSPC);
  ck_assert_int_eq(shmv_resize(c, "a", (1u << 20) + 1), -EFBIG);
  ck_assert_int_eq(harness_shm_count(d.prefix), 2);

  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(shmv_view_open(c, "b", 0, 1, 0, &v[i]), 0);
  ck_assert_int_eq(shmv_view_open(c, "b", 0, 1, 0, &v[3]), -ENOSPC);
  shmv_view_release(v[0]);
  ck_assert_int_eq(shmv_view_open(c, "b", 0, 1, 0, &v[0]), 0);

  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.max_segment_size, 1u << 20);
  ck_assert_uint_eq(st.max_total_size, 1536u << 10);
  ck_assert_uint_eq(st.max_views, 3);
  ck_assert_uint_eq(st.max_clients, 2);
  ck_assert_uint_eq(st.views, 3);

  /* Two clients may connect; the third is told why it is refused. */
  ck_assert_int_eq(shmv_connect(d.socket, &second), 0);
  ck_assert_int_eq(shmv_connect(d.socket, &third), -EUSERS);
  shmv_disconnect(second);
  for (int i = 0; i < 200; i++) {
    if (shmv_connect(d.socket, &third) == 0)
      break;
    third = NULL;
    usleep(10 * 1000);
  }
  ck_assert_ptr_nonnull(third);
  shmv_disconnect(third);

  for (int i = 0; i < 3; i++)
    shmv_view_release(v[i]);
  ck_assert_int_eq(shmv_unlink(c, "a"), 0);
  ck_assert_int_eq(shmv_unlink(c, "b"), 0);
}
END_TEST

static void no_daemon_setup(void) {
}
static void no_daemon_teardown(void) {
}

START_TEST(no_daemon) {
  shmv_client *none = NULL;

  ck_assert_int_eq(shmv_connect("/nonexistent/shmview.sock", &none), -ENOENT);
  ck_assert_ptr_null(none);
  ck_assert_int_lt(shmv_connect("", &none), 0);
  ck_assert_ptr_nonnull(shmv_strerror(-ECONNREFUSED));
}
END_TEST

static Suite *errors_suite(void) {
  Suite *s = suite_create("errors");
  TCase *tc = tcase_create("errors");
  TCase *lim = tcase_create("limits");
  TCase *none = tcase_create("no daemon");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, ranges);
  tcase_add_test(tc, names);
  tcase_add_test(tc, exists_and_missing);
  tcase_add_test(tc, modes);
  tcase_add_test(tc, dev_shm_full);
  suite_add_tcase(s, tc);

  tcase_add_checked_fixture(lim, limits_setup, teardown);
  tcase_set_timeout(lim, 60);
  tcase_add_test(lim, limits);
  suite_add_tcase(s, lim);

  tcase_add_checked_fixture(none, no_daemon_setup, no_daemon_teardown);
  tcase_add_test(none, no_daemon);
  suite_add_tcase(s, none);
  return s;
}

int main(void) {
  return harness_main(errors_suite());
}

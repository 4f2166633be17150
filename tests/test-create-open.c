/* SPDX-License-Identifier: MIT */
/*
 * test-create-open.c: shmv_view_create makes a segment and hands back a
 * writable view of all of it in one round trip.
 *
 * The view is the whole zero-filled segment, another process sees what is
 * written through it, the mode and the flags (ephemeral, prefault) apply, and
 * it is refused exactly where create is: an existing name, a bad name, a
 * segment over the size limit, and each per-uid quota (bytes, segments),
 * leaving nothing behind. The view it returns counts as a view: at the view
 * quota it is refused too, and then no segment is created.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

static struct harness_daemon d;

static void setup(void) {
  harness_daemon_start(&d, NULL);
}

static void teardown(void) {
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

static int reader(void *arg) {
  shmv_client *c;
  shmv_view *v;
  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "co", 0, SHMV_TO_END, 0, &v) == 0);
  CHILD_CHECK(shmv_view_length(v) == 10000);
  CHILD_CHECK(memcmp(shmv_view_data(v), "one trip", 8) == 0);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

START_TEST(one_round_trip) {
  shmv_client *c;
  shmv_view *v;
  shmv_segment_info info;
  shmv_status_info st;
  shmv_descriptor desc;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_view_create(c, "co", 10000, 0640, 0, &v), 0);
  ck_assert_uint_eq(shmv_view_length(v), 10000);
  ck_assert(!shmv_view_readonly(v));
  const char *p = shmv_view_data(v);
  for (size_t i = 0; i < 10000; i++)
    ck_assert_int_eq(p[i], 0);
  memcpy(shmv_view_data(v), "one trip", 8);
  ck_assert_int_eq(shmv_view_descriptor(v, &desc), 0);
  ck_assert_str_eq(desc.name, "co");
  ck_assert_uint_eq(desc.offset, 0);
  ck_assert_int_eq(desc.writable, 1);

  ck_assert_int_eq(shmv_stat(c, "co", &info), 0);
  ck_assert_uint_eq(info.size, 10000);
  ck_assert_uint_eq(info.mode, 0640);
  ck_assert_uint_eq(info.uid, geteuid());
  ck_assert_uint_eq(info.views, 1);
  ck_assert_uint_eq(info.writable_views, 1);
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.used_segments, 1);
  ck_assert_uint_eq(st.used_views, 1);
  ck_assert_uint_eq(st.used_bytes, 10000);

  int status = harness_run_child(reader, NULL);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  /* mode 0 is 0600, as for create; a zero size is legal */
  ck_assert_int_eq(shmv_view_create(c, "empty", 0, 0, SHMV_PREFAULT, &v), 0);
  ck_assert_uint_eq(shmv_view_length(v), 0);
  ck_assert_int_eq(shmv_stat(c, "empty", &info), 0);
  ck_assert_uint_eq(info.mode, 0600);
  shmv_view_release(v);
  shmv_disconnect(c);
}
END_TEST

START_TEST(refused_like_create) {
  shmv_client *c;
  shmv_view *v = (shmv_view *)&c;
  shmv_status_info st;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "taken", 10, 0600), 0);
  ck_assert_int_eq(shmv_view_create(c, "taken", 10, 0600, 0, &v), -EEXIST);
  ck_assert_ptr_null(v);
  ck_assert_int_eq(shmv_view_create(c, ".bad", 10, 0600, 0, &v), -EINVAL);
  ck_assert_int_eq(shmv_view_create(c, "x", 10, 01777, 0, &v), -EINVAL);
  ck_assert_int_eq(shmv_view_create(c, "x", 10, 0600, 0x80, &v), -EINVAL);
  ck_assert_int_eq(shmv_view_create(NULL, "x", 10, 0600, 0, &v), -EINVAL);
  ck_assert_int_eq(shmv_view_create(c, "x", 10, 0600, 0, NULL), -EINVAL);
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.segments, 1);
  ck_assert_uint_eq(st.views, 0);
  shmv_disconnect(c);
}
END_TEST

/* With limits: what create answers, create-and-open answers. */
START_TEST(quotas_like_create) {
  static const char *const args[] = {
    "--quota-bytes", "64K", "--quota-segments", "2", "--quota-views", "3", "--max-segment-size",
    "32K",           NULL
  };
  shmv_client *c;
  shmv_view *v1, *v2, *v;
  shmv_status_info st;

  ck_assert_int_eq(harness_daemon_stop(&d), 0);
  harness_daemon_start(&d, args);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);

  /* over the segment size limit */
  ck_assert_int_eq(shmv_create(c, "big", 40000, 0600), -EFBIG);
  ck_assert_int_eq(shmv_view_create(c, "big", 40000, 0600, 0, &v), -EFBIG);
  /* bytes: 30K + 30K fit in 64K, a third 30K would not */
  ck_assert_int_eq(shmv_view_create(c, "a", 30000, 0600, 0, &v1), 0);
  ck_assert_int_eq(shmv_create(c, "b", 30000, 0600), 0);
  ck_assert_int_eq(shmv_unlink(c, "b"), 0);
  ck_assert_int_eq(shmv_view_create(c, "b", 30000, 0600, 0, &v2), 0);
  /* segments: two held, a third refused either way */
  ck_assert_int_eq(shmv_create(c, "c", 1, 0600), -EDQUOT);
  ck_assert_int_eq(shmv_view_create(c, "c", 1, 0600, 0, &v), -EDQUOT);
  ck_assert_int_eq(shmv_unlink(c, "b"), 0); /* its memory stays charged while v2 maps it */
  ck_assert_int_eq(shmv_create(c, "c", 10000, 0600), -EDQUOT);
  ck_assert_int_eq(shmv_view_create(c, "c", 10000, 0600, 0, &v), -EDQUOT);
  shmv_view_release(v2);

  /* views: a and two more make three; then create-and-open is refused
   * although create is not, and it leaves no segment behind */
  ck_assert_int_eq(shmv_view_open(c, "a", 0, 1, 0, &v2), 0);
  ck_assert_int_eq(shmv_view_open(c, "a", 0, 1, 0, &v), 0);
  ck_assert_int_eq(shmv_view_create(c, "d", 10, 0600, 0, &v), -EDQUOT);
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.used_segments, 1);
  ck_assert_int_eq(shmv_create(c, "d", 10, 0600), 0);
  shmv_view_release(v);
  shmv_view_release(v2);
  shmv_view_release(v1);
  shmv_disconnect(c);
}
END_TEST

START_TEST(ephemeral) {
  shmv_client *c;
  shmv_view *v;
  shmv_segment_info info;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_view_create(c, "e", 100, 0600, SHMV_CREATE_EPHEMERAL | SHMV_PREFAULT, &v),
                   0);
  ck_assert_int_eq(shmv_stat(c, "e", &info), 0);
  ck_assert_int_eq(info.ephemeral, 1);
  shmv_view_release(v);
  /* its last view went: so did it (the release is not waited for) */
  int rc = 0;
  for (int i = 0; i < 2000 && (rc = shmv_stat(c, "e", &info)) == 0; i++)
    usleep(5000);
  ck_assert_int_eq(rc, -ENOENT);
  shmv_disconnect(c);
}
END_TEST

static Suite *create_open_suite(void) {
  Suite *s = suite_create("create-open");
  TCase *tc = tcase_create("create-open");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, one_round_trip);
  tcase_add_test(tc, refused_like_create);
  tcase_add_test(tc, quotas_like_create);
  tcase_add_test(tc, ephemeral);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(create_open_suite());
}

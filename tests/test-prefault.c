/* SPDX-License-Identifier: MIT */
/*
 * test-prefault.c: SHMV_PREFAULT maps a view's pages at open.
 *
 * Whether a page is mapped is read from /proc/self/pagemap (bit 63:
 * present in this process's page tables), which is what a first touch
 * would otherwise have to fault in. Without the flag no page of a fresh
 * view is mapped before it is touched; with it every page is, for
 * read-only and writable views, and for a view served from the client's
 * cache of released mappings. Unknown flags are refused.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

#define PAGES 64

static struct harness_daemon d;

static void setup(void) {
  harness_daemon_start(&d, NULL);
}

static void teardown(void) {
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

/* How many of the n pages from addr are present in our page tables. */
static int present(const void *addr, int n) {
  long page = sysconf(_SC_PAGESIZE);
  uint64_t e[PAGES];
  int fd = open("/proc/self/pagemap", O_RDONLY);
  int count = 0;

  ck_assert_int_ge(fd, 0);
  ck_assert_int_le(n, PAGES);
  off_t at = (off_t)((uintptr_t)addr / (uintptr_t)page * sizeof(uint64_t));
  ck_assert_int_eq(pread(fd, e, sizeof(uint64_t) * (size_t)n, at),
                   (ssize_t)(sizeof(uint64_t) * (size_t)n));
  close(fd);
  for (int i = 0; i < n; i++)
    count += (int)(e[i] >> 63);
  return count;
}

START_TEST(prefault_maps_every_page) {
  long page = sysconf(_SC_PAGESIZE);
  shmv_client *c;
  shmv_view *v;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "pf", (size_t)page * PAGES, 0600), 0);

  /* without: nothing mapped until touched */
  ck_assert_int_eq(shmv_view_open(c, "pf", 0, SHMV_TO_END, 0, &v), 0);
  ck_assert_int_eq(present(shmv_view_data(v), PAGES), 0);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_view_open(c, "pf", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  ck_assert_int_eq(present(shmv_view_data(v), PAGES), 0);
  shmv_view_release(v);
  shmv_disconnect(c);

  /* with, on fresh mappings (a new connection: an empty mapping cache) */
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_view_open(c, "pf", 0, SHMV_TO_END, SHMV_PREFAULT, &v), 0);
  ck_assert_int_eq(present(shmv_view_data(v), PAGES), PAGES);
  ck_assert(shmv_view_readonly(v));
  shmv_view_release(v);
  ck_assert_int_eq(shmv_view_open(c, "pf", (size_t)page * 8, (size_t)page * 8,
                                  SHMV_WRITABLE | SHMV_PREFAULT, &v),
                   0);
  ck_assert_int_eq(present(shmv_view_data(v), 8), 8);
  ((char *)shmv_view_data(v))[0] = 1; /* and writable */
  shmv_view_release(v);
  shmv_disconnect(c);
}
END_TEST

START_TEST(prefault_cached_mapping) {
  long page = sysconf(_SC_PAGESIZE);
  shmv_client *c;
  shmv_view *v, *w;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "pf", (size_t)page * PAGES, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "pf", 0, SHMV_TO_END, 0, &v), 0);
  const char *base = shmv_view_data(v);
  shmv_view_release(v); /* kept in the cache, its pages never touched */
  ck_assert_int_eq(shmv_view_open(c, "pf", 0, SHMV_TO_END, SHMV_PREFAULT, &w), 0);
  if (shmv_view_data(w) == base) /* served from the cache */
    ck_assert_int_eq(present(shmv_view_data(w), PAGES), PAGES);
  shmv_view_release(w);
  shmv_disconnect(c);
}
END_TEST

START_TEST(unknown_flags) {
  shmv_client *c;
  shmv_view *v = (shmv_view *)&c;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "pf", 4096, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "pf", 0, SHMV_TO_END, 0x2, &v), -EINVAL);
  ck_assert_ptr_null(v);
  ck_assert_int_eq(shmv_view_open(c, "pf", 0, SHMV_TO_END, SHMV_WRITABLE | 0x4000, &v), -EINVAL);
  shmv_disconnect(c);
}
END_TEST

static Suite *prefault_suite(void) {
  Suite *s = suite_create("prefault");
  TCase *tc = tcase_create("open");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, prefault_maps_every_page);
  tcase_add_test(tc, prefault_cached_mapping);
  tcase_add_test(tc, unknown_flags);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(prefault_suite());
}

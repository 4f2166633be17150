/* SPDX-License-Identifier: MIT */
/*
 * test-fd-cache.c: the descriptors shmviewd keeps for the next open.
 *
 * An open is served from a descriptor the segment keeps (--fd-cache), so
 * the daemon holds descriptors of objects between requests. What must
 * hold, read from the daemon's /proc/PID/fd and fdinfo: at most
 * --fd-cache segments keep them (read-only and read-write apart, each with
 * its own access mode, so a read-only view stays read-only to the
 * kernel), unlinking a segment closes them at once (the daemon never pins
 * the memory of a removed segment), and --fd-cache 0 keeps none.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

static struct harness_daemon d;

static void teardown(void) {
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

/* What the daemon's descriptors to its objects are: how many in all, how
 * many for segment `name` (NULL: any), and of those how many read-only. */
struct kept {
  int all, named, readonly;
};

static struct kept daemon_kept(const char *name) {
  char dir[64], link[PATH_MAX], target[PATH_MAX], want[128], info[PATH_MAX], line[128];
  size_t base_len;
  struct kept k = { 0, 0, 0 };
  struct dirent *e;
  DIR *dp;

  snprintf(dir, sizeof dir, "/proc/%d/fd", (int)d.pid);
  base_len = (size_t)snprintf(want, sizeof want, "/dev/shm/%s.", d.prefix);
  if (name != NULL)
    snprintf(want + base_len, sizeof want - base_len, "%s", name);
  dp = opendir(dir);
  ck_assert_ptr_nonnull(dp);
  while ((e = readdir(dp)) != NULL) {
    ssize_t n;

    if (e->d_name[0] == '.')
      continue;
    snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
    n = readlink(link, target, sizeof target - 1);
    if (n < 0)
      continue;
    target[n] = '\0';
    /* the daemon's own PREFIX..lock is not a segment */
    if (strncmp(target, want, base_len) != 0 || target[base_len] == '.')
      continue;
    k.all++;
    if (name != NULL && strcmp(target, want) != 0)
      continue;
    k.named++;
    snprintf(info, sizeof info, "/proc/%d/fdinfo/%s", (int)d.pid, e->d_name);
    FILE *f = fopen(info, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f) != NULL)
      if (strncmp(line, "flags:", 6) == 0 && (strtol(line + 6, NULL, 8) & O_ACCMODE) == O_RDONLY)
        k.readonly++;
    fclose(f);
  }
  closedir(dp);
  return k;
}

/* Open and release a read-only and a writable view of all of name. A
 * request answered after them says the daemon is done with them: it closes
 * the duplicate it sent just after sending it, which the client may
 * outrun. */
static void open_both(shmv_client *c, const char *name) {
  shmv_status_info st;
  shmv_view *v;

  OK(shmv_view_open(c, name, 0, SHMV_TO_END, 0, &v));
  shmv_view_release(v);
  OK(shmv_view_open(c, name, 0, SHMV_TO_END, SHMV_WRITABLE, &v));
  shmv_view_release(v);
  OK(shmv_status(c, &st));
}

START_TEST(kept_per_access_mode) {
  shmv_client *c;
  struct kept k;

  harness_daemon_start(&d, NULL);
  OK(shmv_connect(d.socket, &c));
  OK(shmv_create(c, "a", 4096, 0600));
  open_both(c, "a");
  k = daemon_kept("a");
  ck_assert_int_eq(k.named, 2);
  ck_assert_int_eq(k.readonly, 1);
  /* Opening again uses them: no more descriptors. */
  open_both(c, "a");
  open_both(c, "a");
  k = daemon_kept("a");
  ck_assert_int_eq(k.named, 2);
  ck_assert_int_eq(k.all, 2);
  shmv_disconnect(c);
}
END_TEST

/* A read-only view served after a writable one is still read-only to the
 * kernel: its pages cannot be made writable. */
START_TEST(readonly_after_writable) {
  shmv_client *c;
  shmv_view *w, *r;

  harness_daemon_start(&d, NULL);
  OK(shmv_connect(d.socket, &c));
  OK(shmv_create(c, "ro", 4096, 0600));
  OK(shmv_view_open(c, "ro", 0, SHMV_TO_END, SHMV_WRITABLE, &w));
  OK(shmv_view_open(c, "ro", 0, SHMV_TO_END, 0, &r));
  ck_assert(shmv_view_readonly(r));
  errno = 0;
  ck_assert_int_eq(mprotect(shmv_view_data(r), 4096, PROT_READ | PROT_WRITE), -1);
  ck_assert_int_eq(errno, EACCES);
  ck_assert_int_eq(mprotect(shmv_view_data(w), 4096, PROT_READ | PROT_WRITE), 0);
  shmv_view_release(r);
  shmv_view_release(w);
  shmv_disconnect(c);
}
END_TEST

START_TEST(bounded_by_fd_cache) {
  static const char *const args[] = { "--fd-cache", "2", NULL };
  static const char *const names[] = { "s1", "s2", "s3", "s4", "s5" };
  shmv_client *c;

  harness_daemon_start(&d, args);
  OK(shmv_connect(d.socket, &c));
  for (int i = 0; i < 5; i++) {
    OK(shmv_create(c, names[i], 4096, 0600));
    open_both(c, names[i]);
    ck_assert_int_le(daemon_kept(NULL).all, 4);
  }
  /* The two opened last keep theirs; the others closed them. */
  ck_assert_int_eq(daemon_kept("s5").named, 2);
  ck_assert_int_eq(daemon_kept("s4").named, 2);
  ck_assert_int_eq(daemon_kept("s1").named, 0);
  /* An evicted segment opens as before, and is kept again. */
  open_both(c, "s1");
  ck_assert_int_eq(daemon_kept("s1").named, 2);
  ck_assert_int_eq(daemon_kept("s4").named, 0);
  ck_assert_int_eq(daemon_kept(NULL).all, 4);
  shmv_disconnect(c);
}
END_TEST

START_TEST(unlink_closes_them) {
  shmv_client *c;
  shmv_view *v;

  harness_daemon_start(&d, NULL);
  OK(shmv_connect(d.socket, &c));
  OK(shmv_create(c, "u", 4096, 0600));
  open_both(c, "u");
  ck_assert_int_eq(daemon_kept("u").named, 2);
  OK(shmv_unlink(c, "u"));
  ck_assert_int_eq(daemon_kept(NULL).all, 0);
  ck_assert_int_eq(harness_shm_count(d.prefix), 0);

  /* Unlinked under a live view: the view keeps the memory, not the daemon. */
  OK(shmv_create(c, "u", 4096, 0600));
  OK(shmv_view_open(c, "u", 0, SHMV_TO_END, SHMV_WRITABLE, &v));
  OK(shmv_unlink(c, "u"));
  ck_assert_int_eq(daemon_kept(NULL).all, 0);
  ((char *)shmv_view_data(v))[0] = 'x';
  shmv_view_release(v);

  /* A new segment of the same name is a new object, not the old one. */
  OK(shmv_create(c, "u", 4096, 0600));
  OK(shmv_view_open(c, "u", 0, SHMV_TO_END, 0, &v));
  ck_assert_int_eq(((char *)shmv_view_data(v))[0], 0);
  shmv_view_release(v);
  shmv_disconnect(c);
}
END_TEST

START_TEST(zero_keeps_none) {
  static const char *const args[] = { "--fd-cache", "0", NULL };
  shmv_client *c;
  shmv_view *v;

  harness_daemon_start(&d, args);
  OK(shmv_connect(d.socket, &c));
  OK(shmv_create(c, "z", 4096, 0600));
  ck_assert_int_eq(daemon_kept(NULL).all, 0);
  open_both(c, "z");
  ck_assert_int_eq(daemon_kept(NULL).all, 0);
  OK(shmv_view_open(c, "z", 0, SHMV_TO_END, SHMV_WRITABLE, &v));
  ((char *)shmv_view_data(v))[0] = 'z';
  shmv_view_release(v);
  shmv_disconnect(c);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("fd-cache");
  TCase *tc = tcase_create("fd-cache");

  tcase_add_checked_fixture(tc, NULL, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, kept_per_access_mode);
  tcase_add_test(tc, readonly_after_writable);
  tcase_add_test(tc, bounded_by_fd_cache);
  tcase_add_test(tc, unlink_closes_them);
  tcase_add_test(tc, zero_keeps_none);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(suite());
}

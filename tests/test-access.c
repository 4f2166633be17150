/* SPDX-License-Identifier: MIT */
/*
 * test-access.c: who may do what, enforced by the daemon and the kernel.
 *
 * A read-only view is backed by an O_RDONLY descriptor: a write through it
 * kills the writer with SIGSEGV and mprotect(PROT_WRITE) fails. Another
 * user may read a 0644 segment but gets EACCES for a writable view, EACCES
 * for a resize and EPERM for an unlink (this part needs root, to become
 * nobody; it is skipped with a message otherwise).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture-client.h"
#include "harness.h"
#include "shmview.h"

#define NOBODY 65534

static int write_through_readonly(void *arg) {
  shmv_client *mine;
  shmv_view *v;

  (void)arg;
  /* Sanitizer runtimes catch SIGSEGV; we want the kernel's verdict. */
  signal(SIGSEGV, SIG_DFL);
  if (shmv_connect(d.socket, &mine) != 0 || shmv_view_open(mine, "ro", 0, SHMV_TO_END, 0, &v) != 0)
    return 2;
  ((volatile char *)shmv_view_data(v))[10] = 'x';
  return 0; /* not reached if the kernel enforces read-only */
}

START_TEST(readonly_write_segfaults) {
  shmv_view *v;
  int status;

  ck_assert_int_eq(shmv_create(c, "ro", 8192, 0600), 0);
  status = harness_run_child(write_through_readonly, NULL);
  ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
                "writer was not killed by SIGSEGV (status %#x)", status);
  /* Nothing was written. */
  ck_assert_int_eq(shmv_view_open(c, "ro", 0, SHMV_TO_END, 0, &v), 0);
  ck_assert_uint_eq(((char *)shmv_view_data(v))[10], 0);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_unlink(c, "ro"), 0);
}
END_TEST

START_TEST(readonly_mprotect_refused) {
  shmv_view *v, *w;
  long page = sysconf(_SC_PAGESIZE);
  uintptr_t start;

  ck_assert_int_eq(shmv_create(c, "ro", 3 * 4096, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "ro", 100, 5000, 0, &v), 0);
  ck_assert(shmv_view_readonly(v));
  start = (uintptr_t)shmv_view_data(v) & ~(uintptr_t)(page - 1);
  errno = 0;
  ck_assert_int_eq(mprotect((void *)start, (size_t)page, PROT_READ | PROT_WRITE), -1);
  ck_assert_int_eq(errno, EACCES);

  /* The same range through a writable view is writable. */
  ck_assert_int_eq(shmv_view_open(c, "ro", 100, 5000, SHMV_WRITABLE, &w), 0);
  ck_assert(!shmv_view_readonly(w));
  ((char *)shmv_view_data(w))[0] = 'w';
  ck_assert_uint_eq(((char *)shmv_view_data(v))[0], 'w');
  shmv_view_release(w);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_unlink(c, "ro"), 0);
}
END_TEST

/* As nobody: what a stranger may and may not do. */
static int as_stranger(void *arg) {
  shmv_client *mine;
  shmv_view *v;
  shmv_segment_info info;
  char buf[8];

  (void)arg;
  CHILD_CHECK(setgroups(0, NULL) == 0);
  CHILD_CHECK(setgid(NOBODY) == 0);
  CHILD_CHECK(setuid(NOBODY) == 0);
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);

  /* 0644: read yes, write no. */
  CHILD_CHECK(shmv_view_open(mine, "public", 0, SHMV_TO_END, 0, &v) == 0);
  CHILD_CHECK(shmv_view_tobytes(v, buf, sizeof buf) == 5);
  CHILD_CHECK(memcmp(buf, "hello", 5) == 0);
  shmv_view_release(v);
  CHILD_CHECK(shmv_view_open(mine, "public", 0, SHMV_TO_END, SHMV_WRITABLE, &v) == -EACCES);
  CHILD_CHECK(shmv_resize(mine, "public", 1) == -EACCES);
  CHILD_CHECK(shmv_unlink(mine, "public") == -EPERM);

  /* 0600: nothing but metadata. */
  CHILD_CHECK(shmv_view_open(mine, "private", 0, 1, 0, &v) == -EACCES);
  CHILD_CHECK(shmv_stat(mine, "private", &info) == 0);
  CHILD_CHECK(info.uid == 0);

  /* 0666: a stranger may write. */
  CHILD_CHECK(shmv_view_open(mine, "shared", 0, SHMV_TO_END, SHMV_WRITABLE, &v) == 0);
  memcpy(shmv_view_data(v), "nobody", 6);
  shmv_view_release(v);

  /* What it creates is its own, even for root's eyes in stat. */
  CHILD_CHECK(shmv_create(mine, "mine", 10, 0) == 0);
  CHILD_CHECK(shmv_stat(mine, "mine", &info) == 0);
  CHILD_CHECK(info.uid == NOBODY && info.mode == 0600);
  shmv_disconnect(mine);
  return 0;
}

START_TEST(other_user_permissions) {
  shmv_view *v;
  int status;

  if (geteuid() != 0) {
    fprintf(stderr, "test-access: other_user_permissions skipped: needs root to "
                    "become nobody\n");
    return;
  }
  /* nobody must be able to reach the socket. */
  ck_assert_int_eq(chmod(d.dir, 0711), 0);
  ck_assert_int_eq(chmod(d.socket, 0666), 0);

  ck_assert_int_eq(shmv_create(c, "public", 5, 0644), 0);
  ck_assert_int_eq(shmv_view_open(c, "public", 0, 5, SHMV_WRITABLE, &v), 0);
  memcpy(shmv_view_data(v), "hello", 5);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_create(c, "private", 5, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "shared", 6, 0666), 0);

  status = harness_run_child(as_stranger, NULL);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "stranger checks failed (status %#x)", status);

  ck_assert_int_eq(shmv_view_open(c, "shared", 0, SHMV_TO_END, 0, &v), 0);
  ck_assert_mem_eq(shmv_view_data(v), "nobody", 6);
  shmv_view_release(v);
  /* Root may unlink anything. */
  ck_assert_int_eq(shmv_unlink(c, "mine"), 0);
  ck_assert_int_eq(shmv_unlink(c, "public"), 0);
  ck_assert_int_eq(shmv_unlink(c, "private"), 0);
  ck_assert_int_eq(shmv_unlink(c, "shared"), 0);
}
END_TEST

/* The shm object itself is the daemon's, 0600: no one reaches it but
 * through a descriptor the daemon hands out. */
START_TEST(object_is_private) {
  char path[256];
  struct stat st;

  ck_assert_int_eq(shmv_create(c, "obj", 4096, 0666), 0);
  snprintf(path, sizeof path, "/dev/shm/%s.obj", d.prefix);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_uint_eq(st.st_mode & 07777, 0600);
  ck_assert_uint_eq(st.st_uid, geteuid());
  /* posix_fallocate reserved the memory at create. */
  ck_assert_int_ge((long long)st.st_blocks * 512, 4096);
  ck_assert_int_eq(shmv_unlink(c, "obj"), 0);
}
END_TEST

static Suite *access_suite(void) {
  Suite *s = suite_create("access");
  TCase *tc = tcase_create("access");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, readonly_write_segfaults);
  tcase_add_test(tc, readonly_mprotect_refused);
  tcase_add_test(tc, other_user_permissions);
  tcase_add_test(tc, object_is_private);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(access_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test-share.c: two separate processes share a segment through views.
 *
 * The seed scenario of the memoryview tutorial, between processes: A
 * creates "greeting" and writes "Hello, World!" through a writable view;
 * B opens a read-only view of [7,12) and reads "World"; B's slice is the
 * same memory, not a copy; A writes 'A' at offset 0 and B's whole-segment
 * view reads "Aello, World!" without reopening anything.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

struct pipes {
  int a_to_b[2];
  int b_to_a[2];
};

static int process_a(void *arg) {
  struct pipes *p = arg;
  shmv_client *c;
  shmv_view *v;

  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_create(c, "greeting", 13, 0644) == 0);
  CHILD_CHECK(shmv_view_open(c, "greeting", 0, SHMV_TO_END, SHMV_WRITABLE, &v) == 0);
  CHILD_CHECK(shmv_view_length(v) == 13);
  CHILD_CHECK(!shmv_view_readonly(v));
  memcpy(shmv_view_data(v), "Hello, World!", 13);
  harness_say(p->a_to_b[1], '1');                 /* written */
  CHILD_CHECK(harness_hear(p->b_to_a[0]) == '2'); /* B has its views */
  ((char *)shmv_view_data(v))[0] = 'A';
  harness_say(p->a_to_b[1], '3');                 /* changed */
  CHILD_CHECK(harness_hear(p->b_to_a[0]) == '4'); /* B saw it */
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

static int process_b(void *arg) {
  struct pipes *p = arg;
  shmv_client *c;
  shmv_view *world, *whole, *head;
  char buf[16] = { 0 };

  CHILD_CHECK(harness_hear(p->a_to_b[0]) == '1');
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);

  CHILD_CHECK(shmv_view_open(c, "greeting", 7, 5, 0, &world) == 0);
  CHILD_CHECK(shmv_view_readonly(world));
  CHILD_CHECK(shmv_view_tobytes(world, buf, sizeof buf) == 5);
  CHILD_CHECK(memcmp(buf, "World", 5) == 0);

  CHILD_CHECK(shmv_view_open(c, "greeting", 0, SHMV_TO_END, 0, &whole) == 0);
  CHILD_CHECK(shmv_view_slice(whole, 0, 5, &head) == 0);
  /* A slice points into its parent's mapping: no copy was made. */
  CHILD_CHECK(shmv_view_data(head) == shmv_view_data(whole));
  CHILD_CHECK(shmv_view_readonly(head));
  CHILD_CHECK(memcmp(shmv_view_data(head), "Hello", 5) == 0);

  harness_say(p->b_to_a[1], '2');
  CHILD_CHECK(harness_hear(p->a_to_b[0]) == '3');
  /* A's write is visible through every view, without reopening. */
  CHILD_CHECK(memcmp(shmv_view_data(whole), "Aello, World!", 13) == 0);
  CHILD_CHECK(memcmp(shmv_view_data(head), "Aello", 5) == 0);
  CHILD_CHECK(memcmp(shmv_view_data(world), "World", 5) == 0);
  harness_say(p->b_to_a[1], '4');

  shmv_view_release(head);
  shmv_view_release(whole);
  shmv_view_release(world);
  shmv_disconnect(c);
  return 0;
}

static pid_t spawn_child(int (*fn)(void *), void *arg) {
  pid_t pid = fork();

  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(fn(arg));
  return pid;
}

static void expect_exit_zero(pid_t pid, const char *who) {
  int status;

  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %s failed (status %#x)",
                who, status);
}

START_TEST(seed_scenario) {
  struct pipes p;
  pid_t a, b;
  shmv_client *c;
  shmv_segment_info info;
  shmv_view *v;
  char buf[16] = { 0 };

  ck_assert_int_eq(pipe(p.a_to_b), 0);
  ck_assert_int_eq(pipe(p.b_to_a), 0);
  a = spawn_child(process_a, &p);
  b = spawn_child(process_b, &p);
  expect_exit_zero(a, "A");
  expect_exit_zero(b, "B");

  /* The segment outlives both processes; their leases do not. */
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_stat(c, "greeting", &info), 0);
  ck_assert_uint_eq(info.size, 13);
  ck_assert_uint_eq(info.views, 0);
  ck_assert_uint_eq(info.mode, 0644);
  ck_assert_uint_eq(info.uid, getuid());
  ck_assert_int_eq(shmv_view_open(c, "greeting", 0, SHMV_TO_END, 0, &v), 0);
  ck_assert_uint_eq(shmv_view_tobytes(v, buf, sizeof buf), 13);
  ck_assert_mem_eq(buf, "Aello, World!", 13);
  shmv_view_release(v);
  ck_assert_int_eq(harness_shm_count(d.prefix), 1);
  ck_assert_int_eq(shmv_unlink(c, "greeting"), 0);
  ck_assert_int_eq(harness_shm_count(d.prefix), 0);
  shmv_disconnect(c);
}
END_TEST

/* A descriptor printed by one process opens the same bytes in another. */
struct handoff {
  int fd[2];
};

static int open_from_text(void *arg) {
  struct handoff *h = arg;
  char text[SHMV_DESCRIPTOR_MAX] = { 0 };
  shmv_descriptor desc;
  shmv_client *c;
  shmv_view *v;
  ssize_t n = read(h->fd[0], text, sizeof text - 1);

  CHILD_CHECK(n > 0);
  CHILD_CHECK(shmv_descriptor_parse(text, &desc) == 0);
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open_descriptor(c, &desc, &v) == 0);
  CHILD_CHECK(shmv_view_length(v) == 1024);
  CHILD_CHECK(!shmv_view_readonly(v));
  /* Write back through it: the parent sees this in its own mapping. */
  CHILD_CHECK(((unsigned char *)shmv_view_data(v))[0] == 0xab);
  memset(shmv_view_data(v), 0xcd, 1024);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

START_TEST(descriptor_handoff) {
  struct handoff h;
  shmv_client *c;
  shmv_view *v, *part;
  shmv_descriptor desc;
  char text[SHMV_DESCRIPTOR_MAX];
  int status;

  ck_assert_int_eq(pipe(h.fd), 0);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "frames", 8192, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "frames", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  ck_assert_int_eq(shmv_view_slice(v, 4096, 5120, &part), 0);
  memset(shmv_view_data(part), 0xab, 1024);
  ck_assert_int_eq(shmv_view_descriptor(part, &desc), 0);
  ck_assert_int_gt(shmv_descriptor_format(&desc, text, sizeof text), 0);
  ck_assert_str_eq(text, "frames:4096:1024:rw");
  ck_assert_int_eq(write(h.fd[1], text, strlen(text)), (ssize_t)strlen(text));
  status = harness_run_child(open_from_text, &h);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
  for (size_t i = 0; i < 1024; i++)
    ck_assert_uint_eq(((unsigned char *)shmv_view_data(part))[i], 0xcd);
  ck_assert_uint_eq(((unsigned char *)shmv_view_data(v))[4095], 0);
  ck_assert_uint_eq(((unsigned char *)shmv_view_data(v))[5120], 0);
  shmv_view_release(part);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_unlink(c, "frames"), 0);
  shmv_disconnect(c);
}
END_TEST

/* Views at unaligned offsets map only the pages they need, and a writer
 * at one offset is seen by a reader of an overlapping window. */
static int unaligned_writer(void *arg) {
  shmv_client *c;
  shmv_view *v;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "pages", 5000, 3000, SHMV_WRITABLE, &v) == 0);
  for (int i = 0; i < 3000; i++)
    ((unsigned char *)shmv_view_data(v))[i] = (unsigned char)(i * 7);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

START_TEST(unaligned_overlap) {
  shmv_client *c;
  shmv_view *v;
  int status;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "pages", 3 * 4096 + 123, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "pages", 6001, 1999, 0, &v), 0);
  status = harness_run_child(unaligned_writer, NULL);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer failed");
  for (int i = 0; i < 1999; i++)
    ck_assert_uint_eq(((unsigned char *)shmv_view_data(v))[i], (unsigned char)((i + 1001) * 7));
  shmv_view_release(v);
  ck_assert_int_eq(shmv_unlink(c, "pages"), 0);
  shmv_disconnect(c);
}
END_TEST

static Suite *share_suite(void) {
  Suite *s = suite_create("share");
  TCase *tc = tcase_create("cross-process");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, seed_scenario);
  tcase_add_test(tc, descriptor_handoff);
  tcase_add_test(tc, unaligned_overlap);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(share_suite());
}

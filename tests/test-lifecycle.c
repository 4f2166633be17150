/* SPDX-License-Identifier: MIT */
/*
 * test-lifecycle.c: unlink, resize, leases and the daemon's own life.
 *
 * Unlink removes the name at once but not live views; a segment with
 * leased views cannot shrink (bytearray's BufferError) but may grow; a
 * client killed with -9 leaves no lease behind; SIGTERM stops the daemon
 * cleanly and leaves segments in /dev/shm; a stale socket is replaced and
 * a live one refused.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture-client.h"
#include "harness.h"
#include "shmview.h"

static uint64_t live_views(void) {
  shmv_status_info st;

  ck_assert_int_eq(shmv_status(c, &st), 0);
  return st.views;
}

START_TEST(unlink_keeps_live_views) {
  shmv_view *v, *again;
  shmv_segment_info info, *list;
  shmv_status_info st;
  size_t n;

  ck_assert_int_eq(shmv_create(c, "doomed", 4096, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "doomed", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  memset(shmv_view_data(v), 'x', 4096);
  ck_assert_int_eq(shmv_unlink(c, "doomed"), 0);

  /* The name is gone at once... */
  ck_assert_int_eq(shmv_stat(c, "doomed", &info), -ENOENT);
  ck_assert_int_eq(shmv_view_open(c, "doomed", 0, 1, 0, &again), -ENOENT);
  /* list shows it as unlinked while the view lives, as ipcs does */
  ck_assert_int_eq(shmv_list(c, &list, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(list[0].name, "doomed");
  ck_assert_int_eq(list[0].unlinked, 1);
  ck_assert_uint_eq(list[0].views, 1);
  ck_assert_uint_eq(list[0].size, 4096);
  shmv_list_free(list);
  ck_assert_int_eq(harness_shm_count(d.prefix), 0);
  ck_assert_int_eq(shmv_unlink(c, "doomed"), -ENOENT);

  /* ...the view still works, and its memory is still accounted for. */
  ck_assert_uint_eq(((char *)shmv_view_data(v))[4095], 'x');
  ((char *)shmv_view_data(v))[0] = 'y';
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.segments, 0);
  ck_assert_uint_eq(st.bytes, 4096);
  ck_assert_uint_eq(st.views, 1);

  /* The name can be reused: a new, zeroed segment. */
  ck_assert_int_eq(shmv_create(c, "doomed", 100, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "doomed", 0, SHMV_TO_END, 0, &again), 0);
  ck_assert_uint_eq(((char *)shmv_view_data(again))[0], 0);
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.bytes, 4196);

  /* the new one by name first, then the unlinked one */
  ck_assert_int_eq(shmv_list(c, &list, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(list[0].unlinked, 0);
  ck_assert_uint_eq(list[0].size, 100);
  ck_assert_int_eq(list[1].unlinked, 1);
  ck_assert_uint_eq(list[1].size, 4096);
  shmv_list_free(list);

  shmv_view_release(v);
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.bytes, 100);
  ck_assert_uint_eq(st.views, 1);
  ck_assert_int_eq(shmv_list(c, &list, &n), 0);
  ck_assert_uint_eq(n, 1); /* the unlinked record went with its last view */
  ck_assert_int_eq(list[0].unlinked, 0);
  shmv_list_free(list);
  shmv_view_release(again);
  ck_assert_int_eq(shmv_unlink(c, "doomed"), 0);
}
END_TEST

/* Holds views of 400 segments it has unlinked. */
static int unlinked_viewer(void *arg) {
  shmv_client *cc;
  shmv_view *v;

  (void)arg;
  if (shmv_connect(d.socket, &cc) != 0)
    return 1;
  for (int i = 0; i < 400; i++) { /* more than one page at the default frame */
    if (shmv_create(cc, "same", 10, 0600) != 0 || shmv_view_open(cc, "same", 0, 1, 0, &v) != 0 ||
        shmv_unlink(cc, "same") != 0)
      return 2;
  }
  return 0;
}

/* Many unlinked segments still viewed, by another process: list pages
 * through them all (names repeat), and they go with that process. */
START_TEST(list_unlinked_pages) {
  shmv_segment_info *list;
  size_t n, i, unl;
  int status;
  pid_t pid;

  pid = harness_start_holder(unlinked_viewer, NULL);
  ck_assert_int_eq(shmv_create(c, "linked", 10, 0600), 0);
  ck_assert_int_eq(shmv_list(c, &list, &n), 0);
  ck_assert_uint_eq(n, 401);
  ck_assert_str_eq(list[0].name, "linked");
  for (i = 1, unl = 0; i < n; i++) {
    ck_assert_str_eq(list[i].name, "same");
    unl += list[i].unlinked == 1 && list[i].views == 1;
  }
  ck_assert_uint_eq(unl, 400);
  shmv_list_free(list);
  kill(pid, SIGKILL);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  /* the daemon saw the death once our next request is answered after it */
  for (i = 0; i < 500; i++) {
    ck_assert_int_eq(shmv_list(c, &list, &n), 0);
    shmv_list_free(list);
    if (n == 1)
      break;
    usleep(10000);
  }
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(shmv_unlink(c, "linked"), 0);
}
END_TEST

START_TEST(shrink_with_views_is_busy) {
  shmv_view *v, *grown;
  shmv_segment_info info;
  unsigned char *p;

  ck_assert_int_eq(shmv_create(c, "buf", 1000, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "buf", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  memset(shmv_view_data(v), 0x5a, 1000);

  ck_assert_int_eq(shmv_resize(c, "buf", 999), -EBUSY);
  ck_assert_int_eq(shmv_resize(c, "buf", 0), -EBUSY);
  ck_assert_int_eq(shmv_stat(c, "buf", &info), 0);
  ck_assert_uint_eq(info.size, 1000);

  /* Growing is always allowed: old bytes stay, new ones are zero. */
  ck_assert_int_eq(shmv_resize(c, "buf", 10000), 0);
  ck_assert_int_eq(shmv_stat(c, "buf", &info), 0);
  ck_assert_uint_eq(info.size, 10000);
  ck_assert_int_eq(shmv_view_open(c, "buf", 0, SHMV_TO_END, 0, &grown), 0);
  ck_assert_uint_eq(shmv_view_length(grown), 10000);
  p = shmv_view_data(grown);
  for (int i = 0; i < 1000; i++)
    ck_assert_uint_eq(p[i], 0x5a);
  for (int i = 1000; i < 10000; i++)
    ck_assert_uint_eq(p[i], 0);
  /* The old view is unharmed. */
  ck_assert_uint_eq(((unsigned char *)shmv_view_data(v))[999], 0x5a);

  shmv_view_release(grown);
  ck_assert_int_eq(shmv_resize(c, "buf", 10), -EBUSY);
  shmv_view_release(v);
  ck_assert_uint_eq(live_views(), 0);
  ck_assert_int_eq(shmv_resize(c, "buf", 10), 0);
  ck_assert_int_eq(shmv_stat(c, "buf", &info), 0);
  ck_assert_uint_eq(info.size, 10);
  ck_assert_int_eq(shmv_unlink(c, "buf"), 0);
}
END_TEST

/* A slice keeps its parent's lease: the segment still cannot shrink. */
START_TEST(slice_keeps_lease) {
  shmv_view *v, *s;

  ck_assert_int_eq(shmv_create(c, "sl", 64, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "sl", 0, SHMV_TO_END, 0, &v), 0);
  ck_assert_int_eq(shmv_view_slice(v, 8, 16, &s), 0);
  shmv_view_release(v);
  ck_assert_uint_eq(live_views(), 1);
  ck_assert_int_eq(shmv_resize(c, "sl", 1), -EBUSY);
  ck_assert_uint_eq(((char *)shmv_view_data(s))[0], 0);
  shmv_view_release(s);
  ck_assert_uint_eq(live_views(), 0);
  ck_assert_int_eq(shmv_resize(c, "sl", 1), 0);
  ck_assert_int_eq(shmv_unlink(c, "sl"), 0);
}
END_TEST

/* Releases are not waited for; a long run of them (more than the library
 * lets wait unread) must still all take effect, in order, before the next
 * answer, and views opened between them must get their descriptors. */
START_TEST(many_releases_in_a_row) {
  shmv_view *v[100];

  ck_assert_int_eq(shmv_create(c, "many", 4096, 0600), 0);
  for (int i = 0; i < 100; i++)
    ck_assert_int_eq(shmv_view_open(c, "many", (size_t)i, 1, i % 2 ? SHMV_WRITABLE : 0, &v[i]), 0);
  ck_assert_uint_eq(live_views(), 100);
  for (int i = 0; i < 100; i++) {
    shmv_view *w;

    shmv_view_release(v[i]);
    if (i % 10 == 0) { /* an open behind pending release answers */
      ck_assert_int_eq(shmv_view_open(c, "many", 0, SHMV_TO_END, SHMV_WRITABLE, &w), 0);
      ((char *)shmv_view_data(w))[4095] = (char)i;
      shmv_view_release(w);
    }
  }
  ck_assert_uint_eq(live_views(), 0);
  ck_assert_int_eq(shmv_resize(c, "many", 1), 0);
  ck_assert_int_eq(shmv_unlink(c, "many"), 0);
}
END_TEST

/* The client keeps a few released mappings for the next view of the same
 * pages; it must never hand out one of another object (a name unlinked
 * and created again) or with more access than asked for. */
START_TEST(mapping_reuse_is_safe) {
  shmv_view *v, *w;
  void *first;
  uintptr_t page;

  ck_assert_int_eq(shmv_create(c, "cached", 8192, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "cached", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  memset(shmv_view_data(v), 'a', 8192);
  first = shmv_view_data(v);
  shmv_view_release(v);

  /* The same window again: the same mapping, the same bytes. */
  ck_assert_int_eq(shmv_view_open(c, "cached", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  ck_assert_ptr_eq(shmv_view_data(v), first);
  ck_assert_uint_eq(((char *)shmv_view_data(v))[8191], 'a');
  /* A window inside it, from the same mapping. */
  shmv_view_release(v);
  ck_assert_int_eq(shmv_view_open(c, "cached", 4096, 100, SHMV_WRITABLE, &v), 0);
  ck_assert_ptr_eq(shmv_view_data(v), (char *)first + 4096);
  shmv_view_release(v);

  /* Read-only is never served from a writable mapping. */
  ck_assert_int_eq(shmv_view_open(c, "cached", 0, SHMV_TO_END, 0, &w), 0);
  page = (uintptr_t)shmv_view_data(w) & ~(uintptr_t)4095;
  ck_assert_int_eq(mprotect((void *)page, 4096, PROT_READ | PROT_WRITE), -1);
  shmv_view_release(w);

  /* Unlinked and created again: another object, zero bytes. */
  ck_assert_int_eq(shmv_unlink(c, "cached"), 0);
  ck_assert_int_eq(shmv_create(c, "cached", 8192, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "cached", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  ck_assert_uint_eq(((char *)shmv_view_data(v))[0], 0);
  ck_assert_uint_eq(((char *)shmv_view_data(v))[8191], 0);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_unlink(c, "cached"), 0);
}
END_TEST

static int hold_views_and_wait(void *arg) {
  int *fds = arg;
  shmv_client *mine;
  shmv_view *v[3];
  char ok = 'k';

  if (shmv_connect(d.socket, &mine) != 0)
    return 1;
  for (int i = 0; i < 3; i++)
    if (shmv_view_open(mine, "held", (size_t)i, 10, i == 0 ? SHMV_WRITABLE : 0, &v[i]) != 0)
      return 2;
  if (write(fds[1], &ok, 1) != 1)
    return 3;
  pause(); /* until SIGKILL */
  return 4;
}

START_TEST(killed_client_leases_reclaimed) {
  shmv_segment_info info;
  int fds[2], status;
  pid_t pid;
  char ok;

  ck_assert_int_eq(shmv_create(c, "held", 4096, 0600), 0);
  ck_assert_int_eq(pipe(fds), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(hold_views_and_wait(fds));
  ck_assert_int_eq(read(fds[0], &ok, 1), 1);
  ck_assert_int_eq(shmv_stat(c, "held", &info), 0);
  ck_assert_uint_eq(info.views, 3);
  ck_assert_uint_eq(info.writable_views, 1);
  ck_assert_int_eq(shmv_resize(c, "held", 1), -EBUSY);

  kill(pid, SIGKILL);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  /* The daemon sees the hang-up on its next loop turn. */
  for (int i = 0; i < 200 && live_views() != 0; i++)
    usleep(10 * 1000);
  ck_assert_uint_eq(live_views(), 0);
  ck_assert_int_eq(shmv_stat(c, "held", &info), 0);
  ck_assert_uint_eq(info.views, 0);
  ck_assert_uint_eq(info.writable_views, 0);
  ck_assert_int_eq(shmv_resize(c, "held", 1), 0);
  ck_assert_int_eq(shmv_unlink(c, "held"), 0);
}
END_TEST

/* Closing the connection releases every lease it held, even with views
 * still mapped in the client. */
START_TEST(disconnect_releases_leases) {
  shmv_client *other;
  shmv_view *v;

  ck_assert_int_eq(shmv_create(c, "dc", 128, 0600), 0);
  ck_assert_int_eq(shmv_connect(d.socket, &other), 0);
  ck_assert_int_eq(shmv_view_open(other, "dc", 0, SHMV_TO_END, SHMV_WRITABLE, &v), 0);
  ck_assert_uint_eq(live_views(), 1);
  shmv_disconnect(other);
  for (int i = 0; i < 200 && live_views() != 0; i++)
    usleep(10 * 1000);
  ck_assert_uint_eq(live_views(), 0);
  /* The mapping itself outlives the connection. */
  ((char *)shmv_view_data(v))[127] = 1;
  shmv_view_release(v);
  ck_assert_int_eq(shmv_unlink(c, "dc"), 0);
}
END_TEST

START_TEST(zero_length_views) {
  shmv_view *v, *s, *bad = NULL;
  shmv_descriptor desc;

  ck_assert_int_eq(shmv_create(c, "empty", 0, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "empty", 0, SHMV_TO_END, 0, &v), 0);
  ck_assert_uint_eq(shmv_view_length(v), 0);
  ck_assert_uint_eq(shmv_view_tobytes(v, NULL, 0), 0);
  ck_assert_int_eq(shmv_view_slice(v, 0, 0, &s), 0);
  ck_assert_int_eq(shmv_view_slice(v, 0, 1, &bad), -ERANGE);
  ck_assert_ptr_null(bad);
  ck_assert_int_eq(shmv_view_descriptor(v, &desc), 0);
  ck_assert_uint_eq(desc.length, 0);
  ck_assert_uint_eq(live_views(), 1);
  shmv_view_release(v);
  ck_assert_uint_eq(live_views(), 1); /* the slice holds it */
  shmv_view_release(s);
  ck_assert_uint_eq(live_views(), 0);

  /* A zero-length window at the end of a non-empty segment. */
  ck_assert_int_eq(shmv_create(c, "ten", 10, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "ten", 10, 0, 0, &v), 0);
  ck_assert_uint_eq(shmv_view_length(v), 0);
  shmv_view_release(v);
  ck_assert_int_eq(shmv_unlink(c, "empty"), 0);
  ck_assert_int_eq(shmv_unlink(c, "ten"), 0);
}
END_TEST

START_TEST(sigterm_leaves_segments) {
  int status;

  ck_assert_int_eq(shmv_create(c, "keep1", 4096, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "keep2", 1, 0600), 0);
  ck_assert_int_eq(harness_shm_count(d.prefix), 2);
  kill(d.pid, SIGTERM);
  ck_assert_int_eq(waitpid(d.pid, &status, 0), d.pid);
  d.pid = 0;
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == (d.valgrind ? 0 : 0),
                "shmviewd exit status %#x", status);
  ck_assert_int_eq(harness_shm_count(d.prefix), 2);
  /* It removed its socket on the way out. */
  ck_assert_int_ne(access(d.socket, F_OK), 0);
  shmv_disconnect(c);
  /* teardown restarts nothing: give it a daemon to stop. */
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
}
END_TEST

static int run_daemon_on(const char *socket, const char *prefix) {
  const char *daemon_path = getenv("SHMVIEWD");
  int status, devnull;
  pid_t pid = fork();

  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDERR_FILENO);
    execl(daemon_path, "shmviewd", "--socket", socket, "--prefix", prefix, (char *)NULL);
    _exit(127);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  return status;
}

START_TEST(live_socket_refused_stale_replaced) {
  char prefix[80];
  int status;

  snprintf(prefix, sizeof prefix, "%sx", d.prefix);
  /* Someone is listening: a second daemon must not steal the socket. */
  status = run_daemon_on(d.socket, prefix);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "second daemon status %#x", status);
  ck_assert_int_eq(shmv_status(c, &(shmv_status_info){ 0 }), 0);

  /* Nor may a second daemon share the prefix, even on another socket: it
   * would adopt the first one's objects as orphans. */
  {
    char other[300];

    snprintf(other, sizeof other, "%s/other.sock", d.dir);
    status = run_daemon_on(other, d.prefix);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "same prefix: %#x", status);
    ck_assert_int_ne(access(other, F_OK), 0);
    ck_assert_int_eq(shmv_status(c, &(shmv_status_info){ 0 }), 0);
  }

  /* A daemon killed with -9 leaves its socket file behind... */
  shmv_disconnect(c);
  harness_daemon_kill(&d);
  ck_assert_int_eq(access(d.socket, F_OK), 0);
  /* ...which the next one replaces. */
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);

  /* A path that is not a socket is never replaced. */
  {
    char path[300];
    FILE *f;

    snprintf(path, sizeof path, "%s/plain", d.dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    status = run_daemon_on(path, prefix);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x", status);
    ck_assert_int_eq(access(path, F_OK), 0);
  }
}
END_TEST

static Suite *lifecycle_suite(void) {
  Suite *s = suite_create("lifecycle");
  TCase *tc = tcase_create("lifecycle");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, unlink_keeps_live_views);
  tcase_add_test(tc, list_unlinked_pages);
  tcase_add_test(tc, shrink_with_views_is_busy);
  tcase_add_test(tc, slice_keeps_lease);
  tcase_add_test(tc, many_releases_in_a_row);
  tcase_add_test(tc, mapping_reuse_is_safe);
  tcase_add_test(tc, killed_client_leases_reclaimed);
  tcase_add_test(tc, disconnect_releases_leases);
  tcase_add_test(tc, zero_length_views);
  tcase_add_test(tc, sigterm_leaves_segments);
  tcase_add_test(tc, live_socket_refused_stale_replaced);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(lifecycle_suite());
}

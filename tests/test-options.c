/* SPDX-License-Identifier: MIT */
/*
 * test-options.c: the parts of the library's contract that let it change
 * without breaking its callers.
 *
 * Connect options (their size, their checks, the environment overriding
 * them), structs filled at the caller's size (smaller: an older program;
 * larger: a newer one, whose extra fields come back zero), and the version
 * the library reports at run time against the one it was built with.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

static struct harness_daemon d;

START_TEST(version) {
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", SHMV_VERSION_MAJOR, SHMV_VERSION_MINOR,
           SHMV_VERSION_PATCH);
  ck_assert_str_eq(SHMV_VERSION_STRING, want);
  ck_assert_str_eq(shmv_version(), SHMV_VERSION_STRING);
  ck_assert_str_eq(shmv_version(), PACKAGE_VERSION); /* configure.ac's */
  ck_assert_uint_eq(shmv_version_number(), SHMV_VERSION_HEX);
  ck_assert_uint_eq(shmv_version_number() >> 16, SHMV_VERSION_MAJOR);
}
END_TEST

/* A newer program's options: ours plus a field this library lacks. */
struct bigger_options {
  shmv_connect_options o;
  int64_t future;
};

START_TEST(options_checked) {
  harness_daemon_start(&d, NULL);
  shmv_client *c;
  shmv_connect_options o = SHMV_CONNECT_OPTIONS_INIT;
  ck_assert_uint_eq(o.size, sizeof o);
  OK(shmv_connect_with(d.socket, NULL, &c));
  shmv_disconnect(c);
  OK(shmv_connect_with(d.socket, &o, &c));
  shmv_disconnect(c);

  o.size = sizeof o - 1;
  ck_assert_int_eq(shmv_connect_with(d.socket, &o, &c), -EINVAL);
  ck_assert_ptr_null(c);
  ck_assert(strstr(shmv_last_error(NULL), "connect options") != NULL);
  o.size = sizeof o;
  o.map_cache = SHMV_MAP_CACHE_MAX + 1;
  ck_assert_int_eq(shmv_connect_with(d.socket, &o, &c), -EINVAL);
  o.map_cache = -2;
  ck_assert_int_eq(shmv_connect_with(d.socket, &o, &c), -EINVAL);
  o.map_cache = -1;
  o.reconnect_ms = -2;
  ck_assert_int_eq(shmv_connect_with(d.socket, &o, &c), -EINVAL);
  o.reconnect_ms = -1;
  o.trusted_uid = -2;
  ck_assert_int_eq(shmv_connect_with(d.socket, &o, &c), -EINVAL);
  o.trusted_uid = -1;

  struct bigger_options b;
  memset(&b, 0, sizeof b);
  b.o = o;
  b.o.size = sizeof b;
  OK(shmv_connect_with(d.socket, &b.o, &c)); /* unknown, but zero */
  shmv_disconnect(c);
  b.future = 1;
  ck_assert_int_eq(shmv_connect_with(d.socket, &b.o, &c), -EINVAL);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* Mappings of segment `name` in this process (/proc/self/maps). */
static int mappings_of(const char *name) {
  char want[256], line[1024];
  snprintf(want, sizeof want, "/dev/shm/%s.%s", d.prefix, name);
  FILE *f = fopen("/proc/self/maps", "r");
  ck_assert_ptr_nonnull(f);
  int n = 0;
  while (fgets(line, sizeof line, f) != NULL)
    if (strstr(line, want) != NULL)
      n++;
  fclose(f);
  return n;
}

/* Open and release a read-only view of name; how many mappings of it
 * stay. */
static int kept_after_release_of(shmv_client *c, const char *name) {
  shmv_view *v;
  OK(shmv_view_open(c, name, 0, 4096, 0, &v));
  ck_assert_int_eq(mappings_of(name), 1);
  shmv_view_release(v);
  return mappings_of(name);
}

static int kept_after_release(shmv_client *c) {
  return kept_after_release_of(c, "m");
}

START_TEST(map_cache_option) {
  harness_daemon_start(&d, NULL);
  shmv_client *c;
  unsetenv("SHMVIEW_MAP_CACHE");
  OK(shmv_connect(d.socket, &c));
  OK(shmv_create(c, "m", 4096, 0));
  ck_assert_int_eq(kept_after_release(c), 1); /* the default keeps it */
  shmv_disconnect(c);
  ck_assert_int_eq(mappings_of("m"), 0);

  shmv_connect_options o = SHMV_CONNECT_OPTIONS_INIT;
  o.map_cache = 0;
  OK(shmv_connect_with(d.socket, &o, &c));
  ck_assert_int_eq(kept_after_release(c), 0);
  shmv_disconnect(c);

  /* The environment overrides the program, both ways. */
  setenv("SHMVIEW_MAP_CACHE", "2", 1);
  OK(shmv_connect_with(d.socket, &o, &c));
  ck_assert_int_eq(kept_after_release(c), 1);
  shmv_disconnect(c);
  setenv("SHMVIEW_MAP_CACHE", "0", 1);
  o.map_cache = SHMV_MAP_CACHE_MAX;
  OK(shmv_connect_with(d.socket, &o, &c));
  ck_assert_int_eq(kept_after_release(c), 0);
  OK(shmv_unlink(c, "m"));
  shmv_disconnect(c);
  unsetenv("SHMVIEW_MAP_CACHE");
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* An ephemeral segment goes with its last lease: no released mapping of
 * it is kept, whoever's view goes first (a kept one could serve no later
 * view, and would hold the segment's memory). */
START_TEST(map_cache_skips_ephemeral) {
  harness_daemon_start(&d, NULL);
  shmv_client *c, *c2;
  shmv_view *v, *w;
  unsetenv("SHMVIEW_MAP_CACHE");
  OK(shmv_connect(d.socket, &c));
  OK(shmv_connect(d.socket, &c2));
  OK(shmv_create_flags(c, "e", 4096, 0, SHMV_CREATE_EPHEMERAL));
  OK(shmv_view_open(c, "e", 0, 4096, 0, &v));
  OK(shmv_view_open(c2, "e", 0, 4096, 0, &w));
  ck_assert_int_eq(mappings_of("e"), 2);
  shmv_view_release(v); /* c2's view keeps the segment */
  ck_assert_int_eq(mappings_of("e"), 1);
  shmv_view_release(w);
  ck_assert_int_eq(mappings_of("e"), 0);
  shmv_disconnect(c2);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* Mappings of segment `name` in this process that may be written
 * ("rw-s" in /proc/self/maps). */
static int writable_mappings_of(const char *name) {
  char want[256], line[1024];
  snprintf(want, sizeof want, "/dev/shm/%s.%s", d.prefix, name);
  FILE *f = fopen("/proc/self/maps", "r");
  ck_assert_ptr_nonnull(f);
  int n = 0;
  while (fgets(line, sizeof line, f) != NULL)
    if (strstr(line, want) != NULL && strstr(line, " rw") != NULL)
      n++;
  fclose(f);
  return n;
}

/* Frozen means no process that only used libshmview can still write: a
 * released writable view leaves no writable mapping behind for the
 * owner's freeze to miss. Read-only views are still kept. */
START_TEST(map_cache_keeps_no_writable) {
  harness_daemon_start(&d, NULL);
  shmv_client *c;
  shmv_view *v;
  unsetenv("SHMVIEW_MAP_CACHE");
  OK(shmv_connect(d.socket, &c));
  OK(shmv_create(c, "f", 4096, 0644));
  OK(shmv_view_open(c, "f", 0, 4096, SHMV_WRITABLE, &v));
  ck_assert_int_eq(writable_mappings_of("f"), 1);
  memcpy(shmv_view_data(v), "before", 6);
  shmv_view_release(v);
  ck_assert_int_eq(writable_mappings_of("f"), 0);
  ck_assert_int_eq(mappings_of("f"), 0);
  OK(shmv_freeze(c, "f"));
  ck_assert_int_eq(writable_mappings_of("f"), 0);
  ck_assert_int_eq(shmv_view_open(c, "f", 0, 4096, SHMV_WRITABLE, &v), -EROFS);

  /* What the cache is for still works: a read-only view's mapping is kept
   * and serves the next one. */
  ck_assert_int_eq(kept_after_release_of(c, "f"), 1);
  ck_assert_int_eq(writable_mappings_of("f"), 0);
  OK(shmv_view_open(c, "f", 0, 4096, 0, &v));
  ck_assert_int_eq(mappings_of("f"), 1);
  ck_assert_mem_eq(shmv_view_data(v), "before", 6);
  shmv_view_release(v);
  OK(shmv_unlink(c, "f"));
  shmv_disconnect(c);
  ck_assert_int_eq(mappings_of("f"), 0);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

START_TEST(reconnect_option) {
  /* With reconnect_ms 0 a vanished daemon fails the next request at once
   * (the default would retry for 5 s); the environment overrides a long
   * one. A failure to override would show as a test timeout. Nobody
   * listens any more: ECONNREFUSED, as a first connect would say, and a
   * sentence that says so. */
  harness_daemon_start(&d, NULL);
  shmv_client *a, *b;
  shmv_connect_options o = SHMV_CONNECT_OPTIONS_INIT;
  o.reconnect_ms = 0;
  OK(shmv_connect_with(d.socket, &o, &a));
  o.reconnect_ms = 600000;
  setenv("SHMVIEW_RECONNECT_MS", "0", 1);
  OK(shmv_connect_with(d.socket, &o, &b));
  unsetenv("SHMVIEW_RECONNECT_MS");
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
  shmv_segment_info si;
  ck_assert_int_eq(shmv_stat(a, "x", &si), -ECONNREFUSED);
  ck_assert_ptr_nonnull(strstr(shmv_last_error(a), d.socket));
  ck_assert_ptr_nonnull(strstr(shmv_last_error(a), "reconnect_ms is 0"));
  ck_assert_int_eq(shmv_stat(b, "x", &si), -ECONNREFUSED);
  ck_assert_int_eq(shmv_stat(b, "x", &si), -ECONNREFUSED); /* and again */
  shmv_disconnect(a);
  shmv_disconnect(b);
}
END_TEST

/* With a reconnect_ms to wait, a daemon that does not come back fails
 * the request with ECONNREFUSED after it (not the ECONNRESET of the lost
 * exchange), whether its socket was removed (a clean stop) or left behind
 * (kill -9), and the sentence says how long the client waited. */
START_TEST(reconnect_gives_up) {
  shmv_client *c;
  shmv_segment_info si;
  shmv_connect_options o = SHMV_CONNECT_OPTIONS_INIT;
  o.reconnect_ms = 200;
  unsetenv("SHMVIEW_RECONNECT_MS");
  for (int killed = 0; killed < 2; killed++) {
    harness_daemon_start(&d, NULL);
    OK(shmv_connect_with(d.socket, &o, &c));
    OK(shmv_create(c, "r", 4096, 0));
    if (killed) {
      harness_daemon_kill(&d);
      ck_assert_int_eq(access(d.socket, F_OK), 0); /* left behind */
    } else {
      ck_assert_int_eq(harness_daemon_stop(&d), 0);
    }
    ck_assert_int_eq(shmv_stat(c, "r", &si), -ECONNREFUSED);
    ck_assert_ptr_nonnull(strstr(shmv_last_error(c), "did not come back within 200 ms"));
    ck_assert_int_eq(shmv_create(c, "r2", 4096, 0), -ECONNREFUSED);
    shmv_disconnect(c);
    if (killed)
      (void)harness_daemon_stop(&d); /* its objects and directory */
  }
}
END_TEST

/* A newer program's records: ours plus fields this library lacks. */
struct bigger_info {
  shmv_segment_info info;
  uint64_t future[3];
};

START_TEST(structs_at_callers_size) {
  harness_daemon_start(&d, NULL);
  shmv_client *c;
  OK(shmv_connect(d.socket, &c));
  OK(shmv_create(c, "s1", 100, 0640));
  OK(shmv_create(c, "s2", 200, 0600));

  /* Larger: what the library knows, the rest zeroed. */
  struct bigger_info big;
  memset(&big, 0xaa, sizeof big);
  OK(shmv_stat_sized(c, "s1", &big.info, sizeof big));
  ck_assert_str_eq(big.info.name, "s1");
  ck_assert_uint_eq(big.info.size, 100);
  ck_assert_uint_eq(big.info.mode, 0640);
  ck_assert(big.future[0] == 0 && big.future[1] == 0 && big.future[2] == 0);

  /* Exactly the macro's size. */
  shmv_segment_info si;
  OK(shmv_stat(c, "s2", &si));
  ck_assert_uint_eq(si.size, 200);

  /* Smaller than any version: refused, nothing written. */
  memset(&si, 0xaa, sizeof si);
  ck_assert_int_eq(shmv_stat_sized(c, "s2", &si, offsetof(shmv_segment_info, size)), -EINVAL);
  ck_assert_uint_eq((unsigned char)si.name[0], 0xaa);

  /* list: the array's stride is the caller's size. */
  struct bigger_info *list;
  size_t n;
  OK(shmv_list_sized(c, (shmv_segment_info **)&list, &n, sizeof *list));
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(list[0].info.name, "s1");
  ck_assert_str_eq(list[1].info.name, "s2");
  ck_assert_uint_eq(list[1].info.size, 200);
  ck_assert(list[1].future[0] == 0 && list[1].future[2] == 0);
  shmv_list_free(&list[0].info);
  shmv_segment_info *plain;
  OK(shmv_list(c, &plain, &n));
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(plain[1].name, "s2");
  shmv_list_free(plain);

  struct {
    shmv_status_info st;
    uint64_t future;
  } status;
  memset(&status, 0xaa, sizeof status);
  OK(shmv_status_sized(c, &status.st, sizeof status));
  ck_assert_uint_eq(status.st.segments, 2);
  ck_assert_uint_eq(status.future, 0);
  ck_assert_int_eq(shmv_status_sized(c, &status.st, 8), -EINVAL);

  /* holders: the array's stride is the caller's size too. */
  shmv_view *v1, *v2;
  OK(shmv_view_open(c, "s1", 0, 10, SHMV_WRITABLE, &v1));
  OK(shmv_view_open(c, "s1", 20, 30, 0, &v2));
  struct {
    shmv_holder_info h;
    uint64_t future[2];
  } * held;
  OK(shmv_holders_sized(c, "s1", (shmv_holder_info **)&held, &n, sizeof *held));
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(held[0].h.pid, getpid());
  ck_assert_uint_eq(held[0].h.length, 10);
  ck_assert_int_eq(held[0].h.writable, 1);
  ck_assert_int_eq(held[1].h.pid, getpid());
  ck_assert_uint_eq(held[1].h.offset, 20);
  ck_assert_uint_eq(held[1].h.length, 30);
  ck_assert_int_eq(held[1].h.writable, 0);
  ck_assert(held[0].future[0] == 0 && held[1].future[1] == 0);
  shmv_holders_free(&held[0].h);
  shmv_holder_info *hp;
  OK(shmv_holders(c, "s1", &hp, &n));
  ck_assert_uint_eq(n, 2);
  ck_assert_uint_eq(hp[1].offset, 20);
  shmv_holders_free(hp);
  ck_assert_int_eq(shmv_holders_sized(c, "s1", &hp, &n, offsetof(shmv_holder_info, offset)),
                   -EINVAL);
  shmv_view_release(v1);
  shmv_view_release(v2);

  OK(shmv_unlink(c, "s1"));
  OK(shmv_unlink(c, "s2"));
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("options");
  TCase *t = tcase_create("options");
  tcase_set_timeout(t, 30);
  tcase_add_test(t, version);
  tcase_add_test(t, options_checked);
  tcase_add_test(t, map_cache_option);
  tcase_add_test(t, map_cache_skips_ephemeral);
  tcase_add_test(t, map_cache_keeps_no_writable);
  tcase_add_test(t, reconnect_option);
  tcase_add_test(t, reconnect_gives_up);
  tcase_add_test(t, structs_at_callers_size);
  suite_add_tcase(s, t);
  return harness_main(s);
}

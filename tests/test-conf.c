/* SPDX-License-Identifier: MIT */
/*
 * test-conf.c: shmviewd's settings table, value parser and config file
 * (daemon/conf.c), without a daemon.
 *
 * Sizes and their limits; every kind of value through conf_set(); config
 * files with comments, blank lines, spaces and CRLF line ends; errors that
 * name the file and the line; defaults < file < flags.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "conf.h"
#include "harness.h"
#include "log.h"

static char tmpdir[256];

static void setup(void) {
  const char *base = getenv("SHMVIEW_TEST_TMPDIR");

  snprintf(tmpdir, sizeof tmpdir, "%s/conf.XXXXXX", base != NULL ? base : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
  char cmd[300];

  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

/* Write text to tmpdir/name; returns the path (static buffer). */
static const char *write_file(const char *name, const char *text) {
  static char path[300];
  FILE *f;

  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return path;
}

/* Run conf_load_file with stderr captured into err. */
static int load_capture(struct daemon_config *cfg, const char *path, int required, char *err,
                        size_t cap) {
  char errpath[300];
  int saved = dup(STDERR_FILENO), fd, rc;
  ssize_t n;

  snprintf(errpath, sizeof errpath, "%s/stderr", tmpdir);
  fd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
  ck_assert_int_ge(fd, 0);
  fflush(stderr);
  dup2(fd, STDERR_FILENO);
  rc = conf_load_file(cfg, path, required);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  n = pread(fd, err, cap - 1, 0);
  err[n > 0 ? n : 0] = '\0';
  close(fd);
  return rc;
}

/* The settings read sizes with the project's one parser (proto/units.c,
 * tested in test-units.c): the forms the CLI takes, and limits shown in
 * forms that parser reads back. */
START_TEST(sizes) {
  struct daemon_config cfg;
  char err[512];

  conf_defaults(&cfg);
  ck_assert_int_eq(conf_set(&cfg, "frame-max", "64k", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.frame_max, 65536);
  ck_assert_int_eq(conf_set(&cfg, "frame-max", "8KiB", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.frame_max, 8192);
  ck_assert_int_eq(conf_set(&cfg, "max-total-size", "1T", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.max_total_size, 1ull << 40);
  ck_assert_int_eq(conf_set(&cfg, "max-segment-size", "1.5G", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.max_segment_size, 3ull << 29);
  ck_assert_int_eq(conf_set(&cfg, "quota-bytes", "10MB", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.quota_bytes, 10000000);
  ck_assert_int_eq(conf_set(&cfg, "max-segment-size", "-1", err, sizeof err), -1);
  ck_assert_str_eq(err, "max-segment-size: '-1' is not a size (use e.g. 4096, 64K, 1M, 2G)");
  ck_assert_int_eq(conf_set(&cfg, "max-segment-size", "16E", err, sizeof err), -1);
  ck_assert_int_eq(conf_set(&cfg, "frame-max", "17M", err, sizeof err), -1);
  ck_assert_str_eq(err, "frame-max: must be between 4K and 16M");
}
END_TEST

START_TEST(limit_defaults) {
  /* Every limit a client could exhaust is on out of the box. */
  struct daemon_config cfg;
  struct statvfs vfs;
  char err[512];

  conf_defaults(&cfg);
  ck_assert_uint_eq(cfg.max_clients, 1024);
  ck_assert_uint_eq(cfg.max_clients_uid, 128);
  ck_assert_uint_eq(cfg.max_clients_root, 0);
  ck_assert_uint_eq(cfg.max_views, 262144);
  ck_assert_uint_eq(cfg.max_fds_in_flight, 16);
  ck_assert_uint_eq(cfg.fd_cache, 256);
  ck_assert_uint_eq(cfg.quota_views, 131072);
  ck_assert_uint_eq(cfg.quota_segments, 16384);
  ck_assert_uint_eq(cfg.frame_timeout_ms, 5000);
  ck_assert_uint_eq(cfg.send_timeout_ms, 30000);
  /* --quota-bytes: a quarter of the shm file system, --max-total-size
   * three quarters, unless given; 0 kept. */
  ck_assert_int_eq(statvfs("/dev/shm", &vfs), 0);
  conf_resolve(&cfg, "/dev/shm");
  ck_assert_uint_gt(cfg.quota_bytes, 0);
  ck_assert_uint_eq(cfg.quota_bytes, (uint64_t)vfs.f_blocks * vfs.f_frsize / 4);
  ck_assert_uint_eq(cfg.max_total_size, (uint64_t)vfs.f_blocks * vfs.f_frsize / 4 * 3);
  conf_defaults(&cfg);
  ck_assert_int_eq(conf_set(&cfg, "quota-bytes", "0", err, sizeof err), 0);
  ck_assert_int_eq(conf_set(&cfg, "max-total-size", "0", err, sizeof err), 0);
  conf_resolve(&cfg, "/dev/shm");
  ck_assert_uint_eq(cfg.quota_bytes, 0);
  ck_assert_uint_eq(cfg.max_total_size, 0);
  conf_defaults(&cfg);
  ck_assert_int_eq(conf_set(&cfg, "max-total-size", "1G", err, sizeof err), 0);
  conf_resolve(&cfg, "/dev/shm");
  ck_assert_uint_eq(cfg.max_total_size, 1u << 30);
  conf_defaults(&cfg);
  conf_resolve(&cfg, "/nonexistent-dir");
  ck_assert_uint_eq(cfg.quota_bytes, 0);
  ck_assert_uint_eq(cfg.max_total_size, 0);
  ck_assert_int_eq(conf_set(&cfg, "max-fds-in-flight", "0", err, sizeof err), -1);
  ck_assert_int_eq(conf_set(&cfg, "frame-timeout", "2", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.frame_timeout_ms, 2000);
  ck_assert_int_eq(conf_set(&cfg, "max-clients-per-uid", "7", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.max_clients_uid, 7);
}
END_TEST

START_TEST(values) {
  struct daemon_config cfg;
  char err[512];

  conf_defaults(&cfg);
  ck_assert_str_eq(cfg.prefix, "shmview");
  ck_assert_uint_eq(cfg.frame_max, 64 * 1024);
  ck_assert_int_eq(cfg.log_level, LOG_LVL_INFO);

  ck_assert_int_eq(conf_set(&cfg, "frame-max", "16K", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.frame_max, 16384);
  ck_assert_int_eq(conf_set(&cfg, "frame-max", "1K", err, sizeof err), -1);
  ck_assert_str_eq(err, "frame-max: must be between 4K and 16M");
  ck_assert_int_eq(conf_set(&cfg, "frame-max", "17M", err, sizeof err), -1);
  ck_assert_uint_eq(cfg.frame_max, 16384); /* a refused value changes nothing */
  ck_assert_int_eq(conf_set(&cfg, "max-segment-size", "big", err, sizeof err), -1);
  ck_assert_str_eq(err, "max-segment-size: 'big' is not a size (use e.g. 4096, 64K, 1M, 2G)");
  ck_assert_int_eq(conf_set(&cfg, "max-clients", "10", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.max_clients, 10);
  ck_assert_int_eq(conf_set(&cfg, "max-views", "x", err, sizeof err), -1);
  ck_assert_str_eq(err, "max-views: 'x' is not a number");

  ck_assert_int_eq(conf_set(&cfg, "prefix", "app-1", err, sizeof err), 0);
  ck_assert_str_eq(cfg.prefix, "app-1");
  ck_assert_int_eq(conf_set(&cfg, "prefix", ".x", err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, "is not a valid prefix"));
  /* '.' would let one prefix's objects look like another's. */
  ck_assert_int_eq(conf_set(&cfg, "prefix", "app.1", err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, "no '.'"));
  ck_assert_int_eq(conf_set(&cfg, "prefix", "", err, sizeof err), -1);
  ck_assert_str_eq(cfg.prefix, "app-1");

  ck_assert_int_eq(conf_set(&cfg, "log-level", "debug", err, sizeof err), 0);
  ck_assert_int_eq(cfg.log_level, LOG_LVL_DEBUG);
  ck_assert_int_eq(conf_set(&cfg, "log-level", "warn", err, sizeof err), 0);
  ck_assert_int_eq(cfg.log_level, LOG_LVL_WARN);
  ck_assert_int_eq(conf_set(&cfg, "log-level", "loud", err, sizeof err), -1);
  ck_assert_str_eq(err, "log-level: 'loud' is not one of error, warning, info, debug");

  ck_assert_int_eq(conf_set(&cfg, "grace", "5", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.grace_ms, 5000);
  ck_assert_int_eq(conf_set(&cfg, "grace", "99999999999", err, sizeof err), -1);

  char longpath[300];
  memset(longpath, 'a', sizeof longpath - 1);
  longpath[0] = '/';
  longpath[sizeof longpath - 1] = '\0';
  ck_assert_int_eq(conf_set(&cfg, "socket", longpath, err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, "too long"));
  ck_assert_int_eq(conf_set(&cfg, "socket", "/run/x.sock", err, sizeof err), 0);
  ck_assert_str_eq(cfg.socket_path, "/run/x.sock");

  ck_assert_int_eq(conf_set(&cfg, "sokcet", "/x", err, sizeof err), -1);
  ck_assert_str_eq(err, "unknown key 'sokcet'");
  ck_assert_int_eq(conf_set(&cfg, "config", "/x", err, sizeof err), -1);
}
END_TEST

START_TEST(files) {
  struct daemon_config cfg;
  char err[1024], want[600];
  const char *path;

  conf_defaults(&cfg);
  path = write_file("good.conf", "# shmviewd.conf\n"
                                 "\n"
                                 "   # indented comment\n"
                                 "frame-max = 8K\n"
                                 "\tmax-views=7   \n"
                                 "prefix = crlf\r\n"
                                 "log-level = debug"); /* no final newline */
  ck_assert_int_eq(load_capture(&cfg, path, 1, err, sizeof err), 0);
  ck_assert_str_eq(err, "");
  ck_assert_uint_eq(cfg.frame_max, 8192);
  ck_assert_uint_eq(cfg.max_views, 7);
  ck_assert_str_eq(cfg.prefix, "crlf");
  ck_assert_int_eq(cfg.log_level, LOG_LVL_DEBUG);

  path = write_file("unknown.conf", "# x\n\nsokcet = /x\n");
  ck_assert_int_eq(load_capture(&cfg, path, 1, err, sizeof err), -1);
  snprintf(want, sizeof want, "shmviewd: error: %s:3: unknown key 'sokcet'\n", path);
  ck_assert_str_eq(err, want);

  path = write_file("bad.conf", "frame-max = 8K\nframe-max = 8 K\n");
  ck_assert_int_eq(load_capture(&cfg, path, 1, err, sizeof err), -1);
  snprintf(want, sizeof want,
           "shmviewd: error: %s:2: frame-max: '8 K' is not a size (use e.g. 4096, 64K, 1M, 2G)\n",
           path);
  ck_assert_str_eq(err, want);

  path = write_file("noeq.conf", "max-views 7\n");
  ck_assert_int_eq(load_capture(&cfg, path, 1, err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, ":1: expected 'key = value', got 'max-views 7'"));

  path = write_file("empty.conf", "prefix =\n");
  ck_assert_int_eq(load_capture(&cfg, path, 1, err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, ":1: prefix: the value is empty"));

  /* Missing: fine for the default file, an error for --config. */
  snprintf(want, sizeof want, "%s/absent.conf", tmpdir);
  ck_assert_int_eq(load_capture(&cfg, want, 0, err, sizeof err), 0);
  ck_assert_str_eq(err, "");
  ck_assert_int_eq(load_capture(&cfg, want, 1, err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, "absent.conf: No such file or directory"));
}
END_TEST

START_TEST(flags_win) {
  struct daemon_config cfg;
  const char *path = write_file("f.conf", "frame-max = 8K\nmax-views = 7\nprefix = fromfile\n"
                                          "socket = /tmp/from-file.sock\n");
  char *argv[] = { "shmviewd", "--config", (char *)path, "--frame-max",
                   "16K",      "-p",       "fromflag",   NULL };

  ck_assert_int_eq(conf_from_args(7, argv, &cfg), 0);
  ck_assert_uint_eq(cfg.frame_max, 16384); /* flag */
  ck_assert_uint_eq(cfg.max_views, 7);     /* file */
  ck_assert_str_eq(cfg.prefix, "fromflag");
  ck_assert_str_eq(cfg.socket_path, "/tmp/from-file.sock");
  ck_assert_uint_eq(cfg.grace_ms, 30000); /* default */

  /* The flags are checked with the same parser and messages. */
  char *bad[] = { "shmviewd", "--config", (char *)path, "--max-views", "many", NULL };
  ck_assert_int_eq(conf_from_args(5, bad, &cfg), -1);
  char *extra[] = { "shmviewd", "--config", (char *)path, "stray", NULL };
  ck_assert_int_eq(conf_from_args(4, extra, &cfg), -1);

  /* A bad config file is told apart from a bad command line (exit 78, not 2). */
  const char *typo = write_file("typo.conf", "sokcet = /x\n");
  char *badfile[] = { "shmviewd", "--config", (char *)typo, NULL };
  ck_assert_int_eq(conf_from_args(3, badfile, &cfg), -2);
}
END_TEST

/* A boolean: off by default, a bare flag says yes, =no and the file's
 * "key = yes" work too. */
START_TEST(boolean_flag) {
  struct daemon_config cfg;
  const char *on = write_file("on.conf", "allow-namespaces = yes\n");
  char *none[] = { "shmviewd", NULL };
  char *bare[] = { "shmviewd", "--allow-namespaces", NULL };
  char *no[] = { "shmviewd", "--config", (char *)on, "--allow-namespaces=no", NULL };
  char *file[] = { "shmviewd", "--config", (char *)on, NULL };
  char *bad[] = { "shmviewd", "--allow-namespaces=maybe", NULL };

  ck_assert_int_eq(conf_from_args(1, none, &cfg), 0);
  ck_assert(!cfg.allow_namespaces);
  ck_assert_int_eq(conf_from_args(2, bare, &cfg), 0);
  ck_assert(cfg.allow_namespaces);
  ck_assert_int_eq(conf_from_args(4, no, &cfg), 0);
  ck_assert(!cfg.allow_namespaces); /* the flag wins */
  ck_assert_int_eq(conf_from_args(3, file, &cfg), 0);
  ck_assert(cfg.allow_namespaces);
  ck_assert_int_eq(conf_from_args(2, bad, &cfg), -1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("conf");
  TCase *tc = tcase_create("conf");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, sizes);
  tcase_add_test(tc, values);
  tcase_add_test(tc, limit_defaults);
  tcase_add_test(tc, files);
  tcase_add_test(tc, flags_win);
  tcase_add_test(tc, boolean_flag);
  suite_add_tcase(s, tc);
  return harness_main(s);
}

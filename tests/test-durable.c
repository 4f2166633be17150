/* SPDX-License-Identifier: MIT */
/*
 * test-durable.c: what the daemon acknowledged survives it, and what it
 * could not record it refuses.
 *
 * A state file system that fills up (a tiny tmpfs in a private mount
 * namespace) makes creates fail instead of losing owners and modes at the
 * next start; a daemon killed in the middle of a create (stopped by
 * ptrace at its posix_fallocate, then SIGKILLed) leaves no object with the
 * wrong owner behind; a reader that maps a view and never talks to the
 * daemon again keeps the segment from shrinking across a restart for as
 * long as it lives, and a reader that reconnects is not counted twice.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

static struct harness_daemon d;
static const char *const grace0[] = { "--grace", "0", NULL };

static bool have_root(const char *test) {
  if (geteuid() == 0)
    return true;
  fprintf(stderr, "test-durable: %s skipped: needs root\n", test);
  return false;
}

static shmv_client *connect_ok(void) {
  shmv_client *c;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  return c;
}

/* ---- a full state file system ---- */

static void long_name(char *buf, size_t cap, int i) {
  snprintf(buf, cap, "n%03d-", i);
  for (size_t n = strlen(buf); n < 180 && n + 1 < cap; n++)
    buf[n] = 'x';
  buf[cap < 181 ? cap - 1 : 180] = '\0';
}

START_TEST(full_state_fs_refuses) {
  char dir[128], state[200], args_state[220], name[200];
  const char *args[] = { "--state", args_state, NULL };
  shmv_client *c;
  shmv_segment_info info;
  int made = 0, unlinked = 0, resized = 0, rc = 0;

  if (!have_root("full_state_fs_refuses"))
    return;
  /* This test's process (Check forks one per test) gets its own mounts,
   * and so does the daemon it starts; they vanish with it. */
  ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
  ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
  snprintf(dir, sizeof dir, "/tmp/shmvt%s-tiny-XXXXXX", getenv("SHMVIEW_TEST_RUN"));
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(mount("tmpfs", dir, "tmpfs", 0, "size=4k,mode=0700"), 0);
  snprintf(state, sizeof state, "%s/st.state", dir);
  snprintf(args_state, sizeof args_state, "%s", state);

  harness_daemon_start(&d, args);
  c = connect_ok();
  /* Each create writes two lines of ~200 bytes: a page fills after ~10. */
  for (int i = 0; i < 100; i++) {
    long_name(name, sizeof name, i);
    rc = shmv_create(c, name, 4096, 0640);
    if (rc != 0)
      break;
    made++;
  }
  ck_assert_msg(rc == -ENOSPC, "creates stopped with %d after %d", rc, made);
  ck_assert_int_gt(made, 2);
  /* Refused means not made. */
  ck_assert_int_eq(shmv_stat(c, name, &info), -ENOENT);
  ck_assert_int_eq(harness_shm_count(d.prefix), made);
  /* Removals and resizes: each is either recorded (what is left of the
   * file's last page may still take a short line) or refused. */
  for (int i = 0; i < made && unlinked == i; i++) {
    long_name(name, sizeof name, i);
    rc = shmv_unlink(c, name);
    ck_assert_msg(rc == 0 || rc == -ENOSPC, "unlink: %d", rc);
    if (rc == 0)
      unlinked++;
  }
  ck_assert_int_lt(unlinked, made);
  for (int i = unlinked; i < made && resized == i - unlinked; i++) {
    long_name(name, sizeof name, i);
    rc = shmv_resize(c, name, 8192);
    ck_assert_msg(rc == 0 || rc == -ENOSPC, "resize: %d", rc);
    if (rc == 0)
      resized++;
  }
  ck_assert_int_lt(unlinked + resized, made);
  shmv_disconnect(c);

  /* The start-up rewrite cannot be written either: the previous file is
   * kept and still used, and every acknowledged segment has its owner and
   * mode. */
  harness_daemon_kill(&d);
  harness_daemon_restart(&d, args);
  c = connect_ok();
  for (int i = 0; i < made; i++) {
    long_name(name, sizeof name, i);
    if (i < unlinked) {
      ck_assert_int_eq(shmv_stat(c, name, &info), -ENOENT);
      continue;
    }
    ck_assert_int_eq(shmv_stat(c, name, &info), 0);
    ck_assert_uint_eq(info.mode, 0640);
    ck_assert_uint_eq(info.size, i < unlinked + resized ? 8192 : 4096);
  }
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
  umount(dir);
  rmdir(dir);
}
END_TEST

/* ---- kill -9 in the middle of a create ---- */

static int create_big(void *arg) {
  shmv_client *c;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  /* The daemon dies under it: any error will do. */
  CHILD_CHECK(shmv_create(c, "interrupted", 1 << 20, 0640) != 0);
  shmv_disconnect(c);
  return 0;
}

/* Resume the tracee until it enters fallocate(2); returns 0 there. */
static int run_to_fallocate(pid_t pid) {
  for (int i = 0; i < 100000; i++) {
    struct __ptrace_syscall_info info;
    int status;

    if (ptrace(PTRACE_SYSCALL, pid, 0, 0) != 0)
      return -1;
    if (waitpid(pid, &status, __WALL) != pid || WIFEXITED(status) || WIFSIGNALED(status))
      return -1;
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80))
      continue;
    memset(&info, 0, sizeof info);
    if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info) <= 0)
      return -1;
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY && info.entry.nr == SYS_fallocate)
      return 0;
  }
  return -1;
}

START_TEST(kill9_during_create) {
  char path[256];
  shmv_client *c;
  shmv_segment_info info;
  pid_t child;
  int status;

  harness_daemon_start(&d, grace0);
  if (d.valgrind) {
    fprintf(stderr, "test-durable: kill9_during_create skipped under valgrind\n");
    ck_assert_int_eq(harness_daemon_stop(&d), 0);
    return;
  }
  /* Stop the daemon at every system call from now on. */
  ck_assert_int_eq(ptrace(PTRACE_SEIZE, d.pid, 0, PTRACE_O_TRACESYSGOOD), 0);
  ck_assert_int_eq(ptrace(PTRACE_INTERRUPT, d.pid, 0, 0), 0);
  ck_assert_int_eq(waitpid(d.pid, &status, __WALL), d.pid);

  child = fork();
  ck_assert_int_ge(child, 0);
  if (child == 0)
    _exit(create_big(NULL));
  /* The object exists, its memory is being reserved: die now. */
  ck_assert_int_eq(run_to_fallocate(d.pid), 0);
  snprintf(path, sizeof path, "/dev/shm/%s.interrupted", d.prefix);
  ck_assert_int_eq(access(path, F_OK), 0);
  kill(d.pid, SIGKILL);
  while (waitpid(d.pid, &status, __WALL) == d.pid && !WIFSIGNALED(status) && !WIFEXITED(status))
    ;
  d.pid = 0;
  ck_assert_int_eq(waitpid(child, &status, 0), child);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client status %#x", status);

  /* The create never completed: its object is gone, not adopted as the
   * daemon's, and the name is free for its owner to try again. */
  harness_daemon_restart(&d, grace0);
  c = connect_ok();
  ck_assert_int_eq(shmv_stat(c, "interrupted", &info), -ENOENT);
  ck_assert_int_eq(access(path, F_OK), -1);
  ck_assert_int_eq(shmv_create(c, "interrupted", 4096, 0640), 0);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* ---- a passive reader across a restart ---- */

struct reader {
  int ready[2]; /* reader -> test */
  int go[2];    /* test -> reader */
  bool reconnect;
};

static int reader(void *arg) {
  struct reader *r = arg;
  shmv_client *c;
  shmv_segment_info info;
  shmv_view *v;
  volatile unsigned char sum = 0;
  char b;

  close(r->ready[0]);
  close(r->go[1]);
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_open(c, "held", 0, SHMV_TO_END, 0, &v) == 0);
  CHILD_CHECK(write(r->ready[1], "1", 1) == 1);
  CHILD_CHECK(read(r->go[0], &b, 1) == 1);
  if (r->reconnect) {
    /* Any request reconnects and re-registers the view. */
    CHILD_CHECK(shmv_stat(c, "held", &info) == 0);
    CHILD_CHECK(write(r->ready[1], "2", 1) == 1);
    CHILD_CHECK(read(r->go[0], &b, 1) == 1);
  }
  /* Every byte still mapped: a shrink would have been a SIGBUS here. */
  for (size_t i = 0; i < shmv_view_length(v); i++)
    sum += ((const unsigned char *)shmv_view_data(v))[i];
  (void)sum;
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

static pid_t start_reader(struct reader *r) {
  pid_t pid;
  char b;

  ck_assert_int_eq(pipe(r->ready), 0);
  ck_assert_int_eq(pipe(r->go), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(reader(r));
  close(r->ready[1]);
  close(r->go[0]);
  ck_assert_int_eq(read(r->ready[0], &b, 1), 1);
  return pid;
}

static void reap_reader(pid_t pid) {
  int status;

  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader status %#x", status);
}

START_TEST(passive_reader_keeps_segment) {
  struct reader r = { .reconnect = false };
  shmv_client *c;
  shmv_segment_info info;
  pid_t pid;
  int rc = -1;

  harness_daemon_start(&d, grace0);
  c = connect_ok();
  ck_assert_int_eq(shmv_create(c, "held", 3 * 4096, 0644), 0);
  shmv_disconnect(c);
  pid = start_reader(&r);

  harness_daemon_kill(&d);
  harness_daemon_restart(&d, grace0);
  c = connect_ok();
  ck_assert_int_eq(shmv_stat(c, "held", &info), 0);
  ck_assert_uint_eq(info.views, 1);
  /* No grace: only the recorded reader stops the shrink. */
  ck_assert_int_eq(shmv_resize(c, "held", 100), -EBUSY);
  ck_assert_int_eq(shmv_resize(c, "held", 4 * 4096), 0); /* growing is fine */

  ck_assert_int_eq(write(r.go[1], "g", 1), 1);
  reap_reader(pid);
  /* It exited: the daemon sees its pidfd and lets go. */
  for (int i = 0; i < 500 && rc != 0; i++) {
    rc = shmv_resize(c, "held", 100);
    if (rc != 0)
      usleep(10 * 1000);
  }
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(shmv_stat(c, "held", &info), 0);
  ck_assert_uint_eq(info.views, 0);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

START_TEST(reconnecting_reader_counted_once) {
  struct reader r = { .reconnect = true };
  shmv_client *c;
  shmv_segment_info info;
  pid_t pid;
  char b;
  int rc = -1;

  harness_daemon_start(&d, grace0);
  c = connect_ok();
  ck_assert_int_eq(shmv_create(c, "held", 2 * 4096, 0644), 0);
  shmv_disconnect(c);
  pid = start_reader(&r);

  /* A clean stop keeps the holds on disk as well. */
  kill(d.pid, SIGTERM);
  waitpid(d.pid, NULL, 0);
  harness_daemon_restart(&d, grace0);
  c = connect_ok();
  ck_assert_int_eq(shmv_resize(c, "held", 100), -EBUSY);

  ck_assert_int_eq(write(r.go[1], "g", 1), 1);
  ck_assert_int_eq(read(r.ready[0], &b, 1), 1);
  /* Re-registered: one view, not the kept one plus the new one. */
  ck_assert_int_eq(shmv_stat(c, "held", &info), 0);
  ck_assert_uint_eq(info.views, 1);
  ck_assert_int_eq(shmv_resize(c, "held", 100), -EBUSY);

  ck_assert_int_eq(write(r.go[1], "g", 1), 1);
  reap_reader(pid);
  /* Its connection's end may reach the daemon after our next request. */
  for (int i = 0; i < 500 && (rc = shmv_resize(c, "held", 100)) != 0; i++)
    usleep(10 * 1000);
  ck_assert_int_eq(shmv_stat(c, "held", &info), 0);
  ck_assert_msg(rc == 0, "resize: %d, views %llu", rc, (unsigned long long)info.views);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* ---- the state file's records ---- */

static void state_file(char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s/%s.state", d.dir, d.prefix);

  ck_assert(n >= 0 && (size_t)n < cap);
}

/* The whole state file, malloc'd. */
static char *read_text(const char *path) {
  FILE *f = fopen(path, "r");
  char *buf = calloc(1, 1 << 16);
  size_t n;

  ck_assert_ptr_nonnull(f);
  ck_assert_ptr_nonnull(buf);
  n = fread(buf, 1, (1 << 16) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void append_text(const char *path, const char *text) {
  FILE *f = fopen(path, "a");

  ck_assert_ptr_nonnull(f);
  ck_assert_int_ge(fputs(text, f), 0);
  ck_assert_int_eq(fclose(f), 0);
}

/* An object as the daemon makes one: ours, 0600, of that size. */
static void plant_object(const char *name, off_t size) {
  char obj[300];
  int fd;

  snprintf(obj, sizeof obj, "/%s.%s", d.prefix, name);
  fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ck_assert_msg(fd >= 0, "shm_open %s: %s", obj, strerror(errno));
  ck_assert_int_eq(fchmod(fd, 0600), 0);
  ck_assert_int_eq(ftruncate(fd, size), 0);
  close(fd);
}

struct expect {
  const char *name;
  uint64_t size;
  uid_t uid;
  gid_t gid;
  unsigned mode;
  int64_t sec;
  int32_t nsec;
  int ephemeral, frozen;
};

/* What tests/fixtures/state-v1 records, as shmviewd 68f8bda wrote it. */
static const struct expect v1_segments[] = {
  { "eph", 4096, 0, 0, 0600, 1796623834, 78795836, 1, 1 },
  { "ephonly", 12288, 0, 0, 0640, 1796623834, 78839320, 1, 0 },
  { "frames", 2097152, 1000, 1000, 0640, 1796623833, 976222235, 0, 0 }, /* resized */
  { "frozen", 8192, 0, 0, 0644, 1796623834, 31809231, 0, 1 },
  { "late", 6000, 1000, 1000, 0604, 1796623835, 640309793, 0, 0 }, /* resized */
  { "plain", 4096, 0, 0, 0600, 1796623834, 15948806, 0, 1 },       /* frozen by 'F' */
};
#define N_V1 (sizeof v1_segments / sizeof v1_segments[0])

static void expect_segments(shmv_client *c, const struct expect *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    shmv_segment_info info;

    ck_assert_msg(shmv_stat(c, e[i].name, &info) == 0, "segment %s is gone", e[i].name);
    ck_assert_uint_eq(info.size, e[i].size);
    ck_assert_uint_eq(info.uid, e[i].uid);
    ck_assert_uint_eq(info.gid, e[i].gid);
    ck_assert_uint_eq(info.mode, e[i].mode);
    ck_assert_int_eq(info.created_sec, e[i].sec);
    ck_assert_int_eq(info.created_nsec, e[i].nsec);
    ck_assert_msg(info.ephemeral == e[i].ephemeral && info.frozen == e[i].frozen,
                  "segment %s: ephemeral %d frozen %d", e[i].name, info.ephemeral, info.frozen);
  }
}

/* A state file of version 1 (positional records, by today's main before
 * keyword records) is read once, whole, and the snapshot at start rewrites
 * it as keyword records. */
START_TEST(state_v1_upgraded) {
  char path[400], fixture[600], *text;
  const char *srcdir = getenv("SHMVIEW_SRCDIR");
  shmv_client *c;
  shmv_segment_info info;
  FILE *in, *out;
  int ch;

  ck_assert_ptr_nonnull(srcdir);
  harness_daemon_start(&d, NULL);
  harness_daemon_kill(&d);
  for (size_t i = 0; i < N_V1; i++)
    plant_object(v1_segments[i].name, (off_t)v1_segments[i].size);
  snprintf(fixture, sizeof fixture, "%s/tests/fixtures/state-v1", srcdir);
  state_file(path, sizeof path);
  in = fopen(fixture, "r");
  ck_assert_ptr_nonnull(in);
  out = fopen(path, "w"); /* the daemon's own file: it stays 0600 */
  ck_assert_ptr_nonnull(out);
  while ((ch = getc(in)) != EOF)
    putc(ch, out);
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);

  harness_daemon_restart(&d, NULL); /* grace 30 s: the ephemeral ones stay */
  c = connect_ok();
  expect_segments(c, v1_segments, N_V1);
  ck_assert_int_eq(shmv_stat(c, "gone", &info), -ENOENT);   /* never was, here */
  ck_assert_int_eq(shmv_stat(c, "plain2", &info), -ENOENT); /* created, then unlinked */
  shmv_disconnect(c);

  /* Rewritten as keyword records. */
  text = read_text(path);
  ck_assert_msg(strncmp(text, "shmview-state 2\n", 16) == 0, "%s", text);
  ck_assert_ptr_nonnull(strstr(text, "\n+ name=frames size=2097152 uid=1000 gid=1000 mode=0640 "
                                     "created=1796623833.976222235\n"));
  ck_assert_ptr_nonnull(strstr(text, "\n+ name=eph size=4096 uid=0 gid=0 mode=0600 "
                                     "created=1796623834.078795836 flags=ephemeral,frozen\n"));
  ck_assert_ptr_null(strstr(text, "\n+ frames "));
  free(text);

  /* And read back as such. */
  harness_daemon_kill(&d);
  harness_daemon_restart(&d, NULL);
  c = connect_ok();
  expect_segments(c, v1_segments, N_V1);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* Every recorded field survives a kill -9 and the snapshot after it;
 * change lines may carry any field (owner, group and mode included); keys
 * and flags from a newer daemon are skipped, the rest of their record
 * kept. */
START_TEST(keyword_records_round_trip) {
  char path[400], line[600], *text;
  shmv_client *c;
  shmv_segment_info info, eph;
  shmv_view *v;

  harness_daemon_start(&d, grace0);
  c = connect_ok();
  OK(shmv_create(c, "frames", 4096, 0640));
  OK(shmv_resize(c, "frames", 8192));
  OK(shmv_create(c, "cold", 100, 0604));
  OK(shmv_freeze(c, "cold"));
  OK(shmv_create(c, "gone", 10, 0600));
  OK(shmv_unlink(c, "gone"));
  /* Ephemeral: kept by this process's view across the restart. */
  OK(shmv_create_flags(c, "eph", 4096, 0600, SHMV_CREATE_EPHEMERAL));
  OK(shmv_view_open(c, "eph", 0, SHMV_TO_END, 0, &v));
  OK(shmv_freeze(c, "eph"));
  OK(shmv_stat(c, "eph", &eph));
  OK(shmv_stat(c, "frames", &info));
  harness_daemon_kill(&d);

  state_file(path, sizeof path);
  text = read_text(path);
  ck_assert_ptr_nonnull(strstr(text, "\n= name=frames size=8192 changed="));
  ck_assert_ptr_nonnull(strstr(text, "\n= name=cold flags=frozen changed="));
  ck_assert_ptr_nonnull(strstr(text, "\n= name=eph flags=ephemeral,frozen changed="));
  ck_assert_ptr_nonnull(strstr(text, "\n- name=gone\n"));
  ck_assert_ptr_nonnull(strstr(text, "\nv name=eph pid="));
  free(text);
  /* A chown and chmod as the file records them, and a newer daemon's
   * record: an unknown key, an unknown flag. */
  append_text(path, "= name=frames uid=4242 gid=4343 mode=0604\n");
  plant_object("future", 300);
  snprintf(line, sizeof line,
           "+ name=future size=300 uid=%u gid=7 mode=0640 created=12.000000005 colour=blue "
           "flags=shiny,frozen\n",
           (unsigned)geteuid());
  append_text(path, line);

  for (int round = 0; round < 2; round++) {
    shmv_segment_info got;

    harness_daemon_restart(&d, grace0);
    c = connect_ok();
    OK(shmv_stat(c, "frames", &got));
    ck_assert_uint_eq(got.size, 8192);
    ck_assert_uint_eq(got.uid, 4242);
    ck_assert_uint_eq(got.gid, 4343);
    ck_assert_uint_eq(got.mode, 0604);
    ck_assert_int_eq(got.created_sec, info.created_sec);
    ck_assert_int_eq(got.created_nsec, info.created_nsec);
    /* changed: the resize's time, kept; the hand-written chown line
     * above carries none, so it does not move it. */
    ck_assert_int_ne(info.changed_sec, 0);
    ck_assert_int_eq(got.changed_sec, info.changed_sec);
    ck_assert_int_eq(got.changed_nsec, info.changed_nsec);
    OK(shmv_stat(c, "cold", &got));
    ck_assert_int_eq(got.frozen, 1);
    ck_assert_int_eq(got.ephemeral, 0);
    ck_assert_uint_eq(got.mode, 0604);
    OK(shmv_stat(c, "eph", &got));
    ck_assert_int_eq(got.frozen, 1);
    ck_assert_int_eq(got.ephemeral, 1);
    ck_assert_int_eq(got.created_nsec, eph.created_nsec);
    ck_assert_int_eq(shmv_stat(c, "gone", &got), -ENOENT);
    OK(shmv_stat(c, "future", &got));
    ck_assert_uint_eq(got.gid, 7);
    ck_assert_uint_eq(got.mode, 0640);
    ck_assert_int_eq(got.created_sec, 12);
    ck_assert_int_eq(got.created_nsec, 5);
    ck_assert_int_eq(got.changed_sec, 0); /* never changed */
    ck_assert_int_eq(got.frozen, 1);
    shmv_disconnect(c);
    harness_daemon_kill(&d); /* the second round reads the snapshot */
  }
  text = read_text(path);
  ck_assert_ptr_nonnull(strstr(text, "\n+ name=frames size=8192 uid=4242 gid=4343 mode=0604 "));
  ck_assert_ptr_null(strstr(text, "colour"));
  free(text);
  shmv_view_release(v);
  harness_daemon_restart(&d, grace0);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

static Suite *durable_suite(void) {
  Suite *s = suite_create("durable");
  TCase *tc = tcase_create("durable");

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, full_state_fs_refuses);
  tcase_add_test(tc, kill9_during_create);
  tcase_add_test(tc, passive_reader_keeps_segment);
  tcase_add_test(tc, reconnecting_reader_counted_once);
  tcase_add_test(tc, state_v1_upgraded);
  tcase_add_test(tc, keyword_records_round_trip);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(durable_suite());
}

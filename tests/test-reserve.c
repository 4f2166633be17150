/* SPDX-License-Identifier: MIT */
/*
 * test-reserve.c: --reserve decides who allocates a segment's memory, and
 * so which memory cgroup pays for it (docs/containers.md, "Which cgroup
 * pays").
 *
 * allocation_follows_reserve: the object's allocated blocks (st_blocks of
 * /dev/shm/PREFIX.NAME) after a create and a grow: all of them with the
 * default (--reserve daemon), none with --reserve none until a client
 * writes through its view, which allocates what it touched.
 *
 * cgroup_pays (root, a writable memory cgroup, v2 or v1): the daemon in one
 * cgroup, a client in a sibling ("the container") creating a segment and
 * writing all of it. With --reserve daemon the daemon's cgroup is charged
 * and the client's is not; with --reserve none the other way round.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

#define MIB  (1024u * 1024u)
#define SEG  (32u * MIB)
#define NAME "paid"

static struct harness_daemon d;

/* Bytes allocated to the daemon's object of NAME. */
static uint64_t allocated(void) {
  char path[256];
  struct stat st;

  snprintf(path, sizeof path, "/dev/shm/%s.%s", d.prefix, NAME);
  ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
  return (uint64_t)st.st_blocks * 512;
}

static void start(const char *reserve) {
  const char *args[] = { "--reserve", reserve, NULL };

  harness_daemon_start(&d, reserve != NULL ? args : NULL);
}

START_TEST(allocation_follows_reserve) {
  shmv_client *c;
  shmv_view *v;

  /* The default: every byte allocated by the daemon at create and grow. */
  start(NULL);
  OK(shmv_connect(d.socket, &c));
  OK(shmv_create(c, NAME, 4 * MIB, 0600));
  ck_assert_uint_ge(allocated(), 4 * MIB);
  OK(shmv_resize(c, NAME, 8 * MIB));
  ck_assert_uint_ge(allocated(), 8 * MIB);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);

  /* --reserve none: nothing until a client touches it, then what it
   * touched. */
  start("none");
  OK(shmv_connect(d.socket, &c));
  OK(shmv_create(c, NAME, 4 * MIB, 0600));
  ck_assert_uint_eq(allocated(), 0);
  OK(shmv_resize(c, NAME, 8 * MIB));
  ck_assert_uint_eq(allocated(), 0);
  OK(shmv_view_open(c, NAME, 0, MIB, SHMV_WRITABLE, &v));
  memset(shmv_view_data(v), 'x', MIB);
  ck_assert_uint_ge(allocated(), MIB);
  ck_assert_uint_lt(allocated(), 8 * MIB);
  shmv_view_release(v);
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* ---- cgroups ---- */

static char base[128];    /* the memory hierarchy's root */
static const char *usage; /* its usage file */
static char top[256];     /* our cgroup: top/daemon, top/container */
static int cgroup_v = 0;  /* 2, 1, or 0: none usable */

static bool contains_word(const char *path, const char *word) {
  char line[512];
  FILE *f = fopen(path, "r");
  bool found = false;

  if (f == NULL)
    return false;
  while (fscanf(f, "%511s", line) == 1)
    if (strcmp(line, word) == 0)
      found = true;
  fclose(f);
  return found;
}

static bool write_file(const char *dir, const char *file, const char *text) {
  char path[512];
  int fd;
  bool ok;

  snprintf(path, sizeof path, "%s/%s", dir, file);
  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
  close(fd);
  return ok;
}

/* Make top/daemon and top/container, or say why not (false). */
static bool cgroups_make(void) {
  char path[512];

  if (contains_word("/sys/fs/cgroup/cgroup.controllers", "memory")) {
    snprintf(base, sizeof base, "/sys/fs/cgroup");
    cgroup_v = 2;
  } else if (contains_word("/sys/fs/cgroup/unified/cgroup.controllers", "memory")) {
    snprintf(base, sizeof base, "/sys/fs/cgroup/unified");
    cgroup_v = 2;
  } else if (access("/sys/fs/cgroup/memory/memory.usage_in_bytes", F_OK) == 0) {
    snprintf(base, sizeof base, "/sys/fs/cgroup/memory");
    cgroup_v = 1;
  } else {
    return false;
  }
  usage = cgroup_v == 2 ? "memory.current" : "memory.usage_in_bytes";
  snprintf(top, sizeof top, "%s/shmview-test-reserve-%d", base, (int)getpid());
  if (mkdir(top, 0755) != 0)
    return false;
  if (cgroup_v == 2) {
    write_file(base, "cgroup.subtree_control", "+memory");
    if (!write_file(top, "cgroup.subtree_control", "+memory")) {
      rmdir(top);
      return false;
    }
  }
  snprintf(path, sizeof path, "%s/daemon", top);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/container", top);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  return true;
}

static void cgroups_remove(void) {
  char path[512];

  snprintf(path, sizeof path, "%s/daemon", top);
  rmdir(path);
  snprintf(path, sizeof path, "%s/container", top);
  rmdir(path);
  rmdir(top);
}

static uint64_t charged(const char *group) {
  char path[512];
  unsigned long long n = 0;
  FILE *f;

  snprintf(path, sizeof path, "%s/%s/%s", top, group, usage);
  f = fopen(path, "r");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  ck_assert_int_eq(fscanf(f, "%llu", &n), 1);
  fclose(f);
  return n;
}

static void join(const char *group, pid_t pid) {
  char dir[512], text[32];

  snprintf(dir, sizeof dir, "%s/%s", top, group);
  snprintf(text, sizeof text, "%d", (int)pid);
  ck_assert_msg(write_file(dir, "cgroup.procs", text), "cannot move %d into %s", (int)pid, dir);
}

/* The "container": joins its cgroup, creates NAME and writes all of it. */
static int container_client(void *arg) {
  char dir[512], text[32];
  shmv_client *c;
  shmv_view *v;

  (void)arg;
  snprintf(dir, sizeof dir, "%s/container", top);
  snprintf(text, sizeof text, "%d", (int)getpid());
  CHILD_CHECK(write_file(dir, "cgroup.procs", text));
  CHILD_CHECK(shmv_connect(d.socket, &c) == 0);
  CHILD_CHECK(shmv_view_create(c, NAME, SEG, 0600, 0, &v) == 0);
  memset(shmv_view_data(v), 'x', SEG);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

/* Run the container against a daemon started with --reserve reserve; the
 * bytes charged meanwhile to the daemon's and the container's cgroups
 * (signed: a cgroup may also free a page or two meanwhile). */
static void measure(const char *reserve, int64_t *daemon, int64_t *container) {
  uint64_t d0, c0;
  shmv_client *c;
  int status;

  start(reserve);
  join("daemon", d.pid);
  d0 = charged("daemon");
  c0 = charged("container");
  status = harness_run_child(container_client, NULL);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the container failed (%#x)",
                status);
  /* The segment outlives its writer: its pages stay charged. */
  *daemon = (int64_t)(charged("daemon") - d0);
  *container = (int64_t)(charged("container") - c0);
  OK(shmv_connect(d.socket, &c));
  OK(shmv_unlink(c, NAME));
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

START_TEST(cgroup_pays) {
  int64_t dm, ct, dm2, ct2;

  if (geteuid() != 0) {
    fprintf(stderr, "test-reserve: cgroup_pays skipped: needs root to make memory cgroups\n");
    return;
  }
  if (!cgroups_make()) {
    fprintf(stderr, "test-reserve: cgroup_pays skipped: no writable memory cgroup (v2 or v1) "
                    "under /sys/fs/cgroup\n");
    return;
  }
  measure("daemon", &dm, &ct);
  measure("none", &dm2, &ct2);
  cgroups_remove();
  fprintf(stderr,
          "test-reserve: cgroup v%d, a %u MiB segment written by the container: "
          "--reserve daemon charged the daemon %" PRId64 " KiB and the container %" PRId64
          " KiB; --reserve none the daemon %" PRId64 " KiB and the container %" PRId64 " KiB\n",
          cgroup_v, SEG / MIB, dm / 1024, ct / 1024, dm2 / 1024, ct2 / 1024);
  ck_assert_msg(dm >= (int64_t)(SEG - MIB) && ct < (int64_t)(SEG / 4),
                "--reserve daemon: the daemon's cgroup should pay (daemon +%" PRId64
                ", container +%" PRId64 " bytes)",
                dm, ct);
  ck_assert_msg(ct2 >= (int64_t)(SEG - MIB) && dm2 < (int64_t)(SEG / 4),
                "--reserve none: the container's cgroup should pay (daemon +%" PRId64
                ", container +%" PRId64 " bytes)",
                dm2, ct2);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("reserve");
  TCase *tc = tcase_create("reserve");

  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, allocation_follows_reserve);
  tcase_add_test(tc, cgroup_pays);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(suite());
}

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
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

/* ---- what one who may not read a segment sees ---- */

/* The record of name in a list, or NULL; unlinked ones only if `unlinked`. */
static const shmv_segment_info *find_in(const shmv_segment_info *list, size_t n, const char *name,
                                        bool unlinked) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i].name, name) == 0 && (list[i].unlinked != 0) == unlinked)
      return &list[i];
  return NULL;
}

/* Only what ls -l shows of a 0600 file: name, size, owner, mode. */
static int only_what_ls_shows(const shmv_segment_info *i, const char *name, uint64_t size,
                              unsigned mode) {
  CHILD_CHECK(strcmp(i->name, name) == 0);
  CHILD_CHECK(i->size == size && i->uid == 0 && i->mode == mode);
  CHILD_CHECK(i->restricted == 1);
  /* root holds two views of it, and froze it: none of that shows */
  CHILD_CHECK(i->views == 0 && i->writable_views == 0);
  CHILD_CHECK(i->gid == 0 && i->created_sec == 0 && i->created_nsec == 0);
  CHILD_CHECK(i->ephemeral == 0 && i->frozen == 0 && i->unlinked == 0);
  return 0;
}

static int stranger_looks(void *arg) {
  uid_t uid = (uid_t)(uintptr_t)arg;
  shmv_client *mine;
  shmv_segment_info info, *list;
  const shmv_segment_info *e;
  size_t n;

  CHILD_CHECK(setgroups(0, NULL) == 0);
  CHILD_CHECK(setgid(uid) == 0);
  CHILD_CHECK(setuid(uid) == 0);
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);

  CHILD_CHECK(shmv_stat(mine, "secret600", &info) == 0);
  CHILD_CHECK(only_what_ls_shows(&info, "secret600", 4096, 0600) == 0);
  /* A 0644 segment may be read: all of it shows. */
  CHILD_CHECK(shmv_stat(mine, "pub644", &info) == 0);
  CHILD_CHECK(info.restricted == 0 && info.views == 1 && info.created_sec != 0);

  CHILD_CHECK(shmv_list(mine, &list, &n) == 0);
  CHILD_CHECK((e = find_in(list, n, "secret600", false)) != NULL);
  CHILD_CHECK(only_what_ls_shows(e, "secret600", 4096, 0600) == 0);
  CHILD_CHECK((e = find_in(list, n, "pub644", false)) != NULL && e->restricted == 0);
  /* Root's unlinked-but-held segment is root's business, even at 0644;
   * nobody's own is shown to nobody only. */
  CHILD_CHECK(find_in(list, n, "hidden-plan", true) == NULL);
  CHILD_CHECK((find_in(list, n, "nobody-held", true) != NULL) == (uid == NOBODY));
  shmv_list_free(list);
  shmv_disconnect(mine);
  return 0;
}

/* nobody holds a view of its own segment and unlinks it. */
static int nobody_holds_unlinked(void *arg) {
  shmv_client *mine;
  shmv_view *v;

  (void)arg;
  CHILD_CHECK(setgroups(0, NULL) == 0);
  CHILD_CHECK(setgid(NOBODY) == 0);
  CHILD_CHECK(setuid(NOBODY) == 0);
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_create(mine, "nobody-held", 4096, 0644) == 0);
  CHILD_CHECK(shmv_view_open(mine, "nobody-held", 0, SHMV_TO_END, 0, &v) == 0);
  CHILD_CHECK(shmv_unlink(mine, "nobody-held") == 0);
  return 0; /* and holds the view until killed */
}

/* The output of `shmview --socket S ARGS...` run as uid, into buf. */
static void cli_as(uid_t uid, const char *const *args, char *buf, size_t cap) {
  const char *argv[16];
  int p[2], n = 0, status;
  size_t len = 0;
  ssize_t got;
  pid_t pid;

  argv[n++] = getenv("SHMVIEW_CLI");
  argv[n++] = "--socket";
  argv[n++] = d.socket;
  for (int i = 0; args[i] != NULL && n < 15; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  ck_assert_ptr_nonnull(argv[0]);
  ck_assert_int_eq(pipe(p), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0)
      _exit(100);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(p[1]);
  while (len + 1 < cap && (got = read(p[0], buf + len, cap - 1 - len)) > 0)
    len += (size_t)got;
  buf[len] = '\0';
  close(p[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "shmview %s exited %#x: %s", args[0],
                status, buf);
}

static void assert_has(const char *out, const char *want) {
  ck_assert_msg(strstr(out, want) != NULL, "'%s' not in:\n%s", want, out);
}

static void assert_lacks(const char *out, const char *unwanted) {
  ck_assert_msg(strstr(out, unwanted) == NULL, "'%s' in:\n%s", unwanted, out);
}

/* The tool says '-' and null for what the daemon hid. */
static void cli_shows_restricted(void) {
  static const char *const stat_json[] = { "--json", "stat", "secret600", NULL };
  static const char *const stat_text[] = { "stat", "secret600", NULL };
  static const char *const list_text[] = { "list", NULL };
  char out[8192];

  cli_as(NOBODY, stat_json, out, sizeof out);
  assert_has(out, "\"size\": 4096, \"uid\": 0, \"gid\": null, \"mode\": \"0600\", "
                  "\"views\": null, \"writable_views\": null, \"created\": null, "
                  "\"ephemeral\": null, \"unlinked\": false, \"frozen\": null, "
                  "\"restricted\": true, \"changed\": null, \"channel\": false, "
                  "\"control\": false, \"depth\": null, \"senders\": null, \"receivers\": null}");
  cli_as(NOBODY, stat_text, out, sizeof out);
  assert_has(out, "mode:           0600\n");
  assert_has(out, "the rest:       (shown to its owner and those with read permission)\n");
  assert_lacks(out, "views:");
  assert_lacks(out, "created:");
  cli_as(NOBODY, list_text, out, sizeof out);
  assert_lacks(out, "hidden-plan");
  assert_has(out, "nobody-held");
  /* secret600's row: name, size, owner, mode, then - for views, created */
  {
    const char *row = strstr(out, "secret600");

    ck_assert_ptr_nonnull(row);
    ck_assert_msg(strstr(row, " 0600 ") != NULL && strchr(row, '\n') != NULL, "%s", row);
    for (const char *q = row; *q != '\n'; q++)
      ck_assert_msg(*q != ':', "a time in the row of secret600: %s", row);
  }
}

START_TEST(what_strangers_see) {
  shmv_view *v[3], *pv, *hv;
  shmv_segment_info *list;
  size_t n;
  pid_t holder;
  int status;

  if (geteuid() != 0) {
    fprintf(stderr, "test-access: what_strangers_see skipped: needs root to become "
                    "nobody\n");
    return;
  }
  ck_assert_int_eq(chmod(d.dir, 0711), 0);
  ck_assert_int_eq(chmod(d.socket, 0666), 0);
  /* root reads its 0600 secret: two views, one of them once writable;
   * and freezes it. */
  ck_assert_int_eq(shmv_create(c, "secret600", 4096, 0600), 0);
  ck_assert_int_eq(shmv_view_open(c, "secret600", 0, SHMV_TO_END, SHMV_WRITABLE, &v[2]), 0);
  shmv_view_release(v[2]);
  ck_assert_int_eq(shmv_freeze(c, "secret600"), 0);
  ck_assert_int_eq(shmv_view_open(c, "secret600", 0, SHMV_TO_END, 0, &v[0]), 0);
  ck_assert_int_eq(shmv_view_open(c, "secret600", 0, 10, 0, &v[1]), 0);
  ck_assert_int_eq(shmv_create(c, "pub644", 8192, 0644), 0);
  ck_assert_int_eq(shmv_view_open(c, "pub644", 0, SHMV_TO_END, 0, &pv), 0);
  ck_assert_int_eq(shmv_create(c, "hidden-plan", 4096, 0644), 0);
  ck_assert_int_eq(shmv_view_open(c, "hidden-plan", 0, SHMV_TO_END, 0, &hv), 0);
  ck_assert_int_eq(shmv_unlink(c, "hidden-plan"), 0);
  holder = harness_start_holder(nobody_holds_unlinked, NULL);

  status = harness_run_child(stranger_looks, (void *)(uintptr_t)NOBODY);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "what nobody sees (status %#x)",
                status);
  status = harness_run_child(stranger_looks, (void *)(uintptr_t)60001);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "what uid 60001 sees (status %#x)",
                status);
  cli_shows_restricted();

  /* Root sees everything, both unlinked segments included. */
  ck_assert_int_eq(shmv_list(c, &list, &n), 0);
  ck_assert_ptr_nonnull(find_in(list, n, "hidden-plan", true));
  ck_assert_ptr_nonnull(find_in(list, n, "nobody-held", true));
  ck_assert_int_eq(find_in(list, n, "secret600", false)->restricted, 0);
  ck_assert_uint_eq(find_in(list, n, "secret600", false)->views, 2);
  ck_assert_int_eq(find_in(list, n, "secret600", false)->frozen, 1);
  shmv_list_free(list);

  kill(holder, SIGKILL);
  waitpid(holder, NULL, 0);
  shmv_view_release(hv);
  shmv_view_release(pv);
  shmv_view_release(v[1]);
  shmv_view_release(v[0]);
  ck_assert_int_eq(shmv_unlink(c, "secret600"), 0);
  ck_assert_int_eq(shmv_unlink(c, "pub644"), 0);
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

/* ---- read-only escalation, played by other uids ----
 *
 * A stranger holds a read-only view of root's 0644 segment and tries every
 * route to write it that does not go through the daemon: the mapping
 * itself, the object's name in /dev/shm, /proc's views of its own and the
 * daemon's descriptors. (The descriptor routes are in test-hostile.c,
 * which speaks the raw protocol.) */

/* The address range of the mapping that holds p, from /proc/self/maps. */
static bool mapping_of(const void *p, unsigned long *lo, unsigned long *hi) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  bool found = false;

  if (f == NULL)
    return false;
  while (!found && fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "%lx-%lx", lo, hi) == 2 && (unsigned long)p >= *lo && (unsigned long)p < *hi)
      found = true;
  fclose(f);
  return found;
}

/* A path names what no one but its owner may open for writing: an open
 * O_RDWR fails with one of the "not yours" errors. */
static bool closed_to_me(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC);

  if (fd >= 0) {
    fprintf(stderr, "test-access: uid %d opened %s (flags %#x)\n", (int)getuid(), path, flags);
    close(fd);
    return false;
  }
  return errno == EACCES || errno == EPERM;
}

static int escalate_readonly(void *arg) {
  const char *obj = arg; /* /dev/shm/PREFIX.pub */
  shmv_client *mine;
  shmv_view *v;
  unsigned long lo, hi;
  char path[320], moved[340];
  long page = sysconf(_SC_PAGESIZE);
  int pidfd;

  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_view_open(mine, "pub", 0, SHMV_TO_END, 0, &v) == 0);
  CHILD_CHECK(memcmp(shmv_view_data(v), "hello", 5) == 0);
  /* The library refuses a writable view ... */
  {
    shmv_view *w;
    CHILD_CHECK(shmv_view_open(mine, "pub", 0, SHMV_TO_END, SHMV_WRITABLE, &w) == -EACCES);
  }
  /* ... and the kernel the mapping's own routes: mprotect, and reopening
   * the mapped file through /proc/self/map_files. */
  CHILD_CHECK(mprotect((void *)((uintptr_t)shmv_view_data(v) & ~(uintptr_t)(page - 1)),
                       (size_t)page, PROT_READ | PROT_WRITE) == -1);
  CHILD_CHECK(errno == EACCES);
  CHILD_CHECK(mapping_of(shmv_view_data(v), &lo, &hi));
  snprintf(path, sizeof path, "/proc/self/map_files/%lx-%lx", lo, hi);
  CHILD_CHECK(closed_to_me(path, O_RDWR));
  CHILD_CHECK(closed_to_me(path, O_RDONLY));

  /* The object by its name: the daemon's, 0600, in a sticky directory. */
  CHILD_CHECK(closed_to_me(obj, O_RDWR));
  CHILD_CHECK(closed_to_me(obj, O_RDONLY));
  CHILD_CHECK(closed_to_me(obj, O_WRONLY | O_TRUNC));
  CHILD_CHECK(chmod(obj, 0666) == -1 && errno == EPERM);
  CHILD_CHECK(truncate(obj, 0) == -1 && (errno == EACCES || errno == EPERM));
  CHILD_CHECK(unlink(obj) == -1 && (errno == EPERM || errno == EACCES));
  snprintf(moved, sizeof moved, "%s-moved", obj);
  CHILD_CHECK(rename(obj, moved) == -1 && (errno == EPERM || errno == EACCES));

  /* The daemon's descriptors: /proc/PID/fd and pidfd_getfd are for its
   * own uid and root. */
  snprintf(path, sizeof path, "/proc/%d/fd", (int)d.pid);
  CHILD_CHECK(opendir(path) == NULL && errno == EACCES);
  for (int fd = 0; fd < 64; fd++) {
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)d.pid, fd);
    CHILD_CHECK(open(path, O_RDWR | O_CLOEXEC) == -1);
  }
  snprintf(path, sizeof path, "/proc/%d/mem", (int)d.pid);
  CHILD_CHECK(closed_to_me(path, O_RDWR));
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  pidfd = (int)syscall(SYS_pidfd_open, d.pid, 0);
  if (pidfd >= 0) {
    for (int fd = 0; fd < 64; fd++)
      CHILD_CHECK(syscall(SYS_pidfd_getfd, pidfd, fd, 0) == -1 && errno == EPERM);
    close(pidfd);
  }
#else
  (void)pidfd;
#endif
  shmv_view_release(v);
  shmv_disconnect(mine);
  return 0;
}

/* A stranger's write through its read-only mapping is the kernel's
 * SIGSEGV. */
static int stranger_writes(void *arg) {
  shmv_client *mine;
  shmv_view *v;

  (void)arg;
  signal(SIGSEGV, SIG_DFL);
  if (shmv_connect(d.socket, &mine) != 0 || shmv_view_open(mine, "pub", 0, SHMV_TO_END, 0, &v) != 0)
    return 2;
  ((volatile char *)shmv_view_data(v))[1] = 'X';
  return 0;
}

START_TEST(readonly_escalation_as_strangers) {
  static const uid_t who[] = { HARNESS_NOBODY, HARNESS_NO_PASSWD };
  char obj[256];
  shmv_view *v;
  struct stat st;

  if (!harness_can_attack("test-access", "readonly_escalation_as_strangers"))
    return;
  harness_open_to_all(&d);
  ck_assert_int_eq(shmv_create(c, "pub", 8192, 0644), 0);
  ck_assert_int_eq(shmv_view_open(c, "pub", 0, 5, SHMV_WRITABLE, &v), 0);
  memcpy(shmv_view_data(v), "hello", 5);
  shmv_view_release(v);
  snprintf(obj, sizeof obj, "/dev/shm/%s.pub", d.prefix);

  for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
    int status = harness_run_as(who[i], who[i], stranger_writes, NULL);

    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
                  "uid %d's write through a read-only view was not SIGSEGV (status %#x)",
                  (int)who[i], status);
    ATTACK_OK(harness_run_as(who[i], who[i], escalate_readonly, obj), "read-only escalation");
  }
  /* Nothing changed: bytes, size, the object's owner and mode. */
  ck_assert_int_eq(shmv_view_open(c, "pub", 0, SHMV_TO_END, 0, &v), 0);
  ck_assert_uint_eq(shmv_view_length(v), 8192);
  ck_assert_mem_eq(shmv_view_data(v), "hello", 5);
  shmv_view_release(v);
  ck_assert_int_eq(stat(obj, &st), 0);
  ck_assert_uint_eq(st.st_uid, geteuid());
  ck_assert_uint_eq(st.st_mode & 07777, 0600);
  ck_assert_int_eq(st.st_size, 8192);
  ck_assert_int_eq(shmv_unlink(c, "pub"), 0);
}
END_TEST

/* Another uid may not unlink, resize, freeze or write a segment that is
 * not its own unless the mode says so; a uid with no passwd entry is no
 * different from nobody. */
static int strangers_hands_off(void *arg) {
  shmv_client *mine;
  shmv_view *v;
  shmv_segment_info info;

  (void)arg;
  CHILD_CHECK(shmv_connect(d.socket, &mine) == 0);
  CHILD_CHECK(shmv_unlink(mine, "root600") == -EPERM);
  CHILD_CHECK(shmv_unlink(mine, "root644") == -EPERM);
  CHILD_CHECK(shmv_unlink(mine, "root666") == -EPERM); /* write is not ownership */
  CHILD_CHECK(shmv_resize(mine, "root600", 1) == -EACCES);
  CHILD_CHECK(shmv_resize(mine, "root644", 1) == -EACCES);
  CHILD_CHECK(shmv_freeze(mine, "root644") == -EPERM);
  CHILD_CHECK(shmv_freeze(mine, "root666") == -EPERM);
  CHILD_CHECK(shmv_view_open(mine, "root600", 0, 1, 0, &v) == -EACCES);
  /* Root's group may read this one; a stranger is not in it. */
  CHILD_CHECK(shmv_view_open(mine, "root640", 0, 1, 0, &v) == -EACCES);
  CHILD_CHECK(shmv_view_open(mine, "root644", 0, 1, SHMV_WRITABLE, &v) == -EACCES);
  /* The name is taken: a create does not replace it. */
  CHILD_CHECK(shmv_create(mine, "root600", 10, 0666) == -EEXIST);
  CHILD_CHECK(shmv_stat(mine, "root600", &info) == 0 && info.uid == 0 && info.mode == 0600);
  shmv_disconnect(mine);
  return 0;
}

START_TEST(strangers_hands_off_segments) {
  static const uid_t who[] = { HARNESS_NOBODY, HARNESS_NO_PASSWD };
  shmv_segment_info info;

  if (!harness_can_attack("test-access", "strangers_hands_off_segments"))
    return;
  harness_open_to_all(&d);
  ck_assert_int_eq(shmv_create(c, "root600", 4096, 0600), 0);
  ck_assert_int_eq(shmv_create(c, "root644", 4096, 0644), 0);
  ck_assert_int_eq(shmv_create(c, "root666", 4096, 0666), 0);
  ck_assert_int_eq(shmv_create(c, "root640", 4096, 0640), 0);
  for (size_t i = 0; i < sizeof who / sizeof who[0]; i++)
    ATTACK_OK(harness_run_as(who[i], who[i], strangers_hands_off, NULL), "hands off");
  ck_assert_int_eq(shmv_stat(c, "root600", &info), 0);
  ck_assert_uint_eq(info.size, 4096);
  ck_assert_int_eq(info.frozen, 0);
  ck_assert_int_eq(shmv_stat(c, "root644", &info), 0);
  ck_assert_uint_eq(info.size, 4096);
  ck_assert_int_eq(shmv_stat(c, "root666", &info), 0);
  ck_assert_int_eq(info.frozen, 0);
  ck_assert_int_eq(shmv_unlink(c, "root600"), 0);
  ck_assert_int_eq(shmv_unlink(c, "root644"), 0);
  ck_assert_int_eq(shmv_unlink(c, "root666"), 0);
  ck_assert_int_eq(shmv_unlink(c, "root640"), 0);
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
  tcase_add_test(tc, what_strangers_see);
  tcase_add_test(tc, object_is_private);
  tcase_add_test(tc, readonly_escalation_as_strangers);
  tcase_add_test(tc, strangers_hands_off_segments);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(access_suite());
}

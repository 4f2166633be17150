/* SPDX-License-Identifier: MIT */
/*
 * test-trust.c: the daemon trusts nothing on disk that it did not make.
 *
 * Another user (nobody) plants objects under the daemon's prefix in
 * /dev/shm, a lock file, a state file or a symbolic link where the
 * temporary state file goes; a second daemon claims the same prefix from
 * another network namespace; the socket's directory is someone else's or
 * open to all. Each time the daemon must adopt only its own objects, leave
 * the rest alone (untouched, uncounted), and refuse to start rather than
 * use a directory or a prefix it cannot trust. Needs root (to become
 * nobody and to make a network namespace); skipped otherwise.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

#define NOBODY 65534

static struct harness_daemon d;

static bool have_root(const char *test) {
  if (geteuid() == 0)
    return true;
  fprintf(stderr, "test-trust: %s skipped: needs root\n", test);
  return false;
}

static void setup(void) {
  harness_daemon_start(&d, NULL);
}

static void teardown(void) {
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

static void stop_daemon(void) {
  kill(d.pid, SIGTERM);
  waitpid(d.pid, NULL, 0);
  d.pid = 0;
}

/* Restarts the daemon and connects; segment `name` is there, owned by
 * uid with the given mode. The caller disconnects. */
static shmv_client *restart_expect(const char *name, uid_t uid, unsigned mode) {
  shmv_client *c;
  shmv_segment_info info;

  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_stat(c, name, &info), 0);
  ck_assert_uint_eq(info.uid, uid);
  ck_assert_uint_eq(info.mode, mode);
  return c;
}

/* Run fn as nobody in a child; returns its exit status (0 = all good). */
static int as_nobody(int (*fn)(void *), void *arg) {
  pid_t pid = fork();
  int status;

  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
      _exit(100);
    _exit(fn(arg));
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void shm_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "/dev/shm/%s.%s", d.prefix, name);
}

/* A new object `name` under the daemon's prefix with exactly `mode`
 * (whatever the umask), open read-write; -1 on failure. */
static int plant_object(const char *name, mode_t mode) {
  char path[256];
  int fd;

  shm_path(path, sizeof path, name);
  fd = open(path, O_CREAT | O_EXCL | O_RDWR, mode);
  if (fd >= 0 && fchmod(fd, mode) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* nobody plants objects under the prefix: mode 0666 with data, a huge
 * sparse one, one 0600 (the daemon's mode, but not its owner). */
static int plant(void *arg) {
  int fd;

  (void)arg;
  fd = plant_object("planted", 0666);
  CHILD_CHECK(fd >= 0);
  CHILD_CHECK(write(fd, "planted", 7) == 7);
  close(fd);
  fd = plant_object("huge", 0600);
  CHILD_CHECK(fd >= 0);
  CHILD_CHECK(ftruncate(fd, (off_t)1 << 50) == 0);
  close(fd);
  fd = plant_object("mode600", 0600);
  CHILD_CHECK(fd >= 0);
  close(fd);
  return 0;
}

static void assert_owner(const char *name, uid_t uid, unsigned mode) {
  char path[256];
  struct stat st;

  shm_path(path, sizeof path, name);
  ck_assert_msg(lstat(path, &st) == 0, "%s is gone", path);
  ck_assert_uint_eq(st.st_uid, uid);
  ck_assert_uint_eq(st.st_mode & 07777, mode);
}

START_TEST(planted_objects_not_adopted) {
  shmv_client *c;
  shmv_segment_info info;
  shmv_status_info st;
  char path[256], victim[300];
  int fd;

  if (!have_root("planted_objects_not_adopted"))
    return;
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "real", 4096, 0640), 0);
  shmv_disconnect(c);
  stop_daemon();

  ck_assert_int_eq(as_nobody(plant, NULL), 0);
  /* Root's own file, but with two links: not one the daemon made. */
  shm_path(path, sizeof path, "linked");
  snprintf(victim, sizeof victim, "/dev/shm/%s-victim", d.prefix);
  fd = open(victim, O_CREAT | O_EXCL | O_RDWR, 0600);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert_int_eq(link(victim, path), 0);
  /* A symbolic link to a file of root's. */
  shm_path(path, sizeof path, "symlink");
  ck_assert_int_eq(symlink(victim, path), 0);

  c = restart_expect("real", 0, 0640);
  ck_assert_int_eq(shmv_stat(c, "planted", &info), -ENOENT);
  ck_assert_int_eq(shmv_stat(c, "huge", &info), -ENOENT);
  ck_assert_int_eq(shmv_stat(c, "mode600", &info), -ENOENT);
  ck_assert_int_eq(shmv_stat(c, "linked", &info), -ENOENT);
  ck_assert_int_eq(shmv_stat(c, "symlink", &info), -ENOENT);
  /* Not counted: only the real segment's bytes. */
  ck_assert_int_eq(shmv_status(c, &st), 0);
  ck_assert_uint_eq(st.segments, 1);
  ck_assert_uint_eq(st.bytes, 4096);
  /* Left alone: still nobody's, mode unchanged. */
  assert_owner("planted", NOBODY, 0666);
  assert_owner("huge", NOBODY, 0600);
  /* A create over a foreign object fails; the object stays its owner's. */
  ck_assert_int_eq(shmv_create(c, "planted", 10, 0600), -EEXIST);
  assert_owner("planted", NOBODY, 0666);
  /* The huge sparse file does not make creates fail. */
  ck_assert_int_eq(shmv_create(c, "after", 1 << 20, 0600), 0);
  shmv_disconnect(c);
  unlink(victim);
}
END_TEST

/* A record in the state file whose object was replaced by someone else's
 * is dropped, and the object left alone. */
static int replace_object(void *arg) {
  int fd;

  (void)arg;
  fd = plant_object("replaced", 0666);
  CHILD_CHECK(fd >= 0);
  close(fd);
  return 0;
}

START_TEST(recorded_name_replaced) {
  shmv_client *c;
  shmv_segment_info info;
  char path[256];

  if (!have_root("recorded_name_replaced"))
    return;
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "replaced", 4096, 0644), 0);
  shmv_disconnect(c);
  harness_daemon_kill(&d);
  shm_path(path, sizeof path, "replaced");
  ck_assert_int_eq(unlink(path), 0);
  ck_assert_int_eq(as_nobody(replace_object, NULL), 0);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_stat(c, "replaced", &info), -ENOENT);
  assert_owner("replaced", NOBODY, 0666);
  shmv_disconnect(c);
}
END_TEST

/* ---- daemons that must refuse to start ---- */

/* Run $SHMVIEWD with args (its stderr into log) in a child that first
 * leaves the network namespace when newnet is set. Returns its exit
 * status, or -1 if it was still running after 10 s (then killed). */
static int run_daemon(const char *const *args, const char *log, bool newnet) {
  const char *argv[32];
  int n = 0, status;
  pid_t pid;

  argv[n++] = getenv("SHMVIEWD");
  for (int i = 0; args[i] != NULL && n < 30; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (fd >= 0)
      dup2(fd, 2);
    if (newnet && unshare(CLONE_NEWNET) != 0)
      _exit(120);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  for (int i = 0; i < 1000; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    usleep(10 * 1000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

/* The first cap - 1 bytes of a file, as a string. */
static void read_text(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  size_t n;

  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  n = fread(buf, 1, cap - 1, f);
  fclose(f);
  buf[n] = '\0';
}

static void assert_log_has(const char *log, const char *what) {
  char buf[4096];

  read_text(log, buf, sizeof buf);
  ck_assert_msg(strstr(buf, what) != NULL, "the log lacks \"%s\": %s", what, buf);
}

START_TEST(prefix_with_dot_refused) {
  char log[300], prefix[128], sock[300];
  const char *args[] = { "--socket", sock, "--prefix", prefix, NULL };

  snprintf(log, sizeof log, "%s/dot.log", d.dir);
  snprintf(sock, sizeof sock, "%s/dot.sock", d.dir);
  /* Would see d's segments named x.* */
  snprintf(prefix, sizeof prefix, "%s.x", d.prefix);
  ck_assert_int_eq(run_daemon(args, log, false), 2);
  assert_log_has(log, "not a valid prefix");
}
END_TEST

/* Under PrivateNetwork= a second daemon does not see an abstract socket;
 * it must still see the running daemon's lock. */
START_TEST(prefix_lock_across_namespaces) {
  char log[300], sock[300];
  const char *args[] = { "--socket", sock, "--prefix", d.prefix, NULL };
  shmv_client *c;
  shmv_segment_info info;

  if (!have_root("prefix_lock_across_namespaces"))
    return;
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "mine", 100, 0640), 0);
  snprintf(log, sizeof log, "%s/second.log", d.dir);
  snprintf(sock, sizeof sock, "%s/second.sock", d.dir);
  ck_assert_int_eq(run_daemon(args, log, true), 1);
  assert_log_has(log, "another shmviewd already uses the prefix");
  ck_assert_int_eq(run_daemon(args, log, false), 1);
  /* The first daemon's segment is as it was. */
  ck_assert_int_eq(shmv_stat(c, "mine", &info), 0);
  ck_assert_uint_eq(info.mode, 0640);
  shmv_disconnect(c);
}
END_TEST

static int plant_lock(void *arg) {
  int fd = open(arg, O_CREAT | O_EXCL | O_RDWR, 0666);

  CHILD_CHECK(fd >= 0);
  CHILD_CHECK(fchmod(fd, 0666) == 0);
  close(fd);
  return 0;
}

START_TEST(planted_lock_refused) {
  char log[300], sock[300], lock[300], prefix[128];
  const char *args[] = { "--socket", sock, "--prefix", prefix, NULL };

  if (!have_root("planted_lock_refused"))
    return;
  snprintf(prefix, sizeof prefix, "%sL", d.prefix);
  snprintf(lock, sizeof lock, "/dev/shm/%s..lock", prefix);
  snprintf(log, sizeof log, "%s/lock.log", d.dir);
  snprintf(sock, sizeof sock, "%s/lock.sock", d.dir);
  ck_assert_int_eq(as_nobody(plant_lock, lock), 0);
  ck_assert_int_eq(run_daemon(args, log, false), 1);
  assert_log_has(log, "is not this daemon's");
  unlink(lock);
}
END_TEST

/* nobody, after a clean stop, tries to take the lock's name: the file is
 * still the daemon's, and /dev/shm is sticky. */
static int replant_lock(void *arg) {
  int fd = open(arg, O_CREAT | O_EXCL | O_RDWR, 0666);

  if (fd >= 0)
    close(fd);
  CHILD_CHECK(fd < 0 && errno == EEXIST);
  CHILD_CHECK(unlink(arg) != 0 && errno == EPERM);
  return 0;
}

/* The lock file outlives a clean stop, so no one can plant it between a
 * stop and the next start. */
START_TEST(lock_kept_after_stop) {
  char lock[300];
  struct stat st;

  if (!have_root("lock_kept_after_stop"))
    return;
  snprintf(lock, sizeof lock, "/dev/shm/%s..lock", d.prefix);
  stop_daemon();
  ck_assert_msg(lstat(lock, &st) == 0, "%s is gone after a clean stop", lock);
  ck_assert_uint_eq(st.st_uid, geteuid());
  ck_assert_uint_eq(st.st_mode & 07777, 0600);
  ck_assert_int_eq(as_nobody(replant_lock, lock), 0);
  /* The daemon takes its own file again. */
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(lstat(lock, &st), 0);
  ck_assert_uint_eq(st.st_uid, geteuid());
}
END_TEST

static void make_dir(char *buf, size_t cap, const char *name, unsigned mode, uid_t uid) {
  snprintf(buf, cap, "%s/%s", d.dir, name);
  ck_assert_int_eq(mkdir(buf, 0700), 0);
  ck_assert_int_eq(chown(buf, uid, (gid_t)-1), 0);
  ck_assert_int_eq(chmod(buf, mode), 0);
}

START_TEST(socket_dir_checked) {
  char dir[300], sock[320], log[300], prefix[128];
  const char *args[] = { "--socket", sock, "--prefix", prefix, NULL };
  struct stat st;

  if (!have_root("socket_dir_checked"))
    return;
  snprintf(prefix, sizeof prefix, "%sS", d.prefix);
  snprintf(log, sizeof log, "%s/dir.log", d.dir);

  /* Someone else's directory. */
  make_dir(dir, sizeof dir, "nobodys", 0700, NOBODY);
  snprintf(sock, sizeof sock, "%s/s.sock", dir);
  ck_assert_int_eq(run_daemon(args, log, false), 1);
  assert_log_has(log, "is owned by uid 65534");

  /* Writable by everyone (a shared /tmp, sticky or not). */
  make_dir(dir, sizeof dir, "open", 01777, 0);
  snprintf(sock, sizeof sock, "%s/s.sock", dir);
  ck_assert_int_eq(run_daemon(args, log, false), 1);
  assert_log_has(log, "is writable by everyone");

  /* A symbolic link to a good directory is not the directory. */
  make_dir(dir, sizeof dir, "good", 0700, 0);
  snprintf(sock, sizeof sock, "%s/link/s.sock", d.dir);
  {
    char link[320];

    snprintf(link, sizeof link, "%s/link", d.dir);
    ck_assert_int_eq(symlink(dir, link), 0);
  }
  ck_assert_int_eq(run_daemon(args, log, false), 1);
  assert_log_has(log, "link is a symbolic link (owned by uid 0) to ");
  assert_log_has(log, "name the directory itself");

  /* An explicit --state in an open directory. */
  {
    char state[320], odir[300];
    const char *sargs[] = { "--socket", sock, "--prefix", prefix, "--state", state, NULL };

    snprintf(sock, sizeof sock, "%s/s.sock", dir);
    make_dir(odir, sizeof odir, "openstate", 0777, 0);
    snprintf(state, sizeof state, "%s/st.state", odir);
    ck_assert_int_eq(run_daemon(sargs, log, false), 1);
    assert_log_has(log, "state file directory");
  }

  /* A missing directory is made, 0700, and used. */
  snprintf(sock, sizeof sock, "%s/made/s.sock", d.dir);
  {
    struct harness_daemon e = d;
    char made[320];

    snprintf(made, sizeof made, "%s/made", d.dir);
    ck_assert_int_lt(snprintf(e.socket, sizeof e.socket, "%s", sock), (int)sizeof e.socket);
    ck_assert_int_lt(snprintf(e.prefix, sizeof e.prefix, "%s", prefix), (int)sizeof e.prefix);
    harness_daemon_restart(&e, NULL);
    ck_assert_int_eq(stat(made, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0700);
    ck_assert_uint_eq(st.st_uid, 0);
    kill(e.pid, SIGTERM);
    waitpid(e.pid, NULL, 0);
  }
}
END_TEST

/* ---- the state file ---- */

static void state_path(char *buf, size_t cap, const char *suffix) {
  int n = snprintf(buf, cap, "%s/%s.state%s", d.dir, d.prefix, suffix);
  ck_assert(n >= 0 && (size_t)n < cap);
}

/* A state file someone else wrote (as a shared /tmp/shmview.state could
 * be): its owners and modes are not believed. */
START_TEST(foreign_state_file_ignored) {
  shmv_client *c;
  char path[320], aside[340];
  FILE *f;

  if (!have_root("foreign_state_file_ignored"))
    return;
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "secret", 100, 0600), 0);
  shmv_disconnect(c);
  stop_daemon();

  state_path(path, sizeof path, "");
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "shmview-state 1\n+ secret 100 %u %u 666 1 0\n", NOBODY, NOBODY);
  fclose(f);
  ck_assert_int_eq(chown(path, NOBODY, NOBODY), 0);

  c = restart_expect("secret", 0, 0600);
  shmv_disconnect(c);
  state_path(aside, sizeof aside, ".untrusted");
  ck_assert_int_eq(access(aside, F_OK), 0);

  /* A group-writable one of ours is no better. */
  stop_daemon();
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "shmview-state 1\n+ secret 100 %u %u 666 1 0\n", NOBODY, NOBODY);
  fclose(f);
  ck_assert_int_eq(chmod(path, 0620), 0);
  c = restart_expect("secret", 0, 0600);
  shmv_disconnect(c);
}
END_TEST

/* A symbolic link where the temporary file goes: the daemon must not
 * write through it, and the state file stays a regular file. */
START_TEST(tmp_symlink_not_followed) {
  shmv_client *c;
  char path[320], tmp[340], victim[320], buf[32];
  struct stat st;
  FILE *f;

  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "kept", 100, 0640), 0);
  shmv_disconnect(c);
  stop_daemon();

  snprintf(victim, sizeof victim, "%s/victim", d.dir);
  f = fopen(victim, "w");
  ck_assert_ptr_nonnull(f);
  fputs("precious", f);
  fclose(f);
  state_path(tmp, sizeof tmp, ".tmp");
  ck_assert_int_eq(symlink(victim, tmp), 0);
  /* And the state file itself a link to the victim, as a planter who got
   * there first might leave it. */

  c = restart_expect("kept", geteuid(), 0640);
  shmv_disconnect(c);
  read_text(victim, buf, sizeof buf);
  ck_assert_str_eq(buf, "precious");
  state_path(path, sizeof path, "");
  ck_assert_int_eq(lstat(path, &st), 0);
  ck_assert(S_ISREG(st.st_mode));
  ck_assert_uint_eq(st.st_mode & 07777, 0600);

  /* The state file a symbolic link: set aside, the victim untouched. */
  stop_daemon();
  ck_assert_int_eq(unlink(path), 0);
  ck_assert_int_eq(symlink(victim, path), 0);
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_create(c, "more", 100, 0640), 0);
  shmv_disconnect(c);
  read_text(victim, buf, sizeof buf);
  ck_assert_str_eq(buf, "precious");
  ck_assert_int_eq(lstat(path, &st), 0);
  ck_assert(S_ISREG(st.st_mode));
}
END_TEST

/* ---- the same plants, made by the other users themselves ----
 *
 * The tests above make some plants as root and give them away (chown);
 * here real processes of nobody and of a uid with no passwd entry make
 * them where those users can: in a shared directory (1777, as /tmp) and in
 * /dev/shm. */

struct plants {
  char shared[128]; /* the 1777 directory */
  char good[300];   /* a directory of root's, 0700 */
  char victim[300]; /* a file of root's */
  char sym[256];    /* /dev/shm/PREFIX.NAME, a symbolic link to victim */
  char obj[256];    /* /dev/shm/PREFIX.NAME, a 0644 object */
};

static int plant_dirs_and_links(void *arg) {
  const struct plants *p = arg;
  char path[300];
  int fd;

  snprintf(path, sizeof path, "%s/u%d-own", p->shared, (int)getuid());
  CHILD_CHECK(mkdir(path, 0700) == 0);
  snprintf(path, sizeof path, "%s/u%d-open", p->shared, (int)getuid());
  CHILD_CHECK(mkdir(path, 0777) == 0 && chmod(path, 0777) == 0);
  snprintf(path, sizeof path, "%s/u%d-link", p->shared, (int)getuid());
  CHILD_CHECK(symlink(p->good, path) == 0);
  CHILD_CHECK(symlink(p->victim, p->sym) == 0 || errno == EEXIST);
  fd = open(p->obj, O_CREAT | O_EXCL | O_RDWR, 0644);
  CHILD_CHECK((fd >= 0 && fchmod(fd, 0644) == 0) || errno == EEXIST);
  if (fd >= 0) {
    CHILD_CHECK(write(fd, "planted", 7) == 7);
    close(fd);
  }
  return 0;
}

START_TEST(strangers_plant_dirs_and_links) {
  static const uid_t who[] = { HARNESS_NOBODY, HARNESS_NO_PASSWD };
  struct plants p;
  char log[300], sock[320], prefix[128], buf[32];
  const char *args[] = { "--socket", sock, "--prefix", prefix, NULL };
  shmv_client *c;
  shmv_segment_info info;
  struct stat st;
  FILE *f;

  if (!harness_can_attack("test-trust", "strangers_plant_dirs_and_links"))
    return;
  memset(&p, 0, sizeof p);
  /* Named with the run's id, so that the harness sweeps it after a failure. */
  snprintf(p.shared, sizeof p.shared, "/tmp/shmvt%s-plant-XXXXXX", getenv("SHMVIEW_TEST_RUN"));
  ck_assert_ptr_nonnull(mkdtemp(p.shared));
  ck_assert_int_eq(chmod(p.shared, 01777), 0);
  snprintf(p.good, sizeof p.good, "%s/good", d.dir);
  ck_assert_int_eq(mkdir(p.good, 0700), 0);
  snprintf(p.victim, sizeof p.victim, "%s/victim", d.dir);
  f = fopen(p.victim, "w");
  ck_assert_ptr_nonnull(f);
  fputs("precious", f);
  fclose(f);
  shm_path(p.sym, sizeof p.sym, "nsym");
  shm_path(p.obj, sizeof p.obj, "nobj");
  snprintf(prefix, sizeof prefix, "%sP", d.prefix);
  snprintf(log, sizeof log, "%s/plant.log", d.dir);
  stop_daemon();

  for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
    static const char *const kinds[] = { "own", "open", "link" };

    ATTACK_OK(harness_run_as(who[i], who[i], plant_dirs_and_links, &p), "planting");
    /* A daemon told to put its socket in any of them refuses to start,
     * and leaves nothing there. */
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
      snprintf(sock, sizeof sock, "%s/u%d-%s/s.sock", p.shared, (int)who[i], kinds[k]);
      ck_assert_msg(run_daemon(args, log, false) == 1, "the daemon used %s", sock);
      ck_assert_msg(lstat(sock, &st) == -1 && errno == ENOENT, "%s was made", sock);
    }
  }
  /* The good directory behind the links got nothing either. */
  snprintf(sock, sizeof sock, "%s/s.sock", p.good);
  ck_assert_int_eq(lstat(sock, &st), -1);

  /* The daemon, restarted over the plants in /dev/shm, adopts neither,
   * writes nothing through the link, and will not create over them. */
  harness_daemon_restart(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
  ck_assert_int_eq(shmv_stat(c, "nsym", &info), -ENOENT);
  ck_assert_int_eq(shmv_stat(c, "nobj", &info), -ENOENT);
  ck_assert_int_eq(shmv_create(c, "nsym", 4096, 0600), -EEXIST);
  ck_assert_int_eq(shmv_create(c, "nobj", 4096, 0600), -EEXIST);
  /* The answer names the object and its owner, the first planter. */
  ck_assert_msg(strstr(shmv_last_error(c), p.obj) != NULL &&
                    strstr(shmv_last_error(c), "owned by uid 65534") != NULL,
                "the EEXIST answer does not name the planter: %s", shmv_last_error(c));
  shmv_disconnect(c);
  read_text(p.victim, buf, sizeof buf);
  ck_assert_str_eq(buf, "precious");
  assert_owner("nobj", HARNESS_NOBODY, 0644);
  ck_assert_int_eq(lstat(p.sym, &st), 0);
  ck_assert(S_ISLNK(st.st_mode));
  unlink(p.sym);
  unlink(p.obj);
  for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
    snprintf(sock, sizeof sock, "%s/u%d-own", p.shared, (int)who[i]);
    rmdir(sock);
    snprintf(sock, sizeof sock, "%s/u%d-open", p.shared, (int)who[i]);
    rmdir(sock);
    snprintf(sock, sizeof sock, "%s/u%d-link", p.shared, (int)who[i]);
    unlink(sock);
  }
  ck_assert_int_eq(rmdir(p.shared), 0);
}
END_TEST

static Suite *trust_suite(void) {
  Suite *s = suite_create("trust");
  TCase *tc = tcase_create("trust");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, planted_objects_not_adopted);
  tcase_add_test(tc, recorded_name_replaced);
  tcase_add_test(tc, prefix_with_dot_refused);
  tcase_add_test(tc, prefix_lock_across_namespaces);
  tcase_add_test(tc, planted_lock_refused);
  tcase_add_test(tc, lock_kept_after_stop);
  tcase_add_test(tc, socket_dir_checked);
  tcase_add_test(tc, foreign_state_file_ignored);
  tcase_add_test(tc, tmp_symlink_not_followed);
  tcase_add_test(tc, strangers_plant_dirs_and_links);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(trust_suite());
}

/* SPDX-License-Identifier: MIT */
/*
 * test-namespaces.c: clients and daemons in user, pid, network and mount
 * namespaces, with real namespaces (unshare(2), and unshare(1) for the
 * daemon, as docs/containers.md runs it).
 *
 * - A client that is root in its own user namespace over host uid 60001,
 *   in its own pid, network and mount namespaces with a 64 MiB tmpfs on
 *   its /dev/shm, reaching only the socket: what it makes the host sees as
 *   uid 60001's; a segment bigger than its /dev/shm is written and read
 *   back whole; root's 0600 segment stays closed to it.
 * - Holders seen from inside a pid namespace show that namespace's pids
 *   (of a process in a namespace below it too) and no pid for processes it
 *   does not see (the host's, a sibling namespace's); the host sees host
 *   pids.
 * - A daemon under `unshare --user --map-root-user` refuses to start,
 *   saying why; under `unshare --pid --fork` it starts, serves the clients
 *   of its namespace and refuses those outside it. With
 *   --allow-namespaces it starts in the user namespace and refuses clients
 *   whose uid it cannot tell apart, and serves the clients outside its pid
 *   namespace with no pid.
 *
 * All of it needs root (to become uid 60001 and to map ids); otherwise
 * each test prints one "skipped:" line and passes.
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
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

#define NS_UID   HARNESS_NO_PASSWD /* 60001: the host uid a namespace's root maps to */
#define NS_OTHER 60002
#define BIG      ((size_t)96 << 20) /* more than the namespace's 64 MiB /dev/shm */

static struct harness_daemon d;
static shmv_client *c;

static void setup(void) {
  /* The big segment is 3/8 of nothing here: no quota or total to trip on
   * a host with a small /dev/shm (the test checks the room it needs). */
  static const char *const args[] = { "--quota-bytes", "0", "--max-total-size", "0", NULL };

  harness_daemon_start(&d, args);
  harness_open_to_all(&d);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
}

static void teardown(void) {
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return -1;
  n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In a child: become host uid `uid`, then root of a new user namespace
 * mapping 0 to it (as `setpriv --reuid=UID ... unshare --user
 * --map-root-user`), with the other namespaces in `flags`. 0 or -1. */
static int enter_userns(uid_t uid, int flags) {
  char map[64];

  if (harness_become(uid, uid) != 0)
    return -1;
  /* Dropping root made us undumpable, and our /proc files root's: take
   * them back to write our own maps. */
  if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0 || unshare(CLONE_NEWUSER | flags) != 0)
    return -1;
  snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
  if (write_file("/proc/self/setgroups", "deny") != 0 ||
      write_file("/proc/self/uid_map", map) != 0 || write_file("/proc/self/gid_map", map) != 0)
    return -1;
  return getuid() == 0 ? 0 : -1;
}

/* Wait for pid; its exit code, or 200 + signal. */
static int wait_code(pid_t pid) {
  int st;

  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return 250;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

/* A byte pattern that differs page to page and byte to byte. */
static unsigned char pattern(size_t i) {
  return (unsigned char)((i >> 12) * 7 + i);
}

/* ---- a client in user, pid, network and mount namespaces ---- */

/* Root of its namespaces, over host uid 60001, with a 64 MiB /dev/shm. */
static int contained_client(void) {
  shmv_client *nc;
  shmv_segment_info info;
  shmv_view *v;
  struct statvfs sv;
  unsigned char *p;

  CHILD_CHECK(getuid() == 0 && getpid() == 1);
  CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
  CHILD_CHECK(mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m") == 0);
  CHILD_CHECK(statvfs("/dev/shm", &sv) == 0 && (uint64_t)sv.f_blocks * sv.f_frsize <= 64u << 20);
  CHILD_CHECK(shmv_connect(d.socket, &nc) == 0);

  /* Made here, owned on the host by the uid the kernel maps us to. */
  CHILD_CHECK(shmv_create(nc, "ns-small", 4096, 0644) == 0);
  CHILD_CHECK(shmv_view_open(nc, "ns-small", 0, SHMV_TO_END, SHMV_WRITABLE, &v) == 0);
  memcpy(shmv_view_data(v), "from the namespace", 19);
  shmv_view_release(v);
  CHILD_CHECK(shmv_stat(nc, "ns-small", &info) == 0 && info.uid == NS_UID);

  /* Bigger than our /dev/shm: the daemon's memory, written and read back
   * whole where a tmpfs-backed SharedMemory would die of SIGBUS. */
  CHILD_CHECK(shmv_view_create(nc, "ns-big", BIG, 0644, 0, &v) == 0);
  CHILD_CHECK(shmv_view_length(v) == BIG);
  p = shmv_view_data(v);
  for (size_t i = 0; i < BIG; i++)
    p[i] = pattern(i);
  for (size_t i = 0; i < BIG; i++)
    CHILD_CHECK(p[i] == pattern(i));
  shmv_view_release(v);

  /* Root here is uid 60001 to the daemon: root's 0600 segment is closed. */
  CHILD_CHECK(shmv_view_open(nc, "root-only", 0, SHMV_TO_END, 0, &v) == -EACCES);
  CHILD_CHECK(shmv_unlink(nc, "root-only") == -EPERM);
  shmv_disconnect(nc);
  return 0;
}

static int contained(void *arg) {
  pid_t init;

  (void)arg;
  if (enter_userns(NS_UID, CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS) != 0)
    return 90;
  init = fork(); /* pid 1 of the new pid namespace */
  if (init < 0)
    return 91;
  if (init == 0)
    _exit(contained_client());
  return wait_code(init);
}

START_TEST(client_in_namespaces) {
  shmv_segment_info info;
  shmv_view *v;
  struct statvfs sv;
  const unsigned char *p;
  int code;

  if (!harness_can_attack("test-namespaces", "client_in_namespaces"))
    return;
  if (statvfs("/dev/shm", &sv) != 0 || (uint64_t)sv.f_bavail * sv.f_frsize < 2 * BIG) {
    printf("test-namespaces: client_in_namespaces skipped: /dev/shm has less than %zu MiB free\n",
           2 * BIG >> 20);
    return;
  }
  OK(shmv_view_create(c, "root-only", 4096, 0600, 0, &v));
  memcpy(shmv_view_data(v), "root's", 7);
  shmv_view_release(v);

  code = harness_run_child(contained, NULL);
  ck_assert_msg(WIFEXITED(code) && WEXITSTATUS(code) == 0,
                "the contained client's checks failed (status %#x; see its stderr)", code);

  /* The host sees what it made, as uid 60001's, whole. */
  OK(shmv_stat(c, "ns-small", &info));
  ck_assert_uint_eq(info.uid, NS_UID);
  OK(shmv_view_open(c, "ns-small", 0, SHMV_TO_END, 0, &v));
  ck_assert_str_eq(shmv_view_data(v), "from the namespace");
  shmv_view_release(v);
  OK(shmv_stat(c, "ns-big", &info));
  ck_assert_uint_eq(info.uid, NS_UID);
  ck_assert_uint_eq(info.size, BIG);
  OK(shmv_view_open(c, "ns-big", 0, SHMV_TO_END, 0, &v));
  p = shmv_view_data(v);
  for (size_t i = 0; i < BIG; i += 4093)
    ck_assert_msg(p[i] == pattern(i), "byte %zu of ns-big", i);
  ck_assert(p[BIG - 1] == pattern(BIG - 1));
  shmv_view_release(v);
  OK(shmv_stat(c, "root-only", &info)); /* still there */
  OK(shmv_unlink(c, "ns-big"));
  OK(shmv_unlink(c, "ns-small"));
}
END_TEST

/* ---- holders' pids as the asker's pid namespace sees them ---- */

/* A process named comm holding a view of "seg" until killed. */
static int hold_view(const char *comm) {
  shmv_client *hc;
  shmv_view *v;

  prctl(PR_SET_NAME, comm, 0, 0, 0);
  CHILD_CHECK(shmv_connect(d.socket, &hc) == 0);
  CHILD_CHECK(shmv_view_open(hc, "seg", 0, 4096, 0, &v) == 0);
  return 0;
}

static int host_holder(void *arg) {
  (void)arg;
  return hold_view("host-holder");
}

/* Fork a holder named comm; say on fd `ready` once it holds its view
 * (its pid as our namespace numbers it, 4 bytes). */
static pid_t fork_holder(const char *comm, int ready) {
  int p[2];
  pid_t pid;
  char b;

  if (pipe(p) != 0)
    return -1;
  pid = fork();
  if (pid == 0) {
    close(p[0]);
    if (hold_view(comm) != 0)
      _exit(1);
    harness_say(p[1], 'r');
    pause();
    _exit(0);
  }
  close(p[1]);
  if (pid < 0 || read(p[0], &b, 1) != 1) {
    close(p[0]);
    return -1;
  }
  close(p[0]);
  if (ready >= 0 && write(ready, &pid, sizeof pid) != sizeof pid)
    return -1;
  return pid;
}

static const shmv_holder_info *find_holder(const shmv_holder_info *h, size_t n, const char *comm) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(h[i].comm, comm) == 0)
      return &h[i];
  return NULL;
}

/* The line of `shmview [--json] list --holders` (run here) naming comm
 * has want as its pid: "-" in the table, "null" in JSON. */
static bool cli_pid_shown(bool json, const char *comm, const char *want) {
  char cmd[512], line[512], pat[64];
  bool found = false;
  FILE *f;

  snprintf(cmd, sizeof cmd, "'%s' --socket '%s' %s list --holders", getenv("SHMVIEW_CLI"), d.socket,
           json ? "--json" : "");
  f = popen(cmd, "r");
  if (f == NULL)
    return false;
  while (fgets(line, sizeof line, f) != NULL) {
    char name[64], pid[32];

    if (strstr(line, comm) == NULL)
      continue;
    if (json) {
      snprintf(pat, sizeof pat, "\"pid\": %s,", want);
      found = strstr(line, pat) != NULL;
    } else {
      found = sscanf(line, "%63s %31s", name, pid) == 2 && strcmp(pid, want) == 0;
    }
  }
  return pclose(f) == 0 && found;
}

static const shmv_holder_info *find_holder_uid(const shmv_holder_info *h, size_t n, uid_t uid) {
  for (size_t i = 0; i < n; i++)
    if (h[i].uid == uid)
      return &h[i];
  return NULL;
}

/* Pipes between the test and the namespace's init. */
struct ns_pipes {
  int up[2];   /* init -> test: the nested holder's pid in init's namespace, then a verdict */
  int down[2]; /* test -> init: the host has looked; end */
};

/* pid 1 of a pid namespace over uid 60001: hold a view in a namespace
 * below (so the holder is 3 levels down from the daemon's), then ask who
 * holds "seg" and check the pids it is shown. */
static int ns_init(struct ns_pipes *pp) {
  shmv_client *nc;
  shmv_holder_info *h;
  const shmv_holder_info *e;
  size_t n;
  pid_t inner, nested = -1;
  char want[16];
  int p[2];

  CHILD_CHECK(getpid() == 1);
  /* A child that makes a pid namespace of its own and forks the holder
   * there: its fork() says the holder's pid in our namespace. */
  CHILD_CHECK(pipe(p) == 0);
  inner = fork();
  CHILD_CHECK(inner >= 0);
  if (inner == 0) {
    close(p[0]);
    if (unshare(CLONE_NEWPID) != 0 || fork_holder("nested-holder", p[1]) < 0)
      _exit(1);
    pause();
    _exit(0);
  }
  close(p[1]);
  CHILD_CHECK(read(p[0], &nested, sizeof nested) == sizeof nested);
  CHILD_CHECK(nested > 1);
  CHILD_CHECK(write(pp->up[1], &nested, sizeof nested) == sizeof nested);

  CHILD_CHECK(shmv_connect(d.socket, &nc) == 0);
  CHILD_CHECK(shmv_holders(nc, "seg", &h, &n) == 0);
  CHILD_CHECK(n == 3);
  e = find_holder(h, n, "nested-holder");
  CHILD_CHECK(e != NULL && e->pid == nested && e->uid == NS_UID);
  e = find_holder(h, n, "host-holder"); /* not in our namespace */
  CHILD_CHECK(e != NULL && e->pid == 0 && e->uid == 0);
  e = find_holder(h, n, "sibling-holder"); /* in a namespace beside ours */
  CHILD_CHECK(e != NULL && e->pid == 0 && e->uid == NS_UID);
  shmv_holders_free(h);
  shmv_disconnect(nc);
  /* The CLI says so: no pid, not a 0 that could be taken for one. */
  CHILD_CHECK(cli_pid_shown(false, "host-holder", "-"));
  CHILD_CHECK(cli_pid_shown(true, "host-holder", "null"));
  snprintf(want, sizeof want, "%d", (int)nested);
  CHILD_CHECK(cli_pid_shown(false, "nested-holder", want));
  harness_say(pp->up[1], 'k');
  harness_hear(pp->down[0]);
  kill(-1, SIGKILL); /* every process of our namespace but us */
  return 0;
}

/* Root of a user and pid namespace over uid 60001, forking pid 1 there. */
static int ns_root(void *arg) {
  struct ns_pipes *pp = arg;
  pid_t init;

  if (enter_userns(NS_UID, CLONE_NEWPID) != 0)
    return 90;
  init = fork();
  if (init < 0)
    return 91;
  if (init == 0)
    _exit(ns_init(pp));
  return wait_code(init);
}

/* A holder in a pid namespace of its own, beside the other. */
static int sibling_root(void *arg) {
  int *ready = arg;
  pid_t init;

  if (enter_userns(NS_UID, CLONE_NEWPID) != 0)
    _exit(90);
  init = fork();
  if (init == 0) {
    if (hold_view("sibling-holder") != 0)
      _exit(1);
    harness_say(*ready, 'r');
    pause();
    _exit(0);
  }
  _exit(wait_code(init));
}

/* The pid in the host's namespace of the process holding as comm. */
static pid_t host_pid_of(const char *comm) {
  shmv_holder_info *h;
  const shmv_holder_info *e;
  size_t n;
  pid_t pid;

  OK(shmv_holders(c, "seg", &h, &n));
  e = find_holder(h, n, comm);
  ck_assert_msg(e != NULL, "no holder named %s", comm);
  pid = e->pid;
  shmv_holders_free(h);
  return pid;
}

/* The last pid on /proc/PID/status's NSpid: line: its pid in its own
 * namespace. */
static pid_t own_ns_pid(pid_t pid) {
  char path[64], line[256];
  const char *last;
  FILE *f;
  pid_t found = -1;

  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  f = fopen(path, "re");
  ck_assert_ptr_nonnull(f);
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "NSpid:", 6) == 0) {
      last = strrchr(line, '\t') != NULL ? strrchr(line, '\t') : line + 6;
      found = (pid_t)atoi(last);
    }
  fclose(f);
  return found;
}

START_TEST(holders_pids_per_namespace) {
  struct ns_pipes pp;
  int sib_ready[2];
  pid_t host, sibling, root, nested, pid;
  char verdict = 0;

  if (!harness_can_attack("test-namespaces", "holders_pids_per_namespace"))
    return;
  OK(shmv_create(c, "seg", 4096, 0644));
  host = harness_start_holder(host_holder, NULL);

  ck_assert_int_eq(pipe(sib_ready), 0);
  sibling = fork();
  ck_assert_int_ge(sibling, 0);
  if (sibling == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(sib_ready[0]);
    sibling_root(&sib_ready[1]);
  }
  close(sib_ready[1]);
  ck_assert_int_eq(harness_hear(sib_ready[0]), 'r');
  close(sib_ready[0]);

  ck_assert_int_eq(pipe(pp.up), 0);
  ck_assert_int_eq(pipe(pp.down), 0);
  root = fork();
  ck_assert_int_ge(root, 0);
  if (root == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(pp.up[0]);
    close(pp.down[1]);
    _exit(ns_root(&pp));
  }
  close(pp.up[1]);
  close(pp.down[0]);
  ck_assert_int_eq(read(pp.up[0], &nested, sizeof nested), (ssize_t)sizeof nested);
  /* 'k' once its checks passed; nothing (EOF) if they failed. */
  ck_assert_msg(read(pp.up[0], &verdict, 1) == 1 && verdict == 'k',
                "inside the pid namespace, holders showed the wrong pids (see stderr)");

  /* The host sees host pids: its own holder's, and the others' as host
   * pids of the processes that are, in their namespaces, those holders. */
  ck_assert_int_eq(host_pid_of("host-holder"), host);
  pid = host_pid_of("nested-holder");
  ck_assert_int_gt(pid, 0);
  ck_assert_int_ne(pid, nested);
  ck_assert_int_eq(own_ns_pid(pid), 1); /* the first process of its own namespace */
  pid = host_pid_of("sibling-holder");
  ck_assert_int_gt(pid, 1);
  ck_assert_int_eq(own_ns_pid(pid), 1);

  harness_say(pp.down[1], 'e');
  ck_assert_int_eq(wait_code(root), 0);
  close(pp.up[0]);
  close(pp.down[1]);
  kill(sibling, SIGKILL);
  wait_code(sibling);
  kill(host, SIGKILL);
  wait_code(host);
}
END_TEST

/* ---- a daemon in namespaces ---- */

/* Whether unshare(1) is here; else one "skipped:" line. */
static bool have_unshare(const char *test) {
  if (system("unshare --version >/dev/null 2>&1") == 0)
    return true;
  printf("test-namespaces: %s skipped: no unshare(1)\n", test);
  return false;
}

/* Run `unshare UNSHARE_ARGS... $SHMVIEWD --socket ... --prefix ... EXTRA`
 * for daemon *nd (dir, socket and prefix made here), its stderr into
 * nd->dir/stderr. Returns the pid (unshare execs the daemon). */
static pid_t spawn_unshared(struct harness_daemon *nd, const char *const *unshare_args,
                            const char *extra) {
  const char *argv[16];
  char err[300];
  int n = 0, fd;
  pid_t pid;

  memset(nd, 0, sizeof *nd);
  snprintf(nd->dir, sizeof nd->dir, "/tmp/shmvt%s-ns-XXXXXX", getenv("SHMVIEW_TEST_RUN"));
  ck_assert_ptr_nonnull(mkdtemp(nd->dir));
  snprintf(nd->socket, sizeof nd->socket, "%s/s.sock", nd->dir);
  snprintf(nd->prefix, sizeof nd->prefix, "shmvt%s-ns%d", getenv("SHMVIEW_TEST_RUN"),
           (int)getpid());
  snprintf(err, sizeof err, "%s/stderr", nd->dir);
  argv[n++] = "unshare";
  for (int i = 0; unshare_args[i] != NULL; i++)
    argv[n++] = unshare_args[i];
  argv[n++] = getenv("SHMVIEWD");
  argv[n++] = "--socket";
  argv[n++] = nd->socket;
  argv[n++] = "--prefix";
  argv[n++] = nd->prefix;
  if (extra != NULL)
    argv[n++] = extra;
  argv[n] = NULL;
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || dup2(fd, 2) < 0)
      _exit(126);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  return pid;
}

static void read_stderr(const struct harness_daemon *nd, char *buf, size_t cap) {
  char path[300];
  int fd;
  ssize_t n;

  snprintf(path, sizeof path, "%s/stderr", nd->dir);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  ck_assert_int_ge(fd, 0);
  n = read(fd, buf, cap - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
}

static void cleanup_unshared(struct harness_daemon *nd) {
  char cmd[600];

  snprintf(cmd, sizeof cmd, "rm -rf '%s' /dev/shm/'%s'.*", nd->dir, nd->prefix);
  ck_assert_int_eq(system(cmd), 0);
}

START_TEST(daemon_refused_in_namespaces) {
  static const char *const userns[] = { "--user", "--map-root-user", NULL };
  struct harness_daemon nd;
  char err[4096];
  int code;

  if (!harness_can_attack("test-namespaces", "daemon_refused_in_namespaces") ||
      !have_unshare("daemon_refused_in_namespaces"))
    return;
  code = wait_code(spawn_unshared(&nd, userns, NULL));
  read_stderr(&nd, err, sizeof err);
  cleanup_unshared(&nd);
  ck_assert_msg(code == 1, "exit %d under unshare --user --map-root-user: %s", code, err);
  ck_assert_msg(strstr(err, "refusing to start in a user namespace that does not map every "
                            "uid and gid (uid_map '0 0 1'") != NULL &&
                    strstr(err, "run shmviewd on the host, or give --allow-namespaces") != NULL,
                "%s", err);
}
END_TEST

/* The pid of the daemon that `unshare --pid --fork` (pid nd->pid) runs as
 * pid 1 of its new namespace. */
static pid_t unshared_child(const struct harness_daemon *nd) {
  char path[64];
  pid_t daemon = 0;
  FILE *f;

  snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)nd->pid, (int)nd->pid);
  f = fopen(path, "re");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fscanf(f, "%d", &daemon), 1);
  fclose(f);
  return daemon;
}

/* A client that enters the pid namespace of process `inside` (setns, then
 * a fork: the child is in it) and creates a segment there. 0: served. */
static int client_in_pidns_of(const struct harness_daemon *nd, pid_t inside, const char *name) {
  char path[64];
  pid_t pid;
  int fd, status;

  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)inside);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWPID) != 0)
      _exit(125);
    pid = fork();
    if (pid == 0) {
      shmv_client *c;
      int rc = shmv_connect(nd->socket, &c);

      if (rc == 0) {
        rc = shmv_create(c, name, 4096, 0600);
        shmv_disconnect(c);
      }
      _exit(rc == 0 ? 0 : 1);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
      _exit(125);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 126);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  return WEXITSTATUS(status);
}

/* In a pid namespace of its own (a container's), the daemon starts and
 * serves the clients of that namespace; a client outside it, whose pid it
 * cannot see, is refused with EACCES and told why. */
START_TEST(daemon_in_pid_namespace_refuses_outsiders) {
  static const char *const pidns[] = { "--pid", "--fork", NULL };
  struct harness_daemon nd;
  shmv_client *hc;
  shmv_segment_info info;
  char err[4096];
  int fd = -1, rc;

  if (!harness_can_attack("test-namespaces", "daemon_in_pid_namespace_refuses_outsiders") ||
      !have_unshare("daemon_in_pid_namespace_refuses_outsiders"))
    return;
  nd.pid = spawn_unshared(&nd, pidns, NULL);
  for (int i = 0; i < 300 && (fd = harness_raw_connect(&nd)) < 0; i++)
    usleep(10 * 1000);
  read_stderr(&nd, err, sizeof err);
  ck_assert_msg(fd >= 0, "the daemon did not start in a pid namespace: %s", err);
  close(fd);
  harness_open_to_all(&nd);

  /* Inside its namespace: served, and the segment is there. */
  ck_assert_int_eq(client_in_pidns_of(&nd, unshared_child(&nd), "inside"), 0);
  /* From the host: refused, with the reason. */
  rc = shmv_connect(nd.socket, &hc);
  if (rc == 0) {
    rc = shmv_stat(hc, "inside", &info);
    ck_assert_int_eq(rc, -EACCES);
    ck_assert_msg(strstr(shmv_last_error(hc), "pid namespace that does not contain your process") !=
                      NULL,
                  "%s", shmv_last_error(hc));
    shmv_disconnect(hc);
  } else {
    ck_assert_int_eq(rc, -EACCES);
  }

  ck_assert_int_eq(kill(unshared_child(&nd), SIGTERM), 0);
  ck_assert_int_eq(wait_code(nd.pid), 0);
  read_stderr(&nd, err, sizeof err);
  ck_assert_msg(strstr(err, "refusing a client of uid 0: it is outside this daemon's pid "
                            "namespace") != NULL,
                "%s", err);
  cleanup_unshared(&nd);
}
END_TEST

/* As uid 60001 or 60002 on the host: every unmapped uid looks alike to a
 * daemon in a user namespace, so it serves none of them. */
static int unmapped_client(void *arg) {
  const struct harness_daemon *nd = arg;
  shmv_client *uc;
  shmv_segment_info info;
  int rc = shmv_connect(nd->socket, &uc);

  if (rc == 0) {
    rc = shmv_stat(uc, "mine", &info);
    shmv_disconnect(uc);
  }
  CHILD_CHECK(rc == -EACCES);
  return 0;
}

START_TEST(daemon_allowed_in_user_namespace) {
  static const char *const userns[] = { "--user", "--map-root-user", NULL };
  struct harness_daemon nd;
  shmv_client *rootc;
  shmv_segment_info info;
  char err[4096];
  int fd = -1;

  if (!harness_can_attack("test-namespaces", "daemon_allowed_in_user_namespace") ||
      !have_unshare("daemon_allowed_in_user_namespace"))
    return;
  nd.pid = spawn_unshared(&nd, userns, "--allow-namespaces");
  for (int i = 0; i < 300 && (fd = harness_raw_connect(&nd)) < 0; i++)
    usleep(10 * 1000);
  read_stderr(&nd, err, sizeof err);
  ck_assert_msg(fd >= 0, "the daemon did not start with --allow-namespaces: %s", err);
  close(fd);
  ck_assert_msg(strstr(err, "running in a user namespace that does not map every uid") != NULL,
                "%s", err);
  harness_open_to_all(&nd);

  /* Root maps (0 to 0): it is served, and is the owner. */
  OK(shmv_connect(nd.socket, &rootc));
  OK(shmv_create(rootc, "mine", 4096, 0666));
  OK(shmv_stat(rootc, "mine", &info));
  ck_assert_uint_eq(info.uid, 0);
  shmv_disconnect(rootc);
  /* The unmapped are refused, rather than all being uid 65534. */
  ATTACK_OK(harness_run_as(NS_UID, NS_UID, unmapped_client, &nd), "unmapped uid 60001");
  ATTACK_OK(harness_run_as(NS_OTHER, NS_OTHER, unmapped_client, &nd), "unmapped uid 60002");

  kill(nd.pid, SIGTERM);
  ck_assert_int_eq(wait_code(nd.pid), 0);
  cleanup_unshared(&nd);
}
END_TEST

/* In a pid namespace of its own (--allow-namespaces), the daemon serves the
 * host's clients, but cannot see their pids: holders show none. */
START_TEST(daemon_allowed_in_pid_namespace) {
  static const char *const pidns[] = { "--pid", "--fork", NULL };
  struct harness_daemon nd;
  shmv_client *hc;
  shmv_holder_info *h;
  shmv_view *v;
  size_t n;
  char err[4096];
  int fd = -1;

  if (!harness_can_attack("test-namespaces", "daemon_allowed_in_pid_namespace") ||
      !have_unshare("daemon_allowed_in_pid_namespace"))
    return;
  nd.pid = spawn_unshared(&nd, pidns, "--allow-namespaces");
  for (int i = 0; i < 300 && (fd = harness_raw_connect(&nd)) < 0; i++)
    usleep(10 * 1000);
  read_stderr(&nd, err, sizeof err);
  ck_assert_msg(fd >= 0, "the daemon did not start with --allow-namespaces: %s", err);
  close(fd);
  ck_assert_msg(strstr(err, "running in a pid namespace other than the host's") != NULL, "%s", err);

  OK(shmv_connect(nd.socket, &hc));
  OK(shmv_create(hc, "seg", 4096, 0600));
  OK(shmv_view_open(hc, "seg", 0, SHMV_TO_END, 0, &v));
  OK(shmv_holders(hc, "seg", &h, &n));
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(h[0].pid, 0); /* the daemon's namespace does not see us */
  ck_assert_uint_eq(h[0].uid, getuid());
  shmv_holders_free(h);
  shmv_view_release(v);
  shmv_disconnect(hc);

  /* unshare --fork waits for the daemon, pid 1 of the new namespace, and
   * exits with its status: stop the daemon itself. */
  ck_assert_int_eq(kill(unshared_child(&nd), SIGTERM), 0);
  ck_assert_int_eq(wait_code(nd.pid), 0);
  cleanup_unshared(&nd);
}
END_TEST

/* ---- a daemon that cannot read its clients' /proc entries ---- */

/* As the shipped unit runs it: its own uid (60003), and the other uids'
 * /proc/PID hidden from it (ProtectProc=invisible; here a procfs mounted
 * with hidepid=invisible in a mount namespace of its own). */
static pid_t spawn_hidden_proc_daemon(struct harness_daemon *nd) {
  pid_t pid;

  memset(nd, 0, sizeof *nd);
  snprintf(nd->dir, sizeof nd->dir, "/tmp/shmvt%s-hp-XXXXXX", getenv("SHMVIEW_TEST_RUN"));
  ck_assert_ptr_nonnull(mkdtemp(nd->dir));
  ck_assert_int_eq(chown(nd->dir, 60003, 60003), 0);
  ck_assert_int_eq(chmod(nd->dir, 0711), 0);
  snprintf(nd->socket, sizeof nd->socket, "%s/s.sock", nd->dir);
  snprintf(nd->prefix, sizeof nd->prefix, "shmvt%s-hp%d", getenv("SHMVIEW_TEST_RUN"),
           (int)getpid());
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible") !=
            0 ||
        harness_become(60003, 60003) != 0)
      _exit(125);
    execl(getenv("SHMVIEWD"), "shmviewd", "--socket", nd->socket, "--prefix", nd->prefix,
          "--log-level", "warning", (char *)NULL);
    _exit(127);
  }
  return pid;
}

/* Root of a user and pid namespace over 60001, holding a view itself:
 * holders show its own pid as its namespace numbers it (1), and none for
 * the host's holder, though the daemon cannot name the namespaces. */
static int hidden_proc_asker(void *arg) {
  const struct harness_daemon *nd = arg;
  shmv_client *nc;
  shmv_holder_info *h;
  const shmv_holder_info *e;
  shmv_view *v;
  size_t n;
  pid_t init;

  if (enter_userns(NS_UID, CLONE_NEWPID) != 0)
    return 90;
  init = fork();
  if (init < 0)
    return 91;
  if (init == 0) {
    prctl(PR_SET_NAME, "ns-asker", 0, 0, 0);
    CHILD_CHECK(shmv_connect(nd->socket, &nc) == 0);
    CHILD_CHECK(shmv_view_open(nc, "seg", 0, 4096, 0, &v) == 0);
    /* Command names are hidden from the daemon too: the uids tell. */
    CHILD_CHECK(shmv_holders(nc, "seg", &h, &n) == 0 && n == 2);
    e = find_holder_uid(h, n, NS_UID);
    CHILD_CHECK(e != NULL && e->pid == 1);
    e = find_holder_uid(h, n, 0);
    CHILD_CHECK(e != NULL && e->pid == 0);
    shmv_holders_free(h);
    _exit(0);
  }
  return wait_code(init);
}

static int hidden_proc_holder(void *arg) {
  const struct harness_daemon *nd = arg;
  shmv_client *hc;
  shmv_view *v;

  prctl(PR_SET_NAME, "host-holder", 0, 0, 0);
  CHILD_CHECK(shmv_connect(nd->socket, &hc) == 0);
  CHILD_CHECK(shmv_view_open(hc, "seg", 0, 4096, 0, &v) == 0);
  return 0;
}

START_TEST(holders_pids_with_proc_hidden) {
  struct harness_daemon nd;
  shmv_client *rootc;
  shmv_holder_info *h;
  const shmv_holder_info *e;
  size_t n;
  pid_t holder;
  int fd = -1, code;

  if (!harness_can_attack("test-namespaces", "holders_pids_with_proc_hidden"))
    return;
  nd.pid = spawn_hidden_proc_daemon(&nd);
  for (int i = 0; i < 300 && (fd = harness_raw_connect(&nd)) < 0; i++)
    usleep(10 * 1000);
  ck_assert_msg(fd >= 0, "the daemon (uid 60003, /proc hidden) did not start");
  close(fd);
  harness_open_to_all(&nd);
  OK(shmv_connect(nd.socket, &rootc));
  OK(shmv_create(rootc, "seg", 4096, 0644));
  holder = harness_start_holder(hidden_proc_holder, &nd);

  code = harness_run_child(hidden_proc_asker, &nd);
  ck_assert_msg(WIFEXITED(code) && WEXITSTATUS(code) == 0,
                "inside the pid namespace, holders showed the wrong pids (status %#x)", code);
  /* The host still sees host pids, though /proc does not show them. */
  OK(shmv_holders(rootc, "seg", &h, &n));
  e = find_holder_uid(h, n, 0);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->pid, holder);
  shmv_holders_free(h);

  shmv_disconnect(rootc);
  kill(holder, SIGKILL);
  wait_code(holder);
  kill(nd.pid, SIGTERM);
  ck_assert_int_eq(wait_code(nd.pid), 0);
  cleanup_unshared(&nd);
}
END_TEST

static Suite *namespaces_suite(void) {
  Suite *s = suite_create("namespaces");
  TCase *tc = tcase_create("clients");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, client_in_namespaces);
  tcase_add_test(tc, holders_pids_per_namespace);
  suite_add_tcase(s, tc);
  tc = tcase_create("daemon");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, daemon_refused_in_namespaces);
  tcase_add_test(tc, daemon_allowed_in_user_namespace);
  tcase_add_test(tc, daemon_in_pid_namespace_refuses_outsiders);
  tcase_add_test(tc, daemon_allowed_in_pid_namespace);
  tcase_add_test(tc, holders_pids_with_proc_hidden);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return harness_main(namespaces_suite());
}

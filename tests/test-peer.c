/* SPDX-License-Identifier: MIT */
/*
 * test-peer.c: which daemon a client trusts (the peer check).
 *
 * An impostor runs as `nobody` and listens on a socket in a shared
 * directory (mode 1777, as /tmp). Root's client refuses it with -EPERM
 * before sending a byte, shmv_last_error(NULL) and the CLI say whose daemon
 * was refused; a uid named by SHMVIEW_TRUSTED_UID or the trusted_uid option,
 * or the owner of a directory closed to others, is trusted; and a daemon
 * replaced by an impostor while a client is connected is refused at the
 * reconnection. A real setuid (and setgid) program linking libshmview
 * ignores its invoker's environment and trusts only the system daemon.
 * We run as root (make check does); without root the test is skipped.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmview.h"

static uid_t nobody_uid;
static gid_t nobody_gid;
static char dir[64];   /* the shared directory */
static char path[128]; /* the impostor's socket in it */

static void setup(void) {
  struct passwd *pw = getpwnam("nobody");
  ck_assert_msg(pw != NULL, "no user nobody");
  nobody_uid = pw->pw_uid;
  nobody_gid = pw->pw_gid;
  /* Named for the run: harness_main removes what a failed test left. */
  snprintf(dir, sizeof dir, "/tmp/shmvt%s-trust-XXXXXX", getenv("SHMVIEW_TEST_RUN"));
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(chmod(dir, 01777), 0);
  snprintf(path, sizeof path, "%s/shmview.sock", dir);
  unsetenv("SHMVIEW_TRUSTED_UID");
  setenv("SHMVIEW_RECONNECT_MS", "0", 1);
}

static void teardown(void) {
  unlink(path);
  rmdir(dir);
}

struct impostor {
  pid_t pid;
  int report; /* read end: one byte count per connection, as text lines */
};

/* Fork a process that becomes nobody, listens on path and, for each
 * connection, reports how many bytes the client sent before hanging up (or
 * within a second), then closes it. */
static void impostor_start(struct impostor *im) {
  int ready[2], report[2];
  ck_assert_int_eq(pipe(ready), 0);
  ck_assert_int_eq(pipe(report), 0);
  pid_t parent = getpid();
  im->pid = fork();
  ck_assert_int_ge(im->pid, 0);
  if (im->pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(1);
    close(ready[0]);
    close(report[0]);
    if (setgroups(0, NULL) != 0 || setresgid(nobody_gid, nobody_gid, nobody_gid) != 0 ||
        setresuid(nobody_uid, nobody_uid, nobody_uid) != 0)
      _exit(2);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path) >= (int)sizeof sa.sun_path)
      _exit(3);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 8) != 0)
      _exit(3);
    (void)!write(ready[1], "r", 1);
    harness_impostor_serve(l, report[1]);
  }
  close(ready[1]);
  close(report[1]);
  char r;
  ck_assert_msg(read(ready[0], &r, 1) == 1, "the impostor did not start");
  close(ready[0]);
  im->report = report[0];
}

/* Bytes the client sent on the impostor's next connection. */
static long impostor_heard(struct impostor *im) {
  char line[32];
  size_t n = 0;
  while (n < sizeof line - 1 && read(im->report, line + n, 1) == 1 && line[n] != '\n')
    n++;
  line[n] = '\0';
  return n > 0 ? atol(line) : -1;
}

static void impostor_stop(struct impostor *im) {
  kill(im->pid, SIGKILL);
  waitpid(im->pid, NULL, 0);
  close(im->report);
  unlink(path);
}

START_TEST(impostor_is_refused) {
  struct impostor im;
  impostor_start(&im);

  shmv_client *c = (shmv_client *)&c;
  ck_assert_int_eq(shmv_connect(path, &c), -EPERM);
  ck_assert_ptr_null(c);
  char want[256];
  snprintf(want, sizeof want, "the daemon on %s runs as uid %u, which this process does not trust",
           path, (unsigned)nobody_uid);
  ck_assert_msg(strstr(shmv_last_error(NULL), want) != NULL, "last error: %s",
                shmv_last_error(NULL));
  /* Refused before a single byte (the hello) was sent. */
  ck_assert_int_eq(impostor_heard(&im), 0);

  /* Through $SHMVIEW_SOCKET the same. */
  setenv("SHMVIEW_SOCKET", path, 1);
  ck_assert_int_eq(shmv_connect(NULL, &c), -EPERM);
  unsetenv("SHMVIEW_SOCKET");
  ck_assert_int_eq(impostor_heard(&im), 0);

  /* The CLI says so, sends nothing, exits 1. */
  const char *cli = getenv("SHMVIEW_CLI");
  ck_assert_msg(cli != NULL, "SHMVIEW_CLI is not set (run through make check)");
  char cmd[512], out[1024] = "";
  snprintf(cmd, sizeof cmd, "'%s' --socket '%s' list 2>&1", cli, path);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  size_t got = fread(out, 1, sizeof out - 1, p);
  out[got] = '\0';
  int status = pclose(p);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "CLI status %d", status);
  ck_assert_msg(strstr(out, want) != NULL, "CLI said: %s", out);
  ck_assert_msg(strstr(out, "SHMVIEW_TRUSTED_UID") != NULL, "CLI said: %s", out);
  ck_assert_int_eq(impostor_heard(&im), 0);

  impostor_stop(&im);
}
END_TEST

START_TEST(named_uid_is_trusted) {
  struct impostor im;
  impostor_start(&im);
  shmv_client *c;
  char uid[16];
  snprintf(uid, sizeof uid, "%u", (unsigned)nobody_uid);

  /* Trusted, the hello goes out; this impostor never answers it. */
  setenv("SHMVIEW_TRUSTED_UID", uid, 1);
  ck_assert_int_eq(shmv_connect(path, &c), -ECONNRESET);
  ck_assert_int_gt(impostor_heard(&im), 0);
  /* Another uid named there trusts nobody else. */
  setenv("SHMVIEW_TRUSTED_UID", "12345", 1);
  ck_assert_int_eq(shmv_connect(path, &c), -EPERM);
  ck_assert_int_eq(impostor_heard(&im), 0);
  unsetenv("SHMVIEW_TRUSTED_UID");

  shmv_connect_options o = SHMV_CONNECT_OPTIONS_INIT;
  o.trusted_uid = nobody_uid;
  ck_assert_int_eq(shmv_connect_with(path, &o, &c), -ECONNRESET);
  ck_assert_int_gt(impostor_heard(&im), 0);
  o.trusted_uid = -1;
  ck_assert_int_eq(shmv_connect_with(path, &o, &c), -EPERM);
  ck_assert_int_eq(impostor_heard(&im), 0);
  impostor_stop(&im);
}
END_TEST

START_TEST(directory_owner_is_trusted) {
  /* A directory of nobody's, closed to others: only nobody could have put
   * a socket there, so nobody is the daemon's user (as shmview owns
   * /run/shmview). */
  ck_assert_int_eq(chown(dir, nobody_uid, nobody_gid), 0);
  ck_assert_int_eq(chmod(dir, 0755), 0);
  struct impostor im;
  impostor_start(&im);
  shmv_client *c;
  ck_assert_int_eq(shmv_connect(path, &c), -ECONNRESET);
  ck_assert_int_gt(impostor_heard(&im), 0);

  /* Writable by its group: anyone in it could have put the socket. */
  ck_assert_int_eq(chmod(dir, 0775), 0);
  ck_assert_int_eq(shmv_connect(path, &c), -EPERM);
  ck_assert_int_eq(impostor_heard(&im), 0);
  impostor_stop(&im);
  ck_assert_int_eq(chown(dir, 0, 0), 0);
}
END_TEST

/* A hello answer, by hand: {id: 1, ok, version: 1, server: "x",
 * frame_max: 4096, name_max: 200}; its frame adds the 4-byte length. */
static const unsigned char hello_body[] = {
  0x86, 0xa2, 'i', 'd',  0x01, 0xa2, 'o',  'k', 0xc3, 0xa7, 'v',  'e', 'r', 's', 'i', 'o',  'n',
  0x01, 0xa6, 's', 'e',  'r',  'v',  'e',  'r', 0xa1, 'x',  0xa9, 'f', 'r', 'a', 'm', 'e',  '_',
  'm',  'a',  'x', 0xcd, 0x10, 0x00, 0xa8, 'n', 'a',  'm',  'e',  '_', 'm', 'a', 'x', 0xcc, 0xc8,
};

START_TEST(replaced_daemon_is_refused) {
  /* A "daemon" of root's answers the hello, then goes away; nobody's
   * impostor takes the path. The client's next request reconnects, and
   * refuses it. */
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  ck_assert_int_lt(snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path), (int)sizeof sa.sun_path);
  ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(listen(l, 1), 0);
  pid_t good = fork();
  ck_assert_int_ge(good, 0);
  if (good == 0) {
    int s = accept(l, NULL, NULL);
    char buf[256];
    unsigned char head[4] = { 0, 0, 0, (unsigned char)sizeof hello_body };
    if (s < 0 || read(s, buf, sizeof buf) <= 0 || write(s, head, 4) != 4 ||
        write(s, hello_body, sizeof hello_body) != (ssize_t)sizeof hello_body)
      _exit(1);
    (void)!read(s, buf, sizeof buf); /* until the client's next request */
    _exit(0);
  }
  shmv_client *c;
  OK(shmv_connect(path, &c));
  close(l);
  unlink(path);
  struct impostor im;
  impostor_start(&im);

  shmv_segment_info si;
  ck_assert_int_eq(shmv_stat(c, "x", &si), -EPERM);
  ck_assert_msg(strstr(shmv_last_error(c), "which this process does not trust") != NULL,
                "last error: %s", shmv_last_error(c));
  ck_assert_int_eq(shmv_stat(c, "x", &si), -EPERM);
  shmv_disconnect(c);
  int status;
  waitpid(good, &status, 0);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  impostor_stop(&im);
}
END_TEST

START_TEST(real_daemon_is_trusted) {
  /* Ours, as root: the ordinary case. */
  struct harness_daemon d;
  harness_daemon_start(&d, NULL);
  shmv_client *c;
  OK(shmv_connect(d.socket, &c));
  OK(shmv_create(c, "t", 1, 0));
  OK(shmv_unlink(c, "t"));
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}
END_TEST

/* Fails the test if the impostor reports a connection within 1.5 s (it
 * reports one at most a second after the client went quiet). */
static void impostor_heard_nothing(struct impostor *im) {
  struct pollfd p = { .fd = im->report, .events = POLLIN };
  char line[32] = "";
  if (poll(&p, 1, 1500) == 1) {
    ssize_t n = read(im->report, line, sizeof line - 1);
    line[n > 0 ? n : 0] = '\0';
  }
  ck_assert_msg(line[0] == '\0', "the impostor had a connection, and heard %s bytes", line);
}

/* Run program as nobody with env; its stdout and stderr into out.
 * Returns the wait status. */
static int run_as_nobody(const char *program, char *const argv[], char *const env[], char *out,
                         size_t cap) {
  int res[2];
  ck_assert_int_eq(pipe(res), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(res[1], 1);
    dup2(res[1], 2);
    close(res[0]);
    if (setgroups(0, NULL) != 0 || setresgid(nobody_gid, nobody_gid, nobody_gid) != 0 ||
        setresuid(nobody_uid, nobody_uid, nobody_uid) != 0)
      _exit(99);
    execve(program, argv, env);
    _exit(127);
  }
  close(res[1]);
  size_t got = 0;
  ssize_t n;
  while (got < cap - 1 && (n = read(res[0], out + got, cap - 1 - got)) > 0)
    got += (size_t)n;
  out[got] = '\0';
  close(res[0]);
  int status;
  waitpid(pid, &status, 0);
  return status;
}

/* A copy of the helper in a new directory on a file system that honours
 * setuid bits (/tmp, else the build tree): dst gets its path. */
static bool copy_helper(const char *helper, char *tmp, size_t tcap, char *dst, size_t cap,
                        const char *name, mode_t mode) {
  struct statvfs vfs;
  if (tmp[0] == '\0') {
    if (statvfs("/tmp", &vfs) == 0 && (vfs.f_flag & ST_NOSUID) == 0) {
      snprintf(tmp, tcap, "/tmp/shmvt%s-suid-XXXXXX", getenv("SHMVIEW_TEST_RUN"));
    } else {
      const char *slash = strrchr(helper, '/');
      snprintf(tmp, tcap, "%.*s/shmvt-suid-XXXXXX", (int)(slash - helper), helper);
    }
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    ck_assert_int_eq(chmod(tmp, 0755), 0);
    if (statvfs(tmp, &vfs) != 0 || (vfs.f_flag & ST_NOSUID) != 0)
      return false;
  }
  snprintf(dst, cap, "%s/%s", tmp, name);
  int in = open(helper, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0700);
  ck_assert_int_ge(in, 0);
  ck_assert_int_ge(out, 0);
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    ck_assert_int_eq(write(out, buf, (size_t)n), n);
  close(in);
  close(out);
  ck_assert_int_eq(chown(dst, 0, 0), 0);
  ck_assert_int_eq(chmod(dst, mode), 0); /* after chown, which clears the bits */
  return true;
}

START_TEST(setuid_program_ignores_environment) {
  /* A setuid-root program linking libshmview, run by nobody with
   * SHMVIEW_SOCKET (and XDG_RUNTIME_DIR, SHMVIEW_TRUSTED_UID) naming
   * nobody's own daemon, in nobody's own 0700 directory: the library
   * ignores that environment, goes to the system socket only, and nobody
   * hears nothing of the root-only file the program sends. In a private
   * mount namespace with an empty /run, so that the host's system daemon
   * (if any) is never reached, and /run/shmview can be made up. */
  const char *helper = getenv("SHMVIEW_SETUID_HELPER");
  ck_assert_msg(helper != NULL, "SHMVIEW_SETUID_HELPER is not set (run through make check)");
  if (unshare(CLONE_NEWNS) != 0) {
    fprintf(stderr, "skipped: setuid_program_ignores_environment: unshare(CLONE_NEWNS): %s\n",
            strerror(errno));
    return;
  }
  ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
  ck_assert_int_eq(mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"), 0);

  char tmp[256] = "", suid[300], sgid[300], secret[300], out[2048];
  if (!copy_helper(helper, tmp, sizeof tmp, suid, sizeof suid, "suid", 04755) ||
      !copy_helper(helper, tmp, sizeof tmp, sgid, sizeof sgid, "sgid", 02755)) {
    fprintf(stderr, "skipped: setuid_program_ignores_environment: %s is mounted nosuid\n", tmp);
    return;
  }
  snprintf(secret, sizeof secret, "%s/secret", tmp);
  int fd = open(secret, O_WRONLY | O_CREAT | O_EXCL, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "ROOT-ONLY-SECRET", 16), 16);
  close(fd);
  ck_assert_int_eq(chmod(secret, 0640), 0); /* group root: the setgid copy reads it too */

  /* nobody's own directory and daemon. */
  ck_assert_int_eq(chown(dir, nobody_uid, nobody_gid), 0);
  ck_assert_int_eq(chmod(dir, 0700), 0);
  struct impostor im;
  impostor_start(&im);
  char env_sock[200], env_xdg[200], env_uid[64];
  snprintf(env_sock, sizeof env_sock, "SHMVIEW_SOCKET=%s", path);
  snprintf(env_xdg, sizeof env_xdg, "XDG_RUNTIME_DIR=%s", dir);
  snprintf(env_uid, sizeof env_uid, "SHMVIEW_TRUSTED_UID=%u", (unsigned)nobody_uid);
  char *const env[] = { env_sock, env_xdg, env_uid, "SHMVIEW_RECONNECT_MS=0", NULL };
  char *const argv_suid[] = { suid, secret, "stolen", NULL };
  int status = run_as_nobody(suid, argv_suid, env, out, sizeof out);
  ck_assert_msg(strstr(out, "secure 1 ") != NULL, "not a secure execution: %s", out);
  ck_assert_msg(strstr(out, "socket /run/shmview/shmview.sock\n") != NULL, "helper: %s", out);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 3, "helper status %d: %s", status, out);
  ck_assert_msg(strstr(out, "refused -2: ") != NULL, "helper: %s", out); /* no system daemon */
  impostor_heard_nothing(&im);
  impostor_stop(&im);

  /* A setgid program runs with its invoker's euid: on the system socket
   * (here in a root-owned directory anyone may write to) that uid's
   * daemon is not trusted either. */
  ck_assert_int_eq(mkdir("/run/shmview", 01777), 0);
  ck_assert_int_eq(chmod("/run/shmview", 01777), 0);
  snprintf(path, sizeof path, "/run/shmview/shmview.sock");
  impostor_start(&im);
  char *const argv_sgid[] = { sgid, secret, "stolen", NULL };
  status = run_as_nobody(sgid, argv_sgid, env, out, sizeof out);
  ck_assert_msg(strstr(out, "secure 1 ") != NULL, "not a secure execution: %s", out);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 3, "helper status %d: %s", status, out);
  char want[200];
  snprintf(want, sizeof want,
           "refused -1: the daemon on /run/shmview/shmview.sock runs as uid %u, which this "
           "setuid or setgid program does not trust",
           (unsigned)nobody_uid);
  ck_assert_msg(strstr(out, want) != NULL, "helper: %s", out);
  ck_assert_int_eq(impostor_heard(&im), 0); /* refused before the hello */
  impostor_stop(&im);

  /* The system daemon's own user, owner of /run/shmview (mode 0755, as
   * the shipped unit makes it), is trusted: this impostor hears the hello
   * (and never answers it). */
  ck_assert_int_eq(chown("/run/shmview", nobody_uid, nobody_gid), 0);
  ck_assert_int_eq(chmod("/run/shmview", 0755), 0);
  impostor_start(&im);
  status = run_as_nobody(suid, argv_suid, env, out, sizeof out);
  ck_assert_int_gt(impostor_heard(&im), 0);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 3 &&
                    strstr(out, "refused -104") != NULL,
                "helper status %d: %s", status, out);
  impostor_stop(&im);

  /* Named by the program itself, a socket is the program's choice. */
  snprintf(path, sizeof path, "%s/shmview.sock", dir);
  impostor_start(&im);
  char *const argv_named[] = { suid, secret, "stolen", path, NULL };
  status = run_as_nobody(suid, argv_named, env, out, sizeof out);
  ck_assert_int_gt(impostor_heard(&im), 0);
  impostor_stop(&im);

  unlink(suid);
  unlink(sgid);
  unlink(secret);
  rmdir(tmp);
}
END_TEST

int main(void) {
  if (geteuid() != 0) {
    fprintf(stderr, "SKIP: test-peer needs root (to run an impostor as nobody)\n");
    return 77;
  }
  Suite *s = suite_create("peer");
  TCase *t = tcase_create("peer");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  tcase_add_test(t, impostor_is_refused);
  tcase_add_test(t, named_uid_is_trusted);
  tcase_add_test(t, directory_owner_is_trusted);
  tcase_add_test(t, replaced_daemon_is_refused);
  tcase_add_test(t, real_daemon_is_trusted);
  tcase_add_test(t, setuid_program_ignores_environment);
  suite_add_tcase(s, t);
  return harness_main(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * namespaces.c: what the daemon's and its peers' namespaces hide.
 *
 * The kernel translates a peer's credentials into the daemon's namespaces
 * (SO_PEERCRED). In a user namespace that does not map every id, each
 * unmapped uid reads as the same overflow uid (65534), so permissions
 * decided on uids would let strangers into each other's segments; in a pid
 * namespace below the host's, a client outside it has pid 0. So the daemon
 * looks at its own namespaces once, at start. It refuses to run in a user
 * namespace that would hide its clients' uids, unless told
 * (--allow-namespaces) that its clients all live in that namespace; even
 * then a peer whose uid reads as the overflow uid is refused, since it
 * cannot be told from any other. In a pid namespace of its own (a
 * container's: nspawn, Docker, a Kubernetes pod) it runs, serving the
 * clients of that namespace and those below it, and refuses a client
 * outside it (pid 0) unless told the same; what a pid namespace hides is
 * known per client, not at start.
 *
 * The other way round, a client in a pid namespace of its own sees none
 * of the daemon's pids: each peer's pids in every nested namespace (the
 * NSpid: line of its pidfd's fdinfo, or of /proc/PID/status) and, where
 * the daemon may look, the namespaces themselves (nsfs inodes, walked up
 * with NS_GET_PARENT) are read once at connect, so a holder's pid can be
 * shown as the asker's namespace sees it, or not at all where it does not
 * see that process.
 *
 * It never decides a permission itself: ops.c does, on what peer.c kept.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/nsfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "namespaces.h"

/* The host's pid namespace has this fixed inode number (the kernel's
 * PROC_PID_INIT_INO; systemd tests for it the same way). */
#define HOST_PIDNS_INO 0xEFFFFFFCu

/* Up to n bytes of a small /proc file, NUL-terminated; -1 if unreadable. */
static ssize_t read_small(const char *path, char *buf, size_t n) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t len;

  if (fd < 0)
    return -1;
  len = read(fd, buf, n - 1);
  close(fd);
  if (len < 0)
    return -1;
  buf[len] = '\0';
  return len;
}

/* Whether a uid_map or gid_map maps every id to itself: one line
 * "0 0 4294967295", as in the host's namespace. Unreadable: yes (a /proc
 * we cannot read tells us nothing; the host's is readable). */
static bool map_is_identity(const char *path, char *seen, size_t seenlen) {
  char buf[512];
  unsigned long long in, out, count;
  int used = 0;

  seen[0] = '\0';
  if (read_small(path, buf, sizeof buf) < 0) {
    log_warn("cannot read %s (%s): assuming the host's user namespace", path, strerror(errno));
    return true;
  }
  /* The first line, its columns single-spaced, for the message. */
  if (sscanf(buf, "%llu %llu %llu%n", &in, &out, &count, &used) == 3)
    snprintf(seen, seenlen, "%llu %llu %llu%s", in, out, count,
             buf[used + strspn(buf + used, " \n")] != '\0' ? " ..." : "");
  return used > 0 && in == 0 && out == 0 && count == 4294967295ull &&
         buf[used + strspn(buf + used, " \n")] == '\0';
}

static unsigned long read_id(const char *path, unsigned long dflt) {
  char buf[32];

  if (read_small(path, buf, sizeof buf) < 0)
    return dflt;
  return strtoul(buf, NULL, 10);
}

int ns_check_self(struct ns_self *self, bool allow) {
  char uids[96], gids[96];
  struct stat st;
  bool uid_ok, gid_ok;

  memset(self, 0, sizeof *self);
  self->overflowuid = (uid_t)read_id("/proc/sys/kernel/overflowuid", 65534);
  self->overflowgid = (gid_t)read_id("/proc/sys/kernel/overflowgid", 65534);
  uid_ok = map_is_identity("/proc/self/uid_map", uids, sizeof uids);
  gid_ok = map_is_identity("/proc/self/gid_map", gids, sizeof gids);
  self->userns = !uid_ok || !gid_ok;
  if (stat("/proc/self/ns/pid", &st) == 0)
    self->pidns = st.st_ino != HOST_PIDNS_INO;
  else
    log_warn("cannot look at /proc/self/ns/pid (%s): assuming the host's pid namespace",
             strerror(errno));

  if (self->userns && !allow) {
    log_error("refusing to start in a user namespace that does not map every uid and gid "
              "(uid_map '%s', gid_map '%s'): every client whose ids it does not map would "
              "look like uid %u, and access to segments could not be decided; run shmviewd "
              "on the host, or give --allow-namespaces if all its clients run in this "
              "namespace",
              uids, gids, (unsigned)self->overflowuid);
    return -1;
  }
  if (self->userns)
    log_warn("running in a user namespace that does not map every uid and gid "
             "(--allow-namespaces): clients whose uid or gid reads as %u/%u will be refused",
             (unsigned)self->overflowuid, (unsigned)self->overflowgid);
  self->allow = allow;
  if (self->pidns && allow)
    log_warn("running in a pid namespace other than the host's (--allow-namespaces): clients "
             "outside it have no pid, and their views are not kept across a restart");
  else if (self->pidns)
    log_info("running in a pid namespace other than the host's: clients outside it will be "
             "refused (--allow-namespaces serves them, with no pid)");
  return 0;
}

bool ns_peer_outside(const struct ns_self *self, pid_t pid) {
  return self->pidns && !self->allow && pid == 0;
}

bool ns_peer_unmapped(const struct ns_self *self, uid_t uid, gid_t gid) {
  return self->userns && (uid == self->overflowuid || gid == self->overflowgid);
}

int ns_drop_overflow_groups(const struct ns_self *self, gid_t *groups, int ngroups) {
  int n = 0;

  if (!self->userns)
    return ngroups;
  for (int i = 0; i < ngroups; i++)
    if (groups[i] != self->overflowgid)
      groups[n++] = groups[i];
  return n;
}

/* The numbers of an NSpid: line (text: just after the key) into
 * out->pid, the daemon's level first. Returns the count, or 0 if the line
 * is not of process pid (a reused pid) or not understood. */
static unsigned parse_nspid(const char *text, pid_t pid, struct ns_pids *out) {
  const char *p = text;
  char *end;
  unsigned n = 0;

  for (;;) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p < '0' || *p > '9')
      break;
    if (n == NS_PID_LEVELS)
      return 0; /* deeper than the kernel nests */
    out->pid[n++] = (uint32_t)strtoul(p, &end, 10);
    p = end;
  }
  return n > 0 && out->pid[0] == (uint32_t)pid ? n : 0;
}

/* The NSpid: line in the fdinfo of a pidfd of the peer (SO_PEERPIDFD,
 * Linux 6.5): in our own /proc/self, so readable whatever the peer's uid
 * and under the unit's ProtectProc=invisible, and the pidfd pins the very
 * process that connected. The number is asm-generic's (x86, arm, riscv,
 * powerpc, s390); elsewhere it differs, and this is not tried. */
#if !defined(SO_PEERPIDFD) &&                                                                \
    (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(__arm__) || \
     defined(__riscv) || defined(__powerpc__) || defined(__s390__))
#define SO_PEERPIDFD 77
#endif
static unsigned read_nspid_pidfd(int sock, pid_t pid, struct ns_pids *out) {
#ifdef SO_PEERPIDFD
  char path[64], buf[1024];
  const char *line;
  socklen_t len = sizeof(int);
  int pidfd = -1;
  ssize_t got;

  if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0 || pidfd < 0)
    return 0;
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
  got = read_small(path, buf, sizeof buf);
  close(pidfd);
  if (got < 0 || (line = strstr(buf, "\nNSpid:")) == NULL)
    return 0;
  return parse_nspid(line + strlen("\nNSpid:"), pid, out);
#else
  (void)sock;
  (void)pid;
  (void)out;
  return 0;
#endif
}

/* The same from /proc/PID/status, where the daemon may read it. 1 with pid
 * itself on a kernel without the line (before 4.1). */
static unsigned read_nspid_status(pid_t pid, struct ns_pids *out) {
  char path[64], buf[4096];
  const char *line;

  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  if (read_small(path, buf, sizeof buf) < 0)
    return 0;
  line = strstr(buf, "\nNSpid:");
  if (line == NULL) {
    out->pid[0] = (uint32_t)pid;
    return 1;
  }
  return parse_nspid(line + strlen("\nNSpid:"), pid, out);
}

/* ns[1..depth-1]: the peer's own namespace, then its parents up to (not
 * including) the daemon's. nsfs is one filesystem: the inode alone names a
 * namespace. Returns false if some level could not be read. */
static bool read_chain(pid_t pid, struct ns_pids *out) {
  char path[64];
  struct stat st;
  int fd, parent;

  snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  for (unsigned level = out->depth - 1; level >= 1; level--) {
    if (fstat(fd, &st) != 0)
      break;
    out->ns[level] = (uint64_t)st.st_ino;
    if (level == 1) {
      close(fd);
      return true;
    }
    parent = ioctl(fd, NS_GET_PARENT);
    close(fd);
    fd = parent;
    if (fd < 0)
      return false;
  }
  close(fd);
  return false;
}

/* The daemon's own pid namespace (its nsfs inode; 0 if unknown). */
static uint64_t own_pidns(void) {
  static uint64_t ino;
  struct stat st;

  if (ino == 0 && stat("/proc/self/ns/pid", &st) == 0)
    ino = (uint64_t)st.st_ino;
  return ino;
}

void ns_read_pids(int sock, pid_t pid, struct ns_pids *out) {
  char path[64];
  struct stat st;

  memset(out, 0, sizeof *out);
  if (pid <= 0)
    return;
  /* Most clients share the daemon's namespace: one stat (5 us here)
   * says so, where reading /proc/PID/status costs twice that. */
  snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
  if (stat(path, &st) == 0 && own_pidns() != 0 && (uint64_t)st.st_ino == own_pidns()) {
    out->depth = 1;
    out->pid[0] = (uint32_t)pid;
    out->chain = true;
    return;
  }
  out->depth = read_nspid_pidfd(sock, pid, out);
  if (out->depth == 0)
    out->depth = read_nspid_status(pid, out);
  if (out->depth == 0) {
    /* Neither (a kernel before 6.5 and a hidden /proc): its pid as the
     * daemon sees it is still right for clients in the daemon's own
     * namespace, and it is shown to no one else; as an asker it is taken
     * for one of those, as before namespaces were looked at. */
    out->depth = 1;
    out->pid[0] = (uint32_t)pid;
  }
  /* Naming the namespaces takes ptrace rights over the peer (the daemon's
   * uid, or root): without them, chain stays false. */
  out->chain = out->depth <= 1 || read_chain(pid, out);
}

uint32_t ns_pid_seen_by(const struct ns_pids *asker, const struct ns_pids *holder) {
  unsigned j = asker->depth;

  if (j == 0 || holder->depth < j)
    return 0;
  /* The holder's namespace at the asker's level must be the asker's own;
   * where the namespaces could not be named, only the asker's own process
   * is known to be there. */
  if (j > 1 && asker->chain && holder->chain && holder->ns[j - 1] != asker->ns[j - 1])
    return 0;
  if (j > 1 && (!asker->chain || !holder->chain) && holder->pid[0] != asker->pid[0])
    return 0;
  return holder->pid[j - 1];
}

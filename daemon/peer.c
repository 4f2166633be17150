/* SPDX-License-Identifier: MIT */
/*
 * peer.c: who is on the other end of a connection.
 *
 * A peer's credentials are the kernel's word (SO_PEERCRED, SO_PEERGROUPS),
 * taken once at accept: they cannot change for the life of the connection,
 * and every permission check in ops.c is made against them. Its command
 * name, for stat's holders, is read once too, from /proc, while the pid is
 * surely still the connecting process's; it is shown to others, so
 * anything unprintable becomes '?'.
 *
 * Its pids in every pid namespace from the daemon's down to its own are
 * read at connect too (namespaces.c), so that holders can be shown to a
 * client in a pid namespace as it sees them.
 *
 * It also counts connections, in all and per uid (the registry's usage
 * records), and says whether a new one is over --max-clients or its uid's
 * limit, so one user's idle connections cannot lock out another user, or
 * whether its uid is one a user-namespaced daemon cannot tell apart.
 * What to do with a refused connection is listen.c's business.
 *
 * It never reads or writes a socket's bytes, and holds no leases: those
 * are ops.c's, ended by ops_peer_gone().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"

/* The peer's command name, for stat's holders: read once, at connect
 * (later the pid may be gone or reused), at most PROTO_COMM_MAX bytes,
 * anything unprintable shown as '?'. */
static void peer_comm(struct peer *p) {
  char path[64];
  ssize_t n;
  int fd;

  p->comm[0] = '\0';
  snprintf(path, sizeof path, "/proc/%d/comm", (int)p->pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  n = read(fd, p->comm, PROTO_COMM_MAX);
  close(fd);
  if (n <= 0)
    return;
  p->comm[n] = '\0';
  p->comm[strcspn(p->comm, "\n")] = '\0';
  for (char *q = p->comm; *q != '\0'; q++)
    if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
      *q = '?';
}

/* Credentials the kernel vouches for, taken once: they cannot change for
 * the life of the connection. */
static int peer_credentials(int fd, struct peer *p, const struct ns_self *ns) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  gid_t *groups = NULL;

  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return -errno;
  p->pid = cred.pid;
  p->uid = cred.uid;
  p->gid = cred.gid;
  peer_comm(p);
  ns_read_pids(fd, p->pid, &p->pids);
  p->groups = NULL;
  p->ngroups = 0;
#ifdef SO_PEERGROUPS
  len = 0;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) != 0 && errno == ERANGE && len > 0) {
    groups = malloc(len);
    if (groups == NULL)
      return -ENOMEM;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
      free(groups);
      return -errno;
    }
    p->groups = groups;
    p->ngroups = ns_drop_overflow_groups(ns, groups, (int)(len / sizeof(gid_t)));
  }
#endif
  return 0;
}

int peer_init(struct peer *p, int fd, const struct ns_self *ns) {
  int rc;

  memset(p, 0, sizeof *p);
  rc = peer_credentials(fd, p, ns);
  if (rc < 0)
    return rc;
  LIST_INIT(&p->leases);
  LIST_INIT(&p->pending);
  return 0;
}

void peer_fini(struct peer *p) {
  free(p->groups);
  p->groups = NULL;
  p->ngroups = 0;
}

uint64_t peer_uid_limit(const struct daemon *d, uid_t uid) {
  const struct daemon_config *cfg = &d->cfg;

  return uid == 0 || uid == geteuid() ? cfg->max_clients_root : cfg->max_clients_uid;
}

enum peer_refusal peer_admission(struct daemon *d, const struct peer *p) {
  const struct usage *u = registry_usage(&d->reg, p->uid, false);
  uint64_t uid_limit = peer_uid_limit(d, p->uid);

  if (ns_peer_unmapped(&d->ns, p->uid, p->gid))
    return PEER_UNMAPPED;
  if (ns_peer_outside(&d->ns, p->pid))
    return PEER_OUTSIDE_PIDNS;
  if (uid_limit != 0 && u != NULL && u->clients >= uid_limit)
    return PEER_OVER_UID_LIMIT;
  if (d->cfg.max_clients != 0 && d->clients >= d->cfg.max_clients)
    return PEER_OVER_LIMIT;
  return PEER_ADMITTED;
}

void peer_count(struct daemon *d, const struct peer *p, int delta) {
  d->clients += (uint64_t)(int64_t)delta;
  registry_usage_clients(&d->reg, p->uid, delta);
}

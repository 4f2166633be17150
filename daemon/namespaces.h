/* SPDX-License-Identifier: MIT */
/*
 * namespaces.h: what the daemon's and its peers' namespaces hide (see
 * namespaces.c).
 */
#ifndef SHMV_DAEMON_NAMESPACES_H
#define SHMV_DAEMON_NAMESPACES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A process's pids in every pid namespace from the daemon's down to its
 * own: the kernel nests at most 32 below the host's, so 33 levels. */
#define NS_PID_LEVELS 33

/* Where one peer sits in the tree of pid namespaces, read once at connect
 * (a process never changes its own pid namespace). */
struct ns_pids {
  unsigned depth;              /* levels from the daemon's namespace to the peer's own,
                                  that one included; 0: outside the daemon's namespace
                                  (its pid reads 0); 1 too when nothing would say */
  uint32_t pid[NS_PID_LEVELS]; /* its pid at each level, the daemon's first (NSpid:) */
  uint64_t ns[NS_PID_LEVELS];  /* each level's namespace (nsfs inode); ns[0], the daemon's
                                  own, is left 0: every peer shares it */
  bool chain;                  /* ns[1..depth-1] are known (it takes ptrace rights) */
};

/* What the daemon's own namespaces hide from it, found at start. */
struct ns_self {
  bool userns;       /* a user namespace that does not map every uid and gid */
  bool pidns;        /* a pid namespace other than the host's */
  bool allow;        /* --allow-namespaces */
  uid_t overflowuid; /* what an unmapped uid reads as (65534 by default) */
  gid_t overflowgid;
};

/* Look at the daemon's own namespaces into *self. In a user namespace that
 * does not map every uid and gid, refuse (log a sentence saying why and
 * what to do, return -1) unless allow is set (--allow-namespaces); then
 * warn and return 0. A pid namespace other than the host's is no reason
 * to refuse: ns_peer_outside judges each client. */
int ns_check_self(struct ns_self *self, bool allow);

/* Whether a peer with this pid (as SO_PEERCRED gives it) is outside the
 * daemon's pid namespace and should be refused: its pid reads 0, and
 * --allow-namespaces was not given. Such a client would have no pid to
 * show in holders, nor to keep its views by across a restart. */
bool ns_peer_outside(const struct ns_self *self, pid_t pid);

/* Whether a peer with these credentials is one the daemon cannot tell
 * from others: in a user namespace that does not map every id, a uid or
 * gid that reads as the overflow id may be any unmapped one. */
bool ns_peer_unmapped(const struct ns_self *self, uid_t uid, gid_t gid);

/* Drop the overflow gid from a peer's supplementary groups (it stands for
 * every unmapped group). Returns the new count. */
int ns_drop_overflow_groups(const struct ns_self *self, gid_t *groups, int ngroups);

/* Fill *out for the peer on socket sock, process pid (from SO_PEERCRED, 0
 * if outside the daemon's pid namespace). */
void ns_read_pids(int sock, pid_t pid, struct ns_pids *out);

/* The pid of holder as asker's pid namespace sees it: 0 if the holder is
 * not in that namespace or one below it, or either is unknown. */
uint32_t ns_pid_seen_by(const struct ns_pids *asker, const struct ns_pids *holder);

#endif

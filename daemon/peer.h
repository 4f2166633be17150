/* SPDX-License-Identifier: MIT */
/*
 * peer.h: who is on the other end of a connection, and how many
 * connections each uid has (see peer.c). struct peer itself is in ops.h:
 * the handlers act on it.
 */
#ifndef SHMV_DAEMON_PEER_H
#define SHMV_DAEMON_PEER_H

#include <stdint.h>
#include <sys/types.h>

#include "daemon.h"
#include "ops.h"

/* Why a new connection is refused, if it is. */
enum peer_refusal {
  PEER_ADMITTED,
  PEER_OVER_UID_LIMIT, /* its uid has --max-clients-per-uid (or -root) connections */
  PEER_OVER_LIMIT,     /* the daemon has --max-clients */
  PEER_UNMAPPED,       /* its uid or gid does not map into the daemon's user namespace */
  PEER_OUTSIDE_PIDNS,  /* it is outside the daemon's pid namespace (its pid reads 0) */
};

/* Fill p from the kernel's word on socket fd (SO_PEERCRED, SO_PEERGROUPS)
 * and /proc/PID/comm and status (its pids, namespaces.h), with no leases;
 * groups that stand for every unmapped one in the daemon's user namespace
 * ns are dropped. Returns 0 or -errno (p then holds nothing to free). */
int peer_init(struct peer *p, int fd, const struct ns_self *ns);

/* Free what peer_init allocated; p's leases must be gone (ops_peer_gone). */
void peer_fini(struct peer *p);

/* The connection limit for uid: root and the daemon's own uid have theirs
 * (--max-clients-root), every other uid --max-clients-per-uid; 0: none. */
uint64_t peer_uid_limit(const struct daemon *d, uid_t uid);

/* May p connect now, with the connections counted so far? */
enum peer_refusal peer_admission(struct daemon *d, const struct peer *p);

/* Count p's connection (delta 1) or its end (-1), in all and for its uid. */
void peer_count(struct daemon *d, const struct peer *p, int delta);

#endif

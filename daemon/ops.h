/* SPDX-License-Identifier: MIT */
/*
 * ops.h: one handler per protocol op.
 *
 * Handlers are plain functions of (daemon, peer, decoded request) to a
 * response and perhaps a descriptor: they never see a socket, so the event
 * loop stays thin and each op can be reasoned about on its own.
 */
#ifndef SHMV_DAEMON_OPS_H
#define SHMV_DAEMON_OPS_H

#include <stdint.h>
#include <sys/types.h>

#include "daemon.h"
#include "namespaces.h"
#include "proto.h"

/* Who is asking: credentials from SO_PEERCRED/SO_PEERGROUPS, taken once at
 * accept, and the leases this connection holds. */
struct peer {
  pid_t pid;
  char comm[PROTO_COMM_MAX + 1]; /* /proc/PID/comm at connect ("" if unreadable) */
  uid_t uid;
  gid_t gid;
  gid_t *groups; /* supplementary groups, malloc'd, may be NULL */
  int ngroups;
  uint64_t start; /* the process's start time (lease.h), read at its first open */
  bool start_known;
  struct ns_pids pids; /* its pid in each namespace from the daemon's down */
  struct lease_list leases;
  struct segment_list pending; /* ephemeral segments it made, never opened */
};

/* Answer req into resp. *fd_out is set to a descriptor to send with the
 * response (ownership passes to the caller), or -1. list answers borrow
 * `scratch` (ops_list_page_max() entries, scratch_len) for their items. */
void ops_handle(struct daemon *d, struct peer *p, const struct proto_request *req,
                struct proto_response *resp, int *fd_out, struct proto_segment *scratch,
                size_t scratch_len);

/* A connection is gone: end its leases and remove the ephemeral segments
 * that thereby lost their last view or were never opened -- unless the
 * daemon is stopping, when they stay for the next one to re-adopt.
 * Returns how many leases it held. */
uint64_t ops_peer_gone(struct daemon *d, struct peer *p, bool stopping);

/* End lease l; why (for the log) non-NULL: remove its segment if that was
 * an ephemeral one's last view. */
void ops_lease_end(struct daemon *d, struct lease *l, const char *why);

/* Drop what was kept across a restart for process (pid, start), which
 * exited or is not the process recorded, and remove the ephemeral segments
 * that thereby lost their last view, as ops_lease_end does. */
void ops_kept_end(struct daemon *d, pid_t pid, uint64_t start, const char *why);

/* Remove ephemeral segments re-adopted at start that nobody came back to
 * view within the grace period. */
void ops_reap_adopted(struct daemon *d);

/* How many list entries fit in one response frame of frame_max bytes. */
size_t ops_list_page_max(uint64_t frame_max);

#endif

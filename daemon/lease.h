/* SPDX-License-Identifier: MIT */
/*
 * lease.h: view leases.
 *
 * A lease records that a connection holds a view of a segment: it is what
 * makes a shrink fail with EBUSY and what `views` counts. Leases are found
 * by id in a red-black tree (O(log n) release) and chained on their owner
 * connection, so closing a connection, however it died, releases every
 * lease it held. A lease holds a reference on its segment, which keeps an
 * unlinked segment's record (and its accounting) until the last view goes.
 *
 * Leases die with their connection, but the mappings they stand for live
 * as long as the process that made them. So each (process, segment) pair
 * with a view is also a hold: the holder's pid and start time (from
 * /proc/PID/stat, so a reused pid is told apart) and how many views it has.
 * Holds, not leases, go to the state file (one line per pair however many
 * views, so 100,000 views of one segment cost one line). After a restart
 * the recorded holds are kept (the `kept` counts) until the process exits
 * or re-opens its views (a reconnecting client re-registers each one, and
 * its first lease on a segment replaces what was kept for it there).
 */
#ifndef SHMV_DAEMON_LEASE_H
#define SHMV_DAEMON_LEASE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <bsd/sys/tree.h>

#include "registry.h"

struct hold {
  RB_ENTRY(hold) by_key; /* (pid, start, seg) */
  LIST_ENTRY(hold) by_seg;
  LIST_ENTRY(hold) by_stale; /* while stale */
  pid_t pid;
  uint64_t start; /* /proc/PID/stat starttime; 0: unknown */
  struct segment *seg;
  uint32_t views, writable;           /* this daemon's leases */
  uint32_t kept_views, kept_writable; /* recorded by the daemon before a restart */
  bool on_disk;                       /* a line in the state file says so */
  bool stale;                         /* keeps nothing, but on disk it still does */
};

LIST_HEAD(stale_list, hold);

struct lease {
  RB_ENTRY(lease) by_id;
  LIST_ENTRY(lease) by_owner;
  LIST_ENTRY(lease) by_segment; /* on seg->writers when writable */
  TAILQ_ENTRY(lease) by_seg;    /* seg->holders, for stat's holders */
  uint64_t id;
  const void *owner; /* the connection's lease list */
  uid_t uid;         /* charged for the view (quotas) */
  struct segment *seg;
  struct hold *hold;
  uint64_t offset, length;
  bool writable;
  struct timespec since; /* CLOCK_REALTIME, when it was granted */
  uint32_t chan_slot;    /* a channel participant's slot (ops.c), or PROTO_NO_PARTICIPANT */
};

RB_HEAD(lease_tree, lease);
RB_HEAD(hold_tree, hold);
LIST_HEAD(lease_list, lease);

struct lease_table {
  struct lease_tree by_id;
  struct hold_tree holds;
  uint64_t next_id;
  uint64_t count;
  uint64_t writable;
  uint64_t hold_count;
  /* Holds that keep nothing but are still on disk: a line saying so goes
   * to the state file a second later, unless a view comes back first. */
  struct stale_list stale;
  uint64_t stale_count;
};

void lease_table_init(struct lease_table *t);
/* Free every hold (at exit, after every lease is gone). */
void lease_table_fini(struct lease_table *t, struct registry *r);

/* A lease held by process (pid, start). If its hold is new, *record is set:
 * the caller writes it to the state file (lease_hold_recorded) or, if that
 * fails, removes the lease again. */
struct lease *lease_add(struct lease_table *t, struct registry *r, struct lease_list *owner,
                        uid_t uid, pid_t pid, uint64_t start, struct segment *seg, uint64_t offset,
                        uint64_t length, bool writable, bool *record);
void lease_hold_recorded(struct hold *h);
/* The lease `id` if `owner` holds it, else NULL: a connection can never
 * release another's lease. */
struct lease *lease_find(struct lease_table *t, const struct lease_list *owner, uint64_t id);
void lease_remove(struct lease_table *t, struct registry *r, struct lease *l);
/* Release everything owner holds; returns how many. */
uint64_t lease_remove_all(struct lease_table *t, struct registry *r, struct lease_list *owner);

/* A hold read from the state file: counts as views of seg until dropped
 * (views 0: drop what an earlier line recorded). */
int lease_hold_restore(struct lease_table *t, struct registry *r, struct segment *seg, pid_t pid,
                       uint64_t start, uint32_t views, uint32_t writable);
/* The holds of process (pid, start) that keep views from before a
 * restart, in order (NULL: no more), and dropping what one keeps (it may
 * be freed). Only ops_kept_end walks them, so that the ephemeral rule is
 * applied to what they kept. */
struct hold *lease_kept_first(struct lease_table *t, pid_t pid, uint64_t start);
struct hold *lease_kept_next(struct lease_table *t, struct hold *h);
void lease_kept_drop(struct lease_table *t, struct registry *r, struct hold *h);
/* Before seg is unlinked: free its holds that keep nothing (no views). */
void lease_segment_unlinking(struct lease_table *t, struct registry *r, struct segment *seg);
/* Before seg's record is forgotten (it has no leases): free all its holds. */
void lease_segment_forget(struct lease_table *t, struct registry *r, struct segment *seg);
/* Free holds that keep nothing any more; returns how many are left. */
uint64_t lease_prune_holds(struct lease_table *t, struct registry *r);
/* The first stale hold (NULL: none), and forgetting one once the state
 * file says it keeps nothing. */
struct hold *lease_stale_first(struct lease_table *t);
void lease_stale_dropped(struct lease_table *t, struct registry *r, struct hold *h);
struct hold *lease_hold_first(struct lease_table *t);
struct hold *lease_hold_next(struct lease_table *t, struct hold *h);

/* The start time of process pid (field 22 of /proc/PID/stat, clock ticks
 * since boot), or 0 if it cannot be read (no such process, or /proc hides
 * it). */
uint64_t lease_proc_start(pid_t pid);

#endif

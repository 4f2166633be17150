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
 */
#ifndef SHMV_DAEMON_LEASE_H
#define SHMV_DAEMON_LEASE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <bsd/sys/tree.h>

#include "registry.h"

struct lease {
  RB_ENTRY(lease) by_id;
  LIST_ENTRY(lease) by_owner;
  LIST_ENTRY(lease) by_segment; /* on seg->writers when writable */
  uint64_t id;
  const void *owner; /* the connection's lease list */
  uid_t uid;         /* charged for the view (quotas) */
  struct segment *seg;
  uint64_t offset, length;
  bool writable;
};

RB_HEAD(lease_tree, lease);
LIST_HEAD(lease_list, lease);

struct lease_table {
  struct lease_tree by_id;
  uint64_t next_id;
  uint64_t count;
  uint64_t writable;
};

void lease_table_init(struct lease_table *t);

struct lease *lease_add(struct lease_table *t, struct registry *r, struct lease_list *owner,
                        uid_t uid, struct segment *seg, uint64_t offset, uint64_t length,
                        bool writable);
/* The lease `id` if `owner` holds it, else NULL: a connection can never
 * release another's lease. */
struct lease *lease_find(struct lease_table *t, const struct lease_list *owner, uint64_t id);
void lease_remove(struct lease_table *t, struct registry *r, struct lease *l);
/* Release everything owner holds; returns how many. */
uint64_t lease_remove_all(struct lease_table *t, struct registry *r, struct lease_list *owner);

#endif

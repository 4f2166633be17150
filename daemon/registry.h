/* SPDX-License-Identifier: MIT */
/*
 * registry.h: the daemon's segments.
 *
 * A segment is a POSIX shm object "/<prefix>.<name>", always mode 0600 and
 * owned by the daemon; clients reach it only through descriptors the daemon
 * hands out. A sealed one (rec.sealed) is a memfd instead, with the same
 * owner and mode and its size sealed (F_SEAL_SHRINK | F_SEAL_GROW): it has
 * no name, so the registry keeps its descriptor, and hands it to the
 * service manager's store (fdstore.h) to outlive a restart. The registry keeps segments in a red-black tree ordered by name
 * (O(log n) lookup, and sorted paging for `list`), owns their shm objects
 * (create, resize, unlink) and their memory accounting. It knows nothing of
 * connections or leases beyond a view count and a reference count.
 */
#ifndef SHMV_DAEMON_REGISTRY_H
#define SHMV_DAEMON_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <time.h>

#include <bsd/sys/tree.h>

#include "proto.h"

#define REGISTRY_PREFIX_MAX 48

struct lease;
struct hold;
LIST_HEAD(hold_list, hold);
TAILQ_HEAD(lease_queue, lease);

struct segment {
  RB_ENTRY(segment) by_name;
  struct hold_list holds; /* processes holding views of it (lease.h) */
  /* Its record, as the wire carries it (proto/record.c describes every
   * field): name, size, owner, group, mode, creation time, flags (frozen:
   * no writable view or resize any more; ephemeral, below), and any later
   * field. The state file keeps the fields the description gives a state
   * key. The live counts and unlink state of rec are not used here: the
   * members below hold them, and segment_to_proto() (ops.c) fills them in. */
  struct proto_segment rec;
  uint64_t views; /* live leases, and views kept across a restart */
  uint64_t writable_views;
  unsigned refs;              /* the name (while linked) + one per lease */
  bool linked;                /* false once unlinked: kept while leased */
  bool adopted;               /* re-adopted at start: old views may come back */
  LIST_HEAD(, lease) writers; /* its writable leases (lease.c keeps it) */
  /* Ephemeral (rec.ephemeral): removed when its last view ends. Until its
   * first view opens, it belongs to its creator's connection (`creator`,
   * on that peer's pending list), which removes it if it goes first. */
  const void *creator;
  LIST_ENTRY(segment) pending;
  /* Once unlinked while leased: in the registry's `unlinked` tree by this
   * id (names may repeat there), so `list` can show it, as ipcs does. */
  RB_ENTRY(segment) by_unlink;
  uint64_t unlink_id;         /* 0 while linked */
  struct lease_queue holders; /* its leases, oldest (lowest id) first */
  /* Descriptors of the object kept for the next open (registry_open_fd):
   * read-only and read-write, -1 when not kept. A segment keeping one is
   * on the registry's fd_lru. */
  int fd_ro, fd_rw;
  TAILQ_ENTRY(segment) fd_lru;
  /* A sealed segment's memfd (rec.sealed), read-write, kept for its whole
   * life in the registry: it has no name to be opened by. -1 otherwise. */
  int memfd;
};

LIST_HEAD(segment_list, segment);
TAILQ_HEAD(segment_queue, segment);

/* What one uid holds, for quotas: bytes and segments it owns (an unlinked
 * segment's bytes until its last view goes), views it has open, and the
 * connections it has open (the server's per-uid limit). */
struct usage {
  RB_ENTRY(usage) by_uid;
  uid_t uid;
  uint64_t bytes;
  uint64_t segments;
  uint64_t views;
  uint64_t clients;
};

RB_HEAD(usage_tree, usage);

RB_HEAD(segment_tree, segment);
RB_HEAD(unlinked_tree, segment);

struct registry {
  struct segment_tree by_name;
  char prefix[REGISTRY_PREFIX_MAX + 1];
  uint64_t count; /* linked segments */
  uint64_t bytes; /* all segments we still account for */
  struct usage_tree usage;
  struct unlinked_tree unlinked; /* unlinked, still leased, by unlink_id */
  uint64_t next_unlink_id;
  /* Segments keeping descriptors, most recently opened first; at most
   * fd_cache_max of them (0: none kept, every open calls shm_open). */
  struct segment_queue fd_lru;
  uint64_t fd_cached;
  uint64_t fd_cache_max;
  /* posix_fallocate what a create, grow or repair adds (--reserve daemon,
   * the default); false: leave it to the first process that touches it. */
  bool reserve;
};

/* Prefixes follow the segment-name rules without '.', at most
 * REGISTRY_PREFIX_MAX. */
bool registry_prefix_valid(const char *prefix);

/* fd_cache_max: how many segments may keep descriptors for the next open
 * (registry_open_fd); 0 keeps none. */
void registry_init(struct registry *r, const char *prefix, uint64_t fd_cache_max);
/* Forget every segment (memory only: shm objects stay for a restart). */
void registry_fini(struct registry *r);

struct segment *registry_find(struct registry *r, const char *name);
/* First linked segment whose name sorts after `after` ("" = the first). */
struct segment *registry_first_after(struct registry *r, const char *after);
struct segment *registry_next(struct registry *r, struct segment *s);
/* Unlinked segments still leased, in unlink order: the first with an
 * unlink_id above `after` (0 = the first), and the next. */
struct segment *registry_unlinked_after(struct registry *r, uint64_t after);
struct segment *registry_unlinked_next(struct registry *r, struct segment *s);

/* Record a segment whose shm object already exists (a restart), with the
 * fields of rec. A sealed one's memfd is taken over with registry_adopt_memfd. */
int registry_adopt(struct registry *r, const struct proto_segment *rec, struct segment **out);

/* Give the adopted sealed segment s its memfd back (from the service
 * manager's store), after checking it is one the daemon made: a memfd owned
 * by its euid, mode 0600, its size sealed and rec.size bytes long. Returns 0
 * (fd is s's now) or -errno with what was wrong in why (fd stays the
 * caller's). */
int registry_adopt_memfd(struct segment *s, int fd, char *why, size_t cap);

/* Seal a sealed segment's bytes (F_SEAL_WRITE), for freeze: 0, -EBUSY while
 * a writable shared mapping of it exists anywhere, -EPERM if a holder of a
 * writable descriptor sealed its seals (F_SEAL_SEAL). 0 for a plain one. */
int registry_seal_write(struct segment *s);

/* Drop a record that no lease references, leaving its object alone. */
void registry_forget(struct registry *r, struct segment *s);
/* Set the recorded size (the object already has it). */
void registry_set_size(struct registry *r, struct segment *s, uint64_t size);

/* Give a linked segment another owner: its bytes and its place in the
 * per-uid counts move with it. */
void registry_set_owner(struct registry *r, struct segment *s, uid_t uid);

/* uid's usage; with create, a zeroed entry is made if there is none (NULL
 * only when out of memory). Entries that drop to zero are freed. */
struct usage *registry_usage(struct registry *r, uid_t uid, bool create);
void registry_usage_views(struct registry *r, uid_t uid, int delta);
void registry_usage_clients(struct registry *r, uid_t uid, int delta);

/* Create the shm object of the record rec (name, size, owner, mode ... as
 * the segment will have them) and reserve its memory. Returns 0 or -errno
 * (-EEXIST, -ENOSPC when /dev/shm cannot hold it, ...); on failure nothing
 * is left behind. On -EEXIST the object is someone else's (it is logged,
 * and left alone) and *foreign_uid (if not NULL) is set to its owner. */
int registry_create(struct registry *r, const struct proto_segment *rec, struct segment **out,
                    uid_t *foreign_uid);

/* Grow (reserving the new memory) or shrink the object. The caller checks
 * leases first: shrinking under a live mapping would SIGBUS its owner.
 * A sealed segment's size cannot change: -EPERM. */
int registry_resize(struct registry *r, struct segment *s, uint64_t size);

/* Remove the name now; the record lives on while leases reference it. */
int registry_unlink(struct registry *r, struct segment *s);

/* The object's size now: fstat of fd, or of the object when fd < 0.
 * Returns 0 or -errno. */
int registry_object_size(struct registry *r, const struct segment *s, int fd, uint64_t *size);

/* Give the object back the size the registry records, and reserve its
 * memory again (someone else truncated it). Returns 0 or -errno. */
int registry_restore_size(struct registry *r, const struct segment *s);

/* A new descriptor of the object, O_RDWR or O_RDONLY, close-on-exec, for
 * the caller to close. Duplicated from one the segment keeps (opened on
 * its first open, closed at unlink or when fd_cache_max newer segments
 * were opened since), so an open costs no path lookup; like every
 * duplicate it shares the kept descriptor's open file description (file
 * offset and status flags) with the other holders of that access mode. */
int registry_open_fd(struct registry *r, struct segment *s, bool writable);

void segment_ref(struct segment *s);
void segment_unref(struct registry *r, struct segment *s);

/* "/<prefix>.<name>" into buf (at least NAME_MAX + 1 bytes). */
void registry_object_name(const struct registry *r, const char *name, char *buf, size_t cap);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * state.h: the registry's record on disk, so a restart loses nothing.
 *
 * The bytes of a segment live in its shm object, which outlives the
 * daemon; what would be lost is the metadata (owner, group, mode, creation
 * time) and which processes still map which segments. The state file keeps
 * them: a snapshot written atomically (temporary file, fsync, rename) at
 * start and when it grows stale, and between snapshots one appended line
 * per change. An append is one write(2): once it returns, the line is in
 * the kernel's page cache and survives a kill -9 of the daemon; a torn last
 * line (a machine crash mid-write) is ignored on load. /dev/shm itself does
 * not survive a machine crash, so fsync buys nothing between snapshots.
 *
 * Each change is written before it is acknowledged, and the functions that
 * append return an error when the line could not be written, so the caller
 * refuses (or undoes) the change: what a client was told happened is on
 * disk. A create is written twice: its intent before the object exists,
 * its completion after, so a daemon killed in between removes the object
 * at its next start instead of adopting it with the wrong owner.
 */
#ifndef SHMV_DAEMON_STATE_H
#define SHMV_DAEMON_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "lease.h"
#include "registry.h"

struct state;

/* Load the state file `path` (opened as its last component in dirfd, a
 * directory main.c checked; the state takes dirfd over) into the empty
 * registry r and its holds into lt, check every entry against its object
 * in shmdir (/dev/shm), remove objects of creates that never completed,
 * adopt our own objects that no record names (as the daemon's euid and
 * gid, mode 0600), log and ignore objects that are not ours, then write a
 * fresh snapshot and keep the file open for appends. *adopted counts the
 * segments that were there before we started. Returns 0 or -errno (the
 * file cannot be written), logged. */
int state_open(struct state **out, int dirfd, const char *path, int shmdir, struct registry *r,
               struct lease_table *lt, gid_t gid, size_t *adopted);

/* The recorded fields of a segment: one bit per row of its description
 * (proto/record.c) that has a state key, by the row's wire key ("size",
 * "frozen", "created": a time's row and its nanoseconds' row). 0 for a key
 * the description does not record. A STATE_CHANGED line carries the state
 * keys of the rows given (any flag: the "flags" key, every flag's value). */
uint64_t state_field(const char *key);

/* Set the time row `key` of rec (and its nanoseconds) to now, CLOCK_REALTIME;
 * returns its state_field(). */
uint64_t state_stamp(struct proto_segment *rec, const char *key);

/* The line kinds a change of a segment writes. */
enum state_line {
  STATE_CREATING = '?', /* its whole record, before the object exists */
  STATE_CREATED = '+',  /* its whole record */
  STATE_CHANGED = '=',  /* its name and the fields given */
  STATE_REMOVED = '-',  /* its name */
};

/* Append one line of that kind for the segment record rec (fields:
 * STATE_CHANGED only). Returns 0 or -errno (logged): the line is not on
 * disk. ops.c's change() is the one caller: it writes, applies and undoes. */
int state_record(struct state *st, enum state_line kind, const struct proto_segment *rec,
                 uint64_t fields);
/* Set the fields of s to those of `to` in the registry's record only (no
 * object is touched): size and owner with their accounting, the rest as
 * they are. Loading applies STATE_CHANGED lines with it; ops.c applies a
 * change with it, after changing the object itself (a resize). */
void state_set_fields(struct registry *r, struct segment *s, const struct proto_segment *to,
                      uint64_t fields);

int state_held(struct state *st, struct hold *h); /* a new hold (lease.h): 0 or -errno */

/* Tell the file that the stale holds (lease.h) keep nothing, and forget
 * them: a line each, or a rewrite when there are many. */
int state_drop_stale(struct state *st);

void state_close(struct state *st);

#endif

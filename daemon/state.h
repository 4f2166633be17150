/* SPDX-License-Identifier: MIT */
/*
 * state.h: the registry's record on disk, so a restart loses nothing.
 *
 * The bytes of a segment live in its shm object, which outlives the
 * daemon; what would be lost is the metadata (owner, group, mode, creation
 * time). The state file keeps it: a snapshot written atomically (temporary
 * file, fsync, rename) at start and when it grows stale, and between
 * snapshots one appended line per create, resize and unlink. An append is
 * one write(2): once it returns, the line is in the kernel's page cache
 * and survives a kill -9 of the daemon; a torn last line (a machine crash
 * mid-write) is ignored on load. /dev/shm itself does not survive a
 * machine crash, so fsync buys nothing between snapshots.
 */
#ifndef SHMV_DAEMON_STATE_H
#define SHMV_DAEMON_STATE_H

#include <stddef.h>

#include "registry.h"

struct state;

/* Load path (if it exists) into the empty registry r, check every entry
 * against /dev/shm (entries whose object vanished are dropped, objects with
 * r's prefix but no entry are adopted as uid/gid's with mode 0600, each
 * with a log line), then write a fresh snapshot and keep the file open for
 * appends. *adopted counts the segments that were there before we started.
 * Returns 0 or -errno (the file cannot be written). */
int state_open(struct state **out, const char *path, struct registry *r, uid_t uid, gid_t gid,
               size_t *adopted);

void state_created(struct state *st, struct registry *r, const struct segment *s);
void state_resized(struct state *st, struct registry *r, const struct segment *s);
void state_unlinked(struct state *st, struct registry *r, const char *name);

void state_close(struct state *st);

#endif

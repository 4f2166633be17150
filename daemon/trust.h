/* SPDX-License-Identifier: MIT */
/*
 * trust.h: what the daemon believes about files it did not just create.
 *
 * /dev/shm is writable by every user, and the directory of the socket and
 * state file may be too. Anything found there could have been planted, so
 * every file the daemon relies on passes one of these checks first: shm
 * objects must look exactly like the ones the daemon makes (a regular file
 * owned by its euid, one link, mode 0600), directories must be its own (or
 * root's) and writable by nobody else. This file also owns the prefix lock,
 * a file in /dev/shm that every daemon on the host sees whatever namespace
 * it runs in.
 */
#ifndef SHMV_DAEMON_TRUST_H
#define SHMV_DAEMON_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define TRUST_SHM_DIR     "/dev/shm"
/* The mode of every object the daemon creates. */
#define TRUST_OBJECT_MODE 0600

/* st describes an object this daemon could have made. */
bool trust_object_ok(const struct stat *st);

/* "uid 65534, mode 0666, 2 links" or "a symbolic link": for log lines. */
void trust_describe(const struct stat *st, char *buf, size_t cap);

/* A descriptor of /dev/shm (O_DIRECTORY), opened once and kept. */
int trust_shm_dir(void);

/* Open directory dir (O_DIRECTORY, not following a symbolic link as its
 * last component), creating it 0700 first when create is set and it is
 * missing. It must be owned by the daemon's euid or root and not writable
 * by group or others. Returns the descriptor or -errno, with a log line
 * saying why (what names it: "socket", "state file"). */
int trust_open_dir(const char *dir, bool create, const char *what);

/* Split path into a directory (into dir) and its last component (returned,
 * pointing into path). "x" is "." + "x"; "/x" is "/" + "x". */
const char *trust_split(const char *path, char *dir, size_t cap);

/* Take the prefix lock: "/dev/shm/PREFIX..lock" (a name no segment object
 * can have), created 0600, checked like an object, flock'd. Returns the
 * descriptor to keep open, or -errno (-EWOULDBLOCK: another daemon holds
 * it) with a log line. */
int trust_lock_prefix(int shmdir, const char *prefix);

/* Release it at a clean exit. The file is left in place (so no other user
 * can take its name before the next start). */
void trust_unlock_prefix(int shmdir, const char *prefix, int fd);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * fdstore.h: sealed segments kept across restarts by the service manager.
 *
 * A sealed segment is a memfd: it has no name in /dev/shm, and goes when
 * its last descriptor and mapping go. Under systemd the daemon hands each
 * one to its file descriptor store (FDSTORE=1, FDNAME=seal.PREFIX.NAME,
 * sd_pid_notify_with_fds(3)), which passes them back to the next daemon
 * (LISTEN_FDS, LISTEN_FDNAMES) across a restart, a crash with
 * Restart=on-failure and a package upgrade; an unlink takes it out again
 * (FDSTOREREMOVE=1). The state file says which segments should come back:
 * state.c takes each record's descriptor here, and what no record takes is
 * logged and dropped from the store. Without a store the daemon works the
 * same, and a sealed segment lasts as long as the daemon (or, after it
 * stopped or once unlinked, its last holder): said in the log.
 */
#ifndef SHMV_DAEMON_FDSTORE_H
#define SHMV_DAEMON_FDSTORE_H

#include <stdbool.h>

/* FDNAME of a stored segment: FDSTORE_NAME_PREFIX PREFIX "." NAME, at most
 * 5 + 48 + 1 + 200 = 254 bytes (systemd takes 255). */
#define FDSTORE_NAME_PREFIX "seal."

/* Hand fd, segment name's memfd, to the store. Logs (once a segment) what
 * becomes of it: kept by the store, or lasting only as long as the daemon
 * and its holders when there is no store. */
void fdstore_put(const char *prefix, const char *name, int fd);

/* Take segment name's descriptor out of the store (unlinked). */
void fdstore_remove(const char *prefix, const char *name);

/* At start: a descriptor the service manager passed under fdname (one that
 * starts with FDSTORE_NAME_PREFIX). The table takes fd over. */
void fdstore_passed(const char *fdname, int fd);

/* The descriptor passed for segment name of prefix (the caller's now), or
 * -1 when none was. */
int fdstore_take(const char *prefix, const char *name);

/* Passed descriptors that no record took: logged, removed from the store
 * and closed. */
void fdstore_drop_unclaimed(void);

#endif

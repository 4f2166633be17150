/* SPDX-License-Identifier: MIT */
/*
 * watch.h: notice a segment whose size the daemon did not set.
 *
 * A writable view's descriptor lets its holder ftruncate the object (POSIX
 * shm objects cannot be sealed): shrinking it makes every other mapping
 * fault with SIGBUS, growing it escapes quotas and fallocate. The daemon
 * cannot prevent that; it detects it (inotify on /dev/shm, plus a size
 * check whenever it answers about a segment) and restores the size it
 * owns, logging which uids held writable views at the time.
 */
#ifndef SHMV_DAEMON_WATCH_H
#define SHMV_DAEMON_WATCH_H

#include <stdint.h>

#include <uv.h>

#include "daemon.h"

struct watch;

/* Watch /dev/shm for changes to d's objects. Returns 0 or -errno (the
 * daemon runs without it then, checking sizes only when it answers). */
int watch_start(struct watch **out, uv_loop_t *loop, struct daemon *d);
/* Stop watching; the handle closes on the next loop turn, then frees. */
void watch_stop(struct watch *w);

/* Check s's object against the recorded size (fd: a descriptor of it, or
 * -1) and restore the recorded size if someone else changed it. Returns
 * the size to report: the recorded one, or the object's true size while
 * it could not be restored. */
uint64_t watch_check(struct daemon *d, struct segment *s, int fd);

#endif

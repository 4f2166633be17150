/* SPDX-License-Identifier: MIT */
/*
 * notify.h: shmviewd under a service manager (systemd or anything that
 * speaks its protocols).
 *
 * Readiness and status go to $NOTIFY_SOCKET (sd_notify(3)): READY=1 once
 * the daemon serves, STATUS= with its counters while it runs, STOPPING=1
 * when a signal stops it. A listening socket may be passed to us as fd 3
 * with $LISTEN_FDS/$LISTEN_PID (sd_listen_fds(3)), beside the sealed
 * segments the fd store gives back ($LISTEN_FDNAMES; fdstore.h).
 *
 * With libsystemd (HAVE_LIBSYSTEMD) these call sd_notify()/sd_listen_fds();
 * without it the same two small protocols are spoken directly, so the
 * daemon behaves the same either way.
 */
#ifndef SHMV_DAEMON_NOTIFY_H
#define SHMV_DAEMON_NOTIFY_H

#include <stddef.h>

#include <uv.h>

#include "daemon.h"

/* Send one notification ("READY=1\nSTATUS=..."). Returns 1 if sent, 0 if
 * there is no $NOTIFY_SOCKET, or -errno. */
int notify_send(const char *state);

/* The same with fd attached (SCM_RIGHTS), as the fd store takes it
 * (FDSTORE=1, fdstore.h). */
int notify_send_fd(const char *state, int fd);

/* The listening socket passed by a service manager, if any: *fd_out is the
 * fd (close-on-exec) with its path in path (or "(unnamed)"), or -1 if none
 * was passed. Passed descriptors named FDSTORE_NAME_PREFIX... are sealed
 * segments from the fd store: they go to fdstore_passed(), not here. Returns 0, or -errno after logging why a passed socket cannot
 * be used (*fd_out is then -1). The LISTEN_* variables are removed from the
 * environment either way. */
int notify_listen_fd(int *fd_out, char *path, size_t cap);

/* READY=1 and status updates for one daemon. */
struct notifier {
  uv_timer_t timer;
  struct daemon *d;
  char last[200]; /* the last STATUS= sent: only changes are sent */
  int active;
};

/* Send READY=1 with a first STATUS= and start updating the status every
 * few seconds (only when the counters changed). Does nothing, cheaply, when
 * there is no $NOTIFY_SOCKET. */
void notifier_start(struct notifier *n, uv_loop_t *loop, struct daemon *d);

/* Send STOPPING=1 and close the timer (on the next loop turn). */
void notifier_stop(struct notifier *n);

#endif

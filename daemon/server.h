/* SPDX-License-Identifier: MIT */
/*
 * server.h: the event loop's side of shmviewd.
 *
 * Listens on the Unix socket, accepts connections, reads frames, hands each
 * decoded request to ops_handle() and queues the answer. It owns sockets and
 * byte queues; it never decides anything about segments. server.c puts
 * together listen.c, peer.c, conn.c and inflight.c (server-internal.h).
 */
#ifndef SHMV_DAEMON_SERVER_H
#define SHMV_DAEMON_SERVER_H

#include <uv.h>

#include "daemon.h"

struct server;

/* Bind (or adopt listen_fd >= 0, already listening) and start serving on
 * loop. Returns 0 or -errno, with a log line saying why. */
int server_start(struct server **out, uv_loop_t *loop, struct daemon *d, int listen_fd);

/* Stop accepting, close every connection (releasing their leases), remove
 * the socket file if we created it. Handles close on the next loop turn. */
void server_stop(struct server *s);

/* Free what server_stop left once the loop has run its close callbacks. */
void server_free(struct server *s);

#endif

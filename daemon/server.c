/* SPDX-License-Identifier: MIT */
/*
 * server.c: the event loop's side of shmviewd, put together.
 *
 * Four files serve clients, each with one job: listen.c owns the listening
 * socket and who gets in, peer.c who is on the other end, conn.c a
 * connection's bytes, frames and answers, inflight.c the descriptors sent
 * and not yet read. This one starts and stops them in order and keeps the
 * one thing they share: the rate at which they may complain about clients.
 * Their shared structs are in server-internal.h.
 *
 * None of them decides anything about segments: requests go to
 * ops_handle(), ends of connections to ops_peer_gone(), and the domain's
 * own timers are ops' (reaper.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "server-internal.h"

/* At most this many warnings about clients per second: a flood of
 * connections must not become a flood of log lines. */
#define WARN_BURST 10

bool server_warn_ok(struct server *s) {
  uint64_t now = proto_monotonic_ms();

  if (now - s->warn_window_ms >= 1000) {
    if (s->warn_suppressed > 0)
      log_warn("%llu more warnings about clients were suppressed",
               (unsigned long long)s->warn_suppressed);
    s->warn_window_ms = now;
    s->warn_count = s->warn_suppressed = 0;
  }
  if (s->warn_count < WARN_BURST) {
    s->warn_count++;
    return true;
  }
  s->warn_suppressed++;
  return false;
}

int server_start(struct server **out, uv_loop_t *loop, struct daemon *d, int listen_fd) {
  struct server *s = calloc(1, sizeof *s);
  int rc;

  if (s == NULL)
    return -ENOMEM;
  s->loop = loop;
  s->d = d;
  s->listen_fd = s->reserve_fd = -1;
  rc = conns_init(s);
  if (rc < 0)
    goto fail;
  rc = listen_start(s, listen_fd);
  if (rc < 0)
    goto fail;
  conns_start(s);
  inflight_init(s);
  *out = s;
  return 0;

fail:
  listen_free(s);
  conns_free(s);
  free(s);
  return rc;
}

void server_stop(struct server *s) {
  if (s->stopping)
    return;
  s->stopping = true;
  listen_stop(s); /* first: no connection comes in while the others go */
  inflight_stop(s);
  conns_stop(s);
}

void server_free(struct server *s) {
  if (s == NULL)
    return;
  listen_free(s);
  conns_free(s);
  free(s);
}

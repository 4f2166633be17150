/* SPDX-License-Identifier: MIT */
/*
 * inflight.c: descriptors sent to a connection and not yet read.
 *
 * An answer to `open` carries a descriptor, which the kernel counts
 * against our RLIMIT_NOFILE until the client reads it (and refuses more
 * with ETOOMANYREFS, for every connection, once too many are unread). So
 * each connection may have at most --max-fds-in-flight descriptors sent
 * and unread: further answers to `open` are held in its queue (which stops
 * its reading) until SIOCOUTQ says it has read everything we sent, and a
 * connection that leaves them unread for --send-timeout is dropped. An
 * ETOOMANYREFS is charged to the connection with the most unread
 * descriptors, never to the one whose send failed.
 *
 * conn.c counts what it sends (conn.fds_in_flight) and asks here before
 * each descriptor whether it may go; this file holds the connection when
 * not, and keeps the held connections and their timer. It never
 * reads from a socket and never decides about segments: a view that
 * cannot be handed over is ended through ops_lease_end().
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "server-internal.h"

/* How often a connection holding answers for unread descriptors is
 * looked at again (SIOCOUTQ), in milliseconds. */
#define HELD_CHECK_MS 20

static void on_held_timer(uv_timer_t *t);

/* Hold c's answers until its unread descriptors are read: the held timer
 * looks again. */
static void inflight_hold(struct conn *c) {
  struct server *s = c->srv;

  if (c->held_since_ms != 0)
    return;
  c->held_since_ms = proto_monotonic_ms();
  LIST_INSERT_HEAD(&s->held, c, held_link);
  if (!uv_is_active((uv_handle_t *)&s->held_timer))
    uv_timer_start(&s->held_timer, on_held_timer, HELD_CHECK_MS, HELD_CHECK_MS);
}

void inflight_unhold(struct conn *c) {
  if (c->held_since_ms == 0)
    return;
  c->held_since_ms = 0;
  LIST_REMOVE(c, held_link);
}

/* true if c's peer has read everything we sent: SIOCOUTQ counts what our
 * side of a Unix socket sent that its reader has not taken. */
static bool inflight_all_read(const struct conn *c) {
  int queued = 0;

  return ioctl(c->fd, SIOCOUTQ, &queued) == 0 && queued == 0;
}

bool inflight_drained(struct conn *c) {
  if (!inflight_all_read(c)) {
    inflight_hold(c);
    return false;
  }
  c->fds_in_flight = 0;
  return true;
}

void inflight_recount(struct conn *c) {
  if (inflight_all_read(c))
    c->fds_in_flight = 0;
}

/* f's descriptor could not be sent: answer its open with an error
 * instead, releasing the lease it took. Returns -1 if c had to close. */
static int refuse_open(struct conn *c, struct out_frame *f) {
  struct server *s = c->srv;
  struct proto_response err;
  struct lease *l = lease_find(&s->d->leases, &c->peer.leases, f->lease);
  msgpack_sbuffer sb;

  if (l != NULL)
    ops_lease_end(s->d, l, "its only view could not be handed over");
  close(f->fd);
  f->fd = -1;
  proto_response_error(&err, f->id, PROTO_OP_OPEN, EAGAIN,
                       "the daemon has too many descriptors in flight to clients that do not "
                       "read them; try again");
  msgpack_sbuffer_init(&sb);
  if (proto_response_encode(&err, s->d->cfg.frame_max, &sb) < 0) {
    msgpack_sbuffer_destroy(&sb);
    conn_close(c);
    return -1;
  }
  if (f->own_data)
    free(f->data);
  f->len = sb.size;
  f->data = msgpack_sbuffer_release(&sb);
  f->own_data = true;
  return 0;
}

/* The kernel refused a descriptor (ETOOMANYREFS): too many of ours are in
 * flight, over all connections. The fault is with whoever leaves the most
 * unread, never with a client that has read all it was sent: the worst
 * one is dropped, and c, if innocent, gets an error answer to this open
 * (its connection stays); if c has unread descriptors too, its answers
 * wait, as at --max-fds-in-flight. Dropping the culprit frees its
 * descriptors only once its process reads or closes its end, which is why
 * the innocent get an answer rather than a wait. Returns -1 if c closed. */
int inflight_too_many_refs(struct conn *c, struct out_frame *f) {
  struct server *s = c->srv;
  struct conn *worst = NULL, *o;

  /* Rare, so an ioctl per connection is affordable: counts are only
   * reset when a client asks again, and one that has read all is no
   * culprit whatever its count says. */
  LIST_FOREACH(o, &s->conns, link) {
    if (o->fds_in_flight > 0 && inflight_all_read(o))
      o->fds_in_flight = 0;
    if (o->fds_in_flight > 0 && (worst == NULL || o->fds_in_flight > worst->fds_in_flight))
      worst = o;
  }
  if (worst != NULL && worst != c) {
    if (server_warn_ok(s))
      log_warn("too many descriptors in flight: dropping client pid %d uid %u, which left %llu "
               "unread",
               (int)worst->peer.pid, (unsigned)worst->peer.uid,
               (unsigned long long)worst->fds_in_flight);
    conn_close(worst);
  }
  if (c->fds_in_flight > 0) {
    inflight_hold(c);
    return 0;
  }
  if (server_warn_ok(s))
    log_warn("too many descriptors in flight: client pid %d uid %u is refused a view for now",
             (int)c->peer.pid, (unsigned)c->peer.uid);
  return refuse_open(c, f);
}

/* Connections whose answers wait for their descriptors to be read. Sending
 * may drop other connections (ETOOMANYREFS), so the walk starts again
 * after each one it acts on, skipping those already seen this tick. */
static void on_held_timer(uv_timer_t *t) {
  struct server *s = t->data;
  uint64_t now = proto_monotonic_ms(), limit = s->d->cfg.send_timeout_ms;
  uint64_t tick = ++s->held_tick;
  struct conn *c;

again:
  LIST_FOREACH(c, &s->held, held_link) {
    if (c->held_tick == tick)
      continue;
    c->held_tick = tick;
    if (inflight_all_read(c)) {
      inflight_unhold(c);
      c->fds_in_flight = 0;
      conn_resume(c); /* send, and answer what waits */
      goto again;
    }
    if (limit != 0 && c->fds_in_flight > 0 && now - c->held_since_ms >= limit) {
      if (server_warn_ok(s))
        log_warn("client pid %d uid %u left %llu descriptors unread for %llu s; dropping it",
                 (int)c->peer.pid, (unsigned)c->peer.uid, (unsigned long long)c->fds_in_flight,
                 (unsigned long long)(limit / 1000));
      conn_close(c);
      goto again;
    }
  }
  if (LIST_EMPTY(&s->held))
    uv_timer_stop(&s->held_timer);
}

void inflight_init(struct server *s) {
  LIST_INIT(&s->held);
  uv_timer_init(s->loop, &s->held_timer);
  s->held_timer.data = s;
}

void inflight_stop(struct server *s) {
  uv_close((uv_handle_t *)&s->held_timer, NULL);
}

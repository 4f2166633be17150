/* SPDX-License-Identifier: MIT */
/*
 * server-internal.h: what the server's files share, and nothing else uses.
 *
 * server.c starts and stops the whole; listen.c owns the listening socket
 * and who gets in; conn.c a connection's bytes, frames and answers;
 * inflight.c the descriptors sent and not yet read. Each struct field
 * below says whose it is; the others only read it.
 */
#ifndef SHMV_DAEMON_SERVER_INTERNAL_H
#define SHMV_DAEMON_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <msgpack.h>
#include <uv.h>

#include "daemon.h"
#include "ops.h"
#include "peer.h"
#include "proto.h"
#include "server.h"

/* Answers are queued in out_frames with at least this many bytes of room
 * (an open's answer takes about 100, an error's up to about 300), and up
 * to SPARE_FRAMES of those are kept for the next answers: a malloc and a
 * free per answer otherwise. */
#define FRAME_ROOM   512
#define SPARE_FRAMES 8

/* One answer waiting to be sent (conn.c). */
struct out_frame {
  STAILQ_ENTRY(out_frame) link;
  char *data;  /* the bytes after this struct, or a buffer of their own */
  size_t room; /* bytes after this struct */
  size_t len;
  size_t off;
  bool own_data;
  int fd;             /* rides on the first byte; -1 once sent or if none */
  uint64_t id, lease; /* with fd: the open it answers, and its lease */
};

/* One client connection (conn.c, but for the fields inflight.c keeps). */
struct conn {
  LIST_ENTRY(conn) link;
  LIST_ENTRY(conn) held_link; /* on server.held while held */
  struct server *srv;
  uv_poll_t poll;
  int fd;
  struct peer peer;
  struct proto_reader rd;
  STAILQ_HEAD(, out_frame) outq;
  size_t outq_frames;
  int events;                /* what poll is watching now */
  uint64_t stalled_since_ms; /* the socket took none of our bytes since; 0: not stalled */
  uint64_t accepted_ms;
  uint64_t frame_since_ms; /* a frame is half received since; 0: none */
  uint64_t fds_in_flight;  /* descriptors sent since the peer last had nothing unread */
  uint64_t held_since_ms;  /* answers held back for unread descriptors; 0: not held */
  uint64_t held_tick;      /* the held timer's last look */
  bool refused;            /* refused (why): answer EUSERS or EACCES once, then close */
  enum peer_refusal why;
  bool closing; /* no more reading; close once the queue is sent */
  bool dead;    /* uv_close called */
};

struct server {
  uv_loop_t *loop;
  struct daemon *d;
  bool stopping;
  /* server.c: warnings about clients, this second's count */
  uint64_t warn_window_ms;
  uint64_t warn_count, warn_suppressed;
  /* listen.c */
  uv_poll_t listen_poll;
  int listen_fd;
  int reserve_fd; /* spare descriptor for shedding connections at EMFILE */
  bool owns_socket_file;
  dev_t sock_dev;
  ino_t sock_ino;
  /* conn.c; listen.c bounds `refused` */
  LIST_HEAD(, conn) conns;
  uint64_t refused;   /* connections refused, waiting to be told why */
  uv_timer_t sweep;   /* drops clients stalled past --send-timeout or --frame-timeout */
  size_t freed_bytes; /* released since the last malloc_trim */
  struct proto_segment *scratch;
  size_t scratch_len;
  msgpack_sbuffer sb; /* answers are encoded here, then copied behind their out_frame */
  struct out_frame *spare[SPARE_FRAMES]; /* sent, FRAME_ROOM bytes of room, for reuse */
  size_t nspare;
  /* inflight.c */
  uv_timer_t held_timer; /* looks at held connections again */
  LIST_HEAD(, conn) held;
  uint64_t held_tick;
};

/* server.c: true if one more warning about a client may be logged this
 * second (a flood of connections must not become a flood of log lines). */
bool server_warn_ok(struct server *s);

/* listen.c: bind (or adopt listen_fd >= 0, already listening) and watch
 * for connections. Returns 0 or -errno, logged. */
int listen_start(struct server *s, int listen_fd);
/* Stop accepting; remove the socket file if it is still the one we bound. */
void listen_stop(struct server *s);
void listen_free(struct server *s);

/* conn.c: a new connection on fd (ours now) from peer p (what p holds
 * moves into it), refused for why or admitted; counted, and watched. On
 * failure fd is closed and p freed, with a log line. */
void conn_open(struct server *s, int fd, struct peer *p, enum peer_refusal why);
/* Stop reading, end c's leases (ops_peer_gone), free it on the next turn. */
void conn_close(struct conn *c);
/* Send what waits and answer what was buffered, as on a poll event. */
void conn_resume(struct conn *c);
/* The connections' memory (-ENOMEM), then their sweep timer (send, frame
 * and refused timeouts); at stop the timer and every connection close. */
int conns_init(struct server *s);
void conns_start(struct server *s);
void conns_stop(struct server *s);
void conns_free(struct server *s);

/* inflight.c: descriptors sent to a connection and not yet read. */
void inflight_init(struct server *s);
void inflight_stop(struct server *s);
/* Stop holding c's answers (it is closing). */
void inflight_unhold(struct conn *c);
/* true if c has --max-fds-in-flight descriptors sent and unread, as far
 * as its count knows. Inline, as inflight_recheck: asked for every answer
 * carrying a descriptor, and at every wake-up. */
static inline bool inflight_full(const struct conn *c) {
  uint64_t limit = c->srv->d->cfg.max_fds_in_flight;

  return limit != 0 && c->fds_in_flight >= limit;
}
/* c is full: true if its peer has read everything (its count starts
 * again), false if not (c's answers are now held until it has). */
bool inflight_drained(struct conn *c);
/* Reset c's count if its peer has read everything. */
void inflight_recount(struct conn *c);
/* Before reading what c asks. A client that asks again has usually read
 * every answer so far (the library waits for each open's): then none of
 * its descriptors is in flight. Checked before this wake-up's answers go
 * out, so an open/release cycle never reaches the limit (where conn_flush
 * would hold its answer); but only from half the limit on, so the ioctl
 * costs one request in limit/2, not every one. The bound itself is
 * conn_flush's, which checks at the limit whatever happens here. */
static inline void inflight_recheck(struct conn *c) {
  if (c->fds_in_flight > 0 && c->fds_in_flight >= c->srv->d->cfg.max_fds_in_flight / 2)
    inflight_recount(c);
}
/* The kernel refused f's descriptor (ETOOMANYREFS). Returns -1 if c had to
 * close; else f now carries an error answer, or c is held. */
int inflight_too_many_refs(struct conn *c, struct out_frame *f);

#endif

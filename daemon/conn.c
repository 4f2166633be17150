/* SPDX-License-Identifier: MIT */
/*
 * conn.c: one client connection: its bytes, its frames, its answers.
 *
 * Each connection is a non-blocking socket watched by a uv_poll_t rather
 * than a uv_pipe_t: the answer to `open` carries a descriptor as
 * SCM_RIGHTS, which uv_write2 cannot send (it only passes stream handles).
 * Owning the socket lets one place, proto_send(), attach the descriptor to
 * the first byte of its frame, so a partial write can neither lose it nor
 * send it twice.
 *
 * The loop only moves bytes: a whole frame is decoded and handed to
 * ops_handle(), and the encoded answer is queued. Reading stops while a
 * connection's queue holds more than a few frames (a client that does not
 * read its answers stalls only itself, and what we buffer for it is
 * bounded), and resumes when the queue drains. A client that accepts none
 * of its answers for --send-timeout seconds is dropped: it holds leases,
 * and a peer that reads nothing is indistinguishable from a stuck one.
 * Answers carrying descriptors may also wait for the client to read
 * those it was sent before (inflight.c).
 *
 * Half-sent frames: a frame must be completed within --frame-timeout of
 * its first byte; receive buffers grow with what is buffered and are freed
 * once their frames are taken (proto_reader). A refused connection
 * (listen.c) is answered EUSERS on its first request, or dropped if it
 * asks nothing in time.
 *
 * Framing errors (an empty or oversize frame, a payload that is not
 * msgpack) get one error answer and then the connection is closed: the
 * stream cannot be trusted after them. A well-formed request with bad
 * arguments only gets an error answer.
 *
 * It decides nothing about segments: requests go to ops_handle(), and a
 * connection's end to ops_peer_gone(), which ends its leases.
 */
#include "config.h"

#include <errno.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "server-internal.h"

/* Stop reading from a connection while this many answers wait for it. */
#define OUTQ_PAUSE_FRAMES 4
/* Reads per wake-up, so one busy client cannot starve the others. */
#define READS_PER_WAKEUP  16
/* Give freed memory back to the kernel once this much was released. */
#define TRIM_AFTER_BYTES  (1u << 20)

static void conn_update(struct conn *c);

/* ---- output ---- */

static void out_frame_free(struct server *s, struct out_frame *f) {
  if (f->fd >= 0)
    close(f->fd);
  if (f->own_data)
    free(f->data);
  if (f->room == FRAME_ROOM && s->nspare < SPARE_FRAMES)
    s->spare[s->nspare++] = f;
  else
    free(f);
}

/* An out_frame with room for len bytes behind it, zeroed but for them. */
static struct out_frame *out_frame_new(struct server *s, size_t len) {
  size_t room = len <= FRAME_ROOM ? FRAME_ROOM : len;
  struct out_frame *f =
      len <= FRAME_ROOM && s->nspare > 0 ? s->spare[--s->nspare] : malloc(sizeof *f + room);

  if (f == NULL)
    return NULL;
  memset(f, 0, sizeof *f);
  f->room = room;
  f->data = (char *)(f + 1);
  return f;
}

/* Queue resp (and fd, whose ownership we take) for c. The answer is
 * encoded into the server's buffer, kept from one answer to the next, and
 * copied behind its out_frame, usually a spare one: no allocation per
 * answer, instead of three (a growing sbuffer of its own, then the frame). */
static void conn_queue(struct conn *c, const struct proto_response *resp, int fd) {
  struct server *s = c->srv;
  msgpack_sbuffer *sb = &s->sb;
  struct out_frame *f;
  int rc;

  msgpack_sbuffer_clear(sb);
  rc = proto_response_encode(resp, s->d->cfg.frame_max, sb);
  if (rc < 0) {
    struct proto_response err;

    /* Only a list page could outgrow a frame; its page size prevents it. */
    log_error("cannot encode an answer to request %llu: %s", (unsigned long long)resp->id,
              strerror(-rc));
    proto_response_error(&err, resp->id, resp->op, EMSGSIZE, "the answer does not fit in a frame");
    msgpack_sbuffer_clear(sb);
    rc = proto_response_encode(&err, s->d->cfg.frame_max, sb);
    if (fd >= 0)
      close(fd);
    fd = -1;
  }
  f = rc < 0 ? NULL : out_frame_new(s, sb->size);
  if (f == NULL) {
    log_error("out of memory queueing an answer; closing the connection");
    if (fd >= 0)
      close(fd);
    conn_close(c);
    return;
  }
  f->len = sb->size;
  memcpy(f->data, sb->data, sb->size);
  f->fd = fd;
  if (fd >= 0) {
    f->id = resp->id;
    f->lease = resp->u.view.lease;
  }
  STAILQ_INSERT_TAIL(&c->outq, f, link);
  c->outq_frames++;
}

/* Answers that are ready go out together, up to FLUSH_FRAMES in one
 * sendmsg: a release's answer and the next open's, which arrive together,
 * then wake the client once instead of twice. A descriptor rides only on a
 * send that ends with its answer, whose first byte is in it: the reader
 * gives a descriptor to the last frame starting among the bytes it came
 * with (docs/protocol.md), and a send carrying one stays small enough to
 * be a single chunk in the socket. */
#define FLUSH_FRAMES   8
#define FLUSH_FD_BYTES 4096

/* Send what the socket takes now. Returns -1 if the connection died. */
static int conn_flush(struct conn *c) {
  bool fd_alone = false; /* after ETOOMANYREFS: a descriptor's answer goes first, alone */

  while (!STAILQ_EMPTY(&c->outq)) {
    struct iovec iov[FLUSH_FRAMES];
    struct out_frame *f, *carrier = NULL;
    size_t total = 0;
    int n_iov = 0;
    ssize_t n;

    STAILQ_FOREACH(f, &c->outq, link) {
      if (n_iov == FLUSH_FRAMES)
        break;
      if (f->fd >= 0) { /* its first byte has not gone */
        if (n_iov > 0 && (fd_alone || total + f->len > FLUSH_FD_BYTES))
          break;
        if (inflight_full(c)) {
          if (n_iov > 0)
            break; /* what is before it goes first */
          if (!inflight_drained(c))
            return 0; /* held until its peer reads what it was sent */
        }
        carrier = f;
      }
      iov[n_iov].iov_base = f->data + f->off;
      iov[n_iov].iov_len = f->len - f->off;
      total += iov[n_iov++].iov_len;
      if (carrier != NULL)
        break;
    }
    n = proto_sendv(c->fd, iov, n_iov, carrier != NULL ? carrier->fd : -1);
    if (n == -EAGAIN) {
      if (c->stalled_since_ms == 0)
        c->stalled_since_ms = proto_monotonic_ms();
      return 0;
    }
    if (n == -ETOOMANYREFS) {
      if (carrier != STAILQ_FIRST(&c->outq)) {
        fd_alone = true; /* send the answers before it, then try it alone */
        continue;
      }
      if (inflight_too_many_refs(c, carrier) < 0)
        return -1;
      if (c->held_since_ms != 0)
        return 0;
      continue; /* send the error answer instead */
    }
    if (n < 0) {
      log_debug("client pid %d: send: %s", (int)c->peer.pid, strerror((int)-n));
      conn_close(c);
      return -1;
    }
    c->stalled_since_ms = 0;
    if (carrier != NULL) { /* it went with the first byte */
      close(carrier->fd);
      carrier->fd = -1;
      c->fds_in_flight++;
    }
    while (n > 0) {
      size_t left, took;

      f = STAILQ_FIRST(&c->outq);
      left = f->len - f->off;
      took = (size_t)n < left ? (size_t)n : left;
      f->off += took;
      n -= (ssize_t)took;
      if (f->off == f->len) {
        STAILQ_REMOVE_HEAD(&c->outq, link);
        c->outq_frames--;
        out_frame_free(c->srv, f);
      }
    }
  }
  if (c->closing) {
    conn_close(c);
    return -1;
  }
  return 0;
}

/* ---- input ---- */

static void answer_error(struct conn *c, uint64_t id, enum proto_op op, int code, const char *msg) {
  struct proto_response resp;

  proto_response_error(&resp, id, op, code, "%s", msg);
  conn_queue(c, &resp, -1);
}

static void handle_frame(struct conn *c, const uint8_t *payload, size_t len) {
  struct server *s = c->srv;
  struct proto_request req;
  struct proto_response resp;
  char errmsg[PROTO_MSG_MAX];
  int rc, fd = -1;

  memset(&req, 0, sizeof req);
  rc = proto_request_decode(payload, len, &req, errmsg, sizeof errmsg);
  if (c->refused) {
    char msg[256];

    if (c->why == PEER_UNMAPPED)
      snprintf(msg, sizeof msg,
               "this daemon runs in a user namespace that does not map your uid or gid, "
               "so it cannot tell you from other unmapped users; use a daemon on the host");
    else if (c->why == PEER_OUTSIDE_PIDNS)
      snprintf(msg, sizeof msg,
               "this daemon runs in a pid namespace that does not contain your process, so "
               "it cannot show your views nor keep them across a restart; use a daemon in "
               "your pid namespace or the host's (or start this one with --allow-namespaces)");
    else if (c->why == PEER_OVER_UID_LIMIT)
      snprintf(msg, sizeof msg, "too many connections from uid %u (the limit is %llu)",
               (unsigned)c->peer.uid, (unsigned long long)peer_uid_limit(s->d, c->peer.uid));
    else
      snprintf(msg, sizeof msg, "too many clients (the limit is %llu)",
               (unsigned long long)s->d->cfg.max_clients);
    answer_error(c, req.id, req.op,
                 c->why == PEER_UNMAPPED || c->why == PEER_OUTSIDE_PIDNS ? EACCES : EUSERS, msg);
    c->closing = true;
    return;
  }
  if (rc == -EPROTO) {
    if (server_warn_ok(s))
      log_warn("client pid %d sent an undecodable frame (%s); closing it", (int)c->peer.pid,
               errmsg);
    answer_error(c, req.id, req.op, EPROTO, errmsg);
    c->closing = true;
    return;
  }
  if (rc < 0) {
    s->d->requests++;
    answer_error(c, req.id, req.op, -rc, errmsg);
    return;
  }
  ops_handle(s->d, &c->peer, &req, &resp, &fd, s->scratch, s->scratch_len);
  if (resp.err != 0)
    log_debug("client pid %d: %s: %s", (int)c->peer.pid, proto_op_name(req.op), resp.msg);
  conn_queue(c, &resp, fd);
}

/* Decode and answer whole frames while the queue has room. */
static void conn_process(struct conn *c) {
  struct proto_frame f;
  int rc;

  while (!c->closing && !c->dead && c->outq_frames < OUTQ_PAUSE_FRAMES) {
    rc = proto_reader_get(&c->rd, &f);
    if (rc == 0)
      break;
    if (rc < 0) {
      const char *why = rc == -EMSGSIZE ? "a frame larger than the limit" : "an empty frame";

      if (server_warn_ok(c->srv))
        log_warn("client pid %d sent %s; closing it", (int)c->peer.pid, why);
      answer_error(c, 0, PROTO_OP_NONE, -rc,
                   rc == -EMSGSIZE ? "frame larger than the daemon's limit" : "empty frame");
      c->closing = true;
      break;
    }
    c->frame_since_ms = 0;
    handle_frame(c, f.payload, f.len); /* f.fd is -1: the reader keeps none */
  }
}

static void conn_read(struct conn *c) {
  for (int i = 0; i < READS_PER_WAKEUP && !c->closing; i++) {
    bool drained;
    ssize_t n;

    if (c->outq_frames >= OUTQ_PAUSE_FRAMES)
      break;
    n = proto_reader_read(&c->rd, c->fd);
    if (n == -EAGAIN || n == -ENOBUFS)
      break;
    drained = c->rd.short_read;
    if (n == -ENOMEM) {
      log_error("out of memory reading from client pid %d", (int)c->peer.pid);
      conn_close(c);
      return;
    }
    if (n == 0 && proto_reader_pending(&c->rd) > 0 && server_warn_ok(c->srv))
      log_warn("client pid %d hung up in the middle of a frame", (int)c->peer.pid);
    if (n <= 0) {
      if (n < 0)
        log_debug("client pid %d: recv: %s", (int)c->peer.pid, strerror((int)-n));
      conn_close(c);
      return;
    }
    conn_process(c);
    if (c->dead)
      return;
    /* With room in the queue, what is left is the start of a frame: it
     * has --frame-timeout to arrive whole. */
    if (c->outq_frames < OUTQ_PAUSE_FRAMES && proto_reader_pending(&c->rd) > 0 &&
        c->frame_since_ms == 0)
      c->frame_since_ms = proto_monotonic_ms();
    /* A read that left room took all the socket had: another would only
     * say EAGAIN. The poll is level-triggered, so bytes that arrive now
     * wake us again. */
    if (drained)
      break;
  }
}

static void on_conn_event(uv_poll_t *h, int status, int events) {
  struct conn *c = h->data;

  if (status < 0) {
    log_debug("client pid %d: poll: %s", (int)c->peer.pid, uv_strerror(status));
    conn_close(c);
    return;
  }
  if (events & (UV_READABLE | UV_DISCONNECT)) {
    inflight_recheck(c); /* a client that asks again has usually read all */
    conn_read(c);
  }
  /* Send, and answer frames already buffered as the queue drains: a client
   * that pipelined requests may send nothing more until it has answers. */
  while (!c->dead) {
    if (conn_flush(c) < 0)
      return;
    if (!STAILQ_EMPTY(&c->outq))
      break; /* the socket is full: wait until it is writable */
    conn_process(c);
    if (c->outq_frames == 0)
      break;
  }
  if (!c->dead)
    conn_update(c);
}

void conn_resume(struct conn *c) {
  on_conn_event(&c->poll, 0, 0);
}

/* Watch for what the connection needs now. */
static void conn_update(struct conn *c) {
  int want = 0;

  if (c->dead)
    return;
  if (!c->closing && c->outq_frames < OUTQ_PAUSE_FRAMES)
    want |= UV_READABLE;
  if (!STAILQ_EMPTY(&c->outq) && c->held_since_ms == 0)
    want |= UV_WRITABLE; /* held: the held timer looks again */
  if (want == c->events)
    return;
  c->events = want;
  if (want == 0)
    uv_poll_stop(&c->poll);
  else
    uv_poll_start(&c->poll, want, on_conn_event);
}

/* ---- connection life ---- */

static void on_conn_closed(uv_handle_t *h) {
  struct conn *c = h->data;
  struct out_frame *f;

  while ((f = STAILQ_FIRST(&c->outq)) != NULL) {
    STAILQ_REMOVE_HEAD(&c->outq, link);
    out_frame_free(c->srv, f);
  }
  c->srv->freed_bytes += c->rd.cap + sizeof *c;
  proto_reader_free(&c->rd);
  close(c->fd); /* only now: libuv must stop watching it first */
  peer_fini(&c->peer);
  free(c);
}

void conn_close(struct conn *c) {
  struct server *s = c->srv;
  uint64_t n;

  if (c->dead)
    return;
  c->dead = true;
  LIST_REMOVE(c, link);
  inflight_unhold(c);
  n = ops_peer_gone(s->d, &c->peer, s->stopping);
  if (c->refused) {
    s->refused--;
  } else {
    peer_count(s->d, &c->peer, -1);
  }
  log_debug("client pid %d uid %u disconnected (%llu lease%s released)", (int)c->peer.pid,
            (unsigned)c->peer.uid, (unsigned long long)n, n == 1 ? "" : "s");
  uv_close((uv_handle_t *)&c->poll, on_conn_closed);
}

void conn_open(struct server *s, int fd, struct peer *p, enum peer_refusal why) {
  struct conn *c = calloc(1, sizeof *c);

  if (c == NULL) {
    log_error("cannot accept a client: out of memory");
    peer_fini(p);
    close(fd);
    return;
  }
  c->peer = *p;
  LIST_INIT(&c->peer.leases); /* empty: the copy points nowhere */
  LIST_INIT(&c->peer.pending);
  c->refused = why != PEER_ADMITTED;
  c->why = why;
  if (uv_poll_init(s->loop, &c->poll, fd) != 0) {
    log_error("cannot watch client socket");
    peer_fini(&c->peer);
    free(c);
    close(fd);
    return;
  }
  c->srv = s;
  c->fd = fd;
  c->poll.data = c;
  STAILQ_INIT(&c->outq);
  proto_reader_init(&c->rd, s->d->cfg.frame_max, false);
  LIST_INSERT_HEAD(&s->conns, c, link);
  c->accepted_ms = proto_monotonic_ms();
  if (c->refused) {
    s->refused++;
  } else {
    peer_count(s->d, &c->peer, 1);
  }
  log_debug("client pid %d uid %u connected", (int)c->peer.pid, (unsigned)c->peer.uid);
  conn_update(c);
}

/* ---- timeouts ---- */

static void on_sweep(uv_timer_t *t) {
  struct server *s = t->data;
  const struct daemon_config *cfg = &s->d->cfg;
  uint64_t now = proto_monotonic_ms(), limit = cfg->send_timeout_ms;
  uint64_t frame_limit = cfg->frame_timeout_ms;
  uint64_t refused_limit = frame_limit != 0 ? frame_limit : 5000;
  struct conn *c, *next;

  for (c = LIST_FIRST(&s->conns); c != NULL; c = next) {
    next = LIST_NEXT(c, link);
    if (limit != 0 && c->stalled_since_ms != 0 && now - c->stalled_since_ms >= limit) {
      if (server_warn_ok(s))
        log_warn("client pid %d read none of its answers for %llu s; dropping it", (int)c->peer.pid,
                 (unsigned long long)(limit / 1000));
      conn_close(c);
    } else if (frame_limit != 0 && c->frame_since_ms != 0 &&
               now - c->frame_since_ms >= frame_limit) {
      if (server_warn_ok(s))
        log_warn("client pid %d uid %u left a frame half sent for %llu s; dropping it",
                 (int)c->peer.pid, (unsigned)c->peer.uid, (unsigned long long)(frame_limit / 1000));
      conn_close(c);
    } else if (c->refused && now - c->accepted_ms >= refused_limit) {
      conn_close(c); /* refused, and it never asked why */
    }
  }
#ifdef HAVE_MALLOC_TRIM
  /* Connections that held large buffers are gone: give the memory back
   * rather than keep the attack's high-water mark. */
  if (s->freed_bytes >= TRIM_AFTER_BYTES) {
    malloc_trim(0);
    s->freed_bytes = 0;
  }
#endif
}

/* ---- all connections ---- */

int conns_init(struct server *s) {
  LIST_INIT(&s->conns);
  msgpack_sbuffer_init(&s->sb);
  s->scratch_len = ops_list_page_max(s->d->cfg.frame_max);
  s->scratch = calloc(s->scratch_len, sizeof *s->scratch);
  return s->scratch == NULL ? -ENOMEM : 0;
}

void conns_start(struct server *s) {
  const struct daemon_config *cfg = &s->d->cfg;
  /* A quarter of the shortest timeout, between 0.1 and 1 s. */
  uint64_t every = 1000, t1 = cfg->send_timeout_ms, t2 = cfg->frame_timeout_ms;

  uv_timer_init(s->loop, &s->sweep);
  s->sweep.data = s;
  if (t1 != 0 && t1 / 4 < every)
    every = t1 / 4;
  if (t2 != 0 && t2 / 4 < every)
    every = t2 / 4;
  if (every < 100)
    every = 100;
  uv_timer_start(&s->sweep, on_sweep, every, every);
}

void conns_stop(struct server *s) {
  uv_close((uv_handle_t *)&s->sweep, NULL);
  while (!LIST_EMPTY(&s->conns))
    conn_close(LIST_FIRST(&s->conns));
}

void conns_free(struct server *s) {
  while (s->nspare > 0)
    free(s->spare[--s->nspare]);
  msgpack_sbuffer_destroy(&s->sb);
  free(s->scratch);
  s->scratch = NULL;
}

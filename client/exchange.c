/* SPDX-License-Identifier: MIT */
/*
 * exchange.c: one request and its answer on the connection's current
 * socket, and the pipelined releases. A request is encoded into the
 * connection's buffer and sent whole; the answers of releases sent before
 * it (without waiting) are read and checked first, in order; then its own,
 * with the descriptor that rode on it. Any failure of the stream closes the
 * socket (broken()): what to do next (reconnect, retry) is
 * session.c's. Lock held throughout; nothing here dials or reconnects.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client-internal.h"

/* Close the socket: the daemon sees EOF and drops every lease of this
 * connection. shutdown() first, so that happens even if a forked child
 * still holds a copy of the descriptor. Lock held, in the owner only (a
 * child never shuts down its parent's connection). */
void client_close_socket(struct shmv_client *c, enum client_state state) {
  if (c->sock >= 0) {
    shutdown(c->sock, SHUT_RDWR);
    close(c->sock);
    c->sock = -1;
  }
  c->state = state;
  c->unanswered = 0; /* their answers died with the socket */
  if (c->pending_fd >= 0) {
    close(c->pending_fd);
    c->pending_fd = -1;
  }
}

/* The connection failed: close it, report code. Lock held. */
static int broken(struct shmv_client *c, int code) {
  client_close_socket(c, CLIENT_BROKEN);
  return code;
}

static int send_all(int sock, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = proto_send(sock, p, len, -1);
    if (n < 0)
      return (int)n;
    if (n == 0)
      return -EIO;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Read until the reader gives one whole frame. Its descriptor, if one
 * came with it, is kept in c->pending_fd (a second one closed) for
 * whoever takes the answer to an open. Lock held. */
static int recv_frame(struct shmv_client *c, const uint8_t **payload, size_t *len) {
  struct proto_frame f;
  for (;;) {
    int rc = proto_reader_get(&c->reader, &f);
    if (rc < 0)
      return rc;
    if (rc > 0) {
      if (f.fd >= 0 && c->pending_fd < 0)
        c->pending_fd = f.fd;
      else if (f.fd >= 0)
        close(f.fd); /* a second descriptor: never ours to keep */
      *payload = f.payload;
      *len = f.len;
      return 0;
    }
    ssize_t n = proto_reader_read(&c->reader, c->sock);
    if (n == 0)
      return -ECONNRESET;
    if (n < 0)
      return (int)n;
  }
}

/* At most this many release answers wait unread: beyond it the daemon's
 * answers could fill the socket while we block sending. */
#define UNANSWERED_MAX 32

/* Encode and send req, giving it the next id. Lock held. */
static int send_request(struct shmv_client *c, struct proto_request *req) {
  req->id = c->next_id++;
  msgpack_sbuffer_clear(&c->out); /* keeps its memory: no malloc per request */
  int rc = proto_request_encode(req, c->frame_max, &c->out);
  if (rc < 0)
    return rc; /* nothing was sent: the connection is still fine */
  rc = send_all(c->sock, c->out.data, c->out.size);
  return rc < 0 ? broken(c, -ECONNRESET) : 0;
}

/* Read the answers of releases sent earlier. Their outcome does not
 * matter (a lease that is gone is gone), their order and shape do. */
static int drain_releases(struct shmv_client *c) {
  while (c->unanswered > 0) {
    const uint8_t *payload;
    size_t len;
    struct proto_response resp;
    int rc = recv_frame(c, &payload, &len);
    if (rc == -EMSGSIZE || rc == -EPROTO)
      return broken(c, -EPROTO);
    if (rc < 0)
      return broken(c, rc == -ENOMEM ? -ENOMEM : -ECONNRESET);
    if (proto_response_decode(payload, len, PROTO_OP_RELEASE, &resp) < 0 ||
        resp.id != c->unanswered_first)
      return broken(c, -EPROTO);
    proto_response_free(&resp);
    c->unanswered_first++;
    c->unanswered--;
  }
  return 0;
}

/* Send a release and do not wait for its answer. Lock held. */
int client_send_release_locked(struct shmv_client *c, uint64_t lease) {
  struct proto_request req;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_RELEASE;
  req.lease = lease;
  int rc = c->unanswered >= UNANSWERED_MAX ? drain_releases(c) : 0;
  if (rc == 0)
    rc = send_request(c, &req);
  if (rc < 0)
    return rc;
  if (c->unanswered++ == 0)
    c->unanswered_first = req.id;
  return 0;
}

/* One exchange on the current socket, lock held. *sent tells whether the
 * whole request went out (after which the daemon may have acted on it). */
int client_exchange_once(struct shmv_client *c, struct proto_request *req,
                         struct proto_response *resp, int *fd, bool *sent) {
  *sent = false;
  c->reply_code = 0;
  if (c->state != CLIENT_OPEN)
    return -ENOTCONN;

  int rc = send_request(c, req);
  if (rc < 0)
    return rc;
  *sent = true;
  /* The daemon answers in order: earlier releases' answers come first. */
  rc = drain_releases(c);
  if (rc < 0)
    return rc;

  const uint8_t *payload;
  size_t len;
  rc = recv_frame(c, &payload, &len);
  /* The descriptor rides on this answer's first byte: it has arrived. */
  if (c->pending_fd >= 0) {
    if (fd != NULL && rc == 0)
      *fd = c->pending_fd;
    else
      close(c->pending_fd);
    c->pending_fd = -1;
  }
  if (rc == -ENOMEM)
    return broken(c, -ENOMEM);
  if (rc == -EMSGSIZE || rc == -EPROTO)
    return broken(c, -EPROTO);
  if (rc < 0)
    return broken(c, -ECONNRESET);

  memset(resp, 0, sizeof *resp);
  rc = proto_response_decode(payload, len, req->op, resp);
  if (rc < 0)
    return broken(c, rc == -ENOMEM ? -ENOMEM : -EPROTO);
  /* One answer per request, nothing unasked-for behind it. */
  if (resp->id != req->id || proto_reader_pending(&c->reader) != 0) {
    proto_response_free(resp);
    return broken(c, -EPROTO);
  }
  if (resp->err != 0) {
    int code = resp->err > 0 ? resp->err : -resp->err;
    /* The daemon's sentence says more than the code: keep it for
     * shmv_last_error(). */
    c->reply_code = -code;
    snprintf(c->reply_msg, sizeof c->reply_msg, "%s", resp->msg);
    proto_response_free(resp);
    return -code;
  }
  return 0;
}

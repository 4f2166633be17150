/*
 * client.c: the connection to shmviewd. Connect + hello, the refcounted
 * connection object and client_request(), the single function through
 * which every request/response exchange goes.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client-internal.h"

/* How much to ask the reader for at a time. */
#define CLIENT_READ_CHUNK (64u * 1024u)

void client_ref(struct shmv_client *c) {
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void client_unref(struct shmv_client *c) {
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (c->sock >= 0)
    close(c->sock);
  proto_reader_free(&c->reader);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* Close the socket: the daemon sees EOF and drops every lease of this
 * connection. shutdown() first, so that happens even if a forked child
 * still holds a copy of the descriptor. Lock held. */
static void close_socket(struct shmv_client *c, enum client_state state) {
  if (c->sock >= 0) {
    shutdown(c->sock, SHUT_RDWR);
    close(c->sock);
    c->sock = -1;
  }
  c->state = state;
}

/* The connection failed: close it, report code. Lock held. */
static int broken(struct shmv_client *c, int code) {
  close_socket(c, CLIENT_BROKEN);
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

/* Read until the reader holds one whole frame. If fd is non-NULL keep the
 * first descriptor that arrives there (closing any other). Lock held. */
static int recv_frame(struct shmv_client *c, const uint8_t **payload,
                      size_t *len, int *fd) {
  for (;;) {
    int rc = proto_reader_next(&c->reader, payload, len);
    if (rc != 0)
      return rc < 0 ? rc : 0;
    void *p;
    size_t avail;
    rc = proto_reader_space(&c->reader, CLIENT_READ_CHUNK, &p, &avail);
    if (rc < 0)
      return rc;
    int got = -1;
    ssize_t n = proto_recv(c->sock, p, avail, fd ? &got : NULL);
    if (got >= 0) {
      if (*fd < 0)
        *fd = got;
      else
        close(got); /* a second descriptor: never ours to keep */
    }
    if (n == 0)
      return -ECONNRESET;
    if (n < 0)
      return (int)n;
    proto_reader_commit(&c->reader, (size_t)n);
  }
}

/* One exchange, lock held. */
static int exchange_locked(struct shmv_client *c, struct proto_request *req,
                           struct proto_response *resp, int *fd) {
  if (c->state != CLIENT_OPEN)
    return -ENOTCONN;

  req->id = c->next_id++;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  int rc = proto_request_encode(req, c->frame_max, &sb);
  if (rc < 0) {
    msgpack_sbuffer_destroy(&sb);
    return rc; /* nothing was sent: the connection is still fine */
  }
  rc = send_all(c->sock, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  if (rc < 0)
    return broken(c, -ECONNRESET);

  const uint8_t *payload;
  size_t len;
  rc = recv_frame(c, &payload, &len, fd);
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
    proto_response_free(resp);
    return -code;
  }
  return 0;
}

int client_request(struct shmv_client *c, struct proto_request *req,
                   struct proto_response *resp, int *fd) {
  if (fd)
    *fd = -1;
  pthread_mutex_lock(&c->lock);
  int rc = exchange_locked(c, req, resp, fd);
  pthread_mutex_unlock(&c->lock);
  if (rc < 0 && fd && *fd >= 0) {
    close(*fd);
    *fd = -1;
  }
  return rc;
}

void client_segment_info(const struct proto_segment *s, shmv_segment_info *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->name, s->name, sizeof out->name);
  out->name[SHMV_NAME_MAX] = '\0';
  out->size = s->size;
  out->uid = (uid_t)s->uid;
  out->gid = (gid_t)s->gid;
  out->mode = s->mode;
  out->views = s->views;
  out->writable_views = s->writable_views;
  out->created.tv_sec = (time_t)s->created_sec;
  out->created.tv_nsec = (long)s->created_nsec;
}

/* ---- public ---- */

int shmv_default_socket_path(char *buf, size_t cap) {
  if (!buf)
    return -EINVAL;
  return proto_socket_path(NULL, buf, cap);
}

static int hello(struct shmv_client *c) {
  struct proto_request req;
  struct proto_response resp;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_HELLO;
  req.version = PROTO_VERSION;
  req.fields = PROTO_F_VERSION;
  int rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  struct proto_hello h = resp.u.hello;
  proto_response_free(&resp);
  if (h.version != PROTO_VERSION)
    return -EPROTONOSUPPORT;
  if (h.frame_max < PROTO_FRAME_MAX_MIN || h.frame_max > UINT32_MAX)
    return -EPROTO;
  c->server_version = h.version;
  memcpy(c->server, h.server, sizeof c->server);
  c->server[sizeof c->server - 1] = '\0';
  c->frame_max = (size_t)h.frame_max;
  /* The reader is empty between exchanges: start it again with the
   * daemon's limit. */
  proto_reader_free(&c->reader);
  proto_reader_init(&c->reader, c->frame_max);
  return 0;
}

int shmv_connect(const char *socket_path, shmv_client **out) {
  if (!out)
    return -EINVAL;
  *out = NULL;

  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  int rc = proto_socket_path(socket_path, sa.sun_path, sizeof sa.sun_path);
  if (rc < 0)
    return rc;

  struct shmv_client *c = calloc(1, sizeof *c);
  if (!c)
    return -ENOMEM;
  atomic_init(&c->refs, 1);
  rc = pthread_mutex_init(&c->lock, NULL);
  if (rc != 0) {
    free(c);
    return -rc;
  }
  c->next_id = 1;
  c->frame_max = PROTO_FRAME_MAX_DEFAULT;
  c->state = CLIENT_OPEN;
  proto_reader_init(&c->reader, PROTO_FRAME_MAX_DEFAULT);

  c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->sock < 0) {
    rc = -errno;
    goto fail;
  }
  bool interrupted = false;
  while (connect(c->sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (errno == EINTR) {
      interrupted = true; /* blocking Unix connect: simply try again */
      continue;
    }
    if (errno == EISCONN && interrupted)
      break; /* the interrupted attempt completed after all */
    rc = -errno;
    goto fail;
  }
  rc = hello(c);
  if (rc < 0)
    goto fail;
  *out = c;
  return 0;

fail:
  client_unref(c);
  return rc;
}

void shmv_disconnect(shmv_client *c) {
  if (!c)
    return;
  pthread_mutex_lock(&c->lock);
  close_socket(c, CLIENT_CLOSED);
  pthread_mutex_unlock(&c->lock);
  client_unref(c);
}

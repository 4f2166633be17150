/* SPDX-License-Identifier: MIT */
/*
 * client.c: the connection to shmviewd. Connect (with the check of who
 * listens) + hello, the refcounted connection object and client_request(),
 * the single function through which every request/response exchange goes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client-internal.h"

/* ---- fork ---- */

static atomic_uint fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static bool atfork_ok;

static void atfork_child(void) {
  atomic_fetch_add_explicit(&fork_generation, 1, memory_order_relaxed);
}

static void atfork_register(void) {
  atfork_ok = pthread_atfork(NULL, NULL, atfork_child) == 0;
}

unsigned client_fork_generation(void) {
  return atomic_load_explicit(&fork_generation, memory_order_relaxed);
}

bool client_foreign(const struct shmv_client *c) {
  /* The generation changes in every child of fork(), so the owner pays
   * one load; should the handler not have been registered, getpid()
   * decides every time. */
  if (atfork_ok && client_fork_generation() == c->fork_gen)
    return false;
  return getpid() != c->owner_pid;
}

void client_ref(struct shmv_client *c) {
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void client_unref(struct shmv_client *c) {
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (c->sock >= 0)
    close(c->sock); /* never shut down here: in a child that would end
                       the parent's connection */
  if (c->pending_fd >= 0)
    close(c->pending_fd);
  client_cache_clear_locked(c);
  while (c->lost != NULL) {
    struct client_lost *l = c->lost;
    c->lost = l->next;
    free(l);
  }
  proto_reader_free(&c->reader);
  msgpack_sbuffer_destroy(&c->out);
  /* In a forked child the mutex may be a copy of one another thread of
   * the parent held: it is never used there, nor destroyed. */
  if (!client_foreign(c))
    pthread_mutex_destroy(&c->lock);
  free(c);
}

/* Close the socket: the daemon sees EOF and drops every lease of this
 * connection. shutdown() first, so that happens even if a forked child
 * still holds a copy of the descriptor. Lock held, in the owner only (a
 * child never shuts down its parent's connection). */
static void close_socket(struct shmv_client *c, enum client_state state) {
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

/* How long a request keeps trying to reach a daemon that went away
 * (restarting, say) before it fails; SHMVIEW_RECONNECT_MS overrides. */
#define RECONNECT_TIMEOUT_MS   5000
#define RECONNECT_DELAY_MIN_MS 10
#define RECONNECT_DELAY_MAX_MS 500

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
static int send_release_locked(struct shmv_client *c, uint64_t lease) {
  struct proto_request req;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_RELEASE;
  req.lease = lease;
  req.fields = PROTO_F_LEASE;
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
static int exchange_once(struct shmv_client *c, struct proto_request *req,
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

static int hello_locked(struct shmv_client *c) {
  struct proto_request req;
  struct proto_response resp;
  bool sent;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_HELLO;
  req.version = PROTO_VERSION;
  req.fields = PROTO_F_VERSION;
  int rc = exchange_once(c, &req, &resp, NULL, &sent);
  if (rc < 0)
    return rc;
  struct proto_hello h = resp.u.hello;
  proto_response_free(&resp);
  if (h.version != PROTO_VERSION) {
    c->reply_code = -EPROTONOSUPPORT;
    snprintf(c->reply_msg, sizeof c->reply_msg,
             "shmviewd %.31s on %s speaks protocol version %u; this library (%s) speaks %u",
             h.server, c->path, (unsigned)h.version, PACKAGE_VERSION, (unsigned)PROTO_VERSION);
    return -EPROTONOSUPPORT;
  }
  if (h.frame_max < PROTO_FRAME_MAX_MIN || h.frame_max > UINT32_MAX)
    return -EPROTO;
  c->server_version = h.version;
  memcpy(c->server, h.server, sizeof c->server);
  c->server[sizeof c->server - 1] = '\0';
  c->frame_max = (size_t)h.frame_max;
  /* The reader is empty between exchanges: start it again with the
   * daemon's limit. */
  proto_reader_free(&c->reader);
  proto_reader_init(&c->reader, c->frame_max, true);
  return 0;
}

/* Take a lease again for m's window on the current connection. A refusal
 * (the segment is gone) leaves m without a lease; its memory stays mapped.
 * Returns < 0 only when the connection itself failed. Lock held. */
static int reregister_locked(struct shmv_client *c, struct client_mapping *m) {
  struct proto_request req;
  struct proto_response resp;
  bool sent;
  int fd = -1;

  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_OPEN;
  memcpy(req.name, m->name, sizeof req.name);
  req.offset = m->offset;
  req.length = m->length;
  req.writable = m->writable;
  req.own = m->own;
  req.fields = PROTO_F_NAME | PROTO_F_OFFSET | PROTO_F_LENGTH | PROTO_F_WRITABLE |
               (m->own ? PROTO_F_OWN : 0);
  int rc = exchange_once(c, &req, &resp, &fd, &sent);
  if (fd >= 0)
    close(fd); /* the old mapping is still good: we only want the lease */
  if (rc == 0) {
    m->lease = resp.u.view.lease;
    m->generation = c->generation;
    proto_response_free(&resp);
    return 0;
  }
  m->generation = 0;
  return c->state == CLIENT_OPEN ? 0 : rc;
}

/* Tell the daemon of a view released while it could not be told: a
 * lease of the segment (an empty window) replaces what a restarted daemon
 * kept for this process, and releasing it ends that as any release does
 * (an ephemeral segment's last view goes). Refused (the segment is gone):
 * nothing was kept. Returns < 0 only when the connection failed. Lock
 * held. */
static int tell_lost_locked(struct shmv_client *c, const struct client_lost *l) {
  struct proto_request req;
  struct proto_response resp;
  bool sent;
  int fd = -1;

  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_OPEN;
  memcpy(req.name, l->name, sizeof req.name);
  req.offset = 0;
  req.length = 0;
  req.fields = PROTO_F_NAME | PROTO_F_OFFSET | PROTO_F_LENGTH;
  int rc = exchange_once(c, &req, &resp, &fd, &sent);
  if (fd >= 0)
    close(fd);
  if (rc == 0) {
    uint64_t lease = resp.u.view.lease;
    proto_response_free(&resp);
    return send_release_locked(c, lease);
  }
  return c->state == CLIENT_OPEN ? 0 : rc;
}

/* The uid $SHMVIEW_TRUSTED_UID names, or -1. Not in setuid programs
 * (secure_getenv): there the environment is the invoker's, who must not
 * choose whose daemon the program trusts. */
static int64_t env_trusted_uid(void) {
  const char *e = secure_getenv("SHMVIEW_TRUSTED_UID");
  char *end;
  if (e == NULL || *e < '0' || *e > '9')
    return -1;
  errno = 0;
  unsigned long long v = strtoull(e, &end, 10);
  if (errno != 0 || *end != '\0' || v >= (uid_t)-1)
    return -1;
  return (int64_t)v;
}

/* The directory of c->path into dir; true if it is this euid's fallback
 * directory, /tmp/shmview-EUID. */
static bool socket_dir(const struct shmv_client *c, char *dir, size_t cap) {
  char fallback[64];
  snprintf(dir, cap, "%s", c->path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    snprintf(dir, cap, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  proto_fallback_dir(geteuid(), fallback, sizeof fallback);
  return strcmp(dir, fallback) == 0;
}

/* The fallback directory is anyone's to create in /tmp: it must be a
 * private directory of this euid's. Checked before connecting (so that a
 * planted one never even sees a connection; a missing one is left to
 * connect() to report) and again once connected (it may have been
 * created in between). 0, or -EPERM with the sentence in c->reply_msg
 * naming the directory and its owner. */
static int check_fallback_dir(struct shmv_client *c, bool connected) {
  char dir[sizeof c->path], why[192];
  if (!socket_dir(c, dir, sizeof dir))
    return 0;
  int rc = proto_private_dir_check(dir, geteuid(), why, sizeof why);
  if (rc == 0 || (rc != -EPERM && !connected))
    return 0;
  c->reply_code = -EPERM;
  snprintf(c->reply_msg, sizeof c->reply_msg,
           "refusing the daemon on %s: %s; another user may have made it to receive what you "
           "send. Have it removed (by its owner or root), or use a socket in a directory of "
           "your own (SHMVIEW_SOCKET, XDG_RUNTIME_DIR)",
           c->path, why);
  return -EPERM;
}

/* Who may run the daemon this client talks to: root, this process's
 * effective uid, a uid named in the options or $SHMVIEW_TRUSTED_UID, or
 * the owner of the socket's directory when nobody else may write there
 * (then only that owner could have put a socket in it: this is how the
 * system daemon's own user, owner of /run/shmview, is trusted). The
 * fallback directory, /tmp/shmview-EUID, must be this uid's own
 * (check_fallback_dir) and vouches for no one else. A secure-execution
 * process that did not name its socket (c->system_only) trusts neither
 * its euid (the invoker's, in a setgid program) nor the environment.
 * Checked before anything is sent, at every (re)connection. 0, or -EPERM
 * with the reason in c->reply_msg. */
static int check_peer(struct shmv_client *c, int sock) {
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
    int rc = -errno;
    c->reply_code = rc;
    snprintf(c->reply_msg, sizeof c->reply_msg,
             "cannot tell who runs the daemon on %s (SO_PEERCRED: %s)", c->path, strerror(-rc));
    return rc;
  }
  int rc = check_fallback_dir(c, true);
  if (rc < 0)
    return rc;
  uid_t me = geteuid();
  char dir[sizeof c->path];
  bool in_fallback = socket_dir(c, dir, sizeof dir);

  int64_t env_uid = env_trusted_uid();
  if (cr.uid == 0 || (cr.uid == me && !c->system_only) ||
      (c->trusted_uid >= 0 && cr.uid == (uid_t)c->trusted_uid) ||
      (env_uid >= 0 && cr.uid == (uid_t)env_uid))
    return 0;

  /* lstat: a symbolic link is anyone's to make, and says nothing of who
   * may write where it points. */
  struct stat st;
  if (!in_fallback && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == cr.uid &&
      (st.st_mode & (S_IWGRP | S_IWOTH)) == 0)
    return 0;

  c->reply_code = -EPERM;
  if (c->system_only)
    snprintf(c->reply_msg, sizeof c->reply_msg,
             "the daemon on %s runs as uid %u, which this setuid or setgid program does not "
             "trust: without a socket named by the program it trusts only root or the owner of "
             "%s with that directory closed to others",
             c->path, (unsigned)cr.uid, dir);
  else
    snprintf(c->reply_msg, sizeof c->reply_msg,
             "the daemon on %s runs as uid %u, which this process does not trust: it is not "
             "root, not this process's uid %u, and not the owner of %s with that directory "
             "closed to others; if it is meant to serve you, name it with SHMVIEW_TRUSTED_UID=%u",
             c->path, (unsigned)cr.uid, (unsigned)me, dir, (unsigned)cr.uid);
  return -EPERM;
}

static int connect_socket(const char *path) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return -errno;
  bool interrupted = false;
  while (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (errno == EINTR) {
      interrupted = true; /* blocking Unix connect: simply try again */
      continue;
    }
    if (errno == EISCONN && interrupted)
      break; /* the interrupted attempt completed after all */
    int rc = -errno;
    close(sock);
    return rc;
  }
  return sock;
}

/* Connect to c->path and check who listens. Returns the socket, or a
 * negative errno value with the sentence in c->reply_msg where the code
 * alone would mislead. */
static int dial(struct shmv_client *c) {
  c->reply_code = 0;
  int sock = check_fallback_dir(c, false);
  if (sock < 0)
    return sock;
  sock = connect_socket(c->path);
  if (sock == -EACCES) {
    /* Not a segment's mode (what EACCES means everywhere else here). */
    c->reply_code = sock;
    snprintf(c->reply_msg, sizeof c->reply_msg,
             "the socket %s refused the connection: its mode (or its directory's) does not let "
             "this user connect",
             c->path);
  }
  if (sock < 0)
    return sock;
  int rc = check_peer(c, sock);
  if (rc < 0) {
    close(sock);
    return rc;
  }
  return sock;
}

/* An environment variable holding a decimal number no larger than max;
 * fallback when it is unset or anything else, or in a setuid or setgid
 * program (secure_getenv: its environment is its invoker's). */
static int64_t env_number(const char *name, uint64_t max, int64_t fallback) {
  const char *e = secure_getenv(name);
  char *end;
  if (e == NULL || *e < '0' || *e > '9')
    return fallback;
  errno = 0;
  unsigned long long v = strtoull(e, &end, 10);
  if (errno != 0 || *end != '\0' || v > max)
    return fallback;
  return (int64_t)v;
}

/* The daemon did not come back within reconnect_ms; rc is why the last
 * attempt failed, dialling or after. The code is what connect() said, as
 * the first connect reports it, except that a socket removed with its
 * daemon (ENOENT) is ECONNREFUSED too: from a request, ENOENT would read
 * as "no such segment". A failure after connecting is ENOTCONN. The
 * sentence says how long the client waited. Lock held. */
static int gave_up_locked(struct shmv_client *c, int rc, bool dialling) {
  char why[CLIENT_MSG_MAX / 2];
  if (rc == c->reply_code)
    snprintf(why, sizeof why, "%.200s", c->reply_msg);
  else
    snprintf(why, sizeof why, "%s: %s", dialling ? "connect" : "after connecting",
             strerror(-rc));
  close_socket(c, CLIENT_BROKEN);
  if (!dialling)
    rc = -ENOTCONN;
  else if (rc == -ENOENT)
    rc = -ECONNREFUSED;
  c->reply_code = rc;
  if (c->reconnect_ms == 0)
    snprintf(c->reply_msg, sizeof c->reply_msg,
             "the daemon on %s went away, and this client does not wait for it to come back "
             "(reconnect_ms is 0) (%s)",
             c->path, why);
  else
    snprintf(c->reply_msg, sizeof c->reply_msg,
             "the daemon on %s went away and did not come back within %llu ms (%s)", c->path,
             (unsigned long long)c->reconnect_ms, why);
  return rc;
}

/* Reach the daemon again, with backoff, and re-register every live
 * mapping. Lock held. Returns 0 or a negative errno value, after
 * reconnect_ms that of gave_up_locked(). */
static int reconnect_locked(struct shmv_client *c) {
  uint64_t deadline = proto_monotonic_ms() + c->reconnect_ms;
  unsigned delay = RECONNECT_DELAY_MIN_MS;
  int rc;

  for (;;) {
    close_socket(c, CLIENT_BROKEN);
    rc = dial(c);
    bool dialling = rc < 0;
    if (rc == -EPERM) {
      c->state = CLIENT_BROKEN; /* someone else listens there now */
      return rc;
    }
    if (rc >= 0) {
      c->sock = rc;
      c->state = CLIENT_OPEN;
      c->generation++;
      proto_reader_free(&c->reader);
      proto_reader_init(&c->reader, PROTO_FRAME_MAX_DEFAULT, true);
      rc = hello_locked(c);
      for (struct client_mapping *m = c->mappings; rc == 0 && m != NULL; m = m->next)
        rc = reregister_locked(c, m);
      while (rc == 0 && c->lost != NULL && (rc = tell_lost_locked(c, c->lost)) == 0) {
        struct client_lost *l = c->lost;
        c->lost = l->next;
        free(l);
      }
      if (rc == 0)
        return 0;
      if (rc == -EPROTONOSUPPORT) {
        close_socket(c, CLIENT_BROKEN);
        return rc;
      }
    }
    if (proto_monotonic_ms() + delay > deadline)
      return gave_up_locked(c, rc, dialling);
    struct timespec ts = { .tv_sec = delay / 1000, .tv_nsec = (long)(delay % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    delay = delay * 2 > RECONNECT_DELAY_MAX_MS ? RECONNECT_DELAY_MAX_MS : delay * 2;
  }
}

/* Ops that may be sent again after the daemon vanished mid-exchange: the
 * protocol's op table says which (proto_ops[].retry_safe). */
static bool retry_safe(enum proto_op op) {
  const struct proto_op_info *oi = proto_op_info(op);

  return oi != NULL && oi->retry_safe;
}

/* One exchange, lock held: reconnects first if the connection had
 * failed, and once more if it fails now and the request may be resent. */
static int exchange_locked(struct shmv_client *c, struct proto_request *req,
                           struct proto_response *resp, int *fd) {
  bool sent;
  int rc;

  if (c->state == CLIENT_CLOSED)
    return -ENOTCONN;
  if (c->state == CLIENT_BROKEN && (rc = reconnect_locked(c)) < 0)
    return rc;
  rc = exchange_once(c, req, resp, fd, &sent);
  if (rc != -ECONNRESET || (sent && !retry_safe(req->op)))
    return rc;
  if (fd != NULL && *fd >= 0) {
    close(*fd);
    *fd = -1;
  }
  /* When the daemon does not come back, why (gave_up_locked()) says more
   * than the ECONNRESET that sent us here. */
  int again = reconnect_locked(c);
  if (again < 0)
    return again;
  return exchange_once(c, req, resp, fd, &sent);
}

int client_request_gen(struct shmv_client *c, struct proto_request *req,
                       struct proto_response *resp, int *fd, uint64_t *generation) {
  if (fd)
    *fd = -1;
  if (client_foreign(c)) {
    /* The socket is the parent's: a request from here would mix our
     * frames into its stream. */
    char msg[160];
    snprintf(msg, sizeof msg,
             "this client was connected by process %d; after fork() process %d must "
             "connect again",
             (int)c->owner_pid, (int)getpid());
    return client_fail(c, -ECHILD, msg);
  }
  char msg[CLIENT_MSG_MAX];
  pthread_mutex_lock(&c->lock);
  int rc = exchange_locked(c, req, resp, fd);
  if (generation != NULL)
    *generation = c->generation;
  bool said = rc < 0 && rc == c->reply_code;
  if (said)
    memcpy(msg, c->reply_msg, sizeof msg);
  pthread_mutex_unlock(&c->lock);
  if (rc < 0) {
    if (fd && *fd >= 0) {
      close(*fd);
      *fd = -1;
    }
    client_fail(c, rc, said ? msg : NULL);
  }
  return rc;
}

int client_request(struct shmv_client *c, struct proto_request *req, struct proto_response *resp,
                   int *fd) {
  return client_request_gen(c, req, resp, fd, NULL);
}

void client_mapping_add(struct shmv_client *c, struct client_mapping *m) {
  pthread_mutex_lock(&c->lock);
  /* A reconnection between the answer and now would have missed m. */
  if (m->generation != c->generation && c->state == CLIENT_OPEN)
    reregister_locked(c, m);
  m->prev = NULL;
  m->next = c->mappings;
  if (c->mappings != NULL)
    c->mappings->prev = m;
  c->mappings = m;
  pthread_mutex_unlock(&c->lock);
}

void client_mapping_release(struct shmv_client *c, struct client_mapping *m) {
  /* In a forked child the lease is the parent's, and so are the list and
   * the lock: leave them alone. */
  if (client_foreign(c))
    return;
  pthread_mutex_lock(&c->lock);
  if (m->prev != NULL)
    m->prev->next = m->next;
  else if (c->mappings == m)
    c->mappings = m->next;
  if (m->next != NULL)
    m->next->prev = m->prev;
  m->prev = m->next = NULL;
  /* A lease of an older connection died with it. Its answer does not
   * matter either way, and a failure here is found by the next request. */
  bool current = m->generation == c->generation && m->generation != 0;
  if (current && c->state == CLIENT_OPEN && send_release_locked(c, m->lease) == 0)
    current = false;
  /* This connection's lease, and the daemon could not be told: if it
   * restarted, it still counts the view for this process. */
  for (struct client_lost *l = c->lost; current && l != NULL; l = l->next)
    current = strcmp(l->name, m->name) != 0; /* one lease ends all it kept */
  if (current && c->state != CLIENT_CLOSED) {
    struct client_lost *l = malloc(sizeof *l);
    if (l != NULL) {
      memcpy(l->name, m->name, sizeof l->name);
      l->next = c->lost;
      c->lost = l;
    }
  }
  pthread_mutex_unlock(&c->lock);
}

bool client_cache_take(struct shmv_client *c, dev_t dev, ino_t ino, uint64_t start, size_t len,
                       struct cached_map *out) {
  bool found = false;
  pthread_mutex_lock(&c->lock);
  for (int i = 0; i < CLIENT_MAP_CACHE && !found; i++) {
    struct cached_map *e = &c->cache[i];
    if (e->base != NULL && e->dev == dev && e->ino == ino &&
        e->start <= start && start - e->start <= e->len && len <= e->len - (start - e->start)) {
      *out = *e;
      e->base = NULL;
      found = true;
    }
  }
  pthread_mutex_unlock(&c->lock);
  return found;
}

void client_cache_put(struct shmv_client *c, const struct client_mapping *m) {
  struct cached_map victim = { 0 };
  if (client_foreign(c)) {
    munmap(m->base, m->maplen); /* this process's copy of the mapping */
    return;
  }
  pthread_mutex_lock(&c->lock);
  /* An ephemeral segment goes with its last lease: a kept mapping of it
   * could serve no later view, and would only hold its memory. A writable
   * mapping is never kept: without a lease the daemon cannot see it, so a
   * freeze would succeed while this process could still write (and a
   * mapping of an O_RDWR descriptor stays writable whatever mprotect()
   * says of it now). */
  if (c->state == CLIENT_CLOSED || c->cache_max == 0 || m->ephemeral || m->writable) {
    victim.base = m->base;
    victim.len = m->maplen;
  } else {
    struct cached_map *slot = &c->cache[0];
    for (int i = 0; i < c->cache_max; i++) {
      if (c->cache[i].base == NULL) {
        slot = &c->cache[i];
        break;
      }
      if (c->cache[i].used < slot->used)
        slot = &c->cache[i];
    }
    victim = *slot;
    *slot = (struct cached_map){ m->base, m->maplen, m->map_start, m->dev, m->ino,
                                 ++c->cache_clock };
  }
  pthread_mutex_unlock(&c->lock);
  if (victim.base != NULL)
    munmap(victim.base, victim.len);
}

void client_cache_clear_locked(struct shmv_client *c) {
  for (int i = 0; i < CLIENT_MAP_CACHE; i++) {
    if (c->cache[i].base != NULL)
      munmap(c->cache[i].base, c->cache[i].len);
    c->cache[i].base = NULL;
  }
}

/* ---- public ---- */

int shmv_default_socket_path(char *buf, size_t cap) {
  if (!buf)
    return -EINVAL;
  return proto_socket_path(NULL, buf, cap);
}

/* Options as this library knows them, from the caller's struct of
 * opts->size bytes: a smaller one is an older program's (every field it
 * lacks keeps its default), a larger one a newer program's, whose fields
 * this library does not know must then be zero. */
static int read_options(const shmv_connect_options *opts, shmv_connect_options *o) {
  const shmv_connect_options defaults = SHMV_CONNECT_OPTIONS_INIT;
  *o = defaults;
  if (opts == NULL)
    return 0;
  /* The first version is this one: nothing smaller exists. */
  if (opts->size < sizeof *o)
    return -EINVAL;
  for (size_t i = sizeof *o; i < opts->size; i++)
    if (((const unsigned char *)opts)[i] != 0)
      return -EINVAL;
  memcpy(o, opts, sizeof *o);
  o->size = sizeof *o;
  if (o->reconnect_ms < -1 || o->map_cache < -1 || o->map_cache > SHMV_MAP_CACHE_MAX ||
      o->trusted_uid < -1 || o->trusted_uid >= (int64_t)(uid_t)-1)
    return -EINVAL;
  return 0;
}

static int connect_with(const char *socket_path, const shmv_connect_options *opts,
                        shmv_client **out) {
  if (!out)
    return -EINVAL;
  *out = NULL;

  shmv_connect_options o;
  int rc = read_options(opts, &o);
  if (rc < 0)
    return client_fail(NULL, rc,
                       "invalid connect options (a value out of range, or a field "
                       "this version of the library does not know)");

  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  rc = proto_socket_resolve(socket_path, sa.sun_path, sizeof sa.sun_path);
  if (rc < 0)
    return rc;
  /* A setuid or setgid program that named no socket talks to the system
   * daemon, and trusts it only if root's or /run/shmview's owner's. */
  bool system_only = rc == PROTO_SOCKET_SYSTEM && proto_secure_mode();

  struct shmv_client *c = calloc(1, sizeof *c);
  if (!c)
    return -ENOMEM;
  atomic_init(&c->refs, 1);
  rc = pthread_mutex_init(&c->lock, NULL);
  if (rc != 0) {
    free(c);
    return -rc;
  }
  static atomic_uint_fast64_t serials;
  c->serial = atomic_fetch_add_explicit(&serials, 1, memory_order_relaxed) + 1;
  pthread_once(&atfork_once, atfork_register);
  c->owner_pid = getpid();
  c->fork_gen = client_fork_generation();
  c->next_id = 1;
  c->pending_fd = -1;
  msgpack_sbuffer_init(&c->out);
  /* The environment overrides what the program chose. */
  c->cache_max = (int)env_number("SHMVIEW_MAP_CACHE", SHMV_MAP_CACHE_MAX,
                                 o.map_cache >= 0 ? o.map_cache : CLIENT_MAP_CACHE);
  c->reconnect_ms =
      (uint64_t)env_number("SHMVIEW_RECONNECT_MS", INT64_MAX,
                           o.reconnect_ms >= 0 ? o.reconnect_ms : RECONNECT_TIMEOUT_MS);
  c->trusted_uid = o.trusted_uid;
  c->system_only = system_only;
  c->frame_max = PROTO_FRAME_MAX_DEFAULT;
  c->state = CLIENT_OPEN;
  proto_reader_init(&c->reader, PROTO_FRAME_MAX_DEFAULT, true);

  snprintf(c->path, sizeof c->path, "%s", sa.sun_path);
  c->generation = 1;
  c->sock = dial(c);
  if (c->sock < 0) {
    rc = c->sock;
    goto fail;
  }
  pthread_mutex_lock(&c->lock);
  rc = hello_locked(c);
  pthread_mutex_unlock(&c->lock);
  if (rc < 0)
    goto fail;
  *out = c;
  return 0;

fail:
  if (rc == c->reply_code)
    client_fail(NULL, rc, c->reply_msg);
  client_unref(c);
  return rc;
}

int shmv_connect_with(const char *socket_path, const shmv_connect_options *opts,
                      shmv_client **out) {
  return client_result(NULL, connect_with(socket_path, opts, out));
}

int shmv_connect(const char *socket_path, shmv_client **out) {
  return shmv_connect_with(socket_path, NULL, out);
}

void shmv_disconnect(shmv_client *c) {
  if (!c)
    return;
  if (client_foreign(c)) {
    /* Only this process's copy of the socket goes; the parent's
     * connection and leases are untouched. */
    if (c->sock >= 0)
      close(c->sock);
    c->sock = -1;
    c->state = CLIENT_CLOSED;
    client_cache_clear_locked(c); /* our copies of the cached mappings */
    client_unref(c);
    return;
  }
  pthread_mutex_lock(&c->lock);
  close_socket(c, CLIENT_CLOSED);
  client_cache_clear_locked(c);
  pthread_mutex_unlock(&c->lock);
  client_unref(c);
}

const char *shmv_version(void) {
  return PACKAGE_VERSION;
}

unsigned shmv_version_number(void) {
  return SHMV_VERSION_HEX;
}

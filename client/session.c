/* SPDX-License-Identifier: MIT */
/*
 * session.c: the connection object and its life. Connect (options, dial,
 * hello) and disconnect; the reference count that lets views outlive the
 * handle; fork tracking (a child never touches its parent's connection);
 * client_request(), through which every exchange goes, which reconnects a
 * broken connection with bounded backoff, re-registers every live mapping
 * and tells a restarted daemon of the views released while it was away,
 * and resends a request the op table says is safe to resend.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
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

/* How a request keeps trying to reach a daemon that went away: the
 * delays between attempts, doubling (the timeout is reconnect_ms). */
#define RECONNECT_DELAY_MIN_MS 10
#define RECONNECT_DELAY_MAX_MS 500

static int hello_locked(struct shmv_client *c) {
  struct proto_request req;
  struct proto_response resp;
  bool sent;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_HELLO;
  req.version = PROTO_VERSION;
  int rc = client_exchange_once(c, &req, &resp, NULL, &sent);
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

/* Ask for a lease of a window of name on the current connection, for a
 * mapping this process already has: the descriptor that comes with it is
 * closed. 0 and *lease; the daemon's refusal (the segment is gone) as a
 * negative errno with the connection still open; or the connection's
 * failure. Lock held. */
static int lease_again_locked(struct shmv_client *c, const char *name, uint64_t offset,
                              uint64_t length, bool writable, bool own, uint64_t *lease) {
  struct proto_request req;
  struct proto_response resp;
  bool sent;
  int fd = -1;

  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_OPEN;
  memcpy(req.name, name, sizeof req.name);
  req.offset = offset;
  req.length = length;
  req.writable = writable;
  req.own = own;
  int rc = client_exchange_once(c, &req, &resp, &fd, &sent);
  if (fd >= 0)
    close(fd); /* the mapping is still good: we only want the lease */
  if (rc == 0) {
    *lease = resp.u.view.lease;
    proto_response_free(&resp);
  }
  return rc;
}

/* Take a lease again for m's window on the current connection. A refusal
 * (the segment is gone) leaves m without a lease; its memory stays mapped.
 * Returns < 0 only when the connection itself failed. Lock held. */
static int reregister_locked(struct shmv_client *c, struct client_mapping *m) {
  int rc = lease_again_locked(c, m->name, m->offset, m->length, m->writable, m->own, &m->lease);
  if (rc == 0) {
    m->generation = c->generation;
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
  uint64_t lease;
  int rc = lease_again_locked(c, l->name, 0, 0, false, false, &lease);
  if (rc == 0)
    return client_send_release_locked(c, lease);
  return c->state == CLIENT_OPEN ? 0 : rc;
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
    snprintf(why, sizeof why, "%s: %s", dialling ? "connect" : "after connecting", strerror(-rc));
  client_close_socket(c, CLIENT_BROKEN);
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
    client_close_socket(c, CLIENT_BROKEN);
    rc = client_dial(c);
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
        client_close_socket(c, CLIENT_BROKEN);
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
  rc = client_exchange_once(c, req, resp, fd, &sent);
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
  return client_exchange_once(c, req, resp, fd, &sent);
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
  if (current && c->state == CLIENT_OPEN && client_send_release_locked(c, m->lease) == 0)
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

static int connect_with(const char *socket_path, const shmv_connect_options *opts,
                        shmv_client **out) {
  if (out == NULL)
    return -EINVAL;
  *out = NULL;

  shmv_connect_options o;
  int rc = client_options_read(opts, &o);
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
  if (c == NULL)
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
  client_options_apply(c, &o);
  c->system_only = system_only;
  c->frame_max = PROTO_FRAME_MAX_DEFAULT;
  c->state = CLIENT_OPEN;
  proto_reader_init(&c->reader, PROTO_FRAME_MAX_DEFAULT, true);

  snprintf(c->path, sizeof c->path, "%s", sa.sun_path);
  c->generation = 1;
  c->sock = client_dial(c);
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
  if (c == NULL)
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
  client_close_socket(c, CLIENT_CLOSED);
  client_cache_clear_locked(c);
  pthread_mutex_unlock(&c->lock);
  client_unref(c);
}

/* SPDX-License-Identifier: MIT */
/*
 * client-internal.h: libshmview's internal structures, shared by the files
 * of client/. Nothing here is exported (the library exports only shmv_*).
 *
 * Lifetime: a struct shmv_client is the connection and is reference
 * counted. The handle the user holds owns one reference; every mapping
 * (the shared part of a view and all its slices) owns one more, so views
 * can outlive shmv_disconnect(). shmv_disconnect() closes the socket and
 * drops the handle's reference; the last reference frees the memory.
 *
 * Every request/response exchange goes through client_request(), under the
 * connection's mutex. That is where a lost connection is re-established:
 * with bounded backoff, the client reconnects, says hello, and opens every
 * live mapping's window again so the daemon's leases stay true (the new
 * descriptors are closed: the old mappings stay valid). Each reconnection
 * starts a new generation; a lease id from an older one means nothing to
 * the new daemon and is never sent to it.
 *
 * A connection belongs to the process that made it. After fork() the child
 * holds a copy of the socket (and perhaps of a mutex another thread held):
 * there, the library never takes the lock, never writes to the socket and
 * never shuts it down; it only unmaps and closes (see client_foreign()).
 *
 * The files, one job each: session.c (the connection object, connect and
 * disconnect, fork tracking, client_request(): reconnect, re-registration,
 * resending), exchange.c (one exchange on the socket, pipelined releases),
 * transport.c (dialling, the trust check of the peer, the fallback
 * directory), options.c (connect options and the environment), mapcache.c
 * (mappings kept for the next view), segment.c (segment ops, the generic
 * path of simple ops), view.c, descriptor.c, wait.c, error.c; client.c the
 * record copying and the version.
 */
#ifndef SHMV_CLIENT_CLIENT_INTERNAL_H
#define SHMV_CLIENT_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"
#include "shmview.h"

_Static_assert(SHMV_NAME_MAX == PROTO_NAME_MAX, "name limits must agree");

enum client_state {
  CLIENT_OPEN = 0, /* connected */
  CLIENT_BROKEN,   /* the connection failed; the socket is closed */
  CLIENT_CLOSED,   /* shmv_disconnect() was called */
};

struct client_mapping;

/* Longest error sentence kept for shmv_last_error(), with its NUL: the
 * daemon's (PROTO_MSG_MAX) or the library's, which may name two paths. */
#define CLIENT_MSG_MAX 512

/* A mapping kept after its last view went, for the next view of the same
 * pages: on this kind of VM the first touch of each page through a new
 * mapping costs far more than the mmap itself, so a reader that opens the
 * same window again and again would pay it every time. */
struct cached_map {
  void *base; /* NULL: empty slot */
  size_t len;
  uint64_t start; /* file offset of base, page-aligned */
  dev_t dev;      /* the shm object (st_dev, st_ino) */
  ino_t ino;
  uint64_t used; /* for least-recently-used eviction */
};

#define CLIENT_MAP_CACHE SHMV_MAP_CACHE_MAX /* mappings kept per client, at most */

struct shmv_client {
  atomic_size_t refs;   /* handle + one per mapping */
  uint64_t serial;      /* unique per client in this process: keys errors */
  pid_t owner_pid;      /* the process that connected */
  unsigned fork_gen;    /* client_fork_generation() when it connected */
  pthread_mutex_t lock; /* serialises exchanges; guards what follows */
  int sock;             /* -1 once broken or closed */
  char path[108];       /* the socket, for reconnecting */
  uint64_t generation;  /* bumped by every reconnection */
  /* Releases are sent without waiting for their answers, which are read
   * (and checked) behind the next request's: a view's open/release cycle
   * costs one round trip, not two. */
  unsigned unanswered;       /* release answers still to read */
  uint64_t unanswered_first; /* the id of the first of them */
  int pending_fd;            /* a descriptor read ahead of its frame, or -1 */
  struct cached_map cache[CLIENT_MAP_CACHE];
  uint64_t cache_clock;
  int cache_max;         /* slots in use: the map_cache option */
  uint64_t reconnect_ms; /* the reconnect_ms option */
  int64_t trusted_uid;   /* the trusted_uid option, or -1 */
  bool system_only;      /* AT_SECURE, no socket named: trust root or /run/shmview's owner */
  /* Why the last exchange failed, for shmv_last_error(): the daemon's
   * sentence with its code, or the library's own (an untrusted peer). */
  int reply_code; /* negative; 0: no sentence */
  char reply_msg[CLIENT_MSG_MAX];
  struct client_mapping *mappings; /* live ones, to re-register */
  /* Views released when the daemon could not be told (its connection was
   * gone): a restarted daemon keeps them for this process until told, so
   * the next reconnection takes each lease again and releases it. */
  struct client_lost *lost;
  enum client_state state;
  uint64_t next_id;        /* request ids, increasing */
  size_t frame_max;        /* the daemon's, from hello */
  uint32_t server_version; /* the daemon's protocol version */
  char server[32];         /* the daemon's version string */
  struct proto_reader reader;
  msgpack_sbuffer out; /* the request being encoded: its memory kept for the next */
};

struct client_lost {
  struct client_lost *next;
  char name[SHMV_NAME_MAX + 1];
};

/* The shared part of a view: one mmap and one daemon lease. */
struct client_mapping {
  atomic_size_t refs; /* view handles (the opened one and slices) */
  void *base;         /* NULL for a zero-length view */
  size_t maplen;
  uint64_t map_start; /* file offset of base */
  dev_t dev;          /* the shm object, to cache the mapping */
  ino_t ino;
  uint64_t lease;          /* valid in generation `generation` */
  uint64_t generation;     /* 0: no lease (re-registration failed) */
  uint64_t offset, length; /* the leased window */
  bool writable;
  bool ephemeral; /* its segment goes with the last lease: never cached */
  bool own;       /* opened with SHMV_OWN: re-registered only on its owner's segment */
  char name[SHMV_NAME_MAX + 1];
  struct shmv_client *conn;           /* a reference */
  struct client_mapping *prev, *next; /* conn->mappings, under conn->lock */
};

struct client_msg;

struct shmv_view {
  struct client_mapping *map; /* a reference */
  size_t offset;              /* from the start of the segment */
  size_t length;
  void *data;             /* NULL only for a zero-length view opened directly */
  struct client_msg *msg; /* a channel's message or loan (a reference), or NULL */
  bool readonly;          /* read-only whatever the mapping (a received message) */
};

/* Bumped in every child of fork() (pthread_atfork), so that a client can
 * tell it is in another process with one load. */
unsigned client_fork_generation(void);

/* True in a process other than the one that connected c (a forked child):
 * there c may only unmap and close. */
bool client_foreign(const struct shmv_client *c);

/* Record why a call on c (NULL: a connect) failed, for shmv_last_error():
 * code, and the sentence msg (NULL or "": shmv_strerror's). Returns code. */
int client_fail(const struct shmv_client *c, int code, const char *msg);

/* The end of every public call on c: a failure that client_request() has
 * not recorded already (with the daemon's sentence) is recorded here with
 * shmv_strerror's. Returns rc. */
int client_result(const struct shmv_client *c, int rc);

/* ---- exchange.c: one exchange on the current socket, lock held ---- */

/* Close the socket (shutdown first, in the owner only) and enter state:
 * the daemon sees EOF and drops this connection's leases. */
void client_close_socket(struct shmv_client *c, enum client_state state);
/* Send a release without waiting for its answer (read behind the next
 * request's). */
int client_send_release_locked(struct shmv_client *c, uint64_t lease);
/* Send req (its id assigned here), read the pending release answers, then
 * its own into resp (and the descriptor with it into *fd when fd is not
 * NULL). *sent: whether the whole request went out. A daemon's error is
 * -code with its sentence in c->reply_msg; a broken stream closes the
 * socket. Never reconnects: that is client_request()'s. */
int client_exchange_once(struct shmv_client *c, struct proto_request *req,
                         struct proto_response *resp, int *fd, bool *sent);

/* ---- transport.c: reaching a daemon worth talking to ---- */

/* Connect to c->path and check who listens (the fallback directory, the
 * peer's uid). Returns the socket, or a negative errno value with the
 * sentence in c->reply_msg where the code alone would mislead. */
int client_dial(struct shmv_client *c);

/* ---- options.c: connect options and the environment ---- */

/* Read the caller's options (opts->size bytes; NULL: the defaults) into
 * o: 0, or -EINVAL for a value out of range or an unknown field set. */
int client_options_read(const shmv_connect_options *opts, shmv_connect_options *o);
/* Set c's map cache size, reconnect timeout and trusted uid from o, the
 * environment overriding. */
void client_options_apply(struct shmv_client *c, const shmv_connect_options *o);
/* The uid $SHMVIEW_TRUSTED_UID names, or -1 (never in a setuid program). */
int64_t client_env_trusted_uid(void);

/* ---- session.c: the connection object ---- */

/* Take / drop a reference to the connection; the last drop frees it. */
void client_ref(struct shmv_client *c);
void client_unref(struct shmv_client *c);

/* One exchange: send req (its id is assigned here), wait for the answer and
 * decode it into resp. If fd is non-NULL (OPEN only), the descriptor that
 * came with the answer is stored there (else -1); the caller owns it.
 * Returns 0 when the daemon answered ok (resp must then be released with
 * proto_response_free), -code when it answered with an error code, or a
 * local failure: -EMSGSIZE (request too large), -ENOMEM, -EPROTO (malformed
 * or mismatched answer; the connection is then broken), -ECONNRESET (the
 * connection failed now), -ENOTCONN (it had failed or was closed before),
 * -ECHILD (c belongs to another process). A failure is recorded for
 * shmv_last_error(), with the daemon's sentence when it sent one. */
int client_request(struct shmv_client *c, struct proto_request *req, struct proto_response *resp,
                   int *fd);
/* The same, also telling which connection generation answered. */
int client_request_gen(struct shmv_client *c, struct proto_request *req,
                       struct proto_response *resp, int *fd, uint64_t *generation);

/* Track a new mapping for re-registration (it holds a lease of the
 * current generation), and end one: untrack it and release its lease if
 * that lease belongs to the current connection. */
void client_mapping_add(struct shmv_client *c, struct client_mapping *m);
void client_mapping_release(struct shmv_client *c, struct client_mapping *m);

/* ---- mapcache.c ---- */

/* A cached (read-only: writable mappings are never kept) mapping of the
 * object (dev, ino) covering [start, start+len), taken out of the cache;
 * false if none. */
bool client_cache_take(struct shmv_client *c, dev_t dev, ino_t ino, uint64_t start, size_t len,
                       struct cached_map *out);
/* Keep m's mapping for later (evicting the least recently used one), or
 * unmap it if the client is closed. */
void client_cache_put(struct shmv_client *c, const struct client_mapping *m);
/* Unmap everything cached. Lock held. */
void client_cache_clear_locked(struct shmv_client *c);

/* ---- view.c, wait.c: what channel.c builds on ---- */

/* view.c's open: send req (OPEN, CREATE_OPEN or CHANNEL_OPEN) and map the
 * view it answers with; *answer (if not NULL) gets the daemon's answer. */
int client_view_request(shmv_client *c, struct proto_request *req, bool prefault, shmv_view **out,
                        struct proto_view *answer);
/* A view of [offset, offset+length) of v's mapping (offset from v's start),
 * sharing it as a slice does; NULL when out of memory. */
shmv_view *client_view_window(shmv_view *v, size_t offset, size_t length);
/* A channel message's views (channel.c): one more, one fewer (the last
 * gives its space back). */
void client_msg_ref(struct client_msg *m);
void client_msg_unref(struct client_msg *m);

struct timespec;
/* An absolute CLOCK_MONOTONIC deadline timeout_ns (>= 0) from now. */
void client_deadline(int64_t timeout_ns, struct timespec *out);
/* Sleep on a shared futex word while it holds expected, until a wake or
 * the deadline (NULL: none): 0 or -ETIMEDOUT. */
int client_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *deadline);
int client_futex_wake(uint32_t *word, int count);
void client_cpu_relax(void);

/* ---- records (records.c) ---- */

/* A record from the wire (struct proto_segment, proto_holder or
 * proto_status) into the caller's public struct of out_size bytes (its
 * sizeof: what both sides know is filled, the rest zeroed), walking the
 * record's description in proto/record.c. */
void client_record_copy(enum proto_record r, const void *wire, void *out, size_t out_size);

/* Copy the library's struct src (src_size bytes) into the caller's dst of
 * dst_size bytes: what both know, the rest of dst zeroed. */
void client_copy_sized(void *dst, size_t dst_size, const void *src, size_t src_size);

#endif

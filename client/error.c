/* SPDX-License-Identifier: MIT */
/*
 * error.c: the sentences. shmv_strerror() has one for every code the daemon
 * or the library returns (static strings, so it is thread-safe).
 * shmv_last_error() gives the sentence of the calling thread's last failure
 * on a client: each thread keeps its own small table, keyed by the client's
 * serial number (never its address, which a later client may reuse), so
 * threads sharing a client never see each other's errors and no lock is
 * taken. The table is allocated at a thread's first failure and freed when
 * the thread exits.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"

const char *shmv_strerror(int code) {
  if (code < 0)
    code = code == INT_MIN ? INT_MAX : -code;
  switch (code) {
  case 0: return "success";
  case ENOENT: return "no such segment (or no shmviewd socket at that path)";
  case ECHILD:
    return "this client belongs to the process that connected it: after fork(), connect again";
  case EEXIST: return "a segment with that name already exists";
  case EACCES: return "permission denied by the segment's mode";
  case EPERM: return "only the segment's owner (or root) may do that";
  case ERANGE: return "the view lies outside the segment";
  case EBUSY: return "the segment has live views and cannot shrink";
  case EINVAL: return "invalid argument (a bad name, descriptor, mode or flag)";
  case ENOSPC: return "no space left for the segment (in /dev/shm or the daemon's limits)";
  case EFBIG: return "the segment would exceed the daemon's size limit";
  case EMSGSIZE: return "the message is larger than the daemon's frame limit";
  case EPROTO: return "protocol error: shmviewd sent something malformed or unexpected";
  case EOPNOTSUPP: return "the daemon does not support that operation";
  case EPROTONOSUPPORT: return "shmviewd speaks another protocol version";
  case EUSERS: return "the daemon has too many clients";
  case ECONNREFUSED: return "shmviewd is not accepting connections on that socket";
  case ECONNRESET: return "lost the connection to shmviewd";
  case ENOTCONN: return "not connected to shmviewd (the connection was lost or closed)";
  case ENOMEM: return "out of memory (or address space for the mapping)";
  case EDQUOT: return "quota exceeded";
  case ENAMETOOLONG: return "the socket path is too long";
  case EOVERFLOW: return "the view's offset is too large to map";
  case EMFILE: return "this process has too many open files";
  case ENFILE: return "the system has too many open files";
  default: break;
  }
#ifdef HAVE_STRERRORDESC_NP
  const char *s = strerrordesc_np(code);
  if (s)
    return s;
#endif
  return "unknown error";
}

/* ---- the last error of each client, per thread ---- */

#define LAST_ERRORS 8 /* clients a thread remembers errors of */

struct last_error {
  uint64_t serial; /* the client's; 0: a connect (no client) */
  uint64_t used;   /* for least-recently-used replacement */
  int code;        /* negative; 0: empty slot */
  bool fresh;      /* recorded by this call: client_result keeps it */
  char msg[CLIENT_MSG_MAX];
};

struct last_errors {
  uint64_t clock;
  struct last_error *latest; /* the thread's last failure, any client */
  struct last_error slot[LAST_ERRORS];
};

static _Thread_local struct last_errors *errors_tls;
static pthread_key_t errors_key; /* only to free the table at thread exit */
static pthread_once_t errors_once = PTHREAD_ONCE_INIT;
static bool errors_key_ok;

static void errors_key_make(void) {
  errors_key_ok = pthread_key_create(&errors_key, free) == 0;
}

static struct last_errors *errors_get(void) {
  if (errors_tls == NULL) {
    pthread_once(&errors_once, errors_key_make);
    struct last_errors *e = calloc(1, sizeof *e);
    if (e == NULL)
      return NULL;
    if (errors_key_ok)
      pthread_setspecific(errors_key, e);
    errors_tls = e;
  }
  return errors_tls;
}

static uint64_t serial_of(const struct shmv_client *c) {
  return c != NULL ? c->serial : 0;
}

static struct last_error *slot_find(struct last_errors *e, uint64_t serial) {
  if (e == NULL)
    return NULL;
  for (int i = 0; i < LAST_ERRORS; i++)
    if (e->slot[i].code != 0 && e->slot[i].serial == serial)
      return &e->slot[i];
  return NULL;
}

int client_fail(const struct shmv_client *c, int code, const char *msg) {
  struct last_errors *e = errors_get();
  if (e == NULL || code >= 0)
    return code;
  uint64_t serial = serial_of(c);
  struct last_error *s = slot_find(e, serial);
  if (s == NULL) {
    s = &e->slot[0];
    for (int i = 0; i < LAST_ERRORS; i++) {
      if (e->slot[i].code == 0) {
        s = &e->slot[i];
        break;
      }
      if (e->slot[i].used < s->used)
        s = &e->slot[i];
    }
  }
  s->serial = serial;
  s->used = ++e->clock;
  e->latest = s;
  s->code = code;
  s->fresh = true;
  snprintf(s->msg, sizeof s->msg, "%s", msg != NULL ? msg : "");
  return code;
}

int client_result(const struct shmv_client *c, int rc) {
  struct last_error *s = slot_find(errors_tls, serial_of(c));
  if (rc < 0 && (s == NULL || !s->fresh || s->code != rc)) {
    client_fail(c, rc, NULL);
    s = slot_find(errors_tls, serial_of(c));
  }
  if (s != NULL)
    s->fresh = false;
  return rc;
}

const char *shmv_last_error(const shmv_client *c) {
  const struct last_error *s = c != NULL            ? slot_find(errors_tls, c->serial)
                               : errors_tls != NULL ? errors_tls->latest
                                                    : NULL;
  if (s == NULL || s->code == 0)
    return "";
  return s->msg[0] != '\0' ? s->msg : shmv_strerror(s->code);
}

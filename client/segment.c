/* SPDX-License-Identifier: MIT */
/*
 * segment.c: segment operations (create, unlink, resize, stat, list) and
 * the daemon's status.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"

/* The first version of each struct the library fills: a caller's may not
 * be smaller (it would lack fields every version has). */
#define SEGMENT_INFO_SIZE_MIN (offsetof(shmv_segment_info, created_nsec) + sizeof(int32_t))
#define STATUS_INFO_SIZE_MIN  (offsetof(shmv_status_info, grace_ms) + sizeof(uint64_t))
#define HOLDER_INFO_SIZE_MIN  (offsetof(shmv_holder_info, since_nsec) + sizeof(int32_t))

/* A request on a named segment, the name checked here so a bad one costs
 * no round trip. */
static int named_request(struct proto_request *req, enum proto_op op, const char *name) {
  memset(req, 0, sizeof *req);
  req->op = op;
  if (shmv_name_check(name) < 0)
    return -EINVAL;
  strcpy(req->name, name); /* fits: checked above */
  req->fields = PROTO_F_NAME;
  return 0;
}

_Static_assert(SHMV_CREATE_EPHEMERAL == PROTO_CREATE_EPHEMERAL, "create flags must agree");

static int unlink_(shmv_client *c, const char *name);

static int create(shmv_client *c, const char *name, size_t size, unsigned mode, unsigned flags) {
  if (!c || (flags & ~PROTO_CREATE_KNOWN))
    return -EINVAL;
  struct proto_request req;
  struct proto_response resp;
  int rc = named_request(&req, PROTO_OP_CREATE, name);
  if (rc < 0)
    return rc;
  req.size = (uint64_t)size;
  req.mode = mode == 0 ? 0600 : mode;
  req.flags = flags;
  req.fields |= PROTO_F_SIZE | PROTO_F_MODE | PROTO_F_FLAGS;
  rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  bool ignored = (flags & PROTO_CREATE_EPHEMERAL) && !resp.u.segment.ephemeral;
  proto_response_free(&resp);
  if (ignored) {
    /* A daemon from before the flag ignores it (unknown keys are ignored):
     * the segment it made would never go away on its own. */
    unlink_(c, name);
    return -EOPNOTSUPP;
  }
  return 0;
}

static int unlink_(shmv_client *c, const char *name) {
  if (!c)
    return -EINVAL;
  struct proto_request req;
  struct proto_response resp;
  int rc = named_request(&req, PROTO_OP_UNLINK, name);
  if (rc < 0)
    return rc;
  rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  proto_response_free(&resp);
  return 0;
}

static int resize(shmv_client *c, const char *name, size_t size) {
  if (!c)
    return -EINVAL;
  struct proto_request req;
  struct proto_response resp;
  int rc = named_request(&req, PROTO_OP_RESIZE, name);
  if (rc < 0)
    return rc;
  req.size = (uint64_t)size;
  req.fields |= PROTO_F_SIZE;
  rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  proto_response_free(&resp);
  return 0;
}

static int stat_(shmv_client *c, const char *name, shmv_segment_info *out, size_t info_size) {
  if (!c || !out || info_size < SEGMENT_INFO_SIZE_MIN)
    return -EINVAL;
  struct proto_request req;
  struct proto_response resp;
  int rc = named_request(&req, PROTO_OP_STAT, name);
  if (rc < 0)
    return rc;
  rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  if (strcmp(resp.u.stat.segment.name, name) != 0) {
    rc = -EPROTO;
  } else {
    client_record_copy(PROTO_RECORD_SEGMENT, &resp.u.stat.segment, out, info_size);
  }
  proto_response_free(&resp);
  return rc;
}

_Static_assert(sizeof(((shmv_holder_info *)0)->comm) == PROTO_COMM_MAX + 1, "comm sizes agree");

/* The array's stride is the caller's info_size, as for list_pass(). */
static int holders(shmv_client *c, const char *name, shmv_holder_info **out, size_t *count,
                   size_t info_size) {
  if (!c || !out || !count || info_size < HOLDER_INFO_SIZE_MIN)
    return -EINVAL;
  *out = NULL;
  *count = 0;

  char *list = NULL;
  size_t n = 0;
  uint64_t after = 0;
  bool first = true;
  int rc;
  for (;;) {
    struct proto_request req;
    struct proto_response resp;
    if ((rc = named_request(&req, PROTO_OP_STAT, name)) < 0)
      goto fail;
    req.holders = true;
    req.after_id = after;
    req.fields |= PROTO_F_HOLDERS | PROTO_F_AFTER_ID;
    rc = client_request(c, &req, &resp, NULL);
    if (rc < 0)
      goto fail;
    size_t got = resp.u.stat.nholders;
    uint64_t more = resp.u.stat.holders_more;
    /* A daemon from before holders ignores the key: views but no holders. */
    if (first && got == 0 && more == 0 && resp.u.stat.segment.views > 0)
      rc = -EOPNOTSUPP;
    else if (got > SIZE_MAX / info_size - n)
      rc = -ENOMEM;
    else if (got > 0) {
      char *bigger = realloc(list, (n + got) * info_size);
      if (!bigger)
        rc = -ENOMEM;
      else
        list = bigger;
    }
    for (size_t i = 0; rc == 0 && i < got; i++) {
      const struct proto_holder *h = &resp.u.stat.holders[i];
      if (h->lease <= after) { /* pages must go forward */
        rc = -EPROTO;
        break;
      }
      client_record_copy(PROTO_RECORD_HOLDER, h, list + n++ * info_size, info_size);
      after = h->lease;
    }
    proto_response_free(&resp);
    if (rc < 0)
      goto fail;
    first = false;
    if (more == 0)
      break;
    if (got == 0) {
      rc = -EPROTO;
      goto fail;
    }
  }
  if (!list) {
    list = malloc(info_size);
    if (!list)
      return -ENOMEM;
  }
  *out = (shmv_holder_info *)list;
  *count = n;
  return 0;

fail:
  free(list);
  return rc;
}

void shmv_holders_free(shmv_holder_info *list) {
  free(list);
}

/* Append one pass of list pages to *listp (items of info_size bytes, the
 * caller's stride): linked segments by name, or (unlinked) those unlinked
 * but still viewed, by unlink id. */
static int list_pass(shmv_client *c, bool unlinked, size_t info_size, char **listp, size_t *np,
                     size_t *capp) {
  char *list = *listp;
  size_t n = *np, cap = *capp;
  char after[PROTO_NAME_MAX + 1] = "";
  uint64_t after_id = 0;
  int rc;
  for (;;) {
    struct proto_request req;
    struct proto_response resp;
    memset(&req, 0, sizeof req);
    req.op = PROTO_OP_LIST;
    if (unlinked) {
      req.unlinked = true;
      req.after_id = after_id;
      req.fields = PROTO_F_UNLINKED | PROTO_F_AFTER_ID;
    } else if (after[0] != '\0') {
      memcpy(req.after, after, sizeof req.after);
      req.fields = PROTO_F_AFTER;
    }
    rc = client_request(c, &req, &resp, NULL);
    if (rc < 0)
      goto out;

    size_t got = resp.u.list.count;
    bool more = resp.u.list.more;
    if (got > SIZE_MAX / info_size - n) {
      proto_response_free(&resp);
      rc = -ENOMEM;
      goto out;
    }
    if (n + got > cap) {
      size_t ncap = cap ? cap * 2 : 64;
      if (ncap < n + got || ncap > SIZE_MAX / info_size)
        ncap = n + got;
      char *bigger = realloc(list, ncap * info_size);
      if (!bigger) {
        proto_response_free(&resp);
        rc = -ENOMEM;
        goto out;
      }
      list = bigger;
      cap = ncap;
    }
    /* Pages must go strictly forward, or "more" could loop for ever. */
    rc = 0;
    for (size_t i = 0; i < got; i++) {
      const struct proto_segment *s = &resp.u.list.items[i];
      if (unlinked && !s->unlinked) {
        /* A daemon from before unlinked listing ignored the key and
         * answered its linked segments: there is nothing more to show. */
        more = false;
        break;
      }
      if (unlinked ? s->unlink_id <= after_id : strcmp(s->name, after) <= 0) {
        rc = -EPROTO;
        break;
      }
      client_record_copy(PROTO_RECORD_SEGMENT, s, list + n++ * info_size, info_size);
      memcpy(after, s->name, sizeof after);
      after_id = s->unlink_id;
    }
    proto_response_free(&resp);
    if (rc < 0)
      goto out;
    if (!more)
      break;
    if (got == 0) {
      rc = -EPROTO;
      goto out;
    }
  }
out:
  *listp = list;
  *np = n;
  *capp = cap;
  return rc;
}

static int list(shmv_client *c, shmv_segment_info **out, size_t *count, size_t info_size) {
  if (!out || !count)
    return -EINVAL;
  *out = NULL;
  *count = 0;
  if (!c || info_size < SEGMENT_INFO_SIZE_MIN)
    return -EINVAL;

  char *list = NULL;
  size_t n = 0, cap = 0;
  int rc = list_pass(c, false, info_size, &list, &n, &cap);
  if (rc == 0)
    rc = list_pass(c, true, info_size, &list, &n, &cap);
  if (rc < 0) {
    free(list);
    return rc;
  }
  if (!list) {
    /* An empty list is still a malloc'd array the caller frees. */
    list = malloc(info_size);
    if (!list)
      return -ENOMEM;
  }
  *out = (shmv_segment_info *)(void *)list;
  *count = n;
  return 0;
}

void shmv_list_free(shmv_segment_info *list) {
  free(list);
}

static int status(shmv_client *c, shmv_status_info *out, size_t info_size) {
  if (!c || !out || info_size < STATUS_INFO_SIZE_MIN)
    return -EINVAL;
  struct proto_request req;
  struct proto_response resp;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_STATUS;
  int rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  client_record_copy(PROTO_RECORD_STATUS, &resp.u.status, out, info_size);
  proto_response_free(&resp);
  return 0;
}

static int freeze(shmv_client *c, const char *name) {
  if (!c)
    return -EINVAL;
  struct proto_request req;
  struct proto_response resp;
  int rc = named_request(&req, PROTO_OP_FREEZE, name);
  if (rc < 0)
    return rc;
  rc = client_request(c, &req, &resp, NULL);
  if (rc < 0)
    return rc;
  bool frozen = resp.u.segment.frozen;
  proto_response_free(&resp);
  return frozen ? 0 : -EPROTO; /* the answer is the segment, frozen */
}

/* ---- public: each records a failure for shmv_last_error() ---- */

int shmv_freeze(shmv_client *c, const char *name) {
  return client_result(c, freeze(c, name));
}

int shmv_create(shmv_client *c, const char *name, size_t size, unsigned mode) {
  return client_result(c, create(c, name, size, mode, 0));
}

int shmv_holders_sized(shmv_client *c, const char *name, shmv_holder_info **out, size_t *count,
                       size_t info_size) {
  return client_result(c, holders(c, name, out, count, info_size));
}

int shmv_create_flags(shmv_client *c, const char *name, size_t size, unsigned mode,
                      unsigned flags) {
  return client_result(c, create(c, name, size, mode, flags));
}

int shmv_unlink(shmv_client *c, const char *name) {
  return client_result(c, unlink_(c, name));
}

int shmv_resize(shmv_client *c, const char *name, size_t size) {
  return client_result(c, resize(c, name, size));
}

int shmv_stat_sized(shmv_client *c, const char *name, shmv_segment_info *out, size_t info_size) {
  return client_result(c, stat_(c, name, out, info_size));
}

int shmv_list_sized(shmv_client *c, shmv_segment_info **out, size_t *count, size_t info_size) {
  return client_result(c, list(c, out, count, info_size));
}

int shmv_status_sized(shmv_client *c, shmv_status_info *out, size_t info_size) {
  return client_result(c, status(c, out, info_size));
}

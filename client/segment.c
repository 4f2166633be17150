/* SPDX-License-Identifier: MIT */
/*
 * segment.c: the segment operations (create, unlink, resize, freeze, chmod,
 * chown, stat, holders, list) and the daemon's status, as requests and answers; the
 * exchange itself is session.c's. An op that takes a name and numbers and
 * answers at most the segment goes through one generic path driven by the
 * protocol's op table (simple_op() below): one line per public function.
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

/* ---- the generic path: an op on a named segment, driven by proto_ops ----
 *
 * proto_ops[op].uses says which request fields an op takes; after the name
 * they come in the order of the request table (proto_request_msg), each a
 * number or a flag. op_exchange() fills the request by walking that
 * table, so an op of that shape costs one line here (see OP_ARGS below);
 * the daemon checks the values' ranges, and its sentence says why. */

/* Store v into req's member of field f: -EINVAL when f is not a number or
 * a flag, or when v does not fit its member (it would be cut short). */
static int set_arg(struct proto_request *req, const struct proto_field *f, uint64_t v) {
  char *p = (char *)req + f->offset;
  uint32_t v32 = (uint32_t)v;

  switch (f->type) {
  case PROTO_T_BOOL:
    if (v > 1)
      return -EINVAL;
    *(bool *)(void *)p = v != 0;
    return 0;
  case PROTO_T_UINT:
  case PROTO_T_LENGTH:
    if (f->size == sizeof v32) {
      if (v > UINT32_MAX)
        return -EINVAL;
      memcpy(p, &v32, sizeof v32);
    } else {
      memcpy(p, &v, sizeof v);
    }
    return 0;
  default: return -EINVAL;
  }
}

/* Build op's request from name (NULL for an op without one) and args, the
 * op's other arguments in table order: -EINVAL if they do not match the
 * op's row. The name is checked here so a bad one costs no round trip. */
static int build_request(struct proto_request *req, enum proto_op op, const char *name,
                         const uint64_t *args, size_t nargs) {
  const struct proto_op_info *oi = proto_op_info(op);
  size_t used = 0;

  memset(req, 0, sizeof *req);
  req->op = op;
  if (oi == NULL || (name != NULL) != ((oi->uses & PROTO_F_NAME) != 0))
    return -EINVAL;
  if (name != NULL) {
    if (shmv_name_check(name) < 0)
      return -EINVAL;
    strcpy(req->name, name); /* fits: checked above */
  }
  for (size_t i = 0; i < proto_request_msg.nfields; i++) {
    const struct proto_field *f = &proto_request_msg.fields[i];
    int rc;

    if (f->bit == PROTO_F_NAME || (oi->uses & f->bit) == 0)
      continue;
    if (used == nargs)
      return -EINVAL;
    if ((rc = set_arg(req, f, args[used++])) < 0)
      return rc;
  }
  return used == nargs ? 0 : -EINVAL;
}

/* One exchange of op on name: 0 with *resp to free (proto_response_free),
 * or a negative errno value. */
static int op_exchange(shmv_client *c, enum proto_op op, const char *name, const uint64_t *args,
                       size_t nargs, struct proto_response *resp) {
  struct proto_request req;
  int rc;

  if (c == NULL)
    return -EINVAL;
  if ((rc = build_request(&req, op, name, args, nargs)) < 0)
    return rc;
  return client_request(c, &req, resp, NULL);
}

/* op_exchange() for an op whose answer is, at most, the segment: a
 * copy of it in *seg (if seg is not NULL; the op's answer must then be a
 * segment, as create, resize, freeze and stat's are). */
static int simple_op(shmv_client *c, enum proto_op op, const char *name, struct proto_segment *seg,
                     const uint64_t *args, size_t nargs) {
  struct proto_response resp;
  int rc = op_exchange(c, op, name, args, nargs, &resp);

  if (rc < 0)
    return rc;
  if (seg != NULL)
    *seg = resp.u.segment; /* stat's segment is in the same place */
  proto_response_free(&resp);
  return 0;
}

/* An op's arguments after the name, as the array and count simple_op()
 * takes: OP_ARGS() for none, OP_ARGS(size), OP_ARGS(uid, gid)... (the 0
 * in front lets the list be empty). */
#define OP_ARGS(...)                          \
  ((const uint64_t[]){ 0, __VA_ARGS__ } + 1), \
      (sizeof((const uint64_t[]){ 0, __VA_ARGS__ }) / sizeof(uint64_t) - 1)

_Static_assert(SHMV_CREATE_EPHEMERAL == PROTO_CREATE_EPHEMERAL, "create flags must agree");
_Static_assert(SHMV_CREATE_SEALED == PROTO_CREATE_SEALED, "create flags must agree");

static int create(shmv_client *c, const char *name, size_t size, unsigned mode, unsigned flags) {
  struct proto_segment seg;

  if (c == NULL || (flags & ~PROTO_CREATE_KNOWN))
    return -EINVAL;
  int rc = simple_op(c, PROTO_OP_CREATE, name, &seg, OP_ARGS(size, mode == 0 ? 0600 : mode, flags));
  if (rc < 0)
    return rc;
  if (((flags & PROTO_CREATE_EPHEMERAL) && !seg.ephemeral) ||
      ((flags & PROTO_CREATE_SEALED) && !seg.sealed)) {
    /* A daemon from before the flag ignores it (unknown keys are ignored):
     * the segment it made would never go away on its own. */
    simple_op(c, PROTO_OP_UNLINK, name, NULL, OP_ARGS());
    return -EOPNOTSUPP;
  }
  return 0;
}

static int stat_(shmv_client *c, const char *name, shmv_segment_info *out, size_t info_size) {
  struct proto_segment seg;

  if (c == NULL || out == NULL || info_size < SEGMENT_INFO_SIZE_MIN)
    return -EINVAL;
  int rc = simple_op(c, PROTO_OP_STAT, name, &seg, OP_ARGS(false, 0));
  if (rc < 0)
    return rc;
  if (strcmp(seg.name, name) != 0)
    return -EPROTO;
  client_record_copy(PROTO_RECORD_SEGMENT, &seg, out, info_size);
  return 0;
}

_Static_assert(sizeof(((shmv_holder_info *)0)->comm) == PROTO_COMM_MAX + 1, "comm sizes agree");

/* The array's stride is the caller's info_size, as for list_pass(). */
static int holders(shmv_client *c, const char *name, shmv_holder_info **out, size_t *count,
                   size_t info_size) {
  if (c == NULL || out == NULL || count == NULL || info_size < HOLDER_INFO_SIZE_MIN)
    return -EINVAL;
  *out = NULL;
  *count = 0;

  char *list = NULL;
  size_t n = 0;
  uint64_t after = 0;
  bool first = true;
  int rc;
  for (;;) {
    struct proto_response resp;
    rc = op_exchange(c, PROTO_OP_STAT, name, OP_ARGS(true, after), &resp);
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
      if (bigger == NULL)
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
  if (list == NULL) {
    list = malloc(info_size);
    if (list == NULL)
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
    } else if (after[0] != '\0') {
      memcpy(req.after, after, sizeof req.after);
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
      if (bigger == NULL) {
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
  if (out == NULL || count == NULL)
    return -EINVAL;
  *out = NULL;
  *count = 0;
  if (c == NULL || info_size < SEGMENT_INFO_SIZE_MIN)
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
  if (list == NULL) {
    /* An empty list is still a malloc'd array the caller frees. */
    list = malloc(info_size);
    if (list == NULL)
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
  if (c == NULL || out == NULL || info_size < STATUS_INFO_SIZE_MIN)
    return -EINVAL;
  struct proto_response resp;
  int rc = op_exchange(c, PROTO_OP_STATUS, NULL, OP_ARGS(), &resp);
  if (rc < 0)
    return rc;
  client_record_copy(PROTO_RECORD_STATUS, &resp.u.status, out, info_size);
  proto_response_free(&resp);
  return 0;
}

/* The answer is the segment, frozen. */
static int freeze(shmv_client *c, const char *name) {
  struct proto_segment seg;
  int rc = simple_op(c, PROTO_OP_FREEZE, name, &seg, OP_ARGS());

  return rc < 0 ? rc : seg.frozen ? 0 : -EPROTO;
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

/* Ops that need nothing but the generic path: one line each. */

int shmv_unlink(shmv_client *c, const char *name) {
  return client_result(c, simple_op(c, PROTO_OP_UNLINK, name, NULL, OP_ARGS()));
}

int shmv_resize(shmv_client *c, const char *name, size_t size) {
  return client_result(c, simple_op(c, PROTO_OP_RESIZE, name, NULL, OP_ARGS(size)));
}

int shmv_chmod(shmv_client *c, const char *name, unsigned mode) {
  return client_result(c, simple_op(c, PROTO_OP_CHMOD, name, NULL, OP_ARGS(mode)));
}

int shmv_chown(shmv_client *c, const char *name, uid_t uid, gid_t gid) {
  return client_result(
      c, simple_op(c, PROTO_OP_CHOWN, name, NULL, OP_ARGS((uint32_t)uid, (uint32_t)gid)));
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

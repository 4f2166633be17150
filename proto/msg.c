/* SPDX-License-Identifier: MIT */
/*
 * msg.c: msgpack encoding and decoding of every request and response.
 *
 * Decoding is defensive: the payload is first skimmed by a small
 * non-recursive scanner that checks it is exactly one msgpack object whose
 * containers never announce more elements than bytes remain. Only then is
 * it handed to msgpack-c, so a tiny hostile frame cannot make the unpacker
 * allocate gigabytes for an array header that lies about its length. After
 * that every key is looked up by name, every value type-checked, every
 * string length-checked against its buffer (too long is an error, never a
 * truncation), so the daemon's handlers only ever see well-formed requests.
 *
 * Conventions (docs/protocol.md):
 * - map keys that are not strings, and string keys an op does not use, are
 *   ignored (forward compatibility);
 * - a key an op uses may appear only once in a request (-EINVAL);
 * - the encoder writes every argument of the op from the struct (it does
 *   not look at req->fields); PROTO_TO_END is written as nil.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* ---- ops ---- */

static const char *const op_names[PROTO_OP_COUNT_] = {
  [PROTO_OP_NONE] = NULL,       [PROTO_OP_HELLO] = "hello",     [PROTO_OP_CREATE] = "create",
  [PROTO_OP_OPEN] = "open",     [PROTO_OP_RELEASE] = "release", [PROTO_OP_LIST] = "list",
  [PROTO_OP_STAT] = "stat",     [PROTO_OP_UNLINK] = "unlink",   [PROTO_OP_RESIZE] = "resize",
  [PROTO_OP_STATUS] = "status",
};

const char *proto_op_name(enum proto_op op) {
  if ((int)op <= PROTO_OP_NONE || (int)op >= PROTO_OP_COUNT_)
    return NULL;
  return op_names[op];
}

enum proto_op proto_op_lookup(const char *s, size_t len) {
  int i;

  if (s == NULL)
    return PROTO_OP_NONE;
  for (i = PROTO_OP_NONE + 1; i < PROTO_OP_COUNT_; i++) {
    if (strlen(op_names[i]) == len && memcmp(op_names[i], s, len) == 0)
      return (enum proto_op)i;
  }
  return PROTO_OP_NONE;
}

/* ---- skim: validate msgpack framing before msgpack-c sees it ---- */

static uint64_t be_get(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  size_t i;

  for (i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/* 0 if data[0..len) is exactly one msgpack object and no container
 * announces more elements than bytes are left; -EPROTO otherwise. */
static int skim(const uint8_t *data, size_t len) {
  size_t pos = 0;
  uint64_t pending = 1; /* objects still to read */
  uint64_t body, count;
  size_t lenbytes;
  uint8_t b;

  while (pending > 0) {
    if (pos >= len)
      return -EPROTO; /* truncated */
    b = data[pos++];
    pending--;
    body = 0;
    count = 0;
    lenbytes = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      /* fixint, nil, bool */
    } else if (b <= 0x8f) {
      count = 2u * (b & 0x0fu);
    } else if (b <= 0x9f) {
      count = b & 0x0fu;
    } else if (b <= 0xbf) {
      body = b & 0x1fu;
    } else {
      switch (b) {
      case 0xc4:
      case 0xd9: lenbytes = 1; break; /* bin8, str8 */
      case 0xc5:
      case 0xda: lenbytes = 2; break;
      case 0xc6:
      case 0xdb: lenbytes = 4; break;
      case 0xc7:
        lenbytes = 1;
        body = 1;
        break; /* ext8: + type byte */
      case 0xc8:
        lenbytes = 2;
        body = 1;
        break;
      case 0xc9:
        lenbytes = 4;
        body = 1;
        break;
      case 0xca: body = 4; break;
      case 0xcb: body = 8; break;
      case 0xcc:
      case 0xd0: body = 1; break;
      case 0xcd:
      case 0xd1: body = 2; break;
      case 0xce:
      case 0xd2: body = 4; break;
      case 0xcf:
      case 0xd3: body = 8; break;
      case 0xd4: body = 2; break; /* fixext: type byte + data */
      case 0xd5: body = 3; break;
      case 0xd6: body = 5; break;
      case 0xd7: body = 9; break;
      case 0xd8: body = 17; break;
      case 0xdc:
      case 0xdd:
      case 0xde:
      case 0xdf:
        lenbytes = (b == 0xdc || b == 0xde) ? 2 : 4;
        if (len - pos < lenbytes)
          return -EPROTO;
        count = be_get(data + pos, lenbytes);
        if (b >= 0xde)
          count *= 2;
        pos += lenbytes;
        lenbytes = 0;
        break;
      default: /* 0xc1: never used */ return -EPROTO;
      }
    }
    if (lenbytes) {
      if (len - pos < lenbytes)
        return -EPROTO;
      body += be_get(data + pos, lenbytes);
      pos += lenbytes;
    }
    if (body > len - pos)
      return -EPROTO;
    pos += (size_t)body;
    pending += count;
    if (pending > len - pos) /* each object takes at least one byte */
      return -EPROTO;
  }
  return pos == len ? 0 : -EPROTO;
}

/* Unpack one payload into u; the top-level object must be a map. */
static int unpack_map(const void *payload, size_t len, msgpack_unpacked *u, const char **why) {
  size_t off = 0;
  msgpack_unpack_return rc;

  if (payload == NULL || len == 0) {
    *why = "empty payload";
    return -EPROTO;
  }
  if (skim(payload, len) != 0) {
    *why = "payload is not exactly one well-formed msgpack object";
    return -EPROTO;
  }
  rc = msgpack_unpack_next(u, payload, len, &off);
  if (rc == MSGPACK_UNPACK_NOMEM_ERROR) {
    *why = "out of memory decoding the payload";
    return -ENOMEM;
  }
  if (rc != MSGPACK_UNPACK_SUCCESS || off != len) {
    *why = "payload is not exactly one well-formed msgpack object";
    return -EPROTO;
  }
  if (u->data.type != MSGPACK_OBJECT_MAP) {
    *why = "payload is not a msgpack map";
    return -EPROTO;
  }
  return 0;
}

static bool key_is(const msgpack_object *k, const char *key) {
  size_t n = strlen(key);

  return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
         memcmp(k->via.str.ptr, key, n) == 0;
}

/* Value of key in map: NULL if absent. *dups (if non-NULL) counts how many
 * times the key appears. */
static const msgpack_object *map_get(const msgpack_object *map, const char *key, unsigned *dups) {
  const msgpack_object *found = NULL;
  uint32_t i;

  if (dups)
    *dups = 0;
  for (i = 0; i < map->via.map.size; i++) {
    if (!key_is(&map->via.map.ptr[i].key, key))
      continue;
    if (found == NULL)
      found = &map->via.map.ptr[i].val;
    if (dups == NULL)
      break;
    (*dups)++;
  }
  return found;
}

/* Copy a msgpack string into a buffer of cap bytes; false if it does not
 * fit (with its NUL) or contains a NUL byte. */
static bool str_copy(const msgpack_object *o, char *dst, size_t cap) {
  if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap ||
      memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
    return false;
  memcpy(dst, o->via.str.ptr, o->via.str.size);
  dst[o->via.str.size] = '\0';
  return true;
}

/* A printable, bounded rendering of a wire string for error messages. */
static void str_show(const char *p, size_t n, char *out, size_t cap) {
  size_t i, j = 0, max = 40;

  for (i = 0; i < n && i < max && j + 1 < cap; i++) {
    unsigned char c = (unsigned char)p[i];
    out[j++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
  }
  if (i < n && j + 3 < cap) {
    memcpy(out + j, "...", 3);
    j += 3;
  }
  if (cap > 0)
    out[j < cap ? j : cap - 1] = '\0';
}

/* ---- request decoding ---- */

struct rfield {
  const char *key;
  uint32_t bit;
};

static const struct rfield rfields[] = {
  { "name", PROTO_F_NAME },     { "size", PROTO_F_SIZE },     { "mode", PROTO_F_MODE },
  { "offset", PROTO_F_OFFSET }, { "length", PROTO_F_LENGTH }, { "writable", PROTO_F_WRITABLE },
  { "lease", PROTO_F_LEASE },   { "after", PROTO_F_AFTER },   { "version", PROTO_F_VERSION },
};

/* Which arguments each op uses, and which of those it requires. */
static void op_fields(enum proto_op op, uint32_t *uses, uint32_t *needs) {
  switch (op) {
  case PROTO_OP_HELLO: *uses = *needs = PROTO_F_VERSION; break;
  case PROTO_OP_CREATE:
    *needs = PROTO_F_NAME | PROTO_F_SIZE;
    *uses = *needs | PROTO_F_MODE;
    break;
  case PROTO_OP_OPEN:
    *needs = PROTO_F_NAME;
    *uses = *needs | PROTO_F_OFFSET | PROTO_F_LENGTH | PROTO_F_WRITABLE;
    break;
  case PROTO_OP_RELEASE: *uses = *needs = PROTO_F_LEASE; break;
  case PROTO_OP_LIST:
    *needs = 0;
    *uses = PROTO_F_AFTER;
    break;
  case PROTO_OP_STAT:
  case PROTO_OP_UNLINK: *uses = *needs = PROTO_F_NAME; break;
  case PROTO_OP_RESIZE: *uses = *needs = PROTO_F_NAME | PROTO_F_SIZE; break;
  default: *uses = *needs = 0; break;
  }
}

static int fail(char *errmsg, size_t errcap, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *errmsg, size_t errcap, int code, const char *fmt, ...) {
  va_list ap;

  if (errmsg != NULL && errcap > 0) {
    va_start(ap, fmt);
    vsnprintf(errmsg, errcap, fmt, ap);
    va_end(ap);
  }
  return code;
}

static bool name_chars_valid(const char *p, size_t n) {
  char tmp[PROTO_NAME_MAX + 1];

  if (n == 0 || n > PROTO_NAME_MAX || memchr(p, '\0', n) != NULL)
    return false;
  memcpy(tmp, p, n);
  tmp[n] = '\0';
  return proto_name_valid(tmp);
}

static int bad_name(const char *key, const msgpack_object *o, char *errmsg, size_t errcap) {
  char shown[64];

  str_show(o->via.str.ptr, o->via.str.size, shown, sizeof shown);
  return fail(errmsg, errcap, -EINVAL,
              "invalid segment name \"%s\" in \"%s\": names are 1 to %d "
              "characters of A-Z a-z 0-9 . _ - and do not start with '.'",
              shown, key, PROTO_NAME_MAX);
}

static int want_uint(const char *key, const msgpack_object *o, uint64_t max, uint64_t *out,
                     char *errmsg, size_t errcap) {
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return fail(errmsg, errcap, -EINVAL, "\"%s\" must be an unsigned integer", key);
  if (o->via.u64 > max)
    return fail(errmsg, errcap, -EINVAL, "\"%s\" is out of range (at most %llu)", key,
                (unsigned long long)max);
  *out = o->via.u64;
  return 0;
}

/* Decode one argument (bit) of the request from o. */
static int decode_arg(struct proto_request *req, uint32_t bit, const char *key,
                      const msgpack_object *o, char *errmsg, size_t errcap) {
  uint64_t v = 0;
  int rc;

  switch (bit) {
  case PROTO_F_NAME:
  case PROTO_F_AFTER:
    if (o->type != MSGPACK_OBJECT_STR)
      return fail(errmsg, errcap, -EINVAL, "\"%s\" must be a string", key);
    if (bit == PROTO_F_AFTER && o->via.str.size == 0) {
      req->after[0] = '\0';
      return 0;
    }
    if (!name_chars_valid(o->via.str.ptr, o->via.str.size))
      return bad_name(key, o, errmsg, errcap);
    str_copy(o, bit == PROTO_F_NAME ? req->name : req->after, PROTO_NAME_MAX + 1);
    return 0;
  case PROTO_F_SIZE: return want_uint(key, o, UINT64_MAX, &req->size, errmsg, errcap);
  case PROTO_F_MODE:
    if ((rc = want_uint(key, o, UINT64_MAX, &v, errmsg, errcap)) != 0)
      return rc;
    if (v > 0777)
      return fail(errmsg, errcap, -EINVAL,
                  "\"%s\" is out of range (at most 0777: permission bits "
                  "only)",
                  key);
    req->mode = (uint32_t)v;
    return 0;
  case PROTO_F_OFFSET: return want_uint(key, o, UINT64_MAX, &req->offset, errmsg, errcap);
  case PROTO_F_LENGTH:
    if (o->type == MSGPACK_OBJECT_NIL) {
      req->length = PROTO_TO_END;
      return 0;
    }
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
      return fail(errmsg, errcap, -EINVAL, "\"%s\" must be an unsigned integer or nil", key);
    req->length = o->via.u64;
    return 0;
  case PROTO_F_WRITABLE:
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
      return fail(errmsg, errcap, -EINVAL, "\"%s\" must be a boolean", key);
    req->writable = o->via.boolean;
    return 0;
  case PROTO_F_LEASE: return want_uint(key, o, UINT64_MAX, &req->lease, errmsg, errcap);
  case PROTO_F_VERSION:
    if ((rc = want_uint(key, o, UINT32_MAX, &v, errmsg, errcap)) != 0)
      return rc;
    req->version = (uint32_t)v;
    return 0;
  default: return 0;
  }
}

int proto_request_decode(const void *payload, size_t len, struct proto_request *req, char *errmsg,
                         size_t errcap) {
  msgpack_unpacked u;
  const msgpack_object *map, *o;
  const char *why = NULL;
  char shown[64];
  uint32_t uses, needs;
  unsigned dups;
  size_t i;
  int rc;

  memset(req, 0, sizeof *req);
  req->mode = 0600;
  req->length = PROTO_TO_END;
  if (errmsg != NULL && errcap > 0)
    errmsg[0] = '\0';

  msgpack_unpacked_init(&u);
  rc = unpack_map(payload, len, &u, &why);
  if (rc != 0) {
    fail(errmsg, errcap, rc, "%s", why);
    goto out;
  }
  map = &u.data;

  /* id first, so that every later error can still answer it. */
  o = map_get(map, "id", &dups);
  if (o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
    req->id = o->via.u64;
  if (o == NULL) {
    rc = fail(errmsg, errcap, -EINVAL, "missing required field \"id\"");
    goto out;
  }
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
    rc = fail(errmsg, errcap, -EINVAL, "\"id\" must be an unsigned integer");
    goto out;
  }
  if (dups > 1) {
    rc = fail(errmsg, errcap, -EINVAL, "duplicate key \"id\"");
    goto out;
  }

  o = map_get(map, "op", &dups);
  if (o == NULL) {
    rc = fail(errmsg, errcap, -EINVAL, "missing required field \"op\"");
    goto out;
  }
  if (o->type != MSGPACK_OBJECT_STR) {
    rc = fail(errmsg, errcap, -EINVAL, "\"op\" must be a string");
    goto out;
  }
  if (dups > 1) {
    rc = fail(errmsg, errcap, -EINVAL, "duplicate key \"op\"");
    goto out;
  }
  req->op = proto_op_lookup(o->via.str.ptr, o->via.str.size);
  if (req->op == PROTO_OP_NONE) {
    str_show(o->via.str.ptr, o->via.str.size, shown, sizeof shown);
    rc = fail(errmsg, errcap, -EOPNOTSUPP, "unknown op \"%s\"", shown);
    goto out;
  }

  op_fields(req->op, &uses, &needs);
  for (i = 0; i < sizeof rfields / sizeof rfields[0]; i++) {
    if (!(uses & rfields[i].bit))
      continue;
    o = map_get(map, rfields[i].key, &dups);
    if (o == NULL) {
      if (needs & rfields[i].bit) {
        rc = fail(errmsg, errcap, -EINVAL, "missing required field \"%s\" for op \"%s\"",
                  rfields[i].key, proto_op_name(req->op));
        goto out;
      }
      continue;
    }
    if (dups > 1) {
      rc = fail(errmsg, errcap, -EINVAL, "duplicate key \"%s\"", rfields[i].key);
      goto out;
    }
    rc = decode_arg(req, rfields[i].bit, rfields[i].key, o, errmsg, errcap);
    if (rc != 0)
      goto out;
    req->fields |= rfields[i].bit;
  }
  rc = 0;

out:
  msgpack_unpacked_destroy(&u);
  return rc;
}

/* ---- encoding ---- */

/* Packer calls return 0 or -1 (allocation failure); we OR them together
 * and check once at the end. */
static int pk_str(msgpack_packer *pk, const char *s, size_t cap) {
  return msgpack_pack_str_with_body(pk, s, strnlen(s, cap));
}

static int pk_key(msgpack_packer *pk, const char *key) {
  return msgpack_pack_str_with_body(pk, key, strlen(key));
}

static int pk_kv_uint(msgpack_packer *pk, const char *key, uint64_t v) {
  return pk_key(pk, key) | msgpack_pack_uint64(pk, v);
}

static int pk_kv_str(msgpack_packer *pk, const char *key, const char *s, size_t cap) {
  return pk_key(pk, key) | pk_str(pk, s, cap);
}

static int pk_kv_bool(msgpack_packer *pk, const char *key, bool v) {
  return pk_key(pk, key) | (v ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
}

/* Start a frame: a placeholder header at out->size. */
static int frame_begin(msgpack_sbuffer *out, size_t *base) {
  static const char zero[PROTO_HEADER_SIZE];

  *base = out->size;
  return msgpack_sbuffer_write(out, zero, sizeof zero) == 0 ? 0 : -ENOMEM;
}

/* Finish a frame: check the size and fill in the header; on failure the
 * buffer is cut back to what it held before frame_begin. */
static int frame_end(msgpack_sbuffer *out, size_t base, size_t frame_max, int packerr) {
  size_t plen = out->size - base - PROTO_HEADER_SIZE;

  if (frame_max == 0)
    frame_max = PROTO_FRAME_MAX_DEFAULT;
  if (packerr) {
    out->size = base;
    return -ENOMEM;
  }
  if (plen > frame_max || plen > UINT32_MAX) {
    out->size = base;
    return -EMSGSIZE;
  }
  proto_frame_header((uint8_t *)out->data + base, (uint32_t)plen);
  return 0;
}

int proto_request_encode(const struct proto_request *req, size_t frame_max, msgpack_sbuffer *out) {
  msgpack_packer pk;
  const char *opname = proto_op_name(req->op);
  size_t base, n = 2;
  int e = 0, rc;

  if (opname == NULL)
    return -EINVAL;
  switch (req->op) {
  case PROTO_OP_HELLO: n += 1; break;
  case PROTO_OP_CREATE: n += 3; break;
  case PROTO_OP_OPEN: n += 4; break;
  case PROTO_OP_RELEASE: n += 1; break;
  case PROTO_OP_LIST: n += 1; break;
  case PROTO_OP_STAT: n += 1; break;
  case PROTO_OP_UNLINK: n += 1; break;
  case PROTO_OP_RESIZE: n += 2; break;
  default: break;
  }
  if ((rc = frame_begin(out, &base)) != 0)
    return rc;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  e |= msgpack_pack_map(&pk, n);
  e |= pk_kv_uint(&pk, "id", req->id);
  e |= pk_kv_str(&pk, "op", opname, strlen(opname));
  switch (req->op) {
  case PROTO_OP_HELLO: e |= pk_kv_uint(&pk, "version", req->version); break;
  case PROTO_OP_CREATE:
    e |= pk_kv_str(&pk, "name", req->name, sizeof req->name);
    e |= pk_kv_uint(&pk, "size", req->size);
    e |= pk_kv_uint(&pk, "mode", req->mode);
    break;
  case PROTO_OP_OPEN:
    e |= pk_kv_str(&pk, "name", req->name, sizeof req->name);
    e |= pk_kv_uint(&pk, "offset", req->offset);
    if (req->length == PROTO_TO_END)
      e |= pk_key(&pk, "length") | msgpack_pack_nil(&pk);
    else
      e |= pk_kv_uint(&pk, "length", req->length);
    e |= pk_kv_bool(&pk, "writable", req->writable);
    break;
  case PROTO_OP_RELEASE: e |= pk_kv_uint(&pk, "lease", req->lease); break;
  case PROTO_OP_LIST: e |= pk_kv_str(&pk, "after", req->after, sizeof req->after); break;
  case PROTO_OP_STAT:
  case PROTO_OP_UNLINK: e |= pk_kv_str(&pk, "name", req->name, sizeof req->name); break;
  case PROTO_OP_RESIZE:
    e |= pk_kv_str(&pk, "name", req->name, sizeof req->name);
    e |= pk_kv_uint(&pk, "size", req->size);
    break;
  default: break;
  }
  return frame_end(out, base, frame_max, e);
}

static int pk_segment(msgpack_packer *pk, const struct proto_segment *s) {
  int e = 0;

  e |= msgpack_pack_map(pk, 9);
  e |= pk_kv_str(pk, "name", s->name, sizeof s->name);
  e |= pk_kv_uint(pk, "size", s->size);
  e |= pk_kv_uint(pk, "uid", s->uid);
  e |= pk_kv_uint(pk, "gid", s->gid);
  e |= pk_kv_uint(pk, "mode", s->mode);
  e |= pk_kv_uint(pk, "views", s->views);
  e |= pk_kv_uint(pk, "writable_views", s->writable_views);
  e |= pk_key(pk, "created") | msgpack_pack_int64(pk, s->created_sec);
  e |= pk_kv_uint(pk, "created_nsec", s->created_nsec);
  return e;
}

int proto_response_encode(const struct proto_response *resp, size_t frame_max,
                          msgpack_sbuffer *out) {
  msgpack_packer pk;
  const struct proto_view *v = &resp->u.view;
  const struct proto_status *st = &resp->u.status;
  size_t base, i, n = 2;
  int e = 0, rc;

  if ((int)resp->op < PROTO_OP_NONE || (int)resp->op >= PROTO_OP_COUNT_)
    return -EINVAL;
  if (resp->err < 0)
    return -EINVAL;
  if (resp->op == PROTO_OP_LIST && resp->err == 0 && resp->u.list.count > 0 &&
      resp->u.list.items == NULL)
    return -EINVAL;
  if (resp->err == 0) {
    switch (resp->op) {
    case PROTO_OP_HELLO: n += 4; break;
    case PROTO_OP_CREATE:
    case PROTO_OP_STAT:
    case PROTO_OP_RESIZE:
    case PROTO_OP_OPEN:
    case PROTO_OP_STATUS: n += 1; break;
    case PROTO_OP_LIST: n += 2; break;
    default: break;
    }
  }
  if ((rc = frame_begin(out, &base)) != 0)
    return rc;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  e |= msgpack_pack_map(&pk, n);
  e |= pk_kv_uint(&pk, "id", resp->id);
  if (resp->err != 0) {
    e |= pk_key(&pk, "err") | msgpack_pack_map(&pk, 2);
    e |= pk_kv_uint(&pk, "code", (uint64_t)resp->err);
    e |= pk_kv_str(&pk, "msg", resp->msg, sizeof resp->msg);
    return frame_end(out, base, frame_max, e);
  }
  e |= pk_kv_bool(&pk, "ok", true);
  switch (resp->op) {
  case PROTO_OP_HELLO:
    e |= pk_kv_uint(&pk, "version", resp->u.hello.version);
    e |= pk_kv_str(&pk, "server", resp->u.hello.server, sizeof resp->u.hello.server);
    e |= pk_kv_uint(&pk, "frame_max", resp->u.hello.frame_max);
    e |= pk_kv_uint(&pk, "name_max", resp->u.hello.name_max);
    break;
  case PROTO_OP_CREATE:
  case PROTO_OP_STAT:
  case PROTO_OP_RESIZE: e |= pk_key(&pk, "segment") | pk_segment(&pk, &resp->u.segment); break;
  case PROTO_OP_OPEN:
    e |= pk_key(&pk, "view") | msgpack_pack_map(&pk, 6);
    e |= pk_kv_str(&pk, "name", v->name, sizeof v->name);
    e |= pk_kv_uint(&pk, "offset", v->offset);
    e |= pk_kv_uint(&pk, "length", v->length);
    e |= pk_kv_uint(&pk, "size", v->segment_size);
    e |= pk_kv_uint(&pk, "lease", v->lease);
    e |= pk_kv_bool(&pk, "writable", v->writable);
    break;
  case PROTO_OP_LIST:
    e |= pk_key(&pk, "segments");
    e |= msgpack_pack_array(&pk, resp->u.list.count);
    for (i = 0; i < resp->u.list.count && e == 0; i++)
      e |= pk_segment(&pk, &resp->u.list.items[i]);
    e |= pk_kv_bool(&pk, "more", resp->u.list.more);
    break;
  case PROTO_OP_STATUS:
    e |= pk_key(&pk, "status") | msgpack_pack_map(&pk, 22);
    e |= pk_kv_str(&pk, "server", st->server, sizeof st->server);
    e |= pk_kv_uint(&pk, "version", st->version);
    e |= pk_kv_uint(&pk, "uptime_ms", st->uptime_ms);
    e |= pk_kv_uint(&pk, "clients", st->clients);
    e |= pk_kv_uint(&pk, "segments", st->segments);
    e |= pk_kv_uint(&pk, "bytes", st->bytes);
    e |= pk_kv_uint(&pk, "views", st->views);
    e |= pk_kv_uint(&pk, "writable_views", st->writable_views);
    e |= pk_kv_uint(&pk, "requests", st->requests);
    e |= pk_kv_uint(&pk, "max_segment_size", st->max_segment_size);
    e |= pk_kv_uint(&pk, "max_total_size", st->max_total_size);
    e |= pk_kv_uint(&pk, "max_clients", st->max_clients);
    e |= pk_kv_uint(&pk, "max_views", st->max_views);
    e |= pk_kv_uint(&pk, "frame_max", st->frame_max);
    e |= pk_kv_uint(&pk, "quota_bytes", st->quota_bytes);
    e |= pk_kv_uint(&pk, "quota_segments", st->quota_segments);
    e |= pk_kv_uint(&pk, "quota_views", st->quota_views);
    e |= pk_kv_uint(&pk, "uid", st->uid);
    e |= pk_kv_uint(&pk, "used_bytes", st->used_bytes);
    e |= pk_kv_uint(&pk, "used_segments", st->used_segments);
    e |= pk_kv_uint(&pk, "used_views", st->used_views);
    e |= pk_kv_uint(&pk, "grace_ms", st->grace_ms);
    break;
  default: /* RELEASE, UNLINK, NONE: no body */ break;
  }
  return frame_end(out, base, frame_max, e);
}

void proto_response_error(struct proto_response *resp, uint64_t id, enum proto_op op, int code,
                          const char *fmt, ...) {
  va_list ap;

  memset(resp, 0, sizeof *resp);
  resp->id = id;
  resp->op = op;
  resp->err = code < 0 ? -code : code;
  if (resp->err == 0)
    resp->err = EIO; /* an error answer must carry a code */
  if (fmt != NULL) {
    va_start(ap, fmt);
    vsnprintf(resp->msg, sizeof resp->msg, fmt, ap);
    va_end(ap);
  }
}

/* ---- response decoding: anything missing or mistyped is -EPROTO ---- */

static bool get_u64(const msgpack_object *map, const char *key, uint64_t *out) {
  const msgpack_object *o = map_get(map, key, NULL);

  if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return false;
  *out = o->via.u64;
  return true;
}

static bool get_u32(const msgpack_object *map, const char *key, uint32_t *out) {
  uint64_t v;

  if (!get_u64(map, key, &v) || v > UINT32_MAX)
    return false;
  *out = (uint32_t)v;
  return true;
}

static bool get_bool(const msgpack_object *map, const char *key, bool *out) {
  const msgpack_object *o = map_get(map, key, NULL);

  if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN)
    return false;
  *out = o->via.boolean;
  return true;
}

static bool get_str(const msgpack_object *map, const char *key, char *dst, size_t cap) {
  const msgpack_object *o = map_get(map, key, NULL);

  return o != NULL && str_copy(o, dst, cap);
}

/* dst holds PROTO_NAME_MAX + 1 bytes */
static bool get_name(const msgpack_object *map, char *dst) {
  return get_str(map, "name", dst, PROTO_NAME_MAX + 1) && proto_name_valid(dst);
}

static const msgpack_object *get_map(const msgpack_object *map, const char *key) {
  const msgpack_object *o = map_get(map, key, NULL);

  return o != NULL && o->type == MSGPACK_OBJECT_MAP ? o : NULL;
}

static bool decode_segment(const msgpack_object *m, struct proto_segment *s) {
  const msgpack_object *o;

  if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
    return false;
  if (!get_name(m, s->name) || !get_u64(m, "size", &s->size) || !get_u32(m, "uid", &s->uid) ||
      !get_u32(m, "gid", &s->gid) || !get_u32(m, "mode", &s->mode) ||
      !get_u64(m, "views", &s->views) || !get_u64(m, "writable_views", &s->writable_views) ||
      !get_u32(m, "created_nsec", &s->created_nsec) || s->created_nsec >= 1000000000u)
    return false;
  o = map_get(m, "created", NULL);
  if (o == NULL)
    return false;
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
    s->created_sec = o->via.i64;
  else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
    s->created_sec = (int64_t)o->via.u64;
  else
    return false;
  return true;
}

static bool decode_body(const msgpack_object *map, struct proto_response *r) {
  const msgpack_object *m, *arr;
  struct proto_view *v = &r->u.view;
  struct proto_status *st = &r->u.status;
  uint32_t i;

  switch (r->op) {
  case PROTO_OP_HELLO:
    return get_u32(map, "version", &r->u.hello.version) &&
           get_str(map, "server", r->u.hello.server, sizeof r->u.hello.server) &&
           get_u64(map, "frame_max", &r->u.hello.frame_max) &&
           get_u32(map, "name_max", &r->u.hello.name_max);
  case PROTO_OP_CREATE:
  case PROTO_OP_STAT:
  case PROTO_OP_RESIZE: return decode_segment(get_map(map, "segment"), &r->u.segment);
  case PROTO_OP_OPEN:
    m = get_map(map, "view");
    return m != NULL && get_name(m, v->name) && get_u64(m, "offset", &v->offset) &&
           get_u64(m, "length", &v->length) && get_u64(m, "size", &v->segment_size) &&
           get_u64(m, "lease", &v->lease) && get_bool(m, "writable", &v->writable);
  case PROTO_OP_LIST:
    arr = map_get(map, "segments", NULL);
    if (arr == NULL || arr->type != MSGPACK_OBJECT_ARRAY || !get_bool(map, "more", &r->u.list.more))
      return false;
    r->u.list.count = 0;
    r->u.list.items = NULL;
    if (arr->via.array.size == 0)
      return true;
    r->u.list.items = calloc(arr->via.array.size, sizeof(struct proto_segment));
    if (r->u.list.items == NULL)
      return false;
    for (i = 0; i < arr->via.array.size; i++) {
      if (!decode_segment(&arr->via.array.ptr[i], &r->u.list.items[i])) {
        free(r->u.list.items);
        r->u.list.items = NULL;
        return false;
      }
    }
    r->u.list.count = arr->via.array.size;
    return true;
  case PROTO_OP_STATUS:
    m = get_map(map, "status");
    return m != NULL && get_str(m, "server", st->server, sizeof st->server) &&
           get_u32(m, "version", &st->version) && get_u64(m, "uptime_ms", &st->uptime_ms) &&
           get_u64(m, "clients", &st->clients) && get_u64(m, "segments", &st->segments) &&
           get_u64(m, "bytes", &st->bytes) && get_u64(m, "views", &st->views) &&
           get_u64(m, "writable_views", &st->writable_views) &&
           get_u64(m, "requests", &st->requests) &&
           get_u64(m, "max_segment_size", &st->max_segment_size) &&
           get_u64(m, "max_total_size", &st->max_total_size) &&
           get_u64(m, "max_clients", &st->max_clients) && get_u64(m, "max_views", &st->max_views) &&
           get_u64(m, "frame_max", &st->frame_max) && get_u64(m, "quota_bytes", &st->quota_bytes) &&
           get_u64(m, "quota_segments", &st->quota_segments) &&
           get_u64(m, "quota_views", &st->quota_views) && get_u32(m, "uid", &st->uid) &&
           get_u64(m, "used_bytes", &st->used_bytes) &&
           get_u64(m, "used_segments", &st->used_segments) &&
           get_u64(m, "used_views", &st->used_views) && get_u64(m, "grace_ms", &st->grace_ms);
  default: /* RELEASE, UNLINK, NONE */ return true;
  }
}

int proto_response_decode(const void *payload, size_t len, enum proto_op op,
                          struct proto_response *resp) {
  msgpack_unpacked u;
  const msgpack_object *map, *o, *err;
  const char *why;
  uint64_t code;
  bool ok;
  size_t n;
  int rc;

  memset(resp, 0, sizeof *resp);
  if ((int)op < PROTO_OP_NONE || (int)op >= PROTO_OP_COUNT_)
    return -EINVAL;
  resp->op = op;

  msgpack_unpacked_init(&u);
  rc = unpack_map(payload, len, &u, &why);
  if (rc != 0)
    goto out;
  map = &u.data;
  rc = -EPROTO;
  if (!get_u64(map, "id", &resp->id))
    goto out;

  err = map_get(map, "err", NULL);
  if (err != NULL) {
    if (err->type != MSGPACK_OBJECT_MAP || !get_u64(err, "code", &code) || code == 0 ||
        code > INT32_MAX)
      goto out;
    o = map_get(err, "msg", NULL);
    if (o == NULL || o->type != MSGPACK_OBJECT_STR)
      goto out;
    n = o->via.str.size < sizeof resp->msg - 1 ? o->via.str.size : sizeof resp->msg - 1;
    memcpy(resp->msg, o->via.str.ptr, n);
    resp->msg[n] = '\0';
    resp->err = (int)code;
    rc = 0;
    goto out;
  }
  if (!get_bool(map, "ok", &ok) || !ok)
    goto out;
  if (!decode_body(map, resp)) {
    resp->u.list.items = NULL; /* nothing left allocated on failure */
    memset(&resp->u, 0, sizeof resp->u);
    goto out;
  }
  rc = 0;

out:
  msgpack_unpacked_destroy(&u);
  return rc;
}

void proto_response_free(struct proto_response *resp) {
  if (resp == NULL)
    return;
  if (resp->op == PROTO_OP_LIST) {
    free(resp->u.list.items);
    resp->u.list.items = NULL;
    resp->u.list.count = 0;
    resp->u.list.more = false;
  }
}

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
 * Every message is a table (proto.h, "the protocol tables"): the tables
 * below, and the records' (segment, holder, status) in record.c, are the
 * only place a key, a type or an op's arguments are written down; encode,
 * decode, the map entry counts, freeing and the largest size of a message
 * all walk them.
 *
 * Conventions (docs/protocol.md):
 * - map keys that are not strings, and string keys an op does not use, are
 *   ignored (forward compatibility);
 * - a key an op uses may appear only once in a request (-EINVAL);
 * - the encoder writes every argument of the op from the struct (it does
 *   not look at req->fields), except PROTO_FIELD_OPTIONAL ones at their
 *   default; PROTO_TO_END is written as nil.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

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

static bool key_is(const msgpack_object *k, const char *key, size_t klen) {
  return k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
         memcmp(k->via.str.ptr, key, klen) == 0;
}

/* Value of key (klen bytes) in map: NULL if absent. */
static const msgpack_object *map_get(const msgpack_object *map, const char *key, size_t klen) {
  for (uint32_t i = 0; i < map->via.map.size; i++)
    if (key_is(&map->via.map.ptr[i].key, key, klen))
      return &map->via.map.ptr[i].val;
  return NULL;
}
#define MAP_GET(map, lit) map_get((map), (lit), sizeof(lit) - 1)

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

/* ---- the tables ---- */

/* A row's key and its length, from a string literal. */
#define KEY(k) .key = (k), .klen = sizeof(k) - 1

#define REQ(k, t, member, b)                                                                   \
  {                                                                                            \
    KEY(k), .type = (t), .offset = offsetof(struct proto_request, member),                     \
            .size = sizeof(((struct proto_request *)0)->member), .max = UINT64_MAX, .bit = (b) \
  }

/* Request arguments, in the order they go on the wire. */
static const struct proto_field request_fields[] = {
  REQ("name", PROTO_T_NAME, name, PROTO_F_NAME),
  REQ("size", PROTO_T_UINT, size, PROTO_F_SIZE),
  { KEY("mode"), .type = PROTO_T_UINT, .offset = offsetof(struct proto_request, mode),
    .size = sizeof(uint32_t), .max = 0777, .why = "0777: permission bits only", .dflt = 0600,
    .bit = PROTO_F_MODE },
  REQ("offset", PROTO_T_UINT, offset, PROTO_F_OFFSET),
  { KEY("length"), .type = PROTO_T_LENGTH, .offset = offsetof(struct proto_request, length),
    .size = sizeof(uint64_t), .max = UINT64_MAX, .dflt = PROTO_TO_END, .bit = PROTO_F_LENGTH },
  REQ("writable", PROTO_T_BOOL, writable, PROTO_F_WRITABLE),
  REQ("lease", PROTO_T_UINT, lease, PROTO_F_LEASE),
  REQ("after", PROTO_T_AFTER, after, PROTO_F_AFTER),
  { KEY("version"), .type = PROTO_T_UINT, .offset = offsetof(struct proto_request, version),
    .size = sizeof(uint32_t), .max = UINT32_MAX, .bit = PROTO_F_VERSION },
  { KEY("flags"), .type = PROTO_T_UINT, .flags = PROTO_FIELD_OPTIONAL,
    .offset = offsetof(struct proto_request, flags), .size = sizeof(uint32_t), .max = UINT32_MAX,
    .bit = PROTO_F_FLAGS },
  { KEY("unlinked"), .type = PROTO_T_BOOL, .flags = PROTO_FIELD_OPTIONAL,
    .offset = offsetof(struct proto_request, unlinked), .size = sizeof(bool),
    .bit = PROTO_F_UNLINKED },
  { KEY("holders"), .type = PROTO_T_BOOL, .flags = PROTO_FIELD_OPTIONAL,
    .offset = offsetof(struct proto_request, holders), .size = sizeof(bool),
    .bit = PROTO_F_HOLDERS },
  { KEY("after_id"), .type = PROTO_T_UINT, .flags = PROTO_FIELD_OPTIONAL,
    .offset = offsetof(struct proto_request, after_id), .size = sizeof(uint64_t), .max = UINT64_MAX,
    .bit = PROTO_F_AFTER_ID },
  { KEY("own"), .type = PROTO_T_BOOL, .flags = PROTO_FIELD_OPTIONAL,
    .offset = offsetof(struct proto_request, own), .size = sizeof(bool), .bit = PROTO_F_OWN },
  { KEY("uid"), .type = PROTO_T_UINT, .flags = PROTO_FIELD_OPTIONAL,
    .offset = offsetof(struct proto_request, uid), .size = sizeof(uint32_t), .max = UINT32_MAX,
    .dflt = PROTO_ID_KEEP, .bit = PROTO_F_UID },
  { KEY("gid"), .type = PROTO_T_UINT, .flags = PROTO_FIELD_OPTIONAL,
    .offset = offsetof(struct proto_request, gid), .size = sizeof(uint32_t), .max = UINT32_MAX,
    .dflt = PROTO_ID_KEEP, .bit = PROTO_F_GID },
};

const struct proto_msg proto_request_msg = {
  "request",
  sizeof(struct proto_request),
  request_fields,
  sizeof request_fields / sizeof request_fields[0],
};

/* A field of struct S named M: a type, the largest value, flags. */
#define FLD(S, k, t, M, mx, fl)                                                                \
  {                                                                                            \
    KEY(k), .type = (t), .flags = (fl), .offset = offsetof(S, M), .size = sizeof(((S *)0)->M), \
            .max = (mx)                                                                        \
  }
#define U64(S, k, M) FLD(S, k, PROTO_T_UINT, M, UINT64_MAX, 0)
#define U32(S, k, M) FLD(S, k, PROTO_T_UINT, M, UINT32_MAX, 0)

/* The segment, holder and status records are in record.c. */

static const struct proto_field view_fields[] = {
  FLD(struct proto_view, "name", PROTO_T_NAME, name, 0, 0),
  U64(struct proto_view, "offset", offset),
  U64(struct proto_view, "length", length),
  U64(struct proto_view, "size", segment_size),
  U64(struct proto_view, "lease", lease),
  FLD(struct proto_view, "writable", PROTO_T_BOOL, writable, 0, 0),
  FLD(struct proto_view, "ephemeral", PROTO_T_BOOL, ephemeral, 0, PROTO_FIELD_OPTIONAL),
  { KEY("uid"), .type = PROTO_T_UINT, .flags = PROTO_FIELD_OPTIONAL,
    .offset = offsetof(struct proto_view, uid), .size = sizeof(uint32_t), .max = UINT32_MAX,
    .dflt = PROTO_OWNER_UNKNOWN },
  { KEY("gid"), .type = PROTO_T_UINT, .flags = PROTO_FIELD_OPTIONAL,
    .offset = offsetof(struct proto_view, gid), .size = sizeof(uint32_t), .max = UINT32_MAX,
    .dflt = PROTO_OWNER_UNKNOWN },
  { KEY("participant"), .type = PROTO_T_UINT, .flags = PROTO_FIELD_OPTIONAL,
    .offset = offsetof(struct proto_view, participant), .size = sizeof(uint32_t), .max = UINT32_MAX,
    .dflt = PROTO_NO_PARTICIPANT },
};

static const struct proto_msg view_msg = {
  "view",
  sizeof(struct proto_view),
  view_fields,
  sizeof view_fields / sizeof view_fields[0],
};

/* Answer bodies: fields of struct proto_response, after id and ok. */
#define RESP struct proto_response

static const struct proto_field hello_reply_fields[] = {
  U32(RESP, "version", u.hello.version),
  FLD(RESP, "server", PROTO_T_STR, u.hello.server, 0, 0),
  U64(RESP, "frame_max", u.hello.frame_max),
  U32(RESP, "name_max", u.hello.name_max),
};

static const struct proto_field segment_reply_fields[] = {
  { KEY("segment"), .type = PROTO_T_MAP, .offset = offsetof(RESP, u.segment),
    .size = sizeof(struct proto_segment), .sub = &proto_segment_msg },
};

static const struct proto_field stat_reply_fields[] = {
  { KEY("segment"), .type = PROTO_T_MAP, .offset = offsetof(RESP, u.stat.segment),
    .size = sizeof(struct proto_segment), .sub = &proto_segment_msg },
  { KEY("holders"), .type = PROTO_T_ARRAY, .flags = PROTO_FIELD_OPTIONAL,
    .offset = offsetof(RESP, u.stat.holders), .size = sizeof(struct proto_holder *),
    .sub = &proto_holder_msg, .count_offset = offsetof(RESP, u.stat.nholders) },
  FLD(RESP, "holders_more", PROTO_T_UINT, u.stat.holders_more, UINT64_MAX, PROTO_FIELD_OPTIONAL),
};

static const struct proto_field view_reply_fields[] = {
  { KEY("view"), .type = PROTO_T_MAP, .offset = offsetof(RESP, u.view),
    .size = sizeof(struct proto_view), .sub = &view_msg },
};

static const struct proto_field list_reply_fields[] = {
  { KEY("segments"), .type = PROTO_T_ARRAY, .offset = offsetof(RESP, u.list.items),
    .size = sizeof(struct proto_segment *), .sub = &proto_segment_msg,
    .count_offset = offsetof(RESP, u.list.count) },
  FLD(RESP, "more", PROTO_T_BOOL, u.list.more, 0, 0),
};

static const struct proto_field status_reply_fields[] = {
  { KEY("status"), .type = PROTO_T_MAP, .offset = offsetof(RESP, u.status),
    .size = sizeof(struct proto_status), .sub = &proto_status_msg },
};

#define REPLY(n, f)                   \
  static const struct proto_msg n = { \
    #n,                               \
    sizeof(RESP),                     \
    f,                                \
    sizeof f / sizeof f[0],           \
  }
REPLY(hello_reply, hello_reply_fields);
REPLY(segment_reply, segment_reply_fields);
REPLY(stat_reply, stat_reply_fields);
REPLY(view_reply, view_reply_fields);
REPLY(list_reply, list_reply_fields);
REPLY(status_reply, status_reply_fields);

/* The ops. retry_safe: hello, open and the queries may be resent to a new
 * daemon (whatever the vanished one did for them went with it); create,
 * create_open, resize, unlink, freeze, chmod, chown and channel_create change segments, which
 * outlive the daemon, channel_open registers a participant in one, and a release's lease died with the daemon that granted it. */
const struct proto_op_info proto_ops[PROTO_OP_COUNT_] = {
  [PROTO_OP_HELLO] = { "hello", PROTO_F_VERSION, PROTO_F_VERSION, true, &hello_reply },
  [PROTO_OP_CREATE] = { "create", PROTO_F_NAME | PROTO_F_SIZE | PROTO_F_MODE | PROTO_F_FLAGS,
                        PROTO_F_NAME | PROTO_F_SIZE, false, &segment_reply },
  [PROTO_OP_OPEN] = { "open",
                      PROTO_F_NAME | PROTO_F_OFFSET | PROTO_F_LENGTH | PROTO_F_WRITABLE |
                          PROTO_F_OWN,
                      PROTO_F_NAME, true, &view_reply },
  [PROTO_OP_RELEASE] = { "release", PROTO_F_LEASE, PROTO_F_LEASE, false, NULL },
  [PROTO_OP_LIST] = { "list", PROTO_F_AFTER | PROTO_F_UNLINKED | PROTO_F_AFTER_ID, 0, true,
                      &list_reply },
  [PROTO_OP_STAT] = { "stat", PROTO_F_NAME | PROTO_F_HOLDERS | PROTO_F_AFTER_ID, PROTO_F_NAME, true,
                      &stat_reply },
  [PROTO_OP_UNLINK] = { "unlink", PROTO_F_NAME, PROTO_F_NAME, false, NULL },
  [PROTO_OP_RESIZE] = { "resize", PROTO_F_NAME | PROTO_F_SIZE, PROTO_F_NAME | PROTO_F_SIZE, false,
                        &segment_reply },
  [PROTO_OP_STATUS] = { "status", 0, 0, true, &status_reply },
  [PROTO_OP_FREEZE] = { "freeze", PROTO_F_NAME, PROTO_F_NAME, false, &segment_reply },
  [PROTO_OP_CREATE_OPEN] = { "create_open",
                             PROTO_F_NAME | PROTO_F_SIZE | PROTO_F_MODE | PROTO_F_FLAGS,
                             PROTO_F_NAME | PROTO_F_SIZE, false, &view_reply },
  [PROTO_OP_CHMOD] = { "chmod", PROTO_F_NAME | PROTO_F_MODE, PROTO_F_NAME | PROTO_F_MODE, false,
                       &segment_reply },
  [PROTO_OP_CHOWN] = { "chown", PROTO_F_NAME | PROTO_F_UID | PROTO_F_GID, PROTO_F_NAME, false,
                       &segment_reply },
  [PROTO_OP_CHANNEL_CREATE] = { "channel_create",
                                PROTO_F_NAME | PROTO_F_SIZE | PROTO_F_MODE | PROTO_F_FLAGS,
                                PROTO_F_NAME | PROTO_F_SIZE, false, &segment_reply },
  /* flags is not required by the decoder: 0, which the encoder leaves
   * out, gets the handler's own sentence ("needs send, receive or both") */
  [PROTO_OP_CHANNEL_OPEN] = { "channel_open", PROTO_F_NAME | PROTO_F_FLAGS, PROTO_F_NAME, false,
                              &view_reply },
};

const struct proto_op_info *proto_op_info(enum proto_op op) {
  if ((int)op <= PROTO_OP_NONE || (int)op >= PROTO_OP_COUNT_ || proto_ops[op].name == NULL)
    return NULL;
  return &proto_ops[op];
}

const char *proto_op_name(enum proto_op op) {
  const struct proto_op_info *oi = proto_op_info(op);

  return oi != NULL ? oi->name : NULL;
}

enum proto_op proto_op_lookup(const char *s, size_t len) {
  int i;

  if (s == NULL)
    return PROTO_OP_NONE;
  for (i = PROTO_OP_NONE + 1; i < PROTO_OP_COUNT_; i++) {
    const char *n = proto_ops[i].name;

    if (n != NULL && strlen(n) == len && memcmp(n, s, len) == 0)
      return (enum proto_op)i;
  }
  return PROTO_OP_NONE;
}

/* ---- field access ---- */

static void *at(void *base, size_t off) {
  return (char *)base + off;
}

static const void *cat(const void *base, size_t off) {
  return (const char *)base + off;
}

static uint64_t get_uint(const struct proto_field *f, const void *base) {
  uint32_t v32;
  uint64_t v64;

  if (f->size == sizeof v32) {
    memcpy(&v32, cat(base, f->offset), sizeof v32);
    return v32;
  }
  memcpy(&v64, cat(base, f->offset), sizeof v64);
  return v64;
}

static void set_uint(const struct proto_field *f, void *base, uint64_t v) {
  uint32_t v32 = (uint32_t)v;

  if (f->size == sizeof v32)
    memcpy(at(base, f->offset), &v32, sizeof v32);
  else
    memcpy(at(base, f->offset), &v, sizeof v);
}

static size_t get_count(const struct proto_field *f, const void *base) {
  size_t n;

  memcpy(&n, cat(base, f->count_offset), sizeof n);
  return n;
}

static void *get_items(const struct proto_field *f, const void *base) {
  void *p;

  memcpy(&p, cat(base, f->offset), sizeof p);
  return p;
}

static void set_items(const struct proto_field *f, void *base, void *p, size_t n) {
  memcpy(at(base, f->offset), &p, sizeof p);
  memcpy(at(base, f->count_offset), &n, sizeof n);
}

bool proto_field_at_default(const struct proto_field *f, const void *base) {
  int64_t i;

  switch (f->type) {
  case PROTO_T_UINT:
  case PROTO_T_LENGTH: return get_uint(f, base) == f->dflt;
  case PROTO_T_INT: memcpy(&i, cat(base, f->offset), sizeof i); return (uint64_t)i == f->dflt;
  case PROTO_T_BOOL: return *(const bool *)cat(base, f->offset) == (f->dflt != 0);
  case PROTO_T_STR:
  case PROTO_T_NAME:
  case PROTO_T_AFTER: return *(const char *)cat(base, f->offset) == '\0';
  case PROTO_T_ARRAY: return get_count(f, base) == 0;
  case PROTO_T_MAP: return false;
  }
  return false;
}

/* Set every field of m in base, which the caller zeroed, to its default
 * (only the non-zero ones need a store). */
static void set_defaults(const struct proto_msg *m, void *base) {
  size_t i;

  for (i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];

    if (f->type == PROTO_T_MAP)
      set_defaults(f->sub, at(base, f->offset));
    else if (f->dflt == 0)
      continue;
    else if (f->type == PROTO_T_UINT || f->type == PROTO_T_LENGTH)
      set_uint(f, base, f->dflt);
    else if (f->type == PROTO_T_BOOL)
      *(bool *)at(base, f->offset) = true;
  }
}

/* Bytes of a msgpack string header for n bytes of body. */
static size_t str_header(size_t n) {
  return n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

size_t proto_msg_max_size(const struct proto_msg *m) {
  size_t i, n = m->nfields < 16 ? 1 : 3;

  for (i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];

    n += str_header(strlen(f->key)) + strlen(f->key);
    switch (f->type) {
    case PROTO_T_UINT:
    case PROTO_T_INT:
    case PROTO_T_LENGTH: n += 9; break;
    case PROTO_T_BOOL: n += 1; break;
    case PROTO_T_STR:
    case PROTO_T_NAME:
    case PROTO_T_AFTER: n += str_header(f->size - 1) + f->size - 1; break;
    case PROTO_T_MAP: n += proto_msg_max_size(f->sub); break;
    case PROTO_T_ARRAY: n += 1; break;
    }
  }
  return n;
}

/* ---- decoding one value (requests and responses alike) ---- */

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

static int bad_name(const char *key, const msgpack_object *o, char *errmsg, size_t errcap) {
  char shown[64];

  str_show(o->via.str.ptr, o->via.str.size, shown, sizeof shown);
  return fail(errmsg, errcap, -EINVAL,
              "invalid segment name \"%s\" in \"%s\": names are 1 to %d "
              "characters of A-Z a-z 0-9 . _ - and do not start with '.'",
              shown, key, PROTO_NAME_MAX);
}

static void free_msg(const struct proto_msg *m, void *base);
static int decode_msg(const struct proto_msg *m, const msgpack_object *map, void *base);

/* Decode o as field f into base. -EINVAL (with a sentence) if it does not
 * fit, -ENOMEM. */
static int decode_value(const struct proto_field *f, const msgpack_object *o, void *base,
                        char *errmsg, size_t errcap) {
  const char *key = f->key;
  char *dst = at(base, f->offset);
  size_t i, n;
  void *items;
  int rc;

  switch (f->type) {
  case PROTO_T_UINT:
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
      return fail(errmsg, errcap, -EINVAL, "\"%s\" must be an unsigned integer", key);
    if (o->via.u64 > f->max) {
      if (f->why != NULL)
        return fail(errmsg, errcap, -EINVAL, "\"%s\" is out of range (at most %s)", key, f->why);
      return fail(errmsg, errcap, -EINVAL, "\"%s\" is out of range (at most %llu)", key,
                  (unsigned long long)f->max);
    }
    set_uint(f, base, o->via.u64);
    return 0;
  case PROTO_T_LENGTH:
    if (o->type == MSGPACK_OBJECT_NIL) {
      set_uint(f, base, PROTO_TO_END);
      return 0;
    }
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
      return fail(errmsg, errcap, -EINVAL, "\"%s\" must be an unsigned integer or nil", key);
    set_uint(f, base, o->via.u64);
    return 0;
  case PROTO_T_INT: {
    int64_t v;

    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
      v = o->via.i64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
      v = (int64_t)o->via.u64;
    else
      return fail(errmsg, errcap, -EINVAL, "\"%s\" must be a 64-bit signed integer", key);
    memcpy(dst, &v, sizeof v);
    return 0;
  }
  case PROTO_T_BOOL:
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
      return fail(errmsg, errcap, -EINVAL, "\"%s\" must be a boolean", key);
    *(bool *)dst = o->via.boolean;
    return 0;
  case PROTO_T_STR:
  case PROTO_T_NAME:
  case PROTO_T_AFTER:
    if (o->type != MSGPACK_OBJECT_STR)
      return fail(errmsg, errcap, -EINVAL, "\"%s\" must be a string", key);
    if (f->type == PROTO_T_AFTER && o->via.str.size == 0) {
      dst[0] = '\0';
      return 0;
    }
    if (!str_copy(o, dst, f->size)) {
      memset(dst, 0, f->size);
      if (f->type != PROTO_T_STR)
        return bad_name(key, o, errmsg, errcap);
      return fail(errmsg, errcap, -EINVAL, "\"%s\" is longer than %zu bytes or holds a NUL", key,
                  f->size - 1);
    }
    if (f->type != PROTO_T_STR && !proto_name_valid(dst)) {
      memset(dst, 0, f->size);
      return bad_name(key, o, errmsg, errcap);
    }
    return 0;
  case PROTO_T_MAP:
    if (o->type != MSGPACK_OBJECT_MAP)
      return fail(errmsg, errcap, -EINVAL, "\"%s\" must be a map", key);
    return decode_msg(f->sub, o, dst);
  case PROTO_T_ARRAY:
    if (o->type != MSGPACK_OBJECT_ARRAY)
      return fail(errmsg, errcap, -EINVAL, "\"%s\" must be an array", key);
    n = o->via.array.size;
    set_items(f, base, NULL, 0);
    if (n == 0)
      return 0;
    items = calloc(n, f->sub->size);
    if (items == NULL)
      return fail(errmsg, errcap, -ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
      void *item = (char *)items + i * f->sub->size;

      rc = o->via.array.ptr[i].type == MSGPACK_OBJECT_MAP
               ? decode_msg(f->sub, &o->via.array.ptr[i], item)
               : -EINVAL;
      if (rc != 0) {
        while (i-- > 0)
          free_msg(f->sub, (char *)items + i * f->sub->size);
        free(items);
        return fail(errmsg, errcap, rc, "bad item in \"%s\"", key);
      }
    }
    set_items(f, base, items, n);
    return 0;
  }
  return fail(errmsg, errcap, -EINVAL, "\"%s\" has an unknown type", key);
}

/* Free what decoding m into base allocated. */
static void free_msg(const struct proto_msg *m, void *base) {
  size_t i, j, n;

  for (i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];
    char *items;

    if (f->type == PROTO_T_MAP) {
      free_msg(f->sub, at(base, f->offset));
    } else if (f->type == PROTO_T_ARRAY) {
      items = get_items(f, base);
      n = get_count(f, base);
      for (j = 0; items != NULL && j < n; j++)
        free_msg(f->sub, items + j * f->sub->size);
      free(items);
      set_items(f, base, NULL, 0);
    }
  }
}

/* A response body (or part): every field present and well-typed, except
 * OPTIONAL ones, which may be missing. On failure, nothing stays
 * allocated. 0, -EINVAL or -ENOMEM. */
static int decode_msg(const struct proto_msg *m, const msgpack_object *map, void *base) {
  size_t i;
  int rc;

  set_defaults(m, base);
  for (i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];
    const msgpack_object *o = map_get(map, f->key, f->klen);

    if (o == NULL) {
      if (f->flags & PROTO_FIELD_OPTIONAL)
        continue;
      rc = -EINVAL;
    } else {
      rc = decode_value(f, o, base, NULL, 0);
    }
    if (rc != 0) {
      free_msg(m, base);
      return rc;
    }
  }
  return 0;
}

/* ---- request decoding ---- */

#define REQUEST_KEYS (2 + sizeof request_fields / sizeof request_fields[0])

/* Where each key a request may carry first appears in the map, and how
 * many times: one pass over the map, not a search of it per key. Slot 0
 * is "id", 1 "op", 2 + i request_fields[i]; other keys are ignored. */
struct request_keys {
  const msgpack_object *val[REQUEST_KEYS];
  unsigned count[REQUEST_KEYS];
};

static void request_keys_find(const msgpack_object *map, struct request_keys *k) {
  memset(k, 0, sizeof *k);
  for (uint32_t i = 0; i < map->via.map.size; i++) {
    const msgpack_object *key = &map->via.map.ptr[i].key;
    size_t j;

    if (key->type != MSGPACK_OBJECT_STR)
      continue;
    if (key_is(key, "id", 2)) {
      j = 0;
    } else if (key_is(key, "op", 2)) {
      j = 1;
    } else {
      for (j = 0; j < REQUEST_KEYS - 2; j++)
        if (key_is(key, request_fields[j].key, request_fields[j].klen))
          break;
      if (j == REQUEST_KEYS - 2)
        continue;
      j += 2;
    }
    if (k->count[j]++ == 0)
      k->val[j] = &map->via.map.ptr[i].val;
  }
}

int proto_request_decode(const void *payload, size_t len, struct proto_request *req, char *errmsg,
                         size_t errcap) {
  msgpack_unpacked u;
  const msgpack_object *o;
  struct request_keys keys;
  const struct proto_op_info *oi;
  const char *why = NULL;
  char shown[64];
  unsigned dups;
  size_t i;
  int rc;

  memset(req, 0, sizeof *req);
  set_defaults(&proto_request_msg, req);
  if (errmsg != NULL && errcap > 0)
    errmsg[0] = '\0';

  msgpack_unpacked_init(&u);
  rc = unpack_map(payload, len, &u, &why);
  if (rc != 0) {
    fail(errmsg, errcap, rc, "%s", why);
    goto out;
  }
  request_keys_find(&u.data, &keys);

  /* id first, so that every later error can still answer it. */
  o = keys.val[0];
  dups = keys.count[0];
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

  o = keys.val[1];
  dups = keys.count[1];
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

  oi = &proto_ops[req->op];
  for (i = 0; i < proto_request_msg.nfields; i++) {
    const struct proto_field *f = &proto_request_msg.fields[i];

    if (!(oi->uses & f->bit))
      continue;
    o = keys.val[2 + i];
    dups = keys.count[2 + i];
    if (o == NULL) {
      if (oi->needs & f->bit) {
        rc = fail(errmsg, errcap, -EINVAL, "missing required field \"%s\" for op \"%s\"", f->key,
                  oi->name);
        goto out;
      }
      continue;
    }
    if (dups > 1) {
      rc = fail(errmsg, errcap, -EINVAL, "duplicate key \"%s\"", f->key);
      goto out;
    }
    rc = decode_value(f, o, req, errmsg, errcap);
    if (rc != 0)
      goto out;
    req->fields |= f->bit;
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

static int pk_key(msgpack_packer *pk, const char *key, size_t klen) {
  return msgpack_pack_str_with_body(pk, key, klen);
}
#define PK_KEY(pk, lit) pk_key((pk), (lit), sizeof(lit) - 1)

static int pk_kv_uint(msgpack_packer *pk, const char *key, size_t klen, uint64_t v) {
  return pk_key(pk, key, klen) | msgpack_pack_uint64(pk, v);
}

static int pk_kv_str(msgpack_packer *pk, const char *key, size_t klen, const char *s, size_t cap) {
  return pk_key(pk, key, klen) | pk_str(pk, s, cap);
}

/* Is f written? (OPTIONAL fields at their default are not.) */
static bool on_wire(const struct proto_field *f, const void *base) {
  return !(f->flags & PROTO_FIELD_OPTIONAL) || !proto_field_at_default(f, base);
}

static int pk_msg(msgpack_packer *pk, const struct proto_msg *m, const void *base, bool top);

static int pk_value(msgpack_packer *pk, const struct proto_field *f, const void *base) {
  const char *items;
  size_t i, n;
  int64_t v;
  int e;

  switch (f->type) {
  case PROTO_T_UINT: return msgpack_pack_uint64(pk, get_uint(f, base));
  case PROTO_T_LENGTH:
    if (get_uint(f, base) == PROTO_TO_END)
      return msgpack_pack_nil(pk);
    return msgpack_pack_uint64(pk, get_uint(f, base));
  case PROTO_T_INT: memcpy(&v, cat(base, f->offset), sizeof v); return msgpack_pack_int64(pk, v);
  case PROTO_T_BOOL:
    return *(const bool *)cat(base, f->offset) ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
  case PROTO_T_STR:
  case PROTO_T_NAME:
  case PROTO_T_AFTER: return pk_str(pk, cat(base, f->offset), f->size);
  case PROTO_T_MAP: return pk_msg(pk, f->sub, cat(base, f->offset), false);
  case PROTO_T_ARRAY:
    items = get_items(f, base);
    n = get_count(f, base);
    e = msgpack_pack_array(pk, n);
    for (i = 0; i < n && e == 0; i++)
      e |= pk_msg(pk, f->sub, items + i * f->sub->size, false);
    return e;
  }
  return -1;
}

/* The fields of m in base as a map (top: without the map header). */
static int pk_msg(msgpack_packer *pk, const struct proto_msg *m, const void *base, bool top) {
  size_t i, n = 0;
  int e = 0;

  for (i = 0; i < m->nfields; i++)
    n += on_wire(&m->fields[i], base);
  if (!top)
    e |= msgpack_pack_map(pk, n);
  for (i = 0; i < m->nfields; i++)
    if (on_wire(&m->fields[i], base))
      e |= pk_key(pk, m->fields[i].key, m->fields[i].klen) | pk_value(pk, &m->fields[i], base);
  return e;
}

static size_t count_on_wire(const struct proto_msg *m, const void *base) {
  size_t i, n = 0;

  for (i = 0; m != NULL && i < m->nfields; i++)
    n += on_wire(&m->fields[i], base);
  return n;
}

/* Arrays that claim items they do not have. */
static bool arrays_ok(const struct proto_msg *m, const void *base) {
  size_t i;

  for (i = 0; m != NULL && i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];

    if (f->type == PROTO_T_ARRAY && get_count(f, base) > 0 && get_items(f, base) == NULL)
      return false;
    if (f->type == PROTO_T_MAP && !arrays_ok(f->sub, cat(base, f->offset)))
      return false;
  }
  return true;
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
  const struct proto_op_info *oi = proto_op_info(req->op);
  msgpack_packer pk;
  size_t base, i, n = 2;
  int e = 0, rc;

  if (oi == NULL)
    return -EINVAL;
  for (i = 0; i < proto_request_msg.nfields; i++) {
    const struct proto_field *f = &proto_request_msg.fields[i];

    n += (oi->uses & f->bit) && on_wire(f, req);
  }
  if ((rc = frame_begin(out, &base)) != 0)
    return rc;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  e |= msgpack_pack_map(&pk, n);
  e |= pk_kv_uint(&pk, "id", 2, req->id);
  e |= pk_kv_str(&pk, "op", 2, oi->name, strlen(oi->name));
  for (i = 0; i < proto_request_msg.nfields; i++) {
    const struct proto_field *f = &proto_request_msg.fields[i];

    if ((oi->uses & f->bit) && on_wire(f, req))
      e |= pk_key(&pk, f->key, f->klen) | pk_value(&pk, f, req);
  }
  return frame_end(out, base, frame_max, e);
}

int proto_response_encode(const struct proto_response *resp, size_t frame_max,
                          msgpack_sbuffer *out) {
  const struct proto_msg *body;
  msgpack_packer pk;
  size_t base;
  int e = 0, rc;

  if ((int)resp->op < PROTO_OP_NONE || (int)resp->op >= PROTO_OP_COUNT_ || resp->err < 0)
    return -EINVAL;
  body = resp->err == 0 ? proto_ops[resp->op].reply : NULL;
  if (!arrays_ok(body, resp))
    return -EINVAL;
  if ((rc = frame_begin(out, &base)) != 0)
    return rc;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  e |= msgpack_pack_map(&pk, 2 + count_on_wire(body, resp));
  e |= pk_kv_uint(&pk, "id", 2, resp->id);
  if (resp->err != 0) {
    e |= PK_KEY(&pk, "err") | msgpack_pack_map(&pk, 2);
    e |= pk_kv_uint(&pk, "code", 4, (uint64_t)resp->err);
    e |= pk_kv_str(&pk, "msg", 3, resp->msg, sizeof resp->msg);
    return frame_end(out, base, frame_max, e);
  }
  e |= PK_KEY(&pk, "ok") | msgpack_pack_true(&pk);
  if (body != NULL)
    e |= pk_msg(&pk, body, resp, true);
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

int proto_response_decode(const void *payload, size_t len, enum proto_op op,
                          struct proto_response *resp) {
  msgpack_unpacked u;
  const msgpack_object *map, *o, *err;
  const struct proto_msg *body;
  const char *why;
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
  o = MAP_GET(map, "id");
  if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    goto out;
  resp->id = o->via.u64;

  err = MAP_GET(map, "err");
  if (err != NULL) {
    const msgpack_object *code = err->type == MSGPACK_OBJECT_MAP ? MAP_GET(err, "code") : NULL;

    if (code == NULL || code->type != MSGPACK_OBJECT_POSITIVE_INTEGER || code->via.u64 == 0 ||
        code->via.u64 > INT32_MAX)
      goto out;
    o = MAP_GET(err, "msg");
    if (o == NULL || o->type != MSGPACK_OBJECT_STR)
      goto out;
    /* The daemon's sentence, cut to fit: a long one is still worth showing. */
    n = o->via.str.size < sizeof resp->msg - 1 ? o->via.str.size : sizeof resp->msg - 1;
    memcpy(resp->msg, o->via.str.ptr, n);
    resp->msg[n] = '\0';
    resp->err = (int)code->via.u64;
    rc = 0;
    goto out;
  }
  o = MAP_GET(map, "ok");
  if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN || !o->via.boolean)
    goto out;
  body = proto_ops[op].reply;
  rc = body != NULL ? decode_msg(body, map, resp) : 0;
  if (rc != 0) {
    memset(&resp->u, 0, sizeof resp->u); /* decode_msg freed what it took */
    if (rc != -ENOMEM)
      rc = -EPROTO;
  }

out:
  msgpack_unpacked_destroy(&u);
  return rc;
}

void proto_response_free(struct proto_response *resp) {
  const struct proto_msg *body;

  if (resp == NULL || (int)resp->op < PROTO_OP_NONE || (int)resp->op >= PROTO_OP_COUNT_)
    return;
  body = proto_ops[resp->op].reply;
  if (body != NULL && resp->err == 0)
    free_msg(body, resp);
}

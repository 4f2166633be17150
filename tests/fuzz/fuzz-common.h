/* SPDX-License-Identifier: MIT */
/*
 * fuzz-common.h: the properties the libFuzzer targets check on every input
 * (included by fuzz-frame.c and fuzz-request.c, header-only on purpose so
 * each fuzzer is one translation unit plus the proto/ sources, all
 * instrumented).
 *
 * Beyond "no crash, no leak, no out-of-bounds read" (ASan/UBSan/LSan do
 * that), a violated invariant calls abort() through FUZZ_CHECK, which
 * libFuzzer reports as a crash and saves the input:
 *
 * requests  - the return code is one of the documented ones; errmsg is
 *             NUL-terminated whatever errcap is, and a short errcap gives a
 *             prefix of the long message; the decode is the same with and
 *             without an errmsg buffer; req->id is set exactly when the id
 *             was readable; a success has a valid op, only fields the op
 *             uses and all it needs (proto_ops[]), defaults where a field
 *             was absent, every value within its table row (names valid,
 *             integers <= max); and it round-trips: encode, then decode,
 *             gives the same struct.
 * responses - 0 or -EPROTO (or -ENOMEM) only; msg NUL-terminated; err 0 or
 *             a positive errno-sized code; the op's answer table holds
 *             (names valid, integers in range, arrays own exactly count
 *             items); a success round-trips like a request.
 *
 * Every check walks proto/'s tables (proto_ops[], proto_request_msg and
 * the answer messages), so a new field or op is fuzzed with no edit here.
 */
#ifndef SHMV_TESTS_FUZZ_FUZZ_COMMON_H
#define SHMV_TESTS_FUZZ_FUZZ_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define FUZZ_CHECK(cond)                                                             \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                       \
    }                                                                                \
  } while (0)

/* Large enough that no re-encoding of a decoded message is refused. */
#define FUZZ_FRAME_MAX ((size_t)UINT32_MAX)

/* What the decoder must have set: the first "id" key's value if it is an
 * unsigned integer, else 0. Only called when the payload is known to be
 * one well-formed msgpack map (the decoder did not answer -EPROTO), so the
 * reference unpack cannot be made to allocate absurd amounts. */
static inline uint64_t fuzz_expected_id(const void *payload, size_t len) {
  msgpack_unpacked u;
  size_t off = 0;
  uint64_t id = 0;
  uint32_t i;

  msgpack_unpacked_init(&u);
  if (msgpack_unpack_next(&u, payload, len, &off) == MSGPACK_UNPACK_SUCCESS &&
      u.data.type == MSGPACK_OBJECT_MAP) {
    for (i = 0; i < u.data.via.map.size; i++) {
      const msgpack_object *k = &u.data.via.map.ptr[i].key;
      const msgpack_object *v = &u.data.via.map.ptr[i].val;

      if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 2 &&
          memcmp(k->via.str.ptr, "id", 2) == 0) {
        if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
          id = v->via.u64;
        break;
      }
    }
  }
  msgpack_unpacked_destroy(&u);
  return id;
}

/* A NUL-terminated string of at most cap - 1 characters? */
static inline bool fuzz_terminated(const char *s, size_t cap) {
  return memchr(s, '\0', cap) != NULL;
}

/* Both structs come out of the decoder, which zeroes them first and copies
 * strings with their NUL, so the bytes after a string and any padding are 0
 * in both: comparing the memory compares every field, including fields
 * added later. `fields` says what was on the wire, which may differ. */
static inline bool fuzz_req_equal(const struct proto_request *a, const struct proto_request *b) {
  struct proto_request x = *a;

  x.fields = b->fields;
  return memcmp(&x, b, sizeof x) == 0;
}

/* Every field of message m in base (from the decoder) holds what its table
 * row allows: strings terminated, names valid (an AFTER may be empty),
 * integers within their max, arrays owning exactly count items. Fields that
 * were absent (a request argument not in `present`, an optional answer
 * field at its default) hold their default, checked elsewhere. */
static inline void fuzz_check_msg(const struct proto_msg *m, const void *base, uint32_t present) {
  size_t i, j;

  for (i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];
    const char *p = (const char *)base + f->offset;
    uint64_t u = 0;
    uint32_t u32;
    const char *items;
    size_t n;

    if ((f->bit != 0 && !(present & f->bit)) ||
        ((f->flags & PROTO_FIELD_OPTIONAL) && proto_field_at_default(f, base)))
      continue;
    switch (f->type) {
    case PROTO_T_UINT:
      if (f->size == sizeof u32) {
        memcpy(&u32, p, sizeof u32);
        u = u32;
      } else {
        memcpy(&u, p, sizeof u);
      }
      FUZZ_CHECK(u <= f->max);
      break;
    case PROTO_T_STR: FUZZ_CHECK(fuzz_terminated(p, f->size)); break;
    case PROTO_T_NAME:
    case PROTO_T_AFTER:
      FUZZ_CHECK(fuzz_terminated(p, f->size));
      FUZZ_CHECK(proto_name_valid(p) || (p[0] == '\0' && f->type == PROTO_T_AFTER));
      break;
    case PROTO_T_MAP: fuzz_check_msg(f->sub, p, UINT32_MAX); break;
    case PROTO_T_ARRAY:
      memcpy(&items, p, sizeof items);
      memcpy(&n, (const char *)base + f->count_offset, sizeof n);
      FUZZ_CHECK((n == 0) == (items == NULL));
      for (j = 0; j < n; j++)
        fuzz_check_msg(f->sub, items + j * f->sub->size, UINT32_MAX);
      break;
    default: break;
    }
  }
}

/* Check a successfully decoded request against the op table, then encode
 * it and decode the result: it must come back the same. */
static inline void fuzz_check_request_ok(const struct proto_request *req) {
  const struct proto_op_info *oi = proto_op_info(req->op);
  struct proto_request again;
  msgpack_sbuffer sb;
  uint32_t plen, written = 0;
  char msg[PROTO_MSG_MAX];
  const uint8_t *h;
  size_t i;
  int rc;

  FUZZ_CHECK(oi != NULL && proto_op_name(req->op) == oi->name);
  FUZZ_CHECK((req->fields & ~oi->uses) == 0);
  FUZZ_CHECK((req->fields & oi->needs) == oi->needs);
  for (i = 0; i < proto_request_msg.nfields; i++) {
    const struct proto_field *f = &proto_request_msg.fields[i];
    const char *p = (const char *)req + f->offset;

    /* what was not on the wire holds its default */
    if (!(req->fields & f->bit))
      FUZZ_CHECK(proto_field_at_default(f, req));
    if (f->type == PROTO_T_NAME && !(oi->uses & f->bit))
      FUZZ_CHECK(p[0] == '\0');
    /* the encoder writes every argument the op uses, but optional ones
     * at their default */
    if ((oi->uses & f->bit) &&
        (!(f->flags & PROTO_FIELD_OPTIONAL) || !proto_field_at_default(f, req)))
      written |= f->bit;
  }
  fuzz_check_msg(&proto_request_msg, req, req->fields);

  msgpack_sbuffer_init(&sb);
  rc = proto_request_encode(req, FUZZ_FRAME_MAX, &sb);
  FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
  if (rc == 0) {
    FUZZ_CHECK(sb.size > PROTO_HEADER_SIZE);
    h = (const uint8_t *)sb.data;
    plen = ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3];
    FUZZ_CHECK(plen == sb.size - PROTO_HEADER_SIZE);
    rc = proto_request_decode(sb.data + PROTO_HEADER_SIZE, plen, &again, msg, sizeof msg);
    if (rc != -ENOMEM) {
      FUZZ_CHECK(rc == 0);
      FUZZ_CHECK(fuzz_req_equal(req, &again));
      FUZZ_CHECK(again.fields == written);
    }
  }
  msgpack_sbuffer_destroy(&sb);
}

/* Decode payload as a request and check every property above. errcap_short
 * (< PROTO_MSG_MAX) exercises a short error buffer. */
static inline void fuzz_request(const uint8_t *payload, size_t len, size_t errcap_short) {
  struct proto_request req, req2, req3;
  char msg[PROTO_MSG_MAX], shortmsg[PROTO_MSG_MAX];
  int rc, rc2, rc3;

  memset(msg, 0xa5, sizeof msg);
  rc = proto_request_decode(payload, len, &req, msg, sizeof msg);
  FUZZ_CHECK(rc == 0 || rc == -EPROTO || rc == -EINVAL || rc == -EOPNOTSUPP || rc == -ENOMEM);
  FUZZ_CHECK(fuzz_terminated(msg, sizeof msg));
  if (rc == 0)
    FUZZ_CHECK(msg[0] == '\0');
  else
    FUZZ_CHECK(msg[0] != '\0'); /* every error says why */
  if (rc == -ENOMEM)
    return; /* the allocator, not the input */

  /* id: set exactly when it was readable. -EPROTO means the payload is not
   * one msgpack map, so there was no id to read. */
  if (rc == -EPROTO)
    FUZZ_CHECK(req.id == 0);
  else
    FUZZ_CHECK(req.id == fuzz_expected_id(payload, len));
  if (rc == -EOPNOTSUPP)
    FUZZ_CHECK(req.op == PROTO_OP_NONE);

  /* The error buffer changes nothing but what is written into it. */
  memset(shortmsg, 0xa5, sizeof shortmsg);
  rc2 = proto_request_decode(payload, len, &req2, shortmsg, errcap_short);
  FUZZ_CHECK(rc2 == rc);
  FUZZ_CHECK(fuzz_req_equal(&req, &req2) && req.fields == req2.fields);
  if (errcap_short > 0) {
    FUZZ_CHECK(fuzz_terminated(shortmsg, errcap_short));
    FUZZ_CHECK(strncmp(shortmsg, msg, strlen(shortmsg)) == 0);
  }
  /* nothing written past errcap */
  for (size_t i = errcap_short; i < sizeof shortmsg; i++)
    FUZZ_CHECK((unsigned char)shortmsg[i] == 0xa5);
  rc3 = proto_request_decode(payload, len, &req3, NULL, 0);
  FUZZ_CHECK(rc3 == rc);
  FUZZ_CHECK(fuzz_req_equal(&req, &req3) && req.fields == req3.fields);

  if (rc == 0)
    fuzz_check_request_ok(&req);
}

/* Two decoder outputs of message m, field by field from its table (an
 * array's items too, not its pointer). Strings are compared whole: the
 * decoder zeroes the struct first and copies strings with their NUL. */
static inline bool fuzz_msg_equal(const struct proto_msg *m, const void *a, const void *b) {
  size_t i, j, na, nb;

  for (i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];
    const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;
    const char *ia, *ib;

    if (f->type == PROTO_T_MAP) {
      if (!fuzz_msg_equal(f->sub, pa, pb))
        return false;
    } else if (f->type == PROTO_T_ARRAY) {
      memcpy(&ia, pa, sizeof ia);
      memcpy(&ib, pb, sizeof ib);
      memcpy(&na, (const char *)a + f->count_offset, sizeof na);
      memcpy(&nb, (const char *)b + f->count_offset, sizeof nb);
      if (na != nb)
        return false;
      for (j = 0; j < na; j++)
        if (!fuzz_msg_equal(f->sub, ia + j * f->sub->size, ib + j * f->sub->size))
          return false;
    } else if (memcmp(pa, pb, f->size) != 0) {
      return false;
    }
  }
  return true;
}

/* Two decoded responses. msg is compared as a string: the decoder keeps
 * bytes after a NUL inside msg, the encoder stops at it. */
static inline bool fuzz_resp_equal(const struct proto_response *a, const struct proto_response *b) {
  if (a->id != b->id || a->op != b->op || a->err != b->err || strcmp(a->msg, b->msg) != 0)
    return false;
  if (a->err != 0 || proto_ops[a->op].reply == NULL)
    return memcmp(&a->u, &b->u, sizeof a->u) == 0;
  return fuzz_msg_equal(proto_ops[a->op].reply, a, b);
}

/* Decode payload as the response to a request of op, check it, round-trip
 * it, free it. */
static inline void fuzz_response(const uint8_t *payload, size_t len, enum proto_op op) {
  struct proto_response resp, again;
  msgpack_sbuffer sb;
  int rc;

  rc = proto_response_decode(payload, len, op, &resp);
  FUZZ_CHECK(rc == 0 || rc == -EPROTO || rc == -ENOMEM);
  FUZZ_CHECK(resp.op == op);
  FUZZ_CHECK(fuzz_terminated(resp.msg, sizeof resp.msg));
  if (rc != 0) {
    /* a failed decode owns nothing: its body is all zeroes */
    {
      static const union { char z[sizeof resp.u]; } zero;
      FUZZ_CHECK(memcmp(&resp.u, &zero, sizeof resp.u) == 0);
    }
    proto_response_free(&resp);
    return;
  }
  FUZZ_CHECK(resp.err >= 0);
  if (resp.err == 0) {
    FUZZ_CHECK(resp.msg[0] == '\0');
    if (proto_ops[op].reply != NULL)
      fuzz_check_msg(proto_ops[op].reply, &resp, UINT32_MAX);
  }

  msgpack_sbuffer_init(&sb);
  rc = proto_response_encode(&resp, FUZZ_FRAME_MAX, &sb);
  FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
  if (rc == 0) {
    rc =
        proto_response_decode(sb.data + PROTO_HEADER_SIZE, sb.size - PROTO_HEADER_SIZE, op, &again);
    if (rc != -ENOMEM) {
      FUZZ_CHECK(rc == 0);
      FUZZ_CHECK(fuzz_resp_equal(&resp, &again));
    }
    proto_response_free(&again);
  }
  msgpack_sbuffer_destroy(&sb);
  proto_response_free(&resp);
}

/* Every way the daemon and the client read a payload. */
static inline void fuzz_payload(const uint8_t *payload, size_t len, size_t errcap_short) {
  int op;

  fuzz_request(payload, len, errcap_short);
  for (op = PROTO_OP_NONE; op < PROTO_OP_COUNT_; op++)
    fuzz_response(payload, len, (enum proto_op)op);
}

#endif /* SHMV_TESTS_FUZZ_FUZZ_COMMON_H */

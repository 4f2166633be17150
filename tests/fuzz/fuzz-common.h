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
 *             uses and all it needs, valid names, mode <= 0777; and it
 *             round-trips: encode, then decode, gives the same struct.
 * responses - 0 or -EPROTO (or -ENOMEM) only; msg NUL-terminated; err 0 or
 *             a positive errno-sized code; names valid; a list owns exactly
 *             count items; a success round-trips like a request.
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

/* Which PROTO_F_* an op uses and needs (mirrors docs/protocol.md). */
static inline void fuzz_op_fields(enum proto_op op, uint32_t *uses, uint32_t *needs) {
  *uses = *needs = 0;
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
  case PROTO_OP_LIST: *uses = PROTO_F_AFTER; break;
  case PROTO_OP_STAT:
  case PROTO_OP_UNLINK: *uses = *needs = PROTO_F_NAME; break;
  case PROTO_OP_RESIZE: *uses = *needs = PROTO_F_NAME | PROTO_F_SIZE; break;
  default: break;
  }
}

/* Check a successfully decoded request, then encode it and decode the
 * result: it must come back the same. */
static inline void fuzz_check_request_ok(const struct proto_request *req) {
  struct proto_request again;
  msgpack_sbuffer sb;
  uint32_t uses, needs, plen;
  char msg[PROTO_MSG_MAX];
  const uint8_t *h;
  int rc;

  FUZZ_CHECK(proto_op_name(req->op) != NULL);
  fuzz_op_fields(req->op, &uses, &needs);
  FUZZ_CHECK((req->fields & ~uses) == 0);
  FUZZ_CHECK((req->fields & needs) == needs);
  FUZZ_CHECK(fuzz_terminated(req->name, sizeof req->name));
  FUZZ_CHECK(fuzz_terminated(req->after, sizeof req->after));
  if (uses & PROTO_F_NAME)
    FUZZ_CHECK(proto_name_valid(req->name));
  else
    FUZZ_CHECK(req->name[0] == '\0');
  FUZZ_CHECK(req->after[0] == '\0' || proto_name_valid(req->after));
  FUZZ_CHECK(req->mode <= 0777);
  if (!(req->fields & PROTO_F_MODE))
    FUZZ_CHECK(req->mode == 0600);
  if (!(req->fields & PROTO_F_LENGTH))
    FUZZ_CHECK(req->length == PROTO_TO_END);
  if (!(req->fields & PROTO_F_OFFSET))
    FUZZ_CHECK(req->offset == 0);

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
      /* The encoder writes every argument of the op. */
      FUZZ_CHECK(again.fields == uses);
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

static inline void fuzz_check_segment(const struct proto_segment *s) {
  FUZZ_CHECK(fuzz_terminated(s->name, sizeof s->name));
  FUZZ_CHECK(proto_name_valid(s->name));
  FUZZ_CHECK(s->created_nsec < 1000000000u);
}

/* Two decoder outputs: compared byte for byte like requests (see
 * fuzz_req_equal), a list's items too. msg is compared as a string: the
 * decoder keeps bytes after a NUL inside msg, the encoder stops at it. */
static inline bool fuzz_resp_equal(const struct proto_response *a, const struct proto_response *b) {
  if (a->id != b->id || a->op != b->op || a->err != b->err || strcmp(a->msg, b->msg) != 0)
    return false;
  if (a->op != PROTO_OP_LIST || a->err != 0)
    return memcmp(&a->u, &b->u, sizeof a->u) == 0;
  if (a->u.list.count != b->u.list.count || a->u.list.more != b->u.list.more)
    return false;
  return a->u.list.count == 0 ||
         memcmp(a->u.list.items, b->u.list.items, a->u.list.count * sizeof a->u.list.items[0]) == 0;
}

/* Decode payload as the response to a request of op, check it, round-trip
 * it, free it. */
static inline void fuzz_response(const uint8_t *payload, size_t len, enum proto_op op) {
  struct proto_response resp, again;
  msgpack_sbuffer sb;
  size_t i;
  int rc;

  rc = proto_response_decode(payload, len, op, &resp);
  FUZZ_CHECK(rc == 0 || rc == -EPROTO || rc == -ENOMEM);
  FUZZ_CHECK(resp.op == op);
  FUZZ_CHECK(fuzz_terminated(resp.msg, sizeof resp.msg));
  if (rc != 0) {
    /* a failed decode owns nothing */
    FUZZ_CHECK(op != PROTO_OP_LIST || resp.u.list.items == NULL);
    proto_response_free(&resp);
    return;
  }
  FUZZ_CHECK(resp.err >= 0);
  if (resp.err == 0) {
    FUZZ_CHECK(resp.msg[0] == '\0');
    switch (op) {
    case PROTO_OP_HELLO:
      FUZZ_CHECK(fuzz_terminated(resp.u.hello.server, sizeof resp.u.hello.server));
      break;
    case PROTO_OP_CREATE:
    case PROTO_OP_STAT:
    case PROTO_OP_RESIZE: fuzz_check_segment(&resp.u.segment); break;
    case PROTO_OP_OPEN:
      FUZZ_CHECK(fuzz_terminated(resp.u.view.name, sizeof resp.u.view.name));
      FUZZ_CHECK(proto_name_valid(resp.u.view.name));
      break;
    case PROTO_OP_LIST:
      FUZZ_CHECK((resp.u.list.count == 0) == (resp.u.list.items == NULL));
      for (i = 0; i < resp.u.list.count; i++)
        fuzz_check_segment(&resp.u.list.items[i]);
      break;
    case PROTO_OP_STATUS:
      FUZZ_CHECK(fuzz_terminated(resp.u.status.server, sizeof resp.u.status.server));
      break;
    default: break;
    }
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

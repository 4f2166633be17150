/* SPDX-License-Identifier: MIT */
/*
 * test-proto.c: unit tests of proto/ (framing, fd passing, every message,
 * names and socket paths, the records' description and its public form).
 * No daemon needed.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"
#include "shmview.h"
#include "fuzz/fuzz-common.h"
#include "fuzz/proto-sample.h"

#define FMAX PROTO_FRAME_MAX_DEFAULT

/* ---- helpers ---- */

/* A key/value to pack into a hand-made map. */
struct kv {
  const char *key;
  char t; /* u uint, i negative int, s str, b bool, n nil, f float,
             a empty array, m empty map, x raw string with length len */
  uint64_t u;
  int64_t i;
  const char *s;
  size_t len;
};
#define KU(k, v) \
  { (k), 'u', (v), 0, NULL, 0 }
#define KI(k, v) \
  { (k), 'i', 0, (v), NULL, 0 }
#define KS(k, v) \
  { (k), 's', 0, 0, (v), 0 }
#define KX(k, v, n) \
  { (k), 'x', 0, 0, (v), (n) }
#define KB(k, v) \
  { (k), 'b', (v), 0, NULL, 0 }
#define KN(k) \
  { (k), 'n', 0, 0, NULL, 0 }
#define KF(k) \
  { (k), 'f', 0, 0, NULL, 0 }
#define KA(k) \
  { (k), 'a', 0, 0, NULL, 0 }
#define KM(k) \
  { (k), 'm', 0, 0, NULL, 0 }
#define NKV(a) (sizeof(a) / sizeof((a)[0]))

static void pack_value(msgpack_packer *pk, const struct kv *e) {
  switch (e->t) {
  case 'u': msgpack_pack_uint64(pk, e->u); break;
  case 'i': msgpack_pack_int64(pk, e->i); break;
  case 's': msgpack_pack_str_with_body(pk, e->s, strlen(e->s)); break;
  case 'x': msgpack_pack_str_with_body(pk, e->s, e->len); break;
  case 'b': e->u ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
  case 'n': msgpack_pack_nil(pk); break;
  case 'f': msgpack_pack_double(pk, 1.5); break;
  case 'a': msgpack_pack_array(pk, 0); break;
  case 'm': msgpack_pack_map(pk, 0); break;
  default: ck_abort_msg("bad kv type");
  }
}

static void pack_kvs(msgpack_packer *pk, const struct kv *kvs, size_t n) {
  size_t i;

  msgpack_pack_map(pk, n);
  for (i = 0; i < n; i++) {
    msgpack_pack_str_with_body(pk, kvs[i].key, strlen(kvs[i].key));
    pack_value(pk, &kvs[i]);
  }
}

/* Decode a hand-made request map. */
static int decode_kvs(const struct kv *kvs, size_t n, struct proto_request *req, char *msg,
                      size_t cap) {
  msgpack_sbuffer sb;
  msgpack_packer pk;
  int rc;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  pack_kvs(&pk, kvs, n);
  rc = proto_request_decode(sb.data, sb.size, req, msg, cap);
  msgpack_sbuffer_destroy(&sb);
  return rc;
}

static uint32_t frame_len(const msgpack_sbuffer *sb) {
  const uint8_t *p = (const uint8_t *)sb->data;

  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Encode then decode a request; checks the frame header on the way. */
static void req_roundtrip(const struct proto_request *in, struct proto_request *out) {
  msgpack_sbuffer sb;
  char msg[PROTO_MSG_MAX];
  int rc;

  msgpack_sbuffer_init(&sb);
  ck_assert_int_eq(proto_request_encode(in, FMAX, &sb), 0);
  ck_assert_uint_gt(sb.size, PROTO_HEADER_SIZE);
  ck_assert_uint_eq(frame_len(&sb), sb.size - PROTO_HEADER_SIZE);
  rc = proto_request_decode(sb.data + PROTO_HEADER_SIZE, sb.size - PROTO_HEADER_SIZE, out, msg,
                            sizeof msg);
  ck_assert_msg(rc == 0, "decode %s: %d %s", proto_op_name(in->op), rc, msg);
  msgpack_sbuffer_destroy(&sb);
}

static void resp_roundtrip(const struct proto_response *in, struct proto_response *out) {
  msgpack_sbuffer sb;

  msgpack_sbuffer_init(&sb);
  ck_assert_int_eq(proto_response_encode(in, FMAX, &sb), 0);
  ck_assert_uint_eq(frame_len(&sb), sb.size - PROTO_HEADER_SIZE);
  ck_assert_int_eq(
      proto_response_decode(sb.data + PROTO_HEADER_SIZE, sb.size - PROTO_HEADER_SIZE, in->op, out),
      0);
  msgpack_sbuffer_destroy(&sb);
}

static void fill_segment(struct proto_segment *s, unsigned i) {
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "seg-%05u", i);
  s->size = 4096u * (i + 1) + UINT64_C(0x100000000);
  s->uid = 1000 + i;
  s->gid = 2000 + i;
  s->mode = 0640;
  s->views = i;
  s->writable_views = i / 2;
  s->created_sec = (int64_t)1700000000 + i;
  s->created_nsec = 999999999u - i;
}

static void assert_segment_eq(const struct proto_segment *a, const struct proto_segment *b) {
  ck_assert_str_eq(a->name, b->name);
  ck_assert_uint_eq(a->size, b->size);
  ck_assert_uint_eq(a->uid, b->uid);
  ck_assert_uint_eq(a->gid, b->gid);
  ck_assert_uint_eq(a->mode, b->mode);
  ck_assert_uint_eq(a->views, b->views);
  ck_assert_uint_eq(a->writable_views, b->writable_views);
  ck_assert_int_eq(a->created_sec, b->created_sec);
  ck_assert_uint_eq(a->created_nsec, b->created_nsec);
}

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;

  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n - 1; /* the DIR's own descriptor */
}

/* ---- ops and names ---- */

START_TEST(test_op_names) {
  static const char *const names[] = { "hello", "create", "open",   "release", "list",
                                       "stat",  "unlink", "resize", "status" };
  unsigned i;

  for (i = 0; i < NKV(names); i++) {
    enum proto_op op = (enum proto_op)(PROTO_OP_HELLO + i);
    ck_assert_str_eq(proto_op_name(op), names[i]);
    ck_assert_int_eq(proto_op_lookup(names[i], strlen(names[i])), op);
  }
  ck_assert_ptr_null(proto_op_name(PROTO_OP_NONE));
  ck_assert_ptr_null(proto_op_name(PROTO_OP_COUNT_));
  ck_assert_ptr_null(proto_op_name((enum proto_op) - 1));
  ck_assert_int_eq(proto_op_lookup("hell", 4), PROTO_OP_NONE);
  ck_assert_int_eq(proto_op_lookup("hello!", 6), PROTO_OP_NONE);
  ck_assert_int_eq(proto_op_lookup("hello!", 5), PROTO_OP_HELLO);
  ck_assert_int_eq(proto_op_lookup("", 0), PROTO_OP_NONE);
  ck_assert_int_eq(proto_op_lookup(NULL, 0), PROTO_OP_NONE);
}
END_TEST

START_TEST(test_name_valid) {
  char n[PROTO_NAME_MAX + 2];

  ck_assert(proto_name_valid("a"));
  ck_assert(proto_name_valid("frames"));
  ck_assert(proto_name_valid("a.b-c_D9"));
  ck_assert(proto_name_valid("0"));
  ck_assert(proto_name_valid("-x"));
  ck_assert(proto_name_valid("x.."));
  ck_assert(!proto_name_valid(""));
  ck_assert(!proto_name_valid(NULL));
  ck_assert(!proto_name_valid("."));
  ck_assert(!proto_name_valid(".."));
  ck_assert(!proto_name_valid(".hidden"));
  ck_assert(!proto_name_valid("a/b"));
  ck_assert(!proto_name_valid("/a"));
  ck_assert(!proto_name_valid("a b"));
  ck_assert(!proto_name_valid("caf\xc3\xa9"));
  ck_assert(!proto_name_valid("a\n"));
  memset(n, 'x', PROTO_NAME_MAX);
  n[PROTO_NAME_MAX] = '\0';
  ck_assert(proto_name_valid(n));
  n[PROTO_NAME_MAX] = 'x';
  n[PROTO_NAME_MAX + 1] = '\0';
  ck_assert(!proto_name_valid(n));
}
END_TEST

/* ---- request round trips ---- */

START_TEST(test_req_roundtrip) {
  struct proto_request in, out;

  memset(&in, 0, sizeof in);
  in.id = 1;
  in.op = PROTO_OP_HELLO;
  in.version = PROTO_VERSION;
  req_roundtrip(&in, &out);
  ck_assert_uint_eq(out.id, 1);
  ck_assert_int_eq(out.op, PROTO_OP_HELLO);
  ck_assert_uint_eq(out.version, PROTO_VERSION);
  ck_assert_uint_eq(out.fields, PROTO_F_VERSION);

  memset(&in, 0, sizeof in);
  in.id = UINT64_MAX;
  in.op = PROTO_OP_CREATE;
  strcpy(in.name, "frames");
  in.size = UINT64_C(1) << 40;
  in.mode = 0640;
  req_roundtrip(&in, &out);
  ck_assert_uint_eq(out.id, UINT64_MAX);
  ck_assert_int_eq(out.op, PROTO_OP_CREATE);
  ck_assert_str_eq(out.name, "frames");
  ck_assert_uint_eq(out.size, UINT64_C(1) << 40);
  ck_assert_uint_eq(out.mode, 0640);
  ck_assert_uint_eq(out.fields, PROTO_F_NAME | PROTO_F_SIZE | PROTO_F_MODE);

  memset(&in, 0, sizeof in);
  in.id = 0; /* 0 is a valid id */
  in.op = PROTO_OP_OPEN;
  strcpy(in.name, "frames");
  in.offset = 4096;
  in.length = 1024;
  in.writable = true;
  req_roundtrip(&in, &out);
  ck_assert_uint_eq(out.id, 0);
  ck_assert_int_eq(out.op, PROTO_OP_OPEN);
  ck_assert_str_eq(out.name, "frames");
  ck_assert_uint_eq(out.offset, 4096);
  ck_assert_uint_eq(out.length, 1024);
  ck_assert(out.writable);
  ck_assert_uint_eq(out.fields, PROTO_F_NAME | PROTO_F_OFFSET | PROTO_F_LENGTH | PROTO_F_WRITABLE);

  in.length = PROTO_TO_END; /* goes out as nil */
  in.writable = false;
  req_roundtrip(&in, &out);
  ck_assert_uint_eq(out.length, PROTO_TO_END);
  ck_assert(!out.writable);

  in.length = 0; /* zero-length view is legal */
  req_roundtrip(&in, &out);
  ck_assert_uint_eq(out.length, 0);

  /* own: optional, left off the wire when false (an older daemon would
   * ignore it anyway) */
  ck_assert(!out.own);
  ck_assert_uint_eq(out.fields & PROTO_F_OWN, 0);
  in.own = true;
  req_roundtrip(&in, &out);
  ck_assert(out.own);
  ck_assert_uint_eq(out.fields & PROTO_F_OWN, PROTO_F_OWN);

  memset(&in, 0, sizeof in);
  in.id = 7;
  in.op = PROTO_OP_RELEASE;
  in.lease = 123456789012345ull;
  req_roundtrip(&in, &out);
  ck_assert_int_eq(out.op, PROTO_OP_RELEASE);
  ck_assert_uint_eq(out.lease, 123456789012345ull);
  ck_assert_uint_eq(out.fields, PROTO_F_LEASE);

  memset(&in, 0, sizeof in);
  in.id = 8;
  in.op = PROTO_OP_LIST;
  req_roundtrip(&in, &out);
  ck_assert_int_eq(out.op, PROTO_OP_LIST);
  ck_assert_str_eq(out.after, "");
  strcpy(in.after, "seg-00042");
  req_roundtrip(&in, &out);
  ck_assert_str_eq(out.after, "seg-00042");
  ck_assert_uint_eq(out.fields, PROTO_F_AFTER);

  memset(&in, 0, sizeof in);
  in.id = 9;
  in.op = PROTO_OP_STAT;
  strcpy(in.name, "a");
  req_roundtrip(&in, &out);
  ck_assert_int_eq(out.op, PROTO_OP_STAT);
  ck_assert_str_eq(out.name, "a");
  ck_assert_uint_eq(out.fields, PROTO_F_NAME);

  in.op = PROTO_OP_UNLINK;
  req_roundtrip(&in, &out);
  ck_assert_int_eq(out.op, PROTO_OP_UNLINK);
  ck_assert_str_eq(out.name, "a");

  memset(&in, 0, sizeof in);
  in.id = 10;
  in.op = PROTO_OP_RESIZE;
  memset(in.name, 'n', PROTO_NAME_MAX); /* the longest name */
  in.size = 0;
  req_roundtrip(&in, &out);
  ck_assert_int_eq(out.op, PROTO_OP_RESIZE);
  ck_assert_uint_eq(strlen(out.name), PROTO_NAME_MAX);
  ck_assert_uint_eq(out.size, 0);
  ck_assert_uint_eq(out.fields, PROTO_F_NAME | PROTO_F_SIZE);

  memset(&in, 0, sizeof in);
  in.id = 11;
  in.op = PROTO_OP_STATUS;
  req_roundtrip(&in, &out);
  ck_assert_int_eq(out.op, PROTO_OP_STATUS);
  ck_assert_uint_eq(out.id, 11);
  ck_assert_uint_eq(out.fields, 0);
}
END_TEST

START_TEST(test_req_encode_bad_op) {
  struct proto_request in;
  msgpack_sbuffer sb;

  memset(&in, 0, sizeof in);
  msgpack_sbuffer_init(&sb);
  in.op = PROTO_OP_NONE;
  ck_assert_int_eq(proto_request_encode(&in, FMAX, &sb), -EINVAL);
  in.op = PROTO_OP_COUNT_;
  ck_assert_int_eq(proto_request_encode(&in, FMAX, &sb), -EINVAL);
  ck_assert_uint_eq(sb.size, 0);
  msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* ---- response round trips ---- */

START_TEST(test_resp_roundtrip_ok) {
  struct proto_response in, out;

  memset(&in, 0, sizeof in);
  in.id = 1;
  in.op = PROTO_OP_HELLO;
  in.u.hello.version = PROTO_VERSION;
  strcpy(in.u.hello.server, "shmviewd 0.1.0");
  in.u.hello.frame_max = FMAX;
  in.u.hello.name_max = PROTO_NAME_MAX;
  resp_roundtrip(&in, &out);
  ck_assert_uint_eq(out.id, 1);
  ck_assert_int_eq(out.err, 0);
  ck_assert_uint_eq(out.u.hello.version, PROTO_VERSION);
  ck_assert_str_eq(out.u.hello.server, "shmviewd 0.1.0");
  ck_assert_uint_eq(out.u.hello.frame_max, FMAX);
  ck_assert_uint_eq(out.u.hello.name_max, PROTO_NAME_MAX);

  /* the longest server string: 31 chars */
  memset(in.u.hello.server, 's', sizeof in.u.hello.server - 1);
  resp_roundtrip(&in, &out);
  ck_assert_uint_eq(strlen(out.u.hello.server), 31);

  static const enum proto_op segops[] = { PROTO_OP_CREATE, PROTO_OP_STAT, PROTO_OP_RESIZE };
  for (unsigned k = 0; k < 3; k++) {
    memset(&in, 0, sizeof in);
    in.id = 2 + k;
    in.op = segops[k];
    fill_segment(&in.u.segment, k);
    resp_roundtrip(&in, &out);
    ck_assert_uint_eq(out.id, 2 + k);
    ck_assert_int_eq(out.op, segops[k]);
    assert_segment_eq(&out.u.segment, &in.u.segment);
  }
  /* created before the epoch: a negative integer on the wire */
  in.u.segment.created_sec = -5;
  resp_roundtrip(&in, &out);
  ck_assert_int_eq(out.u.segment.created_sec, -5);

  memset(&in, 0, sizeof in);
  in.id = 5;
  in.op = PROTO_OP_OPEN;
  strcpy(in.u.view.name, "frames");
  in.u.view.offset = 4096;
  in.u.view.length = 1024;
  in.u.view.segment_size = 1 << 20;
  in.u.view.lease = 77;
  in.u.view.writable = true;
  resp_roundtrip(&in, &out);
  ck_assert_str_eq(out.u.view.name, "frames");
  ck_assert_uint_eq(out.u.view.offset, 4096);
  ck_assert_uint_eq(out.u.view.length, 1024);
  ck_assert_uint_eq(out.u.view.segment_size, 1 << 20);
  ck_assert_uint_eq(out.u.view.lease, 77);
  ck_assert(out.u.view.writable);
  ck_assert(!out.u.view.ephemeral); /* absent: false */
  in.u.view.ephemeral = true;
  resp_roundtrip(&in, &out);
  ck_assert(out.u.view.ephemeral);
  /* the owner: root is 0, absent (an older daemon) is unknown */
  ck_assert_uint_eq(out.u.view.uid, 0);
  ck_assert_uint_eq(out.u.view.gid, 0);
  in.u.view.uid = 65534;
  in.u.view.gid = 100;
  resp_roundtrip(&in, &out);
  ck_assert_uint_eq(out.u.view.uid, 65534);
  ck_assert_uint_eq(out.u.view.gid, 100);
  in.u.view.uid = in.u.view.gid = PROTO_OWNER_UNKNOWN;
  resp_roundtrip(&in, &out);
  ck_assert_uint_eq(out.u.view.uid, PROTO_OWNER_UNKNOWN);
  ck_assert_uint_eq(out.u.view.gid, PROTO_OWNER_UNKNOWN);

  memset(&in, 0, sizeof in);
  in.id = 6;
  in.op = PROTO_OP_RELEASE;
  resp_roundtrip(&in, &out);
  ck_assert_uint_eq(out.id, 6);
  ck_assert_int_eq(out.err, 0);
  in.op = PROTO_OP_UNLINK;
  resp_roundtrip(&in, &out);
  ck_assert_int_eq(out.err, 0);

  memset(&in, 0, sizeof in);
  in.id = 9;
  in.op = PROTO_OP_STATUS;
  strcpy(in.u.status.server, "shmviewd 0.1.0");
  in.u.status.version = 1;
  in.u.status.uptime_ms = 2;
  in.u.status.clients = 3;
  in.u.status.segments = 4;
  in.u.status.bytes = 5;
  in.u.status.views = 6;
  in.u.status.writable_views = 7;
  in.u.status.requests = 8;
  in.u.status.max_segment_size = 9;
  in.u.status.max_total_size = 10;
  in.u.status.max_clients = 11;
  in.u.status.max_views = 12;
  in.u.status.frame_max = 13;
  in.u.status.quota_bytes = 14;
  in.u.status.quota_segments = 15;
  in.u.status.quota_views = 16;
  in.u.status.uid = 17;
  in.u.status.used_bytes = 18;
  in.u.status.used_segments = 19;
  in.u.status.used_views = 20;
  in.u.status.grace_ms = 21;
  resp_roundtrip(&in, &out);
  ck_assert_str_eq(out.u.status.server, "shmviewd 0.1.0");
  ck_assert_uint_eq(out.u.status.version, 1);
  ck_assert_uint_eq(out.u.status.uptime_ms, 2);
  ck_assert_uint_eq(out.u.status.clients, 3);
  ck_assert_uint_eq(out.u.status.segments, 4);
  ck_assert_uint_eq(out.u.status.bytes, 5);
  ck_assert_uint_eq(out.u.status.views, 6);
  ck_assert_uint_eq(out.u.status.writable_views, 7);
  ck_assert_uint_eq(out.u.status.requests, 8);
  ck_assert_uint_eq(out.u.status.max_segment_size, 9);
  ck_assert_uint_eq(out.u.status.max_total_size, 10);
  ck_assert_uint_eq(out.u.status.max_clients, 11);
  ck_assert_uint_eq(out.u.status.max_views, 12);
  ck_assert_uint_eq(out.u.status.frame_max, 13);
  ck_assert_uint_eq(out.u.status.quota_bytes, 14);
  ck_assert_uint_eq(out.u.status.quota_segments, 15);
  ck_assert_uint_eq(out.u.status.quota_views, 16);
  ck_assert_uint_eq(out.u.status.uid, 17);
  ck_assert_uint_eq(out.u.status.used_bytes, 18);
  ck_assert_uint_eq(out.u.status.used_segments, 19);
  ck_assert_uint_eq(out.u.status.used_views, 20);
  ck_assert_uint_eq(out.u.status.grace_ms, 21);
}
END_TEST

START_TEST(test_resp_roundtrip_err) {
  struct proto_response in, out;
  char longmsg[1000];
  int op;

  for (op = PROTO_OP_NONE; op < PROTO_OP_COUNT_; op++) {
    proto_response_error(&in, 40 + op, (enum proto_op)op, ENOENT, "no segment named \"%s\"", "x");
    ck_assert_int_eq(in.err, ENOENT);
    resp_roundtrip(&in, &out);
    ck_assert_uint_eq(out.id, 40 + op);
    ck_assert_int_eq(out.err, ENOENT);
    ck_assert_str_eq(out.msg, "no segment named \"x\"");
    proto_response_free(&out);
  }

  /* a negative code is taken as its absolute value */
  proto_response_error(&in, 1, PROTO_OP_STAT, -EACCES, "denied");
  ck_assert_int_eq(in.err, EACCES);

  /* proto_response_error truncates a long sentence safely */
  memset(longmsg, 'm', sizeof longmsg - 1);
  longmsg[sizeof longmsg - 1] = '\0';
  proto_response_error(&in, 3, PROTO_OP_LIST, EBUSY, "%s", longmsg);
  ck_assert_uint_eq(strlen(in.msg), PROTO_MSG_MAX - 1);
  resp_roundtrip(&in, &out);
  ck_assert_int_eq(out.err, EBUSY);
  ck_assert_uint_eq(strlen(out.msg), PROTO_MSG_MAX - 1);
  ck_assert_ptr_null(out.u.list.items);
  proto_response_free(&out);

  /* the answer to an undecodable request: id 0, no op */
  proto_response_error(&in, 0, PROTO_OP_NONE, EPROTO, "garbage");
  resp_roundtrip(&in, &out);
  ck_assert_uint_eq(out.id, 0);
  ck_assert_int_eq(out.err, EPROTO);
}
END_TEST

START_TEST(test_resp_err_long_msg_truncated) {
  /* a peer's msg longer than our buffer is truncated, not refused */
  struct proto_response out;
  msgpack_sbuffer sb;
  msgpack_packer pk;
  char big[2000];

  memset(big, 'z', sizeof big);
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 2);
  msgpack_pack_str_with_body(&pk, "id", 2);
  msgpack_pack_uint64(&pk, 5);
  msgpack_pack_str_with_body(&pk, "err", 3);
  msgpack_pack_map(&pk, 2);
  msgpack_pack_str_with_body(&pk, "code", 4);
  msgpack_pack_uint64(&pk, ERANGE);
  msgpack_pack_str_with_body(&pk, "msg", 3);
  msgpack_pack_str_with_body(&pk, big, sizeof big);
  ck_assert_int_eq(proto_response_decode(sb.data, sb.size, PROTO_OP_OPEN, &out), 0);
  ck_assert_int_eq(out.err, ERANGE);
  ck_assert_uint_eq(out.id, 5);
  ck_assert_uint_eq(strlen(out.msg), PROTO_MSG_MAX - 1);
  msgpack_sbuffer_destroy(&sb);
}
END_TEST

static void list_roundtrip(size_t count, bool more) {
  struct proto_response in, out;
  struct proto_segment *items = NULL;
  size_t i;

  if (count) {
    items = calloc(count, sizeof *items);
    ck_assert_ptr_nonnull(items);
  }
  for (i = 0; i < count; i++)
    fill_segment(&items[i], (unsigned)i);
  memset(&in, 0, sizeof in);
  in.id = 99;
  in.op = PROTO_OP_LIST;
  in.u.list.items = items;
  in.u.list.count = count;
  in.u.list.more = more;
  resp_roundtrip(&in, &out);
  ck_assert_uint_eq(out.id, 99);
  ck_assert_uint_eq(out.u.list.count, count);
  ck_assert_int_eq(out.u.list.more, more);
  if (count == 0)
    ck_assert_ptr_null(out.u.list.items);
  for (i = 0; i < count; i++)
    assert_segment_eq(&out.u.list.items[i], &items[i]);
  proto_response_free(&out);
  ck_assert_ptr_null(out.u.list.items);
  ck_assert_uint_eq(out.u.list.count, 0);
  proto_response_free(&out); /* twice is harmless */
  free(items);
}

START_TEST(test_resp_list) {
  list_roundtrip(0, false);
  list_roundtrip(1, false);
  list_roundtrip(100, true);
  list_roundtrip(3, true);
}
END_TEST

START_TEST(test_resp_encode_bad) {
  struct proto_response in;
  msgpack_sbuffer sb;

  msgpack_sbuffer_init(&sb);
  memset(&in, 0, sizeof in);
  in.op = PROTO_OP_COUNT_;
  ck_assert_int_eq(proto_response_encode(&in, FMAX, &sb), -EINVAL);
  in.op = PROTO_OP_LIST;
  in.u.list.count = 3; /* items NULL */
  ck_assert_int_eq(proto_response_encode(&in, FMAX, &sb), -EINVAL);
  ck_assert_uint_eq(sb.size, 0);
  msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* ---- encode limits ---- */

START_TEST(test_encode_frame_max) {
  struct proto_response in;
  struct proto_segment *items;
  struct proto_request req;
  msgpack_sbuffer sb;
  size_t whole, n = 2000;

  items = calloc(n, sizeof *items);
  for (size_t i = 0; i < n; i++)
    fill_segment(&items[i], (unsigned)i);
  memset(&in, 0, sizeof in);
  in.op = PROTO_OP_LIST;
  in.u.list.items = items;
  in.u.list.count = n;
  msgpack_sbuffer_init(&sb);
  ck_assert_int_eq(proto_response_encode(&in, FMAX, &sb), -EMSGSIZE);
  ck_assert_uint_eq(sb.size, 0);

  /* exactly at the limit fits; one byte less does not */
  ck_assert_int_eq(proto_response_encode(&in, SIZE_MAX, &sb), 0);
  whole = sb.size - PROTO_HEADER_SIZE;
  sb.size = 0;
  ck_assert_int_eq(proto_response_encode(&in, whole, &sb), 0);
  ck_assert_uint_eq(sb.size, whole + PROTO_HEADER_SIZE);
  sb.size = 0;
  ck_assert_int_eq(proto_response_encode(&in, whole - 1, &sb), -EMSGSIZE);
  ck_assert_uint_eq(sb.size, 0);

  /* The worst-case list entry (longest name, every integer at its widest)
   * is at most 322 bytes and the envelope at most 64 (docs/protocol.md):
   * the daemon sizes its list pages on that. */
  for (size_t i = 0; i < n; i++) {
    memset(items[i].name, 'n', PROTO_NAME_MAX);
    items[i].size = items[i].views = items[i].writable_views = UINT64_MAX;
    items[i].uid = items[i].gid = UINT32_MAX;
    items[i].mode = 0777;
    items[i].created_sec = INT64_MIN;
    items[i].created_nsec = 999999999;
  }
  in.id = UINT64_MAX;
  in.u.list.count = 1;
  sb.size = 0;
  ck_assert_int_eq(proto_response_encode(&in, SIZE_MAX, &sb), 0);
  in.u.list.count = 2;
  ck_assert_int_eq(proto_response_encode(&in, SIZE_MAX, &sb), 0);
  whole = sb.size - 2 * PROTO_HEADER_SIZE;
  /* 2 frames: envelope*2 + 3 items */
  ck_assert_uint_le(whole, 2 * 64 + 3 * 322);
  in.u.list.count = (FMAX - 64) / 322;
  sb.size = 0;
  ck_assert_int_eq(proto_response_encode(&in, FMAX, &sb), 0);

  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_STATUS;
  sb.size = 0;
  ck_assert_int_eq(proto_request_encode(&req, 5, &sb), -EMSGSIZE);
  ck_assert_uint_eq(sb.size, 0);
  msgpack_sbuffer_destroy(&sb);
  free(items);
}
END_TEST

/* ---- frame reader ---- */

static size_t make_frame(uint8_t *out, const char *payload) {
  size_t n = strlen(payload);

  proto_frame_header(out, (uint32_t)n);
  memcpy(out + PROTO_HEADER_SIZE, payload, n);
  return n + PROTO_HEADER_SIZE;
}

static void feed(struct proto_reader *r, const void *data, size_t n) {
  const uint8_t *p = data;
  ssize_t k;

  while (n > 0) {
    k = proto_reader_feed(r, p, n);
    ck_assert_int_gt(k, 0);
    p += k;
    n -= (size_t)k;
  }
}

/* The next frame, which carries no descriptor here. */
static int reader_next(struct proto_reader *r, const uint8_t **pl, size_t *len) {
  struct proto_frame f;
  int rc = proto_reader_get(r, &f);

  if (rc == 1) {
    ck_assert_int_eq(f.fd, -1);
    *pl = f.payload;
    *len = f.len;
  }
  return rc;
}

START_TEST(test_frame_header) {
  uint8_t h[4];

  proto_frame_header(h, 0x01020304u);
  ck_assert_uint_eq(h[0], 1);
  ck_assert_uint_eq(h[1], 2);
  ck_assert_uint_eq(h[2], 3);
  ck_assert_uint_eq(h[3], 4);
  proto_frame_header(h, 5);
  ck_assert(h[0] == 0 && h[1] == 0 && h[2] == 0 && h[3] == 5);
}
END_TEST

START_TEST(test_reader_bytewise) {
  struct proto_reader r;
  uint8_t buf[64];
  const uint8_t *pl;
  size_t n, len, i;
  int frames = 0;

  n = make_frame(buf, "hello");
  n += make_frame(buf + n, "world!");
  proto_reader_init(&r, FMAX, false);
  for (i = 0; i < n; i++) {
    feed(&r, buf + i, 1);
    int rc = reader_next(&r, &pl, &len);
    if (i == 8) {
      ck_assert_int_eq(rc, 1);
      ck_assert_uint_eq(len, 5);
      ck_assert(memcmp(pl, "hello", 5) == 0);
      frames++;
    } else if (i == n - 1) {
      ck_assert_int_eq(rc, 1);
      ck_assert_uint_eq(len, 6);
      ck_assert(memcmp(pl, "world!", 6) == 0);
      frames++;
    } else {
      ck_assert_int_eq(rc, 0);
      ck_assert_uint_gt(proto_reader_pending(&r), 0);
    }
  }
  ck_assert_int_eq(frames, 2);
  ck_assert_uint_eq(proto_reader_pending(&r), 0);
  proto_reader_free(&r);
}
END_TEST

START_TEST(test_reader_two_frames_one_read) {
  struct proto_reader r;
  uint8_t buf[64];
  const uint8_t *pl;
  size_t n, len;

  n = make_frame(buf, "one");
  n += make_frame(buf + n, "two");
  n += make_frame(buf + n, "thr"); /* plus half of a third */
  proto_reader_init(&r, FMAX, false);
  feed(&r, buf, n - 2);
  ck_assert_int_eq(reader_next(&r, &pl, &len), 1);
  ck_assert(len == 3 && memcmp(pl, "one", 3) == 0);
  ck_assert_int_eq(reader_next(&r, &pl, &len), 1);
  ck_assert(len == 3 && memcmp(pl, "two", 3) == 0);
  ck_assert_int_eq(reader_next(&r, &pl, &len), 0);
  ck_assert_uint_eq(proto_reader_pending(&r), 5);
  feed(&r, buf + n - 2, 2);
  ck_assert_int_eq(reader_next(&r, &pl, &len), 1);
  ck_assert(len == 3 && memcmp(pl, "thr", 3) == 0);
  ck_assert_uint_eq(proto_reader_pending(&r), 0);
  proto_reader_free(&r);
}
END_TEST

START_TEST(test_reader_truncated) {
  struct proto_reader r;
  uint8_t buf[64];
  const uint8_t *pl;
  size_t len;

  make_frame(buf, "payload");
  proto_reader_init(&r, FMAX, false);
  ck_assert_int_eq(reader_next(&r, &pl, &len), 0); /* empty */
  ck_assert_uint_eq(proto_reader_pending(&r), 0);
  feed(&r, buf, 3); /* truncated header */
  ck_assert_int_eq(reader_next(&r, &pl, &len), 0);
  ck_assert_uint_eq(proto_reader_pending(&r), 3);
  feed(&r, buf + 3, 5); /* header + 4 of 7 payload bytes */
  ck_assert_int_eq(reader_next(&r, &pl, &len), 0);
  ck_assert_uint_eq(proto_reader_pending(&r), 8);
  proto_reader_free(&r);
}
END_TEST

START_TEST(test_reader_empty_frame) {
  struct proto_reader r;
  uint8_t h[4];
  const uint8_t *pl;
  size_t len;

  proto_frame_header(h, 0);
  proto_reader_init(&r, FMAX, false);
  feed(&r, h, 4);
  ck_assert_int_eq(reader_next(&r, &pl, &len), -EPROTO);
  proto_reader_free(&r);
}
END_TEST

START_TEST(test_reader_oversize) {
  struct proto_reader r;
  uint8_t h[4];
  const uint8_t *pl;
  size_t len;

  proto_frame_header(h, FMAX + 1);
  proto_reader_init(&r, FMAX, false);
  feed(&r, h, 4); /* refused as soon as the header is there */
  ck_assert_int_eq(reader_next(&r, &pl, &len), -EMSGSIZE);
  proto_reader_free(&r);

  proto_frame_header(h, UINT32_MAX);
  proto_reader_init(&r, PROTO_FRAME_MAX_MIN, false);
  feed(&r, h, 4);
  ck_assert_int_eq(reader_next(&r, &pl, &len), -EMSGSIZE);
  proto_reader_free(&r);
}
END_TEST

START_TEST(test_reader_max_frame) {
  /* A frame of exactly frame_max passes, and the buffer never grows
   * beyond header + frame_max even when the caller asks for more. */
  struct proto_reader r;
  size_t fm = PROTO_FRAME_MAX_MIN, total = PROTO_HEADER_SIZE + fm, len;
  uint8_t *buf = malloc(total * 2);
  const uint8_t *pl;

  proto_frame_header(buf, (uint32_t)fm);
  memset(buf + PROTO_HEADER_SIZE, 'p', fm);
  memcpy(buf + total, buf, total);
  proto_reader_init(&r, fm, false);
  feed(&r, buf, total);
  ck_assert_uint_le(r.cap, total);
  ck_assert_int_eq(reader_next(&r, &pl, &len), 1);
  ck_assert_uint_eq(len, fm);
  ck_assert_int_eq(reader_next(&r, &pl, &len), 0);
  feed(&r, buf + total, total);
  ck_assert_int_eq(reader_next(&r, &pl, &len), 1);
  ck_assert_uint_eq(len, fm);
  ck_assert_uint_le(r.cap, total);
  /* a whole frame still buffered, with room left: more is still taken */
  proto_frame_header(buf, 1);
  feed(&r, buf, PROTO_HEADER_SIZE + 1);
  ck_assert_int_eq(proto_reader_feed(&r, buf, PROTO_HEADER_SIZE), PROTO_HEADER_SIZE);
  ck_assert_uint_le(r.cap, total);
  proto_reader_free(&r);
  free(buf);
}
END_TEST

START_TEST(test_reader_compacts) {
  /* many small frames through a reader: the buffer stays small */
  struct proto_reader r;
  uint8_t buf[16];
  const uint8_t *pl;
  size_t n, len;
  int i;

  proto_reader_init(&r, FMAX, false);
  n = make_frame(buf, "0123456");
  for (i = 0; i < 10000; i++) {
    feed(&r, buf, 5);
    ck_assert_int_eq(reader_next(&r, &pl, &len), 0);
    feed(&r, buf + 5, n - 5);
    ck_assert_int_eq(reader_next(&r, &pl, &len), 1);
    ck_assert(len == 7 && memcmp(pl, "0123456", 7) == 0);
  }
  ck_assert_uint_le(r.cap, 4096);
  proto_reader_free(&r);
}
END_TEST

/* ---- request decoding errors ---- */

START_TEST(test_decode_not_map) {
  static const uint8_t arr[] = { 0x92, 0x01, 0x02 };
  static const uint8_t num[] = { 0x05 };
  static const uint8_t str[] = { 0xa2, 'i', 'd' };
  static const uint8_t nil[] = { 0xc0 };
  struct proto_request req;
  char msg[PROTO_MSG_MAX];

  ck_assert_int_eq(proto_request_decode(arr, sizeof arr, &req, msg, sizeof msg), -EPROTO);
  ck_assert_uint_gt(strlen(msg), 0);
  ck_assert_int_eq(proto_request_decode(num, sizeof num, &req, msg, sizeof msg), -EPROTO);
  ck_assert_int_eq(proto_request_decode(str, sizeof str, &req, msg, sizeof msg), -EPROTO);
  ck_assert_int_eq(proto_request_decode(nil, sizeof nil, &req, msg, sizeof msg), -EPROTO);
  ck_assert_int_eq(proto_request_decode(num, 0, &req, msg, sizeof msg), -EPROTO);
  ck_assert_uint_eq(req.id, 0);
}
END_TEST

START_TEST(test_decode_trailing_truncated_garbage) {
  struct proto_request in, req;
  msgpack_sbuffer sb;
  char msg[PROTO_MSG_MAX];
  const uint8_t *pl;
  size_t n, i;
  uint8_t buf[512];

  memset(&in, 0, sizeof in);
  in.id = 5;
  in.op = PROTO_OP_STAT;
  strcpy(in.name, "abc");
  msgpack_sbuffer_init(&sb);
  ck_assert_int_eq(proto_request_encode(&in, FMAX, &sb), 0);
  pl = (const uint8_t *)sb.data + PROTO_HEADER_SIZE;
  n = sb.size - PROTO_HEADER_SIZE;
  ck_assert_uint_lt(n + 1, sizeof buf);
  memcpy(buf, pl, n);

  buf[n] = 0xc0; /* trailing nil */
  ck_assert_int_eq(proto_request_decode(buf, n + 1, &req, msg, sizeof msg), -EPROTO);
  buf[n] = 0x80; /* a second (empty) map */
  ck_assert_int_eq(proto_request_decode(buf, n + 1, &req, msg, sizeof msg), -EPROTO);
  for (i = 1; i < n; i++) /* every truncation */
    ck_assert_int_eq(proto_request_decode(buf, i, &req, msg, sizeof msg), -EPROTO);
  ck_assert_int_eq(proto_request_decode(buf, n, &req, msg, sizeof msg), 0);

  static const uint8_t c1[] = { 0x81, 0xc1, 0x00 }; /* never-used byte */
  static const uint8_t liar[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
  static const uint8_t liarmap[] = { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 'x' };
  static const uint8_t hugestr[] = { 0x81, 0xdb, 0xff, 0xff, 0xff, 0xff, 'x' };
  ck_assert_int_eq(proto_request_decode(c1, sizeof c1, &req, msg, sizeof msg), -EPROTO);
  ck_assert_int_eq(proto_request_decode(liar, sizeof liar, &req, msg, sizeof msg), -EPROTO);
  ck_assert_int_eq(proto_request_decode(liarmap, sizeof liarmap, &req, msg, sizeof msg), -EPROTO);
  ck_assert_int_eq(proto_request_decode(hugestr, sizeof hugestr, &req, msg, sizeof msg), -EPROTO);
  msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_decode_id_and_op) {
  struct proto_request req;
  char msg[PROTO_MSG_MAX];

  {
    struct kv k[] = { KU("id", 42), KS("op", "frobnicate") };
    ck_assert_int_eq(decode_kvs(k, 2, &req, msg, sizeof msg), -EOPNOTSUPP);
    ck_assert_uint_eq(req.id, 42);
    ck_assert_str_eq(msg, "unknown op \"frobnicate\"");
  }
  {
    /* the id is found wherever it is, even when other fields are bad */
    struct kv k[] = { KS("op", "create"), KS("name", ".bad"), KU("size", 1), KU("id", 77) };
    ck_assert_int_eq(decode_kvs(k, NKV(k), &req, msg, sizeof msg), -EINVAL);
    ck_assert_uint_eq(req.id, 77);
  }
  {
    struct kv k[] = { KS("op", "status") };
    ck_assert_int_eq(decode_kvs(k, 1, &req, msg, sizeof msg), -EINVAL);
    ck_assert_uint_eq(req.id, 0);
    ck_assert_ptr_nonnull(strstr(msg, "\"id\""));
  }
  {
    struct kv k[] = { KI("id", -1), KS("op", "status") };
    ck_assert_int_eq(decode_kvs(k, 2, &req, msg, sizeof msg), -EINVAL);
    ck_assert_uint_eq(req.id, 0);
    ck_assert_str_eq(msg, "\"id\" must be an unsigned integer");
  }
  {
    struct kv k[] = { KS("id", "1"), KS("op", "status") };
    ck_assert_int_eq(decode_kvs(k, 2, &req, msg, sizeof msg), -EINVAL);
  }
  {
    struct kv k[] = { KU("id", 3) };
    ck_assert_int_eq(decode_kvs(k, 1, &req, msg, sizeof msg), -EINVAL);
    ck_assert_uint_eq(req.id, 3);
    ck_assert_ptr_nonnull(strstr(msg, "\"op\""));
  }
  {
    struct kv k[] = { KU("id", 3), KU("op", 1) };
    ck_assert_int_eq(decode_kvs(k, 2, &req, msg, sizeof msg), -EINVAL);
    ck_assert_str_eq(msg, "\"op\" must be a string");
  }
  {
    /* "op" matching is exact: no prefix, no NUL tricks */
    struct kv k[] = { KU("id", 3), KX("op", "stat\0x", 6) };
    ck_assert_int_eq(decode_kvs(k, 2, &req, msg, sizeof msg), -EOPNOTSUPP);
    ck_assert_uint_eq(req.id, 3);
  }
  {
    struct kv k[] = { KU("id", 3), KS("op", "STAT") };
    ck_assert_int_eq(decode_kvs(k, 2, &req, msg, sizeof msg), -EOPNOTSUPP);
  }
  {
    /* an unprintable op is shown safely and bounded */
    char op[300];
    memset(op, '\x01', sizeof op);
    struct kv k[] = { KU("id", 3), KX("op", op, sizeof op) };
    ck_assert_int_eq(decode_kvs(k, 2, &req, msg, sizeof msg), -EOPNOTSUPP);
    ck_assert_uint_lt(strlen(msg), 80);
  }
  {
    /* a NULL errmsg is fine */
    struct kv k[] = { KU("id", 3), KS("op", "nope") };
    ck_assert_int_eq(decode_kvs(k, 2, &req, NULL, 0), -EOPNOTSUPP);
  }
  {
    /* a tiny errmsg buffer is fine */
    struct kv k[] = { KU("id", 3), KS("op", "nope") };
    ck_assert_int_eq(decode_kvs(k, 2, &req, msg, 4), -EOPNOTSUPP);
    ck_assert_str_eq(msg, "unk");
  }
}
END_TEST

/* One wrong-type case: an op, the offending key/value, and the rest of a
 * request that is otherwise valid. */
struct wrongtype {
  const char *op;
  struct kv bad;
  const char *expect; /* message */
};

static void fill_valid(const char *op, struct kv *k, size_t *n) {
  *n = 0;
  k[(*n)++] = (struct kv)KU("id", 9);
  k[(*n)++] = (struct kv)KS("op", op);
  if (!strcmp(op, "hello"))
    k[(*n)++] = (struct kv)KU("version", 1);
  if (!strcmp(op, "create") || !strcmp(op, "open") || !strcmp(op, "stat") ||
      !strcmp(op, "unlink") || !strcmp(op, "resize"))
    k[(*n)++] = (struct kv)KS("name", "seg");
  if (!strcmp(op, "create") || !strcmp(op, "resize"))
    k[(*n)++] = (struct kv)KU("size", 10);
  if (!strcmp(op, "release"))
    k[(*n)++] = (struct kv)KU("lease", 1);
}

/* Replace key in k (or append it). */
static void set_kv(struct kv *k, size_t *n, struct kv v) {
  size_t i;

  for (i = 0; i < *n; i++)
    if (!strcmp(k[i].key, v.key)) {
      k[i] = v;
      return;
    }
  k[(*n)++] = v;
}

START_TEST(test_decode_wrong_types) {
  static const struct wrongtype cases[] = {
    { "hello", KS("version", "1"), "\"version\" must be an unsigned integer" },
    { "hello", KI("version", -1), "\"version\" must be an unsigned integer" },
    { "hello", KU("version", UINT64_C(1) << 32), "\"version\" is out of range" },
    { "create", KU("name", 1), "\"name\" must be a string" },
    { "create", KS("size", "10"), "\"size\" must be an unsigned integer" },
    { "create", KI("size", -10), "\"size\" must be an unsigned integer" },
    { "create", KF("size"), "\"size\" must be an unsigned integer" },
    { "create", KN("size"), "\"size\" must be an unsigned integer" },
    { "create", KS("mode", "0600"), "\"mode\" must be an unsigned integer" },
    { "create", KU("mode", 01000), "\"mode\" is out of range" },
    { "create", KU("mode", UINT64_MAX), "\"mode\" is out of range" },
    { "open", KA("name"), "\"name\" must be a string" },
    { "open", KI("offset", -1), "\"offset\" must be an unsigned integer" },
    { "open", KB("offset", 1), "\"offset\" must be an unsigned integer" },
    { "open", KS("length", "end"), "\"length\" must be an unsigned integer or nil" },
    { "open", KI("length", -1), "\"length\" must be an unsigned integer or nil" },
    { "open", KU("writable", 1), "\"writable\" must be a boolean" },
    { "open", KN("writable"), "\"writable\" must be a boolean" },
    { "release", KS("lease", "1"), "\"lease\" must be an unsigned integer" },
    { "release", KM("lease"), "\"lease\" must be an unsigned integer" },
    { "list", KU("after", 0), "\"after\" must be a string" },
    { "list", KN("after"), "\"after\" must be a string" },
    { "stat", KB("name", 0), "\"name\" must be a string" },
    { "unlink", KN("name"), "\"name\" must be a string" },
    { "resize", KM("name"), "\"name\" must be a string" },
    { "resize", KF("size"), "\"size\" must be an unsigned integer" },
  };
  struct proto_request req;
  char msg[PROTO_MSG_MAX];
  struct kv k[16];
  size_t i, n;

  for (i = 0; i < NKV(cases); i++) {
    fill_valid(cases[i].op, k, &n);
    ck_assert_int_eq(decode_kvs(k, n, &req, msg, sizeof msg), 0);
    set_kv(k, &n, cases[i].bad);
    ck_assert_msg(decode_kvs(k, n, &req, msg, sizeof msg) == -EINVAL, "case %zu (%s %s) accepted",
                  i, cases[i].op, cases[i].bad.key);
    ck_assert_msg(strncmp(msg, cases[i].expect, strlen(cases[i].expect)) == 0,
                  "case %zu: got \"%s\", want \"%s\"", i, msg, cases[i].expect);
    ck_assert_uint_eq(req.id, 9);
  }
}
END_TEST

START_TEST(test_decode_missing_required) {
  static const struct {
    const char *op, *drop;
  } cases[] = {
    { "hello", "version" }, { "create", "name" },   { "create", "size" },
    { "open", "name" },     { "release", "lease" }, { "stat", "name" },
    { "unlink", "name" },   { "resize", "name" },   { "resize", "size" },
  };
  struct proto_request req;
  char msg[PROTO_MSG_MAX], want[64];
  struct kv k[16];
  size_t i, j, n;

  for (i = 0; i < NKV(cases); i++) {
    fill_valid(cases[i].op, k, &n);
    for (j = 0; j < n; j++)
      if (!strcmp(k[j].key, cases[i].drop))
        k[j].key = "unrelated"; /* an unknown key stands in its place */
    ck_assert_int_eq(decode_kvs(k, n, &req, msg, sizeof msg), -EINVAL);
    snprintf(want, sizeof want, "missing required field \"%s\"", cases[i].drop);
    ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "%s: %s", cases[i].op, msg);
    ck_assert_uint_eq(req.id, 9);
  }
  /* list and status need nothing */
  {
    struct kv k2[] = { KU("id", 1), KS("op", "list") };
    ck_assert_int_eq(decode_kvs(k2, 2, &req, msg, sizeof msg), 0);
    ck_assert_str_eq(req.after, "");
    ck_assert_uint_eq(req.fields, 0);
  }
}
END_TEST

START_TEST(test_decode_defaults) {
  struct proto_request req;
  char msg[PROTO_MSG_MAX];

  {
    struct kv k[] = { KU("id", 1), KS("op", "create"), KS("name", "s"), KU("size", 0) };
    ck_assert_int_eq(decode_kvs(k, NKV(k), &req, msg, sizeof msg), 0);
    ck_assert_uint_eq(req.mode, 0600);
    ck_assert_uint_eq(req.fields, PROTO_F_NAME | PROTO_F_SIZE);
  }
  {
    struct kv k[] = { KU("id", 1), KS("op", "create"), KS("name", "s"), KU("size", 0),
                      KU("mode", 0777) };
    ck_assert_int_eq(decode_kvs(k, NKV(k), &req, msg, sizeof msg), 0);
    ck_assert_uint_eq(req.mode, 0777);
  }
  {
    struct kv k[] = { KU("id", 1), KS("op", "create"), KS("name", "s"), KU("size", 0),
                      KU("mode", 0) };
    ck_assert_int_eq(decode_kvs(k, NKV(k), &req, msg, sizeof msg), 0);
    ck_assert_uint_eq(req.mode, 0);
    ck_assert(req.fields & PROTO_F_MODE);
  }
  {
    struct kv k[] = { KU("id", 1), KS("op", "open"), KS("name", "s") };
    ck_assert_int_eq(decode_kvs(k, NKV(k), &req, msg, sizeof msg), 0);
    ck_assert_uint_eq(req.offset, 0);
    ck_assert_uint_eq(req.length, PROTO_TO_END);
    ck_assert(!req.writable);
    ck_assert_uint_eq(req.fields, PROTO_F_NAME);
  }
  {
    struct kv k[] = { KU("id", 1), KS("op", "open"), KS("name", "s"), KN("length") };
    ck_assert_int_eq(decode_kvs(k, NKV(k), &req, msg, sizeof msg), 0);
    ck_assert_uint_eq(req.length, PROTO_TO_END);
    ck_assert(req.fields & PROTO_F_LENGTH);
  }
  {
    struct kv k[] = { KU("id", 1), KS("op", "open"), KS("name", "s"), KU("length", UINT64_MAX),
                      KU("offset", UINT64_MAX) };
    ck_assert_int_eq(decode_kvs(k, NKV(k), &req, msg, sizeof msg), 0);
    ck_assert_uint_eq(req.length, UINT64_MAX);
    ck_assert_uint_eq(req.offset, UINT64_MAX); /* range is the daemon's job */
  }
}
END_TEST

START_TEST(test_decode_unknown_and_duplicate_keys) {
  struct proto_request req;
  char msg[PROTO_MSG_MAX];

  {
    /* unknown keys, of any type, and keys the op does not use: ignored */
    struct kv k[] = { KU("id", 1),     KS("future", "x"),         KS("op", "stat"), KA("list"),
                      KS("name", "s"), KS("size", "not checked"), KM("nested") };
    ck_assert_int_eq(decode_kvs(k, NKV(k), &req, msg, sizeof msg), 0);
    ck_assert_str_eq(req.name, "s");
    ck_assert_uint_eq(req.fields, PROTO_F_NAME);
  }
  {
    struct kv k[] = { KU("id", 1), KS("op", "stat"), KS("name", "a"), KS("name", "b") };
    ck_assert_int_eq(decode_kvs(k, NKV(k), &req, msg, sizeof msg), -EINVAL);
    ck_assert_str_eq(msg, "duplicate key \"name\"");
  }
  {
    struct kv k[] = { KU("id", 1), KS("op", "stat"), KS("op", "unlink"), KS("name", "a") };
    ck_assert_int_eq(decode_kvs(k, NKV(k), &req, msg, sizeof msg), -EINVAL);
  }
  {
    struct kv k[] = { KU("id", 1), KU("id", 2), KS("op", "status") };
    ck_assert_int_eq(decode_kvs(k, NKV(k), &req, msg, sizeof msg), -EINVAL);
    ck_assert_uint_eq(req.id, 1);
  }
  {
    /* non-string keys are ignored */
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_uint64(&pk, 5);
    msgpack_pack_nil(&pk);
    msgpack_pack_nil(&pk);
    msgpack_pack_str_with_body(&pk, "op", 2);
    msgpack_pack_str_with_body(&pk, "status", 6);
    ck_assert_int_eq(proto_request_decode(sb.data, sb.size, &req, msg, sizeof msg), 0);
    ck_assert_uint_eq(req.id, 5);
    ck_assert_int_eq(req.op, PROTO_OP_STATUS);
    msgpack_sbuffer_destroy(&sb);
  }
}
END_TEST

START_TEST(test_decode_bad_names) {
  static const char *const bad[] = { "",    ".",     ".hidden",     "a/b", "../etc",
                                     "a b", "tab\t", "caf\xc3\xa9", "x*",  "semi;colon" };
  struct proto_request req;
  char msg[PROTO_MSG_MAX], longname[PROTO_NAME_MAX + 2];
  static const char *const ops[] = { "create", "open", "stat", "unlink", "resize" };
  struct kv k[16];
  size_t i, j, n;

  for (j = 0; j < NKV(ops); j++) {
    for (i = 0; i < NKV(bad); i++) {
      fill_valid(ops[j], k, &n);
      set_kv(k, &n, (struct kv)KS("name", bad[i]));
      ck_assert_int_eq(decode_kvs(k, n, &req, msg, sizeof msg), -EINVAL);
      ck_assert_msg(strncmp(msg, "invalid segment name", 20) == 0, "%s", msg);
    }
    /* 201 characters: refused, not truncated */
    memset(longname, 'a', PROTO_NAME_MAX + 1);
    longname[PROTO_NAME_MAX + 1] = '\0';
    fill_valid(ops[j], k, &n);
    set_kv(k, &n, (struct kv)KS("name", longname));
    ck_assert_int_eq(decode_kvs(k, n, &req, msg, sizeof msg), -EINVAL);
    /* 200 is fine */
    longname[PROTO_NAME_MAX] = '\0';
    set_kv(k, &n, (struct kv)KS("name", longname));
    ck_assert_int_eq(decode_kvs(k, n, &req, msg, sizeof msg), 0);
    ck_assert_str_eq(req.name, longname);
    /* an embedded NUL must not smuggle a valid prefix through */
    set_kv(k, &n, (struct kv)KX("name", "ok\0/../x", 9));
    ck_assert_int_eq(decode_kvs(k, n, &req, msg, sizeof msg), -EINVAL);
  }
  /* list "after": "" or a valid name */
  {
    struct kv k2[] = { KU("id", 1), KS("op", "list"), KS("after", ".x") };
    ck_assert_int_eq(decode_kvs(k2, NKV(k2), &req, msg, sizeof msg), -EINVAL);
    k2[2] = (struct kv)KS("after", "");
    ck_assert_int_eq(decode_kvs(k2, NKV(k2), &req, msg, sizeof msg), 0);
    ck_assert(req.fields & PROTO_F_AFTER);
    k2[2] = (struct kv)KS("after", "b-2");
    ck_assert_int_eq(decode_kvs(k2, NKV(k2), &req, msg, sizeof msg), 0);
    ck_assert_str_eq(req.after, "b-2");
  }
}
END_TEST

/* ---- response decoding errors ---- */

/* Re-encode a response map of an op with key `drop` removed or replaced by
 * a string, at the top level or inside the body map `inner`. */
static int resp_mutated(enum proto_op op, const char *inner, const char *key, bool retype) {
  struct proto_response in, out;
  msgpack_sbuffer sb, sb2;
  msgpack_packer pk;
  msgpack_unpacked u;
  msgpack_object *top;
  size_t off = 0;
  uint32_t i, j;
  int rc;

  memset(&in, 0, sizeof in);
  in.id = 1;
  in.op = op;
  if (proto_ops[op].reply != NULL)
    fill_msg(proto_ops[op].reply, &in, TYPICAL, 0); /* bools true: on the wire */
  msgpack_sbuffer_init(&sb);
  ck_assert_int_eq(proto_response_encode(&in, FMAX, &sb), 0);
  msgpack_unpacked_init(&u);
  ck_assert_int_eq(msgpack_unpack_next(&u, sb.data + 4, sb.size - 4, &off), MSGPACK_UNPACK_SUCCESS);
  top = &u.data;
  msgpack_object *m = top;
  if (inner != NULL) {
    m = NULL;
    for (i = 0; i < top->via.map.size; i++) {
      msgpack_object *k = &top->via.map.ptr[i].key;
      if (k->via.str.size == strlen(inner) && !memcmp(k->via.str.ptr, inner, k->via.str.size))
        m = &top->via.map.ptr[i].val;
    }
    ck_assert_ptr_nonnull(m);
    if (m->type == MSGPACK_OBJECT_ARRAY) /* list: the first segment */
      m = &m->via.array.ptr[0];
  }
  for (j = 0; j < m->via.map.size; j++) {
    msgpack_object *k = &m->via.map.ptr[j].key;
    if (k->via.str.size == strlen(key) && !memcmp(k->via.str.ptr, key, k->via.str.size)) {
      if (retype) {
        /* negative numbers for strings, strings for everything else */
        if (m->via.map.ptr[j].val.type == MSGPACK_OBJECT_STR) {
          m->via.map.ptr[j].val.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
          m->via.map.ptr[j].val.via.i64 = -1;
        } else {
          m->via.map.ptr[j].val.type = MSGPACK_OBJECT_STR;
          m->via.map.ptr[j].val.via.str.ptr = "x";
          m->via.map.ptr[j].val.via.str.size = 1;
        }
      } else {
        k->via.str.ptr = "zzz-unknown"; /* the key is gone */
        k->via.str.size = 11;
      }
      break;
    }
  }
  ck_assert_msg(j < m->via.map.size, "no key %s", key);
  msgpack_sbuffer_init(&sb2);
  msgpack_packer_init(&pk, &sb2, msgpack_sbuffer_write);
  msgpack_pack_object(&pk, *top);
  rc = proto_response_decode(sb2.data, sb2.size, op, &out);
  if (rc == 0)
    proto_response_free(&out);
  else
    ck_assert_ptr_null(op == PROTO_OP_LIST ? out.u.list.items : NULL);
  msgpack_unpacked_destroy(&u);
  msgpack_sbuffer_destroy(&sb);
  msgpack_sbuffer_destroy(&sb2);
  if (proto_ops[op].reply != NULL)
    sample_free(proto_ops[op].reply, &in);
  return rc;
}

/* Every key an answer must carry, from the tables: dropped or retyped, at
 * the top level or inside its map (an array's first item), the answer is
 * -EPROTO. Optional fields may be missing but not retyped. */
START_TEST(test_resp_decode_malformed) {
  size_t i, j, n = 0;
  int op, retype, rc;

  for (retype = 0; retype < 2; retype++) {
    for (op = PROTO_OP_NONE + 1; op < PROTO_OP_COUNT_; op++) {
      const struct proto_msg *body = proto_ops[op].reply;

      for (i = 0; body != NULL && i < body->nfields; i++) {
        const struct proto_field *f = &body->fields[i];

        if (!retype && (f->flags & PROTO_FIELD_OPTIONAL))
          continue;
        rc = resp_mutated((enum proto_op)op, NULL, f->key, retype);
        ck_assert_msg(rc == -EPROTO, "%s: %s %d: %d", proto_op_name(op), f->key, retype, rc);
        n++;
        for (j = 0; f->sub != NULL && j < f->sub->nfields; j++) {
          const struct proto_field *g = &f->sub->fields[j];

          if (!retype && (g->flags & PROTO_FIELD_OPTIONAL))
            continue;
          rc = resp_mutated((enum proto_op)op, f->key, g->key, retype);
          ck_assert_msg(rc == -EPROTO, "%s: %s.%s %d: %d", proto_op_name(op), f->key, g->key,
                        retype, rc);
          n++;
        }
      }
    }
    ck_assert_int_eq(resp_mutated(PROTO_OP_UNLINK, NULL, "id", retype), -EPROTO);
    ck_assert_int_eq(resp_mutated(PROTO_OP_RELEASE, NULL, "ok", retype), -EPROTO);
  }
  ck_assert_uint_gt(n, 100); /* the tables were walked */
}
END_TEST

/* ---- the tables themselves ---- */

/* Every op named, found by its name, needing only what it uses; request
 * bits unique; keys unique in each message; offsets inside the struct. */
static void check_msg_table(const struct proto_msg *m) {
  size_t i, j;

  ck_assert_uint_gt(m->nfields, 0);
  for (i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];

    ck_assert_ptr_nonnull(f->key);
    ck_assert_uint_eq(f->klen, strlen(f->key)); /* what is compared and written */
    ck_assert_uint_le(f->offset + f->size, m->size);
    if (f->type == PROTO_T_UINT)
      ck_assert(f->size == 4 || f->size == 8);
    if (f->type == PROTO_T_MAP || f->type == PROTO_T_ARRAY) {
      ck_assert_ptr_nonnull(f->sub);
      check_msg_table(f->sub);
    }
    for (j = i + 1; j < m->nfields; j++)
      ck_assert_msg(strcmp(f->key, m->fields[j].key) != 0, "%s: key %s twice", m->name, f->key);
  }
}

START_TEST(test_tables) {
  uint32_t all = 0, used = 0;
  size_t i;
  int op;

  for (op = PROTO_OP_NONE + 1; op < PROTO_OP_COUNT_; op++) {
    const struct proto_op_info *oi = proto_op_info((enum proto_op)op);

    ck_assert_ptr_nonnull(oi);
    ck_assert_ptr_nonnull(oi->name);
    ck_assert_int_eq(proto_op_lookup(oi->name, strlen(oi->name)), op);
    ck_assert_uint_eq(oi->needs & ~oi->uses, 0);
    used |= oi->uses;
    if (oi->reply != NULL)
      check_msg_table(oi->reply);
  }
  ck_assert_ptr_null(proto_op_info(PROTO_OP_NONE));
  ck_assert_ptr_null(proto_op_info(PROTO_OP_COUNT_));
  check_msg_table(&proto_request_msg);
  for (i = 0; i < proto_request_msg.nfields; i++) {
    uint32_t bit = proto_request_msg.fields[i].bit;

    ck_assert_msg(bit != 0 && (bit & (bit - 1)) == 0, "%s", proto_request_msg.fields[i].key);
    ck_assert_uint_eq(all & bit, 0);
    all |= bit;
    ck_assert(strcmp(proto_request_msg.fields[i].key, "id") != 0 &&
              strcmp(proto_request_msg.fields[i].key, "op") != 0);
  }
  /* every argument belongs to some op, and every op's bit has a row */
  ck_assert_uint_eq(all, used);
  /* the largest segment entry: a 200-character name and its integers */
  ck_assert_uint_ge(proto_msg_max_size(&proto_segment_msg), PROTO_NAME_MAX + 100);
}
END_TEST

/* Every field of m equal in a and b (arrays item by item). */
static void assert_msg_eq(const struct proto_msg *m, const void *a, const void *b,
                          const char *what) {
  size_t i, j, na, nb;

  for (i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];
    const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;
    const char *ia, *ib;

    if (f->type == PROTO_T_MAP) {
      assert_msg_eq(f->sub, pa, pb, what);
    } else if (f->type == PROTO_T_ARRAY) {
      memcpy(&ia, pa, sizeof ia);
      memcpy(&ib, pb, sizeof ib);
      memcpy(&na, (const char *)a + f->count_offset, sizeof na);
      memcpy(&nb, (const char *)b + f->count_offset, sizeof nb);
      ck_assert_msg(na == nb, "%s: %s: %zu items, want %zu", what, f->key, nb, na);
      for (j = 0; j < na; j++)
        assert_msg_eq(f->sub, ia + j * f->sub->size, ib + j * f->sub->size, what);
    } else if (f->type == PROTO_T_STR || f->type == PROTO_T_NAME || f->type == PROTO_T_AFTER) {
      ck_assert_msg(strcmp(pa, pb) == 0, "%s: %s: \"%s\" != \"%s\"", what, f->key, pb, pa);
    } else {
      ck_assert_msg(memcmp(pa, pb, f->size) == 0, "%s: %s differs", what, f->key);
    }
  }
}

/* Every op's request, with typical and with largest values in every
 * argument the op uses, and with only what it needs: comes back the same,
 * with `fields` saying what was written. */
START_TEST(test_req_roundtrip_tables) {
  struct proto_request in, out, bare;
  char msg[PROTO_MSG_MAX];
  int op, variant;
  size_t i;

  /* the defaults: what a request without arguments decodes to */
  {
    struct kv k[] = { KU("id", 1), KS("op", "status") };
    ck_assert_int_eq(decode_kvs(k, 2, &bare, msg, sizeof msg), 0);
  }
  for (op = PROTO_OP_NONE + 1; op < PROTO_OP_COUNT_; op++) {
    const struct proto_op_info *oi = proto_op_info((enum proto_op)op);

    for (variant = 0; variant < 3; variant++) {
      uint32_t written = 0;

      memset(&in, 0, sizeof in);
      fill_msg(&proto_request_msg, &in, variant == 1 ? LARGEST : TYPICAL, (unsigned)op);
      in.id = variant == 1 ? UINT64_MAX : (uint64_t)op;
      in.op = (enum proto_op)op;
      for (i = 0; i < proto_request_msg.nfields; i++) {
        const struct proto_field *f = &proto_request_msg.fields[i];

        if (variant == 2 && !(oi->needs & f->bit)) /* only what it needs */
          memcpy((char *)&in + f->offset, (char *)&bare + f->offset, f->size);
        if (!(oi->uses & f->bit)) /* what the op does not use decodes as default */
          memcpy((char *)&in + f->offset, (char *)&bare + f->offset, f->size);
        if ((oi->uses & f->bit) &&
            (!(f->flags & PROTO_FIELD_OPTIONAL) || !proto_field_at_default(f, &in)))
          written |= f->bit;
      }
      req_roundtrip(&in, &out);
      ck_assert_uint_eq(out.id, in.id);
      ck_assert_int_eq(out.op, op);
      assert_msg_eq(&proto_request_msg, &in, &out, oi->name);
      ck_assert_uint_eq(out.fields, written);
    }
  }
}
END_TEST

/* For every op and every argument it needs: without it, -EINVAL naming
 * it; for every argument it uses: twice, -EINVAL; of the wrong type,
 * -EINVAL saying what it must be. */
START_TEST(test_req_decode_tables) {
  struct proto_request in, req;
  char msg[PROTO_MSG_MAX], want[96];
  msgpack_unpacked u;
  msgpack_sbuffer sb, sb2;
  msgpack_packer pk;
  size_t off, i, j, n;
  int op, mode, rc;

  for (op = PROTO_OP_NONE + 1; op < PROTO_OP_COUNT_; op++) {
    const struct proto_op_info *oi = proto_op_info((enum proto_op)op);

    memset(&in, 0, sizeof in);
    fill_msg(&proto_request_msg, &in, TYPICAL, 0);
    in.id = 9;
    in.op = (enum proto_op)op;
    for (i = 0; i < proto_request_msg.nfields; i++) {
      const struct proto_field *f = &proto_request_msg.fields[i];

      if (!(oi->uses & f->bit))
        continue;
      for (mode = 0; mode < 3; mode++) { /* drop, duplicate, retype */
        if (mode == 0 && !(oi->needs & f->bit))
          continue;
        msgpack_sbuffer_init(&sb);
        ck_assert_int_eq(proto_request_encode(&in, FMAX, &sb), 0);
        msgpack_unpacked_init(&u);
        off = 0;
        ck_assert_int_eq(msgpack_unpack_next(&u, sb.data + 4, sb.size - 4, &off),
                         MSGPACK_UNPACK_SUCCESS);
        msgpack_sbuffer_init(&sb2);
        msgpack_packer_init(&pk, &sb2, msgpack_sbuffer_write);
        n = u.data.via.map.size;
        msgpack_pack_map(&pk, n + (mode == 1));
        for (j = 0; j < n; j++) {
          msgpack_object k = u.data.via.map.ptr[j].key, v = u.data.via.map.ptr[j].val;
          bool hit =
              k.via.str.size == strlen(f->key) && !memcmp(k.via.str.ptr, f->key, k.via.str.size);

          if (hit && mode == 0) {
            k.via.str.ptr = "zzz-unknown";
            k.via.str.size = 11;
          }
          if (hit && mode == 2) {
            if (v.type == MSGPACK_OBJECT_STR) {
              v.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
              v.via.i64 = -1;
            } else {
              v.type = MSGPACK_OBJECT_STR;
              v.via.str.ptr = "x";
              v.via.str.size = 1;
            }
          }
          msgpack_pack_object(&pk, k);
          msgpack_pack_object(&pk, v);
          if (hit && mode == 1) {
            msgpack_pack_object(&pk, k);
            msgpack_pack_object(&pk, v);
          }
        }
        rc = proto_request_decode(sb2.data, sb2.size, &req, msg, sizeof msg);
        ck_assert_msg(rc == -EINVAL, "%s %s mode %d: %d", oi->name, f->key, mode, rc);
        ck_assert_uint_eq(req.id, 9);
        if (mode == 0)
          snprintf(want, sizeof want, "missing required field \"%s\"", f->key);
        else if (mode == 1)
          snprintf(want, sizeof want, "duplicate key \"%s\"", f->key);
        else
          snprintf(want, sizeof want, "\"%s\" must be", f->key);
        ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "%s %s: \"%s\", want \"%s\"", oi->name,
                      f->key, msg, want);
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&sb);
        msgpack_sbuffer_destroy(&sb2);
      }
    }
  }
}
END_TEST

/* Every op's answer, typical and largest, round-trips field by field. */
START_TEST(test_resp_roundtrip_tables) {
  struct proto_response in, out;
  int op, variant;

  for (op = PROTO_OP_NONE + 1; op < PROTO_OP_COUNT_; op++) {
    const struct proto_msg *body = proto_ops[op].reply;

    for (variant = 0; variant < 2; variant++) {
      memset(&in, 0, sizeof in);
      in.id = (uint64_t)op;
      in.op = (enum proto_op)op;
      if (body != NULL)
        fill_msg(body, &in, variant ? LARGEST : TYPICAL, (unsigned)op);
      resp_roundtrip(&in, &out);
      ck_assert_uint_eq(out.id, in.id);
      ck_assert_int_eq(out.err, 0);
      if (body != NULL)
        assert_msg_eq(body, &in, &out, proto_op_name(op));
      proto_response_free(&out);
      if (body != NULL)
        sample_free(body, &in);
    }
  }
}
END_TEST

START_TEST(test_resp_decode_bad_envelope) {
  struct proto_response out;
  struct proto_request req;
  char msg[PROTO_MSG_MAX];
  msgpack_sbuffer sb;
  msgpack_packer pk;

  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  {
    struct kv k[] = { KU("id", 1), KB("ok", 0) };
    pack_kvs(&pk, k, 2);
    ck_assert_int_eq(proto_response_decode(sb.data, sb.size, PROTO_OP_UNLINK, &out), -EPROTO);
  }
  sb.size = 0;
  {
    struct kv k[] = { KU("id", 1) }; /* neither ok nor err */
    pack_kvs(&pk, k, 1);
    ck_assert_int_eq(proto_response_decode(sb.data, sb.size, PROTO_OP_UNLINK, &out), -EPROTO);
  }
  sb.size = 0;
  {
    struct kv k[] = { KU("id", 1), KU("err", 2) }; /* err not a map */
    pack_kvs(&pk, k, 2);
    ck_assert_int_eq(proto_response_decode(sb.data, sb.size, PROTO_OP_UNLINK, &out), -EPROTO);
  }
  /* err maps: code 0, code missing, msg missing, msg not a string */
  static const struct kv errs[][2] = {
    { KU("code", 0), KS("msg", "m") },  { KU("cod", 2), KS("msg", "m") },
    { KU("code", 2), KS("mgs", "m") },  { KU("code", 2), KU("msg", 1) },
    { KI("code", -2), KS("msg", "m") }, { KU("code", UINT64_C(1) << 40), KS("msg", "m") },
  };
  for (size_t i = 0; i < NKV(errs); i++) {
    sb.size = 0;
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "err", 3);
    pack_kvs(&pk, errs[i], 2);
    ck_assert_msg(proto_response_decode(sb.data, sb.size, PROTO_OP_STAT, &out) == -EPROTO,
                  "err case %zu", i);
  }
  /* a request is not a response; a response is not a request */
  sb.size = 0;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_STATUS;
  ck_assert_int_eq(proto_request_encode(&req, FMAX, &sb), 0);
  ck_assert_int_eq(proto_response_decode(sb.data + 4, sb.size - 4, PROTO_OP_STATUS, &out), -EPROTO);
  {
    static const uint8_t arr[] = { 0x90 };
    ck_assert_int_eq(proto_response_decode(arr, sizeof arr, PROTO_OP_STATUS, &out), -EPROTO);
    ck_assert_int_eq(proto_response_decode(arr, 0, PROTO_OP_STATUS, &out), -EPROTO);
  }
  {
    struct proto_response in;
    memset(&in, 0, sizeof in);
    in.op = PROTO_OP_UNLINK;
    sb.size = 0;
    ck_assert_int_eq(proto_response_encode(&in, FMAX, &sb), 0);
    ck_assert_int_eq(proto_request_decode(sb.data + 4, sb.size - 4, &req, msg, sizeof msg),
                     -EINVAL); /* no "op" */
  }
  msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_resp_decode_bad_values) {
  /* values of the right type but out of their range are -EPROTO too */
  struct proto_response in, out;
  msgpack_sbuffer sb;

  msgpack_sbuffer_init(&sb);
  memset(&in, 0, sizeof in);
  in.op = PROTO_OP_STAT;
  fill_segment(&in.u.segment, 0);
  in.u.segment.created_nsec = 1000000000u; /* not a fraction of a second */
  ck_assert_int_eq(proto_response_encode(&in, FMAX, &sb), 0);
  ck_assert_int_eq(proto_response_decode(sb.data + 4, sb.size - 4, PROTO_OP_STAT, &out), -EPROTO);
  sb.size = 0;
  fill_segment(&in.u.segment, 0);
  strcpy(in.u.segment.name, ".bad");
  ck_assert_int_eq(proto_response_encode(&in, FMAX, &sb), 0);
  ck_assert_int_eq(proto_response_decode(sb.data + 4, sb.size - 4, PROTO_OP_STAT, &out), -EPROTO);
  msgpack_sbuffer_destroy(&sb);

  /* a server string of 32 bytes does not fit */
  {
    msgpack_packer pk;
    char s[32];
    memset(s, 's', sizeof s);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "ok", 2);
    msgpack_pack_true(&pk);
    msgpack_pack_str_with_body(&pk, "version", 7);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "server", 6);
    msgpack_pack_str_with_body(&pk, s, sizeof s);
    msgpack_pack_str_with_body(&pk, "frame_max", 9);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "name_max", 8);
    msgpack_pack_uint64(&pk, 1);
    ck_assert_int_eq(proto_response_decode(sb.data, sb.size, PROTO_OP_HELLO, &out), -EPROTO);
    msgpack_sbuffer_destroy(&sb);
  }
}
END_TEST

/* ---- socket I/O ---- */

START_TEST(test_send_recv_fd) {
  int sv[2], tmp, got = -2;
  char buf[64];
  struct stat a, b;
  char path[] = "/tmp/test-proto-XXXXXX";

  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  tmp = mkstemp(path);
  ck_assert_int_ge(tmp, 0);
  unlink(path);

  ck_assert_int_eq(proto_send(sv[0], "frame-bytes", 11, tmp), 11);
  ck_assert_int_eq(proto_recv(sv[1], buf, sizeof buf, &got), 11);
  ck_assert(memcmp(buf, "frame-bytes", 11) == 0);
  ck_assert_int_ge(got, 0);
  ck_assert_int_ne(got, tmp);
  ck_assert_int_eq(fstat(tmp, &a), 0);
  ck_assert_int_eq(fstat(got, &b), 0);
  ck_assert_uint_eq(a.st_ino, b.st_ino);
  ck_assert_uint_eq(a.st_dev, b.st_dev);
  ck_assert(fcntl(got, F_GETFD) & FD_CLOEXEC);
  close(got);

  /* no fd: *fd = -1 */
  ck_assert_int_eq(proto_send(sv[0], "x", 1, -1), 1);
  ck_assert_int_eq(proto_recv(sv[1], buf, sizeof buf, &got), 1);
  ck_assert_int_eq(got, -1);

  /* an fd needs a byte to ride on */
  ck_assert_int_eq(proto_send(sv[0], "", 0, tmp), -EINVAL);
  /* a bad fd is refused by the kernel */
  ck_assert_int_eq(proto_send(sv[0], "x", 1, 9999), -EBADF);

  /* EOF */
  close(sv[0]);
  ck_assert_int_eq(proto_recv(sv[1], buf, sizeof buf, &got), 0);
  ck_assert_int_eq(got, -1);
  close(sv[1]);
  close(tmp);

  /* errors are -errno */
  ck_assert_int_eq(proto_recv(-1, buf, sizeof buf, &got), -EBADF);
  ck_assert_int_eq(proto_send(-1, "x", 1, -1), -EBADF);
}
END_TEST

/* Two frames in one send with a descriptor (as the daemon sends a
 * release's answer and an open's): the reader gives the descriptor to the
 * last frame starting among the bytes it came with, the second. */
START_TEST(test_sendv_fd_goes_to_last_frame) {
  int sv[2], tmp;
  uint8_t h1[PROTO_HEADER_SIZE], h2[PROTO_HEADER_SIZE];
  struct proto_reader r;
  struct proto_frame f;
  char path[] = "/tmp/test-proto-XXXXXX";

  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  tmp = mkstemp(path);
  ck_assert_int_ge(tmp, 0);
  unlink(path);
  proto_frame_header(h1, 3);
  proto_frame_header(h2, 4);
  struct iovec iov[4] = { { h1, sizeof h1 }, { "one", 3 }, { h2, sizeof h2 }, { "four", 4 } };
  ck_assert_int_eq(proto_sendv(sv[0], iov, 4, tmp), 2 * PROTO_HEADER_SIZE + 7);

  proto_reader_init(&r, 1024, true);
  ck_assert_int_gt(proto_reader_read(&r, sv[1]), 0);
  ck_assert_int_eq(proto_reader_get(&r, &f), 1);
  ck_assert_uint_eq(f.len, 3);
  ck_assert_int_eq(f.fd, -1);
  ck_assert_int_eq(proto_reader_get(&r, &f), 1);
  ck_assert_uint_eq(f.len, 4);
  ck_assert(memcmp(f.payload, "four", 4) == 0);
  ck_assert_int_ge(f.fd, 0);
  close(f.fd);
  proto_reader_free(&r);
  close(tmp);
  close(sv[0]);
  close(sv[1]);
}
END_TEST

START_TEST(test_send_epipe_no_signal) {
  int sv[2];

  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  close(sv[1]);
  /* MSG_NOSIGNAL: -EPIPE rather than death by SIGPIPE */
  ck_assert_int_eq(proto_send(sv[0], "x", 1, -1), -EPIPE);
  close(sv[0]);
}
END_TEST

/* Send n descriptors on one byte, as a hostile peer might. */
static void send_fds(int sock, const int *fds, size_t n) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * 64)];
  } ctl;
  struct msghdr msg;
  struct iovec iov;
  struct cmsghdr *cm;

  memset(&msg, 0, sizeof msg);
  memset(&ctl, 0, sizeof ctl);
  iov.iov_base = "z";
  iov.iov_len = 1;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
  cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
  memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
  ck_assert_int_eq(sendmsg(sock, &msg, 0), 1);
}

START_TEST(test_recv_closes_extra_fds) {
  int sv[2], fds[40], before, got;
  size_t i;
  char c;

  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  for (i = 0; i < 40; i++)
    fds[i] = sv[0]; /* any descriptor will do; each arrives as a new one */
  before = count_fds();

  /* three fds: keep the first, close the other two */
  send_fds(sv[0], fds, 3);
  ck_assert_int_eq(proto_recv(sv[1], &c, 1, &got), 1);
  ck_assert_int_ge(got, 0);
  ck_assert_int_eq(count_fds(), before + 1);
  close(got);
  ck_assert_int_eq(count_fds(), before);

  /* fd == NULL: close them all */
  send_fds(sv[0], fds, 3);
  ck_assert_int_eq(proto_recv(sv[1], &c, 1, NULL), 1);
  ck_assert_int_eq(count_fds(), before);

  /* more than fit in our control buffer (MSG_CTRUNC): none kept */
  send_fds(sv[0], fds, 40);
  ck_assert_int_eq(proto_recv(sv[1], &c, 1, &got), 1);
  ck_assert_int_eq(got, -1);
  ck_assert_int_eq(count_fds(), before);

  close(sv[0]);
  close(sv[1]);
}
END_TEST

START_TEST(test_send_recv_frames) {
  /* a whole encoded response with an fd, through the reader's read + get */
  struct proto_response in, out;
  struct proto_reader r;
  struct proto_frame f;
  msgpack_sbuffer sb;
  int sv[2];

  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  memset(&in, 0, sizeof in);
  in.id = 12;
  in.op = PROTO_OP_OPEN;
  strcpy(in.u.view.name, "v");
  in.u.view.length = 10;
  msgpack_sbuffer_init(&sb);
  ck_assert_int_eq(proto_response_encode(&in, FMAX, &sb), 0);
  ck_assert_int_eq(proto_send(sv[0], sb.data, sb.size, sv[0]), (ssize_t)sb.size);
  proto_reader_init(&r, FMAX, true);
  while (proto_reader_get(&r, &f) == 0)
    ck_assert_int_gt(proto_reader_read(&r, sv[1]), 0);
  ck_assert_int_ge(f.fd, 0);
  ck_assert_int_eq(proto_response_decode(f.payload, f.len, PROTO_OP_OPEN, &out), 0);
  ck_assert_uint_eq(out.id, 12);
  ck_assert_uint_eq(out.u.view.length, 10);
  close(f.fd);
  proto_reader_free(&r);
  msgpack_sbuffer_destroy(&sb);
  close(sv[0]);
  close(sv[1]);
}
END_TEST

START_TEST(test_reader_fd_follows_its_frame) {
  /* Frames without descriptors around one with: whatever the reads take
   * in at once, the descriptor comes out with its own frame. */
  uint8_t a[16], b[16], c[16];
  size_t na = make_frame(a, "first"), nb = make_frame(b, "second"), nc = make_frame(c, "third");
  struct proto_reader r;
  struct proto_frame f;
  struct stat st1, st2;
  int sv[2], tmp, before = count_fds();

  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  tmp = open("/dev/null", O_RDONLY);
  ck_assert_int_ge(tmp, 0);
  ck_assert_int_eq(proto_send(sv[0], a, na, -1), (ssize_t)na);
  ck_assert_int_eq(proto_send(sv[0], b, 3, tmp), 3); /* the fd on its first byte */
  ck_assert_int_eq(proto_send(sv[0], b + 3, nb - 3, -1), (ssize_t)(nb - 3));
  ck_assert_int_eq(proto_send(sv[0], c, nc, -1), (ssize_t)nc);
  proto_reader_init(&r, FMAX, true);
  while (proto_reader_get(&r, &f) == 0)
    ck_assert_int_gt(proto_reader_read(&r, sv[1]), 0);
  ck_assert(f.len == 5 && memcmp(f.payload, "first", 5) == 0);
  ck_assert_int_eq(f.fd, -1);
  while (proto_reader_get(&r, &f) == 0)
    ck_assert_int_gt(proto_reader_read(&r, sv[1]), 0);
  ck_assert(f.len == 6 && memcmp(f.payload, "second", 6) == 0);
  ck_assert_int_ge(f.fd, 0);
  ck_assert_int_eq(fstat(f.fd, &st1), 0);
  ck_assert_int_eq(fstat(tmp, &st2), 0);
  ck_assert(st1.st_ino == st2.st_ino && st1.st_dev == st2.st_dev);
  close(f.fd);
  while (proto_reader_get(&r, &f) == 0)
    ck_assert_int_gt(proto_reader_read(&r, sv[1]), 0);
  ck_assert(f.len == 5 && memcmp(f.payload, "third", 5) == 0);
  ck_assert_int_eq(f.fd, -1);

  /* Without keep_fds, and for a descriptor on no frame's first byte, the
   * reader closes what arrives; free() closes what was never taken. */
  proto_reader_free(&r);
  proto_reader_init(&r, FMAX, false);
  ck_assert_int_eq(proto_send(sv[0], a, na, tmp), (ssize_t)na);
  while (proto_reader_get(&r, &f) == 0)
    ck_assert_int_gt(proto_reader_read(&r, sv[1]), 0);
  ck_assert_int_eq(f.fd, -1);
  proto_reader_free(&r);
  proto_reader_init(&r, FMAX, true);
  ck_assert_int_eq(proto_send(sv[0], a, 2, -1), 2);
  ck_assert_int_gt(proto_reader_read(&r, sv[1]), 0);
  ck_assert_int_eq(proto_send(sv[0], a + 2, 2, tmp), 2); /* mid-header */
  ck_assert_int_gt(proto_reader_read(&r, sv[1]), 0);
  ck_assert_int_eq(proto_send(sv[0], b, nb, tmp), (ssize_t)nb); /* never taken */
  ck_assert_int_gt(proto_reader_read(&r, sv[1]), 0);
  proto_reader_free(&r);
  close(tmp);
  close(sv[0]);
  close(sv[1]);
  ck_assert_int_eq(count_fds(), before);
}
END_TEST

START_TEST(test_reader_sized_to_what_is_buffered) {
  /* A header announcing a maximal frame with ten bytes behind it costs a
   * small buffer; a large frame's buffer is freed once it is taken. */
  struct proto_reader r;
  uint8_t *big = calloc(1, PROTO_HEADER_SIZE + FMAX);
  const uint8_t *pl;
  size_t len;

  ck_assert_ptr_nonnull(big);
  proto_frame_header(big, FMAX);
  proto_reader_init(&r, FMAX, false);
  feed(&r, big, PROTO_HEADER_SIZE + 10);
  ck_assert_uint_le(r.cap, PROTO_READER_KEEP);
  feed(&r, big + PROTO_HEADER_SIZE + 10, FMAX / 2);
  ck_assert_uint_le(r.cap, 2 * (PROTO_HEADER_SIZE + 10 + FMAX / 2));
  feed(&r, big + PROTO_HEADER_SIZE + 10 + FMAX / 2, FMAX - 10 - FMAX / 2);
  ck_assert_uint_le(r.cap, PROTO_HEADER_SIZE + FMAX);
  ck_assert_int_eq(reader_next(&r, &pl, &len), 1);
  ck_assert_uint_eq(len, FMAX);
  ck_assert_int_eq(reader_next(&r, &pl, &len), 0);
  ck_assert_uint_eq(r.cap, 0);
  ck_assert_ptr_null(r.buf);
  proto_reader_free(&r);
  free(big);
}
END_TEST

/* ---- socket path ---- */

static void check_path(const char *explicit_path, const char *want) {
  char buf[256];

  ck_assert_int_eq(proto_socket_path(explicit_path, buf, sizeof buf), 0);
  ck_assert_str_eq(buf, want);
}

/* The euid-dependent part, checked as a non-root uid in a child when we
 * are root (and directly otherwise). */
static int path_as_user(void) {
  char want[64], buf[256];

  if (geteuid() == 0 && setuid(65534) != 0)
    return 10;
  unsetenv("SHMVIEW_SOCKET");
  setenv("XDG_RUNTIME_DIR", "/run/user/77", 1);
  if (proto_socket_path(NULL, buf, sizeof buf) != 0 ||
      strcmp(buf, "/run/user/77/shmview.sock") != 0)
    return 1;
  setenv("XDG_RUNTIME_DIR", "", 1); /* empty: ignored */
  snprintf(want, sizeof want, "/tmp/shmview-%lu/shmview.sock", (unsigned long)getuid());
  if (proto_socket_path(NULL, buf, sizeof buf) != 0 || strcmp(buf, want) != 0)
    return 2;
  unsetenv("XDG_RUNTIME_DIR");
  if (proto_socket_path(NULL, buf, sizeof buf) != 0 || strcmp(buf, want) != 0)
    return 3;
  if (proto_socket_path(NULL, buf, 10) != -ENAMETOOLONG)
    return 4;
  setenv("SHMVIEW_SOCKET", "/x/y.sock", 1);
  if (proto_socket_path(NULL, buf, sizeof buf) != 0 || strcmp(buf, "/x/y.sock") != 0)
    return 5;
  return 0;
}

START_TEST(test_socket_path) {
  char buf[256], longp[200];
  pid_t pid;
  int st;

  unsetenv("SHMVIEW_SOCKET");
  unsetenv("XDG_RUNTIME_DIR");
  check_path("/explicit.sock", "/explicit.sock");
  setenv("SHMVIEW_SOCKET", "/from/env.sock", 1);
  check_path("/explicit.sock", "/explicit.sock"); /* explicit wins */
  check_path(NULL, "/from/env.sock");
  check_path("", "/from/env.sock"); /* empty explicit = not given */
  setenv("SHMVIEW_SOCKET", "", 1);  /* empty env = not set */
  setenv("XDG_RUNTIME_DIR", "/run/user/77", 1);
  if (geteuid() == 0)
    check_path(NULL, "/run/shmview/shmview.sock");

  /* too long for the buffer, or for sun_path */
  ck_assert_int_eq(proto_socket_path("/explicit.sock", buf, 5), -ENAMETOOLONG);
  ck_assert_int_eq(proto_socket_path("/explicit.sock", buf, 0), -ENAMETOOLONG);
  memset(longp, 'a', sizeof longp - 1);
  longp[0] = '/';
  longp[sizeof longp - 1] = '\0';
  ck_assert_int_eq(proto_socket_path(longp, buf, sizeof buf), -ENAMETOOLONG);
  longp[sizeof(((struct sockaddr_un *)0)->sun_path) - 1] = '\0'; /* 107 */
  ck_assert_int_eq(proto_socket_path(longp, buf, sizeof buf), 0);
  longp[sizeof(((struct sockaddr_un *)0)->sun_path) - 1] = 'a';
  longp[sizeof(((struct sockaddr_un *)0)->sun_path)] = '\0'; /* 108 */
  ck_assert_int_eq(proto_socket_path(longp, buf, sizeof buf), -ENAMETOOLONG);
  memset(longp, 'd', 100);
  longp[0] = '/';
  longp[100] = '\0';
  setenv("SHMVIEW_SOCKET", "", 1);
  unsetenv("SHMVIEW_SOCKET");

  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(path_as_user());
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "as user: status %d", WEXITSTATUS(st));
}
END_TEST

/* The fallback directory's rule, as a user may meet it: lstat, owner, mode. */
START_TEST(test_private_dir_check) {
  char dir[64], link[80], why[256];
  uid_t me = geteuid();

  snprintf(dir, sizeof dir, "/tmp/shmvt-private-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(proto_private_dir_check(dir, me, why, sizeof why), 0);

  /* Someone else's (as seen by another uid). */
  ck_assert_int_eq(proto_private_dir_check(dir, me + 1, why, sizeof why), -EPERM);
  char want[256];
  snprintf(want, sizeof want, "directory %s is owned by uid %u, not %u", dir, (unsigned)me,
           (unsigned)me + 1);
  ck_assert_str_eq(why, want);

  /* Open to others. */
  ck_assert_int_eq(chmod(dir, 0755), 0);
  ck_assert_int_eq(proto_private_dir_check(dir, me, why, sizeof why), -EPERM);
  ck_assert_msg(strstr(why, "has mode 0755, not 0700") != NULL, "%s", why);
  ck_assert_int_eq(chmod(dir, 0700), 0);

  /* A symbolic link to a good directory is not that directory. */
  snprintf(link, sizeof link, "%s-link", dir);
  ck_assert_int_eq(symlink(dir, link), 0);
  ck_assert_int_eq(proto_private_dir_check(link, me, why, sizeof why), -EPERM);
  snprintf(want, sizeof want, "%s is a symbolic link (owned by uid %u) to %s (owned by uid %u)",
           link, (unsigned)me, dir, (unsigned)me);
  ck_assert_msg(strstr(why, want) != NULL, "%s", why);
  unlink(link);

  /* Missing: the error, not a verdict. */
  ck_assert_int_eq(rmdir(dir), 0);
  ck_assert_int_eq(proto_private_dir_check(dir, me, why, sizeof why), -ENOENT);

  /* Where each path comes from. */
  char buf[128];
  unsetenv("SHMVIEW_SOCKET");
  ck_assert_int_eq(proto_socket_resolve("/x.sock", buf, sizeof buf), PROTO_SOCKET_EXPLICIT);
  setenv("SHMVIEW_SOCKET", "/y.sock", 1);
  ck_assert_int_eq(proto_socket_resolve(NULL, buf, sizeof buf), PROTO_SOCKET_ENV);
  unsetenv("SHMVIEW_SOCKET");
  ck_assert(!proto_secure_mode());
  proto_fallback_dir(60001, buf, sizeof buf);
  ck_assert_str_eq(buf, "/tmp/shmview-60001");
}
END_TEST

/* ---- fuzz ---- */

static uint64_t rng_state;

static uint64_t rnd(void) {
  /* xorshift64*: deterministic, seeded per test */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(2685821657736338717);
}

/* The fuzzers' properties (tests/fuzz/fuzz-common.h, which walks the
 * tables) on one payload: a violation aborts, failing the test. */
static void fuzz_one(const uint8_t *p, size_t n) {
  fuzz_payload(p, n, n % 48);
}

/* Feed bytes through a reader in random chunks and decode what comes out. */
static void fuzz_reader(const uint8_t *p, size_t n) {
  struct proto_reader r;
  const uint8_t *pl;
  size_t len;
  ssize_t k;
  int rc = 0;

  proto_reader_init(&r, PROTO_FRAME_MAX_MIN, false);
  while (n > 0 && rc >= 0) {
    k = proto_reader_feed(&r, p, 1 + rnd() % (n < 64 ? n : 64));
    if (k == -ENOBUFS)
      break;
    ck_assert_int_gt(k, 0);
    p += k;
    n -= (size_t)k;
    while ((rc = reader_next(&r, &pl, &len)) == 1) {
      ck_assert_uint_le(len, PROTO_FRAME_MAX_MIN);
      fuzz_one(pl, len);
    }
  }
  ck_assert_uint_le(r.cap, PROTO_HEADER_SIZE + PROTO_FRAME_MAX_MIN);
  proto_reader_free(&r);
}

/* A handful of valid frames (header included) to mutate. */
static size_t sample_frames(msgpack_sbuffer *sb, size_t *starts, size_t max) {
  static struct proto_segment items[3];
  struct proto_request req;
  struct proto_response resp;
  size_t n = 0;
  int op;

  for (op = PROTO_OP_HELLO; op < PROTO_OP_COUNT_ && n < max; op++) {
    memset(&req, 0, sizeof req);
    req.id = (uint64_t)op * 1000;
    req.op = (enum proto_op)op;
    strcpy(req.name, "seg.x");
    strcpy(req.after, "seg-a");
    req.size = 1u << 20;
    req.mode = 0644;
    req.length = op % 2 ? PROTO_TO_END : 17;
    starts[n++] = sb->size;
    ck_assert_int_eq(proto_request_encode(&req, FMAX, sb), 0);
  }
  for (op = PROTO_OP_NONE; op < PROTO_OP_COUNT_ && n < max; op++) {
    memset(&resp, 0, sizeof resp);
    resp.id = (uint64_t)op;
    resp.op = (enum proto_op)op;
    strcpy(resp.u.hello.server, "srv");
    if (op == PROTO_OP_LIST) {
      for (int i = 0; i < 3; i++)
        fill_segment(&items[i], (unsigned)i);
      resp.u.list.items = items;
      resp.u.list.count = 3;
      resp.u.list.more = true;
    } else if (proto_ops[op].reply != NULL &&
               proto_ops[op].reply == proto_ops[PROTO_OP_OPEN].reply) { /* a view */
      strcpy(resp.u.view.name, "v");
    } else if (op == PROTO_OP_STATUS) {
      strcpy(resp.u.status.server, "srv");
    } else if (op != PROTO_OP_HELLO) {
      fill_segment(&resp.u.segment, 7);
    }
    starts[n++] = sb->size;
    ck_assert_int_eq(proto_response_encode(&resp, FMAX, sb), 0);
  }
  if (n < max) {
    proto_response_error(&resp, 5, PROTO_OP_OPEN, ERANGE, "out of range");
    starts[n++] = sb->size;
    ck_assert_int_eq(proto_response_encode(&resp, FMAX, sb), 0);
  }
  return n;
}

/* An argument an op requires must be one the encoder always writes: an
 * optional field at its default is left out, and a decoder that then
 * required it would refuse the encoder's own frame (the fuzzer found
 * channel_open's flags so). */
START_TEST(test_required_arguments_are_written) {
  for (int op = PROTO_OP_HELLO; op < PROTO_OP_COUNT_; op++) {
    const struct proto_op_info *oi = &proto_ops[op];

    if (oi->name == NULL)
      continue;
    for (size_t i = 0; i < proto_request_msg.nfields; i++) {
      const struct proto_field *f = &proto_request_msg.fields[i];

      ck_assert_msg(!(oi->needs & f->bit) || !(f->flags & PROTO_FIELD_OPTIONAL),
                    "%s requires \"%s\", which the encoder leaves out at its default", oi->name,
                    f->key);
    }
  }
}
END_TEST

START_TEST(test_fuzz_random_bytes) {
  uint8_t buf[512];
  size_t n, i;
  int iter;

  rng_state = UINT64_C(0x9e3779b97f4a7c15);
  for (iter = 0; iter < 20000; iter++) {
    n = rnd() % sizeof buf;
    for (i = 0; i < n; i++)
      buf[i] = (uint8_t)rnd();
    /* bias towards maps so the decoders get past the first byte */
    if (n > 0 && iter % 2)
      buf[0] = (uint8_t)(0x80 | (buf[0] & 0x0f));
    fuzz_one(buf, n);
    if (iter % 8 == 0)
      fuzz_reader(buf, n);
  }
}
END_TEST

START_TEST(test_fuzz_mutations) {
  msgpack_sbuffer sb;
  size_t starts[64], nframes, f, len, i, k;
  uint8_t *buf;
  int iter;

  rng_state = UINT64_C(0x243f6a8885a308d3);
  msgpack_sbuffer_init(&sb);
  nframes = sample_frames(&sb, starts, 63); /* one left for the end */
  starts[nframes] = sb.size;
  buf = malloc(sb.size + 64);

  /* every frame unmutated decodes, through a reader, as a response or a
   * request */
  fuzz_reader((const uint8_t *)sb.data, sb.size);

  for (iter = 0; iter < 30000; iter++) {
    f = rnd() % nframes;
    len = starts[f + 1] - starts[f] - PROTO_HEADER_SIZE;
    memcpy(buf, sb.data + starts[f] + PROTO_HEADER_SIZE, len);
    k = 1 + rnd() % 4;
    for (i = 0; i < k; i++) {
      switch (rnd() % 6) {
      case 0: /* flip a bit */ buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8)); break;
      case 1: /* random byte */ buf[rnd() % len] = (uint8_t)rnd(); break;
      case 2: /* an interesting byte: type markers, lengths */
      {
        static const uint8_t v[] = { 0x00, 0x7f, 0x80, 0x8f, 0x90, 0xc0, 0xc1, 0xc2, 0xc3,
                                     0xcf, 0xd3, 0xd9, 0xdb, 0xdd, 0xdf, 0xff, 0xe0, 0xa0 };
        buf[rnd() % len] = v[rnd() % sizeof v];
      } break;
      case 3: /* truncate */ len = 1 + rnd() % len; break;
      case 4: /* append junk */
        if (len < sb.size + 60)
          buf[len++] = (uint8_t)rnd();
        break;
      default: /* duplicate a byte run */
      {
        size_t at = rnd() % len, run = 1 + rnd() % 8;
        if (at + run <= len && len + run <= sb.size + 64) {
          memmove(buf + at + run, buf + at, len - at);
          len += run;
        }
      } break;
      }
    }
    fuzz_one(buf, len);
  }

  /* whole streams of mutated frames (headers included) through a reader */
  for (iter = 0; iter < 300; iter++) {
    len = sb.size;
    memcpy(buf, sb.data, len);
    for (i = 0; i < 3; i++)
      buf[rnd() % len] = (uint8_t)rnd();
    fuzz_reader(buf, len);
  }
  free(buf);
  msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* ---- the records' description (record.c) ---- */

/* Every row of every record: a record part; wire and public members inside
 * their structs; public members in the struct's order, not overlapping;
 * public names and wire keys unique; a TIME row followed by its
 * nanoseconds (int32_t right after the int64_t seconds, as shmv_field
 * documents); stat lines numbered 1..N once each; a shared list column
 * made of adjacent rows... */
START_TEST(test_records_described) {
  for (int r = 0; r < PROTO_RECORD_COUNT_; r++) {
    const struct proto_msg *m = proto_records[r];
    size_t pub_end = 0, restricts = 0;
    int lines = 0, maxline = 0;

    ck_assert_ptr_nonnull(m);
    check_msg_table(m); /* wire offsets, unique keys */
    ck_assert_uint_gt(proto_record_public_size[r], 0);
    for (size_t i = 0; i < m->nfields; i++) {
      const struct proto_field *f = &m->fields[i];
      const struct proto_rec *rc = f->rec;

      ck_assert_msg(rc != NULL, "%s.%s: no record row", m->name, f->key);
      ck_assert_uint_le(f->offset + f->size, m->size);
      if (rc->pub_size > 0) {
        ck_assert_msg(rc->pub_offset >= pub_end, "%s.%s: public members out of order", m->name,
                      f->key);
        pub_end = rc->pub_offset + rc->pub_size;
        ck_assert_uint_le(pub_end, proto_record_public_size[r]);
        if (f->type == PROTO_T_BOOL)
          ck_assert_uint_eq(rc->pub_size, 4);
        if (f->type == PROTO_T_INT)
          ck_assert_uint_eq(rc->pub_size, 8);
        if (f->type == PROTO_T_UINT)
          ck_assert(rc->pub_size == 4 || rc->pub_size == 8);
        if (f->type == PROTO_T_STR || f->type == PROTO_T_NAME)
          ck_assert_uint_ge(rc->pub_size, 2);
      } else {
        ck_assert_msg(rc->show == PROTO_SHOW_NONE && rc->column == NULL && rc->label == NULL,
                      "%s.%s: shown but not in the public struct", m->name, f->key);
      }
      if (proto_rec_public(f)) {
        ck_assert_msg(rc->doc != NULL && rc->doc[0] != '\0', "%s.%s: no meaning", m->name, f->key);
        ck_assert_msg(rc->show != PROTO_SHOW_NONE, "%s.%s: no show", m->name, f->key);
        for (size_t j = i + 1; j < m->nfields; j++)
          if (proto_rec_public(&m->fields[j]))
            ck_assert_msg(strcmp(proto_rec_name(f), proto_rec_name(&m->fields[j])) != 0,
                          "%s: name %s twice", m->name, proto_rec_name(f));
      }
      if (rc->show == PROTO_SHOW_TIME) {
        const struct proto_field *g = &m->fields[i + 1];

        ck_assert_msg(i + 1 < m->nfields && g->rec->show == PROTO_SHOW_NSEC, "%s.%s", m->name,
                      f->key);
        ck_assert_int_eq(f->type, PROTO_T_INT);
        ck_assert_uint_eq(g->rec->pub_offset, rc->pub_offset + sizeof(int64_t));
        ck_assert_uint_eq(g->rec->pub_size, sizeof(int32_t));
        ck_assert(g->rec->hidden == rc->hidden);
      }
      if (rc->show == PROTO_SHOW_NSEC)
        ck_assert(i > 0 && m->fields[i - 1].rec->show == PROTO_SHOW_TIME);
      if (rc->show == PROTO_SHOW_FLAG || rc->show == PROTO_SHOW_RW || rc->restricts)
        ck_assert_int_eq(f->type, PROTO_T_BOOL);
      if (rc->restricts) {
        restricts++;
        ck_assert(!rc->hidden);
      }
      if (rc->sep != NULL) /* joins the cell of the row before it */
        ck_assert(i > 0 && m->fields[i - 1].rec->column != NULL &&
                  strcmp(m->fields[i - 1].rec->column, rc->column) == 0);
      if (rc->line > 0) {
        ck_assert_ptr_nonnull(rc->label);
        lines++;
        maxline = rc->line > maxline ? rc->line : maxline;
        for (size_t j = i + 1; j < m->nfields; j++)
          ck_assert_int_ne(m->fields[j].rec->line, rc->line);
      }
    }
    ck_assert_int_eq(lines, maxline); /* 1..N, none missing */
    ck_assert_uint_le(restricts, 1);
  }
}
END_TEST

/* What a restricted segment record hides is docs/security.md's list. */
START_TEST(test_record_restricted) {
  static const char *const hidden[] = { "gid",          "views",     "writable_views", "created",
                                        "created_nsec", "ephemeral", "frozen",         "changed",
                                        "changed_nsec", "sealed",    "depth",          "senders",
                                        "receivers" };
  const struct proto_msg *m = &proto_segment_msg;
  struct proto_segment s;
  size_t i, j, n = 0;

  for (i = 0; i < m->nfields; i++) {
    bool want = false;

    for (j = 0; j < sizeof hidden / sizeof hidden[0]; j++)
      want |= strcmp(m->fields[i].key, hidden[j]) == 0;
    ck_assert_msg(m->fields[i].rec->hidden == want, "%s", m->fields[i].key);
    n += m->fields[i].rec->restricts;
  }
  ck_assert_uint_eq(n, 1);

  memset(&s, 0, sizeof s);
  fill_msg(m, &s, LARGEST, 0);
  s.restricted = false;
  proto_record_restrict(PROTO_RECORD_SEGMENT, &s);
  ck_assert(s.restricted);
  ck_assert_uint_eq(s.gid, 0);
  ck_assert_uint_eq(s.views, 0);
  ck_assert_uint_eq(s.writable_views, 0);
  ck_assert_int_eq(s.created_sec, 0);
  ck_assert_uint_eq(s.created_nsec, 0);
  ck_assert(!s.ephemeral && !s.frozen);
  /* shown: name, size, owner, mode (and unlinked, for list) */
  ck_assert_uint_eq(strlen(s.name), PROTO_NAME_MAX);
  ck_assert_uint_eq(s.size, UINT64_MAX);
  ck_assert_uint_eq(s.uid, UINT32_MAX);
  ck_assert_uint_eq(s.mode, UINT32_MAX);
  ck_assert(s.unlinked);
}
END_TEST

/* A record over the wire and into the public struct: every member, named
 * by hand here so that a row pointing at the wrong member is caught. */
START_TEST(test_record_roundtrip) {
  struct proto_response in, out;
  shmv_segment_info si;
  shmv_holder_info hi;
  shmv_status_info st;
  int variant;

  for (variant = 0; variant < 2; variant++) {
    memset(&in, 0, sizeof in);
    in.id = 7;
    in.op = PROTO_OP_STAT;
    fill_msg(proto_ops[PROTO_OP_STAT].reply, &in, variant ? LARGEST : TYPICAL, 1);
    resp_roundtrip(&in, &out);
    assert_msg_eq(proto_ops[PROTO_OP_STAT].reply, &in, &out, "stat");

    const struct proto_segment *w = &out.u.stat.segment;
    memset(&si, 0xa5, sizeof si);
    proto_record_to_public(PROTO_RECORD_SEGMENT, w, &si);
    ck_assert_str_eq(si.name, w->name);
    ck_assert_uint_eq(si.size, w->size);
    ck_assert_uint_eq(si.uid, w->uid);
    ck_assert_uint_eq(si.gid, w->gid);
    ck_assert_uint_eq(si.mode, w->mode);
    ck_assert_uint_eq(si.views, w->views);
    ck_assert_uint_eq(si.writable_views, w->writable_views);
    ck_assert_int_eq(si.created_sec, w->created_sec);
    ck_assert_int_eq(si.created_nsec, (int32_t)w->created_nsec);
    ck_assert_int_eq(si.ephemeral, w->ephemeral);
    ck_assert_int_eq(si.unlinked, w->unlinked);
    ck_assert_int_eq(si.frozen, w->frozen);
    ck_assert_int_eq(si.restricted, w->restricted);

    ck_assert_uint_gt(out.u.stat.nholders, 0);
    const struct proto_holder *h = &out.u.stat.holders[0];
    memset(&hi, 0xa5, sizeof hi);
    proto_record_to_public(PROTO_RECORD_HOLDER, h, &hi);
    ck_assert_int_eq(hi.pid, (pid_t)h->pid);
    ck_assert_uint_eq(hi.uid, h->uid);
    ck_assert_str_eq(hi.comm, h->comm);
    ck_assert_uint_eq(hi.offset, h->offset);
    ck_assert_uint_eq(hi.length, h->length);
    ck_assert_int_eq(hi.writable, h->writable);
    ck_assert_int_eq(hi.since_sec, h->since_sec);
    ck_assert_int_eq(hi.since_nsec, (int32_t)h->since_nsec);
    proto_response_free(&out);
    sample_free(proto_ops[PROTO_OP_STAT].reply, &in);

    memset(&in, 0, sizeof in);
    in.id = 8;
    in.op = PROTO_OP_STATUS;
    fill_msg(proto_ops[PROTO_OP_STATUS].reply, &in, variant ? LARGEST : TYPICAL, 2);
    resp_roundtrip(&in, &out);
    const struct proto_status *s = &out.u.status;
    memset(&st, 0xa5, sizeof st);
    proto_record_to_public(PROTO_RECORD_STATUS, s, &st);
    ck_assert_str_eq(st.version, s->server);
    ck_assert_uint_eq(st.protocol, s->version);
    ck_assert_uint_eq(st.uptime_ms, s->uptime_ms);
    ck_assert_uint_eq(st.clients, s->clients);
    ck_assert_uint_eq(st.segments, s->segments);
    ck_assert_uint_eq(st.bytes, s->bytes);
    ck_assert_uint_eq(st.views, s->views);
    ck_assert_uint_eq(st.writable_views, s->writable_views);
    ck_assert_uint_eq(st.requests, s->requests);
    ck_assert_uint_eq(st.max_segment_size, s->max_segment_size);
    ck_assert_uint_eq(st.max_total_size, s->max_total_size);
    ck_assert_uint_eq(st.max_clients, s->max_clients);
    ck_assert_uint_eq(st.max_views, s->max_views);
    ck_assert_uint_eq(st.frame_max, s->frame_max);
    ck_assert_uint_eq(st.quota_bytes, s->quota_bytes);
    ck_assert_uint_eq(st.quota_segments, s->quota_segments);
    ck_assert_uint_eq(st.quota_views, s->quota_views);
    ck_assert_uint_eq(st.uid, s->uid);
    ck_assert_uint_eq(st.used_bytes, s->used_bytes);
    ck_assert_uint_eq(st.used_segments, s->used_segments);
    ck_assert_uint_eq(st.used_views, s->used_views);
    ck_assert_uint_eq(st.grace_ms, s->grace_ms);
    proto_response_free(&out);
  }
}
END_TEST

/* shmv_record_fields(): what a binding builds its records from. */
START_TEST(test_record_fields_public) {
  static const char *const seg[] = { "name",   "size",           "uid",     "gid",       "mode",
                                     "views",  "writable_views", "created", "ephemeral", "unlinked",
                                     "frozen", "restricted" };
  static const char *const hol[] = {
    "pid", "uid", "comm", "offset", "length", "writable", "since"
  };
  const shmv_field *f;
  size_t n, size, i;

  f = shmv_record_fields(SHMV_RECORD_SEGMENT, &n, &size);
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(size, sizeof(shmv_segment_info));
  /* these first, in this order (ABI); later fields only come after them */
  ck_assert_uint_ge(n, sizeof seg / sizeof seg[0]);
  for (i = 0; i < sizeof seg / sizeof seg[0]; i++) {
    ck_assert_str_eq(f[i].name, seg[i]);
    ck_assert_ptr_nonnull(f[i].doc);
    ck_assert_uint_le(f[i].offset + f[i].size, size);
    ck_assert_uint_eq((f[i].flags & SHMV_FIELD_HIDDEN) != 0,
                      strcmp(seg[i], "gid") == 0 || strcmp(seg[i], "views") == 0 ||
                          strcmp(seg[i], "writable_views") == 0 || strcmp(seg[i], "created") == 0 ||
                          strcmp(seg[i], "ephemeral") == 0 || strcmp(seg[i], "frozen") == 0);
    ck_assert_uint_eq((f[i].flags & SHMV_FIELD_RESTRICTED) != 0, strcmp(seg[i], "restricted") == 0);
  }
#define AT(i, T, m, ty)                             \
  do {                                              \
    ck_assert_uint_eq(f[i].offset, offsetof(T, m)); \
    ck_assert_uint_eq(f[i].type, ty);               \
  } while (0)
  AT(0, shmv_segment_info, name, SHMV_FIELD_STR);
  ck_assert_uint_eq(f[0].size, SHMV_NAME_MAX + 1);
  AT(1, shmv_segment_info, size, SHMV_FIELD_UINT);
  ck_assert_uint_eq(f[1].size, 8);
  AT(2, shmv_segment_info, uid, SHMV_FIELD_UINT);
  AT(4, shmv_segment_info, mode, SHMV_FIELD_UINT);
  AT(7, shmv_segment_info, created_sec, SHMV_FIELD_TIME);
  ck_assert_uint_eq(offsetof(shmv_segment_info, created_nsec), f[7].offset + 8);
  ck_assert_uint_eq(f[7].size, 12);
  AT(10, shmv_segment_info, frozen, SHMV_FIELD_BOOL);
  AT(11, shmv_segment_info, restricted, SHMV_FIELD_BOOL);

  f = shmv_record_fields(SHMV_RECORD_HOLDER, &n, &size);
  ck_assert_uint_eq(size, sizeof(shmv_holder_info));
  ck_assert_uint_ge(n, sizeof hol / sizeof hol[0]);
  for (i = 0; i < sizeof hol / sizeof hol[0]; i++)
    ck_assert_str_eq(f[i].name, hol[i]);
  AT(2, shmv_holder_info, comm, SHMV_FIELD_STR);
  AT(5, shmv_holder_info, writable, SHMV_FIELD_BOOL);
  AT(6, shmv_holder_info, since_sec, SHMV_FIELD_TIME);

  f = shmv_record_fields(SHMV_RECORD_STATUS, &n, NULL);
  ck_assert_uint_ge(n, 22);
  ck_assert_str_eq(f[0].name, "version");
  AT(0, shmv_status_info, version, SHMV_FIELD_STR);
  ck_assert_str_eq(f[1].name, "protocol");
  AT(1, shmv_status_info, protocol, SHMV_FIELD_UINT);
  ck_assert_str_eq(f[21].name, "grace_ms");
  AT(21, shmv_status_info, grace_ms, SHMV_FIELD_UINT);
#undef AT

  /* one public row per row of proto/'s description in the public struct */
  for (int r = 0; r < PROTO_RECORD_COUNT_; r++) {
    size_t want = 0;

    for (i = 0; i < proto_records[r]->nfields; i++)
      want += proto_rec_public(&proto_records[r]->fields[i]);
    f = shmv_record_fields(r, &n, &size);
    ck_assert_uint_eq(n, want);
    ck_assert_uint_eq(size, proto_record_public_size[r]);
    for (i = 0; i < n; i++)
      ck_assert_uint_le(f[i].offset + f[i].size, size);
  }

  n = 5;
  size = 5;
  ck_assert_ptr_null(shmv_record_fields(3, &n, &size));
  ck_assert_uint_eq(n, 0);
  ck_assert_uint_eq(size, 0);
  ck_assert_ptr_null(shmv_record_fields(-1, &n, NULL));
}
END_TEST

static Suite *proto_suite(void) {
  Suite *s = suite_create("proto");
  struct {
    const char *name;
    const TTest *test;
  } tests[] = {
#define T(f) { #f, f }
    T(test_op_names),
    T(test_tables),
    T(test_req_roundtrip_tables),
    T(test_req_decode_tables),
    T(test_resp_roundtrip_tables),
    T(test_records_described),
    T(test_record_restricted),
    T(test_record_roundtrip),
    T(test_record_fields_public),
    T(test_name_valid),
    T(test_req_roundtrip),
    T(test_req_encode_bad_op),
    T(test_resp_roundtrip_ok),
    T(test_resp_roundtrip_err),
    T(test_resp_err_long_msg_truncated),
    T(test_resp_list),
    T(test_resp_encode_bad),
    T(test_encode_frame_max),
    T(test_frame_header),
    T(test_reader_bytewise),
    T(test_reader_two_frames_one_read),
    T(test_reader_truncated),
    T(test_reader_empty_frame),
    T(test_reader_oversize),
    T(test_reader_max_frame),
    T(test_reader_compacts),
    T(test_decode_not_map),
    T(test_decode_trailing_truncated_garbage),
    T(test_decode_id_and_op),
    T(test_decode_wrong_types),
    T(test_decode_missing_required),
    T(test_decode_defaults),
    T(test_decode_unknown_and_duplicate_keys),
    T(test_decode_bad_names),
    T(test_resp_decode_malformed),
    T(test_resp_decode_bad_envelope),
    T(test_resp_decode_bad_values),
    T(test_send_recv_fd),
    T(test_sendv_fd_goes_to_last_frame),
    T(test_send_epipe_no_signal),
    T(test_recv_closes_extra_fds),
    T(test_send_recv_frames),
    T(test_reader_fd_follows_its_frame),
    T(test_reader_sized_to_what_is_buffered),
    T(test_socket_path),
    T(test_private_dir_check),
    T(test_required_arguments_are_written),
    T(test_fuzz_random_bytes),
    T(test_fuzz_mutations),
#undef T
  };
  size_t i;

  for (i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    TCase *tc = tcase_create(tests[i].name);
    tcase_set_timeout(tc, 120); /* the fuzz cases under valgrind */
    tcase_add_test(tc, tests[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(proto_suite());
  int failed;

  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

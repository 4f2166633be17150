/* SPDX-License-Identifier: MIT */
/*
 * make-corpus.c: writes the fuzzers' seed corpus, real messages of every op
 * encoded by proto/ itself.
 *
 *   make-corpus DIR    writes DIR/request/ (payloads, no header) and
 *                      DIR/frame/ (a chunking byte, a frame_max byte, a
 *                      drain byte, then whole frames; see fuzz-frame.c)
 *   make-corpus --dict FILE
 *                      writes the libFuzzer dictionary (every key and op)
 *
 * Both walk proto/'s tables (proto_ops[], proto_request_msg and each op's
 * answer), filling every field with a typical and a largest value, so a
 * new field or op reaches the fuzzers with no edit here.
 *
 * The output is committed in tests/fuzz/corpus/; `make fuzz-corpus`
 * regenerates it after a protocol change. Deterministic: the same proto/
 * gives the same files.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto.h"
#include "proto-sample.h"

static const char *outdir;

static void die(const char *what) {
  fprintf(stderr, "make-corpus: %s\n", what);
  exit(1);
}

static void write_file(const char *sub, const char *name, const void *a, size_t alen, const void *b,
                       size_t blen) {
  char path[4096];
  FILE *f;

  snprintf(path, sizeof path, "%s/%s/%s", outdir, sub, name);
  f = fopen(path, "wb");
  if (f == NULL || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) ||
      fclose(f) != 0)
    die(path);
}

/* One frame-corpus file: control bytes, then the frames in sb. */
static void frame_file(const char *name, uint8_t chunking, uint8_t fmax, uint8_t drain,
                       const msgpack_sbuffer *sb) {
  uint8_t ctl[3] = { chunking, fmax, drain };

  write_file("frame", name, ctl, 3, sb->data, sb->size);
}

static struct proto_request req_of(enum proto_op op, int variant) {
  struct proto_request r;

  memset(&r, 0, sizeof r);
  fill_msg(&proto_request_msg, &r, variant, 0);
  r.id = variant == LARGEST ? UINT64_MAX : 1000 + (uint64_t)op;
  r.op = op;
  return r;
}

/* Only what the op needs; every other argument left at its default. */
static struct proto_request req_needed(enum proto_op op) {
  const struct proto_op_info *oi = proto_op_info(op);
  struct proto_request r = req_of(op, TYPICAL), d;
  size_t i;

  /* The decoder's defaults: decode a request that carries no argument. */
  {
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "op", 2);
    msgpack_pack_str_with_body(&pk, "status", 6);
    if (proto_request_decode(sb.data, sb.size, &d, NULL, 0) != 0)
      die("cannot decode a bare status request");
    msgpack_sbuffer_destroy(&sb);
  }
  for (i = 0; i < proto_request_msg.nfields; i++) {
    const struct proto_field *f = &proto_request_msg.fields[i];

    if (!(oi->needs & f->bit))
      memcpy((char *)&r + f->offset, (char *)&d + f->offset, f->size);
  }
  return r;
}

static struct proto_response resp_of(enum proto_op op, int variant) {
  struct proto_response r;

  memset(&r, 0, sizeof r);
  r.id = 1000 + (uint64_t)op;
  r.op = op;
  if (proto_ops[op].reply != NULL)
    fill_msg(proto_ops[op].reply, &r, variant, 0);
  return r;
}

static void enc_req(const struct proto_request *r, msgpack_sbuffer *sb) {
  if (proto_request_encode(r, PROTO_FRAME_MAX_DEFAULT, sb) != 0)
    die("proto_request_encode failed");
}

static void enc_resp(const struct proto_response *r, msgpack_sbuffer *sb) {
  if (proto_response_encode(r, PROTO_FRAME_MAX_DEFAULT, sb) != 0)
    die("proto_response_encode failed");
}

/* A request payload (the frame minus its header) into request/. */
static void request_file(const char *name, const struct proto_request *r) {
  msgpack_sbuffer sb;

  msgpack_sbuffer_init(&sb);
  enc_req(r, &sb);
  write_file("request", name, sb.data + PROTO_HEADER_SIZE, sb.size - PROTO_HEADER_SIZE, NULL, 0);
  msgpack_sbuffer_destroy(&sb);
}

static void mkdirs(void) {
  char path[4096];

  snprintf(path, sizeof path, "%s/request", outdir);
  if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
    die(outdir);
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    die(path);
  snprintf(path, sizeof path, "%s/frame", outdir);
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    die(path);
}

/* The dictionary: every key and op name in the tables as a msgpack
 * string, the envelope's keys, and the markers the decoder checks. */
static void dict_key(FILE *f, const char *key) {
  size_t i, n = strlen(key);

  fprintf(f, "str_%s=\"", key);
  if (n < 32)
    fprintf(f, "\\x%02x", 0xa0u | (unsigned)n);
  else
    fprintf(f, "\\xd9\\x%02x", (unsigned)n);
  for (i = 0; i < n; i++)
    fputc(key[i], f);
  fprintf(f, "\"\n");
}

static const char *seen[256];
static size_t nseen;

static void dict_once(FILE *f, const char *key) {
  size_t i;

  for (i = 0; i < nseen; i++)
    if (strcmp(seen[i], key) == 0)
      return;
  if (nseen < sizeof seen / sizeof seen[0])
    seen[nseen++] = key;
  dict_key(f, key);
}

static void dict_msg(FILE *f, const struct proto_msg *m) {
  size_t i;

  for (i = 0; i < m->nfields; i++) {
    dict_once(f, m->fields[i].key);
    if (m->fields[i].sub != NULL)
      dict_msg(f, m->fields[i].sub);
  }
}

static void write_dict(const char *path) {
  static const char *const envelope[] = { "id", "op", "ok", "err", "code", "msg" };
  FILE *f = fopen(path, "w");
  size_t i;

  if (f == NULL)
    die(path);
  fprintf(f, "# libFuzzer dictionary for the shmview protocol, written by make-corpus\n"
             "# from proto/'s tables: every key and op name as a msgpack string, and\n"
             "# the msgpack markers the decoder checks.\n");
  for (i = 0; i < sizeof envelope / sizeof envelope[0]; i++)
    dict_once(f, envelope[i]);
  dict_msg(f, &proto_request_msg);
  for (i = 0; i < PROTO_OP_COUNT_; i++) {
    if (proto_ops[i].name != NULL)
      dict_once(f, proto_ops[i].name);
    if (proto_ops[i].reply != NULL)
      dict_msg(f, proto_ops[i].reply);
  }
  fprintf(f, "m_nil=\"\\xc0\"\nm_false=\"\\xc2\"\nm_true=\"\\xc3\"\nm_u8=\"\\xcc\"\n"
             "m_u64=\"\\xcf\"\nm_i64=\"\\xd3\"\nm_str8=\"\\xd9\"\nm_map16=\"\\xde\"\n"
             "m_array16=\"\\xdc\"\nm_u64max=\"\\xcf\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\"\n"
             "m_hdr_small=\"\\x00\\x00\\x00\\x10\"\n");
  if (fclose(f) != 0)
    die(path);
}

int main(int argc, char **argv) {
  msgpack_sbuffer all, sb;
  struct proto_request rq;
  struct proto_response rs;
  char name[64];
  int op;

  if (argc == 3 && strcmp(argv[1], "--dict") == 0) {
    write_dict(argv[2]);
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: make-corpus DIR | make-corpus --dict FILE\n");
    return 2;
  }
  outdir = argv[1];
  mkdirs();

  msgpack_sbuffer_init(&all);
  msgpack_sbuffer_init(&sb);
  for (op = PROTO_OP_NONE + 1; op < PROTO_OP_COUNT_; op++) {
    const char *opname = proto_op_name((enum proto_op)op);

    if (opname == NULL)
      continue;
    /* request/OP: every argument the op uses; OP-max: each at its
     * largest; OP-needed: only those it needs */
    rq = req_of((enum proto_op)op, LARGEST);
    snprintf(name, sizeof name, "%s-max", opname);
    request_file(name, &rq);
    rq = req_needed((enum proto_op)op);
    snprintf(name, sizeof name, "%s-needed", opname);
    request_file(name, &rq);
    rq = req_of((enum proto_op)op, TYPICAL);
    request_file(opname, &rq);
    enc_req(&rq, &all);

    /* frame/OP: request then its answer, read in one go; OP-max: the
     * largest answer, lazily; OP-err: the request and an error answer,
     * one byte at a time */
    sb.size = 0;
    enc_req(&rq, &sb);
    rs = resp_of((enum proto_op)op, TYPICAL);
    enc_resp(&rs, &sb);
    frame_file(opname, 0, 0, 0, &sb);

    sb.size = 0;
    rs = resp_of((enum proto_op)op, LARGEST);
    enc_resp(&rs, &sb);
    snprintf(name, sizeof name, "%s-max", opname);
    frame_file(name, 2 | (15 << 2), 0, 1, &sb);

    sb.size = 0;
    enc_req(&rq, &sb);
    proto_response_error(&rs, rq.id, (enum proto_op)op, ENOENT, "no such segment \"%s\"",
                         "greeting");
    enc_resp(&rs, &sb);
    snprintf(name, sizeof name, "%s-err", opname);
    frame_file(name, 1, 0, 0, &sb);
  }

  /* Every request in one stream, read in various chunkings and limits. */
  frame_file("all-requests-whole", 0, 0, 0, &all);
  frame_file("all-requests-bytewise", 1, 0, 0, &all);
  frame_file("all-requests-fixed7", 2 | (6 << 2), 1, 0, &all);
  frame_file("all-requests-random", 3, 0, 0, &all);
  frame_file("all-requests-random-lazy", 3, 0, 2, &all);
  frame_file("all-requests-fixed64-lazy", 2 | (63 << 2), 2, 3, &all);
  frame_file("all-requests-small-max", 0, 2, 0, &all);
  frame_file("all-requests-tiny-max", 3, 3 | (39 << 2), 1, &all);

  /* Every answer with its arrays empty, read lazily. */
  sb.size = 0;
  for (op = PROTO_OP_NONE + 1; op < PROTO_OP_COUNT_; op++) {
    if (proto_ops[op].reply == NULL)
      continue;
    rs = resp_of((enum proto_op)op, TYPICAL);
    empty_arrays(proto_ops[op].reply, &rs);
    enc_resp(&rs, &sb);
  }
  frame_file("answers-empty-arrays", 2 | (15 << 2), 0, 1, &sb);

  /* Bad framing: an empty frame, an oversize header, a half frame. */
  sb.size = 0;
  enc_req(&rq, &sb);
  msgpack_sbuffer_write(&sb, "\0\0\0\0", 4);
  frame_file("empty-frame", 0, 0, 0, &sb);
  sb.size -= 4;
  msgpack_sbuffer_write(&sb, "\0\1\0\1", 4);
  frame_file("oversize", 2 | (2 << 2), 0, 1, &sb);
  sb.size -= 4;
  msgpack_sbuffer_write(&sb, "\0\0\0\x20\x82", 5);
  frame_file("half-frame", 1, 0, 0, &sb);
  msgpack_sbuffer_destroy(&sb);

  msgpack_sbuffer_destroy(&all);
  return 0;
}

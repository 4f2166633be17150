/* SPDX-License-Identifier: MIT */
/*
 * make-corpus.c: writes the fuzzers' seed corpus, real messages of every op
 * encoded by proto/ itself.
 *
 *   make-corpus DIR    writes DIR/request/ (payloads, no header) and
 *                      DIR/frame/ (a chunking byte, a frame_max byte, a
 *                      drain byte, then whole frames; see fuzz-frame.c)
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

static struct proto_request req_of(enum proto_op op) {
  struct proto_request r;

  memset(&r, 0, sizeof r);
  r.id = 1000 + (uint64_t)op;
  r.op = op;
  r.mode = 0600;
  r.length = PROTO_TO_END;
  switch (op) {
  case PROTO_OP_HELLO: r.version = PROTO_VERSION; break;
  case PROTO_OP_CREATE:
    strcpy(r.name, "greeting");
    r.size = 13;
    r.mode = 0644;
    break;
  case PROTO_OP_OPEN:
    strcpy(r.name, "greeting");
    r.offset = 7;
    r.length = 5;
    break;
  case PROTO_OP_RELEASE: r.lease = 42; break;
  case PROTO_OP_LIST: strcpy(r.after, "alpha"); break;
  case PROTO_OP_STAT:
  case PROTO_OP_UNLINK: strcpy(r.name, "greeting"); break;
  case PROTO_OP_RESIZE:
    strcpy(r.name, "greeting");
    r.size = 1 << 20;
    break;
  default: break;
  }
  return r;
}

static struct proto_segment seg_of(const char *name, uint64_t size) {
  struct proto_segment s;

  memset(&s, 0, sizeof s);
  snprintf(s.name, sizeof s.name, "%s", name);
  s.size = size;
  s.uid = 1000;
  s.gid = 1000;
  s.mode = 0640;
  s.views = 2;
  s.writable_views = 1;
  s.created_sec = 1767225600;
  s.created_nsec = 123456789;
  return s;
}

static struct proto_segment list_items[3];

static struct proto_response resp_of(enum proto_op op) {
  struct proto_response r;
  struct proto_status *st = &r.u.status;

  memset(&r, 0, sizeof r);
  r.id = 1000 + (uint64_t)op;
  r.op = op;
  switch (op) {
  case PROTO_OP_HELLO:
    r.u.hello.version = PROTO_VERSION;
    strcpy(r.u.hello.server, "shmviewd 0.1.0");
    r.u.hello.frame_max = PROTO_FRAME_MAX_DEFAULT;
    r.u.hello.name_max = PROTO_NAME_MAX;
    break;
  case PROTO_OP_CREATE:
  case PROTO_OP_STAT:
  case PROTO_OP_RESIZE: r.u.segment = seg_of("greeting", 13); break;
  case PROTO_OP_OPEN:
    strcpy(r.u.view.name, "greeting");
    r.u.view.offset = 7;
    r.u.view.length = 5;
    r.u.view.segment_size = 13;
    r.u.view.lease = 42;
    break;
  case PROTO_OP_LIST:
    list_items[0] = seg_of("alpha", 4096);
    list_items[1] = seg_of("beta.v2", 0);
    list_items[2] = seg_of("greeting", 13);
    list_items[2].created_sec = -1; /* before 1970: a negative int */
    r.u.list.items = list_items;
    r.u.list.count = 3;
    r.u.list.more = true;
    break;
  case PROTO_OP_STATUS:
    strcpy(st->server, "shmviewd 0.1.0");
    st->version = PROTO_VERSION;
    st->uptime_ms = 86400000;
    st->clients = 3;
    st->segments = 2;
    st->bytes = 8192;
    st->views = 5;
    st->writable_views = 1;
    st->requests = 1234567;
    st->max_segment_size = 1ull << 30;
    st->max_total_size = 1ull << 32;
    st->max_clients = 256;
    st->max_views = 4096;
    st->frame_max = PROTO_FRAME_MAX_DEFAULT;
    break;
  default: break;
  }
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

int main(int argc, char **argv) {
  msgpack_sbuffer all, sb;
  struct proto_request rq;
  struct proto_response rs;
  char name[64];
  int op;

  if (argc != 2) {
    fprintf(stderr, "usage: make-corpus DIR\n");
    return 2;
  }
  outdir = argv[1];
  mkdirs();

  msgpack_sbuffer_init(&all);
  for (op = PROTO_OP_HELLO; op < PROTO_OP_COUNT_; op++) {
    const char *opname = proto_op_name((enum proto_op)op);

    /* request/OP: the request payload */
    rq = req_of((enum proto_op)op);
    snprintf(name, sizeof name, "%s", opname);
    request_file(name, &rq);
    enc_req(&rq, &all);

    /* frame/OP: request then its answer, read in one go; OP-err: the
     * request and an error answer, one byte at a time */
    msgpack_sbuffer_init(&sb);
    enc_req(&rq, &sb);
    rs = resp_of((enum proto_op)op);
    enc_resp(&rs, &sb);
    frame_file(opname, 0, 0, 0, &sb);
    msgpack_sbuffer_destroy(&sb);

    msgpack_sbuffer_init(&sb);
    enc_req(&rq, &sb);
    proto_response_error(&rs, rq.id, (enum proto_op)op, ENOENT, "no such segment \"%s\"",
                         "greeting");
    enc_resp(&rs, &sb);
    snprintf(name, sizeof name, "%s-err", opname);
    frame_file(name, 1, 0, 0, &sb);
    msgpack_sbuffer_destroy(&sb);
  }

  /* Variants of the requests with optional fields left out or special. */
  rq = req_of(PROTO_OP_OPEN);
  rq.length = PROTO_TO_END;
  rq.writable = true;
  request_file("open-to-end-writable", &rq);
  rq = req_of(PROTO_OP_LIST);
  rq.after[0] = '\0';
  request_file("list-start", &rq);
  rq = req_of(PROTO_OP_CREATE);
  memset(rq.name, 'n', PROTO_NAME_MAX);
  rq.name[PROTO_NAME_MAX] = '\0';
  rq.size = UINT64_MAX;
  rq.mode = 0777;
  request_file("create-longest-name", &rq);
  rq = req_of(PROTO_OP_RELEASE);
  rq.id = UINT64_MAX;
  rq.lease = UINT64_MAX;
  request_file("release-max", &rq);

  /* Every request in one stream, read in various chunkings and limits. */
  frame_file("all-requests-whole", 0, 0, 0, &all);
  frame_file("all-requests-bytewise", 1, 0, 0, &all);
  frame_file("all-requests-fixed7", 2 | (6 << 2), 1, 0, &all);
  frame_file("all-requests-random", 3, 0, 0, &all);
  frame_file("all-requests-random-lazy", 3, 0, 2, &all);
  frame_file("all-requests-fixed64-lazy", 2 | (63 << 2), 2, 3, &all);
  frame_file("all-requests-small-max", 0, 2, 0, &all);
  frame_file("all-requests-tiny-max", 3, 3 | (39 << 2), 1, &all);

  /* A list answer with no segments, a status answer read lazily. */
  msgpack_sbuffer_init(&sb);
  rs = resp_of(PROTO_OP_LIST);
  rs.u.list.count = 0;
  rs.u.list.items = NULL;
  rs.u.list.more = false;
  enc_resp(&rs, &sb);
  rs = resp_of(PROTO_OP_STATUS);
  enc_resp(&rs, &sb);
  frame_file("list-empty-status", 2 | (15 << 2), 0, 1, &sb);
  msgpack_sbuffer_destroy(&sb);

  /* Bad framing: an empty frame, an oversize header, a half frame. */
  msgpack_sbuffer_init(&sb);
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

/* SPDX-License-Identifier: MIT */
/*
 * fuzz-frame.c: libFuzzer target for the frame reader and, through it,
 * every message decoder: what the daemon does with a client's stream and
 * the client with the daemon's.
 *
 * Input: [chunking byte] [frame_max byte] [drain byte] stream...
 *   chunking & 3: 0 whole reads, 1 one byte at a time, 2 fixed reads of
 *                 (chunking >> 2) + 1 bytes, 3 pseudo-random read sizes
 *                 seeded from the input
 *   frame_max & 3: 0 the default (64 KiB), 1 PROTO_FRAME_MAX_MIN, 2 256,
 *                  3 (frame_max >> 2) + 1 (1..64 bytes)
 *   drain & 3: 0 take frames out after every read, k after every (k+1)th
 *              read only (and whenever the reader has no room), so reads
 *              also happen with whole or refused frames still buffered
 * The stream is fed through proto_reader_feed (the reader's in-memory read)
 * in those chunks and frames are pulled with proto_reader_get after each
 * read, as the daemon's and the client's loops do. A reference parse of the same bytes says what
 * the reader must answer at each point: every frame with exactly its bytes,
 * 0 while a frame is incomplete, -EPROTO for an empty frame, -EMSGSIZE for
 * an oversize one (after which nothing more is fed). The buffer never grows
 * beyond header + frame_max nor past four times what it holds (or its
 * kept 4 KiB), a feed always takes a byte unless a whole or refused frame
 * fills the buffer, and pending() is always the unconsumed byte count.
 *
 * Each frame is copied into a buffer of exactly its size (so ASan sees any
 * read past it) and decoded as a request and as the response to every op
 * (fuzz-common.h checks each result and its round trip).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct chunker {
  unsigned mode, fixed;
  uint32_t state;
};

static size_t next_chunk(struct chunker *c, size_t left) {
  uint32_t x;

  switch (c->mode) {
  case 0: return left;
  case 1: return 1;
  case 2: return c->fixed;
  default:
    x = c->state; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->state = x;
    return (x & 1) ? 1 + (x >> 1) % 16 : 1 + (x >> 1) % 5000;
  }
}

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct proto_reader r;
  struct proto_frame f;
  struct chunker ck;
  unsigned lazy, reads = 0;
  const uint8_t *s;
  size_t n, fed = 0, done = 0, frame_max, chunk, need, have, plen, take;
  ssize_t k;
  uint8_t *copy;
  int rc;

  if (size < 3)
    return 0;
  ck.mode = data[0] & 3u;
  ck.fixed = (data[0] >> 2) + 1u;
  ck.state = 0x9e3779b9u ^ ((uint32_t)data[0] << 8) ^ (uint32_t)size;
  switch (data[1] & 3u) {
  case 0: frame_max = PROTO_FRAME_MAX_DEFAULT; break;
  case 1: frame_max = PROTO_FRAME_MAX_MIN; break;
  case 2: frame_max = 256; break;
  default: frame_max = (data[1] >> 2) + 1u; break;
  }
  lazy = data[2] & 3u;
  s = data + 3;
  n = size - 3;

  proto_reader_init(&r, frame_max, false);
  FUZZ_CHECK(r.frame_max == frame_max);
  while (fed < n) {
    /* What the frame at `done` still lacks, from the reference parse
     * (0: a whole or refused frame is buffered). */
    have = fed - done;
    if (have < PROTO_HEADER_SIZE) {
      need = PROTO_HEADER_SIZE - have;
    } else {
      plen = be32(s + done);
      if (plen == 0 || plen > frame_max || have >= PROTO_HEADER_SIZE + plen)
        need = 0;
      else
        need = PROTO_HEADER_SIZE + plen - have;
    }

    chunk = next_chunk(&ck, n - fed);
    if (chunk > n - fed)
      chunk = n - fed;
    k = proto_reader_feed(&r, s + fed, chunk);
    if (k == -ENOMEM)
      break; /* the allocator, not the input */
    /* Only a whole or refused frame filling the buffer stops a feed. */
    FUZZ_CHECK(k > 0 || (k == -ENOBUFS && need == 0));
    take = k > 0 ? (size_t)k : 0;
    fed += take;
    FUZZ_CHECK(r.cap <= PROTO_HEADER_SIZE + frame_max);
    FUZZ_CHECK(r.cap <= PROTO_READER_KEEP || r.cap <= 4 * proto_reader_pending(&r));
    if (k > 0 && lazy && ++reads % (lazy + 1) != 0 && fed < n)
      continue;

    for (;;) {
      have = fed - done;
      FUZZ_CHECK(proto_reader_pending(&r) == have);
      rc = proto_reader_get(&r, &f);
      if (have < PROTO_HEADER_SIZE) {
        FUZZ_CHECK(rc == 0);
        break;
      }
      plen = be32(s + done);
      if (plen == 0) {
        FUZZ_CHECK(rc == -EPROTO);
        goto out;
      }
      if (plen > frame_max) {
        FUZZ_CHECK(rc == -EMSGSIZE);
        goto out;
      }
      if (have < PROTO_HEADER_SIZE + plen) {
        FUZZ_CHECK(rc == 0);
        break;
      }
      FUZZ_CHECK(rc == 1);
      FUZZ_CHECK(f.len == plen && f.fd == -1);
      FUZZ_CHECK(memcmp(f.payload, s + done + PROTO_HEADER_SIZE, plen) == 0);
      done += PROTO_HEADER_SIZE + plen;
      FUZZ_CHECK(proto_reader_pending(&r) == fed - done);

      /* Decode a private copy of exactly the payload's size. */
      copy = malloc(f.len);
      if (copy == NULL)
        goto out;
      memcpy(copy, f.payload, f.len);
      fuzz_payload(copy, f.len, f.len % 48);
      free(copy);
    }
  }
  FUZZ_CHECK(proto_reader_pending(&r) == fed - done);
out:
  proto_reader_free(&r);
  FUZZ_CHECK(r.buf == NULL && proto_reader_pending(&r) == 0);
  return 0;
}

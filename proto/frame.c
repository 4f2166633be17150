/* SPDX-License-Identifier: MIT */
/*
 * frame.c: length-prefixed framing.
 *
 * A frame is a 4-byte big-endian payload length followed by the payload.
 * proto_reader accumulates bytes from a stream socket and hands out whole
 * frames. Its buffer never grows beyond PROTO_HEADER_SIZE + frame_max, so
 * a peer cannot make us allocate more than one maximal frame, however it
 * splits or lies about its data: an announced length above frame_max is
 * refused as soon as the header is complete.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define READER_INITIAL_CAP 4096u

void proto_frame_header(uint8_t out[PROTO_HEADER_SIZE], uint32_t len) {
  out[0] = (uint8_t)(len >> 24);
  out[1] = (uint8_t)(len >> 16);
  out[2] = (uint8_t)(len >> 8);
  out[3] = (uint8_t)len;
}

static uint32_t header_get(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

void proto_reader_init(struct proto_reader *r, size_t frame_max) {
  memset(r, 0, sizeof *r);
  if (frame_max == 0)
    frame_max = PROTO_FRAME_MAX_DEFAULT;
  if (frame_max > UINT32_MAX) /* the header cannot say more anyway */
    frame_max = UINT32_MAX;
  r->frame_max = frame_max;
}

void proto_reader_free(struct proto_reader *r) {
  free(r->buf);
  r->buf = NULL;
  r->start = r->len = r->cap = 0;
}

/* Bytes the frame at r->start still lacks to be complete: the rest of the
 * header, or the rest of the payload. 0 when a whole frame (or a header
 * that proto_reader_next will refuse) is already buffered. */
static size_t frame_need(const struct proto_reader *r) {
  size_t have = r->len - r->start;
  uint32_t plen;

  if (have < PROTO_HEADER_SIZE)
    return PROTO_HEADER_SIZE - have;
  plen = header_get(r->buf + r->start);
  if (plen == 0 || plen > r->frame_max)
    return 0;
  if (have >= PROTO_HEADER_SIZE + (size_t)plen)
    return 0;
  return PROTO_HEADER_SIZE + (size_t)plen - have;
}

int proto_reader_space(struct proto_reader *r, size_t want, void **p, size_t *avail) {
  size_t limit = PROTO_HEADER_SIZE + r->frame_max;
  size_t have, need, target, ncap;
  uint8_t *nbuf;

  if (r->start == r->len)
    r->start = r->len = 0;
  have = r->len - r->start;
  need = frame_need(r);
  if (need == 0 && have < limit)
    need = 1; /* a whole frame is buffered: still never hand out 0 bytes
                 when there is room, lest a read(fd, p, 0) look like EOF */
  target = want < need ? want : need;

  if (r->cap - r->len < target && r->start > 0) {
    memmove(r->buf, r->buf + r->start, have);
    r->start = 0;
    r->len = have;
  }
  if (r->cap - r->len < target || r->buf == NULL) {
    /* have + need <= limit always holds, so the target fits. */
    ncap = r->cap ? r->cap : READER_INITIAL_CAP;
    while (ncap < r->len + target && ncap < limit)
      ncap *= 2;
    if (ncap > limit)
      ncap = limit;
    if (ncap < r->len + target) /* cannot happen; be safe */
      ncap = r->len + target;
    if (ncap > r->cap || r->buf == NULL) {
      nbuf = realloc(r->buf, ncap);
      if (nbuf == NULL)
        return -ENOMEM;
      r->buf = nbuf;
      r->cap = ncap;
    }
  }
  *p = r->buf + r->len;
  *avail = r->cap - r->len;
  return 0;
}

void proto_reader_commit(struct proto_reader *r, size_t n) {
  if (n > r->cap - r->len) /* caller bug: never run past the buffer */
    n = r->cap - r->len;
  r->len += n;
}

int proto_reader_next(struct proto_reader *r, const uint8_t **payload, size_t *len) {
  size_t have = r->len - r->start;
  uint32_t plen;

  if (have < PROTO_HEADER_SIZE)
    return 0;
  plen = header_get(r->buf + r->start);
  if (plen == 0)
    return -EPROTO;
  if (plen > r->frame_max)
    return -EMSGSIZE;
  if (have - PROTO_HEADER_SIZE < plen)
    return 0;
  *payload = r->buf + r->start + PROTO_HEADER_SIZE;
  *len = plen;
  r->start += PROTO_HEADER_SIZE + (size_t)plen;
  return 1;
}

size_t proto_reader_pending(const struct proto_reader *r) {
  return r->len - r->start;
}

/* SPDX-License-Identifier: MIT */
/*
 * frame.c: length-prefixed framing and the frame reader.
 *
 * A frame is a 4-byte big-endian payload length followed by the payload.
 * The reader is OpenBSD imsg's read + get pair: proto_reader_read() takes
 * what one recvmsg() gives (bytes, and a descriptor riding on a frame's
 * first byte) into a buffer, proto_reader_get() hands out whole frames with
 * their descriptors. Its buffer never grows beyond PROTO_HEADER_SIZE +
 * frame_max, so a peer cannot make us allocate more than one maximal frame,
 * however it splits or lies about its data: an announced length above
 * frame_max is refused as soon as the header is complete. The buffer grows
 * with what is buffered (doubling when full), not with what a header
 * announces, and a grown buffer is freed once every frame is taken: a peer
 * that sends the first bytes of a large frame costs only those bytes.
 *
 * Which frame a descriptor belongs to: the sender attaches it to the first
 * byte of its frame, and a Unix stream recvmsg() that returns descriptors
 * ends with the segment that carried them. So it belongs to the last frame
 * that starts within the bytes of that read. A descriptor that arrives with
 * no frame starting in its read is a peer's mistake, and is closed.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

void proto_frame_header(uint8_t out[PROTO_HEADER_SIZE], uint32_t len) {
  out[0] = (uint8_t)(len >> 24);
  out[1] = (uint8_t)(len >> 16);
  out[2] = (uint8_t)(len >> 8);
  out[3] = (uint8_t)len;
}

static uint32_t header_get(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

void proto_reader_init(struct proto_reader *r, size_t frame_max, bool keep_fds) {
  memset(r, 0, sizeof *r);
  if (frame_max == 0)
    frame_max = PROTO_FRAME_MAX_DEFAULT;
  if (frame_max > UINT32_MAX) /* the header cannot say more anyway */
    frame_max = UINT32_MAX;
  r->frame_max = frame_max;
  r->keep_fds = keep_fds;
}

void proto_reader_free(struct proto_reader *r) {
  for (size_t i = 0; i < r->nfds; i++)
    close(r->fds[i].fd);
  r->nfds = 0;
  free(r->buf);
  r->buf = NULL;
  r->abs_start += r->len - r->start;
  r->start = r->len = r->cap = 0;
}

/* Bytes the frame at r->start still lacks to be complete: the rest of the
 * header, or the rest of the payload. 0 when a whole frame (or a header
 * that proto_reader_get will refuse) is already buffered. */
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

/* Keep the buffer sized to what it holds: freed when a grown buffer is
 * empty, cut to twice its contents when it holds under a quarter. */
static void reader_shrink(struct proto_reader *r) {
  size_t have = r->len - r->start, ncap;
  uint8_t *nbuf;

  if (have == 0) {
    r->start = r->len = 0;
    if (r->cap > PROTO_READER_KEEP) {
      free(r->buf);
      r->buf = NULL;
      r->cap = 0;
    }
    return;
  }
  if (r->cap <= PROTO_READER_KEEP || have > r->cap / 4)
    return;
  ncap = have * 2 > PROTO_READER_KEEP ? have * 2 : PROTO_READER_KEEP;
  memmove(r->buf, r->buf + r->start, have);
  r->start = 0;
  r->len = have;
  nbuf = realloc(r->buf, ncap);
  if (nbuf != NULL) { /* else keep the larger one */
    r->buf = nbuf;
    r->cap = ncap;
  }
}

/* Room to read into, at least one byte: compact, or grow the buffer to
 * twice its size (at most header + frame_max) when it is full. Returns 0,
 * -ENOMEM, or -ENOBUFS when a whole maximal frame fills it. */
static int reader_room(struct proto_reader *r, void **p, size_t *avail) {
  size_t limit = PROTO_HEADER_SIZE + r->frame_max, have, ncap;
  uint8_t *nbuf;

  reader_shrink(r);
  have = r->len - r->start;
  if (r->cap == r->len && r->start > 0) {
    memmove(r->buf, r->buf + r->start, have);
    r->start = 0;
    r->len = have;
  }
  if (r->cap == r->len) {
    if (r->cap >= limit || (r->cap > 0 && frame_need(r) == 0))
      return -ENOBUFS; /* take the frames first */
    ncap = r->cap ? r->cap * 2 : PROTO_READER_KEEP;
    if (ncap > limit)
      ncap = limit;
    nbuf = realloc(r->buf, ncap);
    if (nbuf == NULL)
      return -ENOMEM;
    r->buf = nbuf;
    r->cap = ncap;
  }
  *p = r->buf + r->len;
  *avail = r->cap - r->len;
  return 0;
}

/* n bytes arrived at r->buf + r->len with descriptor fd (or -1): keep fd
 * for the last frame starting among them, else close it. */
static void reader_commit(struct proto_reader *r, size_t n, int fd) {
  size_t old = r->len, pos = r->start, owner = SIZE_MAX;
  uint32_t plen;

  r->len += n;
  if (fd < 0)
    return;
  while (pos < r->len) {
    if (pos >= old)
      owner = pos;
    if (r->len - pos < PROTO_HEADER_SIZE)
      break;
    plen = header_get(r->buf + pos);
    if (plen == 0 || plen > r->frame_max)
      break;
    pos += PROTO_HEADER_SIZE + (size_t)plen;
  }
  if (owner == SIZE_MAX || r->nfds == PROTO_READER_FDS) {
    close(fd);
    return;
  }
  r->fds[r->nfds].fd = fd;
  r->fds[r->nfds].at = r->abs_start + (owner - r->start);
  r->nfds++;
}

ssize_t proto_reader_read(struct proto_reader *r, int sock) {
  void *p;
  size_t avail;
  ssize_t n;
  int fd = -1, rc;

  rc = reader_room(r, &p, &avail);
  if (rc < 0)
    return rc;
  /* Without keep_fds proto_recv closes whatever a peer passes at once. */
  n = proto_recv(sock, p, avail, r->keep_fds ? &fd : NULL);
  if (n <= 0) {
    if (fd >= 0)
      close(fd);
    return n;
  }
  /* Less than asked for: the socket had no more at that moment, so the
   * caller may skip the read that would only say EAGAIN. */
  r->short_read = (size_t)n < avail;
  reader_commit(r, (size_t)n, fd);
  return n;
}

ssize_t proto_reader_feed(struct proto_reader *r, const void *data, size_t n) {
  void *p;
  size_t avail;
  int rc;

  if (n == 0)
    return 0;
  rc = reader_room(r, &p, &avail);
  if (rc < 0)
    return rc;
  if (n > avail)
    n = avail;
  memcpy(p, data, n);
  reader_commit(r, n, -1);
  return (ssize_t)n;
}

int proto_reader_get(struct proto_reader *r, struct proto_frame *f) {
  size_t have, i;
  uint32_t plen;

  reader_shrink(r);
  have = r->len - r->start;
  if (have < PROTO_HEADER_SIZE)
    return 0;
  plen = header_get(r->buf + r->start);
  if (plen == 0)
    return -EPROTO;
  if (plen > r->frame_max)
    return -EMSGSIZE;
  if (have - PROTO_HEADER_SIZE < plen)
    return 0;
  f->payload = r->buf + r->start + PROTO_HEADER_SIZE;
  f->len = plen;
  f->fd = -1;
  /* Descriptors are queued in stream order; any before this frame's first
   * byte lost their frame (cannot happen with an honest sender). */
  for (i = 0; i < r->nfds && r->fds[i].at <= r->abs_start; i++) {
    if (r->fds[i].at == r->abs_start && f->fd < 0)
      f->fd = r->fds[i].fd;
    else
      close(r->fds[i].fd);
  }
  memmove(r->fds, r->fds + i, (r->nfds - i) * sizeof r->fds[0]);
  r->nfds -= i;
  r->start += PROTO_HEADER_SIZE + (size_t)plen;
  r->abs_start += PROTO_HEADER_SIZE + (size_t)plen;
  return 1;
}

size_t proto_reader_pending(const struct proto_reader *r) {
  return r->len - r->start;
}

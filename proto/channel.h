/* SPDX-License-Identifier: MIT */
/*
 * channel.h: the layout of a channel's control memory (the segment
 * NAME.ctl), shared by the daemon, which writes its header at create and a
 * participant's slot at channel_open and marks a dead participant's slot,
 * and the library, which runs the queue in it. docs/dataplane.md has the
 * same table in prose.
 *
 * Every participant may write all of it, so nothing read from it is
 * trusted: each reader checks offsets, lengths, states and indexes against
 * the bounds in the header it validated (chan_header_valid) before using
 * them. Words that several processes change at once are accessed with
 * __atomic builtins; everything else only under the lock.
 */
#ifndef SHMV_PROTO_CHANNEL_H
#define SHMV_PROTO_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAN_MAGIC      0x4e414843u /* "CHAN" */
#define CHAN_VERSION    1u
#define CHAN_ALIGN      64u  /* message space is handed out in multiples of this */
#define CHAN_PARTS      256u /* participant slots */
#define CHAN_MIN        4096u
#define CHAN_CHUNKS_MIN 16u
#define CHAN_CHUNKS_MAX 16384u
#define CHAN_SUFFIX     ".ctl" /* NAME.ctl: the control segment of channel NAME */

/* The lock word: 0 free, else the owner's slot + 1, with this bit set once
 * someone sleeps on it. */
#define CHAN_LOCK_WAITERS 0x80000000u

/* The header, at offset 0; each group of words its own cache line. */
struct chan_header {
  /* written by the daemon at create, then only read */
  uint32_t magic, version;
  uint64_t capacity; /* bytes of message space (the ring segment's size) */
  uint32_t nchunks;  /* chunk records and send-queue entries (a power of 2) */
  uint32_t nparts;   /* participant slots */
  uint64_t ctl_size; /* this segment's size */
  uint8_t pad0[64 - 32];
  /* the lock, and what it guards */
  uint32_t lock;
  uint32_t dead;      /* slots marked dead by the daemon, not yet reclaimed (atomic) */
  uint32_t senders;   /* participants that may send (atomic) */
  uint32_t receivers; /* that may receive (atomic) */
  uint32_t ever_sent; /* 1 once a sender has opened: recv may then say EPIPE */
  uint32_t pad1;
  uint64_t head;      /* byte position of the next loan (grows forever; offset = pos % capacity) */
  uint64_t tail;      /* first byte not yet free */
  uint64_t alloc_seq; /* the next chunk record */
  uint64_t free_seq;  /* the oldest chunk record not yet freed */
  uint64_t q_head;    /* the send queue: the next entry to receive */
  uint64_t q_tail;    /* and the next to fill */
  uint8_t pad2[128 - 72];
  /* futex words: bumped on every send, and on every free that moves the tail */
  uint32_t published;
  uint32_t recv_waiters;
  uint8_t pad3[64 - 8];
  uint32_t freed;
  uint32_t send_waiters;
  uint8_t pad4[64 - 8];
};

enum chan_part_state {
  CHAN_PART_FREE = 0, /* the daemon may give it to a new participant */
  CHAN_PART_LIVE,     /* registered by the daemon */
  CHAN_PART_CLOSED,   /* the participant closed; the daemon frees it when its lease ends */
  CHAN_PART_DEAD,     /* its connection ended unclosed: the next locker reclaims it */
};

struct chan_part {
  uint32_t state; /* enum chan_part_state (atomic) */
  uint32_t roles; /* CHAN_ROLE_* it holds (counted in senders/receivers) */
  uint32_t pid;   /* as the daemon saw it, for stat and for reclaiming after a restart */
  uint32_t pad;
  uint64_t start; /* the process's start time (lease.h), 0: unknown */
  uint64_t pad2;
};

#define CHAN_ROLE_SEND 0x1u
#define CHAN_ROLE_RECV 0x2u

enum chan_chunk_state {
  CHAN_CHUNK_FREE = 0, /* given back; the tail moves over it */
  CHAN_CHUNK_LOANED,   /* owner is filling it */
  CHAN_CHUNK_QUEUED,   /* sent, in the send queue */
  CHAN_CHUNK_RECEIVED, /* owner received it and has not released it */
};
/* chunk flag: its bytes are the name of a segment holding the message */
#define CHAN_CHUNK_SPILL 0x100u
#define CHAN_CHUNK_STATE 0xffu

struct chan_chunk {
  uint64_t pos;   /* byte position of its first byte (after any skip to the ring's start) */
  uint32_t len;   /* message length; it takes chan_alen(len) bytes */
  uint16_t state; /* enum chan_chunk_state | CHAN_CHUNK_SPILL */
  uint16_t owner; /* participant slot */
};

#define CHAN_PARTS_OFFSET  ((uint64_t)sizeof(struct chan_header))
#define CHAN_CHUNKS_OFFSET (CHAN_PARTS_OFFSET + (uint64_t)CHAN_PARTS * sizeof(struct chan_part))

_Static_assert(sizeof(struct chan_header) == 320, "header layout");
_Static_assert(offsetof(struct chan_header, lock) == 64 &&
                   offsetof(struct chan_header, head) == 88 &&
                   offsetof(struct chan_header, q_tail) == 128 &&
                   offsetof(struct chan_header, published) == 192 &&
                   offsetof(struct chan_header, freed) == 256,
               "docs/dataplane.md's table");
_Static_assert(sizeof(struct chan_part) == 32, "slot layout");
_Static_assert(sizeof(struct chan_chunk) == 16, "chunk layout");

static inline uint64_t chan_alen(uint64_t len) {
  return (len + CHAN_ALIGN - 1) & ~(uint64_t)(CHAN_ALIGN - 1);
}

/* The chunk count of a ring of capacity bytes: one per 256 bytes, a power
 * of 2 within [CHAN_CHUNKS_MIN, CHAN_CHUNKS_MAX]. */
static inline uint32_t chan_nchunks(uint64_t capacity) {
  uint32_t n = CHAN_CHUNKS_MIN;
  while (n < CHAN_CHUNKS_MAX && (uint64_t)n * 256 < capacity)
    n <<= 1;
  return n;
}

/* Offset of the send queue (nchunks uint64_t entries), and the control
 * segment's size, a multiple of 4096. */
static inline uint64_t chan_queue_offset(uint32_t nchunks) {
  return CHAN_CHUNKS_OFFSET + (uint64_t)nchunks * sizeof(struct chan_chunk);
}
static inline uint64_t chan_ctl_size(uint32_t nchunks) {
  return (chan_queue_offset(nchunks) + (uint64_t)nchunks * 8 + 4095) & ~(uint64_t)4095;
}

/* Is h (mapped over size bytes) a header this code can use, for a ring of
 * ring_size bytes (0: not known)? Read with plain loads once: the caller
 * copies the constant fields it uses after this. */
static inline bool chan_header_valid(const struct chan_header *h, uint64_t size,
                                     uint64_t ring_size) {
  uint32_t n = h->nchunks;
  return size >= sizeof *h && h->magic == CHAN_MAGIC && h->version == CHAN_VERSION &&
         h->nparts == CHAN_PARTS && n >= CHAN_CHUNKS_MIN && n <= CHAN_CHUNKS_MAX &&
         (n & (n - 1)) == 0 && h->ctl_size == chan_ctl_size(n) && size >= h->ctl_size &&
         h->capacity >= CHAN_MIN && h->capacity % CHAN_ALIGN == 0 &&
         (ring_size == 0 || h->capacity == ring_size);
}

static inline struct chan_part *chan_parts(void *base) {
  return (struct chan_part *)((char *)base + CHAN_PARTS_OFFSET);
}
static inline struct chan_chunk *chan_chunks(void *base) {
  return (struct chan_chunk *)((char *)base + CHAN_CHUNKS_OFFSET);
}
static inline uint64_t *chan_queue(void *base, uint32_t nchunks) {
  return (uint64_t *)((char *)base + chan_queue_offset(nchunks));
}

#endif

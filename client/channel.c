/* SPDX-License-Identifier: MIT */
/*
 * channel.c: channels, a queue of messages in shared memory (shmview.h,
 * "channels"; docs/architecture.md says why it is built this way and
 * docs/dataplane.md lays out the memory).
 *
 * A handle maps the control memory NAME.ctl (read-write, through the lease
 * channel_open answers with, which is also how the daemon learns that this
 * participant died) and the ring NAME (read-write for a sender, read-only
 * for a receiver) once; every loan and received message is a view into the
 * ring's mapping carrying a reference to its message (struct client_msg),
 * so a message costs no mmap and no daemon round trip.
 *
 * The control memory's words are guarded by its lock, a futex word holding
 * the owner's slot + 1. Every participant may write them, so each value is
 * checked against the ring's bounds (taken once from the header at open)
 * before it is used: a check that fails is -EBADMSG, never a fault.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "client-internal.h"

#define LOCK_SPINS       100
#define NONBLOCK_LOCK_NS 100000000 /* a "do not wait" call still waits this long for the lock */
/* How long calls with no timeout of their own (send_view, release, close)
 * wait for the lock: it is held for microseconds, and a dead holder's is
 * released by the daemon, so only a hostile participant makes this run
 * out; the call then gives up rather than hang (the space it would have
 * given back stays taken until this participant ends). */
#define BRIEF_LOCK_NS    2000000000
#define MSG_MAX          ((uint64_t)UINT32_MAX & ~(uint64_t)(CHAN_ALIGN - 1))
/* shmv_channel_send copies a message this short inside the critical section
 * that loans and queues it (one lock round trip, no view); a longer one is
 * copied outside the lock, so that the others do not wait for the copy. */
#define COPY_LOCKED_MAX  4096
/* empty_seen (channel_recv): the published count seen with the queue
 * empty, valid with this bit. */
#define EMPTY_SEEN       ((uint64_t)1 << 32)

struct spill {
  struct spill *next;
  shmv_view *view; /* the sender's view of the ephemeral segment */
  uint64_t seq;    /* the ring message naming it */
};

struct shmv_channel {
  atomic_uint refs; /* the handle + one per message view out */
  shmv_client *c;
  shmv_view *ctl, *ring;
  struct chan_header *h;
  struct chan_part *parts;
  struct chan_chunk *chunks;
  uint64_t *queue;
  char *bytes;         /* the ring's first byte */
  uint64_t cap;        /* from the header, checked at open, never read again */
  uint32_t nchunks;    /* likewise */
  uint32_t me;         /* our slot */
  unsigned roles;      /* CHAN_ROLE_* still held */
  int64_t spin_ns;     /* shmv_channel_set_spin */
  uint64_t empty_seen; /* EMPTY_SEEN | published when recv last found the queue empty (atomic) */
  pthread_mutex_t spill_lock;
  struct spill *spills;
  uint64_t spill_count;
  char name[SHMV_NAME_MAX + 1];
};

struct client_msg {
  atomic_uint refs; /* views of it (the message's and its slices) */
  struct shmv_channel *ch;
  uint64_t seq;
  bool loan;
  atomic_bool sent; /* a loan sent: its space is the receiver's now */
};

/* The participant is not this process's to act for: a forked child's copy
 * of the handle, or one whose client was disconnected (its lease, and so
 * its slot, ended then: the slot may be another participant's now). */
static bool detached(const struct shmv_channel *ch) {
  return client_foreign(ch->c) || __atomic_load_n(&ch->c->state, __ATOMIC_RELAXED) == CLIENT_CLOSED;
}

/* ---- the lock ---- */

/* A lock deadline not read from the clock yet: tv_sec < 0, tv_nsec the
 * wait in ns. The lock is nearly always free or taken within the spin, so
 * the calls that wait a fixed while for it read the clock only then. */
static void relative_deadline(int64_t ns, struct timespec *out) {
  out->tv_sec = -1;
  out->tv_nsec = (long)ns;
}

static int lock_ctl(struct shmv_channel *ch, const struct timespec *deadline) {
  uint32_t *w = &ch->h->lock, me = ch->me + 1, v;
  struct timespec abs;

  for (int i = 0; i < LOCK_SPINS; i++) {
    v = 0;
    if (__atomic_compare_exchange_n(w, &v, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return 0;
    client_cpu_relax();
  }
  if (deadline != NULL && deadline->tv_sec < 0) {
    client_deadline(deadline->tv_nsec, &abs);
    deadline = &abs;
  }
  for (;;) {
    v = __atomic_load_n(w, __ATOMIC_RELAXED);
    if (v == 0) {
      /* taken after a sleep: others may sleep too, so say so */
      if (__atomic_compare_exchange_n(w, &v, me | CHAN_LOCK_WAITERS, false, __ATOMIC_ACQUIRE,
                                      __ATOMIC_RELAXED))
        return 0;
      continue;
    }
    if (!(v & CHAN_LOCK_WAITERS)) {
      if (!__atomic_compare_exchange_n(w, &v, v | CHAN_LOCK_WAITERS, false, __ATOMIC_RELAXED,
                                       __ATOMIC_RELAXED))
        continue;
      v |= CHAN_LOCK_WAITERS;
    }
    int rc = client_futex_wait(w, v, deadline);
    if (rc < 0)
      return rc;
  }
}

static void unlock_ctl(struct shmv_channel *ch) {
  if (__atomic_exchange_n(&ch->h->lock, 0, __ATOMIC_RELEASE) & CHAN_LOCK_WAITERS)
    client_futex_wake(&ch->h->lock, 1);
}

/* The lock's deadline for an operation's: a call that will not wait for
 * space still waits a moment for the lock, which is only ever held briefly
 * (unless by a hostile participant). */
static const struct timespec *lock_deadline(int64_t timeout_ns, struct timespec *op,
                                            struct timespec *buf) {
  if (timeout_ns > 0)
    return op;
  if (timeout_ns < 0)
    return NULL;
  relative_deadline(NONBLOCK_LOCK_NS, buf);
  return buf;
}

/* ---- under the lock ---- */

static struct chan_chunk *chunk(struct shmv_channel *ch, uint64_t seq) {
  return &ch->chunks[seq & (ch->nchunks - 1)];
}

/* A chunk's state and owner as one word: its owner frees it without the
 * lock by a compare-and-swap of both (free_chunk). */
typedef uint32_t __attribute__((may_alias)) chunk_word;
_Static_assert(offsetof(struct chan_chunk, state) % 4 == 0 &&
                   offsetof(struct chan_chunk, owner) == offsetof(struct chan_chunk, state) + 2,
               "state and owner share a word");

static chunk_word *chunk_word_of(struct chan_chunk *c) {
  return (chunk_word *)&c->state;
}

static uint32_t chunk_word_make(unsigned state, uint32_t owner) {
  struct {
    uint16_t state, owner;
  } w = { (uint16_t)state, (uint16_t)owner };
  uint32_t v;
  memcpy(&v, &w, sizeof v);
  return v;
}

static unsigned chunk_state(const struct chan_chunk *c) {
  return __atomic_load_n(&c->state, __ATOMIC_ACQUIRE) & CHAN_CHUNK_STATE;
}

/* The ring's words, read once and checked. */
struct ring_words {
  uint64_t head, tail, alloc, free, qh, qt;
};

static int read_words(struct shmv_channel *ch, struct ring_words *r) {
  struct chan_header *h = ch->h;
  r->head = h->head;
  r->tail = h->tail;
  r->alloc = h->alloc_seq;
  r->free = h->free_seq;
  r->qh = h->q_head;
  r->qt = h->q_tail;
  if (r->tail > r->head || r->head - r->tail > ch->cap || r->free > r->alloc ||
      r->alloc - r->free > ch->nchunks || r->qh > r->qt || r->qt - r->qh > ch->nchunks)
    return -EBADMSG;
  return 0;
}

/* Does chunk c (in [free, alloc)) lie inside the part of the ring in use? */
static bool chunk_sane(const struct shmv_channel *ch, const struct ring_words *r,
                       const struct chan_chunk *c) {
  uint64_t pos = c->pos, alen = chan_alen(c->len);
  return c->len > 0 && alen <= ch->cap && pos >= r->tail && pos <= r->head &&
         alen <= r->head - pos && pos % ch->cap + alen <= ch->cap;
}

/* Move the tail over the free chunks at its end, and the head back over
 * those at its end; *moved if either moved. */
static int advance_tail(struct shmv_channel *ch, struct ring_words *r, bool *moved) {
  while (r->free < r->alloc) {
    struct chan_chunk *c = chunk(ch, r->free);
    if (chunk_state(c) != CHAN_CHUNK_FREE)
      break;
    if (!chunk_sane(ch, r, c))
      return -EBADMSG;
    r->tail = c->pos + chan_alen(c->len);
    r->free++;
    *moved = true;
  }
  /* Free chunks at the head end go back too (a loan given back unsent, a
   * dead sender's): the next loan reuses their space at once rather than
   * after a lap of the ring. */
  bool retracted = false;
  while (r->alloc > r->free) {
    struct chan_chunk *c = chunk(ch, r->alloc - 1);
    if (chunk_state(c) != CHAN_CHUNK_FREE)
      break;
    r->alloc--;
    retracted = true;
  }
  if (retracted) {
    if (r->alloc == r->free) {
      r->head = r->tail;
    } else {
      struct chan_chunk *c = chunk(ch, r->alloc - 1);
      if (!chunk_sane(ch, r, c))
        return -EBADMSG;
      r->head = c->pos + chan_alen(c->len);
    }
    ch->h->head = r->head;
    __atomic_store_n(&ch->h->alloc_seq, r->alloc, __ATOMIC_RELEASE);
    *moved = true;
  }
  if (*moved) {
    ch->h->tail = r->tail;
    __atomic_store_n(&ch->h->free_seq, r->free, __ATOMIC_RELEASE);
  }
  return 0;
}

static void wake_senders(struct shmv_channel *ch) {
  __atomic_fetch_add(&ch->h->freed, 1, __ATOMIC_RELEASE);
  if (__atomic_load_n(&ch->h->send_waiters, __ATOMIC_ACQUIRE) != 0)
    client_futex_wake(&ch->h->freed, SHMV_WAKE_ALL);
}

static void wake_receivers(struct shmv_channel *ch, int count) {
  __atomic_fetch_add(&ch->h->published, 1, __ATOMIC_RELEASE);
  if (__atomic_load_n(&ch->h->recv_waiters, __ATOMIC_ACQUIRE) != 0)
    client_futex_wake(&ch->h->published, count);
}

static void drop_count(uint32_t *w) {
  uint32_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
  while (v > 0 &&
         !__atomic_compare_exchange_n(w, &v, v - 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    ;
}

/* Give back what participant `slot` owns: its loans and the messages it
 * received (those it sent stay queued for the others). */
static void free_owned(struct shmv_channel *ch, const struct ring_words *r, uint32_t slot) {
  for (uint64_t s = r->free; s < r->alloc; s++) {
    struct chan_chunk *c = chunk(ch, s);
    unsigned st = chunk_state(c);
    if (c->owner == slot && (st == CHAN_CHUNK_LOANED || st == CHAN_CHUNK_RECEIVED))
      __atomic_store_n(&c->state, CHAN_CHUNK_FREE, __ATOMIC_RELEASE);
  }
}

/* The daemon marked participants dead (their connection ended unclosed):
 * free what they held, count them out, and wake everyone, since space may
 * be back and the stream may have ended. Lock held. */
static int reclaim_dead(struct shmv_channel *ch) {
  struct ring_words r;
  bool moved = false;
  int rc;

  if (__atomic_load_n(&ch->h->dead, __ATOMIC_ACQUIRE) == 0)
    return 0;
  __atomic_store_n(&ch->h->dead, 0, __ATOMIC_RELEASE);
  if ((rc = read_words(ch, &r)) < 0)
    return rc;
  for (uint32_t i = 0; i < CHAN_PARTS; i++) {
    struct chan_part *p = &ch->parts[i];
    uint32_t st = CHAN_PART_DEAD;
    if (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) != CHAN_PART_DEAD)
      continue;
    free_owned(ch, &r, i);
    if (p->roles & CHAN_ROLE_SEND)
      drop_count(&ch->h->senders);
    if (p->roles & CHAN_ROLE_RECV)
      drop_count(&ch->h->receivers);
    p->roles = 0;
    __atomic_compare_exchange_n(&p->state, &st, CHAN_PART_FREE, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
  }
  rc = advance_tail(ch, &r, &moved);
  wake_senders(ch);
  wake_receivers(ch, SHMV_WAKE_ALL);
  return rc;
}

/* Take the lock and reclaim what the dead left. */
static int enter(struct shmv_channel *ch, const struct timespec *deadline);

/* enter() for the calls with no timeout of their own. */
static int enter_brief(struct shmv_channel *ch) {
  struct timespec deadline;
  relative_deadline(BRIEF_LOCK_NS, &deadline);
  return enter(ch, &deadline);
}

static int enter(struct shmv_channel *ch, const struct timespec *deadline) {
  int rc = lock_ctl(ch, deadline);
  if (rc < 0)
    return rc;
  if ((rc = reclaim_dead(ch)) < 0) {
    unlock_ctl(ch);
    return rc;
  }
  return 0;
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Spin up to spin_ns while word holds seen: true if it changed. */
static bool spin_on(uint32_t *word, uint32_t seen, int64_t spin_ns) {
  if (spin_ns <= 0)
    return false;
  int64_t start = mono_ns();
  for (unsigned i = 1;; i++) {
    client_cpu_relax();
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != seen)
      return true;
    if (i % 16 == 0 && mono_ns() - start >= spin_ns)
      return false;
  }
}

/* Sleep on word (futex) while it holds what it held under the lock, with
 * waiters counted; the lock is released first and taken again after.
 * Returns 0 (look again) or -ETIMEDOUT (the lock is then not held). */
static int sleep_counted(struct shmv_channel *ch, uint32_t *word, uint32_t seen, uint32_t *waiters,
                         int64_t timeout_ns, const struct timespec *deadline,
                         const struct timespec *ldeadline);

static int sleep_on(struct shmv_channel *ch, uint32_t *word, uint32_t *waiters, int64_t timeout_ns,
                    const struct timespec *deadline, const struct timespec *ldeadline) {
  if (timeout_ns == 0) {
    unlock_ctl(ch);
    return -ETIMEDOUT;
  }
  uint32_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
  __atomic_fetch_add(waiters, 1, __ATOMIC_ACQ_REL);
  return sleep_counted(ch, word, seen, waiters, timeout_ns, deadline, ldeadline);
}

/* sleep_on's second half, for a caller that counted itself in waiters
 * and read seen already (the lock held; it is released first). */
static int sleep_counted(struct shmv_channel *ch, uint32_t *word, uint32_t seen, uint32_t *waiters,
                         int64_t timeout_ns, const struct timespec *deadline,
                         const struct timespec *ldeadline) {
  unlock_ctl(ch);
  int rc = spin_on(word, seen, ch->spin_ns)
               ? 0
               : client_futex_wait(word, seen, timeout_ns > 0 ? deadline : NULL);
  drop_count(waiters);
  if (rc < 0)
    return rc;
  return enter(ch, ldeadline);
}

/* ---- messages ---- */

static void channel_unref(struct shmv_channel *ch);

void client_msg_ref(struct client_msg *m) {
  atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

/* Give chunk seq back (ours, in state st: loaned or received), without the
 * lock: one compare-and-swap of its state and owner, which fails if the
 * record is not ours in that state any more (reclaimed, or overwritten by a
 * hostile participant). The next loan moves the tail over it (advance_tail,
 * under the lock); a sender asleep for space is woken here. The swap and
 * the load of send_waiters pair with loan's count-then-look (both full
 * barriers): either this sees the waiter, or the waiter sees the chunk free. */
static void free_chunk(struct shmv_channel *ch, uint64_t seq, unsigned st) {
  struct chan_chunk *c = chunk(ch, seq);
  uint32_t want = chunk_word_make(st, ch->me);
  if (!__atomic_compare_exchange_n(chunk_word_of(c), &want,
                                   chunk_word_make(CHAN_CHUNK_FREE, ch->me), false,
                                   __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
    return;
  if (__atomic_load_n(&ch->h->send_waiters, __ATOMIC_SEQ_CST) != 0)
    wake_senders(ch);
}

void client_msg_unref(struct client_msg *m) {
  if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
    return;
  struct shmv_channel *ch = m->ch;
  if (!atomic_load(&m->sent) && !detached(ch))
    free_chunk(ch, m->seq, m->loan ? CHAN_CHUNK_LOANED : CHAN_CHUNK_RECEIVED);
  free(m);
  channel_unref(ch);
}

/* A view of the chunk at pos of len bytes, carrying a new message. */
static shmv_view *message_view(struct shmv_channel *ch, uint64_t seq, uint64_t pos, uint32_t len,
                               bool loan) {
  struct client_msg *m = malloc(sizeof *m);
  shmv_view *v = m ? client_view_window(ch->ring, (size_t)(pos % ch->cap), len) : NULL;
  if (v == NULL) {
    free(m);
    return NULL;
  }
  atomic_init(&m->refs, 1);
  atomic_init(&m->sent, false);
  m->ch = ch;
  m->seq = seq;
  m->loan = loan;
  atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
  v->msg = m;
  v->readonly = !loan;
  return v;
}

/* ---- open and close ---- */

static int channel_open(shmv_client *c, const char *name, int flags, shmv_channel **out) {
  if (out == NULL)
    return -EINVAL;
  *out = NULL;
  if (c == NULL || flags == 0 || (flags & ~(SHMV_SEND | SHMV_RECV)) != 0)
    return -EINVAL;
  if (shmv_name_check(name) < 0 || strlen(name) > SHMV_CHANNEL_NAME_MAX)
    return -EINVAL;
  struct shmv_channel *ch = calloc(1, sizeof *ch);
  if (ch == NULL)
    return -ENOMEM;

  struct proto_request req;
  struct proto_view answer;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_CHANNEL_OPEN;
  snprintf(req.name, sizeof req.name, "%s", name);
  req.flags = ((flags & SHMV_SEND) ? PROTO_CHANNEL_SEND : 0) |
              ((flags & SHMV_RECV) ? PROTO_CHANNEL_RECV : 0);
  /* what the answer must say: all of NAME.ctl, writable */
  req.offset = 0;
  req.length = PROTO_TO_END;
  req.writable = true;
  int rc = client_view_request(c, &req, false, &ch->ctl, &answer);
  if (rc < 0) {
    free(ch);
    return rc;
  }
  rc = shmv_view_open(c, name, 0, SHMV_TO_END, (flags & SHMV_SEND) ? SHMV_WRITABLE : 0, &ch->ring);
  if (rc < 0)
    goto fail;
  struct chan_header *h = shmv_view_data(ch->ctl);
  size_t ctl_len = shmv_view_length(ch->ctl), ring_len = shmv_view_length(ch->ring);
  if (h == NULL || answer.participant >= CHAN_PARTS || !chan_header_valid(h, ctl_len, ring_len)) {
    rc = -EBADMSG;
    goto fail;
  }
  ch->c = c;
  ch->h = h;
  ch->cap = h->capacity;
  ch->nchunks = h->nchunks;
  ch->parts = chan_parts(h);
  ch->chunks = chan_chunks(h);
  ch->queue = chan_queue(h, ch->nchunks);
  ch->bytes = shmv_view_data(ch->ring);
  ch->me = answer.participant;
  ch->roles =
      ((flags & SHMV_SEND) ? CHAN_ROLE_SEND : 0) | ((flags & SHMV_RECV) ? CHAN_ROLE_RECV : 0);
  atomic_init(&ch->refs, 1);
  pthread_mutex_init(&ch->spill_lock, NULL);
  snprintf(ch->name, sizeof ch->name, "%s", name);
  *out = ch;
  return 0;

fail:
  /* Ending the lease tells the daemon: the slot is marked dead and
   * reclaimed, as for a participant that died. */
  shmv_view_release(ch->ring);
  shmv_view_release(ch->ctl);
  free(ch);
  return rc;
}

int shmv_channel_open(shmv_client *c, const char *name, int flags, shmv_channel **out) {
  return client_result(c, channel_open(c, name, flags, out));
}

/* The last reference: the participant ends (its slot closed, then its
 * lease on NAME.ctl released, which frees the slot in the daemon). */
static void channel_unref(struct shmv_channel *ch) {
  if (atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (!detached(ch) && enter_brief(ch) == 0) {
    struct ring_words r;
    bool moved = false;
    if (read_words(ch, &r) == 0) {
      free_owned(ch, &r, ch->me);
      advance_tail(ch, &r, &moved);
    }
    struct chan_part *p = &ch->parts[ch->me];
    if (ch->roles & CHAN_ROLE_SEND)
      drop_count(&ch->h->senders);
    if (ch->roles & CHAN_ROLE_RECV)
      drop_count(&ch->h->receivers);
    p->roles = 0;
    uint32_t live = CHAN_PART_LIVE;
    __atomic_compare_exchange_n(&p->state, &live, CHAN_PART_CLOSED, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
    unlock_ctl(ch);
    if (moved)
      wake_senders(ch);
  }
  shmv_view_release(ch->ring);
  shmv_view_release(ch->ctl);
  pthread_mutex_destroy(&ch->spill_lock);
  free(ch);
}

static void spills_collect(struct shmv_channel *ch, bool all);

void shmv_channel_close(shmv_channel *ch) {
  if (ch == NULL)
    return;
  if (!detached(ch)) {
    spills_collect(ch, true);
    /* A sender is gone at once: receivers must learn of the end of the
     * stream even while this process still holds messages. */
    if ((ch->roles & CHAN_ROLE_SEND) && enter_brief(ch) == 0) {
      ch->roles &= ~CHAN_ROLE_SEND;
      ch->parts[ch->me].roles &= ~CHAN_ROLE_SEND;
      drop_count(&ch->h->senders);
      unlock_ctl(ch);
      wake_receivers(ch, SHMV_WAKE_ALL);
    }
  }
  channel_unref(ch);
}

/* ---- sending ---- */

static int check_op(const struct shmv_channel *ch, unsigned role) {
  if (ch == NULL)
    return -EINVAL;
  if (client_foreign(ch->c))
    return -ECHILD;
  if (detached(ch))
    return -ENOTCONN;
  if (!(ch->roles & role))
    return -EBADF;
  return 0;
}

/* Loan length bytes (checked by the caller): chunk *seq at byte position
 * *pos. On success the lock is held. */
static int reserve(struct shmv_channel *ch, size_t length, int64_t timeout_ns, uint64_t *seq,
                   uint64_t *pos) {
  uint64_t alen = chan_alen(length);
  struct timespec deadline, lbuf;
  if (timeout_ns > 0)
    client_deadline(timeout_ns, &deadline);
  const struct timespec *ld = lock_deadline(timeout_ns, &deadline, &lbuf);
  int rc = enter(ch, ld);
  if (rc < 0)
    return rc;
  struct ring_words r;
  uint64_t start;
  bool waiting = false; /* counted in send_waiters */
  uint32_t seen = 0;
  for (;;) {
    bool moved = false;
    /* owners free their chunks without the lock: sweep them first */
    if ((rc = read_words(ch, &r)) < 0 || (rc = advance_tail(ch, &r, &moved)) < 0) {
      unlock_ctl(ch);
      if (waiting)
        drop_count(&ch->h->send_waiters);
      return rc;
    }
    uint64_t off = r.head % ch->cap;
    start = off + alen > ch->cap ? r.head + (ch->cap - off) : r.head;
    /* Empty: begin a new lap at the ring's start, rather than wait for
     * space that an empty ring cannot give back, and rather than move on
     * into memory no recent message touched: as a pool hands out the chunk
     * it got back last, a message that follows the one just released
     * reuses its cache-warm bytes (a byte ring would otherwise stream its
     * whole capacity through the caches, 1.26x the floor at 16 MiB). */
    if (r.alloc == r.free && off != 0)
      start = r.head + (ch->cap - off);
    if (r.alloc == r.free && start != r.head) {
      r.head = r.tail = start;
      ch->h->tail = start;
      ch->h->head = start;
    }
    if (start + alen - r.tail <= ch->cap && r.alloc - r.free < ch->nchunks)
      break;
    if (timeout_ns == 0) {
      unlock_ctl(ch);
      return -ETIMEDOUT;
    }
    if (!waiting) {
      /* Count ourselves in, then look once more: a chunk freed (without
       * the lock) before the count is seen by that look, one freed after
       * it bumps freed (free_chunk). */
      __atomic_fetch_add(&ch->h->send_waiters, 1, __ATOMIC_SEQ_CST);
      __atomic_thread_fence(__ATOMIC_SEQ_CST);
      seen = __atomic_load_n(&ch->h->freed, __ATOMIC_ACQUIRE);
      waiting = true;
      continue;
    }
    rc = sleep_counted(ch, &ch->h->freed, seen, &ch->h->send_waiters, timeout_ns, &deadline, ld);
    waiting = false;
    if (rc < 0)
      return rc;
  }
  if (waiting)
    drop_count(&ch->h->send_waiters);
  struct chan_chunk *c = chunk(ch, r.alloc);
  c->pos = start;
  c->len = (uint32_t)length;
  c->owner = (uint16_t)ch->me;
  __atomic_store_n(&c->state, CHAN_CHUNK_LOANED, __ATOMIC_RELAXED);
  /* committed by these two: a participant killed before them loaned nothing */
  ch->h->head = start + alen;
  __atomic_store_n(&ch->h->alloc_seq, r.alloc + 1, __ATOMIC_RELEASE);
  *seq = r.alloc;
  *pos = start;
  return 0;
}

static int check_length(const struct shmv_channel *ch, size_t length) {
  if (length == 0)
    return -EINVAL;
  if (length > ch->cap || length > MSG_MAX)
    return -EMSGSIZE;
  return 0;
}

static int loan(struct shmv_channel *ch, size_t length, int64_t timeout_ns, shmv_view **out) {
  if (out == NULL)
    return -EINVAL;
  *out = NULL;
  int rc = check_op(ch, CHAN_ROLE_SEND);
  if (rc < 0 || (rc = check_length(ch, length)) < 0)
    return rc;
  uint64_t seq, pos;
  if ((rc = reserve(ch, length, timeout_ns, &seq, &pos)) < 0)
    return rc;
  unlock_ctl(ch);
  shmv_view *v = message_view(ch, seq, pos, (uint32_t)length, true);
  if (v == NULL) {
    free_chunk(ch, seq, CHAN_CHUNK_LOANED);
    return -ENOMEM;
  }
  *out = v;
  return 0;
}

int shmv_channel_loan(shmv_channel *ch, size_t length, int64_t timeout_ns, shmv_view **out) {
  return client_result(ch ? ch->c : NULL, loan(ch, length, timeout_ns, out));
}

/* Queue chunk seq (our loan); spill: its bytes name a segment. Lock held. */
static int enqueue(struct shmv_channel *ch, uint64_t seq, bool spill) {
  struct ring_words r;
  int rc = read_words(ch, &r);
  if (rc < 0)
    return rc;
  struct chan_chunk *c = chunk(ch, seq);
  if (seq < r.free || seq >= r.alloc || c->owner != ch->me || chunk_state(c) != CHAN_CHUNK_LOANED ||
      r.qt - r.qh >= ch->nchunks)
    return -EBADMSG;
  ch->queue[r.qt & (ch->nchunks - 1)] = seq;
  __atomic_store_n(&c->state, CHAN_CHUNK_QUEUED | (spill ? CHAN_CHUNK_SPILL : 0), __ATOMIC_RELAXED);
  __atomic_store_n(&ch->h->q_tail, r.qt + 1, __ATOMIC_RELEASE);
  return 0;
}

static int publish(struct shmv_channel *ch, uint64_t seq, bool spill) {
  int rc = enter_brief(ch);
  if (rc < 0)
    return rc;
  rc = enqueue(ch, seq, spill);
  unlock_ctl(ch);
  if (rc == 0)
    wake_receivers(ch, 1);
  return rc;
}

static int send_view(struct shmv_channel *ch, shmv_view *v, bool spill) {
  int rc = check_op(ch, CHAN_ROLE_SEND);
  if (rc < 0)
    return rc;
  struct client_msg *m = v ? v->msg : NULL;
  if (m == NULL || m->ch != ch || !m->loan || atomic_load(&m->sent))
    return -EINVAL;
  rc = publish(ch, m->seq, spill);
  /* sent, or lost to a corrupt control memory: the space is not ours now */
  atomic_store(&m->sent, true);
  shmv_view_release(v);
  return rc;
}

int shmv_channel_send_view(shmv_channel *ch, shmv_view *loan) {
  return client_result(ch ? ch->c : NULL, send_view(ch, loan, false));
}

/* Release the spilled segments whose ring message a receiver has taken
 * and released (it opened the segment first); all: every one. */
static void spills_collect(struct shmv_channel *ch, bool all) {
  pthread_mutex_lock(&ch->spill_lock);
  uint64_t free_seq = __atomic_load_n(&ch->h->free_seq, __ATOMIC_ACQUIRE);
  struct spill **pp = &ch->spills;
  while (*pp != NULL) {
    struct spill *s = *pp;
    if (all || s->seq < free_seq || chunk_state(chunk(ch, s->seq)) == CHAN_CHUNK_FREE) {
      *pp = s->next;
      shmv_view_release(s->view);
      free(s);
    } else {
      pp = &s->next;
    }
  }
  pthread_mutex_unlock(&ch->spill_lock);
}

/* A message longer than the ring: an ephemeral segment of its own, its
 * name sent through the ring, kept by this sender until a receiver has
 * opened it (spills_collect). */
static int send_spilled(struct shmv_channel *ch, const void *buf, size_t length,
                        int64_t timeout_ns) {
  char name[SHMV_NAME_MAX + 1];
  unsigned long long n = __atomic_fetch_add(&ch->spill_count, 1, __ATOMIC_RELAXED);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(name, sizeof name, "shmv-spill-%ld-%llu-%lx", (long)getpid(), n,
           (unsigned long)ts.tv_nsec);
  shmv_view *seg;
  int rc = shmv_view_create(ch->c, name, length, 0600, SHMV_CREATE_EPHEMERAL, &seg);
  if (rc < 0)
    return rc;
  memcpy(shmv_view_data(seg), buf, length);
  shmv_view *v;
  if ((rc = loan(ch, strlen(name), timeout_ns, &v)) < 0) {
    shmv_view_release(seg);
    return rc;
  }
  memcpy(shmv_view_data(v), name, strlen(name));
  struct spill *s = malloc(sizeof *s);
  if (s == NULL) {
    shmv_view_release(v);
    shmv_view_release(seg);
    return -ENOMEM;
  }
  s->view = seg;
  s->seq = v->msg->seq;
  if ((rc = send_view(ch, v, true)) < 0) {
    shmv_view_release(seg);
    free(s);
    return rc;
  }
  pthread_mutex_lock(&ch->spill_lock);
  s->next = ch->spills;
  ch->spills = s;
  pthread_mutex_unlock(&ch->spill_lock);
  return 0;
}

static int channel_send(struct shmv_channel *ch, const void *buf, size_t length,
                        int64_t timeout_ns) {
  int rc = check_op(ch, CHAN_ROLE_SEND);
  if (rc < 0)
    return rc;
  if (length == 0 || buf == NULL)
    return -EINVAL;
  if (ch->spills != NULL)
    spills_collect(ch, false);
  if (length > ch->cap || length > MSG_MAX)
    return send_spilled(ch, buf, length, timeout_ns);
  if (length <= COPY_LOCKED_MAX) {
    /* loan, fill and queue in one critical section, with no view */
    uint64_t seq, pos;
    if ((rc = reserve(ch, length, timeout_ns, &seq, &pos)) < 0)
      return rc;
    memcpy(ch->bytes + pos % ch->cap, buf, length);
    rc = enqueue(ch, seq, false);
    unlock_ctl(ch);
    if (rc == 0)
      wake_receivers(ch, 1);
    return rc;
  }
  shmv_view *v;
  if ((rc = loan(ch, length, timeout_ns, &v)) < 0)
    return rc;
  memcpy(shmv_view_data(v), buf, length);
  return send_view(ch, v, false);
}

int shmv_channel_send(shmv_channel *ch, const void *buf, size_t length, int64_t timeout_ns) {
  return client_result(ch ? ch->c : NULL, channel_send(ch, buf, length, timeout_ns));
}

static int channel_flush(struct shmv_channel *ch, int64_t timeout_ns) {
  int rc = check_op(ch, CHAN_ROLE_SEND);
  if (rc < 0)
    return rc;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    spills_collect(ch, false);
    if (__atomic_load_n(&ch->spills, __ATOMIC_ACQUIRE) == NULL)
      return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t spent =
        (int64_t)(now.tv_sec - start.tv_sec) * 1000000000 + (now.tv_nsec - start.tv_nsec);
    if (timeout_ns >= 0 && spent >= timeout_ns)
      return -ETIMEDOUT;
    /* a receiver frees the naming message right after opening the segment;
     * rare and large: a poll is enough */
    usleep(1000);
  }
}

int shmv_channel_flush(shmv_channel *ch, int64_t timeout_ns) {
  return client_result(ch ? ch->c : NULL, channel_flush(ch, timeout_ns));
}

/* ---- receiving ---- */

/* The message in a spilled chunk's bytes: a view of the segment it names. */
static int open_spilled(struct shmv_channel *ch, shmv_view *ringmsg, shmv_view **out) {
  char name[SHMV_NAME_MAX + 1];
  size_t n = shmv_view_length(ringmsg);
  if (n == 0 || n > SHMV_NAME_MAX) {
    shmv_view_release(ringmsg);
    return -EBADMSG;
  }
  memcpy(name, shmv_view_data(ringmsg), n);
  name[n] = '\0';
  int rc =
      shmv_name_check(name) < 0 ? -EBADMSG : shmv_view_open(ch->c, name, 0, SHMV_TO_END, 0, out);
  /* our view keeps the segment now: the sender may let go of it */
  shmv_view_release(ringmsg);
  return rc;
}

static int channel_recv(struct shmv_channel *ch, int64_t timeout_ns, shmv_view **out) {
  if (out == NULL)
    return -EINVAL;
  *out = NULL;
  int rc = check_op(ch, CHAN_ROLE_RECV);
  if (rc < 0)
    return rc;
  struct timespec deadline, lbuf;
  if (timeout_ns > 0)
    client_deadline(timeout_ns, &deadline);
  /* Polling: nothing published since the queue was last seen empty here
   * is an empty queue, told without the lock. Every send, a sender's close
   * and a participant's death bump published (the last by the daemon), so
   * a message, an end of stream or a death to reclaim takes the lock. */
  uint32_t pub = __atomic_load_n(&ch->h->published, __ATOMIC_ACQUIRE);
  if (timeout_ns == 0 && __atomic_load_n(&ch->empty_seen, __ATOMIC_RELAXED) == (EMPTY_SEEN | pub))
    return -ETIMEDOUT;
  const struct timespec *ld = lock_deadline(timeout_ns, &deadline, &lbuf);
  if ((rc = enter(ch, ld)) < 0)
    return rc;
  struct ring_words r;
  for (;;) {
    if ((rc = read_words(ch, &r)) < 0) {
      unlock_ctl(ch);
      return rc;
    }
    if (r.qh != r.qt) {
      /* A receiver that died inside recv, after marking the entry's chunk
       * received and before moving q_head, left an entry whose chunk its
       * reclaim has freed (or the tail has passed): skip it. */
      uint64_t s = ch->queue[r.qh & (ch->nchunks - 1)];
      if (s < r.free || (s < r.alloc && chunk_state(chunk(ch, s)) == CHAN_CHUNK_FREE)) {
        __atomic_store_n(&ch->h->q_head, r.qh + 1, __ATOMIC_RELEASE);
        continue;
      }
      break;
    }
    if (__atomic_load_n(&ch->h->ever_sent, __ATOMIC_ACQUIRE) &&
        __atomic_load_n(&ch->h->senders, __ATOMIC_ACQUIRE) == 0) {
      unlock_ctl(ch);
      return -EPIPE;
    }
    if (timeout_ns == 0)
      __atomic_store_n(&ch->empty_seen, EMPTY_SEEN | pub, __ATOMIC_RELAXED);
    rc = sleep_on(ch, &ch->h->published, &ch->h->recv_waiters, timeout_ns, &deadline, ld);
    if (rc < 0)
      return rc;
  }
  uint64_t seq = ch->queue[r.qh & (ch->nchunks - 1)];
  struct chan_chunk *c = chunk(ch, seq);
  uint16_t state = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
  uint64_t pos = c->pos;
  uint32_t len = c->len;
  if (seq < r.free || seq >= r.alloc || (state & CHAN_CHUNK_STATE) != CHAN_CHUNK_QUEUED ||
      !chunk_sane(ch, &r, c)) {
    __atomic_store_n(&ch->h->q_head, r.qh + 1, __ATOMIC_RELEASE);
    unlock_ctl(ch);
    return -EBADMSG; /* that entry is gone; the next recv takes the next */
  }
  /* The chunk becomes ours before the entry leaves the queue: dying
   * between the two leaves a received chunk that the reclaim of our slot
   * frees (and an entry the next recv skips), never a chunk no one owns. */
  __atomic_store_n(chunk_word_of(c), chunk_word_make(CHAN_CHUNK_RECEIVED, ch->me),
                   __ATOMIC_RELEASE);
  __atomic_store_n(&ch->h->q_head, r.qh + 1, __ATOMIC_RELEASE);
  unlock_ctl(ch);
  shmv_view *v = message_view(ch, seq, pos, len, false);
  if (v == NULL) {
    free_chunk(ch, seq, CHAN_CHUNK_RECEIVED);
    return -ENOMEM;
  }
  if (state & CHAN_CHUNK_SPILL)
    return open_spilled(ch, v, out);
  *out = v;
  return 0;
}

int shmv_channel_recv(shmv_channel *ch, int64_t timeout_ns, shmv_view **out) {
  return client_result(ch ? ch->c : NULL, channel_recv(ch, timeout_ns, out));
}

int shmv_channel_set_spin(shmv_channel *ch, int64_t spin_ns) {
  if (ch == NULL || spin_ns < 0)
    return -EINVAL;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  ch->spin_ns = cpus > 1 ? spin_ns : 0;
  return 0;
}

/* ---- stat ---- */

int shmv_channel_stat_sized(const shmv_channel *ch, shmv_channel_info *out, size_t info_size) {
  if (ch == NULL || out == NULL || info_size < sizeof(uint64_t) * 4 + sizeof(uint32_t) * 3)
    return -EINVAL;
  shmv_channel_info i;
  memset(&i, 0, sizeof i);
  /* Chunks are freed without the lock and swept by the next loan: sweep
   * them here, so that used counts only the space still held. */
  struct shmv_channel *mch = (struct shmv_channel *)ch;
  if (!detached(ch) && enter_brief(mch) == 0) {
    struct ring_words r;
    bool moved = false;
    if (read_words(mch, &r) == 0)
      advance_tail(mch, &r, &moved);
    unlock_ctl(mch);
    if (moved)
      wake_senders(mch);
  }
  const struct chan_header *h = ch->h;
  uint64_t qh = __atomic_load_n(&h->q_head, __ATOMIC_ACQUIRE);
  uint64_t qt = __atomic_load_n(&h->q_tail, __ATOMIC_ACQUIRE);
  uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
  uint64_t head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
  i.capacity = ch->cap;
  i.max_message = ch->cap < MSG_MAX ? ch->cap : MSG_MAX;
  i.depth = qt >= qh && qt - qh <= ch->nchunks ? qt - qh : 0;
  i.used = head >= tail && head - tail <= ch->cap ? head - tail : 0;
  i.senders = __atomic_load_n(&h->senders, __ATOMIC_RELAXED);
  i.receivers = __atomic_load_n(&h->receivers, __ATOMIC_RELAXED);
  i.participant = ch->me;
  client_copy_sized(out, info_size, &i, sizeof i);
  return 0;
}

/* ---- create ---- */

int shmv_channel_create(shmv_client *c, const char *name, size_t capacity, unsigned mode,
                        unsigned flags) {
  if (c == NULL || (flags & ~(unsigned)SHMV_SEALED) != 0 || shmv_name_check(name) < 0 ||
      strlen(name) > SHMV_CHANNEL_NAME_MAX || capacity < SHMV_CHANNEL_MIN || mode > 0777)
    return client_result(c, -EINVAL);
  struct proto_request req;
  struct proto_response resp;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_CHANNEL_CREATE;
  snprintf(req.name, sizeof req.name, "%s", name);
  req.size = (uint64_t)capacity;
  req.mode = mode == 0 ? 0600 : mode;
  req.flags = flags & PROTO_CREATE_SEALED;
  int rc = client_request(c, &req, &resp, NULL);
  if (rc == 0)
    proto_response_free(&resp);
  return client_result(c, rc);
}

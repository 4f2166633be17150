/* SPDX-License-Identifier: MIT */
/*
 * channel.c: what the daemon does inside a channel's control memory
 * (proto/channel.h), and nothing else: write the header of a new one,
 * give a new participant a slot, mark a participant whose connection ended
 * unclosed as dead (releasing the lock if it held it, and waking every
 * waiter so that the next locker reclaims what it held), and read the
 * counts for stat. The queue itself is the library's (client/channel.c).
 *
 * Participants may write all of this memory, so each call maps it afresh
 * from the descriptor, checks the header before using anything in it, reads
 * each index once and checks it, and loops at most over the slot table.
 * A participant that truncates the object would make this mapping fault:
 * the size is checked first, and a fault in between is caught (SIGBUS) and
 * turned into an error rather than the daemon's end.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "channel.h"
#include "daemon-channel.h"
#include "log.h"

static __thread sigjmp_buf *guard;

static void on_sigbus(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  (void)ctx;
  if (guard != NULL)
    siglongjmp(*guard, 1);
  /* not ours: the default action, as if no handler were installed */
  signal(sig, SIG_DFL);
  raise(sig);
}

static void guard_install(void) {
  static bool done;
  struct sigaction sa;

  if (done)
    return;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, NULL);
  done = true;
}

static void wake_all(uint32_t *word) {
  syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Map the control object behind fd, of the size the registry records (a
 * participant may have changed the object's), or NULL. */
static void *map_ctl(int fd, uint64_t want, uint64_t *size) {
  struct stat st;
  void *p;

  if (want < CHAN_CHUNKS_OFFSET || fstat(fd, &st) != 0 || (uint64_t)st.st_size < want)
    return NULL;
  *size = want;
  p = mmap(NULL, (size_t)*size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? NULL : p;
}

int dchan_init(int fd, uint64_t capacity) {
  uint32_t n = chan_nchunks(capacity);
  uint64_t size;
  struct chan_header *h = map_ctl(fd, chan_ctl_size(n), &size);
  int rc = 0;

  if (h == NULL)
    return -EIO;
  if (size < chan_ctl_size(n)) {
    rc = -EIO;
  } else {
    /* A new object, zero-filled: nobody else maps it yet. */
    h->capacity = capacity;
    h->nchunks = n;
    h->nparts = CHAN_PARTS;
    h->ctl_size = chan_ctl_size(n);
    h->version = CHAN_VERSION;
    __atomic_store_n(&h->magic, CHAN_MAGIC, __ATOMIC_RELEASE);
  }
  munmap(h, (size_t)size);
  return rc;
}

/* Run fn over the validated control memory of fd, under the SIGBUS guard.
 * Returns fn's result, -EBADMSG for a header that does not check, -EIO
 * when it cannot be mapped or faulted. */
static int with_ctl(int fd, uint64_t ctl_size, uint64_t ring_size,
                    int (*fn)(struct chan_header *, void *), void *arg) {
  sigjmp_buf jb;
  uint64_t size;
  struct chan_header *volatile h;
  volatile int rc;

  guard_install();
  h = map_ctl(fd, ctl_size, &size);
  if (h == NULL)
    return -EIO;
  if (sigsetjmp(jb, 1) == 0) {
    guard = &jb;
    rc = chan_header_valid(h, size, ring_size) ? fn(h, arg) : -EBADMSG;
  } else {
    rc = -EIO;
    log_warn("a channel's control memory was truncated under the daemon");
  }
  guard = NULL;
  munmap((void *)h, (size_t)size);
  return rc;
}

struct reg_arg {
  unsigned roles;
  pid_t pid;
  uint64_t start;
};

static int do_register(struct chan_header *h, void *arg) {
  struct reg_arg *a = arg;
  struct chan_part *parts = chan_parts(h);

  for (uint32_t i = 0; i < CHAN_PARTS; i++) {
    uint32_t expect = CHAN_PART_FREE;

    if (!__atomic_compare_exchange_n(&parts[i].state, &expect, CHAN_PART_LIVE, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      continue;
    parts[i].roles = a->roles;
    parts[i].pid = (uint32_t)a->pid;
    parts[i].start = a->start;
    if (a->roles & CHAN_ROLE_SEND) {
      __atomic_fetch_add(&h->senders, 1, __ATOMIC_ACQ_REL);
      __atomic_store_n(&h->ever_sent, 1, __ATOMIC_RELEASE);
    }
    if (a->roles & CHAN_ROLE_RECV)
      __atomic_fetch_add(&h->receivers, 1, __ATOMIC_ACQ_REL);
    return (int)i;
  }
  return -EUSERS;
}

int dchan_register(int fd, uint64_t ctl_size, uint64_t ring_size, unsigned roles, pid_t pid,
                   uint64_t start) {
  struct reg_arg a = { roles, pid, start };

  return with_ctl(fd, ctl_size, ring_size, do_register, &a);
}

static int do_gone(struct chan_header *h, void *arg) {
  uint32_t slot = *(uint32_t *)arg;
  struct chan_part *p = &chan_parts(h)[slot];
  uint32_t st = __atomic_load_n(&p->state, __ATOMIC_ACQUIRE);
  uint32_t lock;

  if (st == CHAN_PART_CLOSED) { /* closed: its slot is free for the next */
    __atomic_compare_exchange_n(&p->state, &st, CHAN_PART_FREE, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
    return 0;
  }
  if (st != CHAN_PART_LIVE || !__atomic_compare_exchange_n(&p->state, &st, CHAN_PART_DEAD, false,
                                                           __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return 0; /* someone wrote it: nothing of ours to undo */
  __atomic_fetch_add(&h->dead, 1, __ATOMIC_ACQ_REL);
  /* It cannot finish what it started under the lock: let the next one in.
   * What it left half done, the next locker checks as any corrupt word. */
  lock = __atomic_load_n(&h->lock, __ATOMIC_ACQUIRE);
  if ((lock & ~CHAN_LOCK_WAITERS) == slot + 1 &&
      __atomic_compare_exchange_n(&h->lock, &lock, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    wake_all(&h->lock);
  /* Everyone who sleeps looks again: space may come back, the stream may end. */
  __atomic_fetch_add(&h->published, 1, __ATOMIC_ACQ_REL);
  __atomic_fetch_add(&h->freed, 1, __ATOMIC_ACQ_REL);
  wake_all(&h->published);
  wake_all(&h->freed);
  return 1;
}

int dchan_participant_gone(int fd, uint64_t ctl_size, uint32_t slot) {
  if (slot >= CHAN_PARTS)
    return -EINVAL;
  return with_ctl(fd, ctl_size, 0, do_gone, &slot);
}

struct pid_arg {
  pid_t pid;
  uint64_t start;
  const uint8_t *bound; /* CHAN_PARTS / 8 bytes: slots a live lease holds */
  bool mark;            /* mark every match dead, rather than return the first */
};

static bool slot_of(const struct chan_part *p, const struct pid_arg *a, uint32_t i) {
  return !(a->bound[i / 8] & (1u << (i % 8))) &&
         __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) == CHAN_PART_LIVE &&
         p->pid == (uint32_t)a->pid && (a->start == 0 || p->start == 0 || p->start == a->start);
}

static int do_pid(struct chan_header *h, void *arg) {
  struct pid_arg *a = arg;
  struct chan_part *parts = chan_parts(h);
  int n = 0;

  for (uint32_t i = 0; i < CHAN_PARTS; i++) {
    if (!slot_of(&parts[i], a, i))
      continue;
    if (!a->mark)
      return (int)i;
    n += do_gone(h, &i);
  }
  return a->mark ? n : -ENOENT;
}

int dchan_find(int fd, uint64_t ctl_size, pid_t pid, uint64_t start, const uint8_t *bound) {
  struct pid_arg a = { pid, start, bound, false };

  return with_ctl(fd, ctl_size, 0, do_pid, &a);
}

int dchan_pid_gone(int fd, uint64_t ctl_size, pid_t pid, uint64_t start, const uint8_t *bound) {
  struct pid_arg a = { pid, start, bound, true };

  return with_ctl(fd, ctl_size, 0, do_pid, &a);
}

struct counts_arg {
  uint64_t depth;
  uint32_t senders, receivers;
};

static int do_counts(struct chan_header *h, void *arg) {
  struct counts_arg *a = arg;
  uint64_t qh = __atomic_load_n(&h->q_head, __ATOMIC_ACQUIRE);
  uint64_t qt = __atomic_load_n(&h->q_tail, __ATOMIC_ACQUIRE);

  a->depth = qt >= qh && qt - qh <= h->nchunks ? qt - qh : 0;
  a->senders = __atomic_load_n(&h->senders, __ATOMIC_RELAXED);
  a->receivers = __atomic_load_n(&h->receivers, __ATOMIC_RELAXED);
  return 0;
}

int dchan_counts(int fd, uint64_t ctl_size, uint64_t *depth, uint32_t *senders,
                 uint32_t *receivers) {
  struct counts_arg a = { 0, 0, 0 };
  int rc = with_ctl(fd, ctl_size, 0, do_counts, &a);

  *depth = a.depth;
  *senders = a.senders;
  *receivers = a.receivers;
  return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * wait.c: waiting for a word of a view to change, and waking its waiters,
 * with no daemon involved.
 *
 * Both are the kernel's shared futex: FUTEX_WAIT_BITSET/FUTEX_WAKE without
 * FUTEX_PRIVATE_FLAG, so the futex is keyed by the page of the shm object
 * (not by this process's address), and every process mapping those pages,
 * at whatever address, meets on the same word. Neither needs write access:
 * the kernel reads the word, so a read-only view can wait and wake too.
 *
 * Deadlines are absolute CLOCK_MONOTONIC (FUTEX_WAIT_BITSET's timeout is
 * absolute, on the monotonic clock unless FUTEX_CLOCK_REALTIME is given), so
 * a wait interrupted by a signal resumes with the time that is left, and a
 * wall-clock step never moves it.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "client-internal.h"

/* The spin of SHMV_SPIN_ADAPTIVE stays within these. */
#define SPIN_MAX_NS   50000
#define SPIN_MIN_NS   2000
#define SPIN_START_NS 5000

static long sys_futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts,
                      uint32_t val3) {
#ifdef SYS_futex_time64
  /* 32-bit systems with a 64-bit time_t take that timespec here. */
  if (sizeof(time_t) > sizeof(long))
    return syscall(SYS_futex_time64, word, op, val, ts, NULL, val3);
#endif
#ifdef SYS_futex
  return syscall(SYS_futex, word, op, val, ts, NULL, val3);
#else
  errno = ENOSYS;
  return -1;
#endif
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

/* The word at offset of v, or a negative errno. */
static int view_word(const shmv_view *v, size_t offset, uint32_t **out) {
  if (v == NULL)
    return -EINVAL;
  if (v->length < sizeof(uint32_t) || offset > v->length - sizeof(uint32_t) || v->data == NULL)
    return -ERANGE;
  uintptr_t addr = (uintptr_t)v->data + offset;
  /* The mapping starts on a page, so this is the word's segment offset
   * modulo 4: the kernel refuses a misaligned futex. */
  if (addr % sizeof(uint32_t) != 0)
    return -EINVAL;
  *out = (uint32_t *)addr;
  return 0;
}

static inline uint32_t load_word(const uint32_t *w) {
  return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

/* An absolute CLOCK_MONOTONIC deadline timeout_ns from now (>= 0),
 * saturating far in the future rather than overflowing. */
static void deadline_after(int64_t timeout_ns, struct timespec *out) {
  int64_t now = mono_ns();
  int64_t at = timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
  int64_t sec = at / 1000000000;
  /* A 32-bit time_t saturates too (the wait is then just very long). */
  if (sizeof(time_t) < sizeof(int64_t) && sec > (int64_t)INT32_MAX)
    sec = INT32_MAX;
  out->tv_sec = (time_t)sec;
  out->tv_nsec = (long)(at % 1000000000);
}

/* Sleep on the futex until the word differs, a wake, or the deadline
 * (NULL: none). */
static int futex_wait(uint32_t *w, uint32_t expected, const struct timespec *deadline) {
  for (;;) {
    if (sys_futex(w, FUTEX_WAIT_BITSET, expected, deadline, FUTEX_BITSET_MATCH_ANY) == 0)
      return 0; /* woken */
    switch (errno) {
    case EAGAIN: return 0; /* the word differed when the kernel looked */
    case EINTR: continue;  /* a signal: on to the same deadline */
    case ETIMEDOUT: return -ETIMEDOUT;
    default: return -errno;
    }
  }
}

void client_deadline(int64_t timeout_ns, struct timespec *out) {
  deadline_after(timeout_ns, out);
}

int client_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *deadline) {
  return futex_wait(word, expected, deadline);
}

int client_futex_wake(uint32_t *word, int count) {
  long n = sys_futex(word, FUTEX_WAKE, (uint32_t)count, NULL, 0);
  return n < 0 ? -errno : (int)(n > INT_MAX ? INT_MAX : n);
}

void client_cpu_relax(void) {
  cpu_relax();
}

int shmv_view_wait(const shmv_view *v, size_t offset, uint32_t expected, int64_t timeout_ns) {
  uint32_t *w;
  int rc = view_word(v, offset, &w);
  if (rc < 0)
    return rc;
  if (load_word(w) != expected)
    return 0;
  if (timeout_ns == 0)
    return -ETIMEDOUT;
  struct timespec deadline;
  if (timeout_ns > 0)
    deadline_after(timeout_ns, &deadline);
  return futex_wait(w, expected, timeout_ns > 0 ? &deadline : NULL);
}

static bool spinning_pays(void) {
  static int cpus; /* 0: not looked up yet (a benign race: same answer) */
  int n = __atomic_load_n(&cpus, __ATOMIC_RELAXED);
  if (n == 0) {
    long l = sysconf(_SC_NPROCESSORS_ONLN);
    n = l > 0 ? (int)(l > INT_MAX ? INT_MAX : l) : 1;
    __atomic_store_n(&cpus, n, __ATOMIC_RELAXED);
  }
  return n > 1;
}

/* How long this thread's recent waits took, when they were short enough
 * that a spin could have caught them (a running average, as glibc's
 * adaptive mutexes keep one per lock). */
static _Thread_local int64_t spin_avg = SPIN_START_NS;

/* Four times the average: a wait a little slower than usual (an interrupt,
 * a cache miss on the payload) still ends in the spin, not in a sleep and a
 * cross-CPU wake-up that costs tens of microseconds on a VM. */
static int64_t adaptive_budget(void) {
  int64_t b = 4 * spin_avg;
  return b < SPIN_MIN_NS ? SPIN_MIN_NS : b > SPIN_MAX_NS ? SPIN_MAX_NS : b;
}

static void adaptive_learn(int64_t waited_ns) {
  if (waited_ns <= SPIN_MAX_NS)
    spin_avg += (waited_ns - spin_avg) / 8; /* a spin would have (or has) caught it */
  else
    spin_avg -= spin_avg / 4; /* the writer is slow: spinning is wasted */
}

int shmv_view_wait_spin(const shmv_view *v, size_t offset, uint32_t expected, int64_t timeout_ns,
                        int64_t spin_ns) {
  uint32_t *w;
  int rc = view_word(v, offset, &w);
  if (rc < 0)
    return rc;
  if (spin_ns < 0 && spin_ns != SHMV_SPIN_ADAPTIVE)
    return -EINVAL;
  if (load_word(w) != expected)
    return 0;
  if (timeout_ns == 0)
    return -ETIMEDOUT;
  bool adaptive = spin_ns == SHMV_SPIN_ADAPTIVE;
  if (adaptive)
    spin_ns = adaptive_budget();
  if (!spinning_pays())
    spin_ns = 0;

  int64_t start = mono_ns();
  struct timespec deadline;
  if (timeout_ns > 0)
    deadline_after(timeout_ns, &deadline);
  if (spin_ns > 0) {
    int64_t limit = timeout_ns > 0 && timeout_ns < spin_ns ? timeout_ns : spin_ns;
    for (unsigned i = 1;; i++) {
      cpu_relax();
      if (load_word(w) != expected) {
        if (adaptive)
          adaptive_learn(mono_ns() - start);
        return 0;
      }
      /* Reading the clock costs more than a look at the word. */
      if (i % 16 == 0 && mono_ns() - start >= limit)
        break;
    }
    if (timeout_ns > 0 && timeout_ns <= spin_ns)
      return -ETIMEDOUT;
  }
  rc = futex_wait(w, expected, timeout_ns > 0 ? &deadline : NULL);
  if (adaptive && (rc == 0 || rc == -ETIMEDOUT))
    adaptive_learn(mono_ns() - start);
  return rc;
}

int shmv_view_wake(const shmv_view *v, size_t offset, int count) {
  uint32_t *w;
  int rc = view_word(v, offset, &w);
  if (rc < 0)
    return rc;
  if (count < 1)
    return -EINVAL;
  long n = sys_futex(w, FUTEX_WAKE, (uint32_t)count, NULL, 0);
  if (n < 0)
    return -errno;
  return n > INT_MAX ? INT_MAX : (int)n;
}

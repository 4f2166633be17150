/* SPDX-License-Identifier: MIT */
/*
 * b-handoff.c: the data plane with long-lived views, and its floors.
 *
 * handoff: N bytes (64 B .. 256 MiB) from a writer (CPU 0) to a reader
 * (CPU 1), both keeping their mappings for the whole run. Per hand-off the
 * writer writes N bytes, publishes a sequence word (release) and wakes; the
 * reader waits for it, reads N bytes (acquire), acknowledges (release) and
 * wakes; the writer's time runs from its first byte to seeing the
 * acknowledgement. Methods:
 *
 *   shmview-futex     views of one segment; shmv_view_wait / shmv_view_wake
 *   floor-futex       the same protocol over anonymous MAP_SHARED memory
 *                     (fork) with raw FUTEX_WAIT_BITSET / FUTEX_WAKE calls
 *   shmview-spin      shmv_view_wait_spin spinning up to 1 s: polling
 *   floor-spin        the same spin loop, raw, then the raw futex
 *   shmview-adaptive  shmv_view_wait_spin with SHMV_SPIN_ADAPTIVE (no floor
 *                     of its own: compared with floor-spin)
 *   unix-socket       write N over a socketpair, the reader reads N into its
 *                     buffer and reads it, one byte back as the acknowledgement
 *   channel-futex     a shmv_channel (issue 22): the writer loans N bytes,
 *                     fills them and sends the loan; the reader receives,
 *                     reads N bytes, releases the message and sends an
 *                     8-byte acknowledgement on a second channel, which the
 *                     writer receives and releases. Both block in the
 *                     channel's futex waits: compared with floor-futex and
 *                     iceoryx's WaitSet.
 *   channel-poll      the same, each side polling (timeout 0) instead of
 *                     sleeping: compared with floor-spin and iceoryx polling.
 *   channel-spin      the same with blocking calls that spin on the channel's
 *                     word first (shmv_channel_set_spin, SPIN_NS) before the
 *                     futex: compared with floor-spin, as shmview-spin is.
 *
 * Every method runs in the same two processes, in batches interleaved with
 * the others (each round in an order of its own), so a floor and what it
 * is the floor of share the machine's moods. iceoryx is bench/iox-handoff.c,
 * a separate program: with --turns run.py runs both side by side and lets
 * them take turns (bench_turn), one round of batches of each, so iceoryx
 * shares those moods too. run.py pairs the methods batch by batch.
 *
 * handoff-sealed: shmview-futex against shmview-futex-sealed, the same over
 * views of a sealed segment (SHMV_SEALED: a memfd), same run, interleaved.
 *
 * wakeup: the same with N = 0 and futex waiting only, same-core and
 * cross-core: a ping-pong whose round trip is two cross-process wake-ups,
 * shmv_view_wait/shmv_view_wake against raw futex calls.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "shmview.h"

#define HDR     4096 /* the words' page; the payload starts after it */
#define SEQ     0    /* offsets of the two words in the header */
#define ACK     64
/* The spin of the spinning methods: longer than any hand-off here, so both
 * sides poll and never sleep, as iceoryx's polling subscriber does. The
 * bounded, learning spin is shmview-adaptive's. */
#define SPIN_NS 1000000000LL

enum method {
  M_SHMV,
  M_FLOOR,
  M_SHMV_SPIN,
  M_FLOOR_SPIN,
  M_SHMV_ADAPT,
  M_SOCK,
  M_SHMV_SEALED,
  M_CHAN,
  M_CHAN_POLL,
  M_CHAN_SPIN,
  M_COUNT
};
static const char *mnames[M_COUNT] = { "shmview-futex",        "floor-futex",      "shmview-spin",
                                       "floor-spin",           "shmview-adaptive", "unix-socket",
                                       "shmview-futex-sealed", "channel-futex",    "channel-poll",
                                       "channel-spin" };

/* One side's handles. */
struct side {
  shmv_view *view;  /* the segment, this process's own view */
  char *shv;        /* its data */
  shmv_view *sview; /* the sealed segment's (handoff-sealed only) */
  char *ssv;
  char *anon; /* the floor's anonymous MAP_SHARED region */
  char *buf;  /* the socket's private buffer */
  int sock;
  size_t n;
  shmv_channel *data; /* the channel methods: the messages (writer sends) */
  shmv_channel *ack;  /* and the acknowledgements (reader sends) */
};

static uint32_t *word(char *base, size_t off) {
  return (uint32_t *)(base + off);
}

static uint32_t load(const uint32_t *w) {
  return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

/* ---- the floor: raw futex calls, the same loops as libshmview's ---------- */

static void raw_wait(uint32_t *w, uint32_t old) {
  while (load(w) == old)
    syscall(SYS_futex, w, FUTEX_WAIT_BITSET, old, NULL, NULL, FUTEX_BITSET_MATCH_ANY);
}

static void raw_wait_spin(uint32_t *w, uint32_t old, int64_t spin_ns) {
  /* the same loop as libshmview's shmv_view_wait_spin */
  if (load(w) != old)
    return;
  uint64_t start = now_ns();
  for (unsigned i = 1;; i++) {
    __builtin_ia32_pause();
    if (load(w) != old)
      return;
    if (i % 16 == 0 && (int64_t)(now_ns() - start) >= spin_ns)
      break;
  }
  raw_wait(w, old);
}

static void raw_wake(uint32_t *w) {
  syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* ---- waiting and waking, by method --------------------------------------- */

static char *region(struct side *s, enum method m) {
  return m == M_FLOOR || m == M_FLOOR_SPIN ? s->anon : m == M_SHMV_SEALED ? s->ssv : s->shv;
}

/* Wait while the word at off is old. */
static void wait_word(struct side *s, enum method m, size_t off, uint32_t old) {
  uint32_t *w = word(region(s, m), off);
  int rc = 0;
  switch (m) {
  case M_SHMV:
  case M_SHMV_SEALED:
    while (rc == 0 && load(w) == old)
      rc = shmv_view_wait(m == M_SHMV ? s->view : s->sview, off, old, -1);
    break;
  case M_SHMV_SPIN:
    while (rc == 0 && load(w) == old)
      rc = shmv_view_wait_spin(s->view, off, old, -1, SPIN_NS);
    break;
  case M_SHMV_ADAPT:
    while (rc == 0 && load(w) == old)
      rc = shmv_view_wait_spin(s->view, off, old, -1, SHMV_SPIN_ADAPTIVE);
    break;
  case M_FLOOR: raw_wait(w, old); break;
  case M_FLOOR_SPIN: raw_wait_spin(w, old, SPIN_NS); break;
  default: break;
  }
  if (rc != 0)
    die("wait: %s", shmv_strerror(rc));
}

static void wake_word(struct side *s, enum method m, size_t off) {
  if (m == M_FLOOR || m == M_FLOOR_SPIN)
    raw_wake(word(s->anon, off));
  else
    shmv_view_wake(m == M_SHMV_SEALED ? s->sview : s->view, off, 1);
}

/* ---- the channel methods -------------------------------------------------- */

/* A received message (polling: timeout 0 until one is there). */
static shmv_view *chan_recv(shmv_channel *ch, int poll) {
  shmv_view *v;
  int rc;
  if (poll)
    while ((rc = shmv_channel_recv(ch, 0, &v)) == -ETIMEDOUT || rc == -EAGAIN)
      __builtin_ia32_pause();
  else
    rc = shmv_channel_recv(ch, -1, &v);
  if (rc < 0)
    die("channel recv: %s", shmv_strerror(rc));
  return v;
}

/* The channel methods' waiting: poll (timeout 0 in a loop), or block with
 * a spin first (channel-spin) or none (channel-futex). */
static int chan_style(struct side *s, enum method m) {
  int64_t spin = m == M_CHAN_SPIN ? SPIN_NS : 0;
  int rc;
  if ((rc = shmv_channel_set_spin(s->data, spin)) < 0 ||
      (rc = shmv_channel_set_spin(s->ack, spin)) < 0)
    die("channel set_spin: %s", shmv_strerror(rc));
  return m == M_CHAN_POLL;
}

static void chan_reader_batch(struct side *s, int poll, int reps) {
  for (int i = 0; i < reps; i++) {
    shmv_view *v = chan_recv(s->data, poll);
    if (shmv_view_length(v) != s->n)
      die("channel: a message of %zu bytes, not %zu", shmv_view_length(v), s->n);
    volatile uint64_t sink = sum_bytes(shmv_view_data(v), s->n);
    (void)sink;
    shmv_view_release(v);
    uint64_t a = (uint64_t)i;
    int rc = shmv_channel_send(s->ack, &a, sizeof a, poll ? 0 : -1);
    while (rc == -ETIMEDOUT || rc == -EAGAIN)
      rc = shmv_channel_send(s->ack, &a, sizeof a, 0);
    if (rc < 0)
      die("channel send (ack): %s", shmv_strerror(rc));
  }
}

static void chan_writer_batch(struct side *s, int poll, int reps, int rep0, uint64_t *out) {
  for (int i = 0; i < reps; i++) {
    shmv_view *loan;
    uint64_t t0 = now_ns();
    int rc = shmv_channel_loan(s->data, s->n, poll ? 0 : -1, &loan);
    while (rc == -ETIMEDOUT || rc == -EAGAIN)
      rc = shmv_channel_loan(s->data, s->n, 0, &loan);
    if (rc < 0)
      die("channel loan of %zu: %s", s->n, shmv_strerror(rc));
    memset(shmv_view_data(loan), 'a' + (rep0 + i) % 26, s->n);
    if ((rc = shmv_channel_send_view(s->data, loan)) < 0)
      die("channel send_view: %s", shmv_strerror(rc));
    shmv_view_release(chan_recv(s->ack, poll));
    out[i] = now_ns() - t0;
  }
}

/* The channels' capacity for messages of n bytes: three messages and a
 * little more, so that messages take turns on three places of the ring, as
 * iceoryx's take turns on the three chunks of its mempool
 * (bench/iox-handoff.c). Writing the very bytes the reader has just read,
 * as the floor does, costs a cross-core invalidation per cache line: with
 * one message's room the channel's times were the floor's, with three they
 * are lower from 1 MiB (bench/notes.md). */
static size_t chan_capacity(size_t n) {
  size_t c = 3 * ((n + 63) / 64 * 64) + 4096;
  return c < SHMV_CHANNEL_MIN ? SHMV_CHANNEL_MIN : c;
}

/* The two channels, in the daemon: the data channel as small as holds a
 * message of n bytes (a receiver's stat says; a receiver, as a sender that
 * opened and closed would end the stream). */
static void chan_create(shmv_client *c, size_t n) {
  shmv_channel_info ci;
  shmv_channel *ch;
  int rc;

  for (size_t cap = chan_capacity(n);; cap *= 2) {
    if ((rc = shmv_channel_create(c, "handoff-ch", cap, 0600, 0)) < 0 ||
        (rc = shmv_channel_open(c, "handoff-ch", SHMV_RECV, &ch)) < 0 ||
        (rc = shmv_channel_stat(ch, &ci)) < 0)
      die("channel create (%zu bytes): %s", cap, shmv_strerror(rc));
    shmv_channel_close(ch);
    if (ci.max_message >= n)
      break;
    if ((rc = shmv_unlink(c, "handoff-ch")) < 0)
      die("channel unlink: %s", shmv_strerror(rc));
  }
  if ((rc = shmv_channel_create(c, "handoff-ack", SHMV_CHANNEL_MIN, 0600, 0)) < 0)
    die("channel create: %s", shmv_strerror(rc));
}

static void chan_open(const struct daemon *d, struct side *s, shmv_client **c, int writer) {
  int rc;
  if ((rc = shmv_channel_open(*c, "handoff-ch", writer ? SHMV_SEND : SHMV_RECV, &s->data)) < 0 ||
      (rc = shmv_channel_open(*c, "handoff-ack", writer ? SHMV_RECV : SHMV_SEND, &s->ack)) < 0)
    die("channel open (%s): %s", d->socket, shmv_strerror(rc));
}

/* ---- the two sides ------------------------------------------------------- */

struct cmd {
  int32_t method, reps, quit;
};

static void reader_batch(struct side *s, enum method m, int reps) {
  if (m == M_CHAN || m == M_CHAN_POLL || m == M_CHAN_SPIN) {
    chan_reader_batch(s, chan_style(s, m), reps);
    return;
  }
  if (m == M_SOCK) {
    for (int i = 0; i < reps; i++) {
      if (s->n > 0 && read_full(s->sock, s->buf, s->n))
        die("reader: socket");
      volatile uint64_t sink = sum_bytes(s->buf, s->n);
      (void)sink;
      if (write_full(s->sock, "a", 1))
        die("reader: socket");
    }
    return;
  }
  char *r = region(s, m);
  /* ack, not seq: the writer may have published already; between batches
   * the two are equal. */
  uint32_t seen = load(word(r, ACK));
  for (int i = 0; i < reps; i++) {
    wait_word(s, m, SEQ, seen);
    seen = load(word(r, SEQ));
    volatile uint64_t sink = sum_bytes(r + HDR, s->n);
    (void)sink;
    __atomic_store_n(word(r, ACK), seen, __ATOMIC_RELEASE);
    wake_word(s, m, ACK);
  }
}

static void writer_batch(struct side *s, enum method m, int reps, int rep0, uint64_t *out) {
  if (m == M_CHAN || m == M_CHAN_POLL || m == M_CHAN_SPIN) {
    chan_writer_batch(s, chan_style(s, m), reps, rep0, out);
    return;
  }
  if (m == M_SOCK) {
    for (int i = 0; i < reps; i++) {
      char a;
      uint64_t t0 = now_ns();
      memset(s->buf, 'a' + (rep0 + i) % 26, s->n);
      if ((s->n > 0 && write_full(s->sock, s->buf, s->n)) || read_full(s->sock, &a, 1))
        die("writer: socket");
      out[i] = now_ns() - t0;
    }
    return;
  }
  char *r = region(s, m);
  uint32_t seq = load(word(r, SEQ));
  for (int i = 0; i < reps; i++) {
    uint64_t t0 = now_ns();
    memset(r + HDR, 'a' + (rep0 + i) % 26, s->n);
    __atomic_store_n(word(r, SEQ), ++seq, __ATOMIC_RELEASE);
    wake_word(s, m, SEQ);
    wait_word(s, m, ACK, seq - 1);
    out[i] = now_ns() - t0;
  }
}

static void open_view(const struct daemon *d, struct side *s, shmv_client **c, bool sealed) {
  int rc;
  if ((rc = shmv_connect(d->socket, c)) < 0 ||
      (rc = shmv_view_open(*c, "handoff", 0, SHMV_TO_END, SHMV_WRITABLE, &s->view)) < 0 ||
      (sealed &&
       (rc = shmv_view_open(*c, "handoff-sealed", 0, SHMV_TO_END, SHMV_WRITABLE, &s->sview)) < 0))
    die("shmview: %s", shmv_strerror(rc));
  s->shv = shmv_view_data(s->view);
  s->ssv = sealed ? shmv_view_data(s->sview) : NULL;
}

static int reps_for(size_t n) {
  int r = n <= 65536 ? 4000 : n <= (1u << 20) ? 1000 : n <= (16u << 20) ? 100 : 12;
  return bench_opts.quick ? (r >= 100 ? r / 10 : r > 2 ? 2 : r) : r;
}

/* Fisher-Yates with xorshift32: a fixed sequence of orders, run to run. */
static void shuffle(enum method *a, int n, uint32_t *rnd) {
  for (int i = n - 1; i > 0; i--) {
    *rnd ^= *rnd << 13;
    *rnd ^= *rnd >> 17;
    *rnd ^= *rnd << 5;
    int j = (int)(*rnd % (uint32_t)(i + 1));
    enum method t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/* Measure methods[0..nm) at n bytes in one placement; RESULT lines under
 * bench name `bench`. */
static void measure(const char *bench, size_t n, const struct placement *pl,
                    const enum method *methods, int nm) {
  struct daemon d;
  shmv_client *c;
  struct side s;
  int rc, sv[2];

  bool sealed = false;

  for (int i = 0; i < nm; i++)
    sealed |= methods[i] == M_SHMV_SEALED;
  bench_turn("n=%zu setup", n);
  memset(&s, 0, sizeof s);
  s.n = n;
  daemon_start(&d, pl->server_cpu, NULL);
  if ((rc = shmv_connect(d.socket, &c)) < 0 ||
      (rc = shmv_create(c, "handoff", HDR + n, 0600)) < 0 ||
      (sealed && (rc = shmv_create_flags(c, "handoff-sealed", HDR + n, 0600, SHMV_SEALED)) < 0))
    die("shmview: %s", shmv_strerror(rc));
  int chans = 0;
  for (int i = 0; i < nm; i++)
    chans |= methods[i] == M_CHAN || methods[i] == M_CHAN_POLL || methods[i] == M_CHAN_SPIN;
  if (chans)
    chan_create(c, n);
  shmv_disconnect(c);
  s.anon = mmap(NULL, HDR + n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s.anon == MAP_FAILED)
    die("mmap %zu: %s", n, strerror(errno));
  memset(s.anon, 0, HDR + n);
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    die("socketpair");
  int down[2], up[2];
  pid_t kid = fork_piped(down, up);
  if (kid == 0) {
    close(sv[0]);
    s.sock = sv[1];
    pin_cpu(pl->server_cpu);
    open_view(&d, &s, &c, sealed);
    if (chans)
      chan_open(&d, &s, &c, 0);
    s.buf = calloc(1, n + 1);
    volatile uint64_t sink = sum_bytes(s.shv, HDR + n) + sum_bytes(s.anon, HDR + n) +
                             (sealed ? sum_bytes(s.ssv, HDR + n) : 0); /* faulted in */
    (void)sink;
    if (write_full(up[1], "r", 1))
      _exit(1);
    struct cmd cm;
    /* "go" back before each batch: the writer starts its clock only once
     * the reader is awake, so no sample holds the wake-up of the pipe */
    while (read_full(down[0], &cm, sizeof cm) == 0 && !cm.quit && write_full(up[1], "g", 1) == 0)
      reader_batch(&s, (enum method)cm.method, cm.reps);
    shmv_channel_close(s.data);
    shmv_channel_close(s.ack);
    shmv_view_release(s.view);
    shmv_view_release(s.sview);
    shmv_disconnect(c);
    _exit(0);
  }
  close(sv[1]);
  s.sock = sv[0];
  pin_cpu(pl->client_cpu);
  open_view(&d, &s, &c, sealed);
  if (chans)
    chan_open(&d, &s, &c, 1);
  s.buf = calloc(1, n + 1);
  memset(s.shv, 1, HDR + n);
  memset(s.shv, 0, HDR);
  if (sealed) {
    memset(s.ssv, 1, HDR + n);
    memset(s.ssv, 0, HDR);
  }
  char ch;
  if (read_full(up[0], &ch, 1))
    die("reader did not start");

  /* Short batches, so the two sides of a comparison (paired batch by batch
   * in run.py) run close together in time: 40 hand-offs each, and from
   * 1 MiB, where one takes long enough for the machine's mood to change,
   * every hand-off a batch of its own. */
  int reps = reps_for(n), batches = n >= (1u << 20) || reps < 40 ? reps : reps / 40;
  int per = reps / batches;
  uint64_t *samples[M_COUNT];
  int count[M_COUNT] = { 0 };
  for (int i = 0; i < nm; i++)
    if (!(samples[methods[i]] = malloc(sizeof(uint64_t) * (size_t)(per * batches + 1))))
      die("malloc");
  uint64_t *scratch = malloc(sizeof(uint64_t) * (size_t)(per > 50 ? per : 50));
  /* one warm-up batch of each (in the setup's turn), then the batches,
   * methods interleaved, each batch in a new order: from 1 MiB a method
   * finds the caches full of what ran before it (unix-socket's copies, the
   * other program's turn), so no method may always come first or always
   * follow the same one. */
  enum method order[M_COUNT];
  uint32_t rnd = 2463534242u ^ (uint32_t)n;
  memcpy(order, methods, sizeof order[0] * (size_t)nm);
  for (int b = -1; b < batches; b++) {
    if (b >= 0) {
      bench_turn("n=%zu batch %d", n, b);
      shuffle(order, nm, &rnd);
    }
    for (int i = 0; i < nm; i++) {
      enum method m = order[i];
      int k = b < 0 ? (per < 50 ? per : 50) : per;
      /* one untimed hand-off first: it takes the cold caches the method
       * before left, so the timed ones see a stream of hand-offs through
       * the same memory, which is what long-lived views are for */
      struct cmd cm = { m, b < 0 ? k : k + 1, 0 };
      if (write_full(down[1], &cm, sizeof cm) || read_full(up[0], &ch, 1))
        die("reader gone");
      if (b >= 0)
        writer_batch(&s, m, 1, b * per, scratch);
      writer_batch(&s, m, k, b * per + 1, b < 0 ? scratch : samples[m] + count[m]);
      if (b >= 0)
        count[m] += k;
    }
  }
  struct cmd q = { 0, 0, 1 };
  write_full(down[1], &q, sizeof q);
  int st;
  waitpid(kid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    die("reader failed");

  for (int i = 0; i < nm; i++) {
    enum method m = methods[i];
    if (strcmp(bench, "wakeup") == 0) {
      if (m != M_SHMV)
        continue;
      result("\"bench\":\"wakeup\",\"figure\":\"futex wake-up round trip (two wake-ups) via "
             "shmv_view_wait/wake\",\"placement\":\"%s\",\"unit\":\"us\",\"median\":%.2f,"
             "\"p99\":%.2f,\"floor\":\"raw FUTEX_WAIT_BITSET/FUTEX_WAKE ping-pong over anonymous "
             "MAP_SHARED (fork), same run, interleaved\",\"floor_median\":%.2f,\"floor_p99\":%.2f,"
             "\"target\":1.1,\"samples\":%d",
             pl->name, percentile(samples[M_SHMV], (size_t)count[M_SHMV], 50) / 1e3,
             percentile(samples[M_SHMV], (size_t)count[M_SHMV], 99) / 1e3,
             percentile(samples[M_FLOOR], (size_t)count[M_FLOOR], 50) / 1e3,
             percentile(samples[M_FLOOR], (size_t)count[M_FLOOR], 99) / 1e3, count[M_SHMV]);
    } else {
      static char bm[16384]; /* up to 1000 batches */
      batch_medians(samples[m], batches, per, bm, sizeof bm);
      result("\"bench\":\"handoff\",\"method\":\"%s\",\"n\":%zu,\"placement\":\"%s\","
             "\"unit\":\"us\",\"median\":%.3f,\"p99\":%.3f,\"samples\":%d,"
             "\"batch_medians\":[%s]",
             mnames[m], n, pl->name, percentile(samples[m], (size_t)count[m], 50) / 1e3,
             percentile(samples[m], (size_t)count[m], 99) / 1e3, count[m], bm);
    }
  }
  for (int i = 0; i < nm; i++)
    free(samples[methods[i]]);
  free(scratch);
  shmv_channel_close(s.data);
  shmv_channel_close(s.ack);
  shmv_view_release(s.view);
  shmv_view_release(s.sview);
  shmv_disconnect(c);
  munmap(s.anon, HDR + n);
  free(s.buf);
  close(s.sock);
  close(down[1]);
  close(up[0]);
  daemon_stop(&d);
}

/* --only: the largest size (handoff), e.g. 16M. */
int bench_handoff(void) {
  static const enum method all[] = { M_SHMV, M_FLOOR, M_SHMV_SPIN, M_FLOOR_SPIN, M_SHMV_ADAPT,
                                     M_SOCK, M_CHAN,  M_CHAN_POLL, M_CHAN_SPIN,  M_SHMV_SEALED };
  size_t maxn = bench_only_max_size("handoff");
  const struct placement *pl = &bench_placements[ncpus() > 1 ? 1 : 0];
  bench_turn("start");
  for (size_t n = 64; n <= maxn; n *= n < 4096 ? 64 : 16)
    measure("handoff", n, pl, all, (int)(sizeof all / sizeof all[0]));
  return 0;
}

/* A sealed segment's hand-off against a plain one's, interleaved batch by
 * batch; run.py's pairing gives the ratio (the target: within 1.05x). */
int bench_handoff_sealed(void) {
  static const enum method pair[] = { M_SHMV, M_SHMV_SEALED };
  size_t maxn = bench_only_max_size("handoff-sealed");
  const struct placement *pl = &bench_placements[ncpus() > 1 ? 1 : 0];
  bench_turn("start");
  for (size_t n = 64; n <= maxn; n *= n < 4096 ? 64 : 16)
    measure("handoff", n, pl, pair, 2);
  return 0;
}

int bench_wakeup(void) {
  static const enum method both[] = { M_SHMV, M_FLOOR };
  for (int p = 0; p < 2; p++) {
    if (bench_placements[p].server_cpu >= ncpus())
      continue;
    measure("wakeup", 0, &bench_placements[p], both, 2);
  }
  return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * handoff.c: a single-producer hand-off through a segment, with a sequence
 * word, an acknowledgement word and shmv_view_wait/shmv_view_wake; the
 * pattern docs/dataplane.md describes.
 *
 * The producer creates the segment, starts the consumer (another process,
 * which only knows the segment's name) and hands it COUNT messages of
 * varying length. For each: wait until the consumer acknowledged the last
 * one, write the payload, publish the next sequence number (release), wake.
 * The consumer waits for the sequence to move, reads the payload (acquire),
 * checks every byte, acknowledges (release) and wakes the producer. Neither
 * asks the daemon anything after opening its view.
 *
 * Every wait is bounded: a peer killed at any point (even between its
 * publish and its wake) leaves the other timing out, looking at the peer's
 * pid and giving up, never hanging.
 *
 *   shmview-handoff [SOCKET [COUNT]]
 */
#include <errno.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmview.h>

#define PAYLOAD_MAX 60000
#define SLICE_NS    1000000000LL /* each wait: 1 s, then look at the peer */
#define IDLE_MAX    30           /* slices without progress before giving up */

/* The segment's layout. The two words sit on cache lines of their own so
 * that the producer's and the consumer's writes do not contend. */
struct channel {
  alignas(64) _Atomic uint32_t seq; /* messages published (producer writes) */
  alignas(64) _Atomic uint32_t ack; /* messages consumed (consumer writes) */
  alignas(64) _Atomic int32_t producer_pid;
  _Atomic int32_t consumer_pid;
  uint32_t length; /* of the current payload; written before seq */
  unsigned char payload[PAYLOAD_MAX];
};

#define SEQ offsetof(struct channel, seq)
#define ACK offsetof(struct channel, ack)

static void die(const char *who, const char *what, int rc) {
  fprintf(stderr, "shmview-handoff: %s: %s: %s\n", who, what, shmv_strerror(rc));
  exit(1);
}

static int alive(pid_t pid) {
  return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

/* Wait until *word differs from old, in bounded slices; between slices,
 * give up if the peer is dead or silent for too long. The new value, or -1. */
static int64_t await_change(const shmv_view *v, size_t off, uint32_t old, _Atomic int32_t *peer,
                            const char *who) {
  _Atomic uint32_t *word = (_Atomic uint32_t *)((char *)shmv_view_data(v) + off);
  for (int idle = 0;;) {
    uint32_t now = atomic_load_explicit(word, memory_order_acquire);
    if (now != old)
      return now;
    int rc = shmv_view_wait(v, off, old, SLICE_NS);
    if (rc == 0)
      continue; /* changed, or a wake: look again */
    if (rc != -ETIMEDOUT)
      die(who, "wait", rc);
    /* A peer killed between its publish and its wake left the word changed
     * but nobody woken: the next look above sees it. */
    if (atomic_load_explicit(word, memory_order_acquire) != old)
      continue;
    if (!alive(atomic_load(peer))) {
      fprintf(stderr, "%s: the other side (pid %d) is gone\n", who, (int)atomic_load(peer));
      return -1;
    }
    if (++idle >= IDLE_MAX) {
      fprintf(stderr, "%s: no progress for %d s\n", who, IDLE_MAX);
      return -1;
    }
  }
}

static uint32_t length_of(uint32_t i) {
  return (i * 7919u) % PAYLOAD_MAX + 1;
}

static unsigned char byte_of(uint32_t i, uint32_t k) {
  return (unsigned char)(i * 31u + k);
}

static int consumer(const char *socket, const char *name, uint32_t count) {
  shmv_client *c;
  shmv_view *v;
  int rc;
  uint64_t bytes = 0, bad = 0;

  if ((rc = shmv_connect(socket, &c)) < 0)
    die("consumer", "connect", rc);
  /* Writable: the consumer writes its acknowledgements. */
  if ((rc = shmv_view_open(c, name, 0, SHMV_TO_END, SHMV_WRITABLE, &v)) < 0)
    die("consumer", "open", rc);
  struct channel *ch = shmv_view_data(v);
  atomic_store(&ch->consumer_pid, (int32_t)getpid());

  uint32_t seen = atomic_load_explicit(&ch->ack, memory_order_relaxed);
  for (uint32_t i = 0; i < count; i++) {
    int64_t s = await_change(v, SEQ, seen, &ch->producer_pid, "consumer");
    if (s < 0)
      return 1;
    /* Acquire (in await_change) pairs with the producer's release: the
     * payload it wrote before publishing s is all here. */
    seen = (uint32_t)s;
    uint32_t len = ch->length;
    if (len != length_of(i)) {
      fprintf(stderr, "consumer: message %u: length %u, expected %u\n", i, len, length_of(i));
      return 1;
    }
    for (uint32_t k = 0; k < len; k++)
      bad += ch->payload[k] != byte_of(i, k);
    bytes += len;
    /* Done with the payload: the producer may overwrite it now. */
    atomic_store_explicit(&ch->ack, seen, memory_order_release);
    shmv_view_wake(v, ACK, 1);
  }
  printf("consumer (pid %d): %u messages, %llu bytes, %s\n", (int)getpid(), count,
         (unsigned long long)bytes, bad == 0 ? "every byte as sent" : "CORRUPTED");
  shmv_view_release(v);
  shmv_disconnect(c);
  return bad == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *socket = argc > 1 && argv[1][0] != '\0' ? argv[1] : NULL;
  uint32_t count = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1000;
  char name[64];
  shmv_client *c;
  shmv_view *v;
  int rc, status;

  setvbuf(stdout, NULL, _IOLBF, 0);
  snprintf(name, sizeof name, "handoff-%d", (int)getpid());
  if ((rc = shmv_connect(socket, &c)) < 0)
    die("producer", "connect", rc);
  if ((rc = shmv_create(c, name, sizeof(struct channel), 0600)) < 0)
    die("producer", "create", rc);
  if ((rc = shmv_view_open(c, name, 0, SHMV_TO_END, SHMV_WRITABLE, &v)) < 0)
    die("producer", "open", rc);
  struct channel *ch = shmv_view_data(v);
  atomic_store(&ch->producer_pid, (int32_t)getpid());

  pid_t pid = fork();
  if (pid < 0)
    return 1;
  if (pid == 0)
    _exit(consumer(socket, name, count));
  atomic_store(&ch->consumer_pid, (int32_t)pid); /* before it says so itself */

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint32_t seq = atomic_load_explicit(&ch->seq, memory_order_relaxed);
  int ok = 1;
  for (uint32_t i = 0; i < count && ok; i++) {
    /* The consumer still reads the last payload until it acknowledges. */
    if (atomic_load_explicit(&ch->ack, memory_order_acquire) != seq &&
        await_change(v, ACK, seq - 1, &ch->consumer_pid, "producer") < 0) {
      ok = 0;
      break;
    }
    uint32_t len = length_of(i);
    for (uint32_t k = 0; k < len; k++)
      ch->payload[k] = byte_of(i, k);
    ch->length = len;
    /* Release: the payload and length above are visible to whoever reads
     * the new sequence number with acquire. Then wake the consumer. */
    atomic_store_explicit(&ch->seq, ++seq, memory_order_release);
    shmv_view_wake(v, SEQ, 1);
  }
  /* the last acknowledgement */
  if (ok && atomic_load_explicit(&ch->ack, memory_order_acquire) != seq &&
      await_change(v, ACK, seq - 1, &ch->consumer_pid, "producer") < 0)
    ok = 0;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  waitpid(pid, &status, 0);
  double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
  if (ok)
    printf("producer (pid %d): %u messages handed off, %.1f us each\n", (int)getpid(), count,
           count ? us / count : 0.0);
  shmv_view_release(v);
  shmv_unlink(c, name);
  shmv_disconnect(c);
  return ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

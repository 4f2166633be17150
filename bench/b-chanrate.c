/* SPDX-License-Identifier: MIT */
/*
 * b-chanrate.c: messages per second through a shmv_channel (issue 22).
 *
 * chanrate: one receiver (CPU 1) and one or four senders (all on CPU 0),
 * each its own process, through one channel whose ring holds 256 messages
 * (16 KiB: a 64-byte message takes 64 bytes of ring), as iceoryx's
 * subscriber queue does in bench/iox-rate.c. A sender loans 64 bytes,
 * writes its id and sequence number into them and sends the loan, blocking
 * (the channel's futex) while the ring is full; the receiver receives
 * (blocking while it is empty), checks that each sender's numbers come in
 * order with none lost or repeated, and releases. The rate is the messages
 * received over the time from the receiver's first message to its last.
 * Each run is a fresh channel and fresh processes; with --turns run.py
 * alternates runs with bench/iox-rate (the same turns: "start", then per
 * sender count a setup and one turn per run).
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "shmview.h"

#define MSG      64
#define RING     (256 * MSG)
#define SENDERS  4 /* at most */
#define SEQ_BITS 40

static long msgs_for(void) {
  return bench_opts.quick ? 100000 : 1000000;
}

static shmv_channel *open_channel(const struct daemon *d, const char *name, int flags,
                                  shmv_client **c) {
  shmv_channel *ch;
  int rc;
  if ((rc = shmv_connect(d->socket, c)) < 0 || (rc = shmv_channel_open(*c, name, flags, &ch)) < 0)
    die("chanrate: open %s: %s", name, shmv_strerror(rc));
  return ch;
}

static void sender(const struct daemon *d, const char *name, int id, long count, int ready,
                   int go) {
  shmv_client *c;
  char ch;
  pin_cpu(0);
  shmv_channel *chan = open_channel(d, name, SHMV_SEND, &c);
  if (write_full(ready, "r", 1) || read_full(go, &ch, 1))
    _exit(1);
  for (long i = 0; i < count; i++) {
    shmv_view *loan;
    int rc = shmv_channel_loan(chan, MSG, -1, &loan);
    if (rc < 0)
      die("chanrate: loan: %s", shmv_strerror(rc));
    uint64_t *w = shmv_view_data(loan);
    w[0] = (uint64_t)id << SEQ_BITS | (uint64_t)i;
    memset(w + 1, id, MSG - sizeof *w);
    if ((rc = shmv_channel_send_view(chan, loan)) < 0)
      die("chanrate: send_view: %s", shmv_strerror(rc));
  }
  shmv_channel_close(chan);
  shmv_disconnect(c);
  _exit(0);
}

static void receiver(const struct daemon *d, const char *name, long total, int ready, int result) {
  shmv_client *c;
  long next[SENDERS] = { 0 };
  uint64_t t0 = 0, t1 = 0;
  pin_cpu(ncpus() > 1 ? 1 : 0);
  shmv_channel *chan = open_channel(d, name, SHMV_RECV, &c);
  if (write_full(ready, "r", 1))
    _exit(1);
  for (long i = 0; i < total; i++) {
    shmv_view *v;
    int rc = shmv_channel_recv(chan, -1, &v);
    if (rc < 0)
      die("chanrate: recv after %ld messages: %s", i, shmv_strerror(rc));
    if (i == 0)
      t0 = now_ns();
    uint64_t w = *(const uint64_t *)shmv_view_data(v);
    unsigned id = (unsigned)(w >> SEQ_BITS);
    if (shmv_view_length(v) != MSG || id >= SENDERS ||
        (long)(w & ((1ull << SEQ_BITS) - 1)) != next[id]++)
      die("chanrate: message %ld out of order or garbled (sender %u)", i, id);
    shmv_view_release(v);
  }
  t1 = now_ns();
  double rate = (double)(total - 1) / ((double)(t1 - t0) / 1e9);
  if (write_full(result, &rate, sizeof rate))
    _exit(1);
  shmv_channel_close(chan);
  shmv_disconnect(c);
  _exit(0);
}

/* One run: a fresh channel, a receiver and `senders` senders; the rate. */
static double run(const struct daemon *d, int senders, int k) {
  char name[64];
  shmv_client *c;
  int rc, ready[2], go[2], res[2];
  long per = msgs_for() / senders;
  pid_t kids[SENDERS + 1];

  snprintf(name, sizeof name, "rate-%d-%d", senders, k + 1);
  if ((rc = shmv_connect(d->socket, &c)) < 0 ||
      (rc = shmv_channel_create(c, name, RING, 0600, 0)) < 0)
    die("chanrate: create: %s", shmv_strerror(rc));
  if (pipe(ready) || pipe(go) || pipe(res))
    die("pipe");
  for (int i = 0; i <= senders; i++) {
    kids[i] = fork();
    if (kids[i] < 0)
      die("fork");
    if (kids[i] == 0) {
      close(ready[0]);
      close(go[1]);
      close(res[0]);
      if (i == senders)
        receiver(d, name, per * senders, ready[1], res[1]);
      sender(d, name, i, per, ready[1], go[0]);
    }
  }
  close(ready[1]);
  close(go[0]);
  close(res[1]);
  char ch;
  for (int i = 0; i <= senders; i++)
    if (read_full(ready[0], &ch, 1))
      die("chanrate: a participant did not start");
  for (int i = 0; i < senders; i++)
    if (write_full(go[1], "g", 1))
      die("chanrate: go");
  double rate = 0;
  if (read_full(res[0], &rate, sizeof rate))
    die("chanrate: the receiver failed");
  for (int i = 0; i <= senders; i++) {
    int st;
    waitpid(kids[i], &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      die("chanrate: a participant failed");
  }
  close(ready[0]);
  close(go[1]);
  close(res[0]);
  if ((rc = shmv_unlink(c, name)) < 0)
    die("chanrate: unlink: %s", shmv_strerror(rc));
  shmv_disconnect(c);
  return rate;
}

int bench_chanrate(void) {
  static const int counts[] = { 1, 4 };
  int runs = bench_opts.quick ? 3 : 7;
  double rates[16];

  bench_turn("start");
  for (size_t s = 0; s < sizeof counts / sizeof counts[0]; s++) {
    struct daemon d;
    bench_turn("s=%d setup", counts[s]);
    daemon_start(&d, ncpus() > 1 ? 1 : 0, NULL);
    run(&d, counts[s], -1); /* warm-up, untimed */
    for (int k = 0; k < runs; k++) {
      bench_turn("s=%d run %d", counts[s], k);
      rates[k] = run(&d, counts[s], k);
    }
    char list[512];
    size_t used = 0;
    for (int k = 0; k < runs; k++)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%.0f", k ? "," : "", rates[k]);
    result("\"bench\":\"chanrate\",\"method\":\"channel\",\"senders\":%d,\"unit\":\"msgs/s\","
           "\"msg\":%d,\"median\":%.0f,\"min\":%.0f,\"runs\":[%s]",
           counts[s], MSG, percentile_d(rates, (size_t)runs, 50),
           percentile_d(rates, (size_t)runs, 0), list);
    daemon_stop(&d);
  }
  return 0;
}

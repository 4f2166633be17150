/* SPDX-License-Identifier: MIT */
/*
 * iox-rate.c: iceoryx as the messages-per-second benchmark of b-chanrate.c,
 * for bench/run.py (built by it, not by make, as iox-handoff.c).
 *
 * One subscriber (CPU 1) and one or four publishers (all on CPU 0), each
 * its own process, on one topic. The subscriber's queue holds 256 chunks
 * (iceoryx's largest), and blocks its publishers when full
 * (QueueFullPolicy_BLOCK_PRODUCER with ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER:
 * nothing is lost, as in a channel). A publisher loans a 64-byte chunk,
 * writes its id and sequence number and publishes; the subscriber takes,
 * sleeping in a WaitSet on its HAS_DATA state when there is nothing (the
 * waiting style of a blocking shmv_channel_recv), checks each publisher's
 * order and releases. The rate is the chunks taken over the time from the
 * first to the last. With --turns the same turns as `shmview-bench --turns
 * chanrate`. iox-roudi must run with a mempool of 2,048 chunks of 128 bytes
 * (run.py writes the config).
 *
 * build: cc -O2 -I<builddir> -I<srcdir>/bench -I/usr/include/iceoryx/v2.0.3
 *        iox-rate.c common.c -liceoryx_binding_c
 * usage: iox-rate [--quick] [--turns]
 */
#define _GNU_SOURCE
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iceoryx_binding_c/log.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
#include "iceoryx_binding_c/wait_set.h"

#include "bench.h"

#define MSG      64
#define SENDERS  4
#define SEQ_BITS 40

static int quick;

static long msgs_for(void) {
  return quick ? 100000 : 1000000;
}

static void publisher(const char *topic, int id, long count, int ready, int go) {
  char name[64], ch;
  iox_pub_storage_t st;
  iox_pub_options_t o;

  pin_cpu(0);
  snprintf(name, sizeof name, "shmview-rate-pub-%d-%d", (int)getpid(), id);
  iox_runtime_init(name);
  iox_pub_options_init(&o);
  o.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
  iox_pub_t pub = iox_pub_init(&st, "shmview", "rate", topic, &o);
  while (!iox_pub_has_subscribers(pub))
    usleep(1000);
  if (write_full(ready, "r", 1) || read_full(go, &ch, 1))
    _exit(1);
  for (long i = 0; i < count; i++) {
    void *p;
    int r;
    /* the pool runs dry only while the subscriber holds the chunks */
    while ((r = iox_pub_loan_chunk(pub, &p, MSG)) == AllocationResult_RUNNING_OUT_OF_CHUNKS)
      sched_yield();
    if (r != AllocationResult_SUCCESS)
      die("iox-rate: loan failed (%d): mempool config?", r);
    uint64_t *w = p;
    w[0] = (uint64_t)id << SEQ_BITS | (uint64_t)i;
    memset(w + 1, id, MSG - sizeof *w);
    iox_pub_publish_chunk(pub, p);
  }
  iox_pub_deinit(pub);
  iox_runtime_shutdown();
  _exit(0);
}

static void subscriber(const char *topic, long total, int ready, int result) {
  char name[64];
  iox_sub_storage_t sst;
  iox_ws_storage_t wst;
  iox_sub_options_t o;
  long next[SENDERS] = { 0 };
  uint64_t t0 = 0;

  pin_cpu(ncpus() > 1 ? 1 : 0);
  snprintf(name, sizeof name, "shmview-rate-sub-%d", (int)getpid());
  iox_runtime_init(name);
  iox_sub_options_init(&o);
  o.queueCapacity = 256;
  o.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
  iox_sub_t sub = iox_sub_init(&sst, "shmview", "rate", topic, &o);
  iox_ws_t ws = iox_ws_init(&wst);
  if (iox_ws_attach_subscriber_state(ws, sub, SubscriberState_HAS_DATA, 0, NULL) !=
      WaitSetResult_SUCCESS)
    die("iox-rate: attach to the wait set");
  if (write_full(ready, "r", 1))
    _exit(1);
  for (long i = 0; i < total; i++) {
    const void *p;
    while (iox_sub_take_chunk(sub, &p) != ChunkReceiveResult_SUCCESS) {
      iox_notification_info_t info[2];
      uint64_t missed = 0;
      iox_ws_wait(ws, info, 2, &missed);
    }
    if (i == 0)
      t0 = now_ns();
    uint64_t w = *(const uint64_t *)p;
    unsigned id = (unsigned)(w >> SEQ_BITS);
    if (id >= SENDERS || (long)(w & ((1ull << SEQ_BITS) - 1)) != next[id]++)
      die("iox-rate: chunk %ld out of order or garbled (publisher %u)", i, id);
    iox_sub_release_chunk(sub, p);
  }
  double rate = (double)(total - 1) / ((double)(now_ns() - t0) / 1e9);
  if (write_full(result, &rate, sizeof rate))
    _exit(1);
  iox_ws_detach_subscriber_state(ws, sub, SubscriberState_HAS_DATA);
  iox_ws_deinit(ws);
  iox_sub_deinit(sub);
  iox_runtime_shutdown();
  _exit(0);
}

static double run(int senders, int k) {
  char topic[64], ch;
  int ready[2], go[2], res[2];
  long per = msgs_for() / senders;
  pid_t kids[SENDERS + 1];

  snprintf(topic, sizeof topic, "t%d-%d-%d", (int)getpid(), senders, k + 1);
  if (pipe(ready) || pipe(go) || pipe(res))
    die("pipe");
  /* the subscriber first: a chunk published before it subscribed is lost */
  for (int i = senders; i >= 0; i--) {
    kids[i] = fork();
    if (kids[i] < 0)
      die("fork");
    if (kids[i] == 0) {
      close(ready[0]);
      close(go[1]);
      close(res[0]);
      if (i == senders)
        subscriber(topic, per * senders, ready[1], res[1]);
      publisher(topic, i, per, ready[1], go[0]);
    }
    if (i == senders && read_full(ready[0], &ch, 1))
      die("iox-rate: the subscriber did not start");
  }
  close(ready[1]);
  close(go[0]);
  close(res[1]);
  for (int i = 0; i < senders; i++)
    if (read_full(ready[0], &ch, 1))
      die("iox-rate: a publisher did not start");
  for (int i = 0; i < senders; i++)
    if (write_full(go[1], "g", 1))
      die("iox-rate: go");
  double rate = 0;
  if (read_full(res[0], &rate, sizeof rate))
    die("iox-rate: the subscriber failed");
  for (int i = 0; i <= senders; i++) {
    int st;
    waitpid(kids[i], &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      die("iox-rate: a participant failed");
  }
  close(ready[0]);
  close(go[1]);
  close(res[0]);
  return rate;
}

int main(int argc, char **argv) {
  static const int counts[] = { 1, 4 };
  double rates[16];

  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--quick"))
      quick = 1;
    else if (!strcmp(argv[i], "--turns"))
      bench_opts.turns = 1;
  setvbuf(stdout, NULL, _IOLBF, 0);
  iox_set_loglevel(Iceoryx_LogLevel_Warn); /* a line per runtime otherwise */
  int runs = quick ? 3 : 7;
  bench_turn("start");
  for (size_t s = 0; s < sizeof counts / sizeof counts[0]; s++) {
    bench_turn("s=%d setup", counts[s]);
    run(counts[s], -1); /* warm-up, untimed */
    for (int k = 0; k < runs; k++) {
      bench_turn("s=%d run %d", counts[s], k);
      rates[k] = run(counts[s], k);
    }
    char list[512];
    size_t used = 0;
    for (int k = 0; k < runs; k++)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%.0f", k ? "," : "", rates[k]);
    result("\"bench\":\"chanrate\",\"method\":\"iceoryx\",\"senders\":%d,\"unit\":\"msgs/s\","
           "\"msg\":%d,\"median\":%.0f,\"min\":%.0f,\"runs\":[%s]",
           counts[s], MSG, percentile_d(rates, (size_t)runs, 50),
           percentile_d(rates, (size_t)runs, 0), list);
  }
  return 0;
}

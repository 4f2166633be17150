/* SPDX-License-Identifier: MIT */
/*
 * iox-handoff.c: iceoryx as the hand-off of b-handoff.c, for bench/run.py
 * (built by it, not by make: configure does not look for iceoryx).
 *
 * Writer (CPU 0): loan a chunk of N bytes, write N bytes, publish on the
 * data topic, then wait for the reader's acknowledgement on the ack topic.
 * Reader (CPU 1): take the chunk, read N bytes, release it, publish an
 * acknowledgement. The writer's time runs from the loan to taking the
 * acknowledgement. Chunks live as long as iceoryx's mempools, as views do
 * in b-handoff.c. Two waiting styles, interleaved in batches in the same
 * two processes:
 *
 *   iceoryx-polling  each side busy-polls iox_sub_take_chunk
 *   iceoryx-waitset  each side sleeps in iox_ws_wait on its subscriber's
 *                    HAS_DATA state, then takes
 *
 * iox-roudi must be running with mempools that hold chunks of every size
 * (run.py writes the config). Sizes as b-handoff.c: 64 B, 4 KiB, then x16
 * up to --max. With --turns, the same turns as `shmview-bench --turns
 * handoff` (start, then per size a setup with the warm-up and one turn per
 * batch), so run.py can interleave the two programs batch by batch.
 *
 * build: cc -O2 -I<builddir> -I<srcdir>/bench -I/usr/include/iceoryx/v2.0.3
 *        iox-handoff.c common.c -liceoryx_binding_c
 * usage: iox-handoff [--quick] [--max N] [--turns]
 */
#define _GNU_SOURCE
#include "config.h"

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

enum { POLL, WAITSET, STYLES };
static const char *snames[STYLES] = { "iceoryx-polling", "iceoryx-waitset" };

struct cmd {
  uint64_t n;
  int32_t style, reps, quit;
};

struct end {
  iox_pub_storage_t pst;
  iox_sub_storage_t sst;
  iox_ws_storage_t wst;
  iox_pub_t pub;
  iox_sub_t sub;
  iox_ws_t ws;
};

static void end_init(struct end *e, const char *name, const char *out, const char *in) {
  iox_runtime_init(name);
  iox_pub_options_t po;
  iox_pub_options_init(&po);
  e->pub = iox_pub_init(&e->pst, "shmview", "handoff", out, &po);
  iox_sub_options_t so;
  iox_sub_options_init(&so);
  so.queueCapacity = 4;
  e->sub = iox_sub_init(&e->sst, "shmview", "handoff", in, &so);
  e->ws = iox_ws_init(&e->wst);
  if (iox_ws_attach_subscriber_state(e->ws, e->sub, SubscriberState_HAS_DATA, 0, NULL) !=
      WaitSetResult_SUCCESS)
    die("iceoryx: attach to the wait set");
}

static void end_fini(struct end *e) {
  iox_ws_detach_subscriber_state(e->ws, e->sub, SubscriberState_HAS_DATA);
  iox_ws_deinit(e->ws);
  iox_sub_deinit(e->sub);
  iox_pub_deinit(e->pub);
  iox_runtime_shutdown();
}

static const void *take(struct end *e, int style) {
  const void *p;
  for (;;) {
    if (iox_sub_take_chunk(e->sub, &p) == ChunkReceiveResult_SUCCESS)
      return p;
    if (style == WAITSET) {
      iox_notification_info_t info[2];
      uint64_t missed = 0;
      iox_ws_wait(e->ws, info, 2, &missed);
    }
  }
}

static void *loan(struct end *e, size_t n) {
  void *p;
  int r = iox_pub_loan_chunk(e->pub, &p, (uint32_t)(n ? n : 1));
  if (r != AllocationResult_SUCCESS)
    die("iceoryx: loan of %zu bytes failed (%d): mempool config?", n, r);
  return p;
}

static int reps_for(size_t n, int quick) {
  int r = n <= 65536 ? 4000 : n <= (1u << 20) ? 1000 : n <= (16u << 20) ? 100 : 12;
  return quick ? (r >= 100 ? r / 10 : r > 2 ? 2 : r) : r;
}

static void reader(int down, int up) {
  struct end e;
  pin_cpu(ncpus() > 1 ? 1 : 0);
  end_init(&e, "shmview-handoff-reader", "ack", "data");
  while (!iox_pub_has_subscribers(e.pub))
    usleep(1000);
  write_full(up, "r", 1);
  struct cmd c;
  /* "go" back before each batch: the writer starts its clock only once the
   * reader is awake, so no sample holds the wake-up of the pipe */
  while (read_full(down, &c, sizeof c) == 0 && !c.quit && write_full(up, "g", 1) == 0) {
    for (int i = 0; i < c.reps; i++) {
      const void *p = take(&e, c.style);
      volatile uint64_t sink = sum_bytes(p, c.n);
      (void)sink;
      iox_sub_release_chunk(e.sub, p);
      uint64_t *a = loan(&e, sizeof *a);
      *a = (uint64_t)i;
      iox_pub_publish_chunk(e.pub, a);
    }
  }
  end_fini(&e);
  _exit(0);
}

int main(int argc, char **argv) {
  struct standalone sa;

  iox_set_loglevel(Iceoryx_LogLevel_Warn); /* a line per runtime otherwise */
  standalone_start(&sa, argc, argv, reader);
  struct end e;
  end_init(&e, "shmview-handoff-writer", "data", "ack");
  char ch;
  if (read_full(sa.from_child, &ch, 1))
    die("reader did not start");
  while (!iox_pub_has_subscribers(e.pub))
    usleep(1000);

  for (size_t n = 64; n <= sa.maxn; n *= n < 4096 ? 64 : 16) {
    bench_turn("n=%zu setup", n);
    /* as bench/b-handoff.c: 40 hand-offs a batch, from 1 MiB one */
    int reps = reps_for(n, sa.quick), batches = n >= (1u << 20) || reps < 40 ? reps : reps / 40,
        per = reps / batches;
    uint64_t *samples[STYLES];
    int count[STYLES] = { 0 };
    for (int s = 0; s < STYLES; s++)
      if (!(samples[s] = malloc(sizeof(uint64_t) * (size_t)(per * batches + 1))))
        die("malloc");
    for (int b = -1; b < batches; b++) {
      if (b >= 0)
        bench_turn("n=%zu batch %d", n, b);
      for (int j = 0; j < STYLES; j++) {
        /* the first style after shmview-bench's turn finds cold caches:
         * alternate which goes first, as b-handoff.c shuffles its methods */
        int s = b < 0 ? j : (j + b) % STYLES;
        int k = b < 0 ? (per < 50 ? per : 50) : per;
        /* one untimed hand-off first, as in b-handoff.c */
        int warm = b >= 0;
        struct cmd c = { .n = n, .style = s, .reps = k + warm, .quit = 0 };
        if (write_full(sa.to_child, &c, sizeof c) || read_full(sa.from_child, &ch, 1))
          die("reader died");
        for (int i = -warm; i < k; i++) {
          uint64_t t0 = now_ns();
          char *p = loan(&e, n);
          memset(p, 'a' + (b * per + i + 26) % 26, n);
          iox_pub_publish_chunk(e.pub, p);
          const void *a = take(&e, s);
          iox_sub_release_chunk(e.sub, a);
          uint64_t t = now_ns() - t0;
          if (b >= 0 && i >= 0)
            samples[s][count[s]++] = t;
        }
      }
    }
    for (int s = 0; s < STYLES; s++) {
      static char bm[16384]; /* up to 1000 batches */
      batch_medians(samples[s], batches, per, bm, sizeof bm);
      result("\"bench\":\"handoff\",\"method\":\"%s\",\"n\":%zu,\"placement\":\"cross-core\","
             "\"unit\":\"us\",\"median\":%.3f,\"p99\":%.3f,\"samples\":%d,"
             "\"batch_medians\":[%s]",
             snames[s], n, percentile(samples[s], (size_t)count[s], 50) / 1e3,
             percentile(samples[s], (size_t)count[s], 99) / 1e3, count[s], bm);
      free(samples[s]);
    }
  }
  struct cmd q = { .quit = 1 };
  write_full(sa.to_child, &q, sizeof q);
  waitpid(sa.kid, NULL, 0);
  end_fini(&e);
  return 0;
}

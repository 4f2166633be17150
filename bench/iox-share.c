/* SPDX-License-Identifier: MIT */
/*
 * iox-share.c: iceoryx publish/subscribe as a way to share N bytes, for
 * bench/run.py (built by it, not by make: configure does not look for
 * iceoryx). The publisher (CPU 0) loans a chunk of N bytes, writes N bytes,
 * publishes it and wakes the subscriber through a pipe, as b-share.c does
 * for every method; the subscriber (CPU 1) takes the chunk, reads all N
 * bytes, releases it and acknowledges. iox-roudi must be running with a
 * config whose mempools hold chunks of every size (run.py writes one).
 *
 * build: cc -O2 -I<builddir> -I/usr/include/iceoryx/v2.0.3 iox-share.c
 *        common.c -liceoryx_binding_c
 * usage: iox-share [--quick] [--max N]
 */
#define _GNU_SOURCE
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"

#include "bench.h"

struct cmd {
  uint64_t n;
  int32_t rep, quit;
};
struct ack {
  uint64_t sum, t_take, t_read;
};

static int reps_for(size_t n, int quick) {
  int r = n <= (1u << 20) ? 31 : n <= (16u << 20) ? 11 : n <= (64u << 20) ? 5 : 3;
  return quick ? (r > 3 ? 3 : r) : r;
}

static void subscriber(int down, int up) {
  pin_cpu(ncpus() > 1 ? 1 : 0);
  iox_runtime_init("shmview-bench-sub");
  iox_sub_options_t o;
  iox_sub_options_init(&o);
  o.queueCapacity = 4;
  iox_sub_storage_t st;
  iox_sub_t sub = iox_sub_init(&st, "shmview", "bench", "share", &o);
  write_full(up, "r", 1);
  struct cmd c;
  while (read_full(down, &c, sizeof c) == 0 && !c.quit) {
    struct ack a;
    const void *p;
    uint64_t t0 = now_ns();
    while (iox_sub_take_chunk(sub, &p) != ChunkReceiveResult_SUCCESS)
      ;
    uint64_t t1 = now_ns();
    a.sum = sum_bytes(p, c.n);
    a.t_read = now_ns() - t1;
    a.t_take = t1 - t0;
    iox_sub_release_chunk(sub, p);
    write_full(up, &a, sizeof a);
  }
  iox_sub_deinit(sub);
  _exit(0);
}

int main(int argc, char **argv) {
  struct standalone sa;

  standalone_start(&sa, argc, argv, subscriber);
  iox_runtime_init("shmview-bench-pub");
  iox_pub_options_t o;
  iox_pub_options_init(&o);
  iox_pub_storage_t st;
  iox_pub_t pub = iox_pub_init(&st, "shmview", "bench", "share", &o);
  char ch;
  if (read_full(sa.from_child, &ch, 1))
    die("subscriber did not start");
  while (!iox_pub_has_subscribers(pub))
    usleep(1000);
  for (size_t n = 4096; n <= sa.maxn; n *= 4) {
    int reps = reps_for(n, sa.quick), k = 0;
    uint64_t tot[64], take[64], rd[64], loan[64];
    for (int rep = -1; rep < reps; rep++) {
      uint64_t t0 = now_ns();
      void *p;
      int r = iox_pub_loan_chunk(pub, &p, (uint32_t)n);
      if (r != AllocationResult_SUCCESS)
        die("iceoryx: loan of %zu bytes failed (%d): mempool config?", n, r);
      uint64_t t1 = now_ns();
      memset(p, 'a' + (rep + 26) % 26, n);
      iox_pub_publish_chunk(pub, p);
      struct cmd c = { .n = n, .rep = rep };
      struct ack a;
      if (write_full(sa.to_child, &c, sizeof c) || read_full(sa.from_child, &a, sizeof a))
        die("subscriber died");
      uint64_t t2 = now_ns();
      if (a.sum == 0)
        die("iceoryx: subscriber read nothing");
      if (rep < 0)
        continue;
      tot[k] = t2 - t0;
      loan[k] = t1 - t0;
      take[k] = a.t_take;
      rd[k] = a.t_read;
      k++;
    }
    result("\"bench\":\"share\",\"method\":\"iceoryx\",\"n\":%zu,\"unit\":\"us\","
           "\"median\":%.2f,\"p99\":%.2f,\"samples\":%d,\"create_median\":%.2f,"
           "\"reader_open_median\":%.2f,\"reader_read_median\":%.2f",
           n, percentile(tot, k, 50) / 1e3, percentile(tot, k, 99) / 1e3, k,
           percentile(loan, k, 50) / 1e3, percentile(take, k, 50) / 1e3,
           percentile(rd, k, 50) / 1e3);
  }
  struct cmd q = { .quit = 1 };
  write_full(sa.to_child, &q, sizeof q);
  waitpid(sa.kid, NULL, 0);
  iox_pub_deinit(pub);
  iox_runtime_shutdown();
  return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * b-pingpong.c: the data path. Two processes bounce a counter on one cache
 * line: through shmview views (each process opens its own view of one
 * segment) and through plain anonymous MAP_SHARED memory inherited over
 * fork(). Once mapped, both are the same page-cache pages, so the target is
 * a ratio of 1.0. Cross-core: both spin. Same-core: both spin with
 * sched_yield(), so each round trip is two context switches.
 */
#define _GNU_SOURCE
#include "config.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "shmview.h"

struct line {
  _Alignas(64) _Atomic uint64_t seq;
};

static void wait_for(struct line *l, uint64_t want, int yield) {
  while (atomic_load_explicit(&l->seq, memory_order_acquire) != want)
    if (yield)
      sched_yield();
    else
      __builtin_ia32_pause();
}

/* Parent pings odd values, child pongs even ones. Each batch of `per`
 * round trips is one sample (ns per round trip). */
static void ping(struct line *l, int yield, int batches, int per, double *out) {
  uint64_t v = 0;
  for (int b = -2; b < batches; b++) { /* two warm-up batches */
    uint64_t t0 = now_ns();
    for (int i = 0; i < per; i++) {
      atomic_store_explicit(&l->seq, ++v, memory_order_release);
      wait_for(l, ++v, yield);
    }
    uint64_t t1 = now_ns();
    if (b >= 0)
      out[b] = (double)(t1 - t0) / per;
  }
  atomic_store_explicit(&l->seq, UINT64_MAX, memory_order_release);
}

static void pong(struct line *l, int yield) {
  uint64_t v = 1;
  for (;;) {
    uint64_t s;
    while ((s = atomic_load_explicit(&l->seq, memory_order_acquire)) != v) {
      if (s == UINT64_MAX)
        return;
      if (yield)
        sched_yield();
      else
        __builtin_ia32_pause();
    }
    atomic_store_explicit(&l->seq, ++v, memory_order_release);
    v++;
  }
}

static struct line *shmview_line(const char *sock, shmv_client **cp, shmv_view **vp) {
  int rc = shmv_connect(sock, cp);
  if (rc < 0 || (rc = shmv_view_open(*cp, "pp", 0, SHMV_TO_END, SHMV_WRITABLE, vp)) < 0)
    die("shmview: %s", shmv_strerror(rc));
  return shmv_view_data(*vp);
}

int bench_pingpong(void) {
  int batches = bench_opts.quick ? 11 : 41;
  for (int p = 0; p < 2; p++) {
    const struct placement *pl = &bench_placements[p];
    if (pl->server_cpu >= ncpus())
      continue;
    int yield = pl->server_cpu == pl->client_cpu;
    int per = yield ? 2000 : 20000;
    double raw[64], shv[64];

    /* shmview */
    struct daemon d;
    daemon_start(&d, -1, NULL);
    shmv_client *c;
    int rc = shmv_connect(d.socket, &c);
    if (rc < 0 || (rc = shmv_create(c, "pp", 4096, 0600)) < 0)
      die("shmview: %s", shmv_strerror(rc));
    shmv_disconnect(c);
    pid_t kid = fork();
    if (kid == 0) {
      pin_cpu(pl->server_cpu);
      shmv_client *kc;
      shmv_view *kv;
      pong(shmview_line(d.socket, &kc, &kv), yield);
      shmv_view_release(kv);
      shmv_disconnect(kc);
      _exit(0);
    }
    pin_cpu(pl->client_cpu);
    shmv_view *v;
    struct line *l = shmview_line(d.socket, &c, &v);
    ping(l, yield, batches, per, shv);
    waitpid(kid, NULL, 0);
    shmv_view_release(v);
    shmv_disconnect(c);
    daemon_stop(&d);

    /* raw anonymous shared memory */
    struct line *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
      die("mmap");
    kid = fork();
    if (kid == 0) {
      pin_cpu(pl->server_cpu);
      pong(a, yield);
      _exit(0);
    }
    ping(a, yield, batches, per, raw);
    waitpid(kid, NULL, 0);
    munmap(a, 4096);

    result("\"bench\":\"pingpong\",\"figure\":\"cache-line ping-pong round trip via views\","
           "\"placement\":\"%s%s\",\"unit\":\"ns\",\"median\":%.1f,\"p99\":%.1f,"
           "\"floor\":\"same over anonymous MAP_SHARED (fork)\",\"floor_median\":%.1f,"
           "\"floor_p99\":%.1f,\"target\":1.1,\"samples\":%d",
           pl->name, yield ? " (sched_yield)" : " (spin)", percentile_d(shv, batches, 50),
           percentile_d(shv, batches, 99), percentile_d(raw, batches, 50),
           percentile_d(raw, batches, 99), batches);
  }
  return 0;
}

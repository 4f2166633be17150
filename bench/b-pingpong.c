/* SPDX-License-Identifier: MIT */
/*
 * b-pingpong.c: the data path. Two processes bounce a counter on one cache
 * line: through shmview views (each process opens its own view of one
 * segment) and through plain anonymous MAP_SHARED memory inherited over
 * fork(). Once mapped, both are the same page-cache pages, so the target is
 * a ratio of 1.0. Cross-core: both spin. Same-core: both spin with
 * sched_yield(), so each round trip is two context switches. Batches of
 * the two alternate in the same two processes.
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

/* Parent pings odd values, child pongs even ones: one batch of `per` round
 * trips on line l, whose counter is *v; returns ns per round trip. */
static double ping(struct line *l, uint64_t *v, int per, int yield) {
  uint64_t t0 = now_ns();
  for (int i = 0; i < per; i++) {
    atomic_store_explicit(&l->seq, ++*v, memory_order_release);
    wait_for(l, ++*v, yield);
  }
  return (double)(now_ns() - t0) / per;
}

static void pong(struct line *l, uint64_t *v, int per, int yield) {
  for (int i = 0; i < per; i++) {
    wait_for(l, *v, yield);
    atomic_store_explicit(&l->seq, ++*v, memory_order_release);
    ++*v;
  }
}

static struct line *shmview_line(const char *sock, shmv_client **cp, shmv_view **vp) {
  int rc = shmv_connect(sock, cp);
  if (rc < 0 || (rc = shmv_view_open(*cp, "pp", 0, SHMV_TO_END, SHMV_WRITABLE, vp)) < 0)
    die("shmview: %s", shmv_strerror(rc));
  return shmv_view_data(*vp);
}

/* A batch for the partner: `per` pongs on line `which` (0 shmview, 1 raw). */
struct ppcmd {
  int32_t which, per, quit;
};

int bench_pingpong(void) {
  int batches = bench_opts.quick ? 11 : 41;
  for (int p = 0; p < 2; p++) {
    const struct placement *pl = &bench_placements[p];
    if (pl->server_cpu >= ncpus())
      continue;
    int yield = pl->server_cpu == pl->client_cpu;
    int per = yield ? 2000 : 20000;
    double out[2][64];

    struct daemon d;
    daemon_start(&d, -1, NULL);
    shmv_client *c;
    shmv_view *v;
    int rc = shmv_connect(d.socket, &c);
    if (rc < 0 || (rc = shmv_create(c, "pp", 4096, 0600)) < 0)
      die("shmview: %s", shmv_strerror(rc));
    shmv_disconnect(c);
    struct line *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
      die("mmap");

    /* One partner process for both lines, blocked on its pipe between
     * batches (so it never spins beside the other line's batch); the two
     * lines' batches alternate, so both see the same load. */
    int down[2], up[2];
    pid_t kid = fork_piped(down, up);
    if (kid == 0) {
      pin_cpu(pl->server_cpu);
      struct line *lines[2] = { shmview_line(d.socket, &c, &v), a };
      uint64_t cnt[2] = { 1, 1 };
      struct ppcmd cm;
      while (read_full(down[0], &cm, sizeof cm) == 0 && !cm.quit && write_full(up[1], "g", 1) == 0)
        pong(lines[cm.which], &cnt[cm.which], cm.per, yield);
      shmv_view_release(v);
      shmv_disconnect(c);
      _exit(0);
    }
    pin_cpu(pl->client_cpu);
    struct line *lines[2] = { shmview_line(d.socket, &c, &v), a };
    uint64_t cnt[2] = { 0, 0 };
    for (int b = -2; b < batches; b++) /* two warm-up rounds */
      for (int w = 0; w < 2; w++) {
        struct ppcmd cm = { w, per, 0 };
        char ch;
        if (write_full(down[1], &cm, sizeof cm) || read_full(up[0], &ch, 1))
          die("pingpong partner gone");
        double t = ping(lines[w], &cnt[w], per, yield);
        if (b >= 0)
          out[w][b] = t;
      }
    struct ppcmd q = { 0, 0, 1 };
    write_full(down[1], &q, sizeof q);
    close(down[1]);
    close(up[0]);
    waitpid(kid, NULL, 0);
    shmv_view_release(v);
    shmv_disconnect(c);
    daemon_stop(&d);
    munmap(a, 4096);

    result("\"bench\":\"pingpong\",\"figure\":\"cache-line ping-pong round trip via views\","
           "\"placement\":\"%s%s\",\"unit\":\"ns\",\"median\":%.1f,\"p99\":%.1f,"
           "\"floor\":\"same over anonymous MAP_SHARED (fork), batches interleaved\","
           "\"floor_median\":%.1f,\"floor_p99\":%.1f,\"target\":1.1,\"samples\":%d",
           pl->name, yield ? " (sched_yield)" : " (spin)", percentile_d(out[0], batches, 50),
           percentile_d(out[0], batches, 99), percentile_d(out[1], batches, 50),
           percentile_d(out[1], batches, 99), batches);
  }
  return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * b-prefault.c: does SHMV_PREFAULT pay, and from which size? A view of N
 * bytes (4 KiB .. 256 MiB) of a segment whose memory is allocated is
 * opened and every page of it touched once (a load per page for a
 * read-only view, a store for a writable one), then released; with and
 * without SHMV_PREFAULT, interleaved, the mapping cache off so that every
 * open maps afresh. The time is open + touch + release: what prefaulting
 * moves from the page faults of the first touch into the open.
 */
#define _GNU_SOURCE
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "shmview.h"

static uint64_t once(shmv_client *c, size_t n, int flags, volatile uint64_t *sink) {
  shmv_view *v;
  long page = sysconf(_SC_PAGESIZE);
  uint64_t t0 = now_ns();
  int rc = shmv_view_open(c, "pf", 0, n, flags, &v);
  if (rc < 0)
    die("open: %s", shmv_strerror(rc));
  char *p = shmv_view_data(v);
  if (flags & SHMV_WRITABLE)
    for (size_t i = 0; i < n; i += (size_t)page)
      p[i] = 1;
  else
    for (size_t i = 0; i < n; i += (size_t)page)
      *sink += (unsigned char)p[i];
  shmv_view_release(v);
  return now_ns() - t0;
}

int bench_prefault(void) {
  struct daemon d;
  shmv_client *c;
  volatile uint64_t sink = 0;
  int rc;

  /* every open maps afresh: the question is the first touch */
  setenv("SHMVIEW_MAP_CACHE", "0", 1);
  daemon_start(&d, 1 < ncpus() ? 1 : 0, NULL);
  pin_cpu(0);
  for (size_t n = 4096; n <= ((size_t)256 << 20); n *= 16) {
    int reps = n <= (1u << 20) ? 200 : n <= (16u << 20) ? 30 : 8;
    if (bench_opts.quick)
      reps = reps >= 20 ? reps / 10 : 2;
    if ((rc = shmv_connect(d.socket, &c)) < 0 || (rc = shmv_create(c, "pf", n, 0600)) < 0)
      die("shmview: %s", shmv_strerror(rc));
    uint64_t *t[4];
    for (int k = 0; k < 4; k++)
      if (!(t[k] = malloc(sizeof(uint64_t) * (size_t)reps)))
        die("malloc");
    /* ro, ro+prefault, rw, rw+prefault, interleaved; one warm-up round */
    static const int flags[4] = { 0, SHMV_PREFAULT, SHMV_WRITABLE, SHMV_WRITABLE | SHMV_PREFAULT };
    for (int r = -1; r < reps; r++)
      for (int k = 0; k < 4; k++) {
        uint64_t dt = once(c, n, flags[k], &sink);
        if (r >= 0)
          t[k][r] = dt;
      }
    for (int k = 0; k < 4; k += 2) {
      const char *kind = k == 0 ? "read-only" : "writable";
      char nbuf[32];
      if (n >= (1u << 20))
        snprintf(nbuf, sizeof nbuf, "%zu MiB", n >> 20);
      else
        snprintf(nbuf, sizeof nbuf, "%zu KiB", n >> 10);
      result("\"bench\":\"prefault\",\"figure\":\"open + first touch of every page + release, "
             "%s view of %s, with SHMV_PREFAULT\",\"placement\":\"same process\",\"unit\":\"us\","
             "\"median\":%.2f,\"p99\":%.2f,\"floor\":\"the same without SHMV_PREFAULT "
             "(page faults at first touch), interleaved\",\"floor_median\":%.2f,"
             "\"floor_p99\":%.2f,\"samples\":%d",
             kind, nbuf, percentile(t[k + 1], (size_t)reps, 50) / 1e3,
             percentile(t[k + 1], (size_t)reps, 99) / 1e3, percentile(t[k], (size_t)reps, 50) / 1e3,
             percentile(t[k], (size_t)reps, 99) / 1e3, reps);
    }
    for (int k = 0; k < 4; k++)
      free(t[k]);
    shmv_unlink(c, "pf");
    shmv_disconnect(c);
  }
  daemon_stop(&d);
  (void)sink;
  return 0;
}

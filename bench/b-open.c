/* SPDX-License-Identifier: MIT */
/*
 * b-open.c: view open latency. One connection, then per iteration
 * shmv_view_open + (mmap inside it) + touch one byte + shmv_view_release,
 * against the floor measured in the same run and placement: a 32-byte
 * Unix-socket round trip to an echo process pinned where the daemon runs,
 * plus shm_open + mmap + touch + munmap + close of a 4 KiB object.
 * A read-only view's open+map+read+release is measured beside it: the
 * client keeps released read-only mappings, never writable ones
 * (docs/architecture.md), so the two differ when the cache is on.
 *
 * open-sealed: the same open+map+touch+release (writable, and read-only)
 * of a sealed segment (SHMV_SEALED: a memfd) against a plain one, turn by
 * turn in one loop, one connection: the ratio is the cost of sealing.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "shmview.h"

#define SEG 4096

static void echo_server(int s) {
  char buf[32];
  while (read_full(s, buf, sizeof buf) == 0)
    if (write_full(s, buf, sizeof buf) != 0)
      break;
  _exit(0);
}

static void one_placement(const struct placement *pl, int runs, int iters) {
  size_t n = (size_t)runs * (size_t)iters;
  uint64_t *floor_rtt = calloc(n, 8), *floor_shm = calloc(n, 8), *floor_sum = calloc(n, 8),
           *open_s = calloc(n, 8), *rel_s = calloc(n, 8), *total = calloc(n, 8),
           *ro_total = calloc(n, 8);
  if (!floor_rtt || !floor_shm || !floor_sum || !open_s || !rel_s || !total || !ro_total)
    die("out of memory");

  struct daemon d;
  daemon_start(&d, pl->server_cpu, NULL);
  pin_cpu(pl->client_cpu);

  /* The floor's shm object: made by us, as the daemon makes its own. */
  char floor_name[96];
  snprintf(floor_name, sizeof floor_name, "/%s.floor", d.prefix);
  int ffd = shm_open(floor_name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (ffd < 0 || posix_fallocate(ffd, 0, SEG) != 0)
    die("floor shm object: %s", strerror(errno));
  close(ffd);

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    die("socketpair: %s", strerror(errno));
  pid_t echo = fork();
  if (echo == 0) {
    close(sv[0]);
    pin_cpu(pl->server_cpu);
    echo_server(sv[1]);
  }
  close(sv[1]);

  shmv_client *c;
  int rc = shmv_connect(d.socket, &c);
  if (rc < 0 || (rc = shmv_create(c, "lat", SEG, 0600)) < 0)
    die("shmview: %s", shmv_strerror(rc));

  char msg[32] = { 0 };
  size_t k = 0;
  for (int r = 0; r < runs; r++) {
    /* Interleave floor and shmview in each run so drift hits both. */
    for (int i = -iters / 10; i < iters; i++) {
      uint64_t t0 = now_ns();
      if (write_full(sv[0], msg, sizeof msg) || read_full(sv[0], msg, sizeof msg))
        die("echo");
      uint64_t t1 = now_ns();
      int fd = shm_open(floor_name, O_RDWR, 0);
      char *p = mmap(NULL, SEG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (fd < 0 || p == MAP_FAILED)
        die("floor shm: %s", strerror(errno));
      p[0] = (char)i;
      munmap(p, SEG);
      close(fd);
      uint64_t t2 = now_ns();

      shmv_view *v;
      uint64_t t3 = now_ns();
      if ((rc = shmv_view_open(c, "lat", 0, SHMV_TO_END, SHMV_WRITABLE, &v)) < 0)
        die("open: %s", shmv_strerror(rc));
      ((volatile char *)shmv_view_data(v))[0] = (char)i;
      uint64_t t4 = now_ns();
      shmv_view_release(v);
      uint64_t t5 = now_ns();

      uint64_t t6 = now_ns();
      if ((rc = shmv_view_open(c, "lat", 0, SHMV_TO_END, 0, &v)) < 0)
        die("open read-only: %s", shmv_strerror(rc));
      if (((volatile const char *)shmv_view_data(v))[0] != (char)i)
        die("read-only view: not the byte just written");
      shmv_view_release(v);
      uint64_t t7 = now_ns();
      if (i < 0)
        continue; /* warm-up */
      floor_rtt[k] = t1 - t0;
      floor_shm[k] = t2 - t1;
      floor_sum[k] = t2 - t0;
      open_s[k] = t4 - t3;
      rel_s[k] = t5 - t4;
      total[k] = t5 - t3;
      ro_total[k] = t7 - t6;
      k++;
    }
  }
  shmv_disconnect(c);
  close(sv[0]);
  waitpid(echo, NULL, 0);
  shm_unlink(floor_name);
  daemon_stop(&d);

  double fmed = percentile(floor_sum, k, 50), fp99 = percentile(floor_sum, k, 99);
  double rtt_med = percentile(floor_rtt, k, 50), rtt_p99 = percentile(floor_rtt, k, 99);
  double shm_med = percentile(floor_shm, k, 50), shm_p99 = percentile(floor_shm, k, 99);
  result("\"bench\":\"open\",\"figure\":\"view open+map+touch+release\",\"placement\":\"%s\","
         "\"unit\":\"us\",\"median\":%.3f,\"p99\":%.3f,"
         "\"floor\":\"32-byte socket RTT + shm_open/mmap/touch/munmap/close\","
         "\"floor_median\":%.3f,\"floor_p99\":%.3f,\"target\":1.5,\"samples\":%zu",
         pl->name, percentile(total, k, 50) / 1e3, percentile(total, k, 99) / 1e3, fmed / 1e3,
         fp99 / 1e3, k);
  /* The parts, for the record (no target of their own). */
  result("\"bench\":\"open\",\"figure\":\"  part: open+map+touch (1 round "
         "trip)\",\"placement\":\"%s\","
         "\"unit\":\"us\",\"median\":%.3f,\"p99\":%.3f,"
         "\"floor\":\"same floor\",\"floor_median\":%.3f,\"floor_p99\":%.3f,\"samples\":%zu",
         pl->name, percentile(open_s, k, 50) / 1e3, percentile(open_s, k, 99) / 1e3, fmed / 1e3,
         fp99 / 1e3, k);
  result(
      "\"bench\":\"open\",\"figure\":\"  part: release (munmap + 1 round "
      "trip)\",\"placement\":\"%s\","
      "\"unit\":\"us\",\"median\":%.3f,\"p99\":%.3f,"
      "\"floor\":\"32-byte socket RTT\",\"floor_median\":%.3f,\"floor_p99\":%.3f,\"samples\":%zu",
      pl->name, percentile(rel_s, k, 50) / 1e3, percentile(rel_s, k, 99) / 1e3, rtt_med / 1e3,
      rtt_p99 / 1e3, k);
  result("\"bench\":\"open\",\"figure\":\"read-only view open+map+read+release\","
         "\"placement\":\"%s\",\"unit\":\"us\",\"median\":%.3f,\"p99\":%.3f,"
         "\"floor\":\"same floor\",\"floor_median\":%.3f,\"floor_p99\":%.3f,\"samples\":%zu",
         pl->name, percentile(ro_total, k, 50) / 1e3, percentile(ro_total, k, 99) / 1e3, fmed / 1e3,
         fp99 / 1e3, k);
  result("\"bench\":\"open\",\"figure\":\"  floor part: "
         "shm_open+mmap+touch+munmap+close\",\"placement\":\"%s\","
         "\"unit\":\"us\",\"median\":%.3f,\"p99\":%.3f,\"samples\":%zu",
         pl->name, shm_med / 1e3, shm_p99 / 1e3, k);
  free(floor_rtt);
  free(floor_shm);
  free(floor_sum);
  free(open_s);
  free(rel_s);
  free(total);
  free(ro_total);
}

/* One sealed-vs-plain comparison: [0] plain, [1] sealed; writable and
 * read-only opens. */
static void sealed_placement(const struct placement *pl, int iters) {
  static const char *const names[2] = { "lat-plain", "lat-sealed" };
  size_t n = (size_t)iters, k = 0;
  uint64_t *rw[2] = { calloc(n, 8), calloc(n, 8) }, *ro[2] = { calloc(n, 8), calloc(n, 8) };
  struct daemon d;
  shmv_client *c;
  int rc;

  if (!rw[0] || !rw[1] || !ro[0] || !ro[1])
    die("out of memory");
  daemon_start(&d, pl->server_cpu, NULL);
  pin_cpu(pl->client_cpu);
  if ((rc = shmv_connect(d.socket, &c)) < 0 || (rc = shmv_create(c, names[0], SEG, 0600)) < 0 ||
      (rc = shmv_create_flags(c, names[1], SEG, 0600, SHMV_SEALED)) < 0)
    die("shmview: %s", shmv_strerror(rc));
  for (int i = -iters / 10; i < iters; i++) {
    uint64_t t[2][2];

    /* Which goes first alternates, so neither always follows the other. */
    for (int j = 0; j < 2; j++) {
      int w = (i & 1) ? 1 - j : j;
      shmv_view *v;
      uint64_t t0 = now_ns();

      if ((rc = shmv_view_open(c, names[w], 0, SHMV_TO_END, SHMV_WRITABLE, &v)) < 0)
        die("open %s: %s", names[w], shmv_strerror(rc));
      ((volatile char *)shmv_view_data(v))[0] = (char)i;
      shmv_view_release(v);
      uint64_t t1 = now_ns();
      if ((rc = shmv_view_open(c, names[w], 0, SHMV_TO_END, 0, &v)) < 0)
        die("open %s read-only: %s", names[w], shmv_strerror(rc));
      if (((volatile const char *)shmv_view_data(v))[0] != (char)i)
        die("read-only view of %s: not the byte just written", names[w]);
      shmv_view_release(v);
      t[w][0] = t1 - t0;
      t[w][1] = now_ns() - t1;
    }
    if (i < 0)
      continue; /* warm-up */
    for (int w = 0; w < 2; w++) {
      rw[w][k] = t[w][0];
      ro[w][k] = t[w][1];
    }
    k++;
  }
  shmv_disconnect(c);
  daemon_stop(&d);
  for (int r = 0; r < 2; r++) {
    uint64_t **a = r == 0 ? rw : ro;
    double med = percentile(a[1], k, 50), fmed = percentile(a[0], k, 50);

    result("\"bench\":\"open-sealed\",\"figure\":\"%s view open+map+touch+release, sealed\","
           "\"placement\":\"%s\",\"unit\":\"us\",\"median\":%.3f,\"p99\":%.3f,"
           "\"floor\":\"the same of a plain segment, same loop\",\"floor_median\":%.3f,"
           "\"floor_p99\":%.3f,\"ratio\":%.3f,\"target\":1.05,\"samples\":%zu",
           r == 0 ? "writable" : "read-only", pl->name, med / 1e3, percentile(a[1], k, 99) / 1e3,
           fmed / 1e3, percentile(a[0], k, 99) / 1e3, med / fmed, k);
  }
  for (int w = 0; w < 2; w++) {
    free(rw[w]);
    free(ro[w]);
  }
}

int bench_open_sealed(void) {
  int iters = bench_opts.quick ? 1000 : 10000;
  for (int p = 0; p < 2; p++) {
    if (bench_placements[p].server_cpu >= ncpus())
      continue;
    sealed_placement(&bench_placements[p], iters);
  }
  return 0;
}

int bench_open(void) {
  int runs = bench_opts.quick ? 2 : 5, iters = bench_opts.quick ? 500 : 2000;
  for (int p = 0; p < 2; p++) {
    if (bench_placements[p].server_cpu >= ncpus())
      continue;
    one_placement(&bench_placements[p], runs, iters);
  }
  return 0;
}

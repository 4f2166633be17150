/* SPDX-License-Identifier: MIT */
/*
 * b-scale.c: the daemon at scale. One shmviewd holds 10,000 segments and
 * 100,000 live views (20 holder processes x 5 connections x 1,000 views:
 * each process stays far below vm.max_map_count and the fd limit); another
 * holds one segment and no views. Against both, in the same run and
 * placement, a fresh client measures stat, open+touch+release and
 * create+unlink; the empty daemon is the floor. The daemon's VmRSS before
 * and after gives its resident memory per segment and per view.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "shmview.h"

#define NSEG     10000
#define HOLDERS  20
#define CONNS    5
#define PER_CONN 1000 /* HOLDERS * CONNS * PER_CONN = 100,000 views */

static void pin_pid(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0)
    for (int i = 0; i < ncpus(); i++)
      CPU_SET(i, &set);
  else
    CPU_SET(cpu, &set);
  if (sched_setaffinity(pid, sizeof set, &set) != 0)
    die("sched_setaffinity(%d): %s", (int)pid, strerror(errno));
}

static void holder(const char *sock, int h, int ready_fd, int hold_fd) {
  shmv_client *c[CONNS];
  for (int k = 0; k < CONNS; k++) {
    int rc = shmv_connect(sock, &c[k]);
    if (rc < 0)
      die("holder connect: %s", shmv_strerror(rc));
    for (int i = 0; i < PER_CONN; i++) {
      int g = (h * CONNS + k) * PER_CONN + i;
      char name[32];
      snprintf(name, sizeof name, "seg-%d", g % NSEG);
      shmv_view *v;
      rc = shmv_view_open(c[k], name, 0, SHMV_TO_END, i % 2 ? SHMV_WRITABLE : 0, &v);
      if (rc < 0)
        die("holder open %s: %s", name, shmv_strerror(rc));
      /* the handle is kept on purpose: the view lives until we exit */
    }
  }
  write_full(ready_fd, "r", 1);
  char ch;
  (void)read(hold_fd, &ch, 1); /* EOF: done */
  _exit(0);
}

enum { OP_STAT, OP_OPEN, OP_CREATE, NOPS };
static const char *opnames[NOPS] = { "stat", "open+touch+release", "create(4 KiB)+unlink" };

static void op(shmv_client *c, int which, int i) {
  int rc = 0;
  switch (which) {
  case OP_STAT: {
    shmv_segment_info si;
    rc = shmv_stat(c, "seg-5000", &si);
    break;
  }
  case OP_OPEN: {
    shmv_view *v;
    rc = shmv_view_open(c, "seg-5000", 0, SHMV_TO_END, SHMV_WRITABLE, &v);
    if (rc == 0) {
      ((volatile char *)shmv_view_data(v))[0] = (char)i;
      shmv_view_release(v);
    }
    break;
  }
  case OP_CREATE: {
    char name[32];
    snprintf(name, sizeof name, "tmp-%d", i);
    rc = shmv_create(c, name, 4096, 0600);
    if (rc == 0)
      rc = shmv_unlink(c, name);
    break;
  }
  }
  if (rc < 0)
    die("%s: %s", opnames[which], shmv_strerror(rc));
}

int bench_scale(void) {
  int iters = bench_opts.quick ? 300 : 2000;
  struct daemon big, empty;
  daemon_start(&big, -1, NULL);
  daemon_start(&empty, -1, NULL);
  usleep(200000);
  long rss0 = proc_rss_kib(big.pid);

  shmv_client *c;
  int rc = shmv_connect(big.socket, &c);
  if (rc < 0)
    die("connect: %s", shmv_strerror(rc));
  uint64_t t0 = now_ns();
  for (int i = 0; i < NSEG; i++) {
    char name[32];
    snprintf(name, sizeof name, "seg-%d", i);
    if ((rc = shmv_create(c, name, 4096, 0600)) < 0)
      die("create %s: %s", name, shmv_strerror(rc));
  }
  uint64_t t1 = now_ns();
  long rss1 = proc_rss_kib(big.pid);

  int ready[2], hold[2];
  if (pipe(ready) || pipe(hold))
    die("pipe");
  pid_t kids[HOLDERS];
  for (int h = 0; h < HOLDERS; h++) {
    kids[h] = fork();
    if (kids[h] == 0) {
      close(ready[0]);
      close(hold[1]);
      holder(big.socket, h, ready[1], hold[0]);
    }
  }
  close(ready[1]);
  close(hold[0]);
  for (int h = 0; h < HOLDERS; h++) {
    char ch;
    if (read_full(ready[0], &ch, 1))
      die("a holder failed");
  }
  uint64_t t2 = now_ns();
  long rss2 = proc_rss_kib(big.pid);
  shmv_status_info st;
  if ((rc = shmv_status(c, &st)) < 0)
    die("status: %s", shmv_strerror(rc));
  shmv_disconnect(c);
  fprintf(stderr, "scale: %llu segments, %llu views, %llu clients; made in %.1f s + %.1f s\n",
          (unsigned long long)st.segments, (unsigned long long)st.views,
          (unsigned long long)st.clients, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
  if (st.segments != NSEG || st.views != (uint64_t)HOLDERS * CONNS * PER_CONN)
    die("scale: the daemon does not hold what was asked");

  shmv_client *e;
  if ((rc = shmv_connect(empty.socket, &e)) < 0 ||
      (rc = shmv_create(e, "seg-5000", 4096, 0600)) < 0)
    die("empty daemon: %s", shmv_strerror(rc));
  shmv_disconnect(e);

  uint64_t *ls = malloc(sizeof(uint64_t) * (size_t)iters);
  uint64_t *es = malloc(sizeof(uint64_t) * (size_t)iters);
  for (int p = 0; p < 2; p++) {
    const struct placement *pl = &bench_placements[p];
    if (pl->server_cpu >= ncpus())
      continue;
    pin_pid(big.pid, pl->server_cpu);
    pin_pid(empty.pid, pl->server_cpu);
    pin_cpu(pl->client_cpu);
    shmv_client *cb, *ce;
    if ((rc = shmv_connect(big.socket, &cb)) < 0 || (rc = shmv_connect(empty.socket, &ce)) < 0)
      die("connect: %s", shmv_strerror(rc));
    for (int w = 0; w < NOPS; w++) {
      int k = 0;
      /* Which daemon goes first alternates: a release is not waited for,
       * so the daemon measured first may still be handling it while the
       * second is measured (on one CPU, in its time). */
      for (int i = -iters / 10; i < iters; i++) {
        shmv_client *first = i & 1 ? ce : cb, *second = i & 1 ? cb : ce;
        uint64_t a = now_ns();
        op(first, w, i + 100000);
        uint64_t b = now_ns();
        op(second, w, i + 100000);
        uint64_t d = now_ns();
        if (i >= 0) {
          ls[k] = i & 1 ? d - b : b - a;
          es[k] = i & 1 ? b - a : d - b;
          k++;
        }
      }
      result("\"bench\":\"scale\",\"figure\":\"%s, 10k segments + 100k views\","
             "\"placement\":\"%s\",\"unit\":\"us\",\"median\":%.2f,\"p99\":%.2f,"
             "\"floor\":\"same op, empty daemon\",\"floor_median\":%.2f,"
             "\"floor_p99\":%.2f,\"target\":1.5,\"samples\":%d",
             opnames[w], pl->name, percentile(ls, k, 50) / 1e3, percentile(ls, k, 99) / 1e3,
             percentile(es, k, 50) / 1e3, percentile(es, k, 99) / 1e3, k);
    }
    shmv_disconnect(cb);
    shmv_disconnect(ce);
  }
  free(ls);
  free(es);

  result("\"bench\":\"scale\",\"figure\":\"daemon RSS per segment\",\"placement\":\"-\","
         "\"unit\":\"B\",\"median\":%.0f,\"target_abs\":1024,"
         "\"note\":\"VmRSS %ld -> %ld KiB for %d segments\"",
         (double)(rss1 - rss0) * 1024.0 / NSEG, rss0, rss1, NSEG);
  result("\"bench\":\"scale\",\"figure\":\"daemon RSS per view\",\"placement\":\"-\","
         "\"unit\":\"B\",\"median\":%.0f,\"target_abs\":1024,"
         "\"note\":\"VmRSS %ld -> %ld KiB for %d views on %d connections\"",
         (double)(rss2 - rss1) * 1024.0 / (HOLDERS * CONNS * PER_CONN), rss1, rss2,
         HOLDERS * CONNS * PER_CONN, HOLDERS * CONNS);

  close(hold[1]); /* holders exit, their connections close */
  for (int h = 0; h < HOLDERS; h++)
    waitpid(kids[h], NULL, 0);
  daemon_stop(&big);
  daemon_stop(&empty);
  return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * shmview-bench: the benchmarks of bench/, one subcommand each. Every figure
 * is printed as a "RESULT {json}" line that bench/run.py turns into the
 * table of docs/benchmarks.md. Built only by `make bench`.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "units.h"

static void usage(void) {
  fprintf(stderr,
          "usage: shmview-bench [--daemon PATH] [--quick] [--redis-port N] [--only X] [--turns]\n"
          "                     open|throughput|pingpong|share|scale|handoff|wakeup|prefault|\n"
          "                     open-sealed|handoff-sealed|chanrate\n");
  exit(2);
}

size_t bench_only_max_size(const char *bench) {
  uint64_t v;

  if (!bench_opts.only)
    return (size_t)256 << 20;
  if (proto_size_parse(bench_opts.only, &v) != 0 || v > SIZE_MAX)
    die("%s: --only takes the largest size, e.g. 16M, not '%s'", bench, bench_opts.only);
  return (size_t)v;
}

int main(int argc, char **argv) {
  bench_opts.daemon = getenv("SHMVIEWD") ? getenv("SHMVIEWD") : "./shmviewd";
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--daemon") && i + 1 < argc)
      bench_opts.daemon = argv[++i];
    else if (!strcmp(argv[i], "--quick"))
      bench_opts.quick = 1;
    else if (!strcmp(argv[i], "--redis-port") && i + 1 < argc)
      bench_opts.redis_port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      bench_opts.only = argv[++i];
    else if (!strcmp(argv[i], "--turns"))
      bench_opts.turns = 1;
    else
      usage();
  }
  if (i + 1 != argc)
    usage();
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *cmd = argv[i];
  if (!strcmp(cmd, "open"))
    return bench_open();
  if (!strcmp(cmd, "throughput"))
    return bench_throughput();
  if (!strcmp(cmd, "pingpong"))
    return bench_pingpong();
  if (!strcmp(cmd, "share"))
    return bench_share();
  if (!strcmp(cmd, "scale"))
    return bench_scale();
  if (!strcmp(cmd, "handoff"))
    return bench_handoff();
  if (!strcmp(cmd, "wakeup"))
    return bench_wakeup();
  if (!strcmp(cmd, "prefault"))
    return bench_prefault();
  if (!strcmp(cmd, "open-sealed"))
    return bench_open_sealed();
  if (!strcmp(cmd, "handoff-sealed"))
    return bench_handoff_sealed();
  if (!strcmp(cmd, "chanrate"))
    return bench_chanrate();
  usage();
}

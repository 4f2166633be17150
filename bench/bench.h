/* SPDX-License-Identifier: MIT */
/*
 * bench.h: shared helpers of shmview-bench: clocks, statistics, CPU pinning,
 * a private shmviewd per measurement, and the RESULT lines bench/run.py reads.
 */
#ifndef SHMV_BENCH_BENCH_H
#define SHMV_BENCH_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Options every subcommand shares (set by main.c). */
struct bench_opts {
  const char *daemon; /* path of the built shmviewd */
  int quick;          /* fewer iterations (smoke run) */
  int redis_port;     /* 0: no Redis column */
  const char *only;   /* sizes / variants filter, subcommand-specific */
  int turns;          /* --turns: take turns with another program (bench_turn) */
};
extern struct bench_opts bench_opts;

/* A CPU placement: where the daemon (or floor server) and the client run. */
struct placement {
  const char *name; /* "same-core" or "cross-core" */
  int server_cpu;
  int client_cpu;
};
extern const struct placement bench_placements[2];

uint64_t now_ns(void);
void pin_cpu(int cpu); /* this thread, exits on failure */
int ncpus(void);

/* Sorts v in place; p in [0,100]. */
double percentile(uint64_t *v, size_t n, double p);
double percentile_d(double *v, size_t n, double p);
/* The median (us) of each of batches runs of per samples of v (ns), comma
 * separated into buf, for a JSON array: run.py pairs batch b of two
 * methods that took the same turn. Sorts each batch in place. */
const char *batch_medians(uint64_t *v, int batches, int per, char *buf, size_t cap);

/* A private shmviewd: own socket in a private directory, unique prefix,
 * pinned to cpu (-1: unpinned). */
struct daemon {
  pid_t pid;
  char dir[64];
  char socket[128];
  char prefix[64];
};
void daemon_start(struct daemon *d, int cpu, const char *extra_arg);
void daemon_stop(struct daemon *d); /* SIGTERM, reap, remove /dev/shm objects */
long proc_rss_kib(pid_t pid);       /* VmRSS of a process, KiB */

/* A RESULT line: one JSON object per figure, read by bench/run.py.
 * fields is the inside of the object, e.g. "\"median\":12.5". */
void result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Blocking helpers. */
int read_full(int fd, void *buf, size_t len); /* 0 or -1 (EOF/error) */
int write_full(int fd, const void *buf, size_t len);

/* Sum of p[0..n) as 64-bit words plus the tail bytes: reads every byte so
 * the compiler cannot skip the copy or mapping being measured. */
uint64_t sum_bytes(const char *p, size_t n);

/* fork() with two pipes: down (parent -> child) and up (child -> parent).
 * The child keeps down[0] and up[1], the parent down[1] and up[0]; the
 * other ends are closed. Returns fork()'s result; exits on failure. */
pid_t fork_piped(int down[2], int up[2]);

/* Taking turns with another benchmark program (--turns): run.py runs two
 * programs side by side (shmview-bench handoff and iox-handoff) and lets
 * one measure at a time, so both see the same load. With bench_opts.turns
 * set, prints "TURN <what>" (what this program does next) and blocks until
 * a byte arrives on stdin; end of file ends the turn-taking. No-op
 * otherwise. Call only where the program holds no CPU-heavy child busy. */
void bench_turn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The start of a stand-alone program (iox-*.c): reads --quick, --max N and
 * --turns (into bench_opts.turns), takes its first turn ("start"), forks
 * child(down, up) on two pipes (child must not return) and pins this
 * process to CPU 0. */
struct standalone {
  int quick;    /* --quick given */
  size_t maxn;  /* --max N, default 256 MiB */
  pid_t kid;    /* the child */
  int to_child; /* the parent's pipe ends */
  int from_child;
};
void standalone_start(struct standalone *s, int argc, char **argv, void (*child)(int down, int up));

/* The largest size a subcommand measures: --only N (e.g. 16M) when given,
 * else 256 MiB; exits on a bad N (named after `bench`). In main.c, as it
 * needs the size parser the stand-alone programs do not link. */
size_t bench_only_max_size(const char *bench);

/* Subcommands. */
int bench_open(void);
int bench_open_sealed(void);
int bench_throughput(void);
int bench_pingpong(void);
int bench_share(void);
int bench_scale(void);
int bench_handoff(void);
int bench_handoff_sealed(void);
int bench_wakeup(void);
int bench_prefault(void);
int bench_chanrate(void);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * common.c: helpers shared by the benchmarks.
 */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct bench_opts bench_opts;

const struct placement bench_placements[2] = {
  { "same-core", 0, 0 },
  { "cross-core", 1, 0 },
};

uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int ncpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

void pin_cpu(int cpu) {
  if (cpu < 0)
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0)
    die("sched_setaffinity(cpu %d): %s", cpu, strerror(errno));
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The nearest-rank percentile p of n sorted values, where at(v, i) is the
 * i-th; the median of an even count is the mean of the two middle ones. */
static double nearest_rank(const void *v, size_t n, double p, double (*at)(const void *, size_t)) {
  size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);

  if (n == 0)
    return 0;
  if (p == 50.0 && n % 2 == 0)
    return (at(v, n / 2 - 1) + at(v, n / 2)) / 2;
  if (k < 1)
    k = 1;
  if (k > n)
    k = n;
  return at(v, k - 1);
}

static double at_u64(const void *v, size_t i) {
  return (double)((const uint64_t *)v)[i];
}

static double at_d(const void *v, size_t i) {
  return ((const double *)v)[i];
}

double percentile(uint64_t *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmp_u64);
  return nearest_rank(v, n, p, at_u64);
}

double percentile_d(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmp_d);
  return nearest_rank(v, n, p, at_d);
}

const char *batch_medians(uint64_t *v, int batches, int per, char *buf, size_t cap) {
  size_t used = 0;
  buf[0] = '\0';
  for (int b = 0; b < batches && used < cap; b++) {
    double m = percentile(v + (size_t)b * (size_t)per, (size_t)per, 50) / 1e3;
    int w = snprintf(buf + used, cap - used, "%s%.3f", b ? "," : "", m);
    if (w < 0 || (size_t)w >= cap - used)
      die("batch_medians: %d batches do not fit in %zu bytes", batches, cap);
    used += (size_t)w;
  }
  return buf;
}

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "shmview-bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

void result(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("RESULT {");
  vprintf(fmt, ap);
  printf("}\n");
  fflush(stdout);
  va_end(ap);
}

void bench_turn(const char *fmt, ...) {
  va_list ap;
  char ch;
  ssize_t n;

  if (!bench_opts.turns)
    return;
  va_start(ap, fmt);
  printf("TURN ");
  vprintf(fmt, ap);
  printf("\n");
  fflush(stdout);
  va_end(ap);
  while ((n = read(STDIN_FILENO, &ch, 1)) < 0 && errno == EINTR)
    ;
  if (n <= 0)
    bench_opts.turns = 0; /* the other program is done: run freely */
}

/* All len bytes read into p, or (out) written from it, through EINTR and
 * short transfers; -1 on error or end of file. */
static int transfer_full(int fd, char *p, size_t len, bool out) {
  while (len > 0) {
    ssize_t n = out ? write(fd, p, len) : read(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int read_full(int fd, void *buf, size_t len) {
  return transfer_full(fd, buf, len, false);
}

int write_full(int fd, const void *buf, size_t len) {
  return transfer_full(fd, (char *)buf, len, true); /* only read from when out */
}

/* ---- private daemons ---- */

#define MAX_DAEMONS 8
static struct daemon *live[MAX_DAEMONS];

static void stop_all(void) {
  for (int i = 0; i < MAX_DAEMONS; i++)
    if (live[i])
      daemon_stop(live[i]);
}

static void on_signal(int sig) {
  stop_all();
  signal(sig, SIG_DFL);
  raise(sig);
}

static int try_connect(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof sa.sun_path)
    return -1;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  close(fd);
  return rc;
}

void daemon_start(struct daemon *d, int cpu, const char *extra_arg) {
  static unsigned counter;
  static int hooked;
  if (!hooked) {
    atexit(stop_all);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    hooked = 1;
  }
  memset(d, 0, sizeof *d);
  snprintf(d->dir, sizeof d->dir, "/tmp/shmvbench.XXXXXX");
  if (!mkdtemp(d->dir))
    die("mkdtemp: %s", strerror(errno));
  snprintf(d->socket, sizeof d->socket, "%s/s.sock", d->dir);
  snprintf(d->prefix, sizeof d->prefix, "shmvbench-%d-%u", (int)getpid(), counter++);
  pid_t pid = fork();
  if (pid < 0)
    die("fork: %s", strerror(errno));
  if (pid == 0) {
    pin_cpu(cpu);
    execl(bench_opts.daemon, "shmviewd", "--socket", d->socket, "--prefix", d->prefix,
          "--log-level", "error", extra_arg, (char *)NULL);
    fprintf(stderr, "exec %s: %s\n", bench_opts.daemon, strerror(errno));
    _exit(127);
  }
  d->pid = pid;
  for (int i = 0; i < MAX_DAEMONS; i++)
    if (!live[i]) {
      live[i] = d;
      break;
    }
  for (int i = 0; i < 500; i++) {
    if (try_connect(d->socket) == 0)
      return;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      d->pid = 0;
      die("shmviewd exited at start (status %d)", st);
    }
    usleep(10000);
  }
  die("shmviewd did not accept connections on %s", d->socket);
}

void daemon_stop(struct daemon *d) {
  for (int i = 0; i < MAX_DAEMONS; i++)
    if (live[i] == d)
      live[i] = NULL;
  if (d->pid > 0) {
    kill(d->pid, SIGTERM);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
  }
  /* Segments outlive the daemon by design: remove ours. */
  char start[80];
  int n = snprintf(start, sizeof start, "%s.", d->prefix);
  DIR *dir = opendir("/dev/shm");
  if (dir) {
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
      if (strncmp(e->d_name, start, (size_t)n) == 0) {
        char path[512];
        snprintf(path, sizeof path, "/dev/shm/%s", e->d_name);
        unlink(path);
      }
    closedir(dir);
  }
  if (d->dir[0]) {
    /* the daemon may keep a state file beside its socket */
    DIR *pd = opendir(d->dir);
    if (pd) {
      struct dirent *e;
      while ((e = readdir(pd)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
          char path[512];
          snprintf(path, sizeof path, "%s/%s", d->dir, e->d_name);
          unlink(path);
        }
      closedir(pd);
    }
    rmdir(d->dir);
    d->dir[0] = '\0';
  }
}

long proc_rss_kib(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  long kib = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  fclose(f);
  return kib;
}

uint64_t sum_bytes(const char *p, size_t n) {
  const uint64_t *w = (const uint64_t *)p;
  uint64_t s = 0;
  size_t k = n / 8;
  for (size_t i = 0; i < k; i++)
    s += w[i];
  for (size_t i = k * 8; i < n; i++)
    s += (unsigned char)p[i];
  return s;
}

pid_t fork_piped(int down[2], int up[2]) {
  if (pipe(down) || pipe(up))
    die("pipe: %s", strerror(errno));
  pid_t kid = fork();
  if (kid < 0)
    die("fork: %s", strerror(errno));
  if (kid == 0) {
    close(down[1]);
    close(up[0]);
  } else {
    close(down[0]);
    close(up[1]);
  }
  return kid;
}

void standalone_start(struct standalone *s, int argc, char **argv,
                      void (*child)(int down, int up)) {
  int down[2], up[2];

  s->quick = 0;
  s->maxn = (size_t)256 << 20;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--quick"))
      s->quick = 1;
    else if (!strcmp(argv[i], "--turns"))
      bench_opts.turns = 1;
    else if (!strcmp(argv[i], "--max") && i + 1 < argc)
      s->maxn = strtoull(argv[++i], NULL, 0);
  setvbuf(stdout, NULL, _IOLBF, 0);
  bench_turn("start");
  s->kid = fork_piped(down, up);
  if (s->kid == 0) {
    child(down[0], up[1]);
    _exit(1); /* not reached: child exits */
  }
  s->to_child = down[1];
  s->from_child = up[0];
  pin_cpu(0);
}

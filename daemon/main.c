/*
 * main.c: shmviewd's command line, signals and event loop.
 *
 * The daemon always runs in the foreground: a supervisor (systemd, or the
 * user's shell) owns its life, its stderr is its log. SIGTERM and SIGINT
 * stop it cleanly: connections close, and segments stay in /dev/shm for
 * the next start.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "daemon.h"
#include "log.h"
#include "server.h"
#include "state.h"

#define EXIT_USAGE 2

static void usage(FILE *out) {
  fprintf(out,
          "Usage: shmviewd [OPTION]...\n"
          "Serve named shared-memory segments and views of them over a Unix socket.\n"
          "\n"
          "  -s, --socket PATH            listen on PATH (default: $SHMVIEW_SOCKET,\n"
          "                               /run/shmview/shmview.sock for root,\n"
          "                               $XDG_RUNTIME_DIR/shmview.sock, /tmp/shmview-UID.sock)\n"
          "  -p, --prefix NAME            shm objects are /dev/shm/NAME.SEGMENT (default shmview)\n"
          "      --max-segment-size SIZE  largest segment (default: no limit)\n"
          "      --max-total-size SIZE    all segments together (default: no limit)\n"
          "      --max-clients N          connections at once (default: no limit)\n"
          "      --max-views N            live views over all clients (default: no limit)\n"
          "      --frame-max SIZE         largest protocol frame (default 64K)\n"
          "      --quota-bytes SIZE       bytes each uid may own (default: no quota)\n"
          "      --quota-segments N       segments each uid may own (default: no quota)\n"
          "      --quota-views N          views each uid may hold (default: no quota)\n"
          "      --state PATH             the registry's state file (default: PREFIX.state\n"
          "                               beside the socket)\n"
          "      --grace SECONDS          after a restart, refuse to shrink re-adopted\n"
          "                               segments for this long (default 30)\n"
          "      --log-level LEVEL        error, warning, info (default) or debug\n"
          "  -h, --help                   show this help and exit\n"
          "  -V, --version                show the version and exit\n"
          "\n"
          "SIZE is a number of bytes, optionally followed by K, M or G (powers of 1024).\n"
          "shmviewd runs in the foreground and logs to stderr; SIGTERM or SIGINT stops it,\n"
          "leaving its segments in place.\n");
}

/* "4096", "4K", "1M", "2G": powers of 1024. Returns 0 or -EINVAL/-ERANGE. */
static int parse_size(const char *s, uint64_t *out) {
  uint64_t v = 0, mul = 1;
  const char *p = s;

  if (*p < '0' || *p > '9')
    return -EINVAL;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
      return -ERANGE;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  switch (*p) {
  case '\0': break;
  case 'K': case 'k': mul = 1ull << 10; p++; break;
  case 'M': case 'm': mul = 1ull << 20; p++; break;
  case 'G': case 'g': mul = 1ull << 30; p++; break;
  default: return -EINVAL;
  }
  if (*p != '\0')
    return -EINVAL;
  if (v > UINT64_MAX / mul)
    return -ERANGE;
  *out = v * mul;
  return 0;
}

static int option_size(const char *opt, const char *arg, uint64_t *out) {
  if (parse_size(arg, out) != 0) {
    fprintf(stderr, "shmviewd: --%s: '%s' is not a size (use e.g. 4096, 64K, 1M, 2G)\n",
            opt, arg);
    return -1;
  }
  return 0;
}

enum {
  OPT_MAX_SEGMENT_SIZE = 256,
  OPT_MAX_TOTAL_SIZE,
  OPT_MAX_CLIENTS,
  OPT_MAX_VIEWS,
  OPT_FRAME_MAX,
  OPT_LOG_LEVEL,
  OPT_QUOTA_BYTES,
  OPT_QUOTA_SEGMENTS,
  OPT_QUOTA_VIEWS,
  OPT_STATE,
  OPT_GRACE,
};

static const struct option long_options[] = {
  {"socket", required_argument, NULL, 's'},
  {"prefix", required_argument, NULL, 'p'},
  {"max-segment-size", required_argument, NULL, OPT_MAX_SEGMENT_SIZE},
  {"max-total-size", required_argument, NULL, OPT_MAX_TOTAL_SIZE},
  {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
  {"max-views", required_argument, NULL, OPT_MAX_VIEWS},
  {"frame-max", required_argument, NULL, OPT_FRAME_MAX},
  {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
  {"quota-bytes", required_argument, NULL, OPT_QUOTA_BYTES},
  {"quota-segments", required_argument, NULL, OPT_QUOTA_SEGMENTS},
  {"quota-views", required_argument, NULL, OPT_QUOTA_VIEWS},
  {"state", required_argument, NULL, OPT_STATE},
  {"grace", required_argument, NULL, OPT_GRACE},
  {"help", no_argument, NULL, 'h'},
  {"version", no_argument, NULL, 'V'},
  {NULL, 0, NULL, 0},
};

/* Parse argv into cfg. Returns -1 to exit 0 (help, version), -2 on a usage
 * error (already reported), 0 to run. */
static int parse_args(int argc, char **argv, struct daemon_config *cfg) {
  const char *socket_arg = NULL;
  int c, lvl;

  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->prefix, sizeof cfg->prefix, "shmview");
  cfg->frame_max = PROTO_FRAME_MAX_DEFAULT;
  cfg->log_level = LOG_LVL_INFO;
  cfg->grace_ms = 30 * 1000;

  while ((c = getopt_long(argc, argv, "s:p:hV", long_options, NULL)) != -1) {
    switch (c) {
    case 's':
      socket_arg = optarg;
      break;
    case 'p':
      if (!registry_prefix_valid(optarg)) {
        fprintf(stderr, "shmviewd: --prefix: '%s' is not a valid prefix (1..%d of "
                        "[A-Za-z0-9._-], not starting with '.')\n",
                optarg, REGISTRY_PREFIX_MAX);
        return -2;
      }
      snprintf(cfg->prefix, sizeof cfg->prefix, "%s", optarg);
      break;
    case OPT_MAX_SEGMENT_SIZE:
      if (option_size("max-segment-size", optarg, &cfg->max_segment_size) < 0)
        return -2;
      break;
    case OPT_MAX_TOTAL_SIZE:
      if (option_size("max-total-size", optarg, &cfg->max_total_size) < 0)
        return -2;
      break;
    case OPT_MAX_CLIENTS:
      if (option_size("max-clients", optarg, &cfg->max_clients) < 0)
        return -2;
      break;
    case OPT_MAX_VIEWS:
      if (option_size("max-views", optarg, &cfg->max_views) < 0)
        return -2;
      break;
    case OPT_FRAME_MAX:
      if (option_size("frame-max", optarg, &cfg->frame_max) < 0)
        return -2;
      if (cfg->frame_max < PROTO_FRAME_MAX_MIN || cfg->frame_max > (16u << 20)) {
        fprintf(stderr, "shmviewd: --frame-max must be between 4K and 16M\n");
        return -2;
      }
      break;
    case OPT_QUOTA_BYTES:
      if (option_size("quota-bytes", optarg, &cfg->quota_bytes) < 0)
        return -2;
      break;
    case OPT_QUOTA_SEGMENTS:
      if (option_size("quota-segments", optarg, &cfg->quota_segments) < 0)
        return -2;
      break;
    case OPT_QUOTA_VIEWS:
      if (option_size("quota-views", optarg, &cfg->quota_views) < 0)
        return -2;
      break;
    case OPT_STATE:
      if (optarg[0] == '\0' || strlen(optarg) >= sizeof cfg->state_path - 16) {
        fprintf(stderr, "shmviewd: --state: the path is empty or too long\n");
        return -2;
      }
      snprintf(cfg->state_path, sizeof cfg->state_path, "%s", optarg);
      break;
    case OPT_GRACE: {
      uint64_t sec;

      if (option_size("grace", optarg, &sec) < 0 || sec > 86400 * 365) {
        fprintf(stderr, "shmviewd: --grace takes a number of seconds\n");
        return -2;
      }
      cfg->grace_ms = sec * 1000;
      break;
    }
    case OPT_LOG_LEVEL:
      lvl = log_level_parse(optarg);
      if (lvl < 0) {
        fprintf(stderr, "shmviewd: --log-level: '%s' is not one of error, warning, "
                        "info, debug\n", optarg);
        return -2;
      }
      cfg->log_level = lvl;
      break;
    case 'h':
      usage(stdout);
      return -1;
    case 'V':
      printf("shmviewd %s (protocol %d)\n", PACKAGE_VERSION, PROTO_VERSION);
      return -1;
    default:
      fprintf(stderr, "Try 'shmviewd --help' for more information.\n");
      return -2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "shmviewd: unexpected argument '%s'\n"
                    "Try 'shmviewd --help' for more information.\n", argv[optind]);
    return -2;
  }
  if (proto_socket_path(socket_arg, cfg->socket_path, sizeof cfg->socket_path) != 0) {
    fprintf(stderr, "shmviewd: the socket path is too long for a Unix socket\n");
    return -2;
  }
  return 0;
}

/* Each connection costs a descriptor: use all the kernel lets us. */
static void raise_fd_limit(void) {
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      log_warn("cannot raise the open file limit: %s", strerror(errno));
  }
}

/* PREFIX.state beside the socket: the runtime directory systemd gives us
 * (RuntimeDirectoryPreserve=restart keeps it across restarts). */
static void default_state_path(struct daemon_config *cfg) {
  const char *slash = strrchr(cfg->socket_path, '/');
  int dirlen = slash == NULL ? 1 : slash == cfg->socket_path ? 1 : (int)(slash - cfg->socket_path);
  const char *dir = slash == NULL ? "." : cfg->socket_path;

  snprintf(cfg->state_path, sizeof cfg->state_path, "%.*s/%s.state", dirlen, dir,
           cfg->prefix);
}

struct runtime {
  uv_signal_t sigterm, sigint;
  struct server *server;
};

static void on_stop_signal(uv_signal_t *h, int signum) {
  struct runtime *rt = h->data;

  log_info("%s: stopping", strsignal(signum));
  server_stop(rt->server);
  uv_close((uv_handle_t *)&rt->sigterm, NULL);
  uv_close((uv_handle_t *)&rt->sigint, NULL);
}

static uint64_t monotonic_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  struct daemon d;
  struct runtime rt;
  uv_loop_t loop;
  int rc;

  memset(&d, 0, sizeof d);
  rc = parse_args(argc, argv, &d.cfg);
  if (rc == -1)
    return EXIT_SUCCESS;
  if (rc < 0)
    return EXIT_USAGE;

  log_init((enum log_level)d.cfg.log_level);
  signal(SIGPIPE, SIG_IGN); /* a client hanging up is an EPIPE, not our death */
  raise_fd_limit();

  registry_init(&d.reg, d.cfg.prefix);
  lease_table_init(&d.leases);
  d.started_ms = monotonic_ms();

  if (uv_loop_init(&loop) != 0) {
    log_error("cannot start the event loop");
    return EXIT_FAILURE;
  }
  memset(&rt, 0, sizeof rt);
  rc = server_start(&rt.server, &loop, &d, -1);
  if (rc < 0) {
    log_error("cannot serve on %s: %s", d.cfg.socket_path, strerror(-rc));
    uv_loop_close(&loop);
    registry_fini(&d.reg);
    return EXIT_FAILURE;
  }
  /* Only now, with the socket ours, may we touch the state file: a second
   * daemon refused above must not rewrite the first one's. */
  if (d.cfg.state_path[0] == '\0')
    default_state_path(&d.cfg);
  {
    size_t adopted = 0;

    rc = state_open(&d.state, d.cfg.state_path, &d.reg, geteuid(), getegid(), &adopted);
    if (rc < 0) {
      log_error("cannot use the state file %s: %s", d.cfg.state_path, strerror(-rc));
      server_stop(rt.server);
      uv_run(&loop, UV_RUN_DEFAULT);
      server_free(rt.server);
      uv_loop_close(&loop);
      registry_fini(&d.reg);
      return EXIT_FAILURE;
    }
    if (adopted > 0) {
      d.grace_until_ms = monotonic_ms() + d.cfg.grace_ms;
      log_info("re-adopted %zu segment%s from %s", adopted, adopted == 1 ? "" : "s",
               d.cfg.state_path);
    }
  }
  uv_signal_init(&loop, &rt.sigterm);
  uv_signal_init(&loop, &rt.sigint);
  rt.sigterm.data = rt.sigint.data = &rt;
  uv_signal_start(&rt.sigterm, on_stop_signal, SIGTERM);
  uv_signal_start(&rt.sigint, on_stop_signal, SIGINT);

  log_info("shmviewd %s serving on %s (prefix %s)", PACKAGE_VERSION,
           d.cfg.socket_path, d.cfg.prefix);
  uv_run(&loop, UV_RUN_DEFAULT);

  server_free(rt.server);
  rc = uv_loop_close(&loop);
  if (rc != 0)
    log_warn("event loop closed with handles open: %s", uv_strerror(rc));
  state_close(d.state);
  registry_fini(&d.reg);
  log_info("stopped");
  return EXIT_SUCCESS;
}

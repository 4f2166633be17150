/* SPDX-License-Identifier: MIT */
/*
 * conf.c: one table of settings, one value parser, two sources.
 *
 * The same row serves `--frame-max 16K` and `frame-max = 16K` in the
 * config file, so the two can never drift apart: same names, same syntax,
 * same checks, same messages (prefixed by "--NAME:" or "FILE:LINE:").
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "conf.h"
#include "log.h"
#include "units.h"

enum conf_kind {
  CONF_STRING,    /* char array; size = its capacity */
  CONF_SIZE,      /* uint64_t bytes, K/M/G suffixes, within [min, max] */
  CONF_COUNT,     /* uint64_t count, same syntax as a size */
  CONF_LOG_LEVEL, /* int, log_level_parse() */
  CONF_SECONDS,   /* uint64_t milliseconds, given in whole seconds <= max */
  CONF_BOOL,      /* bool: yes/no, true/false, on/off, 1/0 */
};

struct conf_setting {
  const char *name; /* long option and file key */
  int short_opt;    /* 0: none */
  enum conf_kind kind;
  size_t offset;     /* in struct daemon_config */
  size_t size;       /* of that field */
  uint64_t min, max; /* CONF_SIZE, CONF_COUNT; max 0: no maximum */
  /* Extra check on the raw text (CONF_STRING): 0, or -1 with err set. */
  int (*check)(const char *value, char *err, size_t errlen);
  const char *arg;  /* the value's name in --help */
  const char *help; /* lines separated by '\n' */
};

#define FIELD(f) offsetof(struct daemon_config, f), sizeof(((struct daemon_config *)0)->f)

static int check_prefix(const char *value, char *err, size_t errlen) {
  if (registry_prefix_valid(value))
    return 0;
  snprintf(err, errlen,
           "'%s' is not a valid prefix (1..%d of [A-Za-z0-9_-]; no '.', so that "
           "one prefix's objects can never look like another's)",
           value, REGISTRY_PREFIX_MAX);
  return -1;
}

/* state.c appends suffixes (".tmp") to the path: leave room for them. */
static int check_reserve(const char *value, char *err, size_t errlen) {
  if (strcmp(value, "daemon") == 0 || strcmp(value, "none") == 0)
    return 0;
  snprintf(err, errlen, "'%s' is not daemon or none", value);
  return -1;
}

static int check_state_path(const char *value, char *err, size_t errlen) {
  if (strlen(value) < sizeof(((struct daemon_config *)0)->state_path) - 16)
    return 0;
  snprintf(err, errlen, "the path is too long");
  return -1;
}

/* To add a setting: a field in struct daemon_config (daemon.h), a row here,
 * a default in conf_defaults() if it is not zero, and a line in
 * docs/shmviewd.8. Flags and the config file both pick it up. */
static const struct conf_setting settings[] = {
  { "socket", 's', CONF_STRING, FIELD(socket_path), 0, 0, NULL, "PATH",
    "listen on PATH (default: $SHMVIEW_SOCKET,\n"
    "/run/shmview/shmview.sock for root,\n"
    "$XDG_RUNTIME_DIR/shmview.sock, /tmp/shmview-UID/shmview.sock);\n"
    "its directory must be the daemon's user's (or root's)\n"
    "and writable by no one else; a missing one is made 0700;\n"
    "a socket passed by systemd takes precedence" },
  { "prefix", 'p', CONF_STRING, FIELD(prefix), 0, 0, check_prefix, "NAME",
    "shm objects are /dev/shm/NAME.SEGMENT (default shmview;\n"
    "[A-Za-z0-9_-], no '.')" },
  { "max-segment-size", 0, CONF_SIZE, FIELD(max_segment_size), 0, 0, NULL, "SIZE",
    "largest segment (default: no limit)" },
  { "max-total-size", 0, CONF_SIZE, FIELD(max_total_size), 0, CONF_AUTO - 1, NULL, "SIZE",
    "all segments together (default: 3/4 of the size\n"
    "of /dev/shm, leaving the rest to other programs;\n"
    "0: no limit)" },
  { "max-clients", 0, CONF_COUNT, FIELD(max_clients), 0, 0, NULL, "N",
    "connections at once (default 1024; 0: no limit)" },
  { "max-clients-per-uid", 0, CONF_COUNT, FIELD(max_clients_uid), 0, 0, NULL, "N",
    "connections at once from one uid other than\n"
    "root and the daemon's own (default 128; 0: none)" },
  { "max-clients-root", 0, CONF_COUNT, FIELD(max_clients_root), 0, 0, NULL, "N",
    "connections at once from root or the daemon's\n"
    "own uid (default 0: only --max-clients applies)" },
  { "max-views", 0, CONF_COUNT, FIELD(max_views), 0, 0, NULL, "N",
    "live views over all clients (default 262144;\n"
    "0: no limit)" },
  { "max-fds-in-flight", 0, CONF_COUNT, FIELD(max_fds_in_flight), 1, 1024, NULL, "N",
    "descriptors sent to one client and not yet read;\n"
    "further answers to open wait (default 16)" },
  { "fd-cache", 0, CONF_COUNT, FIELD(fd_cache), 0, 65536, NULL, "N",
    "keep descriptors of the N segments opened most\n"
    "recently, so an open needs no shm_open (default\n"
    "256; 0: none)" },
  { "frame-max", 0, CONF_SIZE, FIELD(frame_max), PROTO_FRAME_MAX_MIN, 16u << 20, NULL, "SIZE",
    "largest protocol frame (default 64K)" },
  { "quota-bytes", 0, CONF_SIZE, FIELD(quota_bytes), 0, CONF_AUTO - 1, NULL, "SIZE",
    "bytes each uid may own (default: 1/4 of the size\n"
    "of /dev/shm; 0: no quota)" },
  { "quota-segments", 0, CONF_COUNT, FIELD(quota_segments), 0, 0, NULL, "N",
    "segments each uid may own (default 16384;\n"
    "0: no quota)" },
  { "quota-views", 0, CONF_COUNT, FIELD(quota_views), 0, 0, NULL, "N",
    "views each uid may hold (default 131072;\n"
    "0: no quota)" },
  { "state", 0, CONF_STRING, FIELD(state_path), 0, 0, check_state_path, "PATH",
    "the registry's state file (default: PREFIX.state\n"
    "beside the socket); its directory is checked\n"
    "like the socket's" },
  { "grace", 0, CONF_SECONDS, FIELD(grace_ms), 0, 86400 * 365, NULL, "SECONDS",
    "after a restart, refuse to shrink re-adopted\n"
    "segments for this long (default 30)" },
  { "send-timeout", 0, CONF_SECONDS, FIELD(send_timeout_ms), 0, 86400, NULL, "SECONDS",
    "drop a client that reads none of its answers,\n"
    "or leaves --max-fds-in-flight descriptors unread,\n"
    "for this long (default 30; 0: never)" },
  { "frame-timeout", 0, CONF_SECONDS, FIELD(frame_timeout_ms), 0, 3600, NULL, "SECONDS",
    "drop a client that leaves a frame half sent\n"
    "for this long (default 5; 0: never)" },
  { "allow-namespaces", 0, CONF_BOOL, FIELD(allow_namespaces), 0, 0, NULL, "yes|no",
    "start even in a user namespace that does not map\n"
    "every uid and gid (default: refuse), and serve\n"
    "clients outside its pid namespace (default: refuse\n"
    "them); for a daemon whose clients all run in its\n"
    "namespaces: every uid it does not map reads as\n"
    "65534, so those clients are refused (else they\n"
    "could use each other's segments), and clients\n"
    "outside its pid namespace have no pid" },
  { "reserve", 0, CONF_STRING, FIELD(reserve), 0, 0, check_reserve, "WHO",
    "who allocates a segment's memory: daemon (default:\n"
    "at create and resize, so a full /dev/shm is an\n"
    "error then; the daemon's memory cgroup pays) or\n"
    "none (the first process to touch a page, whose\n"
    "cgroup pays; a full /dev/shm is a SIGBUS then)" },
  { "log-level", 0, CONF_LOG_LEVEL, FIELD(log_level), 0, 0, NULL, "LEVEL",
    "error, warning, info (default) or debug" },
};
#define N_SETTINGS (sizeof settings / sizeof settings[0])

void conf_defaults(struct daemon_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->prefix, sizeof cfg->prefix, "shmview");
  snprintf(cfg->reserve, sizeof cfg->reserve, "daemon");
  cfg->frame_max = PROTO_FRAME_MAX_DEFAULT;
  cfg->log_level = LOG_LVL_INFO;
  cfg->grace_ms = 30 * 1000;
  cfg->send_timeout_ms = 30 * 1000;
  cfg->frame_timeout_ms = 5 * 1000;
  /* Limits that protect a host out of the box (docs/security.md). */
  cfg->max_clients = 1024;
  cfg->max_clients_uid = 128;
  cfg->max_views = 262144;
  cfg->max_fds_in_flight = 16;
  cfg->fd_cache = 256;
  cfg->max_total_size = CONF_AUTO;
  cfg->quota_bytes = CONF_AUTO;
  cfg->quota_segments = 16384;
  cfg->quota_views = 131072;
}

static const struct conf_setting *find_setting(const char *name) {
  for (size_t i = 0; i < N_SETTINGS; i++)
    if (strcmp(settings[i].name, name) == 0)
      return &settings[i];
  return NULL;
}

/* The one value parser. Returns 0, or -1 with a reason in err (without the
 * setting's name: the caller says where the value came from). */
static int apply(const struct conf_setting *st, const char *value, struct daemon_config *cfg,
                 char *err, size_t errlen) {
  char *field = (char *)cfg + st->offset;
  char lo[PROTO_SIZE_BUFSZ], hi[PROTO_SIZE_BUFSZ];
  uint64_t n;
  int lvl;

  switch (st->kind) {
  case CONF_STRING:
    if (value[0] == '\0') {
      snprintf(err, errlen, "the value is empty");
      return -1;
    }
    if (st->check != NULL && st->check(value, err, errlen) != 0)
      return -1;
    if (strlen(value) >= st->size) {
      snprintf(err, errlen, "the value is too long (%zu bytes, at most %zu)", strlen(value),
               st->size - 1);
      return -1;
    }
    memcpy(field, value, strlen(value) + 1);
    return 0;
  case CONF_SIZE:
  case CONF_COUNT:
    if (proto_size_parse(value, &n) != 0) {
      if (st->kind == CONF_SIZE)
        snprintf(err, errlen, "'%s' is not a size (use e.g. 4096, 64K, 1M, 2G)", value);
      else
        snprintf(err, errlen, "'%s' is not a number", value);
      return -1;
    }
    if (n < st->min || (st->max != 0 && n > st->max)) {
      snprintf(err, errlen, "must be between %s and %s",
               proto_size_format(st->min, PROTO_SIZE_EXACT, lo, sizeof lo),
               proto_size_format(st->max, PROTO_SIZE_EXACT, hi, sizeof hi));
      return -1;
    }
    memcpy(field, &n, sizeof n);
    return 0;
  case CONF_SECONDS:
    if (proto_size_parse(value, &n) != 0 || n > st->max) {
      snprintf(err, errlen, "'%s' is not a number of seconds (0..%" PRIu64 ")", value, st->max);
      return -1;
    }
    n *= 1000;
    memcpy(field, &n, sizeof n);
    return 0;
  case CONF_LOG_LEVEL:
    lvl = log_level_parse(value);
    if (lvl < 0) {
      snprintf(err, errlen, "'%s' is not one of error, warning, info, debug", value);
      return -1;
    }
    memcpy(field, &lvl, sizeof lvl);
    return 0;
  case CONF_BOOL: {
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };

    for (size_t i = 0; i < 4; i++) {
      if (strcmp(value, yes[i]) == 0 || strcmp(value, no[i]) == 0) {
        bool b = strcmp(value, yes[i]) == 0;

        memcpy(field, &b, sizeof b);
        return 0;
      }
    }
    snprintf(err, errlen, "'%s' is not yes or no", value);
    return -1;
  }
  }
  snprintf(err, errlen, "internal error: setting kind %d", (int)st->kind);
  return -1;
}

int conf_set(struct daemon_config *cfg, const char *key, const char *value, char *err,
             size_t errlen) {
  const struct conf_setting *st = find_setting(key);
  char why[512];

  if (st == NULL) {
    snprintf(err, errlen, "unknown key '%s'", key);
    return -1;
  }
  if (apply(st, value, cfg, why, sizeof why) != 0) {
    snprintf(err, errlen, "%s: %s", key, why);
    return -1;
  }
  return 0;
}

static char *trim(char *s) {
  char *end;

  while (*s == ' ' || *s == '\t')
    s++;
  end = s + strlen(s);
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
    *--end = '\0';
  return s;
}

int conf_load_file(struct daemon_config *cfg, const char *path, int required) {
  FILE *f = fopen(path, "re");
  char *line = NULL, *key, *value, *eq, err[512];
  size_t cap = 0;
  unsigned lineno = 0;
  int rc = 0;

  if (f == NULL) {
    if (errno == ENOENT && !required)
      return 0;
    log_error("cannot read the config file %s: %s", path, strerror(errno));
    return -1;
  }
  while (getline(&line, &cap, f) != -1) {
    lineno++;
    key = trim(line);
    if (key[0] == '\0' || key[0] == '#')
      continue;
    eq = strchr(key, '=');
    if (eq == NULL) {
      log_error("%s:%u: expected 'key = value', got '%s'", path, lineno, key);
      rc = -1;
      break;
    }
    *eq = '\0';
    value = trim(eq + 1);
    key = trim(key);
    if (conf_set(cfg, key, value, err, sizeof err) != 0) {
      log_error("%s:%u: %s", path, lineno, err);
      rc = -1;
      break;
    }
  }
  if (rc == 0 && ferror(f)) {
    log_error("cannot read the config file %s: %s", path, strerror(errno));
    rc = -1;
  }
  free(line);
  fclose(f);
  return rc;
}

/* Options that are not settings. */
enum { OPT_CONFIG = 'c', OPT_HELP = 'h', OPT_VERSION = 'V', OPT_SETTING = 256 };

static void usage(FILE *out) {
  char left[64];

  fprintf(out, "Usage: shmviewd [OPTION]...\n"
               "Serve named shared-memory segments and views of them over a Unix socket.\n"
               "\n");
  for (size_t i = 0; i < N_SETTINGS; i++) {
    const struct conf_setting *st = &settings[i];
    const char *h = st->help, *nl;

    if (st->kind == CONF_BOOL) /* the flag alone says yes */
      snprintf(left, sizeof left, "      --%s[=%s]", st->name, st->arg);
    else if (st->short_opt != 0)
      snprintf(left, sizeof left, "  -%c, --%s %s", st->short_opt, st->name, st->arg);
    else
      snprintf(left, sizeof left, "      --%s %s", st->name, st->arg);
    fprintf(out, "%-31s", left);
    if (strlen(left) >= 31)
      fprintf(out, "\n%-31s", "");
    while ((nl = strchr(h, '\n')) != NULL) {
      fprintf(out, "%.*s\n%-31s", (int)(nl - h), h, "");
      h = nl + 1;
    }
    fprintf(out, "%s\n", h);
  }
  fprintf(out, "  -c, --config PATH            read settings from PATH (default, if it exists:\n"
               "                               " CONF_DEFAULT_FILE "); flags win over it\n"
               "  -h, --help                   show this help and exit\n"
               "  -V, --version                show the version and exit\n"
               "\n"
               "SIZE is a number of bytes, optionally followed by K, M, G or T (or KiB, MiB,\n"
               "GiB, TiB: powers of 1024; KB, MB... are powers of 1000, as in dd).\n"
               "The config file has 'key = value' lines with the long options' names as keys;\n"
               "'#' starts a comment line.\n"
               "shmviewd runs in the foreground and logs to stderr; SIGTERM or SIGINT stops it,\n"
               "leaving its segments in place. Under systemd it reports readiness and status\n"
               "($NOTIFY_SOCKET) and serves on a socket passed to it ($LISTEN_FDS).\n");
}

int conf_from_args(int argc, char **argv, struct daemon_config *cfg) {
  struct option longopts[N_SETTINGS + 4];
  char shortopts[2 * N_SETTINGS + 8], err[512], socket_arg[sizeof cfg->socket_path];
  const char *config_path = NULL;
  struct {
    const struct conf_setting *st;
    const char *value;
  } * flags;
  size_t nflags = 0, k = 0;
  int c, rc = 0;

  /* getopt tables from the settings table */
  for (size_t i = 0; i < N_SETTINGS; i++) {
    longopts[i] =
        (struct option){ settings[i].name,
                         settings[i].kind == CONF_BOOL ? optional_argument : required_argument,
                         NULL, OPT_SETTING + (int)i };
    if (settings[i].short_opt != 0) {
      shortopts[k++] = (char)settings[i].short_opt;
      shortopts[k++] = ':';
    }
  }
  longopts[N_SETTINGS] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
  longopts[N_SETTINGS + 1] = (struct option){ "help", no_argument, NULL, OPT_HELP };
  longopts[N_SETTINGS + 2] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
  longopts[N_SETTINGS + 3] = (struct option){ NULL, 0, NULL, 0 };
  memcpy(shortopts + k, "c:hV", 5);

  flags = calloc((size_t)argc + 1, sizeof *flags);
  if (flags == NULL) {
    fprintf(stderr, "shmviewd: out of memory\n");
    return -1;
  }
  conf_defaults(cfg);
  optind = 0; /* glibc: start afresh */
  opterr = 0;
  while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
    if (c >= OPT_SETTING && c < OPT_SETTING + (int)N_SETTINGS) {
      flags[nflags].st = &settings[c - OPT_SETTING];
      flags[nflags++].value = optarg != NULL ? optarg : "yes"; /* a bare boolean flag */
      continue;
    }
    for (size_t i = 0; i < N_SETTINGS; i++) {
      if (settings[i].short_opt != 0 && c == settings[i].short_opt) {
        flags[nflags].st = &settings[i];
        flags[nflags++].value = optarg;
        c = 0;
        break;
      }
    }
    switch (c) {
    case 0: break;
    case OPT_CONFIG: config_path = optarg; break;
    case OPT_HELP:
      usage(stdout);
      rc = 1;
      goto out;
    case OPT_VERSION:
      printf("shmviewd %s (protocol %d)\n", PACKAGE_VERSION, PROTO_VERSION);
      rc = 1;
      goto out;
    default: /* getopt stays silent (opterr = 0): this line has the error priority */
      log_error("invalid option, or an option without its argument: '%s'",
                optind > 0 && optind <= argc ? argv[optind - 1] : "?");
      fprintf(stderr, "Try 'shmviewd --help' for more information.\n");
      rc = -1;
      goto out;
    }
  }
  if (optind < argc) {
    log_error("unexpected argument '%s'", argv[optind]);
    fprintf(stderr, "Try 'shmviewd --help' for more information.\n");
    rc = -1;
    goto out;
  }

  /* defaults < file < flags */
  if (conf_load_file(cfg, config_path != NULL ? config_path : CONF_DEFAULT_FILE,
                     config_path != NULL) != 0) {
    rc = -2;
    goto out;
  }
  for (size_t i = 0; i < nflags; i++) {
    if (apply(flags[i].st, flags[i].value, cfg, err, sizeof err) != 0) {
      log_error("--%s: %s", flags[i].st->name, err);
      rc = -1;
      goto out;
    }
  }

  memcpy(socket_arg, cfg->socket_path, sizeof socket_arg);
  if (proto_socket_path(socket_arg[0] != '\0' ? socket_arg : NULL, cfg->socket_path,
                        sizeof cfg->socket_path) != 0) {
    log_error("the socket path is too long for a Unix socket");
    rc = -1;
  }
out:
  free(flags);
  return rc;
}

void conf_resolve(struct daemon_config *cfg, const char *shm_dir) {
  struct statvfs vfs;
  uint64_t size = 0;

  /* Where the size is unknown, neither limit. */
  if (statvfs(shm_dir, &vfs) == 0 && vfs.f_blocks > 0)
    size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
  /* The daemon as a whole leaves a quarter of shared memory to programs
   * that do not use it (glibc's semaphores, browsers, databases). */
  if (cfg->max_total_size == CONF_AUTO)
    cfg->max_total_size = size / 4 * 3;
  /* One uid may own a quarter: two users together still leave half, and
   * it takes three to reach the daemon's cap. */
  if (cfg->quota_bytes == CONF_AUTO)
    cfg->quota_bytes = size / 4;
}

/* SPDX-License-Identifier: MIT */
/*
 * output.c: helpers shared by the shmview commands.
 *
 * Messages and option parsing, size and mode parsing, human-readable sizes,
 * durations and times, user names, JSON, content-sized tables, the checked
 * stdout flush and the hexdump -C writer. Nothing here talks to the daemon
 * except cli_connect().
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* ---- messages, usage, options ------------------------------------------ */

void cli_error(const char *fmt, ...) {
  va_list ap;

  fflush(stdout);
  fputs("shmview: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...) {
  va_list ap;

  fflush(stdout);
  fputs("shmview: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (cmd != NULL)
    fprintf(stderr, "usage: shmview %s %s\nTry 'shmview %s --help'.\n", cmd->name, cmd->usage,
            cmd->name);
  else
    fputs("Try 'shmview --help'.\n", stderr);
  return CLI_EXIT_USAGE;
}

void cli_command_help(const struct cli_command *cmd, FILE *out) {
  fprintf(out, "usage: shmview %s %s\n", cmd->name, cmd->usage);
  if (cmd->alias != NULL)
    fprintf(out, "       shmview %s %s\n", cmd->alias, cmd->usage);
  fprintf(out, "\n%s\n\noptions:\n", cmd->help != NULL ? cmd->help : cmd->summary);
  if (cmd->options != NULL)
    fputs(cmd->options, out);
  fputs("  -h, --help          show this help\n"
        "      --json          machine-readable output, where the command has any\n",
        out);
}

int cli_getopt(struct cli_ctx *ctx, int argc, char **argv, const char *shortopts,
               const struct option *longopts, int *status) {
  const struct cli_command *cmd = ctx->cmd;
  char spec[64];
  int c;

  /* A leading ':' makes getopt tell a missing argument from an unknown
   * option; opterr 0 lets us word the messages ourselves. */
  snprintf(spec, sizeof spec, ":%s", shortopts);
  opterr = 0;
  for (;;) {
    int before = optind;

    c = getopt_long(argc, argv, spec, longopts, NULL);
    switch (c) {
    case 'h':
      cli_command_help(cmd, stdout);
      *status = cli_finish_stdout();
      return CLI_GETOPT_EXIT;
    case CLI_OPT_JSON: ctx->json = 1; continue;
    case ':':
      *status =
          cli_usage_error(cmd, "%s: option '%s' needs an argument", cmd->name, argv[optind - 1]);
      return CLI_GETOPT_EXIT;
    case '?': {
      const char *arg = argv[optind > before && optind > 0 ? optind - 1 : before];
      if (arg != NULL && strncmp(arg, "--", 2) == 0)
        *status = cli_usage_error(cmd, "%s: unknown option '%.*s'", cmd->name,
                                  (int)strcspn(arg, "="), arg);
      else
        *status = cli_usage_error(cmd, "%s: unknown option '-%c'", cmd->name,
                                  optopt > 0 && optopt < 128 ? optopt : '?');
      return CLI_GETOPT_EXIT;
    }
    default: return c;
    }
  }
}

int cli_check_operands(const struct cli_command *cmd, int argc, int min, int max) {
  if (argc < min)
    return cli_usage_error(cmd, "%s: missing argument", cmd->name);
  if (argc > max)
    return cli_usage_error(cmd, "%s: too many arguments", cmd->name);
  return 0;
}

const char *cli_socket_path(const struct cli_ctx *ctx, char *buf, size_t cap) {
  if (ctx->socket_path != NULL)
    return ctx->socket_path;
  if (shmv_default_socket_path(buf, cap) != 0)
    return "(default socket)";
  return buf;
}

int cli_connect(struct cli_ctx *ctx) {
  char path[4096];
  const char *p;
  int r;

  if (ctx->client != NULL)
    return 0;
  r = shmv_connect(ctx->socket_path, &ctx->client);
  if (r == 0)
    return 0;
  ctx->client = NULL;
  p = cli_socket_path(ctx, path, sizeof path);
  /* Here ENOENT is the socket, not a segment: say so in words of sockets. */
  if (r == -ENOENT || r == -ECONNREFUSED)
    cli_error("cannot connect to shmviewd at %s: %s (is shmviewd running? "
              "start it with 'shmviewd --socket %s' or "
              "'systemctl start shmviewd')",
              p, r == -ENOENT ? "no such socket" : "connection refused", p);
  else
    cli_error("cannot connect to shmviewd at %s: %s", p, shmv_strerror(r));
  return CLI_EXIT_FAIL;
}

const char *cli_op_strerror(int code) {
  /* Once connected, ENOENT can only be about the segment. */
  if (code == -ENOENT || code == ENOENT)
    return "no such segment";
  return shmv_strerror(code);
}

int cli_check_name(const struct cli_command *cmd, const char *name) {
  if (shmv_name_check(name) != 0)
    return cli_usage_error(cmd,
                           "invalid segment name '%s' (1 to %d characters "
                           "of A-Z a-z 0-9 . _ -, not starting with '.')",
                           name, SHMV_NAME_MAX);
  return 0;
}

int cli_parse_descriptor(const struct cli_command *cmd, const char *text, shmv_descriptor *d) {
  if (shmv_descriptor_parse(text, d) != 0)
    return cli_usage_error(cmd,
                           "bad descriptor '%s' (expected "
                           "NAME[:OFFSET[:LENGTH]])",
                           text);
  return 0;
}

int cli_parse_window(const struct cli_command *cmd, const char *text, const char *offset_arg,
                     const char *length_arg, shmv_descriptor *d) {
  uint64_t n;
  int status;

  if ((status = cli_parse_descriptor(cmd, text, d)) != 0)
    return status;
  if (offset_arg != NULL) {
    if (cli_parse_size(offset_arg, &n) != 0)
      return cli_usage_error(cmd,
                             "bad offset '%s' (bytes, or a number followed "
                             "by K, M or G)",
                             offset_arg);
    d->offset = (size_t)n;
  }
  if (length_arg != NULL) {
    if (strcmp(length_arg, "end") == 0)
      d->length = SHMV_TO_END;
    else if (cli_parse_size(length_arg, &n) != 0 || n == SHMV_TO_END)
      return cli_usage_error(cmd,
                             "bad length '%s' (bytes, or a number followed "
                             "by K, M or G, or 'end')",
                             length_arg);
    else
      d->length = (size_t)n;
  }
  return 0;
}

int cli_window_args(struct cli_ctx *ctx, int argc, char **argv, shmv_descriptor *d) {
  static const struct option opts[] = { { "offset", required_argument, NULL, 'o' },
                                        { "length", required_argument, NULL, 'n' },
                                        CLI_COMMON_OPTIONS,
                                        { NULL, 0, NULL, 0 } };
  const char *offset_arg = NULL, *length_arg = NULL;
  int c, status = 0;

  while ((c = cli_getopt(ctx, argc, argv, "o:n:" CLI_COMMON_SHORT, opts, &status)) != -1) {
    if (c == CLI_GETOPT_EXIT)
      return status;
    if (c == 'o')
      offset_arg = optarg;
    else if (c == 'n')
      length_arg = optarg;
  }
  if ((status = cli_check_operands(ctx->cmd, argc - optind, 1, 1)) != 0)
    return status;
  if ((status = cli_parse_window(ctx->cmd, argv[optind], offset_arg, length_arg, d)) != 0)
    return status;
  return -1;
}

int cli_open_view(struct cli_ctx *ctx, const shmv_descriptor *d, int writable, shmv_view **out) {
  shmv_segment_info info;
  int r, status;

  if ((status = cli_connect(ctx)) != 0)
    return status;
  r = shmv_view_open(ctx->client, d->name, d->offset, d->length, writable ? SHMV_WRITABLE : 0, out);
  if (r == 0)
    return 0;
  if (r == -ERANGE && shmv_stat(ctx->client, d->name, &info) == 0) {
    if (d->length == SHMV_TO_END)
      cli_error("%s: %s (offset %zu is past the end of the segment, which is "
                "%llu bytes)",
                d->name, shmv_strerror(r), d->offset, (unsigned long long)info.size);
    else
      cli_error("%s: %s (offset %zu + length %zu is past the end of the "
                "segment, which is %llu bytes)",
                d->name, shmv_strerror(r), d->offset, d->length, (unsigned long long)info.size);
  } else {
    cli_error("%s: %s", d->name, cli_op_strerror(r));
  }
  return CLI_EXIT_FAIL;
}

/* ---- sizes and numbers ------------------------------------------------- */

int cli_parse_size(const char *s, uint64_t *out) {
  uint64_t n = 0, mult = 1;
  const char *p = s;

  if (*p < '0' || *p > '9')
    return -1;
  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned d = (unsigned)(*p - '0');
    if (n > (UINT64_MAX - d) / 10)
      return -1;
    n = n * 10 + d;
  }
  switch (*p) {
  case '\0': break;
  case 'K':
    mult = UINT64_C(1) << 10;
    p++;
    break;
  case 'M':
    mult = UINT64_C(1) << 20;
    p++;
    break;
  case 'G':
    mult = UINT64_C(1) << 30;
    p++;
    break;
  default: return -1;
  }
  if (*p != '\0')
    return -1;
  if (n > UINT64_MAX / mult || n * mult > SIZE_MAX)
    return -1;
  *out = n * mult;
  return 0;
}

int cli_parse_mode(const char *s, unsigned *out) {
  unsigned m = 0;
  const char *p;

  if (*s == '\0' || strlen(s) > 4)
    return -1;
  for (p = s; *p != '\0'; p++) {
    if (*p < '0' || *p > '7')
      return -1;
    m = m * 8 + (unsigned)(*p - '0');
  }
  if (m > 0777)
    return -1;
  *out = m;
  return 0;
}

const char *cli_human_size(uint64_t n, char buf[CLI_HUMAN_MAX]) {
  static const char units[] = "KMGTPE";
  uint64_t div = 1024;
  int u = 0;

  if (n < 1024) {
    snprintf(buf, CLI_HUMAN_MAX, "%" PRIu64, n);
    return buf;
  }
  /* The largest unit the value reaches; ls -h rounds up, so a value just
   * below the next unit may roll over into it. */
  while (u < 5 && n / div >= 1024) {
    div *= 1024;
    u++;
  }
  for (;;) {
    uint64_t whole = n / div, rem = n % div;

    if (whole < 10) {
      /* one decimal, rounded up: tenths = ceil(n * 10 / div) */
      uint64_t tenths = whole * 10 + (rem * 10 + div - 1) / div;
      if (tenths < 100) {
        snprintf(buf, CLI_HUMAN_MAX, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10, tenths % 10,
                 units[u]);
        return buf;
      }
      whole = 10;
    } else if (rem != 0) {
      whole++;
    }
    if (whole < 1024 || u == 5) {
      snprintf(buf, CLI_HUMAN_MAX, "%" PRIu64 "%c", whole, units[u]);
      return buf;
    }
    div *= 1024;
    u++;
  }
}

const char *cli_human_duration(uint64_t ms, char *buf, size_t cap) {
  uint64_t s = ms / 1000;
  uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;

  if (d > 0)
    snprintf(buf, cap, "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", d, h, m, sec);
  else if (h > 0)
    snprintf(buf, cap, "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", h, m, sec);
  else if (m > 0)
    snprintf(buf, cap, "%" PRIu64 "m %02" PRIu64 "s", m, sec);
  else
    snprintf(buf, cap, "%" PRIu64 "s", sec);
  return buf;
}

/* ---- names and time ---------------------------------------------------- */

const char *cli_user_name(uid_t uid, char *buf, size_t cap) {
  struct passwd pw, *res = NULL;
  char stack[1024], *tmp = stack;
  size_t len = sizeof stack;
  int r;

  for (;;) {
    r = getpwuid_r(uid, &pw, tmp, len, &res);
    if (r != ERANGE || len >= (1 << 20))
      break;
    if (tmp != stack)
      free(tmp);
    len *= 4;
    if ((tmp = malloc(len)) == NULL)
      break;
  }
  if (r == 0 && res != NULL)
    snprintf(buf, cap, "%s", res->pw_name);
  else
    snprintf(buf, cap, "%lu", (unsigned long)uid);
  if (tmp != stack)
    free(tmp);
  return buf;
}

const char *cli_group_name(gid_t gid, char *buf, size_t cap) {
  struct group gr, *res = NULL;
  char stack[1024], *tmp = stack;
  size_t len = sizeof stack;
  int r;

  for (;;) {
    r = getgrgid_r(gid, &gr, tmp, len, &res);
    if (r != ERANGE || len >= (1 << 20))
      break;
    if (tmp != stack)
      free(tmp);
    len *= 4;
    if ((tmp = malloc(len)) == NULL)
      break;
  }
  if (r == 0 && res != NULL)
    snprintf(buf, cap, "%s", res->gr_name);
  else
    snprintf(buf, cap, "%lu", (unsigned long)gid);
  if (tmp != stack)
    free(tmp);
  return buf;
}

const char *cli_time_local(const struct timespec *ts, char *buf, size_t cap) {
  struct tm tm;
  time_t t = ts->tv_sec;

  if (localtime_r(&t, &tm) == NULL || strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0)
    snprintf(buf, cap, "%lld", (long long)t);
  return buf;
}

const char *cli_time_rfc3339(const struct timespec *ts, char *buf, size_t cap) {
  struct tm tm;
  time_t t = ts->tv_sec;
  char date[32];
  long off;

  if (localtime_r(&t, &tm) == NULL || strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
    snprintf(buf, cap, "1970-01-01T00:00:00+00:00");
    return buf;
  }
  off = tm.tm_gmtoff / 60;
  snprintf(buf, cap, "%s%c%02ld:%02ld", date, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
  return buf;
}

/* ---- JSON -------------------------------------------------------------- */

void cli_json_string(FILE *out, const char *s) {
  const unsigned char *p;

  fputc('"', out);
  for (p = (const unsigned char *)s; *p != '\0'; p++) {
    switch (*p) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\b': fputs("\\b", out); break;
    case '\f': fputs("\\f", out); break;
    case '\n': fputs("\\n", out); break;
    case '\r': fputs("\\r", out); break;
    case '\t': fputs("\\t", out); break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        fprintf(out, "\\u%04x", *p);
      else
        fputc(*p, out);
    }
  }
  fputc('"', out);
}

void cli_json_segment(FILE *out, const shmv_segment_info *info) {
  char created[64];

  fputs("{\"name\": ", out);
  cli_json_string(out, info->name);
  fprintf(out,
          ", \"size\": %" PRIu64 ", \"uid\": %lu, \"gid\": %lu, "
          "\"mode\": \"%04o\", \"views\": %" PRIu64 ", \"writable_views\": %" PRIu64
          ", \"created\": ",
          info->size, (unsigned long)info->uid, (unsigned long)info->gid, info->mode & 07777,
          info->views, info->writable_views);
  cli_json_string(out, cli_time_rfc3339(&info->created, created, sizeof created));
  fputc('}', out);
}

/* ---- tables ------------------------------------------------------------ */

struct cli_table {
  int ncols;
  size_t nrows, cap; /* rows, including the header row */
  char **cells;      /* nrows * ncols */
  size_t *width;
  int *right;
};

struct cli_table *cli_table_new(int ncols, const char *const *headers, const int *right_align) {
  struct cli_table *t = calloc(1, sizeof *t);

  if (t == NULL)
    return NULL;
  t->ncols = ncols;
  t->width = calloc((size_t)ncols, sizeof *t->width);
  t->right = calloc((size_t)ncols, sizeof *t->right);
  if (t->width == NULL || t->right == NULL) {
    cli_table_free(t);
    return NULL;
  }
  for (int i = 0; i < ncols; i++)
    t->right[i] = right_align != NULL && right_align[i];
  if (cli_table_add(t, headers) != 0) {
    cli_table_free(t);
    return NULL;
  }
  return t;
}

int cli_table_add(struct cli_table *t, const char *const *cells) {
  if (t->nrows == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **n = realloc(t->cells, cap * (size_t)t->ncols * sizeof *n);
    if (n == NULL)
      return -1;
    t->cells = n;
    t->cap = cap;
  }
  for (int i = 0; i < t->ncols; i++) {
    char *c = strdup(cells[i]);
    size_t len;
    if (c == NULL) {
      while (i-- > 0)
        free(t->cells[t->nrows * (size_t)t->ncols + (size_t)i]);
      return -1;
    }
    t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = c;
    len = strlen(c);
    if (len > t->width[i])
      t->width[i] = len;
  }
  t->nrows++;
  return 0;
}

void cli_table_print(const struct cli_table *t, FILE *out) {
  for (size_t r = 0; r < t->nrows; r++) {
    for (int i = 0; i < t->ncols; i++) {
      const char *c = t->cells[r * (size_t)t->ncols + (size_t)i];
      int w = (int)t->width[i];
      int last = i == t->ncols - 1;

      if (i > 0)
        fputs("  ", out);
      if (t->right[i])
        fprintf(out, "%*s", w, c);
      else if (last)
        fputs(c, out);
      else
        fprintf(out, "%-*s", w, c);
    }
    fputc('\n', out);
  }
}

void cli_table_free(struct cli_table *t) {
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
    free(t->cells[i]);
  free(t->cells);
  free(t->width);
  free(t->right);
  free(t);
}

/* ---- output streams ---------------------------------------------------- */

int cli_finish_stdout(void) {
  if (fflush(stdout) == 0 && !ferror(stdout))
    return 0;
  if (errno != EPIPE)
    cli_error("write to standard output: %s", strerror(errno));
  return CLI_EXIT_FAIL;
}

int cli_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;

  while (len > 0) {
    ssize_t n = write(fd, p, len > (1 << 30) ? (1 << 30) : len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* ---- hexdump -C -------------------------------------------------------- */

/* One line: "%08x  " offset, two groups of eight "xx " with one more space
 * between them, then " |" the printable bytes "|". Missing bytes of a short
 * last line print as three spaces each, so the ascii column still lines up
 * where hexdump puts it. */
static void hexdump_line(FILE *out, const unsigned char *p, size_t n, uint64_t addr) {
  static const char hex[] = "0123456789abcdef";
  char line[96];
  size_t k;
  int len;

  len = snprintf(line, sizeof line, "%08" PRIx64 "  ", addr);
  k = (size_t)len;
  for (size_t i = 0; i < 16; i++) {
    if (i < n) {
      line[k++] = hex[p[i] >> 4];
      line[k++] = hex[p[i] & 0xf];
    } else {
      line[k++] = ' ';
      line[k++] = ' ';
    }
    line[k++] = ' ';
    if (i == 7)
      line[k++] = ' ';
  }
  line[k++] = ' ';
  line[k++] = '|';
  for (size_t i = 0; i < n; i++)
    line[k++] = p[i] >= 0x20 && p[i] <= 0x7e ? (char)p[i] : '.';
  line[k++] = '|';
  line[k++] = '\n';
  fwrite(line, 1, k, out);
}

void cli_hexdump(FILE *out, const unsigned char *data, size_t len, uint64_t base,
                 int explicit_zero) {
  size_t off = 0;
  int starred = 0;

  if (len == 0) {
    /* -n 0 prints nothing; an empty range at end of file prints the end
     * offset, unless that is 0 (hexdump of an empty file is silent). */
    if (!explicit_zero && base != 0)
      fprintf(out, "%08" PRIx64 "\n", base);
    return;
  }
  /* hexdump squeezes a full line equal to the one before it: the first of a
   * run becomes "*", the rest vanish. A short last line is always printed. */
  while (off < len && !ferror(out)) {
    size_t n = len - off < 16 ? len - off : 16;

    if (n == 16 && off >= 16 && memcmp(data + off, data + off - 16, 16) == 0) {
      if (!starred) {
        fputs("*\n", out);
        starred = 1;
      }
    } else {
      hexdump_line(out, data + off, n, base + off);
      starred = 0;
    }
    off += n;
  }
  fprintf(out, "%08" PRIx64 "\n", base + len);
}

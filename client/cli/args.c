/* SPDX-License-Identifier: MIT */
/*
 * args.c: a command's command line, read from its table entry.
 *
 * The dispatcher calls cli_args_parse() once; it reads the options
 * anywhere on the line, checks the number of operands, checks and converts
 * every value by its type (segment names, windows, sizes, modes) and
 * whether --json applies, and prints the usage or the help. Commands never
 * see argv. Written out rather than with getopt_long() so that "-5" is an
 * operand ("create b -5" is a bad size, not an unknown option) and so that
 * usage lines and help come from the same table as the parsing.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "units.h"

const struct cli_option cli_window_options[] = {
  { 'o', "offset", CLI_T_SIZE, "N", "start N bytes into the segment (overrides OFFSET)" },
  { 'n', "length", CLI_T_LENGTH, "N", "N bytes of the segment, or 'end' (overrides LENGTH)" },
  { 0, NULL, CLI_T_FLAG, NULL, NULL },
};

/* The options every command has, after its own; --json only with CLI_JSON. */
static const struct cli_option opt_help = { 'h', "help", CLI_T_FLAG, NULL, "show this help" };
static const struct cli_option opt_json = { 0, "json", CLI_T_FLAG, NULL,
                                            "machine-readable output" };

#define SIZE_HINT "bytes, or a number followed by K, M, G or T, or KiB, MiB, GiB, TiB"

/* ---- usage and help ---------------------------------------------------- */

static void usage_line(const struct cli_command *cmd, const char *name, FILE *out) {
  const struct cli_args_spec *a = &cmd->args;

  fprintf(out, "shmview %s", name);
  for (const struct cli_option *o = a->options; o != NULL && o->name != NULL; o++) {
    if (o->metavar != NULL)
      fprintf(out, " [--%s %s]", o->name, o->metavar);
    else
      fprintf(out, " [--%s]", o->name);
  }
  if (cmd->flags & CLI_JSON)
    fputs(" [--json]", out);
  for (int i = 0; i < a->upper && i < CLI_OPERANDS_MAX; i++)
    fprintf(out, i < a->lower ? " %s" : " [%s]", a->operand[i].metavar);
  fputc('\n', out);
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  cli_verror(fmt, ap);
  va_end(ap);
  if (cmd != NULL) {
    fputs("usage: ", stderr);
    usage_line(cmd, cmd->name, stderr);
    fprintf(stderr, "Try 'shmview %s --help'.\n", cmd->name);
  } else {
    fputs("Try 'shmview --help'.\n", stderr);
  }
  return CLI_EXIT_USAGE;
}

static void help_row(const struct cli_option *o, FILE *out) {
  char left[64];

  snprintf(left, sizeof left, "%c%c%c --%s%s%s", o->letter ? '-' : ' ', o->letter ? o->letter : ' ',
           o->letter ? ',' : ' ', o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
  fprintf(out, "  %-18s  %s\n", left, o->help);
}

void cli_command_help(const struct cli_command *cmd, FILE *out) {
  fputs("usage: ", out);
  usage_line(cmd, cmd->name, out);
  if (cmd->alias != NULL) {
    fputs("       ", out);
    usage_line(cmd, cmd->alias, out);
  }
  fprintf(out, "\n%s\n\noptions:\n", cmd->help != NULL ? cmd->help : cmd->summary);
  const struct cli_option *o;
  for (size_t i = 0; (o = cli_command_option(cmd, i)) != NULL; i++)
    help_row(o, out);
}

const struct cli_option *cli_command_option(const struct cli_command *cmd, size_t i) {
  size_t own = 0;

  while (cmd->args.options != NULL && cmd->args.options[own].name != NULL)
    own++;
  if (i < own)
    return &cmd->args.options[i];
  if (i == own)
    return &opt_help;
  if (i == own + 1 && (cmd->flags & CLI_JSON))
    return &opt_json;
  return NULL;
}

/* ---- values ------------------------------------------------------------ */

static int parse_mode(const char *s, unsigned *out) {
  unsigned m = 0;

  if (*s == '\0' || strlen(s) > 4)
    return -1;
  for (const char *p = s; *p != '\0'; p++) {
    if (*p < '0' || *p > '7')
      return -1;
    m = m * 8 + (unsigned)(*p - '0');
  }
  if (m > 0777)
    return -1;
  *out = m;
  return 0;
}

/* Decimal or 0x-hex, at most 0xffffffff. */
static int parse_u32(const char *s, uint64_t *out) {
  int base = 10;
  uint64_t n = 0;

  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
  }
  if (*s == '\0')
    return -1;
  for (; *s != '\0'; s++) {
    int dgt;
    if (*s >= '0' && *s <= '9')
      dgt = *s - '0';
    else if (base == 16 && *s >= 'a' && *s <= 'f')
      dgt = *s - 'a' + 10;
    else if (base == 16 && *s >= 'A' && *s <= 'F')
      dgt = *s - 'A' + 10;
    else
      return -1;
    n = n * (unsigned)base + (unsigned)dgt;
    if (n > UINT32_MAX)
      return -1;
  }
  *out = n;
  return 0;
}

/* DIGITS[.DIGITS][ns|us|ms|s|m|h] (seconds without a unit) into
 * nanoseconds, at most about 292 years. */
static int parse_duration(const char *s, uint64_t *out) {
  static const struct {
    const char *unit;
    uint64_t ns;
  } units[] = {
    { "ns", 1 },        { "us", 1000 },          { "ms", 1000000 },        { "s", 1000000000 },
    { "", 1000000000 }, { "m", 60000000000ull }, { "h", 3600000000000ull }
  };
  uint64_t whole = 0, frac = 0, scale = 1;
  const char *p = s;

  if (*p < '0' || *p > '9')
    return -1;
  for (; *p >= '0' && *p <= '9'; p++) {
    whole = whole * 10 + (uint64_t)(*p - '0');
    if (whole > (uint64_t)INT64_MAX / 10)
      return -1;
  }
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9')
      return -1;
    for (; *p >= '0' && *p <= '9'; p++)
      if (scale < 1000000000ull) {
        frac = frac * 10 + (uint64_t)(*p - '0');
        scale *= 10;
      }
  }
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcmp(p, units[i].unit) != 0)
      continue;
    uint64_t u = units[i].ns;
    if (whole > (uint64_t)INT64_MAX / u)
      return -1;
    /* frac / scale of a unit, at nanosecond precision */
    *out = whole * u + (u >= scale ? frac * (u / scale) : frac / (scale / u));
    return *out > (uint64_t)INT64_MAX ? -1 : 0;
  }
  return -1;
}

/* Check text as a value of type into v; noun names it in a message. 0 or
 * a usage error. Windows are checked once the options are known. */
static int convert(const struct cli_command *cmd, enum cli_type type, const char *noun,
                   const char *text, struct cli_value *v) {
  uint64_t n = 0;
  unsigned mode;

  switch (type) {
  case CLI_T_FLAG: n = 1; break;
  case CLI_T_STRING:
  case CLI_T_WINDOW: break;
  case CLI_T_NAME:
    if (shmv_name_check(text) != 0)
      return cli_usage_error(cmd,
                             "invalid segment name '%s' (1 to %d characters "
                             "of A-Z a-z 0-9 . _ -, not starting with '.')",
                             text, SHMV_NAME_MAX);
    break;
  case CLI_T_SIZE:
    if (proto_size_parse(text, &n) != 0 || n > SIZE_MAX)
      return cli_usage_error(cmd, "bad %s '%s' (" SIZE_HINT ")", noun, text);
    break;
  case CLI_T_LENGTH:
    if (strcmp(text, "end") == 0)
      n = SHMV_TO_END;
    else if (proto_size_parse(text, &n) != 0 || n >= SIZE_MAX)
      return cli_usage_error(cmd, "bad %s '%s' (" SIZE_HINT ", or 'end')", noun, text);
    break;
  case CLI_T_MODE:
    if (parse_mode(text, &mode) != 0)
      return cli_usage_error(cmd, "bad %s '%s' (octal, at most 0777)", noun, text);
    n = mode;
    break;
  case CLI_T_U32:
    if (parse_u32(text, &n) != 0)
      return cli_usage_error(cmd, "bad %s '%s' (0 to 4294967295, or 0x0 to 0xffffffff)", noun,
                             text);
    break;
  case CLI_T_TIME:
    if (parse_duration(text, &n) != 0)
      return cli_usage_error(
          cmd, "bad %s '%s' (seconds, or a number followed by ns, us, ms, s, m or h)", noun, text);
    break;
  }
  v->text = text;
  v->n = n;
  return 0;
}

/* The descriptor operand, then --offset and --length over its fields. */
static int convert_window(const struct cli_command *cmd, const char *text, struct cli_args *args) {
  shmv_descriptor *d = &args->window;

  if (shmv_descriptor_parse(text, d) != 0)
    return cli_usage_error(cmd, "bad descriptor '%s' (expected NAME[:OFFSET[:LENGTH]])", text);
  if (cli_args_has(args, 'o'))
    d->offset = (size_t)args->opt['o'].n;
  if (cli_args_has(args, 'n'))
    d->length = (size_t)args->opt['n'].n;
  return 0;
}

/* ---- options ----------------------------------------------------------- */

/* The option named by the first len bytes of name: an exact name, or a
 * prefix of only one, as getopt_long() allows. */
static int find_long(const struct cli_command *cmd, const char *name, size_t len,
                     const struct cli_option **out) {
  const struct cli_option *common[] = { &opt_help, &opt_json };
  const struct cli_option *found = NULL;
  int matches = 0;

  for (const struct cli_option *o = cmd->args.options; o != NULL && o->name != NULL; o++) {
    if (strncmp(o->name, name, len) != 0)
      continue;
    if (o->name[len] == '\0') {
      *out = o;
      return 0;
    }
    found = o;
    matches++;
  }
  for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) {
    if (strncmp(common[i]->name, name, len) != 0)
      continue;
    if (common[i]->name[len] == '\0') {
      *out = common[i];
      return 0;
    }
    found = common[i];
    matches++;
  }
  if (matches == 1 && len > 0) {
    *out = found;
    return 0;
  }
  if (matches > 1 && len > 0)
    return cli_usage_error(cmd, "%s: option '--%.*s' is ambiguous", cmd->name, (int)len, name);
  return cli_usage_error(cmd, "%s: unknown option '--%.*s'", cmd->name, (int)len, name);
}

static const struct cli_option *find_short(const struct cli_command *cmd, char c) {
  if (c == opt_help.letter)
    return &opt_help;
  for (const struct cli_option *o = cmd->args.options; o != NULL && o->name != NULL; o++)
    if (o->letter == c)
      return o;
  return NULL;
}

/* One option and its value. -1 to go on, or the exit status. */
static int take(struct cli_ctx *ctx, const struct cli_option *o, const char *value,
                struct cli_args *args) {
  if (o == &opt_help) {
    cli_command_help(ctx->cmd, stdout);
    return cli_finish_stdout();
  }
  if (o == &opt_json) {
    ctx->json = 1;
    return -1;
  }
  if (convert(ctx->cmd, o->type, o->name, value, &args->opt[o->letter & 0x7f]) != 0)
    return CLI_EXIT_USAGE;
  return -1;
}

int cli_args_parse(struct cli_ctx *ctx, int argc, char **argv, struct cli_args *args) {
  const struct cli_command *cmd = ctx->cmd;
  const struct cli_args_spec *spec = &cmd->args;
  const char *operands[CLI_OPERANDS_MAX];
  int nops = 0, only_operands = 0, st;

  memset(args, 0, sizeof *args);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *value;
    const struct cli_option *o = NULL;

    /* "-" and "-5" are operands: no option is a digit. */
    if (only_operands || a[0] != '-' || a[1] == '\0' || (a[1] >= '0' && a[1] <= '9')) {
      if (nops < CLI_OPERANDS_MAX)
        operands[nops] = a;
      nops++;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_operands = 1;
      continue;
    }
    if (a[1] == '-') {
      const char *name = a + 2, *eq = strchr(name, '=');
      size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);

      if ((st = find_long(cmd, name, len, &o)) != 0)
        return st;
      if (o->type == CLI_T_FLAG) {
        if (eq != NULL)
          return cli_usage_error(cmd, "%s: option '--%s' takes no argument", cmd->name, o->name);
        value = "";
      } else if (eq != NULL) {
        value = eq + 1;
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return cli_usage_error(cmd, "%s: option '--%s' needs an argument", cmd->name, o->name);
      }
      if ((st = take(ctx, o, value, args)) >= 0)
        return st;
      continue;
    }
    /* -x, -xVALUE, -x VALUE, and flags bundled: -bH */
    for (const char *p = a + 1; *p != '\0'; p++) {
      if ((o = find_short(cmd, *p)) == NULL)
        return cli_usage_error(cmd, "%s: unknown option '-%c'", cmd->name, *p);
      if (o->type == CLI_T_FLAG) {
        value = "";
      } else if (p[1] != '\0') {
        value = p + 1;
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return cli_usage_error(cmd, "%s: option '-%c' needs an argument", cmd->name, *p);
      }
      if ((st = take(ctx, o, value, args)) >= 0)
        return st;
      if (o->type != CLI_T_FLAG)
        break;
    }
  }

  if (ctx->json && !(cmd->flags & CLI_JSON))
    return cli_usage_error(cmd, "%s: --json does not apply: %s has no machine-readable output",
                           cmd->name, cmd->name);
  if (nops < spec->lower)
    return cli_usage_error(cmd, "%s: missing argument", cmd->name);
  if (nops > spec->upper || nops > CLI_OPERANDS_MAX)
    return cli_usage_error(cmd, "%s: too many arguments", cmd->name);
  args->argc = nops;
  for (int i = 0; i < nops; i++) {
    const struct cli_operand *op = &spec->operand[i];
    char noun[32];
    size_t k;

    for (k = 0; op->metavar[k] != '\0' && k + 1 < sizeof noun; k++)
      noun[k] = (char)(op->metavar[k] >= 'A' && op->metavar[k] <= 'Z' ? op->metavar[k] - 'A' + 'a'
                                                                      : op->metavar[k]);
    noun[k] = '\0';
    if (convert(cmd, op->type, noun, operands[i], &args->arg[i]) != 0)
      return CLI_EXIT_USAGE;
    if (op->type == CLI_T_WINDOW && convert_window(cmd, operands[i], args) != 0)
      return CLI_EXIT_USAGE;
  }
  return -1;
}

/* SPDX-License-Identifier: MIT */
/*
 * cli.h: the shmview command-line tool's command table and shared helpers.
 *
 * As in tmux, each command lives in its own cmd-<name>.c file holding one
 * const struct cli_command and a short exec function; shmview.c only walks
 * the table. A command's entry says which options and operands it takes
 * and of what type, whether it connects and whether it has JSON output;
 * the dispatcher parses and checks all of that (args.c) and connects, so
 * exec starts with the command's real work. The helpers two commands need
 * are grouped by concern, one file each: args.c, connect.c, report.c,
 * format.c, table.c, json.c, hexdump.c.
 */
#ifndef SHMV_CLIENT_CLI_CLI_H
#define SHMV_CLIENT_CLI_CLI_H

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "proto.h" /* the records' description (proto/record.c) */
#include "shmview.h"

/* Exit statuses. */
#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1 /* the operation failed */
#define CLI_EXIT_USAGE 2 /* bad command line */

struct cli_command;
struct cli_args;

struct cli_ctx {
  const char *socket_path;       /* --socket, or NULL to resolve */
  int json;                      /* --json given */
  shmv_client *client;           /* set by cli_connect() */
  const struct cli_command *cmd; /* the command being run */
};

/* ---- the command table ------------------------------------------------- */

/* What the text of an option's argument or of an operand must be. The
 * dispatcher checks and converts it before the command runs (and before it
 * connects), so a bad value is a usage error naming the value. */
enum cli_type {
  CLI_T_FLAG,   /* an option without an argument */
  CLI_T_STRING, /* any text */
  CLI_T_NAME,   /* a segment name, checked with shmv_name_check() */
  CLI_T_WINDOW, /* NAME[:OFFSET[:LENGTH[:rw|:ro]]], with the options of
                 * cli_window_options applied: cli_args.window */
  CLI_T_SIZE,   /* bytes, as proto_size_parse() reads them (64k, 1.5M, 1TiB) */
  CLI_T_LENGTH, /* a size, or "end" (SHMV_TO_END) */
  CLI_T_MODE,   /* octal permission bits, at most 0777 */
  CLI_T_U32,    /* a 32-bit word: decimal, or hex with 0x */
  CLI_T_TIME    /* a duration: seconds, or a number followed by ns, us, ms,
                 * s, m or h; n is in nanoseconds */
};

/* One option of a command. */
struct cli_option {
  int letter;          /* -x; also its index in cli_args.opt */
  const char *name;    /* --name */
  enum cli_type type;  /* CLI_T_FLAG: takes no argument */
  const char *metavar; /* the argument in usage and help; NULL for a flag */
  const char *help;    /* one line for --help */
};

/* One operand, in order. */
struct cli_operand {
  enum cli_type type;
  const char *metavar; /* in the usage line; lowercase, it names a bad value */
};

#define CLI_OPERANDS_MAX 3

/* As tmux's cmd_entry.args: the options and how many operands. */
struct cli_args_spec {
  const struct cli_option *options; /* ends with { 0 }; NULL: none */
  int lower, upper;                 /* operands, lower..upper */
  struct cli_operand operand[CLI_OPERANDS_MAX];
};

/* cli_command.flags */
#define CLI_CONNECTS 0x1u /* the dispatcher connects first: ctx->client is set */
#define CLI_JSON     0x2u /* has machine-readable output: --json applies */
#define CLI_CREATES  0x4u /* its NAME operand is a segment to make, not one that exists */
#define CLI_HIDDEN   0x8u /* not listed by --help (the completion's helper) */

struct cli_command {
  const char *name;
  const char *alias;   /* another name, or NULL */
  const char *summary; /* one short sentence, for the command list */
  const char *help;    /* longer description for --help, or NULL */
  struct cli_args_spec args;
  unsigned flags; /* CLI_CONNECTS, CLI_JSON */
  int (*exec)(struct cli_ctx *ctx, const struct cli_args *args);
};

/* An option's or operand's value: text NULL when absent; n the number of a
 * CLI_T_SIZE, CLI_T_LENGTH or CLI_T_MODE value (1 for a flag given). */
struct cli_value {
  const char *text;
  uint64_t n;
};

/* What the dispatcher hands exec: every value checked and converted. */
struct cli_args {
  int argc; /* operands given */
  struct cli_value arg[CLI_OPERANDS_MAX];
  struct cli_value opt[128]; /* by option letter */
  shmv_descriptor window;    /* of a CLI_T_WINDOW operand */
};

/* The commands: CLI_COMMANDS(X) calls X(name) for each entry
 * `const struct cli_command cli_cmd_<name> = {` of the files listed in
 * CLI_COMMAND_SOURCES in Makefile.am (cmd-<name>.c; a file may hold a few
 * close commands), in that order: cli-commands.h is generated from them.
 * They are declared here and shmview.c builds its table from the same
 * macro. */
#include "cli-commands.h"
#define CLI_COMMAND_DECLARE(name) extern const struct cli_command cli_cmd_##name;
CLI_COMMANDS(CLI_COMMAND_DECLARE)
#undef CLI_COMMAND_DECLARE

/* Every command, NULL-terminated (shmview.c). */
extern const struct cli_command *const cli_commands[];

/* The command named (or aliased) name, or NULL. */
const struct cli_command *cli_find(const char *name);

/* The tool's own options, before the command (shmview.c; getopt_long's). */
extern const struct option cli_global_options[];

/* ---- arguments (args.c) ------------------------------------------------ */

/* --offset and --length, the options of commands on a CLI_T_WINDOW. */
extern const struct cli_option cli_window_options[];

/* Parse a command's argv (argv[0] is its name) by its table entry into
 * args: options anywhere (-x V, -xV, --name V, --name=V, unique prefixes of
 * long names, -- ends them; "-5" is an operand, not an option), the count
 * and type of the operands, and whether --json applies. Returns -1 to run
 * the command, or the exit status to return now (--help was printed, or a
 * usage error). */
int cli_args_parse(struct cli_ctx *ctx, int argc, char **argv, struct cli_args *args);

/* Whether option letter was given. */
static inline int cli_args_has(const struct cli_args *args, int letter) {
  return letter > 0 && letter < 128 && args->opt[letter].text != NULL;
}

/* "shmview: <message>" and the command's usage line on stderr; returns
 * CLI_EXIT_USAGE. cmd NULL: the tool's usage. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The command's full help, from its table entry. */
void cli_command_help(const struct cli_command *cmd, FILE *out);

/* The i-th option of cmd as its help lists them (its own, then --help, and
 * --json with CLI_JSON), or NULL past the last. */
const struct cli_option *cli_command_option(const struct cli_command *cmd, size_t i);

/* ---- the daemon (connect.c) -------------------------------------------- */

/* Connect to the daemon once (ctx->client). On failure print why, naming the
 * socket path, and return CLI_EXIT_FAIL; else 0. */
int cli_connect(struct cli_ctx *ctx);

/* The socket path in use, for messages. */
const char *cli_socket_path(const struct cli_ctx *ctx, char *buf, size_t cap);

/* Open a view of d's window, writable or read-only as asked (whatever d
 * says). On failure print why (naming the segment and, for a window outside
 * it, the segment's size) and return CLI_EXIT_FAIL; else 0. */
int cli_open_view(struct cli_ctx *ctx, const shmv_descriptor *d, int writable, shmv_view **out);

/* ---- messages and output streams (report.c) ---------------------------- */

/* "shmview: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_verror(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Why an operation on a segment failed, once connected: the daemon's own
 * sentence (shmv_last_error()), else shmv_strerror()'s (where -ENOENT
 * means no such segment). */
const char *cli_op_strerror(int code);

/* Flush stdout and report a failure to write it: 0, or CLI_EXIT_FAIL (quiet
 * on EPIPE: the reader went away). */
int cli_finish_stdout(void);

/* write(2) all of buf to fd, retrying partial writes and EINTR. 0 or -errno. */
int cli_write_all(int fd, const void *buf, size_t len);

/* Write a view's bytes to standard output, straight from the mapping: 0,
 * or CLI_EXIT_FAIL with the error reported (quiet on EPIPE: the reader
 * went away, as a pipeline expects). */
int cli_view_to_stdout(const shmv_view *v);

/* ---- formats: sizes, durations, names, times (format.c) ---------------- */

/* A size for a human (ls -h style: 13, 1.0K, 1.5M, rounded up), or the
 * exact number of bytes when bytes is set. */
#define CLI_SIZE_MAX 32
const char *cli_size(uint64_t n, int bytes, char buf[CLI_SIZE_MAX]);

/* "1h 02m 03s" */
const char *cli_human_duration(uint64_t ms, char *buf, size_t cap);

/* The user name of uid, or the number. */
const char *cli_user_name(uid_t uid, char *buf, size_t cap);
const char *cli_group_name(gid_t gid, char *buf, size_t cap);

/* Local time as "2026-11-26 21:04:05". */
const char *cli_time_local(const struct timespec *ts, char *buf, size_t cap);

/* Local time as RFC 3339, "2026-11-26T21:04:05+00:00". */
const char *cli_time_rfc3339(const struct timespec *ts, char *buf, size_t cap);

/* ---- records: walking proto/record.c's rows (format.c) ----------------- */

/* Field f (a row of proto_records[r]) of the public struct at rec, as text:
 * a CLI_CELL for list's table (a FLAG is its name or "", an empty string
 * "?"), the same with exact byte sizes (list -b), or a CLI_LINE for stat
 * ("4096 bytes (4.0K)", "alice (1000)", "yes (removed when ...)"). The
 * shows are described in proto.h (enum proto_show). */
enum cli_style { CLI_CELL, CLI_CELL_BYTES, CLI_LINE };
#define CLI_FIELD_MAX 320 /* the longest text of a field, with its NUL */
const char *cli_field_text(const struct proto_field *f, const void *rec, enum cli_style style,
                           char buf[CLI_FIELD_MAX]);

/* The unsigned (or bool) member of f in the public struct at rec. */
uint64_t cli_field_uint(const struct proto_field *f, const void *rec);

/* Does the public struct at rec say restricted (its hidden fields are 0
 * and unknown)? */
bool cli_record_restricted(enum proto_record r, const void *rec);

/* ---- JSON (json.c) ----------------------------------------------------- */

/* A JSON string literal, quoted and escaped. */
void cli_json_string(FILE *out, const char *s);

/* The members of a record's JSON object, "key": value joined by ", " (no
 * braces): every public field of proto_records[r] in the struct at rec, in
 * its order, under its public name; a hidden one of a restricted record
 * is null. */
void cli_json_fields(FILE *out, enum proto_record r, const void *rec);

/* The JSON object of a segment: name, size, uid, gid, mode, views,
 * writable_views, created, ephemeral, unlinked, frozen, restricted (no
 * trailing newline). */
void cli_json_segment(FILE *out, const shmv_segment_info *info);

/* ---- tables (table.c) -------------------------------------------------- */

/* Columns whose widths are computed from their content. Cells are copied.
 * headers NULL: no header line (list --no-header). */
struct cli_table;
struct cli_table *cli_table_new(int ncols, const char *const *headers, const int *right_align);
int cli_table_add(struct cli_table *t, const char *const *cells);

void cli_table_print(const struct cli_table *t, FILE *out);
void cli_table_free(struct cli_table *t);

/* A table of records r: one column per distinct proto_rec.column of its
 * rows (list: NAME SIZE OWNER MODE VIEWS CREATED FLAGS), after a first,
 * left-aligned column `lead` if not NULL; header false: no header line. */
struct cli_table *cli_record_table_new(enum proto_record r, const char *lead, bool header);
/* One row: lead's cell (if the table has one), then each column's rows'
 * cells joined (by their sep; FLAG names by ","), "-" for an empty one
 * (all hidden, no flag set). bytes: exact sizes. 0, or -1 out of memory. */
int cli_record_table_add(struct cli_table *t, enum proto_record r, const void *rec,
                         const char *lead, int bytes);

/* ---- hexdump -C (hexdump.c) -------------------------------------------- */

/* hexdump -C of len bytes at data, whose first byte is at offset base of the
 * segment; byte for byte what `hexdump -C -s base -n len` prints for a file
 * holding the same bytes. explicit_zero: a length of 0 was asked for (as
 * with -n 0, which prints nothing; otherwise an empty range prints the end
 * offset, as hexdump does at end of file). */
void cli_hexdump(FILE *out, const unsigned char *data, size_t len, uint64_t base,
                 int explicit_zero);

#endif /* SHMV_CLIENT_CLI_CLI_H */

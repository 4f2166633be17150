/* SPDX-License-Identifier: MIT */
/*
 * cli.h: the shmview command-line tool's command table and shared helpers.
 *
 * As in tmux, each command lives in its own cmd-<name>.c file holding one
 * const struct cli_command and a short exec function; shmview.c only walks
 * the table. Everything two commands need (connecting, error messages, size
 * parsing, human sizes, JSON, tables, time, hexdump -C) is in output.c.
 */
#ifndef SHMV_CLIENT_CLI_CLI_H
#define SHMV_CLIENT_CLI_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "shmview.h"

/* Exit statuses. */
#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1 /* the operation failed */
#define CLI_EXIT_USAGE 2 /* bad command line */

struct cli_command;

struct cli_ctx {
  const char *socket_path;       /* --socket, or NULL to resolve */
  int json;                      /* --json given */
  shmv_client *client;           /* set by cli_connect() */
  const struct cli_command *cmd; /* the command being run */
};

struct cli_command {
  const char *name;
  const char *alias;   /* another name, or NULL */
  const char *usage;   /* arguments after the name */
  const char *summary; /* one short sentence, for the command list */
  const char *help;    /* longer description for --help, or NULL */
  const char *options; /* option lines for --help, or NULL */
  int (*exec)(struct cli_ctx *ctx, int argc, char **argv);
};

extern const struct cli_command cli_cmd_list;
extern const struct cli_command cli_cmd_stat;
extern const struct cli_command cli_cmd_create;
extern const struct cli_command cli_cmd_rm;
extern const struct cli_command cli_cmd_resize;
extern const struct cli_command cli_cmd_dump;
extern const struct cli_command cli_cmd_cat;
extern const struct cli_command cli_cmd_write;
extern const struct cli_command cli_cmd_status;

/* ---- messages, usage, options (output.c) ------------------------------- */

/* "shmview: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "shmview: <message>" and the command's usage line on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The command's full help on stdout. */
void cli_command_help(const struct cli_command *cmd, FILE *out);

/* Options every command accepts; end a command's option array with
 * CLI_COMMON_OPTIONS, { 0 } and its short-option string with CLI_COMMON_SHORT. */
#define CLI_OPT_JSON 0x1000
#define CLI_COMMON_OPTIONS                  \
  { "help", no_argument, NULL, 'h' }, {     \
    "json", no_argument, NULL, CLI_OPT_JSON \
  }
#define CLI_COMMON_SHORT "h"

/* Run getopt_long over a command's argv (argv[0] is the command name),
 * resetting GNU getopt first. Call it in a loop: it returns the next option
 * the command must handle itself (with optarg set), or -1 at the end of the
 * options; --help, --json and errors are handled here, in which case it
 * returns CLI_GETOPT_EXIT and *status holds the exit status. */
#define CLI_GETOPT_EXIT (-2)
int cli_getopt(struct cli_ctx *ctx, int argc, char **argv, const char *shortopts,
               const struct option *longopts, int *status);

/* Check that exactly between min and max operands follow the options. */
int cli_check_operands(const struct cli_command *cmd, int argc, int min, int max);

/* Connect to the daemon once (ctx->client). On failure print why, naming the
 * socket path, and return CLI_EXIT_FAIL; else 0. */
int cli_connect(struct cli_ctx *ctx);

/* shmv_strerror() for the result of an operation on a segment, once
 * connected (where -ENOENT means no such segment). */
const char *cli_op_strerror(int code);

/* The socket path in use, for messages. */
const char *cli_socket_path(const struct cli_ctx *ctx, char *buf, size_t cap);

/* Validate a segment name operand: 0 or a usage error (CLI_EXIT_USAGE). */
int cli_check_name(const struct cli_command *cmd, const char *name);

/* Parse a NAME[:OFFSET[:LENGTH[:rw|:ro]]] operand: 0 or a usage error. */
int cli_parse_descriptor(const struct cli_command *cmd, const char *text, shmv_descriptor *d);

/* The window of dump, cat and write: a descriptor operand, then --offset and
 * --length (either may be NULL) overriding its fields. 0 or a usage error. */
int cli_parse_window(const struct cli_command *cmd, const char *text, const char *offset_arg,
                     const char *length_arg, shmv_descriptor *d);

/* All the arguments of dump, cat and write: --offset, --length and one
 * descriptor operand, into d. Returns -1 to go on, or the exit status to
 * return now (help was printed, or a usage error). */
int cli_window_args(struct cli_ctx *ctx, int argc, char **argv, shmv_descriptor *d);

/* Connect and open a view of d's window, writable or read-only whatever d
 * says. On failure print why (naming the segment and, for a window outside
 * it, the segment's size) and return CLI_EXIT_FAIL; else 0. */
int cli_open_view(struct cli_ctx *ctx, const shmv_descriptor *d, int writable, shmv_view **out);

/* ---- sizes and numbers (output.c) -------------------------------------- */

/* Decimal bytes with an optional K, M or G suffix (powers of 1024). -1 on
 * anything else or on overflow of size_t. */
int cli_parse_size(const char *s, uint64_t *out);

/* Octal permission bits, at most 0777. -1 otherwise. */
int cli_parse_mode(const char *s, unsigned *out);

/* ls -h style: 13, 1.0K, 1.5M, 10G (rounded up, as ls does). */
#define CLI_HUMAN_MAX 24
const char *cli_human_size(uint64_t n, char buf[CLI_HUMAN_MAX]);

/* "1h 02m 03s" */
const char *cli_human_duration(uint64_t ms, char *buf, size_t cap);

/* ---- names and time (output.c) ----------------------------------------- */

/* The user name of uid, or the number. */
const char *cli_user_name(uid_t uid, char *buf, size_t cap);
const char *cli_group_name(gid_t gid, char *buf, size_t cap);

/* Local time as "2026-11-26 21:04:05". */
const char *cli_time_local(const struct timespec *ts, char *buf, size_t cap);

/* Local time as RFC 3339, "2026-11-26T21:04:05+00:00". */
const char *cli_time_rfc3339(const struct timespec *ts, char *buf, size_t cap);

/* ---- JSON (output.c) --------------------------------------------------- */

/* A JSON string literal, quoted and escaped. */
void cli_json_string(FILE *out, const char *s);

/* The JSON object of a segment: name, size, uid, gid, mode, views,
 * writable_views, created (no trailing newline). */
void cli_json_segment(FILE *out, const shmv_segment_info *info);

/* ---- tables (output.c) ------------------------------------------------- */

/* Columns whose widths are computed from their content. Cells are copied. */
struct cli_table;
struct cli_table *cli_table_new(int ncols, const char *const *headers, const int *right_align);
int cli_table_add(struct cli_table *t, const char *const *cells);
void cli_table_print(const struct cli_table *t, FILE *out);
void cli_table_free(struct cli_table *t);

/* ---- output streams (output.c) ----------------------------------------- */

/* Flush stdout and report a failure to write it: 0, or CLI_EXIT_FAIL (quiet
 * on EPIPE: the reader went away). */
int cli_finish_stdout(void);

/* write(2) all of buf to fd, retrying partial writes and EINTR. 0 or -errno. */
int cli_write_all(int fd, const void *buf, size_t len);

/* hexdump -C of len bytes at data, whose first byte is at offset base of the
 * segment; byte for byte what `hexdump -C -s base -n len` prints for a file
 * holding the same bytes. explicit_zero: a length of 0 was asked for (as
 * with -n 0, which prints nothing; otherwise an empty range prints the end
 * offset, as hexdump does at end of file). */
void cli_hexdump(FILE *out, const unsigned char *data, size_t len, uint64_t base,
                 int explicit_zero);

#endif /* SHMV_CLIENT_CLI_CLI_H */

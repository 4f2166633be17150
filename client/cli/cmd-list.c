/* SPDX-License-Identifier: MIT */
/* cmd-list.c: list every segment as a table sorted by name, or as JSON. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"

static int cmd_list_exec(struct cli_ctx *, const struct cli_args *);

static const struct cli_option list_options[] = {
  { 'b', "bytes", CLI_T_FLAG, NULL, "sizes in exact bytes, not 1.5K or 2.0M" },
  { 'H', "no-header", CLI_T_FLAG, NULL, "no header line (for scripts)" },
  { 'p', "holders", CLI_T_FLAG, NULL, "one row per view held: who, which window, since when" },
  { 0, NULL, CLI_T_FLAG, NULL, NULL },
};

const struct cli_command cli_cmd_list = {
  .name = "list",
  .alias = "ls",
  .summary = "List the segments: size, owner, mode, views, creation time, flags.",
  .help = "A table sorted by name; VIEWS is total/writable; FLAGS says ephemeral\n"
          "(removed when its last view ends), unlinked (removed, still mapped;\n"
          "listed after the others) and frozen (no writable view or resize any\n"
          "more), or - for none. A segment you may not read shows only its name,\n"
          "size, owner and mode (- elsewhere), as ls -l does. --json prints an array\n"
          "of objects (name, size, uid, gid, mode, views, writable_views, created,\n"
          "ephemeral, unlinked, frozen, restricted; the hidden ones null).\n"
          "--holders lists who holds views instead: one row per view (segment, pid,\n"
          "user, command, window, rw/ro, since), as fuser or ipcs -p would; with\n"
          "--json an array of objects (name, pid, uid, comm, offset, length,\n"
          "writable, since).",
  .args = { list_options, 0, 0, { { 0 } } },
  .flags = CLI_CONNECTS | CLI_JSON,
  .exec = cmd_list_exec,
};

static int cmd_list_json(const shmv_segment_info *list, size_t n) {
  if (n == 0) {
    puts("[]");
    return cli_finish_stdout();
  }
  fputs("[\n", stdout);
  for (size_t i = 0; i < n; i++) {
    fputs("  ", stdout);
    cli_json_segment(stdout, &list[i]);
    fputs(i + 1 < n ? ",\n" : "\n", stdout);
  }
  fputs("]\n", stdout);
  return cli_finish_stdout();
}

/* The columns are the segment record's (proto/record.c). */
static int cmd_list_table(const shmv_segment_info *list, size_t n, const struct cli_args *args) {
  struct cli_table *t = cli_record_table_new(PROTO_RECORD_SEGMENT, NULL, !cli_args_has(args, 'H'));

  if (t == NULL) {
    cli_error("out of memory");
    return CLI_EXIT_FAIL;
  }
  for (size_t i = 0; i < n; i++) {
    if (cli_record_table_add(t, PROTO_RECORD_SEGMENT, &list[i], NULL, cli_args_has(args, 'b')) !=
        0) {
      cli_table_free(t);
      cli_error("out of memory");
      return CLI_EXIT_FAIL;
    }
  }
  cli_table_print(t, stdout);
  cli_table_free(t);
  return cli_finish_stdout();
}

static void holder_json(const char *name, const shmv_holder_info *h, bool first) {
  fputs(first ? "\n  {\"name\": " : ",\n  {\"name\": ", stdout);
  cli_json_string(stdout, name);
  fputs(", ", stdout);
  cli_json_fields(stdout, PROTO_RECORD_HOLDER, h);
  fputc('}', stdout);
}

/* One row (or JSON object) per view held of every (linked) segment that
 * has views. */
static int cmd_list_holders(struct cli_ctx *ctx, const shmv_segment_info *list, size_t n,
                            const struct cli_args *args) {
  struct cli_table *t = cli_record_table_new(PROTO_RECORD_HOLDER, "NAME", !cli_args_has(args, 'H'));
  bool first = true;
  int rc = 0;

  if (ctx->json)
    fputs("[", stdout);
  for (size_t i = 0; t != NULL && rc == 0 && i < n; i++) {
    shmv_holder_info *h;
    size_t nh;

    if (list[i].unlinked || list[i].views == 0)
      continue; /* an unlinked one has no name to ask by */
    rc = shmv_holders(ctx->client, list[i].name, &h, &nh);
    if (rc == -ENOENT || rc == -EACCES) { /* removed meanwhile; not ours to see */
      rc = 0;
      continue;
    }
    for (size_t j = 0; rc == 0 && j < nh; j++) {
      if (ctx->json) {
        holder_json(list[i].name, &h[j], first);
        first = false;
      } else {
        rc =
            cli_record_table_add(t, PROTO_RECORD_HOLDER, &h[j], list[i].name, 0) != 0 ? -ENOMEM : 0;
      }
    }
    if (rc == 0 || rc == -ENOMEM)
      shmv_holders_free(h);
  }
  if (t == NULL || rc != 0) {
    cli_table_free(t);
    cli_error("list: %s", t == NULL ? "out of memory" : cli_op_strerror(rc));
    return CLI_EXIT_FAIL;
  }
  if (ctx->json)
    fputs(first ? "]\n" : "\n]\n", stdout);
  else
    cli_table_print(t, stdout);
  cli_table_free(t);
  return cli_finish_stdout();
}

static int cmd_list_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  shmv_segment_info *list = NULL;
  size_t n = 0;
  int r, status;

  if ((r = shmv_list(ctx->client, &list, &n)) != 0) {
    cli_error("list: %s", cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  status = cli_args_has(args, 'p') ? cmd_list_holders(ctx, list, n, args)
           : ctx->json             ? cmd_list_json(list, n)
                                   : cmd_list_table(list, n, args);
  shmv_list_free(list);
  return status;
}

/* SPDX-License-Identifier: MIT */
/* cmd-list.c: list every segment as a table sorted by name, or as JSON. */
#include "config.h"

#include <stdio.h>

#include "cli.h"

static int cmd_list_exec(struct cli_ctx *, int, char **);

const struct cli_command cli_cmd_list = {
  .name = "list",
  .alias = "ls",
  .usage = "[--json]",
  .summary = "List the segments: size, owner, mode, views, creation time.",
  .help = "A table sorted by name; VIEWS is total/writable. --json prints an array\n"
          "of objects (name, size, uid, gid, mode, views, writable_views, created).",
  .options = NULL,
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

static int cmd_list_table(const shmv_segment_info *list, size_t n) {
  static const char *const headers[] = { "NAME", "SIZE", "OWNER", "MODE", "VIEWS", "CREATED" };
  static const int right[] = { 0, 1, 0, 0, 1, 0 };
  struct cli_table *t = cli_table_new(6, headers, right);
  int status;

  if (t == NULL) {
    cli_error("out of memory");
    return CLI_EXIT_FAIL;
  }
  for (size_t i = 0; i < n; i++) {
    const shmv_segment_info *s = &list[i];
    char size[CLI_HUMAN_MAX], owner[256], mode[16], views[48], created[64];
    const char *cells[6];

    snprintf(mode, sizeof mode, "%04o", s->mode & 07777);
    snprintf(views, sizeof views, "%llu/%llu", (unsigned long long)s->views,
             (unsigned long long)s->writable_views);
    cells[0] = s->name;
    cells[1] = cli_human_size(s->size, size);
    cells[2] = cli_user_name(s->uid, owner, sizeof owner);
    cells[3] = mode;
    cells[4] = views;
    cells[5] = cli_time_local(&s->created, created, sizeof created);
    if (cli_table_add(t, cells) != 0) {
      cli_table_free(t);
      cli_error("out of memory");
      return CLI_EXIT_FAIL;
    }
  }
  cli_table_print(t, stdout);
  cli_table_free(t);
  status = cli_finish_stdout();
  return status;
}

static int cmd_list_exec(struct cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = { CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
  shmv_segment_info *list = NULL;
  size_t n = 0;
  int c, r, status = 0;

  while ((c = cli_getopt(ctx, argc, argv, CLI_COMMON_SHORT, opts, &status)) != -1)
    if (c == CLI_GETOPT_EXIT)
      return status;
  if ((status = cli_check_operands(ctx->cmd, argc - optind, 0, 0)) != 0)
    return status;
  if ((status = cli_connect(ctx)) != 0)
    return status;

  if ((r = shmv_list(ctx->client, &list, &n)) != 0) {
    cli_error("list: %s", cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  status = ctx->json ? cmd_list_json(list, n) : cmd_list_table(list, n);
  shmv_list_free(list);
  return status;
}

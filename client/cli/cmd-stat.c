/* SPDX-License-Identifier: MIT */
/* cmd-stat.c: show every field of one segment, one per line, or as JSON. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int cmd_stat_exec(struct cli_ctx *, const struct cli_args *);

const struct cli_command cli_cmd_stat = {
  .name = "stat",
  .alias = NULL,
  .summary = "Show every field of one segment.",
  .help = "One field per line; --json prints the object list --json prints for it.",
  .args = { NULL, 1, 1, { { CLI_T_NAME, "NAME" } } },
  .flags = CLI_CONNECTS | CLI_JSON,
  .exec = cmd_stat_exec,
};

/* Does f's line apply to s (a channel's counts only to a channel)? */
static bool line_wanted(const struct proto_msg *m, const struct proto_field *f,
                        const shmv_segment_info *s) {
  if (f->rec->when == NULL)
    return true;
  for (size_t i = 0; i < m->nfields; i++)
    if (strcmp(m->fields[i].key, f->rec->when) == 0)
      return cli_field_uint(&m->fields[i], s) != 0;
  return true;
}

/* The segment record's stat lines (proto/record.c), in their order; of a
 * restricted record only what the daemon showed. */
static void stat_lines(const shmv_segment_info *s) {
  const struct proto_msg *m = proto_records[PROTO_RECORD_SEGMENT];
  bool restricted = cli_record_restricted(PROTO_RECORD_SEGMENT, s), found = true;
  char label[64], buf[CLI_FIELD_MAX];

  for (int line = 1; found; line++) {
    found = false;
    for (size_t i = 0; i < m->nfields; i++) {
      const struct proto_field *f = &m->fields[i];

      if (f->rec == NULL || f->rec->line != line)
        continue;
      found = true;
      if ((restricted && f->rec->hidden) || !line_wanted(m, f, s))
        break;
      snprintf(label, sizeof label, "%s:", f->rec->label);
      printf("%-16s%s\n", label, cli_field_text(f, s, CLI_LINE, buf));
      break;
    }
  }
}

static int cmd_stat_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  shmv_segment_info s;
  const char *name = args->arg[0].text;
  int r;

  if ((r = shmv_stat(ctx->client, name, &s)) != 0) {
    cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }

  if (ctx->json) {
    cli_json_segment(stdout, &s);
    fputc('\n', stdout);
    return cli_finish_stdout();
  }
  stat_lines(&s);
  if (s.restricted) {
    /* The daemon shows what ls -l shows of a file one may not read. */
    printf("the rest:       (shown to its owner and those with read permission)\n");
    return cli_finish_stdout();
  }
  /* who holds its views, as fuser would say */
  shmv_holder_info *h;
  size_t nh;
  if ((r = shmv_holders(ctx->client, name, &h, &nh)) == 0) {
    struct cli_table *t = nh > 0 ? cli_record_table_new(PROTO_RECORD_HOLDER, NULL, true) : NULL;

    printf("holders:        %zu\n", nh);
    for (size_t i = 0; t != NULL && i < nh; i++)
      if (cli_record_table_add(t, PROTO_RECORD_HOLDER, &h[i], NULL, 0) != 0)
        break;
    if (t != NULL) {
      cli_table_print(t, stdout);
      cli_table_free(t);
    }
    shmv_holders_free(h);
  } else if (r == -EACCES) {
    printf("holders:        (shown to those with read permission)\n");
  } else if (r != -EOPNOTSUPP && r != -ENOENT) {
    cli_error("%s: holders: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  return cli_finish_stdout();
}

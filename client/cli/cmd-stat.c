/* SPDX-License-Identifier: MIT */
/* cmd-stat.c: show every field of one segment, one per line, or as JSON. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

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

static int cmd_stat_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  shmv_segment_info s;
  char human[CLI_SIZE_MAX], user[256], group[256], when[64], iso[64];
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
  printf("name:           %s\n", s.name);
  if (s.size < 1024)
    printf("size:           %" PRIu64 " bytes\n", s.size);
  else
    printf("size:           %" PRIu64 " bytes (%s)\n", s.size, cli_size(s.size, 0, human));
  printf("owner:          %s (%lu)\n", cli_user_name(s.uid, user, sizeof user),
         (unsigned long)s.uid);
  if (s.restricted) {
    /* The daemon shows what ls -l shows of a file one may not read. */
    printf("mode:           %04o\n", s.mode & 07777);
    printf("the rest:       (shown to its owner and those with read permission)\n");
    return cli_finish_stdout();
  }
  printf("group:          %s (%lu)\n", cli_group_name(s.gid, group, sizeof group),
         (unsigned long)s.gid);
  printf("mode:           %04o\n", s.mode & 07777);
  printf("views:          %" PRIu64 "\n", s.views);
  printf("writable views: %" PRIu64 "\n", s.writable_views);
  printf("frozen:         %s\n", s.frozen ? "yes (no writable view or resize)" : "no");
  struct timespec created = { .tv_sec = (time_t)s.created_sec, .tv_nsec = s.created_nsec };
  printf("created:        %s (%s)\n", cli_time_local(&created, when, sizeof when),
         cli_time_rfc3339(&created, iso, sizeof iso));
  printf("ephemeral:      %s\n", s.ephemeral ? "yes (removed when its last view ends)" : "no");
  /* who holds its views, as fuser would say */
  shmv_holder_info *h;
  size_t nh;
  if ((r = shmv_holders(ctx->client, name, &h, &nh)) == 0) {
    static const char *const headers[] = { "PID", "USER", "COMMAND", "WINDOW", "ACCESS", "SINCE" };
    static const int right[] = { 1, 0, 0, 0, 0, 0 };
    struct cli_table *t = nh > 0 ? cli_table_new(6, headers, right) : NULL;

    printf("holders:        %zu\n", nh);
    for (size_t i = 0; t != NULL && i < nh; i++)
      if (cli_holders_add(t, NULL, &h[i]) != 0)
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

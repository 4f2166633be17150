/* SPDX-License-Identifier: MIT */
/* cmd-freeze.c: make a segment immutable (shmv_freeze): no writable view or resize from now on. */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "cli.h"

static int cmd_freeze_exec(struct cli_ctx *, const struct cli_args *);

const struct cli_command cli_cmd_freeze = {
  .name = "freeze",
  .alias = NULL,
  .summary = "Make a segment immutable: no writable view or resize from now on.",
  .help = "Freeze segment NAME: from now on writable views and resizing are refused\n"
          "(EROFS), read-only views work as before, and the flag is kept across\n"
          "daemon restarts. Refused while any writable view of it is open (EBUSY).\n"
          "Only the owner or root may freeze; there is no way back (copy the data\n"
          "into a new segment to change it).",
  .args = { NULL, 1, 1, { { CLI_T_NAME, "NAME" } } },
  .flags = CLI_CONNECTS,
  .exec = cmd_freeze_exec,
};

static int cmd_freeze_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  const char *name = args->arg[0].text;
  shmv_segment_info info;
  int r;

  if ((r = shmv_freeze(ctx->client, name)) == 0)
    return 0;
  if (r == -EBUSY && shmv_stat(ctx->client, name, &info) == 0 && info.writable_views > 0)
    cli_error("%s: %s (%llu writable view%s open)", name, cli_op_strerror(r),
              (unsigned long long)info.writable_views, info.writable_views == 1 ? " is" : "s are");
  else
    cli_error("%s: %s", name, cli_op_strerror(r));
  return CLI_EXIT_FAIL;
}

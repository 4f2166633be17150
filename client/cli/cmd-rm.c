/* SPDX-License-Identifier: MIT */
/* cmd-rm.c: remove a segment's name; views already open stay valid. */
#include "config.h"

#include <stdio.h>

#include "cli.h"

static int cmd_rm_exec(struct cli_ctx *, const struct cli_args *);

const struct cli_command cli_cmd_rm = {
  .name = "rm",
  .alias = "unlink",
  .summary = "Remove a segment (open views stay valid).",
  .help = "Remove the name at once; views already open stay valid until released.",
  .args = { NULL, 1, 1, { { CLI_T_NAME, "NAME" } } },
  .flags = CLI_CONNECTS,
  .exec = cmd_rm_exec,
};

static int cmd_rm_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  const char *name = args->arg[0].text;
  int r;

  if ((r = shmv_unlink(ctx->client, name)) != 0) {
    cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  return 0;
}

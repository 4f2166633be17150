/* SPDX-License-Identifier: MIT */
/* cmd-rm.c: remove a segment's name; views already open stay valid. */
#include "config.h"

#include <stdio.h>

#include "cli.h"

static int cmd_rm_exec(struct cli_ctx *, int, char **);

const struct cli_command cli_cmd_rm = {
  .name = "rm",
  .alias = "unlink",
  .usage = "NAME",
  .summary = "Remove a segment (open views stay valid).",
  .help = "Remove the name at once; views already open stay valid until released.",
  .options = NULL,
  .exec = cmd_rm_exec,
};

static int cmd_rm_exec(struct cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = { CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
  const char *name;
  int c, r, status = 0;

  while ((c = cli_getopt(ctx, argc, argv, CLI_COMMON_SHORT, opts, &status)) != -1)
    if (c == CLI_GETOPT_EXIT)
      return status;
  if ((status = cli_check_operands(ctx->cmd, argc - optind, 1, 1)) != 0)
    return status;
  name = argv[optind];
  if ((status = cli_check_name(ctx->cmd, name)) != 0)
    return status;
  if ((status = cli_connect(ctx)) != 0)
    return status;

  if ((r = shmv_unlink(ctx->client, name)) != 0) {
    cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  return 0;
}

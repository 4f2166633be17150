/* SPDX-License-Identifier: MIT */
/* cmd-resize.c: grow or shrink a segment (shrinking fails while views live). */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "cli.h"

static int cmd_resize_exec(struct cli_ctx *, const struct cli_args *);

const struct cli_command cli_cmd_resize = {
  .name = "resize",
  .alias = NULL,
  .summary = "Grow or shrink a segment.",
  .help = "Resize segment NAME to SIZE bytes; new bytes are zero. Shrinking fails\n"
          "while any view of the segment is open.",
  .args = { NULL, 2, 2, { { CLI_T_NAME, "NAME" }, { CLI_T_SIZE, "SIZE" } } },
  .flags = CLI_CONNECTS,
  .exec = cmd_resize_exec,
};

static int cmd_resize_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  const char *name = args->arg[0].text;
  int r;

  if ((r = shmv_resize(ctx->client, name, (size_t)args->arg[1].n)) != 0) {
    cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  return 0;
}

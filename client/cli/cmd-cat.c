/* SPDX-License-Identifier: MIT */
/* cmd-cat.c: copy a window of a segment, raw, to standard output. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int cmd_cat_exec(struct cli_ctx *, const struct cli_args *);

const struct cli_command cli_cmd_cat = {
  .name = "cat",
  .alias = NULL,
  .summary = "Copy the raw bytes of a window to standard output.",
  .help = NULL,
  .args = { cli_window_options, 1, 1, { { CLI_T_WINDOW, "NAME[:OFFSET[:LENGTH]]" } } },
  .flags = CLI_CONNECTS,
  .exec = cmd_cat_exec,
};

static int cmd_cat_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  shmv_view *v;
  int status;

  if ((status = cli_open_view(ctx, &args->window, 0, &v)) != 0)
    return status;
  /* SIGPIPE is ignored, so a reader that went away is EPIPE: exit 1
   * without a message. */
  status = cli_view_to_stdout(v);
  shmv_view_release(v);
  return status;
}

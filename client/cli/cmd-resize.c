/* SPDX-License-Identifier: MIT */
/* cmd-resize.c: grow or shrink a segment (shrinking fails while views live). */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "cli.h"

static int cmd_resize_exec(struct cli_ctx *, int, char **);

const struct cli_command cli_cmd_resize = {
  .name = "resize",
  .alias = NULL,
  .usage = "NAME SIZE",
  .summary = "Grow or shrink a segment.",
  .help = "Resize segment NAME to SIZE bytes; new bytes are zero. Shrinking fails\n"
          "while any view of the segment is open.",
  .options = NULL,
  .exec = cmd_resize_exec,
};

static int cmd_resize_exec(struct cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = { CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
  const char *name;
  uint64_t size;
  int c, r, status = 0;

  while ((c = cli_getopt(ctx, argc, argv, CLI_COMMON_SHORT, opts, &status)) != -1)
    if (c == CLI_GETOPT_EXIT)
      return status;
  if ((status = cli_check_operands(ctx->cmd, argc - optind, 2, 2)) != 0)
    return status;
  name = argv[optind];
  if ((status = cli_check_name(ctx->cmd, name)) != 0)
    return status;
  if (cli_parse_size(argv[optind + 1], &size) != 0)
    return cli_usage_error(ctx->cmd,
                           "bad size '%s' (bytes, or a number followed "
                           "by K, M or G)",
                           argv[optind + 1]);
  if ((status = cli_connect(ctx)) != 0)
    return status;

  if ((r = shmv_resize(ctx->client, name, (size_t)size)) != 0) {
    if (r == -EBUSY)
      cli_error("%s: %s (cannot shrink while views are open)", name, cli_op_strerror(r));
    else
      cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  return 0;
}

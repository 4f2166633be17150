/* SPDX-License-Identifier: MIT */
/* cmd-create.c: create a zero-filled segment of a given size and mode. */
#include "config.h"

#include <stdio.h>

#include "cli.h"

static int cmd_create_exec(struct cli_ctx *, int, char **);

const struct cli_command cli_cmd_create = {
  .name = "create",
  .alias = NULL,
  .usage = "NAME SIZE [--mode MODE]",
  .summary = "Create a zero-filled segment.",
  .help = "Create segment NAME of SIZE bytes (a number, optionally followed by K, M\n"
          "or G: powers of 1024), zero-filled, owned by the calling user.",
  .options = "  -m, --mode MODE     permission bits in octal, at most 0777 (default 0600)\n",
  .exec = cmd_create_exec,
};

static int cmd_create_exec(struct cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = { { "mode", required_argument, NULL, 'm' },
                                        CLI_COMMON_OPTIONS,
                                        { NULL, 0, NULL, 0 } };
  const char *mode_arg = NULL, *name;
  unsigned mode = 0600;
  uint64_t size;
  int c, r, status = 0;

  while ((c = cli_getopt(ctx, argc, argv, "m:" CLI_COMMON_SHORT, opts, &status)) != -1) {
    if (c == CLI_GETOPT_EXIT)
      return status;
    if (c == 'm')
      mode_arg = optarg;
  }
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
  if (mode_arg != NULL && cli_parse_mode(mode_arg, &mode) != 0)
    return cli_usage_error(ctx->cmd, "bad mode '%s' (octal, at most 0777)", mode_arg);
  if ((status = cli_connect(ctx)) != 0)
    return status;

  if ((r = shmv_create(ctx->client, name, (size_t)size, mode)) != 0) {
    cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  return 0;
}

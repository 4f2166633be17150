/* SPDX-License-Identifier: MIT */
/* cmd-create.c: create a zero-filled segment of a given size and mode. */
#include "config.h"

#include <stdio.h>

#include "cli.h"

static int cmd_create_exec(struct cli_ctx *, const struct cli_args *);

static const struct cli_option create_options[] = {
  { 'm', "mode", CLI_T_MODE, "MODE", "permission bits in octal, at most 0777 (default 0600)" },
  { 'e', "ephemeral", CLI_T_FLAG, NULL, "removed by the daemon when its last view ends" },
  { 's', "sealed", CLI_T_FLAG, NULL,
    "a memfd whose size the kernel keeps (no truncation by holders)" },
  { 0, NULL, CLI_T_FLAG, NULL, NULL },
};

const struct cli_command cli_cmd_create = {
  .name = "create",
  .alias = NULL,
  .summary = "Create a zero-filled segment.",
  .help = "Create segment NAME of SIZE bytes, zero-filled, owned by the calling user.\n"
          "SIZE is a number of bytes, optionally followed by K, M, G or T (or KiB,\n"
          "MiB, GiB, TiB: powers of 1024); 64k, 1.5M and 1TiB are sizes.\n"
          "--ephemeral: the daemon removes it when its last view ends, or at once\n"
          "when this command's connection ends if no view was opened (for programs:\n"
          "shmv_create_flags).\n"
          "--sealed: the daemon backs it with a sealed memfd: its size never changes\n"
          "(resize fails), no holder can truncate it under the others, and freeze\n"
          "also seals its bytes. Under systemd it survives restarts through the\n"
          "service's file descriptor store; without one it lasts as long as the\n"
          "daemon or its holders.",
  .args = { create_options, 2, 2, { { CLI_T_NAME, "NAME" }, { CLI_T_SIZE, "SIZE" } } },
  .flags = CLI_CONNECTS | CLI_CREATES,
  .exec = cmd_create_exec,
};

static int cmd_create_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  const char *name = args->arg[0].text;
  unsigned mode = cli_args_has(args, 'm') ? (unsigned)args->opt['m'].n : 0600;
  unsigned flags = (cli_args_has(args, 'e') ? SHMV_CREATE_EPHEMERAL : 0) |
                   (cli_args_has(args, 's') ? SHMV_SEALED : 0);
  int r;

  if ((r = shmv_create_flags(ctx->client, name, (size_t)args->arg[1].n, mode, flags)) != 0) {
    cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  return 0;
}

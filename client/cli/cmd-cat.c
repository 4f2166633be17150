/* cmd-cat.c: copy a window of a segment, raw, to standard output. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int cmd_cat_exec(struct cli_ctx *, int, char **);

const struct cli_command cli_cmd_cat = {
  .name = "cat",
  .alias = NULL,
  .usage = "[--offset N] [--length N] NAME[:OFFSET[:LENGTH]]",
  .summary = "Copy the raw bytes of a window to standard output.",
  .help = NULL,
  .options = "  -o, --offset N      start N bytes into the segment (overrides OFFSET)\n"
             "  -n, --length N      copy N bytes, or 'end' (overrides LENGTH)\n",
  .exec = cmd_cat_exec,
};

static int
cmd_cat_exec(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
    { "offset", required_argument, NULL, 'o' },
    { "length", required_argument, NULL, 'n' },
    CLI_COMMON_OPTIONS, { NULL, 0, NULL, 0 }
  };
  const char *offset_arg = NULL, *length_arg = NULL;
  shmv_descriptor d;
  shmv_view *v;
  int c, r, status = 0;

  while ((c = cli_getopt(ctx, argc, argv, "o:n:" CLI_COMMON_SHORT, opts, &status)) != -1) {
    if (c == CLI_GETOPT_EXIT)
      return status;
    if (c == 'o')
      offset_arg = optarg;
    else if (c == 'n')
      length_arg = optarg;
  }
  if ((status = cli_check_operands(ctx->cmd, argc - optind, 1, 1)) != 0)
    return status;
  if ((status = cli_parse_window(ctx->cmd, argv[optind], offset_arg, length_arg, &d)) != 0)
    return status;
  if ((status = cli_open_view(ctx, &d, 0, &v)) != 0)
    return status;

  /* Straight from the mapping; SIGPIPE is ignored, so a reader that went
   * away is EPIPE: exit 1 without a message, as a pipeline expects. */
  r = cli_write_all(STDOUT_FILENO, shmv_view_data(v), shmv_view_length(v));
  shmv_view_release(v);
  if (r == -EPIPE)
    return CLI_EXIT_FAIL;
  if (r != 0) {
    cli_error("write to standard output: %s", strerror(-r));
    return CLI_EXIT_FAIL;
  }
  return 0;
}

/* SPDX-License-Identifier: MIT */
/* cmd-dump.c: print a window of a segment exactly as hexdump -C would. */
#include "config.h"

#include <stdio.h>

#include "cli.h"

static int cmd_dump_exec(struct cli_ctx *, const struct cli_args *);

const struct cli_command cli_cmd_dump = {
  .name = "dump",
  .alias = NULL,
  .summary = "Print a window of a segment as hexdump -C would.",
  .help = "Print the window byte for byte as 'hexdump -C -s OFFSET -n LENGTH' prints\n"
          "a file holding the segment's bytes.",
  .args = { cli_window_options, 1, 1, { { CLI_T_WINDOW, "NAME[:OFFSET[:LENGTH]]" } } },
  .flags = CLI_CONNECTS,
  .exec = cmd_dump_exec,
};

static int cmd_dump_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  static char buf[1 << 16];
  const shmv_descriptor *d = &args->window;
  shmv_view *v;
  int status;

  /* Read-only whatever the descriptor says: dump never writes. */
  if ((status = cli_open_view(ctx, d, 0, &v)) != 0)
    return status;

  /* Walk the mapping itself, through a large stdio buffer. */
  setvbuf(stdout, buf, _IOFBF, sizeof buf);
  cli_hexdump(stdout, shmv_view_data(v), shmv_view_length(v), d->offset, d->length == 0);
  status = cli_finish_stdout();
  shmv_view_release(v);
  return status;
}

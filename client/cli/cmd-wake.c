/* SPDX-License-Identifier: MIT */
/*
 * cmd-wake.c: wake the waiters on a 32-bit word of a segment, after setting
 * or adding to it if asked (shmv_view_wake), and print how many woke.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "cli.h"

static int cmd_wake_exec(struct cli_ctx *, const struct cli_args *);

static const struct cli_option wake_options[] = {
  { 's', "set", CLI_T_U32, "V", "store V in the word first (needs write permission)" },
  { 'a', "add", CLI_T_U32, "N",
    "add N to the word first, atomically, wrapping at 2^32 (needs write permission)" },
  { 'c', "count", CLI_T_U32, "N", "wake at most N waiters (default: all)" },
  { 0, NULL, CLI_T_FLAG, NULL, NULL },
};

const struct cli_command cli_cmd_wake = {
  .name = "wake",
  .alias = NULL,
  .summary = "Wake the waiters on a 32-bit word of a segment; print how many woke.",
  .help = "Wake processes waiting on the native-endian 32-bit word at OFFSET of segment\n"
          "NAME (shmview wait, shmv_view_wait) and print how many were woken. With\n"
          "--set or --add the word is changed first (release ordering), which is how\n"
          "a producer publishes; a bare wake leaves it unchanged, and shmview wait\n"
          "ignores such wakes. OFFSET must be a multiple of 4.",
  .args = { wake_options, 1, 1, { { CLI_T_WINDOW, "NAME:OFFSET" } } },
  .flags = CLI_CONNECTS,
  .exec = cmd_wake_exec,
};

static int cmd_wake_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  shmv_descriptor d = args->window;
  int set = cli_args_has(args, 's'), add = cli_args_has(args, 'a');
  int count = SHMV_WAKE_ALL;
  shmv_view *v;
  int r, status;

  if (set && add)
    return cli_usage_error(ctx->cmd, "wake: --set and --add exclude each other");
  if (cli_args_has(args, 'c')) {
    if (args->opt['c'].n == 0)
      return cli_usage_error(ctx->cmd, "wake: --count must be at least 1");
    if (args->opt['c'].n < (uint64_t)SHMV_WAKE_ALL)
      count = (int)args->opt['c'].n;
  }
  d.length = sizeof(uint32_t);
  if ((status = cli_open_view(ctx, &d, set || add, &v)) != 0)
    return status;
  /* The view is one aligned word, or the wake below says why not. */
  if (shmv_view_length(v) == sizeof(uint32_t) && d.offset % sizeof(uint32_t) == 0) {
    uint32_t *word = shmv_view_data(v);
    if (set)
      __atomic_store_n(word, (uint32_t)args->opt['s'].n, __ATOMIC_RELEASE);
    else if (add)
      __atomic_fetch_add(word, (uint32_t)args->opt['a'].n, __ATOMIC_RELEASE);
  }
  r = shmv_view_wake(v, 0, count);
  shmv_view_release(v);
  if (r == -EINVAL) {
    cli_error("%s:%zu: the offset of a word must be a multiple of 4", d.name, d.offset);
    return CLI_EXIT_FAIL;
  }
  if (r < 0) {
    cli_error("%s:%zu: %s", d.name, d.offset, shmv_strerror(r));
    return CLI_EXIT_FAIL;
  }
  printf("%d\n", r);
  return cli_finish_stdout();
}

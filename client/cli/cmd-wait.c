/* SPDX-License-Identifier: MIT */
/*
 * cmd-wait.c: wait until a 32-bit word of a segment changes, and print its
 * new value, so a shell script can wait for a producer (shmv_view_wait).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"

static int cmd_wait_exec(struct cli_ctx *, const struct cli_args *);

static const struct cli_option wait_options[] = {
  { 't', "timeout", CLI_T_TIME, "T",
    "give up after T (seconds, or with ns, us, ms, s, m, h); default: never" },
  { 'e', "expected", CLI_T_U32, "V", "wait while the word is V (default: its value now)" },
  { 0, NULL, CLI_T_FLAG, NULL, NULL },
};

const struct cli_command cli_cmd_wait = {
  .name = "wait",
  .alias = NULL,
  .summary = "Wait until a 32-bit word of a segment changes; print its new value.",
  .help = "Wait until the native-endian 32-bit word at OFFSET of segment NAME no longer\n"
          "holds V (--expected), or its value when the wait starts, and print the new\n"
          "value in decimal. OFFSET must be a multiple of 4. Only read permission is\n"
          "needed. Wakes that leave the word unchanged are ignored. With --timeout,\n"
          "exit status 1 and a message when the time runs out. Give --expected with\n"
          "the value last seen to miss no change made before the wait began.",
  .args = { wait_options, 1, 1, { { CLI_T_WINDOW, "NAME:OFFSET" } } },
  .flags = CLI_CONNECTS,
  .exec = cmd_wait_exec,
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmd_wait_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  shmv_descriptor d = args->window;
  const uint32_t *word;
  uint32_t expected, now;
  int64_t deadline = -1;
  shmv_view *v;
  int r, status;

  if (cli_args_has(args, 't'))
    deadline = mono_ns() + (int64_t)args->opt['t'].n;
  d.length = sizeof(uint32_t);
  if ((status = cli_open_view(ctx, &d, 0, &v)) != 0)
    return status;
  word = shmv_view_data(v);
  expected = cli_args_has(args, 'e') ? (uint32_t)args->opt['e'].n
                                     : __atomic_load_n(word, __ATOMIC_ACQUIRE);
  for (;;) {
    int64_t left = -1;
    if (deadline >= 0 && (left = deadline - mono_ns()) < 0)
      left = 0;
    r = shmv_view_wait(v, 0, expected, left);
    now = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (r == 0 && now == expected)
      continue; /* woken without a change */
    break;
  }
  shmv_view_release(v);
  if (r == -ETIMEDOUT) {
    cli_error("%s:%zu: timed out after %s; the word is still %lu", d.name, d.offset,
              args->opt['t'].text, (unsigned long)now);
    return CLI_EXIT_FAIL;
  }
  if (r == -EINVAL) {
    cli_error("%s:%zu: the offset of a word must be a multiple of 4", d.name, d.offset);
    return CLI_EXIT_FAIL;
  }
  if (r != 0) {
    cli_error("%s:%zu: %s", d.name, d.offset, shmv_strerror(r));
    return CLI_EXIT_FAIL;
  }
  printf("%lu\n", (unsigned long)now);
  return cli_finish_stdout();
}

/* SPDX-License-Identifier: MIT */
/* cmd-channel.c: channels from the shell: create one, send standard input as
 * one message, receive one message to standard output. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int cmd_channel_exec(struct cli_ctx *, const struct cli_args *);
static int cmd_send_exec(struct cli_ctx *, const struct cli_args *);
static int cmd_recv_exec(struct cli_ctx *, const struct cli_args *);

static const struct cli_option channel_options[] = {
  { 'm', "mode", CLI_T_MODE, "MODE",
    "permission bits in octal (default 0600): r receives, r and w send" },
  { 's', "sealed", CLI_T_FLAG, NULL,
    "both segments memfds whose size the kernel keeps (no participant can truncate them)" },
  { 0, NULL, CLI_T_FLAG, NULL, NULL },
};

const struct cli_command cli_cmd_channel = {
  .name = "channel",
  .alias = NULL,
  .summary = "Create a channel: a queue of messages in shared memory.",
  .help = "shmview channel create NAME SIZE: create channel NAME with SIZE bytes of\n"
          "message space (at least 4K), made of the segments NAME (the ring) and\n"
          "NAME.ctl (its control memory), both owned by the calling user. Remove it\n"
          "with `shmview rm NAME`. Messages go in with `send` and out with `recv`,\n"
          "or from programs with shmv_channel_open().\n"
          "--sealed: both segments are sealed memfds, as `create --sealed` makes: no\n"
          "participant can truncate them under the others. Under systemd the channel\n"
          "survives restarts through the service's file descriptor store; without\n"
          "one it lasts as long as the daemon or its participants.",
  .args = { channel_options,
            3,
            3,
            { { CLI_T_STRING, "create" }, { CLI_T_NAME, "NAME" }, { CLI_T_SIZE, "SIZE" } } },
  .flags = CLI_CONNECTS | CLI_CREATES,
  .exec = cmd_channel_exec,
};

static const struct cli_option send_options[] = {
  { 't', "timeout", CLI_T_TIME, "T",
    "give up after T while the ring is full or, for a message larger than the ring, until a "
    "receiver has taken it (default: never)" },
  { 0, NULL, CLI_T_FLAG, NULL, NULL },
};

const struct cli_command cli_cmd_send = {
  .name = "send",
  .alias = NULL,
  .summary = "Send standard input as one message on a channel.",
  .help = "Read standard input to its end and send it as one message on channel NAME,\n"
          "waiting while the ring is full. Input larger than the ring travels in a\n"
          "segment of its own, and send then waits until a receiver has taken it.\n"
          "Empty input sends nothing and fails.",
  .args = { send_options, 1, 1, { { CLI_T_NAME, "NAME" } } },
  .flags = CLI_CONNECTS,
  .exec = cmd_send_exec,
};

static const struct cli_option recv_options[] = {
  { 't', "timeout", CLI_T_TIME, "T", "give up after T while the ring is empty (default: never)" },
  { 0, NULL, CLI_T_FLAG, NULL, NULL },
};

const struct cli_command cli_cmd_recv = {
  .name = "recv",
  .alias = NULL,
  .summary = "Receive one message from a channel to standard output.",
  .help = "Take the oldest message of channel NAME and copy it to standard output,\n"
          "waiting while the ring is empty. Exits 1 with \"end of stream\" once every\n"
          "sender has closed and no message is left.",
  .args = { recv_options, 1, 1, { { CLI_T_NAME, "NAME" } } },
  .flags = CLI_CONNECTS,
  .exec = cmd_recv_exec,
};

static int64_t timeout_of(const struct cli_args *args) {
  return cli_args_has(args, 't') ? (int64_t)args->opt['t'].n : -1;
}

static int cmd_channel_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  const char *name = args->arg[1].text;
  unsigned mode = cli_args_has(args, 'm') ? (unsigned)args->opt['m'].n : 0600;
  int r;

  if (strcmp(args->arg[0].text, "create") != 0)
    return cli_usage_error(ctx->cmd, "unknown channel action '%s' (there is: create)",
                           args->arg[0].text);
  if ((r = shmv_channel_create(ctx->client, name, (size_t)args->arg[2].n, mode,
                               cli_args_has(args, 's') ? SHMV_SEALED : 0)) != 0) {
    cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  return 0;
}

/* All of standard input, in a malloc'd buffer. */
static int read_all(unsigned char **out, size_t *len) {
  size_t cap = 65536, n = 0;
  unsigned char *buf = malloc(cap);

  for (;;) {
    if (buf == NULL)
      return -ENOMEM;
    if (n == cap) {
      unsigned char *b = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
      if (b == NULL) {
        free(buf);
        return -ENOMEM;
      }
      buf = b;
      cap *= 2;
    }
    ssize_t got = read(STDIN_FILENO, buf + n, cap - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      int e = errno;
      free(buf);
      return -e;
    }
    if (got == 0)
      break;
    n += (size_t)got;
  }
  *out = buf;
  *len = n;
  return 0;
}

static int cmd_send_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  const char *name = args->arg[0].text;
  unsigned char *buf = NULL;
  size_t len = 0;
  shmv_channel *ch;
  int r;

  if ((r = read_all(&buf, &len)) != 0) {
    cli_error("read from standard input: %s", strerror(-r));
    return CLI_EXIT_FAIL;
  }
  if (len == 0) {
    free(buf);
    cli_error("%s: the input is empty: a message has at least one byte", name);
    return CLI_EXIT_FAIL;
  }
  if ((r = shmv_channel_open(ctx->client, name, SHMV_SEND, &ch)) != 0) {
    free(buf);
    cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  r = shmv_channel_send(ch, buf, len, timeout_of(args));
  free(buf);
  /* a message in a segment of its own needs this sender until taken */
  if (r == 0)
    r = shmv_channel_flush(ch, timeout_of(args));
  shmv_channel_close(ch);
  if (r != 0) {
    cli_error("%s: %s", name,
              r == -ETIMEDOUT ? "timed out: the ring stayed full" : cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  return 0;
}

static int cmd_recv_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  const char *name = args->arg[0].text;
  shmv_channel *ch;
  shmv_view *v;
  int r;

  if ((r = shmv_channel_open(ctx->client, name, SHMV_RECV, &ch)) != 0) {
    cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  r = shmv_channel_recv(ch, timeout_of(args), &v);
  if (r == 0) {
    int status = cli_view_to_stdout(v);

    shmv_view_release(v);
    shmv_channel_close(ch);
    return status;
  }
  shmv_channel_close(ch);
  if (r == -EPIPE)
    cli_error("%s: end of stream: every sender has closed", name);
  else if (r == -ETIMEDOUT)
    cli_error("%s: timed out: no message came", name);
  else
    cli_error("%s: %s", name, cli_op_strerror(r));
  return CLI_EXIT_FAIL;
}

/* SPDX-License-Identifier: MIT */
/*
 * connect.c: reaching the daemon, and opening the view of a window, with
 * messages that say which socket or which segment was at fault.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "cli.h"

const char *cli_socket_path(const struct cli_ctx *ctx, char *buf, size_t cap) {
  if (ctx->socket_path != NULL)
    return ctx->socket_path;
  if (shmv_default_socket_path(buf, cap) != 0)
    return "(default socket)";
  return buf;
}

int cli_connect(struct cli_ctx *ctx) {
  char path[4096];
  const char *p;
  int r;

  if (ctx->client != NULL)
    return 0;
  r = shmv_connect(ctx->socket_path, &ctx->client);
  if (r == 0)
    return 0;
  ctx->client = NULL;
  p = cli_socket_path(ctx, path, sizeof path);
  /* Here ENOENT is the socket, not a segment: say so in words of sockets. */
  if (r == -ENOENT || r == -ECONNREFUSED)
    cli_error("cannot connect to shmviewd at %s: %s (is shmviewd running? "
              "start it with 'shmviewd --socket %s' or "
              "'systemctl start shmviewd')",
              p, r == -ENOENT ? "no such socket" : "connection refused", p);
  else
    cli_error("cannot connect to shmviewd at %s: %s", p, cli_op_strerror(r));
  return CLI_EXIT_FAIL;
}

int cli_open_view(struct cli_ctx *ctx, const shmv_descriptor *d, int writable, shmv_view **out) {
  int r, status;

  if ((status = cli_connect(ctx)) != 0)
    return status;
  r = shmv_view_open(ctx->client, d->name, d->offset, d->length, writable ? SHMV_WRITABLE : 0, out);
  if (r == 0)
    return 0;
  /* For a window outside the segment the daemon's sentence gives its size. */
  cli_error("%s: %s", d->name, cli_op_strerror(r));
  return CLI_EXIT_FAIL;
}

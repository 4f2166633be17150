/* SPDX-License-Identifier: MIT */
/* cmd-status.c: show the daemon's version, limits and counters. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

static int cmd_status_exec(struct cli_ctx *, const struct cli_args *);

const struct cli_command cli_cmd_status = {
  .name = "status",
  .alias = NULL,
  .summary = "Show the daemon's version, uptime, counters and limits.",
  .help = NULL,
  .args = { NULL, 0, 0, { { 0 } } },
  .flags = CLI_CONNECTS | CLI_JSON,
  .exec = cmd_status_exec,
};

/* "65536 (64K)", or "none" for a limit of 0 when none_if_zero. */
static const char *status_bytes(uint64_t n, int none_if_zero, char *buf, size_t cap) {
  char human[CLI_SIZE_MAX];

  if (n == 0 && none_if_zero)
    snprintf(buf, cap, "none");
  else if (n < 1024)
    snprintf(buf, cap, "%" PRIu64, n);
  else
    snprintf(buf, cap, "%" PRIu64 " (%s)", n, cli_size(n, 0, human));
  return buf;
}

static const char *status_count(uint64_t n, char *buf, size_t cap) {
  if (n == 0)
    snprintf(buf, cap, "none");
  else
    snprintf(buf, cap, "%" PRIu64, n);
  return buf;
}

static int cmd_status_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  shmv_status_info s;
  char a[64], b[64], human[CLI_SIZE_MAX];
  int r;

  (void)args; /* no options, no operands */
  if ((r = shmv_status(ctx->client, &s)) != 0) {
    cli_error("status: %s", cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  s.version[sizeof s.version - 1] = '\0';

  if (ctx->json) {
    fputs("{\"version\": ", stdout);
    cli_json_string(stdout, s.version);
    printf(", \"protocol\": %u, \"uptime_ms\": %" PRIu64 ", \"clients\": %" PRIu64
           ", \"segments\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"views\": %" PRIu64
           ", \"writable_views\": %" PRIu64 ", \"requests\": %" PRIu64
           ", \"max_segment_size\": %" PRIu64 ", \"max_total_size\": %" PRIu64
           ", \"max_clients\": %" PRIu64 ", \"max_views\": %" PRIu64 ", \"frame_max\": %" PRIu64
           ", \"quota_bytes\": %" PRIu64 ", \"quota_segments\": %" PRIu64
           ", \"quota_views\": %" PRIu64 ", \"uid\": %lu, \"used_bytes\": %" PRIu64
           ", \"used_segments\": %" PRIu64 ", \"used_views\": %" PRIu64 ", \"grace_ms\": %" PRIu64
           "}\n",
           s.protocol, s.uptime_ms, s.clients, s.segments, s.bytes, s.views, s.writable_views,
           s.requests, s.max_segment_size, s.max_total_size, s.max_clients, s.max_views,
           s.frame_max, s.quota_bytes, s.quota_segments, s.quota_views, (unsigned long)s.uid,
           s.used_bytes, s.used_segments, s.used_views, s.grace_ms);
    return cli_finish_stdout();
  }
  printf("version:          %s\n", s.version);
  printf("protocol:         %u\n", s.protocol);
  printf("uptime:           %s\n", cli_human_duration(s.uptime_ms, a, sizeof a));
  printf("clients:          %" PRIu64 "\n", s.clients);
  printf("segments:         %" PRIu64 "\n", s.segments);
  printf("bytes:            %s\n", status_bytes(s.bytes, 0, a, sizeof a));
  printf("views:            %" PRIu64 " (%" PRIu64 " writable)\n", s.views, s.writable_views);
  printf("requests:         %" PRIu64 "\n", s.requests);
  printf("max segment size: %s\n", status_bytes(s.max_segment_size, 1, a, sizeof a));
  printf("max total size:   %s\n", status_bytes(s.max_total_size, 1, b, sizeof b));
  printf("max clients:      %s\n", status_count(s.max_clients, a, sizeof a));
  printf("max views:        %s\n", status_count(s.max_views, a, sizeof a));
  printf("frame max:        %s\n", status_bytes(s.frame_max, 0, a, sizeof a));
  printf("quota bytes:      %s\n", status_bytes(s.quota_bytes, 1, a, sizeof a));
  printf("quota segments:   %s\n", status_count(s.quota_segments, a, sizeof a));
  printf("quota views:      %s\n", status_count(s.quota_views, a, sizeof a));
  snprintf(a, sizeof a, "uid %lu holds:", (unsigned long)s.uid);
  printf("%-18s%" PRIu64 " segment%s, %" PRIu64 " byte%s", a, s.used_segments,
         s.used_segments == 1 ? "" : "s", s.used_bytes, s.used_bytes == 1 ? "" : "s");
  if (s.used_bytes >= 1024)
    printf(" (%s)", cli_size(s.used_bytes, 0, human));
  printf(", %" PRIu64 " view%s\n", s.used_views, s.used_views == 1 ? "" : "s");
  if (s.grace_ms > 0)
    printf("restart grace:    %s left (re-adopted segments cannot shrink)\n",
           cli_human_duration(s.grace_ms, b, sizeof b));
  return cli_finish_stdout();
}

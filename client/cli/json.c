/* SPDX-License-Identifier: MIT */
/*
 * json.c: the JSON the commands print with --json: escaped strings and the
 * one object a segment is shown as (list --json and stat --json agree).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "cli.h"

void cli_json_string(FILE *out, const char *s) {
  const unsigned char *p;

  fputc('"', out);
  for (p = (const unsigned char *)s; *p != '\0'; p++) {
    switch (*p) {
    case '"': fputs("\\\"", out); break;
    case '\\': fputs("\\\\", out); break;
    case '\b': fputs("\\b", out); break;
    case '\f': fputs("\\f", out); break;
    case '\n': fputs("\\n", out); break;
    case '\r': fputs("\\r", out); break;
    case '\t': fputs("\\t", out); break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        fprintf(out, "\\u%04x", *p);
      else
        fputc(*p, out);
    }
  }
  fputc('"', out);
}

void cli_json_segment(FILE *out, const shmv_segment_info *info) {
  char created[64];
  struct timespec when = { .tv_sec = (time_t)info->created_sec, .tv_nsec = info->created_nsec };

  fputs("{\"name\": ", out);
  cli_json_string(out, info->name);
  fprintf(out, ", \"size\": %" PRIu64 ", \"uid\": %lu, ", info->size, (unsigned long)info->uid);
  /* What the daemon hides from one who may not read the segment is null,
   * not a 0 that could be taken for the truth. */
  if (info->restricted) {
    fprintf(out,
            "\"gid\": null, \"mode\": \"%04o\", \"views\": null, \"writable_views\": null, "
            "\"created\": null, \"ephemeral\": null, \"unlinked\": %s, \"frozen\": null, "
            "\"restricted\": true}",
            info->mode & 07777, info->unlinked ? "true" : "false");
    return;
  }
  fprintf(out,
          "\"gid\": %lu, \"mode\": \"%04o\", \"views\": %" PRIu64 ", \"writable_views\": %" PRIu64
          ", \"created\": ",
          (unsigned long)info->gid, info->mode & 07777, info->views, info->writable_views);
  cli_json_string(out, cli_time_rfc3339(&when, created, sizeof created));
  fprintf(out, ", \"ephemeral\": %s, \"unlinked\": %s, \"frozen\": %s, \"restricted\": false}",
          info->ephemeral ? "true" : "false", info->unlinked ? "true" : "false",
          info->frozen ? "true" : "false");
}

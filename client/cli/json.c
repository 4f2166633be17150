/* SPDX-License-Identifier: MIT */
/*
 * json.c: the JSON the commands print with --json: escaped strings and the
 * one object a segment is shown as (list --json and stat --json agree).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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

/* The JSON value of field f of rec. */
static void json_value(FILE *out, const struct proto_field *f, const void *rec) {
  char buf[CLI_FIELD_MAX], when[64];
  struct timespec ts;
  int64_t sec;
  int32_t nsec;

  switch (f->rec->show) {
  case PROTO_SHOW_STR: cli_json_string(out, (const char *)rec + f->rec->pub_offset); return;
  case PROTO_SHOW_MODE: fprintf(out, "\"%s\"", cli_field_text(f, rec, CLI_LINE, buf)); return;
  case PROTO_SHOW_TIME:
    memcpy(&sec, (const char *)rec + f->rec->pub_offset, sizeof sec);
    memcpy(&nsec, (const char *)rec + f->rec->pub_offset + sizeof sec, sizeof nsec);
    ts = (struct timespec){ .tv_sec = (time_t)sec, .tv_nsec = nsec };
    if (f->rec->zero_is_none && sec == 0 && nsec == 0)
      fputs("null", out); /* never happened */
    else
      cli_json_string(out, cli_time_rfc3339(&ts, when, sizeof when));
    return;
  case PROTO_SHOW_FLAG:
  case PROTO_SHOW_RW:
  case PROTO_SHOW_BOOL: fputs(cli_field_uint(f, rec) ? "true" : "false", out); return;
  default: /* numbers: SIZE, COUNT, UID, GID */
    if (f->rec->zero_is_none && cli_field_uint(f, rec) == 0)
      fputs("null", out); /* not known */
    else
      fprintf(out, "%" PRIu64, cli_field_uint(f, rec));
    return;
  }
}

void cli_json_fields(FILE *out, enum proto_record r, const void *rec) {
  const struct proto_msg *m = proto_records[r];
  bool restricted = cli_record_restricted(r, rec), first = true;

  for (size_t i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];

    if (!proto_rec_public(f))
      continue;
    fputs(first ? "\"" : ", \"", out);
    fputs(proto_rec_name(f), out);
    fputs("\": ", out);
    first = false;
    /* What the daemon hides from one who may not read the segment is null,
     * not a 0 that could be taken for the truth. */
    if (restricted && f->rec->hidden)
      fputs("null", out);
    else
      json_value(out, f, rec);
  }
}

void cli_json_segment(FILE *out, const shmv_segment_info *info) {
  fputc('{', out);
  cli_json_fields(out, PROTO_RECORD_SEGMENT, info);
  fputc('}', out);
}

/* SPDX-License-Identifier: MIT */
/*
 * format.c: how the commands show sizes, durations, user and group names
 * and times. Sizes come from the project's one formatter (proto/units.c),
 * so the CLI rounds them as the daemon does.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "units.h"

const char *cli_size(uint64_t n, int bytes, char buf[CLI_SIZE_MAX]) {
  if (bytes) {
    snprintf(buf, CLI_SIZE_MAX, "%" PRIu64, n);
    return buf;
  }
  return proto_size_format(n, 0, buf, CLI_SIZE_MAX);
}

const char *cli_human_duration(uint64_t ms, char *buf, size_t cap) {
  uint64_t s = ms / 1000;
  uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;

  if (d > 0)
    snprintf(buf, cap, "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", d, h, m, sec);
  else if (h > 0)
    snprintf(buf, cap, "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", h, m, sec);
  else if (m > 0)
    snprintf(buf, cap, "%" PRIu64 "m %02" PRIu64 "s", m, sec);
  else
    snprintf(buf, cap, "%" PRIu64 "s", sec);
  return buf;
}

/* The name of a user (group 0) or group (group 1), or the number when it has
 * none. The _r calls want a buffer; grow it while they say ERANGE. */
static const char *id_name(int group, unsigned long id, char *buf, size_t cap) {
  char stack[1024], *tmp = stack;
  const char *name = NULL;
  size_t len = sizeof stack;
  int r;

  for (;;) {
    if (group) {
      struct group gr, *res = NULL;
      r = getgrgid_r((gid_t)id, &gr, tmp, len, &res);
      name = r == 0 && res != NULL ? res->gr_name : NULL;
    } else {
      struct passwd pw, *res = NULL;
      r = getpwuid_r((uid_t)id, &pw, tmp, len, &res);
      name = r == 0 && res != NULL ? res->pw_name : NULL;
    }
    if (name != NULL || r != ERANGE || len >= (1 << 20))
      break;
    if (tmp != stack)
      free(tmp);
    len *= 4;
    if ((tmp = malloc(len)) == NULL)
      break;
  }
  if (name != NULL)
    snprintf(buf, cap, "%s", name);
  else
    snprintf(buf, cap, "%lu", id);
  if (tmp != stack)
    free(tmp);
  return buf;
}

const char *cli_user_name(uid_t uid, char *buf, size_t cap) {
  return id_name(0, (unsigned long)uid, buf, cap);
}

const char *cli_group_name(gid_t gid, char *buf, size_t cap) {
  return id_name(1, (unsigned long)gid, buf, cap);
}

const char *cli_time_local(const struct timespec *ts, char *buf, size_t cap) {
  struct tm tm;
  time_t t = ts->tv_sec;

  if (localtime_r(&t, &tm) == NULL || strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0)
    snprintf(buf, cap, "%lld", (long long)t);
  return buf;
}

const char *cli_time_rfc3339(const struct timespec *ts, char *buf, size_t cap) {
  struct tm tm;
  time_t t = ts->tv_sec;
  char date[32];
  long off;

  if (localtime_r(&t, &tm) == NULL || strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
    snprintf(buf, cap, "1970-01-01T00:00:00+00:00");
    return buf;
  }
  off = tm.tm_gmtoff / 60;
  snprintf(buf, cap, "%s%c%02ld:%02ld", date, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
  return buf;
}

/* ---- a record's field as text ---- */

uint64_t cli_field_uint(const struct proto_field *f, const void *rec) {
  const char *p = (const char *)rec + f->rec->pub_offset;
  uint32_t v32;
  uint64_t v64;

  if (f->rec->pub_size == sizeof v32) {
    memcpy(&v32, p, sizeof v32);
    return v32;
  }
  memcpy(&v64, p, sizeof v64);
  return v64;
}

/* A TIME row's seconds (int64_t) and the nanoseconds (int32_t) after them,
 * as shmv_field documents SHMV_FIELD_TIME. */
static struct timespec field_time(const struct proto_field *f, const void *rec) {
  const char *p = (const char *)rec + f->rec->pub_offset;
  int64_t sec;
  int32_t nsec;

  memcpy(&sec, p, sizeof sec);
  memcpy(&nsec, p + sizeof sec, sizeof nsec);
  return (struct timespec){ .tv_sec = (time_t)sec, .tv_nsec = nsec };
}

const char *cli_field_text(const struct proto_field *f, const void *rec, enum cli_style style,
                           char buf[CLI_FIELD_MAX]) {
  const char *s = (const char *)rec + f->rec->pub_offset;
  uint64_t v = 0;
  char name[256], iso[64], human[CLI_SIZE_MAX];
  struct timespec ts;

  if (f->type == PROTO_T_UINT || f->type == PROTO_T_BOOL)
    v = cli_field_uint(f, rec);
  switch (f->rec->show) {
  case PROTO_SHOW_STR: return style != CLI_LINE && s[0] == '\0' ? "?" : s;
  case PROTO_SHOW_SIZE:
    if (style != CLI_LINE)
      return cli_size(v, style == CLI_CELL_BYTES, buf);
    if (v < 1024)
      snprintf(buf, CLI_FIELD_MAX, "%" PRIu64 " bytes", v);
    else
      snprintf(buf, CLI_FIELD_MAX, "%" PRIu64 " bytes (%s)", v, cli_size(v, 0, human));
    return buf;
  case PROTO_SHOW_UID:
  case PROTO_SHOW_GID:
    if (f->rec->show == PROTO_SHOW_UID)
      cli_user_name((uid_t)v, name, sizeof name);
    else
      cli_group_name((gid_t)v, name, sizeof name);
    if (style != CLI_LINE)
      snprintf(buf, CLI_FIELD_MAX, "%s", name);
    else
      snprintf(buf, CLI_FIELD_MAX, "%s (%" PRIu64 ")", name, v);
    return buf;
  case PROTO_SHOW_MODE: snprintf(buf, CLI_FIELD_MAX, "%04o", (unsigned)(v & 07777)); return buf;
  case PROTO_SHOW_TIME:
    ts = field_time(f, rec);
    if (f->rec->zero_is_none && ts.tv_sec == 0 && ts.tv_nsec == 0)
      return "-"; /* never happened */
    cli_time_local(&ts, buf, CLI_FIELD_MAX);
    if (style == CLI_LINE) {
      size_t n = strlen(buf);
      snprintf(buf + n, CLI_FIELD_MAX - n, " (%s)", cli_time_rfc3339(&ts, iso, sizeof iso));
    }
    return buf;
  case PROTO_SHOW_FLAG:
    if (style != CLI_LINE)
      return v ? proto_rec_name(f) : "";
    if (!v)
      return "no";
    snprintf(buf, CLI_FIELD_MAX, "yes (%s)", f->rec->doc);
    return buf;
  case PROTO_SHOW_RW: return v ? "rw" : "ro";
  case PROTO_SHOW_BOOL: return v ? "yes" : "no";
  case PROTO_SHOW_COUNT:
    if (f->rec->zero_is_none && v == 0)
      return "-"; /* not known (a pid the asker's namespace does not see) */
    snprintf(buf, CLI_FIELD_MAX, "%" PRIu64, v);
    return buf;
  case PROTO_SHOW_NONE:
  case PROTO_SHOW_NSEC: break;
  }
  return "";
}

bool cli_record_restricted(enum proto_record r, const void *rec) {
  const struct proto_msg *m = proto_records[r];

  for (size_t i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];

    if (f->rec != NULL && f->rec->restricts && f->rec->pub_size > 0)
      return cli_field_uint(f, rec) != 0;
  }
  return false;
}

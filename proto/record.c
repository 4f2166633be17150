/* SPDX-License-Identifier: MIT */
/*
 * record.c: the segment, holder and status records, each described once
 * (proto.h, "records"). A row is the field's wire row (key, type, offset in
 * struct proto_segment ...), walked by msg.c's codec, and its record row
 * (.rec): its place in the public struct, its public name and meaning,
 * whether a restricted record hides it, its state-file key and how the CLI
 * shows it. Rows go in the order of the wire map, which is also the order
 * of the public struct, of list --json's keys and of list's columns.
 *
 * Only this file and shmview.h name a record's members; everything else
 * walks the rows.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "proto.h"
#include "shmview.h"

#define KEY(k) .key = (k), .klen = sizeof(k) - 1

/* The wire part of a row: a member M of struct S, its type, largest value
 * and flags. */
#define WIRE(S, k, t, M, mx, fl)                                                             \
  KEY(k), .type = (t), .flags = (fl), .offset = offsetof(S, M), .size = sizeof(((S *)0)->M), \
          .max = (mx)
/* The record part: member P of the public struct T, then the rest. */
#define REC(T, P, ...)                                                         \
  .rec = &(const struct proto_rec) {                                           \
    .pub_offset = offsetof(T, P), .pub_size = sizeof(((T *)0)->P), __VA_ARGS__ \
  }
/* A wire field with no public member (paging keys). */
#define WIRE_ONLY                    \
  .rec = &(const struct proto_rec) { \
    .pub_size = 0                    \
  }

#define NSEC_MAX 999999999u

/* ---- the segment: struct proto_segment, shmv_segment_info ---- */

#define SEG(k, t, M, mx, fl) WIRE(struct proto_segment, k, t, M, mx, fl)
#define SEGPUB(P, ...)       REC(shmv_segment_info, P, __VA_ARGS__)

static const struct proto_field segment_fields[] = {
  { SEG("name", PROTO_T_NAME, name, 0, 0),
    SEGPUB(name, .doc = "segment name", .state = "name", .show = PROTO_SHOW_STR, .column = "NAME",
           .label = "name", .line = 1) },
  { SEG("size", PROTO_T_UINT, size, UINT64_MAX, 0),
    SEGPUB(size, .doc = "size in bytes", .state = "size", .show = PROTO_SHOW_SIZE, .column = "SIZE",
           .right = true, .label = "size", .line = 2) },
  { SEG("uid", PROTO_T_UINT, uid, UINT32_MAX, 0),
    SEGPUB(uid, .doc = "owner (the creator's uid)", .state = "uid", .show = PROTO_SHOW_UID,
           .column = "OWNER", .label = "owner", .line = 3) },
  { SEG("gid", PROTO_T_UINT, gid, UINT32_MAX, 0),
    SEGPUB(gid, .doc = "group", .hidden = true, .state = "gid", .show = PROTO_SHOW_GID,
           .label = "group", .line = 4) },
  { SEG("mode", PROTO_T_UINT, mode, UINT32_MAX, 0),
    SEGPUB(mode, .doc = "permission bits, as a file's", .state = "mode", .show = PROTO_SHOW_MODE,
           .column = "MODE", .label = "mode", .line = 5) },
  { SEG("views", PROTO_T_UINT, views, UINT64_MAX, 0),
    SEGPUB(views, .doc = "live view leases, all clients", .hidden = true, .show = PROTO_SHOW_COUNT,
           .column = "VIEWS", .right = true, .label = "views", .line = 6) },
  { SEG("writable_views", PROTO_T_UINT, writable_views, UINT64_MAX, 0),
    SEGPUB(writable_views, .doc = "of which writable", .hidden = true, .show = PROTO_SHOW_COUNT,
           .column = "VIEWS", .sep = "/", .right = true, .label = "writable views", .line = 7) },
  { SEG("created", PROTO_T_INT, created_sec, 0, 0),
    SEGPUB(created_sec, .name = "created", .doc = "creation time", .hidden = true,
           .state = "created", .show = PROTO_SHOW_TIME, .column = "CREATED", .label = "created",
           .line = 9) },
  { SEG("created_nsec", PROTO_T_UINT, created_nsec, NSEC_MAX, 0),
    SEGPUB(created_nsec, .hidden = true, .state = "created_nsec", .show = PROTO_SHOW_NSEC) },
  { SEG("ephemeral", PROTO_T_BOOL, ephemeral, 0, PROTO_FIELD_OPTIONAL),
    SEGPUB(ephemeral, .doc = "removed when its last view ends", .hidden = true, .state = "flags",
           .show = PROTO_SHOW_FLAG, .column = "FLAGS", .label = "ephemeral", .line = 10) },
  { SEG("unlinked", PROTO_T_BOOL, unlinked, 0, PROTO_FIELD_OPTIONAL),
    SEGPUB(unlinked, .doc = "unlinked, still viewed (list only)", .show = PROTO_SHOW_FLAG,
           .column = "FLAGS") },
  { SEG("unlink_id", PROTO_T_UINT, unlink_id, UINT64_MAX, PROTO_FIELD_OPTIONAL), WIRE_ONLY },
  { SEG("frozen", PROTO_T_BOOL, frozen, 0, PROTO_FIELD_OPTIONAL),
    SEGPUB(frozen, .doc = "no writable view or resize", .hidden = true, .state = "flags",
           .show = PROTO_SHOW_FLAG, .column = "FLAGS", .label = "frozen", .line = 8) },
  { SEG("restricted", PROTO_T_BOOL, restricted, 0, PROTO_FIELD_OPTIONAL),
    SEGPUB(restricted, .doc = "the caller may not read it: only name, size, uid and mode are shown",
           .restricts = true, .show = PROTO_SHOW_BOOL) },
  { SEG("changed", PROTO_T_INT, changed_sec, 0, PROTO_FIELD_OPTIONAL),
    SEGPUB(changed_sec, .name = "changed", .doc = "time of the last resize, freeze, chmod or chown",
           .hidden = true, .zero_is_none = true, .state = "changed", .show = PROTO_SHOW_TIME,
           .label = "changed", .line = 11) },
  { SEG("changed_nsec", PROTO_T_UINT, changed_nsec, NSEC_MAX, PROTO_FIELD_OPTIONAL),
    SEGPUB(changed_nsec, .hidden = true, .state = "changed_nsec", .show = PROTO_SHOW_NSEC) },
  { SEG("channel", PROTO_T_BOOL, channel, 0, PROTO_FIELD_OPTIONAL),
    SEGPUB(channel, .doc = "a channel's ring of messages", .state = "flags",
           .show = PROTO_SHOW_FLAG, .column = "FLAGS", .label = "channel", .line = 12,
           .when = "channel") },
  { SEG("control", PROTO_T_BOOL, control, 0, PROTO_FIELD_OPTIONAL),
    SEGPUB(control, .doc = "a channel's control memory", .state = "flags", .show = PROTO_SHOW_FLAG,
           .column = "FLAGS", .label = "control", .line = 13, .when = "control") },
  { SEG("depth", PROTO_T_UINT, depth, UINT64_MAX, PROTO_FIELD_OPTIONAL),
    SEGPUB(depth, .doc = "channel: messages sent and not yet received", .hidden = true,
           .show = PROTO_SHOW_COUNT, .label = "depth", .line = 14, .when = "channel") },
  { SEG("senders", PROTO_T_UINT, senders, UINT32_MAX, PROTO_FIELD_OPTIONAL),
    SEGPUB(senders, .doc = "channel: participants that may send", .hidden = true,
           .show = PROTO_SHOW_COUNT, .label = "senders", .line = 15, .when = "channel") },
  { SEG("receivers", PROTO_T_UINT, receivers, UINT32_MAX, PROTO_FIELD_OPTIONAL),
    SEGPUB(receivers, .doc = "channel: participants that may receive", .hidden = true,
           .show = PROTO_SHOW_COUNT, .label = "receivers", .line = 16, .when = "channel") },
};

const struct proto_msg proto_segment_msg = {
  "segment",
  sizeof(struct proto_segment),
  segment_fields,
  sizeof segment_fields / sizeof segment_fields[0],
};

/* ---- a holder: struct proto_holder, shmv_holder_info ---- */

#define HOL(k, t, M, mx, fl) WIRE(struct proto_holder, k, t, M, mx, fl)
#define HOLPUB(P, ...)       REC(shmv_holder_info, P, __VA_ARGS__)

static const struct proto_field holder_fields[] = {
  { HOL("pid", PROTO_T_UINT, pid, UINT32_MAX, 0),
    HOLPUB(pid, .doc = "the holding connection's process", .show = PROTO_SHOW_COUNT,
           .column = "PID", .right = true) },
  { HOL("uid", PROTO_T_UINT, uid, UINT32_MAX, 0),
    HOLPUB(uid, .doc = "and its uid", .show = PROTO_SHOW_UID, .column = "USER") },
  { HOL("comm", PROTO_T_STR, comm, 0, 0), HOLPUB(comm, .doc = "its command name; empty if unknown",
                                                 .show = PROTO_SHOW_STR, .column = "COMMAND") },
  { HOL("lease", PROTO_T_UINT, lease, UINT64_MAX, 0), WIRE_ONLY },
  { HOL("offset", PROTO_T_UINT, offset, UINT64_MAX, 0),
    HOLPUB(offset, .doc = "the view's first byte in the segment", .show = PROTO_SHOW_COUNT,
           .column = "WINDOW") },
  { HOL("length", PROTO_T_UINT, length, UINT64_MAX, 0),
    HOLPUB(length, .doc = "the view's length", .show = PROTO_SHOW_COUNT, .column = "WINDOW",
           .sep = "+") },
  { HOL("writable", PROTO_T_BOOL, writable, 0, 0),
    HOLPUB(writable, .doc = "a writable view", .show = PROTO_SHOW_RW, .column = "ACCESS") },
  { HOL("since", PROTO_T_INT, since_sec, 0, 0),
    HOLPUB(since_sec, .name = "since", .doc = "when the view was opened", .show = PROTO_SHOW_TIME,
           .column = "SINCE") },
  { HOL("since_nsec", PROTO_T_UINT, since_nsec, NSEC_MAX, 0),
    HOLPUB(since_nsec, .show = PROTO_SHOW_NSEC) },
};

const struct proto_msg proto_holder_msg = {
  "holder",
  sizeof(struct proto_holder),
  holder_fields,
  sizeof holder_fields / sizeof holder_fields[0],
};

/* ---- the daemon's status: struct proto_status, shmv_status_info ---- */

#define STA(k, t, M, mx) WIRE(struct proto_status, k, t, M, mx, 0)
#define U64(k, M, ...)                                                  \
  {                                                                     \
    STA(k, PROTO_T_UINT, M, UINT64_MAX),                                \
        REC(shmv_status_info, M, .show = PROTO_SHOW_COUNT, __VA_ARGS__) \
  }

static const struct proto_field status_fields[] = {
  { STA("server", PROTO_T_STR, server, 0),
    REC(shmv_status_info, version, .name = "version", .doc = "daemon version string",
        .show = PROTO_SHOW_STR) },
  { STA("version", PROTO_T_UINT, version, UINT32_MAX),
    REC(shmv_status_info, protocol, .name = "protocol", .doc = "wire protocol version",
        .show = PROTO_SHOW_COUNT) },
  U64("uptime_ms", uptime_ms, .doc = "time since the daemon started, ms"),
  U64("clients", clients, .doc = "connections now"),
  U64("segments", segments, .doc = "named segments"),
  U64("bytes", bytes, .doc = "bytes held by all segments, unlinked ones too"),
  U64("views", views, .doc = "live leases"),
  U64("writable_views", writable_views, .doc = "of which writable"),
  U64("requests", requests, .doc = "requests served since start"),
  U64("max_segment_size", max_segment_size, .doc = "0 means no limit"),
  U64("max_total_size", max_total_size, .doc = "0 means no limit"),
  U64("max_clients", max_clients, .doc = "0 means no limit"),
  U64("max_views", max_views, .doc = "0 means no limit"),
  U64("frame_max", frame_max, .doc = "largest frame the daemon accepts, bytes"),
  U64("quota_bytes", quota_bytes, .doc = "per-uid quota; 0 means none"),
  U64("quota_segments", quota_segments, .doc = "per-uid quota; 0 means none"),
  U64("quota_views", quota_views, .doc = "per-uid quota; 0 means none"),
  { STA("uid", PROTO_T_UINT, uid, UINT32_MAX),
    REC(shmv_status_info, uid, .doc = "the caller's uid, as the daemon sees it",
        .show = PROTO_SHOW_UID) },
  U64("used_bytes", used_bytes, .doc = "held by that uid against its quotas"),
  U64("used_segments", used_segments, .doc = "held by that uid against its quotas"),
  U64("used_views", used_views, .doc = "held by that uid against its quotas"),
  U64("grace_ms", grace_ms,
      .doc = "after a restart: time left during which re-adopted segments may not shrink"),
};

const struct proto_msg proto_status_msg = {
  "status",
  sizeof(struct proto_status),
  status_fields,
  sizeof status_fields / sizeof status_fields[0],
};

const struct proto_msg *const proto_records[PROTO_RECORD_COUNT_] = {
  [PROTO_RECORD_SEGMENT] = &proto_segment_msg,
  [PROTO_RECORD_HOLDER] = &proto_holder_msg,
  [PROTO_RECORD_STATUS] = &proto_status_msg,
};

const size_t proto_record_public_size[PROTO_RECORD_COUNT_] = {
  [PROTO_RECORD_SEGMENT] = sizeof(shmv_segment_info),
  [PROTO_RECORD_HOLDER] = sizeof(shmv_holder_info),
  [PROTO_RECORD_STATUS] = sizeof(shmv_status_info),
};

/* ---- the walkers ---- */

void proto_record_restrict(enum proto_record r, void *base) {
  const struct proto_msg *m = proto_records[r];

  for (size_t i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];

    if (f->rec == NULL)
      continue;
    if (f->rec->hidden)
      memset((char *)base + f->offset, 0, f->size);
    else if (f->rec->restricts)
      *(bool *)((char *)base + f->offset) = true;
  }
}

/* An unsigned (or, widened, signed) integer of n bytes at p. */
static uint64_t load(const void *p, size_t n) {
  uint32_t v32;
  uint64_t v64;

  if (n == sizeof v32) {
    memcpy(&v32, p, sizeof v32);
    return v32;
  }
  memcpy(&v64, p, sizeof v64);
  return v64;
}

static void store(void *p, size_t n, uint64_t v) {
  uint32_t v32 = (uint32_t)v;

  if (n == sizeof v32)
    memcpy(p, &v32, sizeof v32);
  else
    memcpy(p, &v, sizeof v);
}

void proto_record_to_public(enum proto_record r, const void *wire, void *pub) {
  const struct proto_msg *m = proto_records[r];

  memset(pub, 0, proto_record_public_size[r]);
  for (size_t i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];
    const char *src = (const char *)wire + f->offset;
    char *dst;

    if (f->rec == NULL || f->rec->pub_size == 0)
      continue;
    dst = (char *)pub + f->rec->pub_offset;
    switch (f->type) {
    case PROTO_T_STR:
    case PROTO_T_NAME:
    case PROTO_T_AFTER: /* NUL-terminated in both; the rest is zero */
      memcpy(dst, src, strnlen(src, (f->size < f->rec->pub_size ? f->size : f->rec->pub_size) - 1));
      break;
    case PROTO_T_BOOL: store(dst, f->rec->pub_size, *(const bool *)src); break;
    default: /* UINT, INT, LENGTH: widened or cut as the member is */
      store(dst, f->rec->pub_size, load(src, f->size));
      break;
    }
  }
}

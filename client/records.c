/* SPDX-License-Identifier: MIT */
/*
 * records.c: the records the library fills (shmv_segment_info,
 * shmv_holder_info, shmv_status_info) from the daemon's answers, and their
 * public description for bindings (shmv_record_fields). Both walk the one
 * description of each record in proto/record.c; no member is named here.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "client-internal.h"

_Static_assert(SHMV_RECORD_SEGMENT == PROTO_RECORD_SEGMENT &&
                   SHMV_RECORD_HOLDER == PROTO_RECORD_HOLDER &&
                   SHMV_RECORD_STATUS == PROTO_RECORD_STATUS,
               "public record numbers are proto/'s");

void client_record_copy(enum proto_record r, const void *wire, void *out, size_t out_size) {
  union {
    shmv_segment_info segment;
    shmv_holder_info holder;
    shmv_status_info status;
  } full;

  proto_record_to_public(r, wire, &full);
  client_copy_sized(out, out_size, &full, proto_record_public_size[r]);
}

/* ---- public: the description ---- */

#define FIELDS_MAX 48 /* rows of the largest record (status: 22) */

static shmv_field fields[PROTO_RECORD_COUNT_][FIELDS_MAX];
static size_t nfields[PROTO_RECORD_COUNT_];
static pthread_once_t fields_once = PTHREAD_ONCE_INIT;

static unsigned field_type(const struct proto_field *f) {
  if (f->rec->show == PROTO_SHOW_TIME)
    return SHMV_FIELD_TIME;
  switch (f->type) {
  case PROTO_T_STR:
  case PROTO_T_NAME:
  case PROTO_T_AFTER: return SHMV_FIELD_STR;
  case PROTO_T_BOOL: return SHMV_FIELD_BOOL;
  case PROTO_T_INT: return SHMV_FIELD_INT;
  default: return SHMV_FIELD_UINT;
  }
}

/* From proto/'s rows: those in the public struct under their own name. */
static void fields_build(void) {
  for (int r = 0; r < PROTO_RECORD_COUNT_; r++) {
    const struct proto_msg *m = proto_records[r];

    for (size_t i = 0; i < m->nfields && nfields[r] < FIELDS_MAX; i++) {
      const struct proto_field *f = &m->fields[i];
      shmv_field *o = &fields[r][nfields[r]];

      if (!proto_rec_public(f))
        continue;
      o->name = proto_rec_name(f);
      o->doc = f->rec->doc != NULL ? f->rec->doc : "";
      o->type = field_type(f);
      o->flags = (f->rec->hidden ? SHMV_FIELD_HIDDEN : 0u) |
                 (f->rec->restricts ? SHMV_FIELD_RESTRICTED : 0u) |
                 (f->rec->zero_is_none ? SHMV_FIELD_ZERO_NONE : 0u);
      o->offset = f->rec->pub_offset;
      o->size = o->type == SHMV_FIELD_TIME ? sizeof(int64_t) + sizeof(int32_t) : f->rec->pub_size;
      nfields[r]++;
    }
  }
}

const shmv_field *shmv_record_fields(int record, size_t *count, size_t *struct_size) {
  if (record < 0 || record >= PROTO_RECORD_COUNT_) {
    if (count)
      *count = 0;
    if (struct_size)
      *struct_size = 0;
    return NULL;
  }
  pthread_once(&fields_once, fields_build);
  if (count)
    *count = nfields[record];
  if (struct_size)
    *struct_size = proto_record_public_size[record];
  return fields[record];
}

void client_copy_sized(void *dst, size_t dst_size, const void *src, size_t src_size) {
  size_t n = dst_size < src_size ? dst_size : src_size;
  memcpy(dst, src, n);
  if (dst_size > n)
    memset((char *)dst + n, 0, dst_size - n);
}

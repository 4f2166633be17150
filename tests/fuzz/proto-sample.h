/* SPDX-License-Identifier: MIT */
/*
 * proto-sample.h: sample messages made from proto/'s tables, for the tests
 * and the fuzz corpus (header-only so make-corpus and test-proto share it).
 * fill_msg() puts a typical or a largest value in every field a table
 * lists, so a field added to a table is exercised with no edit here.
 */
#ifndef SHMV_TESTS_FUZZ_PROTO_SAMPLE_H
#define SHMV_TESTS_FUZZ_PROTO_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* Sample values, from the tables: variant 0 typical (k picks among a few
 * so that items differ), 1 the largest each field allows. */
enum { TYPICAL, LARGEST };

static const char *const sample_names[] = { "greeting", "alpha", "beta.v2" };

static inline void fill_msg(const struct proto_msg *m, void *base, int variant, unsigned k) {
  size_t i, j, n;

  for (i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];
    char *p = (char *)base + f->offset;
    uint64_t u;
    uint32_t u32;
    int64_t v;
    char *items;

    switch (f->type) {
    case PROTO_T_UINT:
    case PROTO_T_LENGTH:
      u = variant == LARGEST ? f->max : 13 + 1000 * (uint64_t)k + i;
      if (u > f->max)
        u = f->max;
      if (f->type == PROTO_T_LENGTH && variant == LARGEST)
        u = PROTO_TO_END; /* nil on the wire */
      if (f->size == sizeof u32) {
        u32 = (uint32_t)u;
        memcpy(p, &u32, sizeof u32);
      } else {
        memcpy(p, &u, sizeof u);
      }
      break;
    case PROTO_T_INT:
      v = variant == LARGEST ? INT64_MIN : k == 2 ? -1 /* before 1970 */ : 1767225600 + (int64_t)k;
      memcpy(p, &v, sizeof v);
      break;
    case PROTO_T_BOOL: *(bool *)p = variant == LARGEST || k % 2 == 0; break;
    case PROTO_T_STR:
      if (variant == LARGEST) {
        memset(p, 's', f->size - 1);
        p[f->size - 1] = '\0';
      } else {
        snprintf(p, f->size, "%s", "shmviewd 0.1.0");
      }
      break;
    case PROTO_T_NAME:
    case PROTO_T_AFTER:
      if (variant == LARGEST) {
        memset(p, 'n', PROTO_NAME_MAX);
        p[PROTO_NAME_MAX] = '\0';
      } else {
        snprintf(p, f->size, "%s", sample_names[(k + (f->type == PROTO_T_AFTER)) % 3]);
      }
      break;
    case PROTO_T_MAP: fill_msg(f->sub, p, variant, k); break;
    case PROTO_T_ARRAY:
      n = variant == LARGEST ? 1 : 3;
      items = calloc(n, f->sub->size); /* free with sample_free() */
      if (items == NULL)
        abort();
      for (j = 0; j < n; j++)
        fill_msg(f->sub, items + j * f->sub->size, variant, (unsigned)j);
      memcpy(p, &items, sizeof items);
      memcpy((char *)base + f->count_offset, &n, sizeof n);
      break;
    }
  }
}

/* Empty every array of m in base (the items stay allocated). */
static inline void empty_arrays(const struct proto_msg *m, void *base) {
  static const size_t zero;
  static void *const null;
  size_t i;

  for (i = 0; i < m->nfields; i++) {
    if (m->fields[i].type == PROTO_T_ARRAY) {
      memcpy((char *)base + m->fields[i].offset, &null, sizeof null);
      memcpy((char *)base + m->fields[i].count_offset, &zero, sizeof zero);
    }
  }
}

/* Free the arrays fill_msg() allocated in base (top level and maps). */
static inline void sample_free(const struct proto_msg *m, void *base) {
  size_t i;
  void *items;

  for (i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];

    if (f->type == PROTO_T_MAP) {
      sample_free(f->sub, (char *)base + f->offset);
    } else if (f->type == PROTO_T_ARRAY) {
      memcpy(&items, (char *)base + f->offset, sizeof items);
      free(items);
      items = NULL;
      memcpy((char *)base + f->offset, &items, sizeof items);
    }
  }
}

#endif /* SHMV_TESTS_FUZZ_PROTO_SAMPLE_H */

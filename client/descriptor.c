/* SPDX-License-Identifier: MIT */
/*
 * descriptor.c: the text form of a view descriptor,
 * NAME[:OFFSET[:LENGTH[:rw|:ro]]], and segment name checks.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client-internal.h"

int shmv_name_check(const char *name) {
  return name && proto_name_valid(name) ? 0 : -EINVAL;
}

/* A non-empty run of decimal digits [s, e) that fits a size_t. */
static int parse_size(const char *s, const char *e, size_t *out) {
  if (s == e)
    return -EINVAL;
  size_t v = 0;
  for (; s < e; s++) {
    if (*s < '0' || *s > '9')
      return -EINVAL;
    size_t d = (size_t)(*s - '0');
    if (v > (SIZE_MAX - d) / 10)
      return -EINVAL;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

static bool field_is(const char *s, const char *e, const char *word) {
  size_t n = strlen(word);
  return (size_t)(e - s) == n && memcmp(s, word, n) == 0;
}

int shmv_descriptor_parse(const char *text, shmv_descriptor *out) {
  if (text == NULL || out == NULL)
    return -EINVAL;
  shmv_descriptor d;
  memset(&d, 0, sizeof d);
  d.offset = 0;
  d.length = SHMV_TO_END;
  d.writable = 0;

  /* Split into at most four ':'-separated fields. */
  const char *f[4], *fe[4];
  int nf = 0;
  const char *p = text;
  for (;;) {
    if (nf == 4)
      return -EINVAL; /* a fifth field */
    const char *colon = strchr(p, ':');
    f[nf] = p;
    fe[nf] = colon ? colon : p + strlen(p);
    nf++;
    if (colon == NULL)
      break;
    p = colon + 1;
  }

  size_t nlen = (size_t)(fe[0] - f[0]);
  if (nlen == 0 || nlen > SHMV_NAME_MAX)
    return -EINVAL;
  memcpy(d.name, f[0], nlen);
  d.name[nlen] = '\0';
  if (shmv_name_check(d.name) < 0)
    return -EINVAL;

  if (nf > 1 && parse_size(f[1], fe[1], &d.offset) < 0)
    return -EINVAL; /* OFFSET, when present, is never empty */
  if (nf > 2 && f[2] != fe[2] && !field_is(f[2], fe[2], "end") &&
      parse_size(f[2], fe[2], &d.length) < 0)
    return -EINVAL;
  if (nf > 3) {
    if (field_is(f[3], fe[3], "rw"))
      d.writable = 1;
    else if (!field_is(f[3], fe[3], "ro"))
      return -EINVAL;
  }
  *out = d;
  return 0;
}

int shmv_descriptor_format(const shmv_descriptor *d, char *buf, size_t cap) {
  if (d == NULL || (buf == NULL && cap > 0))
    return -EINVAL;
  if (memchr(d->name, '\0', sizeof d->name) == NULL || shmv_name_check(d->name) < 0)
    return -EINVAL;
  char len[24];
  if (d->length == SHMV_TO_END)
    strcpy(len, "end");
  else
    snprintf(len, sizeof len, "%zu", d->length);
  int n = snprintf(buf, cap, "%s:%zu:%s:%s", d->name, d->offset, len, d->writable ? "rw" : "ro");
  if (n < 0)
    return -EINVAL;
  if ((size_t)n >= cap) {
    if (cap > 0)
      buf[0] = '\0';
    return -ENOSPC;
  }
  return n;
}

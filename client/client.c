/* SPDX-License-Identifier: MIT */
/*
 * client.c: what is left of the library's connection file once its jobs
 * went to their own files (session, exchange, transport, options,
 * mapcache): the copying of records from the wire into the public structs
 * and the library's version.
 */
#include "config.h"

#include <string.h>

#include "client-internal.h"

void client_segment_info(const struct proto_segment *s, shmv_segment_info *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->name, s->name, sizeof out->name);
  out->name[SHMV_NAME_MAX] = '\0';
  out->size = s->size;
  out->uid = (uid_t)s->uid;
  out->gid = (gid_t)s->gid;
  out->mode = s->mode;
  out->views = s->views;
  out->writable_views = s->writable_views;
  out->created_sec = (int64_t)s->created_sec;
  out->created_nsec = (int32_t)s->created_nsec;
  out->ephemeral = s->ephemeral;
  out->unlinked = s->unlinked;
  out->frozen = s->frozen;
  out->restricted = s->restricted;
}

void client_copy_sized(void *dst, size_t dst_size, const void *src, size_t src_size) {
  size_t n = dst_size < src_size ? dst_size : src_size;
  memcpy(dst, src, n);
  if (dst_size > n)
    memset((char *)dst + n, 0, dst_size - n);
}

const char *shmv_version(void) {
  return PACKAGE_VERSION;
}

unsigned shmv_version_number(void) {
  return SHMV_VERSION_HEX;
}

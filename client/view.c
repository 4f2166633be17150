/* SPDX-License-Identifier: MIT */
/*
 * view.c: opening views (OPEN + mmap of the page-aligned window), slices
 * sharing one refcounted mapping, release (munmap + RELEASE with the last
 * slice), copying out and descriptors of views.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client-internal.h"

static size_t page_size(void) {
  static atomic_size_t cached;
  size_t p = atomic_load_explicit(&cached, memory_order_relaxed);
  if (p == 0) {
    long l = sysconf(_SC_PAGESIZE);
    p = l > 0 ? (size_t)l : 4096;
    atomic_store_explicit(&cached, p, memory_order_relaxed);
  }
  return p;
}

static int view_open(shmv_client *c, const char *name, size_t offset, size_t length, int flags,
                     shmv_view **out) {
  if (!out)
    return -EINVAL;
  *out = NULL;
  if (!c || (flags & ~SHMV_WRITABLE) != 0)
    return -EINVAL;
  if (shmv_name_check(name) < 0)
    return -EINVAL;
  bool writable = (flags & SHMV_WRITABLE) != 0;
  bool to_end = length == SHMV_TO_END;
  if (!to_end && length > SIZE_MAX - offset)
    return -ERANGE;

  struct shmv_view *v = calloc(1, sizeof *v);
  struct client_mapping *m = calloc(1, sizeof *m);
  if (!v || !m) {
    free(v);
    free(m);
    return -ENOMEM;
  }

  struct proto_request req;
  struct proto_response resp;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_OPEN;
  strcpy(req.name, name); /* fits: checked above */
  req.offset = (uint64_t)offset;
  req.length = to_end ? PROTO_TO_END : (uint64_t)length;
  req.writable = writable;
  req.fields = PROTO_F_NAME | PROTO_F_OFFSET | PROTO_F_LENGTH | PROTO_F_WRITABLE;
  int fd = -1;
  uint64_t generation = 0;
  int rc = client_request_gen(c, &req, &resp, &fd, &generation);
  if (rc < 0) {
    free(v);
    free(m);
    return rc;
  }
  struct proto_view pv = resp.u.view;
  proto_response_free(&resp);

  /* The answer must describe what was asked for. */
  bool sane = strcmp(pv.name, name) == 0 && pv.offset == req.offset && pv.writable == writable &&
              pv.length != PROTO_TO_END && (to_end || pv.length == req.length) &&
              pv.length <= SIZE_MAX - offset && pv.offset <= pv.segment_size &&
              pv.length <= pv.segment_size - pv.offset && pv.segment_size <= (uint64_t)INT64_MAX &&
              (pv.length == 0 || fd >= 0);
  if (!sane) {
    rc = -EPROTO;
    goto fail_lease;
  }

  m->lease = pv.lease;
  m->generation = generation;
  m->offset = (uint64_t)offset;
  m->length = pv.length;
  m->writable = writable;
  memcpy(m->name, name, strlen(name) + 1);
  atomic_init(&m->refs, 1);
  v->offset = offset;
  v->length = (size_t)pv.length;

  if (v->length > 0) {
    size_t page = page_size();
    size_t start = offset & ~(page - 1);
    size_t maplen = offset + v->length - start;
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    struct stat st;
    struct cached_map hit;
    if (fstat(fd, &st) != 0) {
      rc = -errno;
      goto fail_lease;
    }
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    /* The daemon checked the window against the segment as it is now, so
     * pages of a cached mapping inside it are valid even if the segment
     * shrank since that mapping was made. */
    if (client_cache_take(c, st.st_dev, st.st_ino, start, maplen, writable, &hit)) {
      m->base = hit.base;
      m->maplen = hit.len;
      m->map_start = hit.start;
    } else {
      void *base = mmap(NULL, maplen, prot, MAP_SHARED, fd, (off_t)start);
      if (base == MAP_FAILED) {
        rc = -errno;
        goto fail_lease;
      }
      m->base = base;
      m->maplen = maplen;
      m->map_start = start;
    }
    v->data = (char *)m->base + (offset - m->map_start);
  }
  if (fd >= 0)
    close(fd);

  client_ref(c);
  m->conn = c;
  client_mapping_add(c, m);
  v->map = m;
  *out = v;
  return 0;

fail_lease:
  if (fd >= 0)
    close(fd);
  m->lease = pv.lease;
  m->generation = generation;
  client_mapping_release(c, m); /* not tracked: only ends the lease */
  free(v);
  free(m);
  return rc;
}

int shmv_view_open(shmv_client *c, const char *name, size_t offset, size_t length, int flags,
                   shmv_view **out) {
  return client_result(c, view_open(c, name, offset, length, flags, out));
}

int shmv_view_open_descriptor(shmv_client *c, const shmv_descriptor *d, shmv_view **out) {
  if (!d) {
    if (out)
      *out = NULL;
    return client_result(c, -EINVAL);
  }
  return shmv_view_open(c, d->name, d->offset, d->length, d->writable ? SHMV_WRITABLE : 0, out);
}

void *shmv_view_data(const shmv_view *v) {
  return v ? v->data : NULL;
}

size_t shmv_view_length(const shmv_view *v) {
  return v ? v->length : 0;
}

int shmv_view_readonly(const shmv_view *v) {
  return v ? !v->map->writable : 1;
}

int shmv_view_slice(shmv_view *v, size_t start, size_t stop, shmv_view **out) {
  if (!out)
    return -EINVAL;
  *out = NULL;
  if (!v)
    return -EINVAL;
  if (start > stop || stop > v->length)
    return -ERANGE;
  struct shmv_view *s = malloc(sizeof *s);
  if (!s)
    return -ENOMEM;
  atomic_fetch_add_explicit(&v->map->refs, 1, memory_order_relaxed);
  s->map = v->map;
  s->offset = v->offset + start;
  s->length = stop - start;
  s->data = v->data ? (char *)v->data + start : NULL;
  *out = s;
  return 0;
}

size_t shmv_view_tobytes(const shmv_view *v, void *dst, size_t cap) {
  if (!v)
    return 0;
  size_t n = v->length < cap ? v->length : cap;
  if (n > 0 && dst)
    memcpy(dst, v->data, n);
  return v->length;
}

/* In a forked child this only unmaps: client_cache_put() and
 * client_mapping_release() leave the parent's lease, list and lock alone. */
void shmv_view_release(shmv_view *v) {
  if (!v)
    return;
  struct client_mapping *m = v->map;
  free(v);
  if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (m->base)
    client_cache_put(m->conn, m); /* unmapped now, or when evicted */
  /* After shmv_disconnect or a lost connection there is nothing to send:
   * the daemon dropped the lease with the connection. */
  client_mapping_release(m->conn, m);
  client_unref(m->conn);
  free(m);
}

int shmv_view_descriptor(const shmv_view *v, shmv_descriptor *out) {
  if (!v || !out)
    return -EINVAL;
  memset(out, 0, sizeof *out);
  memcpy(out->name, v->map->name, sizeof out->name);
  out->offset = v->offset;
  out->length = v->length;
  out->writable = v->map->writable;
  return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * view.c: opening views (OPEN + mmap of the page-aligned window), slices
 * sharing one refcounted mapping, release (munmap + RELEASE with the last
 * slice), copying out and descriptors of views.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel.h"
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

/* SHMV_PREFAULT on a cached (read-only) mapping: its pages may have been
 * dropped from it (never touched, or reclaimed). Best effort: kernels
 * before 5.14 lack MADV_POPULATE_READ, and the pages then fault in at
 * first touch as usual. */
static void prefault_pages(void *addr, size_t len) {
#ifdef MADV_POPULATE_READ
  (void)madvise(addr, len, MADV_POPULATE_READ);
#else
  (void)addr;
  (void)len;
#endif
}

/* Send req (an OPEN, or another op whose answer is a view of req->name at
 * req->offset) and map the view it answers with. prefault: SHMV_PREFAULT. */
int client_view_request(shmv_client *c, struct proto_request *req, bool prefault, shmv_view **out,
                        struct proto_view *answer) {
  /* channel_open names the channel and answers a view of its control memory */
  char ctl[SHMV_NAME_MAX + sizeof CHAN_SUFFIX];
  const char *name = req->name;
  if (req->op == PROTO_OP_CHANNEL_OPEN) {
    if (strlen(req->name) > SHMV_CHANNEL_NAME_MAX)
      return -EINVAL;
    snprintf(ctl, sizeof ctl, "%s" CHAN_SUFFIX, req->name);
    name = ctl;
  }
  size_t offset = (size_t)req->offset;
  bool writable = req->writable;
  bool to_end = req->length == PROTO_TO_END;

  struct shmv_view *v = calloc(1, sizeof *v);
  struct client_mapping *m = calloc(1, sizeof *m);
  if (v == NULL || m == NULL) {
    free(v);
    free(m);
    return -ENOMEM;
  }

  struct proto_response resp;
  int fd = -1;
  uint64_t generation = 0;
  int rc = client_request_gen(c, req, &resp, &fd, &generation);
  if (rc < 0) {
    free(v);
    free(m);
    return rc;
  }
  struct proto_view pv = resp.u.view;
  proto_response_free(&resp);
  if (answer != NULL)
    *answer = pv;

  /* The answer must describe what was asked for. */
  bool sane = strcmp(pv.name, name) == 0 && pv.offset == req->offset && pv.writable == writable &&
              pv.length != PROTO_TO_END && (to_end || pv.length == req->length) &&
              pv.length <= SIZE_MAX - offset && pv.offset <= pv.segment_size &&
              pv.length <= pv.segment_size - pv.offset && pv.segment_size <= (uint64_t)INT64_MAX &&
              (pv.length == 0 || fd >= 0);
  if (!sane) {
    rc = -EPROTO;
    goto fail_lease;
  }
  /* A daemon that names no owner did not know `own` either: it did not
   * check, and this cannot. */
  if (req->own && pv.uid == PROTO_OWNER_UNKNOWN) {
    rc = -EOPNOTSUPP;
    goto fail_lease;
  }

  m->lease = pv.lease;
  m->generation = generation;
  m->offset = (uint64_t)offset;
  m->length = pv.length;
  m->writable = writable;
  m->ephemeral = pv.ephemeral;
  m->own = req->own;
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
    if (!writable && client_cache_take(c, st.st_dev, st.st_ino, start, maplen, &hit)) {
      m->base = hit.base;
      m->maplen = hit.len;
      m->map_start = hit.start;
      if (prefault)
        prefault_pages((char *)m->base + (start - m->map_start), maplen);
    } else {
      int mflags = MAP_SHARED | (prefault ? MAP_POPULATE : 0);
      void *base = mmap(NULL, maplen, prot, mflags, fd, (off_t)start);
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

static int view_open(shmv_client *c, const char *name, size_t offset, size_t length, int flags,
                     shmv_view **out) {
  if (out == NULL)
    return -EINVAL;
  *out = NULL;
  if (c == NULL || (flags & ~(SHMV_WRITABLE | SHMV_PREFAULT | SHMV_OWN)) != 0)
    return -EINVAL;
  if (shmv_name_check(name) < 0)
    return -EINVAL;
  bool to_end = length == SHMV_TO_END;
  if (!to_end && length > SIZE_MAX - offset)
    return -ERANGE;

  struct proto_request req;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_OPEN;
  strcpy(req.name, name); /* fits: checked above */
  req.offset = (uint64_t)offset;
  req.length = to_end ? PROTO_TO_END : (uint64_t)length;
  req.writable = (flags & SHMV_WRITABLE) != 0;
  req.own = (flags & SHMV_OWN) != 0;
  return client_view_request(c, &req, (flags & SHMV_PREFAULT) != 0, out, NULL);
}

_Static_assert(((SHMV_PREFAULT | SHMV_OWN) & PROTO_CREATE_KNOWN) == 0,
               "one flags argument carries both");

static int view_create(shmv_client *c, const char *name, size_t size, unsigned mode, unsigned flags,
                       shmv_view **out) {
  if (out == NULL)
    return -EINVAL;
  *out = NULL;
  /* SHMV_OWN is allowed and always true here: the segment is new. */
  if (c == NULL ||
      (flags & ~(PROTO_CREATE_KNOWN | (unsigned)SHMV_PREFAULT | (unsigned)SHMV_OWN)) != 0)
    return -EINVAL;
  if (shmv_name_check(name) < 0)
    return -EINVAL;

  struct proto_request req;
  memset(&req, 0, sizeof req);
  req.op = PROTO_OP_CREATE_OPEN;
  strcpy(req.name, name); /* fits: checked above */
  req.size = (uint64_t)size;
  req.mode = mode == 0 ? 0600 : mode;
  req.flags = flags & PROTO_CREATE_KNOWN;
  /* what the answer must say: all of it, writable */
  req.offset = 0;
  req.length = PROTO_TO_END;
  req.writable = true;
  bool prefault = (flags & SHMV_PREFAULT) != 0;
  int rc = client_view_request(c, &req, prefault, out, NULL);
  if (rc != -EOPNOTSUPP)
    return rc;
  /* A daemon from before create_open: the same in two round trips (it
   * knows no SHMV_OWN either). */
  if ((rc = shmv_create_flags(c, name, size, mode, flags & PROTO_CREATE_KNOWN)) < 0)
    return rc;
  rc = view_open(c, name, 0, SHMV_TO_END, SHMV_WRITABLE | (prefault ? SHMV_PREFAULT : 0), out);
  if (rc < 0)
    shmv_unlink(c, name);
  return rc;
}

int shmv_view_create(shmv_client *c, const char *name, size_t size, unsigned mode, unsigned flags,
                     shmv_view **out) {
  return client_result(c, view_create(c, name, size, mode, flags, out));
}

int shmv_view_open(shmv_client *c, const char *name, size_t offset, size_t length, int flags,
                   shmv_view **out) {
  return client_result(c, view_open(c, name, offset, length, flags, out));
}

int shmv_view_open_descriptor(shmv_client *c, const shmv_descriptor *d, shmv_view **out) {
  if (d == NULL) {
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
  return v ? v->readonly || !v->map->writable : 1;
}

int shmv_view_slice(shmv_view *v, size_t start, size_t stop, shmv_view **out) {
  if (out == NULL)
    return -EINVAL;
  *out = NULL;
  if (v == NULL)
    return -EINVAL;
  if (start > stop || stop > v->length)
    return -ERANGE;
  struct shmv_view *s = client_view_window(v, start, stop - start);
  if (s == NULL)
    return -ENOMEM;
  if (v->msg != NULL) /* a slice keeps a channel's message as its view does */
    client_msg_ref(s->msg = v->msg);
  *out = s;
  return 0;
}

shmv_view *client_view_window(shmv_view *v, size_t offset, size_t length) {
  struct shmv_view *s = malloc(sizeof *s);
  if (s == NULL)
    return NULL;
  atomic_fetch_add_explicit(&v->map->refs, 1, memory_order_relaxed);
  s->map = v->map;
  s->offset = v->offset + offset;
  s->length = length;
  s->data = v->data ? (char *)v->data + offset : NULL;
  s->msg = NULL;
  s->readonly = v->readonly;
  return s;
}

size_t shmv_view_tobytes(const shmv_view *v, void *dst, size_t cap) {
  if (v == NULL)
    return 0;
  size_t n = v->length < cap ? v->length : cap;
  if (n > 0 && dst)
    memcpy(dst, v->data, n);
  return v->length;
}

/* In a forked child this only unmaps: client_cache_put() and
 * client_mapping_release() leave the parent's lease, list and lock alone. */
void shmv_view_release(shmv_view *v) {
  if (v == NULL)
    return;
  struct client_mapping *m = v->map;
  struct client_msg *msg = v->msg;
  free(v);
  if (msg != NULL)
    client_msg_unref(msg); /* a channel message: its space goes with its last view */
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
  if (v == NULL || out == NULL)
    return -EINVAL;
  memset(out, 0, sizeof *out);
  memcpy(out->name, v->map->name, sizeof out->name);
  out->offset = v->offset;
  out->length = v->length;
  out->writable = v->map->writable;
  return 0;
}

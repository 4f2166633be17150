/* SPDX-License-Identifier: MIT */
/*
 * registry.c: segments and their shm objects.
 *
 * Memory is reserved with posix_fallocate when a segment is created or
 * grown, so a full /dev/shm is an ENOSPC answer to the request that asked
 * for the memory, never a SIGBUS in some client later. The objects are
 * created 0600 by the daemon: what a client may do is decided here, per
 * request, from the segment's recorded owner and mode, and enforced by the
 * access mode of the descriptor it is given.
 *
 * A sealed segment is a memfd, given the same owner and mode (memfd_create
 * makes it 0777, or 0666: any holder of a read-only descriptor could reopen
 * it read-write through /proc/PID/fd otherwise), reserved the same way and
 * then sealed against any change of size, so no holder can make another's
 * mapping fault. Its read-only descriptors are such reopens by the daemon,
 * each a new open file description of its own.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdstore.h"
#include "log.h"
#include "registry.h"
#include "trust.h"

/* From linux/memfd.h 6.3 (glibc 2.36 lacks it): F_SEAL_EXEC and a non-exec
 * mode; kernels before it refuse the flag (EINVAL) and get none. */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

/* The seals of every sealed segment; freeze adds F_SEAL_WRITE. */
#define SEALS_SIZE (F_SEAL_SHRINK | F_SEAL_GROW)

static int segment_cmp(const struct segment *a, const struct segment *b) {
  return strcmp(a->rec.name, b->rec.name);
}

/* RB_GENERATE_STATIC spells its attribute __unused, which glibc leaves
 * undefined; say it directly. */
RB_GENERATE_INTERNAL(segment_tree, segment, by_name, segment_cmp, __attribute__((unused)) static)

static int unlink_cmp(const struct segment *a, const struct segment *b) {
  return a->unlink_id < b->unlink_id ? -1 : a->unlink_id > b->unlink_id;
}

RB_GENERATE_INTERNAL(unlinked_tree, segment, by_unlink, unlink_cmp, __attribute__((unused)) static)

bool registry_prefix_valid(const char *prefix) {
  /* No '.': "/<prefix>.<name>" must name one prefix's object only, or
   * --prefix a.x would see --prefix a's segments named x.*. */
  return strlen(prefix) <= REGISTRY_PREFIX_MAX && proto_name_valid(prefix) &&
         strchr(prefix, '.') == NULL;
}

static int usage_cmp(const struct usage *a, const struct usage *b) {
  return a->uid < b->uid ? -1 : a->uid > b->uid;
}

RB_GENERATE_INTERNAL(usage_tree, usage, by_uid, usage_cmp, __attribute__((unused)) static)

struct usage *registry_usage(struct registry *r, uid_t uid, bool create) {
  struct usage key, *u;

  key.uid = uid;
  u = RB_FIND(usage_tree, &r->usage, &key);
  if (u != NULL || !create)
    return u;
  u = calloc(1, sizeof *u);
  if (u == NULL)
    return NULL;
  u->uid = uid;
  RB_INSERT(usage_tree, &r->usage, u);
  return u;
}

static void usage_release_if_idle(struct registry *r, struct usage *u) {
  if (u->bytes == 0 && u->segments == 0 && u->views == 0 && u->clients == 0) {
    RB_REMOVE(usage_tree, &r->usage, u);
    free(u);
  }
}

/* Charge (or with negative deltas, credit) uid. Entries are made as
 * needed; only an allocation failure can drop a charge, and then quotas
 * err on the generous side. */
static void usage_add(struct registry *r, uid_t uid, int64_t bytes, int segments, int views) {
  struct usage *u = registry_usage(r, uid, true);

  if (u == NULL)
    return;
  u->bytes += (uint64_t)bytes;
  u->segments += (uint64_t)(int64_t)segments;
  u->views += (uint64_t)(int64_t)views;
  usage_release_if_idle(r, u);
}

void registry_usage_views(struct registry *r, uid_t uid, int delta) {
  usage_add(r, uid, 0, 0, delta);
}

void registry_usage_clients(struct registry *r, uid_t uid, int delta) {
  struct usage *u = registry_usage(r, uid, true);

  if (u == NULL)
    return;
  u->clients += (uint64_t)(int64_t)delta;
  usage_release_if_idle(r, u);
}

void registry_init(struct registry *r, const char *prefix, uint64_t fd_cache_max) {
  memset(r, 0, sizeof *r);
  RB_INIT(&r->by_name);
  RB_INIT(&r->usage);
  RB_INIT(&r->unlinked);
  TAILQ_INIT(&r->fd_lru);
  r->fd_cache_max = fd_cache_max;
  r->reserve = true;
  snprintf(r->prefix, sizeof r->prefix, "%s", prefix);
}

/* A zeroed record, keeping no descriptor. */
static struct segment *segment_alloc(void) {
  struct segment *s = calloc(1, sizeof *s);

  if (s == NULL)
    return NULL;
  LIST_INIT(&s->holds);
  TAILQ_INIT(&s->holders);
  s->fd_ro = s->fd_rw = -1;
  s->memfd = -1;
  return s;
}

/* Close the descriptors s keeps, if any. */
static void fd_cache_drop(struct registry *r, struct segment *s) {
  if (s->fd_ro < 0 && s->fd_rw < 0)
    return;
  if (s->fd_ro >= 0)
    close(s->fd_ro);
  if (s->fd_rw >= 0)
    close(s->fd_rw);
  s->fd_ro = s->fd_rw = -1;
  TAILQ_REMOVE(&r->fd_lru, s, fd_lru);
  r->fd_cached--;
}

/* s was just opened: first in the LRU order, keeping fd (>= 0) as its
 * descriptor for that access mode; the least recently opened segments
 * beyond fd_cache_max (>= 1) close theirs. */
static void fd_cache_use(struct registry *r, struct segment *s, int fd, bool writable) {
  if (s->fd_ro >= 0 || s->fd_rw >= 0)
    TAILQ_REMOVE(&r->fd_lru, s, fd_lru);
  else
    r->fd_cached++;
  if (fd >= 0)
    *(writable ? &s->fd_rw : &s->fd_ro) = fd;
  TAILQ_INSERT_HEAD(&r->fd_lru, s, fd_lru);
  while (r->fd_cached > r->fd_cache_max)
    fd_cache_drop(r, TAILQ_LAST(&r->fd_lru, segment_queue));
}

/* Forget s's record (it is in no tree any more). */
static void segment_free(struct registry *r, struct segment *s) {
  fd_cache_drop(r, s);
  if (s->memfd >= 0)
    close(s->memfd);
  free(s);
}

void registry_fini(struct registry *r) {
  struct segment *s, *next;

  /* Unlinked segments are owned by their leases, which the server has
   * released before this point. */
  struct usage *u, *unext;

  RB_FOREACH_SAFE(s, segment_tree, &r->by_name, next) {
    RB_REMOVE(segment_tree, &r->by_name, s);
    segment_free(r, s);
  }
  RB_FOREACH_SAFE(u, usage_tree, &r->usage, unext) {
    RB_REMOVE(usage_tree, &r->usage, u);
    free(u);
  }
  r->count = 0;
  r->bytes = 0;
}

/* Built with memcpy, not snprintf: it runs on every open, where printf's
 * format parsing cost more than the rest of the name handling. */
void registry_object_name(const struct registry *r, const char *name, char *buf, size_t cap) {
  size_t plen = strlen(r->prefix), nlen = strlen(name);

  if (cap == 0)
    return;
  if (plen + nlen + 3 > cap) { /* cannot happen with valid names; stay bounded */
    snprintf(buf, cap, "/%s.%s", r->prefix, name);
    return;
  }
  buf[0] = '/';
  memcpy(buf + 1, r->prefix, plen);
  buf[1 + plen] = '.';
  memcpy(buf + 2 + plen, name, nlen + 1);
}

struct segment *registry_find(struct registry *r, const char *name) {
  struct segment key;
  size_t n = strnlen(name, sizeof key.rec.name - 1);

  memcpy(key.rec.name, name, n);
  key.rec.name[n] = '\0';
  return RB_FIND(segment_tree, &r->by_name, &key);
}

struct segment *registry_first_after(struct registry *r, const char *after) {
  struct segment key, *s;

  if (after[0] == '\0')
    return RB_MIN(segment_tree, &r->by_name);
  snprintf(key.rec.name, sizeof key.rec.name, "%s", after);
  s = RB_NFIND(segment_tree, &r->by_name, &key);
  if (s != NULL && strcmp(s->rec.name, after) == 0)
    s = RB_NEXT(segment_tree, &r->by_name, s);
  return s;
}

struct segment *registry_next(struct registry *r, struct segment *s) {
  return RB_NEXT(segment_tree, &r->by_name, s);
}

struct segment *registry_unlinked_after(struct registry *r, uint64_t after) {
  struct segment key;

  if (after == UINT64_MAX)
    return NULL;
  key.unlink_id = after + 1;
  return RB_NFIND(unlinked_tree, &r->unlinked, &key);
}

struct segment *registry_unlinked_next(struct registry *r, struct segment *s) {
  return RB_NEXT(unlinked_tree, &r->unlinked, s);
}

/* Reserve [from, to) of the object, unless the daemon was told to leave
 * the allocation (and its memory cgroup's charge) to the first toucher.
 * posix_fallocate returns an error number rather than setting errno. */
static int reserve(const struct registry *r, int fd, uint64_t from, uint64_t to) {
  int rc;

  if (to <= from || !r->reserve)
    return 0;
  rc = posix_fallocate(fd, (off_t)from, (off_t)(to - from));
  return rc == 0 ? 0 : -rc;
}

/* The recorded fields of rec; the live counts and unlink state are the
 * segment's own members (registry.h), never read from rec. */
static void set_record(struct segment *s, const struct proto_segment *rec) {
  s->rec = *rec;
  s->rec.name[sizeof s->rec.name - 1] = '\0';
  s->rec.views = s->rec.writable_views = 0;
  s->rec.unlinked = s->rec.restricted = false;
  s->rec.unlink_id = 0;
}

/* A sealed segment's memfd, sized, reserved and sealed: its descriptor or
 * -errno. Its label ("<prefix>.<name>", shown in /proc/PID/fd) names it
 * to whoever looks; nothing opens it by that name. */
static int create_memfd(const struct registry *r, const char *name, uint64_t size) {
  char label[NAME_MAX + 2];
  int fd, rc;

  registry_object_name(r, name, label, sizeof label);
  fd = memfd_create(label + 1, MFD_ALLOW_SEALING | MFD_CLOEXEC | MFD_NOEXEC_SEAL);
  if (fd < 0 && errno == EINVAL)
    fd = memfd_create(label + 1, MFD_ALLOW_SEALING | MFD_CLOEXEC);
  if (fd < 0)
    return -errno;
  /* The owner is already the daemon's euid and egid, as for shm_open. */
  rc = fchmod(fd, TRUST_OBJECT_MODE) == 0 ? 0 : -errno;
  if (rc == 0)
    rc = ftruncate(fd, (off_t)size) == 0 ? 0 : -errno;
  if (rc == 0)
    rc = reserve(r, fd, 0, size);
  if (rc == 0)
    rc = fcntl(fd, F_ADD_SEALS, SEALS_SIZE) == 0 ? 0 : -errno;
  if (rc < 0) {
    close(fd);
    return rc == -EFBIG ? -ENOSPC : rc;
  }
  return fd;
}

/* A sealed segment: its memfd, kept, and handed to the service manager's
 * store so that it outlives this daemon. */
static int create_sealed(struct registry *r, struct segment *s, const struct proto_segment *rec) {
  int fd = create_memfd(r, rec->name, rec->size);

  if (fd < 0)
    return fd;
  s->memfd = fd;
  fdstore_put(r->prefix, rec->name, fd);
  return 0;
}

int registry_create(struct registry *r, const struct proto_segment *rec, struct segment **out,
                    uid_t *foreign_uid) {
  const char *name = rec->name;
  uint64_t size = rec->size;
  char obj[NAME_MAX + 2];
  struct segment *s;
  int fd, rc;

  if (size > (uint64_t)INT64_MAX)
    return -EFBIG;
  s = segment_alloc();
  if (s == NULL)
    return -ENOMEM;
  if (rec->sealed) {
    rc = create_sealed(r, s, rec);
    if (rc < 0) {
      free(s);
      return rc;
    }
    fd = -1; /* opens duplicate or reopen s->memfd: nothing to cache */
    goto made;
  }
  registry_object_name(r, name, obj, sizeof obj);
  fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, TRUST_OBJECT_MODE);
  if (fd < 0) {
    struct stat st;
    char desc[128];

    rc = -errno;
    free(s);
    /* Not ours (it would be in the registry): someone planted it, and it
     * is left alone. Name its owner, the one to ask about it. */
    if (rc == -EEXIST) {
      char path[sizeof TRUST_SHM_DIR + NAME_MAX + 2];

      snprintf(path, sizeof path, TRUST_SHM_DIR "%s", obj);
      if (lstat(path, &st) == 0) {
        trust_describe(&st, desc, sizeof desc);
        log_warn("create %s: %s already exists and is not the daemon's (%s); leaving it alone",
                 name, path, desc);
        if (foreign_uid != NULL)
          *foreign_uid = st.st_uid;
      }
    }
    return rc;
  }
  rc = ftruncate(fd, (off_t)size) == 0 ? 0 : -errno;
  if (rc == 0)
    rc = reserve(r, fd, 0, size);
  if (rc < 0) {
    close(fd);
    shm_unlink(obj);
    free(s);
    return rc == -EFBIG ? -ENOSPC : rc;
  }

made:
  set_record(s, rec);
  /* Its writable descriptor, for the open that usually follows a create. */
  if (fd < 0)
    ;
  else if (r->fd_cache_max > 0)
    fd_cache_use(r, s, fd, true);
  else
    close(fd);
  s->refs = 1;
  s->linked = true;
  RB_INSERT(segment_tree, &r->by_name, s);
  r->count++;
  r->bytes += size;
  usage_add(r, rec->uid, (int64_t)size, 1, 0);
  *out = s;
  return 0;
}

int registry_adopt(struct registry *r, const struct proto_segment *rec, struct segment **out) {
  struct segment *s;

  if (registry_find(r, rec->name) != NULL)
    return -EEXIST;
  s = segment_alloc();
  if (s == NULL)
    return -ENOMEM;
  set_record(s, rec);
  s->refs = 1;
  s->linked = true;
  s->adopted = true;
  RB_INSERT(segment_tree, &r->by_name, s);
  r->count++;
  r->bytes += rec->size;
  usage_add(r, rec->uid, (int64_t)rec->size, 1, 0);
  if (out != NULL)
    *out = s;
  return 0;
}

int registry_adopt_memfd(struct segment *s, int fd, char *why, size_t cap) {
  struct stat st;
  int seals = fcntl(fd, F_GET_SEALS);

  /* Only a memfd (or hugetlbfs file) has seals: F_GET_SEALS says which. */
  if (seals < 0) {
    snprintf(why, cap, "not a memfd (%s)", strerror(errno));
    return -EINVAL;
  }
  if ((seals & SEALS_SIZE) != SEALS_SIZE) {
    snprintf(why, cap, "its size is not sealed (seals %#x)", (unsigned)seals);
    return -EINVAL;
  }
  if (fstat(fd, &st) != 0 || (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR) {
    snprintf(why, cap, "not a read-write descriptor");
    return -EINVAL;
  }
  if (st.st_uid != geteuid() || (st.st_mode & 07777) != TRUST_OBJECT_MODE) {
    snprintf(why, cap, "owned by uid %u, mode %04o", (unsigned)st.st_uid,
             (unsigned)(st.st_mode & 07777));
    return -EPERM;
  }
  if ((uint64_t)st.st_size != s->rec.size) {
    snprintf(why, cap, "%lld bytes, not the %llu recorded", (long long)st.st_size,
             (unsigned long long)s->rec.size);
    return -EINVAL;
  }
  s->memfd = fd;
  return 0;
}

int registry_seal_write(struct segment *s) {
  if (s->memfd < 0)
    return 0;
  return fcntl(s->memfd, F_ADD_SEALS, F_SEAL_WRITE) == 0 ? 0 : -errno;
}

void registry_forget(struct registry *r, struct segment *s) {
  RB_REMOVE(segment_tree, &r->by_name, s);
  r->count--;
  r->bytes -= s->rec.size;
  usage_add(r, s->rec.uid, -(int64_t)s->rec.size, -1, 0);
  segment_free(r, s);
}

void registry_set_size(struct registry *r, struct segment *s, uint64_t size) {
  r->bytes = r->bytes - s->rec.size + size;
  usage_add(r, s->rec.uid, (int64_t)size - (int64_t)s->rec.size, 0, 0);
  s->rec.size = size;
}

void registry_set_owner(struct registry *r, struct segment *s, uid_t uid) {
  if (uid == s->rec.uid)
    return;
  usage_add(r, s->rec.uid, -(int64_t)s->rec.size, -1, 0);
  usage_add(r, uid, (int64_t)s->rec.size, 1, 0);
  s->rec.uid = uid;
}

int registry_resize(struct registry *r, struct segment *s, uint64_t size) {
  char obj[NAME_MAX + 2];
  int fd, rc;

  if (size > (uint64_t)INT64_MAX)
    return -EFBIG;
  if (size == s->rec.size)
    return 0;
  if (s->memfd >= 0)
    return -EPERM; /* sealed: the kernel would refuse it too */
  registry_object_name(r, s->rec.name, obj, sizeof obj);
  fd = shm_open(obj, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  rc = ftruncate(fd, (off_t)size) == 0 ? 0 : -errno;
  if (rc == 0 && size > s->rec.size) {
    rc = reserve(r, fd, s->rec.size, size);
    if (rc < 0 && ftruncate(fd, (off_t)s->rec.size) != 0)
      log_error("resize %s: cannot restore size after failed grow: %s", s->rec.name,
                strerror(errno));
  }
  close(fd);
  if (rc < 0)
    return rc == -EFBIG ? -ENOSPC : rc;
  r->bytes = r->bytes - s->rec.size + size;
  usage_add(r, s->rec.uid, (int64_t)size - (int64_t)s->rec.size, 0, 0);
  s->rec.size = size;
  return 0;
}

int registry_unlink(struct registry *r, struct segment *s) {
  char obj[NAME_MAX + 2];

  if (s->memfd >= 0) {
    fdstore_remove(r->prefix, s->rec.name); /* its memory goes with its last holder */
  } else {
    registry_object_name(r, s->rec.name, obj, sizeof obj);
    if (shm_unlink(obj) != 0 && errno != ENOENT)
      return -errno;
  }
  RB_REMOVE(segment_tree, &r->by_name, s);
  fd_cache_drop(r, s); /* no open reaches it by name any more */
  s->linked = false;
  s->unlink_id = ++r->next_unlink_id;
  RB_INSERT(unlinked_tree, &r->unlinked, s);
  r->count--;
  usage_add(r, s->rec.uid, 0, -1, 0);
  segment_unref(r, s);
  return 0;
}

int registry_object_size(struct registry *r, const struct segment *s, int fd, uint64_t *size) {
  char obj[NAME_MAX + 2], path[NAME_MAX + 16];
  struct stat st;
  int rc;

  if (fd < 0 && s->memfd >= 0)
    fd = s->memfd;
  if (fd >= 0) {
    rc = fstat(fd, &st);
  } else {
    registry_object_name(r, s->rec.name, obj, sizeof obj);
    snprintf(path, sizeof path, "/dev/shm%s", obj);
    rc = stat(path, &st);
  }
  if (rc != 0)
    return -errno;
  *size = (uint64_t)st.st_size;
  return 0;
}

int registry_restore_size(struct registry *r, const struct segment *s) {
  char obj[NAME_MAX + 2];
  int fd, rc;

  if (s->memfd >= 0)
    return 0; /* sealed: nobody changed its size */
  registry_object_name(r, s->rec.name, obj, sizeof obj);
  fd = shm_open(obj, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  rc = ftruncate(fd, (off_t)s->rec.size) == 0 ? 0 : -errno;
  if (rc == 0)
    rc = reserve(r, fd, 0, s->rec.size);
  close(fd);
  return rc;
}

/* A read-only descriptor of a sealed segment's memfd: a reopen through
 * /proc (the only way to a read-only open file description of a memfd),
 * which the memfd's owner and mode allow the daemon alone. */
static int memfd_reopen_ro(int memfd) {
  char path[32];

  snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
  return open(path, O_RDONLY | O_CLOEXEC);
}

int registry_open_fd(struct registry *r, struct segment *s, bool writable) {
  int kept = writable ? s->fd_rw : s->fd_ro, fd;

  /* The memfd is kept anyway: a writable open shares it, as every
   * writable open of a plain segment shares its kept descriptor. */
  if (s->memfd >= 0 && writable) {
    fd = fcntl(s->memfd, F_DUPFD_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
  }
  if (kept < 0) {
    char obj[NAME_MAX + 2];

    if (s->memfd >= 0) {
      fd = memfd_reopen_ro(s->memfd);
    } else {
      registry_object_name(r, s->rec.name, obj, sizeof obj);
      fd = shm_open(obj, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
    }
    if (fd < 0)
      return -errno;
    if (r->fd_cache_max == 0)
      return fd;
    kept = fd;
  }
  fd_cache_use(r, s, kept, writable);
  fd = fcntl(kept, F_DUPFD_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

void segment_ref(struct segment *s) {
  s->refs++;
}

void segment_unref(struct registry *r, struct segment *s) {
  if (--s->refs > 0)
    return;
  if (s->unlink_id != 0)
    RB_REMOVE(unlinked_tree, &r->unlinked, s);
  r->bytes -= s->rec.size;
  usage_add(r, s->rec.uid, -(int64_t)s->rec.size, 0, 0);
  segment_free(r, s);
}

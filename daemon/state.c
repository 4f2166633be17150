/* SPDX-License-Identifier: MIT */
/*
 * state.c: the state file. See state.h.
 *
 * Format, one record per line:
 *
 *   shmview-state 1
 *   ? NAME SIZE UID GID MODE(octal) CREATED_SEC CREATED_NSEC   (a create begins)
 *   + NAME SIZE UID GID MODE(octal) CREATED_SEC CREATED_NSEC[ frozen]   (a segment)
 *   = NAME SIZE
 *   - NAME
 *   F NAME                                                     (it was frozen)
 *   v NAME PID START VIEWS WRITABLE                            (a hold, lease.h;
 *                                                               VIEWS 0: it ended)
 *
 * A snapshot has only '+' and 'v' lines; appends add any kind. Loading
 * replays the lines in order, then checks each record against its object
 * in /dev/shm: an object is believed only if it looks exactly like one the
 * daemon makes (trust.h), and its size is the object's. A '?' that no '+'
 * or '-' followed is a create the daemon died in: its object, if ours, is
 * removed (the client never had an answer).
 *
 * Every file here is opened relative to the directory descriptor, which
 * main.c checked is the daemon's and writable by no one else, and with
 * O_NOFOLLOW; the temporary file with O_EXCL.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "trust.h"

#define STATE_MAGIC   "shmview-state 1"
/* Rewrite the file once this many lines were appended (and they outnumber
 * the live records twice), so replay stays proportional to the registry. */
#define COMPACT_AFTER 1024

struct state {
  int dirfd;               /* the file's directory, checked */
  int shmdir;              /* /dev/shm */
  char path[PATH_MAX];     /* for log lines */
  char base[NAME_MAX + 1]; /* the file's name in dirfd */
  char tmp[NAME_MAX + 1];  /* base.tmp */
  int fd;                  /* O_APPEND */
  off_t size;              /* what the file holds: a failed append is cut back to it */
  uint64_t appended;
  struct registry *r;
  struct lease_table *lt;
};

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* "K NAME SIZE UID GID MODE SEC NSEC[ ephemeral][ frozen]": a flag word is
 * written only when set, so other records keep their old form. */
static int format_segment(char *buf, size_t cap, char kind, const struct segment *s) {
  return snprintf(buf, cap, "%c %s %" PRIu64 " %u %u %o %lld %ld%s%s\n", kind, s->name, s->size,
                  (unsigned)s->uid, (unsigned)s->gid, s->mode, (long long)s->created.tv_sec,
                  (long)s->created.tv_nsec, s->ephemeral ? " ephemeral" : "",
                  s->frozen ? " frozen" : "");
}

static int format_hold(char *buf, size_t cap, const struct hold *h) {
  uint32_t views = h->views + h->kept_views, writable = h->writable + h->kept_writable;

  return snprintf(buf, cap, "v %s %d %" PRIu64 " %u %u\n", h->seg->name, (int)h->pid, h->start,
                  views, writable);
}

/* Make base.tmp, ours alone: O_EXCL, never through a link. A leftover one
 * of ours (a daemon died mid-snapshot) is removed first; one that is not
 * ours is refused. */
static int open_tmp(struct state *st) {
  for (int tries = 0; tries < 2; tries++) {
    int fd = openat(st->dirfd, st->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat sb;
    char desc[128];

    if (fd >= 0 || errno != EEXIST)
      return fd >= 0 ? fd : -errno;
    if (fstatat(st->dirfd, st->tmp, &sb, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    if (sb.st_uid != geteuid()) {
      trust_describe(&sb, desc, sizeof desc);
      log_error("state file %s.tmp exists and is not the daemon's (%s); remove it", st->path, desc);
      return -EEXIST;
    }
    log_info("removing a leftover %s.tmp", st->path);
    if (unlinkat(st->dirfd, st->tmp, 0) != 0)
      return -errno;
  }
  return -EEXIST;
}

/* Write every linked segment and every hold to base.tmp, fsync, rename
 * over base and reopen it for appending. On any error the old file stays
 * as it was (and in use), the temporary one is removed, and the error is
 * logged. */
static int snapshot(struct state *st) {
  char line[PROTO_NAME_MAX + 128];
  struct segment *s;
  struct hold *h;
  off_t size = 0;
  FILE *f;
  int fd, nfd, rc = 0;

  fd = open_tmp(st);
  if (fd < 0) {
    rc = fd;
    log_error("state file %s: cannot create %s.tmp: %s; keeping the previous file", st->path,
              st->path, strerror(-rc));
    return rc;
  }
  f = fdopen(fd, "w");
  if (f == NULL) {
    rc = -errno;
    close(fd);
    goto fail;
  }
#define PUT(...)                      \
  do {                                \
    int n_ = fprintf(f, __VA_ARGS__); \
    if (n_ < 0) {                     \
      rc = errno ? -errno : -EIO;     \
      goto close_fail;                \
    }                                 \
    size += n_;                       \
  } while (0)
  errno = 0;
  PUT("%s\n", STATE_MAGIC);
  for (s = registry_first_after(st->r, ""); s != NULL; s = registry_next(st->r, s)) {
    format_segment(line, sizeof line, '+', s);
    PUT("%s", line);
  }
  lease_prune_holds(st->lt, st->r);
  for (h = lease_hold_first(st->lt); h != NULL; h = lease_hold_next(st->lt, h)) {
    if (!h->seg->linked)
      continue;
    format_hold(line, sizeof line, h);
    PUT("%s", line);
  }
#undef PUT
  if (fflush(f) != 0 || ferror(f)) {
    rc = errno ? -errno : -EIO;
    goto close_fail;
  }
  if (fsync(fd) != 0) {
    rc = -errno;
    goto close_fail;
  }
  if (fclose(f) != 0) {
    rc = -errno;
    goto fail;
  }
  if (renameat(st->dirfd, st->tmp, st->dirfd, st->base) != 0) {
    rc = -errno;
    goto fail;
  }
  fsync(st->dirfd); /* the rename itself durable */
  for (h = lease_hold_first(st->lt); h != NULL; h = lease_hold_next(st->lt, h))
    if (h->seg->linked)
      lease_hold_recorded(h);

  nfd = openat(st->dirfd, st->base, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  if (nfd < 0) {
    rc = -errno;
    log_error("state file %s: cannot reopen it: %s", st->path, strerror(-rc));
    return rc;
  }
  if (st->fd >= 0)
    close(st->fd);
  st->fd = nfd;
  st->size = size;
  st->appended = 0;
  return 0;

close_fail:
  fclose(f);
fail:
  unlinkat(st->dirfd, st->tmp, 0);
  log_error("state file %s: cannot rewrite it: %s; keeping the previous file", st->path,
            strerror(-rc));
  return rc;
}

int state_compact(struct state *st) {
  if (st == NULL)
    return 0;
  return snapshot(st);
}

static int append(struct state *st, const char *line);

/* Past this many, one rewrite is cheaper than a line each. */
#define STALE_LINES_MAX 64

int state_drop_stale(struct state *st) {
  char line[PROTO_NAME_MAX + 96];
  struct hold *h;
  int rc = 0;

  if (st == NULL)
    return 0;
  if (st->lt->stale_count > STALE_LINES_MAX)
    return snapshot(st);
  while (rc == 0 && (h = lease_stale_first(st->lt)) != NULL) {
    snprintf(line, sizeof line, "v %s %d %" PRIu64 " 0 0\n", h->seg->name, (int)h->pid, h->start);
    rc = append(st, line);
    /* A rewrite inside append (appended back to 0) has dropped it already. */
    if (rc == 0 && st->appended != 0)
      lease_stale_dropped(st->lt, st->r, h);
  }
  return rc;
}

/* Append one line. A failed write is cut back off the file (so a torn line
 * cannot swallow the next one), logged, and returned: the caller refuses
 * the change it stood for. */
static int append(struct state *st, const char *line) {
  size_t len = strlen(line);
  int rc;

  if (st == NULL)
    return 0;
  rc = st->fd >= 0 ? write_all(st->fd, line, len) : -EBADF;
  if (rc < 0) {
    if (st->fd >= 0 && ftruncate(st->fd, st->size) != 0)
      log_error("state file %s: cannot cut back a failed append: %s", st->path, strerror(errno));
    log_error("state file %s: cannot append: %s", st->path, strerror(-rc));
    return rc;
  }
  st->size += (off_t)len;
  st->appended++;
  if (st->appended > COMPACT_AFTER && st->appended > 2 * (st->r->count + st->lt->hold_count))
    snapshot(st); /* on failure the appended file is still whole */
  return 0;
}

int state_creating(struct state *st, const struct segment *s) {
  char line[PROTO_NAME_MAX + 128];

  format_segment(line, sizeof line, '?', s);
  return append(st, line);
}

int state_created(struct state *st, const struct segment *s) {
  char line[PROTO_NAME_MAX + 128];

  format_segment(line, sizeof line, '+', s);
  return append(st, line);
}

int state_resized(struct state *st, const char *name, uint64_t size) {
  char line[PROTO_NAME_MAX + 64];

  snprintf(line, sizeof line, "= %s %" PRIu64 "\n", name, size);
  return append(st, line);
}

int state_unlinked(struct state *st, const char *name) {
  char line[PROTO_NAME_MAX + 8];

  snprintf(line, sizeof line, "- %s\n", name);
  return append(st, line);
}

int state_frozen(struct state *st, const char *name) {
  char line[PROTO_NAME_MAX + 8];

  snprintf(line, sizeof line, "F %s\n", name);
  return append(st, line);
}

int state_held(struct state *st, struct hold *h) {
  char line[PROTO_NAME_MAX + 96];
  int rc;

  format_hold(line, sizeof line, h);
  rc = append(st, line);
  if (rc == 0)
    lease_hold_recorded(h);
  return rc;
}

/* ---- loading ---- */

/* Names whose create began ('?') and did not end ('+' or '-'). */
struct pending {
  struct pending *next;
  char name[PROTO_NAME_MAX + 1];
};

struct replay {
  struct state *st;
  struct pending *pending;
  bool loaded;      /* a state file of ours was read */
  size_t whole_len; /* its bytes up to the last complete line */
};

static void pending_set(struct replay *rp, const char *name, bool on) {
  struct pending **pp, *p;

  for (pp = &rp->pending; *pp != NULL; pp = &(*pp)->next) {
    if (strcmp((*pp)->name, name) == 0) {
      if (!on) {
        p = *pp;
        *pp = p->next;
        free(p);
      }
      return;
    }
  }
  if (on && (p = calloc(1, sizeof *p)) != NULL) {
    snprintf(p->name, sizeof p->name, "%s", name);
    p->next = rp->pending;
    rp->pending = p;
  }
}

static void forget(struct state *st, struct segment *s) {
  lease_segment_forget(st->lt, st->r, s);
  registry_forget(st->r, s);
}

/* Apply one line; returns false if it is malformed. */
static bool replay_line(struct replay *rp, const char *line) {
  struct registry *r = rp->st->r;
  char name[PROTO_NAME_MAX + 1];
  unsigned long long size, start;
  unsigned uid, gid, mode, views, writable;
  long long sec;
  long nsec;
  int pid;
  struct segment *s;
  char tail;

  switch (line[0]) {
  case '?':
  case '+': {
    struct timespec created;
    char flag[16];
    char flag2[16];
    int n;

    n = sscanf(line + 1, " %200s %llu %u %u %o %lld %ld %15s %15s%c", name, &size, &uid, &gid,
               &mode, &sec, &nsec, flag, flag2, &tail);
    bool ephemeral = (n >= 8 && strcmp(flag, "ephemeral") == 0);
    bool frozen = (n == 8 && strcmp(flag, "frozen") == 0) || (n == 9 && strcmp(flag2, "frozen") == 0);
    if (n < 7 || n > 9 || (n >= 8 && !ephemeral && !frozen) || (n == 9 && !(ephemeral && frozen)) ||
        !proto_name_valid(name) ||
        mode > 0777 || nsec < 0 || nsec >= 1000000000L)
      return false;
    if (line[0] == '?') {
      pending_set(rp, name, true);
      return true;
    }
    pending_set(rp, name, false);
    s = registry_find(r, name);
    if (s != NULL)
      forget(rp->st, s);
    created.tv_sec = (time_t)sec;
    created.tv_nsec = nsec;
    if (registry_adopt(r, name, size, (uid_t)uid, (gid_t)gid, mode, created, &s) != 0)
      return false;
    s->ephemeral = ephemeral;
    s->frozen = frozen;
    return true;
  }
  case 'F':
    if (sscanf(line, "F %200s%c", name, &tail) != 1)
      return false;
    s = registry_find(r, name);
    if (s != NULL)
      s->frozen = true;
    return true;
  case '=':
    if (sscanf(line, "= %200s %llu%c", name, &size, &tail) != 2)
      return false;
    s = registry_find(r, name);
    if (s != NULL)
      registry_set_size(r, s, size);
    return true;
  case '-':
    if (sscanf(line, "- %200s%c", name, &tail) != 1)
      return false;
    pending_set(rp, name, false);
    s = registry_find(r, name);
    if (s != NULL)
      forget(rp->st, s);
    return true;
  case 'v':
    if (sscanf(line, "v %200s %d %llu %u %u%c", name, &pid, &start, &views, &writable, &tail) !=
            5 ||
        pid <= 0)
      return false;
    s = registry_find(r, name);
    if (s != NULL)
      lease_hold_restore(rp->st->lt, r, s, (pid_t)pid, (uint64_t)start, views, writable);
    return true;
  default: return false;
  }
}

/* suffix: ".untrusted" (not ours) or ".corrupt" (not a state file). */
static void set_aside(struct state *st, const char *why, const char *suffix) {
  char aside[NAME_MAX + 1];

  snprintf(aside, sizeof aside, "%s%s", st->base, suffix);
  log_error("state file %s %s; moved to %s%s and not used: segments are adopted from "
            "/dev/shm with default owners",
            st->path, why, st->path, suffix);
  if (renameat(st->dirfd, st->base, st->dirfd, aside) != 0)
    log_error("cannot move %s aside: %s", st->path, strerror(errno));
}

/* The file's text, if it is one we wrote: a regular file of our euid that
 * no one else may write. Anything else is set aside. */
static char *read_state(struct state *st, size_t *len) {
  struct stat sb;
  char *buf, desc[160], why[200];
  size_t got = 0;
  int fd = openat(st->dirfd, st->base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0) {
    if (errno == ELOOP) {
      set_aside(st, "is a symbolic link", ".untrusted");
      return NULL;
    }
    if (errno != ENOENT)
      log_error("state file %s: cannot read: %s", st->path, strerror(errno));
    return NULL;
  }
  if (fstat(fd, &sb) != 0) {
    log_error("state file %s: cannot read: %s", st->path, strerror(errno));
    close(fd);
    return NULL;
  }
  if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
    close(fd);
    trust_describe(&sb, desc, sizeof desc);
    snprintf(why, sizeof why, "is not the daemon's own (%s)", desc);
    set_aside(st, why, ".untrusted");
    return NULL;
  }
  buf = malloc((size_t)sb.st_size + 1);
  while (buf != NULL && got < (size_t)sb.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  if (buf != NULL)
    buf[got] = '\0';
  *len = got;
  return buf;
}

/* Replay the file; a file that is not ours is set aside, not trusted. */
static void load(struct replay *rp) {
  struct state *st = rp->st;
  size_t len, lineno = 1;
  char *buf = read_state(st, &len), *line, *nl;

  if (buf == NULL)
    return;
  if (strncmp(buf, STATE_MAGIC "\n", sizeof STATE_MAGIC) != 0) {
    set_aside(st, "is not a shmview state file", ".corrupt");
    free(buf);
    return;
  }
  rp->loaded = true;
  line = buf + sizeof STATE_MAGIC;
  rp->whole_len = (size_t)(line - buf);
  while ((nl = strchr(line, '\n')) != NULL) {
    *nl = '\0';
    lineno++;
    if (!replay_line(rp, line))
      log_warn("state file %s:%zu: ignoring a malformed line", st->path, lineno);
    line = nl + 1;
    rp->whole_len = (size_t)(line - buf);
  }
  if (*line != '\0')
    log_warn("state file %s: ignoring an unfinished last line", st->path);
  free(buf);
}

/* Open "<prefix>.<name>" in /dev/shm, never through a link, and fstat it.
 * Returns 0 (sb filled), -ENOENT, or another -errno. */
static int stat_object(struct state *st, const char *name, struct stat *sb) {
  char obj[NAME_MAX + 1];
  int fd, rc = 0;

  snprintf(obj, sizeof obj, "%s.%s", st->r->prefix, name);
  fd = openat(st->shmdir, obj, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    /* A symbolic link (or something we may not open): describe it. */
    if (rc != -ENOENT && fstatat(st->shmdir, obj, sb, AT_SYMLINK_NOFOLLOW) == 0)
      return 0;
    return rc;
  }
  if (fstat(fd, sb) != 0)
    rc = -errno;
  close(fd);
  return rc;
}

static void log_foreign(const struct state *st, const char *name, const struct stat *sb,
                        const char *what) {
  char desc[128];

  trust_describe(sb, desc, sizeof desc);
  log_warn("segment %s: " TRUST_SHM_DIR "/%s.%s is not the daemon's (%s); %s", name, st->r->prefix,
           name, desc, what);
}

/* The objects are the truth: drop records whose object is gone or is not
 * ours, take sizes from the objects. */
static void check_objects(struct state *st) {
  struct segment *s, *next;
  struct stat sb;

  for (s = registry_first_after(st->r, ""); s != NULL; s = next) {
    next = registry_next(st->r, s);
    if (stat_object(st, s->name, &sb) != 0) {
      log_warn("segment %s: its shared-memory object " TRUST_SHM_DIR "/%s.%s is gone; "
               "dropping it",
               s->name, st->r->prefix, s->name);
      forget(st, s);
      continue;
    }
    if (!trust_object_ok(&sb)) {
      log_foreign(st, s->name, &sb, "dropping its record and leaving the object alone");
      forget(st, s);
      continue;
    }
    if ((uint64_t)sb.st_size != s->size) {
      log_warn("segment %s: recorded size %" PRIu64 ", object size %lld; using the "
               "object's",
               s->name, s->size, (long long)sb.st_size);
      registry_set_size(st->r, s, (uint64_t)sb.st_size);
    }
  }
}

/* Creates the daemon died in: their objects (if ours) go. */
static void finish_pending(struct replay *rp) {
  struct state *st = rp->st;
  struct pending *p;
  struct stat sb;

  while ((p = rp->pending) != NULL) {
    rp->pending = p->next;
    if (registry_find(st->r, p->name) == NULL && stat_object(st, p->name, &sb) == 0) {
      char obj[NAME_MAX + 1];

      snprintf(obj, sizeof obj, "%s.%s", st->r->prefix, p->name);
      if (!trust_object_ok(&sb))
        log_foreign(st, p->name, &sb, "leaving it alone");
      else if (unlinkat(st->shmdir, obj, 0) == 0)
        log_warn("segment %s: its create did not complete (the daemon stopped during it); "
                 "removed " TRUST_SHM_DIR "/%s",
                 p->name, obj);
      else
        log_error("segment %s: cannot remove the object of an unfinished create: %s", p->name,
                  strerror(errno));
    }
    free(p);
  }
}

/* Objects with our prefix that no record names: keep the ones that are
 * ours, as the daemon's own with mode 0600; log and ignore the rest. */
static void adopt_orphans(struct state *st, gid_t gid) {
  size_t plen = strlen(st->r->prefix);
  int fd = openat(st->shmdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd < 0 ? NULL : fdopendir(fd);
  struct dirent *e;

  if (dir == NULL) {
    log_error("cannot scan " TRUST_SHM_DIR ": %s", strerror(errno));
    if (fd >= 0)
      close(fd);
    return;
  }
  while ((e = readdir(dir)) != NULL) {
    const char *name = e->d_name + plen + 1;
    struct stat sb;

    if (strncmp(e->d_name, st->r->prefix, plen) != 0 || e->d_name[plen] != '.' ||
        !proto_name_valid(name) || registry_find(st->r, name) != NULL)
      continue;
    if (stat_object(st, name, &sb) != 0)
      continue;
    if (!trust_object_ok(&sb)) {
      log_foreign(st, name, &sb, "leaving it alone (not adopted, not counted)");
      continue;
    }
    if (registry_adopt(st->r, name, (uint64_t)sb.st_size, geteuid(), gid, TRUST_OBJECT_MODE,
                       sb.st_mtim, NULL) == 0)
      log_warn("segment %s: found " TRUST_SHM_DIR "/%s with no record; adopted it as uid %u, "
               "mode 0600",
               name, e->d_name, (unsigned)geteuid());
  }
  closedir(dir);
}

/* The fresh snapshot could not be written (a full file system): go on
 * appending to the file just loaded, without its torn last line if any.
 * What start-up corrected (dropped records, adopted objects) is corrected
 * the same way at the next start. */
static int keep_previous(struct state *st, size_t whole_len) {
  int fd = openat(st->dirfd, st->base, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0 || ftruncate(fd, (off_t)whole_len) != 0) {
    int rc = -errno;

    if (fd >= 0)
      close(fd);
    return rc;
  }
  log_error("state file %s: appending to the previous file; changes that cannot be recorded "
            "will be refused",
            st->path);
  st->fd = fd;
  st->size = (off_t)whole_len;
  return 0;
}

int state_open(struct state **out, int dirfd, const char *path, int shmdir, struct registry *r,
               struct lease_table *lt, gid_t gid, size_t *adopted) {
  char dir[PATH_MAX];
  const char *base = trust_split(path, dir, sizeof dir);
  struct state *st;
  struct replay rp;
  int rc;

  if (strlen(base) + sizeof ".untrusted" > NAME_MAX + 1 || strlen(path) >= PATH_MAX ||
      base[0] == '\0')
    return -ENAMETOOLONG;
  st = calloc(1, sizeof *st);
  if (st == NULL)
    return -ENOMEM;
  snprintf(st->path, sizeof st->path, "%s", path);
  snprintf(st->base, sizeof st->base, "%s", base);
  snprintf(st->tmp, sizeof st->tmp, "%s.tmp", base);
  st->dirfd = dirfd;
  st->shmdir = shmdir;
  st->fd = -1;
  st->r = r;
  st->lt = lt;
  memset(&rp, 0, sizeof rp);
  rp.st = st;
  load(&rp);
  check_objects(st);
  finish_pending(&rp);
  adopt_orphans(st, gid);
  rc = snapshot(st);
  if (rc < 0 && rp.loaded)
    rc = keep_previous(st, rp.whole_len);
  if (rc < 0) {
    if (st->fd >= 0)
      close(st->fd);
    free(st);
    return rc;
  }
  *adopted = (size_t)r->count;
  *out = st;
  return 0;
}

void state_close(struct state *st) {
  if (st == NULL)
    return;
  if (st->fd >= 0)
    close(st->fd);
  close(st->dirfd);
  free(st);
}

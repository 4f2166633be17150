/* SPDX-License-Identifier: MIT */
/*
 * state.c: the state file. See state.h.
 *
 * Format, one record per line:
 *
 *   shmview-state 1
 *   + NAME SIZE UID GID MODE(octal) CREATED_SEC CREATED_NSEC
 *   = NAME SIZE
 *   - NAME
 *
 * A snapshot has only '+' lines; appends add any kind. Loading replays the
 * lines in order, then trusts /dev/shm over the file: the objects are the
 * data, the file only their metadata.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"

#define STATE_MAGIC   "shmview-state 1"
#define SHM_DIR       "/dev/shm"
/* Rewrite the file once this many lines were appended (and they outnumber
 * the live segments twice), so replay stays proportional to the registry. */
#define COMPACT_AFTER 1024

struct state {
  char path[PATH_MAX];
  int fd; /* O_APPEND */
  uint64_t appended;
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

static int format_segment(char *buf, size_t cap, const struct segment *s) {
  return snprintf(buf, cap, "+ %s %" PRIu64 " %u %u %o %lld %ld\n", s->name, s->size,
                  (unsigned)s->uid, (unsigned)s->gid, s->mode, (long long)s->created.tv_sec,
                  (long)s->created.tv_nsec);
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_dir_of(const char *path) {
  char copy[PATH_MAX];
  int fd;

  snprintf(copy, sizeof copy, "%s", path);
  fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* Write every linked segment to path.tmp, fsync, rename over path, and
 * reopen it for appending. */
static int snapshot(struct state *st, struct registry *r) {
  char tmp[PATH_MAX + 8], line[PROTO_NAME_MAX + 128];
  struct segment *s;
  FILE *f;
  int fd, rc = 0;

  snprintf(tmp, sizeof tmp, "%s.tmp", st->path);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return -errno;
  f = fdopen(fd, "w");
  if (f == NULL) {
    rc = -errno;
    close(fd);
    unlink(tmp);
    return rc;
  }
  fprintf(f, "%s\n", STATE_MAGIC);
  for (s = registry_first_after(r, ""); s != NULL; s = registry_next(r, s)) {
    format_segment(line, sizeof line, s);
    fputs(line, f);
  }
  if (fflush(f) != 0 || fsync(fd) != 0)
    rc = -errno;
  if (fclose(f) != 0 && rc == 0)
    rc = -errno;
  if (rc == 0 && rename(tmp, st->path) != 0)
    rc = -errno;
  if (rc < 0) {
    unlink(tmp);
    return rc;
  }
  sync_dir_of(st->path);

  if (st->fd >= 0)
    close(st->fd);
  st->fd = open(st->path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (st->fd < 0)
    return -errno;
  st->appended = 0;
  return 0;
}

static void append(struct state *st, struct registry *r, const char *line) {
  int rc;

  if (st == NULL)
    return;
  rc = st->fd >= 0 ? write_all(st->fd, line, strlen(line)) : -EBADF;
  if (rc < 0)
    log_error("state file %s: cannot append: %s", st->path, strerror(-rc));
  st->appended++;
  if (rc < 0 || (st->appended > COMPACT_AFTER && st->appended > 2 * r->count)) {
    rc = snapshot(st, r);
    if (rc < 0)
      log_error("state file %s: cannot rewrite: %s; segment metadata may not survive "
                "a restart",
                st->path, strerror(-rc));
  }
}

void state_created(struct state *st, struct registry *r, const struct segment *s) {
  char line[PROTO_NAME_MAX + 128];

  format_segment(line, sizeof line, s);
  append(st, r, line);
}

void state_resized(struct state *st, struct registry *r, const struct segment *s) {
  char line[PROTO_NAME_MAX + 64];

  snprintf(line, sizeof line, "= %s %" PRIu64 "\n", s->name, s->size);
  append(st, r, line);
}

void state_unlinked(struct state *st, struct registry *r, const char *name) {
  char line[PROTO_NAME_MAX + 8];

  snprintf(line, sizeof line, "- %s\n", name);
  append(st, r, line);
}

/* ---- loading ---- */

static char *read_file(const char *path, size_t *len) {
  struct stat stb;
  char *buf;
  size_t got = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return NULL;
  if (fstat(fd, &stb) != 0 || stb.st_size < 0) {
    close(fd);
    return NULL;
  }
  buf = malloc((size_t)stb.st_size + 1);
  while (buf != NULL && got < (size_t)stb.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)stb.st_size - got);

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

/* Apply one line; returns false if it is malformed. */
static bool replay_line(struct registry *r, const char *line) {
  char name[PROTO_NAME_MAX + 1];
  unsigned long long size;
  unsigned uid, gid, mode;
  long long sec;
  long nsec;
  struct segment *s;
  char tail;

  switch (line[0]) {
  case '+': {
    struct timespec created;

    if (sscanf(line, "+ %200s %llu %u %u %o %lld %ld%c", name, &size, &uid, &gid, &mode, &sec,
               &nsec, &tail) != 7 ||
        !proto_name_valid(name) || mode > 0777 || nsec < 0 || nsec >= 1000000000L)
      return false;
    s = registry_find(r, name);
    if (s != NULL)
      registry_forget(r, s);
    created.tv_sec = (time_t)sec;
    created.tv_nsec = nsec;
    return registry_adopt(r, name, size, (uid_t)uid, (gid_t)gid, mode, created, NULL) == 0;
  }
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
    s = registry_find(r, name);
    if (s != NULL)
      registry_forget(r, s);
    return true;
  default: return false;
  }
}

/* Replay the file; a file that is not ours is set aside, not trusted. */
static void load(const char *path, struct registry *r) {
  size_t len, lineno = 1;
  char *buf = read_file(path, &len), *line, *nl;

  if (buf == NULL) {
    if (errno != ENOENT)
      log_error("state file %s: cannot read: %s", path, strerror(errno));
    return;
  }
  if (strncmp(buf, STATE_MAGIC "\n", sizeof STATE_MAGIC) != 0) {
    char aside[PATH_MAX + 16];

    snprintf(aside, sizeof aside, "%s.corrupt", path);
    log_error("state file %s is not a shmview state file; moved to %s, segments "
              "will be adopted from /dev/shm with default owners",
              path, aside);
    if (rename(path, aside) != 0)
      log_error("cannot move %s aside: %s", path, strerror(errno));
    free(buf);
    return;
  }
  line = buf + sizeof STATE_MAGIC;
  while ((nl = strchr(line, '\n')) != NULL) {
    *nl = '\0';
    lineno++;
    if (!replay_line(r, line))
      log_warn("state file %s:%zu: ignoring a malformed line", path, lineno);
    line = nl + 1;
  }
  if (*line != '\0')
    log_warn("state file %s: ignoring an unfinished last line", path);
  free(buf);
}

/* The objects are the truth: drop records without one, fix sizes. */
static void check_objects(struct registry *r) {
  struct segment *s, *next;
  char path[PATH_MAX];
  struct stat stb;

  for (s = registry_first_after(r, ""); s != NULL; s = next) {
    next = registry_next(r, s);
    snprintf(path, sizeof path, SHM_DIR "/%s.%s", r->prefix, s->name);
    if (stat(path, &stb) != 0 || !S_ISREG(stb.st_mode)) {
      log_warn("segment %s: its shared-memory object %s is gone; dropping it", s->name, path);
      registry_forget(r, s);
      continue;
    }
    if ((uint64_t)stb.st_size != s->size) {
      log_warn("segment %s: recorded size %" PRIu64 ", object size %lld; using the "
               "object's",
               s->name, s->size, (long long)stb.st_size);
      registry_set_size(r, s, (uint64_t)stb.st_size);
    }
  }
}

/* Objects with our prefix that no record names: keep them, as ours. */
static void adopt_orphans(struct registry *r, uid_t uid, gid_t gid) {
  size_t plen = strlen(r->prefix);
  DIR *dir = opendir(SHM_DIR);
  struct dirent *e;

  if (dir == NULL) {
    log_error("cannot scan " SHM_DIR ": %s", strerror(errno));
    return;
  }
  while ((e = readdir(dir)) != NULL) {
    const char *name = e->d_name + plen + 1;
    struct stat stb;

    if (strncmp(e->d_name, r->prefix, plen) != 0 || e->d_name[plen] != '.' ||
        !proto_name_valid(name) || registry_find(r, name) != NULL)
      continue;
    if (fstatat(dirfd(dir), e->d_name, &stb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(stb.st_mode))
      continue;
    if (registry_adopt(r, name, (uint64_t)stb.st_size, uid, gid, 0600, stb.st_mtim, NULL) == 0)
      log_warn("segment %s: found %s/%s with no record; adopted it as uid %u, mode "
               "0600",
               name, SHM_DIR, e->d_name, (unsigned)uid);
  }
  closedir(dir);
}

int state_open(struct state **out, const char *path, struct registry *r, uid_t uid, gid_t gid,
               size_t *adopted) {
  struct state *st = calloc(1, sizeof *st);
  int rc;

  if (st == NULL)
    return -ENOMEM;
  if (strlen(path) >= sizeof st->path - 8) {
    free(st);
    return -ENAMETOOLONG;
  }
  snprintf(st->path, sizeof st->path, "%s", path);
  st->fd = -1;
  load(path, r);
  check_objects(r);
  adopt_orphans(r, uid, gid);
  rc = snapshot(st, r);
  if (rc < 0) {
    log_error("state file %s: cannot write: %s", path, strerror(-rc));
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
  free(st);
}

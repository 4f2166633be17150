/* SPDX-License-Identifier: MIT */
/*
 * trust.c: checks on files the daemon did not just create. See trust.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "trust.h"

bool trust_object_ok(const struct stat *st) {
  return S_ISREG(st->st_mode) && st->st_uid == geteuid() && st->st_nlink == 1 &&
         (st->st_mode & 07777) == TRUST_OBJECT_MODE;
}

void trust_describe(const struct stat *st, char *buf, size_t cap) {
  const char *kind = S_ISREG(st->st_mode)    ? ""
                     : S_ISLNK(st->st_mode)  ? ", a symbolic link"
                     : S_ISDIR(st->st_mode)  ? ", a directory"
                     : S_ISFIFO(st->st_mode) ? ", a fifo"
                                             : ", not a regular file";

  snprintf(buf, cap, "uid %u, mode %04o, %lu link%s%s", (unsigned)st->st_uid,
           (unsigned)(st->st_mode & 07777), (unsigned long)st->st_nlink,
           st->st_nlink == 1 ? "" : "s", kind);
}

int trust_shm_dir(void) {
  int fd = open(TRUST_SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0) {
    int rc = -errno;

    log_error("cannot open " TRUST_SHM_DIR ": %s", strerror(-rc));
    return rc;
  }
  return fd;
}

const char *trust_split(const char *path, char *dir, size_t cap) {
  const char *slash = strrchr(path, '/');

  if (slash == NULL) {
    snprintf(dir, cap, ".");
    return path;
  }
  if (slash == path)
    snprintf(dir, cap, "/");
  else
    snprintf(dir, cap, "%.*s", (int)(slash - path), path);
  return slash + 1;
}

/* What to do about a directory someone else may have planted. */
#define TRUST_PLANTED                                                                          \
  "another user may have made it to receive what clients send: have it removed (by its owner " \
  "or root), or give the daemon a socket in a directory of your own (--socket, "               \
  "XDG_RUNTIME_DIR)"

int trust_open_dir(const char *dir, bool create, const char *what) {
  struct stat st;
  char fallback[64], why[256];
  int fd, rc;

  /* /tmp/shmview-EUID: anyone may create that name, so it must be ours
   * alone, as the clients require (proto_private_dir_check). */
  proto_fallback_dir(geteuid(), fallback, sizeof fallback);
  bool private = strcmp(dir, fallback) == 0;

  fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create) {
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
      rc = -errno;
      log_error("cannot create the %s directory %s: %s", what, dir, strerror(-rc));
      return rc;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    rc = -errno;
    if (rc == -ELOOP || rc == -ENOTDIR) {
      /* Say what is there: "... is a symbolic link (owned by uid 65534)
       * to /tmp/x (owned by uid 65534), not a directory of uid 60001". */
      proto_private_dir_check(dir, geteuid(), why, sizeof why);
      log_error("refusing the %s directory: %s; %s", what, why,
                private ? TRUST_PLANTED : "name the directory itself, not a link to it");
    } else {
      log_error("cannot open the %s directory %s: %s", what, dir, strerror(-rc));
    }
    return rc == -ELOOP ? -ENOTDIR : rc;
  }
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    close(fd);
    return rc;
  }
  if (st.st_uid != geteuid() && (private || st.st_uid != 0)) {
    if (private)
      log_error("refusing the %s directory: directory %s is owned by uid %u, not %u (this "
                "daemon's uid); %s",
                what, dir, (unsigned)st.st_uid, (unsigned)geteuid(), TRUST_PLANTED);
    else
      log_error("refusing the %s directory: directory %s is owned by uid %u, not by this "
                "daemon's uid %u or root; its owner could replace the files in it",
                what, dir, (unsigned)st.st_uid, (unsigned)geteuid());
    close(fd);
    return -EPERM;
  }
  if (private && (st.st_mode & 077) != 0) {
    log_error("refusing the %s directory: directory %s has mode %04o, not 0700: it is open to "
              "other users; chmod 700 %s",
              what, dir, (unsigned)(st.st_mode & 07777), dir);
    close(fd);
    return -EPERM;
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    log_error("the %s directory %s is writable by %s (mode %04o); refusing to use it: give "
              "the daemon a directory only its user can write to (e.g. mode 0700 or 0755)",
              what, dir, (st.st_mode & S_IWOTH) ? "everyone" : "its group",
              (unsigned)(st.st_mode & 07777));
    close(fd);
    return -EPERM;
  }
  return fd;
}

static void lock_name(const char *prefix, char *buf, size_t cap) {
  /* Segment names never start with '.', and prefixes hold no '.': no
   * object of any prefix can be named this. */
  snprintf(buf, cap, "%s..lock", prefix);
}

int trust_lock_prefix(int shmdir, const char *prefix) {
  char name[NAME_MAX + 1], desc[128];
  struct stat st, now;

  lock_name(prefix, name, sizeof name);
  /* The file is normally there from an earlier run: a clean stop leaves it
   * (see trust_unlock_prefix). Should it vanish between our open and our
   * flock anyway (root removing it, a daemon of an older version exiting),
   * we would hold a lock on a nameless file; try again. */
  for (int tries = 0; tries < 16; tries++) {
    int fd = openat(shmdir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                    TRUST_OBJECT_MODE);
    int rc;

    if (fd < 0) {
      rc = -errno;
      if (fstatat(shmdir, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        trust_describe(&st, desc, sizeof desc);
        log_error("the prefix lock " TRUST_SHM_DIR "/%s is not this daemon's (%s); another "
                  "user's shmviewd may use the prefix '%s', or the file was planted: remove "
                  "it or give this daemon another --prefix",
                  name, desc, prefix);
        return -EPERM;
      }
      log_error("cannot create the prefix lock " TRUST_SHM_DIR "/%s: %s", name, strerror(-rc));
      return rc;
    }
    if (fstat(fd, &st) != 0 || !trust_object_ok(&st)) {
      trust_describe(&st, desc, sizeof desc);
      log_error("the prefix lock " TRUST_SHM_DIR "/%s is not this daemon's (%s); another "
                "user's shmviewd may use the prefix '%s', or the file was planted: remove it "
                "or give this daemon another --prefix",
                name, desc, prefix);
      close(fd);
      return -EPERM;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      rc = -errno;
      close(fd);
      if (rc == -EWOULDBLOCK)
        log_error("another shmviewd already uses the prefix '%s' (it holds " TRUST_SHM_DIR
                  "/%s; its segments are " TRUST_SHM_DIR "/%s.*); give this one another "
                  "--prefix",
                  prefix, name, prefix);
      else
        log_error("cannot lock " TRUST_SHM_DIR "/%s: %s", name, strerror(-rc));
      return rc;
    }
    if (fstatat(shmdir, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st.st_dev &&
        now.st_ino == st.st_ino)
      return fd;
    close(fd);
  }
  log_error("cannot take the prefix lock " TRUST_SHM_DIR "/%s: it keeps being replaced", name);
  return -EAGAIN;
}

void trust_unlock_prefix(int shmdir, const char *prefix, int fd) {
  /* The lock file stays: an unlocked file is harmless, and /dev/shm is
   * sticky, so while it is ours no other user can remove it or take its
   * name. Removing it would free the name for anyone to plant before our
   * next start, which would then refuse to start. */
  (void)shmdir;
  (void)prefix;
  if (fd >= 0)
    close(fd);
}

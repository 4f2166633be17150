/* SPDX-License-Identifier: MIT */
/*
 * names.c: segment name validation, socket path resolution and the
 * monotonic clock, shared by the daemon and the client so both always
 * agree.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

static bool name_char_ok(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool proto_name_valid(const char *name) {
  size_t i;

  if (name == NULL || name[0] == '\0' || name[0] == '.')
    return false;
  for (i = 0; name[i] != '\0'; i++) {
    if (i >= PROTO_NAME_MAX || !name_char_ok((unsigned char)name[i]))
      return false;
  }
  return true;
}

/* Copy the formatted path into buf if it fits both buf and sun_path. */
static int put_path(char *buf, size_t cap, const char *a, const char *b) {
  size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
  int n;

  if (buf == NULL || cap == 0)
    return -ENAMETOOLONG;
  n = snprintf(buf, cap, "%s%s", a, b);
  if (n < 0 || (size_t)n >= cap || (size_t)n >= max) {
    buf[0] = '\0';
    return -ENAMETOOLONG;
  }
  return 0;
}

bool proto_secure_mode(void) {
  return getauxval(AT_SECURE) != 0;
}

void proto_fallback_dir(uid_t uid, char *buf, size_t cap) {
  snprintf(buf, cap, "/tmp/shmview-%lu", (unsigned long)uid);
}

int proto_socket_resolve(const char *explicit_path, char *buf, size_t cap) {
  const char *env;
  char tmp[64];
  int rc;

  if (explicit_path != NULL && explicit_path[0] != '\0') {
    rc = put_path(buf, cap, explicit_path, "");
    return rc < 0 ? rc : PROTO_SOCKET_EXPLICIT;
  }
  /* A setuid or setgid program's environment is its invoker's, who must
   * not choose the daemon it sends its data to: the system's, only. */
  if (proto_secure_mode()) {
    rc = put_path(buf, cap, PROTO_SYSTEM_SOCKET, "");
    return rc < 0 ? rc : PROTO_SOCKET_SYSTEM;
  }
  env = secure_getenv("SHMVIEW_SOCKET");
  if (env != NULL && env[0] != '\0') {
    rc = put_path(buf, cap, env, "");
    return rc < 0 ? rc : PROTO_SOCKET_ENV;
  }
  if (geteuid() == 0) {
    rc = put_path(buf, cap, PROTO_SYSTEM_SOCKET, "");
    return rc < 0 ? rc : PROTO_SOCKET_SYSTEM;
  }
  env = secure_getenv("XDG_RUNTIME_DIR");
  if (env != NULL && env[0] != '\0') {
    rc = put_path(buf, cap, env, "/shmview.sock");
    return rc < 0 ? rc : PROTO_SOCKET_RUNTIME;
  }
  /* A directory of the user's own (0700, made by the daemon), as tmux's
   * /tmp/tmux-UID/: a file straight in /tmp could be anyone's. Named for
   * the euid, the uid the peer check and the daemon's own check use. */
  proto_fallback_dir(geteuid(), tmp, sizeof tmp);
  rc = put_path(buf, cap, tmp, "/shmview.sock");
  return rc < 0 ? rc : PROTO_SOCKET_FALLBACK;
}

int proto_socket_path(const char *explicit_path, char *buf, size_t cap) {
  int rc = proto_socket_resolve(explicit_path, buf, cap);

  return rc < 0 ? rc : 0;
}

int proto_private_dir_check(const char *dir, uid_t uid, char *why, size_t cap) {
  struct stat st, to;
  char target[256];

  if (lstat(dir, &st) != 0) {
    int rc = -errno;

    snprintf(why, cap, "cannot check the directory %s: %s", dir, strerror(-rc));
    return rc;
  }
  if (S_ISLNK(st.st_mode)) {
    ssize_t n = readlink(dir, target, sizeof target - 1);

    target[n > 0 ? n : 0] = '\0';
    if (stat(dir, &to) == 0)
      snprintf(why, cap,
               "%s is a symbolic link (owned by uid %u) to %.80s (owned by uid %u), not a "
               "directory of uid %u",
               dir, (unsigned)st.st_uid, target, (unsigned)to.st_uid, (unsigned)uid);
    else
      snprintf(why, cap,
               "%s is a symbolic link (owned by uid %u) to %.80s, not a directory of uid %u", dir,
               (unsigned)st.st_uid, target, (unsigned)uid);
    return -EPERM;
  }
  if (!S_ISDIR(st.st_mode)) {
    snprintf(why, cap, "%s is not a directory (a file of uid %u, mode %04o)", dir,
             (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    return -EPERM;
  }
  if (st.st_uid != uid) {
    snprintf(why, cap, "directory %s is owned by uid %u, not %u", dir, (unsigned)st.st_uid,
             (unsigned)uid);
    return -EPERM;
  }
  if ((st.st_mode & 077) != 0) {
    snprintf(why, cap, "directory %s has mode %04o, not 0700: it is open to other users", dir,
             (unsigned)(st.st_mode & 07777));
    return -EPERM;
  }
  return 0;
}

uint64_t proto_monotonic_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

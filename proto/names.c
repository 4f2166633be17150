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

int proto_socket_path(const char *explicit_path, char *buf, size_t cap) {
  const char *env;
  char tmp[64];

  if (explicit_path != NULL && explicit_path[0] != '\0')
    return put_path(buf, cap, explicit_path, "");
  env = getenv("SHMVIEW_SOCKET");
  if (env != NULL && env[0] != '\0')
    return put_path(buf, cap, env, "");
  if (geteuid() == 0)
    return put_path(buf, cap, "/run/shmview/shmview.sock", "");
  env = getenv("XDG_RUNTIME_DIR");
  if (env != NULL && env[0] != '\0')
    return put_path(buf, cap, env, "/shmview.sock");
  /* A directory of the user's own (0700, made by the daemon), as tmux's
   * /tmp/tmux-UID/: a file straight in /tmp could be anyone's. */
  snprintf(tmp, sizeof tmp, "/tmp/shmview-%lu/shmview.sock", (unsigned long)getuid());
  return put_path(buf, cap, tmp, "");
}

uint64_t proto_monotonic_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

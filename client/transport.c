/* SPDX-License-Identifier: MIT */
/*
 * transport.c: reaching a daemon. Resolving the default socket path,
 * dialling it, and deciding whether the peer that answered may be talked
 * to at all: the private fallback directory check and the trust check of
 * the peer's uid (docs/security.md, "the client trusts"). Runs before
 * anything is sent, at every connection and reconnection; the sentence
 * that explains a refusal is left in c->reply_msg.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client-internal.h"

/* The directory of c->path into dir; true if it is this euid's fallback
 * directory, /tmp/shmview-EUID. */
static bool socket_dir(const struct shmv_client *c, char *dir, size_t cap) {
  char fallback[64];
  snprintf(dir, cap, "%s", c->path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    snprintf(dir, cap, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  proto_fallback_dir(geteuid(), fallback, sizeof fallback);
  return strcmp(dir, fallback) == 0;
}

/* The fallback directory is anyone's to create in /tmp: it must be a
 * private directory of this euid's. Checked before connecting (so that a
 * planted one never even sees a connection; a missing one is left to
 * connect() to report) and again once connected (it may have been
 * created in between). 0, or -EPERM with the sentence in c->reply_msg
 * naming the directory and its owner. */
static int check_fallback_dir(struct shmv_client *c, bool connected) {
  char dir[sizeof c->path], why[192];
  if (!socket_dir(c, dir, sizeof dir))
    return 0;
  int rc = proto_private_dir_check(dir, geteuid(), why, sizeof why);
  if (rc == 0 || (rc != -EPERM && !connected))
    return 0;
  c->reply_code = -EPERM;
  snprintf(c->reply_msg, sizeof c->reply_msg,
           "refusing the daemon on %s: %s; another user may have made it to receive what you "
           "send. Have it removed (by its owner or root), or use a socket in a directory of "
           "your own (SHMVIEW_SOCKET, XDG_RUNTIME_DIR)",
           c->path, why);
  return -EPERM;
}

/* Who may run the daemon this client talks to: root, this process's
 * effective uid, a uid named in the options or $SHMVIEW_TRUSTED_UID, or
 * the owner of the socket's directory when nobody else may write there
 * (then only that owner could have put a socket in it: this is how the
 * system daemon's own user, owner of /run/shmview, is trusted). The
 * fallback directory, /tmp/shmview-EUID, must be this uid's own
 * (check_fallback_dir) and vouches for no one else. A secure-execution
 * process that did not name its socket (c->system_only) trusts neither
 * its euid (the invoker's, in a setgid program) nor the environment.
 * Checked before anything is sent, at every (re)connection. 0, or -EPERM
 * with the reason in c->reply_msg. */
static int check_peer(struct shmv_client *c, int sock) {
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
    int rc = -errno;
    c->reply_code = rc;
    snprintf(c->reply_msg, sizeof c->reply_msg,
             "cannot tell who runs the daemon on %s (SO_PEERCRED: %s)", c->path, strerror(-rc));
    return rc;
  }
  int rc = check_fallback_dir(c, true);
  if (rc < 0)
    return rc;
  uid_t me = geteuid();
  char dir[sizeof c->path];
  bool in_fallback = socket_dir(c, dir, sizeof dir);

  int64_t env_uid = client_env_trusted_uid();
  if (cr.uid == 0 || (cr.uid == me && !c->system_only) ||
      (c->trusted_uid >= 0 && cr.uid == (uid_t)c->trusted_uid) ||
      (env_uid >= 0 && cr.uid == (uid_t)env_uid))
    return 0;

  /* lstat: a symbolic link is anyone's to make, and says nothing of who
   * may write where it points. */
  struct stat st;
  if (!in_fallback && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == cr.uid &&
      (st.st_mode & (S_IWGRP | S_IWOTH)) == 0)
    return 0;

  c->reply_code = -EPERM;
  if (c->system_only)
    snprintf(c->reply_msg, sizeof c->reply_msg,
             "the daemon on %s runs as uid %u, which this setuid or setgid program does not "
             "trust: without a socket named by the program it trusts only root or the owner of "
             "%s with that directory closed to others",
             c->path, (unsigned)cr.uid, dir);
  else
    snprintf(c->reply_msg, sizeof c->reply_msg,
             "the daemon on %s runs as uid %u, which this process does not trust: it is not "
             "root, not this process's uid %u, and not the owner of %s with that directory "
             "closed to others; if it is meant to serve you, name it with SHMVIEW_TRUSTED_UID=%u",
             c->path, (unsigned)cr.uid, (unsigned)me, dir, (unsigned)cr.uid);
  return -EPERM;
}

static int connect_socket(const char *path) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return -errno;
  bool interrupted = false;
  while (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (errno == EINTR) {
      interrupted = true; /* blocking Unix connect: simply try again */
      continue;
    }
    if (errno == EISCONN && interrupted)
      break; /* the interrupted attempt completed after all */
    int rc = -errno;
    close(sock);
    return rc;
  }
  return sock;
}

/* Connect to c->path and check who listens. Returns the socket, or a
 * negative errno value with the sentence in c->reply_msg where the code
 * alone would mislead. */
int client_dial(struct shmv_client *c) {
  c->reply_code = 0;
  int sock = check_fallback_dir(c, false);
  if (sock < 0)
    return sock;
  sock = connect_socket(c->path);
  if (sock == -EACCES) {
    /* Not a segment's mode (what EACCES means everywhere else here). */
    c->reply_code = sock;
    snprintf(c->reply_msg, sizeof c->reply_msg,
             "the socket %s refused the connection: its mode (or its directory's) does not let "
             "this user connect",
             c->path);
  }
  if (sock < 0)
    return sock;
  int rc = check_peer(c, sock);
  if (rc < 0) {
    close(sock);
    return rc;
  }
  return sock;
}

int shmv_default_socket_path(char *buf, size_t cap) {
  if (buf == NULL)
    return -EINVAL;
  return proto_socket_path(NULL, buf, cap);
}

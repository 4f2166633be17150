/* SPDX-License-Identifier: MIT */
/*
 * listen.c: the listening socket, and who gets in.
 *
 * The socket is bound here (replacing a stale socket file, never a live
 * one or something that is not a socket), or passed by the service
 * manager (notify.c finds it; it is only made non-blocking here). The
 * socket file is removed at stop only if it is still the one we bound: a
 * newer daemon may have replaced it.
 *
 * Accepting: up to 64 connections per wake-up. When the daemon runs out of
 * descriptors (EMFILE, ENFILE) it sheds a connection using a reserved
 * descriptor, so the client sees a hang-up instead of waiting in the
 * backlog while we spin on a readable listening socket.
 *
 * At --max-clients or --max-clients-per-uid (peer.c counts and says), a
 * new connection is still accepted, and answered EUSERS on its first
 * request, so the client learns why rather than hanging in the backlog; at
 * most REFUSED_MAX such connections wait at once, more are closed at once.
 *
 * It never reads a connection's bytes (conn.c) and knows nothing of
 * segments.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "server-internal.h"

/* Connections refused for --max-clients that may wait for their answer. */
#define REFUSED_MAX        64
/* Connections accepted per wake-up. */
#define ACCEPTS_PER_WAKEUP 64

static void accept_one(struct server *s, int fd) {
  const struct daemon_config *cfg = &s->d->cfg;
  struct peer peer;
  enum peer_refusal why;
  int rc;

  rc = peer_init(&peer, fd, &s->d->ns);
  if (rc < 0) {
    log_error("cannot accept a client: %s", strerror(-rc));
    close(fd);
    return;
  }
  why = peer_admission(s->d, &peer);
  if (why != PEER_ADMITTED) {
    if (s->refused >= REFUSED_MAX) {
      peer_fini(&peer);
      close(fd);
      return;
    }
    if (!server_warn_ok(s))
      ; /* counted */
    else if (why == PEER_UNMAPPED)
      log_warn("refusing client pid %d: its uid %u or gid %u is what every id this user "
               "namespace does not map reads as",
               (int)peer.pid, (unsigned)peer.uid, (unsigned)peer.gid);
    else if (why == PEER_OUTSIDE_PIDNS)
      log_warn("refusing a client of uid %u: it is outside this daemon's pid namespace "
               "(--allow-namespaces serves such clients, with no pid)",
               (unsigned)peer.uid);
    else if (why == PEER_OVER_UID_LIMIT)
      log_warn("refusing client pid %d: uid %u already has %llu connections", (int)peer.pid,
               (unsigned)peer.uid, (unsigned long long)peer_uid_limit(s->d, peer.uid));
    else
      log_warn("refusing client pid %d: %llu clients is the limit", (int)peer.pid,
               (unsigned long long)cfg->max_clients);
  }
  conn_open(s, fd, &peer, why);
}

static void on_listen_event(uv_poll_t *h, int status, int events) {
  struct server *s = h->data;

  (void)events;
  if (status < 0) {
    log_error("listening socket: %s", uv_strerror(status));
    return;
  }
  for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd >= 0) {
      accept_one(s, fd);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED)
      continue;
    if ((errno == EMFILE || errno == ENFILE) && s->reserve_fd >= 0) {
      /* Out of descriptors: free the spare one to take the connection
       * and close it, so the client sees a hang-up instead of waiting
       * in the backlog forever while we spin on a readable socket. */
      if (server_warn_ok(s))
        log_warn("out of file descriptors: shedding a connection");
      close(s->reserve_fd);
      fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd >= 0)
        close(fd);
      s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      log_error("accept: %s", strerror(errno));
    break;
  }
}

/* A socket file nobody listens on is left by a daemon that died; a live
 * one belongs to a running daemon. Returns 0 if path may be replaced. */
static int check_stale_socket(const char *path) {
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct stat st;
  int fd, rc;

  if (lstat(path, &st) != 0)
    return errno == ENOENT ? 0 : -errno;
  if (!S_ISSOCK(st.st_mode)) {
    log_error("%s exists and is not a socket; not replacing it", path);
    return -EEXIST;
  }
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : -errno;
  close(fd);
  if (rc == 0) {
    log_error("another shmviewd is already listening on %s", path);
    return -EADDRINUSE;
  }
  if (rc != -ECONNREFUSED) {
    log_error("cannot tell whether %s is in use: %s", path, strerror(-rc));
    return rc;
  }
  log_info("replacing stale socket %s", path);
  if (unlink(path) != 0 && errno != ENOENT)
    return -errno;
  return 0;
}

static int bind_socket(struct server *s, const char *path) {
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct stat st;
  int fd, rc;

  if (strlen(path) >= sizeof sa.sun_path) {
    log_error("socket path %s is too long", path);
    return -ENAMETOOLONG;
  }
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  rc = check_stale_socket(path);
  if (rc < 0)
    return rc;
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    rc = -errno;
    log_error("cannot bind %s: %s", path, strerror(-rc));
    close(fd);
    return rc;
  }
  if (listen(fd, SOMAXCONN) != 0 || stat(path, &st) != 0) {
    rc = -errno;
    log_error("cannot listen on %s: %s", path, strerror(-rc));
    close(fd);
    unlink(path);
    return rc;
  }
  s->owns_socket_file = true;
  s->sock_dev = st.st_dev;
  s->sock_ino = st.st_ino;
  return fd;
}

int listen_start(struct server *s, int listen_fd) {
  int rc;

  s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (listen_fd >= 0) {
    int fl = fcntl(listen_fd, F_GETFL);

    if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) != 0)
      return -errno;
    s->listen_fd = listen_fd;
  } else {
    rc = bind_socket(s, s->d->cfg.socket_path);
    if (rc < 0)
      return rc;
    s->listen_fd = rc;
  }
  rc = uv_poll_init(s->loop, &s->listen_poll, s->listen_fd);
  if (rc == 0)
    rc = uv_poll_start(&s->listen_poll, UV_READABLE, on_listen_event);
  if (rc != 0) {
    log_error("cannot watch the listening socket: %s", uv_strerror(rc));
    if (s->owns_socket_file)
      unlink(s->d->cfg.socket_path);
    close(s->listen_fd);
    return -EIO;
  }
  s->listen_poll.data = s;
  return 0;
}

static void on_listen_closed(uv_handle_t *h) {
  struct server *s = h->data;

  close(s->listen_fd);
  s->listen_fd = -1;
}

void listen_stop(struct server *s) {
  struct stat st;

  uv_close((uv_handle_t *)&s->listen_poll, on_listen_closed);
  /* Remove the socket file only if it is still the one we bound: a newer
   * daemon may have replaced it. */
  if (s->owns_socket_file && stat(s->d->cfg.socket_path, &st) == 0 && st.st_dev == s->sock_dev &&
      st.st_ino == s->sock_ino)
    unlink(s->d->cfg.socket_path);
}

void listen_free(struct server *s) {
  if (s->reserve_fd >= 0)
    close(s->reserve_fd);
  s->reserve_fd = -1;
}

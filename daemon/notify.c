/* SPDX-License-Identifier: MIT */
/*
 * notify.c: readiness/status notifications and passed listening sockets.
 *
 * Both protocols are small and documented (sd_notify(3), sd_listen_fds(3),
 * systemd's "Native Protocol for Service Notification"): a notification is
 * one datagram of "KEY=VALUE\n" lines sent to the AF_UNIX address in
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace); passed
 * sockets start at fd 3, $LISTEN_FDS of them, meant for the process whose
 * pid is $LISTEN_PID. libsystemd is used when configure found it; the
 * fallback below speaks the same protocols, so the daemon works the same
 * under any service manager whether or not it was built with libsystemd.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "fdstore.h"
#include "log.h"
#include "notify.h"
#include "units.h"

#define LISTEN_FDS_START   3
#define STATUS_INTERVAL_MS 5000

#ifdef HAVE_LIBSYSTEMD

int notify_send(const char *state) {
  return sd_notify(0, state);
}

int notify_send_fd(const char *state, int fd) {
  return sd_pid_notify_with_fds(0, 0, state, &fd, 1);
}

static int listen_fds(char ***names) {
  return sd_listen_fds_with_names(1, names);
}

static int is_listening_stream_unix(int fd) {
  return sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0;
}

#else /* !HAVE_LIBSYSTEMD: the same protocols, spoken directly */

/* One datagram, with fd (>= 0) attached as SCM_RIGHTS: what
 * sd_pid_notify_with_fds sends. */
static int send_notification(const char *state, int pass) {
  const char *e = getenv("NOTIFY_SOCKET");
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = { .iov_base = (void *)(uintptr_t)state, .iov_len = strlen(state) };
  struct msghdr mh = { .msg_name = &sa, .msg_iov = &iov, .msg_iovlen = 1 };
  size_t len;
  socklen_t salen;
  int fd, rc = 1;

  if (e == NULL || e[0] == '\0')
    return 0;
  len = strlen(e);
  if (e[0] != '/' && e[0] != '@')
    return -EAFNOSUPPORT; /* e.g. "vsock:...", which we do not speak */
  if (len > sizeof sa.sun_path || (e[0] == '/' && len == sizeof sa.sun_path))
    return -ENAMETOOLONG;
  memcpy(sa.sun_path, e, len);
  if (sa.sun_path[0] == '@')
    sa.sun_path[0] = '\0'; /* abstract: the length counts, no terminator */
  salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);

  mh.msg_namelen = salen;
  if (pass >= 0) {
    struct cmsghdr *cm;

    memset(&control, 0, sizeof control);
    mh.msg_control = control.buf;
    mh.msg_controllen = sizeof control.buf;
    cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &pass, sizeof pass);
  }

  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
    rc = -errno;
  close(fd);
  return rc;
}

int notify_send(const char *state) {
  return send_notification(state, -1);
}

int notify_send_fd(const char *state, int fd) {
  return send_notification(state, fd);
}

static int parse_uint(const char *s, unsigned long *out) {
  char *end;

  if (s == NULL || *s < '0' || *s > '9')
    return -EINVAL;
  errno = 0;
  *out = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return -EINVAL;
  return 0;
}

/* "a:b:c" into n malloc'd names (NULL when names is unset, or when it
 * does not name n descriptors: they are then nameless, as
 * sd_listen_fds_with_names says "unknown"). */
static char **split_names(const char *names, unsigned long n) {
  char **v, *copy, *save = NULL, *w;
  unsigned long i = 0;

  if (names == NULL || n == 0 || (v = calloc(n + 1, sizeof *v)) == NULL)
    return NULL;
  copy = strdup(names);
  for (w = copy ? strtok_r(copy, ":", &save) : NULL; w != NULL && i < n;
       w = strtok_r(NULL, ":", &save))
    v[i++] = strdup(w);
  free(copy);
  if (i == n && w == NULL)
    return v;
  for (i = 0; i < n; i++)
    free(v[i]);
  free(v);
  return NULL;
}

/* sd_listen_fds_with_names(1): how many fds from 3 are ours (0: none), or
 * -errno; *names their names (NULL: unknown), for the caller to free. */
static int listen_fds(char ***names) {
  unsigned long pid, n;
  int rc = 0;

  *names = NULL;
  if (parse_uint(getenv("LISTEN_PID"), &pid) != 0)
    goto out; /* not passed (or garbage): none */
  if ((pid_t)pid != getpid())
    goto out; /* meant for another process (our parent, say) */
  if (parse_uint(getenv("LISTEN_FDS"), &n) != 0 || n > 1024) {
    rc = -EINVAL;
    goto out;
  }
  for (unsigned long i = 0; i < n; i++) {
    int fd = LISTEN_FDS_START + (int)i, fl = fcntl(fd, F_GETFD);

    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) != 0) {
      rc = -errno;
      goto out;
    }
  }
  rc = (int)n;
  *names = split_names(getenv("LISTEN_FDNAMES"), n);
out:
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return rc;
}

static int is_listening_stream_unix(int fd) {
  struct sockaddr_un sa;
  socklen_t len = sizeof sa;
  int type, listening;
  socklen_t olen = sizeof type;

  if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0 || sa.sun_family != AF_UNIX)
    return 0;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) != 0 || type != SOCK_STREAM)
    return 0;
  olen = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen) != 0 || !listening)
    return 0;
  return 1;
}

#endif /* HAVE_LIBSYSTEMD */

/* Sealed segments' memfds from the store (fdstore.h) go to their table;
 * every other passed descriptor is a socket for us to serve on. Returns how
 * many sockets, the first one in *sock (-1: none). */
static int sort_passed(int n, char **names, int *sock) {
  int sockets = 0;

  *sock = -1;
  for (int i = 0; i < n; i++) {
    const char *name = names != NULL ? names[i] : NULL;

    if (name != NULL && strncmp(name, FDSTORE_NAME_PREFIX, sizeof FDSTORE_NAME_PREFIX - 1) == 0) {
      fdstore_passed(name, LISTEN_FDS_START + i);
      continue;
    }
    if (sockets++ == 0)
      *sock = LISTEN_FDS_START + i;
  }
  if (names != NULL) {
    for (int i = 0; i < n; i++)
      free(names[i]);
    free(names);
  }
  return sockets;
}

int notify_listen_fd(int *fd_out, char *path, size_t cap) {
  struct sockaddr_un sa;
  socklen_t len = sizeof sa;
  char **names;
  int n = listen_fds(&names), fd = LISTEN_FDS_START;

  *fd_out = -1;
  if (n == 0)
    return 0;
  if (n < 0) {
    log_error("$LISTEN_FDS/$LISTEN_PID are set but unusable: %s", strerror(-n));
    return n;
  }
  n = sort_passed(n, names, &fd);
  if (n == 0)
    return 0; /* only stored segments: we bind our own socket */
  if (n != 1) {
    log_error("passed %d sockets; shmviewd serves on exactly one (one ListenStream= "
              "in the .socket unit)",
              n);
    return -EINVAL;
  }
  if (!is_listening_stream_unix(fd)) {
    log_error("the passed fd %d is not a listening Unix stream socket "
              "(ListenStream= with a path in the .socket unit)",
              fd);
    return -ENOTSOCK;
  }
  memset(&sa, 0, sizeof sa);
  if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
      len > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0] != '\0')
    snprintf(path, cap, "%.*s", (int)(len - offsetof(struct sockaddr_un, sun_path)), sa.sun_path);
  else if (len > offsetof(struct sockaddr_un, sun_path) + 1)
    snprintf(path, cap, "@%.*s", (int)(len - offsetof(struct sockaddr_un, sun_path) - 1),
             sa.sun_path + 1);
  else
    snprintf(path, cap, "(unnamed)");
  *fd_out = fd;
  return 0;
}

static void status_text(const struct daemon *d, char *buf, size_t cap) {
  char bytes[PROTO_SIZE_BUFSZ];

  proto_size_format(d->reg.bytes, PROTO_SIZE_IEC, bytes, sizeof bytes);
  snprintf(buf, cap, "STATUS=%" PRIu64 " segment%s (%s), %" PRIu64 " view%s, %" PRIu64 " client%s",
           d->reg.count, d->reg.count == 1 ? "" : "s", bytes, d->leases.count,
           d->leases.count == 1 ? "" : "s", d->clients, d->clients == 1 ? "" : "s");
}

/* Send, and say so once if it fails (not every 5 s from then on). */
static void send_logged(const char *msg) {
  static int warned;
  int rc = notify_send(msg);

  if (rc < 0 && !warned) {
    log_warn("cannot notify the service manager ($NOTIFY_SOCKET): %s", strerror(-rc));
    warned = 1;
  }
}

static void send_status(struct notifier *n, const char *prefix) {
  char text[sizeof n->last], msg[sizeof n->last + 32];

  status_text(n->d, text, sizeof text);
  if (prefix == NULL && strcmp(text, n->last) == 0)
    return; /* nothing changed: nothing to say */
  snprintf(msg, sizeof msg, "%s%s", prefix != NULL ? prefix : "", text);
  send_logged(msg);
  memcpy(n->last, text, sizeof n->last);
}

static void on_status_timer(uv_timer_t *t) {
  send_status(t->data, NULL);
}

void notifier_start(struct notifier *n, uv_loop_t *loop, struct daemon *d) {
  memset(n, 0, sizeof *n);
  n->d = d;
  if (getenv("NOTIFY_SOCKET") == NULL)
    return; /* nobody listens: no timer either */
  send_status(n, "READY=1\n");
  if (uv_timer_init(loop, &n->timer) != 0)
    return;
  n->timer.data = n;
  uv_timer_start(&n->timer, on_status_timer, STATUS_INTERVAL_MS, STATUS_INTERVAL_MS);
  uv_unref((uv_handle_t *)&n->timer); /* never what keeps the loop alive */
  n->active = 1;
}

void notifier_stop(struct notifier *n) {
  send_logged("STOPPING=1\nSTATUS=stopping");
  if (n->active) {
    uv_close((uv_handle_t *)&n->timer, NULL);
    n->active = 0;
  }
}

/* SPDX-License-Identifier: MIT */
/*
 * main.c: shmviewd's command line, signals and event loop.
 *
 * The daemon always runs in the foreground: a supervisor (systemd, or the
 * user's shell) owns its life, its stderr is its log. SIGTERM and SIGINT
 * stop it cleanly: connections close, and segments stay in /dev/shm for
 * the next start.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "state.h"
#include "watch.h"

/* Usage errors (bad option or config file) exit 2, as conf.h says. */
#define EXIT_USAGE CONF_EXIT_USAGE

/* Two daemons with one prefix would adopt and unlink each other's objects.
 * An abstract Unix socket named after the prefix is a lock the kernel
 * drops when we die, however we die, and it leaves no file behind. It is
 * per network namespace: a daemon in another one (PrivateNetwork=) is not
 * seen. Returns the descriptor to keep open, or -errno. */
static int claim_prefix(const char *prefix) {
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int n = snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "shmviewd/prefix/%s", prefix);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -errno;
  if (bind(fd, (struct sockaddr *)&sa,
           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) != 0) {
    int rc = -errno;

    close(fd);
    return rc;
  }
  return fd;
}

/* Each connection costs a descriptor, and descriptors sent but not yet
 * read count against this limit too (the kernel refuses more with
 * ETOOMANYREFS): use all the kernel lets us. */
static void raise_fd_limit(void) {
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      log_warn("cannot raise the open file limit: %s", strerror(errno));
  }
}

/* PREFIX.state beside the socket: the runtime directory systemd gives us
 * (RuntimeDirectoryPreserve=restart keeps it across restarts). */
static void default_state_path(struct daemon_config *cfg) {
  const char *slash = strrchr(cfg->socket_path, '/');
  int dirlen = slash == NULL ? 1 : slash == cfg->socket_path ? 1 : (int)(slash - cfg->socket_path);
  const char *dir = slash == NULL ? "." : cfg->socket_path;

  snprintf(cfg->state_path, sizeof cfg->state_path, "%.*s/%s.state", dirlen, dir, cfg->prefix);
}

struct runtime {
  uv_signal_t sigterm, sigint;
  struct server *server;
  struct notifier notifier; /* READY=1, STATUS=, STOPPING=1 */
  struct watch *watch;      /* sizes set behind our back */
};

static void on_stop_signal(uv_signal_t *h, int signum) {
  struct runtime *rt = h->data;

  log_info("%s: stopping", strsignal(signum));
  notifier_stop(&rt->notifier);
  watch_stop(rt->watch);
  rt->watch = NULL;
  server_stop(rt->server);
  uv_close((uv_handle_t *)&rt->sigterm, NULL);
  uv_close((uv_handle_t *)&rt->sigint, NULL);
}

int main(int argc, char **argv) {
  struct daemon d;
  struct runtime rt;
  uv_loop_t loop;
  char passed[sizeof d.cfg.socket_path];
  int rc, listen_fd, prefix_fd;

  memset(&d, 0, sizeof d);
  rc = conf_from_args(argc, argv, &d.cfg);
  if (rc == 1)
    return EXIT_SUCCESS;
  if (rc < 0)
    return EXIT_USAGE;

  log_init((enum log_level)d.cfg.log_level);
  signal(SIGPIPE, SIG_IGN); /* a client hanging up is an EPIPE, not our death */
  raise_fd_limit();
  conf_resolve(&d.cfg, "/dev/shm");

  prefix_fd = claim_prefix(d.cfg.prefix);
  if (prefix_fd < 0) {
    if (prefix_fd == -EADDRINUSE)
      log_error("another shmviewd already uses the prefix '%s' (its segments are "
                "/dev/shm/%s.*); give this one another --prefix",
                d.cfg.prefix, d.cfg.prefix);
    else
      log_error("cannot claim the prefix '%s': %s", d.cfg.prefix, strerror(-prefix_fd));
    return EXIT_FAILURE;
  }
  registry_init(&d.reg, d.cfg.prefix);
  lease_table_init(&d.leases);
  d.started_ms = monotonic_ms();

  if (uv_loop_init(&loop) != 0) {
    log_error("cannot start the event loop");
    return EXIT_FAILURE;
  }
  memset(&rt, 0, sizeof rt);
  /* A socket passed by systemd (.socket unit) wins over binding our own;
   * its path stands for the socket in logs and the state file default. */
  listen_fd = notify_listen_fd(passed, sizeof passed);
  if (listen_fd == -2) {
    uv_loop_close(&loop);
    registry_fini(&d.reg);
    return EXIT_FAILURE;
  }
  if (listen_fd >= 0) {
    log_info("using the socket passed by the service manager: %s (fd %d)", passed, listen_fd);
    if (passed[0] == '/' && strlen(passed) < sizeof d.cfg.socket_path)
      memcpy(d.cfg.socket_path, passed, strlen(passed) + 1);
  }
  rc = server_start(&rt.server, &loop, &d, listen_fd);
  if (rc < 0) {
    log_error("cannot serve on %s: %s", d.cfg.socket_path, strerror(-rc));
    uv_loop_close(&loop);
    registry_fini(&d.reg);
    return EXIT_FAILURE;
  }
  /* Only now, with the socket ours, may we touch the state file: a second
   * daemon refused above must not rewrite the first one's. */
  if (d.cfg.state_path[0] == '\0')
    default_state_path(&d.cfg);
  {
    size_t adopted = 0;

    rc = state_open(&d.state, d.cfg.state_path, &d.reg, geteuid(), getegid(), &adopted);
    if (rc < 0) {
      log_error("cannot use the state file %s: %s", d.cfg.state_path, strerror(-rc));
      server_stop(rt.server);
      uv_run(&loop, UV_RUN_DEFAULT);
      server_free(rt.server);
      uv_loop_close(&loop);
      registry_fini(&d.reg);
      return EXIT_FAILURE;
    }
    if (adopted > 0) {
      d.grace_until_ms = monotonic_ms() + d.cfg.grace_ms;
      log_info("re-adopted %zu segment%s from %s", adopted, adopted == 1 ? "" : "s",
               d.cfg.state_path);
    }
  }
  rc = watch_start(&rt.watch, &loop, &d);
  if (rc < 0)
    log_warn("cannot watch /dev/shm (%s): a size set through a writable view is noticed only "
             "when a client asks about its segment",
             strerror(-rc));
  uv_signal_init(&loop, &rt.sigterm);
  uv_signal_init(&loop, &rt.sigint);
  rt.sigterm.data = rt.sigint.data = &rt;
  uv_signal_start(&rt.sigterm, on_stop_signal, SIGTERM);
  uv_signal_start(&rt.sigint, on_stop_signal, SIGINT);

  log_info("shmviewd %s serving on %s (prefix %s)", PACKAGE_VERSION, d.cfg.socket_path,
           d.cfg.prefix);
  notifier_start(&rt.notifier, &loop, &d);
  uv_run(&loop, UV_RUN_DEFAULT);

  server_free(rt.server);
  rc = uv_loop_close(&loop);
  if (rc != 0)
    log_warn("event loop closed with handles open: %s", uv_strerror(rc));
  state_close(d.state);
  registry_fini(&d.reg);
  close(prefix_fd);
  log_info("stopped");
  return EXIT_SUCCESS;
}

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
#include "holders.h"
#include "log.h"
#include "notify.h"
#include "reaper.h"
#include "server.h"
#include "state.h"
#include "watch.h"
#include "trust.h"

/* A bad option exits 2, a bad config file 78 (EX_CONFIG), as conf.h says. */
#define EXIT_USAGE  CONF_EXIT_USAGE
#define EXIT_CONFIG CONF_EXIT_CONFIG

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
 * (RuntimeDirectoryPreserve=yes keeps it across restarts and stops). */
static void default_state_path(struct daemon_config *cfg) {
  const char *slash = strrchr(cfg->socket_path, '/');
  int dirlen = slash == NULL ? 1 : slash == cfg->socket_path ? 1 : (int)(slash - cfg->socket_path);
  const char *dir = slash == NULL ? "." : cfg->socket_path;

  snprintf(cfg->state_path, sizeof cfg->state_path, "%.*s/%s.state", dirlen, dir, cfg->prefix);
}

struct runtime {
  uv_signal_t sigterm, sigint;
  struct server *server;
  struct holders *holders;
  struct notifier notifier; /* READY=1, STATUS=, STOPPING=1 */
  struct watch *watch;      /* sizes set behind our back */
  struct reaper reaper;     /* ops' timer: the end of the restart grace */
};

static void on_stop_signal(uv_signal_t *h, int signum) {
  struct runtime *rt = h->data;

  log_info("%s: stopping", strsignal(signum));
  notifier_stop(&rt->notifier);
  holders_stop(rt->holders); /* first: the holds of connections closed now stay on disk */
  watch_stop(rt->watch);
  rt->watch = NULL;
  reaper_stop(&rt->reaper);
  server_stop(rt->server);
  uv_close((uv_handle_t *)&rt->sigterm, NULL);
  uv_close((uv_handle_t *)&rt->sigint, NULL);
}

/* The directory of path, checked (and for our own socket, created 0700 if
 * missing): the daemon's or root's, writable by no one else. Returns its
 * descriptor or -errno, logged. */
static int checked_dir_of(const char *path, bool create, const char *what) {
  char dir[PATH_MAX];

  trust_split(path, dir, sizeof dir);
  return trust_open_dir(dir, create, what);
}

int main(int argc, char **argv) {
  struct daemon d;
  struct runtime rt;
  uv_loop_t loop;
  char passed[sizeof d.cfg.socket_path];
  int rc, listen_fd, prefix_fd, shmdir, dirfd, status = EXIT_FAILURE;
  size_t adopted = 0;
  sigset_t stops;

  memset(&d, 0, sizeof d);
  /* Logging first: a config error is the likeliest reason a service fails
   * to start, and under the journal it must carry the error priority. */
  log_init(LOG_LVL_INFO);
  rc = conf_from_args(argc, argv, &d.cfg);
  if (rc == 1)
    return EXIT_SUCCESS;
  if (rc < 0)
    return rc == -2 ? EXIT_CONFIG : EXIT_USAGE;

  log_init((enum log_level)d.cfg.log_level);
  signal(SIGPIPE, SIG_IGN); /* a client hanging up is an EPIPE, not our death */
  /* A SIGTERM before the loop watches for it (say, once the socket answers
   * but the state file is still loading) waits, rather than killing us
   * with the prefix lock and the state half done. */
  sigemptyset(&stops);
  sigaddset(&stops, SIGTERM);
  sigaddset(&stops, SIGINT);
  sigprocmask(SIG_BLOCK, &stops, NULL);
  raise_fd_limit();
  conf_resolve(&d.cfg, "/dev/shm");
  /* Before anything is touched: in namespaces that hide its clients'
   * uids, the daemon could not decide who may do what. */
  if (ns_check_self(&d.ns, d.cfg.allow_namespaces) < 0)
    return EXIT_FAILURE;

  /* Two daemons with one prefix would adopt and unlink each other's
   * objects: a lock file beside the objects, which every daemon sharing
   * this /dev/shm sees, whatever other namespaces it runs in. */
  shmdir = trust_shm_dir();
  if (shmdir < 0)
    return EXIT_FAILURE;
  prefix_fd = trust_lock_prefix(shmdir, d.cfg.prefix);
  if (prefix_fd < 0) {
    close(shmdir);
    return EXIT_FAILURE;
  }
  registry_init(&d.reg, d.cfg.prefix, d.cfg.fd_cache);
  d.reg.reserve = strcmp(d.cfg.reserve, "none") != 0;
  if (!d.reg.reserve)
    log_info("--reserve none: segments' memory is allocated by the first process to touch it, "
             "in its memory cgroup; a full /dev/shm is then a SIGBUS to that process, not an "
             "error to create or resize");
  lease_table_init(&d.leases);
  d.started_ms = proto_monotonic_ms();

  if (uv_loop_init(&loop) != 0) {
    log_error("cannot start the event loop");
    goto out_registry;
  }
  memset(&rt, 0, sizeof rt);
  /* A socket passed by systemd (.socket unit) wins over binding our own;
   * its path stands for the socket in logs and the state file default. */
  if (notify_listen_fd(&listen_fd, passed, sizeof passed) < 0)
    goto out_loop;
  if (listen_fd >= 0) {
    log_info("using the socket passed by the service manager: %s (fd %d)", passed, listen_fd);
    if (passed[0] == '/' && strlen(passed) < sizeof d.cfg.socket_path)
      memcpy(d.cfg.socket_path, passed, strlen(passed) + 1);
  }
  /* The socket's directory holds the state file too: whoever may write
   * there could plant or swap either. */
  dirfd = checked_dir_of(d.cfg.socket_path, listen_fd < 0, "socket");
  if (dirfd < 0)
    goto out_loop;
  if (d.cfg.state_path[0] != '\0') {
    close(dirfd);
    dirfd = checked_dir_of(d.cfg.state_path, false, "state file");
    if (dirfd < 0)
      goto out_loop;
  } else {
    default_state_path(&d.cfg);
  }
  rc = server_start(&rt.server, &loop, &d, listen_fd);
  if (rc < 0) {
    log_error("cannot serve on %s: %s", d.cfg.socket_path, strerror(-rc));
    close(dirfd);
    goto out_loop;
  }
  /* Only now, with the socket ours, may we touch the state file: a second
   * daemon refused above must not rewrite the first one's. */
  rc =
      state_open(&d.state, dirfd, d.cfg.state_path, shmdir, &d.reg, &d.leases, getegid(), &adopted);
  if (rc < 0) {
    log_error("cannot use the state file %s: %s", d.cfg.state_path, strerror(-rc));
    close(dirfd);
    server_stop(rt.server);
    uv_run(&loop, UV_RUN_DEFAULT);
    server_free(rt.server);
    goto out_loop;
  }
  if (adopted > 0) {
    d.grace_until_ms = proto_monotonic_ms() + d.cfg.grace_ms;
    log_info("re-adopted %zu segment%s from %s", adopted, adopted == 1 ? "" : "s",
             d.cfg.state_path);
  }
  reaper_start(&rt.reaper, &loop, &d);
  rc = watch_start(&rt.watch, &loop, &d);
  if (rc < 0)
    log_warn("cannot watch /dev/shm (%s): a size set through a writable view is noticed only "
             "when a client asks about its segment",
             strerror(-rc));
  holders_start(&rt.holders, &loop, &d);
  uv_signal_init(&loop, &rt.sigterm);
  uv_signal_init(&loop, &rt.sigint);
  rt.sigterm.data = rt.sigint.data = &rt;
  uv_signal_start(&rt.sigterm, on_stop_signal, SIGTERM);
  uv_signal_start(&rt.sigint, on_stop_signal, SIGINT);
  sigprocmask(SIG_UNBLOCK, &stops, NULL);

  log_info("shmviewd %s serving on %s (prefix %s)", PACKAGE_VERSION, d.cfg.socket_path,
           d.cfg.prefix);
  notifier_start(&rt.notifier, &loop, &d);
  uv_run(&loop, UV_RUN_DEFAULT);

  server_free(rt.server);
  holders_free(rt.holders);
  state_close(d.state);
  status = EXIT_SUCCESS;
out_loop:
  rc = uv_loop_close(&loop);
  if (rc != 0)
    log_warn("event loop closed with handles open: %s", uv_strerror(rc));
out_registry:
  lease_table_fini(&d.leases, &d.reg);
  registry_fini(&d.reg);
  trust_unlock_prefix(shmdir, d.cfg.prefix, prefix_fd);
  close(shmdir);
  if (status == EXIT_SUCCESS)
    log_info("stopped");
  return status;
}

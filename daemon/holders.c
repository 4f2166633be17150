/* SPDX-License-Identifier: MIT */
/*
 * holders.c: the event loop's side of holds (lease.h).
 *
 * After a restart, the holds read from the state file keep their segments
 * from shrinking for as long as the recorded process lives. Each such
 * process gets a pidfd (pidfd_open(2)), checked against the recorded start
 * time so a reused pid is not mistaken for it, and watched with a uv_poll:
 * a pidfd becomes readable when its process exits, and then what was kept
 * for it is dropped. The process re-opening its views (a reconnecting
 * client) drops the kept counts earlier, in lease_add.
 *
 * Without pidfds (a kernel before 5.3, or valgrind, which does not know
 * the call) the recorded processes are polled once a second instead:
 * kill(pid, 0) and the start time again.
 *
 * Holds that keep nothing any more but are still named in the state file
 * are marked stale, and a second later a line says they ended (a rewrite
 * if there are many). A view of the same segment by the same process in
 * that second just unmarks it: open/release in a loop never touches the
 * disk.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "holders.h"
#include "log.h"
#include "ops.h"
#include "state.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Rewrite the state file this long after a hold went idle. */
#define STALE_REWRITE_MS 1000
/* Without pidfds, look at the recorded processes this often. */
#define POLL_HOLDERS_MS  1000

struct watch {
  uv_poll_t poll;
  struct holders *hs;
  pid_t pid;
  uint64_t start;
  int pidfd; /* -1: polled */
  struct watch *next, *prev;
};

struct holders {
  uv_loop_t *loop;
  struct daemon *d;
  uv_prepare_t prepare; /* sees holds go stale */
  uv_timer_t rewrite;
  uv_timer_t poll_timer; /* for watches without a pidfd */
  struct watch *watches;
  bool stopping;
};

static void on_watch_closed(uv_handle_t *h) {
  struct watch *w = h->data;

  close(w->pidfd);
  free(w);
}

static void watch_end(struct watch *w) {
  struct holders *hs = w->hs;

  if (w->prev != NULL)
    w->prev->next = w->next;
  else
    hs->watches = w->next;
  if (w->next != NULL)
    w->next->prev = w->prev;
  if (w->pidfd >= 0)
    uv_close((uv_handle_t *)&w->poll, on_watch_closed);
  else
    free(w);
}

static void holder_gone(struct watch *w) {
  struct daemon *d = w->hs->d;

  log_info("process %d, which held views before the restart, exited; releasing them", (int)w->pid);
  ops_kept_end(d, w->pid, w->start, "its last view's process exited");
  watch_end(w);
}

static void on_holder_exit(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  holder_gone(h->data);
}

/* pid is alive and (as far as can be seen) the process recorded. */
static bool process_is(pid_t pid, uint64_t start) {
  uint64_t now;

  if (kill(pid, 0) != 0 && errno == ESRCH)
    return false;
  now = lease_proc_start(pid);
  return start == 0 || now == 0 || now == start;
}

static void on_poll_timer(uv_timer_t *t) {
  struct holders *hs = t->data;
  struct watch *w, *next;
  bool polled = false;

  for (w = hs->watches; w != NULL; w = next) {
    next = w->next;
    if (w->pidfd >= 0)
      continue;
    if (!process_is(w->pid, w->start))
      holder_gone(w);
    else
      polled = true;
  }
  if (!polled)
    uv_timer_stop(t);
}

static void watch_link(struct holders *hs, struct watch *w) {
  w->next = hs->watches;
  if (hs->watches != NULL)
    hs->watches->prev = w;
  hs->watches = w;
}

static int pidfd_open(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Watch one recorded process, or drop what was kept for it if it is gone
 * or its pid now names another process. Returns whether it is watched. */
static bool watch_holder(struct holders *hs, pid_t pid, uint64_t start) {
  struct daemon *d = hs->d;
  struct watch *w;
  uint64_t now;
  int fd = pidfd_open(pid);

  if (fd < 0 && errno == ENOSYS && process_is(pid, start)) {
    /* No pidfds here: poll it. */
    w = calloc(1, sizeof *w);
    if (w == NULL)
      return false;
    w->hs = hs;
    w->pid = pid;
    w->start = start;
    w->pidfd = -1;
    watch_link(hs, w);
    if (!uv_is_active((uv_handle_t *)&hs->poll_timer))
      uv_timer_start(&hs->poll_timer, on_poll_timer, POLL_HOLDERS_MS, POLL_HOLDERS_MS);
    return true;
  }
  if (fd < 0) {
    log_info("process %d, which held views before the restart, is gone (%s); releasing them",
             (int)pid, strerror(errno));
    ops_kept_end(d, pid, start, "its last view's process is gone");
    return false;
  }
  /* Read after pidfd_open: if the start time matches now, the pidfd is of
   * the recorded process. Unknown (0) on either side: trust the pid. */
  now = lease_proc_start(pid);
  if (start != 0 && now != 0 && now != start) {
    log_info("pid %d is another process than the one that held views before the restart; "
             "releasing them",
             (int)pid);
    close(fd);
    ops_kept_end(d, pid, start, "its last view's process is gone");
    return false;
  }
  w = calloc(1, sizeof *w);
  if (w == NULL || uv_poll_init(hs->loop, &w->poll, fd) != 0) {
    log_error("cannot watch process %d; keeping its views until the next restart", (int)pid);
    free(w);
    close(fd);
    return false;
  }
  w->hs = hs;
  w->pid = pid;
  w->start = start;
  w->pidfd = fd;
  w->poll.data = w;
  watch_link(hs, w);
  uv_poll_start(&w->poll, UV_READABLE, on_holder_exit);
  return true;
}

static void on_rewrite(uv_timer_t *t) {
  struct holders *hs = t->data;

  /* On failure the file names more holds than are left (the safe side);
   * they are tried again with the next. */
  state_drop_stale(hs->d->state);
}

static void on_prepare(uv_prepare_t *p) {
  struct holders *hs = p->data;

  if (hs->d->leases.stale_count > 0 && !uv_is_active((uv_handle_t *)&hs->rewrite))
    uv_timer_start(&hs->rewrite, on_rewrite, STALE_REWRITE_MS, 0);
}

int holders_start(struct holders **out, uv_loop_t *loop, struct daemon *d) {
  struct holders *hs = calloc(1, sizeof *hs);
  struct hold *h, *next;
  size_t n = 0;

  if (hs == NULL)
    return -ENOMEM;
  hs->loop = loop;
  hs->d = d;
  uv_prepare_init(loop, &hs->prepare);
  uv_timer_init(loop, &hs->rewrite);
  uv_timer_init(loop, &hs->poll_timer);
  hs->prepare.data = hs->rewrite.data = hs->poll_timer.data = hs;
  uv_prepare_start(&hs->prepare, on_prepare);
  /* One watch per recorded process: its holds are neighbours in the tree.
   * Find the next process before dropping this one's holds. */
  for (h = lease_hold_first(&d->leases); h != NULL; h = next) {
    pid_t pid = h->pid;
    uint64_t start = h->start;
    bool kept = false;

    for (next = h; next != NULL && next->pid == pid && next->start == start;
         next = lease_hold_next(&d->leases, next))
      kept = kept || next->kept_views > 0;
    if (kept && watch_holder(hs, pid, start))
      n++;
  }
  if (n > 0)
    log_info("watching %zu process%s that held views before the restart", n, n == 1 ? "" : "es");
  *out = hs;
  return 0;
}

void holders_stop(struct holders *hs) {
  if (hs == NULL || hs->stopping)
    return;
  hs->stopping = true;
  uv_close((uv_handle_t *)&hs->prepare, NULL);
  uv_close((uv_handle_t *)&hs->rewrite, NULL);
  uv_close((uv_handle_t *)&hs->poll_timer, NULL);
  while (hs->watches != NULL)
    watch_end(hs->watches);
}

void holders_free(struct holders *hs) {
  free(hs);
}

/* SPDX-License-Identifier: MIT */
/*
 * watch.c: sizes the daemon did not set, noticed and repaired.
 *
 * One inotify watch on /dev/shm (not one per object: 10,000 segments must
 * not cost 10,000 watches) reports IN_MODIFY (ftruncate, write,
 * fallocate) and IN_ATTRIB on every file there; events for names outside
 * our prefix are dropped after a string compare, ours cost one stat. The
 * daemon's own ftruncate and fallocate raise events too, and find the size
 * it recorded. Writes through mappings raise none, so the watch costs
 * nothing on the data path. When the queue overflows every segment is
 * checked. An unlinked segment has no name to be reported by, and is only
 * checked when a view of it is opened (which needs its name: never).
 *
 * Repair: ftruncate back to the recorded size, posix_fallocate it again.
 * Bytes past a shrink are lost (they are zero once restored); readers stop
 * faulting. Between the truncate and the repair (the time the loop takes
 * to see the event, normally well under a millisecond) other mappings may
 * fault: that window is the residual risk of a writable view.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "log.h"
#include "watch.h"

#define SHM_DIR "/dev/shm"

struct watch {
  uv_poll_t poll;
  int fd;
  struct daemon *d;
};

/* "uid 1000 (2 writable views), uid 65534" into buf. */
static void writer_uids(const struct segment *s, char *buf, size_t cap) {
  const struct lease *l, *k;
  size_t used = 0;
  int listed = 0;

  buf[0] = '\0';
  LIST_FOREACH(l, &s->writers, by_segment) {
    bool seen = false;
    unsigned n = 0;

    for (k = LIST_FIRST(&s->writers); k != l; k = LIST_NEXT(k, by_segment))
      seen |= k->uid == l->uid;
    if (seen)
      continue;
    for (k = l; k != NULL; k = LIST_NEXT(k, by_segment))
      n += k->uid == l->uid;
    if (listed++ == 8) {
      snprintf(buf + used, cap - used, ", ...");
      return;
    }
    used += (size_t)snprintf(buf + used, cap - used, "%suid %u (%u writable view%s)",
                             used ? ", " : "", (unsigned)l->uid, n, n == 1 ? "" : "s");
    if (used >= cap)
      return;
  }
  if (listed == 0)
    snprintf(buf, cap, "no writable view holder");
}

uint64_t watch_check(struct daemon *d, struct segment *s, int fd) {
  char who[256];
  uint64_t actual;
  int rc;

  if (registry_object_size(&d->reg, s, fd, &actual) < 0 || actual == s->rec.size)
    return s->rec.size;
  writer_uids(s, who, sizeof who);
  log_warn("segment %s is %llu bytes, not the %llu the daemon set: its object was truncated "
           "through a writable view (held by %s); restoring the size",
           s->rec.name, (unsigned long long)actual, (unsigned long long)s->rec.size, who);
  rc = registry_restore_size(&d->reg, s);
  if (rc < 0) {
    log_error("cannot restore segment %s to %llu bytes: %s", s->rec.name,
              (unsigned long long)s->rec.size, strerror(-rc));
    return actual;
  }
  return s->rec.size;
}

static void check_all(struct daemon *d) {
  for (struct segment *s = registry_first_after(&d->reg, ""); s != NULL;
       s = registry_next(&d->reg, s))
    watch_check(d, s, -1);
}

static void on_closed(uv_handle_t *h);

static void on_events(uv_poll_t *h, int status, int events) {
  struct watch *w = h->data;
  size_t plen = strlen(w->d->cfg.prefix);
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

  (void)events;
  if (status < 0)
    return;
  for (;;) {
    ssize_t n = read(w->fd, buf, sizeof buf);

    if (n <= 0)
      return; /* EAGAIN: all read */
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      struct segment *s;

      p += sizeof *ev + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        check_all(w->d);
        continue;
      }
      if (ev->len == 0 || strncmp(ev->name, w->d->cfg.prefix, plen) != 0 || ev->name[plen] != '.')
        continue;
      s = registry_find(&w->d->reg, ev->name + plen + 1);
      if (s != NULL)
        watch_check(w->d, s, -1);
    }
  }
}

int watch_start(struct watch **out, uv_loop_t *loop, struct daemon *d) {
  struct watch *w = calloc(1, sizeof *w);
  int rc;

  if (w == NULL)
    return -ENOMEM;
  w->d = d;
  w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->fd < 0 || inotify_add_watch(w->fd, SHM_DIR, IN_MODIFY | IN_ATTRIB) < 0) {
    rc = -errno;
    if (w->fd >= 0)
      close(w->fd);
    free(w);
    return rc;
  }
  if (uv_poll_init(loop, &w->poll, w->fd) != 0) {
    close(w->fd);
    free(w);
    return -EIO;
  }
  w->poll.data = w;
  if (uv_poll_start(&w->poll, UV_READABLE, on_events) != 0) {
    uv_close((uv_handle_t *)&w->poll, on_closed);
    return -EIO;
  }
  *out = w;
  return 0;
}

static void on_closed(uv_handle_t *h) {
  struct watch *w = h->data;

  close(w->fd);
  free(w);
}

void watch_stop(struct watch *w) {
  if (w != NULL)
    uv_close((uv_handle_t *)&w->poll, on_closed);
}

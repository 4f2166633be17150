/* SPDX-License-Identifier: MIT */
/*
 * lease.c: the lease table and the holds behind it. See lease.h.
 */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"

static int lease_cmp(const struct lease *a, const struct lease *b) {
  return a->id < b->id ? -1 : a->id > b->id;
}

RB_GENERATE_INTERNAL(lease_tree, lease, by_id, lease_cmp, __attribute__((unused)) static)

/* Ordered by process first, so one process's holds are neighbours. */
static int hold_cmp(const struct hold *a, const struct hold *b) {
  if (a->pid != b->pid)
    return a->pid < b->pid ? -1 : 1;
  if (a->start != b->start)
    return a->start < b->start ? -1 : 1;
  return a->seg < b->seg ? -1 : a->seg > b->seg;
}

RB_GENERATE_INTERNAL(hold_tree, hold, by_key, hold_cmp, __attribute__((unused)) static)

void lease_table_init(struct lease_table *t) {
  RB_INIT(&t->by_id);
  RB_INIT(&t->holds);
  t->next_id = 1;
  t->count = 0;
  t->writable = 0;
  t->hold_count = 0;
  LIST_INIT(&t->stale);
  t->stale_count = 0;
}

static struct hold *hold_get(struct lease_table *t, pid_t pid, uint64_t start, struct segment *seg,
                             bool create) {
  struct hold key, *h;

  key.pid = pid;
  key.start = start;
  key.seg = seg;
  h = RB_FIND(hold_tree, &t->holds, &key);
  if (h != NULL || !create)
    return h;
  h = calloc(1, sizeof *h);
  if (h == NULL)
    return NULL;
  h->pid = pid;
  h->start = start;
  h->seg = seg;
  RB_INSERT(hold_tree, &t->holds, h);
  LIST_INSERT_HEAD(&seg->holds, h, by_seg);
  segment_ref(seg);
  t->hold_count++;
  return h;
}

static void hold_free(struct lease_table *t, struct registry *r, struct hold *h) {
  struct segment *seg = h->seg;

  seg->views -= h->kept_views;
  seg->writable_views -= h->kept_writable;
  if (h->stale) {
    LIST_REMOVE(h, by_stale);
    t->stale_count--;
  }
  RB_REMOVE(hold_tree, &t->holds, h);
  LIST_REMOVE(h, by_seg);
  t->hold_count--;
  free(h);
  segment_unref(r, seg);
}

static bool hold_idle(const struct hold *h) {
  return h->views == 0 && h->kept_views == 0;
}

/* A hold that keeps nothing: free it now unless a line on disk still
 * names it, which the next rewrite of the state file removes. */
static void hold_maybe_free(struct lease_table *t, struct registry *r, struct hold *h) {
  if (!hold_idle(h))
    return;
  if (!h->on_disk || !h->seg->linked) {
    hold_free(t, r, h);
  } else if (!h->stale) {
    h->stale = true;
    LIST_INSERT_HEAD(&t->stale, h, by_stale);
    t->stale_count++;
  }
}

void lease_table_fini(struct lease_table *t, struct registry *r) {
  struct hold *h, *next;

  RB_FOREACH_SAFE(h, hold_tree, &t->holds, next) hold_free(t, r, h);
}

struct lease *lease_add(struct lease_table *t, struct registry *r, struct lease_list *owner,
                        uid_t uid, pid_t pid, uint64_t start, struct segment *seg, uint64_t offset,
                        uint64_t length, bool writable, bool *record) {
  struct lease *l = calloc(1, sizeof *l);
  struct hold *h = l == NULL ? NULL : hold_get(t, pid, start, seg, true);

  if (h == NULL) {
    free(l);
    return NULL;
  }
  /* Views again before the state file was told otherwise: nothing to do. */
  if (h->stale) {
    LIST_REMOVE(h, by_stale);
    t->stale_count--;
    h->stale = false;
  }
  /* The process is back: its own leases count from now on. */
  if (h->kept_views > 0) {
    seg->views -= h->kept_views;
    seg->writable_views -= h->kept_writable;
    h->kept_views = h->kept_writable = 0;
  }
  l->id = t->next_id++;
  l->owner = owner;
  l->uid = uid;
  l->seg = seg;
  l->hold = h;
  l->offset = offset;
  l->length = length;
  l->writable = writable;
  l->chan_slot = PROTO_NO_PARTICIPANT;
  clock_gettime(CLOCK_REALTIME, &l->since);
  RB_INSERT(lease_tree, &t->by_id, l);
  LIST_INSERT_HEAD(owner, l, by_owner);
  TAILQ_INSERT_TAIL(&seg->holders, l, by_seg); /* ids only grow: stays sorted */
  segment_ref(seg);
  registry_usage_views(r, uid, 1);
  seg->views++;
  h->views++;
  t->count++;
  if (writable) {
    LIST_INSERT_HEAD(&seg->writers, l, by_segment);
    seg->writable_views++;
    h->writable++;
    t->writable++;
  }
  *record = !h->on_disk && seg->linked;
  return l;
}

void lease_hold_recorded(struct hold *h) {
  h->on_disk = true;
}

struct lease *lease_find(struct lease_table *t, const struct lease_list *owner, uint64_t id) {
  struct lease key, *l;

  key.id = id;
  l = RB_FIND(lease_tree, &t->by_id, &key);
  return l != NULL && l->owner == owner ? l : NULL;
}

void lease_remove(struct lease_table *t, struct registry *r, struct lease *l) {
  struct hold *h = l->hold;

  RB_REMOVE(lease_tree, &t->by_id, l);
  LIST_REMOVE(l, by_owner);
  TAILQ_REMOVE(&l->seg->holders, l, by_seg);
  l->seg->views--;
  h->views--;
  t->count--;
  if (l->writable) {
    LIST_REMOVE(l, by_segment);
    l->seg->writable_views--;
    h->writable--;
    t->writable--;
  }
  registry_usage_views(r, l->uid, -1);
  hold_maybe_free(t, r, h);
  segment_unref(r, l->seg);
  free(l);
}

uint64_t lease_remove_all(struct lease_table *t, struct registry *r, struct lease_list *owner) {
  uint64_t n = 0;

  while (!LIST_EMPTY(owner)) {
    lease_remove(t, r, LIST_FIRST(owner));
    n++;
  }
  return n;
}

int lease_hold_restore(struct lease_table *t, struct registry *r, struct segment *seg, pid_t pid,
                       uint64_t start, uint32_t views, uint32_t writable) {
  struct hold *h = hold_get(t, pid, start, seg, views > 0);

  if (views == 0) {
    if (h != NULL)
      hold_free(t, r, h);
    return 0;
  }
  if (h == NULL)
    return -1;
  if (writable > views)
    writable = views;
  /* Lines may repeat (appended, then in a snapshot): keep the largest. */
  if (views > h->kept_views) {
    seg->views += views - h->kept_views;
    h->kept_views = views;
  }
  if (writable > h->kept_writable) {
    seg->writable_views += writable - h->kept_writable;
    h->kept_writable = writable;
  }
  h->on_disk = true;
  return 0;
}

/* h or the first hold of the same process after it that keeps views. */
static struct hold *kept_from(struct lease_table *t, struct hold *h, pid_t pid, uint64_t start) {
  for (; h != NULL && h->pid == pid && h->start == start; h = RB_NEXT(hold_tree, &t->holds, h))
    if (h->kept_views > 0)
      return h;
  return NULL;
}

struct hold *lease_kept_first(struct lease_table *t, pid_t pid, uint64_t start) {
  struct hold key;

  key.pid = pid;
  key.start = start;
  key.seg = NULL;
  return kept_from(t, RB_NFIND(hold_tree, &t->holds, &key), pid, start);
}

struct hold *lease_kept_next(struct lease_table *t, struct hold *h) {
  return kept_from(t, RB_NEXT(hold_tree, &t->holds, h), h->pid, h->start);
}

void lease_kept_drop(struct lease_table *t, struct registry *r, struct hold *h) {
  h->seg->views -= h->kept_views;
  h->seg->writable_views -= h->kept_writable;
  h->kept_views = h->kept_writable = 0;
  hold_maybe_free(t, r, h);
}

void lease_segment_unlinking(struct lease_table *t, struct registry *r, struct segment *seg) {
  struct hold *h, *next;

  for (h = LIST_FIRST(&seg->holds); h != NULL; h = next) {
    next = LIST_NEXT(h, by_seg);
    if (hold_idle(h))
      hold_free(t, r, h);
  }
}

void lease_segment_forget(struct lease_table *t, struct registry *r, struct segment *seg) {
  while (!LIST_EMPTY(&seg->holds))
    hold_free(t, r, LIST_FIRST(&seg->holds));
}

uint64_t lease_prune_holds(struct lease_table *t, struct registry *r) {
  struct hold *h, *next;

  RB_FOREACH_SAFE(h, hold_tree, &t->holds, next) {
    if (hold_idle(h))
      hold_free(t, r, h);
  }
  return t->hold_count;
}

struct hold *lease_stale_first(struct lease_table *t) {
  return LIST_FIRST(&t->stale);
}

void lease_stale_dropped(struct lease_table *t, struct registry *r, struct hold *h) {
  hold_free(t, r, h);
}

struct hold *lease_hold_first(struct lease_table *t) {
  return RB_MIN(hold_tree, &t->holds);
}

struct hold *lease_hold_next(struct lease_table *t, struct hold *h) {
  (void)t;
  return RB_NEXT(hold_tree, &t->holds, h);
}

uint64_t lease_proc_start(pid_t pid) {
  char path[64], buf[1024], *p;
  unsigned long long start = 0;
  ssize_t n;
  int fd;

  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* The command name (field 2) may hold spaces and ')': skip to the last
   * ')', then field 3 (state) is the first after it; starttime is 22. */
  p = strrchr(buf, ')');
  if (p == NULL)
    return 0;
  p++;
  for (int field = 3; field < 22 && p != NULL; field++)
    p = strchr(p + 1, ' ');
  if (p == NULL || sscanf(p, " %llu", &start) != 1)
    return 0;
  return (uint64_t)start;
}

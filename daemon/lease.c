/* SPDX-License-Identifier: MIT */
/*
 * lease.c: the lease table. See lease.h.
 */
#include "config.h"

#include <stdlib.h>

#include "lease.h"

static int lease_cmp(const struct lease *a, const struct lease *b) {
  return a->id < b->id ? -1 : a->id > b->id;
}

RB_GENERATE_INTERNAL(lease_tree, lease, by_id, lease_cmp, __attribute__((unused)) static)

void lease_table_init(struct lease_table *t) {
  RB_INIT(&t->by_id);
  t->next_id = 1;
  t->count = 0;
  t->writable = 0;
}

struct lease *lease_add(struct lease_table *t, struct registry *r, struct lease_list *owner,
                        uid_t uid, struct segment *seg, uint64_t offset, uint64_t length,
                        bool writable) {
  struct lease *l = calloc(1, sizeof *l);

  if (l == NULL)
    return NULL;
  l->id = t->next_id++;
  l->owner = owner;
  l->uid = uid;
  l->seg = seg;
  l->offset = offset;
  l->length = length;
  l->writable = writable;
  RB_INSERT(lease_tree, &t->by_id, l);
  LIST_INSERT_HEAD(owner, l, by_owner);
  segment_ref(seg);
  registry_usage_views(r, uid, 1);
  seg->views++;
  t->count++;
  if (writable) {
    LIST_INSERT_HEAD(&seg->writers, l, by_segment);
    seg->writable_views++;
    t->writable++;
  }
  return l;
}

struct lease *lease_find(struct lease_table *t, const struct lease_list *owner, uint64_t id) {
  struct lease key, *l;

  key.id = id;
  l = RB_FIND(lease_tree, &t->by_id, &key);
  return l != NULL && l->owner == owner ? l : NULL;
}

void lease_remove(struct lease_table *t, struct registry *r, struct lease *l) {
  RB_REMOVE(lease_tree, &t->by_id, l);
  LIST_REMOVE(l, by_owner);
  l->seg->views--;
  t->count--;
  if (l->writable) {
    LIST_REMOVE(l, by_segment);
    l->seg->writable_views--;
    t->writable--;
  }
  registry_usage_views(r, l->uid, -1);
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

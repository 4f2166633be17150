/* SPDX-License-Identifier: MIT */
/*
 * mapcache.c: the mapping cache. A read-only mapping whose last view went
 * is kept (up to the map_cache option, least recently used out first) for
 * the next view of the same pages of the same object, which then costs no
 * mmap and no first-touch faults. Writable and ephemeral mappings are never
 * kept (see client_cache_put()). Guarded by the connection's lock.
 */
#include "config.h"

#include <sys/mman.h>

#include "client-internal.h"

bool client_cache_take(struct shmv_client *c, dev_t dev, ino_t ino, uint64_t start, size_t len,
                       struct cached_map *out) {
  bool found = false;
  pthread_mutex_lock(&c->lock);
  for (int i = 0; i < CLIENT_MAP_CACHE && !found; i++) {
    struct cached_map *e = &c->cache[i];
    if (e->base != NULL && e->dev == dev && e->ino == ino && e->start <= start &&
        start - e->start <= e->len && len <= e->len - (start - e->start)) {
      *out = *e;
      e->base = NULL;
      found = true;
    }
  }
  pthread_mutex_unlock(&c->lock);
  return found;
}

void client_cache_put(struct shmv_client *c, const struct client_mapping *m) {
  struct cached_map victim = { 0 };
  if (client_foreign(c)) {
    munmap(m->base, m->maplen); /* this process's copy of the mapping */
    return;
  }
  pthread_mutex_lock(&c->lock);
  /* An ephemeral segment goes with its last lease: a kept mapping of it
   * could serve no later view, and would only hold its memory. A writable
   * mapping is never kept: without a lease the daemon cannot see it, so a
   * freeze would succeed while this process could still write (and a
   * mapping of an O_RDWR descriptor stays writable whatever mprotect()
   * says of it now). */
  if (c->state == CLIENT_CLOSED || c->cache_max == 0 || m->ephemeral || m->writable) {
    victim.base = m->base;
    victim.len = m->maplen;
  } else {
    struct cached_map *slot = &c->cache[0];
    for (int i = 0; i < c->cache_max; i++) {
      if (c->cache[i].base == NULL) {
        slot = &c->cache[i];
        break;
      }
      if (c->cache[i].used < slot->used)
        slot = &c->cache[i];
    }
    victim = *slot;
    *slot =
        (struct cached_map){ m->base, m->maplen, m->map_start, m->dev, m->ino, ++c->cache_clock };
  }
  pthread_mutex_unlock(&c->lock);
  if (victim.base != NULL)
    munmap(victim.base, victim.len);
}

void client_cache_clear_locked(struct shmv_client *c) {
  for (int i = 0; i < CLIENT_MAP_CACHE; i++) {
    if (c->cache[i].base != NULL)
      munmap(c->cache[i].base, c->cache[i].len);
    c->cache[i].base = NULL;
  }
}

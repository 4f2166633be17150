/* SPDX-License-Identifier: MIT */
/*
 * reaper.c: the timers of the domain, ops' clock.
 *
 * Everything ops decides happens in answer to something (a request, a
 * connection's end, a holder's exit) but for one rule that is a matter of
 * time: an ephemeral segment re-adopted after a restart that nobody viewed
 * again by the end of the grace period goes then (ops_reap_adopted). This
 * file owns that timer, so the server's code knows nothing of segments.
 *
 * It looks once a second, from the loop's first turn, and stops once the
 * grace is over and the reap done. It never touches sockets, and decides
 * nothing itself: which segments go, and how, is ops.c's.
 */
#include "config.h"

#include "ops.h"
#include "reaper.h"

#define REAP_CHECK_MS 1000

static void on_reap(uv_timer_t *t) {
  struct reaper *r = t->data;

  if (proto_monotonic_ms() < r->d->grace_until_ms)
    return;
  ops_reap_adopted(r->d);
  uv_timer_stop(t);
}

void reaper_start(struct reaper *r, uv_loop_t *loop, struct daemon *d) {
  r->d = d;
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  uv_timer_start(&r->timer, on_reap, 0, REAP_CHECK_MS);
  r->active = true;
}

void reaper_stop(struct reaper *r) {
  if (!r->active)
    return;
  r->active = false;
  uv_close((uv_handle_t *)&r->timer, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * reaper.h: the domain's clock (see reaper.c).
 */
#ifndef SHMV_DAEMON_REAPER_H
#define SHMV_DAEMON_REAPER_H

#include <stdbool.h>

#include <uv.h>

#include "daemon.h"

struct reaper {
  uv_timer_t timer;
  struct daemon *d;
  bool active;
};

/* After state_open (d->grace_until_ms is set): remove the ephemeral
 * segments re-adopted at start that nobody viewed again once the restart
 * grace is over, on the loop's first turn if there is no grace. */
void reaper_start(struct reaper *r, uv_loop_t *loop, struct daemon *d);

/* Close the timer (on the next loop turn); nothing is reaped after this. */
void reaper_stop(struct reaper *r);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * holders.h: watch the processes that held views before a restart, and
 * keep the state file's record of holds current (see holders.c).
 */
#ifndef SHMV_DAEMON_HOLDERS_H
#define SHMV_DAEMON_HOLDERS_H

#include <uv.h>

#include "daemon.h"

struct holders;

/* After state_open: watch every process with kept holds (dropping those
 * already gone), and start rewriting the state file when holds go idle. */
int holders_start(struct holders **out, uv_loop_t *loop, struct daemon *d);
/* Close every handle (before the loop's last run); nothing is rewritten
 * after this, so the holds of connections closed at exit stay on disk. */
void holders_stop(struct holders *hs);
void holders_free(struct holders *hs);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * fixture-client.h: the fixture of the integration tests that talk to one
 * daemon through one client. For each test (a Check checked fixture),
 * setup() starts a fresh daemon `d` and connects a client `c` to it;
 * teardown() disconnects and requires the daemon to stop cleanly. A test
 * file includes this once instead of defining the four itself.
 */
#ifndef SHMV_TESTS_FIXTURE_CLIENT_H
#define SHMV_TESTS_FIXTURE_CLIENT_H

#include <check.h>

#include "harness.h"
#include "shmview.h"

static struct harness_daemon d;
static shmv_client *c;

static void setup(void) {
  harness_daemon_start(&d, NULL);
  ck_assert_int_eq(shmv_connect(d.socket, &c), 0);
}

static void teardown(void) {
  shmv_disconnect(c);
  ck_assert_int_eq(harness_daemon_stop(&d), 0);
}

#endif

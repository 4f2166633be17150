/* SPDX-License-Identifier: MIT */
/*
 * daemon.h: shmviewd's configuration and its whole state.
 *
 * One struct daemon lives for the life of the process; the handlers in
 * ops.c act on it and the server (server.c and its rooms) feeds them
 * requests.
 */
#ifndef SHMV_DAEMON_DAEMON_H
#define SHMV_DAEMON_DAEMON_H

#include <limits.h>
#include <stdint.h>
#include <sys/un.h>

#include "lease.h"
#include "namespaces.h"
#include "registry.h"

struct daemon_config {
  char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  char prefix[REGISTRY_PREFIX_MAX + 1];
  uint64_t max_segment_size;  /* bytes; 0: no limit but /dev/shm */
  uint64_t max_total_size;    /* bytes over all segments; 0: none */
  uint64_t max_clients;       /* connections; 0: none */
  uint64_t max_clients_uid;   /* connections per uid (not root's nor ours); 0: none */
  uint64_t max_clients_root;  /* connections by root or the daemon's uid; 0: none */
  uint64_t max_views;         /* leases over all clients; 0: none */
  uint64_t max_fds_in_flight; /* descriptors sent to one connection and not yet read */
  uint64_t fd_cache;          /* segments keeping descriptors for their next open */
  uint64_t frame_max;         /* payload bytes */
  int log_level;
  /* Per-uid quotas (0: none): bytes and segments charged to a segment's
   * owner, views to the uid of the connection holding them. */
  uint64_t quota_bytes;
  uint64_t quota_segments;
  uint64_t quota_views;
  /* The registry's state file; "" = <socket's directory>/<prefix>.state */
  char state_path[PATH_MAX];
  uint64_t grace_ms;         /* after a restart: no shrinking re-adopted segments */
  uint64_t send_timeout_ms;  /* drop a client whose answers wait this long; 0: never */
  uint64_t frame_timeout_ms; /* drop a client that leaves a frame half sent this long */
  bool allow_namespaces;     /* run even where namespaces hide clients (namespaces.h) */
  /* "daemon": posix_fallocate every segment's memory (charged to the
   * daemon's memory cgroup); "none": the first process to touch a page
   * allocates it (and its cgroup pays). docs/containers.md. */
  char reserve[8];
};

struct daemon {
  struct daemon_config cfg;
  struct registry reg;
  struct lease_table leases;
  uint64_t clients;
  uint64_t requests;
  uint64_t started_ms;     /* CLOCK_MONOTONIC */
  uint64_t grace_until_ms; /* CLOCK_MONOTONIC; 0: no restart grace */
  struct state *state;     /* the state file (state.c); NULL: none */
  struct ns_self ns;       /* what the daemon's own namespaces hide from it */
};

#endif

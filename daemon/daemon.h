/*
 * daemon.h: shmviewd's configuration and its whole state.
 *
 * One struct daemon lives for the life of the process; the handlers in
 * ops.c act on it and the server in server.c feeds them requests.
 */
#ifndef SHMVD_DAEMON_H
#define SHMVD_DAEMON_H

#include <stdint.h>
#include <sys/un.h>

#include "lease.h"
#include "registry.h"

struct daemon_config {
  char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  char prefix[REGISTRY_PREFIX_MAX + 1];
  uint64_t max_segment_size;  /* bytes; 0: no limit but /dev/shm */
  uint64_t max_total_size;    /* bytes over all segments; 0: none */
  uint64_t max_clients;       /* connections; 0: none */
  uint64_t max_views;         /* leases over all clients; 0: none */
  uint64_t frame_max;         /* payload bytes */
  int log_level;
};

struct daemon {
  struct daemon_config cfg;
  struct registry reg;
  struct lease_table leases;
  uint64_t clients;
  uint64_t requests;
  uint64_t started_ms;        /* CLOCK_MONOTONIC */
};

#endif

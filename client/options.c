/* SPDX-License-Identifier: MIT */
/*
 * options.c: what shapes a connection besides its socket: the caller's
 * shmv_connect_options (read by its size, as every sized struct of the
 * ABI) and the environment variables that override them
 * (SHMVIEW_MAP_CACHE, SHMVIEW_RECONNECT_MS, SHMVIEW_TRUSTED_UID), read with
 * secure_getenv() so a setuid or setgid program ignores its invoker's.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client-internal.h"

/* How long a request keeps trying to reach a daemon that went away
 * (restarting, say) before it fails; SHMVIEW_RECONNECT_MS overrides. */
#define RECONNECT_TIMEOUT_MS 5000

/* The uid $SHMVIEW_TRUSTED_UID names, or -1. Not in setuid programs
 * (secure_getenv): there the environment is the invoker's, who must not
 * choose whose daemon the program trusts. */
int64_t client_env_trusted_uid(void) {
  const char *e = secure_getenv("SHMVIEW_TRUSTED_UID");
  char *end;
  if (e == NULL || *e < '0' || *e > '9')
    return -1;
  errno = 0;
  unsigned long long v = strtoull(e, &end, 10);
  if (errno != 0 || *end != '\0' || v >= (uid_t)-1)
    return -1;
  return (int64_t)v;
}

/* An environment variable holding a decimal number no larger than max;
 * fallback when it is unset or anything else, or in a setuid or setgid
 * program (secure_getenv: its environment is its invoker's). */
static int64_t env_number(const char *name, uint64_t max, int64_t fallback) {
  const char *e = secure_getenv(name);
  char *end;
  if (e == NULL || *e < '0' || *e > '9')
    return fallback;
  errno = 0;
  unsigned long long v = strtoull(e, &end, 10);
  if (errno != 0 || *end != '\0' || v > max)
    return fallback;
  return (int64_t)v;
}

/* Options as this library knows them, from the caller's struct of
 * opts->size bytes: a smaller one is an older program's (every field it
 * lacks keeps its default), a larger one a newer program's, whose fields
 * this library does not know must then be zero. */
int client_options_read(const shmv_connect_options *opts, shmv_connect_options *o) {
  const shmv_connect_options defaults = SHMV_CONNECT_OPTIONS_INIT;
  *o = defaults;
  if (opts == NULL)
    return 0;
  /* The first version is this one: nothing smaller exists. */
  if (opts->size < sizeof *o)
    return -EINVAL;
  for (size_t i = sizeof *o; i < opts->size; i++)
    if (((const unsigned char *)opts)[i] != 0)
      return -EINVAL;
  memcpy(o, opts, sizeof *o);
  o->size = sizeof *o;
  if (o->reconnect_ms < -1 || o->map_cache < -1 || o->map_cache > SHMV_MAP_CACHE_MAX ||
      o->trusted_uid < -1 || o->trusted_uid >= (int64_t)(uid_t)-1)
    return -EINVAL;
  return 0;
}

void client_options_apply(struct shmv_client *c, const shmv_connect_options *o) {
  /* The environment overrides what the program chose. */
  c->cache_max = (int)env_number("SHMVIEW_MAP_CACHE", SHMV_MAP_CACHE_MAX,
                                 o->map_cache >= 0 ? o->map_cache : CLIENT_MAP_CACHE);
  c->reconnect_ms =
      (uint64_t)env_number("SHMVIEW_RECONNECT_MS", INT64_MAX,
                           o->reconnect_ms >= 0 ? o->reconnect_ms : RECONNECT_TIMEOUT_MS);
  c->trusted_uid = o->trusted_uid;
}

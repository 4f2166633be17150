/* SPDX-License-Identifier: MIT */
/*
 * conf.h: shmviewd's settings, from the command line and the config file.
 *
 * (Named conf.h, not config.h: every source file includes autoconf's
 * "config.h" first, and a daemon/config.h would shadow it for the files in
 * daemon/.)
 *
 * Every setting is one row of a table in conf.c: its name (which is both
 * the long option and the config file key), its kind (which picks the one
 * value parser shared by flags and file), where it lands in struct
 * daemon_config, and its help line. Adding a setting is adding a field to
 * struct daemon_config and a row to that table.
 *
 * Order: built-in defaults, then the config file, then the flags, so flags
 * win. The config file is CONF_DEFAULT_FILE if it exists (missing is fine),
 * or the --config PATH given (missing is an error).
 */
#ifndef SHMV_DAEMON_CONF_H
#define SHMV_DAEMON_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

#ifndef CONF_DEFAULT_FILE
#define CONF_DEFAULT_FILE "/etc/shmview/shmviewd.conf"
/* Compute the defaults that depend on the host: --max-total-size is 3/4 and
 * --quota-bytes 1/4 of the size of the file system holding shm_dir
 * (/dev/shm). */
void conf_resolve(struct daemon_config *cfg, const char *shm_dir);

#endif

/* A setting whose default is computed at start (conf_resolve). */
#define CONF_AUTO UINT64_MAX

/* Exit statuses of conf_from_args's callers: a bad command line exits 2, a
 * bad config file EX_CONFIG (78), so that a service manager can tell a
 * deterministic failure (RestartPreventExitStatus=) from one worth a retry. */
#define CONF_EXIT_USAGE  2
#define CONF_EXIT_CONFIG 78

/* Built-in defaults (socket unresolved). */
void conf_defaults(struct daemon_config *cfg);

/* Set the setting named `key` from its text form. Returns 0, or -1 with a
 * sentence saying why in err ("unknown key 'x'", "'x' is not a size ..."). */
int conf_set(struct daemon_config *cfg, const char *key, const char *value, char *err,
             size_t errlen);

/* Read `key = value` lines from path into cfg. A missing file is 0 unless
 * required. Errors are logged at error priority ("PATH:LINE: ...", through
 * log.h, so log_init() first) and return -1. */
int conf_load_file(struct daemon_config *cfg, const char *path, int required);

/* Fill cfg from defaults, the config file and argv, then resolve the
 * socket path. Returns 0 to run, 1 to exit 0 (--help, --version printed),
 * -1 on a command-line error already logged (exit CONF_EXIT_USAGE), -2 on a
 * config file error already logged (exit CONF_EXIT_CONFIG). */
int conf_from_args(int argc, char **argv, struct daemon_config *cfg);

/* Compute the defaults that depend on the host: --max-total-size is 3/4 and
 * --quota-bytes 1/4 of the size of the file system holding shm_dir
 * (/dev/shm). */
void conf_resolve(struct daemon_config *cfg, const char *shm_dir);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * log.h: leveled log lines on stderr.
 *
 * shmviewd runs in the foreground under a supervisor, so stderr is the log.
 * When stderr is the journal (JOURNAL_STREAM names it), each line carries a
 * "<N>" syslog priority prefix instead of a level word, which journald
 * strips and records as the priority.
 */
#ifndef SHMV_DAEMON_LOG_H
#define SHMV_DAEMON_LOG_H

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_init(enum log_level min);
/* -1 if s names no level */
int log_level_parse(const char *s);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

#endif

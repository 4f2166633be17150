/* SPDX-License-Identifier: MIT */
/*
 * log.c: one line per event on stderr, with a level.
 *
 * Lines are formatted whole and written with one write(2) so lines from a
 * dying process are never interleaved mid-line.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static enum log_level min_level = LOG_LVL_INFO;
static bool to_journal;

static const struct {
  const char *word;
  int syslog_prio; /* what journald records */
} levels[] = {
  [LOG_LVL_DEBUG] = { "debug", 7 },
  [LOG_LVL_INFO] = { "info", 6 },
  [LOG_LVL_WARN] = { "warning", 4 },
  [LOG_LVL_ERROR] = { "error", 3 },
};

/* JOURNAL_STREAM is "DEV:INO" of the journal socket systemd connected to
 * our stderr; it only counts if stderr is still that socket. */
static bool stderr_is_journal(void) {
  const char *e = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;

  if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
    return false;
  if (fstat(STDERR_FILENO, &st) != 0)
    return false;
  return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(enum log_level min) {
  min_level = min;
  to_journal = stderr_is_journal();
}

int log_level_parse(const char *s) {
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
    if (strcmp(s, levels[i].word) == 0)
      return (int)i;
  if (strcmp(s, "warn") == 0)
    return LOG_LVL_WARN;
  return -1;
}

void log_msg(enum log_level lvl, const char *fmt, ...) {
  char line[1024];
  int n;
  va_list ap;

  if (lvl < min_level)
    return;
  if (to_journal)
    n = snprintf(line, sizeof line, "<%d>", levels[lvl].syslog_prio);
  else
    n = snprintf(line, sizeof line, "shmviewd: %s: ", levels[lvl].word);
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof line - 1)
    n = (int)sizeof line - 2; /* truncated: keep the newline */
  line[n++] = '\n';
  if (write(STDERR_FILENO, line, (size_t)n) < 0) {
    /* nowhere left to report it */
  }
}

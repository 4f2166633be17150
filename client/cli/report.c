/* SPDX-License-Identifier: MIT */
/*
 * report.c: what the commands say on stderr, and the checks on what they
 * write to stdout: one "shmview: " prefix, one wording for errors from the
 * daemon, quiet on a reader that went away.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_verror(const char *fmt, va_list ap) {
  fflush(stdout);
  fputs("shmview: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void cli_error(const char *fmt, ...) {
  va_list ap;

  va_start(ap, fmt);
  cli_verror(fmt, ap);
  va_end(ap);
}

const char *cli_op_strerror(int code) {
  /* The daemon's own sentence, or the library's, says most ("offset 8192
   * is past the end of 'frames' (4096 bytes)"): the CLI makes one call at
   * a time, so the thread's last failure is this one. */
  const char *said = shmv_last_error(NULL);
  if (*said != '\0' && strcmp(said, shmv_strerror(code)) != 0)
    return said;
  /* Once connected, ENOENT can only be about the segment. */
  if (code == -ENOENT || code == ENOENT)
    return "no such segment";
  return shmv_strerror(code);
}

int cli_finish_stdout(void) {
  if (fflush(stdout) == 0 && !ferror(stdout))
    return 0;
  if (errno != EPIPE)
    cli_error("write to standard output: %s", strerror(errno));
  return CLI_EXIT_FAIL;
}

int cli_view_to_stdout(const shmv_view *v) {
  int r = cli_write_all(STDOUT_FILENO, shmv_view_data(v), shmv_view_length(v));

  if (r == 0)
    return 0;
  if (r != -EPIPE)
    cli_error("write to standard output: %s", strerror(-r));
  return CLI_EXIT_FAIL;
}

int cli_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;

  while (len > 0) {
    ssize_t n = write(fd, p, len > (1 << 30) ? (1 << 30) : len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

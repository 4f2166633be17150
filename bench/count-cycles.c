/* SPDX-License-Identifier: MIT */
/*
 * count-cycles.c: the client that bench/count-requests.sh drives the daemon
 * with. It creates a 4 KiB segment, then makes N cycles of a writable
 * shmv_view_open, a touch and shmv_view_release; with `hold`, N opens kept
 * to the end (the daemon ends their leases at the disconnect). Counting the
 * daemon's work for N and for 0 cycles gives the cost of one cycle.
 *
 * Usage: count-cycles SOCKET N [hold]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmview.h"

int main(int argc, char **argv) {
  shmv_client *c;
  shmv_view *v;
  long n, i;
  int hold, rc;

  if (argc < 3 || (n = strtol(argv[2], NULL, 10)) < 0) {
    fprintf(stderr, "usage: count-cycles SOCKET N [hold]\n");
    return 2;
  }
  hold = argc > 3 && strcmp(argv[3], "hold") == 0;
  if ((rc = shmv_connect(argv[1], &c)) < 0 || (rc = shmv_create(c, "cycles", 4096, 0600)) < 0) {
    fprintf(stderr, "count-cycles: %s\n", shmv_strerror(rc));
    return 1;
  }
  for (i = 0; i < n; i++) {
    if ((rc = shmv_view_open(c, "cycles", 0, SHMV_TO_END, SHMV_WRITABLE, &v)) < 0) {
      fprintf(stderr, "count-cycles: open: %s\n", shmv_strerror(rc));
      return 1;
    }
    ((volatile char *)shmv_view_data(v))[0]++;
    if (!hold)
      shmv_view_release(v); /* held views stay mapped until exit */
  }
  /* held views keep the segment: it is left for the script to remove */
  rc = hold ? 0 : shmv_unlink(c, "cycles");
  shmv_disconnect(c);
  if (rc < 0)
    fprintf(stderr, "count-cycles: unlink: %s\n", shmv_strerror(rc));
  return rc < 0;
}

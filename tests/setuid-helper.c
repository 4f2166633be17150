/* SPDX-License-Identifier: MIT */
/*
 * setuid-helper.c: a setuid (or setgid) program linking libshmview, for
 * test-peer's secure-execution case. It reads FILE with its privileges,
 * connects with shmv_connect(NULL) (or to SOCKET, given), creates segment
 * NAME and writes the file's bytes into it. It says what it saw on
 * stdout: "secure N euid U egid G", "socket PATH" (the default it resolves), then
 * "refused RC: SENTENCE" (exit 3) or "sent N bytes" (exit 0).
 *
 * Built with -no-install: a libtool wrapper script cannot be setuid, and
 * the loader ignores LD_LIBRARY_PATH in a setuid program.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "shmview.h"

/* In a sanitizer build: LeakSanitizer cannot work in a setuid or setgid
 * process (not dumpable) and would end it with an error at exit. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "detect_leaks=0";
}

int main(int argc, char **argv) {
  char data[4096], sock[128];
  shmv_client *c;
  shmv_view *v;

  setvbuf(stdout, NULL, _IOLBF, 0); /* each line reaches the test, whatever ends us */
  if (argc < 3) {
    fprintf(stderr, "usage: setuid-helper FILE NAME [SOCKET]\n");
    return 2;
  }
  printf("secure %lu euid %u egid %u\n", getauxval(AT_SECURE), (unsigned)geteuid(),
         (unsigned)getegid());
  fflush(stdout);
  int fd = open(argv[1], O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, data, sizeof data);
  if (n <= 0) {
    perror(argv[1]);
    return 2;
  }
  close(fd);
  if (shmv_default_socket_path(sock, sizeof sock) == 0)
    printf("socket %s\n", sock);
  int rc = shmv_connect(argc > 3 ? argv[3] : NULL, &c);
  if (rc < 0) {
    printf("refused %d: %s\n", rc, shmv_last_error(NULL));
    return 3;
  }
  rc = shmv_create(c, argv[2], (size_t)n, 0600);
  if (rc == 0)
    rc = shmv_view_open(c, argv[2], 0, SHMV_TO_END, SHMV_WRITABLE, &v);
  if (rc < 0) {
    printf("failed %d: %s\n", rc, shmv_last_error(c));
    shmv_disconnect(c);
    return 4;
  }
  memcpy(shmv_view_data(v), data, (size_t)n);
  shmv_view_release(v);
  shmv_disconnect(c);
  printf("sent %zd bytes\n", n);
  return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * demo.c: two processes share a segment through views.
 *
 * The memoryview tutorial's first example, between processes: the writer
 * creates "greeting" and writes "Hello, World!" through a writable view;
 * the reader, a separate process that only knows the descriptor text the
 * writer printed, opens a read-only view and a slice of it; the writer
 * changes one byte and the reader sees it without reopening anything.
 *
 *   shmview-demo [SOCKET]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmview.h>

static void die(const char *what, int rc) {
  fprintf(stderr, "shmview-demo: %s: %s\n", what, shmv_strerror(rc));
  exit(1);
}

/* The reader: another process, handed a descriptor as text. */
static int reader(const char *socket, int from_writer, int to_writer) {
  char text[SHMV_DESCRIPTOR_MAX] = { 0 }, go = 0;
  shmv_descriptor desc;
  shmv_client *c;
  shmv_view *whole, *world;
  int rc;

  if (read(from_writer, text, sizeof text - 1) <= 0)
    return 1;
  printf("reader (pid %d): got descriptor %s\n", (int)getpid(), text);
  if ((rc = shmv_descriptor_parse(text, &desc)) < 0)
    die("parse", rc);
  if ((rc = shmv_connect(socket, &c)) < 0)
    die("connect", rc);
  desc.writable = 0; /* a reader asks for read-only: the kernel enforces it */
  if ((rc = shmv_view_open_descriptor(c, &desc, &whole)) < 0)
    die("open", rc);
  if ((rc = shmv_view_slice(whole, 7, 12, &world)) < 0)
    die("slice", rc);
  printf("reader: view [7,12) reads \"%.*s\" (a slice: same memory, %s)\n",
         (int)shmv_view_length(world), (const char *)shmv_view_data(world),
         (char *)shmv_view_data(world) == (char *)shmv_view_data(whole) + 7 ? "no copy"
                                                                            : "a copy?!");
  if (write(to_writer, "r", 1) != 1 || read(from_writer, &go, 1) != 1)
    return 1;
  printf("reader: after the writer's change, the whole view reads \"%.*s\"\n",
         (int)shmv_view_length(whole), (const char *)shmv_view_data(whole));
  shmv_view_release(world);
  shmv_view_release(whole);
  shmv_disconnect(c);
  return 0;
}

int main(int argc, char **argv) {
  const char *socket = argc > 1 ? argv[1] : NULL;
  int to_reader[2], to_writer[2], status, rc;
  char text[SHMV_DESCRIPTOR_MAX], ack;
  shmv_descriptor desc;
  shmv_client *c;
  shmv_view *v;
  pid_t pid;

  setvbuf(stdout, NULL, _IOLBF, 0); /* both processes, in order */
  if (pipe(to_reader) != 0 || pipe(to_writer) != 0)
    return 1;
  pid = fork();
  if (pid < 0)
    return 1;
  if (pid == 0)
    _exit(reader(socket, to_reader[0], to_writer[1]));

  if ((rc = shmv_connect(socket, &c)) < 0)
    die("connect", rc);
  rc = shmv_create(c, "greeting", 13, 0644);
  if (rc < 0 && rc != -EEXIST)
    die("create greeting", rc);
  if ((rc = shmv_view_open(c, "greeting", 0, SHMV_TO_END, SHMV_WRITABLE, &v)) < 0)
    die("open greeting", rc);
  memcpy(shmv_view_data(v), "Hello, World!", 13);
  shmv_view_descriptor(v, &desc);
  shmv_descriptor_format(&desc, text, sizeof text);
  printf("writer (pid %d): wrote \"Hello, World!\" into %s\n", (int)getpid(), text);
  fflush(stdout);
  if (write(to_reader[1], text, strlen(text)) < 0 || read(to_writer[0], &ack, 1) != 1)
    return 1;
  ((char *)shmv_view_data(v))[0] = 'A';
  printf("writer: set byte 0 to 'A'\n");
  fflush(stdout);
  if (write(to_reader[1], "g", 1) != 1)
    return 1;
  waitpid(pid, &status, 0);
  shmv_view_release(v);
  shmv_disconnect(c);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

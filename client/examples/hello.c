/* SPDX-License-Identifier: MIT */
/*
 * hello.c: libshmview in one page, the README's example. Connect, create a
 * segment, open a writable view and write through it, slice the view (the
 * same memory: no copy, no round trip), describe the slice as text another
 * process could open, release everything. The segment stays for others.
 *
 *   cc hello.c $(pkg-config --cflags --libs shmview) -o hello
 *   ./hello [SOCKET]
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <shmview.h>

int main(int argc, char **argv) {
  const char *socket = argc > 1 ? argv[1] : NULL; /* NULL: the default socket */
  char text[SHMV_DESCRIPTOR_MAX];
  shmv_descriptor d;
  shmv_client *c;
  shmv_view *v, *world;
  int rc;

  if ((rc = shmv_connect(socket, &c)) < 0)
    errx(1, "connect: %s", shmv_strerror(rc));
  rc = shmv_create(c, "greeting", 13, 0644); /* 13 bytes, rw-r--r-- */
  if (rc < 0 && rc != -EEXIST)               /* made by an earlier run: fine */
    errx(1, "create: %s", shmv_strerror(rc));
  if ((rc = shmv_view_open(c, "greeting", 0, 13, SHMV_WRITABLE, &v)) < 0)
    errx(1, "open: %s", shmv_strerror(rc));
  memcpy(shmv_view_data(v), "Hello, World!", 13);

  if ((rc = shmv_view_slice(v, 7, 12, &world)) < 0) /* [7,12): "World" */
    errx(1, "slice: %s", shmv_strerror(rc));
  printf("%.*s\n", (int)shmv_view_length(world), (const char *)shmv_view_data(world));

  /* Another process parses this text with shmv_descriptor_parse() and
   * opens the same window with shmv_view_open_descriptor(). */
  if ((rc = shmv_view_descriptor(world, &d)) < 0 ||
      (rc = shmv_descriptor_format(&d, text, sizeof text)) < 0)
    errx(1, "descriptor: %s", shmv_strerror(rc));
  printf("%s\n", text); /* greeting:7:5:rw */

  shmv_view_release(world);
  shmv_view_release(v);
  shmv_disconnect(c);
  return 0;
}

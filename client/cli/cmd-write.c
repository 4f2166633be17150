/* SPDX-License-Identifier: MIT */
/* cmd-write.c: copy standard input into a segment from an offset, only if it fits. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int cmd_write_exec(struct cli_ctx *, const struct cli_args *);

const struct cli_command cli_cmd_write = {
  .name = "write",
  .alias = NULL,
  .summary = "Copy standard input into a segment, if it fits.",
  .help = "Copy standard input into segment NAME from OFFSET. Input larger than the\n"
          "room to the end (or LENGTH) is refused and the segment left untouched.",
  .args = { cli_window_options, 1, 1, { { CLI_T_WINDOW, "NAME[:OFFSET[:LENGTH]]" } } },
  .flags = CLI_CONNECTS,
  .exec = cmd_write_exec,
};

/* The input is staged before the segment is touched, so input too large
 * leaves it as it was. Up to this much is staged in memory; beyond it (only
 * for windows larger than this) the input spills to an unlinked file in
 * $TMPDIR, so memory stays bounded whatever the window. */
#define WRITE_STAGE_MEM_MAX ((size_t)64 << 20)
#define WRITE_CHUNK         ((size_t)1 << 16)

struct stage {
  unsigned char *mem; /* the first bytes of the input */
  size_t mem_len, mem_cap;
  int spill;    /* -1, or the fd of the rest of the input */
  size_t total; /* bytes read in all */
};

static int stage_spill_open(void) {
  const char *dir = getenv("TMPDIR");
  char path[4096];
  int fd;

  if (dir == NULL || dir[0] == '\0')
    dir = "/tmp";
  if ((size_t)snprintf(path, sizeof path, "%s/shmview-write.XXXXXX", dir) >= sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if ((fd = mkstemp(path)) < 0)
    return -1;
  unlink(path);
  return fd;
}

/* Read standard input until EOF or until more than room bytes arrived.
 * 0, or -errno (message printed). */
static int stage_read(struct stage *st, size_t room) {
  size_t want = room == SIZE_MAX ? room : room + 1; /* one more shows "too large" */
  unsigned char chunk[WRITE_CHUNK];

  while (st->total < want) {
    size_t n = want - st->total;
    unsigned char *dst;
    ssize_t got;

    if (st->spill < 0 && st->mem_len < WRITE_STAGE_MEM_MAX) {
      /* in memory, growing geometrically up to the cap */
      if (st->mem_len == st->mem_cap) {
        size_t cap = st->mem_cap ? st->mem_cap * 2 : WRITE_CHUNK;
        unsigned char *m;

        if (cap > WRITE_STAGE_MEM_MAX)
          cap = WRITE_STAGE_MEM_MAX;
        if (cap > want)
          cap = want;
        if ((m = realloc(st->mem, cap)) == NULL) {
          cli_error("staging the input: %s", strerror(ENOMEM));
          return -ENOMEM;
        }
        st->mem = m;
        st->mem_cap = cap;
      }
      dst = st->mem + st->mem_len;
      if (n > st->mem_cap - st->mem_len)
        n = st->mem_cap - st->mem_len;
    } else {
      if (st->spill < 0 && (st->spill = stage_spill_open()) < 0) {
        int e = errno;
        cli_error("staging the input in a temporary file: %s", strerror(e));
        return -e;
      }
      dst = chunk;
      if (n > sizeof chunk)
        n = sizeof chunk;
    }

    got = read(STDIN_FILENO, dst, n);
    if (got < 0) {
      int e = errno;
      if (e == EINTR)
        continue;
      cli_error("read from standard input: %s", strerror(e));
      return -e;
    }
    if (got == 0)
      break;
    st->total += (size_t)got;
    if (st->spill < 0) {
      st->mem_len += (size_t)got;
    } else {
      int r = cli_write_all(st->spill, chunk, (size_t)got);
      if (r != 0) {
        cli_error("staging the input in a temporary file: %s", strerror(-r));
        return r;
      }
    }
  }
  return 0;
}

/* Copy the staged input into dst (which has room for all of it). */
static int stage_copy(const struct stage *st, unsigned char *dst) {
  size_t done, rest;

  if (st->mem_len > 0)
    memcpy(dst, st->mem, st->mem_len);
  done = st->mem_len;
  rest = st->total - done;
  while (rest > 0) {
    ssize_t got = pread(st->spill, dst + done, rest, (off_t)(done - st->mem_len));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      cli_error("reading back the staged input: %s", got < 0 ? strerror(errno) : "file shrank");
      return -EIO;
    }
    done += (size_t)got;
    rest -= (size_t)got;
  }
  return 0;
}

static int cmd_write_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  struct stage st = { NULL, 0, 0, -1, 0 };
  const shmv_descriptor *d = &args->window;
  shmv_view *v;
  size_t room;
  int status;

  /* Writable whatever the descriptor says (":ro" would make no sense here). */
  if ((status = cli_open_view(ctx, d, 1, &v)) != 0)
    return status;
  room = shmv_view_length(v);

  if (stage_read(&st, room) != 0) {
    status = CLI_EXIT_FAIL;
  } else if (st.total > room) {
    if (d->length == SHMV_TO_END)
      cli_error("input is larger than the %zu byte%s from offset %zu to the end of %s", room,
                room == 1 ? "" : "s", d->offset, d->name);
    else
      cli_error("input is larger than the %zu byte%s from offset %zu of %s "
                "(the length asked for)",
                room, room == 1 ? "" : "s", d->offset, d->name);
    status = CLI_EXIT_FAIL;
  } else if (st.total > 0 && stage_copy(&st, shmv_view_data(v)) != 0) {
    status = CLI_EXIT_FAIL;
  }

  shmv_view_release(v);
  free(st.mem);
  if (st.spill >= 0)
    close(st.spill);
  return status;
}

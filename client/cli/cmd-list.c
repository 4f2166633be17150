/* SPDX-License-Identifier: MIT */
/* cmd-list.c: list every segment as a table sorted by name, or as JSON. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"

static int cmd_list_exec(struct cli_ctx *, const struct cli_args *);

static const struct cli_option list_options[] = {
  { 'b', "bytes", CLI_T_FLAG, NULL, "sizes in exact bytes, not 1.5K or 2.0M" },
  { 'H', "no-header", CLI_T_FLAG, NULL, "no header line (for scripts)" },
  { 'p', "holders", CLI_T_FLAG, NULL, "one row per view held: who, which window, since when" },
  { 0, NULL, CLI_T_FLAG, NULL, NULL },
};

const struct cli_command cli_cmd_list = {
  .name = "list",
  .alias = "ls",
  .summary = "List the segments: size, owner, mode, views, creation time, flags.",
  .help = "A table sorted by name; VIEWS is total/writable; FLAGS says ephemeral\n"
          "(removed when its last view ends), unlinked (removed, still mapped;\n"
          "listed after the others) and frozen (no writable view or resize any\n"
          "more), or - for none. A segment you may not read shows only its name,\n"
          "size, owner and mode (- elsewhere), as ls -l does. --json prints an array\n"
          "of objects (name, size, uid, gid, mode, views, writable_views, created,\n"
          "ephemeral, unlinked, frozen, restricted; the hidden ones null).\n"
          "--holders lists who holds views instead: one row per view (segment, pid,\n"
          "user, command, window, rw/ro, since), as fuser or ipcs -p would; with\n"
          "--json an array of objects (name, pid, uid, comm, offset, length,\n"
          "writable, since).",
  .args = { list_options, 0, 0, { { 0 } } },
  .flags = CLI_CONNECTS | CLI_JSON,
  .exec = cmd_list_exec,
};

static int cmd_list_json(const shmv_segment_info *list, size_t n) {
  if (n == 0) {
    puts("[]");
    return cli_finish_stdout();
  }
  fputs("[\n", stdout);
  for (size_t i = 0; i < n; i++) {
    fputs("  ", stdout);
    cli_json_segment(stdout, &list[i]);
    fputs(i + 1 < n ? ",\n" : "\n", stdout);
  }
  fputs("]\n", stdout);
  return cli_finish_stdout();
}

static int cmd_list_table(const shmv_segment_info *list, size_t n, const struct cli_args *args) {
  static const char *const headers[] = { "NAME",  "SIZE",    "OWNER", "MODE",
                                         "VIEWS", "CREATED", "FLAGS" };
  static const int right[] = { 0, 1, 0, 0, 1, 0, 0 };
  struct cli_table *t = cli_table_new(7, cli_args_has(args, 'H') ? NULL : headers, right);
  int status;

  if (t == NULL) {
    cli_error("out of memory");
    return CLI_EXIT_FAIL;
  }
  for (size_t i = 0; i < n; i++) {
    const shmv_segment_info *s = &list[i];
    char size[CLI_SIZE_MAX], owner[256], mode[16], views[48], created[64], flags[40];
    const char *cells[7];

    snprintf(mode, sizeof mode, "%04o", s->mode & 07777);
    snprintf(views, sizeof views, "%llu/%llu", (unsigned long long)s->views,
             (unsigned long long)s->writable_views);
    cells[0] = s->name;
    cells[1] = cli_size(s->size, cli_args_has(args, 'b'), size);
    cells[2] = cli_user_name(s->uid, owner, sizeof owner);
    cells[3] = mode;
    cells[4] = views;
    struct timespec when = { .tv_sec = (time_t)s->created_sec, .tv_nsec = s->created_nsec };
    cells[5] = cli_time_local(&when, created, sizeof created);
    if (s->restricted) /* the daemon did not say: not ours to read */
      cells[4] = cells[5] = "-";
    /* as ipcs marks a removed segment still attached ("dest") */
    snprintf(flags, sizeof flags, "%s%s%s%s%s", s->ephemeral ? "ephemeral" : "",
             s->ephemeral && (s->unlinked || s->frozen) ? "," : "", s->unlinked ? "unlinked" : "",
             s->unlinked && s->frozen ? "," : "", s->frozen ? "frozen" : "");
    cells[6] = flags[0] != '\0' ? flags : "-";
    if (cli_table_add(t, cells) != 0) {
      cli_table_free(t);
      cli_error("out of memory");
      return CLI_EXIT_FAIL;
    }
  }
  cli_table_print(t, stdout);
  cli_table_free(t);
  status = cli_finish_stdout();
  return status;
}

int cli_holders_add(struct cli_table *t, const char *name, const shmv_holder_info *h) {
  char pid[24], user[256], window[48], since[64];
  struct timespec when = { .tv_sec = (time_t)h->since_sec, .tv_nsec = h->since_nsec };
  const char *cells[7];
  int i = 0;

  snprintf(pid, sizeof pid, "%ld", (long)h->pid);
  snprintf(window, sizeof window, "%llu+%llu", (unsigned long long)h->offset,
           (unsigned long long)h->length);
  if (name != NULL)
    cells[i++] = name;
  cells[i++] = pid;
  cells[i++] = cli_user_name(h->uid, user, sizeof user);
  cells[i++] = h->comm[0] != '\0' ? h->comm : "?";
  cells[i++] = window;
  cells[i++] = h->writable ? "rw" : "ro";
  cells[i++] = cli_time_local(&when, since, sizeof since);
  return cli_table_add(t, cells);
}

static void holder_json(const char *name, const shmv_holder_info *h, bool first) {
  struct timespec when = { .tv_sec = (time_t)h->since_sec, .tv_nsec = h->since_nsec };
  char since[64];

  fputs(first ? "\n  {\"name\": " : ",\n  {\"name\": ", stdout);
  cli_json_string(stdout, name);
  printf(", \"pid\": %ld, \"uid\": %lu, \"comm\": ", (long)h->pid, (unsigned long)h->uid);
  cli_json_string(stdout, h->comm);
  printf(", \"offset\": %llu, \"length\": %llu, \"writable\": %s, \"since\": ",
         (unsigned long long)h->offset, (unsigned long long)h->length,
         h->writable ? "true" : "false");
  cli_json_string(stdout, cli_time_rfc3339(&when, since, sizeof since));
  fputc('}', stdout);
}

/* One row (or JSON object) per view held of every (linked) segment that
 * has views. */
static int cmd_list_holders(struct cli_ctx *ctx, const shmv_segment_info *list, size_t n,
                            const struct cli_args *args) {
  static const char *const headers[] = { "NAME",   "PID",    "USER", "COMMAND",
                                         "WINDOW", "ACCESS", "SINCE" };
  static const int right[] = { 0, 1, 0, 0, 0, 0, 0 };
  struct cli_table *t = cli_table_new(7, cli_args_has(args, 'H') ? NULL : headers, right);
  bool first = true;
  int rc = 0;

  if (ctx->json)
    fputs("[", stdout);
  for (size_t i = 0; t != NULL && rc == 0 && i < n; i++) {
    shmv_holder_info *h;
    size_t nh;

    if (list[i].unlinked || list[i].views == 0)
      continue; /* an unlinked one has no name to ask by */
    rc = shmv_holders(ctx->client, list[i].name, &h, &nh);
    if (rc == -ENOENT || rc == -EACCES) { /* removed meanwhile; not ours to see */
      rc = 0;
      continue;
    }
    for (size_t j = 0; rc == 0 && j < nh; j++) {
      if (ctx->json) {
        holder_json(list[i].name, &h[j], first);
        first = false;
      } else {
        rc = cli_holders_add(t, list[i].name, &h[j]) != 0 ? -ENOMEM : 0;
      }
    }
    if (rc == 0 || rc == -ENOMEM)
      shmv_holders_free(h);
  }
  if (t == NULL || rc != 0) {
    cli_table_free(t);
    cli_error("list: %s", t == NULL ? "out of memory" : cli_op_strerror(rc));
    return CLI_EXIT_FAIL;
  }
  if (ctx->json)
    fputs(first ? "]\n" : "\n]\n", stdout);
  else
    cli_table_print(t, stdout);
  cli_table_free(t);
  return cli_finish_stdout();
}

static int cmd_list_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  shmv_segment_info *list = NULL;
  size_t n = 0;
  int r, status;

  if ((r = shmv_list(ctx->client, &list, &n)) != 0) {
    cli_error("list: %s", cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  status = cli_args_has(args, 'p') ? cmd_list_holders(ctx, list, n, args)
           : ctx->json              ? cmd_list_json(list, n)
                                    : cmd_list_table(list, n, args);
  shmv_list_free(list);
  return status;
}

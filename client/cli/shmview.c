/* SPDX-License-Identifier: MIT */
/*
 * shmview.c: main, the global options and the dispatcher that walks the
 * command table.
 *
 * shmview [--socket PATH] [--json] COMMAND [ARGS...]. Each command lives in
 * its own cmd-<name>.c; adding one means one new file and its line in
 * CLI_COMMAND_SOURCES (Makefile.am), from which cli_commands[] below is
 * built (cli.h, CLI_COMMANDS). cli_run() reads the command's line by its
 * entry (args.c), connects if the entry says so, then calls exec.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CLI_COMMAND_ENTRY(name) &cli_cmd_##name,
const struct cli_command *const cli_commands[] = { CLI_COMMANDS(CLI_COMMAND_ENTRY) NULL };
#undef CLI_COMMAND_ENTRY

enum { OPT_SOCKET = 0x100, OPT_JSON, OPT_VERSION };
const struct option cli_global_options[] = { { "socket", required_argument, NULL, OPT_SOCKET },
                                             { "json", no_argument, NULL, OPT_JSON },
                                             { "help", no_argument, NULL, 'h' },
                                             { "version", no_argument, NULL, OPT_VERSION },
                                             { NULL, 0, NULL, 0 } };

const struct cli_command *cli_find(const char *name) {
  for (size_t i = 0; cli_commands[i] != NULL; i++) {
    const struct cli_command *c = cli_commands[i];
    if (strcmp(c->name, name) == 0 || (c->alias != NULL && strcmp(c->alias, name) == 0))
      return c;
  }
  return NULL;
}

static void cli_help(FILE *out) {
  fputs("usage: shmview [--socket PATH] [--json] COMMAND [ARGS...]\n"
        "       shmview help [COMMAND]\n"
        "\n"
        "Manage and inspect the shared-memory segments of shmviewd.\n"
        "\n"
        "commands:\n",
        out);
  for (size_t i = 0; cli_commands[i] != NULL; i++) {
    const struct cli_command *c = cli_commands[i];
    char head[64];

    if (c->flags & CLI_HIDDEN)
      continue;
    snprintf(head, sizeof head, "%s%s%s", c->name, c->alias ? ", " : "", c->alias ? c->alias : "");
    fprintf(out, "  %-14s %s\n", head, c->summary);
  }
  fputs("\n"
        "options:\n"
        "      --socket PATH   the daemon's socket (default: $SHMVIEW_SOCKET, else\n"
        "                      /run/shmview/shmview.sock for root, else\n"
        "                      $XDG_RUNTIME_DIR/shmview.sock, else /tmp/shmview-UID/shmview.sock)\n"
        "      --json          machine-readable output (",
        out);
  for (size_t i = 0, n = 0; cli_commands[i] != NULL; i++)
    if ((cli_commands[i]->flags & (CLI_JSON | CLI_HIDDEN)) == CLI_JSON)
      fprintf(out, "%s%s", n++ > 0 ? ", " : "", cli_commands[i]->name);
  fputs(")\n"
        "  -h, --help          show this help; 'shmview COMMAND --help' for a command\n"
        "      --version       show the version\n"
        "\n"
        "A segment may be named by a descriptor NAME[:OFFSET[:LENGTH]].\n"
        "Exit status: 0 success, 1 the operation failed, 2 usage error.\n",
        out);
}

/* Parse the command's line by its table entry, connect if it says so, run
 * it. */
static int cli_run(struct cli_ctx *ctx, const struct cli_command *cmd, int argc, char **argv) {
  struct cli_args args;
  int status;

  ctx->cmd = cmd;
  if ((status = cli_args_parse(ctx, argc, argv, &args)) >= 0)
    return status;
  if ((cmd->flags & CLI_CONNECTS) && (status = cli_connect(ctx)) != 0)
    return status;
  return cmd->exec(ctx, &args);
}

/* shmview help [COMMAND] */
static int cli_help_command(int argc, char **argv) {
  const struct cli_command *cmd;

  if (argc < 2) {
    cli_help(stdout);
    return cli_finish_stdout();
  }
  if (argc > 2)
    return cli_usage_error(NULL, "help: too many arguments");
  if ((cmd = cli_find(argv[1])) == NULL)
    return cli_usage_error(NULL, "help: unknown command '%s'", argv[1]);
  cli_command_help(cmd, stdout);
  return cli_finish_stdout();
}

int main(int argc, char **argv) {
  struct cli_ctx ctx = { 0 };
  const struct cli_command *cmd;
  int c, status;

  /* A reader that goes away shows up as EPIPE, handled where we write. */
  signal(SIGPIPE, SIG_IGN);

  /* '+': stop at the command name; its options are its own. */
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:h", cli_global_options, NULL)) != -1) {
    switch (c) {
    case OPT_SOCKET:
      if (optarg[0] == '\0')
        return cli_usage_error(NULL, "--socket needs a path");
      ctx.socket_path = optarg;
      break;
    case OPT_JSON: ctx.json = 1; break;
    case 'h': cli_help(stdout); return cli_finish_stdout();
    case OPT_VERSION: printf("shmview %s\n", PACKAGE_VERSION); return cli_finish_stdout();
    case ':': return cli_usage_error(NULL, "option '%s' needs an argument", argv[optind - 1]);
    default: {
      const char *arg = argv[optind - 1];
      if (optopt == 0 || strncmp(arg, "--", 2) == 0)
        return cli_usage_error(NULL, "unknown option '%.*s'", (int)strcspn(arg, "="), arg);
      return cli_usage_error(NULL, "unknown option '-%c'", optopt < 128 ? optopt : '?');
    }
    }
  }
  if (optind >= argc)
    return cli_usage_error(NULL, "no command given");

  argc -= optind;
  argv += optind;
  if (strcmp(argv[0], "help") == 0)
    return cli_help_command(argc, argv);
  if ((cmd = cli_find(argv[0])) == NULL)
    return cli_usage_error(NULL, "unknown command '%s'", argv[0]);

  status = cli_run(&ctx, cmd, argc, argv);
  if (ctx.client != NULL)
    shmv_disconnect(ctx.client);
  return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * cmd-complete.c: the tables the bash completion reads (hidden from
 * --help), so that client/cli/bash-completion/shmview repeats none of
 * them: the command words, the tool's own options, and of one command its
 * options, the options that take a value and what its operands are.
 *
 *   shmview complete words         every command name and alias, and help
 *   shmview complete commands      every command name (what help takes)
 *   shmview complete globals       the options before the command
 *   shmview complete command CMD   three lines:
 *     options --a --b ...          as CMD --help lists them
 *     values --a -a ...            the options whose value is the next word
 *     operands segment other ...   per operand: segment (an existing
 *                                  segment's name), command (help's) or other
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int cmd_complete_exec(struct cli_ctx *, const struct cli_args *);

const struct cli_command cli_cmd_complete = {
  .name = "complete",
  .alias = NULL,
  .summary = "Print the command tables for shell completion.",
  .help = "For the bash completion: 'words' prints every command name and alias,\n"
          "'commands' every name, 'globals' the options before the command, and\n"
          "'command CMD' the options of CMD, those taking a value, and its operands'\n"
          "kinds.",
  .args = { NULL, 1, 2, { { CLI_T_STRING, "WHAT" }, { CLI_T_STRING, "COMMAND" } } },
  .flags = CLI_HIDDEN,
  .exec = cmd_complete_exec,
};

/* The commands' names; with aliases, their aliases and help too. */
static void words(bool aliases) {
  for (size_t i = 0; cli_commands[i] != NULL; i++) {
    const struct cli_command *c = cli_commands[i];

    if (c->flags & CLI_HIDDEN)
      continue;
    printf("%s\n", c->name);
    if (aliases && c->alias != NULL)
      printf("%s\n", c->alias);
  }
  if (aliases)
    printf("help\n");
}

static void globals(void) {
  for (const struct option *o = cli_global_options; o->name != NULL; o++)
    printf("--%s\n", o->name);
}

/* help's operand is a command; a name or window operand names an existing
 * segment, but for a command that makes one. */
static const char *operand_kind(const struct cli_command *cmd, int i) {
  enum cli_type t = cmd->args.operand[i].type;

  if ((t == CLI_T_NAME || t == CLI_T_WINDOW) && !(cmd->flags & CLI_CREATES))
    return "segment";
  return "other";
}

static int command(const char *name) {
  const struct cli_command *cmd;
  const struct cli_option *o;

  if (strcmp(name, "help") == 0) {
    printf("options\nvalues\noperands command\n");
    return 0;
  }
  if ((cmd = cli_find(name)) == NULL || (cmd->flags & CLI_HIDDEN))
    return cli_usage_error(NULL, "complete: unknown command '%s'", name);
  printf("options");
  for (size_t i = 0; (o = cli_command_option(cmd, i)) != NULL; i++)
    printf(" --%s", o->name);
  printf("\nvalues");
  for (size_t i = 0; (o = cli_command_option(cmd, i)) != NULL; i++) {
    if (o->type == CLI_T_FLAG)
      continue;
    printf(" --%s", o->name);
    if (o->letter != 0)
      printf(" -%c", o->letter);
  }
  printf("\noperands");
  for (int i = 0; i < cmd->args.upper && i < CLI_OPERANDS_MAX; i++)
    printf(" %s", operand_kind(cmd, i));
  printf("\n");
  return 0;
}

static int cmd_complete_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  const char *what = args->arg[0].text;

  if (strcmp(what, "command") == 0) {
    if (args->argc != 2)
      return cli_usage_error(ctx->cmd, "complete command: which command?");
    int status = command(args->arg[1].text);
    return status != 0 ? status : cli_finish_stdout();
  }
  if (args->argc != 1)
    return cli_usage_error(ctx->cmd, "complete %s: takes nothing more", what);
  if (strcmp(what, "words") == 0 || strcmp(what, "commands") == 0)
    words(strcmp(what, "words") == 0);
  else if (strcmp(what, "globals") == 0)
    globals();
  else
    return cli_usage_error(ctx->cmd, "complete: unknown table '%s'", what);
  return cli_finish_stdout();
}

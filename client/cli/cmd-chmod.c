/* SPDX-License-Identifier: MIT */
/* cmd-chmod.c: a segment's mode (chmod) and owner and group (chown), as chmod(1) and chown(1). */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int cmd_chmod_exec(struct cli_ctx *, const struct cli_args *);
static int cmd_chown_exec(struct cli_ctx *, const struct cli_args *);

const struct cli_command cli_cmd_chmod = {
  .name = "chmod",
  .alias = NULL,
  .summary = "Set a segment's permission bits.",
  .help = "Set the permission bits of segment NAME to MODE (octal, at most 0777),\n"
          "as chmod(1) does a file's. Only the owner or root may. Views already\n"
          "open stay open; the new mode decides every later open. A frozen\n"
          "segment's mode may still change.",
  .args = { NULL, 2, 2, { { CLI_T_MODE, "MODE" }, { CLI_T_NAME, "NAME" } } },
  .flags = CLI_CONNECTS,
  .exec = cmd_chmod_exec,
};

const struct cli_command cli_cmd_chown = {
  .name = "chown",
  .alias = NULL,
  .summary = "Set a segment's owner and group.",
  .help = "Set the owner and/or group of segment NAME, as chown(1): USER, USER:GROUP,\n"
          "USER: (the user's login group) or :GROUP, by name or number. Only root\n"
          "gives a segment to another user (whose quota is then charged for it);\n"
          "the owner may set the group to one it is in.",
  .args = { NULL, 2, 2, { { CLI_T_STRING, "[USER][:GROUP]" }, { CLI_T_NAME, "NAME" } } },
  .flags = 0, /* connects once USER and GROUP are known: a bad one is a usage error */
  .exec = cmd_chown_exec,
};

static int cmd_chmod_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  const char *name = args->arg[1].text;
  int r;

  if ((r = shmv_chmod(ctx->client, name, (unsigned)args->arg[0].n)) != 0) {
    cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  return 0;
}

/* A decimal id (as chown(1), a number that is no name), into *id. */
static int parse_id(const char *s, unsigned long *id) {
  char *end;

  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  *id = strtoul(s, &end, 10);
  return errno != 0 || *end != '\0' || *id >= (unsigned long)(uid_t)-1 ? -1 : 0;
}

/* USER[:GROUP], USER:, :GROUP into *uid and *gid ((uid_t)-1 and (gid_t)-1:
 * unchanged); a name is looked up first, then read as a number. */
static int parse_owner(const char *spec, uid_t *uid, gid_t *gid) {
  char user[256];
  const char *colon = strchr(spec, ':'), *group = colon != NULL ? colon + 1 : "";
  size_t ulen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
  unsigned long id;

  *uid = (uid_t)-1;
  *gid = (gid_t)-1;
  if (ulen >= sizeof user)
    return cli_usage_error(&cli_cmd_chown, "unknown user '%.*s'", (int)ulen, spec);
  memcpy(user, spec, ulen);
  user[ulen] = '\0';
  if (user[0] != '\0') {
    struct passwd *pw = getpwnam(user);

    if (pw != NULL) {
      *uid = pw->pw_uid;
      if (colon != NULL && *group == '\0')
        *gid = pw->pw_gid; /* USER: is the user's login group */
    } else if (parse_id(user, &id) == 0) {
      *uid = (uid_t)id;
      if (colon != NULL && *group == '\0')
        return cli_usage_error(&cli_cmd_chown, "uid %s has no login group: name the group", user);
    } else {
      return cli_usage_error(&cli_cmd_chown, "unknown user '%s'", user);
    }
  }
  if (*group != '\0') {
    struct group *gr = getgrnam(group);

    if (gr != NULL)
      *gid = gr->gr_gid;
    else if (parse_id(group, &id) == 0)
      *gid = (gid_t)id;
    else
      return cli_usage_error(&cli_cmd_chown, "unknown group '%s'", group);
  }
  if (*uid == (uid_t)-1 && *gid == (gid_t)-1)
    return cli_usage_error(&cli_cmd_chown, "'%s' names no user and no group", spec);
  return 0;
}

static int cmd_chown_exec(struct cli_ctx *ctx, const struct cli_args *args) {
  const char *name = args->arg[1].text;
  uid_t uid;
  gid_t gid;
  int r;

  if ((r = parse_owner(args->arg[0].text, &uid, &gid)) != 0 || (r = cli_connect(ctx)) != 0)
    return r;
  if ((r = shmv_chown(ctx->client, name, uid, gid)) != 0) {
    cli_error("%s: %s", name, cli_op_strerror(r));
    return CLI_EXIT_FAIL;
  }
  return 0;
}

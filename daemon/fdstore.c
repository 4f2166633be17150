/* SPDX-License-Identifier: MIT */
/*
 * fdstore.c: sealed segments in the service manager's file descriptor
 * store (fdstore.h).
 *
 * Whether a store keeps what it is given cannot be asked: systemd 254 and
 * later say how many it keeps in $FDSTORE (FileDescriptorStoreMax=), older
 * ones say nothing and drop what a unit without FileDescriptorStoreMax=
 * sends, with a line in their own log. So the daemon says what it knows:
 * no $NOTIFY_SOCKET or $FDSTORE=0, no store; $FDSTORE=N, a store of N (and
 * a warning once more segments than that are sealed); neither, a store if
 * the unit sets FileDescriptorStoreMax= (the shipped one does).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdstore.h"
#include "log.h"
#include "notify.h"

#define FDNAME_MAX 255

/* Descriptors passed at start, until state.c takes them. */
struct passed {
  struct passed *next;
  int fd;
  bool twin; /* its name was claimed by another: removing it would remove that too */
  char name[FDNAME_MAX + 1];
};

static struct passed *passed;
static unsigned long stored; /* in the store, as far as we know */

static void fdname(const char *prefix, const char *name, char *buf, size_t cap) {
  snprintf(buf, cap, FDSTORE_NAME_PREFIX "%s.%s", prefix, name);
}

/* The store's size: -1 unknown (an older systemd may keep them), 0 none. */
static long store_max(void) {
  const char *n = getenv("NOTIFY_SOCKET"), *e = getenv("FDSTORE");
  char *end;
  long v;

  if (n == NULL || n[0] == '\0')
    return 0;
  if (e == NULL)
    return -1;
  v = strtol(e, &end, 10);
  return *end == '\0' && v >= 0 ? v : -1;
}

void fdstore_put(const char *prefix, const char *name, int fd) {
  char msg[FDNAME_MAX + 32], fdn[FDNAME_MAX + 1];
  long max = store_max();
  int rc;

  if (max == 0) {
    static bool said; /* a warning the first time, then a line each */

    log_msg(said ? LOG_LVL_INFO : LOG_LVL_WARN,
            "sealed segment %s: no file descriptor store (%s): it lasts only as long as this "
            "daemon, or once the daemon stopped as long as a view of it is held "
            "(docs/systemd.md)",
            name, getenv("NOTIFY_SOCKET") == NULL ? "no $NOTIFY_SOCKET" : "$FDSTORE=0");
    said = true;
    return;
  }
  fdname(prefix, name, fdn, sizeof fdn);
  snprintf(msg, sizeof msg, "FDSTORE=1\nFDNAME=%s", fdn);
  rc = notify_send_fd(msg, fd);
  if (rc <= 0) {
    log_warn("sealed segment %s: the service manager did not take its descriptor (%s): it "
             "lasts only as long as this daemon, or its holders",
             name, rc == 0 ? "no $NOTIFY_SOCKET" : strerror(-rc));
    return;
  }
  stored++;
  if (max > 0 && stored > (unsigned long)max)
    log_warn("sealed segment %s: the file descriptor store holds %ld (FileDescriptorStoreMax=) "
             "and %lu sealed segments exist: the newest do not outlive this daemon",
             name, max, stored);
  else
    log_debug("sealed segment %s: handed to the service manager's fd store as %s%s", name, fdn,
              max < 0 ? " (kept if the unit sets FileDescriptorStoreMax=)" : "");
}

void fdstore_remove(const char *prefix, const char *name) {
  char msg[FDNAME_MAX + 32], fdn[FDNAME_MAX + 1];
  int rc;

  if (store_max() == 0)
    return;
  fdname(prefix, name, fdn, sizeof fdn);
  snprintf(msg, sizeof msg, "FDSTOREREMOVE=1\nFDNAME=%s", fdn);
  rc = notify_send(msg);
  if (rc < 0)
    log_warn("sealed segment %s: cannot take its descriptor out of the store: %s", name,
             strerror(-rc));
  else if (stored > 0)
    stored--;
}

void fdstore_passed(const char *fdn, int fd) {
  struct passed *p = calloc(1, sizeof *p);

  if (p == NULL) {
    close(fd);
    return;
  }
  p->fd = fd;
  snprintf(p->name, sizeof p->name, "%s", fdn);
  p->next = passed;
  passed = p;
  stored++;
}

int fdstore_take(const char *prefix, const char *name) {
  char fdn[FDNAME_MAX + 1];
  struct passed **pp, *p;
  int fd = -1;

  fdname(prefix, name, fdn, sizeof fdn);
  /* A name stored twice (a store older than this daemon's removal) is
   * passed twice: the first is taken, the others are unclaimed. */
  for (pp = &passed; (p = *pp) != NULL; pp = &p->next) {
    if (strcmp(p->name, fdn) == 0) {
      *pp = p->next;
      fd = p->fd;
      free(p);
      break;
    }
  }
  for (p = passed; fd >= 0 && p != NULL; p = p->next)
    p->twin |= strcmp(p->name, fdn) == 0;
  return fd;
}

void fdstore_drop_unclaimed(void) {
  struct passed *p;

  while ((p = passed) != NULL) {
    char msg[FDNAME_MAX + 32];

    passed = p->next;
    log_warn("the service manager passed a stored descriptor named %s that no segment of the "
             "state file claims (a create the daemon died in, or another prefix's): %s",
             p->name, p->twin ? "closing this second one" : "dropping it from the store");
    snprintf(msg, sizeof msg, "FDSTOREREMOVE=1\nFDNAME=%s", p->name);
    if (!p->twin)
      notify_send(msg);
    close(p->fd);
    stored--;
    free(p);
  }
}

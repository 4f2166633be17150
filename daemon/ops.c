/* SPDX-License-Identifier: MIT */
/*
 * ops.c: the daemon's answer to every op.
 *
 * Permission follows a file's rules, taken from the segment's recorded
 * owner, group and mode against the peer's kernel-verified credentials:
 * root passes; otherwise the owner, group or other bits apply. A read-only
 * view needs r; a writable view needs r and w (it is mapped read-write);
 * resize needs w (like truncating a file); unlink needs to be the owner
 * (like /dev/shm's sticky bit), and so do freeze and chmod; chown to
 * another owner is root's, to a group the owner's if it is in it. stat and list show anyone what ls -l shows
 * of a file they cannot read (name, size, owner, mode); the rest of the
 * record (gid, view counts, creation time, flags) and a segment's holders
 * (pid, uid, command of each view, as ipcs does) only to its owner and
 * those with read permission. An unlinked but still viewed segment is
 * listed only to its owner and root.
 *
 * Limits: the global ones (--max-*) answer ENOSPC, a segment over
 * --max-segment-size EFBIG, a per-uid quota EDQUOT. Quotas apply to every
 * uid, root included: they protect the machine's memory, not files.
 * Who pays follows disk quotas: a segment's bytes are charged to its
 * owner, also when another uid with write permission grows it, and until
 * the last view of it goes, also after it is unlinked (its memory is still
 * held); a view is charged to the uid holding it.
 *
 * Every change of a segment's metadata, and every process's first view of
 * a segment, is recorded in the state file before the answer goes out, so
 * a restart (even after kill -9) finds it; a change that cannot be
 * recorded is refused.
 *
 * Ephemeral segments are removed by the daemon when their last view ends,
 * however it ends (release, disconnect, kill -9, or, for a view kept
 * across a restart, its process's exit), once its creator (the creating
 * connection, or another of the same uid) has opened a view of it; until
 * then other uids' views never end it, and it goes when the creating
 * connection ends (at once if nobody views it, else with the last view).
 * After a restart, one nobody views again by the end of the grace period
 * goes then. views_ended() applies the rule for every way a view ends.
 *
 * Channels (channel_create, channel_open; "channels" below) are two
 * segments each, the ring NAME and its control memory NAME.ctl: receiving
 * needs r on NAME, sending r and w; a participant is a lease on NAME.ctl
 * tied to a slot of its table, marked dead when the lease ends unclosed.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "daemon-channel.h"
#include "log.h"
#include "ops.h"
#include "state.h"
#include "watch.h"
#include "trust.h"

struct op_ctx {
  struct daemon *d;
  struct peer *p;
  const struct proto_request *req;
  struct proto_response *resp;
  int *fd_out;
  struct proto_segment *scratch;
  size_t scratch_len;
};

/* "byte" or "bytes": error sentences reach the user as they are. */
#define PLURAL(n) ((n) == 1 ? "" : "s")

static void fail(struct op_ctx *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct op_ctx *x, int code, const char *fmt, ...) {
  char msg[PROTO_MSG_MAX];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  proto_response_error(x->resp, x->req->id, x->req->op, code, "%s", msg);
}

static bool peer_in_group(const struct peer *p, gid_t gid) {
  if (p->gid == gid)
    return true;
  for (int i = 0; i < p->ngroups; i++)
    if (p->groups[i] == gid)
      return true;
  return false;
}

/* want: 4 read, 2 write, 6 both */
static bool may_access(const struct peer *p, const struct segment *s, unsigned want) {
  unsigned bits;

  if (p->uid == 0)
    return true;
  if (p->uid == s->rec.uid)
    bits = (s->rec.mode >> 6) & 7;
  else if (peer_in_group(p, s->rec.gid))
    bits = (s->rec.mode >> 3) & 7;
  else
    bits = s->rec.mode & 7;
  return (bits & want) == want;
}

/* May p see all of s's record? Root, the owner, and whoever may read it.
 * Anyone else sees what ls -l shows of a file they cannot read (name,
 * size, owner, mode); the rest would tell them about its users: the view
 * counts change when someone reads it, the creation time to the
 * nanosecond dates a creator's actions, the gid is the creator's. */
static bool may_see_all(const struct peer *p, const struct segment *s) {
  return p->uid == s->rec.uid || may_access(p, s, 4);
}

/* Unlinked segments have no name in /dev/shm: only their owner and root
 * learn that one is still held. */
static bool may_see_unlinked(const struct peer *p, const struct segment *s) {
  return p->uid == 0 || p->uid == s->rec.uid;
}

static void segment_to_proto(const struct peer *p, const struct segment *s,
                             struct proto_segment *out) {
  *out = s->rec; /* every recorded field, as record.c describes it */
  out->views = s->views;
  out->writable_views = s->writable_views;
  out->unlinked = !s->linked;
  out->unlink_id = s->unlink_id;
  out->restricted = false;
  /* The fields record.c marks hidden go back to 0 (docs/security.md). */
  if (!may_see_all(p, s))
    proto_record_restrict(PROTO_RECORD_SEGMENT, out);
}

static struct segment *channel_ctl(struct op_ctx *x, const struct segment *s);
static struct segment *channel_of_ctl(struct op_ctx *x, const struct segment *c);
static uint32_t ctl_mode(uint32_t mode);
static void channel_rebind(struct op_ctx *x, struct segment *c);
static void channel_kept_end(struct daemon *d, struct segment *c, pid_t pid, uint64_t start);

/* An ephemeral segment is no longer its creator's to remove: its creator
 * opened a view of it, or the creating connection ended (settled, it goes
 * with its last view). Until then other uids' views never end it. */
static void settle(struct segment *s) {
  if (s->creator != NULL) {
    LIST_REMOVE(s, pending);
    s->creator = NULL;
  }
}

/* ---- a segment's changes: recorded before answered, or refused ----
 *
 * Every change of a segment's record goes through change(): write the
 * line that says what will be (a create's intent, the new values, the
 * removal) and refuse if it cannot be written; make the change; if that
 * fails, write the line that takes it back (best effort: at load the
 * objects win anyway); a create then writes its completion, and is undone
 * if that cannot be written. One row per kind of change says which lines
 * and which step. A new field of a segment is a row of its description
 * (proto/record.c), not here: CHANGE_SET carries any of its rows (a mask
 * of state_field() bits) in a copy of the record holding the new values
 * (op_resize and op_freeze show how).
 */
enum change_kind { CHANGE_CREATE, CHANGE_SET, CHANGE_REMOVE };

struct change {
  enum change_kind kind;
  struct segment *s;       /* SET, REMOVE: the segment; CREATE: the new one, once made */
  struct proto_segment to; /* CREATE: the intent; SET: the new values of `fields` */
  uint64_t fields;         /* SET: the fields that change (state_field()) */
  /* Out: the state file refused a line (nothing changed), or the change
   * itself failed (undone); for CREATE's -EEXIST, the object's owner. */
  bool unrecorded;
  uid_t foreign;
};

static int apply_create(struct daemon *d, struct change *ch) {
  return registry_create(&d->reg, &ch->to, &ch->s, &ch->foreign);
}

static void undo_create(struct daemon *d, struct change *ch) {
  registry_unlink(&d->reg, ch->s);
}

/* The object first (a resize may fail), then the record. */
static int apply_set(struct daemon *d, struct change *ch) {
  if (ch->fields & state_field("size")) {
    int rc = registry_resize(&d->reg, ch->s, ch->to.size);

    if (rc < 0)
      return rc;
  }
  state_set_fields(&d->reg, ch->s, &ch->to, ch->fields & ~state_field("size"));
  return 0;
}

/* Views stay valid; an ephemeral one is no longer its creator's. s may be
 * freed (no lease references it). */
static int apply_remove(struct daemon *d, struct change *ch) {
  lease_segment_unlinking(&d->leases, &d->reg, ch->s);
  settle(ch->s);
  return registry_unlink(&d->reg, ch->s);
}

static const struct change_row {
  enum state_line before; /* written first: refused if it cannot be */
  int after;              /* written once done (0: none): undone if it cannot be */
  enum state_line revert; /* takes `before` back when the change fails */
  int (*apply)(struct daemon *d, struct change *ch);
  void (*undo)(struct daemon *d, struct change *ch); /* after a failed `after` */
} change_rows[] = {
  [CHANGE_CREATE] = { STATE_CREATING, STATE_CREATED, STATE_REMOVED, apply_create, undo_create },
  [CHANGE_SET] = { STATE_CHANGED, 0, STATE_CHANGED, apply_set, NULL },
  [CHANGE_REMOVE] = { STATE_REMOVED, 0, STATE_CREATED, apply_remove, NULL },
};

/* Returns 0, or -errno with ch->unrecorded telling which step failed. The
 * state file's own errors are logged by it. */
static int change(struct daemon *d, struct change *ch) {
  const struct change_row *row = &change_rows[ch->kind];
  /* The first line says what will be; a revert, what still is. */
  const struct proto_segment *next = ch->kind == CHANGE_REMOVE ? &ch->s->rec : &ch->to;
  int rc;

  ch->unrecorded = false;
  if (ch->kind == CHANGE_SET) /* the segment's changed time, recorded with it */
    ch->fields |= state_stamp(&ch->to, "changed");
  rc = state_record(d->state, row->before, next, ch->fields);
  if (rc < 0) {
    ch->unrecorded = true;
    return rc;
  }
  rc = row->apply(d, ch);
  if (rc < 0) {
    /* A create's void intent names no object (if this fails, load finds
     * none); a removal's record is whole again; a change's old values. */
    if (ch->kind == CHANGE_CREATE)
      state_record(d->state, row->revert, &ch->to, 0);
    else
      state_record(d->state, row->revert, &ch->s->rec, ch->fields);
    return rc;
  }
  if (row->after != 0 && (rc = state_record(d->state, row->after, &ch->s->rec, ch->fields)) < 0) {
    row->undo(d, ch);
    state_record(d->state, row->revert, &ch->to, 0);
    ch->unrecorded = true;
    return rc;
  }
  return 0;
}

/* Remove s durably: recorded, then unlinked (s may be freed). */
static int remove_segment(struct daemon *d, struct segment *s, bool *unrecorded) {
  struct change ch = { .kind = CHANGE_REMOVE, .s = s };
  int rc = change(d, &ch);

  *unrecorded = ch.unrecorded;
  return rc;
}

/* Remove s if it is ephemeral, linked, settled and unviewed. */
static void reap(struct daemon *d, struct segment *s, const char *why) {
  char name[PROTO_NAME_MAX + 1];
  bool unrecorded;
  int rc;

  if (!s->rec.ephemeral || !s->linked || s->views > 0 || s->creator != NULL)
    return;
  /* Re-adopted after a restart: other old views may still be coming back;
   * the reaper at the end of the grace period decides. */
  if (s->adopted && proto_monotonic_ms() < d->grace_until_ms)
    return;
  memcpy(name, s->rec.name, sizeof name); /* s may be freed by the unlink */
  /* As op_unlink: on disk first; if that fails it stays (logged), and the
   * next restart's grace period tries again. */
  rc = remove_segment(d, s, &unrecorded);
  if (rc < 0) {
    if (!unrecorded)
      log_error("cannot remove ephemeral segment %s: %s", name, strerror(-rc));
    return;
  }
  log_info("removed ephemeral segment %s (%s)", name, why);
}

/* The named segment, or an ENOENT answer and NULL. */
static struct segment *lookup(struct op_ctx *x) {
  struct segment *s = registry_find(&x->d->reg, x->req->name);

  if (s == NULL)
    fail(x, ENOENT, "no segment named '%s'", x->req->name);
  return s;
}

static void op_hello(struct op_ctx *x) {
  struct proto_hello *h = &x->resp->u.hello;

  h->version = PROTO_VERSION;
  snprintf(h->server, sizeof h->server, "%s", PACKAGE_VERSION);
  h->frame_max = x->d->cfg.frame_max;
  h->name_max = PROTO_NAME_MAX;
}

/* The checks below and open_view() answer the request themselves when
 * they refuse: they return false, and the handler returns. */

/* Room for `size` more bytes under the global and per-segment limits. */
static bool check_size_limits(struct op_ctx *x, uint64_t size, uint64_t old) {
  const struct daemon_config *cfg = &x->d->cfg;
  uint64_t total = x->d->reg.bytes - old;

  if (size > (uint64_t)INT64_MAX) {
    fail(x, EFBIG, "size %llu is too large", (unsigned long long)size);
    return false;
  }
  if (cfg->max_segment_size != 0 && size > cfg->max_segment_size) {
    fail(x, EFBIG, "size %llu exceeds the segment size limit of %llu bytes",
         (unsigned long long)size, (unsigned long long)cfg->max_segment_size);
    return false;
  }
  if (cfg->max_total_size != 0 &&
      (total > cfg->max_total_size || size > cfg->max_total_size - total)) {
    fail(x, ENOSPC,
         "the daemon's cap --max-total-size of %llu bytes would be exceeded: all segments "
         "hold %llu bytes and this needs %llu more",
         (unsigned long long)cfg->max_total_size, (unsigned long long)x->d->reg.bytes,
         (unsigned long long)(size > old ? size - old : 0));
    return false;
  }
  return true;
}

/* uid may hold `bytes`, `segments` and `views` more. */
static bool check_quota(struct op_ctx *x, uid_t uid, uint64_t bytes, uint64_t segments,
                        uint64_t views) {
  const struct daemon_config *cfg = &x->d->cfg;
  const struct usage *u = registry_usage(&x->d->reg, uid, false);
  uint64_t have_bytes = u ? u->bytes : 0, have_segs = u ? u->segments : 0;
  uint64_t have_views = u ? u->views : 0;

  if (cfg->quota_bytes != 0 && bytes > 0 &&
      (have_bytes > cfg->quota_bytes || bytes > cfg->quota_bytes - have_bytes)) {
    fail(x, EDQUOT,
         "uid %u's quota of %llu bytes (--quota-bytes) would be exceeded: it owns %llu bytes "
         "and this needs %llu more",
         (unsigned)uid, (unsigned long long)cfg->quota_bytes, (unsigned long long)have_bytes,
         (unsigned long long)bytes);
    return false;
  }
  if (cfg->quota_segments != 0 && segments > 0 && have_segs + segments > cfg->quota_segments) {
    fail(x, EDQUOT, "uid %u already holds its quota of %llu segments", (unsigned)uid,
         (unsigned long long)cfg->quota_segments);
    return false;
  }
  if (cfg->quota_views != 0 && views > 0 && have_views + views > cfg->quota_views) {
    fail(x, EDQUOT, "uid %u already holds its quota of %llu views", (unsigned)uid,
         (unsigned long long)cfg->quota_views);
    return false;
  }
  return true;
}

/* posix_fallocate found /dev/shm full (whoever filled it, the daemon's
 * limits had room): say so, and how full, so no one hunts for a quota.
 * need: what the request needed, e.g. "the new segment needs 4096 bytes". */
static void fail_shm_full(struct op_ctx *x, const char *need) {
  struct statvfs vfs;

  if (statvfs(TRUST_SHM_DIR, &vfs) != 0) {
    fail(x, ENOSPC, TRUST_SHM_DIR " is full: %s", need);
    return;
  }
  fail(x, ENOSPC,
       TRUST_SHM_DIR " is full (%llu of %llu bytes free): %s; this daemon's segments hold "
                     "%llu bytes, other programs the rest",
       (unsigned long long)vfs.f_bavail * vfs.f_frsize,
       (unsigned long long)vfs.f_blocks * vfs.f_frsize, need, (unsigned long long)x->d->reg.bytes);
}

/* The state file could not take the line a change needs: refuse it. */
static void fail_unrecorded(struct op_ctx *x, int rc, const char *what) {
  fail(x, -rc, "the daemon cannot record %s in its state file (%s); nothing was changed", what,
       strerror(-rc));
}

/* The intent goes to the state file before the object exists and the
 * completion after, so a daemon killed in between removes the object at
 * its next start; a completion that cannot be written undoes the create. */
static struct segment *create_segment_as(struct op_ctx *x, const struct proto_segment *want);

static struct segment *create_segment(struct op_ctx *x) {
  const struct proto_request *req = x->req;
  struct proto_segment want;

  if (req->mode > 0777) {
    fail(x, EINVAL, "mode %#o has bits other than permissions", req->mode);
    return NULL;
  }
  if (req->flags & ~PROTO_CREATE_KNOWN) {
    fail(x, EINVAL, "unknown create flags %#x", (unsigned)(req->flags & ~PROTO_CREATE_KNOWN));
    return NULL;
  }
  if (registry_find(&x->d->reg, req->name) != NULL) {
    fail(x, EEXIST, "segment '%s' already exists", req->name);
    return NULL;
  }
  if (!check_size_limits(x, req->size, 0) || !check_quota(x, x->p->uid, req->size, 1, 0))
    return NULL;
  memset(&want, 0, sizeof want);
  snprintf(want.name, sizeof want.name, "%s", req->name);
  want.size = req->size;
  want.mode = req->mode;
  want.ephemeral = (req->flags & PROTO_CREATE_EPHEMERAL) != 0;
  return create_segment_as(x, &want);
}

/* Create the segment want describes (name, size, mode and flags; the
 * caller checked the name is free, the limits and the quota), owned by the
 * caller. */
static struct segment *create_segment_as(struct op_ctx *x, const struct proto_segment *want) {
  struct change ch = { .kind = CHANGE_CREATE };
  struct proto_segment *intent = &ch.to;
  struct segment *s;
  int rc;

  *intent = *want;
  intent->uid = (uint32_t)x->p->uid;
  intent->gid = (uint32_t)x->p->gid;
  state_stamp(intent, "created");
  rc = change(x->d, &ch);
  if (rc < 0 && ch.unrecorded) {
    fail_unrecorded(x, rc, "the new segment");
    return NULL;
  }
  if (rc == -ENOSPC) {
    char need[64];

    snprintf(need, sizeof need, "the new segment needs %llu byte%s", (unsigned long long)want->size,
             PLURAL(want->size));
    fail_shm_full(x, need);
    return NULL;
  }
  if (rc == -EEXIST) {
    fail(x, EEXIST,
         "the name '%s' is taken by " TRUST_SHM_DIR "/%s.%s, a shared-memory object the daemon "
         "did not create (owned by uid %u); it is left alone",
         want->name, x->d->reg.prefix, want->name, (unsigned)ch.foreign);
    return NULL;
  }
  if (rc < 0) {
    log_error("create %s: %s", want->name, strerror(-rc));
    fail(x, -rc, "cannot create segment '%s': %s", want->name, strerror(-rc));
    return NULL;
  }
  s = ch.s;
  if (s->rec.ephemeral) {
    s->creator = x->p;
    LIST_INSERT_HEAD(&x->p->pending, s, pending);
  }
  log_info("created %s (%llu bytes, uid %u, mode %04o%s)", s->rec.name,
           (unsigned long long)s->rec.size, (unsigned)s->rec.uid, s->rec.mode,
           s->rec.ephemeral ? ", ephemeral" : "");
  return s;
}

static void op_create(struct op_ctx *x) {
  struct segment *s = create_segment(x);

  if (s != NULL)
    segment_to_proto(x->p, s, &x->resp->u.segment);
}

/* The view limit and the caller's view quota have room for one more. */
static bool check_view_room(struct op_ctx *x) {
  const struct daemon_config *cfg = &x->d->cfg;

  if (cfg->max_views != 0 && x->d->leases.count >= cfg->max_views) {
    fail(x, ENOSPC, "the daemon's view limit of %llu is reached",
         (unsigned long long)cfg->max_views);
    return false;
  }
  return check_quota(x, x->p->uid, 0, 0, 1);
}

/* Lease a view of [offset, offset+req_length) of s (PROTO_TO_END: to the
 * end) to the peer and answer with it and its descriptor: true, or false
 * with an error answer. Permission is the caller's to check. */
static bool open_view(struct op_ctx *x, struct segment *s, uint64_t offset, uint64_t req_length,
                      bool writable) {
  struct proto_view *v = &x->resp->u.view;
  uint64_t length;
  struct lease *l;
  bool record;
  int fd, rc;

  /* Overflow-safe: offset <= size first, then length against what is left. */
  if (offset > s->rec.size) {
    fail(x, ERANGE, "offset %llu is past the end of '%s' (%llu byte%s)", (unsigned long long)offset,
         s->rec.name, (unsigned long long)s->rec.size, PLURAL(s->rec.size));
    return false;
  }
  length = req_length == PROTO_TO_END ? s->rec.size - offset : req_length;
  if (length > s->rec.size - offset) {
    fail(x, ERANGE, "range %llu+%llu is past the end of '%s' (%llu byte%s)",
         (unsigned long long)offset, (unsigned long long)req_length, s->rec.name,
         (unsigned long long)s->rec.size, PLURAL(s->rec.size));
    return false;
  }
  if (!check_view_room(x))
    return false;
  fd = registry_open_fd(&x->d->reg, s, writable);
  if (fd < 0) {
    log_error("open %s: %s", s->rec.name, strerror(-fd));
    fail(x, -fd, "cannot open segment '%s': %s", s->rec.name, strerror(-fd));
    return false;
  }
  /* A writable view's holder may have truncated it: never hand out a
   * mapping that would fault. */
  if (watch_check(x->d, s, fd) != s->rec.size) {
    close(fd);
    fail(x, EIO, "segment '%s' was truncated behind the daemon's back and cannot be restored",
         s->rec.name);
    return false;
  }
  /* Who holds the mapping, in a form that outlives this daemon: the
   * process's pid and start time (read once per connection). */
  if (!x->p->start_known) {
    x->p->start = lease_proc_start(x->p->pid);
    x->p->start_known = true;
  }
  l = lease_add(&x->d->leases, &x->d->reg, &x->p->leases, x->p->uid, x->p->pid, x->p->start, s,
                offset, length, writable, &record);
  if (l == NULL) {
    close(fd);
    fail(x, ENOMEM, "out of memory");
    return false;
  }
  if (record && x->p->pid > 0 && (rc = state_held(x->d->state, l->hold)) < 0) {
    lease_remove(&x->d->leases, &x->d->reg, l);
    close(fd);
    fail_unrecorded(x, rc, "the view");
    return false;
  }
  /* Only its creator's first view hands an ephemeral segment to the last
   * view rule: another uid's view and release must not end it (and free
   * its name) before the creator has opened it. Any connection of the
   * creating uid counts (a process that hands the segment to its workers):
   * that uid may remove it anyway. */
  if (s->creator == x->p || x->p->uid == s->rec.uid)
    settle(s);
  memcpy(v->name, s->rec.name, sizeof v->name);
  v->offset = offset;
  v->length = length;
  v->segment_size = s->rec.size;
  v->lease = l->id;
  v->writable = writable;
  v->ephemeral = s->rec.ephemeral;
  v->uid = (uint32_t)s->rec.uid;
  v->gid = (uint32_t)s->rec.gid;
  *x->fd_out = fd;
  return true;
}

static void op_open(struct op_ctx *x) {
  const struct proto_request *req = x->req;
  struct segment *s = lookup(x);

  if (s == NULL)
    return;
  /* Names are shared, as in /tmp: a caller that means its own segment
   * (one it created) asks for that, and another's is refused here, before
   * any descriptor exists. Root too: it is the one being fooled. */
  if (req->own && s->rec.uid != x->p->uid) {
    fail(x, EPERM, "segment '%s' is owned by uid %u, not you (uid %u)", s->rec.name,
         (unsigned)s->rec.uid, (unsigned)x->p->uid);
    return;
  }
  if (!may_access(x->p, s, req->writable ? 6 : 4)) {
    fail(x, EACCES, "no %s permission on segment '%s'", req->writable ? "write" : "read",
         s->rec.name);
    return;
  }
  if (req->writable && s->rec.frozen) {
    fail(x, EROFS, "segment '%s' is frozen: only read-only views of it may be opened", s->rec.name);
    return;
  }
  if (open_view(x, s, req->offset, req->length, req->writable) && s->rec.control && req->writable)
    channel_rebind(x, s);
}

/* create, then a writable view of all of it: one round trip. The view's
 * limits are checked first, so that a view refused leaves no segment. */
static void op_create_open(struct op_ctx *x) {
  struct segment *s;

  if (!check_view_room(x) || (s = create_segment(x)) == NULL)
    return;
  if (!open_view(x, s, 0, PROTO_TO_END, true)) {
    bool unrecorded;

    /* undone as op_unlink does it (no view of it exists); if the removal
     * cannot be recorded, it stays, recorded: its creator may remove it */
    remove_segment(x->d, s, &unrecorded);
  }
}

/* Views of s have just ended (a lease, or what was kept for a process
 * across a restart): the ephemeral rule, the same for every way a view
 * ends. The caller took a reference on s so that it is still here; it is
 * dropped. why NULL (the daemon is stopping): s stays for the next one. */
static void views_ended(struct daemon *d, struct segment *s, const char *why) {
  if (why != NULL)
    reap(d, s, why);
  segment_unref(&d->reg, s);
}

static void channel_lease_end(struct daemon *d, struct lease *l);
static void channel_counts(struct op_ctx *x, struct segment *s, struct proto_segment *out);

void ops_lease_end(struct daemon *d, struct lease *l, const char *why) {
  struct segment *s = l->seg;

  if (l->chan_slot != PROTO_NO_PARTICIPANT && why != NULL)
    channel_lease_end(d, l);
  segment_ref(s);
  lease_remove(&d->leases, &d->reg, l);
  views_ended(d, s, why);
}

void ops_kept_end(struct daemon *d, pid_t pid, uint64_t start, const char *why) {
  struct hold *h, *next;

  for (h = lease_kept_first(&d->leases, pid, start); h != NULL; h = next) {
    struct segment *s = h->seg;

    /* Found first: removing s below frees only s's holds. */
    next = lease_kept_next(&d->leases, h);
    if (s->rec.control && why != NULL)
      channel_kept_end(d, s, pid, start);
    segment_ref(s);
    lease_kept_drop(&d->leases, &d->reg, h);
    views_ended(d, s, why);
  }
}

static void op_release(struct op_ctx *x) {
  struct lease *l = lease_find(&x->d->leases, &x->p->leases, x->req->lease);

  if (l == NULL) {
    fail(x, ENOENT, "this connection holds no lease %llu", (unsigned long long)x->req->lease);
    return;
  }
  ops_lease_end(x->d, l, "its last view was released");
}

/* Linked segments by name; with `unlinked`, those unlinked but still
 * viewed, in unlink order. */
static void op_list(struct op_ctx *x) {
  struct registry *r = &x->d->reg;
  bool gone = x->req->unlinked;
  struct segment *s =
      gone ? registry_unlinked_after(r, x->req->after_id) : registry_first_after(r, x->req->after);
  size_t n = 0;

  for (; s != NULL && n < x->scratch_len;
       s = gone ? registry_unlinked_next(r, s) : registry_next(r, s))
    if (!gone || may_see_unlinked(x->p, s))
      segment_to_proto(x->p, s, &x->scratch[n++]);
  x->resp->u.list.items = x->scratch;
  x->resp->u.list.count = n;
  x->resp->u.list.more = s != NULL;
}

/* Holders per stat answer, at most: the page is borrowed by the answer
 * until it is encoded, before the (single-threaded) loop handles another
 * request, so one static page serves every connection. */
#define HOLDERS_PAGE_MAX 256
static struct proto_holder holders_page[HOLDERS_PAGE_MAX];

/* As many holder entries as fit in a frame beside the segment. */
static size_t holders_page_max(uint64_t frame_max) {
  size_t fixed = 64 + proto_msg_max_size(&proto_segment_msg);
  size_t n =
      frame_max > fixed ? (size_t)((frame_max - fixed) / proto_msg_max_size(&proto_holder_msg)) : 0;

  return n < 1 ? 1 : n > HOLDERS_PAGE_MAX ? HOLDERS_PAGE_MAX : n;
}

/* Who holds views of s: the leases after lease id `after`, oldest first,
 * with the pid, uid and command of each one's connection. Leases are kept
 * in id order per segment; finding `after` walks the ones before it. */
static void stat_holders(struct op_ctx *x, struct segment *s) {
  size_t max = holders_page_max(x->d->cfg.frame_max), n = 0;
  uint64_t rest = 0;
  struct lease *l;

  TAILQ_FOREACH(l, &s->holders, by_seg) {
    const struct peer *p;
    struct proto_holder *h;

    if (l->id <= x->req->after_id)
      continue;
    if (n == max) {
      rest++;
      continue;
    }
    p = (const struct peer *)(const void *)((const char *)l->owner - offsetof(struct peer, leases));
    h = &holders_page[n++];
    memset(h, 0, sizeof *h);
    h->pid = (uint32_t)p->pid;
    h->uid = (uint32_t)p->uid;
    memcpy(h->comm, p->comm, sizeof h->comm);
    h->lease = l->id;
    h->offset = l->offset;
    h->length = l->length;
    h->writable = l->writable;
    h->since_sec = (int64_t)l->since.tv_sec;
    h->since_nsec = (uint32_t)l->since.tv_nsec;
  }
  x->resp->u.stat.holders = n > 0 ? holders_page : NULL;
  x->resp->u.stat.nholders = n;
  x->resp->u.stat.holders_more = rest;
}

static void op_stat(struct op_ctx *x) {
  struct segment *s = lookup(x);

  if (s == NULL)
    return;
  /* Who holds views (pids, uids, commands) is shown, as ipcs does, only to
   * those who may read the segment. */
  if (x->req->holders && !may_access(x->p, s, 4)) {
    fail(x, EACCES, "no read permission on segment '%s', which showing its holders needs",
         s->rec.name);
    return;
  }
  segment_to_proto(x->p, s, &x->resp->u.stat.segment);
  x->resp->u.stat.segment.size = watch_check(x->d, s, -1); /* the true size */
  if (s->rec.channel && may_see_all(x->p, s))
    channel_counts(x, s, &x->resp->u.stat.segment);
  if (x->req->holders)
    stat_holders(x, s);
}

static void op_unlink(struct op_ctx *x) {
  struct segment *s = lookup(x), *c;
  bool unrecorded;
  int rc;

  if (s == NULL)
    return;
  if (x->p->uid != 0 && x->p->uid != s->rec.uid) {
    fail(x, EPERM, "only the owner (uid %u) may remove segment '%s'", (unsigned)s->rec.uid,
         s->rec.name);
    return;
  }
  if (s->rec.control && channel_of_ctl(x, s) != NULL) {
    fail(x, EPERM, "segment '%s' is the control memory of a channel: remove the channel",
         s->rec.name);
    return;
  }
  if (s->rec.channel && (c = channel_ctl(x, s)) != NULL) {
    rc = remove_segment(x->d, c, &unrecorded);
    if (rc < 0) {
      fail(x, -rc, "cannot remove the control memory of channel '%s': %s", x->req->name,
           strerror(-rc));
      return;
    }
  }
  rc = remove_segment(x->d, s, &unrecorded);
  if (rc < 0 && unrecorded) {
    fail_unrecorded(x, rc, "the removal");
    return;
  }
  if (rc < 0) {
    fail(x, -rc, "cannot remove segment '%s': %s", x->req->name, strerror(-rc));
    return;
  }
  log_info("unlinked %s", x->req->name);
}

static void op_resize(struct op_ctx *x) {
  const struct proto_request *req = x->req;
  struct segment *s = lookup(x);
  struct change ch;
  uint64_t old;
  int rc;

  if (s == NULL)
    return;
  if (!may_access(x->p, s, 2)) {
    fail(x, EACCES, "no write permission on segment '%s'", s->rec.name);
    return;
  }
  if (s->rec.channel || s->rec.control) {
    fail(x, EOPNOTSUPP, "segment '%s' is part of a channel, whose size is fixed", s->rec.name);
    return;
  }
  if (s->rec.frozen) {
    fail(x, EROFS, "segment '%s' is frozen: its size cannot change", s->rec.name);
    return;
  }
  if (req->size < s->rec.size && s->views > 0) {
    fail(x, EBUSY, "cannot shrink segment '%s': it has %llu live view%s", s->rec.name,
         (unsigned long long)s->views, s->views == 1 ? "" : "s");
    return;
  }
  if (req->size < s->rec.size && s->adopted && proto_monotonic_ms() < x->d->grace_until_ms) {
    fail(x, EBUSY,
         "cannot shrink segment '%s' for another %llu ms: it was re-adopted "
         "after a restart and views from before may still be reconnecting",
         s->rec.name, (unsigned long long)(x->d->grace_until_ms - proto_monotonic_ms()));
    return;
  }
  if (!check_size_limits(x, req->size, s->rec.size) ||
      (req->size > s->rec.size && !check_quota(x, s->rec.uid, req->size - s->rec.size, 0, 0)))
    return;
  old = s->rec.size;
  ch = (struct change){ .kind = CHANGE_SET, .s = s, .to = s->rec, .fields = state_field("size") };
  ch.to.size = req->size;
  rc = change(x->d, &ch);
  if (rc < 0 && ch.unrecorded) {
    fail_unrecorded(x, rc, "the new size");
    return;
  }
  if (rc < 0) {
    if (rc == -ENOSPC) {
      char need[PROTO_NAME_MAX + 64];

      snprintf(need, sizeof need, "growing '%s' needs %llu more byte%s", s->rec.name,
               (unsigned long long)(req->size - old), PLURAL(req->size - old));
      fail_shm_full(x, need);
    } else
      fail(x, -rc, "cannot resize segment '%s': %s", s->rec.name, strerror(-rc));
    return;
  }
  if (x->p->uid != s->rec.uid)
    log_info("resized %s to %llu bytes (asked by uid %u; charged to its owner, uid %u)",
             s->rec.name, (unsigned long long)s->rec.size, (unsigned)x->p->uid,
             (unsigned)s->rec.uid);
  else
    log_info("resized %s to %llu bytes", s->rec.name, (unsigned long long)s->rec.size);
  segment_to_proto(x->p, s, &x->resp->u.segment);
}

static void op_status(struct op_ctx *x) {
  const struct daemon *d = x->d;
  struct proto_status *st = &x->resp->u.status;

  snprintf(st->server, sizeof st->server, "%s", PACKAGE_VERSION);
  st->version = PROTO_VERSION;
  st->uptime_ms = proto_monotonic_ms() - d->started_ms;
  st->clients = d->clients;
  st->segments = d->reg.count;
  st->bytes = d->reg.bytes;
  st->views = d->leases.count;
  st->writable_views = d->leases.writable;
  st->requests = d->requests;
  st->max_segment_size = d->cfg.max_segment_size;
  st->max_total_size = d->cfg.max_total_size;
  st->max_clients = d->cfg.max_clients;
  st->max_views = d->cfg.max_views;
  st->frame_max = d->cfg.frame_max;
  st->quota_bytes = d->cfg.quota_bytes;
  st->quota_segments = d->cfg.quota_segments;
  st->quota_views = d->cfg.quota_views;
  st->uid = (uint32_t)x->p->uid;
  {
    const struct usage *u = registry_usage(&x->d->reg, x->p->uid, false);

    st->used_bytes = u ? u->bytes : 0;
    st->used_segments = u ? u->segments : 0;
    st->used_views = u ? u->views : 0;
  }
  {
    uint64_t now = proto_monotonic_ms();

    st->grace_ms = d->grace_until_ms > now ? d->grace_until_ms - now : 0;
  }
}

/* From now on no writable view and no resize: the segment's bytes stop
 * changing. The owner's or root's to decide, as unlink is; refused while
 * any writable view is open, kept ones of processes not yet back after a
 * restart included (they count in writable_views). */
static void op_freeze(struct op_ctx *x) {
  struct segment *s = lookup(x);
  struct change ch;
  int rc;

  if (s == NULL)
    return;
  if (x->p->uid != 0 && x->p->uid != s->rec.uid) {
    fail(x, EPERM, "only the owner of segment '%s' (uid %u) or root may freeze it", s->rec.name,
         (unsigned)s->rec.uid);
    return;
  }
  if (s->rec.channel || s->rec.control) {
    fail(x, EOPNOTSUPP, "segment '%s' is part of a channel, which cannot be frozen", s->rec.name);
    return;
  }
  if (!s->rec.frozen) {
    if (s->writable_views > 0) {
      fail(x, EBUSY, "cannot freeze segment '%s': %llu writable view%s of it %s open", s->rec.name,
           (unsigned long long)s->writable_views, PLURAL(s->writable_views),
           s->writable_views == 1 ? "is" : "are");
      return;
    }
    ch = (struct change){
      .kind = CHANGE_SET, .s = s, .to = s->rec, .fields = state_field("frozen")
    };
    ch.to.frozen = true;
    if ((rc = change(x->d, &ch)) < 0) {
      fail_unrecorded(x, rc, "the freeze"); /* only the line can fail */
      return;
    }
    log_info("froze %s (asked by uid %u)", s->rec.name, (unsigned)x->p->uid);
  }
  segment_to_proto(x->p, s, &x->resp->u.segment);
}

/* Record the new values of `fields` held in `to` (a copy of s's record),
 * then answer with the segment: chmod's and chown's common end. */
static void set_fields(struct op_ctx *x, struct segment *s, const struct proto_segment *to,
                       uint64_t fields, const char *what) {
  struct change ch = { .kind = CHANGE_SET, .s = s, .to = *to, .fields = fields };
  struct segment *c;
  int rc;

  if (fields != 0 && (rc = change(x->d, &ch)) < 0) {
    fail_unrecorded(x, rc, what); /* only the line can fail */
    return;
  }
  /* A channel's control memory follows its owner, group and mode. */
  if (fields != 0 && s->rec.channel && (c = channel_ctl(x, s)) != NULL) {
    struct change cc = { .kind = CHANGE_SET, .s = c, .to = c->rec, .fields = fields };

    cc.to.uid = s->rec.uid;
    cc.to.gid = s->rec.gid;
    cc.to.mode = ctl_mode(s->rec.mode);
    if ((rc = change(x->d, &cc)) < 0)
      log_warn("channel %s: its control memory keeps its old owner or mode (%s)", s->rec.name,
               strerror(-rc));
  }
  segment_to_proto(x->p, s, &x->resp->u.segment);
}

/* As chmod(2): the owner or root sets any permission bits (the decoder
 * refused more than 0777). A frozen segment's metadata may still change:
 * freezing is about its bytes and size. Views already open stay open, as
 * a file's descriptors do; the new mode decides every later open. */
static void op_chmod(struct op_ctx *x) {
  struct segment *s = lookup(x);
  struct proto_segment to;
  uint64_t fields;

  if (s == NULL)
    return;
  if (x->p->uid != 0 && x->p->uid != s->rec.uid) {
    fail(x, EPERM, "only the owner of segment '%s' (uid %u) or root may change its mode",
         s->rec.name, (unsigned)s->rec.uid);
    return;
  }
  to = s->rec;
  to.mode = x->req->mode;
  fields = to.mode != s->rec.mode ? state_field("mode") : 0;
  set_fields(x, s, &to, fields, "the new mode");
  if (x->resp->err == 0 && fields != 0)
    log_info("chmod %s %03o (asked by uid %u)", s->rec.name, (unsigned)s->rec.mode,
             (unsigned)x->p->uid);
}

/* As chown(2): only root gives a segment to another uid (the new owner's
 * quota must take its bytes and the segment: they are charged to it); the
 * owner may set the group to one it is in (its primary group or a
 * supplementary one, as the kernel told at connect: SO_PEERGROUPS).
 * PROTO_ID_KEEP leaves a field, and naming the present value changes
 * nothing, so an owner's "chown self:group" works. */
static void op_chown(struct op_ctx *x) {
  struct segment *s = lookup(x);
  struct proto_segment to;
  uid_t uid;
  gid_t gid;
  uint64_t fields;

  if (s == NULL)
    return;
  uid = x->req->uid == PROTO_ID_KEEP ? (uid_t)s->rec.uid : (uid_t)x->req->uid;
  gid = x->req->gid == PROTO_ID_KEEP ? (gid_t)s->rec.gid : (gid_t)x->req->gid;
  if (x->p->uid != 0) {
    if (uid != s->rec.uid) {
      fail(x, EPERM, "only root may give segment '%s' to another owner (it is uid %u's)",
           s->rec.name, (unsigned)s->rec.uid);
      return;
    }
    if (x->p->uid != s->rec.uid) {
      fail(x, EPERM, "only the owner of segment '%s' (uid %u) or root may change its group",
           s->rec.name, (unsigned)s->rec.uid);
      return;
    }
    if (gid != s->rec.gid && !peer_in_group(x->p, gid)) {
      fail(x, EPERM,
           "you (uid %u) are not in group %u: segment '%s' may only be given to a group of yours",
           (unsigned)x->p->uid, (unsigned)gid, s->rec.name);
      return;
    }
  }
  if (uid != s->rec.uid && !check_quota(x, uid, s->rec.size, 1, 0))
    return;
  to = s->rec;
  to.uid = uid;
  to.gid = gid;
  fields =
      (uid != s->rec.uid ? state_field("uid") : 0) | (gid != s->rec.gid ? state_field("gid") : 0);
  set_fields(x, s, &to, fields, "the new owner");
  if (x->resp->err == 0 && fields != 0)
    log_info("chown %s %u:%u (asked by uid %u)", s->rec.name, (unsigned)s->rec.uid,
             (unsigned)s->rec.gid, (unsigned)x->p->uid);
}

/* ---- channels (docs/architecture.md, "Channels") ----
 *
 * A channel NAME is the segment NAME (rec.channel: the ring of message
 * space) and NAME.ctl (rec.control: its control memory, proto/channel.h).
 * Receiving needs r on NAME, sending r and w (the ring is mapped
 * read-write); NAME.ctl gives rw to every class with r on NAME, since
 * receivers write it too. A participant is a lease on NAME.ctl tied to a
 * slot of its table (lease.chan_slot): when that lease ends without the
 * participant having closed, daemon/channel.c marks the slot dead. */

static void ctl_name(const char *name, char *buf, size_t cap) {
  snprintf(buf, cap, "%s" CHAN_SUFFIX, name);
}

/* NAME.ctl's mode: rw for each class that may read NAME. */
static uint32_t ctl_mode(uint32_t mode) {
  uint32_t out = 0;

  for (int shift = 0; shift <= 6; shift += 3)
    if ((mode >> shift) & 4)
      out |= 6u << shift;
  return out;
}

/* The control segment of channel s, or NULL. */
static struct segment *channel_ctl(struct op_ctx *x, const struct segment *s) {
  char name[PROTO_NAME_MAX + 1];
  struct segment *c;

  if (strlen(s->rec.name) + strlen(CHAN_SUFFIX) > PROTO_NAME_MAX)
    return NULL;
  ctl_name(s->rec.name, name, sizeof name);
  c = registry_find(&x->d->reg, name);
  return c != NULL && c->rec.control ? c : NULL;
}

/* The channel whose control memory c is, or NULL. */
static struct segment *channel_of_ctl(struct op_ctx *x, const struct segment *c) {
  char name[PROTO_NAME_MAX + 1];
  size_t n = strlen(c->rec.name), k = strlen(CHAN_SUFFIX);
  struct segment *s;

  if (n <= k || strcmp(c->rec.name + n - k, CHAN_SUFFIX) != 0)
    return NULL;
  memcpy(name, c->rec.name, n - k);
  name[n - k] = '\0';
  s = registry_find(&x->d->reg, name);
  return s != NULL && s->rec.channel ? s : NULL;
}

static void op_channel_create(struct op_ctx *x) {
  const struct proto_request *req = x->req;
  struct proto_segment want;
  char cname[PROTO_NAME_MAX + 1];
  uint64_t capacity, ctl_size;
  struct segment *s, *c;
  bool unrecorded;
  int fd, rc;

  if (req->flags != 0) {
    fail(x, EINVAL, "unknown channel flags %#x", (unsigned)req->flags);
    return;
  }
  if (strlen(req->name) + strlen(CHAN_SUFFIX) > PROTO_NAME_MAX) {
    fail(x, EINVAL, "a channel's name has at most %d characters (its control memory is NAME%s)",
         (int)(PROTO_NAME_MAX - strlen(CHAN_SUFFIX)), CHAN_SUFFIX);
    return;
  }
  if (req->size < CHAN_MIN || req->size > UINT64_MAX - CHAN_ALIGN) {
    fail(x, EINVAL, "a channel's capacity is at least %u bytes", CHAN_MIN);
    return;
  }
  capacity = chan_alen(req->size);
  ctl_size = chan_ctl_size(chan_nchunks(capacity));
  ctl_name(req->name, cname, sizeof cname);
  if (registry_find(&x->d->reg, req->name) != NULL) {
    fail(x, EEXIST, "segment '%s' already exists", req->name);
    return;
  }
  if (registry_find(&x->d->reg, cname) != NULL) {
    fail(x, EEXIST, "segment '%s' already exists, which channel '%s' needs for its control memory",
         cname, req->name);
    return;
  }
  if (!check_size_limits(x, capacity, 0) || !check_size_limits(x, ctl_size, 0) ||
      !check_quota(x, x->p->uid, capacity + ctl_size, 2, 0))
    return;
  memset(&want, 0, sizeof want);
  snprintf(want.name, sizeof want.name, "%s", req->name);
  want.size = capacity;
  want.mode = req->mode;
  want.channel = true;
  if ((s = create_segment_as(x, &want)) == NULL)
    return;
  memset(&want, 0, sizeof want);
  snprintf(want.name, sizeof want.name, "%s", cname);
  want.size = ctl_size;
  want.mode = ctl_mode(req->mode);
  want.control = true;
  if ((c = create_segment_as(x, &want)) == NULL) {
    remove_segment(x->d, s, &unrecorded);
    return;
  }
  fd = registry_open_fd(&x->d->reg, c, true);
  rc = fd < 0 ? fd : dchan_init(fd, capacity);
  if (fd >= 0)
    close(fd);
  if (rc < 0) {
    remove_segment(x->d, c, &unrecorded);
    remove_segment(x->d, s, &unrecorded);
    fail(x, -rc, "cannot set up channel '%s': %s", req->name, strerror(-rc));
    return;
  }
  segment_to_proto(x->p, s, &x->resp->u.segment);
}

static void op_channel_open(struct op_ctx *x) {
  const struct proto_request *req = x->req;
  struct segment *s = lookup(x), *c;
  struct proto_view *v = &x->resp->u.view;
  unsigned roles = 0;
  struct lease *l;
  int slot;

  if (s == NULL)
    return;
  if (!s->rec.channel) {
    fail(x, EMEDIUMTYPE, "segment '%s' is not a channel", s->rec.name);
    return;
  }
  if (req->flags == 0 || (req->flags & ~PROTO_CHANNEL_KNOWN) != 0) {
    fail(x, EINVAL, "channel_open needs send, receive or both, and no other flag (%#x)",
         (unsigned)req->flags);
    return;
  }
  if ((req->flags & PROTO_CHANNEL_SEND) && !may_access(x->p, s, 6)) {
    fail(x, EACCES, "no permission to send on channel '%s' (it needs r and w)", s->rec.name);
    return;
  }
  if ((req->flags & PROTO_CHANNEL_RECV) && !may_access(x->p, s, 4)) {
    fail(x, EACCES, "no permission to receive from channel '%s' (it needs r)", s->rec.name);
    return;
  }
  if ((c = channel_ctl(x, s)) == NULL) {
    fail(x, EIO, "channel '%s' has lost its control memory '%s%s'", s->rec.name, s->rec.name,
         CHAN_SUFFIX);
    return;
  }
  roles = ((req->flags & PROTO_CHANNEL_SEND) ? CHAN_ROLE_SEND : 0) |
          ((req->flags & PROTO_CHANNEL_RECV) ? CHAN_ROLE_RECV : 0);
  if (!open_view(x, c, 0, PROTO_TO_END, true))
    return;
  l = lease_find(&x->d->leases, &x->p->leases, v->lease);
  slot = dchan_register(*x->fd_out, c->rec.size, s->rec.size, roles, x->p->pid, x->p->start);
  if (l == NULL || slot < 0) {
    close(*x->fd_out);
    *x->fd_out = -1;
    if (l != NULL)
      ops_lease_end(x->d, l, NULL);
    if (slot == -EUSERS)
      fail(x, EUSERS, "channel '%s' has %u participants, its most", s->rec.name, CHAN_PARTS);
    else
      fail(x, slot < 0 ? -slot : ENOMEM, "channel '%s': its control memory %s", s->rec.name,
           slot == -EBADMSG ? "is corrupt" : "cannot be read");
    return;
  }
  l->chan_slot = (uint32_t)slot;
  v->participant = (uint32_t)slot;
}

/* A participant's lease ended: tell its slot (before the lease goes, while
 * the segment surely exists). */
static void channel_lease_end(struct daemon *d, struct lease *l) {
  int fd = registry_open_fd(&d->reg, l->seg, true);

  if (fd < 0)
    return; /* unlinked: nobody new can open it, and its memory goes with the last view */
  if (dchan_participant_gone(fd, l->seg->rec.size, l->chan_slot) == 1)
    log_info("a participant of channel %s left without closing (pid %u): its space is given back",
             l->seg->rec.name, l->hold ? (unsigned)l->hold->pid : 0u);
  close(fd);
}

/* The slots of control segment c that live leases stand for. */
static void bound_slots(const struct segment *c, uint8_t bound[CHAN_PARTS / 8]) {
  const struct lease *l;

  memset(bound, 0, CHAN_PARTS / 8);
  TAILQ_FOREACH(l, &c->holders, by_seg)
  if (l->chan_slot < CHAN_PARTS)
    bound[l->chan_slot / 8] |= (uint8_t)(1u << (l->chan_slot % 8));
}

/* A writable lease on control segment c opened by a plain open: a
 * participant that registered before a restart re-registering its
 * mapping. It stands for that process's slot again, so that its end is
 * seen as before. */
static void channel_rebind(struct op_ctx *x, struct segment *c) {
  uint8_t bound[CHAN_PARTS / 8];
  struct lease *l = lease_find(&x->d->leases, &x->p->leases, x->resp->u.view.lease);
  int fd, slot;

  if (l == NULL || x->p->pid <= 0 || (fd = registry_open_fd(&x->d->reg, c, true)) < 0)
    return;
  bound_slots(c, bound);
  slot = dchan_find(fd, c->rec.size, x->p->pid, x->p->start, bound);
  close(fd);
  if (slot >= 0)
    l->chan_slot = (uint32_t)slot;
}

/* A process that held views before a restart is gone: its participants in
 * control segment c too. */
static void channel_kept_end(struct daemon *d, struct segment *c, pid_t pid, uint64_t start) {
  uint8_t bound[CHAN_PARTS / 8];
  int fd = registry_open_fd(&d->reg, c, true);

  if (fd < 0)
    return;
  bound_slots(c, bound);
  if (dchan_pid_gone(fd, c->rec.size, pid, start, bound) > 0)
    log_info("a participant of channel %s is gone since the restart (pid %u): its space is given "
             "back",
             c->rec.name, (unsigned)pid);
  close(fd);
}

/* stat of a channel: its depth and participants, from its control memory. */
static void channel_counts(struct op_ctx *x, struct segment *s, struct proto_segment *out) {
  struct segment *c = channel_ctl(x, s);
  int fd;

  if (c == NULL || (fd = registry_open_fd(&x->d->reg, c, true)) < 0)
    return;
  dchan_counts(fd, c->rec.size, &out->depth, &out->senders, &out->receivers);
  close(fd);
}

static void (*const handlers[PROTO_OP_COUNT_])(struct op_ctx *) = {
  [PROTO_OP_HELLO] = op_hello,
  [PROTO_OP_CREATE] = op_create,
  [PROTO_OP_OPEN] = op_open,
  [PROTO_OP_RELEASE] = op_release,
  [PROTO_OP_LIST] = op_list,
  [PROTO_OP_STAT] = op_stat,
  [PROTO_OP_UNLINK] = op_unlink,
  [PROTO_OP_RESIZE] = op_resize,
  [PROTO_OP_STATUS] = op_status,
  [PROTO_OP_FREEZE] = op_freeze,
  [PROTO_OP_CREATE_OPEN] = op_create_open,
  [PROTO_OP_CHMOD] = op_chmod,
  [PROTO_OP_CHOWN] = op_chown,
  [PROTO_OP_CHANNEL_CREATE] = op_channel_create,
  [PROTO_OP_CHANNEL_OPEN] = op_channel_open,
};

void ops_handle(struct daemon *d, struct peer *p, const struct proto_request *req,
                struct proto_response *resp, int *fd_out, struct proto_segment *scratch,
                size_t scratch_len) {
  struct op_ctx x = { d, p, req, resp, fd_out, scratch, scratch_len };

  memset(resp, 0, sizeof *resp);
  resp->id = req->id;
  resp->op = req->op;
  *fd_out = -1;
  d->requests++;
  if (req->op <= PROTO_OP_NONE || req->op >= PROTO_OP_COUNT_ || handlers[req->op] == NULL) {
    fail(&x, EOPNOTSUPP, "unknown op");
    return;
  }
  handlers[req->op](&x);
}

uint64_t ops_peer_gone(struct daemon *d, struct peer *p, bool stopping) {
  struct lease *l;
  struct segment *s;
  uint64_t n = 0;

  while ((l = LIST_FIRST(&p->leases)) != NULL) {
    ops_lease_end(d, l, stopping ? NULL : "its last view's connection ended");
    n++;
  }
  while ((s = LIST_FIRST(&p->pending)) != NULL) {
    settle(s);
    if (!stopping)
      reap(d, s, "its creator left without viewing it");
  }
  return n;
}

void ops_reap_adopted(struct daemon *d) {
  struct segment *s = registry_first_after(&d->reg, ""), *next;

  for (; s != NULL; s = next) {
    next = registry_next(&d->reg, s);
    if (s->adopted)
      reap(d, s, "nobody viewed it again after the restart");
  }
}

/* One page of list answers: as many of the largest segment entries as fit
 * in a frame, after 64 bytes for the envelope. */
size_t ops_list_page_max(uint64_t frame_max) {
  size_t n = (size_t)((frame_max - 64) / proto_msg_max_size(&proto_segment_msg));

  return n < 1 ? 1 : n > 1024 ? 1024 : n;
}

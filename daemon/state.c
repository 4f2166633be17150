/* SPDX-License-Identifier: MIT */
/*
 * state.c: the state file, what it holds and how it is read and written.
 * See state.h for why it exists.
 *
 * One record per line, a kind then keyword=value fields, in any order
 * (values never need quoting: names are [A-Za-z0-9._-]):
 *
 *   shmview-state 2
 *   + name=frames size=1048576 uid=1000 gid=1000 mode=0640
 *     created=1733550000.123456789 flags=ephemeral,frozen     (a segment)
 *   ? name=... (as '+')                  (a create begins: its intent)
 *   = name=frames size=2097152           (a change: the fields given, e.g.
 *                                         mode=0600, flags=frozen)
 *   - name=frames                        (removed)
 *   v name=frames pid=42 start=123 views=1 writable=0
 *                                        (a hold, lease.h; views=0: it ended)
 *
 * (the '+' line above is one line in the file). flags lists every flag
 * that is set, and is left out when none is. One table names every
 * keyword: its type and where it goes in the segment's record or the hold,
 * in the style of conf.c's settings table; one function writes a line from
 * it and one reads a line with it. The segment's keywords are not written
 * here: they come from the segment's description (proto/record.c), each
 * row with a state key (a bool's is a word of "flags", a time's row takes
 * its nanoseconds' row along), in row order, over the record the daemon
 * keeps (struct segment's rec); a '+' line must have the keys of the
 * fields the wire requires, and leaves out optional ones at their default.
 * So a new field of a segment is a row there, and nothing here. A key the
 * table does not know (written by a newer daemon) is skipped, and counted
 * in one warning at load, so an older daemon still keeps the rest of the
 * record; an unknown flag word is skipped the same way.
 *
 * Files of version 1 (shmviewd before keyword records) are still read, once:
 * positional lines "+ NAME SIZE UID GID MODE SEC NSEC[ ephemeral][ frozen]",
 * "? ..." (as '+'), "= NAME SIZE", "- NAME", "F NAME" (it was frozen),
 * "v NAME PID START VIEWS WRITABLE". A line is read by its form (a v1 line
 * has no '=' in its second word), so appends to a version 1 file (when the
 * snapshot at start failed) read back too. The snapshot written at start
 * is version 2.
 *
 * A snapshot has only '+' and 'v' lines; appends add any kind. Loading
 * replays the lines in order, then checks each record against its object
 * in /dev/shm: an object is believed only if it looks exactly like one the
 * daemon makes (trust.h), and its size is the object's. A '?' that no '+'
 * or '-' followed is a create the daemon died in: its object, if ours, is
 * removed (the client never had an answer).
 *
 * Every file here is opened relative to the directory descriptor, which
 * main.c checked is the daemon's and writable by no one else, and with
 * O_NOFOLLOW; the temporary file with O_EXCL.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel.h"
#include "fdstore.h"
#include "log.h"
#include "state.h"
#include "trust.h"

#define STATE_MAGIC    "shmview-state 2"
#define STATE_MAGIC_V1 "shmview-state 1" /* positional records, read for upgrades */
/* Rewrite the file once this many lines were appended (and they outnumber
 * the live records twice), so replay stays proportional to the registry. */
#define COMPACT_AFTER  1024
/* Room for one line: the name and every other key with its largest value. */
#define LINE_MAX_LEN   (PROTO_NAME_MAX + 256)

struct state {
  int dirfd;               /* the file's directory, checked */
  int shmdir;              /* /dev/shm */
  char path[PATH_MAX];     /* for log lines */
  char base[NAME_MAX + 1]; /* the file's name in dirfd */
  char tmp[NAME_MAX + 1];  /* base.tmp */
  int fd;                  /* O_APPEND */
  off_t size;              /* what the file holds: a failed append is cut back to it */
  uint64_t appended;
  struct registry *r;
  struct lease_table *lt;
};

/* ---- records ---- */

/* What one line says: a segment's fields, or a hold's (with seg.name). */
struct hold_fields {
  int32_t pid;
  uint64_t start;
  uint32_t views, writable;
};

struct record {
  char kind;
  uint64_t seen; /* bits of the keys given: rows of the description, F_* */
  struct proto_segment seg;
  struct hold_fields hold;
};

/* A segment's keys have one bit per row of its description (state_field());
 * a hold's keys have these, far above any row. */
#define ROWS_MAX   48
#define F_PID      (1ull << (ROWS_MAX + 0))
#define F_START    (1ull << (ROWS_MAX + 1))
#define F_VIEWS    (1ull << (ROWS_MAX + 2))
#define F_WRITABLE (1ull << (ROWS_MAX + 3))

enum key_type {
  K_NAME,  /* char[PROTO_NAME_MAX + 1], a valid segment name */
  K_U64,   /* uint64_t, decimal */
  K_U32,   /* uint32_t (uid_t, gid_t too), decimal */
  K_PID,   /* int32_t > 0 */
  K_MODE,  /* uint32_t, octal with a leading 0, <= 0777 */
  K_TIME,  /* int64_t seconds and uint32_t nanoseconds: SEC.NNNNNNNNN */
  K_FLAGS, /* bools, comma-separated names of those set */
};

struct key {
  const char *name;
  enum key_type type;
  uint64_t bits;      /* the rows it stands for (a time: two; flags: each flag's), or F_* */
  size_t offset;      /* in struct record */
  size_t size;        /* of that field */
  size_t nsec_offset; /* K_TIME: of its nanoseconds, in struct record */
  bool optional;      /* a '+' line may leave it out: then it is at its default */
};

/* The hold's keys, after the segment's. */
#define HOLD(f) offsetof(struct record, hold.f), sizeof(((struct hold_fields *)0)->f)
static const struct key hold_keys[] = {
  { "pid", K_PID, F_PID, HOLD(pid), 0, false },
  { "start", K_U64, F_START, HOLD(start), 0, false },
  { "views", K_U32, F_VIEWS, HOLD(views), 0, false },
  { "writable", K_U32, F_WRITABLE, HOLD(writable), 0, false },
};
#define N_HOLD_KEYS (sizeof hold_keys / sizeof hold_keys[0])

/* Every keyword, in the order lines are written: the segment's, from its
 * description (proto/record.c: each row with a state key, in row order;
 * the nanoseconds of a time and every flag join the key of their row),
 * then the hold's. Built once, by table(). */
#define KEYS_MAX (ROWS_MAX + N_HOLD_KEYS)
static struct {
  struct key keys[KEYS_MAX];
  size_t n;
  uint64_t segment; /* every segment key's bits: a whole record ('+', '?') */
  uint64_t need;    /* those a whole record must have (not optional on the wire) */
  uint64_t name, size, uid, flags;
} tab;

#define F_NAME (tab.name)
#define F_HOLD (F_NAME | F_PID | F_START | F_VIEWS | F_WRITABLE)

_Static_assert(sizeof(uid_t) == sizeof(uint32_t) && sizeof(gid_t) == sizeof(uint32_t),
               "uid and gid are read and written as K_U32");

static struct key *key_named(const char *name) {
  for (size_t i = 0; i < tab.n; i++)
    if (strcmp(tab.keys[i].name, name) == 0)
      return &tab.keys[i];
  return NULL;
}

/* Each type of row the description can give a state key, as a keyword. */
static bool row_type(const struct proto_field *f, enum key_type *t) {
  switch (f->type) {
  case PROTO_T_NAME: *t = K_NAME; return true;
  case PROTO_T_BOOL: *t = K_FLAGS; return true;
  case PROTO_T_INT: *t = K_TIME; return f->rec->show == PROTO_SHOW_TIME && f->size == 8;
  case PROTO_T_UINT:
    *t = f->rec->show == PROTO_SHOW_MODE ? K_MODE : f->size == 8 ? K_U64 : K_U32;
    return f->size == 8 || f->size == 4;
  default: return false;
  }
}

static void table(void) {
  const struct proto_msg *m = &proto_segment_msg;
  struct key *prev = NULL;

  if (tab.n > 0)
    return;
  if (m->nfields > ROWS_MAX) {
    log_error("the segment's description has %zu rows; the state file takes %d", m->nfields,
              ROWS_MAX);
    abort();
  }
  for (size_t i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];
    uint64_t bit = 1ull << i;
    bool optional = (f->flags & PROTO_FIELD_OPTIONAL) != 0;
    struct key *k;
    enum key_type t = K_TIME; /* a nanoseconds row: its time's */

    if (f->rec == NULL || f->rec->state == NULL)
      continue;
    if (f->rec->show == PROTO_SHOW_NSEC && prev != NULL && prev->type == K_TIME) {
      prev->bits |= bit; /* written with its seconds */
      prev->nsec_offset = offsetof(struct record, seg) + f->offset;
      prev->optional = prev->optional && optional;
      goto add;
    }
    if (!row_type(f, &t)) {
      log_error("segment field %s: the state file has no keyword type for it", f->key);
      abort();
    }
    k = t == K_FLAGS ? key_named(f->rec->state) : NULL;
    if (k == NULL) {
      k = &tab.keys[tab.n++];
      *k = (struct key){ f->rec->state, t, 0,   offsetof(struct record, seg) + f->offset,
                         f->size,       0, true };
    }
    k->bits |= bit;
    k->optional = k->optional && optional;
    prev = k;
  add:
    tab.segment |= bit;
    if (!optional)
      tab.need |= bit;
    if (strcmp(f->key, "name") == 0)
      tab.name = bit;
    else if (strcmp(f->key, "size") == 0)
      tab.size = bit;
    else if (strcmp(f->key, "uid") == 0)
      tab.uid = bit;
    if (t == K_FLAGS)
      tab.flags |= bit;
  }
  for (size_t i = 0; i < N_HOLD_KEYS; i++)
    tab.keys[tab.n++] = hold_keys[i];
}

uint64_t state_field(const char *key) {
  const struct proto_msg *m = &proto_segment_msg;

  table();
  for (size_t i = 0; i < m->nfields; i++) {
    const struct proto_field *f = &m->fields[i];

    if (strcmp(f->key, key) != 0 || !(tab.segment & (1ull << i)))
      continue;
    /* A time, with its nanoseconds' row. */
    if (f->rec->show == PROTO_SHOW_TIME && i + 1 < m->nfields &&
        (tab.segment & (1ull << (i + 1))) && m->fields[i + 1].rec->show == PROTO_SHOW_NSEC)
      return 3ull << i;
    return 1ull << i;
  }
  return 0;
}

uint64_t state_stamp(struct proto_segment *rec, const char *key) {
  uint64_t bits = state_field(key);
  struct timespec now;

  for (size_t i = 0; i < tab.n; i++) {
    const struct key *k = &tab.keys[i];
    int64_t sec;
    uint32_t nsec;

    if (k->type != K_TIME || (k->bits & bits) == 0)
      continue;
    clock_gettime(CLOCK_REALTIME, &now);
    sec = (int64_t)now.tv_sec;
    nsec = (uint32_t)now.tv_nsec;
    memcpy((char *)rec + k->offset - offsetof(struct record, seg), &sec, sizeof sec);
    memcpy((char *)rec + k->nsec_offset - offsetof(struct record, seg), &nsec, sizeof nsec);
  }
  return bits;
}

/* The flag rows of key k in turn: *i the next row (from 0), its field. */
static const struct proto_field *next_flag(const struct key *k, size_t *i) {
  for (; *i < proto_segment_msg.nfields; (*i)++)
    if (k->bits & (1ull << *i))
      return &proto_segment_msg.fields[(*i)++];
  return NULL;
}

static bool flag_get(const struct record *rec, const struct proto_field *f) {
  bool v;

  memcpy(&v, (const char *)&rec->seg + f->offset, sizeof v);
  return v;
}

/* Is every row of k at its default (a flag unset, a time 0) in rec? */
static bool key_at_default(const struct key *k, const struct record *rec) {
  for (size_t i = 0; i < proto_segment_msg.nfields; i++)
    if ((k->bits & (1ull << i)) && !proto_field_at_default(&proto_segment_msg.fields[i], &rec->seg))
      return false;
  return true;
}

/* Each line kind and the keys it must have to be read. */
static const struct {
  char kind;
  int need; /* 'r': a whole record; 'n': the name; 'h': a hold's */
} kinds[] = {
  { '?', 'r' }, { '+', 'r' }, { '=', 'n' }, { '-', 'n' }, { 'v', 'h' },
};

static uint64_t kind_need(size_t ki) {
  return kinds[ki].need == 'r' ? tab.need : kinds[ki].need == 'n' ? F_NAME : F_HOLD;
}

static int kind_index(char kind) {
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (kinds[i].kind == kind)
      return (int)i;
  return -1;
}

/* Append " key=value" for one key of rec to buf (at *len, cap). */
static void put_key(char *buf, size_t cap, size_t *len, const struct key *k,
                    const struct record *rec) {
  const char *field = (const char *)rec + k->offset;
  int n = 0;

  if (*len >= cap)
    return;
  switch (k->type) {
  case K_NAME: n = snprintf(buf + *len, cap - *len, " %s=%s", k->name, field); break;
  case K_U64: {
    uint64_t v;

    memcpy(&v, field, sizeof v);
    n = snprintf(buf + *len, cap - *len, " %s=%" PRIu64, k->name, v);
    break;
  }
  case K_U32:
  case K_MODE: {
    uint32_t v;

    memcpy(&v, field, sizeof v);
    n = snprintf(buf + *len, cap - *len, k->type == K_MODE ? " %s=0%o" : " %s=%u", k->name,
                 (unsigned)v);
    break;
  }
  case K_PID: {
    int32_t v;

    memcpy(&v, field, sizeof v);
    n = snprintf(buf + *len, cap - *len, " %s=%d", k->name, (int)v);
    break;
  }
  case K_TIME: {
    int64_t sec;
    uint32_t nsec;

    memcpy(&sec, field, sizeof sec);
    memcpy(&nsec, (const char *)rec + k->nsec_offset, sizeof nsec);
    n = snprintf(buf + *len, cap - *len, " %s=%lld.%09ld", k->name, (long long)sec, (long)nsec);
    break;
  }
  case K_FLAGS: {
    const struct proto_field *f;
    const char *sep = "=";
    size_t i = 0;

    n = snprintf(buf + *len, cap - *len, " %s", k->name);
    while (n > 0 && (f = next_flag(k, &i)) != NULL) {
      int m;

      if (!flag_get(rec, f))
        continue;
      m = snprintf(buf + *len + n, cap - *len - (size_t)n, "%s%s", sep, proto_rec_name(f));
      n = m < 0 ? m : n + m;
      sep = ",";
    }
    if (n > 0 && *sep == '=')
      n = snprintf(buf + *len, cap - *len, " %s=", k->name); /* none set */
    break;
  }
  }
  if (n > 0)
    *len += (size_t)n;
}

/* One line "K key=value ...\n" of the keys in `fields`. A '+' or '?' line
 * leaves out the optional keys at their default (flags when none is set).
 * Returns its length. */
static size_t format_record(char *buf, size_t cap, const struct record *rec, uint64_t fields) {
  size_t len = (size_t)snprintf(buf, cap, "%c", rec->kind);

  for (size_t i = 0; i < tab.n; i++) {
    const struct key *k = &tab.keys[i];

    if (!(fields & k->bits))
      continue;
    if (k->optional && rec->kind != '=' && key_at_default(k, rec))
      continue;
    put_key(buf, cap, &len, k, rec);
  }
  if (len + 1 < cap) {
    buf[len++] = '\n';
    buf[len] = '\0';
  }
  return len;
}

static size_t format_segment(char *buf, size_t cap, char kind, const struct proto_segment *s,
                             uint64_t fields) {
  struct record rec;

  memset(&rec, 0, sizeof rec);
  rec.kind = kind;
  rec.seg = *s; /* only the recorded fields are read */
  return format_record(buf, cap, &rec, F_NAME | fields);
}

static size_t format_hold(char *buf, size_t cap, const char *name, pid_t pid, uint64_t start,
                          uint32_t views, uint32_t writable) {
  struct record rec;

  memset(&rec, 0, sizeof rec);
  rec.kind = 'v';
  snprintf(rec.seg.name, sizeof rec.seg.name, "%s", name);
  rec.hold.pid = (int32_t)pid;
  rec.hold.start = start;
  rec.hold.views = views;
  rec.hold.writable = writable;
  return format_record(buf, cap, &rec, F_HOLD);
}

/* Parse one value of key k into rec; false if it is malformed. */
static bool parse_value(const struct key *k, const char *v, struct record *rec) {
  char *field = (char *)rec + k->offset, *end;
  unsigned long long u;

  if (k->type != K_NAME && k->type != K_FLAGS && (*v < '0' || *v > '9'))
    return false; /* no sign, no space */
  errno = 0;
  switch (k->type) {
  case K_NAME:
    if (!proto_name_valid(v))
      return false;
    snprintf(field, k->size, "%s", v);
    return true;
  case K_U64: {
    uint64_t x;

    u = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0')
      return false;
    x = u;
    memcpy(field, &x, sizeof x);
    return true;
  }
  case K_U32:
  case K_MODE:
  case K_PID: {
    uint32_t x;

    u = strtoull(v, &end, k->type == K_MODE ? 8 : 10);
    if (errno != 0 || *end != '\0' || u > UINT32_MAX || (k->type == K_MODE && u > 0777) ||
        (k->type == K_PID && (u == 0 || u > INT32_MAX)))
      return false;
    x = (uint32_t)u;
    memcpy(field, &x, sizeof x);
    return true;
  }
  case K_TIME: {
    int64_t sec = (int64_t)strtoll(v, &end, 10);
    uint32_t nsec;

    if (errno != 0 || *end != '.' || strlen(end + 1) != 9)
      return false;
    u = strtoull(end + 1, &end, 10);
    if (errno != 0 || *end != '\0' || u >= 1000000000ULL)
      return false;
    nsec = (uint32_t)u;
    memcpy(field, &sec, sizeof sec);
    memcpy((char *)rec + k->nsec_offset, &nsec, sizeof nsec);
    return true;
  }
  case K_FLAGS:
    /* Words this daemon does not know are the caller's to count. */
    return true;
  }
  return false;
}

/* "a,b,c" into the flags of key k in rec->seg; returns how many words were
 * unknown. */
static unsigned parse_flags(const struct key *k, char *v, struct record *rec) {
  unsigned unknown = 0;
  char *save = NULL;

  for (char *w = strtok_r(v, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
    const struct proto_field *f;
    size_t i = 0;

    while ((f = next_flag(k, &i)) != NULL && strcmp(proto_rec_name(f), w) != 0)
      ;
    if (f != NULL)
      memcpy((char *)&rec->seg + f->offset, &(bool){ true }, sizeof(bool));
    else
      unknown++;
  }
  return unknown;
}

/* A keyword line into rec (zeroed by the caller). *unknown counts keys and
 * flag words this daemon does not know (skipped). False if malformed. */
static bool parse_keywords(char *line, struct record *rec, unsigned *unknown) {
  char *save = NULL, *tok;
  int ki = kind_index(line[0]);

  if (ki < 0 || line[1] != ' ')
    return false;
  rec->kind = line[0];
  for (tok = strtok_r(line + 2, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
    char *eq = strchr(tok, '=');
    const struct key *k;

    if (eq == NULL || eq == tok)
      return false;
    *eq = '\0';
    k = key_named(tok);
    if (k == NULL) {
      (*unknown)++;
      continue;
    }
    if ((rec->seen & k->bits) || !parse_value(k, eq + 1, rec))
      return false;
    if (k->type == K_FLAGS)
      *unknown += parse_flags(k, eq + 1, rec);
    rec->seen |= k->bits;
  }
  return (rec->seen & kind_need((size_t)ki)) == kind_need((size_t)ki);
}

/* A version 1 (positional) line into rec, as shmviewd 68f8bda read it. */
static bool parse_v1(const char *line, struct record *rec) {
  struct proto_segment *s = &rec->seg;
  unsigned long long size, start;
  unsigned uid, gid, mode, views, writable;
  long long sec;
  long nsec;
  int pid;
  char tail;

  rec->kind = line[0];
  switch (line[0]) {
  case '?':
  case '+': {
    char flag[16], flag2[16];
    int n = sscanf(line + 1, " %200s %llu %u %u %o %lld %ld %15s %15s%c", s->name, &size, &uid,
                   &gid, &mode, &sec, &nsec, flag, flag2, &tail);
    bool ephemeral = (n >= 8 && strcmp(flag, "ephemeral") == 0);
    bool frozen =
        (n == 8 && strcmp(flag, "frozen") == 0) || (n == 9 && strcmp(flag2, "frozen") == 0);

    if (n < 7 || n > 9 || (n >= 8 && !ephemeral && !frozen) || (n == 9 && !(ephemeral && frozen)) ||
        mode > 0777 || nsec < 0 || nsec >= 1000000000L)
      return false;
    s->size = size;
    s->uid = uid;
    s->gid = gid;
    s->mode = mode;
    s->created_sec = sec;
    s->created_nsec = (uint32_t)nsec;
    s->ephemeral = ephemeral;
    s->frozen = frozen;
    rec->seen = tab.segment;
    break;
  }
  case 'F': /* read as a change of flags by replay() */
    if (sscanf(line, "F %200s%c", s->name, &tail) != 1)
      return false;
    rec->seen = F_NAME | tab.flags;
    break;
  case '=':
    if (sscanf(line, "= %200s %llu%c", s->name, &size, &tail) != 2)
      return false;
    s->size = size;
    rec->seen = F_NAME | tab.size;
    break;
  case '-':
    if (sscanf(line, "- %200s%c", s->name, &tail) != 1)
      return false;
    rec->seen = F_NAME;
    break;
  case 'v':
    if (sscanf(line, "v %200s %d %llu %u %u%c", s->name, &pid, &start, &views, &writable, &tail) !=
            5 ||
        pid <= 0)
      return false;
    rec->hold.pid = pid;
    rec->hold.start = start;
    rec->hold.views = views;
    rec->hold.writable = writable;
    rec->seen = F_HOLD;
    break;
  default: return false;
  }
  return proto_name_valid(s->name);
}

/* Keyword or version 1: a v1 line's second word is a bare name. */
static bool parse_line(char *line, struct record *rec, unsigned *unknown) {
  const char *word = line[0] != '\0' && line[1] == ' ' ? line + 2 : "";
  size_t wlen = strcspn(word, " ");

  memset(rec, 0, sizeof *rec);
  if (memchr(word, '=', wlen) == NULL)
    return parse_v1(line, rec);
  return parse_keywords(line, rec, unknown);
}

void state_set_fields(struct registry *r, struct segment *s, const struct proto_segment *to,
                      uint64_t fields) {
  const struct proto_msg *m = &proto_segment_msg;

  table();
  if (fields & tab.size)
    registry_set_size(r, s, to->size);
  if (fields & tab.uid)
    registry_set_owner(r, s, (uid_t)to->uid);
  /* The rest are plain values. */
  fields &= tab.segment & ~(tab.name | tab.size | tab.uid);
  for (size_t i = 0; i < m->nfields; i++)
    if (fields & (1ull << i))
      memcpy((char *)&s->rec + m->fields[i].offset, (const char *)to + m->fields[i].offset,
             m->fields[i].size);
}

/* ---- writing ---- */

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Make base.tmp, ours alone: O_EXCL, never through a link. A leftover one
 * of ours (a daemon died mid-snapshot) is removed first; one that is not
 * ours is refused. */
static int open_tmp(struct state *st) {
  for (int tries = 0; tries < 2; tries++) {
    int fd = openat(st->dirfd, st->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat sb;
    char desc[128];

    if (fd >= 0 || errno != EEXIST)
      return fd >= 0 ? fd : -errno;
    if (fstatat(st->dirfd, st->tmp, &sb, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    if (sb.st_uid != geteuid()) {
      trust_describe(&sb, desc, sizeof desc);
      log_error("state file %s.tmp exists and is not the daemon's (%s); remove it", st->path, desc);
      return -EEXIST;
    }
    log_info("removing a leftover %s.tmp", st->path);
    if (unlinkat(st->dirfd, st->tmp, 0) != 0)
      return -errno;
  }
  return -EEXIST;
}

/* Write every linked segment and every hold to base.tmp, fsync, rename
 * over base and reopen it for appending. On any error the old file stays
 * as it was (and in use), the temporary one is removed, and the error is
 * logged. */
static int snapshot(struct state *st) {
  char line[LINE_MAX_LEN];
  struct segment *s;
  struct hold *h;
  off_t size = 0;
  FILE *f;
  int fd, nfd, rc = 0;

  fd = open_tmp(st);
  if (fd < 0) {
    rc = fd;
    log_error("state file %s: cannot create %s.tmp: %s; keeping the previous file", st->path,
              st->path, strerror(-rc));
    return rc;
  }
  f = fdopen(fd, "w");
  if (f == NULL) {
    rc = -errno;
    close(fd);
    goto fail;
  }
#define PUT(...)                      \
  do {                                \
    int n_ = fprintf(f, __VA_ARGS__); \
    if (n_ < 0) {                     \
      rc = errno ? -errno : -EIO;     \
      goto close_fail;                \
    }                                 \
    size += n_;                       \
  } while (0)
  errno = 0;
  PUT("%s\n", STATE_MAGIC);
  for (s = registry_first_after(st->r, ""); s != NULL; s = registry_next(st->r, s)) {
    format_segment(line, sizeof line, '+', &s->rec, tab.segment);
    PUT("%s", line);
  }
  lease_prune_holds(st->lt, st->r);
  for (h = lease_hold_first(st->lt); h != NULL; h = lease_hold_next(st->lt, h)) {
    if (!h->seg->linked)
      continue;
    format_hold(line, sizeof line, h->seg->rec.name, h->pid, h->start, h->views + h->kept_views,
                h->writable + h->kept_writable);
    PUT("%s", line);
  }
#undef PUT
  if (fflush(f) != 0 || ferror(f)) {
    rc = errno ? -errno : -EIO;
    goto close_fail;
  }
  if (fsync(fd) != 0) {
    rc = -errno;
    goto close_fail;
  }
  if (fclose(f) != 0) {
    rc = -errno;
    goto fail;
  }
  if (renameat(st->dirfd, st->tmp, st->dirfd, st->base) != 0) {
    rc = -errno;
    goto fail;
  }
  fsync(st->dirfd); /* the rename itself durable */
  for (h = lease_hold_first(st->lt); h != NULL; h = lease_hold_next(st->lt, h))
    if (h->seg->linked)
      lease_hold_recorded(h);

  nfd = openat(st->dirfd, st->base, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  if (nfd < 0) {
    rc = -errno;
    log_error("state file %s: cannot reopen it: %s", st->path, strerror(-rc));
    return rc;
  }
  if (st->fd >= 0)
    close(st->fd);
  st->fd = nfd;
  st->size = size;
  st->appended = 0;
  return 0;

close_fail:
  fclose(f);
fail:
  unlinkat(st->dirfd, st->tmp, 0);
  log_error("state file %s: cannot rewrite it: %s; keeping the previous file", st->path,
            strerror(-rc));
  return rc;
}

static int append(struct state *st, const char *line);

/* Past this many, one rewrite is cheaper than a line each. */
#define STALE_LINES_MAX 64

int state_drop_stale(struct state *st) {
  char line[LINE_MAX_LEN];
  struct hold *h;
  int rc = 0;

  if (st == NULL)
    return 0;
  if (st->lt->stale_count > STALE_LINES_MAX)
    return snapshot(st);
  while (rc == 0 && (h = lease_stale_first(st->lt)) != NULL) {
    format_hold(line, sizeof line, h->seg->rec.name, h->pid, h->start, 0, 0);
    rc = append(st, line);
    /* A rewrite inside append (appended back to 0) has dropped it already. */
    if (rc == 0 && st->appended != 0)
      lease_stale_dropped(st->lt, st->r, h);
  }
  return rc;
}

/* Append one line. A failed write is cut back off the file (so a torn line
 * cannot swallow the next one), logged, and returned: the caller refuses
 * the change it stood for. */
static int append(struct state *st, const char *line) {
  size_t len = strlen(line);
  int rc;

  if (st == NULL)
    return 0;
  rc = st->fd >= 0 ? write_all(st->fd, line, len) : -EBADF;
  if (rc < 0) {
    if (st->fd >= 0 && ftruncate(st->fd, st->size) != 0)
      log_error("state file %s: cannot cut back a failed append: %s", st->path, strerror(errno));
    log_error("state file %s: cannot append: %s", st->path, strerror(-rc));
    return rc;
  }
  st->size += (off_t)len;
  st->appended++;
  if (st->appended > COMPACT_AFTER && st->appended > 2 * (st->r->count + st->lt->hold_count))
    snapshot(st); /* on failure the appended file is still whole */
  return 0;
}

int state_record(struct state *st, enum state_line kind, const struct proto_segment *s,
                 uint64_t fields) {
  char line[LINE_MAX_LEN];

  table();
  if (kind == STATE_CREATING || kind == STATE_CREATED)
    fields = tab.segment;
  else if (kind == STATE_REMOVED)
    fields = F_NAME;
  format_segment(line, sizeof line, (char)kind, s, fields);
  return append(st, line);
}

int state_held(struct state *st, struct hold *h) {
  char line[LINE_MAX_LEN];
  int rc;

  format_hold(line, sizeof line, h->seg->rec.name, h->pid, h->start, h->views + h->kept_views,
              h->writable + h->kept_writable);
  rc = append(st, line);
  if (rc == 0)
    lease_hold_recorded(h);
  return rc;
}

/* ---- loading ---- */

/* Names whose create began ('?') and did not end ('+' or '-'). */
struct pending {
  struct pending *next;
  char name[PROTO_NAME_MAX + 1];
};

struct replay {
  struct state *st;
  struct pending *pending;
  bool loaded;         /* a state file of ours was read */
  unsigned unknown;    /* keys and flag words this daemon does not know, skipped */
  size_t unknown_line; /* the first line with one */
  size_t whole_len;    /* its bytes up to the last complete line */
};

static void pending_set(struct replay *rp, const char *name, bool on) {
  struct pending **pp, *p;

  for (pp = &rp->pending; *pp != NULL; pp = &(*pp)->next) {
    if (strcmp((*pp)->name, name) == 0) {
      if (!on) {
        p = *pp;
        *pp = p->next;
        free(p);
      }
      return;
    }
  }
  if (on && (p = calloc(1, sizeof *p)) != NULL) {
    snprintf(p->name, sizeof p->name, "%s", name);
    p->next = rp->pending;
    rp->pending = p;
  }
}

static void forget(struct state *st, struct segment *s) {
  lease_segment_forget(st->lt, st->r, s);
  registry_forget(st->r, s);
}

/* Apply one line; returns false if it is malformed. */
static bool replay_line(struct replay *rp, char *line, size_t lineno) {
  struct registry *r = rp->st->r;
  unsigned unknown = 0;
  struct record rec;
  struct segment *s;

  if (!parse_line(line, &rec, &unknown))
    return false;
  if (unknown > 0 && rp->unknown++ == 0)
    rp->unknown_line = lineno;
  s = registry_find(r, rec.seg.name);
  switch (rec.kind) {
  case '?': pending_set(rp, rec.seg.name, true); return true;
  case '+':
    pending_set(rp, rec.seg.name, false);
    if (s != NULL)
      forget(rp->st, s);
    /* every field it carries (the rest are 0) */
    if (registry_adopt(r, &rec.seg, &s) != 0)
      return false;
    return true;
  case 'F': /* version 1: it was frozen */
    if (s != NULL)
      s->rec.frozen = true;
    return true;
  case '=':
    if (s != NULL)
      state_set_fields(r, s, &rec.seg, rec.seen & ~F_NAME);
    return true;
  case '-':
    pending_set(rp, rec.seg.name, false);
    if (s != NULL)
      forget(rp->st, s);
    return true;
  case 'v':
    if (s != NULL)
      lease_hold_restore(rp->st->lt, r, s, (pid_t)rec.hold.pid, rec.hold.start, rec.hold.views,
                         rec.hold.writable);
    return true;
  default: return false;
  }
}

/* suffix: ".untrusted" (not ours) or ".corrupt" (not a state file). */
static void set_aside(struct state *st, const char *why, const char *suffix) {
  char aside[NAME_MAX + 1];

  snprintf(aside, sizeof aside, "%s%s", st->base, suffix);
  log_error("state file %s %s; moved to %s%s and not used: segments are adopted from "
            "/dev/shm with default owners",
            st->path, why, st->path, suffix);
  if (renameat(st->dirfd, st->base, st->dirfd, aside) != 0)
    log_error("cannot move %s aside: %s", st->path, strerror(errno));
}

/* The file's text, if it is one we wrote: a regular file of our euid that
 * no one else may write. Anything else is set aside. */
static char *read_state(struct state *st, size_t *len) {
  struct stat sb;
  char *buf, desc[160], why[200];
  size_t got = 0;
  int fd = openat(st->dirfd, st->base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0) {
    if (errno == ELOOP) {
      set_aside(st, "is a symbolic link", ".untrusted");
      return NULL;
    }
    if (errno != ENOENT)
      log_error("state file %s: cannot read: %s", st->path, strerror(errno));
    return NULL;
  }
  if (fstat(fd, &sb) != 0) {
    log_error("state file %s: cannot read: %s", st->path, strerror(errno));
    close(fd);
    return NULL;
  }
  if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
    close(fd);
    trust_describe(&sb, desc, sizeof desc);
    snprintf(why, sizeof why, "is not the daemon's own (%s)", desc);
    set_aside(st, why, ".untrusted");
    return NULL;
  }
  buf = malloc((size_t)sb.st_size + 1);
  while (buf != NULL && got < (size_t)sb.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  if (buf != NULL)
    buf[got] = '\0';
  *len = got;
  return buf;
}

/* Replay the file; a file that is not ours is set aside, not trusted. */
static void load(struct replay *rp) {
  struct state *st = rp->st;
  size_t len, lineno = 1;
  char *buf = read_state(st, &len), *line, *nl;

  if (buf == NULL)
    return;
  if (strncmp(buf, STATE_MAGIC "\n", sizeof STATE_MAGIC) != 0 &&
      strncmp(buf, STATE_MAGIC_V1 "\n", sizeof STATE_MAGIC_V1) != 0) {
    set_aside(st, "is not a shmview state file", ".corrupt");
    free(buf);
    return;
  }
  rp->loaded = true;
  line = buf + sizeof STATE_MAGIC;
  rp->whole_len = (size_t)(line - buf);
  while ((nl = strchr(line, '\n')) != NULL) {
    *nl = '\0';
    lineno++;
    if (!replay_line(rp, line, lineno))
      log_warn("state file %s:%zu: ignoring a malformed line", st->path, lineno);
    line = nl + 1;
    rp->whole_len = (size_t)(line - buf);
  }
  if (*line != '\0')
    log_warn("state file %s: ignoring an unfinished last line", st->path);
  if (rp->unknown > 0)
    log_warn("state file %s:%zu: skipping keys or flags this shmviewd does not know, on %u "
             "line%s (written by a newer one?); the rest of each record is kept",
             st->path, rp->unknown_line, rp->unknown, rp->unknown == 1 ? "" : "s");
  free(buf);
}

/* Open "<prefix>.<name>" in /dev/shm, never through a link, and fstat it.
 * Returns 0 (sb filled), -ENOENT, or another -errno. */
static int stat_object(struct state *st, const char *name, struct stat *sb) {
  char obj[NAME_MAX + 1];
  int fd, rc = 0;

  snprintf(obj, sizeof obj, "%s.%s", st->r->prefix, name);
  fd = openat(st->shmdir, obj, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    /* A symbolic link (or something we may not open): describe it. */
    if (rc != -ENOENT && fstatat(st->shmdir, obj, sb, AT_SYMLINK_NOFOLLOW) == 0)
      return 0;
    return rc;
  }
  if (fstat(fd, sb) != 0)
    rc = -errno;
  close(fd);
  return rc;
}

static void log_foreign(const struct state *st, const char *name, const struct stat *sb,
                        const char *what) {
  char desc[128];

  trust_describe(sb, desc, sizeof desc);
  log_warn("segment %s: " TRUST_SHM_DIR "/%s.%s is not the daemon's (%s); %s", name, st->r->prefix,
           name, desc, what);
}

/* A sealed segment's object is the memfd the service manager's store
 * passed back (fdstore.h): without it the segment is gone (its memory
 * went with the last daemon and holders); one that is not the daemon's
 * kind of memfd is dropped from the store. True if s was kept. */
static bool check_sealed(struct state *st, struct segment *s) {
  int fd = fdstore_take(st->r->prefix, s->rec.name);
  char why[128];

  if (fd < 0) {
    log_warn("segment %s: sealed, and no descriptor of it came back from the service manager's "
             "file descriptor store (none, or not kept): its memory went with the previous "
             "daemon and its holders; dropping its record",
             s->rec.name);
    return false;
  }
  if (registry_adopt_memfd(s, fd, why, sizeof why) < 0) {
    log_warn("segment %s: the stored descriptor is not a sealed memfd of the daemon's (%s); "
             "dropping it and its record",
             s->rec.name, why);
    close(fd);
    fdstore_remove(st->r->prefix, s->rec.name);
    return false;
  }
  return true;
}

/* A sealed channel whose ring or control memory did not come back (the
 * store kept one of the two: FileDescriptorStoreMax= reached between
 * them) is no channel: the other half goes too, and out of the store, so
 * the name is free rather than stuck with EIO. (A plain channel's halves
 * are objects in /dev/shm, each kept or repaired as any segment.) */
static void drop_half_channels(struct state *st) {
  struct segment *s, *next, *other;
  char name[PROTO_NAME_MAX + 1];
  size_t n, k = strlen(CHAN_SUFFIX);

  for (s = registry_first_after(st->r, ""); s != NULL; s = next) {
    next = registry_next(st->r, s);
    if (!s->rec.sealed || !(s->rec.channel || s->rec.control))
      continue;
    name[0] = '\0';
    n = strlen(s->rec.name);
    if (s->rec.channel && n + k <= PROTO_NAME_MAX) {
      snprintf(name, sizeof name, "%s" CHAN_SUFFIX, s->rec.name);
      other = registry_find(st->r, name);
      if (other != NULL && other->rec.control)
        continue;
    } else if (s->rec.control && n > k && strcmp(s->rec.name + n - k, CHAN_SUFFIX) == 0) {
      memcpy(name, s->rec.name, n - k);
      name[n - k] = '\0';
      other = registry_find(st->r, name);
      if (other != NULL && other->rec.channel)
        continue;
    }
    log_warn("segment %s: the sealed channel it belongs to lost its %s (%s did not come back); "
             "dropping it and its record",
             s->rec.name, s->rec.channel ? "control memory" : "ring", name);
    fdstore_remove(st->r->prefix, s->rec.name);
    forget(st, s);
  }
}

/* The objects are the truth: drop records whose object is gone or is not
 * ours, take sizes from the objects. */
static void check_objects(struct state *st) {
  struct segment *s, *next;
  struct stat sb;

  for (s = registry_first_after(st->r, ""); s != NULL; s = next) {
    next = registry_next(st->r, s);
    if (s->rec.sealed) {
      if (!check_sealed(st, s))
        forget(st, s);
      continue;
    }
    if (stat_object(st, s->rec.name, &sb) != 0) {
      log_warn("segment %s: its shared-memory object " TRUST_SHM_DIR "/%s.%s is gone; "
               "dropping it",
               s->rec.name, st->r->prefix, s->rec.name);
      forget(st, s);
      continue;
    }
    if (!trust_object_ok(&sb)) {
      log_foreign(st, s->rec.name, &sb, "dropping its record and leaving the object alone");
      forget(st, s);
      continue;
    }
    if ((uint64_t)sb.st_size != s->rec.size) {
      log_warn("segment %s: recorded size %" PRIu64 ", object size %lld; using the "
               "object's",
               s->rec.name, s->rec.size, (long long)sb.st_size);
      registry_set_size(st->r, s, (uint64_t)sb.st_size);
    }
  }
}

/* Creates the daemon died in: their objects (if ours) go. */
static void finish_pending(struct replay *rp) {
  struct state *st = rp->st;
  struct pending *p;
  struct stat sb;

  while ((p = rp->pending) != NULL) {
    rp->pending = p->next;
    if (registry_find(st->r, p->name) == NULL && stat_object(st, p->name, &sb) == 0) {
      char obj[NAME_MAX + 1];

      snprintf(obj, sizeof obj, "%s.%s", st->r->prefix, p->name);
      if (!trust_object_ok(&sb))
        log_foreign(st, p->name, &sb, "leaving it alone");
      else if (unlinkat(st->shmdir, obj, 0) == 0)
        log_warn("segment %s: its create did not complete (the daemon stopped during it); "
                 "removed " TRUST_SHM_DIR "/%s",
                 p->name, obj);
      else
        log_error("segment %s: cannot remove the object of an unfinished create: %s", p->name,
                  strerror(errno));
    }
    free(p);
  }
}

/* Objects with our prefix that no record names: keep the ones that are
 * ours, as the daemon's own with mode 0600; log and ignore the rest. */
static void adopt_orphans(struct state *st, gid_t gid) {
  size_t plen = strlen(st->r->prefix);
  int fd = openat(st->shmdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd < 0 ? NULL : fdopendir(fd);
  struct dirent *e;

  if (dir == NULL) {
    log_error("cannot scan " TRUST_SHM_DIR ": %s", strerror(errno));
    if (fd >= 0)
      close(fd);
    return;
  }
  while ((e = readdir(dir)) != NULL) {
    const char *name = e->d_name + plen + 1;
    struct proto_segment rec;
    struct stat sb;

    if (strncmp(e->d_name, st->r->prefix, plen) != 0 || e->d_name[plen] != '.' ||
        !proto_name_valid(name) || registry_find(st->r, name) != NULL)
      continue;
    if (stat_object(st, name, &sb) != 0)
      continue;
    if (!trust_object_ok(&sb)) {
      log_foreign(st, name, &sb, "leaving it alone (not adopted, not counted)");
      continue;
    }
    memset(&rec, 0, sizeof rec);
    snprintf(rec.name, sizeof rec.name, "%s", name);
    rec.size = (uint64_t)sb.st_size;
    rec.uid = (uint32_t)geteuid();
    rec.gid = (uint32_t)gid;
    rec.mode = TRUST_OBJECT_MODE;
    rec.created_sec = (int64_t)sb.st_mtim.tv_sec;
    rec.created_nsec = (uint32_t)sb.st_mtim.tv_nsec;
    if (registry_adopt(st->r, &rec, NULL) == 0)
      log_warn("segment %s: found " TRUST_SHM_DIR "/%s with no record; adopted it as uid %u, "
               "mode 0600",
               name, e->d_name, (unsigned)geteuid());
  }
  closedir(dir);
}

/* The fresh snapshot could not be written (a full file system): go on
 * appending to the file just loaded, without its torn last line if any.
 * What start-up corrected (dropped records, adopted objects) is corrected
 * the same way at the next start. */
static int keep_previous(struct state *st, size_t whole_len) {
  int fd = openat(st->dirfd, st->base, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0 || ftruncate(fd, (off_t)whole_len) != 0) {
    int rc = -errno;

    if (fd >= 0)
      close(fd);
    return rc;
  }
  log_error("state file %s: appending to the previous file; changes that cannot be recorded "
            "will be refused",
            st->path);
  st->fd = fd;
  st->size = (off_t)whole_len;
  return 0;
}

int state_open(struct state **out, int dirfd, const char *path, int shmdir, struct registry *r,
               struct lease_table *lt, gid_t gid, size_t *adopted) {
  char dir[PATH_MAX];
  const char *base = trust_split(path, dir, sizeof dir);
  struct state *st;
  struct replay rp;
  int rc;

  if (strlen(base) + sizeof ".untrusted" > NAME_MAX + 1 || strlen(path) >= PATH_MAX ||
      base[0] == '\0')
    return -ENAMETOOLONG;
  st = calloc(1, sizeof *st);
  if (st == NULL)
    return -ENOMEM;
  snprintf(st->path, sizeof st->path, "%s", path);
  snprintf(st->base, sizeof st->base, "%s", base);
  snprintf(st->tmp, sizeof st->tmp, "%s.tmp", base);
  st->dirfd = dirfd;
  st->shmdir = shmdir;
  st->fd = -1;
  st->r = r;
  st->lt = lt;
  memset(&rp, 0, sizeof rp);
  rp.st = st;
  table();
  load(&rp);
  check_objects(st);
  drop_half_channels(st);
  fdstore_drop_unclaimed();
  finish_pending(&rp);
  adopt_orphans(st, gid);
  rc = snapshot(st);
  if (rc < 0 && rp.loaded)
    rc = keep_previous(st, rp.whole_len);
  if (rc < 0) {
    if (st->fd >= 0)
      close(st->fd);
    free(st);
    return rc;
  }
  *adopted = (size_t)r->count;
  *out = st;
  return 0;
}

void state_close(struct state *st) {
  if (st == NULL)
    return;
  if (st->fd >= 0)
    close(st->fd);
  close(st->dirfd);
  free(st);
}

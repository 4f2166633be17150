/* SPDX-License-Identifier: MIT */
/*
 * proto.h: the shmview wire protocol, shared by shmviewd and libshmview.
 *
 * A connection is a SOCK_STREAM Unix socket carrying frames: a 4-byte
 * big-endian payload length, then one msgpack map. A frame may carry one
 * file descriptor (SCM_RIGHTS) attached to its first byte, as OpenBSD's
 * imsg does; only this module touches cmsg buffers.
 *
 * Requests are {id, op, ...args}; responses {id, ok: true, ...} or
 * {id, err: {code, msg}} with code a positive errno value. The decoder
 * checks every type and every required field, so the daemon's handlers see
 * only well-formed requests. docs/protocol.md describes every message.
 *
 * Nothing here is exported from libshmview (only shmv_* is).
 */
#ifndef SHMV_PROTO_PROTO_H
#define SHMV_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>

#define PROTO_VERSION           1
#define PROTO_HEADER_SIZE       4
#define PROTO_FRAME_MAX_DEFAULT (64u * 1024u) /* payload bytes */
#define PROTO_FRAME_MAX_MIN     (4u * 1024u)
#define PROTO_NAME_MAX          200
#define PROTO_TO_END            UINT64_MAX /* open: length to the end of the segment */
#define PROTO_MSG_MAX           256        /* error sentence, with NUL */

/* ---- ops ---- */

/* The ops. Each has a row in proto_ops[] (msg.c) saying what it takes and
 * answers, and a handler in daemon/ops.c's table, both indexed by this enum. */
enum proto_op {
  PROTO_OP_NONE = 0,
  PROTO_OP_HELLO,
  PROTO_OP_CREATE,
  PROTO_OP_OPEN,
  PROTO_OP_RELEASE,
  PROTO_OP_LIST,
  PROTO_OP_STAT,
  PROTO_OP_UNLINK,
  PROTO_OP_RESIZE,
  PROTO_OP_STATUS,
  PROTO_OP_FREEZE,         /* make a segment immutable */
  PROTO_OP_CREATE_OPEN,    /* create, and answer with a writable view of all of it */
  PROTO_OP_CHMOD,          /* set a segment's mode */
  PROTO_OP_CHOWN,          /* set a segment's owner and/or group */
  PROTO_OP_CHANNEL_CREATE, /* create a channel: its ring NAME and control NAME.ctl */
  PROTO_OP_CHANNEL_OPEN,   /* register a participant: a writable view of NAME.ctl */
  PROTO_OP_COUNT_          /* not an op */
};

/* "hello", "create", ...; NULL for an invalid op. */
const char *proto_op_name(enum proto_op op);
/* PROTO_OP_NONE if s (len bytes, not NUL-terminated) names no op. */
enum proto_op proto_op_lookup(const char *s, size_t len);

/* ---- names, paths and the clock (names.c) ---- */

/* true if name (NUL-terminated) is 1..PROTO_NAME_MAX chars of
 * [A-Za-z0-9._-], not starting with '.'. */
bool proto_name_valid(const char *name);

/* Where a socket path came from (proto_socket_resolve). */
enum proto_socket_source {
  PROTO_SOCKET_EXPLICIT, /* the program's (or the daemon's --socket) */
  PROTO_SOCKET_ENV,      /* $SHMVIEW_SOCKET */
  PROTO_SOCKET_SYSTEM,   /* /run/shmview/shmview.sock */
  PROTO_SOCKET_RUNTIME,  /* $XDG_RUNTIME_DIR/shmview.sock */
  PROTO_SOCKET_FALLBACK, /* /tmp/shmview-$EUID/shmview.sock */
};

#define PROTO_SYSTEM_SOCKET "/run/shmview/shmview.sock"

/* Socket path resolution, the same for daemon and client: explicit (if
 * non-NULL and non-empty), else /run/shmview/shmview.sock in a
 * secure-execution process (setuid, setgid, capabilities: AT_SECURE),
 * whose environment is its invoker's; else $SHMVIEW_SOCKET, else
 * /run/shmview/shmview.sock when euid is 0, else
 * $XDG_RUNTIME_DIR/shmview.sock, else /tmp/shmview-$EUID/shmview.sock.
 * Variables are read with secure_getenv. Returns the source, or
 * -ENAMETOOLONG (also when longer than sun_path). */
int proto_socket_resolve(const char *explicit_path, char *buf, size_t cap);

/* The same, returning 0 rather than the source. */
int proto_socket_path(const char *explicit_path, char *buf, size_t cap);

/* true in a secure-execution process (getauxval(AT_SECURE)). */
bool proto_secure_mode(void);

/* "/tmp/shmview-UID" into buf: the fallback socket directory of uid. */
void proto_fallback_dir(uid_t uid, char *buf, size_t cap);

/* Check that dir is a private directory of uid's, as the fallback
 * directory must be (anyone may create a name in /tmp): a real directory
 * (lstat: the last component is no symbolic link), owned by uid, with no
 * permission bit for group or others. 0, or -EPERM (-errno when lstat
 * fails) with what was found in why: "directory /tmp/shmview-60001 is
 * owned by uid 65534, not 60001", "/tmp/shmview-60001 is a symbolic link
 * to /tmp/x (owned by uid 65534), not a directory", ... */
int proto_private_dir_check(const char *dir, uid_t uid, char *why, size_t cap);

/* Milliseconds on CLOCK_MONOTONIC: the daemon's uptime, grace and stall
 * deadlines, the client's reconnect deadline. */
uint64_t proto_monotonic_ms(void);

/* ---- messages (msg.c) ---- */

/* Bits of proto_request.fields: which optional arguments were present. */
#define PROTO_F_NAME     (1u << 0)
#define PROTO_F_SIZE     (1u << 1)
#define PROTO_F_MODE     (1u << 2)
#define PROTO_F_OFFSET   (1u << 3)
#define PROTO_F_LENGTH   (1u << 4)
#define PROTO_F_WRITABLE (1u << 5)
#define PROTO_F_LEASE    (1u << 6)
#define PROTO_F_AFTER    (1u << 7)
#define PROTO_F_VERSION  (1u << 8)
#define PROTO_F_FLAGS    (1u << 9)
#define PROTO_F_UNLINKED (1u << 10)
#define PROTO_F_AFTER_ID (1u << 11)
#define PROTO_F_HOLDERS  (1u << 12)
#define PROTO_F_OWN      (1u << 13)
#define PROTO_F_UID      (1u << 14)
#define PROTO_F_GID      (1u << 15)

#define PROTO_COMM_MAX 16 /* a holder's command name (/proc/PID/comm) */

/* create's flags */
#define PROTO_CREATE_EPHEMERAL 0x1u /* removed when its last view ends */
#define PROTO_CREATE_KNOWN     PROTO_CREATE_EPHEMERAL

struct proto_request {
  uint64_t id;
  enum proto_op op;
  uint32_t fields;                /* set by decode: PROTO_F_* on the wire (not read by encode) */
  char name[PROTO_NAME_MAX + 1];  /* create open stat unlink resize */
  char after[PROTO_NAME_MAX + 1]; /* list: resume after this name ("" = start) */
  uint64_t size;                  /* create resize */
  uint32_t mode;                  /* create; default 0600 */
  uint64_t offset;                /* open; default 0 */
  uint64_t length;                /* open; default PROTO_TO_END */
  bool writable;                  /* open; default false */
  uint64_t lease;                 /* release */
  uint32_t version;               /* hello: client's protocol version */
  uint32_t flags;                 /* create: PROTO_CREATE_*; default 0 */
  bool unlinked;                  /* list: unlinked segments still viewed */
  uint64_t after_id;              /* list unlinked: resume after this unlink_id;
                                     stat holders: after this lease id */
  bool holders;                   /* stat: include who holds views */
  bool own;                       /* open: only a segment the caller's uid owns (EPERM) */
  uint32_t uid, gid;              /* chown: the new owner, group; PROTO_ID_KEEP: unchanged */
};

/* chown's uid or gid that leaves the field as it is ((uid_t)-1, as chown(2)). */
#define PROTO_ID_KEEP UINT32_MAX

struct proto_segment {
  char name[PROTO_NAME_MAX + 1];
  uint64_t size;
  uint32_t uid, gid, mode;
  uint64_t views, writable_views;
  int64_t created_sec;
  uint32_t created_nsec;
  bool ephemeral;      /* created with PROTO_CREATE_EPHEMERAL */
  bool unlinked;       /* unlinked, still mapped (list only) */
  uint64_t unlink_id;  /* with unlinked: its place in that list */
  bool frozen;         /* no writable view or resize any more (freeze) */
  bool restricted;     /* the asker may not read it: gid, views, writable_views,
                         created, ephemeral, frozen, changed are sent as 0 (hidden) */
  int64_t changed_sec; /* the last resize, freeze, chmod or chown (0: none) */
  uint32_t changed_nsec;
  bool channel;       /* the ring of a channel (its control memory is NAME.ctl) */
  bool control;       /* a channel's control memory */
  uint64_t depth;     /* channel: messages sent and not yet received */
  uint32_t senders;   /* channel: participants that may send */
  uint32_t receivers; /* and receive */
};

struct proto_holder {            /* one view lease, for stat's holders */
  uint32_t pid, uid;             /* the holding connection's, SO_PEERCRED */
  char comm[PROTO_COMM_MAX + 1]; /* its command name, read at connect */
  uint64_t lease;                /* the lease id (paging order) */
  uint64_t offset, length;       /* the window */
  bool writable;
  int64_t since_sec; /* CLOCK_REALTIME, when it was opened */
  uint32_t since_nsec;
};

struct proto_view { /* open's answer; the fd travels beside it */
  char name[PROTO_NAME_MAX + 1];
  uint64_t offset, length; /* length resolved (never PROTO_TO_END) */
  uint64_t segment_size;   /* size of the segment when opened */
  uint64_t lease;          /* id for release */
  bool writable;
  bool ephemeral;       /* the segment goes with its last lease (optional, false when absent) */
  uint32_t uid, gid;    /* the segment's owner (optional; PROTO_OWNER_UNKNOWN when absent) */
  uint32_t participant; /* channel_open: the participant's slot (optional, PROTO_NO_PARTICIPANT) */
};

#define PROTO_NO_PARTICIPANT UINT32_MAX

/* channel_open's flags */
#define PROTO_CHANNEL_SEND  0x1u
#define PROTO_CHANNEL_RECV  0x2u
#define PROTO_CHANNEL_KNOWN (PROTO_CHANNEL_SEND | PROTO_CHANNEL_RECV)

/* proto_view's uid and gid from a daemon that does not send them. */
#define PROTO_OWNER_UNKNOWN UINT32_MAX

struct proto_hello {
  uint32_t version;   /* daemon's protocol version */
  char server[32];    /* daemon's version string */
  uint64_t frame_max; /* largest payload the daemon accepts/sends */
  uint32_t name_max;
};

struct proto_status {
  char server[32];
  uint32_t version;
  uint64_t uptime_ms;
  uint64_t clients, segments, bytes, views, writable_views, requests;
  uint64_t max_segment_size, max_total_size, max_clients, max_views;
  uint64_t frame_max;
  uint64_t quota_bytes, quota_segments, quota_views; /* per uid; 0: none */
  uint32_t uid;                                      /* the asking peer's */
  uint64_t used_bytes, used_segments, used_views;    /* what that uid holds */
  uint64_t grace_ms; /* restart grace left (no shrinking adopted segments) */
};

struct proto_response {
  uint64_t id;
  enum proto_op op;        /* the request's op: selects the body */
  int err;                 /* 0: ok; else a positive errno value */
  char msg[PROTO_MSG_MAX]; /* with err: a human sentence */
  union {
    struct proto_hello hello;       /* HELLO */
    struct proto_segment segment;   /* CREATE, RESIZE (the new state) */
    struct {                        /* STAT */
      struct proto_segment segment; /* first: the same place as u.segment */
      struct proto_holder *holders; /* encode: borrowed; decode: malloc'd */
      size_t nholders;
      uint64_t holders_more; /* holders after these: ask again after the last lease */
    } stat;
    struct proto_view view;        /* OPEN */
    struct proto_status status;    /* STATUS */
    struct {                       /* LIST: one page, sorted by name */
      struct proto_segment *items; /* encode: borrowed; decode: malloc'd */
      size_t count;
      bool more; /* ask again with after = last name */
    } list;
  } u; /* RELEASE, UNLINK: no body */
};

/* ---- the protocol tables (msg.c) ----
 *
 * Every message is described once, as a table of fields: the wire key, the
 * type, where the value lives in the C struct, and for requests which
 * PROTO_F_* bit marks it present. One walker encodes, decodes, counts map
 * entries, frees and bounds every message from these tables; tests and
 * fuzzers iterate them too. Adding a field is one row (plus the struct
 * member); adding an op is one row in proto_ops[], a handler and docs. */

enum proto_type {
  PROTO_T_UINT,   /* unsigned integer in `size` (4 or 8) bytes, at most max */
  PROTO_T_INT,    /* signed 64-bit integer */
  PROTO_T_BOOL,   /* bool */
  PROTO_T_STR,    /* char[size]: NUL-terminated, no NUL inside */
  PROTO_T_NAME,   /* a STR that proto_name_valid() accepts */
  PROTO_T_AFTER,  /* a NAME, or "" */
  PROTO_T_LENGTH, /* uint64_t; nil on the wire is PROTO_TO_END */
  PROTO_T_MAP,    /* a nested `sub` message stored at offset */
  PROTO_T_ARRAY,  /* `sub` messages: a pointer at offset, a size_t count at
                     count_offset (decode: malloc'd, proto_response_free) */
};

/* proto_field.flags */
#define PROTO_FIELD_OPTIONAL \
  0x1u /* omitted on the wire at its default (an
                                     empty string or array for STR/ARRAY);
                                     a response may lack it */

struct proto_msg;
struct proto_rec;

struct proto_field {
  const char *key;
  size_t klen; /* strlen(key): keys are compared and written on every message */
  enum proto_type type;
  uint32_t flags;  /* PROTO_FIELD_* */
  size_t offset;   /* in the message's struct */
  size_t size;     /* of the member (UINT 4 or 8, STR its buffer) */
  uint64_t max;    /* UINT: largest value accepted */
  const char *why; /* UINT: what an out-of-range error says (NULL: max) */
  uint64_t dflt;   /* UINT, LENGTH, BOOL: the value when absent */
  uint32_t bit;    /* requests: the PROTO_F_* bit */
  const struct proto_msg *sub;
  size_t count_offset;         /* ARRAY */
  const struct proto_rec *rec; /* a record's field: the rest of its row (below); else NULL */
};

struct proto_msg {
  const char *name; /* for messages and tests */
  size_t size;      /* of its struct (an ARRAY's item size) */
  const struct proto_field *fields;
  size_t nfields;
};

/* One row per op, indexed by enum proto_op (row 0, NONE, is empty). */
struct proto_op_info {
  const char *name;
  uint32_t uses;                 /* PROTO_F_* arguments the op reads */
  uint32_t needs;                /* those it requires */
  bool retry_safe;               /* may be sent again to a new daemon after the old one
                      vanished mid-exchange (it changed nothing that outlives
                      a daemon) */
  const struct proto_msg *reply; /* the ok answer's body, offsets in struct
                                    proto_response; NULL: none */
};

extern const struct proto_op_info proto_ops[PROTO_OP_COUNT_];
extern const struct proto_msg proto_request_msg; /* struct proto_request's arguments */
extern const struct proto_msg proto_segment_msg; /* struct proto_segment */
extern const struct proto_msg proto_holder_msg;  /* struct proto_holder */
extern const struct proto_msg proto_status_msg;  /* struct proto_status */

/* The row of op, or NULL for an invalid op. */
const struct proto_op_info *proto_op_info(enum proto_op op);

/* Is f's value in the struct at base its default (what the decoder sets
 * when the key is absent)? */
bool proto_field_at_default(const struct proto_field *f, const void *base);

/* The largest encoding of one m (a map of every field at its longest);
 * ARRAY fields count as empty. For sizing pages of answers. */
size_t proto_msg_max_size(const struct proto_msg *m);

/* Encode a whole frame (header + payload) into out, which the caller has
 * initialised (msgpack_sbuffer_init) and owns. Returns 0, or -EMSGSIZE if
 * the payload exceeds frame_max (out is then left empty), -ENOMEM. */
int proto_request_encode(const struct proto_request *req, size_t frame_max, msgpack_sbuffer *out);
int proto_response_encode(const struct proto_response *resp, size_t frame_max,
                          msgpack_sbuffer *out);

/* Decode one payload (no header). On failure returns -EPROTO (not a msgpack
 * map, trailing bytes), -EINVAL (wrong type, missing or out-of-range field,
 * bad name) or -EOPNOTSUPP (unknown op), writes a sentence into errmsg, and
 * still sets req->id when the id was readable (so the error can answer it). */
int proto_request_decode(const void *payload, size_t len, struct proto_request *req, char *errmsg,
                         size_t errcap);

/* Decode a response to a request of op `op`. Returns 0 (resp->err may still
 * carry the daemon's error), -EPROTO for anything malformed, or -ENOMEM.
 * ARRAY fields of the answer (list's items, stat's holders) are allocated:
 * free with proto_response_free. A failed decode owns nothing. */
int proto_response_decode(const void *payload, size_t len, enum proto_op op,
                          struct proto_response *resp);
void proto_response_free(struct proto_response *resp);

/* Fill resp as an error answer to id: code a positive errno value,
 * message printf-style. */
void proto_response_error(struct proto_response *resp, uint64_t id, enum proto_op op, int code,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- records (record.c) ----
 *
 * The three records the daemon answers with (segment, holder, status) are
 * described once, in record.c: one row per field, which is at the same
 * time the field's row of the wire table above (key, type, offset in
 * struct proto_segment ...) and, through proto_field.rec, everything else
 * the tree does with it: where it lives in the public struct
 * (shmv_segment_info ...), its public name (JSON key, Python attribute),
 * its meaning, whether a restricted record hides it, its key in the
 * daemon's state file, and how the CLI shows it (list's column, stat's
 * line, --json). Every consumer walks these rows: the codec (msg.c), the
 * daemon's restricted record (proto_record_restrict), the library's fill
 * of the public struct (proto_record_to_public) and its shmv_record_fields()
 * for bindings, the CLI's list, stat and --json. A new field is one row
 * here, its struct members, and its meaning (docs/architecture.md, "How to
 * add a field"). */

/* How the CLI shows a field (column cell, stat line, JSON value). */
enum proto_show {
  PROTO_SHOW_NONE = 0, /* not shown (paging keys: unlink_id, lease) */
  PROTO_SHOW_STR,      /* text; JSON string; an empty cell is "?" */
  PROTO_SHOW_SIZE,     /* bytes: 1.5K (exact with list -b); stat "N bytes (1.5K)" */
  PROTO_SHOW_COUNT,    /* a number */
  PROTO_SHOW_UID,      /* a user name, or the number; stat "name (uid)" */
  PROTO_SHOW_GID,      /* a group name, or the number; stat "name (gid)" */
  PROTO_SHOW_MODE,     /* permission bits, "0640"; JSON the string "0640" */
  PROTO_SHOW_TIME,     /* seconds; the next row holds its nanoseconds. Local
                          time; stat adds RFC 3339; JSON RFC 3339 */
  PROTO_SHOW_NSEC,     /* the nanoseconds of the TIME row before it */
  PROTO_SHOW_FLAG,     /* a bool: its name is a word of the FLAGS cell (or
                          "-"); stat "yes (doc)" or "no"; JSON true/false */
  PROTO_SHOW_RW,       /* a bool: "rw" or "ro"; JSON true/false */
  PROTO_SHOW_BOOL,     /* a bool in JSON only (restricted) */
};

/* The rest of a record field's row (proto_field.rec). */
struct proto_rec {
  const char *name;  /* public name: JSON key, Python attribute, shmv_field
                        name; NULL: the wire key */
  const char *doc;   /* its meaning, one line (stat's "yes (doc)" of a FLAG) */
  size_t pub_offset; /* in the public struct (shmv_segment_info ...) */
  size_t pub_size;   /* of that member; 0: not in the public struct */
  bool hidden;       /* 0 in a restricted record (docs/security.md): the
                        CLI shows "-" or null, Python None */
  bool restricts;    /* this bool is the record's restricted flag */
  bool zero_is_none; /* a TIME that is 0 never happened: the CLI shows "-" or
                        null, Python None */
  const char *state; /* its key in the daemon's state file (a FLAG: a word
                        of the "flags" key); NULL: not persisted */
  enum proto_show show;
  const char *column; /* list's column header; rows with the same header
                         share its cell (VIEWS is views/writable_views) */
  const char *sep;    /* before this row's part of a shared cell ("/") */
  bool right;         /* its column is right-aligned */
  const char *label;  /* stat's line ("writable views"); NULL: none */
  int line;           /* stat's lines go in this order (1, 2, ...) */
  const char *when;   /* stat shows the line only when this bool row (its
                         key) is set ("channel"); NULL: always */
};

/* Is the row in the public struct under its own name (everything there
 * but the nanoseconds a TIME row covers)? Its name. */
static inline bool proto_rec_public(const struct proto_field *f) {
  return f->rec != NULL && f->rec->pub_size > 0 && f->rec->show != PROTO_SHOW_NSEC;
}
static inline const char *proto_rec_name(const struct proto_field *f) {
  return f->rec != NULL && f->rec->name != NULL ? f->rec->name : f->key;
}

/* The records, for walkers that take any of them. */
enum proto_record {
  PROTO_RECORD_SEGMENT,
  PROTO_RECORD_HOLDER,
  PROTO_RECORD_STATUS,
  PROTO_RECORD_COUNT_
};
extern const struct proto_msg *const proto_records[PROTO_RECORD_COUNT_];
/* sizeof the public struct of each (shmv_segment_info ...). */
extern const size_t proto_record_public_size[PROTO_RECORD_COUNT_];

/* Zero the hidden fields of the wire record at base and set its restricts
 * flag: what a peer who may not read the segment is sent. */
void proto_record_restrict(enum proto_record r, void *base);

/* The public struct at pub (zeroed first: proto_record_public_size[r]
 * bytes, the library's sizeof) from the wire record at wire. */
void proto_record_to_public(enum proto_record r, const void *wire, void *pub);

/* ---- framing (frame.c) ---- */

/* The frame reader, as OpenBSD imsg's read + get pair: proto_reader_read()
 * receives bytes (and descriptors) from a socket into the reader's buffer,
 * proto_reader_get() hands out whole frames, each with the descriptor that
 * rode on its first byte. Callers never see cmsg buffers or partial frames.
 *
 * The buffer is sized to what is buffered, not to what a header announces:
 * it starts at 4 KiB and doubles only when full, never beyond header +
 * frame_max, so a peer that announces a large frame and sends a little of
 * it costs little. Once every frame is taken, a buffer that grew is freed:
 * an idle connection holds at most PROTO_READER_KEEP bytes. */
#define PROTO_READER_KEEP 4096u /* buffer kept between frames */
#define PROTO_READER_FDS  4     /* descriptors waiting for their frame */

struct proto_reader {
  uint8_t *buf;
  size_t start; /* first unconsumed byte */
  size_t len;   /* end of valid bytes */
  size_t cap;
  size_t frame_max;   /* payload limit */
  bool keep_fds;      /* false: every descriptor received is closed at once */
  uint64_t abs_start; /* stream offset of buf[start] */
  bool short_read;    /* the last read took less than there was room for */
  size_t nfds;
  struct {
    int fd;
    uint64_t at; /* stream offset of the first byte of its frame */
  } fds[PROTO_READER_FDS];
};

/* keep_fds: whether descriptors a peer passes are handed out with their
 * frames (the client) or closed on arrival (the daemon accepts none). */
void proto_reader_init(struct proto_reader *r, size_t frame_max, bool keep_fds);
/* Free the buffer and close every descriptor not handed out. */
void proto_reader_free(struct proto_reader *r);

/* One recvmsg() from sock into the reader. A descriptor is kept (with
 * keep_fds) for the frame whose first byte came with it; any other is
 * closed. Returns bytes read (> 0), 0 at EOF, -EAGAIN, -ENOMEM, -ENOBUFS
 * when a whole maximal frame is buffered (take it first), or -errno. */
ssize_t proto_reader_read(struct proto_reader *r, int sock);

/* The same from memory (tests, fuzzers): takes at most n bytes, as much as
 * one read could. Returns how many it took, or -ENOMEM / -ENOBUFS. */
ssize_t proto_reader_feed(struct proto_reader *r, const void *data, size_t n);

struct proto_frame {
  const uint8_t *payload; /* valid until the next call into the reader */
  size_t len;
  int fd; /* the descriptor that came with the frame, or -1; the caller's */
};

/* Next whole frame: returns 1 and fills *f, 0 if more bytes are needed,
 * -EMSGSIZE if the header announces more than frame_max, -EPROTO for an
 * empty frame. After a negative return the stream cannot be resynchronised. */
int proto_reader_get(struct proto_reader *r, struct proto_frame *f);

/* Bytes buffered but not yet returned as frames (a half frame). */
size_t proto_reader_pending(const struct proto_reader *r);

/* Write the 4-byte big-endian header for a payload of len bytes. */
void proto_frame_header(uint8_t out[PROTO_HEADER_SIZE], uint32_t len);

/* ---- socket I/O with fd passing (wire.c) ---- */

/* sendmsg() len bytes; if fd >= 0 it rides on the first byte (SCM_RIGHTS).
 * MSG_NOSIGNAL. Returns bytes sent (>0 means the fd went too), or -errno
 * (-EAGAIN on a non-blocking socket that is full; then the fd did not go).
 * Retries EINTR. */
ssize_t proto_send(int sock, const void *buf, size_t len, int fd);

/* proto_send() of iovcnt buffers in one sendmsg: several frames in one
 * send, the fd (if >= 0) on the first byte of them all. */
struct iovec;
ssize_t proto_sendv(int sock, const struct iovec *iov, int iovcnt, int fd);

/* recvmsg() up to cap bytes. If fd is non-NULL, the first descriptor
 * received is stored there (else *fd = -1); every other descriptor
 * received, and all of them when fd is NULL, is closed, so a peer can
 * never make us leak descriptors. MSG_CMSG_CLOEXEC. Returns bytes read,
 * 0 at EOF, or -errno. Retries EINTR. */
ssize_t proto_recv(int sock, void *buf, size_t cap, int *fd);

#endif /* SHMV_PROTO_PROTO_H */

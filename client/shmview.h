/* SPDX-License-Identifier: MIT */
/*
 * shmview.h: client library for shmviewd.
 *
 * shmviewd owns named POSIX shared-memory segments; this library asks it for
 * views (a window NAME, OFFSET, LENGTH, writable or not) and maps just that
 * window, so every process with an overlapping view sees the others' writes
 * with nothing copied. It is Python's memoryview over a bytearray, between
 * processes.
 *
 * Conventions (as in libuv): every function that can fail returns 0 or a
 * negative errno value; shmv_strerror() turns it into a sentence, and
 * shmv_last_error() gives the daemon's own sentence for the last failure.
 *
 * Restarts: when shmviewd goes away, the next request reconnects (retrying
 * for up to 5 s: see shmv_connect_options) and re-registers every live view,
 * whose memory stays mapped throughout. If the daemon does not come back in
 * time the request fails with -ECONNREFUSED.
 *
 * Threads: a shmv_client may be used from several threads at once (requests
 * are serialised on its connection). A shmv_view is a small handle: use each
 * handle from one thread at a time, but slices of one view may be used and
 * released from different threads.
 *
 * fork(): a client belongs to the process that connected it. In a child,
 * shmv_view_release() only unmaps (the parent's lease is untouched),
 * shmv_disconnect() only closes the child's copy of the socket, and every
 * request fails with -ECHILD; connect again in the child to use the daemon.
 * Mappings inherited by the child stay valid until it releases them.
 *
 * ABI: the library's symbols carry versions (SHMVIEW_0.1, ...). Structs the
 * library fills (shmv_segment_info, shmv_status_info) only ever grow at
 * their end, and the caller's size travels with each call (the macros
 * shmv_stat(), shmv_list() and shmv_status() pass sizeof for you), so a
 * program built against an older header keeps working with a newer library
 * and the reverse: fields one side does not know are left out or zeroed.
 * shmv_connect_options carries its own size. shmv_descriptor never changes.
 * Plain C99 and C++ can include this header; it needs no feature macros.
 */
#ifndef SHMV_SHMVIEW_H
#define SHMV_SHMVIEW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmview-version.h" /* SHMV_VERSION_MAJOR, _MINOR, _PATCH, _STRING */

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version at run time ("0.1.0"), which may be newer than the
 * SHMV_VERSION_STRING a program was compiled with; and the same as a number,
 * (major << 16) | (minor << 8) | patch, comparable with SHMV_VERSION_HEX. */
const char *shmv_version(void);
unsigned shmv_version_number(void);

/* Segment names: 1..SHMV_NAME_MAX chars of [A-Za-z0-9._-], not starting with '.'. */
#define SHMV_NAME_MAX 200

/* length argument of shmv_view_open: everything from offset to the end. */
#define SHMV_TO_END ((size_t)-1)

/* flags of shmv_view_open */
#define SHMV_WRITABLE 0x1
/* Map every page of the window now (MAP_POPULATE) instead of at its first
 * touch: one call instead of a page fault per page. Pays for writable
 * windows of 64 KiB and more that will be written in full (2-3x faster
 * first writes from 1 MiB); not for read-only ones, whose read faults
 * already map pages in batches (docs/dataplane.md, docs/benchmarks.md). */
#define SHMV_PREFAULT 0x100 /* apart from every create flag: shmv_view_create takes both */
/* Open the segment only if it is the caller's own: one whose owner is the
 * uid this client connected as (root included: root is refused another
 * uid's segment too). Segment names are shared by every user, as /tmp's
 * are, and an ephemeral segment's name is free again once it is removed:
 * a caller that created a segment and opens it later by name passes this,
 * as O_EXCL/O_NOFOLLOW protect a file, and gets -EPERM if the name is now
 * another user's. The daemon checks it before handing out any descriptor;
 * a daemon too old to check: -EOPNOTSUPP. shmv_view_create accepts it (its
 * segment is always the caller's). */
#define SHMV_OWN      0x200

/* Longest text form of a descriptor, with its terminating NUL:
 * NAME ':' OFFSET ':' LENGTH ':rw' */
#define SHMV_DESCRIPTOR_MAX (SHMV_NAME_MAX + 1 + 20 + 1 + 20 + 3 + 1)

/* ---- client ------------------------------------------------------------ */

typedef struct shmv_client shmv_client;

/* Connect to shmviewd. socket_path NULL resolves it: $SHMVIEW_SOCKET, else
 * /run/shmview/shmview.sock for root, else $XDG_RUNTIME_DIR/shmview.sock,
 * else /tmp/shmview-$EUID/shmview.sock (a directory the daemon makes 0700).
 * Variables are read with secure_getenv(): a setuid or setgid program
 * ignores them, and with socket_path NULL uses /run/shmview/shmview.sock.
 * The same as shmv_connect_with() with default options.
 *
 * Which daemon is trusted: before anything is sent, the library asks the
 * kernel who listens on the socket (SO_PEERCRED) and refuses with -EPERM
 * unless that uid is root, this process's effective uid, the owner of the
 * socket's directory when that directory is no symbolic link and not
 * writable by group or others (as /run/shmview is for the system daemon's
 * user), or a uid named in the options or in $SHMVIEW_TRUSTED_UID. The
 * fallback directory /tmp/shmview-$EUID must be this uid's own, mode 0700,
 * and vouches for no one else. A setuid or setgid program that passes no
 * socket_path trusts only root or /run/shmview's owner. shmv_last_error(NULL)
 * says whose daemon (or directory) was refused. Any other daemon could read
 * what the program writes into its views, or hand it memory that someone
 * else controls. */
int shmv_connect(const char *socket_path, shmv_client **out);

/* Options of shmv_connect_with(). Start from SHMV_CONNECT_OPTIONS_INIT,
 * which sets size (so that a newer library knows which fields this program
 * knows) and the defaults; fields are only ever added at the end. */
typedef struct shmv_connect_options {
  size_t size; /* sizeof(shmv_connect_options), set by the initialiser */
  /* How long a request keeps reconnecting to a daemon that went away
   * before it fails, in ms: -1 the default (5000), 0 never reconnect.
   * $SHMVIEW_RECONNECT_MS, when set, overrides it. A daemon that does not
   * come back in time fails the request with -ECONNREFUSED (its socket
   * gone or left behind alike), or the code of the last attempt (-EACCES,
   * -EPERM ...), and shmv_last_error() says how long it waited. */
  int64_t reconnect_ms;
  /* Released read-only mappings kept for the next view of the same pages (see
   * shmv_view_release): -1 the default (4), 0 none, at most
   * SHMV_MAP_CACHE_MAX. $SHMVIEW_MAP_CACHE, when set, overrides it. */
  int map_cache;
  /* A uid trusted to run the daemon besides those shmv_connect() names,
   * or -1 for none. $SHMVIEW_TRUSTED_UID names one more. */
  int64_t trusted_uid;
} shmv_connect_options;

#define SHMV_MAP_CACHE_MAX 4
#define SHMV_CONNECT_OPTIONS_INIT \
  { sizeof(shmv_connect_options), -1, -1, -1 }

/* shmv_connect() with options (NULL: the defaults). -EINVAL for a value
 * out of range, a size smaller than the first version of the struct, or a
 * field this library does not know set to anything but zero. */
int shmv_connect_with(const char *socket_path, const shmv_connect_options *opts, shmv_client **out);

/* Close the connection. The daemon drops every lease the connection held;
 * views already mapped stay readable/writable memory until released. In a
 * forked child, only the child's copy of the socket is closed. */
void shmv_disconnect(shmv_client *c);

/* The socket path shmv_connect(NULL) would use, into buf (NUL-terminated).
 * Returns 0, or -ENAMETOOLONG when it does not fit. */
int shmv_default_socket_path(char *buf, size_t cap);

/* Why the calling thread's last failed call on c failed: the daemon's own
 * sentence when it sent one ("offset 8192 is past the end of 'frames'
 * (4096 bytes)"), else shmv_strerror()'s. c NULL: the thread's last failed
 * call of all, on any client or a shmv_connect() (so it says why a connect
 * failed). "" when nothing failed yet.
 * Each thread sees only its own calls' errors; a later success does not
 * clear it. The string stays valid until this thread's next failed call;
 * a thread remembers the errors of its last 8 clients. */
const char *shmv_last_error(const shmv_client *c);

/* ---- segments ---------------------------------------------------------- */

typedef struct shmv_segment_info {
  char name[SHMV_NAME_MAX + 1];
  uint64_t size; /* bytes */
  uid_t uid;     /* owner: the creator's uid */
  gid_t gid;
  unsigned mode;           /* permission bits, as a file's (e.g. 0640) */
  uint64_t views;          /* live view leases, all clients */
  uint64_t writable_views; /* of which writable */
  int64_t created_sec;     /* creation time, CLOCK_REALTIME: seconds */
  int32_t created_nsec;    /* and nanoseconds */
  int32_t ephemeral;       /* 1: removed when its last view ends */
  int32_t unlinked;        /* 1: unlinked, still mapped (shmv_list only) */
  int32_t frozen;          /* 1: frozen (shmv_freeze): no writable view or resize */
  /* 1: the caller may not read the segment (not root, not its owner, no r
   * bit for it), so the daemon shows only name, size, uid and mode, as ls -l
   * does: gid, views, writable_views, created_*, ephemeral, frozen and
   * changed_* are hidden and read 0 here. */
  int32_t restricted;
  int64_t changed_sec;  /* the last resize, freeze, chmod or chown, CLOCK_REALTIME (0: none) */
  int32_t changed_nsec; /* and its nanoseconds */
  int32_t channel;      /* 1: the message ring of a channel (shmv_channel_create) */
  int32_t control;      /* 1: a channel's control memory (NAME.ctl) */
  uint64_t depth;       /* channel: messages sent and not yet received */
  uint32_t senders;     /* channel: participants that may send */
  uint32_t receivers;   /* and that may receive */
  /* New fields go here, at the end (see "ABI" above). */
} shmv_segment_info;

/* Create a segment of size bytes (zero-filled), mode like a file's (0 means
 * 0600). The memory is reserved now: a full /dev/shm is -ENOSPC here, never
 * SIGBUS later. -EEXIST if the name is taken, -EINVAL for a bad name. */
int shmv_create(shmv_client *c, const char *name, size_t size, unsigned mode);

/* shmv_create's flags */
#define SHMV_CREATE_EPHEMERAL 0x1u

/* shmv_create with flags (0: the same as shmv_create). SHMV_CREATE_EPHEMERAL:
 * once its creator (this connection, or any of the same uid) has opened a
 * view of it, the daemon removes the segment when its last view anywhere
 * ends (release, disconnect or death of the holder); other uids' views
 * before that never end it; if the creating connection ends first, it
 * goes at once if nobody views it, else with the last view. Open it later with SHMV_OWN: after it is gone (or a
 * daemon restart's grace period removed it) its name is anyone's. Unknown
 * flags: -EINVAL. A daemon too old to know a flag: -EOPNOTSUPP (the
 * segment it made is removed again). */
int shmv_create_flags(shmv_client *c, const char *name, size_t size, unsigned mode, unsigned flags);

/* Remove the name at once. Views already open stay valid; the memory is
 * freed when the last one is released. Owner or root only. */
int shmv_unlink(shmv_client *c, const char *name);

/* Grow (new bytes are zero) or shrink a segment. Shrinking while any view
 * of the segment is leased fails with -EBUSY. Needs write permission.
 * -EROFS for a frozen segment. */
int shmv_resize(shmv_client *c, const char *name, size_t size);

/* Make a segment immutable, as bytes beside bytearray: from now on writable
 * views and resizing are refused with -EROFS, while read-only views work as
 * before; the flag survives daemon restarts and shows in shmv_stat() and
 * shmv_list() (frozen). -EBUSY while any writable view of it is open,
 * -EPERM unless the caller owns it or is root. Freezing a frozen segment
 * succeeds; there is no way back. */
int shmv_freeze(shmv_client *c, const char *name);

/* Set a segment's permission bits, as chmod(2) does a file's: the owner or
 * root only (-EPERM), mode at most 0777 (-EINVAL). Views already open stay
 * open; the new mode decides every later open. Allowed on a frozen segment
 * (freezing fixes its bytes and size, not who may read them). Kept across
 * daemon restarts. */
int shmv_chmod(shmv_client *c, const char *name, unsigned mode);

/* Set a segment's owner and group, as chown(2): (uid_t)-1 or (gid_t)-1
 * leaves that field as it is. Only root gives a segment to another uid;
 * the owner may set the group to one it is in (-EPERM otherwise, also for
 * anyone else). The new owner is charged for the segment: -EDQUOT when its
 * quota cannot take it. Allowed on a frozen segment; kept across daemon
 * restarts. */
int shmv_chown(shmv_client *c, const char *name, uid_t uid, gid_t gid);

/* One segment's record, into *out. */
#define shmv_stat(c, name, out) shmv_stat_sized((c), (name), (out), sizeof *(out))

/* Who holds a view of a segment (as ipcs -p, lsof, fuser answer): one
 * record per view lease, oldest first. pid, uid and comm are the holding
 * connection's, from SO_PEERCRED and /proc/PID/comm at connect. */
typedef struct shmv_holder_info {
  pid_t pid;
  uid_t uid;
  char comm[17]; /* command name, at most 16 bytes; "" if unknown */
  uint64_t offset, length;
  int writable;
  int64_t since_sec;  /* when the view was opened, CLOCK_REALTIME: seconds */
  int32_t since_nsec; /* and nanoseconds */
  /* New fields go here, at the end (see "ABI" above). */
} shmv_holder_info;

/* The holders of segment `name`, in a malloc'd array freed by
 * shmv_holders_free() (every page the daemon sends). -ENOENT if there is
 * no such segment, -EACCES without read permission on it (as ipcs),
 * -EOPNOTSUPP from a daemon that cannot tell. */
#define shmv_holders(c, name, out, count) \
  shmv_holders_sized((c), (name), (out), (count), sizeof **(out))
void shmv_holders_free(shmv_holder_info *list);
/* What shmv_holders() calls; info_size is the caller's
 * sizeof(shmv_holder_info) and the array's stride, as for shmv_list_sized(). */
int shmv_holders_sized(shmv_client *c, const char *name, shmv_holder_info **out, size_t *count,
                       size_t info_size);

/* All segments, sorted by name, in a malloc'd array freed by
 * shmv_list_free(); then those unlinked but still viewed (`unlinked` set;
 * names may repeat there), in the order they were unlinked. */
#define shmv_list(c, out, count) shmv_list_sized((c), (out), (count), sizeof **(out))
void shmv_list_free(shmv_segment_info *list);

/* What the macros above call. info_size is the caller's
 * sizeof(shmv_segment_info), which is also the stride of shmv_list's array:
 * the library fills what both sides know and zeroes the rest. -EINVAL when
 * it is smaller than the first version of the struct. Bindings that cannot
 * use the macros call these with their own struct's size. */
int shmv_stat_sized(shmv_client *c, const char *name, shmv_segment_info *out, size_t info_size);
int shmv_list_sized(shmv_client *c, shmv_segment_info **out, size_t *count, size_t info_size);

/* ---- daemon status ----------------------------------------------------- */

typedef struct shmv_status_info {
  char version[32];  /* daemon version string */
  unsigned protocol; /* wire protocol version */
  uint64_t uptime_ms;
  uint64_t clients;  /* connections now */
  uint64_t segments; /* named segments */
  uint64_t bytes;    /* bytes held by all segments, unlinked ones too */
  uint64_t views;    /* live leases */
  uint64_t writable_views;
  uint64_t requests;         /* requests served since start */
  uint64_t max_segment_size; /* limits; 0 means none */
  uint64_t max_total_size;
  uint64_t max_clients;
  uint64_t max_views;
  uint64_t frame_max;   /* largest frame the daemon accepts, bytes */
  uint64_t quota_bytes; /* per-uid quotas; 0 means none */
  uint64_t quota_segments;
  uint64_t quota_views;
  uid_t uid;           /* the caller's uid, as the daemon sees it */
  uint64_t used_bytes; /* what that uid holds against its quotas */
  uint64_t used_segments;
  uint64_t used_views;
  uint64_t grace_ms; /* after a restart: time left during which
                        re-adopted segments may not shrink */
  /* New fields go here, at the end (see "ABI" above). */
} shmv_status_info;

/* The daemon's counters and limits, into *out. */
#define shmv_status(c, out) shmv_status_sized((c), (out), sizeof *(out))
/* What shmv_status() calls; info_size as for shmv_stat_sized(). */
int shmv_status_sized(shmv_client *c, shmv_status_info *out, size_t info_size);

/* ---- the records, described (for bindings) ----------------------------- */

/* What shmv_record_fields() describes. */
#define SHMV_RECORD_SEGMENT 0 /* shmv_segment_info */
#define SHMV_RECORD_HOLDER  1 /* shmv_holder_info */
#define SHMV_RECORD_STATUS  2 /* shmv_status_info */

/* shmv_field.type: how the member at offset is stored. */
#define SHMV_FIELD_STR  1 /* char[size], NUL-terminated */
#define SHMV_FIELD_UINT 2 /* an unsigned integer of size bytes (4 or 8) */
#define SHMV_FIELD_INT  3 /* a signed integer of size bytes (4 or 8) */
#define SHMV_FIELD_BOOL 4 /* an integer of size bytes (4), 0 or 1 */
#define SHMV_FIELD_TIME \
  5 /* CLOCK_REALTIME: int64_t seconds at offset and int32_t
                             nanoseconds at offset + 8 (created_sec, created_nsec);
                             size 12 */

/* shmv_field.flags */
#define SHMV_FIELD_HIDDEN     0x1u /* 0 when the record's restricted is set: not known */
#define SHMV_FIELD_RESTRICTED 0x2u /* the record's restricted flag itself */
#define SHMV_FIELD_ZERO_NONE  0x4u /* 0 means it never happened: show as none */

/* One member of a record struct. This struct never changes (a new attribute
 * of fields would come with a new function). */
typedef struct shmv_field {
  const char *name; /* "size", "created": as list --json names it */
  const char *doc;  /* what it means, one line */
  unsigned type;    /* SHMV_FIELD_* */
  unsigned flags;   /* SHMV_FIELD_HIDDEN, SHMV_FIELD_RESTRICTED, SHMV_FIELD_ZERO_NONE */
  size_t offset;    /* in the record's struct */
  size_t size;      /* bytes from offset */
} shmv_field;

/* The members of a record struct (record: SHMV_RECORD_*), so that a binding
 * builds its record type by walking them rather than by naming each member:
 * a field added to the library then reaches it with no edit. Returns a
 * static read-only array of *count rows in the struct's order (one row per
 * member, but a TIME row covers a seconds and a nanoseconds member), and
 * the library's sizeof of that struct in *struct_size (if not NULL).
 * Newer libraries only add rows at the end, as their structs grow.
 * A binding (the Python module's SegmentInfo, HolderInfo, Status): make
 * one attribute per row, named name, documented by doc; to fill a record,
 * allocate *struct_size bytes, pass that size to shmv_stat_sized(),
 * shmv_list_sized(), shmv_holders_sized() or shmv_status_sized(), and read
 * each row's member at its offset as its type says; when the row flagged
 * SHMV_FIELD_RESTRICTED reads 1, show the SHMV_FIELD_HIDDEN rows as
 * unknown (None), not 0; show a SHMV_FIELD_ZERO_NONE row that reads 0 as
 * none too (it never happened). NULL with *count 0 for an unknown record. */
const shmv_field *shmv_record_fields(int record, size_t *count, size_t *struct_size);

/* ---- views ------------------------------------------------------------- */

typedef struct shmv_view shmv_view;

/* Open a view of [offset, offset+length) of a segment (length SHMV_TO_END:
 * to the end) and map it. flags: SHMV_WRITABLE asks for a writable view,
 * SHMV_PREFAULT maps its pages at once, SHMV_OWN refuses (-EPERM) a
 * segment another uid owns (other bits: -EINVAL); a
 * read-only view is backed by an O_RDONLY descriptor, so the kernel refuses
 * writes (SIGSEGV) and PROT_WRITE. -ERANGE if the window is outside the
 * segment, -EACCES without permission, -ENOENT if there is no such segment.
 * A zero-length view is legal and maps nothing. */
int shmv_view_open(shmv_client *c, const char *name, size_t offset, size_t length, int flags,
                   shmv_view **out);

/* Create a segment as shmv_create_flags() does and open a writable view of
 * all of it, in one round trip to the daemon. flags: the create flags
 * (SHMV_CREATE_EPHEMERAL) and SHMV_PREFAULT (other bits: -EINVAL). Refused
 * where shmv_create() is, and where opening a view is (the view limit and
 * quota), and then no segment is made. */
int shmv_view_create(shmv_client *c, const char *name, size_t size, unsigned mode, unsigned flags,
                     shmv_view **out);

/* First byte of the view (NULL for a zero-length view opened directly). */
void *shmv_view_data(const shmv_view *v);
size_t shmv_view_length(const shmv_view *v);
int shmv_view_readonly(const shmv_view *v);

/* A view of [start, stop) of v, sharing v's mapping: no round trip, no copy.
 * It keeps the mapping (and the daemon's lease) alive after v is released.
 * Read-only if v is. -ERANGE unless start <= stop <= length. */
int shmv_view_slice(shmv_view *v, size_t start, size_t stop, shmv_view **out);

/* Copy up to cap bytes of the view into dst; returns the view's length
 * (like snprintf, so a short cap is detectable). */
size_t shmv_view_tobytes(const shmv_view *v, void *dst, size_t cap);

/* Release the handle; the lease goes with the last slice. A read-only
 * view's mapping may be kept (up to four per client, until
 * shmv_disconnect) for the next read-only view of the same pages, whose
 * first touch through a new mapping is costly; the map_cache connect
 * option (or SHMVIEW_MAP_CACHE=0) turns that off. A writable view is
 * always unmapped (a kept writable mapping would outlive a shmv_freeze),
 * and so is a view of an ephemeral segment: its segment goes with the last
 * lease. In a forked child it only unmaps: the lease is the
 * parent's. */
void shmv_view_release(shmv_view *v);

/* ---- waiting for a change (the data plane) ----------------------------- */

/* A process that keeps a view open can wait for another process to change a
 * 32-bit word of it, and be woken, with no daemon involved: both are the
 * kernel's shared futex on the mapped page, so they work across processes,
 * on read-only views too (a reader can wait, and can wake a writer).
 * docs/dataplane.md shows the single-producer hand-off built on them.
 *
 * The word is the 4 bytes at `offset` of the view; its position in the
 * segment (the view's offset + offset) must be a multiple of 4 (else
 * -EINVAL), and it must lie inside the view (else -ERANGE). Read and write
 * it with atomic operations (C11 atomic_uint32_t or __atomic builtins). */

/* count argument of shmv_view_wake: every waiter. */
#define SHMV_WAKE_ALL 0x7fffffff

/* Block until the word at offset no longer equals expected, a wake arrives
 * for it, or timeout_ns nanoseconds pass (negative: no timeout). Returns 0
 * at once if the word already differs; 0 after a wake, which may come
 * without a change (another waker, a wake meant for an older value): callers
 * re-read the word and wait again in a loop. -ETIMEDOUT when the time ran
 * out. Signals do not end the wait early: after a handler returns it goes on
 * until the same deadline (CLOCK_MONOTONIC). */
int shmv_view_wait(const shmv_view *v, size_t offset, uint32_t expected, int64_t timeout_ns);

/* spin_ns of shmv_view_wait_spin: adapt the spin to how soon this thread's
 * recent waits were satisfied. */
#define SHMV_SPIN_ADAPTIVE ((int64_t)-1)

/* shmv_view_wait, spinning on the word for up to spin_ns before sleeping:
 * a latency-critical consumer pays CPU to save the sleep and wake-up.
 * SHMV_SPIN_ADAPTIVE spins as long as recent waits of the calling thread
 * needed (up to 50 us), and less after waits that slept anyway. Spinning is
 * skipped when only one CPU is online (it would only delay the writer). */
int shmv_view_wait_spin(const shmv_view *v, size_t offset, uint32_t expected, int64_t timeout_ns,
                        int64_t spin_ns);

/* Wake up to count (>= 1, or SHMV_WAKE_ALL) processes or threads waiting on
 * the word at offset; returns how many were woken (0 if none waited). */
int shmv_view_wake(const shmv_view *v, size_t offset, int count);

/* ---- descriptors ------------------------------------------------------- */

/* A view described by value, which one process can hand another. Its text
 * form is NAME:OFFSET:LENGTH[:rw|:ro], e.g. "frames:4096:1024:rw". This
 * struct never changes (a new field would come with new functions). */
typedef struct shmv_descriptor {
  char name[SHMV_NAME_MAX + 1];
  size_t offset; /* from the start of the segment */
  size_t length; /* SHMV_TO_END: to the end */
  int writable;
} shmv_descriptor;

int shmv_view_descriptor(const shmv_view *v, shmv_descriptor *out);

/* Open the view a descriptor describes. */
int shmv_view_open_descriptor(shmv_client *c, const shmv_descriptor *d, shmv_view **out);

/* Parse NAME[:OFFSET[:LENGTH[:rw|:ro]]]. OFFSET defaults to 0, LENGTH to
 * SHMV_TO_END (also written as an empty field or "end"), access to ro.
 * -EINVAL for anything else. */
int shmv_descriptor_parse(const char *text, shmv_descriptor *out);

/* Write the text form into buf (SHMV_DESCRIPTOR_MAX always suffices).
 * Returns its length, or -ENOSPC if cap is too small. */
int shmv_descriptor_format(const shmv_descriptor *d, char *buf, size_t cap);

/* ---- channels ---------------------------------------------------------- */

/* A channel is a queue of messages between processes, in shared memory: any
 * number of senders and receivers, each message delivered to exactly one
 * receiver, FIFO per sender, zero copy both ways (a sender fills a loan in
 * place, a receiver reads the message in place). After open, no message
 * needs the daemon: loans, sends, receives and releases are atomics on the
 * channel's control memory and a shared futex. docs/dataplane.md has the
 * layout; docs/security.md what a hostile participant can do.
 *
 * A channel named NAME is two segments the daemon owns: NAME, the ring of
 * message space (flag `channel`), and NAME.ctl, its control memory (flag
 * `control`). Both are charged to the creator and removed together by
 * shmv_unlink(c, NAME). Mode bits as for segments: sending needs r and w on
 * NAME (a sender maps the ring read-write), receiving needs r (a receiver
 * maps it read-only: the kernel keeps it from writing message bytes). */
typedef struct shmv_channel shmv_channel;

/* flags of shmv_channel_open (at least one) */
#define SHMV_SEND 0x1
#define SHMV_RECV 0x2

/* Create a channel with capacity bytes of message space (rounded up to 64;
 * at least SHMV_CHANNEL_MIN), mode as a file's (0: 0600), flags 0. -EEXIST
 * if NAME or NAME.ctl is taken, -EINVAL for a bad name (at most
 * SHMV_CHANNEL_NAME_MAX characters), capacity or flags. */
int shmv_channel_create(shmv_client *c, const char *name, size_t capacity, unsigned mode,
                        unsigned flags);

#define SHMV_CHANNEL_MIN      4096
#define SHMV_CHANNEL_NAME_MAX (SHMV_NAME_MAX - 4) /* room for ".ctl" */

/* Open a channel as a sender (SHMV_SEND), a receiver (SHMV_RECV) or both:
 * registers this participant with the daemon and maps the channel once.
 * -ENOENT no such channel, -EMEDIUMTYPE a segment that is no channel, -EACCES
 * the mode forbids it, -EUSERS every participant slot is taken. The
 * participant ends with shmv_channel_close(), or when its connection ends
 * (exit, kill -9): the daemon then gives back the space it held (loans,
 * received messages not yet released). */
int shmv_channel_open(shmv_client *c, const char *name, int flags, shmv_channel **out);

/* Loan length bytes (1 .. the ring's largest message, see
 * shmv_channel_stat) of message space: *out is a writable view inside the
 * ring, to fill in place and give to shmv_channel_send_view(), or to
 * release unsent (shmv_view_release gives the space back). Blocks while
 * the ring is full, timeout_ns as shmv_view_wait (negative: forever, 0: do
 * not wait; -ETIMEDOUT). -EINVAL length 0, -EMSGSIZE longer than the ring
 * can hold (shmv_channel_send spills such a message into a segment of its
 * own), -EBADF not opened with SHMV_SEND, -EBADMSG the control memory is
 * corrupt (a hostile participant wrote it). Slices of a loan keep it as
 * the loan's view does: unsent, its space is given back with the last. */
int shmv_channel_loan(shmv_channel *ch, size_t length, int64_t timeout_ns, shmv_view **out);

/* Send a loan (of this channel, not sent yet) as one message. It takes the
 * loan: the view handle is freed, also when the control memory turns out
 * corrupt (-EBADMSG), but a call refused before it looks at the loan stays
 * the caller's to release (-EINVAL: no unsent loan of ch; -EBADF, -ECHILD,
 * -ENOTCONN as for a loan). Wakes a waiting receiver. Slices of the loan
 * stay valid views of the sent bytes: write nothing through them. */
int shmv_channel_send_view(shmv_channel *ch, shmv_view *loan);

/* Copy length bytes of buf into a loan and send it. A message longer than
 * the ring travels in an ephemeral segment of its own whose name goes
 * through the ring (one daemon round trip each side). */
int shmv_channel_send(shmv_channel *ch, const void *buf, size_t length, int64_t timeout_ns);

/* Receive the oldest message: *out is a read-only view of it in place.
 * Releasing that view (shmv_view_release; slices of it keep the message
 * too, until the last is released) frees its space, in any order. Blocks
 * while the ring is empty, timeout_ns as shmv_view_wait. -EPIPE once every
 * sender has closed and the ring is empty (end of stream); before any
 * sender ever opened, recv waits, as multiprocessing.Queue's get does.
 * -EBADF not opened with SHMV_RECV, -EBADMSG corrupt control memory. */
int shmv_channel_recv(shmv_channel *ch, int64_t timeout_ns, shmv_view **out);

/* End this participant: as a sender at once (when the last sender has
 * closed, receivers get -EPIPE once the ring is empty); loans and received
 * messages stay valid views, and keep their space, until released, and the
 * participant ends with the last of them. A message spilled into a segment
 * of its own that no receiver has opened yet is lost. In a forked child it
 * only unmaps: the participant is the parent's. NULL is a no-op.
 * shmv_disconnect() ends every participant of the client as its death
 * would (the daemon gives back what they held): close channels first;
 * afterwards their calls fail with -ENOTCONN and releases only unmap. */
void shmv_channel_close(shmv_channel *ch);

/* Wait until every message this handle spilled into a segment of its own
 * (shmv_channel_send of a message larger than the ring) has been opened by
 * a receiver: those need their sender until then. timeout_ns as
 * shmv_view_wait; 0 at once when there is none. */
int shmv_channel_flush(shmv_channel *ch, int64_t timeout_ns);

/* Spin on the channel's word for up to spin_ns before sleeping, when recv
 * finds the ring empty or a loan finds it full (as shmv_view_wait_spin):
 * trades CPU for the cost of a sleep and a wake-up. 0, the default, never
 * spins; negative is -EINVAL. Never spins with one CPU online. */
int shmv_channel_set_spin(shmv_channel *ch, int64_t spin_ns);

typedef struct shmv_channel_info {
  uint64_t capacity;    /* bytes of message space */
  uint64_t max_message; /* the longest message a loan can hold */
  uint64_t depth;       /* messages sent and not yet received */
  uint64_t used;        /* bytes of the ring in use (loaned, queued, received) */
  uint32_t senders;     /* participants open with SHMV_SEND */
  uint32_t receivers;   /* with SHMV_RECV */
  uint32_t participant; /* this handle's participant id */
  /* New fields go here, at the end (see "ABI" above). */
} shmv_channel_info;

/* The channel as its control memory says now (no daemon round trip). */
#define shmv_channel_stat(ch, out) shmv_channel_stat_sized((ch), (out), sizeof *(out))
int shmv_channel_stat_sized(const shmv_channel *ch, shmv_channel_info *out, size_t info_size);

/* ---- names and errors -------------------------------------------------- */

/* 0 if name is a valid segment name, else -EINVAL. */
int shmv_name_check(const char *name);

/* A sentence for a code returned by this library (negative or positive
 * errno). Never NULL; the string is static. */
const char *shmv_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif /* SHMV_SHMVIEW_H */

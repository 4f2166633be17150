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
 * negative errno value; shmv_strerror() turns it into a sentence.
 *
 * Restarts: when shmviewd goes away, the next request reconnects (retrying
 * for up to 5 s, or $SHMVIEW_RECONNECT_MS milliseconds) and re-registers
 * every live view, whose memory stays mapped throughout.
 *
 * Threads: a shmv_client may be used from several threads at once (requests
 * are serialised on its connection). A shmv_view is a small handle: use each
 * handle from one thread at a time, but slices of one view may be used and
 * released from different threads.
 */
#ifndef SHMV_SHMVIEW_H
#define SHMV_SHMVIEW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMV_VERSION_MAJOR  0
#define SHMV_VERSION_MINOR  1
#define SHMV_VERSION_PATCH  0
#define SHMV_VERSION_STRING "0.1.0"

/* Segment names: 1..SHMV_NAME_MAX chars of [A-Za-z0-9._-], not starting with '.'. */
#define SHMV_NAME_MAX 200

/* length argument of shmv_view_open: everything from offset to the end. */
#define SHMV_TO_END ((size_t)-1)

/* flags of shmv_view_open */
#define SHMV_WRITABLE 0x1

/* Longest text form of a descriptor, with its terminating NUL:
 * NAME ':' OFFSET ':' LENGTH ':rw' */
#define SHMV_DESCRIPTOR_MAX (SHMV_NAME_MAX + 1 + 20 + 1 + 20 + 3 + 1)

/* ---- client ------------------------------------------------------------ */

typedef struct shmv_client shmv_client;

/* Connect to shmviewd. socket_path NULL resolves it: $SHMVIEW_SOCKET, else
 * /run/shmview/shmview.sock for root, else $XDG_RUNTIME_DIR/shmview.sock,
 * else /tmp/shmview-$UID/shmview.sock (a directory the daemon makes 0700). */
int shmv_connect(const char *socket_path, shmv_client **out);

/* Close the connection. The daemon drops every lease the connection held;
 * views already mapped stay readable/writable memory until released. */
void shmv_disconnect(shmv_client *c);

/* The socket path shmv_connect(NULL) would use, into buf (NUL-terminated).
 * Returns 0, or -ENAMETOOLONG when it does not fit. */
int shmv_default_socket_path(char *buf, size_t cap);

/* ---- segments ---------------------------------------------------------- */

typedef struct shmv_segment_info {
  char name[SHMV_NAME_MAX + 1];
  uint64_t size; /* bytes */
  uid_t uid;     /* owner: the creator's uid */
  gid_t gid;
  unsigned mode;           /* permission bits, as a file's (e.g. 0640) */
  uint64_t views;          /* live view leases, all clients */
  uint64_t writable_views; /* of which writable */
  struct timespec created; /* CLOCK_REALTIME */
} shmv_segment_info;

/* Create a segment of size bytes (zero-filled), mode like a file's (0 means
 * 0600). The memory is reserved now: a full /dev/shm is -ENOSPC here, never
 * SIGBUS later. -EEXIST if the name is taken, -EINVAL for a bad name. */
int shmv_create(shmv_client *c, const char *name, size_t size, unsigned mode);

/* Remove the name at once. Views already open stay valid; the memory is
 * freed when the last one is released. Owner or root only. */
int shmv_unlink(shmv_client *c, const char *name);

/* Grow (new bytes are zero) or shrink a segment. Shrinking while any view
 * of the segment is leased fails with -EBUSY. Needs write permission. */
int shmv_resize(shmv_client *c, const char *name, size_t size);

int shmv_stat(shmv_client *c, const char *name, shmv_segment_info *out);

/* All segments, sorted by name, in a malloc'd array freed by
 * shmv_list_free(). */
int shmv_list(shmv_client *c, shmv_segment_info **out, size_t *count);
void shmv_list_free(shmv_segment_info *list);

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
} shmv_status_info;

int shmv_status(shmv_client *c, shmv_status_info *out);

/* ---- views ------------------------------------------------------------- */

typedef struct shmv_view shmv_view;

/* Open a view of [offset, offset+length) of a segment (length SHMV_TO_END:
 * to the end) and map it. flags SHMV_WRITABLE asks for a writable view; a
 * read-only view is backed by an O_RDONLY descriptor, so the kernel refuses
 * writes (SIGSEGV) and PROT_WRITE. -ERANGE if the window is outside the
 * segment, -EACCES without permission, -ENOENT if there is no such segment.
 * A zero-length view is legal and maps nothing. */
int shmv_view_open(shmv_client *c, const char *name, size_t offset, size_t length, int flags,
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

/* Release the handle; the lease goes with the last slice. The mapping may
 * be kept (up to four per client, until shmv_disconnect) for the next view
 * of the same pages, whose first touch through a new mapping is costly;
 * SHMVIEW_MAP_CACHE=0 in the environment turns that off. */
void shmv_view_release(shmv_view *v);

/* ---- descriptors ------------------------------------------------------- */

/* A view described by value, which one process can hand another. Its text
 * form is NAME:OFFSET:LENGTH[:rw|:ro], e.g. "frames:4096:1024:rw". */
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

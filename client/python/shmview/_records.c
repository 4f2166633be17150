/* SPDX-License-Identifier: MIT */
/*
 * _records.c: the records SegmentInfo, HolderInfo and Status (struct
 * sequences), built from field tables that describe libshmview's
 * shmv_segment_info, shmv_holder_info and shmv_status_info: name, type,
 * offset, size and flags of each field, in the struct's order. One loop
 * makes each record type from its table and one fills a record from a
 * struct, so a field the library adds is one row here and shows in Python
 * by name with no other edit (once the library publishes its own
 * description of the record, that table replaces these rows).
 *
 * Python's view of a table: a field of seconds and the nanoseconds after it
 * are one aware datetime named without "_sec" (created, since); integers
 * whose meaning is yes/no are bools. The first n_in_sequence fields are the
 * tuple (SegmentInfo stays a 10-tuple, HolderInfo a 7-tuple, Status a
 * 22-tuple: code unpacks them), every later one is an attribute only, as
 * restricted and frozen are.
 */
#include "_shmview.h"

#include <stdint.h>
#include <string.h>

/* ---- the field tables --------------------------------------------------- */

/* How a field's bytes read. */
enum field_type {
  FIELD_STR,   /* char[size], NUL-terminated, UTF-8 */
  FIELD_FSSTR, /* char[size] in the file-system encoding (a command name) */
  FIELD_UINT,  /* unsigned integer of size bytes */
  FIELD_INT,   /* signed integer of size bytes */
  FIELD_BOOL,  /* integer, nonzero for yes */
  FIELD_SEC,   /* seconds of a time whose nanoseconds are the next field */
  FIELD_NSEC,  /* the nanoseconds of the field before */
};

/* Flags of a field. */
#define FIELD_HIDDEN 0x1     /* not shown to who may not read the segment */
#define FIELD_RESTRICTED 0x2 /* nonzero: the daemon hid the FIELD_HIDDEN ones */

typedef struct {
  const char *name;
  enum field_type type;
  size_t offset, size;
  unsigned flags;
} record_field;

#define FIELD(st, member, type, flags) \
  { #member, type, offsetof(st, member), sizeof(((st *)0)->member), flags }

#define SEG(member, type, flags) FIELD(shmv_segment_info, member, type, flags)
static const record_field segment_fields[] = {
  SEG(name, FIELD_STR, 0),
  SEG(size, FIELD_UINT, 0),
  SEG(uid, FIELD_UINT, 0),
  SEG(gid, FIELD_UINT, FIELD_HIDDEN),
  SEG(mode, FIELD_UINT, 0),
  SEG(views, FIELD_UINT, FIELD_HIDDEN),
  SEG(writable_views, FIELD_UINT, FIELD_HIDDEN),
  SEG(created_sec, FIELD_SEC, FIELD_HIDDEN),
  SEG(created_nsec, FIELD_NSEC, FIELD_HIDDEN),
  SEG(ephemeral, FIELD_BOOL, FIELD_HIDDEN),
  SEG(unlinked, FIELD_BOOL, 0),
  SEG(frozen, FIELD_BOOL, FIELD_HIDDEN),
  SEG(restricted, FIELD_BOOL, FIELD_RESTRICTED),
};

#define HOLDER(member, type) FIELD(shmv_holder_info, member, type, 0)
static const record_field holder_fields[] = {
  HOLDER(pid, FIELD_INT),
  HOLDER(uid, FIELD_UINT),
  HOLDER(comm, FIELD_FSSTR),
  HOLDER(offset, FIELD_UINT),
  HOLDER(length, FIELD_UINT),
  HOLDER(writable, FIELD_BOOL),
  HOLDER(since_sec, FIELD_SEC),
  HOLDER(since_nsec, FIELD_NSEC),
};

#define STATUS(member, type) FIELD(shmv_status_info, member, type, 0)
static const record_field status_fields[] = {
  STATUS(version, FIELD_STR),
  STATUS(protocol, FIELD_UINT),
  STATUS(uptime_ms, FIELD_UINT),
  STATUS(clients, FIELD_UINT),
  STATUS(segments, FIELD_UINT),
  STATUS(bytes, FIELD_UINT),
  STATUS(views, FIELD_UINT),
  STATUS(writable_views, FIELD_UINT),
  STATUS(requests, FIELD_UINT),
  STATUS(max_segment_size, FIELD_UINT),
  STATUS(max_total_size, FIELD_UINT),
  STATUS(max_clients, FIELD_UINT),
  STATUS(max_views, FIELD_UINT),
  STATUS(frame_max, FIELD_UINT),
  STATUS(quota_bytes, FIELD_UINT),
  STATUS(quota_segments, FIELD_UINT),
  STATUS(quota_views, FIELD_UINT),
  STATUS(uid, FIELD_UINT),
  STATUS(used_bytes, FIELD_UINT),
  STATUS(used_segments, FIELD_UINT),
  STATUS(used_views, FIELD_UINT),
  STATUS(grace_ms, FIELD_UINT),
};

/* ---- the Python side: docstrings and record kinds ------------------------ */

/* The docstring of each Python field, by name; a field not listed has none. */
typedef struct {
  const char *name, *doc;
} field_doc;

static const field_doc segment_docs[] = {
  { "name", "segment name" },
  { "size", "size in bytes" },
  { "uid", "owner (the creator's uid)" },
  { "gid", "group" },
  { "mode", "permission bits, as a file's" },
  { "views", "live view leases, all clients" },
  { "writable_views", "of which writable" },
  { "created", "creation time (an aware datetime in UTC)" },
  { "ephemeral", "True if the daemon removes it when its last view ends" },
  { "unlinked", "True for a segment unlinked but still viewed (list() only)" },
  { "frozen",
    "True once frozen (Client.freeze): writable views and resizing are refused; by name "
    "only" },
  { "restricted",
    "True if the caller may not read the segment: the daemon then shows only name, size, "
    "uid and mode (as ls -l does), and gid, views, writable_views, created, ephemeral and "
    "frozen are None; by name only" },
  { NULL, NULL },
};

static const field_doc holder_docs[] = {
  { "pid", "the holding connection's process" },
  { "uid", "and its uid" },
  { "comm", "its command name; '' if unknown" },
  { "offset", "the view's first byte in the segment" },
  { "length", "the view's length" },
  { "writable", "True for a writable view" },
  { "since", "when the view was opened (an aware datetime in UTC)" },
  { NULL, NULL },
};

static const field_doc status_docs[] = {
  { "version", "daemon version string" },
  { "protocol", "wire protocol version" },
  { "clients", "connections now" },
  { "segments", "named segments" },
  { "bytes", "bytes held by all segments, unlinked ones too" },
  { "views", "live leases" },
  { "requests", "requests served since start" },
  { "max_segment_size", "0 means no limit" },
  { "max_total_size", "0 means no limit" },
  { "max_clients", "0 means no limit" },
  { "max_views", "0 means no limit" },
  { "frame_max", "largest frame the daemon accepts, bytes" },
  { "quota_bytes", "per-uid quota; 0 means none" },
  { "quota_segments", "per-uid quota; 0 means none" },
  { "quota_views", "per-uid quota; 0 means none" },
  { "uid", "the caller's uid, as the daemon sees it" },
  { "used_bytes", "held by that uid against its quotas" },
  { "grace_ms", "after a restart: time left during which re-adopted segments may not shrink" },
  { NULL, NULL },
};

/* One record type: its table, and what records_init made of it. */
typedef struct {
  const char *type_name, *type_doc;
  const record_field *fields; /* the library's description of the struct */
  size_t count;
  int n_in_sequence; /* the tuple's length: the fields after it are by name only */
  const field_doc *docs;
  /* made by make_type() */
  PyTypeObject *type;
  Py_ssize_t restricted; /* the FIELD_RESTRICTED field's index in fields, or -1 */
} record_kind;

#define KIND(name, doc, fields, n, docs) \
  { name, doc, fields, sizeof fields / sizeof fields[0], n, docs, NULL, -1 }
static record_kind segment_kind =
    KIND("shmview.SegmentInfo", "A segment's record, as shmv_stat() and shmv_list() give it.",
         segment_fields, 10, segment_docs);
static record_kind holder_kind =
    KIND("shmview.HolderInfo", "One view lease of a segment, as shmv_holders() gives it.",
         holder_fields, 7, holder_docs);
static record_kind status_kind =
    KIND("shmview.Status", "The daemon's counters and limits.", status_fields, 22, status_docs);

static PyObject *datetime_cls, *utc;

/* The Python name of a field (a new string for a time, which loses its
 * "_sec"; kept for good: the record type refers to it), or NULL. */
static const char *python_name(const record_field *f) {
  size_t n = strlen(f->name);
  if (f->type != FIELD_SEC)
    return f->name;
  if (n > 4 && strcmp(f->name + n - 4, "_sec") == 0)
    n -= 4;
  char *s = PyMem_Malloc(n + 1);
  if (s == NULL) {
    PyErr_NoMemory();
    return NULL;
  }
  memcpy(s, f->name, n);
  s[n] = '\0';
  return s;
}

static const char *doc_of(const field_doc *docs, const char *name) {
  for (; docs->name != NULL; docs++)
    if (strcmp(docs->name, name) == 0)
      return docs->doc;
  return NULL;
}

/* Whether the table reads as this file reads it: integer sizes it can
 * load, a time's nanoseconds right after its seconds. */
static int check_field(const record_kind *k, size_t i) {
  const record_field *f = &k->fields[i];
  int numeric = f->type != FIELD_STR && f->type != FIELD_FSSTR;
  int ok = !numeric || f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8;
  if (f->type == FIELD_SEC)
    ok = ok && i + 1 < k->count && k->fields[i + 1].type == FIELD_NSEC;
  if (f->type == FIELD_NSEC)
    ok = ok && i > 0 && k->fields[i - 1].type == FIELD_SEC;
  if (!ok)
    PyErr_Format(PyExc_SystemError, "%s: field %s of %zu bytes cannot be read", k->type_name,
                 f->name, f->size);
  return ok ? 0 : -1;
}

/* Make k's type from its table: one Python field per library field, but
 * one for a time's two. */
static int make_type(record_kind *k) {
  PyStructSequence_Field *fields = PyMem_Calloc(k->count + 1, sizeof *fields);
  int n = 0;
  if (fields == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  for (size_t i = 0; i < k->count; i++) {
    const record_field *f = &k->fields[i];
    if (check_field(k, i) < 0)
      return -1;
    if (f->flags & FIELD_RESTRICTED)
      k->restricted = (Py_ssize_t)i;
    if (f->type == FIELD_NSEC)
      continue;
    fields[n].name = python_name(f);
    if (fields[n].name == NULL)
      return -1;
    fields[n].doc = doc_of(k->docs, fields[n].name);
    n++;
  }
  if (n < k->n_in_sequence) {
    PyErr_Format(PyExc_SystemError, "%s: %d fields, fewer than its %d-tuple", k->type_name, n,
                 k->n_in_sequence);
    return -1;
  }
  /* The type refers to the names and docs for good: never freed. */
  PyStructSequence_Desc desc = { k->type_name, k->type_doc, fields, k->n_in_sequence };
  k->type = PyStructSequence_NewType(&desc);
  return k->type != NULL ? 0 : -1;
}

/* ---- records ------------------------------------------------------------ */

static PyObject *time_to_datetime(long long sec, long nsec) {
  PyObject *dt = PyObject_CallMethod(datetime_cls, "fromtimestamp", "LO", sec, utc);
  if (dt == NULL)
    return NULL;
  PyObject *kw = Py_BuildValue("{s:l}", "microsecond", nsec / 1000);
  PyObject *meth = PyObject_GetAttrString(dt, "replace");
  PyObject *empty = PyTuple_New(0);
  PyObject *res = (kw && meth && empty) ? PyObject_Call(meth, empty, kw) : NULL;
  Py_XDECREF(kw);
  Py_XDECREF(meth);
  Py_XDECREF(empty);
  Py_DECREF(dt);
  return res;
}

/* The integer of f in the struct at base (its size checked by make_type). */
static uint64_t read_uint(const char *base, const record_field *f) {
  union {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
  } v;
  memcpy(&v, base + f->offset, f->size);
  switch (f->size) {
  case 1: return v.u8;
  case 2: return v.u16;
  case 4: return v.u32;
  default: return v.u64;
  }
}

static int64_t read_int(const char *base, const record_field *f) {
  uint64_t u = read_uint(base, f);
  unsigned bits = (unsigned)f->size * 8;
  if (bits < 64 && (u >> (bits - 1)) & 1) /* sign-extend */
    u |= ~(uint64_t)0 << bits;
  return (int64_t)u;
}

static PyObject *field_value(const record_field *f, const char *base) {
  const char *p = base + f->offset;
  switch (f->type) {
  case FIELD_STR: return PyUnicode_FromStringAndSize(p, (Py_ssize_t)strnlen(p, f->size));
  case FIELD_FSSTR: return PyUnicode_DecodeFSDefaultAndSize(p, (Py_ssize_t)strnlen(p, f->size));
  case FIELD_UINT: return PyLong_FromUnsignedLongLong(read_uint(base, f));
  case FIELD_INT: return PyLong_FromLongLong(read_int(base, f));
  case FIELD_BOOL: return PyBool_FromLong(read_uint(base, f) != 0);
  case FIELD_SEC: return time_to_datetime(read_int(base, f), (long)read_int(base, f + 1));
  case FIELD_NSEC: break;
  }
  return NULL;
}

/* The record of the struct at base. Fields the daemon hid from the caller
 * are None, never a 0 that could be taken for the truth. */
static PyObject *make_record(const record_kind *k, const void *base) {
  PyObject *r = PyStructSequence_New(k->type);
  if (r == NULL)
    return NULL;
  int restricted = k->restricted >= 0 && read_uint(base, &k->fields[k->restricted]) != 0;
  Py_ssize_t n = 0;
  for (size_t i = 0; i < k->count; i++) {
    const record_field *f = &k->fields[i];
    if (f->type == FIELD_NSEC)
      continue;
    PyObject *v =
        restricted && (f->flags & FIELD_HIDDEN) ? Py_NewRef(Py_None) : field_value(f, base);
    if (v == NULL) {
      Py_DECREF(r);
      return NULL;
    }
    PyStructSequence_SET_ITEM(r, n++, v);
  }
  return r;
}

/* A list of count records from an array of the library's structs. */
static PyObject *record_list(const record_kind *k, const void *items, size_t count,
                             size_t stride) {
  PyObject *res = PyList_New((Py_ssize_t)count);
  for (size_t i = 0; res != NULL && i < count; i++) {
    PyObject *r = make_record(k, (const char *)items + i * stride);
    if (r == NULL)
      Py_CLEAR(res);
    else
      PyList_SET_ITEM(res, (Py_ssize_t)i, r);
  }
  return res;
}

PyObject *segment_record(const shmv_segment_info *s) {
  return make_record(&segment_kind, s);
}

PyObject *segment_records(const shmv_segment_info *list, size_t count) {
  return record_list(&segment_kind, list, count, sizeof *list);
}

PyObject *holder_records(const shmv_holder_info *list, size_t count) {
  return record_list(&holder_kind, list, count, sizeof *list);
}

PyObject *status_record(const shmv_status_info *st) {
  return make_record(&status_kind, st);
}

int records_init(PyObject *m) {
  PyObject *dt = PyImport_ImportModule("datetime");
  if (dt == NULL)
    return -1;
  datetime_cls = PyObject_GetAttrString(dt, "datetime");
  PyObject *tz = PyObject_GetAttrString(dt, "timezone");
  utc = tz ? PyObject_GetAttrString(tz, "utc") : NULL;
  Py_XDECREF(tz);
  Py_DECREF(dt);
  if (datetime_cls == NULL || utc == NULL)
    return -1;
  if (make_type(&segment_kind) < 0 || make_type(&holder_kind) < 0 || make_type(&status_kind) < 0)
    return -1;
  if (PyModule_AddObjectRef(m, "SegmentInfo", (PyObject *)segment_kind.type) < 0 ||
      PyModule_AddObjectRef(m, "HolderInfo", (PyObject *)holder_kind.type) < 0 ||
      PyModule_AddObjectRef(m, "Status", (PyObject *)status_kind.type) < 0)
    return -1;
  return 0;
}

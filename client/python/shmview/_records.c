/* SPDX-License-Identifier: MIT */
/*
 * _records.c: the records SegmentInfo, HolderInfo and Status (struct
 * sequences), built at import by walking the library's own description of
 * shmv_segment_info, shmv_holder_info and shmv_status_info
 * (shmv_record_fields: name, doc, type, flags, offset, size of each
 * member, in the struct's order). One loop makes each record type and one
 * fills a record from a struct of the library's size (not this header's),
 * so a field the library adds shows in Python by name with no edit here.
 *
 * Python's view of a row: a time (seconds and nanoseconds) is one aware
 * datetime in UTC; a bool row is a bool; a string is decoded as a file
 * name is (a command name may be any bytes; segment names and the version
 * are ASCII). The first n_in_sequence fields are the tuple (SegmentInfo
 * stays a 10-tuple, HolderInfo a 7-tuple, Status a 22-tuple: code unpacks
 * them), every later one is an attribute only, as restricted and frozen
 * are.
 */
#include "_shmview.h"

#include <stdint.h>
#include <string.h>

/* One record type, and what records_init made of the library's rows. */
typedef struct {
  const char *type_name, *type_doc;
  int n_in_sequence; /* the tuple's length: the fields after it are by name only */
  /* from shmv_record_fields() */
  const shmv_field *fields;
  size_t count, size; /* rows; the library's sizeof of the struct */
  /* made by make_type() */
  PyTypeObject *type;
  Py_ssize_t restricted; /* the SHMV_FIELD_RESTRICTED row's index, or -1 */
} record_kind;

static record_kind kinds[] = {
  [SHMV_RECORD_SEGMENT] = { "shmview.SegmentInfo",
                            "A segment's record, as shmv_stat() and shmv_list() give it.", 10 },
  [SHMV_RECORD_HOLDER] = { "shmview.HolderInfo",
                           "One view lease of a segment, as shmv_holders() gives it.", 7 },
  [SHMV_RECORD_STATUS] = { "shmview.Status", "The daemon's counters and limits.", 22 },
};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

static PyObject *datetime_cls, *utc;

/* Whether this file knows how to read row f: a type of a newer library
 * than it knows is left out (that field is then missing in Python, which
 * the tests of this tree catch), rather than failing the import. */
static int field_known(const shmv_field *f) {
  return f->type >= SHMV_FIELD_STR && f->type <= SHMV_FIELD_TIME;
}

/* Whether a known row reads as this file reads it, inside the struct. */
static int check_field(const record_kind *k, const shmv_field *f) {
  int ok = f->offset <= k->size && f->size <= k->size - f->offset;
  switch (f->type) {
  case SHMV_FIELD_STR: ok = ok && f->size > 0; break;
  case SHMV_FIELD_TIME: ok = ok && f->size == sizeof(int64_t) + sizeof(int32_t); break;
  default: ok = ok && (f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8); break;
  }
  if (!ok)
    PyErr_Format(PyExc_SystemError, "%s: field %s (type %u, %zu bytes at %zu) cannot be read",
                 k->type_name, f->name, f->type, f->size, f->offset);
  return ok ? 0 : -1;
}

/* The Python docstring of row f, the (n+1)th field: the library's doc and
 * what Python makes of it. Kept for good: the record type refers to it. */
static const char *field_doc(const shmv_field *f, int n, int n_in_sequence) {
  const char *time = f->type == SHMV_FIELD_TIME ? " (an aware datetime in UTC)" : "";
  const char *hides =
      (f->flags & SHMV_FIELD_RESTRICTED) ? "; when True, the fields it hides are None" : "";
  const char *by_name = n >= n_in_sequence ? "; by name only" : "";
  PyObject *s =
      PyUnicode_FromFormat("%s%s%s%s", f->doc != NULL ? f->doc : "", time, hides, by_name);
  const char *u = s != NULL ? PyUnicode_AsUTF8(s) : NULL;
  char *doc = u != NULL ? PyMem_Malloc(strlen(u) + 1) : NULL;
  if (doc != NULL)
    strcpy(doc, u);
  else if (u != NULL)
    PyErr_NoMemory();
  Py_XDECREF(s);
  return doc;
}

/* Make k's type from the library's rows: one Python field per row. */
static int make_type(record_kind *k, int record) {
  k->fields = shmv_record_fields(record, &k->count, &k->size);
  k->restricted = -1;
  PyStructSequence_Field *fields = PyMem_Calloc(k->count + 1, sizeof *fields);
  int n = 0;
  if (fields == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  for (size_t i = 0; i < k->count; i++) {
    const shmv_field *f = &k->fields[i];
    if (!field_known(f))
      continue;
    if (check_field(k, f) < 0)
      return -1;
    if (f->flags & SHMV_FIELD_RESTRICTED)
      k->restricted = (Py_ssize_t)i;
    fields[n].name = f->name;
    fields[n].doc = field_doc(f, n, k->n_in_sequence);
    if (fields[n].doc == NULL)
      return -1;
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

/* The integer of size bytes at p (a size check_field allowed). */
static uint64_t read_uint(const char *p, size_t size) {
  union {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
  } v;
  memcpy(&v, p, size);
  switch (size) {
  case 1: return v.u8;
  case 2: return v.u16;
  case 4: return v.u32;
  default: return v.u64;
  }
}

static int64_t read_int(const char *p, size_t size) {
  uint64_t u = read_uint(p, size);
  unsigned bits = (unsigned)size * 8;
  if (bits < 64 && (u >> (bits - 1)) & 1) /* sign-extend */
    u |= ~(uint64_t)0 << bits;
  return (int64_t)u;
}

static PyObject *field_value(const shmv_field *f, const char *base) {
  const char *p = base + f->offset;
  switch (f->type) {
  case SHMV_FIELD_STR: return PyUnicode_DecodeFSDefaultAndSize(p, (Py_ssize_t)strnlen(p, f->size));
  case SHMV_FIELD_UINT:
  case SHMV_FIELD_INT:
    if ((f->flags & SHMV_FIELD_ZERO_NONE) && read_uint(p, f->size) == 0)
      Py_RETURN_NONE; /* not known (a pid the asker cannot see) */
    if (f->type == SHMV_FIELD_UINT)
      return PyLong_FromUnsignedLongLong(read_uint(p, f->size));
    return PyLong_FromLongLong(read_int(p, f->size));
  case SHMV_FIELD_BOOL: return PyBool_FromLong(read_uint(p, f->size) != 0);
  case SHMV_FIELD_TIME: {
    int64_t sec = read_int(p, sizeof(int64_t));
    long nsec = (long)read_int(p + sizeof(int64_t), sizeof(int32_t));
    if ((f->flags & SHMV_FIELD_ZERO_NONE) && sec == 0 && nsec == 0)
      Py_RETURN_NONE; /* never happened */
    return time_to_datetime(sec, nsec);
  }
  }
  return NULL;
}

/* The record of the struct at base. Fields the daemon hid from the caller
 * are None, never a 0 that could be taken for the truth. */
static PyObject *make_record(const record_kind *k, const char *base) {
  PyObject *r = PyStructSequence_New(k->type);
  if (r == NULL)
    return NULL;
  int restricted = 0;
  if (k->restricted >= 0) {
    const shmv_field *rf = &k->fields[k->restricted];
    restricted = read_uint(base + rf->offset, rf->size) != 0;
  }
  Py_ssize_t n = 0;
  for (size_t i = 0; i < k->count; i++) {
    const shmv_field *f = &k->fields[i];
    if (!field_known(f))
      continue;
    PyObject *v =
        restricted && (f->flags & SHMV_FIELD_HIDDEN) ? Py_NewRef(Py_None) : field_value(f, base);
    if (v == NULL) {
      Py_DECREF(r);
      return NULL;
    }
    PyStructSequence_SET_ITEM(r, n++, v);
  }
  return r;
}

size_t record_size(int record) {
  return kinds[record].size;
}

PyObject *record_new(int record, const void *base) {
  return make_record(&kinds[record], base);
}

PyObject *record_list(int record, const void *items, size_t count) {
  const record_kind *k = &kinds[record];
  PyObject *res = PyList_New((Py_ssize_t)count);
  for (size_t i = 0; res != NULL && i < count; i++) {
    PyObject *r = make_record(k, (const char *)items + i * k->size);
    if (r == NULL)
      Py_CLEAR(res);
    else
      PyList_SET_ITEM(res, (Py_ssize_t)i, r);
  }
  return res;
}

/* _shmview._record_fields(): the library's rows as it gives them, by
 * record type name, for the tests (every row is an attribute; the stubs
 * match): {"SegmentInfo": [(name, doc, type, flags, offset, size), ...]}. */
static PyObject *record_fields(PyObject *module, PyObject *unused) {
  PyObject *res = PyDict_New();
  for (int r = 0; res != NULL && r < NKINDS; r++) {
    size_t count;
    const shmv_field *f = shmv_record_fields(r, &count, NULL);
    PyObject *rows = PyList_New(0);
    for (size_t i = 0; rows != NULL && i < count; i++) {
      PyObject *row = Py_BuildValue("(ssIInn)", f[i].name, f[i].doc, f[i].type, f[i].flags,
                                    (Py_ssize_t)f[i].offset, (Py_ssize_t)f[i].size);
      if (row == NULL || PyList_Append(rows, row) < 0)
        Py_CLEAR(rows);
      Py_XDECREF(row);
    }
    const char *name = strchr(kinds[r].type_name, '.') + 1;
    if (rows == NULL || PyDict_SetItemString(res, name, rows) < 0)
      Py_CLEAR(res);
    Py_XDECREF(rows);
  }
  return res;
}

static PyMethodDef record_methods[] = {
  { "_record_fields", record_fields, METH_NOARGS,
    "_record_fields()\n--\n\nThe library's description of the records (shmv_record_fields), "
    "for tests." },
  { NULL, NULL, 0, NULL },
};

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
  for (int r = 0; r < NKINDS; r++)
    if (make_type(&kinds[r], r) < 0 || PyModule_AddObjectRef(m, strchr(kinds[r].type_name, '.') + 1,
                                                             (PyObject *)kinds[r].type) < 0)
      return -1;
  return PyModule_AddFunctions(m, record_methods);
}

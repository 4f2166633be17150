/* SPDX-License-Identifier: MIT */
/*
 * _records.c: the records SegmentInfo, HolderInfo and Status (struct
 * sequences) made from libshmview's shmv_segment_info, shmv_holder_info and
 * shmv_status_info.
 */
#include "_shmview.h"

static PyTypeObject *SegmentInfoType, *HolderInfoType, *StatusType;
static PyObject *datetime_cls, *utc;

static PyStructSequence_Field segment_fields[] = {
  { "name", "segment name" },
  { "size", "size in bytes" },
  { "uid", "owner (the creator's uid)" },
  { "gid", "group" },
  { "mode", "permission bits, as a file's" },
  { "views", "live view leases, all clients" },
  { "writable_views", "of which writable" },
  { "created", "creation time (an aware datetime in UTC)" },
  { "ephemeral",
    "True if the daemon removes it when its last view ends; None if this libshmview cannot "
    "tell" },
  { "unlinked",
    "True for a segment unlinked but still viewed (list() only); None if this libshmview "
    "cannot tell" },
  /* By name only, so that the record stays a 10-tuple. */
  { "restricted",
    "True if the caller may not read the segment: the daemon then shows only name, size, "
    "uid and mode (as ls -l does), and gid, views, writable_views, created and ephemeral "
    "are None" },
  { NULL, NULL },
};
static PyStructSequence_Desc segment_desc = {
  "shmview.SegmentInfo", "A segment's record, as shmv_stat() and shmv_list() give it.",
  segment_fields, 10
};

static PyStructSequence_Field holder_fields[] = {
  { "pid", "the holding connection's process" },
  { "uid", "and its uid" },
  { "comm", "its command name; '' if unknown" },
  { "offset", "the view's first byte in the segment" },
  { "length", "the view's length" },
  { "writable", "True for a writable view" },
  { "since", "when the view was opened (an aware datetime in UTC)" },
  { NULL, NULL },
};
static PyStructSequence_Desc holder_desc = {
  "shmview.HolderInfo", "One view lease of a segment, as shmv_holders() gives it.", holder_fields, 7
};

static PyStructSequence_Field status_fields[] = {
  { "version", "daemon version string" },
  { "protocol", "wire protocol version" },
  { "uptime_ms", NULL },
  { "clients", "connections now" },
  { "segments", "named segments" },
  { "bytes", "bytes held by all segments, unlinked ones too" },
  { "views", "live leases" },
  { "writable_views", NULL },
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
  { "used_segments", NULL },
  { "used_views", NULL },
  { "grace_ms", "after a restart: time left during which re-adopted segments may not shrink" },
  { NULL, NULL },
};
static PyStructSequence_Desc status_desc = { "shmview.Status", "The daemon's counters and limits.",
                                             status_fields, 22 };

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

PyObject *segment_record(const shmv_segment_info *s) {
  PyObject *r = PyStructSequence_New(SegmentInfoType);
  if (r == NULL)
    return NULL;
  PyObject *created = time_to_datetime((long long)s->created_sec, (long)s->created_nsec);
  if (created == NULL) {
    Py_DECREF(r);
    return NULL;
  }
  PyStructSequence_SET_ITEM(r, 0, PyUnicode_FromString(s->name));
  PyStructSequence_SET_ITEM(r, 1, PyLong_FromUnsignedLongLong(s->size));
  PyStructSequence_SET_ITEM(r, 2, PyLong_FromUnsignedLong((unsigned long)s->uid));
  PyStructSequence_SET_ITEM(r, 3, PyLong_FromUnsignedLong((unsigned long)s->gid));
  PyStructSequence_SET_ITEM(r, 4, PyLong_FromUnsignedLong(s->mode));
  PyStructSequence_SET_ITEM(r, 5, PyLong_FromUnsignedLongLong(s->views));
  PyStructSequence_SET_ITEM(r, 6, PyLong_FromUnsignedLongLong(s->writable_views));
  PyStructSequence_SET_ITEM(r, 7, created);
  PyStructSequence_SET_ITEM(r, 10, PyBool_FromLong(s->restricted));
  PyStructSequence_SET_ITEM(r, 8, PyBool_FromLong(s->ephemeral));
  PyStructSequence_SET_ITEM(r, 9, PyBool_FromLong(s->unlinked));
  for (Py_ssize_t i = 0; i < 8; i++)
    if (PyStructSequence_GET_ITEM(r, i) == NULL) {
      Py_DECREF(r);
      return NULL;
    }
  if (s->restricted) {
    /* Hidden by the daemon: None, never a 0 that could be taken for the
     * truth. (gid, views, writable_views, created, ephemeral) */
    static const Py_ssize_t hidden[] = { 3, 5, 6, 7, 8 };

    for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++) {
      Py_DECREF(PyStructSequence_GET_ITEM(r, hidden[i]));
      PyStructSequence_SET_ITEM(r, hidden[i], Py_NewRef(Py_None));
    }
  }
  return r;
}

/* A Python list of count records made by record() from an array with the
 * given stride; NULL with the exception set if one fails. */
static PyObject *record_list(const void *items, size_t count, size_t stride,
                             PyObject *(*record)(const void *)) {
  PyObject *res = PyList_New((Py_ssize_t)count);
  for (size_t i = 0; res != NULL && i < count; i++) {
    PyObject *r = record((const char *)items + i * stride);
    if (r == NULL)
      Py_CLEAR(res);
    else
      PyList_SET_ITEM(res, (Py_ssize_t)i, r);
  }
  return res;
}

static PyObject *segment_item(const void *s) {
  return segment_record(s);
}

static PyObject *holder_record(const void *p) {
  const shmv_holder_info *h = p;
  PyObject *since = time_to_datetime((long long)h->since_sec, (long)h->since_nsec);
  if (since == NULL)
    return NULL;
  PyObject *r = PyStructSequence_New(HolderInfoType);
  if (r == NULL) {
    Py_DECREF(since);
    return NULL;
  }
  PyStructSequence_SET_ITEM(r, 0, PyLong_FromLong((long)h->pid));
  PyStructSequence_SET_ITEM(r, 1, PyLong_FromUnsignedLong((unsigned long)h->uid));
  PyStructSequence_SET_ITEM(r, 2, PyUnicode_DecodeFSDefault(h->comm));
  PyStructSequence_SET_ITEM(r, 3, PyLong_FromUnsignedLongLong(h->offset));
  PyStructSequence_SET_ITEM(r, 4, PyLong_FromUnsignedLongLong(h->length));
  PyStructSequence_SET_ITEM(r, 5, PyBool_FromLong(h->writable));
  PyStructSequence_SET_ITEM(r, 6, since);
  for (Py_ssize_t i = 0; i < 5; i++)
    if (PyStructSequence_GET_ITEM(r, i) == NULL) {
      Py_DECREF(r);
      return NULL;
    }
  return r;
}


PyObject *segment_records(const shmv_segment_info *list, size_t count) {
  return record_list(list, count, sizeof *list, segment_item);
}

PyObject *holder_records(const shmv_holder_info *list, size_t count) {
  return record_list(list, count, sizeof *list, holder_record);
}

PyObject *status_record(const shmv_status_info *st) {
  PyObject *r = PyStructSequence_New(StatusType);
  if (r == NULL)
    return NULL;
  uint64_t nums[] = { st->uptime_ms,      st->clients,        st->segments,
                      st->bytes,          st->views,          st->writable_views,
                      st->requests,       st->max_segment_size, st->max_total_size,
                      st->max_clients,    st->max_views,      st->frame_max,
                      st->quota_bytes,    st->quota_segments, st->quota_views,
                      (uint64_t)st->uid,  st->used_bytes,     st->used_segments,
                      st->used_views,     st->grace_ms };
  PyStructSequence_SET_ITEM(r, 0, PyUnicode_FromString(st->version));
  PyStructSequence_SET_ITEM(r, 1, PyLong_FromUnsignedLong(st->protocol));
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
    PyStructSequence_SET_ITEM(r, (Py_ssize_t)i + 2, PyLong_FromUnsignedLongLong(nums[i]));
  for (Py_ssize_t i = 0; i < 22; i++)
    if (PyStructSequence_GET_ITEM(r, i) == NULL) {
      Py_DECREF(r);
      return NULL;
    }
  return r;
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
  SegmentInfoType = PyStructSequence_NewType(&segment_desc);
  HolderInfoType = PyStructSequence_NewType(&holder_desc);
  StatusType = PyStructSequence_NewType(&status_desc);
  if (SegmentInfoType == NULL || HolderInfoType == NULL || StatusType == NULL)
    return -1;
  if (PyModule_AddObjectRef(m, "SegmentInfo", (PyObject *)SegmentInfoType) < 0 ||
      PyModule_AddObjectRef(m, "HolderInfo", (PyObject *)HolderInfoType) < 0 ||
      PyModule_AddObjectRef(m, "Status", (PyObject *)StatusType) < 0)
    return -1;
  return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * _shmview.c: the CPython binding of libshmview (the C half of the Python
 * package shmview; shmview/__init__.py adds SharedMemory on top).
 *
 * Two types. A Client is a connection (shmv_client). A View is one
 * shmv_view handle exporting the buffer protocol over the mapped window,
 * so memoryview(), bytes(), numpy.frombuffer() and struct.pack_into() work
 * on shared memory without a copy. Slicing a View with step 1 makes another
 * View on the same mapping (shmv_view_slice: no round trip, no copy);
 * anything memoryview does that a byte window has no reason to redo
 * (extended slices, slice assignment, hex, cast) is delegated to a
 * memoryview over the View, so the semantics are memoryview's own.
 *
 * Fork: a child inherits Clients and Views. It may read and write inherited
 * Views (the mapping is inherited), but it never sends anything on the
 * parent's connection: each object remembers the pid that made its
 * connection or mapping, a child leaves those handles alone (they die with
 * the child), and an inherited Client opens its own connection on first use.
 *
 * The GIL is released around every call that may wait on the daemon
 * (connect, create, open, unlink, resize, stat, list, status, release,
 * disconnect) and around View.wait(). A Client counts the calls in progress
 * so that close() from another thread never frees a connection under them;
 * a View counts its waits so that release() never unmaps a word a thread
 * sleeps on.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <shmview.h>

/* The binding speaks the libshmview it is built with, the one of the same
 * source tree (configure builds both) or an installed one at least as new
 * (setup.py asks pkg-config). A header without SHMV_OWN, the newest of its
 * flags, predates shmv_freeze and the restricted record: say so here,
 * rather than fail on the first missing name. */
#ifndef SHMV_OWN
#error "libshmview is too old for this binding: build it against the libshmview of its own source tree"
#endif

/* Run stmt with the GIL released (a statement, so clang-format keeps it
 * readable, unlike Py_BEGIN_ALLOW_THREADS's unbalanced braces). */
#define UNBLOCKED(stmt)                       \
  do {                                        \
    PyThreadState *ts_ = PyEval_SaveThread(); \
    stmt;                                     \
    PyEval_RestoreThread(ts_);                \
  } while (0)

/* ---- this process -------------------------------------------------------- */

/* Which process this is, asked on every request and every new View: kept
 * here and refreshed in each child of fork() (pthread_atfork), so the
 * common case costs a load instead of a getpid() system call. Should the
 * handler not be registered, getpid() answers every time. */
static pid_t self_pid;
static int self_pid_tracked;

static void self_pid_after_fork(void) {
  self_pid = getpid();
}

static pid_t current_pid(void) {
  return self_pid_tracked ? self_pid : getpid();
}

/* ---- errors -------------------------------------------------------------- */

static PyObject *BusyError; /* EBUSY: both an OSError and a BufferError */

/* The one place that says which sentence explains a failure on c: the
 * daemon's own (shmv_last_error), or the code's for a failure on no client. */
static const char *error_message(shmv_client *c, int rc) {
  return c != NULL ? shmv_last_error(c) : shmv_strerror(rc);
}

/* Raise the OSError subclass for -rc (FileNotFoundError, FileExistsError,
 * PermissionError, ... as OSError(errno, msg) picks them; BusyError for
 * EBUSY), with the message and, if given, the segment name as filename. */
static PyObject *raise_rc(shmv_client *c, int rc, const char *name) {
  int code = rc < 0 ? -rc : rc;
  PyObject *type = code == EBUSY ? BusyError : PyExc_OSError;
  PyObject *args = name ? Py_BuildValue("(iss)", code, error_message(c, rc), name)
                        : Py_BuildValue("(is)", code, error_message(c, rc));
  if (args == NULL)
    return NULL;
  PyObject *exc = PyObject_Call(type, args, NULL);
  Py_DECREF(args);
  if (exc != NULL) {
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
  }
  return NULL;
}

/* ---- Client -------------------------------------------------------------- */

typedef struct {
  PyObject_HEAD shmv_client *c; /* NULL: not connected (closed, or a fresh child) */
  pid_t pid;                    /* the process that owns c */
  PyObject *path;               /* str or None: what connect() was given */
  long long reconnect_ms;       /* what connect() was given; -1: the library's default */
  unsigned busy;                /* calls in progress with the GIL released */
  int closed;                   /* close() was called */
  PyObject *weakrefs;
} ClientObject;

static PyTypeObject ClientType;
static PyTypeObject ViewType;

static int client_connect(ClientObject *self) {
  const char *path = NULL;
  shmv_client *c = NULL;
  int rc;

  if (self->path != Py_None) {
    path = PyUnicode_AsUTF8(self->path);
    if (path == NULL)
      return -1;
  }
  shmv_connect_options o = SHMV_CONNECT_OPTIONS_INIT;
  o.reconnect_ms = self->reconnect_ms;
  UNBLOCKED(rc = shmv_connect_with(path, &o, &c));
  if (rc < 0) {
    /* OSError(errno, ...) picks ConnectionRefusedError, FileNotFoundError... */
    char def[512];
    PyObject *where = self->path;
    if (where == Py_None && shmv_default_socket_path(def, sizeof def) == 0)
      where = PyUnicode_DecodeFSDefault(def);
    else
      Py_INCREF(where);
    if (where == NULL)
      return -1;
    PyObject *exc =
        PyObject_CallFunction(PyExc_OSError, "isO", -rc, "cannot connect to shmviewd", where);
    Py_DECREF(where);
    if (exc != NULL) {
      PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
      Py_DECREF(exc);
    }
    return -1;
  }
  self->c = c;
  self->pid = current_pid();
  return 0;
}

/* A connection inherited over fork: the parent's, never used by the child.
 * In a child the library closes only the child's copy of its socket (so the
 * parent's end still sees EOF when the parent goes). */
static void client_forget(shmv_client *c) {
  shmv_disconnect(c);
}

/* The connection to use now, or NULL with an exception. In a forked child
 * the parent's connection is abandoned untouched and a new one made. The
 * caller must pair it with client_leave(). */
static shmv_client *client_enter(ClientObject *self) {
  if (self->closed) {
    PyErr_SetString(PyExc_ValueError, "operation on a closed shmview.Client");
    return NULL;
  }
  if (self->c != NULL && self->pid != current_pid()) {
    client_forget(self->c); /* the parent's: never used here */
    self->c = NULL;
    self->busy = 0; /* threads do not survive fork */
  }
  if (self->c == NULL && client_connect(self) < 0)
    return NULL;
  self->busy++;
  return self->c;
}

static void client_leave(ClientObject *self) {
  if (--self->busy == 0 && self->closed && self->c != NULL) {
    shmv_client *c = self->c;
    self->c = NULL;
    UNBLOCKED(shmv_disconnect(c));
  }
}

static PyObject *client_new_from_path(PyObject *path, long long reconnect_ms) {
  ClientObject *self = PyObject_New(ClientObject, &ClientType);
  if (self == NULL)
    return NULL;
  self->reconnect_ms = reconnect_ms;
  self->c = NULL;
  self->pid = 0;
  self->busy = 0;
  self->closed = 0;
  self->weakrefs = NULL;
  Py_INCREF(path);
  self->path = path;
  if (client_connect(self) < 0) {
    Py_DECREF(self);
    return NULL;
  }
  return (PyObject *)self;
}

static void Client_dealloc(ClientObject *self) {
  if (self->weakrefs != NULL)
    PyObject_ClearWeakRefs((PyObject *)self);
  if (self->c != NULL && self->pid == current_pid()) {
    shmv_client *c = self->c;
    UNBLOCKED(shmv_disconnect(c));
  } else if (self->c != NULL) {
    client_forget(self->c);
  }
  Py_XDECREF(self->path);
  PyObject_Free(self);
}

static PyObject *Client_close(ClientObject *self, PyObject *unused) {
  if (self->closed)
    Py_RETURN_NONE;
  self->closed = 1;
  if (self->c != NULL && self->pid != current_pid()) {
    client_forget(self->c); /* inherited: the parent's to close */
    self->c = NULL;
  }
  if (self->busy == 0 && self->c != NULL) {
    shmv_client *c = self->c;
    self->c = NULL;
    UNBLOCKED(shmv_disconnect(c));
  }
  Py_RETURN_NONE;
}

static PyObject *Client_enter(ClientObject *self, PyObject *unused) {
  if (self->closed) {
    PyErr_SetString(PyExc_ValueError, "operation on a closed shmview.Client");
    return NULL;
  }
  Py_INCREF(self);
  return (PyObject *)self;
}

static PyObject *Client_exit(ClientObject *self, PyObject *args) {
  return Client_close(self, NULL);
}

static PyObject *Client_get_closed(ClientObject *self, void *closure) {
  return PyBool_FromLong(self->closed);
}

static PyObject *Client_get_socket_path(ClientObject *self, void *closure) {
  Py_INCREF(self->path);
  return self->path;
}

static PyObject *Client_repr(ClientObject *self) {
  if (self->path == Py_None)
    return PyUnicode_FromFormat("<shmview.Client default socket%s>",
                                self->closed ? ", closed" : "");
  return PyUnicode_FromFormat("<shmview.Client %R%s>", self->path, self->closed ? ", closed" : "");
}

static int check_name(PyObject *name_obj, const char **out) {
  if (!PyUnicode_Check(name_obj)) {
    PyErr_Format(PyExc_TypeError, "name must be str, not %.100s", Py_TYPE(name_obj)->tp_name);
    return -1;
  }
  const char *name = PyUnicode_AsUTF8(name_obj);
  if (name == NULL)
    return -1;
  if (shmv_name_check(name) < 0) {
    PyErr_Format(PyExc_ValueError,
                 "invalid segment name %R: 1..%d characters of [A-Za-z0-9._-], not starting "
                 "with '.'",
                 name_obj, SHMV_NAME_MAX);
    return -1;
  }
  *out = name;
  return 0;
}

/* The mode argument of create and create_view. */
static int check_mode(unsigned mode) {
  if (mode > 0777) {
    PyErr_Format(PyExc_ValueError, "mode %#o has bits other than permissions", mode);
    return -1;
  }
  return 0;
}

/* o as a Python int (a new reference), or NULL with TypeError naming what. */
static PyObject *as_int(PyObject *o, const char *what) {
  if (!PyIndex_Check(o)) {
    PyErr_Format(PyExc_TypeError, "%s must be an integer, not %.100s", what, Py_TYPE(o)->tp_name);
    return NULL;
  }
  return PyNumber_Index(o);
}

static int get_size(PyObject *o, size_t *out, const char *what) {
  PyObject *n = as_int(o, what);
  if (n == NULL)
    return -1;
  PyObject *zero = PyLong_FromLong(0);
  int negative = zero ? PyObject_RichCompareBool(n, zero, Py_LT) : -1;
  Py_XDECREF(zero);
  if (negative < 0) {
    Py_DECREF(n);
    return -1;
  }
  if (negative) {
    Py_DECREF(n);
    PyErr_Format(PyExc_ValueError, "%s must not be negative", what);
    return -1;
  }
  size_t v = PyLong_AsSize_t(n);
  Py_DECREF(n);
  if (v == (size_t)-1 && PyErr_Occurred()) {
    PyErr_Clear();
    PyErr_Format(PyExc_OverflowError, "%s is too large", what);
    return -1;
  }
  *out = v;
  return 0;
}

static PyObject *Client_create(ClientObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "name", "size", "mode", "ephemeral", NULL };
  PyObject *name_obj, *size_obj;
  unsigned int mode = 0600;
  int ephemeral = 0;
  const char *name;
  size_t size;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "UO|I$p:create", kwlist, &name_obj, &size_obj, &mode,
                                   &ephemeral))
    return NULL;
  if (check_name(name_obj, &name) < 0 || get_size(size_obj, &size, "size") < 0 ||
      check_mode(mode) < 0)
    return NULL;
  shmv_client *c = client_enter(self);
  if (c == NULL)
    return NULL;
  unsigned flags = ephemeral ? SHMV_CREATE_EPHEMERAL : 0;
  int rc;
  UNBLOCKED(rc = shmv_create_flags(c, name, size, mode, flags));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : Py_NewRef(Py_None);
  client_leave(self);
  return res;
}

/* ---- View ---------------------------------------------------------------- */

typedef struct {
  PyObject_HEAD shmv_view *v; /* NULL once released */
  pid_t pid;                  /* the process whose connection holds the mapping */
  char *data;
  Py_ssize_t len;
  int readonly;
  Py_ssize_t exports; /* buffers handed out and not yet released */
  Py_ssize_t waits;   /* threads in wait() on a word of it, GIL released */
  PyObject *weakrefs;
} ViewObject;

static char empty_byte; /* what a zero-length view exports */

/* View(data) prefaults its new segment from this size up: measured, a
 * writable window written in full gains from 64 KiB (docs/benchmarks.md,
 * the prefault figures). */
#define PREFAULT_MIN ((size_t)64 << 10)

static PyObject *view_wrap(PyTypeObject *type, shmv_view *v, pid_t pid) {
  ViewObject *self = (ViewObject *)type->tp_alloc(type, 0);
  if (self == NULL) {
    if (pid == current_pid()) {
      UNBLOCKED(shmv_view_release(v));
    }
    return NULL;
  }
  self->v = v;
  self->pid = pid;
  self->data = shmv_view_data(v);
  self->len = (Py_ssize_t)shmv_view_length(v);
  self->readonly = shmv_view_readonly(v);
  self->exports = 0;
  self->waits = 0;
  self->weakrefs = NULL;
  return (PyObject *)self;
}

/* Give the handle back. In a forked child the handle belongs to the parent's
 * connection: the library then only unmaps, and the parent's lease stays. */
static void view_drop(ViewObject *self) {
  shmv_view *v = self->v;
  self->v = NULL;
  self->data = NULL;
  if (v == NULL)
    return;
  UNBLOCKED(shmv_view_release(v));
}

static int view_check(ViewObject *self) {
  if (self->v == NULL) {
    PyErr_SetString(PyExc_ValueError, "operation forbidden on released shmview.View");
    return -1;
  }
  return 0;
}

static PyObject *open_view(ClientObject *self, const char *name, size_t offset, size_t length,
                           int flags) {
  shmv_view *v = NULL;
  int rc;
  shmv_client *c = client_enter(self);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = shmv_view_open(c, name, offset, length, flags, &v));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : view_wrap(&ViewType, v, current_pid());
  client_leave(self);
  return res;
}

static PyObject *Client_open(ClientObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "name", "offset", "length", "writable", "prefault", "own", NULL };
  PyObject *name_obj, *offset_obj = NULL, *length_obj = Py_None;
  int writable = 0, prefault = 0, own = 0;
  const char *name;
  size_t offset = 0, length = SHMV_TO_END;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "U|OO$ppp:open", kwlist, &name_obj, &offset_obj,
                                   &length_obj, &writable, &prefault, &own))
    return NULL;
  if (check_name(name_obj, &name) < 0)
    return NULL;
  if (offset_obj != NULL && get_size(offset_obj, &offset, "offset") < 0)
    return NULL;
  if (length_obj != Py_None && get_size(length_obj, &length, "length") < 0)
    return NULL;
  if (length == SHMV_TO_END && length_obj != Py_None) {
    PyErr_SetString(PyExc_OverflowError, "length is too large");
    return NULL;
  }
  return open_view(self, name, offset, length,
                   (writable ? SHMV_WRITABLE : 0) | (prefault ? SHMV_PREFAULT : 0) |
                       (own ? SHMV_OWN : 0));
}

static PyObject *Client_open_descriptor(ClientObject *self, PyObject *arg) {
  shmv_descriptor d;
  const char *text = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;

  if (text == NULL) {
    if (!PyErr_Occurred())
      PyErr_Format(PyExc_TypeError, "a descriptor is a str, not %.100s", Py_TYPE(arg)->tp_name);
    return NULL;
  }
  if (shmv_descriptor_parse(text, &d) < 0) {
    PyErr_Format(PyExc_ValueError, "invalid view descriptor %R (NAME[:OFFSET[:LENGTH[:rw|:ro]]])",
                 arg);
    return NULL;
  }
  return open_view(self, d.name, d.offset, d.length, d.writable ? SHMV_WRITABLE : 0);
}

/* A new segment and a writable view of all of it, in one round trip
 * (shmv_view_create). The GIL is released while waiting. */
static int do_create_view(shmv_client *c, const char *name, size_t size, unsigned mode,
                          int ephemeral, int prefault, shmv_view **out) {
  unsigned flags = (prefault ? SHMV_PREFAULT : 0) | (ephemeral ? SHMV_CREATE_EPHEMERAL : 0);
  int rc;
  UNBLOCKED(rc = shmv_view_create(c, name, size, mode, flags, out));
  return rc;
}

static PyObject *Client_create_view(ClientObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "name", "size", "mode", "ephemeral", "prefault", NULL };
  PyObject *name_obj, *size_obj;
  unsigned int mode = 0600;
  int ephemeral = 0, prefault = 0;
  const char *name;
  size_t size;
  shmv_view *v = NULL;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "UO|I$pp:create_view", kwlist, &name_obj, &size_obj,
                                   &mode, &ephemeral, &prefault))
    return NULL;
  if (check_name(name_obj, &name) < 0 || get_size(size_obj, &size, "size") < 0 ||
      check_mode(mode) < 0)
    return NULL;
  shmv_client *c = client_enter(self);
  if (c == NULL)
    return NULL;
  int rc = do_create_view(c, name, size, mode, ephemeral, prefault, &v);
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : view_wrap(&ViewType, v, current_pid());
  client_leave(self);
  return res;
}

/* The client of a method whose one argument is a segment name, the name
 * checked into *name; NULL with the exception set. */
static shmv_client *enter_named(ClientObject *self, PyObject *arg, const char **name) {
  if (check_name(arg, name) < 0)
    return NULL;
  return client_enter(self);
}

/* unlink(name), resize(name, size): one request each. */
static PyObject *Client_unlink(ClientObject *self, PyObject *arg) {
  const char *name;
  int rc;
  shmv_client *c = enter_named(self, arg, &name);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = shmv_unlink(c, name));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : Py_NewRef(Py_None);
  client_leave(self);
  return res;
}

static PyObject *Client_resize(ClientObject *self, PyObject *args) {
  PyObject *name_obj, *size_obj;
  const char *name;
  size_t size;
  int rc;
  if (!PyArg_ParseTuple(args, "UO:resize", &name_obj, &size_obj))
    return NULL;
  if (check_name(name_obj, &name) < 0 || get_size(size_obj, &size, "size") < 0)
    return NULL;
  shmv_client *c = client_enter(self);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = shmv_resize(c, name, size));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : Py_NewRef(Py_None);
  client_leave(self);
  return res;
}

/* ---- records: SegmentInfo, HolderInfo and Status (struct sequences) ------ */

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

static PyObject *segment_record(const shmv_segment_info *s) {
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

static PyObject *Client_stat(ClientObject *self, PyObject *arg) {
  shmv_segment_info info;
  const char *name;
  int rc;
  shmv_client *c = enter_named(self, arg, &name);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = shmv_stat(c, name, &info));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : segment_record(&info);
  client_leave(self);
  return res;
}

static PyObject *Client_list(ClientObject *self, PyObject *unused) {
  shmv_segment_info *list = NULL;
  size_t count = 0;
  int rc;
  shmv_client *c = client_enter(self);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = shmv_list(c, &list, &count));
  PyObject *res = rc < 0 ? raise_rc(c, rc, NULL)
                         : record_list(list, count, sizeof *list, segment_item);
  shmv_list_free(list);
  client_leave(self);
  return res;
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

static PyObject *Client_holders(ClientObject *self, PyObject *arg) {
  shmv_holder_info *list = NULL;
  size_t count = 0;
  const char *name;
  int rc;
  shmv_client *c = enter_named(self, arg, &name);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = shmv_holders(c, name, &list, &count));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name)
                         : record_list(list, count, sizeof *list, holder_record);
  shmv_holders_free(list);
  client_leave(self);
  return res;
}

static PyObject *Client_status(ClientObject *self, PyObject *unused) {
  shmv_status_info st;
  int rc;
  shmv_client *c = client_enter(self);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = shmv_status(c, &st));
  if (rc < 0) {
    raise_rc(c, rc, NULL);
    client_leave(self);
    return NULL;
  }
  client_leave(self);
  PyObject *r = PyStructSequence_New(StatusType);
  if (r == NULL)
    return NULL;
  uint64_t nums[] = { st.uptime_ms,      st.clients,        st.segments,    st.bytes,
                      st.views,          st.writable_views, st.requests,    st.max_segment_size,
                      st.max_total_size, st.max_clients,    st.max_views,   st.frame_max,
                      st.quota_bytes,    st.quota_segments, st.quota_views, (uint64_t)st.uid,
                      st.used_bytes,     st.used_segments,  st.used_views,  st.grace_ms };
  PyStructSequence_SET_ITEM(r, 0, PyUnicode_FromString(st.version));
  PyStructSequence_SET_ITEM(r, 1, PyLong_FromUnsignedLong(st.protocol));
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
    PyStructSequence_SET_ITEM(r, (Py_ssize_t)i + 2, PyLong_FromUnsignedLongLong(nums[i]));
  for (Py_ssize_t i = 0; i < 22; i++)
    if (PyStructSequence_GET_ITEM(r, i) == NULL) {
      Py_DECREF(r);
      return NULL;
    }
  return r;
}

/* ---- anonymous Views: View(data) ----------------------------------------- */

static PyObject *default_client; /* connect(None), made on first use */

static PyObject *get_default_client(void) {
  if (default_client != NULL && ((ClientObject *)default_client)->closed)
    Py_CLEAR(default_client);
  if (default_client == NULL)
    default_client = client_new_from_path(Py_None, -1);
  return default_client; /* borrowed */
}

static PyObject *mod_default_client(PyObject *mod, PyObject *unused) {
  PyObject *c = get_default_client();
  Py_XINCREF(c);
  return c;
}

/* A fresh name for an anonymous segment. */
static void anon_name(char *buf, size_t cap) {
  static unsigned long counter;
  unsigned char r[8] = { 0 };
  char hex[17];
  if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
    uint64_t t = (uint64_t)getpid() * 2654435761u ^ (uint64_t)(uintptr_t)buf;
    memcpy(r, &t, sizeof r);
  }
  for (int i = 0; i < 8; i++)
    snprintf(hex + 2 * i, 3, "%02x", r[i]);
  snprintf(buf, cap, "anon-%ld-%lu-%s", (long)current_pid(), ++counter, hex);
}

static PyObject *View_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "data", "readonly", "client", NULL };
  PyObject *data, *client_obj = Py_None;
  int readonly = 0;
  Py_buffer src = { 0 };
  size_t n;
  char name[SHMV_NAME_MAX + 1];
  shmv_view *rw = NULL, *ro = NULL;
  int rc;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$pO:View", kwlist, &data, &readonly, &client_obj))
    return NULL;
  if (client_obj == Py_None) {
    client_obj = get_default_client();
    if (client_obj == NULL)
      return NULL;
  } else if (!PyObject_TypeCheck(client_obj, &ClientType)) {
    PyErr_Format(PyExc_TypeError, "client must be a shmview.Client, not %.100s",
                 Py_TYPE(client_obj)->tp_name);
    return NULL;
  }
  if (PyObject_CheckBuffer(data)) {
    if (PyObject_GetBuffer(data, &src, PyBUF_FULL_RO) < 0)
      return NULL;
    n = (size_t)src.len;
  } else if (PyIndex_Check(data)) {
    if (get_size(data, &n, "size") < 0)
      return NULL;
  } else {
    PyErr_Format(PyExc_TypeError, "View() takes a bytes-like object or an int, not %.100s",
                 Py_TYPE(data)->tp_name);
    return NULL;
  }
  ClientObject *cl = (ClientObject *)client_obj;
  Py_INCREF(cl);
  shmv_client *c = client_enter(cl);
  if (c == NULL)
    goto out;
  anon_name(name, sizeof name);
  /* One round trip: create and open together. One byte at least: a
   * segment needs a size, a view may be empty. Data that fills the view
   * from 64 KiB up is written at once, so its pages are mapped at once
   * (one call instead of a write fault per page; SHMV_PREFAULT). */
  rc = do_create_view(c, name, n > 0 ? n : 1, 0600, 1, src.buf != NULL && n >= PREFAULT_MIN, &rw);
  if (rc < 0) {
    raise_rc(c, rc, name);
    goto leave;
  }
  /* The read-only view first: an ephemeral segment ends with its last view. */
  if (readonly) {
    /* Its own segment, or none: a name freed in between is anyone's. A
     * daemon too old to check (EOPNOTSUPP) is no worse than before. */
    UNBLOCKED(rc = shmv_view_open(c, name, 0, n, SHMV_OWN, &ro));
    if (rc == -EOPNOTSUPP)
      UNBLOCKED(rc = shmv_view_open(c, name, 0, n, 0, &ro));
  }
  else if (n == 0)
    rc = shmv_view_slice(rw, 0, 0, &ro);
  if (rc < 0) {
    raise_rc(c, rc, name);
    goto unlink;
  }
  if (n > 0 && src.buf != NULL &&
      PyBuffer_ToContiguous(shmv_view_data(rw), &src, (Py_ssize_t)n, 'C') < 0)
    goto unlink;
  if (ro != NULL) {
    UNBLOCKED(shmv_view_release(rw));
    rw = ro;
    ro = NULL;
  }
  PyObject *res = view_wrap(type, rw, current_pid());
  rw = NULL;
  client_leave(cl);
  Py_DECREF(cl);
  PyBuffer_Release(&src);
  return res;

unlink:
  UNBLOCKED(shmv_view_release(ro); shmv_view_release(rw); shmv_unlink(c, name));
leave:
  client_leave(cl);
out:
  Py_DECREF(cl);
  PyBuffer_Release(&src);
  return NULL;
}

/* ---- View: buffer protocol ----------------------------------------------- */

static int View_getbuffer(ViewObject *self, Py_buffer *view, int flags) {
  if (self->v == NULL) {
    view->obj = NULL;
    PyErr_SetString(PyExc_ValueError, "operation forbidden on released shmview.View");
    return -1;
  }
  if ((flags & PyBUF_WRITABLE) && self->readonly) {
    view->obj = NULL;
    PyErr_SetString(PyExc_BufferError, "shmview.View is read-only");
    return -1;
  }
  void *buf = self->data != NULL ? self->data : &empty_byte;
  if (PyBuffer_FillInfo(view, (PyObject *)self, buf, self->len, self->readonly, flags) < 0)
    return -1;
  self->exports++;
  return 0;
}

static void View_releasebuffer(ViewObject *self, Py_buffer *view) {
  self->exports--;
}

static PyBufferProcs View_as_buffer = {
  (getbufferproc)View_getbuffer,
  (releasebufferproc)View_releasebuffer,
};

/* A memoryview over the View, for what memoryview already does right. */
static PyObject *as_memoryview(ViewObject *self) {
  if (view_check(self) < 0)
    return NULL;
  return PyMemoryView_FromObject((PyObject *)self);
}

static void memoryview_done(PyObject *mv) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb); /* the delegated call's error, if any */
  PyObject *r = PyObject_CallMethod(mv, "release", NULL);
  if (r == NULL)
    PyErr_Clear(); /* exported elsewhere: it goes with its last user */
  Py_XDECREF(r);
  Py_DECREF(mv);
  PyErr_Restore(type, value, tb);
}

/* Call memoryview(self).method(*args, **kw) and release the memoryview. */
static PyObject *delegate(ViewObject *self, const char *method, PyObject *args, PyObject *kw) {
  PyObject *mv = as_memoryview(self);
  if (mv == NULL)
    return NULL;
  PyObject *m = PyObject_GetAttrString(mv, method);
  PyObject *res = m ? (args ? PyObject_Call(m, args, kw) : PyObject_CallNoArgs(m)) : NULL;
  Py_XDECREF(m);
  memoryview_done(mv);
  return res;
}

/* ---- View: sequence and mapping ------------------------------------------ */

static Py_ssize_t View_length(ViewObject *self) {
  if (view_check(self) < 0)
    return -1;
  return self->len;
}

static PyObject *View_item(ViewObject *self, Py_ssize_t i) {
  if (view_check(self) < 0)
    return NULL;
  if (i < 0 || i >= self->len) {
    PyErr_SetString(PyExc_IndexError, "index out of bounds on dimension 1");
    return NULL;
  }
  return PyLong_FromLong((unsigned char)self->data[i]);
}

static int key_error(PyObject *key) {
  if (PyTuple_Check(key)) {
    Py_ssize_t n = PyTuple_GET_SIZE(key), slices = 0;
    for (Py_ssize_t i = 0; i < n; i++)
      slices += PySlice_Check(PyTuple_GET_ITEM(key, i));
    if (n > 0 && slices == n) {
      PyErr_SetString(PyExc_NotImplementedError, "multi-dimensional slicing is not implemented");
      return -1;
    }
  }
  PyErr_SetString(PyExc_TypeError, "shmview.View: invalid slice key");
  return -1;
}

static Py_ssize_t index_of(ViewObject *self, PyObject *key) {
  Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
  if (i == -1 && PyErr_Occurred())
    return -1;
  if (view_check(self) < 0) /* __index__ may have released it */
    return -1;
  if (i < 0)
    i += self->len;
  if (i < 0 || i >= self->len) {
    PyErr_SetString(PyExc_IndexError, "index out of bounds on dimension 1");
    return -1;
  }
  return i;
}

static PyObject *View_subscript(ViewObject *self, PyObject *key) {
  if (view_check(self) < 0)
    return NULL;
  if (PyIndex_Check(key)) {
    Py_ssize_t i = index_of(self, key);
    return i < 0 ? NULL : PyLong_FromLong((unsigned char)self->data[i]);
  }
  if (PySlice_Check(key)) {
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(key, &start, &stop, &step) < 0)
      return NULL;
    if (view_check(self) < 0)
      return NULL;
    PySlice_AdjustIndices(self->len, &start, &stop, step);
    if (step != 1) {
      /* A strided window is no byte range: memoryview's own answer. */
      PyObject *mv = as_memoryview(self);
      if (mv == NULL)
        return NULL;
      PyObject *r = PyObject_GetItem(mv, key);
      memoryview_done(mv);
      return r;
    }
    if (stop < start)
      stop = start;
    shmv_view *s = NULL;
    int rc = shmv_view_slice(self->v, (size_t)start, (size_t)stop, &s);
    if (rc < 0)
      return raise_rc(NULL, rc, NULL);
    return view_wrap(&ViewType, s, self->pid);
  }
  key_error(key);
  return NULL;
}

static int View_ass_subscript(ViewObject *self, PyObject *key, PyObject *value) {
  if (view_check(self) < 0)
    return -1;
  if (value == NULL) {
    PyErr_SetString(PyExc_TypeError, "cannot delete memory");
    return -1;
  }
  if (self->readonly) {
    PyErr_SetString(PyExc_TypeError, "cannot modify read-only memory");
    return -1;
  }
  if (PyIndex_Check(key)) {
    Py_ssize_t i = index_of(self, key);
    if (i < 0)
      return -1;
    if (!PyIndex_Check(value)) {
      PyErr_Format(PyExc_TypeError, "shmview.View: invalid type for format 'B'");
      return -1;
    }
    long b = PyLong_AsLong(value);
    if (b == -1 && PyErr_Occurred()) {
      if (!PyErr_ExceptionMatches(PyExc_OverflowError))
        return -1;
      PyErr_Clear();
      b = -1;
    }
    if (view_check(self) < 0)
      return -1;
    if (b < 0 || b > 255) {
      PyErr_SetString(PyExc_ValueError, "shmview.View: invalid value for format 'B'");
      return -1;
    }
    self->data[i] = (char)b;
    return 0;
  }
  if (PySlice_Check(key)) {
    PyObject *mv = as_memoryview(self);
    if (mv == NULL)
      return -1;
    int r = PyObject_SetItem(mv, key, value);
    memoryview_done(mv);
    return r;
  }
  return key_error(key);
}

static PySequenceMethods View_as_sequence = {
  .sq_length = (lenfunc)View_length,
  .sq_item = (ssizeargfunc)View_item,
};

static PyMappingMethods View_as_mapping = {
  .mp_length = (lenfunc)View_length,
  .mp_subscript = (binaryfunc)View_subscript,
  .mp_ass_subscript = (objobjargproc)View_ass_subscript,
};

/* ---- View: comparison, hash, repr ---------------------------------------- */

static PyObject *View_richcompare(ViewObject *self, PyObject *other, int op) {
  if (op != Py_EQ && op != Py_NE)
    Py_RETURN_NOTIMPLEMENTED;
  if ((PyObject *)self == other)
    return PyBool_FromLong(op == Py_EQ);
  if (self->v == NULL)
    return PyBool_FromLong(op == Py_NE);
  if (!PyObject_CheckBuffer(other))
    Py_RETURN_NOTIMPLEMENTED;
  Py_buffer b;
  if (PyObject_GetBuffer(other, &b, PyBUF_FULL_RO) < 0) {
    PyErr_Clear(); /* a released view, say: not equal */
    return PyBool_FromLong(op == Py_NE);
  }
  PyObject *res;
  if (b.ndim == 1 && b.itemsize == 1 && (b.format == NULL || strcmp(b.format, "B") == 0) &&
      PyBuffer_IsContiguous(&b, 'C')) {
    int eq = b.len == self->len && (self->len == 0 || memcmp(b.buf, self->data, b.len) == 0);
    res = PyBool_FromLong(op == Py_EQ ? eq : !eq);
  } else {
    /* Another format or shape: compare as memoryview does, item by item. */
    PyObject *mv = as_memoryview(self);
    res = mv ? PyObject_RichCompare(mv, other, op) : NULL;
    if (mv)
      memoryview_done(mv);
  }
  PyBuffer_Release(&b);
  return res;
}

static Py_hash_t View_hash(ViewObject *self) {
  /* memoryview hashes a read-only buffer by its bytes. A View's bytes may
   * change under it (another process may hold a writable view), so a hash
   * taken now would not stay true: unhashable, read-only or not. */
  PyErr_SetString(PyExc_ValueError,
                  "cannot hash a shmview.View: other processes may change its bytes");
  return -1;
}

static PyObject *View_repr(ViewObject *self) {
  if (self->v == NULL)
    return PyUnicode_FromFormat("<shmview.View of released memory at %p>", self);
  shmv_descriptor d;
  char text[SHMV_DESCRIPTOR_MAX];
  if (shmv_view_descriptor(self->v, &d) < 0 || shmv_descriptor_format(&d, text, sizeof text) < 0)
    text[0] = '\0';
  return PyUnicode_FromFormat("<shmview.View '%s' at %p>", text, self);
}

/* ---- View: methods and attributes ---------------------------------------- */

static PyObject *View_release(ViewObject *self, PyObject *unused) {
  if (self->v == NULL)
    Py_RETURN_NONE;
  if (self->exports > 0) {
    PyErr_Format(PyExc_BufferError, "shmview.View has %zd exported buffer%s", self->exports,
                 self->exports == 1 ? "" : "s");
    return NULL;
  }
  if (self->waits > 0) {
    /* Another thread sleeps on a word of the mapping: unmapping it would
     * have that thread read unmapped memory when its wait returns. */
    PyErr_SetString(PyExc_BufferError, "shmview.View has a wait() in progress");
    return NULL;
  }
  view_drop(self);
  Py_RETURN_NONE;
}

static PyObject *View_enter(ViewObject *self, PyObject *unused) {
  if (view_check(self) < 0)
    return NULL;
  return Py_NewRef(self);
}

static PyObject *View_exit(ViewObject *self, PyObject *args) {
  return View_release(self, NULL);
}

static PyObject *View_tobytes(ViewObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "order", NULL };
  PyObject *order = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:tobytes", kwlist, &order))
    return NULL;
  if (view_check(self) < 0)
    return NULL;
  return PyBytes_FromStringAndSize(self->data, self->len);
}

static PyObject *View_tolist(ViewObject *self, PyObject *unused) {
  if (view_check(self) < 0)
    return NULL;
  PyObject *l = PyList_New(self->len);
  for (Py_ssize_t i = 0; l != NULL && i < self->len; i++) {
    PyObject *b = PyLong_FromLong((unsigned char)self->data[i]);
    if (b == NULL) {
      Py_CLEAR(l);
      break;
    }
    PyList_SET_ITEM(l, i, b);
  }
  return l;
}

static PyObject *View_hex(ViewObject *self, PyObject *args, PyObject *kw) {
  return delegate(self, "hex", args, kw);
}

static PyObject *View_cast(ViewObject *self, PyObject *args, PyObject *kw) {
  return delegate(self, "cast", args, kw);
}

static PyObject *View_toreadonly(ViewObject *self, PyObject *unused) {
  return delegate(self, "toreadonly", NULL, NULL);
}

static PyObject *View_reduce(ViewObject *self, PyObject *unused) {
  PyErr_SetString(PyExc_TypeError,
                  "cannot pickle a shmview.View: pass its descriptor and open_descriptor() it");
  return NULL;
}

/* ---- View: the data plane (a 32-bit word to load, store, wait on, wake) -- */

/* The word's rules are libshmview's (shmv_view_wait): 4 bytes at offset, all
 * inside the view, at a segment position that is a multiple of 4. The
 * mapping starts on a page, so the address's alignment is the position's.
 * A misaligned offset is a bad argument (ValueError); a word outside the
 * view is OSError(ERANGE), as a window outside the segment is in open(). */
static int word_error(ViewObject *self, int rc, size_t offset) {
  if (rc == -EINVAL) {
    PyErr_Format(PyExc_ValueError,
                 "offset %zu: the word is not 4-byte aligned in the segment (the view's offset "
                 "plus offset must be a multiple of 4)",
                 offset);
    return -1;
  }
  if (rc == -ERANGE) {
    char msg[160];
    snprintf(msg, sizeof msg, "offset %zu: a 4-byte word there lies outside the view (%zd bytes)",
             offset, self->len);
    PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", ERANGE, msg);
    if (exc != NULL) {
      PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
      Py_DECREF(exc);
    }
    return -1;
  }
  raise_rc(NULL, rc, NULL);
  return -1;
}

/* Parse offset_obj into *offset and check the word there; the word's
 * address in *word. */
static int word_at(ViewObject *self, PyObject *offset_obj, size_t *offset, uint32_t **word) {
  if (view_check(self) < 0 || get_size(offset_obj, offset, "offset") < 0)
    return -1;
  if (view_check(self) < 0) /* __index__ may have released it */
    return -1;
  if (self->len < 4 || *offset > (size_t)self->len - 4)
    return word_error(self, -ERANGE, *offset);
  uintptr_t addr = (uintptr_t)self->data + *offset;
  if (addr % 4 != 0)
    return word_error(self, -EINVAL, *offset);
  *word = (uint32_t *)addr;
  return 0;
}

/* A 32-bit unsigned value: 0 .. 2**32-1, else ValueError. */
static int get_u32(PyObject *o, uint32_t *out, const char *what) {
  PyObject *n = as_int(o, what);
  if (n == NULL)
    return -1;
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(n, &overflow);
  Py_DECREF(n);
  if (v == -1 && PyErr_Occurred())
    return -1;
  if (overflow != 0 || v < 0 || v > (long long)UINT32_MAX) {
    PyErr_Format(PyExc_ValueError, "%s must be in 0..2**32-1 (a 32-bit unsigned word)", what);
    return -1;
  }
  *out = (uint32_t)v;
  return 0;
}

static PyObject *View_load32(ViewObject *self, PyObject *offset_obj) {
  size_t offset;
  uint32_t *w;
  if (word_at(self, offset_obj, &offset, &w) < 0)
    return NULL;
  return PyLong_FromUnsignedLong(__atomic_load_n(w, __ATOMIC_ACQUIRE));
}

static PyObject *View_store32(ViewObject *self, PyObject *args) {
  PyObject *offset_obj, *value_obj;
  size_t offset;
  uint32_t *w, value;
  if (!PyArg_ParseTuple(args, "OO:store32", &offset_obj, &value_obj))
    return NULL;
  if (word_at(self, offset_obj, &offset, &w) < 0 || get_u32(value_obj, &value, "value") < 0)
    return NULL;
  if (view_check(self) < 0) /* value's __index__ may have released it */
    return NULL;
  if (self->readonly) {
    PyErr_SetString(PyExc_TypeError, "cannot modify read-only memory");
    return NULL;
  }
  __atomic_store_n(w, value, __ATOMIC_RELEASE);
  Py_RETURN_NONE;
}

/* wait() sleeps in slices of at most this long and looks for signals (Ctrl-C's
 * KeyboardInterrupt) between them: libshmview's wait goes on through
 * signals, and Python runs its handlers only when it holds the GIL. */
#define WAIT_SLICE_NS ((int64_t)100000000)

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Seconds (None: no limit, -1 here) as nanoseconds; what names the argument. */
static int get_seconds_ns(PyObject *o, int64_t *out, const char *what) {
  if (o == Py_None) {
    *out = -1;
    return 0;
  }
  double s = PyFloat_AsDouble(o);
  if (s == -1.0 && PyErr_Occurred())
    return -1;
  if (isnan(s) || s < 0) {
    PyErr_Format(PyExc_ValueError, "%s must be a number of seconds >= 0 or None", what);
    return -1;
  }
  *out = s * 1e9 >= 9.2e18 ? INT64_MAX : (int64_t)(s * 1e9);
  return 0;
}

static PyObject *View_wait(ViewObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "offset", "expected", "timeout", "spin", NULL };
  PyObject *offset_obj, *expected_obj, *timeout_obj = Py_None, *spin_obj = Py_None;
  size_t offset;
  uint32_t *w, expected;
  int64_t timeout_ns, spin_ns = 0;
  int rc;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O$O:wait", kwlist, &offset_obj, &expected_obj,
                                   &timeout_obj, &spin_obj))
    return NULL;
  if (get_seconds_ns(timeout_obj, &timeout_ns, "timeout") < 0)
    return NULL;
  if (PyUnicode_Check(spin_obj)) {
    if (PyUnicode_CompareWithASCIIString(spin_obj, "adaptive") != 0) {
      PyErr_SetString(PyExc_ValueError, "spin must be a number of seconds, 'adaptive' or None");
      return NULL;
    }
    spin_ns = SHMV_SPIN_ADAPTIVE;
  } else if (spin_obj != Py_None) {
    if (get_seconds_ns(spin_obj, &spin_ns, "spin") < 0)
      return NULL;
  }
  if (get_u32(expected_obj, &expected, "expected") < 0 ||
      word_at(self, offset_obj, &offset, &w) < 0)
    return NULL;

  shmv_view *v = self->v;
  /* (a timeout beyond 146 years is cut to that: no overflow) */
  int64_t deadline =
      timeout_ns < 0 ? -1 : mono_ns() + (timeout_ns < INT64_MAX / 2 ? timeout_ns : INT64_MAX / 2);
  self->waits++; /* release() refuses to unmap the word meanwhile */
  for (int first = 1;; first = 0) {
    int64_t slice = WAIT_SLICE_NS;
    if (deadline >= 0) {
      int64_t left = deadline - mono_ns();
      slice = left <= 0 ? 0 : left < slice ? left : slice;
    }
    if (first && spin_ns != 0) {
      UNBLOCKED(rc = shmv_view_wait_spin(v, offset, expected, slice, spin_ns));
    } else {
      UNBLOCKED(rc = shmv_view_wait(v, offset, expected, slice));
    }
    if (rc != -ETIMEDOUT || (deadline >= 0 && mono_ns() >= deadline))
      break;
    if (PyErr_CheckSignals() < 0) { /* a handler raised: KeyboardInterrupt */
      self->waits--;
      return NULL;
    }
  }
  self->waits--;
  if (rc == 0)
    Py_RETURN_TRUE;
  if (rc == -ETIMEDOUT)
    Py_RETURN_FALSE;
  word_error(self, rc, offset);
  return NULL;
}

static PyObject *View_wake(ViewObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "offset", "count", NULL };
  PyObject *offset_obj, *count_obj = NULL;
  size_t offset;
  uint32_t *w;
  int count = SHMV_WAKE_ALL;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:wake", kwlist, &offset_obj, &count_obj))
    return NULL;
  if (count_obj != NULL) {
    PyObject *index = as_int(count_obj, "count");
    if (index == NULL)
      return NULL;
    Py_ssize_t n = PyNumber_AsSsize_t(index, NULL); /* saturates */
    Py_DECREF(index);
    if (n == -1 && PyErr_Occurred())
      return NULL;
    if (n < 1) {
      PyErr_SetString(PyExc_ValueError, "count must be >= 1 (WAKE_ALL for every waiter)");
      return NULL;
    }
    count = n > SHMV_WAKE_ALL ? SHMV_WAKE_ALL : (int)n;
  }
  if (word_at(self, offset_obj, &offset, &w) < 0)
    return NULL;
  int rc = shmv_view_wake(self->v, offset, count); /* never blocks */
  if (rc < 0) {
    word_error(self, rc, offset);
    return NULL;
  }
  return PyLong_FromLong(rc);
}

static PyObject *View_get_descriptor(ViewObject *self, void *closure) {
  shmv_descriptor d;
  char text[SHMV_DESCRIPTOR_MAX];
  if (view_check(self) < 0)
    return NULL;
  int rc = shmv_view_descriptor(self->v, &d);
  if (rc < 0 || (rc = shmv_descriptor_format(&d, text, sizeof text)) < 0)
    return raise_rc(NULL, rc, NULL);
  return PyUnicode_FromString(text);
}

static PyObject *View_get_name(ViewObject *self, void *closure) {
  shmv_descriptor d;
  if (view_check(self) < 0)
    return NULL;
  int rc = shmv_view_descriptor(self->v, &d);
  return rc < 0 ? raise_rc(NULL, rc, NULL) : PyUnicode_FromString(d.name);
}

static PyObject *View_get_offset(ViewObject *self, void *closure) {
  shmv_descriptor d;
  if (view_check(self) < 0)
    return NULL;
  int rc = shmv_view_descriptor(self->v, &d);
  return rc < 0 ? raise_rc(NULL, rc, NULL) : PyLong_FromSize_t(d.offset);
}

#define VIEW_ATTR(fn, expr)                              \
  static PyObject *fn(ViewObject *self, void *closure) { \
    if (view_check(self) < 0)                            \
      return NULL;                                       \
    return expr;                                         \
  }
VIEW_ATTR(View_get_readonly, PyBool_FromLong(self->readonly))
VIEW_ATTR(View_get_nbytes, PyLong_FromSsize_t(self->len))
VIEW_ATTR(View_get_format, PyUnicode_FromString("B"))
VIEW_ATTR(View_get_itemsize, PyLong_FromLong(1))
VIEW_ATTR(View_get_ndim, PyLong_FromLong(1))
VIEW_ATTR(View_get_shape, Py_BuildValue("(n)", self->len))
VIEW_ATTR(View_get_strides, Py_BuildValue("(n)", (Py_ssize_t)1))
VIEW_ATTR(View_get_suboffsets, PyTuple_New(0))
VIEW_ATTR(View_get_contiguous, Py_NewRef(Py_True))

static PyObject *View_get_released(ViewObject *self, void *closure) {
  return PyBool_FromLong(self->v == NULL);
}

static void View_dealloc(ViewObject *self) {
  if (self->weakrefs != NULL)
    PyObject_ClearWeakRefs((PyObject *)self);
  view_drop(self);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef View_methods[] = {
  { "release", (PyCFunction)View_release, METH_NOARGS,
    "release()\n--\n\nRelease the view now (its lease goes with the last slice). "
    "Raises BufferError while buffers (memoryviews, numpy arrays) of it exist. "
    "A second call does nothing." },
  { "tobytes", (PyCFunction)(void (*)(void))View_tobytes, METH_VARARGS | METH_KEYWORDS,
    "tobytes(order=None)\n--\n\nA copy of the bytes as a bytes object." },
  { "tolist", (PyCFunction)View_tolist, METH_NOARGS,
    "tolist()\n--\n\nThe bytes as a list of ints." },
  { "hex", (PyCFunction)(void (*)(void))View_hex, METH_VARARGS | METH_KEYWORDS,
    "hex(sep=..., bytes_per_sep=1)\n--\n\nThe bytes in hexadecimal, as memoryview.hex()." },
  { "cast", (PyCFunction)(void (*)(void))View_cast, METH_VARARGS | METH_KEYWORDS,
    "cast(format, shape=...)\n--\n\nA memoryview of the same memory in another format, as "
    "memoryview.cast()." },
  { "toreadonly", (PyCFunction)View_toreadonly, METH_NOARGS,
    "toreadonly()\n--\n\nA read-only memoryview of the same memory (the mapping stays "
    "writable for this View)." },
  { "load32", (PyCFunction)View_load32, METH_O,
    "load32(offset)\n--\n\n"
    "Read the 32-bit word at offset (native byte order, unsigned) with one atomic load of\n"
    "acquire ordering: what this thread reads from the view afterwards is at least as new\n"
    "as what the writer wrote before the store32() that put this value there.\n"
    "The word must lie inside the view (else OSError ERANGE) at a segment position that\n"
    "is a multiple of 4 (else ValueError)." },
  { "store32", (PyCFunction)View_store32, METH_VARARGS,
    "store32(offset, value)\n--\n\n"
    "Write value (0..2**32-1) to the 32-bit word at offset with one atomic store of release\n"
    "ordering: every write this thread made to the view before it is visible to a reader\n"
    "that sees value through load32() (publish a payload with it). TypeError on a\n"
    "read-only view; the word's rules are load32()'s." },
  { "wait", (PyCFunction)(void (*)(void))View_wait, METH_VARARGS | METH_KEYWORDS,
    "wait(offset, expected, timeout=None, *, spin=None)\n--\n\n"
    "Sleep until the 32-bit word at offset no longer holds expected, or a wake() for it\n"
    "comes (True), or timeout seconds pass (False; None: no limit). Returns True at once\n"
    "if the word already differs. A wake may come without a change: re-read the word with\n"
    "load32() and wait again. Works across processes (the kernel's shared futex on the\n"
    "mapped page, no daemon) and on read-only views.\n\n"
    "spin: seconds to spin on the word before sleeping, or 'adaptive' (as long as this\n"
    "thread's recent waits needed, up to 50 us); None sleeps at once.\n\n"
    "The GIL is released while waiting. Signals are handled, and KeyboardInterrupt\n"
    "raised, within 0.1 s: the wait sleeps in slices of at most that long. A wake()\n"
    "that falls between two slices is missed (the word is compared again, so a changed\n"
    "word never is). release() raises BufferError while a wait is in progress." },
  { "wake", (PyCFunction)(void (*)(void))View_wake, METH_VARARGS | METH_KEYWORDS,
    "wake(offset, count=2147483647)\n--\n\n"
    "Wake up to count (>= 1; the default, WAKE_ALL, wakes all) threads or processes in\n"
    "wait() on the word at offset, in any process; returns how many were woken. Works on\n"
    "read-only views." },
  { "__enter__", (PyCFunction)View_enter, METH_NOARGS, NULL },
  { "__exit__", (PyCFunction)View_exit, METH_VARARGS, NULL },
  { "__reduce__", (PyCFunction)View_reduce, METH_NOARGS, NULL },
  { NULL, NULL, 0, NULL },
};

static PyGetSetDef View_getset[] = {
  { "descriptor", (getter)View_get_descriptor, NULL,
    "The text form NAME:OFFSET:LENGTH:rw|ro, for Client.open_descriptor() in another "
    "process.",
    NULL },
  { "name", (getter)View_get_name, NULL, "The segment's name.", NULL },
  { "offset", (getter)View_get_offset, NULL, "Where the view starts in the segment.", NULL },
  { "readonly", (getter)View_get_readonly, NULL, "True for a read-only view.", NULL },
  { "released", (getter)View_get_released, NULL, "True once released.", NULL },
  { "nbytes", (getter)View_get_nbytes, NULL, "The length in bytes.", NULL },
  { "format", (getter)View_get_format, NULL, "Always 'B' (unsigned bytes).", NULL },
  { "itemsize", (getter)View_get_itemsize, NULL, "Always 1.", NULL },
  { "ndim", (getter)View_get_ndim, NULL, "Always 1.", NULL },
  { "shape", (getter)View_get_shape, NULL, "(len(self),)", NULL },
  { "strides", (getter)View_get_strides, NULL, "(1,)", NULL },
  { "suboffsets", (getter)View_get_suboffsets, NULL, "()", NULL },
  { "c_contiguous", (getter)View_get_contiguous, NULL, "Always True.", NULL },
  { "f_contiguous", (getter)View_get_contiguous, NULL, "Always True.", NULL },
  { "contiguous", (getter)View_get_contiguous, NULL, "Always True.", NULL },
  { NULL, NULL, NULL, NULL, NULL },
};

PyDoc_STRVAR(View_doc,
             "View(data, *, readonly=False, client=None)\n"
             "--\n\n"
             "A window on a shared-memory segment, like a memoryview of a fixed-size bytearray\n"
             "that other processes can map too.\n\n"
             "Client.open() and Client.open_descriptor() return Views of named segments. Called\n"
             "directly, View(data) makes a new anonymous segment holding a copy of data (a\n"
             "bytes-like object, or an int for that many zero bytes), as bytearray(data) does,\n"
             "through client (default: a connection to the default socket, made on first use).\n"
             "The segment is ephemeral (removed by the daemon with the last view anywhere).\n\n"
             "A View exports the buffer protocol (format 'B', itemsize 1), so memoryview(v),\n"
             "bytes(v) and numpy.frombuffer(v) share its memory. v[i] is an int; v[a:b] is a\n"
             "View of the same mapping (no copy); v[a:b:step] with step != 1 is a memoryview.\n"
             "v[a:b] = data needs len(data) == b - a. A read-only view refuses writes with\n"
             "TypeError, and the kernel refuses them too (its memory is mapped read-only).\n"
             "Views are unhashable: their bytes may change under them.");

static PyTypeObject ViewType = {
  PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmview.View",
  .tp_basicsize = sizeof(ViewObject),
  .tp_dealloc = (destructor)View_dealloc,
  .tp_repr = (reprfunc)View_repr,
  .tp_as_sequence = &View_as_sequence,
  .tp_as_mapping = &View_as_mapping,
  .tp_hash = (hashfunc)View_hash,
  .tp_as_buffer = &View_as_buffer,
  .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
  .tp_doc = View_doc,
  .tp_richcompare = (richcmpfunc)View_richcompare,
  .tp_weaklistoffset = offsetof(ViewObject, weakrefs),
  .tp_methods = View_methods,
  .tp_getset = View_getset,
  .tp_new = View_new,
};

/* ---- Client type --------------------------------------------------------- */

static PyMethodDef Client_methods[] = {
  { "create", (PyCFunction)(void (*)(void))Client_create, METH_VARARGS | METH_KEYWORDS,
    "create(name, size, mode=0o600, *, ephemeral=False)\n--\n\n"
    "Create a segment of size zero bytes, permission bits like a file's. The memory is\n"
    "reserved now (a full /dev/shm is an OSError here, never SIGBUS later). An ephemeral\n"
    "segment is removed by the daemon when its last view anywhere ends.\n"
    "FileExistsError if the name is taken." },
  { "create_view", (PyCFunction)(void (*)(void))Client_create_view, METH_VARARGS | METH_KEYWORDS,
    "create_view(name, size, mode=0o600, *, ephemeral=False, prefault=False)\n--\n\n"
    "Create a segment as create() does and return a writable View of all of it, in one\n"
    "request to the daemon (create() then open(writable=True) take two). prefault maps\n"
    "every page now instead of at its first touch: worth it for 64 KiB and more that\n"
    "will be written in full. If the view cannot be opened (view limit, quota) no\n"
    "segment is made. FileExistsError if the name is taken." },
  { "open", (PyCFunction)(void (*)(void))Client_open, METH_VARARGS | METH_KEYWORDS,
    "open(name, offset=0, length=None, *, writable=False, prefault=False, own=False)\n--\n\n"
    "Open a View of [offset, offset+length) of a segment (length None: to the end).\n"
    "prefault maps every page of it now instead of at its first touch (pays for\n"
    "writable views of 64 KiB and more written in full; read faults already map pages\n"
    "in batches). own opens it only if this process's uid owns it (names are shared\n"
    "by every user, as /tmp's are: pass it to open a segment you created), else\n"
    "PermissionError (EPERM). FileNotFoundError, PermissionError, or OSError(ERANGE)\n"
    "outside the segment." },
  { "open_descriptor", (PyCFunction)Client_open_descriptor, METH_O,
    "open_descriptor(text)\n--\n\n"
    "Open the View a descriptor NAME[:OFFSET[:LENGTH[:rw|:ro]]] describes (View.descriptor\n"
    "gives one)." },
  { "unlink", (PyCFunction)Client_unlink, METH_O,
    "unlink(name)\n--\n\nRemove the name now; open views stay valid, the memory goes with the "
    "last." },
  { "resize", (PyCFunction)Client_resize, METH_VARARGS,
    "resize(name, size)\n--\n\nGrow (new bytes are zero) or shrink a segment. Shrinking while\n"
    "any view of it lives raises BusyError, which is a BufferError (as resizing an exported\n"
    "bytearray) and an OSError (EBUSY)." },
  { "stat", (PyCFunction)Client_stat, METH_O,
    "stat(name)\n--\n\nThe segment's record, a SegmentInfo." },
  { "list", (PyCFunction)Client_list, METH_NOARGS,
    "list()\n--\n\nEvery segment's record (SegmentInfo), sorted by name; then those unlinked\n"
    "but still viewed (unlinked True)." },
  { "holders", (PyCFunction)Client_holders, METH_O,
    "holders(name)\n--\n\nWho holds views of the segment: one HolderInfo per view lease, oldest\n"
    "first." },
  { "status", (PyCFunction)Client_status, METH_NOARGS,
    "status()\n--\n\nThe daemon's counters and limits, a Status." },
  { "close", (PyCFunction)Client_close, METH_NOARGS,
    "close()\n--\n\nClose the connection. The daemon drops this connection's leases; Views\n"
    "stay mapped memory until released. A second call does nothing." },
  { "__enter__", (PyCFunction)Client_enter, METH_NOARGS, NULL },
  { "__exit__", (PyCFunction)Client_exit, METH_VARARGS, NULL },
  { NULL, NULL, 0, NULL },
};

static PyGetSetDef Client_getset[] = {
  { "closed", (getter)Client_get_closed, NULL, "True once close() was called.", NULL },
  { "socket_path", (getter)Client_get_socket_path, NULL,
    "The path given to connect(), or None for the default.", NULL },
  { NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject ClientType = {
  PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmview.Client",
  .tp_basicsize = sizeof(ClientObject),
  .tp_dealloc = (destructor)Client_dealloc,
  .tp_repr = (reprfunc)Client_repr,
  .tp_flags = Py_TPFLAGS_DEFAULT,
  .tp_doc = "A connection to shmviewd; made by shmview.connect(). Safe to share between "
            "threads; a context manager that closes it.",
  .tp_weaklistoffset = offsetof(ClientObject, weakrefs),
  .tp_methods = Client_methods,
  .tp_getset = Client_getset,
};

/* ---- module -------------------------------------------------------------- */

static PyObject *mod_connect(PyObject *mod, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "socket_path", "reconnect_ms", NULL };
  PyObject *path = Py_None, *reconnect_obj = Py_None;
  long long reconnect_ms = -1;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$O:connect", kwlist, &path, &reconnect_obj))
    return NULL;
  if (reconnect_obj != Py_None) {
    reconnect_ms = PyLong_AsLongLong(reconnect_obj);
    if (reconnect_ms == -1 && PyErr_Occurred())
      return NULL;
    if (reconnect_ms < 0) {
      PyErr_SetString(PyExc_ValueError, "reconnect_ms must be >= 0 (or None: the default)");
      return NULL;
    }
  }
  if (path != Py_None) {
    path = PyOS_FSPath(path);
    if (path == NULL)
      return NULL;
    if (!PyUnicode_Check(path)) {
      PyObject *s =
          PyUnicode_DecodeFSDefaultAndSize(PyBytes_AS_STRING(path), PyBytes_GET_SIZE(path));
      Py_DECREF(path);
      if (s == NULL)
        return NULL;
      path = s;
    }
  } else {
    Py_INCREF(path);
  }
  PyObject *c = client_new_from_path(path, reconnect_ms);
  Py_DECREF(path);
  return c;
}

static PyObject *mod_default_socket_path(PyObject *mod, PyObject *unused) {
  char buf[512];
  int rc = shmv_default_socket_path(buf, sizeof buf);
  if (rc < 0)
    return raise_rc(NULL, rc, NULL);
  return PyUnicode_DecodeFSDefault(buf);
}

static PyMethodDef module_methods[] = {
  { "connect", (PyCFunction)(void (*)(void))mod_connect, METH_VARARGS | METH_KEYWORDS,
    "connect(socket_path=None, *, reconnect_ms=None)\n--\n\n"
    "Connect to shmviewd. socket_path None resolves it as libshmview does: $SHMVIEW_SOCKET,\n"
    "else /run/shmview/shmview.sock for root, else $XDG_RUNTIME_DIR/shmview.sock, else\n"
    "/tmp/shmview-$UID/shmview.sock. When the daemon goes away, a call waits up to\n"
    "reconnect_ms for it to come back (None: 5000, or $SHMVIEW_RECONNECT_MS, which\n"
    "overrides it; 0: not at all), then raises ConnectionRefusedError." },
  { "default_client", (PyCFunction)mod_default_client, METH_NOARGS,
    "default_client()\n--\n\n"
    "The module's Client on the default socket (what View() and SharedMemory use), made on\n"
    "first use; a forked child gets its own connection." },
  { "default_socket_path", (PyCFunction)mod_default_socket_path, METH_NOARGS,
    "default_socket_path()\n--\n\nThe socket connect(None) uses." },
  { NULL, NULL, 0, NULL },
};

static struct PyModuleDef shmview_module = {
  PyModuleDef_HEAD_INIT,
  .m_name = "shmview._shmview",
  .m_doc = "The C half of shmview: Client, View and the errors, over libshmview.",
  .m_size = -1,
  .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__shmview(void); /* the one exported symbol */
PyMODINIT_FUNC PyInit__shmview(void) {
  PyObject *m = NULL, *dt = NULL;

  if (PyType_Ready(&ClientType) < 0 || PyType_Ready(&ViewType) < 0)
    return NULL;
  if (!self_pid_tracked) {
    self_pid = getpid();
    self_pid_tracked = pthread_atfork(NULL, NULL, self_pid_after_fork) == 0;
  }
  dt = PyImport_ImportModule("datetime");
  if (dt == NULL)
    return NULL;
  datetime_cls = PyObject_GetAttrString(dt, "datetime");
  PyObject *tz = PyObject_GetAttrString(dt, "timezone");
  utc = tz ? PyObject_GetAttrString(tz, "utc") : NULL;
  Py_XDECREF(tz);
  Py_DECREF(dt);
  if (datetime_cls == NULL || utc == NULL)
    return NULL;
  SegmentInfoType = PyStructSequence_NewType(&segment_desc);
  HolderInfoType = PyStructSequence_NewType(&holder_desc);
  StatusType = PyStructSequence_NewType(&status_desc);
  if (SegmentInfoType == NULL || HolderInfoType == NULL || StatusType == NULL)
    return NULL;
  PyObject *bases = PyTuple_Pack(2, PyExc_OSError, PyExc_BufferError);
  if (bases == NULL)
    return NULL;
  BusyError = PyErr_NewExceptionWithDoc(
      "shmview.BusyError",
      "The segment is busy (EBUSY): e.g. shrinking it while views of it live. Both an\n"
      "OSError (errno EBUSY) and a BufferError, as resizing an exported bytearray is.",
      bases, NULL);
  Py_DECREF(bases);
  if (BusyError == NULL)
    return NULL;

  m = PyModule_Create(&shmview_module);
  if (m == NULL)
    return NULL;
  if (PyModule_AddObjectRef(m, "Client", (PyObject *)&ClientType) < 0 ||
      PyModule_AddObjectRef(m, "View", (PyObject *)&ViewType) < 0 ||
      PyModule_AddObjectRef(m, "SegmentInfo", (PyObject *)SegmentInfoType) < 0 ||
      PyModule_AddObjectRef(m, "HolderInfo", (PyObject *)HolderInfoType) < 0 ||
      PyModule_AddObjectRef(m, "Status", (PyObject *)StatusType) < 0 ||
      PyModule_AddObjectRef(m, "BusyError", BusyError) < 0 ||
      PyModule_AddIntConstant(m, "NAME_MAX", SHMV_NAME_MAX) < 0 ||
      PyModule_AddIntConstant(m, "WAKE_ALL", SHMV_WAKE_ALL) < 0 ||
      PyModule_AddStringConstant(m, "SPIN_ADAPTIVE", "adaptive") < 0 ||
      PyModule_AddStringConstant(m, "LIBRARY_VERSION", SHMV_VERSION_STRING) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}

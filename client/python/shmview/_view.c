/* SPDX-License-Identifier: MIT */
/*
 * _view.c: shmview.View, one shmv_view handle exporting the buffer protocol
 * over the mapped window, so memoryview(), bytes(), numpy.frombuffer() and
 * struct.pack_into() work on shared memory without a copy. Slicing a View
 * with step 1 makes another View on the same mapping (shmv_view_slice: no
 * round trip, no copy); anything memoryview does that a byte window has no
 * reason to redo (extended slices, slice assignment, hex, cast) is delegated
 * to a memoryview over the View, so the semantics are memoryview's own.
 * View(data) makes an anonymous segment; load32, store32, wait and wake are
 * the data plane on a word of the view. A View counts its waits so that
 * release() never unmaps a word a thread sleeps on.
 */
#include "_shmview.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static char empty_byte; /* what a zero-length view exports */

/* View(data) prefaults its new segment from this size up: measured, a
 * writable window written in full gains from 64 KiB (docs/benchmarks.md,
 * the prefault figures). */
#define PREFAULT_MIN ((size_t)64 << 10)

PyObject *view_wrap(PyTypeObject *type, shmv_view *v, pid_t pid) {
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

/* ---- anonymous Views: View(data) ----------------------------------------- */

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
  static char *kwlist[] = { "data", "readonly", "client", "sealed", NULL };
  PyObject *data, *client_obj = Py_None;
  int readonly = 0, sealed = 0;
  Py_buffer src = { 0 };
  size_t n;
  char name[SHMV_NAME_MAX + 1];
  shmv_view *rw = NULL, *ro = NULL;
  int rc;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$pOp:View", kwlist, &data, &readonly, &client_obj,
                                   &sealed))
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
  rc = do_create_view(c, name, n > 0 ? n : 1, 0600, 1, sealed, src.buf != NULL && n >= PREFAULT_MIN,
                      &rw);
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
  } else if (n == 0)
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
             "View(data, *, readonly=False, client=None, sealed=False)\n"
             "--\n\n"
             "A window on a shared-memory segment, like a memoryview of a fixed-size bytearray\n"
             "that other processes can map too.\n\n"
             "Client.open() and Client.open_descriptor() return Views of named segments. Called\n"
             "directly, View(data) makes a new anonymous segment holding a copy of data (a\n"
             "bytes-like object, or an int for that many zero bytes), as bytearray(data) does,\n"
             "through client (default: a connection to the default socket, made on first use).\n"
             "The segment is ephemeral (removed by the daemon with the last view anywhere).\n"
             "sealed=True makes it a sealed segment: no holder can change its size (a\n"
             "truncation can never SIGBUS another process's view).\n\n"
             "A View exports the buffer protocol (format 'B', itemsize 1), so memoryview(v),\n"
             "bytes(v) and numpy.frombuffer(v) share its memory. v[i] is an int; v[a:b] is a\n"
             "View of the same mapping (no copy); v[a:b:step] with step != 1 is a memoryview.\n"
             "v[a:b] = data needs len(data) == b - a. A read-only view refuses writes with\n"
             "TypeError, and the kernel refuses them too (its memory is mapped read-only).\n"
             "Views are unhashable: their bytes may change under them.");

PyTypeObject ViewType = {
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

/* SPDX-License-Identifier: MIT */
/*
 * _channel.c: shmview.Channel, one handle on a channel of the daemon
 * (shmv_channel_*), and the message framing shmview.Queue puts in it.
 *
 * A Channel is opened through a Client (Client.open_channel) and keeps that
 * Client entered (client_enter) for as long as it is open: the connection
 * it sends on is never freed under it, and Client.close() takes effect when
 * the last channel closes. Every call that may block (loan, send, recv)
 * runs with the GIL released, in slices of at most WAIT_SLICE_NS so that
 * signal handlers (Ctrl-C) run and a close() from another thread is seen.
 * A Channel counts the calls in progress so that close() never frees the
 * handle under them.
 *
 * Fork: a child inherits the parent's handle, which belongs to the
 * parent's connection. The child only unmaps it and opens the channel
 * again by name, on its own connection, on first use.
 *
 * A frame is what Channel.send_parts() writes into one loaned message: a
 * head, a table of parts, then each part at an offset aligned to
 * FRAME_ALIGN. A message starts on a 64-byte boundary of the ring (loans
 * are rounded to 64), so a numpy array rebuilt over a part is aligned as
 * numpy allocates:
 *
 *   u32 magic 'SHQ1' | u32 count | u64 size of the frame
 *   count x (u64 offset, u64 length), offsets from the frame's start
 *   the parts
 *
 * Channel.recv_parts() checks a frame before it trusts it (a sender with
 * write access to the ring may write anything: a bad frame is ValueError,
 * never a read outside the message) and returns the parts as read-only
 * memoryviews over the received View, which stays mapped, and its space in
 * the ring taken, until the last of them is garbage.
 */
#include "_shmview.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define FRAME_MAGIC        0x31514853u /* "SHQ1" in memory, little-endian */
#define FRAME_ALIGN        64
#define FRAME_HEAD         16
#define FRAME_ENTRY        16
#define FRAME_PARTS_MAX    65536
/* Copies from this size up run with the GIL released. */
#define UNBLOCKED_COPY_MIN ((size_t)64 << 10)
/* Blocking calls wait in slices of this long, looking for signals and
 * close() between them. */
#define WAIT_SLICE_NS      ((int64_t)100000000)

typedef struct {
  PyObject_HEAD shmv_channel *ch; /* NULL: not open in this process yet */
  ClientObject *client;           /* the connection it was opened through */
  PyObject *name;                 /* str */
  int flags;                      /* SHMV_SEND | SHMV_RECV */
  pid_t pid;                      /* the process that opened ch */
  unsigned busy;                  /* calls in progress with the GIL released */
  int closed;                     /* close() was called */
  int64_t spin_ns;                /* set_spin(), applied to each handle opened */
  PyObject *weakrefs;
} ChannelObject;

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A timeout argument in seconds (None: no limit, -1) as nanoseconds. */
static int get_timeout_ns(PyObject *o, int64_t *out) {
  if (o == NULL || o == Py_None) {
    *out = -1;
    return 0;
  }
  double s = PyFloat_AsDouble(o);
  if (s == -1.0 && PyErr_Occurred())
    return -1;
  if (isnan(s) || s < 0) {
    PyErr_SetString(PyExc_ValueError, "timeout must be a number of seconds >= 0 or None");
    return -1;
  }
  *out = s * 1e9 >= 4.6e18 ? INT64_MAX / 2 : (int64_t)(s * 1e9);
  return 0;
}

static void channel_forget(ChannelObject *self) {
  /* The parent's handle, on the parent's connection: in a child the
   * library only unmaps it (messages received before the fork keep their
   * mapping until released), and the parent's participant is untouched. */
  shmv_channel_close(self->ch);
  self->ch = NULL;
  self->busy = 0; /* threads do not survive fork */
}

/* The handle to use now (opened again in a forked child), or NULL with an
 * exception; pair with channel_leave(). */
static shmv_channel *channel_enter(ChannelObject *self) {
  if (self->closed) {
    PyErr_SetString(PyExc_ValueError, "operation on a closed shmview.Channel");
    return NULL;
  }
  if (self->ch != NULL && self->pid != current_pid())
    channel_forget(self);
  if (self->ch == NULL) {
    const char *name = PyUnicode_AsUTF8(self->name);
    if (name == NULL)
      return NULL;
    shmv_client *c = client_enter(self->client); /* held while open */
    if (c == NULL)
      return NULL;
    shmv_channel *ch = NULL;
    int rc;
    UNBLOCKED(rc = shmv_channel_open(c, name, self->flags, &ch));
    if (rc < 0) {
      raise_rc(c, rc, name);
      client_leave(self->client);
      return NULL;
    }
    if (self->spin_ns > 0)
      shmv_channel_set_spin(ch, self->spin_ns);
    self->ch = ch;
    self->pid = current_pid();
  }
  self->busy++;
  return self->ch;
}

static void channel_drop(ChannelObject *self) {
  shmv_channel *ch = self->ch;
  self->ch = NULL;
  if (ch == NULL)
    return;
  if (self->pid != current_pid()) {
    channel_forget(self);
    return;
  }
  UNBLOCKED(shmv_channel_close(ch));
  client_leave(self->client);
}

static void channel_leave(ChannelObject *self) {
  if (--self->busy == 0 && self->closed)
    channel_drop(self);
}

/* Client.open_channel(name, *, send=True, recv=True) */
PyObject *channel_open(ClientObject *client, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "name", "send", "recv", NULL };
  PyObject *name_obj;
  int send = 1, recv = 1;
  const char *name;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "U|$pp:open_channel", kwlist, &name_obj, &send, &recv))
    return NULL;
  if (check_name(name_obj, &name) < 0)
    return NULL;
  if (!send && !recv) {
    PyErr_SetString(PyExc_ValueError, "a channel is opened to send, to receive or both");
    return NULL;
  }
  ChannelObject *self = PyObject_New(ChannelObject, &ChannelType);
  if (self == NULL)
    return NULL;
  self->ch = NULL;
  self->client = (ClientObject *)Py_NewRef(client);
  self->name = Py_NewRef(name_obj);
  self->flags = (send ? SHMV_SEND : 0) | (recv ? SHMV_RECV : 0);
  self->pid = 0;
  self->busy = 0;
  self->closed = 0;
  self->spin_ns = 0;
  self->weakrefs = NULL;
  if (channel_enter(self) == NULL) { /* open now: errors show here */
    Py_DECREF(self);
    return NULL;
  }
  channel_leave(self);
  return (PyObject *)self;
}

/* Client.create_channel(name, capacity, mode=0o600) */
PyObject *channel_create(ClientObject *client, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "name", "capacity", "mode", NULL };
  PyObject *name_obj, *cap_obj;
  unsigned int mode = 0600;
  const char *name;
  size_t capacity;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "UO|I:create_channel", kwlist, &name_obj, &cap_obj,
                                   &mode))
    return NULL;
  if (check_name(name_obj, &name) < 0 || get_size(cap_obj, &capacity, "capacity") < 0 ||
      check_mode(mode) < 0)
    return NULL;
  shmv_client *c = client_enter(client);
  if (c == NULL)
    return NULL;
  int rc;
  UNBLOCKED(rc = shmv_channel_create(c, name, capacity, mode, 0));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : Py_NewRef(Py_None);
  client_leave(client);
  return res;
}

static void Channel_dealloc(ChannelObject *self) {
  if (self->weakrefs != NULL)
    PyObject_ClearWeakRefs((PyObject *)self);
  channel_drop(self); /* busy is 0: no call is in progress on a dying object */
  Py_XDECREF(self->client);
  Py_XDECREF(self->name);
  PyObject_Free(self);
}

static PyObject *Channel_close(ChannelObject *self, PyObject *unused) {
  if (self->closed)
    Py_RETURN_NONE;
  self->closed = 1;
  if (self->busy == 0)
    channel_drop(self);
  Py_RETURN_NONE;
}

/* Run op (a blocking call on ch with a timeout) in slices, the GIL
 * released, until it returns anything but -ETIMEDOUT or the deadline
 * passes; -EINTR with an exception set if a signal handler raised or
 * the channel was closed meanwhile. */
#define SLICED(self, timeout_ns, rc, call)                                              \
  do {                                                                                  \
    int64_t deadline_ = (timeout_ns) < 0 ? -1 : mono_ns() + (timeout_ns);               \
    for (;;) {                                                                          \
      int64_t slice = WAIT_SLICE_NS;                                                    \
      if (deadline_ >= 0) {                                                             \
        int64_t left_ = deadline_ - mono_ns();                                          \
        slice = left_ <= 0 ? 0 : left_ < slice ? left_ : slice;                         \
      }                                                                                 \
      UNBLOCKED(rc = (call));                                                           \
      if (rc != -ETIMEDOUT || slice == 0 || (deadline_ >= 0 && mono_ns() >= deadline_)) \
        break;                                                                          \
      if (PyErr_CheckSignals() < 0) {                                                   \
        rc = -EINTR;                                                                    \
        break;                                                                          \
      }                                                                                 \
      if ((self)->closed) {                                                             \
        PyErr_SetString(PyExc_ValueError, "shmview.Channel closed while waiting");      \
        rc = -EINTR;                                                                    \
        break;                                                                          \
      }                                                                                 \
    }                                                                                   \
  } while (0)

/* A failure of a call on the channel, which involves no daemon request
 * (the client's last daemon sentence would be stale): the code's sentence. */
static PyObject *channel_error(ChannelObject *self, int rc) {
  if (rc == -EINTR && PyErr_Occurred())
    return NULL;
  return raise_rc(NULL, rc, PyUnicode_AsUTF8(self->name));
}

static PyObject *Channel_loan(ChannelObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "length", "timeout", NULL };
  PyObject *len_obj, *timeout_obj = Py_None;
  size_t length;
  int64_t timeout_ns;
  shmv_view *v = NULL;
  int rc;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:loan", kwlist, &len_obj, &timeout_obj))
    return NULL;
  if (get_size(len_obj, &length, "length") < 0 || get_timeout_ns(timeout_obj, &timeout_ns) < 0)
    return NULL;
  shmv_channel *ch = channel_enter(self);
  if (ch == NULL)
    return NULL;
  SLICED(self, timeout_ns, rc, shmv_channel_loan(ch, length, slice, &v));
  PyObject *res = rc < 0 ? channel_error(self, rc) : view_wrap(&ViewType, v, current_pid());
  channel_leave(self);
  return res;
}

/* Take the handle of a View made by loan() (checked: no buffers of it
 * alive, no wait on it, this process's). NULL with an exception. */
static shmv_view *take_loan(PyObject *obj) {
  if (!PyObject_TypeCheck(obj, &ViewType)) {
    PyErr_Format(PyExc_TypeError, "send_view() takes a View from loan(), not %.100s",
                 Py_TYPE(obj)->tp_name);
    return NULL;
  }
  ViewObject *view = (ViewObject *)obj;
  if (view->v == NULL || view->pid != current_pid()) {
    PyErr_SetString(PyExc_ValueError, "send_view() of a released or inherited View");
    return NULL;
  }
  if (view->exports > 0 || view->waits > 0) {
    PyErr_Format(PyExc_BufferError,
                 "send_view(): the loan has %zd exported buffer%s (release them first: the "
                 "receiver owns the message once it is sent)",
                 view->exports, view->exports == 1 ? "" : "s");
    return NULL;
  }
  shmv_view *v = view->v;
  view->v = NULL;
  view->data = NULL;
  view->len = 0;
  return v;
}

static PyObject *Channel_send_view(ChannelObject *self, PyObject *arg) {
  shmv_channel *ch = channel_enter(self);
  if (ch == NULL)
    return NULL;
  shmv_view *v = take_loan(arg);
  PyObject *res = NULL;
  if (v != NULL) {
    int rc;
    UNBLOCKED(rc = shmv_channel_send_view(ch, v));
    res = rc < 0 ? channel_error(self, rc) : Py_NewRef(Py_None);
  }
  channel_leave(self);
  return res;
}

static PyObject *Channel_send(ChannelObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "data", "timeout", NULL };
  Py_buffer b;
  PyObject *timeout_obj = Py_None;
  int64_t timeout_ns;
  int rc;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|O:send", kwlist, &b, &timeout_obj))
    return NULL;
  if (get_timeout_ns(timeout_obj, &timeout_ns) < 0) {
    PyBuffer_Release(&b);
    return NULL;
  }
  shmv_channel *ch = channel_enter(self);
  if (ch == NULL) {
    PyBuffer_Release(&b);
    return NULL;
  }
  SLICED(self, timeout_ns, rc, shmv_channel_send(ch, b.buf, (size_t)b.len, slice));
  PyObject *res = rc < 0 ? channel_error(self, rc) : Py_NewRef(Py_None);
  channel_leave(self);
  PyBuffer_Release(&b);
  return res;
}

static PyObject *Channel_recv(ChannelObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "timeout", NULL };
  PyObject *timeout_obj = Py_None;
  int64_t timeout_ns;
  shmv_view *v = NULL;
  int rc;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:recv", kwlist, &timeout_obj))
    return NULL;
  if (get_timeout_ns(timeout_obj, &timeout_ns) < 0)
    return NULL;
  shmv_channel *ch = channel_enter(self);
  if (ch == NULL)
    return NULL;
  SLICED(self, timeout_ns, rc, shmv_channel_recv(ch, slice, &v));
  PyObject *res = rc < 0 ? channel_error(self, rc) : view_wrap(&ViewType, v, current_pid());
  channel_leave(self);
  return res;
}

/* ---- frames --------------------------------------------------------------- */

/* Write the frame of the n parts at base (room: the size send_parts
 * asked for); returns its size, or 0 with an exception. The contiguous
 * parts are copied with the GIL released when it pays. */
static size_t frame_write(char *base, Py_buffer *bufs, Py_ssize_t n) {
  size_t at = FRAME_HEAD + (size_t)n * FRAME_ENTRY, total = 0;
  uint32_t head[2] = { FRAME_MAGIC, (uint32_t)n };
  memcpy(base, head, sizeof head);
  for (Py_ssize_t i = 0; i < n; i++) {
    at = (at + FRAME_ALIGN - 1) / FRAME_ALIGN * FRAME_ALIGN;
    uint64_t entry[2] = { at, (uint64_t)bufs[i].len };
    memcpy(base + FRAME_HEAD + (size_t)i * FRAME_ENTRY, entry, sizeof entry);
    if (!PyBuffer_IsContiguous(&bufs[i], 'A') &&
        PyBuffer_ToContiguous(base + at, &bufs[i], bufs[i].len, 'C') < 0)
      return 0;
    at += (size_t)bufs[i].len;
    total += (size_t)bufs[i].len;
  }
  uint64_t frame_size = at;
  memcpy(base + 8, &frame_size, sizeof frame_size);
#define COPY_PARTS                                                         \
  for (Py_ssize_t i = 0; i < n; i++) {                                     \
    uint64_t off;                                                          \
    memcpy(&off, base + FRAME_HEAD + (size_t)i * FRAME_ENTRY, sizeof off); \
    if (bufs[i].len > 0 && PyBuffer_IsContiguous(&bufs[i], 'A'))           \
      memcpy(base + off, bufs[i].buf, (size_t)bufs[i].len);                \
  }
  if (total >= UNBLOCKED_COPY_MIN) {
    UNBLOCKED(COPY_PARTS);
  } else {
    COPY_PARTS;
  }
#undef COPY_PARTS
  return at;
}

/* A frame too big for the ring: written to the heap, then sent by
 * shmv_channel_send, which spills it into a segment of its own (one more
 * copy than a loan; at that size the round trip costs more). */
static int send_spilled(ChannelObject *self, shmv_channel *ch, Py_buffer *bufs, Py_ssize_t n,
                        size_t size, int64_t timeout_ns) {
  char *heap = PyMem_RawMalloc(size);
  int rc;
  if (heap == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  size_t len = frame_write(heap, bufs, n);
  if (len == 0) {
    PyMem_RawFree(heap);
    return -1;
  }
  SLICED(self, timeout_ns, rc, shmv_channel_send(ch, heap, len, slice));
  PyMem_RawFree(heap);
  if (rc < 0) {
    channel_error(self, rc);
    return -1;
  }
  return 0;
}

/* send_parts(parts, timeout=None): one message holding every part (objects
 * with the buffer protocol), framed, copied once from each part into the
 * loaned space. */
static PyObject *Channel_send_parts(ChannelObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "parts", "timeout", NULL };
  PyObject *parts_obj, *timeout_obj = Py_None, *seq = NULL, *res = NULL;
  int64_t timeout_ns;
  Py_buffer *bufs = NULL;
  Py_ssize_t n = 0, got = 0;
  shmv_view *loan = NULL;
  int rc;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:send_parts", kwlist, &parts_obj, &timeout_obj))
    return NULL;
  if (get_timeout_ns(timeout_obj, &timeout_ns) < 0)
    return NULL;
  seq = PySequence_Fast(parts_obj, "parts must be a sequence of bytes-like objects");
  if (seq == NULL)
    return NULL;
  n = PySequence_Fast_GET_SIZE(seq);
  if (n > FRAME_PARTS_MAX) {
    PyErr_Format(PyExc_ValueError, "a message holds at most %d parts", FRAME_PARTS_MAX);
    goto out;
  }
  bufs = PyMem_Calloc(n > 0 ? (size_t)n : 1, sizeof *bufs);
  if (bufs == NULL) {
    PyErr_NoMemory();
    goto out;
  }
  /* Each part goes after the head and table at the next aligned offset. */
  size_t size = FRAME_HEAD + (size_t)n * FRAME_ENTRY;
  for (got = 0; got < n; got++) {
    if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, got), &bufs[got], PyBUF_FULL_RO) < 0)
      goto out;
    size = (size + FRAME_ALIGN - 1) / FRAME_ALIGN * FRAME_ALIGN + (size_t)bufs[got].len;
  }
  shmv_channel *ch = channel_enter(self);
  if (ch == NULL)
    goto out;
  SLICED(self, timeout_ns, rc, shmv_channel_loan(ch, size, slice, &loan));
  if (rc == -EMSGSIZE) {
    if (send_spilled(self, ch, bufs, n, size, timeout_ns) == 0)
      res = Py_NewRef(Py_True);
    goto leave;
  }
  if (rc < 0) {
    channel_error(self, rc);
    goto leave;
  }
  if (frame_write(shmv_view_data(loan), bufs, n) == 0) {
    UNBLOCKED(shmv_view_release(loan)); /* unsent: its space goes back */
    goto leave;
  }
  UNBLOCKED(rc = shmv_channel_send_view(ch, loan)); /* takes the loan, sent or not */
  if (rc < 0) {
    channel_error(self, rc);
    goto leave;
  }
  res = Py_NewRef(Py_False);
leave:
  channel_leave(self);
out:
  for (Py_ssize_t i = 0; i < got; i++)
    PyBuffer_Release(&bufs[i]);
  PyMem_Free(bufs);
  Py_XDECREF(seq);
  return res;
}

/* set_spin(seconds): spin this long on the channel's word before sleeping
 * (shmv_channel_set_spin), kept for the handle a forked child reopens. */
static PyObject *Channel_set_spin(ChannelObject *self, PyObject *arg) {
  int64_t spin_ns;
  if (get_timeout_ns(arg, &spin_ns) < 0)
    return NULL;
  if (spin_ns < 0)
    spin_ns = 0; /* None: never spin */
  shmv_channel *ch = channel_enter(self);
  if (ch == NULL)
    return NULL;
  self->spin_ns = spin_ns;
  shmv_channel_set_spin(ch, spin_ns);
  channel_leave(self);
  Py_RETURN_NONE;
}

static PyObject *Channel_flush(ChannelObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "timeout", NULL };
  PyObject *timeout_obj = Py_None;
  int64_t timeout_ns;
  int rc;

  if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:flush", kwlist, &timeout_obj))
    return NULL;
  if (get_timeout_ns(timeout_obj, &timeout_ns) < 0)
    return NULL;
  shmv_channel *ch = channel_enter(self);
  if (ch == NULL)
    return NULL;
  SLICED(self, timeout_ns, rc, shmv_channel_flush(ch, slice));
  PyObject *res = rc < 0 ? channel_error(self, rc) : Py_NewRef(Py_None);
  channel_leave(self);
  return res;
}

static PyObject *bad_frame(const char *why) {
  PyErr_Format(PyExc_ValueError, "malformed shmview.Queue message: %s", why);
  return NULL;
}

/* The parts of a received frame as read-only memoryviews over view. */
static PyObject *frame_parts(PyObject *view) {
  ViewObject *vo = (ViewObject *)view;
  const char *base = vo->data;
  size_t len = (size_t)vo->len;
  uint32_t head[2];
  uint64_t size;
  if (len < FRAME_HEAD)
    return bad_frame("shorter than its head");
  memcpy(head, base, sizeof head);
  memcpy(&size, base + 8, sizeof size);
  if (head[0] != FRAME_MAGIC)
    return bad_frame("not a frame (magic)");
  if (head[1] > FRAME_PARTS_MAX || size > len || (size_t)head[1] > (len - FRAME_HEAD) / FRAME_ENTRY)
    return bad_frame("table or size beyond the message");
  PyObject *whole = PyMemoryView_FromObject(view); /* read-only: a received View is */
  if (whole == NULL)
    return NULL;
  PyObject *list = PyList_New(head[1]);
  for (uint32_t i = 0; list != NULL && i < head[1]; i++) {
    uint64_t entry[2];
    memcpy(entry, base + FRAME_HEAD + (size_t)i * FRAME_ENTRY, sizeof entry);
    if (entry[0] > size || entry[1] > size - entry[0]) {
      Py_CLEAR(list);
      bad_frame("a part beyond the message");
      break;
    }
    PyObject *lo = PyLong_FromUnsignedLongLong(entry[0]);
    PyObject *hi = PyLong_FromUnsignedLongLong(entry[0] + entry[1]);
    PyObject *slice = lo && hi ? PySlice_New(lo, hi, NULL) : NULL;
    PyObject *part = slice ? PyObject_GetItem(whole, slice) : NULL;
    Py_XDECREF(lo);
    Py_XDECREF(hi);
    Py_XDECREF(slice);
    if (part == NULL) {
      Py_CLEAR(list);
      break;
    }
    PyList_SET_ITEM(list, i, part);
  }
  /* The slices keep the export (and so the View, and the message's space);
   * whole itself goes now. */
  Py_DECREF(whole);
  return list;
}

static PyObject *Channel_recv_parts(ChannelObject *self, PyObject *args, PyObject *kw) {
  PyObject *view = Channel_recv(self, args, kw);
  if (view == NULL)
    return NULL;
  PyObject *parts = frame_parts(view);
  Py_DECREF(view); /* the parts hold it */
  return parts;
}

/* ---- stat ---------------------------------------------------------------- */

static PyTypeObject ChannelInfoType;

static PyStructSequence_Field channel_info_fields[] = {
  { "capacity", "bytes of message space" },
  { "max_message", "the longest message a loan can hold (longer ones spill)" },
  { "depth", "messages sent and not yet received" },
  { "used", "bytes of the ring in use (loaned, queued, received)" },
  { "senders", "participants open to send" },
  { "receivers", "participants open to receive" },
  { NULL, NULL },
};

static PyStructSequence_Desc channel_info_desc = {
  "shmview.ChannelInfo",
  "A channel as its control memory says now (Channel.stat(); no daemon round trip).",
  channel_info_fields,
  6,
};

static PyObject *Channel_stat(ChannelObject *self, PyObject *unused) {
  shmv_channel_info info;
  shmv_channel *ch = channel_enter(self);
  if (ch == NULL)
    return NULL;
  int rc = shmv_channel_stat(ch, &info);
  channel_leave(self);
  if (rc < 0)
    return channel_error(self, rc);
  PyObject *r = PyStructSequence_New(&ChannelInfoType);
  if (r == NULL)
    return NULL;
  uint64_t v[] = { info.capacity, info.max_message, info.depth,
                   info.used,     info.senders,     info.receivers };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    PyObject *o = PyLong_FromUnsignedLongLong(v[i]);
    if (o == NULL) {
      Py_DECREF(r);
      return NULL;
    }
    PyStructSequence_SET_ITEM(r, (Py_ssize_t)i, o);
  }
  return r;
}

int channel_init(PyObject *module) {
  if (PyStructSequence_InitType2(&ChannelInfoType, &channel_info_desc) < 0)
    return -1;
  return PyModule_AddObjectRef(module, "ChannelInfo", (PyObject *)&ChannelInfoType);
}

/* ---- attributes ----------------------------------------------------------- */

static PyObject *Channel_get_name(ChannelObject *self, void *closure) {
  return Py_NewRef(self->name);
}

static PyObject *Channel_get_closed(ChannelObject *self, void *closure) {
  return PyBool_FromLong(self->closed);
}

static PyObject *Channel_get_client(ChannelObject *self, void *closure) {
  return Py_NewRef(self->client);
}

static PyObject *Channel_repr(ChannelObject *self) {
  return PyUnicode_FromFormat(
      "<shmview.Channel %R%s%s%s>", self->name, self->flags & SHMV_SEND ? " send" : "",
      self->flags & SHMV_RECV ? " recv" : "", self->closed ? ", closed" : "");
}

static PyObject *Channel_enter(ChannelObject *self, PyObject *unused) {
  if (self->closed) {
    PyErr_SetString(PyExc_ValueError, "operation on a closed shmview.Channel");
    return NULL;
  }
  return Py_NewRef(self);
}

static PyObject *Channel_exit(ChannelObject *self, PyObject *args) {
  return Channel_close(self, NULL);
}

/* ---- a counting semaphore on a 32-bit word of a View ----------------------
 * shmview.Queue(maxsize) counts free places across processes in a word of
 * a small segment: wait takes one (compare-and-swap, sleeping on the futex
 * while the word is 0), post gives one back and wakes a sleeper. */

static uint32_t *sem_word(PyObject *view_obj, PyObject *offset_obj, int writable) {
  if (!PyObject_TypeCheck(view_obj, &ViewType)) {
    PyErr_SetString(PyExc_TypeError, "a shmview.View");
    return NULL;
  }
  ViewObject *v = (ViewObject *)view_obj;
  size_t off;
  if (get_size(offset_obj, &off, "offset") < 0)
    return NULL;
  if (v->v == NULL || (writable && v->readonly) || v->len < 4 || off > (size_t)v->len - 4 ||
      ((uintptr_t)v->data + off) % 4 != 0) {
    PyErr_SetString(PyExc_ValueError, "not an aligned word of a writable, open View");
    return NULL;
  }
  return (uint32_t *)(v->data + off);
}

/* _sem_wait(view, offset, timeout) -> bool: took one (False: timed out). */
static PyObject *mod_sem_wait(PyObject *mod, PyObject *args) {
  PyObject *view_obj, *offset_obj, *timeout_obj;
  int64_t timeout_ns;
  if (!PyArg_ParseTuple(args, "OOO:_sem_wait", &view_obj, &offset_obj, &timeout_obj) ||
      get_timeout_ns(timeout_obj, &timeout_ns) < 0)
    return NULL;
  uint32_t *w = sem_word(view_obj, offset_obj, 1);
  if (w == NULL)
    return NULL;
  ViewObject *v = (ViewObject *)view_obj;
  size_t off = (size_t)((char *)w - v->data);
  int64_t deadline = timeout_ns < 0 ? -1 : mono_ns() + timeout_ns;
  v->waits++; /* release() refuses to unmap the word meanwhile */
  for (;;) {
    uint32_t cur = __atomic_load_n(w, __ATOMIC_ACQUIRE);
    while (cur > 0) {
      if (__atomic_compare_exchange_n(w, &cur, cur - 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        v->waits--;
        Py_RETURN_TRUE;
      }
    }
    int64_t slice = WAIT_SLICE_NS;
    if (deadline >= 0) {
      int64_t left = deadline - mono_ns();
      if (left <= 0)
        break;
      slice = left < slice ? left : slice;
    }
    int rc;
    UNBLOCKED(rc = shmv_view_wait(v->v, off, 0, slice));
    if (rc < 0 && rc != -ETIMEDOUT) {
      v->waits--;
      return raise_rc(NULL, rc, NULL);
    }
    if (PyErr_CheckSignals() < 0) {
      v->waits--;
      return NULL;
    }
  }
  v->waits--;
  Py_RETURN_FALSE;
}

/* _sem_post(view, offset) -> the value before. */
static PyObject *mod_sem_post(PyObject *mod, PyObject *args) {
  PyObject *view_obj, *offset_obj;
  if (!PyArg_ParseTuple(args, "OO:_sem_post", &view_obj, &offset_obj))
    return NULL;
  uint32_t *w = sem_word(view_obj, offset_obj, 1);
  if (w == NULL)
    return NULL;
  ViewObject *v = (ViewObject *)view_obj;
  uint32_t old = __atomic_fetch_add(w, 1, __ATOMIC_ACQ_REL);
  shmv_view_wake(v->v, (size_t)((char *)w - v->data), 1);
  return PyLong_FromUnsignedLong(old);
}

PyMethodDef channel_functions[] = {
  { "_sem_wait", (PyCFunction)mod_sem_wait, METH_VARARGS,
    "_sem_wait(view, offset, timeout)\n--\n\nTake one from the counting semaphore in the "
    "word at offset (None: wait as long as it takes); False on timeout." },
  { "_sem_post", (PyCFunction)mod_sem_post, METH_VARARGS,
    "_sem_post(view, offset)\n--\n\nGive one back to the semaphore and wake a waiter." },
  { NULL, NULL, 0, NULL },
};

/* ---- Channel type --------------------------------------------------------- */

static PyMethodDef Channel_methods[] = {
  { "loan", (PyCFunction)(void (*)(void))Channel_loan, METH_VARARGS | METH_KEYWORDS,
    "loan(length, timeout=None)\n--\n\n"
    "A writable View of length bytes of message space (shmv_channel_loan): fill it, then\n"
    "send_view() it. Waits while the ring is full, up to timeout seconds (None: no\n"
    "limit), then TimeoutError. A message bigger than the ring travels as a segment of\n"
    "its own." },
  { "send_view", (PyCFunction)Channel_send_view, METH_O,
    "send_view(view)\n--\n\nSend a View made by loan(); the View is released (the message\n"
    "is the receiver's now). BufferError while buffers of it (memoryviews, arrays) live." },
  { "send", (PyCFunction)(void (*)(void))Channel_send, METH_VARARGS | METH_KEYWORDS,
    "send(data, timeout=None)\n--\n\nSend a copy of data (a bytes-like object) as one "
    "message." },
  { "recv", (PyCFunction)(void (*)(void))Channel_recv, METH_VARARGS | METH_KEYWORDS,
    "recv(timeout=None)\n--\n\n"
    "The next message, as a read-only View of it in place; its space is freed when the\n"
    "View is released (or garbage). TimeoutError after timeout seconds (None: no limit),\n"
    "BrokenPipeError once every sender has closed and the channel is empty." },
  { "send_parts", (PyCFunction)(void (*)(void))Channel_send_parts, METH_VARARGS | METH_KEYWORDS,
    "send_parts(parts, timeout=None)\n--\n\n"
    "Send bytes-like objects as one framed message, each copied once into the loaned\n"
    "space at a 64-byte aligned offset (what shmview.Queue sends). True if it was too\n"
    "big for the ring and spilled into a segment of its own (see flush())." },
  { "recv_parts", (PyCFunction)(void (*)(void))Channel_recv_parts, METH_VARARGS | METH_KEYWORDS,
    "recv_parts(timeout=None)\n--\n\n"
    "Receive a message sent by send_parts(): its parts as read-only memoryviews over the\n"
    "message in place, whose space is freed when the last of them is garbage." },
  { "set_spin", (PyCFunction)Channel_set_spin, METH_O,
    "set_spin(seconds)\n--\n\n"
    "Spin up to seconds on the channel's word before sleeping when recv finds it empty or a\n"
    "loan finds it full (never with one CPU online); 0 or None: never spin." },
  { "flush", (PyCFunction)(void (*)(void))Channel_flush, METH_VARARGS | METH_KEYWORDS,
    "flush(timeout=None)\n--\n\n"
    "Wait until every message this handle spilled into a segment of its own (one bigger\n"
    "than the ring) has been opened by a receiver: until then it needs its sender, and\n"
    "close() loses it. TimeoutError after timeout seconds (None: no limit)." },
  { "stat", (PyCFunction)Channel_stat, METH_NOARGS,
    "stat()\n--\n\nThe channel's ChannelInfo (capacity, depth, senders...), read from its\n"
    "control memory." },
  { "close", (PyCFunction)Channel_close, METH_NOARGS,
    "close()\n--\n\nClose this handle (a waiting call in another thread returns with\n"
    "ValueError). Loans and received messages stay valid until released." },
  { "__enter__", (PyCFunction)Channel_enter, METH_NOARGS, NULL },
  { "__exit__", (PyCFunction)Channel_exit, METH_VARARGS, NULL },
  { NULL, NULL, 0, NULL },
};

static PyGetSetDef Channel_getset[] = {
  { "name", (getter)Channel_get_name, NULL, "The channel's name.", NULL },
  { "closed", (getter)Channel_get_closed, NULL, "True once close() was called.", NULL },
  { "client", (getter)Channel_get_client, NULL, "The Client it was opened through.", NULL },
  { NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject ChannelType = {
  PyVarObject_HEAD_INIT(NULL, 0).tp_name = "shmview.Channel",
  .tp_basicsize = sizeof(ChannelObject),
  .tp_dealloc = (destructor)Channel_dealloc,
  .tp_repr = (reprfunc)Channel_repr,
  .tp_flags = Py_TPFLAGS_DEFAULT,
  .tp_doc = "A handle on a channel of shmviewd (a queue of messages in shared memory);\n"
            "made by Client.open_channel(). Safe to share between threads; a forked child\n"
            "opens the channel again on first use.",
  .tp_weaklistoffset = offsetof(ChannelObject, weakrefs),
  .tp_methods = Channel_methods,
  .tp_getset = Channel_getset,
};

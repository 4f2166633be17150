/* SPDX-License-Identifier: MIT */
/*
 * _client.c: shmview.Client, one connection to shmviewd (shmv_client), and
 * the module's default client. Every method that asks the daemon runs with
 * the GIL released between client_enter() and client_leave(), which count
 * the calls in progress so that close() from another thread never frees a
 * connection under them. In a forked child the parent's connection is left
 * to the parent and a new one is made on first use.
 */
#include "_shmview.h"

#include <errno.h>

static int client_connect(ClientObject *self) {
  const char *path = NULL;
  shmv_client *c = NULL;
  int rc;

  if (self->path != Py_None) {
    path = PyUnicode_AsUTF8(self->path);
    if (path == NULL)
      return -1;
  }
  UNBLOCKED(rc = shmv_connect_with(path, &self->opts, &c));
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
shmv_client *client_enter(ClientObject *self) {
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

void client_leave(ClientObject *self) {
  if (--self->busy == 0 && self->closed && self->c != NULL) {
    shmv_client *c = self->c;
    self->c = NULL;
    UNBLOCKED(shmv_disconnect(c));
  }
}

/* A Client connected now to path (None: the default socket) with opts. */
PyObject *client_new(PyObject *path, const shmv_connect_options *opts) {
  ClientObject *self = PyObject_New(ClientObject, &ClientType);
  if (self == NULL)
    return NULL;
  self->opts = *opts;
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
int do_create_view(shmv_client *c, const char *name, size_t size, unsigned mode, int ephemeral,
                   int prefault, shmv_view **out) {
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

/* A request on one named segment that answers nothing (unlink, freeze). */
static PyObject *call_named(ClientObject *self, PyObject *arg,
                            int (*op)(shmv_client *, const char *)) {
  const char *name;
  int rc;
  shmv_client *c = enter_named(self, arg, &name);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = op(c, name));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : Py_NewRef(Py_None);
  client_leave(self);
  return res;
}

/* unlink(name), freeze(name), resize(name, size): one request each. */
static PyObject *Client_unlink(ClientObject *self, PyObject *arg) {
  return call_named(self, arg, shmv_unlink);
}

static PyObject *Client_freeze(ClientObject *self, PyObject *arg) {
  return call_named(self, arg, shmv_freeze);
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

/* chmod(name, mode): as os.chmod, the owner or root; mode at most 0o777. */
static PyObject *Client_chmod(ClientObject *self, PyObject *args) {
  PyObject *name_obj;
  unsigned int mode;
  const char *name;
  int rc;
  if (!PyArg_ParseTuple(args, "UI:chmod", &name_obj, &mode))
    return NULL;
  if (check_name(name_obj, &name) < 0 || check_mode(mode) < 0)
    return NULL;
  shmv_client *c = client_enter(self);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = shmv_chmod(c, name, mode));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : Py_NewRef(Py_None);
  client_leave(self);
  return res;
}

/* A uid or gid argument: -1 (unchanged, as os.chown) or 0..2**32-2. */
static int get_id(PyObject *o, uint32_t *out, const char *what) {
  long long v = PyLong_AsLongLong(o);
  if (v == -1 && PyErr_Occurred())
    return -1;
  if (v < -1 || v >= (long long)UINT32_MAX) {
    PyErr_Format(PyExc_OverflowError, "%s must be -1 or between 0 and %u", what,
                 (unsigned)UINT32_MAX - 1);
    return -1;
  }
  *out = v == -1 ? UINT32_MAX : (uint32_t)v;
  return 0;
}

/* chown(name, uid=-1, gid=-1): as os.chown; -1 leaves a field as it is. */
static PyObject *Client_chown(ClientObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "name", "uid", "gid", NULL };
  PyObject *name_obj, *uid_obj = NULL, *gid_obj = NULL;
  uint32_t uid = UINT32_MAX, gid = UINT32_MAX;
  const char *name;
  int rc;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "U|O!O!:chown", kwlist, &name_obj, &PyLong_Type,
                                   &uid_obj, &PyLong_Type, &gid_obj))
    return NULL;
  if (check_name(name_obj, &name) < 0 || (uid_obj != NULL && get_id(uid_obj, &uid, "uid") < 0) ||
      (gid_obj != NULL && get_id(gid_obj, &gid, "gid") < 0))
    return NULL;
  shmv_client *c = client_enter(self);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = shmv_chown(c, name, (uid_t)uid, (gid_t)gid));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : Py_NewRef(Py_None);
  client_leave(self);
  return res;
}

static PyObject *Client_stat(ClientObject *self, PyObject *arg) {
  size_t size = record_size(SHMV_RECORD_SEGMENT);
  void *info = PyMem_Malloc(size);
  const char *name;
  int rc;
  if (info == NULL)
    return PyErr_NoMemory();
  shmv_client *c = enter_named(self, arg, &name);
  if (c == NULL) {
    PyMem_Free(info);
    return NULL;
  }
  UNBLOCKED(rc = shmv_stat_sized(c, name, info, size));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : record_new(SHMV_RECORD_SEGMENT, info);
  client_leave(self);
  PyMem_Free(info);
  return res;
}

static PyObject *Client_list(ClientObject *self, PyObject *unused) {
  shmv_segment_info *list = NULL;
  size_t count = 0;
  int rc;
  shmv_client *c = client_enter(self);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = shmv_list_sized(c, &list, &count, record_size(SHMV_RECORD_SEGMENT)));
  PyObject *res = rc < 0 ? raise_rc(c, rc, NULL) : record_list(SHMV_RECORD_SEGMENT, list, count);
  shmv_list_free(list);
  client_leave(self);
  return res;
}

static PyObject *Client_holders(ClientObject *self, PyObject *arg) {
  shmv_holder_info *list = NULL;
  size_t count = 0;
  const char *name;
  int rc;
  shmv_client *c = enter_named(self, arg, &name);
  if (c == NULL)
    return NULL;
  UNBLOCKED(rc = shmv_holders_sized(c, name, &list, &count, record_size(SHMV_RECORD_HOLDER)));
  PyObject *res = rc < 0 ? raise_rc(c, rc, name) : record_list(SHMV_RECORD_HOLDER, list, count);
  shmv_holders_free(list);
  client_leave(self);
  return res;
}

static PyObject *Client_status(ClientObject *self, PyObject *unused) {
  size_t size = record_size(SHMV_RECORD_STATUS);
  void *st = PyMem_Malloc(size);
  int rc;
  if (st == NULL)
    return PyErr_NoMemory();
  shmv_client *c = client_enter(self);
  if (c == NULL) {
    PyMem_Free(st);
    return NULL;
  }
  UNBLOCKED(rc = shmv_status_sized(c, st, size));
  PyObject *res = rc < 0 ? raise_rc(c, rc, NULL) : record_new(SHMV_RECORD_STATUS, st);
  client_leave(self);
  PyMem_Free(st);
  return res;
}

/* ---- the module's default client ----------------------------------------- */

static PyObject *default_client; /* connect(None), made on first use */

PyObject *get_default_client(void) {
  if (default_client != NULL && ((ClientObject *)default_client)->closed)
    Py_CLEAR(default_client);
  if (default_client == NULL) {
    shmv_connect_options opts = SHMV_CONNECT_OPTIONS_INIT;
    default_client = client_new(Py_None, &opts);
  }
  return default_client; /* borrowed */
}

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
  { "freeze", (PyCFunction)Client_freeze, METH_O,
    "freeze(name)\n--\n\nMake a segment immutable, as bytes beside bytearray: from now on\n"
    "writable views and resize() are refused (OSError EROFS) while read-only views work as\n"
    "before. The flag survives daemon restarts and shows as SegmentInfo.frozen. BusyError\n"
    "while a writable view of it is open, PermissionError unless the caller owns it or is\n"
    "root. Freezing a frozen segment succeeds; there is no way back." },
  { "chmod", (PyCFunction)Client_chmod, METH_VARARGS,
    "chmod(name, mode)\n--\n\nSet a segment's permission bits (at most 0o777), as os.chmod:\n"
    "the owner or root only (PermissionError). Open views stay open; the new mode decides\n"
    "later opens. Allowed on a frozen segment; kept across daemon restarts." },
  { "chown", (PyCFunction)(void (*)(void))Client_chown, METH_VARARGS | METH_KEYWORDS,
    "chown(name, uid=-1, gid=-1)\n--\n\nSet a segment's owner and group, as os.chown (-1 leaves\n"
    "one as it is). Only root gives a segment to another uid (OSError EDQUOT if its quota\n"
    "cannot take it); the owner may set the group to one it is in; else PermissionError." },
  { "create_channel", (PyCFunction)(void (*)(void))channel_create, METH_VARARGS | METH_KEYWORDS,
    "create_channel(name, capacity, mode=0o600)\n--\n\n"
    "Create a channel, a queue of messages in a ring of capacity bytes of shared memory\n"
    "(the segments NAME and NAME.ctl; mode: who may send and receive, as for segments).\n"
    "unlink(name) removes it. FileExistsError if a name is taken." },
  { "open_channel", (PyCFunction)(void (*)(void))channel_open, METH_VARARGS | METH_KEYWORDS,
    "open_channel(name, *, send=True, recv=True)\n--\n\n"
    "Open a Channel to send, receive or both. The connection stays open while the\n"
    "Channel is (close() of this Client waits for its channels)." },
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

PyTypeObject ClientType = {
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

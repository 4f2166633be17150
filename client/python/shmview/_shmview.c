/* SPDX-License-Identifier: MIT */
/*
 * _shmview.c: the module shmview._shmview, the CPython binding of
 * libshmview (the C half of the Python package shmview;
 * shmview/__init__.py adds SharedMemory on top): its init and functions,
 * this process's pid, the errors and the argument checks every type uses.
 * Three types, each in its own file: a Client is a connection (_client.c), a
 * View a mapped window (_view.c), a Channel a queue of messages
 * (_channel.c); the records are _records.c's.
 *
 * Fork: a child inherits Clients and Views. It may read and write inherited
 * Views (the mapping is inherited), but it never sends anything on the
 * parent's connection: each object remembers the pid that made its
 * connection or mapping, a child leaves those handles alone (they die with
 * the child), and an inherited Client opens its own connection on first use.
 *
 * The GIL is released around every call that may wait on the daemon
 * (connect, create, open, unlink, resize, freeze, stat, list, holders, status,
 * release, disconnect) and around View.wait(). A Client counts the calls in progress
 * so that close() from another thread never frees a connection under them;
 * a View counts its waits so that release() never unmaps a word a thread
 * sleeps on.
 */
#include "_shmview.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

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

pid_t current_pid(void) {
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
PyObject *raise_rc(shmv_client *c, int rc, const char *name) {
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

/* ---- arguments ----------------------------------------------------------- */

int check_name(PyObject *name_obj, const char **out) {
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
int check_mode(unsigned mode) {
  if (mode > 0777) {
    PyErr_Format(PyExc_ValueError, "mode %#o has bits other than permissions", mode);
    return -1;
  }
  return 0;
}

/* o as a Python int (a new reference), or NULL with TypeError naming what. */
PyObject *as_int(PyObject *o, const char *what) {
  if (!PyIndex_Check(o)) {
    PyErr_Format(PyExc_TypeError, "%s must be an integer, not %.100s", what, Py_TYPE(o)->tp_name);
    return NULL;
  }
  return PyNumber_Index(o);
}

int get_size(PyObject *o, size_t *out, const char *what) {
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

/* ---- module -------------------------------------------------------------- */

static PyObject *mod_default_client(PyObject *mod, PyObject *unused) {
  PyObject *c = get_default_client();
  Py_XINCREF(c);
  return c;
}

/* An option of connect(): None leaves *out (the library's default), else
 * an int in [0, max] (what names it in the ValueError). */
static int get_option(PyObject *o, long long max, const char *what, const char *range,
                      int64_t *out) {
  if (o == Py_None)
    return 0;
  PyObject *n = as_int(o, what);
  if (n == NULL)
    return -1;
  int overflow;
  long long v = PyLong_AsLongLongAndOverflow(n, &overflow);
  Py_DECREF(n);
  if (v == -1 && PyErr_Occurred())
    return -1;
  if (overflow != 0 || v < 0 || v > max) {
    PyErr_Format(PyExc_ValueError, "%s must be %s (or None: the default)", what, range);
    return -1;
  }
  *out = v;
  return 0;
}

static PyObject *mod_connect(PyObject *mod, PyObject *args, PyObject *kw) {
  static char *kwlist[] = { "socket_path", "reconnect_ms", "map_cache", "trusted_uid", NULL };
  PyObject *path = Py_None, *reconnect_obj = Py_None, *map_cache_obj = Py_None,
           *trusted_obj = Py_None;
  shmv_connect_options opts = SHMV_CONNECT_OPTIONS_INIT;
  int64_t map_cache = opts.map_cache;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$OOO:connect", kwlist, &path, &reconnect_obj,
                                   &map_cache_obj, &trusted_obj))
    return NULL;
  if (get_option(reconnect_obj, LLONG_MAX, "reconnect_ms", ">= 0", &opts.reconnect_ms) < 0 ||
      get_option(map_cache_obj, SHMV_MAP_CACHE_MAX, "map_cache",
                 "in 0.." Py_STRINGIFY(SHMV_MAP_CACHE_MAX), &map_cache) < 0 ||
      get_option(trusted_obj, (long long)(uid_t)-1 - 1, "trusted_uid", "a uid, >= 0",
                 &opts.trusted_uid) < 0)
    return NULL;
  opts.map_cache = (int)map_cache;
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
  PyObject *c = client_new(path, &opts);
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

static PyObject *mod_library_version(PyObject *mod, PyObject *unused) {
  return PyUnicode_FromString(shmv_version());
}

static PyMethodDef module_methods[] = {
  { "connect", (PyCFunction)(void (*)(void))mod_connect, METH_VARARGS | METH_KEYWORDS,
    "connect(socket_path=None, *, reconnect_ms=None, map_cache=None, trusted_uid=None)\n--\n\n"
    "Connect to shmviewd. socket_path None resolves it as libshmview does: $SHMVIEW_SOCKET,\n"
    "else /run/shmview/shmview.sock for root, else $XDG_RUNTIME_DIR/shmview.sock, else\n"
    "/tmp/shmview-$UID/shmview.sock. When the daemon goes away, a call waits up to\n"
    "reconnect_ms for it to come back (None: 5000, or $SHMVIEW_RECONNECT_MS, which\n"
    "overrides it; 0: not at all), then raises ConnectionRefusedError.\n\n"
    "map_cache: how many released read-only mappings to keep for the next view of the\n"
    "same pages (None: 4, or $SHMVIEW_MAP_CACHE; 0: none; at most MAP_CACHE_MAX).\n"
    "trusted_uid: a uid trusted to run the daemon besides root, this process's uid and the\n"
    "owner of a private socket directory (docs/security.md); another daemon is refused\n"
    "with PermissionError before anything is sent." },
  { "default_client", (PyCFunction)mod_default_client, METH_NOARGS,
    "default_client()\n--\n\n"
    "The module's Client on the default socket (what View() and SharedMemory use), made on\n"
    "first use; a forked child gets its own connection." },
  { "default_socket_path", (PyCFunction)mod_default_socket_path, METH_NOARGS,
    "default_socket_path()\n--\n\nThe socket connect(None) uses." },
  { "library_version", (PyCFunction)mod_library_version, METH_NOARGS,
    "library_version()\n--\n\nThe version of the libshmview loaded now (shmv_version()), which\n"
    "may be newer than LIBRARY_VERSION, the one the extension was built with." },
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
  PyObject *m = NULL;

  if (PyType_Ready(&ClientType) < 0 || PyType_Ready(&ViewType) < 0 ||
      PyType_Ready(&ChannelType) < 0)
    return NULL;
  if (!self_pid_tracked) {
    self_pid = getpid();
    self_pid_tracked = pthread_atfork(NULL, NULL, self_pid_after_fork) == 0;
  }
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
      PyModule_AddObjectRef(m, "Channel", (PyObject *)&ChannelType) < 0 ||
      PyModule_AddFunctions(m, channel_functions) < 0 || channel_init(m) < 0 ||
      records_init(m) < 0 || PyModule_AddObjectRef(m, "BusyError", BusyError) < 0 ||
      PyModule_AddIntConstant(m, "NAME_MAX", SHMV_NAME_MAX) < 0 ||
      PyModule_AddIntConstant(m, "WAKE_ALL", SHMV_WAKE_ALL) < 0 ||
      PyModule_AddIntConstant(m, "MAP_CACHE_MAX", SHMV_MAP_CACHE_MAX) < 0 ||
      PyModule_AddStringConstant(m, "SPIN_ADAPTIVE", "adaptive") < 0 ||
      PyModule_AddStringConstant(m, "LIBRARY_VERSION", SHMV_VERSION_STRING) < 0) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}

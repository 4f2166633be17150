/* SPDX-License-Identifier: MIT */
/*
 * _shmview.h: what the files of the extension shmview._shmview share, and
 * nothing else. As client/ is split:
 *   _shmview.c  the module: init, this process's pid, errors, arguments
 *   _client.c   shmview.Client (a connection) and the default client
 *   _view.c     shmview.View (a mapped window): buffer protocol, slices,
 *               View(data), load32/store32/wait/wake
 *   _records.c  SegmentInfo, HolderInfo and Status, built from the
 *               library's description of its records (shmv_record_fields)
 *   _channel.c  shmview.Channel (shmv_channel_*) and the message frames
 *               shmview.Queue sends through it
 * Only PyInit__shmview leaves the shared object: everything declared here
 * is hidden.
 */
#ifndef SHMV_PY_SHMVIEW_H
#define SHMV_PY_SHMVIEW_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>
#include <sys/types.h>

#include <shmview.h>

/* The binding speaks the libshmview it is built with, the one of the same
 * source tree (configure builds both) or an installed one at least as new
 * (setup.py asks pkg-config). A header without SHMV_OWN, the newest of its
 * flags, predates shmv_freeze and the restricted record, one without
 * SHMV_RECORD_SEGMENT has no shmv_record_fields(), which the records are
 * built from, and one without SHMV_SEND no channels: say so here, rather
 * than fail on the first missing name. */
#if !defined(SHMV_OWN) || !defined(SHMV_RECORD_SEGMENT) || !defined(SHMV_SEND)
#error \
    "libshmview is too old for this binding: build it against the libshmview of its own source tree"
#endif

#pragma GCC visibility push(hidden)

/* Run stmt with the GIL released (a statement, so clang-format keeps it
 * readable, unlike Py_BEGIN_ALLOW_THREADS's unbalanced braces). */
#define UNBLOCKED(stmt)                       \
  do {                                        \
    PyThreadState *ts_ = PyEval_SaveThread(); \
    stmt;                                     \
    PyEval_RestoreThread(ts_);                \
  } while (0)

typedef struct {
  PyObject_HEAD shmv_client *c; /* NULL: not connected (closed, or a fresh child) */
  pid_t pid;                    /* the process that owns c */
  PyObject *path;               /* str or None: what connect() was given */
  shmv_connect_options opts;    /* what connect() was given */
  unsigned busy;                /* calls in progress with the GIL released */
  int closed;                   /* close() was called */
  PyObject *weakrefs;
} ClientObject;

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

extern PyTypeObject ClientType, ViewType, ChannelType;

/* _shmview.c */
pid_t current_pid(void);
PyObject *raise_rc(shmv_client *c, int rc, const char *name);
int check_name(PyObject *name_obj, const char **out);
int check_mode(unsigned mode);
PyObject *as_int(PyObject *o, const char *what);
int get_size(PyObject *o, size_t *out, const char *what);

/* _client.c */
PyObject *client_new(PyObject *path, const shmv_connect_options *opts);
shmv_client *client_enter(ClientObject *self);
void client_leave(ClientObject *self);
PyObject *get_default_client(void); /* borrowed; NULL with an exception */
int do_create_view(shmv_client *c, const char *name, size_t size, unsigned mode, int ephemeral,
                   int prefault, shmv_view **out);

/* _view.c */
PyObject *view_wrap(PyTypeObject *type, shmv_view *v, pid_t pid);

/* _channel.c: Client.create_channel and Client.open_channel, and the
 * module's private functions (the Queue's semaphore). */
PyObject *channel_create(ClientObject *client, PyObject *args, PyObject *kw);
PyObject *channel_open(ClientObject *client, PyObject *args, PyObject *kw);
extern PyMethodDef channel_functions[];
int channel_init(PyObject *module); /* adds ChannelInfo */

/* _records.c: the record types (record: SHMV_RECORD_*) made and added to
 * the module, then records from the library's structs, which are
 * record_size() bytes each: the library's size, not this header's, so that
 * a field newer than the header still arrives (new references; NULL with
 * an exception). */
int records_init(PyObject *module);
size_t record_size(int record);
PyObject *record_new(int record, const void *base);
PyObject *record_list(int record, const void *items, size_t count);

#pragma GCC visibility pop

#endif /* SHMV_PY_SHMVIEW_H */

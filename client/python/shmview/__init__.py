# SPDX-License-Identifier: MIT
"""shmview: memoryview-like windows on shared memory, between processes.

shmviewd owns named shared-memory segments; a View is a window on one that a
process maps, and every process with an overlapping view sees the others'
writes at once. A View behaves like a memoryview of a fixed-size bytearray:

    >>> import shmview
    >>> with shmview.connect() as c:
    ...     c.create("frames", 4096)
    ...     v = c.open("frames", writable=True)
    ...     v[0:5] = b"Hello"
    ...     v[:5].tobytes()
    b'Hello'

This module adds, over the C extension (Client, View, Channel, SegmentInfo, HolderInfo,
Status, ChannelInfo, BusyError), SharedMemory and ShareableList: the interface of
multiprocessing.shared_memory backed by shmview, whose leases end the
standard library's lifetime problems (a segment is never unlinked while a
process still maps it, and never leaks when every process dies); and Queue,
SimpleQueue and JoinableQueue (shmview._queues): multiprocessing's queues over
a channel, whose buffers travel without a copy through the pickle.
"""

import errno as _errno
import os as _os
import types as _types
from multiprocessing import shared_memory as _mp_shm

from ._shmview import (
    LIBRARY_VERSION,
    MAP_CACHE_MAX,
    NAME_MAX,
    SPIN_ADAPTIVE,
    WAKE_ALL,
    BusyError,
    Channel,
    ChannelInfo,
    Client,
    HolderInfo,
    SegmentInfo,
    Status,
    View,
    connect,
    default_client,
    default_socket_path,
    library_version,
)
from ._queues import DEFAULT_CAPACITY, JoinableQueue, Queue, SimpleQueue

__all__ = [
    "BusyError",
    "Channel",
    "ChannelInfo",
    "Client",
    "DEFAULT_CAPACITY",
    "JoinableQueue",
    "Queue",
    "SimpleQueue",
    "HolderInfo",
    "SegmentInfo",
    "ShareableList",
    "SharedMemory",
    "Status",
    "View",
    "connect",
    "default_client",
    "default_socket_path",
    "library_version",
    "HAVE_EPHEMERAL",
    "SPIN_ADAPTIVE",
    "WAKE_ALL",
    "HAVE_WAIT",
    "HAVE_OWN",
]

__version__ = LIBRARY_VERSION

#: Always True: the extension is built only against a libshmview that has
#: ephemeral segments (removed by the daemon when their last view anywhere
#: ends), the data plane (View.wait() and wake()) and Client.open(own=True).
#: Kept for code written when they were optional.
HAVE_EPHEMERAL = HAVE_WAIT = HAVE_OWN = True


# Creators' leases on the segments this process created with SharedMemory
# and has not unlinked, by name (see SharedMemory.__init__).
_anchors = {}


class SharedMemory:
    """A shared-memory block: multiprocessing.shared_memory.SharedMemory's
    interface, backed by shmview.

    SharedMemory(name=None, create=False, size=0): with create=True a new
    segment of size bytes (a random name if name is None; FileExistsError if
    taken), else the existing segment name (FileNotFoundError if none).
    ``buf`` is a memoryview of the whole segment; ``close()`` releases it,
    ``unlink()`` removes the name. Instances pickle by name, so they can be
    passed to multiprocessing workers (fork, spawn or forkserver).

    Lifetime, unlike the standard library's: a segment created here is
    ephemeral and this process keeps a lease on it until unlink() or until
    the process ends, however it ends. So the segment is never removed while
    any process still maps it, even after its creator died, and it never
    leaks once every process is gone: there is no resource tracker and no
    "leaked shared_memory" warning.
    """

    # The standard library's open flags: subclasses set O_CREAT without
    # O_EXCL to attach to a segment or create it if missing.
    _flags = _os.O_RDWR
    _name = None
    _view = None
    _buf = None

    def __init__(self, name=None, create=False, size=0, *, client=None):
        if not size >= 0:
            raise ValueError("'size' must be a positive integer")
        if create:
            flags = _os.O_CREAT | _os.O_EXCL | _os.O_RDWR
            if size == 0:
                raise ValueError("'size' must be a positive number different from zero")
        else:
            flags = self._flags
        if name is None and not flags & _os.O_EXCL:
            raise ValueError("'name' can only be None if create=True")
        self._client = client if client is not None else default_client()

        if flags & _os.O_EXCL:
            if name is None:
                while True:
                    # The standard library's names ('/psm_' + hex), so code
                    # and tests that patch _make_filename see the same.
                    name = _mp_shm._make_filename()
                    try:
                        self._create(name.lstrip("/"), size)
                    except FileExistsError:
                        continue
                    break
            else:
                name = "/" + name
                self._create(name.lstrip("/"), size)
        else:
            name = "/" + name
            if flags & _os.O_CREAT:
                try:
                    self._client.stat(name.lstrip("/"))
                except FileNotFoundError:
                    try:
                        self._create(name.lstrip("/"), size)
                    except FileExistsError:
                        pass
        self._name = name
        # What this object created is opened only if it is still its own:
        # names are shared by every user, and one freed in between may
        # have been taken by another.
        own = {"own": True} if self._created else {}
        try:
            view = self._client.open(self.name, writable=True, **own)
        except OSError as e:
            # A daemon too old to check is no worse than before.
            if not own or e.errno != _errno.EOPNOTSUPP:
                raise
            own = {}
            view = self._client.open(self.name, writable=True)
        if self._created:
            # The creator's lease: an empty view (it maps nothing), kept by
            # the module rather than this object, so the segment lives until
            # unlink() or the end of this process, as with the standard
            # library, even if this object is dropped.
            _anchors[self.name] = self._client.open(self.name, 0, 0, **own)
        self._view = view
        self._buf = memoryview(view)
        self._size = len(view)

    _created = False

    def _create(self, segment, size):
        self._client.create(segment, size, 0o600, ephemeral=True)
        self._created = True

    def __del__(self):
        try:
            self.close()
        except (OSError, BufferError, ValueError):
            pass

    def __reduce__(self):
        return (self.__class__, (self.name, False, self.size))

    def __repr__(self):
        return f"{self.__class__.__name__}({self.name!r}, size={self.size})"

    @property
    def buf(self):
        "A memoryview of the whole segment."
        return self._buf

    @property
    def name(self):
        "Unique name that identifies the shared memory block."
        return self._name[1:] if self._name and self._name.startswith("/") else self._name

    @property
    def size(self):
        "Size in bytes."
        return self._size

    @property
    def view(self):
        "The shmview.View under buf (None once closed)."
        return self._view

    def close(self):
        """Closes access to the shared memory from this instance but does
        not destroy the shared memory block (see unlink)."""
        if self._buf is not None:
            self._buf.release()
            self._buf = None
        if self._view is not None:
            self._view.release()  # BufferError while slices of buf live
            self._view = None

    def unlink(self):
        """Requests that the underlying shared memory block be destroyed.

        The name goes at once; processes that map the segment keep using
        it, and its memory is freed when the last of them releases it."""
        try:
            self._client.unlink(self.name)
        finally:
            anchor = _anchors.pop(self.name, None)
            if anchor is not None:
                anchor.release()


def _rebind(cls, namespace, name):
    """A copy of cls whose functions see namespace as their globals."""

    def fn(f):
        if isinstance(f, _types.FunctionType):
            g = _types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__, f.__closure__)
            g.__kwdefaults__ = f.__kwdefaults__
            g.__doc__, g.__qualname__ = f.__doc__, f.__qualname__.replace(cls.__name__, name, 1)
            return g
        if isinstance(f, staticmethod):
            return staticmethod(fn(f.__func__))
        if isinstance(f, classmethod):
            return classmethod(fn(f.__func__))
        if isinstance(f, property):
            return property(fn(f.fget), fn(f.fset), fn(f.fdel), f.__doc__)
        return f

    body = {k: fn(v) for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    body["__module__"] = __name__
    body["__qualname__"] = name
    return type(name, cls.__bases__, body)


# The standard library's ShareableList, unchanged but for the SharedMemory it
# allocates with: its methods run with a copy of its module's globals in
# which SharedMemory is this module's.
_shareable_globals = dict(vars(_mp_shm))
_shareable_globals["SharedMemory"] = SharedMemory
ShareableList = _rebind(_mp_shm.ShareableList, _shareable_globals, "ShareableList")
ShareableList.__doc__ = (
    "multiprocessing.shared_memory.ShareableList over shmview.SharedMemory: a\n"
    "fixed-length list of int, float, bool, str, bytes and None in a shared segment.\n\n"
    + (_mp_shm.ShareableList.__doc__ or "")
)
_shareable_globals["ShareableList"] = ShareableList

# SPDX-License-Identifier: MIT
"""shmview.Queue, SimpleQueue and JoinableQueue: multiprocessing's queues
over a channel of shmviewd (Channel, shmv_channel_*).

A bare numpy array (plain dtype, C- or F-contiguous), bytes, bytearray,
memoryview of bytes or View is not pickled: a small head that says what it
is, then its bytes copied once into the ring (the fast path below). Any
other object is pickled with protocol 5; its out-of-band buffers (numpy
arrays, pickle.PickleBuffer, memoryview, View) are not copied into the
pickle but each once, straight from the
object into the message's space in the ring (Channel.send_parts). get()
unpickles over the message in place: the buffers come back as read-only
memoryviews of the ring (a numpy array is read-only and backed by shared
memory), and the message's space is freed when the last of them is
garbage. get(copy=True) copies them out and frees the space at once.

Compared with multiprocessing.Queue (docs/python.md has the whole list):
put() pickles in the caller, so errors show there and the object may change
afterwards; it sends at once when the ring has room and leaves the message
to a feeder thread (multiprocessing's join_thread() and cancel_join_thread()
semantics) only when it is full. A Queue pickles by name, so it may be
passed to Process and Pool workers under every start method, in task
arguments too.
"""

import collections
import copyreg
import io
import itertools
import os
import pickle
import queue as _queue
import secrets
import struct
import sys
import threading
import traceback
import weakref
from multiprocessing import util as _mp_util

from ._shmview import View, _sem_post, _sem_wait, connect, default_client

__all__ = ["Queue", "SimpleQueue", "JoinableQueue", "DEFAULT_CAPACITY"]

#: The ring's size when Queue() is not given one: messages up to about this
#: size travel in place; a bigger one spills into a segment of its own (one
#: daemon round trip and one more copy on the sending side).
DEFAULT_CAPACITY = 16 << 20

# A blocking get() that finds the ring empty spins this long (seconds) on
# the channel's word before it sleeps (Channel.set_spin; never with one CPU
# online): a message that comes within it costs no futex sleep and wake-up
# of the receiver (about 30 us across cores), at the price of up to this
# much CPU per get that waits. $SHMVIEW_QUEUE_SPIN (seconds, 0: never)
# changes it, for the queues opened after.
_SPIN_DEFAULT = 50e-6


def _spin():
    v = os.environ.get("SHMVIEW_QUEUE_SPIN")
    if v:
        try:
            return max(0.0, min(float(v), 0.01))
        except ValueError:
            pass
    return _SPIN_DEFAULT


# The control segment NAME.q of a Queue with a maxsize or a JoinableQueue:
# 32-bit words (Views' load32/store32/wait/wake, and _sem_wait/_sem_post).
_CTL_MAGIC, _CTL_MAXSIZE, _CTL_SLOTS, _CTL_UNFINISHED = 0, 4, 8, 12
_CTL_SIZE = 64
_CTL_VALUE = 0x31515653  # "SVQ1"


# ---- pickling -----------------------------------------------------------


def _rebuild_memoryview(buf, fmt, shape):
    m = memoryview(buf)
    if fmt == "B" and len(shape) == 1:
        return m
    try:
        return m.cast("B").cast(fmt, shape)
    except (TypeError, ValueError):  # a format cast() does not take: the bytes
        return m


def _reduce_memoryview(m):
    data = m if m.c_contiguous else m.tobytes()
    return _rebuild_memoryview, (pickle.PickleBuffer(data), m.format, m.shape)


def _reduce_view(v):
    return _rebuild_memoryview, (pickle.PickleBuffer(v), "B", (len(v),))


def _rebuild_ndarray(buf, dtype, shape, order):
    import numpy  # (a receiver may not have imported it yet)

    return numpy.frombuffer(buf, dtype=dtype).reshape(shape, order=order)


def _reduce_ndarray(a):
    # numpy's own reduction pickles the dtype object (a third of the time
    # of a small put); a plain dtype travels as its string here.
    dt = a.dtype
    if dt.kind not in "biufcSUV" or dt.fields is not None or dt.subdtype is not None or \
            dt.metadata:
        return a.__reduce_ex__(5)  # objects, records, datetimes: numpy's way
    flags = a.flags
    order = "C" if flags.c_contiguous else "F" if flags.f_contiguous else None
    if order is None:
        return a.__reduce_ex__(5)  # not contiguous: numpy copies it in band
    return _rebuild_ndarray, (pickle.PickleBuffer(a), dt.str, a.shape, order)


def _rebuild_tensor(a):
    import torch

    # torch has no read-only tensors, and a write into the ring's read-only
    # mapping would kill the process: a tensor is copied out of the ring
    # (unless get(copy=True) already did).
    return torch.from_numpy(a if a.flags.writeable else a.copy())


def _reduce_tensor(t):
    # torch's own pickling of a tensor goes through torch.save, in band; a
    # plain CPU tensor travels as its numpy array, out of band.
    if t.requires_grad or t.device.type != "cpu" or t.layout is not sys.modules["torch"].strided:
        return t.__reduce_ex__(5)
    try:
        a = t.numpy()
    except (TypeError, RuntimeError):  # a dtype numpy has not (bfloat16...)
        return t.__reduce_ex__(5)
    return _rebuild_tensor, (a,)


class _Pickler(pickle.Pickler):
    # The C pickler serialises bytes and bytearray inside containers itself,
    # before any hook: those stay in band. memoryview and View have no
    # pickling of their own; here they are buffers.
    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[memoryview] = _reduce_memoryview
    dispatch_table[View] = _reduce_view
    numpy_pending = True  # numpy.ndarray's entry, once numpy is imported
    torch_pending = True  # torch.Tensor's, once torch is


# ---- the fast path: a bare array or bytes, without pickle ---------------
#
# A message's first part says what it is: a pickle starts with its PROTO
# opcode (0x80); anything else is a fast head, whose first byte is its kind,
# followed by exactly one part, the object's bytes:
#   b"b" bytes, b"y" bytearray (copied out: they own their memory)
#   b"m" a memoryview of bytes (read-only, over the ring)
#   b"a" + order (b"C"/b"F") + u8 ndim + u8 len(dtype.str) + dtype.str
#        + ndim x i64 shape: a numpy array (read-only, over the ring)

_HEAD_BYTES, _HEAD_BYTEARRAY, _HEAD_MEMORYVIEW = b"b", b"y", b"m"
_KIND_PICKLE = 0x80
_COPIED = b"by"  # kinds rebuilt as a copy
_ndarray = None  # numpy.ndarray, once numpy is imported
_heads = {}  # (dtype, shape, order) -> an array's head, for repeated puts
_arrays = {}  # an array's head -> (dtype, shape, order, nbytes), receiving


def _fast_parts(obj):
    """The parts of obj's fast message, or None (it is pickled)."""
    global _ndarray
    t = type(obj)
    if t is bytes:
        return [_HEAD_BYTES, obj]
    if t is bytearray:
        return [_HEAD_BYTEARRAY, obj]
    if t is memoryview or t is View:
        if t is View or (obj.format == "B" and obj.ndim == 1 and obj.c_contiguous):
            return [_HEAD_MEMORYVIEW, obj]
        return None
    if _ndarray is None:
        np = sys.modules.get("numpy")
        if np is None:
            return None
        _ndarray = np.ndarray
    if t is not _ndarray:
        return None
    dt = obj.dtype
    if dt.kind not in "biufcSUV" or dt.fields is not None or dt.subdtype is not None or \
            dt.metadata or dt.itemsize == 0 or obj.ndim > 64:
        return None  # objects, records, datetimes: pickled, numpy's way
    flags = obj.flags
    order = b"C" if flags.c_contiguous else b"F" if flags.f_contiguous else None
    if order is None:
        return None  # not contiguous: pickled (numpy copies it in band)
    key = (dt, obj.shape, order)  # (plain dtypes that are equal have one str)
    head = _heads.get(key)
    if head is None:
        ds = dt.str.encode()
        head = b"a" + order + bytes((obj.ndim, len(ds))) + ds + \
            struct.pack(f"<{obj.ndim}q", *obj.shape)
        if len(_heads) >= 256:
            _heads.clear()
        _heads[key] = head
    return [head, obj]


def _fast_bad(why):
    return ValueError(f"malformed shmview.Queue message: {why}")


def _array_head(head):
    """(dtype, shape, order, nbytes) of an array's head; ValueError if it
    is not one."""
    if len(head) < 4:
        raise _fast_bad("an array's head is short")
    order, ndim, dl = head[1:2], head[2], head[3]
    if order not in (b"C", b"F") or len(head) != 4 + dl + 8 * ndim:
        raise _fast_bad("an array's head is not one")
    ds = head[4:4 + dl].decode("ascii", "replace")
    import numpy  # (a receiver may not have imported it yet)

    try:
        dt = numpy.dtype(ds)
    except (TypeError, ValueError):
        raise _fast_bad(f"not a dtype: {ds!r}") from None
    if dt.kind not in "biufcSUV" or dt.fields is not None or dt.hasobject or dt.itemsize == 0:
        raise _fast_bad(f"not a plain dtype: {ds!r}")
    shape = struct.unpack_from(f"<{ndim}q", head, 4 + dl)
    count = 1
    for d in shape:
        if d < 0:
            raise _fast_bad("a negative dimension")
        count *= d
    return dt, shape, order.decode(), count * dt.itemsize


def _fast_loads(parts, copy):
    """The object of a fast message (parts[0] is its head); ValueError if
    the head or the parts are not a fast message's."""
    head = parts[0].tobytes()
    if len(parts) != 2:
        raise _fast_bad("a fast message has one part")
    buf = parts[1]
    kind = head[0]
    if kind == 0x61:  # "a"
        a = _arrays.get(head)  # parsed once per dtype, shape and order
        if a is None:
            a = _array_head(head)
            if len(_arrays) >= 256:
                _arrays.clear()
            _arrays[head] = a
        dt, shape, order, nbytes = a
        if nbytes != buf.nbytes:
            raise _fast_bad("the array's size is not its part's")
        a = sys.modules["numpy"].frombuffer(bytearray(buf) if copy else buf, dtype=dt)
        return a if len(shape) == 1 else a.reshape(shape, order=order)
    if kind == 0x62:  # "b"
        return bytes(buf)
    if kind == 0x79:  # "y"
        return bytearray(buf)
    if kind == 0x6D and len(head) == 1:  # "m"
        return memoryview(bytearray(buf)) if copy else buf
    raise _fast_bad(f"unknown kind {head[:1]!r}")


def _dumps(obj):
    """The parts of a message: the pickle, then each out-of-band buffer."""
    fast = _fast_parts(obj)
    if fast is not None:
        return fast
    if _Pickler.numpy_pending and "numpy" in sys.modules:
        _Pickler.dispatch_table[sys.modules["numpy"].ndarray] = _reduce_ndarray
        _Pickler.numpy_pending = False
    if _Pickler.torch_pending and "torch" in sys.modules and \
            hasattr(sys.modules["torch"], "Tensor"):
        _Pickler.dispatch_table[sys.modules["torch"].Tensor] = _reduce_tensor
        _Pickler.torch_pending = False
    buffers = []
    f = io.BytesIO()
    _Pickler(f, protocol=5, buffer_callback=buffers.append).dump(obj)
    return [f.getbuffer(), *buffers]


def _loads(parts, copy):
    head = parts[0]
    if head and head[0] != _KIND_PICKLE:
        try:
            obj = _fast_loads(parts, copy)
        except BaseException:
            _release(parts)
            raise
        if copy or head[0] in _COPIED:
            _release(parts)  # copied out: the space goes back now
        else:
            head.release()  # the object holds its part, and so the space
        return obj
    buffers = parts[1:]
    try:
        if copy:
            buffers = [bytearray(b) for b in buffers]
        return pickle.loads(head, buffers=buffers)
    finally:
        head.release()
        if copy or not buffers:
            for b in parts[1:]:
                b.release()


def _release(parts):
    for p in parts:
        try:
            p.release()
        except BufferError:  # exported still: freed with its last user
            pass


# ---- names and clients --------------------------------------------------

_counter = itertools.count(1)
_clients = {}  # socket path -> Client, for queues unpickled here


def _anon_name():
    return f"q-{os.getpid()}-{next(_counter)}-{secrets.token_hex(6)}"


def _client_for(socket_path):
    if socket_path is None:
        return default_client()
    c = _clients.get(socket_path)
    if c is None or c.closed:
        c = _clients[socket_path] = connect(socket_path)
    return c


def _remove(client, name, ctl, pid):
    """An anonymous queue's end: its creator removes the names (processes
    that have it open keep using it)."""
    if os.getpid() != pid:
        return  # an inherited finalizer, in a forked child
    for n in (ctl, name):
        if n is None:
            continue
        try:
            client.unlink(n)
        except (OSError, ValueError):
            pass  # gone already, or the client is closed at exit


# Every Queue of this process, to reset their threads in a forked child.
_live = weakref.WeakSet()


def _after_fork_in_child():
    for q in list(_live):
        q._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _timeout(block, timeout):
    """A Channel timeout (None: forever) from block and timeout."""
    if not block:
        return 0
    if timeout is None:
        return None
    return max(0.0, timeout)


_SENTINEL = object()


class SimpleQueue:
    """multiprocessing.SimpleQueue over a shmview channel: put() waits
    while the ring is full; get() waits while it is empty."""

    _ctl = None
    _maxsize = 0
    _joinable = False

    def __init__(self, *, capacity=DEFAULT_CAPACITY, name=None, client=None, ctx=None):
        self._create(0, capacity, name, client)

    # -- opening --

    def _create(self, maxsize, capacity, name, client):
        maxsize = max(0, maxsize.__index__())  # <= 0: no bound, as multiprocessing's
        if maxsize >= 2**31:
            raise ValueError("maxsize must be below 2**31")
        client = client if client is not None else default_client()
        anonymous = name is None
        while True:
            qname = _anon_name() if anonymous else name
            ctl = f"{qname}.q" if maxsize or self._joinable else None
            try:
                if ctl is not None:
                    # First the control segment, so that whoever opens the
                    # channel finds it.
                    v = client.create_view(ctl, _CTL_SIZE)
                    v.store32(_CTL_MAXSIZE, maxsize)
                    v.store32(_CTL_SLOTS, maxsize)
                    v.store32(_CTL_MAGIC, _CTL_VALUE)
                    v.release()
                try:
                    client.create_channel(qname, capacity)
                except BaseException:
                    if ctl is not None:
                        client.unlink(ctl)
                    raise
            except FileExistsError:
                if anonymous:
                    continue
                # A named queue that exists: open it as it is.
                self._open(name, client)
                return
            break
        self._open(qname, client)
        if anonymous:
            self._finalizer = weakref.finalize(self, _remove, client, qname, ctl, os.getpid())

    def _open(self, name, client):
        self._name = name
        self._client = client
        self._closed = False
        self._ch = client.open_channel(name)
        self._ch.set_spin(_spin())
        try:
            self._ctl = client.open(f"{name}.q", writable=True)
        except FileNotFoundError:
            if self._joinable:
                self._ch.close()
                raise ValueError(f"{name!r} is a queue but not a JoinableQueue") from None
            self._ctl = None
        if self._ctl is not None:
            if self._ctl.load32(_CTL_MAGIC) != _CTL_VALUE:
                raise ValueError(f"{name}.q is not the control segment of a shmview.Queue")
            self._maxsize = self._ctl.load32(_CTL_MAXSIZE)
        self._reset()
        _live.add(self)

    def _reset(self):
        pass

    def _after_fork(self):
        self._reset()

    @classmethod
    def _reopen(cls, name, socket_path):
        self = cls.__new__(cls)
        self._open(name, _client_for(socket_path))
        return self

    def __reduce__(self):
        # By name: the child opens the channel again (any start method, and
        # in Pool task arguments too).
        self._check_closed()
        return (self.__class__._reopen, (self._name, self._client.socket_path))

    def __repr__(self):
        return f"<shmview.{type(self).__name__} {self._name!r}{' closed' if self._closed else ''}>"

    def _check_closed(self):
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")

    # -- the interface --

    @property
    def name(self):
        "The channel's name (a generated one for an anonymous queue)."
        return self._name

    def put(self, obj):
        """Put obj into the queue, waiting while the ring is full. A message
        bigger than the ring needs its sender until a receiver has it: put
        waits for that, as a pipe's writer waits for its reader."""
        self._check_closed()
        if self._ch.send_parts(_dumps(obj)):
            self._ch.flush()

    def get(self, *, copy=False):
        """Remove and return an item, waiting for one. With copy=False its
        buffers are read-only views of the message in place (see Queue.get)."""
        self._check_closed()
        try:
            parts = self._ch.recv_parts()
        except BrokenPipeError:
            raise EOFError(f"every sender of {self._name!r} has closed") from None
        return _loads(parts, copy)

    def empty(self):
        "True if the queue holds no message now."
        self._check_closed()
        return self._ch.stat().depth == 0

    def close(self):
        """Close this process's handle on the queue (a second call does
        nothing). The channel stays for the others."""
        if self._closed:
            return
        self._closed = True
        self._ch.close()
        if self._ctl is not None:
            self._ctl.release()

    def unlink(self):
        """Remove the queue's names now (processes that have it open keep
        using it; it is freed with the last of them). An anonymous queue is
        removed without it when the Queue that created it is garbage."""
        fin = getattr(self, "_finalizer", None)
        if fin is not None:
            fin.detach()
        if self._ctl is not None or self._joinable:
            try:
                self._client.unlink(f"{self._name}.q")
            except FileNotFoundError:
                pass
        self._client.unlink(self._name)


class Queue(SimpleQueue):
    """multiprocessing.Queue over a shmview channel.

    Queue(maxsize=0, *, capacity=DEFAULT_CAPACITY, name=None, client=None):
    maxsize > 0 bounds the number of items (put() blocks, or raises
    queue.Full); capacity is the size in bytes of the ring the messages
    travel in. name=None makes an anonymous queue, removed when the Queue
    that created it is garbage (or at the exit of its process); a name
    opens that queue if it exists (its maxsize is the creator's) or creates
    it, to stay until unlink(). client: the shmview.Client to use (default:
    shmview.default_client()).
    """

    def __init__(self, maxsize=0, *, capacity=DEFAULT_CAPACITY, name=None, client=None,
                 ctx=None):
        self._create(maxsize, capacity, name, client)

    def _reset(self):
        self._notempty = threading.Condition(threading.Lock())
        self._buffer = collections.deque()
        self._thread = None
        self._joincancelled = False
        self._jointhread = None
        self._close_feeder = None

    def put(self, obj, block=True, timeout=None):
        """Put obj into the queue. With a maxsize, wait for a free place
        (block, up to timeout seconds), else queue.Full. obj is pickled
        now, and sent now if the ring has room, else by the feeder thread."""
        self._check_closed()
        if self._maxsize and not _sem_wait(self._ctl, _CTL_SLOTS, _timeout(block, timeout)):
            raise _queue.Full
        try:
            parts = _dumps(obj)
        except BaseException:
            if self._maxsize:
                _sem_post(self._ctl, _CTL_SLOTS)
            raise
        if self._joinable:
            _sem_post(self._ctl, _CTL_UNFINISHED)
        # Without the feeder's lock when it holds nothing: an item stays in
        # the buffer until it is sent, so an empty buffer means that every
        # earlier item of this thread is in the ring (FIFO per thread kept).
        if not self._buffer:
            try:
                spilled = self._ch.send_parts(parts, 0)
            except TimeoutError:
                pass  # the ring is full: the feeder waits for room
            else:
                if spilled and self._thread is None:
                    # Too big for the ring, it spilled into a segment that
                    # needs this sender until a receiver has it: the feeder
                    # waits for that at close() or exit.
                    with self._notempty:
                        if self._thread is None:
                            self._start_thread()
                return
        with self._notempty:
            if self._thread is None:
                self._start_thread()
            self._buffer.append(parts)
            self._notempty.notify()

    def put_nowait(self, obj):
        return self.put(obj, False)

    def get(self, block=True, timeout=None, *, copy=False):
        """Remove and return an item; wait for one (block, up to timeout
        seconds), else queue.Empty.

        The item's out-of-band buffers (numpy arrays, memoryviews...) are
        read-only views of the message in shared memory, whose space in the
        ring stays taken until the last of them is garbage. copy=True
        returns ordinary objects (writable arrays) and frees it at once."""
        self._check_closed()
        try:
            parts = self._ch.recv_parts(_timeout(block, timeout))
        except TimeoutError:
            raise _queue.Empty from None
        except BrokenPipeError:
            raise EOFError(f"every sender of {self._name!r} has closed") from None
        if self._maxsize:
            _sem_post(self._ctl, _CTL_SLOTS)
        return _loads(parts, copy)

    def get_nowait(self, *, copy=False):
        return self.get(False, copy=copy)

    def qsize(self):
        "The number of messages in the channel, and in this process's feeder."
        self._check_closed()
        return self._ch.stat().depth + len(self._buffer)

    def empty(self):
        return self.qsize() == 0

    def full(self):
        "True if the queue has a maxsize and holds that many items."
        self._check_closed()
        return bool(self._maxsize) and self._ctl.load32(_CTL_SLOTS) == 0

    def close(self):
        """No more puts or gets by this process. The feeder thread sends what
        it holds, then the handle closes (join_thread() waits for that)."""
        if self._closed:
            return
        self._closed = True
        with self._notempty:
            if self._thread is not None:
                self._buffer.append(_SENTINEL)
                self._notempty.notify()
                return  # the feeder closes the handle when it is done
        self._ch.close()
        if self._ctl is not None:
            self._ctl.release()

    def join_thread(self):
        "Wait for the feeder thread (after close()), as multiprocessing's."
        if not self._closed:
            raise AssertionError(f"Queue {self!r} not closed")
        if self._jointhread:
            self._jointhread()

    def cancel_join_thread(self):
        """Do not wait for the feeder thread at exit (what it holds may be
        lost), as multiprocessing's."""
        self._joincancelled = True
        try:
            self._jointhread.cancel()
        except AttributeError:
            pass

    # -- the feeder --

    def _start_thread(self):
        self._thread = threading.Thread(target=Queue._feed,
                                        args=(self._ch, self._ctl, self._notempty, self._buffer,
                                              self._on_queue_feeder_error),
                                        name="shmview.Queue feeder", daemon=True)
        self._thread.start()
        if not self._joincancelled:
            self._jointhread = _mp_util.Finalize(self._thread, Queue._finalize_join,
                                                 [weakref.ref(self._thread)], exitpriority=-5)
        # At exit, what the feeder holds is sent first.
        self._close_feeder = _mp_util.Finalize(self, Queue._finalize_close,
                                               [self._buffer, self._notempty], exitpriority=10)

    @staticmethod
    def _finalize_join(twr):
        thread = twr()
        if thread is not None:
            thread.join()

    @staticmethod
    def _finalize_close(buffer, notempty):
        with notempty:
            buffer.append(_SENTINEL)
            notempty.notify()

    @staticmethod
    def _feed(ch, ctl, notempty, buffer, on_error):
        # Only references to what it needs, not to the Queue, so that the
        # Queue may be garbage while the feeder drains.
        try:
            while True:
                with notempty:
                    while not buffer:
                        notempty.wait()
                    parts = buffer[0]
                if parts is _SENTINEL:
                    ch.flush()  # what spilled needs its sender until received
                    return
                try:
                    ch.send_parts(parts)
                except Exception as e:
                    on_error(e, parts)
                with notempty:
                    buffer.popleft()
        finally:
            ch.close()
            if ctl is not None:
                ctl.release()

    @staticmethod
    def _on_queue_feeder_error(e, obj):
        "Called in the feeder thread when a send fails; prints the traceback."
        traceback.print_exc(file=sys.stderr)


class JoinableQueue(Queue):
    """multiprocessing.JoinableQueue over a shmview channel: task_done()
    and join(), counted in the queue's control segment."""

    _joinable = True

    def task_done(self):
        self._check_closed()
        if not _sem_wait(self._ctl, _CTL_UNFINISHED, 0):
            raise ValueError("task_done() called too many times")
        if self._ctl.load32(_CTL_UNFINISHED) == 0:
            self._ctl.wake(_CTL_UNFINISHED)

    def join(self):
        "Wait until every item put has had its task_done()."
        self._check_closed()
        while (n := self._ctl.load32(_CTL_UNFINISHED)) != 0:
            self._ctl.wait(_CTL_UNFINISHED, n, 1.0)

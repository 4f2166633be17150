# SPDX-License-Identifier: MIT
"""shmview.Queue, SimpleQueue and JoinableQueue against the real daemon:
objects of many types both ways, the out-of-band buffers (a numpy array
comes back read-only, aligned and backed by the channel's ring, and its
space is freed when the last such buffer is garbage; copy=True returns
ordinary objects and frees it at once), maxsize, the feeder thread when the
ring is full, a message bigger than the ring, anonymous and named lifetimes,
and the Queue passed to multiprocessing.Process and Pool workers under the
fork, spawn and forkserver start methods (in Process arguments, Pool
initargs and Pool task arguments). numpy and torch tests are skipped with
one line where those are not installed."""

import gc
import multiprocessing
import os
import pickle
import queue
import sys
import threading
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

import shmview  # noqa: E402

try:
    import numpy
except ImportError:
    numpy = None
NEED_TORCH = "torch is not installed (Debian: python3-torch)"
if "libasan" in os.environ.get("LD_PRELOAD", ""):
    # torch throws C++ exceptions internally (tensor_to_numpy), and
    # AddressSanitizer's __cxa_throw interceptor aborts in a preloaded
    # runtime: torch is tested in the plain build only.
    torch = None
    NEED_TORCH = "torch under AddressSanitizer (LD_PRELOAD libasan) aborts in its own C++ code"
else:
    try:
        import torch
    except ImportError:
        torch = None

NEED_NUMPY = "numpy is not installed (Debian: python3-numpy)"
METHODS = [m for m in ("fork", "spawn", "forkserver")
           if m in multiprocessing.get_all_start_methods()]


def ring_mappings():
    """(start, end, path) of this process's mappings of /dev/shm objects."""
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and fields[5].startswith("/dev/shm/"):
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                out.append((lo, hi, fields[5]))
    return out


def in_ring(addr, name):
    """True if addr lies in a mapping of the channel name's ring."""
    want = f"{H.daemon.prefix}.{name}" if H.daemon else name
    return any(lo <= addr < hi and path.endswith("/" + want) for lo, hi, path in ring_mappings())


class Thing:
    """A user class, pickled by reference to this module."""

    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return type(other) is Thing and other.x == self.x


def used(q):
    return q._ch.stat().used


class QueueTest(unittest.TestCase):
    def setUp(self):
        self.queues = []

    def make(self, cls=shmview.Queue, *args, **kw):
        q = cls(*args, **kw)
        self.queues.append(q)
        return q

    def tearDown(self):
        for q in self.queues:
            q.close()
            if isinstance(q, shmview.Queue):
                q.join_thread()
        del self.queues
        gc.collect()


class TestObjects(QueueTest):
    VALUES = [None, True, 0, -1, 2**100, 1.5, "text", "é" * 1000, b"", b"small",
              bytes(range(256)) * 100, bytearray(b"x" * 10000), (1, "a", b"b"),
              [1, [2, [3]]], {"k": [1, 2], 3: b"\0" * 5000}, {1, 2, 3}, frozenset({4}),
              ValueError("bad", 7), Thing(3), range(5), 3 + 4j, type(None)]

    def test_round_trip(self):
        q = self.make()
        for v in self.VALUES:
            q.put(v)
        for v in self.VALUES:
            got = q.get(timeout=10)
            if isinstance(v, ValueError):
                self.assertEqual((type(got), got.args), (ValueError, v.args))
            else:
                self.assertEqual(got, v)
                self.assertIs(type(got), type(v))
        self.assertRaises(queue.Empty, q.get_nowait)

    def test_copy(self):
        q = self.make()
        for v in self.VALUES:
            q.put(v)
        for v in self.VALUES:
            got = q.get(timeout=10, copy=True)
            if not isinstance(v, ValueError):
                self.assertEqual(got, v)

    def test_big_bytes_out_of_band(self):
        # A large bytes or bytearray on its own goes out of band: the pickle
        # stays small, and the object comes back as its own type.
        parts = shmview._queues._dumps(b"y" * 100000)
        self.assertEqual([len(memoryview(p)) for p in parts[1:]], [100000])
        self.assertLess(len(parts[0]), 200)
        q = self.make()
        q.put(bytearray(b"z" * 100000))
        got = q.get(timeout=10)
        self.assertIs(type(got), bytearray)
        self.assertEqual(got, b"z" * 100000)
        got[0] = 1  # its own memory
        self.assertEqual(used(q), 0)

    def test_memoryview_and_view(self):
        q = self.make()
        data = bytes(range(256)) * 64
        q.put(memoryview(data))
        q.put(memoryview(bytearray(data)).cast("I"))
        q.put(memoryview(data)[::2])  # not contiguous: sent as its bytes
        with shmview.View(data) as v:
            q.put(v)
        m = q.get(timeout=10)
        self.assertIsInstance(m, memoryview)
        self.assertTrue(m.readonly)
        self.assertEqual(m, data)
        if numpy is not None:
            addr = numpy.frombuffer(m, numpy.uint8).__array_interface__["data"][0]
            self.assertTrue(in_ring(addr, q.name), "the memoryview is not over the ring")
        m2 = q.get(timeout=10)
        self.assertEqual((m2.format, m2.shape), ("I", (len(data) // 4,)))
        self.assertEqual(m2.tobytes(), data)
        self.assertEqual(q.get(timeout=10).tobytes(), data[::2])
        self.assertEqual(q.get(timeout=10).tobytes(), data)
        del m, m2
        gc.collect()
        self.assertEqual(used(q), 0)

    def test_unpicklable_raises_in_put(self):
        q = self.make()
        with self.assertRaises((TypeError, pickle.PicklingError, AttributeError)):
            q.put(threading.Lock())
        q.put(1)
        self.assertEqual(q.get(timeout=10), 1)

    def test_simple_queue(self):
        q = self.make(shmview.SimpleQueue)
        self.assertTrue(q.empty())
        q.put([1, 2])
        self.assertFalse(q.empty())
        self.assertEqual(q.get(), [1, 2])
        q.close()
        q.close()
        with self.assertRaisesRegex(ValueError, "is closed"):
            q.put(1)

    def test_closed(self):
        q = self.make()
        q.close()
        for call in (lambda: q.put(1), q.get, q.qsize, q.empty, q.full, q.get_nowait):
            with self.assertRaisesRegex(ValueError, "is closed"):
                call()


class TestSemantics(QueueTest):
    def test_maxsize(self):
        q = self.make(shmview.Queue, 3)
        self.assertFalse(q.full())
        for i in range(3):
            q.put(i, timeout=10)
        self.assertTrue(q.full())
        self.assertEqual(q.qsize(), 3)
        self.assertRaises(queue.Full, q.put, 3, False)
        self.assertRaises(queue.Full, q.put_nowait, 3)
        self.assertRaises(queue.Full, q.put, 3, True, 0.01)
        self.assertEqual(q.get(), 0)
        self.assertFalse(q.full())
        q.put_nowait(3)
        self.assertEqual([q.get() for _ in range(3)], [1, 2, 3])
        self.assertTrue(q.empty())
        self.assertRaises(queue.Empty, q.get, True, 0.01)
        self.assertRaises(queue.Empty, q.get, False)

    def test_maxsize_waits_for_a_get(self):
        q = self.make(shmview.Queue, 1)
        q.put("a")
        t = threading.Thread(target=lambda: q.put("b"))
        t.start()
        self.assertEqual(q.get(timeout=10), "a")
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual(q.get(timeout=10), "b")

    def test_feeder_when_the_ring_is_full(self):
        # maxsize 0: put() never blocks, as multiprocessing's; what the ring
        # cannot take waits in the feeder thread, in order.
        q = self.make(shmview.Queue, capacity=64 << 10)
        for i in range(40):
            q.put(bytes([i]) * 8000)
        self.assertIsNotNone(q._thread)  # the ring (64 KiB) is full
        self.assertEqual(q.qsize(), 40)
        for i in range(40):
            self.assertEqual(q.get(timeout=30), bytes([i]) * 8000)
        q.close()
        q.join_thread()
        self.assertFalse(q._thread.is_alive())

    def test_spilled_message(self):
        # Bigger than the ring: it travels in a segment of its own.
        q = self.make(shmview.Queue, capacity=64 << 10)
        data = os.urandom(1 << 20)
        q.put(data)
        q.put(memoryview(data))
        self.assertEqual(q.get(timeout=30), data)
        self.assertEqual(q.get(timeout=30), data)

    def test_spilled_array_aligned(self):
        if numpy is None:
            self.skipTest(NEED_NUMPY)
        q = self.make(shmview.Queue, capacity=64 << 10)
        a = numpy.arange(1 << 17, dtype=numpy.float64)  # 1 MiB, spilled
        q.put(a)
        b = q.get(timeout=30)
        self.assertTrue(numpy.array_equal(a, b))
        self.assertFalse(b.flags.writeable)
        self.assertEqual(b.__array_interface__["data"][0] % 64, 0)

    def test_malformed_messages(self):
        """A sender may write anything into a message: get() checks the
        frame (ValueError), never reads outside the message, and the queue
        goes on working."""
        import struct
        q = self.make()
        ch = q._client.open_channel(q.name)
        self.addCleanup(ch.close)
        bad = [b"\0" * 8,  # shorter than a head
               b"\xff" * 100,  # no magic
               struct.pack("<IIQ", 0x31514853, 1000, 64) + bytes(48),  # table beyond
               struct.pack("<IIQ", 0x31514853, 1, 4096) + bytes(48),  # size beyond
               struct.pack("<IIQQQ", 0x31514853, 1, 64, 32, 1 << 40) + bytes(24)]  # part beyond
        for m in bad:
            ch.send(m)
            with self.assertRaisesRegex(ValueError, "malformed"):
                q.get(timeout=10)
        self.assertEqual(used(q), 0)
        q.put("still works")
        self.assertEqual(q.get(timeout=10), "still works")

    def test_fast_path(self):
        """bytes, bytearray and a memoryview of bytes travel without pickle
        (a one-byte head, then their bytes): the same type comes back, bytes
        and bytearray as copies (the space is freed at once), a memoryview
        read-only over the ring."""
        for v in (b"", b"x" * 64, bytearray(b"y" * 5000), memoryview(b"z" * 100)):
            parts = shmview._queues._dumps(v)
            self.assertEqual(len(parts), 2)
            self.assertNotEqual(bytes(parts[0])[:1], b"\x80", "pickled")
        q = self.make()
        for v in (b"abc" * 1000, bytearray(b"def" * 1000)):
            q.put(v)
            got = q.get(timeout=10)
            self.assertEqual((type(got), got), (type(v), v))
            self.assertEqual(used(q), 0)  # a copy: nothing held in the ring
        q.put(memoryview(b"ghi" * 1000))
        m = q.get(timeout=10)
        self.assertIsInstance(m, memoryview)
        self.assertTrue(m.readonly)
        self.assertEqual(m, b"ghi" * 1000)
        self.assertGreater(used(q), 0)
        del m
        gc.collect()
        self.assertEqual(used(q), 0)

    def test_malformed_fast_messages(self):
        """A message whose first part is not a pickle is a fast one: a bad
        head, a dtype that is not plain, a size that is not the part's or a
        wrong number of parts is ValueError, the space is freed, and the
        queue goes on working."""
        import struct
        q = self.make()
        ch = q._client.open_channel(q.name)
        self.addCleanup(ch.close)
        arr = b"a" + b"C" + bytes((1, 3)) + b"<f8" + struct.pack("<q", 4)
        bad = [[b"z", b"data"],  # unknown kind
               [b"b", b"one", b"two"],  # two parts
               [b"b"],  # no part
               [b"m!", b"data"],  # a memoryview head with more
               [b"aC", bytes(32)],  # an array head cut short
               [arr, bytes(31)],  # 4 float64 are 32 bytes
               [arr[:-8], bytes(32)],  # shape cut off
               [b"a" + b"X" + arr[2:], bytes(32)],  # order
               [b"a" + b"C" + bytes((1, 3)) + b"|O8" + struct.pack("<q", 4), bytes(32)],
               [b"a" + b"C" + bytes((1, 3)) + b"<zz" + struct.pack("<q", 4), bytes(32)],
               [b"a" + b"C" + bytes((1, 3)) + b"<f8" + struct.pack("<q", -4), bytes(32)],
               [b"a" + b"C" + bytes((1, 7)) + b"i4,O,b" + struct.pack("<q", 1), bytes(16)]]
        for parts in bad:
            ch.send_parts(parts)
            with self.assertRaisesRegex(ValueError, "malformed", msg=repr(parts[0])):
                q.get(timeout=10)
            gc.collect()
            self.assertEqual(used(q), 0, repr(parts[0]))
        q.put(b"still works")
        self.assertEqual(q.get(timeout=10), b"still works")

    def test_set_spin(self):
        q = self.make()
        q._ch.set_spin(0)
        q._ch.set_spin(None)
        q._ch.set_spin(1e-5)
        with self.assertRaises(ValueError):
            q._ch.set_spin(-1)
        q.put(1)
        self.assertEqual(q.get(timeout=10), 1)

    def test_threads_share_a_queue(self):
        """Four threads put and four get on one Queue (one channel handle),
        through a ring small enough that the feeder runs too: every item
        arrives once."""
        q = self.make(capacity=16 << 10)
        got, lock = [], threading.Lock()

        def putter(k):
            for i in range(300):
                q.put((k, i, b"p" * 200))

        def getter():
            for _ in range(300):
                item = q.get(timeout=60)
                with lock:
                    got.append(item[:2])

        threads = [threading.Thread(target=putter, args=(k,)) for k in range(4)]
        threads += [threading.Thread(target=getter) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(sorted(got), [(k, i) for k in range(4) for i in range(300)])

    def test_raw_fork(self):
        """A child of os.fork() uses the inherited Queue object (its own
        handle, opened on first use) and reads a message its parent
        received before the fork."""
        q = self.make()
        q.put(memoryview(b"abcd" * 1000))
        kept = q.get(timeout=10)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                if bytes(kept[:8]) == b"abcdabcd":
                    q.put(("from the child", os.getpid()))
                    q.close()
                    code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertEqual(q.get(timeout=10), ("from the child", pid))
        self.assertEqual(bytes(kept[-4:]), b"abcd")
        del kept
        gc.collect()
        self.assertEqual(used(q), 0)

    def test_joinable(self):
        q = self.make(shmview.JoinableQueue)
        for i in range(5):
            q.put(i)
        done = []

        def work():
            for _ in range(5):
                q.get(timeout=10)
                done.append(1)
                q.task_done()

        t = threading.Thread(target=work)
        t.start()
        q.join()
        self.assertEqual(len(done), 5)
        t.join()
        self.assertRaises(ValueError, q.task_done)


class TestLifetime(H.ClientTestCase):
    def names_now(self):
        return {s.name for s in self.c.list()}

    def test_anonymous_removed_when_garbage(self):
        q = shmview.Queue(4)
        name = q.name
        self.assertTrue({name, name + ".ctl", name + ".q"} <= self.names_now())
        q.put(1)
        q.close()  # close() keeps it: other processes may still open it
        self.assertIn(name, self.names_now())
        del q
        gc.collect()
        self.assertFalse({name, name + ".ctl", name + ".q"} & self.names_now())

    def test_named_stays_until_unlink(self):
        name = H.fresh_name("named")
        q = shmview.Queue(2, name=name, client=self.c)
        q.put("x")
        q.close()
        del q
        gc.collect()
        self.assertIn(name, self.names_now())
        q2 = shmview.Queue(name=name, client=self.c)  # opens it: maxsize is the creator's
        self.assertEqual(q2._maxsize, 2)
        self.assertEqual(q2.get(timeout=10), "x")
        q2.unlink()
        q2.close()
        self.assertFalse({name, name + ".ctl", name + ".q"} & self.names_now())

    def test_pickle_by_name(self):
        q = shmview.Queue(client=self.c)
        q2 = pickle.loads(pickle.dumps(q))
        q2.put("through the copy")
        self.assertEqual(q.get(timeout=10), "through the copy")
        self.assertEqual(q2.name, q.name)
        q2.close()
        q.close()


@unittest.skipIf(numpy is None, NEED_NUMPY)
class TestNumpy(QueueTest):
    def test_zero_copy_read_only_aligned(self):
        q = self.make(capacity=8 << 20)
        a = numpy.arange(1 << 18, dtype=numpy.float64).reshape(512, 512)
        q.put(a)
        b = q.get(timeout=10)
        self.assertTrue(numpy.array_equal(a, b))
        self.assertEqual((b.dtype, b.shape), (a.dtype, a.shape))
        self.assertFalse(b.flags.writeable)
        with self.assertRaises(ValueError):
            b[0, 0] = 1
        addr = b.__array_interface__["data"][0]
        self.assertEqual(addr % 64, 0)
        self.assertTrue(in_ring(addr, q.name), "the array is not in the channel's ring")

    def test_fast_path_arrays(self):
        """A bare array of a plain dtype, C- or F-contiguous, travels without
        pickle and comes back read-only over the ring, of its dtype, shape
        and order; others (objects, records, not contiguous, a subclass) are
        pickled."""
        fast = [numpy.arange(8, dtype=numpy.uint8), numpy.zeros((3, 4, 5), dtype=">i2"),
                numpy.asfortranarray(numpy.arange(600.0).reshape(20, 30)), numpy.array(2.5),
                numpy.zeros((0, 3)), numpy.array(["ab", "c"]), numpy.ones(3, dtype=complex)]
        slow = [numpy.arange(10)[::2], numpy.array([1, None], dtype=object),
                numpy.arange(5).astype("M8[s]"),
                numpy.zeros(2, dtype=[("a", "<i4")]), numpy.matrix([[1, 2]])]
        for a in fast:
            parts = shmview._queues._dumps(a)
            self.assertEqual((len(parts), bytes(parts[0])[:1]), (2, b"a"), a.dtype)
        for a in slow:
            self.assertEqual(bytes(shmview._queues._dumps(a)[0])[:1], b"\x80", a.dtype)
        q = self.make(capacity=4 << 20)
        for a in fast + slow:
            q.put(a)
        for a in fast:
            b = q.get(timeout=10)
            self.assertIs(type(b), numpy.ndarray)
            self.assertEqual((b.dtype, b.shape), (a.dtype, a.shape))
            self.assertEqual(b.flags.f_contiguous, a.flags.f_contiguous)
            self.assertTrue(numpy.array_equal(a, b))
            self.assertFalse(b.flags.writeable)
            if b.nbytes:
                addr = b.__array_interface__["data"][0]
                self.assertEqual(addr % 64, 0)
                self.assertTrue(in_ring(addr, q.name), "the array is not in the ring")
        for a in slow:
            b = q.get(timeout=10)
            self.assertIs(type(b), type(a))
            self.assertEqual(b.dtype, a.dtype)
        del b
        gc.collect()
        self.assertEqual(used(q), 0)
        q.put(fast[1])
        c = q.get(timeout=10, copy=True)
        self.assertTrue(c.flags.writeable)
        self.assertEqual(used(q), 0)

    def test_space_freed_with_the_last_buffer(self):
        q = self.make(capacity=1 << 20)
        a = numpy.ones(100000)  # 800 KB: the ring holds one at a time
        q.put(a)
        b = q.get(timeout=10)
        view = b[10:20]  # a slice keeps the message too
        del b
        gc.collect()
        self.assertGreaterEqual(used(q), a.nbytes)
        del view
        gc.collect()
        self.assertEqual(used(q), 0)
        # the space is used again: a second array fits
        q.put(a * 2)
        self.assertIsNone(q._thread)  # sent at once, not left to the feeder
        self.assertEqual(q.get(timeout=10).sum(), 200000)

    def test_copy_is_writable_and_frees_at_once(self):
        q = self.make()
        q.put(numpy.arange(10000))
        b = q.get(timeout=10, copy=True)
        self.assertTrue(b.flags.writeable)
        self.assertEqual(used(q), 0)
        b[0] = 5
        self.assertEqual(b.sum(), 10000 * 9999 // 2 + 5)

    def test_layouts(self):
        q = self.make()
        arrays = [numpy.asfortranarray(numpy.arange(600).reshape(20, 30)),
                  numpy.arange(1000)[::3],  # not contiguous: in band
                  numpy.array([1, "a", None], dtype=object),
                  numpy.zeros(0), numpy.arange(12, dtype=numpy.int8).reshape(3, 4).T,
                  numpy.array(7.5), numpy.arange(5).astype("M8[s]"),
                  numpy.zeros(3, dtype=[("a", "<i4"), ("b", ">f8")]),
                  numpy.array(["ab", "c"]), numpy.ones(3, dtype=">i4"),
                  numpy.ones((2, 3), dtype=numpy.float16), numpy.ones(2, dtype=complex)]
        for a in arrays:
            q.put(a)
        for a in arrays:
            b = q.get(timeout=10)
            self.assertEqual((b.dtype, b.shape), (a.dtype, a.shape))
            if a.flags.c_contiguous or a.flags.f_contiguous:
                self.assertEqual(b.flags.f_contiguous, a.flags.f_contiguous)
            self.assertTrue(numpy.array_equal(a, b) if a.dtype != object else list(a) == list(b))

    def test_receiver_that_has_not_imported_numpy(self):
        import subprocess
        name = H.fresh_name("np")
        q = self.make(name=name)
        self.addCleanup(q.unlink)
        q.put(numpy.arange(5))
        code = ("import shmview, sys; q = shmview.Queue(name=sys.argv[1]); "
                "a = q.get(timeout=30); print(type(a).__module__, a.sum()); q.close()")
        r = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.stdout.split(), ["numpy", "10"], r.stderr)

    def test_nested(self):
        q = self.make()
        batch = {"x": numpy.ones((64, 64), numpy.float32), "y": numpy.arange(64), "id": 3}
        q.put(batch)
        got = q.get(timeout=10)
        self.assertEqual(got["id"], 3)
        self.assertTrue(numpy.array_equal(got["x"], batch["x"]))
        self.assertTrue(in_ring(got["y"].__array_interface__["data"][0], q.name))


def child_double_tensor(q_in, q_out):
    import torch as t  # a spawned child imports it here
    x = q_in.get(timeout=60)
    q_out.put(x * 2 if isinstance(x, t.Tensor) else None)
    q_out.close()
    q_out.join_thread()


@unittest.skipIf(torch is None, NEED_TORCH)
class TestTorch(QueueTest):
    def test_tensors_travel_out_of_band(self):
        q = self.make()
        for t in (torch.arange(1000, dtype=torch.float32), torch.ones(3, 4).t(),
                  torch.tensor(3), torch.zeros(0), torch.ones(2, dtype=torch.bfloat16),
                  torch.ones(2, requires_grad=True)):
            q.put(t)
            u = q.get(timeout=10)
            self.assertEqual((u.dtype, u.shape), (t.dtype, t.shape))
            self.assertTrue(torch.equal(u.detach(), t.detach()))
            u.add_(1) if not u.requires_grad else None  # writable, its own memory
            self.assertEqual(used(q), 0)
        # a float32 tensor's bytes are not in the pickle
        parts = shmview._queues._dumps(torch.ones(1 << 16))
        self.assertEqual([len(memoryview(p).cast("B")) for p in parts[1:]], [1 << 18])
        self.assertLess(len(parts[0]), 300)

    def test_numpy_conversions(self):
        q = self.make()
        t = torch.arange(1000, dtype=torch.float32)
        q.put(t.numpy())
        got = torch.from_numpy(q.get(timeout=10, copy=True))
        self.assertTrue(torch.equal(got, t))
        q.put(t.numpy())
        arr = q.get(timeout=10)
        with warnings.catch_warnings():  # "The given buffer is not writable": it is the ring's
            warnings.simplefilter("ignore", UserWarning)
            ft = torch.frombuffer(memoryview(arr).cast("B"), dtype=torch.float32)
        self.assertTrue(torch.equal(ft, t))
        self.assertTrue(in_ring(ft.data_ptr(), q.name), "the tensor is not over the ring")

    def test_between_processes(self):
        ctx = multiprocessing.get_context(METHODS[0])
        q_in, q_out = self.make(), self.make()
        p = ctx.Process(target=child_double_tensor, args=(q_in, q_out))
        p.start()
        q_in.put(torch.arange(10.0))
        self.assertTrue(torch.equal(q_out.get(timeout=60), torch.arange(10.0) * 2))
        p.join(60)
        self.assertEqual(p.exitcode, 0)


# ---- processes ----------------------------------------------------------


def child_sum(q_in, q_out):
    """Sum each array from q_in (numpy if importable, else bytes) into q_out."""
    while True:
        item = q_in.get(timeout=60)
        if item is None:
            break
        q_out.put((os.getpid(), int(sum(item)) if numpy is None else int(item.sum())))
    q_out.close()
    q_out.join_thread()


def child_produce(q, n):
    for i in range(n):
        q.put(numpy.full(1000, i) if numpy is not None else bytes([i]) * 1000)
    q.close()
    q.join_thread()


_pool_q = None


def pool_init(q):
    global _pool_q
    _pool_q = q


def pool_put_init(i):
    _pool_q.put(("init", i))
    return i


def pool_put_arg(q, i):
    q.put(("arg", i))
    return os.getpid()


def child_put_big(q, data):
    q.put(data)  # spilled: bigger than the ring; no close() before exit


def child_hold(q, ready):
    kept = q.get(timeout=60)  # over the ring, zero copy: its space stays taken
    ready.put(len(kept))
    threading.Event().wait(600)  # until killed


def item(i):
    return numpy.full(1000, i) if numpy is not None else bytes([i % 256]) * 1000


def total(i):
    return 1000 * i if numpy is not None else 1000 * (i % 256)


class TestProcesses(QueueTest):
    def run_method(self, method):
        ctx = multiprocessing.get_context(method)
        q_in, q_out = self.make(), self.make()
        workers = [ctx.Process(target=child_sum, args=(q_in, q_out)) for _ in range(2)]
        for p in workers:
            p.start()
        for i in range(20):
            q_in.put(item(i))
        for _ in workers:
            q_in.put(None)
        results = sorted(q_out.get(timeout=60)[1] for _ in range(20))
        self.assertEqual(results, sorted(total(i) for i in range(20)))
        for p in workers:
            p.join(60)
            self.assertEqual(p.exitcode, 0)
        # the other way: a child produces, the parent gets
        p = ctx.Process(target=child_produce, args=(q_out, 10))
        p.start()
        got = [q_out.get(timeout=60) for _ in range(10)]
        p.join(60)
        self.assertEqual(p.exitcode, 0)
        self.assertEqual([total(i) for i in range(10)],
                         [int(g.sum()) if numpy is not None else sum(g) for g in got])

    def test_spilled_message_outlives_its_put(self):
        """A message bigger than the ring needs its sender until a receiver
        has it: a child that puts one and returns does not exit before the
        parent has it (the feeder holds the exit), and the message arrives."""
        ctx = multiprocessing.get_context(METHODS[0])
        q = self.make(capacity=64 << 10)
        data = os.urandom(1 << 20)
        p = ctx.Process(target=child_put_big, args=(q, data))
        p.start()
        H.wait_for(lambda: q.qsize() > 0, what="the child's put")
        p.join(1)
        self.assertTrue(p.is_alive(), "the sender exited before its message was received")
        self.assertEqual(q.get(timeout=60), data)
        p.join(60)
        self.assertEqual(p.exitcode, 0)

    def test_killed_receiver_gives_back_its_messages(self):
        """A worker killed with kill -9 while it holds a received array
        (zero copy, its space taken) loses nothing for the others: its space
        comes back, and the queue goes on."""
        import signal
        ctx = multiprocessing.get_context(METHODS[0])
        q, ready = self.make(capacity=1 << 20), self.make()
        p = ctx.Process(target=child_hold, args=(q, ready), daemon=True)
        p.start()
        self.addCleanup(lambda: p.is_alive() and p.kill())
        q.put(memoryview(bytearray(600000)))  # comes back over the ring: pinned in the child
        self.assertEqual(ready.get(timeout=60), 600000)
        self.assertGreaterEqual(used(q), 600000)
        os.kill(p.pid, signal.SIGKILL)
        p.join(60)

        def space_back():
            q.put(1)  # the next participant to take the lock reclaims the dead one's
            q.get(timeout=10)
            return used(q) == 0

        H.wait_for(space_back, what="the killed receiver's space to come back")
        q.put(memoryview(bytearray(600000)))  # which a second big message needs
        self.assertIsNone(q._thread)
        self.assertEqual(len(q.get(timeout=10)), 600000)
        gc.collect()

    def run_pool(self, method):
        ctx = multiprocessing.get_context(method)
        q = self.make()
        with ctx.Pool(2, initializer=pool_init, initargs=(q,)) as pool:
            self.assertEqual(sorted(pool.map(pool_put_init, range(4))), list(range(4)))
            # in task arguments too (multiprocessing.Queue refuses that)
            pids = [pool.apply_async(pool_put_arg, (q, i)) for i in range(4)]
            [r.get(60) for r in pids]
        got = sorted(q.get(timeout=60) for _ in range(8))
        self.assertEqual(got, sorted([("init", i) for i in range(4)] +
                                     [("arg", i) for i in range(4)]))


@unittest.skipIf(numpy is None, NEED_NUMPY)
class TestExample(unittest.TestCase):
    def test_dataloader(self):
        """docs/python.md's data loader (client/python/examples/dataloader.py),
        with kilobytes for its mebibytes."""
        import subprocess
        src = os.environ.get("SHMVIEW_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
        path = os.path.join(src, "client", "python", "examples", "dataloader.py")
        r = subprocess.run([sys.executable, path, "--method", METHODS[-1], "--rounds", "1",
                            "--unit", "16384"], capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.startswith("ok: 7 batches"), r.stdout)


for _m in METHODS:
    setattr(TestProcesses, f"test_process_{_m}", lambda self, m=_m: self.run_method(m))
    setattr(TestProcesses, f"test_pool_{_m}", lambda self, m=_m: self.run_pool(m))


if __name__ == "__main__":
    H.run()

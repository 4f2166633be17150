# SPDX-License-Identifier: MIT
"""The Python binding against the real daemon: Client, View, errors,
cross-process sharing, read-only enforcement, numpy, fork, restarts,
ephemeral lifetime."""

import ctypes
import datetime
import gc
import os
import signal
import struct
import subprocess
import sys
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

import shmview  # noqa: E402

try:
    import numpy
except ImportError:
    numpy = None


def fresh(prefix="seg"):
    return H.fresh_name(prefix)


def child_python(code, *args, check=True, env=None):
    """Run code in a new interpreter (a real separate process)."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                       capture_output=True, text=True, timeout=60, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"child failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


class Py_buffer(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.py_object), ("len", ctypes.c_ssize_t),
                ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int),
                ("ndim", ctypes.c_int), ("format", ctypes.c_char_p),
                ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
                ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p)]


def buffer_address(obj):
    """The address of obj's memory, through a read-only buffer request."""
    pb = Py_buffer()
    get = ctypes.pythonapi.PyObject_GetBuffer
    get.argtypes = [ctypes.py_object, ctypes.POINTER(Py_buffer), ctypes.c_int]
    if get(obj, ctypes.byref(pb), 0) != 0:
        raise OSError("PyObject_GetBuffer failed")
    addr = pb.buf
    rel = ctypes.pythonapi.PyBuffer_Release
    rel.argtypes = [ctypes.POINTER(Py_buffer)]
    rel(ctypes.byref(pb))
    return addr


class Base(H.ClientTestCase):
    def tearDown(self):
        gc.collect()  # views dropped by a test release their leases first
        super().tearDown()

    def wait_gone(self, name, what):
        """Wait until the daemon no longer knows `name`."""
        def gone():
            try:
                self.c.stat(name)
                return False
            except FileNotFoundError:
                return True

        H.wait_for(gone, what=what)

    def segment(self, size, data=None, mode=0o600):
        name = fresh()
        self.c.create(name, size, mode)
        self.names.append(name)
        if data is not None:
            with self.c.open(name, writable=True) as v:
                v[: len(data)] = data
        return name


class TestClient(Base):
    def test_create_open_stat_list(self):
        name = self.segment(4096, mode=0o640)
        info = self.c.stat(name)
        self.assertIsInstance(info, shmview.SegmentInfo)
        self.assertEqual((info.name, info.size, info.mode, info.uid), (name, 4096, 0o640, os.getuid()))
        self.assertIsInstance(info.created, datetime.datetime)
        self.assertIsNotNone(info.created.tzinfo)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - info.created).total_seconds()), 3600)
        with self.c.open(name, 100, 50, writable=True) as v:
            self.assertEqual(self.c.stat(name).views, 1)
            self.assertEqual(self.c.stat(name).writable_views, 1)
            self.assertEqual(len(v), 50)
            self.assertEqual(v.descriptor, f"{name}:100:50:rw")
        self.assertIn(name, [s.name for s in self.c.list()])
        st = self.c.status()
        self.assertIsInstance(st, shmview.Status)
        self.assertGreaterEqual(st.segments, 1)
        self.assertEqual(st.uid, os.getuid())

    def test_unlinked_segments_and_holders(self):
        name = self.segment(4096)
        self.assertIs(self.c.stat(name).unlinked, False)
        self.assertEqual(self.c.holders(name), [])
        with self.c.open(name, 100, 50, writable=True) as v, self.c.open(name) as r:
            hs = self.c.holders(name)
            self.assertEqual(len(hs), 2)
            self.assertIsInstance(hs[0], shmview.HolderInfo)
            self.assertEqual((hs[0].pid, hs[0].uid, hs[0].offset, hs[0].length, hs[0].writable),
                             (os.getpid(), os.getuid(), 100, 50, True))
            self.assertEqual((hs[1].offset, hs[1].length, hs[1].writable), (0, 4096, False))
            self.assertTrue(hs[0].comm)
            self.assertIsNotNone(hs[0].since.tzinfo)
            self.c.unlink(name)
            gone = [s for s in self.c.list() if s.name == name]
            self.assertEqual(len(gone), 1)
            self.assertIs(gone[0].unlinked, True)
            self.assertEqual(gone[0].views, 2)
            v[0] = 1
            self.assertEqual(r[100], 1)
        with self.assertRaises(FileNotFoundError):
            self.c.holders(name)

    def test_errors_are_oserror_subclasses_with_the_name(self):
        with self.assertRaises(FileNotFoundError) as cm:
            self.c.open("no-such-segment")
        self.assertEqual(cm.exception.filename, "no-such-segment")
        name = self.segment(10)
        with self.assertRaises(FileExistsError):
            self.c.create(name, 10)
        with self.assertRaises(OSError) as cm:
            self.c.open(name, 5, 10)
        self.assertEqual(cm.exception.errno, __import__("errno").ERANGE)
        with self.assertRaises(ValueError):
            self.c.create("../etc", 10)
        with self.assertRaises(ValueError):
            self.c.create(fresh(), -1)

    def test_permission_error_for_another_uid(self):
        if os.getuid() != 0:
            self.skipTest("needs root to run a child as nobody")
        name = self.segment(10, mode=0o600)
        os.chmod(H.daemon.dir, 0o711)  # let nobody reach the socket
        os.chmod(H.daemon.socket, 0o666)
        code = textwrap.dedent("""
            import shmview, sys
            c = shmview.connect(sys.argv[1])
            c.stat(sys.argv[2])  # metadata is anyone's, as with ls
            try:
                c.open(sys.argv[2])
            except PermissionError:
                sys.exit(3)
        """)
        r = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable,
             "-c", code, H.daemon.socket, name],
            capture_output=True, text=True, timeout=60, env=dict(os.environ))
        self.assertEqual(r.returncode, 3, r.stderr)

    def test_restricted_record_for_another_uid(self):
        """What nobody may not read shows as ls -l shows it: the rest is None."""
        if os.getuid() != 0:
            self.skipTest("needs root to run a child as nobody")
        name = self.segment(4096, mode=0o600)
        v = self.c.open(name)  # a view nobody must not learn of
        os.chmod(H.daemon.dir, 0o711)
        os.chmod(H.daemon.socket, 0o666)
        code = textwrap.dedent("""
            import shmview, sys
            c = shmview.connect(sys.argv[1])
            for s in [c.stat(sys.argv[2])] + [s for s in c.list() if s.name == sys.argv[2]]:
                assert (s.size, s.uid, s.mode, s.restricted) == (4096, 0, 0o600, True), s
                assert (s.gid, s.views, s.writable_views, s.created, s.ephemeral) == (None,) * 5, s
                assert len(s) == 10, s
        """)
        r = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable,
             "-c", code, H.daemon.socket, name],
            capture_output=True, text=True, timeout=60, env=dict(os.environ))
        self.assertEqual(r.returncode, 0, r.stderr)
        mine = self.c.stat(name)
        self.assertFalse(mine.restricted)
        self.assertEqual(mine.views, 1)
        v.release()

    def test_shrinking_with_live_views_is_a_buffer_error(self):
        name = self.segment(8192)
        v = self.c.open(name)
        with self.assertRaises(BufferError) as cm:
            self.c.resize(name, 4096)
        self.assertIsInstance(cm.exception, OSError)
        self.assertIsInstance(cm.exception, shmview.BusyError)
        self.c.resize(name, 16384)  # growing is always allowed
        v.release()
        self.c.resize(name, 4096)
        self.assertEqual(self.c.stat(name).size, 4096)

    def test_closed_client(self):
        c = shmview.connect(H.daemon.socket)
        with c:
            pass
        self.assertTrue(c.closed)
        with self.assertRaises(ValueError):
            c.list()
        c.close()  # twice is fine

    def test_connect_failure(self):
        with self.assertRaises(OSError):
            shmview.connect(os.path.join(H.daemon.dir, "nothing-here.sock"))

    def test_daemon_gone_for_good(self):
        # docs/python.md: a call waits reconnect_ms for a daemon that went
        # away, then raises ConnectionRefusedError, whether the daemon
        # removed its socket (a clean stop) or left it behind (kill -9).
        for how in ("stop", "kill"):
            with self.subTest(how=how):
                d = H.Daemon()
                try:
                    c = shmview.connect(d.socket, reconnect_ms=200)
                    name = fresh()
                    c.create(name, 4096)
                    getattr(d, how)()
                    with self.assertRaises(ConnectionRefusedError) as cm:
                        c.stat(name)
                    self.assertIn("did not come back within 200 ms", str(cm.exception))
                    with self.assertRaises(ConnectionRefusedError):
                        c.list()  # and every call after it
                    c.close()
                finally:
                    d.cleanup()

    def test_reconnect_ms_checked(self):
        with self.assertRaises(ValueError):
            shmview.connect(H.daemon.socket, reconnect_ms=-1)
        with self.assertRaises(TypeError):
            shmview.connect(H.daemon.socket, reconnect_ms="5")
        with self.assertRaises(TypeError):
            shmview.connect(H.daemon.socket, 200)  # keyword only
        shmview.connect(H.daemon.socket, reconnect_ms=0).close()


class TestView(Base):
    def test_buffer_protocol_and_sequence(self):
        name = self.segment(16, b"Hello, World!")
        v = self.c.open(name, 0, 13, writable=True)
        m = memoryview(v)
        self.assertEqual((m.format, m.itemsize, m.readonly, m.nbytes), ("B", 1, False, 13))
        self.assertEqual(bytes(v), b"Hello, World!")
        self.assertEqual(len(v), 13)
        self.assertEqual(v[0], ord("H"))
        self.assertEqual(v[-1], ord("!"))
        v[0] = 65
        self.assertEqual(m[0], 65)
        self.assertEqual(list(v)[:2], [65, ord("e")])
        self.assertEqual(v, b"Aello, World!")
        self.assertEqual(v, bytearray(b"Aello, World!"))
        self.assertNotEqual(v, b"Aello")
        self.assertEqual(v.hex(), b"Aello, World!".hex())
        self.assertEqual(v.hex(":", 2), b"Aello, World!".hex(":", 2))
        struct.pack_into("<I", v, 0, 0x64636261)
        self.assertEqual(v[:4].tobytes(), b"abcd")
        with self.assertRaises(BufferError):
            v.release()  # m is exported
        m.release()
        v.release()
        self.assertTrue(v.released)

    def test_slices_share_the_mapping(self):
        name = self.segment(4096)
        v = self.c.open(name, writable=True)
        s = v[7:12]
        self.assertIsInstance(s, shmview.View)
        self.assertEqual(s.descriptor, f"{name}:7:5:rw")
        s[:] = b"World"
        self.assertEqual(v[7:12].tobytes(), b"World")
        ss = s[1:3]
        ss[0] = ord("0")
        self.assertEqual(bytes(v[7:12]), b"W0rld")
        # The slice outlives the view it came from, and keeps the lease.
        v.release()
        self.assertEqual(self.c.stat(name).views, 1)
        self.assertEqual(bytes(s), b"W0rld")
        del s, ss
        gc.collect()
        H.wait_for(lambda: self.c.stat(name).views == 0, what="the lease to end")

    def test_extended_slices_are_memoryviews(self):
        v = shmview.View(b"abcdef")
        r = v[::2]
        self.assertIsInstance(r, memoryview)
        self.assertEqual(r.tobytes(), b"ace")
        v[::2] = b"ACE"
        self.assertEqual(v, b"AbCdEf")
        with self.assertRaises(BufferError):
            v.release()
        r.release()
        v.release()

    def test_slice_assignment_needs_equal_length(self):
        v = shmview.View(8)
        self.assertEqual(v, bytes(8))
        with self.assertRaises(ValueError):
            v[0:2] = b"abc"
        with self.assertRaises(TypeError):
            del v[0]
        with self.assertRaises(ValueError):
            v[0] = 256

    def test_anonymous_views(self):
        v = shmview.View(b"xyz")
        self.assertEqual(v, b"xyz")
        self.assertFalse(v.readonly)
        ro = shmview.View(bytearray(b"abc"), readonly=True)
        self.assertTrue(ro.readonly)
        self.assertTrue(memoryview(ro).readonly)
        with self.assertRaises(TypeError):
            ro[0] = 1
        with self.assertRaises(TypeError):
            ro[0:1] = b"q"
        e = shmview.View(b"")
        self.assertEqual(len(e), 0)
        self.assertEqual(bytes(e), b"")
        self.assertEqual(shmview.View(memoryview(b"abcdef")[::2]), b"ace")
        with self.assertRaises(TypeError):
            shmview.View("text")
        with self.assertRaises(ValueError):
            hash(ro)  # its bytes may change under it
        for x in (v, ro, e):
            x.release()

    def test_open_descriptor_and_released(self):
        name = self.segment(100, b"0123456789")
        with self.c.open(name, 2, 5) as v:
            d = v.descriptor
            self.assertEqual(d, f"{name}:2:5:ro")
            with self.c.open_descriptor(d) as w:
                self.assertEqual(w, b"23456")
                self.assertTrue(w.readonly)
        self.assertIn("released", repr(v))
        with self.assertRaisesRegex(ValueError, "released"):
            v[0]
        with self.assertRaises(ValueError):
            self.c.open_descriptor("bad name:x")


class TestCrossProcess(Base):
    def test_writes_are_seen_by_another_process_at_once(self):
        name = self.segment(4096)
        v = self.c.open(name, writable=True)
        code = """
            import shmview, sys
            with shmview.connect(sys.argv[1]) as c:
                w = c.open_descriptor(sys.argv[2])
                assert bytes(w[:5]) == b"hello", bytes(w[:5])
                w[5:10] = b"world"
                w.release()
        """
        v[:5] = b"hello"
        child_python(code, H.daemon.socket, f"{name}:0:4096:rw")
        self.assertEqual(bytes(v[:10]), b"helloworld")
        v.release()

    def test_read_only_views_are_enforced_by_the_kernel(self):
        name = self.segment(4096, b"secret")
        code = """
            import ctypes, os, signal, sys
            sys.path.insert(0, sys.argv[3])
            import shmview
            from importlib import import_module
            t = import_module("test-python-view")
            c = shmview.connect(sys.argv[1])
            v = c.open(sys.argv[2])
            try:
                memoryview(v)[0] = 1
            except TypeError:
                pass
            else:
                sys.exit("a write through a read-only memoryview was accepted")
            addr = t.buffer_address(v)
            print("writing", flush=True)
            ctypes.memmove(addr, b"X", 1)   # must fault: the mapping is PROT_READ
            sys.exit("the kernel let a read-only view be written")
        """
        here = os.path.dirname(os.path.abspath(__file__))
        # Under ASan (an instrumented build) the fault must reach the
        # kernel's default action, not ASan's report.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":handle_segv=0"
        r = child_python(code, H.daemon.socket, name, here, check=False, env=env)
        self.assertEqual(r.returncode, -signal.SIGSEGV, r.stdout + r.stderr)
        self.assertIn("writing", r.stdout)
        with self.c.open(name) as v:
            self.assertEqual(bytes(v[:6]), b"secret")

    def test_read_only_views_are_enforced_for_other_uids(self):
        # The same as above, played by nobody and a uid with no passwd
        # entry (setpriv) against root's 0644 segment.
        if os.getuid() != 0:
            self.skipTest("needs root to run the attacker as another uid")
        name = self.segment(4096, b"secret", mode=0o644)
        os.chmod(H.daemon.dir, 0o711)  # let the strangers reach the socket
        os.chmod(H.daemon.socket, 0o666)
        code = textwrap.dedent("""
            import ctypes, sys
            sys.dont_write_bytecode = True
            sys.path.insert(0, sys.argv[3])
            import shmview
            from importlib import import_module
            t = import_module("test-python-view")
            c = shmview.connect(sys.argv[1])
            try:
                c.open(sys.argv[2], writable=True)
            except PermissionError:
                pass
            else:
                sys.exit("another uid got a writable view")
            v = c.open(sys.argv[2])
            if bytes(v[:6]) != b"secret":
                sys.exit("another uid read %r" % bytes(v[:6]))
            try:
                memoryview(v)[0] = 1
            except TypeError:
                pass
            else:
                sys.exit("a write through a read-only memoryview was accepted")
            print("writing", flush=True)
            ctypes.memmove(t.buffer_address(v), b"X", 1)
            sys.exit("the kernel let another uid write a read-only view")
        """)
        here = os.path.dirname(os.path.abspath(__file__))
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":handle_segv=0"
        for uid in (65534, 60001):
            r = subprocess.run(
                ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 sys.executable, "-c", code, H.daemon.socket, name, here],
                capture_output=True, text=True, timeout=60, env=env)
            self.assertEqual(r.returncode, -signal.SIGSEGV, f"uid {uid}: {r.stdout}{r.stderr}")
            self.assertIn("writing", r.stdout)
        with self.c.open(name) as v:
            self.assertEqual(bytes(v[:6]), b"secret")


@unittest.skipIf(numpy is None, "numpy is not installed (Debian: python3-numpy)")
class TestNumpy(Base):
    def test_zero_copy_both_ways(self):
        name = self.segment(4096)
        v = self.c.open(name, writable=True)
        a = numpy.frombuffer(v, dtype=numpy.uint32)
        self.assertEqual(a.shape, (1024,))
        self.assertTrue(a.flags.writeable)
        a[0] = 0x64636261  # numpy -> View
        self.assertEqual(bytes(v[:4]), b"abcd")
        v[4:8] = struct.pack("<I", 7)  # View -> numpy
        self.assertEqual(a[1], 7)
        self.assertEqual(buffer_address(a), buffer_address(v))
        # and a numpy array in another process over the same memory
        code = """
            import numpy, shmview, sys
            with shmview.connect(sys.argv[1]) as c:
                w = c.open_descriptor(sys.argv[2])
                b = numpy.frombuffer(w, dtype=numpy.uint32)
                assert b[1] == 7
                b[2:] = numpy.arange(1022, dtype=numpy.uint32)
                del b
                w.release()
        """
        child_python(code, H.daemon.socket, v.descriptor)
        self.assertTrue((a[2:] == numpy.arange(1022)).all())
        ro = self.c.open(name)
        b = numpy.frombuffer(ro, dtype=numpy.uint8)
        self.assertFalse(b.flags.writeable)
        with self.assertRaises(ValueError):
            b[0] = 1
        del a, b
        v.release()
        ro.release()

    def test_view_from_an_array_copies_it(self):
        arr = numpy.arange(10, dtype=numpy.int16)
        v = shmview.View(arr)
        self.assertEqual(bytes(v), arr.tobytes())
        self.assertTrue((numpy.frombuffer(v, dtype=numpy.int16) == arr).all())


class TestFork(Base):
    def test_child_never_disturbs_the_parent(self):
        name = self.segment(4096)
        v = self.c.open(name, writable=True)
        s = v[100:200]
        anon = shmview.View(b"anonymous")
        views_before = self.c.stat(name).views
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                s[:5] = b"child"  # the inherited mapping is shared
                # The inherited client makes its own connection.
                w = self.c.open(name, writable=True)
                w[200:205] = b"fresh"
                w.release()
                # Releasing or dropping inherited objects touches nothing of
                # the parent's: not its leases, not its connection.
                s.release()
                v.release()
                anon.release()
                self.c.close()
                shmview.default_client().close()
                gc.collect()
            except BaseException as e:  # report through the exit status
                print("child:", repr(e), file=sys.stderr)
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(status, 0)
        self.assertEqual(bytes(v[100:105]), b"child")
        self.assertEqual(bytes(v[200:205]), b"fresh")
        # The parent's connection still works and its leases are intact.
        self.assertEqual(self.c.stat(name).views, views_before)
        self.assertEqual(anon, b"anonymous")
        with self.c.open(name) as w:
            self.assertEqual(bytes(w[100:105]), b"child")
        s.release()
        v.release()
        anon.release()

    def test_default_client_is_per_process(self):
        parent = shmview.default_client()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            ok = shmview.default_client() is parent and shmview.default_client().status() is not None
            os.write(w, b"1" if ok else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        self.assertEqual(os.read(r, 1), b"1")
        os.close(r)
        os.close(w)
        self.assertIsNotNone(parent.status())


class TestThreads(Base):
    def test_the_gil_is_released_while_waiting_for_the_daemon(self):
        # A thread waits for an answer from a stopped daemon; this thread
        # must keep running Python meanwhile, or it could never resume the
        # daemon. If the wait held the GIL, only the watchdog process would
        # resume the daemon (after 60 s), and its mark fails the test.
        import threading
        name = self.segment(10)
        mark = os.path.join(H.daemon.dir, "watchdog-fired")
        pid = H.daemon.proc.pid
        watchdog = subprocess.Popen(["sh", "-c", f"sleep 60; touch {mark}; kill -CONT {pid}"],
                                    start_new_session=True)
        got = []
        try:
            os.kill(pid, signal.SIGSTOP)
            try:
                t = threading.Thread(target=lambda: got.append(self.c.stat(name).size))
                t.start()
                t.join(0.5)  # the thread is (most likely) waiting on the socket now
                self.assertEqual(sum(range(1000)), 499500)  # Python runs meanwhile
                self.assertFalse(os.path.exists(mark), "the wait held the GIL")
            finally:
                os.kill(pid, signal.SIGCONT)
            t.join(30)
            self.assertEqual(got, [10])
        finally:
            os.killpg(watchdog.pid, signal.SIGKILL)  # sh and its sleep
            watchdog.wait()


class TestRestart(Base):
    def test_the_daemon_restarting_under_a_live_view(self):
        name = self.segment(4096, b"before")
        v = self.c.open(name, writable=True)
        H.daemon.restart()
        self.assertEqual(bytes(v[:6]), b"before")  # still mapped
        v[:5] = b"after"
        # The next request reconnects and re-registers the view's lease.
        self.assertEqual(self.c.stat(name).views, 1)
        with self.c.open(name) as w:
            self.assertEqual(bytes(w[:6]), b"aftere")
        v.release()


class TestSharedMemory(Base):
    def test_dropping_the_creator_object_keeps_the_segment(self):
        shm = shmview.SharedMemory(create=True, size=10)
        name = shm.name
        shm.buf[:3] = b"abc"
        del shm
        gc.collect()
        again = shmview.SharedMemory(name)
        self.assertEqual(bytes(again.buf[:3]), b"abc")
        again.close()
        again.unlink()
        with self.assertRaises(FileNotFoundError):
            shmview.SharedMemory(name)

    def test_close_while_slices_of_buf_live(self):
        shm = shmview.SharedMemory(create=True, size=10)
        s = shm.buf[2:4]
        with self.assertRaises(BufferError):
            shm.close()
        s.release()
        shm.close()
        shm.unlink()

    @unittest.skipUnless(shmview.HAVE_EPHEMERAL,
                         "needs ephemeral segments (SHMV_CREATE_EPHEMERAL): enabled when the "
                         "daemon's ephemeral flag lands")
    def test_outlives_its_creator_while_mapped_then_goes(self):
        code = """
            import shmview, sys, time
            shm = shmview.SharedMemory(create=True, size=4096)
            shm.buf[:5] = b"alive"
            print(shm.name, flush=True)
            time.sleep(600)
        """
        p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)],
                             stdout=subprocess.PIPE, text=True)
        name = p.stdout.readline().strip()
        shm = shmview.SharedMemory(name)
        p.kill()  # the creator dies without unlink: no tracker unlinks it
        p.wait()
        p.stdout.close()
        H.wait_for(lambda: self.c.stat(name).views == 1, what="the creator's leases to end")
        self.assertEqual(bytes(shm.buf[:5]), b"alive")
        shm.close()  # the last holder: the daemon removes it

        self.wait_gone(name, "the segment to go with its last view")


@unittest.skipUnless(shmview.HAVE_EPHEMERAL,
                     "libshmview has no ephemeral segments yet (SHMV_CREATE_EPHEMERAL): "
                     "enabled when the daemon's ephemeral flag lands")
class TestEphemeral(Base):
    def test_gone_after_kill_9_of_every_holder(self):
        name = fresh("eph")
        self.c.create(name, 4096, ephemeral=True)
        self.assertTrue(self.c.stat(name).ephemeral)
        code = """
            import shmview, sys, time
            c = shmview.connect(sys.argv[1])
            v = c.open(sys.argv[2], writable=True)
            print("holding", flush=True)
            time.sleep(600)
        """
        procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), H.daemon.socket,
                                   name], stdout=subprocess.PIPE, text=True) for _ in range(2)]
        for p in procs:
            self.assertEqual(p.stdout.readline().strip(), "holding")
        self.assertEqual(self.c.stat(name).views, 2)
        procs[0].kill()
        procs[0].wait()
        H.wait_for(lambda: self.c.stat(name).views == 1, what="the first holder's lease to end")
        procs[1].kill()
        procs[1].wait()

        self.wait_gone(name, "the ephemeral segment to go")
        for p in procs:
            p.stdout.close()

    def test_anonymous_view_descriptor_opens_elsewhere(self):
        v = shmview.View(b"shared anonymously")
        code = """
            import shmview, sys
            with shmview.connect(sys.argv[1]) as c, c.open_descriptor(sys.argv[2]) as w:
                assert w == b"shared anonymously"
        """
        child_python(code, H.daemon.socket, v.descriptor)
        v.release()


if __name__ == "__main__":
    H.run()

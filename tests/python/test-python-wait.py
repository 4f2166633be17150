# SPDX-License-Identifier: MIT
"""View's data plane from Python: load32/store32 (acquire/release), wait and
wake across real separate processes (no daemon in between), timeouts,
read-only views, many waiters, errors, signals, the single-producer hand-off
end to end, and a writer killed while a reader waits."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

import shmview  # noqa: E402

SEQ, ACK, LEN, DATA = 0, 64, 128, 192  # the hand-off's layout (docs/python.md)


def fresh(prefix="wait"):
    return H.fresh_name(prefix)


def spawn(test, code, *args):
    """A new interpreter running code (argv[1] the socket), lines on stdout;
    killed at the end of the test if still running."""
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), H.daemon.socket, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def reap():
        if p.poll() is None:
            p.kill()
        p.communicate()

    test.addCleanup(reap)
    return p


def finish(test, p, timeout=60):
    """Wait for p, fail with its stderr unless it exited 0; its stdout."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        test.fail(f"child hung:\n{out}\n{err}")
    test.assertEqual(p.returncode, 0, f"child failed:\n{out}\n{err}")
    return out


def asleep(pid, tid=None):
    """True while the process (or its thread tid) sleeps in the kernel's futex."""
    path = f"/proc/{pid}/task/{tid}/wchan" if tid else f"/proc/{pid}/wchan"
    try:
        with open(path) as f:
            return "futex" in f.read()
    except OSError:
        return False


def wait_asleep(test, pid, tid=None):
    if not os.path.exists(f"/proc/{pid}/wchan"):
        test.skipTest("this kernel does not show where a process sleeps (wchan)")
    H.wait_for(lambda: asleep(pid, tid), what=f"{pid} to sleep in a futex")


class Base(H.ClientTestCase):
    def segment(self, size=4096):
        name = fresh()
        self.c.create(name, size)
        self.names.append(name)
        return name


class TestWord(Base):
    def test_load_and_store(self):
        name = self.segment()
        with self.c.open(name, writable=True) as v, self.c.open(name) as ro:
            self.assertEqual(v.load32(0), 0)
            v.store32(4, 0xDEADBEEF)
            self.assertEqual(ro.load32(4), 0xDEADBEEF)
            self.assertEqual(bytes(ro[4:8]), (0xDEADBEEF).to_bytes(4, sys.byteorder))
            v.store32(4092, 2**32 - 1)  # the last word of the view
            self.assertEqual(ro.load32(4092), 2**32 - 1)
            with self.assertRaises(TypeError):
                ro.store32(0, 1)  # read-only memory
            for bad in (-1, 2**32):
                with self.assertRaises(ValueError):
                    v.store32(0, bad)
            with self.assertRaises(TypeError):
                v.store32(0, 1.5)

    def test_signatures(self):
        import inspect

        sig = {m: inspect.signature(getattr(shmview.View, m))
               for m in ("load32", "store32", "wait", "wake")}
        self.assertEqual(sig["wake"].parameters["count"].default, shmview.WAKE_ALL)
        self.assertEqual(sig["wait"].parameters["spin"].kind, inspect.Parameter.KEYWORD_ONLY)
        self.assertIsNone(sig["wait"].parameters["timeout"].default)

    def test_misaligned_and_out_of_range(self):
        name = self.segment()
        with self.c.open(name, 2, 100, writable=True) as v:  # segment offset 2
            for call in (lambda o: v.load32(o), lambda o: v.store32(o, 1),
                         lambda o: v.wait(o, 1, timeout=0), lambda o: v.wake(o)):
                with self.assertRaises(ValueError):
                    call(0)  # segment position 2: not a multiple of 4
                with self.assertRaises(ValueError):
                    call(5)
                with self.assertRaises(OSError) as cm:
                    call(98)  # aligned, but 2 of its bytes are past the view
                self.assertEqual(cm.exception.errno, errno.ERANGE)
                with self.assertRaises(OSError) as cm:
                    call(2**40)
                self.assertEqual(cm.exception.errno, errno.ERANGE)
                with self.assertRaises(ValueError):
                    call(-2)
            self.assertEqual(v.load32(2), 0)  # segment position 4
            self.assertEqual(v.load32(94), 0)  # the last whole word
            s = v[2:6]  # a slice at segment offset 4: its word 0 is aligned
            self.assertEqual(s.load32(0), 0)
            with self.assertRaises(OSError) as cm:
                s.load32(4)
            self.assertEqual(cm.exception.errno, errno.ERANGE)
            s.release()
        with self.c.open(name, 0, 3) as short:  # no whole word at all
            with self.assertRaises(OSError) as cm:
                short.load32(0)
            self.assertEqual(cm.exception.errno, errno.ERANGE)

    def test_released_view_and_bad_arguments(self):
        name = self.segment()
        v = self.c.open(name, writable=True)
        with self.assertRaises(ValueError):
            v.wait(0, 0, timeout=-1)
        with self.assertRaises(ValueError):
            v.wait(0, 0, timeout=float("nan"))
        with self.assertRaises(ValueError):
            v.wait(0, 0, timeout=0, spin=-1)
        with self.assertRaises(ValueError):
            v.wait(0, 0, timeout=0, spin="forever")
        with self.assertRaises(ValueError):
            v.wait(0, 2**32, timeout=0)
        with self.assertRaises(ValueError):
            v.wake(0, 0)
        with self.assertRaises(TypeError):
            v.wake(0, "all")
        self.assertEqual(v.wake(0, 2**70), 0)  # more than WAKE_ALL: all (none here)
        v.release()
        for call in (lambda: v.load32(0), lambda: v.store32(0, 1), lambda: v.wait(0, 0),
                     lambda: v.wake(0)):
            with self.assertRaises(ValueError):
                call()


class TestWait(Base):
    def test_timeouts(self):
        name = self.segment()
        with self.c.open(name, writable=True) as v:
            self.assertIs(v.wait(0, 0, timeout=0), False)  # holds expected: no sleep
            self.assertIs(v.wait(0, 1, timeout=0), True)  # differs: at once
            self.assertIs(v.wait(0, 1), True)  # no limit, but it differs
            for kw in ({}, {"spin": 0.001}, {"spin": shmview.SPIN_ADAPTIVE}):
                t0 = time.monotonic()
                self.assertIs(v.wait(0, 0, timeout=0.25, **kw), False)  # longer than a slice
                self.assertGreaterEqual(time.monotonic() - t0, 0.25)
            self.assertEqual(v.wake(0), 0)  # nobody waits
            self.assertEqual(shmview.WAKE_ALL, 2**31 - 1)

    def test_waiter_woken_by_a_wake_from_another_process(self):
        name = self.segment()
        v = self.c.open(name, writable=True)
        p = spawn(self, """
            import shmview, sys
            v = shmview.connect(sys.argv[1]).open(sys.argv[2], writable=True)
            print("ready", flush=True)
            print(v.wait(0, 0, timeout=60), v.load32(0), flush=True)
        """, name)
        self.assertEqual(p.stdout.readline(), "ready\n")
        # A bare wake, no change: it ends the wait only if it reaches the
        # futex the child sleeps on (wake() says how many it woke).
        H.wait_for(lambda: v.wake(0, 1) == 1, what="a wake to reach the child")
        self.assertEqual(finish(self, p), "True 0\n")
        v.release()

    def test_writer_in_one_process_wakes_a_waiter_in_another(self):
        name = self.segment()
        v = self.c.open(name, writable=True)
        p = spawn(self, """
            import shmview, sys
            v = shmview.connect(sys.argv[1]).open(sys.argv[2], writable=True)
            print("ready", flush=True)
            while v.load32(8) == 0:
                v.wait(8, 0, timeout=60, spin=shmview.SPIN_ADAPTIVE)
            print(v.load32(8), bytes(v[12:17]), flush=True)
        """, name)
        self.assertEqual(p.stdout.readline(), "ready\n")
        wait_asleep(self, p.pid)
        v[12:17] = b"hello"
        v.store32(8, 42)
        self.assertLessEqual(v.wake(8), 1)
        self.assertEqual(finish(self, p), "42 b'hello'\n")
        v.release()

    def test_read_only_view_waits_and_wakes(self):
        name = self.segment()
        v = self.c.open(name, writable=True)
        p = spawn(self, """
            import shmview, sys, time
            v = shmview.connect(sys.argv[1]).open(sys.argv[2])  # read-only
            assert v.readonly
            try:
                v.store32(0, 1)
            except TypeError:
                pass
            else:
                sys.exit("store32 on a read-only view worked")
            print("ready", flush=True)
            while v.load32(0) == 0:
                v.wait(0, 0, timeout=60)
            print("seen", v.load32(0), flush=True)
            # Now the other way: the writer waits on word 64; wake it from here.
            deadline = time.monotonic() + 30
            while v.wake(64) == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            print("woke", flush=True)
        """, name)
        self.assertEqual(p.stdout.readline(), "ready\n")
        wait_asleep(self, p.pid)
        v.store32(0, 5)
        v.wake(0)
        self.assertEqual(p.stdout.readline(), "seen 5\n")
        self.assertIs(v.wait(64, 0, timeout=60), True)  # woken by the read-only view
        self.assertEqual(v.load32(64), 0)  # a wake, not a change
        self.assertEqual(finish(self, p), "woke\n")
        v.release()

    def test_many_waiters_woken_at_once(self):
        name = self.segment()
        v = self.c.open(name, writable=True)
        code = """
            import shmview, sys
            v = shmview.connect(sys.argv[1]).open(sys.argv[2])
            print("ready", flush=True)
            seen = 0
            while seen < 100:
                while v.load32(0) == seen:
                    v.wait(0, seen, timeout=60)
                seen = v.load32(0)
                print(seen, flush=True)
        """
        procs = [spawn(self, code, name) for _ in range(4)]
        for p in procs:
            self.assertEqual(p.stdout.readline(), "ready\n")
        woken = []
        for k in range(1, 6):
            for p in procs:
                wait_asleep(self, p.pid)
            v.store32(0, k)
            woken.append(v.wake(0))  # WAKE_ALL
            for p in procs:
                self.assertEqual(p.stdout.readline(), f"{k}\n")
            if woken[-1] == len(procs):
                break
        # One wake() woke all four (a round can miss one that was between
        # two of its wait's slices: it saw the change on its next look).
        self.assertEqual(woken[-1], len(procs), woken)
        v.store32(0, 100)
        v.wake(0)
        for p in procs:
            self.assertEqual(finish(self, p), "100\n")
        v.release()

    def test_release_refused_while_another_thread_waits(self):
        name = self.segment()
        v = self.c.open(name, writable=True)
        res = []
        t = threading.Thread(target=lambda: res.append(v.wait(0, 0, timeout=60)))
        t.start()
        wait_asleep(self, os.getpid(), t.native_id)  # the GIL was released
        with self.assertRaises(BufferError):
            v.release()
        v.store32(0, 1)
        v.wake(0)
        t.join(60)
        self.assertEqual(res, [True])
        v.release()

    def test_keyboard_interrupt_ends_a_wait(self):
        name = self.segment()
        p = spawn(self, """
            import shmview, sys
            v = shmview.connect(sys.argv[1]).open(sys.argv[2])
            print("ready", flush=True)
            try:
                v.wait(0, 0)  # no timeout
            except KeyboardInterrupt:
                print("interrupted", flush=True)
            v.release()  # the wait is over: release works
            print("released", flush=True)
        """, name)
        self.assertEqual(p.stdout.readline(), "ready\n")
        wait_asleep(self, p.pid)
        p.send_signal(signal.SIGINT)
        self.assertEqual(finish(self, p), "interrupted\nreleased\n")

    def test_a_handler_that_returns_does_not_end_the_wait(self):
        name = self.segment()
        p = spawn(self, """
            import shmview, signal, sys
            got = []
            signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
            v = shmview.connect(sys.argv[1]).open(sys.argv[2])
            print("ready", flush=True)
            r = v.wait(0, 0, timeout=1.0)
            print(r, got, flush=True)
        """, name)
        self.assertEqual(p.stdout.readline(), "ready\n")
        wait_asleep(self, p.pid)
        p.send_signal(signal.SIGUSR1)
        self.assertEqual(finish(self, p), "False [1]\n")


CONSUMER = """
    import shmview, sys, hashlib
    SEQ, ACK, LEN, DATA = 0, 64, 128, 192
    def message(i):
        return hashlib.sha256(str(i).encode()).digest() * (i * 37 % 97)

    c = shmview.connect(sys.argv[1])
    v = c.open(sys.argv[2], writable=True)
    count = int(sys.argv[3])
    seen = v.load32(ACK)  # what this consumer acknowledged last
    for i in range(count):
        while (seq := v.load32(SEQ)) == seen:       # acquire
            v.wait(SEQ, seen, timeout=1.0)
        assert seq == (seen + 1) & 0xFFFFFFFF, (seq, seen)
        n = v.load32(LEN)
        data = bytes(v[DATA:DATA + n])
        assert data == message(i), f"message {i}: {len(data)} bytes, wrong content"
        seen = seq
        v.store32(ACK, seen)                         # release: done reading
        v.wake(ACK, 1)
    print("ok", count, flush=True)
"""


class TestHandOff(Base):
    def test_single_producer_pattern_end_to_end(self):
        import hashlib

        def message(i):
            return hashlib.sha256(str(i).encode()).digest() * (i * 37 % 97)

        count = 300
        name = self.segment(DATA + 32 * 97)
        v = self.c.open(name, writable=True)
        p = spawn(self, CONSUMER, name, str(count))
        seq = v.load32(SEQ)
        deadline = time.monotonic() + 120
        for i in range(count):
            while (ack := v.load32(ACK)) != seq:  # the consumer is done with the last one
                v.wait(ACK, ack, timeout=1.0)
                self.assertIsNone(p.poll(), "the consumer died")
                self.assertLess(time.monotonic(), deadline, f"stuck at message {i}")
            m = message(i)
            v[DATA:DATA + len(m)] = m
            v.store32(LEN, len(m))
            seq = (seq + 1) & 0xFFFFFFFF
            v.store32(SEQ, seq)  # release: publishes the payload and its length
            v.wake(SEQ, 1)
        self.assertEqual(finish(self, p), f"ok {count}\n")
        self.assertEqual((v.load32(SEQ), v.load32(ACK)), (count, count))
        v.release()

    def test_writer_killed_while_a_reader_waits(self):
        name = self.segment()
        writer = spawn(self, """
            import shmview, sys, time
            v = shmview.connect(sys.argv[1]).open(sys.argv[2], writable=True)
            v[192:197] = b"first"
            v.store32(128, 5)
            v.store32(0, 1)  # publish message 1
            v.wake(0)
            while v.load32(64) != 1:  # until the reader acknowledges it
                v.wait(64, 0, timeout=30)
            v[192:197] = b"GARBA"  # message 2, half written: never published
            print("mid-write", flush=True)
            time.sleep(600)
        """, name)
        reader = spawn(self, """
            import shmview, sys
            c = shmview.connect(sys.argv[1])
            v = c.open(sys.argv[2], writable=True)
            while v.load32(0) == 0:
                v.wait(0, 0, timeout=30)
            print("got", bytes(v[192:192 + v.load32(128)]), flush=True)
            v.store32(64, 1)  # acknowledge
            v.wake(64)
            timeouts = 0
            while True:
                if v.wait(0, 1, timeout=0.5):
                    sys.exit(f"woken with seq {v.load32(0)}")
                timeouts += 1
                if c.stat(sys.argv[2]).writable_views == 1:  # only ours: the writer is gone
                    break
                if timeouts > 200:
                    sys.exit("the writer's lease never went")
            print("writer gone; seq", v.load32(0), "timeouts", min(timeouts, 1), flush=True)
        """, name)
        self.assertEqual(reader.stdout.readline(), "got b'first'\n")
        self.assertEqual(writer.stdout.readline(), "mid-write\n")
        wait_asleep(self, reader.pid)
        writer.kill()
        writer.communicate()
        self.assertEqual(finish(self, reader), "writer gone; seq 1 timeouts 1\n")


if __name__ == "__main__":
    H.run()

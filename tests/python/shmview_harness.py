# SPDX-License-Identifier: MIT
"""The real, built shmviewd for the Python tests (tests/harness.c's twin).

Each daemon gets a private temporary directory for its socket and a unique
--prefix, so test runs never collide; stopping it removes the directory and
reports any /dev/shm object left under its prefix, so a test can assert
that nothing stayed behind. A test module calls run() as its main: it
starts one daemon for the module, points $SHMVIEW_SOCKET at it (so
shmview.default_client(), View() and SharedMemory, in this process and in
every child, use it), runs the unittest suite and exits with automake's
codes (0 pass, 1 fail, 77 skipped).
"""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SKIP = 77
_counter = 0


def _die_with_parent():
    # PR_SET_PDEATHSIG: a daemon never outlives a test killed mid-way.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class Daemon:
    def __init__(self, extra_args=()):
        global _counter
        _counter += 1
        self.exe = os.environ.get("SHMVIEWD")
        if not self.exe:
            raise unittest.SkipTest("SHMVIEWD is not set (run through make check)")
        self.extra_args = list(extra_args)
        self.dir = tempfile.mkdtemp(prefix=f"shmvt{os.getpid()}-py")
        self.socket = os.path.join(self.dir, "s.sock")
        self.prefix = f"shmvt{os.getpid()}-py{_counter}"
        self.proc = None
        self.start()

    def start(self):
        args = [self.exe, "--socket", self.socket, "--prefix", self.prefix,
                "--log-level", "debug" if os.environ.get("SHMVIEW_TEST_DEBUG") else "warning"]
        self.valgrind = os.environ.get("SHMVIEW_TEST_VALGRIND") == "1"
        if self.valgrind:
            # As tests/harness.c: memcheck, errors and leaks fail the stop.
            args = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
                    "--show-leak-kinds=definite,indirect",
                    "--errors-for-leak-kinds=definite,indirect", "--track-fds=no",
                    f"--log-file={self.dir}/valgrind.log"] + args
        self.proc = subprocess.Popen(args + self.extra_args, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + (60 if self.valgrind else 10)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"shmviewd exited during start-up ({self.proc.returncode})")
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(self.socket)
                return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("shmviewd did not accept connections within 10 s")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        rc, self.proc = (self.proc.returncode if self.proc else 0), None
        return rc

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=30)
            self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def shm_objects(self):
        """The segment objects under the prefix (not the prefix lock,
        PREFIX..lock, which a clean stop leaves in place by design)."""
        start = self.prefix + "."
        return sorted(n for n in os.listdir("/dev/shm")
                      if n.startswith(start) and n != self.prefix + "..lock")

    def cleanup(self):
        """Stop, remove the directory; return the shm objects that were left
        (and remove them too). Under valgrind, a report fails the run."""
        rc = self.stop()
        if self.valgrind and rc != 0:
            with open(f"{self.dir}/valgrind.log", encoding="utf-8", errors="replace") as f:
                print(f.read())
            raise AssertionError(f"shmviewd under valgrind exited with {rc}")
        left = self.shm_objects()
        for n in left + [self.prefix + "..lock"]:
            try:
                os.unlink("/dev/shm/" + n)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        return left


daemon = None


_names = 0


NOBODY = 65534


def as_nobody(fn):
    """Run fn() in a forked child that became uid/gid 65534 (no other
    groups); fail if it fails. The caller must be root."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            fn()
            code = 0
        except BaseException as e:  # the parent reports the exit status
            print(f"child failed: {e!r}", file=sys.stderr)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "nobody's child failed"


def fresh_name(prefix):
    """A segment name no other test of this process uses."""
    global _names
    _names += 1
    return f"{prefix}-{os.getpid()}-{_names}"


class ClientTestCase(unittest.TestCase):
    """A test with its own connection (self.c) to the module's daemon; the
    segments it puts in self.names are unlinked when it ends."""

    def setUp(self):
        import shmview

        self.c = shmview.connect(daemon.socket)
        self.names = []

    def tearDown(self):
        for n in self.names:
            try:
                self.c.unlink(n)
            except FileNotFoundError:
                pass
        self.c.close()


def wait_for(predicate, timeout=10.0, what="condition"):
    """Poll predicate until true; generous deadline, no timing assertions."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def cpython_test_module(name):
    """CPython's own test module `test.<name>`; exits 77 (skipped) when the
    test suite is not installed."""
    import importlib

    try:
        return importlib.import_module(f"test.{name}")
    except ImportError:
        print("SKIP: CPython's test suite is not installed (Debian: libpython3-testsuite / "
              f"libpython{sys.version_info[0]}.{sys.version_info[1]}-testsuite)")
        sys.exit(SKIP)


def run(module_name="__main__", check_clean=True):
    """Start the module's daemon, run its tests, stop; exit with 0/1/77."""
    global daemon
    try:
        daemon = Daemon()
    except unittest.SkipTest as e:
        print(f"SKIP: {e}")
        sys.exit(SKIP)
    os.environ["SHMVIEW_SOCKET"] = daemon.socket
    ok = False
    try:
        prog = unittest.main(module=module_name, exit=False, verbosity=2)
        ok = prog.result.wasSuccessful()
    finally:
        import gc
        gc.collect()
        try:
            import shmview
            shmview.default_client().close()
            # Let the daemon take in the closed connections (ephemeral
            # segments go with their last lease) before it is stopped.
            with shmview.connect(daemon.socket) as c:
                wait_for(lambda: c.status().views == 0, what="every view to be released")
        except Exception as e:
            print(f"warning: {e}")
        try:
            left = daemon.cleanup()
        except AssertionError as e:
            print(f"FAIL: {e}")
            left, ok = [], False
        if left and check_clean:
            print(f"FAIL: left behind in /dev/shm: {left}")
            ok = False
    sys.exit(0 if ok else 1)

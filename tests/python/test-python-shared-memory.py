# SPDX-License-Identifier: MIT
"""CPython's own SharedMemory tests (_TestSharedMemory in
Lib/test/_test_multiprocessing.py, Debian's libpython3.X-testsuite) with
shmview.SharedMemory and shmview.ShareableList standing in for the
standard library's, in processes started with the fork method.

The suite reaches the standard library through its module global
`shared_memory`; here that name is a module holding shmview's classes (and
the standard library's name maker, which shmview.SharedMemory uses too, so
the tests that patch it still steer the names). Tests that exercise only
the standard library's SharedMemoryManager are skipped with the reason;
one is rewritten for shmview's lifetime rule. Exits 77 (skipped) when the
test suite is not installed.
"""

import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

tm = H.cpython_test_module("_test_multiprocessing")

from multiprocessing import shared_memory as std_shared_memory  # noqa: E402

import shmview  # noqa: E402

stand_in = types.ModuleType("shmview_as_shared_memory")
stand_in.SharedMemory = shmview.SharedMemory
stand_in.ShareableList = shmview.ShareableList
stand_in._make_filename = std_shared_memory._make_filename
stand_in._SHM_NAME_PREFIX = std_shared_memory._SHM_NAME_PREFIX
stand_in._USE_POSIX = True
tm.shared_memory = stand_in

MANAGER_ONLY = ("exercises only the standard library's SharedMemoryManager, whose server "
                "makes standard-library segments shmview cannot attach to; shmview needs no "
                "manager process (the daemon's leases replace it and the resource tracker)")


class Overrides:
    @unittest.skip(MANAGER_ONLY)
    def test_shared_memory_SharedMemoryServer_ignores_sigint(self):
        pass

    @unittest.skip(MANAGER_ONLY)
    def test_shared_memory_SharedMemoryManager_reuses_resource_tracker(self):
        pass

    @unittest.skip(MANAGER_ONLY)
    def test_shared_memory_SharedMemoryManager_basics(self):
        pass

    @unittest.skipUnless(shmview.HAVE_EPHEMERAL,
                         "needs ephemeral segments (SHMV_CREATE_EPHEMERAL), not yet in "
                         "libshmview: enabled when the daemon's ephemeral flag lands")
    def test_shared_memory_cleaned_after_process_termination(self):
        # Rewritten: the original starts a process with the standard
        # library's SharedMemory and checks that its resource tracker
        # unlinks the segment and warns. With shmview the creator's lease
        # ends with the process (here terminated), and the daemon removes
        # the ephemeral segment: nothing leaks, and there is nothing to warn.
        cmd = '''if 1:
            import sys, time, shmview
            sm = shmview.SharedMemory(create=True, size=10)
            sys.stdout.write(sm.name + '\\n')
            sys.stdout.flush()
            time.sleep(100)
        '''
        with subprocess.Popen([sys.executable, "-c", textwrap.dedent(cmd)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as p:
            name = p.stdout.readline().strip().decode()
            p.terminate()
            p.wait()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    shmview.SharedMemory(name, create=False).close()
                except FileNotFoundError:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("a SharedMemory segment was leaked after its only "
                                     "process was terminated")
            self.assertNotIn("leaked", p.stderr.read().decode())


class WithProcessesTestSharedMemory(Overrides, tm._TestSharedMemory, tm.ProcessesMixin,
                                    unittest.TestCase):
    pass


_old_method = None


def setUpModule():
    global _old_method
    _old_method = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("fork", force=True)


def tearDownModule():
    multiprocessing.set_start_method(_old_method, force=True)


if __name__ == "__main__":
    H.run()

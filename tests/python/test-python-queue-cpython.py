# SPDX-License-Identifier: MIT
"""CPython's own queue tests (_TestQueue and TestSimpleQueue in
Lib/test/_test_multiprocessing.py, Debian's libpython3.X-testsuite) with
shmview.Queue, JoinableQueue and SimpleQueue standing in for the standard
library's, under the fork, spawn and forkserver start methods.

The suite reaches the queues through its mixin (self.Queue,
self.JoinableQueue) and, in a few tests, through its module global
`multiprocessing`; here that name is a module that forwards everything to
multiprocessing but the three queue classes (and multiprocessing.queues'),
which are shmview's. The tests that exercise what shmview does differently
on purpose are skipped with the reason; one that imports the standard
library's Queue by itself is rewritten for shmview's. Exits 77 (skipped)
when the test suite is not installed.
"""

import multiprocessing
import os
import sys
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

tm = H.cpython_test_module("_test_multiprocessing")

from test.support import import_helper, os_helper  # noqa: E402

import shmview  # noqa: E402


class _Multiprocessing(types.ModuleType):
    """multiprocessing, but for its queues."""

    def __getattr__(self, name):
        return getattr(multiprocessing, name)


stand_in = _Multiprocessing("multiprocessing")
stand_in.Queue = shmview.Queue
stand_in.JoinableQueue = shmview.JoinableQueue
stand_in.SimpleQueue = shmview.SimpleQueue
stand_in.queues = types.SimpleNamespace(Queue=shmview.Queue, JoinableQueue=shmview.JoinableQueue,
                                        SimpleQueue=shmview.SimpleQueue)
tm.multiprocessing = stand_in

PICKLES_IN_PUT = ("shmview.Queue pickles in put(), in the caller, so an object that cannot be "
                  "pickled raises there (documented in docs/python.md) instead of reaching a "
                  "feeder thread and its _on_queue_feeder_error hook, which this test exercises")
PIPE_ONLY = ("checks the standard library's pipe (the private _reader and _writer "
             "connections), which a channel has not; close() itself is tested by test_close")


class QueueOverrides:
    @unittest.skip(PICKLES_IN_PUT)
    def test_queue_feeder_donot_stop_onexc(self):
        pass

    @unittest.skip(PICKLES_IN_PUT)
    def test_queue_feeder_on_queue_feeder_error(self):
        pass

    def test_no_import_lock_contention(self):
        # Rewritten: the original writes a module that imports
        # multiprocessing.Queue by itself; this one uses shmview's.
        with os_helper.temp_cwd():
            module_name = 'imported_by_an_imported_module_shmview'
            with open(module_name + '.py', 'w', encoding="utf-8") as f:
                f.write("""if 1:
                    import shmview

                    q = shmview.Queue()
                    q.put('knock knock')
                    q.get(timeout=3)
                    q.close()
                    del q
                """)

            with import_helper.DirsOnSysPath(os.getcwd()):
                try:
                    __import__(module_name)
                except tm.pyqueue.Empty:
                    self.fail("Probable regression on import lock contention;"
                              " see Issue #22853")


class SimpleQueueOverrides:
    @unittest.skip(PIPE_ONLY)
    def test_closed(self):
        pass


def with_method(method):
    ctx = multiprocessing.get_context(method)
    attrs = {"Process": ctx.Process, "Event": staticmethod(ctx.Event),
             "Queue": staticmethod(shmview.Queue),
             "JoinableQueue": staticmethod(shmview.JoinableQueue)}
    queue_cls = type(f"With{method.title()}TestQueue",
                     (QueueOverrides, tm._TestQueue, tm.ProcessesMixin, unittest.TestCase), attrs)
    return queue_cls


# The classes are module globals: spawn and forkserver children find the
# tests' classmethods by name.
WithForkTestQueue = with_method("fork")
WithSpawnTestQueue = with_method("spawn")
WithForkserverTestQueue = with_method("forkserver")
for _cls in (WithForkTestQueue, WithSpawnTestQueue, WithForkserverTestQueue):
    _cls.__module__ = __name__
del _cls  # (else the loader finds the last class twice)


class TestSimpleQueue(SimpleQueueOverrides, tm.TestSimpleQueue):
    # multiprocessing.SimpleQueue and Process here are the stand-in's and
    # the default start method's (fork on Linux).
    pass


if __name__ == "__main__":
    H.run()

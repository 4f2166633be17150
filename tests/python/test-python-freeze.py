# SPDX-License-Identifier: MIT
"""Client.freeze(name) and SegmentInfo.frozen against the real daemon: a
frozen segment refuses writable views and resizing (EROFS) while read-only
views work, freezing with a writable view open is a BusyError, only the
owner (or root) may freeze, the flag survives a daemon restart, and a
caller who may not read the segment sees frozen as None. Another user is
uid 65534 in a forked child (root only; those tests are skipped
otherwise)."""

import errno
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

import shmview  # noqa: E402

NOBODY = H.NOBODY
as_nobody = H.as_nobody


class TestFreeze(H.ClientTestCase):
    def segment(self, data=b"constant", mode=0o600):
        name = H.fresh_name("frz")
        self.c.create(name, 4096, mode)
        self.names.append(name)
        with self.c.open(name, writable=True) as v:
            v[: len(data)] = data
        return name

    def test_frozen_refuses_writes_and_resizing(self):
        name = self.segment()
        info = self.c.stat(name)
        self.assertIs(info.frozen, False)
        self.assertEqual(len(info), 10)  # by name only: the tuple is unchanged
        self.assertIsNone(self.c.freeze(name))
        self.assertIs(self.c.stat(name).frozen, True)
        self.assertEqual([s.frozen for s in self.c.list() if s.name == name], [True])
        with self.assertRaises(OSError) as cm:
            self.c.open(name, writable=True)
        self.assertEqual((cm.exception.errno, cm.exception.filename), (errno.EROFS, name))
        with self.assertRaises(OSError) as cm:
            self.c.resize(name, 8192)
        self.assertEqual(cm.exception.errno, errno.EROFS)
        with self.c.open(name) as v:  # read-only views work as before
            self.assertEqual(bytes(v[:8]), b"constant")
        self.c.freeze(name)  # again: nothing to do, no error
        self.assertIs(self.c.stat(name).frozen, True)

    def test_freeze_with_a_writable_view_open_is_busy(self):
        name = self.segment()
        v = self.c.open(name, writable=True)
        with self.assertRaises(shmview.BusyError) as cm:
            self.c.freeze(name)
        self.assertEqual(cm.exception.errno, errno.EBUSY)
        self.assertIs(self.c.stat(name).frozen, False)
        v.release()
        self.c.freeze(name)
        self.assertIs(self.c.stat(name).frozen, True)

    def test_freeze_errors(self):
        with self.assertRaises(FileNotFoundError):
            self.c.freeze(H.fresh_name("none"))
        with self.assertRaises(ValueError):
            self.c.freeze(".bad")
        with self.assertRaises(TypeError):
            self.c.freeze(b"bytes")

    def test_frozen_survives_a_restart(self):
        name = self.segment()
        self.c.freeze(name)
        H.daemon.restart()
        self.assertIs(self.c.stat(name).frozen, True)
        with self.assertRaises(OSError) as cm:
            self.c.open(name, writable=True)
        self.assertEqual(cm.exception.errno, errno.EROFS)


@unittest.skipUnless(os.geteuid() == 0, "needs root to become another user")
class TestFreezeOtherUser(H.ClientTestCase):
    @classmethod
    def setUpClass(cls):
        # nobody must be able to reach the daemon's socket
        os.chmod(H.daemon.dir, 0o711)
        os.chmod(H.daemon.socket, 0o666)

    def test_only_the_owner_freezes(self):
        name = H.fresh_name("frz")
        self.c.create(name, 4096, 0o666)  # nobody may even write it
        self.names.append(name)

        def fn():
            with shmview.connect(H.daemon.socket) as c:
                try:
                    c.freeze(name)
                except PermissionError as e:
                    assert e.errno == errno.EPERM and e.filename == name, e
                else:
                    raise AssertionError("nobody froze root's segment")
                assert c.stat(name).frozen is False

        as_nobody(fn)
        self.assertIs(self.c.stat(name).frozen, False)

    def test_restricted_caller_sees_no_frozen_flag(self):
        name = H.fresh_name("frz")
        self.c.create(name, 4096, 0o600)
        self.names.append(name)
        self.c.freeze(name)

        def fn():
            with shmview.connect(H.daemon.socket) as c:
                for s in [c.stat(name)] + [s for s in c.list() if s.name == name]:
                    assert (s.restricted, s.frozen, s.ephemeral) == (True, None, None), s

        as_nobody(fn)


if __name__ == "__main__":
    H.run()

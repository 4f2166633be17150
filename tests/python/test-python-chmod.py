# SPDX-License-Identifier: MIT
"""Client.chmod(name, mode) and Client.chown(name, uid=-1, gid=-1) against
the real daemon, as os.chmod and os.chown: the new mode, owner and group
show in stat and list and survive a daemon restart; -1 leaves a field;
bad modes are ValueError, missing names FileNotFoundError. Another user
(uid 65534 in a forked child, root only; skipped otherwise) may neither
chmod nor chown root's segment, may not give its own away, and opens
nothing more of a segment chmod'ed 0600."""

import errno
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

import shmview  # noqa: E402

NOBODY = H.NOBODY
as_nobody = H.as_nobody


class TestChmod(H.ClientTestCase):
    def segment(self, mode=0o600):
        name = H.fresh_name("chm")
        self.c.create(name, 4096, mode)
        self.names.append(name)
        return name

    def test_chmod_and_chown(self):
        name = self.segment()
        self.assertIsNone(self.c.chmod(name, 0o640))
        self.assertEqual(self.c.stat(name).mode, 0o640)
        self.assertIsNone(self.c.chown(name, gid=123))
        info = self.c.stat(name)
        self.assertEqual((info.uid, info.gid, info.mode), (0, 123, 0o640))
        self.c.chown(name)  # both -1: nothing changes
        self.c.chown(name, -1, -1)
        self.assertEqual(self.c.stat(name).gid, 123)
        self.c.chown(name, 7, 8)
        self.assertEqual([(s.uid, s.gid) for s in self.c.list() if s.name == name], [(7, 8)])

    def test_errors(self):
        name = self.segment()
        with self.assertRaises(ValueError):
            self.c.chmod(name, 0o1777)
        with self.assertRaises(FileNotFoundError):
            self.c.chmod(H.fresh_name("none"), 0o600)
        with self.assertRaises(FileNotFoundError):
            self.c.chown(H.fresh_name("none"), 1, 1)
        with self.assertRaises(OverflowError):
            self.c.chown(name, -2)
        with self.assertRaises(OverflowError):
            self.c.chown(name, 2**32)
        with self.assertRaises(TypeError):
            self.c.chown(name, "root")
        self.assertEqual(self.c.stat(name).mode, 0o600)

    def test_frozen_may_change_metadata(self):
        name = self.segment()
        self.c.freeze(name)
        self.c.chmod(name, 0o644)
        self.c.chown(name, gid=9)
        info = self.c.stat(name)
        self.assertEqual((info.mode, info.gid, info.frozen), (0o644, 9, True))

    def test_kept_across_a_restart(self):
        name = self.segment()
        self.c.chmod(name, 0o604)
        self.c.chown(name, NOBODY, 4242)
        H.daemon.restart()
        info = self.c.stat(name)
        self.assertEqual((info.mode, info.uid, info.gid), (0o604, NOBODY, 4242))


@unittest.skipUnless(os.geteuid() == 0, "needs root to become another user")
class TestChmodOtherUser(H.ClientTestCase):
    @classmethod
    def setUpClass(cls):
        # nobody must be able to reach the daemon's socket
        os.chmod(H.daemon.dir, 0o711)
        os.chmod(H.daemon.socket, 0o666)

    def test_stranger_changes_nothing(self):
        name = H.fresh_name("chm")
        self.c.create(name, 4096, 0o666)  # nobody may even write it
        self.names.append(name)

        def fn():
            with shmview.connect(H.daemon.socket) as c:
                for call in (lambda: c.chmod(name, 0o777), lambda: c.chown(name, NOBODY),
                             lambda: c.chown(name, gid=NOBODY)):
                    try:
                        call()
                    except PermissionError as e:
                        assert e.errno == errno.EPERM and e.filename == name, e
                    else:
                        raise AssertionError("nobody changed root's segment")

        as_nobody(fn)
        info = self.c.stat(name)
        self.assertEqual((info.mode, info.uid, info.gid), (0o666, 0, 0))

    def test_owner_may_not_give_it_away(self):
        name = H.fresh_name("chm")

        def fn():
            with shmview.connect(H.daemon.socket) as c:
                c.create(name, 4096, 0o600)
                c.chmod(name, 0o640)
                for uid, gid in ((0, -1), (-1, 0)):
                    try:
                        c.chown(name, uid, gid)
                    except PermissionError:
                        pass
                    else:
                        raise AssertionError(f"nobody's chown({uid}, {gid}) worked")
                c.chown(name, NOBODY, NOBODY)  # its own uid and group

        as_nobody(fn)
        self.names.append(name)
        info = self.c.stat(name)
        self.assertEqual((info.mode, info.uid, info.gid), (0o640, NOBODY, NOBODY))

    def test_chmod_0600_closes_later_opens(self):
        name = H.fresh_name("chm")
        self.c.create(name, 4096, 0o644)
        self.names.append(name)
        as_nobody(lambda: shmview.connect(H.daemon.socket).open(name).release())
        self.c.chmod(name, 0o600)

        def fn():
            with shmview.connect(H.daemon.socket) as c:
                try:
                    c.open(name)
                except PermissionError as e:
                    assert e.errno == errno.EACCES, e
                else:
                    raise AssertionError("nobody opened a 0600 segment")
                s = c.stat(name)
                assert (s.mode, s.restricted) == (0o600, True), s

        as_nobody(fn)


if __name__ == "__main__":
    H.run()

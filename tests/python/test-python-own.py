# SPDX-License-Identifier: MIT
"""Segment names are shared by every user: a caller that created a segment
opens it only if it is still its own (Client.open(own=True), SHMV_OWN), and
SharedMemory(create=True) does so. The other user is uid 65534 in a forked
child (root only; skipped otherwise)."""

import errno
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

import shmview  # noqa: E402

NOBODY = H.NOBODY
as_nobody = H.as_nobody


def nobody_creates(name):
    def fn():
        with shmview.connect(H.daemon.socket) as c:
            c.create(name, 4096, 0o666)
    as_nobody(fn)


@unittest.skipUnless(os.geteuid() == 0, "needs root to become another user")
@unittest.skipUnless(shmview.HAVE_OWN, "this libshmview has no SHMV_OWN")
class TestOwn(H.ClientTestCase):
    @classmethod
    def setUpClass(cls):
        # nobody must be able to reach the daemon's socket
        os.chmod(H.daemon.dir, 0o711)
        os.chmod(H.daemon.socket, 0o666)

    def test_open_own_refuses_another_owner(self):
        name = H.fresh_name("own")
        self.names.append(name)
        nobody_creates(name)
        with self.assertRaises(PermissionError) as cm:
            self.c.open(name, writable=True, own=True)
        self.assertEqual(cm.exception.errno, errno.EPERM)
        self.assertIn(f"owned by uid {NOBODY}", str(cm.exception))
        # without own, root may open it, as any file
        self.c.open(name).release()
        # its own: allowed
        mine = H.fresh_name("own")
        self.names.append(mine)
        self.c.create(mine, 16)
        self.c.open(mine, writable=True, own=True).release()

    def test_create_view_never_opens_another_owners(self):
        name = H.fresh_name("own")
        self.names.append(name)
        nobody_creates(name)
        with self.assertRaises(FileExistsError):
            self.c.create_view(name, 4096, ephemeral=True)
        self.assertEqual(self.c.stat(name).uid, NOBODY)

    def test_shared_memory_create_refuses_a_name_taken_in_between(self):
        # The name is freed and taken by nobody between SharedMemory's
        # create and its open (as a reaped ephemeral segment's could be).
        client = self.c
        name = H.fresh_name("own")
        self.names.append(name)

        class Racy(shmview.SharedMemory):
            def _create(self, segment, size):
                super()._create(segment, size)
                client.unlink(segment)
                nobody_creates(segment)

        with self.assertRaises(PermissionError):
            Racy(name, create=True, size=4096, client=client)
        self.assertEqual(self.c.stat(name).uid, NOBODY)


if __name__ == "__main__":
    H.run()

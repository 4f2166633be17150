# SPDX-License-Identifier: MIT
"""Sealed segments from Python: Client.create(..., sealed=True),
create_view(..., sealed=True) and View(data, sealed=True) make segments
whose SegmentInfo.sealed is True, that read and write like any other,
whose resize() is refused (PermissionError, with the daemon's sentence)
and whose freeze() works as a plain one's; the size of a sealed segment
cannot be changed even through the kernel (os.ftruncate on a descriptor
of its memory, /proc/self/map_files). A plain segment says sealed False."""

import ctypes
import errno
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

import shmview  # noqa: E402


def mapping_path(view):
    """/proc/self/map_files/LO-HI of the mapping holding a writable view's
    first byte."""
    ptr = ctypes.addressof(ctypes.c_char.from_buffer(view))
    with open("/proc/self/maps") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= ptr < hi:
                return f"/proc/self/map_files/{lo:x}-{hi:x}"
    return None


class TestSealed(H.ClientTestCase):
    def test_create_sealed(self):
        name = H.fresh_name("seal")
        self.c.create(name, 8192, sealed=True)
        self.names.append(name)
        info = self.c.stat(name)
        self.assertIs(info.sealed, True)
        self.assertEqual(len(info), 10)  # by name only: the tuple is unchanged
        self.assertEqual([s.sealed for s in self.c.list() if s.name == name], [True])
        with self.c.open(name, writable=True) as v:
            v[:5] = b"hello"
        with self.c.open(name) as v:
            self.assertEqual(bytes(v[:5]), b"hello")
        with self.assertRaises(PermissionError) as cm:
            self.c.resize(name, 16384)
        self.assertEqual(cm.exception.errno, errno.EPERM)
        self.assertIn("is sealed", str(cm.exception))
        self.assertEqual(self.c.stat(name).size, 8192)
        self.c.freeze(name)
        self.assertIs(self.c.stat(name).frozen, True)

    def test_plain_says_not_sealed(self):
        name = H.fresh_name("plain")
        self.c.create(name, 4096)
        self.names.append(name)
        self.assertIs(self.c.stat(name).sealed, False)

    def test_create_view_sealed_cannot_be_truncated(self):
        name = H.fresh_name("sealv")
        v = self.c.create_view(name, 65536, sealed=True)
        self.names.append(name)
        v[:4] = b"abcd"
        self.assertIs(self.c.stat(name).sealed, True)
        path = mapping_path(v)
        if os.geteuid() == 0:  # map_files is root's (CAP_SYS_ADMIN)
            self.assertIsNotNone(path)
            fd = os.open(path, os.O_RDWR)
            try:
                with self.assertRaises(PermissionError):
                    os.ftruncate(fd, 0)
                self.assertEqual(os.fstat(fd).st_size, 65536)
            finally:
                os.close(fd)
        self.assertEqual(bytes(v[:4]), b"abcd")
        v.release()

    def test_view_sealed(self):
        v = shmview.View(b"sealed data", sealed=True, client=self.c)
        self.assertEqual(bytes(v), b"sealed data")
        self.assertIs(self.c.stat(v.name).sealed, True)
        self.assertIs(self.c.stat(v.name).ephemeral, True)
        name = v.name
        v.release()
        with self.assertRaises(FileNotFoundError):
            self.c.stat(name)
        r = shmview.View(b"ro", readonly=True, sealed=True, client=self.c)
        self.assertTrue(r.readonly)
        self.assertIs(self.c.stat(r.name).sealed, True)
        r.release()


if __name__ == "__main__":
    H.run()

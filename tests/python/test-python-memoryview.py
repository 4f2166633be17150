# SPDX-License-Identifier: MIT
"""CPython's own memoryview tests (Lib/test/test_memoryview.py, Debian's
libpython3.X-testsuite) run against shmview.View.

Two ways, each with the plain, sliced and twice-sliced cases the suite has
(BaseMemoryviewTests, BaseMemorySliceTests, BaseMemorySliceSliceTests):

- View as the buffer *source*, the role bytes and bytearray play in the
  suite (rw_type = View, ro_type = a read-only View, getitem_type = View):
  memoryview over a View must behave as over a bytearray or bytes. Every
  test runs unchanged.
- View as the *view*, the role memoryview plays: the object under test is
  a shmview.View slice of a View (no memoryview involved), so the suite
  checks View's own indexing, slicing, assignment, comparison, release and
  attributes. One test is overridden, with its reason below.

Exits 77 (skipped) when the test suite is not installed.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

tm = H.cpython_test_module("test_memoryview")

import shmview  # noqa: E402


class ViewSource(tm.AbstractMemoryTests):
    rw_type = shmview.View
    getitem_type = shmview.View
    itemsize = 1
    format = "B"

    def ro_type(self, data):
        return shmview.View(data, readonly=True)

    def test_hash(self):
        # Overridden: memoryview hashes a read-only buffer by its bytes, as
        # bytes would hash, if its source is hashable. A read-only View's
        # bytes can still change under it (another process may hold a
        # writable view of the segment), so a hash would not stay true: View
        # is unhashable, read-only or not, with memoryview's exception for
        # unhashable views, and so is a memoryview of a View.
        m = self._view(self.ro_type(self._source))
        self.assertTrue(m.readonly)
        with self.assertRaisesRegex(ValueError, "other processes"):
            hash(m)
        m.release()
        with self.assertRaises(ValueError):
            hash(m)



# --- View as the source of a memoryview -------------------------------------

class MemoryviewOfView(unittest.TestCase, tm.BaseMemoryviewTests, ViewSource):
    pass


class MemorySliceOfView(unittest.TestCase, tm.BaseMemorySliceTests, ViewSource):
    pass


class MemorySliceSliceOfView(unittest.TestCase, tm.BaseMemorySliceSliceTests, ViewSource):
    pass


# --- View as the view ------------------------------------------------------

def _as_view(obj):
    # The suite hands _view() the source; a View of anything else is a new
    # segment with a copy, which is what View(obj) means (and View({})
    # raises TypeError, as memoryview({}) does, for test_getbuf_fail).
    return obj if isinstance(obj, shmview.View) else shmview.View(obj)


class ViewAsView(ViewSource):
    def test_slices_are_views(self):
        for tp in self._types:
            m = self._view(tp(self._source))
            self.assertIsInstance(m, shmview.View)
            self.assertIsInstance(m[1:3], shmview.View)
            self.assertIsInstance(m[::2], memoryview)  # strided: memoryview's answer


class ViewOfView(unittest.TestCase, ViewAsView):
    def _view(self, obj):
        return _as_view(obj)[:]

    def _check_contents(self, tp, obj, contents):
        self.assertEqual(obj, tp(contents))


class ViewSliceOfView(unittest.TestCase, ViewAsView):
    source_bytes = b"XabcdefY"

    def _view(self, obj):
        return _as_view(obj)[1:7]

    def _check_contents(self, tp, obj, contents):
        self.assertEqual(obj[1:7], tp(contents))


class ViewSliceSliceOfView(unittest.TestCase, ViewAsView):
    source_bytes = b"XabcdefY"

    def _view(self, obj):
        return _as_view(obj)[:7][1:]

    def _check_contents(self, tp, obj, contents):
        self.assertEqual(obj[1:7], tp(contents))


if __name__ == "__main__":
    H.run()

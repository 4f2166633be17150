# SPDX-License-Identifier: MIT
"""Creating a segment and its writable view in one request: Client.create_view,
View(data) made the same way, and prefaulted views (open(prefault=True))."""

import os
import subprocess
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

import shmview  # noqa: E402


def fresh(prefix="cv"):
    return H.fresh_name(prefix)


class Base(H.ClientTestCase):
    def requests_for(self, fn):
        """How many requests the daemon served for fn(), on a quiet daemon:
        its request counter around fn, less what status() itself adds."""
        a = self.c.status().requests
        b = self.c.status().requests
        res = fn()
        d = self.c.status().requests
        return d - b - (b - a), res

    def gone(self, name):
        try:
            self.c.stat(name)
            return False
        except FileNotFoundError:
            return True


class TestCreateView(Base):
    def test_one_request_a_writable_view_of_the_whole_segment(self):
        name = fresh()
        self.names.append(name)
        n, v = self.requests_for(lambda: self.c.create_view(name, 10000, 0o640))
        self.assertEqual(n, 1)
        self.assertFalse(v.readonly)
        self.assertEqual(len(v), 10000)
        self.assertEqual(v.descriptor, f"{name}:0:10000:rw")
        self.assertEqual(bytes(v), bytes(10000))  # zero-filled
        v[9990:] = b"0123456789"
        info = self.c.stat(name)
        self.assertEqual((info.size, info.mode, info.views, info.writable_views),
                         (10000, 0o640, 1, 1))
        self.assertFalse(info.ephemeral)
        with self.c.open(name, 9990) as r:
            self.assertEqual(r, b"0123456789")
        v.release()
        self.assertFalse(self.gone(name))  # not ephemeral: it stays

    def test_ephemeral_goes_with_its_last_view(self):
        name = fresh()
        v = self.c.create_view(name, 4096, ephemeral=True)
        self.assertTrue(self.c.stat(name).ephemeral)
        w = self.c.open(name)
        v.release()
        self.assertFalse(self.gone(name))  # w still holds it
        w.release()
        H.wait_for(lambda: self.gone(name), what="the ephemeral segment to go")

    def test_errors(self):
        name = fresh()
        self.names.append(name)
        self.c.create(name, 10)
        with self.assertRaises(FileExistsError) as cm:
            self.c.create_view(name, 10)
        self.assertEqual(cm.exception.filename, name)
        with self.assertRaises(ValueError):
            self.c.create_view("bad name", 10)
        with self.assertRaises(ValueError):
            self.c.create_view(fresh(), 10, 0o1777)
        with self.assertRaises(ValueError):
            self.c.create_view(fresh(), -1)
        with self.assertRaises(TypeError):
            self.c.create_view(fresh(), 10, ephemeral=True, mystery=1)

    def test_prefault_and_another_process(self):
        name = fresh()
        self.names.append(name)
        v = self.c.create_view(name, 1 << 20, prefault=True)
        v[:] = b"p" * (1 << 20)
        code = """
            import shmview, sys
            with shmview.connect(sys.argv[1]) as c:
                with c.open(sys.argv[2], prefault=True) as r:
                    assert r == b"p" * (1 << 20) and r.readonly
                with c.open(sys.argv[2], 4096, 8, writable=True, prefault=True) as w:
                    w[:] = b"12345678"
        """
        subprocess.run([sys.executable, "-c", textwrap.dedent(code), H.daemon.socket, name],
                       check=True, timeout=60)
        self.assertEqual(bytes(v[4096:4104]), b"12345678")
        v.release()

    def test_forked_child_makes_its_own(self):
        name = fresh()
        self.names.append(name)
        self.c.status()  # connected in the parent
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                with self.c.create_view(name, 64) as v:  # the child's own connection
                    v[:5] = b"child"
            except BaseException as e:
                print("child:", repr(e), file=sys.stderr)
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(status, 0)
        with self.c.open(name) as r:
            self.assertEqual(bytes(r[:5]), b"child")


class TestAnonymousView(Base):
    def test_view_from_data_is_one_request(self):
        n, v = self.requests_for(lambda: shmview.View(b"abc" * 30000, client=self.c))
        self.assertEqual(n, 1)
        self.assertEqual(v, b"abc" * 30000)
        self.assertFalse(v.readonly)
        name = v.name
        if shmview.HAVE_EPHEMERAL:
            self.assertTrue(self.c.stat(name).ephemeral)
        v.release()
        H.wait_for(lambda: self.gone(name), what="the anonymous segment to go")

    def test_read_only_and_empty(self):
        n, ro = self.requests_for(lambda: shmview.View(b"const", readonly=True, client=self.c))
        self.assertEqual(n, 3)  # create+open, the read-only open, the release
        self.assertTrue(ro.readonly)
        self.assertEqual(ro, b"const")
        self.assertEqual(self.c.stat(ro.name).views, 1)
        n, e = self.requests_for(lambda: shmview.View(0, client=self.c))
        self.assertEqual(n, 1)
        self.assertEqual((len(e), bytes(e), e.readonly), (0, b"", False))
        self.assertEqual(e.descriptor, f"{e.name}:0:0:rw")
        z = shmview.View(5, client=self.c)
        self.assertEqual(bytes(z), bytes(5))
        for x in (ro, e, z):
            name = x.name
            x.release()
            H.wait_for(lambda: self.gone(name), what="the anonymous segment to go")


if __name__ == "__main__":
    H.run()

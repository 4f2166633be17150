# SPDX-License-Identifier: MIT
"""What the binding exposes of libshmview, against the real daemon: the
records' shapes (the tuples code unpacks stay as they were, later fields
are attributes), every record field's type, the connect options
(reconnect_ms, map_cache, trusted_uid) and the library's version. The
record types are the library's description of its structs
(shmv_record_fields), walked: every row of it is an attribute of the
right type, and the hand-written stubs (_shmview.pyi) list the same
attributes, so a field the library adds fails here until the stubs have
it. A daemon
run by a uid nobody trusts is a socket that uid 65534 listens on in a
directory open to all (root only; skipped otherwise)."""

import ast
import datetime
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shmview_harness as H  # noqa: E402

import shmview  # noqa: E402

NOBODY = 65534

SEGMENT_TUPLE = ("name", "size", "uid", "gid", "mode", "views", "writable_views", "created",
                 "ephemeral", "unlinked")
HOLDER_TUPLE = ("pid", "uid", "comm", "offset", "length", "writable", "since")
STATUS_TUPLE = ("version", "protocol", "uptime_ms", "clients", "segments", "bytes", "views",
                "writable_views", "requests", "max_segment_size", "max_total_size",
                "max_clients", "max_views", "frame_max", "quota_bytes", "quota_segments",
                "quota_views", "uid", "used_bytes", "used_segments", "used_views", "grace_ms")

# shmv_field.type (shmview.h) as Python shows it; SHMV_FIELD_HIDDEN rows
# are None when the record is restricted, SHMV_FIELD_ZERO_NONE ones when 0.
FIELD_TYPES = {1: "str", 2: "int", 3: "int", 4: "bool", 5: "datetime.datetime"}
FIELD_HIDDEN = 0x1
FIELD_ZERO_NONE = 0x4


def record_attrs(cls):
    """Every field of a record type, tuple and by name only, in order."""
    return [k for k, v in vars(cls).items() if isinstance(v, types.MemberDescriptorType)]


def stub_classes():
    """{class name: [(attribute, annotation)]} of the extension's stubs."""
    path = os.path.join(os.path.dirname(shmview.__file__), "_shmview.pyi")
    with open(path) as f:
        tree = ast.parse(f.read())
    return {c.name: [(a.target.id, ast.unparse(a.annotation))
                     for a in c.body if isinstance(a, ast.AnnAssign)]
            for c in tree.body if isinstance(c, ast.ClassDef)}


class TestRecords(H.ClientTestCase):
    def test_shapes(self):
        for cls, names, extra in [(shmview.SegmentInfo, SEGMENT_TUPLE,
                                   ("frozen", "restricted", "changed", "channel",
                                    "control", "depth", "senders", "receivers")),
                                  (shmview.HolderInfo, HOLDER_TUPLE, ()),
                                  (shmview.Status, STATUS_TUPLE, ())]:
            self.assertEqual(cls.__match_args__, names)
            self.assertEqual(cls.n_sequence_fields, len(names))
            self.assertEqual(cls.n_fields, len(names) + len(extra))
            for n in names + extra:
                self.assertTrue(hasattr(cls, n), n)
        self.assertEqual(shmview.SegmentInfo.created.__doc__,
                         "creation time (an aware datetime in UTC)")

    def test_values(self):
        name = H.fresh_name("rec")
        self.c.create(name, 4096, 0o640, ephemeral=False)
        self.names.append(name)
        with self.c.open(name, 8, 16, writable=True):
            s = self.c.stat(name)
            self.assertEqual(tuple(s)[:7], (name, 4096, os.getuid(), os.getgid(), 0o640, 1, 1))
            self.assertIsInstance(s.created, datetime.datetime)
            self.assertEqual(s.created.tzinfo, datetime.timezone.utc)
            self.assertEqual((s.ephemeral, s.unlinked, s.frozen, s.restricted),
                             (False, False, False, False))
            for b in ("ephemeral", "unlinked", "frozen", "restricted"):
                self.assertIs(type(getattr(s, b)), bool, b)
            h, = self.c.holders(name)
            self.assertEqual(tuple(h)[:6], (os.getpid(), os.getuid(), h.comm, 8, 16, True))
            self.assertIsInstance(h.comm, str)
            self.assertTrue(h.comm)
            self.assertLessEqual(abs((h.since - s.created).total_seconds()), 3600)
        st = self.c.status()
        self.assertEqual(st.version, shmview.library_version())
        for n in STATUS_TUPLE[1:]:
            self.assertIs(type(getattr(st, n)), int, n)
        self.assertEqual(st.uid, os.getuid())

    def test_every_row_is_an_attribute(self):
        rows = shmview._shmview._record_fields()
        self.assertEqual(sorted(rows), ["HolderInfo", "SegmentInfo", "Status"])
        for cls_name, fields in rows.items():
            cls = getattr(shmview, cls_name)
            self.assertEqual(record_attrs(cls), [f[0] for f in fields], cls_name)
            for name, doc, *_ in fields:
                self.assertTrue(getattr(cls, name).__doc__.startswith(doc), name)

    def test_rows_typed(self):
        """Each attribute holds what its row's type says, for a segment the
        caller may read (nothing None)."""
        name = H.fresh_name("typed")
        self.c.create(name, 4096)
        self.names.append(name)
        self.c.resize(name, 8192)  # so that changed is a time, not None
        with self.c.open(name):
            records = {"SegmentInfo": self.c.stat(name), "HolderInfo": self.c.holders(name)[0],
                       "Status": self.c.status()}
        for cls_name, fields in shmview._shmview._record_fields().items():
            for fname, _, ftype, *_ in fields:
                want = FIELD_TYPES[ftype]
                got = getattr(records[cls_name], fname)
                self.assertEqual(type(got).__name__, want.rsplit(".", 1)[-1],
                                 f"{cls_name}.{fname}")

    def test_stubs_match(self):
        stubs = stub_classes()
        for cls_name, fields in shmview._shmview._record_fields().items():
            want = [(f[0], f"Optional[{FIELD_TYPES[f[2]]}]"
                     if f[3] & (FIELD_HIDDEN | FIELD_ZERO_NONE)
                     else FIELD_TYPES[f[2]]) for f in fields]
            self.assertEqual(stubs[cls_name], want, cls_name)


class TestConnectOptions(unittest.TestCase):
    def mapped(self, c, name):
        """How many mappings of the segment's object this process has."""
        with c.open(name) as v:
            bytes(v[:1])
        obj = f"/dev/shm/{H.daemon.prefix}.{name}"
        with open("/proc/self/maps") as f:
            return sum(line.rstrip().endswith(obj) for line in f)

    def test_map_cache(self):
        name = H.fresh_name("mc")
        with shmview.connect(H.daemon.socket) as c:
            c.create(name, 8192)
            try:
                # The default keeps a released read-only mapping for the next view.
                self.assertEqual(self.mapped(c, name), 1)
                with shmview.connect(H.daemon.socket, map_cache=0) as c0:
                    self.assertEqual(self.mapped(c0, name), 1)  # c's, not c0's
                c.close()
                with shmview.connect(H.daemon.socket, map_cache=0) as c0:
                    self.assertEqual(self.mapped(c0, name), 0)
                    c0.unlink(name)
            finally:
                with shmview.connect(H.daemon.socket) as c2:
                    try:
                        c2.unlink(name)
                    except FileNotFoundError:
                        pass
        for bad in (-1, shmview.MAP_CACHE_MAX + 1, 2**70):
            with self.assertRaises(ValueError):
                shmview.connect(H.daemon.socket, map_cache=bad)
        with self.assertRaises(TypeError):
            shmview.connect(H.daemon.socket, map_cache="1")
        shmview.connect(H.daemon.socket, map_cache=shmview.MAP_CACHE_MAX).close()

    def test_trusted_uid_checked(self):
        for bad in (-1, 2**32 - 1, 2**70):
            with self.assertRaises(ValueError):
                shmview.connect(H.daemon.socket, trusted_uid=bad)
        with self.assertRaises(TypeError):
            shmview.connect(H.daemon.socket, trusted_uid=1.5)
        shmview.connect(H.daemon.socket, trusted_uid=12345).close()

    @unittest.skipUnless(os.geteuid() == 0, "needs root to listen as another user")
    def test_trusted_uid_trusts_another_daemon(self):
        d = tempfile.mkdtemp(prefix=f"shmvt{os.getpid()}-pytrust")
        try:
            os.chmod(d, 0o1777)  # vouches for no one, as /tmp
            path = os.path.join(d, "s.sock")
            # The impostor: uid 65534 listening there, closing what it accepts.
            code = textwrap.dedent("""
                import socket, sys
                s = socket.socket(socket.AF_UNIX)
                s.bind(sys.argv[1])
                s.listen(8)
                print("ready", flush=True)
                while True:
                    a, _ = s.accept()
                    a.close()
            """)
            p = subprocess.Popen(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                                  "--clear-groups", sys.executable, "-c", code, path],
                                 stdout=subprocess.PIPE, text=True)
            try:
                self.assertEqual(p.stdout.readline(), "ready\n")
                env_uid = os.environ.pop("SHMVIEW_TRUSTED_UID", None)
                try:
                    with self.assertRaises(PermissionError):
                        shmview.connect(path, reconnect_ms=0)
                    with self.assertRaises(PermissionError):
                        shmview.connect(path, reconnect_ms=0, trusted_uid=12345)
                    # Trusted: the hello goes out, and this impostor hangs up.
                    with self.assertRaises(OSError) as cm:
                        shmview.connect(path, reconnect_ms=0, trusted_uid=NOBODY)
                    self.assertNotIsInstance(cm.exception, PermissionError)
                finally:
                    if env_uid is not None:
                        os.environ["SHMVIEW_TRUSTED_UID"] = env_uid
            finally:
                p.kill()
                p.wait()
                p.stdout.close()
        finally:
            try:
                os.unlink(os.path.join(d, "s.sock"))
            except FileNotFoundError:
                pass
            os.rmdir(d)


def stub_methods(stub_file):
    """{class name: {public method or property}} of a stub file of the package."""
    path = os.path.join(os.path.dirname(shmview.__file__), stub_file)
    with open(path) as f:
        tree = ast.parse(f.read())
    return {c.name: {f.name for f in c.body if isinstance(f, ast.FunctionDef)
                     and (not f.name.startswith("_") or f.name in ("__enter__", "__exit__"))}
            | {a.target.id for a in c.body if isinstance(a, ast.AnnAssign)}
            for c in tree.body if isinstance(c, ast.ClassDef)}


def public(cls):
    return {n for n in dir(cls) if not n.startswith("_") or n in ("__enter__", "__exit__")}


class TestQueueShapes(unittest.TestCase):
    """shmview's queues have multiprocessing's interface, and the stubs say
    what the package has."""

    def test_multiprocessing_interface(self):
        import inspect
        import multiprocessing.queues as mpq
        for ours, theirs in ((shmview.Queue, mpq.Queue), (shmview.SimpleQueue, mpq.SimpleQueue),
                             (shmview.JoinableQueue, mpq.JoinableQueue)):
            want = {n for n in public(theirs) if callable(getattr(theirs, n))}
            self.assertLessEqual(want, public(ours), ours.__name__)
            for n in want:
                theirs_params = [p for p in inspect.signature(getattr(theirs, n)).parameters]
                ours_params = [p for p in inspect.signature(getattr(ours, n)).parameters]
                self.assertEqual(ours_params[:len(theirs_params)], theirs_params,
                                 f"{ours.__name__}.{n}")
        # the constructors take multiprocessing's arguments (ctx included)
        self.assertEqual(list(inspect.signature(shmview.Queue).parameters),
                         ["maxsize", "capacity", "name", "client", "ctx"])

    def test_stubs_list_the_queues_and_channel(self):
        stubs = stub_methods("__init__.pyi")
        for cls in (shmview.Queue, shmview.SimpleQueue, shmview.JoinableQueue):
            have = set()
            for c in cls.__mro__:
                have |= stubs.get(c.__name__, set())
            self.assertEqual(have, public(cls), cls.__name__)
        ext = stub_methods("_shmview.pyi")
        self.assertEqual(ext["Channel"], public(shmview.Channel))
        self.assertEqual([(f, "int") for f in shmview.ChannelInfo.__match_args__],
                         stub_classes()["ChannelInfo"])
        for m in ("create_channel", "open_channel"):
            self.assertIn(m, ext["Client"])
            self.assertTrue(callable(getattr(shmview.Client, m)))


class TestVersion(unittest.TestCase):
    def test_library_version(self):
        v = shmview.library_version()
        self.assertEqual(v, shmview.LIBRARY_VERSION)  # built and run with this tree's
        self.assertRegex(v, r"^\d+\.\d+\.\d+")


if __name__ == "__main__":
    H.run()

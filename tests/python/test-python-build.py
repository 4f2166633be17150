# SPDX-License-Identifier: MIT
"""How the binding is built against an installed libshmview (setup.py, as
`pip install ./client/python` runs it): it asks for the library of its own
tree and says so when pkg-config finds an older one; the C files refuse a
header from before SHMV_OWN with one sentence; an sdist carries every
source file of the extension, its internal header too. No daemon."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import unittest

import shmview

SRC = os.environ.get("SHMVIEW_SRCDIR")
BUILD = os.environ.get("SHMVIEW_BUILDDIR")
PKG = os.path.join(SRC or ".", "client", "python")
SOURCES = ["_shmview.h", "_shmview.c", "_client.c", "_view.c", "_records.c", "_channel.c"]


def env_without_preload(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PKG_CONFIG_PATH")}
    env.update(extra)
    return env


@unittest.skipUnless(SRC and BUILD, "SHMVIEW_SRCDIR and SHMVIEW_BUILDDIR are not set (make check)")
class TestBuild(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=f"shmvt{os.getpid()}-pybuild")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def fake_pc(self, version):
        """A directory whose shmview.pc says `version` (pointing at this build)."""
        d = os.path.join(self.tmp, f"pc-{version}")
        os.makedirs(d)
        with open(os.path.join(d, "shmview.pc"), "w") as f:
            f.write(f"Name: shmview\nDescription: test\nVersion: {version}\n"
                    f"Cflags: -I{SRC}/client -I{BUILD}/client\n"
                    f"Libs: -L{BUILD}/.libs -lshmview\n")
        return d

    def setup_py(self, pcdir, *args, cwd=PKG):
        if shutil.which("pkg-config") is None:
            self.skipTest("pkg-config is not installed")
        try:
            import setuptools  # noqa: F401
        except ImportError:
            self.skipTest("setuptools is not installed (Debian: python3-setuptools)")
        return subprocess.run([sys.executable, "setup.py", *args], cwd=cwd, capture_output=True,
                              text=True, timeout=300,
                              env=env_without_preload(PKG_CONFIG_LIBDIR=pcdir))

    def test_versions_agree(self):
        with open(os.path.join(PKG, "setup.py")) as f:
            m = re.search(r'^LIBSHMVIEW_MIN = "([^"]+)"', f.read(), re.M)
        with open(os.path.join(PKG, "pyproject.toml")) as f:
            p = re.search(r'^version = "([^"]+)"', f.read(), re.M)
        self.assertIsNotNone(m)
        self.assertEqual(m.group(1), shmview.LIBRARY_VERSION)  # configure.ac's
        self.assertEqual(p.group(1), shmview.LIBRARY_VERSION)

    def test_older_library_refused(self):
        r = self.setup_py(self.fake_pc("0.0.9"), "--name")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("libshmview 0.0.9 is too old for this binding", r.stderr)
        r = self.setup_py(self.fake_pc(shmview.LIBRARY_VERSION), "--name")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip().splitlines()[-1], "shmview")

    def test_header_without_shmv_own_refused(self):
        with open(os.path.join(BUILD, "Makefile")) as f:
            cc = re.search(r"^CC = (.*)$", f.read(), re.M).group(1)
        old = os.path.join(self.tmp, "old")
        os.makedirs(old)
        with open(os.path.join(SRC, "client", "shmview.h")) as f:
            header = f.read()
        self.assertIn("#define SHMV_OWN ", header)
        with open(os.path.join(old, "shmview.h"), "w") as f:
            f.write(re.sub(r"^#define SHMV_OWN .*$", "", header, flags=re.M))
        py = sysconfig.get_paths()["include"]
        for include, ok in ((os.path.join(SRC, "client"), True), (old, False)):
            r = subprocess.run(shlex.split(cc) + ["-std=gnu11", "-fsyntax-only", f"-I{include}",
                                                  f"-I{BUILD}/client", f"-I{py}",
                                                  os.path.join(PKG, "shmview", "_records.c")],
                               capture_output=True, text=True, timeout=120,
                               env=env_without_preload())
            if ok:
                self.assertEqual(r.returncode, 0, r.stderr)
            else:
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("libshmview is too old for this binding", r.stderr)

    def test_sdist_has_every_source(self):
        tree = os.path.join(self.tmp, "python")
        shutil.copytree(PKG, tree, ignore=shutil.ignore_patterns("*.so", "__pycache__", "build",
                                                                 "*.egg-info"))
        r = self.setup_py(self.fake_pc(shmview.LIBRARY_VERSION), "-q", "sdist", "-d",
                          os.path.join(self.tmp, "dist"), cwd=tree)
        self.assertEqual(r.returncode, 0, r.stderr)
        (tarball,) = os.listdir(os.path.join(self.tmp, "dist"))
        with tarfile.open(os.path.join(self.tmp, "dist", tarball)) as t:
            names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
        for f in SOURCES + ["__init__.py", "_queues.py", "__init__.pyi", "_shmview.pyi",
                               "py.typed"]:
            self.assertIn(f"shmview/{f}", names)


if __name__ == "__main__":
    unittest.main(verbosity=2)

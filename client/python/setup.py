# SPDX-License-Identifier: MIT
"""Build the C extension shmview._shmview against an installed libshmview.

The compiler and linker flags come from pkg-config (shmview.pc), so
PKG_CONFIG_PATH selects the installation. The binding speaks the library of
its own source tree: an installed libshmview older than LIBSHMVIEW_MIN is
refused here, with a sentence (and one without SHMV_OWN by the C file).
"""

import shlex
import subprocess
import sys

from setuptools import Extension, setup


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "shmview"], check=True,
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        sys.exit("setup.py: pkg-config is not installed (Debian: pkg-config)")
    except subprocess.CalledProcessError as e:
        sys.exit("setup.py: libshmview not found by pkg-config (install shmview, or set "
                 f"PKG_CONFIG_PATH to the directory holding shmview.pc): {e.stderr.strip()}")
    return shlex.split(out)


# The version of the source tree this binding comes from (configure.ac's).
LIBSHMVIEW_MIN = "0.1.0"

have = " ".join(pkg_config("--modversion"))  # (first: is pkg-config there, is shmview known)
if subprocess.run(["pkg-config", f"--atleast-version={LIBSHMVIEW_MIN}", "shmview"]).returncode:
    sys.exit(f"setup.py: libshmview {have} is too old for this binding, which needs "
             f"{LIBSHMVIEW_MIN} or newer (install a newer shmview, or set PKG_CONFIG_PATH "
             "to the directory holding its shmview.pc)")

cflags = pkg_config("--cflags")
libs = pkg_config("--libs")
include_dirs = [f[2:] for f in cflags if f.startswith("-I")]

setup(
    ext_modules=[
        Extension(
            "shmview._shmview",
            # (MANIFEST.in puts their header, _shmview.h, in the sdist)
            sources=["shmview/_shmview.c", "shmview/_client.c", "shmview/_view.c",
                     "shmview/_records.c", "shmview/_channel.c"],
            depends=["shmview/_shmview.h"],
            include_dirs=include_dirs,
            extra_compile_args=[f for f in cflags if not f.startswith("-I")] + ["-std=gnu11"],
            library_dirs=[f[2:] for f in libs if f.startswith("-L")],
            libraries=[f[2:] for f in libs if f.startswith("-l")],
            extra_link_args=[f for f in libs if not f.startswith(("-L", "-l"))],
        )
    ],
)

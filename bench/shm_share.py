#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python's ways to share N bytes between two processes.

The writer (this process, CPU 0) makes N bytes available and hands them to
a forked reader (CPU 1), which reads all N bytes (bytes(...): a
memcpy-speed pass over every page) and acknowledges. Methods:

- shared_memory (default): multiprocessing.shared_memory. The writer
  creates a SharedMemory of N bytes and writes it; the reader attaches by
  name (its "attach" part) and reads.
- shmview: the shmview package (--socket: a running shmviewd). The writer
  creates a segment, opens a writable View and writes it; the reader opens
  the View's descriptor and slices it (its "attach" part: open + slice) and
  reads.
- queue: the bytes pickled through a multiprocessing.Queue (no attach).

Prints RESULT lines like shmview-bench: end-to-end time, and the reader's
attach and read parts.
Usage: shm_share.py [--quick] [--max N] [--method M] [--socket PATH]
"""
import json
import multiprocessing
import os
import statistics
import struct
import sys
import time
from multiprocessing import resource_tracker, shared_memory


def pct(v, p):
    v = sorted(v)
    k = max(1, min(len(v), int(p / 100.0 * len(v) + 0.999999)))
    return v[k - 1]


def pin(cpu):
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        pass


def reps_for(n, quick):
    r = 31 if n <= 1 << 20 else 11 if n <= 16 << 20 else 5 if n <= 64 << 20 else 3
    return min(r, 3) if quick else r


def main():
    quick = "--quick" in sys.argv
    maxn = 256 << 20
    if "--max" in sys.argv:
        maxn = int(sys.argv[sys.argv.index("--max") + 1], 0)
    method = sys.argv[sys.argv.index("--method") + 1] if "--method" in sys.argv else "shared_memory"
    socket_path = sys.argv[sys.argv.index("--socket") + 1] if "--socket" in sys.argv else None
    if method not in ("shared_memory", "shmview", "queue"):
        sys.exit(f"shm_share: unknown method {method}")
    client = queue = None
    if method == "shmview":
        global shmview
        import shmview
        client = shmview.connect(socket_path)
    if method == "queue":
        queue = multiprocessing.get_context("fork").Queue()
    ncpu = os.cpu_count() or 1
    n = 4096
    while n <= maxn:
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(down_w)
            os.close(up_r)
            pin(1 if ncpu > 1 else 0)
            # Attaching must not register the name with the writer's
            # resource tracker (inherited over fork): the writer unlinks it.
            resource_tracker.register = lambda *a, **k: None
            if client is not None:
                client = shmview.connect(socket_path)  # the child's own
            with os.fdopen(down_r, "rb", 0) as down, os.fdopen(up_w, "wb", 0) as up:
                while True:
                    line = down.readline()
                    if not line or line == b"quit\n":
                        break
                    name = line.decode().strip()
                    t0 = time.monotonic_ns()
                    if method == "shmview":
                        v = client.open_descriptor(name)
                        s = v[:n]
                        t1 = time.monotonic_ns()
                        data = bytes(s)
                        t2 = time.monotonic_ns()
                        s.release()
                        v.release()
                    elif method == "queue":
                        data = queue.get()
                        t1 = t2 = time.monotonic_ns()
                        t0 = t1
                    else:
                        shm = shared_memory.SharedMemory(name=name)
                        t1 = time.monotonic_ns()
                        data = bytes(shm.buf[:n])
                        t2 = time.monotonic_ns()
                    ok = len(data) == n and data[-1] != 0
                    del data
                    if method == "shared_memory":
                        shm.close()
                    up.write(struct.pack("<QQQ", int(ok), t1 - t0, t2 - t1))
            os._exit(0)
        os.close(down_r)
        os.close(up_w)
        pin(0)
        down = os.fdopen(down_w, "wb", 0)
        up = os.fdopen(up_r, "rb", 0)
        tot, att, rd, cr = [], [], [], []
        payload = b"x" * n
        for rep in range(-1, reps_for(n, quick)):
            t0 = time.monotonic_ns()
            if method == "shmview":
                seg = f"bench-{os.getpid()}-{n}-{rep + 1}"
                client.create(seg, n)
                t1 = time.monotonic_ns()
                v = client.open(seg, writable=True)
                v[:] = payload
                down.write(v.descriptor.encode() + b"\n")
            elif method == "queue":
                t1 = t0
                queue.put(payload)
                down.write(b"q\n")
            else:
                shm = shared_memory.SharedMemory(create=True, size=n)
                t1 = time.monotonic_ns()
                shm.buf[:n] = payload
                down.write(shm.name.encode() + b"\n")
            ack = b""
            while len(ack) < 24:
                chunk = up.read(24 - len(ack))
                if not chunk:
                    sys.exit("shm_share: reader died")
                ack += chunk
            t2 = time.monotonic_ns()
            ok, a, r = struct.unpack("<QQQ", ack)
            if not ok:
                sys.exit("shm_share: reader read nothing")
            if method == "shmview":
                v.release()
                client.unlink(seg)
            elif method == "shared_memory":
                shm.close()
                shm.unlink()
            if rep < 0:
                continue
            tot.append(t2 - t0)
            cr.append(t1 - t0)
            att.append(a)
            rd.append(r)
        down.write(b"quit\n")
        down.close()
        up.close()
        os.waitpid(pid, 0)
        rec = {
            "bench": "share", "method": "python-" + method, "n": n, "unit": "us",
            "median": statistics.median(tot) / 1e3, "p99": pct(tot, 99) / 1e3,
            "samples": len(tot),
            "create_median": statistics.median(cr) / 1e3,
            "reader_open_median": statistics.median(att) / 1e3,
            "reader_open_p99": pct(att, 99) / 1e3,
            "reader_read_median": statistics.median(rd) / 1e3,
        }
        if method == "queue":  # nothing to attach: the bytes arrive
            del rec["reader_open_median"], rec["reader_open_p99"]
        print("RESULT " + json.dumps(rec), flush=True)
        n *= 4


if __name__ == "__main__":
    main()

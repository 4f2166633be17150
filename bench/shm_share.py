#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python's ways to hand N bytes to another process, interleaved.

One writer (this process, CPU 0) and one forked reader (CPU 1) run every
method, rep by rep in rotating order, so the machine's load hits them
alike. Per hand-off the writer makes N bytes available and tells the
reader over a pipe; the reader gets at them, reads all N (bytes(...): a
memcpy-speed pass over every page) and acknowledges. The time runs from
the writer's first instruction to the acknowledgement. Cleanup (close,
release, unlink) comes after it, untimed, and is waited for before the next
hand-off. Methods:

- shared_memory: multiprocessing.shared_memory. Writer:
  SharedMemory(create=True, size=N), write, hand over the name. Reader
  ("attach"): SharedMemory(name=...) and buf[:N]: shm_open + fstat + mmap,
  and, as Python 3.11 does on every attach, resource_tracker.register (the
  reader shares the writer's tracker through fork). Every other rep the
  reader attaches with register made a no-op instead (what 3.13's
  track=False does): "reader_open_untracked_*".
- shmview (--socket: a running shmviewd): the way the public API does it
  fastest. Writer: View(payload, client=c) (one request: create and open
  together, an ephemeral segment, its pages mapped at once from 64 KiB;
  then the copy), hand over .descriptor. Reader ("attach"):
  c.open_descriptor(desc) and [:N] (one request: the lease, then fstat +
  mmap). The segment goes when both have released their views.
- queue: the bytes pickled through a multiprocessing.Queue (nothing to
  attach: the bytes arrive).

Prints RESULT lines like shmview-bench, one per method and N.
Usage: shm_share.py [--quick] [--max N] [--socket PATH] [--methods a,b,c]
"""
import json
import multiprocessing
import os
import statistics
import struct
import sys
import time
from multiprocessing import resource_tracker, shared_memory

ACK = struct.Struct("<QQQQ")  # ok, variant, attach ns, read ns


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
    if quick:
        return 4
    return 101 if n <= 1 << 20 else 21 if n <= 16 << 20 else 7 if n <= 64 << 20 else 5


def read_exact(f, n):
    b = b""
    while len(b) < n:
        chunk = f.read(n - len(b))
        if not chunk:
            sys.exit("shm_share: reader died")
        b += chunk
    return b


def reader(down, up, methods, socket_path, queue):
    """The forked reader: one hand-off per line on down, acks on up."""
    pin(1 if (os.cpu_count() or 1) > 1 else 0)
    client = None
    if "shmview" in methods:
        import shmview
        client = shmview.connect(socket_path)  # the child's own connection
    register = resource_tracker.register
    clock = time.monotonic_ns
    while True:
        line = down.readline()
        if not line or line == b"quit\n":
            return
        method, n, untracked, arg = line.decode().split(" ", 3)
        n, untracked, arg = int(n), int(untracked), arg.rstrip("\n")
        keep = ()
        if method == "shmview":
            t0 = clock()
            v = client.open_descriptor(arg)
            s = v[:n]
            t1 = clock()
            data = bytes(s)
            t2 = clock()
            keep = (s, v)
        elif method == "shared_memory":
            if untracked:
                resource_tracker.register = lambda *a, **k: None
            t0 = clock()
            shm = shared_memory.SharedMemory(name=arg)
            b = shm.buf[:n]
            t1 = clock()
            resource_tracker.register = register
            data = bytes(b)
            t2 = clock()
            keep = (b, shm)
        else:
            t0 = clock()
            data = queue.get()
            t1 = t2 = clock()
        ok = len(data) == n and data[-1] != 0
        up.write(ACK.pack(int(ok), untracked, t1 - t0, t2 - t1))
        # Cleanup, untimed: the writer waits for it before the next hand-off.
        del data
        for x in keep:
            if hasattr(x, "release"):
                x.release()
            else:
                x.close()
        up.write(b"c")


def main():
    quick = "--quick" in sys.argv
    maxn = int(sys.argv[sys.argv.index("--max") + 1], 0) if "--max" in sys.argv else 256 << 20
    socket_path = sys.argv[sys.argv.index("--socket") + 1] if "--socket" in sys.argv else None
    methods = ["shared_memory", "shmview", "queue"]
    if "--methods" in sys.argv:
        methods = [m for m in sys.argv[sys.argv.index("--methods") + 1].split(",") if m]
    if socket_path is None and "shmview" in methods:
        methods.remove("shmview")
    for m in methods:
        if m not in ("shared_memory", "shmview", "queue"):
            sys.exit(f"shm_share: unknown method {m}")
    client = None
    if "shmview" in methods:
        import shmview
        client = shmview.connect(socket_path)
    queue = multiprocessing.get_context("fork").Queue() if "queue" in methods else None
    if "shared_memory" in methods:
        # One resource tracker for both, as multiprocessing's children share
        # their parent's: the reader's register on attach and the writer's
        # unregister on unlink then meet, and nothing is reported leaked.
        resource_tracker.ensure_running()

    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(down_w)
        os.close(up_r)
        code = 0
        try:
            with os.fdopen(down_r, "rb", 0) as down, os.fdopen(up_w, "wb", 0) as up:
                reader(down, up, methods, socket_path, queue)
        except BaseException as e:
            print(f"shm_share reader: {e!r}", file=sys.stderr)
            code = 1
        os._exit(code)
    os.close(down_r)
    os.close(up_w)
    pin(0)
    down = os.fdopen(down_w, "wb", 0)
    up = os.fdopen(up_r, "rb", 0)
    clock = time.monotonic_ns

    n = 4096
    while n <= maxn:
        payload = b"x" * n
        load = os.getloadavg()[0]
        rec = {m: {"tot": [], "wr": [], "att": [], "att_u": [], "rd": []} for m in methods}
        for rep in range(-1, reps_for(n, quick)):
            k = max(rep, 0) % len(methods)
            for m in methods[k:] + methods[:k]:
                untracked = rep % 2 if m == "shared_memory" else 0
                t0 = clock()
                if m == "shmview":
                    obj = shmview.View(payload, client=client)
                    msg = obj.descriptor
                elif m == "shared_memory":
                    obj = shared_memory.SharedMemory(create=True, size=n)
                    obj.buf[:n] = payload
                    msg = obj.name
                else:
                    obj = None
                    queue.put(payload)
                    msg = "-"
                t1 = clock()
                down.write(f"{m} {n} {untracked} {msg}\n".encode())
                ok, variant, a, r = ACK.unpack(read_exact(up, ACK.size))
                t2 = clock()
                if not ok:
                    sys.exit(f"shm_share: the reader read nothing ({m}, {n})")
                read_exact(up, 1)  # the reader's cleanup is done
                if m == "shmview":
                    obj_name = obj.name
                    obj.release()  # ephemeral: the segment goes with the views
                    # Wait for the daemon to have taken in both releases, so
                    # its cleanup does not fall into the next hand-off.
                    while True:
                        try:
                            client.stat(obj_name)
                        except FileNotFoundError:
                            break
                elif m == "shared_memory":
                    obj.close()
                    obj.unlink()
                if rep < 0:
                    continue
                r_ = rec[m]
                r_["tot"].append(t2 - t0)
                r_["wr"].append(t1 - t0)
                r_["rd"].append(r)
                (r_["att_u"] if variant else r_["att"]).append(a)
        for m in methods:
            r_ = rec[m]
            out = {
                "bench": "share", "method": "python-" + m, "n": n, "unit": "us",
                "median": statistics.median(r_["tot"]) / 1e3, "p99": pct(r_["tot"], 99) / 1e3,
                "samples": len(r_["tot"]), "load1": round(load, 2),
                "writer_median": statistics.median(r_["wr"]) / 1e3,
                "reader_read_median": statistics.median(r_["rd"]) / 1e3,
            }
            if m != "queue":  # nothing to attach: the bytes arrive
                out["reader_open_median"] = statistics.median(r_["att"]) / 1e3
                out["reader_open_p99"] = pct(r_["att"], 99) / 1e3
            if r_["att_u"]:
                out["reader_open_untracked_median"] = statistics.median(r_["att_u"]) / 1e3
                out["reader_open_untracked_p99"] = pct(r_["att_u"], 99) / 1e3
            print("RESULT " + json.dumps(out), flush=True)
        n *= 4
    down.write(b"quit\n")
    down.close()
    up.close()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        sys.exit("shm_share: the reader failed")


if __name__ == "__main__":
    main()

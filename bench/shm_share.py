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
- shmview-longlived (--socket): the data plane with long-lived views
  (docs/python.md). At each N the writer makes one segment (a 64-byte
  header with the sequence word, then N bytes) and the reader opens a
  read-only view of it, both before the first, untimed, rep; the views
  stay open for every rep at that N. Per hand-off the writer copies N
  bytes into its view, publishes the sequence (store32, release) and wakes
  (wake); the reader, told over the pipe which method comes next and
  asleep in View.wait on the sequence word before the writer starts,
  wakes, reads the word (load32, acquire), copies the N bytes out
  (bytes(view slice)) and acknowledges over the pipe like the others. No
  daemon request, no mapping, no page fault per hand-off: a fresh segment
  per message cannot beat the Queue at 64 KiB (the standard library's own
  fresh hand-off is about 1.0x the Queue there), this is what can.
- queue: the bytes pickled through a multiprocessing.Queue (nothing to
  attach: the bytes arrive).

Prints RESULT lines like shmview-bench, one per method and N.
Usage: shm_share.py [--quick] [--max N] [--socket PATH] [--methods a,b,c]
(methods: shared_memory, shmview, shmview-longlived, queue; the shmview
ones need --socket)
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
HDR = 64  # shmview-longlived: the sequence word at 0, the payload from here
METHODS = ("shared_memory", "shmview", "shmview-longlived", "queue")


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
    if "shmview" in methods or "shmview-longlived" in methods:
        import shmview
        client = shmview.connect(socket_path)  # the child's own connection
    register = resource_tracker.register
    clock = time.monotonic_ns
    lv, lv_desc, seen = None, None, 0  # shmview-longlived: the view kept open
    while True:
        line = down.readline()
        if not line or line == b"quit\n":
            if lv is not None:
                lv.release()
            return
        method, n, untracked, arg = line.decode().split(" ", 3)
        n, untracked, arg = int(n), int(untracked), arg.rstrip("\n")
        keep = ()
        if method == "shmview-longlived":
            if arg != lv_desc:  # a new N: open its segment once (untimed)
                if lv is not None:
                    lv.release()
                lv = client.open_descriptor(arg)
                lv_desc, seen = arg, lv.load32(0)
            up.write(b"r")  # about to wait: the writer may start
            t0 = clock()
            deadline = t0 + 60 * 10**9
            while (seq := lv.load32(0)) == seen:  # acquire
                if not lv.wait(0, seen, timeout=10) and clock() > deadline:
                    sys.exit("shm_share reader: no hand-off came within 60 s")
            t1 = clock()
            data = bytes(lv[HDR:HDR + n])
            t2 = clock()
            fresh = seq == (seen + 1) & 0xFFFFFFFF  # one publish, not a stale payload
            seen = seq
            ok = fresh and len(data) == n and data[-1] != 0
            up.write(ACK.pack(int(ok), 0, t1 - t0, t2 - t1))
            del data
            up.write(b"c")  # nothing to clean up: the view stays
            continue
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
    methods = list(METHODS)
    if "--methods" in sys.argv:
        methods = [m for m in sys.argv[sys.argv.index("--methods") + 1].split(",") if m]
    for m in methods:
        if m not in METHODS:
            sys.exit(f"shm_share: unknown method {m}")
    if socket_path is None:
        methods = [m for m in methods if not m.startswith("shmview")]
    client = None
    if "shmview" in methods or "shmview-longlived" in methods:
        import shmview
        client = shmview.connect(socket_path)
        if not getattr(shmview, "HAVE_WAIT", False) and "shmview-longlived" in methods:
            print("shm_share: shmview-longlived not run: this shmview has no View.wait",
                  file=sys.stderr)
            methods.remove("shmview-longlived")
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
    lw, seq = None, 0  # shmview-longlived: the writer's view, its sequence
    while n <= maxn:
        payload = b"x" * n
        load = os.getloadavg()[0]
        rec = {m: {"tot": [], "wr": [], "att": [], "att_u": [], "rd": [], "rep_att": [],
                   "rep_untracked": []} for m in methods}
        if "shmview-longlived" in methods:
            # One segment for every rep at this N, made and mapped untimed.
            if lw is not None:
                lw.release()
            lw = client.create_view(f"shm-share-{os.getpid()}-{n}", HDR + n, ephemeral=True,
                                    prefault=True)
            seq = 0
        for rep in range(-1, reps_for(n, quick)):
            k = max(rep, 0) % len(methods)
            for m in methods[k:] + methods[:k]:
                untracked = rep % 2 if m == "shared_memory" else 0
                if m == "shmview-longlived":
                    # Untimed: say which method comes, and let the reader
                    # get to its wait (it has the descriptor once per N).
                    down.write(f"{m} {n} 0 {lw.descriptor}\n".encode())
                    read_exact(up, 1)
                    t0 = clock()
                    lw[HDR:HDR + n] = payload
                    seq = (seq + 1) & 0xFFFFFFFF
                    lw.store32(0, seq)  # release: publishes the payload
                    lw.wake(0, 1)
                    t1 = clock()
                    ok, variant, a, r = ACK.unpack(read_exact(up, ACK.size))
                    t2 = clock()
                    obj = None
                else:
                    t0 = clock()
                if m == "shmview":
                    obj = shmview.View(payload, client=client)
                    msg = obj.descriptor
                elif m == "shared_memory":
                    obj = shared_memory.SharedMemory(create=True, size=n)
                    obj.buf[:n] = payload
                    msg = obj.name
                elif m == "queue":
                    obj = None
                    queue.put(payload)
                    msg = "-"
                if m != "shmview-longlived":
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
                r_["rep_att"].append(a)  # rep by rep, for ratios paired per rep
                r_["rep_untracked"].append(variant)
        for m in methods:
            r_ = rec[m]
            out = {
                "bench": "share", "method": "python-" + m, "n": n, "unit": "us",
                "median": statistics.median(r_["tot"]) / 1e3, "p99": pct(r_["tot"], 99) / 1e3,
                "samples": len(r_["tot"]), "load1": round(load, 2),
                "writer_median": statistics.median(r_["wr"]) / 1e3,
                "reader_read_median": statistics.median(r_["rd"]) / 1e3,
                # every rep in order (every method ran in each): run.py pairs
                # the methods rep by rep
                "reps_us": [round(t / 1e3, 3) for t in r_["tot"]],
            }
            if m not in ("queue", "shmview-longlived"):  # nothing to attach
                out["reader_open_median"] = statistics.median(r_["att"]) / 1e3
                out["reader_open_p99"] = pct(r_["att"], 99) / 1e3
                out["reader_open_reps_us"] = [round(t / 1e3, 3) for t in r_["rep_att"]]
            if r_["att_u"]:
                out["reader_open_untracked_median"] = statistics.median(r_["att_u"]) / 1e3
                out["reader_open_untracked_p99"] = pct(r_["att_u"], 99) / 1e3
                out["reader_open_reps_untracked"] = r_["rep_untracked"]
            print("RESULT " + json.dumps(out), flush=True)
        n *= 4
    if lw is not None:
        lw.release()
    down.write(b"quit\n")
    down.close()
    up.close()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        sys.exit("shm_share: the reader failed")


if __name__ == "__main__":
    main()

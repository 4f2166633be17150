#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python queues between two processes: a message of N bytes, interleaved.

One writer (this process, CPU 0) and one reader (a fork-started
multiprocessing.Process, CPU 1) per N; every method's queue is made before
the reader starts and handed to it as multiprocessing hands a queue to a
worker. The methods take turns message by message, in rotating order, so
the machine's load hits them alike. Per message: the reader, told over a
pipe which method comes (untimed), says it is ready and blocks in that
method's get; the writer's clock starts, it puts a numpy array of N bytes
(uint8, made once per N), and the time ends when the reader, get()
having returned the message, has checked its length and its first and
last bytes and released it (del: for the zero-copy methods this frees the
message's space). Both read CLOCK_MONOTONIC, the machine's clock: the
reader sends its reading back over a pipe, which is not timed (a wake-up
of the writer would otherwise weigh on every method alike and hide their
differences). The reader does not
read every byte: what a zero-copy method saves is exactly that the bytes
are not moved again. Methods:

- shmview-queue: shmview.Queue(capacity=...) holding the message (the
  ring is at least 2 N + 1 MiB): put writes the array's bytes straight
  into the ring, get returns a read-only array over it.
- shmview-queue-spilled (N >= 1 MiB): shmview.Queue with a ring smaller
  than the message (256 KiB): the message travels as an ephemeral segment.
- mp-queue: multiprocessing.Queue (pickled, through a pipe).
- torch-queue: torch.multiprocessing.Queue; the writer puts
  torch.from_numpy(array) (a new tensor each time, as a data loader makes
  new batches): the queue moves its storage into shared memory (one copy)
  and passes the descriptor; the reader gets a tensor over it.
- iceoryx2 (its Python package importable): publish-subscribe with a slice
  of N bytes: the writer loans, copies the array in, sends and notifies an
  event; the reader sleeps in the event's listener (blocking_wait), then
  receives; the same waiting style as a blocking get. iceoryx2-polling:
  the reader busy-polls receive() instead.

Prints RESULT lines like shmview-bench, one per method and N, each with
the times of every rep in order (reps_us), so run.py pairs methods rep by
rep. Usage: queue_bench.py [--quick] [--max N] [--socket PATH]
[--methods a,b] (shmview ones need --socket; absent packages are skipped
with one line on stderr).
"""
import ctypes
import json
import multiprocessing
import os
import statistics
import struct
import sys
import time

try:
    import numpy as np
except ImportError:  # every method puts numpy arrays
    print("NOTE not run: numpy is not importable (Debian: apt-get install python3-numpy)")
    sys.exit(0)

ALL = ("shmview-queue", "shmview-queue-spilled", "mp-queue", "torch-queue", "iceoryx2",
       "iceoryx2-polling")
SIZES = [64, 4096, 65536, 1 << 20, 16 << 20, 64 << 20]
SPILL_RING = 256 << 10
STAMP = struct.Struct("<Q")  # the reader's time of release, ns


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
    r = 301 if n <= 65536 else 61 if n <= 1 << 20 else 15 if n <= 16 << 20 else 7
    return max(3, r // 10) if quick else r


def skip(msg):
    # a NOTE line: run.py puts it into the notes of docs/benchmarks.md
    print("NOTE " + msg, flush=True)


def read_exact(fd, n):
    b = b""
    while len(b) < n:
        chunk = os.read(fd, n - len(b))
        if not chunk:
            sys.exit("queue_bench: the reader died")
        b += chunk
    return b


class Iox2:
    """One side of an iceoryx2 publish-subscribe service of byte slices of up
    to n bytes, with an event whose listener the reader sleeps in."""

    def __init__(self, iox2, name, n, writer):
        self.iox2 = iox2
        self.node = iox2.NodeBuilder.new().create(iox2.ServiceType.Ipc)
        svc = (self.node.service_builder(iox2.ServiceName.new(name + "/data"))
               .publish_subscribe(iox2.Slice[ctypes.c_uint8]).open_or_create())
        ev = self.node.service_builder(iox2.ServiceName.new(name + "/event")).event().open_or_create()
        if writer:
            self.pub = (svc.publisher_builder().initial_max_slice_len(max(n, 1))
                        .allocation_strategy(iox2.AllocationStrategy.PowerOfTwo).create())
            self.notifier = ev.notifier_builder().create()
        else:
            self.sub = svc.subscriber_builder().create()
            self.listener = ev.listener_builder().create()
        self.svc, self.ev = svc, ev

    def put(self, arr):
        s = self.pub.loan_slice_uninit(arr.nbytes)
        ctypes.memmove(s.payload().as_ptr(), arr.ctypes.data, arr.nbytes)
        s.assume_init().send()
        self.notifier.notify()

    def get(self, polling):
        while True:
            s = self.sub.receive()
            if s is not None:
                return s
            if not polling:
                self.listener.blocking_wait()


def reader(cmd_r, up_w, queues, n, names):
    """The reader: per message, a method index on cmd_r; 'r' when about to
    block in its get; after get, check and release, 'a' (or 'x': wrong)."""
    pin(1 if (os.cpu_count() or 1) > 1 else 0)
    iox = {}
    if "iceoryx2" in names or "iceoryx2-polling" in names:
        import iceoryx2
        iceoryx2.set_log_level_from_env_or(iceoryx2.LogLevel.Warn)
        for m in ("iceoryx2", "iceoryx2-polling"):
            if m in names:
                iox[m] = Iox2(iceoryx2, queues[m], n, writer=False)
    os.write(up_w, b"s")
    while True:
        c = os.read(cmd_r, 1)
        if not c or c == b"q":
            return
        m = names[c[0]]
        os.write(up_w, b"r")
        if m.startswith("iceoryx2"):
            s = iox[m].get(m == "iceoryx2-polling")
            mv = s.payload().as_memory_view().cast("B")
            ok = len(mv) == n and mv[0] == 7 and mv[n - 1] == 7
            del mv
            s.delete()
        else:
            obj = queues[m].get()
            if m == "torch-queue":
                ok = obj.numel() == n and int(obj[0]) == 7 and int(obj[n - 1]) == 7
            else:
                ok = obj.nbytes == n and obj[0] == 7 and obj[n - 1] == 7
            del obj
        # the clock stops here, on the reader's side: CLOCK_MONOTONIC is the
        # machine's, so the writer subtracts its start; the pipe that
        # carries it is not in the time
        os.write(up_w, (b"a" if ok else b"x") + STAMP.pack(time.monotonic_ns()))


def available(methods, socket_path):
    """The methods that can run here, and the modules they need."""
    mods, out = {}, []
    for m in methods:
        if m.startswith("shmview"):
            if socket_path is None:
                skip(f"{m} not run: no --socket (shmviewd)")
                continue
            try:
                import shmview
            except ImportError as e:
                skip(f"{m} not run: cannot import shmview ({e})")
                continue
            if not hasattr(shmview, "Queue"):
                skip(f"{m} not run: this shmview package has no Queue")
                continue
            mods["shmview"] = shmview
        elif m == "torch-queue":
            try:
                import torch
                import torch.multiprocessing as tmp
            except ImportError:
                skip("torch-queue not run: torch is not importable (Debian: apt-get install "
                     "python3-torch)")
                continue
            torch.set_num_threads(1)
            mods["torch"], mods["tmp"] = torch, tmp
        elif m.startswith("iceoryx2"):
            try:
                import iceoryx2
            except ImportError:
                skip(f"{m} not run: iceoryx2 is not importable (its PyPI package, in a venv: "
                     "docs/benchmarks.md, To rerun)")
                continue
            mods["iceoryx2"] = iceoryx2
        out.append(m)
    return out, mods


def make_queues(methods, mods, n, socket_path, client):
    q = {}
    ctx = multiprocessing.get_context("fork")
    for m in methods:
        if m == "shmview-queue":
            q[m] = mods["shmview"].Queue(capacity=2 * n + (1 << 20), client=client)
        elif m == "shmview-queue-spilled":
            q[m] = mods["shmview"].Queue(capacity=SPILL_RING, client=client)
        elif m == "mp-queue":
            q[m] = ctx.Queue()
        elif m == "torch-queue":
            q[m] = mods["tmp"].get_context("fork").Queue()
        elif m.startswith("iceoryx2"):
            q[m] = f"shmview-bench/{os.getpid()}/{m}/{n}"  # a service name
    return q


def main():
    quick = "--quick" in sys.argv
    maxn = int(sys.argv[sys.argv.index("--max") + 1], 0) if "--max" in sys.argv else 64 << 20
    socket_path = sys.argv[sys.argv.index("--socket") + 1] if "--socket" in sys.argv else None
    methods = list(ALL)
    if "--methods" in sys.argv:
        methods = [m for m in sys.argv[sys.argv.index("--methods") + 1].split(",") if m]
    for m in methods:
        if m not in ALL:
            sys.exit(f"queue_bench: unknown method {m}")
    methods, mods = available(methods, socket_path)
    vers = [f"Python {sys.version.split()[0]} ({sys.executable})", f"numpy {np.__version__}"]
    vers += [f"torch {mods['torch'].__version__}"] if "torch" in mods else []
    if "iceoryx2" in mods:
        try:
            from importlib.metadata import version
            vers.append(f"iceoryx2 {version('iceoryx2')} (PyPI)")
        except Exception:
            vers.append("iceoryx2")
    skip("; ".join(vers))
    client = mods["shmview"].connect(socket_path) if "shmview" in mods else None
    if "iceoryx2" in mods:
        mods["iceoryx2"].set_log_level_from_env_or(mods["iceoryx2"].LogLevel.Warn)
    pin(0)
    clock = time.monotonic_ns
    for n in [s for s in SIZES if s <= maxn]:
        names = [m for m in methods if m != "shmview-queue-spilled" or n >= 1 << 20]
        queues = make_queues(names, mods, n, socket_path, client)
        cmd_r, cmd_w = os.pipe()
        up_r, up_w = os.pipe()
        proc = multiprocessing.get_context("fork").Process(
            target=reader, args=(cmd_r, up_w, queues, n, names), daemon=True)
        proc.start()
        os.close(cmd_r)
        os.close(up_w)
        iox = {m: Iox2(mods["iceoryx2"], queues[m], n, writer=True)
               for m in names if m.startswith("iceoryx2")}
        read_exact(up_r, 1)  # the reader is set up
        if iox:
            time.sleep(0.2)  # iceoryx2: the subscriber and publisher connect
        arr = np.full(n, 7, dtype=np.uint8)
        load = os.getloadavg()[0]
        tot = {m: [] for m in names}
        for rep in range(-2, reps_for(n, quick)):
            k = max(rep, 0) % len(names)
            for m in names[k:] + names[:k]:
                os.write(cmd_w, bytes([names.index(m)]))
                read_exact(up_r, 1)  # the reader is about to block in get
                t0 = clock()
                if m.startswith("iceoryx2"):
                    iox[m].put(arr)
                elif m == "torch-queue":
                    queues[m].put(mods["torch"].from_numpy(arr))
                else:
                    queues[m].put(arr)
                a = read_exact(up_r, 1 + STAMP.size)
                t1 = STAMP.unpack(a[1:])[0]
                if a[:1] != b"a":
                    sys.exit(f"queue_bench: the reader got a wrong message ({m}, {n})")
                if rep >= 0:
                    tot[m].append(t1 - t0)
        os.write(cmd_w, b"q")
        proc.join(60)
        if proc.exitcode != 0:
            sys.exit(f"queue_bench: the reader failed ({proc.exitcode})")
        os.close(cmd_w)
        os.close(up_r)
        for m in names:
            q = queues[m]
            if hasattr(q, "close"):
                q.close()
            if hasattr(q, "join_thread"):
                q.join_thread()
        del iox
        for m in names:
            out = {"bench": "queue", "method": m, "n": n, "unit": "us",
                   "median": statistics.median(tot[m]) / 1e3, "p99": pct(tot[m], 99) / 1e3,
                   "samples": len(tot[m]), "load1": round(load, 2),
                   "reps_us": [round(t / 1e3, 3) for t in tot[m]]}
            if m == "shmview-queue":
                out["capacity"] = 2 * n + (1 << 20)
            elif m == "shmview-queue-spilled":
                out["capacity"] = SPILL_RING
            print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()

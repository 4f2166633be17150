# SPDX-License-Identifier: MIT
"""A data loader over shmview.Queue: a producer process makes batches
(numpy arrays of 1 to 64 MiB), four worker processes take them from one
queue and send a small result back on another. Each array is copied once,
by the producer, into the queue's ring; the workers read it there, and its
space is freed when they drop it.

    python3 dataloader.py [--method spawn] [--rounds 2] [--unit 1048576]

(--unit: the bytes in a "MiB", smaller for a quick run; a daemon must be
running, found as shmview.connect() finds it.)
"""

import argparse
import multiprocessing as mp
import time

import numpy

import shmview

WORKERS = 4


def produce(jobs, sizes):
    for i, size in enumerate(sizes):
        batch = numpy.full(size // 8, i, dtype=numpy.float64)
        jobs.put((i, batch))  # pickled now: batch's bytes go straight to the ring
    for _ in range(WORKERS):
        jobs.put(None)
    jobs.close()
    jobs.join_thread()  # what the feeder thread holds is sent before exit


def work(jobs, results):
    while (job := jobs.get()) is not None:
        i, batch = job  # read-only, over the ring: no copy
        results.put((i, float(batch.sum()), batch.nbytes))
        del job, batch  # the message's space goes back to the ring


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="spawn", choices=mp.get_all_start_methods())
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--unit", type=int, default=1 << 20)
    args = ap.parse_args()
    mib = [1, 2, 4, 8, 16, 32, 64]
    sizes = [m * args.unit for m in mib] * args.rounds
    ctx = mp.get_context(args.method)
    # Room for a few of the biggest batches at once; maxsize bounds how far
    # the producer runs ahead.
    jobs = shmview.Queue(maxsize=8, capacity=4 * 64 * args.unit + (1 << 20))
    results = shmview.Queue()
    procs = [ctx.Process(target=produce, args=(jobs, sizes))]
    procs += [ctx.Process(target=work, args=(jobs, results)) for _ in range(WORKERS)]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    got = sorted(results.get(timeout=600) for _ in sizes)
    elapsed = time.monotonic() - t0
    for p in procs:
        p.join()
    for (i, total, nbytes), size in zip(got, sizes):
        assert nbytes == size and total == i * (size // 8), (i, total, nbytes)
    assert all(p.exitcode == 0 for p in procs)
    print(f"ok: {len(sizes)} batches, {sum(sizes) / 2**20:.0f} MiB through {WORKERS} workers "
          f"({args.method}) in {elapsed:.2f} s")


if __name__ == "__main__":
    main()

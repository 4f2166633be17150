#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The comparisons of docs/benchmarks.md as pictures: latency against N,
log-log, one line per method and floor (Debian's python3-matplotlib).

Called by bench/run.py with the run's RESULT records; on its own it reads
them from a JSON file run.py leaves in the build tree:
  plots.py RESULTS.json OUTDIR
"""
import json
import os
import sys

# panels of (title, [(method, label, colour, line style, marker)]); floors grey
HANDOFF = [
    ("sleeping: futex wait / WaitSet", [
        ("channel-futex", "shmview channel, futex wait", "tab:blue", "-", "o"),
        ("floor-futex", "floor: raw futex hand-off", "0.35", "--", "o"),
        ("iceoryx-waitset", "iceoryx, WaitSet", "tab:red", "-", "^"),
        ("iceoryx2-listener", "iceoryx2, event listener", "tab:purple", "-", "P"),
        ("unix-socket", "Unix socket (copies)", "tab:green", ":", "d"),
    ]),
    ("polling", [
        ("channel-poll", "shmview channel, polling", "tab:blue", "-", "s"),
        ("floor-spin", "floor: raw spin hand-off", "0.35", "--", "s"),
        ("iceoryx-polling", "iceoryx, polling", "tab:red", "-", "v"),
        ("iceoryx2-polling", "iceoryx2, polling", "tab:purple", "-", "X"),
    ]),
]
QUEUE = [
    ("", [
        ("shmview-queue", "shmview.Queue", "tab:blue", "-", "o"),
        ("shmview-queue-spilled", "shmview.Queue, spilled (ring < N)", "tab:blue", ":", "s"),
        ("mp-queue", "multiprocessing.Queue", "tab:green", "-", "d"),
        ("torch-queue", "torch.multiprocessing.Queue (tensors)", "tab:orange", "-", "P"),
        ("iceoryx2", "iceoryx2 (Python), listener wait", "tab:purple", "-", "^"),
        ("iceoryx2-polling", "iceoryx2 (Python), polling", "tab:purple", ":", "v"),
    ]),
]


def size_label(n):
    for unit, s in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= s:
            return f"{n // s} {unit}"
    return f"{n} B"


def draw(results, bench, panels, title, path, subtitle):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rs = [r for r in results if r.get("bench") == bench]
    if not rs:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels) if len(panels) > 1 else 8,
                                                       5.2), dpi=110, squeeze=False)
    drawn = False
    for ax, (ptitle, lines) in zip(axes[0], panels):
        sizes = set()
        for method, label, colour, style, marker in lines:
            pts = sorted((r["n"], r["median"]) for r in rs if r.get("method") == method)
            if not pts:
                continue
            sizes.update(n for n, _ in pts)
            ax.plot([n for n, _ in pts], [v for _, v in pts], style, color=colour, marker=marker,
                    markersize=5, linewidth=1.6, label=label)
        if not sizes:
            ax.set_visible(False)
            continue
        drawn = True
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ticks = sorted(sizes)
        ax.set_xticks(ticks)
        ax.set_xticklabels([size_label(n) for n in ticks])
        ax.set_xlabel("message size N")
        ax.set_ylabel("median latency (µs, log scale)")
        if ptitle:
            ax.set_title(ptitle, fontsize=10)
        ax.grid(True, which="major", color="0.88")
        ax.grid(True, which="minor", axis="y", color="0.95")
        ax.legend(fontsize=8, loc="upper left", frameon=True)
    if not drawn:
        plt.close(fig)
        return None
    fig.suptitle(title, fontsize=12)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.text(0.99, 0.01, subtitle, fontsize=7, color="0.35", ha="right", va="bottom")
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_all(results, outdir, subtitle=""):
    """The PNGs written (paths), or raises ImportError without matplotlib."""
    import matplotlib  # noqa: F401  (the caller reports its absence)
    out = []
    p = draw(results, "handoff", HANDOFF,
             "C: N bytes from loan to the reader's release (cross-core)",
             os.path.join(outdir, "bench-channel-handoff.png"), subtitle)
    if p:
        out.append(p)
    p = draw(results, "queue", QUEUE,
             "Python: put of N bytes (numpy) to the reader's get + release",
             os.path.join(outdir, "bench-queue.png"), subtitle)
    if p:
        out.append(p)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plots.py RESULTS.json OUTDIR")
    with open(sys.argv[1]) as f:
        data = json.load(f)
    for p in draw_all(data["results"], sys.argv[2], data.get("subtitle", "")):
        print(p)

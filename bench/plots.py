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

# panels of (title, reference method of the ratio row, its target (a
# function of N, or None), [(method, label, colour, line style, marker)]);
# floors grey
HANDOFF = [
    ("sleeping: futex wait / WaitSet", "floor-futex", lambda n: 1.2, [
        ("channel-futex", "shmview channel, futex wait", "tab:blue", "-", "o"),
        ("floor-futex", "floor: raw futex hand-off", "0.35", "--", "o"),
        ("iceoryx-waitset", "iceoryx, WaitSet", "tab:red", "-", "^"),
        ("iceoryx2-listener", "iceoryx2, event listener", "tab:purple", "-", "P"),
        ("unix-socket", "Unix socket (copies)", "tab:green", ":", "d"),
    ]),
    ("polling, or spinning before the futex", "floor-spin", lambda n: 1.2, [
        ("channel-poll", "shmview channel, polling", "tab:blue", "-", "s"),
        ("channel-spin", "shmview channel, spin then futex", "tab:cyan", "--", "D"),
        ("floor-spin", "floor: raw spin hand-off", "0.35", "--", "s"),
        ("iceoryx-polling", "iceoryx, polling", "tab:red", "-", "v"),
        ("iceoryx2-polling", "iceoryx2, polling", "tab:purple", "-", "X"),
    ]),
]
QUEUE = [
    ("", "mp-queue", lambda n: 1.0 if n < 4096 else 0.05 if n >= 64 << 20 else 0.5, [
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


def draw(results, bench, panels, title, path, subtitle, ref_label):
    """Latency against N (top row) and the ratio to the panel's reference
    measured in the same run (bottom row), log-log, one line per method."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    rs = [r for r in results if r.get("bench") == bench]
    if not rs:
        return None
    med = {(r["method"], r["n"]): r["median"] for r in rs}
    cols = len(panels)
    fig, axes = plt.subplots(2, cols, figsize=(6.2 * cols if cols > 1 else 8, 8.4), dpi=110,
                             squeeze=False, sharex="col",
                             gridspec_kw={"height_ratios": [3, 2]})
    drawn = False
    for k, (ptitle, ref, target, lines) in enumerate(panels):
        ax, rx = axes[0][k], axes[1][k]
        sizes = set()
        for method, label, colour, style, marker in lines:
            pts = sorted((n, v) for (m, n), v in med.items() if m == method)
            if not pts:
                continue
            sizes.update(n for n, _ in pts)
            ax.plot([n for n, _ in pts], [v for _, v in pts], style, color=colour, marker=marker,
                    markersize=5, linewidth=1.6, label=label)
            rp = [(n, v / med[(ref, n)]) for n, v in pts if med.get((ref, n))]
            if rp and method != ref and method != "unix-socket":  # copies: off the scale
                rx.plot([n for n, _ in rp], [v for _, v in rp], style, color=colour,
                        marker=marker, markersize=5, linewidth=1.6)
        if not sizes:
            ax.set_visible(False)
            rx.set_visible(False)
            continue
        drawn = True
        ticks = sorted(sizes)
        rx.axhline(1.0, color="0.35", linestyle="--", linewidth=1.2)
        if target:
            tn = [n for n in ticks if (ref, n) in med]
            if tn:
                rx.step(tn, [target(n) for n in tn], where="mid", color="black", linestyle=":",
                        linewidth=1.2, label="target (issue 22)")
                rx.legend(fontsize=8, loc="best")
        for a in (ax, rx):
            a.set_xscale("log", base=2)
            a.set_yscale("log")
            a.grid(True, which="major", color="0.88")
            a.grid(True, which="minor", axis="y", color="0.95")
        lo, hi = rx.get_ylim()
        fine = (0.5, 0.8, 1, 1.2, 1.5, 2, 3, 4, 6, 10)
        coarse = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20)
        nice = [v for v in (fine if hi / lo < 20 else coarse) if lo <= v <= hi]
        rx.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(nice))
        rx.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
        rx.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        rx.set_xticks(ticks)
        rx.set_xticklabels([size_label(n) for n in ticks])
        rx.set_xlabel("message size N")
        ax.set_ylabel("median latency (µs, log scale)")
        rx.set_ylabel(f"ratio to {ref_label.get(ref, ref)}")
        if ptitle:
            ax.set_title(ptitle, fontsize=10)
        ax.legend(fontsize=8, loc="upper left", frameon=True)
    if not drawn:
        plt.close(fig)
        return None
    fig.suptitle(title, fontsize=12)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.text(0.99, 0.005, subtitle, fontsize=7, color="0.35", ha="right", va="bottom")
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_all(results, outdir, subtitle=""):
    """The PNGs written (paths), or raises ImportError without matplotlib."""
    import matplotlib  # noqa: F401  (the caller reports its absence)
    out = []
    p = draw(results, "handoff", HANDOFF,
             "C: N bytes from loan to the reader's release (cross-core)",
             os.path.join(outdir, "bench-channel-handoff.png"), subtitle,
             {"floor-futex": "the raw futex floor", "floor-spin": "the raw spin floor"})
    if p:
        out.append(p)
    p = draw(results, "queue", QUEUE,
             "Python: put of N bytes (numpy) to the reader's get + release",
             os.path.join(outdir, "bench-queue.png"), subtitle,
             {"mp-queue": "multiprocessing.Queue"})
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

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run shmview's benchmarks, print a table and write docs/benchmarks.md.

Run by `make bench` (never by `make check`). Needs the built shmviewd and
bench/shmview-bench in --builddir. Optional columns, each skipped with a
message when its package is missing: redis-server (Debian redis-server),
iceoryx (Debian iceoryx + libiceoryx-binding-c-dev), torch (Debian
python3-torch), iceoryx2 (its PyPI package in a venv, BUILD/bench/iceoryx2-venv
or $ICEORYX2_PYTHON), the plots (Debian python3-matplotlib). Python's
multiprocessing.shared_memory needs only python3.

usage: run.py --builddir DIR --srcdir DIR [--out FILE] [--quick]
              [--only open,open-sealed,throughput,pingpong,scale,share,handoff,wakeup,prefault,chanrate,queue]
"""
import argparse
import datetime
import json
import math
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ALL = ["open", "open-sealed", "throughput", "pingpong", "scale", "share", "handoff", "wakeup",
       "prefault", "chanrate", "queue"]
SIZES = [4096 * 4 ** k for k in range(9)]  # 4 KiB .. 256 MiB
HANDOFF_SIZES = [64, 4096] + [4096 * 16 ** k for k in range(1, 5)]  # 64 B .. 256 MiB


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_results(cmd, **kw):
    log("$ " + " ".join(cmd))
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, **kw)
    out = []
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            out.append(json.loads(line[7:]))
        else:
            log(line)
    if p.returncode != 0:
        log(f"  exited {p.returncode}")
    return out, p.returncode


def machine():
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "load1": os.getloadavg()[0],
    }


# A run (or one benchmark of it) is too noisy to count when other work
# took more than this share of the machine's CPU time while it ran. The
# load average is recorded and a start above NOISY_LOAD is pointed out, but
# it does not decide: it is a minute's decaying average of runnable tasks,
# raised by `make bench`'s own build and by a previous run. Why, in
# bench/notes.md ("When a run counts").
NOISY_OTHERS = 0.10
NOISY_LOAD = 1.0


def cpu_sample():
    """(wall s, busy CPU s of the whole machine, CPU s of this process and
    its reaped descendants). Busy includes steal: a hypervisor's taking the
    CPU is other work too."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
    ours = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        ours += ru.ru_utime + ru.ru_stime
    return time.time(), busy, ours


def others_share(c0, c1, cores):
    """The share of the machine's CPU time that processes other than this
    run's used between two cpu_sample()s (every helper this run starts is
    reaped before its section ends, so its time counts as ours)."""
    wall = c1[0] - c0[0]
    if wall <= 0:
        return 0.0
    return max(0.0, (c1[1] - c0[1]) - (c1[2] - c0[2])) / (wall * cores)


def noise_verdict(load1, run0, run1, sections, cores):
    """Others' CPU over the run and per benchmark, and whether the run (and
    each benchmark) is too noisy to count: a dict for the header."""
    v = {"others": others_share(run0, run1, cores), "why": [], "sections": [], "caution": ""}
    if load1 > NOISY_LOAD:
        v["caution"] = (f"The 1-minute load average was {load1:.2f} at the start (above "
                        f"{NOISY_LOAD:.1f}): the minute before the run was busy (this run's own "
                        "build counts too); the CPU time of other processes says whether it "
                        "stayed so.")
    if v["others"] > NOISY_OTHERS:
        v["why"].append(f"other processes used {100 * v['others']:.0f} % of the CPU time "
                        f"during the run (> {100 * NOISY_OTHERS:.0f} %)")
    for name, c0, c1 in sections:
        share = others_share(c0, c1, cores)
        v["sections"].append((name, (c1[0] - c0[0]) / 60, share, share > NOISY_OTHERS))
    noisy = [n for n, _, _, bad in v["sections"] if bad]
    v["noisy"] = set(noisy)
    if noisy and not v["why"]:
        v["why"].append("other processes used more than "
                        f"{100 * NOISY_OTHERS:.0f} % of the CPU time during " + ", ".join(noisy))
    return v


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, secs=10):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start_redis(tmp):
    exe = shutil.which("redis-server")
    if not exe:
        return None, None, "redis-server not found (apt-get install -y redis-server): column skipped"
    port = free_port()
    cmd = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", tmp, "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning",
           "--proto-max-bulk-len", "1gb", "--unixsocket", ""]
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        cmd = ["taskset", "-c", "1"] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_port(port):
        p.kill()
        p.wait()
        return None, None, "redis-server did not start: column skipped"
    ver = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.split()
    v = next((w for w in ver if w.startswith("v=")), "v=?")[2:]
    return p, port, f"redis-server {v} on 127.0.0.1:{port} (pinned to CPU 1), --save '' --appendonly no"


IOX_INC = "/usr/include/iceoryx/v2.0.3"


def iceoryx_build(builddir, srcdir, prog="iox-share"):
    if not shutil.which("iox-roudi"):
        return None, "iox-roudi not found (apt-get install -y iceoryx libiceoryx-binding-c-dev): column skipped"
    if not os.path.exists(os.path.join(IOX_INC, "iceoryx_binding_c", "publisher.h")):
        return None, "iceoryx C binding headers not found (apt-get install -y libiceoryx-binding-c-dev): column skipped"
    exe = os.path.join(builddir, "bench", prog)
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-O2", "-std=gnu11", "-I" + builddir, "-I" + os.path.join(srcdir, "bench"),
           "-I" + IOX_INC, os.path.join(srcdir, "bench", prog + ".c"),
           os.path.join(srcdir, "bench", "common.c"), "-liceoryx_binding_c", "-o", exe]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return None, prog + " did not build: " + p.stderr.strip()[:300]
    return exe, None


def roudi_start(tmp, pools):
    """iox-roudi with mempools (chunk size, count) that hold the chunks in
    flight at every size (payload + chunk header): (roudi, before) or
    (None, why)."""
    conf = os.path.join(tmp, "roudi.toml")
    with open(conf, "w") as f:
        f.write("[general]\nversion = 1\n\n[[segment]]\n\n")
        for size, count in pools:
            f.write(f"[[segment.mempool]]\nsize = {size}\ncount = {count}\n\n")
    before = set(os.listdir("/dev/shm"))
    roudi = subprocess.Popen(["iox-roudi", "-c", conf, "-l", "warning"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    if roudi.poll() is not None:
        return None, "iox-roudi exited at start (another RouDi running?): column skipped"
    return roudi, before


def roudi_stop(roudi, before):
    roudi.terminate()
    try:
        roudi.wait(20)
    except subprocess.TimeoutExpired:
        roudi.kill()
        roudi.wait()
    # RouDi leaves its management and payload segments behind
    for name in set(os.listdir("/dev/shm")) - before:
        if name in ("iceoryx_mgmt", os.environ.get("USER", "root"), "root"):
            try:
                os.unlink(os.path.join("/dev/shm", name))
            except OSError:
                pass


def iceoryx_run(exe, tmp, quick, maxn, pools=None):
    # by default three chunks per size of SIZES
    if pools is None:
        pools = [(n + 4096, 3) for n in SIZES if n <= maxn]
    roudi, before = roudi_start(tmp, pools)
    if roudi is None:
        return [], before
    try:
        args = [exe, "--max", str(maxn)] + (["--quick"] if quick else [])
        res, rc = run_results(args, timeout=900)
        note = None if rc == 0 else f"{os.path.basename(exe)} exited {rc}"
    except subprocess.TimeoutExpired:
        res, note = [], f"{os.path.basename(exe)} timed out"
    finally:
        roudi_stop(roudi, before)
    return res, note


def run_in_turns(cmds, timeout=1800):
    """Run programs that take turns (--turns, bench_turn in bench/common.c)
    side by side: each prints "TURN <what next>" and waits for a byte on
    stdin; this gives the turn to each in order, so only one measures at a
    time and both see the same load, batch by batch. A program that ends
    (or fails) leaves the others to go on alone. Returns the RESULT lines,
    each program's exit code, and notes on turns that did not pair up."""
    procs, nxt = [], []
    for cmd in cmds:
        log("$ " + " ".join(cmd))
        procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True, bufsize=1))
        nxt.append(None)
    killer = threading.Timer(timeout, lambda: [p.kill() for p in procs])
    killer.daemon = True
    killer.start()
    out, notes = [], []

    def until_turn(i):
        # the program's output up to its next TURN line, or its end
        for line in procs[i].stdout:
            line = line.rstrip("\n")
            if line.startswith("TURN "):
                nxt[i] = line[5:]
                return
            if line.startswith("RESULT "):
                out.append(json.loads(line[7:]))
            else:
                log(line)
        nxt[i] = None
        try:
            procs[i].stdin.close()
        except OSError:
            pass

    try:
        for i in range(len(procs)):
            until_turn(i)
        while any(x is not None for x in nxt):
            live = [x for x in nxt if x is not None]
            if (len(live) < len(procs) or len(set(live)) > 1) and len(notes) < 3:
                notes.append("turns not paired: " + " / ".join(str(x) for x in nxt))
            for i in range(len(procs)):
                if nxt[i] is None:
                    continue
                try:
                    procs[i].stdin.write("g")
                    procs[i].stdin.flush()
                except OSError:
                    pass
                until_turn(i)
    finally:
        killer.cancel()
        rcs = [p.wait() for p in procs]
    for cmd, rc in zip(cmds, rcs):
        if rc != 0:
            log(f"  {os.path.basename(cmd[0])} exited {rc}")
    return out, rcs, notes


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "ops/s":
        return f"{v:,.0f}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def size_name(n):
    for unit, s in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= s:
            return f"{n // s} {unit}"
    return f"{n} B"


def main_rows(results, noisy=()):
    """Rows for the figures with a floor: name, placement, median, p99, floor, ratio, target, met
    (met says when the benchmark was too noisy to count, noisy: their names)."""
    rows = []
    for r in results:
        if r["bench"] in ("share", "handoff", "chanrate", "queue"):
            continue
        unit = r["unit"]
        med, p99 = r.get("median"), r.get("p99")
        fmed, fp99 = r.get("floor_median"), r.get("floor_p99")
        # ours / the floor's, whichever way is better: a cost for times
        # (target: at most), a speed for ops/s (target: at least)
        ratio = med / fmed if fmed else None
        target, met = "-", ""
        if "target" in r and ratio is not None:
            target = f"ratio <= {r['target']}"
            met = "yes" if ratio <= r["target"] else "**no**"
        elif "target_min" in r and ratio is not None:
            target = f"ratio >= {r['target_min']}"
            met = "yes" if ratio >= r["target_min"] else "**no**"
        elif "target_abs" in r:
            target = f"<= {r['target_abs']} {unit}"
            met = "yes" if med <= r["target_abs"] else "**no**"
        elif "informative" in r:
            target = r["informative"]
        if met and r["bench"] in noisy:
            met += " (too noisy to count)"
        ratio_s = f"{ratio:.2f}" if ratio is not None else "-"
        if r.get("run_ratios"):
            # the spread of the runs, each against the floor's run beside it
            ratio_s += f" (runs {min(r['run_ratios']):.2f}-{max(r['run_ratios']):.2f})"
        rows.append({
            "bench": r["bench"], "figure": r["figure"], "placement": r.get("placement", "-"),
            "unit": unit, "median": fmt(med, unit),
            "p99": fmt(p99, unit) + (" (p1 of runs)" if r.get("p99_is") else ""),
            "floor": r.get("floor", "-"),
            "floor_val": (fmt(fmed, unit) + " / " + fmt(fp99, unit)) if fmed is not None else "-",
            "ratio": ratio_s,
            "target": target, "met": met, "note": r.get("note", ""),
        })
    return rows


def table(rows, cols, heads):
    out = ["| " + " | ".join(heads) + " |", "|" + "|".join(" --- " for _ in heads) + "|"]
    for row in rows:
        out.append("| " + " | ".join(str(row[c]) for c in cols) + " |")
    return "\n".join(out)


def share_tables(results):
    share = [r for r in results if r["bench"] == "share"]
    if not share:
        return "", ""
    methods = []
    for r in share:
        if r["method"] not in methods:
            methods.append(r["method"])
    by = {(r["method"], r["n"]): r for r in share}
    sizes = sorted({r["n"] for r in share})
    copying = [m for m in ("unix-socket", "redis") if m in methods]
    heads = ["N"] + [f"{m} median / p99 (us)" for m in methods]
    fresh_variants = [m for m in ("shmview-fresh-prefault", "shmview-create-open",
                                  "shmview-create-open-prefault") if m in methods]
    heads += ["fresh / memfd floor"] + [f"{m[8:]} / memfd floor" for m in fresh_variants]
    heads += ["reuse / raw-shm floor", "best copying", "fresh / best copying", "reuse / best copying", "target (N >= 64 KiB): below every copying alternative"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join(" --- " for _ in heads) + "|"]
    for n in sizes:
        cells = [size_name(n)]
        for m in methods:
            r = by.get((m, n))
            cells.append(f"{fmt(r['median'], 'us')} / {fmt(r['p99'], 'us')}" if r else "-")
        pairs = [("shmview-fresh", "memfd-fd-passing")] + [(m, "memfd-fd-passing") for m in fresh_variants]
        for s, fl in pairs + [("shmview-reuse", "raw-shm")]:
            a_, b_ = by.get((s, n)), by.get((fl, n))
            cells.append(f"{a_['median'] / b_['median']:.2f}" if a_ and b_ else "-")
        best = min((by[(m, n)]["median"], m) for m in copying if (m, n) in by) if copying else None
        if best:
            cells.append(f"{best[1]} {fmt(best[0], 'us')}")
            rf = by.get(("shmview-fresh", n))
            ru = by.get(("shmview-reuse", n))
            f = rf["median"] / best[0] if rf else None
            u = ru["median"] / best[0] if ru else None
            cells.append(f"{f:.2f}" if f else "-")
            cells.append(f"{u:.2f}" if u else "-")
            if n >= 65536:
                cells.append(("fresh " + ("yes" if f and f < 1 else "**no**")) + ", " +
                             ("reuse " + ("yes" if u and u < 1 else "**no**")))
            else:
                cells.append("(not required)")
        else:
            cells += ["-", "-", "-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    main = "\n".join(lines)

    # What does and does not depend on N: the parts, medians in us.
    parts_heads = ["N", "shmview create (fallocate)", "shmview writer open+write N",
                   "shmview reader open+map (fresh)", "shmview reader open+map (reuse)",
                   "shmview reader read N (fresh)", "shmview reader release (munmap)",
                   "prefault: writer open+write N", "prefault: reader open+map", "prefault: reader read N",
                   "create-open: create+open (1 round trip)", "create-open-prefault: create+open",
                   "memfd floor: map+write N (fresh pages)", "raw-shm read N (pre-faulted)",
                   "python attach", "iceoryx take"]
    pl = ["| " + " | ".join(parts_heads) + " |", "|" + "|".join(" --- " for _ in parts_heads) + "|"]
    for n in sizes:
        g = lambda m, k: fmt(by[(m, n)].get(k), "us") if (m, n) in by and k in by[(m, n)] else "-"
        pl.append("| " + " | ".join([
            size_name(n), g("shmview-fresh", "create_median"),
            g("shmview-fresh", "writer_open_write_median"),
            g("shmview-fresh", "reader_open_median"), g("shmview-reuse", "reader_open_median"),
            g("shmview-fresh", "reader_read_median"), g("shmview-fresh", "reader_release_median"),
            g("shmview-fresh-prefault", "writer_open_write_median"),
            g("shmview-fresh-prefault", "reader_open_median"),
            g("shmview-fresh-prefault", "reader_read_median"),
            g("shmview-create-open", "create_median"),
            g("shmview-create-open-prefault", "create_median"),
            g("memfd-fd-passing", "writer_open_write_median"), g("raw-shm", "reader_read_median"),
            g("python-shared_memory", "reader_open_median"), g("iceoryx", "reader_open_median"),
        ]) + " |")
    return main, "\n".join(pl)


def python_share(a, builddir, srcdir, daemon, tmp, notes):
    """The Python columns: multiprocessing.shared_memory, the shmview package
    (its own daemon) and a multiprocessing.Queue, all with one interpreter
    (--python: the one the binding was built for) and interleaved rep by rep
    in one writer/reader pair (bench/shm_share.py)."""
    py = a.python
    ver = subprocess.run([py, "-c", "import platform; print(platform.python_version())"],
                         capture_output=True, text=True).stdout.strip() or "?"
    env = dict(os.environ, PYTHONPATH=os.path.join(builddir, "client", "python"))
    script = [py, os.path.join(srcdir, "bench", "shm_share.py"), "--max", str(a.max_size)]
    script += ["--quick"] if a.quick else []
    probe = subprocess.run([py, "-c", "import shmview"], env=env, capture_output=True, text=True)
    proc = None
    if probe.returncode != 0:
        notes.append(f"python-shmview: not run ({py} cannot import the built shmview package: "
                     "configure --with-python and make)")
    else:
        sock = os.path.join(tmp, "py.sock")
        # The daemon on the reader's CPU, as shmview-bench places it.
        cpu = {1} if (os.cpu_count() or 1) > 1 else {0}
        proc = subprocess.Popen([daemon, "--socket", sock, "--prefix", f"shmvbench-py{os.getpid()}",
                                 "--log-level", "warning"],
                                preexec_fn=lambda: os.sched_setaffinity(0, cpu))
        for _ in range(500):
            if os.path.exists(sock):
                break
            time.sleep(0.01)
        script += ["--socket", sock]
    try:
        res, rc = run_results(script, env=env)
    finally:
        if proc:
            proc.terminate()
            proc.wait()
            # the daemon's lock file (and any segment) outlives it by design
            for name in os.listdir("/dev/shm"):
                if name.startswith(f"shmvbench-py{os.getpid()}."):
                    try:
                        os.unlink(os.path.join("/dev/shm", name))
                    except OSError:
                        pass
    if rc != 0:
        notes.append(f"bench/shm_share.py exited {rc}; Python figures may be missing")
    loads = sorted({r["load1"] for r in res if "load1" in r})
    notes.append(f"python (shared_memory, shmview fresh, shmview long-lived, queue): Python {ver} "
                 f"({py}) for all four, one writer/reader pair, the methods interleaved rep by rep"
                 + (f"; load average {loads[0]:.2f}-{loads[-1]:.2f} during it" if loads else ""))
    return res


def python_tables(results):
    """Attach against the standard library's, and both hand-offs against a
    Queue: the fresh one (a new segment per message) and the long-lived one
    (views kept open, the data plane)."""
    by = {(r["method"], r["n"]): r for r in results if r["bench"] == "share"}
    sizes = sorted({n for (m, n) in by if m == "python-shmview"})
    if not sizes:
        return ""
    heads = ["N", "shared_memory attach, as shipped (us)", "shared_memory attach, untracked (us)",
             "shmview open_descriptor + slice (us)", "ratio to as shipped (95 % interval)",
             "ratio to untracked (95 % interval)", "target <= 1.5: as shipped / untracked",
             "Queue hand-off (us)", "shmview fresh hand-off (us)", "ratio (95 % interval)",
             "target (N >= 64 KiB) < 1", "shmview long-lived hand-off (us)",
             "ratio (95 % interval)", "target (N >= 64 KiB) < 1"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join(" --- " for _ in heads) + "|"]

    def against_queue(r, q, n):
        ho = paired((r or {}).get("reps_us"), (q or {}).get("reps_us"))
        return [fmt(r["median"], "us") if r else "-", show_paired(ho),
                (("yes" if ho[0] < 1 else "**no**") if ho else "-") if n >= 65536
                else "(not required)"]

    def attach_against(shv, std, untracked):
        """shmview's attach against shared_memory's in the same rep, over
        the reps where shared_memory attached with (or without) the tracker."""
        a, b, u = (shv.get("reader_open_reps_us"), (std or {}).get("reader_open_reps_us"),
                   (std or {}).get("reader_open_reps_untracked"))
        if not a or not b or not u or not len(a) == len(b) == len(u):
            return None
        keep = [i for i in range(len(u)) if u[i] == untracked]
        return paired([a[i] for i in keep], [b[i] for i in keep])

    for n in sizes:
        std, shv, q = by.get(("python-shared_memory", n)), by[("python-shmview", n)], by.get(("python-queue", n))
        ll = by.get(("python-shmview-longlived", n))
        s_att = std.get("reader_open_median") if std else None
        s_unt = std.get("reader_open_untracked_median") if std else None
        r1, r2 = attach_against(shv, std, 0), attach_against(shv, std, 1)
        lines.append("| " + " | ".join([
            size_name(n), fmt(s_att, "us") if s_att else "-", fmt(s_unt, "us") if s_unt else "-",
            fmt(shv["reader_open_median"], "us"), show_paired(r1), show_paired(r2),
            " / ".join("yes" if r[0] <= 1.5 else "**no**" for r in (r1, r2)) if r1 and r2 else "-",
            fmt(q["median"], "us") if q else "-",
        ] + against_queue(shv, q, n) + against_queue(ll, q, n)) + " |")
    return "\n".join(lines)


def median_ci_ranks(m):
    """0-based ranks (lo, hi) of the sorted values that bound a confidence
    interval of at least 95 % for the median of m values (order statistics:
    no assumption on the distribution); the widest, (0, m - 1), below 6."""
    # the interval from the k-th smallest to the k-th largest (k from 1)
    # misses the median with probability 2 P(Bin(m, 1/2) <= k - 1)
    k, below = 1, 1 / 2 ** m
    while below + math.comb(m, k) / 2 ** m <= 0.025:
        below += math.comb(m, k) / 2 ** m
        k += 1
    if below > 0.025:
        k = 1
    return k - 1, m - k


def paired(a, b):
    """Two measurements taken in the same turns, a[i] beside b[i]: the
    median of the ratios a[i] / b[i] and its 95 % interval (median, lo, hi),
    or None. Pairing cancels what changes from turn to turn (the load, the
    other program's turn), which a ratio of the two overall medians keeps."""
    if not a or not b or len(a) != len(b):
        return None
    r = sorted(p / q for p, q in zip(a, b) if q > 0)
    if not r:
        return None
    lo, hi = median_ci_ranks(len(r))
    return statistics.median(r), r[lo], r[hi]


def show_paired(pr):
    """A paired() result as "median (lo-hi)"."""
    return "-" if pr is None else f"{pr[0]:.2f} ({pr[1]:.2f}-{pr[2]:.2f})"


def paired_ratio(x, y):
    """x against y batch by batch (their batch medians), as paired()."""
    return paired((x or {}).get("batch_medians"), (y or {}).get("batch_medians"))


def handoff_table(results):
    """The hand-off with long-lived views: one row per N, medians / p99 in us,
    and the ratios paired batch by batch."""
    ho = [r for r in results if r["bench"] == "handoff"]
    if not ho:
        return ""
    by = {(r["method"], r["n"]): r for r in ho}
    sizes = sorted({r["n"] for r in ho})

    def cell(m, n):
        r = by.get((m, n))
        return f"{fmt(r['median'], 'us')} / {fmt(r['p99'], 'us')}" if r else "-"

    def ratio(a, b, n):
        return paired_ratio(by.get((a, n)), by.get((b, n)))

    def below_floor(pr):
        return "-" if pr is None else ("yes" if pr[0] <= 1.1 else "**no**")

    def at_or_below(pr):
        # "at": no difference the run can resolve, the interval holds 1
        if pr is None:
            return "-"
        if pr[0] <= 1.0:
            return f"yes ({pr[0]:.2f}x)"
        return f"level ({show_paired(pr)})" if pr[1] <= 1.0 else f"**no** ({show_paired(pr)})"

    def within(pr, t):
        return "-" if pr is None else ("yes" if pr[0] <= t else "**no**")

    heads = ["N", "shmview futex", "floor futex", "ratio (95 % interval)", "shmview spin",
             "floor spin", "ratio (95 % interval)", "shmview adaptive", "iceoryx WaitSet",
             "iceoryx polling", "unix socket", "target: <= 1.1x floor",
             "target: at or below iceoryx, same waiting", "sealed segment, futex",
             "sealed / plain (95 % interval), target <= 1.05"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join(" --- " for _ in heads) + "|"]
    for n in sizes:
        rf = ratio("shmview-futex", "floor-futex", n)
        rs = ratio("shmview-spin", "floor-spin", n)
        vf = ratio("shmview-futex", "iceoryx-waitset", n)
        vs = ratio("shmview-spin", "iceoryx-polling", n)
        sp = ratio("shmview-futex-sealed", "shmview-futex", n)
        lines.append("| " + " | ".join([
            size_name(n), cell("shmview-futex", n), cell("floor-futex", n), show_paired(rf),
            cell("shmview-spin", n), cell("floor-spin", n), show_paired(rs),
            cell("shmview-adaptive", n), cell("iceoryx-waitset", n),
            cell("iceoryx-polling", n), cell("unix-socket", n),
            f"futex {below_floor(rf)}, spin {below_floor(rs)}",
            f"futex {at_or_below(vf)}, spin {at_or_below(vs)}",
            cell("shmview-futex-sealed", n),
            "-" if sp is None else f"{show_paired(sp)} {within(sp, 1.05)}",
        ]) + " |")
    return "\n".join(lines)


def bench_run(b, base, notes):
    """One shmview-bench subcommand: its RESULT lines."""
    results, rc = run_results(base + [b])
    if rc != 0:
        notes.append(f"`shmview-bench {b}` exited {rc}; its figures may be missing")
    if b == "open":
        # The client keeps released mappings for the next view of the same
        # pages; measure the path that maps afresh too.
        res, rc = run_results(base + [b], env=dict(os.environ, SHMVIEW_MAP_CACHE="0"))
        for r in res:
            r["figure"] += " (mapping cache off)"
            # issue 12's <= 1.5 is for the default (cache on): this one is
            # for the record (bench/notes.md says why)
            if r.pop("target", None) is not None:
                r["informative"] = "informative (the <= 1.5 target is for the default, cache on)"
        results += res
    return results


def iceoryx2_build(builddir, srcdir):
    """bench/iox2-handoff (Rust, the iceoryx2 crate from crates.io) built with
    cargo in the build tree (a copy of its sources, so the source tree gets
    no Cargo.lock): (exe, None) or (None, why)."""
    cargo = shutil.which("cargo") or (os.path.expanduser("~/.cargo/bin/cargo")
                                      if os.access(os.path.expanduser("~/.cargo/bin/cargo"), os.X_OK)
                                      else None)
    if not cargo:
        return None, "cargo not found (Rust, from rustup or Debian's cargo): column skipped"
    src = os.path.join(srcdir, "bench", "iox2-handoff")
    dst = os.path.join(builddir, "bench", "iox2-handoff")
    os.makedirs(os.path.join(dst, "src"), exist_ok=True)
    for f in ("Cargo.toml", os.path.join("src", "main.rs")):
        shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
    log(f"$ cargo build --release (bench/iox2-handoff, in {dst})")
    p = subprocess.run([cargo, "build", "--release", "--quiet"], cwd=dst, capture_output=True,
                       text=True, env=dict(os.environ, CARGO_TARGET_DIR=os.path.join(dst, "target")))
    exe = os.path.join(dst, "target", "release", "iox2-handoff")
    if p.returncode != 0 or not os.access(exe, os.X_OK):
        return None, ("bench/iox2-handoff did not build (the iceoryx2 crate needs crates.io or a "
                      "vendored copy): " + p.stderr.strip()[-300:])
    return exe, None


def iox2_cleanup(before):
    """iceoryx2 keeps a global management file in /dev/shm (and, after a
    crash, a dead node's segments): remove the ones this run made."""
    for name in set(os.listdir("/dev/shm")) - before:
        if name.startswith("iox2_"):
            try:
                os.unlink(os.path.join("/dev/shm", name))
            except OSError:
                pass


def handoff_run(a, base, builddir, srcdir, tmp, notes):
    """shmview-bench handoff and, where they can be had, bench/iox-handoff
    (iceoryx) and bench/iox2-handoff (iceoryx2) side by side taking turns:
    a round of batches of every shmview method and its floors, then a round
    of each iceoryx program's styles, at each size, so the programs'
    figures see the same load (samples pooled per method over the rounds,
    in each program, and the batch medians given for paired ratios)."""
    shmv = base[:3] + ["--only", str(a.max_size)] + base[3:] + ["handoff"]
    quick = ["--quick"] if a.quick else []
    others, names = [], []
    exe, why = iceoryx_build(builddir, srcdir, "iox-handoff")
    roudi = None
    if exe:
        # a chunk in flight each way, and one being loaned: three per size
        # (two of the largest); the acks use the smallest
        pools = [(4096 + 64, 16)] + [(n + 4096, 3 if n < (256 << 20) else 2)
                                     for n in HANDOFF_SIZES[1:] if n <= a.max_size]
        roudi, before = roudi_start(tmp, pools)
        if roudi is None:
            why = before
    if roudi is None:
        notes.append("hand-off iceoryx: " + why)
    else:
        others.append([exe, "--max", str(a.max_size), "--turns"] + quick)
        names.append("iox-handoff")
    x2, why2 = iceoryx2_build(builddir, srcdir)
    if x2:
        others.append([x2, "--max", str(a.max_size), "--turns"] + quick)
        names.append("iox2-handoff")
    else:
        notes.append("hand-off iceoryx2: " + why2)
    shm_before = set(os.listdir("/dev/shm"))
    if not others:
        res, rc = run_results(shmv)
        if rc != 0:
            notes.append(f"`shmview-bench handoff` exited {rc}; its figures may be missing")
        return res
    try:
        res, rcs, turn_notes = run_in_turns([shmv[:1] + ["--turns"] + shmv[1:]] + others)
    finally:
        if roudi is not None:
            roudi_stop(roudi, before)
        iox2_cleanup(shm_before)
    for name, rc in zip(["shmview-bench handoff"] + names, rcs):
        if rc != 0:
            notes.append(f"`{name}` exited {rc}; its figures may be missing")
    notes += ["hand-off: " + n for n in turn_notes]
    if roudi is not None:
        notes.append("hand-off iceoryx: bench/iox-handoff.c, iox-roudi started by run.py; "
                     "interleaved with shmview-bench handoff batch by batch (--turns)")
    if x2:
        ver = "?"
        lock = os.path.join(os.path.dirname(os.path.dirname(x2)), "..", "Cargo.lock")
        try:
            text = open(lock).read()
            i = text.index('name = "iceoryx2"\nversion = "')
            ver = text[i:].split('"')[3]
        except (OSError, ValueError, IndexError):
            pass
        notes.append(f"hand-off iceoryx2: bench/iox2-handoff (Rust, iceoryx2 crate {ver} from "
                     "crates.io, built by run.py with cargo), interleaved batch by batch (--turns)")
    return res


def chanrate_run(a, base, builddir, srcdir, tmp, notes):
    """shmview-bench chanrate and, when iceoryx is there, bench/iox-rate
    side by side taking turns run by run (--turns)."""
    shmv = base + ["chanrate"]
    exe, why = iceoryx_build(builddir, srcdir, "iox-rate")
    roudi = None
    if exe:
        # 256 queued + the publishers' loans, 64-byte payloads
        roudi, before = roudi_start(tmp, [(128, 2048)])
        if roudi is None:
            why = before
    if roudi is None:
        notes.append("messages/s iceoryx: " + why)
        res, rc = run_results(shmv)
        if rc != 0:
            notes.append(f"`shmview-bench chanrate` exited {rc}; its figures may be missing")
        return res
    try:
        iox = [exe, "--turns"] + (["--quick"] if a.quick else [])
        res, rcs, turn_notes = run_in_turns([shmv[:1] + ["--turns"] + shmv[1:], iox])
    finally:
        roudi_stop(roudi, before)
    for name, rc in zip(("shmview-bench chanrate", "iox-rate"), rcs):
        if rc != 0:
            notes.append(f"`{name}` exited {rc}; its figures may be missing")
    notes += ["messages/s: " + n for n in turn_notes]
    notes.append("messages/s iceoryx: bench/iox-rate.c, iox-roudi started by run.py; runs "
                 "alternating with shmview-bench chanrate (--turns)")
    return res


def iceoryx2_python(builddir):
    """The interpreter that has the iceoryx2 package, if any: $ICEORYX2_PYTHON,
    or the venv BUILD/bench/iceoryx2-venv (made with --system-site-packages,
    so it sees Debian's numpy and torch too)."""
    for py in (os.environ.get("ICEORYX2_PYTHON"),
               os.path.join(builddir, "bench", "iceoryx2-venv", "bin", "python")):
        if py and os.access(py, os.X_OK):
            return py
    return None


def queue_run(a, builddir, srcdir, daemon, tmp, notes):
    """bench/queue_bench.py: shmview.Queue against multiprocessing.Queue,
    torch.multiprocessing.Queue and iceoryx2, one writer/reader pair per N,
    the methods interleaved message by message."""
    py = a.python
    iox2 = iceoryx2_python(builddir)
    if iox2:
        py = iox2
    else:
        notes.append("queue iceoryx2: absent: no interpreter with the iceoryx2 package "
                     "($ICEORYX2_PYTHON, or the venv BUILD/bench/iceoryx2-venv: \"To rerun\" below "
                     "says how to make it): column skipped")
    env = dict(os.environ, PYTHONPATH=os.path.join(builddir, "client", "python"))
    sock = os.path.join(tmp, "queue.sock")
    cpu = {1} if (os.cpu_count() or 1) > 1 else {0}
    proc = subprocess.Popen([daemon, "--socket", sock, "--prefix", f"shmvbench-q{os.getpid()}",
                             "--log-level", "warning"],
                            preexec_fn=lambda: os.sched_setaffinity(0, cpu))
    for _ in range(500):
        if os.path.exists(sock):
            break
        time.sleep(0.01)
    shm_before = set(os.listdir("/dev/shm"))
    cmd = [py, os.path.join(srcdir, "bench", "queue_bench.py"), "--socket", sock,
           "--max", str(min(a.max_size, 64 << 20))] + (["--quick"] if a.quick else [])
    if not iox2:  # said once above
        cmd += ["--methods", "shmview-queue,shmview-queue-spilled,mp-queue,torch-queue"]
    log("$ " + " ".join(cmd))
    res = []
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, timeout=1200)
        for line in p.stdout.splitlines():
            if line.startswith("RESULT "):
                res.append(json.loads(line[7:]))
            elif line.startswith("NOTE "):
                notes.append("queue: " + line[5:])
            else:
                log(line)
        if p.returncode != 0:
            notes.append(f"bench/queue_bench.py exited {p.returncode}; queue figures may be missing")
    except subprocess.TimeoutExpired:
        notes.append("bench/queue_bench.py timed out")
    finally:
        proc.terminate()
        proc.wait()
        iox2_cleanup(shm_before)
        for name in os.listdir("/dev/shm"):
            if name.startswith(f"shmvbench-q{os.getpid()}."):
                try:
                    os.unlink(os.path.join("/dev/shm", name))
                except OSError:
                    pass
    return res


def channel_table(results):
    """The channel hand-off against its floors and iceoryx, paired batch by
    batch (the same batches as the hand-off table)."""
    ho = [r for r in results if r["bench"] == "handoff"]
    by = {(r["method"], r["n"]): r for r in ho}
    sizes = sorted({r["n"] for r in ho if r["method"].startswith("channel")})
    if not sizes:
        return ""

    def cell(m, n):
        r = by.get((m, n))
        return f"{fmt(r['median'], 'us')} / {fmt(r['p99'], 'us')}" if r else "-"

    def ratio(x, y, n):
        return paired_ratio(by.get((x, n)), by.get((y, n)))

    def floor_met(pr):
        return "-" if pr is None else ("yes" if pr[0] <= 1.2 else f"**no** ({pr[0]:.2f}x)")

    def at_or_below(pr):
        if pr is None:
            return "-"
        if pr[0] <= 1.0:
            return "yes"
        return "level" if pr[1] <= 1.0 else f"**no** ({pr[0]:.2f}x)"

    heads = ["N", "channel futex", "floor futex", "ratio (95 % interval)", "iceoryx WaitSet",
             "ratio (95 % interval)", "iceoryx2 listener", "ratio (95 % interval)",
             "channel poll", "floor spin", "ratio (95 % interval)",
             "channel spin", "ratio to floor spin (95 % interval)",
             "iceoryx polling", "ratio (95 % interval)", "iceoryx2 polling",
             "ratio (95 % interval)", "target: <= 1.2x floor",
             "target: at or below iceoryx, same waiting"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join(" --- " for _ in heads) + "|"]
    for n in sizes:
        ff, fi = ratio("channel-futex", "floor-futex", n), ratio("channel-futex", "iceoryx-waitset", n)
        pf, pi = ratio("channel-poll", "floor-spin", n), ratio("channel-poll", "iceoryx-polling", n)
        f2, p2 = ratio("channel-futex", "iceoryx2-listener", n), ratio("channel-poll", "iceoryx2-polling", n)
        sf = ratio("channel-spin", "floor-spin", n)
        lines.append("| " + " | ".join([
            size_name(n), cell("channel-futex", n), cell("floor-futex", n), show_paired(ff),
            cell("iceoryx-waitset", n), show_paired(fi), cell("iceoryx2-listener", n),
            show_paired(f2), cell("channel-poll", n),
            cell("floor-spin", n), show_paired(pf), cell("channel-spin", n), show_paired(sf),
            cell("iceoryx-polling", n), show_paired(pi),
            cell("iceoryx2-polling", n), show_paired(p2),
            f"futex {floor_met(ff)}, poll {floor_met(pf)}, spin {floor_met(sf)}",
            f"futex {at_or_below(fi)}, poll {at_or_below(pi)}",
        ]) + " |")
    return "\n".join(lines)


def chanrate_table(results):
    """Messages per second, channel against iceoryx, runs paired in order."""
    rs = [r for r in results if r["bench"] == "chanrate"]
    if not rs:
        return ""
    by = {(r["method"], r["senders"]): r for r in rs}
    heads = ["senders", "channel msgs/s: median (slowest run)",
             "iceoryx msgs/s: median (slowest run)", "channel / iceoryx, runs paired (95 % interval)",
             "target: at or above iceoryx"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join(" --- " for _ in heads) + "|"]
    for s_ in sorted({r["senders"] for r in rs}):
        c, i = by.get(("channel", s_)), by.get(("iceoryx", s_))
        pr = paired((c or {}).get("runs"), (i or {}).get("runs"))
        met = "-" if pr is None else ("yes" if pr[0] >= 1.0 else
                                      "level" if pr[2] >= 1.0 else f"**no** ({pr[0]:.2f}x)")
        lines.append("| " + " | ".join([
            str(s_), f"{c['median']:,.0f} ({c['min']:,.0f})" if c else "-",
            f"{i['median']:,.0f} ({i['min']:,.0f})" if i else "-", show_paired(pr), met]) + " |")
    return "\n".join(lines)


def queue_table(results):
    """shmview.Queue against the other queues, paired message by message."""
    qs = [r for r in results if r["bench"] == "queue"]
    if not qs:
        return ""
    by = {(r["method"], r["n"]): r for r in qs}
    sizes = sorted({r["n"] for r in qs})

    def cell(m, n):
        r = by.get((m, n))
        return f"{fmt(r['median'], 'us')} / {fmt(r['p99'], 'us')}" if r else "-"

    def ratio(x, y, n):
        return paired((by.get((x, n)) or {}).get("reps_us"), (by.get((y, n)) or {}).get("reps_us"))

    def mp_target(n):
        return 0.05 if n >= 64 << 20 else 1.0 if n < 4096 else 0.5

    def met_at_most(pr, t):
        return "-" if pr is None else ("yes" if pr[0] <= t else f"**no** ({pr[0]:.2f}x)")

    def at_or_below(pr):
        if pr is None:
            return "-"
        if pr[0] <= 1.0:
            return "yes"
        return "level" if pr[1] <= 1.0 else f"**no** ({pr[0]:.2f}x)"

    heads = ["N", "shmview.Queue", "multiprocessing.Queue", "ratio (95 % interval)",
             "target vs multiprocessing", "torch.multiprocessing.Queue", "ratio (95 % interval)",
             "target: at or below torch", "iceoryx2 (listener)", "ratio (95 % interval)",
             "iceoryx2 polling", "shmview.Queue spilled", "spilled / multiprocessing"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join(" --- " for _ in heads) + "|"]
    for n in sizes:
        mp, tq = ratio("shmview-queue", "mp-queue", n), ratio("shmview-queue", "torch-queue", n)
        ix, sp = ratio("shmview-queue", "iceoryx2", n), ratio("shmview-queue-spilled", "mp-queue", n)
        t = mp_target(n)
        lines.append("| " + " | ".join([
            size_name(n), cell("shmview-queue", n), cell("mp-queue", n), show_paired(mp),
            f"<= {t}x: {met_at_most(mp, t)}", cell("torch-queue", n), show_paired(tq),
            at_or_below(tq) if (("torch-queue", n) in by) else "- (torch absent)",
            cell("iceoryx2", n), show_paired(ix), cell("iceoryx2-polling", n),
            cell("shmview-queue-spilled", n), show_paired(sp),
        ]) + " |")
    return "\n".join(lines)


def draw_plots(results, outdir, builddir, py, subtitle, notes):
    """The PNGs of docs/benchmarks.md, drawn by bench/plots.py under py (the
    Debian interpreter, which has python3-matplotlib) from the results,
    left as JSON in the build tree to redraw them from. Their names."""
    path = os.path.join(builddir, "bench", "results.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"results": results, "subtitle": subtitle}, f)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plots.py")
    p = subprocess.run([py, script, path, outdir], capture_output=True, text=True)
    if p.returncode != 0:
        why = ("matplotlib is missing (apt-get install -y python3-matplotlib)"
               if "matplotlib" in p.stderr else p.stderr.strip()[-300:])
        notes.append(f"plots: not drawn: {why}; the PNGs beside this file are from an earlier run")
        return []
    return [os.path.basename(x) for x in p.stdout.split()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--srcdir", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--out", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=",".join(ALL))
    ap.add_argument("--max-size", type=lambda s: int(s, 0), default=256 << 20)
    ap.add_argument("--python", default="/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK)
                    else sys.executable, help="the Python the shmview binding was built for")
    a = ap.parse_args()
    builddir, srcdir = os.path.abspath(a.builddir), os.path.abspath(a.srcdir)
    daemon = os.path.join(builddir, "shmviewd")
    bench = os.path.join(builddir, "bench", "shmview-bench")
    for f in (daemon, bench):
        if not os.access(f, os.X_OK):
            sys.exit(f"run.py: {f} is missing: run `make bench` (or make shmviewd bench/shmview-bench)")
    only = [x for x in a.only.split(",") if x]
    m = machine()
    base = [bench, "--daemon", daemon] + (["--quick"] if a.quick else [])
    results, notes = [], []
    t_start = time.time()
    sections = []  # (benchmark, cpu_sample() before, after)
    run0 = cpu_sample()
    tmp = tempfile.mkdtemp(prefix="shmvbench-run.")
    try:
        for b in ALL:
            if b not in only or b == "share":
                continue
            c0 = cpu_sample()
            if b == "handoff":
                results += handoff_run(a, base, builddir, srcdir, tmp, notes)
            elif b == "chanrate":
                results += chanrate_run(a, base, builddir, srcdir, tmp, notes)
            elif b == "queue":
                results += queue_run(a, builddir, srcdir, daemon, tmp, notes)
            else:
                results += bench_run(b, base, notes)
            sections.append((b, c0, cpu_sample()))
        if "share" in only:
            c0 = cpu_sample()
            redis, port, msg = start_redis(tmp)
            notes.append("redis: " + msg)
            try:
                extra = ["--only", str(a.max_size)] + (["--redis-port", str(port)] if port else [])
                res, rc = run_results(base[:3] + extra + base[3:] + ["share"])
                results += res
            finally:
                if redis:
                    redis.terminate()
                    redis.wait()
            results += python_share(a, builddir, srcdir, daemon, tmp, notes)
            exe, why = iceoryx_build(builddir, srcdir)
            if exe:
                res, why = iceoryx_run(exe, tmp, a.quick, a.max_size)
                results += res
                ver = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "iceoryx"],
                                     capture_output=True, text=True).stdout or "?"
                notes.append(f"iceoryx: Debian iceoryx {ver}, C binding, iox-roudi started by run.py"
                             + (f" ({why})" if why else ""))
            else:
                notes.append("iceoryx: " + why)
            sections.append(("share", c0, cpu_sample()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    m["load_end"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    m["minutes"] = f"{(time.time() - t_start) / 60:.1f}"
    noise = noise_verdict(m["load1"], run0, cpu_sample(), sections, m["cores"] or 1)

    rows = main_rows(results, noise["noisy"])
    cols = ["bench", "figure", "placement", "unit", "median", "p99", "floor_val", "ratio", "target", "met"]
    heads = ["bench", "figure", "placement", "unit", "median", "p99", "floor median / p99", "ratio", "target", "met"]
    t_main = table(rows, cols, heads)
    t_share, t_parts = share_tables(results)
    t_python = python_tables(results)
    t_handoff = handoff_table(results)
    t_channel, t_rate, t_queue = channel_table(results), chanrate_table(results), queue_table(results)
    too_noisy = ("**Too noisy to count**: other processes used more than "
                 f"{100 * NOISY_OTHERS:.0f} % of the CPU time during this benchmark.\n\n")
    if t_handoff and "handoff" in noise["noisy"]:
        t_handoff = too_noisy + t_handoff
    if t_share and "share" in noise["noisy"]:
        t_share = too_noisy + t_share
    if t_python and "share" in noise["noisy"]:
        t_python = too_noisy + t_python
    if t_channel and "handoff" in noise["noisy"]:
        t_channel = too_noisy + t_channel
    if t_rate and "chanrate" in noise["noisy"]:
        t_rate = too_noisy + t_rate
    if t_queue and "queue" in noise["noisy"]:
        t_queue = too_noisy + t_queue
    pngs = []
    if a.out and (t_channel or t_queue):
        pngs = draw_plots(results, os.path.dirname(os.path.abspath(a.out)), builddir, a.python,
                          f"{m['date']}, {m['cpu']}, {m['cores']} cores"
                          + (", --quick" if a.quick else ""), notes)
    floors = sorted({(r["bench"], r["floor"]) for r in rows if r["floor"] != "-"})

    print()
    print(t_main)
    if t_handoff:
        print()
        print(t_handoff)
    if t_share:
        print()
        print(t_share)
        print()
        print(t_parts)
    if t_python:
        print()
        print(t_python)
    for t in (t_channel, t_rate, t_queue):
        if t:
            print()
            print(t)
    for n in notes:
        print("note: " + n)

    if noise["why"]:
        verdict = "**This run is too noisy to count**: " + "; ".join(noise["why"]) + "."
    else:
        verdict = (f"Quiet enough to count: other processes used {100 * noise['others']:.0f} % "
                   f"of the CPU time (at most {100 * NOISY_OTHERS:.0f} %), in every benchmark.")
    if noise["caution"]:
        verdict += " " + noise["caution"]
    sections_md = "\n".join(
        f"| {name} | {mins:.1f} | {100 * share:.0f} % | {'**no**, too noisy' if bad else 'yes'} |"
        for name, mins, share, bad in noise["sections"])
    print("\n" + verdict)

    if a.out:
        notes_md = os.path.join(srcdir, "bench", "notes.md")
        analysis = open(notes_md).read() if os.path.exists(notes_md) else ""
        with open(a.out, "w") as f:
            f.write(f"""# shmview benchmarks

Written by `make bench` (bench/run.py); do not edit by hand: the analysis
at the end comes from bench/notes.md.

## Machine and run

| | |
| --- | --- |
| CPU | {m['cpu']} |
| cores | {m['cores']} |
| kernel | {m['kernel']} |
| date | {m['date']} |
| load average (1/5/15 min) at start | {m['load']} |
| load average at end (this run's own processes included) | {m['load_end']} |
| CPU time other processes used during the run | {100 * noise['others']:.0f} % of {m['cores']} cores (steal included) |
| run time | {m['minutes']} min{' (--quick: fewer iterations)' if a.quick else ''} |

{verdict}

| benchmark | minutes | CPU time of other processes | counts? |
| --- | --- | --- | --- |
{sections_md}

A run is too noisy to count when other processes (anything this run did
not start, and the hypervisor's steal) used more than
{100 * NOISY_OTHERS:.0f} % of the machine's CPU time while it ran; a
benchmark's figures do not count (marked so in the tables) when that share
was above {100 * NOISY_OTHERS:.0f} % while it ran. The load average is
recorded, not used: why, in bench/notes.md, "When a run counts".

CPU placement: **same-core** pins the daemon (or floor server, echo
process, ping-pong partner) and the client to CPU 0; **cross-core** pins
the daemon to CPU 1 and the client to CPU 0. Cross-core wake-ups are slow in
this kind of VM, so both are reported. Every ratio is against a floor
measured in the same run and placement, interleaved with the measured
figure. Latencies are per operation, median and p99 over all samples of
several runs (each run a fresh connection or process set); throughput is
the median over runs, with the slowest run (p1) in the p99 column.
The ratio is ours / the floor's: for times a cost (target: at most), for
ops/s a speed (target: at least); throughput adds the spread of its runs,
each against the floor's run beside it. Other work on the two cores slows
the absolute numbers, and the ratios less, but not nothing: preemption
lands on one side of a pair at a time.

## Figures against their floors

{t_main}

Floors:

""")
            for b, fl in floors:
                f.write(f"- {b}: {fl}\n")
            f.write(f"""
## Sharing N bytes between two processes

End to end, writer on CPU 0, reader, shmviewd and redis-server on CPU 1:
from the writer's first instruction to the reader's acknowledgement after
it read every byte. Medians and p99 in microseconds. At each N every
method's reader is up at once and the hand-offs go one method after
another in turn (bench/b-share.c), so the comparisons are between samples
taken under the same load; the Python and iceoryx columns are separate
programs, run after shmview-bench.

- **shmview-fresh**: `shmv_create(N)` (which runs `posix_fallocate`),
  open a writable view, write N bytes, hand the name over; the reader
  opens a read-only view, reads N bytes, releases.
- **shmview-fresh-prefault**: shmview-fresh with `SHMV_PREFAULT` on the
  writer's and the reader's open (`MAP_POPULATE`: the open maps every page,
  instead of a page fault per page at first touch).
- **shmview-create-open** / **-prefault**: shmview-fresh (without and with
  `SHMV_PREFAULT`) with the writer's create and open in one round trip,
  `shmv_view_create`.
- **shmview-reuse**: a segment made once; per hand-off the writer writes N
  bytes into its existing view and the reader opens a view, reads, releases.
- **memfd-fd-passing**: the floor for shmview-fresh, with no daemon:
  `memfd_create` + `posix_fallocate(N)` + `mmap`, write N, send the
  descriptor with `SCM_RIGHTS`; the reader maps it, reads N, unmaps.
- **raw-shm**: the floor for shmview-reuse: anonymous `MAP_SHARED` memory mapped and faulted
  in by both processes beforehand; write N, read N.
- **unix-socket**: write N into a buffer, send it over a socketpair,
  receive and read it.
- **redis**: `SET k <N bytes>`, then the reader `GET k`, on loopback TCP,
  RESP written by hand (bench/b-share.c).
- **python-shared_memory**: `multiprocessing.shared_memory` create + write,
  the reader attaches by name and reads (`bytes(buf)`), bench/shm_share.py.
- **python-shmview**: the same with the shmview package: `View(payload)`
  (create and open in one request, then the copy); the reader opens the
  descriptor, slices, reads (`bytes(view)`).
- **python-shmview-longlived**: views opened once and kept; the writer
  copies N bytes in, publishes a sequence word and wakes; the reader waits
  (`View.wait`), copies N bytes out.
- **python-queue**: N bytes pickled through a `multiprocessing.Queue`.
  The four Python methods run in one writer/reader pair under one
  interpreter, interleaved rep by rep (below).
- **iceoryx**: loan a chunk, write, publish; the subscriber takes, reads,
  releases (bench/iox-share.c, Debian's iceoryx C binding).

{t_share or '(not run)'}

What depends on N (medians, us): the parts of the above.

{t_parts or '(not run)'}

## From Python

The shmview package (C extension) against the standard library and a
`multiprocessing.Queue`, all under the same interpreter (`--python`,
the one the binding was built for; the notes below say which) in one pair
of processes: the writer on CPU 0, a forked reader and shmviewd on CPU 1,
the methods taking turns rep by rep so load hits them alike
(bench/shm_share.py). A hand-off runs from the writer's first instruction
to the reader's acknowledgement after reading all N bytes; cleanup comes
after it, untimed.

- Writers: shared_memory `SharedMemory(create=True, size=N)` + write;
  shmview `View(payload)` (one request: create and open together, an
  ephemeral segment, pages mapped at once from 64 KiB, then the copy);
  Queue `put(payload)`.
- Two shmview hand-offs, each with its ratio to the Queue and the target
  (faster than the Queue from 64 KiB) judged for each:
  **fresh**: a new segment per message, as above (writer `View(payload)`,
  reader `open_descriptor` + slice + `bytes()`, releases); **long-lived**:
  the data plane (docs/python.md, docs/dataplane.md), one segment per N
  whose views both processes open once, untimed, and keep: per hand-off
  the writer copies N bytes into its view, publishes a sequence word
  (`store32`, release) and wakes (`wake`); the reader, already asleep in
  `View.wait` on that word (the pipe told it, untimed, which method comes),
  wakes, reads the word (`load32`, acquire) and copies the N bytes out
  (`bytes(view[64:64 + N])`). Every method's reader acknowledges the same
  way, over the same pipe, and the clock stops at the writer's read of it.
  The fresh column is what a message costs when the memory must be new
  (the standard library's fresh hand-off is itself about 1.0x the Queue at
  64 KiB, so a segment per message cannot beat the Queue there); the
  long-lived column is what keeping views open buys.
- The reader's attach, until it holds a slice of N bytes to read:
  shared_memory `SharedMemory(name=...)` + `buf[:N]`, which is `shm_open` +
  `fstat` + `mmap` and, as Python 3.11 does on every attach,
  `resource_tracker.register` (a message to the tracker process the reader
  shares with the writer): "as shipped". Every other rep the same with
  `register` made a no-op (what Python 3.13's `track=False` does):
  "untracked". shmview: `open_descriptor(desc)` + `[:N]`, one request to
  the daemon (the lease; it sends the descriptor) + `fstat` + `mmap`.
  The registration is the standard library's lifetime management (the
  one of CPython gh-82300) and the lease is shmview's, so "as shipped" is
  the like-for-like comparison; "untracked" attaches with none.
- Ratios are paired rep by rep: the median over reps of the two methods'
  ratio in the same rep, with its 95 % interval (order statistics); the
  attach ratios pair each shmview attach with the standard library's in
  the same rep (as shipped in even reps, untracked in odd ones).

{t_python or '(not run)'}

## Hand-off with long-lived views

The data plane (docs/dataplane.md): writer on CPU 0, reader on CPU 1, both
keeping their mappings for the whole run. Per hand-off the writer writes N
bytes, publishes a sequence word (release) and wakes; the reader waits,
reads N bytes (acquire), acknowledges (release) and wakes; the time runs
from the writer's first byte to its seeing the acknowledgement. Medians /
p99 in microseconds over all batches, every shmview method and floor in
the same two processes, in batches interleaved with the others
(bench/b-handoff.c); iceoryx, a separate program, takes turns with them:
at each N a round of batches of every shmview method, then one of both
iceoryx styles, and so on for every batch (`--turns`), so the two sides of
each comparison see the same load. A batch is 40 hand-offs (from 1 MiB,
one), each round runs the methods in a new order, and every batch starts
with one untimed hand-off that takes the caches the method before left
full of its own bytes. **The ratios are paired**: for each batch, the
ratio of the two methods' medians in that batch (the same round); the
table gives the median of these ratios and its 95 % interval (order
statistics). A target "at or below" iceoryx reads "level" when the
median ratio is above 1 but the interval holds 1: no difference this run
can resolve.

- **shmview futex**: views of one segment, `shmv_view_wait` / `shmv_view_wake`.
- **floor futex**: the same protocol over anonymous `MAP_SHARED` memory
  (fork) with raw `FUTEX_WAIT_BITSET` / `FUTEX_WAKE` system calls.
- **shmview spin** / **floor spin**: the same, spinning on the word
  (`shmv_view_wait_spin`, and the same loop raw) with a spin longer than
  any hand-off: both sides poll and never sleep, as iceoryx's polling
  subscriber does.
- **shmview adaptive**: `shmv_view_wait_spin(..., SHMV_SPIN_ADAPTIVE)`:
  a bounded spin (up to 50 us) learnt from the thread's recent waits, then
  the futex.
- **iceoryx WaitSet** / **iceoryx polling**: loan a chunk, write N,
  publish; the reader takes, reads, releases and publishes an
  acknowledgement on a second topic; each side sleeps in a WaitSet, or
  busy-polls `take` (bench/iox-handoff.c). The same waiting style is the
  comparison: futex against WaitSet, spin against polling.
- **unix socket**: write N over a socketpair, the reader reads it into its
  buffer and reads it, one byte back.

{t_handoff or '(not run)'}

## Channels: a message of N bytes, in C

A `shmv_channel` (issue 22) in the same two processes and the same
interleaved batches as the hand-off above (bench/b-handoff.c), so its
floors and iceoryx are the ones of that table, measured beside it. Per
message the writer loans N bytes (`shmv_channel_loan`), fills them and
sends the loan (`shmv_channel_send_view`); the reader receives
(`shmv_channel_recv`), reads the N bytes in place, releases the message
and sends an 8-byte acknowledgement (`shmv_channel_send`) on a second
channel, which the writer receives and releases: the time runs from the
loan to that. The ring holds three messages, which take turns on its
three places as iceoryx's messages take turns on the three chunks of its
mempool (the floor writes the same bytes every time, which costs it a
cross-core invalidation per cache line from 1 MiB: bench/notes.md). **channel futex**
sleeps in the channel's futex waits (compared with the raw futex floor
and iceoryx's WaitSet); **channel poll** polls (`recv` with timeout 0,
compared with the raw spin floor and iceoryx polling); **channel spin**
blocks but spins on the channel's word first (`shmv_channel_set_spin`,
1 s: it never sleeps here), as `shmview spin` does against the same raw
spin floor. Medians / p99 in
us; ratios paired batch by batch with their 95 % interval. Targets (issue
22): at most 1.2x the floor, at or below iceoryx with the same waiting
style, at every N ("level": the interval holds 1). The plot's lower row
is the ratio of the medians to the floor's; the targets are judged on the
table's, paired batch by batch.

{t_channel or '(not run)'}

{"![C hand-off latency against N, log-log: channel, floors, iceoryx](bench-channel-handoff.png)" if "bench-channel-handoff.png" in pngs else "(no plot this run)"}

### Messages per second, 64 bytes

One receiver (CPU 1) and one or four senders (all on CPU 0), each a
process, through one channel whose ring holds 256 messages, against
iceoryx with a subscriber queue of 256 that blocks its publishers when
full (bench/b-chanrate.c, bench/iox-rate.c, runs alternating between the
two programs). The receiver checks every sender's order (nothing lost or
repeated) and the rate counts from its first message to its last.
Target (issue 22): against iceoryx; read as "at or above".

{t_rate or '(not run)'}

## Queues from Python: shmview.Queue

A numpy array of N bytes put into a queue by the writer (CPU 0) until the
reader (CPU 1), already blocked in `get`, has it, has checked its length
and first and last bytes and has released it (`del`), acknowledged over a
pipe; every method in the same writer/reader pair, message by message in
rotating order (bench/queue_bench.py). The reader does not read every
byte: not moving the bytes again is what a zero-copy queue is for.
**shmview.Queue** has a ring that holds the message (2 N + 1 MiB); the
**spilled** one a 256 KiB ring, so from 1 MiB each message travels in an
ephemeral segment of its own. **torch.multiprocessing.Queue** gets a new
tensor per message (`torch.from_numpy`), whose storage the queue moves
into shared memory and passes by descriptor. **iceoryx2** is its Python
package (publish-subscribe of a byte slice, the reader sleeping in an
event listener, or polling). Medians / p99 in us; ratios paired message by
message with their 95 % interval. Targets (issue 22): at most 1.0x
`multiprocessing.Queue` at 64 B and 0.5x from 4 KiB, at most 0.05x at
64 MiB (with the ring holding the message; the spilled path reported
beside it), at or below `torch.multiprocessing.Queue` at every N. The
plot's lower row is the ratio of the medians to `multiprocessing.Queue`'s;
the targets are judged on the table's, paired message by message.

{t_queue or '(not run)'}

{"![Python queue latency against N, log-log: shmview.Queue, multiprocessing, torch, iceoryx2](bench-queue.png)" if "bench-queue.png" in pngs else "(no plot this run)"}

## Notes of this run

""")
            for n in notes:
                f.write(f"- {n}\n")
            f.write(f"""
## To rerun

```sh
apt-get install -y redis-server iceoryx libiceoryx-binding-c-dev python3-torch python3-matplotlib   # optional
python3 -m venv --system-site-packages BUILD/bench/iceoryx2-venv && BUILD/bench/iceoryx2-venv/bin/pip install iceoryx2   # optional
mkdir -p /tmp/b && cd /tmp/b && /path/to/shmview/configure && make bench
# or: python3 bench/run.py --builddir BUILD --srcdir SRC [--quick] [--only open,share] [--max-size 16777216]
```

`make bench` builds `bench/shmview-bench` (never built by `make` or `make
check`) and runs bench/run.py, which writes this file. Each benchmark
starts its own `shmviewd` on a private socket with a unique `--prefix` and
removes its `/dev/shm` objects afterwards. A missing optional package
skips its column with a message. `BENCH_FLAGS=--quick` gives a fast smoke
run. Needs python3; redis-server, iceoryx and libiceoryx-binding-c-dev,
python3-torch and python3-matplotlib are optional (Debian 12 has them all),
and so is iceoryx2, which Debian does not package: its PyPI package in a
venv (above) adds the iceoryx2 column of the Python queues.

{analysis}""")
        log(f"wrote {a.out}")


if __name__ == "__main__":
    main()

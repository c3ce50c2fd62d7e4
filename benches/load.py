#!/usr/bin/env python3
"""Side-by-side load benchmark (issue 5): rmeter, real JMeter (the 2.13 oracle) and wrk against
the same target, in alternating rounds, with medians and min-max; writes a dated markdown
result under benches/results/.

    python3 benches/load.py                 # everything, 3 rounds (about 10 minutes)
    python3 benches/load.py --only S1,S4    # some scenarios
    python3 benches/load.py --smoke         # seconds-long version for CI (debug binary, no JMeter,
                                            # no result file, no goals), so the script cannot rot

The target is `rmeter demo --serve` (axum/hyper) in its own process, so its CPU is not counted.
Each tool runs under /usr/bin/time: wall time, user+sys CPU of the whole process tree, peak RSS.
Samples are the JTL rows written (rmeter, JMeter) or the requests wrk reports.
"""
import argparse
import datetime
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORACLE = os.path.join(REPO, "..", "shared", "tools", "jmeter-oracle")
BENCH = os.path.join(REPO, "jmx-fixtures", "bench")
RMETER = os.path.join(REPO, "target", "release", "rmeter")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def prepare(smoke):
    """Builds rmeter, installs wrk and /usr/bin/time, and JMeter when its oracle is present."""
    if not smoke:
        sh(["cargo", "build", "--release", "--quiet"], cwd=REPO)
    missing = [p for p, exe in (("wrk", "wrk"), ("time", "/usr/bin/time")) if not shutil.which(exe)]
    if missing:
        sh(["apt-get", "update", "-qq"])
        sh(["apt-get", "install", "-y", "-qq"] + missing)
    jmeter = os.path.join(ORACLE, "bin", "jmeter")
    if smoke or not os.path.exists(ORACLE):
        return None
    if not os.path.exists("/usr/share/jmeter"):
        sh(["bash", os.path.join(ORACLE, "install.sh")])
    return jmeter


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, 200_000) if hard != resource.RLIM_INFINITY else 200_000
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        pass


def start_target():
    proc = subprocess.Popen([RMETER, "demo", "--serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
    return proc, port


def timed(cmd, cwd, timeout=None):
    """Runs cmd; returns (wall_s, cpu_s, rss_mb, returncode, stdout)."""
    tfile = os.path.join(cwd, "time.txt")
    started = time.perf_counter()
    try:
        out = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", tfile] + cmd, cwd=cwd,
                             capture_output=True, text=True, timeout=timeout)
        code, stdout = out.returncode, out.stdout
    except subprocess.TimeoutExpired as e:
        code, stdout = "timeout", (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
    wall = time.perf_counter() - started  # finer than /usr/bin/time's 10 ms
    try:
        _, user, sys_, rss = open(tfile).read().split()[-4:]
        return wall, float(user) + float(sys_), int(rss) / 1024, code, stdout
    except (OSError, ValueError):
        return None, None, None, code, stdout


def rows(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


class Result:
    def __init__(self, tool, samples, wall, cpu, rss, note=""):
        self.tool, self.samples, self.wall, self.cpu, self.rss, self.note = tool, samples, wall, cpu, rss, note

    @property
    def us_per_sample(self):
        return self.cpu * 1e6 / self.samples if self.samples and self.cpu is not None else None

    @property
    def rate(self):
        return self.samples / self.wall if self.samples and self.wall else None


def plan_run(tool, exe, plan, port, props, work, timeout=None):
    jtl = os.path.join(work, f"{tool}.jtl")
    for f in (jtl, os.path.join(work, f"{tool}.log")):
        if os.path.exists(f):
            os.remove(f)
    cmd = [exe, "-n", "-t", plan, "-l", jtl, "-j", os.path.join(work, f"{tool}.log"),
           "-Jhost=127.0.0.1", f"-Jport={port}", "-Jjmeter.save.saveservice.print_field_names=false"]
    cmd += [f"-J{k}={v}" for k, v in props.items()]
    wall, cpu, rss, code, _ = timed(cmd, work, timeout)
    note = "" if code == 0 else f"exit {code}"
    return Result(tool, rows(jtl), wall, cpu, rss, note)


def wrk_run(port, seconds, connections, work):
    wall, cpu, rss, code, out = timed(
        ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"http://127.0.0.1:{port}/static"], work)
    m = re.search(r"(\d+) requests in", out)
    return Result("wrk", int(m.group(1)) if m else 0, wall, cpu, rss, "" if code == 0 else f"exit {code}")


def median_range(values, fmt="{:.1f}"):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="S1,S2,S3,S4,S5")
    ap.add_argument("--rmeter", help="the binary (default target/release/rmeter; --smoke: target/debug/rmeter)")
    args = ap.parse_args()
    global RMETER
    if args.rmeter or args.smoke:
        RMETER = os.path.abspath(args.rmeter or os.path.join(REPO, "target", "debug", "rmeter"))
    only = set(args.only.split(","))
    rounds = 1 if args.smoke else args.rounds
    jmeter = prepare(args.smoke)
    raise_fd_limit()
    target, port = start_target()
    work = tempfile.mkdtemp(prefix="rmeter-bench-")
    results = {}  # scenario -> tool -> [Result]
    notes = {}

    def add(scenario, result):
        results.setdefault(scenario, {}).setdefault(result.tool, []).append(result)

    s1 = {"users": 5, "loops": 100} if args.smoke else {"users": 50, "loops": 2000}
    s2 = {"users": 2, "loops": 2} if args.smoke else {"users": 50, "loops": 40}
    s3 = {"users": 200, "rampup": 2, "duration": 6} if args.smoke else {"users": 10000, "rampup": 30, "duration": 90}
    s5_rate, s5_secs = (200, 3) if args.smoke else (2000, 30)
    try:
        for r in range(rounds):
            if "S1" in only:
                res = plan_run("rmeter", RMETER, os.path.join(BENCH, "s1-static.jmx"), port, s1, work)
                add("S1", res)
                if jmeter:
                    add("S1", plan_run("jmeter", jmeter, os.path.join(BENCH, "s1-static.jmx"), port, s1, work))
                add("S1", wrk_run(port, res.wall or 3, s1["users"], work))
            if "S2" in only:
                add("S2", plan_run("rmeter", RMETER, os.path.join(BENCH, "s2-journey.jmx"), port, s2, work))
                if jmeter:
                    add("S2", plan_run("jmeter", jmeter, os.path.join(BENCH, "s2-journey.jmx"), port, s2, work))
            if "S4" in only:
                for tool, exe in (("rmeter", RMETER), ("jmeter", jmeter)):
                    if exe:
                        add("S4", plan_run(tool, exe, os.path.join(BENCH, "s4-one.jmx"), port, {}, work))
        if "S3" in only:
            add("S3", plan_run("rmeter", RMETER, os.path.join(BENCH, "s3-users.jmx"), port, s3, work))
            if jmeter:
                res = plan_run("jmeter", jmeter, os.path.join(BENCH, "s3-users.jmx"), port, s3, work,
                               timeout=s3["duration"] + 120)
                add("S3", res)
                notes["S3"] = f"JMeter with {s3['users']} threads: {res.note or 'exited 0'}, {res.samples} samples, peak RSS {res.rss or 0:.0f} MB."
        if "S5" in only:
            with open(os.path.join(BENCH, "s1-static.jmx")) as f:
                base = f.read()
            timers = {
                "Throughput Shaping Timer": (
                    '<kg.apc.jmeter.timers.VariableThroughputTimer guiclass="kg.apc.jmeter.timers.VariableThroughputTimerGui" '
                    'testclass="kg.apc.jmeter.timers.VariableThroughputTimer" testname="Rate"/>',
                    {"load_profile": f"const({s5_rate},{s5_secs}s)"}),
                "Constant Throughput Timer (shared by all threads)": (
                    '<ConstantThroughputTimer guiclass="TestBeanGUI" testclass="ConstantThroughputTimer" testname="Rate">'
                    '<intProp name="calcMode">3</intProp><doubleProp><name>throughput</name>'
                    f'<value>{s5_rate * 60}.0</value><savedValue>0.0</savedValue></doubleProp></ConstantThroughputTimer>',
                    {}),
                "Precise Throughput Timer": (
                    '<PreciseThroughputTimer guiclass="TestBeanGUI" testclass="PreciseThroughputTimer" testname="Rate">'
                    f'<stringProp name="throughput">{s5_rate}</stringProp><intProp name="throughputPeriod">1</intProp>'
                    '<longProp name="duration">3600</longProp><intProp name="exactLimit">10000</intProp>'
                    '<intProp name="batchSize">1</intProp><intProp name="batchThreadDelay">0</intProp>'
                    '<longProp name="randomSeed">0</longProp></PreciseThroughputTimer>',
                    {}),
            }
            for name, (timer, extra) in timers.items():
                plan = os.path.join(work, "s5-rate.jmx")
                text = base.replace("<hashTree>\n        </hashTree>",
                                    f"<hashTree>\n          {timer}\n          <hashTree/>\n        </hashTree>")
                # Without a schedule of its own, the run ends after s5_secs (the thread group's scheduler).
                if not extra:
                    text = text.replace('<boolProp name="ThreadGroup.scheduler">false</boolProp>',
                                        '<boolProp name="ThreadGroup.scheduler">true</boolProp>')
                    text = text.replace('<stringProp name="ThreadGroup.duration"></stringProp>',
                                        '<stringProp name="ThreadGroup.duration">${__P(duration,30)}</stringProp>')
                with open(plan, "w") as f:
                    f.write(text)
                params = {"users": 100, "loops": -1, **extra}
                if not extra:
                    params["duration"] = s5_secs
                res = plan_run("rmeter", RMETER, plan, port, params, work)
                res.tool = f"rmeter, {name}"
                add("S5", res)
                stamps = sorted(int(line.split(b",")[0]) for line in open(os.path.join(work, "rmeter.jtl"), "rb"))
                if stamps:
                    span = (stamps[-1] - stamps[0]) / 1000 or 1
                    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
                    per_s = {}
                    for t in stamps:
                        per_s[(t - stamps[0]) // 1000] = per_s.get((t - stamps[0]) // 1000, 0) + 1
                    full = [n for s, n in per_s.items() if 0 < s < max(per_s)]
                    achieved = statistics.mean(full) if full else len(stamps) / span
                    notes[f"S5 {name}"] = (
                        f"{name} at {s5_rate}/s for {s5_secs} s, 100 users: {len(stamps)} samples; "
                        f"per full second mean {achieved:.1f}/s (min {min(full or [0])}, max {max(full or [0])}); "
                        f"gap between consecutive sample starts: median {statistics.median(gaps) if gaps else 0} ms, "
                        f"p99 {sorted(gaps)[int(len(gaps) * 0.99)] if gaps else 0} ms.")
                    res.achieved = achieved
    finally:
        target.terminate()
    report(results, notes, args, s1, s2, s3, s5_rate, jmeter)
    shutil.rmtree(work, ignore_errors=True)


def report(results, notes, args, s1, s2, s3, s5_rate, jmeter):
    lines = ["| scenario | tool | samples | wall s | CPU s | CPU µs/sample | samples/s | peak RSS MB | note |",
             "|---|---|---|---|---|---|---|---|---|"]
    for scenario in sorted(results):
        for tool, rs in results[scenario].items():
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                scenario, tool, median_range([r.samples for r in rs], "{:.0f}"),
                median_range([r.wall for r in rs], "{:.2f}"), median_range([r.cpu for r in rs], "{:.2f}"),
                median_range([r.us_per_sample for r in rs]), median_range([r.rate for r in rs], "{:.0f}"),
                median_range([r.rss for r in rs], "{:.0f}"), "; ".join(sorted({r.note for r in rs if r.note}))))
    table = "\n".join(lines)
    if args.smoke:
        print(table)
        return

    def per_round(scenario, a, b):
        ra = results.get(scenario, {}).get(a, [])
        rb = results.get(scenario, {}).get(b, [])
        return [x.us_per_sample / y.us_per_sample for x, y in zip(ra, rb)
                if x.us_per_sample and y.us_per_sample]

    goals = []

    def goal(name, value, ok_if, text):
        if value is None:
            goals.append(f"- {name}: **not measured** (not run in this invocation)")
        else:
            goals.append(f"- {name}: **{'pass' if ok_if(value) else 'miss'}** ({text.format(value)})")

    r_wrk = per_round("S1", "rmeter", "wrk")
    j_r1 = per_round("S1", "jmeter", "rmeter")
    j_r2 = per_round("S2", "jmeter", "rmeter")
    goal("S1 rmeter CPU/sample ≤ 2× wrk's", statistics.median(r_wrk) if r_wrk else None, lambda v: v <= 2,
         "rmeter/wrk = {:.2f}, median of per-round ratios")
    goal("S1 rmeter CPU/sample ≤ 1/10 of JMeter's", statistics.median(j_r1) if j_r1 else None, lambda v: v >= 10,
         "JMeter/rmeter = {:.1f}")
    goal("S2 rmeter CPU/sample ≤ 1/10 of JMeter's", statistics.median(j_r2) if j_r2 else None, lambda v: v >= 10,
         "JMeter/rmeter = {:.1f}")
    s3r = results.get("S3", {}).get("rmeter", [])
    goal(f"S3 peak RSS ≤ 300 MB for {s3['users']} users", s3r[0].rss if s3r else None, lambda v: v <= 300,
         "{:.0f} MB")
    s4r = results.get("S4", {}).get("rmeter", [])
    goal("S4 start-up ≤ 20 ms wall", statistics.median([r.wall for r in s4r]) * 1000 if s4r else None,
         lambda v: v <= 20, "{:.0f} ms median (wall of the whole process, exec to exit)")
    for tool, s5r in results.get("S5", {}).items():
        achieved = getattr(s5r[0], "achieved", None) if s5r else None
        goal(f"S5 achieved rate within 1% of {s5_rate}/s ({tool.split(', ', 1)[-1]})",
             abs(achieved - s5_rate) * 100 / s5_rate if achieved else None,
             lambda v: v <= 1, "off by {:.2f}%")
    goals.append("- S6 (criterion micro benches, JTL formatting ≥ 2M rows/s): see `cargo bench`; not part of this script.")
    now = datetime.datetime.now(datetime.timezone.utc)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    version = subprocess.run([RMETER, "--version"], capture_output=True, text=True).stdout.strip()
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    wrk_version = (wrk_v.stdout + wrk_v.stderr).split("\n")[0]
    mem = open("/proc/meminfo").readline().split()[1]
    out = [
        f"# Load benchmark: rmeter vs JMeter vs wrk",
        "",
        f"- Date: {now:%Y-%m-%d %H:%M} UTC; commit {commit}",
        f"- Machine: {os.cpu_count()} cores, {int(mem) // 1048576} GB; {os.uname().sysname} {os.uname().release}",
        f"- Versions: {version}; JMeter {'2.13 (Debian, the oracle)' if jmeter else 'not available'}; {wrk_version}",
        f"- Command: `python3 benches/load.py --rounds {args.rounds} --only {args.only}`; rounds alternate the tools (rmeter, JMeter, wrk).",
        f"- Target: `rmeter demo --serve` in its own process (its CPU is not counted). Plans in `jmx-fixtures/bench/`.",
        f"- S1: {s1['users']} users × {s1['loops']} GETs of a 128-byte body, keep-alive, JTL written; wrk with {s1['users']} connections for the same wall time.",
        f"- S2: the banking journey as JMeter 2.13 can run it (`s2-journey.jmx`), {s2['users']} users × {s2['loops']} loops, no think time.",
        f"- S3: {s3['users']} users, one GET per second each, {s3['rampup']} s ramp-up, {s3['duration']} s in all (one round).",
        f"- S4: a one-sample plan, wall time from exec to exit.",
        "",
        "Medians, with min–max over the rounds in parentheses.",
        "",
        table,
        "",
        "## Goals",
        "",
    ] + goals + [""] + [f"- {k}: {v}" for k, v in sorted(notes.items())] + [""]
    path = os.path.join(REPO, "benches", "results", f"{now:%Y-%m-%d-%H%M}-load.md")
    with open(path, "w") as f:
        f.write("\n".join(out))
    print("\n".join(out))
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())

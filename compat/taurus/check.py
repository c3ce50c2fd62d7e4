"""Checks what Taurus read from an rmeter run: kpi.jtl (CSV), error.jtl (XML), bzt's summary."""
import csv
import re
import sys
import xml.etree.ElementTree as ET

kind, art, out_file = sys.argv[1:4]
out = open(out_file).read()
log = open(f"{art}/jmeter.log").read()
rows = list(csv.DictReader(open(f"{art}/kpi.jtl")))


def check(cond, message):
    if not cond:
        print(f"{kind}: {message}", file=sys.stderr)
        sys.exit(1)


check(rows, "kpi.jtl has no rows")
header = open(f"{art}/kpi.jtl").readline().strip().split(",")
check(header[:3] == ["timeStamp", "elapsed", "label"], f"kpi.jtl header {header}")
check(all(r["Connect"] is not None and r["Connect"].isdigit() for r in rows), "a torn kpi.jtl row")
count = re.search(r"Samples count: (\d+), ([\d.]+)% failures", out)
check(count, "bzt printed no final stats")
check(int(count.group(1)) == len(rows), f"bzt counted {count.group(1)}, kpi.jtl has {len(rows)}")

errors = ET.parse(f"{art}/error.jtl").getroot()
failed = [r for r in rows if r["success"] != "true"]
check(len(errors) == len(failed), f"error.jtl has {len(errors)} samples, kpi.jtl {len(failed)} failures")

if kind == "yaml":
    labels = {r["label"] for r in rows}
    check(labels == {"/", "/api/login", "not found", "wrong body"}, f"labels {labels}")
    by_label = lambda l: [r for r in rows if r["label"] == l]
    check(all(r["success"] == "true" for r in by_label("/") + by_label("/api/login")),
          "the CSRF or login steps failed: extractor or header trouble")
    check(all(r["responseCode"] == "404" for r in by_label("not found")), "404s")
    wrong = [e for e in errors if e.get("lb") == "wrong body"]
    check(wrong, "no failed assertion in error.jtl")
    message = wrong[0].find("assertionResult/failureMessage")
    check(message is not None and "goodbye" in message.text, "assertion message in error.jtl")
    check(wrong[0].find("responseData") is not None, "response data of a failed sample")
    check(re.search(r"wrong body\s*\|\s*FAIL", out), "bzt's label table")
    threads = {r["threadName"] for r in rows}
    check(len(threads) == 2, f"two users expected, got {threads}")
    stamps = sorted(int(r["timeStamp"]) for r in rows)
    spread = (stamps[-1] - stamps[0]) / 1000
    check(3 <= spread <= 6, f"hold-for 4 s + ramp-up 1 s, but samples spread over {spread} s")
    # The shaping timer: 10 rps once ramped up, so 30 samples in seconds 2 to 4 of its schedule.
    held = [t for t in stamps if stamps[0] + 2000 <= t < stamps[0] + 5000]
    check(28 <= len(held) <= 32, f"{len(held)} samples in 3 s at 10 rps")
elif kind == "iterations":
    check(len(rows) == 3 * 4 * 2, f"{len(rows)} samples, expected 24")
    check(sum(r["label"] == "poll" and r["success"] == "true" for r in rows) == 12, "12 good polls")
    check(sum(r["label"] == "unavailable" and r["responseCode"] == "503" for r in rows) == 12, "12 503s")
    check(len(errors) == 12, "error.jtl holds the 12 failures")
else:
    check("Command: Shutdown received" in log, "rmeter's log shows no UDP Shutdown")
    check(all(r["label"] in ("GET /health taurus", "GET /missing") for r in rows), "labels")
print(f"{kind}: {len(rows)} samples, {len(failed)} failed, as Taurus reported")

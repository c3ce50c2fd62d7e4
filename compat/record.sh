#!/bin/bash
# Record what real JMeter (the 2.13 oracle) writes for one compat case.
#
#   compat/record.sh <case>            e.g. compat/record.sh http-status
#   compat/record.sh --all             every folder under compat/cases/
#
# For compat/cases/<case>/ it
#   1. starts compat/target.py with the case's target.json on a free port of 127.0.0.1,
#      or, when the case has a target.demo file, a fresh demo bank: `rmeter demo --serve --port 0`
#      (the binary is $RMETER_BIN, default <repo>/target/debug/rmeter; it is not built here),
#   2. finds a second free port and leaves it closed (passed as -Jdeadport, for connection-refused requests),
#   3. runs, with the case folder as working directory,
#        ORACLE_PROFILE=jmeter5 $ORACLE/run_oracle.sh plan.jmx <tmp>/oracle.csv -Jport=<port> -Jdeadport=<deadport>
#   4. writes oracle-raw.jtl (JMeter's file unchanged) and expected.csv:
#        - timeStamp, elapsed, bytes, Latency, IdleTime, Connect replaced by *,
#        - a sentBytes column (all *) inserted after bytes (2.13 has none), so the header is 5.6's default,
#        - 127.0.0.1:<port> / 127.0.0.1:<deadport> (and localhost:…) replaced by 127.0.0.1:{port} / {deadport},
#        - fields re-quoted with JMeter's rule (quote only when a field holds , " CR or LF).
#   5. rewrites the block between "<!-- BEGIN recorded -->" and "<!-- END recorded -->" in SOURCE.md
#      with the command, the date and the JMeter version (the rest of SOURCE.md is written by hand).
# Env: ORACLE (default /work/shared/tools/jmeter-oracle, or ../shared/tools/jmeter-oracle beside the repo),
#      KEEP_TMP=1 keeps the temporary folder (JMeter log, target log),
#      RMETER_BIN is the rmeter binary serving the demo bank for target.demo cases.
set -euo pipefail
COMPAT=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
if [ -z "${ORACLE:-}" ]; then
  for d in /work/shared/tools/jmeter-oracle "$COMPAT/../../shared/tools/jmeter-oracle"; do
    [ -x "$d/run_oracle.sh" ] && { ORACLE=$d; break; }
  done
fi
[ -n "${ORACLE:-}" ] && [ -x "$ORACLE/run_oracle.sh" ] || { echo "record: no oracle; set ORACLE" >&2; exit 2; }

if [ $# -ne 1 ]; then sed -n '2,23p' "$0"; exit 2; fi
if [ "$1" = "--all" ]; then
  rc=0
  for d in "$COMPAT"/cases/*/; do "$0" "$(basename "$d")" || rc=1; done
  exit $rc
fi

CASE=$1
DIR=$COMPAT/cases/$CASE
[ -f "$DIR/plan.jmx" ] || { echo "record: $DIR/plan.jmx is missing" >&2; exit 2; }
# The target: a scripted server (target.json, served by target.py) or the demo bank (target.demo).
if [ -f "$DIR/target.demo" ]; then
  RMETER_BIN=$(readlink -f "${RMETER_BIN:-$COMPAT/../target/debug/rmeter}")
  [ -x "$RMETER_BIN" ] || { echo "record: $RMETER_BIN is missing (build rmeter or set RMETER_BIN)" >&2; exit 2; }
elif [ ! -f "$DIR/target.json" ]; then
  echo "record: $DIR has neither target.json nor target.demo" >&2; exit 2
fi
# Cases whose plan JMeter 2.13 cannot load say so in SOURCE.md; their expectation is derived by hand.
if grep -q '<!-- no-oracle -->' "$DIR/SOURCE.md" 2>/dev/null; then
  echo "record: $CASE: skipped, SOURCE.md marks it <!-- no-oracle --> (expected-5.6.csv is derived by hand)" >&2
  exit 0
fi

TMP=$(mktemp -d /tmp/rmeter-record.XXXXXX)
TARGET_PID=
cleanup() {
  if [ -n "$TARGET_PID" ]; then kill "$TARGET_PID" 2>/dev/null || true; wait "$TARGET_PID" 2>/dev/null || true; fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "record: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

if [ -f "$DIR/target.demo" ]; then
  # A fresh demo bank for every recording: its transfer ids (TR-<n>) and its every-40th-transfer
  # fault count from 1 in each process.
  "$RMETER_BIN" demo --serve --port 0 >"$TMP/target.log" 2>&1 &
  TARGET_PID=$!
  TARGET_NAME="the demo bank"
  for _ in $(seq 1 100); do
    sed -n 's|^Demo bank listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$TMP/target.log" >"$TMP/port"
    [ -s "$TMP/port" ] && break; sleep 0.05
  done
else
  python3 "$COMPAT/target.py" "$DIR/target.json" 0 --port-file "$TMP/port" --verbose 2>"$TMP/target.log" &
  TARGET_PID=$!
  TARGET_NAME="target.py"
  for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
fi
[ -s "$TMP/port" ] || { echo "record: $TARGET_NAME did not start" >&2; cat "$TMP/target.log" >&2; exit 1; }
PORT=$(cat "$TMP/port")
# A free port that nothing listens on (bound, then released).
DEADPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

CMD=(env ORACLE_PROFILE=jmeter5 "$ORACLE/run_oracle.sh" plan.jmx "$TMP/oracle.csv" "-Jport=$PORT" "-Jdeadport=$DEADPORT")
echo "record: $CASE: port=$PORT deadport=$DEADPORT" >&2
set +e
(cd "$DIR" && ORACLE_LOG="$TMP/jmeter.log" "${CMD[@]}") >"$TMP/console.txt" 2>&1
rc=$?
set -e
if [ $rc -ne 0 ]; then
  echo "record: $CASE: the oracle failed (rc=$rc)" >&2
  cat "$TMP/console.txt" >&2; grep -E 'ERROR|WARN' "$TMP/jmeter.log" >&2 || true
  exit 1
fi
if grep -q -E ' (ERROR|WARN) +- ' "$TMP/jmeter.log"; then
  echo "record: $CASE: jmeter.log warnings/errors (review them):" >&2
  grep -E ' (ERROR|WARN) +- ' "$TMP/jmeter.log" | sed 's/^/  /' >&2
fi

cp "$TMP/oracle.csv" "$DIR/oracle-raw.jtl"
python3 - "$TMP/oracle.csv" "$DIR/expected.csv" "$PORT" "$DEADPORT" <<'PY'
import csv, re, sys
src, dst, port, deadport = sys.argv[1:5]
MASK = {"timeStamp", "elapsed", "bytes", "Latency", "IdleTime", "Connect", "sentBytes"}
hostport = re.compile(r"(127\.0\.0\.1|localhost):(%s|%s)(?!\d)" % (port, deadport))
def sub(m):
    return "%s:{%s}" % (m.group(1), "port" if m.group(2) == port else "deadport")
def quote(field):
    if any(c in field for c in ',"\r\n'):
        return '"' + field.replace('"', '""') + '"'
    return field
with open(src, newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
header = rows[0]
if "sentBytes" not in header:
    at = header.index("bytes") + 1
    for row in rows:
        row.insert(at, "sentBytes" if row is rows[0] else "*")
    header = rows[0]
masked = [i for i, name in enumerate(header) if name in MASK]
with open(dst, "w", newline="", encoding="utf-8") as out:
    out.write(",".join(header) + "\n")
    for row in rows[1:]:
        if len(row) != len(header):
            sys.exit("record: a row has %d fields, the header %d: %r" % (len(row), len(header), row))
        row = [hostport.sub(sub, v) for v in row]
        for i in masked:
            row[i] = "*"
        out.write(",".join(quote(v) for v in row) + "\n")
print("record: wrote %s (%d rows)" % (dst, len(rows) - 1), file=sys.stderr)
PY

VERSION=$("$ORACLE/bin/jmeter" -v -j /dev/null 2>&1 | grep -o 'Version [0-9.a-z]*' | head -1 || true)
JAVA=$(java -version 2>&1 | head -1 || true)
TARGET_NOTE=
if [ -f "$DIR/target.demo" ]; then
  TARGET_NOTE="The target was a fresh demo bank, \`rmeter demo --serve --port 0\` (\`$RMETER_BIN\` built $(date -u -r "$RMETER_BIN" +%Y-%m-%dT%H:%MZ); repository HEAD then $(git -C "$COMPAT/.." rev-parse --short HEAD 2>/dev/null || echo unknown))."
fi
python3 - "$DIR/SOURCE.md" "$CASE" "$(date -u +%Y-%m-%dT%H:%MZ)" "${VERSION:-unknown}" "$PORT" "$DEADPORT" "$JAVA" "$TARGET_NOTE" <<'PY'
import os, sys
path, case, date, version, port, deadport, java, target_note = sys.argv[1:9]
if target_note:
    target_note = "\n" + target_note
block = f"""<!-- BEGIN recorded -->
Recorded {date} with Apache JMeter {version.replace('Version ', '')} (Debian bookworm package through `jmeter-oracle`; {java}), by

    compat/record.sh {case}

which ran, with `compat/cases/{case}/` as working directory:

    ORACLE_PROFILE=jmeter5 /work/shared/tools/jmeter-oracle/run_oracle.sh plan.jmx <tmp>/oracle.csv -Jport=<port> -Jdeadport=<deadport>

This time `-Jport={port} -Jdeadport={deadport}`; expected.csv writes them as `{{port}}` / `{{deadport}}`.{target_note}
JMeter's own file is kept unchanged as `oracle-raw.jtl`.
<!-- END recorded -->"""
text = open(path, encoding="utf-8").read() if os.path.exists(path) else f"# {case}\n\n"
b, e = "<!-- BEGIN recorded -->", "<!-- END recorded -->"
if b in text and e in text:
    text = text[:text.index(b)] + block + text[text.index(e) + len(e):]
else:
    text = text.rstrip("\n") + "\n\n## Recording\n\n" + block + "\n"
open(path, "w", encoding="utf-8").write(text)
PY
echo "record: $CASE: done" >&2

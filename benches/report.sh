#!/usr/bin/env bash
# Report speed and memory (issue 6): `rmeter report` on synthetic JTL files of 1 million and
# 10 million rows, three runs each; writes benches/results/<date>-report.md.
#
#   bash benches/report.sh            # full: 1M and 10M rows
#   bash benches/report.sh --smoke    # 10k rows, one run, debug binary, no result file (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=false
[ "${1:-}" = "--smoke" ] && smoke=true
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
if $smoke; then
    bin="${RMETER:-${CARGO_TARGET_DIR:-target}/debug/rmeter}"
else
    cargo build --release --quiet
    bin="${CARGO_TARGET_DIR:-target}/release/rmeter"
fi
data="${CARGO_TARGET_DIR:-target}/bench-data"
mkdir -p "$data"
sizes="1000000 10000000"
runs=3
if $smoke; then sizes="10000"; runs=1; fi

measure() { # rows run -> "wall_s user_s sys_s rss_kb"
    local jtl="$data/$1.jtl" out="$data/report-$1"
    rm -rf "$out"
    /usr/bin/time -f "%e %U %S %M" -o "$data/time.txt" "$bin" report "$jtl" -o "$out" >/dev/null
    cat "$data/time.txt"
}

table="| rows | file MB | run | wall s | CPU s (user+sys) | peak RSS MB |\n|---|---|---|---|---|---|\n"
for rows in $sizes; do
    jtl="$data/$rows.jtl"
    [ -s "$jtl" ] || python3 benches/gen_jtl.py "$rows" "$jtl"
    mb=$(( $(stat -c %s "$jtl") / 1000000 ))
    for run in $(seq "$runs"); do
        read -r wall user sys rss < <(measure "$rows")
        cpu=$(python3 -c "print(f'{$user + $sys:.2f}')")
        table+="| $rows | $mb | $run | $wall | $cpu | $(( rss / 1024 )) |\n"
    done
done
if $smoke; then
    printf "%b" "$table"
    exit 0
fi
result="benches/results/$(date -u +%Y-%m-%d-%H%M)-report.md"
{
    echo "# rmeter report: 1M and 10M rows"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD)"
    echo "- Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -sr)"
    echo "- rmeter: $("$bin" --version); $(rustc --version)"
    echo "- Command: \`bash benches/report.sh\` (\`rmeter report FILE.jtl -o DIR\`, statistics.json + index.html)"
    echo "- Input: \`benches/gen_jtl.py\`: JMeter 5.6 default CSV columns, 8 labels, 50 users, ~1% failures"
    echo "- Goal (issue 6): 1M rows in at most 3 s; 10M rows with memory bounded by labels x time buckets"
    echo
    printf "%b" "$table"
} > "$result"
echo "wrote $result"
cat "$result"

"""Writes a synthetic CSV JTL with JMeter 5.6's default columns: N rows over 8 labels and 50
users, one row per ~2 ms of test time, ~1% failures, log-normal-ish response times.

    python3 benches/gen_jtl.py ROWS OUT.jtl
"""
import random
import sys

rows, out = int(sys.argv[1]), sys.argv[2]
random.seed(42)
labels = ["TX01 Login", "TX02 Accounts", "TX03 Transfer", "TX04 Payment",
          "GET /api/notifications", "POST /api/mfa", "GET /", "POST /api/logout"]
header = ("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,"
          "failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n")
start = 1_795_000_000_000
with open(out, "w", buffering=1 << 20) as f:
    f.write(header)
    lines = []
    for i in range(rows):
        label = labels[i % len(labels)]
        elapsed = int(random.lognormvariate(4.0, 0.6))
        ok = random.random() > 0.01
        code, message = ("200", "OK") if ok else ("503", "Service Unavailable")
        user = i % 50 + 1
        lines.append(f"{start + i * 2},{elapsed},{label},{code},{message},Bank Users 1-{user},text,"
                     f"{'true' if ok else 'false'},,{400 + i % 300},{120 + i % 40},50,50,"
                     f"http://127.0.0.1:8080/api/x,{elapsed // 2},0,{i % 3}\n")
        if len(lines) == 10_000:
            f.write("".join(lines))
            lines.clear()
    f.write("".join(lines))

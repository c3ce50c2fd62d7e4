//! The demo banking journey (`jmx-fixtures/demo/banking-journey.jmx`) against the demo bank,
//! in-process: every step correlates (csrf, MFA token, bearer token, session cookie, account and
//! transfer ids), so any broken extraction, header merge or cookie shows as failed rows.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banking_journey_runs_like_jmeter() {
    let (addr, _server) = rmeter::demo::start(([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("jmx-fixtures/demo/banking-journey.jmx");
    let dir = tempfile::tempdir().unwrap();
    let jtl = dir.path().join("journey.jtl");
    let props = [
        ("host", addr.ip().to_string()),
        ("port", addr.port().to_string()),
        ("users", "3".to_string()),
        ("rampup", "0".to_string()),
        ("duration", "3".to_string()),
    ];
    let outcome = support::run_plan(&plan, &jtl, &props).await.unwrap();
    let text = std::fs::read_to_string(&jtl).unwrap();
    let rows = support::read_jtl(&text);
    assert_eq!(
        rows[0].join(","),
        "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect"
    );
    assert_eq!(outcome.output.samples as usize, rows.len() - 1);

    let mut by_label: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for row in &rows[1..] {
        let entry = by_label.entry(row[2].as_str()).or_default();
        entry.0 += 1;
        if row[7] != "true" {
            entry.1 += 1;
        }
        // Thread names are JMeter's `<group> <group number>-<thread number>`.
        let thread = row[5].as_str();
        assert!(
            thread.starts_with("Bank Users 1-")
                || thread == "setUp - Service Check 1-1"
                || thread == "tearDown - Final Check 1-1"
                || thread.is_empty(),
            "{thread}"
        );
        // Start times are epoch milliseconds of this run, elapsed and latency are sane.
        let (start, elapsed, latency): (i64, i64, i64) = (
            row[0].parse().unwrap(),
            row[1].parse().unwrap(),
            row[14].parse().unwrap(),
        );
        assert!(
            start > 1_600_000_000_000 && elapsed >= 0 && latency <= elapsed + 1,
            "{row:?}"
        );
    }
    for label in [
        "GET /",
        "POST /api/login",
        "POST /api/mfa",
        "GET /api/accounts",
        "GET /api/accounts/{id}/transactions",
        "GET /api/notifications",
        "TX01 Login",
        "TX02 Accounts",
    ] {
        let (count, failed) = by_label.get(label).copied().unwrap_or_default();
        assert!(count > 0, "no {label} rows: {by_label:?}");
        assert_eq!(failed, 0, "{label} failed {failed} of {count}:\n{text}");
    }
    // setUp and tearDown ran once each, before and after the users.
    assert_eq!(by_label.get("GET / (service check)"), Some(&(1, 0)));
    assert_eq!(by_label.get("GET / (final check)"), Some(&(1, 0)));
    assert_eq!(rows[1][2], "GET / (service check)");
    assert_eq!(rows.last().unwrap()[2], "GET / (final check)");
    // Transfers fail only through the bank's deterministic fault (every 40th returns 503).
    let (transfers, failed_transfers) = by_label.get("POST /api/transfers").copied().unwrap();
    assert!(
        failed_transfers <= transfers / 40 + 1,
        "{failed_transfers} of {transfers} transfers failed"
    );
    // The poll loop runs three times per journey.
    let logins = by_label["TX01 Login"].0;
    let polls = by_label["GET /api/notifications"].0;
    assert!(
        polls >= 3 * (logins - 3) && polls <= 3 * logins,
        "{polls} polls for {logins} logins"
    );
}

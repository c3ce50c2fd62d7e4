//! The compatibility suite: every case in `compat/cases/` runs against its scripted target, and
//! the JTL rows must equal the expected rows (JMeter's, from the oracle, or derived for 5.6),
//! with the timing and size columns masked.

mod support;

use std::path::{Path, PathBuf};

const MASKED: &[&str] = &[
    "timeStamp",
    "elapsed",
    "bytes",
    "sentBytes",
    "Latency",
    "IdleTime",
    "Connect",
];

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/cases"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("plan.jmx").exists())
            .collect();
    cases.sort();
    cases
}

async fn run_case(case: &Path) -> Result<(), String> {
    // A case targets either a scripted server (`target.json`) or the demo bank (`target.demo`).
    let (addr, _demo) = if case.join("target.demo").exists() {
        let (addr, server) = rmeter::demo::start(([127, 0, 0, 1], 0).into())
            .await
            .unwrap();
        (addr, Some(server))
    } else {
        let target: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("target.json")).unwrap())
                .unwrap();
        (support::serve_target(target).await, None)
    };
    let dead = support::closed_port();
    let dir = tempfile::tempdir().unwrap();
    let jtl = dir.path().join("out.jtl");
    let props = [
        ("port", addr.port().to_string()),
        ("deadport", dead.to_string()),
        ("host", "127.0.0.1".to_string()),
    ];
    support::run_plan(&case.join("plan.jmx"), &jtl, &props)
        .await
        .map_err(|e| format!("run failed: {e}"))?;
    let actual_text = std::fs::read_to_string(&jtl)
        .unwrap()
        .replace(&format!("127.0.0.1:{}", addr.port()), "127.0.0.1:{port}")
        .replace(&format!("127.0.0.1:{dead}"), "127.0.0.1:{deadport}");
    let mut actual = support::read_jtl(&actual_text);
    // What the masks hide must still be sane.
    let elapsed = actual[0].iter().position(|h| h == "elapsed").unwrap();
    for row in &actual[1..] {
        row[elapsed]
            .parse::<u64>()
            .map_err(|_| format!("elapsed is not a number in {row:?}"))?;
    }
    support::mask(&mut actual, MASKED);
    let expected_file = if case.join("expected-5.6.csv").exists() {
        "expected-5.6.csv"
    } else {
        "expected.csv"
    };
    let expected = support::read_jtl(&std::fs::read_to_string(case.join(expected_file)).unwrap());
    if actual != expected {
        let show = |rows: &[Vec<String>]| {
            rows.iter()
                .map(|r| format!("  {}", r.join(" | ")))
                .collect::<Vec<_>>()
                .join("\n")
        };
        return Err(format!(
            "rows differ from {expected_file}\nexpected:\n{}\nactual:\n{}",
            show(&expected),
            show(&actual)
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compat_cases_match_jmeter() {
    let mut failures = Vec::new();
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        if let Err(message) = run_case(&case).await {
            failures.push(format!("== {name}: {message}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

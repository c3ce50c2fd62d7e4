//! `rmeter compare` on real runs of the demo bank: two runs of the same service show no
//! significant change; a run against the same service made 25 ms slower shows a real slowdown,
//! and `--max-regression` turns that into exit 3.

mod support;

use std::path::Path;

use support::rmeter;

fn demo_run(dir: &Path, jtl: &str, extra_ms: &str) {
    let out = rmeter(
        dir,
        &[
            "demo",
            "--duration",
            "4",
            "--users",
            "4",
            "-l",
            jtl,
            "--extra-latency-ms",
            extra_ms,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn total_row(markdown: &str) -> String {
    markdown
        .lines()
        .find(|l| l.starts_with("| **Total**"))
        .unwrap_or_else(|| panic!("no Total row:\n{markdown}"))
        .to_string()
}

#[test]
fn compare_tells_noise_from_a_real_slowdown() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo_run(d, "base.jtl", "0");
    demo_run(d, "same.jtl", "0");
    demo_run(d, "slow.jtl", "25");

    let out = rmeter(
        d,
        &[
            "compare",
            "base.jtl",
            "same.jtl",
            "--max-regression",
            "p95=50%",
        ],
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{md}");
    assert!(total_row(&md).contains("no significant change"), "{md}");

    let out = rmeter(
        d,
        &[
            "compare",
            "base.jtl",
            "slow.jtl",
            "-o",
            "cmp",
            "--max-regression",
            "p95=20%",
            "--max-regression",
            "errors=5pp",
        ],
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{md}");
    assert!(total_row(&md).contains("**slower**"), "{md}");
    assert!(
        md.contains("| `p95=20%` |") && md.contains("**FAIL**"),
        "{md}"
    );
    assert!(
        md.contains("| `errors=5pp` |") && md.contains("| PASS |"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("cmp/compare.json")).unwrap())
            .unwrap();
    let total = json["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == "Total")
        .unwrap();
    assert_eq!(total["test"]["change"], "slower");
    assert!(d.join("cmp/index.html").exists());
    // The output folder rule, as for reports.
    let again = rmeter(d, &["compare", "base.jtl", "slow.jtl", "-o", "cmp"]);
    assert_eq!(again.status.code(), Some(1));
}

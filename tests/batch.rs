//! JMeter's own batch tests (`../shared/jmeter-batch`, from JMeter 5.6.3): each plan runs the way
//! JMeter's build runs it, and the result files its listeners write must equal JMeter's expected
//! files byte for byte (line endings aside). Skipped when `../shared` is absent.

mod support;

use std::path::{Path, PathBuf};

fn batch_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/jmeter-batch");
    dir.join("jmeter-batch.properties").exists().then_some(dir)
}

/// Runs `testfiles/<name>.jmx` as JMeter's `BatchTest` does, with the batch properties, in a
/// fresh root holding a copy of the batch files, and compares `<name>.csv` and `<name>.xml`.
fn run_batch(name: &str, extra: &[&str]) -> Result<(), String> {
    let Some(source) = batch_dir() else {
        eprintln!("skipped: ../shared/jmeter-batch is absent");
        return Ok(());
    };
    let root = tempfile::tempdir().unwrap();
    let testfiles = root.path().join("testfiles");
    std::fs::create_dir(&testfiles).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, testfiles.join(path.file_name().unwrap())).unwrap();
    }
    let plan = format!("testfiles/{name}.jmx");
    let log = format!("{name}.log");
    let jtl = format!("{name}.jtl");
    let csv = format!("-JCSVFILE={name}.csv");
    let mut args = vec![
        "-q",
        "testfiles/jmeter-batch.properties",
        "-n",
        "-t",
        &plan,
        "-j",
        &log,
        "-l",
        &jtl,
        "-Jmodule=Module",
        "-Gmodule=Module",
        &csv,
    ];
    args.extend_from_slice(extra);
    let out = support::rmeter(root.path(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{name}: exit {:?}\n{stderr}", out.status.code()));
    }
    // JMeter's batch test fails on any warning in the log.
    let log_text = std::fs::read_to_string(root.path().join(&log)).unwrap_or_default();
    if let Some(line) = log_text
        .lines()
        .find(|l| l.contains(" WARN ") || l.contains(" ERROR "))
    {
        return Err(format!("{name}: the log has a warning: {line}"));
    }
    for ext in ["csv", "xml"] {
        let expected = std::fs::read_to_string(source.join(format!("{name}.{ext}")))
            .unwrap()
            .replace("\r\n", "\n");
        let actual = std::fs::read_to_string(root.path().join(format!("{name}.{ext}")))
            .map_err(|e| format!("{name}.{ext}: {e}"))?
            .replace("\r\n", "\n");
        if actual != expected {
            return Err(format!(
                "{name}.{ext} differs from JMeter's\n--- expected\n{expected}\n--- actual\n{actual}"
            ));
        }
    }
    Ok(())
}

/// Transaction Controllers with and without a parent sample, left through "start next thread
/// loop" (on error and from a Flow Control Action).
#[test]
fn bug52968_transactions_and_start_next_loop() {
    run_batch("Bug52968", &[]).unwrap();
}

/// `sample_variables` columns, and a label with commas quoted.
#[test]
fn bug54685_sample_variables() {
    run_batch("Bug54685", &["-Jsample_variables=REFERENCE,JSESSIONID"]).unwrap();
}

/// A Module Controller whose target (a disabled Simple Controller) has its own name.
#[test]
fn bug55375_module_controller() {
    run_batch("Bug55375", &[]).unwrap();
}

/// Two Include Controllers of the same name bringing in a Test Fragment from another file.
#[test]
fn bug50898_include_controllers() {
    run_batch("Bug50898", &[]).unwrap();
}

/// `__jm__<name>__idx` of Loop, While and ForEach seen by If Controllers inside them.
#[test]
fn bug62847_loop_indexes_in_conditions() {
    run_batch("BUG_62847", &[]).unwrap();
}

/// Flow Control Action "break" and "next iteration" in Loop, While and ForEach.
#[test]
fn bug62239_break_and_continue() {
    run_batch("Bug62239", &[]).unwrap();
}

/// Nested Header Managers merged, and assertions on the request headers of requests that meet no
/// server (JMeter still records what it would have sent).
#[test]
fn test_header_manager() {
    run_batch("TestHeaderManager", &[]).unwrap();
}

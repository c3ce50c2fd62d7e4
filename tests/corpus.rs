//! Every real-world plan of `../shared/jmx-corpus/public` loads without error or panic, and
//! `rmeter check` gives every enabled element a status. The corpus belongs to others: it is read
//! from `../shared`, never copied here, and the test says so and passes when it is absent.

use std::path::Path;

#[test]
fn every_corpus_plan_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/jmx-corpus/public");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jmx"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 80,
        "expected the 86 corpus plans, found {}",
        files.len()
    );
    let props = rmeter::properties::Properties::with_jmeter_defaults();
    let mut failures = Vec::new();
    let (mut runnable, mut elements) = (0, 0);
    for file in &files {
        let report = rmeter::check::check_file(file, &props);
        match &report.result {
            Ok((plan, _)) => {
                elements += plan.elements.len();
                assert!(
                    !plan.elements.is_empty(),
                    "{}: no enabled element reported",
                    file.display()
                );
                if report.runnable() {
                    runnable += 1;
                }
            }
            Err(e) => failures.push(format!("{}: {e}", file.display())),
        }
    }
    eprintln!(
        "{} corpus plans loaded, {elements} enabled elements, {runnable} fully runnable",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "plans that failed to load:\n{}",
        failures.join("\n")
    );
}

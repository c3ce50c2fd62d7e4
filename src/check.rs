//! `rmeter check`: every enabled element of a plan with its status, from the same code that
//! builds the plan, so it cannot claim more than the engine does.

use std::fmt::Write as _;
use std::path::Path;

use crate::plan::support::{role_name, status_name, Status};
use crate::plan::{Diagnostic, Plan, Severity};
use crate::properties::Properties;
use crate::RunError;

/// One checked file.
pub struct FileReport {
    pub file: String,
    pub result: Result<(Plan, Vec<Diagnostic>), RunError>,
}

impl FileReport {
    /// True when the file loads, nothing enabled is unsupported and no diagnostic is an error.
    pub fn runnable(&self) -> bool {
        match &self.result {
            Ok((plan, diagnostics)) => {
                plan.unsupported().next().is_none()
                    && diagnostics.iter().all(|d| d.severity != Severity::Error)
            }
            Err(_) => false,
        }
    }
}

pub fn check_file(path: &Path, props: &Properties) -> FileReport {
    FileReport {
        file: path.display().to_string(),
        result: crate::load_plan(path, props),
    }
}

pub fn text(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for report in reports {
        let _ = writeln!(out, "{}", report.file);
        match &report.result {
            Err(e) => {
                let _ = writeln!(out, "  error: {e}");
            }
            Ok((plan, diagnostics)) => {
                let mut counts = [0usize; 3];
                for element in &plan.elements {
                    counts[element.status as usize] += 1;
                    let note = if element.status == Status::Runs || element.note.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", element.note)
                    };
                    let _ = writeln!(
                        out,
                        "  {:<12} {}  [{}, {}{}]",
                        status_name(element.status),
                        element.path,
                        element.testclass,
                        role_name(element.role),
                        note
                    );
                }
                for d in diagnostics {
                    let _ = writeln!(out, "  {d}");
                }
                let errors = diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count();
                let _ = writeln!(
                    out,
                    "  {} elements: {} run, {} inert, {} unsupported; {} errors; {}",
                    plan.elements.len(),
                    counts[0],
                    counts[1],
                    counts[2],
                    errors,
                    if report.runnable() {
                        "runnable"
                    } else {
                        "NOT runnable"
                    }
                );
            }
        }
    }
    out
}

pub fn json(reports: &[FileReport]) -> String {
    let files: Vec<serde_json::Value> = reports
        .iter()
        .map(|report| match &report.result {
            Err(e) => serde_json::json!({ "file": report.file, "runnable": false, "error": e.to_string() }),
            Ok((plan, diagnostics)) => serde_json::json!({
                "file": report.file,
                "runnable": report.runnable(),
                "elements": plan.elements.iter().map(|e| serde_json::json!({
                    "path": e.path.0,
                    "testclass": e.testclass,
                    "role": role_name(e.role),
                    "status": status_name(e.status),
                    "note": e.note,
                })).collect::<Vec<_>>(),
                "diagnostics": diagnostics.iter().map(|d| serde_json::json!({
                    "severity": d.severity.to_string(),
                    "path": d.path.0,
                    "message": d.kind.to_string(),
                })).collect::<Vec<_>>(),
            }),
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "files": files })).unwrap_or_default()
}

//! Diagnostics: what `plan::build` found wrong or unsupported, each naming its element path.

use std::fmt;

/// The path of `testname`s from the root, as the JMeter GUI tree shows it:
/// `Test Plan › Bank Users › TX01 Login › POST /login`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElementPath(pub Vec<String>);

impl ElementPath {
    pub fn child(&self, name: &str) -> ElementPath {
        let mut names = self.0.clone();
        names.push(name.to_string());
        ElementPath(names)
    }
}

impl fmt::Display for ElementPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" › ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// How serious a diagnostic is. Errors stop a run before it starts; warnings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One problem found while building the plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{severity}: {path}: {kind}")]
pub struct Diagnostic {
    pub severity: Severity,
    pub path: ElementPath,
    pub kind: DiagnosticKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiagnosticKind {
    #[error("unsupported element `{testclass}`{}", note_suffix(.note))]
    UnsupportedElement { testclass: String, note: String },
    #[error("unsupported option `{prop}`: {why}")]
    UnsupportedOption { prop: String, why: String },
    #[error("unsupported function `{name}` (left as literal text, as JMeter does with unknown functions)")]
    UnsupportedFunction { name: String },
    #[error("`{prop}` must be {expected}, got {value:?}")]
    BadValue {
        prop: String,
        expected: &'static str,
        value: String,
    },
    #[error("`{prop}` is {raw}, which gives {value:?}, not an integer: read as 0, as JMeter does (a property to set with -J?)")]
    ReadAsZero {
        prop: String,
        raw: String,
        value: String,
    },
    #[error("invalid regular expression in `{prop}`: {message}")]
    BadRegex { prop: String, message: String },
    #[error("invalid JSON path in `{prop}`: {message}")]
    BadJsonPath { prop: String, message: String },
    #[error("{0}")]
    Other(String),
}

fn note_suffix(note: &str) -> String {
    if note.is_empty() {
        String::new()
    } else {
        format!(" ({note})")
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

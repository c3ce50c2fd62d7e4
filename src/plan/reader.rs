//! Typed, lenient reading of one element's properties, with diagnostics that name the element.
//!
//! JMeter matches properties by name and converts types leniently (`stringProp` for a boolean,
//! `intProp` or `stringProp` for a count). [`Props`] does the same and records a [`Diagnostic`]
//! when a value cannot be converted. Values that hold `${...}` are compiled into templates instead.

use super::diagnostic::{Diagnostic, DiagnosticKind, ElementPath, Severity};
use super::template::{Compiler, Template};
use super::vars::VarTable;
use crate::jmx::Element;

/// The build's shared state: variable table, call slots and diagnostics.
#[derive(Default)]
pub struct Builder {
    pub vars: VarTable,
    pub next_slot: usize,
    /// Run-time states of Throughput Shaping Timers handed out so far.
    pub next_shaping_slot: usize,
    /// Run-time states of Constant Throughput Timers handed out so far.
    pub next_throughput_slot: usize,
    /// Run-time states of Precise Throughput Timers handed out so far.
    pub next_precise_slot: usize,
    /// Run-time states of Synchronizing Timers handed out so far.
    pub next_sync_slot: usize,
    pub diagnostics: Vec<Diagnostic>,
    /// Compare Assertions' per-user response lists handed out so far.
    pub next_compare_slot: usize,
    /// Some template calls `__regexFunction` on the previous response: users keep it.
    pub keep_last_response: bool,
}

impl Builder {
    pub fn error(&mut self, path: &ElementPath, kind: DiagnosticKind) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            path: path.clone(),
            kind,
        });
    }

    pub fn warn(&mut self, path: &ElementPath, kind: DiagnosticKind) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            path: path.clone(),
            kind,
        });
    }

    /// Compiles a `${...}` string, reporting functions the engine does not implement.
    pub fn template(&mut self, path: &ElementPath, src: &str) -> Template {
        let mut compiler = Compiler::new(&mut self.vars, &mut self.next_slot);
        let template = compiler.compile(src);
        self.keep_last_response |= compiler.reads_previous_response;
        let (unknown, unsupported) = (compiler.unknown, compiler.unsupported);
        for expression in unsupported {
            self.error(
                path,
                DiagnosticKind::Other(format!("unsupported expression {expression}")),
            );
        }
        for unknown in unknown {
            self.error(
                path,
                DiagnosticKind::UnsupportedFunction { name: unknown.0 },
            );
        }
        template
    }

    /// A reader for one element.
    pub fn props<'e>(&mut self, element: &'e Element, path: &ElementPath) -> Props<'e, '_> {
        Props {
            element,
            path: path.clone(),
            builder: self,
        }
    }
}

/// Reads the properties of one element.
pub struct Props<'e, 'b> {
    pub element: &'e Element,
    pub path: ElementPath,
    pub builder: &'b mut Builder,
}

impl Props<'_, '_> {
    /// The raw text of a property, or "" when missing.
    pub fn text(&self, name: &str) -> &str {
        self.element.text(name).unwrap_or("")
    }

    pub fn has(&self, name: &str) -> bool {
        self.element.text(name).is_some()
    }

    pub fn template(&mut self, name: &str) -> Template {
        let text = self.text(name).to_string();
        self.builder.template(&self.path, &text)
    }

    /// A boolean: `true` in any case is true, missing is `default`. A `${...}` value is reported.
    pub fn bool(&mut self, name: &str, default: bool) -> bool {
        let text = self.text(name).trim();
        if text.is_empty() {
            return default;
        }
        if text.contains("${") {
            self.builder.error(
                &self.path,
                DiagnosticKind::UnsupportedOption {
                    prop: name.to_string(),
                    why: "an expression in a checkbox property is not supported yet".into(),
                },
            );
            return default;
        }
        text.eq_ignore_ascii_case("true")
    }

    /// An integer that must be literal.
    pub fn int(&mut self, name: &str, default: i64) -> i64 {
        let text = self.text(name).trim().to_string();
        if text.is_empty() {
            return default;
        }
        match text.parse::<i64>() {
            Ok(n) => n,
            Err(_) => match text.parse::<f64>() {
                Ok(f) if f.is_finite() => f as i64,
                _ => {
                    self.builder.error(
                        &self.path,
                        DiagnosticKind::BadValue {
                            prop: name.to_string(),
                            expected: "an integer",
                            value: text,
                        },
                    );
                    default
                }
            },
        }
    }

    pub fn error(&mut self, kind: DiagnosticKind) {
        let path = self.path.clone();
        self.builder.error(&path, kind);
    }

    pub fn unsupported_option(&mut self, prop: &str, why: &str) {
        self.error(DiagnosticKind::UnsupportedOption {
            prop: prop.to_string(),
            why: why.to_string(),
        });
    }
}

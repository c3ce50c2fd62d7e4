//! Test data config elements: User Defined Variables, CSV Data Set, Counter, Random Variable.

use super::diagnostic::DiagnosticKind;
use super::reader::Props;
use super::template::Template;
use super::vars::VarId;
use crate::jmx::{Element, PropValue};

/// The (name, value) pairs of an `Arguments` element (`Arguments.arguments`).
pub fn arguments(element: &Element) -> Vec<(String, String)> {
    let mut all = argument_list(element);
    all.retain(|(name, _)| !name.is_empty());
    all
}

/// Every `(name, value)` of an `Arguments` element, unnamed ones included.
pub fn argument_list(element: &Element) -> Vec<(String, String)> {
    element
        .collection("Arguments.arguments")
        .iter()
        .filter_map(|item| match &item.value {
            PropValue::Element(arg) => Some((
                arg.text("Argument.name").unwrap_or("").to_string(),
                arg.text("Argument.value").unwrap_or("").to_string(),
            )),
            _ => None,
        })
        .collect()
}

/// Who shares one read position of a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareMode {
    /// Every thread of the run (`shareMode.all`, the default).
    All,
    /// Each thread group.
    Group,
    /// Each thread.
    Thread,
    /// Every CSV Data Set with the same identifier shares one position.
    Named(String),
}

/// A CSV Data Set Config, with its file name evaluated at test start.
#[derive(Debug, Clone)]
pub struct CsvDataSet {
    pub path_in_plan: super::ElementPath,
    /// As written in the plan, after `${}` evaluation; resolved against the plan's folder by the runtime.
    pub filename: String,
    pub encoding: String,
    /// `None`: the first line of the file names the variables.
    pub variable_names: Option<Vec<String>>,
    pub ignore_first_line: bool,
    pub delimiter: char,
    pub quoted_data: bool,
    pub recycle: bool,
    pub stop_thread: bool,
    pub share_mode: ShareMode,
}

/// Reads a CSV Data Set; the file name template is returned apart for evaluation at test start.
pub fn csv_data_set(p: &mut Props<'_, '_>) -> (Template, CsvDataSet) {
    let filename = p.template("filename");
    let names = p.text("variableNames").trim().to_string();
    let delimiter = match p.text("delimiter") {
        "" => ',',
        "\\t" | "\t" => '\t',
        other => {
            let mut chars = other.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => {
                    p.unsupported_option(
                        "delimiter",
                        "only a single-character delimiter is supported",
                    );
                    ','
                }
            }
        }
    };
    let share_mode = match p.text("shareMode").trim() {
        "" | "shareMode.all" => ShareMode::All,
        "shareMode.group" => ShareMode::Group,
        "shareMode.thread" => ShareMode::Thread,
        other => ShareMode::Named(other.to_string()),
    };
    let csv = CsvDataSet {
        path_in_plan: p.path.clone(),
        filename: String::new(),
        encoding: p.text("fileEncoding").trim().to_string(),
        variable_names: if names.is_empty() {
            None
        } else {
            Some(names.split(',').map(|n| n.trim().to_string()).collect())
        },
        ignore_first_line: p.bool("ignoreFirstLine", false),
        delimiter,
        quoted_data: p.bool("quotedData", false),
        recycle: p.bool("recycle", true),
        stop_thread: p.bool("stopThread", false),
        share_mode,
    };
    (filename, csv)
}

/// A Counter config element.
#[derive(Debug)]
pub struct Counter {
    pub var: VarId,
    pub start: i64,
    pub end: Option<i64>,
    pub increment: i64,
    pub format: NumberFormat,
    pub per_user: bool,
    pub reset_on_thread_group_iteration: bool,
    /// Index of the run-wide value in the runtime's counter table (the shared counter's slot).
    pub slot: usize,
}

/// Numbers of a Counter, evaluated at test start (they may use properties and variables).
pub struct CounterBounds {
    pub start: i64,
    pub end: Option<i64>,
    pub increment: i64,
}

pub fn counter(p: &mut Props<'_, '_>, bounds: CounterBounds) -> Counter {
    let name = p.text("CounterConfig.name").trim().to_string();
    let var = p.builder.vars.intern(&name);
    let format = number_format(p, "CounterConfig.format");
    let slot = p.builder.next_slot;
    p.builder.next_slot += 1;
    Counter {
        var,
        start: bounds.start,
        end: bounds.end,
        increment: bounds.increment,
        format,
        per_user: p.bool("CounterConfig.per_user", false),
        reset_on_thread_group_iteration: p.bool("CounterConfig.reset_on_tg_iteration", false),
        slot,
    }
}

/// User Parameters: per-thread values of variables, set before each sampler in scope, or once
/// per iteration of the enclosing controller (`per_iteration`).
#[derive(Debug)]
pub struct UserParameters {
    pub names: Vec<VarId>,
    /// One column of values per thread: thread n uses column `(n - 1) % columns.len()`.
    pub columns: Vec<Vec<Template>>,
    pub per_iteration: bool,
}

/// A RegEx User Parameters pre-processor: a Regular Expression Extractor's matches (match
/// number -1) give the sampler's arguments new values.
#[derive(Debug)]
pub struct RegexParameters {
    /// The extractor's reference name.
    pub reference: Template,
    /// The group holding the argument names, and the one holding their values.
    pub names_group: Template,
    pub values_group: Template,
}

pub fn regex_parameters(p: &mut Props<'_, '_>) -> RegexParameters {
    RegexParameters {
        reference: p.template("RegExUserParameters.regex_ref_name"),
        names_group: p.template("RegExUserParameters.param_names_gr_nr"),
        values_group: p.template("RegExUserParameters.param_values_gr_nr"),
    }
}

/// An HTTP URL Re-writing Modifier: a session id found in the last response goes into each
/// HTTP request, as a path extension (`;name=value`) or an argument.
#[derive(Debug)]
pub struct UrlRewriting {
    pub name: String,
    pub path_extension: bool,
    pub no_equals: bool,
    /// Finds the value (group 1, or the first group that took part, in argument mode).
    pub pattern: regex::Regex,
    /// Keeps the last value found for the pages that have none.
    pub cache: bool,
    /// "URL encode": the value is sent encoded as found, not decoded first.
    pub encode: bool,
}

pub fn url_rewriting(p: &mut Props<'_, '_>) -> Option<UrlRewriting> {
    let name = p.text("argument_name").to_string();
    let path_extension = p.bool("path_extension", false);
    let no_equals = p.bool("path_extension_no_equals", false);
    let no_question = p.bool("path_extension_no_questionmark", false);
    let n = regex::escape(&name);
    // JMeter's patterns (`URLRewritingModifier.initRegex`).
    let pattern = match (path_extension, no_equals, no_question) {
        (true, true, true) => format!(r#";{n}([^"'<>&\s;?]*)"#),
        (true, true, false) => format!(r#";{n}([^"'<>&\s;]*)"#),
        (true, false, true) => format!(r#";{n}=([^"'<>&\s;?]*)"#),
        (true, false, false) => format!(r#";{n}=([^"'<>&\s;]*)"#),
        (false, ..) => format!(
            r#"[;?&]{n}=([^"'<>&\s;\\]*)|\s(?i:name)\s*=\s*["']{n}["'][^>]*\s(?i:value)\s*=\s*["']([^"']*)["']|\s(?i:value)\s*=\s*["']([^"']*)["'][^>]*\s(?i:name)\s*=\s*["']{n}["']"#
        ),
    };
    let pattern = match regex::Regex::new(&pattern) {
        Ok(pattern) => pattern,
        Err(e) => {
            p.error(DiagnosticKind::BadRegex {
                prop: "argument_name".into(),
                message: e.to_string(),
            });
            return None;
        }
    };
    Some(UrlRewriting {
        pattern,
        name,
        path_extension,
        no_equals,
        cache: p.bool("cache_value", true),
        encode: p.bool("encode", false),
    })
}

pub fn user_parameters(p: &mut Props<'_, '_>) -> UserParameters {
    let texts = |items: &[crate::jmx::Prop]| -> Vec<String> {
        items
            .iter()
            .filter_map(|item| match &item.value {
                PropValue::Scalar(_, text) => Some(text.clone()),
                _ => None,
            })
            .collect()
    };
    let names: Vec<VarId> = texts(p.element.collection("UserParameters.names"))
        .iter()
        .map(|n| p.builder.vars.intern(n.trim()))
        .collect();
    let raw_columns: Vec<Vec<String>> = p
        .element
        .collection("UserParameters.thread_values")
        .iter()
        .filter_map(|column| match &column.value {
            PropValue::Collection(values) => Some(texts(values)),
            _ => None,
        })
        .collect();
    let path = p.path.clone();
    let columns = raw_columns
        .iter()
        .map(|column| {
            column
                .iter()
                .map(|v| p.builder.template(&path, v))
                .collect()
        })
        .collect();
    UserParameters {
        names,
        columns,
        per_iteration: p.bool("UserParameters.per_iteration", false),
    }
}

/// A Random Variable config element.
#[derive(Debug)]
pub struct RandomVariable {
    pub var: VarId,
    pub min: i64,
    pub max: i64,
    pub format: NumberFormat,
    pub per_thread: bool,
    /// A seed makes the sequence repeatable: per thread, or one sequence shared by all threads.
    pub seed: Option<u64>,
    /// The call slot that holds the seeded generator.
    pub slot: usize,
}

pub fn random_variable(p: &mut Props<'_, '_>) -> RandomVariable {
    let name = p.text("variableName").trim().to_string();
    let var = p.builder.vars.intern(&name);
    let seed_text = p.text("randomSeed").trim().to_string();
    let format = number_format(p, "outputFormat");
    let slot = p.builder.next_slot;
    p.builder.next_slot += 1;
    RandomVariable {
        slot,
        var,
        min: p.int("minimumValue", 1),
        max: p.int("maximumValue", i64::MAX),
        format,
        per_thread: p.bool("perThread", false),
        seed: if seed_text.is_empty() {
            None
        } else {
            Some(p.int("randomSeed", 0) as u64)
        },
    }
}

/// An integer `java.text.DecimalFormat` pattern: a literal prefix, a run of `0`/`#` (the zeros
/// give the minimum width) and a literal suffix, e.g. `J-000000`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberFormat {
    prefix: String,
    min_digits: usize,
    suffix: String,
}

impl NumberFormat {
    /// Compiles a pattern; None for patterns with fractions, grouping or several number runs.
    pub fn parse(pattern: &str) -> Option<NumberFormat> {
        let unquoted = pattern.replace('\'', "");
        let start = unquoted.find(['0', '#']).unwrap_or(unquoted.len());
        let digits_len = unquoted[start..]
            .find(|c| c != '0' && c != '#')
            .unwrap_or(unquoted.len() - start);
        let digits = &unquoted[start..start + digits_len];
        let (prefix, suffix) = (&unquoted[..start], &unquoted[start + digits_len..]);
        let special = |s: &str| s.contains(['0', '#', '.', ',', '%', ';', '\u{2030}', 'E']);
        if special(prefix) || special(suffix) {
            return None;
        }
        Some(NumberFormat {
            prefix: prefix.to_string(),
            min_digits: digits.chars().filter(|&c| c == '0').count(),
            suffix: suffix.to_string(),
        })
    }

    pub fn format(&self, value: i64) -> String {
        let width = self.min_digits;
        let digits = if value < 0 {
            format!("-{:0width$}", value.unsigned_abs())
        } else {
            format!("{value:0width$}")
        };
        format!("{}{digits}{}", self.prefix, self.suffix)
    }
}

fn number_format(p: &mut Props<'_, '_>, prop: &str) -> NumberFormat {
    let text = p.text(prop).to_string();
    NumberFormat::parse(&text).unwrap_or_else(|| {
        p.unsupported_option(
            prop,
            "only integer patterns (a prefix, 0 and #, a suffix) are supported",
        );
        NumberFormat::default()
    })
}

/// The Keystore Configuration (`KeystoreConfig`, a TestBean: every value a string). A blank or
/// unparseable index is JMeter's default (0, and -1 for the last key).
pub fn keystore_settings(p: &mut Props<'_, '_>) -> Option<super::KeystoreSettings> {
    for prop in ["startIndex", "endIndex", "clientCertAliasVarName"] {
        if p.text(prop).contains("${") {
            p.unsupported_option(prop, "a value built from variables is not supported yet");
            return None;
        }
    }
    let index = |text: &str, default: i64| text.trim().parse::<i64>().unwrap_or(default);
    let start = index(p.text("startIndex"), 0);
    let end = index(p.text("endIndex"), -1);
    if start < 0 {
        p.error(DiagnosticKind::Other(format!(
            "Could not create keystore: Invalid index(es). Start={start}, end={end}"
        )));
        return None;
    }
    if end != -1 && start > end {
        p.error(DiagnosticKind::Other(
            "Keystore Config error : Alias start index must be lower than Alias end index".into(),
        ));
        return None;
    }
    let var = p.text("clientCertAliasVarName").trim().to_string();
    Some(super::KeystoreSettings {
        start: start as usize,
        end: (end >= 0).then_some(end as usize),
        alias_var: (!var.is_empty()).then_some(var),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(
            NumberFormat::parse("J-000000").unwrap().format(42),
            "J-000042"
        );
        assert_eq!(NumberFormat::parse("").unwrap().format(7), "7");
        assert_eq!(NumberFormat::parse("#,##0.00"), None);
        assert_eq!(NumberFormat::parse("'id'00").unwrap().format(3), "id03");
    }
}

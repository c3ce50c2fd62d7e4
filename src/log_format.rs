//! The run log's line format, shaped like JMeter's log4j2 pattern
//! `%d{yyyy-MM-dd HH:mm:ss,SSS} %p %c{1.}: %m%n`, so that tools that scan `jmeter.log` read ours.
//! Only `main.rs` installs the subscriber; this module is the formatter and the `-L` parser.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// `2026-11-26 17:32:35,123 INFO r.r.vu: message`.
pub struct JMeterLogFormat;

impl<S, N> FormatEvent<S, N> for JMeterLogFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let now = chrono::Local::now();
        write!(
            writer,
            "{} {} {}: ",
            now.format("%Y-%m-%d %H:%M:%S,%3f"),
            meta.level(),
            abbreviate(meta.target())
        )?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// log4j's `%c{1.}`: every part of the category but the last shortened to its first letter.
pub fn abbreviate(target: &str) -> String {
    let parts: Vec<&str> = target.split(['.', ':']).filter(|p| !p.is_empty()).collect();
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            out.push_str(part);
        } else {
            out.extend(part.chars().next());
            out.push('.');
        }
    }
    out
}

/// Turns JMeter's `-L` values (`DEBUG`, `category=LEVEL`) into a filter directive list on top of
/// `base`. A category names an rmeter module (`rmeter::runtime`) or a log target
/// (`jmeter.functions`).
pub fn filter_directives(base: &str, options: &[String]) -> Result<String, String> {
    let mut root = base.to_string();
    let mut directives = Vec::new();
    for option in options {
        let (category, level) = match option.split_once('=') {
            Some((c, l)) => (Some(c.trim()), l.trim()),
            None => (None, option.trim()),
        };
        let level = match level.to_ascii_uppercase().as_str() {
            "TRACE" => "trace",
            "DEBUG" => "debug",
            "INFO" => "info",
            "WARN" => "warn",
            "ERROR" | "FATAL_ERROR" | "FATAL" => "error",
            "OFF" | "NONE" => "off",
            other => return Err(format!("-L {option}: unknown log level {other:?}")),
        };
        match category {
            Some(category) if !category.is_empty() => {
                directives.push(format!("{category}={level}"))
            }
            _ => root = level.to_string(),
        }
    }
    directives.insert(0, root);
    Ok(directives.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_abbreviated() {
        assert_eq!(abbreviate("rmeter::runtime::vu"), "r.r.vu");
        assert_eq!(abbreviate("jmeter.reporters.Summariser"), "j.r.Summariser");
        assert_eq!(abbreviate("main"), "main");
    }

    #[test]
    fn levels_become_directives() {
        assert_eq!(
            filter_directives("info", &["DEBUG".into()]).unwrap(),
            "debug"
        );
        assert_eq!(
            filter_directives("info", &["rmeter::runtime=WARN".into()]).unwrap(),
            "info,rmeter::runtime=warn"
        );
        assert!(filter_directives("info", &["LOUD".into()]).is_err());
    }
}

//! JTL CSV rows, exactly as JMeter 5.6's `CSVSaveService` writes them (reference §1.2–1.4):
//! fixed column order, a column only when its save flag is on, a field quoted only when it holds
//! the delimiter, a quote, CR or LF, and `null` for a missing URL.

use std::fmt::Write as _;

use crate::plan::java_time::{DatePattern, DateTimeParts};
use crate::plan::listener::SaveConfig;
use crate::properties::Properties;
use crate::sample::Sample;

/// How the `timeStamp` column is written.
#[derive(Debug, Clone)]
pub enum TimestampFormat {
    Millis,
    Pattern(DatePattern, i32),
}

/// Everything that shapes a CSV result file.
#[derive(Debug, Clone)]
pub struct CsvFormat {
    pub save: SaveConfig,
    pub delimiter: char,
    pub timestamp: TimestampFormat,
    /// `sampleresult.timestamp.start`: the column holds the start (true) or end time.
    pub timestamp_is_start: bool,
    pub sample_variables: Vec<String>,
    pub hostname: String,
}

/// Bad save-service settings.
#[derive(Debug, thiserror::Error)]
#[error("property `{prop}`: {message}")]
pub struct FormatError {
    pub prop: &'static str,
    pub message: String,
}

impl CsvFormat {
    /// The format of a file with this save configuration, taking the delimiter, timestamp format
    /// and sample variables from the properties, as JMeter always does.
    pub fn new(save: SaveConfig, props: &Properties) -> Result<CsvFormat, FormatError> {
        let delimiter = match props
            .get("jmeter.save.saveservice.default_delimiter")
            .as_deref()
        {
            None => ',',
            Some("\\t") | Some("\t") => '\t',
            Some(text) => {
                let mut chars = text.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_alphanumeric() && c != '"' && !c.is_control() => c,
                    _ => {
                        return Err(FormatError {
                            prop: "jmeter.save.saveservice.default_delimiter",
                            message: format!("{text:?} must be one printable character that is not a letter, a digit or a quote"),
                        })
                    }
                }
            }
        };
        let format = props
            .get("jmeter.save.saveservice.timestamp_format")
            .unwrap_or_else(|| "ms".into());
        let timestamp = match format.trim() {
            "ms" | "none" | "" => TimestampFormat::Millis,
            pattern => TimestampFormat::Pattern(
                DatePattern::compile(pattern).map_err(|e| FormatError {
                    prop: "jmeter.save.saveservice.timestamp_format",
                    message: e.to_string(),
                })?,
                crate::clock::utc_offset_seconds(),
            ),
        };
        let sample_variables = props.list("sample_variables");
        Ok(CsvFormat {
            save,
            delimiter,
            timestamp,
            timestamp_is_start: props.bool("sampleresult.timestamp.start", false),
            sample_variables,
            hostname: String::new(),
        })
    }

    /// The header line, without the line end.
    pub fn header(&self) -> String {
        let s = &self.save;
        let mut names: Vec<String> = Vec::new();
        let mut add = |on: bool, name: &str| {
            if on {
                names.push(name.to_string());
            }
        };
        add(s.timestamp, "timeStamp");
        add(s.time, "elapsed");
        add(s.label, "label");
        add(s.code, "responseCode");
        add(s.message, "responseMessage");
        add(s.thread_name, "threadName");
        add(s.data_type, "dataType");
        add(s.success, "success");
        add(s.failure_message, "failureMessage");
        add(s.bytes, "bytes");
        add(s.sent_bytes, "sentBytes");
        add(s.thread_counts, "grpThreads");
        add(s.thread_counts, "allThreads");
        add(s.url, "URL");
        add(s.filename, "Filename");
        add(s.latency, "Latency");
        add(s.encoding, "Encoding");
        add(s.sample_count, "SampleCount");
        add(s.sample_count, "ErrorCount");
        add(s.hostname, "Hostname");
        add(s.idle_time, "IdleTime");
        add(s.connect_time, "Connect");
        for var in &self.sample_variables {
            names.push(format!("\"{var}\""));
        }
        names.join(&self.delimiter.to_string())
    }

    /// Appends one row and its line end to `out`.
    pub fn write_row(&self, sample: &Sample, out: &mut String) {
        self.write_row_with(sample, &sample.variables, out);
    }

    /// A row whose `sample_variables` columns come from `variables` (a sub-result repeats its
    /// parent's values, as JMeter does).
    fn write_row_with(&self, sample: &Sample, variables: &[String], out: &mut String) {
        let s = &self.save;
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !first {
                out.push(self.delimiter);
            }
            first = false;
        };
        if s.timestamp {
            sep(out);
            let ts = if self.timestamp_is_start {
                sample.start_ms
            } else {
                sample.end_ms
            };
            match &self.timestamp {
                TimestampFormat::Millis => {
                    let _ = write!(out, "{ts}");
                }
                TimestampFormat::Pattern(pattern, offset) => {
                    let text = pattern.format(&DateTimeParts::from_epoch_millis(ts, *offset));
                    self.quoted(&text, out);
                }
            }
        }
        if s.time {
            sep(out);
            let _ = write!(out, "{}", sample.elapsed);
        }
        if s.label {
            sep(out);
            self.quoted(&sample.label, out);
        }
        if s.code {
            sep(out);
            self.quoted(&sample.response_code, out);
        }
        if s.message {
            sep(out);
            self.quoted(&sample.response_message, out);
        }
        if s.thread_name {
            sep(out);
            self.quoted(&sample.thread_name, out);
        }
        if s.data_type {
            sep(out);
            out.push_str(sample.data_type.as_str());
        }
        if s.success {
            sep(out);
            out.push_str(if sample.success { "true" } else { "false" });
        }
        if s.failure_message {
            sep(out);
            self.quoted(&sample.failure_message, out);
        }
        if s.bytes {
            sep(out);
            let _ = write!(out, "{}", sample.bytes);
        }
        if s.sent_bytes {
            sep(out);
            let _ = write!(out, "{}", sample.sent_bytes);
        }
        if s.thread_counts {
            sep(out);
            let _ = write!(out, "{}", sample.grp_threads);
            sep(out);
            let _ = write!(out, "{}", sample.all_threads);
        }
        if s.url {
            sep(out);
            match &sample.url {
                Some(url) => self.quoted(url, out),
                None => out.push_str("null"),
            }
        }
        if s.filename {
            sep(out);
        }
        if s.latency {
            sep(out);
            let _ = write!(out, "{}", sample.latency);
        }
        if s.encoding {
            sep(out);
            self.quoted(
                if sample.encoding.is_empty() {
                    "UTF-8"
                } else {
                    &sample.encoding
                },
                out,
            );
        }
        if s.sample_count {
            sep(out);
            out.push('1');
            sep(out);
            out.push(if sample.success { '0' } else { '1' });
        }
        if s.hostname {
            sep(out);
            self.quoted(&self.hostname, out);
        }
        if s.idle_time {
            sep(out);
            let _ = write!(out, "{}", sample.idle);
        }
        if s.connect_time {
            sep(out);
            let _ = write!(out, "{}", sample.connect);
        }
        for i in 0..self.sample_variables.len() {
            sep(out);
            self.quoted(variables.get(i).map_or("", String::as_str), out);
        }
        out.push('\n');
    }

    /// JMeter's `StringQuoter`: quote when the field holds the delimiter, `"`, CR or LF.
    fn quoted(&self, field: &str, out: &mut String) {
        let needs = field.contains([self.delimiter, '"', '\r', '\n']);
        if !needs {
            out.push_str(field);
            return;
        }
        out.push('"');
        for c in field.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    }

    /// Writes a sample and, when saved, its sub-results pre-order (at most 11 levels, as JMeter).
    pub fn write_sample(&self, sample: &Sample, out: &mut String) {
        self.write_tree(sample, &sample.variables, out, 0);
    }

    fn write_tree(&self, sample: &Sample, variables: &[String], out: &mut String, depth: usize) {
        self.write_row_with(sample, variables, out);
        if self.save.subresults && depth < 11 {
            for sub in &sample.subresults {
                self.write_tree(sub, variables, out, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::sample::DataType;

    fn format() -> CsvFormat {
        let props = Properties::with_jmeter_defaults();
        CsvFormat::new(SaveConfig::from_properties(&props), &props).unwrap()
    }

    #[test]
    fn default_header_is_jmeter_5_6() {
        assert_eq!(
            format().header(),
            "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect"
        );
    }

    #[test]
    fn rows_quote_like_jmeter() {
        let mut sample = Sample::new(
            "TX, \"01\"".into(),
            Arc::from("Users 1-1"),
            1_700_000_000_123,
        );
        sample.elapsed = 57;
        sample.response_code = "200".into();
        sample.response_message =
            "Number of samples in transaction : 1, number of failing samples : 0".into();
        sample.data_type = DataType::Empty;
        sample.failure_message = "line1\nline2".into();
        let mut out = String::new();
        format().write_row(&sample, &mut out);
        assert_eq!(
            out,
            "1700000000123,57,\"TX, \"\"01\"\"\",200,\"Number of samples in transaction : 1, number of failing samples : 0\",Users 1-1,,true,\"line1\nline2\",0,0,0,0,null,0,0,0\n"
        );
    }
}

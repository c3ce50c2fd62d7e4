//! Streams a CSV JTL file for the report: the header names the columns (JMeter's report reads
//! them by name too), rows are parsed in place from one reused record, and nothing is kept.

use std::io::Read;
use std::path::Path;

/// Columns the dashboard cannot do without (JMeter's `report/core/Sample`).
const REQUIRED: &[&str] = &[
    "timeStamp",
    "elapsed",
    "label",
    "responseCode",
    "responseMessage",
    "success",
    "bytes",
    "grpThreads",
    "allThreads",
    "Latency",
    "threadName",
];

/// A JTL that cannot be reported.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("{path} has no header line: the report needs the column names (jmeter.save.saveservice.print_field_names=true)")]
    NoHeader { path: String },
    #[error("{path} lacks the column(s) {missing} that the report needs")]
    MissingColumns { path: String, missing: String },
    #[error("{path}, line {line}: {message}")]
    Row {
        path: String,
        line: u64,
        message: String,
    },
}

/// One row, borrowed from the reader's record.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// Start of the sample, epoch ms.
    pub start: i64,
    pub elapsed: u64,
    pub label: &'a str,
    pub code: &'a str,
    pub message: &'a str,
    pub thread_name: &'a str,
    pub success: bool,
    pub failure_message: &'a str,
    pub bytes: u64,
    pub sent_bytes: u64,
    pub grp_threads: u32,
    pub all_threads: u32,
    pub latency: u64,
    pub connect: u64,
}

impl Row<'_> {
    /// A Transaction Controller's sample, which JMeter's report leaves out of totals.
    pub fn is_transaction(&self) -> bool {
        self.message.starts_with("Number of samples in transaction")
    }

    pub fn end(&self) -> i64 {
        self.start + self.elapsed as i64
    }
}

struct Columns {
    timestamp: usize,
    elapsed: usize,
    label: usize,
    code: usize,
    message: usize,
    thread_name: usize,
    success: usize,
    bytes: usize,
    grp_threads: usize,
    all_threads: usize,
    latency: usize,
    failure_message: Option<usize>,
    sent_bytes: Option<usize>,
    connect: Option<usize>,
}

/// Reads `path` and calls `each` for every row. `timestamp_is_start` is
/// `sampleresult.timestamp.start`: when false the timeStamp column is the end of the sample.
pub fn read_jtl(
    path: &Path,
    delimiter: u8,
    timestamp_is_start: bool,
    mut each: impl FnMut(&Row<'_>),
) -> Result<u64, ReadError> {
    let io = |cause| ReadError::Io {
        path: path.display().to_string(),
        cause,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    read_from(
        std::io::BufReader::with_capacity(1 << 20, file),
        &path.display().to_string(),
        delimiter,
        timestamp_is_start,
        &mut each,
    )
}

fn read_from(
    input: impl Read,
    path: &str,
    delimiter: u8,
    timestamp_is_start: bool,
    each: &mut dyn FnMut(&Row<'_>),
) -> Result<u64, ReadError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let row_error = |line: u64, message: String| ReadError::Row {
        path: path.to_string(),
        line,
        message,
    };
    let read = |reader: &mut csv::Reader<_>, record: &mut csv::ByteRecord| {
        reader
            .read_byte_record(record)
            .map_err(|e| row_error(e.position().map_or(0, |p| p.line()), e.to_string()))
    };
    if !read(&mut reader, &mut record)? {
        return Err(ReadError::NoHeader { path: path.into() });
    }
    let names: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect();
    if !names.iter().any(|n| n == "timeStamp" || n == "elapsed") {
        return Err(ReadError::NoHeader { path: path.into() });
    }
    let find = |name: &str| names.iter().position(|n| n == name);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| find(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ReadError::MissingColumns {
            path: path.into(),
            missing: missing.join(", "),
        });
    }
    let need = |name: &str| find(name).unwrap_or(0);
    let columns = Columns {
        timestamp: need("timeStamp"),
        elapsed: need("elapsed"),
        label: need("label"),
        code: need("responseCode"),
        message: need("responseMessage"),
        thread_name: need("threadName"),
        success: need("success"),
        bytes: need("bytes"),
        grp_threads: need("grpThreads"),
        all_threads: need("allThreads"),
        latency: need("Latency"),
        failure_message: find("failureMessage"),
        sent_bytes: find("sentBytes"),
        connect: find("Connect"),
    };
    let mut rows = 0u64;
    while read(&mut reader, &mut record)? {
        let line = record.position().map_or(0, |p| p.line());
        let text = |i: usize| -> Result<&str, ReadError> {
            std::str::from_utf8(record.get(i).unwrap_or(b""))
                .map_err(|_| row_error(line, format!("column {} is not UTF-8", names[i])))
        };
        let number = |i: usize| -> Result<i64, ReadError> {
            let field = text(i)?;
            field.trim().parse::<i64>().map_err(|_| {
                row_error(
                    line,
                    format!("{} is {field:?}, not a whole number", names[i]),
                )
            })
        };
        let optional = |i: Option<usize>| -> Result<i64, ReadError> {
            match i {
                Some(i) if !record.get(i).unwrap_or(b"").is_empty() => number(i),
                _ => Ok(0),
            }
        };
        if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
            continue; // a blank line
        }
        let elapsed = number(columns.elapsed)?.max(0) as u64;
        let stamp = number(columns.timestamp).map_err(|_| {
            row_error(
                line,
                "timeStamp is not epoch milliseconds (jmeter.save.saveservice.timestamp_format=ms)"
                    .into(),
            )
        })?;
        let row = Row {
            start: if timestamp_is_start {
                stamp
            } else {
                stamp - elapsed as i64
            },
            elapsed,
            label: text(columns.label)?,
            code: text(columns.code)?,
            message: text(columns.message)?,
            thread_name: text(columns.thread_name)?,
            success: text(columns.success)?.trim().eq_ignore_ascii_case("true"),
            failure_message: match columns.failure_message {
                Some(i) => text(i)?,
                None => "",
            },
            bytes: number(columns.bytes)?.max(0) as u64,
            sent_bytes: optional(columns.sent_bytes)?.max(0) as u64,
            grp_threads: number(columns.grp_threads)?.clamp(0, u32::MAX as i64) as u32,
            all_threads: number(columns.all_threads)?.clamp(0, u32::MAX as i64) as u32,
            latency: number(columns.latency)?.max(0) as u64,
            connect: optional(columns.connect)?.max(0) as u64,
        };
        each(&row);
        rows += 1;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n";

    fn rows(text: &str) -> Result<Vec<(i64, String, bool)>, ReadError> {
        let mut out = Vec::new();
        read_from(text.as_bytes(), "t.jtl", b',', true, &mut |r| {
            out.push((r.start, r.label.to_string(), r.success))
        })?;
        Ok(out)
    }

    #[test]
    fn reads_rows_by_column_name() {
        let text = format!("{HEADER}1000,5,\"a, b\",200,OK,T 1-1,text,true,,10,2,1,1,null,3,0,1\n\n1010,7,c,500,Err,T 1-1,text,false,x,10,2,1,1,null,3,0,\n");
        assert_eq!(
            rows(&text).unwrap(),
            [
                (1000, "a, b".to_string(), true),
                (1010, "c".to_string(), false)
            ]
        );
    }

    #[test]
    fn refuses_what_it_cannot_report() {
        assert!(matches!(rows(""), Err(ReadError::NoHeader { .. })));
        assert!(matches!(rows("1,2,3\n"), Err(ReadError::NoHeader { .. })));
        let no_code =
            "timeStamp,elapsed,label,threadName,success,bytes,grpThreads,allThreads,Latency\n";
        let Err(ReadError::MissingColumns { missing, .. }) = rows(no_code) else {
            panic!("accepted")
        };
        assert_eq!(missing, "responseCode, responseMessage");
        let bad = format!("{HEADER}2024/01/01,5,a,200,OK,T,text,true,,1,1,1,1,null,1,0,0\n");
        let Err(error) = rows(&bad) else {
            panic!("accepted")
        };
        assert!(error.to_string().contains("line 2"), "{error}");
    }
}

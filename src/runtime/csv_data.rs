//! CSV Data Set files, read once at test start and shared as the plan's share mode says.
//!
//! A file is parsed into rows when the run starts (a missing or unreadable file stops the run
//! before any thread starts, naming the element). Read positions are atomics: a shared data set
//! hands out rows without a lock, and a per-thread one keeps its position in the virtual user.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::plan::{CsvDataSet, ElementPath, ShareMode, VarId, VarTable};

/// A CSV Data Set that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CsvError {
    pub path: ElementPath,
    pub message: String,
}

/// One loaded data set.
#[derive(Debug)]
pub struct CsvTable {
    rows: Vec<Vec<String>>,
    /// Variable names, and their interned ids where the plan mentions them.
    names: Vec<(String, Option<VarId>)>,
    recycle: bool,
    stop_thread: bool,
    share: ShareMode,
    /// Position shared by all threads (`All`, `Named`) or per group (`Group`, one per group).
    shared: Vec<AtomicUsize>,
}

/// What reading the next row gave.
pub enum Next<'a> {
    Row(&'a [String]),
    /// End of file without recycling: variables become `<EOF>`.
    Eof,
    /// End of file with "stop thread on EOF".
    StopThread,
}

impl CsvTable {
    pub fn names(&self) -> &[(String, Option<VarId>)] {
        &self.names
    }

    /// The next row for a thread. `group` is the thread group's index among all groups and
    /// `own` the thread's own position (used by `shareMode.thread`).
    pub fn next(&self, group: usize, own: &mut usize) -> Next<'_> {
        let len = self.rows.len();
        let index = match self.share {
            ShareMode::Thread => {
                let i = *own;
                *own += 1;
                i
            }
            ShareMode::Group => self
                .shared
                .get(group)
                .map_or(0, |c| c.fetch_add(1, Ordering::Relaxed)),
            ShareMode::All | ShareMode::Named(_) => self.shared[0].fetch_add(1, Ordering::Relaxed),
        };
        if len == 0 {
            return if self.stop_thread {
                Next::StopThread
            } else {
                Next::Eof
            };
        }
        if index < len {
            return Next::Row(&self.rows[index]);
        }
        if self.recycle {
            Next::Row(&self.rows[index % len])
        } else if self.stop_thread {
            Next::StopThread
        } else {
            Next::Eof
        }
    }
}

/// Loads every data set of the plan. `plan_dir` is the folder of the `.jmx` file.
pub fn load_all(
    data_sets: &[CsvDataSet],
    vars: &VarTable,
    plan_dir: &Path,
    n_groups: usize,
) -> Result<Vec<CsvTable>, CsvError> {
    data_sets
        .iter()
        .map(|ds| load(ds, vars, plan_dir, n_groups))
        .collect()
}

fn load(
    ds: &CsvDataSet,
    vars: &VarTable,
    plan_dir: &Path,
    n_groups: usize,
) -> Result<CsvTable, CsvError> {
    let error = |message: String| CsvError {
        path: ds.path_in_plan.clone(),
        message,
    };
    if ds.filename.trim().is_empty() {
        return Err(error("the CSV Data Set has no file name".into()));
    }
    let file = resolve(&ds.filename, plan_dir);
    let bytes = std::fs::read(&file)
        .map_err(|e| error(format!("cannot read CSV file {}: {e}", file.display())))?;
    let text = decode(&bytes, &ds.encoding).map_err(error)?;
    if !ds.delimiter.is_ascii() {
        return Err(error(format!(
            "the delimiter {:?} is not an ASCII character",
            ds.delimiter
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(ds.delimiter as u8)
        .quoting(ds.quoted_data)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| error(format!("{}: {e}", file.display())))?;
        rows.push(record.iter().map(str::to_string).collect::<Vec<_>>());
    }
    let names: Vec<String> = match &ds.variable_names {
        Some(names) => {
            if ds.ignore_first_line && !rows.is_empty() {
                rows.remove(0);
            }
            names.clone()
        }
        None => {
            if rows.is_empty() {
                return Err(error(format!(
                    "{} is empty, so it has no header line to name the variables",
                    file.display()
                )));
            }
            rows.remove(0)
                .into_iter()
                .map(|n| n.trim().to_string())
                .collect()
        }
    };
    let names = names.into_iter().map(|n| {
        let id = vars.get(&n);
        (n, id)
    });
    let n_cursors = if ds.share_mode == ShareMode::Group {
        n_groups.max(1)
    } else {
        1
    };
    Ok(CsvTable {
        rows,
        names: names.collect(),
        recycle: ds.recycle,
        stop_thread: ds.stop_thread,
        share: ds.share_mode.clone(),
        shared: (0..n_cursors).map(|_| AtomicUsize::new(0)).collect(),
    })
}

/// JMeter: as given (absolute, or existing relative to the working directory), else relative to the plan.
fn resolve(name: &str, plan_dir: &Path) -> PathBuf {
    let given = PathBuf::from(name);
    if given.is_absolute() || given.exists() {
        given
    } else {
        plan_dir.join(given)
    }
}

fn decode(bytes: &[u8], encoding: &str) -> Result<String, String> {
    match encoding.trim().to_ascii_uppercase().as_str() {
        "" | "UTF-8" | "UTF8" => {
            let text = String::from_utf8_lossy(bytes);
            Ok(text.strip_prefix('\u{feff}').unwrap_or(&text).to_string())
        }
        "ISO-8859-1" | "ISO8859-1" | "LATIN1" | "US-ASCII" | "ASCII" => {
            Ok(bytes.iter().map(|&b| b as char).collect())
        }
        other => Err(format!(
            "file encoding {other} is not supported (UTF-8, ISO-8859-1 and US-ASCII are)"
        )),
    }
}

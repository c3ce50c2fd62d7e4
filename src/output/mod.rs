//! Sample stream → result files and the console.
//!
//! One writer thread owns every output: the `-l` JTL, the files of the plan's result listeners,
//! the summariser and the per-label statistics. Samples reach it over the runtime's bounded
//! channel, so rows never interleave and a slow disk slows the users instead of growing memory.
//! Each row goes to a file in one `write_all`, so a reader tailing the file never sees half a row.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod jtl;
pub mod summary;
pub mod xml;

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::runtime::ThreadCounts;
use crate::sample::Sample;
use jtl::CsvFormat;
pub use summary::LabelStats;
use summary::{Summariser, ThreadSnapshot};

/// One result file and who writes to it.
#[derive(Debug, Clone)]
pub struct FileTarget {
    pub path: PathBuf,
    pub format: FileFormat,
    /// `None` for the `-l` file, which receives every sample; else the plan listener's index.
    pub listener: Option<u16>,
    pub errors_only: bool,
    pub successes_only: bool,
}

/// A result file's format.
#[derive(Debug, Clone)]
pub enum FileFormat {
    Csv(CsvFormat),
    Xml(xml::XmlFormat),
}

impl FileFormat {
    fn write_sample(&self, sample: &Sample, out: &mut String) {
        match self {
            FileFormat::Csv(csv) => csv.write_sample(sample, out),
            FileFormat::Xml(xml) => xml.write_sample(sample, out),
        }
    }
}

/// The writer's settings.
#[derive(Debug, Clone)]
pub struct OutputConfig {
    pub files: Vec<FileTarget>,
    /// `summariser.name`; empty turns the summariser off.
    pub summariser_name: String,
    pub summariser_interval_s: i64,
    /// Print summariser lines to standard output (`summariser.out`).
    pub summariser_out: bool,
    pub start_ms: i64,
    /// `jmeter.save.saveservice.autoflush`: flush every file after each sample.
    pub autoflush: bool,
}

/// What the writer reports when the stream ends.
#[derive(Debug, Default)]
pub struct OutputReport {
    pub samples: u64,
    /// Top-level samples that failed (transactions included).
    pub failed_samples: u64,
    pub summary_lines: Vec<String>,
    pub label_table: String,
    /// Whole-run statistics per label, for thresholds.
    pub stats: LabelStats,
}

/// Receives samples in batches: after taking what is queued, the writer naps briefly before
/// looking again instead of parking on every sample, so that users do not pay a thread wake-up
/// (a futex call) per sample under load. When the channel is empty it parks as usual.
#[derive(Default)]
struct Batches {
    /// Samples taken since the last nap.
    taken: usize,
}

impl Batches {
    /// How long the writer naps between batches; bounds how late a row reaches its file.
    const NAP: std::time::Duration = std::time::Duration::from_millis(2);

    fn next(&mut self, rx: &mut tokio::sync::mpsc::Receiver<Sample>) -> Option<Sample> {
        use tokio::sync::mpsc::error::TryRecvError;
        match rx.try_recv() {
            Ok(sample) => {
                self.taken += 1;
                Some(sample)
            }
            Err(TryRecvError::Disconnected) => None,
            Err(TryRecvError::Empty) => {
                if self.taken > 0 {
                    self.taken = 0;
                    std::thread::sleep(Self::NAP);
                    if let Ok(sample) = rx.try_recv() {
                        self.taken += 1;
                        return Some(sample);
                    }
                }
                rx.blocking_recv()
            }
        }
    }
}

/// An output file could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {cause}")]
pub struct OutputError {
    pub path: String,
    pub cause: io::Error,
}

struct OpenFile {
    path: PathBuf,
    writer: BufWriter<File>,
    /// Needs `</testResults>` at the end.
    xml: bool,
}

/// Truncates an XML result file before its `</testResults>` and returns its new length.
fn cut_closing_tag(path: &Path) -> io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let tail_start = len.saturating_sub(256);
    file.seek(SeekFrom::Start(tail_start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    let closing = b"</testResults>";
    match tail.windows(closing.len()).rposition(|w| w == closing) {
        Some(at) => {
            // Keep the last sample's line end, drop the blank line and the closing tag.
            let kept = tail[..at]
                .iter()
                .rposition(|b| !b.is_ascii_whitespace())
                .map_or(0, |i| i + 2);
            let keep = tail_start + kept.min(at) as u64;
            file.set_len(keep)?;
            Ok(keep)
        }
        None => Ok(len),
    }
}

/// Opens every file (appending, with a header only when the file is new or empty, as JMeter).
fn open_files(files: &[FileTarget]) -> Result<(Vec<OpenFile>, Vec<usize>), OutputError> {
    let mut open: Vec<OpenFile> = Vec::new();
    let mut target_to_file = Vec::new();
    for target in files {
        let canonical = absolute(&target.path);
        if let Some(i) = open.iter().position(|f| f.path == canonical) {
            target_to_file.push(i);
            continue;
        }
        let error = |cause| OutputError {
            path: target.path.display().to_string(),
            cause,
        };
        if let Some(parent) = canonical.parent() {
            std::fs::create_dir_all(parent).map_err(error)?;
        }
        let mut existing = std::fs::metadata(&canonical).map(|m| m.len()).unwrap_or(0);
        if let (FileFormat::Xml(_), true) = (&target.format, existing > 0) {
            // JMeter appends to an XML file by cutting off its closing tag.
            existing = cut_closing_tag(&canonical).map_err(error)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&canonical)
            .map_err(error)?;
        let mut writer = BufWriter::with_capacity(256 * 1024, file);
        match &target.format {
            FileFormat::Csv(csv) if existing == 0 && csv.save.field_names => {
                writeln!(writer, "{}", csv.header()).map_err(error)?
            }
            FileFormat::Xml(_) if existing == 0 => {
                writer.write_all(xml::PROLOGUE.as_bytes()).map_err(error)?
            }
            _ => {}
        }
        target_to_file.push(open.len());
        let xml = matches!(target.format, FileFormat::Xml(_));
        open.push(OpenFile {
            path: canonical,
            writer,
            xml,
        });
    }
    Ok((open, target_to_file))
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

/// Starts the writer thread. It ends when every sender is dropped, after flushing every file.
pub fn spawn(
    config: OutputConfig,
    mut rx: mpsc::Receiver<Sample>,
    threads: Arc<ThreadCounts>,
) -> Result<std::thread::JoinHandle<Result<OutputReport, OutputError>>, OutputError> {
    let (mut open, target_to_file) = open_files(&config.files)?;
    let handle = std::thread::Builder::new()
        .name("rmeter-writer".into())
        .spawn(move || {
            let mut summariser = (!config.summariser_name.is_empty()).then(|| {
                Summariser::new(
                    &config.summariser_name,
                    config.summariser_interval_s,
                    config.start_ms,
                )
            });
            let mut stats = LabelStats::default();
            let mut report = OutputReport::default();
            let mut row = String::with_capacity(512);
            let mut failed: Option<OutputError> = None;
            let snapshot = |threads: &ThreadCounts| ThreadSnapshot {
                active: threads.active.load(Ordering::Relaxed),
                started: threads.started.load(Ordering::Relaxed),
                finished: threads.finished.load(Ordering::Relaxed),
            };
            let mut batch = Batches::default();
            while let Some(sample) = batch.next(&mut rx) {
                report.samples += 1;
                report.failed_samples += u64::from(!sample.success);
                for (target, &file_index) in config.files.iter().zip(&target_to_file) {
                    let wanted = match target.listener {
                        None => true,
                        Some(i) => sample.listeners.contains(&i),
                    };
                    if !wanted
                        || (target.errors_only && sample.success)
                        || (target.successes_only && !sample.success)
                    {
                        continue;
                    }
                    row.clear();
                    target.format.write_sample(&sample, &mut row);
                    let file = &mut open[file_index];
                    if let Err(cause) = file.writer.write_all(row.as_bytes()) {
                        failed.get_or_insert(OutputError {
                            path: file.path.display().to_string(),
                            cause,
                        });
                    }
                }
                if config.autoflush {
                    for file in &mut open {
                        if let Err(cause) = file.writer.flush() {
                            failed.get_or_insert(OutputError {
                                path: file.path.display().to_string(),
                                cause,
                            });
                        }
                    }
                }
                stats.add(&sample);
                if let Some(summariser) = summariser.as_mut() {
                    let lines =
                        summariser.add(&sample, crate::clock::epoch_millis(), snapshot(&threads));
                    print_lines(&lines, config.summariser_out);
                    report.summary_lines.extend(lines);
                }
            }
            for file in &mut open {
                let closing = if file.xml {
                    xml::EPILOGUE.as_bytes()
                } else {
                    b""
                };
                if let Err(cause) = file
                    .writer
                    .write_all(closing)
                    .and_then(|()| file.writer.flush())
                {
                    failed.get_or_insert(OutputError {
                        path: file.path.display().to_string(),
                        cause,
                    });
                }
            }
            if let Some(summariser) = summariser.as_mut() {
                let lines = summariser.finish(snapshot(&threads), crate::clock::epoch_millis());
                print_lines(&lines, config.summariser_out);
                report.summary_lines.extend(lines);
            }
            report.label_table = stats.table();
            report.stats = stats;
            match failed {
                Some(error) => Err(error),
                None => Ok(report),
            }
        })
        .map_err(|cause| OutputError {
            path: "writer thread".into(),
            cause,
        })?;
    Ok(handle)
}

fn print_lines(lines: &[String], to_stdout: bool) {
    for line in lines {
        tracing::info!(target: "jmeter.reporters.Summariser", "{line}");
        if to_stdout {
            // A closed standard output must not stop the writer: the files matter more.
            use std::io::Write as _;
            let _ = writeln!(io::stdout(), "{line}");
        }
    }
}

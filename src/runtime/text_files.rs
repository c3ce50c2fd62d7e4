//! The files that `__StringFromFile`, `__CSVRead` and `__XPath` read, shared by all users: each
//! is read once, when first asked for, and handed out a line, a row or a node at a time under a
//! lock taken only by those functions.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// A file's lines (or rows) and the next one to hand out; `None` when it could not be read.
type Shared<T> = Mutex<HashMap<String, Option<Cursor<T>>>>;

/// Items and the index of the next one to hand out.
type Cursor<T> = (Vec<T>, usize);

#[derive(Default)]
pub struct TextFiles {
    /// `__StringFromFile`, by call site and file.
    lines: Shared<String>,
    /// `__CSVRead`, by file.
    tables: Shared<Vec<String>>,
    /// `__CSVRead(file,*alias)`: alias to file.
    aliases: Mutex<HashMap<String, String>>,
    /// `__XPath`, by file and query: the selected nodes' values (`None`: JMeter's `null`).
    xpath: Mutex<HashMap<String, Cursor<Option<String>>>>,
}

/// The values of the nodes `query` selects in the XML file, read as JMeter's `__XPath` reads
/// them (a DOM that is not namespace-aware; a node gives its first child's value).
fn load_xpath(file: &str, query: &str) -> Result<Vec<Option<String>>, String> {
    use super::markup;
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let package = markup::parse_xml_unaware(&text)?;
    let doc = package.as_document();
    let prefixes = markup::root_prefixes(doc);
    match markup::evaluate(doc, query, &prefixes)? {
        markup::Found::Nodes(nodes) => Ok(nodes
            .into_iter()
            .map(|node| markup::xpath1_value(node, false))
            .collect()),
        _ => Err("the query does not select nodes".into()),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl TextFiles {
    /// The next line of `path` for call site `slot`, from the first again after the last;
    /// `None` when the file cannot be read or is empty.
    pub fn next_line(&self, slot: usize, path: &Path) -> Option<String> {
        let mut lines = lock(&self.lines);
        let entry = lines
            .entry(format!("{slot}\u{0}{}", path.display()))
            .or_insert_with(|| match std::fs::read_to_string(path) {
                Ok(text) => Some((text.lines().map(str::to_string).collect(), 0)),
                Err(e) => {
                    tracing::error!("__StringFromFile: {}: {e}", path.display());
                    None
                }
            });
        let (all, next) = entry.as_mut()?;
        if all.is_empty() {
            return None;
        }
        let line = all[*next % all.len()].clone();
        *next = (*next + 1) % all.len();
        Some(line)
    }

    /// `__XPath(file, query)`: the next node's value, one cursor per file and query for the whole
    /// run, from the first again after the last. A file that cannot be read or queried gives ""
    /// and is tried again at the next call, as in JMeter.
    pub fn next_xpath_value(&self, file: &str, query: &str) -> String {
        let mut all = lock(&self.xpath);
        let key = format!("{file}{query}");
        if !all.contains_key(&key) {
            match load_xpath(file, query) {
                Ok(values) => {
                    all.insert(key.clone(), (values, 0));
                }
                Err(e) => {
                    tracing::error!("__XPath({file}, {query}): {e}");
                    return String::new();
                }
            }
        }
        let (values, next) = all.get_mut(&key).expect("inserted above");
        if values.is_empty() {
            tracing::warn!("XPathFileContainer has no nodes: {file} {query}");
            return String::new();
        }
        let value = values[*next].clone();
        *next = (*next + 1) % values.len();
        value.unwrap_or_else(|| "null".to_string())
    }

    /// Registers `alias` for `file` (`__CSVRead(file,*alias)`).
    pub fn alias(&self, file: &str, alias: &str) {
        lock(&self.aliases).insert(alias.to_string(), file.to_string());
    }

    /// The file an alias (`*name`) or a name stands for.
    pub fn resolve(&self, name: &str) -> Option<String> {
        if name.starts_with('*') {
            return lock(&self.aliases).get(name).cloned();
        }
        Some(name.to_string())
    }

    /// The next row of `path` handed to a user (rows go round all users in turn, as JMeter's
    /// `FileRowColContainer.nextRow`); `None` when the file cannot be read or has no row.
    pub fn next_row(&self, path: &Path) -> Option<usize> {
        let mut tables = lock(&self.tables);
        let entry =
            tables.entry(path.display().to_string()).or_insert_with(
                || match std::fs::read_to_string(path) {
                    // JMeter stops at the first empty line (a place for trailing comments).
                    Ok(text) => Some((
                        text.lines()
                            .take_while(|l| !l.is_empty())
                            .map(split_row)
                            .collect(),
                        0,
                    )),
                    Err(e) => {
                        tracing::warn!("__CSVRead: {}: {e}", path.display());
                        None
                    }
                },
            );
        let (rows, next) = entry.as_mut()?;
        if rows.is_empty() {
            return None;
        }
        let row = *next;
        *next = (*next + 1) % rows.len();
        Some(row)
    }

    /// Column `column` of row `row` of `path`.
    pub fn cell(&self, path: &Path, row: usize, column: usize) -> Option<String> {
        let tables = lock(&self.tables);
        let (rows, _) = tables.get(&path.display().to_string())?.as_ref()?;
        rows.get(row)?.get(column).cloned()
    }
}

/// JMeter's `FileRowColContainer.splitLine`: commas separate columns, no quoting; empty
/// columns are kept, at either end too.
fn split_row(line: &str) -> Vec<String> {
    line.split(',').map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_and_rows_go_round() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.txt");
        std::fs::write(&path, "a,1\nb,2\n\ncomment\n").unwrap();
        let files = TextFiles::default();
        let lines: Vec<_> = (0..5).map(|_| files.next_line(0, &path).unwrap()).collect();
        assert_eq!(lines, ["a,1", "b,2", "", "comment", "a,1"]);
        // Another call site has its own place in the file.
        assert_eq!(files.next_line(1, &path).unwrap(), "a,1");
        assert_eq!(files.next_row(&path), Some(0));
        assert_eq!(files.next_row(&path), Some(1));
        assert_eq!(files.next_row(&path), Some(0));
        assert_eq!(files.cell(&path, 1, 1).as_deref(), Some("2"));
        assert_eq!(files.cell(&path, 1, 5), None);
        assert!(files.next_line(0, &dir.path().join("missing")).is_none());
        assert_eq!(split_row(",a,,b,"), ["", "a", "", "b", ""]);
    }
}

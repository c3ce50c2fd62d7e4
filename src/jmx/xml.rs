//! A small generic XML node tree read with quick-xml.
//!
//! JMX files are small enough to hold as nodes, and a tree of plain nodes lets the JMX folding in
//! `mod.rs` be simple code. The reader keeps a stack instead of recursing, caps the depth, and
//! unescapes text itself so that references XML 1.0 forbids (`&#x1;`) load as JMeter loads them,
//! while unknown entities stay literal text.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// An XML syntax error with its position.
#[derive(Debug, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct XmlError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

#[derive(Debug, Default)]
pub(super) struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    pub text: String,
    pub line: u32,
}

impl Node {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

pub(super) fn parse(src: &[u8], max_depth: usize) -> Result<Node, XmlError> {
    let mut reader = Reader::from_reader(src);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;
    let lines = LineIndex::new(src);
    let error_at = |pos: u64, message: String| {
        let (line, column) = lines.position(pos as usize);
        XmlError {
            line,
            column,
            message,
        }
    };

    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut buf = Vec::new();
    loop {
        let event_start = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| error_at(reader.error_position(), e.to_string()))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= max_depth {
                    return Err(error_at(
                        event_start,
                        format!("elements nested deeper than {max_depth}"),
                    ));
                }
                if root.is_some() && stack.is_empty() {
                    return Err(error_at(event_start, "more than one root element".into()));
                }
                let line = lines.position(event_start as usize).0;
                stack.push(start_node(&start, line).map_err(|m| error_at(event_start, m))?);
            }
            Event::End(_) => {
                let Some(node) = stack.pop() else {
                    return Err(error_at(
                        event_start,
                        "closing tag without an opening tag".into(),
                    ));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(text) => {
                if let Some(node) = stack.last_mut() {
                    let raw = String::from_utf8_lossy(text.as_ref());
                    node.text.push_str(&unescape(&raw));
                }
            }
            Event::CData(data) => {
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&String::from_utf8_lossy(data.as_ref()));
                }
            }
            Event::Empty(_) => {} // Expanded into Start and End by the reader config.
            Event::Eof => break,
            // Declarations, comments, processing instructions and DOCTYPE (never expanded).
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
    if let Some(open) = stack.last() {
        return Err(error_at(
            src.len() as u64,
            format!("unexpected end of file: `{}` is not closed", open.name),
        ));
    }
    root.ok_or_else(|| error_at(0, "the file holds no XML element".into()))
}

fn start_node(start: &BytesStart<'_>, line: u32) -> Result<Node, String> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes().with_checks(false) {
        let attr = attr.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = unescape(&String::from_utf8_lossy(&attr.value));
        attrs.push((key, value));
    }
    Ok(Node {
        name,
        attrs,
        line,
        ..Node::default()
    })
}

/// Replaces the predefined entities and character references. Invalid or unknown references are
/// kept as written, as is a reference to a code point Rust cannot hold (a surrogate).
pub(crate) fn unescape(raw: &str) -> String {
    decode_references(raw, |_| None)
}

/// Decodes `&lt; &gt; &amp; &quot; &apos;`, `&#N;`, `&#xN;` and the named references `named`
/// knows; anything else stays as written. HTML decoding (`__unescapeHtml`) shares it.
pub fn decode_references(raw: &str, named: impl Fn(&str) -> Option<char>) -> String {
    if !raw.contains('&') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';').filter(|&i| i <= 12) else {
            out.push('&');
            rest = after;
            continue;
        };
        let entity = &after[..semi];
        let replacement = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => {
                let code = if let Some(hex) = entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse::<u32>().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32).or_else(|| named(entity))
            }
        };
        match replacement {
            Some(c) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Maps byte offsets to 1-based line and column numbers.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(src: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            src.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    fn position(&self, offset: usize) -> (u32, u32) {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let column = offset - self.starts[line - 1] + 1;
        (line as u32, column as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_references() {
        assert_eq!(unescape("a&lt;b&#65;&#x42;&#x1;"), "a<bAB\u{1}");
        assert_eq!(unescape("&unknown; & &#xD800;"), "&unknown; & &#xD800;");
    }

    #[test]
    fn positions_are_one_based() {
        let index = LineIndex::new(b"ab\ncd\n");
        assert_eq!(index.position(0), (1, 1));
        assert_eq!(index.position(4), (2, 2));
    }
}

//! A namespace-aware XML reader for the XML Schema Assertion: it hands the validator each start
//! tag, end tag and run of text with the offset just after it (where Xerces reports schema
//! errors), and stops at the first well-formedness error with Xerces' message and offset. The
//! same reader loads the schema documents into a small tree.

use std::collections::HashMap;

/// The XML namespace, bound to `xml` everywhere.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// A well-formedness error: Xerces' message and the offset it reports (none for a document
/// that ends before its root element).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub offset: Option<usize>,
    pub message: String,
}

impl Fatal {
    fn at(offset: usize, message: impl Into<String>) -> Fatal {
        Fatal {
            offset: Some(offset),
            message: message.into(),
        }
    }
}

/// An attribute of a start tag, its name resolved.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub raw: String,
    pub uri: String,
    pub local: String,
    pub value: String,
}

/// What the reader hands over, in document order.
#[derive(Debug)]
pub enum Event<'a> {
    /// A start tag; `end` is the offset just after its `>` (also for `<x/>`, which is followed
    /// by its `End` at the same offset).
    Start {
        raw: &'a str,
        uri: &'a str,
        local: &'a str,
        attributes: &'a [Attribute],
        /// The prefixes in scope, for QName values such as `xsi:type`.
        scope: &'a Scope,
        end: usize,
    },
    End {
        raw: &'a str,
        end: usize,
    },
    /// Character data (entities and CDATA sections decoded) inside the root element.
    Text(&'a str),
}

/// Prefix bindings in scope (`""` is the default namespace): for each prefix, the namespaces
/// bound to it by the open elements, innermost last.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    bindings: HashMap<String, Vec<String>>,
}

impl Scope {
    pub fn resolve(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        self.bindings
            .get(prefix)
            .and_then(|stack| stack.last())
            .map(String::as_str)
    }

    fn bind(&mut self, prefix: &str, uri: String) {
        self.bindings
            .entry(prefix.to_string())
            .or_default()
            .push(uri);
    }

    fn unbind(&mut self, prefixes: &[String]) {
        for prefix in prefixes {
            if let Some(stack) = self.bindings.get_mut(prefix) {
                stack.pop();
            }
        }
    }
}

/// A start tag's attributes, whether it is empty (`<x/>`), and the prefixes it binds.
type StartTag = (Vec<Attribute>, bool, Vec<String>);

/// Reads `text`, calling `on` for each event until it returns an error, which is passed on.
/// A well-formedness error comes back as `Err(Err(fatal))`.
pub fn read<E>(
    text: &str,
    mut on: impl FnMut(Event<'_>) -> Result<(), E>,
) -> Result<(), Result<E, Fatal>> {
    let mut r = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        entities: HashMap::new(),
        expanded: 0,
        scope: Scope::default(),
    };
    r.document(&mut on)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Internal entities the DOCTYPE declares.
    entities: HashMap<String, String>,
    /// Bytes of entity text expanded so far (JAXP's accumulated size limit).
    expanded: usize,
    /// The prefixes in scope.
    scope: Scope,
}

/// JAXP's `totalEntitySizeLimit`: what the entities of a document may expand to in all.
const MAX_EXPANDED: usize = 50_000_000;

type Outcome<E> = Result<(), Result<E, Fatal>>;

fn fatal<E>(offset: usize, message: impl Into<String>) -> Result<E, Fatal> {
    Err(Fatal::at(offset, message))
}

/// The document ends inside markup.
const UNFINISHED: &str = "XML document structures must start and end within the same entity.";

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | ':') || (c as u32) >= 0xB7
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_space(&mut self) {
        while self.pos < self.bytes.len()
            && matches!(self.bytes[self.pos], b' ' | b'\t' | b'\r' | b'\n')
        {
            self.pos += 1;
        }
    }

    fn name(&mut self) -> &'a str {
        let start = self.pos;
        for c in self.rest().chars() {
            if !is_name_char(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.text[start..self.pos]
    }

    /// Comments, processing instructions and white space outside the root element; text there
    /// is an error (`prolog` before the root, the trailing section after it).
    fn misc<E>(&mut self, prolog: bool) -> Outcome<E> {
        loop {
            self.skip_space();
            let rest = self.rest();
            if rest.is_empty() {
                return Ok(());
            }
            if rest.starts_with("<!--") {
                self.comment()?;
            } else if rest.starts_with("<?") {
                self.pi()?;
            } else if prolog && rest.starts_with("<!DOCTYPE") {
                self.doctype()?;
            } else if rest.starts_with('<')
                && rest[1..].starts_with(|c: char| c.is_alphabetic() || c == '_' || c == ':')
                && prolog
            {
                return Ok(());
            } else {
                let message = if prolog {
                    "Content is not allowed in prolog."
                } else {
                    "Content is not allowed in trailing section."
                };
                return Err(fatal(self.pos, message));
            }
        }
    }

    fn comment<E>(&mut self) -> Outcome<E> {
        match self.rest()[4..].find("-->") {
            Some(end) => {
                self.pos += 4 + end + 3;
                Ok(())
            }
            None => Err(fatal(self.bytes.len(), UNFINISHED)),
        }
    }

    fn pi<E>(&mut self) -> Outcome<E> {
        match self.rest().find("?>") {
            Some(end) => {
                self.pos += end + 2;
                Ok(())
            }
            None => Err(fatal(self.bytes.len(), UNFINISHED)),
        }
    }

    /// A DOCTYPE: its internal subset's `<!ENTITY name "value">` declarations are kept.
    fn doctype<E>(&mut self) -> Outcome<E> {
        let rest = self.rest();
        let (end, subset) = match (rest.find('['), rest.find('>')) {
            (Some(open), Some(gt)) if open < gt => match rest[open..].find("]") {
                Some(close) => {
                    let after = rest[open + close..].find('>').map(|g| open + close + g);
                    (after, Some(&rest[open + 1..open + close]))
                }
                None => (None, None),
            },
            (_, gt) => (gt, None),
        };
        let Some(end) = end else {
            return Err(fatal(self.bytes.len(), UNFINISHED));
        };
        if let Some(subset) = subset {
            let mut s = subset;
            while let Some(at) = s.find("<!ENTITY") {
                s = &s[at + 8..];
                let mut parts = s.trim_start().splitn(2, char::is_whitespace);
                let name = parts.next().unwrap_or("").to_string();
                let value = parts.next().unwrap_or("").trim_start();
                if let Some(quote) = value.chars().next().filter(|q| *q == '"' || *q == '\'') {
                    if let Some(close) = value[1..].find(quote) {
                        self.entities.insert(name, value[1..1 + close].to_string());
                    }
                }
            }
        }
        self.pos += end + 1;
        Ok(())
    }

    fn document<E>(&mut self, on: &mut impl FnMut(Event<'_>) -> Result<(), E>) -> Outcome<E> {
        if self.rest().starts_with("<?xml") {
            self.pi()?;
        }
        self.misc(true)?;
        if self.pos >= self.bytes.len() {
            return Err(Err(Fatal {
                offset: None,
                message: "Premature end of file.".into(),
            }));
        }
        self.element(on)?;
        self.misc(false)
    }

    /// The root element and everything in it, without recursion (deep documents cannot
    /// exhaust the stack).
    fn element<E>(&mut self, on: &mut impl FnMut(Event<'_>) -> Result<(), E>) -> Outcome<E> {
        // The open elements and the prefixes each binds.
        let mut open: Vec<(&'a str, Vec<String>)> = Vec::new();
        let mut text = String::new();
        loop {
            if self.pos >= self.bytes.len() {
                return Err(fatal(self.bytes.len(), UNFINISHED));
            }
            let rest = self.rest();
            if !rest.starts_with('<') {
                let end = rest.find('<').unwrap_or(rest.len());
                let start = self.pos;
                self.decode(&rest[..end], start, &mut text)?;
                self.pos += end;
                continue;
            }
            if rest.starts_with("<!--") {
                self.comment()?;
                continue;
            }
            if rest.starts_with("<?") {
                self.pi()?;
                continue;
            }
            if let Some(body) = rest.strip_prefix("<![CDATA[") {
                let Some(end) = body.find("]]>") else {
                    return Err(fatal(self.bytes.len(), UNFINISHED));
                };
                text.push_str(&body[..end]);
                self.pos += 9 + end + 3;
                continue;
            }
            if !text.is_empty() {
                on(Event::Text(&text)).map_err(Ok)?;
                text.clear();
            }
            if rest.starts_with("</") {
                self.pos += 2;
                let after_slash = self.pos;
                let name = self.name();
                let Some((expected, bound)) = open.pop() else {
                    return Err(fatal(after_slash, "The markup in the document following the root element must be well-formed."));
                };
                if name != expected {
                    return Err(fatal(after_slash, format!("The element type \"{expected}\" must be terminated by the matching end-tag \"</{expected}>\".")));
                }
                self.skip_space();
                if self.bytes.get(self.pos) != Some(&b'>') {
                    return Err(fatal(self.pos + 1, format!("The end-tag for element type \"{name}\" must end with a '>' delimiter.")));
                }
                self.pos += 1;
                self.scope.unbind(&bound);
                on(Event::End {
                    raw: name,
                    end: self.pos,
                })
                .map_err(Ok)?;
                if open.is_empty() {
                    return Ok(());
                }
                continue;
            }
            let after_lt = self.pos + 1;
            if !rest[1..].starts_with(|c: char| c.is_alphabetic() || c == '_' || c == ':') {
                return Err(fatal(
                    after_lt + 1,
                    "The content of elements must consist of well-formed character data or markup.",
                ));
            }
            self.pos += 1;
            let raw = self.name();
            let (attributes, empty, bound) = self.start_tag(raw)?;
            let (prefix, local) = split(raw);
            let Some(uri) = self
                .scope
                .resolve(prefix)
                .map(str::to_string)
                .or_else(|| prefix.is_empty().then(String::new))
            else {
                return Err(fatal(
                    self.pos,
                    format!("The prefix \"{prefix}\" for element \"{raw}\" is not bound."),
                ));
            };
            let end = self.pos;
            on(Event::Start {
                raw,
                uri: &uri,
                local,
                attributes: &attributes,
                scope: &self.scope,
                end,
            })
            .map_err(Ok)?;
            if empty {
                self.scope.unbind(&bound);
                on(Event::End { raw, end }).map_err(Ok)?;
                if open.is_empty() {
                    return Ok(());
                }
            } else {
                open.push((raw, bound));
            }
        }
    }

    /// A start tag's attributes after its name, up to and including `>` or `/>`: the
    /// attributes (names resolved), whether the element is empty, and the scope it opens.
    fn start_tag<E>(&mut self, element: &str) -> Result<StartTag, Result<E, Fatal>> {
        let mut raw_attributes: Vec<(&'a str, String)> = Vec::new();
        // Xerces reports a repeated attribute once the tag has ended.
        let mut duplicate = None;
        let repeated = |name: &str, at: usize| {
            fatal(
                at,
                format!("Attribute \"{name}\" was already specified for element \"{element}\"."),
            )
        };
        loop {
            let before = self.pos;
            self.skip_space();
            match self.bytes.get(self.pos) {
                None => return Err(fatal(self.bytes.len(), UNFINISHED)),
                Some(b'>') => {
                    self.pos += 1;
                    if let Some(name) = duplicate {
                        return Err(repeated(name, self.pos));
                    }
                    break;
                }
                Some(b'/') if self.bytes.get(self.pos + 1) == Some(&b'>') => {
                    self.pos += 2;
                    if let Some(name) = duplicate {
                        return Err(repeated(name, self.pos));
                    }
                    let (attributes, bound) = self.resolve(element, raw_attributes)?;
                    return Ok((attributes, true, bound));
                }
                _ if before == self.pos => {
                    return Err(fatal(self.pos + 1, format!("Element type \"{element}\" must be followed by either attribute specifications, \">\" or \"/>\".")));
                }
                _ => {}
            }
            let name = self.name();
            if name.is_empty() {
                return Err(fatal(self.pos + 1, format!("Element type \"{element}\" must be followed by either attribute specifications, \">\" or \"/>\".")));
            }
            self.skip_space();
            if self.bytes.get(self.pos) != Some(&b'=') {
                return Err(fatal(self.pos + 1, format!("Attribute name \"{name}\" associated with an element type \"{element}\" must be followed by the ' = ' character.")));
            }
            self.pos += 1;
            self.skip_space();
            let quote = match self.bytes.get(self.pos) {
                Some(&q @ (b'"' | b'\'')) => q as char,
                _ => return Err(fatal(self.pos + 1, format!("Open quote is expected for attribute \"{name}\" associated with an  element type  \"{element}\"."))),
            };
            self.pos += 1;
            let Some(close) = self.rest().find(quote) else {
                return Err(fatal(self.bytes.len(), UNFINISHED));
            };
            let raw_value = &self.rest()[..close];
            if let Some(lt) = raw_value.find('<') {
                return Err(fatal(self.pos + lt + 1, format!("The value of attribute \"{name}\" associated with an element type \"{element}\" must not contain the '<' character.")));
            }
            let start = self.pos;
            let mut value = String::new();
            self.decode(raw_value, start, &mut value)?;
            // Attribute-value normalisation.
            let value = value.replace(['\t', '\n', '\r'], " ");
            self.pos += close + 1;
            if duplicate.is_none() && raw_attributes.iter().any(|(n, _)| *n == name) {
                duplicate = Some(name);
            }
            raw_attributes.push((name, value));
        }
        let (attributes, bound) = self.resolve(element, raw_attributes)?;
        Ok((attributes, false, bound))
    }

    /// Binds the tag's `xmlns` attributes and resolves the others' prefixes.
    fn resolve<E>(
        &mut self,
        element: &str,
        raw: Vec<(&'a str, String)>,
    ) -> Result<(Vec<Attribute>, Vec<String>), Result<E, Fatal>> {
        let mut bound = Vec::new();
        for (name, value) in &raw {
            let prefix = match name.strip_prefix("xmlns") {
                Some("") => "",
                Some(rest) => match rest.strip_prefix(':') {
                    Some(prefix) => prefix,
                    None => continue,
                },
                None => continue,
            };
            self.scope.bind(prefix, value.clone());
            bound.push(prefix.to_string());
        }
        let mut attributes = Vec::new();
        for (name, value) in raw {
            if name == "xmlns" || name.starts_with("xmlns:") {
                continue;
            }
            let (prefix, local) = split(name);
            let uri = if prefix.is_empty() {
                String::new()
            } else {
                match self.scope.resolve(prefix) {
                    Some(uri) => uri.to_string(),
                    None => {
                        return Err(fatal(self.pos, format!("The prefix \"{prefix}\" for attribute \"{name}\" associated with an element type \"{element}\" is not bound.")))
                    }
                }
            };
            attributes.push(Attribute {
                raw: name.to_string(),
                uri,
                local: local.to_string(),
                value,
            });
        }
        Ok((attributes, bound))
    }

    /// Appends `raw` with its references replaced; `at` is its offset in the document.
    fn decode<E>(&mut self, raw: &str, at: usize, out: &mut String) -> Outcome<E> {
        let mut rest = raw;
        let mut offset = at;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let after = &rest[amp + 1..];
            let name_len = after
                .find(|c: char| !(is_name_char(c) || c == '#'))
                .unwrap_or(after.len());
            let name = &after[..name_len];
            let ref_at = offset + amp;
            if name.is_empty() {
                return Err(fatal(
                    ref_at + 2,
                    "The entity name must immediately follow the '&' in the entity reference.",
                ));
            }
            if !after[name_len..].starts_with(';') {
                return Err(fatal(
                    ref_at + 1 + name_len + 1,
                    format!("The reference to entity \"{name}\" must end with the ';' delimiter."),
                ));
            }
            let end = ref_at + 1 + name_len + 1;
            match name {
                "lt" => out.push('<'),
                "gt" => out.push('>'),
                "amp" => out.push('&'),
                "apos" => out.push('\''),
                "quot" => out.push('"'),
                _ if name.starts_with('#') => {
                    let code = match name[1..].strip_prefix('x') {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => name[1..].parse().ok(),
                    };
                    match code.and_then(char::from_u32) {
                        Some(c) => out.push(c),
                        None => {
                            return Err(fatal(
                                end,
                                format!(
                                    "Character reference \"&{name}\" is an invalid XML character."
                                ),
                            ))
                        }
                    }
                }
                _ => match self.entities.get(name) {
                    Some(value) => {
                        self.expanded += value.len();
                        if self.expanded > MAX_EXPANDED {
                            return Err(fatal(end, format!("JAXP00010004: The accumulated size of entities is \"{}\" that exceeded the \"{MAX_EXPANDED}\" limit set by \"FEATURE_SECURE_PROCESSING\".", self.expanded)));
                        }
                        out.push_str(value);
                    }
                    None => {
                        return Err(fatal(
                            end,
                            format!("The entity \"{name}\" was referenced, but not declared."),
                        ))
                    }
                },
            }
            offset = end;
            rest = &after[name_len + 1..];
        }
        out.push_str(rest);
        Ok(())
    }
}

/// `prefix:local`, or `("", name)`.
pub fn split(name: &str) -> (&str, &str) {
    name.split_once(':').unwrap_or(("", name))
}

/// Xerces' position of an offset: the line (1-based; `\n`, `\r\n` and `\r` end lines) and the
/// column in UTF-16 code units, 1-based.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let mut line = 1;
    let mut line_start = 0;
    let bytes = before.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'\r' => {
                line += 1;
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                line_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let column = before[line_start..].encode_utf16().count() + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// An element of a schema document, with the offset after its start tag.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub uri: String,
    pub local: String,
    pub attributes: Vec<Attribute>,
    pub scope: Scope,
    pub children: Vec<Node>,
    pub end: usize,
}

impl Node {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.uri.is_empty() && a.local == name)
            .map(|a| a.value.as_str())
    }
}

/// How deep a schema document may nest: the compiler walks it recursively.
pub const MAX_TREE_DEPTH: usize = 256;

/// Why a document could not be read into a tree.
#[derive(Debug)]
pub enum TreeError {
    Fatal(Fatal),
    /// Nested deeper than [`MAX_TREE_DEPTH`].
    TooDeep,
}

/// Reads a whole document into a tree (for schema documents).
pub fn tree(text: &str) -> Result<Node, TreeError> {
    let mut stack: Vec<Node> = vec![Node::default()];
    let result = read::<()>(text, |event| {
        if stack.len() > MAX_TREE_DEPTH {
            return Err(());
        }
        match event {
            Event::Start {
                uri,
                local,
                attributes,
                scope,
                end,
                ..
            } => stack.push(Node {
                uri: uri.to_string(),
                local: local.to_string(),
                attributes: attributes.to_vec(),
                scope: scope.clone(),
                children: Vec::new(),
                end,
            }),
            Event::End { .. } => {
                if let Some(node) = stack.pop() {
                    if let Some(parent) = stack.last_mut() {
                        parent.children.push(node);
                    }
                }
            }
            Event::Text(_) => {}
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(stack
            .pop()
            .and_then(|mut root| root.children.pop())
            .unwrap_or_default()),
        Err(Ok(())) => Err(TreeError::TooDeep),
        Err(Err(fatal)) => Err(TreeError::Fatal(fatal)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_fatal(text: &str) -> Option<(Option<(usize, usize)>, String)> {
        match read::<()>(text, |_| Ok(())) {
            Ok(()) => None,
            Err(Ok(())) => None,
            Err(Err(f)) => Some((f.offset.map(|o| line_and_column(text, o)), f.message)),
        }
    }

    #[test]
    fn well_formedness_errors_are_xerces() {
        let cases = [
            (
                r#"<order version="1"><id>42</customer></order>"#,
                Some((1, 28)),
                "The element type \"id\" must be terminated by the matching end-tag \"</id>\".",
            ),
            (
                r#"<order version="1"><id>42</id>"#,
                Some((1, 31)),
                UNFINISHED,
            ),
            (
                "hello <order/>",
                Some((1, 1)),
                "Content is not allowed in prolog.",
            ),
            (
                r#"<order version="1" version="2"/>"#,
                Some((1, 33)),
                "Attribute \"version\" was already specified for element \"order\".",
            ),
            (
                r#"<order version="1">&foo;</order>"#,
                Some((1, 25)),
                "The entity \"foo\" was referenced, but not declared.",
            ),
            (
                r#"<p:order version="1"/>"#,
                Some((1, 23)),
                "The prefix \"p\" for element \"p:order\" is not bound.",
            ),
            (" ", None, "Premature end of file."),
            ("<?xml version=\"1.0\"?>\n", None, "Premature end of file."),
        ];
        for (text, position, message) in cases {
            assert_eq!(
                first_fatal(text),
                Some((position, message.to_string())),
                "{text}"
            );
        }
        let trailing = r#"<order version="1"><id>42</id><customer>Ann</customer><item sku="A1">x</item></order>extra"#;
        assert_eq!(
            first_fatal(trailing),
            Some((
                Some((1, 86)),
                "Content is not allowed in trailing section.".into()
            ))
        );
    }

    #[test]
    fn deep_documents_with_prefixes_are_read_and_dropped() {
        let depth = 50_000;
        let text = "<a xmlns:p=\"u\">".repeat(depth);
        // Unfinished: the reader stops with the open elements still held.
        assert!(first_fatal(&text).is_some());
        let closed = text.clone() + &"</a>".repeat(depth);
        assert_eq!(first_fatal(&closed), None);
    }

    #[test]
    fn columns_count_utf16_units() {
        assert_eq!(line_and_column("a😀b", 5), (1, 4));
        assert_eq!(line_and_column("a\r\nb\rc\nd", 8), (4, 2));
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_without_panic(text in "\\PC{0,200}") {
            let _ = read::<()>(&text, |_| Ok(()));
        }
    }
}

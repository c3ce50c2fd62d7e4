//! "Retrieve All Embedded Resources": the links JMeter's default parsers find in a response.
//!
//! HTML follows JMeter's Lagarto-based parser: the tags and attributes it reads (`img src`,
//! `script src`, stylesheet and icon `link`s, frames, `background`s, quoted `url('…')` in
//! `style` attributes...), in document order, relative to the page's URL as `<base href>` changes
//! it, each URL once per document. Comments and the raw text of `script`, `style`, `noscript`
//! and similar elements are skipped. CSS yields only its `@import`s, as JMeter's CSS parser.

use std::collections::HashSet;

/// Which parser a content type gets (JMeter's `HTTPResponse.parsers` defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    Html,
    Css,
}

/// The run's settings for embedded resources, from JMeter's properties.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Media types and their parser (`HTTPResponse.parsers`, `<parser>.className`, `<parser>.types`).
    pub parsers: Vec<(String, Parser)>,
    /// `httpsampler.ignore_failed_embedded_resources`.
    pub ignore_failed: bool,
    /// `httpsampler.max_frame_depth`: deeper documents are not parsed.
    pub max_depth: u32,
}

impl Settings {
    /// The settings, and a warning for each parser class rmeter reads with other rules.
    pub fn from_properties(props: &crate::properties::Properties) -> (Settings, Vec<String>) {
        let mut parsers = Vec::new();
        let mut warnings = Vec::new();
        let names = props
            .get("HTTPResponse.parsers")
            .unwrap_or_else(|| "htmlParser wmlParser cssParser".into());
        for name in names.split_whitespace() {
            let (default_class, default_types) = match name {
                "htmlParser" => (
                    "org.apache.jmeter.protocol.http.parser.LagartoBasedHtmlParser",
                    "text/html application/xhtml+xml application/xml text/xml",
                ),
                "wmlParser" => (
                    "org.apache.jmeter.protocol.http.parser.RegexpHTMLParser",
                    "text/vnd.wap.wml",
                ),
                "cssParser" => (
                    "org.apache.jmeter.protocol.http.parser.CssParser",
                    "text/css",
                ),
                _ => ("", ""),
            };
            let class = props
                .get(&format!("{name}.className"))
                .unwrap_or_else(|| default_class.into());
            let parser = match class.rsplit('.').next().unwrap_or("") {
                "CssParser" => Parser::Css,
                "LagartoBasedHtmlParser" | "RegexpHTMLParser" => Parser::Html,
                "" => continue,
                other => {
                    warnings.push(format!(
                        "{name}.className={class}: rmeter reads pages with the Lagarto parser's rules, not {other}'s"
                    ));
                    Parser::Html
                }
            };
            let types = props
                .get(&format!("{name}.types"))
                .unwrap_or_else(|| default_types.into());
            for media in types.split_whitespace() {
                parsers.push((media.to_ascii_lowercase(), parser));
            }
        }
        let settings = Settings {
            parsers,
            ignore_failed: props.bool("httpsampler.ignore_failed_embedded_resources", false),
            max_depth: props.int("httpsampler.max_frame_depth", 5).clamp(0, 100) as u32,
        };
        (settings, warnings)
    }

    /// The parser for a `Content-Type` value (the media type before `;`), if any.
    pub fn parser_for(&self, content_type: &str) -> Option<Parser> {
        let media = content_type
            .split([';', ' '])
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        self.parsers
            .iter()
            .find(|(m, _)| *m == media)
            .map(|(_, p)| *p)
    }
}

/// The URLs a document links to, in order, each once.
pub fn collect(parser: Parser, body: &str, base: &url::Url) -> Vec<url::Url> {
    let mut found = Links {
        base: base.clone(),
        seen: HashSet::new(),
        urls: Vec::new(),
    };
    match parser {
        Parser::Html => html(body, &mut found),
        Parser::Css => css(body, &mut found),
    }
    found.urls
}

struct Links {
    base: url::Url,
    seen: HashSet<String>,
    urls: Vec<url::Url>,
}

impl Links {
    /// JMeter's clean-up (trim, drop CR/LF/BS/FF), then resolution; other schemes are dropped.
    fn add(&mut self, raw: &str) {
        let cleaned: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, '\n' | '\r' | '\u{8}' | '\u{c}'))
            .collect();
        if cleaned.is_empty() {
            return;
        }
        let Ok(url) = self.base.join(&cleaned) else {
            return;
        };
        if !matches!(url.scheme(), "http" | "https") {
            return;
        }
        // The CSS parser keeps duplicates; the HTML parser's set drops them. CSS passes `seen`
        // through unchanged by never calling this twice for one @import anyway.
        if self.seen.insert(url.as_str().to_string()) {
            self.urls.push(url);
        }
    }
}

/// Elements whose content is raw text, not markup (Lagarto's RAWTEXT and RCDATA elements).
const RAW_TEXT: &[&str] = &[
    "script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title",
];

fn html(body: &str, found: &mut Links) {
    each_start_tag(body, |tag, attributes, _| visit(tag, attributes, found));
}

/// Calls `on_tag` with each start tag of an HTML text, in document order: its lower-cased name,
/// its attributes and the index after it. Comments, declarations and the content of raw-text
/// elements (`script`, `style`, `textarea`...) are skipped.
pub(super) fn each_start_tag(body: &str, mut on_tag: impl FnMut(&str, &Attributes, usize)) {
    let bytes = body.as_bytes();
    let mut i = 0;
    while let Some(offset) = body[i..].find('<') {
        i += offset;
        if body[i..].starts_with("<!--") {
            i = match body[i + 4..].find("-->") {
                Some(end) => i + 4 + end + 3,
                None => return,
            };
            continue;
        }
        if body[i..].starts_with("<!") || body[i..].starts_with("<?") || body[i..].starts_with("</")
        {
            i = match body[i..].find('>') {
                Some(end) => i + end + 1,
                None => return,
            };
            continue;
        }
        let Some((tag, attributes, end)) = start_tag(body, i + 1) else {
            i += 1;
            continue;
        };
        i = end;
        on_tag(&tag, &attributes, end);
        if RAW_TEXT.contains(&tag.as_str()) {
            // Skip to the matching end tag, case-insensitively.
            i = match find_end_tag(&body[i..], &tag) {
                Some(at) => i + at,
                None => return,
            };
        }
        if i >= bytes.len() {
            return;
        }
    }
}

/// Where `</tag` starts in `text`, the tag name compared without case.
pub(super) fn find_end_tag(text: &str, tag: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find("</") {
        let start = from + at;
        let name = text.as_bytes().get(start + 2..start + 2 + tag.len())?;
        if name.eq_ignore_ascii_case(tag.as_bytes()) {
            return Some(start);
        }
        from = start + 2;
    }
    None
}

/// A tag's attributes, names lower-cased, in order.
pub(super) type Attributes = Vec<(String, String)>;

/// Reads a start tag from just after its `<`: its lower-cased name, its attributes (names
/// lower-cased, values entity-decoded, the first of a repeated name kept) and the index after `>`.
fn start_tag(body: &str, from: usize) -> Option<(String, Attributes, usize)> {
    let bytes = body.as_bytes();
    let mut i = from;
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-' || bytes[i] == b':')
    {
        i += 1;
    }
    if i == from || !bytes[from].is_ascii_alphabetic() {
        return None;
    }
    let tag = body[from..i].to_ascii_lowercase();
    let mut attributes: Vec<(String, String)> = Vec::new();
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return Some((tag, attributes, i));
        }
        if bytes[i] == b'>' {
            return Some((tag, attributes, i + 1));
        }
        let name_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
        {
            i += 1;
        }
        let name = body[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                let start = i + 1;
                let end = body[start..]
                    .find(quote as char)
                    .map_or(bytes.len(), |e| start + e);
                value = decode_entities(&body[start..end]);
                i = (end + 1).min(bytes.len());
            } else {
                let start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                value = decode_entities(&body[start..i]);
            }
        }
        if name.is_empty() {
            i += 1;
            continue;
        }
        if !attributes.iter().any(|(n, _)| *n == name) {
            attributes.push((name, value));
        }
    }
}

/// The character references HTML attribute values commonly hold.
pub(super) fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // A reference ends with `;` within a few characters (never split a character here).
        let Some(end) = rest
            .char_indices()
            .take_while(|(i, _)| *i < 12)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i)
        else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// What JMeter's Lagarto visitor takes from one start tag.
fn visit(tag: &str, attributes: &[(String, String)], found: &mut Links) {
    let attr = |name: &str| {
        attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    match tag {
        "base" => {
            if let Some(href) = attr("href").filter(|h| !h.trim().is_empty()) {
                if let Ok(base) = found.base.join(href.trim()) {
                    found.base = base;
                }
            }
        }
        "img" | "script" | "frame" | "iframe" | "embed" | "bgsound" => {
            if let Some(src) = attr("src") {
                found.add(src);
            }
        }
        "input" => {
            if attr("type").is_some_and(|t| t.eq_ignore_ascii_case("image")) {
                if let Some(src) = attr("src") {
                    found.add(src);
                }
            }
        }
        "link" => {
            let rel = attr("rel").unwrap_or("");
            if ["stylesheet", "icon", "shortcut icon", "preload"]
                .iter()
                .any(|r| rel.eq_ignore_ascii_case(r))
            {
                if let Some(href) = attr("href") {
                    found.add(href);
                }
            }
        }
        "applet" => {
            let codebase = attr("codebase").unwrap_or("").trim();
            let archive = attr("archive").unwrap_or("").trim();
            let code = attr("code").unwrap_or("");
            if codebase.is_empty() {
                found.add(code);
            } else {
                let last = if archive.is_empty() { code } else { archive };
                found.add(&format!("{codebase}/{last}"));
            }
        }
        "object" => {
            for name in ["codebase", "data"] {
                if let Some(value) = attr(name) {
                    found.add(value);
                }
            }
        }
        _ => {
            if let Some(background) = attr("background") {
                found.add(background);
            }
        }
    }
    // Every tag: a quoted url('…') in its style attribute (JMeter's greedy pattern).
    if let Some(style) = attr("style").filter(|s| !s.is_empty()) {
        if let Some(url) = style_url(style) {
            found.add(&url);
        }
    }
}

/// JMeter's `URL\(\s*('|")(.*)('|")\s*\)`, case-insensitive and greedy: from the first quoted
/// `url(` to the last quote that is followed by `)`.
fn style_url(style: &str) -> Option<String> {
    let lower = style.to_ascii_lowercase();
    let mut search = 0;
    while let Some(at) = lower[search..].find("url(") {
        let open = search + at + 4;
        let after = style[open..].trim_start();
        let start = style.len() - after.len();
        if after.starts_with('"') || after.starts_with('\'') {
            let inner_start = start + 1;
            // Greedy: the last quote followed by optional spaces and `)`.
            let tail = &style[inner_start..];
            let mut best = None;
            for (i, c) in tail.char_indices() {
                if (c == '"' || c == '\'') && tail[i + 1..].trim_start().starts_with(')') {
                    best = Some(i);
                }
            }
            if let Some(end) = best {
                return Some(tail[..end].to_string());
            }
        }
        search = open;
    }
    None
}

/// `@import url("x")` and `@import "x"`, in order.
fn css(body: &str, found: &mut Links) {
    let mut rest = body;
    while let Some(at) = rest.find("@import") {
        rest = rest[at + "@import".len()..].trim_start();
        let target = if let Some(inner) = rest
            .strip_prefix("url(")
            .or_else(|| rest.strip_prefix("URL("))
        {
            let inner = inner.trim_start();
            let end = inner.find(')').unwrap_or(inner.len());
            inner[..end].trim().trim_matches(['"', '\''])
        } else if let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let inner = &rest[1..];
            &inner[..inner.find(quote).unwrap_or(inner.len())]
        } else {
            continue;
        };
        let target = target.to_string();
        // JMeter's CSS parser keeps every @import, even repeated ones.
        found.seen.clear();
        found.add(&target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(parser: Parser, body: &str) -> Vec<String> {
        let base = url::Url::parse("http://h/dir/page.html").unwrap();
        collect(parser, body, &base)
            .into_iter()
            .map(|u| u.to_string())
            .collect()
    }

    #[test]
    fn html_links_as_jmeter_collects_them() {
        let page = r#"<html><head>
<link rel="stylesheet" href="s.css"><link rel="alternate stylesheet" href="no.css">
<link rel="ICON" href="/favicon.ico"><script src='app.js'></script>
<script>var x = "<img src='not-a-tag.png'>";</script>
<!-- <img src="commented.png"> -->
</head><body background="bg.png">
<img SRC="a.png"><img src="a.png"><img src="./a.png"><img src="data:image/png;base64,xx">
<input type="image" src="btn.png"><input type="text" src="no.png">
<table><td background="cell.png"></td></table>
<div style="background: url('div.png')"></div>
<noscript><img src="noscript.png"></noscript>
<iframe src="frame.html"></iframe>
<a href="link.html">no</a><base href="/other/"><img src="after-base.png">
<img src="x.png?a=1&amp;b=2">
</body></html>"#;
        assert_eq!(
            urls(Parser::Html, page),
            [
                "http://h/dir/s.css",
                "http://h/favicon.ico",
                "http://h/dir/app.js",
                "http://h/dir/bg.png",
                "http://h/dir/a.png",
                "http://h/dir/btn.png",
                "http://h/dir/cell.png",
                "http://h/dir/div.png",
                "http://h/dir/frame.html",
                "http://h/other/after-base.png",
                "http://h/other/x.png?a=1&b=2",
            ]
        );
    }

    #[test]
    fn css_imports_only() {
        let css = r#"@import url("a.css"); @import 'b.css'; body { background: url(bg.png) }"#;
        assert_eq!(
            urls(Parser::Css, css),
            ["http://h/dir/a.css", "http://h/dir/b.css"]
        );
        let props = crate::properties::Properties::with_jmeter_defaults();
        let (settings, warnings) = Settings::from_properties(&props);
        assert!(warnings.is_empty());
        assert_eq!(
            settings.parser_for("text/css; charset=utf-8"),
            Some(Parser::Css)
        );
        assert_eq!(settings.parser_for("text/HTML"), Some(Parser::Html));
        assert_eq!(settings.parser_for("application/json"), None);
        // JMeter's batch properties parse HTML only.
        props.set("HTTPResponse.parsers", "htmlParser");
        let (settings, _) = Settings::from_properties(&props);
        assert_eq!(settings.parser_for("text/css"), None);
        props.set(
            "htmlParser.className",
            "org.apache.jmeter.protocol.http.parser.JsoupBasedHtmlParser",
        );
        assert_eq!(Settings::from_properties(&props).1.len(), 1);
    }
}

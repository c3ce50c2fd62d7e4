//! The HTML Assertion's verdict without JTidy: the errors and warnings JTidy r938 (JMeter 5.6's
//! Tidy, set up as `HTMLAssertion` sets it up) counts for a page, for the checks listed in
//! [`tidy_counts`]. Tidy's other checks (whether the content matches a legacy HTML 4 doctype,
//! form and table repairs, URI escaping) are not made, so a page that trips them counts fewer
//! warnings here; README lists them.
//!
//! The counts were taken from JTidy r938 and real JMeter on the pages of
//! `jmx-fixtures/html-assertion/`, which `tests/html_assertion.rs` checks them against.

/// Tidy's error and warning counts for a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TidyCounts {
    pub errors: u64,
    pub warnings: u64,
}

/// JTidy r938's tag table: any other element is "not recognized" (an error).
const KNOWN_TAGS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "align",
    "applet",
    "area",
    "b",
    "base",
    "basefont",
    "bdo",
    "bgsound",
    "big",
    "blink",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "comment",
    "dd",
    "del",
    "dfn",
    "dir",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "fieldset",
    "font",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "html",
    "i",
    "iframe",
    "ilayer",
    "img",
    "input",
    "ins",
    "isindex",
    "kbd",
    "keygen",
    "label",
    "layer",
    "legend",
    "li",
    "link",
    "listing",
    "map",
    "marquee",
    "menu",
    "meta",
    "multicol",
    "nobr",
    "noembed",
    "noframes",
    "nolayer",
    "nosave",
    "noscript",
    "object",
    "ol",
    "optgroup",
    "option",
    "p",
    "param",
    "plaintext",
    "pre",
    "q",
    "rb",
    "rbc",
    "rp",
    "rt",
    "rtc",
    "ruby",
    "s",
    "samp",
    "script",
    "select",
    "server",
    "servlet",
    "small",
    "spacer",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
    "xmp",
];

/// JTidy r938's attribute table: any other attribute is "unknown" (a warning).
const KNOWN_ATTRIBUTES: &[&str] = &[
    "abbr",
    "accept",
    "accept-charset",
    "accesskey",
    "action",
    "add_date",
    "align",
    "alink",
    "alt",
    "archive",
    "axis",
    "background",
    "bgcolor",
    "bgproperties",
    "border",
    "bordercolor",
    "bottommargin",
    "cellpadding",
    "cellspacing",
    "char",
    "charoff",
    "charset",
    "checked",
    "cite",
    "class",
    "classid",
    "clear",
    "code",
    "codebase",
    "codetype",
    "color",
    "cols",
    "colspan",
    "compact",
    "content",
    "coords",
    "data",
    "datafld",
    "dataformatas",
    "datapagesize",
    "datasrc",
    "datetime",
    "declare",
    "defer",
    "dir",
    "disabled",
    "enctype",
    "face",
    "for",
    "frame",
    "frameborder",
    "framespacing",
    "gridx",
    "gridy",
    "headers",
    "height",
    "href",
    "hreflang",
    "hspace",
    "http-equiv",
    "id",
    "ismap",
    "label",
    "lang",
    "language",
    "last_modified",
    "last_visit",
    "leftmargin",
    "link",
    "longdesc",
    "lowsrc",
    "marginheight",
    "marginwidth",
    "maxlength",
    "media",
    "method",
    "multiple",
    "name",
    "nohref",
    "noresize",
    "noshade",
    "nowrap",
    "object",
    "onafterupdate",
    "onbeforeunload",
    "onbeforeupdate",
    "onblur",
    "onchange",
    "onclick",
    "ondataavailable",
    "ondatasetchanged",
    "ondatasetcomplete",
    "ondblclick",
    "onerrorupdate",
    "onfocus",
    "onkeydown",
    "onkeypress",
    "onkeyup",
    "onload",
    "onmousedown",
    "onmousemove",
    "onmouseout",
    "onmouseover",
    "onmouseup",
    "onreset",
    "onrowenter",
    "onrowexit",
    "onselect",
    "onsubmit",
    "onunload",
    "profile",
    "prompt",
    "rbspan",
    "readonly",
    "rel",
    "rev",
    "rightmargin",
    "rows",
    "rowspan",
    "rules",
    "scheme",
    "scope",
    "scrolling",
    "selected",
    "shape",
    "showgrid",
    "showgridx",
    "showgridy",
    "size",
    "span",
    "src",
    "standby",
    "start",
    "style",
    "summary",
    "tabindex",
    "target",
    "text",
    "title",
    "topmargin",
    "type",
    "usemap",
    "valign",
    "value",
    "valuetype",
    "version",
    "vlink",
    "vspace",
    "width",
    "wrap",
    "xml:lang",
    "xml:space",
    "xmlns",
];

/// HTML 4's named character references.
const ENTITIES: &[&str] = &[
    "AElig", "Aacute", "Acirc", "Agrave", "Alpha", "Aring", "Atilde", "Auml", "Beta", "Ccedil",
    "Chi", "Dagger", "Delta", "ETH", "Eacute", "Ecirc", "Egrave", "Epsilon", "Eta", "Euml",
    "Gamma", "Iacute", "Icirc", "Igrave", "Iota", "Iuml", "Kappa", "Lambda", "Mu", "Ntilde", "Nu",
    "OElig", "Oacute", "Ocirc", "Ograve", "Omega", "Omicron", "Oslash", "Otilde", "Ouml", "Phi",
    "Pi", "Prime", "Psi", "Rho", "Scaron", "Sigma", "THORN", "Tau", "Theta", "Uacute", "Ucirc",
    "Ugrave", "Upsilon", "Uuml", "Xi", "Yacute", "Yuml", "Zeta", "aacute", "acirc", "acute",
    "aelig", "agrave", "alefsym", "alpha", "amp", "and", "ang", "aring", "asymp", "atilde", "auml",
    "bdquo", "beta", "brvbar", "bull", "cap", "ccedil", "cedil", "cent", "chi", "circ", "clubs",
    "cong", "copy", "crarr", "cup", "curren", "dArr", "dagger", "darr", "deg", "delta", "diams",
    "divide", "eacute", "ecirc", "egrave", "empty", "emsp", "ensp", "epsilon", "equiv", "eta",
    "eth", "euml", "euro", "exist", "fnof", "forall", "frac12", "frac14", "frac34", "frasl",
    "gamma", "ge", "gt", "hArr", "harr", "hearts", "hellip", "iacute", "icirc", "iexcl", "igrave",
    "image", "infin", "int", "iota", "iquest", "isin", "iuml", "kappa", "lArr", "lambda", "lang",
    "laquo", "larr", "lceil", "ldquo", "le", "lfloor", "lowast", "loz", "lrm", "lsaquo", "lsquo",
    "lt", "macr", "mdash", "micro", "middot", "minus", "mu", "nabla", "nbsp", "ndash", "ne", "ni",
    "not", "notin", "nsub", "ntilde", "nu", "oacute", "ocirc", "oelig", "ograve", "oline", "omega",
    "omicron", "oplus", "or", "ordf", "ordm", "oslash", "otilde", "otimes", "ouml", "para", "part",
    "permil", "perp", "phi", "pi", "piv", "plusmn", "pound", "prime", "prod", "prop", "psi",
    "quot", "rArr", "radic", "rang", "raquo", "rarr", "rceil", "rdquo", "real", "reg", "rfloor",
    "rho", "rlm", "rsaquo", "rsquo", "sbquo", "scaron", "sdot", "sect", "shy", "sigma", "sigmaf",
    "sim", "spades", "sub", "sube", "sum", "sup", "sup1", "sup2", "sup3", "supe", "szlig", "tau",
    "there4", "theta", "thetasym", "thinsp", "thorn", "tilde", "times", "trade", "uArr", "uacute",
    "uarr", "ucirc", "ugrave", "uml", "upsih", "upsilon", "uuml", "weierp", "xi", "yacute", "yen",
    "yuml", "zeta", "zwj", "zwnj",
];

/// Elements without content (JTidy's `CM_EMPTY`).
const EMPTY: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
    "isindex", "keygen", "link", "meta", "param", "spacer", "wbr",
];

/// Elements whose end tag may be left out: Tidy closes them without a word.
const OPTIONAL_END: &[&str] = &[
    "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option", "colgroup",
    "html", "head", "body",
];

/// Elements that belong in the head; any other element (or text) starts the body.
const HEAD_ONLY: &[&str] = &["title", "base", "link", "meta", "script", "style"];

/// Block elements, which close an open paragraph.
const BLOCKS: &[&str] = &[
    "address",
    "blockquote",
    "center",
    "dir",
    "div",
    "dl",
    "fieldset",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "menu",
    "noscript",
    "ol",
    "p",
    "pre",
    "table",
    "ul",
];

/// Emphasis elements: one directly inside another of its kind is "nested emphasis".
const EMPHASIS: &[&str] = &[
    "b", "i", "em", "strong", "u", "s", "strike", "big", "small", "tt", "sub",
];

/// What the page holds, token by token.
enum Token<'a> {
    Doctype(&'a str),
    Start {
        name: String,
        attributes: Vec<(String, Option<&'a str>)>,
        closed: bool,
    },
    End(String),
    Text(&'a str),
    Comment(&'a str),
}

/// The errors and warnings Tidy counts for `page`, in HTML mode (formats HTML and XHTML, which
/// count alike) or XML mode. Checks made in HTML mode:
///
/// - errors: an element Tidy does not know; `</x` inside a script or style that does not end it;
///   a script or style left open (two); a tag ended by `<`; a quote left open;
/// - warnings: a missing `<!DOCTYPE>`, or one after content; no `<title>`, or a second one; each
///   start and end tag of an unknown element; an end tag that closes nothing; an element without
///   optional end tag left open (`missing </x>`); a nested `<a>`; `<li>`, `<td>` or `<th>`
///   outside their list or table; `</p>` without a paragraph (two); text before the body; content
///   after it; head elements and a second `<html>` or `<body>` inside the body; unknown and
///   repeated attributes; the attributes Tidy requires (`alt` and `src` of `img`, `type` of
///   `script` and `style` and of a stylesheet `link`, `content` of `meta`, `action` of `form`,
///   `alt` and `href` of `area`); a bare `&`, an unknown entity, an entity without `;`; `--`
///   inside a comment; nested emphasis; an empty element not closed under an XHTML doctype.
///
/// In XML mode: an end tag that does not close the innermost element is an error, one outside
/// every element a warning; entities and comments are checked as above.
pub fn tidy_counts(page: &str, xml: bool) -> TidyCounts {
    let mut counts = TidyCounts::default();
    let tokens = tokenize(page, xml, &mut counts);
    if xml {
        xml_tree(&tokens, &mut counts);
    } else {
        html_tree(&tokens, &mut counts);
    }
    counts
}

fn tokenize<'a>(page: &'a str, xml: bool, counts: &mut TidyCounts) -> Vec<Token<'a>> {
    let bytes = page.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut text_from = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &page[i..];
        let next = bytes.get(i + 1).copied().unwrap_or(b' ');
        let tag_like = rest.starts_with("<!")
            || rest.starts_with("<?")
            || next.is_ascii_alphabetic()
            || (next == b'/' && bytes.get(i + 2).is_some_and(u8::is_ascii_alphabetic));
        if !tag_like {
            i += 1;
            continue;
        }
        if text_from < i {
            tokens.push(Token::Text(&page[text_from..i]));
        }
        if let Some(body) = rest.strip_prefix("<!--") {
            let end = body.find("-->").unwrap_or(body.len());
            tokens.push(Token::Comment(&body[..end]));
            i += 4 + (end + 3).min(body.len());
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            if rest.len() >= 9 && rest.as_bytes()[2..9].eq_ignore_ascii_case(b"doctype") {
                tokens.push(Token::Doctype(&rest[..end]));
            }
            i += end;
        } else if next == b'/' {
            let name_end = name_end(bytes, i + 2);
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            tokens.push(Token::End(fold(&page[i + 2..name_end], xml)));
            i += end;
        } else {
            let name_end = name_end(bytes, i + 1);
            let name = fold(&page[i + 1..name_end], xml);
            let (attributes, closed, after) = attributes(page, name_end, counts);
            i = after;
            let raw = !xml && !closed && (name == "script" || name == "style");
            if raw {
                i = raw_text(page, i, &name, counts);
            }
            tokens.push(Token::Start {
                name,
                attributes,
                closed,
            });
        }
        text_from = i;
    }
    if text_from < bytes.len() {
        tokens.push(Token::Text(&page[text_from..]));
    }
    tokens
}

/// Where a tag name that starts at `from` ends.
fn name_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'-' | b':' | b'_' | b'.'))
    {
        i += 1;
    }
    i
}

/// Names are lower-cased in HTML mode, kept as written in XML mode.
fn fold(name: &str, xml: bool) -> String {
    if xml {
        name.to_string()
    } else {
        name.to_ascii_lowercase()
    }
}

/// A start tag's attributes (lower-cased names, raw values).
type Attributes<'a> = Vec<(String, Option<&'a str>)>;

/// A start tag's attributes from `from`: the attributes, whether the tag ended with `/>`, and
/// where the tag ended. Entity mistakes in values are counted here.
fn attributes<'a>(
    page: &'a str,
    from: usize,
    counts: &mut TidyCounts,
) -> (Attributes<'a>, bool, usize) {
    let bytes = page.as_bytes();
    let mut list = Vec::new();
    let mut i = from;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        match bytes.get(i) {
            None => return (list, false, i),
            Some(b'>') => return (list, false, i + 1),
            Some(b'/') if bytes.get(i + 1) == Some(&b'>') => return (list, true, i + 2),
            Some(b'/') => {
                i += 1;
                continue;
            }
            // `<p class="a"<b>`: "missing '>' for end of tag"; the tag ends where the next
            // begins.
            Some(b'<') => {
                counts.errors += 1;
                return (list, false, i);
            }
            Some(_) => {}
        }
        let start = i;
        let ends_name = |i: usize| {
            bytes[i].is_ascii_whitespace()
                || matches!(bytes[i], b'=' | b'>' | b'<')
                || (bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'>'))
        };
        while i < bytes.len() && !ends_name(i) {
            i += 1;
        }
        let name = page[start..i].to_ascii_lowercase();
        let mut j = i;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        if bytes.get(j) != Some(&b'=') {
            list.push((name, None));
            continue;
        }
        j += 1;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let value = match bytes.get(j) {
            Some(&quote @ (b'"' | b'\'')) => match page[j + 1..].find(quote as char) {
                Some(end) => {
                    i = j + 1 + end + 1;
                    &page[j + 1..j + 1 + end]
                }
                None => {
                    // The page ends inside the value: "missing quotemark for attribute value"
                    // and "end of file while parsing attributes".
                    counts.errors += 1;
                    counts.warnings += 1;
                    list.push((name, Some(&page[j + 1..])));
                    return (list, false, bytes.len());
                }
            },
            _ => {
                let start = j;
                while j < bytes.len() && !bytes[j].is_ascii_whitespace() && bytes[j] != b'>' {
                    j += 1;
                }
                i = j;
                &page[start..j]
            }
        };
        check_entities(value, counts);
        list.push((name, Some(value)));
    }
}

/// Skips a script's or style's content from `from` to its end tag; returns where the end tag
/// begins. r938 counts an error for every other `</x` inside, and two for content never ended.
fn raw_text(page: &str, from: usize, name: &str, counts: &mut TidyCounts) -> usize {
    let bytes = page.as_bytes();
    let mut i = from;
    while i + 1 < bytes.len() {
        if bytes[i] == b'<' && bytes[i + 1] == b'/' {
            let end = name_end(bytes, i + 2);
            if page[i + 2..end].eq_ignore_ascii_case(name) {
                return i;
            }
            if end > i + 2 && (i == 0 || bytes[i - 1] != b'\\') {
                counts.errors += 1;
            }
        }
        i += 1;
    }
    counts.errors += 2;
    bytes.len()
}

/// Bare ampersands, unknown entities and entities without `;`: one warning each.
fn check_entities(text: &str, counts: &mut TidyCounts) {
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices('&') {
        let rest = &bytes[at + 1..];
        match rest.first() {
            Some(b'#') => {
                let digits = rest[1..]
                    .iter()
                    .take_while(|b| b.is_ascii_hexdigit() || matches!(b, b'x' | b'X'))
                    .count();
                if rest.get(1 + digits) != Some(&b';') {
                    counts.warnings += 1;
                }
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let len = rest
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric())
                    .count();
                let name = &text[at + 1..at + 1 + len];
                let known = ENTITIES.contains(&name);
                let terminated = rest.get(len) == Some(&b';');
                if !known || !terminated {
                    counts.warnings += 1;
                }
            }
            _ => counts.warnings += 1,
        }
    }
}

/// "adjacent hyphens within comment", once per `--`.
fn check_comment(body: &str, counts: &mut TidyCounts) {
    counts.warnings += body.matches("--").count() as u64;
}

/// XML mode: tags nest as written, nothing is implied.
fn xml_tree(tokens: &[Token<'_>], counts: &mut TidyCounts) {
    let mut open: Vec<&str> = Vec::new();
    for token in tokens {
        match token {
            Token::Start { name, closed, .. } => {
                if !closed {
                    open.push(name);
                }
            }
            // "unexpected </x>" outside every element; "unexpected </x> in <y>" otherwise,
            // and `y` stays open.
            Token::End(name) => match open.last() {
                None => counts.warnings += 1,
                Some(last) if last == name => {
                    open.pop();
                }
                Some(_) => counts.errors += 1,
            },
            Token::Text(text) => check_entities(text, counts),
            Token::Comment(body) => check_comment(body, counts),
            Token::Doctype(_) => {}
        }
    }
}

/// Where the HTML parse is.
#[derive(Default)]
struct Html {
    doctype_seen: bool,
    content_seen: bool,
    xhtml: bool,
    html_seen: bool,
    body_tag_seen: bool,
    in_body: bool,
    after_body: bool,
    titles: u32,
    /// Open elements, outermost first (not `html`, `head` or `body`).
    open: Vec<String>,
}

fn html_tree(tokens: &[Token<'_>], counts: &mut TidyCounts) {
    let mut h = Html::default();
    for token in tokens {
        match token {
            Token::Doctype(text) => {
                if h.content_seen {
                    // "<!DOCTYPE> isn't allowed after elements"
                    counts.warnings += 1;
                } else {
                    h.doctype_seen = true;
                    h.xhtml = text.to_ascii_uppercase().contains("XHTML");
                }
            }
            Token::Comment(body) => check_comment(body, counts),
            Token::Text(text) => {
                if h.open.last().is_some_and(|t| t == "title") {
                    check_entities(text, counts);
                    continue;
                }
                if text.chars().all(|c| c.is_ascii_whitespace()) {
                    continue;
                }
                h.content(counts);
                if !h.in_body {
                    // "plain text isn't allowed in <head> elements"
                    counts.warnings += 1;
                    h.in_body = true;
                }
                check_entities(text, counts);
            }
            Token::Start {
                name,
                attributes,
                closed,
            } => h.start(name, attributes, *closed, counts),
            Token::End(name) => h.end(name, counts),
        }
    }
    h.close_all(counts);
    if h.titles == 0 {
        // "inserting missing 'title' element"
        counts.warnings += 1;
    }
}

impl Html {
    /// Content begins: a doctype missing now is missing for good.
    fn content(&mut self, counts: &mut TidyCounts) {
        if !self.content_seen {
            self.content_seen = true;
            if !self.doctype_seen {
                // "missing <!DOCTYPE> declaration"
                counts.warnings += 1;
            }
        }
        if self.after_body {
            // "content occurs after end of body"; the body takes it.
            counts.warnings += 1;
            self.after_body = false;
        }
    }

    fn start(
        &mut self,
        name: &str,
        attributes: &[(String, Option<&str>)],
        closed: bool,
        counts: &mut TidyCounts,
    ) {
        if !KNOWN_TAGS.contains(&name) {
            // "<x> is not recognized!" and "discarding unexpected <x>".
            self.content(counts);
            counts.errors += 1;
            counts.warnings += 1;
            return;
        }
        match name {
            "html" => {
                // "discarding unexpected <html>"
                if self.html_seen || self.in_body {
                    counts.warnings += 1;
                }
                self.html_seen = true;
                check_attributes(name, attributes, counts);
                return;
            }
            "head" => {
                // "<head> isn't allowed in <body> elements"
                if self.in_body {
                    counts.warnings += 1;
                }
                return;
            }
            "body" => {
                if self.body_tag_seen || self.in_body {
                    counts.warnings += 1;
                }
                self.body_tag_seen = true;
                self.in_body = true;
                self.content(counts);
                return;
            }
            _ => {}
        }
        self.content(counts);
        check_attributes(name, attributes, counts);
        if HEAD_ONLY.contains(&name) {
            if name == "title" {
                self.titles += 1;
                // "<title> isn't allowed in <body> elements", "too many title elements"
                if self.in_body || self.titles > 1 {
                    counts.warnings += 1;
                }
            }
            if !EMPTY.contains(&name) && !closed {
                self.open.push(name.to_string());
            }
            return;
        }
        self.in_body = true;
        if EMPTY.contains(&name) {
            if self.xhtml && !closed {
                // "<br> element not empty or not closed"
                counts.warnings += 1;
            }
            return;
        }
        // Optional end tags close without a word.
        let implied_close: &[&str] = match name {
            "li" => &["li"],
            "dt" | "dd" => &["dt", "dd"],
            "tr" => &["tr", "td", "th"],
            "td" | "th" => &["td", "th"],
            "option" => &["option"],
            "thead" | "tbody" | "tfoot" => &["thead", "tbody", "tfoot", "tr", "td", "th"],
            _ if BLOCKS.contains(&name) => &["p"],
            _ => &[],
        };
        while self
            .open
            .last()
            .is_some_and(|t| implied_close.contains(&t.as_str()))
        {
            self.open.pop();
        }
        let in_list = || {
            self.open
                .iter()
                .any(|t| matches!(t.as_str(), "ul" | "ol" | "menu" | "dir"))
        };
        match name {
            "a" if self.open.iter().any(|t| t == "a") => {
                // "missing </a> before <a>": the outer link ends here.
                counts.warnings += 1;
                while let Some(t) = self.open.pop() {
                    if t == "a" {
                        break;
                    }
                }
            }
            "li" if !in_list() => {
                // "<li> isn't allowed in <body> elements", "inserting implicit <ul>".
                counts.warnings += 2;
                self.open.push("ul".into());
            }
            "td" | "th" => {
                if !self.open.iter().any(|t| t == "table") {
                    // "isn't allowed in <body>", "inserting implicit <table>", "missing <tr>".
                    counts.warnings += 3;
                    self.open.push("table".into());
                    self.open.push("tr".into());
                } else if self.open.last().is_some_and(|t| t != "tr") {
                    // "missing <tr>"
                    counts.warnings += 1;
                    self.open.push("tr".into());
                }
            }
            _ if EMPHASIS.contains(&name) && self.open.last().is_some_and(|t| t == name) => {
                // "nested emphasis <b>"
                counts.warnings += 1;
            }
            _ => {}
        }
        if !closed {
            self.open.push(name.to_string());
        }
    }

    fn end(&mut self, name: &str, counts: &mut TidyCounts) {
        if !KNOWN_TAGS.contains(&name) {
            // "discarding unexpected </x>"
            counts.warnings += 1;
            return;
        }
        match name {
            "html" | "body" => {
                self.close_all(counts);
                self.after_body = true;
                return;
            }
            "head" => {
                // "</head> isn't allowed in <body> elements"
                if self.in_body {
                    counts.warnings += 1;
                }
                return;
            }
            _ => {}
        }
        let Some(at) = self.open.iter().rposition(|t| t == name) else {
            counts.warnings += if name == "p" {
                // "replacing element </p> by <br>", "inserting implicit <br>"
                2
            } else {
                // "discarding unexpected </x>"
                1
            };
            return;
        };
        // "missing </x> before </y>" for each element it closes on the way.
        counts.warnings += self.open[at + 1..]
            .iter()
            .filter(|t| !OPTIONAL_END.contains(&t.as_str()))
            .count() as u64;
        self.open.truncate(at);
    }

    /// The body ends: every element still open without an optional end tag is missing its end
    /// ("missing </div>").
    fn close_all(&mut self, counts: &mut TidyCounts) {
        counts.warnings += self
            .open
            .iter()
            .filter(|t| !OPTIONAL_END.contains(&t.as_str()) && !HEAD_ONLY.contains(&t.as_str()))
            .count() as u64;
        self.open.clear();
    }
}

/// Unknown and repeated attributes, and the attributes Tidy requires.
fn check_attributes(tag: &str, attributes: &[(String, Option<&str>)], counts: &mut TidyCounts) {
    for (i, (name, _)) in attributes.iter().enumerate() {
        if !KNOWN_ATTRIBUTES.contains(&name.as_str()) && !name.starts_with("xmlns:") {
            // "unknown attribute "x""
            counts.warnings += 1;
        }
        if attributes[..i].iter().any(|(n, _)| n == name) {
            // "<p> dropping value "a" for repeated attribute "class""
            counts.warnings += 1;
        }
    }
    let stylesheet = attributes
        .iter()
        .any(|(a, v)| a == "rel" && v.is_some_and(|v| v.eq_ignore_ascii_case("stylesheet")));
    let required: &[&str] = match tag {
        "img" => &["src", "alt"],
        "script" | "style" => &["type"],
        "link" if stylesheet => &["type"],
        "meta" => &["content"],
        "form" => &["action"],
        "area" => &["alt", "href"],
        _ => &[],
    };
    // "<img> lacks "alt" attribute"
    counts.warnings += required
        .iter()
        .filter(|r| !attributes.iter().any(|(a, _)| a == *r))
        .count() as u64;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(page: &str) -> (u64, u64) {
        let c = tidy_counts(page, false);
        (c.errors, c.warnings)
    }

    #[test]
    fn a_clean_page_has_nothing() {
        let page = "<!DOCTYPE html><html><head><title>t</title></head><body><p>x &amp; y</p></body></html>";
        assert_eq!(html(page), (0, 0));
    }

    #[test]
    fn tables_and_lists_are_tracked() {
        let page =
            "<!DOCTYPE html><title>t</title><table><tr><td>a<td>b</table><ul><li>1<li>2</ul>";
        assert_eq!(html(page), (0, 0));
        assert_eq!(
            html("<!DOCTYPE html><title>t</title><div><span>x</div>"),
            (0, 1)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_counted_without_panic(page in "\\PC{0,200}", xml in proptest::bool::ANY) {
            let _ = tidy_counts(&page, xml);
        }

        #[test]
        fn any_tag_soup_is_counted_without_panic(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "<", ">", "</", "<p", "<a href='", "\"", "&", "&amp", ";", "<!--", "-->",
                "<script>", "</script", "<!DOCTYPE", "x", " ", "=", "/>", "<td>", "<li>",
                "</body>", "é",
            ]), 0..40),
            xml in proptest::bool::ANY,
        ) {
            let _ = tidy_counts(&parts.concat(), xml);
        }
    }
}

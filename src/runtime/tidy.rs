//! The HTML Assertion's verdict without JTidy: the errors and warnings JTidy r938 (JMeter 5.6's
//! Tidy, set up as `HTMLAssertion` sets it up) counts for a page, for the checks listed in
//! [`tidy_counts`]. Tidy's other checks (attribute values it finds invalid, newlines and
//! malformed URIs in attribute values, form and table repairs) are not made, so a page that trips
//! them counts fewer warnings here; README lists them.
//!
//! The counts were taken from JTidy r938 and real JMeter on the pages of
//! `jmx-fixtures/html-assertion/`, which `tests/html_assertion.rs` checks them against.

/// Tidy's error and warning counts for a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TidyCounts {
    pub errors: u64,
    pub warnings: u64,
}

// JTidy r938's version bits (`org.w3c.tidy.Dict`).
const H20: u16 = 1;
const H32: u16 = 2;
/// HTML 4 Strict.
const S: u16 = 4;
/// HTML 4 Transitional.
const L: u16 = 8;
/// HTML 4 Frameset.
const F: u16 = 16;
const XML: u16 = 32;
const NS: u16 = 64;
const MS: u16 = 128;
const SUN: u16 = 256;
const X11: u16 = 1024;
const BAS: u16 = 2048;
const PROP: u16 = NS | MS | SUN;
const ALL: u16 = H20 | H32 | S | L | F | X11 | BAS;

/// JTidy r938's tag table with the versions of HTML each tag belongs to: any other element is
/// "not recognized" (an error).
const TAG_VERSIONS: &[(&str, u16)] = &[
    ("html", ALL),
    ("head", ALL),
    ("title", ALL),
    ("base", ALL),
    ("link", ALL),
    ("meta", ALL),
    ("style", S | L | F),
    ("script", S | L | F),
    ("server", NS),
    ("body", ALL),
    ("frameset", F),
    ("p", ALL),
    ("h1", ALL),
    ("h2", ALL),
    ("h3", ALL),
    ("h4", ALL),
    ("h5", ALL),
    ("h6", ALL),
    ("ul", ALL),
    ("ol", ALL),
    ("dl", ALL),
    ("dir", H32 | L | F),
    ("menu", H32 | L | F),
    ("pre", ALL),
    ("listing", ALL),
    ("xmp", ALL),
    ("plaintext", ALL),
    ("address", ALL),
    ("blockquote", ALL),
    ("form", ALL),
    ("isindex", H32 | L | F),
    ("fieldset", S | L | F),
    ("table", H32 | S | L | F),
    ("hr", H20 | H32 | S | L | F | X11),
    ("div", H32 | S | L | F),
    ("multicol", NS),
    ("nosave", NS),
    ("layer", NS),
    ("ilayer", NS),
    ("nolayer", NS),
    ("align", NS),
    ("center", H32 | L | F),
    ("ins", S | L | F),
    ("del", S | L | F),
    ("li", ALL),
    ("dt", ALL),
    ("dd", ALL),
    ("caption", H32 | S | L | F),
    ("colgroup", S | L | F),
    ("col", S | L | F),
    ("thead", S | L | F),
    ("tfoot", S | L | F),
    ("tbody", S | L | F),
    ("tr", H32 | S | L | F),
    ("td", H32 | S | L | F),
    ("th", H32 | S | L | F),
    ("q", S | L | F),
    ("a", ALL),
    ("br", ALL),
    ("img", ALL),
    ("object", S | L | F),
    ("applet", H32 | L | F),
    ("servlet", SUN),
    ("param", H32 | S | L | F),
    ("embed", NS),
    ("noembed", NS),
    ("iframe", L),
    ("frame", F),
    ("noframes", L | F),
    ("noscript", S | L | F),
    ("b", H20 | H32 | S | L | F | X11),
    ("i", H20 | H32 | S | L | F | X11),
    ("u", H32 | L | F),
    ("tt", H20 | H32 | S | L | F | X11),
    ("s", H32 | L | F),
    ("strike", H32 | L | F),
    ("big", S | L | F),
    ("small", S | L | F),
    ("sub", S | L | F),
    ("sup", S | L | F),
    ("em", ALL),
    ("strong", ALL),
    ("dfn", ALL),
    ("code", ALL),
    ("samp", ALL),
    ("kbd", ALL),
    ("var", ALL),
    ("cite", ALL),
    ("abbr", S | L | F),
    ("acronym", S | L | F),
    ("span", H32 | S | L | F),
    ("blink", NS | MS | SUN),
    ("nobr", NS | MS | SUN),
    ("wbr", NS | MS | SUN),
    ("marquee", MS),
    ("bgsound", MS),
    ("comment", MS),
    ("spacer", NS),
    ("keygen", NS),
    ("map", S | L | F),
    ("area", H20 | H32 | S | L | F | X11),
    ("input", ALL),
    ("select", ALL),
    ("option", ALL),
    ("optgroup", S | L | F),
    ("textarea", ALL),
    ("label", S | L | F),
    ("legend", S | L | F),
    ("button", S | L | F),
    ("basefont", H32 | L | F),
    ("font", H32 | L | F),
    ("bdo", S | L | F),
    ("ruby", X11),
    ("rbc", X11),
    ("rtc", X11),
    ("rb", X11),
    ("rt", X11),
    ("rp", X11),
];

/// JTidy r938's attribute table with versions: any other attribute is "unknown" (a warning).
const ATTRIBUTE_VERSIONS: &[(&str, u16)] = &[
    ("abbr", S | L | F),
    ("accept-charset", S | L | F),
    ("accept", ALL),
    ("accesskey", S | L | F),
    ("action", ALL),
    ("add_date", NS),
    ("align", ALL),
    ("alink", H32 | L | F),
    ("alt", ALL),
    ("archive", S | L | F),
    ("axis", S | L | F),
    ("background", H32 | L | F),
    ("bgcolor", H32 | L | F),
    ("bgproperties", NS | MS | SUN),
    ("border", ALL),
    ("bordercolor", MS),
    ("bottommargin", MS),
    ("cellpadding", H32 | S | L | F),
    ("cellspacing", H32 | S | L | F),
    ("char", S | L | F),
    ("charoff", S | L | F),
    ("charset", S | L | F),
    ("checked", ALL),
    ("cite", S | L | F),
    ("class", S | L | F),
    ("classid", S | L | F),
    ("clear", H32 | L | F),
    ("code", H32 | L | F),
    ("codebase", S | L | F),
    ("codetype", S | L | F),
    ("color", H32 | L | F),
    ("cols", L | F),
    ("colspan", H32 | S | L | F),
    ("compact", ALL),
    ("content", ALL),
    ("coords", H32 | S | L | F),
    ("data", S | L | F),
    ("datafld", MS),
    ("dataformatas", MS),
    ("datapagesize", MS),
    ("datasrc", MS),
    ("datetime", S | L | F),
    ("declare", S | L | F),
    ("defer", S | L | F),
    ("dir", S | L | F),
    ("disabled", S | L | F),
    ("enctype", ALL),
    ("face", H32 | L | F),
    ("for", S | L | F),
    ("frame", S | L | F),
    ("frameborder", L | F),
    ("framespacing", NS | MS | SUN),
    ("gridx", NS | MS | SUN),
    ("gridy", NS | MS | SUN),
    ("headers", S | L | F),
    ("height", ALL),
    ("href", ALL),
    ("hreflang", S | L | F),
    ("hspace", ALL),
    ("http-equiv", ALL),
    ("id", S | L | F),
    ("ismap", ALL),
    ("label", S | L | F),
    ("lang", S | L | F),
    ("language", H32 | L | F),
    ("last_modified", NS),
    ("last_visit", NS),
    ("leftmargin", MS),
    ("link", H32 | L | F),
    ("longdesc", S | L | F),
    ("lowsrc", NS | MS | SUN),
    ("marginheight", L | F),
    ("marginwidth", L | F),
    ("maxlength", ALL),
    ("media", S | L | F),
    ("method", ALL),
    ("multiple", ALL),
    ("name", ALL),
    ("nohref", H32 | S | L | F),
    ("noresize", F),
    ("noshade", H32 | L | F),
    ("nowrap", H32 | L | F),
    ("object", L),
    ("onblur", S | L | F | X11),
    ("onchange", S | L | F | X11),
    ("onclick", S | L | F | X11),
    ("ondblclick", S | L | F | X11),
    ("onkeydown", S | L | F | X11),
    ("onkeypress", S | L | F | X11),
    ("onkeyup", S | L | F | X11),
    ("onload", S | L | F | X11),
    ("onmousedown", S | L | F | X11),
    ("onmousemove", S | L | F | X11),
    ("onmouseout", S | L | F | X11),
    ("onmouseover", S | L | F | X11),
    ("onmouseup", S | L | F | X11),
    ("onsubmit", S | L | F | X11),
    ("onreset", S | L | F | X11),
    ("onselect", S | L | F | X11),
    ("onunload", S | L | F | X11),
    ("onfocus", S | L | F | X11),
    ("onafterupdate", MS),
    ("onbeforeupdate", MS),
    ("onerrorupdate", MS),
    ("onrowenter", MS),
    ("onrowexit", MS),
    ("onbeforeunload", MS),
    ("ondatasetchanged", MS),
    ("ondataavailable", MS),
    ("ondatasetcomplete", MS),
    ("profile", S | L | F),
    ("prompt", H32 | L | F),
    ("readonly", S | L | F),
    ("rel", ALL),
    ("rev", ALL),
    ("rightmargin", MS),
    ("rows", ALL),
    ("rowspan", ALL),
    ("rules", S | L | F),
    ("scheme", S | L | F),
    ("scope", S | L | F),
    ("scrolling", L | F),
    ("selected", ALL),
    ("shape", H32 | S | L | F),
    ("showgrid", NS | MS | SUN),
    ("showgridx", NS | MS | SUN),
    ("showgridy", NS | MS | SUN),
    ("size", H32 | L | F),
    ("span", S | L | F),
    ("src", ALL),
    ("standby", S | L | F),
    ("start", ALL),
    ("style", S | L | F),
    ("summary", S | L | F),
    ("tabindex", S | L | F),
    ("target", S | L | F),
    ("text", H32 | L | F),
    ("title", S | L | F),
    ("topmargin", MS),
    ("type", H32 | S | L | F),
    ("usemap", ALL),
    ("valign", H32 | S | L | F),
    ("value", ALL),
    ("valuetype", S | L | F),
    ("version", ALL),
    ("vlink", H32 | L | F),
    ("vspace", H32 | L | F),
    ("width", ALL),
    ("wrap", NS),
    ("xml:lang", XML),
    ("xml:space", XML),
    ("xmlns", ALL),
    ("rbspan", X11),
];

fn tag_versions(name: &str) -> Option<u16> {
    TAG_VERSIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

fn attribute_versions(name: &str) -> Option<u16> {
    ATTRIBUTE_VERSIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

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
///   inside a comment; nested emphasis; proprietary elements, attributes and values; in XHTML
///   pages (`xmlns` on `<html>`), an empty element not closed and body elements in the head;
///   keywords of the doctype in lower case, or without `PUBLIC` (HTML format); and a legacy
///   doctype the content does not fit (`html doctype doesn't match content`), by JTidy's version
///   masks of tags and attributes and its doctype lookup, which reads HTML 4.01 Strict as XHTML
///   1.1.
///
/// In XML mode: an end tag that does not close the innermost element is an error, one outside
/// every element a warning; entities and comments are checked as above.
pub fn tidy_counts(page: &str, format: Format) -> TidyCounts {
    let mut counts = TidyCounts::default();
    let xml = format == Format::Xml;
    let tokens = tokenize(page, xml, &mut counts);
    if xml {
        xml_tree(&tokens, &mut counts);
    } else {
        html_tree(&tokens, format == Format::Xhtml, &mut counts);
    }
    counts
}

/// The HTML Assertion's format: how Tidy reads the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Xhtml,
    Xml,
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
                let known = ENTITIES.binary_search(&name).is_ok();
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
struct Html {
    /// The versions of HTML the content fits so far (JTidy's `lexer.versions`).
    versions: u16,
    /// The version the last doctype declares (0: none Tidy knows).
    declared: u16,
    /// A doctype without `PUBLIC` or `SYSTEM` after `html`.
    malformed_doctype: bool,
    frameset: bool,
    doctype_seen: bool,
    content_seen: bool,
    /// The page is XHTML (`<html xmlns="http://www.w3.org/1999/xhtml">`, JTidy's `isvoyager`).
    xhtml: bool,
    head_closed: bool,
    html_seen: bool,
    body_tag_seen: bool,
    in_body: bool,
    after_body: bool,
    titles: u32,
    /// Open elements, outermost first (not `html`, `head` or `body`).
    open: Vec<String>,
}

fn html_tree(tokens: &[Token<'_>], xhtml_format: bool, counts: &mut TidyCounts) {
    let mut h = Html {
        versions: ALL | PROP,
        declared: 0,
        malformed_doctype: false,
        frameset: false,
        doctype_seen: false,
        content_seen: false,
        xhtml: false,
        head_closed: false,
        html_seen: false,
        body_tag_seen: false,
        in_body: false,
        after_body: false,
        titles: 0,
        open: Vec::new(),
    };
    for token in tokens {
        match token {
            Token::Doctype(text) => {
                if h.content_seen {
                    // "<!DOCTYPE> isn't allowed after elements"
                    counts.warnings += 1;
                } else {
                    h.doctype_seen = true;
                }
                // Every doctype Tidy reads sets the declared version; the last one counts.
                h.declared_version(text, counts);
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
                h.enter_body();
                match h.open.last().map(String::as_str) {
                    None => h.constrain(!(S | H20)),
                    Some("blockquote" | "form" | "map" | "noscript") => h.constrain(!S),
                    _ => {}
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
    if h.content_seen || h.doctype_seen || h.titles > 0 {
        // "html doctype doesn't match content"
        if h.declared != 0 && h.versions & h.declared == 0 {
            counts.warnings += 1;
        }
        // "expected "html PUBLIC" or "html SYSTEM"" (the XHTML format writes its own doctype)
        if h.malformed_doctype && !xhtml_format {
            counts.warnings += 1;
        }
    }
}

/// The most open elements followed.
const MAX_OPEN: usize = 4096;

/// Tags Tidy counts as inline, which narrow the version when directly in the body.
const INLINE: &[&str] = &[
    "a", "abbr", "acronym", "b", "basefont", "bdo", "big", "br", "button", "cite", "code", "dfn",
    "em", "font", "i", "input", "kbd", "label", "q", "s", "samp", "select", "small", "span",
    "strike", "strong", "sub", "sup", "textarea", "tt", "u", "var",
];

impl Html {
    /// JTidy's `constrainVersion`: the proprietary bits stay.
    fn constrain(&mut self, versions: u16) {
        self.versions &= versions | PROP;
    }

    /// The body starts or goes on: without a frameset, the content is not a frameset document.
    fn enter_body(&mut self) {
        if self.frameset {
            self.constrain(F);
        } else {
            self.constrain(!F);
        }
    }

    /// JTidy's `findGivenVersion` on a doctype (with its lookup, which reads the HTML 4.01
    /// Strict identifier as XHTML 1.1), and its check of the keywords' case.
    fn declared_version(&mut self, token: &str, counts: &mut TidyCounts) {
        let inner = token.trim_start_matches("<!").trim_end_matches('>');
        let after_keyword = inner
            .find(|c: char| c.is_ascii_whitespace())
            .map_or("", |i| &inner[i..])
            .trim_start();
        // Tabs become spaces, line ends newlines, and each run of white space its first one.
        let mut text = String::with_capacity(after_keyword.len());
        let mut in_space = false;
        for c in after_keyword
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .chars()
        {
            let c = if c == '\t' { ' ' } else { c };
            if c == ' ' || c == '\n' {
                if !in_space {
                    text.push(c);
                }
                in_space = true;
            } else {
                text.push(c);
                in_space = false;
            }
        }
        self.declared = 0;
        if text.len() < 5 || !text.is_char_boundary(5) || !text[..5].eq_ignore_ascii_case("html ") {
            return;
        }
        let upper = text.to_ascii_uppercase();
        let bad_case = ["SYSTEM", "PUBLIC", "//DTD", "//W3C", "//EN"]
            .iter()
            .any(|k| {
                upper
                    .find(k)
                    .is_some_and(|at| &text[at..at + k.len()] != *k)
            });
        if bad_case {
            // "SYSTEM, PUBLIC, W3C, DTD, EN must be upper case"
            counts.warnings += 1;
        }
        let keyword = upper.get(5..12).unwrap_or("");
        if keyword == "SYSTEM " {
            return;
        }
        if keyword != "PUBLIC " {
            self.malformed_doctype = true;
        }
        let Some(quote) = text.find('"') else {
            return;
        };
        let fpi = &text[quote + 1..];
        let identifier = |prefix: &str| {
            fpi.strip_prefix(prefix)
                .map(|rest| rest.split('/').next().unwrap_or(""))
        };
        self.declared = if let Some(id) = identifier("-//W3C//DTD ") {
            match id {
                // JTidy's lookup skips its first entry, so 4.01 Strict reads as XHTML 1.1.
                "HTML 4.01" => X11,
                "HTML 4.01 Transitional" | "HTML 4.0 Transitional" => L,
                "HTML 4.01 Frameset" | "HTML 4.0 Frameset" => F,
                "HTML 4.0" => S,
                "HTML 3.2" | "HTML 3.2 Final" | "HTML 3.2 Draft" => H32,
                _ => 0,
            }
        } else if identifier("-//IETF//DTD ") == Some("HTML 4.01") {
            S
        } else {
            0
        };
    }

    /// A known start tag narrows the versions the content fits: by the tag, its known
    /// attributes, and a few of their values (JTidy's lexer and its tag and attribute checks).
    fn narrow(
        &mut self,
        tag: &str,
        attributes: &[(String, Option<&str>)],
        counts: &mut TidyCounts,
    ) {
        if let Some(v) = tag_versions(tag) {
            self.constrain(v);
        }
        let has = |name: &str| attributes.iter().any(|(a, _)| a == name);
        for (name, value) in attributes {
            let Some(v) = attribute_versions(name) else {
                continue;
            };
            if v != XML && !(name == "title" && matches!(tag, "a" | "link")) {
                self.constrain(v);
            }
            if v & PROP != 0 {
                // "<body> proprietary attribute "leftmargin""
                counts.warnings += 1;
            }
            // `name=""` has a value; a bare `name` has none.
            let present = value.is_some();
            let value = value.unwrap_or("");
            match name.as_str() {
                "target" => self.constrain(!S),
                "lang" => self.constrain(!X11),
                "name"
                    if present
                        && matches!(
                            tag,
                            "a" | "applet" | "form" | "frame" | "iframe" | "img" | "map"
                        ) =>
                {
                    self.constrain(!X11)
                }
                "valign" | "align"
                    if (name == "valign"
                        || matches!(
                            tag,
                            "img" | "input" | "object" | "applet" | "servlet" | "embed"
                        ))
                        && ["texttop", "absmiddle", "absbottom", "textbottom"]
                            .iter()
                            .any(|p| value.eq_ignore_ascii_case(p)) =>
                {
                    // "<img> proprietary attribute value "texttop""
                    counts.warnings += 1;
                    self.constrain(PROP)
                }
                _ => {}
            }
        }
        match tag {
            "table" if has("height") => {
                // "<table> proprietary attribute "height""
                counts.warnings += 1;
                self.versions &= PROP;
            }
            "caption" => {
                let align = attributes
                    .iter()
                    .find(|(a, _)| a == "align")
                    .and_then(|(_, v)| *v)
                    .unwrap_or("");
                if align.eq_ignore_ascii_case("left") || align.eq_ignore_ascii_case("right") {
                    self.constrain(L);
                } else if align.eq_ignore_ascii_case("top") || align.eq_ignore_ascii_case("bottom")
                {
                    self.constrain(!(H20 | H32));
                }
            }
            "img" if has("width") || has("height") => self.constrain(!H20),
            "td" | "th" if has("width") || has("height") => self.constrain(!S),
            _ => {}
        }
    }

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
        if tag_versions(name).is_none() {
            // "<x> is not recognized!" and "discarding unexpected <x>".
            self.content(counts);
            counts.errors += 1;
            counts.warnings += 1;
            return;
        }
        self.narrow(name, attributes, counts);
        if tag_versions(name).is_some_and(|v| v & PROP != 0) {
            // "<embed> is not approved by W3C"
            counts.warnings += 1;
        }
        match name {
            "html" => {
                let xmlns = attributes.iter().find(|(a, _)| a == "xmlns");
                if xmlns.and_then(|(_, v)| *v) == Some("http://www.w3.org/1999/xhtml") {
                    self.xhtml = true;
                }
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
            // A frameset page's alternative body.
            "body" if self.open.iter().any(|t| t == "noframes") => return,
            "body" => {
                if self.body_tag_seen || self.in_body {
                    counts.warnings += 1;
                }
                self.body_tag_seen = true;
                self.in_body = true;
                self.head_closed = true;
                self.enter_body();
                self.content(counts);
                return;
            }
            _ => {}
        }
        self.content(counts);
        check_attributes(name, attributes, counts);
        if HEAD_ONLY.contains(&name) {
            if EMPTY.contains(&name) && self.xhtml && !closed {
                // "<meta> element not empty or not closed"
                counts.warnings += 1;
            }
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
        if self.xhtml && !self.in_body && !self.head_closed {
            // XHTML only: "<div> isn't allowed in <head> elements"
            counts.warnings += 1;
        }
        self.head_closed = true;
        if name == "frameset" {
            self.frameset = true;
        } else {
            self.in_body = true;
            self.enter_body();
        }
        if self.open.is_empty() && name == "img" {
            self.constrain(!S);
        } else if self.open.is_empty() && INLINE.contains(&name) {
            self.constrain(!(S | H20));
        }
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
        // Pages nested deeper than this are not followed further (the walk over the open
        // elements would otherwise grow with the square of the page).
        if !closed && self.open.len() < MAX_OPEN {
            self.open.push(name.to_string());
        }
    }

    fn end(&mut self, name: &str, counts: &mut TidyCounts) {
        if tag_versions(name).is_none() {
            // "discarding unexpected </x>"
            counts.warnings += 1;
            return;
        }
        match name {
            "body" if self.open.iter().any(|t| t == "noframes") => return,
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
                self.head_closed = true;
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
        if attribute_versions(name).is_none() && !name.starts_with("xmlns:") {
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
        let c = tidy_counts(page, Format::Html);
        (c.errors, c.warnings)
    }

    #[test]
    fn entities_are_sorted_for_binary_search() {
        assert!(ENTITIES.windows(2).all(|w| w[0] < w[1]));
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
            let _ = tidy_counts(&page, if xml { Format::Xml } else { Format::Html });
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
            let _ = tidy_counts(&parts.concat(), if xml { Format::Xml } else { Format::Html });
        }
    }
}

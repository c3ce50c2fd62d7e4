//! XML and HTML documents for the XPath elements, the XML Assertion, `__XPath` and the CSS
//! Selector Extractor.
//!
//! XML is parsed by `sxd-document` and queried with `sxd-xpath` (XPath 1.0). JMeter's "use Tidy"
//! (tolerant) mode reads HTML with html5ever (through `scraper`) and copies the tree into the same
//! document model, lower-case names and no namespaces, as Tidy's DOM has them. Parse errors are
//! worded as Xerces words the common ones, since JMeter shows them in assertion messages.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use sxd_document::dom::{Document, Element};
use sxd_document::Package;
use sxd_xpath::nodeset::Node;
use sxd_xpath::{Context, Factory, Value, XPath};

/// Deeper documents are refused: the XPath engine walks the tree recursively, on the worker
/// thread's stack.
const MAX_DEPTH: usize = 1000;

/// Parses an XML document (namespace-aware), failing with a Xerces-style message.
pub fn parse_xml(text: &str) -> Result<Package, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let package = sxd_document::parser::parse(text)
        .map_err(|e| well_formedness_message(text, e.location()))?;
    check_depth(package.as_document())?;
    Ok(package)
}

/// Xerces' message for the first well-formedness error, from the reader of the XML Schema
/// Assertion, which words them as Xerces does; rmeter's own where that reader finds none
/// (`sxd-document` refuses a few documents Xerces accepts).
fn well_formedness_message(text: &str, at: usize) -> String {
    match super::xsd::xml::read::<()>(text, |_| Ok(())) {
        Err(Err(fatal)) => fatal.message,
        _ => format!("The markup in the document is not well-formed (at byte {at})."),
    }
}

/// Parses XML as a parser that is not namespace-aware does: a prefix nobody declares is
/// accepted (it is declared on the root here, then every name keeps its prefix text and loses
/// its namespace, see [`forget_namespaces`]).
pub fn parse_xml_unaware(text: &str) -> Result<Package, String> {
    let package = match parse_xml(text) {
        Err(message) => {
            let prefixes = undeclared_prefixes(text);
            let root = text.find('<').and_then(|start| {
                let mut at = start;
                // Skip the declaration, comments, processing instructions and DOCTYPE.
                while text[at..].starts_with("<?") || text[at..].starts_with("<!") {
                    let end = if text[at..].starts_with("<!--") {
                        "-->"
                    } else {
                        ">"
                    };
                    at += text[at..].find(end)? + end.len();
                    at += text[at..].find('<')?;
                }
                let name_len =
                    text[at + 1..].find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
                Some(at + 1 + name_len)
            });
            let (Some(root), false) = (root, prefixes.is_empty()) else {
                return Err(message);
            };
            let declarations: String = prefixes
                .iter()
                .map(|p| format!(" xmlns:{p}=\"urn:x-rmeter:undeclared:{p}\""))
                .collect();
            // The patched document's own error, if any: without the unbound prefixes.
            let patched = format!("{}{declarations}{}", &text[..root], &text[root..]);
            parse_xml(&patched)?
        }
        ok => ok?,
    };
    forget_namespaces(package.as_document());
    Ok(package)
}

/// The prefixes of element and attribute names (`<p:x`, ` p:y=`), other than `xml` and `xmlns`.
fn undeclared_prefixes(text: &str) -> Vec<&str> {
    let mut found: Vec<&str> = Vec::new();
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices(':') {
        let start = text[..i]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .map_or(0, |j| j + 1);
        let before = start.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + 1).copied();
        if start < i
            && matches!(
                before,
                Some(b'<') | Some(b'/') | Some(b' ') | Some(b'\n') | Some(b'\t')
            )
            && after.is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        {
            let prefix = &text[start..i];
            if prefix != "xml" && prefix != "xmlns" && !found.contains(&prefix) {
                found.push(prefix);
            }
        }
    }
    found
}

/// Refuses a tree deeper than [`MAX_DEPTH`], counted without recursion.
fn check_depth(doc: Document<'_>) -> Result<(), String> {
    let mut stack: Vec<(Element, usize)> = doc
        .root()
        .children()
        .into_iter()
        .filter_map(|c| c.element())
        .map(|e| (e, 1))
        .collect();
    while let Some((el, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(format!(
                "The document is nested more than {MAX_DEPTH} elements deep."
            ));
        }
        stack.extend(
            el.children()
                .into_iter()
                .filter_map(|c| c.element())
                .map(|e| (e, depth + 1)),
        );
    }
    Ok(())
}

/// Parses HTML as Tidy would repair it: html5ever's tree, element and attribute names in lower
/// case, no namespaces. A document that starts with `<?xml` and is well-formed is read as XML
/// (without namespaces too, as Tidy's DOM has none).
pub fn parse_html(text: &str) -> Result<Package, String> {
    if text.trim_start().starts_with("<?xml") {
        if let Ok(package) = parse_xml_unaware(text) {
            return Ok(package);
        }
    }
    let html = scraper::Html::parse_document(text);
    let package = Package::new();
    {
        let doc = package.as_document();
        let root_element = html.root_element();
        let top = copy_element(doc, root_element.value());
        doc.root().append_child(top);
        // Depth-first copy without recursion: nesting depth is the page's to choose.
        let mut stack = vec![(*root_element, top)];
        while let Some((node, into)) = stack.pop() {
            for child in node.children() {
                match child.value() {
                    scraper::Node::Element(el) => {
                        let copy = copy_element(doc, el);
                        into.append_child(copy);
                        stack.push((child, copy));
                    }
                    scraper::Node::Text(t) => into.append_child(doc.create_text(t)),
                    scraper::Node::Comment(c) => into.append_child(doc.create_comment(c)),
                    _ => {}
                }
            }
        }
        check_depth(doc)?;
    }
    Ok(package)
}

fn copy_element<'d>(doc: Document<'d>, el: &scraper::node::Element) -> Element<'d> {
    let copy = doc.create_element(el.name());
    for (name, value) in el.attrs() {
        // A name that is not an XML name cannot be queried; Tidy drops such attributes too.
        if is_xml_name(name) {
            copy.set_attribute_value(name, value);
        }
    }
    copy
}

fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.'))
}

/// JMeter's XPath 1 DOM is not namespace-aware unless asked: names keep their prefix text and
/// have no namespace, so `/Envelope/Body` reads `soap:Envelope/soap:Body` (Xalan takes the part
/// after the colon as the local name) and a prefixed step matches nothing.
fn forget_namespaces(doc: Document<'_>) {
    let mut stack: Vec<Element> = doc
        .root()
        .children()
        .into_iter()
        .filter_map(|c| c.element())
        .collect();
    while let Some(el) = stack.pop() {
        let local = el.name().local_part().to_string();
        el.set_name(local.as_str());
        el.set_default_namespace_uri(None);
        el.set_preferred_prefix(None);
        for attr in el.attributes() {
            if attr.name().namespace_uri().is_some() {
                let (local, value) = (
                    attr.name().local_part().to_string(),
                    attr.value().to_string(),
                );
                el.remove_attribute(attr.name());
                el.set_attribute_value(local.as_str(), &value);
            }
        }
        stack.extend(el.children().into_iter().filter_map(|c| c.element()));
    }
}

/// The prefixes the document element declares (JMeter's XPath 1 prefix resolver).
pub fn root_prefixes(doc: Document<'_>) -> Vec<(String, String)> {
    doc.root()
        .children()
        .into_iter()
        .find_map(|c| c.element())
        .map(|el| {
            el.namespaces_in_scope()
                .into_iter()
                .filter(|ns| ns.prefix() != "xml")
                .map(|ns| (ns.prefix().to_string(), ns.uri().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks that an expression is XPath 1.0; the message is the parser's.
pub fn check_xpath(expr: &str) -> Result<(), String> {
    build(expr).map(|_| ())
}

/// Compiles with `sxd-xpath`, whose tokenizer asserts on a few inputs: a panic is an error.
fn build(expr: &str) -> Result<XPath, String> {
    match std::panic::catch_unwind(|| Factory::new().build(expr)) {
        Ok(Ok(Some(x))) => Ok(x),
        Ok(Ok(None)) => Err("empty XPath expression".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the XPath cannot be parsed".into()),
    }
}

/// The namespace prefixes a query uses (`p:name`, `p:*`, `$p:v`, `p:f()`), outside literals.
fn used_prefixes(expr: &str) -> Vec<&str> {
    let bytes = expr.as_bytes();
    let is_name =
        |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' || b >= 0x80;
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\'' || b == b'"' {
            i = expr[i + 1..]
                .find(b as char)
                .map_or(bytes.len(), |end| i + end + 2);
            continue;
        }
        if is_name(b) && !b.is_ascii_digit() && b != b'-' && b != b'.' {
            let start = i;
            while i < bytes.len() && is_name(bytes[i]) {
                i += 1;
            }
            if bytes.get(i) == Some(&b':') && bytes.get(i + 1).is_some_and(|&n| n != b':') {
                found.push(&expr[start..i]);
            } else if bytes.get(i) == Some(&b':') {
                i += 2;
            }
            continue;
        }
        i += 1;
    }
    found
}

thread_local! {
    /// Compiled expressions (an `XPath` cannot cross threads), per worker thread.
    static COMPILED: RefCell<HashMap<String, Rc<XPath>>> = RefCell::new(HashMap::new());
}

fn compiled(expr: &str) -> Result<Rc<XPath>, String> {
    COMPILED.with(|cache| {
        if let Some(x) = cache.borrow().get(expr) {
            return Ok(x.clone());
        }
        let x = Rc::new(build(expr)?);
        let mut cache = cache.borrow_mut();
        if cache.len() >= 400 {
            cache.clear();
        }
        cache.insert(expr.to_string(), x.clone());
        Ok(x)
    })
}

/// An XPath result: the selected nodes in document order, or one value of another type.
pub enum Found<'d> {
    Nodes(Vec<Node<'d>>),
    Boolean(bool),
    /// A number or string, already in XPath's string form.
    Scalar(String),
}

/// Evaluates `expr` on the document with the given prefixes.
pub fn evaluate<'d>(
    doc: Document<'d>,
    expr: &str,
    prefixes: &[(String, String)],
) -> Result<Found<'d>, String> {
    let xpath = compiled(expr)?;
    // `sxd-xpath` panics on a prefix it cannot resolve; Xalan's error is this.
    if let Some(prefix) = used_prefixes(expr)
        .into_iter()
        .find(|u| !prefixes.iter().any(|(p, _)| p == u))
    {
        return Err(format!("Prefix must resolve to a namespace: {prefix}"));
    }
    let mut context = Context::new();
    for (prefix, uri) in prefixes {
        context.set_namespace(prefix, uri);
    }
    match xpath.evaluate(&context, doc.root()) {
        Ok(Value::Nodeset(nodes)) => Ok(Found::Nodes(nodes.document_order())),
        Ok(Value::Boolean(b)) => Ok(Found::Boolean(b)),
        Ok(other) => Ok(Found::Scalar(other.into_string())),
        Err(e) => Err(e.to_string()),
    }
}

/// A node's value as JMeter's XPath 1 tools read it: an element gives the value of its first
/// child (none when that child is an element or when it has no children), any other node its
/// own value; with `fragment`, an element is written out as XML.
pub fn xpath1_value(node: Node<'_>, fragment: bool) -> Option<String> {
    match node {
        Node::Element(el) if fragment => Some(serialize(el)),
        Node::Element(el) => match el.children().into_iter().next()? {
            sxd_document::dom::ChildOfElement::Text(t) => Some(t.text().to_string()),
            sxd_document::dom::ChildOfElement::Comment(c) => Some(c.text().to_string()),
            sxd_document::dom::ChildOfElement::ProcessingInstruction(pi) => {
                Some(pi.value().unwrap_or("").to_string())
            }
            sxd_document::dom::ChildOfElement::Element(_) => None,
        },
        Node::Root(_) => None,
        other => Some(other.string_value()),
    }
}

/// A node's value as XPath 2 gives it: its string value (all descendant text), or with
/// `fragment` the element written out as XML.
pub fn xpath2_value(node: Node<'_>, fragment: bool) -> String {
    match node {
        Node::Element(el) if fragment => serialize(el),
        Node::Attribute(a) if fragment => {
            format!("{}=\"{}\"", a.name().local_part(), escape(a.value(), true))
        }
        other => other.string_value(),
    }
}

/// An element as XML text: double-quoted attributes, empty elements self-closed, no
/// declaration; the element's own namespace is declared on it.
pub fn serialize(el: Element<'_>) -> String {
    let mut out = String::new();
    let mut stack = vec![Step::Open(el, true)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Close(name) => {
                out.push_str("</");
                out.push_str(&name);
                out.push('>');
            }
            Step::Text(t) => out.push_str(&t),
            Step::Open(el, top) => {
                let name = qualified(el);
                out.push('<');
                out.push_str(&name);
                if top {
                    if let Some(uri) = el.name().namespace_uri() {
                        match el.preferred_prefix() {
                            Some(p) => {
                                out.push_str(&format!(" xmlns:{p}=\"{}\"", escape(uri, true)))
                            }
                            None => out.push_str(&format!(" xmlns=\"{}\"", escape(uri, true))),
                        }
                    }
                }
                for attr in el.attributes() {
                    out.push_str(&format!(
                        " {}=\"{}\"",
                        attr.name().local_part(),
                        escape(attr.value(), true)
                    ));
                }
                let children = el.children();
                if children.is_empty() {
                    out.push_str("/>");
                    continue;
                }
                out.push('>');
                stack.push(Step::Close(name));
                for child in children.into_iter().rev() {
                    use sxd_document::dom::ChildOfElement as C;
                    stack.push(match child {
                        C::Element(e) => Step::Open(e, false),
                        C::Text(t) => Step::Text(escape(t.text(), false)),
                        C::Comment(c) => Step::Text(format!("<!--{}-->", c.text())),
                        C::ProcessingInstruction(pi) => {
                            Step::Text(format!("<?{} {}?>", pi.target(), pi.value().unwrap_or("")))
                        }
                    });
                }
            }
        }
    }
    out
}

enum Step<'d> {
    Open(Element<'d>, bool),
    Close(String),
    Text(String),
}

fn qualified(el: Element<'_>) -> String {
    match (el.name().namespace_uri(), el.preferred_prefix()) {
        (Some(_), Some(prefix)) => format!("{prefix}:{}", el.name().local_part()),
        _ => el.name().local_part().to_string(),
    }
}

fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// JMeter's XPath 2 namespace list: one `prefix=uri` per line, split at the first `=`.
pub fn parse_namespaces(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .filter_map(|line| {
            let (prefix, uri) = line.split_once('=')?;
            Some((prefix.to_string(), uri.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = "<book><preface title='Intro'>zero</preface><page>one</page><page>two</page><empty></empty><a><b></b></a></book>";

    fn values(text: &str, expr: &str, fragment: bool) -> Vec<Option<String>> {
        let package = parse_xml(text).unwrap();
        let doc = package.as_document();
        match evaluate(doc, expr, &[]).unwrap() {
            Found::Nodes(nodes) => nodes
                .into_iter()
                .map(|n| xpath1_value(n, fragment))
                .collect(),
            Found::Boolean(b) => vec![Some(b.to_string())],
            Found::Scalar(s) => vec![Some(s)],
        }
    }

    #[test]
    fn xpath1_values_follow_jmeter() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            values(BOOK, "/book/preface/@title", false),
            vec![s("Intro")]
        );
        assert_eq!(values(BOOK, "/book/page", false), vec![s("one"), s("two")]);
        assert_eq!(values(BOOK, "/book/a", false), vec![None]);
        assert_eq!(values(BOOK, "/book/empty", false), vec![None]);
        assert_eq!(
            values(BOOK, "/book/page[2]", true),
            vec![s("<page>two</page>")]
        );
        assert_eq!(values(BOOK, "//a", true), vec![s("<a><b/></a>")]);
        assert_eq!(values(BOOK, "count(//page)", false), vec![s("2")]);
        assert_eq!(values(BOOK, "count(//page) = 2", false), vec![s("true")]);
        assert_eq!(values(BOOK, "/", false), vec![None]);
    }

    #[test]
    fn xerces_messages_for_common_errors() {
        let err = |t: &str| parse_xml(t).err().unwrap();
        assert_eq!(err(""), "Premature end of file.");
        assert_eq!(
            err("Error:exception occurred"),
            "Content is not allowed in prolog."
        );
        assert_eq!(
            err("<z>"),
            "XML document structures must start and end within the same entity."
        );
        assert_eq!(
            err("<note><a></b></note>"),
            "The element type \"a\" must be terminated by the matching end-tag \"</a>\"."
        );
        assert_eq!(
            err("<a/>extra"),
            "Content is not allowed in trailing section."
        );
        assert!(parse_xml("<a/>\n  ").is_ok());
    }

    #[test]
    fn namespaces_as_jmeter_reads_them() {
        let text =
            r#"<soap:Envelope xmlns:soap="urn:s"><soap:Body><x>1</x></soap:Body></soap:Envelope>"#;
        let package = parse_xml(text).unwrap();
        let doc = package.as_document();
        let prefixes = root_prefixes(doc);
        assert_eq!(prefixes, vec![("soap".to_string(), "urn:s".to_string())]);
        let count = |expr: &str| match evaluate(doc, expr, &prefixes).unwrap() {
            Found::Nodes(n) => n.len(),
            _ => panic!(),
        };
        assert_eq!(count("//soap:Body/x"), 1);
        assert_eq!(count("/Envelope"), 0);
        forget_namespaces(doc);
        assert_eq!(count("//soap:Body/x"), 0);
        assert_eq!(count("/Envelope/Body/x"), 1);
    }

    #[test]
    fn html_is_read_as_tidy_repairs_it() {
        let package = parse_html(
            "<html><head><title>testtitle</title></head><body><p><i><b>bad nesting</i></b><hr></body></html>",
        )
        .unwrap();
        let doc = package.as_document();
        match evaluate(doc, "/html/head/title", &[]).unwrap() {
            Found::Nodes(n) => assert_eq!(xpath1_value(n[0], false).as_deref(), Some("testtitle")),
            _ => panic!(),
        }
        // Deep nesting is copied without recursion.
        let deep = "<div>".repeat(900);
        let package = parse_html(&deep).unwrap();
        assert!(matches!(
            evaluate(package.as_document(), "count(//div) > 10", &[]).unwrap(),
            Found::Boolean(true)
        ));
        // Deeper than the XPath engine's recursion can take: refused, not a crash.
        assert!(parse_html(&"<div>".repeat(3_000)).is_err());
        let deep_xml = "<a>".repeat(5_000) + &"</a>".repeat(5_000);
        assert!(parse_xml(&deep_xml).unwrap_err().contains("nested"));
    }

    #[test]
    fn prefixes_in_queries() {
        assert_eq!(
            used_prefixes("//a:b[@c:d='x:y']/child::e/f:*[g:h(.)] | $v:w"),
            vec!["a", "c", "f", "g", "v"]
        );
        assert!(used_prefixes("count(//page) > 1 and name() = \"p:q\"").is_empty());
        let package = parse_xml("<a/>").unwrap();
        assert_eq!(
            evaluate(package.as_document(), "//age:ag", &[])
                .err()
                .unwrap(),
            "Prefix must resolve to a namespace: age"
        );
    }

    proptest::proptest! {
        /// Any response text is parsed, or refused with a message, and queried without a
        /// panic; XML-looking text goes through the error scan too.
        #[test]
        fn any_response_is_handled(
            text in "(<[a-z:/!?]{0,3}[a-z ='\"]{0,6}>?|&[a-z#0-9]{0,4};?|[a-z \n]{0,5}){0,12}",
            tolerant in proptest::bool::ANY,
        ) {
            let package = if tolerant {
                parse_html(&text).ok()
            } else {
                parse_xml_unaware(&text).ok()
            };
            if let Some(package) = package {
                let doc = package.as_document();
                forget_namespaces(doc);
                if let Ok(Found::Nodes(nodes)) = evaluate(doc, "//*|//@*|//text()", &root_prefixes(doc)) {
                    for node in nodes {
                        let _ = (xpath1_value(node, true), xpath2_value(node, false));
                    }
                }
            }
        }

        #[test]
        fn any_query_text_is_scanned(query in "\\PC{0,40}") {
            let _ = used_prefixes(&query);
            let _ = check_xpath(&query);
        }
    }

    #[test]
    fn undeclared_prefixes_without_namespaces() {
        assert!(parse_xml("<ns:r><ns:v>1</ns:v></ns:r>").is_err());
        let package =
            parse_xml_unaware("<?xml version=\"1.0\"?>\n<ns:r a:b='1'><ns:v>1</ns:v></ns:r>")
                .unwrap();
        let doc = package.as_document();
        match evaluate(doc, "/r/v", &[]).unwrap() {
            Found::Nodes(n) => assert_eq!(xpath1_value(n[0], false).as_deref(), Some("1")),
            _ => panic!(),
        }
        assert_eq!(
            undeclared_prefixes("<x:a y:b='1'>t:u</x:a>"),
            vec!["x", "y"]
        );
    }

    #[test]
    fn namespace_lists() {
        assert_eq!(
            parse_namespaces("donald=duck\n     \n   \nmickey=mouse\n   \n\n"),
            vec![
                ("donald".to_string(), "duck".to_string()),
                ("mickey".to_string(), "mouse".to_string())
            ]
        );
    }
}

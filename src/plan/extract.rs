//! Post-processors that extract values from a response: Regular Expression, JSON, Boundary,
//! XPath (1 and 2), CSS Selector and JMESPath extractors, compiled (regexes, paths, selectors and
//! expressions parsed once; an invalid one is a build error).

use regex::Regex;

use super::diagnostic::DiagnosticKind;
use super::reader::Props;
use super::template::Template;

/// A compiled post-processor.
#[derive(Debug)]
pub enum PostProcessor {
    Regex(RegexExtractor),
    Json(JsonExtractor),
    Boundary(BoundaryExtractor),
    XPath(XPathExtractor),
    Css(CssExtractor),
    JmesPath(JmesPathExtractor),
    /// Debug PostProcessor: run by the user, which holds what it lists.
    Debug(super::sampler::DebugPost),
}

/// Which results an extractor reads (`Sample.scope`): the main sample, it and its sub-samples
/// (redirect hops, embedded resources; depth-first), or the sub-samples only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SampleScope {
    #[default]
    Parent,
    All,
    Children,
}

impl PostProcessor {
    pub fn scope(&self) -> SampleScope {
        match self {
            PostProcessor::Regex(r) => r.scope,
            PostProcessor::Json(j) => j.scope,
            PostProcessor::Boundary(b) => b.scope,
            PostProcessor::XPath(x) => x.scope,
            PostProcessor::Css(c) => c.scope,
            PostProcessor::JmesPath(j) => j.scope,
            PostProcessor::Debug(_) => SampleScope::Parent,
        }
    }
}

/// `Sample.scope` read as JMeter's scoped elements read it; `variable` is a [`Field`].
fn sample_scope(p: &mut Props<'_, '_>) -> SampleScope {
    match p.text("Sample.scope").trim() {
        "all" => SampleScope::All,
        "children" => SampleScope::Children,
        _ => SampleScope::Parent,
    }
}

/// Which part of the result an extractor or assertion reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Body,
    /// The body with HTML entities decoded (`unescaped`).
    BodyUnescaped,
    ResponseHeaders,
    RequestHeaders,
    Url,
    Code,
    Message,
    /// The value of a variable (`Sample.scope=variable`).
    Variable(String),
}

#[derive(Debug)]
pub struct RegexExtractor {
    pub refname: String,
    pub regex: RegexSource,
    pub template: Vec<TemplatePart>,
    pub match_number: Template,
    pub default: Template,
    pub default_empty: bool,
    pub field: Field,
    pub scope: SampleScope,
}

/// A regular expression compiled once, or built from variables at each use.
#[derive(Debug)]
pub enum RegexSource {
    Fixed(Regex),
    /// Rendered and compiled for each sample (an invalid result is logged and matches nothing).
    Dynamic(Template),
}

/// A piece of a regex extractor's template: `$1$` is group 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    Lit(String),
    Group(usize),
}

#[derive(Debug)]
pub struct JsonExtractor {
    pub items: Vec<JsonItem>,
    pub compute_concat: bool,
    pub field: Field,
    pub scope: SampleScope,
}

/// One (variable, path, match number, default) of a JSON extractor.
#[derive(Debug)]
pub struct JsonItem {
    pub refname: String,
    pub path_text: String,
    pub path: jsonpath_rust::parser::model::JpQuery,
    pub match_number: i64,
    pub default: Template,
}

#[derive(Debug)]
pub struct BoundaryExtractor {
    pub refname: String,
    pub left: Template,
    pub right: Template,
    pub match_number: Template,
    pub default: Template,
    pub default_empty: bool,
    pub field: Field,
    pub scope: SampleScope,
}

/// Builds a post-processor; None when its settings are invalid (a diagnostic says why).
pub fn post_processor(p: &mut Props<'_, '_>) -> Option<PostProcessor> {
    match p.element.testclass.as_str() {
        "RegexExtractor" => regex_extractor(p).map(PostProcessor::Regex),
        "JSONPostProcessor" => json_extractor(p).map(PostProcessor::Json),
        "XPathExtractor" => xpath_extractor(p, false).map(PostProcessor::XPath),
        "XPath2Extractor" => xpath_extractor(p, true).map(PostProcessor::XPath),
        "HtmlExtractor" => css_extractor(p).map(PostProcessor::Css),
        "JMESPathExtractor" => jmespath_extractor(p).map(PostProcessor::JmesPath),
        "DebugPostProcessor" => Some(PostProcessor::Debug(super::sampler::debug_post(p))),
        _ => boundary_extractor(p).map(PostProcessor::Boundary),
    }
}

/// `Sample.scope` and the extractor's field property, as one field.
fn field(p: &mut Props<'_, '_>, use_headers_prop: &str) -> Option<Field> {
    match p.text("Sample.scope").trim() {
        "" | "parent" | "all" | "children" => {}
        "variable" => return Some(Field::Variable(p.text("Scope.variable").trim().to_string())),
        other => {
            p.error(DiagnosticKind::BadValue {
                prop: "Sample.scope".into(),
                expected: "parent, all, children or variable",
                value: other.to_string(),
            });
            return None;
        }
    }
    let field = match p.text(use_headers_prop).trim() {
        // JMeter reads any value it does not know as the body; Taurus writes `body`.
        "" | "false" | "body" => Field::Body,
        "true" => Field::ResponseHeaders,
        "request_headers" => Field::RequestHeaders,
        "unescaped" => Field::BodyUnescaped,
        "URL" => Field::Url,
        "code" => Field::Code,
        "message" => Field::Message,
        other => {
            p.unsupported_option(
                use_headers_prop,
                &format!("field `{other}` is not supported yet"),
            );
            return None;
        }
    };
    Some(field)
}

fn regex_extractor(p: &mut Props<'_, '_>) -> Option<RegexExtractor> {
    let source = p.text("RegexExtractor.regex").to_string();
    let regex = if source.contains("${") {
        RegexSource::Dynamic(p.template("RegexExtractor.regex"))
    } else {
        match Regex::new(&source) {
            Ok(regex) => RegexSource::Fixed(regex),
            Err(e) => {
                p.error(DiagnosticKind::BadRegex {
                    prop: "RegexExtractor.regex".into(),
                    message: first_line(&e.to_string()),
                });
                return None;
            }
        }
    };
    // JMeter: an empty template gives an empty value.
    let template_text = p.text("RegexExtractor.template").to_string();
    let field = field(p, "RegexExtractor.useHeaders")?;
    Some(RegexExtractor {
        refname: p.text("RegexExtractor.refname").trim().to_string(),
        template: parse_group_template(&template_text),
        match_number: p.template("RegexExtractor.match_number"),
        default: p.template("RegexExtractor.default"),
        default_empty: p.bool("RegexExtractor.default_empty_value", false),
        regex,
        field,
        scope: sample_scope(p),
    })
}

fn json_extractor(p: &mut Props<'_, '_>) -> Option<JsonExtractor> {
    let split = |s: &str| -> Vec<String> { s.split(';').map(str::to_string).collect() };
    let names = split(p.text("JSONPostProcessor.referenceNames"));
    let paths = split(p.text("JSONPostProcessor.jsonPathExprs"));
    let numbers = split(p.text("JSONPostProcessor.match_numbers"));
    let defaults = split(p.text("JSONPostProcessor.defaultValues"));
    if names.len() != paths.len() {
        p.error(DiagnosticKind::Other(format!(
            "the JSON extractor has {} variable names but {} JSON paths",
            names.len(),
            paths.len()
        )));
        return None;
    }
    let mut items = Vec::new();
    for (i, (name, path_text)) in names.iter().zip(&paths).enumerate() {
        let path_text = path_text.trim().to_string();
        let path = match compile_json_path(&path_text) {
            Ok(path) => path,
            Err(message) => {
                p.error(DiagnosticKind::BadJsonPath {
                    prop: "JSONPostProcessor.jsonPathExprs".into(),
                    message,
                });
                return None;
            }
        };
        let number_text = numbers.get(i).map(|s| s.trim()).unwrap_or("");
        let match_number = if number_text.is_empty() {
            0
        } else if let Ok(n) = number_text.parse::<i64>() {
            n
        } else {
            p.error(DiagnosticKind::BadValue {
                prop: "JSONPostProcessor.match_numbers".into(),
                expected: "integers separated by ;",
                value: number_text.to_string(),
            });
            return None;
        };
        let default_text = defaults.get(i).cloned().unwrap_or_default();
        items.push(JsonItem {
            refname: name.trim().to_string(),
            path_text,
            path,
            match_number,
            default: p.builder.template(&p.path.clone(), &default_text),
        });
    }
    let compute_concat = p.bool("JSONPostProcessor.compute_concat", false);
    let field = body_or_variable(p, "Sample.scope")?;
    Some(JsonExtractor {
        items,
        compute_concat,
        field,
        scope: sample_scope(p),
    })
}

/// The field of an element that reads the body or, with scope `variable`, a variable.
pub fn body_or_variable(p: &mut Props<'_, '_>, scope_prop: &str) -> Option<Field> {
    match p.text(scope_prop).trim() {
        "variable" => Some(Field::Variable(p.text("Scope.variable").trim().to_string())),
        "" | "parent" | "all" | "children" => Some(Field::Body),
        other => {
            p.error(DiagnosticKind::BadValue {
                prop: scope_prop.into(),
                expected: "parent, all, children or variable",
                value: other.to_string(),
            });
            None
        }
    }
}

/// XPath Extractor (XPath 1, `XPathExtractor.*`) or XPath2 Extractor (`XPathExtractor2.*`).
#[derive(Debug)]
pub struct XPathExtractor {
    /// The element's name, for the assertion result that reports an error.
    pub name: String,
    pub refname: String,
    pub query: String,
    pub default: Template,
    /// Rendered per sample; `None` is the property's absence (XPath 1: all matches).
    pub match_number: Option<Template>,
    pub fragment: bool,
    pub xpath2: bool,
    /// XPath 1: Tidy's HTML reading.
    pub tolerant: bool,
    /// XPath 1: a namespace-aware document.
    pub namespace: bool,
    /// XPath 2: the declared prefixes.
    pub namespaces: Vec<(String, String)>,
    pub field: Field,
    pub scope: SampleScope,
}

fn xpath_extractor(p: &mut Props<'_, '_>, xpath2: bool) -> Option<XPathExtractor> {
    let prefix = if xpath2 {
        "XPathExtractor2"
    } else {
        "XPathExtractor"
    };
    let prop = |name: &str| format!("{prefix}.{name}");
    let query = p.text(&prop("xpathQuery")).to_string();
    check_xpath_query(p, &prop("xpathQuery"), &query, xpath2)?;
    let (tolerant, namespace) = if xpath2 {
        (false, true)
    } else {
        xpath1_parsing_options(p, "XPathExtractor")?
    };
    let match_number = p
        .has(&prop("matchNumber"))
        .then(|| p.template(&prop("matchNumber")));
    Some(XPathExtractor {
        name: p.element.name.clone(),
        refname: p.text(&prop("refname")).trim().to_string(),
        default: p.template(&prop("default")),
        match_number,
        fragment: p.bool(&prop("fragment"), false),
        xpath2,
        tolerant,
        namespace,
        namespaces: crate::runtime::markup::parse_namespaces(p.text(&prop("namespaces"))),
        field: body_or_variable(p, "Sample.scope")?,
        scope: sample_scope(p),
        query,
    })
}

/// An XPath that `sxd-xpath` compiles. XPath 2 queries run on the XPath 1 engine, which reads
/// the XPath 1 subset of the language; a query beyond it is refused here.
pub fn check_xpath_query(
    p: &mut Props<'_, '_>,
    prop: &str,
    query: &str,
    xpath2: bool,
) -> Option<()> {
    if query.contains("${") {
        p.unsupported_option(prop, "an XPath built from variables is not supported yet");
        return None;
    }
    if query.trim().is_empty() && xpath2 {
        return Some(());
    }
    match crate::runtime::markup::check_xpath(query) {
        Ok(()) => Some(()),
        Err(message) if xpath2 => {
            p.unsupported_option(
                prop,
                &format!("rmeter evaluates XPath 2 queries with an XPath 1.0 engine, which cannot read `{query}`: {message}"),
            );
            None
        }
        Err(message) => {
            p.error(DiagnosticKind::BadValue {
                prop: prop.into(),
                expected: "an XPath 1.0 expression",
                value: format!("{query} ({message})"),
            });
            None
        }
    }
}

/// The XPath 1 document options (`<prefix>.tolerant`, `.namespace`...) that rmeter honours;
/// the Tidy report and DTD download options that it cannot honour are refused when set.
pub fn xpath1_parsing_options(p: &mut Props<'_, '_>, prefix: &str) -> Option<(bool, bool)> {
    let tolerant = p.bool(&format!("{prefix}.tolerant"), false);
    let namespace = p.bool(&format!("{prefix}.namespace"), false);
    if tolerant && p.bool(&format!("{prefix}.report_errors"), false) {
        p.unsupported_option(
            &format!("{prefix}.report_errors"),
            "Tidy's error counts are not reproduced (rmeter repairs HTML with html5ever)",
        );
        return None;
    }
    if !tolerant && p.bool(&format!("{prefix}.download_dtds"), false) {
        p.unsupported_option(
            &format!("{prefix}.download_dtds"),
            "external DTDs are never read",
        );
        return None;
    }
    Some((tolerant, namespace))
}

/// CSS Selector Extractor (`HtmlExtractor`), JSoup or Jodd flavour.
#[derive(Debug)]
pub struct CssExtractor {
    pub refname: String,
    pub selector: scraper::Selector,
    /// Blank: the element's text.
    pub attribute: String,
    pub default: Template,
    pub default_empty: bool,
    pub match_number: Template,
    /// Jodd: raw text and no value for a missing attribute (JSoup: normalised text, "").
    pub jodd: bool,
    pub field: Field,
    pub scope: SampleScope,
}

/// JSoup selector extensions that CSS (and the `selectors` crate) does not have.
const JSOUP_PSEUDO: &[&str] = &[
    ":contains(",
    ":containsOwn(",
    ":containsData(",
    ":containsWholeText(",
    ":matches(",
    ":matchesOwn(",
    ":matchText",
    ":eq(",
    ":lt(",
    ":gt(",
];

fn css_extractor(p: &mut Props<'_, '_>) -> Option<CssExtractor> {
    let expr = p.text("HtmlExtractor.expr").to_string();
    if expr.contains("${") {
        p.unsupported_option(
            "HtmlExtractor.expr",
            "a selector built from variables is not supported yet",
        );
        return None;
    }
    let selector = match scraper::Selector::parse(&expr) {
        Ok(selector) => selector,
        Err(_) if JSOUP_PSEUDO.iter().any(|p| expr.contains(p)) => {
            p.unsupported_option(
                "HtmlExtractor.expr",
                &format!("JSoup's own pseudo-selectors are not supported yet: {expr}"),
            );
            return None;
        }
        Err(e) => {
            p.error(DiagnosticKind::BadValue {
                prop: "HtmlExtractor.expr".into(),
                expected: "a CSS selector",
                value: format!("{expr} ({e})"),
            });
            return None;
        }
    };
    let jodd = match p.text("HtmlExtractor.extractor_impl").trim() {
        "" | "JSOUP" => false,
        "JODD" => true,
        other => {
            p.error(DiagnosticKind::BadValue {
                prop: "HtmlExtractor.extractor_impl".into(),
                expected: "JSOUP or JODD",
                value: other.to_string(),
            });
            return None;
        }
    };
    Some(CssExtractor {
        refname: p.text("HtmlExtractor.refname").trim().to_string(),
        selector,
        attribute: p.text("HtmlExtractor.attribute").trim().to_string(),
        default: p.template("HtmlExtractor.default"),
        default_empty: p.bool("HtmlExtractor.default_empty_value", false),
        match_number: p.template("HtmlExtractor.match_number"),
        jodd,
        field: body_or_variable(p, "Sample.scope")?,
        scope: sample_scope(p),
    })
}

/// JMESPath Extractor.
#[derive(Debug)]
pub struct JmesPathExtractor {
    pub refname: String,
    pub expr: jmespath::Expression<'static>,
    pub default: Template,
    pub match_number: Template,
    pub field: Field,
    pub scope: SampleScope,
}

/// Compiles a JMESPath expression; the message is the parser's first line.
pub fn compile_jmespath(
    p: &mut Props<'_, '_>,
    prop: &str,
) -> Option<jmespath::Expression<'static>> {
    let text = p.text(prop).trim().to_string();
    if text.contains("${") {
        p.unsupported_option(
            prop,
            "an expression built from variables is not supported yet",
        );
        return None;
    }
    match jmespath::compile(&text) {
        Ok(expr) => Some(expr),
        Err(e) => {
            p.error(DiagnosticKind::BadValue {
                prop: prop.into(),
                expected: "a JMESPath expression",
                value: format!("{text} ({})", first_line(&e.to_string())),
            });
            None
        }
    }
}

fn jmespath_extractor(p: &mut Props<'_, '_>) -> Option<JmesPathExtractor> {
    Some(JmesPathExtractor {
        expr: compile_jmespath(p, "JMESExtractor.jmesPathExpr")?,
        refname: p.text("JMESExtractor.referenceName").trim().to_string(),
        default: p.template("JMESExtractor.defaultValue"),
        match_number: p.template("JMESExtractor.matchNumber"),
        field: body_or_variable(p, "Sample.scope")?,
        scope: sample_scope(p),
    })
}

/// Compiles a JSON path as Jayway accepts it: a path without `$` is relative to the root.
pub fn compile_json_path(text: &str) -> Result<jsonpath_rust::parser::model::JpQuery, String> {
    let normalized = if text.starts_with('$') {
        text.to_string()
    } else if text.starts_with('[') {
        format!("${text}")
    } else {
        format!("$.{text}")
    };
    let normalized = dot_before_bracket(&normalized);
    jsonpath_rust::parser::parse_json_path(&normalized).map_err(|e| first_line(&e.to_string()))
}

/// Jayway reads `$.a.[0]` and `$.a.[?(...)]` as `$.a[0]` and `$.a[?(...)]`; RFC 9535 has no
/// `.[`, so the dot goes (outside quoted strings, and never from a `..` deep scan).
fn dot_before_bracket(path: &str) -> String {
    let chars: Vec<char> = path.chars().collect();
    let mut out = String::with_capacity(path.len());
    let mut quote = None;
    for (i, &c) in chars.iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '.'
                && chars.get(i + 1) == Some(&'[')
                && (i == 0 || chars[i - 1] != '.') =>
            {
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

fn boundary_extractor(p: &mut Props<'_, '_>) -> Option<BoundaryExtractor> {
    let field = field(p, "BoundaryExtractor.useHeaders")?;
    Some(BoundaryExtractor {
        refname: p.text("BoundaryExtractor.refname").trim().to_string(),
        left: p.template("BoundaryExtractor.lboundary"),
        right: p.template("BoundaryExtractor.rboundary"),
        match_number: p.template("BoundaryExtractor.match_number"),
        default: p.template("BoundaryExtractor.default"),
        default_empty: p.bool("BoundaryExtractor.default_empty_value", false),
        field,
        scope: sample_scope(p),
    })
}

/// Splits `id=$1$&x=$2$` into literals and group references.
pub fn parse_group_template(text: &str) -> Vec<TemplatePart> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        let after = &rest[start + 1..];
        match after.find('$') {
            Some(end)
                if !after[..end].is_empty() && after[..end].bytes().all(|b| b.is_ascii_digit()) =>
            {
                lit.push_str(&rest[..start]);
                if !lit.is_empty() {
                    parts.push(TemplatePart::Lit(std::mem::take(&mut lit)));
                }
                parts.push(TemplatePart::Group(after[..end].parse().unwrap_or(0)));
                rest = &after[end + 1..];
            }
            _ => {
                lit.push_str(&rest[..=start]);
                rest = after;
            }
        }
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        parts.push(TemplatePart::Lit(lit));
    }
    parts
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_templates() {
        assert_eq!(
            parse_group_template("id=$1$&x=$2$$"),
            vec![
                TemplatePart::Lit("id=".into()),
                TemplatePart::Group(1),
                TemplatePart::Lit("&x=".into()),
                TemplatePart::Group(2),
                TemplatePart::Lit("$".into()),
            ]
        );
        assert_eq!(
            parse_group_template("$a$"),
            vec![TemplatePart::Lit("$a$".into())]
        );
    }

    #[test]
    fn json_paths_compile() {
        assert!(compile_json_path("$.accounts[0].id").is_ok());
        assert!(compile_json_path("token").is_ok());
        assert!(compile_json_path("$..[").is_err());
        // Jayway's `.[`: the dot is dropped, a deep scan `..[` is kept.
        assert_eq!(
            dot_before_bracket("$.a.[?(@.b != '.[')].c"),
            "$.a[?(@.b != '.[')].c"
        );
        assert_eq!(dot_before_bracket("$..[0]"), "$..[0]");
        assert!(
            compile_json_path("$.products.[?(@.productStatus != \"OutOfStock\")].productId")
                .is_ok()
        );
    }
}

//! Assertions: Response, Duration, Size, JSON Path, MD5Hex, XPath (1 and 2), XML well-formedness
//! and JMESPath, compiled.

use regex::Regex;

use super::diagnostic::DiagnosticKind;
use super::extract::{compile_json_path, Field};
use super::reader::Props;
use super::template::Template;

#[derive(Debug)]
pub struct Assertion {
    /// The element's name, which JMeter reports in `<assertionResult><name>`.
    pub name: String,
    pub kind: AssertionKind,
    /// Which samples it checks (`Assertion.scope`).
    pub scope: AssertionScope,
}

/// `Assertion.scope`: the main sample, it and its sub-samples, or the sub-samples only
/// (JMeter's `JMeterThread.checkAssertions`; a variable is read in place of the main sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionScope {
    Parent,
    All,
    Children,
}

impl AssertionScope {
    pub fn main_sample(self) -> bool {
        self != AssertionScope::Children
    }

    pub fn sub_samples(self) -> bool {
        self != AssertionScope::Parent
    }
}

#[derive(Debug)]
pub enum AssertionKind {
    Response(ResponseAssertion),
    Duration {
        max_ms: Template,
    },
    Size {
        field: SizeField,
        operator: SizeOperator,
        size: Template,
    },
    JsonPath(JsonPathAssertion),
    /// The MD5 of the response body, in hex, compared without case.
    Md5Hex {
        expected: Template,
    },
    XPath(XPathAssertion),
    /// XML Assertion: the response is well-formed XML without a DOCTYPE.
    WellFormedXml,
    JmesPath(JmesPathAssertion),
    Compare(CompareAssertion),
    Html(HtmlAssertion),
    XmlSchema(XmlSchemaAssertion),
}

/// XML Schema Assertion: the response validated against an XSD (see `runtime::xsd`).
#[derive(Debug)]
pub struct XmlSchemaAssertion {
    /// `xmlschema_assertion_filename`, relative to the working directory as in JMeter.
    pub file: Template,
    /// The schema of a constant file name, read once at build (JMeter reads it per sample).
    pub schema: Option<
        std::sync::Arc<
            Result<crate::runtime::xsd::schema::Schema, crate::runtime::xsd::schema::SchemaError>,
        >,
    >,
}

/// HTML Assertion: Tidy's error and warning counts against the thresholds (see
/// `runtime::tidy`).
#[derive(Debug)]
pub struct HtmlAssertion {
    /// Read as longs when the sample is checked (a value that is not one counts as 0).
    pub error_threshold: Template,
    pub warning_threshold: Template,
    /// Warnings are counted and reported but do not fail the sample.
    pub errors_only: bool,
    /// HTML (0), XHTML (1) or XML (2): how Tidy reads the page.
    pub format: Template,
}

/// Compare Assertion: each response of a user is compared with the previous ones since the
/// enclosing controller's iteration began.
#[derive(Debug)]
pub struct CompareAssertion {
    /// The user's list of responses (`Plan::n_compare_slots`), emptied by the iteration hook.
    pub slot: usize,
    pub content: bool,
    /// Largest allowed difference in ms; negative: times are not compared.
    pub time_ms: i64,
    /// `stringsToSkip`: each match is replaced by the literal text (JMeter's default ORO
    /// engine substitutes literally) before contents are compared.
    pub skip: Vec<(regex::Regex, String)>,
}

/// XPath Assertion (XPath 1) or XPath2 Assertion.
#[derive(Debug)]
pub struct XPathAssertion {
    pub query: String,
    pub negate: bool,
    pub xpath2: bool,
    pub tolerant: bool,
    pub namespace: bool,
    pub namespaces: Vec<(String, String)>,
    /// The body, or a variable (`Assertion.scope=variable`).
    pub field: Field,
}

/// JMESPath Assertion (`JMES_PATH`, `EXPECTED_VALUE`...).
#[derive(Debug)]
pub struct JmesPathAssertion {
    pub path_text: String,
    pub expr: jmespath::Expression<'static>,
    /// "Additionally assert value".
    pub validate: bool,
    pub expected: Template,
    pub expect_null: bool,
    pub invert: bool,
    pub is_regex: bool,
}

/// Response Assertion test types (`Assertion.test_type` bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchRule {
    /// The whole field matches the regex.
    Matches,
    /// The regex is found in the field.
    Contains,
    Equals,
    Substring,
}

#[derive(Debug)]
pub struct ResponseAssertion {
    pub field: Field,
    /// "document" is reported in messages for `response_data_as_document`; rmeter refuses that field.
    pub rule: MatchRule,
    pub not: bool,
    pub or: bool,
    /// Patterns; a literal regex is compiled once.
    pub patterns: Vec<Pattern>,
    pub assume_success: bool,
    pub custom_message: Template,
}

#[derive(Debug)]
pub struct Pattern {
    pub text: Template,
    pub regex: Option<Regex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeField {
    Full,
    Body,
    Headers,
    Code,
    Message,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeOperator {
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterOrEqual,
    LessOrEqual,
}

#[derive(Debug)]
pub struct JsonPathAssertion {
    pub path_text: String,
    pub path: jsonpath_rust::parser::model::JpQuery,
    pub validate: bool,
    pub expected: Template,
    pub expect_null: bool,
    pub invert: bool,
    pub is_regex: bool,
}

/// JMeter reads the thresholds and format as longs, after substituting variables; a value that
/// is not one counts as 0.
fn html_assertion(p: &mut Props<'_, '_>) -> HtmlAssertion {
    if !p.text("html_assertion_filename").trim().is_empty() {
        p.unsupported_option(
            "html_assertion_filename",
            "rmeter counts Tidy's errors and warnings but does not write Tidy's report",
        );
    }
    HtmlAssertion {
        error_threshold: p.template("html_assertion_error_threshold"),
        warning_threshold: p.template("html_assertion_warning_threshold"),
        errors_only: p.bool("html_assertion_errorsonly", false),
        format: p.template("html_assertion_format"),
    }
}

/// A constant schema name is read and compiled here, so that `rmeter check` reports what it
/// cannot validate; a missing or invalid schema is reported by each sample, as in JMeter.
fn xml_schema_assertion(p: &mut Props<'_, '_>) -> XmlSchemaAssertion {
    use crate::runtime::xsd::schema::{self, SchemaError};
    let file = p.template("xmlschema_assertion_filename");
    let schema = file.as_literal().filter(|f| !f.is_empty()).map(|name| {
        let cwd = std::env::current_dir().unwrap_or_default();
        let loaded = schema::load(name, &cwd);
        if let Err(SchemaError::Unsupported(what)) = &loaded {
            p.unsupported_option(
                "xmlschema_assertion_filename",
                &format!("the schema {name} uses {what}, which rmeter does not validate"),
            );
        }
        std::sync::Arc::new(loaded)
    });
    XmlSchemaAssertion { file, schema }
}

pub fn assertion(p: &mut Props<'_, '_>) -> Option<Assertion> {
    let kind = match p.element.testclass.as_str() {
        "ResponseAssertion" => AssertionKind::Response(response_assertion(p)?),
        "MD5HexAssertion" => AssertionKind::Md5Hex {
            expected: p.template("MD5HexAssertion.size"),
        },
        "DurationAssertion" => AssertionKind::Duration {
            max_ms: p.template("DurationAssertion.duration"),
        },
        "SizeAssertion" => size_assertion(p)?,
        "XPathAssertion" => AssertionKind::XPath(xpath_assertion(p, false)?),
        "XPath2Assertion" => AssertionKind::XPath(xpath_assertion(p, true)?),
        "XMLAssertion" => AssertionKind::WellFormedXml,
        "JMESPathAssertion" => AssertionKind::JmesPath(JmesPathAssertion {
            expr: super::extract::compile_jmespath(p, "JMES_PATH")?,
            path_text: p.text("JMES_PATH").to_string(),
            validate: p.bool("JSONVALIDATION", false),
            expected: p.template("EXPECTED_VALUE"),
            expect_null: p.bool("EXPECT_NULL", false),
            invert: p.bool("INVERT", false),
            is_regex: p.bool("ISREGEX", true),
        }),
        "CompareAssertion" => AssertionKind::Compare(compare_assertion(p)?),
        "HTMLAssertion" => AssertionKind::Html(html_assertion(p)),
        "XMLSchemaAssertion" => AssertionKind::XmlSchema(xml_schema_assertion(p)),
        _ => AssertionKind::JsonPath(json_path_assertion(p)?),
    };
    // The JSON, JMESPath, MD5 and XML assertions are not scoped in JMeter.
    let scoped = matches!(
        kind,
        AssertionKind::Response(_)
            | AssertionKind::Duration { .. }
            | AssertionKind::Size { .. }
            | AssertionKind::XPath(_)
    );
    if matches!(kind, AssertionKind::Size { .. }) && p.text("Assertion.scope").trim() == "variable"
    {
        p.unsupported_option(
            "Assertion.scope",
            "a Size Assertion on a variable is not supported yet",
        );
        return None;
    }
    let scope = match p.text("Assertion.scope").trim() {
        "all" if scoped => AssertionScope::All,
        "children" if scoped => AssertionScope::Children,
        _ => AssertionScope::Parent,
    };
    Some(Assertion {
        name: p.element.name.clone(),
        kind,
        scope,
    })
}

fn compare_assertion(p: &mut Props<'_, '_>) -> Option<CompareAssertion> {
    let mut skip = Vec::new();
    for prop in p.element.collection("stringsToSkip") {
        let crate::jmx::PropValue::Element(e) = &prop.value else {
            continue;
        };
        let source = e.text("regex").unwrap_or("").to_string();
        match Regex::new(&source) {
            Ok(regex) => skip.push((regex, e.text("substitute").unwrap_or("").to_string())),
            Err(e) => {
                p.error(DiagnosticKind::BadRegex {
                    prop: "stringsToSkip".into(),
                    message: e.to_string().lines().last().unwrap_or("").to_string(),
                });
                return None;
            }
        }
    }
    let slot = p.builder.next_compare_slot;
    p.builder.next_compare_slot += 1;
    Some(CompareAssertion {
        slot,
        content: p.bool("compareContent", true),
        time_ms: p.int("compareTime", -1),
        skip,
    })
}

fn xpath_assertion(p: &mut Props<'_, '_>, xpath2: bool) -> Option<XPathAssertion> {
    // JMeter's getter: a missing query is `/`.
    let query = if p.has("XPath.xpath") {
        p.text("XPath.xpath").to_string()
    } else {
        "/".to_string()
    };
    super::extract::check_xpath_query(p, "XPath.xpath", &query, xpath2)?;
    let (tolerant, namespace) = if xpath2 {
        (false, true)
    } else {
        if p.bool("XPath.validate", false) {
            p.unsupported_option("XPath.validate", "DTD validation is not supported yet");
            return None;
        }
        super::extract::xpath1_parsing_options(p, "XPath")?
    };
    Some(XPathAssertion {
        negate: p.bool("XPath.negate", false),
        xpath2,
        tolerant,
        namespace,
        namespaces: crate::runtime::markup::parse_namespaces(p.text("XPath.namespaces")),
        field: super::extract::body_or_variable(p, "Assertion.scope")?,
        query,
    })
}

fn response_assertion(p: &mut Props<'_, '_>) -> Option<ResponseAssertion> {
    let field = match p.text("Assertion.scope").trim() {
        "variable" => Field::Variable(p.text("Scope.variable").trim().to_string()),
        "" | "parent" | "all" | "children" => match p.text("Assertion.test_field").trim() {
            "" | "Assertion.response_data" => Field::Body,
            "Assertion.response_code" => Field::Code,
            "Assertion.response_message" => Field::Message,
            "Assertion.response_headers" => Field::ResponseHeaders,
            "Assertion.request_headers" => Field::RequestHeaders,
            "Assertion.sample_label" => Field::Url,
            other => {
                p.unsupported_option(
                    "Assertion.test_field",
                    &format!("`{other}` is not supported yet"),
                );
                return None;
            }
        },
        other => {
            p.unsupported_option(
                "Assertion.scope",
                &format!("`{other}` is not a scope JMeter knows"),
            );
            return None;
        }
    };
    let test_type = p.int("Assertion.test_type", 2);
    let rule = if test_type & 1 != 0 {
        MatchRule::Matches
    } else if test_type & 8 != 0 {
        MatchRule::Equals
    } else if test_type & 16 != 0 {
        MatchRule::Substring
    } else {
        MatchRule::Contains
    };
    let mut patterns = Vec::new();
    let strings: Vec<String> = p
        .element
        .collection("Asserion.test_strings")
        .iter()
        .filter_map(|item| match &item.value {
            crate::jmx::PropValue::Scalar(_, text) => Some(text.clone()),
            _ => None,
        })
        .collect();
    for text in strings {
        let template = p.builder.template(&p.path.clone(), &text);
        let regex = match (rule, template.as_literal()) {
            (MatchRule::Matches | MatchRule::Contains, Some(literal)) => {
                let source = if rule == MatchRule::Matches {
                    format!("^(?:{literal})$")
                } else {
                    literal.to_string()
                };
                match regex::RegexBuilder::new(&source).multi_line(false).build() {
                    Ok(regex) => Some(regex),
                    Err(e) => {
                        p.error(DiagnosticKind::BadRegex {
                            prop: "Asserion.test_strings".into(),
                            message: e
                                .to_string()
                                .lines()
                                .last()
                                .unwrap_or("")
                                .trim()
                                .to_string(),
                        });
                        return None;
                    }
                }
            }
            _ => None,
        };
        patterns.push(Pattern {
            text: template,
            regex,
        });
    }
    Some(ResponseAssertion {
        field,
        rule,
        not: test_type & 4 != 0,
        or: test_type & 32 != 0,
        patterns,
        assume_success: p.bool("Assertion.assume_success", false),
        custom_message: p.template("Assertion.custom_message"),
    })
}

fn size_assertion(p: &mut Props<'_, '_>) -> Option<AssertionKind> {
    let field = match p.text("Assertion.test_field").trim() {
        "" | "SizeAssertion.response_network_size" => SizeField::Full,
        "SizeAssertion.response_data" => SizeField::Body,
        "SizeAssertion.response_headers" => SizeField::Headers,
        "SizeAssertion.response_code" => SizeField::Code,
        "SizeAssertion.response_message" => SizeField::Message,
        other => {
            p.unsupported_option(
                "Assertion.test_field",
                &format!("`{other}` is not supported"),
            );
            return None;
        }
    };
    let operator = match p.int("SizeAssertion.operator", 1) {
        2 => SizeOperator::NotEqual,
        3 => SizeOperator::Greater,
        4 => SizeOperator::Less,
        5 => SizeOperator::GreaterOrEqual,
        6 => SizeOperator::LessOrEqual,
        _ => SizeOperator::Equal,
    };
    Some(AssertionKind::Size {
        field,
        operator,
        size: p.template("SizeAssertion.size"),
    })
}

fn json_path_assertion(p: &mut Props<'_, '_>) -> Option<JsonPathAssertion> {
    let path_text = p.text("JSON_PATH").trim().to_string();
    let path = match compile_json_path(&path_text) {
        Ok(path) => path,
        Err(message) => {
            p.error(DiagnosticKind::BadJsonPath {
                prop: "JSON_PATH".into(),
                message,
            });
            return None;
        }
    };
    Some(JsonPathAssertion {
        path_text,
        path,
        validate: p.bool("JSONVALIDATION", false),
        expected: p.template("EXPECTED_VALUE"),
        expect_null: p.bool("EXPECT_NULL", false),
        invert: p.bool("INVERT", false),
        is_regex: p.bool("ISREGEX", true),
    })
}

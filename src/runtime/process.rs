//! Post-processors and assertions applied to one result, in JMeter's terms.
//!
//! Each function reads the response through [`Response`] and writes variables through the user's
//! [`Context`]; assertion messages are worded as JMeter's (reference §1.6).

use crate::plan::assertion::{
    Assertion, AssertionKind, CompareAssertion, JsonPathAssertion, MatchRule, ResponseAssertion,
    SizeField, SizeOperator,
};
use crate::plan::extract::{
    BoundaryExtractor, Field, JsonExtractor, PostProcessor, RegexExtractor, RegexSource,
    SampleScope, TemplatePart,
};
use crate::plan::template::Context;
use crate::sample::Sample;

use super::query;

/// What extractors and assertions may read of a result.
pub struct Response<'a> {
    pub body: &'a str,
    /// Status line and headers, one per line, as JMeter's `getResponseHeaders()`.
    pub response_headers: &'a str,
    pub request_headers: &'a str,
    pub url: &'a str,
    pub code: &'a str,
    pub message: &'a str,
    pub body_bytes: u64,
    pub header_bytes: u64,
    /// The sub-samples, depth-first, for extractors scoped to them (empty otherwise).
    pub subs: &'a [Response<'a>],
}

impl Response<'_> {
    /// The field of each result in the extractor's scope, main sample first.
    pub(super) fn inputs(
        &self,
        field: &Field,
        scope: SampleScope,
        ctx: &dyn Context,
    ) -> Vec<String> {
        // A variable is read once, whatever the scope.
        if matches!(field, Field::Variable(_)) {
            return vec![self.field(field, ctx)];
        }
        let mut inputs = Vec::new();
        if scope != SampleScope::Children {
            inputs.push(self.field(field, ctx));
        }
        if scope != SampleScope::Parent {
            inputs.extend(self.subs.iter().map(|sub| sub.field(field, ctx)));
        }
        inputs
    }

    pub(super) fn field(&self, field: &Field, ctx: &dyn Context) -> String {
        match field {
            Field::Body => self.body.to_string(),
            Field::BodyUnescaped => crate::plan::function::unescape_html(self.body),
            Field::ResponseHeaders => self.response_headers.to_string(),
            Field::RequestHeaders => self.request_headers.to_string(),
            Field::Url => self.url.to_string(),
            Field::Code => self.code.to_string(),
            Field::Message => self.message.to_string(),
            Field::Variable(name) => ctx.var_by_name(name).unwrap_or("").to_string(),
        }
    }
}

pub use crate::sample::AssertionResult as AssertionOutcome;

/// Runs a post-processor. Some (the XPath extractors) report a parse or query error as a failed
/// assertion result for the sample, without failing it, as JMeter does.
pub fn post_process(
    post: &PostProcessor,
    response: &Response<'_>,
    ctx: &mut dyn Context,
) -> Option<AssertionOutcome> {
    match post {
        PostProcessor::Regex(regex) => regex_extract(regex, response, ctx),
        PostProcessor::Json(json) => json_extract(json, response, ctx),
        PostProcessor::Boundary(boundary) => boundary_extract(boundary, response, ctx),
        PostProcessor::XPath(x) => {
            return query::xpath_extract(x, response, ctx).map(|message| AssertionOutcome {
                name: x.name.clone(),
                failure: true,
                error: false,
                message: Some(message),
            })
        }
        PostProcessor::Css(css) => query::css_extract(css, response, ctx),
        PostProcessor::JmesPath(jmes) => query::jmespath_extract(jmes, response, ctx),
        // The user runs it: it adds a sub-result.
        PostProcessor::Debug(_) => {}
    }
    None
}

/// An assertion's outcome where JMeter sets more than a failure message: the error flag, or a
/// message on success.
pub struct Verdict {
    pub failure: bool,
    pub error: bool,
    pub message: Option<String>,
}

impl Verdict {
    pub fn pass(message: Option<String>) -> Verdict {
        Verdict {
            failure: false,
            error: false,
            message,
        }
    }

    pub fn failure(message: String) -> Verdict {
        Verdict {
            failure: true,
            error: false,
            message: Some(message),
        }
    }

    /// A failure with the message, or a pass without one.
    pub fn failed_if(message: Option<String>) -> Verdict {
        message.map_or(Verdict::pass(None), Verdict::failure)
    }
}

/// Sets `name`, `name_gN`, `name_matchNr`, `name_N` as JMeter's extractors do, from the matches
/// (each a list of groups, group 0 first).
fn store_matches(
    ctx: &mut dyn Context,
    refname: &str,
    number: i64,
    matches: &[Vec<String>],
    render: &dyn Fn(&[String]) -> String,
    with_groups: bool,
) {
    let previous: usize = ctx
        .var_by_name(&format!("{refname}_matchNr"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut count = 0;
    if number >= 0 {
        let chosen = if number == 0 {
            if matches.is_empty() {
                None
            } else {
                let i = ctx.env().rng().usize(..matches.len());
                matches.get(i)
            }
        } else {
            matches.get(number as usize - 1)
        };
        match chosen {
            Some(groups) => {
                ctx.set_var(refname, render(groups));
                if with_groups {
                    save_groups(ctx, refname, groups);
                }
            }
            // The name keeps its default; stale groups go.
            None => remove_groups(ctx, refname),
        }
    } else {
        remove_groups(ctx, refname);
        count = matches.len();
        ctx.set_var(&format!("{refname}_matchNr"), count.to_string());
        for (i, groups) in matches.iter().enumerate() {
            let name = format!("{refname}_{}", i + 1);
            ctx.set_var(&name, render(groups));
            if with_groups {
                save_groups(ctx, &name, groups);
            }
        }
    }
    // JMeter removes the variables left over from an earlier, longer match list.
    for i in count + 1..=previous {
        let name = format!("{refname}_{i}");
        ctx.remove_var(&name);
        remove_groups(ctx, &name);
    }
}

/// JMeter's `saveGroups`: `name_g` is the group count, `name_g0` the whole match, then each group.
fn save_groups(ctx: &mut dyn Context, name: &str, groups: &[String]) {
    ctx.set_var(
        &format!("{name}_g"),
        (groups.len().saturating_sub(1)).to_string(),
    );
    for (i, group) in groups.iter().enumerate() {
        ctx.set_var(&format!("{name}_g{i}"), group.clone());
    }
}

fn remove_groups(ctx: &mut dyn Context, name: &str) {
    let count: usize = ctx
        .var_by_name(&format!("{name}_g"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    ctx.remove_var(&format!("{name}_g"));
    for i in 0..=count {
        ctx.remove_var(&format!("{name}_g{i}"));
    }
}

/// A blank or unparseable match number is 0 (random), as JMeter's integer getter returns 0.
pub(super) fn match_number(text: String) -> i64 {
    text.trim().parse().unwrap_or(0)
}

fn regex_extract(extractor: &RegexExtractor, response: &Response<'_>, ctx: &mut dyn Context) {
    if extractor.refname.is_empty() {
        return;
    }
    let default = extractor.default.render(ctx);
    if !default.is_empty() || extractor.default_empty {
        ctx.set_var(&extractor.refname, default);
    }
    let number = match_number(extractor.match_number.render(ctx));
    let inputs = response.inputs(&extractor.field, extractor.scope, ctx);
    let limit = if number > 0 {
        number as usize
    } else {
        usize::MAX
    };
    let dynamic;
    let regex = match &extractor.regex {
        RegexSource::Fixed(regex) => regex,
        RegexSource::Dynamic(template) => {
            let source = template.render(ctx);
            match regex::Regex::new(&source) {
                Ok(regex) => {
                    dynamic = regex;
                    &dynamic
                }
                Err(e) => {
                    tracing::error!(
                        "Regular Expression Extractor {}: `{source}` is not a valid regular expression: {}",
                        extractor.refname,
                        e.to_string().lines().last().unwrap_or("")
                    );
                    return;
                }
            }
        }
    };
    let matches: Vec<Vec<String>> = inputs
        .iter()
        .flat_map(|input| regex.captures_iter(input))
        .take(limit)
        .map(|caps| {
            caps.iter()
                .map(|g| g.map_or(String::new(), |m| m.as_str().to_string()))
                .collect()
        })
        .collect();
    let render = |groups: &[String]| -> String {
        extractor
            .template
            .iter()
            .map(|part| match part {
                TemplatePart::Lit(s) => s.as_str(),
                TemplatePart::Group(i) => groups.get(*i).map_or("", String::as_str),
            })
            .collect()
    };
    store_matches(ctx, &extractor.refname, number, &matches, &render, true);
}

fn boundary_extract(extractor: &BoundaryExtractor, response: &Response<'_>, ctx: &mut dyn Context) {
    if extractor.refname.is_empty() {
        return;
    }
    let default = extractor.default.render(ctx);
    // JMeter's Boundary Extractor applies only a non-blank default.
    if !default.trim().is_empty() || extractor.default_empty {
        ctx.set_var(&extractor.refname, default);
    }
    let number = match_number(extractor.match_number.render(ctx));
    let left = extractor.left.render(ctx);
    let right = extractor.right.render(ctx);
    let matches: Vec<Vec<String>> = response
        .inputs(&extractor.field, extractor.scope, ctx)
        .iter()
        .flat_map(|input| boundary_matches(input, &left, &right))
        .collect();
    store_matches(
        ctx,
        &extractor.refname,
        number,
        &matches,
        &|groups: &[String]| groups[0].clone(),
        false,
    );
}

/// JMeter's boundary search: after a match it looks for the next left boundary right after the
/// previous one, so matches may overlap; an empty boundary gives at most one match.
fn boundary_matches(input: &str, left: &str, right: &str) -> Vec<Vec<String>> {
    if input.trim().is_empty() {
        return Vec::new();
    }
    if left.is_empty() || right.is_empty() {
        let from = if left.is_empty() {
            Some(0)
        } else {
            input.find(left).map(|l| l + left.len())
        };
        let Some(from) = from else { return Vec::new() };
        let to = if right.is_empty() {
            Some(input.len())
        } else {
            input[from..].find(right).map(|r| from + r)
        };
        return to
            .map(|to| vec![vec![input[from..to].to_string()]])
            .unwrap_or_default();
    }
    let mut matches = Vec::new();
    let mut pos = 0;
    while let Some(l) = input.get(pos..).and_then(|rest| rest.find(left)) {
        let from = pos + l + left.len();
        let Some(r) = input[from..].find(right) else {
            break;
        };
        matches.push(vec![input[from..from + r].to_string()]);
        pos = from;
    }
    matches
}

fn json_extract(extractor: &JsonExtractor, response: &Response<'_>, ctx: &mut dyn Context) {
    let documents: Vec<serde_json::Value> = response
        .inputs(&extractor.field, extractor.scope, ctx)
        .iter()
        .filter_map(|input| serde_json::from_str(input).ok())
        .collect();
    for item in &extractor.items {
        let default = item.default.render(ctx);
        // JMeter: a JSON null extracts as the default value; values from every result in
        // scope are pooled before the match number chooses.
        let values: Vec<String> = documents
            .iter()
            .flat_map(|doc| {
                jsonpath_rust::query::js_path_process(&item.path, doc)
                    .map(|found| {
                        found
                            .into_iter()
                            .map(|r| {
                                let value = r.val();
                                if value.is_null() {
                                    default.clone()
                                } else {
                                    json_to_string(value)
                                }
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .collect();
        let previous: usize = ctx
            .var_by_name(&format!("{}_matchNr", item.refname))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        // JMeter's `clearOldRefVars`: stale numbered values go before new ones are set.
        for i in 1..=previous {
            ctx.remove_var(&format!("{}_{i}", item.refname));
        }
        if values.is_empty() {
            ctx.set_var(&item.refname, default);
            if item.match_number < 0 {
                ctx.set_var(&format!("{}_matchNr", item.refname), "0".into());
            }
            continue;
        }
        match item.match_number {
            n if n < 0 => {
                for (i, v) in values.iter().enumerate() {
                    ctx.set_var(&format!("{}_{}", item.refname, i + 1), v.clone());
                }
                ctx.set_var(
                    &format!("{}_matchNr", item.refname),
                    values.len().to_string(),
                );
                if extractor.compute_concat {
                    ctx.set_var(&format!("{}_ALL", item.refname), values.join(","));
                }
            }
            0 => {
                let i = ctx.env().rng().usize(..values.len());
                ctx.set_var(&item.refname, values[i].clone());
            }
            n => {
                // A single result serves any match number, as in JMeter.
                let value = if values.len() == 1 {
                    values[0].clone()
                } else {
                    values.get(n as usize - 1).cloned().unwrap_or(default)
                };
                ctx.set_var(&item.refname, value);
            }
        }
    }
}

/// JSON values as JMeter's JSON tools print them: strings bare, the rest as JSON.
fn json_to_string(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Runs one assertion and updates the sample's success. The caller keeps the first message that
/// is not `None` as the failure message, as JMeter's `getFirstAssertionFailureMessage` does.
pub fn assert(
    assertion: &Assertion,
    sample: &mut Sample,
    response: &Response<'_>,
    ctx: &mut dyn Context,
) -> AssertionOutcome {
    let verdict = match &assertion.kind {
        AssertionKind::XPath(x) => query::xpath_assert(x, response, ctx),
        AssertionKind::WellFormedXml => query::xml_assert(response),
        AssertionKind::JmesPath(j) => query::jmespath_assert(j, response, ctx),
        AssertionKind::Compare(c) => compare(c, sample.elapsed, response, ctx),
        AssertionKind::Html(h) => Verdict::failed_if(html_check(h, response, ctx)),
        AssertionKind::XmlSchema(x) => xml_schema_check(x, response, ctx),
        // JMeter: a passing JSON Assertion still sets an empty (not null) failure message.
        AssertionKind::JsonPath(json) => match json_path_check(json, response, ctx) {
            Some(message) => Verdict::failure(message),
            None => Verdict::pass(Some(String::new())),
        },
        AssertionKind::Response(response_assertion) => {
            if response_assertion.assume_success {
                sample.success = true;
            }
            Verdict::failed_if(response_check(response_assertion, response, ctx))
        }
        AssertionKind::Md5Hex { expected } => Verdict::failed_if({
            let expected = expected.render(ctx);
            if response.body.is_empty() {
                Some("Response was null".into())
            } else if expected.is_empty() {
                Some("MD5Hex to test against is empty".into())
            } else {
                let got = crate::plan::function::hex(&<md5::Md5 as md5::Digest>::digest(
                    response.body.as_bytes(),
                ));
                (!got.eq_ignore_ascii_case(&expected)).then(|| {
                    format!("Error asserting MD5 sum : got {got} but should have been {expected}")
                })
            }
        }),
        AssertionKind::Duration { max_ms } => Verdict::failed_if({
            let max: u64 = max_ms.render(ctx).trim().parse().unwrap_or(0);
            (max > 0 && sample.elapsed > max).then(|| {
                format!(
                    "The operation lasted too long: It took {} milliseconds, but should not have lasted longer than {} milliseconds.",
                    grouped(sample.elapsed as i64),
                    grouped(max as i64)
                )
            })
        }),
        AssertionKind::Size {
            field,
            operator,
            size,
        } => Verdict::failed_if({
            let allowed: i64 = size.render(ctx).trim().parse().unwrap_or(0);
            let actual = match field {
                SizeField::Full => (response.header_bytes + response.body_bytes) as i64,
                SizeField::Body => response.body_bytes as i64,
                SizeField::Headers => response.header_bytes as i64,
                SizeField::Code => response.code.len() as i64,
                SizeField::Message => response.message.len() as i64,
            };
            let (ok, words) = match operator {
                // JMeter's messages.properties `size_assertion_comparator_error_*`.
                SizeOperator::Equal => (actual == allowed, "been equal to"),
                SizeOperator::NotEqual => (actual != allowed, "not been equal to"),
                SizeOperator::Greater => (actual > allowed, "been greater than"),
                SizeOperator::Less => (actual < allowed, "been less than"),
                SizeOperator::GreaterOrEqual => (actual >= allowed, "been greater or equal to"),
                SizeOperator::LessOrEqual => (actual <= allowed, "been less than or equal to"),
            };
            (!ok).then(|| {
                format!(
                    "The result was the wrong size: It was {} bytes, but should have {words} {} bytes.",
                    grouped(actual),
                    grouped(allowed)
                )
            })
        }),
    };
    if verdict.failure || verdict.error {
        sample.success = false;
    }
    AssertionOutcome {
        name: assertion.name.clone(),
        failure: verdict.failure,
        error: verdict.error,
        message: verdict.message,
    }
}

/// JMeter's `CompareAssertion`: the response joins the user's list; consecutive ones must
/// have the same filtered content and times within the limit.
fn compare(
    assertion: &CompareAssertion,
    elapsed: u64,
    response: &Response<'_>,
    ctx: &mut dyn Context,
) -> Verdict {
    let mut content = response.body.to_string();
    for (regex, substitute) in &assertion.skip {
        content = regex
            .replace_all(&content, regex::NoExpand(substitute))
            .into_owned();
    }
    let Some(history) = ctx.env().compare_history(assertion.slot) else {
        return Verdict::pass(None);
    };
    history.push((content, elapsed));
    if history.len() <= 1 {
        return Verdict::pass(None);
    }
    let mut verdict = Verdict::pass(None);
    if assertion.content && history.windows(2).any(|w| w[0].0 != w[1].0) {
        verdict = Verdict::failure("Responses differ in content".into());
    }
    let limit = assertion.time_ms;
    if limit >= 0
        && history
            .windows(2)
            .any(|w| w[0].1.abs_diff(w[1].1) > limit as u64)
    {
        verdict = Verdict::failure(format!(
            "Responses differ in response time by more than{limit} ms"
        ));
    }
    verdict
}

fn response_check(
    assertion: &ResponseAssertion,
    response: &Response<'_>,
    ctx: &mut dyn Context,
) -> Option<String> {
    let to_check = response.field(&assertion.field, ctx);
    if to_check.is_empty() {
        // JMeter: NOT always succeeds against an empty field.
        return if assertion.not {
            None
        } else {
            Some("Response was null".into())
        };
    }
    let custom = assertion.custom_message.render(ctx);
    let mut or_messages = Vec::new();
    for pattern in &assertion.patterns {
        let text = pattern.text.render(ctx);
        let found = match assertion.rule {
            MatchRule::Equals => to_check == text,
            MatchRule::Substring => to_check.contains(&text),
            MatchRule::Contains | MatchRule::Matches => {
                let regex = match &pattern.regex {
                    Some(regex) => Some(regex.clone()),
                    None => {
                        let source = if assertion.rule == MatchRule::Matches {
                            format!("^(?:{text})$")
                        } else {
                            text.clone()
                        };
                        regex::Regex::new(&source).ok()
                    }
                };
                match regex {
                    Some(regex) => regex.is_match(&to_check),
                    None => return Some(format!("Invalid pattern: {text}")),
                }
            }
        };
        let pass = if assertion.not { !found } else { found };
        if assertion.or {
            if pass {
                return None;
            }
            or_messages.push(fail_text(assertion, &text, &to_check));
        } else if !pass {
            return Some(if custom.is_empty() {
                fail_text(assertion, &text, &to_check)
            } else {
                custom
            });
        }
    }
    if assertion.or {
        // JMeter joins the messages with a tab before each and a trailing one.
        return Some(if custom.is_empty() {
            or_messages.iter().map(|m| format!("{m}\t")).collect()
        } else {
            custom
        });
    }
    None
}

/// JMeter's `ResponseAssertion.getFailText`.
fn fail_text(assertion: &ResponseAssertion, pattern: &str, to_check: &str) -> String {
    let field = match &assertion.field {
        Field::Variable(name) => format!("variable({name})"),
        Field::Body | Field::BodyUnescaped => "text".into(),
        Field::Code => "code".into(),
        Field::Message => "message".into(),
        Field::RequestHeaders => "request headers".into(),
        Field::ResponseHeaders => "headers".into(),
        Field::Url => "URL".into(),
    };
    // JMeter switches on the whole test type, so OR types fall through to its default wording.
    let verb = match (assertion.rule, assertion.not) {
        _ if assertion.or => "expected something using",
        (MatchRule::Contains | MatchRule::Substring, false) => "expected to contain",
        (MatchRule::Contains | MatchRule::Substring, true) => "expected not to contain",
        (MatchRule::Matches, false) => "expected to match",
        (MatchRule::Matches, true) => "expected not to match",
        (MatchRule::Equals, false) => "expected to equal",
        (MatchRule::Equals, true) => "expected not to equal",
    };
    let shown = if assertion.rule == MatchRule::Equals {
        equals_comparison(to_check, pattern)
    } else {
        pattern.to_string()
    };
    format!("Test failed: {field} {verb} /{shown}/")
}

/// JMeter's `equalsComparisonText`: the differing middle of both strings between `[[[` and `]]]`.
fn equals_comparison(received: &str, comparison: &str) -> String {
    let rec: Vec<char> = received.chars().collect();
    let comp: Vec<char> = comparison.chars().collect();
    let min = rec.len().min(comp.len());
    let first_diff = (0..min).find(|&i| rec[i] != comp[i]).unwrap_or(min);
    let starting = if first_diff == 0 {
        String::new()
    } else {
        trunc(false, &rec[..first_diff])
    };
    let (mut last_rec, mut last_comp) = (rec.len() as isize - 1, comp.len() as isize - 1);
    while last_rec > first_diff as isize
        && last_comp > first_diff as isize
        && rec[last_rec as usize] == comp[last_comp as usize]
    {
        last_rec -= 1;
        last_comp -= 1;
    }
    let ending = trunc(true, &rec[(last_rec + 1) as usize..]);
    let (mut rec_delta, mut comp_delta) = if ending.is_empty() {
        (
            trunc(true, &rec[first_diff..]),
            trunc(true, &comp[first_diff..]),
        )
    } else {
        (
            trunc(
                true,
                &rec[first_diff..((last_rec + 1) as usize).max(first_diff)],
            ),
            trunc(
                true,
                &comp[first_diff..((last_comp + 1) as usize).max(first_diff)],
            ),
        )
    };
    let (rl, cl) = (rec_delta.chars().count(), comp_delta.chars().count());
    let pad = " ".repeat(rl.abs_diff(cl));
    if rl > cl {
        comp_delta.push_str(&pad);
    } else {
        rec_delta.push_str(&pad);
    }
    format!(
        "\n\n****** received  : {starting}[[[{rec_delta}]]]{ending}\n\n****** comparison: {starting}[[[{comp_delta}]]]{ending}\n\n"
    )
}

fn trunc(right: bool, chars: &[char]) -> String {
    const LEN: usize = 100;
    if chars.len() <= LEN {
        return chars.iter().collect();
    }
    if right {
        format!("{}...", chars[..LEN].iter().collect::<String>())
    } else {
        format!(
            "...{}",
            chars[chars.len() - LEN..].iter().collect::<String>()
        )
    }
}

fn json_path_check(
    assertion: &JsonPathAssertion,
    response: &Response<'_>,
    ctx: &mut dyn Context,
) -> Option<String> {
    if response.body.is_empty() {
        // JMeter: `setResultForNull`, whatever the invert flag says.
        return Some("Response was null".into());
    }
    let expected = assertion.expected.render(ctx);
    let result = json_path_evaluate(assertion, response.body, &expected);
    match (result, assertion.invert) {
        (Ok(()), false) => None,
        (Ok(()), true) => Some(if !assertion.validate {
            format!("Failed that JSONPath not exists: {}", assertion.path_text)
        } else if assertion.expect_null {
            format!(
                "Failed that JSONPath {} not matches null",
                assertion.path_text
            )
        } else {
            format!(
                "Failed that JSONPath {} not matches {expected}",
                assertion.path_text
            )
        }),
        (Err(message), false) => Some(message),
        (Err(_), true) => None,
    }
}

fn json_path_evaluate(
    assertion: &JsonPathAssertion,
    body: &str,
    expected: &str,
) -> Result<(), String> {
    let document: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("Response is not valid JSON: {e}"))?;
    let found: Vec<&serde_json::Value> =
        jsonpath_rust::query::js_path_process(&assertion.path, &document)
            .map(|r| r.into_iter().map(|q| q.val()).collect())
            .unwrap_or_default();
    if found.is_empty() {
        return Err(format!("No results for path: {}", assertion.path_text));
    }
    if !assertion.validate {
        return Ok(());
    }
    let matches = |v: &serde_json::Value| -> bool {
        if assertion.expect_null {
            return v.is_null();
        }
        let text = json_to_string(v);
        if assertion.is_regex {
            regex::Regex::new(&format!("^(?:{expected})$")).is_ok_and(|r| r.is_match(&text))
        } else {
            text == expected
        }
    };
    // A definite path gives one value; an indefinite one passes when any element matches.
    let value = if found.len() == 1 {
        found[0].clone()
    } else {
        serde_json::Value::Array(found.iter().map(|v| (*v).clone()).collect())
    };
    let ok = match &value {
        serde_json::Value::Array(items) if found.len() > 1 || !matches(&value) => {
            items.iter().any(matches)
        }
        other => matches(other),
    };
    if ok {
        return Ok(());
    }
    let (path, found) = (&assertion.path_text, json_to_string(&value));
    if assertion.expect_null {
        Err(format!(
            "Value in json path '{path}' expected to be null, but found '{found}'"
        ))
    } else if assertion.is_regex {
        Err(format!("Value in json path '{path}' expected to match regexp '{expected}', but it did not match: '{found}'"))
    } else {
        Err(format!(
            "Value in json path '{path}' expected to be '{expected}', but found '{found}'"
        ))
    }
}

/// XML Schema Assertion: a validity or well-formedness error sets the error flag (JMeter's
/// error handler), a missing body or file name the failure flag; a warning passes with its
/// message.
fn xml_schema_check(
    x: &crate::plan::assertion::XmlSchemaAssertion,
    response: &Response<'_>,
    ctx: &mut dyn Context,
) -> Verdict {
    if response.body.is_empty() {
        return Verdict::failure("Response was null".into());
    }
    let outcome = match &x.schema {
        Some(schema) => super::xsd::validate(response.body, schema),
        None => {
            let name = x.file.render(ctx);
            if name.is_empty() {
                return Verdict::failure("FileName is required".into());
            }
            let cwd = std::env::current_dir().unwrap_or_default();
            super::xsd::validate(response.body, &super::xsd::schema::load(&name, &cwd))
        }
    };
    match outcome {
        Ok(warning) => Verdict::pass(warning),
        Err(message) => Verdict {
            failure: false,
            error: true,
            message: Some(message),
        },
    }
}

/// HTML Assertion: fails when Tidy counts more errors than allowed, or (unless errors only)
/// more warnings; the message is JMeter 5.6's.
fn html_check(
    h: &crate::plan::assertion::HtmlAssertion,
    response: &Response<'_>,
    ctx: &mut dyn Context,
) -> Option<String> {
    if response.body.is_empty() {
        return Some("Response was null".into());
    }
    let mut long =
        |t: &crate::plan::template::Template| t.render(ctx).trim().parse::<i64>().unwrap_or(0);
    let (error_threshold, warning_threshold) =
        (long(&h.error_threshold), long(&h.warning_threshold));
    let format = match long(&h.format) {
        1 => super::tidy::Format::Xhtml,
        2 => super::tidy::Format::Xml,
        _ => super::tidy::Format::Html,
    };
    let counts = super::tidy::tidy_counts(response.body, format);
    let (errors, warnings) = (counts.errors as i64, counts.warnings as i64);
    let fails = errors > error_threshold || (!h.errors_only && warnings > warning_threshold);
    fails.then(|| {
        format!(
            "Tidy Parser errors: {} (allowed {}) Tidy Parser warnings: {} (allowed {})",
            grouped(errors),
            grouped(error_threshold),
            grouped(warnings),
            grouped(warning_threshold)
        )
    })
}

/// A number as `java.text.MessageFormat` prints it: with thousands separators.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Runs an OS Process Sampler's command: `(exit code, standard output)`, or JMeter's message for
/// a command that could not run or ran past its timeout. `files` are the standard input, output
/// and error files (empty: none; output and error then become the response, as JMeter merges
/// them).
pub(super) async fn run_command(
    program: &str,
    arguments: &[String],
    environment: &[(String, String)],
    directory: &str,
    files: [&str; 3],
    timeout: std::time::Duration,
) -> Result<(i32, Vec<u8>), String> {
    use std::process::Stdio;
    let [stdin, stdout, stderr] = files;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(arguments)
        .envs(environment.iter().map(|(n, v)| (n, v)));
    if !directory.is_empty() {
        cmd.current_dir(directory);
    }
    let open = |path: &str, write: bool| -> Result<Stdio, String> {
        let file = if write {
            std::fs::File::create(path)
        } else {
            std::fs::File::open(path)
        };
        file.map(Stdio::from).map_err(|e| {
            format!(
                "Exception occurred whilst executing system call: java.io.IOException: {path}: {e}"
            )
        })
    };
    let io_error = |e: std::io::Error| {
        format!("Exception occurred whilst executing system call: java.io.IOException: {e}")
    };
    cmd.stdin(if stdin.is_empty() {
        Stdio::null()
    } else {
        open(stdin, false)?
    });
    // Without an error file JMeter merges standard error into the output: both go to one pipe.
    let mut merged = None;
    if stdout.is_empty() {
        let (reader, writer) = std::io::pipe().map_err(io_error)?;
        if stderr.is_empty() {
            cmd.stderr(Stdio::from(writer.try_clone().map_err(io_error)?));
        }
        cmd.stdout(Stdio::from(writer));
        merged = Some(reader);
    } else {
        cmd.stdout(open(stdout, true)?);
    }
    if !stderr.is_empty() {
        cmd.stderr(open(stderr, true)?);
    } else if merged.is_none() {
        cmd.stderr(Stdio::null());
    }
    cmd.kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        format!("Exception occurred whilst executing system call: java.io.IOException: Cannot run program \"{program}\": {e}")
    })?;
    // The pipe's write ends now live only in the child; the reader sees EOF when it exits.
    drop(cmd);
    let mut reader = match merged {
        Some(reader) => {
            Some(tokio::net::unix::pipe::Receiver::from_owned_fd(reader.into()).map_err(io_error)?)
        }
        None => None,
    };
    // Read the output while waiting, so a chatty program never blocks on a full pipe.
    let run = async {
        let mut output = Vec::new();
        if let Some(reader) = reader.as_mut() {
            tokio::io::AsyncReadExt::read_to_end(reader, &mut output).await?;
        }
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, output))
    };
    let (status, output) = if timeout.is_zero() {
        run.await.map_err(io_error)?
    } else {
        match tokio::time::timeout(timeout, run).await {
            Ok(result) => result.map_err(io_error)?,
            Err(_) => {
                // `kill_on_drop`: the child goes with its handle.
                return Err(format!(
                    "Process timeout reached after {} milliseconds",
                    timeout.as_millis()
                ));
            }
        }
    };
    // A process ended by a signal has no exit code; Java reports 128 + the signal.
    let code = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    });
    Ok((code, output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_overlap_like_jmeter() {
        let found = |i, l, r| {
            boundary_matches(i, l, r)
                .into_iter()
                .map(|m| m[0].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(found("\"a\",\"b\"", "\"", "\""), vec!["a", ",", "b"]);
        assert_eq!(found("id=1;id=2;", "id=", ";"), vec!["1", "2"]);
        assert_eq!(found("abc", "", "c"), vec!["ab"]);
        assert_eq!(found("   ", "", ""), Vec::<String>::new());
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1234), "1,234");
        assert_eq!(grouped(-1234567), "-1,234,567");
    }

    #[test]
    fn equals_text_marks_the_difference() {
        assert_eq!(
            equals_comparison("abcXdef", "abcYdef"),
            "\n\n****** received  : abc[[[X]]]def\n\n****** comparison: abc[[[Y]]]def\n\n"
        );
    }
}

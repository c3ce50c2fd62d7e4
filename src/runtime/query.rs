//! Extractors and assertions that query a parsed response: XPath (1 and 2), CSS selectors,
//! JMESPath and XML well-formedness, worded as JMeter's (see `XPathUtil`, `HtmlExtractor`,
//! `JMESPathExtractor`, `JMESPathAssertion` and `XMLAssertion` in JMeter's sources).

use crate::plan::assertion::{JmesPathAssertion, XPathAssertion};
use crate::plan::extract::{CssExtractor, Field, JmesPathExtractor, XPathExtractor};
use crate::plan::template::Context;
use crate::runtime::markup::{self, Found};

use super::process::{match_number, Response, Verdict};

/// The variables named by a string an element read: missing is `None`.
fn variable(ctx: &dyn Context, name: &str) -> Option<String> {
    ctx.var_by_name(name).map(str::to_string)
}

/// The texts an extractor reads: a variable (missing or empty: none), else the body of each
/// sample in scope.
fn documents(
    field: &Field,
    response: &Response<'_>,
    scope: crate::plan::extract::SampleScope,
    ctx: &dyn Context,
) -> Vec<String> {
    match field {
        Field::Variable(name) => match variable(ctx, name) {
            Some(v) if !v.is_empty() => vec![v],
            Some(_) => Vec::new(),
            None => {
                tracing::warn!("variable '{name}' not found");
                Vec::new()
            }
        },
        _ => response.inputs(&Field::Body, scope, ctx),
    }
}

/// XPath Extractor and XPath2 Extractor. A parse or query error is returned as the message of
/// a failed assertion result for the sample (which stays successful, as in JMeter).
pub fn xpath_extract(
    x: &XPathExtractor,
    response: &Response<'_>,
    ctx: &mut dyn Context,
) -> Option<String> {
    let refname = &x.refname;
    let default = x.default.render(ctx);
    ctx.set_var(refname, default);
    let match_nr = format!("{refname}_matchNr");
    let previous: usize = variable(ctx, &match_nr)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    ctx.set_var(&match_nr, "0".into());
    ctx.remove_var(&format!("{refname}_1"));
    let number = match &x.match_number {
        // XPath 1's getter defaults to all matches, XPath 2's to a random one.
        None if x.xpath2 => 0,
        None => -1,
        Some(t) => match_number(t.render(ctx)),
    };
    let inputs = if x.xpath2 && !matches!(x.field, Field::Variable(_)) {
        // JMeter's XPath2 Extractor reads the main sample once per sample in scope.
        let count = response.inputs(&Field::Body, x.scope, ctx).len();
        vec![response.body.to_string(); count]
    } else {
        documents(&x.field, response, x.scope, ctx)
    };
    let mut matches: Vec<Option<String>> = Vec::new();
    for input in &inputs {
        match xpath_values(x, input, number, ctx) {
            Ok(values) => matches.extend(values),
            Err(message) => return Some(format!("{message}\nSee log file for further details.")),
        }
    }
    let count = matches.len();
    ctx.set_var(&match_nr, count.to_string());
    if let Some(Some(first)) = matches.first() {
        ctx.set_var(refname, first.clone());
    }
    for (i, value) in matches.into_iter().enumerate() {
        if let Some(value) = value {
            ctx.set_var(&format!("{refname}_{}", i + 1), value);
        }
    }
    for i in count + 1..=previous.max(count + 1) {
        ctx.remove_var(&format!("{refname}_{i}"));
    }
    None
}

/// One document's values for an XPath extractor, chosen by the match number.
fn xpath_values(
    x: &XPathExtractor,
    input: &str,
    number: i64,
    ctx: &mut dyn Context,
) -> Result<Vec<Option<String>>, String> {
    let package = parse_for_xpath(input, x.tolerant, x.xpath2 || x.namespace)?;
    let doc = package.as_document();
    let prefixes = if x.xpath2 {
        x.namespaces.clone()
    } else {
        markup::root_prefixes(doc)
    };
    if x.xpath2 && x.query.is_empty() {
        tracing::error!("Error : Empty XPath expression !");
        return Ok(Vec::new());
    }
    let value = |node| {
        if x.xpath2 {
            Some(markup::xpath2_value(node, x.fragment))
        } else {
            markup::xpath1_value(node, x.fragment)
        }
    };
    Ok(match markup::evaluate(doc, &x.query, &prefixes)? {
        Found::Nodes(nodes) => {
            let chosen = match number {
                n if n < 0 => nodes,
                0 if nodes.is_empty() => Vec::new(),
                0 => vec![nodes[ctx.env().rng().usize(..nodes.len())]],
                n => nodes.get(n as usize - 1).copied().into_iter().collect(),
            };
            chosen.into_iter().map(value).collect()
        }
        Found::Boolean(b) => vec![Some(b.to_string())],
        Found::Scalar(s) => vec![Some(s)],
    })
}

/// The document an XPath element queries: Tidy's repaired HTML, or XML read namespace-aware
/// or not (JMeter's `namespace` option; XPath 2 always is).
fn parse_for_xpath(
    input: &str,
    tolerant: bool,
    namespace_aware: bool,
) -> Result<sxd_document::Package, String> {
    if tolerant {
        markup::parse_html(input)
    } else if namespace_aware {
        markup::parse_xml(input)
    } else {
        markup::parse_xml_unaware(input)
    }
}

/// CSS Selector Extractor.
pub fn css_extract(x: &CssExtractor, response: &Response<'_>, ctx: &mut dyn Context) {
    let refname = &x.refname;
    let default = x.default.render(ctx);
    if !default.is_empty() || x.default_empty {
        ctx.set_var(refname, default);
    }
    let number = match_number(x.match_number.render(ctx));
    let mut values: Vec<Option<String>> = Vec::new();
    let mut found = 0i64;
    'documents: for input in documents(&x.field, response, x.scope, ctx) {
        let html = scraper::Html::parse_document(&input);
        for element in html.select(&x.selector) {
            if number > 0 && found == number {
                break 'documents;
            }
            values.push(css_value(x, element));
            found += 1;
        }
    }
    let match_nr = format!("{refname}_matchNr");
    let previous: usize = variable(ctx, &match_nr)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    ctx.remove_var(&match_nr);
    let mut count = 0;
    if number >= 0 {
        let chosen = if number == 0 {
            (!values.is_empty()).then(|| ctx.env().rng().usize(..values.len()))
        } else {
            Some(number as usize - 1)
        };
        if let Some(Some(value)) = chosen.and_then(|i| values.get(i)) {
            ctx.set_var(refname, value.clone());
        }
    } else {
        count = values.len();
        ctx.set_var(&match_nr, count.to_string());
        for (i, value) in values.into_iter().enumerate() {
            if let Some(value) = value {
                ctx.set_var(&format!("{refname}_{}", i + 1), value);
            }
        }
    }
    for i in count + 1..=previous {
        ctx.remove_var(&format!("{refname}_{i}"));
    }
}

fn css_value(x: &CssExtractor, element: scraper::ElementRef<'_>) -> Option<String> {
    if !x.attribute.is_empty() {
        let attr = element.value().attr(&x.attribute);
        return if x.jodd {
            attr.map(str::to_string)
        } else {
            Some(attr.unwrap_or("").to_string())
        };
    }
    Some(if x.jodd {
        element.text().collect::<String>().trim().to_string()
    } else {
        jsoup_text(element)
    })
}

/// JSoup's `Element.text()`: whitespace runs collapse to one space (not inside `<pre>`), block
/// elements and `<br>` are set apart by a space, and the result is trimmed.
fn jsoup_text(element: scraper::ElementRef<'_>) -> String {
    let mut out = String::new();
    let ends_in_space = |s: &String| s.is_empty() || s.ends_with(' ');
    // (node, entered, inside <pre>)
    let mut stack = vec![(*element, false, false)];
    while let Some((node, entered, pre)) = stack.pop() {
        match node.value() {
            scraper::Node::Text(t) if pre => out.push_str(t),
            scraper::Node::Text(t) => {
                for (i, word) in t.split(|c: char| c.is_whitespace()).enumerate() {
                    if i > 0 && !ends_in_space(&out) {
                        out.push(' ');
                    }
                    out.push_str(word);
                }
            }
            scraper::Node::Element(el) => {
                let block = is_block(el.name());
                if entered {
                    // Leaving a block: a space before the text that follows it.
                    let next_is_text = node
                        .next_sibling()
                        .is_some_and(|n| matches!(n.value(), scraper::Node::Text(_)));
                    if block && next_is_text && !ends_in_space(&out) {
                        out.push(' ');
                    }
                    continue;
                }
                if (block || el.name() == "br") && !out.is_empty() && !ends_in_space(&out) {
                    out.push(' ');
                }
                stack.push((node, true, pre));
                let pre = pre || el.name() == "pre";
                for child in node.children().collect::<Vec<_>>().into_iter().rev() {
                    stack.push((child, false, pre));
                }
            }
            _ => {}
        }
    }
    out.trim().to_string()
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "html"
            | "head"
            | "body"
            | "frameset"
            | "script"
            | "noscript"
            | "style"
            | "meta"
            | "link"
            | "title"
            | "frame"
            | "noframes"
            | "section"
            | "nav"
            | "aside"
            | "hgroup"
            | "header"
            | "footer"
            | "p"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "ul"
            | "ol"
            | "pre"
            | "div"
            | "blockquote"
            | "hr"
            | "address"
            | "figure"
            | "figcaption"
            | "form"
            | "fieldset"
            | "ins"
            | "del"
            | "dl"
            | "dt"
            | "dd"
            | "li"
            | "table"
            | "caption"
            | "thead"
            | "tfoot"
            | "tbody"
            | "colgroup"
            | "col"
            | "tr"
            | "th"
            | "td"
            | "video"
            | "audio"
            | "canvas"
            | "details"
            | "menu"
            | "plaintext"
            | "template"
            | "article"
            | "main"
            | "svg"
            | "math"
            | "center"
            | "dir"
            | "applet"
            | "marquee"
            | "listing"
    )
}

/// A JMESPath result as JMeter prints it: a string bare, anything else as compact JSON.
fn jmes_to_string(value: &jmespath::Variable) -> String {
    match value {
        jmespath::Variable::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// The first JSON value of a text: Jackson, which JMeter's JMESPath elements use, ignores
/// what follows it.
fn first_json_value(text: &str) -> Result<serde_json::Value, String> {
    match serde_json::Deserializer::from_str(text)
        .into_iter::<serde_json::Value>()
        .next()
    {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(e.to_string()),
        None => Err("No content to map due to end-of-input".into()),
    }
}

/// JMESPath Extractor.
pub fn jmespath_extract(x: &JmesPathExtractor, response: &Response<'_>, ctx: &mut dyn Context) {
    let refname = &x.refname;
    let default = x.default.render(ctx);
    let number = match_number(x.match_number.render(ctx));
    let inputs: Vec<Option<String>> = match &x.field {
        Field::Variable(name) => vec![variable(ctx, name)],
        _ => response
            .inputs(&Field::Body, x.scope, ctx)
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .map(Some)
            .collect(),
    };
    // JMeter's `clearOldRefVars`.
    ctx.remove_var(&format!("{refname}_matchNr"));
    let mut i = 1;
    while ctx.var_by_name(&format!("{refname}_{i}")).is_some() {
        ctx.remove_var(&format!("{refname}_{i}"));
        i += 1;
    }
    if inputs.is_empty() {
        ctx.set_var(refname, default);
        return;
    }
    let mut values = Vec::new();
    for input in inputs {
        let found = input
            .as_deref()
            .and_then(|text| first_json_value(text).ok())
            .and_then(|json| x.expr.search(json).ok());
        let Some(found) = found else {
            ctx.set_var(refname, default);
            return;
        };
        match &*found {
            jmespath::Variable::Null => {}
            jmespath::Variable::Array(items) => {
                values.extend(items.iter().map(|v| jmes_to_string(v)))
            }
            other => values.push(jmes_to_string(other)),
        }
    }
    let match_nr = format!("{refname}_matchNr");
    match values.len() {
        0 => {
            ctx.set_var(refname, default);
            ctx.set_var(&match_nr, "0".into());
            return;
        }
        1 if number < 0 => ctx.set_var(&format!("{refname}_1"), values[0].clone()),
        1 => ctx.set_var(refname, values[0].clone()),
        n => match number {
            k if k < 0 => {
                for (i, v) in values.iter().enumerate() {
                    ctx.set_var(&format!("{refname}_{}", i + 1), v.clone());
                }
            }
            0 => {
                let i = ctx.env().rng().usize(..n);
                ctx.set_var(refname, values[i].clone());
            }
            k => {
                let value = values.get(k as usize - 1).cloned().unwrap_or(default);
                ctx.set_var(refname, value);
            }
        },
    }
    ctx.set_var(&match_nr, values.len().to_string());
}

/// JMESPath Assertion.
pub fn jmespath_assert(
    a: &JmesPathAssertion,
    response: &Response<'_>,
    ctx: &mut dyn Context,
) -> Verdict {
    if response.body.is_empty() {
        return Verdict::failure("Response was null".into());
    }
    let expected = a.expected.render(ctx);
    let checked = (|| -> Result<bool, String> {
        let json = first_json_value(response.body)?;
        let node = a.expr.search(json).map_err(|e| e.to_string())?;
        if !a.validate {
            return Ok(!node.is_null());
        }
        if a.expect_null {
            return Ok(node.is_null());
        }
        let text = jmes_to_string(&node);
        if a.is_regex {
            let regex = crate::plan::function::cached_regex(&format!("^(?:{expected})$"))
                .map_err(|e| e.to_string())?;
            return Ok(regex.is_match(&text));
        }
        if text == expected {
            return Ok(true);
        }
        let wanted: serde_json::Value =
            serde_json::from_str(&expected).map_err(|e| e.to_string())?;
        let got = serde_json::to_value(&*node).map_err(|e| e.to_string())?;
        Ok(wanted == got)
    })();
    let not = if a.invert { " not" } else { "" };
    match checked {
        // JMeter swallows the exception of an inverted assertion.
        Err(_) if a.invert => Verdict::pass(Some(String::new())),
        Err(message) => Verdict {
            failure: false,
            error: true,
            message: Some(message),
        },
        Ok(success) if success != a.invert => Verdict::pass(Some(String::new())),
        Ok(_) => Verdict::failure(if !a.validate {
            format!("JMESPATH {} expected{not} to exist", a.path_text)
        } else if a.expect_null {
            format!("Value expected{not} to be null")
        } else if a.is_regex {
            format!("Value expected{not} to match {expected}")
        } else {
            format!("Value expected{not} to be equal to {expected}")
        }),
    }
}

/// XPath Assertion (XPath 1) and XPath2 Assertion.
pub fn xpath_assert(a: &XPathAssertion, response: &Response<'_>, ctx: &mut dyn Context) -> Verdict {
    let input = match &a.field {
        Field::Variable(name) => variable(ctx, name).unwrap_or_default(),
        _ => response.body.to_string(),
    };
    if input.is_empty() {
        return Verdict::failure("Response was null".into());
    }
    let q = &a.query;
    if a.xpath2 {
        if q.is_empty() {
            return Verdict::pass(Some(String::new()));
        }
        let error = |message: String| Verdict {
            failure: false,
            error: true,
            message: Some(format!(
                "Exception occurred computing assertion with XPath:{q}, error:{message}"
            )),
        };
        let package = match markup::parse_xml(&input) {
            Ok(p) => p,
            Err(m) => return error(m),
        };
        let result = match markup::evaluate(package.as_document(), q, &a.namespaces) {
            Ok(Found::Nodes(nodes)) => !nodes.is_empty(),
            Ok(Found::Boolean(b)) => b,
            Ok(Found::Scalar(_)) => true,
            Err(m) => return error(m),
        };
        return matched_for(q, a.negate, result);
    }
    let package = match parse_for_xpath(&input, a.tolerant, a.namespace) {
        Ok(p) => p,
        // Tidy's own failures have no prefix in JMeter's message.
        Err(m) if a.tolerant => return Verdict::failure(m),
        Err(m) => {
            return Verdict {
                failure: false,
                error: true,
                message: Some(format!("SAXException: {m}")),
            }
        }
    };
    let doc = package.as_document();
    let prefixes = markup::root_prefixes(doc);
    match markup::evaluate(doc, q, &prefixes) {
        Ok(Found::Nodes(nodes)) if nodes.is_empty() => Verdict {
            failure: !a.negate,
            error: false,
            message: Some(format!("No Nodes Matched {q}")),
        },
        Ok(Found::Nodes(_)) if a.negate => Verdict::failure(
            "Specified XPath was found... Turn off negate if this is not desired".into(),
        ),
        Ok(Found::Nodes(_)) => Verdict::pass(Some(String::new())),
        Ok(Found::Boolean(b)) => matched_for(q, a.negate, b),
        Ok(Found::Scalar(_)) => Verdict::failure(format!("Cannot understand: {q}")),
        Err(m) => Verdict {
            failure: false,
            error: true,
            message: Some(format!("TransformerException: {m} for: {q}")),
        },
    }
}

/// A boolean XPath verdict: the message is set whether it passes or not.
fn matched_for(query: &str, negate: bool, result: bool) -> Verdict {
    Verdict {
        failure: if negate { result } else { !result },
        error: false,
        message: Some(if negate {
            format!("Nodes Matched for {query}")
        } else {
            format!("No Nodes Matched for {query}")
        }),
    }
}

/// XML Assertion: well-formed, and no DOCTYPE (JMeter's parser disallows it).
pub fn xml_assert(response: &Response<'_>) -> Verdict {
    if response.body.is_empty() {
        return Verdict::failure("Response was null".into());
    }
    let message = if has_doctype(response.body) {
        Some("DOCTYPE is disallowed when the feature \"http://apache.org/xml/features/disallow-doctype-decl\" set to true.".to_string())
    } else {
        // JMeter's XML Assertion parser is not namespace-aware.
        markup::parse_xml_unaware(response.body).err()
    };
    match message {
        Some(message) => Verdict {
            failure: true,
            error: true,
            message: Some(message),
        },
        None => Verdict::pass(None),
    }
}

/// A `<!DOCTYPE` before the document element.
fn has_doctype(text: &str) -> bool {
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        if rest.starts_with("<!DOCTYPE") {
            return true;
        }
        if !(rest.starts_with("<?") || rest.starts_with("<!--")) {
            return false;
        }
        rest = &rest[1..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_after_the_first_value_is_ignored_as_jackson_does() {
        assert_eq!(first_json_value("{\"a\":1}\n{\"a\":2}").unwrap()["a"], 1);
        assert!(first_json_value("").is_err());
        assert!(first_json_value("{'a': 1}").is_err());
    }
}

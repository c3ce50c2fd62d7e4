//! The HTML Link Parser (`AnchorModifier`): before an HTTP sampler runs, it reads the links and
//! forms of the user's previous HTML response, keeps those the sampler's protocol, domain, path
//! and argument names match (each may be a regular expression), and sends the sampler to one of
//! them, chosen at random. JMeter's `AnchorModifier` and `HtmlParsingUtils` define the rules;
//! this module follows them with rmeter's own tag reader (`embedded::each_start_tag`).

use super::embedded::{decode_entities, each_start_tag, find_end_tag};

/// A link or form of the previous page.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub protocol: String,
    pub domain: String,
    pub path: String,
    /// A link's query arguments as written (not decoded), or a form's fields (decoded).
    pub args: Vec<(String, String)>,
    pub form: bool,
}

/// The sampler as rendered, before the modifier acts.
pub struct Sampler<'a> {
    pub protocol: &'a str,
    pub domain: &'a str,
    pub path: &'a str,
    pub args: &'a [(String, String)],
}

/// The links (`<a href>`, `<frame src>`) and forms (`<form action>` with their `<input>`,
/// `<textarea>` and `<option>` fields) of `body`, a page fetched from `page`.
pub fn candidates(body: &str, page: &url::Url) -> Vec<Candidate> {
    let text = &body[body.find('<').unwrap_or(0)..];
    // The first `<base href>` sets where links (not forms) resolve from.
    let mut base: Option<url::Url> = None;
    each_start_tag(text, |tag, attributes, _| {
        if tag == "base" && base.is_none() {
            let href = attribute(attributes, "href").unwrap_or("");
            base = Some(page.join(href).unwrap_or_else(|_| page.clone()));
        }
    });
    let link_base = base.as_ref().unwrap_or(page);
    let mut links = Vec::new();
    let mut forms: Vec<Candidate> = Vec::new();
    let mut in_form = false;
    let mut select_name = String::new();
    each_start_tag(text, |tag, attributes, end| match tag {
        "a" | "frame" => {
            let name = if tag == "a" { "href" } else { "src" };
            if let Some(href) = attribute(attributes, name) {
                if !href.starts_with("javascript:") {
                    if let Some(link) = resolve(href, link_base, false) {
                        links.push(link);
                    }
                }
            }
        }
        "form" => {
            // A form without an action is no candidate; its fields are not collected either.
            if let Some(action) = attribute(attributes, "action") {
                if let Some(form) = resolve(action, page, true) {
                    forms.push(form);
                    in_form = true;
                }
            }
        }
        // JMeter keeps adding fields to the last form after it ends.
        "input" if in_form => {
            let name = attribute(attributes, "name").unwrap_or("");
            let value = attribute(attributes, "value").unwrap_or("");
            if let Some(form) = forms.last_mut() {
                form.args.push((form_decode(name), form_decode(value)));
            }
        }
        "textarea" if in_form => {
            let name = attribute(attributes, "name").unwrap_or("");
            let content = &text[end..];
            let content = &content[..find_end_tag(content, "textarea").unwrap_or(content.len())];
            if let Some(form) = forms.last_mut() {
                form.args
                    .push((form_decode(name), form_decode(&decode_entities(content))));
            }
        }
        "select" => select_name = attribute(attributes, "name").unwrap_or("").to_string(),
        "option" if in_form => {
            let value = match attribute(attributes, "value") {
                Some(v) => v.to_string(),
                None => {
                    let content = &text[end..];
                    decode_entities(content[..content.find('<').unwrap_or(content.len())].trim())
                }
            };
            if let Some(form) = forms.last_mut() {
                form.args.push((select_name.clone(), value));
            }
        }
        _ => {}
    });
    // JMeter's order: anchors, then forms, then frames; a random pick makes the order moot
    // except for tests, so links (anchors and frames in document order) come first.
    links.extend(forms);
    links
}

fn attribute<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A link's or form's target, relative to `base`; `None` when it is not a URL.
fn resolve(href: &str, base: &url::Url, form: bool) -> Option<Candidate> {
    let url = base.join(href.trim()).ok()?;
    let host = url.host_str()?;
    let mut args = Vec::new();
    if let Some(query) = url.query() {
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !name.is_empty() {
                args.push((name.to_string(), value.to_string()));
            }
        }
    }
    if form {
        for (name, value) in &mut args {
            *name = form_decode(name);
            *value = form_decode(value);
        }
    }
    Some(Candidate {
        protocol: url.scheme().to_string(),
        domain: host.to_string(),
        path: url.path().to_string(),
        args,
        form,
    })
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space), as JMeter decodes form fields.
/// A `%` not followed by two hex digits is kept as it is.
pub(super) fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let hex = |b: u8| (b as char).to_digit(16);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A pattern of the sampler: matched as equal text, or as a regular expression over the whole
/// text. Compiled once per use of the modifier, not per candidate.
struct Pattern {
    text: String,
    regex: Option<regex::Regex>,
}

impl Pattern {
    /// `prefix` goes before the pattern in the regular expression only.
    fn new(prefix: &str, text: &str) -> Pattern {
        Pattern {
            text: text.to_string(),
            regex: regex::Regex::new(&format!("^(?:{prefix}{text})$")).ok(),
        }
    }

    fn fits(&self, text: &str) -> bool {
        text == self.text || self.regex.as_ref().is_some_and(|r| r.is_match(text))
    }
}

/// The sampler's protocol (empty: `http`), domain (when set), path and argument names, ready to
/// be matched against each candidate.
pub struct Matcher {
    protocol: Pattern,
    domain: Option<Pattern>,
    path: Pattern,
    /// Each argument name, as text and as a regular expression found anywhere in the query.
    args: Vec<(String, Option<regex::Regex>)>,
}

impl Matcher {
    pub fn new(sampler: &Sampler<'_>) -> Matcher {
        let protocol = if sampler.protocol.is_empty() {
            "http"
        } else {
            sampler.protocol
        };
        Matcher {
            protocol: Pattern::new("", protocol),
            domain: (!sampler.domain.is_empty()).then(|| Pattern::new("", sampler.domain)),
            path: Pattern::new("[/]*", sampler.path),
            args: sampler
                .args
                .iter()
                .map(|(name, _)| (format!("{name}="), regex::Regex::new(name).ok()))
                .collect(),
        }
    }

    /// Whether all of the sampler's parts match the candidate.
    pub fn matches(&self, candidate: &Candidate) -> bool {
        if !self.protocol.fits(&candidate.protocol)
            || !self
                .domain
                .as_ref()
                .is_none_or(|d| d.fits(&candidate.domain))
            || !self.path.fits(&candidate.path)
        {
            return false;
        }
        if self.args.is_empty() {
            return true;
        }
        // The query as text, decoded.
        let decode = |s: &str| {
            if candidate.form {
                s.to_string()
            } else {
                form_decode(s)
            }
        };
        let query = candidate
            .args
            .iter()
            .map(|(n, v)| format!("{}={}", decode(n), decode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.args.iter().all(|(with_equals, regex)| {
            query.contains(with_equals.as_str())
                || regex.as_ref().is_some_and(|r| r.is_match(&query))
        })
    }
}

/// What the sampler becomes: the chosen target's protocol, domain and path, and its arguments
/// (a link's replace the sampler's; a form's fields fill the sampler's arguments they match,
/// each field used once).
pub fn apply(
    chosen: &Candidate,
    args: &mut Vec<(String, String)>,
    rng: &mut fastrand::Rng,
) -> (String, String, String) {
    if chosen.form {
        let mut fields = chosen.args.clone();
        for (name, value) in args.iter_mut() {
            let (name_pattern, value_pattern) = (Pattern::new("", name), Pattern::new("", value));
            let fitting: Vec<usize> = fields
                .iter()
                .enumerate()
                .filter(|(_, (n, v))| name_pattern.fits(n) && value_pattern.fits(v))
                .map(|(i, _)| i)
                .collect();
            if !fitting.is_empty() {
                let (n, v) = fields.remove(fitting[rng.usize(..fitting.len())]);
                *name = n;
                *value = v;
            }
        }
    } else {
        *args = chosen.args.clone();
    }
    (
        chosen.protocol.clone(),
        chosen.domain.clone(),
        chosen.path.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head><base href="/subdir/"></head><body>
<a href="index.html?q=1&amp;r=two">one</a> <a href="javascript:go()">no</a>
<A HREF="https://elsewhere.example/x">out</A>
<form action="/login?from=home" method="get"><input type="hidden" name="token" value="a+b%21">
<textarea name="note">hi &amp; bye</textarea>
<select name="choice"><option value="x">X</option><option>y</option></select></form>
<input name="late" value="1"><frame src="frame.html">
<form><input name="lost" value="1"></form></body></html>"#;

    fn page() -> url::Url {
        url::Url::parse("http://bank.test/start/page.html").unwrap()
    }

    #[test]
    fn links_and_forms_of_a_page() {
        let found = candidates(PAGE, &page());
        let paths: Vec<(&str, &str, bool)> = found
            .iter()
            .map(|c| (c.domain.as_str(), c.path.as_str(), c.form))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("bank.test", "/subdir/index.html", false),
                ("elsewhere.example", "/x", false),
                ("bank.test", "/subdir/frame.html", false),
                // Forms resolve against the page, not <base>.
                ("bank.test", "/login", true),
            ]
        );
        assert_eq!(
            found[0].args,
            vec![("q".into(), "1".into()), ("r".into(), "two".into())]
        );
        let form: Vec<(&str, &str)> = found[3]
            .args
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            form,
            vec![
                ("from", "home"),
                ("token", "a b!"),
                ("note", "hi & bye"),
                ("choice", "x"),
                ("choice", "y"),
                ("late", "1"),
                ("lost", "1"),
            ]
        );
    }

    #[test]
    fn matching_by_protocol_domain_path_and_argument_names() {
        let found = candidates(PAGE, &page());
        let sampler = |protocol, domain, path, args: &[(String, String)]| {
            found
                .iter()
                .filter(|c| {
                    Matcher::new(&Sampler {
                        protocol,
                        domain,
                        path,
                        args,
                    })
                    .matches(c)
                })
                .map(|c| c.path.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            sampler("", "", ".*index.*", &[]),
            vec!["/subdir/index.html"]
        );
        assert_eq!(sampler("https", "", ".*", &[]), vec!["/x"]);
        assert_eq!(sampler("", "bank\\.test", "login", &[]), vec!["/login"]);
        let wants_token = [("token".to_string(), ".*".to_string())];
        assert_eq!(sampler("", "", ".*", &wants_token), vec!["/login"]);
        let wants_nothing_there = [("absent".to_string(), String::new())];
        assert!(sampler("", "", ".*", &wants_nothing_there).is_empty());
    }

    #[test]
    fn a_form_fills_the_arguments_it_matches() {
        let found = candidates(PAGE, &page());
        let form = found.iter().find(|c| c.form).unwrap();
        let mut args = vec![
            ("token".to_string(), ".*".to_string()),
            ("choice".to_string(), "y".to_string()),
            ("kept".to_string(), "as is".to_string()),
        ];
        let target = apply(form, &mut args, &mut fastrand::Rng::with_seed(1));
        assert_eq!(target, ("http".into(), "bank.test".into(), "/login".into()));
        assert_eq!(args[0], ("token".into(), "a b!".into()));
        assert_eq!(args[1], ("choice".into(), "y".into()));
        assert_eq!(args[2], ("kept".into(), "as is".into()));
        let link = &found[0];
        let target = apply(link, &mut args, &mut fastrand::Rng::with_seed(1));
        assert_eq!(target.2, "/subdir/index.html");
        assert_eq!(args, link.args);
    }
}

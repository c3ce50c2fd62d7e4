//! HTTP Request samplers with HTTP Request Defaults, Header Managers and the Cookie Manager merged
//! in, by JMeter's rules (reference §4.3):
//! - a default is copied only when the sampler's own property is missing or empty, and the closest
//!   default wins; default arguments are appended to the sampler's;
//! - headers: the innermost manager is the base, outer managers add names not yet present;
//! - the outermost Cookie Manager wins.

use std::time::Duration;

use super::diagnostic::DiagnosticKind;
use super::reader::Props;
use super::template::Template;
use crate::jmx::{Element, PropValue};

/// HTTP Request Defaults: the raw `HTTPSampler.*` strings and arguments, merged per sampler.
#[derive(Debug, Default)]
pub struct HttpDefaults {
    fields: Vec<(String, String)>,
    args: Vec<RawArg>,
}

/// One Header Manager's headers, as written.
#[derive(Debug, Default)]
pub struct HeaderSet {
    headers: Vec<(String, String)>,
}

/// A Cookie Manager in scope: the sampler keeps cookies in its user's jar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookiePolicy {
    pub clear_each_iteration: bool,
    /// `controlledByThreadGroup`: a new user on each iteration (`same_user_on_next_iteration=false`)
    /// also clears the jar.
    pub controlled_by_thread_group: bool,
    /// Policy `ignoreCookies`: the manager neither stores nor sends cookies.
    pub ignore: bool,
}

/// A Cache Manager in scope: the sampler keeps validators (and expiry dates) in its user's cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachePolicy {
    pub clear_each_iteration: bool,
    /// `useExpires`: a fresh entry answers a GET without a request.
    pub use_expires: bool,
    /// `CacheManager.controlledByThread`: only a new user (`same_user_on_next_iteration=false`)
    /// clears the cache; `clearEachIteration` is then ignored.
    pub controlled_by_thread: bool,
    pub max_size: usize,
}

/// "Retrieve All Embedded Resources" and its settings.
#[derive(Debug)]
pub struct EmbeddedResources {
    /// `embedded_url_re`: only URLs that match it whole are fetched.
    pub include: Option<regex::Regex>,
    /// `embedded_url_exclude_re`: URLs that match it whole are not.
    pub exclude: Option<regex::Regex>,
    /// `concurrentDwn` with `concurrentPool` downloads at once; 1 is sequential.
    pub pool: usize,
}

/// An Authorization Manager's entry: credentials for the URLs that start with `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// An empty prefix matches every URL.
    pub url: String,
    pub username: String,
    pub password: String,
    /// A non-empty domain makes the user `DOMAIN\user`, as HttpClient's NT credentials.
    pub domain: String,
    /// DIGEST: answered to the server's challenge, never sent first.
    pub digest: bool,
    /// A realm the challenge must name (empty: any).
    pub realm: String,
}

/// An HTTP request, compiled.
#[derive(Debug)]
pub struct HttpRequest {
    pub protocol: Template,
    pub domain: Template,
    pub port: Template,
    pub path: Template,
    pub method: String,
    pub follow_redirects: bool,
    pub auto_redirects: bool,
    pub keep_alive: bool,
    pub args: Vec<HttpArg>,
    /// `postBodyRaw`: the body is the arguments' values, concatenated.
    pub raw_body: bool,
    /// `DO_MULTIPART_POST`; files with field names make a body multipart anyway.
    pub multipart: bool,
    /// `BROWSER_COMPATIBLE_MULTIPART`: parts without Content-Transfer-Encoding (and argument
    /// parts without Content-Type).
    pub browser_compatible: bool,
    pub files: Vec<FileArg>,
    pub connect_timeout: Option<Duration>,
    pub response_timeout: Option<Duration>,
    /// Merged headers, first wins on duplicate names only for the merge itself.
    pub headers: Vec<(Template, Template)>,
    pub cookies: Option<CookiePolicy>,
    pub cache: Option<CachePolicy>,
    pub embedded: Option<std::sync::Arc<EmbeddedResources>>,
    /// The Authorization Manager's entries, first match wins (Basic, sent pre-emptively).
    pub credentials: Option<std::sync::Arc<[Credentials]>>,
}

/// A query or form argument.
#[derive(Debug)]
pub struct HttpArg {
    pub name: Template,
    pub value: Template,
    pub always_encode: bool,
    pub use_equals: bool,
    /// `HTTPArgument.content_type`: the part's type in a multipart body (`text/plain`).
    pub content_type: String,
}

/// A file to upload (`HTTPsampler.Files`).
#[derive(Debug)]
pub struct FileArg {
    pub path: Template,
    /// The form field; empty with a single file and no arguments: the file is the body.
    pub param: Template,
    pub mime: Template,
}

#[derive(Debug, Clone)]
struct RawArg {
    name: String,
    value: String,
    always_encode: bool,
    use_equals: bool,
    content_type: String,
}

pub fn defaults(element: &Element) -> HttpDefaults {
    let fields = element
        .props
        .iter()
        .filter_map(|p| match &p.value {
            PropValue::Scalar(_, text) if p.name.starts_with("HTTPSampler.") => {
                Some((p.name.clone(), text.clone()))
            }
            _ => None,
        })
        .collect();
    HttpDefaults {
        fields,
        args: raw_args(element),
    }
}

pub fn header_set(element: &Element) -> HeaderSet {
    let headers = element
        .collection("HeaderManager.headers")
        .iter()
        .filter_map(|item| match &item.value {
            PropValue::Element(h) => Some((
                h.text("Header.name").unwrap_or("").to_string(),
                h.text("Header.value").unwrap_or("").to_string(),
            )),
            _ => None,
        })
        .filter(|(name, _)| !name.trim().is_empty())
        .collect();
    HeaderSet { headers }
}

pub fn cookie_policy(p: &mut Props<'_, '_>) -> CookiePolicy {
    if !p.element.collection("CookieManager.cookies").is_empty() {
        p.unsupported_option(
            "CookieManager.cookies",
            "predefined cookies are not supported yet",
        );
    }
    // Every other policy is run with RFC 6265 rules, which is what `standard` (the default) is.
    let ignore = p
        .text("CookieManager.policy")
        .trim()
        .eq_ignore_ascii_case("ignoreCookies");
    CookiePolicy {
        clear_each_iteration: p.bool("CookieManager.clearEachIteration", false),
        controlled_by_thread_group: p.bool("CookieManager.controlledByThreadGroup", false),
        ignore,
    }
}

pub fn cache_policy(p: &mut Props<'_, '_>) -> CachePolicy {
    let max_size = p.int("maxSize", 5000);
    CachePolicy {
        clear_each_iteration: p.bool("clearEachIteration", false),
        use_expires: p.bool("useExpires", false),
        controlled_by_thread: p.bool("CacheManager.controlledByThread", false),
        max_size: max_size.clamp(1, 1 << 24) as usize,
    }
}

/// An Authorization Manager. Basic credentials are sent with the first request, as JMeter does
/// with `httpclient4.auth.preemptive=true` (its default); Digest ones answer the server's
/// challenge (RFC 7616 with MD5, as HttpClient 4); Kerberos is unsupported.
pub fn credentials(p: &mut Props<'_, '_>) -> Vec<Credentials> {
    let mut out = Vec::new();
    for item in p.element.collection("AuthManager.auth_list") {
        let crate::jmx::PropValue::Element(entry) = &item.value else {
            continue;
        };
        let text = |name: &str| entry.text(name).unwrap_or("").to_string();
        let mechanism = text("Authorization.mechanism");
        if !matches!(mechanism.trim(), "" | "BASIC" | "BASIC_DIGEST" | "DIGEST") {
            p.unsupported_option(
                "Authorization.mechanism",
                &format!("`{mechanism}` is not supported yet; only BASIC and DIGEST are"),
            );
            continue;
        }
        for (name, value) in [
            ("Authorization.url", text("Authorization.url")),
            ("Authorization.username", text("Authorization.username")),
            ("Authorization.password", text("Authorization.password")),
        ] {
            if value.contains("${") {
                p.unsupported_option(
                    name,
                    "an expression in an Authorization Manager entry is not supported yet",
                );
            }
        }
        out.push(Credentials {
            url: text("Authorization.url"),
            username: text("Authorization.username"),
            password: text("Authorization.password"),
            domain: text("Authorization.domain"),
            digest: mechanism.trim() == "DIGEST",
            realm: text("Authorization.realm"),
        });
    }
    out
}

/// The DNS Cache Manager: only its system-resolver form runs (see the support table).
/// With "use custom DNS resolver", its static host table (name → addresses) is returned; its own
/// DNS servers are unsupported (names outside the table go to the system resolver, as JMeter's
/// resolver does without servers).
pub fn dns_cache_manager(p: &mut Props<'_, '_>) -> Vec<(String, Vec<std::net::IpAddr>)> {
    if !p.bool("DNSCacheManager.isCustomResolver", false) {
        return Vec::new();
    }
    let has_servers = p
        .element
        .collection("DNSCacheManager.servers")
        .iter()
        .any(|s| matches!(&s.value, PropValue::Scalar(_, t) if !t.trim().is_empty()));
    if has_servers {
        p.unsupported_option(
            "DNSCacheManager.servers",
            "querying the plan's own DNS servers is not supported yet; the static host table is",
        );
    }
    let mut table = Vec::new();
    for item in p.element.collection("DNSCacheManager.hosts") {
        let PropValue::Element(host) = &item.value else {
            continue;
        };
        let name = host
            .text("StaticHost.Name")
            .unwrap_or("")
            .trim()
            .to_string();
        let text = host.text("StaticHost.Address").unwrap_or("").to_string();
        let mut addresses = Vec::new();
        for part in text.split([',', ' ']).filter(|a| !a.trim().is_empty()) {
            match part.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => addresses.push(ip),
                Err(_) => p.error(DiagnosticKind::BadValue {
                    prop: "StaticHost.Address".into(),
                    expected: "IP addresses",
                    value: text.clone(),
                }),
            }
        }
        if !name.is_empty() && !addresses.is_empty() {
            table.push((name, addresses));
        }
    }
    table
}

fn raw_args(element: &Element) -> Vec<RawArg> {
    let Some(arguments) = element.element("HTTPsampler.Arguments") else {
        return Vec::new();
    };
    arguments
        .collection("Arguments.arguments")
        .iter()
        .filter_map(|item| match &item.value {
            PropValue::Element(arg) => Some(RawArg {
                name: arg.text("Argument.name").unwrap_or("").to_string(),
                value: arg.text("Argument.value").unwrap_or("").to_string(),
                always_encode: arg
                    .text("HTTPArgument.always_encode")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
                use_equals: arg
                    .text("HTTPArgument.use_equals")
                    .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false")),
                content_type: arg
                    .text("HTTPArgument.content_type")
                    .unwrap_or("text/plain")
                    .to_string(),
            }),
            _ => None,
        })
        .collect()
}

/// Builds a sampler's request, merging what is in scope. `defaults` and `headers` come innermost
/// level first, in tree order within a level.
pub fn request(
    p: &mut Props<'_, '_>,
    defaults: &[std::sync::Arc<HttpDefaults>],
    headers: &[std::sync::Arc<HeaderSet>],
    cookies: Option<&CookiePolicy>,
    cache: Option<&CachePolicy>,
    credentials: Option<&std::sync::Arc<[Credentials]>>,
) -> Option<HttpRequest> {
    let merged = |name: &str, own: &str| -> String {
        if !own.is_empty() {
            return own.to_string();
        }
        defaults
            .iter()
            .find_map(|d| {
                d.fields
                    .iter()
                    .find(|(k, v)| k == name && !v.is_empty())
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_default()
    };
    let field = |p: &Props<'_, '_>, name: &str| merged(name, p.text(name));

    for (prop, why) in [(
        "HTTPSampler.md5",
        "saving the response as an MD5 hash is not supported yet",
    )] {
        if field(p, prop).trim().eq_ignore_ascii_case("true") {
            p.unsupported_option(prop, why);
        }
    }
    for (prop, why) in [
        ("HTTPSampler.proxyHost", "a proxy is not supported yet"),
        (
            "HTTPSampler.FILE_NAME",
            "the single-file upload properties of JMeter 2.3 are not supported yet; use HTTPsampler.Files",
        ),
        (
            "HTTPSampler.ipSource",
            "a source address is not supported yet",
        ),
    ] {
        if !field(p, prop).trim().is_empty() {
            p.unsupported_option(prop, why);
        }
    }

    let embedded = if field(p, "HTTPSampler.image_parser")
        .trim()
        .eq_ignore_ascii_case("true")
    {
        let pattern = |p: &mut Props<'_, '_>, name: &str| -> Option<regex::Regex> {
            let text = field(p, name);
            if text.trim().is_empty() {
                return None;
            }
            if text.contains("${") {
                p.unsupported_option(name, "an expression in this pattern is not supported yet");
                return None;
            }
            // JMeter matches the whole URL.
            match regex::Regex::new(&format!("^(?:{text})$")) {
                Ok(re) => Some(re),
                Err(e) => {
                    p.error(DiagnosticKind::BadValue {
                        prop: name.to_string(),
                        expected: "a regular expression",
                        value: format!("{text} ({e})"),
                    });
                    None
                }
            }
        };
        let concurrent = field(p, "HTTPSampler.concurrentDwn")
            .trim()
            .eq_ignore_ascii_case("true");
        // JMeter: a pool size that is not a number is 6.
        let pool = field(p, "HTTPSampler.concurrentPool")
            .trim()
            .parse::<usize>()
            .unwrap_or(6)
            .max(1);
        Some(std::sync::Arc::new(EmbeddedResources {
            include: pattern(p, "HTTPSampler.embedded_url_re"),
            exclude: pattern(p, "HTTPSampler.embedded_url_exclude_re"),
            pool: if concurrent { pool } else { 1 },
        }))
    } else {
        None
    };

    let compile = |p: &mut Props<'_, '_>, text: &str| p.builder.template(&p.path.clone(), text);
    let protocol = field(p, "HTTPSampler.protocol");
    let domain = field(p, "HTTPSampler.domain");
    let port = field(p, "HTTPSampler.port");
    let path = field(p, "HTTPSampler.path");
    let encoding = field(p, "HTTPSampler.contentEncoding");
    if !matches!(
        encoding.trim().to_ascii_lowercase().as_str(),
        "" | "utf-8" | "utf8"
    ) {
        p.unsupported_option(
            "HTTPSampler.contentEncoding",
            "only UTF-8 is supported for encoding arguments and bodies",
        );
    }
    let method = match p.text("HTTPSampler.method").trim() {
        "" => "GET".to_string(),
        m => m.to_ascii_uppercase(),
    };
    if reqwest::Method::from_bytes(method.as_bytes()).is_err() {
        p.error(DiagnosticKind::BadValue {
            prop: "HTTPSampler.method".into(),
            expected: "an HTTP method",
            value: method.clone(),
        });
        return None;
    }
    let timeout = |p: &mut Props<'_, '_>, name: &str| -> Option<Duration> {
        let text = field(p, name);
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        match text.parse::<u64>() {
            Ok(0) => None,
            Ok(ms) => Some(Duration::from_millis(ms)),
            Err(_) => {
                p.error(DiagnosticKind::BadValue {
                    prop: name.to_string(),
                    expected: "milliseconds",
                    value: text.to_string(),
                });
                None
            }
        }
    };
    let connect_timeout = timeout(p, "HTTPSampler.connect_timeout");
    let response_timeout = timeout(p, "HTTPSampler.response_timeout");

    let mut all_args = raw_args(p.element);
    for d in defaults {
        all_args.extend(d.args.iter().cloned());
    }
    let args = all_args
        .into_iter()
        .map(|a| HttpArg {
            name: compile(p, &a.name),
            value: compile(p, &a.value),
            always_encode: a.always_encode,
            use_equals: a.use_equals,
            content_type: a.content_type,
        })
        .collect();
    let files: Vec<FileArg> = p
        .element
        .element("HTTPsampler.Files")
        .map(|f| {
            f.collection("HTTPFileArgs.files")
                .iter()
                .filter_map(|item| match &item.value {
                    PropValue::Element(file) => Some((
                        file.text("File.path").unwrap_or("").to_string(),
                        file.text("File.paramname").unwrap_or("").to_string(),
                        file.text("File.mimetype").unwrap_or("").to_string(),
                    )),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .map(|(path, param, mime)| FileArg {
            path: compile(p, &path),
            param: compile(p, &param),
            mime: compile(p, &mime),
        })
        .collect();

    // JMeter's `HeaderManager.merge`: the innermost manager is kept whole (duplicates too),
    // outer ones add only names not present yet.
    let mut merged_headers: Vec<(String, String)> = Vec::new();
    for (i, set) in headers.iter().enumerate() {
        for (name, value) in &set.headers {
            if i == 0
                || !merged_headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                merged_headers.push((name.clone(), value.clone()));
            }
        }
    }
    let headers = merged_headers
        .iter()
        .map(|(n, v)| (compile(p, n), compile(p, v)))
        .collect();

    Some(HttpRequest {
        protocol: compile(p, &protocol),
        domain: compile(p, &domain),
        port: compile(p, &port),
        path: compile(p, &path),
        method,
        follow_redirects: p.bool("HTTPSampler.follow_redirects", false),
        auto_redirects: p.bool("HTTPSampler.auto_redirects", false),
        keep_alive: p.bool("HTTPSampler.use_keepalive", true),
        args,
        raw_body: p.bool("HTTPSampler.postBodyRaw", false),
        multipart: p.bool("HTTPSampler.DO_MULTIPART_POST", false),
        browser_compatible: p.bool("HTTPSampler.BROWSER_COMPATIBLE_MULTIPART", false),
        files,
        connect_timeout,
        response_timeout,
        headers,
        cookies: cookies.filter(|c| !c.ignore).cloned(),
        cache: cache.cloned(),
        embedded,
        credentials: credentials.filter(|c| !c.is_empty()).cloned(),
    })
}

//! JMeter properties: built-in defaults, `-q` files, `-J` options, and `__setProperty` at run time.
//!
//! JMeter keeps one process-wide property table. rmeter keeps one [`Properties`] per run, shared by
//! reference with every virtual user; reads take a read lock, which is uncontended because plans
//! write properties rarely (`__setProperty`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

/// The defaults of JMeter 5.6's `bin/jmeter.properties` that change what a run does.
/// Only uncommented lines of the shipped file are listed; code defaults live where they are used.
pub const JMETER_DEFAULTS: &[(&str, &str)] = &[
    ("sampleresult.timestamp.start", "true"),
    ("summariser.name", "summary"),
    ("summariser.interval", "30"),
    ("summariser.out", "true"),
    ("jmeterengine.nongui.port", "4445"),
    ("jmeterengine.nongui.maxport", "4455"),
    ("httpsampler.max_redirects", "20"),
    ("jmeter.version", "5.6.3"),
    ("user.properties", "user.properties"),
    ("system.properties", "system.properties"),
];

/// JMeter properties that change what JMeter's HTTP client does and that rmeter does not
/// implement, with the value (if any) that describes what rmeter does anyway. A property set to
/// anything else is reported at start, never silently ignored.
pub const UNHONOURED: &[(&str, Option<&str>)] = &[
    ("httpclient4.retrycount", Some("0")),
    ("httpclient4.request_sent_retry_enabled", Some("false")),
    ("httpclient4.idletimeout", None),
    ("httpclient4.time_to_live", None),
    ("httpclient4.validate_after_inactivity", Some("4900")),
    ("httpclient.socket.http.cps", Some("0")),
    ("httpclient.socket.https.cps", Some("0")),
    ("httpclient.localaddress", None),
    ("httpclient.timeout", None),
    ("httpclient4.auth.preemptive", Some("true")),
    ("httpsampler.embedded_resources_use_md5", Some("false")),
    // A Keystore Configuration's blank indexes are 0 and -1 (the last key).
    ("https.keyStoreStartIndex", Some("0")),
    ("https.keyStoreEndIndex", Some("-1")),
    // HttpClient's form entity type is sent; an explicit header as well is not added.
    ("http.post_add_content_type_if_missing", Some("false")),
    // The XPath 1 elements resolve only the prefixes the document element declares.
    ("xpath.namespace.config", Some("")),
];

/// Warnings for the [`UNHONOURED`] properties that are set.
pub fn unhonoured(props: &Properties) -> Vec<String> {
    UNHONOURED
        .iter()
        .filter_map(|(name, neutral)| {
            let value = props.get(name)?;
            (Some(value.trim()) != *neutral)
                .then(|| format!("property {name}={value} has no effect in rmeter"))
        })
        .collect()
}

/// A run's property table.
#[derive(Debug, Default)]
pub struct Properties {
    map: RwLock<HashMap<String, String>>,
}

/// A properties file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read properties file {path}: {cause}")]
pub struct PropertiesError {
    pub path: String,
    pub cause: std::io::Error,
}

impl Properties {
    /// The table JMeter starts from.
    pub fn with_jmeter_defaults() -> Properties {
        let props = Properties::default();
        for (k, v) in JMETER_DEFAULTS {
            props.set(k, v);
        }
        props
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.read().get(name).cloned()
    }

    /// Reads a property and calls `f` on it without copying the value.
    pub fn with<R>(&self, name: &str, f: impl FnOnce(Option<&str>) -> R) -> R {
        f(self.read().get(name).map(String::as_str))
    }

    /// Sets a property and returns the previous value.
    pub fn set(&self, name: &str, value: &str) -> Option<String> {
        match self.map.write() {
            Ok(mut map) => map.insert(name.to_string(), value.to_string()),
            Err(poisoned) => poisoned
                .into_inner()
                .insert(name.to_string(), value.to_string()),
        }
    }

    pub fn remove(&self, name: &str) {
        match self.map.write() {
            Ok(mut map) => map.remove(name),
            Err(poisoned) => poisoned.into_inner().remove(name),
        };
    }

    /// Every property, sorted by name (the Debug Sampler's listing).
    pub fn sorted(&self) -> Vec<(String, String)> {
        let map = match self.map.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut all: Vec<(String, String)> =
            map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort();
        all
    }

    /// `-J name=value`; JMeter: an empty value removes the property.
    pub fn apply_option(&self, name: &str, value: &str) {
        if value.is_empty() {
            self.remove(name);
        } else {
            self.set(name, value);
        }
    }

    /// A boolean property as JMeter reads it: `true` in any case is true.
    pub fn bool(&self, name: &str, default: bool) -> bool {
        self.with(name, |v| {
            v.map_or(default, |v| v.trim().eq_ignore_ascii_case("true"))
        })
    }

    /// An integer property; a missing or malformed value gives the default, as in JMeter.
    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.with(name, |v| {
            v.and_then(|v| v.trim().parse().ok()).unwrap_or(default)
        })
    }

    /// A comma-separated list property (`sample_variables=A,B`), trimmed, without empty items.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.with(name, |v| {
            v.unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
    }

    /// Loads a Java `.properties` file on top of the table.
    pub fn load_file(&self, path: &Path) -> Result<(), PropertiesError> {
        let bytes = std::fs::read(path).map_err(|cause| PropertiesError {
            path: path.display().to_string(),
            cause,
        })?;
        // Java reads .properties as ISO-8859-1; UTF-8 files are common today, so accept both.
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
        };
        for (k, v) in parse_properties(&text) {
            self.set(&k, &v);
        }
        Ok(())
    }

    /// A sorted copy, for `--debug` dumps and tests.
    pub fn snapshot(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = self
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort();
        all
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, String>> {
        match self.map.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Parses the Java `.properties` syntax: `key=value`, `key: value`, `key value`, `#`/`!` comments,
/// backslash line continuations and the escapes `\t \n \r \f \uXXXX`.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if logical.is_empty()
            && (trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!'))
        {
            continue;
        }
        logical.push_str(trimmed);
        if ends_with_odd_backslashes(&logical) {
            logical.pop();
            continue;
        }
        let _ = &mut lines;
        out.push(split_entry(&logical));
        logical.clear();
    }
    if !logical.is_empty() {
        out.push(split_entry(&logical));
    }
    out
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

fn split_entry(line: &str) -> (String, String) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut key_end = chars.len();
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '=' | ':' | ' ' | '\t' => {
                key_end = i;
                break;
            }
            _ => i += 1,
        }
    }
    let key: String = chars[..key_end.min(chars.len())].iter().collect();
    let mut j = key_end;
    while j < chars.len() && (chars[j] == ' ' || chars[j] == '\t') {
        j += 1;
    }
    if j < chars.len() && (chars[j] == '=' || chars[j] == ':') {
        j += 1;
        while j < chars.len() && (chars[j] == ' ' || chars[j] == '\t') {
            j += 1;
        }
    }
    let value: String = chars[j.min(chars.len())..].iter().collect();
    (unescape(&key), unescape(&value))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push_str(&hex),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_properties() {
        let text = "# comment\n! also\nusers=10\nhost : example.org\nname value with spaces\nlong=a\\\n   b\ntab=\\t|\\u0041\nempty=\n";
        let parsed = parse_properties(text);
        assert_eq!(
            parsed,
            vec![
                ("users".into(), "10".into()),
                ("host".into(), "example.org".into()),
                ("name".into(), "value with spaces".into()),
                ("long".into(), "ab".into()),
                ("tab".into(), "\t|A".into()),
                ("empty".into(), "".into()),
            ]
        );
    }

    #[test]
    fn unhonoured_properties_are_reported() {
        let props = Properties::with_jmeter_defaults();
        assert!(unhonoured(&props).is_empty());
        props.set("httpclient4.retrycount", "0");
        assert!(unhonoured(&props).is_empty(), "0 is what rmeter does");
        props.set("httpclient4.retrycount", "3");
        props.set("httpclient4.time_to_live", "60000");
        assert_eq!(unhonoured(&props).len(), 2);
    }

    #[test]
    fn empty_option_removes() {
        let props = Properties::with_jmeter_defaults();
        props.apply_option("x", "1");
        assert_eq!(props.get("x").as_deref(), Some("1"));
        props.apply_option("x", "");
        assert_eq!(props.get("x"), None);
        assert!(props.bool("sampleresult.timestamp.start", false));
    }
}

//! A virtual user's cookie jar (the Cookie Manager's store), with the RFC 6265 rules that the
//! HttpClient 4 "standard" policy JMeter uses applies: domain and path matching, `Secure`,
//! `Max-Age` and `Expires`, deletion by an expired cookie.

/// One stored cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cookie {
    name: String,
    value: String,
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    /// Expiry in epoch seconds; `None` for a session cookie.
    expires: Option<i64>,
}

/// Cookies of one user.
#[derive(Debug, Default, Clone)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

impl CookieJar {
    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// The value of the stored cookie with this name (the first, if several domains set one).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value.as_str())
    }

    /// Applies what happened between `before` and `after` (copies of a jar) to this jar: the
    /// cookies stored or changed, and the ones removed.
    pub fn merge_changes(&mut self, before: &CookieJar, after: &CookieJar) {
        let same =
            |a: &Cookie, b: &Cookie| a.name == b.name && a.domain == b.domain && a.path == b.path;
        for gone in before
            .cookies
            .iter()
            .filter(|b| !after.cookies.iter().any(|a| same(a, b)))
        {
            self.cookies.retain(|c| !same(c, gone));
        }
        for changed in after.cookies.iter().filter(|a| !before.cookies.contains(a)) {
            match self.cookies.iter_mut().find(|c| same(c, changed)) {
                Some(c) => *c = changed.clone(),
                None => self.cookies.push(changed.clone()),
            }
        }
    }

    /// Stores a `Set-Cookie` header received from `url`.
    pub fn store(&mut self, header: &str, url: &url::Url) {
        let Some(host) = url.host_str() else { return };
        let host = host.to_ascii_lowercase();
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let name = name.trim().to_string();
        if name.is_empty() {
            return;
        }
        let mut cookie = Cookie {
            name,
            value: value.trim().trim_matches('"').to_string(),
            domain: host.clone(),
            host_only: true,
            path: default_path(url.path()),
            secure: false,
            expires: None,
        };
        let now = crate::clock::epoch_millis() / 1000;
        let mut max_age: Option<i64> = None;
        for attribute in parts {
            let (key, val) = attribute
                .split_once('=')
                .map_or((attribute.trim(), ""), |(k, v)| (k.trim(), v.trim()));
            match key.to_ascii_lowercase().as_str() {
                "domain" if !val.is_empty() => {
                    let domain = val.trim_start_matches('.').to_ascii_lowercase();
                    // A server may only set cookies for its own domain or a parent of it.
                    if !domain_matches(&host, &domain) {
                        return;
                    }
                    cookie.domain = domain;
                    cookie.host_only = false;
                }
                "path" if val.starts_with('/') => cookie.path = val.to_string(),
                "secure" => cookie.secure = true,
                "max-age" => max_age = val.parse().ok(),
                "expires" => {
                    if let Ok(date) = chrono::DateTime::parse_from_rfc2822(&val.replace('-', " ")) {
                        cookie.expires = Some(date.timestamp());
                    }
                }
                _ => {}
            }
        }
        if let Some(age) = max_age {
            cookie.expires = Some(now.saturating_add(age));
        }
        self.cookies.retain(|c| {
            !(c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path)
        });
        if cookie.expires.is_none_or(|e| e > now) {
            self.cookies.push(cookie);
        }
    }

    /// The `Cookie` header for a request to `url`, or None when no cookie matches.
    pub fn header_for(&self, url: &url::Url) -> Option<String> {
        let host = url.host_str()?.to_ascii_lowercase();
        let path = url.path();
        let secure = url.scheme() == "https";
        let now = crate::clock::epoch_millis() / 1000;
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| {
                if c.host_only {
                    c.domain == host
                } else {
                    domain_matches(&host, &c.domain)
                }
            })
            .filter(|c| path_matches(path, &c.path))
            .filter(|c| secure || !c.secure)
            .filter(|c| c.expires.is_none_or(|e| e > now))
            .collect();
        if matching.is_empty() {
            return None;
        }
        // Longer paths first, as RFC 6265 asks.
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        Some(
            matching
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain || (host.ends_with(domain) && host[..host.len() - domain.len()].ends_with('.'))
}

fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/')))
}

fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => request_path[..i].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn stores_and_sends() {
        let mut jar = CookieJar::default();
        jar.store(
            "SESSION=abc; Path=/; HttpOnly",
            &url("http://127.0.0.1:8080/api/mfa"),
        );
        jar.store("pref=1", &url("http://127.0.0.1:8080/api/x"));
        assert_eq!(
            jar.header_for(&url("http://127.0.0.1:8080/api/accounts"))
                .as_deref(),
            Some("pref=1; SESSION=abc")
        );
        assert_eq!(
            jar.header_for(&url("http://127.0.0.1:8080/other"))
                .as_deref(),
            Some("SESSION=abc")
        );
        assert_eq!(jar.header_for(&url("http://localhost:8080/")), None);
        jar.store(
            "SESSION=; Max-Age=0; Path=/",
            &url("http://127.0.0.1:8080/api/logout"),
        );
        assert_eq!(jar.header_for(&url("http://127.0.0.1:8080/other")), None);
    }

    #[test]
    fn domains_and_secure() {
        let mut jar = CookieJar::default();
        jar.store(
            "a=1; Domain=.example.org; Secure",
            &url("https://www.example.org/"),
        );
        jar.store("b=2; Domain=evil.com", &url("https://www.example.org/"));
        assert_eq!(
            jar.header_for(&url("https://api.example.org/x")).as_deref(),
            Some("a=1")
        );
        assert_eq!(jar.header_for(&url("http://api.example.org/x")), None);
    }
}

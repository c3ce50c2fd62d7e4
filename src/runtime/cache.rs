//! A virtual user's HTTP Cache Manager: JMeter keeps, per thread and per URL, the validators
//! (`Last-Modified`, `ETag`) and, with "use Cache-Control/Expires", an expiry date of each
//! cacheable response; never the body. A later request carries `If-Modified-Since` and
//! `If-None-Match`, and a GET whose entry is still fresh is not sent at all.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::plan::http::CachePolicy;

/// What a GET answered from the cache leaves in the results
/// (`cache_manager.cached_resource_mode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedMode {
    /// `RETURN_NO_SAMPLE` (JMeter's default): no sample at all.
    NoSample,
    /// `RETURN_200_CACHE` and `RETURN_CUSTOM_STATUS`: a sample with this code and message.
    Sample { code: String, message: String },
}

#[derive(Debug, Clone)]
struct Entry {
    last_modified: Option<String>,
    etag: Option<String>,
    expires: Option<SystemTime>,
    /// The response's `Vary` header: the URL's entry then only points to per-variant entries.
    vary: Option<String>,
    /// Insertion order, for evicting the oldest entry when the cache is full.
    seq: u64,
}

/// One user's cache.
#[derive(Debug, Default, Clone)]
pub struct HttpCache {
    entries: HashMap<String, Entry>,
    next_seq: u64,
}

/// The last value of a response header, as JMeter reads it (`getLastHeader`).
fn last_header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .next_back()
        .filter(|v| !v.is_empty())
}

/// The key of one variant: the `Vary` value, the named request headers' values and the URL.
fn variant_key(vary: &str, request_headers: &[(String, String)], url: &str) -> String {
    let mut key = format!("vary-{vary}-");
    for name in vary.split(',').map(str::trim) {
        for (n, v) in request_headers.iter().filter(|(n, _)| n == name) {
            key.push_str(n);
            key.push('=');
            key.push_str(v);
            key.push(';');
        }
    }
    key.push('-');
    key.push_str(url);
    key
}

impl HttpCache {
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    fn lookup(&self, url: &str, request_headers: &[(String, String)]) -> Option<&Entry> {
        let entry = self.entries.get(url)?;
        match &entry.vary {
            Some(vary) => self.entries.get(&variant_key(vary, request_headers, url)),
            None => Some(entry),
        }
    }

    /// `If-Modified-Since` and `If-None-Match` for a request, from the stored validators.
    pub fn validators(
        &self,
        url: &str,
        request_headers: &[(String, String)],
    ) -> (Option<String>, Option<String>) {
        match self.lookup(url, request_headers) {
            Some(e) => (e.last_modified.clone(), e.etag.clone()),
            None => (None, None),
        }
    }

    /// True when the URL's entry has an expiry date still in the future (JMeter's `inCache`).
    pub fn is_fresh(
        &self,
        url: &str,
        request_headers: &[(String, String)],
        now: SystemTime,
    ) -> bool {
        let Some(entry) = self.entries.get(url) else {
            return false;
        };
        entry.vary.is_none()
            && self
                .lookup(url, request_headers)
                .and_then(|e| e.expires)
                .is_some_and(|expires| expires > now)
    }

    /// Records a response as JMeter's `saveDetails` does: a cacheable method, status 2xx or
    /// 304, some validator or freshness header; the first entry of a URL is kept (unless the
    /// response varies).
    #[allow(clippy::too_many_arguments)]
    pub fn store(
        &mut self,
        policy: &CachePolicy,
        cacheable: bool,
        url: &str,
        code: &str,
        response_headers: &str,
        request_headers: &[(String, String)],
        now: SystemTime,
    ) {
        let vary = last_header(response_headers, "Vary");
        if vary == Some("*") || !cacheable {
            return;
        }
        // JMeter compares the code as a string between "200" and "299", or "304".
        if !((code.len() == 3 && ("200"..="299").contains(&code)) || code == "304") {
            return;
        }
        let last_modified = last_header(response_headers, "Last-Modified");
        let expires_header = last_header(response_headers, "Expires");
        let etag = last_header(response_headers, "ETag");
        let cache_control = last_header(response_headers, "Cache-Control");
        if last_modified.is_none()
            && expires_header.is_none()
            && etag.is_none()
            && cache_control.is_none()
        {
            return;
        }
        let mut expires = None;
        if policy.use_expires {
            let cc = cache_control.unwrap_or("");
            if cc.contains("no-store") {
                return;
            }
            // An Expires date that cannot be read is already past.
            let from_header = expires_header
                .map(|e| httpdate::parse_http_date(e).unwrap_or(SystemTime::UNIX_EPOCH));
            expires = if cc.contains("no-cache") {
                from_header
            } else if let Some(at) = cc.find("max-age=") {
                let value = &cc[at + "max-age=".len()..];
                let end = value.find([',', ' ']).unwrap_or(value.len());
                match value[..end].parse::<u64>() {
                    Ok(seconds) => Some(now + Duration::from_secs(seconds)),
                    Err(_) => from_header,
                }
            } else if from_header.is_some() {
                from_header
            } else {
                // HttpClient's heuristic: a tenth of the time since the last modification,
                // else a year.
                let date = last_header(response_headers, "Date")
                    .and_then(|d| httpdate::parse_http_date(d).ok());
                let modified = last_modified.and_then(|d| httpdate::parse_http_date(d).ok());
                match (date, modified) {
                    (Some(date), Some(modified)) => {
                        let age = date.duration_since(modified).unwrap_or_default();
                        Some(now + age / 10)
                    }
                    _ => Some(now + Duration::from_secs(365 * 24 * 3600)),
                }
            };
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            last_modified: last_modified.map(str::to_string),
            etag: etag.map(str::to_string),
            expires,
            vary: None,
            seq,
        };
        match vary {
            Some(vary) => {
                self.entries.insert(
                    url.to_string(),
                    Entry {
                        vary: Some(vary.to_string()),
                        ..entry.clone()
                    },
                );
                self.entries
                    .insert(variant_key(vary, request_headers, url), entry);
            }
            None => {
                self.entries.entry(url.to_string()).or_insert(entry);
            }
        }
        while self.entries.len() > policy.max_size {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.seq)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(key) => self.entries.remove(&key),
                None => break,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(use_expires: bool) -> CachePolicy {
        CachePolicy {
            clear_each_iteration: false,
            use_expires,
            controlled_by_thread: false,
            max_size: 2,
        }
    }

    const NOW: u64 = 1_800_000_000;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }

    #[test]
    fn keeps_validators_and_the_first_entry() {
        let mut cache = HttpCache::default();
        let p = policy(false);
        cache.store(
            &p,
            true,
            "u",
            "200",
            "ETag: \"a\"\nLast-Modified: x\n",
            &[],
            now(),
        );
        cache.store(&p, true, "u", "200", "ETag: \"b\"\n", &[], now());
        assert_eq!(
            cache.validators("u", &[]),
            (Some("x".into()), Some("\"a\"".into()))
        );
        // Without useExpires nothing is ever fresh.
        assert!(!cache.is_fresh("u", &[], now()));
        // Not stored: errors, redirects, no headers, a method that is not cacheable.
        cache.store(&p, true, "e", "404", "ETag: e\n", &[], now());
        cache.store(&p, true, "r", "302", "ETag: e\n", &[], now());
        cache.store(
            &p,
            true,
            "n",
            "200",
            "Content-Type: text/plain\n",
            &[],
            now(),
        );
        cache.store(&p, false, "m", "200", "ETag: e\n", &[], now());
        for url in ["e", "r", "n", "m"] {
            assert_eq!(cache.validators(url, &[]), (None, None), "{url}");
        }
    }

    #[test]
    fn expiry_as_jmeter_computes_it() {
        let p = policy(true);
        let fresh = |headers: &str, after: u64| {
            let mut cache = HttpCache::default();
            cache.store(&p, true, "u", "200", headers, &[], now());
            cache.is_fresh("u", &[], now() + Duration::from_secs(after))
        };
        assert!(fresh("Cache-Control: max-age=60\n", 59));
        assert!(!fresh("Cache-Control: max-age=60\n", 61));
        // max-age wins over Expires.
        assert!(fresh(
            "Expires: Thu, 01 Jan 1970 00:00:00 GMT\nCache-Control: public, max-age=60\n",
            30
        ));
        assert!(!fresh("Expires: garbage\n", 0));
        assert!(!fresh("Cache-Control: no-cache\nETag: x\n", 0));
        assert!(!fresh("Cache-Control: no-store, max-age=60\n", 0));
        // Only a validator: fresh for a year. Date and Last-Modified: a tenth of their distance.
        assert!(fresh("ETag: x\n", 364 * 24 * 3600));
        let dated =
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\nLast-Modified: Sun, 06 Nov 1994 08:32:57 GMT\n";
        assert!(fresh(dated, 99));
        assert!(!fresh(dated, 101));
    }

    #[test]
    fn variants_and_size() {
        let p = policy(true);
        let mut cache = HttpCache::default();
        let gzip = [("Accept-Encoding".to_string(), "gzip".to_string())];
        cache.store(
            &p,
            true,
            "u",
            "200",
            "Vary: Accept-Encoding\nETag: g\nCache-Control: max-age=60\n",
            &gzip,
            now(),
        );
        assert_eq!(cache.validators("u", &gzip).1.as_deref(), Some("g"));
        assert_eq!(cache.validators("u", &[]).1, None);
        // A varying entry is never served without a request.
        assert!(!cache.is_fresh("u", &gzip, now()));
        // maxSize 2: the oldest entry goes.
        let mut cache = HttpCache::default();
        for url in ["a", "b", "c"] {
            cache.store(&p, true, url, "200", "ETag: x\n", &[], now());
        }
        assert_eq!(cache.validators("a", &[]).1, None);
        assert!(cache.validators("c", &[]).1.is_some());
    }
}

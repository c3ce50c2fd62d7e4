//! HTTP Digest authentication (RFC 7616) as HttpClient 4 answers a challenge: MD5 or MD5-sess,
//! `qop=auth` when the server offers it, nonce count 1.

use crate::plan::function::hex;

/// The parameters of a `WWW-Authenticate: Digest ...` challenge, names lower-cased.
pub fn challenge(header_value: &str) -> Option<Vec<(String, String)>> {
    let rest = header_value.trim();
    let (scheme, rest) = rest.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let mut params = Vec::new();
    let mut chars = rest.char_indices().peekable();
    let bytes = rest;
    loop {
        // name
        while matches!(chars.peek(), Some((_, c)) if c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c == '=' {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        let name = bytes[start..end].trim().to_ascii_lowercase();
        chars.next(); // '='
        let mut value = String::new();
        if matches!(chars.peek(), Some((_, '"'))) {
            chars.next();
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&(_, c)) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        if !name.is_empty() {
            params.push((name, value));
        }
    }
    Some(params)
}

/// The `Authorization` value answering `params` for `method` on `uri` (path and query), or
/// `None` for an algorithm HttpClient 4 does not know.
pub fn authorization(
    params: &[(String, String)],
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
) -> Option<String> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let md5 = |text: &str| hex(&<md5::Md5 as md5::Digest>::digest(text.as_bytes()));
    let (realm, nonce, opaque) = (get("realm"), get("nonce"), get("opaque"));
    let algorithm = get("algorithm");
    let mut ha1 = md5(&format!("{user}:{realm}:{password}"));
    match algorithm.to_ascii_uppercase().as_str() {
        "" | "MD5" => {}
        "MD5-SESS" => ha1 = md5(&format!("{ha1}:{nonce}:{cnonce}")),
        _ => return None,
    }
    let ha2 = md5(&format!("{method}:{uri}"));
    let auth = get("qop").split(',').any(|q| q.trim() == "auth");
    let nc = "00000001";
    let response = if auth {
        md5(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
    } else {
        md5(&format!("{ha1}:{nonce}:{ha2}"))
    };
    let mut value = format!(
        r#"Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{response}""#
    );
    if auth {
        value.push_str(&format!(r#", qop=auth, nc={nc}, cnonce="{cnonce}""#));
    }
    if !algorithm.is_empty() {
        value.push_str(&format!(", algorithm={algorithm}"));
    }
    if !opaque.is_empty() {
        value.push_str(&format!(r#", opaque="{opaque}""#));
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617's own example (section 3.5).
    #[test]
    fn rfc_2617_example() {
        let params = challenge(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        let value = authorization(
            &params,
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "0a4f113b",
        )
        .unwrap();
        assert!(
            value.contains(r#"response="6629fae49393a05397450978507c4ef1""#),
            "{value}"
        );
        assert!(value.contains(r#"opaque="5ccc069c403ebaf9f0171e9517f40e41""#));
        assert!(challenge("Basic realm=\"x\"").is_none());
        assert!(authorization(
            &[("algorithm".into(), "SHA-512-256".into())],
            "u",
            "p",
            "GET",
            "/",
            "c"
        )
        .is_none());
    }
}

//! HTTP sampling with reqwest: one client (and so one connection pool) per virtual user, as JMeter
//! gives each thread its own connections.
//!
//! reqwest does not report connection set-up, so each user's client wraps its connector in a
//! small tower layer that times every connect (TLS included) into the user's [`ConnectProbe`];
//! a request that found a kept-alive connection sees no connect and reports 0, as JMeter does.
//! Redirects are followed here, not by reqwest, so that "follow redirects" can produce JMeter's
//! sub-results (`label-0`, `label-1`…) and cookies are stored at each hop.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use super::cookies::CookieJar;
use crate::sample::DataType;

/// Records the duration of the connects a user's client makes.
#[derive(Debug, Default)]
pub struct ConnectProbe {
    /// Sum of connect durations since the last `take`, in microseconds.
    micros: AtomicU64,
}

impl ConnectProbe {
    fn take(&self) -> Duration {
        Duration::from_micros(self.micros.swap(0, Ordering::Relaxed))
    }
}

#[derive(Clone)]
struct ConnectTiming(Arc<ConnectProbe>);

impl<S> tower::Layer<S> for ConnectTiming {
    type Service = TimedConnect<S>;
    fn layer(&self, inner: S) -> TimedConnect<S> {
        TimedConnect {
            inner,
            probe: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct TimedConnect<S> {
    inner: S,
    probe: Arc<ConnectProbe>,
}

impl<S, R> tower::Service<R> for TimedConnect<S>
where
    S: tower::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let start = Instant::now();
        let future = self.inner.call(request);
        let probe = self.probe.clone();
        Box::pin(async move {
            let result = future.await;
            probe
                .micros
                .fetch_add(start.elapsed().as_micros() as u64, Ordering::Relaxed);
            result
        })
    }
}

/// Client settings that need a client of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientKey {
    pub connect_timeout: Option<Duration>,
    pub response_timeout: Option<Duration>,
}

/// What every user's HTTP client shares: settings of the run, not of the plan.
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// Verify TLS certificates (JMeter accepts any certificate).
    pub verify_tls: bool,
    /// The TLS configuration every user's client starts from, built once: building it per client
    /// (root store, verifier, provider) cost about 50 KB per user.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// JMeter's global proxy (`-H -P`, or the `http.proxyHost` system properties).
    pub proxy: Option<ProxySettings>,
    /// `--host-map` rules, applied to every request URL (redirects included) before it is sent.
    pub host_map: Vec<HostRule>,
    /// `http.connection.timeout` of the `hc.parameters` file: for samplers without their own.
    pub connect_timeout: Option<Duration>,
    /// `http.socket.timeout` of the `hc.parameters` file: for samplers without their own.
    pub response_timeout: Option<Duration>,
    /// The DNS Cache Managers' static host table: these names connect to these addresses.
    pub static_hosts: Arc<[(String, Vec<std::net::IpAddr>)]>,
    /// The `User-Agent` of requests whose plan sets none (`None`:
    /// `httpclient4.default_user_agent_disabled=true`).
    pub user_agent: Option<&'static str>,
    /// Client certificates (`javax.net.ssl.keyStore`, the Keystore Configuration's range).
    pub client_keys: Option<Arc<ClientCerts>>,
}

/// The client certificates of a run and how users choose one (JMeter's `JmeterKeyStore`).
#[derive(Debug)]
pub struct ClientCerts {
    pub keys: super::keystore::ClientKeys,
    /// The Keystore Configuration's `clientCertAliasVarName`: each user's alias variable.
    pub alias_var: Option<String>,
    /// The round robin over the keys when no variable names the alias.
    pub next: std::sync::atomic::AtomicUsize,
}

/// The `hc.parameters` file (`hc.parameters.file`): HttpClient parameters as `name$Type=value`.
/// rmeter reads the two timeouts; every other parameter is returned as having no effect.
pub fn apply_hc_parameters(settings: &mut HttpSettings, text: &str) -> Result<Vec<String>, String> {
    let mut unused = Vec::new();
    for (key, value) in crate::properties::parse_properties(text) {
        let name = key.split('$').next().unwrap_or("").trim();
        let millis = || {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("{key}: {value:?} is not a number of milliseconds"))
        };
        match name {
            // HttpClient: 0 means no timeout.
            "http.connection.timeout" => {
                settings.connect_timeout = Some(millis()?)
                    .filter(|&ms| ms > 0)
                    .map(Duration::from_millis)
            }
            "http.socket.timeout" => {
                settings.response_timeout = Some(millis()?)
                    .filter(|&ms| ms > 0)
                    .map(Duration::from_millis)
            }
            _ => unused.push(key),
        }
    }
    Ok(unused)
}

/// One `--host-map OLD=NEW` rule: requests to OLD (`host`, `host:port` or `*`) go to NEW
/// (`host`, `host:port` or `scheme://host[:port]`); what NEW leaves out is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    from_host: Option<String>,
    from_port: Option<u16>,
    to_scheme: Option<String>,
    to_host: String,
    to_port: Option<u16>,
}

impl std::str::FromStr for HostRule {
    type Err = String;

    fn from_str(text: &str) -> Result<HostRule, String> {
        let (from, to) = text
            .split_once('=')
            .ok_or_else(|| format!("expected OLD=NEW, got {text:?}"))?;
        let (from_host, from_port) = match from.trim() {
            "*" => (None, None),
            "" => return Err(format!("empty host before '=' in {text:?}")),
            host => {
                let (host, port) = split_port(host).map_err(|e| format!("{e} in {text:?}"))?;
                (Some(host.to_ascii_lowercase()), port)
            }
        };
        let to = to.trim();
        let (to_scheme, rest) = match to.split_once("://") {
            Some((scheme, rest)) if scheme == "http" || scheme == "https" => {
                (Some(scheme.to_string()), rest)
            }
            Some((scheme, _)) => {
                return Err(format!(
                    "scheme {scheme:?} is not http or https in {text:?}"
                ))
            }
            None => (None, to),
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.contains('/') {
            return Err(format!("expected host[:port] after '=' in {text:?}"));
        }
        let (to_host, to_port) = split_port(rest).map_err(|e| format!("{e} in {text:?}"))?;
        Ok(HostRule {
            from_host,
            from_port,
            to_scheme,
            to_host: to_host.to_string(),
            to_port,
        })
    }
}

fn split_port(text: &str) -> Result<(&str, Option<u16>), String> {
    // An IPv6 literal keeps its brackets: [::1]:8080.
    let colon = if text.starts_with('[') {
        text.find("]:").map(|i| i + 1)
    } else {
        text.rfind(':')
    };
    match colon {
        Some(i) => {
            let port = text[i + 1..]
                .parse()
                .map_err(|_| format!("invalid port {:?}", &text[i + 1..]))?;
            Ok((&text[..i], Some(port)))
        }
        None => Ok((text, None)),
    }
}

impl HostRule {
    fn matches(&self, url: &url::Url) -> bool {
        let host_ok = match (&self.from_host, url.host_str()) {
            (None, _) => true,
            (Some(from), Some(host)) => from.eq_ignore_ascii_case(host),
            (Some(_), None) => false,
        };
        host_ok
            && self
                .from_port
                .is_none_or(|p| url.port_or_known_default() == Some(p))
    }

    /// A rule with a port is more specific than one without, and both than `*`.
    fn specificity(&self) -> u8 {
        u8::from(self.from_host.is_some()) * 2 + u8::from(self.from_port.is_some())
    }
}

/// Rewrites `url` by the most specific matching rule; false when no rule matches.
pub fn map_host(rules: &[HostRule], url: &mut url::Url) -> bool {
    let Some(rule) = rules
        .iter()
        .filter(|r| r.matches(url))
        .max_by_key(|r| r.specificity())
    else {
        return false;
    };
    let old_port = url.port();
    if let Some(scheme) = &rule.to_scheme {
        if url.scheme() != scheme {
            // url refuses a scheme change that keeps a now-default port; go through text.
            let text = format!("{scheme}{}", &url.as_str()[url.scheme().len()..]);
            if let Ok(changed) = url::Url::parse(&text) {
                *url = changed;
            }
        }
    }
    let _ = url.set_host(Some(&rule.to_host));
    let _ = url.set_port(rule.to_port.or(old_port));
    true
}

/// JMeter's global proxy, as its HttpClient 4 sampler reads it: `http.proxyHost`,
/// `http.proxyPort` and `http.proxyScheme` system properties for every target scheme,
/// `http.nonProxyHosts` (`|`-separated, `*.suffix` or exact host), and the `http.proxyUser` and
/// `http.proxyPass` JMeter properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    pub url: url::Url,
    pub non_proxy_hosts: Vec<String>,
    pub user: Option<(String, String)>,
}

/// A proxy setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid proxy {what}: {value:?}")]
pub struct ProxyError {
    pub what: &'static str,
    pub value: String,
}

/// The run's TLS client configuration: TLS 1.2 and 1.3, HTTP/1.1 by ALPN as JMeter's HttpClient
/// 4 offers (also `h2` first with `http2`: `rmeter.http2=true`), and either the Mozilla roots
/// (`--verify-tls`) or, as JMeter does, any certificate.
pub fn tls_config(verify: bool, http2: bool) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let mut config = if verify {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    };
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// JMeter's default trust: any server certificate, with the handshake signatures still checked.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl ProxySettings {
    /// The proxy the properties name, if any.
    pub fn from_properties(
        system: &crate::properties::Properties,
        props: &crate::properties::Properties,
    ) -> Result<Option<ProxySettings>, ProxyError> {
        let Some(host) = system
            .get("http.proxyHost")
            .filter(|h| !h.trim().is_empty())
        else {
            return Ok(None);
        };
        let port_text = system.get("http.proxyPort").unwrap_or_else(|| "80".into());
        let port: u16 = port_text.trim().parse().map_err(|_| ProxyError {
            what: "port (http.proxyPort)",
            value: port_text.clone(),
        })?;
        let scheme = system
            .get("http.proxyScheme")
            .unwrap_or_else(|| "http".into());
        let text = format!("{}://{}:{port}", scheme.trim(), host.trim());
        let url = url::Url::parse(&text).map_err(|_| ProxyError {
            what: "host or scheme (http.proxyHost, http.proxyScheme)",
            value: text.clone(),
        })?;
        let non_proxy_hosts = system
            .get("http.nonProxyHosts")
            .unwrap_or_default()
            .split('|')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        let user = props
            .get("http.proxyUser")
            .filter(|u| !u.is_empty())
            .map(|u| (u, props.get("http.proxyPass").unwrap_or_default()));
        Ok(Some(ProxySettings {
            url,
            non_proxy_hosts,
            user,
        }))
    }

    /// JMeter's `isNonProxy`: an exact host, or a `*.suffix` entry matching the end of the host.
    pub fn bypasses(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.non_proxy_hosts
            .iter()
            .any(|entry| match entry.strip_prefix('*') {
                Some(suffix) => host.ends_with(suffix),
                None => *entry == host,
            })
    }

    fn reqwest_proxy(&self) -> reqwest::Proxy {
        let settings = self.clone();
        let proxy = reqwest::Proxy::custom(move |url| {
            let host = url.host_str()?;
            (!settings.bypasses(host)).then(|| settings.url.clone())
        });
        match &self.user {
            Some((user, password)) => proxy.basic_auth(user, password),
            None => proxy,
        }
    }
}

/// A virtual user's HTTP clients (usually one).
pub struct UserHttp {
    /// reqwest clients, for runs through a proxy.
    clients: Vec<(ClientKey, reqwest::Client)>,
    /// The user's own connections, for everything else.
    direct: super::direct::Connections,
    /// The request head being written (kept for its capacity).
    head_buf: Vec<u8>,
    probe: Arc<ConnectProbe>,
    settings: Arc<HttpSettings>,
    /// The key this user took from the round robin, once it needed one.
    round_robin_key: Option<Arc<rustls::sign::CertifiedKey>>,
}

/// The request as rendered for one sample.
#[derive(Clone)]
pub struct Outgoing {
    pub method: reqwest::Method,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// What JMeter records as the request's data when it differs from the body (a multipart
    /// body shows `<actual file content, not shown here>` for each file).
    pub display: Option<String>,
    pub keep_alive: bool,
    /// The body's own type (HttpClient's entity type), sent after `Content-Length` when the
    /// plan sets no `Content-Type`: `text/plain; charset=UTF-8` for raw data, the form type for
    /// arguments.
    pub entity_type: Option<&'static str>,
}

/// What one HTTP exchange (one hop) gave.
pub struct Exchange {
    pub url: String,
    pub start_ms: i64,
    pub elapsed: Duration,
    pub latency: Duration,
    pub connect: Duration,
    pub code: String,
    pub message: String,
    pub success: bool,
    pub data_type: DataType,
    pub encoding: String,
    pub header_bytes: u64,
    /// The body after `Content-Encoding` decoding.
    pub body: Vec<u8>,
    /// The body's size on the wire, before decoding.
    pub wire_body_bytes: u64,
    pub response_headers: String,
    /// The request headers as sent, the `Cookie` header excepted (JMeter keeps it apart).
    pub request_headers: String,
    /// The `Cookie` header value sent, if any.
    pub cookies: String,
    /// What a non-HTTP sampler records as its request (`samplerData`).
    pub sampler_data: Option<String>,
    pub sent_bytes: u64,
    pub location: Option<String>,
    pub status: u16,
    /// The response came over HTTP/2 (`rmeter.http2`).
    pub http2: bool,
}

impl Exchange {
    /// The status line and headers, as JMeter's `responseHeaders` records them; empty when no
    /// response came.
    pub fn response_head(&self) -> String {
        if self.status == 0 {
            return String::new();
        }
        let version = if self.http2 { "HTTP/2.0" } else { "HTTP/1.1" };
        format!(
            "{version} {} {}\n{}",
            self.code, self.message, self.response_headers
        )
    }

    /// An exchange with nothing received yet (or only `body`, for an error text).
    pub fn empty(url: String, start_ms: i64, body: Vec<u8>) -> Exchange {
        Exchange {
            url,
            start_ms,
            elapsed: Duration::ZERO,
            latency: Duration::ZERO,
            connect: Duration::ZERO,
            code: String::new(),
            message: String::new(),
            success: false,
            data_type: DataType::Text,
            encoding: String::new(),
            header_bytes: 0,
            wire_body_bytes: body.len() as u64,
            body,
            response_headers: String::new(),
            request_headers: String::new(),
            cookies: String::new(),
            sampler_data: None,
            sent_bytes: 0,
            location: None,
            status: 0,
            http2: false,
        }
    }
}

impl UserHttp {
    pub fn new(settings: Arc<HttpSettings>) -> UserHttp {
        UserHttp {
            clients: Vec::new(),
            direct: super::direct::Connections::default(),
            head_buf: Vec::new(),
            probe: Arc::new(ConnectProbe::default()),
            settings,
            round_robin_key: None,
        }
    }

    /// The variable that names the client certificate's alias, when the run has certificates
    /// and the Keystore Configuration names one.
    pub fn client_alias_var(&self) -> Option<&str> {
        self.settings.client_keys.as_ref()?.alias_var.as_deref()
    }

    /// Chooses the client certificate of this user's next TLS connections: the alias its
    /// variable named (`alias`), else one taken from the run's round robin (once per user;
    /// JMeter takes one per handshake). An alias that is not loaded offers none.
    pub fn choose_client_cert(&mut self, alias: Option<&str>) {
        let Some(certs) = &self.settings.client_keys else {
            return;
        };
        let key = match &certs.alias_var {
            Some(var) => {
                let key = alias.and_then(|alias| certs.keys.by_alias(alias));
                if key.is_none() {
                    tracing::error!(
                        "No PrivateKey found for alias:'{}' (variable {var})",
                        alias.unwrap_or("")
                    );
                }
                key
            }
            None => Some(
                self.round_robin_key
                    .get_or_insert_with(|| {
                        let i = certs
                            .next
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        certs.keys.keys[i % certs.keys.keys.len()].1.clone()
                    })
                    .clone(),
            ),
        };
        self.direct.set_client_cert(key);
    }

    /// Drops the user's connections (a new user on the next iteration).
    pub fn reset(&mut self) {
        self.clients.clear();
        self.direct.clear();
    }

    fn client(&mut self, key: ClientKey) -> Result<reqwest::Client, reqwest::Error> {
        if let Some((_, client)) = self.clients.iter().find(|(k, _)| *k == key) {
            return Ok(client.clone());
        }
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(!self.settings.verify_tls)
            .pool_max_idle_per_host(usize::MAX)
            .tcp_nodelay(true)
            .http1_only()
            .http1_title_case_headers()
            .connector_layer(ConnectTiming(self.probe.clone()));
        if let Some(tls) = &self.settings.tls {
            // A clone shares the verifier and roots; each user keeps its own session cache, as
            // each JMeter thread has its own SSL context.
            let mut config = (**tls).clone();
            config.resumption = rustls::client::Resumption::in_memory_sessions(8);
            // The proxied path speaks HTTP/1.1 only, whatever the run offers directly.
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            if let Some(key) = self.direct.client_cert() {
                config.client_auth_cert_resolver =
                    Arc::new(super::keystore::FixedClientCert(key.clone()));
            }
            builder = builder.use_preconfigured_tls(config);
        }
        builder = match &self.settings.proxy {
            Some(proxy) => builder.proxy(proxy.reqwest_proxy()),
            // JMeter ignores the HTTP_PROXY environment variables.
            None => builder.no_proxy(),
        };
        if let Some(timeout) = key.connect_timeout.or(self.settings.connect_timeout) {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = key.response_timeout.or(self.settings.response_timeout) {
            builder = builder.read_timeout(timeout);
        }
        let client = builder.build()?;
        self.clients.push((key, client.clone()));
        Ok(client)
    }

    /// Sends one request and reads the whole response. Failures become an `Exchange` with
    /// JMeter's "Non HTTP response" code and message, never an error.
    pub async fn exchange(
        &mut self,
        key: ClientKey,
        out: &Outgoing,
        jar: Option<&mut CookieJar>,
        epoch: &super::Epoch,
    ) -> Exchange {
        // Boxed: the copy would otherwise widen every user's task by a request.
        let mapped: Box<Outgoing>;
        let out = if self.settings.host_map.is_empty() {
            out
        } else {
            let mut copy = Box::new(out.clone());
            map_host(&self.settings.host_map, &mut copy.url);
            mapped = copy;
            &*mapped
        };
        let start = Instant::now();
        let start_ms = epoch.millis_at(start);
        self.probe.take();
        let mut exchange = Exchange::empty(out.url.to_string(), start_ms, Vec::new());
        let cookie = jar.as_deref().and_then(|jar| jar.header_for(&out.url));
        let wire = wire_headers(out, cookie.as_deref(), self.settings.user_agent);
        // JMeter records what went out but the cookies, which it keeps apart.
        let mut request_headers = String::with_capacity(256);
        let mut head_len = 0;
        for (name, value) in &wire {
            head_len += name.len() + 2 + value.len() + 2;
            if *name != "Cookie" {
                request_headers.push_str(name);
                request_headers.push_str(": ");
                request_headers.push_str(value);
                request_headers.push('\n');
            }
        }
        // reqwest, which carries proxied runs, adds `Accept: */*` after the request's headers
        // when the plan sets none; it is recorded and counted as sent.
        let via_reqwest = self.settings.proxy.is_some() || self.settings.tls.is_none();
        if via_reqwest && !wire.iter().any(|(n, _)| n.eq_ignore_ascii_case("accept")) {
            request_headers.push_str("Accept: */*\n");
            head_len += "Accept: */*\r\n".len();
        }
        let body_len = out.body.as_ref().map_or(0, Vec::len);
        let target_len = out.url.path().len() + out.url.query().map_or(0, |q| q.len() + 1);
        let line_len = out.method.as_str().len() + 1 + target_len + " HTTP/1.1\r\n".len();
        exchange.sent_bytes = (line_len + head_len + 2 + body_len) as u64;
        exchange.request_headers = request_headers;
        exchange.cookies = cookie.clone().unwrap_or_default();
        let (response, connect) = match (&self.settings.proxy, &self.settings.tls) {
            (None, Some(tls)) => {
                let tls = tls.clone();
                let mut head = std::mem::take(&mut self.head_buf);
                head.clear();
                let request = match direct_request(out, &wire, &mut head) {
                    Ok(request) => request,
                    Err(message) => {
                        self.head_buf = head;
                        fail(
                            &mut exchange,
                            "java.lang.IllegalArgumentException",
                            &message,
                        );
                        exchange.sent_bytes = 0;
                        return exchange;
                    }
                };
                let connect_timeout = key.connect_timeout.or(self.settings.connect_timeout);
                let response_timeout = key.response_timeout.or(self.settings.response_timeout);
                let sent = self
                    .direct
                    .send(
                        &out.url,
                        &request,
                        connect_timeout,
                        response_timeout,
                        &tls,
                        &self.settings.static_hosts,
                    )
                    .await;
                self.head_buf = head;
                match sent {
                    Ok(r) => (Sent::Direct(r.head), r.connect),
                    Err(failure) => {
                        exchange.elapsed = start.elapsed();
                        let (class, message) = classify(&failure, &out.url);
                        fail(&mut exchange, class, &message);
                        exchange.sent_bytes = 0;
                        return exchange;
                    }
                }
            }
            _ => match self.send_reqwest(key, out, &wire).await {
                Ok(response) => (Sent::Reqwest(response), self.probe.take()),
                Err(e) => {
                    exchange.connect = self.probe.take();
                    exchange.elapsed = start.elapsed();
                    let (class, message) = classify_error(&e, &out.url);
                    fail(&mut exchange, class, &message);
                    exchange.sent_bytes = 0;
                    return exchange;
                }
            },
        };
        let (status, version, reason, headers) = match &response {
            Sent::Direct(r) => (r.status, r.version, r.reason.clone(), &r.headers),
            Sent::Reqwest(r) => (
                r.status(),
                r.version(),
                r.extensions()
                    .get::<hyper::ext::ReasonPhrase>()
                    .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned()),
                r.headers(),
            ),
        };
        exchange.latency = start.elapsed();
        exchange.connect = connect;
        if version == hyper::http::Version::HTTP_2 {
            exchange.http2 = true;
            // HTTP/2 has no connection headers, and the Host is the :authority.
            exchange.request_headers = exchange
                .request_headers
                .lines()
                .filter(|line| {
                    let (name, value) = line.split_once(':').unwrap_or((line, ""));
                    let name = name.to_ascii_lowercase();
                    (name == "te" && value.trim() == "trailers")
                        || !super::direct::H1_ONLY.contains(&name.as_str())
                })
                .flat_map(|line| [line, "\n"])
                .collect();
        }
        exchange.status = status.as_u16();
        exchange.code = status.as_str().to_string();
        // hyper keeps the server's reason phrase when it is not the canonical one.
        exchange.message = match reason {
            Some(reason) => reason,
            None => status.canonical_reason().unwrap_or("").to_string(),
        };
        exchange.success = (200..400).contains(&status.as_u16());
        let mut header_text = String::new();
        let mut header_bytes =
            format!("{:?} {} {}\r\n", version, status.as_str(), exchange.message).len() as u64 + 2;
        let mut content_type = String::new();
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            header_bytes += (name.as_str().len() + 2 + value.len() + 2) as u64;
            push_header_name(&mut header_text, name.as_str());
            header_text.push_str(": ");
            header_text.push_str(&value);
            header_text.push('\n');
            if name == reqwest::header::CONTENT_TYPE {
                content_type = value.to_string();
            }
            if name == reqwest::header::LOCATION {
                exchange.location = Some(value.to_string());
            }
        }
        if let Some(jar) = jar {
            for value in headers.get_all(reqwest::header::SET_COOKIE) {
                jar.store(&String::from_utf8_lossy(value.as_bytes()), &out.url);
            }
        }
        exchange.header_bytes = header_bytes;
        exchange.response_headers = header_text;
        // JMeter leaves the data type empty when the response has no Content-Type.
        exchange.data_type = if content_type.is_empty() {
            DataType::Empty
        } else {
            data_type(&content_type)
        };
        exchange.encoding = charset(&content_type).unwrap_or_default();
        let content_encoding = headers
            .get(reqwest::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let body = match response {
            Sent::Direct(_) => self
                .direct
                .body(key.response_timeout.or(self.settings.response_timeout))
                .await
                .map_err(|f| classify(&f, &out.url)),
            Sent::Reqwest(r) => r
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| classify_error(&e, &out.url)),
        };
        match body {
            Ok(body) => {
                // JMeter counts the bytes as they came over the wire but lets extractors and
                // assertions see the decoded body.
                exchange.wire_body_bytes = body.len() as u64;
                exchange.body = decode_body(&content_encoding, body);
            }
            Err((class, message)) => {
                exchange.elapsed = start.elapsed();
                fail(&mut exchange, class, &message);
                return exchange;
            }
        }
        exchange.elapsed = start.elapsed();
        exchange
    }
}

/// A response from either client.
enum Sent {
    Direct(super::direct::Head),
    Reqwest(reqwest::Response),
}

impl UserHttp {
    /// The proxied path: the request through this user's reqwest client.
    async fn send_reqwest(
        &mut self,
        key: ClientKey,
        out: &Outgoing,
        wire: &[(&str, Cow<'_, str>)],
    ) -> Result<reqwest::Response, reqwest::Error> {
        let client = self.client(key)?;
        let mut request = client.request(out.method.clone(), out.url.clone());
        for (name, value) in wire {
            request = request.header(*name, value.as_ref());
        }
        if let Some(body) = &out.body {
            request = request.body(body.clone());
        }
        request.send().await
    }
}

/// The `Connection` header JMeter's HttpClient sampler sends (`keep-alive`, or `close` without
/// "use keep-alive"), unless the plan's headers set one.
fn connection_header(out: &Outgoing) -> Option<&'static str> {
    if out
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("connection"))
    {
        return None;
    }
    Some(if out.keep_alive {
        "keep-alive"
    } else {
        "close"
    })
}

/// JMeter's HttpClient 4 `User-Agent` (5.6.3 with Java 17), sent unless the plan sets one or
/// `httpclient4.default_user_agent_disabled` is true.
pub const JMETER_USER_AGENT: &str = "Apache-HttpClient/4.5.14 (Java/17.0.15)";

/// A request's headers in the order HttpClient 4 sends them for JMeter: `Connection`, the
/// plan's (in order), `Cookie`, then what HttpClient's interceptors add when the plan has none:
/// `Content-Length` (a body, even empty), the body's `Content-Type`, `Host` and `User-Agent`.
fn wire_headers<'a>(
    out: &'a Outgoing,
    cookie: Option<&'a str>,
    user_agent: Option<&'static str>,
) -> Vec<(&'a str, Cow<'a, str>)> {
    let mut wire: Vec<(&str, Cow<str>)> = Vec::with_capacity(out.headers.len() + 6);
    if let Some(connection) = connection_header(out) {
        wire.push(("Connection", Cow::Borrowed(connection)));
    }
    let (mut has_type, mut has_host, mut has_agent, mut chunked) = (false, false, false, false);
    for (name, value) in &out.headers {
        // JMeter does not let a Header Manager set `Content-Length`: HttpClient computes it.
        if name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        wire.push((name.as_str(), Cow::Borrowed(value.as_str())));
        if name.eq_ignore_ascii_case("content-type") {
            has_type = true;
        } else if name.eq_ignore_ascii_case("host") {
            has_host = true;
        } else if name.eq_ignore_ascii_case("user-agent") {
            has_agent = true;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked |= contains_ignore_case(value, "chunked");
        }
    }
    if let Some(cookie) = cookie {
        wire.push(("Cookie", Cow::Borrowed(cookie)));
    }
    if let Some(body) = &out.body {
        if !chunked {
            wire.push(("Content-Length", Cow::Owned(body.len().to_string())));
        }
        if let (false, Some(entity_type)) = (has_type, out.entity_type) {
            wire.push(("Content-Type", Cow::Borrowed(entity_type)));
        }
    }
    if !has_host {
        // `host[:port]` as the URL writes it.
        let authority = &out.url[url::Position::BeforeHost..url::Position::AfterPort];
        wire.push(("Host", Cow::Borrowed(authority)));
    }
    if let (false, Some(agent)) = (has_agent, user_agent) {
        wire.push(("User-Agent", Cow::Borrowed(agent)));
    }
    wire
}

/// The request head for a direct connection, from the headers `wire_headers` chose.
fn direct_request<'a>(
    out: &'a Outgoing,
    wire: &[(&str, Cow<'_, str>)],
    head: &'a mut Vec<u8>,
) -> Result<super::direct::Request<'a>, String> {
    let target_ok = |b: u8| b > b' ' && b != 0x7f;
    let path = out.url.path();
    let query = out.url.query();
    if !path
        .bytes()
        .chain(query.unwrap_or("").bytes())
        .all(target_ok)
    {
        return Err(format!("invalid uri character: {}", out.url));
    }
    head.extend_from_slice(out.method.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(path.as_bytes());
    if let Some(query) = query {
        head.push(b'?');
        head.extend_from_slice(query.as_bytes());
    }
    head.extend_from_slice(b" HTTP/1.1\r\n");
    let mut close = false;
    let mut chunked = false;
    for (name, value) in wire {
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err(format!("invalid HTTP header name: {name}"));
        }
        if !value
            .bytes()
            .all(|b| b == b'\t' || (b >= b' ' && b != 0x7f))
        {
            return Err(format!("failed to parse header value: {value}"));
        }
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked |= contains_ignore_case(value, "chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            close |= contains_ignore_case(value, "close");
        }
    }
    head.extend_from_slice(b"\r\n");
    Ok(super::direct::Request {
        head,
        body: out.body.as_deref().unwrap_or_default(),
        chunked,
        idempotent: out.method.is_idempotent(),
        head_only: out.method == reqwest::Method::HEAD,
        close,
    })
}

/// Whether `text` contains `word` (lower case ASCII) in any case, without allocating.
fn contains_ignore_case(text: &str, word: &str) -> bool {
    text.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// A `tchar` of RFC 9110: what a header name is made of.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// JMeter's error result: the exception class and message, and the "stack trace" as the body.
pub(super) fn fail(exchange: &mut Exchange, class: &str, message: &str) {
    exchange.code = format!("Non HTTP response code: {class}");
    exchange.message = format!("Non HTTP response message: {message}");
    exchange.success = false;
    exchange.data_type = DataType::Text;
    exchange.body = format!("{class}: {message}\n").into_bytes();
    exchange.wire_body_bytes = exchange.body.len() as u64;
    exchange.header_bytes = 0;
    exchange.latency = Duration::ZERO;
}

/// Maps a reqwest error to the Java exception JMeter's HttpClient4 sampler reports for it.
fn classify_error(error: &reqwest::Error, url: &url::Url) -> (&'static str, String) {
    let failure = super::direct::Failure {
        timeout: error.is_timeout(),
        connect: error.is_connect(),
        stale: false,
        unsent: false,
        connection: false,
        io_kind: source_chain(error)
            .find_map(|e| e.downcast_ref::<std::io::Error>().map(|io| io.kind())),
        text: source_chain(error)
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(": "),
    };
    classify(&failure, url)
}

/// JMeter's exception class and message for a failed exchange.
fn classify(failure: &super::direct::Failure, url: &url::Url) -> (&'static str, String) {
    let (host, port) = super::direct::host_and_port(url);
    let io_kind = failure.io_kind;
    let text = failure.text.clone();
    let address = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => format!("[/{ip}]"),
        Err(_) => format!("[{host}]"),
    };
    if text.starts_with(super::direct::PREMATURE) {
        return ("org.apache.http.ConnectionClosedException", text);
    }
    if failure.timeout {
        if failure.connect {
            return (
                "org.apache.http.conn.ConnectTimeoutException",
                format!("Connect to {host}:{port} {address} failed: connect timed out"),
            );
        }
        return ("java.net.SocketTimeoutException", "Read timed out".into());
    }
    if text.contains("dns error") || text.contains("failed to lookup address") {
        return (
            "java.net.UnknownHostException",
            format!("{host}: Name or service not known"),
        );
    }
    if text.to_ascii_lowercase().contains("certificate")
        || text.contains("tls")
        || text.contains("TLS")
    {
        return ("javax.net.ssl.SSLHandshakeException", text);
    }
    match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => (
            "org.apache.http.conn.HttpHostConnectException",
            format!("Connect to {host}:{port} {address} failed: Connection refused"),
        ),
        Some(std::io::ErrorKind::ConnectionReset) => {
            ("java.net.SocketException", "Connection reset".into())
        }
        Some(std::io::ErrorKind::TimedOut) => {
            ("java.net.SocketTimeoutException", "Read timed out".into())
        }
        _ if failure.connect => (
            "org.apache.http.conn.HttpHostConnectException",
            format!("Connect to {host}:{port} {address} failed: {text}"),
        ),
        _ if text.contains("connection closed")
            || text.contains("IncompleteMessage")
            || text.contains("message incomplete") =>
        {
            (
                "org.apache.http.NoHttpResponseException",
                format!("{host}:{port} failed to respond"),
            )
        }
        _ => ("java.io.IOException", text),
    }
}

pub(super) fn source_chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// Decodes a gzip, deflate or brotli body; an unknown coding or a corrupt body is kept as it came.
fn decode_body(content_encoding: &str, body: Vec<u8>) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    let decoded = match content_encoding {
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(&body[..]).read_to_end(&mut out),
        "deflate" => match flate2::read::ZlibDecoder::new(&body[..]).read_to_end(&mut out) {
            Ok(n) => Ok(n),
            Err(_) => {
                out.clear();
                flate2::read::DeflateDecoder::new(&body[..]).read_to_end(&mut out)
            }
        },
        "br" => brotli_decompressor::Decompressor::new(&body[..], 4096).read_to_end(&mut out),
        _ => return body,
    };
    match decoded {
        Ok(_) => out,
        Err(_) => body,
    }
}

/// Writes a header name as servers usually spell it: HTTP/1 header names reach us in lower case
/// (hyper normalises them), while JMeter shows them as received, which is Title-Case for almost
/// every server.
fn push_header_name(out: &mut String, name: &str) {
    const SPECIAL: &[&str] = &[
        "ETag",
        "WWW-Authenticate",
        "Content-MD5",
        "TE",
        "DNT",
        "X-XSS-Protection",
        "P3P",
        "X-UA-Compatible",
    ];
    if let Some(special) = SPECIAL.iter().find(|s| s.eq_ignore_ascii_case(name)) {
        out.push_str(special);
        return;
    }
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
}

/// JMeter reports images, audio, video and other binary types as `bin`.
fn data_type(content_type: &str) -> DataType {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    // JMeter's `SampleResult.isBinaryType`: images, audio and video, except SVG and playlists.
    let binary =
        (mime.starts_with("image/") || mime.starts_with("audio/") || mime.starts_with("video/"))
            && !matches!(
                mime.as_str(),
                "image/svg+xml" | "audio/mpegurl" | "audio/x-mpegurl" | "video/mpegurl"
            );
    if binary {
        DataType::Bin
    } else {
        DataType::Text
    }
}

fn charset(content_type: &str) -> Option<String> {
    content_type
        .split(';')
        .skip(1)
        .filter_map(|p| p.trim().strip_prefix("charset="))
        .map(|c| c.trim_matches('"').to_string())
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_map_rules() {
        let rules: Vec<HostRule> = [
            "legacy.bank=127.0.0.1:9000",
            "legacy.bank:8443=https://new.bank",
            "*=fallback",
        ]
        .iter()
        .map(|r| r.parse().unwrap())
        .collect();
        let map = |text: &str| {
            let mut url = url::Url::parse(text).unwrap();
            map_host(&rules, &mut url);
            url.to_string()
        };
        assert_eq!(
            map("http://legacy.bank/a?b=1"),
            "http://127.0.0.1:9000/a?b=1"
        );
        assert_eq!(map("http://LEGACY.bank:8443/x"), "https://new.bank:8443/x");
        assert_eq!(map("https://other:444/y"), "https://fallback:444/y");
        let rule: HostRule = "old=https://new".parse().unwrap();
        let mut url = url::Url::parse("http://old/z").unwrap();
        assert!(map_host(&[rule], &mut url));
        assert_eq!(url.as_str(), "https://new/z");
        for bad in [
            "nohost",
            "=x",
            "a=ftp://b",
            "a=b:notaport",
            "a=b/path",
            "a=",
        ] {
            assert!(bad.parse::<HostRule>().is_err(), "{bad}");
        }
    }

    #[test]
    fn header_names_are_title_case() {
        let mut out = String::new();
        push_header_name(&mut out, "x-request-id");
        push_header_name(&mut out, "etag");
        assert_eq!(out, "X-Request-IdETag");
    }

    #[test]
    fn bodies_are_decoded() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"hello gzip").unwrap();
        assert_eq!(decode_body("gzip", gz.finish().unwrap()), b"hello gzip");
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"hello deflate").unwrap();
        assert_eq!(
            decode_body("deflate", z.finish().unwrap()),
            b"hello deflate"
        );
        assert_eq!(decode_body("gzip", b"not gzip".to_vec()), b"not gzip");
        assert_eq!(decode_body("", b"plain".to_vec()), b"plain");
    }

    #[test]
    fn binary_types() {
        assert_eq!(data_type("image/png"), DataType::Bin);
        assert_eq!(data_type("application/json; charset=utf-8"), DataType::Text);
        assert_eq!(
            charset("text/html; charset=\"ISO-8859-1\"").as_deref(),
            Some("ISO-8859-1")
        );
    }
}

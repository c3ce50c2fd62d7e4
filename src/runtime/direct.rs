//! A user's own HTTP/1.1 connections, driven from the user's task: one connection per target
//! (scheme, host, port), kept alive as JMeter's HttpClient keeps a thread's connections. When
//! the run offers `h2` by ALPN (`rmeter.http2=true`) and a TLS server picks it, the user talks
//! HTTP/2 to that target instead, over the `h2` crate (see [`H2Connection`]).
//!
//! The request head is written from the rendered sampler in one buffer and the response is
//! parsed with httparse, in the user's own task: no connection task, no channel between the
//! user and its socket, and buffers per user rather than per connection. Against hyper's
//! connection API this halved the user-space CPU per sample and the memory of an idle
//! connection (figures in ARCHITECTURE.md). reqwest remains for proxied runs.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::http;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What went wrong, in the terms the error mapping needs.
#[derive(Debug)]
pub struct Failure {
    pub timeout: bool,
    pub connect: bool,
    /// A kept-alive connection ended or was reset before any response: the server had closed
    /// it as the request went out. An idempotent request may be sent again on a new connection.
    pub stale: bool,
    /// The request never reached the server (an HTTP/2 connection it had closed, a stream it
    /// refused): it may go again on a new connection whatever its method.
    pub unsent: bool,
    /// An HTTP/2 connection failed as a whole (not one stream).
    pub connection: bool,
    pub io_kind: Option<io::ErrorKind>,
    pub text: String,
}

/// A URL's host (IPv6 without brackets) and port, as connections and error messages name them.
pub fn host_and_port(url: &url::Url) -> (String, u16) {
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    (host, url.port_or_known_default().unwrap_or(80))
}

/// The text of an exchange the server ended early; the error mapping reads it as JMeter's
/// `NoHttpResponseException`.
const CLOSED: &str = "connection closed before message completed";

/// How HttpClient's `ConnectionClosedException` begins, for a body the server cut short.
pub const PREMATURE: &str = "Premature end of";

impl Failure {
    /// A failure while connecting that is not an I/O error of the connect itself.
    fn connecting(io_kind: Option<io::ErrorKind>, text: String) -> Failure {
        Failure {
            timeout: false,
            connect: true,
            stale: false,
            unsent: false,
            connection: false,
            io_kind,
            text,
        }
    }

    fn connect(error: &io::Error) -> Failure {
        Failure {
            timeout: error.kind() == io::ErrorKind::TimedOut,
            connect: true,
            stale: false,
            unsent: false,
            connection: false,
            io_kind: Some(error.kind()),
            text: error.to_string(),
        }
    }

    fn timeout(connect: bool) -> Failure {
        Failure {
            timeout: true,
            connect,
            stale: false,
            unsent: false,
            connection: false,
            io_kind: None,
            text: "timed out".into(),
        }
    }

    fn io(error: &io::Error) -> Failure {
        Failure {
            timeout: false,
            connect: false,
            stale: false,
            unsent: false,
            connection: false,
            io_kind: Some(error.kind()),
            text: error.to_string(),
        }
    }

    /// The response broke the protocol.
    fn protocol(text: impl Into<String>) -> Failure {
        Failure {
            timeout: false,
            connect: false,
            stale: false,
            unsent: false,
            connection: false,
            io_kind: None,
            text: text.into(),
        }
    }
}

/// Plain TCP or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(bytes).await,
            Stream::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }

    /// Reads what is there into `buf`'s spare capacity; 0 at the end of the stream.
    async fn read_into(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read_buf(buf).await,
            Stream::Tls(s) => s.read_buf(buf).await,
        }
    }

    /// Whether the server closed the connection (or sent something unasked) while it was idle.
    /// Costs no system call when the socket has not been readable since the last response.
    fn closed_while_idle(&self) -> bool {
        let (tcp, tls) = match self {
            Stream::Plain(s) => (s, false),
            Stream::Tls(s) => (s.get_ref().0, true),
        };
        let mut probe = [0u8; 1];
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut buf = tokio::io::ReadBuf::new(&mut probe);
        match tcp.poll_peek(&mut cx, &mut buf) {
            std::task::Poll::Pending => false,
            // Pending TLS records (a session ticket) are read with the next response.
            std::task::Poll::Ready(Ok(n)) => n == 0 || !tls,
            std::task::Poll::Ready(Err(_)) => true,
        }
    }
}

struct Connection {
    https: bool,
    host: String,
    port: u16,
    stream: Stream,
    /// When its last exchange ended.
    idle_since: Instant,
}

/// Connections idle at least this long are checked for a close before an idempotent request
/// uses them (JMeter's `httpclient4.validate_after_inactivity`, 4,900 ms); busier ones rely on
/// the resend of idempotent requests (`Failure::stale`). Other requests always check.
const CHECK_AFTER_IDLE: Duration = Duration::from_millis(4900);

/// Read buffers above this size are given back after the exchange, so that thousands of idle
/// users hold little memory.
const KEEP_BUFFER: usize = 16 * 1024;
const READ_CHUNK: usize = 8 * 1024;
/// The most a body buffer grows by ahead of the bytes that fill it.
const MAX_RESERVE: usize = 1024 * 1024;

/// An HTTP/2 connection to a TLS target that chose `h2` by ALPN. The `h2` crate's connection
/// future runs in a task of its own (it must answer pings and settings between this user's
/// requests); the user sends one stream at a time over it.
struct H2Connection {
    host: String,
    port: u16,
    send: h2::client::SendRequest<Bytes>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for H2Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The exchange under way: its response head is read, its body not yet.
enum Current {
    /// The connection's index in `open`, how the body ends, and whether the connection stays
    /// open after it.
    H1(usize, Framing, bool),
    /// The stream's body, the connection's index in `h2`, and whether the connection closes
    /// after it (the request asked to close).
    H2(h2::RecvStream, usize, bool),
}

/// A user's direct connections, and the buffers its exchanges share (a user runs one exchange
/// at a time).
#[derive(Default)]
pub struct Connections {
    open: Vec<Connection>,
    /// HTTP/2 connections, at most one per TLS target.
    h2: Vec<H2Connection>,
    /// This user's TLS configuration: the run's, with its own session cache (and client
    /// certificate).
    tls: Option<Arc<rustls::ClientConfig>>,
    /// The client certificate this user's TLS connections offer.
    client_cert: Option<Arc<rustls::sign::CertifiedKey>>,
    /// Bytes read and not yet consumed: the response head, then the body's first bytes.
    buf: Vec<u8>,
    /// The exchange under way.
    current: Option<Current>,
}

/// How a response body ends.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    /// At the end of the stream; the connection is not reused.
    Close,
}

/// A response head.
pub struct Head {
    pub status: http::StatusCode,
    pub version: http::Version,
    /// The server's reason phrase when it is not the canonical one.
    pub reason: Option<String>,
    pub headers: http::HeaderMap,
}

/// A response head; the body is read next with [`Connections::body`].
pub struct Response {
    pub head: Head,
    /// Time spent connecting (TLS included); zero on a kept-alive connection.
    pub connect: Duration,
}

/// One request, its head already written by the caller.
pub struct Request<'a> {
    pub head: &'a [u8],
    pub body: &'a [u8],
    /// The body goes as one chunk (the plan set `Transfer-Encoding: chunked`).
    pub chunked: bool,
    pub idempotent: bool,
    pub head_only: bool,
    /// The request asks to close the connection after the response.
    pub close: bool,
}

impl Connections {
    /// The client certificate this user offers.
    pub fn client_cert(&self) -> Option<&Arc<rustls::sign::CertifiedKey>> {
        self.client_cert.as_ref()
    }

    /// The client certificate of the TLS connections opened from now on.
    pub fn set_client_cert(&mut self, key: Option<Arc<rustls::sign::CertifiedKey>>) {
        let same = match (&self.client_cert, &key) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        // Open connections keep the certificate of their handshake, as in JMeter.
        if !same {
            self.client_cert = key;
            self.tls = None;
        }
    }

    /// Drops every connection (a new user on the next iteration).
    pub fn clear(&mut self) {
        self.open.clear();
        self.h2.clear();
        self.current = None;
    }

    /// Sends `request` to `url`'s target over a kept-alive connection, or a new one, and reads
    /// the response head. When the server closed a kept-alive connection as the request went
    /// out, an idempotent request goes once more, on a new connection.
    pub async fn send(
        &mut self,
        url: &url::Url,
        request: &Request<'_>,
        connect_timeout: Option<Duration>,
        response_timeout: Option<Duration>,
        tls: &Arc<rustls::ClientConfig>,
        static_hosts: &[(String, Vec<std::net::IpAddr>)],
    ) -> Result<Response, Failure> {
        let mut first_try = true;
        loop {
            let result = self
                .send_once(
                    url,
                    request,
                    connect_timeout,
                    response_timeout,
                    tls,
                    static_hosts,
                )
                .await;
            match result {
                Err(failure)
                    if first_try && (failure.unsent || (failure.stale && request.idempotent)) =>
                {
                    first_try = false;
                }
                result => return result,
            }
        }
    }

    async fn send_once(
        &mut self,
        url: &url::Url,
        request: &Request<'_>,
        connect_timeout: Option<Duration>,
        response_timeout: Option<Duration>,
        tls: &Arc<rustls::ClientConfig>,
        static_hosts: &[(String, Vec<std::net::IpAddr>)],
    ) -> Result<Response, Failure> {
        // A body left unread leaves its connection unusable.
        match self.current.take() {
            Some(Current::H1(index, ..)) => {
                self.open.swap_remove(index);
            }
            // An HTTP/2 stream dropped unread is reset; its connection stays usable.
            Some(Current::H2(..)) | None => {}
        }
        self.buf.clear();
        let https = url.scheme() == "https";
        let (host, port) = host_and_port(url);
        if https {
            // A connection whose task ended (the server closed it, or sent GOAWAY and finished)
            // cannot carry another stream.
            self.h2.retain(|c| !c.task.is_finished());
            if let Some(index) = self
                .h2
                .iter()
                .position(|c| c.port == port && c.host == host)
            {
                // Boxed, as below: HTTP/2's futures would otherwise widen every user's task.
                return Box::pin(self.send_h2(
                    index,
                    url,
                    request,
                    Duration::ZERO,
                    response_timeout,
                ))
                .await;
            }
        }
        let now = Instant::now();
        // A connection the server closed while idle is dropped before use.
        self.open.retain(|c| {
            c.https != https
                || c.port != port
                || c.host != host
                || ((request.idempotent && now - c.idle_since < CHECK_AFTER_IDLE)
                    || !c.stream.closed_while_idle())
        });
        let found = self
            .open
            .iter()
            .position(|c| c.https == https && c.port == port && c.host == host);
        let (index, connect) = match found {
            Some(i) => (i, Duration::ZERO),
            None => {
                let started = Instant::now();
                let connecting = self.connect(https, &host, port, tls, static_hosts);
                // Inline rather than `with_timeout`: an async helper would hold the connect
                // future twice in every user's task.
                let stream = match connect_timeout {
                    Some(limit) => tokio::time::timeout(limit, connecting)
                        .await
                        .map_err(|_| Failure::timeout(true))??,
                    None => connecting.await?,
                };
                let stream = match stream {
                    Connected::H1(stream) => stream,
                    Connected::H2(stream) => {
                        let opening = Box::pin(self.open_h2(stream, host, port));
                        // What is left of the connect timeout.
                        let left = connect_timeout.map(|t| t.saturating_sub(started.elapsed()));
                        let index = with_timeout(left, true, opening).await?;
                        let connect = started.elapsed();
                        return Box::pin(self.send_h2(
                            index,
                            url,
                            request,
                            connect,
                            response_timeout,
                        ))
                        .await;
                    }
                };
                self.open.push(Connection {
                    https,
                    host,
                    port,
                    stream,
                    idle_since: started,
                });
                (self.open.len() - 1, started.elapsed())
            }
        };
        let exchanging = exchange_head(&mut self.open[index].stream, &mut self.buf, request);
        let result = match response_timeout {
            Some(limit) => tokio::time::timeout(limit, exchanging)
                .await
                .unwrap_or_else(|_| Err(Failure::timeout(false))),
            None => exchanging.await,
        };
        match result {
            Ok((head, framing, keep_alive)) => {
                self.current = Some(Current::H1(index, framing, keep_alive && !request.close));
                Ok(Response { head, connect })
            }
            Err(mut failure) => {
                // A failed exchange leaves the connection in an unknown state.
                self.open.swap_remove(index);
                failure.stale &= connect.is_zero();
                Err(failure)
            }
        }
    }

    /// Reads the body of the response [`send`](Self::send) returned, within `timeout`.
    pub async fn body(&mut self, timeout: Option<Duration>) -> Result<Vec<u8>, Failure> {
        let (index, framing, keep_alive) = match self.current.take() {
            None => return Ok(Vec::new()),
            Some(Current::H2(stream, index, close)) => {
                let result = Box::pin(with_timeout(timeout, false, read_h2_body(stream))).await;
                if close || result.is_err() {
                    self.h2.swap_remove(index);
                }
                return result;
            }
            Some(Current::H1(index, framing, keep_alive)) => (index, framing, keep_alive),
        };
        let reading = read_body(&mut self.open[index].stream, &mut self.buf, framing);
        let result = match timeout {
            Some(limit) => tokio::time::timeout(limit, reading)
                .await
                .unwrap_or_else(|_| Err(Failure::timeout(false))),
            None => reading.await,
        };
        let now = Instant::now();
        let connection = &mut self.open[index];
        // Reusable when the body ended where its framing said, nothing more came, and neither
        // side asked to close.
        let reusable =
            result.is_ok() && framing != Framing::Close && self.buf.is_empty() && keep_alive;
        if reusable {
            connection.idle_since = now;
        } else {
            self.open.swap_remove(index);
        }
        self.buf.clear();
        if self.buf.capacity() > KEEP_BUFFER {
            self.buf = Vec::new();
        }
        result
    }

    async fn connect(
        &mut self,
        https: bool,
        host: &str,
        port: u16,
        run_tls: &Arc<rustls::ClientConfig>,
        static_hosts: &[(String, Vec<std::net::IpAddr>)],
    ) -> Result<Connected, Failure> {
        let addresses: Vec<std::net::SocketAddr> = match static_hosts
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(host))
        {
            Some((_, ips)) => ips.iter().map(|ip| (*ip, port).into()).collect(),
            None => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| {
                    Failure::connecting(
                        Some(e.kind()),
                        format!("dns error: failed to lookup address information: {e}"),
                    )
                })?
                .collect(),
        };
        let mut last = None;
        let mut stream = None;
        for address in addresses {
            match TcpStream::connect(address).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(Failure::connect(&e)),
            (None, None) => {
                return Err(Failure::connecting(
                    None,
                    format!("dns error: no address for {host}"),
                ))
            }
        };
        let _ = stream.set_nodelay(true);
        if !https {
            return Ok(Connected::H1(Stream::Plain(stream)));
        }
        let config = self
            .tls
            .get_or_insert_with(|| {
                let mut config = (**run_tls).clone();
                config.resumption = rustls::client::Resumption::in_memory_sessions(8);
                if let Some(key) = &self.client_cert {
                    config.client_auth_cert_resolver =
                        Arc::new(super::keystore::FixedClientCert(key.clone()));
                }
                Arc::new(config)
            })
            .clone();
        let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| {
            Failure::connecting(None, format!("invalid TLS server name {host}: {e}"))
        })?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, stream)
            .await
            .map_err(|e| {
                Failure::connecting(Some(e.kind()), format!("TLS handshake failed: {e}"))
            })?;
        if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
            return Ok(Connected::H2(Box::new(tls)));
        }
        Ok(Connected::H1(Stream::Tls(Box::new(tls))))
    }

    /// Starts HTTP/2 on a TLS connection whose server chose `h2`; returns its index in `h2`.
    async fn open_h2(
        &mut self,
        tls: Box<tokio_rustls::client::TlsStream<TcpStream>>,
        host: String,
        port: u16,
    ) -> Result<usize, Failure> {
        // hyper's windows: the 64 KB default costs a round trip per 64 KB of a large body.
        let (send, connection) = h2::client::Builder::new()
            .enable_push(false)
            .initial_window_size(2 * 1024 * 1024)
            .initial_connection_window_size(5 * 1024 * 1024)
            .handshake::<_, Bytes>(tls)
            .await
            .map_err(|e| h2_failure(&e))?;
        let task = tokio::spawn(async move {
            // Its errors reach the streams that use it.
            let _ = connection.await;
        });
        self.h2.push(H2Connection {
            host,
            port,
            send,
            task,
        });
        Ok(self.h2.len() - 1)
    }

    /// Sends `request` as a stream of the HTTP/2 connection `index` and reads the response head.
    /// A request the server never got (the connection was closed or going away before the
    /// stream opened, or the server refused the stream) goes once more on a new connection,
    /// whatever its method (RFC 9113 §8.7). A failure of the connection drops it; a reset of
    /// the stream alone keeps it.
    async fn send_h2(
        &mut self,
        index: usize,
        url: &url::Url,
        request: &Request<'_>,
        connect: Duration,
        response_timeout: Option<Duration>,
    ) -> Result<Response, Failure> {
        let outgoing = h2_request(url, request.head)?;
        let send = self.h2[index].send.clone();
        let unsent = |e: h2::Error| {
            let mut failure = h2_failure(&e);
            failure.unsent = true;
            failure
        };
        let exchanging = async move {
            let mut send = send.ready().await.map_err(unsent)?;
            let end = request.body.is_empty();
            let (response, mut body) = send.send_request(outgoing, end).map_err(unsent)?;
            if !end {
                send_h2_body(&mut body, request.body)
                    .await
                    .map_err(|e| h2_failure(&e))?;
            }
            response.await.map_err(|e| {
                // Streams a graceful GOAWAY (NO_ERROR) fails are above its last stream id: the
                // server did not process them. After an error GOAWAY it may have.
                let refused = e.reason() == Some(h2::Reason::REFUSED_STREAM)
                    || (e.is_go_away()
                        && e.is_remote()
                        && e.reason() == Some(h2::Reason::NO_ERROR));
                let mut failure = h2_failure(&e);
                failure.unsent = refused;
                failure
            })
        };
        let result = with_timeout(response_timeout, false, exchanging).await;
        match result {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                self.current = Some(Current::H2(body, index, request.close));
                Ok(Response {
                    head: Head {
                        status: parts.status,
                        version: http::Version::HTTP_2,
                        reason: None,
                        headers: parts.headers,
                    },
                    connect,
                })
            }
            Err(failure) => {
                // A stream reset alone leaves the connection usable.
                if failure.unsent || failure.timeout || failure.connection {
                    self.h2.swap_remove(index);
                }
                Err(failure)
            }
        }
    }
}

/// A new connection: HTTP/1.1, or a TLS stream whose server chose HTTP/2.
enum Connected {
    H1(Stream),
    H2(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// `future`, failed as a timeout (of the connect, or of the read) when it takes longer than
/// `limit`. For the boxed HTTP/2 futures only: the HTTP/1.1 path writes it inline, because this
/// helper's state holds its future twice.
async fn with_timeout<T>(
    limit: Option<Duration>,
    connect: bool,
    future: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, future)
            .await
            .unwrap_or_else(|_| Err(Failure::timeout(connect))),
        None => future.await,
    }
}

/// An HTTP/2 error in the terms of the error mapping; `connection` when the connection itself
/// failed (not only the stream).
fn h2_failure(error: &h2::Error) -> Failure {
    let mut failure = match error.get_io() {
        Some(io) => Failure::io(io),
        None => Failure::protocol(format!("HTTP/2: {error}")),
    };
    failure.connection = error.is_io() || error.is_go_away() || error.reason().is_none();
    failure
}

/// Headers that belong to an HTTP/1.1 connection and are not sent over HTTP/2 (RFC 9113
/// §8.2.2); `Host` becomes the `:authority`.
pub const H1_ONLY: [&str; 7] = [
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
];

/// The HTTP/2 request for an HTTP/1.1 request head written by the caller: the same method,
/// target and headers, in the same order, but the connection-specific ones.
fn h2_request(url: &url::Url, head: &[u8]) -> Result<http::Request<()>, Failure> {
    let lines = head.windows(2).filter(|w| w == b"\r\n").count();
    let mut parsed_headers = vec![httparse::EMPTY_HEADER; lines];
    let mut parsed = httparse::Request::new(&mut parsed_headers);
    let invalid =
        |what: &dyn std::fmt::Display| Failure::protocol(format!("invalid request: {what}"));
    parsed.parse(head).map_err(|e| invalid(&e))?;
    let (Some(method), Some(target)) = (parsed.method, parsed.path) else {
        return Err(invalid(&"incomplete head"));
    };
    let authority = parsed
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned())
        .unwrap_or_else(|| url.authority().to_string());
    let uri = format!("https://{authority}{target}");
    let mut builder = http::Request::builder().method(method).uri(uri.as_str());
    for header in parsed.headers.iter() {
        let name = header.name.to_ascii_lowercase();
        if H1_ONLY.contains(&name.as_str()) && !(name == "te" && header.value == b"trailers") {
            continue;
        }
        builder = builder.header(name, header.value);
    }
    builder.body(()).map_err(|e| invalid(&e))
}

/// Sends a request body as the stream's flow-control windows allow.
async fn send_h2_body(stream: &mut h2::SendStream<Bytes>, body: &[u8]) -> Result<(), h2::Error> {
    let mut rest = Bytes::copy_from_slice(body);
    while !rest.is_empty() {
        stream.reserve_capacity(rest.len());
        let granted = match std::future::poll_fn(|cx| stream.poll_capacity(cx)).await {
            Some(granted) => granted?,
            None => return Err(h2::Error::from(h2::Reason::CANCEL)),
        };
        if granted == 0 {
            continue;
        }
        let chunk = rest.split_to(granted.min(rest.len()));
        stream.send_data(chunk, rest.is_empty())?;
    }
    Ok(())
}

/// Reads an HTTP/2 response body, giving its window back as it goes.
async fn read_h2_body(mut stream: h2::RecvStream) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    while let Some(chunk) = stream.data().await {
        let chunk = chunk.map_err(|e| h2_failure(&e))?;
        body.extend_from_slice(&chunk);
        let _ = stream.flow_control().release_capacity(chunk.len());
    }
    Ok(body)
}

/// Writes the request and reads the response head (skipping interim `1xx` responses).
async fn exchange_head(
    stream: &mut Stream,
    buf: &mut Vec<u8>,
    request: &Request<'_>,
) -> Result<(Head, Framing, bool), Failure> {
    let written = async {
        stream.write_all(request.head).await?;
        if request.chunked {
            if !request.body.is_empty() {
                let size = format!("{:x}\r\n", request.body.len());
                stream.write_all(size.as_bytes()).await?;
                stream.write_all(request.body).await?;
                stream.write_all(b"\r\n").await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
        } else if !request.body.is_empty() {
            stream.write_all(request.body).await?;
        }
        Ok::<(), io::Error>(())
    };
    if let Err(e) = written.await {
        return Err(Failure {
            stale: is_reset(e.kind()),
            unsent: false,
            connection: false,
            ..Failure::io(&e)
        });
    }
    let mut received_any = false;
    loop {
        if let Some((head, used)) = parse_head(buf)? {
            buf.drain(..used);
            let status = head.status.as_u16();
            if (100..200).contains(&status) && status != 101 {
                received_any = true;
                continue;
            }
            let (framing, keep_alive) = framing(&head, request.head_only)?;
            return Ok((head, framing, keep_alive));
        }
        if buf.len() > MAX_HEAD {
            return Err(Failure::protocol("message head is too large"));
        }
        buf.reserve(READ_CHUNK);
        match stream.read_into(buf).await {
            Ok(0) => {
                return Err(Failure {
                    stale: !received_any && buf.is_empty(),
                    unsent: false,
                    connection: false,
                    ..Failure::protocol(CLOSED)
                })
            }
            Ok(_) => {}
            Err(e) => {
                return Err(Failure {
                    stale: !received_any && buf.is_empty() && is_reset(e.kind()),
                    unsent: false,
                    connection: false,
                    ..Failure::io(&e)
                })
            }
        }
        received_any = true;
    }
}

fn is_reset(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

const MAX_HEAD: usize = 1024 * 1024;
const MAX_HEADERS: usize = 256;

/// Parses a complete response head at the start of `buf`: the head and its length.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, Failure> {
    // Left uninitialised: filling 256 slots cost more than parsing a small head.
    let mut slots = [const { std::mem::MaybeUninit::<httparse::Header>::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut []);
    let used = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut parsed,
        buf,
        &mut slots,
    ) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Failure::protocol(format!("invalid HTTP response: {e}"))),
    };
    let status = http::StatusCode::from_u16(parsed.code.unwrap_or(0))
        .map_err(|_| Failure::protocol("invalid HTTP status-code parsed"))?;
    let version = if parsed.version == Some(0) {
        http::Version::HTTP_10
    } else {
        http::Version::HTTP_11
    };
    let reason = parsed
        .reason
        .filter(|r| Some(*r) != status.canonical_reason())
        .map(str::to_string);
    // One copy of the head; each header value is a slice of it.
    let copy = Bytes::copy_from_slice(&buf[..used]);
    let mut headers = http::HeaderMap::with_capacity(parsed.headers.len());
    for header in parsed.headers.iter() {
        let name = http::HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| Failure::protocol("invalid HTTP header parsed"))?;
        let offset = header.value.as_ptr() as usize - buf.as_ptr() as usize;
        let value =
            http::HeaderValue::from_maybe_shared(copy.slice(offset..offset + header.value.len()))
                .map_err(|_| Failure::protocol("invalid HTTP header parsed"))?;
        headers.append(name, value);
    }
    Ok(Some((
        Head {
            status,
            version,
            reason,
            headers,
        },
        used,
    )))
}

/// How the body ends (RFC 9112 §6.3), and whether the connection stays open after it.
fn framing(head: &Head, head_only: bool) -> Result<(Framing, bool), Failure> {
    let tokens = |name: http::HeaderName| {
        head.headers
            .get_all(name)
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("").split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    let connection = tokens(http::header::CONNECTION);
    let mut keep_alive = match head.version {
        http::Version::HTTP_10 => connection.iter().any(|t| t == "keep-alive"),
        _ => !connection.iter().any(|t| t == "close"),
    };
    let status = head.status.as_u16();
    if status == 101 {
        // The connection now speaks another protocol: never reused for HTTP.
        return Ok((Framing::Empty, false));
    }
    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok((Framing::Empty, keep_alive));
    }
    if head.headers.contains_key(http::header::TRANSFER_ENCODING) {
        let codings = tokens(http::header::TRANSFER_ENCODING);
        if codings.last().map(String::as_str) == Some("chunked") {
            return Ok((Framing::Chunked, keep_alive));
        }
        return Ok((Framing::Close, false));
    }
    let mut length: Option<u64> = None;
    for value in head.headers.get_all(http::header::CONTENT_LENGTH) {
        for part in value.to_str().unwrap_or("x").split(',') {
            let n: u64 = part
                .trim()
                .parse()
                .map_err(|_| Failure::protocol("invalid content-length parsed"))?;
            if length.is_some_and(|l| l != n) {
                return Err(Failure::protocol("invalid content-length parsed"));
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(0) => (Framing::Empty, keep_alive),
        Some(n) => (Framing::Length(n), keep_alive),
        None => {
            keep_alive = false;
            (Framing::Close, keep_alive)
        }
    })
}

/// Reads a body; `buf` holds the bytes already read after the head, and is left with whatever
/// came after the body.
async fn read_body(
    stream: &mut Stream,
    buf: &mut Vec<u8>,
    framing: Framing,
) -> Result<Vec<u8>, Failure> {
    let incomplete = || {
        Failure::protocol(format!(
            "{PREMATURE} chunk coded message body: closing chunk expected"
        ))
    };
    match framing {
        Framing::Empty => Ok(Vec::new()),
        Framing::Length(n) => {
            let n = usize::try_from(n).map_err(|_| Failure::protocol("body too large"))?;
            if buf.len() >= n {
                let body = buf[..n].to_vec();
                buf.drain(..n);
                return Ok(body);
            }
            let mut body = std::mem::take(buf);
            while body.len() < n {
                // Grown as the bytes come: a Content-Length is no promise.
                body.reserve((n - body.len()).min(MAX_RESERVE));
                match stream.read_into(&mut body).await {
                    Ok(0) => {
                        return Err(Failure::protocol(format!(
                            "{PREMATURE} Content-Length delimited message body (expected: {n}; received: {})",
                            body.len()
                        )))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(Failure::io(&e)),
                }
            }
            if body.len() > n {
                buf.extend_from_slice(&body[n..]);
                body.truncate(n);
            }
            Ok(body)
        }
        Framing::Close => {
            let mut body = std::mem::take(buf);
            loop {
                body.reserve(READ_CHUNK);
                match stream.read_into(&mut body).await {
                    Ok(0) => return Ok(body),
                    Ok(_) => {}
                    // A TLS server that closes without close_notify still ends the body.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(body),
                    Err(e) => return Err(Failure::io(&e)),
                }
            }
        }
        Framing::Chunked => {
            let mut body = Vec::new();
            let mut at = 0;
            loop {
                // The chunk-size line.
                let line_end = fill_line(stream, buf, at).await?;
                let line = std::str::from_utf8(&buf[at..line_end - 2]).unwrap_or("");
                let size = line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size, 16)
                    .ok()
                    .filter(|size| size.checked_add(line_end + 2).is_some())
                    .ok_or_else(|| Failure::protocol("invalid chunk size line"))?;
                at = line_end;
                if size == 0 {
                    // Trailers, up to an empty line.
                    loop {
                        let end = fill_line(stream, buf, at).await?;
                        let empty = end - at == 2;
                        at = end;
                        if empty {
                            buf.drain(..at);
                            return Ok(body);
                        }
                    }
                }
                while buf.len() < at + size + 2 {
                    buf.reserve((at + size + 2 - buf.len()).clamp(READ_CHUNK, MAX_RESERVE));
                    match stream.read_into(buf).await {
                        Ok(0) => return Err(incomplete()),
                        Ok(_) => {}
                        Err(e) => return Err(Failure::io(&e)),
                    }
                }
                body.extend_from_slice(&buf[at..at + size]);
                if &buf[at + size..at + size + 2] != b"\r\n" {
                    return Err(Failure::protocol("invalid chunk"));
                }
                buf.drain(..at + size + 2);
                at = 0;
            }
        }
    }
}

/// Reads until `buf[from..]` holds a CRLF-ended line; returns the index after the CRLF.
async fn fill_line(stream: &mut Stream, buf: &mut Vec<u8>, from: usize) -> Result<usize, Failure> {
    let mut searched = from;
    loop {
        if let Some(i) = buf[searched..].windows(2).position(|w| w == b"\r\n") {
            return Ok(searched + i + 2);
        }
        searched = buf.len().saturating_sub(1).max(from);
        if buf.len() - from > MAX_HEAD {
            return Err(Failure::protocol("chunk line too long"));
        }
        buf.reserve(READ_CHUNK);
        match stream.read_into(buf).await {
            Ok(0) => {
                return Err(Failure::protocol(format!(
                    "{PREMATURE} chunk coded message body: closing chunk expected"
                )))
            }
            Ok(_) => {}
            Err(e) => return Err(Failure::io(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thousands of idle users each hold their connections and, while a request is out, its
    /// future: what they weigh is checked here, so that growth is seen (HTTP/2 is boxed).
    #[test]
    fn per_user_state_stays_small() {
        let mut connections = Connections::default();
        let url = url::Url::parse("http://127.0.0.1:1/").unwrap();
        let request = Request {
            head: b"GET / HTTP/1.1\r\n\r\n",
            body: b"",
            chunked: false,
            idempotent: true,
            head_only: false,
            close: false,
        };
        let tls = Arc::new(crate::runtime::http::tls_config(false, false).unwrap());
        let state = std::mem::size_of::<Connections>();
        let sending =
            std::mem::size_of_val(&connections.send(&url, &request, None, None, &tls, &[]));
        let body = std::mem::size_of_val(&connections.body(None));
        // Debug-build sizes (release ones are smaller): before HTTP/2 they were 96, 1784, 384.
        assert!(state <= 120, "Connections: {state} bytes");
        assert!(sending <= 1850, "the send future: {sending} bytes");
        assert!(body <= 384, "the body future: {body} bytes");
    }

    fn head(text: &str) -> Head {
        parse_head(text.as_bytes()).unwrap().unwrap().0
    }

    proptest::proptest! {
        /// Any bytes from a server give a head, a request for more, or a protocol error; never
        /// a panic.
        #[test]
        fn any_response_head_is_handled(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
                                        prefix in proptest::sample::select(vec!["", "HTTP/1.1 200 OK\r\n", "HTTP/1.0 304 X\r\nContent-Length: "])) {
            let mut text = prefix.as_bytes().to_vec();
            text.extend_from_slice(&bytes);
            if let Ok(Some((head, used))) = parse_head(&text) {
                proptest::prop_assert!(used <= text.len());
                let _ = framing(&head, false);
            }
        }
    }

    #[test]
    fn a_partial_head_asks_for_more() {
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Len")
            .unwrap()
            .is_none());
    }

    #[test]
    fn reason_phrases_are_kept_only_when_not_canonical() {
        assert_eq!(head("HTTP/1.1 200 OK\r\n\r\n").reason, None);
        let custom = head("HTTP/1.1 200 Fine\r\nA: b\r\n\r\n");
        assert_eq!(custom.reason.as_deref(), Some("Fine"));
        assert_eq!(custom.headers["a"], "b");
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let f = |text: &str, head_only| framing(&head(text), head_only).unwrap();
        assert_eq!(
            f("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false),
            (Framing::Length(5), true)
        );
        assert_eq!(
            f("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true),
            (Framing::Empty, true)
        );
        assert_eq!(
            f(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n",
                false
            ),
            (Framing::Chunked, true)
        );
        assert_eq!(f("HTTP/1.1 200 OK\r\n\r\n", false), (Framing::Close, false));
        assert_eq!(
            f(
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
                false
            ),
            (Framing::Empty, true)
        );
        assert_eq!(
            f("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false),
            (Framing::Length(1), false)
        );
        assert_eq!(
            f(
                "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n",
                false
            ),
            (Framing::Length(1), true)
        );
        assert_eq!(
            f(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
                false
            ),
            (Framing::Length(1), false)
        );
        assert!(framing(
            &head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            false
        )
        .is_err());
    }
}

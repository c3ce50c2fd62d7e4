//! A user's own HTTP/1.1 connections on hyper's connection API, with no pool in between: one
//! connection per target (scheme, host, port), kept alive as JMeter's HttpClient keeps a
//! thread's connections. reqwest's pool, dispatch and connector layers cost about twice the CPU
//! per request of this path (see ARCHITECTURE.md); reqwest remains for proxied runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;

/// Something a connection runs over: plain TCP or TLS.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// What went wrong, in the terms the error mapping needs.
#[derive(Debug)]
pub struct Failure {
    pub timeout: bool,
    pub connect: bool,
    /// A kept-alive connection ended or was reset before any response: the server had closed
    /// it as the request went out. An idempotent request may be sent again on a new connection.
    pub stale: bool,
    pub io_kind: Option<std::io::ErrorKind>,
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

impl Failure {
    /// A failure while connecting that is not an I/O error of the connect itself.
    fn connecting(io_kind: Option<std::io::ErrorKind>, text: String) -> Failure {
        Failure {
            timeout: false,
            connect: true,
            stale: false,
            io_kind,
            text,
        }
    }

    fn connect(error: &std::io::Error) -> Failure {
        Failure {
            timeout: error.kind() == std::io::ErrorKind::TimedOut,
            connect: true,
            stale: false,
            io_kind: Some(error.kind()),
            text: error.to_string(),
        }
    }

    fn timeout(connect: bool) -> Failure {
        Failure {
            timeout: true,
            connect,
            stale: false,
            io_kind: None,
            text: "timed out".into(),
        }
    }

    fn hyper(error: &hyper::Error) -> Failure {
        let io_kind = super::http::source_chain(error)
            .find_map(|e| e.downcast_ref::<std::io::Error>().map(|io| io.kind()));
        let mut text = super::http::source_chain(error)
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(": ");
        if error.is_incomplete_message() || error.is_canceled() {
            text.push_str(" (connection closed)");
        }
        Failure {
            timeout: error.is_timeout(),
            connect: false,
            stale: false,
            io_kind,
            text,
        }
    }
}

struct Connection {
    https: bool,
    host: String,
    port: u16,
    sender: SendRequest<Full<Bytes>>,
}

/// A user's direct connections.
#[derive(Default)]
pub struct Connections {
    open: Vec<Connection>,
    /// This user's TLS configuration: the run's, with its own session cache.
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// A response head and its still unread body.
pub struct Response {
    pub inner: hyper::Response<hyper::body::Incoming>,
    /// Time spent connecting (TLS included); zero on a kept-alive connection.
    pub connect: Duration,
}

impl Connections {
    /// Drops every connection (a new user on the next iteration).
    pub fn clear(&mut self) {
        self.open.clear();
    }

    /// Sends `request` to `url`'s target over a kept-alive connection, or a new one.
    pub async fn send(
        &mut self,
        url: &url::Url,
        request: hyper::Request<Full<Bytes>>,
        connect_timeout: Option<Duration>,
        response_timeout: Option<Duration>,
        tls: &Arc<rustls::ClientConfig>,
        static_hosts: &[(String, Vec<std::net::IpAddr>)],
    ) -> Result<Response, Failure> {
        let https = url.scheme() == "https";
        let (host, port) = host_and_port(url);
        let mut request = request;
        let mut retried = false;
        loop {
            // A connection the server closed while idle is dropped before use.
            self.open.retain(|c| !c.sender.is_closed());
            let found = self
                .open
                .iter()
                .position(|c| c.https == https && c.port == port && c.host == host);
            let (index, connect) = match found {
                Some(i) => (i, Duration::ZERO),
                None => {
                    let started = Instant::now();
                    let connecting = self.connect(https, &host, port, tls, static_hosts);
                    let sender = match connect_timeout {
                        Some(limit) => tokio::time::timeout(limit, connecting)
                            .await
                            .map_err(|_| Failure::timeout(true))??,
                        None => connecting.await?,
                    };
                    self.open.push(Connection {
                        https,
                        host: host.clone(),
                        port,
                        sender,
                    });
                    (self.open.len() - 1, started.elapsed())
                }
            };
            let sender = &mut self.open[index].sender;
            // On failure, the request comes back when it never reached the connection.
            let sending = async {
                if let Err(e) = sender.ready().await {
                    return Err((Failure::hyper(&e), Some(request)));
                }
                sender.try_send_request(request).await.map_err(|mut e| {
                    let unsent = e.take_message();
                    let mut failure = Failure::hyper(e.error());
                    // No response came back: the connection ended (or was reset) under the
                    // request. A response head ends this future, so no byte of one was read.
                    failure.stale = e.error().is_incomplete_message()
                        || matches!(
                            failure.io_kind,
                            Some(
                                std::io::ErrorKind::ConnectionReset
                                    | std::io::ErrorKind::ConnectionAborted
                                    | std::io::ErrorKind::BrokenPipe
                            )
                        );
                    (failure, unsent)
                })
            };
            let result = match response_timeout {
                Some(limit) => match tokio::time::timeout(limit, sending).await {
                    Ok(result) => result,
                    Err(_) => Err((Failure::timeout(false), None)),
                },
                None => sending.await,
            };
            match result {
                Ok(inner) => return Ok(Response { inner, connect }),
                Err((failure, unsent)) => {
                    // A failed exchange leaves the connection in an unknown state.
                    self.open.swap_remove(index);
                    match unsent {
                        // A kept-alive connection the server had closed: once more on a new
                        // one, as HttpClient does for a request it could not send.
                        Some(unsent) if connect.is_zero() && !retried => {
                            retried = true;
                            request = unsent;
                        }
                        _ => {
                            return Err(Failure {
                                stale: failure.stale && connect.is_zero(),
                                ..failure
                            })
                        }
                    }
                }
            }
        }
    }

    async fn connect(
        &mut self,
        https: bool,
        host: &str,
        port: u16,
        run_tls: &Arc<rustls::ClientConfig>,
        static_hosts: &[(String, Vec<std::net::IpAddr>)],
    ) -> Result<SendRequest<Full<Bytes>>, Failure> {
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
            match tokio::net::TcpStream::connect(address).await {
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
        let io: Box<dyn Io> = if https {
            let config = self
                .tls
                .get_or_insert_with(|| {
                    let mut config = (**run_tls).clone();
                    config.resumption = rustls::client::Resumption::in_memory_sessions(8);
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
            Box::new(tls)
        } else {
            Box::new(stream)
        };
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .title_case_headers(true)
            .handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| Failure {
                connect: true,
                ..Failure::hyper(&e)
            })?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

/// Reads the whole body, within `timeout`.
pub async fn body(
    response: hyper::Response<hyper::body::Incoming>,
    timeout: Option<Duration>,
) -> Result<Bytes, Failure> {
    let reading = async {
        response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|e| Failure::hyper(&e))
    };
    match timeout {
        Some(limit) => tokio::time::timeout(limit, reading)
            .await
            .map_err(|_| Failure::timeout(false))?,
        None => reading.await,
    }
}

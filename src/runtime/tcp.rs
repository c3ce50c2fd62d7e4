//! JMeter's TCP Sampler clients (`TCPClientImpl`, `BinaryTCPClientImpl`,
//! `LengthPrefixedBinaryTCPClientImpl`) on a tokio socket kept per user, with JMeter's result
//! codes and exception texts.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::plan::sampler::{TcpClient, TcpStatus};

/// The longest length-prefixed message read (64 MiB).
const MAX_MESSAGE: i64 = 64 << 20;

/// One rendered TCP sample.
pub struct Request<'a> {
    pub server: &'a str,
    pub port: u16,
    pub client: TcpClient,
    pub eol: Option<u8>,
    pub reuse: bool,
    pub close: bool,
    pub nodelay: bool,
    pub timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    /// `Some`: close with a reset (SO_LINGER 0).
    pub so_linger: Option<i64>,
    pub request: &'a str,
    /// The connection's key: `TCP#server#port#user#password`, shared by the user's samplers.
    pub key: String,
    pub status: Option<&'a TcpStatus>,
}

/// What a TCP sample gives: JMeter's code, message and success, and the response text.
pub struct Outcome {
    pub code: String,
    pub message: String,
    pub success: bool,
    /// `None`: the sample has no response data and no data type (a connect failure).
    pub body: Option<String>,
    pub connect: Duration,
    pub latency: Duration,
}

/// A read that failed part-way: JMeter's `ReadException` message and the text read so far.
struct ReadError {
    message: String,
    partial: String,
}

/// Runs one TCP sample on the user's sockets.
pub async fn sample(request: &Request<'_>, sockets: &mut HashMap<String, TcpStream>) -> Outcome {
    let started = Instant::now();
    let cached = if request.reuse {
        sockets.remove(&request.key)
    } else {
        None
    };
    if cached.is_none() {
        // A sampler that does not re-use closes what another one left.
        sockets.remove(&request.key);
    }
    let socket = match cached {
        Some(socket) => Ok(socket),
        None => connect(request).await,
    };
    let connect = started.elapsed();
    let mut socket = match socket {
        Ok(socket) => socket,
        Err(message) => {
            return Outcome {
                code: "500".into(),
                message,
                success: false,
                body: None,
                connect,
                latency: Duration::ZERO,
            }
        }
    };
    if request.client == TcpClient::Missing {
        sockets.insert(request.key.clone(), socket);
        return Outcome {
            code: "500".into(),
            message: "Protocol handler not found".into(),
            success: false,
            body: None,
            connect,
            latency: Duration::ZERO,
        };
    }
    let _ = socket.set_nodelay(request.nodelay);
    let mut latency = Duration::ZERO;
    let result = exchange(request, &mut socket, started, &mut latency).await;
    let (mut outcome, keep) = match result {
        Ok(text) => (
            Outcome {
                code: "200".into(),
                message: "OK".into(),
                success: true,
                body: Some(text),
                connect,
                latency,
            },
            request.reuse && !request.close,
        ),
        Err(Failure::Read(e)) => (
            Outcome {
                code: "500".into(),
                message: format!(
                    "org.apache.jmeter.protocol.tcp.sampler.ReadException: {}",
                    e.message
                ),
                success: false,
                body: Some(e.partial),
                connect,
                latency,
            },
            false,
        ),
        Err(Failure::Other(message)) => (
            Outcome {
                code: "500".into(),
                message,
                success: false,
                body: Some(String::new()),
                connect,
                latency,
            },
            false,
        ),
    };
    if let Some(status) = request.status {
        apply_status(status, &mut outcome);
    }
    if keep {
        sockets.insert(request.key.clone(), socket);
    }
    outcome
}

async fn connect(request: &Request<'_>) -> Result<TcpStream, String> {
    // JMeter: an empty host is the loopback address.
    let host = if request.server.is_empty() {
        "localhost"
    } else {
        request.server
    };
    let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((host, request.port)).await
    {
        Ok(addrs) => addrs.collect(),
        Err(_) => Vec::new(),
    };
    if addrs.is_empty() {
        return Err(format!("java.net.UnknownHostException: {host}"));
    }
    let attempt = async {
        let mut last = None;
        for addr in &addrs {
            let socket = if addr.is_ipv4() {
                tokio::net::TcpSocket::new_v4()
            } else {
                tokio::net::TcpSocket::new_v6()
            };
            let Ok(socket) = socket else { continue };
            if request.so_linger.is_some() {
                // Only a zero linger (a reset at close) is allowed at build, and it does not block
                // the thread as a lingering close would.
                #[allow(deprecated)]
                let _ = socket.set_linger(Some(Duration::ZERO));
            }
            match socket.connect(*addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last)
    };
    let connected = match request.connect_timeout {
        Some(limit) => match tokio::time::timeout(limit, attempt).await {
            Ok(result) => result,
            Err(_) => return Err("java.net.SocketTimeoutException: Connect timed out".into()),
        },
        None => attempt.await,
    };
    connected.map_err(|e| match e {
        Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "java.net.ConnectException: Connection refused".to_string()
        }
        Some(e) => format!("java.net.ConnectException: {e}"),
        None => format!("java.net.UnknownHostException: {host}"),
    })
}

enum Failure {
    Read(ReadError),
    Other(String),
}

async fn exchange(
    request: &Request<'_>,
    socket: &mut TcpStream,
    started: Instant,
    latency: &mut Duration,
) -> Result<String, Failure> {
    let payload = match request.client {
        TcpClient::Text | TcpClient::Missing => request.request.as_bytes().to_vec(),
        TcpClient::Binary => hex_to_bytes(request.request).map_err(Failure::Other)?,
        TcpClient::LengthPrefixed(n) => {
            // The prefix counts the hex digits' bytes and goes out before the digits are checked.
            let mut out =
                length_prefix((request.request.len() / 2) as i64, n).map_err(Failure::Other)?;
            socket.write_all(&out).await.map_err(write_failure)?;
            out = hex_to_bytes(request.request).map_err(Failure::Other)?;
            out
        }
    };
    socket.write_all(&payload).await.map_err(write_failure)?;
    socket.flush().await.map_err(write_failure)?;
    match request.client {
        TcpClient::LengthPrefixed(n) => read_prefixed(request, socket, n, started, latency).await,
        _ => read_until_end(request, socket, started, latency).await,
    }
}

fn write_failure(e: std::io::Error) -> Failure {
    Failure::Other(java_io_error(&e))
}

/// An I/O error as Java's `toString()` shows it, for the common kinds.
fn java_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => "java.net.SocketException: Broken pipe".into(),
        std::io::ErrorKind::ConnectionReset => "java.net.SocketException: Connection reset".into(),
        _ => format!("java.io.IOException: {e}"),
    }
}

/// Reads with the sampler's timeout; `Err(None)` is a timeout.
async fn read_some(
    socket: &mut TcpStream,
    buf: &mut [u8],
    timeout: Option<Duration>,
) -> Result<usize, Option<std::io::Error>> {
    match timeout {
        Some(limit) => match tokio::time::timeout(limit, socket.read(buf)).await {
            Ok(r) => r.map_err(Some),
            Err(_) => Err(None),
        },
        None => socket.read(buf).await.map_err(Some),
    }
}

/// The text and binary clients: chunks until the end byte ends a chunk, or the end of stream.
async fn read_until_end(
    request: &Request<'_>,
    socket: &mut TcpStream,
    started: Instant,
    latency: &mut Duration,
) -> Result<String, Failure> {
    let mut data = Vec::new();
    let mut buf = vec![0u8; 4096];
    let show = |data: &[u8]| match request.client {
        TcpClient::Text => String::from_utf8_lossy(data).into_owned(),
        _ => bytes_to_hex(data),
    };
    loop {
        match read_some(socket, &mut buf, request.timeout).await {
            Ok(0) => break,
            Ok(n) => {
                if data.is_empty() {
                    *latency = started.elapsed();
                }
                data.extend_from_slice(&buf[..n]);
                if request.eol.is_some() && buf[n - 1] == request.eol.unwrap_or(0) {
                    break;
                }
            }
            Err(e) => {
                let message = match (request.client, &e) {
                    (TcpClient::Text, _) => {
                        format!("Error reading from server, bytes read: {}", data.len())
                    }
                    // Bug 65034: without an end byte a timeout ends the message.
                    (_, None) if request.eol.is_none() => break,
                    (_, None) => "Socket timed out while looking for EOM".into(),
                    (_, Some(_)) => "Problems while trying to read".into(),
                };
                return Err(Failure::Read(ReadError {
                    message,
                    partial: show(&data),
                }));
            }
        }
    }
    Ok(show(&data))
}

/// The length-prefixed client: one read of the prefix, then up to that many bytes.
async fn read_prefixed(
    request: &Request<'_>,
    socket: &mut TcpStream,
    prefix: usize,
    started: Instant,
    latency: &mut Duration,
) -> Result<String, Failure> {
    let mut head = [0u8; 4];
    let got = match read_some(socket, &mut head[..prefix], request.timeout).await {
        Ok(n) => n,
        Err(_) => {
            return Err(Failure::Read(ReadError {
                message: String::new(),
                partial: String::new(),
            }))
        }
    };
    if got < prefix {
        return Ok(String::new());
    }
    *latency = started.elapsed();
    let length = prefix_value(&head[..prefix]);
    if length < 0 {
        return Err(Failure::Other(format!(
            "java.lang.NegativeArraySizeException: {length}"
        )));
    }
    // JMeter allocates whatever the prefix says; past this a JVM of the usual heap gives up.
    if length > MAX_MESSAGE {
        return Err(Failure::Other(
            "java.lang.OutOfMemoryError: Java heap space".into(),
        ));
    }
    let mut body = vec![0u8; length as usize];
    let mut filled = 0;
    while filled < body.len() {
        match read_some(socket, &mut body[filled..], request.timeout).await {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(_) => {
                return Err(Failure::Read(ReadError {
                    message: String::new(),
                    partial: bytes_to_hex(&body),
                }))
            }
        }
    }
    // JMeter shows the whole buffer, zero-padded when the message was short.
    Ok(bytes_to_hex(&body))
}

/// JMeter's `tcp.status.*` scan (with its inverted test: 400 to 599 count as success).
fn apply_status(status: &TcpStatus, outcome: &mut Outcome) {
    let Some(text) = outcome.body.as_deref().filter(|t| !t.is_empty()) else {
        return;
    };
    let found = text.find(&status.prefix).and_then(|i| {
        let from = i + status.prefix.len();
        text[from..]
            .find(&status.suffix)
            .map(|j| text[from..from + j].to_string())
    });
    match found {
        Some(code) => match code.parse::<i32>() {
            Ok(n) => {
                outcome.success &= (400..=599).contains(&n);
                outcome.message = match &status.messages {
                    Some(table) => table
                        .iter()
                        .find(|(k, _)| *k == code)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_else(|| "Status code not found in properties".into()),
                    None => "No status property file".into(),
                };
                outcome.code = code;
            }
            Err(_) => {
                outcome.code = "500".into();
                outcome.message =
                    format!("java.lang.NumberFormatException: For input string: \"{code}\"");
                outcome.success = false;
                outcome.body = Some(String::new());
            }
        },
        None => {
            outcome.code = "999".into();
            outcome.message = "Status value not found".into();
            outcome.success = false;
        }
    }
}

/// JMeter's `hexStringToByteArray`, with its messages.
fn hex_to_bytes(hex: &str) -> Result<Vec<u8>, String> {
    let bad = |m: String| format!("java.lang.IllegalArgumentException: {m}");
    if !hex.len().is_multiple_of(2) {
        return Err(bad(
            "Hex-encoded binary string contains an uneven no. of digits".into(),
        ));
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let text = String::from_utf8_lossy(pair);
            u8::from_str_radix(&text, 16).map_err(|_| {
                bad(format!(
                    "Hex-encoded binary string contains an invalid hex digit in '{text}'"
                ))
            })
        })
        .collect()
}

fn bytes_to_hex(bytes: &[u8]) -> String {
    crate::plan::function::hex(bytes)
}

/// JMeter's `intToByteArray`: big-endian, signed, 2 or 4 bytes.
fn length_prefix(value: i64, len: usize) -> Result<Vec<u8>, String> {
    if len == 2 && !(-32768..=32767).contains(&value) {
        return Err(
            "java.lang.IllegalArgumentException: Value outside range for signed short int.".into(),
        );
    }
    Ok((value as i32).to_be_bytes()[4 - len..].to_vec())
}

/// JMeter's `byteArrayToInt`: the first byte signed, the others not.
fn prefix_value(bytes: &[u8]) -> i64 {
    bytes
        .iter()
        .skip(1)
        .fold(i64::from(bytes[0] as i8), |acc, &b| {
            (acc << 8) | i64::from(b)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_prefixes_as_jmeter() {
        assert_eq!(hex_to_bytes("").unwrap(), Vec::<u8>::new());
        assert_eq!(
            hex_to_bytes("0f107F8081ff").unwrap(),
            vec![15, 16, 127, 128, 129, 255]
        );
        assert!(hex_to_bytes("0f107f8081ff1")
            .unwrap_err()
            .contains("uneven"));
        assert!(hex_to_bytes("0f107xxf8081ff")
            .unwrap_err()
            .contains("invalid hex digit"));
        assert_eq!(
            bytes_to_hex(&hex_to_bytes("0f107F8081ff").unwrap()),
            "0f107f8081ff"
        );
        assert_eq!(length_prefix(255, 2).unwrap(), vec![0, 255]);
        assert_eq!(length_prefix(-1, 2).unwrap(), vec![255, 255]);
        assert_eq!(length_prefix(65536, 4).unwrap(), vec![0, 1, 0, 0]);
        assert!(length_prefix(32768, 2).is_err());
        assert_eq!(prefix_value(&[255, 255]), -1);
        assert_eq!(prefix_value(&[0, 255]), 255);
        assert_eq!(prefix_value(&[0, 0, 255, 255]), 65535);
        assert_eq!(prefix_value(&[128, 0, 0, 0]), i64::from(i32::MIN));
    }
}

//! Shared test support: a scripted HTTP target (the compat suite's `target.json`), free ports,
//! running a plan through the library as the CLI does, and masking JTL columns.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

/// Starts a server that answers from a `target.json` route list (see compat/README.md). It is a
/// raw HTTP/1.1 server, like `compat/target.py`, so that header names keep their case and the
/// response carries exactly the route's headers.
pub async fn serve_target(routes: Value) -> SocketAddr {
    let routes = Arc::new(routes.as_array().cloned().unwrap_or_default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let routes = routes.clone();
            tokio::spawn(async move {
                let _ = serve_connection(stream, routes).await;
            });
        }
    });
    addr
}

/// A TLS server configuration with a self-signed certificate for `localhost` and 127.0.0.1.
pub fn self_signed_tls() -> rustls::ServerConfig {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap()
}

/// The same target over TLS, with a self-signed certificate for `localhost` and 127.0.0.1.
pub async fn serve_target_tls(routes: Value) -> SocketAddr {
    let config = self_signed_tls();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let routes = Arc::new(routes.as_array().cloned().unwrap_or_default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (routes, acceptor) = (routes.clone(), acceptor.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    let _ = serve_connection(tls, routes).await;
                }
            });
        }
    });
    addr
}

async fn serve_connection(
    stream: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    routes: Arc<Vec<Value>>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.to_string(), value.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let path = target.split('?').next().unwrap_or("").to_string();
        let route = routes.iter().find(|r| {
            let m = r["method"].as_str().unwrap_or("*");
            let p = r["path"].as_str().unwrap_or("");
            (m == "*" || m == method)
                && if p.contains('?') {
                    p == target
                } else {
                    p == path
                }
        });
        let response = match route {
            None => "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nno route".to_string(),
            Some(route) => {
                let delay = route["delay_ms"].as_u64().unwrap_or(0);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                let status = route["status"].as_u64().unwrap_or(200) as u16;
                let reason = route["reason"].as_str().map(str::to_string).unwrap_or_else(|| {
                    axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("").to_string()
                });
                let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
                if let Some(map) = route["headers"].as_object() {
                    for (k, v) in map {
                        head.push_str(&format!("{k}: {}\r\n", v.as_str().unwrap_or("")));
                    }
                }
                match &route["set_cookie"] {
                    Value::String(c) => head.push_str(&format!("Set-Cookie: {c}\r\n")),
                    Value::Array(items) => {
                        for c in items {
                            head.push_str(&format!("Set-Cookie: {}\r\n", c.as_str().unwrap_or("")));
                        }
                    }
                    _ => {}
                }
                let text = if route["echo"].as_bool() == Some(true) {
                    let mut echo = request_line.trim_end().to_string() + "\r\n";
                    for (n, v) in &headers {
                        echo.push_str(&format!("{n}: {v}\r\n"));
                    }
                    // `"echo": true, "with_body": true`: the request body follows the headers.
                    if route["with_body"].as_bool() == Some(true) {
                        echo.push_str("\r\n");
                        echo.push_str(&String::from_utf8_lossy(&body));
                    }
                    echo
                } else {
                    route["body"].as_str().unwrap_or("").to_string()
                };
                format!("{head}Content-Length: {}\r\n\r\n{text}", text.len())
            }
        };
        reader.get_mut().write_all(response.as_bytes()).await?;
        // `"drop": true`: the server closes the connection after answering, without saying so
        // (as a server whose keep-alive timeout ran out).
        let dropped = route.is_some_and(|r| r["drop"].as_bool() == Some(true));
        // `"reset": true`: the server waits a moment without reading, then closes; a request
        // that arrived meanwhile is left unread, so the client's socket gets a reset.
        if route.is_some_and(|r| r["reset"].as_bool() == Some(true)) {
            tokio::time::sleep(Duration::from_millis(30)).await;
            return Ok(());
        }
        let close = dropped
            || headers.iter().any(|(n, v)| {
                n.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close")
            });
        if close {
            return Ok(());
        }
    }
}

/// Serves `routes`, runs `plan_text` against them (`-Jport=` the server's port) and returns the
/// server's address and the JTL rows, header first.
pub async fn run_inline(plan_text: &str, routes: Value) -> (SocketAddr, Vec<Vec<String>>) {
    let addr = serve_target(routes).await;
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.jmx");
    std::fs::write(&plan, plan_text).unwrap();
    let jtl = dir.path().join("out.jtl");
    run_plan(&plan, &jtl, &[("port", addr.port().to_string())])
        .await
        .unwrap();
    (addr, read_jtl(&std::fs::read_to_string(&jtl).unwrap()))
}

/// Runs a plan written inline with an XML JTL and these properties; the JTL's text.
pub async fn run_inline_xml(plan_text: &str, props: &[(&str, String)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (plan, jtl) = (dir.path().join("plan.jmx"), dir.path().join("out.xml"));
    std::fs::write(&plan, plan_text).unwrap();
    let mut props = props.to_vec();
    props.push(("jmeter.save.saveservice.output_format", "xml".into()));
    run_plan(&plan, &jtl, &props).await.unwrap();
    std::fs::read_to_string(&jtl).unwrap()
}

/// Runs the real binary in `dir` (without an `RMETER_HOME` from the environment).
pub fn rmeter(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rmeter"))
        .current_dir(dir)
        .env_remove("RMETER_HOME")
        .args(args)
        .output()
        .unwrap()
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Runs a plan the way `rmeter -n -t PLAN -l JTL -Jk=v...` does.
pub async fn run_plan(
    plan: &Path,
    jtl: &Path,
    props: &[(&str, String)],
) -> Result<rmeter::RunOutcome, rmeter::RunError> {
    let args = rmeter::cli::RunArgs {
        props: props
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ..Default::default()
    };
    run_with(plan, jtl, args).await
}

/// Runs a plan with more command-line options, writing `jtl`.
pub async fn run_with(
    plan: &Path,
    jtl: &Path,
    args: rmeter::cli::RunArgs,
) -> Result<rmeter::RunOutcome, rmeter::RunError> {
    let args = rmeter::cli::RunArgs {
        jtl: Some(jtl.to_path_buf()),
        ..args
    };
    let config = args.into_config(Some(plan.to_path_buf()), None).unwrap();
    rmeter::run(&config, Arc::new(rmeter::runtime::Stop::default())).await
}

/// Parses a CSV JTL (with header) into records.
pub fn read_jtl(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Replaces the fields of the named columns with `*` (header row kept).
pub fn mask(records: &mut [Vec<String>], columns: &[&str]) {
    let Some((header, rows)) = records.split_first_mut() else {
        return;
    };
    let indexes: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| columns.contains(&h.as_str()))
        .map(|(i, _)| i)
        .collect();
    for row in rows {
        for &i in &indexes {
            if let Some(field) = row.get_mut(i) {
                *field = "*".into();
            }
        }
    }
}

/// Reads the next request head (up to the empty line) from a raw test server's socket; bytes
/// read past it stay in `seen`. `None` when the client closed the connection.
pub async fn read_request_head(
    socket: &mut tokio::net::TcpStream,
    seen: &mut Vec<u8>,
) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_string();
            seen.drain(..end + 4);
            return Some(head);
        }
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

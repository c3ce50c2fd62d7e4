//! HTTP/2 over TLS: with `rmeter.http2=true` rmeter offers `h2` by ALPN and speaks HTTP/2 to a
//! server that picks it; without it (JMeter's HttpClient 4 behaviour) it offers HTTP/1.1 only.
//! The in-process server below speaks both, over the `h2` crate, and echoes what it received.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TLS server offering `h2` and `http/1.1`; it counts the HTTP/2 connections it accepted.
async fn serve(h2_connections: Arc<AtomicUsize>) -> u16 {
    serve_with(h2_connections, None).await
}

/// The same, shutting each HTTP/2 connection down (`GOAWAY`) after `streams` requests.
async fn serve_with(h2_connections: Arc<AtomicUsize>, streams: Option<usize>) -> u16 {
    let mut config = support::self_signed_tls();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, count) = (acceptor.clone(), h2_connections.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                    count.fetch_add(1, Ordering::SeqCst);
                    serve_h2(tls, streams).await;
                } else {
                    serve_http1(tls).await;
                }
            });
        }
    });
    port
}

async fn serve_h2(
    tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    streams: Option<usize>,
) {
    let Ok(mut connection) = h2::server::handshake(tls).await else {
        return;
    };
    let mut served = 0;
    while let Some(Ok((request, mut respond))) = connection.accept().await {
        served += 1;
        if Some(served) == streams {
            connection.graceful_shutdown();
        }
        tokio::spawn(async move {
            let (parts, mut body) = request.into_parts();
            let mut received = 0;
            while let Some(Ok(chunk)) = body.data().await {
                received += chunk.len();
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            let path = parts.uri.path().to_string();
            let status = parts
                .uri
                .query()
                .and_then(|q| q.strip_prefix("status="))
                .and_then(|s| s.parse().ok())
                .unwrap_or(200u16);
            let mut response = hyper::http::Response::builder()
                .status(status)
                .header("content-type", "text/plain; charset=utf-8");
            if path == "/login" {
                response = response.header("set-cookie", "session=s1; Path=/");
            }
            let text = if path == "/big" {
                "x".repeat(1_000_000)
            } else {
                let headers: Vec<String> = parts
                    .headers
                    .iter()
                    .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap_or("?")))
                    .collect();
                format!(
                    "proto=h2\nmethod={}\nauthority={}\npath={}\nbody={received}\n{}\n",
                    parts.method,
                    parts.uri.authority().map_or("", |a| a.as_str()),
                    parts.uri.path_and_query().map_or("", |p| p.as_str()),
                    headers.join("\n")
                )
            };
            let Ok(mut send) = respond.send_response(response.body(()).unwrap(), false) else {
                return;
            };
            let mut rest = Bytes::from(text);
            while !rest.is_empty() {
                send.reserve_capacity(rest.len());
                let Some(Ok(n)) = std::future::poll_fn(|cx| send.poll_capacity(cx)).await else {
                    return;
                };
                let chunk = rest.split_to(n.min(rest.len()));
                if send.send_data(chunk, rest.is_empty()).is_err() {
                    return;
                }
            }
        });
    }
}

async fn serve_http1(mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let body = "proto=http/1.1\n";
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tls.write_all(response.as_bytes()).await;
    let _ = tls.shutdown().await;
}

fn sampler(name: &str, method: &str, path: &str, body: Option<&str>) -> String {
    let body = body.map_or(String::new(), |b| {
        format!(
            r#"<boolProp name="HTTPSampler.postBodyRaw">true</boolProp>
  <elementProp name="HTTPsampler.Arguments" elementType="Arguments"><collectionProp name="Arguments.arguments"><elementProp name="" elementType="HTTPArgument"><boolProp name="HTTPArgument.always_encode">false</boolProp><stringProp name="Argument.value">{b}</stringProp><stringProp name="Argument.metadata">=</stringProp></elementProp></collectionProp></elementProp>"#
        )
    });
    format!(
        r#"<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="{name}">
  <stringProp name="HTTPSampler.protocol">https</stringProp>
  <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
  <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
  <stringProp name="HTTPSampler.method">{method}</stringProp>
  <stringProp name="HTTPSampler.path">{path}</stringProp>{body}</HTTPSamplerProxy><hashTree/>
"#
    )
}

fn plan(samplers: &str) -> String {
    format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="H2"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
<CookieManager testclass="CookieManager" testname="Cookies"/><hashTree/>
<HeaderManager testclass="HeaderManager" testname="Headers"><collectionProp name="HeaderManager.headers">
  <elementProp name="" elementType="Header"><stringProp name="Header.name">X-Trace</stringProp><stringProp name="Header.value">t1</stringProp></elementProp>
</collectionProp></HeaderManager><hashTree/>
{samplers}
</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    )
}

/// The samples of an XML JTL: (label, code, message, bytes, success, whole element text).
fn samples(xml: &str) -> Vec<(String, String, String, u64, bool, String)> {
    let attr = |s: &str, name: &str| -> String {
        let key = format!(" {name}=\"");
        let from = s.find(&key).unwrap() + key.len();
        s[from..from + s[from..].find('"').unwrap()].to_string()
    };
    xml.split("<httpSample ")
        .skip(1)
        .map(|s| {
            let head = format!(" {}", &s[..s.find('>').unwrap()]);
            (
                attr(&head, "lb"),
                attr(&head, "rc"),
                attr(&head, "rm"),
                attr(&head, "by").parse().unwrap(),
                attr(&head, "s") == "true",
                s.to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn http2_is_spoken_when_offered_and_chosen() {
    let connections = Arc::new(AtomicUsize::new(0));
    let port = serve(connections.clone()).await;
    let upload = "u".repeat(200_000);
    let plan = plan(
        &[
            sampler("hello", "GET", "/hello?x=1", None),
            sampler("login", "GET", "/login", None),
            sampler("echo", "GET", "/echo", None),
            sampler("upload", "POST", "/upload", Some(&upload)),
            sampler("big", "GET", "/big", None),
            sampler("missing", "GET", "/missing?status=404", None),
        ]
        .concat(),
    );
    let xml = support::run_inline_xml(
        &plan,
        &[
            ("port", port.to_string()),
            ("rmeter.http2", "true".into()),
            ("jmeter.save.saveservice.response_data", "true".into()),
            ("jmeter.save.saveservice.requestHeaders", "true".into()),
            ("jmeter.save.saveservice.responseHeaders", "true".into()),
        ],
    )
    .await;
    let samples = samples(&xml);
    let labels: Vec<&str> = samples.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        labels,
        ["hello", "login", "echo", "upload", "big", "missing"],
        "{xml}"
    );
    let hello = &samples[0];
    assert_eq!(
        (hello.1.as_str(), hello.2.as_str(), hello.4),
        ("200", "OK", true)
    );
    assert!(
        hello.5.contains("HTTP/2.0 200 OK\n") && hello.5.contains("proto=h2\nmethod=GET\n"),
        "{}",
        hello.5
    );
    assert!(
        hello
            .5
            .contains(&format!("authority=127.0.0.1:{port}\npath=/hello?x=1\n")),
        "{}",
        hello.5
    );
    // The plan's header and HttpClient's User-Agent go out, lower-cased as HTTP/2 requires;
    // Connection and Host do not (Host is the :authority).
    assert!(hello.5.contains("x-trace: t1\n"), "{}", hello.5);
    assert!(
        hello
            .5
            .contains("user-agent: Apache-HttpClient/4.5.14 (Java/17.0.15)\n"),
        "{}",
        hello.5
    );
    assert!(!hello.5.contains("connection: ") && !hello.5.contains("\nhost: "));
    // The recorded request headers are those that went out.
    assert!(
        hello.5.contains("<requestHeader class=\"java.lang.String\">X-Trace: t1\nUser-Agent: Apache-HttpClient/4.5.14 (Java/17.0.15)\n</requestHeader>"),
        "{}",
        hello.5
    );
    // The cookie set by a response goes with the next request.
    assert!(
        samples[2].5.contains("cookie: session=s1\n"),
        "{}",
        samples[2].5
    );
    // A body larger than the initial flow-control window arrives whole.
    assert!(samples[3].5.contains("method=POST\n"), "{}", samples[3].5);
    assert!(samples[3].5.contains("body=200000\n"), "{}", samples[3].5);
    assert!(samples[4].3 >= 1_000_000, "{:?}", samples[4].3);
    assert_eq!(
        (samples[5].1.as_str(), samples[5].2.as_str(), samples[5].4),
        ("404", "Not Found", false)
    );
    // One connection carried every request.
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn http11_only_unless_asked() {
    let connections = Arc::new(AtomicUsize::new(0));
    let port = serve(connections.clone()).await;
    let plan = plan(&sampler("hello", "GET", "/hello", None));
    let xml = support::run_inline_xml(
        &plan,
        &[
            ("port", port.to_string()),
            ("jmeter.save.saveservice.response_data", "true".into()),
            ("jmeter.save.saveservice.responseHeaders", "true".into()),
        ],
    )
    .await;
    let samples = samples(&xml);
    assert!(samples[0].5.contains("HTTP/1.1 200 OK\n"), "{xml}");
    assert!(samples[0].5.contains("proto=http/1.1"), "{xml}");
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_bad_http2_value_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (plan_path, jtl) = (dir.path().join("plan.jmx"), dir.path().join("out.jtl"));
    std::fs::write(&plan_path, plan(&sampler("hello", "GET", "/", None))).unwrap();
    let error = support::run_plan(
        &plan_path,
        &jtl,
        &[("port", "1".into()), ("rmeter.http2", "yes".into())],
    )
    .await
    .err()
    .unwrap();
    assert_eq!(
        error.to_string(),
        "property rmeter.http2=\"yes\": expected true or false"
    );
}

/// A server that sends `GOAWAY` after each request: the next request, a POST included, goes on
/// a new connection instead of failing (it never reached the server).
#[tokio::test]
async fn a_connection_going_away_is_replaced() {
    let connections = Arc::new(AtomicUsize::new(0));
    let port = serve_with(connections.clone(), Some(1)).await;
    let plan = plan(
        &[
            sampler("one", "POST", "/one", Some("a")),
            sampler("two", "POST", "/two", Some("b")),
            sampler("three", "GET", "/three", None),
        ]
        .concat(),
    );
    let xml = support::run_inline_xml(
        &plan,
        &[("port", port.to_string()), ("rmeter.http2", "true".into())],
    )
    .await;
    let samples = samples(&xml);
    let got: Vec<(&str, &str, bool)> = samples
        .iter()
        .map(|s| (s.0.as_str(), s.1.as_str(), s.4))
        .collect();
    assert_eq!(
        got,
        [
            ("one", "200", true),
            ("two", "200", true),
            ("three", "200", true)
        ],
        "{xml}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}

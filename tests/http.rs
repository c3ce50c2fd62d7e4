//! HTTP details against a scripted target: the server's own reason phrase, unknown status codes,
//! and redirects followed into `label-N` sub-results.

mod support;

/// Runs a plan given as text against a scripted target; returns the target and the JTL records.
const PLAN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<jmeterTestPlan version="1.2" properties="5.0" jmeter="5.6.3"><hashTree>
<TestPlan guiclass="TestPlanGui" testclass="TestPlan" testname="HTTP"/><hashTree>
<ConfigTestElement guiclass="HttpDefaultsGui" testclass="ConfigTestElement" testname="Defaults">
  <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
  <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
</ConfigTestElement><hashTree/>
<ThreadGroup guiclass="ThreadGroupGui" testclass="ThreadGroup" testname="Users">
  <stringProp name="ThreadGroup.num_threads">1</stringProp>
</ThreadGroup><hashTree>
  <HTTPSamplerProxy guiclass="HttpTestSampleGui" testclass="HTTPSamplerProxy" testname="custom reason">
    <stringProp name="HTTPSampler.path">/custom</stringProp></HTTPSamplerProxy><hashTree/>
  <HTTPSamplerProxy guiclass="HttpTestSampleGui" testclass="HTTPSamplerProxy" testname="unknown code">
    <stringProp name="HTTPSampler.path">/unknown</stringProp></HTTPSamplerProxy><hashTree/>
  <HTTPSamplerProxy guiclass="HttpTestSampleGui" testclass="HTTPSamplerProxy" testname="hop">
    <stringProp name="HTTPSampler.path">/start</stringProp>
    <boolProp name="HTTPSampler.follow_redirects">true</boolProp></HTTPSamplerProxy><hashTree/>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reason_phrases_codes_and_redirects() {
    let routes = serde_json::json!([
        {"method": "GET", "path": "/custom", "status": 200, "reason": "Alright Then", "headers": {"Content-Type": "text/plain"}, "body": "x"},
        {"method": "GET", "path": "/unknown", "status": 599, "reason": "Network Timeout", "headers": {}, "body": ""},
        {"method": "GET", "path": "/start", "status": 302, "headers": {"Location": "/end"}, "body": ""},
        {"method": "GET", "path": "/end", "status": 200, "headers": {"Content-Type": "text/plain"}, "body": "done"}
    ]);
    let (addr, rows) = support::run_inline(PLAN, routes).await;
    let summary: Vec<String> = rows[1..]
        .iter()
        .map(|r| format!("{}|{}|{}|{}|{}", r[2], r[3], r[4], r[7], r[11]))
        .collect();
    assert_eq!(
        summary,
        [
            "custom reason|200|Alright Then|true|1",
            "unknown code|599|Network Timeout|false|1",
            "hop|200|OK|true|1",
            "hop-0|302|Found|true|1",
            "hop-1|200|OK|true|1",
        ]
    );
    let url = |i: usize| rows[i][13].clone();
    assert_eq!(url(3), format!("http://127.0.0.1:{}/end", addr.port()));
    assert_eq!(url(4), format!("http://127.0.0.1:{}/start", addr.port()));
}

const PARENT_TRANSACTION: &str = r#"<jmeterTestPlan><hashTree>
<TestPlan testclass="TestPlan" testname="TX"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
  <TransactionController testclass="TransactionController" testname="TX parent">
    <boolProp name="TransactionController.parent">true</boolProp>
  </TransactionController><hashTree>
    <ResponseAssertion testclass="ResponseAssertion" testname="says Alright">
      <collectionProp name="Asserion.test_strings"><stringProp name="1">Alright</stringProp></collectionProp>
      <stringProp name="Assertion.test_field">Assertion.response_message</stringProp>
      <intProp name="Assertion.test_type">2</intProp>
    </ResponseAssertion><hashTree/>
    <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="custom reason">
      <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
      <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
      <stringProp name="HTTPSampler.path">/custom</stringProp></HTTPSamplerProxy><hashTree/>
  </hashTree>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#;

/// JMeter runs the assertions in a parent-mode transaction's scope on the transaction sample too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parent_transaction_is_asserted() {
    let routes = serde_json::json!([
        {"method": "GET", "path": "/custom", "status": 200, "reason": "Alright Then", "headers": {"Content-Type": "text/plain"}, "body": "x"}
    ]);
    let (_, rows) = support::run_inline(PARENT_TRANSACTION, routes).await;
    let summary: Vec<String> = rows[1..]
        .iter()
        .map(|r| format!("{}|{}|{}", r[2], r[7], r[8]))
        .collect();
    assert_eq!(
        summary,
        [
            "TX parent|false|Test failed: message expected to contain /Alright/",
            "custom reason|true|"
        ]
    );
}

const PROXIED: &str = r#"<jmeterTestPlan><hashTree>
<TestPlan testclass="TestPlan" testname="Proxy"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
  <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="via proxy">
    <stringProp name="HTTPSampler.domain">backend.invalid</stringProp>
    <stringProp name="HTTPSampler.port">8080</stringProp>
    <stringProp name="HTTPSampler.path">/x</stringProp></HTTPSamplerProxy><hashTree>
    <ResponseAssertion testclass="ResponseAssertion" testname="proxy credentials">
      <collectionProp name="Asserion.test_strings"><stringProp name="1">Proxy-Authorization: Basic dTpwdw==</stringProp></collectionProp>
      <stringProp name="Assertion.test_field">Assertion.response_data</stringProp>
      <intProp name="Assertion.test_type">16</intProp>
    </ResponseAssertion><hashTree/>
  </hashTree>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#;

/// `-H -P -u -a` send every request through the proxy with its credentials; `-N` exempts hosts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_proxy_and_non_proxy_hosts() {
    // The scripted target plays the proxy: it answers the absolute-form request line.
    let proxy = support::serve_target(serde_json::json!([
        {"method": "GET", "path": "http://backend.invalid:8080/x", "echo": true}
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.jmx");
    std::fs::write(&plan, PROXIED).unwrap();
    let run = |non_proxy: Option<&str>| {
        let args = rmeter::cli::RunArgs {
            proxy_host: Some("127.0.0.1".into()),
            proxy_port: Some(proxy.port().to_string()),
            proxy_user: Some("u".into()),
            proxy_password: Some("pw".into()),
            non_proxy_hosts: non_proxy.map(str::to_string),
            ..Default::default()
        };
        let jtl = dir.path().join("out.jtl");
        let _ = std::fs::remove_file(&jtl);
        let plan = plan.clone();
        async move {
            support::run_with(&plan, &jtl, args).await.unwrap();
            support::read_jtl(&std::fs::read_to_string(&jtl).unwrap())
        }
    };
    let rows = run(None).await;
    assert_eq!(
        (
            rows[1][3].as_str(),
            rows[1][7].as_str(),
            rows[1][8].as_str()
        ),
        ("200", "true", ""),
        "{rows:?}"
    );
    // reqwest, which carries proxied requests, adds `Accept: */*`; it is recorded as sent.
    let args = rmeter::cli::RunArgs {
        proxy_host: Some("127.0.0.1".into()),
        proxy_port: Some(proxy.port().to_string()),
        props: vec![
            ("jmeter.save.saveservice.output_format".into(), "xml".into()),
            (
                "jmeter.save.saveservice.requestHeaders".into(),
                "true".into(),
            ),
        ],
        ..Default::default()
    };
    let xml_jtl = dir.path().join("out.xml");
    support::run_with(&plan, &xml_jtl, args).await.unwrap();
    let xml = std::fs::read_to_string(&xml_jtl).unwrap();
    let recorded = xml.split("<requestHeader").nth(1).unwrap_or("");
    assert!(
        recorded
            .split("</requestHeader>")
            .next()
            .unwrap_or("")
            .contains("Accept: */*\n"),
        "{xml}"
    );
    // Exempted, the request goes to backend.invalid itself, which does not resolve.
    let rows = run(Some("localhost|*.invalid")).await;
    assert_eq!(rows[1][7], "false", "{rows:?}");
    assert!(rows[1][3].starts_with("Non HTTP response code"), "{rows:?}");
}

const SAVED_COOKIES: &str = r#"<jmeterTestPlan><hashTree>
<TestPlan testclass="TestPlan" testname="Cookies"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
  <CookieManager testclass="CookieManager" testname="Cookies"/><hashTree/>
  <DNSCacheManager testclass="DNSCacheManager" testname="DNS (system resolver, as Taurus adds it)">
    <collectionProp name="DNSCacheManager.servers"/>
    <boolProp name="DNSCacheManager.clearEachIteration">false</boolProp>
    <boolProp name="DNSCacheManager.isCustomResolver">false</boolProp>
  </DNSCacheManager><hashTree/>
  <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="login">
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
    <stringProp name="HTTPSampler.path">/login</stringProp></HTTPSamplerProxy><hashTree/>
  <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="sid=${COOKIE_SID}">
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
    <stringProp name="HTTPSampler.path">/logout</stringProp></HTTPSamplerProxy><hashTree/>
  <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="after logout sid=${COOKIE_SID}">
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
    <stringProp name="HTTPSampler.path">/login</stringProp></HTTPSamplerProxy><hashTree/>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#;

/// `CookieManager.save.cookies=true` makes each received cookie the variable `COOKIE_<name>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_saved_as_variables() {
    let target = support::serve_target(serde_json::json!([
        {"method": "GET", "path": "/login", "set_cookie": "SID=abc123; Path=/", "body": "in"},
        {"method": "GET", "path": "/logout", "set_cookie": "SID=; Max-Age=0; Path=/", "body": "out"}
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.jmx");
    std::fs::write(&plan, SAVED_COOKIES).unwrap();
    let jtl = dir.path().join("out.jtl");
    let props = [
        ("port", target.port().to_string()),
        ("CookieManager.save.cookies", "true".to_string()),
    ];
    support::run_plan(&plan, &jtl, &props).await.unwrap();
    let rows = support::read_jtl(&std::fs::read_to_string(&jtl).unwrap());
    let labels: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    // The label of the third is evaluated before its own response sets the cookie again.
    assert_eq!(
        labels,
        ["login", "sid=abc123", "after logout sid=${COOKIE_SID}"]
    );
}

const HTTPS: &str = r#"<jmeterTestPlan><hashTree>
<TestPlan testclass="TestPlan" testname="TLS"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">2</stringProp>
  <elementProp name="ThreadGroup.main_controller" elementType="LoopController"><stringProp name="LoopController.loops">3</stringProp></elementProp>
</ThreadGroup><hashTree>
  <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="secure">
    <stringProp name="HTTPSampler.protocol">https</stringProp>
    <stringProp name="HTTPSampler.domain">localhost</stringProp>
    <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
    <stringProp name="HTTPSampler.path">/secure</stringProp></HTTPSamplerProxy><hashTree/>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#;

/// HTTPS with the run's shared TLS configuration: any certificate is accepted by default, as
/// in JMeter; `--verify-tls` refuses the self-signed one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_accepts_any_certificate_unless_verifying() {
    let addr = support::serve_target_tls(serde_json::json!([
        {"method": "GET", "path": "/secure", "status": 200, "headers": {"Content-Type": "text/plain"}, "body": "tls"}
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.jmx");
    std::fs::write(&plan, HTTPS).unwrap();
    for verify in [false, true] {
        let jtl = dir.path().join(format!("out-{verify}.jtl"));
        let args = rmeter::cli::RunArgs {
            props: vec![("port".into(), addr.port().to_string())],
            verify_tls: verify,
            ..Default::default()
        };
        support::run_with(&plan, &jtl, args).await.unwrap();
        let rows = support::read_jtl(&std::fs::read_to_string(&jtl).unwrap());
        assert_eq!(rows.len(), 1 + 6, "{rows:?}");
        for row in &rows[1..] {
            if verify {
                assert_eq!(row[7], "false", "{row:?}");
                assert!(row[3].starts_with("Non HTTP response code"), "{row:?}");
            } else {
                assert_eq!(
                    (row[3].as_str(), row[7].as_str()),
                    ("200", "true"),
                    "{row:?}"
                );
            }
        }
        if !verify {
            // Each user connects once (TLS included) and keeps the connection.
            let connects = rows[1..].iter().filter(|r| r[16] != "0").count();
            assert!(connects <= 2, "{rows:?}");
        }
    }
}

const TWICE: &str = r#"<jmeterTestPlan><hashTree>
<TestPlan testclass="TestPlan" testname="Stale"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">3</stringProp>
  <elementProp name="ThreadGroup.main_controller" elementType="LoopController"><stringProp name="LoopController.loops">20</stringProp></elementProp>
</ThreadGroup><hashTree>
  <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="closing">
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
    <stringProp name="HTTPSampler.path">/closing</stringProp></HTTPSamplerProxy><hashTree/>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#;

/// A server that silently closes each kept-alive connection after answering: the next request
/// goes out on a new connection, never as a failed sample.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_keep_alive_connections_are_replaced() {
    let routes = serde_json::json!([
        {"method": "GET", "path": "/closing", "status": 200, "drop": true, "headers": {"Content-Type": "text/plain"}, "body": "bye"}
    ]);
    let (_, rows) = support::run_inline(TWICE, routes).await;
    assert_eq!(rows.len(), 1 + 60);
    let failed: Vec<_> = rows[1..].iter().filter(|r| r[7] != "true").collect();
    assert!(failed.is_empty(), "{failed:?}");
}

/// A server that resets each kept-alive connection once the next request has reached it: an
/// idempotent request that got no response goes once more, on a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_keep_alive_connections_are_replaced() {
    let routes = serde_json::json!([
        {"method": "GET", "path": "/closing", "status": 200, "reset": true, "headers": {"Content-Type": "text/plain"}, "body": "bye"}
    ]);
    let (_, rows) = support::run_inline(TWICE, routes).await;
    assert_eq!(rows.len(), 1 + 60);
    let failed: Vec<_> = rows[1..].iter().filter(|r| r[7] != "true").collect();
    assert!(failed.is_empty(), "{failed:?}");
}

/// A DNS Cache Manager with a custom resolver's static host table sends a name to its address;
/// the URL keeps the name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_cache_manager_static_hosts() {
    let plan = r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="DNS"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
  <DNSCacheManager testclass="DNSCacheManager" testname="DNS Cache Manager">
    <collectionProp name="DNSCacheManager.servers"/>
    <collectionProp name="DNSCacheManager.hosts">
      <elementProp name="bank.invalid" elementType="StaticHost"><stringProp name="StaticHost.Name">bank.invalid</stringProp><stringProp name="StaticHost.Address">127.0.0.1</stringProp></elementProp>
    </collectionProp>
    <boolProp name="DNSCacheManager.clearEachIteration">false</boolProp>
    <boolProp name="DNSCacheManager.isCustomResolver">true</boolProp>
  </DNSCacheManager><hashTree/>
  <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="by name">
    <stringProp name="HTTPSampler.domain">bank.invalid</stringProp>
    <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
    <stringProp name="HTTPSampler.path">/ok</stringProp></HTTPSamplerProxy><hashTree/>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#;
    let routes = serde_json::json!([{"method": "GET", "path": "/ok", "body": "fine"}]);
    let (addr, rows) = support::run_inline(plan, routes).await;
    let col = |n: &str| rows[0].iter().position(|h| h == n).unwrap();
    assert_eq!(rows[1][col("success")], "true", "{rows:?}");
    assert_eq!(
        rows[1][col("URL")],
        format!("http://bank.invalid:{}/ok", addr.port())
    );
}

/// A raw HTTP/1.1 server that answers each request with the scripted bytes for its path, sent
/// three bytes at a time, and closes the connection after `close` paths. Counts connections.
async fn serve_raw(
    script: &'static [(&'static str, &'static str, bool)],
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while let Some(head) = support::read_request_head(&mut socket, &mut seen).await {
                    let path = head.split(' ').nth(1).unwrap_or("");
                    let Some((_, reply, close)) = script.iter().find(|(p, _, _)| *p == path) else {
                        return;
                    };
                    for piece in reply.as_bytes().chunks(3) {
                        if socket.write_all(piece).await.is_err() {
                            return;
                        }
                        socket.flush().await.unwrap();
                        tokio::task::yield_now().await;
                    }
                    if *close {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

/// The wire format as servers send it: chunked bodies with extensions and trailers, an interim
/// `100 Continue`, HEAD, an HTTP/1.0 body that ends with the connection, and broken bodies. The
/// connection is kept where the response allows and replaced where it does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_framing_on_the_wire() {
    const SCRIPT: &[(&str, &str, bool)] = &[
        ("/chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n", false),
        ("/continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false),
        ("/head", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", false),
        ("/old", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close", true),
        ("/short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true),
        ("/cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", true),
        ("/twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", false),
        ("/huge", "HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\nabc", true),
        ("/hugechunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc", true),
    ];
    let (addr, accepted) = serve_raw(SCRIPT).await;
    let sampler = |name: &str, method: &str, body: &str| {
        let check = if body.is_empty() {
            String::new()
        } else {
            format!(
                r#"<hashTree><ResponseAssertion testclass="ResponseAssertion" testname="body">
      <collectionProp name="Asserion.test_strings"><stringProp name="1">{body}</stringProp></collectionProp>
      <stringProp name="Assertion.test_field">Assertion.response_data</stringProp>
      <intProp name="Assertion.test_type">8</intProp></ResponseAssertion><hashTree/></hashTree>"#
            )
        };
        let check = if check.is_empty() {
            "<hashTree/>".to_string()
        } else {
            check
        };
        format!(
            r#"<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="{name}">
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
    <stringProp name="HTTPSampler.method">{method}</stringProp>
    <stringProp name="HTTPSampler.path">/{name}</stringProp></HTTPSamplerProxy>{check}"#
        )
    };
    let samplers = [
        sampler("chunked", "GET", "hello, world"),
        sampler("continue", "GET", "ok"),
        sampler("head", "HEAD", ""),
        sampler("old", "GET", "until close"),
        sampler("chunked", "GET", "hello, world"),
        sampler("short", "GET", ""),
        sampler("cut", "GET", ""),
        sampler("huge", "GET", ""),
        sampler("hugechunk", "GET", ""),
        sampler("twice", "GET", ""),
    ]
    .join("\n");
    let plan = one_user_plan("Wire", &samplers);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.jmx");
    std::fs::write(&path, plan).unwrap();
    let jtl = dir.path().join("out.jtl");
    support::run_plan(&path, &jtl, &[("port", addr.port().to_string())])
        .await
        .unwrap();
    let rows = support::read_jtl(&std::fs::read_to_string(&jtl).unwrap());
    let broken = &rows[rows.len() - 1];
    assert!(
        broken[3].starts_with("Non HTTP response code: ") && broken[7] == "false",
        "{broken:?}"
    );
    let got: Vec<(&str, &str, &str, &str)> = rows[1..8]
        .iter()
        .map(|r| (r[2].as_str(), r[3].as_str(), r[7].as_str(), r[8].as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("chunked", "200", "true", ""),
            ("continue", "200", "true", ""),
            ("head", "200", "true", ""),
            ("old", "200", "true", ""),
            ("chunked", "200", "true", ""),
            (
                "short",
                "Non HTTP response code: org.apache.http.ConnectionClosedException",
                "false",
                ""
            ),
            (
                "cut",
                "Non HTTP response code: org.apache.http.ConnectionClosedException",
                "false",
                ""
            ),
        ],
        "{rows:?}"
    );
    assert_eq!(
        rows[6][4],
        "Non HTTP response message: Premature end of Content-Length delimited message body (expected: 10; received: 3)"
    );
    assert_eq!(
        rows[7][4],
        "Non HTTP response message: Premature end of chunk coded message body: closing chunk expected"
    );
    // A length or chunk size beyond memory is no reason to reserve it.
    assert_eq!(
        rows[8][4],
        "Non HTTP response message: Premature end of Content-Length delimited message body (expected: 999999999999; received: 3)"
    );
    assert!(
        rows[9][4].contains("invalid chunk size line"),
        "{:?}",
        rows[9]
    );
    // One connection up to /old, which closes it; a second up to /short; one each for /cut,
    // /huge, /hugechunk and /twice.
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 6);
}

/// The HTML Link Parser: a sampler whose path is a pattern follows the link of the last page it
/// matches, with the link's arguments; a POST whose argument values are patterns takes a
/// form's fields; with nothing to match, the sampler goes out as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_link_parser_follows_links_and_forms() {
    let page = r#"<html><body><a href="/shop/item?id=7">item</a> <a href="http://other.invalid/x">out</a>
<form action="/login" method="post"><input type="hidden" name="token" value="t%2B1"><input name="user" value=""></form></body></html>"#;
    let routes = serde_json::json!([
        {"method": "GET", "path": "/start", "status": 200, "headers": {"Content-Type": "text/html"}, "body": page},
        {"method": "GET", "path": "/shop/item", "status": 200, "echo": true, "headers": {"Content-Type": "text/plain"}},
        {"method": "POST", "path": "/login", "status": 200, "echo": true, "with_body": true, "headers": {"Content-Type": "text/plain"}},
        {"method": "GET", "path": "/start2", "status": 200, "headers": {"Content-Type": "text/html"}, "body": "<p>no links</p>"}
    ]);
    // The form's field is decoded from the page and encoded again; the other argument is kept:
    // the echoed body says so.
    let sent = r#"<ResponseAssertion testclass="ResponseAssertion" testname="sent">
      <collectionProp name="Asserion.test_strings"><stringProp name="1">token=t%2B1&amp;user=alice</stringProp></collectionProp>
      <stringProp name="Assertion.test_field">Assertion.response_data</stringProp>
      <intProp name="Assertion.test_type">16</intProp></ResponseAssertion><hashTree/>"#;
    let sampler = |name: &str, method: &str, path: &str, args: &str, parser: bool| {
        let parser = match (parser, name) {
            (true, "log in") => format!(r#"<hashTree><AnchorModifier guiclass="AnchorModifierGui" testclass="AnchorModifier" testname="HTML Link Parser"/><hashTree/>{sent}</hashTree>"#),
            (true, _) => r#"<hashTree><AnchorModifier guiclass="AnchorModifierGui" testclass="AnchorModifier" testname="HTML Link Parser"/><hashTree/></hashTree>"#.to_string(),
            _ => "<hashTree/>".to_string(),
        };
        format!(
            r#"<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="{name}">
    <elementProp name="HTTPsampler.Arguments" elementType="Arguments"><collectionProp name="Arguments.arguments">{args}</collectionProp></elementProp>
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
    <stringProp name="HTTPSampler.method">{method}</stringProp>
    <stringProp name="HTTPSampler.path">{path}</stringProp></HTTPSamplerProxy>{parser}"#
        )
    };
    let arg = |name: &str, value: &str| {
        format!(
            r#"<elementProp name="{name}" elementType="HTTPArgument"><boolProp name="HTTPArgument.always_encode">true</boolProp><stringProp name="Argument.name">{name}</stringProp><stringProp name="Argument.value">{value}</stringProp><boolProp name="HTTPArgument.use_equals">true</boolProp></elementProp>"#
        )
    };
    let body = [
        sampler("page", "GET", "/start", "", false),
        sampler("spider", "GET", "shop/.*", "", true),
        sampler("page again", "GET", "/start", "", false),
        sampler(
            "log in",
            "POST",
            "login",
            &(arg("token", ".*") + &arg("user", "alice")),
            true,
        ),
        sampler("no links", "GET", "/start2", "", false),
        sampler("unmatched", "GET", "/start", "", true),
    ]
    .join("\n");
    let plan = one_user_plan("Links", &body);
    let (addr, rows) = support::run_inline(&plan, routes).await;
    let url = |i: usize| rows[i][13].clone();
    assert_eq!(url(2), format!("http://{addr}/shop/item?id=7"), "{rows:?}");
    assert_eq!(url(4), format!("http://{addr}/login"), "{rows:?}");
    assert_eq!(url(6), format!("http://{addr}/start"), "{rows:?}");
    assert!(rows[1..].iter().all(|r| r[7] == "true"), "{rows:?}");
}

/// RegEx User Parameters: the arguments a Regular Expression Extractor's matches name take the
/// matched values; an argument no match names keeps its value, and none is added.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regex_user_parameters_fill_named_arguments() {
    let plan = r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Params"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
<JavaSampler testclass="JavaSampler" testname="form">
  <elementProp name="arguments" elementType="Arguments"><collectionProp name="Arguments.arguments">
    <elementProp name="ResultData" elementType="Argument"><stringProp name="Argument.name">ResultData</stringProp><stringProp name="Argument.value">&lt;input name="a" value="1"&gt;&lt;input name="b" value="2"&gt;</stringProp></elementProp>
  </collectionProp></elementProp>
  <stringProp name="classname">org.apache.jmeter.protocol.java.test.JavaTest</stringProp>
</JavaSampler><hashTree>
  <RegexExtractor testclass="RegexExtractor" testname="fields"><stringProp name="RegexExtractor.refname">fields</stringProp><stringProp name="RegexExtractor.regex">name="([^"]+)" value="([^"]+)"</stringProp><stringProp name="RegexExtractor.template">$1$</stringProp><stringProp name="RegexExtractor.match_number">-1</stringProp></RegexExtractor><hashTree/>
</hashTree>
<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="post">
  <elementProp name="HTTPsampler.Arguments" elementType="Arguments"><collectionProp name="Arguments.arguments">
    <elementProp name="a" elementType="HTTPArgument"><stringProp name="Argument.name">a</stringProp><stringProp name="Argument.value">x</stringProp></elementProp>
    <elementProp name="c" elementType="HTTPArgument"><stringProp name="Argument.name">c</stringProp><stringProp name="Argument.value">y</stringProp></elementProp>
  </collectionProp></elementProp>
  <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
  <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
  <stringProp name="HTTPSampler.method">POST</stringProp>
  <stringProp name="HTTPSampler.path">/echo</stringProp></HTTPSamplerProxy><hashTree>
  <RegExUserParameters testclass="RegExUserParameters" testname="RegEx User Parameters">
    <stringProp name="RegExUserParameters.regex_ref_name">fields</stringProp>
    <stringProp name="RegExUserParameters.param_names_gr_nr">1</stringProp>
    <stringProp name="RegExUserParameters.param_values_gr_nr">2</stringProp>
  </RegExUserParameters><hashTree/>
  <ResponseAssertion testclass="ResponseAssertion" testname="sent">
    <collectionProp name="Asserion.test_strings"><stringProp name="1">&#13;
&#13;
a=1&amp;c=y</stringProp></collectionProp>
    <stringProp name="Assertion.test_field">Assertion.response_data</stringProp>
    <intProp name="Assertion.test_type">16</intProp></ResponseAssertion><hashTree/>
</hashTree>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#;
    let routes = serde_json::json!([
        {"method": "POST", "path": "/echo", "status": 200, "echo": true, "with_body": true, "headers": {"Content-Type": "text/plain"}}
    ]);
    let (_, rows) = support::run_inline(plan, routes).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[2][7], "true", "{rows:?}");
}

/// The HTTP URL Re-writing Modifier: the session id of the last page goes into the next
/// requests as an argument (decoded, then encoded again) or as a `;jsessionid=` path extension,
/// and the last one found is kept for a page that has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_rewriting_carries_the_session_id() {
    let routes = serde_json::json!([
        {"method": "GET", "path": "/login", "status": 200, "headers": {"Content-Type": "text/html"},
         "body": "<a href=\"/home;jsessionid=J1?sid=ab%20c&amp;x=1\">home</a>"},
        {"method": "GET", "path": "/home", "status": 200, "headers": {"Content-Type": "text/html"}, "body": "no id here"},
        {"method": "GET", "path": "/next", "status": 200, "headers": {"Content-Type": "text/html"}, "body": "none"}
    ]);
    let sampler = |name: &str, path: &str| {
        format!(
            r#"<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="{name}">
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
    <stringProp name="HTTPSampler.method">GET</stringProp>
    <stringProp name="HTTPSampler.path">{path}</stringProp></HTTPSamplerProxy><hashTree/>"#
        )
    };
    let modifier = |name: &str, path_extension: bool| {
        format!(
            r#"<URLRewritingModifier testclass="URLRewritingModifier" testname="rewrite {name}">
  <stringProp name="argument_name">{name}</stringProp>
  <boolProp name="path_extension">{path_extension}</boolProp>
  <boolProp name="path_extension_no_questionmark">true</boolProp>
</URLRewritingModifier><hashTree/>"#
        )
    };
    let body = [
        modifier("sid", false),
        modifier("jsessionid", true),
        sampler("login", "/login"),
        sampler("home", "/home"),
        sampler("next", "/next"),
    ]
    .join("\n");
    let plan = one_user_plan("Sessions", &body);
    let (addr, rows) = support::run_inline(&plan, routes).await;
    let urls: Vec<&str> = rows[1..].iter().map(|r| r[13].as_str()).collect();
    assert_eq!(
        urls,
        vec![
            format!("http://{addr}/login"),
            format!("http://{addr}/home;jsessionid=J1?sid=ab+c"),
            // Nothing on /home: the cached values.
            format!("http://{addr}/next;jsessionid=J1?sid=ab+c"),
        ],
        "{rows:?}"
    );
}

/// A plan of one user running `body` once.
fn one_user_plan(name: &str, body: &str) -> String {
    format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="{name}"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
{body}
</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    )
}

/// Assertion scopes over a redirect's sub-samples: "sub-samples only" checks each hop (the 302
/// has no "done") and fails the parent with "One or more sub-samples failed"; "main sample and
/// sub-samples" checks the page too; the default checks the main sample alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assertion_scopes_over_sub_samples() {
    let routes = serde_json::json!([
        {"method": "GET", "path": "/start", "status": 302, "headers": {"Location": "/end"}, "body": ""},
        {"method": "GET", "path": "/end", "status": 200, "headers": {"Content-Type": "text/plain"}, "body": "done"}
    ]);
    let hop = |name: &str, scope: &str| {
        format!(
            r#"<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="{name}">
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
    <stringProp name="HTTPSampler.path">/start</stringProp>
    <boolProp name="HTTPSampler.follow_redirects">true</boolProp></HTTPSamplerProxy><hashTree>
  <ResponseAssertion testclass="ResponseAssertion" testname="says done">
    <collectionProp name="Asserion.test_strings"><stringProp name="1">done</stringProp></collectionProp>
    <stringProp name="Assertion.test_field">Assertion.response_data</stringProp>
    <stringProp name="Assertion.scope">{scope}</stringProp>
    <intProp name="Assertion.test_type">16</intProp></ResponseAssertion><hashTree/>
</hashTree>"#
        )
    };
    let body = hop("children", "children") + &hop("all", "all") + &hop("main", "parent");
    let (_, rows) = support::run_inline(&one_user_plan("Scopes", &body), routes).await;
    let got: Vec<String> = rows[1..]
        .iter()
        .map(|r| format!("{}|{}|{}", r[2], r[7], r[8]))
        .collect();
    assert_eq!(
        got,
        [
            "children|false|One or more sub-samples failed",
            "children-0|false|Response was null",
            "children-1|true|",
            "all|false|One or more sub-samples failed",
            "all-0|false|Response was null",
            "all-1|true|",
            "main|true|",
            "main-0|true|",
            "main-1|true|",
        ],
        "{rows:?}"
    );
}

/// The XML JTL records the request headers as they went out, in HttpClient 4's order
/// (`Content-Length`, the form's `Content-Type`, `Host`, JMeter's `User-Agent`), with the
/// cookies apart in `<cookies>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_headers_are_recorded_as_sent() {
    let routes = serde_json::json!([
        {"method": "GET", "path": "/login", "status": 200, "headers": {"Content-Type": "text/plain", "Set-Cookie": "a=1; Path=/"}, "body": "in"},
        {"method": "POST", "path": "/form", "status": 200, "headers": {"Content-Type": "text/plain"}, "body": "ok"}
    ]);
    let addr = support::serve_target(routes).await;
    let plan = one_user_plan(
        "Headers",
        r#"<CookieManager testclass="CookieManager" testname="cookies"/><hashTree/>
<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="login">
  <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
  <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
  <stringProp name="HTTPSampler.path">/login</stringProp></HTTPSamplerProxy><hashTree/>
<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="form">
  <elementProp name="HTTPsampler.Arguments" elementType="Arguments"><collectionProp name="Arguments.arguments">
    <elementProp name="x" elementType="HTTPArgument"><stringProp name="Argument.name">x</stringProp><stringProp name="Argument.value">1</stringProp></elementProp>
  </collectionProp></elementProp>
  <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
  <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
  <stringProp name="HTTPSampler.method">POST</stringProp>
  <stringProp name="HTTPSampler.path">/form</stringProp></HTTPSamplerProxy><hashTree/>
<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="empty">
  <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
  <stringProp name="HTTPSampler.port">${__P(port)}</stringProp>
  <stringProp name="HTTPSampler.method">POST</stringProp>
  <stringProp name="HTTPSampler.path">/form</stringProp></HTTPSamplerProxy><hashTree>
  <HeaderManager testclass="HeaderManager" testname="stale length"><collectionProp name="HeaderManager.headers">
    <elementProp name="" elementType="Header"><stringProp name="Header.name">Content-Length</stringProp><stringProp name="Header.value">999</stringProp></elementProp>
  </collectionProp></HeaderManager><hashTree/>
</hashTree>"#,
    );
    let xml = support::run_inline_xml(
        &plan,
        &[
            ("port", addr.port().to_string()),
            ("jmeter.save.saveservice.requestHeaders", "true".into()),
            ("jmeter.save.saveservice.samplerData", "true".into()),
        ],
    )
    .await;
    let host = format!("Host: 127.0.0.1:{}", addr.port());
    let agent = "User-Agent: Apache-HttpClient/4.5.14 (Java/17.0.15)";
    let samples: Vec<&str> = xml.split("<httpSample ").skip(1).collect();
    assert!(
        samples[0].contains(&format!(
            "<requestHeader class=\"java.lang.String\">Connection: keep-alive\n{host}\n{agent}\n</requestHeader>"
        )),
        "{xml}"
    );
    assert!(
        samples[1].contains(&format!(
            "<requestHeader class=\"java.lang.String\">Connection: keep-alive\nContent-Length: 3\nContent-Type: application/x-www-form-urlencoded; charset=UTF-8\n{host}\n{agent}\n</requestHeader>"
        )),
        "{xml}"
    );
    assert!(
        samples[1].contains("<cookies class=\"java.lang.String\">a=1</cookies>"),
        "{xml}"
    );
    // A POST without arguments has HttpClient's empty form; a Header Manager's Content-Length
    // is not sent (HttpClient computes it).
    assert!(
        samples[2].contains(&format!(
            "<requestHeader class=\"java.lang.String\">Connection: keep-alive\nContent-Length: 0\nContent-Type: application/x-www-form-urlencoded; charset=UTF-8\n{host}\n{agent}\n</requestHeader>"
        )),
        "{xml}"
    );
}

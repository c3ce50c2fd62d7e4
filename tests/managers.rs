//! The HTTP Cache Manager and the HTTP Authorization Manager against an in-process server that
//! echoes the request headers it receives.

mod support;

/// One user, `loops` iterations of a GET on `/page` (echoed), with `config` in the thread group
/// and a Response Assertion that the echo contains `expect` (empty: no assertion).
fn plan(config: &str, loops: u32, expect: &str) -> String {
    let assertion = if expect.is_empty() {
        String::new()
    } else {
        format!(
            r#"<ResponseAssertion testclass="ResponseAssertion" testname="sent">
      <collectionProp name="Asserion.test_strings"><stringProp name="1">{expect}</stringProp></collectionProp>
      <stringProp name="Assertion.test_field">Assertion.response_data</stringProp>
      <intProp name="Assertion.test_type">16</intProp>
    </ResponseAssertion><hashTree/>"#
        )
    };
    format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Managers"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp>
  <elementProp name="ThreadGroup.main_controller" elementType="LoopController"><stringProp name="LoopController.loops">{loops}</stringProp></elementProp>
</ThreadGroup><hashTree>{config}
  <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="page ${{__counter(TRUE,)}}">
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
    <stringProp name="HTTPSampler.path">/page</stringProp></HTTPSamplerProxy><hashTree>{assertion}</hashTree>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    )
}

fn cache_manager(use_expires: bool, clear_each_iteration: bool) -> String {
    format!(
        r#"<CacheManager testclass="CacheManager" testname="HTTP Cache Manager">
  <boolProp name="clearEachIteration">{clear_each_iteration}</boolProp>
  <boolProp name="useExpires">{use_expires}</boolProp>
</CacheManager><hashTree/>"#
    )
}

/// Runs the plan against `/page` answering with `headers`; returns (label, success) per row.
async fn run(plan_text: &str, headers: serde_json::Value) -> Vec<(String, String)> {
    let routes = serde_json::json!([
        {"method": "GET", "path": "/page", "echo": true, "headers": headers}
    ]);
    let (_, rows) = support::run_inline(plan_text, routes).await;
    let (label, success) = (
        rows[0].iter().position(|h| h == "label").unwrap(),
        rows[0].iter().position(|h| h == "success").unwrap(),
    );
    rows[1..]
        .iter()
        .map(|r| (r[label].clone(), r[success].clone()))
        .collect()
}

fn rows(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(l, s)| (l.to_string(), s.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_manager_sends_the_stored_validators() {
    let headers =
        serde_json::json!({"ETag": "\"v1\"", "Last-Modified": "Sun, 06 Nov 1994 08:49:37 GMT"});
    // The first request has nothing to validate; the next ones send both validators.
    let got = run(
        &plan(&cache_manager(false, false), 3, "If-None-Match: \"v1\""),
        headers.clone(),
    )
    .await;
    assert_eq!(
        got,
        rows(&[("page 1", "false"), ("page 2", "true"), ("page 3", "true")])
    );
    let got = run(
        &plan(
            &cache_manager(false, false),
            2,
            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
        ),
        headers.clone(),
    )
    .await;
    assert_eq!(got, rows(&[("page 1", "false"), ("page 2", "true")]));
    // clearEachIteration: every iteration starts with an empty cache.
    let got = run(
        &plan(&cache_manager(false, true), 2, "If-None-Match"),
        headers,
    )
    .await;
    assert_eq!(got, rows(&[("page 1", "false"), ("page 2", "false")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_entries_answer_without_a_request_or_a_sample() {
    // With "use Cache-Control/Expires", max-age=60 keeps the page fresh: JMeter 5.6 writes no
    // sample for the next GETs.
    let fresh = serde_json::json!({"ETag": "\"v1\"", "Cache-Control": "max-age=60"});
    let got = run(&plan(&cache_manager(true, false), 3, ""), fresh.clone()).await;
    assert_eq!(got, rows(&[("page 1", "true")]));
    // no-cache: stored, never fresh, so every GET goes out (conditionally).
    let no_cache = serde_json::json!({"ETag": "\"v1\"", "Cache-Control": "no-cache"});
    let got = run(&plan(&cache_manager(true, false), 3, ""), no_cache).await;
    assert_eq!(got.len(), 3);
    // Without the manager nothing is cached.
    let got = run(&plan("", 3, ""), fresh).await;
    assert_eq!(got.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_manager_sends_basic_credentials_by_url_prefix() {
    let auth = |url: &str, domain: &str| {
        format!(
            r#"<AuthManager testclass="AuthManager" testname="HTTP Authorization Manager">
  <collectionProp name="AuthManager.auth_list">
    <elementProp name="" elementType="Authorization">
      <stringProp name="Authorization.url">{url}</stringProp>
      <stringProp name="Authorization.username">ana</stringProp>
      <stringProp name="Authorization.password">s3cret</stringProp>
      <stringProp name="Authorization.domain">{domain}</stringProp>
      <stringProp name="Authorization.realm"></stringProp>
    </elementProp>
  </collectionProp>
</AuthManager><hashTree/>"#
        )
    };
    let basic = "Authorization: Basic YW5hOnMzY3JldA==";
    let got = run(
        &plan(&auth("http://127.0.0.1", ""), 1, basic),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(got, rows(&[("page 1", "true")]));
    // An empty URL matches every request.
    let got = run(&plan(&auth("", ""), 1, basic), serde_json::json!({})).await;
    assert_eq!(got, rows(&[("page 1", "true")]));
    // Another prefix: no credentials.
    let got = run(
        &plan(&auth("http://elsewhere", ""), 1, "Authorization"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(got, rows(&[("page 1", "false")]));
    // A domain makes the user DOMAIN\user.
    let got = run(
        &plan(
            &auth("", "DOM"),
            1,
            "Authorization: Basic RE9NXGFuYTpzM2NyZXQ=",
        ),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(got, rows(&[("page 1", "true")]));
}

/// DIGEST credentials answer the server's challenge within one sample: the server checks the
/// RFC 7616 response (MD5, `qop=auth`) itself and only then says "welcome".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_manager_answers_digest_challenges() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let md5 = |text: String| {
        let digest = <md5::Md5 as md5::Digest>::digest(text.as_bytes());
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while let Some(head) = support::read_request_head(&mut socket, &mut seen).await {
                    let authorization = head.lines().find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case("authorization")
                            .then(|| v.trim().to_string())
                    });
                    let reply = match authorization {
                        None => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"bank\", qop=\"auth\", nonce=\"n0nce\", opaque=\"op\"\r\nContent-Length: 0\r\n\r\n".to_string(),
                        Some(value) => {
                            let field = |name: &str| {
                                value.split(", ").find_map(|p| {
                                    let (n, v) = p.trim_start_matches("Digest ").split_once('=')?;
                                    (n == name).then(|| v.trim_matches('"').to_string())
                                })
                                .unwrap_or_default()
                            };
                            let ha1 = md5("ana:bank:s3cret".to_string());
                            let ha2 = md5(format!("GET:{}", field("uri")));
                            let expected = md5(format!(
                                "{ha1}:n0nce:{}:{}:auth:{ha2}",
                                field("nc"),
                                field("cnonce")
                            ));
                            if field("response") == expected && field("uri") == "/page" && field("opaque") == "op" {
                                "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nwelcome".to_string()
                            } else {
                                "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_string()
                            }
                        }
                    };
                    if socket.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let manager = format!(
        r#"<AuthManager testclass="AuthManager" testname="HTTP Authorization Manager">
  <collectionProp name="AuthManager.auth_list">
    <elementProp name="" elementType="Authorization">
      <stringProp name="Authorization.url">http://127.0.0.1:{port}/</stringProp>
      <stringProp name="Authorization.username">ana</stringProp>
      <stringProp name="Authorization.password">s3cret</stringProp>
      <stringProp name="Authorization.domain"></stringProp>
      <stringProp name="Authorization.realm">bank</stringProp>
      <stringProp name="Authorization.mechanism">DIGEST</stringProp>
    </elementProp>
  </collectionProp>
</AuthManager><hashTree/>"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.jmx");
    std::fs::write(&path, plan(&manager, 2, "welcome")).unwrap();
    let jtl = dir.path().join("out.jtl");
    support::run_plan(&path, &jtl, &[("port", port.to_string())])
        .await
        .unwrap();
    let rows = support::read_jtl(&std::fs::read_to_string(&jtl).unwrap());
    let got: Vec<(&str, &str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[2].as_str(), r[3].as_str(), r[7].as_str()))
        .collect();
    assert_eq!(
        got,
        [("page 1", "200", "true"), ("page 2", "200", "true")],
        "{rows:?}"
    );
}

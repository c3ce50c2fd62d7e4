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

//! "Retrieve All Embedded Resources" against an in-process site: what is fetched, in which
//! order, and the rows JMeter 5.6 writes for it (the page as a container of sub-results).

mod support;

const PAGE: &str = r#"<html><head><link rel="stylesheet" href="/style.css"><script src="app.js"></script></head>
<body><img src="/a.png"><img src="/a.png"><img src="/missing.png"><a href="/not-fetched">x</a></body></html>"#;

fn site() -> serde_json::Value {
    serde_json::json!([
        {"method": "GET", "path": "/page.html", "headers": {"Content-Type": "text/html; charset=utf-8"}, "body": PAGE},
        {"method": "GET", "path": "/style.css", "headers": {"Content-Type": "text/css"}, "body": "@import url(\"more.css\"); body { background: url(bg.png) }"},
        {"method": "GET", "path": "/more.css", "headers": {"Content-Type": "text/css"}, "body": "p {}"},
        {"method": "GET", "path": "/app.js", "headers": {"Content-Type": "application/javascript"}, "body": "var x;"},
        {"method": "GET", "path": "/a.png", "headers": {"Content-Type": "image/png"}, "body": "PNG"},
        {"method": "GET", "path": "/missing.png", "status": 404, "headers": {"Content-Type": "text/plain"}, "body": "no"}
    ])
}

fn plan(extra: &str) -> String {
    format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Embedded"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
  <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="Page">
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
    <stringProp name="HTTPSampler.path">/page.html</stringProp>
    <boolProp name="HTTPSampler.image_parser">true</boolProp>{extra}
  </HTTPSamplerProxy><hashTree/>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    )
}

/// (label, code, success, URL path, message) per row, in file order.
async fn rows(plan_text: &str) -> Vec<(String, String, String, String, String)> {
    let (addr, rows) = support::run_inline(plan_text, site()).await;
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let (label, code, success, url, message) = (
        col("label"),
        col("responseCode"),
        col("success"),
        col("URL"),
        col("responseMessage"),
    );
    let origin = format!("http://127.0.0.1:{}", addr.port());
    rows[1..]
        .iter()
        .map(|r| {
            (
                r[label].clone(),
                r[code].clone(),
                r[success].clone(),
                r[url].replace(&origin, ""),
                r[message].replace(&origin, ""),
            )
        })
        .collect()
}

fn row(
    label: &str,
    code: &str,
    ok: bool,
    path: &str,
    message: &str,
) -> (String, String, String, String, String) {
    (
        label.into(),
        code.into(),
        ok.to_string(),
        path.into(),
        message.into(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_resources_become_sub_results_in_document_order() {
    let failed = "Embedded resource download error:/missing.png code:404 message:Not Found, ";
    let expected = vec![
        row("Page", "200", false, "/page.html", failed),
        row("Page-0", "200", true, "/page.html", "OK"),
        // The stylesheet is parsed in turn: its @import (not its url()).
        row("Page-1", "200", true, "/style.css", "OK"),
        row("Page-0", "200", true, "/style.css", "OK"),
        row("Page-1", "200", true, "/more.css", "OK"),
        row("Page-2", "200", true, "/app.js", "OK"),
        row("Page-3", "200", true, "/a.png", "OK"),
        row("Page-4", "404", false, "/missing.png", "Not Found"),
    ];
    assert_eq!(rows(&plan("")).await, expected);
    // The download pool gives the same rows, in the same order.
    let concurrent = r#"<boolProp name="HTTPSampler.concurrentDwn">true</boolProp><stringProp name="HTTPSampler.concurrentPool">3</stringProp>"#;
    assert_eq!(rows(&plan(concurrent)).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_patterns_choose_the_resources() {
    // Only .png URLs (matched whole), but not the missing one.
    let filters = r#"<stringProp name="HTTPSampler.embedded_url_re">.*\.png</stringProp><stringProp name="HTTPSampler.embedded_url_exclude_re">.*missing.*</stringProp>"#;
    assert_eq!(
        rows(&plan(filters)).await,
        vec![
            row("Page", "200", true, "/page.html", "OK"),
            row("Page-0", "200", true, "/page.html", "OK"),
            row("Page-1", "200", true, "/a.png", "OK"),
        ]
    );
}

/// An extractor scoped to sub-samples reads the embedded resources' responses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extractors_read_sub_samples_in_their_scope() {
    for (scope, expected) in [
        ("parent", "none"),
        ("all", "more.css"),
        ("children", "more.css"),
    ] {
        let extractor = format!(
            r#"</HTTPSamplerProxy><hashTree><RegexExtractor testclass="RegexExtractor" testname="css">
  <stringProp name="RegexExtractor.refname">imported</stringProp>
  <stringProp name="RegexExtractor.regex">@import url\("([^"]+)"\)</stringProp>
  <stringProp name="RegexExtractor.template">$1$</stringProp>
  <stringProp name="RegexExtractor.match_number">1</stringProp>
  <stringProp name="RegexExtractor.default">none</stringProp>
  <stringProp name="Sample.scope">{scope}</stringProp>
</RegexExtractor><hashTree/></hashTree>
  <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="next ${{imported}}">
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
    <stringProp name="HTTPSampler.path">/a.png</stringProp>"#
        );
        let got = rows(&plan(&extractor)).await;
        assert_eq!(
            got.last().unwrap().0,
            format!("next {expected}"),
            "scope {scope}"
        );
    }
}

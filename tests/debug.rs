//! The Debug Sampler's text and the Debug PostProcessor's sub-result, against an in-process
//! server: JMeter's section layout and its alphanumeric key order (`a2` before `a10`).

mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_sampler_and_post_processor() {
    let contains = |name: &str, scope: &str, pattern: &str| {
        format!(
            r#"<ResponseAssertion testclass="ResponseAssertion" testname="{name}">
  <collectionProp name="Asserion.test_strings"><stringProp name="1">{pattern}</stringProp></collectionProp>
  <stringProp name="Assertion.test_field">Assertion.response_data</stringProp>
  <stringProp name="Assertion.scope">{scope}</stringProp>
  <intProp name="Assertion.test_type">2</intProp></ResponseAssertion><hashTree/>"#
        )
    };
    let plan = format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Debug"/><hashTree>
<Arguments testclass="Arguments" testname="vars"><collectionProp name="Arguments.arguments">
  <elementProp name="a10" elementType="Argument"><stringProp name="Argument.name">a10</stringProp><stringProp name="Argument.value">ten</stringProp></elementProp>
  <elementProp name="a2" elementType="Argument"><stringProp name="Argument.name">a2</stringProp><stringProp name="Argument.value">two</stringProp></elementProp>
</collectionProp></Arguments><hashTree/>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
<DebugSampler testclass="DebugSampler" testname="debug">
  <boolProp name="displayJMeterVariables">true</boolProp></DebugSampler><hashTree>
{}
</hashTree>
<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="get">
  <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
  <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
  <stringProp name="HTTPSampler.path">/page</stringProp></HTTPSamplerProxy><hashTree>
<DebugPostProcessor testclass="DebugPostProcessor" testname="Debug PostProcessor">
  <boolProp name="displaySamplerProperties">true</boolProp>
  <boolProp name="displayJMeterVariables">true</boolProp></DebugPostProcessor><hashTree/>
{}
{}
</hashTree>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#,
        contains("layout", "parent", "(?s)^JMeterVariables:\n.*\na2=two\na10=ten\n\n$"),
        contains(
            "sub-result",
            "children",
            "(?s)^SamplerProperties:\nHTTPSampler.domain=127.0.0.1\nHTTPSampler.path=/page\nHTTPSampler.port=\\d+\nTestElement.enabled=true\nTestElement.gui_class=\nTestElement.name=get\nTestElement.test_class=HTTPSamplerProxy\n\nJMeterVariables:\n.*a2=two\na10=ten\n"
        ),
        contains("page", "parent", "^hello$"),
    );
    let routes = serde_json::json!([
        {"method": "GET", "path": "/page", "status": 200, "headers": {"Content-Type": "text/plain"}, "body": "hello"}
    ]);
    let (_, rows) = support::run_inline(&plan, routes).await;
    let got: Vec<String> = rows[1..]
        .iter()
        .map(|r| format!("{}|{}|{}", r[2], r[7], r[8]))
        .collect();
    assert_eq!(got, ["debug|true|", "get|true|", "get-0|true|"], "{rows:?}");
    // The parent's size includes the sub-result's text (and the page's 5 bytes and headers).
    let (parent, sub): (u64, u64) = (rows[2][9].parse().unwrap(), rows[3][9].parse().unwrap());
    assert!(sub > 150 && parent > sub + 5, "{parent} {sub}");
}

/// Non-HTTP samples carry their response and request data into the XML JTL (`responseData`,
/// then `samplerData`, as JMeter's converter writes them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_http_samples_keep_their_data_in_xml() {
    let plan = r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Data"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
<JavaSampler testclass="JavaSampler" testname="java">
  <elementProp name="arguments" elementType="Arguments"><collectionProp name="Arguments.arguments">
    <elementProp name="SamplerData" elementType="Argument"><stringProp name="Argument.name">SamplerData</stringProp><stringProp name="Argument.value">the request</stringProp></elementProp>
    <elementProp name="ResultData" elementType="Argument"><stringProp name="Argument.name">ResultData</stringProp><stringProp name="Argument.value">the response</stringProp></elementProp>
    <elementProp name="Sleep_Time" elementType="Argument"><stringProp name="Argument.name">Sleep_Time</stringProp><stringProp name="Argument.value">0</stringProp></elementProp>
  </collectionProp></elementProp>
  <stringProp name="classname">org.apache.jmeter.protocol.java.test.JavaTest</stringProp>
</JavaSampler><hashTree/>
<DebugSampler testclass="DebugSampler" testname="debug">
  <boolProp name="displayJMeterVariables">true</boolProp></DebugSampler><hashTree/>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#;
    let xml = support::run_inline_xml(
        plan,
        &[
            ("jmeter.save.saveservice.response_data", "true".into()),
            ("jmeter.save.saveservice.samplerData", "true".into()),
        ],
    )
    .await;
    assert!(
        xml.contains("  <responseData class=\"java.lang.String\">the response</responseData>\n  <samplerData class=\"java.lang.String\">the request</samplerData>\n"),
        "{xml}"
    );
    assert!(
        xml.contains("<samplerData class=\"java.lang.String\">JMeterVariables\n</samplerData>"),
        "{xml}"
    );
}

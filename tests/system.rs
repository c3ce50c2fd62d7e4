//! The OS Process Sampler runs real programs (`sh`, present on every Unix machine).

mod support;

fn system(name: &str, command: &str, args: &[&str], extra: &str) -> String {
    let args: String = args
        .iter()
        .map(|a| format!(r#"<elementProp name="" elementType="Argument"><stringProp name="Argument.name"></stringProp><stringProp name="Argument.value">{a}</stringProp></elementProp>"#))
        .collect();
    format!(
        r#"<SystemSampler testclass="SystemSampler" testname="{name}">
  <stringProp name="SystemSampler.command">{command}</stringProp>
  <elementProp name="SystemSampler.arguments" elementType="Arguments"><collectionProp name="Arguments.arguments">{args}</collectionProp></elementProp>
  <elementProp name="SystemSampler.environment" elementType="Arguments"><collectionProp name="Arguments.arguments">
    <elementProp name="GREETING" elementType="Argument"><stringProp name="Argument.name">GREETING</stringProp><stringProp name="Argument.value">${{who}}</stringProp></elementProp>
  </collectionProp></elementProp>
  {extra}
</SystemSampler><hashTree>
  <ResponseAssertion testclass="ResponseAssertion" testname="says hello">
    <collectionProp name="Asserion.test_strings"><stringProp name="1">hello world</stringProp></collectionProp>
    <stringProp name="Assertion.test_field">Assertion.response_data</stringProp>
    <intProp name="Assertion.test_type">16</intProp>
  </ResponseAssertion><hashTree/>
</hashTree>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn os_process_sampler_runs_the_command() {
    let body = system(
        "exit 3",
        "sh",
        &["-c", "echo hello $GREETING; echo to stderr >&2; exit 3"],
        r#"<boolProp name="SystemSampler.checkReturnCode">true</boolProp><stringProp name="SystemSampler.expectedReturnCode">3</stringProp>"#,
    ) + &system(
        "wrong code",
        "sh",
        &["-c", "echo hello $GREETING"],
        r#"<boolProp name="SystemSampler.checkReturnCode">true</boolProp><stringProp name="SystemSampler.expectedReturnCode">3</stringProp>"#,
    ) + &system("missing", "/no/such/program", &[], "")
        + &system(
            "slow",
            "sh",
            &["-c", "sleep 5"],
            r#"<longProp name="SystemSampler.timeout">200</longProp>"#,
        );
    let plan_text = format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="OS"><elementProp name="TestPlan.user_defined_variables" elementType="Arguments"><collectionProp name="Arguments.arguments"><elementProp name="who" elementType="Argument"><stringProp name="Argument.name">who</stringProp><stringProp name="Argument.value">world</stringProp></elementProp></collectionProp></elementProp></TestPlan><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>{body}</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    );
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.jmx");
    std::fs::write(&plan, plan_text).unwrap();
    let jtl = dir.path().join("out.jtl");
    let started = std::time::Instant::now();
    support::run_plan(&plan, &jtl, &[]).await.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "the timeout did not stop sleep 5"
    );
    let rows = support::read_jtl(&std::fs::read_to_string(&jtl).unwrap());
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let (label, code, message, success) = (
        col("label"),
        col("responseCode"),
        col("responseMessage"),
        col("success"),
    );
    let got: Vec<(String, String, String, String)> = rows[1..]
        .iter()
        .map(|r| {
            (
                r[label].clone(),
                r[code].clone(),
                r[message].clone(),
                r[success].clone(),
            )
        })
        .collect();
    assert_eq!(
        got[0],
        ("exit 3".into(), "3".into(), "OK".into(), "true".into())
    );
    assert_eq!(
        got[1],
        (
            "wrong code".into(),
            "0".into(),
            "Unexpected return code.  Expected [3]. Actual [0].".into(),
            "false".into()
        )
    );
    assert_eq!((got[2].1.as_str(), got[2].3.as_str()), ("500", "false"));
    assert!(got[2].2.starts_with("Exception occurred whilst executing system call: java.io.IOException: Cannot run program \"/no/such/program\""), "{got:?}");
    assert_eq!(
        (got[3].1.as_str(), got[3].2.as_str()),
        ("500", "Process timeout reached after 200 milliseconds")
    );
}

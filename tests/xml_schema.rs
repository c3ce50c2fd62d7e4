//! The XML Schema Assertion: responses validated against the schemas of
//! `jmx-fixtures/xml-schema/`, with the messages real JMeter (Xerces 2.12.2) wrote for them, and
//! the assertion on a real sampler.

mod support;

use std::path::{Path, PathBuf};

use rmeter::runtime::xsd;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("jmx-fixtures/xml-schema")
}

#[test]
fn messages_match_xerces() {
    let dir = fixtures();
    let table = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let (case, instance, schema_name, error, message) =
            (f[0], f[1], f[2], f[3] == "true", f[4]);
        let message = message.replace("file://FIXTURES/", &format!("file://{}/", dir.display()));
        let text =
            String::from_utf8_lossy(&std::fs::read(dir.join(instance)).unwrap()).into_owned();
        let schema = xsd::schema::load(schema_name, &dir);
        let got = xsd::validate(&text, &schema);
        let want = if error {
            Err(message.clone())
        } else if message.is_empty() {
            Ok(None)
        } else {
            Ok(Some(message.clone()))
        };
        checked += 1;
        if got != want {
            wrong.push(format!("{case}:\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(checked > 90, "{checked}");
    assert!(
        wrong.is_empty(),
        "{} of {checked} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

fn page(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap()
}

fn sampler(label: &str, path: &str, schema: &str) -> String {
    format!(
        r#"<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="{label}">
  <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
  <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
  <stringProp name="HTTPSampler.path">{path}</stringProp></HTTPSamplerProxy><hashTree>
  <XMLSchemaAssertion testclass="XMLSchemaAssertion" testname="xsd">
    <stringProp name="xmlschema_assertion_filename">{schema}</stringProp>
  </XMLSchemaAssertion><hashTree/>
</hashTree>
"#
    )
}

/// On a real sampler: the verdicts and JMeter's failure messages in the JTL, the schema named
/// relative to the working directory (the crate's root under `cargo test`) or by a variable.
#[tokio::test]
async fn assertion_on_samples() {
    let routes = serde_json::json!([
        {"path": "/valid", "headers": {"Content-Type": "application/xml"}, "body": page("valid.xml")},
        {"path": "/wrong", "headers": {"Content-Type": "application/xml"}, "body": page("wrong-root.xml")},
        {"path": "/empty", "headers": {"Content-Type": "application/xml"}, "body": ""},
    ]);
    let relative = "jmx-fixtures/xml-schema/order.xsd";
    let samplers = [
        sampler("valid", "/valid", relative),
        sampler("wrong root", "/wrong", relative),
        sampler("by variable", "/wrong", "${__P(xsd)}"),
        sampler("empty body", "/empty", relative),
        sampler("no file", "/valid", ""),
        sampler("missing file", "/valid", "nosuch.xsd"),
    ]
    .concat();
    let plan = format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Xsd"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
{samplers}
</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    );
    let addr = support::serve_target(routes).await;
    let dir = tempfile::tempdir().unwrap();
    let (plan_path, jtl) = (dir.path().join("plan.jmx"), dir.path().join("out.jtl"));
    std::fs::write(&plan_path, plan).unwrap();
    support::run_plan(
        &plan_path,
        &jtl,
        &[
            ("port", addr.port().to_string()),
            ("xsd", fixtures().join("order.xsd").display().to_string()),
        ],
    )
    .await
    .unwrap();
    let rows = support::read_jtl(&std::fs::read_to_string(&jtl).unwrap());
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let (label, success, message) = (col("label"), col("success"), col("failureMessage"));
    let got: Vec<(&str, &str, &str)> = rows[1..]
        .iter()
        .map(|r| (r[label].as_str(), r[success].as_str(), r[message].as_str()))
        .collect();
    let wrong =
        "error: line=1 col=22 cvc-elt.1.a: Cannot find the declaration of element 'invoice'.";
    assert_eq!(
        got,
        [
            ("valid", "true", ""),
            ("wrong root", "false", wrong),
            ("by variable", "false", wrong),
            ("empty body", "false", "Response was null"),
            ("no file", "false", "FileName is required"),
            ("missing file", "false", "error: line=1 col=20 schema_reference.4: Failed to read schema document 'nosuch.xsd', because 1) could not find the document; 2) the document could not be read; 3) the root element of the document is not <xsd:schema>."),
        ]
    );
}

#[test]
fn unsupported_schemas_are_refused_by_check() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keys.xsd"),
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="r"><xs:complexType><xs:sequence><xs:element name="a" type="xs:string" maxOccurs="unbounded"/></xs:sequence></xs:complexType><xs:unique name="u"><xs:selector xpath="a"/><xs:field xpath="."/></xs:unique></xs:element></xs:schema>"#,
    )
    .unwrap();
    let plan = format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Xsd"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"/><hashTree>{}</hashTree></hashTree></hashTree></jmeterTestPlan>"#,
        sampler("p", "/", "keys.xsd")
    );
    std::fs::write(dir.path().join("plan.jmx"), plan).unwrap();
    let out = support::rmeter(dir.path(), &["check", "plan.jmx"]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("identity constraints"), "{text}");
}

/// Schemas that would make a validator build enormous models, or recurse without end, are
/// refused quickly as unsupported.
#[test]
fn oversized_schemas_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let group_chain: String = (1..40)
        .map(|i| {
            format!(
                r#"<xs:group name="g{i}"><xs:sequence><xs:group ref="g{p}"/><xs:group ref="g{p}"/></xs:sequence></xs:group>"#,
                p = i - 1
            )
        })
        .collect();
    let deep = "<xs:sequence>".repeat(2000) + &"</xs:sequence>".repeat(2000);
    let cases = [
        (
            "empty-repeated",
            r#"<xs:element name="r"><xs:complexType><xs:sequence maxOccurs="4000000000"><xs:sequence/></xs:sequence></xs:complexType></xs:element>"#.to_string(),
        ),
        (
            "wide-choice",
            format!(
                r#"<xs:element name="r"><xs:complexType><xs:choice maxOccurs="1000">{}</xs:choice></xs:complexType></xs:element>"#,
                (0..20).map(|i| format!(r#"<xs:element name="e{i}"/>"#)).collect::<String>()
            ),
        ),
        (
            "group-explosion",
            format!(
                r#"<xs:group name="g0"><xs:sequence><xs:element name="e"/></xs:sequence></xs:group>{group_chain}<xs:element name="r"><xs:complexType><xs:group ref="g39"/></xs:complexType></xs:element>"#
            ),
        ),
        (
            "deep",
            format!(r#"<xs:element name="r"><xs:complexType>{deep}</xs:complexType></xs:element>"#),
        ),
    ];
    for (name, body) in cases {
        let file = dir.path().join(format!("{name}.xsd"));
        std::fs::write(
            &file,
            format!(r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{body}</xs:schema>"#),
        )
        .unwrap();
        let started = std::time::Instant::now();
        let loaded = xsd::schema::load(&file.display().to_string(), dir.path());
        assert!(
            matches!(loaded, Err(xsd::schema::SchemaError::Unsupported(_))),
            "{name}: {loaded:?}"
        );
        assert!(
            started.elapsed().as_secs() < 10,
            "{name} took {:?}",
            started.elapsed()
        );
    }
}

proptest::proptest! {
    /// Any response text against a real schema: a verdict, never a panic.
    #[test]
    fn any_response_is_validated_without_panic(text in "\\PC{0,300}") {
        let schema = xsd::schema::load("order.xsd", &fixtures());
        let _ = xsd::validate(&text, &schema);
    }
}

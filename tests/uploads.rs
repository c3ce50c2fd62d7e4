//! File uploads and multipart bodies as JMeter 5.6's HttpClient 4 sampler sends them, checked on
//! the bytes an in-process server receives.

mod support;

fn plan(sampler_extra: &str, args: &str) -> String {
    format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Uploads"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
  <HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="upload">
    <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
    <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
    <stringProp name="HTTPSampler.path">/echo</stringProp>
    <stringProp name="HTTPSampler.method">POST</stringProp>
    <elementProp name="HTTPsampler.Arguments" elementType="Arguments"><collectionProp name="Arguments.arguments">{args}</collectionProp></elementProp>
    {sampler_extra}
  </HTTPSamplerProxy><hashTree/>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    )
}

fn files(entries: &[(&str, &str, &str)]) -> String {
    let items: String = entries
        .iter()
        .map(|(path, param, mime)| format!(r#"<elementProp name="{path}" elementType="HTTPFileArg"><stringProp name="File.path">{path}</stringProp><stringProp name="File.paramname">{param}</stringProp><stringProp name="File.mimetype">{mime}</stringProp></elementProp>"#))
        .collect();
    format!(
        r#"<elementProp name="HTTPsampler.Files" elementType="HTTPFileArgs"><collectionProp name="HTTPFileArgs.files">{items}</collectionProp></elementProp>"#
    )
}

const TITLE: &str = r#"<elementProp name="title" elementType="HTTPArgument"><stringProp name="Argument.name">title</stringProp><stringProp name="Argument.value">café</stringProp></elementProp>"#;

/// The text of the first `<tag ...>...</tag>` of an XML JTL, unescaped.
fn element(xml: &str, tag: &str) -> String {
    let Some(open) = xml.find(&format!("<{tag}")) else {
        return String::new();
    };
    let start = open + xml[open..].find('>').unwrap() + 1;
    let end = start + xml[start..].find(&format!("</{tag}>")).unwrap();
    xml[start..end]
        .replace("&#xd;", "\r")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Runs the plan (written beside `up.txt`) and returns the XML result: what the server received
/// (`responseData`), what JMeter shows as sent (`queryString`), and the whole file.
async fn run(plan_text: &str) -> (String, String, String) {
    let addr = support::serve_target(serde_json::json!([
        {"method": "POST", "path": "/echo", "echo": true, "with_body": true, "headers": {"Content-Type": "text/plain"}}
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("up.txt"), "hello file\n").unwrap();
    let plan = dir.path().join("plan.jmx");
    std::fs::write(&plan, plan_text).unwrap();
    let jtl = dir.path().join("out.jtl");
    // The plan's folder is not the working directory: relative paths resolve beside the plan.
    support::run_plan(
        &plan,
        &jtl,
        &[
            ("port", addr.port().to_string()),
            ("jmeter.save.saveservice.output_format", "xml".into()),
            ("jmeter.save.saveservice.response_data", "true".into()),
            ("jmeter.save.saveservice.samplerData", "true".into()),
        ],
    )
    .await
    .unwrap();
    let xml = std::fs::read_to_string(&jtl).unwrap();
    let port = addr.port().to_string();
    (
        element(&xml, "responseData").replace(&port, "PORT"),
        element(&xml, "queryString"),
        xml,
    )
}

/// The boundary of a multipart request, from its Content-Type line.
fn boundary(received: &str) -> String {
    let line = received
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("content-type: multipart/form-data")
        })
        .unwrap_or_else(|| panic!("not multipart: {received}"));
    let b = line
        .split("boundary=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    assert!((30..=40).contains(&b.len()), "{b}");
    assert!(line.ends_with("; charset=UTF-8"), "{line}");
    b.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_body_with_arguments_and_a_file() {
    let (received, shown, _) =
        run(&plan(&files(&[("up.txt", "file1", "text/plain")]), TITLE)).await;
    let b = boundary(&received);
    let body = received.split_once("\r\n\r\n").unwrap().1;
    let expected = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"title\"\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncafé\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"file1\"; filename=\"up.txt\"\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\nhello file\n\r\n\
         --{b}--\r\n"
    );
    assert_eq!(body, expected);
    // JMeter records the body with the file's content left out.
    assert_eq!(
        shown,
        expected.replace("hello file\n", "<actual file content, not shown here>")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_compatible_parts_and_multipart_without_files() {
    let extra = r#"<boolProp name="HTTPSampler.DO_MULTIPART_POST">true</boolProp><boolProp name="HTTPSampler.BROWSER_COMPATIBLE_MULTIPART">true</boolProp>"#;
    let (received, _, _) = run(&plan(extra, TITLE)).await;
    let b = boundary(&received);
    let body = received.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(
        body,
        format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\ncafé\r\n--{b}--\r\n"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_without_a_field_name_is_the_body() {
    let (received, shown, _) =
        run(&plan(&files(&[("up.txt", "", "application/x-test")]), "")).await;
    assert!(
        received.contains("Content-Type: application/x-test\r\n"),
        "{received}"
    );
    assert!(received.ends_with("\r\n\r\nhello file\n"), "{received}");
    assert_eq!(shown, "<actual file content, not shown here>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_fails_the_sample() {
    let (_, _, xml) = run(&plan(
        &files(&[("nowhere.bin", "f", "application/octet-stream")]),
        "",
    ))
    .await;
    assert!(
        xml.contains(r#"rc="Non HTTP response code: java.io.FileNotFoundException""#),
        "{xml}"
    );
    assert!(
        xml.contains("nowhere.bin (No such file or directory)"),
        "{xml}"
    );
    assert!(xml.contains(r#"s="false""#), "{xml}");
}

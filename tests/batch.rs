//! JMeter's own batch tests (`../shared/jmeter-batch`, from JMeter 5.6.3): each plan runs the way
//! JMeter's build runs it, and the result files its listeners write must equal JMeter's expected
//! files byte for byte (line endings aside). Skipped when `../shared` is absent.

mod support;

use std::path::{Path, PathBuf};

fn batch_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/jmeter-batch");
    dir.join("jmeter-batch.properties").exists().then_some(dir)
}

/// Runs `testfiles/<name>.jmx` as JMeter's `BatchTest` does, with the batch properties, in a
/// fresh root holding a copy of the batch files, and compares `<name>.csv` and `<name>.xml`.
fn run_batch(name: &str, extra: &[&str]) -> Result<(), String> {
    run_batch_with(name, name, &[], extra)
}

/// Runs `testfiles/<name>.jmx` with `files` written over the copies (paths from the root), and
/// compares `<outputs>.csv` and `<outputs>.xml`.
fn run_batch_with(
    name: &str,
    outputs: &str,
    files: &[(&str, String)],
    extra: &[&str],
) -> Result<(), String> {
    let Some(source) = batch_dir() else {
        eprintln!("skipped: ../shared/jmeter-batch is absent");
        return Ok(());
    };
    let root = tempfile::tempdir().unwrap();
    // RMETER_KEEP_BATCH=1 keeps the run's files (the `-l` JTL has the failure messages).
    let root = if std::env::var_os("RMETER_KEEP_BATCH").is_some() {
        let kept = tempfile::Builder::new()
            .prefix(name)
            .disable_cleanup(true)
            .tempdir()
            .unwrap();
        eprintln!("batch files kept in {}", kept.path().display());
        kept
    } else {
        root
    };
    let testfiles = root.path().join("testfiles");
    std::fs::create_dir(&testfiles).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, testfiles.join(path.file_name().unwrap())).unwrap();
    }
    for (path, text) in files {
        std::fs::write(root.path().join(path), text).unwrap();
    }
    let plan = format!("testfiles/{name}.jmx");
    let log = format!("{name}.log");
    let jtl = format!("{name}.jtl");
    let csv = format!("-JCSVFILE={name}.csv");
    let mut args = vec![
        "-q",
        "testfiles/jmeter-batch.properties",
        "-n",
        "-t",
        &plan,
        "-j",
        &log,
        "-l",
        &jtl,
        "-Jmodule=Module",
        "-Gmodule=Module",
        &csv,
    ];
    args.extend_from_slice(extra);
    let out = support::rmeter(root.path(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{name}: exit {:?}\n{stderr}", out.status.code()));
    }
    // JMeter's batch test fails on any warning in the log.
    let log_text = std::fs::read_to_string(root.path().join(&log)).unwrap_or_default();
    if let Some(line) = log_text
        .lines()
        .find(|l| l.contains(" WARN ") || l.contains(" ERROR "))
    {
        return Err(format!("{name}: the log has a warning: {line}"));
    }
    for ext in ["csv", "xml"] {
        let expected = std::fs::read_to_string(source.join(format!("{outputs}.{ext}")))
            .unwrap()
            .replace("\r\n", "\n");
        let actual = std::fs::read_to_string(root.path().join(format!("{outputs}.{ext}")))
            .map_err(|e| format!("{outputs}.{ext}: {e}"))?
            .replace("\r\n", "\n");
        if actual != expected {
            return Err(format!(
                "{outputs}.{ext} differs from JMeter's\n--- expected\n{expected}\n--- actual\n{actual}"
            ));
        }
    }
    Ok(())
}

/// Transaction Controllers with and without a parent sample, left through "start next thread
/// loop" (on error and from a Flow Control Action).
#[test]
fn bug52968_transactions_and_start_next_loop() {
    run_batch("Bug52968", &[]).unwrap();
}

/// `sample_variables` columns, and a label with commas quoted.
#[test]
fn bug54685_sample_variables() {
    run_batch("Bug54685", &["-Jsample_variables=REFERENCE,JSESSIONID"]).unwrap();
}

/// A Module Controller whose target (a disabled Simple Controller) has its own name.
#[test]
fn bug55375_module_controller() {
    run_batch("Bug55375", &[]).unwrap();
}

/// Two Include Controllers of the same name bringing in a Test Fragment from another file.
#[test]
fn bug50898_include_controllers() {
    run_batch("Bug50898", &[]).unwrap();
}

/// `__jm__<name>__idx` of Loop, While and ForEach seen by If Controllers inside them.
#[test]
fn bug62847_loop_indexes_in_conditions() {
    run_batch("BUG_62847", &[]).unwrap();
}

/// Flow Control Action "break" and "next iteration" in Loop, While and ForEach.
#[test]
fn bug62239_break_and_continue() {
    run_batch("Bug62239", &[]).unwrap();
}

/// Nested Header Managers merged, and assertions on the request headers of requests that meet no
/// server (JMeter still records what it would have sent).
#[test]
fn test_header_manager() {
    let _port = PORT_8081.lock().unwrap_or_else(|e| e.into_inner());
    run_batch("TestHeaderManager", &[]).unwrap();
}

/// TestHeaderManager sends to localhost:8081, where TEST_HTTP's mirror listens: one at a time.
static PORT_8081: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// JMeter's HttpMirrorServer as TEST_HTTP uses it: one request per connection, answered with
/// `HTTP/1.0 <X-ResponseStatus or 200 OK>`, `Content-Type: text/plain`, the `X-SetHeaders` lines
/// as sent, then the request's own bytes, and the connection closed.
fn start_mirror() -> Vec<std::net::TcpListener> {
    use std::io::{Read, Write};
    let mut listeners = Vec::new();
    for addr in ["127.0.0.1:8081", "[::1]:8081"] {
        let Ok(listener) = std::net::TcpListener::bind(addr) else {
            continue;
        };
        let accept = listener.try_clone().unwrap();
        std::thread::spawn(move || {
            for mut socket in accept.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    let head_end = loop {
                        match socket.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                        if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&request[..head_end]).to_string();
                    let header = |name: &str| {
                        head.lines().find_map(|l| {
                            let (n, v) = l.split_once(':')?;
                            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                        })
                    };
                    let length: usize = header("Content-Length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    while request.len() < head_end + length {
                        match socket.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let status = header("X-ResponseStatus").unwrap_or_else(|| "200 OK".into());
                    let mut response = format!("HTTP/1.0 {status}\r\nContent-Type: text/plain\r\n");
                    if let Some(extra) = header("X-SetHeaders") {
                        for line in extra.split('|') {
                            response.push_str(line);
                            response.push_str("\r\n");
                        }
                    }
                    response.push_str("\r\n");
                    let _ = socket.write_all(response.as_bytes());
                    let _ = socket.write_all(&request);
                });
            }
        });
        listeners.push(listener);
    }
    listeners
}

/// www.example.org's page, gzipped only when the request accepts gzip.
fn start_example() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let page = b"<!doctype html><html><head><title>Example Domain</title></head><body><h1>Example Domain</h1></body></html>";
                let gzip = String::from_utf8_lossy(&request)
                    .to_ascii_lowercase()
                    .contains("accept-encoding: gzip");
                let (body, encoding) = if gzip {
                    let mut encoder =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    encoder.write_all(page).unwrap();
                    (encoder.finish().unwrap(), "Content-Encoding: gzip\r\n")
                } else {
                    (page.to_vec(), "")
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\n{encoding}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes());
                let _ = socket.write_all(&body);
            });
        }
    });
    port
}

/// GET, POST and PUT with parameters, bodies, multipart and files, redirects followed by JMeter
/// and by HttpClient, and gzip, against a mirror server on port 8081 as in JMeter's build. The
/// Groovy scripts that start and stop JMeter's mirror become Debug Samplers (the same rows), the
/// page of www.example.org comes from a local server, and the Groovy assertion that the request
/// carried the UTF-8 parameter name reads the mirror's echo instead of the sampler data.
#[test]
fn test_http() {
    let _port = PORT_8081.lock().unwrap_or_else(|e| e.into_inner());
    let Some(source) = batch_dir() else {
        eprintln!("skipped: ../shared/jmeter-batch is absent");
        return;
    };
    let _mirror = start_mirror();
    let example = start_example();
    let plan = std::fs::read_to_string(source.join("TEST_HTTP.jmx")).unwrap();
    let assertion_start = plan.find("<JSR223Assertion").unwrap();
    let assertion_end = plan.find("</JSR223Assertion>").unwrap() + "</JSR223Assertion>".len();
    let assertion = r#"<ResponseAssertion guiclass="AssertionGui" testclass="ResponseAssertion" testname="JSR223-Assertion-CheckCorrectEncodingForParam" enabled="true">
  <collectionProp name="Asserion.test_strings"><stringProp name="1">Content-Disposition: form-data; name="安_param"</stringProp></collectionProp>
  <stringProp name="Assertion.test_field">Assertion.response_data</stringProp>
  <intProp name="Assertion.test_type">16</intProp></ResponseAssertion>"#;
    let plan = format!(
        "{}{assertion}{}",
        &plan[..assertion_start],
        &plan[assertion_end..]
    )
    .replace(
        r#"<JSR223Sampler guiclass="TestBeanGUI" testclass="JSR223Sampler""#,
        r#"<DebugSampler guiclass="TestBeanGUI" testclass="DebugSampler""#,
    )
    .replace(
        "</JSR223Sampler>",
        r#"<boolProp name="displayJMeterVariables">false</boolProp></DebugSampler>"#,
    )
    .replace(
        r#"<stringProp name="HTTPSampler.domain">www.example.org</stringProp>
          <stringProp name="HTTPSampler.port"></stringProp>"#,
        &format!(
            r#"<stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
          <stringProp name="HTTPSampler.port">{example}</stringProp>"#
        ),
    );
    assert!(!plan.contains("testclass=\"JSR223") && !plan.contains("www.example.org"));
    let files = [
        ("testfiles/TEST_HTTP.jmx", plan),
        // JMeter's bin/user.properties, which TEST_HTTP uploads from the working directory.
        (
            "user.properties",
            "# Sample user.properties file\n#\n# Put local JMeter property settings here.\n".into(),
        ),
    ];
    run_batch_with(
        "TEST_HTTP",
        "TEST_HTTP_HttpClient4",
        &files,
        &["-Jjmeter.httpsampler=HttpClient4"],
    )
    .unwrap();
}

//! Client certificates from a PKCS12 keystore (`-Djavax.net.ssl.keyStore`), against an
//! in-process TLS server that requires one signed by the test CA and answers with the name of
//! the certificate it got. `jmx-fixtures/tls/users.p12` holds the keys of alice and bob.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("jmx-fixtures/tls")
        .join(name)
}

/// A TLS server that requires a client certificate and answers `alice` or `bob`.
async fn serve() -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(fixture("ca.pem")).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from_pem_file(fixture("server.pem")).unwrap()],
            PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let cert = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
                let who = if cert.windows(5).any(|w| w == b"alice") {
                    "alice"
                } else {
                    "bob"
                };
                let mut buf = [0u8; 2048];
                let mut request = Vec::new();
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{who}",
                    who.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

/// Two users, one HTTPS request each; the rows' labels are the certificates the server saw.
fn plan(port: u16, config: &str) -> String {
    format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Certs"/><hashTree>
{config}
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">2</stringProp></ThreadGroup><hashTree>
<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="who">
  <stringProp name="HTTPSampler.protocol">https</stringProp>
  <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
  <stringProp name="HTTPSampler.port">{port}</stringProp>
  <stringProp name="HTTPSampler.path">/who</stringProp></HTTPSamplerProxy><hashTree>
  <RegexExtractor testclass="RegexExtractor" testname="name"><stringProp name="RegexExtractor.refname">who</stringProp><stringProp name="RegexExtractor.regex">^(alice|bob)$</stringProp><stringProp name="RegexExtractor.template">$1$</stringProp><stringProp name="RegexExtractor.default">none</stringProp></RegexExtractor><hashTree/>
</hashTree>
<JavaSampler testclass="JavaSampler" testname="cert ${{who}}"><stringProp name="classname">org.apache.jmeter.protocol.java.test.JavaTest</stringProp></JavaSampler><hashTree/>
</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    )
}

/// Runs the plan with the keystore and password; the sorted labels of the `cert` rows, or the
/// exit code and standard error when the run does not start.
fn run(plan: &str, password: Option<&str>) -> Result<Vec<String>, (Option<i32>, String)> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.jmx"), plan).unwrap();
    let store = format!(
        "-Djavax.net.ssl.keyStore={}",
        fixture("users.p12").display()
    );
    let mut args = vec!["-n", "-t", "plan.jmx", "-l", "out.jtl"];
    let pass;
    if let Some(password) = password {
        args.push(&store);
        pass = format!("-Djavax.net.ssl.keyStorePassword={password}");
        args.push(&pass);
    }
    let out = support::rmeter(dir.path(), &args);
    if !out.status.success() {
        return Err((
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into(),
        ));
    }
    let rows = support::read_jtl(&std::fs::read_to_string(dir.path().join("out.jtl")).unwrap());
    let mut labels: Vec<String> = rows[1..]
        .iter()
        .filter(|r| r[2].starts_with("cert"))
        .map(|r| r[2].clone())
        .collect();
    labels.sort();
    Ok(labels)
}

fn keystore_config(var: &str, end: &str) -> String {
    format!(
        r#"<KeystoreConfig guiclass="TestBeanGUI" testclass="KeystoreConfig" testname="Keystore Configuration">
  <stringProp name="preload">true</stringProp>
  <stringProp name="clientCertAliasVarName">{var}</stringProp>
  <stringProp name="startIndex">0</stringProp>
  <stringProp name="endIndex">{end}</stringProp>
</KeystoreConfig><hashTree/>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_from_a_keystore() {
    let port = serve().await;
    // Without a Keystore Configuration every user offers the first key entry.
    assert_eq!(
        run(&plan(port, ""), Some("changeit")).unwrap(),
        ["cert alice", "cert alice"]
    );
    // All entries, no alias variable: one key per user, round robin.
    assert_eq!(
        run(&plan(port, &keystore_config("", "-1")), Some("changeit")).unwrap(),
        ["cert alice", "cert bob"]
    );
    // The alias from a variable.
    let by_variable = keystore_config("certAlias", "-1")
        + r#"<Arguments testclass="Arguments" testname="vars"><collectionProp name="Arguments.arguments">
  <elementProp name="certAlias" elementType="Argument"><stringProp name="Argument.name">certAlias</stringProp><stringProp name="Argument.value">bob</stringProp></elementProp>
</collectionProp></Arguments><hashTree/>"#;
    assert_eq!(
        run(&plan(port, &by_variable), Some("changeit")).unwrap(),
        ["cert bob", "cert bob"]
    );
    // No keystore: the server refuses the handshake, the samples fail.
    assert_eq!(
        run(&plan(port, ""), None).unwrap(),
        ["cert none", "cert none"]
    );
    // A wrong password stops the run before it starts, naming the file.
    let (code, stderr) = run(&plan(port, ""), Some("wrong")).unwrap_err();
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("users.p12") && stderr.contains("keystore password was incorrect"),
        "{stderr}"
    );
}

//! The TCP Sampler against in-process TCP servers: text and binary clients with an end byte,
//! connection re-use, read timeouts, a refused connection and the length-prefixed client.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A line server: `sleep` gets no answer, any other line gets `pong:<line>\n`. Counts the
/// connections it accepts.
async fn line_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "sleep" {
                        continue;
                    }
                    if write
                        .write_all(format!("pong:{line}\n").as_bytes())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    (port, connections)
}

/// A length-prefixed echo server: a 2-byte length, then that many bytes, sent back reversed.
async fn prefixed_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = [0u8; 2];
                while socket.read_exact(&mut head).await.is_ok() {
                    let mut body = vec![0u8; u16::from_be_bytes(head) as usize];
                    if socket.read_exact(&mut body).await.is_err() {
                        break;
                    }
                    body.reverse();
                    let _ = socket.write_all(&head).await;
                    let _ = socket.write_all(&body).await;
                }
            });
        }
    });
    port
}

fn tcp(name: &str, port: &str, class: &str, request: &str, extra: &str) -> String {
    format!(
        r#"<TCPSampler testclass="TCPSampler" testname="{name}">
  <stringProp name="TCPSampler.server">127.0.0.1</stringProp>
  <stringProp name="TCPSampler.port">{port}</stringProp>
  <stringProp name="TCPSampler.classname">{class}</stringProp>
  <stringProp name="TCPSampler.request">{request}</stringProp>
  <stringProp name="TCPSampler.timeout">500</stringProp>{extra}
</TCPSampler><hashTree/>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_sampler_clients() {
    let (port, connections) = line_server().await;
    let prefixed = prefixed_server().await;
    let closed = support::closed_port();
    let eol = r#"<stringProp name="TCPSampler.EolByte">10</stringProp>"#;
    let body = [
        tcp("text", "${__P(port)}", "TCPClientImpl", "ping&#10;", eol),
        tcp("again", "${__P(port)}", "TCPClientImpl", "ping2&#10;", eol),
        tcp(
            "binary",
            "${__P(port)}",
            "BinaryTCPClientImpl",
            "68690a",
            eol,
        ),
        tcp(
            "bad hex",
            "${__P(port)}",
            "BinaryTCPClientImpl",
            "6869zz",
            eol,
        ),
        tcp(
            "timeout",
            "${__P(port)}",
            "TCPClientImpl",
            "sleep&#10;",
            eol,
        ),
        tcp(
            "binary timeout",
            "${__P(port)}",
            "BinaryTCPClientImpl",
            "736c6565700a",
            eol,
        ),
        tcp("refused", "${__P(closed)}", "TCPClientImpl", "x", ""),
        tcp(
            "prefixed",
            "${__P(prefixed)}",
            "LengthPrefixedBinaryTCPClientImpl",
            "010203",
            "",
        ),
        // Server, port and end byte from the TCP Sampler Config.
        r#"<TCPSampler testclass="TCPSampler" testname="from config">
  <stringProp name="TCPSampler.server"></stringProp>
  <stringProp name="TCPSampler.request">cfg&#10;</stringProp></TCPSampler><hashTree/>"#
            .to_string(),
        tcp("no handler", "${__P(port)}", "org.foo.xxx", "x", ""),
    ]
    .concat();
    let plan = format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="TCP"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
<ConfigTestElement guiclass="TCPConfigGui" testclass="ConfigTestElement" testname="TCP Sampler Config">
  <stringProp name="TCPSampler.server">127.0.0.1</stringProp>
  <stringProp name="TCPSampler.port">${{__P(port)}}</stringProp>
  <stringProp name="TCPSampler.EolByte">10</stringProp>
</ConfigTestElement><hashTree/>
{body}
</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    );
    let dir = tempfile::tempdir().unwrap();
    let (plan_path, jtl) = (dir.path().join("plan.jmx"), dir.path().join("out.jtl"));
    std::fs::write(&plan_path, plan).unwrap();
    support::run_plan(
        &plan_path,
        &jtl,
        &[
            ("port", port.to_string()),
            ("closed", closed.to_string()),
            ("prefixed", prefixed.to_string()),
        ],
    )
    .await
    .unwrap();
    let rows = support::read_jtl(&std::fs::read_to_string(&jtl).unwrap());
    let got: Vec<String> = rows[1..]
        .iter()
        .map(|r| format!("{}|{}|{}|{}|{}|{}", r[2], r[3], r[4], r[6], r[7], r[9]))
        .collect();
    let read_exception = "org.apache.jmeter.protocol.tcp.sampler.ReadException";
    assert_eq!(
        got,
        [
            // "pong:ping\n"; the binary client's response is hex ("pong:hi\n").
            "text|200|OK|text|true|10".to_string(),
            "again|200|OK|text|true|11".into(),
            "binary|200|OK|text|true|16".into(),
            "bad hex|500|java.lang.IllegalArgumentException: Hex-encoded binary string contains an invalid hex digit in 'zz'|text|false|0".into(),
            format!("timeout|500|{read_exception}: Error reading from server, bytes read: 0|text|false|0"),
            format!("binary timeout|500|{read_exception}: Socket timed out while looking for EOM|text|false|0"),
            "refused|500|java.net.ConnectException: Connection refused||false|0".into(),
            // "030201", the body reversed, without its prefix.
            "prefixed|200|OK|text|true|6".into(),
            "from config|200|OK|text|true|9".into(),
            "no handler|500|Protocol handler not found||false|0".into(),
        ]
    );
    // The first four share a socket (the failed one closes it); each timeout has its own; the
    // last two share one again.
    assert_eq!(connections.load(Ordering::SeqCst), 4);
}

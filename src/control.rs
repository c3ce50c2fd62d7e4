//! JMeter's remote stop: a UDP listener on 127.0.0.1 that takes `Shutdown` (graceful) and
//! `StopTestNow`, as `bin/shutdown.sh` and `bin/stoptest.sh` send them, and the sending side
//! (`rmeter shutdown`, `rmeter stoptest`).

use std::sync::Arc;

use crate::properties::Properties;
use crate::runtime::Stop;

/// Binds the first free port from `jmeterengine.nongui.port` to `jmeterengine.nongui.maxport`
/// (JMeter's 4445–4455) and serves it until the run ends. Returns the port, or None when the
/// port property is 0 (JMeter: disabled) or no port is free.
pub async fn listen(props: &Properties, stop: Arc<Stop>) -> Option<u16> {
    let first = props.int("jmeterengine.nongui.port", 4445);
    if first <= 0 {
        return None;
    }
    let last = props.int("jmeterengine.nongui.maxport", 4455).max(first);
    for port in first..=last {
        let Ok(port) = u16::try_from(port) else { break };
        let Ok(socket) = tokio::net::UdpSocket::bind(("127.0.0.1", port)).await else {
            continue;
        };
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 128];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                // JMeter accepts commands from the loopback address only.
                if !from.ip().is_loopback() {
                    continue;
                }
                match String::from_utf8_lossy(&buf[..n]).trim() {
                    "Shutdown" => {
                        tracing::info!("Command: Shutdown received from {from}");
                        stop.shutdown();
                    }
                    "StopTestNow" => {
                        tracing::info!("Command: StopTestNow received from {from}");
                        stop.stop_now();
                    }
                    other => {
                        tracing::warn!("Command: {other} received from {from} is not supported")
                    }
                }
            }
        });
        return Some(port);
    }
    None
}

/// Sends a command to a running test, as `shutdown.sh`/`stoptest.sh` do.
pub fn send(command: &str, port: u16) -> std::io::Result<()> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    socket.send_to(command.as_bytes(), ("127.0.0.1", port))?;
    Ok(())
}

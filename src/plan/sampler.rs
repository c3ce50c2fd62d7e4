//! Samplers other than HTTP: JMeter's Java Request running its `JavaTest` class, the Debug
//! Sampler, the Flow Control Action, the OS Process, Dummy and TCP samplers.

use super::diagnostic::DiagnosticKind;
use super::reader::Props;
use super::template::Template;

/// The class of JMeter's own test Java Request; other classes are Java code rmeter cannot run.
pub const JAVA_TEST_CLASS: &str = "org.apache.jmeter.protocol.java.test.JavaTest";

/// A Java Request with `org.apache.jmeter.protocol.java.test.JavaTest`: it sleeps and returns
/// what its arguments say. Every argument may hold `${...}` and is read at each sample.
#[derive(Debug)]
pub struct JavaTest {
    /// `Sleep_Time` (ms, default 100).
    pub sleep_time: Option<Template>,
    /// `Sleep_Mask` (default `0xff`): the sleep is `Sleep_Time + now % Sleep_Mask`.
    pub sleep_mask: Option<Template>,
    /// `Label`: replaces the sampler's name when not empty.
    pub label: Option<Template>,
    pub response_code: Option<Template>,
    pub response_message: Option<Template>,
    /// `Status`: `OK` (any case, the default) is a success.
    pub status: Option<Template>,
    /// `SamplerData`: its length is the sample's sent bytes.
    pub sampler_data: Option<Template>,
    /// `ResultData`: the response body.
    pub result_data: Option<Template>,
}

/// Reads a Java Request; `None` (reported) when its class is not `JavaTest`.
pub fn java_test(p: &mut Props) -> Option<JavaTest> {
    let class = p.text("classname").trim().to_string();
    if class != JAVA_TEST_CLASS {
        p.unsupported_option(
            "classname",
            &format!("the Java class `{class}` cannot run in rmeter; only `{JAVA_TEST_CLASS}` is implemented"),
        );
        return None;
    }
    let args = p
        .element
        .element("arguments")
        .map(super::data::arguments)
        .unwrap_or_default();
    let mut arg = |name: &str| {
        let value = args.iter().find(|(n, _)| n == name)?.1.clone();
        Some(p.builder.template(&p.path, &value))
    };
    Some(JavaTest {
        sleep_time: arg("Sleep_Time"),
        sleep_mask: arg("Sleep_Mask"),
        label: arg("Label"),
        response_code: arg("ResponseCode"),
        response_message: arg("ResponseMessage"),
        status: arg("Status"),
        sampler_data: arg("SamplerData"),
        result_data: arg("ResultData"),
    })
}

/// Java's `Long.decode`, which `JavaSamplerContext.getLongParameter` uses: decimal, `0x`/`#`
/// hexadecimal, or a leading `0` for octal, with an optional sign.
pub fn decode_long(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
        .or_else(|| digits.strip_prefix('#'))
    {
        i64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if negative { -value } else { value })
}

/// A Debug Sampler: its response lists the user's variables, and on request the properties.
#[derive(Debug)]
pub struct Debug {
    pub variables: bool,
    pub properties: bool,
}

pub fn debug(p: &mut Props) -> Debug {
    if p.bool("displaySystemProperties", false) {
        p.unsupported_option(
            "displaySystemProperties",
            "rmeter has no Java system properties to list",
        );
    }
    Debug {
        variables: p.bool("displayJMeterVariables", true),
        properties: p.bool("displayJMeterProperties", false),
    }
}

/// The Debug PostProcessor: adds a sub-result listing the sampler's properties, the variables
/// and the properties, as the flags say (a missing flag is false).
#[derive(Debug)]
pub struct DebugPost {
    pub name: String,
    pub sampler_properties: bool,
    pub variables: bool,
    pub properties: bool,
}

pub fn debug_post(p: &mut Props) -> DebugPost {
    if p.bool("displaySystemProperties", false) {
        p.unsupported_option(
            "displaySystemProperties",
            "rmeter has no Java system properties to list",
        );
    }
    DebugPost {
        name: p.element.name.clone(),
        sampler_properties: p.bool("displaySamplerProperties", false),
        variables: p.bool("displayJMeterVariables", false),
        properties: p.bool("displayJMeterProperties", false),
    }
}

/// JMeter's `AlphaNumericKeyComparator`, which orders the Debug Sampler's and Debug
/// PostProcessor's lines: runs of non-digits compare as text, runs of digits as numbers
/// (leading zeros ignored), a key with fewer runs first.
pub fn alphanumeric_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn runs(s: &str) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            let text_end = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let digits_end = rest[text_end..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(rest.len(), |i| text_end + i);
            out.push((&rest[..text_end], &rest[text_end..digits_end]));
            rest = &rest[digits_end..];
        }
        out
    }
    let (ra, rb) = (runs(a), runs(b));
    for ((ta, da), (tb, db)) in ra.iter().zip(&rb) {
        let by_text = ta.encode_utf16().cmp(tb.encode_utf16());
        if by_text != Ordering::Equal {
            return by_text;
        }
        match (da.is_empty(), db.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        let (na, nb) = (da.trim_start_matches('0'), db.trim_start_matches('0'));
        let by_number = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
        if by_number != Ordering::Equal {
            return by_number;
        }
    }
    ra.len().cmp(&rb.len())
}

/// What a Flow Control Action does (`ActionProcessor.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// 0: stop the thread, or with target "all threads" the test, gracefully.
    Stop,
    /// 1: pause for `duration` ms.
    Pause,
    /// 2: stop the test now.
    StopNow,
    /// 3: go to the start of the thread's next iteration.
    StartNextLoop,
    /// 4: go to the next iteration of the innermost loop.
    NextIteration,
    /// 5: leave the innermost loop.
    BreakLoop,
}

/// A Flow Control Action (`TestAction`): it writes no sample.
#[derive(Debug)]
pub struct FlowAction {
    pub action: Action,
    /// `ActionProcessor.target` 2: every thread of the test (for stop and stop now).
    pub all_threads: bool,
    /// The pause in ms; may hold `${...}`.
    pub duration: Template,
}

pub fn flow_action(p: &mut Props) -> Option<FlowAction> {
    let action = match p.int("ActionProcessor.action", 1) {
        0 => Action::Stop,
        1 => Action::Pause,
        2 => Action::StopNow,
        3 => Action::StartNextLoop,
        4 => Action::NextIteration,
        5 => Action::BreakLoop,
        other => {
            p.error(DiagnosticKind::BadValue {
                prop: "ActionProcessor.action".into(),
                expected: "0 (stop), 1 (pause), 2 (stop now), 3 (start next thread loop), 4 (next iteration of current loop) or 5 (break current loop)",
                value: other.to_string(),
            });
            return None;
        }
    };
    let all_threads = match p.int("ActionProcessor.target", 0) {
        0 => false,
        2 => true,
        other => {
            p.error(DiagnosticKind::BadValue {
                prop: "ActionProcessor.target".into(),
                expected: "0 (current thread) or 2 (all threads)",
                value: other.to_string(),
            });
            false
        }
    };
    Some(FlowAction {
        action,
        all_threads,
        duration: p.template("ActionProcessor.duration"),
    })
}

/// An OS Process Sampler (`SystemSampler`): runs a program with arguments, environment and
/// working directory, as JMeter does; the exit code is the response code.
#[derive(Debug)]
pub struct SystemCommand {
    pub command: Template,
    pub arguments: Vec<Template>,
    pub environment: Vec<(String, Template)>,
    /// Empty: the working directory of the run.
    pub directory: Template,
    pub check_return_code: bool,
    pub expected_return_code: i32,
    /// 0: no limit.
    pub timeout: std::time::Duration,
    /// Files for standard input, output and error; empty: none (output is the response).
    pub stdin: Template,
    pub stdout: Template,
    pub stderr: Template,
}

pub fn system_command(p: &mut Props) -> SystemCommand {
    let list = |p: &mut Props, name: &str| -> Vec<(String, String)> {
        p.element
            .element(name)
            .map(super::data::argument_list)
            .unwrap_or_default()
    };
    let arguments = list(p, "SystemSampler.arguments")
        .into_iter()
        .map(|(_, value)| p.builder.template(&p.path, &value))
        .collect();
    let environment = list(p, "SystemSampler.environment")
        .into_iter()
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (name, p.builder.template(&p.path, &value)))
        .collect();
    SystemCommand {
        command: p.template("SystemSampler.command"),
        arguments,
        environment,
        directory: p.template("SystemSampler.directory"),
        check_return_code: p.bool("SystemSampler.checkReturnCode", false),
        expected_return_code: p.int("SystemSampler.expectedReturnCode", 0) as i32,
        timeout: std::time::Duration::from_millis(p.int("SystemSampler.timeout", 0).max(0) as u64),
        stdin: p.template("SystemSampler.stdin"),
        stdout: p.template("SystemSampler.stdout"),
        stderr: p.template("SystemSampler.stderr"),
    }
}

/// The jmeter-plugins Dummy Sampler: a result made of its settings, after waiting the response
/// time when "waiting" is set.
#[derive(Debug)]
pub struct Dummy {
    pub success: bool,
    pub waiting: bool,
    pub response_code: Template,
    pub response_message: Template,
    pub response_data: Template,
    pub response_time: Template,
    pub latency: Template,
    pub connect: Template,
    pub url: Template,
    /// `REQUEST_DATA`: the sample's request data.
    pub request_data: Template,
    /// `RESULT_CLASS` `org.apache.jmeter.protocol.http.sampler.HTTPSampleResult`: an HTTP result.
    pub http: bool,
}

pub fn dummy(p: &mut Props) -> Dummy {
    Dummy {
        success: p.bool("SUCCESFULL", false),
        waiting: p.bool("WAITING", false),
        response_code: p.template("RESPONSE_CODE"),
        response_message: p.template("RESPONSE_MESSAGE"),
        response_data: p.template("RESPONSE_DATA"),
        response_time: p.template("RESPONSE_TIME"),
        latency: p.template("LATENCY"),
        connect: p.template("CONNECT"),
        url: p.template("URL"),
        request_data: p.template("REQUEST_DATA"),
        http: p.text("RESULT_CLASS").trim().ends_with("HTTPSampleResult"),
    }
}

/// JMeter's TCP Sampler, with the client class and the `tcp.*` properties resolved at build.
#[derive(Debug)]
pub struct Tcp {
    pub server: Template,
    pub port: Template,
    pub client: TcpClient,
    /// The end-of-line (text) or end-of-message (binary) byte; `None`: read to the end.
    pub eol: Option<u8>,
    /// `TCPSampler.EolByte` as JMeter prints it in the request data (0 when unset).
    pub eol_setting: i64,
    pub reuse: bool,
    pub close: bool,
    pub nodelay: bool,
    /// Read timeout in ms (0: none).
    pub timeout: Template,
    /// Connect timeout in ms (0: none).
    pub connect_timeout: Template,
    pub so_linger: Option<i64>,
    pub request: Template,
    /// `ConfigTestElement.username`/`password`: part of the connection's key only.
    pub username: String,
    pub password: String,
    /// `tcp.status.prefix`/`suffix` and the `tcp.status.properties` table (`None`: no file).
    pub status: Option<TcpStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpClient {
    /// `TCPClientImpl`: text, UTF-8.
    Text,
    /// `BinaryTCPClientImpl`: hex in and out.
    Binary,
    /// `LengthPrefixedBinaryTCPClientImpl`: hex with a big-endian length prefix of 2 or 4 bytes.
    LengthPrefixed(usize),
    /// A class JMeter would not find: "Protocol handler not found".
    Missing,
}

#[derive(Debug)]
pub struct TcpStatus {
    pub prefix: String,
    pub suffix: String,
    pub messages: Option<Vec<(String, String)>>,
}

/// A JMeter integer property: a number, else `default`.
fn int_prop(props: &crate::properties::Properties, name: &str, default: i64) -> i64 {
    props
        .get(name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// JMeter's `setEolByte`: -128..127 is a byte, anything else no end byte.
fn end_byte(value: i64) -> Option<u8> {
    (-128..=127).contains(&value).then_some(value as i8 as u8)
}

pub fn tcp(p: &mut Props, props: &crate::properties::Properties) -> Option<Tcp> {
    for prop in [
        "TCPSampler.classname",
        "TCPSampler.EolByte",
        "TCPSampler.soLinger",
    ] {
        if p.text(prop).contains("${") {
            p.unsupported_option(prop, "a value built from variables is not supported yet");
            return None;
        }
    }
    let class = match p.text("TCPSampler.classname").trim() {
        "" => props
            .get("tcp.handler")
            .unwrap_or_else(|| "TCPClientImpl".into()),
        other => other.to_string(),
    };
    let class = class
        .trim()
        .trim_start_matches("org.apache.jmeter.protocol.tcp.sampler.")
        .to_string();
    let client = match class.as_str() {
        "TCPClientImpl" => TcpClient::Text,
        "BinaryTCPClientImpl" => TcpClient::Binary,
        "LengthPrefixedBinaryTCPClientImpl" => {
            match int_prop(props, "tcp.binarylength.prefix.length", 2) {
                n @ (2 | 4) => TcpClient::LengthPrefixed(n as usize),
                n => {
                    p.error(DiagnosticKind::BadValue {
                        prop: "tcp.binarylength.prefix.length".into(),
                        expected: "2 or 4",
                        value: n.to_string(),
                    });
                    return None;
                }
            }
        }
        // JMeter finds no class: each sample fails.
        _ => TcpClient::Missing,
    };
    if props
        .get("tcp.charset")
        .is_some_and(|c| !c.trim().is_empty() && !c.trim().eq_ignore_ascii_case("UTF-8"))
    {
        p.unsupported_option("tcp.charset", "rmeter's TCP text client speaks UTF-8 only");
        return None;
    }
    // The client's own property, then the element's setting when it has one.
    let mut eol = match client {
        TcpClient::Text => end_byte(int_prop(props, "tcp.eolByte", 1000)),
        TcpClient::Binary => end_byte(int_prop(props, "tcp.BinaryTCPClient.eomByte", 1000)),
        TcpClient::LengthPrefixed(_) | TcpClient::Missing => None,
    };
    let eol_text = p.text("TCPSampler.EolByte").to_string();
    let eol_setting = eol_text.trim().parse().unwrap_or(0);
    // JMeter's length-prefixed client refuses an end byte (and logs it).
    if !eol_text.is_empty() && !matches!(client, TcpClient::LengthPrefixed(_)) {
        eol = end_byte(eol_setting);
    }
    let so_linger = (!p.text("TCPSampler.soLinger").is_empty())
        .then(|| p.text("TCPSampler.soLinger").trim().parse().unwrap_or(0));
    if so_linger.is_some_and(|n| n > 0) {
        p.unsupported_option(
            "TCPSampler.soLinger",
            "a lingering close (SO_LINGER above 0) would block a worker thread; 0 is supported",
        );
        return None;
    }
    let status = props
        .get("tcp.status.prefix")
        .filter(|prefix| !prefix.is_empty())
        .map(|prefix| TcpStatus {
            prefix,
            suffix: props.get("tcp.status.suffix").unwrap_or_default(),
            messages: props
                .get("tcp.status.properties")
                .filter(|f| !f.trim().is_empty())
                .and_then(|f| std::fs::read_to_string(f.trim()).ok())
                .map(|text| crate::properties::parse_properties(&text)),
        });
    Some(Tcp {
        server: p.template("TCPSampler.server"),
        port: p.template("TCPSampler.port"),
        client,
        eol,
        eol_setting,
        // JMeter: a missing re-use setting is true.
        reuse: p.bool("TCPSampler.reUseConnection", true),
        close: p.bool("TCPSampler.closeConnection", false),
        nodelay: p.bool("TCPSampler.nodelay", false),
        timeout: p.template("TCPSampler.timeout"),
        connect_timeout: p.template("TCPSampler.ctimeout"),
        so_linger,
        request: p.template("TCPSampler.request"),
        username: p.text("ConfigTestElement.username").to_string(),
        password: p.text("ConfigTestElement.password").to_string(),
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_decode_as_java() {
        assert_eq!(decode_long("100"), Some(100));
        assert_eq!(decode_long(" 0xFF "), Some(255));
        assert_eq!(decode_long("#10"), Some(16));
        assert_eq!(decode_long("010"), Some(8));
        assert_eq!(decode_long("-5"), Some(-5));
        assert_eq!(decode_long("0"), Some(0));
        assert_eq!(decode_long("x"), None);
        assert_eq!(decode_long(""), None);
    }

    /// JMeter's `TestAlphaNumericKeyComparator` pairs.
    #[test]
    fn alphanumeric_keys() {
        for (high, low) in [
            ("a", "1"),
            ("abc[23]", "abc[2]"),
            ("a10", "a1"),
            ("2", "01"),
            ("0010", "000005"),
            ("a10", "a2"),
            ("z", "10000"),
            ("123_z", "123_a"),
            ("abc", ""),
            ("number1", "number"),
            ("789b", "789"),
            ("0xcafebabe", "0x8664"),
            ("abc_0000", "abc_"),
        ] {
            assert_eq!(
                super::alphanumeric_order(high, low),
                std::cmp::Ordering::Greater,
                "{high} > {low}"
            );
            assert_eq!(
                super::alphanumeric_order(low, high),
                std::cmp::Ordering::Less,
                "{low} < {high}"
            );
        }
        for (a, b) in [
            ("abc-001", "abc-1"),
            ("007", "7"),
            ("0000", "0"),
            ("abc|000", "abc|0"),
        ] {
            assert_eq!(
                super::alphanumeric_order(a, b),
                std::cmp::Ordering::Equal,
                "{a} = {b}"
            );
        }
    }
}

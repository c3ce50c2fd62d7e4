//! Samplers other than HTTP: JMeter's Java Request running its `JavaTest` class, the Debug
//! Sampler and the Flow Control Action.

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
        http: p.text("RESULT_CLASS").trim().ends_with("HTTPSampleResult"),
    }
}

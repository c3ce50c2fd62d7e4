//! Result listeners (`ResultCollector` with a file name) and the save configuration that decides
//! which JTL columns a result file has (reference §1.1, §1.9).

use super::reader::Props;
use super::template::Template;
use crate::jmx::PropValue;
use crate::properties::Properties;

/// Which fields a result file saves. The `-l` file takes them from properties, a listener in the
/// plan from its `saveConfig`, where a missing tag means false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveConfig {
    pub xml: bool,
    pub field_names: bool,
    pub timestamp: bool,
    pub time: bool,
    pub label: bool,
    pub code: bool,
    pub message: bool,
    pub thread_name: bool,
    pub data_type: bool,
    pub success: bool,
    pub failure_message: bool,
    pub bytes: bool,
    pub sent_bytes: bool,
    pub thread_counts: bool,
    pub url: bool,
    pub filename: bool,
    pub latency: bool,
    pub encoding: bool,
    pub sample_count: bool,
    pub hostname: bool,
    pub idle_time: bool,
    pub connect_time: bool,
    pub subresults: bool,
    /// XML only: `<assertionResult>` children.
    pub assertions: bool,
    /// XML only: the response body (`<responseData>`).
    pub response_data: bool,
    /// XML only: the response body and sampler data of failed samples.
    pub response_data_on_error: bool,
    /// XML only: `<cookies>`, `<method>`, `<queryString>`, `<redirectLocation>`.
    pub sampler_data: bool,
    pub request_headers: bool,
    pub response_headers: bool,
}

impl SaveConfig {
    /// The `-l` file's configuration: `jmeter.save.saveservice.*` with JMeter's code defaults.
    pub fn from_properties(props: &Properties) -> SaveConfig {
        let flag = |name: &str, default: bool| {
            props.bool(&format!("jmeter.save.saveservice.{name}"), default)
        };
        let timestamp_format = props
            .get("jmeter.save.saveservice.timestamp_format")
            .unwrap_or_else(|| "ms".into());
        SaveConfig {
            xml: props
                .get("jmeter.save.saveservice.output_format")
                .is_some_and(|f| f.trim().eq_ignore_ascii_case("xml")),
            field_names: flag("print_field_names", true),
            timestamp: !timestamp_format.trim().eq_ignore_ascii_case("none"),
            time: flag("time", true),
            label: flag("label", true),
            code: flag("response_code", true),
            message: flag("response_message", true),
            thread_name: flag("thread_name", true),
            data_type: flag("data_type", true),
            success: flag("successful", true),
            failure_message: flag("assertion_results_failure_message", true),
            bytes: flag("bytes", true),
            sent_bytes: flag("sent_bytes", true),
            thread_counts: flag("thread_counts", true),
            url: flag("url", true),
            filename: flag("filename", false),
            latency: flag("latency", true),
            encoding: flag("encoding", false),
            sample_count: flag("sample_count", false),
            hostname: flag("hostname", false),
            idle_time: flag("idle_time", true),
            connect_time: flag("connect_time", true),
            subresults: flag("subresults", true),
            assertions: flag("assertions", true),
            response_data: flag("response_data", false),
            response_data_on_error: flag("response_data.on_error", false),
            sampler_data: flag("samplerData", false),
            request_headers: flag("requestHeaders", false),
            response_headers: flag("responseHeaders", false),
        }
    }

    /// A listener's `<objProp><name>saveConfig</name>…`; a missing tag means false.
    pub fn from_object(fields: &[(String, String)]) -> SaveConfig {
        let flag = |name: &str| {
            fields
                .iter()
                .any(|(k, v)| k == name && v.trim().eq_ignore_ascii_case("true"))
        };
        SaveConfig {
            xml: flag("xml"),
            field_names: flag("fieldNames"),
            timestamp: flag("timestamp"),
            time: flag("time"),
            label: flag("label"),
            code: flag("code"),
            message: flag("message"),
            thread_name: flag("threadName"),
            data_type: flag("dataType"),
            success: flag("success"),
            failure_message: flag("saveAssertionResultsFailureMessage"),
            bytes: flag("bytes"),
            sent_bytes: flag("sentBytes"),
            thread_counts: flag("threadCounts"),
            url: flag("url"),
            filename: flag("fileName"),
            latency: flag("latency"),
            encoding: flag("encoding"),
            sample_count: flag("sampleCount"),
            hostname: flag("hostname"),
            idle_time: flag("idleTime"),
            connect_time: flag("connectTime"),
            subresults: flag("subresults"),
            assertions: flag("assertions"),
            response_data: flag("responseData"),
            response_data_on_error: flag("responseDataOnError"),
            sampler_data: flag("samplerData"),
            request_headers: flag("requestHeaders"),
            response_headers: flag("responseHeaders"),
        }
    }
}

impl SaveConfig {
    /// True when a file with this configuration needs [`crate::sample::Details`]: only XML
    /// files write them, as in JMeter; `functional_mode` saves response and sampler data.
    pub fn needs_details(&self, functional_mode: bool) -> bool {
        self.xml
            && (functional_mode
                || self.response_data
                || self.response_data_on_error
                || self.sampler_data
                || self.request_headers
                || self.response_headers)
    }
}

/// A `ResultCollector` that writes a file.
#[derive(Debug, Clone)]
pub struct Listener {
    pub path_in_plan: super::ElementPath,
    /// After `${}` evaluation at test start.
    pub filename: String,
    pub save: SaveConfig,
    /// `ResultCollector.error_logging`: only failed samples.
    pub errors_only: bool,
    /// `ResultCollector.success_only_logging`: only successful samples.
    pub successes_only: bool,
}

/// Reads a result collector; the file name template is returned apart for evaluation at start.
pub fn result_collector(p: &mut Props<'_, '_>) -> (Template, Listener) {
    let filename = p.template("filename");
    let save = match p.element.prop("saveConfig") {
        Some(PropValue::Object { fields, .. }) => SaveConfig::from_object(fields),
        _ => SaveConfig::from_object(&[]),
    };
    let listener = Listener {
        path_in_plan: p.path.clone(),
        filename: String::new(),
        save,
        errors_only: p.bool("ResultCollector.error_logging", false),
        successes_only: p.bool("ResultCollector.success_only_logging", false),
    };
    (filename, listener)
}

//! XML JTL rows as JMeter's `SampleResultConverter` writes them (reference §1.8): `<sample>` or
//! `<httpSample>` with attributes in a fixed order, each only when its save flag is on, nested
//! sub-results indented by two spaces, `<assertionResult>` children, and `<java.net.URL>`.

use std::fmt::Write as _;

use crate::plan::listener::SaveConfig;
use crate::sample::Sample;

/// What a file starts with.
pub const PROLOGUE: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testResults version=\"1.2\">\n";
/// What a file ends with.
pub const EPILOGUE: &str = "\n</testResults>\n";

/// Everything that shapes an XML result file.
#[derive(Debug, Clone)]
pub struct XmlFormat {
    pub save: SaveConfig,
    /// `TestPlan.functional_mode`: response and sampler data are saved for every sample.
    pub functional_mode: bool,
    pub sample_variables: Vec<String>,
    pub hostname: String,
}

impl XmlFormat {
    /// Appends one top-level sample (with its sub-results) and a line end.
    pub fn write_sample(&self, sample: &Sample, out: &mut String) {
        self.write_element(sample, &sample.variables, out, 0);
    }

    fn write_element(&self, sample: &Sample, variables: &[String], out: &mut String, depth: usize) {
        let s = &self.save;
        let indent = "  ".repeat(depth);
        let tag = if sample.http { "httpSample" } else { "sample" };
        let _ = write!(out, "{indent}<{tag}");
        let mut attr = |name: &str, value: &str| {
            let _ = write!(out, " {name}=\"{}\"", escape(value));
        };
        if s.time {
            attr("t", &sample.elapsed.to_string());
        }
        if s.idle_time {
            attr("it", &sample.idle.to_string());
        }
        if s.latency {
            attr("lt", &sample.latency.to_string());
        }
        if s.connect_time {
            attr("ct", &sample.connect.to_string());
        }
        if s.timestamp {
            attr("ts", &sample.start_ms.to_string());
        }
        if s.success {
            attr("s", if sample.success { "true" } else { "false" });
        }
        if s.label {
            attr("lb", &sample.label);
        }
        if s.code {
            attr("rc", &sample.response_code);
        }
        if s.message {
            attr("rm", &sample.response_message);
        }
        if s.thread_name {
            attr("tn", &sample.thread_name);
        }
        if s.data_type {
            attr("dt", sample.data_type.as_str());
        }
        if s.encoding {
            // JMeter writes the encoding without a default, so often `de=""`.
            attr("de", &sample.encoding);
        }
        if s.bytes {
            attr("by", &sample.bytes.to_string());
        }
        if s.sent_bytes {
            attr("sby", &sample.sent_bytes.to_string());
        }
        if s.sample_count {
            attr("sc", "1");
            attr("ec", if sample.success { "0" } else { "1" });
        }
        if s.thread_counts {
            attr("ng", &sample.grp_threads.to_string());
            attr("na", &sample.all_threads.to_string());
        }
        if s.hostname {
            attr("hn", &self.hostname);
        }
        for (name, value) in self
            .sample_variables
            .iter()
            .zip(variables.iter().chain(std::iter::repeat(&String::new())))
        {
            attr(name, value);
        }
        let assertions = s.assertions && !sample.assertions.is_empty();
        let subresults = s.subresults && !sample.subresults.is_empty();
        let url = s.url && sample.http && sample.url.is_some();
        // SampleSaveConfiguration.saveResponseData / saveSamplerData.
        let data = s.response_data
            || self.functional_mode
            || (s.response_data_on_error && !sample.success);
        let sampler_data =
            s.sampler_data || self.functional_mode || (s.response_data_on_error && !sample.success);
        // A non-HTTP sample (a transaction) has empty headers and no data.
        let empty = crate::sample::Details::default();
        let kept = match &sample.details {
            Some(d) => Some(&**d),
            None if !sample.http => Some(&empty),
            None => None,
        };
        let details = kept.filter(|d| {
            s.response_headers
                || s.request_headers
                || data
                || (sampler_data && (sample.http || d.sampler_data.is_some()))
        });
        if !assertions && !subresults && !url && details.is_none() {
            out.push_str("/>\n");
            return;
        }
        out.push_str(">\n");
        if assertions {
            for a in &sample.assertions {
                let _ = write!(
                    out,
                    "{indent}  <assertionResult>\n{indent}    <name>{}</name>\n{indent}    <failure>{}</failure>\n{indent}    <error>{}</error>\n",
                    escape(&a.name),
                    a.failure,
                    a.error
                );
                if let Some(message) = &a.message {
                    let _ = writeln!(
                        out,
                        "{indent}    <failureMessage>{}</failureMessage>",
                        escape(message)
                    );
                }
                let _ = writeln!(out, "{indent}  </assertionResult>");
            }
        }
        if subresults {
            for sub in &sample.subresults {
                self.write_element(sub, variables, out, depth + 1);
            }
        }
        if let Some(d) = details {
            let mut string = |tag: &str, value: &str| {
                let _ = writeln!(
                    out,
                    "{indent}  <{tag} class=\"java.lang.String\">{}</{tag}>",
                    escape(value)
                );
            };
            if s.response_headers {
                string("responseHeader", &d.response_headers);
            }
            if s.request_headers {
                string("requestHeader", &d.request_headers);
            }
            if data {
                match sample.data_type {
                    crate::sample::DataType::Text => {
                        string("responseData", &String::from_utf8_lossy(&d.response_data))
                    }
                    other => string(
                        "responseData",
                        &format!(
                            "Non-TEXT response data, cannot record: ({})",
                            other.as_str()
                        ),
                    ),
                }
            }
            if let (true, false, Some(request)) = (sampler_data, sample.http, &d.sampler_data) {
                string("samplerData", request);
            }
            if sampler_data && sample.http {
                string("cookies", &d.cookies);
                string("method", &d.method);
                string("queryString", &d.query_string);
                if let Some(location) = &d.redirect_location {
                    string("redirectLocation", location);
                }
            }
        }
        if let (true, Some(url)) = (url, &sample.url) {
            let _ = writeln!(
                out,
                "{indent}  <java.net.URL>{}</java.net.URL>",
                escape(url)
            );
        }
        let _ = writeln!(out, "{indent}</{tag}>");
    }
}

/// XStream's escaping of text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xd;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::properties::Properties;
    use crate::sample::{AssertionResult, DataType};

    #[test]
    fn samples_nest_like_jmeter() {
        let save = SaveConfig::from_properties(&Properties::with_jmeter_defaults());
        let format = XmlFormat {
            save,
            functional_mode: false,
            sample_variables: Vec::new(),
            hostname: String::new(),
        };
        let mut child = Sample::new("GET /a".into(), Arc::from("Users 1-1"), 1_700_000_000_000);
        child.http = true;
        child.response_code = "200".into();
        child.response_message = "OK".into();
        child.url = Some("http://127.0.0.1/a?x=1&y=\"2\"".into());
        child.assertions.push(AssertionResult {
            name: "Body <ok>".into(),
            failure: false,
            error: false,
            message: None,
        });
        let mut parent = Sample::new("TX".into(), Arc::from("Users 1-1"), 1_700_000_000_000);
        parent.data_type = DataType::Empty;
        parent.response_message =
            "Number of samples in transaction : 1, number of failing samples : 0".into();
        parent.subresults.push(child);
        let mut out = String::new();
        format.write_sample(&parent, &mut out);
        assert_eq!(
            out,
            r#"<sample t="0" it="0" lt="0" ct="0" ts="1700000000000" s="true" lb="TX" rc="" rm="Number of samples in transaction : 1, number of failing samples : 0" tn="Users 1-1" dt="" by="0" sby="0" ng="0" na="0">
  <httpSample t="0" it="0" lt="0" ct="0" ts="1700000000000" s="true" lb="GET /a" rc="200" rm="OK" tn="Users 1-1" dt="text" by="0" sby="0" ng="0" na="0">
    <assertionResult>
      <name>Body &lt;ok&gt;</name>
      <failure>false</failure>
      <error>false</error>
    </assertionResult>
    <java.net.URL>http://127.0.0.1/a?x=1&amp;y=&quot;2&quot;</java.net.URL>
  </httpSample>
</sample>
"#
        );
    }

    #[test]
    fn headers_and_data_of_failed_samples() {
        let fields: Vec<(String, String)> = [
            "xml",
            "time",
            "success",
            "label",
            "code",
            "responseHeaders",
            "requestHeaders",
            "responseDataOnError",
            "url",
        ]
        .iter()
        .map(|f| (f.to_string(), "true".to_string()))
        .collect();
        let format = XmlFormat {
            save: SaveConfig::from_object(&fields),
            functional_mode: false,
            sample_variables: Vec::new(),
            hostname: String::new(),
        };
        let mut sample = Sample::new("login".into(), Arc::from("Users 1-1"), 0);
        sample.http = true;
        sample.success = false;
        sample.response_code = "404".into();
        sample.url = Some("http://h/login?a=1".into());
        sample.details = Some(Box::new(crate::sample::Details {
            response_headers: "HTTP/1.1 404 Not Found\nContent-Type: text/html\n".into(),
            request_headers: "Connection: keep-alive\n".into(),
            response_data: b"<b>gone</b>".to_vec(),
            cookies: "sid=1".into(),
            method: "GET".into(),
            query_string: "a=1".into(),
            redirect_location: None,
            sampler_data: None,
        }));
        let mut out = String::new();
        format.write_sample(&sample, &mut out);
        assert_eq!(
            out,
            r#"<httpSample t="0" s="false" lb="login" rc="404">
  <responseHeader class="java.lang.String">HTTP/1.1 404 Not Found
Content-Type: text/html
</responseHeader>
  <requestHeader class="java.lang.String">Connection: keep-alive
</requestHeader>
  <responseData class="java.lang.String">&lt;b&gt;gone&lt;/b&gt;</responseData>
  <cookies class="java.lang.String">sid=1</cookies>
  <method class="java.lang.String">GET</method>
  <queryString class="java.lang.String">a=1</queryString>
  <java.net.URL>http://h/login?a=1</java.net.URL>
</httpSample>
"#
        );
        // A success saves the headers but no data.
        sample.success = true;
        let mut out = String::new();
        format.write_sample(&sample, &mut out);
        assert!(
            out.contains("<responseHeader") && !out.contains("<responseData"),
            "{out}"
        );
        assert!(!out.contains("<method"), "{out}");
    }
}

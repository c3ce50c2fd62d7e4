//! [`Sample`]: the one record that leaves the runtime, a JMeter `SampleResult` in JTL terms.

use std::sync::Arc;

/// One result row (plus its sub-results), with every JTL field measured as JMeter defines it
/// (reference §1.7). Times are milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Start of the sample, epoch ms.
    pub start_ms: i64,
    /// End of the sample, epoch ms.
    pub end_ms: i64,
    /// `end − start − idle`.
    pub elapsed: u64,
    /// Time to the first response byte, connect included.
    pub latency: u64,
    /// Time to open the connection (TLS included); 0 when a kept-alive connection was reused.
    pub connect: u64,
    pub idle: u64,
    pub label: String,
    pub response_code: String,
    pub response_message: String,
    pub thread_name: Arc<str>,
    pub data_type: DataType,
    pub success: bool,
    /// The first failing assertion's message, or empty.
    pub failure_message: String,
    /// Received bytes: headers + body as they came over the wire, sub-results included.
    pub bytes: u64,
    pub sent_bytes: u64,
    pub grp_threads: u32,
    pub all_threads: u32,
    /// `None` is written as `null` (non-HTTP samplers, transactions).
    pub url: Option<String>,
    pub encoding: String,
    pub subresults: Vec<Sample>,
    /// A Transaction Controller's sample: the summariser and reports leave it out.
    pub is_transaction: bool,
    /// Indexes of the plan's listeners that receive this sample (the `-l` file gets all).
    pub listeners: Arc<[u16]>,
    /// Values of the `sample_variables` property's variables, in order.
    pub variables: Vec<String>,
    /// The assertions that ran on this sample, for the XML JTL's `<assertionResult>`.
    pub assertions: Vec<AssertionResult>,
    /// An HTTP result: written as `<httpSample>` in XML, with its URL.
    pub http: bool,
    /// Headers, body and request data, kept only when an XML result file saves them.
    pub details: Option<Box<Details>>,
}

/// What JMeter's XML JTL can save besides the attributes (reference §1.8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    /// Status line and headers, one per line (`HTTP/1.1 200 OK\nContent-Type: ...\n`).
    pub response_headers: String,
    /// The request headers sent, the `Cookie` header excepted (JMeter keeps it in `cookies`).
    pub request_headers: String,
    /// The (decoded) response body.
    pub response_data: Vec<u8>,
    /// The `Cookie` header value sent.
    pub cookies: String,
    pub method: String,
    /// The URL's query for requests without a body, else the body sent.
    pub query_string: String,
    /// The `Location` of a redirect response.
    pub redirect_location: Option<String>,
    /// A non-HTTP sampler's request data (`samplerData`), when it has some.
    pub sampler_data: Option<String>,
}

/// One assertion's outcome, as JMeter's `AssertionResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionResult {
    pub name: String,
    pub failure: bool,
    pub error: bool,
    /// `None` when the assertion set no message (most assertions when they pass).
    pub message: Option<String>,
}

/// The `dataType` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    Text,
    Bin,
    /// Transaction Controller samples have an empty data type.
    Empty,
}

impl DataType {
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Text => "text",
            DataType::Bin => "bin",
            DataType::Empty => "",
        }
    }
}

impl Sample {
    /// A sample with the given label and thread, everything else empty; the runtime fills it in.
    pub fn new(label: String, thread_name: Arc<str>, start_ms: i64) -> Sample {
        Sample {
            start_ms,
            end_ms: start_ms,
            elapsed: 0,
            latency: 0,
            connect: 0,
            idle: 0,
            label,
            response_code: String::new(),
            response_message: String::new(),
            thread_name,
            data_type: DataType::Text,
            success: true,
            failure_message: String::new(),
            bytes: 0,
            sent_bytes: 0,
            grp_threads: 0,
            all_threads: 0,
            url: None,
            encoding: String::new(),
            subresults: Vec::new(),
            is_transaction: false,
            listeners: Arc::from([]),
            variables: Vec::new(),
            assertions: Vec::new(),
            http: false,
            details: None,
        }
    }
}

//! JMeter's `${__name(...)}` functions.
//!
//! [`Function`] is the closed list of functions rmeter implements; the compiler in `template.rs`
//! maps a name to it once, and [`call`] evaluates a call with its already-compiled arguments.
//! Functions reach the virtual user's world only through [`Env`] (properties, thread identity,
//! random numbers, counters, the clock), so they stay plain code that tests can drive.
//! Behaviour follows JMeter 5.6 (`src/functions/.../functions/*.java`); each arm says where it differs.

use std::fmt::Write as _;

use super::java_time::{self, DatePattern, DateTimeParts};
use super::template::{Context, FuncCall};
use crate::properties::Properties;

/// What a function may read or change besides variables.
pub trait Env {
    fn props(&self) -> &Properties;
    /// 1-based thread number within its group.
    fn thread_num(&self) -> u32;
    fn thread_group_name(&self) -> &str;
    fn sampler_name(&self) -> &str;
    fn test_plan_name(&self) -> &str;
    fn rng(&mut self) -> &mut fastrand::Rng;
    /// `__counter(TRUE)`: this user's counter of this call site, post-incremented, from 1.
    fn user_counter(&mut self, slot: usize) -> u64;
    /// `__counter(FALSE)`: the run-wide counter of this call site, from 1.
    fn global_counter(&self, slot: usize) -> u64;
    fn machine_name(&self) -> &str;
    fn machine_ip(&self) -> &str;
    fn now_millis(&self) -> i64;
    fn utc_offset_seconds(&self) -> i32;
    /// The user's iteration of its thread group, from 1 (`vars.getIteration()`); 0 before the
    /// first.
    fn iteration(&self) -> u64 {
        0
    }
    /// `__StringFromFile`: the next line of `file` for call site `slot`; `None` on error.
    fn string_from_file(&mut self, _slot: usize, _file: &str) -> Option<String> {
        None
    }
    /// `__CSVRead(file, column | next | *alias)`.
    fn csv_read(&mut self, _file: &str, _column: &str) -> String {
        String::new()
    }
    /// `__XPath(file, query)`: the next selected node's value, shared by the run.
    fn xpath_next(&mut self, _file: &str, _query: &str) -> String {
        String::new()
    }
    /// A Compare Assertion's list of (filtered content, elapsed ms) for this user.
    fn compare_history(&mut self, _slot: usize) -> Option<&mut Vec<(String, u64)>> {
        None
    }
    /// The response of the user's previous sample (`__regexFunction`), when the plan keeps it.
    fn previous_response(&self) -> Option<&str> {
        None
    }
}

macro_rules! functions {
    ($($variant:ident => $name:literal,)*) => {
        /// The functions rmeter implements.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Function { $($variant,)* }

        impl Function {
            pub const ALL: &'static [Function] = &[$(Function::$variant,)*];

            pub fn from_name(name: &str) -> Option<Function> {
                match name {
                    $($name => Some(Function::$variant),)*
                    _ => None,
                }
            }

            pub fn name(self) -> &'static str {
                match self { $(Function::$variant => $name,)* }
            }
        }
    };
}

functions! {
    P => "__P",
    Property => "__property",
    SetProperty => "__setProperty",
    IsPropDefined => "__isPropDefined",
    IsVarDefined => "__isVarDefined",
    Random => "__Random",
    RandomString => "__RandomString",
    RandomFromMultipleVars => "__RandomFromMultipleVars",
    Time => "__time",
    TimeShift => "__timeShift",
    Uuid => "__UUID",
    ThreadNum => "__threadNum",
    ThreadGroupName => "__threadGroupName",
    SamplerName => "__samplerName",
    TestPlanName => "__TestPlanName",
    Counter => "__counter",
    IntSum => "__intSum",
    LongSum => "__longSum",
    V => "__V",
    UrlEncode => "__urlencode",
    UrlDecode => "__urldecode",
    EscapeHtml => "__escapeHtml",
    UnescapeHtml => "__unescapeHtml",
    EscapeXml => "__escapeXml",
    Char => "__char",
    ChangeCase => "__changeCase",
    MachineName => "__machineName",
    MachineIp => "__machineIP",
    Log => "__log",
    Logn => "__logn",
    Split => "__split",
    JavaScript => "__javaScript",
    Jexl3 => "__jexl3",
    Jexl2 => "__jexl2",
    Groovy => "__groovy",
    Digest => "__digest",
    Eval => "__eval",
    EvalVar => "__evalVar",
    StringFromFile => "__StringFromFile",
    CsvRead => "__CSVRead",
    EscapeOroRegexpChars => "__escapeOroRegexpChars",
    BeanShell => "__BeanShell",
    Base64Encode => "__base64Encode",
    Base64Decode => "__base64Decode",
    FileToString => "__FileToString",
    Env => "__env",
    StrLen => "__strLen",
    Substring => "__substring",
    LowerCase => "__lowerCase",
    UpperCase => "__upperCase",
    StrReplace => "__strReplace",
    RegexFunction => "__regexFunction",
    XPath => "__XPath",
    DateTimeConvert => "__dateTimeConvert",
    RandomDate => "__RandomDate",
}

/// Evaluates a call. Functions never fail a sample: like JMeter, a bad argument gives an empty or
/// default value and a log line.
pub fn call(call: &FuncCall, ctx: &mut dyn Context) -> String {
    let args: Vec<String> = call.args.iter().map(|a| a.render(ctx)).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let (value, store_in) = match call.function {
        Function::P => {
            let default = args.get(1).map(String::as_str).unwrap_or("1");
            (
                ctx.env()
                    .props()
                    .get(arg(0).trim())
                    .unwrap_or_else(|| default.to_string()),
                None,
            )
        }
        Function::Property => {
            let name = arg(0).trim();
            let default = args.get(2).map(String::as_str).unwrap_or(name);
            (
                ctx.env()
                    .props()
                    .get(name)
                    .unwrap_or_else(|| default.to_string()),
                args.get(1),
            )
        }
        Function::SetProperty => {
            let old = ctx.env().props().set(arg(0), arg(1));
            let return_old = arg(2).trim().eq_ignore_ascii_case("true");
            (
                if return_old {
                    old.unwrap_or_default()
                } else {
                    String::new()
                },
                None,
            )
        }
        Function::IsPropDefined => (ctx.env().props().get(arg(0)).is_some().to_string(), None),
        Function::IsVarDefined => (ctx.var_by_name(arg(0)).is_some().to_string(), None),
        Function::Random => {
            let (min, max) = (parse_long(arg(0)), parse_long(arg(1)));
            let value = match (min, max) {
                (Some(lo), Some(hi)) if lo <= hi => ctx.env().rng().i64(lo..=hi).to_string(),
                _ => String::new(),
            };
            (value, args.get(2))
        }
        Function::RandomString => {
            let len = parse_long(arg(0)).unwrap_or(0).clamp(0, 1 << 20) as usize;
            let chars: Vec<char> = if arg(1).is_empty() {
                ('a'..='z').chain('A'..='Z').chain('0'..='9').collect()
            } else {
                arg(1).chars().collect()
            };
            let rng = ctx.env().rng();
            let value = (0..len).map(|_| chars[rng.usize(..chars.len())]).collect();
            (value, args.get(2))
        }
        Function::RandomFromMultipleVars => {
            let names: Vec<&str> = arg(0).split('|').filter(|s| !s.is_empty()).collect();
            let value = if names.is_empty() {
                String::new()
            } else {
                let pick = names[ctx.env().rng().usize(..names.len())];
                ctx.var_by_name(pick).unwrap_or("").to_string()
            };
            (value, args.get(1))
        }
        Function::Time => {
            let env = ctx.env();
            let format = resolve_time_alias(env.props(), arg(0));
            let value =
                java_time::time_function_value(&format, env.now_millis(), env.utc_offset_seconds())
                    .unwrap_or_default();
            (value, args.get(1))
        }
        Function::TimeShift => (time_shift(ctx.env(), arg(0), arg(1), arg(2)), args.get(4)),
        Function::Uuid => (uuid_v4(ctx.env().rng()), None),
        Function::ThreadNum => (ctx.env().thread_num().to_string(), None),
        Function::ThreadGroupName => (ctx.env().thread_group_name().to_string(), None),
        Function::SamplerName => (ctx.env().sampler_name().to_string(), args.first()),
        Function::TestPlanName => (ctx.env().test_plan_name().to_string(), None),
        Function::Counter => {
            let per_user = arg(0).trim().eq_ignore_ascii_case("true");
            let env = ctx.env();
            let n = if per_user {
                env.user_counter(call.slot)
            } else {
                env.global_counter(call.slot)
            };
            (n.to_string(), args.get(1))
        }
        Function::IntSum | Function::LongSum => {
            // JMeter: the last argument names a variable when it is not a number.
            let (numbers, var) = match args.split_last() {
                Some((last, rest)) if args.len() > 2 && parse_long(last).is_none() => {
                    (rest, Some(last))
                }
                _ => (&args[..], None),
            };
            let sum = numbers.iter().try_fold(0i64, |acc, a| {
                let n = parse_long(a)?;
                if call.function == Function::IntSum {
                    Some((acc as i32).wrapping_add(n as i32) as i64)
                } else {
                    Some(acc.wrapping_add(n))
                }
            });
            (sum.map(|s| s.to_string()).unwrap_or_default(), var)
        }
        Function::V => {
            let value = match ctx.var_by_name(arg(0)) {
                Some(v) => v.to_string(),
                None => args
                    .get(1)
                    .cloned()
                    .unwrap_or_else(|| format!("${{{}}}", arg(0))),
            };
            (value, None)
        }
        Function::UrlEncode => (
            url::form_urlencoded::byte_serialize(arg(0).as_bytes()).collect(),
            None,
        ),
        Function::UrlDecode => (url_decode(arg(0)), None),
        // The jmeter-plugins functions: the value, then an optional variable to store it in.
        Function::Base64Encode => (base64_encode(arg(0).as_bytes()), args.get(1)),
        Function::Base64Decode => match base64_decode(arg(0)) {
            Some(bytes) => (String::from_utf8_lossy(&bytes).into_owned(), args.get(1)),
            None => {
                tracing::error!(target: "jmeter.functions", "__base64Decode: `{}` is not base64", arg(0));
                (String::new(), args.get(1))
            }
        },
        // JMeter: the file's whole text (UTF-8 unless an encoding is given), `**ERR**` when it
        // cannot be read; the third argument names a variable to store it in.
        Function::FileToString => {
            let encoding = arg(1).trim();
            let value = if !encoding.is_empty()
                && !matches!(encoding.to_ascii_lowercase().as_str(), "utf-8" | "utf8")
            {
                tracing::error!(target: "jmeter.functions", "__FileToString: only UTF-8 files are supported, not {encoding}");
                "**ERR**".to_string()
            } else {
                match std::fs::read(arg(0)) {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(e) => {
                        tracing::error!(target: "jmeter.functions", "__FileToString: cannot read {}: {e}", arg(0));
                        "**ERR**".to_string()
                    }
                }
            };
            (value, args.get(2))
        }
        Function::EscapeHtml => (escape_markup(arg(0), false), None),
        Function::EscapeXml => (escape_markup(arg(0), true), None),
        Function::UnescapeHtml => (unescape_html(arg(0)), None),
        Function::Char => (
            args.iter().filter_map(|a| parse_char_code(a)).collect(),
            None,
        ),
        // The jmeter-plugins string functions; the last argument names a variable to store in.
        Function::Env => {
            let value = std::env::var(arg(0)).unwrap_or_else(|_| arg(1).to_string());
            (value, args.get(2))
        }
        Function::StrLen => (arg(0).chars().count().to_string(), args.get(1)),
        Function::Substring => {
            // Java's `substring(begin[, end])`, on characters; out of range gives "".
            let chars: Vec<char> = arg(0).chars().collect();
            let begin = arg(1).trim().parse::<usize>().ok();
            let end = match arg(2).trim() {
                "" => Some(chars.len()),
                e => e.parse::<usize>().ok(),
            };
            let value = match (begin, end) {
                (Some(b), Some(e)) if b <= e && e <= chars.len() => chars[b..e].iter().collect(),
                _ => {
                    tracing::error!(target: "jmeter.functions", "__substring: indexes {} and {} do not fit `{}`", arg(1), arg(2), arg(0));
                    String::new()
                }
            };
            (value, args.get(3))
        }
        Function::LowerCase => (arg(0).to_lowercase(), args.get(1)),
        Function::UpperCase => (arg(0).to_uppercase(), args.get(1)),
        Function::StrReplace => {
            let value = if arg(1).is_empty() {
                arg(0).to_string()
            } else {
                arg(0).replace(arg(1), arg(2))
            };
            (value, args.get(3))
        }
        Function::ChangeCase => {
            let value = match arg(1).trim().to_ascii_uppercase().as_str() {
                "LOWER" => arg(0).to_lowercase(),
                "CAPITALIZE" => {
                    let mut chars = arg(0).chars();
                    chars
                        .next()
                        .map(|c| c.to_uppercase().chain(chars).collect())
                        .unwrap_or_default()
                }
                _ => arg(0).to_uppercase(),
            };
            (value, args.get(2))
        }
        Function::MachineName => (ctx.env().machine_name().to_string(), args.first()),
        Function::MachineIp => (ctx.env().machine_ip().to_string(), args.first()),
        Function::Log | Function::Logn => {
            let level = arg(1).trim().to_ascii_uppercase();
            let message = arg(0);
            match level.as_str() {
                "ERROR" | "FATAL_ERROR" => tracing::error!(target: "jmeter.functions", "{message}"),
                "WARN" => tracing::warn!(target: "jmeter.functions", "{message}"),
                "DEBUG" => tracing::debug!(target: "jmeter.functions", "{message}"),
                _ => tracing::info!(target: "jmeter.functions", "{message}"),
            }
            let value = if call.function == Function::Log {
                message.to_string()
            } else {
                String::new()
            };
            (value, None)
        }
        Function::JavaScript => {
            // JMeter runs Rhino/Nashorn; rmeter evaluates the JavaScript subset of `javascript.rs`.
            let value = match super::javascript::eval(arg(0)) {
                Ok(v) => super::javascript::to_string(&v),
                Err(e) => {
                    tracing::error!(target: "jmeter.functions", "__javaScript({}): {e}", arg(0));
                    String::new()
                }
            };
            (value, args.get(1))
        }
        Function::Jexl3 | Function::Jexl2 => {
            // JMeter runs Apache Commons JEXL; rmeter evaluates the expressions JEXL shares with
            // the JavaScript subset, with JEXL's word operators (`eq`, `and`, `not`...) mapped.
            let name = call.function.name();
            let value = match jexl_to_javascript(arg(0))
                .and_then(|js| super::javascript::eval(&js).map_err(|e| e.to_string()))
            {
                Ok(v) => super::javascript::to_string(&v),
                Err(e) => {
                    tracing::error!(target: "jmeter.functions", "{name}({}): {e}", arg(0));
                    String::new()
                }
            };
            (value, args.get(1))
        }
        Function::Digest => {
            // JMeter's `MessageDigest` names; the salt follows the text; an unknown algorithm is
            // logged and the call gives `null`.
            let mut text = arg(1).as_bytes().to_vec();
            text.extend_from_slice(arg(2).as_bytes());
            let digest = match arg(0).trim().to_ascii_uppercase().as_str() {
                "MD5" => Some(<md5::Md5 as md5::Digest>::digest(&text).to_vec()),
                "SHA-1" | "SHA1" | "SHA" => {
                    Some(<sha1::Sha1 as sha1::Digest>::digest(&text).to_vec())
                }
                "SHA-224" => Some(<sha2::Sha224 as sha2::Digest>::digest(&text).to_vec()),
                "SHA-256" => Some(<sha2::Sha256 as sha2::Digest>::digest(&text).to_vec()),
                "SHA-384" => Some(<sha2::Sha384 as sha2::Digest>::digest(&text).to_vec()),
                "SHA-512" => Some(<sha2::Sha512 as sha2::Digest>::digest(&text).to_vec()),
                other => {
                    tracing::error!(target: "jmeter.functions", "__digest: no such digest algorithm {other}");
                    None
                }
            };
            let value = match digest {
                Some(bytes) if arg(3).trim().eq_ignore_ascii_case("true") => {
                    hex(&bytes).to_ascii_uppercase()
                }
                Some(bytes) => hex(&bytes),
                None => "null".to_string(),
            };
            (value, args.get(4))
        }
        Function::StringFromFile => {
            // JMeter's error value when the file cannot be read.
            let value = ctx
                .env()
                .string_from_file(call.slot, arg(0).trim())
                .unwrap_or_else(|| "**ERR**".to_string());
            // Without a variable name JMeter stores the value as `StringFromFile_`.
            if args.len() < 2 {
                ctx.set_var("StringFromFile_", value.clone());
            }
            (value, args.get(1))
        }
        Function::CsvRead => (ctx.env().csv_read(arg(0).trim(), arg(1).trim()), None),
        Function::Eval => (eval_text(arg(0), ctx), None),
        Function::EvalVar => {
            let text = ctx.var_by_name(arg(0).trim()).unwrap_or("").to_string();
            (eval_text(&text, ctx), None)
        }
        Function::EscapeOroRegexpChars => {
            // ORO's `quotemeta`: a backslash before every character but letters, digits and `_`.
            let mut value = String::with_capacity(arg(0).len() * 2);
            for c in arg(0).chars() {
                if !(c.is_alphanumeric() || c == '_') {
                    value.push('\\');
                }
                value.push(c);
            }
            (value, args.get(1))
        }
        Function::Groovy | Function::BeanShell => {
            // JMeter runs a Groovy or BeanShell interpreter; rmeter evaluates the expressions
            // real plans put there: the JavaScript subset plus JMeter's `vars`, `props`, `ctx`
            // and `System.getenv` accessors. A null result is the empty string, as in JMeter.
            let name = call.function.name();
            let env = ctx.env();
            let thread = env.thread_num().saturating_sub(1);
            let iteration = env.iteration();
            let mut bind = |binding: Binding<'_>| -> Option<String> {
                match binding {
                    Binding::Var(n) => ctx.var_by_name(n).map(str::to_string),
                    Binding::Prop(n) => ctx.env().props().get(n),
                    Binding::Env(n) => std::env::var(n).ok(),
                    Binding::ThreadNum => Some(thread.to_string()),
                    Binding::Iteration => Some(iteration.to_string()),
                }
            };
            let value = match script_to_javascript(arg(0), &mut bind)
                .and_then(|js| super::javascript::eval(&js).map_err(|e| e.to_string()))
            {
                Ok(super::javascript::JsValue::Null | super::javascript::JsValue::Undefined) => {
                    String::new()
                }
                Ok(v) => super::javascript::to_string(&v),
                Err(e) => {
                    tracing::error!(target: "jmeter.functions", "{name}({}): {e}", arg(0));
                    String::new()
                }
            };
            (value, args.get(1))
        }
        Function::RegexFunction => (regex_function(&args, ctx), None),
        Function::XPath => (ctx.env().xpath_next(arg(0), arg(1)), None),
        Function::DateTimeConvert => {
            let value = date_time_convert(ctx.env(), arg(0), arg(1), arg(2));
            // JMeter stores only a successful conversion.
            let store = args.get(3).filter(|_| value.is_some());
            (value.unwrap_or_default(), store)
        }
        Function::RandomDate => {
            let value = random_date(ctx.env(), arg(0).trim(), arg(1).trim(), arg(2).trim());
            let store = args.get(4).filter(|_| value.is_some());
            (value.unwrap_or_default(), store)
        }
        Function::Split => {
            let delimiter = if args.len() > 2 && !arg(2).is_empty() {
                arg(2)
            } else {
                ","
            };
            let name = arg(1).to_string();
            let pieces: Vec<String> = arg(0).split(delimiter).map(str::to_string).collect();
            let n = pieces.len();
            for (i, piece) in pieces.into_iter().enumerate() {
                ctx.set_var(&format!("{name}_{}", i + 1), piece);
            }
            ctx.set_var(&format!("{name}_n"), n.to_string());
            (arg(0).to_string(), None)
        }
    };
    if let Some(var) = store_in.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        let var = var.to_string();
        ctx.set_var(&var, value.clone());
    }
    value
}

/// `__regexFunction(regex, template, matchNr, between, default, refName, inputVar)` on the
/// previous sample's response or a variable.
fn regex_function(args: &[String], ctx: &mut dyn Context) -> String {
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let number = if arg(2).is_empty() { "1" } else { arg(2) };
    let (between, default, refname) = (arg(3), arg(4), arg(5).trim());
    if !refname.is_empty() {
        ctx.set_var(refname, default.to_string());
    }
    let input = if arg(6).is_empty() {
        ctx.env().previous_response().map(str::to_string)
    } else {
        ctx.var_by_name(arg(6)).map(str::to_string)
    };
    let Some(input) = input.filter(|i| !i.is_empty()) else {
        return default.to_string();
    };
    let regex = cached_regex(arg(0));
    let matches: Vec<regex::Captures> = match &regex {
        Ok(regex) => regex.captures_iter(&input).collect(),
        Err(_) => Vec::new(),
    };
    if !refname.is_empty() {
        ctx.set_var(&format!("{refname}_matchNr"), matches.len().to_string());
    }
    if let Err(e) = regex {
        tracing::error!("__regexFunction: malformed regex pattern {}: {e}", arg(0));
        return String::new();
    }
    if matches.is_empty() {
        return default.to_string();
    }
    // `None`: all matches.
    let index = match number {
        "ALL" => None,
        "RAND" => Some(ctx.env().rng().usize(..matches.len())),
        n => match n.parse::<i64>() {
            Ok(n) if n as usize > matches.len() => return default.to_string(),
            Ok(n) => Some(usize::try_from(n - 1).unwrap_or(usize::MAX)),
            // A fraction of the match count, rounded: 1.0 is the last match.
            Err(_) => Some(
                n.trim()
                    .parse::<f32>()
                    .ok()
                    .and_then(|ratio| {
                        usize::try_from(
                            (((matches.len() as f32 * ratio) + 0.5) as i64).saturating_sub(1),
                        )
                        .ok()
                    })
                    .unwrap_or(usize::MAX),
            ),
        },
    };
    let template = super::extract::parse_group_template(arg(1));
    let mut render = |caps: &regex::Captures| -> String {
        if !refname.is_empty() {
            for i in 0..caps.len() {
                let group = caps.get(i).map_or("null", |m| m.as_str());
                ctx.set_var(&format!("{refname}_g{i}"), group.to_string());
            }
        }
        let value: String = template
            .iter()
            .map(|part| match part {
                super::extract::TemplatePart::Lit(s) => s.as_str(),
                super::extract::TemplatePart::Group(i) => {
                    caps.get(*i).map_or("null", |m| m.as_str())
                }
            })
            .collect();
        if !refname.is_empty() {
            ctx.set_var(refname, value.clone());
        }
        value
    };
    match index {
        None => matches.iter().map(render).collect::<Vec<_>>().join(between),
        Some(i) if i < matches.len() => render(&matches[i]),
        // JMeter throws here; the call gives nothing.
        Some(_) => {
            tracing::error!("__regexFunction: match number {number} is out of range");
            String::new()
        }
    }
}

thread_local! {
    /// `__regexFunction`'s compiled expressions, per worker thread (JMeter caches them too).
    static REGEXES: std::cell::RefCell<std::collections::HashMap<String, regex::Regex>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// A regex compiled once per worker thread and text (a `Regex` clone shares the compiled one).
pub(crate) fn cached_regex(source: &str) -> Result<regex::Regex, regex::Error> {
    REGEXES.with(|cache| {
        if let Some(regex) = cache.borrow().get(source) {
            return Ok(regex.clone());
        }
        let regex = regex::Regex::new(source)?;
        let mut cache = cache.borrow_mut();
        if cache.len() >= 400 {
            cache.clear();
        }
        cache.insert(source.to_string(), regex.clone());
        Ok(regex)
    })
}

/// `__dateTimeConvert(date, sourceFormat, targetFormat)`: an empty source format reads epoch
/// milliseconds; `None` on any error (JMeter logs it and returns "").
fn date_time_convert(env: &mut dyn Env, date: &str, source: &str, target: &str) -> Option<String> {
    let offset = env.utc_offset_seconds();
    let result = (|| {
        let target = DatePattern::compile(target)?;
        let millis = if source.is_empty() {
            date.parse::<i64>().map_err(|_| java_time::PatternError {
                message: format!("not a number: {date}"),
            })?
        } else {
            let source = DatePattern::compile(source)?;
            // java.time cannot print a time of day that the source date did not have.
            if target.has_time_of_day() && !source.has_time_of_day() {
                return Err(java_time::PatternError {
                    message: "Unsupported field: HourOfDay".into(),
                });
            }
            source.parse(date, offset)?.to_epoch_millis()
        };
        Ok::<_, java_time::PatternError>(
            target.format(&DateTimeParts::from_epoch_millis(millis, offset)),
        )
    })();
    result
        .map_err(|e| tracing::error!("__dateTimeConvert({date}, {source}, {target}): {e}"))
        .ok()
}

/// `__RandomDate(format, start, end)`: a day in [start, end), today when start is empty; a
/// date that does not parse is 1970-01-01, as in JMeter. `None` on an error.
fn random_date(env: &mut dyn Env, format: &str, start: &str, end: &str) -> Option<String> {
    const DAY: i64 = 86_400_000;
    let format = if format.is_empty() {
        "yyyy-MM-dd"
    } else {
        format
    };
    let pattern = DatePattern::compile(format)
        .map_err(|e| tracing::error!("__RandomDate: {e}"))
        .ok()?;
    let day = |text: &str| match pattern.parse(text, 0) {
        Ok(parts) => parts.to_epoch_millis().div_euclid(DAY),
        Err(e) => {
            tracing::error!("__RandomDate: {text}: {e}");
            0
        }
    };
    let first = if start.is_empty() {
        (env.now_millis() + i64::from(env.utc_offset_seconds()) * 1000).div_euclid(DAY)
    } else {
        day(start)
    };
    let last = day(end);
    if last <= first {
        tracing::error!("End Date '{end}' must be greater than Start Date '{start}'");
        return None;
    }
    let chosen = env.rng().i64(first..last);
    Some(pattern.format(&DateTimeParts::from_epoch_millis(chosen * DAY, 0)))
}

fn parse_long(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

/// `__char`: decimal, `0x` hex or leading-zero octal code points.
fn parse_char_code(s: &str) -> Option<char> {
    let s = s.trim();
    let code = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse().ok()?
    };
    char::from_u32(code)
}

/// `__time` aliases `YMD`, `HMS`, `YMDHMS`, `USER1`, `USER2` read the `time.*` properties.
fn resolve_time_alias(props: &Properties, format: &str) -> String {
    let (key, default) = match format {
        "YMD" => ("time.YMD", "yyyyMMdd"),
        "HMS" => ("time.HMS", "HHmmss"),
        "YMDHMS" => ("time.YMDHMS", "yyyyMMdd-HHmmss"),
        "USER1" => ("time.USER1", ""),
        "USER2" => ("time.USER2", ""),
        other => return other.to_string(),
    };
    props.get(key).unwrap_or_else(|| default.to_string())
}

fn time_shift(env: &mut dyn Env, format: &str, date: &str, shift: &str) -> String {
    let offset = env.utc_offset_seconds();
    let pattern = if format.is_empty() {
        None
    } else {
        DatePattern::compile(format).ok()
    };
    let base = match (&pattern, date.trim()) {
        (_, "") => env.now_millis(),
        (Some(p), text) => match p.parse(text, offset) {
            Ok(parts) => parts.to_epoch_millis(),
            Err(_) => return String::new(),
        },
        (None, _) => return String::new(),
    };
    let shifted = if shift.trim().is_empty() {
        base
    } else {
        match java_time::parse_iso_duration(shift.trim()) {
            Ok(ms) => base.saturating_add(ms),
            Err(_) => return String::new(),
        }
    };
    match pattern {
        Some(p) => p.format(&DateTimeParts::from_epoch_millis(shifted, offset)),
        None => shifted.to_string(),
    }
}

fn uuid_v4(rng: &mut fastrand::Rng) -> String {
    let mut bytes = rng.u128(..).to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn url_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// commons-lang3 escapeHtml4/escapeXml10 for the characters that matter in markup.
fn escape_markup(s: &str, xml: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' if xml => out.push_str("&apos;"),
            c if !xml && (c as u32) >= 0xa0 && (c as u32) <= 0xff => {
                let _ = write!(out, "&#{};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// HTML decoding: the XML references plus the named entities real pages use.
pub fn unescape_html(s: &str) -> String {
    crate::jmx::decode_references(s, |name| match name {
        "nbsp" => Some('\u{a0}'),
        "copy" => Some('\u{a9}'),
        "reg" => Some('\u{ae}'),
        "eacute" => Some('\u{e9}'),
        "egrave" => Some('\u{e8}'),
        "agrave" => Some('\u{e0}'),
        "euro" => Some('\u{20ac}'),
        _ => None,
    })
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648).
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64, padding optional; `None` on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.trim().bytes().filter(|&c| c != b'=') {
        let v = BASE64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `__eval`: renders `text` as a `${...}` string of its own. Its variables are read by name;
/// an evaluation nested more than 16 deep (a variable that evaluates itself) gives the text
/// as it is.
fn eval_text(text: &str, ctx: &mut dyn Context) -> String {
    thread_local! {
        static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }
    if DEPTH.get() >= 16 {
        return text.to_string();
    }
    let mut table = super::vars::VarTable::default();
    // Counters of calls made here are slots no plan element has.
    let mut slot = usize::MAX / 2;
    let template = super::template::Compiler::new(&mut table, &mut slot).compile(text);
    struct ByName<'a> {
        inner: &'a mut dyn Context,
        table: &'a super::vars::VarTable,
    }
    impl Context for ByName<'_> {
        fn var(&self, id: super::vars::VarId) -> Option<&str> {
            self.inner.var_by_name(self.table.name(id))
        }
        fn var_by_name(&self, name: &str) -> Option<&str> {
            self.inner.var_by_name(name)
        }
        fn set_var(&mut self, name: &str, value: String) {
            self.inner.set_var(name, value);
        }
        fn remove_var(&mut self, name: &str) {
            self.inner.remove_var(name);
        }
        fn env(&mut self) -> &mut dyn Env {
            self.inner.env()
        }
    }
    DEPTH.set(DEPTH.get() + 1);
    let value = template.render(&mut ByName {
        inner: ctx,
        table: &table,
    });
    DEPTH.set(DEPTH.get() - 1);
    value
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A value a Groovy or BeanShell expression reads from JMeter's objects.
pub enum Binding<'a> {
    /// `vars.get("name")`
    Var(&'a str),
    /// `props.get("name")`, `props.getProperty("name")`
    Prop(&'a str),
    /// `System.getenv("NAME")`
    Env(&'a str),
    /// `ctx.getThreadNum()`: from 0.
    ThreadNum,
    /// `vars.getIteration()`
    Iteration,
}

/// Whether a `__groovy`/`__BeanShell` expression is within rmeter's subset; the reason when not.
pub fn check_script(expr: &str) -> Result<(), String> {
    let js = script_to_javascript(expr, &mut |b| match b {
        Binding::ThreadNum | Binding::Iteration => Some("1".into()),
        _ => Some(String::new()),
    })?;
    super::javascript::eval(&js)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Rewrites a Groovy/BeanShell expression into the JavaScript subset, with JMeter's accessors
/// replaced by the literal values `bind` gives (`null` when it gives none). Any other object
/// (`log`, `prev`, `sampler`, Java classes) is outside the subset and refused.
pub fn script_to_javascript(
    expr: &str,
    bind: &mut dyn FnMut(Binding<'_>) -> Option<String>,
) -> Result<String, String> {
    let bytes = expr.as_bytes();
    let mut out = String::with_capacity(expr.len() + 16);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' || c == b'\'' {
            let end = literal_end(bytes, i).ok_or_else(|| format!("unclosed string at {i}"))?;
            out.push_str(&expr[i..end]);
            i = end;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            let chain = expr[start..i].trim_end_matches('.');
            i = start + chain.len();
            let after_dot = out.trim_end().ends_with('.');
            if after_dot {
                // Java's `length()` is JavaScript's `length`; `contains` is `includes`.
                let rest = expr[i..].trim_start();
                match chain {
                    "length" if rest.starts_with("()") => {
                        out.push_str("length");
                        i = expr.len() - rest.len() + 2;
                    }
                    "contains" => out.push_str("includes"),
                    _ => out.push_str(chain),
                }
                continue;
            }
            let Some((object, method)) = chain.split_once('.') else {
                out.push_str(chain);
                continue;
            };
            // The call's single string argument, if any.
            let mut j = i;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if bytes.get(j) != Some(&b'(') {
                return Err(format!(
                    "`{chain}` is Groovy that rmeter's expression subset does not run"
                ));
            }
            j += 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let mut argument = None;
            if matches!(bytes.get(j), Some(b'"' | b'\'')) {
                let end = literal_end(bytes, j).ok_or_else(|| format!("unclosed string at {j}"))?;
                argument = Some(unquote(&expr[j + 1..end - 1]));
                j = end;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
            }
            if bytes.get(j) != Some(&b')') {
                return Err(format!(
                    "`{chain}(...)` takes one quoted name in rmeter's expression subset"
                ));
            }
            i = j + 1;
            let binding = match (object, method, argument.as_deref()) {
                ("vars", "get", Some(name)) => Binding::Var(name),
                ("vars", "getIteration", None) => Binding::Iteration,
                ("ctx", "getThreadNum", None) => Binding::ThreadNum,
                ("props", "get" | "getProperty", Some(name)) => Binding::Prop(name),
                ("System", "getenv", Some(name)) => Binding::Env(name),
                _ => {
                    return Err(format!(
                        "`{chain}` is Groovy that rmeter's expression subset does not run"
                    ))
                }
            };
            let numeric = matches!(binding, Binding::ThreadNum | Binding::Iteration);
            match bind(binding) {
                Some(value) if numeric => out.push_str(&value),
                Some(value) => {
                    out.push('"');
                    for ch in value.chars() {
                        match ch {
                            '"' | '\\' => {
                                out.push('\\');
                                out.push(ch);
                            }
                            '\n' => out.push_str("\\n"),
                            '\r' => out.push_str("\\r"),
                            _ => out.push(ch),
                        }
                    }
                    out.push('"');
                }
                None => out.push_str("null"),
            }
        } else {
            let ch = expr[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Ok(out)
}

/// The index after the string literal that starts at `start`.
fn literal_end(bytes: &[u8], start: usize) -> Option<usize> {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// A string literal's content with its backslash escapes resolved.
fn unquote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Rewrites JEXL's word operators into JavaScript's, outside string literals. JEXL operators with
/// no JavaScript counterpart (`=~`, `!~`, `=^`, `=$`, `empty`, `size`) are refused.
fn jexl_to_javascript(expr: &str) -> Result<String, String> {
    let mut out = String::with_capacity(expr.len());
    let mut chars = expr.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' => {
                out.push(c);
                while let Some((_, d)) = chars.next() {
                    out.push(d);
                    if d == '\\' {
                        if let Some((_, e)) = chars.next() {
                            out.push(e);
                        }
                    } else if d == c {
                        break;
                    }
                }
            }
            '=' | '!' if matches!(chars.peek(), Some((_, '~' | '^' | '$'))) => {
                return Err(format!(
                    "the JEXL operator at {i} has no equivalent in rmeter's expression subset"
                ));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_ascii_alphanumeric() || d == '_' || d == '$' {
                        end = j + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = &expr[i..end];
                out.push_str(match word {
                    "eq" => "==",
                    "ne" => "!=",
                    "lt" => "<",
                    "gt" => ">",
                    "le" => "<=",
                    "ge" => ">=",
                    "and" => "&&",
                    "or" => "||",
                    "not" => "!",
                    "empty" | "size" | "new" | "var" => {
                        return Err(format!(
                            "`{word}` is JEXL that rmeter's expression subset does not run"
                        ))
                    }
                    _ => word,
                });
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::plan::vars::{VarId, VarTable};

    /// A context for template and function tests.
    pub(crate) struct TestCtx {
        pub table: VarTable,
        pub vars: HashMap<String, String>,
        pub props: Properties,
        pub rng: fastrand::Rng,
        pub counters: HashMap<usize, u64>,
    }

    impl TestCtx {
        pub fn new(table: VarTable) -> TestCtx {
            TestCtx {
                table,
                vars: HashMap::new(),
                props: Properties::with_jmeter_defaults(),
                rng: fastrand::Rng::with_seed(7),
                counters: HashMap::new(),
            }
        }
    }

    impl Context for TestCtx {
        fn var(&self, id: VarId) -> Option<&str> {
            self.vars.get(self.table.name(id)).map(String::as_str)
        }
        fn var_by_name(&self, name: &str) -> Option<&str> {
            self.vars.get(name).map(String::as_str)
        }
        fn set_var(&mut self, name: &str, value: String) {
            self.vars.insert(name.to_string(), value);
        }
        fn remove_var(&mut self, name: &str) {
            self.vars.remove(name);
        }
        fn env(&mut self) -> &mut dyn Env {
            self
        }
    }

    impl Env for TestCtx {
        fn props(&self) -> &Properties {
            &self.props
        }
        fn thread_num(&self) -> u32 {
            3
        }
        fn thread_group_name(&self) -> &str {
            "Users"
        }
        fn sampler_name(&self) -> &str {
            "Login"
        }
        fn test_plan_name(&self) -> &str {
            "Plan"
        }
        fn rng(&mut self) -> &mut fastrand::Rng {
            &mut self.rng
        }
        fn user_counter(&mut self, slot: usize) -> u64 {
            let c = self.counters.entry(slot).or_insert(0);
            *c += 1;
            *c
        }
        fn global_counter(&self, _slot: usize) -> u64 {
            1
        }
        fn machine_name(&self) -> &str {
            "host"
        }
        fn machine_ip(&self) -> &str {
            "127.0.0.1"
        }
        fn now_millis(&self) -> i64 {
            1_700_000_000_123
        }
        fn utc_offset_seconds(&self) -> i32 {
            0
        }
    }

    fn eval(src: &str) -> (String, TestCtx) {
        let mut table = VarTable::default();
        let mut slot = 0;
        let mut compiler = crate::plan::template::Compiler::new(&mut table, &mut slot);
        let template = compiler.compile(src);
        let mut ctx = TestCtx::new(table);
        ctx.props.set("users", "25");
        let value = template.render(&mut ctx);
        (value, ctx)
    }

    #[test]
    fn properties() {
        assert_eq!(eval("${__P(users)}").0, "25");
        assert_eq!(eval("${__P(nope)}").0, "1");
        assert_eq!(eval("${__property(nope)}").0, "nope");
        assert_eq!(eval("${__property(nope,v,dflt)}").1.vars["v"], "dflt");
        let (value, ctx) = eval("${__setProperty(k,v)}");
        assert_eq!(value, "");
        assert_eq!(ctx.props.get("k").as_deref(), Some("v"));
    }

    #[test]
    fn numbers_and_strings() {
        assert_eq!(eval("${__intSum(2,3,sum)}").1.vars["sum"], "5");
        assert_eq!(eval("${__longSum(2,-3)}").0, "-1");
        assert_eq!(eval("${__intSum(2147483647,1)}").0, "-2147483648");
        let random: i64 = eval("${__Random(5,7)}").0.parse().unwrap();
        assert!((5..=7).contains(&random));
        assert_eq!(eval("${__RandomString(8,ab)}").0.len(), 8);
        assert_eq!(eval("${__char(65,0x42,0103)}").0, "ABC");
        assert_eq!(eval("${__urldecode(a+b%2Cc)}").0, "a b,c");
        assert_eq!(
            eval("${__escapeHtml(<a href=\"x\">&</a>)}").0,
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(eval("${__unescapeHtml(&lt;&amp;&#65;)}").0, "<&A");
        assert_eq!(eval("${__changeCase(abc)}").0, "ABC");
        assert_eq!(eval("${__threadNum}").0, "${__threadNum}");
        assert_eq!(eval("${__threadNum()}").0, "3");
    }

    #[test]
    fn javascript_subset() {
        assert_eq!(eval("${__javaScript(1 + 2)}").0, "3");
        assert_eq!(
            eval("${__javaScript(\"a\" == \"a\",v)}").1.vars["v"],
            "true"
        );
        assert_eq!(eval("${__javaScript(nosuch)}").0, "");
        assert_eq!(eval("${__jexl3(3 == 3)}").0, "true");
        assert_eq!(eval("${__base64Encode(ana:s3cret)}").0, "YW5hOnMzY3JldA==");
        assert_eq!(
            eval("${__base64Decode(YW5hOnMzY3JldA==,v)}").1.vars["v"],
            "ana:s3cret"
        );
        assert_eq!(eval("${__FileToString(/no/such/file)}").0, "**ERR**");
        assert_eq!(eval("${__strLen(héllo)}").0, "5");
        assert_eq!(eval("${__substring(abcdef,1,3)}").0, "bc");
        assert_eq!(eval("${__substring(abcdef,2)}").0, "cdef");
        assert_eq!(eval("${__substring(abc,2,9)}").0, "");
        assert_eq!(eval("${__lowerCase(AbC)}${__upperCase(AbC)}").0, "abcABC");
        assert_eq!(eval("${__strReplace(a-b-c,-,+,v)}").1.vars["v"], "a+b+c");
        assert_eq!(
            eval("${__env(RMETER_SURELY_UNSET_VAR,fallback)}").0,
            "fallback"
        );
        assert_eq!(eval("${__jexl3(2 != 3 and not (1 gt 2))}").0, "true");
        assert_eq!(eval("${__jexl3(\"a and b\" eq \"a and b\")}").0, "true");
        assert_eq!(eval("${__jexl2(1 + 2,v)}").1.vars["v"], "3");
        assert_eq!(eval("${__jexl3(\"abc\" =~ \"a.*\")}").0, "");
    }

    #[test]
    fn digests_and_oro_quoting() {
        assert_eq!(
            eval("${__digest(MD5,abc)}").0,
            "900150983cd24fb0d6963f7d28e17f72"
        );
        // The salt follows the text.
        assert_eq!(
            eval("${__digest(md5,a,bc)}").0,
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            eval("${__digest(SHA-256,abc,,true,h)}").1.vars["h"],
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
        assert_eq!(
            eval("${__digest(SHA-1,abc)}").0,
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(eval("${__digest(NOPE,abc)}").0, "null");
        assert_eq!(
            eval("${__escapeOroRegexpChars(a.b[c]_d é)}").0,
            "a\\.b\\[c\\]_d\\ é"
        );
    }

    #[test]
    fn eval_renders_text_as_a_template() {
        let (value, ctx) = eval("${__split(a-b,p,-)}${__eval(x ${p_1} ${__strLen(abc)})}");
        assert!(value.ends_with("x a 3"), "{value}");
        assert_eq!(ctx.vars["p_2"], "b");
        // `\$` keeps `${p_2}` as text in q_1; evaluating q_1 reads p_2.
        let (value, _) = eval("${__split(a-b,p,-)}${__split(\\${p_2}-c,q,-)}${__evalVar(q_1)}");
        assert!(value.ends_with('b'), "{value}");
        // A variable that evaluates itself stops after 16 levels.
        let (value, _) = eval("${__split(\\${__evalVar(s_1)},s,|)}${__evalVar(s_1)}");
        assert!(value.ends_with("${__evalVar(s_1)}"), "{value}");
    }

    /// `__groovy` and `__BeanShell` run the JavaScript subset with JMeter's accessors; a null is
    /// empty; anything else is refused when the plan is built.
    #[test]
    fn groovy_and_beanshell_expressions() {
        // TestCtx is thread 3 (ctx.getThreadNum() is 2) at iteration 0.
        assert_eq!(
            eval("${__groovy((ctx.getThreadNum() == 2 && (vars.getIteration() < 3)),)}").0,
            "true"
        );
        assert_eq!(
            eval("${__groovy(props.get('users') + 1,v)}").1.vars["v"],
            "251"
        );
        assert_eq!(
            eval("${__BeanShell( System.getenv(\"RMETER_SURELY_UNSET_VAR\") )}").0,
            ""
        );
        assert_eq!(eval("${__groovy(vars.get(\"nope\") == null)}").0, "true");
        assert_eq!(eval("${__groovy(\"it's\".length())}").0, "4");
        assert!(check_script("ctx.getThreadNum() == 29").is_ok());
        for bad in [
            "log.info(\"x\")",
            "prev.getResponseCode()",
            "vars.put(\"a\", \"b\")",
            "new Date()",
        ] {
            assert!(check_script(bad).is_err(), "{bad}");
        }
        let mut table = VarTable::default();
        let mut slot = 0;
        let mut compiler = crate::plan::template::Compiler::new(&mut table, &mut slot);
        compiler.compile("${__groovy(log.info(\"x\"))}");
        assert_eq!(compiler.unsupported.len(), 1, "{:?}", compiler.unsupported);
    }

    #[test]
    fn uuid_has_version_4_shape() {
        let id = eval("${__UUID()}").0;
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }

    #[test]
    fn split_sets_numbered_variables() {
        let (value, ctx) = eval("${__split(a|b|c,parts,|)}");
        assert_eq!(value, "a|b|c");
        assert_eq!(ctx.vars["parts_2"], "b");
        assert_eq!(ctx.vars["parts_n"], "3");
    }

    #[test]
    fn time_formats() {
        assert_eq!(eval("${__time()}").0, "1700000000123");
        assert_eq!(eval("${__time(/1000)}").0, "1700000000");
        assert_eq!(eval("${__time(yyyy-MM-dd)}").0, "2023-11-14");
        assert_eq!(
            eval("${__timeShift(yyyy-MM-dd,2024-02-28,P1D)}").0,
            "2024-02-29"
        );
    }

    #[test]
    fn counters_count_per_call_site() {
        let (_, mut ctx) = eval("");
        assert_eq!(ctx.user_counter(1), 1);
        assert_eq!(ctx.user_counter(1), 2);
        assert_eq!(ctx.user_counter(2), 1);
    }

    /// Returns the value and the context after evaluating with the given variables set.
    fn eval_with(src: &str, vars: &[(&str, &str)]) -> (String, TestCtx) {
        let mut table = VarTable::default();
        let mut slot = 0;
        let template = crate::plan::template::Compiler::new(&mut table, &mut slot).compile(src);
        let mut ctx = TestCtx::new(table);
        for (k, v) in vars {
            ctx.vars.insert(k.to_string(), v.to_string());
        }
        (template.render(&mut ctx), ctx)
    }

    /// JMeter's `TestRegexFunction` vectors on an input variable.
    #[test]
    fn regex_function_follows_jmeter() {
        let invar = [(
            "INVAR",
            "The quick brown fox jumped over the lazy dog 123 times",
        )];
        let (value, ctx) = eval_with(
            r"${__regexFunction((\d+)\s+(\w+),pre$1$mid$2$post,1,-,default,OUTVAR,INVAR)}",
            &invar,
        );
        assert_eq!(value, "pre123midtimespost");
        assert_eq!(ctx.vars["OUTVAR"], "pre123midtimespost");
        assert_eq!(ctx.vars["OUTVAR_matchNr"], "1");
        assert_eq!(ctx.vars["OUTVAR_g0"], "123 times");
        assert_eq!(ctx.vars["OUTVAR_g2"], "times");
        let rows = [("IN", "<v f=\"p1\">1</v><v f=\"p2\">5</v><v f=\"p3\">6</v>")];
        let re = r#"<v f="(p\d+)">(\d+)</v>"#;
        let call = |rest: &str| eval_with(&format!("${{__regexFunction({re},{rest})}}"), &rows).0;
        assert_eq!(call("$2$,2,,,,IN"), "5");
        assert_eq!(call("$1$,ALL,_,,,IN"), "p1_p2_p3");
        assert_eq!(call("$2$,4,,default,,IN"), "default");
        assert_eq!(call("$2$,.333,,,,IN"), "1");
        assert_eq!(call("$2$,1.0,,,,IN"), "6");
        assert_eq!(call("_$1$,RAND,,,,IN").len(), 3);
        // No input: the default.
        assert_eq!(
            eval_with("${__regexFunction(a,$0$,1,,none)}", &[]).0,
            "none"
        );
    }

    /// JMeter's `DateTimeConvertFunctionTest` and `RandomDateFunctionTest` vectors (UTC).
    #[test]
    fn date_functions_follow_jmeter() {
        let convert = |args: &str| eval_with(&format!("${{__dateTimeConvert({args})}}"), &[]);
        assert_eq!(
            convert("2017-01-02 21:00:21,yyyy-MM-dd HH:mm:ss,dd-MM-yyyy hh:mm").0,
            "02-01-2017 09:00"
        );
        assert_eq!(
            convert("1526574881000,,dd/MM/yyyy HH:mm").0,
            "17/05/2018 16:34"
        );
        let (value, ctx) = convert("2017-01-02,yyyy-MM-dd,dd-MM-yyyy,day");
        assert_eq!(
            (value.as_str(), ctx.vars["day"].as_str()),
            ("02-01-2017", "02-01-2017")
        );
        let (value, ctx) = convert("a2017-01-02,yyyy-MM-dd,dd-MM-yyyy,day");
        assert_eq!(value, "");
        assert_eq!(convert("2017-01-02,yyyy-MM-dd,dd-MM-yyyy HH:mm").0, "");
        assert!(!ctx.vars.contains_key("day"));
        let random = |args: &str| eval_with(&format!("${{__RandomDate({args})}}"), &[]);
        assert_eq!(
            random("dd MMM yyyy,29 Aug 2111,30 Aug 2111,en_EN,").0,
            "29 Aug 2111"
        );
        let (value, ctx) = random(",2111-03-29,2111-03-30,en,MY_VAR");
        assert_eq!(
            (value.as_str(), ctx.vars["MY_VAR"].as_str()),
            ("2111-03-29", "2111-03-29")
        );
        assert_eq!(random(",2111-03-29,2011-03-30,en,").0, "");
        for _ in 0..20 {
            let day = random(",2111-03-29,2111-04-02,,").0;
            assert!(
                ("2111-03-29".."2111-04-02").contains(&day.as_str()),
                "{day}"
            );
        }
    }
}

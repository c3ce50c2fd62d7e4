//! Java date-time patterns and ISO-8601 durations for JMeter's `__time` and `__timeShift`.
//!
//! JMeter 5.6 formats dates with `java.time.format.DateTimeFormatter` patterns, and older plans
//! were written against `java.text.SimpleDateFormat`, which agrees on the common letters. Plans
//! therefore contain strings such as `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` whose output must match
//! Java's character for character. This module compiles such a pattern once, formats a
//! broken-down date-time with it, parses text back for `__timeShift`'s date argument, and parses
//! the `java.time.Duration` strings that `__timeShift` adds. Only English names are supported.
//!
//! The module is pure and uses only `std`: the caller reads the clock and the local UTC offset,
//! and this code does proleptic Gregorian calendar arithmetic on fixed offsets. It never panics
//! on user input; malformed patterns, texts and durations produce a [`PatternError`].

use std::fmt;

/// A broken-down local date-time, filled by the caller from the system clock (chrono), so this module stays pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTimeParts {
    /// The proleptic year, where 0 is 1 BC.
    pub year: i32,
    /// The month of the year, 1 to 12.
    pub month: u32,
    /// The day of the month, from 1.
    pub day: u32,
    /// The hour of the day, 0 to 23.
    pub hour: u32,
    /// The minute of the hour, 0 to 59.
    pub minute: u32,
    /// The second of the minute, 0 to 59.
    pub second: u32,
    /// The nanosecond of the second.
    pub nanos: u32,
    /// The day of the week, where 1 is Monday and 7 is Sunday.
    pub weekday: u32,
    /// The day of the year, 1 to 366.
    pub day_of_year: u32,
    /// The UTC offset in seconds, that is local time minus UTC.
    pub offset_seconds: i32,
}

impl DateTimeParts {
    /// From epoch milliseconds and a fixed UTC offset (seconds), computing weekday/day_of_year with a civil-from-days algorithm.
    pub fn from_epoch_millis(ms: i64, offset_seconds: i32) -> DateTimeParts {
        let local = ms.saturating_add(i64::from(offset_seconds) * 1000);
        let nanos_of_day = local.rem_euclid(MS_PER_DAY) * 1_000_000;
        from_local(local.div_euclid(MS_PER_DAY), nanos_of_day, offset_seconds)
    }

    /// Converts back to epoch milliseconds, dropping sub-millisecond nanos and saturating at the `i64` range.
    pub fn to_epoch_millis(&self) -> i64 {
        let days = days_from_civil(self.year.into(), self.month.into(), self.day.into());
        let secs =
            (i64::from(self.hour) * 60 + i64::from(self.minute)) * 60 + i64::from(self.second);
        let secs = i128::from(days) * 86_400 + i128::from(secs) - i128::from(self.offset_seconds);
        let ms = secs * 1000 + i128::from(self.nanos / 1_000_000);
        ms.clamp(i64::MIN.into(), i64::MAX.into()) as i64
    }
}

/// A compiled Java date-time pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatePattern {
    items: Vec<Item>,
}

/// An invalid pattern, an unparsable date text or an invalid duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// A lower-case description without a trailing period.
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PatternError {}

impl DatePattern {
    /// Compiles a Java pattern once (at plan build time).
    pub fn compile(pattern: &str) -> Result<DatePattern, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        let (mut items, mut i) = (Vec::new(), 0);
        while let Some(&c) = chars.get(i) {
            i += 1;
            if c == '\'' && chars.get(i) == Some(&'\'') {
                push_literal(&mut items, "'");
                i += 1;
            } else if c == '\'' {
                // A quoted section ends at the next lone quote; two quotes inside it are one quote.
                let mut text = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err(err("pattern ends inside a quoted literal")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 1;
                        }
                        Some('\'') => break,
                        Some(&ch) => text.push(ch),
                    }
                    i += 1;
                }
                i += 1;
                push_literal(&mut items, &text);
            } else if c.is_ascii_alphabetic() {
                let run = 1 + chars.iter().skip(i).take_while(|&&x| x == c).count();
                check_letter(c, run)?;
                items.push(Item::Field(c, run));
                i += run - 1;
            } else {
                push_literal(&mut items, c.encode_utf8(&mut [0; 4]));
            }
        }
        Ok(DatePattern { items })
    }

    /// Whether the pattern has a time-of-day field (hour, minute, second, fraction, AM/PM).
    pub fn has_time_of_day(&self) -> bool {
        self.items
            .iter()
            .any(|item| matches!(item, Item::Field(c, _) if "HhKkmsSAnNa".contains(*c)))
    }

    /// Formats a date-time with this pattern.
    pub fn format(&self, t: &DateTimeParts) -> String {
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Literal(s) => out.push_str(s),
                Item::Field(c, n) => format_field(&mut out, *c, *n, t),
            }
        }
        out
    }

    /// Parses text produced by this pattern back into parts (for __timeShift's date argument); missing fields default to 1970-01-01T00:00:00.
    pub fn parse(&self, text: &str, offset_seconds: i32) -> Result<DateTimeParts, PatternError> {
        let (mut f, mut pos) = (Fields::default(), 0);
        for (i, item) in self.items.iter().enumerate() {
            let rest = text.get(pos..).unwrap_or("");
            pos += match item {
                Item::Literal(s) if rest.starts_with(s.as_str()) => s.len(),
                Item::Literal(s) => return Err(err(format!("expected '{s}' at position {pos}"))),
                Item::Field(c, n) => parse_field(*c, *n, self.items.get(i + 1..), rest, &mut f)
                    .ok_or_else(|| err(format!("cannot parse '{c}' at position {pos}")))?,
            };
        }
        if pos != text.len() {
            return Err(err(format!("unparsed text at position {pos}")));
        }
        resolve(&f, offset_seconds)
    }
}

/// Parses an ISO-8601 duration as java.time.Duration.parse accepts it: `PT1H30M`, `P1DT2H`, `-PT5S`, `PT0.5S`, `P2D`, case-insensitive, per-field signs (`PT-6H3M`). Returns milliseconds.
pub fn parse_iso_duration(text: &str) -> Result<i64, PatternError> {
    let bad = || err(format!("invalid iso-8601 duration '{text}'"));
    let upper = text.to_ascii_uppercase();
    let (negative, body) = match upper.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, upper.strip_prefix('+').unwrap_or(&upper)),
    };
    let body = body.strip_prefix('P').ok_or_else(bad)?;
    let (date, mut time) = match body.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, time),
        None if !body.is_empty() => (body, ""),
        _ => return Err(bad()),
    };
    let mut nanos = 0i128;
    if !date.is_empty() {
        let days: i64 = date
            .strip_suffix('D')
            .and_then(|d| d.parse().ok())
            .ok_or_else(bad)?;
        nanos = i128::from(days) * i128::from(NANOS_PER_DAY);
    }
    // The time fields come in the order H, M, S, each optional, and only seconds take a fraction.
    for (unit, seconds) in [('H', 3600), ('M', 60), ('S', 1)] {
        let Some((amount, tail)) = time.split_once(unit) else {
            continue;
        };
        time = tail;
        let (whole, fraction) = match amount.split_once(['.', ',']) {
            None => (amount, ""),
            Some((w, f))
                if unit == 'S' && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) =>
            {
                (w, f)
            }
            Some(_) => return Err(bad()),
        };
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let fraction: i128 = format!("{fraction:0<9}").parse().map_err(|_| bad())?;
        let sign = if amount.starts_with('-') { -1 } else { 1 };
        nanos += i128::from(whole) * seconds * 1_000_000_000 + sign * fraction;
    }
    if !time.is_empty() {
        return Err(bad());
    }
    let ms = nanos / 1_000_000;
    i64::try_from(if negative { -ms } else { ms }).map_err(|_| bad())
}

/// Computes JMeter's `__time(format)` value: empty format gives epoch milliseconds, `/N` gives
/// milliseconds divided by `N`, the aliases `YMD`, `HMS`, `YMDHMS`, `USER1` and `USER2` take
/// JMeter's default patterns, and anything else is a Java pattern applied at the given offset.
pub fn time_function_value(
    format: &str,
    epoch_ms: i64,
    offset_seconds: i32,
) -> Result<String, PatternError> {
    if format.is_empty() {
        return Ok(epoch_ms.to_string());
    }
    let format = time_format_alias(format).unwrap_or(format);
    let divisor = format.strip_prefix('/');
    if let Some(d) = divisor.filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())) {
        let d: i64 = d
            .parse()
            .map_err(|_| err(format!("divisor '{d}' is too large")))?;
        let value = epoch_ms
            .checked_div(d)
            .ok_or_else(|| err("division by zero"))?;
        return Ok(value.to_string());
    }
    let parts = DateTimeParts::from_epoch_millis(epoch_ms, offset_seconds);
    Ok(DatePattern::compile(format)?.format(&parts))
}

/// Returns the pattern JMeter substitutes for a `__time` alias when the `time.*` properties are unset.
pub fn time_format_alias(name: &str) -> Option<&'static str> {
    match name {
        "YMD" => Some("yyyyMMdd"),
        "HMS" => Some("HHmmss"),
        "YMDHMS" => Some("yyyyMMdd-HHmmss"),
        "USER1" | "USER2" => Some(""),
        _ => None,
    }
}

const MS_PER_DAY: i64 = 86_400_000;
const NANOS_PER_DAY: i64 = 86_400_000_000_000;
const MONTHS: &str =
    "January,February,March,April,May,June,July,August,September,October,November,December";
const WEEKDAYS: &str = "Monday,Tuesday,Wednesday,Thursday,Friday,Saturday,Sunday";

/// One compiled element of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Literal(String),
    Field(char, usize),
}

/// The fields seen while parsing, resolved into a date-time at the end.
#[derive(Debug, Clone, Copy, Default)]
struct Fields {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour: Option<i64>,
    hour_of_ampm: Option<i64>,
    pm: bool,
    minute: Option<i64>,
    second: Option<i64>,
    nanos: Option<i64>,
    offset: Option<i64>,
}

fn err(message: impl Into<String>) -> PatternError {
    PatternError {
        message: message.into(),
    }
}

fn push_literal(items: &mut Vec<Item>, s: &str) {
    match items.last_mut() {
        Some(Item::Literal(prev)) => prev.push_str(s),
        _ => items.push(Item::Literal(s.to_string())),
    }
}

/// Checks a run of one letter, following Java's limits for text and offset letters and
/// SimpleDateFormat's leniency (zero padding to the count) for numeric letters.
fn check_letter(c: char, count: usize) -> Result<(), PatternError> {
    let max = match c {
        'y' | 'u' | 'd' | 'D' | 'H' | 'h' | 'k' | 'K' | 'm' | 's' | 'S' | 'n' | 'a' => 19,
        'M' | 'L' | 'E' | 'Z' | 'X' | 'x' => 5,
        'z' => 4,
        'V' => 2,
        'A' | 'B' | 'c' | 'e' | 'F' | 'G' | 'g' | 'N' | 'O' | 'p' | 'Q' | 'q' | 'v' | 'w' | 'W'
        | 'Y' => {
            return Err(err(format!("unsupported pattern letter '{c}'")));
        }
        _ => return Err(err(format!("unknown pattern letter '{c}'"))),
    };
    if count > max || (c == 'V' && count != 2) {
        return Err(err(format!("too many pattern letters '{c}'")));
    }
    Ok(())
}

fn format_field(out: &mut String, c: char, n: usize, t: &DateTimeParts) {
    let off = t.offset_seconds;
    let value = match c {
        // The year of era (y) counts 1 BC, 2 BC and so on for years 0, -1 and so on.
        'y' if t.year <= 0 => return push_year(out, 1 - i64::from(t.year), n),
        'y' | 'u' => return push_year(out, t.year.into(), n),
        'M' | 'L' if n >= 3 => return push_name(out, MONTHS, t.month.wrapping_sub(1), n),
        'E' => return push_name(out, WEEKDAYS, t.weekday.wrapping_sub(1), n.max(3)),
        'a' => return out.push_str(if t.hour < 12 { "AM" } else { "PM" }),
        'S' => {
            // Like java.time, print the first n digits of the nine-digit fraction.
            out.push_str(format!("{:09}", t.nanos).get(..n.min(9)).unwrap_or(""));
            return out.extend(std::iter::repeat_n('0', n.saturating_sub(9)));
        }
        'z' if off == 0 => return out.push_str("UTC"),
        'X' | 'Z' | 'V' if off == 0 && (c != 'Z' || n == 5) => return out.push('Z'),
        'z' | 'Z' if c == 'z' || n == 4 => {
            out.push_str("GMT");
            return push_offset(out, off, if off == 0 { 0 } else { 5 });
        }
        'X' | 'x' => return push_offset(out, off, n),
        'Z' => return push_offset(out, off, if n == 5 { 5 } else { 2 }),
        'V' => return push_offset(out, off, 5),
        'M' | 'L' => t.month,
        'd' => t.day,
        'D' => t.day_of_year,
        'H' => t.hour,
        'k' if t.hour == 0 => 24,
        'h' if t.hour.is_multiple_of(12) => 12,
        'k' => t.hour,
        'h' | 'K' => t.hour % 12,
        'm' => t.minute,
        's' => t.second,
        'n' => t.nanos,
        _ => return,
    };
    out.push_str(&format!("{value:0n$}"));
}

/// Prints a year like java.time: two letters keep the last two digits, four or more letters pad
/// and mark years wider than the pad with `+`, and negative years carry `-`.
fn push_year(out: &mut String, year: i64, n: usize) {
    if n == 2 {
        return out.push_str(&format!("{:02}", year.rem_euclid(100)));
    }
    let digits = year.unsigned_abs().to_string();
    let sign = match year < 0 {
        true => "-",
        false if n >= 4 && digits.len() > n => "+",
        false => "",
    };
    out.push_str(&format!("{sign}{digits:0>n$}"));
}

/// Prints a name: four letters give the full name, five the first letter, and fewer three letters.
fn push_name(out: &mut String, names: &str, index: u32, n: usize) {
    let full = names.split(',').nth(index as usize).unwrap_or("");
    let cut = match n {
        4 => full.len(),
        5 => 1,
        _ => 3,
    };
    out.push_str(full.get(..cut.min(full.len())).unwrap_or(full));
}

/// Prints an offset the way `n` times the letter X does (except for zero): `+HH`, then minutes
/// unless `n` is 1 and they are zero, then seconds if `n` is 4 or 5 and they are non-zero, with
/// colons when `n` is 3 or 5. A style of 0 prints nothing.
fn push_offset(out: &mut String, off: i32, n: usize) {
    let abs = off.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    let sep = if n == 3 || n == 5 { ":" } else { "" };
    if n > 0 {
        out.push_str(&format!("{}{h:02}", if off < 0 { '-' } else { '+' }));
    }
    if n > 1 || (n == 1 && m != 0) {
        out.push_str(&format!("{sep}{m:02}"));
    }
    if n >= 4 && s != 0 {
        out.push_str(&format!("{sep}{s:02}"));
    }
}

fn is_numeric(c: char, n: usize) -> bool {
    "yudDHhkKmsSn".contains(c) || (matches!(c, 'M' | 'L') && n <= 2)
}

/// Parses one field at the start of `rest` and returns its length. Like java.time's adjacent
/// value parsing, a number leaves enough digits for the numeric fields that directly follow it,
/// so `yyyyMMdd` reads `20240115`.
fn parse_field(
    c: char,
    n: usize,
    next: Option<&[Item]>,
    rest: &str,
    f: &mut Fields,
) -> Option<usize> {
    if !is_numeric(c, n) {
        let (value, len) = match c {
            'M' | 'L' => match_name(rest, MONTHS, n == 5)?,
            'E' => match_name(rest, WEEKDAYS, n == 5)?,
            'a' => match_name(rest, "AM,PM", false)?,
            _ => parse_offset(rest)?,
        };
        match c {
            'M' | 'L' => f.month = Some(value + 1),
            'E' => {}
            'a' => f.pm = value == 1,
            _ => f.offset = Some(value),
        }
        return Some(len);
    }
    let b = rest.as_bytes();
    let signed = matches!(c, 'y' | 'u') && matches!(b.first(), Some(b'+' | b'-'));
    let start = usize::from(signed);
    let run = digit_run(b, start, usize::MAX);
    let reserved: usize = (next.unwrap_or(&[]).iter())
        .map_while(|item| match item {
            Item::Field(c2, n2) if is_numeric(*c2, *n2) => Some(*n2),
            _ => None,
        })
        .sum();
    let max = match c {
        'y' | 'u' if n > 2 => 10,
        'n' => 9,
        'D' => 3,
        'S' => 0,
        _ => 2,
    };
    let take = run.saturating_sub(reserved).min(max.max(n));
    // Only the first nine digits of a fraction count, which also keeps the value in range.
    let digits = b.get(start..start + if c == 'S' { take.min(9) } else { take })?;
    let value = number(digits)?
        * if b.first() == Some(&b'-') && signed {
            -1
        } else {
            1
        };
    match c {
        // Two letters read a year of the 2000s, like java.time's reduced value with base 2000.
        'y' | 'u' if n == 2 => f.year = Some(2000 + value),
        'y' | 'u' => f.year = Some(value),
        'M' | 'L' => f.month = Some(value),
        'd' => f.day = Some(value),
        'D' => f.day_of_year = Some(value),
        'H' => f.hour = Some(value),
        'k' if (1..=24).contains(&value) => f.hour = Some(value % 24),
        'h' if (1..=12).contains(&value) => f.hour_of_ampm = Some(value % 12),
        'K' if value < 12 => f.hour_of_ampm = Some(value),
        'm' => f.minute = Some(value),
        's' => f.second = Some(value),
        'S' => f.nanos = Some(value * 10i64.pow(9 - digits.len() as u32)),
        'n' => f.nanos = Some(value),
        _ => return None,
    }
    Some(start + take)
}

/// Counts the ASCII digits of `b` from `from`, at most `max`.
fn digit_run(b: &[u8], from: usize, max: usize) -> usize {
    b.iter()
        .skip(from)
        .take(max)
        .take_while(|d| d.is_ascii_digit())
        .count()
}

/// Reads ASCII digits into a number, or `None` when there are none or the value overflows.
fn number(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0i64, |v, d| {
        v.checked_mul(10)?.checked_add(i64::from(d - b'0'))
    })
}

/// Matches a name case-insensitively, trying full names, then three-letter abbreviations, then
/// (for narrow styles) first letters, and returns the name's index and the matched length.
fn match_name(rest: &str, names: &str, narrow: bool) -> Option<(i64, usize)> {
    [usize::MAX, 3, if narrow { 1 } else { 3 }]
        .iter()
        .find_map(|&cut| {
            names.split(',').zip(0..).find_map(|(name, i)| {
                let candidate = name.get(..cut.min(name.len()))?;
                starts_with_ignore_case(rest, candidate).then_some((i, candidate.len()))
            })
        })
}

/// Compares ASCII bytes, so a match always ends on a character boundary of `rest`.
fn starts_with_ignore_case(rest: &str, prefix: &str) -> bool {
    let head = rest.as_bytes().get(..prefix.len());
    head.is_some_and(|b| b.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Parses `Z`, `UTC`, `GMT` or `UT`, optionally followed by `+H`, `+HH`, `+HHMM`, `+HH:MM`,
/// `+HHMMSS` or `+HH:MM:SS` (a sign alone also works), returning the seconds and bytes used.
fn parse_offset(rest: &str) -> Option<(i64, usize)> {
    let b = rest.as_bytes();
    let prefixes = ["UTC", "GMT", "UT"];
    let prefix = prefixes
        .iter()
        .find(|p| starts_with_ignore_case(rest, p))
        .map_or(0, |p| p.len());
    if prefix == 0 && matches!(b.first(), Some(b'Z' | b'z')) {
        return Some((0, 1));
    }
    let sign = match b.get(prefix) {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return (prefix > 0).then_some((0, prefix)),
    };
    let digits = |from: usize, len: usize| b.get(from..from + len).and_then(number);
    let hours_len = digit_run(b, prefix + 1, 2);
    let mut total = digits(prefix + 1, hours_len).filter(|h| *h <= 18)? * 3600;
    let mut i = prefix + 1 + hours_len;
    let colon = b.get(i) == Some(&b':');
    for unit in [60, 1] {
        let at = i + usize::from(colon);
        match digits(at, 2).filter(|v| *v < 60) {
            Some(v) if !colon || b.get(i) == Some(&b':') => (total, i) = (total + v * unit, at + 2),
            _ => break,
        }
    }
    Some((sign * total, i))
}

fn resolve(f: &Fields, default_offset: i32) -> Result<DateTimeParts, PatternError> {
    let year = f.year.unwrap_or(1970);
    if !(-999_999_999..=999_999_999).contains(&year) {
        return Err(err(format!("year {year} is out of range")));
    }
    let (mut month, mut day) = (f.month.unwrap_or(1), f.day.unwrap_or(1));
    if let (None, None, Some(doy)) = (f.month, f.day, f.day_of_year) {
        if !(1..=if is_leap(year) { 366 } else { 365 }).contains(&doy) {
            return Err(err(format!("invalid day of year {doy}")));
        }
        let (_, m, d) = civil_from_days(days_from_civil(year, 1, 1) + doy - 1);
        (month, day) = (m.into(), d.into());
    }
    if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
        return Err(err(format!("invalid date {year}-{month}-{day}")));
    }
    let ampm_hour = f.hour_of_ampm.map(|h| if f.pm { h + 12 } else { h });
    let hour = f.hour.or(ampm_hour).unwrap_or(0);
    let (minute, second) = (f.minute.unwrap_or(0), f.second.unwrap_or(0));
    let nanos = f.nanos.unwrap_or(0);
    if hour > 23 || minute > 59 || second > 59 || nanos > 999_999_999 {
        return Err(err(format!("invalid time {hour}:{minute}:{second}")));
    }
    let nanos_of_day = ((hour * 60 + minute) * 60 + second) * 1_000_000_000 + nanos;
    // Parsed offsets are within 18 hours, so the conversion is exact.
    let offset = f.offset.map_or(default_offset, |o| o as i32);
    Ok(from_local(
        days_from_civil(year, month, day),
        nanos_of_day,
        offset,
    ))
}

fn from_local(days: i64, nanos_of_day: i64, offset_seconds: i32) -> DateTimeParts {
    let (year, month, day) = civil_from_days(days);
    let secs = nanos_of_day / 1_000_000_000;
    DateTimeParts {
        year: i32::try_from(year).unwrap_or(if year < 0 { i32::MIN } else { i32::MAX }),
        month,
        day,
        hour: (secs / 3600) as u32,
        minute: (secs / 60 % 60) as u32,
        second: (secs % 60) as u32,
        nanos: (nanos_of_day % 1_000_000_000) as u32,
        weekday: (days.wrapping_add(3).rem_euclid(7) + 1) as u32,
        day_of_year: (days - days_from_civil(year, 1, 1) + 1) as u32,
        offset_seconds,
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (month + 9).rem_euclid(12) + 2) / 5 + day - 1;
    era * 146_097 + year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let year_of_era = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let day_of_year = doe - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400;
    (if month <= 2 { year + 1 } else { year }, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_700_000_000_123;
    const IST: i32 = 19_800;

    fn fmt(pattern: &str, ms: i64, offset: i32) -> String {
        DatePattern::compile(pattern)
            .unwrap()
            .format(&DateTimeParts::from_epoch_millis(ms, offset))
    }

    fn parse(pattern: &str, text: &str, offset: i32) -> Result<DateTimeParts, PatternError> {
        DatePattern::compile(pattern).unwrap().parse(text, offset)
    }

    #[test]
    fn epoch_zero_is_thursday_first_of_january() {
        let t = DateTimeParts::from_epoch_millis(0, 0);
        let expected = DateTimeParts {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            nanos: 0,
            weekday: 4,
            day_of_year: 1,
            offset_seconds: 0,
        };
        assert_eq!(t, expected);
        assert_eq!(t.to_epoch_millis(), 0);
        assert_eq!(
            fmt("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", 0, 0),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn known_instant_in_utc_and_india() {
        let utc = DateTimeParts::from_epoch_millis(T, 0);
        assert_eq!(
            (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second),
            (2023, 11, 14, 22, 13, 20)
        );
        assert_eq!(
            (utc.nanos, utc.weekday, utc.day_of_year),
            (123_000_000, 2, 318)
        );
        let ist = DateTimeParts::from_epoch_millis(T, IST);
        assert_eq!(
            (ist.year, ist.month, ist.day, ist.hour, ist.minute),
            (2023, 11, 15, 3, 43)
        );
        assert_eq!(
            (ist.weekday, ist.day_of_year, ist.offset_seconds),
            (3, 319, IST)
        );
        assert_eq!(utc.to_epoch_millis(), T);
        assert_eq!(ist.to_epoch_millis(), T);
    }

    #[test]
    fn common_patterns() {
        assert_eq!(fmt("yyyyMMdd", T, 0), "20231114");
        assert_eq!(fmt("yyyyMMdd", T, IST), "20231115");
        assert_eq!(fmt("HHmmss", T, 0), "221320");
        assert_eq!(fmt("HHmmss", T, IST), "034320");
        assert_eq!(
            fmt("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", T, 0),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            fmt("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", T, IST),
            "2023-11-15T03:43:20.123+05:30"
        );
        assert_eq!(fmt("dd/MMM/yyyy hh:mm a", T, 0), "14/Nov/2023 10:13 PM");
        assert_eq!(fmt("dd/MMM/yyyy hh:mm a", T, IST), "15/Nov/2023 03:43 AM");
        assert_eq!(fmt("EEEE", T, 0), "Tuesday");
        assert_eq!(fmt("E EE EEE EEEEE", T, 0), "Tue Tue Tue T");
        assert_eq!(fmt("M MM MMM MMMM MMMMM", T, 0), "11 11 Nov November N");
        assert_eq!(
            fmt("y yy yyy yyyy yyyyy uuuu", T, 0),
            "2023 23 2023 2023 02023 2023"
        );
        assert_eq!(fmt("d D DDD H h k K m s", 0, 0), "1 1 001 0 12 24 0 0 0");
        assert_eq!(
            fmt("S SS SSS SSSS SSSSSSSSS n", T, 0),
            "1 12 123 1230 123000000 123000000"
        );
    }

    #[test]
    fn offsets() {
        let all = "z|Z|ZZZZ|ZZZZZ|X|XX|XXX|XXXX|XXXXX|x|xx|xxx|VV";
        let utc = "UTC|+0000|GMT|Z|Z|Z|Z|Z|Z|+00|+0000|+00:00|Z";
        assert_eq!(fmt(all, T, 0), utc);
        let india = "GMT+05:30|+0530|GMT+05:30|+05:30|+0530|+0530|+05:30|+0530|+05:30|+0530|+0530|+05:30|+05:30";
        assert_eq!(fmt(all, T, IST), india);
        assert_eq!(
            fmt("X|XXX|Z|ZZZZ", T, -3 * 3600),
            "-03|-03:00|-0300|GMT-03:00"
        );
        assert_eq!(
            fmt("XXXX|XXXXX|z", T, 3600 + 62),
            "+010102|+01:01:02|GMT+01:01:02"
        );
        assert_eq!(fmt("X|x", T, 3600), "+01|+01");
    }

    #[test]
    fn quoting_and_literals() {
        assert_eq!(fmt("'at' HH 'o''clock'", T, 0), "at 22 o'clock");
        assert_eq!(fmt("''", T, 0), "'");
        assert_eq!(fmt("'yyyy' - é€", T, 0), "yyyy - é€");
        assert_eq!(fmt("[yyyy] {MM} #", T, 0), "[2023] {11} #");
        assert_eq!(fmt("", T, 0), "");
    }

    #[test]
    fn pattern_errors_name_the_letter() {
        let e = DatePattern::compile("YYYY-MM-dd").unwrap_err();
        assert!(e.message.contains("'Y'"), "{e}");
        assert!(DatePattern::compile("yyyy b")
            .unwrap_err()
            .to_string()
            .contains("'b'"));
        assert!(DatePattern::compile("MMMMMM").is_err());
        assert!(DatePattern::compile("'unterminated").is_err());
        assert!(DatePattern::compile("yyyy G").is_err());
        assert!(DatePattern::compile("V").is_err());
        assert!(DatePattern::compile("VVV").is_err());
        assert!(DatePattern::compile("O").is_err());
        let e = DatePattern::compile("w").unwrap_err().to_string();
        assert!(e.starts_with(char::is_lowercase), "{e}");
        assert!(!e.ends_with('.'));
    }

    #[test]
    fn leap_years() {
        let feb29 = DateTimeParts::from_epoch_millis(1_709_164_800_000, 0);
        assert_eq!(
            (
                feb29.year,
                feb29.month,
                feb29.day,
                feb29.day_of_year,
                feb29.weekday
            ),
            (2024, 2, 29, 60, 4)
        );
        assert_eq!(
            DateTimeParts::from_epoch_millis(1_735_603_200_000, 0).day_of_year,
            366
        );
        assert_eq!(
            DateTimeParts::from_epoch_millis(1_703_980_800_000, 0).day_of_year,
            365
        );
        assert!(parse("yyyy-MM-dd", "2000-02-29", 0).is_ok());
        assert!(parse("yyyy-MM-dd", "2024-02-29", 0).is_ok());
        assert!(parse("yyyy-MM-dd", "1900-02-29", 0).is_err());
        assert!(parse("yyyy-MM-dd", "2100-02-29", 0).is_err());
        assert!(parse("yyyy-MM-dd", "2023-04-31", 0).is_err());
        let by_doy = parse("yyyy-DDD", "2024-060", 0).unwrap();
        assert_eq!((by_doy.month, by_doy.day), (2, 29));
        assert!(parse("yyyy-DDD", "2023-366", 0).is_err());
    }

    #[test]
    fn dates_before_1970() {
        let t = DateTimeParts::from_epoch_millis(-1, 0);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (1969, 12, 31, 23, 59, 59)
        );
        assert_eq!((t.nanos, t.weekday, t.day_of_year), (999_000_000, 3, 365));
        assert_eq!(
            fmt("yyyy-MM-dd HH:mm:ss.SSS EEE", -1, 0),
            "1969-12-31 23:59:59.999 Wed"
        );
        let y1900 = DateTimeParts::from_epoch_millis(-2_208_988_800_000, 0);
        assert_eq!(
            (y1900.year, y1900.month, y1900.day, y1900.weekday),
            (1900, 1, 1, 1)
        );
        let year_zero = -62_167_219_200_000;
        let t = DateTimeParts::from_epoch_millis(year_zero, 0);
        assert_eq!((t.year, t.month, t.day, t.weekday), (0, 1, 1, 6));
        assert_eq!(fmt("yyyy|uuuu|u|yy", year_zero, 0), "0001|0000|0|01");
        let minus_one = year_zero - MS_PER_DAY * 365;
        assert_eq!(fmt("uuuu|yyyy|u", minus_one, 0), "-0001|0002|-1");
        assert_eq!(
            parse("uuuu-MM-dd", "-0001-01-01", 0)
                .unwrap()
                .to_epoch_millis(),
            minus_one
        );
        assert_eq!(t.to_epoch_millis(), year_zero);
        let far = DateTimeParts::from_epoch_millis(253_402_300_800_000, 0);
        assert_eq!((far.year, far.month, far.day), (10000, 1, 1));
        assert_eq!(fmt("yyyy", 253_402_300_800_000, 0), "+10000");
    }

    #[test]
    fn parse_known_texts() {
        let t = parse(
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            "2023-11-15T03:43:20.123+05:30",
            0,
        )
        .unwrap();
        assert_eq!((t.to_epoch_millis(), t.offset_seconds), (T, IST));
        let t = parse("dd/MMM/yyyy hh:mm a", "14/Nov/2023 10:13 PM", 0).unwrap();
        assert_eq!(t.to_epoch_millis(), 1_699_999_980_000);
        assert_eq!(parse("hh:mm a", "12:05 AM", 0).unwrap().hour, 0);
        assert_eq!(parse("hh:mm a", "12:05 PM", 0).unwrap().hour, 12);
        let t = parse("HH:mm", "10:30", 3600).unwrap();
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.offset_seconds),
            (1970, 1, 1, 10, 30, 3600)
        );
        assert_eq!(
            parse("yyyyMMddHHmmss", "20231114221320", 0)
                .unwrap()
                .to_epoch_millis(),
            T - 123
        );
        assert_eq!(parse("yy-M-d", "24-1-5", 0).unwrap().year, 2024);
        assert_eq!(parse("yyyy", "2024", 0).unwrap().day_of_year, 1);
        assert_eq!(parse("[yyyy]", "[2024]", 0).unwrap().year, 2024);
        assert_eq!(parse("z", "GMT-03:00", 0).unwrap().offset_seconds, -10_800);
        assert_eq!(parse("z", "GMT+5:30", 0).unwrap().offset_seconds, IST);
        assert_eq!(
            parse("XXXXX", "-01:01:02", 0).unwrap().offset_seconds,
            -3662
        );
        assert_eq!(parse("Z", "+0530", 0).unwrap().offset_seconds, IST);
        assert!(parse("yyyy-MM-dd", "2024-01-15 trailing", 0).is_err());
        assert!(parse("yyyy-MM-dd", "2024-13-01", 0).is_err());
        assert!(parse("HH:mm", "24:00", 0).is_err());
        assert!(parse("MMM", "Foo", 0).is_err());
        assert!(parse("VV", "Europe/Paris", 0).is_err());
    }

    #[test]
    fn format_then_parse_round_trips() {
        let patterns = [
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            "EEEE, dd MMMM uuuu hh:mm:ss.SSS a Z",
            "yyyyMMddHHmmssSSS",
            "dd/MMM/yyyy:HH:mm:ss.SSS zzz",
            "uuuu-DDD kk:mm:ss.nnnnnnnnn VV",
            "uuuu-MM-dd HH:mm:ss.SSS x",
        ];
        let instants = [
            0,
            T,
            -1,
            951_782_400_000,
            -2_208_988_800_001,
            4_102_444_799_999,
            -62_167_219_200_000,
        ];
        for pattern in patterns {
            let compiled = DatePattern::compile(pattern).unwrap();
            for ms in instants {
                // A year of era without an era cannot tell 1 BC from 1 AD, as in Java.
                if ms < -62_000_000_000_000 && !pattern.contains('u') {
                    continue;
                }
                for offset in [0, IST, -3 * 3600, -(9 * 3600 + 1800), 14 * 3600] {
                    let t = DateTimeParts::from_epoch_millis(ms, offset);
                    let text = compiled.format(&t);
                    let back = compiled
                        .parse(&text, offset)
                        .unwrap_or_else(|e| panic!("{pattern} {text}: {e}"));
                    assert_eq!(back, t, "{pattern} {text}");
                }
            }
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_iso_duration("PT1H"), Ok(3_600_000));
        assert_eq!(parse_iso_duration("P1DT2H"), Ok(93_600_000));
        assert_eq!(parse_iso_duration("-PT5S"), Ok(-5_000));
        assert_eq!(parse_iso_duration("PT0.5S"), Ok(500));
        assert_eq!(parse_iso_duration("P2D"), Ok(172_800_000));
        assert_eq!(parse_iso_duration("pt1h30m"), Ok(5_400_000));
        assert_eq!(parse_iso_duration("PT-6H3M"), Ok(-21_420_000));
        assert_eq!(parse_iso_duration("PT-0.5S"), Ok(-500));
        assert_eq!(parse_iso_duration("-PT-0.5S"), Ok(500));
        assert_eq!(parse_iso_duration("+P-1DT1.25S"), Ok(-86_398_750));
        assert_eq!(parse_iso_duration("PT1,5S"), Ok(1_500));
        assert_eq!(parse_iso_duration("PT1.S"), Ok(1_000));
        for bad in [
            "",
            "P",
            "PT",
            "P1DT",
            "1H",
            "PT1H2H",
            "PT1M1H",
            "PT1.5H",
            "PT.5S",
            "PT1.1234567891S",
            "P1W",
            "P1Y",
            "PT1S ",
            "garbage",
            "PT9223372036854775807S",
            "PT99999999999999999999S",
            "P1D1H",
            "PTT1H",
            "--PT1S",
        ] {
            assert!(parse_iso_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_function_aliases() {
        assert_eq!(time_function_value("", T, 0).unwrap(), T.to_string());
        assert_eq!(time_function_value("/1000", T, 0).unwrap(), "1700000000");
        assert_eq!(time_function_value("/60000", T, 0).unwrap(), "28333333");
        assert!(time_function_value("/0", T, 0).is_err());
        assert!(time_function_value("/99999999999999999999", T, 0).is_err());
        assert_eq!(time_function_value("YMD", T, 0).unwrap(), "20231114");
        assert_eq!(time_function_value("HMS", T, IST).unwrap(), "034320");
        assert_eq!(
            time_function_value("YMDHMS", T, 0).unwrap(),
            "20231114-221320"
        );
        assert_eq!(time_function_value("USER1", T, 0).unwrap(), "");
        assert_eq!(
            time_function_value("dd.MM.yyyy", T, 0).unwrap(),
            "14.11.2023"
        );
        assert!(time_function_value("/abc", T, 0).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let wild: Vec<char> = "yMdDHhkKmsSnNAEaGzZXxVOuLYbq'[]-:/ .T,+0123456789PZé€"
            .chars()
            .collect();
        let tame: Vec<char> = "yyMMddHHhhmmssSSSEaXXxZ'-:/ .T[]".chars().collect();
        let mut pick = |alphabet: &[char], len: u64| -> String {
            let n = (next() % len) as usize;
            (0..n)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect()
        };
        let mut extremes = [i64::MIN, i64::MAX, 0, -1, T].into_iter().cycle();
        let mut compiled_count = 0;
        for round in 0..600 {
            let pattern = pick(if round % 2 == 0 { &tame } else { &wild }, 16);
            let text = pick(&wild, 24);
            let _ = parse_iso_duration(&text);
            let _ = time_function_value(&pattern, round * 7_919_000_003, 3600);
            let compiled = match DatePattern::compile(&pattern) {
                Ok(p) => p,
                Err(e) => {
                    assert!(!e.message.is_empty());
                    continue;
                }
            };
            compiled_count += 1;
            let offset = [0, IST, i32::MIN, i32::MAX, -64_800][round as usize % 5];
            let ms = if round % 3 == 0 {
                extremes.next().unwrap_or(0)
            } else {
                round * 123_456_789_017 - 40_000_000_000_000
            };
            let formatted = compiled.format(&DateTimeParts::from_epoch_millis(ms, offset));
            let _ = compiled.parse(&formatted, 0);
            let cut = formatted
                .char_indices()
                .map(|(i, _)| i)
                .nth(round as usize % 7)
                .unwrap_or(0);
            let _ = compiled.parse(&format!("{}9{}", &formatted[..cut], &formatted[cut..]), 0);
            let _ = compiled.parse(&formatted[..cut], 0);
            let _ = compiled.parse(&text, offset);
            let garbage = DateTimeParts {
                year: i32::MIN,
                month: u32::MAX,
                day: 0,
                hour: u32::MAX,
                minute: 99,
                second: 61,
                nanos: u32::MAX,
                weekday: 0,
                day_of_year: 999,
                offset_seconds: i32::MIN,
            };
            let _ = compiled.format(&garbage);
            let _ = garbage.to_epoch_millis();
        }
        assert!(
            compiled_count > 200,
            "only {compiled_count} patterns compiled"
        );
    }
}

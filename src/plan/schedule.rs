//! Thread groups of the jmeter-plugins that fix each thread's start and end in advance: the
//! Ultimate Thread Group (rows of threads, delay, startup, hold, shutdown) and the Stepping
//! Thread Group. Both become a list of (start, end) offsets from the group's start, one per
//! thread in thread-number order; the runtime starts each thread at its start and stops it at
//! its end as JMeter's scheduler does (after the current sample).

use std::time::Duration;

/// Seconds as a `Duration`, saturating: a schedule of absurd length must not panic.
pub fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX)
}

/// One thread's start and end, from the group's start.
pub type Span = (Duration, Duration);

/// One Ultimate Thread Group row, in seconds: threads, initial delay, startup, hold, shutdown.
pub type UltimateRow = [u64; 5];

/// The plugin's spacing: within a row of N threads, thread k (from 0) starts at
/// `D + S·(N−k)/N` and ends at `D + S + H + T·(N−k)/N`, so the first-numbered thread starts last
/// and the earliest started stops first. Rows of 0 threads are skipped.
pub fn ultimate(rows: &[UltimateRow]) -> Vec<Span> {
    let mut spans = Vec::new();
    for &[n, delay, startup, hold, shutdown] in rows {
        for k in 0..n {
            let r = n - k;
            let start = 1000 * delay + 1000 * startup * r / n;
            let end = 1000 * (delay + startup + hold) + 1000 * shutdown * r / n;
            spans.push((Duration::from_millis(start), Duration::from_millis(end)));
        }
    }
    spans
}

/// The `threads_schedule` property: `spawn(N, delay, startup, hold, shutdown) spawn(...)`,
/// durations in seconds or with `s`/`m`/`h`/`d` parts (`1m30s`). A chunk it cannot read is
/// returned as an error.
pub fn parse_threads_schedule(text: &str) -> Result<Vec<UltimateRow>, String> {
    let mut rows = Vec::new();
    for chunk in text.split(')') {
        let chunk = chunk.trim();
        if chunk.is_empty() {
            continue;
        }
        let args = chunk.strip_prefix("spawn(").ok_or_else(|| {
            format!("`{chunk})` is not spawn(threads, delay, startup, hold, shutdown)")
        })?;
        let parts: Vec<&str> = args.split(',').map(str::trim).collect();
        if parts.len() != 5 {
            return Err(format!("`{chunk})` needs 5 values"));
        }
        let mut row = [0u64; 5];
        row[0] = parts[0]
            .parse::<u64>()
            .map_err(|_| format!("`{}` is not a thread count", parts[0]))?
            .min(10_000_000);
        for (i, part) in parts.iter().enumerate().skip(1) {
            row[i] = duration_seconds(part)
                .ok_or_else(|| format!("`{part}` is not a duration"))?
                .min(10_000_000);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// `90`, `1m30s`, `2h`, `1d11h23m6s` as seconds.
fn duration_seconds(text: &str) -> Option<u64> {
    if let Ok(n) = text.parse() {
        return Some(n);
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
        total = total.saturating_add(number.parse::<u64>().ok()?.saturating_mul(unit));
        number.clear();
    }
    number.is_empty().then_some(total)
}

/// The Stepping Thread Group's settings, in seconds and counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stepping {
    pub threads: u64,
    pub initial_delay: u64,
    pub start_count: u64,
    pub start_burst: u64,
    pub start_period: u64,
    pub stop_count: u64,
    pub stop_period: u64,
    pub hold: u64,
    pub ramp_up: u64,
}

/// The plugin's schedule: a first burst, then `start_count` threads per step; a step lasts
/// `start_period + ramp_up`, its threads spread over `ramp_up`; after the last step and `hold`,
/// `stop_count` threads stop every `stop_period`, first started first stopped.
pub fn stepping(s: &Stepping) -> Vec<Span> {
    let n = s.threads;
    if n == 0 {
        return Vec::new();
    }
    let in_count = if s.start_count == 0 { n } else { s.start_count };
    let out_count = if s.stop_count == 0 { n } else { s.stop_count };
    let burst = match s.start_burst.min(n) {
        0 => in_count,
        b => b,
    }
    .min(n);
    let ascent = 1000 * s.initial_delay;
    let step = 1000 * s.start_period + 1000 * s.ramp_up;
    let steps = (n - burst).div_ceil(in_count);
    let last = match (n - burst) % in_count {
        0 => in_count,
        r => r,
    };
    let descent = ascent + steps * step + (1000 * s.ramp_up / in_count) * last + 1000 * s.hold;
    (0..n)
        .map(|i| {
            let (bucket, count, position) = if i < burst {
                (0, burst, i)
            } else {
                (1 + (i - burst) / in_count, in_count, (i - burst) % in_count)
            };
            let start = ascent + bucket * step + position * (1000 * s.ramp_up / count);
            let end = descent + 1000 * s.stop_period * (i / out_count);
            (Duration::from_millis(start), Duration::from_millis(end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(spans: &[Span]) -> Vec<(u128, u128)> {
        spans
            .iter()
            .map(|(s, e)| (s.as_millis(), e.as_millis()))
            .collect()
    }

    #[test]
    fn ultimate_rows() {
        // 4 threads after 10 s, started over 8 s, held 60 s, stopped over 4 s.
        assert_eq!(
            ms(&ultimate(&[[4, 10, 8, 60, 4]])),
            [
                (18000, 82000),
                (16000, 81000),
                (14000, 80000),
                (12000, 79000)
            ]
        );
        // No startup: all at once; a 0-thread row is skipped.
        assert_eq!(
            ms(&ultimate(&[[0, 1, 1, 1, 1], [2, 0, 0, 5, 0]])),
            [(0, 5000), (0, 5000)]
        );
    }

    #[test]
    fn threads_schedule_property() {
        assert_eq!(
            parse_threads_schedule("spawn(2, 0, 1m, 1h30s, 10s) spawn(1,5,0,1d,0)").unwrap(),
            [[2, 0, 60, 3630, 10], [1, 5, 0, 86400, 0]]
        );
        assert!(parse_threads_schedule("spawn(1, 2)").is_err());
        assert!(parse_threads_schedule("grow(1,2,3,4,5)").is_err());
    }

    #[test]
    fn stepping_as_the_plugins_example() {
        // N=50, delay 0, 5 threads per step every 5 s with a 2 s ramp-up, no hold, 25 stopped
        // every 5 s.
        let spans = stepping(&Stepping {
            threads: 50,
            start_count: 5,
            start_period: 5,
            ramp_up: 2,
            stop_count: 25,
            stop_period: 5,
            ..Stepping::default()
        });
        let spans = ms(&spans);
        assert_eq!(
            &spans[0..6],
            [
                (0, 65000),
                (400, 65000),
                (800, 65000),
                (1200, 65000),
                (1600, 65000),
                (7000, 65000)
            ]
        );
        assert_eq!(spans[49], (64600, 70000));
        assert_eq!(spans[25].1, 70000);
        assert_eq!(spans[24].1, 65000);
    }
}

/// The BlazeMeter thread groups (jmeter-plugins "Custom Thread Groups") whose threads a starter
/// makes while the test runs, instead of a fixed list.
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic {
    /// Concurrency Thread Group: keeps `target` users running (reached in `steps` steps over
    /// `ramp_up`, or linearly), then holds; a user that ends is replaced at once.
    Concurrency {
        target: u32,
        ramp_up: Duration,
        steps: u64,
        hold: Duration,
    },
    /// Arrivals Thread Groups: iterations start at a rate whatever the response times; each is
    /// run by an idle user, or a new one up to `concurrency_limit`, else dropped.
    Arrivals {
        profile: ArrivalProfile,
        concurrency_limit: Option<u32>,
    },
    /// JMeter's Open Model Thread Group: each arrival is a new user that runs one iteration.
    OpenModel { steps: Vec<OpenStep>, seed: u64 },
}

/// An arrival rate over time.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrivalProfile {
    /// Arrivals Thread Group: `target` per second, reached in steps or linearly over `ramp_up`.
    Ramp {
        per_second: f64,
        ramp_up: f64,
        steps: u64,
        hold: f64,
    },
    /// Free-Form Arrivals Thread Group: rows of (start rate, end rate) per second over seconds.
    FreeForm(Vec<(f64, f64, f64)>),
}

impl Dynamic {
    /// The concurrency a Concurrency Thread Group plans `t` seconds after its start; `None`
    /// once its schedule is over.
    pub fn planned_concurrency(&self, t: f64) -> Option<u32> {
        let Dynamic::Concurrency {
            target,
            ramp_up,
            steps,
            hold,
        } = self
        else {
            return None;
        };
        let (ramp, hold, target) = (ramp_up.as_secs_f64(), hold.as_secs_f64(), *target as f64);
        if t >= ramp + hold {
            return None;
        }
        let level = if ramp == 0.0 || t > ramp {
            target
        } else if *steps > 0 {
            let step = ramp / *steps as f64;
            target / *steps as f64 * ((t / step).floor() + 1.0)
        } else {
            target / ramp * t
        };
        Some(level.round().min(target) as u32)
    }

    /// How long the group's schedule lasts.
    pub fn length(&self) -> Duration {
        match self {
            Dynamic::Concurrency { ramp_up, hold, .. } => *ramp_up + *hold,
            Dynamic::OpenModel { steps, .. } => seconds(steps.iter().map(|s| s.duration).sum()),
            Dynamic::Arrivals { profile, .. } => seconds(match profile {
                ArrivalProfile::Ramp { ramp_up, hold, .. } => ramp_up + hold,
                ArrivalProfile::FreeForm(rows) => rows.iter().map(|r| r.2).sum(),
            }),
        }
    }
}

impl ArrivalProfile {
    /// Arrivals per second `t` seconds after the start; `None` once the schedule is over.
    pub fn rate(&self, t: f64) -> Option<f64> {
        match self {
            ArrivalProfile::Ramp {
                per_second,
                ramp_up,
                steps,
                hold,
            } => {
                if t >= ramp_up + hold {
                    None
                } else if *ramp_up == 0.0 || t > *ramp_up {
                    Some(*per_second)
                } else if *steps > 0 {
                    let step = ramp_up / *steps as f64;
                    Some(per_second / *steps as f64 * ((t / step).floor() + 1.0))
                } else {
                    Some(per_second * t / ramp_up)
                }
            }
            ArrivalProfile::FreeForm(rows) => {
                let mut offset = 0.0;
                for &(start, end, duration) in rows {
                    if t < offset + duration {
                        let progress = if duration > 0.0 {
                            (t - offset) / duration
                        } else {
                            0.0
                        };
                        return Some(start + progress * (end - start));
                    }
                    offset += duration;
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod dynamic_tests {
    use super::*;

    #[test]
    fn concurrency_levels() {
        // The corpus example: 60 users in 3 steps over 30 s, held 180 s.
        let group = Dynamic::Concurrency {
            target: 60,
            ramp_up: Duration::from_secs(30),
            steps: 3,
            hold: Duration::from_secs(180),
        };
        let at = |t: f64| group.planned_concurrency(t);
        assert_eq!(
            (at(0.0), at(9.9), at(10.0), at(25.0), at(31.0)),
            (Some(20), Some(20), Some(40), Some(60), Some(60))
        );
        assert_eq!(at(210.0), None);
        let linear = Dynamic::Concurrency {
            target: 10,
            ramp_up: Duration::from_secs(10),
            steps: 0,
            hold: Duration::ZERO,
        };
        assert_eq!(
            (
                linear.planned_concurrency(0.0),
                linear.planned_concurrency(5.0)
            ),
            (Some(0), Some(5))
        );
    }

    #[test]
    fn arrival_rates() {
        let ramp = ArrivalProfile::Ramp {
            per_second: 5.0,
            ramp_up: 1.0,
            steps: 2,
            hold: 40.0,
        };
        assert_eq!(
            (
                ramp.rate(0.2),
                ramp.rate(0.6),
                ramp.rate(2.0),
                ramp.rate(41.0)
            ),
            (Some(2.5), Some(5.0), Some(5.0), None)
        );
        let free = ArrivalProfile::FreeForm(vec![
            (1.0, 10.0, 10.0),
            (10.0, 20.0, 20.0),
            (20.0, 20.0, 45.0),
        ]);
        assert_eq!(
            (
                free.rate(0.0),
                free.rate(5.0),
                free.rate(20.0),
                free.rate(74.0),
                free.rate(75.0)
            ),
            (Some(1.0), Some(5.5), Some(15.0), Some(20.0), None)
        );
    }
}

/// One stretch of an Open Model Thread Group's schedule: `count` arrivals over `duration`
/// seconds while the rate goes from `begin` to `end` per second, at random (Poisson) or even
/// times; a pause is a stretch with no arrivals.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenStep {
    pub begin: f64,
    pub end: f64,
    pub duration: f64,
    pub count: u64,
    pub random: bool,
}

impl OpenStep {
    /// The time (seconds into the stretch) at which a fraction `u` of its arrivals happened,
    /// for a rate that changes linearly: the inverse of the cumulative rate.
    pub fn time_at(&self, u: f64) -> f64 {
        let slope = (self.end - self.begin) / self.duration;
        let mean = (self.begin + self.end) / 2.0;
        if self.duration <= 0.0 {
            return 0.0;
        }
        // A change under 0.01 % of the mean counts as constant, as in JMeter.
        if mean <= 0.0 || (self.end - self.begin).abs() < mean * 1e-4 {
            return u * self.duration;
        }
        let total = self.begin * self.duration + slope * self.duration * self.duration / 2.0;
        let target = u * total;
        ((self.begin * self.begin + 2.0 * slope * target)
            .max(0.0)
            .sqrt()
            - self.begin)
            / slope
    }
}

/// Parses JMeter's open-model schedule language: `rate(10/sec) random_arrivals(1 min)
/// pause(30 s) even_arrivals(2 min) rate(20/min)`, with `/* */` and `//` comments.
pub fn parse_open_model(text: &str) -> Result<Vec<OpenStep>, String> {
    let tokens = open_model_tokens(text)?;
    let mut i = 0;
    let mut items: Vec<OpenItem> = Vec::new();
    while i < tokens.len() {
        let Token::Word(word) = &tokens[i] else {
            return Err(format!(
                "expected rate, random_arrivals, even_arrivals or pause at `{}`",
                tokens[i]
            ));
        };
        let word = word.to_ascii_lowercase();
        if tokens.get(i + 1) != Some(&Token::Open) {
            return Err(format!("expected `(` after {word}"));
        }
        let close = tokens[i + 2..]
            .iter()
            .position(|t| *t == Token::Close)
            .map(|p| i + 2 + p)
            .ok_or_else(|| format!("`{word}(` is not closed"))?;
        let args = &tokens[i + 2..close];
        items.push(match word.as_str() {
            "rate" => OpenItem::Rate(open_model_rate(args)?),
            "random_arrivals" => OpenItem::Arrivals(open_model_duration(args)?, true),
            "even_arrivals" => OpenItem::Arrivals(open_model_duration(args)?, false),
            "pause" => OpenItem::Pause(open_model_duration(args)?),
            other => return Err(format!("unknown step `{other}`")),
        });
        i = close + 1;
    }
    let mut steps = Vec::new();
    let mut rate = 0.0;
    for (k, item) in items.iter().enumerate() {
        match item {
            OpenItem::Rate(r) => rate = *r,
            OpenItem::Pause(d) => steps.push(OpenStep {
                begin: 0.0,
                end: 0.0,
                duration: *d,
                count: 0,
                random: false,
            }),
            OpenItem::Arrivals(d, random) => {
                // The rate after an arrivals step is where it ends; without one it stays.
                let end = match items.get(k + 1) {
                    Some(OpenItem::Rate(r)) => *r,
                    _ => rate,
                };
                steps.push(OpenStep {
                    begin: rate,
                    end,
                    duration: *d,
                    count: ((rate + end) / 2.0 * d).floor().max(0.0) as u64,
                    random: *random,
                });
            }
        }
    }
    Ok(steps)
}

enum OpenItem {
    Rate(f64),
    Arrivals(f64, bool),
    Pause(f64),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(f64),
    Open,
    Close,
    Slash,
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Word(w) => f.write_str(w),
            Token::Number(n) => write!(f, "{n}"),
            Token::Open => f.write_str("("),
            Token::Close => f.write_str(")"),
            Token::Slash => f.write_str("/"),
        }
    }
}

fn open_model_tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ',' {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let rest: String = chars[i + 2..].iter().collect();
            let end = rest.find("*/").ok_or("a /* comment is not closed")?;
            i += 2 + rest[..end].chars().count() + 2;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' {
            tokens.push(Token::Slash);
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let number: String = chars[start..i].iter().collect();
            tokens.push(Token::Number(
                number
                    .parse()
                    .map_err(|_| format!("`{number}` is not a number"))?,
            ));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            return Err(format!("unexpected `{c}`"));
        }
    }
    Ok(tokens)
}

/// Seconds in a unit: `ms`, `s`/`sec…`, `m`/`min…`, `h`/`hour…`, `d`/`day…`.
fn open_model_unit(word: &str) -> Option<f64> {
    let w = word.to_ascii_lowercase();
    Some(match w.as_str() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ if "seconds".starts_with(&w) && w.len() >= 3 => 1.0,
        _ if "minutes".starts_with(&w) && w.len() >= 3 => 60.0,
        _ if "hours".starts_with(&w) && w.len() >= 4 => 3600.0,
        _ if "days".starts_with(&w) && w.len() >= 3 => 86400.0,
        _ => return None,
    })
}

/// `10/sec`, `36000 per hour`, `0`: arrivals per second.
fn open_model_rate(args: &[Token]) -> Result<f64, String> {
    match args {
        [Token::Number(n)] if *n == 0.0 => Ok(0.0),
        [Token::Number(n), Token::Slash, Token::Word(unit)] => open_model_unit(unit)
            .map(|s| n / s)
            .ok_or_else(|| format!("unknown unit `{unit}`")),
        [Token::Number(n), Token::Word(per), Token::Word(unit)]
            if per.eq_ignore_ascii_case("per") =>
        {
            open_model_unit(unit)
                .map(|s| n / s)
                .ok_or_else(|| format!("unknown unit `{unit}`"))
        }
        [Token::Number(_)] => Err("a rate needs a unit, as in rate(10/sec)".into()),
        _ => Err("a rate is written rate(10/sec)".into()),
    }
}

/// `1 min`, `2d 1m 30s`, `0`: seconds.
fn open_model_duration(args: &[Token]) -> Result<f64, String> {
    match args {
        [Token::Number(n)] if *n == 0.0 => return Ok(0.0),
        [] => return Err("a duration is missing".into()),
        _ => {}
    }
    let mut total = 0.0;
    let mut i = 0;
    while i < args.len() {
        match (&args[i], args.get(i + 1)) {
            (Token::Number(n), Some(Token::Word(unit))) => {
                total +=
                    n * open_model_unit(unit).ok_or_else(|| format!("unknown unit `{unit}`"))?;
                i += 2;
            }
            (Token::Number(n), _) => return Err(format!("`{n}` needs a unit")),
            (other, _) => return Err(format!("unexpected `{other}` in a duration")),
        }
    }
    Ok(total)
}

#[cfg(test)]
mod open_model_tests {
    use super::*;

    #[test]
    fn schedules() {
        let steps = parse_open_model(
            "rate(1/s) random_arrivals(2 min) /* ramp */ even_arrivals(3 min) rate(4 per sec) // end",
        )
        .unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(
            (
                steps[0].begin,
                steps[0].end,
                steps[0].duration,
                steps[0].count
            ),
            (1.0, 1.0, 120.0, 120)
        );
        assert_eq!(
            (
                steps[1].begin,
                steps[1].end,
                steps[1].duration,
                steps[1].count
            ),
            (1.0, 4.0, 180.0, 450)
        );
        assert!(!steps[1].random);
        let steps = parse_open_model("rate(36000/hour) pause(1m 30s) even_arrivals(10s)").unwrap();
        assert_eq!((steps[0].duration, steps[0].count), (90.0, 0));
        assert_eq!(steps[1].count, 100);
        assert!(parse_open_model("rate(10) random_arrivals(1 min)").is_err());
        assert!(parse_open_model("rate(10/fortnight)").is_err());
        assert!(parse_open_model("grow(1)").is_err());
        // Absurd lengths saturate instead of panicking.
        let steps = parse_open_model("rate(1/s) pause(99999999999999999999 d)").unwrap();
        let _ = Dynamic::OpenModel { steps, seed: 1 }.length();
        assert_eq!(
            parse_threads_schedule("spawn(99999999999,99999999999d,1,1,1)").unwrap()[0][0..2],
            [10_000_000, 10_000_000]
        );
        // A linear ramp: half the arrivals before the time where the cumulative rate is half.
        let ramp = OpenStep {
            begin: 0.0,
            end: 10.0,
            duration: 10.0,
            count: 50,
            random: false,
        };
        assert!((ramp.time_at(0.25) - 5.0).abs() < 1e-9);
        assert!((ramp.time_at(1.0) - 10.0).abs() < 1e-9);
    }
}

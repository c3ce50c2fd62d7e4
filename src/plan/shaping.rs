//! The Throughput Shaping Timer (`kg.apc.jmeter.timers.VariableThroughputTimer`, jmeter-plugins),
//! which Taurus generates for `throughput:`. Its `load_profile` is a list of rows
//! `[from rps, to rps, seconds]`; the rate of each second since the timer first ran is
//! interpolated along the rows, and samplers in its scope are held back to that rate.
//!
//! The runtime's half (the shared slot counter and the wait) is in `runtime::shaping`.

use super::diagnostic::DiagnosticKind;
use super::reader::Props;
use crate::jmx::PropValue;

/// One row of the load profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub from_rps: f64,
    pub to_rps: f64,
    pub seconds: u64,
}

/// A compiled shaping timer.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapingTimer {
    pub name: String,
    pub rows: Vec<Row>,
    /// Index of this timer's run-time state.
    pub slot: usize,
}

impl ShapingTimer {
    /// A timer from `(from rps, to rps, seconds)` rows, for tests.
    #[cfg(test)]
    pub fn from_rows(rows: &[(f64, f64, u64)]) -> ShapingTimer {
        ShapingTimer {
            name: "t".into(),
            rows: rows
                .iter()
                .map(|&(from_rps, to_rps, seconds)| Row {
                    from_rps,
                    to_rps,
                    seconds,
                })
                .collect(),
            slot: 0,
        }
    }

    /// The target rate in second `sec` of the schedule (0-based), or `None` once it is over.
    /// As the plugin walks it: the first row covers seconds `0..=d`, each later row the
    /// `d` seconds after, and within a row the rate moves linearly from `from` to `to`.
    pub fn rate(&self, sec: u64) -> Option<f64> {
        let mut left = sec;
        for row in &self.rows {
            if left <= row.seconds {
                if row.seconds == 0 {
                    return Some(row.to_rps);
                }
                let progress = left as f64 / row.seconds as f64;
                return Some(row.from_rps + (row.to_rps - row.from_rps) * progress);
            }
            left -= row.seconds;
        }
        None
    }
}

/// Reads the timer: the JMeter property `<name>.load_profile`, else `load_profile`, else the
/// element's `load_profile` collection.
pub fn shaping_timer(
    p: &mut Props<'_, '_>,
    props: &crate::properties::Properties,
    slot: usize,
) -> ShapingTimer {
    let name = p.element.name.clone();
    let from_property = [format!("{name}.load_profile"), "load_profile".to_string()]
        .into_iter()
        .find_map(|key| props.get(&key).map(|v| (key, v)))
        .filter(|(_, v)| !v.trim().is_empty());
    let rows = match from_property {
        Some((key, text)) => match parse_profile(&text) {
            Ok(rows) => rows,
            Err(message) => {
                p.error(DiagnosticKind::BadValue {
                    prop: key,
                    expected: "a load profile such as `line(1,100,1m) const(100,10m)`",
                    value: format!("{text} ({message})"),
                });
                Vec::new()
            }
        },
        None => rows_from_collection(p),
    };
    if rows.is_empty() {
        p.error(DiagnosticKind::BadValue {
            prop: "load_profile".into(),
            expected: "at least one row",
            value: String::new(),
        });
    }
    ShapingTimer { name, rows, slot }
}

fn rows_from_collection(p: &mut Props<'_, '_>) -> Vec<Row> {
    let Some(PropValue::Collection(items)) = p.element.prop("load_profile").cloned() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for item in items {
        let PropValue::Collection(cells) = &item.value else {
            continue;
        };
        let cells: Vec<String> = cells
            .iter()
            .map(|c| match &c.value {
                PropValue::Scalar(_, text) => text.trim().to_string(),
                _ => String::new(),
            })
            .collect();
        let number = |i: usize| cells.get(i).and_then(|c| c.parse::<f64>().ok());
        match (number(0), number(1), number(2)) {
            (Some(from), Some(to), Some(secs)) if from >= 0.0 && to >= 0.0 && secs >= 0.0 => rows
                .push(Row {
                    from_rps: from,
                    to_rps: to,
                    seconds: secs as u64,
                }),
            _ => {
                p.error(DiagnosticKind::BadValue {
                    prop: "load_profile".into(),
                    expected: "rows of three non-negative numbers: start rps, end rps, seconds",
                    value: cells.join(","),
                });
                return Vec::new();
            }
        }
    }
    rows
}

/// The plugin's profile language: `const(N,T) line(N,K,T) step(N,K,S,T)`, space-separated,
/// with integer rates and durations like `90`, `5m`, `1h30m` or `1d11h23m6s`.
pub fn parse_profile(text: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let open = rest
            .find('(')
            .ok_or_else(|| format!("expected `(` in {rest:?}"))?;
        let close = rest
            .find(')')
            .ok_or_else(|| format!("expected `)` in {rest:?}"))?;
        if close < open {
            return Err(format!("unbalanced parentheses in {rest:?}"));
        }
        let kind = rest[..open].trim();
        let args: Vec<&str> = rest[open + 1..close].split(',').map(str::trim).collect();
        let int = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| format!("{s:?} is not a whole number"))
        };
        match (kind, args.as_slice()) {
            ("const", [n, t]) => {
                let n = int(n)? as f64;
                rows.push(Row {
                    from_rps: n,
                    to_rps: n,
                    seconds: duration(t)?,
                });
            }
            ("line", [n, k, t]) => rows.push(Row {
                from_rps: int(n)? as f64,
                to_rps: int(k)? as f64,
                seconds: duration(t)?,
            }),
            ("step", [n, k, s, t]) => {
                let (from, to, step, secs) = (int(n)?, int(k)?, int(s)?, duration(t)?);
                if step == 0 {
                    return Err("a step of 0".into());
                }
                let mut rate = from;
                while rate <= to {
                    rows.push(Row {
                        from_rps: rate as f64,
                        to_rps: rate as f64,
                        seconds: secs,
                    });
                    rate += step;
                }
            }
            _ => return Err(format!("unknown or malformed `{}`", &rest[..=close])),
        }
        rest = rest[close + 1..].trim_start();
    }
    Ok(rows)
}

/// `90`, `90s`, `5m`, `1h30m`, `1d11h23m6s` in seconds.
fn duration(text: &str) -> Result<u64, String> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(secs);
    }
    let (mut total, mut number) = (0u64, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(format!("bad duration {text:?}")),
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("bad duration {text:?}"))?;
        total += n * unit;
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("bad duration {text:?}: a number without a unit"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_the_plugins_walk() {
        // What Taurus writes for throughput 20, ramp-up 2 s, hold-for 6 s.
        let t = ShapingTimer::from_rows(&[(2.5, 20.0, 2), (20.0, 20.0, 6)]);
        let rates: Vec<Option<f64>> = (0..10).map(|s| t.rate(s)).collect();
        assert_eq!(rates[..3], [Some(2.5), Some(11.25), Some(20.0)]);
        assert!(rates[3..9].iter().all(|r| *r == Some(20.0)));
        assert_eq!(rates[9], None);
    }

    #[test]
    fn profile_language() {
        let rows = parse_profile("line(1,10,1m) const(10,1h30m)  step(5,15,5,10s)").unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(
            rows[0],
            Row {
                from_rps: 1.0,
                to_rps: 10.0,
                seconds: 60
            }
        );
        assert_eq!(rows[1].seconds, 5400);
        assert_eq!(
            rows[2..].iter().map(|r| r.to_rps).collect::<Vec<_>>(),
            [5.0, 10.0, 15.0]
        );
        assert_eq!(
            duration("1d11h23m6s").unwrap(),
            86400 + 11 * 3600 + 23 * 60 + 6
        );
        for bad in [
            "const(1)",
            "line(1,2,3",
            "wave(1,2)",
            "const(1.5,10)",
            "const(1,10x)",
            "step(1,5,0,1)",
        ] {
            assert!(parse_profile(bad).is_err(), "{bad}");
        }
    }
}

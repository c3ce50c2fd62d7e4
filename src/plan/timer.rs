//! Timers: their delays are summed before each sampler in their scope.

use std::time::Duration;

use super::reader::Props;
use super::template::Template;

/// A timer with its `${}` settings compiled; numbers are parsed when the delay is drawn.
#[derive(Debug)]
pub enum Timer {
    Constant {
        delay: Template,
    },
    /// `delay + uniform(0, range)`.
    UniformRandom {
        delay: Template,
        range: Template,
    },
    /// `|gaussian * deviation + delay|`.
    GaussianRandom {
        delay: Template,
        deviation: Template,
    },
    /// `delay + poisson(lambda)`.
    PoissonRandom {
        delay: Template,
        lambda: Template,
    },
    /// Holds samplers back to a rate (the runtime waits for a slot); draws no delay.
    Shaping(super::shaping::ShapingTimer),
    /// Constant Throughput Timer: the runtime computes the delay from the last scheduled time.
    ConstantThroughput(ConstantThroughput),
    /// Precise Throughput Timer: each sample takes the next time of a shared random schedule.
    PreciseThroughput(PreciseThroughput),
    /// Synchronizing Timer: users wait here until `group_size` of them arrived.
    Sync(SyncTimer),
}

/// A Synchronizing Timer.
#[derive(Debug)]
pub struct SyncTimer {
    /// Users to gather; 0 or empty: all the users of the thread group.
    pub group_size: Template,
    /// Release whoever waits after this long (0: wait as long as it takes).
    pub timeout: std::time::Duration,
    pub slot: usize,
}

pub fn sync_timer(p: &mut Props<'_, '_>, slot: usize) -> SyncTimer {
    SyncTimer {
        group_size: p.template("groupSize"),
        timeout: std::time::Duration::from_millis(p.int("timeoutInMs", 0).max(0) as u64),
        slot,
    }
}

/// A Precise Throughput Timer: `throughput` samples per `period`, at random (Poisson-like)
/// times, with exactly that many in each stretch of the schedule.
#[derive(Debug)]
pub struct PreciseThroughput {
    pub throughput: Template,
    pub period: f64,
    /// Seconds the exact count is planned over (shorter when it would exceed `exact_limit`).
    pub duration: f64,
    pub exact_limit: f64,
    /// Samples per scheduled time, `batch_delay` apart.
    pub batch_size: u32,
    pub batch_delay: std::time::Duration,
    /// 0: a new schedule each run.
    pub seed: u64,
    pub slot: usize,
}

pub fn precise_throughput(p: &mut Props<'_, '_>, slot: usize) -> PreciseThroughput {
    let number = |p: &mut Props<'_, '_>, name: &str, default: f64| {
        let text = p.text(name).trim().to_string();
        if text.is_empty() {
            return default;
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                p.error(super::diagnostic::DiagnosticKind::BadValue {
                    prop: name.to_string(),
                    expected: "a number",
                    value: text,
                });
                default
            }
        }
    };
    PreciseThroughput {
        throughput: p.template("throughput"),
        period: number(p, "throughputPeriod", 3600.0).max(0.001),
        duration: number(p, "duration", 3600.0).max(1.0),
        exact_limit: number(p, "exactLimit", 10000.0).max(1.0),
        batch_size: number(p, "batchSize", 1.0).max(1.0) as u32,
        batch_delay: std::time::Duration::from_millis(
            number(p, "batchThreadDelay", 0.0).max(0.0) as u64
        ),
        seed: number(p, "randomSeed", 0.0) as u64,
        slot,
    }
}

/// Who a Constant Throughput Timer's rate is for (`calcMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThroughputMode {
    /// 0: each thread on its own.
    ThisThread,
    /// 1: all active threads (each waits `threads × interval` after its own last sample).
    AllActiveThreads,
    /// 2: all active threads of the thread group.
    ActiveThreadsInGroup,
    /// 3: all threads share one schedule.
    SharedAll,
    /// 4: the threads of each group share one schedule.
    SharedInGroup,
}

/// A Constant Throughput Timer.
#[derive(Debug)]
pub struct ConstantThroughput {
    /// Samples per minute.
    pub per_minute: Template,
    pub mode: ThroughputMode,
    /// Index of its run-time state.
    pub slot: usize,
}

pub fn constant_throughput(p: &mut Props<'_, '_>, slot: usize) -> Option<ConstantThroughput> {
    // The TestBean saves the mode as its number, or in old plans as its English name.
    let mode = match p.text("calcMode").trim().to_ascii_lowercase().as_str() {
        "" | "0" | "this thread only" => ThroughputMode::ThisThread,
        "1" | "all active threads" => ThroughputMode::AllActiveThreads,
        "2" | "all active threads in current thread group" => ThroughputMode::ActiveThreadsInGroup,
        "3" | "all active threads (shared)" => ThroughputMode::SharedAll,
        "4" | "all active threads in current thread group (shared)" => {
            ThroughputMode::SharedInGroup
        }
        other => {
            p.error(super::diagnostic::DiagnosticKind::BadValue {
                prop: "calcMode".into(),
                expected: "0 to 4 or a mode's name (this thread only, all active threads, ...)",
                value: other.to_string(),
            });
            return None;
        }
    };
    Some(ConstantThroughput {
        per_minute: p.template("throughput"),
        mode,
        slot,
    })
}

pub fn timer(p: &mut Props<'_, '_>) -> Timer {
    let delay = p.template("ConstantTimer.delay");
    match p.element.testclass.as_str() {
        "UniformRandomTimer" => Timer::UniformRandom {
            delay,
            range: p.template("RandomTimer.range"),
        },
        "GaussianRandomTimer" => Timer::GaussianRandom {
            delay,
            deviation: p.template("RandomTimer.range"),
        },
        "PoissonRandomTimer" => Timer::PoissonRandom {
            delay,
            lambda: p.template("RandomTimer.range"),
        },
        _ => Timer::Constant { delay },
    }
}

/// Draws a delay from rendered settings. Unparseable numbers count as 0, as in JMeter's logs-and-go.
pub fn draw(
    timer: &Timer,
    render: &mut dyn FnMut(&Template) -> String,
    rng: &mut fastrand::Rng,
) -> Duration {
    let num = |s: String| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .unwrap_or(0.0)
    };
    let ms = match timer {
        Timer::Constant { delay } => num(render(delay)),
        Timer::UniformRandom { delay, range } => {
            (rng.f64() * num(render(range))).abs() + num(render(delay))
        }
        Timer::GaussianRandom { delay, deviation } => {
            (gaussian(rng) * num(render(deviation)) + num(render(delay))).abs()
        }
        Timer::PoissonRandom { delay, lambda } => {
            num(render(delay)) + poisson(rng, num(render(lambda)))
        }
        Timer::Shaping(_)
        | Timer::ConstantThroughput(_)
        | Timer::PreciseThroughput(_)
        | Timer::Sync(_) => 0.0,
    };
    Duration::from_millis(ms.max(0.0) as u64)
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut fastrand::Rng) -> f64 {
    let u1 = rng.f64().max(f64::MIN_POSITIVE);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A Poisson draw: Knuth's method for small lambda, a normal approximation for large.
fn poisson(rng: &mut fastrand::Rng, lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    if lambda > 500.0 {
        return (lambda + gaussian(rng) * lambda.sqrt()).round().max(0.0);
    }
    let limit = (-lambda).exp();
    let mut k = 0.0;
    let mut p = rng.f64();
    while p > limit {
        k += 1.0;
        p *= rng.f64();
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_range() {
        let mut rng = fastrand::Rng::with_seed(1);
        let uniform = Timer::UniformRandom {
            delay: Template::literal("100"),
            range: Template::literal("50"),
        };
        let mut render = |t: &Template| t.as_literal().unwrap_or("").to_string();
        for _ in 0..1000 {
            let d = draw(&uniform, &mut render, &mut rng).as_millis();
            assert!((100..150).contains(&d), "{d}");
        }
        let poisson_timer = Timer::PoissonRandom {
            delay: Template::literal("0"),
            lambda: Template::literal("20"),
        };
        let mean: f64 = (0..2000)
            .map(|_| draw(&poisson_timer, &mut render, &mut rng).as_millis() as f64)
            .sum::<f64>()
            / 2000.0;
        assert!((18.0..22.0).contains(&mean), "{mean}");
    }
}

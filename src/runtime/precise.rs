//! Precise Throughput Timers: one schedule of sample times per timer, shared by every user.
//! As JMeter's, the times are random (a Poisson process) yet exact in number: each stretch of
//! the schedule holds `rate × length` times drawn uniformly and sorted, which is a Poisson
//! process conditioned on its count. Users take the next time under a short lock.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::plan::timer::PreciseThroughput;

/// One timer's schedule, made on first use with the rate its first user computes.
#[derive(Debug, Default)]
pub struct PreciseState {
    inner: Mutex<Option<Schedule>>,
}

#[derive(Debug)]
struct Schedule {
    /// Times per second.
    rate: f64,
    /// Length of each stretch with an exact count, seconds.
    stretch: f64,
    next_stretch: f64,
    /// Planned times (seconds since the run's start) not yet taken.
    queue: VecDeque<f64>,
    rng: fastrand::Rng,
    /// The current batch: its time and how many users took it.
    batch_time: f64,
    batch_taken: u32,
}

impl PreciseState {
    /// The time (seconds since the run's start) the caller's sample is due, and its place in
    /// its batch; `None` when the rate is not positive.
    pub fn take(
        &self,
        timer: &PreciseThroughput,
        now: f64,
        rate: impl FnOnce() -> f64,
    ) -> Option<(f64, u32)> {
        let mut guard = match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.is_none() {
            let per_second = rate() / timer.period;
            if !(per_second > 0.0 && per_second.is_finite()) {
                return None;
            }
            let stretch = if per_second * timer.duration <= timer.exact_limit {
                timer.duration
            } else {
                timer.exact_limit / per_second
            };
            *guard = Some(Schedule {
                rate: per_second,
                stretch,
                // The schedule begins when the timer is first used.
                next_stretch: now,
                queue: VecDeque::new(),
                rng: if timer.seed == 0 {
                    fastrand::Rng::new()
                } else {
                    fastrand::Rng::with_seed(timer.seed)
                },
                batch_time: 0.0,
                batch_taken: timer.batch_size,
            });
        }
        let schedule = guard.as_mut()?;
        if schedule.batch_taken < timer.batch_size {
            schedule.batch_taken += 1;
            return Some((schedule.batch_time, schedule.batch_taken - 1));
        }
        while schedule.queue.is_empty() {
            schedule.plan_stretch();
        }
        let at = schedule.queue.pop_front()?;
        schedule.batch_time = at;
        schedule.batch_taken = 1;
        Some((at, 0))
    }
}

impl Schedule {
    /// The next stretch: `rate × length` times (the fraction carried by chance), uniform, sorted.
    fn plan_stretch(&mut self) {
        let start = self.next_stretch;
        self.next_stretch += self.stretch;
        let expected = self.rate * self.stretch;
        let mut count = expected.floor() as usize;
        if self.rng.f64() < expected - expected.floor() {
            count += 1;
        }
        let mut times: Vec<f64> = (0..count)
            .map(|_| start + self.rng.f64() * self.stretch)
            .collect();
        times.sort_by(f64::total_cmp);
        self.queue.extend(times);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Template;

    fn timer(batch: u32) -> PreciseThroughput {
        PreciseThroughput {
            throughput: Template::literal(""),
            period: 3600.0,
            duration: 3600.0,
            exact_limit: 100.0,
            batch_size: batch,
            batch_delay: std::time::Duration::ZERO,
            seed: 7,
            slot: 0,
        }
    }

    #[test]
    fn exact_count_in_each_stretch_and_sorted() {
        // 36,000 per hour = 10/s; stretches of 10 s (exactLimit 100).
        let t = timer(1);
        let state = PreciseState::default();
        let times: Vec<f64> = (0..300)
            .map(|_| state.take(&t, 0.0, || 36000.0).unwrap().0)
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        for stretch in 0..3 {
            let lo = stretch as f64 * 10.0;
            let n = times.iter().filter(|&&x| x >= lo && x < lo + 10.0).count();
            assert_eq!(n, 100, "stretch {stretch}");
        }
    }

    #[test]
    fn batches_share_a_time() {
        let t = timer(3);
        let state = PreciseState::default();
        let taken: Vec<(f64, u32)> = (0..6)
            .map(|_| state.take(&t, 0.0, || 3600.0).unwrap())
            .collect();
        assert_eq!(taken[0].0, taken[2].0);
        assert_eq!(
            (taken[0].1, taken[1].1, taken[2].1, taken[3].1),
            (0, 1, 2, 0)
        );
        assert!(taken[3].0 >= taken[0].0);
        assert!(PreciseState::default().take(&t, 0.0, || 0.0).is_none());
    }
}

//! Run-time state of Throughput Shaping Timers: one shared slot counter per timer.
//!
//! Like the plugin, each second of the schedule has `ceil(rate)` slots, the k-th at
//! `k / rate` seconds into it; unused slots are lost when the second ends, and a thread that
//! arrives late in a second takes the slots whose time has passed at once. A caller reserves
//! the next free slot with one compare-and-swap (no lock) and then sleeps until its time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::plan::shaping::ShapingTimer;

/// One timer's state, shared by every user.
#[derive(Debug, Default)]
pub struct ShapingState {
    /// When the first user reached the timer: second 0 of the schedule.
    start: OnceLock<Instant>,
    /// `(second << 32) | slots given out in that second`, for the latest second with a slot.
    slots: AtomicU64,
    /// The end of the schedule has been logged.
    ended: AtomicBool,
}

/// When a user may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    At(Instant),
    /// The schedule is over: the user stops.
    Over,
}

impl ShapingState {
    /// Reserves the next slot at or after `now`.
    pub fn reserve(&self, timer: &ShapingTimer, now: Instant) -> Slot {
        let start = *self.start.get_or_init(|| now);
        let current = now.saturating_duration_since(start).as_secs();
        let mut seen = self.slots.load(Ordering::Acquire);
        loop {
            let (sec, used) = unpack(seen);
            let (mut sec, mut used) = if sec < current {
                (current, 0)
            } else {
                (sec, used)
            };
            // Find the first second (from `sec`) with a free slot.
            let rate = loop {
                let Some(rate) = timer.rate(sec) else {
                    if !self.ended.swap(true, Ordering::Relaxed) {
                        tracing::info!(
                            "{}: No further RPS schedule, asking threads to stop...",
                            timer.name
                        );
                    }
                    return Slot::Over;
                };
                if rate > 0.0 && (used as f64) < rate.ceil() {
                    break rate;
                }
                sec += 1;
                used = 0;
            };
            match self.slots.compare_exchange_weak(
                seen,
                pack(sec, used + 1),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    let offset =
                        Duration::from_secs(sec) + Duration::from_secs_f64(used as f64 / rate);
                    return Slot::At(start + offset);
                }
                Err(actual) => seen = actual,
            }
        }
    }
}

fn pack(sec: u64, used: u64) -> u64 {
    (sec.min(u32::MAX as u64) << 32) | used.min(u32::MAX as u64)
}

fn unpack(packed: u64) -> (u64, u64) {
    (packed >> 32, packed & u32::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots are spread through each second at the scheduled rate, and end with the schedule.
    #[test]
    fn slots_follow_the_schedule() {
        let t = ShapingTimer::from_rows(&[(4.0, 4.0, 1), (2.5, 2.5, 1)]);
        let state = ShapingState::default();
        let t0 = Instant::now();
        let mut at = Vec::new();
        while let Slot::At(i) = state.reserve(&t, t0) {
            at.push(i.duration_since(t0).as_millis());
        }
        // Second 0 and 1 at 4/s, second 2 at 2.5/s: ceil(2.5) = 3 slots, 400 ms apart.
        assert_eq!(
            at,
            [0, 250, 500, 750, 1000, 1250, 1500, 1750, 2000, 2400, 2800]
        );
    }

    /// A caller arriving late in a second takes the past slots at once; lost seconds stay lost.
    #[test]
    fn late_callers_burst_and_unused_seconds_are_lost() {
        let t = ShapingTimer::from_rows(&[(10.0, 10.0, 100)]);
        let state = ShapingState::default();
        let t0 = Instant::now();
        assert_eq!(state.reserve(&t, t0), Slot::At(t0));
        let later = t0 + Duration::from_millis(5_900);
        let Slot::At(first) = state.reserve(&t, later) else {
            panic!("schedule over")
        };
        assert_eq!(first.duration_since(t0).as_millis(), 5_000);
        assert_eq!(unpack(state.slots.load(Ordering::Relaxed)), (5, 1));
    }

    #[test]
    fn many_threads_get_distinct_slots() {
        let t = std::sync::Arc::new(ShapingTimer::from_rows(&[(1000.0, 1000.0, 10)]));
        let state = std::sync::Arc::new(ShapingState::default());
        let t0 = Instant::now();
        let _ = state.start.set(t0);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (t, state) = (t.clone(), state.clone());
                std::thread::spawn(move || {
                    (0..500)
                        .map(|_| match state.reserve(&t, t0) {
                            Slot::At(i) => i.duration_since(t0).as_micros(),
                            Slot::Over => u128::MAX,
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<u128> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 2000, "every slot given once");
        assert_eq!(
            *all.last().unwrap(),
            1_999_000,
            "2000 slots at 1000/s end at 1.999 s"
        );
    }
}

//! The starters of the BlazeMeter thread groups (Concurrency, Arrivals, Free-Form Arrivals):
//! they make users while the test runs, as the plugin's starter thread does, instead of a fixed
//! list along a ramp-up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{vu, Shared};
use crate::plan::schedule::{seconds, Dynamic};

/// The arrivals an Arrivals Thread Group hands to its idle users: one permit per iteration.
#[derive(Debug)]
pub struct Arrivals {
    permits: Semaphore,
    /// Users waiting for an arrival.
    idle: AtomicUsize,
}

impl Default for Arrivals {
    fn default() -> Arrivals {
        Arrivals {
            permits: Semaphore::new(0),
            idle: AtomicUsize::new(0),
        }
    }
}

impl Arrivals {
    /// Waits for the next arrival; false when the schedule is over (or the run stops).
    pub async fn next(&self, stop: &mut tokio::sync::watch::Receiver<u8>) -> bool {
        self.idle.fetch_add(1, Ordering::SeqCst);
        let got = tokio::select! {
            permit = self.permits.acquire() => match permit {
                Ok(permit) => {
                    permit.forget();
                    true
                }
                Err(_) => false,
            },
            _ = stop.changed() => false,
        };
        self.idle.fetch_sub(1, Ordering::SeqCst);
        got
    }

    /// Gives an arrival to an idle user; false when none is idle.
    fn offer(&self) -> bool {
        if self.idle.load(Ordering::SeqCst) > self.permits.available_permits() {
            self.permits.add_permits(1);
            true
        } else {
            false
        }
    }
}

/// Runs a BlazeMeter thread group to its end; returns how many users it started.
pub(super) async fn run(
    shared: Arc<Shared>,
    index: usize,
    number_in_series: usize,
    dynamic: &Dynamic,
) -> u64 {
    let group = shared.group(index);
    let start = Instant::now();
    // An absurdly long schedule ends in thirty years rather than overflow the clock.
    let after = |d: Duration| {
        start
            .checked_add(d)
            .unwrap_or_else(|| start + Duration::from_secs(30 * 365 * 86400))
    };
    let end = after(dynamic.length());
    let mut users = JoinSet::new();
    let mut made: u32 = 0;
    let mut stop_rx = shared.stop.subscribe();
    // The plugin names its users after its starter thread; JMeter's open model as usual.
    let starter = if matches!(dynamic, Dynamic::OpenModel { .. }) {
        ""
    } else {
        "-ThreadStarter"
    };
    let mut spawn = |users: &mut JoinSet<()>, arrivals: Option<Arc<Arrivals>>| {
        made += 1;
        let name: Arc<str> =
            format!("{}{starter} {}-{}", group.name, number_in_series, made).into();
        let mut user =
            vu::VirtualUser::new(shared.clone(), index, made, name, Some(end.into_std()));
        if let Some(arrivals) = arrivals {
            user = user.on_arrivals(arrivals);
        }
        users.spawn(user.run());
    };
    match dynamic {
        Dynamic::OpenModel { steps, seed } => {
            let mut rng = if *seed == 0 {
                fastrand::Rng::new()
            } else {
                fastrand::Rng::with_seed(*seed)
            };
            let mut offset = 0.0;
            'steps: for step in steps {
                // Sorted uniforms one at a time: each is the least of the ones left.
                let mut u = 0.0f64;
                for k in 0..step.count {
                    let fraction = if step.random {
                        let left = (step.count - k) as f64;
                        u += (1.0 - u) * (1.0 - rng.f64().powf(1.0 / left));
                        u
                    } else {
                        k as f64 / step.count as f64
                    };
                    let at = after(seconds(offset + step.time_at(fraction)));
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = stop_rx.changed() => {}
                    }
                    while users.try_join_next().is_some() {}
                    if shared.stop.is_stopping() {
                        break 'steps;
                    }
                    spawn(&mut users, None);
                }
                offset += step.duration;
            }
            // The schedule's trailing time (a final pause) is waited out too, unless stopping.
            if !shared.stop.is_stopping() {
                tokio::select! {
                    _ = tokio::time::sleep_until(end) => {}
                    _ = stop_rx.changed() => {}
                }
            }
        }
        Dynamic::Concurrency { .. } => loop {
            if shared.stop.is_stopping() {
                break;
            }
            let t = start.elapsed().as_secs_f64();
            let Some(level) = dynamic.planned_concurrency(t) else {
                break;
            };
            while (users.len() as u32) < level {
                spawn(&mut users, None);
            }
            // The plugin looks again each second, or as soon as a user ends.
            let wait = if users.is_empty() {
                Duration::from_millis(10)
            } else {
                Duration::from_secs(1)
            };
            tokio::select! {
                _ = users.join_next(), if !users.is_empty() => {}
                _ = tokio::time::sleep(wait.min(end.saturating_duration_since(Instant::now()))) => {}
                _ = stop_rx.changed() => {}
            }
        },
        Dynamic::Arrivals {
            profile,
            concurrency_limit,
        } => {
            let arrivals = Arc::new(Arrivals::default());
            let mut rolling = 0.0f64;
            loop {
                let at = after(seconds(rolling));
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = stop_rx.changed() => {}
                }
                // Reap the users that ended.
                while users.try_join_next().is_some() {}
                if shared.stop.is_stopping() {
                    break;
                }
                let Some(rate) = profile.rate(rolling) else {
                    break;
                };
                if rate <= 0.0 {
                    // No arrivals for now: look again in 200 ms, as the plugin does.
                    rolling += 0.2;
                    continue;
                }
                if !arrivals.offer() {
                    let busy = users.len() as u32;
                    if concurrency_limit.is_none_or(|limit| busy < limit) {
                        arrivals.permits.add_permits(1);
                        spawn(&mut users, Some(arrivals.clone()));
                    }
                    // Else the arrival is dropped, as the plugin drops it.
                }
                rolling += 1.0 / rate;
            }
            // The schedule is over: idle users leave, busy ones stop before their next sampler.
            arrivals.permits.close();
        }
    }
    while users.join_next().await.is_some() {}
    made as u64
}

//! Wall-clock helpers: JTL timestamps are epoch milliseconds, JMeter's `__time` uses local time.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn epoch_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The local time zone's offset from UTC now, in seconds.
pub fn utc_offset_seconds() -> i32 {
    chrono::Local::now().offset().local_minus_utc()
}

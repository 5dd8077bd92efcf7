//! Wall-clock times for what crosses processes, derived from the one clock.
//!
//! Ages shared over Redis must mean the same in every replica, so they are
//! wall-clock milliseconds since the Unix epoch. They are not read from
//! `SystemTime` at each use but derived from the crate's one clock: the wall
//! time when this process first asked, plus `tokio::time::Instant` elapsed
//! since. A paused tokio runtime therefore ages shared entries exactly as it
//! ages local ones, and a wall clock stepped by NTP mid-run moves no age.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::clock::{self, Instant};

/// The wall time, in Unix milliseconds, of `instant` on the one clock.
pub(crate) fn millis_at(instant: Instant) -> u64 {
    let (wall, origin) = origin();
    wall.saturating_add(clock::millis(instant.saturating_duration_since(origin)))
}

/// The wall time now, in Unix milliseconds.
pub(crate) fn now_millis() -> u64 {
    millis_at(clock::now())
}

fn origin() -> (u64, Instant) {
    static ORIGIN: OnceLock<(u64, Instant)> = OnceLock::new();
    *ORIGIN.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, clock::millis);
        (wall, clock::now())
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_drives_wall_time() {
        let before = now_millis();
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(now_millis() - before, 10_000);
    }

    #[test]
    fn wall_time_is_near_the_system_clock() {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, clock::millis);
        // Within a day: the origin may have been taken by a paused test.
        assert!(now_millis().abs_diff(system) < 86_400_000);
    }
}

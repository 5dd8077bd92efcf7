//! The Python stale-cache decorator's own example: `fetch_user_profile`
//! fails two calls in three, behind `#[stale_cache(maxage = 3, tolerance = 15)]`.
//!
//! ```text
//! cargo run --example profile_cache
//! ```
//!
//! Runs on tokio's paused clock: 30 simulated seconds, printed at once.

use std::time::Duration;

use resilience_examples::twins::Schedule;
use resilience_examples::twins::profile_cache::run;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let mut rng = fastrand::Rng::with_seed(3);
    let upstream = Schedule::new((0..200).map(|_| rng.u8(0..3) == 0)); // fails 2 calls in 3
    for (at, served) in run(upstream, 30, Duration::from_secs(1)).await {
        println!(
            "t={:>2} s  fetch_user_profile(\"123\"): {served}",
            at.as_secs()
        );
    }
}

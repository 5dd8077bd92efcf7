//! The pybreaker classic: a payment gateway behind a breaker that opens at
//! 50 % failures over 10 s for 60 s, answering from a fallback that queues
//! the payment instead of failing it.
//!
//! ```text
//! cargo run --example payment_gateway
//! ```
//!
//! Runs on tokio's paused clock: 80 simulated seconds, printed at once.

use std::time::Duration;

use resilience_examples::twins::Schedule;
use resilience_examples::twins::payment_gateway::run;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    // Healthy, then failing; healthy again by the time the breaker probes.
    let psp = Schedule::new([true, true, false, true, false, false]);
    for attempt in run(psp, Duration::from_secs(2), Duration::from_secs(80)).await {
        println!("{attempt}");
    }
}

//! Overload, simulated: retry amplification through a chain of services,
//! and a brown-out met by a rate breaker and by a throttling one. On a
//! paused clock with seeded draws, so every run prints the same tables
//! (BENCHMARKS.md holds them).
//!
//! ```text
//! cargo run --example overload
//! ```

use resilience_examples::overload::{self, Limit, Mode, Retries};

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    println!("Retry amplification: 3 services, each #[retry(max = 3)], to a dead 4th;");
    println!("20 000 user requests at 1 000 a second.\n");
    println!("| retries at each layer | attempts at the bottom | per user request |");
    println!("| --- | ---: | ---: |");
    for (label, retries) in [
        ("`#[retry(max = 3)]`", Retries::Plain),
        ("with a retry budget per layer", Retries::Budget),
        (
            "with a budget, and not retrying what the layer below retried or shed",
            Retries::BudgetAndSignal,
        ),
    ] {
        let chain = overload::amplification(retries, 20_000).await;
        println!(
            "| {label} | {} | {:.2}x |",
            chain.bottom_attempts,
            chain.factor()
        );
    }

    println!("\nOverload step: a dependency of 20 calls x 50 ms at a time (400 a second);");
    println!("10 s at 0.8x, then 20 s at 3x; callers give up after 250 ms. The last 10 s:\n");
    println!("| limit | goodput (of capacity) | admitted p99 | unloaded p99 |");
    println!("| --- | ---: | ---: | ---: |");
    for (label, limit) in [
        ("no bulkhead", Limit::None),
        ("`#[bulkhead(max_concurrent = 20)]`", Limit::Fixed),
        (
            "`#[bulkhead(max_concurrent = 100, max_wait = \"50ms\", adaptive = true)]`",
            Limit::Adaptive,
        ),
    ] {
        let step = overload::overload_step(limit).await;
        println!(
            "| {label} | {:.0} % | {} ms | {} ms |",
            step.goodput * 100.0,
            step.admitted_p99.as_millis(),
            step.unloaded_p99.as_millis()
        );
    }

    println!("\nBrown-out: 100 calls a second, half failing for 60 s, then none for 60 s.\n");
    println!(
        "| breaker | transitions | calls sent / accepted (brown-out) | sent of offered | full traffic back after |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (label, mode) in [
        ("`failure_rate = 0.5, open_for = 10`", Mode::Rate),
        ("`throttle = 2`", Mode::Throttle),
    ] {
        let run = overload::brown_out(mode, 26).await;
        println!(
            "| {label} | {} | {} / {} = {:.2} | {} of {} | {} s |",
            run.transitions,
            run.sent,
            run.accepted,
            run.load_per_accepted(),
            run.sent,
            run.offered,
            run.back_after_secs
        );
    }
}

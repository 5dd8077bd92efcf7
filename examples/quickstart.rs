//! Quick start: `#[retry]` on a flaky upstream that fails two calls in three,
//! as in the Python original our users migrate from.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use resilience_runtime::retry;

#[derive(Debug, Clone)]
struct Profile {
    id: String,
    name: String,
}

#[derive(Debug)]
enum ApiError {
    Timeout,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Timeout => f.write_str("network timeout or service unavailable"),
        }
    }
}

/// The simulated upstream: each call fails with probability 2/3, from a
/// seeded generator so every run prints the same story.
struct FlakyUpstream {
    rng: Mutex<fastrand::Rng>,
    calls: AtomicU32,
}

static UPSTREAM: FlakyUpstream = FlakyUpstream {
    rng: Mutex::new(fastrand::Rng::with_seed(4)),
    calls: AtomicU32::new(0),
};

impl FlakyUpstream {
    fn fetch(&self, user_id: &str) -> Result<Profile, ApiError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.rng.lock().unwrap().u8(0..3) < 2 {
            return Err(ApiError::Timeout);
        }
        Ok(Profile {
            id: user_id.to_string(),
            name: format!("User-{user_id}"),
        })
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Three attempts in all, waiting 50 ms then 100 ms (with equal jitter).
#[retry(max = 3, backoff = "exp", delay = "50ms")]
async fn fetch_user_profile(user_id: String) -> Result<Profile, ApiError> {
    UPSTREAM.fetch(&user_id)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Show the library's own events (target `resilience`) under each call.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_ansi(ansi)
        .compact()
        .init();

    let (mut first_try, mut recovered, mut failed) = (0, 0, 0);
    for call in 1..=8 {
        let before = UPSTREAM.calls();
        let result = fetch_user_profile(format!("{call}")).await;
        let attempts = UPSTREAM.calls() - before;
        match &result {
            Ok(profile) if attempts == 1 => {
                first_try += 1;
                println!(
                    "call {call}: {} ({}) on the first attempt",
                    profile.name, profile.id
                );
            }
            Ok(profile) => {
                recovered += 1;
                println!(
                    "call {call}: {} ({}) after {attempts} attempts",
                    profile.name, profile.id
                );
            }
            Err(error) => {
                failed += 1;
                println!("call {call}: failed after {attempts} attempts: {error}");
            }
        }
    }
    println!(
        "\nsummary: {first_try} first-try, {recovered} recovered by retrying, {failed} failed; \
         {} upstream calls for 8 requests",
        UPSTREAM.calls()
    );
}

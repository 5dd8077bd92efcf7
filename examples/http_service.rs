//! An HTTP service whose recoveries can be seen: `GET /profile/{id}` goes
//! through `#[fallback] #[stale_cache] #[bulkhead] #[breaker] #[retry]` to
//! an upstream that fails two calls in three, and every response says what
//! it took; `GET /profile/{id}/live`, without cache or fallback, answers
//! `503` with `Retry-After` while the breaker is open.
//!
//! ```text
//! cargo run --example http_service          # PORT, FAILURE_RATE, SEED override
//! curl -i http://127.0.0.1:3000/profile/42  # X-Retry-Count, X-Fallback, X-Stale-Age, X-Trace-Id
//! curl -i http://127.0.0.1:3000/profile/42/live  # 503 and Retry-After while the breaker is open
//! curl http://127.0.0.1:3000/metrics        # retry_attempts_total, breakers_state, ...
//! open http://127.0.0.1:3000/resilience     # the status page (its JSON: /resilience.json)
//!
//! # the status page's controls, with a token of your own
//! RESILIENCE_ADMIN_TOKEN=$(openssl rand -hex 32) cargo run --example http_service
//! curl -X POST -H "Authorization: Bearer $RESILIENCE_ADMIN_TOKEN" \
//!      http://127.0.0.1:3000/resilience/breakers/profile-service/open
//!
//! # two instances sharing their cache and breaker over one Redis
//! REDIS_URL=redis://127.0.0.1:6379 cargo run --example http_service --features redis
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use resilience_examples::http_service::{
    Config, Upstream, app, connect_fleet, install_metrics, serve,
};

#[tokio::main]
async fn main() -> ExitCode {
    // Colour only on a terminal, so a redirected log stays plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("http_service: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let config = Config::from_env()?;
    // Before the first decorated call: breakers and caches keep the metric
    // handles they take then.
    let metrics = install_metrics()?;
    // And the fleet, when there is one to share with.
    let redis_url = std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty());
    if let Some(url) = &redis_url {
        connect_fleet(url).await?;
    }
    let upstream = Arc::new(Upstream::new(config.failure_rate, config.seed));
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|error| {
            format!(
                "cannot listen on {}: {error}; set PORT to a free port",
                config.addr
            )
        })?;
    let addr = listener.local_addr().map_err(|error| error.to_string())?;
    println!(
        "listening on http://{addr} (upstream FAILURE_RATE={}, SEED={})",
        config.failure_rate, config.seed
    );
    if let Some(url) = &redis_url {
        println!("sharing its profile cache and breaker over {url}");
    }
    println!("  curl -i http://{addr}/profile/42");
    println!("  curl http://{addr}/metrics");
    println!("  open http://{addr}/resilience   (the status page)");
    if config.admin_token.is_none() {
        println!("  set RESILIENCE_ADMIN_TOKEN to open and close the breaker from it");
    }
    serve(
        listener,
        app(upstream, metrics, config.admin_token.as_deref()),
    )
    .await
    .map_err(|error| format!("serving on {addr} failed: {error}"))
}

//! The live status page, its JSON, and manual control of the breakers
//! (feature `tower`): what an operator on call asks — which breakers are
//! open and since when, whether a cache serves stale data — answered at a
//! glance, and a breaker closed by hand when the vendor says they are back.
//!
//! [`StatusService`] is a tower service; mount it in any tower-based
//! server (axum, tonic, hyper with `hyper-util`). Under its prefix it
//! answers:
//!
//! | route | answer |
//! | --- | --- |
//! | `GET <prefix>` | an HTML page, self-contained (no CDN, no font, no external request), that polls the JSON every second: each breaker's state, origin, open time, next probe, failure rate, calls and a chart of its last two minutes; each cache's rates, stale share and oldest value served stale; retries by function; bulkheads; retry budgets |
//! | `GET <prefix>.json` | the same as JSON: a [`Snapshot`], documented field by field |
//! | `POST <prefix>/breakers/{name}/open` | opens the breaker for its `open_for` ([`Breaker::force_open`](crate::breaker::Breaker::force_open)) |
//! | `POST <prefix>/breakers/{name}/close` | closes it with an empty window ([`Breaker::reset`](crate::breaker::Breaker::reset)) |
//! | `POST <prefix>/breakers/{name}/reset` | the same; on a keyed name without `?key=`, every key of it |
//! | `POST <prefix>/chaos/{target}?errors=0.5&hangs=0&latency_ms=200&seed=7` | starts (or replaces) a chaos injection into a function path or breaker name, with [`chaos::inject`](https://docs.rs/resilience-runtime/latest/resilience_runtime/chaos/fn.inject.html) (feature `chaos`; each value optional, 0 by default); `400` with the reason when refused |
//! | `DELETE <prefix>/chaos/{target}` | stops it (`404` when there was none) |
//! | `DELETE <prefix>/chaos` | stops every injection |
//!
//! A keyed breaker is named by `?key=<key>`, the key as the JSON lists it
//! (`Debug`: a string key in quotes), percent-encoded. A breaker's control
//! route answers with the JSON rows of the breakers it changed; a chaos
//! route with the injection started, or the injections left.
//!
//! # Security
//!
//! - The control routes answer only to `Authorization: Bearer <token>`,
//!   the token the application configured with
//!   [`admin_token`](StatusService::admin_token), compared in constant
//!   time; a missing or wrong token gets `401`. With no token configured
//!   they are off: `404`, as for a route that does not exist.
//! - No cookies, so no cross-site request forgery: the page sends the
//!   token only with a control request, and only once the operator typed
//!   it (it is kept in the page, never stored).
//! - The page and the JSON show names, states and counts: never a cached
//!   value, a cache key or an error text (error texts can hold secrets).
//!   A keyed breaker's key is shown, since it names the breaker.
//! - Every manual change is a `WARN` event (target `resilience`) with
//!   `breaker` and `key` (or `chaos_target`), `action` and the caller's
//!   address (see [`caller_address`](StatusService::caller_address)).
//! - The page is served with a content security policy that allows only
//!   its own inline code and requests to its own origin.
//!
//! Put the routes where only operators reach them when you can (an admin
//! port, a private network); the token is the lock on the controls, not on
//! the page.
//!
//! # Mounting it in axum
//!
//! The service matches the whole path, so route its three shapes to it:
//!
//! ```text
//! let status = StatusService::new("/resilience")
//!     .admin_token(std::env::var("RESILIENCE_ADMIN_TOKEN").unwrap_or_default())
//!     .caller_address(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|info| info.0));
//! let app = Router::new()
//!     .route_service("/resilience", status.clone())
//!     .route_service("/resilience.json", status.clone())
//!     .route_service("/resilience/{*control}", status);
//! ```
//!
//! `examples/src/http_service.rs` mounts it so. As a plain tower service:
//!
//! ```
//! use http::{Request, StatusCode};
//! use resilience_runtime::breaker::{registry, BreakerConfig, State};
//! use resilience_runtime::status::StatusService;
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let payments = registry().get_or_register("payments", BreakerConfig::new());
//! let status = StatusService::new("/resilience").admin_token("s3cret");
//!
//! let open = Request::post("/resilience/breakers/payments/open")
//!     .header("authorization", "Bearer s3cret")
//!     .body(())
//!     .unwrap();
//! let response = status.clone().oneshot(open).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(payments.state(), State::Open);
//!
//! let wrong = Request::post("/resilience/breakers/payments/close")
//!     .header("authorization", "Bearer guess")
//!     .body(())
//!     .unwrap();
//! let response = status.oneshot(wrong).await.unwrap();
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(payments.state(), State::Open);
//! # }
//! ```

mod control;
mod rehearsal;
mod service;
mod snapshot;
#[cfg(test)]
mod tests;

pub use rehearsal::InjectionRow;
pub use service::StatusService;
pub use snapshot::{BreakerRow, BudgetRow, BulkheadRow, Snapshot};

//! Behaviour tests of the attributes, written as a user writes them.
//! One module per attribute; one binary, so the suite links once.

mod breaker;
mod bulkhead;
mod chaos;
mod dashboard;
mod events;
mod fallback;
mod http_service;
mod json_events;
mod keyed_breaker;
mod overload;
mod recovery;
mod retry;
mod retry_budget;
mod retry_shapes;
mod retry_storm;
#[path = "../served.rs"]
mod served;
mod stack;
mod stale_cache;
mod timeout;
mod twins;

//! Retry attempts and breaker transitions as a JSON log prints them: one
//! object per line, target `resilience`, every field of the vocabulary a
//! typed JSON value (numbers as numbers, not text).

use resilience_runtime::breaker::{Breaker, BreakerConfig};
use resilience_runtime::retry;
use serde_json::Value;

use crate::events::json_log;

fn field<'a>(event: &'a Value, name: &str) -> &'a Value {
    event
        .get(name)
        .unwrap_or_else(|| panic!("no `{name}` in {event}"))
}

#[retry(max = 3, backoff = "fixed", delay = "1ms", jitter = "none")]
fn flaky_json(calls: &mut u32) -> Result<u32, String> {
    *calls += 1;
    if *calls < 3 {
        Err(format!("timeout #{calls}"))
    } else {
        Ok(*calls)
    }
}

#[test]
fn retry_attempts_print_as_typed_json_fields() {
    let (lines, _guard) = json_log();
    let mut calls = 0;
    assert_eq!(flaky_json(&mut calls), Ok(3));

    let events = lines();
    assert_eq!(events.len(), 3, "two retries and the recovery: {events:?}");
    for (n, retry) in events[..2].iter().enumerate() {
        assert_eq!(field(retry, "target"), "resilience");
        assert_eq!(field(retry, "level"), "WARN");
        assert!(
            field(retry, "function")
                .as_str()
                .unwrap()
                .ends_with("::flaky_json")
        );
        assert_eq!(field(retry, "attempt").as_u64(), Some(n as u64 + 1));
        assert_eq!(field(retry, "max_attempts").as_u64(), Some(3));
        assert_eq!(
            field(retry, "error").as_str(),
            Some(format!("timeout #{}", n + 1).as_str())
        );
        assert_eq!(field(retry, "delay_ms").as_u64(), Some(1));
        assert!(field(retry, "elapsed_ms").is_u64());
    }
    let recovered = &events[2];
    assert_eq!(field(recovered, "level"), "INFO");
    assert_eq!(field(recovered, "outcome"), "recovered");
    assert_eq!(field(recovered, "attempt").as_u64(), Some(3));
}

#[test]
fn breaker_transitions_print_as_typed_json_fields() {
    let (lines, _guard) = json_log();
    let breaker = Breaker::new("json-breaker", BreakerConfig::new().min_calls(2));
    breaker.try_acquire().unwrap().record(true);
    breaker.try_acquire().unwrap().record(true);
    breaker.reset();

    let events = lines();
    assert_eq!(events.len(), 2, "opened, then closed: {events:?}");
    let opened = &events[0];
    assert_eq!(field(opened, "target"), "resilience");
    assert_eq!(field(opened, "level"), "WARN");
    assert_eq!(field(opened, "breaker"), "json-breaker");
    assert_eq!(field(opened, "state"), "open");
    assert_eq!(field(opened, "failure_rate").as_f64(), Some(1.0));
    let closed = &events[1];
    assert_eq!(field(closed, "state"), "closed");
    assert!(
        closed.get("failure_rate").is_none(),
        "absent, not null, when no rate decided it: {closed}"
    );
}

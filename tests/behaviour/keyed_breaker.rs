//! `#[breaker(key = ..)]`: one breaker per key under one name, on paused
//! time. Breakers are process-wide by name, so every test has names of its own.

use std::sync::Mutex;
use std::time::Duration;

use resilience_runtime::breaker::State;
use resilience_runtime::{CircuitOpen, breaker};
use tokio::time::advance;

#[derive(Debug, Clone, PartialEq)]
enum FetchError {
    Down,
    Open { breaker: &'static str },
}

impl From<CircuitOpen> for FetchError {
    fn from(open: CircuitOpen) -> Self {
        FetchError::Open {
            breaker: open.name(),
        }
    }
}

static CALLED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn called() -> Vec<String> {
    std::mem::take(&mut *CALLED.lock().unwrap())
}

/// Fails while `down` is set.
#[breaker(name = "keyed-hosts", key = host, min_calls = 2, open_for = 30)]
async fn fetch(host: &str, path: &str, down: bool) -> Result<String, FetchError> {
    CALLED.lock().unwrap().push(host.to_owned());
    if down {
        Err(FetchError::Down)
    } else {
        Ok(format!("{host}{path}"))
    }
}

fn states(name: &str) -> Vec<(String, State)> {
    breaker::registry()
        .keyed_breakers(name)
        .iter()
        .map(|breaker| (breaker.key().unwrap().to_owned(), breaker.state()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn one_host_failing_opens_its_breaker_only() {
    assert_eq!(fetch("b.example", "/", false).await.unwrap(), "b.example/");
    for _ in 0..2 {
        assert_eq!(fetch("a.example", "/", true).await, Err(FetchError::Down));
    }
    called();

    // a.example is cut off; b.example still goes through.
    assert_eq!(
        fetch("a.example", "/", false).await,
        Err(FetchError::Open {
            breaker: "keyed-hosts"
        })
    );
    assert_eq!(
        fetch("b.example", "/x", false).await.unwrap(),
        "b.example/x"
    );
    assert_eq!(called(), ["b.example"], "the open host was not called");

    // The registry lists the name's keys and their states.
    assert_eq!(
        states("keyed-hosts"),
        [
            ("\"a.example\"".to_owned(), State::Open),
            ("\"b.example\"".to_owned(), State::Closed),
        ]
    );
    // Keyed and unkeyed breakers are kept apart.
    assert!(breaker::registry().get("keyed-hosts").is_none());

    // After `open_for`, a.example's probe closes it again.
    advance(Duration::from_secs(30)).await;
    assert_eq!(fetch("a.example", "/", false).await.unwrap(), "a.example/");
    assert_eq!(states("keyed-hosts")[0].1, State::Closed);
}

#[breaker(name = "keyed-tenants", key = tenant, min_calls = 1, failure_rate = 0.5)]
fn query(tenant: u64, fail: bool) -> Result<u64, FetchError> {
    if fail {
        Err(FetchError::Down)
    } else {
        Ok(tenant)
    }
}

#[test]
fn sync_functions_are_keyed_too() {
    assert_eq!(query(1, true), Err(FetchError::Down));
    assert!(matches!(query(1, false), Err(FetchError::Open { .. })));
    assert_eq!(query(2, false), Ok(2));
    let tenants = breaker::registry().keyed::<u64>("keyed-tenants").unwrap();
    assert_eq!(tenants.get(&1).unwrap().state(), State::Open);
    assert_eq!(tenants.get(&2).unwrap().state(), State::Closed);
}

#[breaker(name = "keyed-lru", key = host, max_keys = 100)]
fn ping(host: String) -> Result<(), FetchError> {
    drop(host);
    Ok(())
}

#[test]
fn keys_are_bounded_and_the_least_recently_used_go_first() {
    ping("hot".to_owned()).unwrap();
    let hosts = breaker::registry().keyed::<String>("keyed-lru").unwrap();
    let hot = hosts.get(&"hot".to_owned()).unwrap();
    hot.force_open();
    for i in 0..1000 {
        ping(format!("cold-{i}")).unwrap();
        // Rejected, but the look-up keeps "hot" recently used.
        assert!(ping("hot".to_owned()).is_err());
    }
    assert!(hosts.key_count() <= 100, "never more keys than max_keys");
    let kept = hosts.get(&"hot".to_owned()).expect("the busy key is kept");
    assert!(std::sync::Arc::ptr_eq(&kept, &hot), "with its state");
    assert!(
        hosts.get(&"cold-0".to_owned()).is_none(),
        "idle keys went first"
    );
}

/// The hosts `call_host` called: its own list, since tests run at once.
static HOSTS_CALLED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Fails while `down` is set; at most 100 hosts kept.
#[breaker(name = "keyed-open-kept", key = host, max_keys = 100, min_calls = 2, open_for = 30)]
async fn call_host(host: &str, down: bool) -> Result<(), FetchError> {
    HOSTS_CALLED.lock().unwrap().push(host.to_owned());
    if down { Err(FetchError::Down) } else { Ok(()) }
}

#[tokio::test(start_paused = true)]
async fn an_open_host_stays_cut_off_while_many_other_hosts_are_called() {
    for _ in 0..2 {
        assert_eq!(call_host("down.example", true).await, Err(FetchError::Down));
    }
    // Ten times max_keys other hosts, and no call to the open one.
    for i in 0..1_000 {
        call_host(&format!("up-{i}.example"), false).await.unwrap();
    }
    HOSTS_CALLED.lock().unwrap().clear();
    assert_eq!(
        call_host("down.example", false).await,
        Err(FetchError::Open {
            breaker: "keyed-open-kept"
        }),
        "still open: the closed, idle hosts went first"
    );
    assert!(
        HOSTS_CALLED.lock().unwrap().is_empty(),
        "the open host was not called again"
    );
    let hosts = breaker::registry()
        .keyed::<String>("keyed-open-kept")
        .unwrap();
    assert!(hosts.key_count() <= 100);
}

struct Replica {
    region: String,
}

impl Replica {
    #[breaker(name = "keyed-replicas", key = (self.region.clone(), shard), min_calls = 1)]
    async fn read(&self, shard: u16, fail: bool) -> Result<u16, FetchError> {
        if fail {
            Err(FetchError::Down)
        } else {
            Ok(shard)
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_key_can_combine_the_receiver_and_arguments() {
    let eu = Replica {
        region: "eu".into(),
    };
    let us = Replica {
        region: "us".into(),
    };
    assert_eq!(eu.read(1, true).await, Err(FetchError::Down));
    assert!(matches!(
        eu.read(1, false).await,
        Err(FetchError::Open { .. })
    ));
    assert_eq!(eu.read(2, false).await, Ok(2));
    assert_eq!(us.read(1, false).await, Ok(1));
    assert_eq!(
        states("keyed-replicas"),
        [
            ("(\"eu\", 1)".to_owned(), State::Open),
            ("(\"eu\", 2)".to_owned(), State::Closed),
            ("(\"us\", 1)".to_owned(), State::Closed),
        ]
    );
}

//! `#[retry]` on every function shape: the signature stays as written and
//! each attempt sees the arguments as the caller passed them.

use std::cell::Cell;
use std::fmt::Display;
use std::sync::atomic::{AtomicU32, Ordering};

use resilience_runtime::retry;

use crate::retry::ApiError;

/// Fails the first `failures` calls it sees.
#[derive(Default)]
struct Upstream {
    calls: u32,
    failures: u32,
}

impl Upstream {
    fn call(&mut self) -> Result<u32, ApiError> {
        self.calls += 1;
        if self.calls <= self.failures {
            Err(ApiError::Unavailable(self.calls))
        } else {
            Ok(self.calls)
        }
    }
}

struct Client {
    upstream: std::sync::Mutex<Upstream>,
    calls: u32,
}

impl Client {
    fn failing(failures: u32) -> Self {
        Client {
            upstream: std::sync::Mutex::new(Upstream { calls: 0, failures }),
            calls: 0,
        }
    }

    /// Doc comments stay on the method.
    #[retry(max = 3, backoff = "none")]
    pub async fn shared(&self) -> Result<u32, ApiError> {
        self.upstream.lock().unwrap().call()
    }

    #[retry(max = 3, backoff = "none")]
    async fn unique(&mut self) -> Result<u32, ApiError> {
        self.calls += 1; // persists across attempts
        self.upstream.get_mut().unwrap().call()
    }

    #[retry(max = 3, backoff = "none")]
    fn unique_sync(&mut self, label: String) -> Result<String, ApiError> {
        self.calls += 1;
        let call = self.upstream.get_mut().unwrap().call()?;
        Ok(format!("{label}#{call}"))
    }

    #[retry(max = 3, backoff = "none")]
    fn borrowed<'a>(&self, name: &'a str) -> Result<&'a str, ApiError> {
        self.upstream.lock().unwrap().call()?;
        Ok(name)
    }
}

#[tokio::test(start_paused = true)]
async fn shared_and_unique_receivers() {
    let client = Client::failing(2);
    assert_eq!(client.shared().await, Ok(3));

    let mut client = Client::failing(2);
    assert_eq!(client.unique().await, Ok(3));
    assert_eq!(
        client.calls, 3,
        "`&mut self` is reborrowed, and changes persist across attempts"
    );

    let mut client = Client::failing(1);
    assert_eq!(
        client.unique_sync("job".to_string()),
        Ok("job#2".to_string())
    );
    assert_eq!(client.calls, 2);

    let client = Client::failing(1);
    assert_eq!(client.borrowed("lifetimes"), Ok("lifetimes"));
}

#[tokio::test(start_paused = true)]
async fn each_attempt_gets_the_arguments_as_the_caller_passed_them() {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    #[retry(max = 3, backoff = "none")]
    async fn consumes(
        mut words: Vec<String>,
        (left, right): (u32, u32),
        counter: &mut u32,
    ) -> Result<(), ApiError> {
        words.push(format!("{}", left + right)); // mutates this attempt's copy only
        SEEN.lock().unwrap().push(words.join(" "));
        *counter += 1;
        Err(ApiError::Unavailable(*counter))
    }

    let mut counter = 0;
    let result = consumes(vec!["sum".to_string()], (1, 2), &mut counter).await;
    assert_eq!(result, Err(ApiError::Unavailable(3)));
    assert_eq!(counter, 3, "a `&mut` argument is reborrowed per attempt");
    assert_eq!(*SEEN.lock().unwrap(), ["sum 3", "sum 3", "sum 3"]);
}

type ApiResult<T> = Result<T, ApiError>;

#[tokio::test(start_paused = true)]
async fn generics_where_clauses_impl_trait_and_aliases() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    fn fail_once() -> Result<(), ApiError> {
        if CALLS.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
            Err(ApiError::Unavailable(1))
        } else {
            Ok(())
        }
    }

    #[retry(backoff = "none")]
    async fn generic<T>(value: T) -> ApiResult<String>
    where
        T: Display + Clone + Send,
    {
        fail_once()?;
        Ok(value.to_string())
    }

    #[retry(backoff = "none")]
    fn with_impl_trait(value: impl Display + Clone) -> std::result::Result<String, ApiError> {
        fail_once()?;
        Ok(format!("<{value}>"))
    }

    #[retry(backoff = "none")]
    fn opaque_output() -> Result<impl Display, ApiError> {
        fail_once()?;
        Ok(42)
    }

    #[retry(backoff = "none")]
    fn io_alias() -> std::io::Result<u8> {
        fail_once().map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(7)
    }

    assert_eq!(generic(5).await, Ok("5".to_string()));
    assert_eq!(with_impl_trait("x"), Ok("<x>".to_string()));
    assert_eq!(opaque_output().unwrap().to_string(), "42");
    assert_eq!(io_alias().unwrap(), 7);
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        8,
        "each call failed once, then succeeded"
    );
}

#[tokio::test(start_paused = true)]
async fn return_and_question_mark_end_the_attempt_not_the_call() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
        text.parse()
    }

    #[derive(Debug, PartialEq)]
    enum Error {
        Parse,
    }
    impl From<std::num::ParseIntError> for Error {
        fn from(_: std::num::ParseIntError) -> Self {
            Error::Parse
        }
    }

    #[retry(max = 3, backoff = "none")]
    async fn early_exits() -> Result<u32, Error> {
        let call = CALLS.fetch_add(1, Ordering::SeqCst);
        if call == 0 {
            return Err(Error::Parse);
        }
        let value = parse(if call == 1 { "not a number" } else { "12" })?;
        Ok(value)
    }

    assert_eq!(early_exits().await, Ok(12));
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);
}

trait Profiles {
    async fn profile(&self, id: u32) -> Result<String, ApiError>;
}

impl Profiles for Client {
    #[retry(backoff = "none")]
    async fn profile(&self, id: u32) -> Result<String, ApiError> {
        let call = self.upstream.lock().unwrap().call()?;
        Ok(format!("{id}@{call}"))
    }
}

#[tokio::test(start_paused = true)]
async fn native_async_trait_methods() {
    assert_eq!(Client::failing(1).profile(9).await, Ok("9@2".to_string()));
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::test(start_paused = true)]
async fn the_future_stays_send() {
    #[retry(backoff = "none")]
    async fn send_but_not_sync_argument(cell: Cell<u32>) -> Result<u32, ApiError> {
        tokio::task::yield_now().await;
        Ok(cell.get())
    }

    /// `Send` but not `Sync`: a future holding `&mut Counter` is `Send`, one
    /// holding `&&mut Counter` is not.
    struct Counter {
        hits: Cell<u32>,
    }
    impl Counter {
        #[retry(backoff = "none")]
        async fn read_only(&mut self) -> Result<u32, ApiError> {
            tokio::task::yield_now().await;
            Ok(self.hits.get())
        }
    }

    let mut counter = Counter { hits: Cell::new(3) };
    assert_eq!(assert_send(counter.read_only()).await, Ok(3));
    let client = Client::failing(0);
    assert_eq!(assert_send(client.shared()).await, Ok(1));
    assert_eq!(
        assert_send(send_but_not_sync_argument(Cell::new(4))).await,
        Ok(4)
    );
    // And it runs on a multi-threaded runtime's worker, as `tokio::spawn` requires.
    let handle = tokio::spawn(async move { client.shared().await });
    assert_eq!(handle.await.unwrap(), Ok(2));
}

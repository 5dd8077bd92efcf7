//! Every function shape `#[retry]` supports, compiled with every warning denied.
#![deny(warnings, clippy::all)]

use std::fmt::Display;

use resilience_runtime::retry;

#[derive(Debug, Clone)]
pub struct ApiError;

pub type ApiResult<T> = Result<T, ApiError>;

fn is_transient(_: &ApiError) -> bool {
    true
}

fn retry_after(_: &ApiError) -> Option<std::time::Duration> {
    None
}

fn is_empty(page: &Vec<u32>) -> bool {
    page.is_empty()
}

/// Free functions, sync and async, every key.
#[retry(max = 4, backoff = "exp", delay = "250ms", factor = 1.5, max_delay = "1m", jitter = "full", when = is_transient, max_elapsed = "10s", delay_from = retry_after, when_ok = is_empty, budget = "shapes")]
pub fn every_key() -> Result<Vec<u32>, ApiError> {
    Ok(vec![1])
}

/// The same keys on an `async fn`, and `attempt::current()` in its body.
#[retry(max_elapsed = 3.5, delay_from = retry_after, when_ok = is_empty)]
pub async fn every_key_async() -> ApiResult<Vec<u32>> {
    let attempt = resilience_runtime::attempt::current();
    Ok(attempt.map_or_else(Vec::new, |attempt| vec![attempt.number()]))
}

#[retry(backoff = "fixed", delay = 0.5, jitter = "none")]
pub async fn free_async(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

#[retry(backoff = "none")]
pub(crate) fn patterns(mut count: u32, (a, b): (u8, u8), _: String) -> ApiResult<u32> {
    count += u32::from(a) + u32::from(b);
    Ok(count)
}

#[retry(backoff = "none")]
pub fn raw_identifiers(r#type: String, r#match: &str) -> Result<usize, ApiError> {
    Ok(r#type.len() + r#match.len())
}

#[retry(crate = resilience_runtime)]
fn lifetimes<'a, 'b: 'a>(left: &'a str, _right: &'b str) -> Result<&'a str, ApiError> {
    Ok(left)
}

#[retry]
async fn generics<T, const N: usize>(items: [T; N], shown: impl Display + Clone + Send) -> Result<String, ApiError>
where
    T: Clone + Send + Display,
{
    Ok(format!("{shown}{}", items.len()))
}

#[retry]
fn opaque() -> Result<impl Display, ApiError> {
    Ok(1)
}

#[retry]
#[allow(clippy::needless_return)]
fn early_return(flag: bool) -> std::io::Result<u8> {
    if flag {
        return Ok(1);
    }
    let parsed: u8 = "2".parse().map_err(std::io::Error::other)?;
    Ok(parsed)
}

pub struct Client {
    calls: u32,
}

impl Client {
    #[retry]
    pub fn shared(&self) -> Result<u32, ApiError> {
        Ok(self.calls)
    }

    #[retry]
    pub async fn unique(&mut self, by: u32) -> Result<u32, ApiError> {
        self.calls += by;
        Ok(self.calls)
    }

    #[retry]
    pub fn typed_receiver(self: &Self) -> Result<Self, ApiError> {
        Ok(Client { calls: self.calls })
    }
}

trait Fetch {
    fn fetch(&self) -> Result<u32, ApiError>;
    async fn fetch_async(&self) -> Result<u32, ApiError>;

    #[retry]
    fn default_method(&self) -> Result<u32, ApiError> {
        self.fetch()
    }
}

impl Fetch for Client {
    #[retry]
    fn fetch(&self) -> Result<u32, ApiError> {
        Ok(self.calls)
    }

    #[retry]
    async fn fetch_async(&self) -> Result<u32, ApiError> {
        Ok(self.calls)
    }
}

fn require_send<T: Send>(_: &T) {}

fn main() {
    let _ = every_key();
    let _ = raw_identifiers(String::new(), "");
    let _ = patterns(1, (2, 3), String::new());
    let _ = lifetimes("a", "b");
    let _ = opaque();
    let _ = early_return(true);
    let mut client = Client { calls: 0 };
    let _ = client.shared();
    let _ = client.typed_receiver();
    let _ = client.default_method();
    require_send(&free_async(1));
    require_send(&generics([1, 2], "x"));
    require_send(&client.fetch_async());
    require_send(&client.unique(1));
}

//! One request to a cache, said once and run one of two ways: what key,
//! for which function, and what to do past a fresh hit (load inline or
//! revalidate; locally, with the process's fleet or with a given one),
//! then `.load(future).await` or `.load_blocking(closure)`.

use std::any::type_name;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;

use super::cache::StaleCache;
use super::errors::{DescribeOnly, LoadErrors, SharedError};
use super::load_loop::{LoadLoop, Tier};
use super::stored::{Stamp, Stored};
use crate::__private::{CacheKey, CacheValue};
#[cfg(feature = "redis")]
use crate::__private::{SharedCacheKey, SharedCacheValue};
#[cfg(feature = "redis")]
use crate::fleet::Fleet;

/// A request to a [`StaleCache`], built by [`StaleCache::request`] and run
/// by [`load`](Request::load) (async) or [`load_blocking`](Request::load_blocking).
///
/// Its type parameters record what has been said: `H` how a failed load's
/// error is described ([`Undescribed`] until [`describe`](Request::describe)),
/// `M` what an expired value gets ([`Inline`] or [`Revalidate`]), `T` the
/// second tier ([`Local`], or `Shared` with the feature `redis`). Each
/// combination runs with exactly the bounds it needs: a revalidating
/// request's load outlives the call, so it must be `Send + 'static`; a
/// shared request's key and value go to Redis, so they must be `serde`.
///
/// ```
/// use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
///
/// let cache: StaleCache<&str, u32> = StaleCache::new(CacheConfig::new());
/// let loaded = cache.request("answer", "doc::answer").load_blocking(|| Ok::<_, ()>(42));
/// assert_eq!(loaded, Ok(42));
/// ```
#[must_use = "a request does nothing until `.load(..)` or `.load_blocking(..)`"]
pub struct Request<'c, K, V, H = Undescribed, M = Inline, T = Local> {
    cache: &'c StaleCache<K, V>,
    key: K,
    function: &'static str,
    errors: H,
    tier: T,
    mode: PhantomData<M>,
}

/// An expired value is refreshed while the caller waits (the default).
///
/// ```
/// let _ = resilience_runtime::stale_cache::request::Inline;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Inline;

/// With [`Refresh::Background`](super::Refresh::Background) configured, an
/// expired value within tolerance is returned at once and one refresh runs
/// behind it (stale-while-revalidate); otherwise as [`Inline`].
///
/// ```
/// let _ = resilience_runtime::stale_cache::request::Revalidate;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Revalidate;

/// No second tier: the process's own cache only (the default).
///
/// ```
/// let _ = resilience_runtime::stale_cache::request::Local;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Local;

/// Redis as the second tier (feature `redis`): the process's fleet
/// ([`fleet::connect`](crate::fleet::connect)), or the one given to
/// [`on`](Request::on).
///
/// ```
/// let _: Option<resilience_runtime::stale_cache::request::Shared<'static>> = None;
/// ```
#[cfg(feature = "redis")]
#[derive(Debug, Clone, Copy)]
pub struct Shared<'f>(pub(super) Option<&'f Fleet>);

/// A failed load's error, described in events by its type's name until
/// [`describe`](Request::describe) says better; never handed to waiters.
///
/// ```
/// let _ = resilience_runtime::stale_cache::request::Undescribed;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Undescribed;

impl<E> LoadErrors<E> for Undescribed {
    fn describe(&self, _: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an error of type {}", type_name::<E>())
    }

    fn share(&self, _: &E) -> Option<SharedError> {
        None
    }

    fn unshare(&self, _: &SharedError) -> Option<E> {
        None
    }
}

impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A request for `key`, on behalf of `function` (the name in events and
    /// metrics): say what to do, then run it with
    /// [`load`](Request::load) or [`load_blocking`](Request::load_blocking).
    ///
    /// ```
    /// use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
    /// let visits = cache
    ///     .request("home".to_string(), "app::visits")
    ///     .describe(|error: &std::io::Error, f| write!(f, "{error}"))
    ///     .load(async { Ok(7) })
    ///     .await;
    /// assert_eq!(visits.unwrap(), 7);
    /// # }
    /// ```
    pub fn request(&self, key: K, function: &'static str) -> Request<'_, K, V> {
        Request {
            cache: self,
            key,
            function,
            errors: Undescribed,
            tier: Local,
            mode: PhantomData,
        }
    }
}

impl<'c, K, V, H, M, T> Request<'c, K, V, H, M, T> {
    /// Describes a failed load's error for the `error` field of events
    /// (`E` needs no `Display`).
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
    /// let failed = cache
    ///     .request(1, "doc")
    ///     .describe(|code: &u16, f| write!(f, "HTTP {code}"))
    ///     .load_blocking(|| Err(503));
    /// assert_eq!(failed, Err(503));
    /// ```
    pub fn describe<E, D>(self, describe: D) -> Request<'c, K, V, DescribeOnly<D>, M, T>
    where
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        self.with_errors(DescribeOnly(describe))
    }

    /// The request with `errors` deciding how a failed load's error is
    /// described and whether its waiters share it (generated code).
    pub(crate) fn with_errors<H2>(self, errors: H2) -> Request<'c, K, V, H2, M, T> {
        self.retype(|_, tier| (errors, tier))
    }

    /// Serve an expired value within tolerance at once and refresh it
    /// behind the caller, when the cache is configured with
    /// [`Refresh::Background`](super::Refresh::Background); see [`Revalidate`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::stale_cache::{CacheConfig, Refresh, StaleCache};
    ///
    /// let cache: StaleCache<u8, &str> = StaleCache::new(
    ///     CacheConfig::new().maxage(Duration::ZERO).refresh(Refresh::Background),
    /// );
    /// let first = cache.request(1, "doc").revalidate().load_blocking(|| Ok::<_, ()>("old"));
    /// assert_eq!(first, Ok("old"));
    /// // Expired: the old value at once, the refresh on another thread.
    /// let second = cache.request(1, "doc").revalidate().load_blocking(|| Ok::<_, ()>("new"));
    /// assert_eq!(second, Ok("old"));
    /// ```
    pub fn revalidate(self) -> Request<'c, K, V, H, Revalidate, T> {
        self.retype(|errors, tier| (errors, tier))
    }

    /// With Redis as the second tier: the process's fleet
    /// ([`fleet::connect`](crate::fleet::connect)); local only, with a
    /// warning once, when none is connected.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
    /// // No fleet connected here: local only.
    /// let value = cache.request("k".into(), "doc").shared().load_blocking(|| Ok::<_, ()>(7));
    /// assert_eq!(value, Ok(7));
    /// ```
    #[cfg(feature = "redis")]
    pub fn shared(self) -> Request<'c, K, V, H, M, Shared<'static>> {
        self.retype(|errors, _| (errors, Shared(None)))
    }

    /// With `fleet` as the second tier: for a cache built by hand, or tests
    /// standing for several replicas.
    ///
    /// ```no_run
    /// use resilience_runtime::fleet::Fleet;
    /// use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let fleet = Fleet::connect("redis://127.0.0.1:6379", "profiles").await?;
    /// let cache: StaleCache<String, String> = StaleCache::new(CacheConfig::new());
    /// let profile = cache
    ///     .request("user-1".into(), "app::profile")
    ///     .on(&fleet)
    ///     .load(async { Ok::<_, std::io::Error>("Ada".to_string()) })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis")]
    pub fn on<'f>(self, fleet: &'f Fleet) -> Request<'c, K, V, H, M, Shared<'f>> {
        self.retype(|errors, _| (errors, Shared(Some(fleet))))
    }

    /// Runs the hit path, freshness judged by `is_fresh`; past it, the
    /// request's load loop, and what the lookup saw.
    #[inline]
    #[allow(clippy::type_complexity)]
    fn past_hit(
        self,
        is_fresh: impl FnOnce(Stamp) -> bool,
    ) -> Result<V, (Option<Stored<V>>, LoadLoop<'c, K, V, T, H>)>
    where
        K: CacheKey,
        V: CacheValue,
        T: Tier<K, V>,
    {
        let (cache, key, function) = (self.cache, self.key, self.function);
        match cache.lookup(&key, function, is_fresh) {
            Ok(value) => Ok(value),
            Err(seen) => {
                let tier = self.tier.resolved(function);
                Err((seen, LoadLoop::new(cache, tier, key, function, self.errors)))
            }
        }
    }

    /// The same request, its errors' handling and tier changed by `change`,
    /// its mode `M2`.
    fn retype<H2, M2, T2>(
        self,
        change: impl FnOnce(H, T) -> (H2, T2),
    ) -> Request<'c, K, V, H2, M2, T2> {
        let (errors, tier) = change(self.errors, self.tier);
        Request {
            cache: self.cache,
            key: self.key,
            function: self.function,
            errors,
            tier,
            mode: PhantomData,
        }
    }
}

/// Writes a tier's four ways to run a request: inline or revalidating,
/// each awaited or blocking, each with an example of its call (`tier`: the
/// steps that choose the tier). The bounds on keys and values are the traits
/// `#[stale_cache]` checks at the return type (`CacheKey`, `CacheValue`,
/// or the shared ones), so a value type that fails them is one error there,
/// not a second here.
macro_rules! runs {
    (
        $inline:ty, $revalidating:ty, $key:path, $value:path, [$($tier:tt)*];
        $(#[$load:meta])* load;
        $(#[$blocking:meta])* load_blocking;
        $(#[$revalidate:meta])* revalidate load;
        $(#[$revalidate_blocking:meta])* revalidate load_blocking;
    ) => {
        impl<K, V, H> Request<'_, K, V, H, Inline, $inline> {
            $(#[$load])*
            #[doc = concat!("\n", request_example!(async [] $($tier)*.load(load).await))]
            pub async fn load<E, F>(self, load: F) -> Result<V, E>
            where
                K: $key,
                V: $value,
                F: Future<Output = Result<V, E>>,
                H: LoadErrors<E>,
            {
                match self.past_hit(Stamp::is_fresh_now) {
                    Ok(value) => Ok(value),
                    Err((_, request)) => request.run(load).await,
                }
            }

            $(#[$blocking])*
            #[doc = concat!("\n", request_example!(blocking [] $($tier)*.load_blocking(load)))]
            pub fn load_blocking<E>(self, load: impl FnOnce() -> Result<V, E>) -> Result<V, E>
            where
                K: $key,
                V: $value,
                H: LoadErrors<E>,
            {
                match self.past_hit(Stamp::is_fresh_this_tick) {
                    Ok(value) => Ok(value),
                    Err((_, request)) => request.run_blocking(load),
                }
            }
        }

        impl<K, V, H> Request<'_, K, V, H, Revalidate, $revalidating> {
            $(#[$revalidate])*
            #[doc = concat!("\n", request_example!(async [] .revalidate()$($tier)*.load(load).await))]
            pub async fn load<E, F>(self, load: F) -> Result<V, E>
            where
                K: $key,
                V: $value,
                E: 'static,
                F: Future<Output = Result<V, E>> + Send + 'static,
                H: LoadErrors<E> + Send + 'static,
            {
                match self.past_hit(Stamp::is_fresh_now) {
                    Ok(value) => Ok(value),
                    Err((seen, request)) => request.revalidate(seen, load).await,
                }
            }

            $(#[$revalidate_blocking])*
            #[doc = concat!("\n", request_example!(blocking [] .revalidate()$($tier)*.load_blocking(load)))]
            pub fn load_blocking<E, L>(self, load: L) -> Result<V, E>
            where
                K: $key,
                V: $value,
                E: 'static,
                L: FnOnce() -> Result<V, E> + Send + 'static,
                H: LoadErrors<E> + Send + 'static,
            {
                match self.past_hit(Stamp::is_fresh_this_tick) {
                    Ok(value) => Ok(value),
                    Err((seen, request)) => request.revalidate_blocking(seen, load),
                }
            }
        }
    };
}

runs! {
    Local, Local, CacheKey, CacheValue, [];
    /// Runs the request: the fresh value, else `load` polled by one caller
    /// per key at a time (the others wait for its value), and on failure
    /// the stale value within tolerance, else the error. The returned
    /// future is `Send` when `load` and the describer are.
    load;
    /// The sync twin of [`load`](Self::load): callers of a key being loaded
    /// block until the load lands. Do not mix it with async requests on one
    /// cache from a single-threaded runtime: a blocked thread cannot drive
    /// the task it waits for.
    load_blocking;
    /// Runs the request, revalidating in the background on the current
    /// tokio runtime (inline outside one); see [`Revalidate`].
    revalidate load;
    /// The sync twin: the refresh runs on one of a few refresher threads
    /// shared by every cache (at most 4 at once, up to 1 024 waiting; a
    /// refresh offered to a full queue is left to the key's next caller).
    revalidate load_blocking;
}

#[cfg(feature = "redis")]
runs! {
    Shared<'_>, Shared<'static>, SharedCacheKey, SharedCacheValue, [.shared()];
    /// Runs the request with Redis as the second tier: past a fresh local
    /// hit, the key's one local flight asks the fleet before it loads (see
    /// the fleet tier's rules in [`fleet`](crate::fleet)).
    load;
    /// The sync twin of [`load`](Self::load): each Redis operation blocks
    /// the thread, at most the fleet's bound.
    load_blocking;
    /// Runs the request with Redis as the second tier, revalidating in the
    /// background: the refresh behind the stale answer asks the fleet first
    /// (a fresh entry there, or another instance refreshing, ends it
    /// without a load).
    revalidate load;
    /// The sync twin of [`load`](Self::load): the refresh runs on a
    /// refresher thread.
    revalidate load_blocking;
}

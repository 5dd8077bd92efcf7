//! The fleet tier of a cache (feature `redis`): Redis as the second tier
//! behind moka, for `#[stale_cache(shared = true)]`.
//!
//! The hit path is the local one, unchanged: a fresh local value is served
//! with no Redis work. Past it, the key's one in-process flight asks the
//! fleet ([`Fleet::acquire`]) before it loads:
//!
//! | the fleet answers | what the flight does |
//! | --- | --- |
//! | an entry younger than `maxage` | serves it and keeps it locally with its original age; no load |
//! | the refresh lease is ours | loads; a success is written back (time to live `tolerance`) |
//! | another instance refreshed in vain, or not within `refresh_wait` | serves the freshest stale value within tolerance, else loads |
//! | nothing (Redis slow or down) | loads, local-only |
//!
//! A failed load falls back on the freshest value within tolerance found
//! locally *or* in Redis. An entry's age is measured on Redis's clock (it
//! stamps what it is given, and every read carries its time); the value is
//! kept locally stamped that long before now on the one clock, where it
//! ages like a local value (a paused test clock drives it from there).

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cache::StaleCache;
use super::errors::LoadErrors;
use super::flight::Lead;
use super::load_loop::{Alone, LoadLoop, Tier};
use super::stored::Stored;
use crate::fleet::{self, Acquired, Fleet};

mod steps;

use steps::{Plan, Settled};

impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    /// Deprecated: the request API says the same, `.shared()`.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k".into(), "doc").shared().load(async { Ok::<_, ()>(7) }).await;
    /// # assert_eq!(value, Ok(7));
    /// # }
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).shared().load(load).await`"
    )]
    pub async fn get_or_load_shared<E, F, D>(
        &self,
        key: K,
        function: &'static str,
        load: F,
        describe: D,
    ) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        let request = self.request(key, function).describe(describe);
        request.shared().load(load).await
    }

    /// Deprecated: the request API says the same, `.on(fleet)`.
    ///
    /// ```no_run
    /// # use resilience_runtime::{fleet::Fleet, stale_cache::{CacheConfig, StaleCache}};
    /// # async fn run(fleet: &Fleet) {
    /// # let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k".into(), "doc").on(fleet).load(async { Ok::<_, ()>(7) }).await;
    /// # }
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).on(fleet).load(load).await`"
    )]
    pub async fn get_or_load_on<E, F, D>(
        &self,
        fleet: &Fleet,
        key: K,
        function: &'static str,
        load: F,
        describe: D,
    ) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        let request = self.request(key, function).describe(describe);
        request.on(fleet).load(load).await
    }

    /// Deprecated: the request API says the same, `.shared()`.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k".into(), "doc").shared().load_blocking(|| Ok::<_, ()>(7));
    /// # assert_eq!(value, Ok(7));
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).shared().load_blocking(load)`"
    )]
    pub fn get_or_load_shared_blocking<E, D>(
        &self,
        key: K,
        function: &'static str,
        load: impl FnOnce() -> Result<V, E>,
        describe: D,
    ) -> Result<V, E>
    where
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        let request = self.request(key, function).describe(describe);
        request.shared().load_blocking(load)
    }

    /// Deprecated: the request API says the same, `.on(fleet)`.
    ///
    /// ```no_run
    /// # use resilience_runtime::{fleet::Fleet, stale_cache::{CacheConfig, StaleCache}};
    /// # fn run(fleet: &Fleet) {
    /// # let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k".into(), "doc").on(fleet).load_blocking(|| Ok::<_, ()>(7));
    /// # }
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).on(fleet).load_blocking(load)`"
    )]
    pub fn get_or_load_on_blocking<E, D>(
        &self,
        fleet: &Fleet,
        key: K,
        function: &'static str,
        load: impl FnOnce() -> Result<V, E>,
        describe: D,
    ) -> Result<V, E>
    where
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        let request = self.request(key, function).describe(describe);
        request.on(fleet).load_blocking(load)
    }

    /// Deprecated: the request API says the same, `.revalidate().shared()`.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let cache: StaleCache<u8, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request(1, "doc").revalidate().shared().load(async { Ok::<_, ()>(7) }).await;
    /// # assert_eq!(value, Ok(7));
    /// # }
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).revalidate().shared().load(load).await`"
    )]
    pub async fn get_or_revalidate_shared<E, F, D>(
        &self,
        key: K,
        function: &'static str,
        load: F,
        describe: D,
    ) -> Result<V, E>
    where
        E: 'static,
        F: Future<Output = Result<V, E>> + Send + 'static,
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result + Send + 'static,
    {
        let request = self.request(key, function).describe(describe);
        request.revalidate().shared().load(load).await
    }

    /// Deprecated: the request API says the same, `.revalidate().shared()`.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # let cache: StaleCache<u8, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request(1, "doc").revalidate().shared().load_blocking(|| Ok::<_, ()>(7));
    /// # assert_eq!(value, Ok(7));
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).revalidate().shared().load_blocking(load)`"
    )]
    pub fn get_or_revalidate_shared_blocking<E, L, D>(
        &self,
        key: K,
        function: &'static str,
        load: L,
        describe: D,
    ) -> Result<V, E>
    where
        E: 'static,
        L: FnOnce() -> Result<V, E> + Send + 'static,
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result + Send + 'static,
    {
        let request = self.request(key, function).describe(describe);
        request.revalidate().shared().load_blocking(load)
    }

    /// A request with Redis as the second tier: `given`, or the process's
    /// fleet (see [`Request`](super::request::Request)).
    pub(super) async fn get_or_load_shared_with<E, F, H>(
        &self,
        given: Option<&Fleet>,
        key: K,
        function: &'static str,
        load: F,
        errors: H,
    ) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
        H: LoadErrors<E>,
    {
        if let Ok(value) = self.lookup(&key, function) {
            return Ok(value);
        }
        match given.or_else(|| fleet::for_shared(function)) {
            Some(fleet) => self.load_shared(fleet, key, function, load, errors).await,
            None => self.load_inline(key, function, load, errors).await,
        }
    }

    /// The sync twin of `get_or_load_shared_with`.
    pub(super) fn get_or_load_shared_blocking_with<E, H: LoadErrors<E>>(
        &self,
        given: Option<&Fleet>,
        key: K,
        function: &'static str,
        load: impl FnOnce() -> Result<V, E>,
        errors: H,
    ) -> Result<V, E> {
        if let Ok(value) = self.lookup_blocking(&key, function) {
            return Ok(value);
        }
        match given.or_else(|| fleet::for_shared(function)) {
            Some(fleet) => self.load_shared_blocking(fleet, key, function, load, errors),
            None => self.load_inline_blocking(key, function, load, errors),
        }
    }

    /// A revalidating request with Redis as the second tier: `given`, or
    /// the process's fleet (see [`Request`](super::request::Request)).
    pub(super) async fn get_or_revalidate_shared_with<E, F, H>(
        &self,
        given: Option<&'static Fleet>,
        key: K,
        function: &'static str,
        load: F,
        errors: H,
    ) -> Result<V, E>
    where
        E: 'static,
        F: Future<Output = Result<V, E>> + Send + 'static,
        H: LoadErrors<E> + Send + 'static,
    {
        let seen = match self.lookup(&key, function) {
            Ok(value) => return Ok(value),
            Err(seen) => seen,
        };
        match given.or_else(|| fleet::for_shared(function)) {
            Some(fleet) => {
                let tier = Through(fleet);
                self.revalidate_through(tier, seen, key, function, load, errors)
                    .await
            }
            None => {
                self.revalidate_through(Alone, seen, key, function, load, errors)
                    .await
            }
        }
    }

    /// The sync twin of `get_or_revalidate_shared_with`.
    pub(super) fn get_or_revalidate_shared_blocking_with<E, L, H>(
        &self,
        given: Option<&'static Fleet>,
        key: K,
        function: &'static str,
        load: L,
        errors: H,
    ) -> Result<V, E>
    where
        E: 'static,
        L: FnOnce() -> Result<V, E> + Send + 'static,
        H: LoadErrors<E> + Send + 'static,
    {
        let seen = match self.lookup_blocking(&key, function) {
            Ok(value) => return Ok(value),
            Err(seen) => seen,
        };
        match given.or_else(|| fleet::for_shared(function)) {
            Some(fleet) => {
                let tier = Through(fleet);
                self.revalidate_through_blocking(tier, seen, key, function, load, errors)
            }
            None => self.revalidate_through_blocking(Alone, seen, key, function, load, errors),
        }
    }

    /// Past the hit path with a fleet: the one load loop, through it.
    async fn load_shared<E, F, H>(
        &self,
        fleet: &Fleet,
        key: K,
        function: &'static str,
        load: F,
        errors: H,
    ) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
        H: LoadErrors<E>,
    {
        LoadLoop::new(self, Through(fleet), key, function, errors)
            .run(load)
            .await
    }

    /// The sync twin of `load_shared`.
    fn load_shared_blocking<E, H: LoadErrors<E>>(
        &self,
        fleet: &Fleet,
        key: K,
        function: &'static str,
        load: impl FnOnce() -> Result<V, E>,
        errors: H,
    ) -> Result<V, E> {
        LoadLoop::new(self, Through(fleet), key, function, errors).run_blocking(load)
    }
}

/// The fleet as the load loop's second tier.
struct Through<'f>(&'f Fleet);

impl<K, V> Tier<K, V> for Through<'_>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    type Plan = Plan;
    type Answer = Acquired;
    type Entry = Vec<u8>;

    fn plan(&self, cache: &StaleCache<K, V>, key: &K, function: &'static str) -> Option<Plan> {
        cache.plan(self.0, key, function)
    }

    fn settle(
        &self,
        cache: &StaleCache<K, V>,
        plan: Plan,
        answer: Acquired,
        lead: Option<Lead<K, V>>,
        key: &K,
        seen: Option<Stored<V>>,
        function: &'static str,
    ) -> Settled<K, V> {
        cache.settle(self.0, Some(plan), answer, lead, key, seen, function)
    }

    fn settle_background(
        &self,
        cache: &StaleCache<K, V>,
        plan: Plan,
        answer: Acquired,
        lead: Lead<K, V>,
        key: &K,
        function: &'static str,
    ) -> Option<(Lead<K, V>, Option<Plan>)> {
        cache.settle_background(self.0, plan, answer, lead, key, function)
    }

    fn write_back<E>(
        &self,
        cache: &StaleCache<K, V>,
        plan: Option<Plan>,
        result: &Result<V, E>,
    ) -> Option<(Plan, Vec<u8>)> {
        cache.write_back(plan, result)
    }

    fn ask(&self, plan: &Plan) -> impl Future<Output = Acquired> + Send {
        self.0.acquire(&plan.address, plan.maxage)
    }

    fn ask_blocking(&self, plan: &Plan) -> Acquired {
        self.0.acquire_blocking(&plan.address, plan.maxage)
    }

    async fn publish(&self, plan: Plan, entry: Vec<u8>, ttl: Duration) {
        if self
            .0
            .publish(&plan.address, entry, ttl, plan.lease())
            .await
        {
            plan.published();
        }
    }

    fn publish_blocking(&self, plan: Plan, entry: Vec<u8>, ttl: Duration) {
        if self
            .0
            .publish_blocking(&plan.address, entry, ttl, plan.lease())
        {
            plan.published();
        }
    }
}

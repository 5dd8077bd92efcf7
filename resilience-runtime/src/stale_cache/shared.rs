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

use std::hash::Hash;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::cache::StaleCache;
use super::flight::Lead;
use super::load_loop::Tier;
use super::stored::Stored;
use crate::fleet::{self, Acquired, Fleet};

mod steps;

use steps::{Plan, Settled};

/// The fleet as the load loop's second tier: the one given, else the
/// process's ([`fleet::connect`](crate::fleet::connect)); with none, the
/// load is local (and says so once, a warning).
pub(super) struct Through<'f>(Option<&'f Fleet>);

impl<'f> Through<'f> {
    /// The tier of a request for `function`, past its hit path (where the
    /// process's fleet is looked up, not before).
    pub(super) fn new(given: Option<&'f Fleet>, function: &'static str) -> Self {
        Self(given.or_else(|| fleet::for_shared(function)))
    }
}

impl<K, V> Tier<K, V> for Through<'_>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    type Plan = Plan;
    type Answer = Acquired;
    type Entry = Vec<u8>;

    fn plan(&self, cache: &StaleCache<K, V>, key: &K, function: &'static str) -> Option<Plan> {
        cache.plan(self.0?, key, function)
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
        match self.0 {
            Some(fleet) => cache.settle(fleet, Some(plan), answer, lead, key, seen, function),
            // A plan comes from a fleet: not reached.
            None => Settled::Load(lead, seen, None),
        }
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
        match self.0 {
            Some(fleet) => cache.settle_background(fleet, plan, answer, lead, key, function),
            None => Some((lead, None)),
        }
    }

    fn write_back<E>(
        &self,
        cache: &StaleCache<K, V>,
        plan: Option<Plan>,
        result: &Result<V, E>,
    ) -> Option<(Plan, Vec<u8>)> {
        cache.write_back(plan, result)
    }

    async fn ask(&self, plan: &Plan) -> Acquired {
        match self.0 {
            Some(fleet) => fleet.acquire(&plan.address, plan.maxage).await,
            None => Acquired::Unavailable,
        }
    }

    fn ask_blocking(&self, plan: &Plan) -> Acquired {
        match self.0 {
            Some(fleet) => fleet.acquire_blocking(&plan.address, plan.maxage),
            None => Acquired::Unavailable,
        }
    }

    async fn publish(&self, plan: Plan, entry: Vec<u8>, ttl: Duration) {
        if let Some(fleet) = self.0
            && fleet.publish(&plan.address, entry, ttl, plan.lease()).await
        {
            plan.published();
        }
    }

    fn publish_blocking(&self, plan: Plan, entry: Vec<u8>, ttl: Duration) {
        if let Some(fleet) = self.0
            && fleet.publish_blocking(&plan.address, entry, ttl, plan.lease())
        {
            plan.published();
        }
    }
}

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
use super::flight::{Landing, Lead};
use super::load_loop::{Settle, Tier};
use super::report::Outcome;
use super::request::Shared;
use super::stored::Stored;
use crate::clock::{self, Instant};
use crate::fleet::{self, Acquired, Address, Fleet, Lease, Seen};

/// How far ahead of Redis's clock an entry's load time may be and count as
/// loaded then (Redis stamps every value it is given with its own clock, so
/// only a writer of something else — an older version of this crate, a
/// hostile one — stamps ahead). Further ahead, the entry is a miss (counted
/// as malformed): it would pass for fresh until its time to live.
const MAX_SKEW_MS: u64 = 1_000;

/// A key's place in the fleet, worked out once per flight.
pub(super) struct Plan {
    address: Address,
    /// The one clock's now: an entry read back is stamped this much before
    /// it, its age on Redis's clock.
    now: Instant,
    /// Entries younger than this (milliseconds, on Redis's clock) are fresh.
    maxage: u64,
    /// How long an entry written back lives: the tolerance.
    ttl: Duration,
    limit: usize,
    /// The key's refresh lease, when this flight holds it: dropped with the
    /// plan (a failed load, or a flight whose future was dropped), it is
    /// given back.
    lease: Option<Lease>,
    /// The loaded value, encoded, once there is one to write back.
    entry: Vec<u8>,
}

impl<K, V> Tier<K, V> for Shared<'_>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    type Plan = Plan;
    type Answer = Acquired;

    /// The fleet given, else the process's ([`fleet::connect`](crate::fleet::connect));
    /// with none, the load is local (and says so once, a warning).
    fn resolved(self, function: &'static str) -> Self {
        Self(self.0.or_else(|| fleet::for_shared(function)))
    }

    /// Where `key` lives in the fleet, and what counts as fresh now; `None`
    /// without a fleet, or when the key does not encode (its `Serialize`
    /// failed): local-only.
    fn plan(&self, cache: &StaleCache<K, V>, key: &K, function: &'static str) -> Option<Plan> {
        let fleet = self.0?;
        let digest = fleet::key_digest(key)?;
        let fingerprint = fleet::type_fingerprint::<V>(cache.fleet_version);
        let name = cache.fleet_name.unwrap_or(function);
        Some(Plan {
            address: fleet.address(name, &fingerprint, &digest),
            now: clock::now(),
            maxage: clock::millis(cache.config.maxage_value()),
            ttl: cache.config.tolerance_value(),
            limit: fleet.options().max_entry_bytes_value(),
            lease: None,
            entry: Vec::new(),
        })
    }

    fn settle(
        &self,
        cache: &StaleCache<K, V>,
        plan: Plan,
        acquired: Acquired,
        lead: Option<Lead<K, V>>,
        key: &K,
        seen: Option<Stored<V>>,
        function: &'static str,
        background: bool,
    ) -> Settle<K, V, Plan> {
        let Some(fleet) = self.0 else {
            // A plan comes from a fleet: not reached.
            return Settle::Load(lead, seen, None);
        };
        let outcome = |outcome| {
            if !background {
                cache.meters.request(function, outcome);
            }
        };
        match acquired {
            Acquired::Fresh(entry) => match decode(cache, fleet, &plan, &entry) {
                Some(fresh) => {
                    let value = fresh.value.clone();
                    cache.put(key.clone(), fresh, function);
                    if let Some(lead) = lead {
                        lead.land(|| Landing::Loaded(value.clone(), Outcome::Fresh));
                    }
                    outcome(Outcome::Fresh);
                    Settle::Served(value)
                }
                // Malformed: load, and write a good entry over it.
                None => Settle::Load(lead, seen, Some(plan)),
            },
            Acquired::Lead(stale, lease) => {
                let stale = stale.filter(|_| !background);
                let seen = freshest(cache, fleet, &plan, seen, stale);
                let lease = Some(lease);
                Settle::Load(lead, seen, Some(Plan { lease, ..plan }))
            }
            // Another instance refreshes it (or failed to): the stale value
            // stays, and dropping the lead lets the next caller try again.
            Acquired::Alone(_) if background => Settle::Left,
            Acquired::Alone(stale) => match freshest(cache, fleet, &plan, seen, stale) {
                // Another instance is at it (or failed at it): serve the
                // stale value rather than call the upstream too.
                Some(stale) if stale.stamp.age(plan.now) <= cache.config.tolerance_value() => {
                    let value = stale.value.clone();
                    if let Some(lead) = lead {
                        lead.land(|| Landing::Loaded(value.clone(), Outcome::Stale));
                    }
                    cache.meters.stale(function, stale.stamp.age(plan.now));
                    Settle::Served(value)
                }
                seen => Settle::Load(lead, seen, Some(plan)),
            },
            Acquired::Unavailable => Settle::Load(lead, seen, None),
        }
    }

    /// The plan with the entry to write back after a load: a success,
    /// encoded within the size limit. Nothing else is ever written: a
    /// failure (or a value too large to share) drops the plan, which gives
    /// the refresh lease back.
    fn write_back<E>(&self, plan: Option<Plan>, result: &Result<V, E>) -> Option<Plan> {
        let plan = plan?;
        let value = result.as_ref().ok()?;
        let entry = fleet::encode_entry(value, fleet::now_millis())
            .filter(|entry| entry.len() <= plan.limit)?;
        Some(Plan { entry, ..plan })
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

    /// Writes the entry back; the lease is released with it.
    async fn publish(&self, plan: Plan) {
        let token = plan.lease.as_ref().and_then(Lease::token);
        if let Some(fleet) = self.0
            && fleet
                .publish(&plan.address, plan.entry, plan.ttl, token)
                .await
            && let Some(lease) = plan.lease
        {
            lease.published();
        }
    }

    fn publish_blocking(&self, plan: Plan) {
        let token = plan.lease.as_ref().and_then(Lease::token);
        if let Some(fleet) = self.0
            && fleet.publish_blocking(&plan.address, plan.entry, plan.ttl, token)
            && let Some(lease) = plan.lease
        {
            lease.published();
        }
    }
}

/// An entry read back from Redis, as a value stamped with its original
/// age (on Redis's clock) before now on the one clock; `None` (counted)
/// when it does not decode.
fn decode<K, V>(
    cache: &StaleCache<K, V>,
    fleet: &Fleet,
    plan: &Plan,
    seen: &Seen,
) -> Option<Stored<V>>
where
    V: DeserializeOwned,
{
    match fleet::decode_entry::<V>(&seen.bytes, plan.limit) {
        Ok((_, loaded_at_ms)) if loaded_at_ms > seen.at.saturating_add(MAX_SKEW_MS) => {
            // Not age 0: fresh until its time to live, or forever.
            fleet.malformed("the entry's load time is ahead of Redis's clock");
            None
        }
        Ok((value, loaded_at_ms)) => {
            let age = Duration::from_millis(seen.at.saturating_sub(loaded_at_ms));
            let loaded_at = plan.now.checked_sub(age)?;
            let maxage = cache.config.maxage_value();
            Some(Stored::loaded_at(value, maxage, loaded_at))
        }
        Err(malformed) => {
            fleet.malformed(&malformed.to_string());
            None
        }
    }
}

/// The fresher of the local value and the one read back from Redis.
fn freshest<K, V>(
    cache: &StaleCache<K, V>,
    fleet: &Fleet,
    plan: &Plan,
    local: Option<Stored<V>>,
    remote: Option<Seen>,
) -> Option<Stored<V>>
where
    V: DeserializeOwned,
{
    let remote = remote.and_then(|entry| decode(cache, fleet, plan, &entry));
    match (local, remote) {
        (Some(local), Some(remote)) if remote.stamp.age(plan.now) < local.stamp.age(plan.now) => {
            Some(remote)
        }
        (local, remote) => local.or(remote),
    }
}

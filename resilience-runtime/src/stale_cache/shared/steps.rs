//! The steps of a shared load between the cache and the fleet: where a
//! key lives, what the fleet's answer means for the flight, what is
//! written back, and how an entry read back becomes a stored value with
//! its original age.

use std::hash::Hash;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::super::cache::StaleCache;
use super::super::flight::{Landing, Lead};
use super::super::load_loop::Settle;
use super::super::report::{self, Outcome};
use super::super::stored::Stored;
use crate::clock::{self, Instant};
use crate::fleet::{self, Acquired, Address, Fleet, Lease, Seen};

/// How far ahead of Redis's clock an entry's load time may be and count as
/// loaded then (Redis stamps every value it is given with its own clock, so
/// only a writer of something else — an older version of this crate, a
/// hostile one — stamps ahead). Further ahead, the entry is a miss (counted
/// as malformed): it would pass for fresh until its time to live.
const MAX_SKEW_MS: u64 = 1_000;

/// A key's place in the fleet, worked out once per flight.
pub(in crate::stale_cache) struct Plan {
    pub(super) address: Address,
    /// The one clock's now: an entry read back is stamped this much before
    /// it, its age on Redis's clock.
    now: Instant,
    /// Entries younger than this (milliseconds, on Redis's clock) are fresh.
    pub(super) maxage: u64,
    limit: usize,
    /// The key's refresh lease, when this flight holds it: dropped with the
    /// plan (a failed load, or a flight whose future was dropped), it is
    /// given back.
    lease: Option<Lease>,
}

impl Plan {
    /// The token of the refresh lease this flight holds, if any.
    pub(super) fn lease(&self) -> Option<u64> {
        self.lease.as_ref().and_then(Lease::token)
    }

    /// The loaded value was written, and the lease released with it.
    pub(super) fn published(self) {
        if let Some(lease) = self.lease {
            lease.published();
        }
    }
}

/// What a flight does once the fleet answered.
pub(super) type Settled<K, V> = Settle<K, V, Plan>;

impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    /// Where `key` lives in the fleet, and what counts as fresh now; `None`
    /// when the key does not encode (its `Serialize` failed): local-only.
    pub(super) fn plan(&self, fleet: &Fleet, key: &K, function: &'static str) -> Option<Plan> {
        let digest = fleet::key_digest(key)?;
        let fingerprint = fleet::type_fingerprint::<V>(self.fleet_version);
        Some(Plan {
            address: fleet.address(self.fleet_name.unwrap_or(function), &fingerprint, &digest),
            now: clock::now(),
            maxage: clock::millis(self.config.maxage_value()),
            limit: fleet.options().max_entry_bytes_value(),
            lease: None,
        })
    }

    /// Acts on the fleet's answer.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn settle(
        &self,
        fleet: &Fleet,
        plan: Option<Plan>,
        acquired: Acquired,
        lead: Option<Lead<K, V>>,
        key: &K,
        seen: Option<Stored<V>>,
        function: &'static str,
    ) -> Settled<K, V> {
        let Some(plan) = plan else {
            return Settled::Load(lead, seen, None);
        };
        match acquired {
            Acquired::Fresh(entry) => match self.decode(fleet, &plan, &entry) {
                Some(fresh) => {
                    let value = fresh.value.clone();
                    self.put(key.clone(), fresh, function);
                    if let Some(lead) = lead {
                        lead.land(|| Landing::Loaded(value.clone(), Outcome::Fresh));
                    }
                    report::request(&self.meters, function, Outcome::Fresh);
                    Settled::Served(value)
                }
                // Malformed: load, and write a good entry over it.
                None => Settled::Load(lead, seen, Some(plan)),
            },
            Acquired::Lead(stale, lease) => {
                let seen = self.freshest(fleet, &plan, seen, stale);
                let plan = Plan {
                    lease: Some(lease),
                    ..plan
                };
                Settled::Load(lead, seen, Some(plan))
            }
            Acquired::Alone(stale) => {
                let seen = self.freshest(fleet, &plan, seen, stale);
                match seen {
                    // Another instance is at it (or failed at it): serve the
                    // stale value rather than call the upstream too.
                    Some(stale) if stale.stamp.age(plan.now) <= self.tolerance() => {
                        let value = stale.value.clone();
                        if let Some(lead) = lead {
                            lead.land(|| Landing::Loaded(value.clone(), Outcome::Stale));
                        }
                        report::request_stale(&self.meters, function, stale.stamp.age(plan.now));
                        Settled::Served(value)
                    }
                    seen => Settled::Load(lead, seen, Some(plan)),
                }
            }
            Acquired::Unavailable => Settled::Load(lead, seen, None),
        }
    }

    /// Acts on the fleet's answer for a background refresh: `None` when it
    /// settled the refresh (a fresh entry, or another instance at it), else
    /// the lead to load with and the plan to write back with.
    pub(super) fn settle_background(
        &self,
        fleet: &Fleet,
        plan: Plan,
        acquired: Acquired,
        lead: Lead<K, V>,
        key: &K,
        function: &'static str,
    ) -> Option<(Lead<K, V>, Option<Plan>)> {
        match acquired {
            Acquired::Fresh(seen) => match self.decode(fleet, &plan, &seen) {
                Some(fresh) => {
                    let value = fresh.value.clone();
                    self.put(key.clone(), fresh, function);
                    lead.land(|| Landing::Loaded(value, Outcome::Fresh));
                    None
                }
                None => Some((lead, Some(plan))),
            },
            Acquired::Lead(_, lease) => {
                let plan = Plan {
                    lease: Some(lease),
                    ..plan
                };
                Some((lead, Some(plan)))
            }
            // Another instance refreshes it (or failed to): the stale value
            // stays, and dropping the lead lets the next caller try again.
            Acquired::Alone(_) => None,
            Acquired::Unavailable => Some((lead, None)),
        }
    }

    /// The entry to write back after a load: a success, encoded within the
    /// size limit. Nothing else is ever written: a failure (or a value too
    /// large to share) drops the plan, which gives the refresh lease back.
    pub(super) fn write_back<E>(
        &self,
        plan: Option<Plan>,
        result: &Result<V, E>,
    ) -> Option<(Plan, Vec<u8>)> {
        let plan = plan?;
        let value = result.as_ref().ok()?;
        let entry = fleet::encode_entry(value, fleet::now_millis())
            .filter(|entry| entry.len() <= plan.limit)?;
        Some((plan, entry))
    }

    /// An entry read back from Redis, as a value stamped with its original
    /// age (on Redis's clock) before now on the one clock; `None` (counted)
    /// when it does not decode.
    fn decode(&self, fleet: &Fleet, plan: &Plan, seen: &Seen) -> Option<Stored<V>> {
        match fleet::decode_entry::<V>(&seen.bytes, plan.limit) {
            Ok((_, loaded_at_ms)) if loaded_at_ms > seen.at.saturating_add(MAX_SKEW_MS) => {
                // Not age 0: fresh until its time to live, or forever.
                fleet.malformed("the entry's load time is ahead of Redis's clock");
                None
            }
            Ok((value, loaded_at_ms)) => {
                let age = Duration::from_millis(seen.at.saturating_sub(loaded_at_ms));
                let loaded_at = plan.now.checked_sub(age)?;
                Some(Stored::loaded_at(
                    value,
                    self.config.maxage_value(),
                    loaded_at,
                ))
            }
            Err(malformed) => {
                fleet.malformed(&malformed.to_string());
                None
            }
        }
    }

    /// The fresher of the local value and the one read back from Redis.
    fn freshest(
        &self,
        fleet: &Fleet,
        plan: &Plan,
        local: Option<Stored<V>>,
        remote: Option<Seen>,
    ) -> Option<Stored<V>> {
        let remote = remote.and_then(|entry| self.decode(fleet, plan, &entry));
        match (local, remote) {
            (Some(local), Some(remote)) => {
                if remote.stamp.age(plan.now) < local.stamp.age(plan.now) {
                    Some(remote)
                } else {
                    Some(local)
                }
            }
            (local, remote) => local.or(remote),
        }
    }

    pub(super) fn tolerance(&self) -> Duration {
        self.config.tolerance_value()
    }
}

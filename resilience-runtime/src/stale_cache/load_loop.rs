//! The load loop, written once: past the hit path, a request boards its
//! key's flight, waits for it or leads it, asks the second tier (if any)
//! before it loads, loads, serves a stale value within tolerance when the
//! load fails, and writes a success back. The rules are a state machine
//! ([`LoadLoop::step`]) that says what to do next and never waits; two
//! drivers do it, one awaiting ([`LoadLoop::run`]) and one blocking
//! ([`LoadLoop::run_blocking`]) — the sans-I/O shape of `quinn-proto` and
//! `rustls`. The second tier is a [`Tier`]: none ([`Alone`]), or the fleet
//! (`Through`, feature `redis`).

use std::future::Future;
use std::hash::Hash;
use std::time::Duration;

use super::cache::{Revalidation, StaleCache, Step};
use super::config::Refresh;
use super::errors::{Described, LoadErrors};
use super::flight::{Landing, Lead, Waiting};
use super::refresher;
use super::report;
use super::stored::{Stamp, Stored};
use crate::clock;

/// What a flight does once the second tier answered (only the fleet
/// answers: without the `redis` feature nothing settles).
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(super) enum Settle<K: Hash + Eq, V, P> {
    /// Answered without a load.
    Served(V),
    /// Left to another instance: a background refresh ends, its lead dropped.
    Left,
    /// Load, with this fallback; write the value back if a plan is given.
    Load(Option<Lead<K, V>>, Option<Stored<V>>, Option<P>),
}

/// The second tier, as the load loop sees it: its rules, and its two
/// kinds of I/O (each awaited or blocking).
pub(super) trait Tier<K: Hash + Eq, V> {
    /// Where a key lives in the tier, worked out once per flight.
    type Plan;
    /// What the tier answered for a key.
    type Answer;
    /// What is written back after a load.
    type Entry;

    /// The key's plan; `None`: the tier is out of this load.
    fn plan(&self, cache: &StaleCache<K, V>, key: &K, function: &'static str)
    -> Option<Self::Plan>;

    /// Acts on the tier's answer to a flight (leading it if `lead` is
    /// given, with `seen` as its stale fallback). For a background refresh
    /// (`background`) no outcome is reported: the request was answered.
    /// By default the answer is not read: the flight loads, and writes
    /// nothing back.
    #[allow(clippy::too_many_arguments)]
    fn settle(
        &self,
        _cache: &StaleCache<K, V>,
        _plan: Self::Plan,
        _answer: Self::Answer,
        lead: Option<Lead<K, V>>,
        _key: &K,
        seen: Option<Stored<V>>,
        _function: &'static str,
        _background: bool,
    ) -> Settle<K, V, Self::Plan> {
        Settle::Load(lead, seen, None)
    }

    /// What to write back after a load: a success only. By default,
    /// nothing.
    fn write_back<E>(
        &self,
        _cache: &StaleCache<K, V>,
        _plan: Option<Self::Plan>,
        _result: &Result<V, E>,
    ) -> Option<(Self::Plan, Self::Entry)> {
        None
    }

    /// Asks the tier for the key.
    fn ask(&self, plan: &Self::Plan) -> impl Future<Output = Self::Answer> + Send;

    /// [`ask`](Self::ask), blocking.
    fn ask_blocking(&self, plan: &Self::Plan) -> Self::Answer;

    /// Writes a loaded value back, to live `ttl`.
    fn publish(
        &self,
        plan: Self::Plan,
        entry: Self::Entry,
        ttl: Duration,
    ) -> impl Future<Output = ()> + Send;

    /// [`publish`](Self::publish), blocking.
    fn publish_blocking(&self, plan: Self::Plan, entry: Self::Entry, ttl: Duration);
}

/// No second tier: the process's own cache only. It never plans, so it
/// never asks, settles or writes back (the last two: the trait's defaults).
pub(super) struct Alone;

/// What [`Alone`] never has: a plan, an answer, an entry.
pub(super) enum Never {}

impl<K: Hash + Eq, V> Tier<K, V> for Alone {
    type Plan = Never;
    type Answer = Never;
    type Entry = Never;

    fn plan(&self, _: &StaleCache<K, V>, _: &K, _: &'static str) -> Option<Never> {
        None
    }

    #[allow(clippy::manual_async_fn)]
    fn ask(&self, plan: &Never) -> impl Future<Output = Never> + Send {
        async move { match *plan {} }
    }

    fn ask_blocking(&self, plan: &Never) -> Never {
        match *plan {}
    }

    #[allow(clippy::manual_async_fn)]
    fn publish(&self, plan: Never, _: Never, _: Duration) -> impl Future<Output = ()> + Send {
        async move { match plan {} }
    }

    fn publish_blocking(&self, plan: Never, _: Never, _: Duration) {
        match plan {}
    }
}

/// What the loop does next.
pub(super) enum Action<V, E, P> {
    /// Answer the request.
    Return(Result<V, E>),
    /// Wait for the key's flight to land.
    Wait(Waiting<V>),
    /// Ask the second tier, with this plan.
    Ask(P),
    /// Run the load, then [`LoadLoop::finish`].
    Load,
}

/// What the loop does once the load ran.
pub(super) enum Finished<V, E, P, N> {
    /// Answer the request.
    Return(Result<V, E>),
    /// Write this entry back, then answer with the value.
    Publish(P, N, V),
}

/// One request past the hit path.
pub(super) struct LoadLoop<'c, K: Hash + Eq, V, T: Tier<K, V>, H> {
    cache: &'c StaleCache<K, V>,
    tier: T,
    /// Taken by the load's end.
    key: Option<K>,
    function: &'static str,
    errors: H,
    /// Between the decision to load and the load's end.
    pending: Option<Pending<K, V, T::Plan>>,
}

/// The flight led (if any), the stale fallback and the write-back plan of
/// a load about to run.
struct Pending<K: Hash + Eq, V, P> {
    lead: Option<Lead<K, V>>,
    seen: Option<Stored<V>>,
    plan: Option<P>,
}

impl<K: Hash + Eq, V, P> Pending<K, V, P> {
    fn new(lead: Option<Lead<K, V>>, seen: Option<Stored<V>>, plan: Option<P>) -> Option<Self> {
        Some(Self { lead, seen, plan })
    }
}

/// What the loop is handed back after an action.
pub(super) enum Input<V, P, A> {
    /// The first step.
    Start,
    /// The key's flight landed.
    Landed(super::flight::Landing<V>),
    /// The second tier answered, for this plan.
    Answered(P, A),
}

impl<'c, K, V, T, H> LoadLoop<'c, K, V, T, H>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    T: Tier<K, V>,
{
    /// A request for `key` past the hit path.
    pub(super) fn new(
        cache: &'c StaleCache<K, V>,
        tier: T,
        key: K,
        function: &'static str,
        errors: H,
    ) -> Self {
        Self {
            cache,
            tier,
            key: Some(key),
            function,
            errors,
            pending: None,
        }
    }

    /// The rules: given what happened, what to do next.
    pub(super) fn step<E>(&mut self, input: Input<V, T::Plan, T::Answer>) -> Action<V, E, T::Plan>
    where
        H: LoadErrors<E>,
    {
        let (cache, function) = (self.cache, self.function);
        let Some(key) = self.key.as_ref() else {
            // Only `finish` takes the key, and nothing steps after it.
            return Action::Load;
        };
        let mut step = match input {
            Input::Start => cache.board(key, function),
            Input::Landed(landing) => cache.landed(key, landing, function, &self.errors),
            Input::Answered(plan, answer) => {
                let (lead, seen) = match self.pending.take() {
                    Some(pending) => (pending.lead, pending.seen),
                    None => (None, None),
                };
                let settled = self
                    .tier
                    .settle(cache, plan, answer, lead, key, seen, function, false);
                return match settled {
                    Settle::Served(value) => Action::Return(Ok(value)),
                    Settle::Load(lead, seen, plan) => {
                        self.pending = Pending::new(lead, seen, plan);
                        Action::Load
                    }
                    // Only a background refresh is left: not reached.
                    Settle::Left => Action::Load,
                };
            }
        };
        loop {
            step = match step {
                Step::Served(value) => return Action::Return(Ok(value)),
                Step::Failed(error) => return Action::Return(Err(error)),
                Step::Wait(waiting) => return Action::Wait(waiting),
                Step::Retry => cache.board(key, function),
                Step::Load(lead, seen) => {
                    let plan = self.tier.plan(cache, key, function);
                    self.pending = Pending::new(lead, seen, None);
                    return match plan {
                        Some(plan) => Action::Ask(plan),
                        None => Action::Load,
                    };
                }
            }
        }
    }

    /// After the load: store it or fall back on the stale value, land the
    /// flight, and say whether to write the value back. Judged on the
    /// load's own result: a failure turned into a stale answer is never
    /// written back as if loaded now.
    pub(super) fn finish<E>(&mut self, result: Result<V, E>) -> Finished<V, E, T::Plan, T::Entry>
    where
        H: LoadErrors<E>,
    {
        let (lead, seen, plan) = match self.pending.take() {
            Some(pending) => (pending.lead, pending.seen, pending.plan),
            None => (None, None, None),
        };
        let entry = self.tier.write_back(self.cache, plan, &result);
        let Some(key) = self.key.take() else {
            return Finished::Return(result);
        };
        let answer = self
            .cache
            .finish(lead, key, seen, result, self.function, &self.errors);
        match (answer, entry) {
            (Ok(value), Some((plan, entry))) => Finished::Publish(plan, entry, value),
            (answer, _) => Finished::Return(answer),
        }
    }

    /// The async driver. The flight lands, answering the callers waiting
    /// in this process and keeping the value, before the write-back; only
    /// the value waits on it, so `E` need not be `Send` for the future to be.
    pub(super) async fn run<E, F>(mut self, load: F) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
        H: LoadErrors<E>,
    {
        let mut input = Input::Start;
        loop {
            input = match self.step(input) {
                Action::Return(answer) => return answer,
                Action::Wait(waiting) => Input::Landed(waiting.wait().await),
                Action::Ask(plan) => {
                    let answer = self.tier.ask(&plan).await;
                    Input::Answered(plan, answer)
                }
                Action::Load => {
                    let result = load.await;
                    let (plan, entry, value) = match self.finish(result) {
                        Finished::Return(answer) => return answer,
                        Finished::Publish(plan, entry, value) => (plan, entry, value),
                    };
                    let ttl = self.cache.config.tolerance_value();
                    self.tier.publish(plan, entry, ttl).await;
                    return Ok(value);
                }
            }
        }
    }

    /// The sync driver: waits block the thread.
    pub(super) fn run_blocking<E>(mut self, load: impl FnOnce() -> Result<V, E>) -> Result<V, E>
    where
        H: LoadErrors<E>,
    {
        let mut input = Input::Start;
        loop {
            input = match self.step(input) {
                Action::Return(answer) => return answer,
                Action::Wait(waiting) => Input::Landed(waiting.wait_blocking()),
                Action::Ask(plan) => {
                    let answer = self.tier.ask_blocking(&plan);
                    Input::Answered(plan, answer)
                }
                Action::Load => {
                    let result = load();
                    let (plan, entry, value) = match self.finish(result) {
                        Finished::Return(answer) => return answer,
                        Finished::Publish(plan, entry, value) => (plan, entry, value),
                    };
                    let ttl = self.cache.config.tolerance_value();
                    self.tier.publish_blocking(plan, entry, ttl);
                    return Ok(value);
                }
            }
        }
    }
}

/// A request that revalidates ([`Refresh::Background`]): past the hit
/// path, an expired value within tolerance is returned at once and one
/// refresh runs behind it, which asks the second tier first; anything else
/// goes through the load loop. Written once for both tiers.
impl<K, V, T, H> LoadLoop<'_, K, V, T, H>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    T: Tier<K, V> + Send + Sync + 'static,
    T::Plan: Send,
    T::Entry: Send,
    H: Send + 'static,
{
    /// The async revalidation: the refresh is spawned on the current tokio
    /// runtime (inline outside one).
    pub(super) async fn revalidate<E: 'static, F>(
        self,
        seen: Option<Stored<V>>,
        load: F,
    ) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>> + Send + 'static,
        H: LoadErrors<E>,
    {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return self.run(load).await;
        };
        match self.behind(seen) {
            Some(Revalidation::Served(value)) => Ok(value),
            Some(Revalidation::Refresh(value, lead, stale)) => {
                let Some((cache, tier, key, function, errors)) = self.into_refresh() else {
                    return Ok(value);
                };
                runtime.spawn(async move {
                    let asked = match tier.plan(&cache, &key, function) {
                        Some(plan) => Some((tier.ask(&plan).await, plan)),
                        None => None,
                    };
                    let Some((lead, plan)) =
                        settle_refresh(&tier, &cache, asked, lead, &key, function)
                    else {
                        return;
                    };
                    // `E` need not be `Send`: the result is gone before the
                    // write-back awaits.
                    let entry = land_refresh(
                        &tier,
                        &cache,
                        plan,
                        lead,
                        key,
                        stale,
                        load.await,
                        function,
                        &errors,
                    );
                    if let Some((plan, entry)) = entry {
                        let ttl = cache.config.tolerance_value();
                        tier.publish(plan, entry, ttl).await;
                    }
                });
                Ok(value)
            }
            _ => self.run(load).await,
        }
    }

    /// The sync revalidation: the refresh runs on one of the few shared
    /// refresher threads; a refresh the queue does not take is dropped with
    /// its lead, which lands the flight as abandoned: nothing stays wedged.
    pub(super) fn revalidate_blocking<E: 'static, L>(
        self,
        seen: Option<Stored<V>>,
        load: L,
    ) -> Result<V, E>
    where
        L: FnOnce() -> Result<V, E> + Send + 'static,
        H: LoadErrors<E>,
    {
        match self.behind(seen) {
            Some(Revalidation::Served(value)) => Ok(value),
            Some(Revalidation::Refresh(value, lead, stale)) => {
                let Some((cache, tier, key, function, errors)) = self.into_refresh() else {
                    return Ok(value);
                };
                let _not_taken = refresher::offer(Box::new(move || {
                    let plan = tier.plan(&cache, &key, function);
                    let asked = plan.map(|plan| (tier.ask_blocking(&plan), plan));
                    let Some((lead, plan)) =
                        settle_refresh(&tier, &cache, asked, lead, &key, function)
                    else {
                        return;
                    };
                    let result = load();
                    let entry = land_refresh(
                        &tier, &cache, plan, lead, key, stale, result, function, &errors,
                    );
                    if let Some((plan, entry)) = entry {
                        tier.publish_blocking(plan, entry, cache.config.tolerance_value());
                    }
                }));
                Ok(value)
            }
            _ => self.run_blocking(load),
        }
    }

    /// With [`Refresh::Background`] configured, what to do with `seen`;
    /// `None` otherwise (the loop runs).
    fn behind(&self, seen: Option<Stored<V>>) -> Option<Revalidation<K, V>> {
        let background = self.cache.config.refresh_value() == Refresh::Background;
        let key = self.key.as_ref().filter(|_| background)?;
        Some(self.cache.revalidate(key, seen, self.function))
    }

    /// What a background refresh owns: a handle on the cache, the tier, the
    /// key (`None` once `finish` took it: not here), the function and the
    /// errors' handling.
    #[allow(clippy::type_complexity)]
    fn into_refresh(self) -> Option<(StaleCache<K, V>, T, K, &'static str, H)> {
        let key = self.key?;
        Some((
            self.cache.share(),
            self.tier,
            key,
            self.function,
            self.errors,
        ))
    }
}

/// A background refresh past the tier's answer, if it was asked: `None`
/// when that settled it (a fresh entry, another instance at it), else the
/// lead to load with and the plan to write back with.
#[allow(clippy::type_complexity)]
fn settle_refresh<K, V, T>(
    tier: &T,
    cache: &StaleCache<K, V>,
    asked: Option<(T::Answer, T::Plan)>,
    lead: Lead<K, V>,
    key: &K,
    function: &'static str,
) -> Option<(Lead<K, V>, Option<T::Plan>)>
where
    K: Hash + Eq,
    T: Tier<K, V>,
{
    let Some((answer, plan)) = asked else {
        return Some((lead, None));
    };
    match tier.settle(cache, plan, answer, Some(lead), key, None, function, true) {
        Settle::Load(Some(lead), _, plan) => Some((lead, plan)),
        // Settled: a fresh entry, or another instance at it.
        _ => None,
    }
}

/// Lands a background refresh with its load's result: a success is stored,
/// a failure leaves the stale value in place (a warning). The request was
/// already answered, so no outcome is reported. Returns what to write back.
#[allow(clippy::too_many_arguments)]
fn land_refresh<K, V, T, E, H>(
    tier: &T,
    cache: &StaleCache<K, V>,
    plan: Option<T::Plan>,
    lead: Lead<K, V>,
    key: K,
    stale: Stamp,
    result: Result<V, E>,
    function: &'static str,
    errors: &H,
) -> Option<(T::Plan, T::Entry)>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    T: Tier<K, V>,
    H: LoadErrors<E>,
{
    let entry = tier.write_back(cache, plan, &result);
    match result {
        Ok(value) => {
            let outcome = cache.keep(key, &value, Some(stale), function);
            lead.land(|| Landing::Loaded(value, outcome));
        }
        Err(error) => {
            lead.land(|| Landing::Failed(errors.share(&error)));
            let age_ms = stale.age_ms(clock::now());
            report::background_failed(function, &Described(&error, errors), age_ms);
        }
    }
    entry
}

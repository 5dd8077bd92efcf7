//! The load loop, written once: past the hit path a request boards its
//! key's flight, waits for it or leads it, asks the second tier (if any),
//! loads, falls back on a stale value, and writes a success back. The rules
//! are a state machine that never waits ([`LoadLoop::step`]); one driver
//! awaits, one blocks (the sans-I/O shape of `quinn-proto` and `rustls`).
//! The second tier is a [`Tier`]: none ([`Local`]), or the fleet
//! (`Shared`, feature `redis`).

use std::future::Future;
use std::hash::Hash;

use super::cache::{Revalidation, StaleCache, Step};
use super::config::Refresh;
use super::errors::{Described, LoadErrors};
use super::flight::{Landing, Lead, Waiting};
use super::refresher;
use super::report;
use super::request::Local;
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
    /// Where a key lives in the tier, worked out once per flight, and
    /// what to write back there after a load.
    type Plan;
    /// What the tier answered for a key.
    type Answer;

    /// The tier of a request past its hit path (where the fleet is looked
    /// up, not before).
    fn resolved(self, _function: &'static str) -> Self
    where
        Self: Sized,
    {
        self
    }

    /// The key's plan; `None`: the tier is out of this load.
    fn plan(&self, cache: &StaleCache<K, V>, key: &K, function: &'static str)
    -> Option<Self::Plan>;

    /// Acts on the tier's answer to a flight (led if `lead` is given, `seen`
    /// its stale fallback); a `background` refresh reports no outcome. By
    /// default: load, and write nothing back.
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

    /// The plan to write a load back with: a success only (by default,
    /// nothing is written back).
    fn write_back<E>(
        &self,
        _plan: Option<Self::Plan>,
        _result: &Result<V, E>,
    ) -> Option<Self::Plan> {
        None
    }

    /// Asks the tier for the key.
    fn ask(&self, plan: &Self::Plan) -> impl Future<Output = Self::Answer> + Send;

    /// [`ask`](Self::ask), blocking.
    fn ask_blocking(&self, plan: &Self::Plan) -> Self::Answer;

    /// Writes a loaded value back.
    fn publish(&self, plan: Self::Plan) -> impl Future<Output = ()> + Send;

    /// [`publish`](Self::publish), blocking.
    fn publish_blocking(&self, plan: Self::Plan);
}

/// What [`Local`] never has: a plan, an answer.
pub(super) enum Never {}

/// No second tier. It never plans, so it never asks, settles or writes back.
impl<K: Hash + Eq, V> Tier<K, V> for Local {
    type Plan = Never;
    type Answer = Never;

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
    fn publish(&self, plan: Never) -> impl Future<Output = ()> + Send {
        async move { match plan {} }
    }

    fn publish_blocking(&self, plan: Never) {
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

/// What the loop is handed back after an action.
pub(super) enum Input<V, P, A> {
    /// The first step.
    Start,
    /// The key's flight landed.
    Landed(Landing<V>),
    /// The second tier answered, for this plan.
    Answered(P, A),
}

/// One request past the hit path.
pub(super) struct LoadLoop<'c, K: Hash + Eq, V, T: Tier<K, V>, H> {
    cache: &'c StaleCache<K, V>,
    tier: T,
    /// Taken by the load's end.
    key: Option<K>,
    function: &'static str,
    errors: H,
    /// From the decision to load to the load's end: the flight led (if
    /// any), the stale fallback, and the plan to write back with.
    lead: Option<Lead<K, V>>,
    seen: Option<Stored<V>>,
    plan: Option<T::Plan>,
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
            lead: None,
            seen: None,
            plan: None,
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
        let step = match input {
            Input::Start => cache.board(key, function),
            Input::Landed(landing) => cache.landed(key, landing, function, &self.errors),
            Input::Answered(plan, answer) => {
                let (lead, seen) = (self.lead.take(), self.seen.take());
                let settled =
                    (self.tier).settle(cache, plan, answer, lead, key, seen, function, false);
                return match settled {
                    Settle::Served(value) => Action::Return(Ok(value)),
                    Settle::Load(lead, seen, plan) => {
                        (self.lead, self.seen, self.plan) = (lead, seen, plan);
                        Action::Load
                    }
                    // Only a background refresh is left: not reached.
                    Settle::Left => Action::Load,
                };
            }
        };
        match step {
            Step::Served(value) => Action::Return(Ok(value)),
            Step::Failed(error) => Action::Return(Err(error)),
            Step::Wait(waiting) => Action::Wait(waiting),
            Step::Load(lead, seen) => {
                (self.lead, self.seen) = (lead, seen);
                match self.tier.plan(cache, key, function) {
                    Some(plan) => Action::Ask(plan),
                    None => Action::Load,
                }
            }
        }
    }

    /// After the load: store it or fall back on the stale value, land the
    /// flight, and say what to write back, judged on the load's own result
    /// (a stale answer is never written back as if loaded now).
    pub(super) fn finish<E>(&mut self, result: Result<V, E>) -> Result<(V, Option<T::Plan>), E>
    where
        H: LoadErrors<E>,
    {
        let written = self.tier.write_back(self.plan.take(), &result);
        let Some(key) = self.key.take() else {
            return result.map(|value| (value, None));
        };
        let (lead, seen) = (self.lead.take(), self.seen.take());
        let value = (self.cache).finish(lead, key, seen, result, self.function, &self.errors)?;
        Ok((value, written))
    }

    /// The async driver. The flight lands, answering this process's waiters,
    /// before the write-back, which only the value waits for: `E` need not
    /// be `Send` for the future to be.
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
                    let (value, written) = self.finish(load.await)?;
                    if let Some(plan) = written {
                        self.tier.publish(plan).await;
                    }
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
                    let (value, written) = self.finish(load())?;
                    if let Some(plan) = written {
                        self.tier.publish_blocking(plan);
                    }
                    return Ok(value);
                }
            }
        }
    }
}

/// A request that revalidates ([`Refresh::Background`]): an expired value
/// within tolerance is returned at once and one refresh runs behind it;
/// anything else goes through the load loop.
impl<K, V, T, H> LoadLoop<'_, K, V, T, H>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    T: Tier<K, V> + Send + Sync + 'static,
    T::Plan: Send,
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
            Err(inline) => inline.run(load).await,
            Ok((value, None)) => Ok(value),
            Ok((value, Some(behind))) => {
                runtime.spawn(async move {
                    let asked = match behind.plan() {
                        Some(plan) => Some((behind.tier.ask(&plan).await, plan)),
                        None => None,
                    };
                    let Some((behind, plan)) = behind.settle(asked) else {
                        return;
                    };
                    // `E` need not be `Send`: the result is gone before the
                    // write-back awaits.
                    if let Some((tier, plan)) = behind.land(plan, load.await) {
                        tier.publish(plan).await;
                    }
                });
                Ok(value)
            }
        }
    }

    /// The sync revalidation, the refresh on a refresher thread; one the
    /// queue does not take drops its lead, landing the flight as abandoned.
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
            Err(inline) => inline.run_blocking(load),
            Ok((value, None)) => Ok(value),
            Ok((value, Some(behind))) => {
                let _not_taken = refresher::offer(Box::new(move || {
                    let asked = behind
                        .plan()
                        .map(|plan| (behind.tier.ask_blocking(&plan), plan));
                    let Some((behind, plan)) = behind.settle(asked) else {
                        return;
                    };
                    if let Some((tier, plan)) = behind.land(plan, load()) {
                        tier.publish_blocking(plan);
                    }
                }));
                Ok(value)
            }
        }
    }

    /// With [`Refresh::Background`] configured and `seen` within tolerance:
    /// the stale value to answer with, and the refresh to run behind it
    /// unless one runs already. Otherwise the loop, to run.
    #[allow(clippy::type_complexity)]
    fn behind(self, seen: Option<Stored<V>>) -> Result<(V, Option<Behind<K, V, T, H>>), Self> {
        let background = self.cache.config.refresh_value() == Refresh::Background;
        let revalidation = match &self.key {
            Some(key) if background => self.cache.revalidate(key, seen, self.function),
            _ => Revalidation::Inline,
        };
        match (revalidation, self.key) {
            (Revalidation::Served(value), _) => Ok((value, None)),
            (Revalidation::Refresh(value, lead, stale), Some(key)) => {
                let behind = Behind {
                    cache: self.cache.share(),
                    tier: self.tier,
                    key,
                    function: self.function,
                    errors: self.errors,
                    lead,
                    stale,
                };
                Ok((value, Some(behind)))
            }
            (_, key) => Err(Self { key, ..self }),
        }
    }
}

/// A refresh behind a stale answer: what it needs once the request returned.
struct Behind<K: Hash + Eq, V, T, H> {
    cache: StaleCache<K, V>,
    tier: T,
    key: K,
    function: &'static str,
    errors: H,
    lead: Lead<K, V>,
    stale: Stamp,
}

impl<K, V, T, H> Behind<K, V, T, H>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    T: Tier<K, V>,
{
    /// Where the key lives in the second tier, if it is in this refresh.
    fn plan(&self) -> Option<T::Plan> {
        self.tier.plan(&self.cache, &self.key, self.function)
    }

    /// Past the tier's answer, if it was asked: `None` when that settled
    /// the refresh (a fresh entry, another instance at it), else the
    /// refresh to load, and the plan to write back with.
    fn settle(mut self, asked: Option<(T::Answer, T::Plan)>) -> Option<(Self, Option<T::Plan>)> {
        let Some((answer, plan)) = asked else {
            return Some((self, None));
        };
        let (cache, key, function) = (&self.cache, &self.key, self.function);
        let lead = Some(self.lead);
        match (self.tier).settle(cache, plan, answer, lead, key, None, function, true) {
            Settle::Load(Some(lead), _, plan) => {
                self.lead = lead;
                Some((self, plan))
            }
            _ => None,
        }
    }

    /// Lands the refresh: a success is stored, a failure leaves the stale
    /// value in place (a warning); no outcome, the request was answered.
    /// Returns the tier and the plan to write back with.
    fn land<E>(self, plan: Option<T::Plan>, result: Result<V, E>) -> Option<(T, T::Plan)>
    where
        H: LoadErrors<E>,
    {
        let written = self.tier.write_back(plan, &result);
        match result {
            Ok(value) => {
                let outcome = (self.cache).keep(self.key, &value, Some(self.stale), self.function);
                self.lead.land(|| Landing::Loaded(value, outcome));
            }
            Err(error) => {
                self.lead
                    .land(|| Landing::Failed(self.errors.share(&error)));
                let age_ms = self.stale.age_ms(clock::now());
                report::background_failed(self.function, &Described(&error, &self.errors), age_ms);
            }
        }
        Some((self.tier, written?))
    }
}

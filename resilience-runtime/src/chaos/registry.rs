//! The process's injections and error makers, by target, and the one flag
//! every point reads.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, LazyLock};

use parking_lot::{Mutex, RwLock};

use super::Fault;
use super::dice::{Decision, Dice};

/// Whether any target is injected: the idle cost of every point is this
/// one relaxed load. Relaxed is enough: a call that misses an injection
/// switched on a moment ago is one the rehearsal did not reach yet.
pub(crate) static ARMED: AtomicBool = AtomicBool::new(false);

/// One target's fault and its generator.
#[derive(Debug)]
pub(crate) struct Injection {
    pub(crate) fault: Fault,
    dice: Mutex<Dice>,
    /// The warning "no maker for this error type" was given.
    pub(crate) warned_unmade: AtomicBool,
}

impl Injection {
    pub(crate) fn roll(&self) -> Decision {
        self.dice.lock().roll(&self.fault)
    }
}

type Maker = Arc<dyn Fn() -> Box<dyn Any + Send> + Send + Sync>;

#[derive(Default)]
struct Registry {
    injections: HashMap<String, Arc<Injection>>,
    /// Per target, one maker per error type.
    makers: HashMap<String, Vec<(TypeId, Maker)>>,
}

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(Default::default);

pub(crate) fn set(target: &str, fault: Fault) {
    let injection = Arc::new(Injection {
        dice: Mutex::new(Dice::new(fault.seed_value())),
        fault,
        warned_unmade: AtomicBool::new(false),
    });
    let mut registry = REGISTRY.write();
    registry.injections.insert(target.to_owned(), injection);
    ARMED.store(true, Relaxed);
}

pub(crate) fn remove(target: &str) -> bool {
    let mut registry = REGISTRY.write();
    let removed = registry.injections.remove(target).is_some();
    ARMED.store(!registry.injections.is_empty(), Relaxed);
    removed
}

pub(crate) fn clear() {
    let mut registry = REGISTRY.write();
    registry.injections.clear();
    ARMED.store(false, Relaxed);
}

pub(crate) fn injection(target: &str) -> Option<Arc<Injection>> {
    REGISTRY.read().injections.get(target).cloned()
}

pub(crate) fn all() -> Vec<(String, Fault)> {
    let mut all: Vec<(String, Fault)> = REGISTRY
        .read()
        .injections
        .iter()
        .map(|(target, injection)| (target.clone(), injection.fault))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

pub(crate) fn add_maker<E: Send + 'static>(
    target: &str,
    make: impl Fn() -> E + Send + Sync + 'static,
) {
    let maker: Maker = Arc::new(move || Box::new(make()));
    let mut registry = REGISTRY.write();
    let makers = registry.makers.entry(target.to_owned()).or_default();
    makers.retain(|(type_id, _)| *type_id != TypeId::of::<E>());
    makers.push((TypeId::of::<E>(), maker));
}

pub(crate) fn has_maker(target: &str) -> bool {
    REGISTRY
        .read()
        .makers
        .get(target)
        .is_some_and(|makers| !makers.is_empty())
}

/// The error `target`'s maker for `E` makes, if one was registered.
pub(crate) fn make<E: 'static>(target: &str) -> Option<E> {
    let maker = REGISTRY
        .read()
        .makers
        .get(target)?
        .iter()
        .find(|(type_id, _)| *type_id == TypeId::of::<E>())
        .map(|(_, maker)| Arc::clone(maker))?;
    // Made outside the lock: the application's closure may call back in.
    maker().downcast::<E>().ok().map(|error| *error)
}

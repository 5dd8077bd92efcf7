//! The unit tests' one recorder of `tracing` events.
//!
//! A subscriber set with `set_default` races with other tests' first use of
//! a callsite: the interest cached then may leave the new subscriber out, and
//! an event goes missing now and then. So the test binary has one global
//! subscriber, installed once and always interested, that hands each event
//! to the recording of the thread that emitted it (if that thread records).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Once;

/// One event, its fields as text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Captured {
    pub(crate) level: tracing::Level,
    pub(crate) target: String,
    pub(crate) fields: BTreeMap<&'static str, String>,
}

thread_local! {
    static RECORDING: RefCell<Option<Vec<Captured>>> = const { RefCell::new(None) };
}

/// Starts recording this thread's events (again, if it was).
pub(crate) fn record_events() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(Recorder).expect("the only global subscriber");
    });
    RECORDING.set(Some(Vec::new()));
}

/// The events recorded on this thread since [`record_events`] or the last
/// look; recording goes on.
pub(crate) fn recorded_events() -> Vec<Captured> {
    RECORDING.with_borrow_mut(|events| events.as_mut().map(std::mem::take).unwrap_or_default())
}

struct Recorder;

struct Fields<'a>(&'a mut BTreeMap<&'static str, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }
}

impl tracing::Subscriber for Recorder {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::always()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        RECORDING.with_borrow_mut(|recording| {
            if let Some(events) = recording {
                let mut fields = BTreeMap::new();
                event.record(&mut Fields(&mut fields));
                events.push(Captured {
                    level: *event.metadata().level(),
                    target: event.metadata().target().to_owned(),
                    fields,
                });
            }
        });
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

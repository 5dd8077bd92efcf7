//! Recording the events of the `resilience` target, so tests can check
//! their fields, and printing them as a JSON log would.
//!
//! The test binary has one global subscriber, installed once and always
//! interested, that hands each event to the recording of the thread that
//! emitted it. A subscriber set per test with `set_default` races with other
//! tests' first use of a callsite (the interest cached then may leave it
//! out), so an event would go missing now and then; one that never changes
//! cannot miss any.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

/// One recorded event: its level, message and fields, as text.
#[derive(Debug, Clone)]
pub struct Event {
    pub level: tracing::Level,
    pub fields: Vec<(String, String)>,
}

impl Event {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn message(&self) -> &str {
        self.field("message").unwrap_or_default()
    }
}

/// The events this thread emitted while its recording ran.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Event>>>);

/// Where this thread's events go, while a test records them.
#[derive(Default)]
struct Sinks {
    recorder: Option<Recorder>,
    json: Option<Arc<Mutex<Vec<u8>>>>,
}

thread_local! {
    static SINKS: RefCell<Sinks> = RefCell::default();
}

/// Ends this thread's recording when dropped.
pub struct Recording(());

impl Drop for Recording {
    fn drop(&mut self) {
        SINKS.with_borrow_mut(|sinks| *sinks = Sinks::default());
    }
}

impl Recorder {
    /// Records this thread's events until the guard drops.
    pub fn install() -> (Self, Recording) {
        install_once();
        let recorder = Recorder::default();
        SINKS.with_borrow_mut(|sinks| sinks.recorder = Some(recorder.clone()));
        (recorder, Recording(()))
    }

    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }
}

/// Prints this thread's events as JSON lines (the JSON layer of
/// `tracing-subscriber`, one object per event, fields flattened) until the
/// guard drops; the closure reads the lines back, parsed.
pub fn json_log() -> (impl Fn() -> Vec<serde_json::Value>, Recording) {
    install_once();
    let buffer = Arc::new(Mutex::new(Vec::new()));
    SINKS.with_borrow_mut(|sinks| sinks.json = Some(Arc::clone(&buffer)));
    let lines = move || {
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    };
    (lines, Recording(()))
}

fn install_once() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let json = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(|| ThreadJson);
        let subscriber = Registry::default()
            .with(Always)
            .with(RecorderLayer)
            .with(json);
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
    });
}

/// Keeps every callsite's interest at "always", whichever thread asks first.
struct Always;

impl<S: tracing::Subscriber> Layer<S> for Always {
    fn register_callsite(&self, _: &'static tracing::Metadata<'static>) -> Interest {
        Interest::always()
    }
}

/// Hands events of target `resilience` to this thread's recorder, if any.
struct RecorderLayer;

impl<S: tracing::Subscriber> Layer<S> for RecorderLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "resilience" {
            return;
        }
        let Some(recorder) = SINKS.with_borrow(|sinks| sinks.recorder.clone()) else {
            return;
        };
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        recorder.0.lock().unwrap().push(Event {
            level: *event.metadata().level(),
            fields,
        });
    }
}

/// Writes JSON lines into this thread's buffer, if it has one.
struct ThreadJson;

impl Write for ThreadJson {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Some(buffer) = SINKS.with_borrow(|sinks| sinks.json.clone()) {
            buffer.lock().unwrap().extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_string(), value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
}

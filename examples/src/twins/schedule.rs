use std::collections::VecDeque;
use std::sync::Mutex;

/// What a simulated upstream answers, call after call: the outcomes given,
/// then `Ok` once they run out.
#[derive(Debug, Default)]
pub struct Schedule<T> {
    answers: Mutex<VecDeque<T>>,
    calls: Mutex<u32>,
}

impl<T> Schedule<T> {
    /// An upstream that answers `answers` in order.
    pub fn new(answers: impl IntoIterator<Item = T>) -> Self {
        Schedule {
            answers: Mutex::new(answers.into_iter().collect()),
            calls: Mutex::new(0),
        }
    }

    /// The next answer, or `None` once the schedule ran out.
    pub fn next(&self) -> Option<T> {
        *self.calls.lock().unwrap() += 1;
        self.answers.lock().unwrap().pop_front()
    }

    /// Calls made so far.
    pub fn calls(&self) -> u32 {
        *self.calls.lock().unwrap()
    }
}

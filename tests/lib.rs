//! Intentionally empty: this package exists for its test, example or trybuild targets.

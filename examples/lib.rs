//! Runnable programs of `resilience`, and the code they share with the tests.
//!
//! The `twins` are Rust versions of the Python decorators our users migrate
//! from. Each takes a failure schedule and returns what happened on each
//! call, so the example prints it and a test pins it.

pub mod twins;

//! Runnable programs of `resilience`, and the code they share with the tests.
//!
//! The `twins` are Rust versions of the Python decorators our users migrate
//! from. Each takes a failure schedule and returns what happened on each
//! call, so the example prints it and a test pins it.
//!
//! [`http_service`] is the app of `cargo run --example http_service`, which
//! the integration test serves too; [`overload`] holds the simulations of
//! `cargo run --example overload`.

pub mod twins;

pub mod http_service;

pub mod overload;

//! `#[breaker(shared = true)]`: the config it builds, through a check that
//! names the `redis` feature when it is off.

use crate::breaker::BreakerConfig;

/// The fleet, as a type to check the feature on.
pub struct Fleet;

/// Implemented for [`Fleet`] exactly when the `redis` feature is on.
#[diagnostic::on_unimplemented(
    message = "`shared = true` needs the `redis` feature of `resilience-runtime`",
    label = "shared over Redis here",
    note = "enable it in Cargo.toml: `features = [\"redis\"]` on `resilience-runtime`, then call `resilience_runtime::fleet::connect` at start-up"
)]
pub trait RedisFeature {}

#[cfg(feature = "redis")]
impl RedisFeature for Fleet {}

/// `config`, shared over the fleet.
#[inline(always)]
pub const fn shared_breaker<F: RedisFeature>(config: BreakerConfig) -> BreakerConfig {
    #[cfg(feature = "redis")]
    {
        config.shared(true)
    }
    #[cfg(not(feature = "redis"))]
    {
        config
    }
}

/// `config` with `#[breaker(shared = true, quorum = n)]`'s quorum (the
/// `shared` check has named the feature when it is off).
#[inline(always)]
pub const fn breaker_quorum(config: BreakerConfig, quorum: u32) -> BreakerConfig {
    #[cfg(feature = "redis")]
    {
        config.quorum(quorum)
    }
    #[cfg(not(feature = "redis"))]
    {
        let _ = quorum;
        config
    }
}

//! The chaos points generated code calls (feature `chaos`): one in each
//! attempt, where the body would run, and one at each breaker, after its
//! permit. Without the feature a point is a constant `None` of an empty
//! type, and the code behind it is dead: nothing is compiled in.
//!
//! ```text
//! if let Some(strike) = chaos::point(FUNCTION) {
//!     let landed = strike.land().await; // or .land_blocking()
//!     if let Some(error) = landed.error() {
//!         return from_result(Err(error));
//!     }
//! }
//! ```

#[cfg(feature = "chaos")]
pub use crate::chaos::strike::{Landed, Strike};

#[cfg(feature = "chaos")]
use crate::chaos::strike::{Site, armed, strike};

/// The point in a decorated function's attempt: `function` is its
/// `module::path::name`. Idle, one relaxed load.
#[cfg(feature = "chaos")]
#[inline(always)]
pub fn point(function: &'static str) -> Option<Strike> {
    if !armed() {
        return None;
    }
    strike(function, Site::Function)
}

/// The point at the breaker `name`, after its permit. Idle, one relaxed load.
#[cfg(feature = "chaos")]
#[inline(always)]
pub fn breaker_point(name: &'static str) -> Option<Strike> {
    if !armed() {
        return None;
    }
    strike(name, Site::Breaker)
}

/// Without the feature: no strike can exist.
#[cfg(not(feature = "chaos"))]
#[derive(Debug)]
pub enum Strike {}

/// Without the feature: no strike lands.
#[cfg(not(feature = "chaos"))]
#[derive(Debug)]
pub enum Landed {}

#[cfg(not(feature = "chaos"))]
impl Strike {
    /// Unreachable: there is no strike.
    #[inline(always)]
    pub async fn land(self) -> Landed {
        match self {}
    }

    /// Unreachable: there is no strike.
    #[inline(always)]
    pub fn land_blocking(self) -> Landed {
        match self {}
    }
}

#[cfg(not(feature = "chaos"))]
impl Landed {
    /// Unreachable: there is no strike. No `'static` bound here: code
    /// that never rehearses keeps every error type it had.
    #[inline(always)]
    pub fn error<E>(self) -> Option<E> {
        match self {}
    }
}

/// Without the feature: never a strike.
#[cfg(not(feature = "chaos"))]
#[inline(always)]
pub const fn point(_function: &'static str) -> Option<Strike> {
    None
}

/// Without the feature: never a strike.
#[cfg(not(feature = "chaos"))]
#[inline(always)]
pub const fn breaker_point(_name: &'static str) -> Option<Strike> {
    None
}

// Without the feature, proved at compile time: no point ever strikes.
#[cfg(not(feature = "chaos"))]
const _: () = assert!(point("any::function").is_none() && breaker_point("any").is_none());

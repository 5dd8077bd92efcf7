//! The chaos points generated code calls (feature `chaos`): one in each
//! attempt, where the body would run, and one at each breaker, after its
//! permit. A call reads whether anything is injected once, at its start
//! ([`armed`]: one relaxed load), and hands that to each of its points, so
//! an idle call costs one load however many points and attempts it has
//! (an injection started during a call meets the calls that start after
//! it). Without the feature a point is a constant `None` of an empty type,
//! and the code behind it is dead: nothing is compiled in.
//!
//! ```text
//! let armed = chaos::armed();
//! if let Some(strike) = chaos::point(armed, FUNCTION) {
//!     let landed = strike.land().await; // or .land_blocking()
//!     if let Some(error) = landed.error() {
//!         return from_result(Err(error));
//!     }
//! }
//! ```

#[cfg(feature = "chaos")]
pub use crate::chaos::strike::{Landed, Strike};

#[cfg(feature = "chaos")]
use crate::chaos::strike::{self, Site, strike};

/// Whether anything is injected: read once per call, at its start.
#[cfg(feature = "chaos")]
#[inline(always)]
pub fn armed() -> bool {
    strike::armed()
}

/// The point in a decorated function's attempt: `function` is its
/// `module::path::name`; `armed`, what the call read at its start.
#[cfg(feature = "chaos")]
#[inline(always)]
pub fn point(armed: bool, function: &'static str) -> Option<Strike> {
    if !armed {
        return None;
    }
    strike(function, Site::Function)
}

/// The point at the breaker `name`, after its permit; `armed`, what the
/// call read at its start.
#[cfg(feature = "chaos")]
#[inline(always)]
pub fn breaker_point(armed: bool, name: &'static str) -> Option<Strike> {
    if !armed {
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

/// Without the feature: never armed.
#[cfg(not(feature = "chaos"))]
#[inline(always)]
pub const fn armed() -> bool {
    false
}

/// Without the feature: never a strike.
#[cfg(not(feature = "chaos"))]
#[inline(always)]
pub const fn point(_armed: bool, _function: &'static str) -> Option<Strike> {
    None
}

/// Without the feature: never a strike.
#[cfg(not(feature = "chaos"))]
#[inline(always)]
pub const fn breaker_point(_armed: bool, _name: &'static str) -> Option<Strike> {
    None
}

// Without the feature, proved at compile time: no point ever strikes.
#[cfg(not(feature = "chaos"))]
const _: () = assert!(
    !armed() && point(true, "any::function").is_none() && breaker_point(true, "any").is_none()
);

//! `#[breaker(key = ..)]`: the key made owned, and checked where it is
//! written.

use std::sync::Arc;

use crate::breaker::{Breaker, BreakerKey, KeyedBreakerSlot};

/// An owned key from what `key = ..` evaluates to, as `#[stale_cache]`
/// owns its key: a `&str` (or `&String`) becomes a `String`, a `&[T]` a
/// `Vec<T>`, anything else is cloned. Called as a method, so that
/// auto-deref picks the impl: `host.to_breaker_key()`.
pub trait ToBreakerKey {
    /// The owned key.
    type Key;
    /// The owned key.
    fn to_breaker_key(&self) -> Self::Key;
}

impl ToBreakerKey for str {
    type Key = String;
    #[inline]
    fn to_breaker_key(&self) -> String {
        self.to_owned()
    }
}

impl<T: Clone> ToBreakerKey for [T] {
    type Key = Vec<T>;
    #[inline]
    fn to_breaker_key(&self) -> Vec<T> {
        self.to_vec()
    }
}

impl<T: Clone> ToBreakerKey for T {
    type Key = T;
    #[inline]
    fn to_breaker_key(&self) -> T {
        self.clone()
    }
}

/// The breaker of `key` in `slot`: the one call that needs `K:
/// BreakerKey`, located at `key = ..` so that a missing bound is reported
/// there, once.
#[inline(always)]
pub fn keyed_breaker<K: BreakerKey>(slot: &KeyedBreakerSlot, key: K) -> Arc<Breaker> {
    slot.breaker(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_become_owned_keys() {
        let host: &str = "a.example";
        let owned: String = host.to_breaker_key();
        assert_eq!(owned, "a.example");
        let name = String::from("b.example");
        let owned: String = name.to_breaker_key();
        let borrowed: &String = &name;
        let again: String = borrowed.to_breaker_key();
        assert_eq!((owned, again), (name.clone(), name));
        let bytes: &[u8] = b"ab";
        let owned: Vec<u8> = bytes.to_breaker_key();
        assert_eq!(owned, b"ab");
        let id = 7_u64;
        let owned: u64 = id.to_breaker_key();
        assert_eq!(owned, 7);
        let by_ref: &u64 = &id;
        let owned: u64 = by_ref.to_breaker_key();
        assert_eq!(owned, 7);
    }
}

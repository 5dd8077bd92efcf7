//! What a value weighs, for caches bounded in bytes (`max_bytes`).

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

/// The bytes a value holds, roughly: its own size plus what it owns on the
/// heap. What `#[stale_cache(max_bytes = ..)]` weighs each value with, and
/// a ready weigher for [`StaleCache::with_weigher`](super::StaleCache::with_weigher)
/// (`Weigh::weigh`).
///
/// Implemented for the standard types a loader returns; implement it for
/// your own value type by adding up its fields' weights (an estimate is
/// enough: it decides what stays, not what is allocated).
///
/// ```
/// use resilience_runtime::stale_cache::Weigh;
///
/// #[derive(Clone)]
/// struct Profile {
///     name: String,
///     avatar: Vec<u8>,
/// }
///
/// impl Weigh for Profile {
///     fn weigh(&self) -> usize {
///         self.name.weigh() + self.avatar.weigh()
///     }
/// }
///
/// let profile = Profile { name: "Ada".into(), avatar: vec![0; 1_000] };
/// assert!(profile.weigh() >= 1_003);
/// assert_eq!(7_u64.weigh(), 8);
/// ```
pub trait Weigh {
    /// The bytes this value holds, its own size included.
    fn weigh(&self) -> usize;
}

macro_rules! inline_only {
    ($($t:ty),*) => {$(
        impl Weigh for $t {
            #[inline]
            fn weigh(&self) -> usize {
                size_of::<$t>()
            }
        }
    )*};
}

inline_only!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    &'static str
);

impl Weigh for String {
    fn weigh(&self) -> usize {
        size_of::<Self>() + self.capacity()
    }
}

impl<T: Weigh> Weigh for Vec<T> {
    fn weigh(&self) -> usize {
        let unused = self.capacity() - self.len();
        size_of::<Self>() + unused * size_of::<T>() + self.iter().map(Weigh::weigh).sum::<usize>()
    }
}

impl Weigh for str {
    fn weigh(&self) -> usize {
        self.len()
    }
}

impl<T: Weigh> Weigh for [T] {
    fn weigh(&self) -> usize {
        self.iter().map(Weigh::weigh).sum()
    }
}

/// A pointer weighs its whole pointee: the cache's copy keeps it alive,
/// however many other handles share it.
macro_rules! pointers {
    ($($pointer:ident),*) => {$(
        impl<T: Weigh + ?Sized> Weigh for $pointer<T> {
            fn weigh(&self) -> usize {
                size_of::<Self>() + T::weigh(self)
            }
        }
    )*};
}

pointers!(Box, Arc, Rc);

impl<T: Weigh> Weigh for Option<T> {
    fn weigh(&self) -> usize {
        match self {
            Some(value) => size_of::<Self>() - size_of::<T>() + value.weigh(),
            None => size_of::<Self>(),
        }
    }
}

impl<A: Weigh, B: Weigh> Weigh for (A, B) {
    fn weigh(&self) -> usize {
        self.0.weigh() + self.1.weigh()
    }
}

impl<K: Weigh, V: Weigh, S> Weigh for HashMap<K, V, S> {
    fn weigh(&self) -> usize {
        let entries: usize = self.iter().map(|(k, v)| k.weigh() + v.weigh()).sum();
        size_of::<Self>() + entries
    }
}

impl<K: Weigh, V: Weigh> Weigh for BTreeMap<K, V> {
    fn weigh(&self) -> usize {
        let entries: usize = self.iter().map(|(k, v)| k.weigh() + v.weigh()).sum();
        size_of::<Self>() + entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_bytes_count() {
        let text = String::from("0123456789");
        assert!(text.weigh() >= 10 + size_of::<String>());
        let bytes: Vec<u8> = vec![0; 1_000];
        assert_eq!(bytes.weigh(), size_of::<Vec<u8>>() + 1_000);
        let shared: Arc<str> = Arc::from("abc");
        assert_eq!(shared.weigh(), size_of::<Arc<str>>() + 3);
        assert_eq!(Some(5_u32).weigh(), size_of::<Option<u32>>());
    }
}

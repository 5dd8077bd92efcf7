//! Fresh hits sampled into moka's eviction policy.
//!
//! moka judges which entry to evict, and whether to admit a new one, by how
//! often each key is *read* (a TinyLFU frequency sketch fed by its `get`).
//! A fresh hit reads the index, not moka, so without this moka would see a
//! key hit a million times as often as one loaded once, and capacity
//! pressure from keys requested a few times would evict the hot one. So
//! every [`SAMPLE`]th fresh hit of a thread also reads the key from moka:
//! a key's share of moka's reads follows its share of the hits. A moka
//! read costs 200–500 ns, and on two threads its read log is memory they
//! share; one in 256 costs about a nanosecond a hit and still tells a key
//! hit a few hundred times from one loaded once. The other hits write no
//! memory another thread writes.

use std::cell::Cell;

/// One fresh hit in this many reads moka too.
pub(super) const SAMPLE: u32 = 256;

thread_local! {
    /// Fresh hits of this thread (any cache) until the next sampled one.
    static UNTIL_SAMPLE: Cell<u32> = const { Cell::new(SAMPLE) };
}

/// Counts one fresh hit; `true` for the one in [`SAMPLE`] that is to read
/// moka too.
#[inline]
pub(super) fn sampled_hit() -> bool {
    UNTIL_SAMPLE
        .try_with(|until| {
            let left = until.get() - 1;
            if left == 0 {
                until.set(SAMPLE);
                true
            } else {
                until.set(left);
                false
            }
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hit_in_sample_is_sampled() {
        let sampled = (0..SAMPLE * 10).filter(|_| sampled_hit()).count();
        assert_eq!(sampled, 10);
    }
}

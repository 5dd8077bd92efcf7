//! Fresh hits told to moka's eviction policy, sampled at random.
//!
//! moka evicts and admits by how often each key is *read* (a TinyLFU
//! sketch fed by its `get`). A fresh hit reads the index, not moka, whose
//! read costs 130–250 ns, several hits' worth. So a fresh hit reads moka
//! too with a chance of one in [`SAMPLE`], and every other request once:
//! a key's count follows its share of the requests, what TinyLFU needs to
//! keep the warm keys (the test `one_off_keys_do_not_evict_the_warm_ones`).
//!
//! The chance is drawn per hit from the thread's own generator: a
//! per-thread countdown sampled one key only when a thread cycled through
//! a number of keys dividing it, and let one cache's hits use up another's
//! samples. The sampled reads add about 2–4 ns to the average hit
//! (BENCHMARKS.md).

use std::cell::Cell;

/// A fresh hit reads moka too with a chance of one in this many.
pub(super) const SAMPLE: u32 = 64;

thread_local! {
    /// This thread's generator state (xorshift32); 0 until first used.
    static STATE: Cell<u32> = const { Cell::new(0) };
}

/// Counts one fresh hit; `true`, with a chance of one in [`SAMPLE`], when
/// it is to read moka too.
#[inline]
pub(super) fn sampled_hit() -> bool {
    STATE
        .try_with(|state| {
            let mut x = state.get();
            if x == 0 {
                x = seed(state);
            }
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            state.set(x);
            x % SAMPLE == 0
        })
        .unwrap_or(false)
}

/// A nonzero seed that differs between threads: the address of the
/// thread's state, mixed.
#[cold]
fn seed(state: &Cell<u32>) -> u32 {
    let address = std::ptr::from_ref(state) as usize as u64;
    let mixed = address.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    (mixed as u32) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_one_hit_in_sample_is_sampled() {
        let hits = SAMPLE * 10_000;
        let sampled = (0..hits).filter(|_| sampled_hit()).count();
        assert!((9_000..=11_000).contains(&sampled), "{sampled}");
    }

    /// A thread cycling through `SAMPLE` keys samples every one of them,
    /// each about as often (100 times on average, 5 standard deviations
    /// allowed): no aliasing between the keys and the draw. A countdown of
    /// `SAMPLE` would sample one key every time and the others never.
    #[test]
    fn keys_cycled_through_are_each_sampled() {
        let mut per_key = [0_u32; SAMPLE as usize];
        for _ in 0..100 * SAMPLE {
            for count in &mut per_key {
                *count += u32::from(sampled_hit());
            }
        }
        assert!(
            per_key.iter().all(|&n| (50..=150).contains(&n)),
            "{per_key:?}"
        );
    }
}

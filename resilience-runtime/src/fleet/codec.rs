//! How values and keys are written to Redis, and read back as untrusted
//! input.
//!
//! An entry is one version byte, the load time (Unix milliseconds, 8 bytes,
//! big-endian), then the value in CBOR (RFC 8949) through `ciborium`. CBOR is
//! self-describing: a struct's field names and every value's kind are in the
//! bytes, so bytes written by a deploy whose type differs fail to decode (a
//! miss) instead of decoding as garbage the way a schema-less format
//! (postcard, bincode) would; the type fingerprint in the key catches a
//! renamed type before any decoding.
//!
//! Reading back: at most the fleet's `max_entry_bytes` are fetched
//! (`GETRANGE`), a longer entry is a miss, and decoding is bounded by the
//! bytes in hand and by ciborium's recursion limit: no panic, and no
//! allocation larger than the entry.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// The entry format's version byte.
const VERSION: u8 = 1;
/// Version byte and load time: what a follower polls.
pub(crate) const HEADER: usize = 1 + 8;

/// Why bytes read back from Redis were not a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// Longer than the fleet's `max_entry_bytes`.
    Oversized,
    /// Not an entry of this format, or not a value of this type.
    Undecodable(String),
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::Oversized => f.write_str("the entry is larger than max_entry_bytes"),
            Malformed::Undecodable(why) => write!(f, "the entry does not decode: {why}"),
        }
    }
}

/// An entry for `value`, loaded at `loaded_at_ms`; `None` when the value
/// cannot be encoded (a `Serialize` impl that fails).
pub(crate) fn encode_entry<V: Serialize>(value: &V, loaded_at_ms: u64) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(64);
    bytes.push(VERSION);
    bytes.extend_from_slice(&loaded_at_ms.to_be_bytes());
    ciborium::into_writer(value, &mut bytes).ok()?;
    Some(bytes)
}

/// The load time of an entry, without decoding its value.
pub(crate) fn loaded_at(bytes: &[u8]) -> Option<u64> {
    match bytes {
        [VERSION, time @ ..] if time.len() >= 8 => {
            let mut be = [0; 8];
            be.copy_from_slice(&time[..8]);
            Some(u64::from_be_bytes(be))
        }
        _ => None,
    }
}

/// The value and load time in `bytes`, read as untrusted input: at most
/// `limit` bytes (the caller fetched at most `limit + 1`).
pub(crate) fn decode_entry<V: DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
) -> Result<(V, u64), Malformed> {
    if bytes.len() > limit {
        return Err(Malformed::Oversized);
    }
    let loaded_at = loaded_at(bytes)
        .ok_or_else(|| Malformed::Undecodable("no entry header of version 1".into()))?;
    let value = ciborium::from_reader(&bytes[HEADER..])
        .map_err(|error| Malformed::Undecodable(error.to_string()))?;
    Ok((value, loaded_at))
}

/// The 128-bit SHA-256 digest of a key's CBOR encoding, in hex; `None` when
/// the key cannot be encoded.
pub(crate) fn key_digest<K: Serialize>(key: &K) -> Option<String> {
    let mut bytes = Vec::with_capacity(32);
    ciborium::into_writer(key, &mut bytes).ok()?;
    Some(digest_hex(&bytes))
}

/// A fingerprint of the type `V` at `version` (`version = n` of the
/// attribute; 0: none): the 64-bit SHA-256 digest of its full path, and of
/// the version if any. A renamed or moved type, another type in its place,
/// or a bumped version reads no entry of the old one.
pub(crate) fn type_fingerprint<V>(version: u32) -> String {
    let mut hasher = Sha256::new();
    hasher.update(std::any::type_name::<V>().as_bytes());
    if version != 0 {
        hasher.update(format!("\0version {version}").as_bytes());
    }
    hex(&hasher.finalize()[..8])
}

/// The 128-bit SHA-256 digest of `bytes`, in hex.
pub(crate) fn digest_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes)[..16])
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Profile {
        name: String,
        age: u32,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct ProfileV2 {
        name: String,
        email: String,
    }

    fn profile() -> Profile {
        Profile {
            name: "Ada".into(),
            age: 36,
        }
    }

    #[test]
    fn an_entry_round_trips_with_its_load_time() {
        let bytes = encode_entry(&profile(), 1_700_000_000_123).unwrap();
        assert_eq!(loaded_at(&bytes), Some(1_700_000_000_123));
        let (value, at) = decode_entry::<Profile>(&bytes, 1024).unwrap();
        assert_eq!((value, at), (profile(), 1_700_000_000_123));
    }

    #[test]
    fn a_changed_type_is_a_miss_not_garbage() {
        let bytes = encode_entry(&profile(), 1).unwrap();
        let error = decode_entry::<ProfileV2>(&bytes, 1024).unwrap_err();
        assert!(matches!(error, Malformed::Undecodable(_)), "{error}");
        assert_ne!(
            type_fingerprint::<Profile>(0),
            type_fingerprint::<ProfileV2>(0)
        );
        assert_eq!(type_fingerprint::<Profile>(0).len(), 16);
        // A bumped version is another fingerprint; no version keeps the
        // unversioned one, so existing entries stay readable.
        assert_ne!(
            type_fingerprint::<Profile>(0),
            type_fingerprint::<Profile>(2)
        );
        assert_ne!(
            type_fingerprint::<Profile>(2),
            type_fingerprint::<Profile>(3)
        );
        assert_eq!(
            type_fingerprint::<Profile>(0),
            hex(&Sha256::digest(std::any::type_name::<Profile>().as_bytes())[..8])
        );
    }

    #[test]
    fn oversized_and_malformed_bytes_are_misses() {
        let bytes = encode_entry(&"x".repeat(100), 1).unwrap();
        assert_eq!(
            decode_entry::<String>(&bytes, 50),
            Err(Malformed::Oversized)
        );
        for junk in [
            &b""[..],
            b"\x01",
            b"\x02aaaaaaaa\x60",
            b"\x01\0\0\0\0\0\0\0\x01\xff\xff",
        ] {
            assert!(decode_entry::<String>(junk, 1024).is_err(), "{junk:?}");
        }
        // A header claiming a huge string allocates nothing near it.
        let mut lying = vec![1, 0, 0, 0, 0, 0, 0, 0, 1];
        lying.extend_from_slice(&[0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert!(decode_entry::<String>(&lying, 1024).is_err());
        // Nesting deeper than ciborium's recursion limit is an error too.
        let mut deep = vec![1, 0, 0, 0, 0, 0, 0, 0, 1];
        deep.extend(std::iter::repeat_n(0x81, 10_000));
        deep.push(0x00);
        assert!(decode_entry::<serde_nested::Any>(&deep, 1 << 20).is_err());
    }

    mod serde_nested {
        /// Any CBOR value, nested as deep as it goes.
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        pub(super) enum Any {
            List(#[allow(dead_code)] Vec<Any>),
            Number(#[allow(dead_code)] u64),
        }
    }

    #[test]
    fn key_digests_are_fixed_length_and_distinct() {
        let a = key_digest(&("user", 1_u32)).unwrap();
        let b = key_digest(&("user", 2_u32)).unwrap();
        let long = key_digest(&"k".repeat(100_000)).unwrap();
        assert_ne!(a, b);
        assert_eq!((a.len(), long.len()), (32, 32));
        // Stable across processes and releases: SHA-256 of the CBOR bytes.
        assert_eq!(key_digest(&1_u8).unwrap(), digest_hex(&[0x01]));
    }
}

//! Hash maps for the per-packet lookups (RTP streams, TCP flows, media expectations, fragments).
//!
//! std's default SipHash cost a tenth of a worker's time on an RTP-heavy capture. foldhash is
//! several times faster on short keys and still seeded per process: the keys (addresses, ports,
//! SSRCs) are chosen by the traffic, so the hash must not be predictable (hash flooding).

/// A `HashMap` with a per-process seeded foldhash.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A `HashSet` with a per-process seeded foldhash.
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// FNV-1a, 64 bits: a stable (unseeded) hash, the same in every run, for names and for
/// recognising a value again without keeping it (a Call-ID in a file name, a nonce).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

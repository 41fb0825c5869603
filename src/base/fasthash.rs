//! Hash maps for the per-packet lookups (RTP streams, TCP flows, media expectations, fragments).
//!
//! std's default SipHash cost a tenth of a worker's time on an RTP-heavy capture. foldhash is
//! several times faster on short keys and still seeded per process: the keys (addresses, ports,
//! SSRCs) are chosen by the traffic, so the hash must not be predictable (hash flooding).

/// A `HashMap` with a per-process seeded foldhash.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A `HashSet` with a per-process seeded foldhash.
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

//! The base every stage stands on, and nothing else: packet time ([`time`]), the packet's
//! context ([`packet`]), fast hashing ([`fasthash`]), batch eviction of capped tables
//! ([`evict`]) and addresses as text ([`iptext`]). It imports no other module of the crate.

pub mod evict;
pub mod fasthash;
pub mod iptext;
pub mod packet;
pub mod time;

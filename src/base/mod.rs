//! The base every stage stands on, and nothing else: packet time ([`time`]), the packet's
//! context ([`packet`]), fast hashing ([`fasthash`]), batch eviction of capped tables
//! ([`evict`]), addresses as text ([`iptext`]), counters by name ([`tally`]) and the head of
//! every record ([`head`]), work by a few threads at once ([`at_once`]). It imports no other
//! module of the crate.

pub mod at_once;
pub mod evict;
pub mod fasthash;
pub mod head;
pub mod iptext;
pub mod origin;
pub mod packet;
pub mod tally;
pub mod time;

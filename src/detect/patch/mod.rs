//! Patch level, judged from the wire: the product and version each device announces
//! ([`product`]), compared ([`version`]) with the vendors' published advisories and end-of-life
//! dates in `rules/advisories.conf` ([`advisories`]).

pub mod advisories;
pub mod product;
pub mod version;

//! Output: the EVE JSON records ([`eve`]), the alert record and the built-in media and
//! encryption signatures ([`alert`]), and the Prometheus metrics with their HTTP server
//! ([`metrics`]).

pub mod alert;
pub mod eve;
pub mod metrics;
pub mod writer;

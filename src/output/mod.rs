//! Output: the EVE JSON records ([`eve`]), the alert record and the built-in media and
//! encryption signatures ([`alert`]), the Prometheus metrics ([`metrics`]) and the HTTP server
//! that exposes them ([`http`]).

pub mod alert;
pub mod eve;
pub mod http;
pub mod loss;
pub mod metrics;
pub mod progress;
pub mod writer;

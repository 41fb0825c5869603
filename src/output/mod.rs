//! Output: every record the other stages made is handed here ([`outbox`]) and written on the
//! output stage's own thread ([`writer`], as EVE JSON lines by [`eve`], the `sip` and `call`
//! records field by field by [`direct`]), with what goes wrong said and counted ([`loss`]); the Prometheus metrics
//! ([`metrics`]) and the HTTP server that exposes them ([`http`]); the packets behind alerts
//! and calls as pcap files ([`evidence`]); the forensic HTML report of a run ([`report`]); the
//! replay's progress line ([`progress`]).

pub mod direct;
pub mod eve;
pub mod evidence;
pub mod http;
pub mod json;
pub mod loss;
pub mod metrics;
pub mod outbox;
pub mod progress;
pub mod report;
pub mod writer;

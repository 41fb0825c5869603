//! voip-sentinel: a passive VoIP security sensor.
//!
//! Data flows one way: [`capture`] reads packets, [`decode`] takes them apart, [`flow`] keys
//! them to workers ([`pipeline`]), which reassemble [`tcp`] streams and find [`sip`] messages;
//! the [`correlate`] stage follows transactions and dialogs ([`dialog`]) and writes [`eve`]
//! records.

pub mod alert;
pub mod anomaly;
pub mod capture;
pub mod cli;
pub mod correlate;
pub mod decode;
pub mod detect;
pub mod dialog;
pub mod eve;
pub mod evict;
pub mod expect;
pub mod fasthash;
pub mod flow;
pub mod inventory;
pub mod iptext;
pub mod media_evidence;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod privdrop;
pub mod report;
pub mod rtp;
pub mod rules;
pub mod sdp;
pub mod segment;
pub mod sip;
pub mod streams;
pub mod tcp;
pub mod time;
pub mod tls;
pub mod ws;

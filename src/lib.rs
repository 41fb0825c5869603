//! voip-sentinel: a passive VoIP security sensor.
//!
//! Data flows one way, and the folders follow it; a module imports only [`base`] and the
//! stages upstream of it:
//!
//! 1. [`capture`]: savefiles and live interfaces hand over frames.
//! 2. [`decode`]: link, network and transport layers taken apart; fragments reassembled.
//! 3. [`flow`]: flow keys, TCP reassembly, WebSocket frames, TLS hellos.
//! 4. [`sip`]: SIP messages (and their SDP bodies) parsed and framed.
//! 5. [`media`]: RTP and RTCP streams, the media SDP announced, wire evidence.
//! 6. [`dialog`]: transactions and calls.
//! 7. [`detect`]: signatures (rules), behavioural detectors, anomalies, inventory, policy.
//! 8. [`output`]: EVE records, alerts, metrics.
//!
//! [`pipeline`] wires the stages into threads (capture thread, workers, merge, correlator) and
//! [`cli`] is the command line.

pub mod base;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod detect;
pub mod dialog;
pub mod flow;
pub mod media;
pub mod output;
pub mod pipeline;
pub mod sip;

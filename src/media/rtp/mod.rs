//! RTP / RTCP media analysis.
//!
//! * [`parse_rtp`] / [`classify`]: RTP header reading (through `rtp-rs`) and RFC 7983 /
//!   RFC 5761 demultiplexing of a UDP payload.
//! * [`codec`]: RFC 3551 static payload types, `a=rtpmap` lookup, Wireshark's clock-rate tables.
//! * [`stats`]: per-stream statistics ([`StreamStats`]) whose packets / lost / max delta /
//!   jitter figures equal Wireshark's `tshark -z rtp,streams`.
//! * [`rtcp`]: compound RTCP parsing (SR, RR, SDES, BYE, APP, XR VoIP metrics) and RTT.
//! * [`mos`]: ITU-T G.107 E-model (R factor, MOS) with ITU-T G.113 codec impairments.
//!
//! Everything here treats the input as hostile: reads are bounds-checked, loops are bounded,
//! nothing panics.

pub mod codec;
pub mod header;
pub mod mos;
pub mod rtcp;
pub mod rtcp_json;
pub mod stats;

#[cfg(test)]
mod tests;

pub use codec::Codec;
pub use header::{classify, parse_rtp, Kind, RtpInfo};
pub use mos::{CodecImpairment, MosEstimate};
pub use rtcp::{parse_rtcp, RtcpPacket, RttTracker};
pub use stats::{StreamStats, StreamSummary};

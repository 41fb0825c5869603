//! Media: RTP and RTCP ([`rtp`]), the streams they form ([`streams`]), the media that SDP
//! announced and the streams wait for ([`expect`]), and what the packets of a stream show of
//! its protection ([`evidence`]). It runs in the workers, beside the flows.

pub mod evidence;
pub mod expect;
pub mod rtp;
pub mod streams;

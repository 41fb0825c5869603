//! What travels between the stages: jobs from the capture thread to the workers, and ordered
//! events from the workers to the correlator.

use super::batch::Batch;
use std::sync::Arc;

use crate::base::packet::{PacketCtx, WireFrame};
use crate::base::time::Ts;

/// A job for a worker. Control messages travel the same queue as packets, so a worker sees
/// them in capture order.
pub enum Job {
    /// Decoded packets, in capture order.
    Packets(Batch),
    /// Progress only: every packet up to `seq` that is meant for this worker has been sent.
    Watermark(u64),
    /// Packet time has reached `now` (after packet `seq`): run timeouts. Ticks are sent to
    /// every worker at the same capture positions whatever the worker count, so what they
    /// expire is the same in every run.
    Tick { seq: u64, now: Ts },
    /// End of input: close every flow and report.
    Flush { seq: u64, now: Ts },
    /// Time for a periodic stats record (after the tick at `seq`): every worker sends its
    /// counters on; worker 0 also the capture thread's (`capture`).
    Stats {
        seq: u64,
        capture: Option<Box<crate::pipeline::stats::CaptureSnapshot>>,
    },
    /// The signatures of a reloaded policy, to every worker at the same capture position, so
    /// that which rules a message was matched against does not depend on the worker count.
    Rules(std::sync::Arc<crate::detect::rules::RuleSet>),
    /// The reloaded policy itself (or why it did not load), to worker 0, which hands it on to
    /// the correlator after the `Rules` of every worker.
    Reload {
        seq: u64,
        reload: Box<crate::detect::policy::Reload>,
    },
    /// Media announced by an SDP body (read by the capture thread from SIP over UDP), sent to
    /// every worker in capture order.
    Expect {
        list: std::sync::Arc<Vec<crate::media::expect::MediaExpect>>,
        now: Ts,
    },
    /// An RTCP report a HEP agent sent as JSON, already read: it joins the RTCP of the wire.
    HepRtcp {
        seq: u64,
        ctx: PacketCtx,
        packets: Vec<crate::media::rtp::rtcp::RtcpPacket>,
    },
}

/// The global order of events: capture position first, so the correlator sees one sequence
/// whatever the number of workers. Events made by a packet come in `phase` 0; events made by a
/// tick at the same position come after them in `phase` 1, ordered by a key of their own (such
/// as a flow hash) that does not depend on which worker made them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Order {
    pub seq: u64,
    pub phase: u8,
    pub key: u64,
    pub idx: u32,
}

impl Order {
    pub const MAX: Order = Order {
        seq: u64::MAX,
        phase: u8::MAX,
        key: u64::MAX,
        idx: u32::MAX,
    };

    /// Everything up to and including packet `seq`, and, if `tick`, the tick after it: its
    /// events (phase 1) and the tick itself as worker 0 forwards it (phase 2). Marking phase 2
    /// lets the merge hand the tick on at once, also when no packet follows (a quiet wire).
    /// After a worker's share of a periodic stats snapshot at `seq` (phase 3).
    pub fn stats_mark(seq: u64) -> Order {
        Order {
            seq,
            phase: 3,
            key: u64::MAX,
            idx: u32::MAX,
        }
    }

    /// The `idx`-th event a worker made of packet `seq` (phase 0, no key of its own).
    pub fn packet(seq: u64, idx: u32) -> Order {
        Order {
            seq,
            phase: 0,
            key: 0,
            idx,
        }
    }

    pub fn mark(seq: u64, tick: bool) -> Order {
        Order {
            seq,
            phase: if tick { 2 } else { 0 },
            key: u64::MAX,
            idx: u32::MAX,
        }
    }
}

/// An event for the correlator.
#[derive(Debug)]
pub struct Event {
    pub order: Order,
    pub kind: EventKind,
}

#[derive(Debug)]
pub enum EventKind {
    /// One whole SIP message (a UDP datagram, or one message framed out of a TCP stream),
    /// parsed by the worker.
    Sip(Box<SipSeen>),
    /// A SIP message that did not parse: the reason (`ParseEventKind::as_str`), and its
    /// frames when evidence is kept.
    SipError {
        ctx: PacketCtx,
        kind: &'static str,
        frames: Vec<Arc<WireFrame>>,
    },
    /// The frame of an RTP packet, for the pcap file of its call (`--pcap-calls`).
    MediaFrame {
        ctx: PacketCtx,
        ssrc: u32,
        frame: Arc<WireFrame>,
    },
    /// A TCP stream that looked like SIP could not be framed (the named problem); bytes were skipped.
    SipFraming { ctx: PacketCtx, kind: &'static str },
    /// An RTP stream began (its first packet, or the second of an unannounced one).
    RtpStart {
        ctx: PacketCtx,
        ssrc: u32,
        payload_type: u8,
        announced: bool,
    },
    /// An RTP stream just became a flood (see `streams::FLOOD_PACKETS_PER_SECOND`): its
    /// packets so far, those of the last second, and when it began.
    RtpFlood {
        ctx: PacketCtx,
        ssrc: u32,
        packets: u64,
        in_last_second: u32,
        since: Ts,
    },
    /// A flow ended (idle, evicted or at the end of input): its `flow` record.
    Flow(Box<crate::flow::table::FlowRecord>),
    /// A TLS (or DTLS) hello: the flow's signalling or media keying is encrypted.
    Tls {
        ctx: PacketCtx,
        hello: Box<crate::flow::tls::TlsHello>,
        dtls: bool,
    },
    /// One RTCP datagram (compound packet), parsed.
    Rtcp {
        ctx: PacketCtx,
        packets: Vec<crate::media::rtp::rtcp::RtcpPacket>,
    },
    /// An RTP stream ended, with its figures.
    RtpEnd(Box<crate::media::streams::StreamEnd>),
    /// A policy reloaded on SIGHUP (forwarded by worker 0 once every worker matches with it).
    Reload(Box<crate::detect::policy::Reload>),
    /// Packet time reached `now` (forwarded by worker 0 after every other event of its tick).
    Tick { now: Ts },
    /// One worker's counters for a periodic stats record (phase 3 of a tick, by worker).
    Stats(Box<crate::pipeline::stats::StatsPart>),
    /// End of input.
    Flush { now: Ts },
}

/// What a worker sends back for each job: the events it made, and how far it has got.
pub struct Chunk {
    pub events: Vec<Event>,
    pub mark: Order,
}

/// What a worker made of one SIP message: the summary that transactions, dialogs, detectors and
/// records need (no bytes to parse again), and the stateless part of detection.
#[derive(Debug)]
pub struct SipSeen {
    pub msg: crate::dialog::Msg,
    /// The rules that matched, as indices into the rule set in force at this message.
    pub hits: Vec<u32>,
    /// A datagram held another SIP message after this one: the bytes left after the first.
    pub extra_bytes: Option<usize>,
    /// The request method whole, when it is longer than the summary keeps (counted by name as
    /// tshark counts it, and quoted whole in signature evidence).
    pub long_method: Option<String>,
    /// Lengths of the message's frames (pdu, line, headers, body), when a `frame:` rule hit.
    pub frame_lens: Option<[u32; 4]>,
    /// The captured frames that carried the message, when evidence is kept (`--pcap-dir`):
    /// one for a datagram; over TCP, the segments since the previous message ended.
    pub frames: Vec<Arc<WireFrame>>,
}

//! The correlator: the single place where SIP messages from all workers meet, in capture order.
//! It parses each message, pairs transactions, follows dialogs, and writes the records.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::IpAddr;

use serde::Serialize;

use crate::decode::Transport;
use crate::dialog::media::{rtp_record, summary_of};
use crate::dialog::msg::static_codec;
use crate::dialog::rtcp::RtcpTable;
use crate::dialog::{
    CallConfig, CallRecord, CallStats, Calls, Msg, Seen, SipRecord, Transactions, TxConfig, TxStats,
};
use crate::eve::{EveWriter, Head};
use crate::media_evidence::Verdict;
use crate::pipeline::event::PacketCtx;
use crate::pipeline::event::{Event, EventKind};
use crate::sip::parser::{parse_datagram, parse_message, SipMessage, StartLine};
use crate::time::Ts;

#[derive(Clone, Debug, Default)]
pub struct CorrelatorConfig {
    pub tx: TxConfig,
    pub calls: CallConfig,
}

/// What the correlator counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CorrelatorStats {
    /// SIP messages parsed (every copy, retransmissions included: as tshark counts them).
    pub messages: u64,
    pub requests: BTreeMap<String, u64>,
    pub responses: BTreeMap<u16, u64>,
    /// Messages that could not be parsed, by reason.
    pub parse_errors: BTreeMap<String, u64>,
    /// Non-fatal oddities in parsed messages, by kind.
    pub parse_warnings: BTreeMap<String, u64>,
    pub framing_errors: BTreeMap<String, u64>,
    pub retransmissions: u64,
    pub transactions: u64,
    pub transactions_timed_out: u64,
    pub transactions_evicted: u64,
    pub registrations: BTreeMap<String, u64>,
    #[serde(skip)]
    pub calls: CallStats,
    pub records: BTreeMap<String, u64>,
    pub output_errors: u64,
    pub rtp_streams: u64,
    /// Alerts written, by signature id.
    pub alerts: BTreeMap<u32, u64>,
    /// TLS and DTLS hellos seen.
    pub tls: BTreeMap<String, u64>,
}

/// A `tls` record: a TLS or DTLS hello seen in clear (version, SNI, ALPN), as Suricata's
/// `tls` event type has them.
#[derive(Serialize)]
struct TlsRecord {
    #[serde(flatten)]
    head: Head,
    tls: TlsBody,
}

#[derive(Serialize)]
struct TlsBody {
    #[serde(flatten)]
    hello: crate::tls::TlsHello,
    dtls: bool,
}

/// The identity of a stream across its start and end events.
fn stream_id(ctx: &PacketCtx, ssrc: u32) -> (IpAddr, u16, IpAddr, u16, u32) {
    (ctx.src, ctx.sport, ctx.dst, ctx.dport, ssrc)
}

pub struct Correlator {
    /// What RTCP said about each source, until its stream ends.
    rtcp: RtcpTable,
    /// RTP streams attributed to a call, until they end.
    stream_calls: HashMap<(IpAddr, u16, IpAddr, u16, u32), String>,
    tx: Transactions,
    calls: Calls,
    eve: EveWriter,
    stats: CorrelatorStats,
    sip_out: Vec<SipRecord>,
    call_out: Vec<CallRecord>,
    now: Ts,
}

impl Correlator {
    pub fn new(cfg: CorrelatorConfig, out: Box<dyn Write + Send>) -> Correlator {
        Correlator {
            rtcp: RtcpTable::new(100_000),
            stream_calls: HashMap::new(),
            tx: Transactions::new(cfg.tx),
            calls: Calls::new(cfg.calls),
            eve: EveWriter::new(out),
            stats: CorrelatorStats::default(),
            sip_out: Vec::new(),
            call_out: Vec::new(),
            now: Ts::ZERO,
        }
    }

    pub fn handle(&mut self, ev: Event) {
        match ev.kind {
            EventKind::Sip { ctx, bytes } => {
                if ctx.ts > self.now {
                    self.now = ctx.ts;
                }
                let parsed = if ctx.transport == Transport::Tcp {
                    parse_message(&bytes)
                } else {
                    parse_datagram(&bytes)
                };
                let msg = match parsed {
                    Ok((m, _)) => {
                        self.count(&m);
                        Msg::from_parsed(&m, ctx, ev.order.seq)
                    }
                    Err(e) => {
                        *self
                            .stats
                            .parse_errors
                            .entry(e.kind.as_str().to_string())
                            .or_insert(0) += 1;
                        return;
                    }
                };
                self.on_msg(&msg);
            }
            EventKind::RtpStart { ctx, ssrc, .. } => {
                self.stats.rtp_streams += 1;
                if let Some(id) = self
                    .calls
                    .attach_stream((ctx.dst, ctx.dport), (ctx.src, ctx.sport))
                {
                    self.stream_calls.insert(stream_id(&ctx, ssrc), id);
                }
            }
            EventKind::Rtcp { ctx, packets } => self.rtcp.on_packets(ctx.ts, &packets),
            EventKind::Tls { ctx, hello, dtls } => {
                *self
                    .stats
                    .tls
                    .entry(if dtls { "dtls" } else { "tls" }.to_string())
                    .or_insert(0) += 1;
                let rec = TlsRecord {
                    head: Head::new(&ctx, "tls"),
                    tls: TlsBody {
                        hello: *hello,
                        dtls,
                    },
                };
                self.eve.write("tls", &rec);
            }
            EventKind::RtpEnd(end) => {
                let call_id = self.stream_calls.remove(&stream_id(&end.ctx, end.ssrc));
                let codec = call_id
                    .as_deref()
                    .and_then(|id| self.calls.codec_of(id, end.payload_type))
                    .or_else(|| static_codec(&end.payload_type.to_string()).map(str::to_string))
                    .unwrap_or_else(|| format!("PT{}", end.payload_type));
                let mut rec = rtp_record(&end, codec.clone(), call_id.clone());
                rec.rtp.wire = match end.evidence.verdict(Some(&codec), None) {
                    Verdict::Plaintext => "plaintext",
                    Verdict::Encrypted => "encrypted",
                    Verdict::Unknown => "unknown",
                }
                .to_string();
                let clock = if end.summary.clock_rate > 0 {
                    end.summary.clock_rate
                } else {
                    8000
                };
                rec.rtp.rtcp = self.rtcp.take(end.ssrc, clock);
                self.eve.write("rtp", &rec);
                if let Some(id) = call_id {
                    let dir = self.calls.direction_of(&id, (end.ctx.dst, end.ctx.dport));
                    self.calls
                        .stream_ended(&id, summary_of(&rec, dir), &mut self.call_out);
                    self.write_out();
                }
            }
            EventKind::SipFraming { kind, .. } => {
                *self
                    .stats
                    .framing_errors
                    .entry(kind.to_string())
                    .or_insert(0) += 1;
            }
            EventKind::Tick { now } => {
                if now > self.now {
                    self.now = now;
                }
                self.tx.expire(self.now, &mut self.sip_out);
                self.rtcp.expire(self.now, crate::time::secs(3600));
                self.calls.expire(self.now, &mut self.call_out);
                self.write_out();
                self.eve.flush();
            }
            EventKind::Flush { now } => {
                if now > self.now {
                    self.now = now;
                }
                self.tx.flush(&mut self.sip_out);
                self.calls.flush(&mut self.call_out);
                self.write_out();
                self.eve.flush();
            }
        }
    }

    /// Count a message as tshark's sip,stat does: requests by their whole method name, responses
    /// by status code. Distinct names are capped, so a flood of invented methods cannot grow the map.
    fn count(&mut self, m: &SipMessage<'_>) {
        const MAX_METHOD_NAMES: usize = 256;
        self.stats.messages += 1;
        match &m.start {
            StartLine::Request { method, .. } => {
                let name = method.as_str();
                let map = &mut self.stats.requests;
                let key = if map.contains_key(name) || map.len() < MAX_METHOD_NAMES {
                    name
                } else {
                    "(other)"
                };
                *map.entry(key.to_string()).or_insert(0) += 1;
            }
            StartLine::Response { code, .. } => {
                *self.stats.responses.entry(*code).or_insert(0) += 1
            }
        }
        for w in &m.warnings {
            *self
                .stats
                .parse_warnings
                .entry(w.kind.as_str().to_string())
                .or_insert(0) += 1;
        }
    }

    fn on_msg(&mut self, m: &Msg) {
        let seen = self.tx.on_message(m, &mut self.sip_out);
        if seen != Seen::Retransmission {
            if m.cseq_method() == "REGISTER" {
                if let Some(code) = m.status.filter(|c| *c >= 200) {
                    let outcome = match code {
                        200..=299 => "success",
                        401 | 407 => "challenged",
                        _ => "failed",
                    };
                    *self
                        .stats
                        .registrations
                        .entry(outcome.to_string())
                        .or_insert(0) += 1;
                }
            }
            self.calls.on_message(m, &mut self.call_out);
        }
        self.write_out();
    }

    fn write_out(&mut self) {
        for r in self.sip_out.drain(..) {
            self.eve.write("sip", &r);
        }
        for r in self.call_out.drain(..) {
            self.eve.write("call", &r);
        }
        for a in std::mem::take(&mut self.calls.alerts) {
            *self.stats.alerts.entry(a.alert.signature_id).or_insert(0) += 1;
            self.eve.write("alert", &a);
        }
    }

    /// Write what is left and return the counters.
    pub fn finish(mut self) -> (CorrelatorStats, Box<dyn Write + Send>) {
        self.write_out();
        self.eve.flush();
        let mut s = self.stats;
        let TxStats {
            transactions,
            retransmissions,
            timed_out,
            evicted,
        } = self.tx.stats.clone();
        s.transactions = transactions;
        s.retransmissions = retransmissions;
        s.transactions_timed_out = timed_out;
        s.transactions_evicted = evicted;
        s.calls = self.calls.stats.clone();
        s.records = self.eve.written.clone();
        s.output_errors = self.eve.errors;
        (s, self.eve.into_inner())
    }
}

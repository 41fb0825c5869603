//! The correlator: the single place where SIP messages from all workers meet, in capture order.
//! It parses each message, pairs transactions, follows dialogs, and writes the records.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;

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
use crate::metrics::{
    bounded_label, Metrics, DIALOG_OUTCOMES, MEDIA_PROTECTIONS, PARSE_EVENT_KINDS,
    REGISTRATION_OUTCOMES, WIRE_KINDS,
};
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

/// Table counters as last published to the metrics.
#[derive(Default)]
struct Published {
    retransmissions: u64,
    transactions: u64,
    dialogs: u64,
    answered: u64,
    tx_evicted: u64,
    calls_evicted: u64,
}

/// The identity of a stream across its start and end events.
fn stream_id(ctx: &PacketCtx, ssrc: u32) -> (IpAddr, u16, IpAddr, u16, u32) {
    (ctx.src, ctx.sport, ctx.dst, ctx.dport, ssrc)
}

pub struct Correlator {
    metrics: Option<Arc<Metrics>>,
    published: Published,
    published_registrations: BTreeMap<String, u64>,
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
    pub fn new(
        cfg: CorrelatorConfig,
        out: Box<dyn Write + Send>,
        metrics: Option<Arc<Metrics>>,
    ) -> Correlator {
        Correlator {
            metrics,
            published: Published::default(),
            published_registrations: BTreeMap::new(),
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
                        self.parse_event(e.kind.as_str());
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
                if let Some(mx) = &self.metrics {
                    let r = &rec.rtp;
                    mx.rtp_streams_total
                        .with_label_values(&[if r.call_id.is_some() { "yes" } else { "no" }])
                        .inc();
                    mx.rtp_lost_packets_total.inc_by(r.lost.max(0) as u64);
                    mx.rtp_jitter_seconds.observe(r.max_jitter_ms / 1e3);
                    mx.rtp_mos.observe(r.mos);
                    mx.rtp_streams_by_wire_total
                        .with_label_values(&[bounded_label(&r.wire, &WIRE_KINDS)])
                        .inc();
                }
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
                self.publish();
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
                self.publish();
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
        if let Some(mx) = &self.metrics {
            match &m.start {
                StartLine::Request { method, .. } => mx.sip_request(method.as_str()),
                StartLine::Response { code, .. } => {
                    let cseq = m
                        .cseq()
                        .map(|c| c.method.as_str().to_string())
                        .unwrap_or_default();
                    mx.sip_response(&cseq, *code);
                }
            }
        }
        for w in &m.warnings {
            self.parse_event(w.kind.as_str());
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
            if let Some(mx) = &self.metrics {
                let c = &r.call;
                mx.dialogs_ended_total
                    .with_label_values(&[bounded_label(&c.outcome, &DIALOG_OUTCOMES)])
                    .inc();
                mx.calls_by_encryption_total
                    .with_label_values(&[bounded_label(
                        &c.encryption.media_answered,
                        &MEDIA_PROTECTIONS,
                    )])
                    .inc();
                if let Some(t) = c.setup_time {
                    mx.call_setup_seconds.observe(t);
                }
                if c.answer.is_some() {
                    mx.call_duration_seconds.observe(c.duration);
                }
            }
            self.eve.write("call", &r);
        }
        for a in std::mem::take(&mut self.calls.alerts) {
            *self.stats.alerts.entry(a.alert.signature_id).or_insert(0) += 1;
            if let Some(mx) = &self.metrics {
                mx.alert(a.alert.signature_id, &a.alert.category, a.alert.severity);
            }
            self.eve.write("alert", &a);
        }
    }

    fn parse_event(&self, kind: &str) {
        if let Some(mx) = &self.metrics {
            mx.sip_parse_events_total
                .with_label_values(&[bounded_label(kind, PARSE_EVENT_KINDS)])
                .inc();
        }
    }

    /// Gauges and counters kept by the tables, published on ticks.
    fn publish(&mut self) {
        let Some(mx) = &self.metrics else { return };
        let txs = &self.tx.stats;
        let cs = &self.calls.stats;
        let p = &mut self.published;
        mx.sip_retransmissions_total
            .inc_by(txs.retransmissions - p.retransmissions);
        mx.sip_transactions_total
            .inc_by(txs.transactions - p.transactions);
        mx.dialogs_started_total.inc_by(cs.dialogs - p.dialogs);
        mx.calls_attempted_total.inc_by(cs.dialogs - p.dialogs);
        mx.calls_answered_total.inc_by(cs.answered - p.answered);
        mx.state_evictions_total
            .with_label_values(&["transactions"])
            .inc_by(txs.evicted - p.tx_evicted);
        mx.state_evictions_total
            .with_label_values(&["calls"])
            .inc_by(cs.evicted - p.calls_evicted);
        mx.state_entries
            .with_label_values(&["transactions"])
            .set(self.tx.len() as i64);
        mx.state_entries
            .with_label_values(&["calls"])
            .set(self.calls.len() as i64);
        mx.calls_active.set(self.calls.active() as i64);
        *p = Published {
            retransmissions: txs.retransmissions,
            transactions: txs.transactions,
            dialogs: cs.dialogs,
            answered: cs.answered,
            tx_evicted: txs.evicted,
            calls_evicted: cs.evicted,
        };
        for (outcome, n) in &self.stats.registrations {
            let before = self
                .published_registrations
                .get(outcome)
                .copied()
                .unwrap_or(0);
            mx.registrations_total
                .with_label_values(&[bounded_label(outcome, &REGISTRATION_OUTCOMES)])
                .inc_by(n - before);
        }
        self.published_registrations = self.stats.registrations.clone();
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

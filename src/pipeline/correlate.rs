//! The correlator: the single place where SIP messages from all workers meet, in capture order.
//! It parses each message, pairs transactions, follows dialogs, and writes the records.

use crate::base::fasthash::FastMap;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;

use serde::Serialize;

use crate::base::packet::PacketCtx;
use crate::base::time::Ts;
use crate::detect::anomaly::Anomalies;
use crate::detect::gate::{AlertGate, Decision};
use crate::detect::injection::InjectionChecks;
use crate::detect::inventory::{DeviceRecord, Inventory};
use crate::detect::policy::{Policy, Reload};
use crate::detect::rules::RuleSet;
use crate::detect::segmentation::SegmentCheck;
use crate::detect::{Detectors, Finding};
use crate::dialog::media::{rtp_record, summary_of};
use crate::dialog::msg::clip;
use crate::dialog::msg::static_codec;
use crate::dialog::rtcp::RtcpTable;
use crate::dialog::{
    CallConfig, CallRecord, CallStats, Calls, Msg, Seen, SipRecord, Transactions, TxConfig, TxStats,
};
use crate::media::evidence::Verdict;
use crate::output::alert::AlertRecord;
use crate::output::eve::{EveWriter, Head};
use crate::output::metrics::{
    bounded_label, Metrics, DIALOG_OUTCOMES, MEDIA_PROTECTIONS, PARSE_EVENT_KINDS,
    REGISTRATION_OUTCOMES, WIRE_KINDS,
};
use crate::pipeline::event::{Event, EventKind, SipSeen};

#[derive(Clone, Debug, Default)]
pub struct CorrelatorConfig {
    pub tx: TxConfig,
    pub calls: CallConfig,
    /// The EVE file and the flag SIGHUP sets to have it reopened (logrotate).
    pub eve_reopen: Option<(Arc<std::sync::atomic::AtomicBool>, std::path::PathBuf)>,
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
    /// Alerts held back by the per-signature rate (`[threshold] rate_per_second`), by id.
    pub alerts_rate_limited: BTreeMap<u32, u64>,
    /// Alerts not written because `threshold.config` suppresses them, by id.
    pub alerts_suppressed: BTreeMap<u32, u64>,
    /// Alerts of built-in signatures held back by a `threshold.config` threshold, by id (a
    /// rule's held-back matches are its threshold's own business, as in Suricata).
    pub alerts_thresholded: BTreeMap<u32, u64>,
    /// TLS and DTLS hellos seen.
    pub tls: BTreeMap<String, u64>,
    pub rules_reloads: u64,
    pub rules_reload_failures: u64,
    /// Every capped table at the end of the run: entries, cap and evictions (the `stats`
    /// record's `state`).
    #[serde(skip)]
    pub state: BTreeMap<&'static str, crate::detect::TableStats>,
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
    hello: crate::flow::tls::TlsHello,
    dtls: bool,
}

/// Table counters as last published to the metrics.
#[derive(Default)]
struct Published {
    detector_evictions: u64,
    rule_window_evictions: u64,
    retransmissions: u64,
    transactions: u64,
    dialogs: u64,
    answered: u64,
    tx_evicted: u64,
    calls_evicted: u64,
}

/// The identity of a stream across its start and end events: addresses, ports and SSRC.
type StreamId = (IpAddr, u16, IpAddr, u16, u32);

/// The identity of a stream across its start and end events.
fn stream_id(ctx: &PacketCtx, ssrc: u32) -> StreamId {
    (ctx.src, ctx.sport, ctx.dst, ctx.dport, ssrc)
}

pub struct Correlator {
    eve_reopen: Option<(Arc<std::sync::atomic::AtomicBool>, std::path::PathBuf)>,
    metrics: Option<Arc<Metrics>>,
    /// Signatures, and the behavioural detectors (their thresholds come with the policy).
    rules: Arc<RuleSet>,
    detectors: Detectors,
    anomalies: Anomalies,
    inventory: Inventory,
    device_out: Vec<DeviceRecord>,
    segments: SegmentCheck,
    /// Thresholds, suppression, the posture limiter and the rate ceiling.
    gate: AlertGate,
    findings: Vec<Finding>,
    alert_out: Vec<AlertRecord>,
    published: Published,
    published_registrations: BTreeMap<String, u64>,
    /// What RTCP said about each source, until its stream ends.
    rtcp: RtcpTable,
    /// RTP streams attributed to a call, until they end.
    /// RTP streams attributed to a call, until they end: the Call-ID, and whether the stream
    /// was checked for injection already.
    stream_calls: FastMap<StreamId, (String, bool)>,
    /// RTP injection checks due while calls are up.
    injection: InjectionChecks,
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
        policy: Policy,
    ) -> Correlator {
        if let Some(mx) = &metrics {
            mx.rules_loaded.set(policy.rules.len() as i64);
        }
        Correlator {
            eve_reopen: cfg.eve_reopen.clone(),
            metrics,
            rules: policy.rules,
            gate: AlertGate::new(
                policy.tuning,
                policy.detect.threshold.rate_per_second,
                policy.detect.threshold.rate_burst,
            ),
            detectors: Detectors::new(policy.detect),
            anomalies: Anomalies::default(),
            inventory: Inventory::new(policy.vulnerable, 50_000),
            segments: SegmentCheck::new(policy.segments),
            device_out: Vec::new(),
            findings: Vec::new(),
            alert_out: Vec::new(),
            published: Published::default(),
            published_registrations: BTreeMap::new(),
            rtcp: RtcpTable::new(100_000),
            stream_calls: FastMap::default(),
            injection: InjectionChecks::default(),
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
            EventKind::Sip(seen) => {
                let SipSeen {
                    msg,
                    hits,
                    extra_bytes,
                    long_method,
                } = *seen;
                let method = long_method.as_deref().or(msg.method.as_deref());
                if msg.ctx.ts > self.now {
                    self.now = msg.ctx.ts;
                }
                if let Some(n) = extra_bytes {
                    self.anomalies
                        .on_extra_message(&msg.ctx, n, &mut self.findings);
                }
                self.count(&msg, method);
                self.signatures(&msg, method, &hits);
                self.on_msg(&msg);
            }
            EventKind::SipError { ctx, kind } => {
                if ctx.ts > self.now {
                    self.now = ctx.ts;
                }
                *self.stats.parse_errors.entry(kind.to_string()).or_insert(0) += 1;
                self.parse_event(kind);
                self.anomalies
                    .on_parse_error(&ctx, kind, &mut self.findings);
                self.take_findings();
                self.write_out();
            }
            EventKind::Reload(reload) => self.apply_reload(*reload),
            EventKind::RtpStart { ctx, ssrc, .. } => {
                self.stats.rtp_streams += 1;
                self.segments.check(&ctx, true, &mut self.findings);
                self.take_findings();
                self.write_out();
                if let Some(id) = self
                    .calls
                    .attach_stream((ctx.dst, ctx.dport), (ctx.src, ctx.sport))
                {
                    self.stream_calls.insert(stream_id(&ctx, ssrc), (id, false));
                    self.injection.schedule(ctx, ssrc);
                }
            }
            EventKind::RtpFlood {
                ctx,
                ssrc,
                packets,
                in_last_second,
                since,
            } => {
                let secs = ctx.ts.since(since) as f64 / 1e9;
                self.findings.push(Finding {
                    reversed: false,
                    sig: crate::detect::signature::RTP_FLOOD,
                    ctx,
                    evidence: json!({
                        "ssrc": format!("0x{:08X}", ssrc),
                        "packets": packets,
                        "seconds": (secs * 1e3).round() / 1e3,
                        "packets_in_last_second": in_last_second,
                        "limit_per_second": crate::media::streams::FLOOD_PACKETS_PER_SECOND,
                        "call_id": self.stream_calls.get(&stream_id(&ctx, ssrc)).map(|c| &c.0),
                    }),
                });
                self.take_findings();
                self.write_out();
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
                let attributed = self.stream_calls.remove(&stream_id(&end.ctx, end.ssrc));
                let checked = attributed.as_ref().is_some_and(|c| c.1);
                let call_id = attributed.map(|c| c.0);
                let codec = call_id
                    .as_deref()
                    .and_then(|id| self.calls.codec_of(id, end.payload_type))
                    .or_else(|| static_codec(&end.payload_type.to_string()).map(str::to_string))
                    .unwrap_or_else(|| format!("PT{}", end.payload_type));
                let mut rec = rtp_record(&end, codec.clone(), call_id.clone());
                if let Some(id) = call_id.as_deref().filter(|_| !checked) {
                    self.check_injection(id, end.ctx, end.ssrc, Some(end.summary.packets));
                }
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
                self.detectors.expire(self.now, &mut self.findings);
                self.anomalies.expire(self.now);
                self.take_findings();
                self.injection_checks();
                if let Some((flag, path)) = &self.eve_reopen {
                    if flag.swap(false, std::sync::atomic::Ordering::Relaxed) {
                        if let Err(e) = self.eve.reopen(path) {
                            eprintln!("voip-sentinel: cannot reopen {}: {e}", path.display());
                        }
                    }
                }
                self.publish();
                self.rtcp.expire(self.now, crate::base::time::secs(3600));
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

    /// RTP injection (2100006) for a stream of call `id` (`ctx`: its first packet, or its end;
    /// `packets`: its count, when it ended).
    fn check_injection(&mut self, id: &str, ctx: PacketCtx, ssrc: u32, packets: Option<u64>) {
        if !self
            .calls
            .injected_into(id, (ctx.src, ctx.sport), (ctx.dst, ctx.dport))
        {
            return;
        }
        self.findings
            .push(InjectionChecks::finding(id, ctx, ssrc, packets));
        self.take_findings();
    }

    /// The injection checks that are due by now, for streams still up and not checked yet.
    fn injection_checks(&mut self) {
        while let Some((at, ssrc)) = self.injection.next_due(self.now) {
            let Some((id, checked)) = self.stream_calls.get_mut(&stream_id(&at, ssrc)) else {
                continue;
            };
            if std::mem::replace(checked, true) {
                continue;
            }
            let id = id.clone();
            self.check_injection(&id, at, ssrc, None);
        }
    }

    /// Count a message as tshark's sip,stat does: requests by their method name, responses
    /// by status code. Distinct names are capped, so a flood of invented methods cannot grow the map.
    fn count(&mut self, m: &Msg, method: Option<&str>) {
        const MAX_METHOD_NAMES: usize = 256;
        self.stats.messages += 1;
        match (method, m.status) {
            (Some(name), _) => {
                let map = &mut self.stats.requests;
                let key = if map.contains_key(name) || map.len() < MAX_METHOD_NAMES {
                    name
                } else {
                    "(other)"
                };
                *map.entry(key.to_string()).or_insert(0) += 1;
            }
            (None, Some(code)) => *self.stats.responses.entry(code).or_insert(0) += 1,
            (None, None) => {}
        }
        if let Some(mx) = &self.metrics {
            match (method, m.status) {
                (Some(name), _) => mx.sip_request(name),
                (None, Some(code)) => mx.sip_response(m.cseq_method(), code),
                (None, None) => {}
            }
        }
        for w in &m.warnings {
            self.parse_event(w);
        }
        for w in &m.warnings {
            *self.stats.parse_warnings.entry(w.to_string()).or_insert(0) += 1;
        }
    }

    /// Raise the signatures a worker found matching one message (`hits`: indices into the
    /// rules in force), as far as their thresholds let them.
    fn signatures(&mut self, m: &Msg, method: Option<&str>, hits: &[u32]) {
        if hits.is_empty() {
            return;
        }
        let ctx = &m.ctx;
        let head = Head::new(ctx, "alert");
        for &i in hits {
            let Some(r) = self.rules.get(i) else { continue };
            let Some(count) = self.gate.rule_match(r, ctx.src, ctx.dst, ctx.ts) else {
                continue;
            };
            let info = r.alert_info(&head);
            let place = format!("{}:{}", r.file.display(), r.line);
            let what = match (method, m.status) {
                (Some(method), _) => {
                    json!({"method": method, "uri": clip(m.uri.as_deref().unwrap_or(""), 256)})
                }
                (None, code) => json!({ "status": code }),
            };
            self.alert_out.push(AlertRecord {
                head: head.clone(),
                alert: info,
                call: None,
                evidence: json!({
                    "message": what,
                    "call_id": m.call_id,
                    "user_agent": m.user_agent.as_ref().or(m.server.as_ref()),
                    "matches_in_window": count,
                    "rule": place,
                }),
            });
        }
    }

    /// Apply a policy reloaded on SIGHUP (the workers match with its signatures from the same
    /// capture position on): new thresholds and tuning, detector state kept.
    fn apply_reload(&mut self, (result, took): Reload) {
        let ok = result.is_ok();
        match result {
            Ok(policy) => {
                self.rules = policy.rules;
                let t = &policy.detect.threshold;
                self.gate
                    .reconfigure(policy.tuning, t.rate_per_second, t.rate_burst);
                self.detectors.set_config(policy.detect);
                self.inventory.set_list(policy.vulnerable);
                self.segments.set(policy.segments);
                self.stats.rules_reloads += 1;
            }
            Err(errors) => {
                self.stats.rules_reload_failures += 1;
                for e in errors {
                    eprintln!("voip-sentinel: rules reload: {e}");
                }
            }
        }
        if let Some(mx) = &self.metrics {
            mx.rules_reloads_total
                .with_label_values(&[if ok { "success" } else { "failure" }])
                .inc();
            mx.rules_reload_duration_seconds.set(took.as_secs_f64());
            mx.rules_loaded.set(self.rules.len() as i64);
        }
    }

    fn on_msg(&mut self, m: &Msg) {
        let seen = self.tx.on_message(m, &mut self.sip_out);
        self.detectors
            .on_message(m, seen == Seen::Retransmission, &mut self.findings);
        self.anomalies
            .on_message(m, seen == Seen::Retransmission, &mut self.findings);
        self.inventory
            .on_message(m, &mut self.device_out, &mut self.findings);
        self.segments.check(&m.ctx, false, &mut self.findings);
        self.take_findings();
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
        for r in self.device_out.drain(..) {
            self.eve.write("device", &r);
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
        for mut a in std::mem::take(&mut self.calls.alerts) {
            if self.gate.posture(&mut a, self.now) {
                self.alert_out.push(a);
            }
        }
        for mut a in std::mem::take(&mut self.alert_out) {
            let sid = a.alert.signature_id;
            let is_rule = self.rules.by_sid(sid).is_some();
            let decision = self.gate.admit(&mut a, is_rule, self.now);
            if let Some(mx) = &self.metrics {
                let held = match decision {
                    Decision::Write => None,
                    Decision::Suppressed => Some(&mx.alerts_suppressed_total),
                    Decision::Thresholded => Some(&mx.alerts_thresholded_total),
                    Decision::RateLimited => Some(&mx.alerts_rate_limited_total),
                };
                match held {
                    Some(counter) => counter.with_label_values(&[&sid.to_string()]).inc(),
                    None => mx.alert(sid, &a.alert.category, a.alert.severity),
                }
            }
            if decision == Decision::Write {
                *self.stats.alerts.entry(sid).or_insert(0) += 1;
                self.eve.write("alert", &a);
            }
        }
    }

    fn parse_event(&self, kind: &str) {
        if let Some(mx) = &self.metrics {
            mx.sip_parse_events_total
                .with_label_values(&[bounded_label(kind, PARSE_EVENT_KINDS)])
                .inc();
        }
    }

    /// Behavioural findings become alerts.
    fn take_findings(&mut self) {
        for f in self.findings.drain(..) {
            let mut a = AlertRecord::new(Head::new(&f.ctx, "alert"), f.sig, None, f.evidence);
            if f.reversed {
                a.alert.sides(&a.head, true);
            }
            self.alert_out.push(a);
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
        let d = self.detectors.stats();
        let tables = [
            &d.pending,
            &d.scanner_sources,
            &d.flood_sources,
            &d.flood_destinations,
            &d.flood_challenges,
            &d.brute_sources,
            &d.brute_users,
            &d.user_networks,
            &d.limiter,
            &d.fraud_accounts,
            &d.fraud_sources,
            &d.fraud_trunks,
            &d.fraud_calls,
        ];
        let entries: usize =
            tables.iter().map(|t| t.entries).sum::<usize>() + self.anomalies.entries();
        let evictions: u64 =
            tables.iter().map(|t| t.evictions).sum::<u64>() + self.anomalies.evictions();
        mx.state_entries
            .with_label_values(&["detectors"])
            .set(entries as i64);
        mx.state_evictions_total
            .with_label_values(&["detectors"])
            .inc_by(evictions.saturating_sub(p.detector_evictions));
        mx.state_entries
            .with_label_values(&["rule_thresholds"])
            .set(self.gate.windows.len() as i64);
        mx.state_evictions_total
            .with_label_values(&["rule_thresholds"])
            .inc_by(self.gate.windows.evictions() - p.rule_window_evictions);
        *p = Published {
            detector_evictions: evictions,
            rule_window_evictions: self.gate.windows.evictions(),
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

    /// The correlator's capped tables: entries, cap and evictions.
    fn state_tables(&self) -> BTreeMap<&'static str, crate::detect::TableStats> {
        use crate::detect::TableStats;
        let t = |entries, max_keys, evictions| TableStats {
            entries,
            max_keys,
            evictions,
        };
        let d = self.detectors.stats();
        BTreeMap::from([
            (
                "transactions",
                t(self.tx.len(), self.tx.max(), self.tx.stats.evicted),
            ),
            (
                "calls",
                t(self.calls.len(), self.calls.max(), self.calls.stats.evicted),
            ),
            ("pairing", d.pending),
            ("scanner_sources", d.scanner_sources),
            ("flood_sources", d.flood_sources),
            ("flood_destinations", d.flood_destinations),
            ("flood_challenges", d.flood_challenges),
            ("brute_sources", d.brute_sources),
            ("brute_users", d.brute_users),
            ("user_networks", d.user_networks),
            ("alert_limiter", d.limiter),
            ("fraud_accounts", d.fraud_accounts),
            ("fraud_sources", d.fraud_sources),
            ("fraud_trunks", d.fraud_trunks),
            ("fraud_calls", d.fraud_calls),
            (
                "anomalies",
                t(
                    self.anomalies.entries(),
                    self.anomalies.max_entries(),
                    self.anomalies.evictions(),
                ),
            ),
            (
                "devices",
                t(
                    self.inventory.len(),
                    self.inventory.max_devices(),
                    self.inventory.evictions(),
                ),
            ),
            (
                "posture_limiter",
                t(
                    self.gate.posture.len(),
                    self.gate.posture.max_keys(),
                    self.gate.posture.evictions(),
                ),
            ),
            (
                "rtcp_sources",
                t(self.rtcp.len(), self.rtcp.max(), self.rtcp.evicted),
            ),
            (
                "rule_thresholds",
                t(
                    self.gate.windows.len(),
                    crate::detect::rules::windows::MAX_WINDOWS,
                    self.gate.windows.evictions(),
                ),
            ),
            (
                "injection_checks",
                t(
                    self.injection.len(),
                    crate::detect::injection::MAX_CHECKS,
                    self.injection.dropped(),
                ),
            ),
        ])
    }

    /// Write what is left and return the counters.
    pub fn finish(mut self) -> (CorrelatorStats, Box<dyn Write + Send>) {
        self.write_out();
        self.eve.flush();
        let state = self.state_tables();
        let mut s = self.stats;
        s.state = state;
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
        s.alerts_rate_limited = self.gate.rate.limited.clone();
        s.alerts_suppressed = self.gate.suppressed.clone();
        s.alerts_thresholded = self.gate.thresholded.clone();
        s.output_errors = self.eve.errors;
        (s, self.eve.into_inner())
    }
}

//! The correlator: where the events of all workers meet, in capture order, and pass through the
//! stateful stages one after the other: [`Dialogs`] (transactions, calls, stream attribution),
//! [`Detection`] (detectors, anomalies, inventory, thresholds and the alert gate) and
//! the output stage (EVE lines and the metrics they carry, handed the records through an
//! [`Outbox`]: on a thread of its own when there is a core for it, else on this one). It holds
//! the order of the calls between them and the run's counters; each stage holds its own state.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::base::head::Head;
use crate::base::time::Ts;
use crate::detect::engine::Detection;
use crate::detect::policy::{Policy, Reload};
use crate::dialog::dialogs::Dialogs;
use crate::dialog::{CallConfig, CallStats, Msg, Seen, TxConfig, TxStats};
use crate::flow::tls::{TlsBody, TlsRecord};
use crate::output::metrics::{bounded_label, Metrics, PARSE_EVENT_KINDS, REGISTRATION_OUTCOMES};
use crate::output::outbox::{Item, Outbox};
use crate::output::writer::RecordWriter;
use crate::pipeline::event::{Event, EventKind, SipSeen};

#[derive(Clone, Debug, Default)]
pub struct CorrelatorConfig {
    pub tx: TxConfig,
    pub calls: CallConfig,
    /// The EVE file and the flag SIGHUP sets to have it reopened (logrotate).
    pub eve_reopen: Option<(Arc<std::sync::atomic::AtomicBool>, std::path::PathBuf)>,
    /// Live: stop when records cannot be written for this long.
    pub give_up: Option<crate::output::writer::GiveUp>,
    /// The record types to write (`--eve-types`); all when none.
    pub eve_types: Option<Vec<String>>,
    /// Pcap files of the packets behind alerts and calls (`--pcap-dir`).
    pub evidence: Option<crate::output::evidence::EvidenceConfig>,
}

fn method_counts<S: serde::Serializer>(m: &BTreeMap<String, u64>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct MethodCount<'a> {
        method: &'a str,
        count: u64,
    }
    s.collect_seq(
        m.iter()
            .map(|(method, &count)| MethodCount { method, count }),
    )
}

/// What the correlator counted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CorrelatorStats {
    /// SIP messages parsed (every copy, retransmissions included: as tshark counts them).
    pub messages: u64,
    /// Requests by method. Written as a list of `{method, count}`: a method name is the
    /// sender's text, and must not become a JSON key (a log store would make it a field).
    #[serde(serialize_with = "method_counts")]
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
    /// The output's reader went away (broken pipe).
    #[serde(skip)]
    pub output_closed: bool,
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
    /// The rules folder in force at the end ("" none: built-in signatures and detectors only)
    /// and the signatures it held (the `stats` record's `rules`).
    #[serde(skip)]
    /// The rules folders in force (base first), empty for the built-in policy.
    pub rules_dirs: Vec<String>,
    #[serde(skip)]
    pub rules_loaded: usize,
    /// Signatures skipped at load (they need what the sensor does not run).
    pub rules_skipped: usize,
    /// Every capped table at the end of the run: entries, cap and evictions (the `stats`
    /// record's `state`).
    #[serde(skip)]
    pub state: BTreeMap<&'static str, crate::detect::TableStats>,
    /// What the evidence folder got (`--pcap-dir`).
    #[serde(skip)]
    pub evidence: Option<crate::output::evidence::EvidenceStats>,
    /// The tables still holding state at the end of the input, before the end flushed them.
    #[serde(skip)]
    pub left: Vec<&'static str>,
}

impl CorrelatorStats {
    /// Add the next part of a replay analysed apart (`capture::plan`): counters added, the
    /// state tables' entries those at its end.
    pub fn add_part(&mut self, p: CorrelatorStats) {
        use crate::pipeline::stats::add_counts;
        self.messages += p.messages;
        add_counts(&mut self.requests, &p.requests);
        add_counts(&mut self.responses, &p.responses);
        add_counts(&mut self.parse_errors, &p.parse_errors);
        add_counts(&mut self.parse_warnings, &p.parse_warnings);
        add_counts(&mut self.framing_errors, &p.framing_errors);
        self.retransmissions += p.retransmissions;
        self.transactions += p.transactions;
        self.transactions_timed_out += p.transactions_timed_out;
        self.transactions_evicted += p.transactions_evicted;
        add_counts(&mut self.registrations, &p.registrations);
        let (c, pc) = (&mut self.calls, &p.calls);
        c.dialogs += pc.dialogs;
        c.answered += pc.answered;
        c.failed += pc.failed;
        c.cancelled += pc.cancelled;
        c.unanswered += pc.unanswered;
        c.open_at_end += pc.open_at_end;
        c.evicted += pc.evicted;
        c.reinvites += pc.reinvites;
        add_counts(&mut self.records, &p.records);
        self.output_errors += p.output_errors;
        self.output_closed |= p.output_closed;
        self.rtp_streams += p.rtp_streams;
        add_counts(&mut self.alerts, &p.alerts);
        add_counts(&mut self.alerts_rate_limited, &p.alerts_rate_limited);
        add_counts(&mut self.alerts_suppressed, &p.alerts_suppressed);
        add_counts(&mut self.alerts_thresholded, &p.alerts_thresholded);
        add_counts(&mut self.tls, &p.tls);
        self.rules_reloads += p.rules_reloads;
        self.rules_reload_failures += p.rules_reload_failures;
        for (name, t) in p.state {
            match self.state.get_mut(name) {
                Some(e) => {
                    e.evictions += t.evictions;
                    (e.entries, e.max_keys) = (t.entries, t.max_keys);
                }
                None => {
                    self.state.insert(name, t);
                }
            }
        }
        self.left.extend(p.left);
    }

    /// The output stage's counters: records written by type, write errors, a closed reader.
    pub fn add_output(&mut self, eve: &crate::output::eve::EveWriter) {
        self.records.clone_from(&eve.written);
        self.output_errors = eve.errors;
        self.output_closed = eve.closed;
    }
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
    numbering_evicted: u64,
    evidence: crate::output::evidence::EvidenceStats,
}

pub struct Correlator {
    metrics: Option<Arc<Metrics>>,
    /// SIP summaries handled, back to the workers to refill.
    recycle: crossbeam_channel::Sender<Box<SipSeen>>,
    dialogs: Dialogs,
    detect: Detection,
    out: Outbox,
    stats: CorrelatorStats,
    published: Published,
    published_registrations: BTreeMap<String, u64>,
    now: Ts,
    /// The packet the event being handled is about (its capture position), for the
    /// `pcap_cnt` of the alerts and records it makes; none for ticks and timeouts.
    packet: Option<u64>,
    /// The files or interfaces of the run, by capture position.
    origins: Option<Arc<crate::base::origin::Origins>>,
    /// The transaction number of the message being handled (for its alerts' `tx_id`).
    tx_id: Option<u64>,
    /// The packets behind alerts and calls, as pcap files (`--pcap-dir`).
    evidence: Option<crate::output::evidence::Evidence>,
}

impl Correlator {
    pub fn new(
        cfg: CorrelatorConfig,
        out: Outbox,
        metrics: Option<Arc<Metrics>>,
        policy: Policy,
        recycle: crossbeam_channel::Sender<Box<SipSeen>>,
    ) -> Correlator {
        if let Some(mx) = &metrics {
            mx.rules_loaded.set(policy.rules.len() as i64);
            mx.rules_skipped.set(policy.rules.skipped().len() as i64);
        }
        let stats = CorrelatorStats {
            rules_dirs: folder_names(&policy),
            ..CorrelatorStats::default()
        };
        // The folder was checked at startup; if it has gone since, the run goes on without.
        let evidence = cfg.evidence.clone().and_then(|e| {
            crate::output::evidence::Evidence::open(e)
                .map_err(|e| eprintln!("voip-sentinel: evidence folder: {e}"))
                .ok()
        });
        Correlator {
            evidence,
            out,
            metrics,
            recycle,
            dialogs: Dialogs::new(cfg.tx, cfg.calls),
            detect: Detection::new(policy),
            stats,
            published: Published::default(),
            published_registrations: BTreeMap::new(),
            now: Ts::ZERO,
            packet: None,
            origins: None,
            tx_id: None,
        }
    }

    fn advance(&mut self, ts: Ts) {
        if ts > self.now {
            self.now = ts;
        }
    }

    /// Where the records' packets come from (their file or interface).
    pub fn with_origins(mut self, origins: Arc<crate::base::origin::Origins>) -> Correlator {
        self.origins = Some(origins);
        self
    }

    /// Name the file or interface of the packet at `seq` in a record's head.
    fn stamp(&self, head: &mut Head, seq: Option<u64>) {
        // A HEP copy came over the HEP socket, not from the file or interface.
        let (Some(origins), Some(seq), None) = (&self.origins, seq, &head.capture) else {
            return;
        };
        match origins.of(seq) {
            // Shared, not copied: one name for every record of the file.
            Some(crate::base::origin::Origin::File(f)) => head.pcap_filename = Some(f),
            Some(crate::base::origin::Origin::Interface(i)) => head.in_iface = Some(i),
            None => {}
        }
    }

    pub fn handle(&mut self, ev: Event) {
        self.packet = match &ev.kind {
            EventKind::Sip(_)
            | EventKind::SipError { .. }
            | EventKind::RtpStart { .. }
            | EventKind::RtpFlood { .. }
            | EventKind::Tls { .. }
                if ev.order.phase == 0 && ev.order.seq > 0 =>
            {
                Some(ev.order.seq)
            }
            _ => None,
        };
        match ev.kind {
            EventKind::Sip(seen) => {
                let SipSeen {
                    msg,
                    hits,
                    extra_bytes,
                    long_method,
                    frame_lens,
                    frames,
                } = &*seen;
                let method = long_method.as_deref().or(msg.method.as_deref());
                self.advance(msg.ctx.ts);
                if let Some(n) = *extra_bytes {
                    self.detect.on_extra_message(&msg.ctx, n);
                }
                self.count(msg, method);
                if let Some(ev) = &mut self.evidence {
                    let ends = (msg.ctx.src, msg.ctx.dst);
                    // Held by the run's clock (files of a replay may go back in time).
                    ev.on_sip(msg.call_id.as_deref(), ends, frames, self.now);
                }
                self.detect.signatures(msg, method, hits, *frame_lens);
                self.on_msg(msg, frames);
                // A full pool: the workers have enough; this one is freed.
                let _ = self.recycle.try_send(seen);
            }
            EventKind::SipError { ctx, kind, frames } => {
                self.advance(ctx.ts);
                if let Some(ev) = &mut self.evidence {
                    ev.on_sip(None, (ctx.src, ctx.dst), &frames, self.now);
                }
                crate::base::tally::bump(&mut self.stats.parse_errors, kind);
                self.parse_event(kind);
                self.detect.on_parse_error(&ctx, kind);
                self.write_out();
            }
            EventKind::Reload(reload) => self.apply_reload(*reload),
            EventKind::RtpStart { ctx, ssrc, .. } => {
                self.stats.rtp_streams += 1;
                self.detect.on_rtp_start(&ctx);
                self.write_out();
                if self.dialogs.stream_started(&ctx, ssrc) {
                    self.detect.schedule_injection_check(ctx, ssrc);
                }
            }
            EventKind::RtpFlood {
                ctx,
                ssrc,
                packets,
                in_last_second,
                since,
            } => {
                let call_id = self.dialogs.call_of(&ctx, ssrc);
                self.detect
                    .rtp_flood(ctx, ssrc, (packets, in_last_second, since), call_id);
                self.write_out();
            }
            EventKind::Flow(mut rec) => {
                self.stamp(&mut rec.head, Some(rec.first_seq));
                self.out.push(Item::Flow(rec));
            }
            EventKind::MediaFrame { ctx, ssrc, frame } => {
                if let (Some(ev), Some(id)) = (&mut self.evidence, self.dialogs.call_of(&ctx, ssrc))
                {
                    ev.call_media(id, &frame);
                }
            }
            EventKind::Rtcp { ctx, packets } => self.dialogs.rtcp.on_packets(ctx.ts, &packets),
            EventKind::Tls { ctx, hello, dtls } => {
                crate::base::tally::bump(&mut self.stats.tls, if dtls { "dtls" } else { "tls" });
                let mut head = Head::new(&ctx, "tls");
                head.pcap_cnt = self.packet;
                self.stamp(&mut head, self.packet);
                let rec = TlsRecord {
                    head,
                    tls: TlsBody {
                        hello: *hello,
                        dtls,
                    },
                };
                self.out.tls(rec);
            }
            EventKind::RtpEnd(end) => {
                let (rec, attributed) = self.dialogs.stream_ended(&end);
                if let Some((id, false)) = &attributed {
                    if self.dialogs.injected(id, &end.ctx) {
                        self.detect
                            .injection(id, end.ctx, end.ssrc, Some(end.summary.packets));
                    }
                }
                if let Some((id, _)) = &attributed {
                    self.dialogs.stream_written(id, &rec, &end);
                }
                self.out.rtp(rec);
                if attributed.is_some() {
                    self.write_out();
                }
            }
            EventKind::SipFraming { kind, .. } => {
                crate::base::tally::bump(&mut self.stats.framing_errors, kind);
            }
            EventKind::Tick { now } => {
                self.advance(now);
                self.dialogs.expire_transactions(self.now);
                self.detect.expire(self.now);
                self.injection_checks();
                self.out.push(Item::Reopen);
                self.publish();
                self.dialogs.expire_calls(self.now);
                self.write_out();
                // After the alerts of this tick took their packets.
                if let Some(ev) = &mut self.evidence {
                    ev.tick(self.now);
                }
                self.out.push(Item::Flush);
            }
            // Assembled by the pipeline's loop before the correlator (see `pipeline::run`).
            EventKind::Stats(_) => {}
            EventKind::Flush { now } => {
                self.advance(now);
                // What a next part of the replay would have met (`capture::plan`).
                let mut left: Vec<&'static str> = self
                    .state_tables()
                    .into_iter()
                    .filter(|(_, t)| t.entries > 0)
                    .map(|(name, _)| name)
                    .collect();
                self.detect.held(&mut left);
                self.dialogs.held(&mut left);
                self.stats.left = left;
                self.detect.flush(self.now);
                self.dialogs.flush();
                self.write_out();
                if let Some(ev) = &mut self.evidence {
                    ev.finish();
                }
                self.publish();
                self.out.push(Item::Flush);
            }
        }
    }

    /// The injection checks that are due by now, for streams still up and not checked yet.
    fn injection_checks(&mut self) {
        while let Some((at, ssrc)) = self.detect.next_injection_check(self.now) {
            let Some(id) = self.dialogs.take_check(&at, ssrc) else {
                continue;
            };
            if self.dialogs.injected(&id, &at) {
                self.detect.injection(&id, at, ssrc, None);
            }
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
                crate::base::tally::bump(map, key);
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
            crate::base::tally::bump(&mut self.stats.parse_warnings, w);
        }
    }

    /// Apply a policy reloaded on SIGHUP (the workers match with its signatures from the same
    /// capture position on): new thresholds and tuning, detector state kept.
    fn apply_reload(&mut self, (result, took): Reload) {
        let ok = result.is_ok();
        match result {
            Ok(policy) => {
                self.stats.rules_dirs = folder_names(&policy);
                self.detect.apply(policy);
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
            mx.rules_loaded.set(self.detect.rules() as i64);
            mx.rules_skipped.set(self.detect.rules_skipped() as i64);
        }
    }

    /// One message through the stages: its transaction, detection, then (unless it is a
    /// retransmission) its registration and call; then what they made is written.
    fn on_msg(&mut self, m: &Msg, frames: &[Arc<crate::base::packet::WireFrame>]) {
        let seen = self.dialogs.transaction(m);
        self.tx_id = self.dialogs.tx.last_tx_id;
        let retransmission = seen == Seen::Retransmission;
        self.detect.on_message(m, retransmission);
        if !retransmission {
            self.dialogs.on_message(m);
        }
        // Into the call's own file before its record (written below) closes it.
        if let (Some(ev), Some(id)) = (&mut self.evidence, m.call_id.as_deref()) {
            if ev.records_calls() {
                ev.call_sip(id, frames, self.dialogs.calls.tracks(id), m.ctx.ts);
            }
        }
        self.write_out();
        self.tx_id = None;
    }

    /// Write what the stages made, in a fixed order: transactions, devices, calls, then the
    /// alerts (the calls' own after the plaintext-signalling limit), each through the gate.
    fn write_out(&mut self) {
        let mut sip = std::mem::take(&mut self.dialogs.sip_out);
        for mut r in sip.drain(..) {
            let seq = r.head.pcap_cnt;
            self.stamp(&mut r.head, seq);
            if let Some(written) = self.out.sip(r) {
                written.sip.give_strings(&mut self.dialogs.tx.spare);
            }
        }
        self.dialogs.sip_out = sip;
        for r in self.detect.devices.drain(..) {
            self.out.device(r);
        }
        for mut r in std::mem::take(&mut self.detect.postures) {
            let seq = r.head.pcap_cnt;
            self.stamp(&mut r.head, seq);
            self.out.posture(r);
        }
        for mut r in self.dialogs.call_out.drain(..) {
            if let Some(ev) = &mut self.evidence {
                ev.call_ended(&mut r, self.now);
            }
            self.out.call(r);
        }
        for e in std::mem::take(&mut self.dialogs.calls.exposures) {
            // Decided before the alert is built: a busy source's are almost all held back.
            let sid = crate::detect::alert::exposure_signature(e.what).id;
            let Some(held) = self.detect.gate.posture_pass(sid, &e.ctx.src, self.now) else {
                continue;
            };
            let mut a = crate::detect::alert::exposure_alert(e);
            crate::detect::gate::note_held(&mut a, held);
            self.detect.alerts.push(a);
        }
        for mut a in std::mem::take(&mut self.detect.alerts) {
            if a.head.pcap_cnt.is_none() {
                a.head.pcap_cnt = self.packet;
            }
            // SIP alerts decided on this message: its transaction.
            if a.head.app_proto.as_deref() == Some("sip") && a.head.tx_id.is_none() {
                a.head.tx_id = self.tx_id;
            }
            let seq = a.head.pcap_cnt;
            self.stamp(&mut a.head, seq);
            let decision = self.detect.admit(&mut a, self.now);
            if decision == crate::detect::gate::Decision::Write {
                *self.stats.alerts.entry(a.alert.signature_id).or_insert(0) += 1;
                if let Some(ev) = &mut self.evidence {
                    ev.alert(&mut a, self.now);
                }
            }
            self.out.alert(a, decision);
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
        let tx = &self.dialogs.tx;
        let calls = &self.dialogs.calls;
        let (txs, cs) = (&tx.stats, &calls.stats);
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
            .set(tx.len() as i64);
        mx.state_entries
            .with_label_values(&["transaction_numbering"])
            .set(tx.numbering_len() as i64);
        mx.state_evictions_total
            .with_label_values(&["transaction_numbering"])
            .inc_by(txs.numbering_evicted - p.numbering_evicted);
        mx.state_entries
            .with_label_values(&["calls"])
            .set(calls.len() as i64);
        mx.calls_active.set(calls.active() as i64);
        let ((entries, evictions), (windows, window_evictions)) = self.detect.totals();
        mx.state_entries
            .with_label_values(&["detectors"])
            .set(entries as i64);
        mx.state_evictions_total
            .with_label_values(&["detectors"])
            .inc_by(evictions.saturating_sub(p.detector_evictions));
        mx.state_entries
            .with_label_values(&["rule_thresholds"])
            .set(windows as i64);
        mx.state_evictions_total
            .with_label_values(&["rule_thresholds"])
            .inc_by(window_evictions - p.rule_window_evictions);
        let evidence = std::mem::take(&mut p.evidence);
        *p = Published {
            evidence,
            detector_evictions: evictions,
            rule_window_evictions: window_evictions,
            retransmissions: txs.retransmissions,
            transactions: txs.transactions,
            dialogs: cs.dialogs,
            answered: cs.answered,
            tx_evicted: txs.evicted,
            calls_evicted: cs.evicted,
            numbering_evicted: txs.numbering_evicted,
        };
        for (finding, n) in self.detect.servers_by_posture() {
            mx.posture_servers
                .with_label_values(&[bounded_label(
                    finding,
                    &crate::output::metrics::POSTURE_FINDINGS,
                )])
                .set(n);
        }
        let by_patch = self.detect.devices_by_patch();
        for a in crate::detect::inventory::Known::ALL {
            for e in crate::detect::inventory::Known::ALL {
                let n = by_patch
                    .iter()
                    .find(|(st, _)| st.advisories == a && st.end_of_life == e)
                    .map_or(0, |x| x.1);
                mx.devices
                    .with_label_values(&[a.as_str(), e.as_str()])
                    .set(n);
            }
        }
        if let Some(ev) = &self.evidence {
            let now = ev.stats();
            let was = std::mem::replace(&mut p.evidence, now.clone());
            mx.evidence_files_total
                .with_label_values(&["alert"])
                .inc_by(now.alert_files - was.alert_files);
            mx.evidence_files_total
                .with_label_values(&["call"])
                .inc_by(now.call_files - was.call_files);
            mx.evidence_files_removed_total
                .inc_by(now.files_removed - was.files_removed);
            mx.evidence_write_errors_total
                .inc_by(now.write_errors - was.write_errors);
            mx.evidence_folder_bytes.set(now.folder_bytes as i64);
            mx.state_entries
                .with_label_values(&["evidence"])
                .set(now.held_keys as i64);
            mx.state_evictions_total
                .with_label_values(&["evidence"])
                .inc_by(now.held_evictions - was.held_evictions);
        }
        for (outcome, n) in &self.dialogs.registrations {
            let before = self
                .published_registrations
                .get(outcome)
                .copied()
                .unwrap_or(0);
            mx.registrations_total
                .with_label_values(&[bounded_label(outcome, &REGISTRATION_OUTCOMES)])
                .inc_by(n - before);
        }
        self.published_registrations = self.dialogs.registrations.clone();
    }

    /// Every capped table: entries, cap and evictions.
    fn state_tables(&self) -> BTreeMap<&'static str, crate::detect::TableStats> {
        use crate::detect::TableStats;
        let t = |entries, max_keys, evictions| TableStats {
            entries,
            max_keys,
            evictions,
        };
        let (tx, calls, rtcp) = (&self.dialogs.tx, &self.dialogs.calls, &self.dialogs.rtcp);
        let mut out = BTreeMap::from([
            ("transactions", t(tx.len(), tx.max(), tx.stats.evicted)),
            (
                "transaction_numbering",
                t(tx.numbering_len(), tx.max(), tx.stats.numbering_evicted),
            ),
            ("calls", t(calls.len(), calls.max(), calls.stats.evicted)),
            ("rtcp_sources", t(rtcp.len(), rtcp.max(), rtcp.evicted)),
        ]);
        self.detect.state_tables(&mut out);
        if let Some(ev) = &self.evidence {
            let s = ev.stats();
            // Bounded by bytes: as many keys as the budget holds at the least a key costs.
            let cap = ev.max_keys();
            out.insert("evidence", t(s.held_keys as usize, cap, s.held_evictions));
        }
        out
    }

    /// Hand on what is left, close the output stage's queue, and return the counters (the
    /// output's own, records written and errors, are the output stage's to add) and, when the
    /// records were written on this thread, the writer.
    pub fn finish(mut self) -> (CorrelatorStats, Option<RecordWriter>) {
        self.write_out();
        self.out.push(Item::Flush);
        self.out.close();
        (self.snapshot(), self.out.take_writer())
    }

    /// The counters as the stats record reports them, so far.
    pub fn snapshot(&self) -> CorrelatorStats {
        let mut s = self.stats.clone();
        s.state = self.state_tables();
        let TxStats {
            transactions,
            retransmissions,
            timed_out,
            evicted,
            numbering_evicted: _,
        } = self.dialogs.tx.stats.clone();
        s.transactions = transactions;
        s.retransmissions = retransmissions;
        s.transactions_timed_out = timed_out;
        s.transactions_evicted = evicted;
        s.calls = self.dialogs.calls.stats.clone();
        s.rules_loaded = self.detect.rules();
        s.rules_skipped = self.detect.rules_skipped();
        s.registrations = self.dialogs.registrations.clone();
        let gate = &self.detect.gate;
        s.alerts_rate_limited = gate.rate.limited.clone();
        s.alerts_suppressed = gate.suppressed.clone();
        s.alerts_thresholded = gate.thresholded.clone();
        s.evidence = self.evidence.as_ref().map(|e| e.stats());
        s
    }

    /// Have the output stage write a record made outside the correlator (a periodic stats
    /// record, which needs the writer's counters), in order with the others: what is pending
    /// goes first.
    pub fn write_with_writer(&mut self, f: Box<dyn FnOnce(&mut RecordWriter) + Send>) {
        self.write_out();
        self.out.push(Item::WithWriter(f));
    }
}

/// The folders a policy was read from, for the stats record.
fn folder_names(policy: &Policy) -> Vec<String> {
    policy
        .folders
        .iter()
        .flat_map(|f| f.dirs())
        .map(|d| d.display().to_string())
        .collect()
}

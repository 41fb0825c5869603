//! The detection stage: everything that counts across messages, calls and streams, in capture
//! order. It takes the message summaries (with the signature hits the workers found), the
//! transaction verdict and the stream events, runs the behavioural detectors, anomalies,
//! inventory, segmentation and RTP injection checks, and hands on alert and device records;
//! the [`AlertGate`] has the last word on each alert. It keeps no dialog state and writes
//! nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use super::anomaly::Anomalies;
use super::gate::{AlertGate, Decision};
use super::injection::InjectionChecks;
use super::inventory::{DeviceRecord, Inventory};
use super::policy::Policy;
use super::posture::{Posture, PostureRecord};
use super::rules::RuleSet;
use super::segmentation::SegmentCheck;
use super::{Detectors, Finding, TableStats};
use crate::base::head::Head;
use crate::base::packet::PacketCtx;
use crate::base::time::Ts;
use crate::detect::alert::AlertRecord;
use crate::dialog::msg::clip;
use crate::dialog::Msg;

pub struct Detection {
    /// The signatures in force (the workers match them; here their thresholds apply).
    rules: Arc<RuleSet>,
    detectors: Detectors,
    anomalies: Anomalies,
    inventory: Inventory,
    segments: SegmentCheck,
    injection: InjectionChecks,
    posture: Posture,
    /// Thresholds, suppression, the posture limiter and the rate ceiling.
    pub gate: AlertGate,
    findings: Vec<Finding>,
    /// Alerts raised, waiting for the gate.
    pub alerts: Vec<AlertRecord>,
    /// Device records of the inventory, to write.
    pub devices: Vec<DeviceRecord>,
    /// `posture` records of servers, to write.
    pub postures: Vec<PostureRecord>,
}

impl Detection {
    pub fn new(policy: Policy) -> Detection {
        Detection {
            rules: policy.rules,
            gate: AlertGate::new(
                policy.tuning,
                policy.detect.threshold.rate_per_second,
                policy.detect.threshold.rate_burst,
            ),
            posture: Posture::new(
                policy.detect.posture.clone(),
                policy.segments.clone(),
                policy.detect.callerid.trusted_trunks.clone(),
            ),
            detectors: Detectors::new(policy.detect),
            anomalies: Anomalies::default(),
            inventory: Inventory::new(policy.vulnerable, policy.advisories, 50_000),
            segments: SegmentCheck::new(policy.segments),
            injection: InjectionChecks::default(),
            findings: Vec::new(),
            alerts: Vec::new(),
            devices: Vec::new(),
            postures: Vec::new(),
        }
    }

    /// Signatures loaded.
    pub fn rules(&self) -> usize {
        self.rules.len()
    }

    /// Signatures that loaded but do not run (another protocol, a keyword not supported).
    pub fn rules_skipped(&self) -> usize {
        self.rules.skipped().len()
    }

    /// A policy reloaded on SIGHUP: new signatures, thresholds and lists; detector state kept.
    pub fn apply(&mut self, policy: Policy) {
        self.rules = policy.rules;
        let t = &policy.detect.threshold;
        self.gate
            .reconfigure(policy.tuning, t.rate_per_second, t.rate_burst);
        self.posture.set(
            policy.detect.posture.clone(),
            policy.segments.clone(),
            policy.detect.callerid.trusted_trunks.clone(),
        );
        self.detectors.set_config(policy.detect);
        self.inventory
            .set_lists(policy.vulnerable, policy.advisories);
        self.segments.set(policy.segments);
    }

    /// A datagram carried a second SIP message (decided with the rest of the message's
    /// findings, in [`Detection::on_message`]).
    pub fn on_extra_message(&mut self, ctx: &PacketCtx, extra_bytes: usize) {
        self.anomalies
            .on_extra_message(ctx, extra_bytes, &mut self.findings);
    }

    /// Raise the signatures a worker found matching one message (`hits`: indices into the
    /// rules in force; `method`: the request method whole), as far as their thresholds let them.
    pub fn signatures(
        &mut self,
        m: &Msg,
        method: Option<&str>,
        hits: &[u32],
        frame_lens: Option<[u32; 4]>,
    ) {
        if hits.is_empty() {
            return;
        }
        let ctx = &m.ctx;
        let mut head = Head::new(ctx, "alert");
        // The rules run on SIP messages.
        head.app_proto = Some("sip".into());
        for &i in hits {
            let Some(r) = self.rules.get(i) else { continue };
            let Some(count) = self.gate.rule_match(r, ctx.src, ctx.dst, ctx.ts) else {
                continue;
            };
            let info = r.alert_info(&head);
            // The file within the rules folder, as Suricata names it: the same wherever the
            // folder is.
            let file = r.file.file_name().unwrap_or(r.file.as_os_str());
            let place = format!("{}:{}", std::path::Path::new(file).display(), r.line);
            let what = match (method, m.status) {
                (Some(method), _) => {
                    json!({"method": method, "uri": clip(m.uri.as_deref().unwrap_or(""), 256)})
                }
                (None, code) => json!({ "status": code }),
            };
            self.alerts.push(AlertRecord {
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
                frame: r.frame().map(|k| crate::detect::alert::FrameInfo {
                    kind: k.name().to_string(),
                    direction: if m.is_request() {
                        "toserver"
                    } else {
                        "toclient"
                    }
                    .to_string(),
                    length: frame_lens
                        .map_or(0, |l| u64::from(l[crate::sip::frames::length_index(k)])),
                    complete: true,
                }),
            });
        }
    }

    /// One message, once its transaction has placed it (`retransmission`: a copy).
    pub fn on_message(&mut self, m: &Msg, retransmission: bool) {
        self.detectors
            .on_message(m, retransmission, &mut self.findings);
        self.anomalies
            .on_message(m, retransmission, &mut self.findings);
        self.inventory
            .on_message(m, &mut self.devices, &mut self.findings);
        self.posture
            .on_message(m, retransmission, &mut self.findings);
        self.segments.check(&m.ctx, false, &mut self.findings);
        self.take_findings();
    }

    /// A message that did not parse.
    pub fn on_parse_error(&mut self, ctx: &PacketCtx, kind: &str) {
        self.anomalies.on_parse_error(ctx, kind, &mut self.findings);
        self.take_findings();
    }

    /// An RTP stream began: is it where voice belongs?
    pub fn on_rtp_start(&mut self, ctx: &PacketCtx) {
        self.segments.check(ctx, true, &mut self.findings);
        self.take_findings();
    }

    /// A stream of a call began: check it for injection later.
    pub fn schedule_injection_check(&mut self, ctx: PacketCtx, ssrc: u32) {
        self.injection.schedule(ctx, ssrc);
    }

    /// The next injection check due by `now`: the stream's first packet (at the time it is
    /// due) and its SSRC.
    pub fn next_injection_check(&mut self, now: Ts) -> Option<(PacketCtx, u32)> {
        self.injection.next_due(now)
    }

    /// A stream of call `id` came from where the call did not announce.
    pub fn injection(&mut self, id: &str, ctx: PacketCtx, ssrc: u32, packets: Option<u64>) {
        self.findings
            .push(InjectionChecks::finding(id, ctx, ssrc, packets));
        self.take_findings();
    }

    /// A stream became a flood (the worker saw it): its packets, those of the last second,
    /// when it began, and its call.
    pub fn rtp_flood(
        &mut self,
        ctx: PacketCtx,
        ssrc: u32,
        (packets, in_last_second, since): (u64, u32, Ts),
        call_id: Option<&str>,
    ) {
        let secs = ctx.ts.since(since) as f64 / 1e9;
        self.findings.push(Finding {
            metadata: None,
            reversed: false,
            sig: crate::detect::signature::RTP_FLOOD,
            ctx,
            evidence: json!({
                "ssrc": format!("0x{:08X}", ssrc),
                "packets": packets,
                "seconds": (secs * 1e3).round() / 1e3,
                "packets_in_last_second": in_last_second,
                "limit_per_second": crate::media::streams::FLOOD_PACKETS_PER_SECOND,
                "call_id": call_id,
            }),
        });
        self.take_findings();
    }

    /// Packet time reached `now`: windows and idle keys expire.
    pub fn expire(&mut self, now: Ts) {
        self.detectors.expire(now, &mut self.findings);
        self.anomalies.expire(now);
        self.inventory.expire(now);
        self.segments.expire(now);
        self.gate.expire(now);
        self.posture.expire(now);
        let records = self.posture.records(now, false, &mut self.findings);
        self.postures.extend(records);
        self.take_findings();
    }

    /// State outside the capped tables that fresh detection would not have (the names of what
    /// is held; `capture::plan`).
    pub fn held(&self, out: &mut Vec<&'static str>) {
        self.detectors.held(out);
        if !self.gate.rate.is_empty() {
            out.push("alert_rate");
        }
    }

    /// End of input: decide what waited for a later message that will not come.
    pub fn flush(&mut self, now: Ts) {
        self.detectors.flush(&mut self.findings);
        let records = self.posture.records(now, true, &mut self.findings);
        self.postures.extend(records);
        self.take_findings();
    }

    /// Servers by authentication finding (for the metrics).
    pub fn servers_by_posture(&mut self) -> BTreeMap<&'static str, i64> {
        self.posture.servers_by_finding()
    }

    /// Devices of the inventory by patch level (advisories, end of life).
    pub fn devices_by_patch(&self) -> Vec<(super::inventory::PatchStatus, i64)> {
        self.inventory.by_status()
    }

    /// The gate on one alert about to be written.
    pub fn admit(&mut self, a: &mut AlertRecord, now: Ts) -> Decision {
        let is_rule = self.rules.by_sid(a.alert.signature_id).is_some();
        self.gate.admit(a, is_rule, now)
    }

    /// Behavioural findings become alerts.
    fn take_findings(&mut self) {
        for f in self.findings.drain(..) {
            let mut a = AlertRecord::new(Head::new(&f.ctx, "alert"), f.sig, None, f.evidence);
            if f.reversed {
                a.alert.sides(&a.head, true);
            }
            a.alert.metadata = f.metadata;
            self.alerts.push(a);
        }
    }

    /// Entries and evictions of the detectors' and anomalies' tables together, and of the
    /// threshold windows (for the metrics).
    pub fn totals(&self) -> ((usize, u64), (usize, u64)) {
        let tables = self.detectors.stats().tables();
        let entries = tables.iter().map(|t| t.1.entries).sum::<usize>() + self.anomalies.entries();
        let evictions =
            tables.iter().map(|t| t.1.evictions).sum::<u64>() + self.anomalies.evictions();
        let w = &self.gate.windows;
        ((entries, evictions), (w.len(), w.evictions()))
    }

    /// Every capped table of detection: entries, cap and evictions (the `stats` record's
    /// `state`).
    pub fn state_tables(&self, out: &mut BTreeMap<&'static str, TableStats>) {
        let t = |entries, max_keys, evictions| TableStats {
            entries,
            max_keys,
            evictions,
        };
        out.extend(self.detectors.stats().tables());
        out.extend(self.posture.tables());
        out.extend([
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
                "segment_limiter",
                t(
                    self.segments.limiter().len(),
                    self.segments.limiter().max_keys(),
                    self.segments.limiter().evictions(),
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
                "rule_thresholds",
                t(
                    self.gate.windows.len(),
                    super::rules::windows::MAX_WINDOWS,
                    self.gate.windows.evictions(),
                ),
            ),
            (
                "injection_checks",
                t(
                    self.injection.len(),
                    super::injection::MAX_CHECKS,
                    self.injection.dropped(),
                ),
            ),
        ]);
    }
}

//! The alert gate: the last word on an alert before it is written, as Suricata's detection
//! engine applies thresholds, suppression and rate filters after a signature matched. In order:
//! a rule's own threshold (or its threshold.config override) when it matches; plaintext
//! signalling once per source and hour (a property of a network more than of a call);
//! threshold.config suppressions and thresholds of built-in signatures; the per-signature rate
//! ceiling. What it holds back is counted per signature.

use std::collections::BTreeMap;

use serde_json::json;

use super::rate::AlertRate;
use super::rules::tuning::Tuning;
use super::rules::windows::ThresholdWindows;
use super::rules::Rule;
use super::signature::UNENCRYPTED_SIGNALLING;
use super::threshold::Limiter;
use crate::base::time::Ts;
use crate::detect::alert::AlertRecord;

/// What the gate made of an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Write,
    /// A threshold.config `suppress` line.
    Suppressed,
    /// A threshold.config threshold of a built-in signature.
    Thresholded,
    /// Over the signature's rate ceiling.
    RateLimited,
}

pub struct AlertGate {
    tuning: Tuning,
    pub windows: ThresholdWindows,
    /// Plaintext signalling: once per source and hour.
    pub posture: Limiter,
    pub rate: AlertRate,
    /// Alerts not written because threshold.config suppresses them, by id.
    pub suppressed: BTreeMap<u32, u64>,
    /// Alerts of built-in signatures held back by a threshold.config threshold, by id.
    pub thresholded: BTreeMap<u32, u64>,
}

impl AlertGate {
    pub fn new(tuning: Tuning, rate_per_second: u64, rate_burst: u64) -> AlertGate {
        AlertGate {
            tuning,
            windows: ThresholdWindows::default(),
            posture: Limiter::new(1, 3600, 50_000),
            rate: AlertRate::new(rate_per_second, rate_burst),
            suppressed: BTreeMap::new(),
            thresholded: BTreeMap::new(),
        }
    }

    /// A reloaded policy: its tuning and rates; threshold windows start afresh.
    pub fn reconfigure(&mut self, tuning: Tuning, rate_per_second: u64, rate_burst: u64) {
        self.tuning = tuning;
        self.rate.configure(rate_per_second, rate_burst);
        self.windows.clear();
    }

    /// Packet time reached `now`: threshold windows that are over, and sources silent for a
    /// week (with the plaintext-signalling count held back since their last alert), go.
    pub fn expire(&mut self, now: Ts) {
        self.windows.expire(now);
        self.posture.forget_idle(now, crate::base::time::MEMORY_NS);
        self.rate.expire(now);
    }

    /// A rule matched a message between `src` and `dst` at `ts`: `Some(matches in the window)`
    /// when its threshold (threshold.config's for its sid, else its own) lets it alert.
    pub fn rule_match(
        &mut self,
        rule: &Rule,
        src: std::net::IpAddr,
        dst: std::net::IpAddr,
        ts: Ts,
    ) -> Option<u32> {
        let t = self
            .tuning
            .threshold(rule.sid)
            .or(rule.threshold.as_ref())
            .copied();
        self.windows.pass(rule.sid, t.as_ref(), src, dst, ts)
    }

    /// Plaintext signalling (raised per call) passes once per source and hour, with the count
    /// held back since in its evidence; other alerts pass as they are. Decided on the alert's
    /// signature and source alone, before the alert is built (most plaintext-signalling alerts
    /// of a busy source are held back): `None` when it is held back, else what [`note_held`]
    /// adds to it.
    pub fn posture_pass(
        &mut self,
        sid: u32,
        src: &std::net::IpAddr,
        now: Ts,
    ) -> Option<Option<u64>> {
        if sid != UNENCRYPTED_SIGNALLING.id {
            return Some(None);
        }
        self.posture
            .check(sid, crate::base::iptext::IpText::new(src), now)
            .map(Some)
    }

    /// threshold.config, then the rate ceiling, on an alert about to be written (`is_rule`: a
    /// signature of the rules files, whose threshold was applied when it matched).
    pub fn admit(&mut self, a: &mut AlertRecord, is_rule: bool, now: Ts) -> Decision {
        let sid = a.alert.signature_id;
        if !self.tuning.is_empty() {
            let (src, dst) = (a.head.src_ip, a.head.dest_ip);
            if self.tuning.is_suppressed(sid, src, dst) {
                *self.suppressed.entry(sid).or_insert(0) += 1;
                return Decision::Suppressed;
            }
            if let Some(t) = self.tuning.threshold(sid).copied().filter(|_| !is_rule) {
                match self.windows.pass(sid, Some(&t), src, dst, now) {
                    Some(n) => {
                        if let Some(o) = a.evidence.as_object_mut() {
                            o.insert("threshold_matches_in_window".into(), json!(n));
                        }
                    }
                    None => {
                        *self.thresholded.entry(sid).or_insert(0) += 1;
                        return Decision::Thresholded;
                    }
                }
            }
        }
        match self.rate.check(sid, now) {
            Some(0) => Decision::Write,
            Some(held) => {
                if let Some(o) = a.evidence.as_object_mut() {
                    o.insert("rate_limited".into(), json!(held));
                }
                Decision::Write
            }
            None => Decision::RateLimited,
        }
    }
}

/// Say in a plaintext-signalling alert how many were held back since the last one
/// ([`AlertGate::posture_pass`]'s `Some(Some(n))`).
pub fn note_held(a: &mut AlertRecord, held: Option<u64>) {
    if let (Some(n), Some(o)) = (held, a.evidence.as_object_mut()) {
        o.insert("suppressed".into(), json!(n));
    }
}

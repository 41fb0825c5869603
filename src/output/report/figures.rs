//! The report's figures, counted from the records: span, packets, calls, streams, alerts by
//! category and severity, top offenders and targets, toll-fraud destinations, encryption
//! posture, call quality.

use std::collections::BTreeMap;

use serde_json::Value;

use super::ladder::parse_time_us;

#[derive(Debug, Default)]
pub struct Figures {
    pub first_us: Option<u64>,
    pub last_us: Option<u64>,
    /// Packets and SIP messages (from the last `stats` record of each input).
    pub packets: u64,
    pub sip_messages: u64,
    pub calls: usize,
    pub streams: usize,
    pub alerts: usize,
    /// (category, severity) -> alerts.
    pub by_category: BTreeMap<(String, u64), usize>,
    pub sources: BTreeMap<String, usize>,
    pub targets: BTreeMap<String, usize>,
    /// (destination number, class or label) -> alerts.
    pub toll_destinations: BTreeMap<(String, String), usize>,
    /// (signalling, media) -> calls.
    pub encryption: BTreeMap<(String, String), usize>,
    /// Streams by MOS, in half-point bins from 1 to 5 (the distribution), and how many.
    pub mos_bins: [u64; 8],
    pub mos_streams: u64,
}

impl Figures {
    /// Count `records`; `stats` are the last `stats` record of each input.
    #[cfg(test)]
    pub fn of(records: &[Value], stats: &[&Value]) -> Figures {
        let mut f = Figures::default();
        for r in records {
            f.add(r);
        }
        for s in stats {
            f.add_stats(s);
        }
        f
    }

    /// Count one record (not `stats`: see `add_stats`).
    pub fn add(&mut self, r: &Value) {
        if let Some(t) = r["timestamp"].as_str().and_then(parse_time_us) {
            self.first_us = Some(self.first_us.map_or(t, |x| x.min(t)));
            self.last_us = Some(self.last_us.map_or(t, |x| x.max(t)));
        }
        match r["event_type"].as_str() {
            Some("call") => {
                self.calls += 1;
                let e = &r["call"]["encryption"];
                let key = (
                    e["signalling"].as_str().unwrap_or("unknown").to_string(),
                    e["media_answered"]
                        .as_str()
                        .unwrap_or("unknown")
                        .to_string(),
                );
                *self.encryption.entry(key).or_insert(0) += 1;
            }
            Some("rtp") => {
                self.streams += 1;
                if let Some(m) = r["rtp"]["mos"].as_f64() {
                    self.mos_bins[mos_bin(m)] += 1;
                    self.mos_streams += 1;
                }
            }
            Some("alert") => self.alert(r),
            _ => {}
        }
    }

    /// The last `stats` record of one input: its packets and SIP messages.
    pub fn add_stats(&mut self, s: &Value) {
        self.packets += s["stats"]["capture"]["packets"].as_u64().unwrap_or(0);
        self.sip_messages += s["stats"]["sip"]["messages"].as_u64().unwrap_or(0);
    }

    fn alert(&mut self, r: &Value) {
        self.alerts += 1;
        let a = &r["alert"];
        let category = a["category"].as_str().unwrap_or("").to_string();
        let severity = a["severity"].as_u64().unwrap_or(3);
        *self
            .by_category
            .entry((category.clone(), severity))
            .or_insert(0) += 1;
        if let Some(ip) = a["source"]["ip"].as_str() {
            *self.sources.entry(ip.to_string()).or_insert(0) += 1;
        }
        if let Some(ip) = a["target"]["ip"].as_str() {
            *self.targets.entry(ip.to_string()).or_insert(0) += 1;
        }
        if category == "toll-fraud" {
            let ev = &r["evidence"];
            if let Some(n) = ev["number"].as_str().or(ev["dialled"].as_str()) {
                let class = ev["label"]
                    .as_str()
                    .or(ev["class"].as_str())
                    .unwrap_or("")
                    .to_string();
                *self
                    .toll_destinations
                    .entry((n.to_string(), class))
                    .or_insert(0) += 1;
            }
        }
    }
}

/// The half-point bin of a MOS, from 1-1.5 to 4.5-5 (out-of-range values in the end bins).
pub fn mos_bin(m: f64) -> usize {
    let m = if m.is_nan() { 1.0 } else { m.clamp(1.0, 4.999) };
    (((m - 1.0) / 0.5) as usize).min(7)
}

/// The `n` largest counts, largest first (ties by key).
pub fn top(m: &BTreeMap<String, usize>, n: usize) -> Vec<(&str, usize)> {
    let mut v: Vec<(&str, usize)> = m.iter().map(|(k, c)| (k.as_str(), *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.truncate(n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_alerts_calls_and_streams() {
        let recs = vec![
            json!({"timestamp":"2026-11-25T14:16:53.000000+0000","event_type":"alert",
                "alert":{"category":"toll-fraud","severity":1,"source":{"ip":"10.0.0.1"},"target":{"ip":"10.0.0.2"}},
                "evidence":{"number":"4412345","label":"United Kingdom"}}),
            json!({"timestamp":"2026-11-25T14:16:55.000000+0000","event_type":"call",
                "call":{"encryption":{"signalling":"plaintext","media_answered":"rtp"}}}),
            json!({"timestamp":"2026-11-25T14:16:54.000000+0000","event_type":"rtp","rtp":{"mos":4.4}}),
        ];
        let stats = json!({"stats":{"capture":{"packets":10},"sip":{"messages":4}}});
        let f = Figures::of(&recs, &[&stats]);
        assert_eq!((f.alerts, f.calls, f.streams, f.packets), (1, 1, 1, 10));
        assert_eq!(f.last_us.unwrap() - f.first_us.unwrap(), 2_000_000);
        assert_eq!(
            f.toll_destinations[&("4412345".to_string(), "United Kingdom".to_string())],
            1
        );
        assert_eq!(top(&f.sources, 5), vec![("10.0.0.1", 1)]);
    }
}

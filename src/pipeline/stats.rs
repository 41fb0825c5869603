//! The counters of the pipeline's threads: the capture thread's ([`CaptureStats`]) and each
//! worker's ([`WorkerStats`]). They travel to the output stage at the end of a run and, for a
//! periodic `stats` record, at a tick ([`StatsPart`]).

use std::collections::BTreeMap;

use crate::base::time::Ts;
use crate::capture::KernelStats;
use crate::decode::DefragStats;

/// Counters of the capture thread.
#[derive(Clone, Debug, Default)]
pub struct CaptureStats {
    pub packets: u64,
    pub bytes: u64,
    pub decoded: u64,
    /// Packets not handed on, by reason (`DecodeError::kind`).
    pub decode_errors: BTreeMap<&'static str, u64>,
    /// Packets dropped because a worker queue was full (live only).
    pub queue_drops: u64,
    pub files: u64,
    pub file_errors: Vec<String>,
    pub first_ts: Option<Ts>,
    pub last_ts: Option<Ts>,
    pub hep: HepStats,
    /// Evidence: frames of IP fragments not kept for their datagram's pcap (bounds reached).
    pub evidence_fragments_dropped: u64,
    /// State still held at the end of the input (before the end flushed it): what a next
    /// part of the replay would have met (`capture::plan`).
    pub left: Vec<&'static str>,
}

/// Agents counted by name at most; the rest are counted as `other` (a flood of spoofed
/// sources must not grow the table).
pub const HEP_AGENTS_MAX: usize = 64;

/// Who sent a HEP packet, for counting: its capture id, else the address it came from. Kept
/// as the value itself (made text only when published), so counting allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AgentKey {
    Id(u32),
    Addr(std::net::IpAddr),
    /// A copy in a capture, with no capture id.
    Unknown,
    /// Past [`HEP_AGENTS_MAX`] agents.
    Other,
}

impl std::fmt::Display for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgentKey::Id(id) => write!(f, "{id}"),
            AgentKey::Addr(a) => write!(f, "{a}"),
            AgentKey::Unknown => f.write_str("unknown"),
            AgentKey::Other => f.write_str("other"),
        }
    }
}

/// HEP copies received (by the listener, or found in a capture).
#[derive(Clone, Debug, Default)]
pub struct HepStats {
    /// Packets by agent and outcome (`accepted`, `duplicate` (the wire gave it first),
    /// `bad_auth`, `malformed`, `not_sip`).
    pub by_agent: BTreeMap<(AgentKey, &'static str), u64>,
    /// Wire datagrams dropped because a HEP copy had already given the message (the HEP
    /// copies dropped the other way round are the `duplicate` outcome).
    pub wire_dropped: u64,
    /// Messages the duplicate filter forgot early to stay within its cap.
    pub dedup_evicted: u64,
    /// The listener's own counters (TCP connections, queue drops), when one runs.
    pub listener: Option<crate::capture::hep_listen::ListenerStats>,
}

impl HepStats {
    pub fn count(&mut self, agent: AgentKey, outcome: &'static str) {
        self.count_n(agent, outcome, 1);
    }

    /// Add another part's counts (`capture::plan`), agents past [`HEP_AGENTS_MAX`] as `other`:
    /// the table stays as small as one pipeline's (which agents keep their names may differ:
    /// one pipeline names the first it meets, this the earlier parts' and then by key).
    pub fn add_part(&mut self, h: &HepStats) {
        for (&(agent, outcome), &n) in &h.by_agent {
            self.count_n(agent, outcome, n);
        }
        self.wire_dropped += h.wire_dropped;
        self.dedup_evicted += h.dedup_evicted;
    }

    fn count_n(&mut self, agent: AgentKey, outcome: &'static str, add: u64) {
        if let Some(n) = self.by_agent.get_mut(&(agent, outcome)) {
            *n += add;
            return;
        }
        let known = self.by_agent.keys().any(|(a, _)| *a == agent);
        let agents = || {
            let mut seen: Vec<AgentKey> = self.by_agent.keys().map(|(a, _)| *a).collect();
            seen.dedup();
            seen.len()
        };
        let agent = if !known && agents() >= HEP_AGENTS_MAX {
            AgentKey::Other
        } else {
            agent
        };
        *self.by_agent.entry((agent, outcome)).or_insert(0) += add;
    }

    /// Packets of one outcome, over all agents.
    pub fn total(&self, outcome: &str) -> u64 {
        self.by_agent
            .iter()
            .filter(|((_, o), _)| *o == outcome)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Counters of one worker, summed over workers at the end.
#[derive(Clone, Debug, Default)]
pub struct WorkerStats {
    pub packets: u64,
    pub udp_packets: u64,
    pub tcp_packets: u64,
    pub sctp_packets: u64,
    pub sip_udp: u64,
    pub sip_tcp: u64,
    pub sip_sctp: u64,
    pub tcp_flows: u64,
    pub tcp_flows_evicted: u64,
    pub tcp_flows_timed_out: u64,
    pub tcp_gaps: u64,
    pub tcp_over_cap: u64,
    /// Evidence: TCP segments a message's file could not hold (over the per-direction cap).
    pub tcp_evidence_segments_dropped: u64,
    pub sip_framing_errors: u64,
    pub sip_incomplete_at_close: u64,
    pub rtp_packets: u64,
    pub rtcp_packets: u64,
    pub rtp_streams: u64,
    pub rtp_streams_announced: u64,
    pub rtp_streams_evicted: u64,
    pub rtp_candidates_dropped: u64,
    pub expectations_evicted: u64,
    /// The flow table's counters (when flow records are written).
    pub flows: Option<crate::flow::table::FlowCounters>,
    /// State still held at the end of the input, before the end flushed it.
    pub left: Vec<&'static str>,
}

/// Add `b`'s counts to `a`'s, key by key.
pub fn add_counts<K: Ord + Clone>(a: &mut BTreeMap<K, u64>, b: &BTreeMap<K, u64>) {
    for (k, n) in b {
        *a.entry(k.clone()).or_insert(0) += n;
    }
}

impl WorkerStats {
    /// Add another worker's counters (the totals of a run), or the same worker's in a later
    /// part of a replay.
    pub fn add(&mut self, w: &WorkerStats) {
        self.packets += w.packets;
        self.udp_packets += w.udp_packets;
        self.tcp_packets += w.tcp_packets;
        self.sctp_packets += w.sctp_packets;
        self.sip_udp += w.sip_udp;
        self.sip_tcp += w.sip_tcp;
        self.sip_sctp += w.sip_sctp;
        self.tcp_flows += w.tcp_flows;
        self.tcp_flows_evicted += w.tcp_flows_evicted;
        self.tcp_flows_timed_out += w.tcp_flows_timed_out;
        self.tcp_gaps += w.tcp_gaps;
        self.tcp_over_cap += w.tcp_over_cap;
        self.tcp_evidence_segments_dropped += w.tcp_evidence_segments_dropped;
        self.sip_framing_errors += w.sip_framing_errors;
        self.sip_incomplete_at_close += w.sip_incomplete_at_close;
        self.rtp_packets += w.rtp_packets;
        self.rtcp_packets += w.rtcp_packets;
        self.rtp_streams += w.rtp_streams;
        self.rtp_streams_announced += w.rtp_streams_announced;
        self.rtp_streams_evicted += w.rtp_streams_evicted;
        self.rtp_candidates_dropped += w.rtp_candidates_dropped;
        self.expectations_evicted += w.expectations_evicted;
        if let Some(f) = &w.flows {
            let s = self.flows.get_or_insert_with(Default::default);
            s.flows += f.flows;
            s.tcp += f.tcp;
            s.udp += f.udp;
            s.evicted += f.evicted;
            s.timed_out += f.timed_out;
            s.sip_udp += f.sip_udp;
            s.sip_tcp += f.sip_tcp;
            s.tls += f.tls;
            s.collisions += f.collisions;
        }
        self.left.extend_from_slice(&w.left);
    }
}

impl CaptureStats {
    /// Add the counters of the next part of a replay (`capture::plan`): its packets came after
    /// these.
    pub fn add_part(&mut self, c: CaptureStats) {
        self.packets += c.packets;
        self.bytes += c.bytes;
        self.decoded += c.decoded;
        add_counts(&mut self.decode_errors, &c.decode_errors);
        self.queue_drops += c.queue_drops;
        self.files += c.files;
        self.file_errors.extend(c.file_errors);
        self.first_ts = self.first_ts.or(c.first_ts);
        self.last_ts = c.last_ts.or(self.last_ts);
        self.hep.add_part(&c.hep);
        self.evidence_fragments_dropped += c.evidence_fragments_dropped;
        self.left.extend(c.left);
    }
}

/// One worker's share of a periodic stats snapshot, taken at a tick; worker 0 also carries the
/// capture thread's counters as of that tick.
#[derive(Clone, Debug, Default)]
pub struct StatsPart {
    pub worker: usize,
    pub stats: WorkerStats,
    pub capture: Option<Box<CaptureSnapshot>>,
}

/// The capture thread's counters at a tick.
#[derive(Clone, Debug, Default)]
pub struct CaptureSnapshot {
    pub capture: CaptureStats,
    pub defrag: DefragStats,
    pub kernel: Option<KernelStats>,
}

/// Gathers the parts of one periodic snapshot as they arrive (worker 0 first, as events of one
/// tick are ordered by worker). A snapshot a live worker missed (its queue was full) is
/// dropped when the next one begins.
pub struct Collect {
    workers: usize,
    parts: Vec<StatsPart>,
}

impl Collect {
    pub fn new(workers: usize) -> Collect {
        Collect {
            workers,
            parts: Vec::new(),
        }
    }

    /// Add a part; the whole snapshot once every worker's part is in.
    pub fn add(&mut self, part: StatsPart) -> Option<(CaptureSnapshot, Vec<WorkerStats>)> {
        if part.worker == 0 {
            self.parts.clear();
        }
        self.parts.push(part);
        if self.parts.len() < self.workers {
            return None;
        }
        let mut parts = std::mem::take(&mut self.parts);
        let capture = parts.first_mut()?.capture.take()?;
        Some((*capture, parts.into_iter().map(|p| p.stats).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parts' HEP agents added up stay within the cap, every packet counted.
    #[test]
    fn parts_hep_agents_stay_within_the_cap() {
        let part = |from: u32| {
            let mut h = HepStats::default();
            for id in from..from + 40 {
                h.count(AgentKey::Id(id), "accepted");
                h.count(AgentKey::Id(id), "accepted");
            }
            h
        };
        let mut all = part(0);
        all.add_part(&part(1000));
        let named = all
            .by_agent
            .keys()
            .filter(|(a, _)| *a != AgentKey::Other)
            .count();
        assert_eq!(named, HEP_AGENTS_MAX);
        assert_eq!(all.total("accepted"), 160);
        assert_eq!(all.by_agent[&(AgentKey::Other, "accepted")], 32);
    }
}

//! The end-of-run report: a human summary on stderr, and a `stats` record in the EVE output.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use crate::capture::KernelStats;
use crate::decode::DefragStats;
use crate::pipeline::correlate::CorrelatorStats;
use crate::pipeline::stats::{CaptureStats, WorkerStats};

/// Sum the worker counters.
/// Everything the pipeline counted.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    pub capture: CaptureStats,
    pub defrag: DefragStats,
    pub workers: Vec<WorkerStats>,
    pub correlator: CorrelatorStats,
    pub elapsed: std::time::Duration,
}

fn worker_totals(s: &RunStats) -> WorkerStats {
    let mut t = WorkerStats::default();
    for w in &s.workers {
        t.add(w);
    }
    t
}

impl RunStats {
    /// Add the next part of a replay analysed apart (`capture::plan`): its counters are added,
    /// its state tables are those at the end.
    pub fn add_part(&mut self, p: RunStats) {
        self.capture.add_part(p.capture);
        let d = &mut self.defrag;
        d.held = p.defrag.held;
        d.bytes_held = p.defrag.bytes_held;
        d.fragments += p.defrag.fragments;
        d.completed += p.defrag.completed;
        d.timed_out += p.defrag.timed_out;
        d.evicted += p.defrag.evicted;
        d.overlaps += p.defrag.overlaps;
        d.bad += p.defrag.bad;
        d.too_long += p.defrag.too_long;
        if self.workers.len() < p.workers.len() {
            self.workers.resize(p.workers.len(), WorkerStats::default());
        }
        for (w, pw) in self.workers.iter_mut().zip(&p.workers) {
            w.add(pw);
        }
        self.correlator.add_part(p.correlator);
        self.elapsed = self.elapsed.max(p.elapsed);
    }

    /// What any stage still held when its input ended (before the end flushed it).
    pub fn left(&self) -> Vec<&'static str> {
        let mut left = self.capture.left.clone();
        for w in &self.workers {
            left.extend_from_slice(&w.left);
        }
        left.extend_from_slice(&self.correlator.left);
        left.sort_unstable();
        left.dedup();
        left
    }
}

#[derive(Serialize)]
struct StatsRecord<'a> {
    timestamp: String,
    event_type: &'static str,
    stats: StatsBody<'a>,
}

#[derive(Serialize)]
struct StatsBody<'a> {
    capture: CaptureBody<'a>,
    /// Suricata's `app_layer` counters: flows found carrying SIP (by transport) and TLS, and
    /// SIP messages (Suricata's transactions).
    app_layer: AppLayerBody,
    /// Flows tracked for `flow` records (absent when they are not written).
    #[serde(skip_serializing_if = "Option::is_none")]
    flow: Option<FlowStatsBody>,
    defrag: DefragBody,
    tcp: TcpBody,
    sip: &'a crate::pipeline::correlate::CorrelatorStats,
    calls: CallsBody,
    rtp: RtpBody,
    /// HEP copies received or found in the capture (absent when there were none).
    #[serde(skip_serializing_if = "Option::is_none")]
    hep: Option<HepBody>,
    /// The correlator's capped tables (entries, cap, evictions) at the end.
    state: &'a BTreeMap<&'static str, crate::detect::TableStats>,
    /// The evidence folder (`--pcap-dir`; absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a crate::output::evidence::EvidenceStats>,
    rules: RulesBody<'a>,
    memory: MemoryBody,
}

/// The rules in force: their folder (`null`: none was found, only the built-in signatures and
/// detectors ran) and how many signatures it held.
#[derive(Serialize)]
struct RulesBody<'a> {
    /// The base folder (the shipped rules).
    dir: Option<&'a str>,
    /// Site folders merged over it, file by file.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    overrides: &'a [String],
    signatures: usize,
    /// Rules skipped at load (Suricata rules for what the sensor does not inspect).
    #[serde(skip_serializing_if = "is_zero")]
    skipped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct MemoryBody {
    /// The process's peak resident set (VmHWM), when the system reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_rss_bytes: Option<u64>,
}

/// The process's peak resident set size, from `/proc/self/status` (Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[derive(Serialize)]
struct RtpBody {
    packets: u64,
    rtcp_packets: u64,
    streams: u64,
    announced: u64,
    evicted: u64,
    candidates_dropped: u64,
    expectations_evicted: u64,
}

#[derive(Serialize)]
struct CaptureBody<'a> {
    packets: u64,
    bytes: u64,
    decoded: u64,
    decode_errors: &'a BTreeMap<&'static str, u64>,
    queue_drops: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel_dropped: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interface_dropped: Option<u64>,
    file_errors: &'a [String],
    /// Evidence: fragments' frames not kept (`--pcap-dir`; absent when none).
    #[serde(skip_serializing_if = "is_zero_u64")]
    evidence_fragments_dropped: u64,
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct HepBody {
    accepted: u64,
    /// Copies dropped because the wire had given the message first.
    duplicate: u64,
    /// Wire datagrams dropped because a copy had given the message first.
    wire_dropped: u64,
    /// Messages the wire/HEP duplicate filter forgot early (its cap was reached).
    filter_evicted: u64,
    bad_auth: u64,
    malformed: u64,
    not_sip: u64,
    /// Packets by agent (capture id, else source address), over all outcomes.
    agents: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    listener: Option<ListenerBody>,
}

#[derive(Serialize)]
struct ListenerBody {
    udp_packets: u64,
    tcp_packets: u64,
    tcp_connections: u64,
    tcp_refused: u64,
    tcp_framing_errors: u64,
    queue_drops: u64,
}

fn hep_body(h: &crate::pipeline::stats::HepStats) -> Option<HepBody> {
    if h.by_agent.is_empty() && h.listener.is_none() {
        return None;
    }
    let mut agents = BTreeMap::new();
    for ((agent, _), n) in &h.by_agent {
        *agents.entry(agent.to_string()).or_insert(0) += n;
    }
    Some(HepBody {
        accepted: h.total("accepted"),
        duplicate: h.total("duplicate"),
        wire_dropped: h.wire_dropped,
        filter_evicted: h.dedup_evicted,
        bad_auth: h.total("bad_auth"),
        malformed: h.total("malformed"),
        not_sip: h.total("not_sip"),
        agents,
        listener: h.listener.map(|l| ListenerBody {
            udp_packets: l.udp_packets,
            tcp_packets: l.tcp_packets,
            tcp_connections: l.tcp_connections,
            tcp_refused: l.tcp_refused,
            tcp_framing_errors: l.tcp_framing_errors,
            queue_drops: l.queue_drops,
        }),
    })
}

#[derive(Serialize)]
struct DefragBody {
    completed: u64,
    timed_out: u64,
    evicted: u64,
}

#[derive(Serialize)]
struct AppLayerBody {
    flow: AppFlows,
    tx: AppTx,
}

#[derive(Serialize)]
struct AppFlows {
    sip_udp: u64,
    sip_tcp: u64,
    tls: u64,
}

#[derive(Serialize)]
struct AppTx {
    sip_udp: u64,
    sip_tcp: u64,
}

#[derive(Serialize)]
struct FlowStatsBody {
    total: u64,
    tcp: u64,
    udp: u64,
    /// Written out of a full table.
    evicted: u64,
    timed_out: u64,
}

#[derive(Serialize)]
struct TcpBody {
    flows: u64,
    flows_evicted: u64,
    gaps: u64,
    over_cap: u64,
    sip_messages: u64,
    /// Evidence (`--pcap-dir`): segments left out of a message's files (absent when none).
    #[serde(skip_serializing_if = "is_zero_u64")]
    evidence_segments_dropped: u64,
}

#[derive(Serialize)]
struct CallsBody {
    dialogs: u64,
    answered: u64,
    failed: u64,
    cancelled: u64,
    unanswered: u64,
    open_at_end: u64,
    evicted: u64,
    reinvites: u64,
}

/// Write the `stats` record (one line) to the EVE output.
pub fn write_stats_record(
    out: &mut dyn Write,
    s: &RunStats,
    kernel: Option<KernelStats>,
) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &stats_record(s, kernel))?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The `stats` record of the counters `s` (at the end of a run, or periodically).
pub fn stats_record(s: &RunStats, kernel: Option<KernelStats>) -> impl Serialize + '_ {
    let w = worker_totals(s);
    let c = &s.correlator.calls;
    let rec = StatsRecord {
        timestamp: s.capture.last_ts.unwrap_or_default().to_string(),
        event_type: "stats",
        stats: StatsBody {
            capture: CaptureBody {
                packets: s.capture.packets,
                bytes: s.capture.bytes,
                decoded: s.capture.decoded,
                decode_errors: &s.capture.decode_errors,
                queue_drops: s.capture.queue_drops,
                kernel_dropped: kernel.map(|k| k.dropped),
                interface_dropped: kernel.map(|k| k.if_dropped),
                file_errors: &s.capture.file_errors,
                evidence_fragments_dropped: s.capture.evidence_fragments_dropped,
            },
            defrag: DefragBody {
                completed: s.defrag.completed,
                timed_out: s.defrag.timed_out,
                evicted: s.defrag.evicted,
            },
            app_layer: AppLayerBody {
                flow: AppFlows {
                    sip_udp: w.flows.map_or(0, |f| f.sip_udp),
                    sip_tcp: w.flows.map_or(0, |f| f.sip_tcp),
                    tls: w.flows.map_or(0, |f| f.tls),
                },
                tx: AppTx {
                    sip_udp: w.sip_udp,
                    sip_tcp: w.sip_tcp,
                },
            },
            flow: w.flows.map(|f| FlowStatsBody {
                total: f.flows,
                tcp: f.tcp,
                udp: f.udp,
                evicted: f.evicted,
                timed_out: f.timed_out,
            }),
            tcp: TcpBody {
                flows: w.tcp_flows,
                flows_evicted: w.tcp_flows_evicted,
                gaps: w.tcp_gaps,
                over_cap: w.tcp_over_cap,
                sip_messages: w.sip_tcp,
                evidence_segments_dropped: w.tcp_evidence_segments_dropped,
            },
            sip: &s.correlator,
            rtp: RtpBody {
                packets: w.rtp_packets,
                rtcp_packets: w.rtcp_packets,
                streams: w.rtp_streams,
                announced: w.rtp_streams_announced,
                evicted: w.rtp_streams_evicted,
                candidates_dropped: w.rtp_candidates_dropped,
                expectations_evicted: w.expectations_evicted,
            },
            hep: hep_body(&s.capture.hep),
            calls: CallsBody {
                dialogs: c.dialogs,
                answered: c.answered,
                failed: c.failed,
                cancelled: c.cancelled,
                unanswered: c.unanswered,
                open_at_end: c.open_at_end,
                evicted: c.evicted,
                reinvites: c.reinvites,
            },
            state: &s.correlator.state,
            evidence: s.correlator.evidence.as_ref(),
            rules: RulesBody {
                dir: s.correlator.rules_dirs.first().map(String::as_str),
                overrides: s.correlator.rules_dirs.get(1..).unwrap_or_default(),
                signatures: s.correlator.rules_loaded,
                skipped: s.correlator.rules_skipped,
            },
            memory: MemoryBody {
                peak_rss_bytes: peak_rss_bytes(),
            },
        },
    };
    rec
}

/// The human summary printed on stderr at the end of a run.
pub fn summary(s: &RunStats, kernel: Option<KernelStats>) -> String {
    let mut o = String::new();
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let c = &s.correlator;
    let calls = &c.calls;
    let w = worker_totals(s);
    o += &format!(
        "voip-sentinel: {} packets, {} bytes in {:.3} s ({:.0} packets/s)\n",
        s.capture.packets,
        s.capture.bytes,
        secs,
        s.capture.packets as f64 / secs
    );
    let errors: u64 = s.capture.decode_errors.values().sum();
    if errors > 0 {
        let kinds: Vec<String> = s
            .capture
            .decode_errors
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        o += &format!("  not decoded: {errors} ({})\n", kinds.join(", "));
    }
    if s.capture.queue_drops > 0 {
        o += &format!("  dropped (queues full): {}\n", s.capture.queue_drops);
    }
    if let Some(k) = kernel {
        o += &format!(
            "  kernel: received {}, dropped {}, interface dropped {}\n",
            k.received, k.dropped, k.if_dropped
        );
    }
    if let Some(h) = hep_body(&s.capture.hep) {
        o += &format!(
            "  HEP: {} accepted from {} agents, {} duplicates of the wire (and {} wire datagrams of copies), {} wrong auth key, {} malformed, {} not SIP",
            h.accepted,
            h.duplicate,
            h.wire_dropped,
            h.agents.len(),
            h.bad_auth,
            h.malformed,
            h.not_sip
        );
        if let Some(l) = h.listener {
            o += &format!(
                "; listener: {} UDP, {} TCP packets over {} connections ({} refused, {} not HEP), {} dropped (queue full)",
                l.udp_packets, l.tcp_packets, l.tcp_connections, l.tcp_refused, l.tcp_framing_errors, l.queue_drops
            );
        }
        o += "\n";
    }
    let requests: u64 = c.requests.values().sum();
    let responses: u64 = c.responses.values().sum();
    o += &format!(
        "  SIP: {} messages ({} requests, {} responses; UDP {}, TCP {}, SCTP {}), {} retransmissions, {} transactions\n",
        c.messages, requests, responses, w.sip_udp, w.sip_tcp, w.sip_sctp, c.retransmissions, c.transactions
    );
    if !c.requests.is_empty() {
        // Invented methods can be kilobytes long: the summary shows their start.
        let m: Vec<String> = c
            .requests
            .iter()
            .map(|(k, v)| match k.char_indices().nth(24) {
                Some((i, _)) => format!("{}... {v}", &k[..i]),
                None => format!("{k} {v}"),
            })
            .collect();
        o += &format!("    requests: {}\n", m.join(", "));
    }
    if !c.responses.is_empty() {
        let mut classes: BTreeMap<u16, u64> = BTreeMap::new();
        for (code, n) in &c.responses {
            *classes.entry(code / 100).or_insert(0) += n;
        }
        let m: Vec<String> = classes.iter().map(|(k, v)| format!("{k}xx {v}")).collect();
        o += &format!("    responses: {}\n", m.join(", "));
    }
    let perrs: u64 = c.parse_errors.values().sum::<u64>() + c.framing_errors.values().sum::<u64>();
    if perrs > 0 {
        let m: Vec<String> = c
            .parse_errors
            .iter()
            .chain(c.framing_errors.iter())
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        o += &format!("    malformed: {perrs} ({})\n", m.join(", "));
    }
    o += &format!(
        "  calls: {} (answered {}, failed {}, cancelled {}, unanswered {}, open at end {})\n",
        calls.dialogs,
        calls.answered,
        calls.failed,
        calls.cancelled,
        calls.unanswered,
        calls.open_at_end
    );
    o += &format!(
        "  RTP: {} streams ({} announced by SDP), {} packets; RTCP {} packets\n",
        w.rtp_streams, w.rtp_streams_announced, w.rtp_packets, w.rtcp_packets
    );
    if !c.registrations.is_empty() {
        let m: Vec<String> = c
            .registrations
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        o += &format!("  registrations: {}\n", m.join(", "));
    }
    let recs: Vec<String> = c.records.iter().map(|(k, v)| format!("{k} {v}")).collect();
    o += &format!(
        "  records written: {}\n",
        if recs.is_empty() {
            "none".into()
        } else {
            recs.join(", ")
        }
    );
    let evicted: Vec<String> = s
        .correlator
        .state
        .iter()
        .filter(|(_, t)| t.evictions > 0)
        .map(|(k, t)| format!("{k} {}", t.evictions))
        .collect();
    if !evicted.is_empty() {
        o += &format!("  evicted (tables full): {}\n", evicted.join(", "));
    }
    if let Some(b) = peak_rss_bytes() {
        o += &format!("  peak memory: {:.1} MiB\n", b as f64 / (1 << 20) as f64);
    }
    o
}

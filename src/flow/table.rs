//! Flow records, as Suricata's EVE writes them (`event_type: flow`): one per UDP, TCP or SCTP
//! flow when it ends (idle past its timeout, evicted from a full table, or at the end of the
//! input), with packets and bytes each way, start and end, and what the sensor found it
//! carrying (`app_proto`: `sip`, `rtp`, `rtcp`, `tls`, `dtls`; `failed` when nothing). The
//! direction `toserver` is the first packet's. Each worker keeps the flows hashed to it, up to a
//! cap; what is evicted is written and counted.

use serde::Serialize;

use super::FlowKey;
use crate::base::fasthash::FastMap;
use crate::base::head::Head;
use crate::base::packet::{PacketCtx, Transport};
use crate::base::time::{secs, Ts};

/// What a flow carries, as found by the sensor. Only ever upgraded from `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AppProto {
    Unknown,
    Sip,
    Rtp,
    Rtcp,
    Tls,
    Dtls,
}

impl AppProto {
    /// Suricata's word (`failed`: no protocol was recognised).
    pub fn name(self) -> &'static str {
        match self {
            AppProto::Unknown => "failed",
            AppProto::Sip => "sip",
            AppProto::Rtp => "rtp",
            AppProto::Rtcp => "rtcp",
            AppProto::Tls => "tls",
            AppProto::Dtls => "dtls",
        }
    }
}

/// Flow timeouts in packet time (Suricata's defaults: UDP new 30 s, established 300 s; TCP new
/// 60 s, established 600 s, closed 60 s) and the table's cap.
#[derive(Clone, Debug)]
pub struct FlowConfig {
    pub max: usize,
    pub udp_new_ns: u64,
    pub udp_established_ns: u64,
    pub tcp_new_ns: u64,
    pub tcp_established_ns: u64,
    pub tcp_closed_ns: u64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max: 65_536,
            udp_new_ns: secs(30),
            udp_established_ns: secs(300),
            tcp_new_ns: secs(60),
            tcp_established_ns: secs(600),
            tcp_closed_ns: secs(60),
        }
    }
}

struct Entry {
    key: FlowKey,
    first_seq: u64,
    first: Ts,
    last: Ts,
    /// Whether the first packet went from the key's lo side to its hi side.
    lo_first: bool,
    /// [to server, to client].
    pkts: [u64; 2],
    bytes: [u64; 2],
    app: AppProto,
    /// SIP messages seen on the flow (Suricata's `tx_cnt`).
    sip_messages: u64,
    /// TCP FIN or RST seen.
    closing: bool,
}

/// The `flow` object.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct FlowBody {
    pub pkts_toserver: u64,
    pub pkts_toclient: u64,
    pub bytes_toserver: u64,
    pub bytes_toclient: u64,
    pub start: String,
    pub end: String,
    /// Seconds from start to end.
    pub age: u64,
    /// `new` (one way only), `established` (both ways), `closed` (TCP FIN or RST seen).
    pub state: &'static str,
    /// `timeout`, `forced` (evicted from a full table) or `shutdown` (end of input).
    pub reason: &'static str,
    /// SIP messages on the flow.
    #[serde(skip_serializing_if = "is_zero")]
    pub tx_cnt: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A whole `flow` record.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    pub head: Head,
    pub flow: FlowBody,
    /// For a stable order among flows ended at one tick.
    pub order_key: u64,
    /// The capture position of the flow's first packet (for its file or interface).
    pub first_seq: u64,
}
crate::serialize_with_head!(FlowRecord { flow });

/// Counters of the flow table.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowCounters {
    pub flows: u64,
    pub tcp: u64,
    pub udp: u64,
    pub evicted: u64,
    pub timed_out: u64,
    /// Flows found carrying SIP, by transport (Suricata's `app_layer.flow.sip_udp` ...).
    pub sip_udp: u64,
    pub sip_tcp: u64,
    pub tls: u64,
    /// Packets of a flow whose hash another flow of the table has (not counted).
    pub collisions: u64,
}

/// One worker's flows, by the flow's hash (computed once on the capture thread: a lookup
/// hashes a word and compares a word, not the addresses), each entry holding its key.
pub struct FlowTable {
    cfg: FlowConfig,
    flows: FastMap<u64, Entry>,
    pub counters: FlowCounters,
}

impl FlowTable {
    pub fn new(cfg: FlowConfig) -> FlowTable {
        FlowTable {
            cfg,
            flows: FastMap::default(),
            counters: FlowCounters::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Count a packet of `ip_len` bytes going lo -> hi (`forward`) or back (`tcp_flags` for
    /// TCP), which the worker found carrying `app` (`Unknown`: nothing yet). One lookup for a
    /// known flow. A full table first writes out its least recently seen flows into `ended`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_packet(
        &mut self,
        (key, hash): (&FlowKey, u64),
        forward: bool,
        (seq, ts): (u64, Ts),
        ip_len: u32,
        tcp_flags: Option<u8>,
        app: AppProto,
        ended: &mut Vec<FlowRecord>,
    ) {
        let counters = &mut self.counters;
        if let Some(e) = self.flows.get_mut(&hash) {
            if e.key != *key {
                counters.collisions += 1;
                return;
            }
            let dir = usize::from(forward != e.lo_first);
            e.pkts[dir] += 1;
            e.bytes[dir] += u64::from(ip_len);
            e.last = e.last.max(ts);
            if tcp_flags.is_some_and(|f| f & 0x05 != 0) {
                e.closing = true;
            }
            found_in(e, app, counters);
            return;
        }
        if self.flows.len() >= self.cfg.max {
            self.evict(ended);
        }
        let counters = &mut self.counters;
        counters.flows += 1;
        match key.transport {
            Transport::Tcp => counters.tcp += 1,
            Transport::Udp => counters.udp += 1,
            Transport::Sctp => {}
        }
        let mut e = Entry {
            key: *key,
            first_seq: seq,
            first: ts,
            last: ts,
            lo_first: forward,
            pkts: [1, 0],
            bytes: [u64::from(ip_len), 0],
            app: AppProto::Unknown,
            sip_messages: 0,
            closing: tcp_flags.is_some_and(|f| f & 0x05 != 0),
        };
        found_in(&mut e, app, counters);
        self.flows.insert(hash, e);
    }

    /// What the flow was found to carry after its packet was counted (TCP: a SIP message or a
    /// TLS hello out of the stream).
    pub fn found(&mut self, (key, hash): (&FlowKey, u64), app: AppProto) {
        if let Some(e) = self.flows.get_mut(&hash).filter(|e| e.key == *key) {
            found_in(e, app, &mut self.counters);
        }
    }

    fn timeout(&self, e: &Entry) -> u64 {
        let both = e.pkts[0] > 0 && e.pkts[1] > 0;
        match e.key.transport {
            Transport::Tcp if e.closing => self.cfg.tcp_closed_ns,
            Transport::Tcp if both => self.cfg.tcp_established_ns,
            Transport::Tcp => self.cfg.tcp_new_ns,
            _ if both => self.cfg.udp_established_ns,
            _ => self.cfg.udp_new_ns,
        }
    }

    /// Write out the flows idle past their timeout (every flow when `all`: the input ended), in
    /// a stable order.
    pub fn expire(&mut self, now: Ts, all: bool, ended: &mut Vec<FlowRecord>) {
        let mut done: Vec<u64> = self
            .flows
            .iter()
            .filter(|(_, e)| all || now.since(e.last) >= self.timeout(e))
            .map(|(h, _)| *h)
            .collect();
        // In the order the merge of the workers' events keeps (by flow hash).
        done.sort_unstable();
        let reason = if all { "shutdown" } else { "timeout" };
        for h in done {
            if let Some(e) = self.flows.remove(&h) {
                if !all {
                    self.counters.timed_out += 1;
                }
                ended.push(record(h, &e, reason));
            }
        }
    }

    /// Write out and drop the least recently seen sixty-fourth of a full table.
    fn evict(&mut self, ended: &mut Vec<FlowRecord>) {
        let len = self.flows.len();
        let oldest = crate::base::evict::oldest(self.flows.iter(), len, |_, e| e.last);
        for h in oldest {
            if let Some(e) = self.flows.remove(&h) {
                self.counters.evicted += 1;
                ended.push(record(h, &e, "forced"));
            }
        }
    }
}

/// One more finding on a flow: the first protocol found stays; a SIP message is counted.
fn found_in(e: &mut Entry, app: AppProto, counters: &mut FlowCounters) {
    if app == AppProto::Unknown {
        return;
    }
    if app == AppProto::Sip {
        e.sip_messages += 1;
    }
    if e.app == AppProto::Unknown {
        e.app = app;
        match (app, e.key.transport) {
            (AppProto::Sip, Transport::Tcp) => counters.sip_tcp += 1,
            (AppProto::Sip, _) => counters.sip_udp += 1,
            (AppProto::Tls, _) => counters.tls += 1,
            _ => {}
        }
    }
}

fn record(hash: u64, e: &Entry, reason: &'static str) -> FlowRecord {
    let k = &e.key;
    let (src, sport, dst, dport) = if e.lo_first {
        (k.lo_ip, k.lo_port, k.hi_ip, k.hi_port)
    } else {
        (k.hi_ip, k.hi_port, k.lo_ip, k.lo_port)
    };
    let ctx = PacketCtx {
        ts: e.first,
        src,
        dst,
        sport,
        dport,
        transport: k.transport,
        vlan: k.vlan,
        flow_id: super::flow_id_of(hash),
        agent: None,
    };
    let mut head = Head::at(e.first, &ctx, "flow");
    head.app_proto = Some(e.app.name().into());
    let state = if k.transport == Transport::Tcp && e.closing {
        "closed"
    } else if e.pkts[0] > 0 && e.pkts[1] > 0 {
        "established"
    } else {
        "new"
    };
    FlowRecord {
        head,
        flow: FlowBody {
            pkts_toserver: e.pkts[0],
            pkts_toclient: e.pkts[1],
            bytes_toserver: e.bytes[0],
            bytes_toclient: e.bytes[1],
            start: e.first.to_string(),
            end: e.last.to_string(),
            age: e.last.since(e.first) / 1_000_000_000,
            state,
            reason,
            tx_cnt: e.sip_messages,
        },
        order_key: hash,
        first_seq: e.first_seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn key(a: &str, ap: u16, b: &str, bp: u16) -> (FlowKey, bool) {
        FlowKey::new(
            a.parse::<IpAddr>().unwrap(),
            ap,
            b.parse::<IpAddr>().unwrap(),
            bp,
            Transport::Udp,
            None,
        )
    }

    #[test]
    fn directions_timeouts_and_the_cap() {
        let mut t = FlowTable::new(FlowConfig {
            max: 2,
            ..FlowConfig::default()
        });
        let mut out = Vec::new();
        let (k, fwd) = key("10.0.0.2", 5060, "10.0.0.1", 5060);
        t.on_packet(
            (&k, k.stable_hash()),
            fwd,
            (1, Ts(1_000_000_000)),
            500,
            None,
            AppProto::Unknown,
            &mut out,
        );
        t.on_packet(
            (&k, k.stable_hash()),
            !fwd,
            (1, Ts(2_000_000_000)),
            300,
            None,
            AppProto::Unknown,
            &mut out,
        );
        t.on_packet(
            (&k, k.stable_hash()),
            fwd,
            (1, Ts(3_000_000_000)),
            400,
            None,
            AppProto::Unknown,
            &mut out,
        );
        t.found((&k, k.stable_hash()), AppProto::Sip);
        t.found((&k, k.stable_hash()), AppProto::Rtp);
        t.found((&k, k.stable_hash()), AppProto::Sip);
        // Idle 299 s: kept; 300 s: written.
        t.expire(Ts(302_000_000_000), false, &mut out);
        assert!(out.is_empty());
        t.expire(Ts(303_000_000_000), false, &mut out);
        let r = out.pop().unwrap();
        assert_eq!(
            (r.head.src_ip.to_string(), r.head.dest_ip.to_string()),
            ("10.0.0.2".into(), "10.0.0.1".into())
        );
        assert_eq!((r.flow.pkts_toserver, r.flow.pkts_toclient), (2, 1));
        assert_eq!((r.flow.bytes_toserver, r.flow.bytes_toclient), (900, 300));
        assert_eq!(
            (r.flow.state, r.flow.reason, r.flow.age, r.flow.tx_cnt),
            ("established", "timeout", 2, 2)
        );
        assert_eq!(r.head.app_proto.as_deref(), Some("sip"));
        assert_eq!((t.counters.sip_udp, t.counters.timed_out), (1, 1));
        // A one-way flow ends after 30 s; a third flow over the cap evicts the oldest.
        let (a, fa) = key("10.0.0.3", 1000, "10.0.0.4", 2000);
        let (b, fb) = key("10.0.0.5", 1000, "10.0.0.6", 2000);
        let (c, fc) = key("10.0.0.7", 1000, "10.0.0.8", 2000);
        t.on_packet(
            (&a, a.stable_hash()),
            fa,
            (1, Ts(400_000_000_000)),
            100,
            None,
            AppProto::Unknown,
            &mut out,
        );
        t.on_packet(
            (&b, b.stable_hash()),
            fb,
            (1, Ts(401_000_000_000)),
            100,
            None,
            AppProto::Unknown,
            &mut out,
        );
        t.on_packet(
            (&c, c.stable_hash()),
            fc,
            (1, Ts(402_000_000_000)),
            100,
            None,
            AppProto::Unknown,
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].flow.reason, out[0].head.app_proto.as_deref()),
            ("forced", Some("failed"))
        );
        assert_eq!(t.counters.evicted, 1);
        out.clear();
        t.expire(Ts(431_000_000_000), false, &mut out);
        assert_eq!(out.len(), 1, "b idle 30 s, c 29 s");
        t.expire(Ts(431_000_000_000), true, &mut out);
        assert_eq!(out.last().unwrap().flow.reason, "shutdown");
        assert!(t.is_empty());
    }
}

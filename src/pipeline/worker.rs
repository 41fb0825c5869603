//! A worker: owns the flows hashed to it. It reassembles TCP streams, finds SIP messages in
//! datagrams and streams, and sends them, in capture order, to the correlator.

use crate::base::fasthash::FastMap;

use crossbeam_channel::{Receiver, Sender};
use std::sync::Arc;

use super::batch::{Batch, PacketMeta};
use super::event::{Chunk, Event, EventKind, Job, Order};
use super::sip_read::SipReader;
use super::stats::{StatsPart, WorkerStats};
use super::watchdog::{Doing, Heartbeat};
use crate::base::packet::{PacketCtx, Transport, WireFrame};
use crate::base::time::Ts;
use crate::decode::sctp_data_chunks;
use crate::flow::table::{AppProto, FlowConfig, FlowTable};
use crate::flow::tcp::{TcpStream, FIN, RST};
use crate::flow::tls::{self, probe_dtls};
use crate::flow::websocket;
use crate::flow::FlowKey;
use crate::media::expect::Expectations;
use crate::media::rtp::{classify, parse_rtcp, parse_rtp, Kind, RtpInfo};
use crate::media::streams::{Seen as StreamSeen, StreamConfig, StreamKey, Streams};
use crate::sip::framing::{frame_len, resync, skip_keepalive, Frame};
use crate::sip::parser::looks_like_sip;

thread_local! {
    /// The capture position of the packet this thread is working on, for the panic report.
    pub static CURRENT_PACKET: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A flow's DTLS hellos are reported once an hour at most.
const DTLS_HELLO_MEMORY_NS: u64 = 3600 * 1_000_000_000;

/// Limits of a worker's state.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// TCP flows tracked at most; the least recently seen is evicted beyond it.
    pub max_tcp_flows: usize,
    /// A TCP flow without packets for this long (packet time) is closed.
    pub tcp_idle_ns: u64,
    /// Bytes of a TCP direction inspected before deciding that it does not carry SIP.
    pub tcp_probe_bytes: usize,
    pub streams: StreamConfig,
    /// Flow records (`None`: not written, flows not tracked).
    pub flows: Option<FlowConfig>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            max_tcp_flows: 65_536,
            tcp_idle_ns: crate::base::time::secs(600),
            tcp_probe_bytes: 4096,
            streams: StreamConfig::default(),
            flows: Some(FlowConfig::default()),
        }
    }
}

/// Counters as last published to the metrics.
#[derive(Clone, Copy, Debug, Default)]
struct Published {
    rtp_packets: u64,
    rtcp_packets: u64,
    tcp_flows: i64,
    streams: i64,
    expectations: i64,
    tcp_evicted: u64,
    streams_evicted: u64,
    expect_evicted: u64,
    flows: i64,
    flows_evicted: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum DirKind {
    Unknown,
    Sip,
    /// SIP over WebSocket (RFC 7118), after the HTTP upgrade.
    WebSocket,
    Other,
}

struct TcpDir {
    stream: TcpStream,
    kind: DirKind,
    probed: usize,
    /// A WebSocket message being put together from its frames.
    ws_msg: Vec<u8>,
    /// Evidence (`--pcap-dir`): the captured segments since the last message ended, for the
    /// next message to take (at most `MAX_PENDING_FRAMES`, the oldest dropped first).
    frames: Vec<Arc<WireFrame>>,
}

/// Segments a TCP direction keeps for the message they carry (a SIP message spans a few).
const MAX_PENDING_FRAMES: usize = 32;

impl TcpDir {
    fn new() -> TcpDir {
        TcpDir {
            stream: TcpStream::new(),
            kind: DirKind::Unknown,
            probed: 0,
            ws_msg: Vec::new(),
            frames: Vec::new(),
        }
    }
}

struct TcpFlow {
    /// Index 0: packets going lo -> hi; 1: hi -> lo.
    dirs: [TcpDir; 2],
    last_ts: Ts,
}

pub struct Worker {
    /// Worker 0 also forwards ticks to the correlator.
    index: usize,
    cfg: WorkerConfig,
    expect: Expectations,
    streams: Streams,
    metrics: Option<std::sync::Arc<crate::output::metrics::Metrics>>,
    /// What was last published to the metrics.
    published: Published,
    /// Flows (and hello kinds) whose DTLS hello was reported: once each.
    dtls_seen: FastMap<(FlowKey, bool), Ts>,
    tcp: FastMap<FlowKey, TcpFlow>,
    /// Every flow, for its `flow` record (when they are written).
    flows: Option<FlowTable>,
    stats: WorkerStats,
    events: Vec<Event>,
    /// Event lists the merge emptied, to fill again.
    lists: Option<Receiver<Vec<Event>>>,
    /// Parses SIP and matches the signatures.
    sip: SipReader,
    /// Signs of life for the watchdog.
    heart: std::sync::Arc<Heartbeat>,
}

impl Worker {
    pub fn new(
        index: usize,
        cfg: WorkerConfig,
        metrics: Option<std::sync::Arc<crate::output::metrics::Metrics>>,
        rules: std::sync::Arc<crate::detect::rules::RuleSet>,
        recycled: Receiver<Box<super::event::SipSeen>>,
    ) -> Worker {
        Worker {
            metrics,
            published: Published::default(),
            index,
            // Two announced endpoints per call (offer and answer), every worker gets them all:
            // 262,144 holds 100,000 concurrent calls with room (about 64 bytes each). At 65,536
            // the media of a third of 100,000 synthetic calls went unannounced.
            expect: Expectations::new(262_144, crate::base::time::secs(7200)),
            streams: Streams::new(cfg.streams.clone()),
            dtls_seen: FastMap::default(),
            flows: cfg.flows.clone().map(FlowTable::new),
            cfg,
            tcp: FastMap::default(),
            stats: WorkerStats::default(),
            events: Vec::new(),
            lists: None,
            sip: SipReader::new(rules, recycled),
            heart: std::sync::Arc::default(),
        }
    }

    /// Report signs of life to `heart` (watched by the watchdog).
    pub fn with_heart(mut self, heart: std::sync::Arc<Heartbeat>) -> Worker {
        self.heart = heart;
        self
    }

    /// Take event lists the merge has emptied, to fill again.
    pub fn with_event_lists(mut self, lists: Receiver<Vec<Event>>) -> Worker {
        self.lists = Some(lists);
        self
    }

    /// Run until the job queue closes; returns the counters.
    pub fn run(
        mut self,
        jobs: Receiver<Job>,
        out: Sender<Chunk>,
        recycle: Sender<Batch>,
    ) -> WorkerStats {
        let mut mark = Order::default();
        for job in jobs {
            self.heart.doing(Doing::Working);
            match job {
                Job::Packets(mut batch) => {
                    if let Some(first) = batch.metas.first() {
                        self.heart.at_packet(first.seq);
                    }
                    for i in 0..batch.metas.len() {
                        let m = batch.metas[i];
                        CURRENT_PACKET.with(|c| c.set(m.seq));
                        let frames = batch.frames(&m).into_iter().map(Arc::new).collect();
                        self.packet(&m, batch.payload(&m), frames);
                    }
                    if let Some(last) = batch.metas.last() {
                        mark = mark.max(Order::mark(last.seq, false));
                    }
                    batch.clear();
                    // The pool may be full (the capture thread made extra batches): then drop it.
                    let _ = recycle.try_send(batch);
                }
                Job::Watermark(seq) => mark = mark.max(Order::mark(seq, false)),
                Job::Tick { seq, now } => {
                    self.expire(seq, now, false);
                    self.publish();
                    self.forward(seq, EventKind::Tick { now });
                    mark = mark.max(Order::mark(seq, true));
                }
                Job::Stats { seq, capture } => {
                    self.sync_stats();
                    self.events.push(Event {
                        order: Order {
                            seq,
                            phase: 3,
                            key: self.index as u64,
                            idx: 0,
                        },
                        kind: EventKind::Stats(Box::new(StatsPart {
                            worker: self.index,
                            stats: self.stats.clone(),
                            capture,
                        })),
                    });
                    mark = mark.max(Order::stats_mark(seq));
                }
                Job::Expect { list, now } => self.expect.insert(&list, now),
                Job::HepRtcp { seq, ctx, packets } => {
                    self.stats.rtcp_packets += 1;
                    let order = Order::packet(seq, 0);
                    self.push(order, EventKind::Rtcp { ctx, packets });
                    mark = mark.max(Order::mark(seq, false));
                }
                Job::Rules(rules) => self.sip.set_rules(rules),
                Job::Reload { seq, reload } => self.forward(seq, EventKind::Reload(reload)),
                Job::Flush { seq, now } => {
                    for (n, what) in [
                        (self.streams.len(), "rtp_streams"),
                        (self.expect.len(), "media_expectations"),
                        (self.tcp.len(), "tcp_streams"),
                        (self.flows.as_ref().map_or(0, |f| f.len()), "flows"),
                        (self.dtls_seen.len(), "dtls_hellos"),
                    ] {
                        if n > 0 {
                            self.stats.left.push(what);
                        }
                    }
                    self.expire(seq, now, true);
                    self.publish();
                    self.forward(seq, EventKind::Flush { now });
                    mark = mark.max(Order::mark(seq, true));
                }
            }
            // The next list starts with room for as many events as this one had (growing
            // from empty cost a few reallocations a batch); none after a batch without events
            // (the RTP path allocates nothing).
            let room = match self.events.len() {
                0 => 0,
                n => n.next_power_of_two(),
            };
            let next = match self.lists.as_ref().and_then(|l| l.try_recv().ok()) {
                Some(mut list) if room > 0 => {
                    list.reserve(room);
                    list
                }
                Some(list) => list,
                None => Vec::with_capacity(room),
            };
            let events = std::mem::replace(&mut self.events, next);
            self.heart.doing(Doing::Handing);
            if out.send(Chunk { events, mark }).is_err() {
                break;
            }
            self.heart.beat();
            self.heart.doing(Doing::Waiting);
        }
        self.sync_stats();
        self.stats
    }

    /// Copy the counters kept by the stream table and expectations into `stats`.
    fn sync_stats(&mut self) {
        let c = &self.streams.counters;
        self.stats.rtp_packets = c.rtp_packets;
        self.stats.rtp_streams = c.streams;
        self.stats.rtp_streams_announced = c.announced;
        self.stats.rtp_streams_evicted = c.evicted;
        self.stats.rtp_candidates_dropped = c.candidates_dropped;
        self.stats.expectations_evicted = self.expect.evicted;
        self.stats.flows = self.flows.as_ref().map(|t| t.counters);
    }

    /// Add what this worker counted since the last time to the metrics (gauges of table
    /// sizes move by this worker's difference, so they sum over workers).
    fn publish(&mut self) {
        let Some(m) = &self.metrics else { return };
        let c = &self.streams.counters;
        let now = Published {
            rtp_packets: c.rtp_packets,
            rtcp_packets: self.stats.rtcp_packets,
            tcp_flows: self.tcp.len() as i64,
            streams: self.streams.len() as i64,
            expectations: self.expect.len() as i64,
            tcp_evicted: self.stats.tcp_flows_evicted,
            flows: self.flows.as_ref().map_or(0, |t| t.len() as i64),
            flows_evicted: self.flows.as_ref().map_or(0, |t| t.counters.evicted),
            streams_evicted: c.evicted,
            expect_evicted: self.expect.evicted,
        };
        let p = &self.published;
        m.rtp_packets_total.inc_by(now.rtp_packets - p.rtp_packets);
        m.rtcp_packets_total
            .inc_by(now.rtcp_packets - p.rtcp_packets);
        m.state_entries
            .with_label_values(&["tcp_flows"])
            .add(now.tcp_flows - p.tcp_flows);
        m.state_entries
            .with_label_values(&["rtp_streams"])
            .add(now.streams - p.streams);
        m.rtp_streams_active.add(now.streams - p.streams);
        m.state_entries
            .with_label_values(&["expectations"])
            .add(now.expectations - p.expectations);
        m.state_evictions_total
            .with_label_values(&["tcp_flows"])
            .inc_by(now.tcp_evicted - p.tcp_evicted);
        m.state_evictions_total
            .with_label_values(&["rtp_streams"])
            .inc_by(now.streams_evicted - p.streams_evicted);
        m.state_evictions_total
            .with_label_values(&["expectations"])
            .inc_by(now.expect_evicted - p.expect_evicted);
        m.state_entries
            .with_label_values(&["flows"])
            .add(now.flows - p.flows);
        m.state_evictions_total
            .with_label_values(&["flows"])
            .inc_by(now.flows_evicted - p.flows_evicted);
        self.published = now;
    }

    /// Worker 0 hands ticks on to the correlator, after every tick event of any worker
    /// (phase 2 sorts after phase 1).
    fn forward(&mut self, seq: u64, kind: EventKind) {
        if self.index == 0 {
            self.events.push(Event {
                order: Order {
                    seq,
                    phase: 2,
                    key: 0,
                    idx: 0,
                },
                kind,
            });
        }
    }

    /// Count the packet on its flow (not a HEP copy: no wire flow), with what it was found to
    /// carry; a full table writes out its oldest flows.
    fn count_flow(&mut self, m: &PacketMeta, app: AppProto) {
        let Some(t) = self.flows.as_mut() else {
            return;
        };
        // A SIP datagram is counted by its flow's worker, from its `count_only` copy.
        if m.agent.is_some() || m.sip {
            return;
        }
        let mut ended: Vec<crate::flow::table::FlowRecord> = Vec::new();
        t.on_packet(
            (&m.key, m.flow_hash),
            m.forward,
            (m.seq, m.ts),
            m.ip_len,
            m.tcp.map(|t| t.flags),
            app,
            &mut ended,
        );
        if ended.is_empty() {
            return;
        }
        ended.sort_by_key(|r| r.order_key);
        for r in ended {
            let key = r.order_key;
            self.push(
                Order {
                    seq: m.seq,
                    phase: 0,
                    key,
                    idx: u32::MAX,
                },
                EventKind::Flow(Box::new(r)),
            );
        }
    }

    /// What the packet's flow was found to carry, after the packet was counted.
    fn found(&mut self, m: &PacketMeta, app: AppProto) {
        if let Some(t) = self.flows.as_mut() {
            t.found((&m.key, m.flow_hash), app);
        }
    }

    /// One packet; `frames` are those that carried it, when evidence is kept.
    fn packet(&mut self, m: &PacketMeta, payload: &[u8], frames: Vec<Arc<WireFrame>>) {
        if m.count_only {
            self.count_flow(m, AppProto::Sip);
            return;
        }
        self.stats.packets += 1;
        match m.transport() {
            Transport::Udp => {
                self.stats.udp_packets += 1;
                if m.sip {
                    // Counted on its flow by the flow's worker (`count_only`).
                    self.stats.sip_udp += 1;
                    self.emit_sip(m, 0, payload, frames);
                } else {
                    // Counted after it was read: what it carried is known then, in one lookup.
                    let app = self.datagram(m, payload, frames);
                    self.count_flow(m, app);
                }
            }
            Transport::Sctp => {
                self.stats.sctp_packets += 1;
                self.count_flow(m, AppProto::Unknown);
                let mut idx = 0;
                for chunk in sctp_data_chunks(payload) {
                    if looks_like_sip(chunk) {
                        self.found(m, AppProto::Sip);
                        self.stats.sip_sctp += 1;
                        self.emit_sip(m, idx, chunk, frames.clone());
                        idx += 1;
                    }
                }
            }
            Transport::Tcp => {
                self.stats.tcp_packets += 1;
                self.count_flow(m, AppProto::Unknown);
                self.tcp_segment(m, payload, frames);
            }
        }
    }

    /// A UDP datagram that is not SIP: RTP, RTCP or a DTLS hello, read; what it was found to be.
    fn datagram(
        &mut self,
        m: &PacketMeta,
        payload: &[u8],
        frames: Vec<Arc<WireFrame>>,
    ) -> AppProto {
        match classify(payload) {
            Kind::Rtp => {
                let Some(info) = parse_rtp(payload) else {
                    return AppProto::Unknown;
                };
                let end = (info.header_len + info.payload_len).min(payload.len());
                let body = payload.get(info.header_len..end).unwrap_or(&[]);
                self.rtp_packet(m, &info, body, frames);
                AppProto::Rtp
            }
            Kind::Dtls => {
                let Some(hello) = probe_dtls(payload) else {
                    return AppProto::Unknown;
                };
                let seen = (
                    m.key,
                    hello.kind == crate::flow::tls::HelloKind::ServerHello,
                );
                if self.dtls_seen.len() < 65_536 && !self.dtls_seen.contains_key(&seen) {
                    self.dtls_seen.insert(seen, m.ts);
                    let order = Order::packet(m.seq, 0);
                    self.push(
                        order,
                        EventKind::Tls {
                            ctx: ctx_of(m),
                            hello: Box::new(hello),
                            dtls: true,
                        },
                    );
                }
                AppProto::Dtls
            }
            Kind::Rtcp => {
                let packets = parse_rtcp(payload);
                if packets.is_empty() {
                    return AppProto::Unknown;
                }
                self.stats.rtcp_packets += 1;
                let order = Order::packet(m.seq, 0);
                self.push(
                    order,
                    EventKind::Rtcp {
                        ctx: ctx_of(m),
                        packets,
                    },
                );
                AppProto::Rtcp
            }
            _ => AppProto::Unknown,
        }
    }

    fn rtp_packet(
        &mut self,
        m: &PacketMeta,
        info: &RtpInfo,
        body: &[u8],
        frames: Vec<Arc<WireFrame>>,
    ) {
        let key = StreamKey {
            flow: m.key,
            forward: m.forward,
            ssrc: info.ssrc,
        };
        let ctx = ctx_of(m);
        let mut ended = Vec::new();
        // Expectations only matter for a stream's first packet: no lookup for the others.
        let expect = &self.expect;
        let seen = self.streams.on_packet(
            key,
            &ctx,
            info,
            body,
            || expect.find(m.dst(), m.src()),
            &mut ended,
        );
        let order = |idx| Order::packet(m.seq, idx);
        let mut idx = 0u32;
        for e in ended {
            self.push(order(idx), EventKind::RtpEnd(Box::new(e)));
            idx += 1;
        }
        let kind = match seen {
            StreamSeen::Started {
                ssrc,
                payload_type,
                announced,
            } => Some(EventKind::RtpStart {
                ctx,
                ssrc,
                payload_type,
                announced,
            }),
            StreamSeen::Flood {
                ssrc,
                packets,
                in_last_second,
                since,
            } => Some(EventKind::RtpFlood {
                ctx,
                ssrc,
                packets,
                in_last_second,
                since,
            }),
            StreamSeen::Counted | StreamSeen::Candidate => None,
        };
        if let Some(kind) = kind {
            self.push(order(idx), kind);
            idx += 1;
        }
        // For the pcap file of its call (`--pcap-calls`): after the stream's start, so that
        // the correlator knows the stream's call when it gets the frame.
        for frame in frames {
            self.push(
                order(idx),
                EventKind::MediaFrame {
                    ctx,
                    ssrc: info.ssrc,
                    frame,
                },
            );
            idx += 1;
        }
    }

    fn push(&mut self, order: Order, kind: EventKind) {
        self.events.push(Event { order, kind });
    }

    fn emit_sip(&mut self, m: &PacketMeta, idx: u32, bytes: &[u8], frames: Vec<Arc<WireFrame>>) {
        let mut kind = self.sip.read(ctx_of(m), m.seq, bytes);
        if !frames.is_empty() {
            give_frames(&mut kind, frames);
        }
        self.events.push(Event {
            order: Order::packet(m.seq, idx),
            kind,
        });
    }

    fn tcp_segment(&mut self, m: &PacketMeta, payload: &[u8], frames: Vec<Arc<WireFrame>>) {
        let Some(tcp) = m.tcp else { return };
        if !self.tcp.contains_key(&m.key) {
            if self.tcp.len() >= self.cfg.max_tcp_flows {
                self.evict_oldest_tcp();
            }
            self.stats.tcp_flows += 1;
            self.tcp.insert(
                m.key,
                TcpFlow {
                    dirs: [TcpDir::new(), TcpDir::new()],
                    last_ts: m.ts,
                },
            );
        }
        let probe_limit = self.cfg.tcp_probe_bytes;
        let flow = self.tcp.get_mut(&m.key).expect("inserted above");
        flow.last_ts = flow.last_ts.max(m.ts);
        let dir = &mut flow.dirs[if m.forward { 0 } else { 1 }];
        if dir.kind == DirKind::Other {
            return;
        }
        let outcome = dir.stream.on_segment(tcp.seq, tcp.flags, payload);
        if matches!(outcome, crate::flow::tcp::SegmentOutcome::OverCap) {
            self.stats.tcp_over_cap += 1;
        }
        let ctx = ctx_of(m);
        let mut out = Vec::new();
        let closing = tcp.flags & (FIN | RST) != 0;
        let reader = (&self.sip, m.seq);
        Self::drain_sip(
            dir,
            probe_limit,
            &ctx,
            reader,
            &mut out,
            &mut self.stats,
            closing,
        );
        // Segments without payload (handshake, bare ACKs) carry no part of a message.
        if !frames.is_empty() && !payload.is_empty() {
            self.stats.tcp_evidence_segments_dropped += attach_segments(dir, frames, &mut out);
        }
        for (idx, kind) in out.into_iter().enumerate() {
            match kind {
                EventKind::Sip(_) | EventKind::SipError { .. } => self.found(m, AppProto::Sip),
                EventKind::Tls { .. } => self.found(m, AppProto::Tls),
                _ => {}
            }
            self.events.push(Event {
                order: Order::packet(m.seq, idx as u32),
                kind,
            });
        }
    }

    /// Frame as many SIP messages as the stream holds.
    fn drain_sip(
        dir: &mut TcpDir,
        probe_limit: usize,
        ctx: &PacketCtx,
        (reader, seq): (&SipReader, u64),
        out: &mut Vec<EventKind>,
        stats: &mut WorkerStats,
        closing: bool,
    ) {
        loop {
            let data = dir.stream.data();
            if data.is_empty() {
                if dir.stream.has_gap() && closing {
                    stats.tcp_gaps += 1;
                    dir.stream.skip_gap();
                    continue;
                }
                return;
            }
            if dir.kind == DirKind::Unknown && websocket::may_be_upgrade(data) {
                if let Some(n) = websocket::upgrade_len(data) {
                    dir.stream.consume(n);
                    dir.kind = DirKind::WebSocket;
                    continue;
                }
                let header_done = memchr::memmem::find(data, b"\r\n\r\n").is_some();
                if header_done || data.len() >= probe_limit {
                    // HTTP, but not an upgrade: not SIP.
                    dir.kind = DirKind::Other;
                    let n = data.len();
                    dir.stream.consume(n);
                }
                return;
            }
            if dir.kind == DirKind::WebSocket {
                Self::drain_ws(dir, ctx, (reader, seq), out, stats);
                return;
            }
            if dir.kind == DirKind::Unknown && data[0] == 0x16 {
                match tls::probe(data) {
                    tls::Probe::NeedMore if data.len() < probe_limit => return,
                    tls::Probe::Tls(hello) => {
                        out.push(EventKind::Tls {
                            ctx: *ctx,
                            hello: Box::new(hello),
                            dtls: false,
                        });
                        dir.kind = DirKind::Other;
                        let n = data.len();
                        dir.stream.consume(n);
                        return;
                    }
                    _ => {}
                }
            }
            if dir.kind == DirKind::Unknown {
                // Decide whether this direction carries SIP: at a message start, or (picked up
                // mid-stream) at the next start line within the first bytes.
                if looks_like_sip(data) {
                    dir.kind = DirKind::Sip;
                } else if let Some(off) = resync(data) {
                    dir.probed += off;
                    dir.stream.consume(off);
                    dir.kind = DirKind::Sip;
                    continue;
                } else {
                    dir.probed += data.len();
                    if dir.probed >= probe_limit || data.len() >= probe_limit {
                        dir.kind = DirKind::Other;
                        let n = data.len();
                        dir.stream.consume(n);
                    }
                    return;
                }
            }
            let ka = skip_keepalive(data);
            if ka > 0 {
                dir.stream.consume(ka);
                continue;
            }
            match frame_len(data) {
                Frame::Complete(n) => {
                    let n = n.min(data.len());
                    stats.sip_tcp += 1;
                    out.push(reader.read(*ctx, seq, &data[..n]));
                    dir.stream.consume(n);
                }
                Frame::Incomplete => {
                    if dir.stream.has_gap() && (closing || dir.stream.buffered_bytes() > 0) {
                        // Data after a hole never completes this message: only skip when the
                        // stream says it gave up on the hole (out-of-order cap) or is closing.
                        if closing {
                            stats.tcp_gaps += 1;
                            stats.sip_incomplete_at_close += 1;
                            let n = data.len();
                            dir.stream.consume(n);
                            dir.stream.skip_gap();
                            dir.kind = DirKind::Unknown;
                            continue;
                        }
                    }
                    return;
                }
                Frame::Invalid(kind) => {
                    stats.sip_framing_errors += 1;
                    out.push(EventKind::SipFraming {
                        ctx: *ctx,
                        kind: kind.as_str(),
                    });
                    // Skip to the next plausible message start, or drop what is there.
                    let skip = resync(&data[1..]).map_or(data.len(), |o| o + 1);
                    dir.stream.consume(skip);
                }
            }
        }
    }

    /// Take whole WebSocket frames off the stream; each finished text or binary message that
    /// is SIP becomes an event.
    fn drain_ws(
        dir: &mut TcpDir,
        ctx: &PacketCtx,
        (reader, seq): (&SipReader, u64),
        out: &mut Vec<EventKind>,
        stats: &mut WorkerStats,
    ) {
        loop {
            let data = dir.stream.data();
            match websocket::parse_frame(data) {
                websocket::WsFrame::Incomplete => return,
                websocket::WsFrame::Invalid(_) => {
                    stats.sip_framing_errors += 1;
                    dir.kind = DirKind::Other;
                    let n = data.len();
                    dir.stream.consume(n);
                    return;
                }
                websocket::WsFrame::Complete {
                    header_len,
                    payload_len,
                    opcode,
                    fin,
                    compressed,
                    mask,
                } => {
                    let total = header_len + payload_len;
                    if data.len() < total {
                        return;
                    }
                    if matches!(
                        opcode,
                        websocket::OP_CONTINUATION | websocket::OP_TEXT | websocket::OP_BINARY
                    ) && !compressed
                    {
                        if opcode != websocket::OP_CONTINUATION {
                            dir.ws_msg.clear();
                        }
                        if dir.ws_msg.len() + payload_len <= websocket::MAX_FRAME {
                            websocket::unmask_into(&data[header_len..total], mask, &mut dir.ws_msg);
                        }
                        if fin {
                            if looks_like_sip(&dir.ws_msg) {
                                stats.sip_tcp += 1;
                                out.push(reader.read(*ctx, seq, &dir.ws_msg));
                            }
                            dir.ws_msg.clear();
                        }
                    }
                    dir.stream.consume(total);
                }
            }
        }
    }

    /// Make room in a full TCP flow table: drop the least recently seen 1/64 of it at once
    /// ([`crate::base::evict`]): a SYN flood of new flows costs O(64) each instead of O(cap).
    fn evict_oldest_tcp(&mut self) {
        let len = self.tcp.len();
        let order = |k: &FlowKey, f: &TcpFlow| (f.last_ts, k.lo_port, k.hi_port, k.stable_hash());
        for key in crate::base::evict::oldest(self.tcp.iter(), len, order) {
            self.tcp.remove(&key);
            self.stats.tcp_flows_evicted += 1;
        }
    }

    /// End silent RTP streams and idle TCP flows (or all of them, at the end).
    fn expire(&mut self, seq: u64, now: Ts, all: bool) {
        let first = self.events.len();
        let mut ended = Vec::new();
        self.streams.expire(now, all, &mut ended);
        for e in ended {
            let key = e.order_key;
            self.push(
                Order {
                    seq,
                    phase: 1,
                    key,
                    idx: 0,
                },
                EventKind::RtpEnd(Box::new(e)),
            );
        }
        self.expect.expire(now);
        if let Some(t) = self.flows.as_mut() {
            let mut flows = Vec::new();
            t.expire(now, all, &mut flows);
            for r in flows {
                let key = r.order_key;
                self.events.push(Event {
                    order: Order {
                        seq,
                        phase: 1,
                        key,
                        idx: 1,
                    },
                    kind: EventKind::Flow(Box::new(r)),
                });
            }
        }
        // Stream ends and flow records of this tick, in the order the merge keeps.
        self.events[first..].sort_by_key(|e| e.order);
        let idle = self.cfg.tcp_idle_ns;
        let before = self.tcp.len();
        self.tcp.retain(|_, f| {
            let closed = f.dirs[0].stream.is_closed() && f.dirs[1].stream.is_closed();
            let linger = if closed {
                crate::base::time::secs(5)
            } else {
                idle
            };
            !all && now.since(f.last_ts) < linger
        });
        self.stats.tcp_flows_timed_out += (before - self.tcp.len()) as u64;
        self.dtls_seen
            .retain(|_, at| !all && now.since(*at) < DTLS_HELLO_MEMORY_NS);
    }
}

/// Give a SIP event the frames that carried its message (evidence).
fn give_frames(kind: &mut EventKind, frames: Vec<Arc<WireFrame>>) {
    match kind {
        EventKind::Sip(seen) => seen.frames = frames,
        EventKind::SipError { frames: f, .. } => *f = frames,
        _ => {}
    }
}

/// Evidence over TCP: the first message a segment completes takes the segments held since the
/// last message ended (this one included); later ones in the same segment take it alone. A
/// segment that leaves part of a message buffered is held for the message it starts. Returns
/// the segments dropped to stay within `MAX_PENDING_FRAMES`.
fn attach_segments(dir: &mut TcpDir, frames: Vec<Arc<WireFrame>>, out: &mut [EventKind]) -> u64 {
    let mut dropped = 0;
    for f in &frames {
        if dir.frames.len() >= MAX_PENDING_FRAMES {
            dir.frames.remove(0);
            dropped += 1;
        }
        dir.frames.push(Arc::clone(f));
    }
    let mut first = true;
    for kind in out.iter_mut() {
        if !matches!(kind, EventKind::Sip(_) | EventKind::SipError { .. }) {
            continue;
        }
        let given = if first {
            std::mem::take(&mut dir.frames)
        } else {
            frames.clone()
        };
        first = false;
        give_frames(kind, given);
    }
    if !first && !dir.stream.data().is_empty() {
        dir.frames = frames;
    }
    dropped
}

fn ctx_of(m: &PacketMeta) -> PacketCtx {
    let ((src, sport), (dst, dport)) = (m.src(), m.dst());
    PacketCtx {
        ts: m.ts,
        src,
        dst,
        sport,
        dport,
        transport: m.transport(),
        vlan: m.vlan(),
        flow_id: crate::flow::flow_id_of(m.flow_hash),
        agent: m.agent,
    }
}

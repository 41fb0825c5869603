//! The pipeline: one capture thread decodes packets and hands them in batches to N workers,
//! chosen by a symmetric flow hash, over bounded queues; the workers send SIP messages (and,
//! as they grow, media and detection events) to one correlator, through a merge that restores
//! capture order; the correlator hands its records, in order, to the output stage's thread.
//! Data flows one way: capture -> decode -> flow -> sip/rtp -> correlate -> output.
//!
//! ```text
//!  pcap/live ──> capture thread ──batches──> worker 0 ──events──┐
//!   (decode, defrag, hash)      ──batches──> worker 1 ──events──┼─> merge ─> correlator ─> output ─> EVE JSON
//!                               ──batches──> worker N ──events──┘          (dialogs,    (serialise,
//!                                                                            detection)   write)
//! ```

pub mod batch;
pub mod correlate;
pub mod dedup;
pub mod droplog;
pub mod event;
pub mod fragframes;
pub mod merge;
pub mod output;
pub mod parts;
pub mod report;
pub mod sip_read;
pub mod stats;
pub mod watchdog;
pub mod worker;

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use crate::base::packet::Transport;
use crate::base::time::Ts;
use crate::capture::SourceEvent;
use crate::decode::{DecodeError, Decoder, DefragConfig, DefragStats};
use crate::flow::FlowKey;
use crate::pipeline::correlate::{Correlator, CorrelatorConfig};
use batch::Batch;
use event::{Chunk, Job};
use merge::Merge;
pub use report::RunStats;
pub use stats::{CaptureStats, WorkerStats};
use watchdog::{Doing, Heartbeat, Stage};
use worker::{Worker, WorkerConfig};

/// Live capture: how long the capture thread waits for room in a full worker queue before it
/// drops the batch (counted in `queue_drops`).
const LIVE_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// How far a HEP agent's clock may be from the capture's for its time to be taken (a copy
/// arrives within milliseconds; an agent hours off would upset every timeout).
const HEP_SKEW_NS: u64 = 60_000_000_000;

/// How the pipeline is built.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    pub workers: usize,
    /// Batches each worker queue holds.
    pub queue_batches: usize,
    /// Records serialised and written on a thread of their own (None: when every stage can
    /// have a core).
    pub output_thread: Option<bool>,
    /// Live capture: a full queue drops the batch (counted) instead of waiting.
    pub live: bool,
    pub worker: WorkerConfig,
    pub defrag: DefragConfig,
    pub correlator: CorrelatorConfig,
    /// Period of the ticks that drive timeouts, in packet time.
    pub tick_ns: u64,
    /// Packet time between periodic `stats` records (0: only the one at the end).
    pub stats_every_ns: u64,
    /// Say when a stage has made no progress for this long while it had work (None: no
    /// watchdog).
    pub watchdog: Option<std::time::Duration>,
    /// Prometheus metrics, when served.
    pub metrics: Option<std::sync::Arc<crate::output::metrics::Metrics>>,
    /// HEP listener: take only packets whose auth key is this (`--hep-password`).
    pub hep_password: Option<Vec<u8>>,
    /// Keep the packets behind alerts and calls as pcap files (`--pcap-dir`).
    pub evidence: Option<crate::output::evidence::EvidenceConfig>,
    /// Part of a replay analysed in parallel (`capture::plan`): where this pipeline's packets
    /// start in the replay's count, the tick it begins with and the tick it ends with.
    pub part: crate::capture::plan::Part,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            queue_batches: 64,
            output_thread: None,
            live: false,
            worker: WorkerConfig::default(),
            defrag: DefragConfig::default(),
            correlator: CorrelatorConfig::default(),
            tick_ns: crate::base::time::secs(1),
            stats_every_ns: 0,
            watchdog: None,
            metrics: None,
            hep_password: None,
            evidence: None,
            part: Default::default(),
        }
    }
}

/// The capture thread's half of the pipeline.
pub struct Dispatcher {
    tx: Vec<Sender<Job>>,
    pending: Vec<Batch>,
    pool: Receiver<Batch>,
    sent_mark: Vec<u64>,
    decoder: Decoder,
    live: bool,
    tick_ns: u64,
    seq: u64,
    now: Ts,
    next_tick: u64,
    last_flush: Instant,
    /// Live: when the newest packet arrived, to advance packet time while the wire is quiet.
    last_packet_wall: Instant,
    pub stats: CaptureStats,
    metrics: Option<std::sync::Arc<crate::output::metrics::Metrics>>,
    /// What was last published to the metrics, to add the difference.
    published: CaptureStats,
    /// Kernel drops (pcap stats) already published.
    kernel_dropped: u64,
    /// The kernel's counters as last read (live), for periodic stats records.
    kernel_last: Option<crate::capture::KernelStats>,
    /// Packet time between periodic stats records (0: none), and when the next is due.
    stats_every_ns: u64,
    next_stats: u64,
    /// Says when drops start and stop (live).
    drop_log: droplog::DropLog,
    /// Signs of life for the watchdog.
    heart: std::sync::Arc<Heartbeat>,
    /// Which worker the next SIP datagram goes to, and the wire/HEP duplicate filter.
    route: Route,
    /// Policies reloaded on SIGHUP, handed to the workers at the next tick.
    reload: Option<Receiver<crate::detect::policy::Reload>>,
    hep_password: Option<Vec<u8>>,
    /// Which file or interface the packets come from, by capture position (shared with the
    /// correlator, which names them in records).
    origins: std::sync::Arc<crate::base::origin::Origins>,
    /// Frames are copied beside their payloads, as evidence (`--pcap-dir`).
    frames: bool,
    /// The frames of fragments held for reassembly (evidence).
    frag_frames: fragframes::FragFrames,
}

impl Dispatcher {
    /// Hand one source event to the pipeline.
    pub fn on_event(&mut self, ev: SourceEvent<'_>) {
        self.heart.doing(Doing::Working);
        self.heart.beat();
        self.on_event_inner(ev);
        self.heart.doing(Doing::Waiting);
    }

    fn on_event_inner(&mut self, ev: SourceEvent<'_>) {
        match ev {
            SourceEvent::Packet {
                ts,
                link,
                data,
                orig_len,
            } => self.packet(ts, link, data, orig_len),
            SourceEvent::Idle => self.idle(),
            SourceEvent::Kernel(k) => {
                self.kernel_last = Some(k);
                let dropped = k.dropped + k.if_dropped;
                if let Some(m) = &self.metrics {
                    m.capture_kernel_drops_total
                        .inc_by(dropped.saturating_sub(self.kernel_dropped));
                }
                self.kernel_dropped = self.kernel_dropped.max(dropped);
                if let Some(line) = self.drop_log.observe(
                    std::time::Instant::now(),
                    self.kernel_dropped,
                    self.stats.queue_drops,
                ) {
                    eprintln!("{line}");
                }
            }
            SourceEvent::Hep { ts, data, peer } => self.hep(ts, data, peer),
            SourceEvent::Listener(l) => {
                if let Some(m) = &self.metrics {
                    let was = self.published.hep.listener.unwrap_or_default();
                    for (event, now, before) in [
                        ("tcp_connection", l.tcp_connections, was.tcp_connections),
                        ("tcp_refused", l.tcp_refused, was.tcp_refused),
                        (
                            "tcp_framing_error",
                            l.tcp_framing_errors,
                            was.tcp_framing_errors,
                        ),
                        ("queue_drop", l.queue_drops, was.queue_drops),
                    ] {
                        m.hep_listener_events_total
                            .with_label_values(&[event])
                            .inc_by(now.saturating_sub(before));
                    }
                    m.hep_tcp_connections_open.set(l.tcp_open as i64);
                }
                self.published.hep.listener = Some(l);
                self.stats.hep.listener = Some(l);
            }
            SourceEvent::Origin(o) => self.origins.begin(self.seq + 1, o),
            SourceEvent::FileError { path, error } => self
                .stats
                .file_errors
                .push(format!("{}: {error}", path.display())),
            SourceEvent::UnsupportedLink { path, dlt } => self.stats.file_errors.push(format!(
                "{}: link type {dlt} is not supported: its packets are skipped",
                path.display()
            )),
        }
    }

    fn packet(&mut self, ts: Ts, link: crate::base::packet::LinkType, data: &[u8], orig_len: u32) {
        let seq = self.arrived(ts, orig_len);
        let workers = self.tx.len();
        let (pending, turn, hep) = (&mut self.pending, &mut self.route, &mut self.stats.hep);
        let (frames, held) = (self.frames, &mut self.frag_frames);
        let placed = self.decoder.decode(link, data, ts).map(|d| {
            // Evidence: the frame, after those of the fragments it completes, if any.
            let earlier = match d.frag_key.as_deref().filter(|_| frames) {
                Some(key) => held.take(key),
                None => Vec::new(),
            };
            let mut parts: Vec<batch::FramePart<'_>> = earlier
                .iter()
                .map(|h| batch::FramePart {
                    ts: h.ts,
                    bytes: &h.bytes,
                    orig_len: h.orig_len,
                })
                .collect();
            if frames {
                parts.push(batch::FramePart {
                    ts,
                    bytes: data,
                    orig_len,
                });
            }
            let frame = frames.then_some((link, parts.as_slice()));
            place(pending, turn, hep, workers, (seq, ts), &d, None, frame)
        });
        if self.frames {
            match &placed {
                Err(DecodeError::FragmentHeld) => {
                    if let Some(key) = self.decoder.last_fragment() {
                        self.frag_frames.hold(key, ts, data, orig_len);
                    }
                }
                Err(DecodeError::FragmentDropped { .. }) => {
                    if let Some(key) = self.decoder.last_fragment() {
                        self.frag_frames.forget(&key);
                    }
                }
                _ => {}
            }
        }
        self.placed(placed);
    }

    /// A packet from the HEP listener: the message it carries goes the way of a captured one.
    fn hep(&mut self, ts: Ts, data: &[u8], peer: std::net::SocketAddr) {
        let seq = self.arrived(ts, data.len() as u32);
        let workers = self.tx.len();
        let (pending, turn, hep) = (&mut self.pending, &mut self.route, &mut self.stats.hep);
        let placed = crate::decode::hep_message(data, self.hep_password.as_deref())
            .map(|d| place(pending, turn, hep, workers, (seq, ts), &d, Some(peer), None));
        if let Err(e) = &placed {
            let outcome = match e {
                DecodeError::HepAuth => "bad_auth",
                DecodeError::HepNotSip(_) => "not_sip",
                _ => "malformed",
            };
            self.stats
                .hep
                .count(stats::AgentKey::Addr(peer.ip()), outcome);
        }
        self.placed(placed);
    }

    /// Counters and packet time for a packet that arrived at `ts`; its position in the input.
    fn arrived(&mut self, ts: Ts, orig_len: u32) -> u64 {
        if ts > self.now {
            self.now = ts;
        }
        if self.stats.first_ts.is_none() {
            self.stats.first_ts = Some(ts);
            self.next_tick = ts.0 - ts.0 % self.tick_ns + self.tick_ns;
        }
        self.stats.last_ts = Some(self.now);
        if self.now.0 >= self.next_tick {
            self.tick();
        }
        self.seq += 1;
        self.stats.packets += 1;
        self.stats.bytes += orig_len as u64;
        if self.live {
            self.last_packet_wall = Instant::now();
        }
        self.seq
    }

    /// After [`place`]: hand on what the packet announced, send a full batch; or count why the
    /// packet was not decoded.
    fn placed(&mut self, placed: Result<Placed, DecodeError>) {
        match placed {
            // The second copy of a message (wire and HEP), or a HEP report that did not read:
            // counted where they were dropped.
            Ok(Placed::Dropped) => self.stats.decoded += 1,
            Ok(Placed::Batch {
                worker,
                announce,
                counted_by,
            }) => {
                self.stats.decoded += 1;
                if let Some(w) = counted_by {
                    if self.pending[w].is_full() {
                        self.send_batch(w);
                    }
                }
                if let Some(list) = announce {
                    self.announce(list);
                } else if self.pending[worker].is_full() {
                    self.send_batch(worker);
                }
            }
            Ok(Placed::Rtcp { worker, job }) => {
                self.stats.decoded += 1;
                // After the packets before it, as every job of a worker.
                if !self.pending[worker].is_empty() {
                    self.send_batch(worker);
                }
                if self.live {
                    if self.tx[worker].try_send(job).is_err() {
                        self.stats.queue_drops += 1;
                    }
                } else {
                    self.send_blocking(worker, job);
                }
            }
            Err(e) => self.count_error(&e),
        }
        if self.live && self.last_flush.elapsed().as_millis() >= 20 {
            self.flush_pending_live();
        }
    }

    fn count_error(&mut self, e: &DecodeError) {
        *self.stats.decode_errors.entry(e.kind()).or_insert(0) += 1;
    }

    fn fresh_batch(&self) -> Batch {
        self.pool.try_recv().unwrap_or_default()
    }

    fn send_batch(&mut self, w: usize) {
        let fresh = self.fresh_batch();
        let batch = std::mem::replace(&mut self.pending[w], fresh);
        if self.live {
            // Live: wait for the worker a little (the kernel ring buffers the wire meanwhile,
            // and is far larger than a queue), then drop the batch and count it. Dropping at
            // once lost packets to bursts that a few ms of waiting absorbs (scripts/perf-live.sh).
            let job = match self.tx[w].try_send(Job::Packets(batch)) {
                Err(TrySendError::Full(job)) => job,
                _ => return,
            };
            self.nudge(w);
            if let Err(crossbeam_channel::SendTimeoutError::Timeout(Job::Packets(mut b))) =
                self.tx[w].send_timeout(job, LIVE_QUEUE_WAIT)
            {
                self.stats.queue_drops += b.len() as u64;
                b.clear();
                self.pending[w] = b;
            }
        } else {
            self.send_blocking(w, Job::Packets(batch));
        }
    }

    /// Replay: wait for room, but first make sure every idle worker has told the merge how far
    /// it has got, or the merge could wait on it while this thread waits on the merge.
    fn send_blocking(&mut self, w: usize, job: Job) {
        match self.tx[w].try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => {
                self.nudge(w);
                self.heart.doing(Doing::Handing);
                self.heart.at_packet(self.seq);
                let _ = self.tx[w].send(job);
                self.heart.doing(Doing::Working);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Hand every worker its pending packets and, when it has them all, a watermark; except
    /// `holding`, the worker whose job this thread holds (it is busy, and a watermark could
    /// overtake that job in its queue: the merge would then pass later packets of other
    /// workers before that job's, and the call records depended on the machine's load).
    fn nudge(&mut self, holding: usize) {
        for i in 0..self.tx.len() {
            if i == holding {
                continue;
            }
            if !self.pending[i].is_empty() {
                let fresh = self.fresh_batch();
                let batch = std::mem::replace(&mut self.pending[i], fresh);
                match self.tx[i].try_send(Job::Packets(batch)) {
                    Ok(()) => {}
                    Err(TrySendError::Full(Job::Packets(b))) => {
                        self.pending[i] = b;
                        continue;
                    }
                    Err(_) => continue,
                }
            }
            if self.sent_mark[i] < self.seq && self.tx[i].try_send(Job::Watermark(self.seq)).is_ok()
            {
                self.sent_mark[i] = self.seq;
            }
        }
    }

    fn flush_pending_live(&mut self) {
        for w in 0..self.tx.len() {
            if !self.pending[w].is_empty() {
                self.send_batch(w);
            }
            if self.sent_mark[w] < self.seq && self.tx[w].try_send(Job::Watermark(self.seq)).is_ok()
            {
                self.sent_mark[w] = self.seq;
            }
        }
        self.last_flush = Instant::now();
    }

    /// Media announced by an SDP: every worker learns it after the packets before it, so a
    /// stream's first packet finds it whatever the worker count.
    fn announce(&mut self, list: std::sync::Arc<Vec<crate::media::expect::MediaExpect>>) {
        let now = self.now;
        for w in 0..self.tx.len() {
            if !self.pending[w].is_empty() {
                self.send_batch(w);
            }
            let job = Job::Expect {
                list: std::sync::Arc::clone(&list),
                now,
            };
            if self.live {
                let _ = self.tx[w].try_send(job);
            } else {
                self.send_blocking(w, job);
            }
        }
    }

    /// Add what was counted since the last time to the metrics (on ticks and at the end: the
    /// packet path only counts in plain integers).
    fn publish(&mut self) {
        // The duplicate filter's counters, read where it keeps them (the stats snapshots and
        // the end of the run come after a publish).
        self.stats.hep.wire_dropped = self.route.dedup.wire_dropped;
        self.stats.hep.dedup_evicted = self.route.dedup.evicted;
        let Some(m) = &self.metrics else { return };
        let (s, p) = (&self.stats, &mut self.published);
        m.capture_packets_total.inc_by(s.packets - p.packets);
        m.capture_bytes_total.inc_by(s.bytes - p.bytes);
        m.capture_queue_drops_total
            .inc_by(s.queue_drops - p.queue_drops);
        for (kind, n) in &s.decode_errors {
            let before = p.decode_errors.get(kind).copied().unwrap_or(0);
            if *n > before {
                m.decode_errors_total
                    .with_label_values(&[crate::output::metrics::bounded_label(
                        kind,
                        crate::output::metrics::DECODE_ERROR_KINDS,
                    )])
                    .inc_by(n - before);
            }
        }
        for (key, n) in &s.hep.by_agent {
            let before = p.hep.by_agent.get(key).copied().unwrap_or(0);
            if *n > before {
                m.hep_packets_total
                    .with_label_values(&[&key.0.to_string(), key.1])
                    .inc_by(n - before);
            }
        }
        for (w, tx) in self.tx.iter().enumerate() {
            m.worker_queue_depth
                .with_label_values(&[&w.to_string()])
                .set(tx.len() as i64);
        }
        m.state_entries
            .with_label_values(&["duplicate_filter"])
            .set(self.route.dedup.len() as i64);
        m.state_evictions_total
            .with_label_values(&["duplicate_filter"])
            .inc_by(s.hep.dedup_evicted - p.hep.dedup_evicted);
        let held = self.decoder.defrag_stats();
        m.state_entries
            .with_label_values(&["fragments"])
            .set(held.held as i64);
        p.packets = s.packets;
        p.bytes = s.bytes;
        p.queue_drops = s.queue_drops;
        p.decode_errors = s.decode_errors.clone();
        p.hep.by_agent.clone_from(&s.hep.by_agent);
        p.hep.dedup_evicted = s.hep.dedup_evicted;
    }

    /// A policy reloaded since the last tick: its signatures to every worker, then the policy
    /// to worker 0 for the correlator, all at this capture position (whatever the worker
    /// count, every message is matched against the same rules). Never dropped, also live.
    fn hand_on_reloads(&mut self) {
        let Some(rx) = &self.reload else { return };
        let reloads: Vec<_> = rx.try_iter().collect();
        let seq = self.seq;
        for reload in reloads {
            if let Ok(policy) = &reload.0 {
                for w in 0..self.tx.len() {
                    if !self.pending[w].is_empty() {
                        self.send_batch(w);
                    }
                    self.send_blocking(w, Job::Rules(std::sync::Arc::clone(&policy.rules)));
                }
            }
            self.send_blocking(
                0,
                Job::Reload {
                    seq,
                    reload: Box::new(reload),
                },
            );
        }
    }

    /// Send the partial batches, then a tick, to every worker.
    fn tick(&mut self) {
        self.publish();
        self.hand_on_reloads();
        let (seq, now) = (self.seq, self.now);
        for w in 0..self.tx.len() {
            if !self.pending[w].is_empty() {
                self.send_batch(w);
            }
            if self.live {
                let _ = self.tx[w].try_send(Job::Tick { seq, now });
            } else {
                self.send_blocking(w, Job::Tick { seq, now });
            }
            self.sent_mark[w] = seq;
        }
        self.next_tick = now.0 - now.0 % self.tick_ns + self.tick_ns;
        self.periodic_stats();
    }

    /// The tick a packet at `at` would give (a part of a replay begins or ends with it).
    fn tick_at(&mut self, at: Ts) {
        if at > self.now {
            self.now = at;
        }
        // What that packet's decoding would forget.
        self.decoder.expire_fragments(self.now);
        self.route.dedup.expire(self.now);
        self.tick();
    }

    /// At the first tick after a stats interval has passed (packet time), ask every worker
    /// for its counters, with the capture thread's to worker 0: the correlator writes a
    /// `stats` record from them in order with the other records.
    fn periodic_stats(&mut self) {
        let every = self.stats_every_ns;
        if every == 0 {
            return;
        }
        let now = self.now.0;
        let due = self.next_stats != 0 && now >= self.next_stats;
        if self.next_stats == 0 || due {
            self.next_stats = now - now % every + every;
        }
        if !due {
            return;
        }
        let mut snapshot = Some(Box::new(stats::CaptureSnapshot {
            capture: self.stats.clone(),
            defrag: self.decoder.defrag_stats(),
            kernel: self.kernel_last,
        }));
        for w in 0..self.tx.len() {
            let job = Job::Stats {
                seq: self.seq,
                capture: if w == 0 { snapshot.take() } else { None },
            };
            if self.live {
                let _ = self.tx[w].try_send(job);
            } else {
                self.send_blocking(w, job);
            }
        }
    }

    /// Live: nothing on the wire for a while. Hand on what is pending, and let packet time
    /// advance with the wall clock so idle dialogs still time out.
    fn idle(&mut self) {
        self.flush_pending_live();
        let now = match self.stats.last_ts {
            Some(last) => Ts(last.0 + self.last_packet_wall.elapsed().as_nanos() as u64),
            // Nothing captured yet: the wall clock stands in for packet time, so ticks (and
            // rules reloads, metrics) go on while the wire is silent.
            None => Ts(std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)),
        };
        if now > self.now {
            self.now = now;
        }
        if self.next_tick == 0 {
            self.next_tick = self.now.0 - self.now.0 % self.tick_ns + self.tick_ns;
        }
        if self.now.0 >= self.next_tick {
            self.tick();
        }
    }

    /// End of input: send everything, then a flush, and close the queues.
    fn finish(mut self) -> (CaptureStats, DefragStats) {
        self.publish();
        // From here on this thread only hands what is left to the workers.
        self.heart.doing(Doing::Handing);
        self.heart.at_packet(self.seq);
        for w in 0..self.tx.len() {
            if !self.pending[w].is_empty() {
                let fresh = Batch::default();
                let batch = std::mem::replace(&mut self.pending[w], fresh);
                let _ = self.tx[w].send(Job::Packets(batch));
            }
            let _ = self.tx[w].send(Job::Flush {
                seq: self.seq,
                now: self.now,
            });
        }
        let defrag = self.decoder.defrag_stats();
        self.stats.evidence_fragments_dropped = self.frag_frames.dropped;
        for (left, what) in [
            (defrag.held > 0, "ip_fragments"),
            (!self.route.dedup.is_empty(), "hep_duplicate_filter"),
        ] {
            if left {
                self.stats.left.push(what);
            }
        }
        (self.stats, defrag)
    }
}

impl std::fmt::Debug for crate::output::metrics::Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// What [`place`] did with a packet.
enum Placed {
    /// Into `worker`'s pending batch; with the media its SIP announced.
    Batch {
        worker: usize,
        announce: Option<std::sync::Arc<Vec<crate::media::expect::MediaExpect>>>,
        /// The flow's worker, given a count of the packet (a SIP datagram parsed elsewhere).
        counted_by: Option<usize>,
    },
    /// An RTCP report from a HEP agent, read, for `worker` (the flow's).
    Rtcp { worker: usize, job: Job },
    /// Not handed on: the second copy of a message, or a HEP report that did not read.
    Dropped,
}

/// Put a decoded packet into its worker's pending batch (a HEP copy is counted for its agent,
/// named by `peer` when it has no capture id). A free function over the fields it needs,
/// because `d` may borrow the decoder (a reassembled datagram).
#[allow(clippy::too_many_arguments)]
fn place(
    pending: &mut [Batch],
    route: &mut Route,
    hep: &mut stats::HepStats,
    workers: usize,
    (seq, ts): (u64, Ts),
    d: &crate::decode::Decoded<'_>,
    peer: Option<std::net::SocketAddr>,
    frame: batch::FrameIn<'_>,
) -> Placed {
    if d.rtcp_json {
        return hep_rtcp(hep, workers, (seq, ts), d, peer);
    }
    let sip = d.transport == Transport::Udp && crate::sip::parser::looks_like_sip(d.payload);
    let duplicate = route.dedup.is_duplicate(ts, d, sip);
    if let Some(agent) = &d.agent {
        let outcome = if duplicate { "duplicate" } else { "accepted" };
        hep.count(hep_agent_label(agent, peer), outcome);
    }
    if duplicate {
        return Placed::Dropped;
    }
    let announce = if sip {
        crate::media::expect::from_sip_datagram(d.payload)
    } else {
        None
    };
    let (key, forward) = FlowKey::new(d.src, d.sport, d.dst, d.dport, d.transport, d.vlan);
    let hash = key.stable_hash();
    // A SIP datagram needs no flow state: they take turns on the workers, so that the SIP of
    // one busy trunk (one flow) is parsed in parallel. Everything else goes to its flow's
    // worker.
    let worker = if sip {
        route.sip_turn = route.sip_turn.wrapping_add(1);
        (route.sip_turn % workers as u64) as usize
    } else {
        worker_of(hash, workers)
    };
    let at = agent_time(ts, d);
    // Evidence: the frames of signalling, and of media only for the calls' own files.
    let frame = frame.filter(|_| sip || d.transport != Transport::Udp || route.media_frames);
    pending[worker].push(seq, at, d, (key, forward, hash), sip, frame);
    let counted_by = (sip && route.flows && d.agent.is_none()).then(|| {
        let w = worker_of(hash, workers);
        pending[w].push_flow_count(seq, at, d, (key, forward, hash));
        w
    });
    Placed::Batch {
        worker,
        announce,
        counted_by,
    }
}

/// A HEP copy carries when its agent saw the message: that time, unless the agent's clock is
/// off by more than HEP_SKEW from the capture's (`ts`, its arrival).
fn agent_time(ts: Ts, d: &crate::decode::Decoded<'_>) -> Ts {
    match d.agent_ts {
        Some(a) if a.0.abs_diff(ts.0) <= HEP_SKEW_NS => a,
        _ => ts,
    }
}

/// An RTCP report a HEP agent sent as JSON: read into RTCP packets for its flow's worker, or
/// counted as malformed.
fn hep_rtcp(
    hep: &mut stats::HepStats,
    workers: usize,
    (seq, ts): (u64, Ts),
    d: &crate::decode::Decoded<'_>,
    peer: Option<std::net::SocketAddr>,
) -> Placed {
    let label = d
        .agent
        .as_ref()
        .map_or(stats::AgentKey::Unknown, |a| hep_agent_label(a, peer));
    let Ok(packets) = crate::media::rtp::rtcp_json::parse(d.payload) else {
        hep.count(label, "malformed");
        return Placed::Dropped;
    };
    hep.count(label, "accepted");
    let (key, _) = FlowKey::new(d.src, d.sport, d.dst, d.dport, d.transport, d.vlan);
    let hash = key.stable_hash();
    let ctx = crate::base::packet::PacketCtx {
        ts: agent_time(ts, d),
        src: d.src,
        dst: d.dst,
        sport: d.sport,
        dport: d.dport,
        transport: d.transport,
        vlan: d.vlan,
        flow_id: crate::flow::flow_id_of(hash),
        agent: d.agent,
    };
    Placed::Rtcp {
        worker: worker_of(hash, workers),
        job: Job::HepRtcp { seq, ctx, packets },
    }
}

/// How the capture thread spreads SIP datagrams over the workers, and drops the second copy
/// of a message that came both off the wire and over HEP.
struct Route {
    /// SIP datagrams handed out so far (they go to the workers in turn).
    sip_turn: u64,
    /// Flow records are written: a SIP datagram is also counted by its flow's worker.
    flows: bool,
    /// The frames of media are kept too (`--pcap-calls`).
    media_frames: bool,
    dedup: dedup::Dedup,
}

/// Who a HEP agent is, for counting: its capture id, else the address it sent from.
fn hep_agent_label(
    agent: &crate::base::packet::HepAgent,
    peer: Option<std::net::SocketAddr>,
) -> stats::AgentKey {
    match (agent.id, peer) {
        (Some(id), _) => stats::AgentKey::Id(id),
        (None, Some(p)) => stats::AgentKey::Addr(p.ip()),
        (None, None) => stats::AgentKey::Unknown,
    }
}

/// The worker of a flow: multiply-shift rather than modulo, uniform for any worker count.
fn worker_of(hash: u64, workers: usize) -> usize {
    ((hash as u128 * workers as u128) >> 64) as usize
}

/// Build the pipeline, feed it from `source` (which calls the given closure per source event),
/// and return the counters when the source is exhausted (or `stop` is set) and every record is written.
pub fn run<S>(
    cfg: &PipelineConfig,
    policy: crate::detect::policy::Policy,
    reload: Option<Receiver<crate::detect::policy::Reload>>,
    out: Box<dyn Write + Send>,
    stop: &AtomicBool,
    source: S,
) -> (RunStats, Box<dyn Write + Send>)
where
    S: FnOnce(&mut Dispatcher, &AtomicBool),
{
    let started = Instant::now();
    let n = cfg.workers.max(1);
    let (pool_tx, pool_rx) = bounded::<Batch>(n * (cfg.queue_batches + 2));
    // SIP summaries the correlator has done with, back to the workers to refill.
    let (seen_tx, seen_rx) = bounded::<Box<event::SipSeen>>(1024);
    let mut job_tx = Vec::with_capacity(n);
    let mut chunk_rx = Vec::with_capacity(n);
    let mut list_tx = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    let capture_heart = std::sync::Arc::new(Heartbeat::default());
    let correlator_heart = std::sync::Arc::new(Heartbeat::default());
    let mut stages = vec![Stage::new(
        "the capture thread",
        "a worker",
        std::sync::Arc::clone(&capture_heart),
    )];
    for i in 0..n {
        let heart = std::sync::Arc::new(Heartbeat::default());
        stages.push(Stage::new(
            format!("worker-{i}"),
            "the correlator",
            std::sync::Arc::clone(&heart),
        ));
        let (jt, jr) = bounded::<Job>(cfg.queue_batches);
        let (ct, cr) = bounded::<Chunk>(cfg.queue_batches * 4);
        // Emptied event lists back to the worker: a few dozen kilobytes at most.
        let (lt, lr) = bounded::<Vec<event::Event>>(cfg.queue_batches);
        let worker = Worker::new(
            i,
            cfg.worker.clone(),
            cfg.metrics.clone(),
            std::sync::Arc::clone(&policy.rules),
            seen_rx.clone(),
        )
        .with_heart(heart)
        .with_event_lists(lr);
        let recycle = pool_tx.clone();
        let h = std::thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || worker.run(jr, ct, recycle))
            .expect("spawn worker thread");
        job_tx.push(jt);
        chunk_rx.push(cr);
        list_tx.push(lt);
        handles.push(h);
    }
    drop(pool_tx);
    stages.push(Stage::new(
        "the correlator",
        "the output",
        std::sync::Arc::clone(&correlator_heart),
    ));
    let ccfg = cfg.correlator.clone();
    let cmetrics = cfg.metrics.clone();
    let writer = output::writer_for(out, &ccfg, cfg.metrics.clone());
    // A core each for the capture thread, the workers, the correlator and the output.
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let (out_tx, output) = if cfg.output_thread.unwrap_or(cores >= n + 3) {
        let output_heart = std::sync::Arc::new(Heartbeat::default());
        stages.push(Stage::new(
            "the output",
            "the EVE file",
            std::sync::Arc::clone(&output_heart),
        ));
        let (outbox, h) = output::spawn(writer, cfg.queue_batches, output_heart);
        // Blocked on a full output queue: the watchdog says so.
        let waiting_heart = std::sync::Arc::clone(&correlator_heart);
        let outbox = outbox.on_wait(Box::new(move |waiting| {
            waiting_heart.doing(if waiting {
                Doing::Handing
            } else {
                Doing::Working
            })
        }));
        (outbox, Some(h))
    } else {
        (crate::output::outbox::Outbox::inline(writer), None)
    };
    let watchdog_stop = std::sync::Arc::new(AtomicBool::new(false));
    let watchdog = cfg.watchdog.and_then(|after| {
        watchdog::spawn(stages, after, std::sync::Arc::clone(&watchdog_stop)).ok()
    });
    let origins = std::sync::Arc::new(crate::base::origin::Origins::default());
    let corigins = std::sync::Arc::clone(&origins);
    let correlator = std::thread::Builder::new()
        .name("correlator".into())
        .spawn(move || {
            let mut merge = Merge::new(chunk_rx).with_returns(list_tx);
            let mut c =
                Correlator::new(ccfg, out_tx, cmetrics, policy, seen_tx).with_origins(corigins);
            let mut snapshot = stats::Collect::new(n);
            let heart = correlator_heart;
            loop {
                heart.doing(Doing::Waiting);
                let Some(ev) = merge.next_event() else { break };
                heart.doing(Doing::Working);
                heart.beat();
                heart.at_packet(ev.order.seq);
                match ev.kind {
                    event::EventKind::Stats(part) => {
                        if let Some((capture, workers)) = snapshot.add(*part) {
                            let mut run = RunStats {
                                capture: capture.capture,
                                defrag: capture.defrag,
                                workers,
                                correlator: c.snapshot(),
                                elapsed: started.elapsed(),
                            };
                            let kernel = capture.kernel;
                            // Written by the output stage, with its counts of the records
                            // before it.
                            c.write_with_writer(Box::new(move |w| {
                                run.correlator.add_output(&w.eve);
                                w.record("stats", &report::stats_record(&run, kernel));
                            }));
                        }
                    }
                    kind => c.handle(event::Event {
                        order: ev.order,
                        kind,
                    }),
                }
            }
            c.finish()
        })
        .expect("spawn correlator thread");

    let mut d = Dispatcher {
        tx: job_tx,
        pending: (0..n).map(|_| Batch::new()).collect(),
        pool: pool_rx,
        sent_mark: vec![0; n],
        decoder: Decoder::new(cfg.defrag),
        live: cfg.live,
        tick_ns: cfg.tick_ns.max(1),
        seq: cfg.part.seq_base,
        now: Ts::ZERO,
        next_tick: 0,
        last_flush: Instant::now(),
        last_packet_wall: Instant::now(),
        stats: CaptureStats::default(),
        metrics: cfg.metrics.clone(),
        published: CaptureStats::default(),
        kernel_dropped: 0,
        kernel_last: None,
        stats_every_ns: cfg.stats_every_ns,
        next_stats: 0,
        drop_log: droplog::DropLog::default(),
        heart: capture_heart,
        route: Route {
            sip_turn: 0,
            flows: cfg.worker.flows.is_some(),
            media_frames: cfg.evidence.as_ref().is_some_and(|e| e.calls),
            dedup: dedup::Dedup::default(),
        },
        reload,
        hep_password: cfg.hep_password.clone(),
        origins,
        frames: cfg.evidence.is_some(),
        frag_frames: fragframes::FragFrames::default(),
    };
    if let Some(at) = cfg.part.start {
        d.tick_at(at);
    }
    source(&mut d, stop);
    if let Some(at) = cfg.part.end {
        d.tick_at(at);
    }
    let (capture, defrag) = d.finish();
    let workers: Vec<WorkerStats> = handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        .collect();
    let (mut correlator, inline) = correlator
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
    // The output thread's writer, or the one the correlator wrote with.
    let writer = match output {
        Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
        None => inline.expect("an inline output hands its writer back"),
    };
    correlator.add_output(&writer.eve);
    let out = writer.eve.into_inner();
    watchdog_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(w) = watchdog {
        w.thread().unpark();
        let _ = w.join();
    }
    let stats = RunStats {
        capture,
        defrag,
        workers,
        correlator,
        elapsed: started.elapsed(),
    };
    (stats, out)
}

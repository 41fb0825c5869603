//! Evidence (`--pcap-dir`): the packets behind every alert, and optionally every call, as pcap
//! files that Wireshark and tshark open, named in the records (`evidence.pcap` of an alert,
//! `call.pcap` of a call; paths relative to the folder).
//!
//! - An alert about a message or a call gets the SIP packets of its Call-ID so far (the
//!   message that fired included; a long dialog keeps its first and latest packets).
//! - An alert about a rate (flood, scan, brute force) gets the last `--pcap-sample` packets to
//!   or from its source (or, for a distributed attack, its target): the packets of the window
//!   that fired.
//! - `--pcap-calls`: each call's SIP and RTP in a file of its own, as VoIPmonitor keeps them,
//!   written as the call goes and closed when its record is written.
//!
//! Bounded: frames held in memory (per Call-ID, per address, bytes over all; what is shed is
//! counted), open call files, a size per file, and a size for the folder, kept by removing the
//! oldest files first (counted). Files are created mode 0600: they hold what the capture
//! holds, SDP keys and digest responses included, and need the capture's protection.

pub mod folder;
pub mod held;
pub mod pcap;

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::base::fasthash::FastMap;
use crate::base::packet::{LinkType, WireFrame};
use crate::base::time::Ts;
use crate::detect::alert::AlertRecord;
use crate::dialog::CallRecord;
use folder::Folder;
use held::{HeldLimits, Store};

/// How evidence is kept.
#[derive(Clone, Debug)]
pub struct EvidenceConfig {
    pub dir: PathBuf,
    /// One file per call with its SIP and RTP (`--pcap-calls`).
    pub calls: bool,
    /// Packets kept per address: the sample of a rate alert (`--pcap-sample`).
    pub sample: usize,
    /// Bytes per file at most; later packets are left out, counted (`--pcap-max-file`).
    pub max_file: u64,
    /// Bytes of the folder at most; the oldest files are removed first (`--pcap-max-total`).
    pub max_total: u64,
    /// Bytes of packets held in memory for alerts still to come.
    pub max_held: usize,
    /// SIP packets held per Call-ID.
    pub per_call: usize,
    /// Calls being written at once (each holds a small buffer); later calls get no file.
    pub max_open_calls: usize,
    /// Set by SIGHUP: account for the folder again (files rotated or removed by hand).
    pub rescan: Option<Arc<AtomicBool>>,
}

impl EvidenceConfig {
    pub fn new(dir: PathBuf) -> EvidenceConfig {
        EvidenceConfig {
            dir,
            calls: false,
            sample: 64,
            max_file: 64 << 20,
            max_total: 1 << 30,
            max_held: 64 << 20,
            per_call: 128,
            max_open_calls: 4096,
            rescan: None,
        }
    }
}

/// What the evidence stage did (the `stats` record's `evidence`).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct EvidenceStats {
    pub alert_files: u64,
    pub call_files: u64,
    pub packets_written: u64,
    pub bytes_written: u64,
    /// Files removed to keep the folder under its limit, and their bytes.
    pub files_removed: u64,
    pub bytes_removed: u64,
    /// The folder now.
    pub folder_files: u64,
    pub folder_bytes: u64,
    /// Held in memory now, and keys shed to stay within the budget.
    pub held_bytes: u64,
    pub held_keys: u64,
    pub held_evictions: u64,
    /// SIP packets left out of the middle of a long dialog.
    pub call_packets_dropped: u64,
    /// Alerts with no packet to show (their packets came over HEP, were reassembled from
    /// fragments, or were shed).
    pub alerts_without_packets: u64,
    /// SIP messages with no captured frame (a HEP copy, or a datagram reassembled from
    /// fragments).
    pub messages_without_frames: u64,
    /// Packets left out of a file at its size limit, or of another link type than its first.
    pub packets_over_file_limit: u64,
    pub packets_other_link: u64,
    /// Calls that got no file (too many being written at once).
    pub calls_not_recorded: u64,
    pub write_errors: u64,
}

/// A call's file being written: what is buffered for it, and its size so far.
struct CallFile {
    rel: String,
    link: LinkType,
    buf: Vec<u8>,
    bytes: u64,
    /// The call's record was written: the file takes late packets until then.
    closes_at: Option<Ts>,
}

/// How long a call's file stays open after its record was written, for the packets that
/// follow it: the final response to a BYE from the other leg of a proxied call, a
/// retransmission, the last RTP in flight.
pub const CALL_LINGER: u64 = crate::base::time::secs(5);

/// Bytes a call buffers before appending them to its file.
const CALL_BUFFER: usize = 32 * 1024;

pub struct Evidence {
    cfg: EvidenceConfig,
    folder: Folder,
    store: Store,
    open: FastMap<String, CallFile>,
    /// Alert files written in this run (part of their names: unique and in order).
    serial: u64,
    stats: EvidenceStats,
}

impl Evidence {
    /// Open the folder (made if missing, mode 0700).
    pub fn open(cfg: EvidenceConfig) -> std::io::Result<Evidence> {
        let folder = Folder::open(&cfg.dir, cfg.max_total)?;
        let store = Store::new(HeldLimits {
            per_call: cfg.per_call,
            per_addr: cfg.sample,
            max_bytes: cfg.max_held,
        });
        Ok(Evidence {
            cfg,
            folder,
            store,
            open: FastMap::default(),
            serial: 0,
            stats: EvidenceStats::default(),
        })
    }

    /// A SIP message (or one that did not parse) and the frames that carried it.
    pub fn on_sip(
        &mut self,
        call_id: Option<&str>,
        ends: (IpAddr, IpAddr),
        frames: &[Arc<WireFrame>],
        now: Ts,
    ) {
        if frames.is_empty() {
            self.stats.messages_without_frames += 1;
            return;
        }
        self.store.hold(call_id, ends, frames, now);
    }

    /// Whether calls get files of their own.
    pub fn records_calls(&self) -> bool {
        self.cfg.calls
    }

    /// A SIP message of a Call-ID (`--pcap-calls`): into its call's file; a call being
    /// tracked without one begins it with every packet of the Call-ID held so far (this
    /// message's included).
    pub fn call_sip(&mut self, call_id: &str, frames: &[Arc<WireFrame>], tracked: bool, now: Ts) {
        if self.open.contains_key(call_id) {
            for f in frames {
                self.call_frame(call_id, f);
            }
            return;
        }
        if !tracked || self.open.len() >= self.cfg.max_open_calls {
            return;
        }
        let held: Vec<Arc<WireFrame>> = match self.store.call(call_id) {
            Some(h) if !h.frames.is_empty() => h.frames.iter().cloned().collect(),
            _ => frames.to_vec(),
        };
        let Some(first) = held.first() else { return };
        let name = file_name(
            "calls",
            first.ts.min(now),
            &format!("{:016x}", crate::base::fasthash::fnv1a(call_id.as_bytes())),
        );
        let link = first.link;
        match self.folder.create(&name) {
            Ok((rel, mut file)) => {
                let header = pcap::file_header(link);
                if let Err(e) = file.write_all(&header) {
                    return self.write_error(&rel, &e);
                }
                self.stats.bytes_written += header.len() as u64;
                self.open.insert(
                    call_id.to_string(),
                    CallFile {
                        rel,
                        link,
                        buf: Vec::new(),
                        bytes: header.len() as u64,
                        closes_at: None,
                    },
                );
                for f in &held {
                    self.call_frame(call_id, f);
                }
            }
            Err(e) => self.write_error(&name, &e),
        }
    }

    /// An RTP packet of a call (`--pcap-calls`), into the call's file if it has one.
    pub fn call_media(&mut self, call_id: &str, frame: &Arc<WireFrame>) {
        if self.open.contains_key(call_id) {
            self.call_frame(call_id, frame);
        }
    }

    fn call_frame(&mut self, call_id: &str, f: &WireFrame) {
        let Some(cf) = self.open.get_mut(call_id) else {
            return;
        };
        if f.link != cf.link {
            self.stats.packets_other_link += 1;
            return;
        }
        let n = pcap::record_len(f);
        if cf.bytes + n > self.cfg.max_file {
            self.stats.packets_over_file_limit += 1;
            return;
        }
        pcap::put_record(&mut cf.buf, f);
        cf.bytes += n;
        self.stats.packets_written += 1;
        self.stats.bytes_written += n;
        if cf.buf.len() >= CALL_BUFFER {
            let (rel, buf) = (cf.rel.clone(), std::mem::take(&mut cf.buf));
            self.append(&rel, &buf);
        }
    }

    fn append(&mut self, rel: &str, buf: &[u8]) {
        let done = self.folder.append(rel).and_then(|mut f| f.write_all(buf));
        if let Err(e) = done {
            self.write_error(rel, &e);
        }
    }

    fn write_error(&mut self, rel: &str, e: &std::io::Error) {
        if self.stats.write_errors == 0 {
            eprintln!(
                "voip-sentinel: evidence: cannot write {}: {e}",
                self.folder.root().join(rel).display()
            );
        }
        self.stats.write_errors += 1;
    }

    /// A call's record is about to be written (at packet time `now`): its file is named in
    /// it, and finished `CALL_LINGER` later.
    pub fn call_ended(&mut self, rec: &mut CallRecord, now: Ts) {
        match self.open.get_mut(&rec.call.call_id) {
            Some(cf) => {
                rec.call.pcap = Some(cf.rel.clone());
                cf.closes_at
                    .get_or_insert(Ts(now.0.saturating_add(CALL_LINGER)));
            }
            None if self.cfg.calls => self.stats.calls_not_recorded += 1,
            None => {}
        }
    }

    fn close(&mut self, cf: CallFile) {
        if !cf.buf.is_empty() {
            self.append(&cf.rel, &cf.buf);
        }
        self.stats.call_files += 1;
        self.folder.finished(cf.rel, cf.bytes);
    }

    /// An alert about to be written: the packets behind it into a file of their own, named in
    /// its evidence (`pcap`, `pcap_packets`, and `pcap_scope`: `call`, `source` or `target`).
    pub fn alert(&mut self, a: &mut AlertRecord, now: Ts) {
        let Some((scope, frames)) = self.frames_for(a) else {
            self.stats.alerts_without_packets += 1;
            return;
        };
        // Named by the packet that fired (the last held), as the alert's own timestamp.
        let ts = frames.last().map_or(now, |f| f.ts);
        self.serial += 1;
        let tail = format!("{}-{}", a.alert.signature_id, self.serial);
        let name = file_name("alerts", ts, &tail);
        let link = frames[0].link;
        let mut buf = pcap::file_header(link).to_vec();
        let mut packets = 0u64;
        for f in &frames {
            if f.link != link {
                self.stats.packets_other_link += 1;
                continue;
            }
            if buf.len() as u64 + pcap::record_len(f) > self.cfg.max_file {
                self.stats.packets_over_file_limit += 1;
                continue;
            }
            pcap::put_record(&mut buf, f);
            packets += 1;
        }
        let rel = match self.folder.create(&name) {
            Ok((rel, mut file)) => match file.write_all(&buf) {
                Ok(()) => rel,
                Err(e) => return self.write_error(&rel, &e),
            },
            Err(e) => return self.write_error(&name, &e),
        };
        self.stats.alert_files += 1;
        self.stats.packets_written += packets;
        self.stats.bytes_written += buf.len() as u64;
        self.folder.finished(rel.clone(), buf.len() as u64);
        if !a.evidence.is_object() {
            a.evidence = Value::Object(serde_json::Map::new());
        }
        if let Value::Object(m) = &mut a.evidence {
            m.insert("pcap".into(), Value::String(rel));
            m.insert("pcap_packets".into(), Value::from(packets));
            m.insert("pcap_scope".into(), Value::from(scope));
        }
    }

    /// The packets behind an alert: its Call-ID's, else its source's (a distributed attack's
    /// target's, when the alert names only a destination).
    fn frames_for(&mut self, a: &AlertRecord) -> Option<(&'static str, Vec<Arc<WireFrame>>)> {
        let ev = &a.evidence;
        let call_id = ev
            .get("call_id")
            .and_then(Value::as_str)
            .or(a.call.as_ref().map(|c| c.call_id.as_str()));
        if let Some(h) = call_id.and_then(|id| self.store.call(id)) {
            if !h.frames.is_empty() {
                return Some(("call", h.frames.iter().cloned().collect()));
            }
        }
        let (scope, addr) = if ev.get("destination").is_some() && ev.get("source").is_none() {
            ("target", a.alert.target.ip)
        } else {
            ("source", a.alert.source.ip)
        };
        let h = self.store.addr(addr)?;
        (!h.frames.is_empty()).then(|| (scope, h.frames.iter().cloned().collect()))
    }

    /// Periodic work (ticks): idle keys dropped; the folder accounted again after SIGHUP.
    pub fn tick(&mut self, now: Ts) {
        self.store.expire(now);
        let mut due: Vec<String> = self
            .open
            .iter()
            .filter(|(_, cf)| cf.closes_at.is_some_and(|t| t <= now))
            .map(|(id, _)| id.clone())
            .collect();
        // In name order: the folder's removals do not depend on the map's order.
        due.sort_by(|a, b| self.open[a].rel.cmp(&self.open[b].rel));
        for id in due {
            if let Some(cf) = self.open.remove(&id) {
                self.close(cf);
            }
        }
        if let Some(flag) = &self.cfg.rescan {
            if flag.swap(false, Ordering::Relaxed) {
                if let Err(e) = self.folder.rescan() {
                    self.write_error("", &e);
                }
            }
        }
    }

    /// End of input: every call file still open is finished (a call cut off by the end of a
    /// capture keeps what it had).
    pub fn finish(&mut self) {
        let mut open: Vec<(String, CallFile)> = self.open.drain().collect();
        open.sort_by(|a, b| a.1.rel.cmp(&b.1.rel));
        for (_, cf) in open {
            self.close(cf);
        }
    }

    /// Keys held at most: each costs at least `KEY_OVERHEAD` of the byte budget.
    pub fn max_keys(&self) -> usize {
        self.cfg.max_held / held::KEY_OVERHEAD
    }

    /// The counters so far.
    pub fn stats(&self) -> EvidenceStats {
        let mut s = self.stats.clone();
        s.files_removed = self.folder.removed;
        s.bytes_removed = self.folder.removed_bytes;
        s.folder_files = self.folder.files() as u64;
        s.folder_bytes = self.folder.total();
        s.held_bytes = self.store.bytes() as u64;
        s.held_keys = self.store.keys() as u64;
        s.held_evictions = self.store.evictions();
        s.call_packets_dropped = self.store.call_frames_dropped;
        s
    }
}

/// `KIND/YYYY-MM-DD/HHMMSS.uuuuuu-TAIL.pcap` for packet time `ts`: sorted by time in a
/// listing, one folder a day as capture archives are kept.
fn file_name(kind: &str, ts: Ts, tail: &str) -> String {
    // "2026-11-25T14:16:53.891075+0000"
    let t = ts.to_string();
    let (date, time) = (&t[..10], &t[11..26]);
    let hms: String = time.chars().filter(|c| *c != ':').collect();
    format!("{kind}/{date}/{hms}-{tail}.pcap")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_by_day_and_time() {
        let ts = Ts::from_micros(1_764_081_365, 74_222);
        assert_eq!(
            file_name("alerts", ts, "2300032-1"),
            "alerts/2025-11-25/143605.074222-2300032-1.pcap"
        );
        assert_eq!(crate::base::fasthash::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}

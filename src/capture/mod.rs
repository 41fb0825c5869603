//! Packet sources: savefiles (pcap and pcapng, mapped and read in place by [`savefile`], gzip
//! too) replayed as fast as the machine allows, and live capture from an interface (libpcap).
//! Both hand every packet, with its capture timestamp and link type, to one callback; nothing
//! here looks inside the packets.

pub mod hep_listen;
pub mod plan;
pub mod privdrop;
pub mod savefile;

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::base::packet::LinkType;
use crate::base::time::Ts;

/// What the source hands to the pipeline.
pub enum SourceEvent<'a> {
    /// One captured frame.
    Packet {
        ts: Ts,
        link: LinkType,
        data: &'a [u8],
        /// Length on the wire (may exceed `data.len()` when the snaplen cut it).
        orig_len: u32,
    },
    /// Live capture only: no packet for a while (the read timeout expired).
    Idle,
    /// A savefile could not be read (opened or read to the end); the replay goes on with the next.
    FileError { path: PathBuf, error: String },
    /// A savefile with a link type the decoder does not know: skipped whole.
    UnsupportedLink { path: PathBuf, dlt: i32 },
    /// Live capture only, about once a second: the kernel's counters so far.
    Kernel(KernelStats),
    /// One packet received by the HEP listener (a HEP packet, not a frame), at `ts` (arrival).
    Hep {
        ts: Ts,
        data: &'a [u8],
        peer: std::net::SocketAddr,
    },
    /// The HEP listener's counters so far, about once a second.
    Listener(hep_listen::ListenerStats),
    /// The packets after this come from this savefile or interface.
    Origin(crate::base::origin::Origin),
}

/// Errors that stop a source before it starts.
#[derive(thiserror::Error, Debug)]
pub enum CaptureError {
    #[error("{path}: no such file or folder")]
    Missing { path: PathBuf },
    #[error("{path}: cannot read folder: {error}")]
    Folder {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: not a regular file (a FIFO, device or socket would block or never end); give a pcap or pcapng file")]
    NotAFile { path: PathBuf },
    #[error("{path}: no pcap or pcapng files in this folder")]
    EmptyFolder { path: PathBuf },
    #[error("interface {iface}: {error} (check the name with `ip link`; capture needs root or CAP_NET_RAW)")]
    Open { iface: String, error: String },
    #[error("capture filter {filter:?}: {error}")]
    Filter { filter: String, error: String },
    #[error("HEP listener on {addr}: {error}")]
    HepListen {
        addr: std::net::SocketAddr,
        error: String,
    },
    #[error("interface {iface}: link type {dlt} is not supported")]
    Link { iface: String, dlt: i32 },
}

/// Counters the kernel keeps for a live capture.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelStats {
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
}

/// Expand the command-line paths: files as given, folders into their capture files (by name
/// order, recursively), so a replay is always in the same order.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CaptureError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = out.len();
            collect_dir(p, &mut out)?;
            if out.len() == before {
                return Err(CaptureError::EmptyFolder { path: p.clone() });
            }
        } else if p.exists() {
            if !p.metadata().is_ok_and(|m| m.is_file()) {
                return Err(CaptureError::NotAFile { path: p.clone() });
            }
            out.push(p.clone());
        } else {
            return Err(CaptureError::Missing { path: p.clone() });
        }
    }
    Ok(out)
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CaptureError> {
    let rd = std::fs::read_dir(dir).map_err(|error| CaptureError::Folder {
        path: dir.to_path_buf(),
        error,
    })?;
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            collect_dir(&e, out)?;
        } else if is_capture_name(&e) && e.metadata().is_ok_and(|m| m.is_file()) {
            out.push(e);
        }
    }
    Ok(())
}

/// A capture file by its name: `.pcap`, `.pcapng`, `.cap`, each also gzip-compressed (`.gz`).
fn is_capture_name(p: &Path) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    [".pcap", ".pcapng", ".cap"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Read savefiles one after the other, calling `f` for every packet. Stops early when `stop` is set.
pub fn replay_files(paths: &[PathBuf], stop: &AtomicBool, f: impl FnMut(SourceEvent<'_>)) {
    replay(paths, None, stop, f)
}

/// A replay's BPF filter (`replay -f`, as `tcpdump -r FILE EXPR`), applied with libpcap's
/// offline filter; compiled once per link type met.
pub struct OfflineFilter {
    expr: String,
    programs: std::collections::HashMap<u32, Result<pcap::BpfProgram, String>>,
}

impl OfflineFilter {
    /// Check the expression (compiled for Ethernet): a bad one is refused before the replay.
    pub fn new(expr: &str) -> Result<OfflineFilter, CaptureError> {
        let mut f = OfflineFilter {
            expr: expr.to_string(),
            programs: std::collections::HashMap::new(),
        };
        if let Err(error) = f.program(1) {
            return Err(CaptureError::Filter {
                filter: expr.to_string(),
                error,
            });
        }
        Ok(f)
    }

    fn program(&mut self, linktype: u32) -> Result<&pcap::BpfProgram, String> {
        let expr = &self.expr;
        self.programs
            .entry(linktype)
            .or_insert_with(|| {
                // LINKTYPE_RAW is DLT_RAW in libpcap's numbering.
                let dlt = if linktype == 101 { 12 } else { linktype as i32 };
                pcap::Capture::dead(pcap::Linktype(dlt))
                    .and_then(|c| c.compile(expr, true))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::clone)
    }

    /// Whether the packet passes; an expression that cannot apply to its link type is the error.
    fn passes(&mut self, linktype: u32, data: &[u8]) -> Result<bool, String> {
        Ok(self.program(linktype)?.filter(data))
    }
}

/// Read savefiles one after the other (mapped in place, or decompressed when gzip), with an
/// optional filter, calling `f` for every packet that passes. Stops early when `stop` is set.
pub fn replay(
    paths: &[PathBuf],
    mut filter: Option<&mut OfflineFilter>,
    stop: &AtomicBool,
    mut f: impl FnMut(SourceEvent<'_>),
) {
    for path in paths {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let mut file = match savefile::Savefile::open(path) {
            Ok(s) => s,
            Err(e) => {
                f(SourceEvent::FileError {
                    path: path.clone(),
                    error: e.to_string(),
                });
                continue;
            }
        };
        f(SourceEvent::Origin(crate::base::origin::Origin::File(
            path.display().to_string().into(),
        )));
        // Link types met in this file that the decoder does not know, each said once.
        let mut unknown: Vec<u32> = Vec::new();
        let mut n: u64 = 0;
        loop {
            match file.next() {
                Ok(Some(frame)) => {
                    n += 1;
                    let Some(link) = LinkType::from_dlt(frame.linktype as i32) else {
                        if !unknown.contains(&frame.linktype) {
                            unknown.push(frame.linktype);
                            f(SourceEvent::UnsupportedLink {
                                path: path.clone(),
                                dlt: frame.linktype as i32,
                            });
                        }
                        continue;
                    };
                    if let Some(flt) = filter.as_deref_mut() {
                        match flt.passes(frame.linktype, frame.data) {
                            Ok(true) => {}
                            Ok(false) => continue,
                            Err(error) => {
                                f(SourceEvent::FileError {
                                    path: path.clone(),
                                    error: format!(
                                        "filter {:?} on link type {}: {error}",
                                        flt.expr, frame.linktype
                                    ),
                                });
                                break;
                            }
                        }
                    }
                    f(SourceEvent::Packet {
                        ts: frame.ts,
                        link,
                        data: frame.data,
                        orig_len: frame.orig_len,
                    });
                    if n.is_multiple_of(4096) && stop.load(Ordering::Relaxed) {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    f(SourceEvent::FileError {
                        path: path.clone(),
                        error: format!("after {n} packets: {e}"),
                    });
                    break;
                }
            }
        }
    }
}

/// Wait up to `ms` milliseconds for `fd` to become readable; false on timeout (or a signal).
fn wait_readable(fd: std::os::fd::RawFd, ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is a valid, initialised pollfd that lives across the call, and the count
    // passed is 1, the number of entries it points to.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    n > 0
}

/// Live capture settings.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub iface: String,
    pub filter: Option<String>,
    pub snaplen: i32,
    pub promisc: bool,
    pub buffer_bytes: i32,
    /// AF_PACKET fanout group to join (Linux), so several sensors share one interface's flows.
    pub fanout_group: Option<u16>,
}

/// An opened live capture: opened (and filtered) before the pipeline starts, so a bad interface
/// or filter fails fast with one clear line.
pub struct Live {
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    iface: std::sync::Arc<str>,
}

/// How long the kernel may hold a partly filled block of packets before handing it over.
const BLOCK_TIMEOUT_MS: i32 = 10;

/// A packet libpcap read, as the pipeline takes it.
fn packet_event<'p>(pkt: &pcap::Packet<'p>, link: LinkType) -> SourceEvent<'p> {
    SourceEvent::Packet {
        ts: Ts::from_micros(pkt.header.ts.tv_sec, pkt.header.ts.tv_usec),
        link,
        data: pkt.data,
        orig_len: pkt.header.len,
    }
}

/// The longest a stopping capture goes on reading what the kernel ring holds.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(2);

impl Live {
    pub fn open(cfg: &LiveConfig) -> Result<Live, CaptureError> {
        let open_err = |e: pcap::Error| CaptureError::Open {
            iface: cfg.iface.clone(),
            error: e.to_string(),
        };
        let mut cap = pcap::Capture::from_device(cfg.iface.as_str())
            .map_err(open_err)?
            .promisc(cfg.promisc)
            .snaplen(cfg.snaplen)
            // Not immediate mode: libpcap then uses TPACKET_V3, whose ring packs packets into
            // blocks by their length. Immediate mode means TPACKET_V2, one fixed slot per packet
            // sized by the interface's MTU: on `lo` (MTU 65,536) a 256-MiB ring held only about
            // 4,000 packets and dropped SIP from 20,000 packets/s; in blocks it holds them by the
            // hundred thousand. A block is handed over when full or after `BLOCK_TIMEOUT_MS`
            // (as Suricata's AF_PACKET `block-timeout`): the most a packet waits in the kernel.
            .timeout(BLOCK_TIMEOUT_MS)
            .buffer_size(cfg.buffer_bytes)
            .open()
            .map_err(open_err)?
            // Non-blocking, with our own poll: on Linux (TPACKET_V3) a blocking read does not
            // return on the timeout while the wire is silent, and shutdown must not wait for a packet.
            .setnonblock()
            .map_err(open_err)?;
        skip_loopback_copies(&cap, &cfg.iface);
        if let Some(id) = cfg.fanout_group {
            join_fanout(&cap, id).map_err(|e| CaptureError::Open {
                iface: cfg.iface.clone(),
                error: format!("joining AF_PACKET fanout group {id}: {e}"),
            })?;
        }
        if let Some(filter) = &cfg.filter {
            cap.filter(filter, true).map_err(|e| CaptureError::Filter {
                filter: filter.clone(),
                error: e.to_string(),
            })?;
        }
        let dlt = cap.get_datalink().0;
        let link = LinkType::from_dlt(dlt).ok_or(CaptureError::Link {
            iface: cfg.iface.clone(),
            dlt,
        })?;
        Ok(Live {
            cap,
            link,
            iface: cfg.iface.as_str().into(),
        })
    }

    /// Capture until `stop` is set, calling `f` for every packet, and with `Idle` when the
    /// read timeout expires with nothing to read.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        hep: Option<&hep_listen::HepListener>,
        mut f: impl FnMut(SourceEvent<'_>),
    ) {
        let link = self.link;
        f(SourceEvent::Origin(crate::base::origin::Origin::Interface(
            std::sync::Arc::clone(&self.iface),
        )));
        let mut last_stats = std::time::Instant::now();
        // When the capture last handed something on (a packet or `Idle`): a socket that polls
        // readable but yields nothing (frames libpcap drops itself, such as loopback's outgoing
        // copies) must not hold back the ticks that flush records and stop a failed output.
        let mut last_event = std::time::Instant::now();
        let idle_after = std::time::Duration::from_millis(100);
        // A packet was handed on since `last_event` was set (the clock is read only when the
        // socket has nothing, not per packet).
        let mut delivered = false;
        // Packets since the clock was last read for the kernel counters: under load it is read
        // every 4096 packets, else whenever the socket runs dry.
        const CLOCK_EVERY: u32 = 4096;
        let mut since_clock = 0u32;
        while !stop.load(Ordering::Relaxed) {
            if since_clock >= CLOCK_EVERY {
                since_clock = 0;
                if last_stats.elapsed().as_millis() >= 1000 {
                    last_stats = std::time::Instant::now();
                    let k = self.kernel_stats();
                    f(SourceEvent::Kernel(k));
                    if let Some(h) = hep {
                        f(SourceEvent::Listener(h.counters.snapshot()));
                    }
                }
            }
            if let Some(h) = hep {
                if h.drain(64, &mut f) > 0 {
                    last_event = std::time::Instant::now();
                }
            }
            match self.cap.next_packet() {
                Ok(pkt) => {
                    delivered = true;
                    since_clock += 1;
                    f(packet_event(&pkt, link));
                }
                Err(pcap::Error::TimeoutExpired) => {
                    since_clock = CLOCK_EVERY;
                    // With a HEP listener beside, wait less, so that its copies are not held.
                    let wait = if hep.is_some() { 10 } else { 100 };
                    let readable = wait_readable(self.cap.as_raw_fd(), wait);
                    if std::mem::take(&mut delivered) {
                        last_event = std::time::Instant::now();
                    }
                    if (!readable && hep.is_none()) || last_event.elapsed() >= idle_after {
                        last_event = std::time::Instant::now();
                        f(SourceEvent::Idle);
                    }
                }
                Err(pcap::Error::NoMorePackets) => return,
                Err(e) => {
                    eprintln!("voip-sentinel: capture on {}: {e}", self.link_name());
                    return;
                }
            }
        }
        self.drain(link, &mut f);
    }

    /// After a stop: hand on the packets the kernel ring already holds, which arrived before the
    /// stop (a ring of blocks holds hundreds of thousands when the sensor is behind a burst),
    /// for at most [`DRAIN_FOR`]. A partly filled block reaches the ring within the block
    /// timeout, so the ring counts as empty when nothing came for twice that.
    fn drain(&mut self, link: LinkType, f: &mut impl FnMut(SourceEvent<'_>)) {
        let deadline = std::time::Instant::now() + DRAIN_FOR;
        let mut n = 0u32;
        loop {
            match self.cap.next_packet() {
                Ok(pkt) => {
                    f(packet_event(&pkt, link));
                    n = n.wrapping_add(1);
                    if n.is_multiple_of(1024) && std::time::Instant::now() >= deadline {
                        return;
                    }
                }
                Err(pcap::Error::TimeoutExpired) => {
                    if std::time::Instant::now() >= deadline
                        || !wait_readable(self.cap.as_raw_fd(), 2 * BLOCK_TIMEOUT_MS)
                    {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    }

    fn link_name(&self) -> &'static str {
        "interface"
    }

    pub fn kernel_stats(&mut self) -> KernelStats {
        match self.cap.stats() {
            Ok(s) => KernelStats {
                received: s.received as u64,
                dropped: s.dropped as u64,
                if_dropped: s.if_dropped as u64,
            },
            Err(_) => KernelStats::default(),
        }
    }
}

/// Join the capture's packet socket to AF_PACKET fanout group `id` in hash mode: the kernel sends
/// each flow (its symmetric flow hash, so both directions) to one socket of the group, and with
/// the defrag flag reassembles IP fragments first so that they follow their flow.
#[cfg(target_os = "linux")]
fn join_fanout(cap: &pcap::Capture<pcap::Active>, id: u16) -> std::io::Result<()> {
    let mode = libc::PACKET_FANOUT_HASH | libc::PACKET_FANOUT_FLAG_DEFRAG;
    let arg = libc::c_int::from(id) | ((mode as libc::c_int) << 16);
    set_packet_option(cap, libc::PACKET_FANOUT, arg)
}

/// Set a `SOL_PACKET` option of the capture's socket to an integer.
#[cfg(target_os = "linux")]
fn set_packet_option(
    cap: &pcap::Capture<pcap::Active>,
    option: libc::c_int,
    value: libc::c_int,
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is the open packet socket `cap` owns (alive for this call); the
    // option value is a pointer to a c_int on our stack with its exact size, as the integer
    // options of setsockopt(SOL_PACKET) expect.
    let rc = unsafe {
        libc::setsockopt(
            cap.as_raw_fd(),
            libc::SOL_PACKET,
            option,
            std::ptr::from_ref(&value).cast::<libc::c_void>(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// On a loopback device every packet passes twice, sent and received; libpcap hands on only
/// the received copy. Asking the kernel not to queue the sent copies (Linux 4.20+) keeps them
/// out of the ring, which then holds twice the traffic. On an old kernel nothing changes.
#[cfg(target_os = "linux")]
fn skip_loopback_copies(cap: &pcap::Capture<pcap::Active>, iface: &str) {
    if is_loopback(iface) {
        let _ = set_packet_option(cap, libc::PACKET_IGNORE_OUTGOING, 1);
    }
}

#[cfg(not(target_os = "linux"))]
fn skip_loopback_copies(_cap: &pcap::Capture<pcap::Active>, _iface: &str) {}

/// Whether the interface is a loopback device (its link type in sysfs is `ARPHRD_LOOPBACK`).
/// `any` and unknown names are not.
#[cfg(target_os = "linux")]
fn is_loopback(iface: &str) -> bool {
    !iface.contains('/')
        && std::fs::read_to_string(format!("/sys/class/net/{iface}/type"))
            .is_ok_and(|t| t.trim() == "772")
}

#[cfg(not(target_os = "linux"))]
fn join_fanout(_cap: &pcap::Capture<pcap::Active>, _id: u16) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "AF_PACKET fanout exists only on Linux",
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_a_loopback_device_counts_as_one() {
        assert!(is_loopback("lo"));
        assert!(!is_loopback("any"));
        assert!(!is_loopback("no-such-interface"));
        assert!(!is_loopback("../../../proc/self"));
        assert!(!is_loopback(""));
    }
}

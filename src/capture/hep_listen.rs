//! The HEP listener: a collector for the copies of SIP messages that proxies, SBCs and PBXs
//! send over HEP (Kamailio `siptrace`, OpenSIPS `proto_hep`, FreeSWITCH, Asterisk `res_hep`,
//! heplify), on UDP and TCP at one address (HOMER's 9060 by default). Signalling that travels
//! encrypted (SIP over TLS) reaches the sensor this way, decrypted by the agent.
//!
//! Receiving runs on its own threads (one for UDP, one accepting TCP, one per TCP connection)
//! that only frame packets and queue them, so the capture thread never waits on a socket. Every
//! packet is untrusted: TCP framing errors close the connection, connections and the queue are
//! capped, and what is refused or dropped is counted ([`ListenerCounters`]).

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use super::{CaptureError, SourceEvent};
use crate::base::time::Ts;

/// Where the listener binds unless told otherwise: localhost, HOMER's port.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9060";
/// A HEP packet is at most this long (HEPv3's length field is 16 bits).
const MAX_PACKET: usize = 65_535;
/// How often the socket threads look at the stop flag.
const POLL: Duration = Duration::from_millis(200);

/// Listener settings.
#[derive(Clone, Debug)]
pub struct HepConfig {
    pub addr: SocketAddr,
    /// TCP connections open at once at most; more are closed at once (counted).
    pub max_connections: u64,
    /// Packets queued for the capture thread at most; more are dropped (counted).
    pub queue: usize,
    /// A TCP connection that sends nothing for this long is closed.
    pub idle: Duration,
}

impl HepConfig {
    pub fn new(addr: SocketAddr) -> HepConfig {
        HepConfig {
            addr,
            max_connections: 64,
            queue: 65_536,
            idle: Duration::from_secs(300),
        }
    }
}

/// One HEP packet as it arrived.
pub struct HepPacket {
    pub data: Vec<u8>,
    /// The agent's address (the datagram's or the connection's source).
    pub peer: SocketAddr,
    /// When it arrived (wall clock).
    pub received: Ts,
}

/// What the socket threads count; read by the capture thread for stats and metrics.
#[derive(Debug, Default)]
pub struct ListenerCounters {
    pub udp_packets: AtomicU64,
    pub tcp_packets: AtomicU64,
    /// Packets dropped because the queue to the capture thread was full.
    pub queue_drops: AtomicU64,
    pub tcp_connections: AtomicU64,
    /// Connections closed at once because `max_connections` were open.
    pub tcp_refused: AtomicU64,
    /// Connections closed because their bytes were not HEPv3 packets.
    pub tcp_framing_errors: AtomicU64,
    /// Connections open now.
    pub tcp_open: AtomicU64,
}

/// A snapshot of [`ListenerCounters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListenerStats {
    pub udp_packets: u64,
    pub tcp_packets: u64,
    pub queue_drops: u64,
    pub tcp_connections: u64,
    pub tcp_refused: u64,
    pub tcp_framing_errors: u64,
    pub tcp_open: u64,
}

impl ListenerCounters {
    pub fn snapshot(&self) -> ListenerStats {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ListenerStats {
            udp_packets: r(&self.udp_packets),
            tcp_packets: r(&self.tcp_packets),
            queue_drops: r(&self.queue_drops),
            tcp_connections: r(&self.tcp_connections),
            tcp_refused: r(&self.tcp_refused),
            tcp_framing_errors: r(&self.tcp_framing_errors),
            tcp_open: r(&self.tcp_open),
        }
    }
}

/// A bound listener; its threads stop when it is dropped.
pub struct HepListener {
    rx: Receiver<HepPacket>,
    pub counters: Arc<ListenerCounters>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Where it listens (the port the system chose when asked for port 0).
    pub local: SocketAddr,
}

fn now_ts() -> Ts {
    Ts(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64))
}

impl HepListener {
    /// Bind UDP and TCP at `cfg.addr` (the same port for both) and start receiving.
    pub fn bind(cfg: &HepConfig) -> Result<HepListener, CaptureError> {
        let err = |e: std::io::Error| CaptureError::HepListen {
            addr: cfg.addr,
            error: e.to_string(),
        };
        let udp = UdpSocket::bind(cfg.addr).map_err(err)?;
        let local = udp.local_addr().map_err(err)?;
        let tcp = TcpListener::bind(local).map_err(err)?;
        udp.set_read_timeout(Some(POLL)).map_err(err)?;
        tcp.set_nonblocking(true).map_err(err)?;
        let (tx, rx) = crossbeam_channel::bounded(cfg.queue.max(1));
        let counters = Arc::new(ListenerCounters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(f)
                .map_err(err)
        };
        let threads = vec![
            spawn("hep-udp", {
                let (tx, counters, stop) = (tx.clone(), Arc::clone(&counters), Arc::clone(&stop));
                Box::new(move || receive_udp(&udp, &tx, &counters, &stop))
            })?,
            spawn("hep-tcp", {
                let (counters, stop, cfg) = (Arc::clone(&counters), Arc::clone(&stop), cfg.clone());
                Box::new(move || accept_tcp(&tcp, &tx, &counters, &stop, &cfg))
            })?,
        ];
        Ok(HepListener {
            rx,
            counters,
            stop,
            threads,
            local,
        })
    }

    /// The next queued packet, if one is waiting.
    pub fn try_recv(&self) -> Option<HepPacket> {
        self.rx.try_recv().ok()
    }

    /// Hand queued packets to `f` (at most `max`, so a HEP flood cannot starve a wire capture
    /// running beside it); how many there were.
    pub fn drain(&self, max: usize, f: &mut impl FnMut(SourceEvent<'_>)) -> usize {
        let mut n = 0;
        while n < max {
            let Some(p) = self.try_recv() else { break };
            hand_on(&p, f);
            n += 1;
        }
        n
    }

    /// The sensor without a capture interface (`voip-sentinel hep`): hand every packet on until
    /// `stop` is set, with `Idle` when nothing has arrived for a while and the listener's
    /// counters about once a second.
    pub fn run(&self, stop: &AtomicBool, mut f: impl FnMut(SourceEvent<'_>)) {
        let idle_after = Duration::from_millis(100);
        let (mut last_event, mut last_stats) = (Instant::now(), Instant::now());
        while !stop.load(Ordering::Relaxed) {
            if last_stats.elapsed() >= Duration::from_secs(1) {
                last_stats = Instant::now();
                f(SourceEvent::Listener(self.counters.snapshot()));
            }
            match self.rx.recv_timeout(idle_after) {
                Ok(p) => hand_on(&p, &mut f),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if last_event.elapsed() >= idle_after {
                last_event = Instant::now();
                f(SourceEvent::Idle);
            }
        }
        f(SourceEvent::Listener(self.counters.snapshot()));
    }
}

fn hand_on(p: &HepPacket, f: &mut impl FnMut(SourceEvent<'_>)) {
    f(SourceEvent::Hep {
        ts: p.received,
        data: &p.data,
        peer: p.peer,
    });
}

impl Drop for HepListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Queue one packet, or count it dropped when the capture thread is that far behind.
fn queue(tx: &Sender<HepPacket>, p: HepPacket, counters: &ListenerCounters) {
    if let Err(TrySendError::Full(_)) = tx.try_send(p) {
        counters.queue_drops.fetch_add(1, Ordering::Relaxed);
    }
}

fn receive_udp(
    sock: &UdpSocket,
    tx: &Sender<HepPacket>,
    counters: &ListenerCounters,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; MAX_PACKET];
    while !stop.load(Ordering::Relaxed) {
        match sock.recv_from(&mut buf) {
            Ok((n, peer)) => {
                counters.udp_packets.fetch_add(1, Ordering::Relaxed);
                let p = HepPacket {
                    data: buf[..n].to_vec(),
                    peer,
                    received: now_ts(),
                };
                queue(tx, p, counters);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // ICMP errors reported on the socket and the like: keep receiving.
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn accept_tcp(
    listener: &TcpListener,
    tx: &Sender<HepPacket>,
    counters: &Arc<ListenerCounters>,
    stop: &Arc<AtomicBool>,
    cfg: &HepConfig,
) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, peer)) => {
                if counters.tcp_open.load(Ordering::Relaxed) >= cfg.max_connections {
                    counters.tcp_refused.fetch_add(1, Ordering::Relaxed);
                    continue; // dropped: closed
                }
                counters.tcp_connections.fetch_add(1, Ordering::Relaxed);
                counters.tcp_open.fetch_add(1, Ordering::Relaxed);
                let (tx, c, stop, idle) =
                    (tx.clone(), Arc::clone(counters), Arc::clone(stop), cfg.idle);
                let spawned = std::thread::Builder::new()
                    .name("hep-tcp-conn".to_string())
                    .spawn(move || {
                        receive_tcp(stream, peer, &tx, &c, &stop, idle);
                        c.tcp_open.fetch_sub(1, Ordering::Relaxed);
                    });
                if spawned.is_err() {
                    counters.tcp_open.fetch_sub(1, Ordering::Relaxed);
                    counters.tcp_refused.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Why a connection's reading ended.
#[derive(Debug, PartialEq, Eq)]
enum Closed {
    /// The agent closed it (or it failed), or the sensor is stopping.
    Done,
    Idle,
    /// Bytes that are not a HEPv3 packet: the stream cannot be framed any more.
    Framing,
}

/// Fill `buf` from the stream; waits in `POLL` steps so that a stop is seen.
fn fill(
    s: &mut TcpStream,
    buf: &mut [u8],
    stop: &AtomicBool,
    idle: Duration,
) -> Result<(), Closed> {
    let mut have = 0;
    let mut quiet_since = Instant::now();
    while have < buf.len() {
        if stop.load(Ordering::Relaxed) {
            return Err(Closed::Done);
        }
        match s.read(&mut buf[have..]) {
            Ok(0) => return Err(Closed::Done),
            Ok(n) => {
                have += n;
                quiet_since = Instant::now();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if quiet_since.elapsed() >= idle {
                    return Err(Closed::Idle);
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Err(Closed::Done),
        }
    }
    Ok(())
}

/// Read HEPv3 packets off one connection (each says its length at bytes 4-5) until it closes.
fn receive_tcp(
    mut s: TcpStream,
    peer: SocketAddr,
    tx: &Sender<HepPacket>,
    counters: &ListenerCounters,
    stop: &AtomicBool,
    idle: Duration,
) {
    if s.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let mut head = [0u8; 6];
    loop {
        let closed = match read_packet(&mut s, &mut head, stop, idle) {
            Ok(data) => {
                counters.tcp_packets.fetch_add(1, Ordering::Relaxed);
                let p = HepPacket {
                    data,
                    peer,
                    received: now_ts(),
                };
                queue(tx, p, counters);
                continue;
            }
            Err(c) => c,
        };
        if closed == Closed::Framing {
            counters.tcp_framing_errors.fetch_add(1, Ordering::Relaxed);
        }
        return;
    }
}

fn read_packet(
    s: &mut TcpStream,
    head: &mut [u8; 6],
    stop: &AtomicBool,
    idle: Duration,
) -> Result<Vec<u8>, Closed> {
    fill(s, head, stop, idle)?;
    let len = usize::from(u16::from_be_bytes([head[4], head[5]]));
    if &head[..4] != b"HEP3" || len < head.len() {
        return Err(Closed::Framing);
    }
    let mut data = vec![0u8; len];
    data[..6].copy_from_slice(head);
    fill(s, &mut data[6..], stop, idle)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn listener() -> HepListener {
        let mut cfg = HepConfig::new("127.0.0.1:0".parse().unwrap());
        cfg.max_connections = 2;
        cfg.queue = 4;
        HepListener::bind(&cfg).unwrap()
    }

    fn packet(body: &[u8]) -> Vec<u8> {
        let mut p = b"HEP3".to_vec();
        p.extend_from_slice(&((6 + body.len()) as u16).to_be_bytes());
        p.extend_from_slice(body);
        p
    }

    fn recv(l: &HepListener) -> Option<HepPacket> {
        l.rx.recv_timeout(Duration::from_secs(5)).ok()
    }

    #[test]
    fn udp_and_tcp_packets_arrive_whole_with_their_peer() {
        let l = listener();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.send_to(&packet(b"one"), l.local).unwrap();
        let p = recv(&l).unwrap();
        assert_eq!(
            (p.data, p.peer),
            (packet(b"one"), udp.local_addr().unwrap())
        );

        // TCP: two packets, the second split across writes, framed by their length.
        let mut tcp = TcpStream::connect(l.local).unwrap();
        let (a, b) = (packet(b"first"), packet(&[7u8; 3000]));
        let mut bytes = a.clone();
        bytes.extend_from_slice(&b[..100]);
        tcp.write_all(&bytes).unwrap();
        tcp.flush().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        tcp.write_all(&b[100..]).unwrap();
        assert_eq!(recv(&l).unwrap().data, a);
        assert_eq!(recv(&l).unwrap().data, b);
        let c = l.counters.snapshot();
        assert_eq!((c.udp_packets, c.tcp_packets, c.tcp_connections), (1, 2, 1));
    }

    #[test]
    fn a_stream_that_is_not_hep_is_closed_and_counted() {
        let l = listener();
        let mut tcp = TcpStream::connect(l.local).unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let t = Instant::now();
        while l.counters.snapshot().tcp_framing_errors == 0 && t.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(l.counters.snapshot().tcp_framing_errors, 1);
        // The sensor closed it (a reset: it left the rest unread): reading ends.
        let mut rest = Vec::new();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        match tcp.read_to_end(&mut rest) {
            Ok(n) => assert_eq!(n, 0),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        }
        assert!(l.try_recv().is_none());
    }

    #[test]
    fn connections_and_the_queue_are_capped() {
        let l = listener();
        let _a = TcpStream::connect(l.local).unwrap();
        let _b = TcpStream::connect(l.local).unwrap();
        let t = Instant::now();
        while l.counters.snapshot().tcp_open < 2 && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut c = TcpStream::connect(l.local).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut rest = Vec::new();
        assert_eq!(c.read_to_end(&mut rest).unwrap(), 0, "the third is closed");
        assert_eq!(l.counters.snapshot().tcp_refused, 1);

        // Six datagrams into a queue of four: two dropped, counted.
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..6u8 {
            udp.send_to(&packet(&[i]), l.local).unwrap();
        }
        let t = Instant::now();
        while l.counters.snapshot().udp_packets < 6 && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(l.counters.snapshot().queue_drops, 2);
        let got: Vec<u8> = std::iter::from_fn(|| l.try_recv())
            .map(|p| p.data[6])
            .collect();
        assert_eq!(got, vec![0, 1, 2, 3]);
    }
}

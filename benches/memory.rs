//! Heap bytes per open SIP unit: an open transaction, a completed one waiting out its
//! retransmission window, a call being set up and an answered call, counted by a global
//! allocator that keeps the live byte count (what the tables hold, not what the allocator
//! reserved; peak RSS over a whole capture is `/usr/bin/time -v`'s).
//!
//! The messages are the real ones of the first call in `pcaps/sipp-uac-pcap-g711.pcap` (sipp:
//! INVITE, 100, 180, 200, ACK), copied N times with a new Call-ID, branch and tags each, parsed
//! and summarised as the workers do, then fed to the dialog stage's tables as the correlator
//! does. Run: `cargo bench --bench memory` (`MEMORY_BENCH_N`, default 50,000: below the tables'
//! caps of 100,000).

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use voip_sentinel::base::packet::{PacketCtx, Transport};
use voip_sentinel::base::time::Ts;
use voip_sentinel::capture::{self, SourceEvent};
use voip_sentinel::decode::Decoder;
use voip_sentinel::dialog::{CallConfig, Calls, Msg, Transactions, TxConfig};
use voip_sentinel::sip::parser::parse_datagram;

/// Keeps the bytes allocated and not yet freed.
struct Live;

static LIVE: AtomicI64 = AtomicI64::new(0);

fn add(n: usize) {
    LIVE.fetch_add(n as i64, Ordering::Relaxed);
}

fn sub(n: usize) {
    LIVE.fetch_sub(n as i64, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the count touches only an
// atomic and never allocates.
unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size());
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(layout.size());
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        sub(layout.size());
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        sub(layout.size());
        add(new_size);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

fn live() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

/// The SIP payloads of the capture's first call, in order, with the addresses they went between.
fn first_call(file: &Path) -> Vec<(Vec<u8>, PacketCtx)> {
    let mut decoder = Decoder::new(Default::default());
    let stop = AtomicBool::new(false);
    let mut out: Vec<(Vec<u8>, PacketCtx)> = Vec::new();
    let mut call_id: Option<String> = None;
    capture::replay_files(&[file.to_path_buf()], &stop, |ev| {
        let SourceEvent::Packet { ts, link, data, .. } = ev else {
            return;
        };
        let Ok(d) = decoder.decode(link, data, ts) else {
            return;
        };
        let Ok((m, _)) = parse_datagram(d.payload) else {
            return;
        };
        let Some(id) = m.call_id().map(str::to_string) else {
            return;
        };
        if call_id.get_or_insert_with(|| id.clone()) != &id {
            return;
        }
        let ctx = PacketCtx {
            ts,
            src: d.src,
            dst: d.dst,
            sport: d.sport,
            dport: d.dport,
            transport: Transport::Udp,
            vlan: None,
            flow_id: 0,
            agent: None,
        };
        out.push((d.payload.to_vec(), ctx));
    });
    out
}

/// Copy `i` of a message: its Call-ID, branches and tags made unique, and the `caller`'s
/// address (source or destination) a distinct one.
fn copy_of(wire: &[u8], ctx: &PacketCtx, caller: IpAddr, i: u64) -> (Vec<u8>, PacketCtx) {
    let text = String::from_utf8_lossy(wire)
        .replace("z9hG4bK", &format!("z9hG4bK{i}x"))
        .replace("tag=", &format!("tag={i}x"))
        .replace("Call-ID: ", &format!("Call-ID: {i}x"))
        .replace("Call-Id: ", &format!("Call-Id: {i}x"))
        .replace("i: ", &format!("i: {i}x"));
    let mut c = *ctx;
    let copy = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32));
    if c.src == caller {
        c.src = copy;
    } else if c.dst == caller {
        c.dst = copy;
    }
    c.ts = Ts(ctx.ts.0 + i * 1_000);
    (text.into_bytes(), c)
}

/// Every copy of message `k` of the call, summarised as a worker does (the caller is the
/// source of the call's first message).
fn summaries(call: &[(Vec<u8>, PacketCtx)], k: usize, n: u64) -> Vec<Msg> {
    let caller = call[0].1.src;
    (0..n)
        .map(|i| {
            let (wire, ctx) = copy_of(&call[k].0, &call[k].1, caller, i);
            let (m, _) = parse_datagram(&wire).expect("a copy parses");
            Msg::from_parsed(&m, ctx, i)
        })
        .collect()
}

fn per(bytes: i64, n: u64) -> f64 {
    bytes as f64 / n as f64
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("pcaps/sipp-uac-pcap-g711.pcap");
    let n: u64 = std::env::var("MEMORY_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let call = first_call(&file);
    let methods: Vec<String> = call
        .iter()
        .map(|(w, _)| {
            let line = w.split(|&b| b == b'\r').next().unwrap_or_default();
            String::from_utf8_lossy(line).to_string()
        })
        .collect();
    let invite = methods
        .iter()
        .position(|l| l.starts_with("INVITE"))
        .expect("the call has an INVITE");
    let ok = methods
        .iter()
        .position(|l| l.starts_with("SIP/2.0 200"))
        .expect("the call is answered");
    let ack = methods
        .iter()
        .position(|l| l.starts_with("ACK"))
        .expect("the answer is acknowledged");
    println!(
        "{}: the first call, {} messages ({}); {n} copies",
        file.display(),
        call.len(),
        methods
            .iter()
            .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let all: Vec<Vec<Msg>> = (0..call.len()).map(|k| summaries(&call, k, n)).collect();

    // Transactions: the INVITEs open them; their 200s complete them (kept for the linger).
    let mut tx = Transactions::new(TxConfig::default());
    let mut records = Vec::new();
    let base = live();
    for m in &all[invite] {
        tx.on_message(m, &mut records);
    }
    let open = live() - base;
    for m in &all[ok] {
        tx.on_message(m, &mut records);
        records.clear();
    }
    let lingering = live() - base;
    println!(
        "transaction: open {:.0} bytes, completed (kept for retransmissions) {:.0} bytes",
        per(open, n),
        per(lingering, n)
    );
    drop(tx);

    // Calls: an INVITE sets one up; every message of the call, in order, answers it.
    let mut calls = Calls::new(CallConfig::default());
    let mut out = Vec::new();
    let base = live();
    for m in &all[invite] {
        calls.on_message(m, &mut out);
    }
    // What a call exposes (plaintext signalling) is taken by detection after each message, as
    // the correlator does; left here it was counted as the call's (about 540 bytes each while
    // it held its evidence as JSON).
    drop(std::mem::take(&mut calls.exposures));
    let setting_up = live() - base;
    let mut after = |from: usize, to: usize| {
        for list in &all[from..to] {
            for m in list {
                calls.on_message(m, &mut out);
            }
        }
        out.clear();
        drop(std::mem::take(&mut calls.exposures));
        live() - base
    };
    let answered = after(invite + 1, ack + 1);
    let ended = after(ack + 1, all.len());
    println!(
        "call: being set up {:.0} bytes, answered {:.0} bytes, hung up (its record written, \
         the call remembered through its linger) {:.0} bytes",
        per(setting_up, n),
        per(answered, n),
        per(ended, n)
    );
}

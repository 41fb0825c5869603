//! Synthetic captures for load and exhaustion tests, made from templates taken from real
//! captures (sipp's and kamailio's messages and sipp's G.711 RTP in `pcaps/`): the templates'
//! Call-IDs, tags, branches, nonces, addresses, ports, SSRCs, sequence numbers and timestamps
//! are rewritten, nothing else is typed by hand. Output: classic pcap (microseconds,
//! Ethernet/IPv4/UDP), written as it is generated, so any size fits in constant memory.
//! Deterministic: the same arguments and seed give the same bytes.
//!
//! Shared by `examples/synth/main.rs` (the command) and the integration tests (`#[path]`).

#![allow(dead_code)]

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::Path;

/// The templates: one sipp call (INVITE with SDP, 180, 200 with SDP, ACK, BYE, 200) and one
/// RTP packet from `sipp-uac-pcap-g711.pcap`; one digest REGISTER and its 401 from
/// `kamailio-register-digest.pcap`.
#[derive(Clone, Debug)]
pub struct Templates {
    pub invite: String,
    pub ringing: String,
    pub ok_invite: String,
    pub ack: String,
    pub bye: String,
    pub ok_bye: String,
    /// The call's identifiers as the templates hold them.
    call: Ids,
    /// RTP header (12 bytes) and payload of the first G.711 packet.
    pub rtp_header: [u8; 12],
    pub rtp_payload: Vec<u8>,
    /// REGISTER with credentials, and the 401 its first attempt got.
    pub register: String,
    pub unauthorized: String,
    reg: Ids,
    /// First packet time of the call capture, in microseconds since the epoch.
    pub base_us: u64,
}

/// The identifiers of one template dialog, as they appear in its text.
#[derive(Clone, Debug)]
struct Ids {
    call_id: String,
    from_tag: String,
    to_tag: String,
    /// Via branch up to its last '-' (sipp numbers the transactions after it).
    branch_prefix: String,
    caller: Ipv4Addr,
    callee: Ipv4Addr,
    caller_user: String,
    callee_user: String,
    caller_media_port: Option<u16>,
    callee_media_port: Option<u16>,
    nonce: String,
    response: String,
}

fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split("\r\n")
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
}

fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let i = value.find(name)? + name.len();
    let rest = &value[i..];
    let end = rest
        .find(|c: char| c == ';' || c == '>' || c == ',' || c == '"' || c.is_whitespace())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

fn user_of(value: &str) -> String {
    param(value, "sip:")
        .and_then(|u| u.split_once('@').map(|(u, _)| u.to_string()))
        .unwrap_or_default()
}

fn media_port(text: &str) -> Option<u16> {
    text.split("\r\n")
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|r| r.split(' ').next())
        .and_then(|p| p.parse().ok())
}

struct Udp {
    ts_us: u64,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload: Vec<u8>,
}

fn read_udp(path: &Path) -> io::Result<Vec<Udp>> {
    let mut cap = pcap::Capture::from_file(path)
        .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
    let mut out = Vec::new();
    while let Ok(p) = cap.next_packet() {
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(p.data) else {
            continue;
        };
        let (Some(etherparse::NetSlice::Ipv4(ip)), Some(etherparse::TransportSlice::Udp(u))) =
            (&s.net, &s.transport)
        else {
            continue;
        };
        out.push(Udp {
            ts_us: p.header.ts.tv_sec as u64 * 1_000_000 + p.header.ts.tv_usec as u64,
            src: ip.header().source_addr(),
            dst: ip.header().destination_addr(),
            payload: u.payload().to_vec(),
        });
    }
    Ok(out)
}

fn ids_of(first: &str, answer: &str, src: Ipv4Addr, dst: Ipv4Addr) -> Ids {
    let via = header(first, "Via").unwrap_or_default();
    let branch = param(via, "branch=").unwrap_or_default();
    let auth = header(first, "Authorization").unwrap_or_default();
    let chal = header(answer, "WWW-Authenticate").unwrap_or_default();
    Ids {
        call_id: header(first, "Call-ID").unwrap_or_default().to_string(),
        from_tag: param(header(first, "From").unwrap_or_default(), "tag=")
            .unwrap_or_default()
            .to_string(),
        to_tag: param(header(answer, "To").unwrap_or_default(), "tag=")
            .unwrap_or_default()
            .to_string(),
        branch_prefix: branch
            .rsplit_once('-')
            .map_or(branch, |(p, _)| p)
            .to_string(),
        caller: src,
        callee: dst,
        caller_user: user_of(header(first, "From").unwrap_or_default()),
        callee_user: user_of(header(first, "To").unwrap_or_default()),
        caller_media_port: media_port(first),
        callee_media_port: media_port(answer),
        nonce: param(chal, "nonce=\"").unwrap_or_default().to_string(),
        response: param(auth, "response=\"").unwrap_or_default().to_string(),
    }
}

impl Templates {
    /// Read the templates from the project's captures (`pcaps/` under `root`).
    pub fn load(root: &Path) -> io::Result<Templates> {
        let bad = |what: &str| io::Error::other(format!("template capture lacks {what}"));
        let g711 = read_udp(&root.join("pcaps/sipp-uac-pcap-g711.pcap"))?;
        let text = |u: &Udp| String::from_utf8_lossy(&u.payload).into_owned();
        let invite_pkt = g711
            .iter()
            .find(|u| u.payload.starts_with(b"INVITE "))
            .ok_or_else(|| bad("an INVITE"))?;
        let invite = text(invite_pkt);
        let cid = header(&invite, "Call-ID").unwrap_or_default().to_string();
        let of_call: Vec<String> = g711
            .iter()
            .map(text)
            .filter(|t| header(t, "Call-ID") == Some(cid.as_str()))
            .collect();
        let find = |start: &str, cseq: &str| {
            of_call
                .iter()
                .find(|t| {
                    t.starts_with(start) && header(t, "CSeq").is_some_and(|c| c.ends_with(cseq))
                })
                .cloned()
                .ok_or_else(|| bad(start))
        };
        let ringing = find("SIP/2.0 18", "INVITE")?;
        let ok_invite = find("SIP/2.0 200", "INVITE")?;
        let ack = find("ACK ", "ACK")?;
        let bye = find("BYE ", "BYE")?;
        let ok_bye = find("SIP/2.0 200", "BYE")?;
        let rtp = g711
            .iter()
            .find(|u| u.payload.len() > 12 && u.payload[0] >> 6 == 2 && u.payload[1] & 0x7f == 8)
            .ok_or_else(|| bad("a PCMA RTP packet"))?;
        let mut rtp_header = [0u8; 12];
        rtp_header.copy_from_slice(&rtp.payload[..12]);
        let rtp_payload = rtp.payload[12..].iter().take(160).copied().collect();
        let call = ids_of(&invite, &ok_invite, invite_pkt.src, invite_pkt.dst);

        let regs = read_udp(&root.join("pcaps/kamailio-register-digest.pcap"))?;
        let reg_pkt = regs
            .iter()
            .find(|u| {
                u.payload.starts_with(b"REGISTER ") && header(&text(u), "Authorization").is_some()
            })
            .ok_or_else(|| bad("a REGISTER with credentials"))?;
        let register = text(reg_pkt);
        let rcid = header(&register, "Call-ID").unwrap_or_default().to_string();
        let unauthorized = regs
            .iter()
            .map(text)
            .find(|t| t.starts_with("SIP/2.0 401") && header(t, "Call-ID") == Some(rcid.as_str()))
            .ok_or_else(|| bad("a 401"))?;
        // The 401 answered the first attempt: it answers ours, whose CSeq is the second's.
        let cseq_old = header(&unauthorized, "CSeq")
            .unwrap_or_default()
            .to_string();
        let cseq_new = header(&register, "CSeq").unwrap_or_default().to_string();
        let unauthorized = unauthorized.replacen(&cseq_old, &cseq_new, 1);
        let reg = ids_of(&register, &unauthorized, reg_pkt.src, reg_pkt.dst);
        Ok(Templates {
            invite,
            ringing,
            ok_invite,
            ack,
            bye,
            ok_bye,
            call,
            rtp_header,
            rtp_payload,
            register,
            unauthorized,
            reg,
            base_us: g711.first().map_or(0, |u| u.ts_us),
        })
    }

    /// The 180's text turned into a 100 Trying (status line, no To tag), for calls that
    /// get one before ringing.
    pub fn trying(&self) -> String {
        let status = self.ringing.split("\r\n").next().unwrap_or_default();
        self.ringing
            .replacen(status, "SIP/2.0 100 Trying", 1)
            .replace(&format!(";tag={}", self.call.to_tag), "")
    }
}

/// What replaces the template's identifiers in one dialog.
#[derive(Clone, Debug)]
pub struct Vars {
    pub call_id: String,
    pub from_tag: String,
    pub to_tag: String,
    pub branch: String,
    pub caller: (Ipv4Addr, u16),
    pub callee: (Ipv4Addr, u16),
    pub caller_user: String,
    pub callee_user: String,
    pub caller_media_port: u16,
    pub callee_media_port: u16,
    pub nonce: String,
    pub response: String,
}

/// Rewrite `t` (a template of the dialog `ids`) with `v`, and set Content-Length to the body's.
fn fill(t: &str, ids: &Ids, v: &Vars) -> Vec<u8> {
    let mut s = t.to_string();
    let mut sub = |old: &str, new: &str| {
        if !old.is_empty() {
            s = s.replace(old, new);
        }
    };
    // Longest and most specific first: the Call-ID holds the caller's address.
    sub(&ids.call_id, &v.call_id);
    sub(&ids.from_tag, &v.from_tag);
    if !ids.to_tag.is_empty() {
        sub(&format!("tag={}", ids.to_tag), &format!("tag={}", v.to_tag));
    }
    sub(&ids.branch_prefix, &v.branch);
    if !ids.nonce.is_empty() {
        sub(
            &format!("nonce=\"{}\"", ids.nonce),
            &format!("nonce=\"{}\"", v.nonce),
        );
    }
    if !ids.response.is_empty() {
        sub(
            &format!("response=\"{}\"", ids.response),
            &format!("response=\"{}\"", v.response),
        );
    }
    sub(
        &format!("{}:5060", ids.caller),
        &format!("{}:{}", v.caller.0, v.caller.1),
    );
    sub(
        &format!("{}:5060", ids.callee),
        &format!("{}:{}", v.callee.0, v.callee.1),
    );
    sub(&ids.caller.to_string(), &v.caller.0.to_string());
    sub(&ids.callee.to_string(), &v.callee.0.to_string());
    if let Some(p) = ids.caller_media_port {
        sub(
            &format!("m=audio {p} "),
            &format!("m=audio {} ", v.caller_media_port),
        );
    }
    if let Some(p) = ids.callee_media_port {
        sub(
            &format!("m=audio {p} "),
            &format!("m=audio {} ", v.callee_media_port),
        );
    }
    sub(
        &format!("sip:{}@", ids.caller_user),
        &format!("sip:{}@", v.caller_user),
    );
    sub(
        &format!("username=\"{}\"", ids.caller_user),
        &format!("username=\"{}\"", v.caller_user),
    );
    if ids.callee_user != ids.caller_user {
        sub(
            &format!("sip:{}@", ids.callee_user),
            &format!("sip:{}@", v.callee_user),
        );
    }
    let Some((head, body)) = s.split_once("\r\n\r\n") else {
        return s.into_bytes();
    };
    let head: Vec<String> = head
        .split("\r\n")
        .map(|l| match l.split_once(':') {
            Some((n, _)) if n.trim().eq_ignore_ascii_case("Content-Length") => {
                format!("{n}: {}", body.len())
            }
            _ => l.to_string(),
        })
        .collect();
    format!("{}\r\n\r\n{body}", head.join("\r\n")).into_bytes()
}

/// splitmix64: small, seeded, good enough for identifiers.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits);
        while s.len() < digits {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(digits);
        s
    }
}

/// A classic pcap writer (microsecond timestamps, Ethernet).
pub struct PcapWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    pub packets: u64,
    pub bytes: u64,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?; // thiszone
        out.write_all(&0u32.to_le_bytes())?; // sigfigs
        out.write_all(&65_535u32.to_le_bytes())?; // snaplen
        out.write_all(&1u32.to_le_bytes())?; // LINKTYPE_ETHERNET
        Ok(PcapWriter {
            out,
            buf: Vec::with_capacity(2048),
            packets: 0,
            bytes: 0,
        })
    }

    /// One Ethernet/IPv4/UDP frame.
    pub fn udp(
        &mut self,
        ts_us: u64,
        src: (Ipv4Addr, u16),
        dst: (Ipv4Addr, u16),
        payload: &[u8],
    ) -> io::Result<()> {
        self.buf.clear();
        etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.0.octets(), dst.0.octets(), 64)
            .udp(src.1, dst.1)
            .write(&mut self.buf, payload)
            .map_err(io::Error::other)?;
        let len = self.buf.len() as u32;
        self.out
            .write_all(&((ts_us / 1_000_000) as u32).to_le_bytes())?;
        self.out
            .write_all(&((ts_us % 1_000_000) as u32).to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&self.buf)?;
        self.packets += 1;
        self.bytes += len as u64;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The `n`th address after `base` (skipping nothing: tests do not care about .0 and .255).
pub fn nth_addr(base: Ipv4Addr, n: u64) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(base).wrapping_add(n as u32))
}

/// One RTP packet of a stream: the template's header with the stream's SSRC, sequence number,
/// timestamp (and marker on the first), and the template's payload.
fn rtp(t: &Templates, ssrc: u32, seq: u16, ts: u32, first: bool) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + t.rtp_payload.len());
    p.extend_from_slice(&t.rtp_header);
    p[1] = (p[1] & 0x7f) | if first { 0x80 } else { 0 };
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&t.rtp_payload);
    p
}

/// `calls` mode settings.
#[derive(Clone, Debug)]
pub struct CallsSpec {
    pub calls: u64,
    pub rtp_rounds: u64,
    pub both_directions: bool,
    pub seed: u64,
    /// Packet time over which the call set-ups (and the hang-ups) are spread.
    pub setup_us: u64,
}

/// What a generator wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub packets: u64,
    pub bytes: u64,
    pub sip_messages: u64,
    pub invites: u64,
    pub registers: u64,
    pub unauthorized: u64,
    pub rtp_packets: u64,
    pub rtp_streams: u64,
    pub first_us: u64,
    pub last_us: u64,
}

struct Call {
    vars: Vars,
    ssrc: [u32; 2],
    seq: [u16; 2],
    ts: [u32; 2],
}

/// Caller `i`: 10.0.0.0/8 walked from 10.0.0.1, SIP port 5060, media port 16000; callees:
/// 172.16.0.0/12, one address per 20,000 calls, media ports 20000, 20002, ...
fn call_vars(t: &Templates, i: u64, rng: &mut Rng) -> Vars {
    let caller = nth_addr(Ipv4Addr::new(10, 0, 0, 1), i);
    let callee = nth_addr(Ipv4Addr::new(172, 16, 0, 1), i / 20_000);
    Vars {
        call_id: format!("synth-{}-{}@{caller}", i + 1, rng.hex(8)),
        from_tag: rng.hex(16),
        to_tag: rng.hex(16),
        branch: format!("z9hG4bK-{}", rng.hex(12)),
        caller: (caller, 5060),
        callee: (callee, 5060),
        caller_user: format!("u{}", i + 1),
        callee_user: t.call.callee_user.clone(),
        caller_media_port: 16_000,
        callee_media_port: 20_000 + 2 * (i % 20_000) as u16,
        nonce: rng.hex(32),
        response: rng.hex(32),
    }
}

/// `calls` mode: every call set up first (INVITE, 100, 180, 200, ACK, each call in its own
/// slot of `setup_us / calls`), then `rtp_rounds` rounds 20 ms apart of one RTP packet per
/// stream (caller to callee; and back with `both_directions`), then every BYE and its 200.
/// All in packet-time order. Each call holds its state (about 300 bytes): 100,000 calls is
/// 30 MB.
pub fn calls<W: Write>(
    t: &Templates,
    spec: &CallsSpec,
    out: &mut PcapWriter<W>,
) -> io::Result<Summary> {
    let mut rng = Rng::new(spec.seed);
    let n = spec.calls.max(1);
    let dirs = if spec.both_directions { 2 } else { 1 };
    let slot = (spec.setup_us / n).max(5);
    let trying = t.trying();
    let mut s = Summary {
        first_us: t.base_us,
        ..Summary::default()
    };
    let mut list: Vec<Call> = Vec::with_capacity(n as usize);
    let mut now = t.base_us;
    for i in 0..n {
        let vars = call_vars(t, i, &mut rng);
        let a = (vars.caller.0, vars.caller.1);
        let b = (vars.callee.0, vars.callee.1);
        let step = slot / 5;
        let msgs: [(&str, bool); 5] = [
            (&t.invite, true),
            (&trying, false),
            (&t.ringing, false),
            (&t.ok_invite, false),
            (&t.ack, true),
        ];
        for (k, (tpl, from_caller)) in msgs.iter().enumerate() {
            let ts = now + k as u64 * step;
            let p = fill(tpl, &t.call, &vars);
            let (src, dst) = if *from_caller { (a, b) } else { (b, a) };
            out.udp(ts, src, dst, &p)?;
            s.sip_messages += 1;
        }
        s.invites += 1;
        now += slot;
        list.push(Call {
            vars,
            ssrc: [rng.next() as u32, rng.next() as u32],
            seq: [rng.next() as u16, rng.next() as u16],
            ts: [rng.next() as u32, rng.next() as u32],
        });
    }
    let streams = n * dirs;
    let gap = (20_000 / streams).max(1);
    for r in 0..spec.rtp_rounds {
        let round = now + 20_000 * (r + 1);
        for (i, c) in list.iter_mut().enumerate() {
            for d in 0..dirs as usize {
                let ts = round + (i as u64 * dirs + d as u64) * gap;
                let a = (c.vars.caller.0, c.vars.caller_media_port);
                let b = (c.vars.callee.0, c.vars.callee_media_port);
                let (src, dst) = if d == 0 { (a, b) } else { (b, a) };
                let p = rtp(t, c.ssrc[d], c.seq[d], c.ts[d], r == 0);
                c.seq[d] = c.seq[d].wrapping_add(1);
                c.ts[d] = c.ts[d].wrapping_add(160);
                out.udp(ts, src, dst, &p)?;
                s.rtp_packets += 1;
            }
        }
    }
    if spec.rtp_rounds > 0 {
        s.rtp_streams = streams;
        now += 20_000 * (spec.rtp_rounds + 1);
    }
    for c in &list {
        let a = (c.vars.caller.0, c.vars.caller.1);
        let b = (c.vars.callee.0, c.vars.callee.1);
        out.udp(now, a, b, &fill(&t.bye, &t.call, &c.vars))?;
        out.udp(now + slot / 2, b, a, &fill(&t.ok_bye, &t.call, &c.vars))?;
        s.sip_messages += 2;
        now += slot;
    }
    s.packets = out.packets;
    s.bytes = out.bytes;
    s.last_us = now;
    Ok(s)
}

/// `flood` mode settings.
#[derive(Clone, Debug)]
pub struct FloodSpec {
    pub count: u64,
    /// Requests per second of packet time.
    pub rate: u64,
    pub seed: u64,
}

/// Where every flood request goes.
pub const FLOOD_SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// `flood` mode: `count` requests from `count` distinct sources (10.0.0.1 upwards), each with
/// its own Call-ID and From user, all to [`FLOOD_SERVER`], `rate` a second of packet time.
/// Request `i` by `i % 4`: 0, an INVITE left unanswered; 1, a REGISTER with credentials
/// answered 401; 2, an INVITE answered 100 Trying; 3, a REGISTER with credentials left
/// unanswered. Every INVITE is followed by one RTP packet from the SDP's address and port to
/// the server (port 20000 + 2 * (i/2 % 20000)), with its own SSRC.
pub fn flood<W: Write>(
    t: &Templates,
    spec: &FloodSpec,
    out: &mut PcapWriter<W>,
) -> io::Result<Summary> {
    let mut rng = Rng::new(spec.seed);
    let gap = (1_000_000 / spec.rate.max(1)).max(1);
    let trying = t.trying();
    let mut s = Summary {
        first_us: t.base_us,
        ..Summary::default()
    };
    let server = (FLOOD_SERVER, 5060);
    for i in 0..spec.count {
        let now = t.base_us + i * gap;
        let mut v = call_vars(t, i, &mut rng);
        v.callee = server;
        let src = v.caller;
        match i % 4 {
            0 | 2 => {
                out.udp(now, src, server, &fill(&t.invite, &t.call, &v))?;
                s.invites += 1;
                s.sip_messages += 1;
                if i % 4 == 2 {
                    out.udp(now + gap / 4, server, src, &fill(&trying, &t.call, &v))?;
                    s.sip_messages += 1;
                }
                let port = 20_000 + 2 * ((i / 2) % 20_000) as u16;
                let p = rtp(
                    t,
                    rng.next() as u32,
                    rng.next() as u16,
                    rng.next() as u32,
                    true,
                );
                out.udp(
                    now + gap / 2,
                    (src.0, v.caller_media_port),
                    (FLOOD_SERVER, port),
                    &p,
                )?;
                s.rtp_packets += 1;
                s.rtp_streams += 1;
            }
            _ => {
                out.udp(now, src, server, &fill(&t.register, &t.reg, &v))?;
                s.registers += 1;
                s.sip_messages += 1;
                if i % 4 == 1 {
                    out.udp(
                        now + gap / 4,
                        server,
                        src,
                        &fill(&t.unauthorized, &t.reg, &v),
                    )?;
                    s.unauthorized += 1;
                    s.sip_messages += 1;
                }
            }
        }
        s.last_us = now + gap / 2;
    }
    s.packets = out.packets;
    s.bytes = out.bytes;
    Ok(s)
}

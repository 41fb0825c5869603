//! Packet decode layer: captured frame -> (VLAN, innermost IP, L4 ports, L4 payload).
//!
//! Every packet is treated as hostile: all reads are bounds-checked, loops are bounded
//! (link headers, IPv6 extension headers, tunnel nesting, SCTP chunks), and fragment
//! reassembly is capped in datagrams, bytes and packet time.
//!
//! Layers: Ethernet II, 802.1Q/802.1ad/QinQ, MPLS, PPPoE session, Linux cooked v1/v2,
//! BSD NULL/LOOP, raw IP; IPv4 (options skipped, checksum not verified), IPv6 with
//! extension headers; UDP, TCP, SCTP; tunnels IP-in-IP (4), IPv6-in-IP (41), GRE (47: v0 with
//! checksum/key/sequence carrying IPv4, IPv6, bridged Ethernet, ERSPAN I/II/III, MPLS; v1
//! PPTP carrying PPP), at most [`MAX_TUNNEL_DEPTH`] nested.

pub mod defrag;
pub mod hep;
pub mod link;
pub mod tunnel;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_pcap;

use std::net::{IpAddr, Ipv6Addr};

use etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice, TcpHeaderSlice, UdpHeaderSlice};

use crate::base::packet::{HepAgent, LinkType, Transport};
use crate::base::time::Ts;
use defrag::{Defrag, Fragment, Insert};
pub use defrag::{DefragConfig, DefragStats, FragKey};
use link::{Vlans, L3};

/// Most tunnel encapsulations (IP-in-IP, GRE, ...) followed in one frame.
pub const MAX_TUNNEL_DEPTH: usize = 4;
/// Most IPv6 extension headers (and IPv4 AH headers) walked in one IP packet.
const MAX_EXT_HEADERS: usize = 16;
/// Most SCTP chunks looked at in one packet.
const MAX_SCTP_CHUNKS: usize = 256;

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    pub seq: u32,
    pub ack: u32,
    /// FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 (URG=0x20 ECE=0x40 CWR=0x80)
    pub flags: u8,
    pub window: u16,
}

/// One decoded packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Outermost 802.1Q/802.1ad VLAN id (the first tag met, tunnels included).
    pub vlan: Option<u16>,
    /// QinQ inner id (the second tag met).
    pub vlan_inner: Option<u16>,
    /// Innermost IP header (after tunnels).
    pub src: IpAddr,
    pub dst: IpAddr,
    pub transport: Transport,
    pub sport: u16,
    pub dport: u16,
    pub tcp: Option<TcpInfo>,
    /// L4 payload (UDP payload, TCP payload, SCTP chunks region), clipped to the IP length.
    pub payload: &'a [u8],
    /// Came out of IP fragment reassembly.
    pub reassembled: bool,
    /// The datagram's fragment key, when it was reassembled (its fragments' frames are kept
    /// by that key when evidence is written). Boxed: reassembly is rare, and a larger
    /// `Decoded` is copied by `memcpy` on every packet's way out of the decoder.
    pub frag_key: Option<Box<FragKey>>,
    /// Was inside IP-in-IP / GRE / ERSPAN / ...
    pub tunneled: bool,
    /// Bytes of the innermost IP packet (header included).
    pub ip_len: usize,
    /// A HEP copy: when the agent (the proxy that sent it) saw the message.
    pub agent_ts: Option<Ts>,
    /// A HEP copy: the agent that sent it.
    pub agent: Option<HepAgent>,
    /// A HEP copy of an RTCP report as JSON (protocol type 5), in `payload`: not a datagram.
    pub rtcp_json: bool,
}

/// Why a frame yielded no [`Decoded`]. `Display` names the layer; [`DecodeError::kind`] gives
/// a stable metrics label.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The frame ends inside a header, or before the length a header announces.
    #[error("{layer}: truncated")]
    Truncated { layer: &'static str },
    /// A capture DLT with no [`LinkType`] (for the caller, when `from_dlt` gives `None`).
    #[error("link: unsupported link type {0}")]
    UnsupportedLink(i32),
    /// ARP, LLDP, PPP control, ...: the ethertype (or PPP protocol / loopback family).
    #[error("link: not IP (type {ethertype:#06x})")]
    NotIp { ethertype: u16 },
    /// ICMP, ESP, OSPF, ...: the IP protocol number.
    #[error("ip: unsupported protocol {0}")]
    UnsupportedIpProto(u8),
    #[error("{layer}: malformed ({reason})")]
    Malformed {
        layer: &'static str,
        reason: &'static str,
    },
    /// A HEP copy of something other than SIP or an RTCP report (logs, ...): its protocol type.
    #[error("hep: protocol type {0} is not SIP")]
    HepNotSip(u8),
    /// A HEP copy whose auth key (HEPv3 chunk 14) is missing or is not the `--hep-password`.
    #[error("hep: wrong or missing auth key")]
    HepAuth,
    /// A fragment was stored; nothing to hand on yet.
    #[error("defrag: fragment held")]
    FragmentHeld,
    /// The fragment was refused (unaligned, inconsistent, too long, memory cap, too many
    /// pieces); see [`DefragStats`].
    #[error("defrag: fragment dropped ({reason})")]
    FragmentDropped { reason: &'static str },
}

impl DecodeError {
    /// Stable snake_case label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::UnsupportedLink(_) => "unsupported_link",
            DecodeError::NotIp { .. } => "not_ip",
            DecodeError::UnsupportedIpProto(_) => "unsupported_ip_proto",
            DecodeError::Malformed { layer, .. } => match *layer {
                "ethernet" => "malformed_ethernet",
                "vlan" => "malformed_vlan",
                "mpls" => "malformed_mpls",
                "pppoe" => "malformed_pppoe",
                "ppp" => "malformed_ppp",
                "sll" => "malformed_sll",
                "sll2" => "malformed_sll2",
                "raw" => "malformed_raw",
                "ipv4" => "malformed_ipv4",
                "ipv6" => "malformed_ipv6",
                "udp" => "malformed_udp",
                "tcp" => "malformed_tcp",
                "sctp" => "malformed_sctp",
                "gre" => "malformed_gre",
                "erspan" => "malformed_erspan",
                "tunnel" => "malformed_tunnel",
                "defrag" => "malformed_defrag",
                "ip" => "malformed_ip",
                "hep" => "malformed_hep",
                _ => "malformed",
            },
            DecodeError::HepNotSip(_) => "hep_not_sip",
            DecodeError::HepAuth => "hep_bad_auth",
            DecodeError::FragmentHeld => "fragment_held",
            DecodeError::FragmentDropped { .. } => "fragment_dropped",
        }
    }
}

fn truncated(layer: &'static str) -> DecodeError {
    DecodeError::Truncated { layer }
}

fn malformed(layer: &'static str, reason: &'static str) -> DecodeError {
    DecodeError::Malformed { layer, reason }
}

/// Decodes frames; owns the fragment table and the reassembly buffer.
#[derive(Debug)]
pub struct Decoder {
    defrag: Defrag,
    /// Reassembled payload of the last completed datagram (reused).
    buf: Vec<u8>,
    /// Take [`fast_udp4`] first (off only to check it against the general path).
    fast_path: bool,
    /// The key of the last fragment decoded (held or dropped), for whoever keeps its frame.
    last_fragment: Option<FragKey>,
}

/// State carried down the layers of one frame.
#[derive(Default)]
struct Ctx {
    vlans: Vlans,
    tunneled: bool,
    depth: usize,
}

/// The innermost IP header seen so far.
#[derive(Clone, Copy)]
struct IpMeta {
    src: IpAddr,
    dst: IpAddr,
    v6: bool,
    /// Whole IP packet length.
    ip_len: usize,
    /// Length of the IP packet region `ip_pkt` whose tail the walk is consuming; used to
    /// compute the IPv6 unfragmentable part length.
    pkt_len: usize,
}

enum Layer {
    Ip(L3),
    Proto(u8),
}

enum Walk<'b> {
    Done(Decoded<'b>),
    Frag { frag: Fragment<'b>, meta: IpMeta },
}

impl Decoder {
    pub fn new(cfg: DefragConfig) -> Self {
        Decoder {
            defrag: Defrag::new(cfg),
            buf: Vec::new(),
            fast_path: true,
            last_fragment: None,
        }
    }

    /// A decoder that always takes the general path (every link and layer, fragments and
    /// tunnels): the reference [`fast_udp4`] is checked against.
    pub fn without_fast_path(cfg: DefragConfig) -> Self {
        Decoder {
            fast_path: false,
            ..Decoder::new(cfg)
        }
    }

    /// Decode one captured frame. `ts` is its capture time (drives fragment timeouts; never
    /// the wall clock). Fragments are held until the datagram is complete; then the
    /// [`Decoded`] borrows the reassembled bytes from the decoder.
    pub fn decode<'a>(
        &'a mut self,
        link: LinkType,
        frame: &'a [u8],
        ts: Ts,
    ) -> Result<Decoded<'a>, DecodeError> {
        if !self.defrag.is_empty() {
            self.defrag.expire(ts);
        }
        if link == LinkType::Ethernet && self.fast_path {
            if let Some(d) = fast_udp4(frame) {
                return unwrap_hep(d);
            }
        }
        let mut ctx = Ctx::default();
        let (l3, data) = link::link(link, frame, &mut ctx.vlans)?;
        let (frag, meta) = match walk(data, Layer::Ip(l3), None, &mut ctx, true)? {
            Walk::Done(d) => return unwrap_hep(d),
            Walk::Frag { frag, meta } => (frag, meta),
        };
        let key = frag.key;
        self.last_fragment = Some(key);
        let r = match self.defrag.insert(frag, ts, &mut self.buf) {
            Insert::Held => return Err(DecodeError::FragmentHeld),
            Insert::Dropped(reason) => return Err(DecodeError::FragmentDropped { reason }),
            Insert::Complete(r) => r,
        };
        let this: &'a Decoder = self;
        let data = this.buf.get(..r.len).ok_or(truncated("defrag"))?;
        let meta = IpMeta {
            ip_len: r.hdr_len.saturating_add(r.len),
            pkt_len: data.len(),
            ..meta
        };
        match walk(data, Layer::Proto(r.proto), Some(meta), &mut ctx, false)? {
            Walk::Done(mut d) => {
                d.reassembled = true;
                d.frag_key = Some(Box::new(key));
                unwrap_hep(d)
            }
            Walk::Frag { .. } => Err(malformed("defrag", "nested fragment")),
        }
    }

    /// The datagram the last fragment decoded belongs to (after `FragmentHeld` or
    /// `FragmentDropped`).
    pub fn last_fragment(&self) -> Option<FragKey> {
        self.last_fragment
    }

    /// Packet time reached `now` with no packet (the end of a part of a replay): the
    /// datagrams a packet at `now` would time out.
    pub fn expire_fragments(&mut self, now: Ts) {
        if !self.defrag.is_empty() {
            self.defrag.expire(now);
        }
    }

    pub fn defrag_stats(&self) -> DefragStats {
        self.defrag.stats()
    }

    pub fn defrag_config(&self) -> &DefragConfig {
        self.defrag.config()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DefragConfig::default())
    }
}

/// The common packet in one pass: untagged Ethernet II, IPv4 without options or
/// fragmentation, UDP with a length that fits. Anything else, or anything odd about these,
/// returns `None` and takes the general path, which gives the same answer for the packets this
/// accepts (`tests_pcap::fast_path_agrees_with_the_general_path`, and the decode fuzz target).
/// A quarter of the capture thread's decoding cost on RTP.
/// A UDP datagram that is HEP (a proxy's copy of a SIP message, `hep`) gives the message it
/// carries, with the addresses and ports the agent saw. The message is handed on as a datagram
/// whatever transport the agent reports: HEP carries whole messages (the records take the
/// transport from the message's Via).
#[inline]
pub fn unwrap_hep(d: Decoded<'_>) -> Result<Decoded<'_>, DecodeError> {
    if d.transport != Transport::Udp || !hep::is_hep(d.payload) {
        return Ok(d);
    }
    hep_inside(d)
}

/// The HEP copy inside a datagram (the rare case, kept out of every packet's path).
#[cold]
#[inline(never)]
fn hep_inside(d: Decoded<'_>) -> Result<Decoded<'_>, DecodeError> {
    let h = hep::parse(d.payload)?;
    from_hep(d, &h)
}

/// One message received by the HEP listener (`data` is one HEP packet): the message it
/// carries, as [`unwrap_hep`] gives it from a capture. With a `password`, only packets whose
/// auth key matches it are taken.
pub fn hep_message<'a>(
    data: &'a [u8],
    password: Option<&[u8]>,
) -> Result<Decoded<'a>, DecodeError> {
    if !hep::is_hep(data) {
        return Err(malformed("hep", "not HEP"));
    }
    let h = hep::parse(data)?;
    if let Some(want) = password {
        if !h.auth_key.is_some_and(|k| same_secret(k, want)) {
            return Err(DecodeError::HepAuth);
        }
    }
    let outer = Decoded {
        vlan: None,
        vlan_inner: None,
        src: h.src,
        dst: h.dst,
        transport: Transport::Udp,
        sport: h.sport,
        dport: h.dport,
        tcp: None,
        payload: data,
        reassembled: false,
        frag_key: None,
        tunneled: false,
        ip_len: data.len(),
        agent_ts: None,
        agent: None,
        rtcp_json: false,
    };
    from_hep(outer, &h)
}

/// Compare a secret in time that does not depend on where the first difference is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `d` (the datagram that carried `h`) becomes the message `h` carries.
fn from_hep<'a>(mut d: Decoded<'a>, h: &hep::Hep<'a>) -> Result<Decoded<'a>, DecodeError> {
    if h.proto_type != hep::SIP && h.proto_type != hep::RTCP_JSON {
        return Err(DecodeError::HepNotSip(h.proto_type));
    }
    d.rtcp_json = h.proto_type == hep::RTCP_JSON;
    d.src = h.src;
    d.dst = h.dst;
    d.sport = h.sport;
    d.dport = h.dport;
    d.payload = h.payload;
    d.tunneled = true;
    d.agent = Some(HepAgent {
        id: h.capture_id,
        transport: h.transport,
    });
    d.agent_ts =
        h.ts.map(|(s, us)| Ts(u64::from(s) * 1_000_000_000 + u64::from(us.min(999_999)) * 1_000));
    Ok(d)
}

pub fn fast_udp4(frame: &[u8]) -> Option<Decoded<'_>> {
    let ip = frame.get(14..)?;
    if frame[12..14] != [0x08, 0x00] || ip.first() != Some(&0x45) || ip.len() < 28 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    if frag & 0x3FFF != 0 || ip[9] != 17 || total < 28 {
        return None;
    }
    let udp = ip.get(20..total)?;
    let ulen = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    if ulen < 8 || ulen > udp.len() {
        return None;
    }
    Some(Decoded {
        vlan: None,
        vlan_inner: None,
        src: IpAddr::V4(std::net::Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15])),
        dst: IpAddr::V4(std::net::Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19])),
        transport: Transport::Udp,
        sport: u16::from_be_bytes([udp[0], udp[1]]),
        dport: u16::from_be_bytes([udp[2], udp[3]]),
        tcp: None,
        payload: &udp[8..ulen],
        reassembled: false,
        frag_key: None,
        tunneled: false,
        ip_len: total,
        agent_ts: None,
        agent: None,
        rtcp_json: false,
    })
}

/// Walk from an IP header (or an IP payload of protocol `proto`) to the L4 payload.
fn walk<'b>(
    mut data: &'b [u8],
    mut layer: Layer,
    mut ip: Option<IpMeta>,
    ctx: &mut Ctx,
    allow_frag: bool,
) -> Result<Walk<'b>, DecodeError> {
    let mut ext_headers = 0usize;
    // Each iteration consumes at least one header; bounded by the limits below.
    loop {
        match layer {
            Layer::Ip(L3::V4) => {
                let h = Ipv4HeaderSlice::from_slice(data).map_err(|e| match e {
                    etherparse::err::ipv4::HeaderSliceError::Len(_) => truncated("ipv4"),
                    etherparse::err::ipv4::HeaderSliceError::Content(_) => {
                        malformed("ipv4", "version or header length")
                    }
                })?;
                let hlen = h.slice().len();
                let total = usize::from(h.total_len());
                if total < hlen {
                    return Err(malformed("ipv4", "total length"));
                }
                let pkt = data.get(..total).ok_or(truncated("ipv4"))?;
                let meta = IpMeta {
                    src: IpAddr::V4(h.source_addr()),
                    dst: IpAddr::V4(h.destination_addr()),
                    v6: false,
                    ip_len: total,
                    pkt_len: total,
                };
                let proto = h.protocol().0;
                let offset = usize::from(h.fragments_offset().value()) * 8;
                let payload = &pkt[hlen..];
                if offset != 0 || h.more_fragments() {
                    if !allow_frag {
                        return Err(malformed("ipv4", "nested fragment"));
                    }
                    let frag = Fragment {
                        key: FragKey {
                            src: meta.src,
                            dst: meta.dst,
                            id: u32::from(h.identification()),
                            proto,
                            vlan: ctx.vlans.outer,
                        },
                        offset,
                        more: h.more_fragments(),
                        data: payload,
                        proto,
                        hdr_len: hlen,
                    };
                    return Ok(Walk::Frag { frag, meta });
                }
                ip = Some(meta);
                data = payload;
                layer = Layer::Proto(proto);
            }
            Layer::Ip(L3::V6) => {
                let h = Ipv6HeaderSlice::from_slice(data).map_err(|e| match e {
                    etherparse::err::ipv6::HeaderSliceError::Len(_) => truncated("ipv6"),
                    etherparse::err::ipv6::HeaderSliceError::Content(_) => {
                        malformed("ipv6", "version")
                    }
                })?;
                let plen = usize::from(h.payload_length());
                let next = h.next_header().0;
                // payload length 0 with hop-by-hop: jumbogram (or segmentation offload)
                let pkt = if plen == 0 && next == 0 {
                    data
                } else {
                    data.get(..40 + plen).ok_or(truncated("ipv6"))?
                };
                ip = Some(IpMeta {
                    src: IpAddr::V6(Ipv6Addr::from(h.source())),
                    dst: IpAddr::V6(Ipv6Addr::from(h.destination())),
                    v6: true,
                    ip_len: pkt.len(),
                    pkt_len: pkt.len(),
                });
                data = &pkt[40..];
                layer = Layer::Proto(next);
            }
            Layer::Proto(proto) => {
                let meta = ip.ok_or(malformed("ip", "no ip header"))?;
                match proto {
                    // IPv6 extension headers: hop-by-hop, routing, destination options,
                    // mobility, HIP, shim6
                    0 | 43 | 60 | 135 | 139 | 140 if meta.v6 => {
                        ext_headers += 1;
                        if ext_headers > MAX_EXT_HEADERS {
                            return Err(malformed("ipv6", "too many extension headers"));
                        }
                        let h = data.get(..2).ok_or(truncated("ipv6"))?;
                        let len = (usize::from(h[1]) + 1) * 8;
                        let next = h[0];
                        data = data.get(len..).ok_or(truncated("ipv6"))?;
                        layer = Layer::Proto(next);
                    }
                    // Authentication header (IPv4 and IPv6)
                    51 => {
                        ext_headers += 1;
                        let layer_name = if meta.v6 { "ipv6" } else { "ipv4" };
                        if ext_headers > MAX_EXT_HEADERS {
                            return Err(malformed(layer_name, "too many extension headers"));
                        }
                        let h = data.get(..2).ok_or(truncated(layer_name))?;
                        let len = (usize::from(h[1]) + 2) * 4;
                        let next = h[0];
                        data = data.get(len..).ok_or(truncated(layer_name))?;
                        layer = Layer::Proto(next);
                    }
                    44 if meta.v6 => {
                        ext_headers += 1;
                        let h = data.get(..8).ok_or(truncated("ipv6"))?;
                        let next = h[0];
                        let off_m = u16::from_be_bytes([h[2], h[3]]);
                        let offset = usize::from(off_m & 0xFFF8);
                        let more = off_m & 1 == 1;
                        let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                        let hdr_len = meta.pkt_len.saturating_sub(data.len());
                        let payload = &data[8..];
                        if offset == 0 && !more {
                            // atomic fragment (RFC 6946): nothing to reassemble
                            data = payload;
                            layer = Layer::Proto(next);
                            continue;
                        }
                        if !allow_frag {
                            return Err(malformed("ipv6", "nested fragment"));
                        }
                        let frag = Fragment {
                            key: FragKey {
                                src: meta.src,
                                dst: meta.dst,
                                id,
                                proto: 0,
                                vlan: ctx.vlans.outer,
                            },
                            offset,
                            more,
                            data: payload,
                            proto: next,
                            hdr_len,
                        };
                        return Ok(Walk::Frag { frag, meta });
                    }
                    4 | 41 | 47 => {
                        ctx.depth += 1;
                        if ctx.depth > MAX_TUNNEL_DEPTH {
                            return Err(malformed("tunnel", "nested too deep"));
                        }
                        ctx.tunneled = true;
                        ext_headers = 0;
                        let (l3, inner) = match proto {
                            4 => (L3::V4, data),
                            41 => (L3::V6, data),
                            _ => tunnel::gre(data, &mut ctx.vlans)?,
                        };
                        data = inner;
                        layer = Layer::Ip(l3);
                    }
                    17 => {
                        let h = UdpHeaderSlice::from_slice(data).map_err(|_| truncated("udp"))?;
                        let len = usize::from(h.length());
                        let payload = if len == 0 {
                            // jumbogram / offload: the IP length rules
                            &data[8..]
                        } else if len < 8 {
                            return Err(malformed("udp", "length"));
                        } else {
                            data.get(8..len).ok_or(truncated("udp"))?
                        };
                        return Ok(Walk::Done(done(
                            ctx,
                            meta,
                            Transport::Udp,
                            h.source_port(),
                            h.destination_port(),
                            None,
                            payload,
                        )));
                    }
                    6 => {
                        let h = TcpHeaderSlice::from_slice(data).map_err(|e| match e {
                            etherparse::err::tcp::HeaderSliceError::Len(_) => truncated("tcp"),
                            etherparse::err::tcp::HeaderSliceError::Content(_) => {
                                malformed("tcp", "data offset")
                            }
                        })?;
                        let raw = h.slice();
                        let info = TcpInfo {
                            seq: h.sequence_number(),
                            ack: h.acknowledgment_number(),
                            flags: raw.get(13).copied().unwrap_or(0),
                            window: h.window_size(),
                        };
                        return Ok(Walk::Done(done(
                            ctx,
                            meta,
                            Transport::Tcp,
                            h.source_port(),
                            h.destination_port(),
                            Some(info),
                            &data[raw.len()..],
                        )));
                    }
                    132 => {
                        let h = data.get(..12).ok_or(truncated("sctp"))?;
                        return Ok(Walk::Done(done(
                            ctx,
                            meta,
                            Transport::Sctp,
                            u16::from_be_bytes([h[0], h[1]]),
                            u16::from_be_bytes([h[2], h[3]]),
                            None,
                            &data[12..],
                        )));
                    }
                    other => return Err(DecodeError::UnsupportedIpProto(other)),
                }
            }
        }
    }
}

fn done<'b>(
    ctx: &Ctx,
    meta: IpMeta,
    transport: Transport,
    sport: u16,
    dport: u16,
    tcp: Option<TcpInfo>,
    payload: &'b [u8],
) -> Decoded<'b> {
    Decoded {
        vlan: ctx.vlans.outer,
        vlan_inner: ctx.vlans.inner,
        src: meta.src,
        dst: meta.dst,
        transport,
        sport,
        dport,
        tcp,
        payload,
        reassembled: false,
        frag_key: None,
        tunneled: ctx.tunneled,
        ip_len: meta.ip_len,
        agent_ts: None,
        agent: None,
        rtcp_json: false,
    }
}

/// Iterator over the user data of the DATA chunks (type 0) of an SCTP chunks region.
/// Stops at the first malformed or truncated chunk, and after [`MAX_SCTP_CHUNKS`] chunks.
#[derive(Clone, Debug)]
pub struct SctpDataChunks<'a> {
    rest: &'a [u8],
    seen: usize,
}

impl<'a> Iterator for SctpDataChunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while self.seen < MAX_SCTP_CHUNKS {
            self.seen += 1;
            let h = self.rest.get(..4)?;
            let ctype = h[0];
            let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
            let Some(chunk) = self.rest.get(..len).filter(|_| len >= 4) else {
                self.rest = &[];
                return None;
            };
            let padded = (len + 3) & !3;
            self.rest = self.rest.get(padded..).unwrap_or(&[]);
            // DATA: type(1) flags(1) length(2) TSN(4) stream id(2) stream seq(2) PPID(4)
            if ctype == 0 {
                if let Some(user) = chunk.get(16..) {
                    return Some(user);
                }
            }
        }
        None
    }
}

/// Split the SCTP chunks region (`Decoded::payload` for [`Transport::Sctp`]) into the user
/// data of its DATA chunks (type 0), bounded.
pub fn sctp_data_chunks(chunks: &[u8]) -> impl Iterator<Item = &[u8]> {
    SctpDataChunks {
        rest: chunks,
        seen: 0,
    }
}

/// Test helper for other modules: every decoded packet of a capture under `pcaps/`, as
/// (transport, source port, destination port, L4 payload).
#[cfg(test)]
pub fn test_packets(rel: &str) -> Vec<(Transport, u16, u16, Vec<u8>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pcaps")
        .join(rel);
    let mut cap =
        pcap::Capture::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let link = LinkType::from_dlt(cap.get_datalink().0).expect("known link type");
    let mut dec = Decoder::new(DefragConfig::default());
    let mut out = Vec::new();
    while let Ok(p) = cap.next_packet() {
        if let Ok(d) = dec.decode(link, p.data, crate::base::time::Ts::ZERO) {
            out.push((d.transport, d.sport, d.dport, d.payload.to_vec()));
        }
    }
    out
}

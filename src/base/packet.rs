//! What every stage knows of a packet: the link type it was captured with, its transport once
//! decoded, and where and when it was seen (the context that every record starts with).

use std::net::IpAddr;

use super::time::Ts;

/// Link-layer header type of a capture (pcap DLT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    Ethernet,
    LinuxSll,
    LinuxSll2,
    /// BSD loopback: 4-byte address family in the writer's byte order (both accepted).
    Null,
    /// OpenBSD loopback: big-endian address family.
    Loop,
    /// Raw IP, version from the first nibble.
    Raw,
    Ipv4,
    Ipv6,
}

impl LinkType {
    /// Every link type the decoder supports (for tests and fuzzing that try each).
    pub const ALL: [LinkType; 8] = [
        LinkType::Ethernet,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::Null,
        LinkType::Loop,
        LinkType::Raw,
        LinkType::Ipv4,
        LinkType::Ipv6,
    ];

    /// Map a pcap DLT / LINKTYPE value.
    pub fn from_dlt(dlt: i32) -> Option<LinkType> {
        match dlt {
            1 => Some(LinkType::Ethernet),
            113 => Some(LinkType::LinuxSll),
            276 => Some(LinkType::LinuxSll2),
            0 => Some(LinkType::Null),
            108 => Some(LinkType::Loop),
            12 | 14 | 101 => Some(LinkType::Raw),
            228 => Some(LinkType::Ipv4),
            229 => Some(LinkType::Ipv6),
            _ => None,
        }
    }

    /// The LINKTYPE value a pcap file written with these frames declares.
    pub fn dlt(self) -> u32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
            LinkType::Null => 0,
            LinkType::Loop => 108,
            LinkType::Raw => 101,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
        }
    }
}

/// A captured frame as it was on the wire (link header included), kept as evidence: the
/// packets behind an alert or a call are written to pcap files from these (`--pcap-dir`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireFrame {
    /// Capture time.
    pub ts: Ts,
    pub link: LinkType,
    /// The frame's length on the wire (more than `bytes` when the snap length cut it).
    pub orig_len: u32,
    pub bytes: Vec<u8>,
}

/// The transport protocol of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Sctp,
}

/// Where a message was seen: the fields every record starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketCtx {
    pub ts: Ts,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub transport: Transport,
    pub vlan: Option<u16>,
    pub flow_id: u64,
    /// Set when the message came as a HEP copy from a proxy or SBC, not off the wire.
    pub agent: Option<HepAgent>,
}

#[cfg(test)]
impl PacketCtx {
    /// Tests' context: UDP 5060 from and to 192.0.2.1 at `ts`, flow 0.
    pub fn test_at(ts: Ts) -> PacketCtx {
        let ip = IpAddr::from([192, 0, 2, 1]);
        PacketCtx {
            ts,
            src: ip,
            dst: ip,
            sport: 5060,
            dport: 5060,
            transport: Transport::Udp,
            vlan: None,
            flow_id: 0,
            agent: None,
        }
    }
}

/// The HEP agent (Kamailio `siptrace`, OpenSIPS, FreeSWITCH, Asterisk, heplify) that sent a
/// copy of a message, and the transport it says the message travelled over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HepAgent {
    /// The capture agent id (HEPv3 chunk 12, HEPv2's capture id), when the agent sets one.
    pub id: Option<u32>,
    /// The transport the agent says the message travelled over.
    pub transport: HepTransport,
}

/// A HEP agent's transport: HEP's IP-protocol chunk, where Kamailio's `siptrace` writes 22
/// for SIP over TLS (what its `sipcapture` reads back as TLS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HepTransport {
    Udp,
    Tcp,
    Tls,
    Sctp,
    /// Another IP protocol number.
    Other(u8),
}

impl HepTransport {
    pub fn from_ip_proto(p: u8) -> HepTransport {
        match p {
            17 => HepTransport::Udp,
            6 => HepTransport::Tcp,
            22 => HepTransport::Tls,
            132 => HepTransport::Sctp,
            n => HepTransport::Other(n),
        }
    }

    /// Whether the message was encrypted where the agent saw it.
    pub fn encrypted(self) -> bool {
        self == HepTransport::Tls
    }

    pub fn name(self) -> String {
        match self {
            HepTransport::Udp => "UDP".into(),
            HepTransport::Tcp => "TCP".into(),
            HepTransport::Tls => "TLS".into(),
            HepTransport::Sctp => "SCTP".into(),
            HepTransport::Other(n) => format!("IP protocol {n}"),
        }
    }
}

impl PacketCtx {
    /// Whether the message travelled encrypted (a HEP copy of SIP over TLS): what it holds
    /// (parties, SDP keys) was not exposed on the wire.
    pub fn encrypted(&self) -> bool {
        self.agent.is_some_and(|a| a.transport.encrypted())
    }
}

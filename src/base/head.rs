//! The head every EVE record starts with (`timestamp`, `flow_id`, `event_type`, `vlan`,
//! addresses, `proto`): the packet context a record is about, as Suricata's EVE writes it. It
//! lives at the base because every stage that makes record data (dialogs, detection) fills one,
//! and the output stage only writes them.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::base::packet::Transport;
use crate::base::packet::{HepAgent, PacketCtx};
use crate::base::time::Ts;

/// Fields every record starts with.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Head {
    pub timestamp: String,
    pub flow_id: u64,
    /// The number of the packet the record is about, counted from 1 over the run's input (in
    /// a replay of one file, its packet number there: Suricata's `pcap_cnt`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pcap_cnt: Option<u64>,
    /// The interface the record's packet was captured on, live (Suricata's `in_iface`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub in_iface: Option<std::sync::Arc<str>>,
    /// Record type and protocol names are the sensor's own words: borrowed, not allocated per
    /// record (read back from JSON they are owned).
    pub event_type: Cow<'static, str>,
    /// The SIP transaction's number within its flow, from 0 (Suricata's `tx_id`): on `sip`
    /// records and on the alerts decided on one of its messages, so that they can be joined.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tx_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vlan: Option<Vec<u16>>,
    #[serde(serialize_with = "crate::base::iptext::serialize")]
    pub src_ip: IpAddr,
    pub src_port: u16,
    #[serde(serialize_with = "crate::base::iptext::serialize")]
    pub dest_ip: IpAddr,
    pub dest_port: u16,
    pub proto: Cow<'static, str>,
    /// The application protocol, as Suricata names it (`sip`, `tls`), for the records about
    /// one (Elastic's Suricata integration derives `network.protocol` from it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub app_proto: Option<Cow<'static, str>>,
    /// Where the record's packet came from, when not off the wire: a HEP copy from an agent.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub capture: Option<CaptureSource>,
    /// The savefile the record's packet was read from, in a replay (Suricata's
    /// `pcap_filename`), as given on the command line.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pcap_filename: Option<std::sync::Arc<str>>,
}

/// `capture: {source: "hep", agent_id, transport}`: the record is about a message a HEP agent
/// copied to the sensor (decrypted when it travelled over TLS), so an analyst can tell it from
/// a wire capture.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CaptureSource {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub agent_id: Option<u32>,
    /// The transport the agent reports (`UDP`, `TCP`, `TLS`, `SCTP`).
    pub transport: String,
}

impl CaptureSource {
    pub fn of(agent: &HepAgent) -> CaptureSource {
        CaptureSource {
            source: "hep".to_string(),
            agent_id: agent.id,
            transport: agent.transport.name(),
        }
    }
}

impl Head {
    pub fn new(ctx: &PacketCtx, event_type: &'static str) -> Head {
        Head::at(ctx.ts, ctx, event_type)
    }

    /// A head with the addresses of `ctx` and another timestamp.
    pub fn at(ts: Ts, ctx: &PacketCtx, event_type: &'static str) -> Head {
        Head {
            timestamp: ts.to_string(),
            flow_id: ctx.flow_id,
            pcap_cnt: None,
            in_iface: None,
            event_type: Cow::Borrowed(event_type),
            tx_id: None,
            vlan: ctx.vlan.map(|v| vec![v]),
            src_ip: ctx.src,
            src_port: ctx.sport,
            dest_ip: ctx.dst,
            dest_port: ctx.dport,
            proto: Cow::Borrowed(proto_name(ctx.transport)),
            app_proto: match event_type {
                "sip" | "call" | "device" => Some(Cow::Borrowed("sip")),
                "tls" => Some(Cow::Borrowed("tls")),
                _ => None,
            },
            capture: ctx.agent.as_ref().map(CaptureSource::of),
            pcap_filename: None,
        }
    }
}

pub fn proto_name(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
        Transport::Sctp => "SCTP",
    }
}

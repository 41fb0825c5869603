//! The head every EVE record starts with (`timestamp`, `flow_id`, `event_type`, `vlan`,
//! addresses, `proto`): the packet context a record is about, as Suricata's EVE writes it. It
//! lives at the base because every stage that makes record data (dialogs, detection) fills one,
//! and the output stage only writes them.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

use crate::base::iptext::IpText;
use crate::base::packet::Transport;
use crate::base::packet::{HepAgent, PacketCtx};
use crate::base::time::Ts;

/// Fields every record starts with.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Head {
    pub timestamp: crate::base::time::Stamp,
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
            timestamp: ts.into(),
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

impl Head {
    /// Fields a record starting with this head has at most before its own (the length hint
    /// of `serialize_struct`; JSON writers use it only to tell an empty object).
    pub const FIELDS: usize = 15;

    /// Write the head's fields into a record's object, in the order and with the skips of its
    /// derived `Serialize` (a unit test holds them equal). Records serialise through this,
    /// with [`crate::serialize_with_head`], rather than `#[serde(flatten)]`, whose buffered map
    /// machinery cost about a tenth of writing a record.
    pub fn fields<S: SerializeStruct>(&self, s: &mut S) -> Result<(), S::Error> {
        s.serialize_field("timestamp", &self.timestamp)?;
        s.serialize_field("flow_id", &self.flow_id)?;
        if let Some(n) = &self.pcap_cnt {
            s.serialize_field("pcap_cnt", n)?;
        }
        if let Some(i) = &self.in_iface {
            s.serialize_field("in_iface", i)?;
        }
        s.serialize_field("event_type", &self.event_type)?;
        if let Some(t) = &self.tx_id {
            s.serialize_field("tx_id", t)?;
        }
        if let Some(v) = &self.vlan {
            s.serialize_field("vlan", v)?;
        }
        s.serialize_field("src_ip", &IpText::new(&self.src_ip))?;
        s.serialize_field("src_port", &self.src_port)?;
        s.serialize_field("dest_ip", &IpText::new(&self.dest_ip))?;
        s.serialize_field("dest_port", &self.dest_port)?;
        s.serialize_field("proto", &self.proto)?;
        if let Some(a) = &self.app_proto {
            s.serialize_field("app_proto", a)?;
        }
        if let Some(c) = &self.capture {
            s.serialize_field("capture", c)?;
        }
        if let Some(f) = &self.pcap_filename {
            s.serialize_field("pcap_filename", f)?;
        }
        Ok(())
    }
}

/// `Serialize` for a record made of a `head: Head` and the fields named (each optionally with
/// a predicate that skips it, as `skip_serializing_if`): the same object `#[serde(flatten)]`
/// on the head writes, without serde's flattening. Field names are the Rust names.
#[macro_export]
macro_rules! serialize_with_head {
    ($ty:ty { $($field:ident $(unless $skip:path)?),* $(,)? }) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut s = ser.serialize_struct(
                    stringify!($ty),
                    $crate::base::head::Head::FIELDS,
                )?;
                self.head.fields(&mut s)?;
                $(
                    if true $(&& !$skip(&self.$field))? {
                        s.serialize_field(stringify!($field), &self.$field)?;
                    }
                )*
                s.end()
            }
        }
    };
}

pub fn proto_name(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
        Transport::Sctp => "SCTP",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of a head alone, and one with a skipped and a written field.
    struct Bare {
        head: Head,
    }
    crate::serialize_with_head!(Bare {});

    struct WithBody {
        head: Head,
        gone: Option<u8>,
        body: Vec<u8>,
    }
    crate::serialize_with_head!(WithBody {
        gone unless Option::is_none,
        body
    });

    fn head(full: bool) -> Head {
        let mut h = Head {
            timestamp: "2026-12-07T04:47:06.714334+0000".into(),
            flow_id: 7,
            pcap_cnt: None,
            in_iface: None,
            event_type: Cow::Borrowed("sip"),
            tx_id: None,
            vlan: None,
            src_ip: "127.0.0.1".parse().unwrap(),
            src_port: 5060,
            dest_ip: "::1".parse().unwrap(),
            dest_port: 5062,
            proto: Cow::Borrowed("UDP"),
            app_proto: None,
            capture: None,
            pcap_filename: None,
        };
        if full {
            h.pcap_cnt = Some(3);
            h.in_iface = Some("eth0".into());
            h.tx_id = Some(1);
            h.vlan = Some(vec![10, 20]);
            h.app_proto = Some(Cow::Borrowed("sip"));
            h.capture = Some(CaptureSource {
                source: "hep".into(),
                agent_id: Some(2),
                transport: "TLS".into(),
            });
            h.pcap_filename = Some("a \"b\".pcap".into());
        }
        h
    }

    #[test]
    fn a_record_writes_its_head_as_the_derived_serialize_does() {
        for full in [false, true] {
            let h = head(full);
            let derived = serde_json::to_string(&h).unwrap();
            assert_eq!(
                serde_json::to_string(&Bare { head: h.clone() }).unwrap(),
                derived
            );
            let with = WithBody {
                head: h,
                gone: None,
                body: vec![1],
            };
            let expected = format!("{},\"body\":[1]}}", &derived[..derived.len() - 1]);
            assert_eq!(serde_json::to_string(&with).unwrap(), expected);
            let mut ours = Vec::new();
            crate::output::json::to_vec(&mut ours, &with).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), expected);
        }
    }
}

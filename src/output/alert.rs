//! Alerts, as Suricata's EVE writes them (`event_type: alert`): a signature (stable id, name,
//! category, severity 1 high to 3 low), the addresses of the packet that decided it, the call it
//! belongs to, and an evidence object. The built-in signatures of the sensor are listed here and
//! in rules/README.md.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::output::eve::{Head, Party};

/// A signature: what an alert says it found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    pub id: u32,
    pub name: &'static str,
    pub category: &'static str,
    pub severity: u8,
}

/// Voice carried as plaintext RTP: anyone on the path can listen.
pub const UNENCRYPTED_VOICE: Signature = Signature {
    id: 2_100_001,
    name: "VOIP-SENTINEL unencrypted voice: plaintext RTP carried audio",
    category: "eavesdropping",
    severity: 2,
};

/// SDES SRTP keys (a=crypto inline) sent in plaintext SIP: anyone on the path can decrypt.
pub const SRTP_KEYS_EXPOSED: Signature = Signature {
    id: 2_100_002,
    name: "VOIP-SENTINEL SRTP keys exposed: a=crypto inline keys in plaintext SIP",
    category: "eavesdropping",
    severity: 1,
};

/// SIP (and its SDP) in the clear: call parties, numbers and media keys are readable.
pub const UNENCRYPTED_SIGNALLING: Signature = Signature {
    id: 2_100_003,
    name: "VOIP-SENTINEL unencrypted signalling: SIP over plaintext UDP/TCP",
    category: "eavesdropping",
    severity: 3,
};

/// The offer protected the media (SRTP, DTLS-SRTP, ZRTP) and the answer did not.
pub const MEDIA_DOWNGRADE: Signature = Signature {
    id: 2_100_004,
    name: "VOIP-SENTINEL media downgrade: protected offer answered with plaintext RTP",
    category: "downgrade",
    severity: 1,
};

/// The SDP negotiated SRTP but the packets on the wire are readable RTP.
pub const SRTP_NOT_ON_WIRE: Signature = Signature {
    id: 2_100_005,
    name: "VOIP-SENTINEL SRTP negotiated but the wire carries plaintext RTP",
    category: "eavesdropping",
    severity: 1,
};

/// RTP into a call's media port from an address the call's SDP never announced: injection of
/// audio into the call (or a NAT the SDP does not show).
pub const RTP_UNEXPECTED_SOURCE: Signature = Signature {
    id: 2_100_006,
    name: "VOIP-SENTINEL RTP into a call's media port from an unannounced source (injection)",
    category: "rtp-injection",
    severity: 2,
};

/// An RTP stream far above any voice packet rate: a flood aimed at a media port.
pub const RTP_FLOOD: Signature = Signature {
    id: 2_100_007,
    name: "VOIP-SENTINEL RTP flood: stream far above a voice packet rate",
    category: "flood",
    severity: 2,
};

/// Every built-in signature, for documentation and the rules table.
pub const BUILT_IN: &[Signature] = &[
    UNENCRYPTED_VOICE,
    SRTP_KEYS_EXPOSED,
    UNENCRYPTED_SIGNALLING,
    MEDIA_DOWNGRADE,
    SRTP_NOT_ON_WIRE,
    RTP_UNEXPECTED_SOURCE,
    RTP_FLOOD,
];

/// One side of an alert, as Suricata's `alert.source` and `alert.target` name them.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    #[serde(serialize_with = "crate::base::iptext::serialize")]
    pub ip: IpAddr,
    pub port: u16,
}

/// The `alert` object, with Suricata's fields: `gid` is 1 for every signature (the `gen_id` of
/// threshold.config), `rev` the rule's revision (1 for built-in signatures). `source` is the
/// side that acted (scanner, flooder, password guesser, caller, sender of a malformed message),
/// `target` the side it acted on: for alerts decided on a response (brute force on the 401,
/// concurrency on the 200) they are the packet's `dest_ip` and `src_ip`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertInfo {
    pub action: String,
    pub gid: u32,
    pub signature_id: u32,
    pub rev: u32,
    pub signature: String,
    pub category: String,
    pub severity: u8,
    pub source: Endpoint,
    pub target: Endpoint,
}

impl AlertInfo {
    /// `source` and `target` from the packet's addresses: the sender acted (`reversed`: the
    /// packet was the answer, and its receiver acted).
    pub fn sides(&mut self, head: &Head, reversed: bool) {
        let src = Endpoint {
            ip: head.src_ip,
            port: head.src_port,
        };
        let dst = Endpoint {
            ip: head.dest_ip,
            port: head.dest_port,
        };
        (self.source, self.target) = if reversed { (dst, src) } else { (src, dst) };
    }
}

/// The call an alert is about.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct AlertCall {
    pub call_id: String,
    pub caller: Party,
    pub callee: Party,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertRecord {
    #[serde(flatten)]
    pub head: Head,
    pub alert: AlertInfo,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub call: Option<AlertCall>,
    pub evidence: Value,
}

impl AlertRecord {
    /// An alert of a built-in signature; its packet's sender is the `source`.
    pub fn new(
        mut head: Head,
        sig: Signature,
        call: Option<AlertCall>,
        evidence: Value,
    ) -> AlertRecord {
        head.event_type = "alert".to_string();
        let side = Endpoint {
            ip: head.src_ip,
            port: head.src_port,
        };
        let mut alert = AlertInfo {
            action: "allowed".to_string(),
            gid: 1,
            signature_id: sig.id,
            rev: 1,
            signature: sig.name.to_string(),
            category: sig.category.to_string(),
            severity: sig.severity,
            source: side,
            target: side,
        };
        alert.sides(&head, false);
        AlertRecord {
            head,
            alert,
            call,
            evidence,
        }
    }
}

//! Alerts, as Suricata's EVE writes them (`event_type: alert`): a signature (stable id, name,
//! category, severity 1 high to 3 low), the addresses of the packet that decided it, the call it
//! belongs to, and an evidence object.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::base::head::Head;
use crate::detect::signature::Signature;
use crate::dialog::call::{CallExposure, Exposure};
use crate::dialog::msg::Party;

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
    /// The rule's `metadata` as Suricata writes it: each key with its values in rule order
    /// (`{"created_at": ["2010_07_30"]}`). Keys come from the rule file, never from traffic.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub metadata: Option<std::collections::BTreeMap<String, Vec<String>>>,
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

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertRecord {
    #[serde(flatten)]
    pub head: Head,
    pub alert: AlertInfo,
    #[serde(default)]
    pub call: Option<AlertCall>,
    pub evidence: Value,
    /// The frame a `frame:` rule matched, as Suricata writes it.
    #[serde(default)]
    pub frame: Option<FrameInfo>,
}
crate::serialize_with_head!(AlertRecord {
    alert,
    call unless Option::is_none,
    evidence,
    frame unless Option::is_none,
});

/// Suricata's `frame` object of an alert: which part of the message matched, its length, and
/// its direction (`toserver` for a request, `toclient` for a response); the sensor inspects
/// whole messages, so a frame is always `complete`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FrameInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub direction: String,
    pub length: u64,
    pub complete: bool,
}

impl AlertRecord {
    /// An alert of a built-in signature; its packet's sender is the `source`.
    pub fn new(
        mut head: Head,
        sig: Signature,
        call: Option<AlertCall>,
        evidence: Value,
    ) -> AlertRecord {
        head.event_type = "alert".into();
        if head.app_proto.is_none() {
            head.app_proto = sig.app_proto.map(Into::into);
        }
        let side = Endpoint {
            ip: head.src_ip,
            port: head.src_port,
        };
        let mut alert = AlertInfo {
            metadata: None,
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
            frame: None,
            head,
            alert,
            call,
            evidence,
        }
    }
}

/// The signature an exposure of a call is reported under.
pub fn exposure_signature(what: Exposure) -> crate::detect::signature::Signature {
    use crate::detect::signature::{
        MEDIA_DOWNGRADE, SRTP_KEYS_EXPOSED, SRTP_NOT_ON_WIRE, UNENCRYPTED_SIGNALLING,
        UNENCRYPTED_VOICE,
    };
    match what {
        Exposure::SrtpKeysExposed => SRTP_KEYS_EXPOSED,
        Exposure::MediaDowngrade => MEDIA_DOWNGRADE,
        Exposure::UnencryptedVoice => UNENCRYPTED_VOICE,
        Exposure::SrtpNotOnWire => SRTP_NOT_ON_WIRE,
        Exposure::UnencryptedSignalling => UNENCRYPTED_SIGNALLING,
    }
}

/// The alert of what a call gave away about its protection (reported by the dialog stage):
/// the exposure's signature, the call, and its evidence.
pub fn exposure_alert(e: CallExposure) -> AlertRecord {
    AlertRecord::new(
        Head::new(&e.ctx, "alert"),
        exposure_signature(e.what),
        Some(AlertCall {
            call_id: e.call_id,
            caller: e.caller,
            callee: e.callee,
        }),
        e.evidence.to_json(),
    )
}

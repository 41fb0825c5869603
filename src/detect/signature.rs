//! Signatures: what an alert says it found (stable id, name, category, severity 1 high to 3
//! low), and the built-in signatures of media and encryption posture. The other built-in
//! signatures stand beside their detectors; every one is listed in rules/README.md.

/// A signature: what an alert says it found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    pub id: u32,
    pub name: &'static str,
    pub category: &'static str,
    pub severity: u8,
    /// The application protocol the alert is about, as Suricata's `app_proto` names it (`sip`);
    /// none for media (Suricata has no RTP parser).
    pub app_proto: Option<&'static str>,
}

/// Voice carried as plaintext RTP: anyone on the path can listen.
pub const UNENCRYPTED_VOICE: Signature = Signature {
    id: 2_100_001,
    name: "VOIP-SENTINEL unencrypted voice: plaintext RTP carried audio",
    category: "eavesdropping",
    severity: 2,
    app_proto: None,
};

/// SDES SRTP keys (a=crypto inline) sent in plaintext SIP: anyone on the path can decrypt.
pub const SRTP_KEYS_EXPOSED: Signature = Signature {
    id: 2_100_002,
    name: "VOIP-SENTINEL SRTP keys exposed: a=crypto inline keys in plaintext SIP",
    category: "eavesdropping",
    severity: 1,
    app_proto: Some("sip"),
};

/// SIP (and its SDP) in the clear: call parties, numbers and media keys are readable.
pub const UNENCRYPTED_SIGNALLING: Signature = Signature {
    id: 2_100_003,
    name: "VOIP-SENTINEL unencrypted signalling: SIP over plaintext UDP/TCP",
    category: "eavesdropping",
    severity: 3,
    app_proto: Some("sip"),
};

/// The offer protected the media (SRTP, DTLS-SRTP, ZRTP) and the answer did not.
pub const MEDIA_DOWNGRADE: Signature = Signature {
    id: 2_100_004,
    name: "VOIP-SENTINEL media downgrade: protected offer answered with plaintext RTP",
    category: "downgrade",
    severity: 1,
    app_proto: Some("sip"),
};

/// The SDP negotiated SRTP but the packets on the wire are readable RTP.
pub const SRTP_NOT_ON_WIRE: Signature = Signature {
    id: 2_100_005,
    name: "VOIP-SENTINEL SRTP negotiated but the wire carries plaintext RTP",
    category: "eavesdropping",
    severity: 1,
    app_proto: None,
};

/// RTP into a call's media port from an address the call's SDP never announced: injection of
/// audio into the call (or a NAT the SDP does not show).
pub const RTP_UNEXPECTED_SOURCE: Signature = Signature {
    id: 2_100_006,
    name: "VOIP-SENTINEL RTP into a call's media port from an unannounced source (injection)",
    category: "rtp-injection",
    severity: 2,
    app_proto: None,
};

/// An RTP stream far above any voice packet rate: a flood aimed at a media port.
pub const RTP_FLOOD: Signature = Signature {
    id: 2_100_007,
    name: "VOIP-SENTINEL RTP flood: stream far above a voice packet rate",
    category: "flood",
    severity: 2,
    app_proto: None,
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

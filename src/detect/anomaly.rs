//! Protocol anomalies, as Snort's SIP inspector reports them, from what the parser and the
//! transaction table already know: malformed messages (by parse error), parser oddities
//! (CSeq method mismatch, Content-Length problems, duplicate single-valued headers, too many
//! headers, lines that are not headers, bytes that are not UTF-8), unknown methods, too many
//! dialogs for one Call-ID, an INVITE replayed after its transaction had ended, CSeq numbers of
//! 2**31 and more, and datagrams that carry a second message after the first. Over-long, empty
//! and missing fields are signatures in rules/sip.rules.

use std::collections::BTreeSet;

use serde_json::json;

use crate::base::packet::PacketCtx;
use crate::base::time::{secs, Ts};
use crate::detect::signature::Signature;
use crate::detect::table::Lru;
use crate::detect::threshold::Limiter;
use crate::detect::Finding;
use crate::dialog::Msg;

const fn sig(id: u32, name: &'static str, severity: u8) -> Signature {
    Signature {
        id,
        name,
        category: "protocol-anomaly",
        severity,
        app_proto: Some("sip"),
    }
}

pub const MALFORMED: Signature = sig(2_400_001, "VOIP-SENTINEL anomaly: malformed SIP message", 2);
pub const CSEQ_MISMATCH: Signature = sig(
    2_400_002,
    "VOIP-SENTINEL anomaly: CSeq method differs from the request method",
    2,
);
pub const CONTENT_LENGTH: Signature = sig(
    2_400_003,
    "VOIP-SENTINEL anomaly: Content-Length invalid or not matching the body",
    2,
);
pub const DUPLICATE_HEADER: Signature = sig(
    2_400_004,
    "VOIP-SENTINEL anomaly: single-valued header repeated",
    2,
);
pub const TOO_MANY_HEADERS: Signature = sig(
    2_400_005,
    "VOIP-SENTINEL anomaly: more headers than any real device sends",
    2,
);
pub const NOT_A_HEADER: Signature = sig(
    2_400_006,
    "VOIP-SENTINEL anomaly: line that is not a header in the header section",
    3,
);
pub const INVALID_UTF8: Signature = sig(
    2_400_007,
    "VOIP-SENTINEL anomaly: bytes that are not UTF-8 in the start line or headers",
    3,
);
pub const UNKNOWN_METHOD: Signature =
    sig(2_400_008, "VOIP-SENTINEL anomaly: unknown SIP method", 3);
pub const TOO_MANY_DIALOGS: Signature = sig(
    2_400_009,
    "VOIP-SENTINEL anomaly: too many dialogs for one Call-ID",
    2,
);
pub const INVITE_REPLAY: Signature = sig(
    2_400_010,
    "VOIP-SENTINEL anomaly: INVITE replayed after its transaction ended",
    2,
);

pub const CSEQ_RANGE: Signature = sig(
    2_400_011,
    "VOIP-SENTINEL anomaly: CSeq number not below 2**31",
    2,
);
pub const SEVERAL_MESSAGES: Signature = sig(
    2_400_012,
    "VOIP-SENTINEL anomaly: more than one SIP message in one datagram",
    2,
);

pub const SIGNATURES: &[Signature] = &[
    MALFORMED,
    CSEQ_MISMATCH,
    CONTENT_LENGTH,
    DUPLICATE_HEADER,
    TOO_MANY_HEADERS,
    NOT_A_HEADER,
    INVALID_UTF8,
    UNKNOWN_METHOD,
    TOO_MANY_DIALOGS,
    INVITE_REPLAY,
    CSEQ_RANGE,
    SEVERAL_MESSAGES,
];

/// Methods of RFC 3261 and its extensions; anything else is unknown.
const KNOWN_METHODS: &[&str] = &[
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "REGISTER",
    "OPTIONS",
    "INFO",
    "UPDATE",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "MESSAGE",
    "REFER",
];

/// Dialogs (distinct From tags of initial INVITEs) one Call-ID may have before it is an anomaly.
const MAX_DIALOGS_PER_CALL_ID: usize = 4;
/// An INVITE seen again this long after the first copy is a replay, not a retransmission (the
/// INVITE transaction is long over: RFC 3261 Timer B is 32 s).
const REPLAY_AFTER_NS: u64 = secs(64);
/// How long INVITEs are remembered for replay detection.
const REMEMBER_NS: u64 = secs(3600);

pub struct Anomalies {
    limiter: Limiter,
    /// Call-ID -> From tags of its initial INVITEs.
    dialogs: Lru<String, BTreeSet<String>>,
    /// (Call-ID, CSeq, branch) of INVITEs -> when first seen.
    invites: Lru<(String, u32, String), Ts>,
}

impl Default for Anomalies {
    fn default() -> Self {
        Anomalies::new(50_000)
    }
}

impl Anomalies {
    pub fn new(max_keys: usize) -> Anomalies {
        Anomalies {
            // One alert per signature and source per minute; the rest are counted.
            limiter: Limiter::new(1, 60, max_keys),
            dialogs: Lru::new(max_keys),
            invites: Lru::new(max_keys),
        }
    }

    /// Entries and evictions of the tables, for the metrics.
    pub fn entries(&self) -> usize {
        self.limiter.len() + self.dialogs.len() + self.invites.len()
    }

    pub fn evictions(&self) -> u64 {
        self.limiter.evictions() + self.dialogs.evictions + self.invites.evictions
    }

    /// The caps of the three tables together (the counterpart of [`Anomalies::entries`]).
    pub fn max_entries(&self) -> usize {
        self.limiter.max_keys() + self.dialogs.max_keys() + self.invites.max_keys()
    }

    fn raise(
        &mut self,
        sig: Signature,
        ctx: &PacketCtx,
        evidence: serde_json::Value,
        out: &mut Vec<Finding>,
    ) {
        if let Some(suppressed) =
            self.limiter
                .check(sig.id, crate::base::iptext::IpText::new(&ctx.src), ctx.ts)
        {
            let mut evidence = evidence;
            if let Some(o) = evidence.as_object_mut() {
                o.insert("suppressed".into(), json!(suppressed));
            }
            out.push(Finding {
                metadata: None,
                reversed: false,
                sig,
                ctx: *ctx,
                evidence,
            });
        }
    }

    /// A message that could not be parsed.
    pub fn on_parse_error(&mut self, ctx: &PacketCtx, kind: &str, out: &mut Vec<Finding>) {
        self.raise(MALFORMED, ctx, json!({ "error": kind }), out);
    }

    /// A datagram whose first message ended `extra` bytes before the datagram, and those bytes
    /// start another SIP message (RFC 3261 18.3: one message per datagram; tshark and servers
    /// read only the first, so the second is smuggled past whatever inspects it).
    pub fn on_extra_message(&mut self, ctx: &PacketCtx, extra: usize, out: &mut Vec<Finding>) {
        self.raise(
            SEVERAL_MESSAGES,
            ctx,
            json!({ "bytes_after_first": extra }),
            out,
        );
    }

    /// A parsed message (`retransmission`: a copy of one seen before, which the transaction
    /// table recognised).
    pub fn on_message(&mut self, m: &Msg, retransmission: bool, out: &mut Vec<Finding>) {
        let ctx = m.ctx;
        // RFC 3261 8.1.1.5: the sequence number MUST be less than 2**31.
        if let Some((seq, method)) = m.cseq.as_ref().filter(|c| c.0 > 0x7fff_ffff) {
            self.raise(
                CSEQ_RANGE,
                &ctx,
                json!({ "cseq": seq, "cseq_method": method, "call_id": m.call_id }),
                out,
            );
        }
        for w in &m.warnings {
            let sig = match *w {
                "bad_cseq" => CSEQ_MISMATCH,
                "content_length_mismatch" | "bad_content_length" => CONTENT_LENGTH,
                "duplicate_header" => DUPLICATE_HEADER,
                "too_many_headers" => TOO_MANY_HEADERS,
                "bad_header_line" => NOT_A_HEADER,
                "invalid_utf8" => INVALID_UTF8,
                _ => continue,
            };
            let evidence = json!({
                "warning": w,
                "method": m.method,
                "status": m.status,
                "call_id": m.call_id,
            });
            self.raise(sig, &ctx, evidence, out);
        }
        let Some(method) = m.method.as_deref() else {
            return;
        };
        if !KNOWN_METHODS.contains(&method) {
            let shown: String = method.chars().take(64).collect();
            self.raise(
                UNKNOWN_METHOD,
                &ctx,
                json!({ "method": shown, "call_id": m.call_id }),
                out,
            );
        }
        if method != "INVITE" || retransmission {
            return;
        }
        let Some(call_id) = m.call_id.as_deref() else {
            return;
        };
        if m.to_tag().is_none() {
            if let Some(tag) = m.from_tag() {
                let tags =
                    self.dialogs
                        .touch_by(call_id, ctx.ts, || call_id.to_string(), BTreeSet::new);
                if tags.len() <= MAX_DIALOGS_PER_CALL_ID && !tags.contains(tag) {
                    tags.insert(tag.to_string());
                }
                if tags.len() == MAX_DIALOGS_PER_CALL_ID + 1 {
                    let n = tags.len();
                    self.raise(
                        TOO_MANY_DIALOGS,
                        &ctx,
                        json!({ "call_id": call_id, "dialogs": n }),
                        out,
                    );
                }
            }
        }
        // Looked up by its parts: the key is copied only for an INVITE not seen before.
        let (cseq, branch) = (
            m.cseq.as_ref().map_or(0, |c| c.0),
            m.branch.as_deref().unwrap_or(""),
        );
        let slot = self.invites.touch_parts(
            &(call_id, cseq, branch),
            |k| k.1 == cseq && k.0 == call_id && k.2 == branch,
            ctx.ts,
            || (call_id.to_string(), cseq, branch.to_string()),
            || ctx.ts,
        );
        let Some(&mut first) = self.invites.at_slot(slot) else {
            return;
        };
        if ctx.ts.since(first) >= REPLAY_AFTER_NS {
            let after = ctx.ts.since(first) / 1_000_000_000;
            self.raise(
                INVITE_REPLAY,
                &ctx,
                json!({ "call_id": call_id, "seconds_after_first": after }),
                out,
            );
        }
    }

    pub fn expire(&mut self, now: Ts) {
        self.dialogs.expire(now, REMEMBER_NS);
        self.invites.expire(now, REMEMBER_NS);
        self.limiter.expire(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::packet::Transport;
    use crate::sip::parser::parse_message;

    fn msg(text: &str, t_secs: u64) -> Msg {
        let (m, _) = parse_message(text.as_bytes()).expect("valid message");
        let ip = "192.0.2.1".parse().unwrap();
        let ctx = PacketCtx {
            ts: Ts(t_secs * 1_000_000_000),
            src: ip,
            dst: "192.0.2.2".parse().unwrap(),
            sport: 5060,
            dport: 5060,
            transport: Transport::Udp,
            vlan: None,
            flow_id: 1,
            agent: None,
        };
        Msg::from_parsed(&m, ctx, t_secs)
    }

    fn invite(call_id: &str, from_tag: &str, branch: &str) -> String {
        format!(
            "INVITE sip:bob@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK{branch}\r\nFrom: <sip:alice@a>;tag={from_tag}\r\n\
             To: <sip:bob@b>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        )
    }

    #[test]
    fn an_invite_seen_again_after_its_transaction_is_a_replay() {
        let mut a = Anomalies::default();
        let mut out = Vec::new();
        a.on_message(&msg(&invite("c1", "t1", "b1"), 0), false, &mut out);
        a.on_message(&msg(&invite("c1", "t1", "b1"), 2), true, &mut out);
        a.on_message(&msg(&invite("c1", "t1", "b1"), 63), false, &mut out);
        assert!(
            out.is_empty(),
            "retransmissions and copies within 64 s are not replays"
        );
        a.on_message(&msg(&invite("c1", "t1", "b1"), 100), false, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].sig.id, INVITE_REPLAY.id);
        assert_eq!(out[0].evidence["seconds_after_first"], 100);
    }

    #[test]
    fn a_fifth_dialog_on_one_call_id_is_an_anomaly() {
        let mut a = Anomalies::default();
        let mut out = Vec::new();
        for i in 0..4 {
            a.on_message(
                &msg(&invite("c2", &format!("t{i}"), &format!("b{i}")), 1),
                false,
                &mut out,
            );
        }
        assert!(out.is_empty());
        a.on_message(&msg(&invite("c2", "t9", "b9"), 1), false, &mut out);
        assert_eq!(
            out.iter().map(|f| f.sig.id).collect::<Vec<_>>(),
            vec![TOO_MANY_DIALOGS.id]
        );
    }

    #[test]
    fn unknown_methods_and_parser_warnings_alert_once_per_source_and_minute() {
        let mut a = Anomalies::default();
        let mut out = Vec::new();
        let text = "HACK sip:bob@b SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKx\r\nFrom: <sip:a@a>;tag=1\r\n\
                    To: <sip:b@b>\r\nCall-ID: c3\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        for t in 0..10 {
            a.on_message(&msg(text, t), false, &mut out);
        }
        let ids: Vec<u32> = out.iter().map(|f| f.sig.id).collect();
        assert_eq!(ids, vec![CSEQ_MISMATCH.id, UNKNOWN_METHOD.id]);
        a.on_message(&msg(text, 70), false, &mut out);
        assert_eq!(out.len(), 4, "a new minute: both again");
        assert_eq!(out[3].evidence["suppressed"], 9);
    }
}

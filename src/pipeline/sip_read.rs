//! SIP read where the packets are: a worker parses each message, builds the summary that the
//! stateful stages need and matches the stateless signatures, so the correlator gets no bytes
//! to parse again and the costly part of the SIP path runs on every worker in parallel.

use std::sync::Arc;

use super::event::{EventKind, SipSeen};
use crate::base::packet::{PacketCtx, Transport};
use crate::detect::rules::RuleSet;
use crate::dialog::Msg;
use crate::sip::parser::{looks_like_sip, parse_datagram, parse_message};
use crate::sip::View;

/// A worker's SIP reader, with the signatures in force.
pub struct SipReader {
    rules: Arc<RuleSet>,
}

impl SipReader {
    pub fn new(rules: Arc<RuleSet>) -> SipReader {
        SipReader { rules }
    }

    /// The signatures of a reloaded policy, from the next message on.
    pub fn set_rules(&mut self, rules: Arc<RuleSet>) {
        self.rules = rules;
    }

    /// One whole SIP message seen at `ctx` (packet `seq`): its summary and signature hits, or
    /// why it did not parse. A stream message (TCP, WebSocket) is framed already; a datagram
    /// may carry a second message, which is noted, not read (tshark and servers do not).
    pub fn read(&self, ctx: PacketCtx, seq: u64, bytes: &[u8]) -> EventKind {
        let datagram = ctx.transport != Transport::Tcp;
        let parsed = if datagram {
            parse_datagram(bytes)
        } else {
            parse_message(bytes)
        };
        let (m, used) = match parsed {
            Ok(ok) => ok,
            Err(e) => {
                return EventKind::SipError {
                    ctx,
                    kind: e.kind.as_str(),
                }
            }
        };
        let extra_bytes = if datagram {
            let rest = &bytes[used.min(bytes.len())..];
            let next = rest
                .iter()
                .position(|b| !matches!(b, b'\r' | b'\n'))
                .map_or(&[][..], |i| &rest[i..]);
            looks_like_sip(next).then_some(rest.len())
        } else {
            None
        };
        // One view for the signatures and the summary: From and To parsed once.
        let view = View::new(&m);
        let mut hits = Vec::new();
        if !self.rules.is_empty() {
            self.rules.matching(&view, &ctx, &mut hits);
        }
        let msg = Msg::from_view(&view, ctx, seq);
        let long_method = m
            .method()
            .map(|whole| whole.as_str())
            .filter(|whole| msg.method.as_deref().map(str::len) != Some(whole.len()))
            .map(str::to_string);
        EventKind::Sip(Box::new(SipSeen {
            msg,
            hits,
            extra_bytes,
            long_method,
        }))
    }
}

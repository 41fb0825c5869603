//! SIP read where the packets are: a worker parses each message, builds the summary that the
//! stateful stages need and matches the stateless signatures, so the correlator gets no bytes
//! to parse again and the costly part of the SIP path runs on every worker in parallel.

use std::sync::Arc;

use crossbeam_channel::Receiver;

use super::event::{EventKind, SipSeen};
use crate::base::packet::{PacketCtx, Transport};
use crate::detect::rules::RuleSet;
use crate::dialog::Msg;
use crate::sip::parser::{looks_like_sip, parse_datagram, parse_message};
use crate::sip::View;

/// A worker's SIP reader, with the signatures in force.
pub struct SipReader {
    rules: Arc<RuleSet>,
    /// Summaries the correlator is done with, to refill: their buffers are reused, so the
    /// worker does not allocate them and the correlator does not free them, message after
    /// message (a free across threads costs glibc several times a local one).
    recycled: Receiver<Box<SipSeen>>,
}

impl SipReader {
    pub fn new(rules: Arc<RuleSet>, recycled: Receiver<Box<SipSeen>>) -> SipReader {
        SipReader { rules, recycled }
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
                    frames: Vec::new(),
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
        let mut seen = match self.recycled.try_recv().ok() {
            Some(old) => old,
            None => Box::new(SipSeen {
                msg: Msg::empty(ctx),
                hits: Vec::new(),
                extra_bytes: None,
                long_method: None,
                frame_lens: None,
                frames: Vec::new(),
            }),
        };
        seen.frames.clear();
        // One view for the signatures and the summary: From and To parsed once.
        let view = View::with_raw(&m, bytes);
        seen.hits.clear();
        if !self.rules.is_empty() {
            self.rules.matching(&view, &ctx, &mut seen.hits);
        }
        seen.frame_lens = seen
            .hits
            .iter()
            .any(|&i| self.rules.get(i).is_some_and(|r| r.frame().is_some()))
            .then(|| crate::sip::frames::lengths(&view));
        seen.msg.fill(&view, ctx, seq);
        seen.extra_bytes = extra_bytes;
        seen.long_method = m
            .method()
            .map(|whole| whole.as_str())
            .filter(|whole| seen.msg.method.as_deref().map(str::len) != Some(whole.len()))
            .map(str::to_string);
        EventKind::Sip(seen)
    }
}

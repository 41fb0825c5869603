//! SIP read where the packets are: a worker parses each message, builds the summary that the
//! stateful stages need and matches the stateless signatures, so the correlator gets no bytes
//! to parse again and the costly part of the SIP path runs on every worker in parallel.

use std::sync::Arc;

use crossbeam_channel::Receiver;

use super::event::{EventKind, SipSeen};
use crate::base::packet::{PacketCtx, Transport};
use crate::detect::rules::RuleSet;
use crate::dialog::Msg;
use crate::sip::parser::{looks_like_sip, parse_datagram_in, parse_message_in, HeaderRoom};
use crate::sip::View;

/// A worker's SIP reader, with the signatures in force.
pub struct SipReader {
    rules: Arc<RuleSet>,
    /// Summaries the correlator is done with, to refill: their buffers are reused, so the
    /// worker does not allocate them and the correlator does not free them, message after
    /// message (a free across threads costs glibc several times a local one).
    recycled: Receiver<Box<SipSeen>>,
    /// The header list of the message before, for the next parse.
    room: std::cell::Cell<HeaderRoom>,
}

impl SipReader {
    pub fn new(rules: Arc<RuleSet>, recycled: Receiver<Box<SipSeen>>) -> SipReader {
        SipReader {
            rules,
            recycled,
            room: std::cell::Cell::default(),
        }
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
        let room = self.room.take();
        let parsed = if datagram {
            parse_datagram_in(bytes, room)
        } else {
            parse_message_in(bytes, room)
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
        self.room.set(m.into_room());
        EventKind::Sip(seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::packet::LinkType;
    use crate::decode::{Decoder, DefragConfig};

    /// A reader that reuses what the messages before left (their header list, their summary
    /// and its emptied strings) reads every SIP datagram of real captures as a fresh parse and
    /// summary do: requests and responses in turn, with and without SDP, auth and parties.
    #[test]
    fn reused_buffers_read_as_fresh_ones() {
        let (back, recycled) = crossbeam_channel::bounded(4);
        let reader = SipReader::new(Arc::new(RuleSet::default()), recycled);
        let mut read = 0;
        for rel in [
            "kamailio-auth-calls.pcap",
            "kamailio-forking.pcap",
            "sipp-failures.pcap",
            "sipp-uac-pcap-g711.pcap",
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("pcaps")
                .join(rel);
            let mut file = crate::capture::savefile::Savefile::open(&path).unwrap();
            let mut dec = Decoder::new(DefragConfig::default());
            while let Some(f) = file.next().unwrap() {
                let link = LinkType::from_dlt(f.linktype as i32).unwrap();
                let Ok(dp) = dec.decode(link, f.data, f.ts) else {
                    continue;
                };
                if dp.transport != Transport::Udp || !looks_like_sip(dp.payload) {
                    continue;
                }
                let ctx = PacketCtx {
                    ts: f.ts,
                    src: dp.src,
                    dst: dp.dst,
                    sport: dp.sport,
                    dport: dp.dport,
                    transport: dp.transport,
                    vlan: dp.vlan,
                    flow_id: 0,
                    agent: None,
                };
                let EventKind::Sip(seen) = reader.read(ctx, 7, dp.payload) else {
                    continue;
                };
                let (m, _) = crate::sip::parser::parse_datagram(dp.payload).unwrap();
                let fresh = Msg::from_parsed(&m, ctx, 7);
                // A clone has no spare strings: what is compared is what the fields hold.
                assert_eq!(
                    format!("{:?}", seen.msg.clone()),
                    format!("{fresh:?}"),
                    "{rel}"
                );
                read += 1;
                back.send(seen).unwrap();
            }
        }
        assert!(read > 100, "{read}");
    }
}

//! The dialog stage: transactions, calls, the RTCP each source sent, and which call each RTP
//! stream belongs to, fed in capture order. It turns messages and stream ends into `sip`,
//! `call` and `rtp` record data and keeps the tables capped; detection asks it what a call
//! announced.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::media::{rtp_record, summary_of, RtpRecord};
use super::msg::static_codec;
use super::rtcp::RtcpTable;
use super::{CallConfig, CallRecord, Calls, Msg, Seen, SipRecord, Transactions, TxConfig};
use crate::base::fasthash::FastMap;
use crate::base::packet::PacketCtx;
use crate::base::time::Ts;
use crate::media::evidence::Verdict;
use crate::media::streams::StreamEnd;

/// The identity of a stream across its start and end events: addresses, ports and SSRC.
type StreamId = (IpAddr, u16, IpAddr, u16, u32);

fn stream_id(ctx: &PacketCtx, ssrc: u32) -> StreamId {
    (ctx.src, ctx.sport, ctx.dst, ctx.dport, ssrc)
}

pub struct Dialogs {
    pub tx: Transactions,
    pub calls: Calls,
    /// What RTCP said about each source, until its stream ends.
    pub rtcp: RtcpTable,
    /// RTP streams attributed to a call, until they end: the Call-ID, and whether the stream
    /// was checked for injection already.
    stream_calls: FastMap<StreamId, (String, bool)>,
    /// Final REGISTER outcomes: success, challenged, failed.
    pub registrations: BTreeMap<String, u64>,
    /// Records made, to write.
    pub sip_out: Vec<SipRecord>,
    pub call_out: Vec<CallRecord>,
}

impl Dialogs {
    pub fn new(tx: TxConfig, calls: CallConfig) -> Dialogs {
        Dialogs {
            tx: Transactions::new(tx),
            calls: Calls::new(calls),
            rtcp: RtcpTable::new(100_000),
            stream_calls: FastMap::default(),
            registrations: BTreeMap::new(),
            sip_out: Vec::new(),
            call_out: Vec::new(),
        }
    }

    /// State outside the capped tables that fresh dialogs would not have: streams attributed
    /// to calls, media endpoints announced.
    pub fn held(&self, out: &mut Vec<&'static str>) {
        if !self.stream_calls.is_empty() {
            out.push("stream_calls");
        }
        if self.calls.endpoints_len() > 0 {
            out.push("call_endpoints");
        }
    }

    /// Place a message in its transaction: new, a retransmission, or a response.
    pub fn transaction(&mut self, m: &Msg) -> Seen {
        self.tx.on_message(m, &mut self.sip_out)
    }

    /// A message that is not a retransmission moves its registration and its call on.
    pub fn on_message(&mut self, m: &Msg) {
        if m.cseq_method() == "REGISTER" {
            if let Some(code) = m.status.filter(|c| *c >= 200) {
                let outcome = match code {
                    200..=299 => "success",
                    401 | 407 => "challenged",
                    _ => "failed",
                };
                crate::base::tally::bump(&mut self.registrations, outcome);
            }
        }
        self.calls.on_message(m, &mut self.call_out);
    }

    /// A stream began at `ctx`: whether a call announced it (then it belongs to that call).
    pub fn stream_started(&mut self, ctx: &PacketCtx, ssrc: u32) -> bool {
        match self
            .calls
            .attach_stream((ctx.dst, ctx.dport), (ctx.src, ctx.sport))
        {
            Some(id) => {
                self.stream_calls.insert(stream_id(ctx, ssrc), (id, false));
                true
            }
            None => false,
        }
    }

    /// The call of a stream still up.
    pub fn call_of(&self, ctx: &PacketCtx, ssrc: u32) -> Option<&str> {
        self.stream_calls
            .get(&stream_id(ctx, ssrc))
            .map(|c| c.0.as_str())
    }

    /// A stream whose injection check is due: its call, when the stream is still up and was
    /// not checked yet (it is marked checked).
    pub fn take_check(&mut self, ctx: &PacketCtx, ssrc: u32) -> Option<String> {
        let (id, checked) = self.stream_calls.get_mut(&stream_id(ctx, ssrc))?;
        (!std::mem::replace(checked, true)).then(|| id.clone())
    }

    /// Whether a stream from `ctx.src` into call `id`'s media came from where the call did not
    /// announce.
    pub fn injected(&self, id: &str, ctx: &PacketCtx) -> bool {
        self.calls
            .injected_into(id, (ctx.src, ctx.sport), (ctx.dst, ctx.dport))
    }

    /// A stream ended: its `rtp` record (with its call, codec, RTCP and what the wire showed),
    /// and its call with whether it was checked for injection already.
    pub fn stream_ended(&mut self, end: &StreamEnd) -> (RtpRecord, Option<(String, bool)>) {
        let attributed = self.stream_calls.remove(&stream_id(&end.ctx, end.ssrc));
        let call_id = attributed.as_ref().map(|c| c.0.clone());
        let codec = call_id
            .as_deref()
            .and_then(|id| self.calls.codec_of(id, end.payload_type))
            .or_else(|| static_codec(&end.payload_type.to_string()).map(str::to_string))
            .unwrap_or_else(|| format!("PT{}", end.payload_type));
        let mut rec = rtp_record(end, codec.clone(), call_id);
        rec.rtp.wire = match end.evidence.verdict(Some(&codec), None) {
            Verdict::Plaintext => "plaintext",
            Verdict::Encrypted => "encrypted",
            Verdict::Unknown => "unknown",
        }
        .to_string();
        let clock = if end.summary.clock_rate > 0 {
            end.summary.clock_rate
        } else {
            8000
        };
        rec.rtp.rtcp = self.rtcp.take(end.ssrc, clock);
        (rec, attributed)
    }

    /// The `rtp` record of a call's stream, written: the call takes its summary.
    pub fn stream_written(&mut self, id: &str, rec: &RtpRecord, end: &StreamEnd) {
        let dir = self.calls.direction_of(id, (end.ctx.dst, end.ctx.dport));
        self.calls
            .stream_ended(id, summary_of(rec, dir), &mut self.call_out);
    }

    /// Packet time reached `now`: transactions time out.
    pub fn expire_transactions(&mut self, now: Ts) {
        self.tx.expire(now, &mut self.sip_out);
    }

    /// Packet time reached `now`: RTCP of silent sources and idle calls time out.
    pub fn expire_calls(&mut self, now: Ts) {
        self.rtcp.expire(now, crate::base::time::secs(3600));
        self.calls.expire(now, &mut self.call_out);
    }

    /// End of input: every open transaction and call is written.
    pub fn flush(&mut self) {
        self.tx.flush(&mut self.sip_out);
        self.calls.flush(&mut self.call_out);
    }
}

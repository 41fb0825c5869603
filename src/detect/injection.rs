//! RTP injection (2100006): a stream into a call's media port from an address the call's SDP
//! never announced (someone else's audio played into the call). It is decided
//! [`CHECK_AFTER_SECS`] after the stream began while the call is up (long enough for the
//! answer's SDP, which may trail the callee's first media; soon enough to tell the operator
//! during the call), or when the stream ends if that is sooner. The pending checks are a capped
//! queue: when full its oldest is forgotten (counted) and that stream is checked when it ends.

use std::collections::VecDeque;

use serde_json::json;

use super::Finding;
use crate::base::packet::PacketCtx;
use crate::base::time::Ts;

/// Seconds after a stream's first packet at which it is checked.
pub const CHECK_AFTER_SECS: u64 = 10;
/// Pending checks kept at most (a flood of new SSRCs must not grow the queue).
pub const MAX_CHECKS: usize = 100_000;

/// Checks due after a stream's first packet, oldest first: the stream's first packet and SSRC.
#[derive(Default)]
pub struct InjectionChecks {
    due: VecDeque<(Ts, PacketCtx, u32)>,
    dropped: u64,
}

impl InjectionChecks {
    /// A stream of a call began at `ctx`: check it later.
    pub fn schedule(&mut self, ctx: PacketCtx, ssrc: u32) {
        if self.due.len() >= MAX_CHECKS {
            self.due.pop_front();
            self.dropped += 1;
        }
        self.due
            .push_back((ctx.ts.add_secs(CHECK_AFTER_SECS), ctx, ssrc));
    }

    /// The next check due by `now`: the stream's first packet (with the time it is due) and
    /// its SSRC.
    pub fn next_due(&mut self, now: Ts) -> Option<(PacketCtx, u32)> {
        let &(due, ctx, ssrc) = self.due.front()?;
        if due > now {
            return None;
        }
        self.due.pop_front();
        Some((PacketCtx { ts: due, ..ctx }, ssrc))
    }

    /// The finding for a stream of call `id` that came from where the call did not announce
    /// (`ctx`: when it was decided; `packets`: its count, when decided at its end).
    pub fn finding(id: &str, ctx: PacketCtx, ssrc: u32, packets: Option<u64>) -> Finding {
        let mut evidence = json!({
            "ssrc": format!("0x{:08X}", ssrc),
            "call_id": id,
            "src": format!("{}:{}", ctx.src, ctx.sport),
            "dest": format!("{}:{}", ctx.dst, ctx.dport),
            "decided": match packets {
                Some(_) => "at its end".to_string(),
                None => format!("{CHECK_AFTER_SECS} s after its first packet"),
            },
        });
        if let (Some(n), Some(o)) = (packets, evidence.as_object_mut()) {
            o.insert("packets".into(), json!(n));
        }
        Finding {
            metadata: None,
            reversed: false,
            sig: crate::detect::signature::RTP_UNEXPECTED_SOURCE,
            ctx,
            evidence,
        }
    }

    pub fn len(&self) -> usize {
        self.due.len()
    }

    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }

    /// Checks forgotten because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

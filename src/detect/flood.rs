//! Floods: requests per window of one source and towards one destination, per method (INVITE,
//! REGISTER, OPTIONS, MESSAGE, SUBSCRIBE) and all methods together; 401/407 challenges towards
//! one destination; and a global alarm on all SIP messages per second of packet time. Floods
//! count every packet, retransmissions included: they load the server all the same. What a
//! source does as a matter of course is left out of its own count: its keepalive round of
//! OPTIONS, and the in-dialog requests (ACK, BYE) of its calls under "all methods".

use std::net::IpAddr;

use serde_json::json;

use super::config::FloodConfig;
use super::secs;
use super::table::{Lru, Rate, Samples};
use super::{Emit, FLOOD_CHALLENGES, FLOOD_DESTINATION, FLOOD_GLOBAL, FLOOD_SOURCE};
use crate::base::iptext::IpText;
use crate::base::time::Ts;
use crate::dialog::Msg;

/// The methods counted on their own; `ALL` counts every method.
pub const METHODS: [&str; 6] = [
    "ALL",
    "INVITE",
    "REGISTER",
    "OPTIONS",
    "MESSAGE",
    "SUBSCRIBE",
];

/// Index of OPTIONS in [`METHODS`].
const OPTIONS: usize = 3;

pub struct RateState {
    /// The key's address as text, written once: the alert limiter keys by it on every
    /// message of a flood past its threshold.
    addr: IpText,
    rate: Rate,
    samples: Samples,
    /// Under a source's OPTIONS key: when it last sent OPTIONS to each of its recent
    /// destinations (at most [`KEEPALIVE_PEERS`]), to tell a keepalive round from a flood.
    keepalive: Vec<(IpAddr, Ts)>,
}

impl RateState {
    fn of(addr: &IpAddr) -> RateState {
        RateState {
            addr: IpText::new(addr),
            rate: Rate::default(),
            samples: Samples::default(),
            keepalive: Vec::new(),
        }
    }
}

/// Destinations remembered per source for keepalive rounds; beyond them every OPTIONS counts.
const KEEPALIVE_PEERS: usize = 64;

pub struct Flood {
    /// (source, index in [`METHODS`]).
    pub sources: Lru<(IpAddr, u8), RateState>,
    /// (destination, index in [`METHODS`]).
    pub destinations: Lru<(IpAddr, u8), RateState>,
    /// Destination of 401/407 responses.
    pub challenges: Lru<IpAddr, RateState>,
    global_second: u64,
    global_count: u64,
    global_since_alert: u64,
}

fn src_threshold(cfg: &FloodConfig, i: usize) -> u64 {
    [
        cfg.src_all,
        cfg.src_invite,
        cfg.src_register,
        cfg.src_options,
        cfg.src_message,
        cfg.src_subscribe,
    ]
    .get(i)
    .copied()
    .unwrap_or(cfg.src_all)
}

fn dst_threshold(cfg: &FloodConfig, i: usize) -> u64 {
    [
        cfg.dst_all,
        cfg.dst_invite,
        cfg.dst_register,
        cfg.dst_options,
        cfg.dst_message,
        cfg.dst_subscribe,
    ]
    .get(i)
    .copied()
    .unwrap_or(cfg.dst_all)
}

impl Flood {
    pub fn new(cfg: &FloodConfig) -> Flood {
        Flood {
            sources: Lru::new(super::usize_of(cfg.max_sources)),
            destinations: Lru::new(super::usize_of(cfg.max_destinations)),
            challenges: Lru::new(super::usize_of(cfg.max_destinations)),
            global_second: u64::MAX,
            global_count: 0,
            global_since_alert: 0,
        }
    }

    pub fn configure(&mut self, cfg: &FloodConfig) {
        self.sources.set_max_keys(super::usize_of(cfg.max_sources));
        self.destinations
            .set_max_keys(super::usize_of(cfg.max_destinations));
        self.challenges
            .set_max_keys(super::usize_of(cfg.max_destinations));
    }

    pub(crate) fn on_message(&mut self, cfg: &FloodConfig, m: &Msg, emit: &mut Emit<'_>) {
        let ctx = &m.ctx;
        // Global rate, per second of packet time.
        let second = ctx.ts.as_nanos() / 1_000_000_000;
        if second != self.global_second {
            self.global_second = second;
            self.global_count = 0;
        }
        self.global_count = self.global_count.saturating_add(1);
        if self.global_count >= cfg.global_per_second {
            self.global_since_alert = self.global_since_alert.saturating_add(1);
            let (count, since) = (self.global_count, self.global_since_alert);
            let ev = || {
                json!({
                    "messages_this_second": count,
                    "window_s": 1,
                    "threshold": cfg.global_per_second,
                    "messages_over_threshold": since,
                })
            };
            if emit.fire(FLOOD_GLOBAL, "global", ctx, ev) {
                self.global_since_alert = 0;
            }
        }
        if let Some(method) = m.method.as_deref() {
            let own = METHODS.iter().position(|x| x.eq_ignore_ascii_case(method));
            let keepalive = own == Some(OPTIONS) && self.keepalive_round(ctx, cfg.window);
            // A request with a To tag continues a dialog (or ACKs a final response): the ACKs
            // and BYEs of a busy trunk's calls are not new work it asks of the server.
            let in_dialog = m.to.as_ref().is_some_and(|t| t.tag.is_some());
            for i in std::iter::once(0).chain(own.filter(|&i| i > 0)) {
                let idx = i as u8;
                let thr = src_threshold(cfg, i);
                // A source's first OPTIONS to a host within the window is a keepalive round
                // (a PBX pinging each of its trunks), not part of a flood from that source;
                // a second one to the same host within the window counts. A source's requests
                // of all methods together count those that start something (no To tag); its
                // INVITEs (re-INVITEs too), REGISTERs, ... each count on their own. Per
                // destination, every request counts.
                let routine = keepalive || (i == 0 && in_dialog);
                if !routine {
                    Self::count(
                        &mut self.sources,
                        (ctx.src, idx),
                        thr,
                        cfg.window,
                        m,
                        FLOOD_SOURCE,
                        "source",
                        emit,
                    );
                }
                let thr = dst_threshold(cfg, i);
                Self::count(
                    &mut self.destinations,
                    (ctx.dst, idx),
                    thr,
                    cfg.window,
                    m,
                    FLOOD_DESTINATION,
                    "destination",
                    emit,
                );
            }
        } else if matches!(m.status, Some(401 | 407)) {
            let s = self
                .challenges
                .touch(ctx.dst, ctx.ts, || RateState::of(&ctx.dst));
            s.samples.add(
                m.call_id.as_deref(),
                m.to.as_ref().and_then(|p| p.user.as_deref()),
                m.server.as_deref(),
            );
            let n = s
                .rate
                .hit(ctx.ts, secs(cfg.challenge_window), cfg.challenge_count);
            if n >= cfg.challenge_count {
                let ev = || {
                    json!({
                        "destination": &*s.addr,
                        "challenges": n,
                        "window_s": cfg.challenge_window,
                        "threshold": cfg.challenge_count,
                        "responses": s.rate.since_alert,
                        "samples": s.samples.json(),
                    })
                };
                if emit.fire(FLOOD_CHALLENGES, s.addr, ctx, ev) {
                    s.rate.since_alert = 0;
                }
            }
        }
    }

    /// Whether this OPTIONS is the source's first to its destination within `window` seconds
    /// (remembering it either way).
    fn keepalive_round(&mut self, ctx: &crate::base::packet::PacketCtx, window: u64) -> bool {
        let s = self
            .sources
            .touch((ctx.src, OPTIONS as u8), ctx.ts, || RateState::of(&ctx.src));
        if let Some((_, last)) = s.keepalive.iter_mut().find(|(d, _)| *d == ctx.dst) {
            let first = ctx.ts.since(*last) >= secs(window);
            *last = ctx.ts;
            return first;
        }
        if s.keepalive.len() < KEEPALIVE_PEERS {
            s.keepalive.push((ctx.dst, ctx.ts));
            return true;
        }
        // Full: the stalest destination makes room; this OPTIONS counts.
        if let Some(oldest) = s.keepalive.iter_mut().min_by_key(|(_, t)| *t) {
            *oldest = (ctx.dst, ctx.ts);
        }
        false
    }

    #[allow(clippy::too_many_arguments)]
    fn count(
        table: &mut Lru<(IpAddr, u8), RateState>,
        key: (IpAddr, u8),
        threshold: u64,
        window: u64,
        m: &Msg,
        sig: crate::detect::signature::Signature,
        who: &str,
        emit: &mut Emit<'_>,
    ) {
        let ctx = &m.ctx;
        let s = table.touch(key, ctx.ts, || RateState::of(&key.0));
        s.samples.add(
            m.call_id.as_deref(),
            m.auth
                .as_ref()
                .and_then(|a| a.username.as_deref())
                .or_else(|| super::target_user(m)),
            m.user_agent.as_deref(),
        );
        let n = s.rate.hit(ctx.ts, secs(window), threshold);
        if n < threshold {
            return;
        }
        let method = METHODS.get(usize::from(key.1)).copied().unwrap_or("ALL");
        let lim_key = (&s.addr, method);
        let ev = || {
            json!({
                who: &*s.addr,
                "method": method,
                "requests": n,
                "window_s": window,
                "threshold": threshold,
                "requests_since_last_alert": s.rate.since_alert,
                "samples": s.samples.json(),
            })
        };
        if emit.fire(sig, lim_key, ctx, ev) {
            s.rate.since_alert = 0;
        }
    }

    pub fn expire(&mut self, cfg: &FloodConfig, now: Ts) {
        self.sources.expire(now, secs(cfg.window));
        self.destinations.expire(now, secs(cfg.window));
        self.challenges.expire(now, secs(cfg.challenge_window));
        // The global count held back since its last alert, forgotten after a week's quiet.
        let second = now.as_nanos() / 1_000_000_000;
        if self.global_second != u64::MAX
            && second.saturating_sub(self.global_second)
                >= crate::base::time::MEMORY_NS / 1_000_000_000
        {
            self.global_second = u64::MAX;
            self.global_count = 0;
            self.global_since_alert = 0;
        }
    }

    /// Whether the global rate remembers a second (state a fresh detector would not have).
    pub fn global_held(&self) -> bool {
        self.global_second != u64::MAX
    }
}

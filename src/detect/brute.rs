//! Password guessing: failed authentications (a request with credentials answered 401, 403 or
//! 407) per source and per username, one username failing from many sources, a success right
//! after failures (critical: the password was probably guessed), and an account registering
//! from a network (/24, /64) it was not seen registering from before.

use std::net::IpAddr;

use serde_json::json;

use super::config::BruteConfig;
use super::secs;
use super::table::{Distinct, Lru, Rate, Samples};
use super::{
    Emit, Pending, BRUTE_DISTRIBUTED, BRUTE_SOURCE, BRUTE_SUCCESS, BRUTE_USER, NEW_NETWORK,
};
use crate::base::iptext::IpText;
use crate::base::time::Ts;
use crate::dialog::Msg;

#[derive(Default)]
pub struct SourceFails {
    fails: Rate,
    users: Samples,
}

#[derive(Default)]
pub struct UserFails {
    /// Failures within `window` (the per-user alert).
    fails: Rate,
    /// Failures within `success_window` (the success-after-failures alert).
    recent: Rate,
    sources: Distinct,
    samples: Samples,
}

pub struct Brute {
    pub sources: Lru<IpAddr, SourceFails>,
    pub users: Lru<String, UserFails>,
    /// Per username: networks it registered from, with when last.
    pub networks: Lru<String, Vec<(String, Ts)>>,
    /// Failed authentications seen, in all.
    pub failures: u64,
}

fn failure(status: u16) -> bool {
    matches!(status, 401 | 403 | 407)
}

impl Brute {
    pub fn new(cfg: &BruteConfig) -> Brute {
        Brute {
            sources: Lru::new(super::usize_of(cfg.max_sources)),
            users: Lru::new(super::usize_of(cfg.max_users)),
            networks: Lru::new(super::usize_of(cfg.max_users)),
            failures: 0,
        }
    }

    pub fn configure(&mut self, cfg: &BruteConfig) {
        self.sources.set_max_keys(super::usize_of(cfg.max_sources));
        self.users.set_max_keys(super::usize_of(cfg.max_users));
        self.networks.set_max_keys(super::usize_of(cfg.max_users));
    }

    /// The final response `m` (status `status`) to the request `p`.
    pub(crate) fn on_final(
        &mut self,
        cfg: &BruteConfig,
        p: &Pending,
        m: &Msg,
        status: u16,
        emit: &mut Emit<'_>,
    ) {
        let ctx = &m.ctx;
        if (200..300).contains(&status) && p.method.eq_ignore_ascii_case("REGISTER") {
            let user = p.auth_user.as_deref().filter(|u| !u.is_empty());
            if let Some(user) = user.or(p.target.as_deref()) {
                self.new_network(cfg, user, p, m, emit);
            }
        }
        let Some(user) = p.auth_user.as_deref() else {
            return;
        };
        if failure(status) {
            self.failures = self.failures.saturating_add(1);
            let src = IpText::new(&p.ctx.src).to_string();
            // per source
            let s = self.sources.touch(p.ctx.src, ctx.ts, SourceFails::default);
            s.users
                .add(Some(&p.call_id), Some(user), p.user_agent.as_deref());
            let n = s.fails.hit(ctx.ts, secs(cfg.window), cfg.src_failures);
            if n >= cfg.src_failures {
                let ev = || {
                    json!({
                        "source": src,
                        "failures": n,
                        "window_s": cfg.window,
                        "threshold": cfg.src_failures,
                        "failures_since_last_alert": s.fails.since_alert,
                        "last_status": status,
                        "samples": s.users.json(),
                    })
                };
                if emit.fire(BRUTE_SOURCE, &src, ctx, ev) {
                    s.fails.since_alert = 0;
                }
            }
            // per user
            let u = self
                .users
                .touch_by(user, ctx.ts, || user.to_string(), UserFails::default);
            u.samples
                .add(Some(&p.call_id), Some(user), p.user_agent.as_deref());
            u.recent
                .hit(ctx.ts, secs(cfg.success_window), cfg.success_failures);
            let n = u.fails.hit(ctx.ts, secs(cfg.window), cfg.user_failures);
            if n >= cfg.user_failures {
                let ev = || {
                    json!({
                        "username": user,
                        "failures": n,
                        "window_s": cfg.window,
                        "threshold": cfg.user_failures,
                        "failures_since_last_alert": u.fails.since_alert,
                        "sources": u.sources.sample(super::table::SAMPLES),
                        "samples": u.samples.json(),
                    })
                };
                if emit.fire(BRUTE_USER, user, ctx, ev) {
                    u.fails.since_alert = 0;
                }
            }
            let n = u.sources.hit(
                &src,
                ctx.ts,
                secs(cfg.distributed_window),
                cfg.distributed_sources,
            );
            if n >= cfg.distributed_sources {
                let ev = || {
                    json!({
                        "username": user,
                        "source_count": n,
                        "window_s": cfg.distributed_window,
                        "threshold": cfg.distributed_sources,
                        "failures": u.sources.since_alert,
                        "sample_sources": u.sources.sample(super::table::SAMPLES),
                        "samples": u.samples.json(),
                    })
                };
                if emit.fire(BRUTE_DISTRIBUTED, user, ctx, ev) {
                    u.sources.since_alert = 0;
                }
            }
        } else if (200..300).contains(&status) {
            let Some(u) = self.users.get_mut(&user.to_string()) else {
                return;
            };
            let n = u.recent.count(ctx.ts, secs(cfg.success_window));
            if n >= cfg.success_failures {
                let src = IpText::new(&p.ctx.src).to_string();
                let ev = || {
                    json!({
                        "username": user,
                        "source": src,
                        "failures_before": n,
                        "window_s": cfg.success_window,
                        "threshold": cfg.success_failures,
                        "status": status,
                        "method": p.method,
                        "call_id": p.call_id,
                        "failing_sources": u.sources.sample(super::table::SAMPLES),
                        "samples": u.samples.json(),
                    })
                };
                emit.fire(BRUTE_SUCCESS, user, ctx, ev);
                u.recent.clear();
            }
        }
    }

    fn new_network(
        &mut self,
        cfg: &BruteConfig,
        user: &str,
        p: &Pending,
        m: &Msg,
        emit: &mut Emit<'_>,
    ) {
        let ctx = &m.ctx;
        let net = super::network_of(p.ctx.src);
        let nets = self
            .networks
            .touch_by(user, ctx.ts, || user.to_string(), Vec::new);
        if let Some(e) = nets.iter_mut().find(|(n, _)| *n == net) {
            e.1 = ctx.ts;
            return;
        }
        if !nets.is_empty() {
            let known: Vec<String> = nets.iter().map(|(n, _)| n.clone()).collect();
            let src = IpText::new(&p.ctx.src).to_string();
            let ev = || {
                json!({
                    "username": user,
                    "source": src,
                    "network": net,
                    "known_networks": known,
                    "call_id": p.call_id,
                    "user_agent": p.user_agent,
                })
            };
            emit.fire(NEW_NETWORK, format_args!("{user}|{net}"), ctx, ev);
        }
        let cap = super::usize_of(cfg.networks_per_user).max(1);
        while nets.len() >= cap {
            // forget the network seen least recently
            let oldest = nets
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(i, _)| i);
            match oldest {
                Some(i) => {
                    nets.remove(i);
                }
                None => break,
            }
        }
        nets.push((net, ctx.ts));
    }

    pub fn expire(&mut self, cfg: &BruteConfig, now: Ts) {
        self.sources.expire(now, secs(cfg.window));
        let user_idle = cfg
            .window
            .max(cfg.success_window)
            .max(cfg.distributed_window);
        self.users.expire(now, secs(user_idle));
        self.networks.expire(now, secs(cfg.network_idle));
    }
}

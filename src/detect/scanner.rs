//! Scanner behaviour, whatever the User-Agent: sweeps of many hosts, extension enumeration,
//! requests nobody answers, and the SIPVicious From-tag.
//!
//! The SIPVicious From-tag rule (seen in the captures under pcaps/public/sipvicious/): the tag
//! is an even number (at most 128) of hex digits; hex-decoded, it is `P 0x01 D` where `P` is 1 to
//! 32 ASCII hex digits and `D` 1 to 20 ASCII decimal digits. svwar puts the extension it tries
//! in `P` in decimal (`3530300133323234333331343530` = `500` 0x01 `3224331450`), svmap the
//! target's IPv4 address and port in hex (`37663030303030393133633401343832363932313133` =
//! `7f00000913c4` 0x01 `482692113`, 127.0.0.9:5060); `D` is a random number.

use std::net::IpAddr;

use serde_json::json;

use super::config::ScannerConfig;
use super::secs;
use super::table::{Distinct, Lru, Rate, Samples};
use super::{Emit, Pending, SCAN_ENUMERATION, SCAN_NO_RESPONSE, SCAN_SIPVICIOUS_TAG, SCAN_SWEEP};
use crate::base::iptext::IpText;
use crate::base::time::Ts;
use crate::dialog::Msg;

/// What one source did.
#[derive(Default)]
pub struct SourceState {
    /// The source has shown a scanner's traits (`scanner_trait`): a handful of hosts is a sweep.
    scanner: bool,
    hosts: Distinct,
    users: Distinct,
    unanswered: Rate,
    samples: Samples,
}

pub struct Scanner {
    pub sources: Lru<IpAddr, SourceState>,
}

/// User-Agents of SIP scanners and attack tools (lowercase substrings): SIPVicious, sipcli,
/// the VaxSIP SDK of many scanners, pplsip, nmap's NSE scripts, SiVuS, iWar, smap, sundayddr.
const SCANNER_AGENTS: &[&str] = &[
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "vaxsipuseragent",
    "pplsip",
    "nmap nse",
    "sivus",
    "iwar",
    "smap",
    "sundayddr",
    "sipscan",
];

/// A scanner's trait in one request: the SIPVicious From-tag or a scanner's User-Agent.
fn scanner_trait(m: &Msg) -> bool {
    m.from_tag().and_then(sipvicious_tag).is_some()
        || m.user_agent.as_deref().is_some_and(|ua| {
            let ua = ua.as_bytes();
            SCANNER_AGENTS.iter().any(|s| {
                ua.windows(s.len())
                    .any(|w| w.eq_ignore_ascii_case(s.as_bytes()))
            })
        })
}

/// Responses that tell an enumerator an extension does not exist (or exists: 401/407).
fn enumeration_status(status: u16) -> bool {
    matches!(status, 404 | 403 | 401 | 407 | 484)
}

fn unhex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// The SIPVicious From-tag rule (module documentation): the decoded prefix when it matches.
pub fn sipvicious_tag(tag: &str) -> Option<String> {
    let b = tag.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(2) || b.len() > 128 {
        return None;
    }
    let mut dec = Vec::with_capacity(b.len() / 2);
    for pair in b.chunks_exact(2) {
        dec.push(unhex(pair[0])? << 4 | unhex(pair[1])?);
    }
    let sep = dec.iter().position(|&c| c == 0x01)?;
    let (p, d) = (&dec[..sep], &dec[sep + 1..]);
    let ok = (1..=32).contains(&p.len())
        && p.iter().all(u8::is_ascii_hexdigit)
        && (1..=20).contains(&d.len())
        && d.iter().all(u8::is_ascii_digit);
    ok.then(|| String::from_utf8_lossy(p).into_owned())
}

impl Scanner {
    pub fn new(cfg: &ScannerConfig) -> Scanner {
        Scanner {
            sources: Lru::new(super::usize_of(cfg.max_sources)),
        }
    }

    pub fn configure(&mut self, cfg: &ScannerConfig) {
        self.sources.set_max_keys(super::usize_of(cfg.max_sources));
    }

    /// A new request (not a retransmission).
    pub(crate) fn on_request(&mut self, cfg: &ScannerConfig, m: &Msg, emit: &mut Emit<'_>) {
        let ctx = &m.ctx;
        let src = IpText::new(&ctx.src);
        let s = self.sources.touch(ctx.src, ctx.ts, SourceState::default);
        s.samples.add(
            m.call_id.as_deref(),
            m.auth
                .as_ref()
                .and_then(|a| a.username.as_deref())
                .or_else(|| super::target_user(m)),
            m.user_agent.as_deref(),
        );
        if !s.scanner && scanner_trait(m) {
            s.scanner = true;
        }
        // A source with a scanner's traits sweeps with every request; any other source only
        // with requests that fail or go unanswered (`sweep_hit` from `on_final` and
        // `on_unanswered`): hosts that answer are its peers (keepalives to trunks), not a sweep.
        if s.scanner {
            self.sweep_hit(cfg, ctx.src, ctx.dst, ctx, emit);
        }
        if cfg.sipvicious_tag != 0 {
            if let Some(prefix) = m.from_tag().and_then(sipvicious_tag) {
                let s = self.sources.touch(ctx.src, ctx.ts, SourceState::default);
                let tag = m.from_tag().unwrap_or("");
                let ev = || {
                    json!({
                        "source": src,
                        "from_tag": crate::dialog::msg::clip(tag, super::table::VALUE_CLIP),
                        "decoded_prefix": prefix,
                        "method": m.method,
                        "samples": s.samples.json(),
                    })
                };
                emit.fire(SCAN_SIPVICIOUS_TAG, &*src, ctx, ev);
            }
        }
    }

    /// One more host in `src`'s sweep: every host for a source with a scanner's traits (then
    /// `sweep_hosts_scanner` of them are enough), else hosts whose requests failed or went
    /// unanswered (`sweep_hosts`). `ctx` is the packet that decided it.
    fn sweep_hit(
        &mut self,
        cfg: &ScannerConfig,
        src_ip: IpAddr,
        host: IpAddr,
        ctx: &crate::base::packet::PacketCtx,
        emit: &mut Emit<'_>,
    ) {
        let src = IpText::new(&src_ip).to_string();
        let s = self.sources.touch(src_ip, ctx.ts, SourceState::default);
        let threshold = if s.scanner {
            cfg.sweep_hosts_scanner.min(cfg.sweep_hosts)
        } else {
            cfg.sweep_hosts
        };
        let n = s.hosts.hit(
            &IpText::new(&host),
            ctx.ts,
            secs(cfg.sweep_window),
            cfg.sweep_hosts,
        );
        if n < threshold {
            return;
        }
        let scanner = s.scanner;
        let ev = || {
            json!({
                "source": src,
                "hosts": n,
                "window_s": cfg.sweep_window,
                "threshold": threshold,
                "scanner_traits": scanner,
                "requests": s.hosts.since_alert,
                "sample_hosts": s.hosts.sample(super::table::SAMPLES),
                "samples": s.samples.json(),
            })
        };
        if emit.fire(SCAN_SWEEP, &src, ctx, ev) {
            s.hosts.since_alert = 0;
        }
    }

    fn enumeration_hit(
        &mut self,
        cfg: &ScannerConfig,
        p: &Pending,
        answer: Option<u16>,
        ctx: &crate::base::packet::PacketCtx,
        emit: &mut Emit<'_>,
    ) {
        let Some(user) = p.target.as_deref() else {
            return;
        };
        let src = IpText::new(&p.ctx.src).to_string();
        let s = self.sources.touch(p.ctx.src, ctx.ts, SourceState::default);
        let n = s
            .users
            .hit(user, ctx.ts, secs(cfg.enum_window), cfg.enum_users);
        if n >= cfg.enum_users {
            let ev = || {
                json!({
                    "source": src,
                    "users": n,
                    "window_s": cfg.enum_window,
                    "threshold": cfg.enum_users,
                    "attempts": s.users.since_alert,
                    "last_status": answer,
                    "method": p.method,
                    "sample_users": s.users.sample(super::table::SAMPLES),
                    "samples": s.samples.json(),
                })
            };
            if emit.fire(SCAN_ENUMERATION, &src, ctx, ev) {
                s.users.since_alert = 0;
            }
        }
    }

    /// The final response to a paired request.
    /// (A 401/407 to a request without credentials is decided later: only when no retry with
    /// credentials follows, see `Detectors::on_message`.) `ctx` is the response's.
    pub(crate) fn on_final(
        &mut self,
        cfg: &ScannerConfig,
        p: &Pending,
        ctx: &crate::base::packet::PacketCtx,
        status: u16,
        emit: &mut Emit<'_>,
    ) {
        if enumeration_status(status) {
            self.enumeration_hit(cfg, p, Some(status), ctx, emit);
        }
        if status >= 300 {
            self.sweep_hit(cfg, p.ctx.src, p.ctx.dst, ctx, emit);
        }
    }

    /// A request that got no response at all within `no_response_timeout`.
    pub(crate) fn on_unanswered(&mut self, cfg: &ScannerConfig, p: &Pending, emit: &mut Emit<'_>) {
        self.enumeration_hit(cfg, p, None, &p.ctx, emit);
        self.sweep_hit(cfg, p.ctx.src, p.ctx.dst, &p.ctx, emit);
        let src = IpText::new(&p.ctx.src).to_string();
        let s = self
            .sources
            .touch(p.ctx.src, p.ctx.ts, SourceState::default);
        let n = s.unanswered.hit(
            p.ctx.ts,
            secs(cfg.no_response_window),
            cfg.no_response_count,
        );
        if n >= cfg.no_response_count {
            let ev = || {
                json!({
                    "source": src,
                    "unanswered": n,
                    "window_s": cfg.no_response_window,
                    "timeout_s": cfg.no_response_timeout,
                    "threshold": cfg.no_response_count,
                    "requests": s.unanswered.since_alert,
                    "samples": s.samples.json(),
                })
            };
            if emit.fire(SCAN_NO_RESPONSE, &src, &p.ctx, ev) {
                s.unanswered.since_alert = 0;
            }
        }
    }

    pub fn expire(&mut self, cfg: &ScannerConfig, now: Ts) {
        let idle = cfg
            .sweep_window
            .max(cfg.enum_window)
            .max(cfg.no_response_window)
            .saturating_add(cfg.no_response_timeout);
        self.sources.expire(now, secs(idle));
    }
}

#[cfg(test)]
mod tests {
    use super::sipvicious_tag;

    #[test]
    fn sipvicious_tags_from_the_captures() {
        assert_eq!(
            sipvicious_tag("3530300133323234333331343530").as_deref(),
            Some("500")
        );
        assert_eq!(
            sipvicious_tag("37663030303030393133633401343832363932313133").as_deref(),
            Some("7f00000913c4")
        );
        assert_eq!(
            sipvicious_tag("3736303936373738390134323636313636393038").as_deref(),
            Some("760967789")
        );
        for t in [
            "reg1",
            "",
            "35303001",
            "0133",
            "3530300133g2",
            "as8d7f6a5s",
            "1234567890",
            "353030013332323433333134353",
        ] {
            assert_eq!(sipvicious_tag(t), None, "{t}");
        }
    }
}

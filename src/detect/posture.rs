//! Authentication posture ("use strong authentication", checked from the wire): how each
//! registrar, proxy or PBX authenticates, and how each account is used. Findings are their own
//! category (`posture`), one per server or account and kind, and every server's posture is
//! summed up in a `posture` record (at the end of a replay, and every `record_interval` live).
//!
//! Never kept or written: a nonce (a hash of it, to see it offered again), a digest response,
//! a password. User names and realms only.
//!
//! | id | finding | severity |
//! | --- | --- | --- |
//! | 2600001 | REGISTER accepted without a challenge (open registration) | 1 |
//! | 2600002 | INVITE from outside `$VOICE_NET` answered without a challenge (open relay) | 1 |
//! | 2600003 | digest challenge without qop | 3 |
//! | 2600004 | digest offered with MD5 only (no SHA-256, RFC 8760) | 3 |
//! | 2600005 | the same nonce offered to several clients or in several challenges | 2 |
//! | 2600006 | digest credentials over a plaintext transport (per account and transport) | 3 |
//! | 2600007 | one account registered from several networks or devices at once | 2 |
//! | 2600008 | an account whose authentication only ever fails (a stale password) | 3 |

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;
use serde_json::json;

use super::callerid::Cidr;
use super::config::PostureConfig;
use super::segmentation::Segments;
use super::signature::Signature;
use super::table::Lru;
use super::Finding;
use crate::base::head::Head;
use crate::base::packet::{PacketCtx, Transport};
use crate::base::time::{secs, Ts};
use crate::dialog::Msg;

const fn sig(id: u32, name: &'static str, severity: u8) -> Signature {
    Signature {
        id,
        name,
        category: "posture",
        severity,
        app_proto: Some("sip"),
    }
}

pub const OPEN_REGISTRATION: Signature = sig(
    2_600_001,
    "VOIP-SENTINEL posture: REGISTER accepted without authentication (open registrar)",
    1,
);
pub const OPEN_RELAY: Signature = sig(
    2_600_002,
    "VOIP-SENTINEL posture: INVITE from outside the voice networks answered without authentication",
    1,
);
pub const NO_QOP: Signature = sig(
    2_600_003,
    "VOIP-SENTINEL posture: digest challenge without qop",
    3,
);
pub const MD5_ONLY: Signature = sig(
    2_600_004,
    "VOIP-SENTINEL posture: digest authentication offered with MD5 only",
    3,
);
pub const NONCE_REUSE: Signature = sig(
    2_600_005,
    "VOIP-SENTINEL posture: digest nonce offered again (replay risk)",
    2,
);
pub const PLAINTEXT_CREDENTIALS: Signature = sig(
    2_600_006,
    "VOIP-SENTINEL posture: digest credentials sent over a plaintext transport",
    3,
);
pub const SHARED_ACCOUNT: Signature = sig(
    2_600_007,
    "VOIP-SENTINEL posture: one account registered from several networks or devices at once",
    2,
);
pub const STALE_PASSWORD: Signature = sig(
    2_600_008,
    "VOIP-SENTINEL posture: account whose authentication only ever fails",
    3,
);

/// Findings of a server, as flags (raised once each) and as names in its record.
const FINDINGS: [(u16, &str); 5] = [
    (1, "open_registration"),
    (2, "open_relay"),
    (4, "no_qop"),
    (8, "md5_only"),
    (16, "nonce_reuse"),
];

/// A request's key in the table (Call-ID, CSeq number and method, client) as borrowed parts.
#[derive(Clone, Copy)]
struct PendingRef<'a> {
    call_id: &'a str,
    cseq: u32,
    method: &'a str,
    client: IpAddr,
}

type PendingKey = (String, u32, String, IpAddr);

impl PendingRef<'_> {
    /// Hashed as the owned key is.
    fn parts(&self) -> (&str, u32, &str, IpAddr) {
        (self.call_id, self.cseq, self.method, self.client)
    }

    fn is(&self, k: &PendingKey) -> bool {
        k.1 == self.cseq && k.3 == self.client && k.0 == self.call_id && k.2 == self.method
    }

    fn owned(&self) -> PendingKey {
        (
            self.call_id.to_string(),
            self.cseq,
            self.method.to_string(),
            self.client,
        )
    }
}

/// A request waiting for its answer: what the answer needs to be judged.
#[derive(Clone)]
struct Pending {
    credentials: bool,
    account: Option<String>,
    client: IpAddr,
    user_agent: Option<String>,
    /// A provisional answer was judged already (an INVITE is counted once).
    judged: bool,
}

/// What one server (registrar, proxy, PBX) was seen doing.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerPosture {
    pub realms: Vec<String>,
    /// REGISTERs answered 2xx: without credentials, and with.
    pub registrations_unauthenticated: u64,
    pub registrations_authenticated: u64,
    /// INVITEs answered (18x/2xx) without credentials from outside the voice networks.
    pub invites_unauthenticated_outside: u64,
    /// 401/407 challenges, and those without qop, with stale=true.
    pub challenges: u64,
    pub challenges_without_qop: u64,
    pub challenges_stale: u64,
    /// Digest algorithms offered.
    pub algorithms: Vec<&'static str>,
    /// Nonces offered again (to another client, or too many times).
    pub nonces_reused: u64,
    /// Requests with a digest response sent to it over UDP/TCP/SCTP.
    pub plaintext_credentials: u64,
    pub findings: Vec<&'static str>,
    #[serde(skip)]
    flags: u16,
    #[serde(skip)]
    ctx: Option<PacketCtx>,
    #[serde(skip)]
    changed: bool,
}

/// How one account (user@realm) was used.
#[derive(Default)]
struct Account {
    ok: u64,
    failed: u64,
    /// Live registrations: client network (/24, /64), device, when.
    bindings: Vec<(IpAddr, Option<String>, Ts)>,
    /// Transports its credentials went over in plaintext (flags), already said.
    plaintext_said: u8,
    shared_said: bool,
    stale_said: bool,
    /// The last failure: its answer, client, device, and when the failures began.
    last_failure: Option<(PacketCtx, IpAddr, Option<String>, Ts)>,
}

/// A nonce of a server: the clients it was offered to, and how many times.
#[derive(Default)]
struct NonceUse {
    clients: Vec<IpAddr>,
    offers: u32,
}

/// The `posture` record of one server.
pub struct PostureRecord {
    pub head: Head,
    pub posture: ServerPosture,
}
crate::serialize_with_head!(PostureRecord { posture });

pub struct Posture {
    cfg: PostureConfig,
    voice: Segments,
    trusted: Vec<Cidr>,
    /// Keyed by Call-ID, CSeq, method and the client's address: a proxy relaying the request
    /// with the same CSeq is another client, answered by another server.
    pending: Lru<PendingKey, Pending>,
    servers: Lru<IpAddr, ServerPosture>,
    accounts: Lru<String, Account>,
    nonces: Lru<(IpAddr, u64), NonceUse>,
    next_records: Option<Ts>,
}

impl Posture {
    pub fn new(cfg: PostureConfig, voice: Segments, trusted: Vec<Cidr>) -> Posture {
        Posture {
            pending: Lru::new(cfg.max_pending as usize),
            servers: Lru::new(cfg.max_servers as usize),
            accounts: Lru::new(cfg.max_accounts as usize),
            nonces: Lru::new(cfg.max_nonces as usize),
            cfg,
            voice,
            trusted,
            next_records: None,
        }
    }

    /// A reloaded policy: new thresholds and networks, state kept.
    pub fn set(&mut self, cfg: PostureConfig, voice: Segments, trusted: Vec<Cidr>) {
        self.pending.set_max_keys(cfg.max_pending as usize);
        self.servers.set_max_keys(cfg.max_servers as usize);
        self.accounts.set_max_keys(cfg.max_accounts as usize);
        self.nonces.set_max_keys(cfg.max_nonces as usize);
        self.cfg = cfg;
        self.voice = voice;
        self.trusted = trusted;
    }

    /// One message (a retransmission is not counted again).
    pub fn on_message(&mut self, m: &Msg, retransmission: bool, out: &mut Vec<Finding>) {
        if retransmission || self.cfg.enabled == 0 {
            return;
        }
        let (Some(id), Some((cseq, cseq_method))) = (m.call_id.as_deref(), m.cseq.as_ref()) else {
            return;
        };
        if !matches!(cseq_method.as_str(), "REGISTER" | "INVITE") {
            return;
        }
        let client = if m.is_request() { m.ctx.src } else { m.ctx.dst };
        let key = PendingRef {
            call_id: id,
            cseq: *cseq,
            method: cseq_method,
            client,
        };
        if m.is_request() {
            self.request(m, key, out);
        } else if let Some(code) = m.status {
            self.response(m, code, key, out);
        }
    }

    fn account_of(m: &Msg) -> Option<String> {
        let a = m.auth.as_ref()?;
        let user = a.username.as_deref()?;
        Some(format!("{user}@{}", a.realm.as_deref().unwrap_or("")))
    }

    fn request(&mut self, m: &Msg, key: PendingRef<'_>, out: &mut Vec<Finding>) {
        let ctx = &m.ctx;
        let credentials = m.auth.is_some() && m.digest.response;
        let account = Self::account_of(m);
        if credentials && !ctx.encrypted() {
            let server = self.server(ctx.dst, None);
            server.plaintext_credentials += 1;
            server.changed = true;
            if let Some(acc) = &account {
                let flag = match ctx.transport {
                    Transport::Udp => 1,
                    Transport::Tcp => 2,
                    Transport::Sctp => 4,
                };
                let a =
                    self.accounts
                        .touch_by(acc.as_str(), ctx.ts, || acc.clone(), Account::default);
                if a.plaintext_said & flag == 0 {
                    a.plaintext_said |= flag;
                    out.push(Finding {
                        metadata: None,
                        sig: PLAINTEXT_CREDENTIALS,
                        ctx: *ctx,
                        evidence: json!({
                            "account": acc,
                            "transport": transport_name(ctx.transport),
                            "method": m.method,
                            "server": ctx.dst,
                        }),
                        reversed: false,
                    });
                }
            }
        }
        let slot = self.pending.touch_parts(
            &key.parts(),
            |k| key.is(k),
            ctx.ts,
            || key.owned(),
            || Pending {
                credentials,
                account: account.clone(),
                client: ctx.src,
                user_agent: m.user_agent.clone(),
                judged: false,
            },
        );
        let Some(p) = self.pending.at_slot(slot) else {
            return;
        };
        // The same request again with credentials (a new CSeq is usual; the same, rare).
        p.credentials |= credentials;
        if p.account.is_none() {
            p.account = account;
        }
    }

    fn server(&mut self, ip: IpAddr, ctx: Option<&PacketCtx>) -> &mut ServerPosture {
        let now = ctx.map_or(Ts::ZERO, |c| c.ts);
        let s = self.servers.touch(ip, now, ServerPosture::default);
        if s.ctx.is_none() {
            s.ctx = ctx.copied();
        }
        s
    }

    fn response(&mut self, m: &Msg, code: u16, key: PendingRef<'_>, out: &mut Vec<Finding>) {
        let ctx = &m.ctx;
        let method = key.method;
        let slot = self.pending.find_parts(&key.parts(), |k| key.is(k));
        let pending = match code {
            100 => None,
            // Only the INVITE judgement below reads a provisional answer's request, and only
            // its flags and client: no copy of its strings.
            101..=199 => slot.and_then(|i| self.pending.at_slot(i)).map(|p| {
                let was = Pending {
                    credentials: p.credentials,
                    account: None,
                    client: p.client,
                    user_agent: None,
                    judged: p.judged,
                };
                p.judged = true;
                was
            }),
            _ => slot.and_then(|i| self.pending.remove_slot(i)),
        };
        if matches!(code, 401 | 407) {
            self.challenge(m, out);
        }
        let Some(p) = pending else { return };
        // The server is the answer's sender.
        let server_ip = ctx.src;
        match (method, code) {
            ("REGISTER", 200..=299) if !p.credentials => {
                let s = self.server(server_ip, Some(ctx));
                s.registrations_unauthenticated += 1;
                s.changed = true;
                if raise(s, 1) {
                    out.push(Finding {
                        metadata: None,
                        sig: OPEN_REGISTRATION,
                        ctx: *ctx,
                        evidence: json!({
                            "server": server_ip,
                            "user": m.to.as_ref().map(|t| t.user.clone()),
                            "client": p.client,
                            "transport": transport_name(ctx.transport),
                        }),
                        reversed: true,
                    });
                }
            }
            ("REGISTER", 200..=299) => {
                let s = self.server(server_ip, Some(ctx));
                s.registrations_authenticated += 1;
                s.changed = true;
                if let Some(acc) = &p.account {
                    self.registered(acc, &p, ctx, m.expires, out);
                }
            }
            ("REGISTER", 401 | 403 | 407) if p.credentials => {
                if let Some(acc) = &p.account {
                    self.failed(acc, &p, ctx);
                }
            }
            ("INVITE", 180..=299) if !p.judged && !p.credentials && self.outside(p.client) => {
                let s = self.server(server_ip, Some(ctx));
                s.invites_unauthenticated_outside += 1;
                s.changed = true;
                if raise(s, 2) {
                    out.push(Finding {
                        metadata: None,
                        sig: OPEN_RELAY,
                        ctx: *ctx,
                        evidence: json!({
                            "server": server_ip,
                            "caller": p.client,
                            "to": m.to.as_ref().map(|t| t.user.clone()),
                            "status": code,
                        }),
                        reversed: true,
                    });
                }
            }
            _ => {}
        }
    }

    /// Whether a client is outside the voice networks and the trusted trunks (never, when no
    /// voice network is configured: an unknown network is not called outside).
    fn outside(&self, ip: IpAddr) -> bool {
        self.voice.voice_net(ip) == Some(false) && !self.trusted.iter().any(|c| c.contains(ip))
    }

    /// A 401/407: what the server offers.
    fn challenge(&mut self, m: &Msg, out: &mut Vec<Finding>) {
        let ctx = &m.ctx;
        let d = m.digest;
        if !(d.md5 || d.sha256) {
            return;
        }
        let realm = m.challenge.as_ref().and_then(|c| c.realm.clone());
        let client = ctx.dst;
        let reused = d.nonce.is_some_and(|n| {
            let u = self.nonces.touch((ctx.src, n), ctx.ts, NonceUse::default);
            u.offers += 1;
            if !u.clients.contains(&client) && u.clients.len() < 8 {
                u.clients.push(client);
            }
            u.clients.len() as u64 >= self.cfg.nonce_clients
                || u64::from(u.offers) >= self.cfg.nonce_offers
        });
        let s = self.server(ctx.src, Some(ctx));
        s.changed = true;
        s.challenges += 1;
        if let Some(r) = realm {
            if !s.realms.contains(&r) && s.realms.len() < 4 {
                s.realms.push(crate::dialog::msg::clip(&r, 128));
            }
        }
        for (on, name) in [(d.md5, "MD5"), (d.sha256, "SHA-256")] {
            if on && !s.algorithms.contains(&name) {
                s.algorithms.push(name);
            }
        }
        if d.stale {
            s.challenges_stale += 1;
        }
        let mut found = Vec::new();
        if !d.qop {
            s.challenges_without_qop += 1;
            if raise(s, 4) {
                found.push(NO_QOP);
            }
        }
        if d.md5 && !d.sha256 && raise(s, 8) {
            found.push(MD5_ONLY);
        }
        if reused {
            s.nonces_reused += 1;
            if raise(s, 16) {
                found.push(NONCE_REUSE);
            }
        }
        let realms = s.realms.clone();
        for sig in found {
            out.push(Finding {
                metadata: None,
                sig,
                ctx: *ctx,
                evidence: json!({
                    "server": ctx.src,
                    "realms": realms,
                    "status": m.status,
                    "client": client,
                }),
                reversed: false,
            });
        }
    }

    fn registered(
        &mut self,
        acc: &str,
        p: &Pending,
        ctx: &PacketCtx,
        expires: Option<u32>,
        out: &mut Vec<Finding>,
    ) {
        let window = secs(self.cfg.shared_window);
        let a = self
            .accounts
            .touch_by(acc, ctx.ts, || acc.to_string(), Account::default);
        a.ok += 1;
        let net = super::network_base(p.client);
        let now = ctx.ts;
        // Bindings still alive (within the window, or their expiry when shorter).
        let life = expires.map_or(window, |e| secs(u64::from(e)).min(window));
        a.bindings.retain(|(_, _, t)| now.since(*t) < window);
        a.bindings
            .retain(|(n, ua, _)| !(*n == net && *ua == p.user_agent));
        if a.bindings.len() < 8 && life > 0 {
            a.bindings.push((net, p.user_agent.clone(), now));
        }
        let nets: std::collections::BTreeSet<IpAddr> = a.bindings.iter().map(|b| b.0).collect();
        let uas: std::collections::BTreeSet<&Option<String>> =
            a.bindings.iter().map(|b| &b.1).collect();
        if (nets.len() > 1 || uas.len() > 1) && !a.shared_said {
            a.shared_said = true;
            out.push(Finding {
                metadata: None,
                sig: SHARED_ACCOUNT,
                ctx: *ctx,
                evidence: json!({
                    "account": acc,
                    "networks": nets,
                    "user_agents": uas.into_iter().flatten().collect::<Vec<_>>(),
                    "window_s": self.cfg.shared_window,
                }),
                reversed: true,
            });
        }
    }

    fn failed(&mut self, acc: &str, p: &Pending, ctx: &PacketCtx) {
        let a = self
            .accounts
            .touch_by(acc, ctx.ts, || acc.to_string(), Account::default);
        a.failed += 1;
        let since = a.last_failure.as_ref().map_or(ctx.ts, |f| f.3);
        a.last_failure = Some((*ctx, p.client, p.user_agent.clone(), since));
    }

    /// Accounts that failed `stale_failures` times and never succeeded, judged when the
    /// records are (a guessed password succeeds in the end, a stale one never does), in
    /// account order.
    fn stale(&mut self, out: &mut Vec<Finding>) {
        let min = self.cfg.stale_failures;
        let mut due: Vec<String> = Vec::new();
        self.accounts.for_each(|k, a| {
            if a.ok == 0 && a.failed >= min && !a.stale_said {
                due.push(k.clone());
            }
        });
        due.sort();
        for acc in due {
            let Some(a) = self.accounts.get_mut(&acc) else {
                continue;
            };
            a.stale_said = true;
            let Some((ctx, client, ua, since)) = a.last_failure.clone() else {
                continue;
            };
            out.push(Finding {
                metadata: None,
                sig: STALE_PASSWORD,
                ctx,
                evidence: json!({
                    "account": acc,
                    "failures": a.failed,
                    "client": client,
                    "user_agent": ua,
                    "since": since.to_string(),
                }),
                reversed: true,
            });
        }
    }

    /// The `posture` records due: every server changed since the last ones, when `all` (the
    /// end of a run) or when `record_interval` has passed; in address order.
    pub fn records(&mut self, now: Ts, all: bool, out: &mut Vec<Finding>) -> Vec<PostureRecord> {
        let due = match self.next_records {
            None => {
                self.next_records = Some(now.add_secs(self.cfg.record_interval));
                false
            }
            Some(t) => now >= t,
        };
        if !(all || due) {
            return Vec::new();
        }
        self.next_records = Some(now.add_secs(self.cfg.record_interval));
        self.stale(out);
        let mut records: BTreeMap<IpAddr, PostureRecord> = BTreeMap::new();
        let ips: Vec<IpAddr> = self.servers_changed();
        for ip in ips {
            let Some(s) = self.servers.get_mut(&ip) else {
                continue;
            };
            s.changed = false;
            let Some(ctx) = s.ctx else { continue };
            let mut posture = s.clone();
            posture.findings = FINDINGS
                .iter()
                .filter(|(f, _)| s.flags & f != 0)
                .map(|(_, n)| *n)
                .collect();
            let mut head = Head::new(&ctx, "posture");
            head.app_proto = Some("sip".into());
            records.insert(ip, PostureRecord { head, posture });
        }
        // Every change is written: the servers idle for long go (their record, if they had
        // news, is among these).
        self.servers.expire(now, secs(self.cfg.idle));
        records.into_values().collect()
    }

    fn servers_changed(&mut self) -> Vec<IpAddr> {
        let mut v = Vec::new();
        self.servers.for_each(|ip, s| {
            if s.changed {
                v.push(*ip);
            }
        });
        v
    }

    /// Drop what is idle.
    pub fn expire(&mut self, now: Ts) {
        self.pending.expire(now, secs(64));
        self.nonces.expire(now, secs(self.cfg.shared_window));
        self.accounts.expire(now, secs(self.cfg.idle));
    }

    pub fn tables(&self) -> [(&'static str, super::TableStats); 4] {
        use super::TableStats;
        [
            ("posture_servers", TableStats::of(&self.servers)),
            ("posture_accounts", TableStats::of(&self.accounts)),
            ("posture_pending", TableStats::of(&self.pending)),
            ("posture_nonces", TableStats::of(&self.nonces)),
        ]
    }

    /// Servers by finding (for the metrics), over the servers tracked.
    pub fn servers_by_finding(&mut self) -> BTreeMap<&'static str, i64> {
        let mut m: BTreeMap<&'static str, i64> = FINDINGS.iter().map(|(_, n)| (*n, 0)).collect();
        m.insert("none", 0);
        self.servers.for_each(|_, s| {
            let mut any = false;
            for (f, n) in FINDINGS {
                if s.flags & f != 0 {
                    *m.entry(n).or_insert(0) += 1;
                    any = true;
                }
            }
            if !any {
                *m.entry("none").or_insert(0) += 1;
            }
        });
        m
    }
}

/// Set a server's finding flag; true the first time.
fn raise(s: &mut ServerPosture, flag: u16) -> bool {
    let first = s.flags & flag == 0;
    s.flags |= flag;
    first
}

fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
        Transport::Sctp => "SCTP",
    }
}

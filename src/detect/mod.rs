//! Behavioural detectors: scanners, floods, password guessing and account anomalies, decided
//! from the sequence of SIP messages (in capture order, packet time only).
//!
//! Every per-key table has a cap (least recently seen key evicted, evictions counted) and drops
//! idle keys on [`Detectors::expire`]. Findings go through a [`threshold::Limiter`] (Suricata
//! `type limit`): at most `limit` per (signature, key) per `seconds`, the held-back ones counted
//! on the next. Responses are paired with their request here, by (Call-ID, CSeq number, CSeq
//! method), in a small capped table, since a response carries no credentials.
//!
//! | id | signature | category | severity |
//! | --- | --- | --- | --- |
//! | 2300001 | sweep: one source, many destination hosts | scanner | 2 |
//! | 2300002 | extension enumeration: one source, many users refused or unanswered | scanner | 2 |
//! | 2300003 | many requests of one source without any response | scanner | 3 |
//! | 2300004 | SIPVicious From-tag | scanner | 2 |
//! | 2300005 | request flood from one source (per method and all) | flood | 2 |
//! | 2300006 | request flood towards one destination (per method and all) | flood | 2 |
//! | 2300007 | 401/407 challenge flood towards one destination | flood | 3 |
//! | 2300008 | global SIP message rate | flood | 2 |
//! | 2300009 | failed authentications from one source | brute-force | 2 |
//! | 2300010 | failed authentications of one username | brute-force | 2 |
//! | 2300011 | one username failing from many sources | brute-force | 2 |
//! | 2300012 | success after failures (password guessed) | brute-force | 1 |
//! | 2300013 | account registered from a new network | anomaly | 3 |
//! | 2300020 | call to a blocked destination (each call) | toll-fraud | 1 |
//! | 2300021 | call to a premium-rate destination | toll-fraud | 2 |
//! | 2300022 | call to a high-risk (IRSF) destination | toll-fraud | 2 |
//! | 2300023 | burst of international calls from one account | toll-fraud | 2 |
//! | 2300024 | burst of international calls from one source | toll-fraud | 2 |
//! | 2300025 | concurrent answered calls of one account above the limit | toll-fraud | 2 |
//! | 2300026 | concurrent answered calls of one source above the limit | toll-fraud | 2 |
//! | 2300027 | call rate far above the account's baseline | toll-fraud | 2 |
//! | 2300028 | many short answered calls from one source | toll-fraud | 3 |
//! | 2300029 | dial-prefix probing (failed calls to many prefixes) | toll-fraud | 2 |
//! | 2300030 | call outside business hours | toll-fraud | 3 |
//! | 2300031 | long call to a premium/high-risk destination | toll-fraud | 2 |
//! | 2300032 | From number differs from P-Asserted-Identity | caller-id | 3 |
//! | 2300033 | display name claims the organisation, external number | caller-id | 2 |
//! | 2300034 | organisation's number from an untrusted source | caller-id | 2 |
//! | 2300035 | malformed calling number | caller-id | 3 |
//! | 2300036 | no STIR/SHAKEN Identity from an untrusted source | caller-id | 3 |
//! | 2300037 | SHAKEN attestation C (gateway) | caller-id | 3 |
//! | 2300038 | SHAKEN attestation B (partial) | caller-id | 3 |
//! | 2300039 | PASSporT orig.tn differs from From/PAI | caller-id | 2 |
//! | 2300040 | PASSporT dest.tn does not contain the called number | caller-id | 2 |
//! | 2300041 | PASSporT cannot be decoded | caller-id | 2 |
//! | 2300042 | concurrent answered calls towards one destination (trunk) above its limit | toll-fraud | 2 |

pub mod alert;
pub mod anomaly;
pub mod brute;
pub mod callerid;
pub mod config;
pub mod engine;
pub mod error;
pub mod flood;
pub mod fraud;
pub mod gate;
pub mod injection;
pub mod inventory;
pub mod patch;
pub mod policy;
pub mod posture;
pub mod rate;
pub mod rules;
pub mod scanner;
pub mod segmentation;
pub mod signature;
pub mod table;
pub mod threshold;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fraud;
#[cfg(test)]
mod tests_posture;

use std::collections::VecDeque;
use std::net::IpAddr;

use serde::Serialize;

use crate::base::packet::PacketCtx;
use crate::base::time::Ts;
use crate::detect::signature::Signature;
use crate::dialog::msg::Spare;
use crate::dialog::Msg;

pub use config::DetectConfig;
use table::Lru;
use threshold::Limiter;

const fn sig(id: u32, name: &'static str, category: &'static str, severity: u8) -> Signature {
    Signature {
        id,
        name,
        category,
        severity,
        app_proto: Some("sip"),
    }
}

pub const SCAN_SWEEP: Signature = sig(
    2_300_001,
    "VOIP-SENTINEL scanner: one source sweeping many SIP hosts",
    "scanner",
    2,
);
pub const SCAN_ENUMERATION: Signature = sig(
    2_300_002,
    "VOIP-SENTINEL scanner: extension enumeration (many users refused or unanswered)",
    "scanner",
    2,
);
pub const SCAN_NO_RESPONSE: Signature = sig(
    2_300_003,
    "VOIP-SENTINEL scanner: many requests without any response",
    "scanner",
    3,
);
pub const SCAN_SIPVICIOUS_TAG: Signature = sig(
    2_300_004,
    "VOIP-SENTINEL scanner: SIPVicious From-tag",
    "scanner",
    2,
);
pub const FLOOD_SOURCE: Signature = sig(
    2_300_005,
    "VOIP-SENTINEL flood: request rate of one source",
    "flood",
    2,
);
pub const FLOOD_DESTINATION: Signature = sig(
    2_300_006,
    "VOIP-SENTINEL flood: request rate towards one destination",
    "flood",
    2,
);
pub const FLOOD_CHALLENGES: Signature = sig(
    2_300_007,
    "VOIP-SENTINEL flood: 401/407 challenges towards one destination",
    "flood",
    3,
);
pub const FLOOD_GLOBAL: Signature = sig(
    2_300_008,
    "VOIP-SENTINEL flood: global SIP message rate",
    "flood",
    2,
);
pub const BRUTE_SOURCE: Signature = sig(
    2_300_009,
    "VOIP-SENTINEL brute force: failed authentications from one source",
    "brute-force",
    2,
);
pub const BRUTE_USER: Signature = sig(
    2_300_010,
    "VOIP-SENTINEL brute force: failed authentications of one username",
    "brute-force",
    2,
);
pub const BRUTE_DISTRIBUTED: Signature = sig(
    2_300_011,
    "VOIP-SENTINEL brute force: one username failing from many sources",
    "brute-force",
    2,
);
pub const BRUTE_SUCCESS: Signature = sig(
    2_300_012,
    "VOIP-SENTINEL brute force: authentication succeeded after failures (password guessed)",
    "brute-force",
    1,
);
pub const NEW_NETWORK: Signature = sig(
    2_300_013,
    "VOIP-SENTINEL anomaly: account registered from a new network",
    "anomaly",
    3,
);

pub const FRAUD_BLOCKED: Signature = sig(
    2_300_020,
    "VOIP-SENTINEL toll fraud: call to a blocked destination",
    "toll-fraud",
    1,
);
pub const FRAUD_PREMIUM: Signature = sig(
    2_300_021,
    "VOIP-SENTINEL toll fraud: call to a premium-rate destination",
    "toll-fraud",
    2,
);
pub const FRAUD_HIGH_RISK: Signature = sig(
    2_300_022,
    "VOIP-SENTINEL toll fraud: call to a high-risk (IRSF) destination",
    "toll-fraud",
    2,
);
pub const FRAUD_INTL_ACCOUNT: Signature = sig(
    2_300_023,
    "VOIP-SENTINEL toll fraud: burst of international calls from one account",
    "toll-fraud",
    2,
);
pub const FRAUD_INTL_SOURCE: Signature = sig(
    2_300_024,
    "VOIP-SENTINEL toll fraud: burst of international calls from one source",
    "toll-fraud",
    2,
);
pub const FRAUD_CONCURRENT_ACCOUNT: Signature = sig(
    2_300_025,
    "VOIP-SENTINEL toll fraud: concurrent calls of one account above the limit",
    "toll-fraud",
    2,
);
pub const FRAUD_CONCURRENT_SOURCE: Signature = sig(
    2_300_026,
    "VOIP-SENTINEL toll fraud: concurrent calls of one source above the limit",
    "toll-fraud",
    2,
);
pub const FRAUD_CONCURRENT_TRUNK: Signature = sig(
    2_300_042,
    "VOIP-SENTINEL toll fraud: concurrent calls through one trunk above the limit",
    "toll-fraud",
    2,
);
pub const FRAUD_BASELINE: Signature = sig(
    2_300_027,
    "VOIP-SENTINEL toll fraud: call rate far above the account's baseline",
    "toll-fraud",
    2,
);
pub const FRAUD_SHORT_CALLS: Signature = sig(
    2_300_028,
    "VOIP-SENTINEL toll fraud: many short answered calls from one source",
    "toll-fraud",
    3,
);
pub const FRAUD_PROBING: Signature = sig(
    2_300_029,
    "VOIP-SENTINEL toll fraud: dial-prefix probing (failed calls to many prefixes)",
    "toll-fraud",
    2,
);
pub const FRAUD_AFTER_HOURS: Signature = sig(
    2_300_030,
    "VOIP-SENTINEL toll fraud: call outside business hours",
    "toll-fraud",
    3,
);
pub const FRAUD_LONG_CALL: Signature = sig(
    2_300_031,
    "VOIP-SENTINEL toll fraud: long call to a premium or high-risk destination",
    "toll-fraud",
    2,
);
pub const CID_PAI_MISMATCH: Signature = sig(
    2_300_032,
    "VOIP-SENTINEL caller-ID: From number differs from P-Asserted-Identity",
    "caller-id",
    3,
);
pub const CID_DISPLAY_ORG: Signature = sig(
    2_300_033,
    "VOIP-SENTINEL caller-ID: display name claims the organisation from an external number",
    "caller-id",
    2,
);
pub const CID_ORG_UNTRUSTED: Signature = sig(
    2_300_034,
    "VOIP-SENTINEL caller-ID: organisation's own number from an untrusted source",
    "caller-id",
    2,
);
pub const CID_MALFORMED: Signature = sig(
    2_300_035,
    "VOIP-SENTINEL caller-ID: malformed calling number",
    "caller-id",
    3,
);
pub const CID_IDENTITY_MISSING: Signature = sig(
    2_300_036,
    "VOIP-SENTINEL caller-ID: no STIR/SHAKEN Identity from an untrusted source",
    "caller-id",
    3,
);
pub const CID_ATTEST_C: Signature = sig(
    2_300_037,
    "VOIP-SENTINEL caller-ID: STIR/SHAKEN attestation C (gateway)",
    "caller-id",
    3,
);
pub const CID_ATTEST_B: Signature = sig(
    2_300_038,
    "VOIP-SENTINEL caller-ID: STIR/SHAKEN attestation B (partial)",
    "caller-id",
    3,
);
pub const CID_ORIG_MISMATCH: Signature = sig(
    2_300_039,
    "VOIP-SENTINEL caller-ID: PASSporT orig.tn differs from the presented number",
    "caller-id",
    2,
);
pub const CID_DEST_MISMATCH: Signature = sig(
    2_300_040,
    "VOIP-SENTINEL caller-ID: PASSporT dest.tn does not contain the called number",
    "caller-id",
    2,
);
pub const CID_UNDECODABLE: Signature = sig(
    2_300_041,
    "VOIP-SENTINEL caller-ID: STIR/SHAKEN PASSporT cannot be decoded",
    "caller-id",
    2,
);

/// The toll-fraud and caller-ID signatures (2300020-2300042).
pub const FRAUD_SIGNATURES: &[Signature] = &[
    FRAUD_BLOCKED,
    FRAUD_PREMIUM,
    FRAUD_HIGH_RISK,
    FRAUD_INTL_ACCOUNT,
    FRAUD_INTL_SOURCE,
    FRAUD_CONCURRENT_ACCOUNT,
    FRAUD_CONCURRENT_SOURCE,
    FRAUD_BASELINE,
    FRAUD_SHORT_CALLS,
    FRAUD_PROBING,
    FRAUD_AFTER_HOURS,
    FRAUD_LONG_CALL,
    CID_PAI_MISMATCH,
    CID_DISPLAY_ORG,
    CID_ORG_UNTRUSTED,
    CID_MALFORMED,
    CID_IDENTITY_MISSING,
    CID_ATTEST_C,
    CID_ATTEST_B,
    CID_ORIG_MISMATCH,
    CID_DEST_MISMATCH,
    CID_UNDECODABLE,
    FRAUD_CONCURRENT_TRUNK,
];

/// Every detector signature of the scanner, flood, brute-force and anomaly families
/// (2300001-2300013; toll fraud and caller-ID are in [`FRAUD_SIGNATURES`]).
pub const SIGNATURES: &[Signature] = &[
    SCAN_SWEEP,
    SCAN_ENUMERATION,
    SCAN_NO_RESPONSE,
    SCAN_SIPVICIOUS_TAG,
    FLOOD_SOURCE,
    FLOOD_DESTINATION,
    FLOOD_CHALLENGES,
    FLOOD_GLOBAL,
    BRUTE_SOURCE,
    BRUTE_USER,
    BRUTE_DISTRIBUTED,
    BRUTE_SUCCESS,
    NEW_NETWORK,
];

/// What a detector found.
#[derive(Debug, Clone)]
pub struct Finding {
    pub sig: Signature,
    /// The packet that decided it (for "no response": the unanswered request).
    pub ctx: PacketCtx,
    /// Counts, window, threshold, `suppressed` (alerts of this key held back since its last
    /// one), and samples (<= 5 Call-IDs, usernames, user agents, clipped).
    pub evidence: serde_json::Value,
    /// `ctx` is a response and its receiver (the client) is the actor: the alert's `source`
    /// is the packet's destination.
    pub reversed: bool,
    /// The alert's `metadata`, as Suricata writes a rule's (keys from the rules folder, never
    /// from traffic): the advisories' CVEs, ids and fixed versions of a patch-level alert.
    pub metadata: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

/// Size of one table, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TableStats {
    pub entries: usize,
    pub max_keys: usize,
    pub evictions: u64,
}

impl TableStats {
    fn of<K: std::hash::Hash + Eq, V>(t: &Lru<K, V>) -> TableStats {
        TableStats {
            entries: t.len(),
            max_keys: t.max_keys(),
            evictions: t.evictions,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DetectStats {
    pub pending: TableStats,
    pub scanner_sources: TableStats,
    pub flood_sources: TableStats,
    pub flood_destinations: TableStats,
    pub flood_challenges: TableStats,
    pub brute_sources: TableStats,
    pub brute_users: TableStats,
    pub user_networks: TableStats,
    pub limiter: TableStats,
    /// Failed authentications seen (requests with credentials answered 401/403/407).
    pub auth_failures: u64,
    /// Findings held back by the limiter.
    pub suppressed: u64,
    /// Requests whose "no response" decision was dropped because the queue was full.
    pub no_response_queue_dropped: u64,
    pub fraud_accounts: TableStats,
    pub fraud_sources: TableStats,
    pub fraud_trunks: TableStats,
    pub fraud_calls: TableStats,
    /// Long-call checks dropped because their queue was full.
    pub fraud_long_queue_dropped: u64,
    /// Identity headers whose PASSporT was decoded / could not be decoded.
    pub passports_decoded: u64,
    pub passports_undecodable: u64,
}

impl DetectStats {
    /// Every capped table of the detectors, by the name the `stats` record's `state` gives it.
    pub fn tables(&self) -> [(&'static str, TableStats); 13] {
        [
            ("pairing", self.pending),
            ("scanner_sources", self.scanner_sources),
            ("flood_sources", self.flood_sources),
            ("flood_destinations", self.flood_destinations),
            ("flood_challenges", self.flood_challenges),
            ("brute_sources", self.brute_sources),
            ("brute_users", self.brute_users),
            ("user_networks", self.user_networks),
            ("alert_limiter", self.limiter),
            ("fraud_accounts", self.fraud_accounts),
            ("fraud_sources", self.fraud_sources),
            ("fraud_trunks", self.fraud_trunks),
            ("fraud_calls", self.fraud_calls),
        ]
    }
}

/// (Call-ID, CSeq number, CSeq method).
pub type PendingKey = (String, u32, String);

/// A message's [`PendingKey`] as borrowed parts (hashed as the key is), and the test that a
/// key is the one they name: the table is searched without copying the Call-ID and method.
fn pending_parts<'a>(
    call_id: &'a str,
    cseq: u32,
    method: &'a str,
) -> ((&'a str, u32, &'a str), impl Fn(&PendingKey) -> bool + 'a) {
    let is = move |k: &PendingKey| k.1 == cseq && k.0 == call_id && k.2 == method;
    ((call_id, cseq, method), is)
}

/// A key's strings back to `spare`, for the next request's.
fn give_key(spare: &mut Spare, (call_id, _, method): PendingKey) {
    spare.keep(call_id);
    spare.keep(method);
}

impl Pending {
    /// Its strings back to `spare`, for the next request's: a request awaiting its response
    /// was six allocations.
    fn give_strings(self, spare: &mut Spare) {
        spare.keep(self.method);
        spare.keep(self.call_id);
        spare.keep_opt(self.target);
        spare.keep_opt(self.auth_user);
        spare.keep_opt(self.user_agent);
    }
}

/// A request waiting for its response.
#[derive(Debug, Clone)]
pub struct Pending {
    pub ctx: PacketCtx,
    pub method: String,
    /// To user, else Request-URI user.
    pub target: Option<String>,
    /// The request carried credentials (`Some`), with this username (empty when none).
    pub auth_user: Option<String>,
    pub call_id: String,
    pub user_agent: Option<String>,
    /// Some response (provisional included) was seen.
    pub responded: bool,
    /// Which request this is ([`Detectors::on_message`] numbers them): the "no response" queue
    /// knows its entry by slot and this, as a slot is reused.
    serial: u64,
}

/// The detectors, with their state.
pub struct Detectors {
    cfg: DetectConfig,
    limiter: Limiter,
    pending: Lru<PendingKey, Pending>,
    /// Requests in order of arrival, for the "no response" decision: the slot in `pending`,
    /// the request's serial, when it came.
    undecided: VecDeque<(u32, u64, Ts)>,
    /// The serial of the next request put in `pending`.
    serial: u64,
    undecided_dropped: u64,
    /// Requests without credentials answered 401/407, with the response's packet: a phone
    /// sends the request again with credentials at once, a scanner never does. Decided for
    /// the scanner after `no_response_timeout` unless a retry came (`challenged_ids`).
    challenged: VecDeque<(Pending, PacketCtx, u16)>,
    /// Call-IDs of `challenged` entries not retried yet, with how many entries each.
    challenged_ids: crate::base::fasthash::FastMap<String, u32>,
    /// Strings of requests decided, for the next ones' (see [`Pending::give_strings`]).
    spare: Spare,
    scanner: scanner::Scanner,
    flood: flood::Flood,
    brute: brute::Brute,
    fraud: fraud::Fraud,
    callerid: callerid::CallerIdStats,
}

/// Requests the detectors pair and count (a response never comes for ACK).
fn awaits_response(method: &str) -> bool {
    !method.eq_ignore_ascii_case("ACK")
}

/// The user part of a SIP/SIPS/TEL URI.
pub fn uri_user(uri: &str) -> Option<&str> {
    let rest = uri.trim().split_once(':')?.1;
    let user = match rest.split_once('@') {
        Some((u, _)) => u,
        None if uri.trim_start().to_ascii_lowercase().starts_with("tel:") => rest,
        None => return None,
    };
    let user = user.split([';', '?', ':']).next().unwrap_or("");
    (!user.is_empty()).then_some(user)
}

/// The target user of a request: To user, else Request-URI user.
pub fn target_user(m: &Msg) -> Option<&str> {
    m.to.as_ref()
        .and_then(|p| p.user.as_deref())
        .filter(|u| !u.is_empty())
        .or_else(|| m.uri.as_deref().and_then(uri_user))
}

/// The /24 (IPv4) or /64 (IPv6) an address belongs to, as its first address (an
/// IPv4-mapped IPv6 address counts as the IPv4 one).
pub fn network_base(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            IpAddr::from([o[0], o[1], o[2], 0])
        }
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => network_base(IpAddr::V4(v4)),
            None => {
                let mut s = a.segments();
                s[4..].fill(0);
                IpAddr::from(s)
            }
        },
    }
}

/// The /24 (IPv4) or /64 (IPv6) an address belongs to, as text (`10.0.0.0/24`).
pub fn network_of(ip: IpAddr) -> String {
    match network_base(ip) {
        IpAddr::V4(a) => format!("{a}/24"),
        IpAddr::V6(a) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Shared by the families: the limiter and the output.
pub(crate) struct Emit<'a> {
    pub limiter: &'a mut Limiter,
    pub out: &'a mut Vec<Finding>,
    /// The message being handled, when it is a response: findings decided on it have the
    /// client, its receiver, as their actor.
    pub answer: Option<PacketCtx>,
}

impl Emit<'_> {
    /// Emit `sig` for `key` unless the limiter holds it back; `evidence` gets `suppressed`.
    /// The actor (the alert's `source`) is the sender of `ctx`, or its receiver when `ctx` is
    /// the response being handled.
    pub fn fire(
        &mut self,
        sig: Signature,
        key: impl threshold::LimitKey,
        ctx: &PacketCtx,
        evidence: impl FnOnce() -> serde_json::Value,
    ) -> bool {
        let actor = if self.answer.as_ref() == Some(ctx) {
            ctx.dst
        } else {
            ctx.src
        };
        self.fire_by(actor, sig, key, ctx, evidence)
    }

    /// [`Emit::fire`] with the actor named: a call's caller, when the deciding packet is a BYE
    /// or an answer that either side may send.
    pub fn fire_by(
        &mut self,
        actor: IpAddr,
        sig: Signature,
        key: impl threshold::LimitKey,
        ctx: &PacketCtx,
        evidence: impl FnOnce() -> serde_json::Value,
    ) -> bool {
        let Some(suppressed) = self.limiter.check(sig.id, key, ctx.ts) else {
            return false;
        };
        let mut evidence = evidence();
        if let Some(o) = evidence.as_object_mut() {
            o.insert("suppressed".to_string(), suppressed.into());
        }
        self.out.push(Finding {
            metadata: None,
            sig,
            ctx: *ctx,
            evidence,
            reversed: ctx.src != actor && ctx.dst == actor,
        });
        true
    }
}

/// Seconds as nanoseconds, saturating (a configuration built in code is not range-checked).
pub(crate) fn secs(s: u64) -> u64 {
    s.saturating_mul(1_000_000_000)
}

/// One challenged request of `call_id` is decided: whether it was still waiting (no retry with
/// credentials came).
fn forget_challenge(ids: &mut crate::base::fasthash::FastMap<String, u32>, call_id: &str) -> bool {
    match ids.get_mut(call_id) {
        Some(n) if *n > 1 => {
            *n -= 1;
            true
        }
        Some(_) => {
            ids.remove(call_id);
            true
        }
        None => false,
    }
}

fn usize_of(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl Detectors {
    pub fn new(cfg: DetectConfig) -> Detectors {
        let t = &cfg.threshold;
        Detectors {
            limiter: Limiter::new(t.limit, t.seconds, usize_of(t.max_keys)),
            pending: Lru::new(usize_of(cfg.pairing.max_pending)),
            undecided: VecDeque::new(),
            serial: 0,
            undecided_dropped: 0,
            challenged: VecDeque::new(),
            challenged_ids: Default::default(),
            spare: Spare::new(64),
            scanner: scanner::Scanner::new(&cfg.scanner),
            flood: flood::Flood::new(&cfg.flood),
            brute: brute::Brute::new(&cfg.bruteforce),
            fraud: fraud::Fraud::new(&cfg.fraud),
            callerid: callerid::CallerIdStats::default(),
            cfg,
        }
    }

    pub fn config(&self) -> &DetectConfig {
        &self.cfg
    }

    /// Reload: keep the state, apply the new thresholds and caps (a smaller cap evicts at once,
    /// counted).
    pub fn set_config(&mut self, cfg: DetectConfig) {
        let t = &cfg.threshold;
        self.limiter
            .configure(t.limit, t.seconds, usize_of(t.max_keys));
        self.pending.set_max_keys(usize_of(cfg.pairing.max_pending));
        self.scanner.configure(&cfg.scanner);
        self.flood.configure(&cfg.flood);
        self.brute.configure(&cfg.bruteforce);
        self.fraud.configure(&cfg.fraud);
        self.cfg = cfg;
    }

    /// Every SIP message, in capture order, retransmissions included (`retransmission` tells).
    pub fn on_message(&mut self, m: &Msg, retransmission: bool, out: &mut Vec<Finding>) {
        let mut emit = Emit {
            limiter: &mut self.limiter,
            out,
            answer: m.status.map(|_| m.ctx),
        };
        self.flood.on_message(&self.cfg.flood, m, &mut emit);
        if let Some(method) = m.method.as_deref() {
            if retransmission {
                return;
            }
            self.scanner.on_request(&self.cfg.scanner, m, &mut emit);
            // Credentials after a challenge: the challenged request was a phone's, not a probe.
            if m.auth.is_some() && !self.challenged_ids.is_empty() {
                if let Some(id) = m.call_id.as_deref() {
                    self.challenged_ids.remove(id);
                }
            }
            self.fraud
                .on_request(&self.cfg.fraud, &self.cfg.plan, m, &mut emit);
            callerid::on_request(
                &self.cfg.callerid,
                &self.cfg.fraud.international_prefix,
                m,
                &mut emit,
                &mut self.callerid,
            );
            if !awaits_response(method) {
                return;
            }
            let (Some(call_id), Some((cseq, cseq_method))) = (&m.call_id, &m.cseq) else {
                return;
            };
            let (parts, is) = pending_parts(call_id, *cseq, cseq_method);
            self.serial += 1;
            let serial = self.serial;
            // A request again with the same key replaces the one before (whose queue entry
            // then finds another serial).
            if let Some(i) = self.pending.find_parts(&parts, &is) {
                if let Some((k, old)) = self.pending.take_slot(i) {
                    give_key(&mut self.spare, k);
                    old.give_strings(&mut self.spare);
                }
            }
            let spare = &mut self.spare;
            fn clipped(s: &str) -> &str {
                crate::dialog::msg::clipped(s, table::VALUE_CLIP)
            }
            let p = Pending {
                ctx: m.ctx,
                method: spare.copy(method),
                target: spare.copy_opt(target_user(m).map(clipped)),
                auth_user: m
                    .auth
                    .as_ref()
                    .map(|a| spare.copy(clipped(a.username.as_deref().unwrap_or("")))),
                call_id: spare.copy(clipped(call_id)),
                user_agent: spare.copy_opt(m.user_agent.as_deref().map(clipped)),
                responded: false,
                serial,
            };
            let slot = self.pending.touch_parts(
                &parts,
                is,
                m.ctx.ts,
                || (spare.copy(call_id), *cseq, spare.copy(cseq_method)),
                || p,
            );
            let cap = self.pending.max_keys().saturating_mul(2);
            while self.undecided.len() >= cap {
                self.undecided.pop_front();
                self.undecided_dropped += 1;
            }
            self.undecided.push_back((slot, serial, m.ctx.ts));
        } else if let Some(status) = m.status {
            self.fraud.on_response(&self.cfg.fraud, m, &mut emit);
            let (Some(call_id), Some((cseq, cseq_method))) = (&m.call_id, &m.cseq) else {
                return;
            };
            let (parts, is) = pending_parts(call_id, *cseq, cseq_method);
            let slot = self.pending.find_parts(&parts, is);
            if status < 200 {
                if let Some(p) = slot.and_then(|i| self.pending.at_slot(i)) {
                    p.responded = true;
                }
                return;
            }
            let Some((k, p)) = slot.and_then(|i| self.pending.take_slot(i)) else {
                return;
            };
            give_key(&mut self.spare, k);
            let challenged = matches!(status, 401 | 407) && p.auth_user.is_none();
            if !challenged {
                self.scanner
                    .on_final(&self.cfg.scanner, &p, &m.ctx, status, &mut emit);
            }
            self.brute
                .on_final(&self.cfg.bruteforce, &p, m, status, &mut emit);
            if !challenged {
                p.give_strings(&mut self.spare);
                return;
            }
            // Held until a retry with credentials (or none) decides it.
            let cap = self.pending.max_keys().saturating_mul(2);
            while self.challenged.len() >= cap {
                if let Some((old, _, _)) = self.challenged.pop_front() {
                    forget_challenge(&mut self.challenged_ids, &old.call_id);
                    old.give_strings(&mut self.spare);
                }
                self.undecided_dropped += 1;
            }
            match self.challenged_ids.get_mut(p.call_id.as_str()) {
                Some(n) => *n += 1,
                None => {
                    self.challenged_ids.insert(p.call_id.clone(), 1);
                }
            }
            self.challenged.push_back((p, m.ctx, status));
        }
    }

    /// On ticks (every second of packet time): decides "no response", drops idle state.
    pub fn expire(&mut self, now: Ts, out: &mut Vec<Finding>) {
        let mut emit = Emit {
            limiter: &mut self.limiter,
            out,
            answer: None,
        };
        let timeout = secs(self.cfg.scanner.no_response_timeout);
        while let Some((_, _, t)) = self.undecided.front() {
            if now.since(*t) < timeout {
                break;
            }
            let Some((slot, serial, _)) = self.undecided.pop_front() else {
                break;
            };
            let Some(p) = self.pending.at_slot(slot) else {
                continue;
            };
            // A later request with the same key replaced this one, or the request went and
            // another took its slot: that one's own entry decides.
            if p.serial != serial || p.responded {
                continue;
            }
            p.responded = true; // decided once
            let p = p.clone();
            self.scanner.on_unanswered(&self.cfg.scanner, &p, &mut emit);
        }
        // Challenges that no retry with credentials followed: what a scanner leaves.
        while let Some((_, ctx, _)) = self.challenged.front() {
            if now.since(ctx.ts) < timeout {
                break;
            }
            let Some((p, ctx, status)) = self.challenged.pop_front() else {
                break;
            };
            if forget_challenge(&mut self.challenged_ids, &p.call_id) {
                emit.answer = Some(ctx);
                self.scanner
                    .on_final(&self.cfg.scanner, &p, &ctx, status, &mut emit);
                emit.answer = None;
            }
        }
        self.pending
            .expire(now, secs(self.cfg.pairing.pending_timeout));
        self.scanner.expire(&self.cfg.scanner, now);
        self.flood.expire(&self.cfg.flood, now);
        self.brute.expire(&self.cfg.bruteforce, now);
        self.fraud.expire(&self.cfg.fraud, now, &mut emit);
        self.limiter.expire(now);
    }

    /// State outside the capped tables that a fresh detector would not have: challenges
    /// waiting for a retry, the global flood count, long-call checks due.
    pub fn held(&self, out: &mut Vec<&'static str>) {
        for (held, what) in [
            (!self.challenged.is_empty(), "challenges"),
            (self.flood.global_held(), "flood_global"),
            (self.fraud.long_calls_waiting() > 0, "fraud_long_calls"),
        ] {
            if held {
                out.push(what);
            }
        }
    }

    /// End of input: the challenges still waiting get no retry any more (a capture that ends
    /// within the timeout of a scanner's last probes still counts them).
    pub fn flush(&mut self, out: &mut Vec<Finding>) {
        let mut emit = Emit {
            limiter: &mut self.limiter,
            out,
            answer: None,
        };
        while let Some((p, ctx, status)) = self.challenged.pop_front() {
            if forget_challenge(&mut self.challenged_ids, &p.call_id) {
                emit.answer = Some(ctx);
                self.scanner
                    .on_final(&self.cfg.scanner, &p, &ctx, status, &mut emit);
            }
        }
    }

    pub fn stats(&self) -> DetectStats {
        DetectStats {
            pending: TableStats::of(&self.pending),
            scanner_sources: TableStats::of(&self.scanner.sources),
            flood_sources: TableStats::of(&self.flood.sources),
            flood_destinations: TableStats::of(&self.flood.destinations),
            flood_challenges: TableStats::of(&self.flood.challenges),
            brute_sources: TableStats::of(&self.brute.sources),
            brute_users: TableStats::of(&self.brute.users),
            user_networks: TableStats::of(&self.brute.networks),
            limiter: TableStats {
                entries: self.limiter.len(),
                max_keys: usize_of(self.cfg.threshold.max_keys),
                evictions: self.limiter.evictions(),
            },
            auth_failures: self.brute.failures,
            suppressed: self.limiter.suppressed,
            no_response_queue_dropped: self.undecided_dropped,
            fraud_accounts: TableStats::of(&self.fraud.accounts),
            fraud_sources: TableStats::of(&self.fraud.sources),
            fraud_trunks: TableStats::of(&self.fraud.trunks),
            fraud_calls: TableStats::of(&self.fraud.calls),
            fraud_long_queue_dropped: self.fraud.long_queue_dropped,
            passports_decoded: self.callerid.decoded,
            passports_undecodable: self.callerid.undecodable,
        }
    }
}

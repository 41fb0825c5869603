//! SIP transactions: a request paired with its responses by the top Via branch and CSeq
//! (RFC 3261 17.2.3), retransmissions recognised and counted once. One `sip` record per
//! transaction, written when its final response arrives or when it times out.

use crate::base::fasthash::FastMap;
use std::hash::BuildHasher;

use serde::{Deserialize, Serialize};

use super::msg::{AuthInfo, Msg, Party, Spare};
use crate::base::head::Head;
use crate::base::packet::PacketCtx;
use crate::base::time::Ts;

/// The `sip` object of a `sip` record.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct SipTx {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// Provisional responses seen, in order, each code once.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub provisional: Vec<u16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cseq: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cseq_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from: Option<Party>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub to: Option<Party>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server: Option<String>,
    /// Credentials sent with the request: scheme, user name and realm only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth: Option<AuthInfo>,
    /// Challenge in a 401/407 response.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub challenge: Option<AuthInfo>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expires: Option<u32>,
    /// Milliseconds from the request to its final response.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub response_time_ms: Option<f64>,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub request_retransmissions: u32,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub response_retransmissions: u32,
    /// "completed" (final response), "timeout" (none within the transaction timeout), "open"
    /// (capture ended first), "no_response" (ACK, which has none).
    pub state: std::borrow::Cow<'static, str>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
    /// Suricata's names for what the fields above hold: the final status as a string, the
    /// protocol version, the request and response lines (as written when the record is).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<std::borrow::Cow<'static, str>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<std::borrow::Cow<'static, str>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub response_line: Option<String>,
    /// The transaction's SDP (the request's, else the first response's that has one), in
    /// Suricata's layout; secrets cut.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sdp: Option<std::sync::Arc<crate::sip::sdp_record::SdpRecord>>,
}

impl SipTx {
    /// Fill Suricata's fields from the others.
    /// (Joined by hand, not by `format!`: once per transaction, the formatting machinery cost
    /// more than the copies.)
    fn suricata_fields(&mut self, spare: &mut Spare) {
        self.version = Some("SIP/2.0".into());
        self.code = self.status.map(code_text);
        self.request_line = match (&self.method, &self.uri) {
            (Some(m), Some(u)) => Some(spare.join(&[m, " ", u, " SIP/2.0"])),
            _ => None,
        };
        self.response_line = match (self.code.as_deref(), &self.reason) {
            (Some(c), Some(r)) => Some(spare.join(&["SIP/2.0 ", c, " ", r])),
            (Some(c), None) => Some(spare.join(&["SIP/2.0 ", c])),
            (None, _) => None,
        };
    }

    /// Give the room of this record's strings to `spare`, for the records after it.
    pub fn give_strings(self, spare: &mut Spare) {
        for s in [
            self.method,
            self.uri,
            self.reason,
            self.call_id,
            self.cseq_method,
            self.user_agent,
            self.server,
            self.content_type,
            self.request_line,
            self.response_line,
        ] {
            spare.keep_opt(s);
        }
        for a in [self.auth, self.challenge].into_iter().flatten() {
            a.give_strings(spare);
        }
        for w in self.warnings {
            spare.keep(w);
        }
    }
}

/// A status code as text: the codes a response may have (100 to 699) from a table made once,
/// any other written.
fn code_text(code: u16) -> std::borrow::Cow<'static, str> {
    static CODES: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| (100..700).map(|c: u16| c.to_string()).collect());
    match CODES.get(usize::from(code).wrapping_sub(100)) {
        Some(t) => std::borrow::Cow::Borrowed(t.as_str()),
        None => std::borrow::Cow::Owned(code.to_string()),
    }
}

/// Strings kept for the next records: those of a few records' worth.
const SPARE_STRINGS: usize = 256;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A whole `sip` record.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SipRecord {
    #[serde(flatten)]
    pub head: Head,
    pub sip: SipTx,
}
crate::serialize_with_head!(SipRecord { sip });

/// A transaction's key as the table keeps it: Call-ID, branch and CSeq method in one string
/// (one allocation a transaction, not three), with where each ends.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TxKey {
    text: Box<str>,
    call_id_end: u32,
    branch_end: u32,
    cseq: u32,
}

/// A transaction's key borrowed from a message: the table is looked up with the message's own
/// strings, and a [`TxKey`] is copied from it only for a new transaction.
#[derive(Clone, Copy)]
struct KeyRef<'a> {
    call_id: &'a str,
    branch: &'a str,
    cseq: u32,
    method: &'a str,
}

impl<'a> KeyRef<'a> {
    fn of(m: &'a Msg) -> KeyRef<'a> {
        let (cseq, method) = m.cseq.as_ref().map_or((0, ""), |(n, s)| (*n, s.as_str()));
        KeyRef {
            call_id: m.call_id.as_deref().unwrap_or(""),
            // Pre-RFC 3261 peers have no magic-cookie branch: Call-ID and CSeq alone then.
            branch: m
                .branch
                .as_deref()
                .filter(|b| b.starts_with("z9hG4bK"))
                .unwrap_or(""),
            cseq,
            method,
        }
    }

    fn owned(self) -> TxKey {
        let mut text =
            String::with_capacity(self.call_id.len() + self.branch.len() + self.method.len());
        text.push_str(self.call_id);
        let call_id_end = text.len() as u32;
        text.push_str(self.branch);
        let branch_end = text.len() as u32;
        text.push_str(self.method);
        TxKey {
            text: text.into_boxed_str(),
            call_id_end,
            branch_end,
            cseq: self.cseq,
        }
    }
}

/// What both kinds of key are made of, so that the table (keyed by [`TxKey`]) is looked up with
/// a [`KeyRef`]: hashed and compared by the same parts.
trait KeyParts {
    fn parts(&self) -> (&str, &str, u32, &str);
}

impl KeyParts for TxKey {
    fn parts(&self) -> (&str, &str, u32, &str) {
        // The ends were taken where whole strings were joined: always character boundaries.
        let (a, b) = (self.call_id_end as usize, self.branch_end as usize);
        let t = &self.text;
        (
            t.get(..a).unwrap_or_default(),
            t.get(a..b).unwrap_or_default(),
            self.cseq,
            t.get(b..).unwrap_or_default(),
        )
    }
}

impl KeyParts for KeyRef<'_> {
    fn parts(&self) -> (&str, &str, u32, &str) {
        (self.call_id, self.branch, self.cseq, self.method)
    }
}

/// The transactions by key: a hash table of (key, entry) found by a key's parts, so that a
/// message's key is hashed once, for its lookup and, when new, its insertion.
#[derive(Default)]
struct Table {
    map: hashbrown::HashTable<(TxKey, Entry)>,
    hasher: foldhash::fast::RandomState,
}

impl Table {
    fn hash(&self, k: &impl KeyParts) -> u64 {
        self.hasher.hash_one(k.parts())
    }

    fn get_mut(&mut self, hash: u64, k: &impl KeyParts) -> Option<&mut Entry> {
        let parts = k.parts();
        self.map
            .find_mut(hash, |(key, _)| key.parts() == parts)
            .map(|(_, e)| e)
    }

    fn contains(&self, k: &impl KeyParts) -> bool {
        let parts = k.parts();
        self.map
            .find(self.hash(k), |(key, _)| key.parts() == parts)
            .is_some()
    }

    /// A key not in the table, with the hash of its parts.
    fn insert_new(&mut self, hash: u64, key: TxKey, e: Entry) -> &mut Entry {
        let hasher = &self.hasher;
        &mut self
            .map
            .insert_unique(hash, (key, e), |(k, _)| hasher.hash_one(k.parts()))
            .into_mut()
            .1
    }

    fn remove(&mut self, k: &TxKey) -> Option<Entry> {
        let parts = k.parts();
        self.map
            .find_entry(self.hash(k), |(key, _)| key.parts() == parts)
            .ok()
            .map(|e| e.remove().0 .1)
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

struct Tx {
    /// Creation order, to write timed-out transactions in a stable order.
    seq: u64,
    /// Its number within its flow (Suricata's `tx_id`).
    tx_id: u64,
    ctx: PacketCtx,
    started: Ts,
    rec: SipTx,
    last_ts: Ts,
}

/// A transaction in the table: open (its record being filled), or done (its record written),
/// kept through the linger with only what recognises a retransmission, a few dozen bytes
/// rather than the whole record.
enum Entry {
    Open(Box<Tx>),
    Done(Done),
}

#[derive(Default)]
struct Done {
    seq: u64,
    completed_at: Ts,
    last_ts: Ts,
    status: u16,
    /// Provisional codes seen (each once), to recognise their retransmissions.
    provisional: Vec<u16>,
}

impl Entry {
    /// Age for eviction: last activity, then creation order.
    fn age(&self) -> (Ts, u64) {
        match self {
            Entry::Open(t) => (t.last_ts, t.seq),
            Entry::Done(d) => (d.last_ts, d.seq),
        }
    }
}

/// What the table saw in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    New,
    Retransmission,
    Response,
}

/// Limits of the transaction table.
#[derive(Clone, Debug)]
pub struct TxConfig {
    pub max: usize,
    /// No final response after this long: the transaction timed out (RFC 3261 Timer B/F).
    pub timeout_ns: u64,
    /// After the final response, the transaction is kept this long to recognise retransmissions.
    pub linger_ns: u64,
}

impl Default for TxConfig {
    fn default() -> Self {
        TxConfig {
            max: 100_000,
            timeout_ns: crate::base::time::secs(32),
            linger_ns: crate::base::time::secs(32),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct TxStats {
    pub transactions: u64,
    pub retransmissions: u64,
    pub timed_out: u64,
    pub evicted: u64,
    /// Flows whose transaction numbering was forgotten to make room (a later transaction of
    /// the flow numbers from 0 again).
    pub numbering_evicted: u64,
}

/// The numbering is swept when packet time passes a minute's boundary: the same sweeps
/// whatever packet the replay started with.
const NUMBERING_SWEEP_NS: u64 = 60 * 1_000_000_000;

pub struct Transactions {
    cfg: TxConfig,
    table: Table,
    /// The next transaction number of each flow (by flow id) and when it was last used; as
    /// many flows as the table holds transactions at most.
    numbering: FastMap<u64, (u64, Ts)>,
    /// Packet time of the last sweep of `numbering`.
    numbering_swept: u64,
    /// The number of the transaction the last message belonged to (none: a copy of a final
    /// response to a transaction whose record is written).
    pub last_tx_id: Option<u64>,
    pub stats: TxStats,
    /// The room of written records' strings, for the records after them: a flood's
    /// transactions copy their messages' text without an allocation each.
    pub spare: Spare,
}

impl Transactions {
    pub fn new(cfg: TxConfig) -> Transactions {
        Transactions {
            cfg,
            table: Table::default(),
            numbering: FastMap::default(),
            numbering_swept: 0,
            spare: Spare::new(SPARE_STRINGS),
            last_tx_id: None,
            stats: TxStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Flows whose transactions are being numbered.
    pub fn numbering_len(&self) -> usize {
        self.numbering.len()
    }

    /// The table's cap.
    pub fn max(&self) -> usize {
        self.cfg.max
    }

    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// The next transaction number of the message's flow.
    fn number(&mut self, m: &Msg) -> u64 {
        let flow = m.ctx.flow_id;
        if !self.numbering.contains_key(&flow) && self.numbering.len() >= self.cfg.max {
            let len = self.numbering.len();
            for k in crate::base::evict::oldest(self.numbering.iter(), len, |_, v| v.1) {
                self.numbering.remove(&k);
                self.stats.numbering_evicted += 1;
            }
        }
        let e = self.numbering.entry(flow).or_insert((0, m.ctx.ts));
        let id = e.0;
        *e = (id + 1, m.ctx.ts);
        id
    }

    /// Take one message; returns what it was, and pushes any record it completes.
    pub fn on_message(&mut self, m: &Msg, out: &mut Vec<SipRecord>) -> Seen {
        self.last_tx_id = None;
        let key = KeyRef::of(m);
        let hash = self.table.hash(&key);
        if m.is_request() {
            if let Some(entry) = self.table.get_mut(hash, &key) {
                match entry {
                    Entry::Open(tx) => {
                        tx.rec.request_retransmissions += 1;
                        tx.last_ts = m.ctx.ts;
                        self.last_tx_id = Some(tx.tx_id);
                    }
                    Entry::Done(d) => d.last_ts = m.ctx.ts,
                }
                self.stats.retransmissions += 1;
                return Seen::Retransmission;
            }
            // ACK to a non-2xx response belongs to the INVITE transaction (same branch).
            if m.method.as_deref() == Some("ACK") {
                let invite = KeyRef {
                    method: "INVITE",
                    ..key
                };
                if !invite.branch.is_empty() && self.table.contains(&invite) {
                    return Seen::New;
                }
            }
            self.make_room(out);
            self.stats.transactions += 1;
            let mut rec = request_fields(m, &mut self.spare);
            rec.state = "open".into();
            let tx_id = self.number(m);
            self.last_tx_id = Some(tx_id);
            let tx = Tx {
                seq: m.seq,
                tx_id,
                ctx: m.ctx,
                started: m.ctx.ts,
                rec,
                last_ts: m.ctx.ts,
            };
            if m.method.as_deref() == Some("ACK") {
                // An ACK has no response: its record is written now.
                let mut tx = tx;
                tx.rec.state = "no_response".into();
                let (rec, done) = complete(tx, m.ctx.ts, &mut self.spare);
                out.push(rec);
                self.table.insert_new(hash, key.owned(), Entry::Done(done));
            } else {
                self.table
                    .insert_new(hash, key.owned(), Entry::Open(Box::new(tx)));
            }
            return Seen::New;
        }
        let code = m.status.unwrap_or(0);
        let entry = match self.table.get_mut(hash, &key) {
            Some(entry) => entry,
            None => {
                // The request was not captured: a transaction known from its response only.
                self.make_room(out);
                self.stats.transactions += 1;
                let spare = &mut self.spare;
                let mut rec = SipTx {
                    call_id: spare.copy_opt(m.call_id.as_deref()),
                    cseq: m.cseq.as_ref().map(|c| c.0),
                    cseq_method: spare.copy_opt(m.cseq.as_ref().map(|c| c.1.as_str())),
                    from: m.from.clone(),
                    to: m.to.clone(),
                    state: "open".into(),
                    ..SipTx::default()
                };
                rec.method = spare.copy_opt(rec.cseq_method.as_deref());
                // Addresses as the request would have had them.
                let ctx = PacketCtx {
                    src: m.ctx.dst,
                    dst: m.ctx.src,
                    sport: m.ctx.dport,
                    dport: m.ctx.sport,
                    ..m.ctx
                };
                let tx_id = self.number(m);
                self.table.insert_new(
                    hash,
                    key.owned(),
                    Entry::Open(Box::new(Tx {
                        seq: m.seq,
                        tx_id,
                        ctx,
                        started: m.ctx.ts,
                        rec,
                        last_ts: m.ctx.ts,
                    })),
                )
            }
        };
        let tx = match &mut *entry {
            Entry::Done(d) => {
                // The record is written: only retransmissions are recognised.
                d.last_ts = m.ctx.ts;
                let again = if code < 200 {
                    d.provisional.contains(&code)
                } else {
                    d.status == code
                };
                if again {
                    self.stats.retransmissions += 1;
                    return Seen::Retransmission;
                }
                if code < 200 && d.provisional.len() < 16 {
                    d.provisional.push(code);
                }
                // A new provisional code or another final response (forking): not written.
                return Seen::Response;
            }
            Entry::Open(tx) => tx,
        };
        self.last_tx_id = Some(tx.tx_id);
        tx.last_ts = m.ctx.ts;
        if code < 200 {
            if tx.rec.provisional.contains(&code) {
                self.stats.retransmissions += 1;
                tx.rec.response_retransmissions += 1;
                return Seen::Retransmission;
            }
            if tx.rec.provisional.len() < 16 {
                tx.rec.provisional.push(code);
            }
            fill_response(&mut tx.rec, m, &mut self.spare);
            return Seen::Response;
        }
        tx.rec.status = Some(code);
        tx.rec.reason = self.spare.copy_opt(m.reason.as_deref());
        fill_response(&mut tx.rec, m, &mut self.spare);
        tx.rec.response_time_ms = Some(m.ctx.ts.since(tx.started) as f64 / 1e6);
        tx.rec.state = "completed".into();
        // Completed where it stands in the table (no second lookup, no key copied).
        let open = std::mem::replace(entry, Entry::Done(Done::default()));
        if let Entry::Open(tx) = open {
            let (rec, done) = complete(*tx, m.ctx.ts, &mut self.spare);
            out.push(rec);
            *entry = Entry::Done(done);
        }
        Seen::Response
    }

    /// Time out transactions without a final response, forget completed ones after the linger,
    /// and (once a minute of packet time, on the minute) the numbering of flows idle for
    /// a week ([`crate::base::time::MEMORY_NS`]: its next transaction is 0 again).
    pub fn expire(&mut self, now: Ts, out: &mut Vec<SipRecord>) {
        if now.0 / NUMBERING_SWEEP_NS != self.numbering_swept / NUMBERING_SWEEP_NS {
            self.numbering_swept = now.0;
            self.numbering
                .retain(|_, (_, last)| now.since(*last) < crate::base::time::MEMORY_NS);
        }
        let (timeout, linger) = (self.cfg.timeout_ns, self.cfg.linger_ns);
        let mut timed_out: Vec<Tx> = Vec::new();
        self.table.map.retain(|(_, entry)| match entry {
            Entry::Done(d) => now.since(d.completed_at) < linger,
            Entry::Open(tx) if now.since(tx.last_ts) >= timeout => {
                timed_out.push(Tx {
                    seq: tx.seq,
                    tx_id: tx.tx_id,
                    ctx: tx.ctx,
                    started: tx.started,
                    rec: std::mem::take(&mut tx.rec),
                    last_ts: tx.last_ts,
                });
                false
            }
            Entry::Open(_) => true,
        });
        timed_out.sort_by_key(|t| t.seq);
        self.stats.timed_out += timed_out.len() as u64;
        for mut tx in timed_out {
            tx.rec.state = "timeout".into();
            out.push(record(&tx, &mut self.spare));
        }
    }

    /// End of input: write every open transaction.
    pub fn flush(&mut self, out: &mut Vec<SipRecord>) {
        let mut open: Vec<Box<Tx>> = self
            .table
            .map
            .drain()
            .filter_map(|(_, e)| match e {
                Entry::Open(t) => Some(t),
                Entry::Done(_) => None,
            })
            .collect();
        open.sort_by_key(|t| t.seq);
        for tx in open {
            out.push(record(&tx, &mut self.spare));
        }
    }

    /// Keep the table under its cap: write and drop the oldest open transactions, or forget the
    /// oldest completed ones ([`crate::base::evict`]: a sixty-fourth of the table at once).
    fn make_room(&mut self, out: &mut Vec<SipRecord>) {
        if self.table.len() < self.cfg.max {
            return;
        }
        let len = self.table.len();
        let entries = self.table.map.iter().map(|(k, e)| (k, e));
        for k in crate::base::evict::oldest(entries, len, |_, e| e.age()) {
            if let Some(entry) = self.table.remove(&k) {
                self.stats.evicted += 1;
                if let Entry::Open(mut tx) = entry {
                    tx.rec.state = "evicted".into();
                    out.push(record(&tx, &mut self.spare));
                }
            }
        }
    }
}

/// What a request gives its transaction's record, its strings copied into kept room.
fn request_fields(m: &Msg, spare: &mut Spare) -> SipTx {
    SipTx {
        method: spare.copy_opt(m.method.as_deref()),
        uri: spare.copy_opt(m.uri.as_deref()),
        call_id: spare.copy_opt(m.call_id.as_deref()),
        cseq: m.cseq.as_ref().map(|c| c.0),
        cseq_method: spare.copy_opt(m.cseq.as_ref().map(|c| c.1.as_str())),
        from: m.from.clone(),
        to: m.to.clone(),
        user_agent: spare.copy_opt(m.user_agent.as_deref()),
        auth: m.auth.as_ref().map(|a| auth_copy(a, spare)),
        content_type: spare.copy_opt(m.content_type.as_deref()),
        expires: m.expires,
        sdp: m.sdp.clone(),
        warnings: m.warnings.iter().map(|w| spare.copy(w)).collect(),
        ..SipTx::default()
    }
}

/// Scheme, user name and realm copied into kept room.
fn auth_copy(a: &AuthInfo, spare: &mut Spare) -> AuthInfo {
    AuthInfo {
        scheme: spare.copy(&a.scheme),
        username: spare.copy_opt(a.username.as_deref()),
        realm: spare.copy_opt(a.realm.as_deref()),
    }
}

fn fill_response(rec: &mut SipTx, m: &Msg, spare: &mut Spare) {
    if let Some(s) = &m.server {
        spare.keep_opt(rec.server.take());
        rec.server = Some(spare.copy(s));
    }
    if let Some(c) = &m.challenge {
        if let Some(old) = rec.challenge.take() {
            old.give_strings(spare);
        }
        rec.challenge = Some(auth_copy(c, spare));
    }
    if rec.sdp.is_none() && m.sdp.is_some() {
        rec.sdp = m.sdp.clone();
    }
    // The To tag is given by the responder.
    if let (Some(to), Some(rto)) = (&m.to, rec.to.as_mut()) {
        if rto.tag.is_none() {
            rto.set_tag_from(to);
        }
    }
    if rec.expires.is_none() {
        rec.expires = m.expires;
    }
    for w in &m.warnings {
        if !rec.warnings.iter().any(|x| x == w) {
            rec.warnings.push(spare.copy(w));
        }
    }
}

/// The record of a transaction that is done at `at` (its fields move into the record), and
/// what the table keeps of it through the linger: the final status and the provisional codes
/// that recognise a retransmission, so a completed transaction costs its key and little else.
fn complete(tx: Tx, at: Ts, spare: &mut Spare) -> (SipRecord, Done) {
    let done = Done {
        seq: tx.seq,
        completed_at: at,
        last_ts: tx.last_ts,
        status: tx.rec.status.unwrap_or(0),
        provisional: tx.rec.provisional.clone(),
    };
    let mut rec = SipRecord {
        head: Head::at(tx.started, &tx.ctx, "sip"),
        sip: tx.rec,
    };
    rec.head.pcap_cnt = Some(tx.seq);
    rec.head.tx_id = Some(tx.tx_id);
    rec.sip.suricata_fields(spare);
    (rec, done)
}

fn record(tx: &Tx, spare: &mut Spare) -> SipRecord {
    let mut rec = SipRecord {
        head: Head::at(tx.started, &tx.ctx, "sip"),
        sip: tx.rec.clone(),
    };
    // The request's packet (the record is about the transaction it opened).
    rec.head.pcap_cnt = Some(tx.seq);
    rec.head.tx_id = Some(tx.tx_id);
    rec.sip.suricata_fields(spare);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str, seq: u64) -> Msg {
        let text = text.replace('\n', "\r\n");
        let (m, _) = crate::sip::parser::parse_message(text.as_bytes()).unwrap();
        Msg::from_parsed(&m, PacketCtx::test_at(Ts(seq * 1_000_000)), seq)
    }

    /// A written record's strings are the room of the next records: the second transaction's
    /// record is made of the first's strings, and reads as it would made afresh.
    #[test]
    fn written_records_lend_their_strings_to_the_next() {
        let request = |n: u32| {
            format!(
                "OPTIONS sip:100@pbx SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK{n}\n\
                 From: <sip:a@h>;tag=1\nTo: <sip:100@pbx>\nCall-ID: c{n}\nCSeq: 1 OPTIONS\n\
                 User-Agent: phone\nContent-Length: 0\n\n"
            )
        };
        let response = |n: u32| {
            format!(
                "SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK{n}\nFrom: <sip:a@h>;tag=1\n\
                 To: <sip:100@pbx>;tag=2\nCall-ID: c{n}\nCSeq: 1 OPTIONS\nServer: pbx\n\
                 Content-Length: 0\n\n"
            )
        };
        let mut t = Transactions::new(TxConfig::default());
        let mut out = Vec::new();
        t.on_message(&msg(&request(1), 1), &mut out);
        t.on_message(&msg(&response(1), 2), &mut out);
        let first = out.pop().unwrap();
        let fresh = first.clone();
        assert!(
            t.spare.get().capacity() == 0,
            "nothing kept before a record is written"
        );
        first.sip.give_strings(&mut t.spare);
        let kept = t.spare.kept();
        assert!(kept >= 8, "{kept}");
        t.on_message(&msg(&request(2), 3), &mut out);
        t.on_message(&msg(&response(2), 4), &mut out);
        let second = out.pop().unwrap();
        assert!(t.spare.kept() < kept, "the second record took kept strings");
        // The same fields as the first, but for what differs between the two.
        assert_eq!(second.sip.call_id.as_deref(), Some("c2"));
        let mut like_first = second.sip.clone();
        like_first.call_id = fresh.sip.call_id.clone();
        assert_eq!(like_first, fresh.sip);
    }

    /// A flow's numbering goes on across a day's silence, and starts again at 0 after a week's:
    /// nothing of the dialog stage outlives a week without messages.
    #[test]
    fn a_flows_numbering_is_forgotten_after_a_week_idle() {
        let options = |n: u32, at_ns: u64| {
            let mut m = msg(
                &format!(
                    "OPTIONS sip:100@pbx SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK{n}\n\
                     From: <sip:a@h>;tag=1\nTo: <sip:100@pbx>\nCall-ID: c{n}\n\
                     CSeq: 1 OPTIONS\nContent-Length: 0\n\n"
                ),
                u64::from(n),
            );
            m.ctx.ts = Ts(at_ns);
            m
        };
        let day = 86_400 * 1_000_000_000;
        let mut t = Transactions::new(TxConfig::default());
        let mut out = Vec::new();
        let mut ids = Vec::new();
        for (n, at) in [(1, day), (2, 2 * day), (3, 9 * day + 1)] {
            t.expire(Ts(at), &mut out);
            t.on_message(&options(n, at), &mut out);
            ids.push(t.last_tx_id);
        }
        assert_eq!(ids, [Some(0), Some(1), Some(0)]);
        assert_eq!(t.numbering_len(), 1);
    }

    /// Every code reads as its number written, from the table or not.
    #[test]
    fn status_codes_read_as_their_numbers() {
        for c in [0, 1, 99, 100, 183, 200, 407, 699, 700, 999, u16::MAX] {
            let t = code_text(c);
            assert_eq!(t, c.to_string());
            assert_eq!(
                matches!(t, std::borrow::Cow::Borrowed(_)),
                (100..700).contains(&c)
            );
        }
    }

    /// A completed transaction waiting out its linger costs a fraction of an open one: the
    /// table holds its key and a small `Done` inline, no boxed record.
    #[test]
    fn a_completed_transaction_costs_a_fraction_of_an_open_one() {
        let entry = std::mem::size_of::<Entry>();
        let open = entry + std::mem::size_of::<Tx>();
        assert!(entry <= 64, "Entry {entry} bytes");
        assert!(open >= 8 * entry, "open {open} bytes, done {entry}");
    }
}

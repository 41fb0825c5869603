//! Authentication posture on synthetic message sequences: each finding once per server or
//! account, and none for a server that challenges an account used once.

use std::net::IpAddr;

use super::config::PostureConfig;
use super::posture::Posture;
use super::segmentation::Segments;
use super::Finding;
use crate::base::packet::PacketCtx;
use crate::base::time::Ts;
use crate::dialog::msg::{AuthInfo, DigestFacts};
use crate::dialog::Msg;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ctx(s: u64, src: &str, dst: &str) -> PacketCtx {
    PacketCtx {
        src: ip(src),
        dst: ip(dst),
        ..PacketCtx::test_at(Ts((1_700_000_000 + s) * 1_000_000_000))
    }
}

fn register(s: u64, client: &str, call: &str, cseq: u32, user: Option<&str>) -> Msg {
    let mut m = Msg::empty(ctx(s, client, "192.0.2.1"));
    m.method = Some("REGISTER".into());
    m.call_id = Some(call.into());
    m.cseq = Some((cseq, "REGISTER".into()));
    m.user_agent = Some(format!("phone-{client}"));
    if let Some(u) = user {
        m.auth = Some(AuthInfo {
            scheme: "Digest".into(),
            username: Some(u.into()),
            realm: Some("pbx".into()),
        });
        m.digest.response = true;
    }
    m
}

fn answer(r: &Msg, s: u64, code: u16, digest: Option<DigestFacts>) -> Msg {
    let mut m = Msg::empty(ctx(s, "192.0.2.1", &r.ctx.src.to_string()));
    m.status = Some(code);
    m.call_id = r.call_id.clone();
    m.cseq = r.cseq.clone();
    if let Some(d) = digest {
        m.challenge = Some(AuthInfo {
            scheme: "Digest".into(),
            username: None,
            realm: Some("pbx".into()),
        });
        m.digest = d;
    }
    m
}

fn good(nonce: u64) -> DigestFacts {
    DigestFacts {
        md5: true,
        sha256: true,
        qop: true,
        nonce: Some(nonce),
        ..DigestFacts::default()
    }
}

fn run(msgs: &[Msg]) -> Vec<Finding> {
    let mut p = Posture::new(PostureConfig::default(), Segments::default(), Vec::new());
    let mut out = Vec::new();
    for m in msgs {
        p.on_message(m, false, &mut out);
    }
    let end = msgs.last().map_or(Ts::ZERO, |m| m.ctx.ts);
    p.records(end, true, &mut out);
    out
}

fn ids(f: &[Finding]) -> Vec<u32> {
    f.iter().map(|x| x.sig.id).collect()
}

/// A challenged registration: one plaintext-credentials finding and nothing else.
fn challenged(client: &str, user: &str, call: &str, s: u64, nonce: u64, ok: bool) -> Vec<Msg> {
    let r1 = register(s, client, call, 1, None);
    let c = answer(&r1, s, 401, Some(good(nonce)));
    let r2 = register(s, client, call, 2, Some(user));
    let f = answer(&r2, s, if ok { 200 } else { 403 }, None);
    vec![r1, c, r2, f]
}

#[test]
fn a_challenging_server_and_an_account_used_once_have_only_plaintext_credentials() {
    let f = run(&challenged("10.0.0.5", "alice", "c1", 0, 1, true));
    assert_eq!(ids(&f), vec![2_600_006]);
    assert_eq!(f[0].evidence["account"], "alice@pbx");
    assert_eq!(f[0].evidence["transport"], "UDP");
    // No nonce, response or password in any evidence.
    assert!(!f[0].evidence.to_string().contains("nonce"));
}

#[test]
fn open_registration_once_per_server() {
    let mut msgs = Vec::new();
    for (i, client) in ["10.0.0.5", "10.0.0.6"].into_iter().enumerate() {
        let r = register(i as u64, client, &format!("o{i}"), 1, None);
        msgs.push(answer(&r, i as u64, 200, None));
        msgs.insert(msgs.len() - 1, r);
    }
    let f = run(&msgs);
    assert_eq!(ids(&f), vec![2_600_001]);
    // The client is the actor.
    assert!(f[0].reversed);
}

#[test]
fn weak_digest_and_a_reused_nonce() {
    let weak = DigestFacts {
        md5: true,
        qop: false,
        nonce: Some(7),
        ..DigestFacts::default()
    };
    let mut msgs = Vec::new();
    for (i, client) in ["10.0.0.5", "10.0.1.6"].into_iter().enumerate() {
        let r = register(i as u64, client, &format!("n{i}"), 1, None);
        msgs.push(answer(&r, i as u64, 401, Some(weak)));
        msgs.insert(msgs.len() - 1, r);
    }
    // qop missing and MD5 only at the first challenge; the same nonce to a second client.
    assert_eq!(ids(&run(&msgs)), vec![2_600_003, 2_600_004, 2_600_005]);
}

#[test]
fn a_shared_account_and_a_stale_password() {
    let mut msgs = challenged("10.0.0.5", "bob", "s1", 0, 1, true);
    msgs.extend(challenged("10.9.0.7", "bob", "s2", 5, 2, true));
    let f = run(&msgs);
    assert_eq!(ids(&f), vec![2_600_006, 2_600_007]);
    assert_eq!(
        f[1].evidence["networks"],
        serde_json::json!(["10.0.0.0", "10.9.0.0"])
    );
    let mut msgs = Vec::new();
    for i in 0..5 {
        msgs.extend(challenged(
            "10.0.0.8",
            "carol",
            &format!("f{i}"),
            i * 60,
            10 + i,
            false,
        ));
    }
    let f = run(&msgs);
    assert_eq!(ids(&f), vec![2_600_006, 2_600_008]);
    assert_eq!(f[1].evidence["failures"], 5);
    // Failures that end in a success are not a stale password (a guessed one, maybe).
    msgs.extend(challenged("10.0.0.8", "carol", "f9", 400, 30, true));
    assert_eq!(ids(&run(&msgs)), vec![2_600_006]);
}

/// A server and an account not heard from for `idle` (a week) are forgotten, the server's
/// news written first; an account that comes back is told of again.
#[test]
fn servers_and_accounts_are_forgotten_after_a_week_idle() {
    let mut p = Posture::new(PostureConfig::default(), Segments::default(), Vec::new());
    let mut out = Vec::new();
    let feed = |p: &mut Posture, msgs: Vec<Msg>, out: &mut Vec<Finding>| {
        for m in &msgs {
            p.on_message(m, false, out);
        }
    };
    let at = |s: u64| ctx(s, "192.0.2.1", "192.0.2.1").ts;
    // The first tick sets when records are due.
    assert!(p.records(at(0), false, &mut out).is_empty());
    feed(
        &mut p,
        challenged("10.0.0.5", "alice", "c1", 0, 1, true),
        &mut out,
    );
    // A day later: remembered (the interval's record written), nothing new said.
    let day = 86_400;
    p.expire(at(day));
    let records = p.records(at(day), false, &mut out);
    assert_eq!(records.len(), 1);
    let entries = |p: &Posture| p.tables().iter().map(|(_, t)| t.entries).sum::<usize>();
    assert!(entries(&p) >= 2, "the server and the account");
    feed(
        &mut p,
        challenged("10.0.0.5", "alice", "c2", day, 2, true),
        &mut out,
    );
    assert_eq!(ids(&out), vec![2_600_006], "said once while remembered");
    // A week after the last message: the server's news written, then nothing left.
    let week = day + 7 * day;
    p.expire(at(week));
    let records = p.records(at(week), false, &mut out);
    assert_eq!(records.len(), 1);
    assert_eq!(entries(&p), 0);
    feed(
        &mut p,
        challenged("10.0.0.5", "alice", "c3", week, 3, true),
        &mut out,
    );
    assert_eq!(ids(&out), vec![2_600_006, 2_600_006]);
}

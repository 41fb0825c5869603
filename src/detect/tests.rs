//! Synthetic message sequences for every signature, bounded memory under floods, and the real
//! captures.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use super::*;
use crate::base::packet::Transport;
use crate::dialog::msg::AuthInfo;
use crate::dialog::msg::{Party, PartyFields};

const T0: u64 = 1_700_000_000_000; // ms

fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn ctx(ms: u64, src: IpAddr, dst: IpAddr) -> PacketCtx {
    PacketCtx {
        src,
        dst,
        ..PacketCtx::test_at(Ts((T0 + ms) * 1_000_000))
    }
}

fn party(user: &str, tag: Option<&str>) -> Party {
    Party::from(PartyFields {
        display: None,
        user: Some(user.to_string()),
        host: "example.com".to_string(),
        tag: tag.map(str::to_string),
    })
}

pub(super) fn msg(c: PacketCtx) -> Msg {
    Msg::empty(c)
}

/// A request at `ms` from `src` to `dst` for `to_user`.
fn req(ms: u64, src: IpAddr, dst: IpAddr, method: &str, call_id: &str, to_user: &str) -> Msg {
    let mut m = msg(ctx(ms, src, dst));
    m.method = Some(method.to_string());
    m.uri = Some(format!("sip:{to_user}@{dst}"));
    m.call_id = Some(call_id.to_string());
    m.cseq = Some((1, method.to_string()));
    m.from = Some(party("caller", Some("ft")));
    m.to = Some(party(to_user, None));
    m.user_agent = Some("test-agent".to_string());
    m
}

fn with_auth(mut m: Msg, user: &str) -> Msg {
    m.auth = Some(AuthInfo {
        scheme: "Digest".to_string(),
        username: Some(user.to_string()),
        realm: Some("example.com".to_string()),
    });
    m
}

/// The response `status` to `r`, at `ms`.
fn resp(r: &Msg, ms: u64, status: u16) -> Msg {
    let mut m = msg(ctx(ms, r.ctx.dst, r.ctx.src));
    m.status = Some(status);
    m.call_id = r.call_id.clone();
    m.cseq = r.cseq.clone();
    m.from = r.from.clone();
    m.to = r.to.clone();
    m
}

/// Defaults with the flood detectors out of the way (tests of the other families).
fn no_floods() -> DetectConfig {
    let mut c = DetectConfig::default();
    let f = &mut c.flood;
    for v in [
        &mut f.src_all,
        &mut f.src_invite,
        &mut f.src_register,
        &mut f.src_options,
        &mut f.src_message,
        &mut f.src_subscribe,
        &mut f.dst_all,
        &mut f.dst_invite,
        &mut f.dst_register,
        &mut f.dst_options,
        &mut f.dst_message,
        &mut f.dst_subscribe,
        &mut f.challenge_count,
    ] {
        *v = 1_000_000;
    }
    c
}

fn ids(f: &[Finding]) -> Vec<u32> {
    f.iter().map(|x| x.sig.id).collect()
}

fn counts(f: &[Finding]) -> BTreeMap<u32, usize> {
    let mut m = BTreeMap::new();
    for x in f {
        *m.entry(x.sig.id).or_insert(0) += 1;
    }
    m
}

fn a() -> IpAddr {
    ip("198.51.100.7")
}

fn server() -> IpAddr {
    ip("192.0.2.10")
}

#[test]
fn signatures_are_numbered_and_named() {
    for (i, s) in SIGNATURES.iter().enumerate() {
        assert_eq!(s.id, 2_300_001 + i as u32);
        assert!(s.name.starts_with("VOIP-SENTINEL"));
        assert!(["scanner", "flood", "brute-force", "anomaly"].contains(&s.category));
        assert!((1..=3).contains(&s.severity));
    }
    assert_eq!(BRUTE_SUCCESS.severity, 1);
}

/// A request answered with an error, and its response, through the detectors.
fn refused(d: &mut Detectors, out: &mut Vec<Finding>, ms: u64, dst: IpAddr, call_id: &str) {
    let r = req(ms, a(), dst, "OPTIONS", call_id, "100");
    d.on_message(&r, false, out);
    d.on_message(&resp(&r, ms + 5, 503), false, out);
}

#[test]
fn sweep_counts_hosts_that_fail_or_do_not_answer_fires_at_ten_and_is_limited() {
    let mut d = Detectors::new(no_floods());
    let mut out = Vec::new();
    // Hosts that answer are peers (a PBX's keepalives to its trunks), however many: no sweep.
    for round in 0..3u64 {
        for i in 0..20u64 {
            let r = req(
                round * 15_000 + i,
                server(),
                ip(&format!("198.18.0.{i}")),
                "OPTIONS",
                &format!("k{round}-{i}"),
                "ping",
            );
            d.on_message(&r, false, &mut out);
            d.on_message(&resp(&r, round * 15_000 + i + 3, 200), false, &mut out);
        }
    }
    assert!(out.is_empty(), "{out:?}");
    for i in 0..9 {
        refused(
            &mut d,
            &mut out,
            50_000 + i * 100,
            ip(&format!("203.0.113.{i}")),
            &format!("c{i}"),
        );
    }
    // the same host again is not a new host; a retransmission is not counted
    refused(&mut d, &mut out, 50_950, ip("203.0.113.0"), "cx");
    d.on_message(
        &req(50_960, a(), ip("203.0.113.99"), "OPTIONS", "cy", "100"),
        true,
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
    refused(&mut d, &mut out, 51_000, ip("203.0.113.9"), "c9");
    assert_eq!(ids(&out), vec![SCAN_SWEEP.id]);
    assert_eq!(out[0].evidence["hosts"], 10);
    assert_eq!(out[0].evidence["window_s"], 60);
    assert_eq!(out[0].evidence["threshold"], 10);
    assert_eq!(out[0].evidence["scanner_traits"], false);
    assert_eq!(out[0].evidence["source"], "198.51.100.7");
    // decided on the host's error response
    assert_eq!(out[0].ctx.src, ip("203.0.113.9"));
    out.clear();
    for i in 10..200 {
        refused(
            &mut d,
            &mut out,
            51_000 + i * 10,
            ip(&format!("203.0.113.{i}")),
            &format!("c{i}"),
        );
    }
    assert!(out.is_empty(), "limited to 1 per 60 s: {out:?}");
    refused(&mut d, &mut out, 112_000, ip("203.0.113.250"), "z");
    assert_eq!(ids(&out), vec![SCAN_SWEEP.id]);
    assert_eq!(out[0].evidence["suppressed"], 190);
}

#[test]
fn unanswered_hosts_are_a_sweep_and_a_scanner_needs_only_three() {
    let mut d = Detectors::new(no_floods());
    let mut out = Vec::new();
    // Ten hosts that never answer: counted once the no-response timeout has passed.
    for i in 0..10u64 {
        d.on_message(
            &req(
                i * 10,
                a(),
                ip(&format!("203.0.113.{i}")),
                "OPTIONS",
                &format!("u{i}"),
                "100",
            ),
            false,
            &mut out,
        );
    }
    assert!(out.is_empty());
    d.expire(Ts((T0 + 6_000) * 1_000_000), &mut out);
    assert!(ids(&out).contains(&SCAN_SWEEP.id), "{out:?}");
    // A scanner's User-Agent: three hosts are a sweep, answered or not.
    let mut d = Detectors::new(no_floods());
    let mut out = Vec::new();
    for i in 0..3u64 {
        let mut r = req(
            i * 10,
            server(),
            ip(&format!("198.18.1.{i}")),
            "OPTIONS",
            &format!("s{i}"),
            "100",
        );
        r.user_agent = Some("friendly-scanner".to_string());
        d.on_message(&r, false, &mut out);
        d.on_message(&resp(&r, i * 10 + 2, 200), false, &mut out);
    }
    assert_eq!(ids(&out), vec![SCAN_SWEEP.id]);
    assert_eq!(out[0].evidence["threshold"], 3);
    assert_eq!(out[0].evidence["scanner_traits"], true);
}

#[test]
fn enumeration_fires_on_refused_or_unanswered_users() {
    let mut d = Detectors::new(no_floods());
    let mut out = Vec::new();
    for (i, status) in [404u16, 403, 401, 407, 484, 404, 404, 404, 404]
        .iter()
        .enumerate()
    {
        let r = req(
            i as u64 * 10,
            a(),
            server(),
            "REGISTER",
            &format!("e{i}"),
            &format!("{}", 100 + i),
        );
        d.on_message(&r, false, &mut out);
        d.on_message(&resp(&r, i as u64 * 10 + 1, 100), false, &mut out);
        d.on_message(&resp(&r, i as u64 * 10 + 2, *status), false, &mut out);
    }
    // 200 OK users do not count; a repeated user is not new
    let r = req(200, a(), server(), "REGISTER", "ok", "200");
    d.on_message(&r, false, &mut out);
    d.on_message(&resp(&r, 201, 200), false, &mut out);
    let r = req(210, a(), server(), "REGISTER", "rep", "100");
    d.on_message(&r, false, &mut out);
    d.on_message(&resp(&r, 211, 404), false, &mut out);
    // a challenge answered by the request sent again with credentials is a phone's, not a
    // probe's: that user never counts
    let r = req(220, a(), server(), "REGISTER", "phone", "300");
    d.on_message(&r, false, &mut out);
    d.on_message(&resp(&r, 221, 401), false, &mut out);
    let mut again = with_auth(req(222, a(), server(), "REGISTER", "phone", "300"), "300");
    again.cseq = Some((2, "REGISTER".to_string()));
    d.on_message(&again, false, &mut out);
    d.on_message(&resp(&again, 223, 200), false, &mut out);
    assert!(out.is_empty(), "{out:?}");
    // the 10th distinct user gets no answer at all: decided after 5 s, as are the challenges
    // no retry followed (401 and 407 above)
    let r = req(300, a(), server(), "REGISTER", "e9", "109");
    d.on_message(&r, false, &mut out);
    d.expire(Ts((T0 + 5_000) * 1_000_000), &mut out);
    assert!(out.is_empty(), "not yet 5 s: {out:?}");
    d.expire(Ts((T0 + 5_300) * 1_000_000), &mut out);
    assert_eq!(ids(&out), vec![SCAN_ENUMERATION.id]);
    assert_eq!(out[0].evidence["users"], 10);
    assert_eq!(out[0].evidence["last_status"], 407);
}

#[test]
fn unanswered_requests_fire_at_twenty() {
    let mut d = Detectors::new(no_floods());
    let mut out = Vec::new();
    // all to the same user so enumeration stays quiet
    for i in 0..19 {
        d.on_message(
            &req(i * 100, a(), server(), "INVITE", &format!("n{i}"), "100"),
            false,
            &mut out,
        );
    }
    // answered by a 100 Trying only: not unanswered; ACK never awaits a response
    let r = req(2000, a(), server(), "INVITE", "trying", "100");
    d.on_message(&r, false, &mut out);
    d.on_message(&resp(&r, 2001, 100), false, &mut out);
    d.on_message(
        &req(2002, a(), server(), "ACK", "ack", "100"),
        false,
        &mut out,
    );
    d.expire(Ts((T0 + 10_000) * 1_000_000), &mut out);
    assert!(out.is_empty(), "{out:?}");
    d.on_message(
        &req(11_000, a(), server(), "INVITE", "n19", "100"),
        false,
        &mut out,
    );
    d.expire(Ts((T0 + 15_999) * 1_000_000), &mut out);
    assert!(out.is_empty());
    d.expire(Ts((T0 + 16_000) * 1_000_000), &mut out);
    assert_eq!(ids(&out), vec![SCAN_NO_RESPONSE.id]);
    assert_eq!(out[0].evidence["unanswered"], 20);
    assert_eq!(out[0].ctx.ts, Ts((T0 + 11_000) * 1_000_000));
}

#[test]
fn sipvicious_tag_fires_once_per_source() {
    let mut d = Detectors::new(no_floods());
    let mut out = Vec::new();
    let mut m = req(0, a(), server(), "OPTIONS", "x", "500");
    d.on_message(&m, false, &mut out);
    assert!(out.is_empty());
    m.from = Some(party("500", Some("3530300133323234333331343530")));
    d.on_message(&m, false, &mut out);
    d.on_message(&m, false, &mut out);
    assert_eq!(ids(&out), vec![SCAN_SIPVICIOUS_TAG.id]);
    assert_eq!(out[0].evidence["decoded_prefix"], "500");
    let mut cfg = DetectConfig::default();
    cfg.scanner.sipvicious_tag = 0;
    let mut d = Detectors::new(cfg);
    out.clear();
    d.on_message(&m, false, &mut out);
    assert!(out.is_empty());
}

/// A keepalive round (a PBX's OPTIONS to each of its 40 trunks within a few ms, every 15 s) is
/// not a flood of that source; OPTIONS hammering one host is.
#[test]
fn a_keepalive_round_is_not_a_source_flood_but_options_to_one_host_are() {
    let mut d = Detectors::new(DetectConfig::default());
    let mut out = Vec::new();
    for round in 0..4u64 {
        for i in 0..40u64 {
            let dst = ip(&format!("198.18.2.{i}"));
            let r = req(
                round * 15_000 + i,
                server(),
                dst,
                "OPTIONS",
                &format!("k{round}-{i}"),
                "ping",
            );
            d.on_message(&r, false, &mut out);
        }
    }
    assert!(out.is_empty(), "{out:?}");
    // The same host 17 times in 2 s: the first is a keepalive, the next 16 a flood.
    for i in 0..17u64 {
        d.on_message(
            &req(
                100_000 + i * 10,
                server(),
                ip("198.18.3.1"),
                "OPTIONS",
                &format!("h{i}"),
                "ping",
            ),
            false,
            &mut out,
        );
    }
    assert_eq!(ids(&out), vec![FLOOD_SOURCE.id, FLOOD_SOURCE.id], "{out:?}");
    assert_eq!(out[1].evidence["method"], "OPTIONS");
}

#[test]
fn source_flood_pike_default_sixteen_in_two_seconds() {
    let mut d = Detectors::new(DetectConfig::default());
    let mut out = Vec::new();
    // 10 per 2 s, for a minute: never
    for i in 0..300 {
        d.on_message(
            &req(i * 200, a(), server(), "INVITE", &format!("s{i}"), "1"),
            false,
            &mut out,
        );
    }
    assert!(out.is_empty(), "{out:?}");
    let b = ip("198.51.100.8");
    for i in 0..15 {
        d.on_message(
            &req(100_000 + i, b, server(), "INVITE", &format!("f{i}"), "1"),
            i % 2 == 0,
            &mut out,
        );
    }
    assert!(out.is_empty());
    d.on_message(
        &req(100_015, b, server(), "INVITE", "f15", "1"),
        false,
        &mut out,
    );
    assert_eq!(ids(&out), vec![FLOOD_SOURCE.id, FLOOD_SOURCE.id]);
    assert_eq!(out[0].evidence["method"], "ALL");
    assert_eq!(out[1].evidence["method"], "INVITE");
    assert_eq!(out[1].evidence["requests"], 16);
    out.clear();
    for i in 16..100_000u64 {
        d.on_message(
            &req(100_000 + i / 10, b, server(), "INVITE", "f", "1"),
            true,
            &mut out,
        );
    }
    // the destination and global alarms fire too (10 000 a second); the source alerts are limited
    assert_eq!(
        counts(&out).get(&FLOOD_SOURCE.id),
        None,
        "{:?}",
        counts(&out)
    );
    out.clear();
    d.on_message(
        &req(170_000, b, server(), "INVITE", "g", "1"),
        false,
        &mut out,
    );
    d.on_message(
        &req(170_001, b, server(), "REGISTER", "g", "1"),
        false,
        &mut out,
    );
    // the source's window restarted after the pause: the INVITE count is 1 again
    assert!(out.is_empty());
    let mut cfg = DetectConfig::default();
    cfg.flood.src_register = 3;
    let mut d = Detectors::new(cfg);
    for i in 0..3 {
        d.on_message(&req(i, b, server(), "REGISTER", "r", "1"), false, &mut out);
    }
    assert_eq!(ids(&out), vec![FLOOD_SOURCE.id]);
    assert_eq!(out[0].evidence["method"], "REGISTER");
}

/// A busy trunk's calls: per call an INVITE, then the ACK and the BYE of its dialog (To tag).
/// Under "all methods" only the INVITEs are new work: 7 calls in 2 s (21 requests) are no flood;
/// the in-dialog requests still count per destination, and 16 INVITEs still flood.
#[test]
fn in_dialog_requests_are_not_a_source_flood() {
    let mut d = Detectors::new(DetectConfig::default());
    let mut out = Vec::new();
    let b = ip("198.51.100.8");
    for i in 0..7u64 {
        let cid = format!("t{i}");
        d.on_message(
            &req(i * 250, b, server(), "INVITE", &cid, "1"),
            false,
            &mut out,
        );
        for (ms, method) in [(i * 250 + 50, "ACK"), (i * 250 + 100, "BYE")] {
            let mut m = req(ms, b, server(), method, &cid, "1");
            m.to = Some(party("1", Some("tt")));
            d.on_message(&m, false, &mut out);
        }
    }
    assert!(out.is_empty(), "{out:?}");
    for i in 7..16u64 {
        d.on_message(
            &req(1_750 + i, b, server(), "INVITE", &format!("t{i}"), "1"),
            false,
            &mut out,
        );
    }
    assert_eq!(ids(&out), vec![FLOOD_SOURCE.id, FLOOD_SOURCE.id], "{out:?}");
    assert_eq!(out[0].evidence["method"], "ALL");
    assert_eq!(out[1].evidence["method"], "INVITE");
}

#[test]
fn destination_and_challenge_floods() {
    let mut d = Detectors::new(DetectConfig::default());
    let mut out = Vec::new();
    for i in 0..199u64 {
        let src = ip(&format!("10.1.{}.{}", i / 200, i % 200));
        d.on_message(
            &req(i, src, server(), "REGISTER", &format!("d{i}"), "1"),
            false,
            &mut out,
        );
    }
    assert!(out.is_empty());
    d.on_message(
        &req(199, ip("10.2.0.1"), server(), "REGISTER", "d199", "1"),
        false,
        &mut out,
    );
    assert_eq!(ids(&out), vec![FLOOD_DESTINATION.id]);
    assert_eq!(out[0].evidence["method"], "REGISTER");
    assert_eq!(out[0].evidence["destination"], "192.0.2.10");
    out.clear();
    for i in 200..400u64 {
        let src = ip(&format!("10.3.{}.{}", i / 200, i % 200));
        d.on_message(
            &req(i, src, server(), "OPTIONS", &format!("d{i}"), "1"),
            false,
            &mut out,
        );
    }
    // OPTIONS reaches 200 at the 400th request, and ALL reaches 400 with it
    assert_eq!(ids(&out), vec![FLOOD_DESTINATION.id, FLOOD_DESTINATION.id]);
    out.clear();

    let victim = ip("198.51.100.99");
    let r = req(0, victim, server(), "REGISTER", "c", "1");
    for i in 0..19 {
        d.on_message(&resp(&r, 5_000 + i * 100, 401), false, &mut out);
    }
    assert!(out.is_empty());
    d.on_message(&resp(&r, 7_000, 407), false, &mut out);
    assert_eq!(ids(&out), vec![FLOOD_CHALLENGES.id]);
    assert_eq!(out[0].evidence["challenges"], 20);
}

#[test]
fn global_rate_alarm() {
    let mut cfg = DetectConfig::default();
    cfg.flood.global_per_second = 100;
    let mut d = Detectors::new(cfg);
    let mut out = Vec::new();
    for i in 0..99u64 {
        let src = ip(&format!("10.9.0.{}", i % 250));
        d.on_message(
            &req(i, src, ip(&format!("10.8.0.{}", i % 250)), "BYE", "g", "1"),
            false,
            &mut out,
        );
    }
    // the next second starts again
    d.on_message(&req(1000, a(), server(), "BYE", "g", "1"), false, &mut out);
    assert!(out.is_empty(), "{out:?}");
    for i in 0..99u64 {
        d.on_message(
            &req(
                1001 + i,
                ip(&format!("10.7.0.{}", i % 250)),
                server(),
                "BYE",
                "g",
                "1",
            ),
            true,
            &mut out,
        );
    }
    assert_eq!(ids(&out), vec![FLOOD_GLOBAL.id]);
    assert_eq!(out[0].evidence["messages_this_second"], 100);
}

/// `n` failed authentications of `user` from `src` (answered `status`), from `ms` on.
fn fail(
    d: &mut Detectors,
    out: &mut Vec<Finding>,
    ms: u64,
    src: IpAddr,
    user: &str,
    n: u64,
    status: u16,
) {
    for i in 0..n {
        let mut r = with_auth(
            req(
                ms + i * 100,
                src,
                server(),
                "REGISTER",
                &format!("b{user}{ms}{i}"),
                user,
            ),
            user,
        );
        r.cseq = Some((2, "REGISTER".to_string()));
        d.on_message(&r, false, out);
        d.on_message(&resp(&r, ms + i * 100 + 1, status), false, out);
    }
}

#[test]
fn failed_authentications_per_source_and_per_user() {
    let mut d = Detectors::new(no_floods());
    let mut out = Vec::new();
    // 401 to a request without credentials is not a failure
    for i in 0..10 {
        let r = req(
            i * 100,
            a(),
            server(),
            "REGISTER",
            &format!("n{i}"),
            "alice",
        );
        d.on_message(&r, false, &mut out);
        d.on_message(&resp(&r, i * 100 + 1, 401), false, &mut out);
    }
    assert!(out.is_empty(), "{out:?}");
    // one source, 4 different users once each: not yet
    for (i, u) in ["u1", "u2", "u3", "u4"].iter().enumerate() {
        fail(&mut d, &mut out, 2_000 + i as u64 * 1_000, a(), u, 1, 403);
    }
    assert!(out.is_empty());
    fail(&mut d, &mut out, 7_000, a(), "u5", 1, 407);
    assert_eq!(ids(&out), vec![BRUTE_SOURCE.id]);
    assert_eq!(out[0].evidence["failures"], 5);
    assert_eq!(out[0].evidence["source"], "198.51.100.7");
    assert_eq!(
        out[0].ctx.src,
        server(),
        "the deciding packet is the response"
    );
    out.clear();
    // one user from 4 sources, once each, then a fifth source: per-user and distributed
    for i in 0..4 {
        fail(
            &mut d,
            &mut out,
            10_000 + i * 1_000,
            ip(&format!("203.0.113.{i}")),
            "bob",
            1,
            401,
        );
    }
    assert!(out.is_empty());
    fail(&mut d, &mut out, 15_000, ip("203.0.113.4"), "bob", 1, 401);
    assert_eq!(ids(&out), vec![BRUTE_USER.id, BRUTE_DISTRIBUTED.id]);
    assert_eq!(out[1].evidence["source_count"], 5);
}

#[test]
fn success_after_failures_is_critical() {
    let mut d = Detectors::new(no_floods());
    let mut out = Vec::new();
    fail(&mut d, &mut out, 0, a(), "carol", 4, 403);
    let ok = with_auth(
        req(1_000, a(), server(), "REGISTER", "okc", "carol"),
        "carol",
    );
    d.on_message(&ok, false, &mut out);
    d.on_message(&resp(&ok, 1_001, 200), false, &mut out);
    assert!(out.is_empty(), "4 failures then success: {out:?}");
    let mut d = Detectors::new(DetectConfig::default());
    fail(&mut d, &mut out, 0, a(), "carol", 5, 403);
    out.clear();
    d.on_message(&ok, false, &mut out);
    d.on_message(&resp(&ok, 1_001, 200), false, &mut out);
    assert_eq!(ids(&out), vec![BRUTE_SUCCESS.id]);
    assert_eq!(out[0].sig.severity, 1);
    assert_eq!(out[0].evidence["failures_before"], 5);
    assert_eq!(out[0].evidence["username"], "carol");
}

#[test]
fn registration_from_a_new_network() {
    let mut d = Detectors::new(no_floods());
    let mut out = Vec::new();
    let reg = |d: &mut Detectors, out: &mut Vec<Finding>, ms: u64, src: &str| {
        let r = with_auth(
            req(ms, ip(src), server(), "REGISTER", &format!("r{ms}"), "dave"),
            "dave",
        );
        d.on_message(&r, false, out);
        d.on_message(&resp(&r, ms + 1, 200), false, out);
    };
    reg(&mut d, &mut out, 0, "10.0.0.5");
    reg(&mut d, &mut out, 1_000, "10.0.0.9");
    reg(&mut d, &mut out, 2_000, "2001:db8:1:2::5");
    assert_eq!(ids(&out), vec![NEW_NETWORK.id]);
    assert_eq!(out[0].evidence["network"], "2001:db8:1:2::/64");
    assert_eq!(
        out[0].evidence["known_networks"],
        serde_json::json!(["10.0.0.0/24"])
    );
    out.clear();
    reg(&mut d, &mut out, 3_000, "2001:db8:1:2::77");
    reg(&mut d, &mut out, 4_000, "10.0.0.1");
    assert!(out.is_empty());
    // at most 4 networks per user are kept
    for i in 0..10 {
        reg(
            &mut d,
            &mut out,
            5_000 + i * 1_000,
            &format!("172.16.{i}.1"),
        );
    }
    assert_eq!(out.len(), 10);
    assert!(d
        .brute
        .networks
        .get_mut(&"dave".to_string())
        .is_some_and(|v| v.len() == 4));
}

#[test]
fn reload_keeps_state_and_applies_new_thresholds() {
    let mut d = Detectors::new(DetectConfig::default());
    let mut out = Vec::new();
    d.on_message(&req(0, server(), a(), "MESSAGE", "o", "1"), false, &mut out);
    for i in 1..=10 {
        d.on_message(
            &req(i, a(), server(), "SUBSCRIBE", "s", "1"),
            false,
            &mut out,
        );
    }
    assert_eq!(d.stats().flood_sources.entries, 4);
    let mut cfg = DetectConfig::default();
    cfg.flood.src_subscribe = 12;
    cfg.flood.max_sources = 2;
    d.set_config(cfg);
    // the smaller cap evicts the least recently seen keys at once, counted
    assert_eq!(d.stats().flood_sources.entries, 2);
    assert_eq!(d.stats().flood_sources.evictions, 2);
    d.on_message(
        &req(11, a(), server(), "SUBSCRIBE", "s", "1"),
        false,
        &mut out,
    );
    assert!(out.is_empty());
    d.on_message(
        &req(12, a(), server(), "SUBSCRIBE", "s", "1"),
        false,
        &mut out,
    );
    assert_eq!(ids(&out), vec![FLOOD_SOURCE.id]);
    assert_eq!(out[0].evidence["method"], "SUBSCRIBE");
    assert_eq!(out[0].evidence["requests"], 12);
}

#[test]
fn a_million_unique_sources_and_users_stay_bounded() {
    let mut cfg = DetectConfig::default();
    cfg.scanner.max_sources = 1_000;
    cfg.flood.max_sources = 1_000;
    cfg.flood.max_destinations = 100;
    cfg.bruteforce.max_sources = 1_000;
    cfg.bruteforce.max_users = 1_000;
    cfg.pairing.max_pending = 1_000;
    cfg.threshold.max_keys = 1_000;
    let caps = cfg.clone();
    let mut d = Detectors::new(cfg);
    let mut out = Vec::new();
    let mut ms = 0;
    for i in 0..1_000_000u32 {
        let src = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        let user = format!("u{i}");
        ms = u64::from(i) / 100; // 100 000 messages a second
        let r = with_auth(req(ms, src, server(), "REGISTER", &user, &user), &user);
        d.on_message(&r, false, &mut out);
        if i % 2 == 0 {
            d.on_message(&resp(&r, ms, 403), false, &mut out);
        }
        if i % 100_000 == 0 {
            d.expire(Ts((T0 + ms) * 1_000_000), &mut out);
        }
    }
    let s = d.stats();
    assert!(
        s.pending.entries <= 1_000 && s.pending.evictions > 0,
        "{s:?}"
    );
    assert!(s.scanner_sources.entries <= caps.scanner.max_sources as usize);
    assert!(s.scanner_sources.evictions > 0);
    assert!(s.flood_sources.entries <= 1_000 && s.flood_sources.evictions > 0);
    assert!(s.flood_destinations.entries <= 100);
    assert!(s.brute_sources.entries <= 1_000 && s.brute_sources.evictions > 0);
    assert!(s.brute_users.entries <= 1_000 && s.brute_users.evictions > 0);
    assert!(s.limiter.entries <= 1_000);
    // the flood itself is reported, in a few alerts that carry its size
    let c = counts(&out);
    assert_eq!(c.get(&FLOOD_GLOBAL.id), Some(&1), "{c:?}");
    assert_eq!(c.get(&FLOOD_DESTINATION.id), Some(&2), "{c:?}");
    assert!(out.len() <= 10, "{c:?}");
    let global = out.iter().find(|f| f.sig == FLOOD_GLOBAL);
    assert!(global.is_some_and(|g| g.evidence["messages_this_second"] == 5_000));
    // idle state is dropped
    d.expire(Ts((T0 + ms + 400_000) * 1_000_000), &mut out);
    let s = d.stats();
    assert_eq!(
        (
            s.pending.entries,
            s.scanner_sources.entries,
            s.flood_sources.entries
        ),
        (0, 0, 0)
    );
    assert_eq!(
        (
            s.brute_sources.entries,
            s.brute_users.entries,
            s.limiter.entries
        ),
        (0, 0, 0)
    );
}

#[test]
fn garbage_messages_do_not_panic() {
    let mut d = Detectors::new(DetectConfig::default());
    let mut out = Vec::new();
    let mut m = msg(ctx(0, a(), server()));
    d.on_message(&m, false, &mut out);
    m.status = Some(401);
    d.on_message(&m, false, &mut out);
    m.status = None;
    m.method = Some(String::new());
    m.uri = Some("::@@;".to_string());
    m.from = Some(party("", Some("01")));
    d.on_message(&m, false, &mut out);
    m.cseq = Some((u32::MAX, String::new()));
    m.call_id = Some(String::new());
    d.on_message(&m, false, &mut out);
    d.expire(Ts(u64::MAX), &mut out);
    d.expire(Ts(0), &mut out);
    assert_eq!(uri_user("sip:100@h;x"), Some("100"));
    assert_eq!(uri_user("tel:+123;p=1"), Some("+123"));
    assert_eq!(uri_user("sip:host"), None);
}

// ---- real captures ----

/// Every SIP message of pcaps/<rel> with its addresses and capture time, and whether it
/// repeats an earlier one (same direction, Call-ID, CSeq, first line, top Via branch).
fn capture_msgs(rel: &str) -> Vec<(Msg, bool)> {
    use crate::base::packet::LinkType;
    use crate::decode::{defrag::DefragConfig, Decoder};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pcaps")
        .join(rel);
    let Ok(mut cap) = pcap::Capture::from_file(&path) else {
        panic!("{}", path.display());
    };
    let link = LinkType::from_dlt(cap.get_datalink().0).unwrap_or(LinkType::Ethernet);
    let mut dec = Decoder::new(DefragConfig::default());
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut seq = 0;
    while let Ok(p) = cap.next_packet() {
        let ts = Ts::from_micros(p.header.ts.tv_sec, p.header.ts.tv_usec);
        let Ok(dp) = dec.decode(link, p.data, ts) else {
            continue;
        };
        if dp.transport != Transport::Udp {
            continue;
        }
        let Ok((sm, _)) = crate::sip::parser::parse_datagram(dp.payload) else {
            continue;
        };
        let c = PacketCtx {
            ts,
            src: dp.src,
            dst: dp.dst,
            sport: dp.sport,
            dport: dp.dport,
            transport: dp.transport,
            vlan: dp.vlan,
            flow_id: 0,
            agent: None,
        };
        seq += 1;
        let m = Msg::from_parsed(&sm, c, seq);
        let key = format!(
            "{}|{}|{:?}|{:?}|{:?}|{:?}|{:?}",
            c.src, c.dst, m.call_id, m.cseq, m.method, m.status, m.branch
        );
        let retrans = !seen.insert(key);
        out.push((m, retrans));
    }
    out
}

/// Run the detectors over a capture with a tick every second of packet time and a final
/// tick well after its end.
fn run_capture(rel: &str, cfg: DetectConfig) -> (Vec<Finding>, usize, DetectStats) {
    let msgs = capture_msgs(rel);
    let mut d = Detectors::new(cfg);
    let mut out = Vec::new();
    let mut last_tick = 0;
    let mut end = Ts::ZERO;
    for (m, retrans) in &msgs {
        let sec = m.ctx.ts.as_nanos() / 1_000_000_000;
        if sec > last_tick {
            if last_tick > 0 {
                d.expire(Ts(sec * 1_000_000_000), &mut out);
            }
            last_tick = sec;
        }
        d.on_message(m, *retrans, &mut out);
        end = end.max(m.ctx.ts);
    }
    for s in 1..=70 {
        d.expire(end.add_secs(s), &mut out);
    }
    (out, msgs.len(), d.stats())
}

fn summary(f: &[Finding]) -> Vec<(u32, String)> {
    f.iter()
        .map(|x| {
            let ev = &x.evidence;
            let key = ["source", "destination", "username"]
                .iter()
                .find_map(|k| ev.get(*k).and_then(|v| v.as_str()))
                .unwrap_or("global");
            let method = ev.get("method").and_then(|v| v.as_str()).unwrap_or("");
            (x.sig.id, format!("{key} {method}").trim().to_string())
        })
        .collect()
}

fn owned(v: &[(u32, &str)]) -> Vec<(u32, String)> {
    v.iter().map(|(i, s)| (*i, s.to_string())).collect()
}

#[test]
fn capture_svwar_register() {
    // svwar -e500-540 against a registrar that answers 200 to every REGISTER: no refusals, so
    // no enumeration; the From-tag and the REGISTER rate (42 in 0.24 s) give it away.
    let (f, n, stats) = run_capture(
        "public/sipvicious/svwar-register.pcap",
        DetectConfig::default(),
    );
    assert_eq!(n, 84);
    assert_eq!(
        summary(&f),
        owned(&[
            (2_300_004, "127.0.0.1 REGISTER"),
            (2_300_005, "127.0.0.1 ALL"),
            (2_300_005, "127.0.0.1 REGISTER"),
        ])
    );
    assert_eq!(f[0].evidence["decoded_prefix"], "760967789");
    assert_eq!(f[1].evidence["requests"], 16);
    assert_eq!(
        f[1].evidence["samples"]["user_agents"],
        serde_json::json!(["friendly-scanner"])
    );
    assert_eq!(stats.auth_failures, 0);
}

#[test]
fn capture_svmap_svwar_options() {
    let (f, n, _) = run_capture(
        "public/sipvicious/svmap-invite-svwar-options.pcap",
        DetectConfig::default(),
    );
    assert_eq!(n, 765);
    // svmap's INVITEs carry the tag; kamailio (127.0.0.10) forwards them to itself with the
    // scanner's From-tag and loops (483): a source flood of INVITEs; svmap over three hosts
    // (127.0.0.9-11) with a scanner's traits is a sweep; svwar's OPTIONS for 1000-1030 are
    // answered 404: enumeration, and an OPTIONS rate of one source.
    assert_eq!(
        summary(&f),
        owned(&[
            (2_300_004, "127.0.0.1 INVITE"),
            (2_300_004, "127.0.0.10 INVITE"),
            (2_300_001, "127.0.0.1"),
            (2_300_005, "127.0.0.10 ALL"),
            (2_300_005, "127.0.0.10 INVITE"),
            (2_300_002, "127.0.0.1 OPTIONS"),
            (2_300_005, "127.0.0.1 ALL"),
            (2_300_005, "127.0.0.1 OPTIONS"),
        ])
    );
    assert_eq!(f[0].evidence["decoded_prefix"], "7f00000913c4");
    assert_eq!(f[5].evidence["users"], 10);
    assert_eq!(f[5].evidence["last_status"], 404);
    // svmap swept 3 hosts (127.0.0.9-11): below the default 10, but svmap says it is
    // friendly-scanner and tags its From: 3 hosts are enough, and the sweep fires once
    let sweeps: Vec<_> = f.iter().filter(|x| x.sig == SCAN_SWEEP).collect();
    assert_eq!(sweeps.len(), 1);
    assert_eq!(sweeps[0].evidence["source"], "127.0.0.1");
    assert_eq!(sweeps[0].evidence["hosts"], 3);
    assert_eq!(sweeps[0].evidence["threshold"], 3);
    assert_eq!(sweeps[0].ctx.dst, ip("127.0.0.11"));
    // without the scanner threshold (as high as the plain one), no sweep
    let mut cfg = DetectConfig::default();
    cfg.scanner.sweep_hosts_scanner = cfg.scanner.sweep_hosts;
    let (f, _, _) = run_capture("public/sipvicious/svmap-invite-svwar-options.pcap", cfg);
    assert!(f.iter().all(|x| x.sig != SCAN_SWEEP));
}

#[test]
fn capture_kamailio_register_digest() {
    // alice and bob register (401 then 200); alice's second try has a wrong password (403):
    // one failed authentication, no brute force at the defaults.
    let (f, n, stats) = run_capture("kamailio-register-digest.pcap", DetectConfig::default());
    assert_eq!(n, 12);
    assert!(f.is_empty(), "{:?}", summary(&f));
    assert_eq!(stats.auth_failures, 1);
    // at a threshold of 1 failure, that one failure is what fires
    let mut cfg = DetectConfig::default();
    cfg.bruteforce.src_failures = 1;
    cfg.bruteforce.user_failures = 1;
    let (f, _, _) = run_capture("kamailio-register-digest.pcap", cfg);
    assert_eq!(
        summary(&f),
        owned(&[(2_300_009, "127.0.0.51"), (2_300_010, "alice")])
    );
    assert_eq!(f[0].evidence["last_status"], 403);
}

#[test]
fn extreme_configurations_built_in_code_do_not_panic() {
    for v in [0, u64::MAX] {
        let mut c = DetectConfig::default();
        let text = c.to_text();
        for line in text.lines().filter(|l| l.contains('=')) {
            let key = line.split('=').next().unwrap_or("").trim();
            let section = text[..text.find(line).unwrap_or(0)]
                .lines()
                .rev()
                .find(|l| l.starts_with('['))
                .unwrap_or("")
                .trim_matches(['[', ']']);
            if let Some((slot, _, _)) = c.slot(section, key) {
                *slot = v;
            }
        }
        let mut d = Detectors::new(c);
        let mut out = Vec::new();
        fail(&mut d, &mut out, 0, a(), "x", 3, 401);
        let r = with_auth(req(500, a(), server(), "REGISTER", "ok", "x"), "x");
        d.on_message(&r, false, &mut out);
        d.on_message(&resp(&r, 501, 200), false, &mut out);
        d.on_message(
            &req(600, a(), server(), "INVITE", "u", "y"),
            false,
            &mut out,
        );
        d.expire(Ts(u64::MAX), &mut out);
        d.set_config(DetectConfig::default());
        d.expire(Ts(u64::MAX), &mut out);
    }
}

/// One notion of a client's network for the new-network anomaly and the shared-account
/// finding: /24, /64, and an IPv4-mapped IPv6 address as its IPv4 one.
#[test]
fn networks_of_addresses() {
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    assert_eq!(super::network_base(ip("10.1.2.3")), ip("10.1.2.0"));
    assert_eq!(super::network_base(ip("::ffff:10.1.2.3")), ip("10.1.2.0"));
    assert_eq!(
        super::network_base(ip("2001:db8:1:2:3:4:5:6")),
        ip("2001:db8:1:2::")
    );
    assert_eq!(super::network_of(ip("::ffff:10.1.2.3")), "10.1.2.0/24");
    assert_eq!(
        super::network_of(ip("2001:db8:1:2:3:4:5:6")),
        "2001:db8:1:2::/64"
    );
    assert_eq!(super::network_of(ip("2001:db8::1")), "2001:db8:0:0::/64");
}

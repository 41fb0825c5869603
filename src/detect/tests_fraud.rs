//! Toll-fraud and caller-ID detectors: synthetic INVITE/response/BYE sequences at and below
//! each threshold, the number plan, normalisation, PASSporT decoding, bounded memory.

use std::net::IpAddr;

use super::callerid::{b64url_decode, decode_passport, malformed_reason};
use super::fraud::{in_context, normalise, parse_plan, Class, DialledAs};
use super::*;
use crate::dialog::msg::{Party, PartyFields};

const T0: u64 = 1_700_000_000; // s, Tue 2023-11-14 22:13:20 UTC

fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn ctx(ms: u64, src: IpAddr) -> PacketCtx {
    PacketCtx {
        src,
        ..PacketCtx::test_at(Ts((T0 * 1000 + ms) * 1_000_000))
    }
}

fn party(user: &str) -> Party {
    Party::from(PartyFields {
        display: None,
        user: Some(user.to_string()),
        host: "example.com".to_string(),
        tag: None,
    })
}

fn invite(ms: u64, src: IpAddr, from: &str, to: &str, call_id: &str) -> Msg {
    let mut m = super::tests::msg(ctx(ms, src));
    m.method = Some("INVITE".to_string());
    m.uri = Some(format!("sip:{to}@example.com"));
    m.call_id = Some(call_id.to_string());
    m.cseq = Some((1, "INVITE".to_string()));
    m.from = Some(party(from));
    m.to = Some(party(to));
    m
}

fn resp(r: &Msg, ms: u64, status: u16) -> Msg {
    let mut m = r.clone();
    m.ctx = PacketCtx {
        src: r.ctx.dst,
        dst: r.ctx.src,
        sport: r.ctx.dport,
        dport: r.ctx.sport,
        ..ctx(ms, r.ctx.dst)
    };
    m.method = None;
    m.status = Some(status);
    m
}

fn bye(r: &Msg, ms: u64) -> Msg {
    let mut m = r.clone();
    m.ctx.ts = ctx(ms, r.ctx.src).ts;
    m.method = Some("BYE".to_string());
    m.cseq = Some((2, "BYE".to_string()));
    m
}

fn quiet() -> DetectConfig {
    let mut c = DetectConfig::default();
    c.flood.src_all = 1_000_000;
    c.flood.src_invite = 1_000_000;
    c.flood.dst_all = 1_000_000;
    c.flood.dst_invite = 1_000_000;
    c.scanner.sweep_hosts = 1_000_000;
    c.scanner.enum_users = 1_000_000;
    c.scanner.no_response_count = 1_000_000;
    c.threshold.limit = 1_000_000;
    c
}

fn n(out: &[Finding], s: Signature) -> usize {
    out.iter().filter(|f| f.sig.id == s.id).count()
}

fn a() -> IpAddr {
    ip("198.51.100.7")
}

#[test]
fn signatures_are_numbered_named_and_categorised() {
    for (i, s) in FRAUD_SIGNATURES.iter().enumerate() {
        assert_eq!(s.id, 2_300_020 + i as u32);
        assert!(s.name.starts_with("VOIP-SENTINEL"));
        assert!(["toll-fraud", "caller-id"].contains(&s.category));
        assert!((1..=3).contains(&s.severity));
    }
    assert_eq!(FRAUD_BLOCKED.severity, 1);
    assert_eq!(FRAUD_PREMIUM.severity, 2);
    assert_eq!(CID_ATTEST_C.severity, 3);
    assert_eq!(CID_UNDECODABLE.severity, 2);
}

#[test]
fn normalisation() {
    let p = ["00".to_string(), "011".to_string()];
    let d = |s: &str| normalise(s, &p).map(|d| (d.digits, d.international));
    assert_eq!(d("+44 20 7946-0018"), Some(("442079460018".into(), true)));
    assert_eq!(d("0044(20)79460018"), Some(("442079460018".into(), true)));
    assert_eq!(d("01144207946"), Some(("44207946".into(), true)));
    assert_eq!(
        d("tel:+1-900-555-0100;phone-context=x"),
        Some(("19005550100".into(), true))
    );
    assert_eq!(
        d("sip:+8816123@gw.example;user=phone"),
        Some(("8816123".into(), true))
    );
    assert_eq!(
        d("<SIP:0207946.0018@h>"),
        Some(("02079460018".into(), false))
    );
    assert_eq!(d("1001"), Some(("1001".into(), false)));
    assert_eq!(d("alice"), None);
    assert_eq!(d("+"), None);
    assert_eq!(d(""), None);
    assert_eq!(d("00"), Some(("00".into(), false)));
    assert_eq!(
        normalise("01144", &["00".to_string()]).map(|d| d.international),
        Some(false)
    );
}

#[test]
fn shipped_plan_parses_and_longest_prefix_wins() {
    let plan = parse_plan(fraud::DEFAULT_PLAN).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(plan, DetectConfig::default().plan);
    let c = |d: &str| plan.classify(d).map(|x| (x.0.to_string(), x.1));
    assert_eq!(c("8816123456"), Some(("881".into(), Class::HighRisk)));
    assert_eq!(c("37190123456"), Some(("37190".into(), Class::Premium)));
    assert_eq!(c("37160123456"), None);
    assert_eq!(c("447012345678"), Some(("4470".into(), Class::HighRisk)));
    assert_eq!(c("449012345678"), Some(("449".into(), Class::Premium)));
    assert_eq!(c("19005550100"), Some(("1900".into(), Class::Premium)));
    assert_eq!(c("4990012345"), Some(("49900".into(), Class::Premium)));
    assert_eq!(c("112"), Some(("112".into(), Class::Emergency)));
    // emergency is whole-number only: Delhi +91 11 ... is not 911
    assert_eq!(c("911123456789"), None);
    let custom = parse_plan("44 national home\n4470 blocked\n").unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(custom.classify("447011").map(|x| x.1), Some(Class::Blocked));
    assert_eq!(
        custom.classify("442011").map(|x| x.1),
        Some(Class::National)
    );
}

#[test]
fn plan_errors_have_line_and_column() {
    let e = parse_plan("# ok\n  12a premium\n44 pricey x\n\n881\n+882 high-risk\n882 blocked\n1234567890123456 premium\n")
        .err()
        .unwrap_or_default();
    let got: Vec<(usize, usize)> = e.iter().map(|x| (x.0, x.1)).collect();
    assert_eq!(got, vec![(2, 3), (3, 4), (5, 4), (7, 1), (8, 1)], "{e:?}");
    assert!(e[0].2.contains("not E.164"));
    assert!(e[1].2.contains("unknown class `pricey`"));
    assert!(e[2].2.contains("without a class"));
    assert!(e[3].2.contains("twice"));
    assert!(e[4].2.contains("longer than 15"));
    assert!(DetectConfig::default().with_plan("x y").is_err());
    let c = DetectConfig::default()
        .with_plan("4470 blocked")
        .unwrap_or_default();
    assert_eq!(c.plan.entries.len(), 1);
}

#[test]
fn config_sections_parse_and_report_errors() {
    let c = DetectConfig::parse(
        "[fraud]\nintl_calls = 3\nbusiness_hours = 09:30-17:00\ntimezone_offset = -05:00\nbusiness_days = mon-wed, sat\n[callerid]\norg_names = Acme Corp, ACME\norg_prefixes = 4420, +4415\ntrusted_trunks = 10.0.0.0/8, 192.0.2.10\n",
    )
    .unwrap_or_default();
    assert_eq!(c.fraud.intl_calls, 3);
    assert_eq!(c.fraud.business.start, 570);
    assert_eq!(c.fraud.business.offset_min, -300);
    assert_eq!(c.fraud.business.days, 0b010_0111);
    assert_eq!(c.callerid.org_names, vec!["Acme Corp", "ACME"]);
    assert_eq!(c.callerid.org_prefixes, vec!["4420", "4415"]);
    assert_eq!(c.callerid.trusted_trunks.len(), 2);
    assert_eq!(DetectConfig::parse(&c.to_text()), Ok(c));
    let e = DetectConfig::parse(
        "[fraud]\nbusiness_hours = 8-18\nnope = 1\n[callerid]\ntrusted_trunks = 10.0.0.0/33\n",
    )
    .err()
    .unwrap_or_default();
    let got: Vec<(usize, usize)> = e.iter().map(|x| (x.0, x.1)).collect();
    assert_eq!(got, vec![(2, 18), (3, 1), (5, 18)], "{e:?}");
}

/// Calls to `to` numbers, one per 100 ms from `src` / `from`.
fn calls(d: &mut Detectors, k: usize, src: IpAddr, from: &str, to: &str, out: &mut Vec<Finding>) {
    for i in 0..k {
        let m = invite(i as u64 * 100, src, from, to, &format!("{from}-{to}-{i}"));
        d.on_message(&m, false, out);
    }
}

#[test]
fn destination_classes() {
    let mut c = quiet();
    c.plan =
        parse_plan("8816 blocked\n881 high-risk\n449 premium\n44 national\n").unwrap_or_default();
    c.threshold.limit = 1;
    let mut d = Detectors::new(c);
    let mut out = Vec::new();
    calls(&mut d, 3, a(), "100", "+88161234", &mut out);
    calls(&mut d, 3, a(), "100", "0088171234", &mut out);
    calls(&mut d, 3, a(), "100", "+449012345", &mut out);
    calls(&mut d, 3, a(), "100", "+442079460018", &mut out);
    // retransmission: not counted
    let m = invite(0, a(), "100", "+88161234", "retx");
    d.on_message(&m, true, &mut out);
    assert_eq!(n(&out, FRAUD_BLOCKED), 3, "blocked alerts on each call");
    assert_eq!(n(&out, FRAUD_HIGH_RISK), 1, "limited per source");
    assert_eq!(n(&out, FRAUD_PREMIUM), 1);
    let f = out.iter().find(|f| f.sig.id == FRAUD_BLOCKED.id);
    assert_eq!(
        f.map(|f| f.evidence["class"].clone()),
        Some("blocked".into())
    );
}

#[test]
fn international_burst_per_account_and_source() {
    let mut d = Detectors::new(quiet());
    let mut out = Vec::new();
    calls(&mut d, 9, a(), "100", "+33123456789", &mut out);
    assert_eq!(n(&out, FRAUD_INTL_ACCOUNT), 0);
    assert_eq!(n(&out, FRAUD_INTL_SOURCE), 0);
    // national calls do not count
    calls(&mut d, 5, a(), "100", "0123456789", &mut out);
    assert_eq!(n(&out, FRAUD_INTL_ACCOUNT), 0);
    let m = invite(950, a(), "100", "0033123456789", "tenth");
    d.on_message(&m, false, &mut out);
    assert_eq!(n(&out, FRAUD_INTL_ACCOUNT), 1);
    assert_eq!(n(&out, FRAUD_INTL_SOURCE), 1);
    // home country excluded
    let mut c = quiet();
    c.fraud.home_country = "33".into();
    let mut d = Detectors::new(c);
    let mut out = Vec::new();
    calls(&mut d, 20, a(), "100", "+33123456789", &mut out);
    assert_eq!(n(&out, FRAUD_INTL_ACCOUNT), 0);
}

/// `k` calls answered from `src` / `from`; the INVITEs returned.
fn answered(
    d: &mut Detectors,
    k: usize,
    src: IpAddr,
    from: &str,
    to: &str,
    out: &mut Vec<Finding>,
) -> Vec<Msg> {
    let mut v = Vec::new();
    for i in 0..k {
        let m = invite(
            i as u64 * 100,
            src,
            from,
            to,
            &format!("ans-{from}-{src}-{i}"),
        );
        d.on_message(&m, false, out);
        d.on_message(&resp(&m, i as u64 * 100 + 50, 200), false, out);
        d.on_message(&resp(&m, i as u64 * 100 + 60, 200), true, out); // retransmitted 200
        v.push(m);
    }
    v
}

#[test]
fn concurrent_calls_above_the_limit() {
    let mut d = Detectors::new(quiet());
    let mut out = Vec::new();
    let v = answered(&mut d, 10, a(), "100", "200", &mut out);
    assert_eq!(n(&out, FRAUD_CONCURRENT_ACCOUNT), 0);
    assert_eq!(n(&out, FRAUD_CONCURRENT_SOURCE), 0);
    // one ends, one more: still 10
    d.on_message(&bye(&v[0], 20_000), false, &mut out);
    let m = invite(21_000, a(), "100", "200", "x1");
    d.on_message(&m, false, &mut out);
    d.on_message(&resp(&m, 21_100, 200), false, &mut out);
    assert_eq!(n(&out, FRAUD_CONCURRENT_ACCOUNT), 0);
    // the 11th at once
    let m = invite(22_000, a(), "100", "200", "x2");
    d.on_message(&m, false, &mut out);
    d.on_message(&resp(&m, 22_100, 200), false, &mut out);
    assert_eq!(n(&out, FRAUD_CONCURRENT_ACCOUNT), 1);
    assert_eq!(n(&out, FRAUD_CONCURRENT_SOURCE), 1);
    let f = out.iter().find(|f| f.sig.id == FRAUD_CONCURRENT_ACCOUNT.id);
    assert_eq!(
        f.map(|f| f.evidence["concurrent_calls"].clone()),
        Some(11.into())
    );
}

#[test]
fn concurrent_calls_through_one_trunk() {
    let mut cfg = quiet();
    cfg.fraud.max_concurrent = 1_000;
    cfg.fraud.max_concurrent_trunk = 3;
    let mut d = Detectors::new(cfg);
    let mut out = Vec::new();
    // three callers, one call each, all towards the same server: 3 up
    let mut v = Vec::new();
    for (i, src) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .iter()
        .enumerate()
    {
        v.extend(answered(
            &mut d,
            1,
            ip(src),
            &format!("u{i}"),
            "200",
            &mut out,
        ));
    }
    assert_eq!(n(&out, FRAUD_CONCURRENT_TRUNK), 0);
    // one ends, one more: still 3
    d.on_message(&bye(&v[0], 20_000), false, &mut out);
    let m = invite(21_000, ip("198.51.100.4"), "u4", "200", "t1");
    d.on_message(&m, false, &mut out);
    d.on_message(&resp(&m, 21_100, 200), false, &mut out);
    assert_eq!(n(&out, FRAUD_CONCURRENT_TRUNK), 0);
    // a fourth at once (decided on the callee's 200)
    let m = invite(22_000, ip("198.51.100.5"), "u5", "200", "t2");
    d.on_message(&m, false, &mut out);
    d.on_message(&resp(&m, 22_100, 200), false, &mut out);
    let f: Vec<_> = out
        .iter()
        .filter(|f| f.sig.id == FRAUD_CONCURRENT_TRUNK.id)
        .collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence["concurrent_calls"], 4);
    assert_eq!(f[0].evidence["source"], "198.51.100.5");
    assert_eq!(n(&out, FRAUD_CONCURRENT_SOURCE), 0);
    // off (0) by default
    assert_eq!(DetectConfig::default().fraud.max_concurrent_trunk, 0);
}

#[test]
fn short_calls_from_one_source() {
    let mut d = Detectors::new(quiet());
    let mut out = Vec::new();
    let v = answered(&mut d, 20, a(), "100", "200", &mut out);
    for (i, m) in v.iter().enumerate().take(19) {
        d.on_message(&bye(m, i as u64 * 100 + 5_000), false, &mut out);
    }
    assert_eq!(n(&out, FRAUD_SHORT_CALLS), 0);
    // a long one does not count
    let long = answered(&mut d, 1, ip("203.0.113.1"), "x", "y", &mut out);
    d.on_message(&bye(&long[0], 60_000), false, &mut out);
    d.on_message(&bye(&v[19], 9_000), false, &mut out);
    assert_eq!(n(&out, FRAUD_SHORT_CALLS), 1);
}

/// The dialling context: only numbers whose country can be told are E.164.
#[test]
fn dialling_context() {
    let mut cfg = super::fraud::FraudConfig::default();
    let ctx = |cfg: &super::fraud::FraudConfig, raw: &str| {
        let d = normalise(raw, &cfg.international_prefix).unwrap();
        in_context(&d, cfg)
    };
    assert_eq!(ctx(&cfg, "225"), (DialledAs::Extension, None));
    assert_eq!(ctx(&cfg, "123456"), (DialledAs::Extension, None));
    assert_eq!(ctx(&cfg, "2252012345"), (DialledAs::Local, None));
    assert_eq!(
        ctx(&cfg, "+2252012345"),
        (DialledAs::International, Some("2252012345".into()))
    );
    assert_eq!(
        ctx(&cfg, "002252012345"),
        (DialledAs::International, Some("2252012345".into()))
    );
    // national prefix without a home country: nothing to map it to
    assert_eq!(ctx(&cfg, "09098790000"), (DialledAs::Local, None));
    // the UK
    cfg.home_country = "44".into();
    cfg.national_prefix = "0".into();
    assert_eq!(
        ctx(&cfg, "0909 879 0000"),
        (DialledAs::National, Some("449098790000".into()))
    );
    assert_eq!(ctx(&cfg, "999"), (DialledAs::Extension, None));
    // NANP: 1 is both the country code and the national prefix
    cfg.home_country = "1".into();
    cfg.national_prefix = "1".into();
    assert_eq!(
        ctx(&cfg, "19005550123"),
        (DialledAs::National, Some("19005550123".into()))
    );
    assert_eq!(ctx(&cfg, "5550123"), (DialledAs::Local, None));
    cfg.extension_digits = 0;
    assert_eq!(ctx(&cfg, "225"), (DialledAs::Local, None));
}

/// An extension walk (SIPVicious svwar dials 200..230) is no toll fraud and no dial-prefix
/// probing, though 225 is Cote d'Ivoire's country code; the same digits in international format
/// are; an emergency number dialled as a short code is still recognised (and never alerted).
#[test]
fn extensions_are_no_countries() {
    let mut d = Detectors::new(quiet());
    let mut out = Vec::new();
    for ext in 200..231u64 {
        let m = invite(ext * 100, a(), "100", &ext.to_string(), &format!("x{ext}"));
        d.on_message(&m, false, &mut out);
        d.on_message(&resp(&m, ext * 100 + 50, 404), false, &mut out);
    }
    assert_eq!(n(&out, FRAUD_HIGH_RISK), 0, "{out:?}");
    assert_eq!(n(&out, FRAUD_PROBING), 0, "{out:?}");
    calls(&mut d, 1, a(), "100", "+2252012345", &mut out);
    assert_eq!(n(&out, FRAUD_HIGH_RISK), 1);
    let f = out.iter().find(|f| f.sig.id == FRAUD_HIGH_RISK.id).unwrap();
    assert_eq!(f.evidence["dialled"], "+2252012345");
    assert_eq!(f.evidence["dialled_as"], "international");
    assert_eq!(f.evidence["number"], "2252012345");
    assert_eq!(f.evidence["prefix"], "225");
}

#[test]
fn dial_prefix_probing() {
    let mut d = Detectors::new(quiet());
    let mut out = Vec::new();
    let fail = |d: &mut Detectors, i: u64, to: &str, status: u16, out: &mut Vec<Finding>| {
        let m = invite(i * 100, a(), "100", to, &format!("p{i}"));
        d.on_message(&m, false, out);
        d.on_message(&resp(&m, i * 100 + 50, status), false, out);
    };
    for i in 0..9u64 {
        fail(&mut d, i, &format!("+{}1234567", 3310 + i), 404, &mut out);
    }
    // the same prefix again, a cancelled call, and a success: not new failed prefixes
    fail(&mut d, 20, "+33101111111", 503, &mut out);
    fail(&mut d, 21, "+55551234567", 487, &mut out);
    fail(&mut d, 22, "+66661234567", 200, &mut out);
    // the called party reached (busy, away, declined), or a challenge: the route works
    for (i, status) in [480u16, 486, 600, 603, 401, 407].into_iter().enumerate() {
        let to = format!("+{}1234567", 4410 + i);
        fail(&mut d, 23 + i as u64, &to, status, &mut out);
    }
    assert_eq!(n(&out, FRAUD_PROBING), 0);
    fail(&mut d, 30, "+77771234567", 484, &mut out);
    assert_eq!(n(&out, FRAUD_PROBING), 1);
}

/// A forking proxy's busy branch (its 486 to the proxy) does not end the call for the fraud
/// detectors: the other branch answers, and the answered calls count as up.
#[test]
fn a_busy_branch_does_not_end_a_forked_call() {
    let mut cfg = quiet();
    cfg.fraud.max_concurrent = 1;
    let mut d = Detectors::new(cfg);
    let mut out = Vec::new();
    let proxy = ip("192.0.2.1");
    for i in 0..2u64 {
        let m = invite(i * 100, a(), "100", "+33101234567", &format!("f{i}"));
        d.on_message(&m, false, &mut out);
        for (k, status) in [(1u64, 486u16), (2, 200)] {
            let mut branch = m.clone();
            branch.ctx = ctx(i * 100 + k * 10, proxy);
            branch.ctx.dst = ip(&format!("203.0.113.{k}"));
            d.on_message(&branch, false, &mut out);
            d.on_message(
                &resp(&branch, i * 100 + k * 10 + 5, status),
                false,
                &mut out,
            );
        }
        d.on_message(&resp(&m, i * 100 + 50, 200), false, &mut out);
    }
    assert_eq!(n(&out, FRAUD_CONCURRENT_ACCOUNT), 1, "{out:?}");
    assert_eq!(n(&out, FRAUD_PROBING), 0, "{out:?}");
}

/// A challenged INVITE sent again with credentials is one call: refused after that, it counts
/// once; decided by the response on the proxy's other leg, the alert names the caller.
#[test]
fn a_challenged_call_is_one_probe_and_the_caller_is_its_source() {
    let mut d = Detectors::new(quiet());
    let mut out = Vec::new();
    let proxy = ip("192.0.2.1");
    let carrier = ip("203.0.113.9");
    for i in 0..10u64 {
        let cid = format!("c{i}");
        let to = format!("+{}1234567", 3310 + i);
        let m = invite(i * 100, a(), "100", &to, &cid);
        d.on_message(&m, false, &mut out);
        d.on_message(&resp(&m, i * 100 + 10, 407), false, &mut out);
        let mut retry = m.clone();
        retry.ctx = ctx(i * 100 + 20, a());
        retry.cseq = Some((2, "INVITE".to_string()));
        d.on_message(&retry, false, &mut out);
        // the proxy relays it to the carrier, which refuses it
        let mut relayed = retry.clone();
        relayed.ctx = ctx(i * 100 + 30, proxy);
        relayed.ctx.dst = carrier;
        d.on_message(&relayed, false, &mut out);
        d.on_message(&resp(&relayed, i * 100 + 40, 404), false, &mut out);
        d.on_message(&resp(&retry, i * 100 + 50, 404), false, &mut out);
    }
    let probes: Vec<_> = out
        .iter()
        .filter(|f| f.sig.id == FRAUD_PROBING.id)
        .collect();
    assert_eq!(probes.len(), 1, "{out:?}");
    assert_eq!(probes[0].evidence["distinct_prefixes"], 10);
    // raised on the proxy's 404 to the caller: the caller is the source
    let f = probes[0];
    assert_eq!(
        (f.ctx.src, f.ctx.dst, f.reversed),
        (proxy, a(), true),
        "{f:?}"
    );
}

#[test]
fn baseline_rate() {
    let mut c = quiet();
    c.fraud.baseline_learn_hours = 3;
    let mut d = Detectors::new(c);
    let mut out = Vec::new();
    // one call an hour for 3 hours: baseline 1/h
    for h in 0..3u64 {
        let m = invite(h * 3_600_000, a(), "100", "200", &format!("b{h}"));
        d.on_message(&m, false, &mut out);
    }
    let start = 3 * 3_600_000 + 1000;
    for i in 0..19u64 {
        let m = invite(start + i * 1000, a(), "100", "200", &format!("r{i}"));
        d.on_message(&m, false, &mut out);
    }
    assert_eq!(n(&out, FRAUD_BASELINE), 0, "below the minimum of 20 calls");
    let m = invite(start + 19_500, a(), "100", "200", "r19");
    d.on_message(&m, false, &mut out);
    assert_eq!(n(&out, FRAUD_BASELINE), 1);
    // not learned yet: no alert
    let mut d = Detectors::new(quiet());
    let mut out = Vec::new();
    calls(&mut d, 50, a(), "100", "200", &mut out);
    assert_eq!(n(&out, FRAUD_BASELINE), 0);
}

#[test]
fn baseline_without_learning() {
    // baseline_learn_hours = 0: a new account's baseline is 0 calls/h, so its first
    // baseline_min_calls calls within the window alert (once).
    let mut c = quiet();
    c.fraud.baseline_learn_hours = 0;
    let mut d = Detectors::new(c);
    let mut out = Vec::new();
    for i in 0..19u64 {
        let m = invite(i * 1000, a(), "100", "200", &format!("n{i}"));
        d.on_message(&m, false, &mut out);
    }
    assert_eq!(n(&out, FRAUD_BASELINE), 0, "below the minimum of 20 calls");
    let m = invite(19_000, a(), "100", "200", "n19");
    d.on_message(&m, false, &mut out);
    assert_eq!(n(&out, FRAUD_BASELINE), 1);
    // and detectors.conf accepts 0
    let cfg = DetectConfig::parse("[fraud]\nbaseline_learn_hours = 0\n").unwrap();
    assert_eq!(cfg.fraud.baseline_learn_hours, 0);
}

#[test]
fn after_hours() {
    // T0 is Tue 22:13 UTC = 23:13 at +01:00: after hours
    let mut c = quiet();
    let mut d = Detectors::new(c.clone());
    let mut out = Vec::new();
    calls(&mut d, 1, a(), "100", "200", &mut out);
    assert_eq!(n(&out, FRAUD_AFTER_HOURS), 0, "off by default");
    c.fraud.after_hours = 1;
    let mut d = Detectors::new(c.clone());
    calls(&mut d, 1, a(), "100", "200", &mut out);
    assert_eq!(n(&out, FRAUD_AFTER_HOURS), 1);
    // at -10:00 it is 12:13 on Tuesday: business hours
    c.fraud.business.offset_min = -600;
    let mut d = Detectors::new(c.clone());
    let mut out = Vec::new();
    calls(&mut d, 1, a(), "100", "200", &mut out);
    assert_eq!(n(&out, FRAUD_AFTER_HOURS), 0);
    // the same time on a day not listed
    c.fraud.business.days = 0b001_1101; // no Tuesday
    let mut d = Detectors::new(c);
    calls(&mut d, 1, a(), "100", "200", &mut out);
    assert_eq!(n(&out, FRAUD_AFTER_HOURS), 1);
}

#[test]
fn long_calls_to_premium() {
    let mut d = Detectors::new(quiet());
    let mut out = Vec::new();
    let v = answered(&mut d, 2, a(), "100", "+88161234", &mut out);
    d.expire(ctx(599_000, a()).ts, &mut out);
    assert_eq!(n(&out, FRAUD_LONG_CALL), 0);
    d.expire(ctx(600_200, a()).ts, &mut out);
    assert_eq!(n(&out, FRAUD_LONG_CALL), 2, "both still up after 600 s");
    d.on_message(&bye(&v[0], 700_000), false, &mut out);
    assert_eq!(n(&out, FRAUD_LONG_CALL), 2, "once per call");
    // BYE after > 600 s, before any tick
    let mut d = Detectors::new(quiet());
    let mut out = Vec::new();
    let v = answered(&mut d, 2, a(), "100", "+449012345", &mut out);
    d.on_message(&bye(&v[0], 599_000), false, &mut out);
    d.on_message(&bye(&v[1], 601_000), false, &mut out);
    assert_eq!(n(&out, FRAUD_LONG_CALL), 1);
    // not premium: never
    let mut d = Detectors::new(quiet());
    let mut out = Vec::new();
    answered(&mut d, 1, a(), "100", "+33123456789", &mut out);
    d.expire(ctx(700_000, a()).ts, &mut out);
    assert_eq!(n(&out, FRAUD_LONG_CALL), 0);
}

// ----- caller ID -----

fn b64url(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::new();
    for ch in data.chunks(3) {
        let b = [ch[0], *ch.get(1).unwrap_or(&0), *ch.get(2).unwrap_or(&0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=ch.len() {
            s.push(char::from(A[((v >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    s
}

fn passport(attest: &str, orig: &str, dest: &str) -> String {
    let h = r#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.example.org/sp.pem"}"#;
    let p = format!(
        r#"{{"attest":"{attest}","dest":{{"tn":["{dest}"]}},"iat":{T0},"orig":{{"tn":"{orig}"}},"origid":"123e4567-e89b-12d3-a456-426655440000"}}"#
    );
    format!(
        "{}.{}.MEUCIQCk0fakesignature;info=<https://cert.example.org/sp.pem>;alg=ES256;ppt=shaken",
        b64url(h.as_bytes()),
        b64url(p.as_bytes())
    )
}

#[test]
fn base64url_round_trip() {
    for s in [
        "",
        "f",
        "fo",
        "foo",
        "foob",
        "fooba",
        "foobar",
        "\u{ff}\u{fe}?>",
    ] {
        assert_eq!(
            b64url_decode(&b64url(s.as_bytes())),
            Some(s.as_bytes().to_vec())
        );
    }
    assert_eq!(b64url_decode("Zg=="), Some(b"f".to_vec()));
    assert_eq!(b64url_decode("Z"), None);
    assert_eq!(b64url_decode("a b"), None);
}

#[test]
fn passport_decodes() {
    let pp = decode_passport(&passport("A", "12025551000", "12155551001"));
    let pp = pp.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pp.attest.as_deref(), Some("A"));
    assert_eq!(pp.orig_tn.as_deref(), Some("12025551000"));
    assert_eq!(pp.dest_tn, vec!["12155551001".to_string()]);
    assert_eq!(pp.iat, Some(T0 as i64));
    assert_eq!(pp.alg.as_deref(), Some("ES256"));
    assert!(pp.origid.is_some());
}

#[test]
fn garbage_identity_never_panics() {
    let mut d = Detectors::new(quiet());
    let mut out = Vec::new();
    let long = "a".repeat(100_000);
    let junk = [
        "",
        ".",
        "..",
        "...",
        "a.b.c",
        "\u{0}.\u{ff}.x",
        ";;;",
        "eyJ.eyJ.",
        "%%%.%%%.%%%",
        &long,
        "e30.e30.x",
        "W10.W10.x",
        "bnVsbA.bnVsbA.x",
        "ééé.ééé.é",
    ];
    let mut i = 0;
    for j in junk {
        i += 1;
        assert!(decode_passport(j).is_err(), "{j}");
        let mut m = invite(i, a(), "100", "200", &format!("g{i}"));
        m.identity = Some(j.to_string());
        d.on_message(&m, false, &mut out);
    }
    for k in 0..2000u32 {
        let bytes: Vec<u8> = (0..(k % 97)).map(|x| (x * 31 + k * 7) as u8).collect();
        let s = String::from_utf8_lossy(&bytes).to_string();
        let _ = decode_passport(&s);
        let _ = decode_passport(&format!("{}.{}.x", b64url(&bytes), b64url(s.as_bytes())));
        let _ = malformed_reason(&s);
        let _ = normalise(&s, &["00".to_string()]);
    }
    assert!(n(&out, CID_UNDECODABLE) >= 1);
}

fn cid_cfg() -> DetectConfig {
    let mut c = quiet();
    c = DetectConfig::parse(&format!(
        "{}\n[callerid]\norg_names = Acme Corp, ACME\norg_prefixes = 4420, 4415\ntrusted_trunks = 10.0.0.0/8, 192.0.2.10\n",
        c.to_text()
    ))
    .unwrap_or(c);
    c
}

#[test]
fn shaken_checks() {
    let mut d = Detectors::new(cid_cfg());
    let mut out = Vec::new();
    let mut call =
        |i: u64, from: &str, to: &str, identity: Option<String>, out: &mut Vec<Finding>| {
            let mut m = invite(i, ip("10.1.1.1"), from, to, &format!("s{i}"));
            m.identity = identity;
            d.on_message(&m, false, out);
        };
    call(
        1,
        "+12025551000",
        "+12155551001",
        Some(passport("A", "12025551000", "12155551001")),
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
    call(
        2,
        "+12025551000",
        "+12155551001",
        Some(passport("B", "12025551000", "12155551001")),
        &mut out,
    );
    assert_eq!(n(&out, CID_ATTEST_B), 1);
    call(
        3,
        "+12025551000",
        "+12155551001",
        Some(passport("C", "12025551000", "12155551001")),
        &mut out,
    );
    assert_eq!(n(&out, CID_ATTEST_C), 1);
    let f = out.iter().find(|f| f.sig.id == CID_ATTEST_C.id);
    let ev = f.map(|f| f.evidence.clone()).unwrap_or_default();
    assert_eq!(ev["passport"]["attest"], "C");
    assert_eq!(ev["passport"]["orig_tn"], "12025551000");
    assert_eq!(ev["passport"]["dest_tn"][0], "12155551001");
    assert_eq!(ev["passport"]["signature_verified"], false);
    call(
        4,
        "+12025559999",
        "+12155551001",
        Some(passport("A", "12025551000", "12155551001")),
        &mut out,
    );
    assert_eq!(n(&out, CID_ORIG_MISMATCH), 1);
    call(
        5,
        "+12025551000",
        "+12155550000",
        Some(passport("A", "12025551000", "12155551001")),
        &mut out,
    );
    assert_eq!(n(&out, CID_DEST_MISMATCH), 1);
    call(
        6,
        "+12025551000",
        "+12155551001",
        Some("not-a-passport".into()),
        &mut out,
    );
    assert_eq!(n(&out, CID_UNDECODABLE), 1);
    assert_eq!(d.stats().passports_decoded, 5);
    assert_eq!(d.stats().passports_undecodable, 1);
}

#[test]
fn identity_required_only_when_configured_and_untrusted() {
    let mut c = cid_cfg();
    let mut d = Detectors::new(c.clone());
    let mut out = Vec::new();
    d.on_message(
        &invite(1, a(), "+12025551000", "200", "i1"),
        false,
        &mut out,
    );
    assert_eq!(n(&out, CID_IDENTITY_MISSING), 0, "off by default");
    c.callerid.require_identity = 1;
    let mut d = Detectors::new(c);
    d.on_message(
        &invite(1, ip("192.0.2.10"), "+12025551000", "200", "i2"),
        false,
        &mut out,
    );
    assert_eq!(n(&out, CID_IDENTITY_MISSING), 0, "trusted trunk");
    d.on_message(
        &invite(2, a(), "+12025551000", "200", "i3"),
        false,
        &mut out,
    );
    assert_eq!(n(&out, CID_IDENTITY_MISSING), 1);
}

#[test]
fn pai_display_org_and_malformed() {
    let mut d = Detectors::new(cid_cfg());
    let mut out = Vec::new();
    let trunk = ip("10.2.3.4");
    // same number in national and international format: no mismatch
    let mut m = invite(1, trunk, "+442079460018", "200", "c1");
    m.pai = Some(party("02079460018"));
    d.on_message(&m, false, &mut out);
    assert_eq!(n(&out, CID_PAI_MISMATCH), 0);
    let mut m = invite(2, trunk, "+442079460018", "200", "c2");
    m.pai = Some(party("+447700900123"));
    d.on_message(&m, false, &mut out);
    assert_eq!(n(&out, CID_PAI_MISMATCH), 1);
    // display name of the organisation on an external number; on our number it is fine
    let mut m = invite(3, trunk, "+33123456789", "200", "c3");
    if let Some(f) = m.from.as_mut() {
        f.display = Some("ACME Support".into());
    }
    d.on_message(&m, false, &mut out);
    let mut m = invite(4, trunk, "+442012345678", "200", "c4");
    if let Some(f) = m.from.as_mut() {
        f.display = Some("acme corp".into());
    }
    d.on_message(&m, false, &mut out);
    assert_eq!(n(&out, CID_DISPLAY_ORG), 1);
    // our number from a trusted trunk: fine; from outside: alert
    assert_eq!(n(&out, CID_ORG_UNTRUSTED), 0);
    d.on_message(
        &invite(5, a(), "+441512345678", "200", "c5"),
        false,
        &mut out,
    );
    assert_eq!(n(&out, CID_ORG_UNTRUSTED), 1);
    // malformed numbers
    for (i, u) in ["+4420abc123", "1234567890123456", "+0441234567"]
        .iter()
        .enumerate()
    {
        d.on_message(
            &invite(10 + i as u64, trunk, u, "200", &format!("m{i}")),
            false,
            &mut out,
        );
    }
    for u in ["alice", "1001", "+442079460018", "*72"] {
        d.on_message(
            &invite(20, trunk, u, "200", &format!("ok{u}")),
            false,
            &mut out,
        );
    }
    assert_eq!(n(&out, CID_MALFORMED), 3);
    assert_eq!(
        malformed_reason("+0441234567"),
        Some("leading zero after +")
    );
}

#[test]
fn hundred_thousand_accounts_stay_within_caps() {
    let mut c = quiet();
    c.fraud.max_accounts = 1000;
    c.fraud.max_sources = 1000;
    c.fraud.max_calls = 1000;
    c.threshold.max_keys = 1000;
    let mut d = Detectors::new(c);
    let mut out = Vec::new();
    for i in 0..100_000u64 {
        let src = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i as u32));
        let m = invite(i, src, &format!("u{i}"), "+8816123", &format!("f{i}"));
        d.on_message(&m, false, &mut out);
        if i % 2 == 0 {
            d.on_message(&resp(&m, i + 1, 200), false, &mut out);
        }
        if i % 10_000 == 0 {
            d.expire(ctx(i, src).ts, &mut out);
        }
        out.clear();
    }
    let s = d.stats();
    assert!(s.fraud_accounts.entries <= 1000);
    assert!(s.fraud_sources.entries <= 1000);
    assert!(s.fraud_calls.entries <= 1000);
    assert!(s.limiter.entries <= 1000);
    assert!(s.fraud_accounts.evictions > 0);
    assert!(s.fraud_calls.evictions > 0);
}

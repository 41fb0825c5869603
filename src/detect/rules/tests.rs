use std::net::IpAddr;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::base::packet::Transport;
use crate::base::time::Ts;
use crate::sip::parser::parse_message;

fn ctx(src: &str, sport: u16, dst: &str, dport: u16) -> PacketCtx {
    PacketCtx {
        ts: Ts::ZERO,
        src: src.parse::<IpAddr>().unwrap(),
        dst: dst.parse::<IpAddr>().unwrap(),
        sport,
        dport,
        transport: Transport::Udp,
        vlan: None,
        flow_id: 0,
        agent: None,
    }
}

fn default_ctx() -> PacketCtx {
    ctx("203.0.113.7", 5070, "10.0.0.5", 5060)
}

fn shipped() -> RuleSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    match RuleSet::load(&dir) {
        Ok(s) => s,
        Err(errs) => {
            let all: Vec<String> = errs.iter().map(ToString::to_string).collect();
            panic!("shipped rules do not load:\n{}", all.join("\n"))
        }
    }
}

fn set(text: &str) -> RuleSet {
    set_vars(text, &Variables::new())
}

fn set_vars(text: &str, vars: &Variables) -> RuleSet {
    match RuleSet::parse_str("t.rules", text, vars) {
        Ok(r) => RuleSet::from_rules(r),
        Err(errs) => {
            let all: Vec<String> = errs.iter().map(ToString::to_string).collect();
            panic!("rules do not parse:\n{}", all.join("\n"))
        }
    }
}

fn errors(text: &str) -> Vec<String> {
    errors_vars(text, &Variables::new())
}

fn errors_vars(text: &str, vars: &Variables) -> Vec<String> {
    match RuleSet::parse_str("t.rules", text, vars) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

/// Sids of `set` matching `raw` (CRLF line ends added) seen with `c`.
fn sids_ctx(set: &RuleSet, raw: &str, c: &PacketCtx) -> Vec<u32> {
    let wire = raw.replace('\n', "\r\n");
    let (msg, _) = parse_message(wire.as_bytes()).expect("test message parses");
    let mut out = Vec::new();
    set.matches(&msg, c, &mut out);
    out.iter().map(|r| r.sid).collect()
}

fn sids(set: &RuleSet, raw: &str) -> Vec<u32> {
    sids_ctx(set, raw, &default_ctx())
}

const REGISTER_SCANNER: &str = "REGISTER sip:10.0.0.5 SIP/2.0
Via: SIP/2.0/UDP 203.0.113.7:5070;branch=z9hG4bK-1;rport
Max-Forwards: 70
To: \"100\"<sip:100@10.0.0.5>
From: \"100\"<sip:100@10.0.0.5>;tag=abc
User-Agent: friendly-scanner
Call-ID: 1234
Contact: sip:100@10.0.0.5
CSeq: 1 REGISTER
Content-Length: 0

";

const SVMAP_OPTIONS: &str = "OPTIONS sip:100@10.0.0.5 SIP/2.0
Via: SIP/2.0/UDP 203.0.113.7:5070;branch=z9hG4bK-2;rport
Max-Forwards: 70
To: \"sipvicious\"<sip:100@1.1.1.1>
From: \"sipvicious\"<sip:100@1.1.1.1>;tag=6162
User-Agent: friendly-scanner
Call-ID: 5678
Contact: sip:123@1.1.1.1
CSeq: 1 OPTIONS
Accept: application/sdp
Content-Length: 0

";

const NORMAL_INVITE: &str = "INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-3
Max-Forwards: 70
To: <sip:bob@example.com>
From: \"Alice\" <sip:alice@example.com>;tag=1
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:alice@10.0.0.9>
User-Agent: Linphone/5.2
Content-Length: 0

";

const OK_RESPONSE: &str = "SIP/2.0 200 OK
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-3
To: <sip:bob@example.com>;tag=2
From: \"Alice\" <sip:alice@example.com>;tag=1
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Server: friendly-scanner
Content-Length: 0

";

// ---------------------------------------------------------------------------
// The shipped rules
// ---------------------------------------------------------------------------

#[test]
fn shipped_rules_load() {
    let s = shipped();
    assert!(s.len() >= 30, "{} rules", s.len());
    for r in s.rules() {
        assert!((2_200_001..2_300_000).contains(&r.sid), "sid {}", r.sid);
        assert!(!r.msg.is_empty());
        assert!((1..=3).contains(&r.severity));
        assert!(r.file.ends_with("sip.rules"));
    }
    let r = s.by_sid(2_200_001).unwrap();
    assert_eq!(r.msg, "SIPVicious friendly-scanner User-Agent");
    assert_eq!(r.classtype.as_deref(), Some("scanner"));
    assert_eq!(r.category, "scanner");
    assert_eq!(r.rev, 1);
    assert_eq!(
        r.threshold,
        Some(Threshold {
            kind: ThresholdKind::Limit,
            track: Track::BySrc,
            count: 1,
            seconds: 300
        })
    );
    let head = crate::base::head::Head::new(&ctx("10.0.0.1", 5070, "10.0.0.2", 5060), "alert");
    let info = r.alert_info(&head);
    assert_eq!(info.signature_id, 2_200_001);
    assert_eq!((info.gid, info.rev), (1, 1));
    assert_eq!(info.category, "scanner");
    // no target option: the packet's destination is the target
    let side = |ip: &str, port| crate::detect::alert::Endpoint {
        ip: ip.parse().unwrap(),
        port,
    };
    assert_eq!(info.source, side("10.0.0.1", 5070));
    assert_eq!(info.target, side("10.0.0.2", 5060));
    // target:src_ip turns them round; anything else is an error
    let rules = RuleSet::parse_str(
        "t.rules",
        "alert sip any any -> any any (msg:\"m\"; target:src_ip; sid:7; rev:3;)",
        &Variables::new(),
    )
    .unwrap();
    let info = rules[0].alert_info(&head);
    assert_eq!(info.rev, 3);
    assert_eq!(info.source, side("10.0.0.2", 5060));
    assert_eq!(info.target, side("10.0.0.1", 5070));
    let errs = RuleSet::parse_str(
        "t.rules",
        "alert sip any any -> any any (msg:\"m\"; target:both; sid:7;)",
        &Variables::new(),
    )
    .unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        "t.rules:1:47: unknown target 'both': expected src_ip or dest_ip"
    );
}

#[test]
fn shipped_friendly_scanner_register() {
    assert_eq!(sids(&shipped(), REGISTER_SCANNER), vec![2_200_001]);
}

#[test]
fn shipped_svmap_options() {
    assert_eq!(
        sids(&shipped(), SVMAP_OPTIONS),
        vec![2_200_001, 2_200_014, 2_200_015, 2_200_016]
    );
}

#[test]
fn shipped_normal_traffic_is_quiet() {
    let s = shipped();
    assert!(sids(&s, NORMAL_INVITE).is_empty());
    // A response: no scanner rule looks at Server, nothing is missing.
    assert!(sids(&s, OK_RESPONSE).is_empty());
}

#[test]
fn shipped_scanner_user_agents() {
    let s = shipped();
    for (ua, sid) in [
        ("sipcli/v1.8", 2_200_002),
        ("sipsak 0.9.6", 2_200_003),
        ("VaxSIPUserAgent/3.1", 2_200_004),
        ("pplsip", 2_200_005),
        ("iWar", 2_200_006),
        ("sip-scan", 2_200_007),
        ("SIVuS_VoIP_Scanner", 2_200_008),
        ("smap 0.6.0", 2_200_009),
        ("Nmap NSE", 2_200_010),
        ("SIPPTS v4", 2_200_011),
        ("sundayddr", 2_200_012),
        ("PortSIP VoIP SDK 11.2", 2_200_013),
    ] {
        let m = NORMAL_INVITE.replace("Linphone/5.2", ua);
        assert_eq!(sids(&s, &m), vec![sid], "{ua}");
    }
}

#[test]
fn shipped_over_long_fields() {
    let s = shipped();
    let long = "a".repeat(300);
    let m = NORMAL_INVITE.replace("INVITE sip:bob@", &format!("INVITE sip:{long}@"));
    assert_eq!(sids(&s, &m), vec![2_200_020]);
    let m = NORMAL_INVITE.replace("a84b4c76e66710", &long);
    assert_eq!(sids(&s, &m), vec![2_200_021]);
    let m = NORMAL_INVITE.replace("\"Alice\"", &format!("\"{long}\""));
    assert_eq!(sids(&s, &m), vec![2_200_022]);
    let m = NORMAL_INVITE.replace("To: <sip:bob@", &format!("To: <sip:{long}@"));
    assert_eq!(sids(&s, &m), vec![2_200_023]);
    let m = NORMAL_INVITE.replace(
        "branch=z9hG4bK-3",
        &format!("branch=z9hG4bK-{}", "b".repeat(1100)),
    );
    assert_eq!(sids(&s, &m), vec![2_200_024]);
    let m = NORMAL_INVITE.replace("<sip:alice@10", &format!("<sip:{long}@10"));
    assert_eq!(sids(&s, &m), vec![2_200_025]);
    // Exactly at the limit: quiet.
    let at = "a".repeat(256 - "sip:@example.com".len());
    let m = NORMAL_INVITE.replace("INVITE sip:bob@", &format!("INVITE sip:{at}@"));
    assert!(sids(&s, &m).is_empty());
    let m = NORMAL_INVITE.replace("INVITE sip:", &format!("{} sip:", "X".repeat(21)));
    assert_eq!(sids(&s, &m), vec![2_200_026]);
}

#[test]
fn shipped_missing_headers() {
    let s = shipped();
    for (line, sid) in [
        ("Call-ID: a84b4c76e66710\n", 2_200_030),
        ("CSeq: 314159 INVITE\n", 2_200_031),
        ("From: \"Alice\" <sip:alice@example.com>;tag=1\n", 2_200_032),
        ("To: <sip:bob@example.com>\n", 2_200_033),
        (
            "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-3\n",
            2_200_034,
        ),
    ] {
        let m = NORMAL_INVITE.replace(line, "");
        assert_eq!(sids(&s, &m), vec![sid], "{line}");
    }
    // Compact form counts as present.
    let m = NORMAL_INVITE.replace("Call-ID:", "i:");
    assert!(sids(&s, &m).is_empty());
}

#[test]
fn shipped_max_forwards_zero_and_version() {
    let s = shipped();
    let m = NORMAL_INVITE.replace("Max-Forwards: 70", "Max-Forwards: 0");
    assert_eq!(sids(&s, &m), vec![2_200_040]);
    // OPTIONS with Max-Forwards 0 is legitimate.
    let m = m
        .replace("INVITE sip:bob", "OPTIONS sip:bob")
        .replace("314159 INVITE", "1 OPTIONS");
    assert!(sids(&s, &m).is_empty());
    let m = NORMAL_INVITE.replace("bob@example.com SIP/2.0", "bob@example.com SIP/3.0");
    assert_eq!(sids(&s, &m), vec![2_200_041]);
    let m = OK_RESPONSE
        .replace("SIP/2.0 200", "SIP/1.0 200")
        .replace("friendly-scanner", "x");
    assert_eq!(sids(&s, &m), vec![2_200_042]);
}

#[test]
fn shipped_svwar_capture() {
    let expected = 42; // tshark -Y 'sip.User-Agent contains "friendly-scanner"' | wc -l
    let s = shipped();
    let mut registers = 0;
    let mut hits = 0;
    let mut other = 0;
    for (transport, sport, dport, payload) in
        crate::decode::test_packets("public/sipvicious/svwar-register.pcap")
    {
        let Ok((msg, _)) = crate::sip::parser::parse_datagram(&payload) else {
            continue;
        };
        let c = PacketCtx {
            transport,
            ..ctx("127.0.0.1", sport, "127.0.0.10", dport)
        };
        let mut out = Vec::new();
        s.matches(&msg, &c, &mut out);
        let is_register = msg.method().is_some_and(|m| m.as_str() == "REGISTER");
        registers += usize::from(is_register);
        for r in out {
            if r.sid == 2_200_001 && is_register {
                hits += 1;
            } else {
                other += 1;
            }
        }
    }
    assert_eq!(registers, expected);
    assert_eq!(hits, expected);
    assert_eq!(other, 0);
}

/// Alerts per sid over a capture, requests and responses counted apart.
fn capture_hits(rel: &str) -> std::collections::BTreeMap<u32, usize> {
    let s = shipped();
    let mut hits = std::collections::BTreeMap::new();
    for (transport, sport, dport, payload) in crate::decode::test_packets(rel) {
        let Ok((msg, _)) = crate::sip::parser::parse_datagram(&payload) else {
            continue;
        };
        let c = PacketCtx {
            transport,
            ..ctx("127.0.0.1", sport, "127.0.0.10", dport)
        };
        let mut out = Vec::new();
        s.matches(&msg, &c, &mut out);
        for r in out {
            *hits.entry(r.sid).or_insert(0) += 1;
        }
    }
    hits
}

#[test]
fn shipped_svmap_capture() {
    // tshark -Y 'sip.User-Agent contains "friendly-scanner"': 73 INVITE + 32 OPTIONS;
    // tshark -Y 'sip.Request-Line && sip.from.display.info contains "sipvicious"': 350
    // (the 277 ACKs too), and the same 350 with sip.from.host == "1.1.1.1". The capture holds a
    // forwarding loop (INVITEs with Max-Forwards 70 down to 0, answered 483):
    // tshark -Y 'sip.Method == "INVITE" && sip.Max-Forwards == 0' gives 1.
    let hits = capture_hits("public/sipvicious/svmap-invite-svwar-options.pcap");
    let want: std::collections::BTreeMap<u32, usize> = [
        (2_200_001, 105),
        (2_200_014, 350),
        (2_200_016, 350),
        (2_200_040, 1),
    ]
    .into();
    assert_eq!(hits, want);
}

// ---------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------

#[test]
fn content_modifiers() {
    let s = set(r#"
alert sip any any -> any any (msg:"a"; sip.user_agent; content:"linphone"; sid:1;)
alert sip any any -> any any (msg:"b"; sip.user_agent; content:"linphone"; nocase; sid:2;)
alert sip any any -> any any (msg:"c"; sip.user_agent; content:"Linphone"; startswith; sid:3;)
alert sip any any -> any any (msg:"d"; sip.user_agent; content:"5.2"; endswith; sid:4;)
alert sip any any -> any any (msg:"e"; sip.user_agent; content:"Linphone/5.2"; equals; sid:5;)
alert sip any any -> any any (msg:"f"; sip.user_agent; content:"Linphone"; equals; sid:6;)
alert sip any any -> any any (msg:"g"; sip.user_agent; content:"|4c 69|nphone|2F|"; sid:7;)
alert sip any any -> any any (msg:"h"; sip.user_agent; content:!"Asterisk"; sid:8;)
alert sip any any -> any any (msg:"i"; sip.user_agent; content:!"Linphone"; sid:9;)
alert sip any any -> any any (msg:"j \"q\" \; k"; sip.user_agent; content:"5"; content:"Lin"; sid:10;)
alert sip any any -> any any (msg:"k"; sip.user_agent; content:"5.2"; startswith; sid:11;)
"#);
    assert_eq!(sids(&s, NORMAL_INVITE), vec![2, 3, 4, 5, 7, 8, 10]);
    assert_eq!(s.by_sid(10).unwrap().msg, "j \"q\" ; k");
}

#[test]
fn pcre_len_absent() {
    let s = set(r#"
alert sip any any -> any any (msg:"a"; sip.uri_user; pcre:"/^B[aeiou]b$/i"; sid:1;)
alert sip any any -> any any (msg:"b"; sip.uri_user; pcre:"/^B/"; sid:2;)
alert sip any any -> any any (msg:"c"; sip.uri_host; pcre:!"/\.org$/"; sid:3;)
alert sip any any -> any any (msg:"d"; sip.call_id; len:14; sid:4;)
alert sip any any -> any any (msg:"e"; sip.call_id; len:<14; sid:5;)
alert sip any any -> any any (msg:"f"; sip.call_id; len:>13; sid:6;)
alert sip any any -> any any (msg:"g"; sip.header:Subject; absent; sid:7;)
alert sip any any -> any any (msg:"h"; sip.header:Max-Forwards; absent; sid:8;)
alert sip any any -> any any (msg:"i"; sip.body; absent; sid:9;)
alert sip any any -> any any (msg:"j"; sip.start_line; content:"INVITE sip:bob@example.com SIP/2.0"; equals; sid:10;)
alert sip any any -> any any (msg:"k"; sip.from_display; content:"Alice"; equals; sip.from_user; content:"alice"; sip.to_host; content:"example.com"; sid:11;)
alert sip any any -> any any (msg:"l"; sip.uri_user; content:"bob"; sip.header:X-Nope; content:"x"; sid:12;)
"#);
    assert_eq!(sids(&s, NORMAL_INVITE), vec![1, 3, 4, 6, 7, 9, 10, 11]);
}

#[test]
fn every_header_occurrence_and_compact_forms() {
    let s = set(r#"
alert sip any any -> any any (msg:"a"; sip.header:via; content:"second"; sid:1;)
alert sip any any -> any any (msg:"b"; sip.header:v; content:"second"; sid:2;)
alert sip any any -> any any (msg:"c"; sip.header:Call-ID; content:"compact"; sid:3;)
alert sip any any -> any any (msg:"d"; sip.header:X-Custom; content:"yes"; sid:4;)
alert sip any any -> any any (msg:"e"; sip.via; content:"first"; content:"second"; sid:5;)
"#);
    let m = NORMAL_INVITE
        .replace(
            "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-3",
            "Via: SIP/2.0/UDP first;branch=z9hG4bK-3\nv: SIP/2.0/UDP second;branch=z9hG4bK-4",
        )
        .replace("Call-ID: a84b4c76e66710", "i: compact-1\nx-custom: yes");
    // sid 5 needs both words in one instance: each is in a different Via header.
    assert_eq!(sids(&s, &m), vec![1, 2, 3, 4]);
}

#[test]
fn method_status_flow_prefilter() {
    let s = set(r#"
alert sip any any -> any any (msg:"a"; sip.method:INVITE,BYE; sid:1;)
alert sip any any -> any any (msg:"b"; sip.method:invite; sid:2;)
alert sip any any -> any any (msg:"c"; sip.stat_code:2xx; sid:3;)
alert sip any any -> any any (msg:"d"; sip.stat_code:404,200; sid:4;)
alert sip any any -> any any (msg:"e"; flow:established,to_server; sid:5;)
alert sip any any -> any any (msg:"f"; flow:to_client; sid:6;)
alert sip any any -> any any (msg:"g"; sid:7;)
alert sip any any -> any any (msg:"h"; sip.stat_code:4xx; sid:8;)
"#);
    assert_eq!(sids(&s, NORMAL_INVITE), vec![1, 5, 7]);
    assert_eq!(sids(&s, OK_RESPONSE), vec![3, 4, 6, 7]);
    let bye = NORMAL_INVITE
        .replace("INVITE sip", "BYE sip")
        .replace("314159 INVITE", "2 BYE");
    assert_eq!(sids(&s, &bye), vec![1, 5, 7]);
    assert_eq!(s.by_sid(1).unwrap().flow(), Some(Flow::ToServer));
    assert_eq!(s.by_sid(1).unwrap().methods(), ["INVITE", "BYE"]);
}

#[test]
fn addresses_ports_and_variables() {
    let mut vars = Variables::new();
    vars.set("HOME_NET", "[10.0.0.0/8, 192.168.0.0/16, 2001:db8::/32]");
    vars.set("EXTERNAL_NET", "!$HOME_NET");
    vars.set("SIP_PORTS", "[5060, 5061]");
    let s = set_vars(
        r#"
alert sip $EXTERNAL_NET any -> $HOME_NET $SIP_PORTS (msg:"a"; sid:1;)
alert sip $HOME_NET any -> any any (msg:"b"; sid:2;)
alert sip any any <> 203.0.113.0/24 any (msg:"c"; sid:3;)
alert sip any 5000:5100 -> any !5060 (msg:"d"; sid:4;)
alert sip [10.0.0.0/8, !10.0.0.5] any -> any any (msg:"e"; sid:5;)
alert sip any any -> [!10.0.0.5, !10.0.0.6] any (msg:"f"; sid:6;)
alert sip any any -> 10.0.0.5 [:1024, 5060:] (msg:"g"; sid:7;)
alert sip any any -> 2001:db8::1 any (msg:"h"; sid:8;)
"#,
        &vars,
    );
    let c = default_ctx(); // 203.0.113.7:5070 -> 10.0.0.5:5060
    assert_eq!(sids_ctx(&s, NORMAL_INVITE, &c), vec![1, 3, 7]);
    let back = ctx("10.0.0.5", 5060, "203.0.113.7", 5070);
    // 5 excludes 10.0.0.5 from its source list.
    assert_eq!(sids_ctx(&s, NORMAL_INVITE, &back), vec![2, 3, 4, 6]);
    let v6 = ctx("2001:db8::2", 5060, "2001:db8::1", 5061);
    assert_eq!(sids_ctx(&s, NORMAL_INVITE, &v6), vec![2, 4, 6, 8]);
    let mapped = ctx("::ffff:10.1.2.3", 5060, "::ffff:8.8.8.8", 5061);
    assert_eq!(sids_ctx(&s, NORMAL_INVITE, &mapped), vec![2, 4, 5, 6]);
}

#[test]
fn continuation_lines_and_comments() {
    let rules = RuleSet::parse_str(
        "t.rules",
        "# comment\n\n   # indented comment\nalert sip any any -> any any (msg:\"a\"; \\\n   sid:7; \\\n  rev:3;)\nalert sip any any -> any any (msg:\"b\"; sid:8;)\n",
        &Variables::new(),
    )
    .unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!((rules[0].sid, rules[0].rev, rules[0].line), (7, 3, 4));
    assert_eq!((rules[1].sid, rules[1].line), (8, 7));
    // An error on a continuation line points at that line.
    let e = errors("alert sip any any -> any any (msg:\"a\"; \\\n  sid:7; bogus;)\n");
    assert_eq!(e, vec!["t.rules:2:10: unknown option 'bogus'"]);
}

#[test]
fn threshold_variants() {
    let s = set(r#"
alert sip any any -> any any (msg:"a"; sid:1; threshold: type threshold, track by_dst, count 10, seconds 60;)
alert sip any any -> any any (msg:"b"; sid:2; threshold:type both,track by_rule,count 5,seconds 1;)
"#);
    assert_eq!(
        s.by_sid(1).unwrap().threshold,
        Some(Threshold {
            kind: ThresholdKind::Threshold,
            track: Track::ByDst,
            count: 10,
            seconds: 60
        })
    );
    assert_eq!(
        s.by_sid(2).unwrap().threshold.map(|t| (t.kind, t.track)),
        Some((ThresholdKind::Both, Track::ByRule))
    );
    assert!(s.by_sid(2).unwrap().groups().is_empty());
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

#[test]
fn error_wording() {
    let cases: &[(&str, &str)] = &[
        (
            r#"alert sip any any -> any any (msg:"a"; sid:1; foo:bar;)"#,
            "t.rules:1:47: unknown option 'foo'",
        ),
        (
            r#"alert sip any any -> any any (msg:"x";)"#,
            "t.rules:1:30: missing sid",
        ),
        (
            r#"alert sip any any -> any any (msg:"a"; sid:1; severity:4;)"#,
            "t.rules:1:56: severity 4 out of range 1..=3",
        ),
        (
            r#"alert sip 10.0.0.0/33 any -> any any (msg:"a"; sid:1;)"#,
            "t.rules:1:11: bad CIDR '10.0.0.0/33': prefix length must be 0..=32",
        ),
        (
            r#"alert sip 10.0.0.300 any -> any any (msg:"a"; sid:1;)"#,
            "t.rules:1:11: bad address '10.0.0.300': not an IP address, CIDR, list or variable",
        ),
        (
            r#"alert sip $HOME_NET any -> any any (msg:"a"; sid:1;)"#,
            "t.rules:1:11: unknown variable $HOME_NET",
        ),
        (
            r#"alert sip any any -> any 70000 (msg:"a"; sid:1;)"#,
            "t.rules:1:26: bad port '70000': out of range 0..=65535",
        ),
        (
            r#"alert sip any any -> any any (msg:"a"; sid:1; sip.uri; nocase;)"#,
            "t.rules:1:56: 'nocase' must follow a content match",
        ),
        (
            r#"alert sip any any -> any any (msg:"a"; sid:1; sip.uri; pcre:"/a/q";)"#,
            "t.rules:1:61: pcre: unknown flag 'q'",
        ),
        (
            r#"alarm sip any any -> any any (msg:"a"; sid:1;)"#,
            "t.rules:1:1: unknown action 'alarm': expected alert, drop or reject",
        ),
        (
            r#"alert sip any any -> any any (msg:"a"; sid:1; sip.uri; sip.via; content:"x";)"#,
            "t.rules:1:47: sticky buffer is not followed by a match",
        ),
        (
            r#"alert sip any any -> any any (msg:"a"; sid:1; sip.uri; content:"|4"; )"#,
            "t.rules:1:64: content: bad hex bytes '|4|' in content",
        ),
    ];
    for (rule, want) in cases {
        assert_eq!(errors(rule), vec![want.to_string()], "{rule}");
    }
}

#[test]
fn bad_regex_is_named() {
    let e =
        errors(r#"alert sip any any -> any any (msg:"a"; sid:1; sip.uri; pcre:"/(unclosed/";)"#);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("t.rules:1:61: bad regex '(unclosed': "),
        "{}",
        e[0]
    );
    // A pattern too large for the size limit is an error, not a memory blow-up.
    let huge =
        r#"alert sip any any -> any any (msg:"a"; sid:1; sip.uri; pcre:"/(\w{1000}){1000}/";)"#;
    let e = errors(huge);
    assert_eq!(e.len(), 1);
    assert!(e[0].contains("bad regex"), "{}", e[0]);
}

#[test]
fn duplicate_sid_and_all_errors_collected() {
    let e = errors(
        "alert sip any any -> any any (msg:\"a\"; sid:5;)\n\
         alert sip any any -> any any (msg:\"b\"; sid:5;)\n",
    );
    assert_eq!(
        e,
        vec!["t.rules:2:1: duplicate sid 5 (first defined at t.rules:1)"]
    );
    let e = errors(
        "alert sip any any -> any any (msg:\"a\"; sid:1; nope;)\n\
         alert sip any any -> any any (sid:2; severity:0;)\n\
         alert sip bad any -> any any (msg:\"c\"; sid:3;)\n",
    );
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(e[0].starts_with("t.rules:1:"));
    assert!(e[1].starts_with("t.rules:2:") && e[1].ends_with("severity 0 out of range 1..=3"));
    assert!(e[2].starts_with("t.rules:3:11: bad address 'bad'"));
}

#[test]
fn other_errors() {
    for (rule, part) in [
        ("alert sip any any -> any any msg:\"a\"; sid:1;", "expected '('"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1;", "expected ')'"),
        ("alert sip any any any any (msg:\"a\"; sid:1;)", "found 6 fields"),
        ("alert sip any any => any any (msg:\"a\"; sid:1;)", "bad direction"),
        ("alert tcpx any any -> any any (msg:\"a\"; sid:1;)", "unknown protocol 'tcpx'"),
        ("alert sip any any -> any any (msg:\"a; sid:1;)", "unterminated quoted string"),
        ("alert sip any any -> any any (msg:a; sid:1;)", "quoted string"),
        ("alert sip any any -> any any (msg:\"a\"; sid:x;)", "sid must be a number"),
        ("alert sip any any -> any any (msg:\"a\"; sid:0;)", "sid must be at least 1"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; flow:sideways;)", "unknown flow"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; sip.uri; content:\"\";)", "content: empty pattern"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; sip.stat_code:99;)", "bad status code"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; sip.method:INVITE; sip.stat_code:200;)", "never match"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; sip.method:INVITE; flow:to_client;)", "to_client"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; sip.uri; absent; content:\"x\";)", "absent cannot be combined"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; threshold:type limit, count 1, seconds 5;)", "threshold: missing 'track'"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; threshold:type sometimes, track by_src, count 1, seconds 5;)", "unknown type"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; sip.uri; len:>x;)", "len: expected a number"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; sip.header:Bad Name; content:\"x\";)", "bad header name"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; nocase:1;)", "takes no value"),
        ("alert sip any any -> any any (msg:\"a\"; sid:1; sip.uri)", "not followed by a match"),
        ("alert sip [10.0.0.1, any any -> any any (msg:\"a\"; sid:1;)", "1:11: unbalanced '['"),
        ("alert sip [10.0.0.1,] any -> any any (msg:\"a\"; sid:1;)", "empty item in list"),
        ("alert sip any any -> ::1/129 any (msg:\"a\"; sid:1;)", "0..=128"),
        ("alert sip any 10:5 -> any any (msg:\"a\"; sid:1;)", "start above end"),
    ] {
        let e = errors(rule);
        assert!(
            e.iter().any(|m| m.contains(part)),
            "{rule}: wanted '{part}' in {e:#?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Loading folders
// ---------------------------------------------------------------------------

#[test]
fn load_folder_with_variables() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("variables.conf"),
        "# nets\nHOME_NET = [10.0.0.0/8, 192.168.0.0/16]\nEXTERNAL_NET = !$HOME_NET\nSIP_PORTS = [5060, 5061]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.rules"),
        "alert sip $EXTERNAL_NET any -> $HOME_NET $SIP_PORTS (msg:\"b\"; sid:2;)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("a.rules"),
        "alert sip any any -> any any (msg:\"a\"; sid:1;)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not rules").unwrap();
    let s = RuleSet::load(dir.path()).unwrap();
    assert_eq!(
        s.rules().iter().map(|r| r.sid).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(sids(&s, NORMAL_INVITE), vec![1, 2]);
    let out = ctx("10.0.0.5", 5060, "203.0.113.7", 5060);
    assert_eq!(sids_ctx(&s, NORMAL_INVITE, &out), vec![1]);
}

#[test]
fn load_collects_errors_of_all_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("variables.conf"),
        "HOME_NET = [10.0.0.0/40]\nnot a line\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("a.rules"),
        "alert sip any any -> any any (msg:\"a\"; sid:1;)\nalert sip any any -> any any (msg:\"x\"; sid:1; bad;)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.rules"),
        "alert sip any any -> any any (msg:\"b\"; sid:1;)\n",
    )
    .unwrap();
    let e: Vec<String> = RuleSet::load(dir.path())
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    let d = dir.path().display();
    assert_eq!(
        e,
        vec![
            format!("{d}/variables.conf:2:1: expected NAME = value"),
            format!("{d}/variables.conf:1:1: variable $HOME_NET: bad CIDR '10.0.0.0/40': prefix length must be 0..=32"),
            format!("{d}/a.rules:2:47: unknown option 'bad'"),
            format!("{d}/b.rules:1:1: duplicate sid 1 (first defined at {d}/a.rules:1)"),
        ]
    );
}

#[test]
fn load_empty_and_missing_folders() {
    let dir = tempfile::tempdir().unwrap();
    let s = RuleSet::load(dir.path()).unwrap();
    assert!(s.is_empty());
    assert!(sids(&s, NORMAL_INVITE).is_empty());
    let e = RuleSet::load(&dir.path().join("nope")).unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(e[0].message.starts_with("cannot read rules folder"));
}

#[test]
fn recursive_variables_are_errors() {
    let mut vars = Variables::new();
    vars.set("A", "$B");
    vars.set("B", "[$A]");
    let e = errors_vars(r#"alert sip $A any -> any any (msg:"a"; sid:1;)"#, &vars);
    assert_eq!(e.len(), 1);
    assert!(e[0].contains("nests too deeply"), "{}", e[0]);
}

#[test]
fn ruleset_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<RuleSet>();
    check::<Rule>();
}

proptest! {
    #[test]
    fn parse_str_never_panics(text in "\\PC*") {
        let _ = RuleSet::parse_str("p.rules", &text, &Variables::new());
    }

    #[test]
    fn rule_shaped_text_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("alert sip ".to_string()),
                Just("any any -> any any (".to_string()),
                Just("[10.0.0.0/8, !$X]".to_string()),
                Just("msg:\"".to_string()),
                Just("\\".to_string()),
                Just("\\\n".to_string()),
                Just(";".to_string()),
                Just(")".to_string()),
                Just("sid:1;".to_string()),
                Just("sip.uri;".to_string()),
                Just("content:\"|41".to_string()),
                Just("pcre:\"/(a/".to_string()),
                Just("len:>".to_string()),
                Just("threshold:type limit,".to_string()),
                Just("é".to_string()),
                "[ -~]{0,8}",
            ],
            0..24,
        )
    ) {
        let text: String = parts.concat();
        let mut vars = Variables::new();
        vars.set("X", "[1.2.3.4, $X]");
        if let Ok(rules) = RuleSet::parse_str("p.rules", &text, &vars) {
            let s = RuleSet::from_rules(rules);
            let wire = NORMAL_INVITE.replace('\n', "\r\n");
            let (msg, _) = parse_message(wire.as_bytes()).unwrap();
            let mut out = Vec::new();
            s.matches(&msg, &default_ctx(), &mut out);
        }
    }
}

/// Asserts that the set, prefilters and all, matches on `view` exactly the rules whose own test
/// holds; how many do.
fn same_as_each_rule(set: &RuleSet, view: &View<'_, '_>, what: &str) -> usize {
    let c = default_ctx();
    let mut got = Vec::new();
    set.matching(view, &c, &mut got);
    let want: Vec<u32> = (0..set.len() as u32)
        .filter(|&i| set.get(i).unwrap().is_match_view(view, &c))
        .collect();
    assert_eq!(got, want, "{what}");
    want.len()
}

/// The fast-pattern prefilter drops no match: on the shipped rules (thirteen User-Agent
/// patterns share one pass) plus rules of every content kind on one buffer, what the set
/// matches is exactly what testing every rule on its own matches, for User-Agents in any case,
/// at any place, twice, or absent.
#[test]
fn the_prefilter_keeps_every_match_of_the_rules_own_tests() {
    let mut text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/sip.rules"))
            .unwrap();
    text.push_str(concat!(
        "alert sip any any -> any any (msg:\"exact\"; sip.user_agent; content:\"Linphone\"; sid:9000001;)\n",
        "alert sip any any -> any any (msg:\"offset\"; sip.user_agent; content:\"phone\"; offset:4; depth:5; sid:9000002;)\n",
        "alert sip any any -> any any (msg:\"two\"; sip.user_agent; content:\"lin\"; nocase; content:\"/5\"; distance:0; sid:9000003;)\n",
        "alert sip any any -> any any (msg:\"negated\"; sip.user_agent; content:!\"phone\"; nocase; sid:9000004;)\n",
    ));
    let set = set(&text);
    assert!(
        set.prefilter.buffers() > 0,
        "the prefilter has a buffer to scan"
    );
    let uas = [
        None,
        Some("friendly-scanner"),
        Some("FRIENDLY-SCANNER x"),
        Some("Linphone/5.2"),
        Some("linphone/5.2"),
        Some("a sipsak 0.9.8"),
        Some("SIPSAK"),
        Some("PortSIP VoIP SDK 1.0"),
        Some("x\u{e9}iWar"),
    ];
    for ua in uas {
        for twice in [false, true] {
            let mut raw = String::from(REGISTER_SCANNER.split("User-Agent").next().unwrap());
            if let Some(u) = ua {
                raw.push_str(&format!("User-Agent: {u}\n"));
                if twice {
                    raw.push_str("User-Agent: Linphone/5.2\n");
                }
            }
            raw.push_str("Content-Length: 0\n\n");
            let wire = raw.replace('\n', "\r\n");
            let (msg, _) = parse_message(wire.as_bytes()).expect("test message parses");
            let view = View::with_raw(&msg, wire.as_bytes());
            same_as_each_rule(&set, &view, &format!("{ua:?} twice={twice}"));
        }
    }
}

/// The size prefilter drops no match either: the shipped rules (the anomaly rules test sizes
/// only) plus every length operator on a buffer with several instances and on an unknown
/// header, on requests and responses whose headers are removed, emptied, made long or doubled,
/// and with and without a body: the set matches exactly what each rule's own test matches.
#[test]
fn the_size_prefilter_keeps_every_match_of_the_rules_own_tests() {
    let mut text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/sip.rules"))
            .unwrap();
    for (sid, op) in ["5", "<60", ">60", "<=5", ">=300", "4<>70", "0", "50<>60"]
        .iter()
        .enumerate()
    {
        text.push_str(&format!(
            "alert sip any any -> any any (msg:\"via {op}\"; sip.via; bsize:{op}; sid:{};)\n",
            9100000 + sid
        ));
        text.push_str(&format!(
            "alert sip any any -> any any (msg:\"x {op}\"; sip.header:X-Extra; bsize:{op}; sid:{};)\n",
            9200000 + sid
        ));
    }
    text.push_str(
        "alert sip any any -> any any (msg:\"no x\"; sip.header:X-Extra; absent; sid:9300000;)\n",
    );
    let set = set(&text);
    let mut checked = 0;
    for base in [NORMAL_INVITE, OK_RESPONSE] {
        let lines: Vec<&str> = base.lines().filter(|l| !l.is_empty()).collect();
        let mut variants: Vec<Vec<String>> = vec![lines.iter().map(|l| l.to_string()).collect()];
        for (i, line) in lines.iter().enumerate().skip(1) {
            let name = line.split(':').next().unwrap();
            if name == "Content-Length" {
                continue;
            }
            let value = line[name.len() + 1..].trim();
            let with = |new: Vec<String>| {
                let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                v.splice(i..=i, new);
                v
            };
            variants.push(with(vec![]));
            variants.push(with(vec![format!("{name}:")]));
            variants.push(with(vec![format!("{name}: {value}{}", "x".repeat(1100))]));
            variants.push(with(vec![format!("{name}: {value}{}", "y".repeat(290))]));
            variants.push(with(vec![line.to_string(), format!("{name}: {value}")]));
            variants.push(with(vec![line.to_string(), "X-Extra: abcde".to_string()]));
        }
        for lines in variants {
            for body in ["", "v=0\r\n"] {
                for typed in [false, true] {
                    let mut raw = String::new();
                    for l in lines.iter().filter(|l| !l.starts_with("Content-Length")) {
                        raw.push_str(l);
                        raw.push_str("\r\n");
                    }
                    if typed {
                        raw.push_str("Content-Type: application/sdp\r\n");
                    }
                    raw.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
                    let Ok((msg, _)) = parse_message(raw.as_bytes()) else {
                        continue;
                    };
                    let view = View::with_raw(&msg, raw.as_bytes());
                    checked += same_as_each_rule(&set, &view, &raw);
                }
            }
        }
    }
    assert!(
        checked > 100,
        "the variants make rules match ({checked} matches)"
    );
}

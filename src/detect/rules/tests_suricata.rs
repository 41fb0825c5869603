//! Suricata's rule language: its SIP and SDP sticky buffers, payload rules over `udp`, `tcp`
//! and `ip`, content positions, rules skipped rather than refused, classification.config and
//! suricata.yaml variables, a single rule file given instead of a folder.

use std::net::IpAddr;
use std::path::Path;

use super::*;
use crate::base::packet::Transport;
use crate::base::time::Ts;
use crate::sip::parser::parse_message;

fn ctx(transport: Transport) -> PacketCtx {
    PacketCtx {
        ts: Ts::ZERO,
        src: "203.0.113.7".parse::<IpAddr>().unwrap(),
        dst: "10.0.0.5".parse::<IpAddr>().unwrap(),
        sport: 5070,
        dport: 5060,
        transport,
        vlan: None,
        flow_id: 0,
        agent: None,
    }
}

fn set(text: &str) -> RuleSet {
    RuleSet::from_rules(RuleSet::parse_str("t.rules", text, &Variables::new()).unwrap())
}

/// Sids matching the message `raw` (CRLF line ends added), its bytes given to the payload
/// keywords, carried over `transport`.
fn hits(set: &RuleSet, raw: &str, transport: Transport) -> Vec<u32> {
    let wire = raw.replace('\n', "\r\n");
    let (msg, _) = parse_message(wire.as_bytes()).expect("test message parses");
    let view = View::with_raw(&msg, wire.as_bytes());
    let mut out = Vec::new();
    set.matches_view(&view, &ctx(transport), &mut out);
    out.iter().map(|r| r.sid).collect()
}

const INVITE: &str = "INVITE sip:97239287044@voip.example.net SIP/2.0
v: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKnp1
f: \"arik\" <sip:816666@voip.example.net>;tag=6433ef9
t: <sip:97239287044@voip.example.net>
To: <sip:12345@voip.example.net>
Call-ID: 1@192.168.1.2
CSeq: 1 INVITE
User-Agent: Nero SIPPS IP Phone
c: application/sdp
l: 85

v=0
o=SIPPS 1 2 IN IP4 192.168.1.2
s=SIP call
c=IN IP4 192.168.1.2
t=0 0
a=sendrecv
m=audio 30000 RTP/AVP 0
a=rtpmap:0 pcmu/8000
";

const OK: &str = "SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.168.1.2:5060;branch=z9hG4bKnp1
From: <sip:816666@voip.example.net>;tag=6433ef9
To: <sip:97239287044@voip.example.net>;tag=x
Call-ID: 1@192.168.1.2
CSeq: 1 INVITE
Server: Asterisk PBX 18
Content-Length: 0

";

#[test]
fn suricata_sip_buffers() {
    let s = set(r#"
alert sip any any -> any any (flow:to_server; sip.method; content:"INVITE"; sid:1;)
alert sip any any -> any any (sip.stat_code; content:"INVITE"; sid:2;)
alert sip any any -> any any (sip.stat_code; content:"200"; sid:3;)
alert sip any any -> any any (sip.stat_msg; content:"OK"; sid:4;)
alert sip any any -> any any (sip.protocol; content:"SIP/2.0"; sid:5;)
alert sip any any -> any any (sip.request_line; content:"INVITE sip:"; startswith; sid:6;)
alert sip any any -> any any (sip.response_line; content:"SIP/2.0 200 OK"; sid:7;)
alert sip any any -> any any (sip.from; content:"arik"; sid:8;)
alert sip any any -> any any (sip.to; content:"sip:12345"; sid:9;)
alert sip any any -> any any (sip.via; content:"SIP/2.0/UDP"; sid:10;)
alert sip any any -> any any (sip.content_type; content:"application/sdp"; sid:11;)
alert sip any any -> any any (sip.content_length; content:"85"; bsize:2; sid:12;)
alert sip any any -> any any (sip.user_agent; content:"Asterisk"; sid:13;)
alert sip any any -> any any (sip.header:Server; content:"Asterisk"; sid:14;)
"#);
    // A repeated To (compact and long form) is two instances; From and Via by compact name.
    assert_eq!(
        hits(&s, INVITE, Transport::Udp),
        vec![1, 5, 6, 8, 9, 10, 11, 12]
    );
    // sip.user_agent is the User-Agent header only, as in Suricata (Server is not).
    assert_eq!(hits(&s, OK, Transport::Udp), vec![3, 4, 5, 7, 10, 14]);
}

#[test]
fn suricata_sdp_buffers_by_level() {
    let s = set(r#"
alert sip any any -> any any (sdp.origin; content:"SIPPS 1 2"; sid:1;)
alert sip any any -> any any (sdp.connection_data; content:"IN IP4"; sdp.media.connection_data; content:"IN IP4"; sid:2;)
alert sip any any -> any any (sdp.attribute; content:"sendrecv"; sdp.media.media; content:"audio 30000"; sid:3;)
alert sip any any -> any any (sdp.media.attribute; content:"sendrecv"; sid:4;)
alert sip any any -> any any (sdp.media.attribute; content:"rtpmap:0"; sid:5;)
"#);
    // The only c= line is at session level: sid 2 needs one in the media section too.
    assert_eq!(hits(&s, INVITE, Transport::Udp), vec![1, 3, 5]);
    assert!(hits(&s, OK, Transport::Udp).is_empty());
}

#[test]
fn payload_rules_over_udp_tcp_and_ip() {
    let s = set(r#"
alert udp any any -> any 5060 (msg:"INVITE over UDP"; content:"INVITE"; depth:6; sid:1;)
alert tcp any any -> any 5060 (msg:"INVITE over TCP"; flow:established,to_server; content:"INVITE"; depth:6; sid:2;)
alert ip any any -> any 5060 (msg:"any"; content:"invite"; nocase; depth:6; sid:3;)
alert udp any any -> any 5060 (msg:"not at start"; content:"INVITE sip"; offset:1; sid:4;)
alert udp any any -> any 5060 (msg:"dsize"; dsize:>400; content:"INVITE"; sid:5;)
alert udp any any -> any 5060 (msg:"dsize small"; dsize:<100; content:"INVITE"; sid:6;)
alert udp any any -> any 5060 (msg:"relative"; content:"INVITE"; depth:6; content:!"SIP/"; distance:0; sid:7;)
alert udp any any -> any 5060 (msg:"pcre R"; content:"a=sendrecv"; pcre:"/^\r?\nm=audio/R"; isdataat:10,relative; sid:8;)
alert udp any any -> any 5060 (msg:"ua"; content:"|0d 0a|User-Agent|3A| Nero"; nocase; sid:9;)
alert sip any any -> any any (msg:"pkt_data"; sip.uri; content:"972"; pkt_data; content:"INVITE "; startswith; sid:10;)
"#);
    assert_eq!(hits(&s, INVITE, Transport::Udp), vec![1, 3, 5, 8, 9, 10]);
    assert_eq!(hits(&s, INVITE, Transport::Tcp), vec![2, 3, 10]);
}

#[test]
fn content_positions_are_checked_when_parsed() {
    for (rule, part) in [
        (
            r#"alert udp any any -> any any (content:"INVITE"; depth:3; sid:1;)"#,
            "depth is smaller",
        ),
        (
            r#"alert udp any any -> any any (content:"a"; distance:0; depth:5; sid:1;)"#,
            "depth/offset cannot",
        ),
        (
            r#"alert udp any any -> any any (content:"a"; offset:2; within:5; sid:1;)"#,
            "distance/within cannot",
        ),
        (
            r#"alert udp any any -> any any (depth:5; sid:1;)"#,
            "must follow a content",
        ),
        (
            r#"alert udp any any -> any any (content:"a"; isdataat:5,backwards; sid:1;)"#,
            "unknown modifier",
        ),
        (
            r#"alert udp any any -> any any (content:"a"; dsize:lots; sid:1;)"#,
            "dsize: expected a number",
        ),
        (
            r#"alert udp any any -> any any (content:"a"; priority:0; sid:1;)"#,
            "priority 0",
        ),
        (
            r#"alert udp any any -> any any (content:"a"; reference:nothing; sid:1;)"#,
            "type,value",
        ),
        (
            r#"alert udp any any -> any any (content:"a"; sip.bogus; sid:1;)"#,
            "unknown option 'sip.bogus'",
        ),
    ] {
        let e = RuleSet::parse_str("t.rules", rule, &Variables::new()).unwrap_err();
        assert!(e.iter().any(|e| e.message.contains(part)), "{rule}: {e:?}");
    }
}

#[test]
fn what_the_sensor_cannot_run_is_skipped_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("et.rules");
    std::fs::write(
        &file,
        r#"alert http $EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS (msg:"web"; uricontent:"/g"; sid:1;)
alert tcp $EXTERNAL_NET any -> $HOME_NET 1720 (msg:"h323"; content:"|08|"; sid:2;)
alert udp any any -> any 5060 (msg:"bytes"; content:"x"; byte_test:1,>,2,0; sid:3;)
alert udp any any -> any 5060 (msg:"lookahead"; pcre:"/a(?=b)/"; sid:4;)
pass udp any any -> any 5060 (msg:"pass"; sid:5;)
alert udp any any -> any 5060 (msg:"runs"; content:"INVITE"; classtype:attempted-dos; metadata:created_at 2010_07_30, updated_at 2010_07_30; reference:url,example.org/x; sid:6; rev:2;)
alert udp any any -> any 5060 (msg:"http buffer flag"; pcre:"/x/U"; sid:7;)
"#,
    )
    .unwrap();
    let s = RuleSet::load(&file).unwrap();
    assert_eq!(s.rules().iter().map(|r| r.sid).collect::<Vec<_>>(), vec![6]);
    let skipped: Vec<String> = s.skipped().iter().map(ToString::to_string).collect();
    assert_eq!(skipped.len(), 6, "{skipped:#?}");
    assert!(skipped[0].ends_with(
        "et.rules:1: sid 1 skipped: protocol 'http' is not inspected (only SIP messages are)"
    ));
    assert!(skipped[1].contains("sid 2 skipped: rule is for H.323"));
    assert!(skipped[2].contains("sid 3 skipped: keyword 'byte_test' is not supported"));
    assert!(skipped[3].contains("sid 4 skipped: pcre 'a(?=b)' needs"));
    assert!(skipped[4].contains("sid 5 skipped: action 'pass'"));
    assert!(skipped[5].contains("sid 7 skipped: pcre flag 'U'"));
    let r = s.by_sid(6).unwrap();
    // No classification.config beside the file: the classtype word, Suricata's default priority.
    assert_eq!(
        (r.category.as_str(), r.severity, r.rev),
        ("attempted-dos", 3, 2)
    );
    assert_eq!(
        r.metadata[1],
        ("updated_at".to_string(), "2010_07_30".to_string())
    );
    assert_eq!(r.references, vec!["url,example.org/x"]);
}

#[test]
fn classification_and_suricata_yaml_variables_from_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("classification.config"),
        "config classification: attempted-dos,Attempted Denial of Service,2\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("vars.yaml"),
        "%YAML 1.1\n---\nvars:\n  address-groups:\n    HOME_NET: \"[10.0.0.0/8]\"\n    EXTERNAL_NET: \"!$HOME_NET\"\n  port-groups:\n    SIP_PORTS: \"5060\"\noutputs:\n  - eve-log:\n      enabled: yes\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("a.rules"),
        "alert udp $EXTERNAL_NET any -> $HOME_NET $SIP_PORTS (msg:\"dos\"; content:\"INVITE\"; classtype:attempted-dos; sid:1;)\n\
         alert udp $HOME_NET any -> any any (msg:\"p\"; content:\"INVITE\"; classtype:attempted-dos; priority:1; gid:3; sid:2;)\n\
         alert udp any any -> any $HTTP_PORTS (msg:\"defaults\"; content:\"x\"; sid:3;)\n",
    )
    .unwrap();
    let s = RuleSet::load(dir.path()).unwrap();
    let r = s.by_sid(1).unwrap();
    assert_eq!(
        (r.category.as_str(), r.severity),
        ("Attempted Denial of Service", 2)
    );
    let p = s.by_sid(2).unwrap();
    assert_eq!((p.severity, p.gid), (1, 3));
    // 203.0.113.7 -> 10.0.0.5:5060: external to home.
    assert_eq!(hits(&s, INVITE, Transport::Udp), vec![1]);
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(
        bad.path().join("vars.yaml"),
        "vars:\n  address-groups:\n    HOME_NET: \"[10.0.0.0/40]\"\n",
    )
    .unwrap();
    let e = RuleSet::load(bad.path()).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].line, 3, "{e:?}");
    assert!(Path::new(&e[0].file).ends_with("vars.yaml"));
}

#[test]
fn suricata_frames() {
    let s = set(r#"
alert sip any any -> any any (flow:to_server; frame:pdu; content:"INVITE"; startswith; sid:1;)
alert sip any any -> any any (frame:request.line; content:"SIP/2.0|0d 0a|"; endswith; sid:2;)
alert sip any any -> any any (frame:request.headers; content:"v:"; startswith; content:"Max-Forwards"; sid:3;)
alert sip any any -> any any (frame:sip.request.body; content:"v=0"; startswith; sid:4;)
alert sip any any -> any any (frame:response.headers; content:"Content-Length: 0|0d 0a|"; endswith; sid:5;)
alert sip any any -> any any (frame:response.line; content:"SIP/2.0 200"; startswith; sid:6;)
"#);
    assert_eq!(hits(&s, INVITE, Transport::Udp), vec![1, 2, 4]);
    assert_eq!(hits(&s, OK, Transport::Udp), vec![5, 6]);
    assert_eq!(
        s.by_sid(3).unwrap().frame(),
        Some(crate::sip::frames::FrameKind::RequestHeaders)
    );
    let e = RuleSet::parse_str(
        "t.rules",
        r#"alert http any any -> any any (frame:http.request; content:"x"; sid:1;)"#,
        &Variables::new(),
    );
    // Skipped by the protocol before the frame is looked at: no rule, no error.
    assert!(e.unwrap().is_empty());
}

//! The records written most, written field by field ([`Obj`]) instead of through serde's call
//! per field: the head every record starts with, the `sip` record (one a transaction, the bulk
//! of what a SIP flood makes) and the `call` record (one an INVITE dialog). Each writer follows its type's `Serialize` field for field,
//! in order and with its skips; debug builds compare every record written this way with what
//! serde_json writes of it ([`crate::output::eve::EveWriter::write_by`]), and the tests below
//! hold them equal on records with every field set and none.

use crate::base::head::Head;
use crate::base::iptext::IpText;
use crate::base::time::Stamp;
use crate::dialog::call::{CallInfo, CallRecord, Encryption};
use crate::dialog::msg::{AuthInfo, MediaLine, Party};
use crate::dialog::transaction::{SipRecord, SipTx};
use crate::output::json::{Error, Obj};
use crate::sip::sdp_record::{Field, SdpRecord, Section, Shape, MEDIA, SESSION};
use std::borrow::Cow;

/// The head's fields, as [`Head::fields`] writes them.
pub fn head(o: &mut Obj<'_>, h: &Head) -> Result<(), Error> {
    stamp(o, "timestamp", &h.timestamp);
    o.int("flow_id", h.flow_id);
    if let Some(n) = h.pcap_cnt {
        o.int("pcap_cnt", n);
    }
    o.opt_str("in_iface", h.in_iface.as_deref());
    own(o, "event_type", &h.event_type);
    if let Some(t) = h.tx_id {
        o.int("tx_id", t);
    }
    if let Some(v) = &h.vlan {
        o.ints("vlan", v);
    }
    o.plain("src_ip", &IpText::new(&h.src_ip));
    o.int("src_port", h.src_port);
    o.plain("dest_ip", &IpText::new(&h.dest_ip));
    o.int("dest_port", h.dest_port);
    own(o, "proto", &h.proto);
    if let Some(a) = &h.app_proto {
        own(o, "app_proto", a);
    }
    if let Some(c) = &h.capture {
        o.value("capture", c)?;
    }
    o.opt_str("pcap_filename", h.pcap_filename.as_deref());
    Ok(())
}

/// A record: the head, then its one object under `name`, written by `body`.
fn record(
    out: &mut Vec<u8>,
    h: &Head,
    name: &'static str,
    body: impl FnOnce(&mut Obj<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut o = Obj::open(out);
    head(&mut o, h)?;
    let mut b = o.object(name);
    body(&mut b)?;
    b.close();
    o.close();
    Ok(())
}

/// A word of the sensor's own (a `'static` string of its code) without the scan for bytes to
/// escape; one read back from a record, as any string.
// The Cow itself is read, not only its text: its variant says where the text came from.
#[allow(clippy::ptr_arg)]
fn own(o: &mut Obj<'_>, key: &'static str, v: &Cow<'static, str>) {
    match v {
        Cow::Borrowed(w) => o.plain(key, w),
        Cow::Owned(s) => o.str(key, s),
    }
}

/// A record time: made from a packet's time, digits and punctuation only; read back from a
/// record, as any string.
fn stamp(o: &mut Obj<'_>, key: &'static str, t: &Stamp) {
    match t {
        Stamp::At(text) => o.plain(key, text.as_str()),
        Stamp::Read(s) => o.str(key, s),
    }
}

/// A `sip` record, as its `Serialize` writes it.
pub fn sip_record(out: &mut Vec<u8>, r: &SipRecord) -> Result<(), Error> {
    record(out, &r.head, "sip", |o| sip_tx(o, &r.sip))
}

fn sip_tx(o: &mut Obj<'_>, t: &SipTx) -> Result<(), Error> {
    o.opt_str("method", t.method.as_deref());
    o.opt_str("uri", t.uri.as_deref());
    if let Some(c) = t.status {
        o.int("status", c);
    }
    o.opt_str("reason", t.reason.as_deref());
    if !t.provisional.is_empty() {
        o.ints("provisional", &t.provisional);
    }
    o.opt_str("call_id", t.call_id.as_deref());
    if let Some(n) = t.cseq {
        o.int("cseq", n);
    }
    o.opt_str("cseq_method", t.cseq_method.as_deref());
    if let Some(p) = &t.from {
        party(o.object("from"), p);
    }
    if let Some(p) = &t.to {
        party(o.object("to"), p);
    }
    o.opt_str("user_agent", t.user_agent.as_deref());
    o.opt_str("server", t.server.as_deref());
    if let Some(a) = &t.auth {
        auth(o.object("auth"), a);
    }
    if let Some(a) = &t.challenge {
        auth(o.object("challenge"), a);
    }
    o.opt_str("content_type", t.content_type.as_deref());
    if let Some(e) = t.expires {
        o.int("expires", e);
    }
    if let Some(ms) = t.response_time_ms {
        o.float("response_time_ms", ms)?;
    }
    if t.request_retransmissions != 0 {
        o.int("request_retransmissions", t.request_retransmissions);
    }
    if t.response_retransmissions != 0 {
        o.int("response_retransmissions", t.response_retransmissions);
    }
    own(o, "state", &t.state);
    if !t.warnings.is_empty() {
        o.strs("warnings", &t.warnings);
    }
    if let Some(c) = &t.code {
        own(o, "code", c);
    }
    if let Some(v) = &t.version {
        own(o, "version", v);
    }
    o.opt_str("request_line", t.request_line.as_deref());
    o.opt_str("response_line", t.response_line.as_deref());
    if let Some(r) = &t.sdp {
        let mut o = o.object("sdp");
        if let Some(v) = r.version() {
            o.int("version", v);
        }
        sdp_section(&mut o, r.session(), &SESSION, Some(r));
        o.close();
    }
    Ok(())
}

/// A part of an SDP record (the session level with the record's media descriptions, or one
/// media description), as [`SdpRecord`]'s `Serialize` writes it: the fields of `layout`.
fn sdp_section(o: &mut Obj<'_>, own: Section<'_>, layout: &[Shape], record: Option<&SdpRecord>) {
    for &shape in layout {
        match shape {
            Shape::One(name, f) => o.opt_str(name, own.one(f)),
            Shape::List(name, f) => {
                if own.has(f) {
                    let mut l = o.list(name);
                    for v in own.list(f) {
                        l.str(v);
                    }
                    l.close();
                }
            }
            Shape::Times => {
                if own.has(Field::Time) {
                    let mut l = o.list("time_descriptions");
                    for (time, repeat) in own.times() {
                        let mut t = l.object();
                        t.opt_str("time", time);
                        t.opt_str("repeat_time", repeat);
                        t.close();
                    }
                    l.close();
                }
            }
            Shape::Media => {
                let Some(r) = record.filter(|r| r.has_media()) else {
                    continue;
                };
                let mut l = o.list("media_descriptions");
                for m in r.media() {
                    let mut d = l.object();
                    sdp_section(&mut d, m, &MEDIA, None);
                    d.close();
                }
                l.close();
            }
        }
    }
}

/// A `call` record, as its `Serialize` writes it.
pub fn call_record(out: &mut Vec<u8>, r: &CallRecord) -> Result<(), Error> {
    record(out, &r.head, "call", |o| call(o, &r.call))
}

fn call(o: &mut Obj<'_>, c: &CallInfo) -> Result<(), Error> {
    o.str("call_id", &c.call_id);
    o.str("outcome", &c.outcome);
    o.str("state", &c.state);
    o.str("end_reason", &c.end_reason);
    o.opt_str("hangup_by", c.hangup_by.as_deref());
    party(o.object("caller"), &c.caller);
    party(o.object("callee"), &c.callee);
    o.opt_str("request_uri", c.request_uri.as_deref());
    o.opt_str("caller_user_agent", c.caller_user_agent.as_deref());
    o.opt_str("callee_user_agent", c.callee_user_agent.as_deref());
    stamp(o, "start", &c.start);
    if let Some(t) = &c.ringing {
        stamp(o, "ringing", t);
    }
    if let Some(t) = &c.answer {
        stamp(o, "answer", t);
    }
    stamp(o, "end", &c.end);
    o.float("duration", c.duration)?;
    if let Some(d) = c.post_dial_delay {
        o.float("post_dial_delay", d)?;
    }
    if let Some(t) = c.setup_time {
        o.float("setup_time", t)?;
    }
    if let Some(s) = c.final_status {
        o.int("final_status", s);
    }
    o.opt_str("final_reason", c.final_reason.as_deref());
    o.str("transport", &c.transport);
    if c.reinvites != 0 {
        o.int("reinvites", c.reinvites);
    }
    o.int("messages", c.messages);
    if !c.media_offer.is_empty() {
        media_lines(o, "media_offer", &c.media_offer);
    }
    if !c.media_answer.is_empty() {
        media_lines(o, "media_answer", &c.media_answer);
    }
    if !c.media.is_empty() {
        o.value("media", &c.media)?;
    }
    encryption(o.object("encryption"), &c.encryption);
    o.opt_str("one_way_audio", c.one_way_audio.as_deref());
    if c.media_timeout {
        o.bool("media_timeout", true);
    }
    if let Some(a) = &c.auth {
        o.value("auth", a)?;
    }
    if c.legs.len() >= 2 {
        o.value("legs", &c.legs)?;
    }
    o.opt_str("pcap", c.pcap.as_deref());
    Ok(())
}

/// A list of media lines, each as its `Serialize` writes it.
fn media_lines(o: &mut Obj<'_>, key: &'static str, lines: &[MediaLine]) {
    let mut list = o.list(key);
    for l in lines {
        let mut m = list.object();
        m.str("media", &l.media);
        m.opt_str("addr", l.addr.as_deref());
        m.int("port", l.port);
        m.str("proto", &l.proto);
        m.strs("codecs", &l.codecs);
        m.opt_str("direction", l.direction.as_deref());
        if l.crypto {
            m.bool("crypto", true);
        }
        if l.fingerprint {
            m.bool("fingerprint", true);
        }
        if l.rtcp_mux {
            m.bool("rtcp_mux", true);
        }
        if l.zrtp {
            m.bool("zrtp", true);
        }
        m.close();
    }
    list.close();
}

fn encryption(mut o: Obj<'_>, e: &Encryption) {
    own(&mut o, "signalling", &e.signalling);
    own(&mut o, "media_offered", &e.media_offered);
    own(&mut o, "media_answered", &e.media_answered);
    own(&mut o, "media_wire", &e.media_wire);
    o.bool("keys_exposed", e.keys_exposed);
    o.bool("downgrade", e.downgrade);
    o.bool("wire_mismatch", e.wire_mismatch);
    o.close();
}

/// A party, as [`crate::dialog::msg::PartyFields`] is written.
fn party(mut o: Obj<'_>, p: &Party) {
    o.opt_str("display", p.display.as_deref());
    o.opt_str("user", p.user.as_deref());
    o.str("host", &p.host);
    o.opt_str("tag", p.tag.as_deref());
    o.close();
}

fn auth(mut o: Obj<'_>, a: &AuthInfo) {
    o.str("scheme", &a.scheme);
    o.opt_str("username", a.username.as_deref());
    o.opt_str("realm", a.realm.as_deref());
    o.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialog::msg::PartyFields;
    use std::borrow::Cow;

    fn direct(r: &SipRecord) -> String {
        let mut out = Vec::new();
        sip_record(&mut out, r).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Every `sip` and `call` record of the golden files (every capture the tests replay, read
    /// back as the sensor wrote it): written directly, the bytes serde_json writes.
    #[test]
    fn every_golden_sip_and_call_record_is_written_as_serde_json_writes_it() {
        fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, files);
                } else if p.extension().is_some_and(|x| x == "jsonl") {
                    files.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden"),
            &mut files,
        );
        let (mut sips, mut calls) = (0, 0);
        for f in &files {
            for line in std::fs::read_to_string(f).unwrap().lines() {
                let mut out = Vec::new();
                let theirs = if line.contains(r#""event_type":"sip""#) {
                    let r: SipRecord = serde_json::from_str(line).unwrap();
                    sip_record(&mut out, &r).unwrap();
                    sips += 1;
                    serde_json::to_string(&r).unwrap()
                } else if line.contains(r#""event_type":"call""#) {
                    let r: CallRecord = serde_json::from_str(line).unwrap();
                    call_record(&mut out, &r).unwrap();
                    calls += 1;
                    serde_json::to_string(&r).unwrap()
                } else {
                    continue;
                };
                assert_eq!(String::from_utf8(out).unwrap(), theirs, "{}", f.display());
            }
        }
        assert!(
            sips > 1000 && calls > 100,
            "{sips} sip and {calls} call records"
        );
    }

    /// A record with every field set (escapes, a VLAN list, a HEP source, retransmissions,
    /// warnings, an SDP) and one with every optional field left out: written directly, the
    /// bytes serde_json writes.
    #[test]
    fn a_direct_sip_record_is_what_serde_json_writes() {
        let full: SipRecord = serde_json::from_str(concat!(
            r#"{"timestamp":"2026-12-07T04:47:06.714334+0000","flow_id":5,"pcap_cnt":9,"#,
            r#""in_iface":"eth0","event_type":"sip","tx_id":3,"vlan":[10,20],"#,
            r#""src_ip":"2001:db8::1","src_port":5060,"dest_ip":"10.0.0.2","dest_port":5080,"#,
            r#""proto":"UDP","app_proto":"sip","#,
            r#""capture":{"source":"hep","agent_id":7,"transport":"TLS"},"#,
            r#""pcap_filename":"a \"b\".pcap","#,
            r#""sip":{"method":"INVITE","uri":"sip:a\\b@h","status":407,"reason":"Proxy\tAuth","#,
            r#""provisional":[100,180],"call_id":"c\u0001","cseq":2,"cseq_method":"INVITE","#,
            r#""from":{"display":"Al \"x\"","user":"al","host":"h","tag":"t1"},"#,
            r#""to":{"host":"h2"},"user_agent":"ua","server":"srv","#,
            r#""auth":{"scheme":"Digest","username":"u","realm":"r"},"#,
            r#""challenge":{"scheme":"Digest"},"content_type":"application/sdp","expires":60,"#,
            r#""response_time_ms":0.296,"request_retransmissions":2,"response_retransmissions":1,"#,
            r#""state":"completed","warnings":["a","b\n"],"code":"407","version":"SIP/2.0","#,
            r#""request_line":"INVITE sip:a@h SIP/2.0","response_line":"SIP/2.0 407 Proxy","#,
            r#""sdp":{"version":0,"origin":"o","media_descriptions":[{"media":"audio 1 RTP/AVP 0"}]}}}"#
        ))
        .unwrap();
        let bare = SipRecord {
            head: Head {
                in_iface: None,
                pcap_cnt: None,
                tx_id: None,
                vlan: None,
                capture: None,
                pcap_filename: None,
                app_proto: None,
                ..full.head.clone()
            },
            sip: SipTx {
                state: Cow::Borrowed("open"),
                ..SipTx::default()
            },
        };
        for r in [&full, &bare] {
            assert_eq!(direct(r), serde_json::to_string(r).unwrap());
        }
        assert!(direct(&full).contains(r#""capture":{"source":"hep""#));
        assert_eq!(
            direct(&bare).len(),
            serde_json::to_string(&bare).unwrap().len()
        );
        // The party's own type, written through serde, is the same object.
        let p = PartyFields {
            display: None,
            user: Some("u".into()),
            host: "h".into(),
            tag: None,
        };
        let mut out = Vec::new();
        party(Obj::open(&mut out), &Party::from(p.clone()));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&p).unwrap()
        );
    }
}

//! SIP: the message parser (stream and datagram rules, and the light body locator against
//! it), every accessor of a parsed message,
//! the header sub-parsers on each header value, and the stream framing helpers.
#![no_main]

use std::borrow::Cow;

use fuzz_common::{timed, within};
use libfuzzer_sys::fuzz_target;
use voip_sentinel::sip::header::find_param;
use voip_sentinel::sip::parser::{datagram_body, parse_datagram};
use voip_sentinel::sip::{
    frame_len, looks_like_sip, parse_challenge, parse_credentials, parse_cseq, parse_message,
    parse_name_addr, parse_uri, parse_via, resync, skip_keepalive, Frame, SipMessage, StartLine,
};

fuzz_target!(|data: &[u8]| {
    type Parse =
        for<'a> fn(&'a [u8]) -> Result<(SipMessage<'a>, usize), voip_sentinel::sip::ParseError>;
    let parsers: [(&str, Parse); 2] = [
        ("parse_message", parse_message),
        ("parse_datagram", parse_datagram),
    ];
    // The capture thread's light look at a datagram's body finds what the whole parse does.
    assert_eq!(
        datagram_body(data),
        parse_datagram(data).ok().map(|(m, _)| m.body),
        "datagram_body differs from parse_datagram's body"
    );
    for (what, parse) in parsers {
        let first = timed(what, data.len(), || parse(data));
        // Deterministic: the same bytes give the same answer.
        assert_eq!(first, parse(data), "{what} is not deterministic");
        if let Ok((msg, used)) = first {
            assert!(
                used <= data.len(),
                "{what} consumed {used} of {}",
                data.len()
            );
            assert!(
                msg.header_len <= used,
                "{what}: header_len past the message"
            );
            assert!(within(data, msg.body), "{what}: body outside the input");
            for h in &msg.headers {
                borrowed_within(data, &h.raw_name);
                borrowed_within(data, &h.value);
            }
            match &msg.start {
                StartLine::Request { uri, version, .. } => {
                    borrowed_within(data, uri);
                    borrowed_within(data, version);
                }
                StartLine::Response {
                    version, reason, ..
                } => {
                    borrowed_within(data, version);
                    borrowed_within(data, reason);
                }
            }
            accessors(&msg);
        }
    }
    let _ = looks_like_sip(data);
    let ka = skip_keepalive(data);
    assert!(ka <= data.len());
    match timed("frame_len", data.len(), || frame_len(data)) {
        Frame::Complete(n) => assert!(n > 0 && n <= data.len(), "frame_len {n}"),
        Frame::Incomplete | Frame::Invalid(_) => {}
    }
    if let Some(off) = timed("resync", data.len(), || resync(data)) {
        assert!(off <= data.len(), "resync offset {off}");
    }
    let text = String::from_utf8_lossy(data);
    sub_parsers(&text);
});

/// A borrowed field (the variant matters, so not `&str`) must point into the input.
#[allow(clippy::ptr_arg)]
fn borrowed_within(data: &[u8], s: &Cow<'_, str>) {
    if let Cow::Borrowed(b) = s {
        assert!(
            within(data, b.as_bytes()),
            "borrowed field outside the input: {b:?}"
        );
    }
}

/// Every accessor, as the correlator and detectors call them.
fn accessors(msg: &SipMessage<'_>) {
    let _ = (
        msg.method(),
        msg.request_uri(),
        msg.status(),
        msg.is_request(),
    );
    let _ = (
        msg.call_id(),
        msg.cseq(),
        msg.from(),
        msg.to(),
        msg.contact(),
    );
    let _ = (
        msg.contacts(),
        msg.p_asserted_identity(),
        msg.vias(),
        msg.top_via(),
    );
    let _ = (
        msg.max_forwards(),
        msg.user_agent(),
        msg.server(),
        msg.content_length(),
    );
    let _ = (msg.content_type(), msg.expires(), msg.authorization());
    let _ = (
        msg.proxy_authorization(),
        msg.www_authenticate(),
        msg.proxy_authenticate(),
    );
    let _ = (msg.identity(), msg.reason());
    if let Some(m) = msg.method() {
        let _ = (m.as_str(), m.is_known(), m.clone().into_owned());
    }
    for h in &msg.headers {
        let _ = (h.name.as_str(), h.name.is_known());
        sub_parsers(&h.value);
    }
}

fn sub_parsers(s: &str) {
    if let Some(u) = timed("parse_uri", s.len(), || parse_uri(s)) {
        let _ = (u.param("transport"), u.is_secure());
    }
    if let Some(na) = timed("parse_name_addr", s.len(), || parse_name_addr(s)) {
        let _ = na.param("tag");
    }
    if let Some(v) = timed("parse_via", s.len(), || parse_via(s)) {
        let _ = v.has_rfc3261_branch();
        // The one pass over the parameters finds what a lookup of each finds.
        assert_eq!(v.branch, v.param("branch"), "Via branch");
        assert_eq!(v.received, v.param("received"), "Via received");
        assert_eq!(
            v.rport,
            v.param("rport").map(voip_sentinel::sip::header::parse_u16_digits),
            "Via rport"
        );
    }
    let _ = timed("parse_cseq", s.len(), || parse_cseq(s));
    let _ = timed("parse_credentials", s.len(), || parse_credentials(s));
    let _ = timed("parse_challenge", s.len(), || parse_challenge(s));
    let _ = timed("find_param", s.len(), || find_param(s, "tag"));
}

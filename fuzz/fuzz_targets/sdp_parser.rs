//! SDP: the body parser (and its light read of the media against it), every per-media accessor, attribute values and key redaction.
#![no_main]

use fuzz_common::{timed, within};
use libfuzzer_sys::fuzz_target;
use voip_sentinel::media::rtp::Codec;
use voip_sentinel::sip::sdp::{attribute_value, parse_sdp, parse_sdp_media, redact_crypto_keys};

fuzz_target!(|data: &[u8]| {
    let first = timed("parse_sdp", data.len(), || parse_sdp(data));
    assert_eq!(
        format!("{first:?}"),
        format!("{:?}", parse_sdp(data)),
        "parse_sdp is not deterministic"
    );
    // The capture thread's light read announces the media the whole parse finds.
    let media = |s: &voip_sentinel::sip::sdp::Sdp<'_>| {
        let per: Vec<String> = s
            .media
            .iter()
            .map(|m| format!("{} {:?} {:?}", m.port, m.connection, m.rtpmap))
            .collect();
        (format!("{:?}", s.connection), per)
    };
    match (&first, parse_sdp_media(data)) {
        (Ok(full), Ok(light)) => assert_eq!(media(full), media(&light), "parse_sdp_media differs"),
        (Err(a), Err(b)) => assert_eq!(a, &b, "parse_sdp_media fails differently"),
        (a, b) => panic!("parse_sdp {a:?} but parse_sdp_media {b:?}"),
    }
    if let Ok(sdp) = &first {
        for m in &sdp.media {
            let _ = (m.effective_connection(sdp), m.effective_direction(sdp));
            let _ = (m.is_srtp(), m.is_dtls(), m.is_rtp(), m.is_disabled());
            let _ = m.effective_fingerprint(sdp);
            for r in &m.rtpmap {
                assert!(
                    within(data, r.encoding.as_bytes()),
                    "rtpmap encoding outside the input"
                );
                let _ = Codec::from_rtpmap(r.encoding, r.clock_rate).impairment();
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = attribute_value("rtpmap", Some(&text));
    if let Some(c) = Codec::parse_rtpmap(&text) {
        let _ = c.impairment();
    }
    let redacted = timed("redact_crypto_keys", text.len(), || {
        redact_crypto_keys(&text)
    });
    // Redaction keeps the lines and is idempotent (nothing secret is left to redact).
    assert_eq!(redacted.matches('\n').count(), text.matches('\n').count());
    assert_eq!(
        redact_crypto_keys(&redacted),
        redacted,
        "redaction is not idempotent"
    );
});

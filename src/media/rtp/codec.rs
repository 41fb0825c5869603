//! Payload types and codecs: the RFC 3551 static table, `a=rtpmap` lookup, and the clock-rate
//! tables Wireshark's RTP analysis uses (so that [`super::StreamStats`] matches it).

use std::borrow::Cow;

use super::mos::CodecImpairment;

/// A media encoding as negotiated (or implied by a static payload type).
#[derive(Clone, Debug, PartialEq)]
pub struct Codec {
    /// Encoding name as in `a=rtpmap` (`PCMU`, `opus`, `telephone-event`, ...).
    pub name: Cow<'static, str>,
    /// RTP timestamp clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels (1 unless the rtpmap or table says otherwise).
    pub channels: u8,
    /// RFC 4733 named events (DTMF): timestamps do not advance, excluded from jitter.
    pub telephone_event: bool,
    /// RFC 3389 comfort noise.
    pub comfort_noise: bool,
}

/// RFC 3551 §6 Tables 4 and 5 (audio and video static payload types), plus the historic 1
/// (1016), 2 (G721) and 19 (old CN) that Wireshark still maps.
const STATIC: &[(u8, &str, u32, u8)] = &[
    (0, "PCMU", 8000, 1),
    (1, "1016", 8000, 1),
    (2, "G721", 8000, 1),
    (3, "GSM", 8000, 1),
    (4, "G723", 8000, 1),
    (5, "DVI4", 8000, 1),
    (6, "DVI4", 16000, 1),
    (7, "LPC", 8000, 1),
    (8, "PCMA", 8000, 1),
    (9, "G722", 8000, 1),
    (10, "L16", 44100, 2),
    (11, "L16", 44100, 1),
    (12, "QCELP", 8000, 1),
    (13, "CN", 8000, 1),
    (14, "MPA", 90000, 1),
    (15, "G728", 8000, 1),
    (16, "DVI4", 11025, 1),
    (17, "DVI4", 22050, 1),
    (18, "G729", 8000, 1),
    (19, "CN", 8000, 1),
    (25, "CelB", 90000, 1),
    (26, "JPEG", 90000, 1),
    (28, "nv", 90000, 1),
    (31, "H261", 90000, 1),
    (32, "MPV", 90000, 1),
    (33, "MP2T", 90000, 1),
    (34, "H263", 90000, 1),
];

/// Wireshark's `mimetype_and_clock_map` (ui/tap-rtp-analysis.c): clock rates it assumes for
/// a dynamic payload type whose rtpmap gave no rate, matched case-insensitively as a prefix
/// of the encoding name, searched from the end of the (alphabetical) list.
const WIRESHARK_DYNAMIC: &[(&str, u32)] = &[
    ("AMR", 8000),
    ("AMR-WB", 16000),
    ("BMPEG", 90000),
    ("BT656", 90000),
    ("DV", 90000),
    ("EVRC", 8000),
    ("EVRC0", 8000),
    ("EVRC1", 8000),
    ("EVRCB", 8000),
    ("EVRCB0", 8000),
    ("EVRCB1", 8000),
    ("EVRCWB", 16000),
    ("EVRCWB0", 16000),
    ("EVRCWB1", 16000),
    ("EVS", 16000),
    ("G7221", 16000),
    ("G726-16", 8000),
    ("G726-24", 8000),
    ("G726-32", 8000),
    ("G726-40", 8000),
    ("G729D", 8000),
    ("G729E", 8000),
    ("GSM-EFR", 8000),
    ("H263-1998", 90000),
    ("H263-2000", 90000),
    ("H264", 90000),
    ("MP1S", 90000),
    ("MP2P", 90000),
    ("MP4V-ES", 90000),
    ("mpa-robust", 90000),
    ("opus", 48000),
    ("pointer", 90000),
    ("raw", 90000),
    ("red", 1000),
    ("SMV", 8000),
    ("SMV0", 8000),
    ("t140", 1000),
    ("telephone-event", 8000),
];

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.as_bytes()
            .iter()
            .zip(prefix.as_bytes())
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// Is this encoding name RFC 4733 `telephone-event` (prefix match, case-insensitive, as
/// Wireshark does)?
pub fn is_telephone_event(encoding: &str) -> bool {
    starts_with_ignore_case(encoding, "telephone-event")
}

/// Clock rate Wireshark's RTP analysis uses for a static payload type (`pt < 96`); 0 when it
/// knows none (then it computes no jitter). This ignores any SDP, as Wireshark does.
pub fn wireshark_static_clock(pt: u8) -> u32 {
    STATIC
        .iter()
        .find(|(p, ..)| *p == pt)
        .map(|&(_, _, rate, _)| rate)
        .unwrap_or(0)
}

/// Clock rate Wireshark assumes for a dynamic payload type from its encoding name alone.
pub fn wireshark_dynamic_clock(encoding: &str) -> u32 {
    WIRESHARK_DYNAMIC
        .iter()
        .rev()
        .find(|(name, _)| starts_with_ignore_case(encoding, name))
        .map(|&(_, rate)| rate)
        .unwrap_or(0)
}

impl Codec {
    /// The codec of an RFC 3551 static payload type, `None` for unassigned / dynamic ones.
    pub fn from_static_pt(pt: u8) -> Option<Codec> {
        STATIC
            .iter()
            .find(|(p, ..)| *p == pt)
            .map(|&(p, name, clock_rate, channels)| Codec {
                name: Cow::Borrowed(name),
                clock_rate,
                channels,
                telephone_event: false,
                comfort_noise: p == 13 || p == 19,
            })
    }

    /// The codec of an `a=rtpmap:<pt> <encoding>/<clock_rate>[/<channels>]` line (pass the
    /// encoding name and the clock rate). A zero clock rate falls back to the rate Wireshark
    /// assumes for that name, then to 8000.
    pub fn from_rtpmap(encoding: &str, clock_rate: u32) -> Codec {
        let clock_rate = if clock_rate != 0 {
            clock_rate
        } else {
            match wireshark_dynamic_clock(encoding) {
                0 => 8000,
                r => r,
            }
        };
        let name = STATIC
            .iter()
            .map(|&(_, n, ..)| n)
            .chain(WIRESHARK_DYNAMIC.iter().map(|&(n, _)| n))
            .chain(["iLBC", "speex", "G7221", "SILK", "AMR-WB"])
            .find(|n| n.eq_ignore_ascii_case(encoding))
            .map(Cow::Borrowed)
            .unwrap_or_else(|| Cow::Owned(encoding.chars().take(64).collect()));
        Codec {
            telephone_event: is_telephone_event(encoding),
            comfort_noise: encoding.eq_ignore_ascii_case("CN"),
            name,
            clock_rate,
            channels: 1,
        }
    }

    /// Parse the value of an `a=rtpmap:` attribute after the payload type, e.g.
    /// `opus/48000/2`. `None` when the clock rate is missing or not a number.
    pub fn parse_rtpmap(value: &str) -> Option<Codec> {
        let mut parts = value.trim().splitn(3, '/');
        let encoding = parts.next()?.trim();
        let rate: u32 = parts.next()?.trim().parse().ok()?;
        let channels = parts
            .next()
            .and_then(|c| c.trim().parse::<u8>().ok())
            .unwrap_or(1);
        if encoding.is_empty() {
            return None;
        }
        let mut c = Codec::from_rtpmap(encoding, rate);
        c.channels = channels.max(1);
        Some(c)
    }

    /// ITU-T G.113 impairment constants for the E-model, matched on the encoding name
    /// (G.711 when unknown).
    pub fn impairment(&self) -> CodecImpairment {
        CodecImpairment::for_encoding(&self.name)
    }
}

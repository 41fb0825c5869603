//! Is this RTP stream readable voice, or SRTP? Decided from the payloads.
//!
//! SDP can say `RTP/SAVP` and the media still flow in clear (or the other
//! way round), and SDES keys are often never seen by a passive sensor. So
//! the verdict is taken from what is on the wire, by three kinds of
//! evidence gathered in a fixed-size [`Evidence`] (about 600 bytes, no heap):
//!
//! 1. **Byte distribution.** SRTP payloads are AES-CM / AES-GCM ciphertext
//!    plus an authentication tag: their bytes are uniformly distributed.
//!    G.711 speech and silence are not at all: PCMU clusters around
//!    0xFF/0x7F, PCMA around 0xD5/0x55 (the codes for amplitudes near
//!    zero), so a few dozen packets are enough to tell. The test is
//!    Pearson's chi-square against the uniform distribution over 256 byte
//!    values (255 degrees of freedom), normalised as
//!    `z = (chi2 - 255) / sqrt(510)`. Its mean and variance under
//!    uniformity are exact for any sample size (only the tails depend on
//!    the count), so `z` is usable from a few hundred bytes on. The Shannon
//!    entropy (bits/byte, with the Miller–Madow small-sample correction) is
//!    reported for humans; the decision uses `z`.
//! 2. **Payload length.** G.711 carries 8 bytes per millisecond, so a
//!    plaintext payload is a multiple of 8 (160 for 20 ms). SRTP appends a
//!    4-byte (`_32`) or 10-byte (`_80`) tag: 164 or 170 for 20 ms. A constant
//!    length equal to a frame size plus 4 or 10 is strong SRTP evidence; an
//!    exact frame size is plaintext evidence.
//! 3. **Codec structure.** Compressed codecs (Opus, G.729, G.722, iLBC,
//!    GSM) already look nearly random, so uniform bytes alone prove nothing
//!    for them. Encryption is then only claimed with corroboration: a
//!    length that is a frame size plus a tag, or, for Opus, a first payload
//!    byte (the TOC byte: mode, bandwidth, frame size) that varies like a
//!    random byte instead of taking one or two values.
//!    RFC 4733 `telephone-event` payloads are 4-byte blocks (event
//!    0..=16, reserved bit 0): plaintext when they all parse.
//!
//! Structured bytes (`z` far above what random bytes give) always mean
//! plaintext, whatever the codec: ciphertext cannot look like that. (SRTP
//! with the NULL cipher therefore comes out as plaintext, which it is.)

use serde::Serialize;

/// Packets sampled per stream: enough for the tests below, and the cost of
/// every later packet is one counter increment.
pub const SAMPLE_PACKETS: u16 = 64;
// Per-slot packet counts are u8.
const _: () = assert!(SAMPLE_PACKETS < 256);
/// Bytes sampled per packet (from the start of the payload): 4096 bytes over the sample, 16
/// per chi-square bin. 256 gave the same verdict on every capture at four times the cost (the
/// byte histogram was the largest cost of a worker on short calls).
pub const SAMPLE_BYTES_PER_PACKET: usize = 64;
/// Fewer packets than this and the verdict is `Unknown`.
pub const MIN_PACKETS: u32 = 10;
/// Fewer sampled payload bytes than this and byte statistics are not used
/// (the chi-square tails are unreliable below ~1 byte per bin).
pub const MIN_BYTES: u32 = 256;
/// `z` at or below this: consistent with uniformly random bytes. Random
/// bytes exceed it with probability below 0.1 % (the chi-square with 255
/// degrees of freedom is slightly right-skewed: P(z > 4) ≈ 4e-4).
pub const Z_UNIFORM: f64 = 4.0;
/// `z` at or above this: bytes clearly structured, i.e. not ciphertext
/// (probability for random bytes below 1e-9). G.711 audio gives `z` in the
/// hundreds to thousands over 64 packets.
pub const Z_STRUCTURED: f64 = 12.0;
/// Fraction of the dominant payload type's packets that must share one
/// length for length evidence to count.
pub const CONSTANT_LENGTH_FRACTION: f64 = 0.8;
/// SRTP authentication tag sizes (HMAC-SHA1-32 and HMAC-SHA1-80).
pub const SRTP_TAGS: [usize; 2] = [4, 10];

const LEN_SLOTS: usize = 6;

/// Whether an RTP stream's payload is readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Readable media (G.711 audio, valid DTMF events, ...).
    Plaintext,
    /// Ciphertext (SRTP, ZRTP-keyed SRTP, ...).
    Encrypted,
    /// Not enough packets, or the evidence does not decide.
    Unknown,
}

/// A verdict with the figures behind it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VerdictDetail {
    /// The verdict.
    pub verdict: Verdict,
    /// Shannon entropy of the sampled bytes, bits per byte (0..=8), with the
    /// Miller–Madow correction; 0 when nothing was sampled.
    pub entropy_bits: f64,
    /// Normalised chi-square against uniform (see the module docs).
    pub chi_z: f64,
    /// Short human reason.
    pub reason: &'static str,
}

#[derive(Clone, Copy, Debug, Default)]
struct LenSlot {
    pt: u8,
    len: u16,
    /// At most [`SAMPLE_PACKETS`] (< 256).
    count: u8,
    /// Packets of this slot whose payload parses as RFC 4733 events.
    events_ok: u8,
}

/// Evidence gathered from the payloads of one RTP stream. Fixed size; the
/// per-packet cost is bounded by [`SAMPLE_BYTES_PER_PACKET`] for the first
/// [`SAMPLE_PACKETS`] packets and is a counter increment after.
#[derive(Clone, Debug)]
pub struct Evidence {
    hist: [u16; 256],
    first_bytes: [u64; 4],
    lens: [LenSlot; LEN_SLOTS],
    packets: u32,
    sampled_bytes: u32,
    sampled: u16,
    lens_overflow: u16,
}

impl Default for Evidence {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// PCMU / PCMA.
    G711,
    /// Compressed codec with plaintext frame sizes that are multiples of one
    /// of these byte counts.
    Compressed(&'static [usize]),
    Opus,
    TelephoneEvent,
    /// Raw-ish payloads never uniform in clear (L16, CN).
    Raw,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LengthEvidence {
    Plain,
    Srtp,
    None,
}

fn class_of(codec: Option<&str>, dominant_pt: Option<u8>) -> Class {
    let name = match codec {
        Some(c) => c.split('/').next().unwrap_or(""),
        None => match dominant_pt {
            Some(0) => "PCMU",
            Some(8) => "PCMA",
            Some(3) => "GSM",
            Some(9) => "G722",
            Some(13) => "CN",
            Some(18) => "G729",
            _ => "",
        },
    };
    let eq = |s: &str| name.eq_ignore_ascii_case(s);
    if eq("PCMU") || eq("PCMA") {
        Class::G711
    } else if eq("telephone-event") {
        Class::TelephoneEvent
    } else if eq("opus") {
        Class::Opus
    } else if eq("G729") || eq("G729A") || eq("G729B") || eq("G729AB") {
        Class::Compressed(&[10])
    } else if eq("G722") {
        Class::Compressed(&[8])
    } else if eq("GSM") {
        Class::Compressed(&[33])
    } else if eq("iLBC") {
        Class::Compressed(&[38, 50])
    } else if eq("L16") || eq("CN") {
        Class::Raw
    } else {
        Class::Other
    }
}

/// RFC 4733 event blocks: event 0..=16 (DTMF 0-9, *, #, A-D, flash) and
/// the reserved bit clear.
fn events_ok(p: &[u8]) -> bool {
    !p.is_empty()
        && p.len().is_multiple_of(4)
        && p.chunks_exact(4).all(|b| b[0] <= 16 && b[1] & 0x40 == 0)
}

impl Evidence {
    /// Empty evidence.
    pub fn new() -> Self {
        Evidence {
            hist: [0; 256],
            first_bytes: [0; 4],
            lens: [LenSlot::default(); LEN_SLOTS],
            packets: 0,
            sampled_bytes: 0,
            sampled: 0,
            lens_overflow: 0,
        }
    }

    /// Packets sampled so far (feeding stops counting at [`SAMPLE_PACKETS`]: the state of a
    /// long stream is then never touched again, which keeps it out of the cache).
    pub fn packets(&self) -> u32 {
        self.packets
    }

    /// Feed the RTP payload (after the RTP header and any extension, padding
    /// removed) of one packet. Only the first [`SAMPLE_PACKETS`] packets are
    /// sampled, [`SAMPLE_BYTES_PER_PACKET`] bytes each.
    pub fn on_payload(&mut self, payload_type: u8, payload: &[u8]) {
        if self.sampled >= SAMPLE_PACKETS {
            return;
        }
        self.packets = self.packets.saturating_add(1);
        self.sampled += 1;
        let pt = payload_type & 0x7f;
        let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
        let ev = u8::from(events_ok(payload));
        let slot = self
            .lens
            .iter()
            .position(|s| s.count > 0 && s.pt == pt && s.len == len)
            .or_else(|| self.lens.iter().position(|s| s.count == 0));
        match slot.and_then(|i| self.lens.get_mut(i)) {
            Some(s) => {
                s.pt = pt;
                s.len = len;
                s.count += 1;
                s.events_ok += ev;
            }
            None => self.lens_overflow += 1,
        }
        if let Some(&b) = payload.first() {
            self.first_bytes[usize::from(b >> 6)] |= 1u64 << (b & 63);
        }
        let sample = &payload[..payload.len().min(SAMPLE_BYTES_PER_PACKET)];
        for &b in sample {
            self.hist[usize::from(b)] += 1;
        }
        // At most 64 * 64 = 4096: no overflow of the u16 bins.
        self.sampled_bytes += sample.len() as u32;
    }

    /// Shannon entropy of the sampled bytes in bits/byte, Miller–Madow
    /// corrected (adds (m-1)/(2n) nats for m occupied bins), capped at 8.
    pub fn entropy_bits(&self) -> f64 {
        let n = f64::from(self.sampled_bytes);
        if self.sampled_bytes == 0 {
            return 0.0;
        }
        let mut h = 0.0;
        let mut occupied = 0u32;
        for &c in &self.hist {
            if c > 0 {
                occupied += 1;
                let p = f64::from(c) / n;
                h -= p * p.ln();
            }
        }
        let h = h + f64::from(occupied.saturating_sub(1)) / (2.0 * n);
        (h / std::f64::consts::LN_2).min(8.0)
    }

    /// Normalised chi-square of the sampled bytes against uniform:
    /// about N(0, 1) for random bytes, large for structured ones.
    pub fn chi_z(&self) -> f64 {
        if self.sampled_bytes == 0 {
            return 0.0;
        }
        let e = f64::from(self.sampled_bytes) / 256.0;
        let chi2: f64 = self
            .hist
            .iter()
            .map(|&c| {
                let d = f64::from(c) - e;
                d * d / e
            })
            .sum();
        (chi2 - 255.0) / 510f64.sqrt()
    }

    /// Payload type with the most sampled packets.
    fn dominant_pt(&self) -> Option<(u8, u32)> {
        let mut best: Option<(u8, u32)> = None;
        for s in self.lens.iter().filter(|s| s.count > 0) {
            let total: u32 = self
                .lens
                .iter()
                .filter(|t| t.count > 0 && t.pt == s.pt)
                .map(|t| u32::from(t.count))
                .sum();
            if best.is_none_or(|(_, c)| total > c) {
                best = Some((s.pt, total));
            }
        }
        best
    }

    /// Most frequent length of the dominant payload type, if constant enough.
    fn constant_length(&self, pt: u8, pt_packets: u32) -> Option<usize> {
        let s = self
            .lens
            .iter()
            .filter(|s| s.count > 0 && s.pt == pt)
            .max_by_key(|s| s.count)?;
        let frac = f64::from(s.count) / f64::from(pt_packets.max(1));
        (frac >= CONSTANT_LENGTH_FRACTION && s.len > 0).then_some(usize::from(s.len))
    }

    fn first_byte_distinct(&self) -> u32 {
        self.first_bytes.iter().map(|w| w.count_ones()).sum()
    }

    /// The verdict alone; see [`Evidence::verdict_detail`].
    pub fn verdict(&self, codec: Option<&str>, frame_bytes_hint: Option<usize>) -> Verdict {
        self.verdict_detail(codec, frame_bytes_hint).verdict
    }

    /// Decide plaintext / encrypted from the evidence.
    ///
    /// * `codec`: the SDP `rtpmap` encoding of the stream's main payload type,
    ///   e.g. `"PCMA/8000"`, `"opus/48000"`, `"telephone-event/8000"`; when
    ///   `None`, static payload types (0, 3, 8, 9, 13, 18) are used.
    /// * `frame_bytes_hint`: the expected plaintext payload size (e.g. 160
    ///   for G.711 with `a=ptime:20`, 20 for G.729 at 20 ms).
    pub fn verdict_detail(
        &self,
        codec: Option<&str>,
        frame_bytes_hint: Option<usize>,
    ) -> VerdictDetail {
        let entropy_bits = self.entropy_bits();
        let chi_z = self.chi_z();
        let detail = |verdict, reason| VerdictDetail {
            verdict,
            entropy_bits,
            chi_z,
            reason,
        };
        if self.packets < MIN_PACKETS {
            return detail(Verdict::Unknown, "too few packets");
        }
        let Some((pt, pt_packets)) = self.dominant_pt() else {
            return detail(Verdict::Unknown, "too few packets");
        };
        let class = class_of(codec, Some(pt));
        let enough_bytes = self.sampled_bytes >= MIN_BYTES;
        let uniform = enough_bytes && chi_z <= Z_UNIFORM;
        let structured = enough_bytes && chi_z >= Z_STRUCTURED;
        let length = self.length_evidence(class, pt, pt_packets, frame_bytes_hint);

        match class {
            Class::TelephoneEvent => {
                let ok: u32 = self
                    .lens
                    .iter()
                    .filter(|s| s.count > 0 && s.pt == pt)
                    .map(|s| u32::from(s.events_ok))
                    .sum();
                if ok == pt_packets {
                    detail(Verdict::Plaintext, "payloads parse as RFC 4733 events")
                } else if ok * 10 <= pt_packets
                    && self
                        .constant_length(pt, pt_packets)
                        .is_some_and(|l| SRTP_TAGS.iter().any(|t| l == 4 + t))
                {
                    detail(
                        Verdict::Encrypted,
                        "event payloads do not parse and are 4 bytes plus an SRTP tag",
                    )
                } else {
                    detail(Verdict::Unknown, "event payloads partly parse")
                }
            }
            _ if structured => detail(
                Verdict::Plaintext,
                "byte distribution far from uniform: not ciphertext",
            ),
            Class::G711 | Class::Raw => {
                if uniform {
                    detail(
                        Verdict::Encrypted,
                        "uniformly distributed bytes: impossible for this codec in clear",
                    )
                } else if length == LengthEvidence::Srtp {
                    detail(
                        Verdict::Encrypted,
                        "payload length is a frame plus an SRTP tag",
                    )
                } else if length == LengthEvidence::Plain && enough_bytes && chi_z > Z_UNIFORM {
                    detail(
                        Verdict::Plaintext,
                        "exact frame length and non-uniform bytes",
                    )
                } else if !enough_bytes {
                    detail(Verdict::Unknown, "too few payload bytes")
                } else {
                    detail(Verdict::Unknown, "evidence inconclusive")
                }
            }
            Class::Opus => {
                let k = u32::from(self.sampled);
                let expected = 256.0 * (1.0 - (255.0f64 / 256.0).powi(k as i32));
                let distinct = f64::from(self.first_byte_distinct());
                if distinct <= (expected / 4.0).max(2.0) {
                    detail(
                        Verdict::Plaintext,
                        "opus TOC byte nearly constant: readable frames",
                    )
                } else if distinct >= 0.6 * expected && uniform {
                    detail(
                        Verdict::Encrypted,
                        "opus TOC byte random and bytes uniformly distributed",
                    )
                } else {
                    detail(Verdict::Unknown, "evidence inconclusive for opus")
                }
            }
            Class::Compressed(_) => match length {
                LengthEvidence::Srtp if uniform => detail(
                    Verdict::Encrypted,
                    "payload length is a frame plus an SRTP tag and bytes are uniform",
                ),
                LengthEvidence::Plain if enough_bytes && chi_z > Z_UNIFORM => detail(
                    Verdict::Plaintext,
                    "exact frame length and measurably non-uniform bytes",
                ),
                _ => detail(
                    Verdict::Unknown,
                    "compressed codec: bytes look random either way",
                ),
            },
            Class::Other => detail(Verdict::Unknown, "unknown codec and bytes not structured"),
        }
    }

    fn length_evidence(
        &self,
        class: Class,
        pt: u8,
        pt_packets: u32,
        hint: Option<usize>,
    ) -> LengthEvidence {
        let Some(len) = self.constant_length(pt, pt_packets) else {
            return LengthEvidence::None;
        };
        if let Some(h) = hint.filter(|&h| h > 0) {
            if len == h {
                return LengthEvidence::Plain;
            }
            if SRTP_TAGS.iter().any(|&t| len == h.saturating_add(t)) {
                return LengthEvidence::Srtp;
            }
        }
        let units: &[usize] = match class {
            Class::G711 => &[8],
            Class::Compressed(u) => u,
            _ => return LengthEvidence::None,
        };
        let is_frames = |l: usize| units.iter().any(|&u| l >= u && l.is_multiple_of(u));
        let plain = is_frames(len);
        let srtp = SRTP_TAGS.iter().any(|&t| len > t && is_frames(len - t));
        match (plain, srtp) {
            (true, false) => LengthEvidence::Plain,
            (false, true) => LengthEvidence::Srtp,
            _ => LengthEvidence::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn be16(b: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
    }

    /// UDP payloads of a capture, by the crate's decoder.
    fn udp_payloads(rel: &str) -> Vec<Vec<u8>> {
        crate::decode::test_packets(rel)
            .into_iter()
            .filter(|p| p.0 == crate::base::packet::Transport::Udp)
            .map(|p| p.3)
            .collect()
    }

    /// (ssrc, payload type, payload) of an RTP packet, also inside TURN
    /// ChannelData (channel 0x4000..=0x7fff).
    fn rtp(udp: &[u8]) -> Option<(u32, u8, Vec<u8>)> {
        let mut b = udp;
        if let (Some(ch), Some(len)) = (be16(b, 0), be16(b, 2)) {
            if (0x4000..=0x7fff).contains(&ch) {
                b = b.get(4..4 + usize::from(len))?;
            }
        }
        if b.len() < 12 || b[0] >> 6 != 2 {
            return None;
        }
        let pt = b[1] & 0x7f;
        if (72..=76).contains(&pt) {
            return None; // RTCP
        }
        let cc = usize::from(b[0] & 0x0f);
        let mut off = 12 + 4 * cc;
        if b[0] & 0x10 != 0 {
            off += 4 + 4 * usize::from(be16(b, off + 2)?);
        }
        let mut end = b.len();
        if b[0] & 0x20 != 0 {
            end = end.checked_sub(usize::from(*b.last()?))?;
        }
        let payload = b.get(off..end)?;
        let ssrc = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
        Some((ssrc, pt, payload.to_vec()))
    }

    /// Payloads of one SSRC, in capture order.
    fn stream(rel: &str, ssrc: u32) -> Vec<(u8, Vec<u8>)> {
        udp_payloads(rel)
            .iter()
            .filter_map(|u| rtp(u))
            .filter(|r| r.0 == ssrc)
            .map(|r| (r.1, r.2))
            .collect()
    }

    fn evidence(pkts: &[(u8, Vec<u8>)]) -> Evidence {
        let mut e = Evidence::new();
        for (pt, p) in pkts {
            e.on_payload(*pt, p);
        }
        e
    }

    /// xorshift64 keystream: a stand-in for AES-CM.
    struct XorShift(u64);
    impl XorShift {
        fn next_byte(&mut self) -> u8 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            (x >> 32) as u8
        }
    }

    /// "Encrypt": XOR with the keystream and append a 10-byte tag.
    fn fake_srtp(pkts: &[(u8, Vec<u8>)], seed: u64, tag: usize) -> Vec<(u8, Vec<u8>)> {
        let mut ks = XorShift(seed);
        pkts.iter()
            .map(|(pt, p)| {
                let mut c: Vec<u8> = p.iter().map(|b| b ^ ks.next_byte()).collect();
                c.extend((0..tag).map(|_| ks.next_byte()));
                (*pt, c)
            })
            .collect()
    }

    const SIPP: &str = "sipp-uac-pcap-g711.pcap";
    const WS: &str = "public/wireshark-samples/sip-rtp-g711.pcap";
    const WEBRTC: &str = "public/veondigital-srtp_decoder/WebRTC_PCMA_p2p_SDES_Call_1.pcap";
    const TURN: &str = "public/veondigital-srtp_decoder/udp_call_02_03_client.pcap";

    /// (payload type, payload) of the packets of one stream.
    type Packets = Vec<(u8, Vec<u8>)>;

    fn g711_streams() -> Vec<(&'static str, Packets)> {
        vec![
            ("PCMA/8000", stream(SIPP, 0xDEE0EE8F)),
            ("PCMA/8000", stream(WS, 0x343FFA34)),
            ("PCMU/8000", stream(WS, 0x343DA99B)),
        ]
    }

    #[test]
    fn real_g711_is_plaintext() {
        for (codec, pkts) in g711_streams() {
            assert!(pkts.len() >= 236, "{codec}: {} packets", pkts.len());
            let e = evidence(&pkts);
            let d = e.verdict_detail(Some(codec), None);
            eprintln!("{codec}: {d:?} len {}", pkts[0].1.len());
            assert_eq!(d.verdict, Verdict::Plaintext, "{codec}: {d:?}");
            assert!(d.entropy_bits < 7.5, "{codec}: {d:?}");
            // Without SDP: static payload types 0 / 8.
            assert_eq!(e.verdict(None, None), Verdict::Plaintext);
            assert_eq!(e.verdict(Some(codec), Some(160)), Verdict::Plaintext);
            let (pt, n) = e.dominant_pt().expect("packets");
            assert_eq!(
                e.length_evidence(Class::G711, pt, n, None),
                LengthEvidence::Plain
            );
        }
    }

    #[test]
    fn real_g711_xor_keystream_is_encrypted() {
        for (i, (codec, pkts)) in g711_streams().into_iter().enumerate() {
            for tag in SRTP_TAGS {
                let enc = fake_srtp(&pkts, 0x9e37_79b9_7f4a_7c15 ^ i as u64, tag);
                let e = evidence(&enc);
                let d = e.verdict_detail(Some(codec), None);
                eprintln!("{codec} tag {tag}: {d:?}");
                assert_eq!(d.verdict, Verdict::Encrypted, "{codec}: {d:?}");
                assert!(d.entropy_bits > 7.95, "{codec}: {d:?}");
                assert_eq!(e.verdict(None, None), Verdict::Encrypted);
                // 10 packets suffice.
                assert_eq!(
                    evidence(&enc[..10]).verdict(Some(codec), None),
                    Verdict::Encrypted
                );
                assert_eq!(
                    evidence(&enc[..9]).verdict(Some(codec), None),
                    Verdict::Unknown
                );
            }
        }
    }

    #[test]
    fn real_g711_first_ten_packets_decide() {
        for (codec, pkts) in g711_streams() {
            assert_eq!(
                evidence(&pkts[..10]).verdict(Some(codec), None),
                Verdict::Plaintext
            );
            assert_eq!(
                evidence(&pkts[..9]).verdict(Some(codec), None),
                Verdict::Unknown
            );
        }
    }

    #[test]
    fn real_srtp_pcma_is_encrypted() {
        // tshark -o rtp.heuristic_rtp:TRUE -z rtp,streams: two PCMA (PT 8)
        // streams with comfort noise (PT 13), AES_CM_128_HMAC_SHA1_80.
        for ssrc in [0xD092D296, 0x522B93AB] {
            let pkts = stream(WEBRTC, ssrc);
            assert!(pkts.len() >= 227, "{ssrc:08x}: {}", pkts.len());
            let e = evidence(&pkts);
            let d = e.verdict_detail(Some("PCMA/8000"), None);
            eprintln!("{ssrc:08x}: {d:?} len {}", pkts[0].1.len());
            assert_eq!(d.verdict, Verdict::Encrypted, "{ssrc:08x}: {d:?}");
            assert_eq!(e.verdict(None, Some(160)), Verdict::Encrypted);
            // PCMA frames are 160 + 10-byte tag; CN (PT 13) is left out.
            let (pt, n) = e.dominant_pt().expect("packets");
            assert_eq!((pt, e.constant_length(pt, n)), (8, Some(170)));
            assert_eq!(
                e.length_evidence(Class::G711, pt, n, None),
                LengthEvidence::Srtp
            );
        }
    }

    #[test]
    fn real_srtp_opus_over_turn_is_encrypted() {
        // Opus (PT 111) relayed in TURN ChannelData 0x4000, SRTP.
        for ssrc in [0x1C065362, 0x1C065364] {
            let pkts = stream(TURN, ssrc);
            assert!(pkts.len() >= 1500, "{ssrc:08x}: {}", pkts.len());
            let e = evidence(&pkts);
            let d = e.verdict_detail(Some("opus/48000"), None);
            eprintln!("{ssrc:08x}: {d:?} len {}", pkts[0].1.len());
            assert_eq!(d.verdict, Verdict::Encrypted, "{ssrc:08x}: {d:?}");
            // Unknown codec: uniform bytes alone do not prove encryption.
            assert_eq!(e.verdict(Some("X-unknown/8000"), None), Verdict::Unknown);
        }
    }

    #[test]
    fn real_telephone_events_are_plaintext() {
        let pkts = stream(SIPP, 0x0E05384E);
        assert_eq!(pkts.len(), 30);
        let e = evidence(&pkts[..10]);
        assert_eq!(
            e.verdict(Some("telephone-event/8000"), None),
            Verdict::Plaintext
        );
        let enc = fake_srtp(&pkts, 7, 10);
        assert_eq!(
            evidence(&enc).verdict(Some("telephone-event/8000"), None),
            Verdict::Encrypted
        );
    }

    #[test]
    fn opus_toc_constant_is_plaintext() {
        let mut ks = XorShift(42);
        let mut e = Evidence::new();
        for i in 0..50 {
            let mut p = vec![0x78u8];
            p.extend((0..40 + i % 20).map(|_| ks.next_byte()));
            e.on_payload(111, &p);
        }
        assert_eq!(e.verdict(Some("opus/48000"), None), Verdict::Plaintext);
    }

    #[test]
    fn g729_length_evidence() {
        let mut ks = XorShift(3);
        let make = |len: usize, ks: &mut XorShift| {
            let mut e = Evidence::new();
            for _ in 0..40 {
                let p: Vec<u8> = (0..len).map(|_| ks.next_byte()).collect();
                e.on_payload(18, &p);
            }
            e
        };
        // 20 + 4-byte tag: unambiguous SRTP.
        assert_eq!(
            make(24, &mut ks).verdict(Some("G729/8000"), None),
            Verdict::Encrypted
        );
        // 20 + 10 = 30 is also three frames: only the hint decides.
        assert_eq!(
            make(30, &mut ks).verdict(Some("G729/8000"), None),
            Verdict::Unknown
        );
        assert_eq!(
            make(30, &mut ks).verdict(Some("G729/8000"), Some(20)),
            Verdict::Encrypted
        );
        // Random-looking 20-byte frames: could be G.729 or NULL-auth SRTP.
        assert_eq!(
            make(20, &mut ks).verdict(Some("G729/8000"), Some(20)),
            Verdict::Unknown
        );
        assert_eq!(make(20, &mut ks).verdict(None, None), Verdict::Unknown);
    }

    #[test]
    fn too_few_packets_is_unknown() {
        let e = Evidence::new();
        assert_eq!(e.verdict(Some("PCMU/8000"), None), Verdict::Unknown);
        let d = e.verdict_detail(None, None);
        assert_eq!(d.entropy_bits, 0.0);
        let mut e = Evidence::new();
        for _ in 0..9 {
            e.on_payload(0, &[0xff; 160]);
        }
        assert_eq!(e.verdict(Some("PCMU/8000"), None), Verdict::Unknown);
        e.on_payload(0, &[0xff; 160]);
        assert_eq!(e.verdict(Some("PCMU/8000"), None), Verdict::Plaintext);
    }

    #[test]
    fn fixed_size_and_bounded_sampling() {
        assert!(std::mem::size_of::<Evidence>() <= 600);
        let mut e = Evidence::new();
        let big = vec![0xd5u8; 65535 + 100];
        for _ in 0..1000 {
            e.on_payload(8, &big);
        }
        assert_eq!(e.packets(), u32::from(SAMPLE_PACKETS));
        assert_eq!(e.verdict(Some("PCMA/8000"), None), Verdict::Plaintext);
        let mut e = Evidence::new();
        for pt in 0..=255u8 {
            e.on_payload(pt, &[pt; 7]);
            e.on_payload(pt, &[]);
        }
        let _ = e.verdict_detail(None, None);
    }

    proptest! {
        #[test]
        fn any_payload_sequence_never_panics(
            pkts in proptest::collection::vec(
                (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..400)),
                0..80,
            ),
            hint in proptest::option::of(0usize..2000),
        ) {
            let mut e = Evidence::new();
            for (pt, p) in &pkts {
                e.on_payload(*pt, p);
            }
            for codec in [
                None, Some("PCMU/8000"), Some("PCMA/8000"), Some("G729/8000"),
                Some("opus/48000/2"), Some("telephone-event/8000"), Some("iLBC/8000"),
                Some("G722/8000"), Some("L16/16000"), Some(""), Some("/"),
            ] {
                let d = e.verdict_detail(codec, hint);
                prop_assert!(d.entropy_bits.is_finite() && (0.0..=8.0).contains(&d.entropy_bits));
                prop_assert!(d.chi_z.is_finite());
            }
        }
    }
}

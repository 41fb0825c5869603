//! RTP fixed header (RFC 3550 §5.1) and UDP payload demultiplexing (RFC 7983, RFC 5761).

use rtp_rs::RtpReader;

/// What a UDP payload most likely carries, from its first two bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Rtp,
    Rtcp,
    Stun,
    Dtls,
    Zrtp,
    Other,
}

/// Demultiplex a UDP payload the way RFC 7983 §7 does, then split RTP from RTCP as
/// RFC 5761 §4 does.
///
/// First byte `B`:
/// * `0..=3` STUN, `16..=19` ZRTP, `20..=63` DTLS, `64..=79` TURN channel (→ `Other`),
/// * `128..=191` RTP or RTCP (version 2): the second byte (RTCP packet type, or marker bit plus
///   RTP payload type) in `200..=207` (SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR) means RTCP,
///   anything else RTP. RTCP needs at least its 8-byte header plus SSRC, RTP its 12-byte header.
/// * anything else, or too short: `Other`.
pub fn classify(payload: &[u8]) -> Kind {
    let Some(&b0) = payload.first() else {
        return Kind::Other;
    };
    match b0 {
        0..=3 if payload.len() >= 20 => Kind::Stun,
        16..=19 => Kind::Zrtp,
        20..=63 => Kind::Dtls,
        128..=191 => match payload.get(1) {
            Some(200..=207) if payload.len() >= 8 => Kind::Rtcp,
            Some(200..=207) => Kind::Other,
            Some(_) if payload.len() >= 12 => Kind::Rtp,
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}

/// The fields of one RTP packet header that the analysis needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtpInfo {
    pub ssrc: u32,
    pub seq: u16,
    pub timestamp: u32,
    pub payload_type: u8,
    pub marker: bool,
    pub csrc_count: u8,
    /// Header extension present (RFC 3550 §5.3.1); its id when so.
    pub extension: Option<u16>,
    /// Bytes of padding at the end (0 when the P bit is clear).
    pub padding: u8,
    /// Fixed header + CSRCs + extension, in bytes: the payload starts here.
    pub header_len: usize,
    /// Payload bytes, padding excluded.
    pub payload_len: usize,
}

/// Read an RTP header: version 2 only, CSRC list and header extension skipped, trailing
/// padding (P bit, count in the last byte, 1..=remaining) removed from the payload.
/// `None` when the buffer is shorter than the headers it announces, the version is not 2,
/// or the padding count is 0 or larger than what follows the headers.
pub fn parse_rtp(payload: &[u8]) -> Option<RtpInfo> {
    let r = RtpReader::new(payload).ok()?;
    let header_len = r.payload_offset();
    let padding = if payload.first().copied().unwrap_or(0) & 0x20 != 0 {
        *payload.last()?
    } else {
        0
    };
    let payload_len = payload
        .len()
        .checked_sub(header_len)?
        .checked_sub(padding as usize)?;
    Some(RtpInfo {
        ssrc: r.ssrc(),
        seq: u16::from(r.sequence_number()),
        timestamp: r.timestamp(),
        payload_type: r.payload_type(),
        marker: r.mark(),
        csrc_count: r.csrc_count(),
        extension: r.extension().map(|(id, _)| id),
        padding,
        header_len,
        payload_len,
    })
}

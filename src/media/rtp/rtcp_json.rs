//! RTCP reports as HEP agents send them (HEP protocol type 5, "RTCP JSON": rtpengine's
//! `homer` output, captagent, Asterisk's res_hep_rtcp): one JSON object per RTCP packet it
//! relayed, with the sender information and report blocks of an SR or RR and the SDES CNAMEs
//! (rtpengine leaves BYE and APP out; a BYE+SDES packet becomes an SDES-only object). They become the same
//! [`RtcpPacket`]s a captured RTCP datagram gives, so they feed the stream quality figures of
//! the streams whose SSRC they report on.
//!
//! Untrusted: the object is read with serde into the few fields used; unknown fields are
//! ignored, numbers out of range or of the wrong type make the whole report an error, and at
//! most [`MAX_ITEMS`] report blocks are kept.

use serde::Deserialize;

use super::rtcp::{ReportBlock, RtcpPacket, SdesChunk, SenderInfo, MAX_ITEMS};

/// The largest JSON report read (a real one is a few hundred bytes).
pub const MAX_JSON: usize = 16 * 1024;

#[derive(Deserialize)]
struct Report {
    /// The sender's SSRC and the RTCP type (200 SR, 201 RR); absent in an SDES-only report.
    ssrc: Option<u32>,
    #[serde(rename = "type")]
    kind: Option<u8>,
    sender_information: Option<Sender>,
    #[serde(default)]
    report_blocks: Vec<Block>,
    #[serde(default)]
    sdes_information: Vec<Sdes>,
}

#[derive(Deserialize)]
struct Sender {
    ntp_timestamp_sec: u32,
    ntp_timestamp_usec: u32,
    #[serde(default)]
    octets: u32,
    #[serde(default)]
    rtp_timestamp: u32,
    #[serde(default)]
    packets: u32,
}

#[derive(Deserialize)]
struct Block {
    source_ssrc: u32,
    #[serde(default)]
    highest_seq_no: u32,
    #[serde(default)]
    fraction_lost: u8,
    #[serde(default)]
    ia_jitter: u32,
    #[serde(default)]
    packets_lost: i32,
    #[serde(default)]
    lsr: u32,
    #[serde(default)]
    dlsr: u32,
}

#[derive(Deserialize)]
struct Sdes {
    sdes_chunk_ssrc: u32,
    /// The SDES item type (1: CNAME).
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    text: String,
}

/// The NTP fraction of a sender report. The field is named for microseconds, and some agents
/// fill it so; rtpengine writes the raw 32-bit fraction. A value of a million or more can only
/// be the latter (a microsecond value below a million is taken as one).
fn ntp_fraction(usec: u32) -> u32 {
    if usec >= 1_000_000 {
        usec
    } else {
        ((u64::from(usec) << 32) / 1_000_000) as u32
    }
}

/// The RTCP packets a JSON report describes: an SR (type 200) or RR (201) with its report
/// blocks, and the SDES CNAMEs it lists; an error for anything malformed or empty.
pub fn parse(json: &[u8]) -> Result<Vec<RtcpPacket>, String> {
    if json.len() > MAX_JSON {
        return Err(format!("{} bytes: too long", json.len()));
    }
    let r: Report = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    let reports: Vec<ReportBlock> = r
        .report_blocks
        .iter()
        .take(MAX_ITEMS)
        .map(|b| ReportBlock {
            ssrc: b.source_ssrc,
            fraction_lost: b.fraction_lost,
            cumulative_lost: b.packets_lost.clamp(-0x80_0000, 0x7f_ffff),
            ext_highest_seq: b.highest_seq_no,
            jitter: b.ia_jitter,
            lsr: b.lsr,
            dlsr: b.dlsr,
        })
        .collect();
    let mut packets = Vec::with_capacity(2);
    match (r.kind, r.ssrc, r.sender_information) {
        (Some(200), Some(ssrc), Some(s)) => packets.push(RtcpPacket::SenderReport {
            ssrc,
            sender: SenderInfo {
                ntp_msw: s.ntp_timestamp_sec,
                ntp_lsw: ntp_fraction(s.ntp_timestamp_usec),
                rtp_timestamp: s.rtp_timestamp,
                packet_count: s.packets,
                octet_count: s.octets,
            },
            reports,
        }),
        (Some(201), Some(ssrc), _) => packets.push(RtcpPacket::ReceiverReport { ssrc, reports }),
        (None, None, None) if reports.is_empty() => {}
        (kind, _, _) => return Err(format!("RTCP type {kind:?} without what it needs")),
    }
    let chunks: Vec<SdesChunk> = r
        .sdes_information
        .iter()
        .take(MAX_ITEMS)
        .filter(|c| c.kind == 1)
        .map(|c| SdesChunk {
            ssrc: c.sdes_chunk_ssrc,
            cname: Some(c.text.chars().take(255).collect()),
        })
        .collect();
    if !chunks.is_empty() {
        packets.push(RtcpPacket::SourceDescription { chunks });
    }
    if packets.is_empty() {
        return Err("no report".to_string());
    }
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rtpengine 10.5's report of an SR with one block and the sender's CNAME (its spacing).
    const RTPENGINE_SR: &[u8] = br#"{ "sender_information":{"ntp_timestamp_sec":4005559612,"ntp_timestamp_usec":2849972793,"octets":40160,"rtp_timestamp":101195, "packets":251},"ssrc":139391576,"type":200,"report_count":1,"report_blocks":[{"source_ssrc":4033552663,"highest_seq_no":6713,"fraction_lost":0,"ia_jitter":8,"packets_lost":0,"lsr":4248611194,"dlsr":65}],"sdes_report_count":1,"sdes_information": [ {"sdes_chunk_ssrc":139391576,"type":1,"text":"sip:caller@127.0.0.76"}] }"#;

    #[test]
    fn a_sender_report_with_a_block_and_a_cname() {
        let p = parse(RTPENGINE_SR).unwrap();
        let RtcpPacket::SenderReport {
            ssrc,
            sender,
            reports,
        } = &p[0]
        else {
            panic!("{p:?}")
        };
        assert_eq!(
            (*ssrc, sender.packet_count, sender.octet_count),
            (139_391_576, 251, 40160)
        );
        // rtpengine's "usec" is the raw NTP fraction.
        assert_eq!(
            (sender.ntp_msw, sender.ntp_lsw),
            (4_005_559_612, 2_849_972_793)
        );
        assert_eq!(
            reports[0],
            ReportBlock {
                ssrc: 4_033_552_663,
                fraction_lost: 0,
                cumulative_lost: 0,
                ext_highest_seq: 6713,
                jitter: 8,
                lsr: 4_248_611_194,
                dlsr: 65,
            }
        );
        assert_eq!(
            p[1],
            RtcpPacket::SourceDescription {
                chunks: vec![SdesChunk {
                    ssrc: 139_391_576,
                    cname: Some("sip:caller@127.0.0.76".into())
                }]
            }
        );
        // Microseconds, as other agents write them, become the fraction.
        let us = br#"{"ssrc":1,"type":200,"sender_information":{"ntp_timestamp_sec":1,"ntp_timestamp_usec":500000}}"#;
        let RtcpPacket::SenderReport { sender, .. } = &parse(us).unwrap()[0] else {
            panic!()
        };
        assert_eq!(sender.ntp_lsw, 1 << 31);
    }

    #[test]
    fn an_sdes_only_report_and_bad_ones() {
        let sdes = br#"{ "sdes_report_count":1,"sdes_information": [ {"sdes_chunk_ssrc":139391576,"type":1,"text":"sip:caller@127.0.0.76"}] }"#;
        assert!(matches!(
            &parse(sdes).unwrap()[..],
            [RtcpPacket::SourceDescription { .. }]
        ));
        for bad in [
            &b"{"[..],
            b"[]",
            b"{}",
            br#"{"ssrc":-1,"type":201}"#,
            br#"{"ssrc":1,"type":200}"#,
            br#"{"ssrc":1,"type":203}"#,
            br#"{"ssrc":1,"type":201,"report_blocks":[{"source_ssrc":"x"}]}"#,
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let rr = parse(br#"{"ssrc":1,"type":201,"report_blocks":[]}"#).unwrap();
        assert!(matches!(rr[0], RtcpPacket::ReceiverReport { ssrc: 1, .. }));
    }
}

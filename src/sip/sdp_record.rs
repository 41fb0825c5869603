//! An SDP body as Suricata's EVE writes it (`sip.sdp`): each line's value under Suricata's
//! name, session level and one object per media description, so that what reads Suricata's
//! SIP records reads the sensor's. Secrets are cut as everywhere in the sensor: `a=crypto`
//! keeps its suite and key method, not the key; `ice-pwd` keeps nothing; `k=` keeps its method.
//! Bounded: each value at most [`MAX_VALUE`] bytes, at most [`MAX_ITEMS`] of each list.

use crate::sip::text::{Find, Trim};
use serde::{Deserialize, Serialize};

use super::sdp::attribute_value;

/// Longest value kept (bytes, cut at a character boundary).
pub const MAX_VALUE: usize = 256;
/// Most attributes, bandwidths, time descriptions or media descriptions kept.
pub const MAX_ITEMS: usize = 32;

/// `t=` and its `r=` lines.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct TimeDescription {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub repeat_time: Option<String>,
}

/// One `m=` section.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct MediaDescription {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub media: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub media_info: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub bandwidths: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub connection_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_key: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub attributes: Vec<String>,
}

/// The `sdp` object of a `sip` record.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct SdpRecord {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub origin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub connection_data: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub bandwidths: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub time_descriptions: Vec<TimeDescription>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub encryption_key: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub attributes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub media_descriptions: Vec<MediaDescription>,
}

/// `parts` joined and cut to [`MAX_VALUE`] bytes at a character boundary: one allocation.
fn joined(parts: &[&str]) -> String {
    let mut out =
        String::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>().min(MAX_VALUE));
    for p in parts {
        let room = MAX_VALUE - out.len();
        let mut end = p.len().min(room);
        while !p.is_char_boundary(end) {
            end -= 1;
        }
        out.push_str(&p[..end]);
        if end < p.len() {
            break;
        }
    }
    out
}

/// A value as an owned string (lossy UTF-8), cut to [`MAX_VALUE`] bytes.
fn text(v: &[u8]) -> String {
    match std::str::from_utf8(v) {
        // The usual value: valid and short, copied as it is.
        Ok(s) if s.len() <= MAX_VALUE => s.to_owned(),
        _ => joined(&[&String::from_utf8_lossy(v)]),
    }
}

/// An `a=` line's text with its secret cut (see [`attribute_value`]).
fn attribute(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    match s.split_once_byte(b':') {
        Some((name, value)) => {
            joined(&[name, ":", attribute_value(name, Some(value)).unwrap_or("")])
        }
        None => joined(&[&s]),
    }
}

/// A `k=` value without its key: `prompt` as it is, `clear:KEY`, `base64:KEY`, `uri:URI` as
/// their method and the colon.
fn encryption_key(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    match s.split_once_byte(b':') {
        Some((method, _)) => joined(&[method, ":"]),
        None => joined(&[&s]),
    }
}

fn push<T>(list: &mut Vec<T>, item: T) {
    if list.len() < MAX_ITEMS {
        list.push(item);
    }
}

impl SdpRecord {
    /// Read an SDP body, line by line (`\n` or `\r\n`); lines that are not `x=value` are
    /// skipped. `None` when no line is.
    pub fn from_body(body: &[u8]) -> Option<SdpRecord> {
        let mut r = SdpRecord::default();
        let mut any = false;
        // Whether the section is a media description, and whether the one at its end was kept.
        let mut in_media = false;
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let [letter, b'=', value @ ..] = line else {
                continue;
            };
            any = true;
            if *letter == b'm' {
                in_media = r.media_descriptions.len() < MAX_ITEMS;
                push(
                    &mut r.media_descriptions,
                    MediaDescription {
                        media: Some(text(value)),
                        ..MediaDescription::default()
                    },
                );
                continue;
            }
            if in_media {
                let Some(m) = r.media_descriptions.last_mut() else {
                    continue;
                };
                match letter {
                    b'i' => m.media_info = Some(text(value)),
                    b'c' => m.connection_data = Some(text(value)),
                    b'b' => push(&mut m.bandwidths, text(value)),
                    b'k' => m.encryption_key = Some(encryption_key(value)),
                    b'a' => push(&mut m.attributes, attribute(value)),
                    _ => {}
                }
                continue;
            }
            if r.media_descriptions.len() >= MAX_ITEMS {
                // Past the last media description kept: nothing more is read.
                continue;
            }
            match letter {
                b'v' => {
                    r.version = std::str::from_utf8(value)
                        .ok()
                        .and_then(|v| v.trim_ws().parse().ok())
                }
                b'o' => r.origin = Some(text(value)),
                b's' => r.session_name = Some(text(value)),
                b'i' => r.session_info = Some(text(value)),
                b'u' => r.uri = Some(text(value)),
                b'e' => r.email = Some(text(value)),
                b'p' => r.phone_number = Some(text(value)),
                b'c' => r.connection_data = Some(text(value)),
                b'b' => push(&mut r.bandwidths, text(value)),
                b't' => push(
                    &mut r.time_descriptions,
                    TimeDescription {
                        time: Some(text(value)),
                        repeat_time: None,
                    },
                ),
                b'r' => {
                    if let Some(t) = r.time_descriptions.last_mut() {
                        t.repeat_time = Some(text(value));
                    }
                }
                b'z' => r.timezone = Some(text(value)),
                b'k' => r.encryption_key = Some(encryption_key(value)),
                b'a' => push(&mut r.attributes, attribute(value)),
                _ => {}
            }
        }
        any.then_some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suricatas_layout_with_secrets_cut() {
        let body = b"v=0\r\no=SIPPS 1 2 IN IP4 192.168.1.2\r\ns=SIP call\r\nb=AS:64\r\n\
t=3034423619 3042462419\r\nr=604800 3600 0 90000\r\nz=2882844526 -1h 2898848070 0\r\n\
k=clear:secretkey\r\na=sendrecv\r\nm=audio 30000 RTP/SAVP 0\r\ni=media info\r\n\
c=IN IP4 192.168.1.2\r\nk=prompt\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n\
a=ice-pwd:asd88fgpdd777uzjYhagZg\r\na=rtpmap:0 PCMU/8000\r\n";
        let r = SdpRecord::from_body(body).unwrap();
        assert_eq!(r.version, Some(0));
        assert_eq!(r.origin.as_deref(), Some("SIPPS 1 2 IN IP4 192.168.1.2"));
        assert_eq!(r.bandwidths, vec!["AS:64"]);
        assert_eq!(
            r.time_descriptions,
            vec![TimeDescription {
                time: Some("3034423619 3042462419".into()),
                repeat_time: Some("604800 3600 0 90000".into()),
            }]
        );
        assert_eq!(r.encryption_key.as_deref(), Some("clear:"));
        assert_eq!(r.attributes, vec!["sendrecv"]);
        let m = &r.media_descriptions[0];
        assert_eq!(m.media.as_deref(), Some("audio 30000 RTP/SAVP 0"));
        assert_eq!(m.encryption_key.as_deref(), Some("prompt"));
        assert_eq!(
            m.attributes,
            vec![
                "crypto:1 AES_CM_128_HMAC_SHA1_80 inline:",
                "ice-pwd:",
                "rtpmap:0 PCMU/8000"
            ]
        );
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            !json.contains("secretkey") && !json.contains("WVNfX19z") && !json.contains("asd88")
        );
    }

    #[test]
    fn bounded_and_tolerant() {
        assert!(SdpRecord::from_body(b"not sdp at all").is_none());
        let mut body = Vec::new();
        for i in 0..1000 {
            body.extend_from_slice(
                format!("m=audio {i} RTP/AVP 0\na=x{}\n", "y".repeat(1000)).as_bytes(),
            );
        }
        let r = SdpRecord::from_body(&body).unwrap();
        assert_eq!(r.media_descriptions.len(), MAX_ITEMS);
        assert!(r.media_descriptions[0].attributes[0].len() <= MAX_VALUE);
        // Bytes that are not UTF-8 are replaced, not a failure.
        let r = SdpRecord::from_body(b"s=\xff\xfe\n").unwrap();
        assert_eq!(r.session_name.as_deref(), Some("\u{fffd}\u{fffd}"));
    }
}

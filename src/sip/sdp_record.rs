//! An SDP body as Suricata's EVE writes it (`sip.sdp`): each line's value under Suricata's
//! name, session level and one object per media description, so that what reads Suricata's
//! SIP records reads the sensor's. Secrets are cut as everywhere in the sensor: `a=crypto`
//! keeps its suite and key method, not the key; `ice-pwd` keeps nothing; `k=` keeps its method.
//! Bounded: each value at most [`MAX_VALUE`] bytes, at most [`MAX_ITEMS`] of each list.

use crate::sip::text::{Find, Trim};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

use super::sdp::{attribute_value, within};
use std::borrow::Cow;

/// Longest value kept (bytes, cut at a character boundary).
pub const MAX_VALUE: usize = 256;
/// Most attributes, bandwidths, time descriptions or media descriptions kept.
pub const MAX_ITEMS: usize = 32;

/// `t=` and its `r=` lines, as read back from a record.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct TimeDescription {
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub repeat_time: Option<String>,
}

/// One `m=` section, as read back from a record.
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct MediaDescription {
    #[serde(default)]
    pub media: Option<String>,
    #[serde(default)]
    pub media_info: Option<String>,
    #[serde(default)]
    pub bandwidths: Vec<String>,
    #[serde(default)]
    pub connection_data: Option<String>,
    #[serde(default)]
    pub encryption_key: Option<String>,
    #[serde(default)]
    pub attributes: Vec<String>,
}

/// The `sdp` object of a `sip` record as read back from a record: the documented layout (a
/// record with a field it does not name is refused).
#[derive(Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct SdpFields {
    #[serde(default)]
    pub version: Option<u32>,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub session_name: Option<String>,
    #[serde(default)]
    pub session_info: Option<String>,
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub connection_data: Option<String>,
    #[serde(default)]
    pub bandwidths: Vec<String>,
    #[serde(default)]
    pub time_descriptions: Vec<TimeDescription>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub encryption_key: Option<String>,
    #[serde(default)]
    pub attributes: Vec<String>,
    #[serde(default)]
    pub media_descriptions: Vec<MediaDescription>,
}

/// Where a value is in [`SdpRecord`]'s text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Clone, Debug, PartialEq, Default)]
struct Time {
    time: Option<Span>,
    repeat_time: Option<Span>,
}

#[derive(Clone, Debug, PartialEq, Default)]
struct Media {
    media: Option<Span>,
    media_info: Option<Span>,
    bandwidths: Vec<Span>,
    connection_data: Option<Span>,
    encryption_key: Option<Span>,
    attributes: Vec<Span>,
}

/// The `sdp` object of a `sip` record. Its values are kept one after another in one string
/// (each field says where its value is): a body costs one text allocation, not one per line.
/// Written as [`SdpFields`] reads: each field under Suricata's name, in Suricata's order, an
/// absent value or an empty list left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SdpRecord {
    text: String,
    version: Option<u32>,
    origin: Option<Span>,
    session_name: Option<Span>,
    session_info: Option<Span>,
    uri: Option<Span>,
    email: Option<Span>,
    phone_number: Option<Span>,
    connection_data: Option<Span>,
    bandwidths: Vec<Span>,
    time_descriptions: Vec<Time>,
    timezone: Option<Span>,
    encryption_key: Option<Span>,
    attributes: Vec<Span>,
    media_descriptions: Vec<Media>,
}

/// `parts` joined onto `out` and cut to [`MAX_VALUE`] bytes at a character boundary.
fn joined(out: &mut String, parts: &[&str]) -> Span {
    let start = out.len();
    for p in parts {
        let room = MAX_VALUE - (out.len() - start);
        let mut end = p.len().min(room);
        while !p.is_char_boundary(end) {
            end -= 1;
        }
        out.push_str(&p[..end]);
        if end < p.len() {
            break;
        }
    }
    span(start, out.len())
}

fn span(start: usize, end: usize) -> Span {
    // A value is cut to MAX_VALUE bytes of a body under the header cap: far below u32::MAX.
    let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Span {
        start: at(start),
        end: at(end),
    }
}

/// A value onto `out`, cut to [`MAX_VALUE`] bytes.
fn text(out: &mut String, s: &str) -> Span {
    if s.len() <= MAX_VALUE {
        // The usual value: short, copied as it is.
        let start = out.len();
        out.push_str(s);
        span(start, out.len())
    } else {
        joined(out, &[s])
    }
}

/// An `a=` line's text with its secret cut (see [`attribute_value`]).
fn attribute(out: &mut String, s: &str) -> Span {
    match s.split_once_byte(b':') {
        Some((name, value)) => joined(
            out,
            &[name, ":", attribute_value(name, Some(value)).unwrap_or("")],
        ),
        None => joined(out, &[s]),
    }
}

/// A `k=` value without its key: `prompt` as it is, `clear:KEY`, `base64:KEY`, `uri:URI` as
/// their method and the colon.
fn encryption_key(out: &mut String, s: &str) -> Span {
    match s.split_once_byte(b':') {
        Some((method, _)) => joined(out, &[method, ":"]),
        None => joined(out, &[s]),
    }
}

impl SdpRecord {
    /// Read an SDP body, line by line (`\n` or `\r\n`); lines that are not `x=value` are
    /// skipped. `None` when no line is.
    pub fn from_body(body: &[u8]) -> Option<SdpRecord> {
        let mut r = SdpRecord {
            // The values are parts of the body: room for a usual body's at once.
            text: String::with_capacity(body.len().min(1024)),
            ..SdpRecord::default()
        };
        let mut any = false;
        // Whether the section is a media description, and whether the one at its end was kept.
        let mut in_media = false;
        // A body valid as a whole (the usual one) is checked once; a value of another is read
        // lossily.
        let valid = std::str::from_utf8(body).ok();
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let [letter, b'=', value @ ..] = line else {
                continue;
            };
            any = true;
            let value = match valid.and_then(|t| within(t, body, value)) {
                Some(v) => Cow::Borrowed(v),
                None => String::from_utf8_lossy(value),
            };
            let value = &*value;
            let t = &mut r.text;
            if *letter == b'm' {
                in_media = r.media_descriptions.len() < MAX_ITEMS;
                if in_media {
                    let media = Some(text(t, value));
                    r.media_descriptions.push(Media {
                        media,
                        ..Media::default()
                    });
                }
                continue;
            }
            if in_media {
                let Some(m) = r.media_descriptions.last_mut() else {
                    continue;
                };
                match letter {
                    b'i' => m.media_info = Some(text(t, value)),
                    b'c' => m.connection_data = Some(text(t, value)),
                    b'b' if m.bandwidths.len() < MAX_ITEMS => m.bandwidths.push(text(t, value)),
                    b'k' => m.encryption_key = Some(encryption_key(t, value)),
                    b'a' if m.attributes.len() < MAX_ITEMS => {
                        m.attributes.push(attribute(t, value))
                    }
                    _ => {}
                }
                continue;
            }
            if r.media_descriptions.len() >= MAX_ITEMS {
                // Past the last media description kept: nothing more is read.
                continue;
            }
            match letter {
                b'v' => r.version = value.trim_ws().parse().ok(),
                b'o' => r.origin = Some(text(t, value)),
                b's' => r.session_name = Some(text(t, value)),
                b'i' => r.session_info = Some(text(t, value)),
                b'u' => r.uri = Some(text(t, value)),
                b'e' => r.email = Some(text(t, value)),
                b'p' => r.phone_number = Some(text(t, value)),
                b'c' => r.connection_data = Some(text(t, value)),
                b'b' if r.bandwidths.len() < MAX_ITEMS => r.bandwidths.push(text(t, value)),
                b't' if r.time_descriptions.len() < MAX_ITEMS => {
                    let time = Some(text(t, value));
                    r.time_descriptions.push(Time {
                        time,
                        repeat_time: None,
                    })
                }
                b'r' => {
                    if let Some(last) = r.time_descriptions.last_mut() {
                        last.repeat_time = Some(text(t, value));
                    }
                }
                b'z' => r.timezone = Some(text(t, value)),
                b'k' => r.encryption_key = Some(encryption_key(t, value)),
                b'a' if r.attributes.len() < MAX_ITEMS => r.attributes.push(attribute(t, value)),
                _ => {}
            }
        }
        // A record waits in its transaction: it keeps no room its values do not use (a body
        // of lines that are not kept would otherwise cost its size a transaction).
        if r.text.capacity() > 2 * r.text.len() + 64 {
            r.text.shrink_to_fit();
        }
        any.then_some(r)
    }

    /// The record as its documented fields (what reading it back from JSON gives).
    pub fn fields(&self) -> SdpFields {
        let s = |sp: &Option<Span>| sp.map(|sp| self.str(sp).to_string());
        let list = |v: &[Span]| v.iter().map(|&sp| self.str(sp).to_string()).collect();
        SdpFields {
            version: self.version,
            origin: s(&self.origin),
            session_name: s(&self.session_name),
            session_info: s(&self.session_info),
            uri: s(&self.uri),
            email: s(&self.email),
            phone_number: s(&self.phone_number),
            connection_data: s(&self.connection_data),
            bandwidths: list(&self.bandwidths),
            time_descriptions: self
                .time_descriptions
                .iter()
                .map(|t| TimeDescription {
                    time: s(&t.time),
                    repeat_time: s(&t.repeat_time),
                })
                .collect(),
            timezone: s(&self.timezone),
            encryption_key: s(&self.encryption_key),
            attributes: list(&self.attributes),
            media_descriptions: self
                .media_descriptions
                .iter()
                .map(|m| MediaDescription {
                    media: s(&m.media),
                    media_info: s(&m.media_info),
                    bandwidths: list(&m.bandwidths),
                    connection_data: s(&m.connection_data),
                    encryption_key: s(&m.encryption_key),
                    attributes: list(&m.attributes),
                })
                .collect(),
        }
    }

    /// A record holding these fields' values (how a record read back from JSON is kept).
    pub fn from_fields(f: &SdpFields) -> SdpRecord {
        let mut p = Packer(String::new());
        let mut r = SdpRecord {
            version: f.version,
            origin: p.put(f.origin.as_deref()),
            session_name: p.put(f.session_name.as_deref()),
            session_info: p.put(f.session_info.as_deref()),
            uri: p.put(f.uri.as_deref()),
            email: p.put(f.email.as_deref()),
            phone_number: p.put(f.phone_number.as_deref()),
            connection_data: p.put(f.connection_data.as_deref()),
            bandwidths: p.list(&f.bandwidths),
            time_descriptions: f
                .time_descriptions
                .iter()
                .map(|t| Time {
                    time: p.put(t.time.as_deref()),
                    repeat_time: p.put(t.repeat_time.as_deref()),
                })
                .collect(),
            timezone: p.put(f.timezone.as_deref()),
            encryption_key: p.put(f.encryption_key.as_deref()),
            attributes: p.list(&f.attributes),
            media_descriptions: f
                .media_descriptions
                .iter()
                .map(|m| Media {
                    media: p.put(m.media.as_deref()),
                    media_info: p.put(m.media_info.as_deref()),
                    bandwidths: p.list(&m.bandwidths),
                    connection_data: p.put(m.connection_data.as_deref()),
                    encryption_key: p.put(m.encryption_key.as_deref()),
                    attributes: p.list(&m.attributes),
                })
                .collect(),
            text: String::new(),
        };
        r.text = p.0;
        r
    }

    /// The text of a value (empty for a span that is not in the text, which none is).
    fn str(&self, sp: Span) -> &str {
        self.text
            .get(sp.start as usize..sp.end as usize)
            .unwrap_or_default()
    }
}

/// Values put one after another in one string, each given back as where it is.
struct Packer(String);

impl Packer {
    fn put(&mut self, v: Option<&str>) -> Option<Span> {
        v.map(|v| {
            let start = self.0.len();
            self.0.push_str(v);
            span(start, self.0.len())
        })
    }

    fn list(&mut self, v: &[String]) -> Vec<Span> {
        v.iter().filter_map(|x| self.put(Some(x))).collect()
    }
}

/// A list of values, written as a JSON array of strings.
struct Strs<'a>(&'a SdpRecord, &'a [Span]);

impl Serialize for Strs<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.1.iter().map(|&sp| self.0.str(sp)))
    }
}

/// One time description, written as Suricata does.
struct TimeOut<'a>(&'a SdpRecord, &'a Time);

impl Serialize for TimeOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (r, t) = (self.0, self.1);
        let mut st = s.serialize_struct("TimeDescription", 2)?;
        opt(&mut st, r, "time", t.time)?;
        opt(&mut st, r, "repeat_time", t.repeat_time)?;
        st.end()
    }
}

/// One media description, written as Suricata does.
struct MediaOut<'a>(&'a SdpRecord, &'a Media);

impl Serialize for MediaOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (r, m) = (self.0, self.1);
        let mut st = s.serialize_struct("MediaDescription", 6)?;
        opt(&mut st, r, "media", m.media)?;
        opt(&mut st, r, "media_info", m.media_info)?;
        list(&mut st, r, "bandwidths", &m.bandwidths)?;
        opt(&mut st, r, "connection_data", m.connection_data)?;
        opt(&mut st, r, "encryption_key", m.encryption_key)?;
        list(&mut st, r, "attributes", &m.attributes)?;
        st.end()
    }
}

fn opt<S: SerializeStruct>(
    st: &mut S,
    r: &SdpRecord,
    name: &'static str,
    v: Option<Span>,
) -> Result<(), S::Error> {
    match v {
        Some(sp) => st.serialize_field(name, r.str(sp)),
        None => Ok(()),
    }
}

fn list<S: SerializeStruct>(
    st: &mut S,
    r: &SdpRecord,
    name: &'static str,
    v: &[Span],
) -> Result<(), S::Error> {
    if v.is_empty() {
        return Ok(());
    }
    st.serialize_field(name, &Strs(r, v))
}

impl Serialize for SdpRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self;
        let mut st = s.serialize_struct("SdpRecord", 14)?;
        if let Some(v) = r.version {
            st.serialize_field("version", &v)?;
        }
        opt(&mut st, r, "origin", r.origin)?;
        opt(&mut st, r, "session_name", r.session_name)?;
        opt(&mut st, r, "session_info", r.session_info)?;
        opt(&mut st, r, "uri", r.uri)?;
        opt(&mut st, r, "email", r.email)?;
        opt(&mut st, r, "phone_number", r.phone_number)?;
        opt(&mut st, r, "connection_data", r.connection_data)?;
        list(&mut st, r, "bandwidths", &r.bandwidths)?;
        if !r.time_descriptions.is_empty() {
            st.serialize_field(
                "time_descriptions",
                &Seq(r.time_descriptions.iter().map(|t| TimeOut(r, t))),
            )?;
        }
        opt(&mut st, r, "timezone", r.timezone)?;
        opt(&mut st, r, "encryption_key", r.encryption_key)?;
        list(&mut st, r, "attributes", &r.attributes)?;
        if !r.media_descriptions.is_empty() {
            st.serialize_field(
                "media_descriptions",
                &Seq(r.media_descriptions.iter().map(|m| MediaOut(r, m))),
            )?;
        }
        st.end()
    }
}

/// An iterator written as a JSON array (cloned to be walked: it borrows).
struct Seq<I>(I);

impl<I: Iterator + Clone> Serialize for Seq<I>
where
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone())
    }
}

impl<'de> Deserialize<'de> for SdpRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SdpRecord, D::Error> {
        SdpFields::deserialize(d).map(|f| SdpRecord::from_fields(&f))
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
        let record = SdpRecord::from_body(body).unwrap();
        let r = record.fields();
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
        let json = serde_json::to_string(&record).unwrap();
        assert!(
            !json.contains("secretkey") && !json.contains("WVNfX19z") && !json.contains("asd88")
        );
        // Suricata's names in Suricata's order, what is absent left out.
        assert_eq!(
            json,
            r#"{"version":0,"origin":"SIPPS 1 2 IN IP4 192.168.1.2","session_name":"SIP call","bandwidths":["AS:64"],"time_descriptions":[{"time":"3034423619 3042462419","repeat_time":"604800 3600 0 90000"}],"timezone":"2882844526 -1h 2898848070 0","encryption_key":"clear:","attributes":["sendrecv"],"media_descriptions":[{"media":"audio 30000 RTP/SAVP 0","media_info":"media info","connection_data":"IN IP4 192.168.1.2","encryption_key":"prompt","attributes":["crypto:1 AES_CM_128_HMAC_SHA1_80 inline:","ice-pwd:","rtpmap:0 PCMU/8000"]}]}"#
        );
        // Read back, it is the same record, written the same way.
        let back: SdpRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back.fields(), r);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        // A field it does not name is refused.
        assert!(serde_json::from_str::<SdpRecord>(r#"{"version":0,"key":"x"}"#).is_err());
    }

    /// A value given twice keeps the last; `r=` belongs to the `t=` before it; nothing past the
    /// caps is kept, and a media section past the cap ends the reading.
    #[test]
    fn the_last_value_wins_and_the_caps_hold() {
        let mut body = String::from("v=0\r\ns=first\r\ns=second\r\nr=orphan\r\n");
        for i in 0..40 {
            body.push_str(&format!("t={i} 0\r\nr={i}\r\n"));
        }
        for i in 0..40 {
            body.push_str(&format!("a=x{i}\r\n"));
        }
        body.push_str("m=audio 1 RTP/AVP 0\r\nc=IN IP4 a\r\nc=IN IP4 b\r\n");
        let r = SdpRecord::from_body(body.as_bytes()).unwrap().fields();
        assert_eq!(r.session_name.as_deref(), Some("second"));
        assert_eq!(r.time_descriptions.len(), MAX_ITEMS);
        // The 33rd to 40th t= are not kept: their r= lines go to the last kept one.
        let last = &r.time_descriptions[MAX_ITEMS - 1];
        assert_eq!(last.time.as_deref(), Some("31 0"));
        assert_eq!(last.repeat_time.as_deref(), Some("39"));
        assert_eq!(r.attributes.len(), MAX_ITEMS);
        assert_eq!(r.attributes[MAX_ITEMS - 1], "x31");
        assert_eq!(r.media_descriptions.len(), 1);
        assert_eq!(
            r.media_descriptions[0].connection_data.as_deref(),
            Some("IN IP4 b")
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
        let r = SdpRecord::from_body(&body).unwrap().fields();
        assert_eq!(r.media_descriptions.len(), MAX_ITEMS);
        assert!(r.media_descriptions[0].attributes[0].len() <= MAX_VALUE);
        // A body of lines that are not kept leaves no room behind in the record.
        let junk = "x".repeat(60_000);
        let r = SdpRecord::from_body(format!("v=0\n{junk}\n").as_bytes()).unwrap();
        assert!(r.text.capacity() <= 128, "{}", r.text.capacity());
        // Bytes that are not UTF-8 are replaced, not a failure.
        let r = SdpRecord::from_body(b"s=\xff\xfe\n").unwrap().fields();
        assert_eq!(r.session_name.as_deref(), Some("\u{fffd}\u{fffd}"));
    }
}

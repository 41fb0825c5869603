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

/// What a kept line is, by its letter. At session level `i=` is `session_info`, at media level
/// `media_info`; `c=`, `b=`, `k=` and `a=` are the session's or the media description's by
/// where they stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Origin,
    SessionName,
    Info,
    Uri,
    Email,
    Phone,
    Connection,
    Bandwidth,
    Time,
    RepeatTime,
    Timezone,
    Key,
    Attribute,
    Media,
}

/// One kept value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Item {
    field: Field,
    span: Span,
}

/// The `sdp` object of a `sip` record. Its values are kept one after another in one string,
/// and what each is in one list, in the body's order (the session's lines, then each `m=`
/// followed by its own): a body costs two allocations, not one per line or list. A value given
/// twice in a section keeps the last. Written as [`SdpFields`] reads: each
/// field under Suricata's name, in Suricata's order, an absent value or an empty list left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SdpRecord {
    text: String,
    version: Option<u32>,
    items: Vec<Item>,
}

/// A part of the record: the session level, or one media description (its `m=` first).
#[derive(Clone, Copy)]
pub struct Section<'r> {
    text: &'r str,
    items: &'r [Item],
}

/// What a field of Suricata's layout holds: one value (the last given), a list of them, the
/// time descriptions, or the media descriptions.
#[derive(Clone, Copy)]
pub enum Shape {
    One(&'static str, Field),
    List(&'static str, Field),
    Times,
    Media,
}

/// The session level's fields in Suricata's order (`version` comes first, apart).
pub const SESSION: [Shape; 13] = [
    Shape::One("origin", Field::Origin),
    Shape::One("session_name", Field::SessionName),
    Shape::One("session_info", Field::Info),
    Shape::One("uri", Field::Uri),
    Shape::One("email", Field::Email),
    Shape::One("phone_number", Field::Phone),
    Shape::One("connection_data", Field::Connection),
    Shape::List("bandwidths", Field::Bandwidth),
    Shape::Times,
    Shape::One("timezone", Field::Timezone),
    Shape::One("encryption_key", Field::Key),
    Shape::List("attributes", Field::Attribute),
    Shape::Media,
];

/// A media description's fields in Suricata's order.
pub const MEDIA: [Shape; 6] = [
    Shape::One("media", Field::Media),
    Shape::One("media_info", Field::Info),
    Shape::List("bandwidths", Field::Bandwidth),
    Shape::One("connection_data", Field::Connection),
    Shape::One("encryption_key", Field::Key),
    Shape::List("attributes", Field::Attribute),
];

/// The span of a time or media description read back without its value.
const ABSENT: Span = Span {
    start: u32::MAX,
    end: u32::MAX,
};

impl<'r> Section<'r> {
    /// The text of a value (`None` for [`ABSENT`]).
    fn str(&self, sp: Span) -> Option<&'r str> {
        self.text.get(sp.start as usize..sp.end as usize)
    }

    /// The value of `f` (the last, where a list was read back with two).
    pub fn one(&self, f: Field) -> Option<&'r str> {
        let text = *self;
        self.items
            .iter()
            .rev()
            .find(|i| i.field == f)
            .and_then(move |i| text.str(i.span))
    }

    /// Every value of `f`, in order.
    pub fn list(&self, f: Field) -> impl Iterator<Item = &'r str> + Clone + 'r {
        let text = *self;
        self.items
            .iter()
            .filter(move |i| i.field == f)
            .filter_map(move |i| text.str(i.span))
    }

    /// Whether `f` has a value.
    pub fn has(&self, f: Field) -> bool {
        self.items.iter().any(|i| i.field == f)
    }

    /// The time descriptions: each `t=` with the last `r=` after it (before the next `t=`).
    pub fn times(&self) -> impl Iterator<Item = (Option<&'r str>, Option<&'r str>)> + Clone + 'r {
        let text = *self;
        let items = self.items;
        items.iter().enumerate().filter_map(move |(n, i)| {
            if i.field != Field::Time {
                return None;
            }
            let after = &items[n + 1..];
            let end = after
                .iter()
                .position(|j| j.field == Field::Time)
                .unwrap_or(after.len());
            let repeat = after[..end]
                .iter()
                .rev()
                .find(|j| j.field == Field::RepeatTime)
                .and_then(|j| text.str(j.span));
            Some((text.str(i.span), repeat))
        })
    }
}

/// Counts of what the caps bound: at session level and in the current media description.
#[derive(Default)]
struct Counts {
    bandwidths: usize,
    times: usize,
    attributes: usize,
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
        // Room for every line of the body at once (an upper bound: each kept line ends with
        // a `\n` or the body).
        let lines = memchr::memchr_iter(b'\n', body).count() + 1;
        let mut r = SdpRecord {
            // The values are parts of the body: room for a usual body's at once.
            text: String::with_capacity(body.len().min(1024)),
            version: None,
            items: Vec::with_capacity(lines.min(4 * MAX_ITEMS)),
        };
        let mut any = false;
        // Media descriptions kept; the counts of the session and of the current media.
        let (mut media, mut session, mut current) = (0usize, Counts::default(), Counts::default());
        // Where the current section (session level, or a media description) and the current
        // time description start in the list.
        let (mut section, mut time) = (0usize, 0usize);
        // A body valid as a whole (the usual one) is checked once; a value of another is read
        // lossily.
        let valid = std::str::from_utf8(body).ok();
        // The lines as `split` at `\n` gives them, each end found by memchr.
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', body).chain([body.len()]) {
            let line = &body[start..end];
            start = end + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let [letter, b'=', value @ ..] = line else {
                continue;
            };
            any = true;
            if *letter == b'm' && media == MAX_ITEMS {
                // Past the last media description kept: nothing more is read.
                break;
            }
            let value = match valid.and_then(|t| within(t, body, value)) {
                Some(v) => Cow::Borrowed(v),
                None => String::from_utf8_lossy(value),
            };
            let value = &*value;
            let in_media = media > 0;
            let counts = if in_media { &mut current } else { &mut session };
            let field = match letter {
                b'm' => {
                    media += 1;
                    current = Counts::default();
                    Field::Media
                }
                b'v' if !in_media => {
                    r.version = value.trim_ws().parse().ok();
                    continue;
                }
                b'o' if !in_media => Field::Origin,
                b's' if !in_media => Field::SessionName,
                b'i' => Field::Info,
                b'u' if !in_media => Field::Uri,
                b'e' if !in_media => Field::Email,
                b'p' if !in_media => Field::Phone,
                b'c' => Field::Connection,
                b'b' if counts.bandwidths < MAX_ITEMS => {
                    counts.bandwidths += 1;
                    Field::Bandwidth
                }
                b't' if !in_media && counts.times < MAX_ITEMS => {
                    counts.times += 1;
                    Field::Time
                }
                // `r=` belongs to the last `t=` kept.
                b'r' if !in_media && counts.times > 0 => Field::RepeatTime,
                b'z' if !in_media => Field::Timezone,
                b'k' => Field::Key,
                b'a' if counts.attributes < MAX_ITEMS => {
                    counts.attributes += 1;
                    Field::Attribute
                }
                _ => continue,
            };
            let t = &mut r.text;
            let span = match field {
                Field::Key => encryption_key(t, value),
                Field::Attribute => attribute(t, value),
                _ => text(t, value),
            };
            // A value given again replaces the one before in its section (its `t=` for an
            // `r=`), so the list stays as bounded as the caps.
            let (from, single) = match field {
                Field::Media => {
                    section = r.items.len();
                    (section, false)
                }
                Field::Time => {
                    time = r.items.len();
                    (time, false)
                }
                Field::RepeatTime => (time, true),
                Field::Bandwidth | Field::Attribute => (section, false),
                _ => (section, true),
            };
            match r.items[from..]
                .iter_mut()
                .find(|i| single && i.field == field)
            {
                Some(same) => same.span = span,
                None => r.items.push(Item { field, span }),
            }
        }
        // A record waits in its transaction: it keeps no room its values do not use (a body
        // of lines that are not kept would otherwise cost its size a transaction).
        if r.text.capacity() > 2 * r.text.len() + 64 {
            r.text.shrink_to_fit();
        }
        any.then_some(r)
    }

    /// `v=`'s number.
    pub fn version(&self) -> Option<u32> {
        self.version
    }

    /// The media descriptions, each from its `m=` to the next.
    pub fn media(&self) -> impl Iterator<Item = Section<'_>> + Clone + '_ {
        let text = self.text.as_str();
        let items = self.items.as_slice();
        items.iter().enumerate().filter_map(move |(n, i)| {
            if i.field != Field::Media {
                return None;
            }
            let after = &items[n + 1..];
            let end = after
                .iter()
                .position(|j| j.field == Field::Media)
                .map_or(items.len(), |e| n + 1 + e);
            Some(Section {
                text,
                items: &items[n..end],
            })
        })
    }

    /// Whether there is a media description.
    pub fn has_media(&self) -> bool {
        self.items.iter().any(|i| i.field == Field::Media)
    }

    /// The session level's lines (those before the first `m=`).
    pub fn session(&self) -> Section<'_> {
        let end = self
            .items
            .iter()
            .position(|i| i.field == Field::Media)
            .unwrap_or(self.items.len());
        Section {
            text: &self.text,
            items: &self.items[..end],
        }
    }

    /// The record as its documented fields (what reading it back from JSON gives).
    pub fn fields(&self) -> SdpFields {
        let own = self.session();
        let s = |sec: &Section<'_>, f| sec.one(f).map(str::to_string);
        let list = |sec: &Section<'_>, f| sec.list(f).map(str::to_string).collect();
        SdpFields {
            version: self.version,
            origin: s(&own, Field::Origin),
            session_name: s(&own, Field::SessionName),
            session_info: s(&own, Field::Info),
            uri: s(&own, Field::Uri),
            email: s(&own, Field::Email),
            phone_number: s(&own, Field::Phone),
            connection_data: s(&own, Field::Connection),
            bandwidths: list(&own, Field::Bandwidth),
            time_descriptions: own
                .times()
                .map(|(t, r)| TimeDescription {
                    time: t.map(str::to_string),
                    repeat_time: r.map(str::to_string),
                })
                .collect(),
            timezone: s(&own, Field::Timezone),
            encryption_key: s(&own, Field::Key),
            attributes: list(&own, Field::Attribute),
            media_descriptions: self
                .media()
                .map(|m| MediaDescription {
                    media: s(&m, Field::Media),
                    media_info: s(&m, Field::Info),
                    bandwidths: list(&m, Field::Bandwidth),
                    connection_data: s(&m, Field::Connection),
                    encryption_key: s(&m, Field::Key),
                    attributes: list(&m, Field::Attribute),
                })
                .collect(),
        }
    }

    /// A record holding these fields' values (how a record read back from JSON is kept).
    pub fn from_fields(f: &SdpFields) -> SdpRecord {
        let mut r = SdpRecord {
            version: f.version,
            ..SdpRecord::default()
        };
        let mut put = |field, v: Option<&str>| {
            let span = match v {
                Some(v) => {
                    let start = r.text.len();
                    r.text.push_str(v);
                    span(start, r.text.len())
                }
                None => ABSENT,
            };
            r.items.push(Item { field, span });
        };
        let session = [
            (Field::Origin, &f.origin),
            (Field::SessionName, &f.session_name),
            (Field::Info, &f.session_info),
            (Field::Uri, &f.uri),
            (Field::Email, &f.email),
            (Field::Phone, &f.phone_number),
            (Field::Connection, &f.connection_data),
            (Field::Timezone, &f.timezone),
            (Field::Key, &f.encryption_key),
        ];
        for (field, v) in session {
            if v.is_some() {
                put(field, v.as_deref());
            }
        }
        for v in &f.bandwidths {
            put(Field::Bandwidth, Some(v));
        }
        for v in &f.attributes {
            put(Field::Attribute, Some(v));
        }
        for t in &f.time_descriptions {
            put(Field::Time, t.time.as_deref());
            if t.repeat_time.is_some() {
                put(Field::RepeatTime, t.repeat_time.as_deref());
            }
        }
        for m in &f.media_descriptions {
            put(Field::Media, m.media.as_deref());
            for (field, v) in [
                (Field::Info, &m.media_info),
                (Field::Connection, &m.connection_data),
                (Field::Key, &m.encryption_key),
            ] {
                if v.is_some() {
                    put(field, v.as_deref());
                }
            }
            for v in &m.bandwidths {
                put(Field::Bandwidth, Some(v));
            }
            for v in &m.attributes {
                put(Field::Attribute, Some(v));
            }
        }
        r
    }
}

/// A list of values, written as a JSON array of strings.
struct Strs<I>(I);

impl<'r, I: Iterator<Item = &'r str> + Clone> Serialize for Strs<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone())
    }
}

/// One time description, written as Suricata does.
struct TimeOut<'a>(Option<&'a str>, Option<&'a str>);

impl Serialize for TimeOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("TimeDescription", 2)?;
        if let Some(t) = self.0 {
            st.serialize_field("time", t)?;
        }
        if let Some(r) = self.1 {
            st.serialize_field("repeat_time", r)?;
        }
        st.end()
    }
}

/// A section's fields of `layout`, written as Suricata does (with the record's media
/// descriptions, at session level).
struct SectionOut<'a> {
    own: Section<'a>,
    record: Option<&'a SdpRecord>,
    layout: &'static [Shape],
    version: Option<u32>,
}

impl Serialize for SectionOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("SdpRecord", 14)?;
        if let Some(v) = self.version {
            st.serialize_field("version", &v)?;
        }
        for &shape in self.layout {
            match shape {
                Shape::One(name, f) => {
                    if let Some(v) = self.own.one(f) {
                        st.serialize_field(name, v)?;
                    }
                }
                Shape::List(name, f) => {
                    if self.own.has(f) {
                        st.serialize_field(name, &Strs(self.own.list(f)))?;
                    }
                }
                Shape::Times => {
                    if self.own.has(Field::Time) {
                        let times = self.own.times().map(|(t, r)| TimeOut(t, r));
                        st.serialize_field("time_descriptions", &Seq(times))?;
                    }
                }
                Shape::Media => {
                    let Some(r) = self.record.filter(|r| r.has_media()) else {
                        continue;
                    };
                    let media = r.media().map(|m| SectionOut {
                        own: m,
                        record: None,
                        layout: &MEDIA,
                        version: None,
                    });
                    st.serialize_field("media_descriptions", &Seq(media))?;
                }
            }
        }
        st.end()
    }
}

impl Serialize for SdpRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SectionOut {
            own: self.session(),
            record: Some(self),
            layout: &SESSION,
            version: self.version,
        }
        .serialize(s)
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

    /// A value repeated thousands of times replaces itself: the list stays at one item a
    /// section, whatever the body repeats; a description read back without its value is
    /// written without it.
    #[test]
    fn repeats_replace_and_absent_values_stay_absent() {
        let mut body = String::from("v=0\r\nt=0 0\r\n");
        for i in 0..5000 {
            body.push_str(&format!("c=IN IP4 {i}\r\nr={i}\r\n"));
        }
        body.push_str("m=audio 1 RTP/AVP 0\r\n");
        for i in 0..5000 {
            body.push_str(&format!("i={i}\r\nk=prompt\r\n"));
        }
        let r = SdpRecord::from_body(body.as_bytes()).unwrap();
        assert_eq!(r.items.len(), 6, "{:?}", r.items);
        let f = r.fields();
        assert_eq!(f.connection_data.as_deref(), Some("IN IP4 4999"));
        assert_eq!(f.time_descriptions[0].repeat_time.as_deref(), Some("4999"));
        assert_eq!(f.media_descriptions[0].media_info.as_deref(), Some("4999"));
        let json = r#"{"time_descriptions":[{"repeat_time":"1"}],"media_descriptions":[{"attributes":["x"]}]}"#;
        let back: SdpRecord = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        assert_eq!(back.fields().time_descriptions[0].time, None);
        assert_eq!(back.fields().media_descriptions[0].media, None);
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

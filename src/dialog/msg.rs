//! The owned summary of one SIP message that the transaction and dialog tables keep: what the
//! records need, copied out of the borrowed parse. Credentials never get here, only the user
//! name and realm.

use crate::sip::text::Trim;
use serde::{Deserialize, Serialize};

use crate::base::packet::PacketCtx;
use crate::sip::header::{NameAddr, Via};
use crate::sip::parser::{SipMessage, StartLine};
use crate::sip::sdp;
use crate::sip::sdp_record::SdpRecord;
use crate::sip::View;
use std::borrow::Cow;

/// One media line of an SDP body, as the call record shows it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MediaLine {
    pub media: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub addr: Option<String>,
    pub port: u16,
    pub proto: Cow<'static, str>,
    pub codecs: Vec<Cow<'static, str>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    /// `sendrecv`, `sendonly`, `recvonly` or `inactive`.
    pub direction: Option<Cow<'static, str>>,
    /// Inline SRTP keys (a=crypto) were offered; the keys themselves are never kept.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub crypto: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub fingerprint: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub rtcp_mux: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub zrtp: bool,
    /// The m= line's formats (payload types), in the order of `codecs`.
    #[serde(skip)]
    pub formats: Vec<Cow<'static, str>>,
    /// An a=crypto line carried its key inline (the key itself is never kept).
    #[serde(skip)]
    pub inline_key: bool,
}

/// An SDP body's media lines, shared: the worker makes them once, and the message, the call's
/// offer or answer and its record hold the same lines (a call used to copy every string of
/// them). Reads as a slice; none is no allocation; written as a JSON array.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaLines(Option<std::sync::Arc<[MediaLine]>>);

impl From<Vec<MediaLine>> for MediaLines {
    fn from(v: Vec<MediaLine>) -> MediaLines {
        MediaLines((!v.is_empty()).then(|| v.into()))
    }
}

impl std::ops::Deref for MediaLines {
    type Target = [MediaLine];
    fn deref(&self) -> &[MediaLine] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl<'a> IntoIterator for &'a MediaLines {
    type Item = &'a MediaLine;
    type IntoIter = std::slice::Iter<'a, MediaLine>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Serialize for MediaLines {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for MediaLines {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MediaLines, D::Error> {
        Vec::<MediaLine>::deserialize(d).map(MediaLines::from)
    }
}

impl MediaLine {
    /// How the line protects its media: "dtls-srtp", "sdes-srtp", "srtp" (other keying),
    /// "zrtp", or "rtp" (plaintext).
    pub fn protection(&self) -> &'static str {
        let savp = self
            .proto
            .as_bytes()
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"SAVP"));
        match (savp, self.fingerprint, self.crypto) {
            (true, true, _) => "dtls-srtp",
            (true, _, true) => "sdes-srtp",
            (true, _, _) => "srtp",
            _ if self.zrtp => "zrtp",
            _ => "rtp",
        }
    }

    /// The codec of a payload type on this line.
    pub fn codec_of(&self, pt: u8) -> Option<&str> {
        let mut digits = itoa::Buffer::new();
        let pt = digits.format(pt);
        self.formats
            .iter()
            .position(|f| f == pt)
            .and_then(|i| self.codecs.get(i))
            .map(|c| &**c)
    }
}

#[cfg(test)]
mod tests {
    use super::{clip, Party, PartyFields};

    /// Shared media lines are written as the list they replace, read back from it, shared by
    /// a clone (not copied), and none of them is the empty default.
    #[test]
    fn media_lines_are_shared_and_written_as_a_list() {
        use super::{MediaLine, MediaLines};
        let line = MediaLine {
            media: "audio".into(),
            addr: Some("192.0.2.1".into()),
            port: 4000,
            proto: "RTP/AVP".into(),
            codecs: vec!["PCMU/8000".into()],
            direction: None,
            crypto: false,
            fingerprint: false,
            rtcp_mux: false,
            zrtp: false,
            formats: vec!["0".into()],
            inline_key: false,
        };
        let as_vec = vec![line.clone()];
        let lines = MediaLines::from(as_vec.clone());
        assert_eq!(
            serde_json::to_string(&lines).unwrap(),
            serde_json::to_string(&as_vec).unwrap()
        );
        let shared = lines.clone();
        assert!(std::ptr::eq(shared.as_ptr(), lines.as_ptr()));
        let back: MediaLines =
            serde_json::from_str(&serde_json::to_string(&lines).unwrap()).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].codecs, line.codecs);
        assert_eq!(MediaLines::from(Vec::new()), MediaLines::default());
        assert!(MediaLines::default().is_empty());
        assert_eq!(serde_json::to_string(&MediaLines::default()).unwrap(), "[]");
    }

    /// Shared words read as the text they replace: payload type numbers, codecs (usual,
    /// static and other, long encodings cut), media kinds and profiles.
    #[test]
    fn shared_words_are_the_text_they_replace() {
        use super::{codec_name, common, format_text, static_codec, MEDIA_KINDS, STATIC_CODECS};
        use std::borrow::Cow;
        for n in 0..300 {
            let t = n.to_string();
            assert_eq!(format_text(&t), t.as_str());
            assert_eq!(matches!(format_text(&t), Cow::Borrowed(_)), n < 128, "{n}");
            if let Some(c) = static_codec(&t) {
                assert!(STATIC_CODECS.contains(&c), "{c}");
            }
        }
        for f in ["007", "00", "t38", "", "1000", &"9".repeat(40)] {
            assert_eq!(format_text(f), clip(f, 16));
            assert!(matches!(format_text(f), Cow::Owned(_)));
        }
        let long = "x".repeat(40);
        for (enc, clock) in [
            ("PCMU", 8000),
            ("opus", 48000),
            ("H261", 90000),
            ("foo", 1),
            (long.as_str(), u32::MAX),
        ] {
            let want = format!("{}/{clock}", clip(enc, 32));
            assert_eq!(codec_name(enc, clock), want.as_str());
        }
        assert!(matches!(codec_name("PCMU", 8000), Cow::Borrowed(_)));
        assert!(matches!(codec_name("pcmu", 8000), Cow::Owned(_)));
        assert!(matches!(
            common("audio", 32, MEDIA_KINDS),
            Cow::Borrowed("audio")
        ));
        assert_eq!(common(&long, 32, MEDIA_KINDS), clip(&long, 32));
    }

    #[test]
    fn clip_cuts_at_a_char_boundary() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("abcdef", 3), "abc");
        assert_eq!(clip("aé", 2), "a");
    }

    fn to(display: Option<&str>, tag: Option<&str>) -> Party {
        Party::from(PartyFields {
            display: display.map(str::to_string),
            user: Some("2000".into()),
            host: "pbx.example".into(),
            tag: tag.map(str::to_string),
        })
    }

    #[test]
    fn a_tag_from_the_same_party_shares_it_and_from_another_keeps_its_own_fields() {
        let request = to(Some("Desk"), None);
        let mut kept = request.clone();
        let response = to(Some("Desk"), Some("as8e"));
        kept.set_tag_from(&response);
        assert_eq!(kept, response);
        assert!(std::sync::Arc::ptr_eq(&kept.0, &response.0));
        // The message the record was taken from keeps its own party.
        assert_eq!(request.tag, None);

        // A response whose To says more than the tag: only the tag is taken.
        let mut kept = request.clone();
        kept.set_tag_from(&to(Some("Other"), Some("b1")));
        assert_eq!(kept.display.as_deref(), Some("Desk"));
        assert_eq!(kept.tag.as_deref(), Some("b1"));
        assert_eq!(request.tag, None);
    }
}

/// A party of a SIP message (From, To, P-Asserted-Identity): never with credentials.
///
/// Shared: a message's parties are kept by its transaction, its call, the fraud detector and
/// the alerts, so a copy is a reference count rather than four strings. Its fields read
/// through [`PartyFields`]; a write (the To tag a response gives) copies a shared party first.
#[derive(Debug, Clone, PartialEq)]
pub struct Party(std::sync::Arc<PartyFields>);

/// The empty party, shared: a record made with defaults (then filled) allocates none.
impl Default for Party {
    fn default() -> Party {
        static EMPTY: std::sync::LazyLock<Party> =
            std::sync::LazyLock::new(|| Party(std::sync::Arc::default()));
        EMPTY.clone()
    }
}

impl std::ops::Deref for Party {
    type Target = PartyFields;
    fn deref(&self) -> &PartyFields {
        &self.0
    }
}

impl std::ops::DerefMut for Party {
    fn deref_mut(&mut self) -> &mut PartyFields {
        std::sync::Arc::make_mut(&mut self.0)
    }
}

impl Party {
    /// Takes `other`'s tag (the To tag a response gives): shares `other` when it is this party
    /// with another tag, and copies this one only when they differ in more than the tag.
    pub fn set_tag_from(&mut self, other: &Party) {
        if self.tag == other.tag {
            return;
        }
        if self.display == other.display && self.user == other.user && self.host == other.host {
            *self = other.clone();
        } else {
            self.tag = other.tag.clone();
        }
    }
}

impl From<PartyFields> for Party {
    fn from(f: PartyFields) -> Party {
        Party(std::sync::Arc::new(f))
    }
}

impl Serialize for Party {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Party {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Party, D::Error> {
        PartyFields::deserialize(d).map(Party::from)
    }
}

/// What a [`Party`] holds.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct PartyFields {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub display: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user: Option<String>,
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tag: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthInfo {
    pub scheme: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub realm: Option<String>,
}

impl AuthInfo {
    /// Give the room of its strings to `spare`.
    pub fn give_strings(self, spare: &mut Spare) {
        spare.keep(self.scheme);
        spare.keep_opt(self.username);
        spare.keep_opt(self.realm);
    }
}

/// What a message says of digest authentication beyond names (for the posture detector):
/// never a nonce, response or password, only facts about them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DigestFacts {
    /// Challenges (over every WWW-/Proxy-Authenticate header): the algorithms offered (MD5 also
    /// when none is named, its default), whether qop was offered, stale=true, and the hash of
    /// the first nonce.
    pub md5: bool,
    pub sha256: bool,
    pub qop: bool,
    pub stale: bool,
    pub nonce: Option<u64>,
    /// Credentials carry a digest response (a guessable hash, on a plaintext transport).
    pub response: bool,
}

/// A parsed SIP message, owned.
#[derive(Debug, Clone)]
pub struct Msg {
    pub ctx: PacketCtx,
    /// Capture position, for a deterministic order of what is written at timeouts.
    pub seq: u64,
    pub method: Option<String>,
    pub uri: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub call_id: Option<String>,
    pub cseq: Option<(u32, String)>,
    pub branch: Option<String>,
    pub via_transport: Option<String>,
    pub from: Option<Party>,
    pub to: Option<Party>,
    pub user_agent: Option<String>,
    pub server: Option<String>,
    /// P-Asserted-Identity (the identity a trusted network vouches for).
    pub pai: Option<Party>,
    /// The STIR/SHAKEN Identity header (RFC 8224), as sent: a PASSporT (a signed JWT, no secret).
    pub identity: Option<String>,
    /// The Contact URI.
    pub contact: Option<String>,
    pub auth: Option<AuthInfo>,
    pub challenge: Option<AuthInfo>,
    pub digest: DigestFacts,
    pub content_type: Option<String>,
    pub expires: Option<u32>,
    pub media: Option<MediaLines>,
    /// The SDP body in Suricata's layout, for the `sip` record (secrets cut); shared, so the
    /// transaction that keeps it does not copy its strings.
    pub sdp: Option<std::sync::Arc<SdpRecord>>,
    pub warnings: Vec<&'static str>,
    /// Text buffers of fields that a refill left empty (a response has no method or URI, a
    /// request no reason), kept for the next message that has them.
    pub spare: Spare,
}

/// A few emptied strings kept for reuse: a refilled message's fields take their room from
/// here, and so do the records made of messages. A clone starts without any.
#[derive(Debug)]
pub struct Spare {
    strings: Vec<String>,
    max: usize,
}

impl Default for Spare {
    /// As many as a message's optional text fields.
    fn default() -> Spare {
        Spare::new(16)
    }
}

impl Clone for Spare {
    fn clone(&self) -> Spare {
        Spare::new(self.max)
    }
}

impl Spare {
    /// Keeping at most `max` strings.
    pub fn new(max: usize) -> Spare {
        Spare {
            strings: Vec::new(),
            max,
        }
    }

    /// An empty string, with room when one is kept.
    pub fn get(&mut self) -> String {
        self.strings.pop().unwrap_or_default()
    }

    /// `s` copied into a kept string.
    pub fn copy(&mut self, s: &str) -> String {
        self.join(&[s])
    }

    /// `parts` one after another in a kept string.
    pub fn join(&mut self, parts: &[&str]) -> String {
        let mut t = self.get();
        for p in parts {
            t.push_str(p);
        }
        t
    }

    /// How many strings are kept.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.strings.len()
    }

    /// [`Spare::copy`] of an optional string.
    pub fn copy_opt(&mut self, s: Option<&str>) -> Option<String> {
        s.map(|s| self.copy(s))
    }

    /// Keep `s`'s room.
    pub fn keep(&mut self, mut s: String) {
        if self.strings.len() < self.max && s.capacity() > 0 {
            s.clear();
            self.strings.push(s);
        }
    }

    /// Keep the room of an optional string.
    pub fn keep_opt(&mut self, s: Option<String>) {
        if let Some(s) = s {
            self.keep(s);
        }
    }
}

impl Msg {
    pub fn is_request(&self) -> bool {
        self.method.is_some()
    }

    pub fn cseq_method(&self) -> &str {
        self.cseq.as_ref().map_or("", |c| c.1.as_str())
    }

    pub fn from_tag(&self) -> Option<&str> {
        self.from.as_ref().and_then(|p| p.tag.as_deref())
    }

    pub fn to_tag(&self) -> Option<&str> {
        self.to.as_ref().and_then(|p| p.tag.as_deref())
    }

    /// Copy what the tables need out of a parsed message.
    pub fn from_parsed(m: &SipMessage<'_>, ctx: PacketCtx, seq: u64) -> Msg {
        Msg::from_view(&View::new(m), ctx, seq)
    }

    /// [`Msg::from_parsed`] through a view the signatures already read (From and To parsed
    /// once for both).
    pub fn from_view(v: &View<'_, '_>, ctx: PacketCtx, seq: u64) -> Msg {
        let mut m = Msg::empty(ctx);
        m.fill(v, ctx, seq);
        m
    }

    /// A summary with nothing in it, to [`Msg::fill`].
    pub fn empty(ctx: PacketCtx) -> Msg {
        Msg {
            ctx,
            seq: 0,
            method: None,
            uri: None,
            status: None,
            reason: None,
            call_id: None,
            cseq: None,
            branch: None,
            via_transport: None,
            from: None,
            to: None,
            user_agent: None,
            server: None,
            pai: None,
            identity: None,
            contact: None,
            auth: None,
            challenge: None,
            digest: DigestFacts::default(),
            content_type: None,
            expires: None,
            media: None,
            sdp: None,
            warnings: Vec::new(),
            spare: Spare::default(),
        }
    }

    /// Overwrite every field with what the viewed message says, keeping the text buffers this
    /// summary already has: a worker refills recycled summaries, so a steady flow of SIP
    /// allocates nothing per message but its SDP.
    pub fn fill(&mut self, v: &View<'_, '_>, ctx: PacketCtx, seq: u64) {
        let m = v.msg;
        // Every field named: a new one cannot be forgotten here.
        let Msg {
            ctx: c,
            seq: s,
            method,
            uri,
            status,
            reason,
            call_id,
            cseq,
            branch,
            via_transport,
            from,
            to,
            user_agent,
            server,
            pai,
            identity,
            contact,
            auth,
            challenge,
            digest,
            content_type,
            expires,
            media,
            sdp: sdp_record,
            warnings,
            spare,
        } = self;
        *c = ctx;
        *s = seq;
        match &m.start {
            StartLine::Request {
                method: mt, uri: u, ..
            } => {
                put(spare, method, Some(mt.as_str()), 256);
                put(spare, uri, Some(u), 1024);
                *status = None;
                spare.keep_opt(reason.take());
            }
            StartLine::Response {
                code, reason: r, ..
            } => {
                spare.keep_opt(method.take());
                spare.keep_opt(uri.take());
                *status = Some(*code);
                put(spare, reason, Some(r), 128);
            }
        }
        put(spare, call_id, m.call_id(), 256);
        match (m.cseq(), cseq.as_mut()) {
            (None, _) => *cseq = None,
            (Some(x), Some(have)) => {
                have.0 = x.seq;
                set(&mut have.1, x.method.as_str(), 64);
            }
            (Some(x), None) => *cseq = Some((x.seq, clip(x.method.as_str(), 64))),
        }
        let top_via: Option<Via<'_>> = m.top_via();
        put(spare, branch, top_via.as_ref().and_then(|v| v.branch), 128);
        put(
            spare,
            via_transport,
            top_via.as_ref().map(|v| v.transport),
            16,
        );
        if let Some(t) = via_transport {
            t.make_ascii_uppercase();
        }
        put_party(spare, from, v.from());
        put_party(spare, to, v.to());
        put(spare, user_agent, m.user_agent(), 256);
        put(spare, server, m.server(), 256);
        put_party(spare, pai, m.p_asserted_identity().as_ref());
        put(spare, identity, m.identity(), 4096);
        match m.contact_uri() {
            None => *contact = None,
            Some(uri) => {
                let out = contact.get_or_insert_with(String::new);
                out.clear();
                out.push_str(uri.scheme);
                out.push(':');
                if let Some(u) = uri.user {
                    out.push_str(u);
                    out.push('@');
                }
                out.push_str(uri.host);
                clip_in_place(out, 256);
            }
        }
        let creds = m.authorization().or_else(|| m.proxy_authorization());
        put_auth(spare, auth, creds.map(|c| (c.scheme, c.username, c.realm)));
        let offered = m.www_authenticate().or_else(|| m.proxy_authenticate());
        put_auth(spare, challenge, offered.map(|c| (c.scheme, None, c.realm)));
        *digest = DigestFacts {
            response: creds.is_some_and(|c| c.has_response),
            ..DigestFacts::default()
        };
        if offered.is_some() {
            for c in m.challenges().take(8) {
                if !c.scheme.eq_ignore_ascii_case("digest") {
                    continue;
                }
                match c.algorithm {
                    None => digest.md5 = true,
                    // MD5 and MD5-sess; SHA-256 and SHA-256-sess (the sender's bytes: compared
                    // as bytes, never sliced as text).
                    Some(a)
                        if a.as_bytes()
                            .get(..3)
                            .is_some_and(|p| p.eq_ignore_ascii_case(b"md5")) =>
                    {
                        digest.md5 = true
                    }
                    Some(a)
                        if a.as_bytes()
                            .get(..7)
                            .is_some_and(|p| p.eq_ignore_ascii_case(b"sha-256")) =>
                    {
                        digest.sha256 = true
                    }
                    Some(_) => {}
                }
                digest.qop |= c.qop.is_some_and(|q| !q.trim_ws().is_empty());
                digest.stale |= c.stale;
                digest.nonce = digest.nonce.or(c.nonce_hash);
            }
        }
        put(spare, content_type, m.content_type(), 128);
        *expires = m.expires();
        let is_sdp = v.is_sdp();
        *media = if is_sdp && !m.body.is_empty() {
            sdp::parse_sdp_lines(m.body).ok().map(|s| media_lines(&s))
        } else {
            None
        };
        *sdp_record = if is_sdp {
            SdpRecord::from_body(v.lenient_body()).map(std::sync::Arc::new)
        } else {
            None
        };
        warnings.clear();
        warnings.extend(m.warnings.iter().map(|w| w.kind.as_str()));
    }
}

/// `s` cut to at most `max` bytes at a character boundary.
pub fn clipped(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` cut to at most `max` bytes at a character boundary, in place.
pub fn clip_in_place(s: &mut String, max: usize) {
    let keep = clipped(s, max).len();
    s.truncate(keep);
}

/// `dst` becomes `src` clipped to `max` bytes, in the buffer it has.
fn set(dst: &mut String, src: &str, max: usize) {
    dst.clear();
    dst.push_str(clipped(src, max));
}

/// [`set`] for an optional field: an emptied field's room goes to `spare`, a filled one takes
/// room from there.
fn put(spare: &mut Spare, dst: &mut Option<String>, src: Option<&str>, max: usize) {
    match (src, dst.as_mut()) {
        (None, _) => spare.keep_opt(dst.take()),
        (Some(s), Some(d)) => set(d, s, max),
        (Some(s), None) => *dst = Some(spare.copy(clipped(s, max))),
    }
}

fn put_party(spare: &mut Spare, dst: &mut Option<Party>, src: Option<&NameAddr<'_>>) {
    match (src, dst.as_mut()) {
        (None, _) => *dst = None,
        (Some(n), Some(p)) => match std::sync::Arc::get_mut(&mut p.0) {
            // A recycled message's party that nothing keeps any more: its strings' room reused.
            Some(f) => {
                put(
                    spare,
                    &mut f.display,
                    n.display.filter(|d| !d.is_empty()),
                    128,
                );
                put(spare, &mut f.user, n.uri.user, 128);
                set(&mut f.host, n.uri.host, 256);
                put(spare, &mut f.tag, n.tag, 128);
            }
            // Still kept by a transaction or a call: a new one, not a copy to overwrite.
            None => *p = party(n),
        },
        (Some(n), None) => *dst = Some(party(n)),
    }
}

/// Scheme, user name and realm of credentials or a challenge (never more).
fn put_auth(
    spare: &mut Spare,
    dst: &mut Option<AuthInfo>,
    src: Option<(&str, Option<&str>, Option<&str>)>,
) {
    match (src, dst.as_mut()) {
        (None, _) => {
            if let Some(a) = dst.take() {
                a.give_strings(spare);
            }
        }
        (Some((scheme, user, realm)), Some(a)) => {
            set(&mut a.scheme, scheme, 32);
            put(spare, &mut a.username, user, 128);
            put(spare, &mut a.realm, realm, 128);
        }
        (Some((scheme, user, realm)), None) => {
            *dst = Some(AuthInfo {
                scheme: clip(scheme, 32),
                username: user.map(|u| clip(u, 128)),
                realm: realm.map(|r| clip(r, 128)),
            })
        }
    }
}

/// At most `max` bytes of `s` (cut at a character boundary): what the tables keep of a
/// value an attacker chose, so a 60 KiB header costs no more than a normal one.
pub fn clip(s: &str, max: usize) -> String {
    clipped(s, max).to_string()
}

pub fn party(n: &NameAddr<'_>) -> Party {
    Party::from(PartyFields {
        display: n.display.filter(|d| !d.is_empty()).map(|d| clip(d, 128)),
        user: n.uri.user.map(|u| clip(u, 128)),
        host: clip(n.uri.host, 256),
        tag: n.tag.map(|t| clip(t, 128)),
    })
}

/// The body's media lines (at most 16), made straight into their shared list (one
/// allocation for the list, no vector copied into it). Common words (media kinds, profiles,
/// payload type numbers, usual codecs) are shared from tables, not copied.
fn media_lines(s: &sdp::Sdp<'_>) -> MediaLines {
    if s.media.is_empty() {
        return MediaLines::default();
    }
    MediaLines(Some(
        s.media
            .iter()
            .take(16)
            .map(|m| {
                let conn = m.connection.as_ref().or(s.connection.as_ref());
                let codecs = m
                    .formats
                    .iter()
                    .map(|f| {
                        m.rtpmap
                            .iter()
                            .find(|r| itoa::Buffer::new().format(r.pt) == *f)
                            .map(|r| codec_name(r.encoding, r.clock_rate))
                            .or_else(|| static_codec(f).map(Cow::Borrowed))
                            .unwrap_or_else(|| Cow::Owned(clip(f, 32)))
                    })
                    .take(32)
                    .collect();
                MediaLine {
                    media: common(m.kind, 32, MEDIA_KINDS),
                    addr: conn.map(|c| clip(c.addr, 64)),
                    port: m.port,
                    proto: common(m.proto, 32, PROFILES),
                    codecs,
                    direction: m
                        .direction
                        .or(s.direction)
                        .map(|d| Cow::Borrowed(direction_name(d))),
                    crypto: !m.crypto.is_empty(),
                    fingerprint: m.fingerprint.is_some() || s.fingerprint.is_some(),
                    rtcp_mux: m.rtcp_mux,
                    zrtp: m.zrtp_hash,
                    inline_key: m
                        .crypto
                        .iter()
                        .any(|c| c.has_key && c.key_method.eq_ignore_ascii_case("inline")),
                    formats: m.formats.iter().take(32).map(|f| format_text(f)).collect(),
                }
            })
            .collect(),
    ))
}

/// Media kinds of the IANA registry.
const MEDIA_KINDS: &[&str] = &["audio", "video", "image", "application", "text", "message"];

/// Transport profiles seen on the wire.
const PROFILES: &[&str] = &[
    "RTP/AVP",
    "RTP/SAVP",
    "RTP/AVPF",
    "RTP/SAVPF",
    "UDP/TLS/RTP/SAVPF",
    "UDP/TLS/RTP/SAVP",
    "TCP/TLS/RTP/SAVPF",
    "RTP/AVP/TCP",
    "udptl",
    "UDP/TLS/UDPTL",
    "UDP/DTLS/SCTP",
    "UDP",
    "TCP",
];

/// Dynamic codecs as `encoding/clock` (the static ones are [`static_codec`]'s).
const CODECS: &[&str] = &[
    "PCMU/8000",
    "PCMA/8000",
    "G722/8000",
    "G729/8000",
    "GSM/8000",
    "telephone-event/8000",
    "telephone-event/16000",
    "telephone-event/48000",
    "opus/48000",
    "iLBC/8000",
    "speex/8000",
    "speex/16000",
    "AMR/8000",
    "AMR-WB/16000",
    "G726-32/8000",
    "CN/8000",
    "H264/90000",
    "VP8/90000",
    "VP9/90000",
    "red/90000",
    "ulpfec/90000",
    "rtx/90000",
];

/// `s` (cut to `max` bytes) shared from `table` when it is one of its words, else copied.
fn common(s: &str, max: usize, table: &[&'static str]) -> Cow<'static, str> {
    match table.iter().find(|w| **w == s) {
        Some(w) => Cow::Borrowed(w),
        None => Cow::Owned(clip(s, max)),
    }
}

/// `encoding/clock` of an rtpmap (the encoding cut to 32 bytes): written on the stack and
/// shared from a table when it is a usual codec.
fn codec_name(encoding: &str, clock: u32) -> Cow<'static, str> {
    let enc = clipped(encoding, 32);
    let mut clock_text = itoa::Buffer::new();
    let clock = clock_text.format(clock);
    let mut buf = [0u8; 48];
    let n = enc.len() + 1 + clock.len();
    // At most 32 + 1 + 10 bytes: it fits.
    buf[..enc.len()].copy_from_slice(enc.as_bytes());
    buf[enc.len()] = b'/';
    buf[enc.len() + 1..n].copy_from_slice(clock.as_bytes());
    let text = &buf[..n];
    match CODECS
        .iter()
        .chain(STATIC_CODECS)
        .find(|c| c.as_bytes() == text)
    {
        Some(c) => Cow::Borrowed(c),
        None => Cow::Owned([enc, "/", clock].concat()),
    }
}

/// A payload type's text (cut to 16 bytes): a number up to 127 shared from a table.
fn format_text(f: &str) -> Cow<'static, str> {
    static NUMBERS: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| (0..128).map(|n: u8| n.to_string()).collect());
    let number = match f.as_bytes() {
        [d @ b'0'..=b'9'] => Some(usize::from(d - b'0')),
        [a @ b'1'..=b'9', b @ b'0'..=b'9'] => Some(usize::from((a - b'0') * 10 + (b - b'0'))),
        [b'1', b @ b'0'..=b'2', c @ b'0'..=b'9'] => {
            Some(100 + usize::from((b - b'0') * 10 + (c - b'0')))
        }
        _ => None,
    };
    match number.and_then(|n| NUMBERS.get(n)) {
        Some(t) => Cow::Borrowed(t.as_str()),
        None => Cow::Owned(clip(f, 16)),
    }
}

fn direction_name(d: sdp::Direction) -> &'static str {
    match d {
        sdp::Direction::SendRecv => "sendrecv",
        sdp::Direction::SendOnly => "sendonly",
        sdp::Direction::RecvOnly => "recvonly",
        sdp::Direction::Inactive => "inactive",
    }
}

/// The codecs of [`static_codec`].
const STATIC_CODECS: &[&str] = &[
    "PCMU/8000",
    "GSM/8000",
    "G723/8000",
    "DVI4/8000",
    "DVI4/16000",
    "LPC/8000",
    "PCMA/8000",
    "G722/8000",
    "L16/44100",
    "QCELP/8000",
    "CN/8000",
    "MPA/90000",
    "G728/8000",
    "DVI4/11025",
    "DVI4/22050",
    "G729/8000",
    "CelB/90000",
    "JPEG/90000",
    "nv/90000",
    "H261/90000",
    "MPV/90000",
    "MP2T/90000",
    "H263/90000",
];

/// RFC 3551 static payload types.
pub fn static_codec(pt: &str) -> Option<&'static str> {
    Some(match pt {
        "0" => "PCMU/8000",
        "3" => "GSM/8000",
        "4" => "G723/8000",
        "5" => "DVI4/8000",
        "6" => "DVI4/16000",
        "7" => "LPC/8000",
        "8" => "PCMA/8000",
        "9" => "G722/8000",
        "10" => "L16/44100",
        "11" => "L16/44100",
        "12" => "QCELP/8000",
        "13" => "CN/8000",
        "14" => "MPA/90000",
        "15" => "G728/8000",
        "16" => "DVI4/11025",
        "17" => "DVI4/22050",
        "18" => "G729/8000",
        "25" => "CelB/90000",
        "26" => "JPEG/90000",
        "28" => "nv/90000",
        "31" => "H261/90000",
        "32" => "MPV/90000",
        "33" => "MP2T/90000",
        "34" => "H263/90000",
        _ => return None,
    })
}

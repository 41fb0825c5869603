//! Recognise TLS (over TCP, on any port) and DTLS (over UDP) by their handshake.
//!
//! A passive sensor cannot trust port numbers: SIP over TLS is often on 5061
//! but just as often on 443 or an arbitrary port, and plain SIP shows up on
//! 5061 too. [`probe`] looks at the first bytes of one TCP direction and says
//! whether they are a TLS `ClientHello` / `ServerHello`, and what the hello
//! reveals in clear: protocol version, server name (SNI), ALPN, cipher suites.
//! [`probe_dtls`] does the same for one UDP datagram (DTLS-SRTP key exchange).
//! [`probe_records`] recognises a TLS record stream picked up in the middle
//! of a connection (no handshake in the capture).
//!
//! Everything here is pure and bounded: no `unsafe`, no panics on any input,
//! and no heap allocation unless a hello is actually returned (the strings
//! of a [`TlsHello`] are allocated once per connection, never on the
//! `NeedMore` / `NotTls` paths).

use serde::Serialize;

/// Largest handshake message `probe` waits for. A `ClientHello` with a
/// post-quantum key share is about 1.8 KiB; 16 KiB is far beyond any
/// legitimate hello. When the declared message is larger, the first 16 KiB
/// are parsed as a partial hello (see [`probe`]).
pub const MAX_HELLO_BYTES: usize = 16 * 1024;

/// Longest server name kept, in bytes (DNS names are at most 253).
pub const MAX_SNI_BYTES: usize = 255;
/// Most ALPN protocol names kept.
pub const MAX_ALPN: usize = 8;
/// Longest ALPN protocol name kept, in bytes.
pub const MAX_ALPN_BYTES: usize = 32;

/// TLS plaintext record limit (2^14) plus the 2048 bytes of expansion that
/// RFC 8446 / 5246 allow for protected records.
const MAX_RECORD_LEN: usize = (1 << 14) + 2048;
const CT_HANDSHAKE: u8 = 22;
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// What the first bytes of a TCP direction say about TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Not the start of a TLS handshake.
    NotTls,
    /// Consistent with a TLS handshake so far; call again with more bytes.
    NeedMore,
    /// A complete (or, past [`MAX_HELLO_BYTES`], partial) hello.
    Tls(TlsHello),
}

/// Which hello was seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HelloKind {
    /// Sent by the client: offers versions, suites, SNI, ALPN.
    #[default]
    ClientHello,
    /// Sent by the server: the chosen version and suite.
    ServerHello,
}

/// A `tls` record: a TLS or DTLS hello seen in clear (version, SNI, ALPN), as Suricata's
/// `tls` event type has them.
pub struct TlsRecord {
    pub head: crate::base::head::Head,
    pub tls: TlsBody,
}
crate::serialize_with_head!(TlsRecord { tls });

#[derive(Serialize)]
pub struct TlsBody {
    #[serde(flatten)]
    pub hello: TlsHello,
    pub dtls: bool,
}

/// What a TLS / DTLS hello says in clear.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsHello {
    /// `ClientHello` or `ServerHello`.
    pub kind: HelloKind,
    /// Version in the (first) record header, e.g. 0x0301, 0xfeff.
    pub record_version: u16,
    /// "TLS 1.3", "TLS 1.2", "DTLS 1.2", ...: for a `ServerHello` the
    /// negotiated version, for a `ClientHello` the highest offered, both
    /// from `supported_versions` when present, else the legacy version.
    pub version: String,
    /// `server_name` (host name), clipped to [`MAX_SNI_BYTES`]; bytes that are
    /// not printable ASCII are replaced by `?`. Left out when absent (Suricata's schema
    /// wants a string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// ALPN protocol names (at most [`MAX_ALPN`], each clipped to
    /// [`MAX_ALPN_BYTES`], non-printable bytes as `?`). In a `ServerHello`
    /// the selected protocol.
    pub alpn: Vec<String>,
    /// Number of cipher suites offered (`ClientHello`; 0 in a `ServerHello`).
    pub cipher_suites: u16,
    /// Cipher suite chosen (`ServerHello`; `None` in a `ClientHello`).
    pub cipher: Option<u16>,
}

/// Human name of a (D)TLS protocol version: "TLS 1.2", "DTLS 1.2", or
/// "0x7f1c" for anything else (drafts, GREASE).
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".to_string(),
        0x0301 => "TLS 1.0".to_string(),
        0x0302 => "TLS 1.1".to_string(),
        0x0303 => "TLS 1.2".to_string(),
        0x0304 => "TLS 1.3".to_string(),
        0xfeff => "DTLS 1.0".to_string(),
        0xfefd => "DTLS 1.2".to_string(),
        0xfefc => "DTLS 1.3".to_string(),
        _ => format!("0x{v:04x}"),
    }
}

/// GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ..., 0xfafa.
fn is_grease(v: u16) -> bool {
    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be24(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(3)?)?;
    Some((usize::from(s[0]) << 16) | (usize::from(s[1]) << 8) | usize::from(s[2]))
}

fn tls_record_version_ok(v: u16) -> bool {
    (0x0300..=0x0304).contains(&v)
}

fn dtls_record_version_ok(v: u16) -> bool {
    v == 0xfeff || v == 0xfefd
}

/// Checks the part of a 5-byte TLS handshake record header that is present.
/// `Some(true)`: complete and valid; `Some(false)`: a valid prefix;
/// `None`: not a TLS handshake record.
fn record_header_prefix(b: &[u8]) -> Option<bool> {
    if let Some(&ct) = b.first() {
        if ct != CT_HANDSHAKE {
            return None;
        }
    }
    if let Some(&major) = b.get(1) {
        if major != 3 {
            return None;
        }
    }
    if let Some(&minor) = b.get(2) {
        if minor > 4 {
            return None;
        }
    }
    match be16(b, 3) {
        Some(len) if len == 0 || usize::from(len) > MAX_RECORD_LEN => None,
        Some(_) => Some(true),
        None => Some(false),
    }
}

/// Recognise the start of a TLS handshake in the first bytes of one TCP
/// direction (`stream_start`: the contiguous, in-order bytes seen so far).
///
/// * `NotTls` as soon as a byte contradicts a TLS handshake record carrying a
///   `ClientHello` / `ServerHello` (content type 22, version 0x0300..=0x0304,
///   handshake type 1 or 2, sane lengths, well-formed hello fields).
/// * `NeedMore` while the bytes are a valid prefix: the hello may span several
///   records and TCP segments.
/// * `Tls` once the whole handshake message is there. A message declared
///   larger than [`MAX_HELLO_BYTES`] is parsed from its first 16 KiB once
///   those are present (a partial result: extensions cut off are missing).
pub fn probe(stream_start: &[u8]) -> Probe {
    // First record header.
    match record_header_prefix(stream_start) {
        None => return Probe::NotTls,
        Some(false) => return Probe::NeedMore,
        Some(true) => {}
    }
    let record_version = be16(stream_start, 1).unwrap_or(0);
    let rec_len = usize::from(be16(stream_start, 3).unwrap_or(0));
    let first = stream_start.get(5..).unwrap_or(&[]);
    // Handshake header (type, 24-bit length) may itself be split, but it is
    // nearly always in the first record: look at what we have of it.
    if let Some(&t) = first.first() {
        if t != HS_CLIENT_HELLO && t != HS_SERVER_HELLO {
            return Probe::NotTls;
        }
    }
    let first_payload = &first[..first.len().min(rec_len)];
    if first_payload.len() < 4 {
        if rec_len < 4 {
            // A 1..3 byte first record that splits the handshake header:
            // legal but never seen from real stacks.
            return gather(stream_start, record_version);
        }
        return Probe::NeedMore;
    }
    let hs_type = first_payload[0];
    let msg_len = be24(first_payload, 1).unwrap_or(0);
    if msg_len < 38 {
        return Probe::NotTls;
    }
    let want = msg_len + 4;
    if rec_len >= want {
        // Whole message in the first record: parse in place.
        if first_payload.len() >= want {
            return parse_or_not(hs_type, &first_payload[4..want], record_version, false);
        }
        if first_payload.len() >= MAX_HELLO_BYTES {
            return parse_or_not(hs_type, &first_payload[4..], record_version, true);
        }
        return Probe::NeedMore;
    }
    if rec_len >= MAX_HELLO_BYTES && first_payload.len() >= MAX_HELLO_BYTES {
        return parse_or_not(
            hs_type,
            &first_payload[4..MAX_HELLO_BYTES],
            record_version,
            true,
        );
    }
    gather(stream_start, record_version)
}

/// The hello spans several records: copy the handshake bytes into a stack
/// buffer (no heap) and parse from there.
fn gather(stream: &[u8], record_version: u16) -> Probe {
    let mut buf = [0u8; MAX_HELLO_BYTES];
    let mut have = 0usize;
    let mut pos = 0usize;
    let mut want: Option<usize> = None;
    loop {
        let rest = stream.get(pos..).unwrap_or(&[]);
        match record_header_prefix(rest) {
            None => return Probe::NotTls,
            Some(false) => return Probe::NeedMore,
            Some(true) => {}
        }
        let rec_len = usize::from(be16(rest, 3).unwrap_or(0));
        let body = rest.get(5..).unwrap_or(&[]);
        let avail = &body[..body.len().min(rec_len)];
        let room = MAX_HELLO_BYTES - have;
        let take = avail.len().min(room);
        buf[have..have + take].copy_from_slice(&avail[..take]);
        have += take;
        if want.is_none() && have >= 4 {
            if buf[0] != HS_CLIENT_HELLO && buf[0] != HS_SERVER_HELLO {
                return Probe::NotTls;
            }
            let len = be24(&buf, 1).unwrap_or(0);
            if len < 38 {
                return Probe::NotTls;
            }
            want = Some(len + 4);
        }
        if let Some(w) = want {
            if have >= w {
                return parse_or_not(buf[0], &buf[4..w], record_version, false);
            }
            if have >= MAX_HELLO_BYTES {
                return parse_or_not(buf[0], &buf[4..have], record_version, true);
            }
        } else if have >= MAX_HELLO_BYTES {
            return Probe::NotTls;
        }
        if avail.len() < rec_len {
            return Probe::NeedMore;
        }
        pos += 5 + rec_len;
    }
}

fn parse_or_not(hs_type: u8, body: &[u8], record_version: u16, partial: bool) -> Probe {
    match parse_hello(hs_type, body, record_version, false, partial) {
        Some(h) => Probe::Tls(h),
        None => Probe::NotTls,
    }
}

/// Recognise a DTLS `ClientHello` / `ServerHello` in one UDP payload
/// (record content type 22, version 0xfeff DTLS 1.0 or 0xfefd DTLS 1.2).
/// The datagram may hold several records (a `ServerHello` flight also
/// carries Certificate, ServerKeyExchange, ...): the first hello wins.
/// A fragmented hello is parsed from its first fragment (offset 0) only.
pub fn probe_dtls(datagram: &[u8]) -> Option<TlsHello> {
    let mut pos = 0usize;
    // A datagram holds at most a few records; bound the walk anyway.
    for _ in 0..16 {
        let rec = datagram.get(pos..)?;
        if rec.len() < 13 {
            return None;
        }
        let ct = rec[0];
        let version = be16(rec, 1)?;
        if !dtls_record_version_ok(version) {
            return None;
        }
        let len = usize::from(be16(rec, 11)?);
        let body = rec.get(13..13 + len)?;
        if ct == CT_HANDSHAKE && body.len() >= 12 {
            let hs_type = body[0];
            let msg_len = be24(body, 1)?;
            let frag_off = be24(body, 6)?;
            let frag_len = be24(body, 9)?;
            if (hs_type == HS_CLIENT_HELLO || hs_type == HS_SERVER_HELLO) && frag_off == 0 {
                let frag = body.get(12..)?;
                let frag = &frag[..frag.len().min(frag_len).min(msg_len)];
                let partial = frag.len() < msg_len;
                return parse_hello(hs_type, frag, version, true, partial);
            }
        }
        pos += 13 + len;
    }
    None
}

/// Recognise a TLS record stream picked up mid-connection (no handshake in
/// the capture): `Some(record_version)` when `stream_start` begins with a
/// TLS record header (content type 20..=23, version 0x0300..=0x0304, sane
/// length) and every following record header inside the bytes is valid too,
/// with at least one whole record present. A capture starting in the middle
/// of a record is not recognised (`None`).
pub fn probe_records(stream_start: &[u8]) -> Option<u16> {
    let mut pos = 0usize;
    let mut first_version = None;
    let mut complete = 0usize;
    // Bound the walk: 64 records is plenty of evidence.
    for _ in 0..64 {
        let rec = match stream_start.get(pos..) {
            Some(r) if !r.is_empty() => r,
            _ => break,
        };
        if !(20..=23).contains(&rec[0]) {
            return None;
        }
        let Some(version) = be16(rec, 1) else { break };
        if !tls_record_version_ok(version) {
            return None;
        }
        let Some(len) = be16(rec, 3) else { break };
        let len = usize::from(len);
        if len == 0 && rec[0] != 23 || len > MAX_RECORD_LEN {
            return None;
        }
        first_version.get_or_insert(version);
        if rec.len() < 5 + len {
            break;
        }
        complete += 1;
        pos += 5 + len;
    }
    if complete > 0 {
        first_version
    } else {
        None
    }
}

/// A bounds-checked reader over a hello body.
struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        let v = be16(self.b, self.pos)?;
        self.pos += 2;
        Some(v)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }
    fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or(&[])
    }
}

/// Printable ASCII kept, anything else as `?`, clipped to `max` bytes.
fn clip_text(b: &[u8], max: usize) -> String {
    b.iter()
        .take(max)
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                char::from(c)
            } else {
                '?'
            }
        })
        .collect()
}

/// Parses a hello body (after the handshake header). Fixed fields must be
/// complete and well formed; with `partial`, extensions cut off at the end
/// are tolerated (whatever was complete is kept).
fn parse_hello(
    hs_type: u8,
    body: &[u8],
    record_version: u16,
    dtls: bool,
    partial: bool,
) -> Option<TlsHello> {
    let mut c = Cur { b: body, pos: 0 };
    let legacy = c.u16()?;
    let legacy_ok = if dtls {
        matches!(legacy, 0xfeff | 0xfefd | 0xfefc)
    } else {
        tls_record_version_ok(legacy)
    };
    if !legacy_ok {
        return None;
    }
    c.take(32)?; // random
    let sid = c.vec8()?;
    if sid.len() > 32 {
        return None;
    }
    let mut h = TlsHello {
        record_version,
        ..TlsHello::default()
    };
    match hs_type {
        HS_CLIENT_HELLO => {
            h.kind = HelloKind::ClientHello;
            if dtls {
                let cookie = c.vec8()?;
                if cookie.len() > 255 {
                    return None;
                }
            }
            let suites = c.vec16()?;
            if suites.is_empty() || suites.len() % 2 != 0 {
                return None;
            }
            h.cipher_suites = u16::try_from(suites.len() / 2).unwrap_or(u16::MAX);
            let comp = c.vec8()?;
            if comp.is_empty() {
                return None;
            }
        }
        HS_SERVER_HELLO => {
            h.kind = HelloKind::ServerHello;
            h.cipher = Some(c.u16()?);
            c.u8()?; // compression method
        }
        _ => return None,
    }
    let mut version = legacy;
    if !c.rest().is_empty() {
        let declared = c.u16();
        let exts = match declared {
            Some(n) => {
                let rest = c.rest();
                let n = usize::from(n);
                if rest.len() < n {
                    if !partial {
                        return None;
                    }
                    rest
                } else {
                    &rest[..n]
                }
            }
            None if partial => &[][..],
            None => return None,
        };
        let mut e = Cur { b: exts, pos: 0 };
        while !e.rest().is_empty() {
            let (Some(ty), Some(data)) = (e.u16(), e.vec16()) else {
                if partial {
                    break;
                }
                return None;
            };
            match ty {
                EXT_SERVER_NAME if h.sni.is_none() => h.sni = parse_sni(data),
                EXT_ALPN => parse_alpn(data, &mut h.alpn),
                EXT_SUPPORTED_VERSIONS => {
                    if let Some(v) = parse_supported_versions(hs_type, data, dtls) {
                        version = v;
                    }
                }
                _ => {}
            }
        }
    }
    h.version = version_name(version);
    Some(h)
}

fn parse_sni(data: &[u8]) -> Option<String> {
    let mut c = Cur { b: data, pos: 0 };
    let list = c.vec16()?;
    let mut l = Cur { b: list, pos: 0 };
    while !l.rest().is_empty() {
        let ty = l.u8()?;
        let name = l.vec16()?;
        if ty == 0 && !name.is_empty() {
            return Some(clip_text(name, MAX_SNI_BYTES));
        }
    }
    None
}

fn parse_alpn(data: &[u8], out: &mut Vec<String>) {
    let mut c = Cur { b: data, pos: 0 };
    let Some(list) = c.vec16() else { return };
    let mut l = Cur { b: list, pos: 0 };
    while out.len() < MAX_ALPN {
        match l.vec8() {
            Some(p) if !p.is_empty() => out.push(clip_text(p, MAX_ALPN_BYTES)),
            _ => break,
        }
    }
}

/// `supported_versions`: in a `ServerHello` the selected version (2 bytes);
/// in a `ClientHello` a list, of which the highest non-GREASE is returned.
fn parse_supported_versions(hs_type: u8, data: &[u8], dtls: bool) -> Option<u16> {
    if hs_type == HS_SERVER_HELLO {
        return be16(data, 0);
    }
    let mut c = Cur { b: data, pos: 0 };
    let list = c.vec8()?;
    let mut best: Option<u16> = None;
    for pair in list.chunks_exact(2) {
        let v = u16::from_be_bytes([pair[0], pair[1]]);
        if is_grease(v) {
            continue;
        }
        // DTLS version numbers count down (0xfefd is newer than 0xfeff).
        let better = match best {
            None => true,
            Some(b) if dtls => v < b,
            Some(b) => v > b,
        };
        if better {
            best = Some(v);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A small builder for hello messages.
    #[derive(Clone)]
    struct Hello {
        server: bool,
        dtls: bool,
        legacy: u16,
        suites: Vec<u16>,
        cipher: u16,
        sni: Option<&'static str>,
        alpn: Vec<&'static str>,
        versions: Vec<u16>,
        padding: usize,
    }

    impl Hello {
        fn client() -> Self {
            Hello {
                server: false,
                dtls: false,
                legacy: 0x0303,
                suites: vec![0x1301, 0x1302, 0xc02f],
                cipher: 0,
                sni: None,
                alpn: vec![],
                versions: vec![],
                padding: 0,
            }
        }
        fn server(cipher: u16) -> Self {
            Hello {
                server: true,
                cipher,
                suites: vec![],
                ..Hello::client()
            }
        }
        fn body(&self) -> Vec<u8> {
            let mut b = Vec::new();
            b.extend_from_slice(&self.legacy.to_be_bytes());
            b.extend((0..32u8).map(|i| i.wrapping_mul(7)));
            b.push(32);
            b.extend([0xab; 32]);
            if self.server {
                b.extend_from_slice(&self.cipher.to_be_bytes());
                b.push(0);
            } else {
                if self.dtls {
                    b.push(0); // empty cookie
                }
                b.extend_from_slice(&((self.suites.len() * 2) as u16).to_be_bytes());
                for s in &self.suites {
                    b.extend_from_slice(&s.to_be_bytes());
                }
                b.extend([1, 0]);
            }
            let mut ext = Vec::new();
            if let Some(name) = self.sni {
                let n = name.len() as u16;
                ext.extend(0u16.to_be_bytes());
                ext.extend((n + 5).to_be_bytes());
                ext.extend((n + 3).to_be_bytes());
                ext.push(0);
                ext.extend(n.to_be_bytes());
                ext.extend(name.as_bytes());
            }
            if !self.alpn.is_empty() {
                let list: Vec<u8> = self
                    .alpn
                    .iter()
                    .flat_map(|p| std::iter::once(p.len() as u8).chain(p.bytes()))
                    .collect();
                ext.extend(16u16.to_be_bytes());
                ext.extend((list.len() as u16 + 2).to_be_bytes());
                ext.extend((list.len() as u16).to_be_bytes());
                ext.extend(list);
            }
            if !self.versions.is_empty() {
                ext.extend(43u16.to_be_bytes());
                if self.server {
                    ext.extend(2u16.to_be_bytes());
                    ext.extend(self.versions[0].to_be_bytes());
                } else {
                    let n = self.versions.len() * 2;
                    ext.extend(((n + 1) as u16).to_be_bytes());
                    ext.push(n as u8);
                    for v in &self.versions {
                        ext.extend(v.to_be_bytes());
                    }
                }
            }
            if self.padding > 0 {
                ext.extend(21u16.to_be_bytes());
                ext.extend((self.padding as u16).to_be_bytes());
                ext.extend(std::iter::repeat_n(0u8, self.padding));
            }
            if !ext.is_empty() {
                b.extend((ext.len() as u16).to_be_bytes());
                b.extend(ext);
            }
            b
        }
        /// Handshake message: type + 24-bit length + body.
        fn message(&self) -> Vec<u8> {
            let body = self.body();
            let mut m = vec![if self.server { 2 } else { 1 }];
            m.extend(&(body.len() as u32).to_be_bytes()[1..]);
            m.extend(body);
            m
        }
        /// TLS records of at most `max_record` bytes of payload each.
        fn records(&self, record_version: u16, max_record: usize) -> Vec<u8> {
            let m = self.message();
            let mut out = Vec::new();
            for chunk in m.chunks(max_record) {
                out.push(22);
                out.extend(record_version.to_be_bytes());
                out.extend((chunk.len() as u16).to_be_bytes());
                out.extend(chunk);
            }
            out
        }
        fn dtls_datagram(&self, record_version: u16) -> Vec<u8> {
            let body = self.body();
            let mut hs = vec![if self.server { 2 } else { 1 }];
            hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
            hs.extend([0, 0]); // message_seq
            hs.extend([0, 0, 0]); // fragment offset
            hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
            hs.extend(body);
            let mut d = vec![22];
            d.extend(record_version.to_be_bytes());
            d.extend([0, 0, 0, 0, 0, 0, 0, 0]); // epoch + sequence
            d.extend((hs.len() as u16).to_be_bytes());
            d.extend(hs);
            d
        }
    }

    fn tls(p: Probe) -> TlsHello {
        match p {
            Probe::Tls(h) => h,
            other => panic!("expected a hello, got {other:?}"),
        }
    }

    #[test]
    fn client_hello_tls13_with_sni_and_alpn() {
        let mut h = Hello::client();
        h.sni = Some("sip.example.com");
        h.alpn = vec!["sip/2", "h2"];
        h.versions = vec![0x3a3a, 0x0304, 0x0303];
        let got = tls(probe(&h.records(0x0301, 16384)));
        assert_eq!(
            got,
            TlsHello {
                kind: HelloKind::ClientHello,
                record_version: 0x0301,
                version: "TLS 1.3".into(),
                sni: Some("sip.example.com".into()),
                alpn: vec!["sip/2".into(), "h2".into()],
                cipher_suites: 3,
                cipher: None,
            }
        );
    }

    #[test]
    fn client_hello_tls12_without_extensions() {
        let got = tls(probe(&Hello::client().records(0x0303, 16384)));
        assert_eq!(got.kind, HelloKind::ClientHello);
        assert_eq!(got.version, "TLS 1.2");
        assert_eq!(got.sni, None);
        assert!(got.alpn.is_empty());
        assert_eq!(got.cipher_suites, 3);
    }

    #[test]
    fn server_hello_tls13_and_tls12() {
        let mut h = Hello::server(0x1301);
        h.versions = vec![0x0304];
        let got = tls(probe(&h.records(0x0303, 16384)));
        assert_eq!(got.kind, HelloKind::ServerHello);
        assert_eq!(got.version, "TLS 1.3");
        assert_eq!(got.cipher, Some(0x1301));
        assert_eq!(got.cipher_suites, 0);

        let mut h = Hello::server(0xc030);
        h.alpn = vec!["sip/2"];
        let got = tls(probe(&h.records(0x0303, 16384)));
        assert_eq!(got.version, "TLS 1.2");
        assert_eq!(got.cipher, Some(0xc030));
        assert_eq!(got.alpn, vec!["sip/2".to_string()]);
    }

    #[test]
    fn every_split_needs_more_until_complete() {
        let mut h = Hello::client();
        h.sni = Some("a.example");
        h.alpn = vec!["h2"];
        h.versions = vec![0x0304, 0x0303];
        for max_record in [16384, 100, 7, 1] {
            let bytes = h.records(0x0301, max_record);
            let full = tls(probe(&bytes));
            assert_eq!(full.sni.as_deref(), Some("a.example"));
            assert_eq!(full.version, "TLS 1.3");
            for cut in 0..bytes.len() {
                assert_eq!(
                    probe(&bytes[..cut]),
                    Probe::NeedMore,
                    "max_record {max_record} cut {cut}"
                );
            }
            // Trailing bytes of the next flight do not matter.
            let mut more = bytes.clone();
            more.extend([23, 3, 3, 0, 1, 0]);
            assert_eq!(tls(probe(&more)), full);
        }
    }

    #[test]
    fn oversized_hello_gives_partial_result_at_cap() {
        let mut h = Hello::client();
        h.sni = Some("big.example");
        h.padding = 20000;
        let bytes = h.records(0x0301, 16384);
        assert_eq!(probe(&bytes[..MAX_HELLO_BYTES]), Probe::NeedMore);
        let got = tls(probe(&bytes[..MAX_HELLO_BYTES + 5 + 4]));
        assert_eq!(got.sni.as_deref(), Some("big.example"));
        // Same across small records.
        let bytes = h.records(0x0301, 1000);
        let got = tls(probe(&bytes));
        assert_eq!(got.sni.as_deref(), Some("big.example"));
    }

    #[test]
    fn long_sni_and_many_alpn_are_clipped() {
        let long: &'static str = Box::leak("x".repeat(400).into_boxed_str());
        let mut h = Hello::client();
        h.sni = Some(long);
        h.alpn = vec!["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        let got = tls(probe(&h.records(0x0301, 16384)));
        assert_eq!(got.sni.map(|s| s.len()), Some(MAX_SNI_BYTES));
        assert_eq!(got.alpn.len(), MAX_ALPN);
    }

    #[test]
    fn not_tls() {
        assert_eq!(
            probe(b"INVITE sip:bob@example.com SIP/2.0\r\n"),
            Probe::NotTls
        );
        assert_eq!(probe(b"OPTIONS"), Probe::NotTls);
        assert_eq!(probe(&[22, 2]), Probe::NotTls);
        assert_eq!(probe(&[22, 3, 5]), Probe::NotTls);
        assert_eq!(probe(&[22, 3, 1, 0, 0]), Probe::NotTls);
        assert_eq!(probe(&[22, 3, 1, 0x50, 0]), Probe::NotTls);
        // Handshake type 11 (Certificate) first.
        assert_eq!(probe(&[22, 3, 3, 0, 10, 11]), Probe::NotTls);
        // Application data.
        assert_eq!(probe(&[23, 3, 3, 0, 10, 1]), Probe::NotTls);
        // Hello too short to be one.
        assert_eq!(
            probe(&[22, 3, 3, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0]),
            Probe::NotTls
        );
        // Prefixes.
        assert_eq!(probe(&[]), Probe::NeedMore);
        assert_eq!(probe(&[22]), Probe::NeedMore);
        assert_eq!(probe(&[22, 3, 1, 0]), Probe::NeedMore);
    }

    #[test]
    fn garbage_inside_a_hello_is_not_tls() {
        let bytes = Hello::client().records(0x0301, 16384);
        // Bad legacy version.
        let mut b = bytes.clone();
        b[9] = 0x09;
        assert_eq!(probe(&b), Probe::NotTls);
        // Session id longer than 32.
        let mut b = bytes.clone();
        b[5 + 4 + 34] = 33;
        assert_eq!(probe(&b), Probe::NotTls);
        // Extension block longer than the message.
        let mut h = Hello::client();
        h.sni = Some("x.example");
        let mut b = h.records(0x0301, 16384);
        let l = b.len();
        b[l - 16] = 0xff; // SNI extension length
        assert_eq!(probe(&b), Probe::NotTls);
        // Second record that is not a handshake.
        let mut b = Hello::client().records(0x0301, 20);
        b[25] = 23;
        assert_eq!(probe(&b), Probe::NotTls);
    }

    #[test]
    fn dtls_client_and_server_hello() {
        let mut h = Hello::client();
        h.dtls = true;
        h.legacy = 0xfefd;
        h.sni = Some("webrtc.example");
        let got = probe_dtls(&h.dtls_datagram(0xfeff)).expect("dtls hello");
        assert_eq!(got.kind, HelloKind::ClientHello);
        assert_eq!(got.record_version, 0xfeff);
        assert_eq!(got.version, "DTLS 1.2");
        assert_eq!(got.sni.as_deref(), Some("webrtc.example"));
        assert_eq!(got.cipher_suites, 3);

        let mut h = Hello::server(0xc02b);
        h.dtls = true;
        h.legacy = 0xfefd;
        let got = probe_dtls(&h.dtls_datagram(0xfefd)).expect("dtls hello");
        assert_eq!(got.kind, HelloKind::ServerHello);
        assert_eq!(got.cipher, Some(0xc02b));
        assert_eq!(got.version, "DTLS 1.2");

        // TLS bytes, truncation and garbage are not DTLS hellos.
        assert_eq!(probe_dtls(&Hello::client().records(0x0303, 16384)), None);
        let d = h.dtls_datagram(0xfefd);
        for cut in 0..d.len() {
            assert_eq!(probe_dtls(&d[..cut]), None, "cut {cut}");
        }
        assert_eq!(probe_dtls(&[0x80, 0, 1, 2]), None);
    }

    #[test]
    fn record_stream_mid_connection() {
        let mut b = vec![23, 3, 3, 0, 3, 1, 2, 3];
        assert_eq!(probe_records(&b), Some(0x0303));
        b.extend([23, 3, 3, 0, 10, 1]);
        assert_eq!(probe_records(&b), Some(0x0303));
        b.extend([0; 9]);
        b.extend([99, 3, 3]);
        assert_eq!(probe_records(&b), None);
        assert_eq!(probe_records(&[23, 3, 3, 0, 3, 1]), None);
        assert_eq!(probe_records(b"SIP/2.0 200 OK\r\n"), None);
        assert_eq!(probe_records(&[]), None);
    }

    /// (proto, src port, dst port, L4 payload) of every TCP/UDP packet, by the crate's decoder.
    fn packets(rel: &str) -> Vec<(u8, u16, u16, Vec<u8>)> {
        use crate::base::packet::Transport;
        use crate::decode::test_packets;
        test_packets(rel)
            .into_iter()
            .filter_map(|(t, sp, dp, p)| match t {
                Transport::Tcp => Some((6, sp, dp, p)),
                Transport::Udp => Some((17, sp, dp, p)),
                Transport::Sctp => None,
            })
            .collect()
    }

    /// Naive reassembly: concatenated TCP payloads of the first `n` packets
    /// of one direction.
    fn tcp_direction(pkts: &[(u8, u16, u16, Vec<u8>)], src: u16, dst: u16, n: usize) -> Vec<u8> {
        pkts.iter()
            .filter(|p| p.0 == 6 && p.1 == src && p.2 == dst && !p.3.is_empty())
            .take(n)
            .flat_map(|p| p.3.iter().copied())
            .collect()
    }

    #[test]
    fn real_sip_over_tls_mid_connection() {
        // sngrep's tlssaved.pcap starts mid-connection: only application
        // data records (tshark: content type 23, record version 0x0301).
        let pkts = packets("public/sngrep/tlssaved.pcap");
        let c2s = tcp_direction(&pkts, 5071, 5061, 3);
        assert!(!c2s.is_empty());
        assert_eq!(probe(&c2s), Probe::NotTls);
        assert_eq!(probe_records(&c2s), Some(0x0301));
        let first = &pkts.iter().find(|p| p.1 == 2232 && p.2 == 5061).unwrap().3;
        assert_eq!(first.len(), 597);
        assert_eq!(probe_records(first), Some(0x0301));
        let s2c = tcp_direction(&pkts, 5061, 5071, 1);
        assert_eq!(probe_records(&s2c), Some(0x0301));
    }

    #[test]
    fn real_tls_client_and_server_hello() {
        // tshark -r WebRTC_PCMA_p2p_SDES_Call_1.pcap -Y tls.handshake: tcp 63105->443
        // ClientHello, record 0x0301, legacy 0x0303, SNI settings.crashlytics.com,
        // 22 suites, ALPN h2,h2-16,h2-15,h2-14,spdy/3.1,spdy/3,http/1.1;
        // ServerHello 0x0303, suite 0xc02f.
        let pkts = packets("public/veondigital-srtp_decoder/WebRTC_PCMA_p2p_SDES_Call_1.pcap");
        let c2s = tcp_direction(&pkts, 63105, 443, 4);
        let got = tls(probe(&c2s));
        assert_eq!(
            got,
            TlsHello {
                kind: HelloKind::ClientHello,
                record_version: 0x0301,
                version: "TLS 1.2".into(),
                sni: Some("settings.crashlytics.com".into()),
                alpn: ["h2", "h2-16", "h2-15", "h2-14", "spdy/3.1", "spdy/3", "http/1.1"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                cipher_suites: 22,
                cipher: None,
            }
        );
        // Every prefix of the hello record is NeedMore.
        let hello_len = 5 + 4 + 223;
        for cut in 0..hello_len {
            assert_eq!(probe(&c2s[..cut]), Probe::NeedMore, "cut {cut}");
        }
        let s2c = tcp_direction(&pkts, 443, 63105, 4);
        let got = tls(probe(&s2c));
        assert_eq!(got.kind, HelloKind::ServerHello);
        assert_eq!(got.record_version, 0x0303);
        assert_eq!(got.version, "TLS 1.2");
        assert_eq!(got.cipher, Some(0xc02f));
        assert_eq!(got.sni, None);

        // imap.gmail.com, TLS 1.0 hello with 25 suites; ServerHello 0xc013.
        let got = tls(probe(&tcp_direction(&pkts, 63103, 993, 4)));
        assert_eq!(got.sni.as_deref(), Some("imap.gmail.com"));
        assert_eq!(got.version, "TLS 1.0");
        assert_eq!(got.cipher_suites, 25);
        let got = tls(probe(&tcp_direction(&pkts, 993, 63103, 4)));
        assert_eq!(got.cipher, Some(0xc013));
        assert_eq!(got.version, "TLS 1.0");
    }

    #[test]
    fn real_dtls_hellos() {
        // tshark -r stun_dtls_rtp.pcapng -Y dtls.handshake: frame 3
        // 37967->19305 ClientHello, record 0xfeff, version 0xfefd, 11 suites
        // (cipher_suites_length 22), empty cookie; frame 4 ServerHello
        // 0xfefd choosing 0xc02f, in a flight with 4 more handshake records.
        let pkts = packets("public/nDPI/stun_dtls_rtp.pcapng");
        let hellos: Vec<(u16, TlsHello)> = pkts
            .iter()
            .filter(|p| p.0 == 17)
            .filter_map(|p| probe_dtls(&p.3).map(|h| (p.1, h)))
            .collect();
        assert_eq!(hellos.len(), 2);
        assert_eq!(
            hellos[0],
            (
                37967,
                TlsHello {
                    kind: HelloKind::ClientHello,
                    record_version: 0xfeff,
                    version: "DTLS 1.2".into(),
                    sni: None,
                    alpn: vec![],
                    cipher_suites: 11,
                    cipher: None,
                }
            )
        );
        assert_eq!(
            hellos[1],
            (
                19305,
                TlsHello {
                    kind: HelloKind::ServerHello,
                    record_version: 0xfefd,
                    version: "DTLS 1.2".into(),
                    sni: None,
                    alpn: vec![],
                    cipher_suites: 0,
                    cipher: Some(0xc02f),
                }
            )
        );
        // The DTLS datagrams are no TLS streams, and STUN/RTP are no DTLS.
        for p in pkts.iter().filter(|p| p.0 == 17) {
            assert_eq!(probe(&p.3), Probe::NotTls);
        }
    }

    proptest! {
        #[test]
        fn any_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = probe(&b);
            let _ = probe_dtls(&b);
            let _ = probe_records(&b);
        }

        #[test]
        fn handshake_prefix_then_any_bytes_never_panic(
            tail in proptest::collection::vec(any::<u8>(), 0..600),
            len in 0u16..700,
            hs in 0u8..4,
        ) {
            let mut b = vec![22, 3, 1];
            b.extend(len.to_be_bytes());
            b.push(hs);
            b.extend(&tail);
            let _ = probe(&b);
            let mut d = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0];
            d.extend(len.to_be_bytes());
            d.push(hs);
            d.extend(&tail);
            let _ = probe_dtls(&d);
        }

        #[test]
        fn mutated_hello_never_panics(pos in 0usize..200, val in any::<u8>(), cut in 0usize..260) {
            let mut h = Hello::client();
            h.sni = Some("m.example");
            h.alpn = vec!["h2", "sip/2"];
            h.versions = vec![0x0304];
            let mut b = h.records(0x0301, 50);
            if pos < b.len() { b[pos] = val; }
            b.truncate(cut);
            let _ = probe(&b);
        }
    }
}

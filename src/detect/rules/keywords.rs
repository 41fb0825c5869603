//! What of Suricata's rule language the sensor knows but cannot run: rules that use it are
//! skipped, each with one line saying why, and counted; they are not errors, so a Suricata
//! rule file (Emerging Threats, a site's own) loads as it is. Words that are in neither this
//! list nor the parser are errors (a typo should not silently disable a rule).

/// Actions: the sensor is passive, so `drop` and `reject` rules alert as Suricata does in IDS
/// mode; `pass` (which would silence other rules) is not run.
pub fn action(word: &str) -> Result<(), Skip> {
    match word {
        "alert" | "drop" | "reject" | "rejectsrc" | "rejectdst" | "rejectboth" => Ok(()),
        "pass" | "config" => Err(Skip(format!(
            "action '{word}' is not run by a passive sensor"
        ))),
        _ => Err(Skip(String::new())),
    }
}

/// The protocols of a rule header the sensor inspects: SIP messages, whether the rule names
/// them as `sip` or as the `udp`, `tcp` or `ip` packets that carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Sip,
    Udp,
    Tcp,
    Ip,
}

/// Suricata's other protocols: their rules are skipped, not errors.
const OTHER_PROTOCOLS: &[&str] = &[
    "http",
    "http1",
    "http2",
    "ftp",
    "ftp-data",
    "tls",
    "ssl",
    "smb",
    "dcerpc",
    "dns",
    "dnp3",
    "modbus",
    "enip",
    "nfs",
    "ntp",
    "tftp",
    "ikev2",
    "ike",
    "krb5",
    "dhcp",
    "snmp",
    "rfb",
    "mqtt",
    "pgsql",
    "telnet",
    "ssh",
    "smtp",
    "imap",
    "pop3",
    "rdp",
    "quic",
    "websocket",
    "ldap",
    "doh2",
    "icmp",
    "icmpv4",
    "icmpv6",
    "sctp",
    "ipv4",
    "ipv6",
    "ip4",
    "ip6",
    "pkthdr",
    "bittorrent-dht",
    "mdns",
];

/// The protocol word of a rule header: `Ok` for what the sensor inspects, `Err(Some(skip))`
/// for Suricata's other protocols, `Err(None)` for a word Suricata does not know either.
pub fn protocol(word: &str) -> Result<Proto, Option<Skip>> {
    let w = word.to_ascii_lowercase();
    match w.as_str() {
        "sip" => Ok(Proto::Sip),
        "udp" => Ok(Proto::Udp),
        "tcp" | "tcp-pkt" | "tcp-stream" => Ok(Proto::Tcp),
        "ip" => Ok(Proto::Ip),
        _ if OTHER_PROTOCOLS.contains(&w.as_str()) => Err(Some(Skip(format!(
            "protocol '{word}' is not inspected (only SIP messages are)"
        )))),
        _ => Err(None),
    }
}

/// Suricata keywords the sensor does not run. A rule using one is skipped.
const UNSUPPORTED: &[&str] = &[
    "byte_test",
    "byte_jump",
    "byte_extract",
    "byte_math",
    "bitstring",
    "flowbits",
    "xbits",
    "hostbits",
    "flowint",
    "flowvar",
    "pktvar",
    "detection_filter",
    "tag",
    "replace",
    "lua",
    "luajit",
    "dataset",
    "datarep",
    "iprep",
    "base64_decode",
    "base64_data",
    "file_data",
    "file.data",
    "filename",
    "fileext",
    "filemagic",
    "filestore",
    "filemd5",
    "filesha1",
    "filesha256",
    "filesize",
    "uricontent",
    "urilen",
    "stream_size",
    "stream_event",
    "app-layer-event",
    "app-layer-protocol",
    "decode-event",
    "engine-event",
    "ttl",
    "tos",
    "id",
    "ipopts",
    "fragbits",
    "fragoffset",
    "flags",
    "seq",
    "ack",
    "window",
    "itype",
    "icode",
    "icmp_id",
    "icmp_seq",
    "sameip",
    "ip_proto",
    "ipv4.hdr",
    "ipv6.hdr",
    "tcp.hdr",
    "udp.hdr",
    "tcp.mss",
    "asn1",
    "ftpbounce",
    "geoip",
    "noalert",
    "entropy",
    "from_base64",
    "to_lowercase",
    "to_uppercase",
    "to_md5",
    "to_sha1",
    "to_sha256",
    "strip_whitespace",
    "compress_whitespace",
    "dotprefix",
    "url_decode",
    "xor",
    "pcrexform",
    "requires",
    "transform",
    "prefilter",
    "ja3.hash",
    "ja3.string",
    "ja3s.hash",
    "ja3s.string",
    "ja4.hash",
    "tls.sni",
    "tls_sni",
    "tls.cert_subject",
    "dns.query",
    "dns_query",
    "ssh.proto",
    "ssh_proto",
    "ssh.software",
    "ssh_software",
    "ssl_state",
    "ssl_version",
    "tls.version",
    "dnp3_func",
    "dnp3_ind",
    "dnp3_obj",
    "dnp3_data",
    "modbus",
    "enip_command",
    "cip_service",
    "stream_reassemble",
    "config",
    "http.uri.raw",
    "startswith_nocase",
];

/// `Some` (why) when `key` is a Suricata keyword the sensor does not run.
pub fn unsupported(key: &str) -> Option<Skip> {
    let k = key.to_ascii_lowercase();
    let known = UNSUPPORTED.contains(&k.as_str())
        || [
            "http", "dns", "tls", "ssl", "ssh", "smb", "krb5", "ftp", "smtp", "file", "ike",
        ]
        .iter()
        .any(|p| {
            k.strip_prefix(p)
                .is_some_and(|r| r.starts_with('.') || r.starts_with('_'))
        });
    known.then(|| Skip(format!("keyword '{key}' is not supported")))
}

/// Why a rule is skipped (empty: not a skip, an error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip(pub String);

/// The H.323 signalling ports (TCP 1720, RAS on UDP 1719): the sensor decodes no H.323, so a
/// rule aimed only at them could never fire there.
pub const H323_PORTS: [u16; 2] = [1719, 1720];

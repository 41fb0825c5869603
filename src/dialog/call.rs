//! INVITE dialogs (calls): trying -> early -> confirmed -> terminated, with CANCEL, BYE,
//! failures and re-INVITEs. One `call` record per call, written when it ends (BYE answered,
//! final failure, timeout, or the end of the capture).

use crate::base::fasthash::FastMap;
use crate::base::iptext::parse_ip;

use serde::{Deserialize, Serialize};

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;

use super::media::MediaSummary;
use super::msg::{MediaLine, MediaLines, Msg, Party};
use crate::base::head::{proto_name, Head};
use crate::base::packet::PacketCtx;
use crate::base::time::{Stamp, Ts};
use crate::media::rtp::codec::is_telephone_event;

/// The `call` object of a `call` record.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct CallInfo {
    pub call_id: String,
    /// How the call ended: "answered" (confirmed, then ended), "failed" (final error response),
    /// "cancelled", "unanswered" (no final response in time), "open" (still up when the capture ended).
    /// (These four are words of a fixed set: borrowed, not copied into each record.)
    pub outcome: Cow<'static, str>,
    /// The last dialog state: "trying", "early", "confirmed", "terminated".
    pub state: Cow<'static, str>,
    /// "bye", "cancel", "failure", "timeout", "capture_end", "evicted".
    pub end_reason: Cow<'static, str>,
    /// "caller" or "callee".
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hangup_by: Option<Cow<'static, str>>,
    pub caller: Party,
    pub callee: Party,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub caller_user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub callee_user_agent: Option<String>,
    pub start: Stamp,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ringing: Option<Stamp>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub answer: Option<Stamp>,
    pub end: Stamp,
    /// Seconds from answer to end (0 when not answered).
    pub duration: f64,
    /// Seconds from the INVITE to the first 180/183.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub post_dial_delay: Option<f64>,
    /// Seconds from the INVITE to the 2xx.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub setup_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub final_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub final_reason: Option<String>,
    /// Transport of the INVITE: UDP, TCP, SCTP (TLS and WebSocket as they are recognised).
    pub transport: String,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub reinvites: u32,
    pub messages: u32,
    #[serde(skip_serializing_if = "no_lines", default)]
    pub media_offer: MediaLines,
    #[serde(skip_serializing_if = "no_lines", default)]
    pub media_answer: MediaLines,
    /// The RTP streams of the call, one per direction and SSRC, in the order they ended.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub media: Vec<MediaSummary>,
    pub encryption: Encryption,
    /// Answered, media flowed one way only: the direction that stayed silent.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub one_way_audio: Option<String>,
    /// A stream of the answered call went silent (media timeout) before the call ended.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub media_timeout: bool,
    /// The INVITE was challenged (401/407) and, as phones do, sent again with credentials:
    /// one call, whose outcome is that of the last attempt.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth: Option<CallAuth>,
    /// The hops the initial INVITE took, in the order seen, when there were several: a proxy
    /// or SBC forwarding the call with the same Call-ID (each hop once; at most [`MAX_LEGS`]).
    /// One call, several legs, whose messages all count in `messages`.
    #[serde(skip_serializing_if = "one_or_none", default)]
    pub legs: Vec<Leg>,
    /// The call's own pcap file (its SIP and RTP), relative to the evidence folder, when
    /// `--pcap-calls` wrote one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pcap: Option<String>,
}

/// One hop of a call's initial INVITE, in the style of an EVE record's addresses.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Leg {
    pub src_ip: std::net::IpAddr,
    pub src_port: u16,
    pub dest_ip: std::net::IpAddr,
    pub dest_port: u16,
}

impl Leg {
    fn of(c: &PacketCtx) -> Leg {
        Leg {
            src_ip: c.src,
            src_port: c.sport,
            dest_ip: c.dst,
            dest_port: c.dport,
        }
    }
}

/// Hops kept per call (a spiral through a misconfigured proxy must not grow a record).
pub const MAX_LEGS: usize = 8;

fn one_or_none(legs: &[Leg]) -> bool {
    legs.len() < 2
}

/// How a call was authenticated: the challenge and who answered it (user name and realm only;
/// never the digest response).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct CallAuth {
    /// The status of the last challenge: 401 or 407.
    pub challenged: u16,
    /// Challenges in all (a wrong password draws another).
    pub challenges: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub realm: Option<String>,
}

/// The encryption posture of a call: what protected its signalling, what the SDP offer and
/// answer negotiated for the media, and what the packets on the wire were.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    /// "plaintext": the sensor read the SIP, so it was not encrypted on this path.
    pub signalling: Cow<'static, str>,
    /// "rtp", "sdes-srtp", "dtls-srtp", "srtp", "zrtp", or "none" (no SDP).
    pub media_offered: Cow<'static, str>,
    pub media_answered: Cow<'static, str>,
    /// "plaintext", "encrypted", "mixed", "unknown", or "none" (no stream seen).
    pub media_wire: Cow<'static, str>,
    /// SRTP keys travelled inline in plaintext SIP.
    pub keys_exposed: bool,
    /// The offer protected the media and the answer did not.
    pub downgrade: bool,
    /// The wire disagrees with the SDP (SRTP negotiated, plaintext seen, or the reverse).
    pub wire_mismatch: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CallRecord {
    #[serde(flatten)]
    pub head: Head,
    pub call: CallInfo,
}
crate::serialize_with_head!(CallRecord { call });

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Trying,
    Early,
    Confirmed,
    Terminated,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Trying => "trying",
            State::Early => "early",
            State::Confirmed => "confirmed",
            State::Terminated => "terminated",
        }
    }
}

struct Call {
    seq: u64,
    ctx: PacketCtx,
    state: State,
    info: CallInfo,
    invite_cseq: u32,
    caller_tag: Option<String>,
    started: Ts,
    answered: Option<Ts>,
    ringing: Option<Ts>,
    cancelled: bool,
    /// BYE seen at this time; written when it is answered (or times out).
    bye_at: Option<Ts>,
    /// Written already; kept a while so late retransmissions do not start a new call.
    done_at: Option<Ts>,
    last_ts: Ts,
    /// RTP streams attributed to the call that have not ended yet.
    active_streams: u32,
    /// The finished record, held until the call's streams have ended (boxed: most calls
    /// never hold one, and a record is as large as the rest of the call).
    held: Option<Box<CallRecord>>,
    /// Media endpoints of the call in the endpoint index.
    endpoints: Vec<(IpAddr, u16)>,
    /// Its Call-ID as the table and the endpoint index key it (one copy for both).
    id: Arc<str>,
    /// Exposures already reported for this call (each once per call).
    alerted: Vec<Exposure>,
    /// The current INVITE was challenged (401/407) at this time: the call waits for the INVITE
    /// sent again with credentials, or ends as failed when none comes in time.
    challenged_at: Option<Ts>,
    /// Per leg of the INVITE (bit i: leg i, 0 the call's first hop; see [`CallInfo::legs`]):
    /// those that have had a response, and those that have had a final one.
    legs_alive: u8,
    legs_final: u8,
    /// A final error on a leg that did not decide the call (a forked branch busy while another
    /// rings; a phone's 487 when the proxy tries voicemail next): its time, until a leg decides.
    failed_at: Option<Ts>,
}

impl Call {
    /// The index of the leg a message travels (a response: its request's hop reversed); an
    /// unknown hop counts as the first (a response the sensor saw on a path the INVITE was not
    /// seen on decides as the only leg would).
    fn leg_index(&self, m: &Msg, response: bool) -> usize {
        let c = &m.ctx;
        let hop = if response {
            Leg {
                src_ip: c.dst,
                src_port: c.dport,
                dest_ip: c.src,
                dest_port: c.sport,
            }
        } else {
            Leg::of(c)
        };
        self.info.legs.iter().position(|l| *l == hop).unwrap_or(0)
    }

    /// Whether a final error on leg `leg` decides the call: on the first leg (the caller's),
    /// unless another leg is still alive without a final (a branch ringing on); on another leg,
    /// once every leg has had its final.
    fn decides(&self, leg: usize) -> bool {
        let n = self.info.legs.len().clamp(1, MAX_LEGS);
        let all = if n >= 8 { u8::MAX } else { (1u8 << n) - 1 };
        let pending_alive = self.legs_alive & !self.legs_final & all;
        if leg == 0 {
            pending_alive & !1 == 0
        } else {
            self.legs_final & all == all
        }
    }
}

#[derive(Clone, Debug)]
pub struct CallConfig {
    pub max: usize,
    /// A call with no final response to its INVITE for this long is unanswered.
    pub setup_timeout_ns: u64,
    /// A confirmed call without any SIP message for this long is closed (no BYE seen).
    pub confirmed_idle_ns: u64,
    /// A BYE without a response is taken as the end after this long.
    pub bye_timeout_ns: u64,
    /// How long a finished call is remembered, to absorb retransmissions.
    pub linger_ns: u64,
    /// How long a challenged INVITE waits for its authenticated repeat. A phone with stored
    /// credentials answers in milliseconds; a softphone that asks its user for the password
    /// takes as long as the user does (51 s in the public Nero SIPPS capture), so this is
    /// Timer C, the proxies' 3 minutes for an INVITE to finish.
    pub auth_wait_ns: u64,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig {
            max: 100_000,
            setup_timeout_ns: crate::base::time::secs(300),
            confirmed_idle_ns: crate::base::time::secs(4 * 3600),
            bye_timeout_ns: crate::base::time::secs(32),
            linger_ns: crate::base::time::secs(32),
            auth_wait_ns: crate::base::time::secs(180),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct CallStats {
    pub dialogs: u64,
    pub answered: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub unanswered: u64,
    pub open_at_end: u64,
    pub evicted: u64,
    pub reinvites: u64,
}

/// What a call's signalling or media gave away about its protection: data for detection, which
/// turns each into an alert of its signature (the dialog stage raises no alerts itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exposure {
    /// An SDP in plaintext SIP carries SRTP keys (`a=crypto` inline).
    SrtpKeysExposed,
    /// SRTP offered, plain RTP answered.
    MediaDowngrade,
    /// The call's voice went as plain RTP.
    UnencryptedVoice,
    /// SRTP negotiated, but the packets on the wire are plain RTP.
    SrtpNotOnWire,
    /// The call was set up over plaintext SIP.
    UnencryptedSignalling,
}

/// One exposure of one call, at the packet that showed it.
#[derive(Clone, Debug)]
pub struct CallExposure {
    pub what: Exposure,
    pub ctx: PacketCtx,
    pub call_id: String,
    pub caller: Party,
    pub callee: Party,
    pub evidence: ExposureEvidence,
}

/// What an exposure's alert will say, kept as plain data: detection writes it as JSON only for
/// an alert its gate lets through (every plaintext call is an exposure; a busy source's are
/// almost all held back, and building each one's JSON was five allocations a call).
#[derive(Clone, Debug)]
pub enum ExposureEvidence {
    /// The call's INVITE went in plaintext over this transport.
    Signalling { transport: Cow<'static, str> },
    /// An SDP in plaintext carried inline SRTP keys: the message (a request's method, else a
    /// response's status) and the media line's media and protocol.
    Keys {
        method: Option<String>,
        status: Option<u16>,
        media: String,
        proto: String,
    },
    /// SRTP offered, plain RTP answered.
    Downgrade {
        offered: &'static str,
        answered: &'static str,
    },
    /// A stream's packets were plaintext on the wire, against what was negotiated.
    Voice {
        src: String,
        dest: String,
        ssrc: String,
        codec: String,
        packets: u64,
        negotiated: &'static str,
    },
}

/// A Via transport by its registered name (as the summary keeps it, upper case), without a copy.
fn known_transport(t: &str) -> Option<&'static str> {
    ["UDP", "TCP", "TLS", "SCTP", "TLS-SCTP", "WS", "WSS"]
        .into_iter()
        .find(|k| *k == t)
}

impl ExposureEvidence {
    /// The alert's `evidence` object.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ExposureEvidence::Signalling { transport } => {
                json!({ "transport": transport, "method": "INVITE" })
            }
            ExposureEvidence::Keys {
                method,
                status,
                media,
                proto,
            } => {
                // The same shape as a signature's evidence.message: one type per field path.
                let message = match method {
                    Some(method) => json!({ "method": method }),
                    None => json!({ "status": status }),
                };
                json!({
                    "message": message,
                    "media": media,
                    "proto": proto,
                    "keys": "redacted",
                })
            }
            ExposureEvidence::Downgrade { offered, answered } => json!({
                "offered": offered,
                "answered": answered,
            }),
            ExposureEvidence::Voice {
                src,
                dest,
                ssrc,
                codec,
                packets,
                negotiated,
            } => json!({
                "src": src,
                "dest": dest,
                "ssrc": ssrc,
                "codec": codec,
                "packets": packets,
                "negotiated": negotiated,
            }),
        }
    }
}

pub struct Calls {
    /// Exposures found, for detection to raise.
    pub exposures: Vec<CallExposure>,
    cfg: CallConfig,
    /// By Call-ID, the key shared with the endpoint index (one copy of each Call-ID).
    table: FastMap<Arc<str>, Box<Call>>,
    /// Media endpoint (SDP c= address and m= port) -> the Call-IDs announcing it (newest last;
    /// a few at most: an address and port are often reused by call after call).
    endpoints: FastMap<(IpAddr, u16), Vec<Arc<str>>>,
    pub stats: CallStats,
}

impl Calls {
    pub fn new(cfg: CallConfig) -> Calls {
        Calls {
            exposures: Vec::new(),
            cfg,
            table: FastMap::default(),
            endpoints: FastMap::default(),
            stats: CallStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// The table's cap.
    pub fn max(&self) -> usize {
        self.cfg.max
    }

    /// Media endpoints in the index.
    pub fn endpoints_len(&self) -> usize {
        self.endpoints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Active calls (not yet written).
    pub fn active(&self) -> usize {
        self.table.values().filter(|c| c.done_at.is_none()).count()
    }

    /// Take one message (retransmissions are filtered out before).
    pub fn on_message(&mut self, m: &Msg, out: &mut Vec<CallRecord>) {
        self.on_message_inner(m, out);
        // An initial INVITE in plaintext (on any hop; not a HEP copy of SIP over TLS) exposes
        // the call's parties: once per call.
        let initial_invite = m.method.as_deref() == Some("INVITE") && m.to_tag().is_none();
        if let (true, false, Some(id)) = (initial_invite, m.ctx.encrypted(), m.call_id.as_deref()) {
            if let Some(call) = self.table.get_mut(id) {
                let transport = m
                    .via_transport
                    .as_deref()
                    .unwrap_or_else(|| proto_name(m.ctx.transport));
                Self::expose(
                    &mut self.exposures,
                    call,
                    Exposure::UnencryptedSignalling,
                    &m.ctx,
                    || ExposureEvidence::Signalling {
                        transport: known_transport(transport)
                            .map_or_else(|| Cow::Owned(transport.to_string()), Cow::Borrowed),
                    },
                );
            }
        }
        if let (Some(media), Some(id)) = (&m.media, m.call_id.as_deref()) {
            self.index_endpoints(id);
            if let Some(call) = self.table.get_mut(id) {
                Self::sdp_exposures(&mut self.exposures, call, media, m);
            }
        }
    }

    /// Report an exposure of a call, once per call (the evidence is made only then).
    fn expose(
        found: &mut Vec<CallExposure>,
        call: &mut Call,
        what: Exposure,
        ctx: &PacketCtx,
        evidence: impl FnOnce() -> ExposureEvidence,
    ) {
        if call.alerted.contains(&what) {
            return;
        }
        call.alerted.push(what);
        let evidence = evidence();
        found.push(CallExposure {
            what,
            ctx: *ctx,
            call_id: call.info.call_id.clone(),
            caller: call.info.caller.clone(),
            callee: call.info.callee.clone(),
            evidence,
        });
    }

    /// What an SDP body gives away: inline SRTP keys when the SIP carrying them was plaintext
    /// (not a HEP copy of SIP over TLS, where SDES keys are as safe as the TLS), or a downgrade.
    fn sdp_exposures(found: &mut Vec<CallExposure>, call: &mut Call, media: &[MediaLine], m: &Msg) {
        let in_clear = !m.ctx.encrypted();
        if let Some(line) = media.iter().find(|l| l.inline_key && in_clear) {
            Self::expose(found, call, Exposure::SrtpKeysExposed, &m.ctx, || {
                ExposureEvidence::Keys {
                    method: m.method.clone(),
                    status: m.status,
                    media: line.media.to_string(),
                    proto: line.proto.to_string(),
                }
            });
        }
        let offered = best_protection(&call.info.media_offer);
        let answered = best_protection(&call.info.media_answer);
        if !call.info.media_answer.is_empty()
            && offered != "rtp"
            && offered != "none"
            && answered == "rtp"
        {
            Self::expose(found, call, Exposure::MediaDowngrade, &m.ctx, || {
                ExposureEvidence::Downgrade { offered, answered }
            });
        }
    }

    /// Put the media endpoints of a call's SDP in the index.
    fn index_endpoints(&mut self, call_id: &str) {
        let Some(call) = self.table.get_mut(call_id) else {
            return;
        };
        for line in call.info.media_offer.iter().chain(&call.info.media_answer) {
            let Some(addr) = line.addr.as_deref().and_then(parse_ip) else {
                continue;
            };
            let ep = (addr, line.port);
            if line.port == 0 || call.endpoints.contains(&ep) || call.endpoints.len() >= 16 {
                continue;
            }
            call.endpoints.push(ep);
            let ids = self.endpoints.entry(ep).or_default();
            if ids.len() >= 8 {
                ids.remove(0);
            }
            ids.push(Arc::clone(&call.id));
        }
    }

    /// The call an RTP stream between these endpoints belongs to (its destination first), if
    /// that call is still open; the call then waits for the stream's end before it is written.
    ///
    /// A call that announced both endpoints wins; then the newest open call that announced the
    /// destination, then the source.
    /// Whether `call_id` is a call still being tracked (not yet written, or written and
    /// waiting for its streams to end): its packets belong in its pcap file.
    pub fn tracks(&self, call_id: &str) -> bool {
        self.table
            .get(call_id)
            .is_some_and(|c| c.done_at.is_none() || c.held.is_some())
    }

    pub fn attach_stream(&mut self, dst: (IpAddr, u16), src: (IpAddr, u16)) -> Option<String> {
        let open = |id: &&Arc<str>| {
            self.table
                .get(&***id)
                .is_some_and(|c| c.done_at.is_none() || c.held.is_some())
        };
        let to = self.endpoints.get(&dst).map(Vec::as_slice).unwrap_or(&[]);
        let from = self.endpoints.get(&src).map(Vec::as_slice).unwrap_or(&[]);
        let id = to
            .iter()
            .rev()
            .find(|id| from.contains(id) && open(id))
            .or_else(|| to.iter().rev().find(|id| open(id)))
            .or_else(|| from.iter().rev().find(|id| open(id)))?
            .to_string();
        let call = self.table.get_mut(id.as_str())?;
        call.active_streams += 1;
        Some(id)
    }

    /// Whether a call's SDP (offer or answer) announced this address for its media.
    pub fn announced_address(&self, call_id: &str, ip: IpAddr) -> bool {
        self.table.get(call_id).is_some_and(|c| {
            c.info
                .media_offer
                .iter()
                .chain(&c.info.media_answer)
                .any(|l| l.addr.as_deref().and_then(parse_ip) == Some(ip))
        })
    }

    /// RTP injection (2100006), decided 10 s after the stream began or when it ends (so that an
    /// answer seen after the first packets counts): a stream into a media address and port that the call's SDP
    /// announced, from an address that neither its offer nor its answer announced, and from an
    /// address and port that no call's SDP announced (proxies and B2BUAs give one media path
    /// several Call-IDs).
    pub fn injected_into(&self, call_id: &str, src: (IpAddr, u16), dst: (IpAddr, u16)) -> bool {
        let Some(c) = self.table.get(call_id) else {
            return false;
        };
        let into_call = c
            .info
            .media_offer
            .iter()
            .chain(&c.info.media_answer)
            .any(|l| l.port == dst.1 && l.addr.as_deref().and_then(parse_ip) == Some(dst.0));
        into_call
            && !self.announced_address(call_id, src.0)
            && self.endpoints.get(&src).is_none_or(Vec::is_empty)
    }

    /// Which way a stream goes in a call: towards the caller's SDP address or the callee's.
    pub fn direction_of(&self, call_id: &str, dst: (IpAddr, u16)) -> &'static str {
        let Some(call) = self.table.get(call_id) else {
            return "unknown";
        };
        let hit = |lines: &[MediaLine]| {
            lines
                .iter()
                .any(|l| l.port == dst.1 && l.addr.as_deref().and_then(parse_ip) == Some(dst.0))
        };
        if hit(&call.info.media_offer) {
            "callee_to_caller"
        } else if hit(&call.info.media_answer) {
            "caller_to_callee"
        } else {
            "unknown"
        }
    }

    /// The codec of a payload type as the call's SDP names it.
    pub fn codec_of(&self, call_id: &str, pt: u8) -> Option<String> {
        let call = self.table.get(call_id)?;
        call.info
            .media_answer
            .iter()
            .chain(&call.info.media_offer)
            .find_map(|l| l.codec_of(pt))
            .map(str::to_string)
    }

    /// A stream of the call ended: its summary goes in the record, which is written when it
    /// was only waiting for its streams.
    pub fn stream_ended(
        &mut self,
        call_id: &str,
        summary: MediaSummary,
        out: &mut Vec<CallRecord>,
    ) {
        let Some(call) = self.table.get_mut(call_id) else {
            return;
        };
        call.active_streams = call.active_streams.saturating_sub(1);
        if summary.end_reason == "timeout" && call.answered.is_some() && call.done_at.is_none() {
            call.info.media_timeout = true;
        }
        if call.info.media.len() < 16 {
            call.info.media.push(summary.clone());
        }
        if summary.wire == "plaintext" && !is_telephone_event(&summary.codec) {
            let negotiated = best_protection(&call.info.media_answer);
            let negotiated = if negotiated == "none" {
                best_protection(&call.info.media_offer)
            } else {
                negotiated
            };
            let what = if negotiated == "rtp" || negotiated == "none" {
                Exposure::UnencryptedVoice
            } else {
                Exposure::SrtpNotOnWire
            };
            let ctx = call.ctx;
            Self::expose(&mut self.exposures, call, what, &ctx, || {
                ExposureEvidence::Voice {
                    src: summary.src.clone(),
                    dest: summary.dest.clone(),
                    ssrc: summary.ssrc.clone(),
                    codec: summary.codec.clone(),
                    packets: summary.packets,
                    negotiated,
                }
            });
        }
        if let Some(rec) = call.held.as_mut() {
            if rec.call.media.len() < 16 {
                rec.call.media.push(summary);
            }
            rec.call.encryption = encryption_of(&rec.call);
            rec.call.one_way_audio = one_way(&rec.call);
            if call.active_streams == 0 {
                out.push(*call.held.take().expect("held"));
            }
        }
    }

    fn on_message_inner(&mut self, m: &Msg, out: &mut Vec<CallRecord>) {
        let Some(call_id) = m.call_id.as_deref() else {
            return;
        };
        let is_invite = m.method.as_deref() == Some("INVITE");
        if !self.table.contains_key(call_id) {
            // Only an initial INVITE (no To tag) starts a call.
            if !is_invite || m.to_tag().is_some() {
                return;
            }
            self.make_room(out);
            self.stats.dialogs += 1;
            let info = CallInfo {
                call_id: call_id.to_string(),
                caller: m.from.clone().unwrap_or_default(),
                callee: m.to.clone().unwrap_or_default(),
                request_uri: m.uri.clone(),
                caller_user_agent: m.user_agent.clone(),
                start: m.ctx.ts.into(),
                transport: m
                    .via_transport
                    .clone()
                    .unwrap_or_else(|| proto_name(m.ctx.transport).to_string()),
                ..CallInfo::default()
            };
            let id: Arc<str> = Arc::from(call_id);
            self.table.insert(
                Arc::clone(&id),
                Box::new(Call {
                    id,
                    seq: m.seq,
                    ctx: m.ctx,
                    state: State::Trying,
                    info,
                    invite_cseq: m.cseq.as_ref().map_or(0, |c| c.0),
                    caller_tag: m.from_tag().map(str::to_string),
                    started: m.ctx.ts,
                    answered: None,
                    ringing: None,
                    cancelled: false,
                    bye_at: None,
                    done_at: None,
                    last_ts: m.ctx.ts,
                    active_streams: 0,
                    held: None,
                    endpoints: Vec::new(),
                    alerted: Vec::new(),
                    challenged_at: None,
                    legs_alive: 0,
                    legs_final: 0,
                    failed_at: None,
                }),
            );
        }
        let call = self.table.get_mut(call_id).expect("present");
        if call.done_at.is_some() {
            return;
        }
        call.last_ts = call.last_ts.max(m.ctx.ts);
        call.info.messages += 1;
        let cseq = m.cseq.as_ref().map_or(0, |c| c.0);
        let cseq_method = m.cseq_method();
        if let Some(method) = m.method.as_deref() {
            match method {
                "INVITE" => {
                    // Another hop of the initial INVITE (the first is the call's own packet:
                    // a call of one hop keeps no list).
                    let (leg, first) = (Leg::of(&m.ctx), Leg::of(&call.ctx));
                    if m.to_tag().is_none() && leg != first {
                        let legs = &mut call.info.legs;
                        if legs.is_empty() {
                            legs.push(first);
                        }
                        if legs.len() < MAX_LEGS && !legs.contains(&leg) {
                            legs.push(leg);
                        }
                    }
                    if call.challenged_at.is_some()
                        && cseq > call.invite_cseq
                        && m.to_tag().is_none()
                        && m.from_tag() == call.caller_tag.as_deref()
                    {
                        // The challenged INVITE sent again with credentials: the same call.
                        call.challenged_at = None;
                        call.legs_alive = 0;
                        call.legs_final = 0;
                        call.failed_at = None;
                        call.invite_cseq = cseq;
                        call.info.final_status = None;
                        call.info.final_reason = None;
                        if let (Some(auth), Some(creds)) = (call.info.auth.as_mut(), &m.auth) {
                            auth.username.clone_from(&creds.username);
                            if creds.realm.is_some() {
                                auth.realm.clone_from(&creds.realm);
                            }
                        }
                        if let Some(media) = &m.media {
                            call.info.media_offer = media.clone();
                        }
                    } else if cseq == call.invite_cseq {
                        // The initial INVITE again, on another hop (a proxy): same call.
                        if call.info.media_offer.is_empty() {
                            if let Some(media) = &m.media {
                                call.info.media_offer = media.clone();
                            }
                        }
                    } else if m.to_tag().is_some() {
                        call.info.reinvites += 1;
                        self.stats.reinvites += 1;
                        if let Some(media) = &m.media {
                            call.info.media_offer = media.clone();
                        }
                    }
                    if cseq == call.invite_cseq && call.info.media_offer.is_empty() {
                        if let Some(media) = &m.media {
                            call.info.media_offer = media.clone();
                        }
                    }
                }
                // The caller's CANCEL (on the first leg), not a proxy's of a branch it gives up.
                "CANCEL" if call.state != State::Confirmed && call.leg_index(m, false) == 0 => {
                    call.cancelled = true
                }
                "BYE" if call.bye_at.is_none() => {
                    call.bye_at = Some(m.ctx.ts);
                    let by_caller = match (m.from_tag(), call.caller_tag.as_deref()) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    };
                    call.info.hangup_by =
                        Some(Cow::Borrowed(if by_caller { "caller" } else { "callee" }));
                }
                "ACK" => {
                    // With the offer in the 2xx, the answer comes in the ACK.
                    if let Some(media) = &m.media {
                        if call.info.media_answer.is_empty() {
                            call.info.media_answer = media.clone();
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        let code = m.status.unwrap_or(0);
        match cseq_method {
            "INVITE" if cseq == call.invite_cseq => {
                let leg = call.leg_index(m, true).min(MAX_LEGS - 1);
                call.legs_alive |= 1 << leg;
                if (101..200).contains(&code) {
                    if call.state == State::Trying {
                        call.state = State::Early;
                    }
                    if (code == 180 || code == 183) && call.ringing.is_none() {
                        call.ringing = Some(m.ctx.ts);
                    }
                    if call.info.callee_user_agent.is_none() {
                        call.info.callee_user_agent = m.server.clone().or(m.user_agent.clone());
                    }
                    take_answer_media(&mut call.info, m);
                } else if (200..300).contains(&code) {
                    if call.answered.is_none() {
                        call.answered = Some(m.ctx.ts);
                        call.state = State::Confirmed;
                        call.info.final_status = Some(code);
                        call.info.final_reason = m.reason.clone();
                        if let Some(to) = &m.to {
                            call.info.callee.set_tag_from(to);
                        }
                        call.info.callee_user_agent = m
                            .server
                            .clone()
                            .or(m.user_agent.clone())
                            .or(call.info.callee_user_agent.take());
                    }
                    take_answer_media(&mut call.info, m);
                } else if code >= 300 && call.answered.is_none() {
                    let challenge = (code == 401 || code == 407) && !call.cancelled;
                    // What the caller was told (the first leg's final) stands over the finals
                    // of other legs, which stand until it comes.
                    if leg == 0 || call.legs_final & 1 == 0 {
                        if let Some(to) = &m.to {
                            call.info.callee.set_tag_from(to);
                        }
                        call.info.final_status = Some(code);
                        call.info.final_reason = m.reason.clone();
                    }
                    // A challenge comes from the proxy or registrar, not the called party.
                    if call.info.callee_user_agent.is_none() && code != 401 && code != 407 {
                        call.info.callee_user_agent = m.server.clone().or(m.user_agent.clone());
                    }
                    if challenge {
                        // A challenge: the phone answers it with the same INVITE and
                        // credentials, so the call goes on (retransmissions count once).
                        if call.challenged_at.is_none() {
                            call.challenged_at = Some(m.ctx.ts);
                            let auth = call.info.auth.get_or_insert_with(CallAuth::default);
                            auth.challenged = code;
                            auth.challenges += 1;
                            if let Some(realm) = m.challenge.as_ref().and_then(|c| c.realm.clone())
                            {
                                auth.realm = Some(realm);
                            }
                        }
                        return;
                    }
                    call.legs_final |= 1 << leg;
                    if leg == 0 {
                        call.failed_at = Some(m.ctx.ts);
                    } else {
                        call.failed_at.get_or_insert(m.ctx.ts);
                    }
                    if !call.decides(leg) {
                        return;
                    }
                    let (end, outcome, reason) = Self::failure(call);
                    match outcome {
                        "cancelled" => self.stats.cancelled += 1,
                        _ => self.stats.failed += 1,
                    }
                    Self::finish(call, end, outcome, reason, out);
                }
            }
            // Response to a re-INVITE: its SDP answers the new offer.
            "INVITE" if (200..300).contains(&code) => {
                if let Some(media) = &m.media {
                    call.info.media_answer = media.clone();
                }
            }
            "BYE" if code >= 200 => {
                if let Some(bye) = call.bye_at {
                    self.stats.answered += u64::from(call.answered.is_some());
                    let outcome = if call.answered.is_some() {
                        "answered"
                    } else {
                        "failed"
                    };
                    call.state = State::Terminated;
                    Self::finish(call, bye, outcome, "bye", out);
                }
            }
            _ => {}
        }
    }

    fn finish(
        call: &mut Call,
        end: Ts,
        outcome: &'static str,
        reason: &'static str,
        out: &mut Vec<CallRecord>,
    ) {
        let i = &mut call.info;
        i.outcome = Cow::Borrowed(outcome);
        i.state = Cow::Borrowed(call.state.name());
        i.end_reason = Cow::Borrowed(reason);
        i.end = end.into();
        i.duration = call.answered.map_or(0.0, |a| secs(end.since(a)));
        i.answer = call.answered.map(Stamp::from);
        i.ringing = call.ringing.map(Stamp::from);
        i.setup_time = call.answered.map(|t| secs(t.since(call.started)));
        i.post_dial_delay = call.ringing.map(|t| secs(t.since(call.started)));
        call.done_at = Some(end.max(call.last_ts));
        i.encryption = encryption_of(i);
        i.one_way_audio = one_way(i);
        // A call whose streams have all ended is remembered through its linger only by its
        // endpoints and times: nothing reads its fields again, so the record takes them. One
        // still waiting for streams keeps them for the streams' lookups (codec, direction,
        // injection) and the record it holds gets a copy.
        let info = if call.active_streams > 0 {
            call.info.clone()
        } else {
            std::mem::take(&mut call.info)
        };
        let rec = CallRecord {
            head: Head::at(call.started, &call.ctx, "call"),
            call: info,
        };
        if call.active_streams > 0 {
            call.held = Some(Box::new(rec));
        } else {
            out.push(rec);
        }
    }

    /// A call that ended with a final error (the caller's leg's, or failing that another's):
    /// when, its outcome and end reason.
    fn failure(c: &mut Call) -> (Ts, &'static str, &'static str) {
        c.state = State::Terminated;
        let end = c.failed_at.unwrap_or(c.last_ts);
        if c.cancelled || c.info.final_status == Some(487) {
            (end, "cancelled", "cancel")
        } else {
            (end, "failed", "failure")
        }
    }

    /// A challenge that no authenticated INVITE followed: the call failed with the challenge
    /// as its final response, at the time of the challenge.
    fn abandoned_challenge(c: &mut Call) -> (Ts, &'static str, &'static str) {
        c.state = State::Terminated;
        (
            c.challenged_at.take().unwrap_or(c.last_ts),
            "failed",
            "failure",
        )
    }

    /// Drop a call from the table and its endpoints from the index.
    fn forget(endpoints: &mut FastMap<(IpAddr, u16), Vec<Arc<str>>>, id: &str, c: &Call) {
        for ep in &c.endpoints {
            if let Some(ids) = endpoints.get_mut(ep) {
                ids.retain(|x| &**x != id);
                if ids.is_empty() {
                    endpoints.remove(ep);
                }
            }
        }
    }

    /// Run the timeouts at packet time `now`.
    pub fn expire(&mut self, now: Ts, out: &mut Vec<CallRecord>) {
        let cfg = self.cfg.clone();
        let mut ending: Vec<(u64, Arc<str>)> = Vec::new();
        let endpoints = &mut self.endpoints;
        self.table.retain(|id, c| {
            if let Some(done) = c.done_at {
                let keep = c.held.is_some() || now.since(done) < cfg.linger_ns;
                if !keep {
                    Self::forget(endpoints, id, c);
                }
                return keep;
            }
            let idle = now.since(c.last_ts);
            let expired = match (c.state, c.bye_at) {
                _ if c
                    .challenged_at
                    .is_some_and(|t| now.since(t) >= cfg.auth_wait_ns) =>
                {
                    true
                }
                (_, Some(bye)) => now.since(bye) >= cfg.bye_timeout_ns,
                // A leg failed and no other is alive without its final: the caller's final
                // was not seen.
                _ if c.answered.is_none()
                    && c.legs_alive & !c.legs_final & !1 == 0
                    && c.failed_at
                        .is_some_and(|t| now.since(t) >= cfg.bye_timeout_ns) =>
                {
                    true
                }
                (State::Confirmed, None) => idle >= cfg.confirmed_idle_ns,
                _ => idle >= cfg.setup_timeout_ns,
            };
            if expired {
                ending.push((c.seq, id.clone()));
            }
            true
        });
        ending.sort();
        for (_, id) in ending {
            if let Some(c) = self.table.get_mut(&id) {
                let (end, outcome, reason) = match c.bye_at {
                    _ if c.challenged_at.is_some() => Self::abandoned_challenge(c),
                    Some(bye) => (
                        bye,
                        if c.answered.is_some() {
                            "answered"
                        } else {
                            "failed"
                        },
                        "bye",
                    ),
                    None if c.answered.is_some() => (c.last_ts, "answered", "timeout"),
                    None if c.failed_at.is_some() => Self::failure(c),
                    None => (c.last_ts, "unanswered", "timeout"),
                };
                match outcome {
                    "answered" => self.stats.answered += 1,
                    "unanswered" => self.stats.unanswered += 1,
                    "cancelled" => self.stats.cancelled += 1,
                    _ => self.stats.failed += 1,
                }
                if c.bye_at.is_some() {
                    c.state = State::Terminated;
                }
                Self::finish(c, end, outcome, reason, out);
            }
        }
    }

    /// End of input: write every call still open.
    pub fn flush(&mut self, out: &mut Vec<CallRecord>) {
        self.endpoints.clear();
        let mut open: Vec<Box<Call>> = self
            .table
            .drain()
            .map(|(_, c)| c)
            .filter(|c| c.done_at.is_none() || c.held.is_some())
            .collect();
        open.sort_by_key(|c| c.seq);
        for mut c in open {
            // Streams have all ended before the end of input reaches here; a record still
            // held is written as it is.
            c.active_streams = 0;
            if let Some(rec) = c.held.take() {
                out.push(*rec);
                continue;
            }
            let (end, outcome, reason) = match c.bye_at {
                _ if c.challenged_at.is_some() => Self::abandoned_challenge(&mut c),
                Some(bye) => {
                    c.state = State::Terminated;
                    (
                        bye,
                        if c.answered.is_some() {
                            "answered"
                        } else {
                            "failed"
                        },
                        "bye",
                    )
                }
                None if c.answered.is_none() && c.failed_at.is_some() => Self::failure(&mut c),
                None => (c.last_ts, "open", "capture_end"),
            };
            match outcome {
                "answered" => self.stats.answered += 1,
                "open" => self.stats.open_at_end += 1,
                "cancelled" => self.stats.cancelled += 1,
                _ => self.stats.failed += 1,
            }
            Self::finish(&mut c, end, outcome, reason, out);
        }
    }

    /// Keep the table under its cap: when full, drop 1/64 of it at once ([`crate::base::evict`]),
    /// finished calls first, then the least recently active (written as `evicted`): a flood of
    /// new dialogs costs O(64) each instead of O(cap).
    fn make_room(&mut self, out: &mut Vec<CallRecord>) {
        if self.table.len() < self.cfg.max {
            return;
        }
        let len = self.table.len();
        let oldest = crate::base::evict::oldest(self.table.iter(), len, |_, c| {
            (c.done_at.is_none(), c.last_ts, c.seq)
        });
        for k in oldest {
            if let Some(mut c) = self.table.remove(&k) {
                self.stats.evicted += 1;
                Self::forget(&mut self.endpoints, &k, &c);
                c.active_streams = 0;
                if let Some(rec) = c.held.take() {
                    out.push(*rec);
                } else if c.done_at.is_none() {
                    let end = c.last_ts;
                    Self::finish(&mut c, end, "open", "evicted", out);
                }
            }
        }
    }
}

/// The protection of a call side's SDP: that of its first audio line (or first line).
pub fn best_protection(lines: &[MediaLine]) -> &'static str {
    lines
        .iter()
        .find(|l| l.media.eq_ignore_ascii_case("audio"))
        .or(lines.first())
        .map_or("none", |l| l.protection())
}

/// Streams with fewer packets than this do not count as audio flowing (a few packets of
/// comfort noise or a keep-alive are not a conversation).
const AUDIO_PACKETS: u64 = 50;

/// For an answered call with audio in one direction only, the direction that stayed silent.
fn one_way(info: &CallInfo) -> Option<String> {
    info.answer.as_ref()?;
    let flowing = |dir: &str| {
        info.media.iter().any(|m| {
            m.direction == dir && m.packets >= AUDIO_PACKETS && !is_telephone_event(&m.codec)
        })
    };
    // A direction the answer turned off (a listen-only line, music on hold) is not missing.
    let answered = info
        .media_answer
        .iter()
        .find(|l| l.media == "audio")
        .and_then(|l| l.direction.as_deref());
    let callee_sends = !matches!(answered, Some("recvonly" | "inactive"));
    let caller_sends = !matches!(answered, Some("sendonly" | "inactive"));
    match (flowing("caller_to_callee"), flowing("callee_to_caller")) {
        (true, false) if callee_sends => Some("callee_to_caller".to_string()),
        (false, true) if caller_sends => Some("caller_to_callee".to_string()),
        _ => None,
    }
}

/// The posture of a call from its SDP and the wire verdicts of its streams.
fn encryption_of(info: &CallInfo) -> Encryption {
    let offered = best_protection(&info.media_offer);
    let answered = best_protection(&info.media_answer);
    // The streams' wire verdicts, telephone-events aside: all one kind, several, or none.
    let mut wires = info
        .media
        .iter()
        .filter(|m| !is_telephone_event(&m.codec))
        .map(|m| m.wire.as_str());
    let wire = match wires.next() {
        None => "none",
        Some(first) if wires.all(|w| w == first) => match first {
            "plaintext" => "plaintext",
            "encrypted" => "encrypted",
            "unknown" => "unknown",
            _ => "mixed",
        },
        Some(_) => "mixed",
    };
    let negotiated = if answered != "none" {
        answered
    } else {
        offered
    };
    let protected = !matches!(negotiated, "rtp" | "none");
    let mismatch =
        (protected && wire == "plaintext") || (negotiated == "rtp" && wire == "encrypted");
    Encryption {
        signalling: Cow::Borrowed("plaintext"),
        media_offered: Cow::Borrowed(offered),
        media_answered: Cow::Borrowed(answered),
        media_wire: Cow::Borrowed(wire),
        keys_exposed: info
            .media_offer
            .iter()
            .chain(&info.media_answer)
            .any(|l| l.inline_key),
        downgrade: offered != "rtp" && offered != "none" && answered == "rtp",
        wire_mismatch: mismatch,
    }
}

fn no_lines(l: &MediaLines) -> bool {
    l.is_empty()
}

fn take_answer_media(info: &mut CallInfo, m: &Msg) {
    if let Some(media) = &m.media {
        if info.media_offer.is_empty() {
            // No SDP in the INVITE: the 2xx carries the offer.
            info.media_offer = media.clone();
        } else {
            info.media_answer = media.clone();
        }
    }
}

/// Seconds with microsecond resolution.
fn secs(ns: u64) -> f64 {
    (ns as f64 / 1e3).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn msg(text: &str, src: &str, dst: &str, ms: u64) -> Msg {
        let text = text.replace('\n', "\r\n");
        let (m, _) = crate::sip::parser::parse_message(text.as_bytes()).unwrap();
        let ctx = PacketCtx {
            src: ip(src),
            dst: ip(dst),
            ..PacketCtx::test_at(Ts(ms * 1_000_000))
        };
        Msg::from_parsed(&m, ctx, ms)
    }

    fn sdp(addr: &str, port: u16) -> String {
        let body = format!(
            "v=0\no=- 1 1 IN IP4 {addr}\ns=-\nc=IN IP4 {addr}\nt=0 0\nm=audio {port} RTP/AVP 8\n"
        );
        format!(
            "Content-Type: application/sdp\nContent-Length: {}\n\n{body}",
            body.replace('\n', "\r\n").len()
        )
    }

    #[test]
    fn rtp_from_an_address_no_sdp_announced_is_injection() {
        let mut calls = Calls::new(CallConfig::default());
        let mut out = Vec::new();
        let invite = format!(
            "INVITE sip:b@10.0.0.2 SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\nFrom: <sip:a@10.0.0.1>;tag=1\nTo: <sip:b@10.0.0.2>\nCall-ID: inj\nCSeq: 1 INVITE\n{}",
            sdp("10.0.0.1", 16000)
        );
        calls.on_message(&msg(&invite, "10.0.0.1", "10.0.0.2", 0), &mut out);
        let ok = format!(
            "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\nFrom: <sip:a@10.0.0.1>;tag=1\nTo: <sip:b@10.0.0.2>;tag=2\nCall-ID: inj\nCSeq: 1 INVITE\n{}",
            sdp("10.0.0.2", 17000)
        );
        calls.on_message(&msg(&ok, "10.0.0.2", "10.0.0.1", 10), &mut out);
        let callee = (ip("10.0.0.2"), 17000);
        // the caller's own stream, and the callee's back: announced
        assert!(!calls.injected_into("inj", (ip("10.0.0.1"), 16000), callee));
        assert!(!calls.injected_into("inj", (ip("10.0.0.2"), 17000), (ip("10.0.0.1"), 16000)));
        // a third address into the callee's media port: injection
        assert!(calls.injected_into("inj", (ip("10.0.0.9"), 4000), callee));
        // ... but not into a port the call did not announce, nor for an unknown call
        assert!(!calls.injected_into("inj", (ip("10.0.0.9"), 4000), (ip("10.0.0.2"), 17002)));
        assert!(!calls.injected_into("other", (ip("10.0.0.9"), 4000), callee));
    }

    /// One dialog of a challenged call: the INVITE, its 401/407, the ACK, and the INVITE again
    /// with credentials (CSeq + 1), then `rest` (status lines of the second attempt).
    fn challenged(calls: &mut Calls, out: &mut Vec<CallRecord>, code: u16, rest: &[&str]) {
        let head = |first: &str, cseq: u32, method: &str, to_tag: &str| {
            format!("{first}\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK{cseq}\nFrom: <sip:100@pbx>;tag=a\nTo: <sip:200@pbx>{to_tag}\nCall-ID: ch\nCSeq: {cseq} {method}\n")
        };
        let (hdr, kind) = if code == 401 {
            ("WWW-Authenticate", "Authorization")
        } else {
            ("Proxy-Authenticate", "Proxy-Authorization")
        };
        let invite = format!(
            "{}{}",
            head("INVITE sip:200@pbx SIP/2.0", 1, "INVITE", ""),
            sdp("10.0.0.1", 16000)
        );
        calls.on_message(&msg(&invite, "10.0.0.1", "10.0.0.2", 0), out);
        let challenge = format!(
            "{}{hdr}: Digest realm=\"office\", nonce=\"n1\", qop=\"auth\"\nContent-Length: 0\n\n",
            head(&format!("SIP/2.0 {code} Challenge"), 1, "INVITE", ";tag=p")
        );
        calls.on_message(&msg(&challenge, "10.0.0.2", "10.0.0.1", 1), out);
        calls.on_message(&msg(&challenge, "10.0.0.2", "10.0.0.1", 2), out);
        let ack = format!(
            "{}Content-Length: 0\n\n",
            head("ACK sip:200@pbx SIP/2.0", 1, "ACK", ";tag=p")
        );
        calls.on_message(&msg(&ack, "10.0.0.1", "10.0.0.2", 3), out);
        let again = format!(
            "{}{kind}: Digest username=\"100\", realm=\"office\", nonce=\"n1\", uri=\"sip:200@pbx\", response=\"0123456789abcdef0123456789abcdef\"\n{}",
            head("INVITE sip:200@pbx SIP/2.0", 2, "INVITE", ""),
            sdp("10.0.0.1", 16000)
        );
        calls.on_message(&msg(&again, "10.0.0.1", "10.0.0.2", 4), out);
        // Responses answer the request before them: the second INVITE, then each request.
        let mut last = (2, "INVITE");
        for (i, line) in rest.iter().enumerate() {
            let (from, to) = if line.starts_with("SIP/") {
                ("10.0.0.2", "10.0.0.1")
            } else {
                last = (last.0 + 1, line.split(' ').next().unwrap());
                ("10.0.0.1", "10.0.0.2")
            };
            let (cseq, method) = last;
            let m = format!(
                "{}Content-Length: 0\n\n",
                head(line, cseq, method, ";tag=b")
            );
            calls.on_message(&msg(&m, from, to, 10 + i as u64 * 1000), out);
        }
    }

    #[test]
    fn a_challenged_invite_sent_again_with_credentials_is_one_answered_call() {
        for code in [407, 401] {
            let mut calls = Calls::new(CallConfig::default());
            let mut out = Vec::new();
            challenged(
                &mut calls,
                &mut out,
                code,
                &[
                    "SIP/2.0 200 OK",
                    "BYE sip:100@10.0.0.1 SIP/2.0",
                    "SIP/2.0 200 OK",
                ],
            );
            assert_eq!(out.len(), 1, "{out:?}");
            let c = &out[0].call;
            assert_eq!(c.outcome, "answered");
            assert_eq!(c.final_status, Some(200));
            assert_eq!(c.hangup_by.as_deref(), Some("caller"));
            assert_eq!(
                c.auth,
                Some(CallAuth {
                    challenged: code,
                    challenges: 1,
                    username: Some("100".into()),
                    realm: Some("office".into()),
                })
            );
            assert_eq!(calls.stats.answered, 1);
            assert_eq!(calls.stats.failed, 0);
        }
    }

    #[test]
    fn a_challenge_not_answered_in_time_is_a_failed_call_at_the_challenge() {
        let mut calls = Calls::new(CallConfig::default());
        let mut out = Vec::new();
        let invite = format!(
            "INVITE sip:200@pbx SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\nFrom: <sip:100@pbx>;tag=a\nTo: <sip:200@pbx>\nCall-ID: gone\nCSeq: 1 INVITE\n{}",
            sdp("10.0.0.1", 16000)
        );
        calls.on_message(&msg(&invite, "10.0.0.1", "10.0.0.2", 0), &mut out);
        let challenge = "SIP/2.0 407 Proxy Authentication Required\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\nFrom: <sip:100@pbx>;tag=a\nTo: <sip:200@pbx>;tag=p\nCall-ID: gone\nCSeq: 1 INVITE\nProxy-Authenticate: Digest realm=\"office\", nonce=\"n\"\nContent-Length: 0\n\n";
        calls.on_message(&msg(challenge, "10.0.0.2", "10.0.0.1", 5), &mut out);
        calls.expire(Ts(crate::base::time::secs(179)), &mut out);
        assert!(out.is_empty(), "a user may still be typing the password");
        calls.expire(Ts(crate::base::time::secs(181)), &mut out);
        assert_eq!(out.len(), 1);
        let c = &out[0].call;
        assert_eq!((c.outcome.as_ref(), c.final_status), ("failed", Some(407)));
        assert_eq!(
            c.end.as_str(),
            Ts(5_000_000).to_string(),
            "ends at the challenge"
        );
        assert_eq!(c.auth.as_ref().map(|a| a.username.clone()), Some(None));
        assert_eq!(calls.stats.failed, 1);
    }

    /// A call through a forking proxy (10.0.0.2) from 10.0.0.1: `steps` are (from, to, first
    /// line) in wire order; INVITEs and CANCELs have no To tag, responses and ACKs the tag
    /// `t` + the responder's last address byte.
    fn forked(steps: &[(&str, &str, &str)]) -> (Vec<CallRecord>, Calls) {
        let mut calls = Calls::new(CallConfig::default());
        let mut out = Vec::new();
        for (i, (from, to, line)) in steps.iter().enumerate() {
            // A response names its request's method last when it is not the INVITE.
            let (first, method) = match line.rsplit_once(' ') {
                Some((head, m @ ("CANCEL" | "BYE"))) if line.starts_with("SIP/") => (head, m),
                _ if line.starts_with("SIP/") => (*line, "INVITE"),
                _ => (*line, line.split(' ').next().unwrap()),
            };
            let to_tag = match method {
                "INVITE" | "CANCEL" if !line.starts_with("SIP/") => String::new(),
                _ if line.starts_with("SIP/") => {
                    format!(";tag=t{}", from.rsplit('.').next().unwrap())
                }
                _ => format!(";tag=t{}", to.rsplit('.').next().unwrap()),
            };
            let cseq = if method == "BYE" { 2 } else { 1 };
            let m = format!(
                "{first}\nVia: SIP/2.0/UDP {from};branch=z9hG4bK{i}\nFrom: <sip:100@pbx>;tag=a\nTo: <sip:200@pbx>{to_tag}\nCall-ID: fork\nCSeq: {cseq} {method}\nContent-Length: 0\n\n"
            );
            calls.on_message(&msg(&m, from, to, i as u64 * 100), &mut out);
        }
        (out, calls)
    }

    const C: &str = "10.0.0.1";
    const P: &str = "10.0.0.2";
    const A: &str = "10.0.0.3";
    const B: &str = "10.0.0.4";
    const VM: &str = "10.0.0.5";

    fn outcome(out: &[CallRecord]) -> (usize, &str, Option<u16>, usize) {
        let c = &out[0].call;
        (out.len(), c.outcome.as_ref(), c.final_status, c.legs.len())
    }

    #[test]
    fn a_forked_call_is_decided_by_what_the_caller_is_told() {
        let inv = "INVITE sip:200@pbx SIP/2.0";
        // one branch busy at once, the other answers
        let (out, _) = forked(&[
            (C, P, inv),
            (P, A, inv),
            (P, B, inv),
            (A, P, "SIP/2.0 486 Busy Here"),
            (B, P, "SIP/2.0 180 Ringing"),
            (P, C, "SIP/2.0 180 Ringing"),
            (B, P, "SIP/2.0 200 OK"),
            (P, C, "SIP/2.0 200 OK"),
            (C, P, "BYE sip:200@pbx SIP/2.0"),
            (P, B, "BYE sip:200@pbx SIP/2.0"),
            (B, P, "SIP/2.0 200 OK BYE"),
            (P, C, "SIP/2.0 200 OK BYE"),
        ]);
        assert_eq!(outcome(&out), (1, "answered", Some(200), 3), "{out:?}");
        // every branch fails: the caller's final is the call's, at its time
        let (out, _) = forked(&[
            (C, P, inv),
            (P, A, inv),
            (P, B, inv),
            (A, P, "SIP/2.0 486 Busy Here"),
            (B, P, "SIP/2.0 480 Temporarily Unavailable"),
            (P, C, "SIP/2.0 486 Busy Here"),
        ]);
        assert_eq!(outcome(&out), (1, "failed", Some(486), 3), "{out:?}");
        assert_eq!(out[0].call.end.as_str(), Ts(500_000_000).to_string());
        // the proxy's timer: 408 to the caller before the phone's 487 to the proxy's CANCEL
        let (out, _) = forked(&[
            (C, P, inv),
            (P, A, inv),
            (A, P, "SIP/2.0 180 Ringing"),
            (P, C, "SIP/2.0 408 Request Timeout"),
            (P, A, "CANCEL sip:200@pbx SIP/2.0"),
            (A, P, "SIP/2.0 200 OK CANCEL"),
            (A, P, "SIP/2.0 487 Request Terminated"),
        ]);
        assert_eq!(outcome(&out), (1, "failed", Some(408), 2), "{out:?}");
        // no answer: the proxy cancels the phone and tries voicemail, the phone's 487 first
        let (out, _) = forked(&[
            (C, P, inv),
            (P, A, inv),
            (A, P, "SIP/2.0 180 Ringing"),
            (P, A, "CANCEL sip:200@pbx SIP/2.0"),
            (P, VM, inv),
            (A, P, "SIP/2.0 200 OK CANCEL"),
            (A, P, "SIP/2.0 487 Request Terminated"),
            (VM, P, "SIP/2.0 200 OK"),
            (P, C, "SIP/2.0 200 OK"),
            (C, P, "BYE sip:200@pbx SIP/2.0"),
            (P, C, "SIP/2.0 200 OK BYE"),
        ]);
        assert_eq!(outcome(&out), (1, "answered", Some(200), 3), "{out:?}");
        // the caller cancels: the branches' 487s, then the caller's
        let (out, calls) = forked(&[
            (C, P, inv),
            (P, A, inv),
            (P, B, inv),
            (C, P, "CANCEL sip:200@pbx SIP/2.0"),
            (P, A, "CANCEL sip:200@pbx SIP/2.0"),
            (P, B, "CANCEL sip:200@pbx SIP/2.0"),
            (A, P, "SIP/2.0 487 Request Terminated"),
            (B, P, "SIP/2.0 487 Request Terminated"),
            (P, C, "SIP/2.0 487 Request Terminated"),
        ]);
        assert_eq!(outcome(&out), (1, "cancelled", Some(487), 3), "{out:?}");
        assert_eq!(out[0].call.end.as_str(), Ts(800_000_000).to_string());
        assert_eq!((calls.stats.cancelled, calls.stats.failed), (1, 0));
    }

    /// A branch failed and the caller's final never came (not seen): the call ends as failed
    /// once no leg is left ringing, after the BYE timeout, at the branch's final.
    #[test]
    fn a_branch_failure_without_the_callers_final_times_out_as_failed() {
        let inv = "INVITE sip:200@pbx SIP/2.0";
        let (mut out, mut calls) =
            forked(&[(C, P, inv), (P, A, inv), (A, P, "SIP/2.0 404 Not Found")]);
        assert!(out.is_empty(), "{out:?}");
        calls.expire(Ts(crate::base::time::secs(20)), &mut out);
        assert!(out.is_empty(), "{out:?}");
        calls.expire(Ts(crate::base::time::secs(40)), &mut out);
        assert_eq!(outcome(&out), (1, "failed", Some(404), 2), "{out:?}");
        assert_eq!(out[0].call.end.as_str(), Ts(200_000_000).to_string());
    }
}

//! SIP (RFC 3261) message parsing for passive inspection.
//!
//! * [`parser`]: start line, header section and body of one message.
//! * [`header`]: typed views of individual header values (URIs, Via, auth, ...).
//! * [`method`]: the request method.
//! * [`sdp`]: SDP bodies (RFC 4566 and the media security attributes).
//! * [`sdp_record`]: an SDP body in Suricata's EVE layout (`sip.sdp`).
//! * [`view`]: one message's fields as the signatures and the summary read them.
//! * [`framing`]: message boundaries on reassembled TCP/TLS streams.
//! * [`frames`]: a message's parts as Suricata's `frame:` keyword names them.
//!
//! Everything here treats input as hostile: no panics, bounded work, borrowed
//! slices in the common case.

pub mod frames;
pub mod framing;
pub mod header;
pub mod method;
pub mod parser;
pub mod sdp;
pub mod sdp_record;
pub mod text;
pub mod view;

pub use framing::{frame_len, resync, skip_keepalive, Frame};
pub use header::{
    parse_challenge, parse_credentials, parse_cseq, parse_name_addr, parse_uri, parse_via, CSeq,
    Challenge, Credentials, NameAddr, SipUri, Via,
};
pub use parser::{
    looks_like_sip, parse_message, Header, HeaderName, Method, ParseError, ParseEvent,
    ParseEventKind, SipMessage, StartLine, MAX_HEADERS, MAX_HEADER_BYTES,
};
pub use view::View;

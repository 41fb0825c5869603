//! The SIP request method (RFC 3261 7.1), shared by the start line and the CSeq header.

use std::borrow::Cow;
use std::fmt;

/// SIP request method. Methods are case-sensitive tokens (RFC 3261 7.1), so
/// `invite` is an extension method, not INVITE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method<'a> {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Update,
    Prack,
    Subscribe,
    Notify,
    Publish,
    Message,
    Refer,
    Other(Cow<'a, str>),
}

impl<'a> Method<'a> {
    /// Map a method token to a variant (case-sensitive); never fails.
    pub fn parse(s: &'a str) -> Method<'a> {
        match s {
            "INVITE" => Self::Invite,
            "ACK" => Self::Ack,
            "BYE" => Self::Bye,
            "CANCEL" => Self::Cancel,
            "REGISTER" => Self::Register,
            "OPTIONS" => Self::Options,
            "INFO" => Self::Info,
            "UPDATE" => Self::Update,
            "PRACK" => Self::Prack,
            "SUBSCRIBE" => Self::Subscribe,
            "NOTIFY" => Self::Notify,
            "PUBLISH" => Self::Publish,
            "MESSAGE" => Self::Message,
            "REFER" => Self::Refer,
            other => Self::Other(Cow::Borrowed(other)),
        }
    }

    /// The method token as on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Register => "REGISTER",
            Self::Options => "OPTIONS",
            Self::Info => "INFO",
            Self::Update => "UPDATE",
            Self::Prack => "PRACK",
            Self::Subscribe => "SUBSCRIBE",
            Self::Notify => "NOTIFY",
            Self::Publish => "PUBLISH",
            Self::Message => "MESSAGE",
            Self::Refer => "REFER",
            Self::Other(s) => s,
        }
    }

    /// True for the methods with a dedicated variant.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Other(_))
    }

    /// Detach from the input buffer.
    pub fn into_owned(self) -> Method<'static> {
        match self {
            Self::Other(s) => Method::Other(Cow::Owned(s.into_owned())),
            Self::Invite => Method::Invite,
            Self::Ack => Method::Ack,
            Self::Bye => Method::Bye,
            Self::Cancel => Method::Cancel,
            Self::Register => Method::Register,
            Self::Options => Method::Options,
            Self::Info => Method::Info,
            Self::Update => Method::Update,
            Self::Prack => Method::Prack,
            Self::Subscribe => Method::Subscribe,
            Self::Notify => Method::Notify,
            Self::Publish => Method::Publish,
            Self::Message => Method::Message,
            Self::Refer => Method::Refer,
        }
    }
}

impl fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

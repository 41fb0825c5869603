//! Media expectations: what an SDP body announces (address, port, payload types with their clock
//! rates, which payload type is telephone-event). The capture thread reads them from SIP over UDP
//! and sends them to every worker in the packet queues, so a worker knows a stream's codec from its
//! first packet, in capture order, whatever the worker count. (SIP over TCP is reassembled by one
//! worker and cannot be announced this way: its streams fall back to static payload types.)

use crate::base::fasthash::FastMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::base::time::Ts;
use crate::sip::parser::datagram_body;
use crate::sip::sdp::parse_sdp_media;

/// One announced media endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaExpect {
    pub addr: IpAddr,
    pub port: u16,
    /// (payload type, clock rate) from a=rtpmap.
    pub clocks: Vec<(u8, u32)>,
    /// Payload types that are RFC 4733 telephone-event.
    pub telephone_event: Vec<u8>,
}

impl MediaExpect {
    pub fn clock_of(&self, pt: u8) -> Option<u32> {
        self.clocks.iter().find(|(p, _)| *p == pt).map(|(_, c)| *c)
    }
}

/// The expectations in a SIP datagram's SDP body, if it has one.
pub fn from_sip_datagram(payload: &[u8]) -> Option<Arc<Vec<MediaExpect>>> {
    // Cheap test before parsing: only messages with an SDP media line matter. The searcher is
    // built once (building one per message cost more than the search).
    static MEDIA_LINE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\nm="));
    MEDIA_LINE.find(payload)?;
    let body = datagram_body(payload)?;
    let sdp = parse_sdp_media(body).ok()?;
    let mut out = Vec::with_capacity(sdp.media.len().min(16));
    for m in sdp.media.iter().take(16) {
        let Some(conn) = m.connection.as_ref().or(sdp.connection.as_ref()) else {
            continue;
        };
        let Some(addr) = crate::base::iptext::parse_ip(conn.addr) else {
            continue;
        };
        if m.port == 0 {
            continue;
        }
        let clocks = m
            .rtpmap
            .iter()
            .take(32)
            .map(|r| (r.pt, r.clock_rate))
            .collect();
        let telephone_event = m
            .rtpmap
            .iter()
            .filter(|r| r.encoding.eq_ignore_ascii_case("telephone-event"))
            .map(|r| r.pt)
            .collect();
        out.push(MediaExpect {
            addr,
            port: m.port,
            clocks,
            telephone_event,
        });
    }
    (!out.is_empty()).then(|| Arc::new(out))
}

/// An entry of the table: the SDP's list, which line of it, and when it was announced.
type Entry = (Arc<Vec<MediaExpect>>, usize, Ts);

/// A worker's table of expectations, by endpoint; bounded, and forgotten after a while.
pub struct Expectations {
    map: FastMap<(IpAddr, u16), Entry>,
    max: usize,
    ttl_ns: u64,
    pub evicted: u64,
}

impl Expectations {
    pub fn new(max: usize, ttl_ns: u64) -> Expectations {
        Expectations {
            map: FastMap::default(),
            max,
            ttl_ns,
            evicted: 0,
        }
    }

    pub fn insert(&mut self, list: &Arc<Vec<MediaExpect>>, now: Ts) {
        for (i, e) in list.iter().enumerate() {
            if self.map.len() >= self.max && !self.map.contains_key(&(e.addr, e.port)) {
                self.evict_oldest();
            }
            self.map
                .insert((e.addr, e.port), (Arc::clone(list), i, now));
        }
    }

    /// The expectation for a stream between these endpoints (its destination first).
    pub fn find(&self, dst: (IpAddr, u16), src: (IpAddr, u16)) -> Option<&MediaExpect> {
        self.map
            .get(&dst)
            .or_else(|| self.map.get(&src))
            .and_then(|(list, i, _)| list.get(*i))
    }

    /// Full: forget the oldest 1/64 of the announcements ([`crate::base::evict`]). Refusing the
    /// new ones instead left every call after a flood of SDPs unannounced for the whole TTL.
    fn evict_oldest(&mut self) {
        let len = self.map.len();
        for k in crate::base::evict::oldest(self.map.iter(), len, |k, v| (v.2, *k)) {
            self.map.remove(&k);
            self.evicted += 1;
        }
    }

    pub fn expire(&mut self, now: Ts) {
        let ttl = self.ttl_ns;
        self.map.retain(|_, (_, _, t)| now.since(*t) < ttl);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_forgets_the_oldest_and_takes_the_newest() {
        let mut t = Expectations::new(32, crate::base::time::secs(7200));
        let me = |i: u16| MediaExpect {
            addr: IpAddr::from([10, 0, (i >> 8) as u8, i as u8]),
            port: 16_000,
            clocks: vec![(8, 8000)],
            telephone_event: vec![],
        };
        for i in 0..1000u16 {
            t.insert(&Arc::new(vec![me(i)]), Ts(u64::from(i) * 1_000_000));
            assert!(t.len() <= 32);
        }
        assert!(t.evicted >= 1000 - 32, "{}", t.evicted);
        let newest = me(999);
        let other = (IpAddr::from([192, 0, 2, 1]), 4000);
        assert!(t.find((newest.addr, newest.port), other).is_some());
        assert!(t.find((me(0).addr, 16_000), other).is_none());
    }
}

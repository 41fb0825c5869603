//! Where the packets of a run came from, by capture position: the savefile being replayed
//! (Suricata's `pcap_filename`) or the interface captured on (its `in_iface`). The capture
//! thread notes each new origin before handing on its first packet; the output stage looks up
//! the origin of a record's packet when it writes the record.

use std::sync::{Arc, Mutex};

/// A savefile (its path as given) or an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    File(Arc<str>),
    Interface(Arc<str>),
}

/// The origins of a run, each with the capture position of its first packet.
#[derive(Debug, Default)]
pub struct Origins {
    from: Mutex<Vec<(u64, Origin)>>,
}

impl Origins {
    /// Packets from `first` (a capture position, 1-based) on come from `origin`. Positions
    /// only grow: a file opened but empty is replaced by the next at the same position.
    pub fn begin(&self, first: u64, origin: Origin) {
        let mut v = self
            .from
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if v.last().is_some_and(|(at, _)| *at == first) {
            v.pop();
        }
        v.push((first, origin));
    }

    /// The origin of the packet at capture position `seq`.
    pub fn of(&self, seq: u64) -> Option<Origin> {
        let v = self
            .from
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let i = v.partition_point(|(at, _)| *at <= seq);
        i.checked_sub(1)
            .and_then(|i| v.get(i))
            .map(|(_, o)| o.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_map_to_their_file() {
        let o = Origins::default();
        assert_eq!(o.of(1), None);
        o.begin(1, Origin::File("a.pcap".into()));
        o.begin(11, Origin::File("empty.pcap".into()));
        o.begin(11, Origin::File("b.pcap".into()));
        assert_eq!(o.of(1), Some(Origin::File("a.pcap".into())));
        assert_eq!(o.of(10), Some(Origin::File("a.pcap".into())));
        assert_eq!(o.of(11), Some(Origin::File("b.pcap".into())));
        assert_eq!(o.of(u64::MAX), Some(Origin::File("b.pcap".into())));
        assert_eq!(o.of(0), None);
    }
}

//! The k-way merge in front of the correlator: workers send their events in capture order, each
//! with a mark of how far it has got; the merge hands out the globally smallest event once no
//! worker can still send a smaller one. The correlator so sees one order, the same for any
//! number of workers.

use std::collections::VecDeque;

use crossbeam_channel::Receiver;

use super::event::{Chunk, Event, Order};

pub struct Merge {
    rx: Vec<Receiver<Chunk>>,
    heads: Vec<VecDeque<Event>>,
    marks: Vec<Order>,
}

impl Merge {
    pub fn new(rx: Vec<Receiver<Chunk>>) -> Merge {
        let n = rx.len();
        Merge {
            rx,
            heads: (0..n).map(|_| VecDeque::new()).collect(),
            marks: vec![Order::default(); n],
        }
    }

    /// Events buffered in the merge now (for the queue-depth metrics).
    pub fn buffered(&self) -> usize {
        self.heads.iter().map(|h| h.len()).sum()
    }

    fn receive(&mut self, w: usize) {
        match self.rx[w].recv() {
            Ok(chunk) => {
                self.heads[w].extend(chunk.events);
                self.marks[w] = self.marks[w].max(chunk.mark);
            }
            Err(_) => self.marks[w] = Order::MAX,
        }
    }

    /// The next event in global order, or `None` when every worker has finished.
    pub fn next_event(&mut self) -> Option<Event> {
        loop {
            // The smallest buffered event, if any.
            let best = (0..self.heads.len())
                .filter_map(|w| self.heads[w].front().map(|e| (e.order, w)))
                .min();
            // The worker that may still send something smaller: the one, without buffered
            // events, whose mark is lowest.
            let lagging = (0..self.heads.len())
                .filter(|&w| self.heads[w].is_empty() && self.marks[w] != Order::MAX)
                .min_by_key(|&w| self.marks[w]);
            match (best, lagging) {
                (Some((order, w)), Some(l)) if self.marks[l] < order => {
                    let _ = w;
                    self.receive(l);
                }
                (Some((_, w)), _) => return self.heads[w].pop_front(),
                (None, Some(l)) => self.receive(l),
                (None, None) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Transport;
    use crate::pipeline::event::{EventKind, PacketCtx};
    use crate::time::Ts;

    fn ev(seq: u64) -> Event {
        let ip = "127.0.0.1".parse().unwrap();
        Event {
            order: Order {
                seq,
                ..Order::default()
            },
            kind: EventKind::SipFraming {
                ctx: PacketCtx {
                    ts: Ts(seq),
                    src: ip,
                    dst: ip,
                    sport: 1,
                    dport: 2,
                    transport: Transport::Tcp,
                    vlan: None,
                    flow_id: 0,
                },
                kind: "x",
            },
        }
    }

    #[test]
    fn merges_in_global_order() {
        let (t0, r0) = crossbeam_channel::unbounded();
        let (t1, r1) = crossbeam_channel::unbounded();
        t0.send(Chunk {
            events: vec![ev(1), ev(4)],
            mark: Order::mark(4, false),
        })
        .unwrap();
        t1.send(Chunk {
            events: vec![ev(2)],
            mark: Order::mark(3, false),
        })
        .unwrap();
        t1.send(Chunk {
            events: vec![ev(5)],
            mark: Order::mark(6, false),
        })
        .unwrap();
        t0.send(Chunk {
            events: vec![ev(7)],
            mark: Order::mark(7, false),
        })
        .unwrap();
        drop(t0);
        drop(t1);
        let mut m = Merge::new(vec![r0, r1]);
        let got: Vec<u64> = std::iter::from_fn(|| m.next_event())
            .map(|e| e.order.seq)
            .collect();
        assert_eq!(got, vec![1, 2, 4, 5, 7]);
    }
}

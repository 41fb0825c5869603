//! The k-way merge in front of the correlator: workers send their events in capture order, each
//! with a mark of how far it has got; the merge hands out the globally smallest event once no
//! worker can still send a smaller one. The correlator so sees one order, the same for any
//! number of workers.
//!
//! The merge never waits on one worker alone: when it must wait, it takes whatever any worker
//! has sent (a worker whose queue it did not read could otherwise fill it and block, while the
//! worker the merge waits on waits for input that the blocked one holds up: the stop that hung
//! after a quiet period). Only a worker with `HEAD_CAP` events already buffered here is left
//! unread, so its queue holds it back and memory stays bounded.

use std::collections::VecDeque;

use crossbeam_channel::{Receiver, RecvError, Select, Sender};

use super::event::{Chunk, Event, Order};

/// Events of one worker buffered in the merge before the merge stops reading that worker's
/// queue (its bounded queue then holds the worker back).
const HEAD_CAP: usize = 4096;

pub struct Merge {
    rx: Vec<Receiver<Chunk>>,
    heads: Vec<VecDeque<Event>>,
    marks: Vec<Order>,
    /// Emptied event lists, back to the worker that sent them, to fill again (none: dropped).
    back: Vec<Sender<Vec<Event>>>,
}

/// An emptied list goes back to its worker only if it holds no more than this many events (a
/// list a tick or the end filled with hundreds of records is not kept): with the return queue's
/// bound, a few dozen kilobytes a worker at most.
const RETURN_MAX: usize = 64;

impl Merge {
    pub fn new(rx: Vec<Receiver<Chunk>>) -> Merge {
        let n = rx.len();
        Merge {
            rx,
            heads: (0..n).map(|_| VecDeque::new()).collect(),
            marks: vec![Order::default(); n],
            back: Vec::new(),
        }
    }

    /// Send each worker's emptied event lists back to it (`back[w]`), so a worker does not
    /// allocate a list for every batch that has events, nor this thread free them.
    pub fn with_returns(mut self, back: Vec<Sender<Vec<Event>>>) -> Merge {
        self.back = back;
        self
    }

    /// Events buffered in the merge now (for the queue-depth metrics).
    pub fn buffered(&self) -> usize {
        self.heads.iter().map(|h| h.len()).sum()
    }

    fn absorb(&mut self, w: usize, got: Result<Chunk, RecvError>) {
        match got {
            Ok(mut chunk) => {
                self.heads[w].extend(chunk.events.drain(..));
                if let Some(back) = self.back.get(w) {
                    if chunk.events.capacity() <= RETURN_MAX {
                        let _ = back.try_send(chunk.events);
                    }
                }
                self.marks[w] = self.marks[w].max(chunk.mark);
            }
            Err(_) => self.marks[w] = Order::MAX,
        }
    }

    /// A worker whose queue the merge may read: still running, and not holding `HEAD_CAP`
    /// events here already.
    fn readable(&self, w: usize) -> bool {
        self.marks[w] != Order::MAX && self.heads[w].len() < HEAD_CAP
    }

    /// Wait until some worker has sent something: take every chunk already queued, and if
    /// there was none, block until any readable worker sends one (or ends).
    fn wait(&mut self) {
        let mut got = false;
        for w in 0..self.rx.len() {
            while self.readable(w) {
                match self.rx[w].try_recv() {
                    Ok(chunk) => self.absorb(w, Ok(chunk)),
                    Err(crossbeam_channel::TryRecvError::Empty) => break,
                    Err(crossbeam_channel::TryRecvError::Disconnected) => {
                        self.absorb(w, Err(RecvError))
                    }
                }
                got = true;
            }
        }
        if got {
            return;
        }
        let mut sel = Select::new();
        let mut index = Vec::with_capacity(self.rx.len());
        for w in 0..self.rx.len() {
            if self.readable(w) {
                sel.recv(&self.rx[w]);
                index.push(w);
            }
        }
        if index.is_empty() {
            return;
        }
        let op = sel.select();
        let w = index[op.index()];
        let got = op.recv(&self.rx[w]);
        self.absorb(w, got);
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
                (Some((order, _)), Some(l)) if self.marks[l] < order => self.wait(),
                (Some((_, w)), _) => return self.heads[w].pop_front(),
                (None, Some(_)) => self.wait(),
                (None, None) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::packet::PacketCtx;
    use crate::base::packet::Transport;
    use crate::base::time::Ts;
    use crate::pipeline::event::EventKind;

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
                    agent: None,
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

    /// Emptied lists go back to the worker that sent them, small ones only, and never block the
    /// merge (a full return queue drops them).
    #[test]
    fn emptied_lists_go_back_to_their_worker() {
        let (t0, r0) = crossbeam_channel::unbounded();
        let (b0, back0) = crossbeam_channel::bounded(2);
        let mut big = Vec::with_capacity(RETURN_MAX + 1);
        big.push(ev(1));
        for events in [vec![ev(2)], big, vec![ev(3)], vec![ev(4)]] {
            t0.send(Chunk {
                mark: Order::mark(events[0].order.seq, false),
                events,
            })
            .unwrap();
        }
        drop(t0);
        let mut m = Merge::new(vec![r0]).with_returns(vec![b0]);
        let got: Vec<u64> = std::iter::from_fn(|| m.next_event())
            .map(|e| e.order.seq)
            .collect();
        assert_eq!(got, vec![2, 1, 3, 4]);
        // The first two small lists came back (the big one was not kept; the queue, full, then
        // dropped the last).
        for _ in 0..2 {
            let list = back0.try_recv().unwrap();
            assert!(list.is_empty() && list.capacity() >= 1 && list.capacity() <= RETURN_MAX);
        }
        assert!(back0.try_recv().is_err());
    }

    /// A quiet wire: every tick makes one chunk per worker at the same capture position, and
    /// only worker 0's carries the forwarded tick. The merge must read worker 1's empty chunks
    /// too, or its queue fills, the sender blocks on it, and the merge waits forever on worker
    /// 0, which gets nothing more (the stop that hung after five minutes of quiet).
    #[test]
    fn reads_every_worker_while_marks_are_tied() {
        let (t0, r0) = crossbeam_channel::bounded(2);
        let (t1, r1) = crossbeam_channel::bounded(2);
        let ticks = 100u64;
        let sender = std::thread::spawn(move || {
            for _ in 0..ticks {
                t1.send(Chunk {
                    events: Vec::new(),
                    mark: Order::mark(0, true),
                })
                .unwrap();
                let mut tick = ev(0);
                tick.order.phase = 2;
                t0.send(Chunk {
                    events: vec![tick],
                    mark: Order::mark(0, true),
                })
                .unwrap();
            }
        });
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        std::thread::spawn(move || {
            let mut m = Merge::new(vec![r0, r1]);
            let n = std::iter::from_fn(|| m.next_event()).count();
            let _ = done_tx.send(n);
        });
        let n = done_rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the merge and its sender waited on each other");
        sender.join().unwrap();
        assert_eq!(n as u64, ticks);
    }
}

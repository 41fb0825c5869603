//! The hand-over to the output stage: the records the correlator made, in the order they are
//! to be written, travel in batches over a bounded queue to the thread that serialises and
//! writes them ([`RecordWriter::write_item`]). Serialising EVE was two fifths of the
//! correlator's work on SIP-heavy traffic; as a stage of its own it runs beside it.
//!
//! The queue goes one way: the output stage never waits on the correlator, so the two cannot
//! wait on each other. A full queue makes the correlator wait, as a slow file did before.

use crossbeam_channel::Sender;

use crate::detect::alert::AlertRecord;
use crate::detect::gate::Decision;
use crate::detect::inventory::DeviceRecord;
use crate::detect::posture::PostureRecord;
use crate::dialog::media::RtpRecord;
use crate::dialog::transaction::SipRecord;
use crate::dialog::CallRecord;
use crate::flow::table::FlowRecord;
use crate::flow::tls::TlsRecord;
use crate::output::writer::RecordWriter;

/// Something for the output stage to do, in order.
pub enum Item {
    Sip(Box<SipRecord>),
    Device(Box<DeviceRecord>),
    Posture(Box<PostureRecord>),
    Call(Box<CallRecord>),
    Rtp(Box<RtpRecord>),
    /// An alert the gate decided on: written when admitted, counted either way.
    Alert(Box<AlertRecord>, Decision),
    Flow(Box<FlowRecord>),
    Tls(Box<TlsRecord>),
    /// A record made from the writer's own counters, once every record before it is written
    /// (a periodic `stats` record, which counts the records written).
    WithWriter(Box<dyn FnOnce(&mut RecordWriter) + Send>),
    /// Reopen the file if SIGHUP asked for it (logrotate).
    Reopen,
    /// Flush the file; count write errors; give up if writing has failed too long.
    Flush,
}

/// Records a batch holds before it is sent (a tick, a flush or the end send it sooner).
const BATCH: usize = 64;

/// The correlator's end of the queue: items gather in a batch, sent when full and at every
/// flush, so that a tick's records reach the file on that tick. Or, when the output has no
/// thread of its own (too few cores to give it one), the writer itself: items are done as
/// they come.
pub struct Outbox {
    inline: Option<RecordWriter>,
    tx: Option<Sender<Vec<Item>>>,
    pending: Vec<Item>,
    /// Told `true` when a send must wait for room in the queue and `false` when it is done
    /// (so that the watchdog can say the correlator is blocked on the output).
    on_wait: Option<Box<dyn Fn(bool) + Send>>,
}

impl Outbox {
    pub fn new(tx: Sender<Vec<Item>>) -> Outbox {
        Outbox {
            inline: None,
            tx: Some(tx),
            pending: Vec::with_capacity(BATCH),
            on_wait: None,
        }
    }

    /// Items written at once by `w`, on the caller's thread.
    pub fn inline(w: RecordWriter) -> Outbox {
        Outbox {
            inline: Some(w),
            tx: None,
            pending: Vec::new(),
            on_wait: None,
        }
    }

    /// The writer of an inline outbox.
    pub fn take_writer(&mut self) -> Option<RecordWriter> {
        self.inline.take()
    }

    /// Call `f(true)` before a send waits for room in the queue, `f(false)` after.
    pub fn on_wait(mut self, f: Box<dyn Fn(bool) + Send>) -> Outbox {
        self.on_wait = Some(f);
        self
    }

    /// A record: written at once when inline (not boxed) and given back (its strings' room
    /// can be used again), else boxed into the batch.
    fn put<T>(
        &mut self,
        r: T,
        write: fn(&mut RecordWriter, &T),
        item: fn(Box<T>) -> Item,
    ) -> Option<T> {
        match &mut self.inline {
            Some(w) => {
                write(w, &r);
                Some(r)
            }
            None => {
                self.push(item(Box::new(r)));
                None
            }
        }
    }

    /// A `sip` record; given back once written when inline.
    pub fn sip(&mut self, r: SipRecord) -> Option<SipRecord> {
        self.put(r, RecordWriter::sip, Item::Sip)
    }

    pub fn device(&mut self, r: DeviceRecord) {
        self.put(r, |w, r| w.record("device", r), Item::Device);
    }

    pub fn posture(&mut self, r: PostureRecord) {
        self.put(r, |w, r| w.record("posture", r), Item::Posture);
    }

    pub fn call(&mut self, r: CallRecord) {
        self.put(r, RecordWriter::call, Item::Call);
    }

    pub fn rtp(&mut self, r: RtpRecord) {
        self.put(r, RecordWriter::rtp, Item::Rtp);
    }

    pub fn tls(&mut self, r: TlsRecord) {
        self.put(r, |w, r| w.record("tls", r), Item::Tls);
    }

    pub fn alert(&mut self, a: AlertRecord, decision: Decision) {
        match &mut self.inline {
            Some(w) => w.alert(&a, decision),
            None => self.push(Item::Alert(Box::new(a), decision)),
        }
    }

    pub fn push(&mut self, item: Item) {
        if let Some(w) = &mut self.inline {
            w.write_item(item);
            return;
        }
        let flush = matches!(item, Item::Flush);
        self.pending.push(item);
        if flush || self.pending.len() >= BATCH {
            self.send();
        }
    }

    /// Send what has gathered. When the output stage has gone (it stopped on a panic), the
    /// records are dropped: the run is ending.
    pub fn send(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
        let Some(tx) = &self.tx else { return };
        match tx.try_send(batch) {
            Err(crossbeam_channel::TrySendError::Full(batch)) => {
                if let Some(f) = &self.on_wait {
                    f(true);
                }
                let _ = tx.send(batch);
                if let Some(f) = &self.on_wait {
                    f(false);
                }
            }
            Ok(()) | Err(crossbeam_channel::TrySendError::Disconnected(_)) => {}
        }
    }

    /// Send the rest and close the queue: the output stage then ends.
    pub fn close(&mut self) {
        self.send();
        self.tx = None;
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.close();
    }
}

impl RecordWriter {
    /// Do one item of the queue.
    pub fn write_item(&mut self, item: Item) {
        match item {
            Item::Sip(r) => self.sip(&r),
            Item::Device(r) => self.record("device", &*r),
            Item::Posture(r) => self.record("posture", &*r),
            Item::Call(r) => self.call(&r),
            Item::Rtp(r) => self.rtp(&r),
            Item::Alert(a, decision) => self.alert(&a, decision),
            Item::Flow(r) => self.record("flow", &*r),
            Item::Tls(r) => self.record("tls", &*r),
            Item::WithWriter(f) => f(self),
            Item::Reopen => self.reopen_if_asked(),
            Item::Flush => self.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items arrive whole batches at a time, in order; a flush sends at once; closing sends
    /// the rest and ends the queue.
    #[test]
    fn batches_keep_the_order_and_a_flush_sends_at_once() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut out = Outbox::new(tx);
        for _ in 0..BATCH - 1 {
            out.push(Item::Reopen);
        }
        assert!(rx.try_recv().is_err(), "sent before the batch was full");
        out.push(Item::Reopen);
        assert_eq!(rx.try_recv().unwrap().len(), BATCH);
        out.push(Item::Reopen);
        out.push(Item::Flush);
        let b = rx.try_recv().unwrap();
        assert_eq!(b.len(), 2);
        assert!(matches!(b[0], Item::Reopen) && matches!(b[1], Item::Flush));
        out.push(Item::Reopen);
        drop(out);
        assert_eq!(rx.recv().unwrap().len(), 1);
        assert!(rx.recv().is_err(), "the queue is closed");
    }

    /// A send that must wait for room says so before and after; one that need not, does not.
    #[test]
    fn a_send_into_a_full_queue_says_it_waits() {
        use std::sync::{Arc, Mutex};
        let (tx, rx) = crossbeam_channel::bounded(1);
        let said = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&said);
        let mut out = Outbox::new(tx).on_wait(Box::new(move |w| log.lock().unwrap().push(w)));
        out.push(Item::Flush);
        assert!(said.lock().unwrap().is_empty());
        let reader = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            rx.iter().count()
        });
        out.push(Item::Flush);
        assert_eq!(*said.lock().unwrap(), [true, false]);
        drop(out);
        assert_eq!(reader.join().unwrap(), 2);
    }
}

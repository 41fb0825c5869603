//! The output stage's thread: it takes the correlator's batches of records from a bounded
//! queue and writes them ([`RecordWriter::write_item`]) until the correlator closes the queue,
//! then hands the writer back for the run's last counters and `stats` record.

use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::output::outbox::{Item, Outbox};
use crate::output::writer::RecordWriter;
use crate::pipeline::correlate::CorrelatorConfig;
use crate::pipeline::watchdog::{Doing, Heartbeat};

/// The writer for the run's EVE output, as the correlator's configuration sets it up.
pub fn writer_for(
    out: Box<dyn Write + Send>,
    cfg: &CorrelatorConfig,
    metrics: Option<Arc<crate::output::metrics::Metrics>>,
) -> RecordWriter {
    let mut w = RecordWriter::new(out, metrics, cfg.eve_reopen.clone());
    w.give_up_after(cfg.give_up.clone());
    w.eve.types.clone_from(&cfg.eve_types);
    w
}

/// Start the output stage, whose queue holds `queue_batches` batches of up to 64 records:
/// the correlator's end of the queue, and the thread, which returns the writer when the queue
/// closes.
pub fn spawn(
    mut w: RecordWriter,
    queue_batches: usize,
    heart: Arc<Heartbeat>,
) -> (Outbox, JoinHandle<RecordWriter>) {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Item>>(queue_batches.max(1));
    let h = std::thread::Builder::new()
        .name("output".into())
        .spawn(move || {
            loop {
                heart.doing(Doing::Waiting);
                let Ok(batch) = rx.recv() else { break };
                heart.doing(Doing::Working);
                heart.beat();
                for item in batch {
                    w.write_item(item);
                }
            }
            heart.doing(Doing::Waiting);
            w.flush();
            w
        })
        .expect("spawn output thread");
    (Outbox::new(tx), h)
}

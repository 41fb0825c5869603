//! The output stage: every record the other stages made is written here as one EVE line, and
//! the metrics that follow from a written record (call outcomes and durations, stream quality,
//! alerts by signature, alerts the gate held back) are counted as it is written. SIGHUP asks
//! for the file to be reopened (logrotate), at the next tick.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;

use super::eve::EveWriter;
use super::metrics::{bounded_label, Metrics, DIALOG_OUTCOMES, MEDIA_PROTECTIONS, WIRE_KINDS};
use crate::detect::alert::AlertRecord;
use crate::detect::gate::Decision;
use crate::dialog::media::RtpRecord;
use crate::dialog::transaction::SipRecord;
use crate::dialog::CallRecord;

pub struct RecordWriter {
    pub eve: EveWriter,
    metrics: Option<Arc<Metrics>>,
    /// The flag SIGHUP sets, and the file to reopen.
    reopen: Option<(Arc<AtomicBool>, std::path::PathBuf)>,
    /// Write errors already added to the metrics.
    errors_published: u64,
    give_up: Option<GiveUp>,
}

/// A live sensor whose output has been failing for `after` stops (sets `stop`) and says why
/// (sets `failed`), so that its service manager restarts it.
#[derive(Clone, Debug)]
pub struct GiveUp {
    pub after: std::time::Duration,
    pub stop: Arc<AtomicBool>,
    pub failed: Arc<AtomicBool>,
}

impl RecordWriter {
    pub fn new(
        out: Box<dyn Write + Send>,
        metrics: Option<Arc<Metrics>>,
        reopen: Option<(Arc<AtomicBool>, std::path::PathBuf)>,
    ) -> RecordWriter {
        let name = match &reopen {
            Some((_, path)) => path.display().to_string(),
            None => "the output".to_string(),
        };
        let mut eve = EveWriter::new(out, &name);
        // No file to reopen: the records go to stdout.
        eve.stdout = reopen.is_none();
        RecordWriter {
            eve,
            metrics,
            reopen,
            errors_published: 0,
            give_up: None,
        }
    }

    /// Stop the sensor when writing has failed for longer than `g.after`.
    pub fn give_up_after(&mut self, g: Option<GiveUp>) {
        self.give_up = g;
    }

    /// A record with nothing to count beside it (`sip`, `device`, `tls`).
    pub fn record<T: Serialize>(&mut self, event_type: &str, record: &T) {
        self.eve.write(event_type, record);
    }

    /// A `sip` record, written directly ([`crate::output::direct::sip_record`]).
    pub fn sip(&mut self, r: &SipRecord) {
        self.eve
            .write_by("sip", r, |line| crate::output::direct::sip_record(line, r));
    }

    pub fn call(&mut self, r: &CallRecord) {
        if let Some(mx) = &self.metrics {
            let c = &r.call;
            mx.dialogs_ended_total
                .with_label_values(&[bounded_label(&c.outcome, &DIALOG_OUTCOMES)])
                .inc();
            mx.calls_by_encryption_total
                .with_label_values(&[bounded_label(
                    &c.encryption.media_answered,
                    &MEDIA_PROTECTIONS,
                )])
                .inc();
            if let Some(t) = c.setup_time {
                mx.call_setup_seconds.observe(t);
            }
            if c.answer.is_some() {
                mx.call_duration_seconds.observe(c.duration);
            }
        }
        self.eve.write_by("call", r, |line| {
            crate::output::direct::call_record(line, r)
        });
    }

    pub fn rtp(&mut self, rec: &RtpRecord) {
        if let Some(mx) = &self.metrics {
            let r = &rec.rtp;
            mx.rtp_streams_total
                .with_label_values(&[if r.call_id.is_some() { "yes" } else { "no" }])
                .inc();
            mx.rtp_lost_packets_total.inc_by(r.lost.max(0) as u64);
            mx.rtp_jitter_seconds.observe(r.max_jitter_ms / 1e3);
            mx.rtp_mos.observe(r.mos);
            mx.rtp_streams_by_wire_total
                .with_label_values(&[bounded_label(&r.wire, &WIRE_KINDS)])
                .inc();
        }
        self.eve.write("rtp", rec);
    }

    /// An alert the gate decided on: written when admitted, counted either way.
    pub fn alert(&mut self, a: &AlertRecord, decision: Decision) {
        let sid = a.alert.signature_id;
        if let Some(mx) = &self.metrics {
            let held = match decision {
                Decision::Write => None,
                Decision::Suppressed => Some(&mx.alerts_suppressed_total),
                Decision::Thresholded => Some(&mx.alerts_thresholded_total),
                Decision::RateLimited => Some(&mx.alerts_rate_limited_total),
            };
            match held {
                Some(counter) => counter.with_label_values(&[&sid.to_string()]).inc(),
                None => mx.alert(sid, &a.alert.category, a.alert.severity),
            }
        }
        if decision == Decision::Write {
            self.eve.write("alert", a);
        }
    }

    /// Reopen the file if SIGHUP asked for it (logrotate moved it away).
    pub fn reopen_if_asked(&mut self) {
        if let Some((flag, path)) = &self.reopen {
            if flag.swap(false, Ordering::Relaxed) {
                if let Err(e) = self.eve.reopen(path) {
                    eprintln!("voip-sentinel: cannot reopen {}: {e}", path.display());
                }
            }
        }
    }

    /// Flush; count new write errors in the metrics; give up if writing has failed too long.
    pub fn flush(&mut self) {
        self.eve.flush();
        if let Some(mx) = &self.metrics {
            mx.output_write_errors_total
                .inc_by(self.eve.errors - self.errors_published);
            self.errors_published = self.eve.errors;
        }
        if let Some(g) = &self.give_up {
            if self
                .eve
                .health
                .failing_longer_than(std::time::Instant::now(), g.after)
                && !g.failed.swap(true, Ordering::Relaxed)
            {
                eprintln!(
                    "voip-sentinel: records could not be written for {} s: stopping (exit status 1, for the service manager to restart the sensor)",
                    g.after.as_secs()
                );
                g.stop.store(true, Ordering::Relaxed);
            }
        }
    }
}

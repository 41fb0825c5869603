//! EVE-style JSON records (one object per line, as Suricata writes them): a common head
//! ([`crate::base::head::Head`]: `timestamp`, `flow_id`, `event_type`, addresses, `proto`,
//! `vlan`) and one object named for the event type. The schema is documented in README.md;
//! golden tests pin it.

use std::io::Write;
use std::time::Instant;

use serde::Serialize;

use crate::output::loss::WriteHealth;

/// Writes records as JSON lines and counts them by type; a failed write is counted and said
/// on stderr as it happens ([`WriteHealth`]).
/// Every record type the sensor writes.
pub const EVENT_TYPES: [&str; 9] = [
    "alert", "sip", "call", "rtp", "device", "tls", "flow", "posture", "stats",
];

pub struct EveWriter {
    out: Box<dyn Write + Send>,
    pub written: std::collections::BTreeMap<String, u64>,
    pub errors: u64,
    /// The reader of the output went away (a broken pipe): the errors are not worth a word.
    pub closed: bool,
    /// The output is stdout (where a closed pipe means the reader had enough).
    pub stdout: bool,
    pub health: WriteHealth,
    /// The record types to write (`--eve-types`, as Suricata's eve-log `types`); all when none.
    pub types: Option<Vec<String>>,
    /// The record being written: serialised whole here, then handed to `out` in one call (a
    /// record that fails to serialise leaves nothing half-written; the many small writes stay
    /// out of the boxed writer).
    line: Vec<u8>,
}

impl EveWriter {
    /// `name` is how log lines call the output (its path, or `stdout`).
    pub fn new(out: Box<dyn Write + Send>, name: &str) -> EveWriter {
        EveWriter {
            out,
            written: Default::default(),
            errors: 0,
            closed: false,
            stdout: false,
            health: WriteHealth::new(name),
            types: None,
            line: Vec::with_capacity(4096),
        }
    }

    pub fn write<T: Serialize>(&mut self, event_type: &str, record: &T) {
        self.write_by(event_type, record, |line| {
            crate::output::json::to_vec(line, record)
        });
    }

    /// [`EveWriter::write`] with the record's JSON written by `json` (a direct writer of
    /// [`crate::output::direct`]), checked against serde_json in debug builds as every record.
    pub fn write_by<T: Serialize>(
        &mut self,
        event_type: &str,
        record: &T,
        json: impl FnOnce(&mut Vec<u8>) -> Result<(), crate::output::json::Error>,
    ) {
        if !self.wanted(event_type) {
            return;
        }
        self.line.clear();
        let written = json(&mut self.line);
        #[cfg(not(debug_assertions))]
        let _ = record;
        // Every record a debug build writes (every test) is checked against serde_json: the
        // same bytes, or the same refusal.
        #[cfg(debug_assertions)]
        match (&written, serde_json::to_vec(record)) {
            (Ok(()), Ok(theirs)) => assert_eq!(
                String::from_utf8_lossy(&self.line),
                String::from_utf8_lossy(&theirs),
                "the EVE writer and serde_json disagree"
            ),
            (Err(_), Err(_)) => {}
            (ours, theirs) => panic!(
                "the EVE writer and serde_json disagree: {:?} against {:?}",
                ours.as_ref().err(),
                theirs.err()
            ),
        }
        if written.is_err() {
            self.errors += 1;
            return;
        }
        self.line.push(b'\n');
        let result = self.out.write_all(&self.line);
        let ok = result.is_ok() || self.wrote(result);
        // A record far larger than usual does not keep its buffer.
        if self.line.capacity() > 1 << 20 {
            self.line = Vec::with_capacity(4096);
        }
        if ok {
            match self.written.get_mut(event_type) {
                Some(n) => *n += 1,
                None => {
                    self.written.insert(event_type.to_string(), 1);
                }
            }
        }
    }

    /// Whether records of this type are written.
    pub fn wanted(&self, event_type: &str) -> bool {
        self.types
            .as_ref()
            .is_none_or(|t| t.iter().any(|x| x == event_type))
    }

    /// Count and say the outcome of a failed write or of a flush; whether it succeeded. (A
    /// buffered write that succeeds proves nothing about the file: only a flush says that
    /// writing works again.)
    fn wrote(&mut self, result: std::io::Result<()>) -> bool {
        let line = match &result {
            Ok(()) => self.health.succeeded(Instant::now()),
            Err(e) => {
                self.errors += 1;
                let line = self.health.failed(Instant::now(), &e.to_string());
                // A reader of stdout that went away (`| head`) is not worth a message; a
                // named pipe's reader that died is a loss like any other.
                if e.kind() == std::io::ErrorKind::BrokenPipe && self.stdout {
                    self.closed = true;
                    None
                } else {
                    line
                }
            }
        };
        if let Some(line) = line {
            eprintln!("{line}");
        }
        result.is_ok()
    }

    /// Close the file and open `path` again (appending): after logrotate moved it away, records
    /// go to a new file of the same name. On failure the old file stays in use.
    pub fn reopen(&mut self, path: &std::path::Path) -> std::io::Result<()> {
        self.flush();
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        self.out = Box::new(std::io::BufWriter::with_capacity(1 << 16, f));
        Ok(())
    }

    pub fn into_inner(self) -> Box<dyn Write + Send> {
        self.out
    }

    pub fn flush(&mut self) {
        let result = self.out.flush();
        self.wrote(result);
    }
}

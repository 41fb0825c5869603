//! Prometheus metrics: the sensor's counters, gauges and histograms and their text exposition
//! (served by [`crate::output::http`]).
//!
//! Every family is named `voipsentinel_*`, registered in one [`prometheus::Registry`] by
//! [`Metrics::new`], and exposed as a public field so the pipeline can update it. Label values
//! are always bounded: methods, classes, outcomes, kinds, table names, signature ids; never an
//! address, a Call-ID, a number or a user name. Label functions ([`method_label`],
//! [`status_class`], [`bounded_label`]) map anything unexpected to `other`.
//!
//! Every labelled family whose label values are known in advance is initialised at 0 for each
//! of them, so a family is exported from the first scrape and dashboards show 0, not "no data".
//!
//! The server ([`crate::output::http::serve`]) listens on [`DEFAULT_LISTEN`] unless told otherwise. Prometheus itself
//! uses port 9090 and the node exporter 9100; 9917 is, as far as we can tell, unclaimed in the
//! Prometheus exporter default port allocations
//! (<https://github.com/prometheus/prometheus/wiki/Default-port-allocations>).

use std::sync::Arc;

use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Where the metrics server listens by default: loopback only, port 9917.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9917";

/// Prefix of every metric family.
pub const PREFIX: &str = "voipsentinel_";

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The label value for anything outside a known set.
pub const OTHER: &str = "other";

/// The SIP methods with their own `method` label value; any other method is `other`.
pub const SIP_METHODS: [&str; 14] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "REGISTER",
    "OPTIONS",
    "INFO",
    "UPDATE",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "MESSAGE",
    "REFER",
];

/// Values of the `class` label of `sip_responses_total`.
pub const STATUS_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "6xx"];

/// Values of the `kind` label of `decode_errors_total` (the decoder's error names).
pub const DECODE_ERROR_KINDS: &[&str] = &[
    "truncated",
    "unsupported_link",
    "not_ip",
    "unsupported_ip_proto",
    "malformed_ethernet",
    "malformed_vlan",
    "malformed_mpls",
    "malformed_pppoe",
    "malformed_ppp",
    "malformed_sll",
    "malformed_sll2",
    "malformed_raw",
    "malformed_ipv4",
    "malformed_ipv6",
    "malformed_udp",
    "malformed_tcp",
    "malformed_sctp",
    "malformed_gre",
    "malformed_erspan",
    "malformed_tunnel",
    "malformed_defrag",
    "malformed_ip",
    "malformed_hep",
    "malformed",
    "hep_not_sip",
    "hep_bad_auth",
    "fragment_held",
    "fragment_dropped",
    OTHER,
];

/// Values of the `kind` label of `sip_parse_events_total`: the SIP parser's event names
/// (fatal errors and warnings alike), and `framing_error` for a stream that could not be framed.
pub const PARSE_EVENT_KINDS: &[&str] = &[
    "incomplete",
    "bad_start_line",
    "bad_version",
    "bad_method",
    "bad_status_code",
    "bad_uri",
    "bad_header_line",
    "too_many_headers",
    "headers_too_long",
    "bad_content_length",
    "content_length_mismatch",
    "missing_header",
    "bad_cseq",
    "duplicate_header",
    "invalid_utf8",
    "unterminated_headers",
    "framing_error",
    OTHER,
];

/// Values of the `outcome` label of `dialogs_ended_total`.
pub const DIALOG_OUTCOMES: [&str; 6] = [
    "answered",
    "failed",
    "cancelled",
    "unanswered",
    "open",
    "evicted",
];

/// Values of the `outcome` label of `registrations_total`.
pub const REGISTRATION_OUTCOMES: [&str; 3] = ["success", "challenged", "failed"];

/// Values of the `media` label of `calls_by_encryption_total` (the call's answered media).
pub const MEDIA_PROTECTIONS: [&str; 6] = ["rtp", "sdes-srtp", "dtls-srtp", "srtp", "zrtp", "none"];

/// Values of the `wire` label of `rtp_streams_by_wire_total`.
pub const WIRE_KINDS: [&str; 3] = ["plaintext", "encrypted", "unknown"];

/// Values of the `attributed` label of `rtp_streams_total`.
pub const ATTRIBUTED: [&str; 2] = ["yes", "no"];

/// Values of the `table` label of `state_entries` and `state_evictions_total`.
pub const STATE_TABLES: [&str; 12] = [
    "tcp_flows",
    "flows",
    "transaction_numbering",
    "rtp_streams",
    "transactions",
    "calls",
    "fragments",
    "expectations",
    "detectors",
    "rule_thresholds",
    "duplicate_filter",
    "evidence",
];

/// Values of the `finding` label of `posture_servers`.
pub const POSTURE_FINDINGS: [&str; 6] = [
    "open_registration",
    "open_relay",
    "no_qop",
    "md5_only",
    "nonce_reuse",
    "none",
];

/// Values of the `result` label of `rules_reloads_total`.
pub const RELOAD_RESULTS: [&str; 2] = ["success", "failure"];

/// The built-in signatures: (id, category, severity). Their `alerts_total` series exist at 0
/// from the start. Signature ids 2100001 (plaintext voice) and 2100002 (SRTP keys exposed) are
/// on the security dashboard.
pub const BUILTIN_SIGNATURES: [(u32, &str, u8); 5] = [
    (2_100_001, "eavesdropping", 2),
    (2_100_002, "eavesdropping", 1),
    (2_100_003, "eavesdropping", 3),
    (2_100_004, "downgrade", 1),
    (2_100_005, "eavesdropping", 1),
];

/// Buckets of `call_setup_seconds`: 50 ms to 30 s.
pub const SETUP_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0,
];

/// Buckets of `call_duration_seconds`: 1 s to 2 h.
pub const DURATION_BUCKETS: [f64; 14] = [
    1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 5400.0, 7200.0,
];

/// Buckets of `rtp_jitter_seconds` (each stream's maximum jitter): 1 ms to 1 s.
pub const JITTER_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0,
];

/// Buckets of `rtp_mos`: 1.0 to 4.5 by 0.25.
pub const MOS_BUCKETS: [f64; 15] = [
    1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5, 3.75, 4.0, 4.25, 4.5,
];

/// The `method` label of a SIP method: one of [`SIP_METHODS`] (method names are
/// case-sensitive, RFC 3261 section 7.1), anything else `other`.
pub fn method_label(m: &str) -> &'static str {
    SIP_METHODS
        .iter()
        .copied()
        .find(|k| *k == m)
        .unwrap_or(OTHER)
}

/// The `class` label of a status code: `1xx` .. `6xx`, anything else `other`.
pub fn status_class(code: u16) -> &'static str {
    match code {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        600..=699 => "6xx",
        _ => OTHER,
    }
}

/// `value` if it is one of `known`, otherwise `other`: keeps label values bounded.
pub fn bounded_label(value: &str, known: &[&'static str]) -> &'static str {
    known.iter().copied().find(|k| *k == value).unwrap_or(OTHER)
}

/// Values of the `event` label of `hep_listener_events_total`.
pub const HEP_LISTENER_EVENTS: &[&str] = &[
    "tcp_connection",
    "tcp_refused",
    "tcp_framing_error",
    "queue_drop",
];

/// Every metric of the sensor, in one registry.
pub struct Metrics {
    pub registry: Registry,
    names: Vec<String>,

    // Capture and decoding.
    pub capture_packets_total: IntCounter,
    pub capture_bytes_total: IntCounter,
    pub capture_kernel_drops_total: IntCounter,
    pub capture_queue_drops_total: IntCounter,
    pub worker_queue_depth: IntGaugeVec,
    pub decode_errors_total: IntCounterVec,

    // HEP input.
    pub hep_packets_total: IntCounterVec,
    pub hep_listener_events_total: IntCounterVec,
    pub hep_tcp_connections_open: IntGauge,

    // SIP.
    pub sip_requests_total: IntCounterVec,
    pub sip_responses_total: IntCounterVec,
    pub sip_retransmissions_total: IntCounter,
    pub sip_parse_events_total: IntCounterVec,
    pub sip_transactions_total: IntCounter,

    // Dialogs and calls.
    pub dialogs_started_total: IntCounter,
    pub dialogs_ended_total: IntCounterVec,
    pub calls_active: IntGauge,
    pub calls_attempted_total: IntCounter,
    pub calls_answered_total: IntCounter,
    pub call_setup_seconds: Histogram,
    pub call_duration_seconds: Histogram,
    pub registrations_total: IntCounterVec,

    // Media.
    pub rtp_streams_active: IntGauge,
    pub rtp_streams_total: IntCounterVec,
    pub rtp_packets_total: IntCounter,
    pub rtp_lost_packets_total: IntCounter,
    pub rtp_jitter_seconds: Histogram,
    pub rtp_mos: Histogram,
    pub rtcp_packets_total: IntCounter,
    pub calls_by_encryption_total: IntCounterVec,
    pub rtp_streams_by_wire_total: IntCounterVec,

    // Detection.
    pub alerts_total: IntCounterVec,
    pub alerts_rate_limited_total: IntCounterVec,
    pub alerts_suppressed_total: IntCounterVec,
    pub alerts_thresholded_total: IntCounterVec,

    // State tables.
    pub state_entries: IntGaugeVec,
    pub state_evictions_total: IntCounterVec,

    pub build_info: IntGaugeVec,

    // Rules.
    pub rules_loaded: IntGauge,
    pub rules_skipped: IntGauge,
    pub rules_reloads_total: IntCounterVec,
    pub rules_reload_duration_seconds: prometheus::Gauge,

    // Authentication posture.
    pub posture_servers: IntGaugeVec,
    pub devices: IntGaugeVec,

    // Evidence (`--pcap-dir`).
    pub evidence_files_total: IntCounterVec,
    pub evidence_files_removed_total: IntCounter,
    pub evidence_folder_bytes: IntGauge,
    pub evidence_write_errors_total: IntCounter,

    // The sensor's own outputs.
    pub output_write_errors_total: IntCounter,
    pub http_connections_evicted_total: IntCounter,
}

/// Registers collectors and remembers their names.
struct Builder {
    registry: Registry,
    names: Vec<String>,
}

impl Builder {
    fn add<C: Collector + Clone + 'static>(&mut self, name: &str, c: C) -> C {
        // Names are fixed and distinct: registration can only fail on a programming error,
        // which the unit tests catch.
        self.registry
            .register(Box::new(c.clone()))
            .unwrap_or_else(|e| panic!("registering metric {name}: {e}"));
        self.names.push(name.to_string());
        c
    }

    fn counter(&mut self, name: &str, help: &str) -> IntCounter {
        let full = format!("{PREFIX}{name}");
        let c = IntCounter::with_opts(Opts::new(full.clone(), help)).expect("valid counter");
        self.add(&full, c)
    }

    fn counter_vec(&mut self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        let full = format!("{PREFIX}{name}");
        let c = IntCounterVec::new(Opts::new(full.clone(), help), labels).expect("valid counter");
        self.add(&full, c)
    }

    fn gauge(&mut self, name: &str, help: &str) -> IntGauge {
        let full = format!("{PREFIX}{name}");
        let g = IntGauge::with_opts(Opts::new(full.clone(), help)).expect("valid gauge");
        self.add(&full, g)
    }

    fn gauge_vec(&mut self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        let full = format!("{PREFIX}{name}");
        let g = IntGaugeVec::new(Opts::new(full.clone(), help), labels).expect("valid gauge");
        self.add(&full, g)
    }

    fn histogram(&mut self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        let full = format!("{PREFIX}{name}");
        let h =
            Histogram::with_opts(HistogramOpts::new(full.clone(), help).buckets(buckets.to_vec()))
                .expect("valid histogram");
        self.add(&full, h)
    }
}

/// Create the series of every value of one label, at 0.
fn init_counter(v: &IntCounterVec, values: &[&str]) {
    for value in values {
        v.with_label_values(&[value]);
    }
}

impl Metrics {
    /// All families, registered; every known label value initialised at 0.
    pub fn new() -> Arc<Metrics> {
        let mut b = Builder {
            registry: Registry::new(),
            names: Vec::new(),
        };

        let capture_packets_total = b.counter(
            "capture_packets_total",
            "Packets read from the capture (files or interface).",
        );
        let capture_bytes_total = b.counter(
            "capture_bytes_total",
            "Bytes of the packets read from the capture (captured length).",
        );
        let capture_kernel_drops_total = b.counter(
            "capture_kernel_drops_total",
            "Packets the kernel or the interface dropped (pcap statistics; live capture only).",
        );
        let capture_queue_drops_total = b.counter(
            "capture_queue_drops_total",
            "Packets dropped because a worker queue was full (live capture only).",
        );
        let worker_queue_depth = b.gauge_vec(
            "worker_queue_depth",
            "Batches waiting in each worker's queue.",
            &["worker"],
        );
        let decode_errors_total = b.counter_vec(
            "decode_errors_total",
            "Packets the decoder could not use, by kind.",
            &["kind"],
        );
        init_counter(&decode_errors_total, DECODE_ERROR_KINDS);
        let hep_packets_total = b.counter_vec(
            "hep_packets_total",
            "HEP packets (copies of SIP messages from proxies and SBCs, received or found in a capture), by agent (capture id, else source address; at most 64, then `other`) and outcome (accepted, bad_auth, malformed, not_sip).",
            &["agent", "outcome"],
        );
        let hep_listener_events_total = b.counter_vec(
            "hep_listener_events_total",
            "HEP listener events: tcp_connection (accepted), tcp_refused (the connection cap was reached), tcp_framing_error (a stream that is not HEPv3, closed), queue_drop (a packet dropped because the capture thread was behind).",
            &["event"],
        );
        init_counter(&hep_listener_events_total, HEP_LISTENER_EVENTS);
        let hep_tcp_connections_open = b.gauge(
            "hep_tcp_connections_open",
            "TCP connections from HEP agents open now.",
        );

        let sip_requests_total = b.counter_vec(
            "sip_requests_total",
            "SIP requests seen (retransmissions included, as tshark sip,stat), by method.",
            &["method"],
        );
        let sip_responses_total = b.counter_vec(
            "sip_responses_total",
            "SIP responses seen (retransmissions included), by CSeq method and status class.",
            &["method", "class"],
        );
        for m in SIP_METHODS.iter().chain([&OTHER]) {
            sip_requests_total.with_label_values(&[m]);
            for c in STATUS_CLASSES {
                sip_responses_total.with_label_values(&[m, c]);
            }
        }
        let sip_retransmissions_total = b.counter(
            "sip_retransmissions_total",
            "SIP requests and responses recognised as retransmissions.",
        );
        let sip_parse_events_total = b.counter_vec(
            "sip_parse_events_total",
            "SIP parse errors and warnings, by kind.",
            &["kind"],
        );
        init_counter(&sip_parse_events_total, PARSE_EVENT_KINDS);
        let sip_transactions_total = b.counter(
            "sip_transactions_total",
            "SIP transactions completed, timed out or evicted (one sip record each).",
        );

        let dialogs_started_total = b.counter(
            "dialogs_started_total",
            "INVITE dialogs started (initial INVITEs).",
        );
        let dialogs_ended_total = b.counter_vec(
            "dialogs_ended_total",
            "INVITE dialogs ended (one call record each), by outcome.",
            &["outcome"],
        );
        init_counter(&dialogs_ended_total, &DIALOG_OUTCOMES);
        let calls_active = b.gauge("calls_active", "INVITE dialogs in progress.");
        let calls_attempted_total = b.counter(
            "calls_attempted_total",
            "Calls attempted (initial INVITEs); ASR = answered / attempted.",
        );
        let calls_answered_total = b.counter(
            "calls_answered_total",
            "Calls answered (2xx to the initial INVITE).",
        );
        let call_setup_seconds = b.histogram(
            "call_setup_seconds",
            "Seconds from the initial INVITE to its 2xx, of answered calls (packet time).",
            &SETUP_BUCKETS,
        );
        let call_duration_seconds = b.histogram(
            "call_duration_seconds",
            "Seconds from answer to end, of answered calls (packet time).",
            &DURATION_BUCKETS,
        );
        let registrations_total = b.counter_vec(
            "registrations_total",
            "REGISTER transactions, by outcome.",
            &["outcome"],
        );
        init_counter(&registrations_total, &REGISTRATION_OUTCOMES);

        let rtp_streams_active = b.gauge("rtp_streams_active", "RTP streams being followed.");
        let rtp_streams_total = b.counter_vec(
            "rtp_streams_total",
            "RTP streams ended (one rtp record each), by attribution to a call.",
            &["attributed"],
        );
        init_counter(&rtp_streams_total, &ATTRIBUTED);
        let rtp_packets_total = b.counter("rtp_packets_total", "RTP packets counted in streams.");
        let rtp_lost_packets_total = b.counter(
            "rtp_lost_packets_total",
            "RTP packets lost (expected minus received, per ended stream, when positive).",
        );
        let rtp_jitter_seconds = b.histogram(
            "rtp_jitter_seconds",
            "Maximum RFC 3550 interarrival jitter of each ended RTP stream, in seconds.",
            &JITTER_BUCKETS,
        );
        let rtp_mos = b.histogram(
            "rtp_mos",
            "E-model MOS estimate of each ended RTP stream (ITU-T G.107).",
            &MOS_BUCKETS,
        );
        let rtcp_packets_total = b.counter("rtcp_packets_total", "RTCP packets read.");
        let calls_by_encryption_total = b.counter_vec(
            "calls_by_encryption_total",
            "Calls ended, by the media protection the answer chose.",
            &["media"],
        );
        init_counter(&calls_by_encryption_total, &MEDIA_PROTECTIONS);
        let rtp_streams_by_wire_total = b.counter_vec(
            "rtp_streams_by_wire_total",
            "RTP streams ended, by what their payload looked like on the wire.",
            &["wire"],
        );
        init_counter(&rtp_streams_by_wire_total, &WIRE_KINDS);

        let alerts_total = b.counter_vec(
            "alerts_total",
            "Alerts raised, by signature id, category and severity (1 high to 3 low).",
            &["signature_id", "category", "severity"],
        );
        for (id, category, severity) in BUILTIN_SIGNATURES {
            alerts_total.with_label_values(&[&id.to_string(), category, &severity.to_string()]);
        }

        let alerts_rate_limited_total = b.counter_vec(
            "alerts_rate_limited_total",
            "Alerts held back by the per-signature rate ([threshold] rate_per_second, rate_burst), by signature id.",
            &["signature_id"],
        );
        for (id, _, _) in BUILTIN_SIGNATURES {
            alerts_rate_limited_total.with_label_values(&[&id.to_string()]);
        }
        let alerts_suppressed_total = b.counter_vec(
            "alerts_suppressed_total",
            "Alerts not written because a suppress line of threshold.config covers them, by signature id.",
            &["signature_id"],
        );
        let alerts_thresholded_total = b.counter_vec(
            "alerts_thresholded_total",
            "Alerts of built-in signatures held back by a threshold line of threshold.config, by signature id.",
            &["signature_id"],
        );
        for (id, _, _) in BUILTIN_SIGNATURES {
            alerts_suppressed_total.with_label_values(&[&id.to_string()]);
            alerts_thresholded_total.with_label_values(&[&id.to_string()]);
        }

        let state_entries =
            b.gauge_vec("state_entries", "Entries in each state table.", &["table"]);
        let state_evictions_total = b.counter_vec(
            "state_evictions_total",
            "Entries evicted from each state table because it was full.",
            &["table"],
        );
        for t in STATE_TABLES {
            state_entries.with_label_values(&[t]);
            state_evictions_total.with_label_values(&[t]);
        }

        let build_info = b.gauge_vec(
            "build_info",
            "Always 1; the version label is the sensor's version.",
            &["version"],
        );
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);

        let rules_loaded = b.gauge("rules_loaded", "Signatures loaded from the rules folder.");
        let rules_skipped = b.gauge(
            "rules_skipped",
            "Rules that loaded but do not run: another protocol, H.323, a Suricata keyword the sensor does not support.",
        );
        let rules_reloads_total = b.counter_vec(
            "rules_reloads_total",
            "Rules reloads (SIGHUP) by result; a failed reload keeps the rules in force.",
            &["result"],
        );
        for r in RELOAD_RESULTS {
            rules_reloads_total.with_label_values(&[r]);
        }
        let full = format!("{PREFIX}rules_reload_duration_seconds");
        let rules_reload_duration_seconds = b.add(
            &full,
            prometheus::Gauge::with_opts(Opts::new(
                full.clone(),
                "How long the last rules load took, in seconds.",
            ))
            .expect("valid gauge"),
        );

        let posture_servers = b.gauge_vec(
            "posture_servers",
            "Registrars, proxies and PBXs seen challenging or accepting requests, by authentication finding (open_registration, open_relay, no_qop, md5_only, nonce_reuse; none: no finding).",
            &["finding"],
        );
        for f in POSTURE_FINDINGS {
            posture_servers.with_label_values(&[f]);
        }
        let devices = b.gauge_vec(
            "devices",
            "Devices in the inventory (address and product announced), by patch level: whether published advisories affect their version, and whether their release is past its end of life (yes, no, or unknown: product or version not recognised, or not covered by advisories.conf).",
            &["advisories", "end_of_life"],
        );
        for a in ["yes", "no", "unknown"] {
            for e in ["yes", "no", "unknown"] {
                devices.with_label_values(&[a, e]);
            }
        }
        let evidence_files_total = b.counter_vec(
            "evidence_files_total",
            "Pcap files written to the evidence folder (--pcap-dir), by kind: the packets behind an alert, or a whole call (--pcap-calls).",
            &["kind"],
        );
        for k in ["alert", "call"] {
            evidence_files_total.with_label_values(&[k]);
        }
        let evidence_files_removed_total = b.counter(
            "evidence_files_removed_total",
            "Evidence files removed, oldest first, to keep the folder under --pcap-max-total.",
        );
        let evidence_folder_bytes = b.gauge(
            "evidence_folder_bytes",
            "Bytes of the finished pcap files in the evidence folder.",
        );
        let evidence_write_errors_total = b.counter(
            "evidence_write_errors_total",
            "Evidence files or packets that could not be written.",
        );

        let output_write_errors_total = b.counter(
            "output_write_errors_total",
            "Records that could not be written (EVE file or stdout); each is lost.",
        );
        let http_connections_evicted_total = b.counter(
            "http_connections_evicted_total",
            "Metrics-endpoint connections closed to make room for a new one (the cap was reached).",
        );

        Arc::new(Metrics {
            posture_servers,
            devices,
            evidence_files_total,
            evidence_files_removed_total,
            evidence_folder_bytes,
            evidence_write_errors_total,
            output_write_errors_total,
            http_connections_evicted_total,
            rules_loaded,
            rules_skipped,
            rules_reloads_total,
            rules_reload_duration_seconds,
            registry: b.registry,
            names: b.names,
            capture_packets_total,
            capture_bytes_total,
            capture_kernel_drops_total,
            capture_queue_drops_total,
            worker_queue_depth,
            decode_errors_total,
            hep_packets_total,
            hep_listener_events_total,
            hep_tcp_connections_open,
            sip_requests_total,
            sip_responses_total,
            sip_retransmissions_total,
            sip_parse_events_total,
            sip_transactions_total,
            dialogs_started_total,
            dialogs_ended_total,
            calls_active,
            calls_attempted_total,
            calls_answered_total,
            call_setup_seconds,
            call_duration_seconds,
            registrations_total,
            rtp_streams_active,
            rtp_streams_total,
            rtp_packets_total,
            rtp_lost_packets_total,
            rtp_jitter_seconds,
            rtp_mos,
            rtcp_packets_total,
            calls_by_encryption_total,
            rtp_streams_by_wire_total,
            alerts_total,
            alerts_rate_limited_total,
            alerts_suppressed_total,
            alerts_thresholded_total,
            state_entries,
            state_evictions_total,
            build_info,
        })
    }

    /// Create the `worker_queue_depth` series of workers `0..n`, at 0 (call once the worker
    /// count is known, so the family is exported from the first scrape).
    pub fn set_workers(&self, n: usize) {
        for i in 0..n {
            self.worker_queue_depth
                .with_label_values(&[&i.to_string()])
                .set(0);
        }
    }

    /// Count one SIP request: `method` is mapped by [`method_label`].
    pub fn sip_request(&self, method: &str) {
        self.sip_requests_total
            .with_label_values(&[method_label(method)])
            .inc();
    }

    /// Count one SIP response to a request of `cseq_method`.
    pub fn sip_response(&self, cseq_method: &str, code: u16) {
        self.sip_responses_total
            .with_label_values(&[method_label(cseq_method), status_class(code)])
            .inc();
    }

    /// Count one alert. `category` should be a signature's fixed category.
    pub fn alert(&self, signature_id: u32, category: &str, severity: u8) {
        self.alerts_total
            .with_label_values(&[&signature_id.to_string(), category, &severity.to_string()])
            .inc();
    }

    /// Every family name as exposed: counters with `_total`, histograms by their base name
    /// (without `_bucket`, `_sum`, `_count`).
    pub fn all_metric_names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// The text exposition format (version 0.0.4) of every family.
    pub fn encode(&self) -> String {
        let families = self.registry.gather();
        let mut buf = Vec::new();
        match TextEncoder::new().encode(&families, &mut buf) {
            Ok(()) => String::from_utf8(buf)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            Err(e) => format!("# encoding error: {e}\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::io::Write;
    use std::process::Command;

    /// Metric family names in an exposition (from its `# TYPE` lines).
    fn exposed_families(text: &str) -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn labels() {
        assert_eq!(method_label("INVITE"), "INVITE");
        assert_eq!(method_label("REFER"), "REFER");
        assert_eq!(method_label("invite"), "other");
        assert_eq!(method_label("REGIStER"), "other");
        assert_eq!(method_label(""), "other");
        assert_eq!(method_label(&"a".repeat(5000)), "other");
        for m in SIP_METHODS {
            assert_eq!(method_label(m), m);
        }
        assert_eq!(status_class(100), "1xx");
        assert_eq!(status_class(183), "1xx");
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(302), "3xx");
        assert_eq!(status_class(486), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(603), "6xx");
        assert_eq!(status_class(699), "6xx");
        assert_eq!(status_class(99), "other");
        assert_eq!(status_class(700), "other");
        assert_eq!(bounded_label("not_ip", DECODE_ERROR_KINDS), "not_ip");
        assert_eq!(bounded_label("10.0.0.1", DECODE_ERROR_KINDS), "other");
    }

    #[test]
    fn names_follow_conventions() {
        let m = Metrics::new();
        m.set_workers(1);
        // The one family whose series appear with their first label value (an agent).
        m.hep_packets_total
            .with_label_values(&["2001", "accepted"])
            .inc();
        let names = m.all_metric_names();
        assert_eq!(names.len(), 50, "{names:?}");
        let unique: BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "duplicate names");
        let text = m.encode();
        for n in &names {
            assert!(n.starts_with(PREFIX), "{n}");
            assert!(
                n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{n}"
            );
            let kind = text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("# TYPE {n} ")))
                .unwrap_or_else(|| panic!("no TYPE line for {n}"));
            match kind {
                "counter" => assert!(n.ends_with("_total"), "counter {n}"),
                _ => assert!(!n.ends_with("_total"), "{kind} {n}"),
            }
        }
    }

    #[test]
    fn exposition_contains_every_family() {
        let m = Metrics::new();
        m.set_workers(2);
        let text = m.encode();
        let exposed = exposed_families(&text);
        let mut names: BTreeSet<String> = m.all_metric_names().into_iter().collect();
        // Agents are not known before they send.
        assert!(names.remove("voipsentinel_hep_packets_total"));
        assert_eq!(exposed, names);
        assert!(text.contains(&format!(
            "voipsentinel_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(text.contains("voipsentinel_sip_requests_total{method=\"other\"} 0"));
        assert!(text.contains(
            "voipsentinel_alerts_total{category=\"eavesdropping\",severity=\"1\",signature_id=\"2100002\"} 0"
        ));
        assert!(text.contains("voipsentinel_worker_queue_depth{worker=\"1\"} 0"));
        assert!(text.contains("voipsentinel_rtp_mos_bucket{le=\"4.5\"} 0"));
    }

    #[test]
    fn updates_show_in_exposition() {
        let m = Metrics::new();
        m.capture_packets_total.inc_by(10);
        m.sip_request("INVITE");
        m.sip_request("INVITE");
        m.sip_request("FOO");
        m.sip_response("INVITE", 180);
        m.sip_response("INVITE", 200);
        m.sip_response("INVITE", 486);
        m.alert(2_100_001, "eavesdropping", 2);
        m.call_setup_seconds.observe(0.3);
        m.rtp_mos.observe(4.41);
        m.rtp_jitter_seconds.observe(0.000_251);
        m.calls_active.set(3);
        let text = m.encode();
        for line in [
            "voipsentinel_capture_packets_total 10",
            "voipsentinel_sip_requests_total{method=\"INVITE\"} 2",
            "voipsentinel_sip_requests_total{method=\"other\"} 1",
            "voipsentinel_sip_responses_total{class=\"1xx\",method=\"INVITE\"} 1",
            "voipsentinel_sip_responses_total{class=\"4xx\",method=\"INVITE\"} 1",
            "voipsentinel_alerts_total{category=\"eavesdropping\",severity=\"2\",signature_id=\"2100001\"} 1",
            "voipsentinel_call_setup_seconds_bucket{le=\"0.25\"} 0",
            "voipsentinel_call_setup_seconds_bucket{le=\"0.5\"} 1",
            "voipsentinel_call_setup_seconds_count 1",
            "voipsentinel_rtp_mos_bucket{le=\"4.25\"} 0",
            "voipsentinel_rtp_mos_bucket{le=\"4.5\"} 1",
            "voipsentinel_rtp_jitter_seconds_bucket{le=\"0.001\"} 1",
            "voipsentinel_calls_active 3",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    /// `promtool check metrics` (Debian package `prometheus`) accepts the exposition.
    #[test]
    fn promtool_accepts_exposition() {
        let m = Metrics::new();
        m.set_workers(1);
        m.sip_request("OPTIONS");
        m.call_duration_seconds.observe(9.0);
        let text = m.encode();
        let mut child = match Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => panic!(
                "promtool not found ({e}): apt-get install prometheus (it provides promtool)"
            ),
        };
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write to promtool");
        let out = child.wait_with_output().expect("promtool");
        assert!(
            out.status.success(),
            "promtool check metrics failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

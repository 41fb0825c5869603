//! The detectors' thresholds, windows and caps, read from `rules/detectors.conf`: `[section]`
//! headers, `key = value` lines (whole numbers), `#` comments. Unknown sections and keys, and bad
//! values, are errors that name the line and column (both from 1). Every default is documented on
//! its field and in rules/detectors.conf.

macro_rules! detect_config {
    ($( $(#[$sdoc:meta])* $sec:ident : $ty:ident {
        $( $(#[$doc:meta])* $key:ident = [$def:expr, $min:expr, $max:expr], )*
    } )*) => {
        $(
            $(#[$sdoc])*
            #[derive(Clone, Debug, PartialEq, Eq)]
            pub struct $ty { $( $(#[$doc])* pub $key: u64, )* }
            impl Default for $ty {
                fn default() -> Self { $ty { $( $key: $def, )* } }
            }
        )*
        /// Every threshold, window (seconds of packet time) and cap of the detectors.
        #[derive(Clone, Debug, PartialEq, Eq, Default)]
        pub struct DetectConfig {
            $( pub $sec: $ty, )*
            /// `[fraud]`: toll-fraud detectors (lists and times as well as numbers).
            pub fraud: super::fraud::FraudConfig,
            /// `[callerid]`: caller-ID spoofing detectors.
            pub callerid: super::callerid::CallerIdConfig,
            /// The number plan (`rules/numbering.plan`; built in: the shipped file).
            pub plan: super::fraud::NumberPlan,
        }

        impl DetectConfig {
            /// The field a `[section] key` sets, with its allowed range.
            pub(crate) fn slot(&mut self, section: &str, key: &str) -> Option<(&mut u64, u64, u64)> {
                $( $( if section == stringify!($sec) && key == stringify!($key) {
                    return Some((&mut self.$sec.$key, $min, $max));
                } )* )*
                None
            }

            fn known_section(section: &str) -> bool {
                [$( stringify!($sec), )* "fraud", "callerid"].contains(&section)
            }

            /// The whole configuration as `rules/detectors.conf` text (defaults when default).
            pub fn to_text(&self) -> String {
                let mut s = String::new();
                $(
                    s.push_str(concat!("[", stringify!($sec), "]\n"));
                    $( s.push_str(&format!("{} = {}\n", stringify!($key), self.$sec.$key)); )*
                )*
                s.push_str(&self.fraud.to_text());
                s.push_str(&self.callerid.to_text());
                s
            }
        }
    };
}

const MAX_COUNT: u64 = 1_000_000;
const MAX_SECS: u64 = 30 * 86_400;
const MAX_KEYS: u64 = 10_000_000;

detect_config! {
    /// Authentication posture of servers and accounts (`detect/posture.rs`).
    posture: PostureConfig {
        /// Judge authentication posture (1) or not (0).
        enabled = [1, 0, 1],
        /// 2600008: failed authentications of an account that never succeeded (5: a phone with
        /// a stale password retries for ever; brute force is 2300009-2300011).
        stale_failures = [5, 2, MAX_COUNT],
        /// 2600007: an account's registrations from two networks (/24, /64) or two devices
        /// (User-Agents) within this many seconds, both alive (3600: a phone re-registers at
        /// least hourly).
        shared_window = [3600, 60, MAX_SECS],
        /// 2600005: a nonce offered to this many distinct clients (2), or
        nonce_clients = [2, 2, MAX_COUNT],
        /// in this many challenges (3).
        nonce_offers = [3, 2, MAX_COUNT],
        /// Seconds of packet time between `posture` records live (3600); a replay writes them
        /// at its end.
        record_interval = [3600, 60, MAX_SECS],
        /// Servers and accounts not heard from for this many seconds are forgotten (604800, a
        /// week; a server's last `posture` record is written first).
        idle = [604_800, 60, 365 * 86_400],
        /// Servers tracked at most (4096).
        max_servers = [4096, 1, MAX_KEYS],
        /// Accounts tracked at most (50000).
        max_accounts = [50_000, 1, MAX_KEYS],
        /// REGISTER and INVITE requests waiting for their answer (20000).
        max_pending = [20_000, 1, MAX_KEYS],
        /// Nonces remembered at most (50000).
        max_nonces = [50_000, 1, MAX_KEYS],
    }
    /// Scanner behaviour, whatever the User-Agent says.
    scanner: ScannerConfig {
        /// Sweep: distinct destination hosts one source sends requests to (10: a phone talks to
        /// its registrar and outbound proxy, two or three hosts; svmap walks whole ranges).
        sweep_hosts = [10, 2, MAX_COUNT],
        /// Sweep window, seconds (60).
        sweep_window = [60, 1, MAX_SECS],
        /// Sweep by a source that has shown a scanner's traits (a SIPVicious From-tag, a
        /// scanner's User-Agent): this many distinct hosts are enough (3: svmap over a handful
        /// of addresses is reconnaissance, whatever the size of the range).
        sweep_hosts_scanner = [3, 2, MAX_COUNT],
        /// Extension enumeration: distinct target users (To, else Request-URI user) one source's
        /// requests got 404/403/401/407/484 for, or no final answer (10 in 60 s; svwar tries
        /// ranges of extensions several per second). Caveat: many phones behind one NAT all
        /// challenged at boot look alike; raise it for such sources.
        enum_users = [10, 2, MAX_COUNT],
        /// Enumeration window, seconds (60).
        enum_window = [60, 1, MAX_SECS],
        /// A request is unanswered when no response at all came within this many seconds (5:
        /// more than 8 RFC 3261 T1 retransmission intervals; a live server answers in ms).
        no_response_timeout = [5, 1, 300],
        /// Unanswered requests of one source that make a scan of dead addresses (20 in 60 s).
        no_response_count = [20, 2, MAX_COUNT],
        /// Unanswered-requests window, seconds (60).
        no_response_window = [60, 1, MAX_SECS],
        /// Flag the SIPVicious From-tag (1) or not (0).
        sipvicious_tag = [1, 0, 1],
        /// Cap of the per-source scanner table (10000 sources).
        max_sources = [10_000, 1, MAX_KEYS],
    }
    /// Floods, as Kamailio's pike module counts them.
    flood: FloodConfig {
        /// Window of the per-source and per-destination request counts, seconds (2: pike's
        /// sampling_time_unit).
        window = [2, 1, MAX_SECS],
        /// Requests of one source per window, all methods (16: pike's reqs_density_per_unit; a
        /// phone sends a handful per call; trunks between proxies exceed it and need a higher
        /// value, as with pike).
        src_all = [16, 1, MAX_COUNT],
        /// INVITEs of one source per window (16).
        src_invite = [16, 1, MAX_COUNT],
        /// REGISTERs of one source per window (16).
        src_register = [16, 1, MAX_COUNT],
        /// OPTIONS of one source per window (16).
        src_options = [16, 1, MAX_COUNT],
        /// MESSAGEs of one source per window (16).
        src_message = [16, 1, MAX_COUNT],
        /// SUBSCRIBEs of one source per window (16).
        src_subscribe = [16, 1, MAX_COUNT],
        /// Requests to one destination per window, all methods (400: 200/s, well above what a
        /// PBX of a few thousand phones re-registering hourly and calling receives).
        dst_all = [400, 1, MAX_COUNT],
        /// INVITEs to one destination per window (200: 100 call attempts a second).
        dst_invite = [200, 1, MAX_COUNT],
        /// REGISTERs to one destination per window (200).
        dst_register = [200, 1, MAX_COUNT],
        /// OPTIONS to one destination per window (200).
        dst_options = [200, 1, MAX_COUNT],
        /// MESSAGEs to one destination per window (200).
        dst_message = [200, 1, MAX_COUNT],
        /// SUBSCRIBEs to one destination per window (200).
        dst_subscribe = [200, 1, MAX_COUNT],
        /// 401/407 challenges sent towards one destination (20 in 10 s: a client is challenged
        /// once per REGISTER or INVITE; a password guesser once per guess).
        challenge_count = [20, 1, MAX_COUNT],
        /// Challenge window, seconds (10).
        challenge_window = [10, 1, MAX_SECS],
        /// All SIP messages (requests and responses, retransmissions included) in one second of
        /// packet time that raise the global rate alarm (5000).
        global_per_second = [5_000, 1, 1_000_000_000],
        /// Cap of the per-source table (10000 source/method keys).
        max_sources = [10_000, 1, MAX_KEYS],
        /// Cap of the per-destination table (10000 destination/method keys).
        max_destinations = [10_000, 1, MAX_KEYS],
    }
    /// Password guessing.
    bruteforce: BruteConfig {
        /// Failed authentications (a request with credentials answered 401/403/407) of one
        /// source (5 in 60 s, fail2ban's usual maxretry; a stale nonce costs one).
        src_failures = [5, 1, MAX_COUNT],
        /// Failed authentications of one username (5 in 60 s).
        user_failures = [5, 1, MAX_COUNT],
        /// Failure window, seconds (60).
        window = [60, 1, MAX_SECS],
        /// Distributed guessing: distinct sources failing for one username (5 in 300 s).
        distributed_sources = [5, 2, MAX_COUNT],
        /// Distributed window, seconds (300).
        distributed_window = [300, 1, MAX_SECS],
        /// Success after failures (critical): a 2xx to a request with credentials of a user that
        /// failed at least this often in `success_window` (5, as `user_failures`).
        success_failures = [5, 1, MAX_COUNT],
        /// Success-after-failures window, seconds (300).
        success_window = [300, 1, MAX_SECS],
        /// Networks (/24 IPv4, /64 IPv6) remembered per user for the new-network alert (4).
        networks_per_user = [4, 1, 64],
        /// A user's networks are forgotten after this many seconds without a registration
        /// (604800: a week).
        network_idle = [604_800, 1, 365 * 86_400],
        /// Cap of the per-source failure table (10000).
        max_sources = [10_000, 1, MAX_KEYS],
        /// Cap of the per-username tables (failures, and networks) (10000 each).
        max_users = [10_000, 1, MAX_KEYS],
    }
    /// Request/response pairing (by Call-ID, CSeq number and method).
    pairing: PairingConfig {
        /// Requests waiting for their final response (20000).
        max_pending = [20_000, 1, MAX_KEYS],
        /// A request still without a final response is forgotten after this many seconds (64:
        /// 64*T1, Timer B; longer rings lose the pairing of their final answer).
        pending_timeout = [64, 1, 3600],
    }
    /// Alert limiting, as Suricata's threshold.config `type limit`.
    threshold: ThresholdConfig {
        /// Alerts per (signature, key) per period (1).
        limit = [1, 1, MAX_COUNT],
        /// Period, seconds (60).
        seconds = [60, 1, MAX_SECS],
        /// Cap of the limiter's table (10000 keys).
        max_keys = [10_000, 1, MAX_KEYS],
        /// Alerts of one signature per second over all keys, after a burst (100; Suricata's
        /// `rate_filter` by rule): a flood of distinct sources writes a bounded number.
        rate_per_second = [100, 1, MAX_COUNT],
        /// Alerts of one signature at once before the rate applies (1000).
        rate_burst = [1_000, 1, MAX_COUNT],
    }
}

pub use super::error::ConfigError;

impl DetectConfig {
    /// The longest the detectors remember what has gone quiet, in seconds, as configured (a
    /// week by default: learned networks, accounts, posture). A replay is cut into parts
    /// analysed apart only where captures are further apart than this (`capture::plan`);
    /// a window set longer shows as state left at a part's end, and the replay runs whole.
    pub fn longest_memory_secs(&self) -> u64 {
        [
            self.posture.idle,
            self.posture.record_interval,
            self.posture.shared_window,
            self.bruteforce.network_idle,
            self.fraud.account_idle,
            self.fraud.call_timeout,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    /// Read a `rules/detectors.conf` text; what it does not set keeps its default.
    pub fn parse(text: &str) -> Result<DetectConfig, Vec<ConfigError>> {
        DetectConfig::parse_over(DetectConfig::default(), text)
    }

    /// Read a `detectors.conf` text over `base` (a site's file over the shipped one): what it
    /// does not set keeps `base`'s value.
    pub fn parse_over(base: DetectConfig, text: &str) -> Result<DetectConfig, Vec<ConfigError>> {
        let mut cfg = base;
        let mut errors = Vec::new();
        let mut section: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.split('#').next().unwrap_or("");
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            let col = |sub: &str| -> usize {
                // `sub` is a slice of `raw`: its column from 1 in characters.
                let off = (sub.as_ptr() as usize).saturating_sub(raw.as_ptr() as usize);
                raw.get(..off).map_or(1, |p| p.chars().count() + 1)
            };
            if let Some(rest) = trimmed.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    errors.push((line_no, col(trimmed), "unclosed section header".to_string()));
                    section = None;
                    continue;
                };
                let name = name.trim();
                if DetectConfig::known_section(name) {
                    section = Some(name.to_string());
                } else {
                    errors.push((line_no, col(trimmed), format!("unknown section [{name}]")));
                    section = None;
                }
                continue;
            }
            let Some((k, v)) = trimmed.split_once('=') else {
                errors.push((
                    line_no,
                    col(trimmed),
                    "expected `key = value` or `[section]`".to_string(),
                ));
                continue;
            };
            let key = k.trim();
            let value = v.trim();
            let Some(sec) = section.as_deref() else {
                errors.push((line_no, col(trimmed), format!("`{key}` outside a section")));
                continue;
            };
            let key_col = col(trimmed);
            let value_col = if value.is_empty() {
                col(v) + v.chars().count()
            } else {
                col(value)
            };
            let extra = match sec {
                "fraud" => cfg.fraud.set(key, value),
                "callerid" => cfg.callerid.set(key, value),
                _ => None,
            };
            if sec == "fraud" || sec == "callerid" {
                match extra {
                    Some(Ok(())) => {}
                    Some(Err(e)) => errors.push((line_no, value_col, e)),
                    None => {
                        errors.push((line_no, key_col, format!("unknown key `{key}` in [{sec}]")))
                    }
                }
                continue;
            }
            let Some((slot, min, max)) = cfg.slot(sec, key) else {
                errors.push((line_no, key_col, format!("unknown key `{key}` in [{sec}]")));
                continue;
            };
            match value.replace('_', "").parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => *slot = n,
                Ok(n) => errors.push((
                    line_no,
                    value_col,
                    format!("{key} = {n}: out of range {min}..={max}"),
                )),
                Err(_) => errors.push((
                    line_no,
                    value_col,
                    format!("{key}: `{value}` is not a whole number"),
                )),
            }
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }

    /// This configuration with the number plan read from `text` (`rules/numbering.plan`).
    pub fn with_plan(mut self, text: &str) -> Result<DetectConfig, Vec<ConfigError>> {
        self.plan = super::fraud::parse_plan(text)?;
        Ok(self)
    }

    /// This configuration with the entries of the plan `text` over its own (a site's
    /// numbering.plan over the shipped one): a prefix in both takes the new entry.
    pub fn with_plan_over(mut self, text: &str) -> Result<DetectConfig, Vec<ConfigError>> {
        let site = super::fraud::parse_plan(text)?;
        self.plan.entries.extend(site.entries);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_is_the_defaults() {
        let text = include_str!("../../rules/detectors.conf");
        assert_eq!(DetectConfig::parse(text), Ok(DetectConfig::default()));
        assert_eq!(
            DetectConfig::parse(&DetectConfig::default().to_text()),
            Ok(DetectConfig::default())
        );
    }

    #[test]
    fn sets_values_and_reports_errors_with_line_and_column() {
        let c = DetectConfig::parse(
            "# c\n[flood]\n  src_all = 32 # pike x2\n[scanner]\nsweep_hosts=3\n",
        )
        .unwrap_or_default();
        assert_eq!(c.flood.src_all, 32);
        assert_eq!(c.scanner.sweep_hosts, 3);
        let e = DetectConfig::parse(
            "[flood]\nsrc_al = 3\n  window = x\n[nope]\nk = 1\n[threshold]\nlimit = 0\njunk\nlimit =\n",
        )
        .err()
        .unwrap_or_default();
        let got: Vec<(usize, usize)> = e.iter().map(|x| (x.0, x.1)).collect();
        assert_eq!(
            got,
            vec![(2, 1), (3, 12), (4, 1), (5, 1), (7, 9), (8, 1), (9, 8)],
            "{e:?}"
        );
        assert!(e[0].2.contains("unknown key `src_al`"));
        assert!(e[2].2.contains("unknown section"));
        assert!(e[4].2.contains("out of range"));
    }
}

//! Integration tests: the sensor against tshark and against committed golden records, on every
//! capture in pcaps/.

mod attack;
mod benign;
mod cli;
mod detect;
mod et_rules;
mod eve_schema;
mod eve_types;
mod evidence;
mod exhaustion;
mod fanout;
mod golden;
mod hep;
mod install;
mod live;
mod media;
mod office;
mod oracle;
mod patch;
mod posture;
mod prometheus;
mod report;
mod rtp_oracle;
mod rules;
mod savefile;
mod secrets;
mod suricata_verify;
mod synth;
mod tuning;
mod util;
mod workers;

//! The HEP decoder (v2 and v3) on hostile datagrams: an error or a message that lies within
//! the datagram, never a panic.
#![no_main]

use fuzz_common::{timed, within};
use libfuzzer_sys::fuzz_target;
use voip_sentinel::decode::hep;

fuzz_target!(|data: &[u8]| {
    timed("hep", data.len(), || {
        if !hep::is_hep(data) {
            return;
        }
        if let Ok(h) = hep::parse(data) {
            assert!(within(data, h.payload), "payload outside the datagram");
        }
    });
});

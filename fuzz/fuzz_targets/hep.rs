//! The HEP decoder (v2 and v3) on hostile datagrams, and the listener's path for one packet
//! (`hep_message`, with and without a password): an error or a message that lies within the
//! datagram, never a panic; a password lets through only packets whose auth key is it.
#![no_main]

use fuzz_common::{timed, within};
use libfuzzer_sys::fuzz_target;
use voip_sentinel::decode::{hep, hep_message};

fuzz_target!(|data: &[u8]| {
    timed("hep", data.len(), || {
        if let Ok(d) = hep_message(data, None) {
            assert!(within(data, d.payload), "message outside the packet");
            assert!(d.agent.is_some());
        }
        let password: &[u8] = b"fuzz";
        if hep_message(data, Some(password)).is_ok() {
            let h = hep::parse(data).expect("taken, so it parses");
            assert_eq!(h.auth_key, Some(password), "taken without the key");
        }
        if !hep::is_hep(data) {
            return;
        }
        if let Ok(h) = hep::parse(data) {
            assert!(within(data, h.payload), "payload outside the datagram");
            if let Some(k) = h.auth_key {
                assert!(within(data, k), "auth key outside the datagram");
            }
        }
    });
});

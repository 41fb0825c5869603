//! The savefile reader on hostile bytes: classic pcap and pcapng headers, records and blocks of
//! any length. It returns packets or one error, never panics, and ends: every call either
//! consumes input or stops.
#![no_main]

use fuzz_common::timed;
use libfuzzer_sys::fuzz_target;
use voip_sentinel::capture::savefile::Savefile;

fuzz_target!(|data: &[u8]| {
    timed("savefile", data.len(), || {
        let Ok(mut f) = Savefile::from_vec(data.to_vec()) else {
            return;
        };
        let mut packets = 0usize;
        while let Ok(Some(frame)) = f.next() {
            packets += 1;
            assert!(frame.data.len() <= 262_144);
            // each packet takes at least its 16-byte header (classic) or 12 bytes of block
            assert!(
                packets * 12 <= data.len(),
                "more packets than the input can hold"
            );
        }
    });
});

//! Media and encryption posture on the captures made for them (pcaps/media/, see
//! scripts/make-media-pcaps.sh): exact alerts, posture, attribution and call flags.

use serde_json::Value;

use crate::util::*;

fn run(name: &str) -> Vec<Value> {
    sensor(
        &[&root().join("pcaps/media").join(name)],
        &["--workers", "2"],
    )
}

fn of<'a>(recs: &'a [Value], t: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["event_type"] == t).collect()
}

fn alert_ids(recs: &[Value]) -> Vec<u64> {
    let mut v: Vec<u64> = of(recs, "alert")
        .iter()
        .map(|a| a["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    v.sort();
    v
}

fn the_call(recs: &[Value]) -> &Value {
    let calls = of(recs, "call");
    assert_eq!(calls.len(), 1, "one call expected");
    &calls[0]["call"]
}

#[test]
fn srtp_with_keys_in_plaintext_sip_is_encrypted_on_the_wire_but_exposed() {
    let recs = run("srtp-sdes-exposed.pcap");
    assert_eq!(alert_ids(&recs), vec![2100002, 2100003]);
    let c = the_call(&recs);
    let e = &c["encryption"];
    assert_eq!(e["media_offered"], "sdes-srtp");
    assert_eq!(e["media_answered"], "sdes-srtp");
    assert_eq!(e["media_wire"], "encrypted");
    assert_eq!(e["keys_exposed"], true);
    assert_eq!(e["wire_mismatch"], false);
    let streams = of(&recs, "rtp");
    assert_eq!(streams.len(), 2);
    for s in streams {
        assert_eq!(s["rtp"]["wire"], "encrypted");
        assert_eq!(s["rtp"]["packets"], 236);
        assert_eq!(s["rtp"]["call_id"], c["call_id"]);
    }
}

#[test]
fn a_fully_protected_call_raises_no_encryption_alert() {
    let recs = run("srtp-over-tls.pcap");
    assert_eq!(alert_ids(&recs), Vec::<u64>::new());
    let tls = of(&recs, "tls");
    assert_eq!(tls.len(), 2, "client and server hello");
    assert!(tls.iter().all(|t| t["tls"]["version"] == "TLS 1.3"));
    let streams = of(&recs, "rtp");
    assert_eq!(streams.len(), 2);
    for s in streams {
        assert_eq!(s["rtp"]["wire"], "encrypted");
        assert!(
            s["rtp"].get("call_id").is_none(),
            "SDP inside TLS: unattributed"
        );
    }
}

#[test]
fn a_protected_offer_answered_in_plaintext_is_a_downgrade() {
    let recs = run("downgrade.pcap");
    assert_eq!(alert_ids(&recs), vec![2100001, 2100002, 2100003, 2100004]);
    let e = &the_call(&recs)["encryption"];
    assert_eq!(e["media_offered"], "sdes-srtp");
    assert_eq!(e["media_answered"], "rtp");
    assert_eq!(e["downgrade"], true);
    assert_eq!(e["media_wire"], "plaintext");
}

#[test]
fn plaintext_calls_raise_unencrypted_voice_and_signalling() {
    for name in [
        "g711-loss.pcap",
        "g711-jitter.pcap",
        "third-party-media.pcap",
        "one-way-audio.pcap",
    ] {
        let recs = run(name);
        assert_eq!(alert_ids(&recs), vec![2100001, 2100003], "{name}");
        assert_eq!(
            the_call(&recs)["encryption"]["media_wire"],
            "plaintext",
            "{name}"
        );
    }
}

#[test]
fn media_between_other_addresses_than_the_sip_is_attributed() {
    let recs = run("third-party-media.pcap");
    let c = the_call(&recs);
    let streams = of(&recs, "rtp");
    assert_eq!(streams.len(), 2);
    for s in &streams {
        assert_eq!(s["rtp"]["call_id"], c["call_id"]);
        assert!(s["src_ip"] == "127.0.0.93" || s["src_ip"] == "127.0.0.94");
    }
    let dirs: Vec<&str> = c["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["direction"].as_str().unwrap())
        .collect();
    assert!(
        dirs.contains(&"caller_to_callee") && dirs.contains(&"callee_to_caller"),
        "{dirs:?}"
    );
    assert!(c.get("one_way_audio").is_none());
}

#[test]
fn a_reinvite_that_moves_media_is_followed() {
    let recs = run("reinvite-move.pcap");
    let c = the_call(&recs);
    assert_eq!(c["reinvites"], 1);
    let ports: Vec<u64> = of(&recs, "rtp")
        .iter()
        .filter(|s| s["rtp"]["call_id"] == c["call_id"])
        .map(|s| s["dest_port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports.len(), 2, "both streams attributed");
    assert!(
        ports.contains(&17000) && ports.contains(&17002),
        "{ports:?}"
    );
}

#[test]
fn one_way_audio_and_media_timeout_are_flagged() {
    let c = the_call(&run("one-way-audio.pcap")).clone();
    assert_eq!(c["one_way_audio"], "callee_to_caller");
    assert!(c.get("media_timeout").is_none());
    let c = the_call(&run("media-timeout.pcap")).clone();
    assert_eq!(c["media_timeout"], true);
    assert_eq!(c["end_reason"], "bye");
    // Media one way because the SDP said so (a recvonly offer answered sendonly: Wireshark's
    // samples; a sendonly offer answered recvonly: the listen-only call through rtpengine) is
    // not one-way audio.
    for cap in [
        "pcaps/public/wireshark-samples/sip-rtp-g711.pcap",
        "pcaps/hep/rtpengine-rtcp.pcap",
    ] {
        let recs = sensor(&[&root().join(cap)], &[]);
        let calls: Vec<&serde_json::Value> =
            recs.iter().filter(|r| r["event_type"] == "call").collect();
        assert!(!calls.is_empty());
        let one_way: Vec<_> = calls
            .iter()
            .filter(|r| r["call"].get("one_way_audio").is_some())
            .collect();
        assert!(one_way.is_empty(), "{cap}: {one_way:#?}");
    }
}

#[test]
fn loss_is_counted_on_the_stream_and_the_call() {
    let recs = run("g711-loss.pcap");
    let s = &of(&recs, "rtp")[0]["rtp"];
    assert_eq!(
        (s["packets"].as_u64(), s["lost"].as_i64()),
        (Some(230), Some(6))
    );
    assert_eq!(s["max_loss_burst"], 5);
    let m = &the_call(&recs)["media"][0];
    assert_eq!(m["lost"], 6);
}

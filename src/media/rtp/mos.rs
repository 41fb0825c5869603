//! ITU-T G.107 E-model: transmission rating factor R and the MOS estimate derived from it.
//!
//! ```text
//! R = R0 - Is - Id - Ie,eff + A
//! ```
//! With all G.107 default parameters (Table 3) `R0 - Is = 93.35` and the default-delay part of
//! `Id` (Idte + Idle at T = 0) brings the default rating to the well-known **93.2**, which is
//! the base used here: `R = 93.2 - Idd(Ta) - Ie,eff` (A = 0, echo assumed cancelled so only the
//! absolute-delay term `Idd` of `Id` varies with delay).
//!
//! * `Idd` (G.107 §7.4, eq. 7-27): `0` for `Ta <= 100 ms`, else
//!   `25 * ((1 + X^6)^(1/6) - 3 * (1 + (X/3)^6)^(1/6) + 2)` with `X = log2(Ta / 100)`.
//! * `Ta` (absolute one-way delay) is estimated as the network one-way delay (RTT / 2 when an
//!   RTCP round trip is known, [`DEFAULT_ONE_WAY_DELAY_MS`] otherwise) plus a jitter buffer of
//!   twice the mean jitter plus one 20 ms packetisation frame.
//! * `Ie,eff` (G.107 §7.6, eq. 7-29): `Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)`, with `Ppl`
//!   the packet-loss percentage and `BurstR = 1` (random loss).
//! * MOS (G.107 Annex B, eq. B-4): `1` for `R < 0`, `4.5` for `R > 100`, else
//!   `1 + 0.035 R + R (R - 60) (100 - R) * 7e-6`.

use serde::Serialize;

/// One-way network delay assumed when no RTCP round trip is known, in ms.
pub const DEFAULT_ONE_WAY_DELAY_MS: f64 = 20.0;
/// Packetisation delay added to the mouth-to-ear delay estimate, in ms.
pub const FRAME_DELAY_MS: f64 = 20.0;

/// Equipment impairment factor `Ie` and packet-loss robustness `Bpl` of a codec.
///
/// Sources: ITU-T G.113 (11/2007) Appendix I, Tables I.1 and I.3 for G.711 with PLC
/// (Ie 0, Bpl 25.1), G.729A + VAD (Ie 11, Bpl 19.0), G.723.1 (Ie 15, Bpl 16.1),
/// GSM-FR 06.10 (Ie 20, Bpl 10, Bpl not tabulated: robustness of a codec without PLC),
/// GSM-EFR (Ie 5, Bpl 10). Not tabulated narrowband equivalents (approximations, documented
/// here): iLBC 20/30 ms Ie 11, Bpl 32 (published listening tests, robust PLC); G.722 treated
/// as G.711-equivalent quality on the narrowband scale (Ie 0, Bpl 25.1); Opus treated as
/// Ie 0, Bpl 30 (in-band FEC and PLC); AMR 12.2 Ie 5, Bpl 10 (as GSM-EFR).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CodecImpairment {
    pub ie: f64,
    pub bpl: f64,
}

impl Default for CodecImpairment {
    fn default() -> Self {
        CodecImpairment::G711
    }
}

impl CodecImpairment {
    pub const G711: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 25.1 };
    pub const G729A: CodecImpairment = CodecImpairment {
        ie: 11.0,
        bpl: 19.0,
    };
    pub const G723_1: CodecImpairment = CodecImpairment {
        ie: 15.0,
        bpl: 16.1,
    };
    pub const GSM_FR: CodecImpairment = CodecImpairment {
        ie: 20.0,
        bpl: 10.0,
    };
    pub const GSM_EFR: CodecImpairment = CodecImpairment { ie: 5.0, bpl: 10.0 };
    pub const ILBC: CodecImpairment = CodecImpairment {
        ie: 11.0,
        bpl: 32.0,
    };
    pub const G722: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 25.1 };
    pub const OPUS: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 30.0 };

    /// Constants for an rtpmap encoding name (case-insensitive), G.711 when unknown.
    pub fn for_encoding(name: &str) -> CodecImpairment {
        let n = name.to_ascii_uppercase();
        match n.as_str() {
            "PCMU" | "PCMA" | "G711" | "G711U" | "G711A" => Self::G711,
            "G729" | "G729A" | "G729AB" | "G729D" | "G729E" => Self::G729A,
            "G723" | "G7231" => Self::G723_1,
            "GSM" => Self::GSM_FR,
            "GSM-EFR" | "AMR" => Self::GSM_EFR,
            "ILBC" => Self::ILBC,
            "G722" => Self::G722,
            "OPUS" => Self::OPUS,
            _ => Self::G711,
        }
    }
}

/// R factor and MOS of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MosEstimate {
    pub r_factor: f64,
    pub mos: f64,
}

/// `Idd` of G.107 eq. 7-27 for an absolute one-way delay in ms.
pub fn delay_impairment(ta_ms: f64) -> f64 {
    if !ta_ms.is_finite() || ta_ms <= 100.0 {
        return 0.0;
    }
    let x = (ta_ms / 100.0).log2();
    let idd = 25.0
        * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
            + 2.0);
    idd.max(0.0)
}

/// `Ie,eff` of G.107 eq. 7-29 for random loss (`BurstR = 1`), loss in percent.
pub fn effective_equipment_impairment(codec: CodecImpairment, loss_pct: f64) -> f64 {
    let ppl = if loss_pct.is_finite() {
        loss_pct.clamp(0.0, 100.0)
    } else {
        0.0
    };
    let denom = ppl + codec.bpl;
    if denom <= 0.0 {
        return codec.ie;
    }
    codec.ie + (95.0 - codec.ie) * ppl / denom
}

/// MOS from R (G.107 Annex B).
pub fn mos_from_r(r: f64) -> f64 {
    if !r.is_finite() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).clamp(1.0, 4.5)
    }
}

/// R factor and MOS from packet loss (percent), mean jitter (ms) and, when known, the RTCP
/// round-trip time (ms).
pub fn estimate(
    codec: CodecImpairment,
    loss_pct: f64,
    jitter_ms: f64,
    rtt_ms: Option<f64>,
) -> MosEstimate {
    let one_way = match rtt_ms {
        Some(rtt) if rtt.is_finite() && rtt >= 0.0 => rtt / 2.0,
        _ => DEFAULT_ONE_WAY_DELAY_MS,
    };
    let jitter = if jitter_ms.is_finite() {
        jitter_ms.max(0.0)
    } else {
        0.0
    };
    let ta = one_way + 2.0 * jitter + FRAME_DELAY_MS;
    let r = (93.2 - delay_impairment(ta) - effective_equipment_impairment(codec, loss_pct))
        .clamp(0.0, 100.0);
    MosEstimate {
        r_factor: r,
        mos: mos_from_r(r),
    }
}

//! Segmentation policy ("keep VoIP on its own networks"): SIP and RTP whose addresses are
//! outside `$VOICE_NET`, or whose VLAN is not in `$VOICE_VLANS`, as `variables.conf` of the rules
//! folder defines them (`VOICE_NET = [10.20.0.0/16, 10.21.0.0/16]`, `VOICE_VLANS = [100, 200]`).
//! Without those variables the policy is off.

use crate::detect::rules::folders::RuleFolders;
use std::net::IpAddr;

use serde_json::json;

use crate::base::packet::PacketCtx;
use crate::detect::rules::net::{parse_addr, parse_port, AddrExpr, PortExpr, Variables};
use crate::detect::signature::Signature;
use crate::detect::threshold::Limiter;
use crate::detect::Finding;

pub const SIP_OUTSIDE: Signature = Signature {
    id: 2_500_002,
    name: "VOIP-SENTINEL policy: SIP to or from outside the voice networks",
    category: "policy",
    severity: 3,
    app_proto: Some("sip"),
};

pub const RTP_OUTSIDE: Signature = Signature {
    id: 2_500_003,
    name: "VOIP-SENTINEL policy: RTP to or from outside the voice networks",
    category: "policy",
    severity: 3,
    app_proto: None,
};

pub const WRONG_VLAN: Signature = Signature {
    id: 2_500_004,
    name: "VOIP-SENTINEL policy: voice traffic outside the voice VLANs",
    category: "policy",
    severity: 3,
    app_proto: None,
};

/// The voice networks and VLANs, when configured.
#[derive(Clone, Debug, Default)]
pub struct Segments {
    nets: Option<AddrExpr>,
    vlans: Option<PortExpr>,
}

impl Segments {
    /// Read `VOICE_NET` and `VOICE_VLANS` from the folders' `variables.conf`, if there is one.
    pub fn load(dirs: &RuleFolders) -> Result<Segments, Vec<String>> {
        let path = dirs.file("variables.conf");
        if !path.exists() {
            return Ok(Segments::default());
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
        // Errors in the file itself are reported by the rules loader.
        let Ok(vars) = Variables::parse(&path, &text) else {
            return Ok(Segments::default());
        };
        let mut errors = Vec::new();
        let nets = vars
            .get("VOICE_NET")
            .and_then(|v| match parse_addr(v, &vars) {
                Ok(e) => Some(e),
                Err(e) => {
                    errors.push(format!("{}: VOICE_NET: {e}", path.display()));
                    None
                }
            });
        let vlans = vars
            .get("VOICE_VLANS")
            .and_then(|v| match parse_port(v, &vars) {
                Ok(e) => Some(e),
                Err(e) => {
                    errors.push(format!("{}: VOICE_VLANS: {e}", path.display()));
                    None
                }
            });
        if errors.is_empty() {
            Ok(Segments { nets, vlans })
        } else {
            Err(errors)
        }
    }

    /// Whether `ip` is in the voice networks (`None`: `VOICE_NET` is not configured).
    pub fn voice_net(&self, ip: IpAddr) -> Option<bool> {
        self.nets.as_ref().map(|n| n.matches(ip))
    }

    pub fn is_off(&self) -> bool {
        self.nets.is_none() && self.vlans.is_none()
    }
}

/// Checks traffic against the segments, one alert per address (or VLAN) and signature per hour.
pub struct SegmentCheck {
    segments: Segments,
    limiter: Limiter,
}

impl SegmentCheck {
    pub fn new(segments: Segments) -> SegmentCheck {
        SegmentCheck {
            segments,
            limiter: Limiter::new(1, 3600, 20_000),
        }
    }

    pub fn set(&mut self, segments: Segments) {
        self.segments = segments;
    }

    /// Packet time reached `now`: forget the keys silent for a week (the count held back
    /// since a key's last alert goes with its next one until then).
    pub fn expire(&mut self, now: crate::base::time::Ts) {
        self.limiter.forget_idle(now, crate::base::time::MEMORY_NS);
    }

    /// The one-an-hour limiter's table, for the `stats` record.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// SIP (`rtp` false) or the first packet of an RTP stream (`rtp` true).
    pub fn check(&mut self, ctx: &PacketCtx, rtp: bool, out: &mut Vec<Finding>) {
        if self.segments.is_off() {
            return;
        }
        if let Some(nets) = &self.segments.nets {
            let outside: Vec<IpAddr> = [ctx.src, ctx.dst]
                .into_iter()
                .filter(|ip| !nets.matches(*ip))
                .collect();
            if let Some(ip) = outside.first() {
                let sig = if rtp { RTP_OUTSIDE } else { SIP_OUTSIDE };
                if let Some(suppressed) = self.limiter.check(sig.id, ip, ctx.ts) {
                    out.push(Finding {
                        metadata: None,
                        reversed: false,
                        sig,
                        ctx: *ctx,
                        evidence: json!({ "outside": outside, "suppressed": suppressed }),
                    });
                }
            }
        }
        if let Some(vlans) = &self.segments.vlans {
            let ok = ctx.vlan.is_some_and(|v| vlans.matches(v));
            if !ok {
                let key = ctx.vlan.map_or("none".to_string(), |v| v.to_string());
                if let Some(suppressed) = self.limiter.check(WRONG_VLAN.id, &key, ctx.ts) {
                    out.push(Finding {
                        metadata: None,
                        reversed: false,
                        sig: WRONG_VLAN,
                        ctx: *ctx,
                        evidence: json!({ "vlan": ctx.vlan, "media": rtp, "suppressed": suppressed }),
                    });
                }
            }
        }
    }
}

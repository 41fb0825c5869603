//! Which product and version a device announces in its User-Agent or Server header, for the
//! PBXs, proxies and phones that advisories name: `Asterisk PBX 20.5.0`, `FPBX-16.0.33(18.16.0)`,
//! `FreeSWITCH-mod_sofia/1.10.11-release~64bit`, `kamailio (5.6.3 (x86_64/linux))`,
//! `Yealink SIP-T46S 66.86.0.15`, `PolycomVVX-VVX_411-UA/6.4.3.5018`, ...
//!
//! The header is the vendor's name at its start, then (for phones) a model, then a version:
//! the first run of dot-separated numbers that follows a separator (a space, `/`, `-`, `(`), or
//! failing that any such run (`Cisco-CUCM14.0`). Strings that name none of these vendors, or
//! that are not text, give nothing: they are still inventoried, just not judged.

use super::version::Version;

/// What a header says about the software that sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Software<'a> {
    /// The id advisories use (`asterisk`, `yealink`).
    pub product: &'static str,
    /// As vendors write it (`Asterisk`, `Yealink`).
    pub name: &'static str,
    /// The phone or appliance model, when the header names one (`SIP-T46S`, `VVX_411`).
    pub model: Option<&'a str>,
    /// The version as announced (`18.9-cert4`), and as compared (`18.9.4`).
    pub version: Option<(&'a str, Version)>,
    /// A product inside this one: FreePBX names the Asterisk it runs on.
    pub component: Option<Box<Software<'a>>>,
}

/// Where a vendor's header puts the model, if it has one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Model {
    /// No model (servers).
    None,
    /// Between the vendor's name and the version (`Yealink SIP-T46S 66.86.0.15`).
    Before,
    /// Before the version, or the first word after it (`Polycom/5.9.5.0614 VVX-410`).
    Around,
}

/// Vendor prefixes, case-insensitive, longest first where one begins another.
const VENDORS: &[(&str, &str, &str, Model)] = &[
    ("FPBX-", "freepbx", "FreePBX", Model::None),
    ("Asterisk PBX", "asterisk", "Asterisk", Model::None),
    ("Asterisk", "asterisk", "Asterisk", Model::None),
    ("FreeSWITCH", "freeswitch", "FreeSWITCH", Model::None),
    ("kamailio", "kamailio", "Kamailio", Model::None),
    ("OpenSIPS", "opensips", "OpenSIPS", Model::None),
    ("3CXPhoneSystem", "3cx", "3CX Phone System", Model::None),
    ("3CX Phone System", "3cx", "3CX Phone System", Model::None),
    ("3CXPhone", "3cx-phone", "3CXPhone", Model::None),
    ("Cisco", "cisco", "Cisco", Model::Before),
    ("CSCO", "cisco", "Cisco", Model::Before),
    ("Polycom", "poly", "Poly", Model::Around),
    ("Poly", "poly", "Poly", Model::Around),
    ("Yealink", "yealink", "Yealink", Model::Before),
    ("Grandstream", "grandstream", "Grandstream", Model::Before),
    ("snom", "snom", "Snom", Model::Before),
    ("Avaya", "avaya", "Avaya", Model::Before),
    ("Mitel", "mitel", "Mitel", Model::Before),
    ("Aastra", "mitel", "Mitel", Model::Before),
    ("Fanvil", "fanvil", "Fanvil", Model::Before),
];

/// The product and version a User-Agent or Server value announces, if it names a known vendor.
pub fn identify(header: &str) -> Option<Software<'_>> {
    let s = header.trim();
    let &(prefix, product, name, model_at) = VENDORS.iter().find(|(p, ..)| {
        s.get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
    })?;
    let rest = &s[prefix.len()..];
    let Some((at, len)) = version_run(rest) else {
        return Some(Software {
            product,
            name,
            model: model_at_before(rest, model_at).map(|m| clean_model(product, m)),
            version: None,
            component: None,
        });
    };
    let from = &rest[at..];
    let (text, version, product, name) = if product == "asterisk" {
        let (text, version, cert) = asterisk_version(from, len)?;
        let (product, name) = asterisk_names(cert);
        (text, version, product, name)
    } else {
        (&from[..len], Version::parse(&from[..len])?, product, name)
    };
    let tail = &from[text.len()..];
    let before = rest[..at].trim_matches(|c: char| c == ' ' || c == '/' || c == '-' || c == '(');
    let model = match model_at {
        Model::None => None,
        Model::Before => (!before.is_empty()).then_some(before),
        Model::Around if !before.is_empty() => Some(before),
        // `Polycom/5.5.0.23866 PolycomVVX-VVX_501-UA/5.5.0.23866`: the word, to its version.
        Model::Around => tail
            .split_whitespace()
            .next()
            .map(|w| w.split('/').next().unwrap_or(w)),
    }
    .map(|m| clean_model(product, m))
    .filter(|m| !m.is_empty());
    // FreePBX: `FPBX-16.0.33(18.16.0)`, the Asterisk version in parentheses.
    let component = if product == "freepbx" {
        tail.strip_prefix('(')
            .and_then(identify_asterisk)
            .map(Box::new)
    } else {
        None
    };
    Some(Software {
        product,
        name,
        model,
        version: Some((text, version)),
        component,
    })
}

/// The Asterisk version inside FreePBX's parentheses (`18.16.0)`, `18.9-cert8)`).
fn identify_asterisk(inner: &str) -> Option<Software<'_>> {
    let (_, len) = version_run(inner).filter(|&(at, _)| at == 0)?;
    let (text, version, cert) = asterisk_version(inner, len)?;
    let (product, name) = asterisk_names(cert);
    Some(Software {
        product,
        name,
        model: None,
        version: Some((text, version)),
        component: None,
    })
}

/// An Asterisk version at the start of `s` (its numbers `len` bytes long), a `-certN` after
/// them read as Certified Asterisk's last part: the text, the version, and whether certified.
fn asterisk_version(s: &str, len: usize) -> Option<(&str, Version, bool)> {
    let (cert_len, cert) = certified(&s[len..]);
    let mut version = Version::parse(&s[..len])?;
    if let Some(n) = cert {
        version = Version::from_parts(&[version.parts(), &[n]].concat());
    }
    Some((&s[..len + cert_len], version, cert.is_some()))
}

/// Product id and name of Asterisk, or Certified Asterisk.
fn asterisk_names(certified: bool) -> (&'static str, &'static str) {
    if certified {
        ("asterisk-certified", "Certified Asterisk")
    } else {
        ("asterisk", "Asterisk")
    }
}

/// `-certN` after a version (Certified Asterisk): the bytes it takes and N.
fn certified(after: &str) -> (usize, Option<u32>) {
    let Some(rest) = after.strip_prefix("-cert") else {
        return (0, None);
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest[..digits].parse::<u32>() {
        Ok(n) if digits <= 9 => (5 + digits, Some(n)),
        _ => (0, None),
    }
}

/// With no version, the model is what follows the vendor's name (first word).
fn model_at_before(rest: &str, model_at: Model) -> Option<&str> {
    if model_at == Model::None {
        return None;
    }
    rest.trim_start_matches([' ', '/', '-'])
        .split([' ', '/'])
        .next()
        .filter(|m| !m.is_empty())
}

/// Vendors' decorations around the model: Poly's `VVX-VVX_411-UA`, Mitel's `6869i-SIP-Phone`.
fn clean_model<'a>(product: &str, m: &'a str) -> &'a str {
    let m = m.trim_matches(|c: char| c == ' ' || c == '/' || c == '-');
    match product {
        // `VVX-VVX_411-UA`, `SoundPointIP-SPIP_550-UA`: the family, the model, `UA`.
        "poly" => match m.strip_suffix("-UA") {
            Some(fm) => fm.split_once('-').map_or(fm, |(_, model)| model),
            None => m,
        },
        // `SIPGateway/IOS`: the model, then the software's name.
        "cisco" => m.split('/').next().unwrap_or(m),
        "mitel" => m
            .strip_suffix("-SIP-Phone")
            .or_else(|| m.strip_suffix(" SIP Phone"))
            .unwrap_or(m),
        _ => m,
    }
}

/// The version in `s`: the first run of digits and dots holding a dot between digits that
/// follows a separator (or starts `s`), else the first such run anywhere: (start, length).
fn version_run(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let mut fallback = None;
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let mut end = i;
        while end > start && b[end - 1] == b'.' {
            end -= 1;
        }
        let dotted = b[start..end].windows(2).any(|w| w[0] == b'.');
        if !dotted {
            continue;
        }
        let separated = start == 0 || matches!(b[start - 1], b' ' | b'/' | b'-' | b'(' | b'_');
        if separated {
            return Some((start, end - start));
        }
        // `CUCM14.0`, not the `03.0` of `R016x.03.0`.
        if start > 0 && b[start - 1].is_ascii_alphabetic() {
            fallback = fallback.or(Some((start, end - start)));
        }
    }
    fallback
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (header, product, model, version as announced, version as compared)
    fn check(h: &str, product: &str, model: Option<&str>, text: &str, parts: &[u32]) {
        let s = identify(h).unwrap_or_else(|| panic!("{h:?} not identified"));
        assert_eq!(s.product, product, "{h:?}");
        assert_eq!(s.model, model, "{h:?}");
        let (t, v) = s.version.unwrap_or_else(|| panic!("{h:?}: no version"));
        assert_eq!(t, text, "{h:?}");
        assert_eq!(v.parts(), parts, "{h:?}");
    }

    #[test]
    fn servers() {
        check(
            "Asterisk PBX 20.5.0",
            "asterisk",
            None,
            "20.5.0",
            &[20, 5, 0],
        );
        check(
            "Asterisk PBX 1.6.0.6",
            "asterisk",
            None,
            "1.6.0.6",
            &[1, 6, 0, 6],
        );
        check(
            "Asterisk PBX certified/18.9-cert4",
            "asterisk-certified",
            None,
            "18.9-cert4",
            &[18, 9, 4],
        );
        check(
            "Asterisk 18.16.0",
            "asterisk",
            None,
            "18.16.0",
            &[18, 16, 0],
        );
        check(
            "FreeSWITCH-mod_sofia/1.10.11-release~64bit",
            "freeswitch",
            None,
            "1.10.11",
            &[1, 10, 11],
        );
        check(
            "FreeSWITCH-mod_sofia/1.6.12-20-b91a0a6~64bit",
            "freeswitch",
            None,
            "1.6.12",
            &[1, 6, 12],
        );
        check(
            "kamailio (5.6.3 (x86_64/linux))",
            "kamailio",
            None,
            "5.6.3",
            &[5, 6, 3],
        );
        check(
            "OpenSIPS (2.4.5 (x86_64/linux))",
            "opensips",
            None,
            "2.4.5",
            &[2, 4, 5],
        );
        check(
            "3CXPhoneSystem 18.0.8.985 (985)",
            "3cx",
            None,
            "18.0.8.985",
            &[18, 0, 8, 985],
        );
        check(
            "3CXPhone 6.0.26523.0",
            "3cx-phone",
            None,
            "6.0.26523.0",
            &[6, 0, 26523, 0],
        );
    }

    #[test]
    fn freepbx_names_its_asterisk() {
        let s = identify("FPBX-16.0.33(18.16.0)").unwrap();
        assert_eq!(s.product, "freepbx");
        assert_eq!(s.version.unwrap().0, "16.0.33");
        let a = s.component.unwrap();
        assert_eq!(a.product, "asterisk");
        assert_eq!(a.version.unwrap().0, "18.16.0");
        let s = identify("FPBX-16.0.40.7(18.9-cert8)").unwrap();
        let a = s.component.unwrap();
        assert_eq!(a.product, "asterisk-certified");
        assert_eq!(a.version.unwrap().1.parts(), &[18, 9, 8]);
        assert!(identify("FPBX-2.11.0(x)").unwrap().component.is_none());
    }

    #[test]
    fn phones() {
        check(
            "Yealink SIP-T46S 66.86.0.15",
            "yealink",
            Some("SIP-T46S"),
            "66.86.0.15",
            &[66, 86, 0, 15],
        );
        check(
            "Grandstream GXP2170 1.0.11.23",
            "grandstream",
            Some("GXP2170"),
            "1.0.11.23",
            &[1, 0, 11, 23],
        );
        check(
            "Grandstream HT-502 V1.2A 1.0.17.5",
            "grandstream",
            Some("HT-502 V1.2A"),
            "1.0.17.5",
            &[1, 0, 17, 5],
        );
        check(
            "Cisco-CP8845/14.2.1",
            "cisco",
            Some("CP8845"),
            "14.2.1",
            &[14, 2, 1],
        );
        check(
            "Cisco/SPA508G-7.5.5",
            "cisco",
            Some("SPA508G"),
            "7.5.5",
            &[7, 5, 5],
        );
        check("Cisco-CUCM14.0", "cisco", Some("CUCM"), "14.0", &[14, 0]);
        check(
            "PolycomVVX-VVX_411-UA/6.4.3.5018",
            "poly",
            Some("VVX_411"),
            "6.4.3.5018",
            &[6, 4, 3, 5018],
        );
        check(
            "PolycomSoundPointIP-SPIP_550-UA/4.0.1.13681",
            "poly",
            Some("SPIP_550"),
            "4.0.1.13681",
            &[4, 0, 1, 13681],
        );
        check(
            "Polycom/5.9.5.0614 VVX-410",
            "poly",
            Some("VVX-410"),
            "5.9.5.0614",
            &[5, 9, 5, 614],
        );
        check(
            "snomD785/10.1.73.16",
            "snom",
            Some("D785"),
            "10.1.73.16",
            &[10, 1, 73, 16],
        );
        check(
            "Mitel-6869i-SIP-Phone 6.2.0.1011 0800EA123456",
            "mitel",
            Some("6869i"),
            "6.2.0.1011",
            &[6, 2, 0, 1011],
        );
        check(
            "Aastra 6731i/3.3.1.4305",
            "mitel",
            Some("6731i"),
            "3.3.1.4305",
            &[3, 3, 1, 4305],
        );
        check(
            "Fanvil X4U 2.12.1.6 0c383e1b8f98",
            "fanvil",
            Some("X4U"),
            "2.12.1.6",
            &[2, 12, 1, 6],
        );
        check(
            "Avaya one-X Deskphone 7.1.9.0.6",
            "avaya",
            Some("one-X Deskphone"),
            "7.1.9.0.6",
            &[7, 1, 9, 0, 6],
        );
    }

    /// Headers as devices announced them in public sources (Rapid7 Recog banners, Greenbone
    /// scripts, vendors' wikis and forums, GitHub issues).
    #[test]
    fn announced_in_the_wild() {
        let cases: &[(&str, &str, Option<&str>, &str)] = &[
            ("Asterisk PBX 16.2.1~dfsg-1", "asterisk", None, "16.2.1"),
            (
                "Asterisk PBX 13.18.0-6.7.1.1.rl.1538157944.1c65507",
                "asterisk",
                None,
                "13.18.0",
            ),
            (
                "Asterisk PBX certified-18.9-cert13",
                "asterisk-certified",
                None,
                "18.9-cert13",
            ),
            ("FPBX-12.0.70(11.20.0)", "freepbx", None, "12.0.70"),
            (
                "FreeSWITCH-mod_sofia/1.10.4-release+git~20200805T110119Z~133fc2c870~64bit",
                "freeswitch",
                None,
                "1.10.4",
            ),
            (
                "FreeSWITCH-mod_sofia/1.6.20~64bit",
                "freeswitch",
                None,
                "1.6.20",
            ),
            (
                "Kamailio (1.5.2-notls (i386/linux))",
                "kamailio",
                None,
                "1.5.2",
            ),
            (
                "kamailio (4.0.1 (sparc/solaris))",
                "kamailio",
                None,
                "4.0.1",
            ),
            (
                "OpenSIPS (1.11.11-tls (x86_64/linux))",
                "opensips",
                None,
                "1.11.11",
            ),
            (
                "3CXPhoneSystem 15.5.15502.6 (15502)",
                "3cx",
                None,
                "15.5.15502.6",
            ),
            (
                "Cisco-SIPGateway/IOS-15.2.4.M3",
                "cisco",
                Some("SIPGateway"),
                "15.2.4",
            ),
            (
                "Cisco-SIPGateway/IOS-16.3.6",
                "cisco",
                Some("SIPGateway"),
                "16.3.6",
            ),
            ("Cisco-CP7960G/8.0", "cisco", Some("CP7960G"), "8.0"),
            (
                "Cisco-CP-7821-3PCC/11.0.0",
                "cisco",
                Some("CP-7821-3PCC"),
                "11.0.0",
            ),
            ("Cisco/SPA504G-7.5.2", "cisco", Some("SPA504G"), "7.5.2"),
            (
                "PolycomVVX-VVX_350-UA/5.8.0.13337",
                "poly",
                Some("VVX_350"),
                "5.8.0.13337",
            ),
            (
                "Polycom/5.5.0.23866 PolycomVVX-VVX_501-UA/5.5.0.23866",
                "poly",
                Some("VVX_501"),
                "5.5.0.23866",
            ),
            (
                "PolycomSoundStationIP-SSIP_7000-UA/4.0.8.1608",
                "poly",
                Some("SSIP_7000"),
                "4.0.8.1608",
            ),
            (
                "PolycomRealPresenceTrio-Trio_8800-UA/5.4.0.12197",
                "poly",
                Some("Trio_8800"),
                "5.4.0.12197",
            ),
            (
                "Yealink SIP-T21P_E2 52.83.0.35",
                "yealink",
                Some("SIP-T21P_E2"),
                "52.83.0.35",
            ),
            (
                "Yealink W60B 77.83.0.85",
                "yealink",
                Some("W60B"),
                "77.83.0.85",
            ),
            (
                "Grandstream GXP1628 1.0.7.6",
                "grandstream",
                Some("GXP1628"),
                "1.0.7.6",
            ),
            (
                "Grandstream UCM6208V1.4A 1.0.16.20",
                "grandstream",
                Some("UCM6208V1.4A"),
                "1.0.16.20",
            ),
            ("snom370/7.3.14", "snom", Some("370"), "7.3.14"),
            (
                "snomD785/10.1.198.12 0004130DD7C9",
                "snom",
                Some("D785"),
                "10.1.198.12",
            ),
            (
                "Aastra 6865i/4.2.0.2023",
                "mitel",
                Some("6865i"),
                "4.2.0.2023",
            ),
            ("Mitel 6930/6.4.0.132", "mitel", Some("6930"), "6.4.0.132"),
            (
                "Mitel Border GW/4.0.0.9",
                "mitel",
                Some("Border GW"),
                "4.0.0.9",
            ),
            (
                "Fanvil i53W 2.12.9 0c383e10a440",
                "fanvil",
                Some("i53W"),
                "2.12.9",
            ),
            (
                "Avaya-VoicePortal/6.0.2.0.0528",
                "avaya",
                Some("VoicePortal"),
                "6.0.2.0.0528",
            ),
        ];
        for &(h, product, model, text) in cases {
            let s = identify(h).unwrap_or_else(|| panic!("{h:?}"));
            assert_eq!(
                (s.product, s.model, s.version.map(|v| v.0)),
                (product, model, Some(text)),
                "{h:?}"
            );
        }
        // No version in these: the product still.
        for (h, product) in [
            ("Cisco-ATA191-MPP/11-1-0MSR3-9", "cisco"),
            ("Yealink SIP-T21P_E2", "yealink"),
        ] {
            let s = identify(h).unwrap();
            assert_eq!((s.product, s.version), (product, None), "{h:?}");
        }
    }

    #[test]
    fn without_a_version() {
        let s = identify("kamailio (voip-sentinel test proxy)").unwrap();
        assert_eq!((s.product, s.version), ("kamailio", None));
        let s = identify("Cisco-SIPGateway/IOS-15.x").unwrap();
        assert_eq!((s.model, s.version), (Some("SIPGateway"), None));
        let s = identify("Avaya CM/R016x.03.0.124.0").unwrap();
        assert_eq!(s.model, Some("CM"));
        for other in [
            "friendly-scanner",
            "sipp voip-sentinel-test",
            "MicroSIP/3.21.3",
            "Zoiper rv2.10.19.4",
            "",
            "A",
        ] {
            assert_eq!(identify(other), None, "{other:?}");
        }
    }

    #[test]
    fn hostile_headers() {
        for h in [
            "Asterisk PBX \u{0}\u{ffff}",
            "Asterisk PBX 99999999999.1",
            "Asterisk PBX 1.2-cert99999999999999",
            "FPBX-1.1((((((((",
            "FPBX-1.1(1.1-cert",
            "Yealink ......",
            "Yealink 1.",
            "Polycom-UA/",
            "Poly",
            "snom/",
            "Mitel-",
            "Asterisk PBX 𝟙.𝟚",
            "FreeSWITCH-mod_sofia/١.٢",
        ] {
            let _ = identify(h);
        }
        let long = format!("Yealink {}", "1.".repeat(5000));
        let s = identify(&long).unwrap();
        assert_eq!(s.version.unwrap().1.parts().len(), 6);
        // A certification number too large is not one.
        let s = identify("Asterisk PBX 1.2-cert99999999999999").unwrap();
        assert_eq!(s.product, "asterisk");
    }
}

//! The install layout, as an operator gets it: `scripts/install.sh` into a temporary root, then
//! the installed binary started the way the installed systemd unit starts it (its user, its
//! capabilities, its config), capturing sipp calls on `lo`, reloading and reopening its log on
//! SIGHUP (logrotate), stopping on SIGTERM; and upgrade and uninstall. The steps and their
//! checks are in `tests/install/run.sh`; it needs root (CI runs as root), sipp, setpriv, curl.

use std::process::Command;

use crate::util::*;

#[test]
fn the_installed_service_captures_reloads_rotates_and_stops() {
    let out = Command::new("bash")
        .arg(root().join("tests/install/run.sh"))
        .arg(bin())
        .current_dir(root())
        .output()
        .expect("bash");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "install test failed:\n{text}");
    assert!(!text.contains("FAIL"), "{text}");
}

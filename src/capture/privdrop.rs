//! Dropping root: after the capture, the EVE file and the metrics socket are open, the sensor
//! becomes an unprivileged user (`--user`, `--group`), so a parser bug reachable from the wire
//! runs without root.

use std::ffi::CString;

/// The user and group ids to become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
}

/// Look up `user` (and `group`, else the user's primary group) in the system's databases.
pub fn lookup(user: &str, group: Option<&str>) -> Result<Ids, String> {
    let name = CString::new(user).map_err(|_| format!("user {user:?}: not a valid name"))?;
    // SAFETY: `name` is a valid NUL-terminated string; getpwnam returns NULL or a pointer to a
    // static record that stays valid until the next getpw* call, and is read at once here
    // (the sensor's other threads do not call getpw*).
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(format!(
            "user {user:?} does not exist (create it, or give an existing one such as nobody)"
        ));
    }
    // SAFETY: `pw` is non-null and points to the record getpwnam filled in.
    let (uid, mut gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    if let Some(g) = group {
        let gname = CString::new(g).map_err(|_| format!("group {g:?}: not a valid name"))?;
        // SAFETY: as for getpwnam: a valid C string in, NULL or a static record out.
        let gr = unsafe { libc::getgrnam(gname.as_ptr()) };
        if gr.is_null() {
            return Err(format!("group {g:?} does not exist"));
        }
        // SAFETY: `gr` is non-null and points to the record getgrnam filled in.
        gid = unsafe { (*gr).gr_gid };
    }
    Ok(Ids { uid, gid })
}

/// Become `ids`: supplementary groups cleared, then the group, then the user (in that order:
/// after setuid the others are no longer allowed). glibc applies each to every thread.
pub fn drop_to(ids: Ids) -> Result<(), String> {
    let err = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    let groups = [ids.gid];
    // SAFETY: `groups` is a live array of one gid_t and the length passed is 1.
    if unsafe { libc::setgroups(1, groups.as_ptr()) } != 0 {
        return Err(err("setgroups"));
    }
    // SAFETY: plain system calls on integer arguments.
    if unsafe { libc::setgid(ids.gid) } != 0 {
        return Err(err("setgid"));
    }
    // SAFETY: as above.
    if unsafe { libc::setuid(ids.uid) } != 0 {
        return Err(err("setuid"));
    }
    // Root must not be recoverable.
    // SAFETY: as above.
    if ids.uid != 0 && unsafe { libc::setuid(0) } == 0 {
        return Err("setuid: root could be regained".into());
    }
    Ok(())
}

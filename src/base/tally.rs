//! Counters by name, as the `stats` record keeps them (messages by method, parse warnings,
//! registrations by outcome): one more of a name without copying it, except the first time.

use std::collections::BTreeMap;

/// Count one more of `key`. An `entry` with an owned key copied the name on every message.
pub fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_name_is_counted_each_time_and_kept_once() {
        let mut m = std::collections::BTreeMap::new();
        for k in ["INVITE", "ACK", "INVITE"] {
            super::bump(&mut m, k);
        }
        assert_eq!(m.len(), 2);
        assert_eq!(m["INVITE"], 2);
        assert_eq!(m["ACK"], 1);
    }
}

//! Bounded per-key state: a map with a cap (`max_keys`) that evicts the least recently seen key
//! when full and counts what it evicted, and drops keys idle for longer than asked on `expire`.
//! Also the two small sliding-window counters the detectors keep per key.

use crate::base::fasthash::FastMap;
use std::collections::{BTreeMap, VecDeque};
use std::hash::Hash;

use crate::base::time::Ts;

struct Slot<V> {
    v: V,
    last: Ts,
    stamp: u64,
}

/// A capped map ordered by last touch (least recently seen first).
pub struct Lru<K, V> {
    map: FastMap<K, Slot<V>>,
    order: BTreeMap<u64, K>,
    next: u64,
    max_keys: usize,
    /// Keys dropped to make room (not idle expiry).
    pub evictions: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    pub fn new(max_keys: usize) -> Self {
        Lru {
            map: FastMap::default(),
            order: BTreeMap::new(),
            next: 0,
            max_keys: max_keys.max(1),
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn max_keys(&self) -> usize {
        self.max_keys
    }

    /// Change the cap; a smaller cap evicts (counted) down to it at once.
    pub fn set_max_keys(&mut self, max_keys: usize) {
        self.max_keys = max_keys.max(1);
        while self.map.len() > self.max_keys && self.evict_oldest() {}
    }

    fn evict_oldest(&mut self) -> bool {
        match self.order.pop_first() {
            Some((_, k)) => {
                self.map.remove(&k);
                self.evictions += 1;
                true
            }
            None => false,
        }
    }

    /// Visit every entry (in no particular order).
    pub fn for_each(&self, mut f: impl FnMut(&K, &V)) {
        for (k, s) in &self.map {
            f(k, &s.v);
        }
    }

    /// Remove the least recently seen key (counted as an eviction): for tables bounded by
    /// something other than their key count, such as bytes.
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        let (_, k) = self.order.pop_first()?;
        let slot = self.map.remove(&k)?;
        self.evictions += 1;
        Some((k, slot.v))
    }

    /// The value of `k` (created by `make` if absent, evicting the least recently seen key when
    /// the table is full), marked as seen at `now`.
    pub fn touch(&mut self, k: K, now: Ts, make: impl FnOnce() -> V) -> &mut V {
        let stamp = self.next;
        self.next += 1;
        if !self.map.contains_key(&k) {
            while self.map.len() >= self.max_keys && self.evict_oldest() {}
            self.order.insert(stamp, k.clone());
            let slot = self.map.entry(k).or_insert(Slot {
                v: make(),
                last: now,
                stamp,
            });
            return &mut slot.v;
        }
        // A key seen before: its order entry moves to the new stamp, no copy of the key made
        // (a formatted key would cost an allocation per touch).
        let slot = self.map.get_mut(&k).expect("checked above");
        if let Some(key) = self.order.remove(&slot.stamp) {
            self.order.insert(stamp, key);
        }
        slot.stamp = stamp;
        if now > slot.last {
            slot.last = now;
        }
        &mut slot.v
    }

    /// The value of `k` without marking it seen.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k).map(|s| &mut s.v)
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        let slot = self.map.remove(k)?;
        self.order.remove(&slot.stamp);
        Some(slot.v)
    }

    /// Drop the keys not seen for `idle_ns` (oldest first), giving each to `f`.
    pub fn expire_with(&mut self, now: Ts, idle_ns: u64, mut f: impl FnMut(K, V)) {
        while let Some((&stamp, k)) = self.order.first_key_value() {
            let Some(slot) = self.map.get(k) else {
                self.order.remove(&stamp);
                continue;
            };
            if now.since(slot.last) < idle_ns {
                break;
            }
            if let Some((_, k)) = self.order.pop_first() {
                if let Some(slot) = self.map.remove(&k) {
                    f(k, slot.v);
                }
            }
        }
    }

    pub fn expire(&mut self, now: Ts, idle_ns: u64) {
        self.expire_with(now, idle_ns, |_, _| {});
    }
}

/// Events of one key in a sliding window: remembers at most `threshold` times (what deciding
/// "`threshold` events within the window" needs), and counts every event since the last alert.
#[derive(Default, Debug)]
pub struct Rate {
    times: VecDeque<Ts>,
    /// Events counted since the last alert for this key (the flood size an alert reports).
    pub since_alert: u64,
}

impl Rate {
    /// Count an event at `now`; the number of events within the last `window_ns` (at most
    /// `threshold`).
    pub fn hit(&mut self, now: Ts, window_ns: u64, threshold: u64) -> u64 {
        self.since_alert = self.since_alert.saturating_add(1);
        self.times.push_back(now);
        self.prune(now, window_ns);
        while self.times.len() as u64 > threshold.max(1) {
            self.times.pop_front();
        }
        self.times.len() as u64
    }

    fn prune(&mut self, now: Ts, window_ns: u64) {
        while self
            .times
            .front()
            .is_some_and(|t| now.since(*t) >= window_ns)
        {
            self.times.pop_front();
        }
    }

    /// Events within the window ending at `now`.
    pub fn count(&mut self, now: Ts, window_ns: u64) -> u64 {
        self.prune(now, window_ns);
        self.times.len() as u64
    }

    pub fn clear(&mut self) {
        self.times.clear();
    }
}

/// Distinct values of one key in a sliding window: at most `threshold` values remembered.
#[derive(Default, Debug)]
pub struct Distinct {
    items: VecDeque<(String, Ts)>,
    /// Events counted since the last alert for this key.
    pub since_alert: u64,
}

/// What a table keeps of a value an attacker chose.
pub const VALUE_CLIP: usize = 64;

impl Distinct {
    /// Count `value` seen at `now`; the number of distinct values within the last `window_ns`
    /// (at most `threshold`).
    pub fn hit(&mut self, value: &str, now: Ts, window_ns: u64, threshold: u64) -> u64 {
        self.since_alert = self.since_alert.saturating_add(1);
        while self
            .items
            .front()
            .is_some_and(|(_, t)| now.since(*t) >= window_ns)
        {
            self.items.pop_front();
        }
        let value = crate::dialog::msg::clip(value, VALUE_CLIP);
        if let Some(i) = self.items.iter().position(|(v, _)| *v == value) {
            self.items.remove(i);
        }
        self.items.push_back((value, now));
        while self.items.len() as u64 > threshold.max(1) {
            self.items.pop_front();
        }
        self.items.len() as u64
    }

    /// Up to `n` of the most recent values.
    pub fn sample(&self, n: usize) -> Vec<String> {
        self.items
            .iter()
            .rev()
            .take(n)
            .map(|(v, _)| v.clone())
            .collect()
    }

    pub fn contains(&self, value: &str) -> bool {
        self.items.iter().any(|(v, _)| v == value)
    }
}

/// Up to five distinct examples of each kind, clipped: what an alert shows of who did it.
#[derive(Default, Debug, Clone)]
pub struct Samples {
    pub call_ids: Vec<String>,
    pub users: Vec<String>,
    pub user_agents: Vec<String>,
}

pub const SAMPLES: usize = 5;

fn add(v: &mut Vec<String>, s: Option<&str>) {
    let Some(s) = s else { return };
    if v.len() >= SAMPLES || s.is_empty() {
        return;
    }
    // Compared before it is copied: most messages repeat a sample already kept.
    let s = crate::dialog::msg::clipped(s, VALUE_CLIP);
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

impl Samples {
    pub fn add(&mut self, call_id: Option<&str>, user: Option<&str>, ua: Option<&str>) {
        add(&mut self.call_ids, call_id);
        add(&mut self.users, user);
        add(&mut self.user_agents, ua);
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "call_ids": self.call_ids,
            "usernames": self.users,
            "user_agents": self.user_agents,
        })
    }
}

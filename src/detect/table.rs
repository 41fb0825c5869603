//! Bounded per-key state: a map with a cap (`max_keys`) that evicts the least recently seen key
//! when full and counts what it evicted, and drops keys idle for longer than asked on `expire`.
//! Also the two small sliding-window counters the detectors keep per key.

use crate::base::fasthash::FastMap;
use std::borrow::Borrow;
use std::collections::VecDeque;
use std::hash::Hash;

use crate::base::time::Ts;

/// No node: the end of the list.
const NIL: u32 = u32::MAX;

/// A key's slot: its value and its place in the list from least to most recently seen.
struct Node<K, V> {
    /// `None` on the free list.
    entry: Option<(K, V)>,
    last: Ts,
    prev: u32,
    next: u32,
}

/// A capped map ordered by last touch (least recently seen first): a hash map from key to a
/// slot in a vector of nodes linked in touch order, so a touch is one lookup and a few index
/// writes (no ordered-tree insert and remove, no copy of the key).
pub struct Lru<K, V> {
    map: FastMap<K, u32>,
    nodes: Vec<Node<K, V>>,
    /// Slots to reuse.
    free: Vec<u32>,
    /// The least recently seen key, and the most.
    head: u32,
    tail: u32,
    max_keys: usize,
    /// Keys dropped to make room (not idle expiry).
    pub evictions: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    pub fn new(max_keys: usize) -> Self {
        Lru {
            map: FastMap::default(),
            nodes: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
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
        while self.map.len() > self.max_keys && self.pop_oldest().is_some() {}
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let n = &self.nodes[i as usize];
            (n.prev, n.next)
        };
        match prev {
            NIL => self.head = next,
            p => self.nodes[p as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.nodes[n as usize].prev = prev,
        }
    }

    fn push_back(&mut self, i: u32) {
        let tail = self.tail;
        {
            let n = &mut self.nodes[i as usize];
            n.prev = tail;
            n.next = NIL;
        }
        match tail {
            NIL => self.head = i,
            t => self.nodes[t as usize].next = i,
        }
        self.tail = i;
    }

    /// Take node `i` out of the list and the map, its slot freed.
    fn take(&mut self, i: u32) -> Option<(K, V)> {
        self.unlink(i);
        let (k, v) = self.nodes[i as usize].entry.take()?;
        self.map.remove(&k);
        self.free.push(i);
        Some((k, v))
    }

    /// Visit every entry (in no particular order).
    pub fn for_each(&self, mut f: impl FnMut(&K, &V)) {
        for (k, v) in self.nodes.iter().filter_map(|n| n.entry.as_ref()) {
            f(k, v);
        }
    }

    /// Remove the least recently seen key (counted as an eviction): for tables bounded by
    /// something other than their key count, such as bytes.
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        if self.head == NIL {
            return None;
        }
        let kv = self.take(self.head)?;
        self.evictions += 1;
        Some(kv)
    }

    /// The value of `k` (created by `make` if absent, evicting the least recently seen key when
    /// the table is full), marked as seen at `now`.
    pub fn touch(&mut self, k: K, now: Ts, make: impl FnOnce() -> V) -> &mut V {
        self.touch_by(&k, now, || k.clone(), make)
    }

    /// [`Lru::touch`] looking the key up by a borrowed form (a `&str` for a `String` key):
    /// `key` makes the owned key only when it is new.
    pub fn touch_by<Q>(
        &mut self,
        q: &Q,
        now: Ts,
        key: impl FnOnce() -> K,
        make: impl FnOnce() -> V,
    ) -> &mut V
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = match self.map.get(q) {
            Some(&i) => {
                if self.tail != i {
                    self.unlink(i);
                    self.push_back(i);
                }
                let n = &mut self.nodes[i as usize];
                if now > n.last {
                    n.last = now;
                }
                i
            }
            None => {
                while self.map.len() >= self.max_keys && self.pop_oldest().is_some() {}
                let k = key();
                let node = Node {
                    entry: Some((k.clone(), make())),
                    last: now,
                    prev: NIL,
                    next: NIL,
                };
                let i = match self.free.pop() {
                    Some(i) => {
                        self.nodes[i as usize] = node;
                        i
                    }
                    None => {
                        self.nodes.push(node);
                        (self.nodes.len() - 1) as u32
                    }
                };
                self.map.insert(k, i);
                self.push_back(i);
                i
            }
        };
        match &mut self.nodes[i as usize].entry {
            Some((_, v)) => v,
            None => unreachable!("a key in the map has a live node"),
        }
    }

    /// The value of `k` without marking it seen.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let i = *self.map.get(k)?;
        self.nodes[i as usize].entry.as_mut().map(|(_, v)| v)
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        let i = *self.map.get(k)?;
        self.take(i).map(|(_, v)| v)
    }

    /// Drop the keys not seen for `idle_ns` (oldest first), giving each to `f`.
    pub fn expire_with(&mut self, now: Ts, idle_ns: u64, mut f: impl FnMut(K, V)) {
        while self.head != NIL {
            if now.since(self.nodes[self.head as usize].last) < idle_ns {
                break;
            }
            match self.take(self.head) {
                Some((k, v)) => f(k, v),
                None => break,
            }
        }
        // A table that emptied gives its memory back.
        if self.map.is_empty() && self.nodes.len() > 64 {
            self.nodes = Vec::new();
            self.free = Vec::new();
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::Lru;
    use crate::base::time::Ts;

    /// What the table must do, written the slow way: keys in a vector from least to most
    /// recently seen.
    #[derive(Default)]
    struct Model {
        keys: Vec<(u8, u32, Ts)>,
        evictions: u64,
    }

    #[derive(Debug, Clone)]
    enum Op {
        Touch(u8, u64),
        Remove(u8),
        Pop,
        Expire(u64, u64),
        Cap(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u8..12, 0u64..50).prop_map(|(k, t)| Op::Touch(k, t)),
            1 => (0u8..12).prop_map(Op::Remove),
            1 => Just(Op::Pop),
            1 => (0u64..60, 0u64..20).prop_map(|(t, i)| Op::Expire(t, i)),
            1 => (1usize..8).prop_map(Op::Cap),
        ]
    }

    proptest! {
        #[test]
        fn the_table_keeps_the_keys_a_list_in_touch_order_keeps(ops in prop::collection::vec(op(), 0..200)) {
            let mut lru: Lru<u8, u32> = Lru::new(5);
            let mut m = Model::default();
            let mut cap = 5;
            for (n, op) in ops.into_iter().enumerate() {
                let n = n as u32;
                match op {
                    Op::Touch(k, t) => {
                        let now = Ts(t);
                        let v = *lru.touch(k, now, || n);
                        match m.keys.iter().position(|e| e.0 == k) {
                            Some(i) => {
                                let mut e = m.keys.remove(i);
                                e.2 = e.2.max(now);
                                m.keys.push(e);
                            }
                            None => {
                                while m.keys.len() >= cap {
                                    m.keys.remove(0);
                                    m.evictions += 1;
                                }
                                m.keys.push((k, n, now));
                            }
                        }
                        prop_assert_eq!(v, m.keys.last().unwrap().1);
                    }
                    Op::Remove(k) => {
                        let want = m.keys.iter().position(|e| e.0 == k).map(|i| m.keys.remove(i).1);
                        prop_assert_eq!(lru.remove(&k), want);
                    }
                    Op::Pop => {
                        let want = if m.keys.is_empty() {
                            None
                        } else {
                            m.evictions += 1;
                            let e = m.keys.remove(0);
                            Some((e.0, e.1))
                        };
                        prop_assert_eq!(lru.pop_oldest(), want);
                    }
                    Op::Expire(t, idle) => {
                        let mut got = Vec::new();
                        lru.expire_with(Ts(t), idle, |k, v| got.push((k, v)));
                        let mut want = Vec::new();
                        while let Some(e) = m.keys.first() {
                            if Ts(t).since(e.2) < idle {
                                break;
                            }
                            let e = m.keys.remove(0);
                            want.push((e.0, e.1));
                        }
                        prop_assert_eq!(got, want);
                    }
                    Op::Cap(c) => {
                        cap = c;
                        lru.set_max_keys(c);
                        while m.keys.len() > cap {
                            m.keys.remove(0);
                            m.evictions += 1;
                        }
                    }
                }
                prop_assert_eq!(lru.len(), m.keys.len());
                prop_assert_eq!(lru.evictions, m.evictions);
                let mut seen = Vec::new();
                lru.for_each(|k, v| seen.push((*k, *v)));
                seen.sort();
                let mut want: Vec<(u8, u32)> = m.keys.iter().map(|e| (e.0, e.1)).collect();
                want.sort();
                prop_assert_eq!(seen, want);
            }
        }
    }
}

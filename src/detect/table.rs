//! Bounded per-key state: a map with a cap (`max_keys`) that evicts the least recently seen key
//! when full and counts what it evicted, and drops keys idle for longer than asked on `expire`.
//! Also the two small sliding-window counters the detectors keep per key.

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash};

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

/// A capped map ordered by last touch (least recently seen first): a hash table of slots in a
/// vector of nodes linked in touch order, so a touch is one lookup and a few index writes (no
/// ordered-tree insert and remove). The key is kept once, in its node: the table holds only
/// the slot's number and finds it by the node's key.
pub struct Lru<K, V> {
    map: hashbrown::HashTable<u32>,
    /// Seeded per process, as [`crate::base::fasthash`]: keys are chosen by the traffic.
    hasher: foldhash::fast::RandomState,
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

impl<K: Hash + Eq, V> Lru<K, V> {
    pub fn new(max_keys: usize) -> Self {
        Lru {
            map: hashbrown::HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
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
        if let Ok(e) = self.map.find_entry(self.hasher.hash_one(&k), |&j| j == i) {
            e.remove();
        }
        self.free.push(i);
        Some((k, v))
    }

    /// The slot holding the key that hashes as `hash` and that `is` accepts.
    fn slot(&self, hash: u64, is: impl Fn(&K) -> bool) -> Option<u32> {
        let nodes = &self.nodes;
        self.map
            .find(hash, |&j| {
                nodes[j as usize].entry.as_ref().is_some_and(|(k, _)| is(k))
            })
            .copied()
    }

    fn slot_of<Q>(&self, q: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.slot(self.hasher.hash_one(q), |k| k.borrow() == q)
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
        let hash = self.hasher.hash_one(&k);
        let found = self.slot(hash, |x| *x == k);
        let i = self.touch_at(found, hash, now, || k, make);
        self.value(i)
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
        let hash = self.hasher.hash_one(q);
        let found = self.slot(hash, |k| k.borrow() == q);
        let i = self.touch_at(found, hash, now, key, make);
        self.value(i)
    }

    /// The value of `k` marked as seen at `now`, when the key is there (nothing is made).
    pub fn seen<Q>(&mut self, k: &Q, now: Ts) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.slot_of(k)?;
        let i = self.touch_at(Some(i), 0, now, || unreachable!(), || unreachable!());
        Some(self.value(i))
    }

    /// [`Lru::touch`] for a key looked up by its parts (a tuple of `&str` for a tuple of
    /// `String`s): `parts` must hash as the key does (`(&str, u32)` as `(String, u32)`), `is`
    /// says whether a key is the one meant. Gives the key's slot, for [`Lru::at_slot`].
    pub fn touch_parts<Q: Hash + ?Sized>(
        &mut self,
        parts: &Q,
        is: impl Fn(&K) -> bool,
        now: Ts,
        key: impl FnOnce() -> K,
        make: impl FnOnce() -> V,
    ) -> u32 {
        let hash = self.hasher.hash_one(parts);
        let found = self.slot(hash, is);
        self.touch_at(found, hash, now, key, make)
    }

    /// The slot of the key `parts` and `is` name (see [`Lru::touch_parts`]).
    pub fn find_parts<Q: Hash + ?Sized>(&self, parts: &Q, is: impl Fn(&K) -> bool) -> Option<u32> {
        self.slot(self.hasher.hash_one(parts), is)
    }

    /// The value in slot `i`, when a key holds it. A slot is reused after its key goes: the
    /// caller that keeps a slot number checks that the value is still the one it meant.
    pub fn at_slot(&mut self, i: u32) -> Option<&mut V> {
        self.nodes
            .get_mut(i as usize)?
            .entry
            .as_mut()
            .map(|(_, v)| v)
    }

    /// Take the key in slot `i` out of the table.
    pub fn remove_slot(&mut self, i: u32) -> Option<V> {
        self.take_slot(i).map(|(_, v)| v)
    }

    /// [`Lru::remove_slot`], the key given back too (for its room).
    pub fn take_slot(&mut self, i: u32) -> Option<(K, V)> {
        self.nodes.get(i as usize)?.entry.as_ref()?;
        self.take(i)
    }

    fn value(&mut self, i: u32) -> &mut V {
        match &mut self.nodes[i as usize].entry {
            Some((_, v)) => v,
            None => unreachable!("a key in the map has a live node"),
        }
    }

    /// Mark slot `found` seen, or (`None`) put a new key whose hash is `hash` in a slot.
    fn touch_at(
        &mut self,
        found: Option<u32>,
        hash: u64,
        now: Ts,
        key: impl FnOnce() -> K,
        make: impl FnOnce() -> V,
    ) -> u32 {
        match found {
            Some(i) => {
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
                debug_assert_eq!(self.hasher.hash_one(&k), hash, "a key hashed as its parts");
                let node = Node {
                    entry: Some((k, make())),
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
                let (nodes, hasher) = (&self.nodes, &self.hasher);
                self.map
                    .insert_unique(hash, i, |&j| match &nodes[j as usize].entry {
                        Some((k, _)) => hasher.hash_one(k),
                        None => 0,
                    });
                self.push_back(i);
                i
            }
        }
    }

    /// The value of `k` without marking it seen.
    pub fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.slot_of(k)?;
        self.nodes[i as usize].entry.as_mut().map(|(_, v)| v)
    }

    pub fn remove<Q>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.slot_of(k)?;
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

    /// A key of owned strings is found by its borrowed parts (no copy to look it up), a slot
    /// names its key until the key goes, and a key put by its parts is found by its owned form.
    #[test]
    fn a_key_of_strings_is_found_by_its_parts_and_its_slot() {
        type K = (String, u32, String);
        let mut t: Lru<K, u32> = Lru::new(4);
        let is = |c: &'static str, n: u32, m: &'static str| {
            move |k: &K| k.0 == c && k.1 == n && k.2 == m
        };
        let a = t.touch_parts(
            &("call-a", 1u32, "INVITE"),
            is("call-a", 1, "INVITE"),
            Ts(1),
            || ("call-a".into(), 1, "INVITE".into()),
            || 10,
        );
        assert_eq!(
            t.find_parts(&("call-a", 1u32, "INVITE"), is("call-a", 1, "INVITE")),
            Some(a)
        );
        assert_eq!(
            t.find_parts(&("call-a", 2u32, "INVITE"), is("call-a", 2, "INVITE")),
            None
        );
        assert_eq!(
            t.find_parts(&("call-a", 1u32, "BYE"), is("call-a", 1, "BYE")),
            None
        );
        // The owned key's own lookup agrees with the parts' (they hash alike).
        assert_eq!(
            t.get_mut(&("call-a".into(), 1, "INVITE".into())),
            Some(&mut 10)
        );
        // Touching the same parts again finds the slot, and makes nothing.
        let again = t.touch_parts(
            &("call-a", 1u32, "INVITE"),
            is("call-a", 1, "INVITE"),
            Ts(2),
            || unreachable!("the key is there"),
            || unreachable!("the value is there"),
        );
        assert_eq!(again, a);
        assert_eq!(t.at_slot(a), Some(&mut 10));
        assert_eq!(t.remove_slot(a), Some(10));
        assert_eq!(t.at_slot(a), None, "a slot whose key went holds nothing");
        assert_eq!(t.remove_slot(a), None);
        assert_eq!(t.remove_slot(99), None, "a slot never made");
        assert!(t.is_empty());
        // The freed slot is reused by the next key: its value says whose it is now.
        t.touch(("call-b".into(), 7, "REGISTER".into()), Ts(3), || 20);
        let b = t.find_parts(&("call-b", 7u32, "REGISTER"), is("call-b", 7, "REGISTER"));
        assert_eq!(b, Some(a));
        assert_eq!(t.at_slot(a), Some(&mut 20));
        assert_eq!(
            t.find_parts(&("call-a", 1u32, "INVITE"), is("call-a", 1, "INVITE")),
            None
        );
    }

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

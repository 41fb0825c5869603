//! A compact JSON writer for EVE records: byte for byte what `serde_json::to_writer` writes (the
//! same escapes, key order, number forms), but quicker where records spend their bytes. Strings
//! are scanned eight bytes at a time for the three kinds of byte that need an escape (`"`, `\`,
//! control characters) and copied in runs; serde_json looks each byte up in a table and copies
//! fragment by fragment, which was a quarter of the correlator's instructions on SIP floods.
//! Integers use `itoa`, as serde_json does; floats are handed to serde_json itself, so their
//! shortest form is its own. In debug builds [`crate::output::eve::EveWriter`] checks every
//! record against serde_json.

use std::fmt::{self, Display};

use serde::ser::{self, Impossible, Serialize};

/// Why a record could not be written (a `Serialize` impl refused, or a map key is not a
/// string, a number or a bool: the cases serde_json refuses).
#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

fn key_must_be_a_string() -> Error {
    Error("key must be a string".into())
}

/// Append `value` as compact JSON to `out`. On error `out` holds part of the record.
pub fn to_vec<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Writer { out })
}

/// The serializer: everything goes straight into one growing buffer.
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes is `"`, `\` or below 0x20. (The classic "has a zero byte" and
/// "has a byte less than n" tricks: a borrow can mark a byte above a true hit, never create a
/// hit where there is none, so the yes/no answer is exact.)
#[inline(always)]
fn chunk_needs_escape(x: u64) -> bool {
    let quote = x ^ (LO * b'"' as u64);
    let slash = x ^ (LO * b'\\' as u64);
    let t = (x.wrapping_sub(LO * 0x20) & !x)
        | (quote.wrapping_sub(LO) & !quote)
        | (slash.wrapping_sub(LO) & !slash);
    t & HI != 0
}

/// The bytes serde_json escapes: `"`, `\\` and the control characters below 0x20.
static ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

#[inline(always)]
fn word_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

/// Whether any byte of `b` needs an escape: eight at a time (the last word overlapping the one
/// before it), byte by byte below eight.
#[inline]
fn any_escape(b: &[u8]) -> bool {
    if b.len() < 8 {
        return b.iter().fold(false, |acc, &c| acc | ESCAPE[c as usize]);
    }
    let mut i = 0;
    while i + 8 <= b.len() {
        if chunk_needs_escape(word_at(b, i)) {
            return true;
        }
        i += 8;
    }
    i < b.len() && chunk_needs_escape(word_at(b, b.len() - 8))
}

/// The escape serde_json writes for a byte that needs one.
fn push_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// The contents of a string (no quotes), escaped. Almost every string needs no escape and is
/// copied whole after one scan.
#[inline]
fn push_escaped(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    if any_escape(b) {
        push_escaped_slow(out, b);
    } else {
        out.extend_from_slice(b);
    }
}

#[cold]
fn push_escaped_slow(out: &mut Vec<u8>, b: &[u8]) {
    let mut start = 0; // the first byte not yet copied
    for (j, &c) in b.iter().enumerate() {
        if ESCAPE[c as usize] {
            out.extend_from_slice(&b[start..j]);
            push_escape(out, c);
            start = j + 1;
        }
    }
    out.extend_from_slice(&b[start..]);
}

#[inline]
fn push_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    push_escaped(out, s);
    out.push(b'"');
}

#[inline]
fn push_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// `[a,b,...]`, each element written by `each`.
#[inline]
fn push_list<T>(out: &mut Vec<u8>, v: &[T], each: impl Fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, x);
    }
    out.push(b']');
}

/// A float as serde_json writes it (its own shortest form; `null` when not finite).
fn push_float<F: Serialize>(out: &mut Vec<u8>, v: F) -> Result<(), Error> {
    serde_json::to_writer(out, &v).map_err(|e| Error(e.to_string()))
}

/// Escapes what a `Display` writes, fragment by fragment (serde_json's `collect_str`).
struct Escaping<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_escaped(self.0, s);
        Ok(())
    }
}

fn push_display<T: Display + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), Error> {
    out.push(b'"');
    fmt::write(&mut Escaping(out), format_args!("{v}"))
        .map_err(|_| Error("a Display implementation returned an error".into()))?;
    out.push(b'"');
    Ok(())
}

/// An object written field by field straight into a buffer, without serde's call per field:
/// for the records written most ([`crate::output::direct`]). A key is a literal, copied with its
/// quotes and colon; a value is written as [`to_vec`] writes it. What is written this way is
/// checked against serde_json in debug builds, as every record is.
pub struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    #[inline(always)]
    pub fn open(out: &'a mut Vec<u8>) -> Obj<'a> {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// `,"key":` (no comma before the first): the key is a literal, never a byte to escape.
    #[inline(always)]
    fn key(&mut self, key: &'static str) {
        debug_assert!(!any_escape(key.as_bytes()), "key {key:?} needs escaping");
        let out = &mut *self.out;
        out.reserve(key.len() + 4);
        if !std::mem::take(&mut self.first) {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
    }

    #[inline(always)]
    pub fn str(&mut self, key: &'static str, v: &str) {
        self.key(key);
        push_str(self.out, v);
    }

    /// A value the sensor made of bytes that never need an escape (a time, an address, a
    /// name of its own): copied without the scan for them (checked in debug builds).
    #[inline(always)]
    pub fn plain(&mut self, key: &'static str, v: &str) {
        debug_assert!(!any_escape(v.as_bytes()), "{key}: {v:?} needs escaping");
        self.key(key);
        let out = &mut *self.out;
        out.reserve(v.len() + 2);
        out.push(b'"');
        out.extend_from_slice(v.as_bytes());
        out.push(b'"');
    }

    /// The field when there is a value (`skip_serializing_if = "Option::is_none"`).
    #[inline(always)]
    pub fn opt_str(&mut self, key: &'static str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(key, v);
        }
    }

    #[inline(always)]
    pub fn int<I: itoa::Integer>(&mut self, key: &'static str, v: I) {
        self.key(key);
        push_int(self.out, v);
    }

    pub fn float(&mut self, key: &'static str, v: f64) -> Result<(), Error> {
        self.key(key);
        push_float(self.out, v)
    }

    /// Any other value, through its `Serialize`.
    pub fn value<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Error> {
        self.key(key);
        to_vec(self.out, v)
    }

    #[inline(always)]
    pub fn bool(&mut self, key: &'static str, v: bool) {
        self.key(key);
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// A list as the value of `key`, its elements written through the one returned.
    #[inline(always)]
    pub fn list(&mut self, key: &'static str) -> List<'_> {
        self.key(key);
        self.out.push(b'[');
        List {
            out: self.out,
            first: true,
        }
    }

    /// A list of integers.
    pub fn ints<I: itoa::Integer + Copy>(&mut self, key: &'static str, v: &[I]) {
        self.key(key);
        push_list(self.out, v, |out, n| push_int(out, *n));
    }

    /// A list of strings.
    pub fn strs<S: AsRef<str>>(&mut self, key: &'static str, v: &[S]) {
        self.key(key);
        push_list(self.out, v, |out, s| push_str(out, s.as_ref()));
    }

    /// An object as the value of `key`, written through the one returned.
    #[inline(always)]
    pub fn object(&mut self, key: &'static str) -> Obj<'_> {
        self.key(key);
        Obj::open(self.out)
    }

    #[inline(always)]
    pub fn close(self) {
        self.out.push(b'}');
    }
}

/// A list written element by element (see [`Obj::list`]).
pub struct List<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl List<'_> {
    /// The comma before every element but the first.
    #[inline(always)]
    fn next(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
    }

    /// A string as the next element.
    #[inline(always)]
    pub fn str(&mut self, v: &str) {
        self.next();
        push_str(self.out, v);
    }

    /// An object as the next element.
    #[inline(always)]
    pub fn object(&mut self) -> Obj<'_> {
        self.next();
        Obj::open(self.out)
    }

    #[inline(always)]
    pub fn close(self) {
        self.out.push(b']');
    }
}

/// An object, an array, or the object around an enum variant's content.
pub struct Compound<'a, 'b> {
    w: &'b mut Writer<'a>,
    first: bool,
    /// The closing bytes: `}`, `]`, or `]}` / `}}` after a variant's content.
    close: &'static [u8],
}

impl Compound<'_, '_> {
    #[inline]
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.w.out.push(b',');
        }
    }

    /// A struct's field: its name is a Rust identifier or a `rename` of this crate (a
    /// `&'static str`), never a byte to escape (checked in debug builds), so it is copied as it
    /// is with its quotes and colon, one reservation for all of it.
    #[inline]
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        debug_assert!(
            !any_escape(key.as_bytes()),
            "field name {key:?} needs escaping"
        );
        let out = &mut *self.w.out;
        out.reserve(key.len() + 4);
        if self.first {
            self.first = false;
        } else {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        value.serialize(&mut *self.w)
    }

    #[inline]
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut *self.w)
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.w.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// The integer methods of a serializer with an `int` method.
macro_rules! integers {
    () => {
        integers!(
            serialize_i8 i8, serialize_i16 i16, serialize_i32 i32, serialize_i64 i64,
            serialize_i128 i128, serialize_u8 u8, serialize_u16 u16, serialize_u32 u32,
            serialize_u64 u64, serialize_u128 u128
        );
    };
    ($($method:ident $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<(), Error> {
            self.int(v)
        }
    )*};
}

impl<'a> Writer<'a> {
    fn int<I: itoa::Integer>(&mut self, v: I) -> Result<(), Error> {
        push_int(self.out, v);
        Ok(())
    }

    fn open<'b>(&'b mut self, open: u8, close: &'static [u8]) -> Compound<'a, 'b> {
        self.out.push(open);
        Compound {
            w: self,
            first: true,
            close,
        }
    }

    /// `{"variant":` before an enum variant's content.
    fn variant_key(&mut self, variant: &str) {
        self.out.push(b'{');
        push_str(self.out, variant);
        self.out.push(b':');
    }
}

impl<'a, 'b> ser::Serializer for &'b mut Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'b>;
    type SerializeTuple = Compound<'a, 'b>;
    type SerializeTupleStruct = Compound<'a, 'b>;
    type SerializeTupleVariant = Compound<'a, 'b>;
    type SerializeMap = Compound<'a, 'b>;
    type SerializeStruct = Compound<'a, 'b>;
    type SerializeStructVariant = Compound<'a, 'b>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    integers!();
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        push_float(self.out, v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        push_float(self.out, v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        push_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        push_str(self.out, v);
        Ok(())
    }
    /// An array of numbers, as serde_json writes bytes.
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        push_list(self.out, v, |out, b| push_int(out, *b));
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        push_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.variant_key(variant);
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'b>, Error> {
        Ok(self.open(b'[', b"]"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a, 'b>, Error> {
        Ok(self.open(b'[', b"]"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, Error> {
        Ok(self.open(b'[', b"]"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, Error> {
        self.variant_key(variant);
        Ok(self.open(b'[', b"]}"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'b>, Error> {
        Ok(self.open(b'{', b"}"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a, 'b>, Error> {
        Ok(self.open(b'{', b"}"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'b>, Error> {
        self.variant_key(variant);
        Ok(self.open(b'{', b"}}"))
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        push_display(self.out, value)
    }
}

/// The array-like compounds: each element after a comma.
macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(KeyWriter { out: self.w.out })
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.w.out.push(b':');
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

/// The object-like compounds: each field a key and a value.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

/// A map key: strings as they are; numbers and bools in quotes; anything else refused (as
/// serde_json does).
struct KeyWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl KeyWriter<'_> {
    fn int<I: itoa::Integer>(self, v: I) -> Result<(), Error> {
        self.quoted(|o| {
            push_int(o, v);
            Ok(())
        })
    }

    fn quoted(self, f: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>) -> Result<(), Error> {
        self.out.push(b'"');
        f(self.out)?;
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(|o| {
            o.extend_from_slice(if v { b"true" } else { b"false" });
            Ok(())
        })
    }
    integers!();
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error("float key must be finite (got NaN or +/-inf)".into()));
        }
        self.quoted(|o| push_float(o, v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error("float key must be finite (got NaN or +/-inf)".into()));
        }
        self.quoted(|o| push_float(o, v))
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        push_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        push_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        push_display(self.out, value)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;
    use serde::Serialize;

    use super::to_vec;

    /// Our bytes and serde_json's for the same value.
    fn both<T: Serialize + ?Sized>(v: &T) -> (String, String) {
        let mut ours = Vec::new();
        to_vec(&mut ours, v).unwrap();
        (
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(v).unwrap(),
        )
    }

    fn same<T: Serialize + ?Sized>(v: &T) {
        let (ours, theirs) = both(v);
        assert_eq!(ours, theirs);
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        New(u8),
        Tuple(i32, String),
        Struct { a: Option<f64>, b: Vec<u16> },
    }

    #[derive(Serialize)]
    struct Inner {
        x: f32,
        #[serde(skip_serializing_if = "Option::is_none")]
        y: Option<u64>,
    }

    #[derive(Serialize)]
    struct Record<'a> {
        #[serde(rename = "event_type")]
        kind: &'a str,
        #[serde(flatten)]
        inner: Inner,
        shapes: Vec<Shape>,
        tuple: (bool, char, ()),
        bytes: &'a [u8],
        by_port: BTreeMap<u16, i64>,
        by_flag: BTreeMap<bool, u8>,
        big: (u128, i128),
        nothing: Option<String>,
        unit: (),
        empty: BTreeMap<String, u8>,
        floats: Vec<f64>,
        shown: std::net::Ipv6Addr,
        value: serde_json::Value,
    }

    #[test]
    fn every_shape_of_value_is_written_as_serde_json_writes_it() {
        let r = Record {
            kind: "sip",
            inner: Inner {
                x: 0.1,
                y: Some(u64::MAX),
            },
            shapes: vec![
                Shape::Unit,
                Shape::New(7),
                Shape::Tuple(-3, "t\"q".into()),
                Shape::Struct {
                    a: Some(f64::NAN),
                    b: vec![],
                },
            ],
            tuple: (true, '\u{1}', ()),
            bytes: &[0, 255, 10],
            by_port: [(5060, -1), (0, i64::MIN)].into_iter().collect(),
            by_flag: [(false, 1)].into_iter().collect(),
            big: (u128::MAX, i128::MIN),
            nothing: None,
            unit: (),
            empty: BTreeMap::new(),
            floats: vec![
                0.0,
                -0.0,
                1.0,
                1e21,
                1e-7,
                123.456,
                f64::INFINITY,
                f64::MIN_POSITIVE,
                0.179,
            ],
            shown: "2001:db8::1".parse().unwrap(),
            value: serde_json::json!({"k": [1, "two\n", null, {"z": 2.5}]}),
        };
        same(&r);
        let one: HashMap<String, String> = [("a\u{7f}\"".into(), "\u{0}é\u{1f}".into())]
            .into_iter()
            .collect();
        same(&one);
    }

    #[test]
    fn every_byte_that_needs_an_escape_gets_serde_jsons_escape() {
        for b in 0u8..=0x7f {
            let c = b as char;
            // At each offset of an eight-byte word, and in the tail after the words.
            for pad in 0..17 {
                let s = format!("{}{c}{}", "a".repeat(pad), "b".repeat(17 - pad));
                same(&s);
            }
        }
    }

    #[test]
    fn keys_that_are_not_strings_are_refused_as_serde_json_refuses_them() {
        let mut m: BTreeMap<Vec<u8>, u8> = BTreeMap::new();
        m.insert(vec![1], 1);
        assert!(to_vec(&mut Vec::new(), &m).is_err());
        assert!(serde_json::to_string(&m).is_err());
        let nan: HashMap<String, f64> = [("n".into(), f64::NAN)].into_iter().collect();
        same(&nan);
    }

    proptest! {
        #[test]
        fn any_string_is_written_as_serde_json_writes_it(s in "\\PC*|[\\x00-\\x7f]{0,40}") {
            let (ours, theirs) = both(&s);
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn any_float_is_written_as_serde_json_writes_it(f in any::<f64>(), g in any::<f32>()) {
            let (ours, theirs) = both(&(f, g));
            prop_assert_eq!(ours, theirs);
        }
    }
}

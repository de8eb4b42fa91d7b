//! The shared error and span helper of every section: [`ConfigError`] and
//! [`ConfigErrors`], the [`Errors`] collector that turns a span into file,
//! line and column, the checks of numbers, names and lists every section
//! uses ([`number_in`], [`valid_name`], [`names_of`], [`Errors::texts`],
//! [`Errors::asns`]), and the value shapes TOML allows in more than one
//! place ([`OneOrMany`], [`Scalar`], [`per_family`]).

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::{Path, PathBuf};

use mdc_bgp::family::Family;
use serde::Deserialize;
use toml::Spanned;

/// One thing wrong in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column, when the error has a place in the file.
    pub line: Option<(usize, usize)>,
    /// The field, e.g. `peer[2].remote-as`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.line {
            write!(f, ":{line}:{col}")?;
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.field, self.message)
        }
    }
}

/// Every error found in a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// Collects errors with their place in the file.
pub(super) struct Errors<'a> {
    file: &'a Path,
    text: &'a str,
    list: Vec<ConfigError>,
    /// What is valid but most likely not what was meant.
    warnings: Vec<ConfigError>,
}

impl<'a> Errors<'a> {
    /// No error yet in `text`, the contents of `file`.
    pub(super) fn new(file: &'a Path, text: &'a str) -> Errors<'a> {
        Errors { file, text, list: Vec::new(), warnings: Vec::new() }
    }

    /// A warning at `span`: the file is valid, but says something that is
    /// most likely not what was meant.
    pub(super) fn warn_at(
        &mut self,
        span: Option<Range<usize>>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        let w = self.error(span, field.into(), message.into());
        self.warnings.push(w);
    }

    /// The warnings, in the order of the file.
    pub(super) fn take_warnings(&mut self) -> Vec<ConfigError> {
        let mut w = std::mem::take(&mut self.warnings);
        w.sort_by_key(|e| e.line.unwrap_or((usize::MAX, 0)));
        w
    }

    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every error, in the order of the file (tables are read by name);
    /// those without a place last.
    pub(super) fn into_sorted(mut self) -> ConfigErrors {
        self.list.sort_by_key(|e| e.line.unwrap_or((usize::MAX, 0)));
        ConfigErrors(self.list)
    }

    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// An error at `span` (its start), or without a place.
    pub(super) fn at(
        &mut self,
        span: Option<Range<usize>>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        let e = self.error(span, field.into(), message.into());
        self.list.push(e);
    }

    /// A message placed at the start of `span` in this file.
    fn error(&self, span: Option<Range<usize>>, field: String, message: String) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            line: span.map(|s| self.line_col(s.start)),
            field,
            message,
        }
    }
}

/// `v` as a `T` if it is in `range`; else an error "N is out of range: `what`".
pub(super) fn number_in<T: TryFrom<i64>>(
    errors: &mut Errors<'_>,
    v: &Spanned<i64>,
    field: &str,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> Option<T> {
    let n = *v.get_ref();
    if range.contains(&n) {
        T::try_from(n).ok()
    } else {
        errors.at(Some(v.span()), field, format!("{n} is out of range: {what}"));
        None
    }
}

/// Names of prefix lists and policies.
pub(super) fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// What [`valid_name`] allows, for messages.
pub(super) const NAME_RULE: &str = "a name is letters, digits, '_', '.' and '-'";

/// "a, b" or "none", for messages.
pub(super) fn names_of<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = names.map(String::as_str).collect();
    if v.is_empty() { "none is defined".to_owned() } else { format!("defined: {}", v.join(", ")) }
}

/// The checks of values of more than one kind of section.
impl Errors<'_> {
    /// Parse every item of a one-or-many text value; `None` if any is bad
    /// (each bad one is reported) or, with `non_empty`, if there is none.
    pub(super) fn texts<T, E: fmt::Display>(
        &mut self,
        v: &Spanned<OneOrMany<String>>,
        field: &str,
        non_empty: bool,
        hint: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Option<Vec<T>> {
        let list = items(v, field);
        if list.is_empty() && non_empty {
            self.at(Some(v.span()), field, "needs at least one value");
            return None;
        }
        let mut out = Vec::with_capacity(list.len());
        let mut ok = true;
        for (span, f, text) in list {
            match parse(text) {
                Ok(x) => out.push(x),
                Err(e) => {
                    self.at(Some(span), f, format!("{e}{hint}"));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// AS numbers 1-4294967295, one or a list.
    pub(super) fn asns(&mut self, v: &Spanned<OneOrMany<i64>>, field: &str) -> Option<Vec<u32>> {
        let list = items(v, field);
        if list.is_empty() {
            self.at(Some(v.span()), field, "needs at least one AS number");
            return None;
        }
        let mut out = Vec::with_capacity(list.len());
        let mut ok = true;
        for (span, f, n) in list {
            match u32::try_from(*n) {
                Ok(a) if a != 0 => out.push(a),
                _ => {
                    self.at(Some(span), f, format!("{n} is out of range: an AS number is 1 to 4294967295"));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// A number 0-4294967295 (a metric, a local preference, a MED).
    pub(super) fn u32_value(&mut self, v: &Spanned<i64>, field: &str) -> Option<u32> {
        number_in::<u32>(self, v, field, 0..=4_294_967_295, "0 to 4294967295")
    }
}

/// The numbers given per family, in the order of the fields.
pub(super) fn per_family<'a>(
    v4: &'a Option<Spanned<i64>>,
    v6: &'a Option<Spanned<i64>>,
    evpn: &'a Option<Spanned<i64>>,
) -> impl Iterator<Item = (Family, &'a Spanned<i64>)> {
    [(Family::IPV4_UNICAST, v4), (Family::IPV6_UNICAST, v6), (Family::L2VPN_EVPN, evpn)]
        .into_iter()
        .filter_map(|(f, v)| v.as_ref().map(|v| (f, v)))
}

/// One value or a list of them; list items keep their place in the file.
#[derive(Debug)]
pub(super) enum OneOrMany<T> {
    One(T),
    Many(Vec<Spanned<T>>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, value};
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_str<E: Error>(self, s: &str) -> Result<Self::Value, E> {
                T::deserialize(value::StrDeserializer::<value::Error>::new(s))
                    .map(OneOrMany::One)
                    .map_err(E::custom)
            }
            fn visit_i64<E: Error>(self, n: i64) -> Result<Self::Value, E> {
                T::deserialize(value::I64Deserializer::<value::Error>::new(n))
                    .map(OneOrMany::One)
                    .map_err(E::custom)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element::<Spanned<T>>()? {
                    v.push(x);
                }
                Ok(OneOrMany::Many(v))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// Each item of a one-or-many value with its place and field name.
fn items<'a, T>(v: &'a Spanned<OneOrMany<T>>, field: &'a str) -> Vec<(Range<usize>, String, &'a T)> {
    match v.get_ref() {
        OneOrMany::One(x) => vec![(v.span(), field.to_owned(), x)],
        OneOrMany::Many(list) => {
            list.iter().enumerate().map(|(j, x)| (x.span(), format!("{field}[{j}]"), x.get_ref())).collect()
        }
    }
}

/// A string, an integer or a table (`maximum-paths = 4` or
/// `[bgp.maximum-paths]`, `add-path-send = "all"` or `4`).
#[derive(Debug)]
pub(super) enum Scalar<T> {
    Str(String),
    Int(i64),
    Table(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Scalar<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Scalar<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a string or a table")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(s.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Int(n))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Scalar::Table)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The keys of the file's top level (before any `[table]`).
const TOP_LEVEL_KEYS: &[&str] = &["router-id", "local-as", "originate", "listen-port"];

/// A TOML or serde message in the words of the file: no Rust type names,
/// the nearest key for a typo, and a hint for a top-level key written
/// inside a table.
pub(super) fn friendly(message: &str) -> String {
    let message = message.trim();
    if message.contains("untagged enum RawAs") {
        return "expected an AS number: 1-4294967295 or \"65000.10\", or \"internal\" or \"external\"".into();
    }
    if message.contains("untagged enum") {
        return "expected a number or one of the words this key takes".into();
    }
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, tail)) = rest.split_once('`')
    {
        return unknown_key(key, tail);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let expected = match expected {
            "i64" | "u64" | "u32" | "u16" | "u8" | "i32" => "a whole number",
            "a boolean" => "true or false",
            "a string" => "a string in quotes",
            "a sequence" => "a list in [ ]",
            "a map" | "struct" => "a table",
            other => other,
        };
        return format!("expected {expected}, found {found}");
    }
    message.to_string()
}

/// "unknown key": the nearest known key if one is close, and a hint when
/// the key belongs at the top of the file.
fn unknown_key(key: &str, tail: &str) -> String {
    let known: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    if TOP_LEVEL_KEYS.contains(&key) {
        return format!(
            "`{key}` is a top-level key, but it is written after a [table] header, so TOML puts it in that \
             table: move it above the first [table] or [[peer]]"
        );
    }
    let nearest = known.iter().map(|k| (distance(key, k), *k)).filter(|(d, _)| *d <= 3).min();
    let keys = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    match nearest {
        Some((_, k)) => format!("unknown key `{key}`: did you mean `{k}`? (the keys here: {keys})"),
        None if known.is_empty() => format!("unknown key `{key}`"),
        None => format!("unknown key `{key}`; the keys here: {keys}"),
    }
}

/// Edit distance, ignoring `-` and `_` (so `holdtime` is `hold-time`).
fn distance(a: &str, b: &str) -> usize {
    let clean = |s: &str| s.chars().filter(|c| *c != '-' && *c != '_').collect::<Vec<char>>();
    let (a, b) = (clean(a), clean(b));
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(usize::MAX) + usize::from(ca != cb);
            let del = prev.get(j + 1).copied().unwrap_or(usize::MAX) + 1;
            let ins = cur.get(j).copied().unwrap_or(usize::MAX) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

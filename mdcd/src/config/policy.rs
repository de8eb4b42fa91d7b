//! `[prefix-list.NAME]` and `[policy.NAME]`: prefix lists, policies and
//! their terms (the `match` conditions and `set` actions), and the
//! references to a policy from elsewhere (a peer's `import` and `export`).
//! The semantics are `mdc_bgp::policy`'s; this module only reads them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use mdc_bgp::community::{Community, ExtendedCommunity, LargeCommunity};
use mdc_bgp::policy::{
    AddressMatch, AsPathPrepend, AsPathRegex, ListSet, Match, NextHopChange, Policy, PrefixEntry, PrefixList,
    SetAction, Term, Verdict,
};
use serde::Deserialize;
use toml::Spanned;

use super::errors::{Errors, NAME_RULE, OneOrMany, Scalar, names_of, number_in, valid_name};

/// `[prefix-list.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawPrefixList {
    prefixes: Vec<Spanned<String>>,
}

/// `[policy.NAME]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawPolicy {
    default: Option<Spanned<String>>,
    #[serde(default)]
    term: Vec<Spanned<RawTerm>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTerm {
    name: Option<Spanned<String>>,
    #[serde(rename = "match")]
    conditions: Option<RawMatch>,
    set: Option<RawSet>,
    action: Option<Spanned<String>>,
}

type Texts = Option<Spanned<OneOrMany<String>>>;
type Numbers = Option<Spanned<OneOrMany<i64>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMatch {
    prefix: Texts,
    prefix_list: Texts,
    community: Texts,
    large_community: Texts,
    ext_community: Texts,
    as_path_contains: Numbers,
    origin_as: Numbers,
    as_path_length_min: Option<Spanned<i64>>,
    as_path_length_max: Option<Spanned<i64>>,
    as_path_regex: Texts,
    next_hop: Texts,
    peer: Texts,
    family: Texts,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSet {
    local_pref: Option<Spanned<i64>>,
    med: Option<Spanned<i64>>,
    next_hop: Option<Spanned<String>>,
    weight: Option<Spanned<i64>>,
    community_add: Texts,
    community_remove: Texts,
    community_replace: Texts,
    large_community_add: Texts,
    large_community_remove: Texts,
    large_community_replace: Texts,
    ext_community_add: Texts,
    ext_community_remove: Texts,
    ext_community_replace: Texts,
    as_path_prepend: Option<Spanned<Scalar<RawPrepend>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPrepend {
    asn: Spanned<i64>,
    count: Spanned<i64>,
}

const COMMUNITY_HINT: &str = "; expected \"AS:value\" (e.g. \"65000:100\") or one of no-export, no-advertise, \
     no-export-subconfed, blackhole, graceful-shutdown";

const LARGE_COMMUNITY_HINT: &str = ", e.g. \"65000:1:2\"";

const EXT_COMMUNITY_HINT: &str =
    "; the forms are \"rt:ASN:N\", \"rt:IPv4:N\", \"soo:ASN:N\" and \"soo:IPv4:N\", e.g. \"rt:65000:100\"";

/// `[prefix-list.NAME]`: every list, by name, with the entries that are
/// valid (each wrong one is reported).
pub(super) fn parse_prefix_lists(
    errors: &mut Errors<'_>,
    raw: &BTreeMap<Spanned<String>, Spanned<RawPrefixList>>,
) -> BTreeMap<String, Arc<PrefixList>> {
    let mut out = BTreeMap::new();
    for (name, list) in raw {
        let n = name.get_ref();
        let field = format!("prefix-list.{n}");
        if !valid_name(n) {
            errors.at(Some(name.span()), &field, format!("invalid name: {NAME_RULE}"));
        }
        if list.get_ref().prefixes.is_empty() {
            errors.at(
                Some(list.span()),
                format!("{field}.prefixes"),
                "needs at least one prefix, e.g. \"198.51.100.0/24 le 32\"",
            );
        }
        let mut entries = Vec::new();
        for (j, p) in list.get_ref().prefixes.iter().enumerate() {
            match p.get_ref().parse::<PrefixEntry>() {
                Ok(e) => entries.push(e),
                Err(e) => errors.at(Some(p.span()), format!("{field}.prefixes[{j}]"), e.to_string()),
            }
        }
        out.insert(n.clone(), Arc::new(PrefixList { name: n.clone(), entries }));
    }
    out
}

/// `[policy.NAME]`: every policy, by name; `lists` are the prefix lists its
/// terms may refer to.
pub(super) fn parse(
    errors: &mut Errors<'_>,
    raw: &BTreeMap<Spanned<String>, Spanned<RawPolicy>>,
    lists: &BTreeMap<String, Arc<PrefixList>>,
) -> BTreeMap<String, Arc<Policy>> {
    let mut out = BTreeMap::new();
    for (name, policy) in raw {
        let n = name.get_ref();
        let field = format!("policy.{n}");
        if !valid_name(n) {
            errors.at(Some(name.span()), &field, format!("invalid name: {NAME_RULE}"));
        }
        let policy = policy.get_ref();
        let default = match &policy.default {
            None => Verdict::Reject,
            Some(d) => d.get_ref().parse::<Verdict>().unwrap_or_else(|e| {
                errors.at(Some(d.span()), format!("{field}.default"), e.to_string());
                Verdict::Reject
            }),
        };
        let terms = policy
            .term
            .iter()
            .enumerate()
            .map(|(i, t)| term(errors, t.get_ref(), &format!("{field}.term[{i}]"), lists))
            .collect();
        out.insert(n.clone(), Arc::new(Policy { name: n.clone(), terms, default }));
    }
    out
}

/// One `[[policy.NAME.term]]`; `tf` is its field, `policy.NAME.term[i]`.
fn term(errors: &mut Errors<'_>, t: &RawTerm, tf: &str, lists: &BTreeMap<String, Arc<PrefixList>>) -> Term {
    let conditions = t.conditions.as_ref().map(|m| matches(errors, m, &format!("{tf}.match"), lists));
    let actions = t.set.as_ref().map(|s| sets(errors, s, &format!("{tf}.set")));
    let verdict = t.action.as_ref().and_then(|a| match a.get_ref().parse::<Verdict>() {
        Ok(v) => Some(v),
        Err(e) => {
            errors.at(Some(a.span()), format!("{tf}.action"), e.to_string());
            None
        }
    });
    if let Some(term_name) = &t.name
        && term_name.get_ref().trim().is_empty()
    {
        errors.at(Some(term_name.span()), format!("{tf}.name"), "must not be empty");
    }
    Term {
        name: t.name.as_ref().map(|n| n.get_ref().clone()),
        matches: conditions.unwrap_or_default(),
        sets: actions.unwrap_or_default(),
        verdict,
    }
}

/// A reference to a policy (a peer's `import`/`export`): the name of a
/// policy that exists.
pub(super) fn policy_ref(
    errors: &mut Errors<'_>,
    v: &Option<Spanned<String>>,
    field: String,
    policies: &BTreeMap<String, Arc<Policy>>,
) -> Option<String> {
    let v = v.as_ref()?;
    let name = v.get_ref();
    if policies.contains_key(name) {
        Some(name.clone())
    } else {
        errors.at(
            Some(v.span()),
            field,
            format!("no policy {name:?} is defined ({})", names_of(policies.keys())),
        );
        None
    }
}

/// The conditions of a term, in the order of [`RawMatch`]'s keys.
fn matches(
    errors: &mut Errors<'_>,
    m: &RawMatch,
    field: &str,
    lists: &BTreeMap<String, Arc<PrefixList>>,
) -> Vec<Match> {
    let f = |key: &str| format!("{field}.{key}");
    let mut out = Vec::new();
    if let Some(v) = &m.prefix {
        out.extend(errors.texts(v, &f("prefix"), true, "", str::parse::<PrefixEntry>).map(Match::Prefix));
    }
    if let Some(v) = &m.prefix_list {
        let found = errors.texts(v, &f("prefix-list"), true, "", |name: &str| {
            lists
                .get(name)
                .cloned()
                .ok_or_else(|| format!("no prefix-list {name:?} is defined ({})", names_of(lists.keys())))
        });
        out.extend(found.map(Match::PrefixList));
    }
    if let Some(v) = &m.community {
        out.extend(
            errors
                .texts(v, &f("community"), true, COMMUNITY_HINT, str::parse::<Community>)
                .map(Match::Community),
        );
    }
    if let Some(v) = &m.large_community {
        out.extend(
            errors
                .texts(v, &f("large-community"), true, LARGE_COMMUNITY_HINT, str::parse::<LargeCommunity>)
                .map(Match::LargeCommunity),
        );
    }
    if let Some(v) = &m.ext_community {
        out.extend(
            errors
                .texts(v, &f("ext-community"), true, EXT_COMMUNITY_HINT, str::parse::<ExtendedCommunity>)
                .map(Match::ExtCommunity),
        );
    }
    if let Some(v) = &m.as_path_contains {
        out.extend(errors.asns(v, &f("as-path-contains")).map(Match::AsPathContains));
    }
    if let Some(v) = &m.origin_as {
        out.extend(errors.asns(v, &f("origin-as")).map(Match::OriginAs));
    }
    out.extend(as_path_length(errors, m, &f));
    if let Some(v) = &m.as_path_regex {
        out.extend(
            errors.texts(v, &f("as-path-regex"), true, "", str::parse::<AsPathRegex>).map(Match::AsPathRegex),
        );
    }
    if let Some(v) = &m.next_hop {
        out.extend(errors.texts(v, &f("next-hop"), true, "", str::parse::<AddressMatch>).map(Match::NextHop));
    }
    if let Some(v) = &m.peer {
        out.extend(errors.texts(v, &f("peer"), true, "", str::parse::<AddressMatch>).map(Match::Peer));
    }
    if let Some(v) = &m.family {
        out.extend(errors.texts(v, &f("family"), true, "", mdc_bgp::policy::parse_family).map(Match::Family));
    }
    out
}

/// `as-path-length-min` and `-max` as one condition, if either is given
/// and both are valid; `f` names a key of the match.
fn as_path_length(errors: &mut Errors<'_>, m: &RawMatch, f: &dyn Fn(&str) -> String) -> Option<Match> {
    if m.as_path_length_min.is_none() && m.as_path_length_max.is_none() {
        return None;
    }
    let len = |errors: &mut Errors<'_>, v: &Option<Spanned<i64>>, key: &str| {
        v.as_ref().map(|v| errors.u32_value(v, &f(key)).map(|n| n as usize))
    };
    let min = len(errors, &m.as_path_length_min, "as-path-length-min");
    let max = len(errors, &m.as_path_length_max, "as-path-length-max");
    match (min, max, &m.as_path_length_max) {
        (Some(Some(lo)), Some(Some(hi)), Some(span)) if lo > hi => {
            errors.at(
                Some(span.span()),
                f("as-path-length-max"),
                format!("{hi} is less than as-path-length-min {lo}: no path could match"),
            );
            None
        }
        (Some(None), _, _) | (_, Some(None), _) => None,
        (min, max, _) => Some(Match::AsPathLength { min: min.flatten(), max: max.flatten() }),
    }
}

/// The set actions of a term, in a fixed order: local-pref, med, weight,
/// next-hop, then per kind of community replace, remove, add, and last
/// as-path-prepend.
fn sets(errors: &mut Errors<'_>, s: &RawSet, field: &str) -> Vec<SetAction> {
    let f = |key: &str| format!("{field}.{key}");
    let mut out = Vec::new();
    if let Some(v) = &s.local_pref {
        out.extend(errors.u32_value(v, &f("local-pref")).map(SetAction::LocalPref));
    }
    if let Some(v) = &s.med {
        out.extend(errors.u32_value(v, &f("med")).map(SetAction::Med));
    }
    if let Some(v) = &s.weight {
        out.extend(errors.u32_value(v, &f("weight")).map(SetAction::Weight));
    }
    if let Some(v) = &s.next_hop {
        match v.get_ref().parse::<NextHopChange>() {
            Ok(nh) => out.push(SetAction::NextHop(nh)),
            Err(e) => errors.at(Some(v.span()), f("next-hop"), e.to_string()),
        }
    }
    let communities = [&s.community_replace, &s.community_remove, &s.community_add];
    let c = list_sets::<Community>(errors, &f, "community", COMMUNITY_HINT, communities);
    out.extend(c.into_iter().map(SetAction::Community));
    let large = [&s.large_community_replace, &s.large_community_remove, &s.large_community_add];
    let l = list_sets::<LargeCommunity>(errors, &f, "large-community", LARGE_COMMUNITY_HINT, large);
    out.extend(l.into_iter().map(SetAction::LargeCommunity));
    let ext = [&s.ext_community_replace, &s.ext_community_remove, &s.ext_community_add];
    let x = list_sets::<ExtendedCommunity>(errors, &f, "ext-community", EXT_COMMUNITY_HINT, ext);
    out.extend(x.into_iter().map(SetAction::ExtCommunity));
    if let Some(v) = &s.as_path_prepend {
        out.extend(as_path_prepend(errors, v, &f("as-path-prepend")).map(SetAction::AsPathPrepend));
    }
    out
}

/// `KIND-replace`, `KIND-remove` and `KIND-add` of one kind of community,
/// in this order; `field` names a key of the set.
fn list_sets<T: std::str::FromStr<Err: fmt::Display>>(
    errors: &mut Errors<'_>,
    field: &dyn Fn(&str) -> String,
    kind: &str,
    hint: &str,
    [replace, remove, add]: [&Texts; 3],
) -> Vec<ListSet<T>> {
    let mut out = Vec::new();
    if let Some(v) = replace {
        out.extend(
            errors
                .texts(v, &field(&format!("{kind}-replace")), false, hint, str::parse::<T>)
                .map(ListSet::Replace),
        );
    }
    if let Some(v) = remove {
        out.extend(
            errors
                .texts(v, &field(&format!("{kind}-remove")), true, hint, str::parse::<T>)
                .map(ListSet::Remove),
        );
    }
    if let Some(v) = add {
        out.extend(
            errors.texts(v, &field(&format!("{kind}-add")), true, hint, str::parse::<T>).map(ListSet::Add),
        );
    }
    out
}

/// `as-path-prepend`: a count of our AS, as a number or a string, or
/// `{ asn = N, count = C }`.
fn as_path_prepend(
    errors: &mut Errors<'_>,
    v: &Spanned<Scalar<RawPrepend>>,
    field: &str,
) -> Option<AsPathPrepend> {
    let count = |errors: &mut Errors<'_>, n: &Spanned<i64>, field: &str| {
        number_in::<u8>(errors, n, field, 1..=10, "a count 1 to 10")
    };
    match v.get_ref() {
        Scalar::Int(n) => {
            count(errors, &Spanned::new(v.span(), *n), field).and_then(|c| AsPathPrepend::new(None, c).ok())
        }
        Scalar::Table(RawPrepend { asn, count: n }) => {
            let a =
                number_in::<u32>(errors, asn, &format!("{field}.asn"), 1..=4_294_967_295, "1 to 4294967295");
            let c = count(errors, n, &format!("{field}.count"));
            a.zip(c).and_then(|(a, c)| AsPathPrepend::new(Some(a), c).ok())
        }
        Scalar::Str(text) => match text.parse::<AsPathPrepend>() {
            Ok(p) => Some(p),
            Err(e) => {
                errors.at(Some(v.span()), field, format!("{e}, or a table {{ asn = 65001, count = 2 }}"));
                None
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{FULL, HEAD, errors, parse};
    use mdc_bgp::attr::{AttrValue, PathAttribute};
    use mdc_bgp::community::{Communities, Community};
    use mdc_bgp::family::Family;
    use mdc_bgp::policy::{Route, Verdict};

    #[test]
    fn a_configured_policy_runs() {
        let c = parse(FULL).unwrap();
        let attrs =
            vec![PathAttribute::new(AttrValue::Communities(Communities(vec![Community::new(65000, 100)])))];
        let route = Route {
            family: Family::IPV4_UNICAST,
            prefix: Some("198.51.100.7/32".parse().unwrap()),
            peer: Some("192.0.2.2".parse().unwrap()),
            attributes: &attrs,
            next_hop: None,
            weight: 0,
        };
        let out = c.policies["from-upstream"].evaluate(&route, c.local_as);
        assert_eq!((out.verdict, out.term), (Verdict::Accept, Some(0)));
        let got: Vec<&AttrValue> = out.attributes(&route).iter().map(|a| &a.value).collect();
        assert_eq!(
            got,
            vec![
                &AttrValue::LocalPref(200),
                &AttrValue::Communities(Communities(vec![Community::new(65010, 1)]))
            ]
        );
    }

    #[test]
    fn unknown_match_and_set_keys_name_the_key_and_the_allowed_ones() {
        let e =
            errors(&format!("{HEAD}[policy.p]\n[[policy.p.term]]\nmatch = {{ comunity = \"65000:1\" }}\n"));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(e[0].starts_with("mdcd.toml:5:11:"), "{}", e[0]);
        assert!(
            e[0].contains("unknown key `comunity`: did you mean `community`?")
                && e[0].contains("`community`"),
            "{}",
            e[0]
        );
        assert!(e[0].contains("`as-path-regex`"), "lists the allowed keys: {}", e[0]);

        let e = errors(&format!("{HEAD}[policy.p]\n[[policy.p.term]]\nset = {{ localpref = 1 }}\n"));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(
            e[0].contains("unknown key `localpref`: did you mean `local-pref`?")
                && e[0].contains("`local-pref`"),
            "{}",
            e[0]
        );

        let e = errors(&format!(
            "{HEAD}[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 1\n[peer.max-prefix]\nipv4 = 1\n"
        ));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(e[0].starts_with("mdcd.toml:7:1:") && e[0].contains("`ipv4-unicast`"), "{}", e[0]);
    }
}

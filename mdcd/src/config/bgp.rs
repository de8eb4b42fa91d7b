//! `[bgp]`: the options of the whole speaker — RFC 8212, the decision
//! process (MED), multipath (`maximum-paths`, per family or not) and the
//! route reflection cluster id.

use std::net::Ipv4Addr;

use mdc_bgp::family::Family;
use serde::Deserialize;
use toml::Spanned;

use super::errors::{Errors, Scalar, number_in, per_family};

/// `[bgp]`: options of the whole speaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpOptions {
    /// RFC 8212 (default on, as FRR): an eBGP peer without an import
    /// policy accepts nothing, without an export policy is sent nothing.
    pub ebgp_requires_policy: bool,
    /// Compare MED between paths from different neighbouring ASes.
    pub always_compare_med: bool,
    /// A path without MED loses to any path with one (else it counts as 0).
    pub missing_med_worst: bool,
    /// How many equal paths per family are installed (ECMP); 1: none.
    pub maximum_paths: MaximumPaths,
    /// ECMP across paths from different neighbouring ASes (same length).
    pub multipath_relax: bool,
    /// Route reflection cluster id (RFC 4456); the router id unless set.
    pub cluster_id: Ipv4Addr,
}

/// ECMP paths per family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaximumPaths {
    /// For families not listed.
    pub default: u16,
    pub per_family: Vec<(Family, u16)>,
}

impl MaximumPaths {
    pub fn get(&self, family: Family) -> u16 {
        self.per_family.iter().find(|(f, _)| *f == family).map_or(self.default, |(_, n)| *n)
    }
}

/// The largest `maximum-paths`.
pub const MAX_ECMP_PATHS: u16 = 64;

/// `[bgp]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawBgp {
    ebgp_requires_policy: Option<bool>,
    #[serde(default)]
    always_compare_med: bool,
    #[serde(default)]
    missing_med_worst: bool,
    maximum_paths: Option<Spanned<Scalar<RawFamilyNumbers>>>,
    #[serde(default)]
    multipath_relax: bool,
    cluster_id: Option<Spanned<String>>,
}

/// A number per family (`[bgp.maximum-paths]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFamilyNumbers {
    ipv4_unicast: Option<Spanned<i64>>,
    ipv6_unicast: Option<Spanned<i64>>,
    l2vpn_evpn: Option<Spanned<i64>>,
}

/// `[bgp]`, its defaults without one; the cluster id defaults to the router id.
pub(super) fn parse(
    errors: &mut Errors<'_>,
    raw: Option<&RawBgp>,
    router_id: Option<Ipv4Addr>,
) -> Option<BgpOptions> {
    let Some(raw) = raw else {
        return router_id.map(|id| BgpOptions {
            ebgp_requires_policy: true,
            always_compare_med: false,
            missing_med_worst: false,
            maximum_paths: MaximumPaths { default: 1, per_family: Vec::new() },
            multipath_relax: false,
            cluster_id: id,
        });
    };
    let maximum_paths = maximum_paths(errors, raw.maximum_paths.as_ref());
    let cluster_id = cluster_id(errors, raw.cluster_id.as_ref(), router_id);
    Some(BgpOptions {
        ebgp_requires_policy: raw.ebgp_requires_policy.unwrap_or(true),
        always_compare_med: raw.always_compare_med,
        missing_med_worst: raw.missing_med_worst,
        maximum_paths: maximum_paths?,
        multipath_relax: raw.multipath_relax,
        cluster_id: cluster_id?,
    })
}

/// `maximum-paths`: a number for every family, or a table of them per
/// family (1 for the others); 1 without it.
fn maximum_paths(
    errors: &mut Errors<'_>,
    v: Option<&Spanned<Scalar<RawFamilyNumbers>>>,
) -> Option<MaximumPaths> {
    let paths = |errors: &mut Errors<'_>, v: &Spanned<i64>, field: &str| {
        number_in::<u16>(
            errors,
            v,
            field,
            1..=i64::from(MAX_ECMP_PATHS),
            &format!("1 to {MAX_ECMP_PATHS} paths"),
        )
    };
    let Some(v) = v else { return Some(MaximumPaths { default: 1, per_family: Vec::new() }) };
    match v.get_ref() {
        Scalar::Int(n) => paths(errors, &Spanned::new(v.span(), *n), "bgp.maximum-paths")
            .map(|default| MaximumPaths { default, per_family: Vec::new() }),
        Scalar::Table(t) => {
            let mut per_family = Vec::new();
            let mut ok = true;
            for (family, n) in per_family_numbers(t) {
                match paths(errors, n, &format!("bgp.maximum-paths.{family}")) {
                    Some(n) => per_family.push((family, n)),
                    None => ok = false,
                }
            }
            ok.then_some(MaximumPaths { default: 1, per_family })
        }
        Scalar::Str(_) => {
            errors.at(
                Some(v.span()),
                "bgp.maximum-paths",
                format!(
                    "expected a number of paths 1 to {MAX_ECMP_PATHS}, or a table of them per family \
                     (ipv4-unicast, ipv6-unicast, l2vpn-evpn)"
                ),
            );
            None
        }
    }
}

/// `cluster-id` (RFC 4456), the router id without it.
fn cluster_id(
    errors: &mut Errors<'_>,
    v: Option<&Spanned<String>>,
    router_id: Option<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    let Some(c) = v else { return router_id };
    match c.get_ref().parse::<Ipv4Addr>() {
        Ok(id) if !id.is_unspecified() => Some(id),
        _ => {
            errors.at(
                Some(c.span()),
                "bgp.cluster-id",
                "expected a non-zero IPv4 address, e.g. \"192.0.2.10\" (default: the router-id)",
            );
            None
        }
    }
}

fn per_family_numbers(t: &RawFamilyNumbers) -> impl Iterator<Item = (Family, &Spanned<i64>)> {
    per_family(&t.ipv4_unicast, &t.ipv6_unicast, &t.l2vpn_evpn)
}

//! The keys before any table: `router-id`, `local-as`, `originate` and
//! `listen-port`. Sections after them use what is valid here: the cluster id
//! defaults to the router id, a peer is eBGP or iBGP by `local-as`.

use std::net::Ipv4Addr;

use mdc_bgp::nlri::Prefix;
use toml::Spanned;

use super::RawConfig;
use super::errors::{Errors, number_in};

/// The BGP port.
pub const BGP_PORT: u16 = 179;

/// The top-level keys; a wrong one is `None` (a wrong prefix is left out of
/// `originate`), with its error reported.
pub(super) struct Global {
    pub(super) router_id: Option<Ipv4Addr>,
    pub(super) local_as: Option<u32>,
    pub(super) originate: Vec<Prefix>,
    pub(super) listen_port: Option<u16>,
}

/// The top-level keys of `raw`.
pub(super) fn parse(errors: &mut Errors<'_>, raw: &RawConfig) -> Global {
    Global {
        router_id: router_id(errors, &raw.router_id),
        local_as: local_as(errors, &raw.local_as),
        originate: originate(errors, &raw.originate),
        listen_port: listen_port(errors, raw.listen_port.as_ref()),
    }
}

fn router_id(errors: &mut Errors<'_>, raw: &Spanned<String>) -> Option<Ipv4Addr> {
    match raw.get_ref().parse::<Ipv4Addr>() {
        Ok(id) if !id.is_unspecified() => Some(id),
        _ => {
            errors.at(Some(raw.span()), "router-id", "expected a non-zero IPv4 address, e.g. \"192.0.2.1\"");
            None
        }
    }
}

/// An AS number other than AS_TRANS.
fn local_as(errors: &mut Errors<'_>, raw: &Spanned<i64>) -> Option<u32> {
    let local_as = number_in::<u32>(errors, raw, "local-as", 1..=4_294_967_295, "1 to 4294967295");
    if local_as == Some(u32::from(mdc_bgp::aspath::AS_TRANS as u16)) {
        errors.at(Some(raw.span()), "local-as", "23456 is AS_TRANS (RFC 6793) and cannot be a local AS");
    }
    local_as
}

/// The prefixes to originate; each wrong one is reported and left out.
fn originate(errors: &mut Errors<'_>, raw: &[Spanned<String>]) -> Vec<Prefix> {
    let mut originate = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        match p.get_ref().parse::<Prefix>() {
            // Host bits are an error, not cleared: "198.51.100.77/24" for an
            // Elastic IP would announce 256 addresses.
            Ok(prefix) if !has_no_host_bits(p.get_ref(), &prefix) => errors.at(
                Some(p.span()),
                format!("originate[{i}]"),
                format!(
                    "{} has host bits set: the prefix is {prefix}, the single address {}/{}",
                    p.get_ref().trim(),
                    p.get_ref().trim().split('/').next().unwrap_or_default(),
                    if prefix.addr().is_ipv4() { 32 } else { 128 }
                ),
            ),
            Ok(prefix) if originate.contains(&prefix) => {
                errors.warn_at(Some(p.span()), format!("originate[{i}]"), format!("{prefix} is listed twice"))
            }
            Ok(prefix) => originate.push(prefix),
            Err(e) => errors.at(
                Some(p.span()),
                format!("originate[{i}]"),
                format!("{e}; expected e.g. \"198.51.100.0/24\""),
            ),
        }
    }
    originate
}

/// The address written before the `/` is the prefix's own (no host bits).
fn has_no_host_bits(text: &str, prefix: &Prefix) -> bool {
    let addr = text.trim().split('/').next().unwrap_or_default();
    addr.parse::<std::net::IpAddr>().is_ok_and(|a| a == prefix.addr())
}

fn listen_port(errors: &mut Errors<'_>, raw: Option<&Spanned<i64>>) -> Option<u16> {
    match raw {
        Some(v) => number_in::<u16>(errors, v, "listen-port", 1..=65535, "1 to 65535"),
        None => Some(BGP_PORT),
    }
}

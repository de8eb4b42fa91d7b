//! The mdcd configuration file (TOML), validated as a whole before anything
//! starts.
//!
//! ```toml
//! router-id = "192.0.2.1"
//! local-as = 65001
//! originate = ["198.51.100.0/24", "2001:db8:100::/48"]
//!
//! [[peer]]
//! address = "192.0.2.2"          # or: interface = "eth0" (IPv6 link-local, RFC 8950)
//! remote-as = 65002              # or "internal" / "external"
//! password = "secret"            # TCP-MD5 (RFC 2385)
//! multihop = 2                   # eBGP multihop TTL; excludes gtsm
//! hold-time = 9
//! send-hold-time = 60            # RFC 9687; default max(480, 2 x hold-time)
//! extended-nexthop = true        # RFC 8950: IPv4 routes with IPv6 next hops
//! families = ["ipv4-unicast", "ipv6-unicast"]
//! import = "from-upstream"       # policy names; under RFC 8212 (default) an
//! export = "to-upstream"         # eBGP peer without one accepts/sends nothing
//! next-hop-self = true
//! ipv6-next-hop = "2001:db8::1"  # default: the global address of the session's interface
//! soft-reconfiguration-inbound = true
//! add-path-send = "all"          # or N (best N); add-path-receive = true
//! # route-reflector-client = true  (iBGP only)
//! # enforce-first-as = false       (eBGP, default true: paths must start with the peer's AS)
//! [peer.max-prefix]              # Cease/1 (RFC 4486) above a limit
//! ipv4-unicast = 1000
//! restart-after = 30             # seconds; absent: down until reset/reload
//!
//! [bgp]                          # all optional
//! ebgp-requires-policy = true
//! maximum-paths = 4              # or [bgp.maximum-paths] ipv4-unicast = 4 ...
//! multipath-relax = false
//! always-compare-med = false
//! missing-med-worst = false
//! cluster-id = "192.0.2.10"      # default: router-id
//!
//! [fib]                          # installing the best paths in the kernel
//! install = true                 # default false: BGP only
//! table = 254                    # 1-4294967295 except 253 and 255; 254 is main
//! metric = 20                    # the routes' metric (priority), as FRR's BGP routes
//! graceful-restart = false       # true: routes stay when mdcd stops or dies, and
//! restart-time = 120             # the next start adopts them, removing the rest once
//!                                # every peer sent End-of-RIB or after restart-time s
//!
//! [prefix-list.customers]
//! prefixes = ["198.51.100.0/24 le 32", "2001:db8:100::/48"]
//!
//! [policy.from-upstream]
//! default = "reject"             # or "accept"
//! [[policy.from-upstream.term]]
//! name = "customers"
//! match = { prefix-list = "customers", community = ["65000:100"] }
//! set = { local-pref = 200, community-add = ["65010:1"] }
//! action = "accept"              # absent: apply `set`, go on to the next term
//!
//! [api]
//! socket = "/run/mdcd/mdcd.sock"  # mode 0600: root only
//! ```
//!
//! Match keys: prefix, prefix-list, community, large-community,
//! ext-community, as-path-contains, origin-as, as-path-length-min,
//! as-path-length-max, as-path-regex, next-hop, peer, family (one value or a
//! list: any matches; all keys of a term must match). Set keys, applied in
//! this order: local-pref, med, weight, next-hop (address or "self"), then
//! for community, large-community and ext-community `-replace` (`[]`
//! strips), `-remove`, `-add`, and last as-path-prepend (a count 1-10 of our
//! AS, or `{ asn = N, count = C }`). See `mdc_bgp::policy` for the semantics.
//!
//! Every error names the file, line, column, field and what is allowed;
//! all errors in a file are reported at once, in the order of the file.
//!
//! # Modules
//!
//! This module owns [`Config`], the raw file (`RawConfig`: the top-level
//! keys and one field per section) and [`Config::parse`], a short driver
//! that reads each section in turn, after the sections it refers to. Each
//! section is a module that owns its raw serde structs, its validated types
//! and its `parse`:
//!
//! - `global`: the top-level keys (`router-id`, `local-as`, `originate`,
//!   `listen-port`);
//! - `bgp`: `[bgp]`;
//! - `fib`: `[fib]`;
//! - `policy`: `[prefix-list.NAME]`, `[policy.NAME]` and the references to
//!   a policy;
//! - `peer`: `[[peer]]`, one function per concern;
//! - `api`: `[api]`;
//! - `errors`: the shared error and span helper: [`ConfigError`],
//!   [`ConfigErrors`], the `Errors` collector that turns a span into line
//!   and column, and the checks and value shapes every section uses;
//! - `tests`: tests of the whole file (a section's own tests are at the
//!   bottom of its module).
//!
//! A check across sections is made by the later one, which gets what it
//! needs from the earlier as an argument: the cluster id defaults to the
//! router id (`bgp`), a policy's terms name prefix lists (`policy`), a
//! peer's `import`/`export` name policies and `route-reflector-client`
//! needs `local-as` (`peer`).
//!
//! # Adding a section
//!
//! A section, say `[evpn]`, is one new file, `config/evpn.rs`, and four
//! lines here:
//!
//! 1. `evpn.rs`: a doc comment saying what it owns; the raw struct as
//!    written, `RawEvpn`, with `#[serde(deny_unknown_fields, rename_all =
//!    "kebab-case")]` and its values in `toml::Spanned` so that an error has
//!    a place; the validated public type, `Evpn`; and
//!    `pub(super) fn parse(errors: &mut Errors<'_>, raw: Option<&RawEvpn>)
//!    -> Option<Evpn>`, which gives the defaults without the section,
//!    reports each mistake with `errors.at(Some(span), "evpn.key", "what is
//!    allowed")` and returns `None` if the section cannot be used. If it
//!    needs an earlier section, that is a further argument (as
//!    `bgp::parse` takes the router id). Its tests at the bottom, with the
//!    helpers of `tests` (`parse`, `errors`).
//! 2. `mod evpn;` and `pub use self::evpn::Evpn;` here.
//! 3. A field in `RawConfig`: `evpn: Option<RawEvpn>`; for an array of
//!    tables (`[[vni]]`) `#[serde(default)] vni: Vec<Spanned<RawVni>>`, and
//!    `parse` returns the valid ones (as `peer::parse`); for named tables
//!    (`[x.NAME]`) a `BTreeMap<Spanned<String>, Spanned<RawX>>` (as
//!    `policy::parse`).
//! 4. One line in [`Config::parse`], `let evpn = evpn::parse(&mut errors,
//!    raw.evpn.as_ref());`, and the field `pub evpn: Evpn` in [`Config`]
//!    (with `Some(evpn)` in its final check).
//!
//! Errors are sorted by their place in the file at the end: the order of
//! the driver only matters for what a section needs from another.

mod api;
mod bgp;
mod errors;
mod fib;
mod global;
mod peer;
mod policy;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mdc_bgp::nlri::Prefix;
use mdc_bgp::policy::{Policy, PrefixList};
use serde::Deserialize;
use toml::Spanned;

pub use self::api::DEFAULT_API_SOCKET;
use self::api::RawApi;
use self::bgp::RawBgp;
pub use self::bgp::{BgpOptions, MAX_ECMP_PATHS, MaximumPaths};
use self::errors::Errors;
pub use self::errors::{ConfigError, ConfigErrors};
pub use self::fib::FibOptions;
use self::fib::RawFib;
pub use self::global::BGP_PORT;
use self::global::Global;
use self::peer::RawPeer;
pub use self::peer::{
    AddPathSend, DEFAULT_CONNECT_RETRY, DEFAULT_HOLD_TIME, MAX_ADD_PATH_SEND, MAX_PASSWORD_LEN, MaxPrefix,
    PeerAddress, PeerConfig, RemoteAs,
};
use self::policy::{RawPolicy, RawPrefixList};

/// RFC 8212: an eBGP peer without an import (export) policy is sent
/// (accepted from) nothing while `ebgp-requires-policy` is on, as FRR does.
/// Valid, but worth a word at `--check` and at start.
fn rfc8212_warnings(
    errors: &mut Errors<'_>,
    raw: &[toml::Spanned<peer::RawPeer>],
    peers: &[PeerConfig],
    local_as: u32,
    requires_policy: bool,
) {
    if !requires_policy {
        return;
    }
    for (i, (p, r)) in peers.iter().zip(raw).enumerate() {
        if !p.is_ebgp(local_as) {
            continue;
        }
        let missing: Vec<&str> = [("import", &p.import), ("export", &p.export)]
            .into_iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k)
            .collect();
        let what = match missing.as_slice() {
            ["import", "export"] => "nothing will be accepted from it or sent to it",
            ["import"] => "nothing will be accepted from it",
            ["export"] => "nothing will be sent to it",
            _ => continue,
        };
        errors.warn_at(
            Some(r.span()),
            format!("peer[{i}]"),
            format!(
                "an eBGP peer without {} policy: {what} (RFC 8212; set {} = \"POLICY\", or [bgp] ebgp-requires-policy = false)",
                missing.join(" or "),
                missing.join(" / ")
            ),
        );
    }
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// What is valid but most likely not meant (duplicates, RFC 8212), to
    /// say at `--check`, start and reload.
    pub warnings: Vec<ConfigError>,
    pub router_id: Ipv4Addr,
    pub local_as: u32,
    pub peers: Vec<PeerConfig>,
    pub originate: Vec<Prefix>,
    /// The API socket (root only): mdcctl reads state and resets sessions through it.
    pub api_socket: PathBuf,
    /// TCP port to listen on for BGP (179).
    pub listen_port: u16,
    /// `[bgp]`: decision process, multipath, route reflection, RFC 8212.
    pub bgp: BgpOptions,
    /// `[fib]`.
    pub fib: FibOptions,
    /// `[prefix-list.NAME]`, by name (already resolved into the policies
    /// that use them; kept for `show`).
    pub prefix_lists: BTreeMap<String, Arc<PrefixList>>,
    /// `[policy.NAME]`, by name; peers refer to them with `import` and
    /// `export`.
    pub policies: BTreeMap<String, Arc<Policy>>,
}

/// The file as written: the top-level keys, and each section as its
/// module's raw type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    router_id: Spanned<String>,
    local_as: Spanned<i64>,
    #[serde(default)]
    originate: Vec<Spanned<String>>,
    #[serde(default)]
    peer: Vec<Spanned<RawPeer>>,
    api: Option<RawApi>,
    listen_port: Option<Spanned<i64>>,
    bgp: Option<RawBgp>,
    fib: Option<RawFib>,
    #[serde(default)]
    prefix_list: BTreeMap<Spanned<String>, Spanned<RawPrefixList>>,
    #[serde(default)]
    policy: BTreeMap<Spanned<String>, Spanned<RawPolicy>>,
}

impl Config {
    /// Read and validate a file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: None,
                field: String::new(),
                message: format!("cannot read: {e}"),
            }])
        })?;
        Config::parse(path, &text)
    }

    /// Validate the text of a file; `path` is only used in messages. Each
    /// section is read in turn, after those it refers to, and every error
    /// is collected: a `Config` only if there is none.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        let mut errors = Errors::new(path, text);
        let raw: RawConfig = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let message = errors::friendly(e.message());
                errors.at(e.span(), "", message);
                return Err(errors.into_sorted());
            }
        };

        let global = global::parse(&mut errors, &raw);
        let bgp = bgp::parse(&mut errors, raw.bgp.as_ref(), global.router_id);
        let fib = fib::parse(&mut errors, raw.fib.as_ref());
        let prefix_lists = policy::parse_prefix_lists(&mut errors, &raw.prefix_list);
        let policies = policy::parse(&mut errors, &raw.policy, &prefix_lists);
        let peers = peer::parse(&mut errors, &raw.peer, global.local_as, global.router_id, &policies);
        let api_socket = api::parse(&mut errors, raw.api.as_ref());

        let Global { router_id, local_as, originate, listen_port } = global;
        let (
            Some(router_id),
            Some(local_as),
            Some(listen_port),
            Some(bgp),
            Some(fib),
            Some(api_socket),
            true,
        ) = (router_id, local_as, listen_port, bgp, fib, api_socket, errors.is_empty())
        else {
            return Err(errors.into_sorted());
        };
        rfc8212_warnings(&mut errors, &raw.peer, &peers, local_as, bgp.ebgp_requires_policy);
        let warnings = errors.take_warnings();
        Ok(Config {
            router_id,
            local_as,
            peers,
            originate,
            api_socket,
            listen_port,
            bgp,
            fib,
            prefix_lists,
            policies,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests;

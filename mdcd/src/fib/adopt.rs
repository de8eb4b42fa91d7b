//! When a graceful start ends: the initial tables (peer, family) whose
//! End-of-RIB the FIB waits for before it removes what an earlier run left
//! and BGP did not learn again (RFC 4724 §4.2: the restarting speaker
//! defers its route selection until it received End-of-RIB from its
//! peers). Pure; the daemon feeds it End-of-RIBs and its deadline.
//!
//! - Only a graceful start that found routes of an earlier run waits at
//!   all (after a reboot the table is empty: nothing to keep).
//! - A configured peer's IPv4 and IPv6 unicast tables count (the families
//!   the FIB installs), unless the peer cannot have given any kept route:
//!   a single-hop eBGP peer is the gateway of the routes it gives, so one
//!   that is the gateway of no kept route (e.g. a Cilium peer whose node
//!   was not up yet) is not waited for. Peers whose routes are recursive
//!   (iBGP, multihop) cannot be told apart this way and are waited for.
//! - Unnumbered peers are found on their link later: `restart-time`
//!   covers them.

use std::collections::BTreeSet;
use std::net::IpAddr;

use mdc_bgp::family::Family;

use crate::config::{Config, PeerAddress};

/// The initial tables a graceful start still waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    waiting: BTreeSet<(IpAddr, Family)>,
    /// Configured peers not waited for, and why.
    skipped: Vec<(IpAddr, &'static str)>,
    /// End-of-RIBs may have been missed (the daemon's subscription lagged):
    /// only the deadline can end the wait.
    missed: bool,
}

impl Adoption {
    /// What a graceful start with `config` waits for, having found routes
    /// of an earlier run through `gateways`.
    pub fn new(config: &Config, gateways: &BTreeSet<IpAddr>) -> Adoption {
        let mut waiting = BTreeSet::new();
        let mut skipped = Vec::new();
        for p in &config.peers {
            let PeerAddress::Ip(ip) = p.address else { continue };
            let single_hop_ebgp = p.is_ebgp(config.local_as) && p.multihop.is_none_or(|m| m == 1);
            if single_hop_ebgp && !gateways.contains(&ip) {
                skipped.push((ip, "none of the kept routes goes through it"));
                continue;
            }
            for f in &p.families {
                if *f == Family::IPV4_UNICAST || *f == Family::IPV6_UNICAST {
                    waiting.insert((ip, *f));
                }
            }
        }
        Adoption { waiting, skipped, missed: false }
    }

    /// Configured peers not waited for, and why.
    pub fn not_waited_for(&self) -> &[(IpAddr, &'static str)] {
        &self.skipped
    }

    /// The tables still awaited, as `show fib` lists them.
    pub fn tables(&self) -> Vec<String> {
        self.waiting.iter().map(|(p, f)| format!("{p} {f}")).collect()
    }

    /// The tables still awaited, in one line.
    pub fn describe(&self) -> String {
        self.tables().join(", ")
    }

    /// `peer` sent End-of-RIB for `family`; true once nothing is left.
    pub fn end_of_rib(&mut self, peer: IpAddr, family: Family) -> bool {
        self.waiting.remove(&(peer, family));
        self.done()
    }

    /// Some End-of-RIBs may have gone unseen.
    pub fn missed_some(&mut self) {
        self.missed = true;
    }

    pub fn done(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The tables still awaited, in order.
    pub fn waiting(&self) -> impl Iterator<Item = &(IpAddr, Family)> {
        self.waiting.iter()
    }

    /// The log line when `restart-time` (`secs`) passed first.
    pub fn expired(&self, secs: u64) -> String {
        let missing: Vec<String> = self.waiting.iter().map(|(p, f)| format!("{p} {f}")).collect();
        format!(
            "fib: restart time ({secs} s) passed with {} initial tables missing ({}){}",
            missing.len(),
            missing.join(", "),
            if self.missed { "; some session events were missed" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(text: &str) -> Config {
        Config::parse(std::path::Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
    }

    const TWO_PEERS: &str = r#"
router-id = "192.0.2.1"
local-as = 65001
[fib]
install = true
graceful-restart = true
[[peer]]
address = "192.0.2.2"
remote-as = 65002
families = ["ipv4-unicast", "ipv6-unicast", "l2vpn-evpn"]
import = "all"
export = "all"
[[peer]]
address = "2001:db8::3"
remote-as = 65003
import = "all"
export = "all"
[[peer]]
interface = "eth9"
remote-as = "external"
import = "all"
export = "all"
[policy.all]
default = "accept"
"#;

    fn gateways(list: &[&str]) -> BTreeSet<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    /// Both single-hop eBGP peers are gateways of kept routes.
    fn all() -> BTreeSet<IpAddr> {
        gateways(&["192.0.2.2", "2001:db8::3"])
    }

    #[test]
    fn waits_for_every_address_peers_unicast_tables_only() {
        let a = Adoption::new(&config(TWO_PEERS), &all());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let waiting: Vec<(IpAddr, Family)> = a.waiting().copied().collect();
        assert!(waiting.contains(&(ip("192.0.2.2"), Family::IPV4_UNICAST)));
        assert!(waiting.contains(&(ip("192.0.2.2"), Family::IPV6_UNICAST)));
        assert!(!waiting.iter().any(|(_, f)| *f == Family::L2VPN_EVPN), "the FIB installs no EVPN routes");
        assert!(waiting.iter().any(|(p, _)| *p == ip("2001:db8::3")));
        assert!(!a.done());
    }

    #[test]
    fn done_when_the_last_end_of_rib_arrives_and_says_what_was_missing() {
        let mut a = Adoption::new(&config(TWO_PEERS), &all());
        let all: Vec<(IpAddr, Family)> = a.waiting().copied().collect();
        let (last, before) = all.split_last().unwrap();
        for (p, f) in before {
            assert!(!a.end_of_rib(*p, *f));
        }
        assert!(!a.end_of_rib(last.0, Family::L2VPN_EVPN), "another family's End-of-RIB does not count");
        let line = a.expired(120);
        assert!(line.contains("1 initial tables missing") && line.contains(&last.0.to_string()), "{line}");
        a.missed_some();
        assert!(a.expired(120).contains("missed"));
        assert!(a.end_of_rib(last.0, last.1));
        assert!(a.done());
    }

    #[test]
    fn no_peer_nothing_to_wait_for() {
        let a = Adoption::new(&config("router-id = \"192.0.2.1\"\nlocal-as = 65001\n"), &all());
        assert!(a.done());
    }

    /// A single-hop eBGP peer that is the gateway of no kept route (a
    /// Cilium node not up in the earlier run) gave none of them: not waited
    /// for, and said why. iBGP and multihop peers are always waited for.
    #[test]
    fn only_peers_that_can_have_given_a_kept_route_are_waited_for() {
        let text = TWO_PEERS.replace(
            "[policy.all]",
            "[[peer]]\naddress = \"192.0.2.10\"\nremote-as = 65001\n\
             [[peer]]\naddress = \"203.0.113.9\"\nremote-as = 65009\nmultihop = 2\nimport = \"all\"\nexport = \"all\"\n\
             [policy.all]",
        );
        let a = Adoption::new(&config(&text), &gateways(&["192.0.2.2"]));
        let peers: BTreeSet<String> = a.waiting().map(|(p, _)| p.to_string()).collect();
        assert_eq!(peers, ["192.0.2.10", "192.0.2.2", "203.0.113.9"].map(String::from).into());
        assert_eq!(a.not_waited_for(), &[(ip("2001:db8::3"), "none of the kept routes goes through it")]);
        assert_eq!(
            a.describe(),
            "192.0.2.2 ipv4-unicast, 192.0.2.2 ipv6-unicast, 192.0.2.10 ipv4-unicast, 203.0.113.9 ipv4-unicast"
        );
        // Nothing through any peer (only blackholes kept): iBGP and
        // multihop peers still count.
        let a = Adoption::new(&config(&text), &BTreeSet::new());
        assert_eq!(a.not_waited_for().len(), 2);
        assert!(!a.done());
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
}

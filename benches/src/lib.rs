//! Deterministic generators of BGP messages for the benchmarks.
//!
//! Everything here is seeded: the same call always builds the same bytes,
//! so runs are comparable across machines and commits.

use std::net::{Ipv4Addr, Ipv6Addr};

use mdc_bgp::SessionContext;
use mdc_bgp::aspath::AsPath;
use mdc_bgp::attr::{AttrValue, MpNlri, MpReach, NextHop, Origin, PathAttribute};
use mdc_bgp::community::{Communities, Community, LargeCommunities, LargeCommunity};
use mdc_bgp::family::Family;
use mdc_bgp::nlri::{Ipv4Prefix, Ipv6Prefix, Nlri, Prefix};
use mdc_bgp::update::Update;

/// xorshift64*: small, fast, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// IPv4 prefix lengths in roughly the proportions of the global table
/// (about 60% /24, 20% /22-/23, the rest /8-/21).
pub fn ipv4_prefix_len(rng: &mut Rng) -> u8 {
    match rng.below(100) {
        0..=59 => 24,
        60..=71 => 22,
        72..=79 => 23,
        80..=87 => 20 + rng.below(2) as u8,
        88..=95 => 16 + rng.below(4) as u8,
        _ => 8 + rng.below(8) as u8,
    }
}

/// IPv6 prefix lengths: mostly /48, then /32, /40, /44, /36, /29.
pub fn ipv6_prefix_len(rng: &mut Rng) -> u8 {
    match rng.below(100) {
        0..=49 => 48,
        50..=64 => 32,
        65..=74 => 44,
        75..=84 => 40,
        85..=92 => 36,
        _ => 29,
    }
}

pub fn ipv4_prefixes(n: usize, seed: u64) -> Vec<Nlri> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let len = ipv4_prefix_len(&mut rng);
            let addr = Ipv4Addr::from((rng.next_u64() as u32) | 0x0100_0000);
            Nlri::new(Prefix::V4(Ipv4Prefix::new(addr, len).unwrap_or_else(|_| unreachable!())))
        })
        .collect()
}

pub fn ipv6_prefixes(n: usize, seed: u64) -> Vec<Nlri> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let len = ipv6_prefix_len(&mut rng);
            let hi = 0x2000_0000_0000_0000u64 | (rng.next_u64() >> 4);
            let addr = Ipv6Addr::from(u128::from(hi) << 64);
            Nlri::new(Prefix::V6(Ipv6Prefix::new(addr, len).unwrap_or_else(|_| unreachable!())))
        })
        .collect()
}

/// A realistic attribute set: ORIGIN, an AS path of 2-8 ASNs (mean about
/// 4.5), NEXT_HOP, MED sometimes, communities sometimes, a large community
/// sometimes.
pub fn attributes(rng: &mut Rng, next_hop: Option<Ipv4Addr>) -> Vec<PathAttribute> {
    let hops = 2 + rng.below(3) as usize + rng.below(4) as usize;
    let asns: Vec<u32> =
        (0..hops).map(|i| if i == 0 { 64500 } else { 1 + rng.below(400_000) as u32 }).collect();
    let mut attrs = vec![
        PathAttribute::new(AttrValue::Origin(if rng.below(10) == 0 {
            Origin::Incomplete
        } else {
            Origin::Igp
        })),
        PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(asns))),
    ];
    if let Some(nh) = next_hop {
        attrs.push(PathAttribute::new(AttrValue::NextHop(nh)));
    }
    if rng.below(3) == 0 {
        attrs.push(PathAttribute::new(AttrValue::MultiExitDisc(rng.below(1000) as u32)));
    }
    if rng.below(2) == 0 {
        let n = 1 + rng.below(6) as usize;
        let list = (0..n).map(|_| Community::new(64500, rng.below(65535) as u16)).collect();
        attrs.push(PathAttribute::new(AttrValue::Communities(Communities(list))));
    }
    if rng.below(5) == 0 {
        let lc =
            LargeCommunity { global: 64500, local1: rng.below(100) as u32, local2: rng.below(1000) as u32 };
        attrs.push(PathAttribute::new(AttrValue::LargeCommunities(LargeCommunities(vec![lc]))));
    }
    attrs
}

/// (a) One IPv4 UPDATE with `n` prefixes in the classic NLRI field.
pub fn ipv4_update(n: usize) -> Vec<u8> {
    let mut rng = Rng::new(7);
    let u = Update {
        withdrawn: vec![],
        attributes: attributes(&mut rng, Some(Ipv4Addr::new(192, 0, 2, 1))),
        nlri: ipv4_prefixes(n, 11),
    };
    one_message(&u, &SessionContext::modern())
}

/// (b) One UPDATE with MP_REACH_NLRI carrying `n` IPv6 prefixes.
pub fn ipv6_update(n: usize) -> Vec<u8> {
    let mut rng = Rng::new(13);
    let mut attrs = attributes(&mut rng, None);
    attrs.insert(
        0,
        PathAttribute::new(AttrValue::MpReach(Box::new(MpReach {
            family: Family::IPV6_UNICAST,
            next_hop: NextHop::V6 {
                global: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
                link_local: Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            },
            nlri: MpNlri::Prefixes(ipv6_prefixes(n, 17)),
        }))),
    );
    one_message(&Update { withdrawn: vec![], attributes: attrs, nlri: vec![] }, &SessionContext::modern())
}

fn one_message(u: &Update, ctx: &SessionContext) -> Vec<u8> {
    let mut msgs = u.encode(ctx).unwrap_or_default();
    assert_eq!(msgs.len(), 1, "benchmark message does not fit one UPDATE");
    msgs.pop().unwrap_or_default()
}

/// (d) A synthetic full table: `n` IPv4 prefixes in UPDATEs of 1 to 8
/// prefixes that share an attribute set (mean 4.5, as in a real table
/// dump), then End-of-RIB. Returns the messages.
pub fn full_table_ipv4(n: usize) -> Vec<Vec<u8>> {
    let ctx = SessionContext::modern();
    let mut rng = Rng::new(23);
    let prefixes = ipv4_prefixes(n, 29);
    let mut out = Vec::with_capacity(n / 4);
    let mut rest = prefixes.as_slice();
    while !rest.is_empty() {
        let take = (1 + rng.below(8) as usize).min(rest.len());
        let (group, tail) = rest.split_at(take);
        rest = tail;
        let u = Update {
            withdrawn: vec![],
            attributes: attributes(&mut rng, Some(Ipv4Addr::new(192, 0, 2, 1))),
            nlri: group.to_vec(),
        };
        out.extend(u.encode(&ctx).unwrap_or_default());
    }
    out.extend(Update::end_of_rib_marker(Family::IPV4_UNICAST).encode(&ctx).unwrap_or_default());
    out
}

/// The session context of an EVPN session: 4-octet AS and the EVPN codec.
pub fn evpn_context() -> SessionContext {
    SessionContext::modern().with_family_codec(mdc_evpn::family_codec())
}

/// (c) One EVPN UPDATE with `n` type-2 MAC/IP routes (IPv4, one label, VNI
/// 100), next hop the VTEP, RT and VXLAN encapsulation communities, as FRR
/// sends them.
pub fn evpn_update(n: usize) -> Vec<u8> {
    use mdc_bgp::attr::OpaqueNlri;
    use mdc_bgp::community::{ExtendedCommunities, ExtendedCommunity};
    use mdc_evpn::{Esi, EvpnRoute, Label, MacAddress, MacIpAdvertisementRoute, RouteDistinguisher};

    let rd = RouteDistinguisher::Ipv4 { addr: Ipv4Addr::new(192, 0, 2, 1), number: 2 };
    let label = Label::from_vni(100).unwrap_or_else(|| unreachable!());
    let nlri = (0..n)
        .map(|i| {
            let [_, _, a, b] = (i as u32).to_be_bytes();
            let route = EvpnRoute::MacIpAdvertisement(MacIpAdvertisementRoute {
                rd,
                esi: Esi::ZERO,
                ethernet_tag: 0,
                mac: MacAddress([0x02, 0, 0, 0, a, b]),
                ip: Some(std::net::IpAddr::V4(Ipv4Addr::new(198, 51, a, b))),
                label1: label,
                label2: None,
            });
            OpaqueNlri { path_id: None, bytes: route.to_bytes().into() }
        })
        .collect();
    let attrs = vec![
        PathAttribute::new(AttrValue::MpReach(Box::new(MpReach {
            family: Family::L2VPN_EVPN,
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            nlri: MpNlri::Typed(nlri),
        }))),
        PathAttribute::new(AttrValue::Origin(Origin::Igp)),
        PathAttribute::new(AttrValue::AsPath(AsPath::from_sequence(vec![65001]))),
        PathAttribute::new(AttrValue::ExtendedCommunities(ExtendedCommunities(vec![
            ExtendedCommunity::route_target_as2(65001, 100),
            ExtendedCommunity::vxlan_encapsulation(),
        ]))),
    ];
    one_message(&Update { withdrawn: vec![], attributes: attrs, nlri: vec![] }, &evpn_context())
}

pub mod race;
pub mod rib_feed;
pub mod table;

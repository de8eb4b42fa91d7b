//! The RIB's feed as the benchmarks give it: a synthetic full table as
//! feeder `k` sends it, a RIB with its peers up, and the loop that applies
//! the UPDATEs and flushes every 128 as the speaker does. Shared by the
//! criterion benchmark (`benches/rib.rs`) and `rib-instructions` (an
//! instruction count under callgrind, which noise does not move).

use std::net::Ipv4Addr;
use std::sync::Arc;

use mdc_bgp::SessionContext;
use mdc_bgp::aspath::AsPath;
use mdc_bgp::attr::AttrValue;
use mdc_bgp::fsm::{PeerConfig, RemoteAs};
use mdc_bgp::negotiate::negotiate;
use mdc_bgp::rib::{Digest, PeerId, PeerPolicy, Rib, RibConfig, SessionInfo};
use mdc_bgp::update::Update;

use crate::full_table_ipv4;

/// Prefixes in the table.
pub const N: usize = 1_000_000;

pub fn session(asn: u32, id: Ipv4Addr, local: Ipv4Addr) -> SessionInfo {
    let ours = PeerConfig::new(65000, RemoteAs::Exact(asn), Ipv4Addr::new(192, 0, 2, 254));
    let theirs = PeerConfig::new(asn, RemoteAs::Exact(65000), id);
    let negotiated = negotiate(&ours, &ours.open(), &theirs.open()).unwrap_or_else(|e| panic!("{e:?}"));
    SessionInfo { negotiated: Arc::new(negotiated), local: local.into(), generation: 1, ipv6_next_hop: None }
}

/// The table as feeder `k` sends it: the generator's attributes with the
/// feeder's AS in front, prepended `k % 3` more times so the best path
/// differs between feeders.
pub fn feed(k: u32) -> Vec<Update> {
    let ctx = SessionContext::modern();
    full_table_ipv4(N)
        .iter()
        .map(|m| Update::decode_message(m, &ctx).unwrap_or_else(|e| panic!("{e}")).update)
        .map(|mut u| {
            for a in &mut u.attributes {
                if let AttrValue::AsPath(p) = &mut a.value {
                    let mut asns = vec![65001 + k; 1 + (k % 3) as usize];
                    asns.extend(p.segments.iter().flat_map(|s| s.asns.iter().copied()));
                    *p = AsPath::from_sequence(asns);
                }
                if let AttrValue::NextHop(nh) = &mut a.value {
                    *nh = Ipv4Addr::new(192, 0, 2, 1 + k as u8);
                }
            }
            u
        })
        .collect()
}

/// A RIB with `feeders` feeding peers and one monitor, sessions up; with
/// `fib`, each flush also reports the kernel changes (`Output::Fib`), as
/// in mdcd with `[fib] install = true`.
pub fn rib(feeders: u32, fib: bool) -> (Rib, Vec<PeerId>) {
    rib_with(feeders, fib, None)
}

/// [`rib`], with an export policy towards the monitor.
pub fn rib_with(
    feeders: u32,
    fib: bool,
    monitor_export: Option<std::sync::Arc<dyn mdc_bgp::rib::RoutePolicy>>,
) -> (Rib, Vec<PeerId>) {
    let mut rib = Rib::new(RibConfig {
        ebgp_requires_policy: false,
        fib,
        ..RibConfig::new(65000, Ipv4Addr::new(192, 0, 2, 254))
    });
    let mut ids = Vec::new();
    for k in 0..feeders {
        let addr = Ipv4Addr::new(192, 0, 2, 1 + k as u8);
        let id = rib.add_peer(PeerPolicy::new(addr.into()));
        rib.peer_up(id, session(65001 + k, addr, Ipv4Addr::new(192, 0, 2, 254)));
        ids.push(id);
    }
    let mut policy = PeerPolicy::new(Ipv4Addr::new(198, 51, 100, 1).into());
    policy.export = monitor_export;
    let monitor = rib.add_peer(policy);
    rib.peer_up(monitor, session(65100, Ipv4Addr::new(198, 51, 100, 1), Ipv4Addr::new(198, 51, 100, 254)));
    rib.flush();
    (rib, ids)
}

pub fn run(rib: &mut Rib, ids: &[PeerId], feeds: Vec<Vec<Digest>>) -> usize {
    let mut out = 0;
    for (id, updates) in ids.iter().zip(feeds) {
        let mut n = 0;
        for u in updates {
            rib.apply(*id, u);
            n += 1;
            if n % 128 == 0 {
                out += rib.flush().len();
            }
        }
        out += rib.flush().len();
    }
    out
}

//! Shared helpers for the mdc fuzz targets: the session contexts a target
//! decodes under, chosen by the first input byte.
//!
//! Targets that take a selector byte (`message`, `update`, `roundtrip`)
//! read it with [`split_context`]; the rest of the input is the bytes a peer
//! would send. `fuzz/seed.sh` prepends these bytes to the golden vectors.

use mdc_bgp::context::Sender;
use mdc_bgp::{Afi, Family, SessionContext};

/// Number of distinct contexts; the selector byte is taken modulo this.
pub const CONTEXTS: u8 = 8;

/// The session context for selector `sel` (taken modulo [`CONTEXTS`]):
///
/// | sel | context |
/// |-----|---------|
/// | 0 | `SessionContext::modern()` (4-octet AS) |
/// | 1 | `SessionContext::default()` (2-octet AS, AS4_PATH merging) |
/// | 2 | modern + extended message (RFC 8654) |
/// | 3 | modern + ADD-PATH for IPv4 and IPv6 unicast (RFC 7911) |
/// | 4 | modern + extended next hop: IPv4 unicast over IPv6 (RFC 8950) |
/// | 5 | modern + EVPN codec registered |
/// | 6 | modern + EVPN codec + ADD-PATH for EVPN |
/// | 7 | 2-octet AS + extended message + ADD-PATH v4/v6/EVPN + extended next hop + EVPN codec, received from an eBGP peer (the sender's checks: AS 4200000000, our address 192.0.2.1, not on our link) |
pub fn context(sel: u8) -> SessionContext {
    let evpn = mdc_evpn::family_codec();
    let enh = vec![(Family::IPV4_UNICAST, Afi::IPV6)];
    match sel % CONTEXTS {
        0 => SessionContext::modern(),
        1 => SessionContext::default(),
        2 => SessionContext { extended_message: true, ..SessionContext::modern() },
        3 => SessionContext::modern().with_add_path(Family::IPV4_UNICAST).with_add_path(Family::IPV6_UNICAST),
        4 => SessionContext { extended_next_hop: enh, ..SessionContext::modern() },
        5 => SessionContext::modern().with_family_codec(evpn),
        6 => SessionContext::modern().with_family_codec(evpn).with_add_path(Family::L2VPN_EVPN),
        _ => SessionContext { extended_message: true, extended_next_hop: enh, ..SessionContext::default() }
            .with_add_path(Family::IPV4_UNICAST)
            .with_add_path(Family::IPV6_UNICAST)
            .with_add_path(Family::L2VPN_EVPN)
            .with_family_codec(evpn)
            .with_sender(Sender {
                external: true,
                peer_as: 4_200_000_000,
                enforce_first_as: true,
                local_address: Some(std::net::IpAddr::from([192, 0, 2, 1])),
                direct: false,
            }),
    }
}

/// Split the selector byte off `data`: the context and the rest.
pub fn split_context(data: &[u8]) -> Option<(SessionContext, &[u8])> {
    let (&sel, rest) = data.split_first()?;
    Some((context(sel), rest))
}

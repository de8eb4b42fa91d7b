//! The checks of an UPDATE that depend on who sent it (RFC 4271 §6.3,
//! RFC 5065 §5, RFC 7606 §7): a well-formed attribute can still be wrong
//! from this peer. Run by [`Update::decode_body`] when the context names a
//! [`Sender`]; each failure is one [`Diagnostic`] and the strongest action
//! wins, as for malformed attributes.
//!
//! | what | from | → |
//! | --- | --- | --- |
//! | LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST, well-formed or not (RFC 7606 §7.5, §7.9, §7.10) | external peer | attribute discard |
//! | AS_CONFED_SEQUENCE / AS_CONFED_SET in AS_PATH (RFC 5065 §5) | external peer | treat-as-withdraw |
//! | first AS not the peer's, or empty AS_PATH (RFC 4271 §6.3, with `enforce_first_as`) | external peer | treat-as-withdraw |
//! | NEXT_HOP (for classic NLRI) not a usable unicast address, or ours (RFC 4271 §6.3) | any peer | treat-as-withdraw |
//! | MP_REACH_NLRI next hop likewise, IPv4 or IPv6 (RFC 4760 §3, RFC 2545 §3) | any peer | treat-as-withdraw |
//!
//! Not usable as a next hop: IPv4 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4
//! (multicast) and 240.0.0.0/4 (class E, with the broadcast address); IPv6
//! `::`, `::1` and ff00::/8; our end of the session; and an IPv6 next hop
//! with only a link-local address from a peer that is not on our link. A
//! loopback next hop is usable on a session that itself runs over loopback
//! (two speakers on one host, e.g. a node-local agent): it names this host.
//! RFC 4271 says the route "SHOULD be ignored": we withdraw it (RFC 7606's
//! treat-as-withdraw), so an earlier announcement of the prefix from this
//! peer goes too, as BIRD does.
//!
//! [`Update::decode_body`]: crate::wire::update::Update::decode_body

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::aspath::{AS_TRANS, AsPath};
use crate::wire::attr::{NextHop, code};
use crate::wire::context::Sender;
use crate::wire::error::{DecodeError, ErrorKind};
use crate::wire::notification::update_subcode;
use crate::wire::rfc7606::{Action, Diagnostic};

/// Attributes an external peer must not send: discarded however they look
/// (RFC 7606 §7.5, RFC 4456 §8).
pub const NOT_FROM_EXTERNAL: &[u8] = &[code::LOCAL_PREF, code::ORIGINATOR_ID, code::CLUSTER_LIST];

/// The diagnostic for an attribute in [`NOT_FROM_EXTERNAL`], or `None`
/// when `sender` may send this one. `at` is the attribute's first byte.
pub(crate) fn refused_attribute(sender: &Sender, type_code: u8, at: usize) -> Option<Diagnostic> {
    (sender.external && NOT_FROM_EXTERNAL.contains(&type_code)).then(|| Diagnostic {
        action: Action::AttributeDiscard,
        attribute: Some(type_code),
        family: None,
        subcode: update_subcode::MALFORMED_ATTRIBUTE_LIST,
        error: DecodeError::new(
            at,
            "path attribute",
            ErrorKind::Invalid("not accepted from an external peer"),
        ),
    })
}

/// What the checks need of the UPDATE: the AS path and the next hops that
/// carry routes, each with the offset of its value in the message.
#[derive(Debug, Default)]
pub(crate) struct Announced<'a> {
    /// The AS_PATH as sent (not merged with AS4_PATH).
    pub as_path: Option<(&'a AsPath, usize)>,
    /// The NEXT_HOP attribute, when classic NLRI are announced.
    pub next_hop: Option<(Ipv4Addr, usize)>,
    /// The MP_REACH_NLRI next hop, when it announces NLRI.
    pub mp_next_hop: Option<(&'a NextHop, usize)>,
}

/// Check an UPDATE that announces routes against its sender.
pub(crate) fn check(
    sender: &Sender,
    four_octet_as: bool,
    update: &Announced<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if sender.external
        && let Some((path, at)) = update.as_path
        && let Some(why) = external_path_error(sender, four_octet_as, path)
    {
        diagnostics.push(withdraw(code::AS_PATH, update_subcode::MALFORMED_AS_PATH, at, "AS_PATH", why));
    }
    if let Some((nh, at)) = update.next_hop
        && let Some(why) = unusable_v4(sender, nh)
    {
        diagnostics.push(withdraw(
            code::NEXT_HOP,
            update_subcode::INVALID_NEXT_HOP_ATTRIBUTE,
            at,
            "NEXT_HOP",
            why,
        ));
    }
    if let Some((nh, at)) = update.mp_next_hop {
        let why = match nh {
            NextHop::V4(a) => unusable_v4(sender, *a),
            NextHop::V6 { global, link_local } => unusable_v6(sender, *global, *link_local),
            NextHop::Raw(_) => None,
        };
        if let Some(why) = why {
            diagnostics.push(withdraw(
                code::MP_REACH_NLRI,
                update_subcode::OPTIONAL_ATTRIBUTE_ERROR,
                at,
                "MP_REACH_NLRI next hop",
                why,
            ));
        }
    }
}

fn withdraw(attribute: u8, subcode: u8, at: usize, field: &'static str, why: &'static str) -> Diagnostic {
    Diagnostic {
        action: Action::TreatAsWithdraw,
        attribute: Some(attribute),
        family: None,
        subcode,
        error: DecodeError::new(at, field, ErrorKind::Invalid(why)),
    }
}

/// Why an external peer's AS path is wrong, if it is.
fn external_path_error(sender: &Sender, four_octet_as: bool, path: &AsPath) -> Option<&'static str> {
    if path.has_confed() {
        return Some("confederation segment from an external peer (we are not in its confederation)");
    }
    if !sender.enforce_first_as {
        return None;
    }
    if path.segments.iter().all(|s| s.asns.is_empty()) {
        return Some("empty from an external peer (enforce-first-as)");
    }
    // A 2-octet session carries a 4-octet peer AS as AS_TRANS (RFC 6793).
    let expected =
        if !four_octet_as && sender.peer_as > u32::from(u16::MAX) { AS_TRANS } else { sender.peer_as };
    match path.first_as() {
        Some(first) if first == expected => None,
        _ => Some("does not start with the peer's AS (enforce-first-as)"),
    }
}

/// Why an IPv4 next hop cannot be used, if it cannot.
fn unusable_v4(sender: &Sender, a: Ipv4Addr) -> Option<&'static str> {
    let [first, ..] = a.octets();
    if first == 0 {
        Some("0.0.0.0/8 is not a usable next hop")
    } else if a.is_loopback() && !sender.local_address.is_some_and(|l| l.is_loopback()) {
        Some("a loopback address is not a usable next hop")
    } else if a.is_multicast() {
        Some("a multicast address is not a usable next hop")
    } else if first >= 240 {
        Some("a class E address is not a usable next hop")
    } else if sender.local_address == Some(IpAddr::V4(a)) {
        Some("our own address is not a usable next hop")
    } else {
        None
    }
}

/// Why an IPv6 next hop (global and optional link-local) cannot be used.
fn unusable_v6(sender: &Sender, global: Ipv6Addr, link_local: Option<Ipv6Addr>) -> Option<&'static str> {
    let ours = |a: Ipv6Addr| sender.local_address == Some(IpAddr::V6(a));
    let on_loopback = sender.local_address.is_some_and(|l| l.is_loopback());
    for a in std::iter::once(global).chain(link_local) {
        if a.is_loopback() && !on_loopback {
            return Some("a loopback address is not a usable next hop");
        }
        if a.is_multicast() {
            return Some("a multicast address is not a usable next hop");
        }
        if ours(a) {
            return Some("our own address is not a usable next hop");
        }
    }
    // Some speakers send the link-local address alone, in the first field
    // or after a zero global one.
    let has_global = !global.is_unspecified() && !global.is_unicast_link_local();
    let has_link_local =
        global.is_unicast_link_local() || link_local.is_some_and(|l| l.is_unicast_link_local());
    if has_global {
        None
    } else if !has_link_local {
        Some(":: is not a usable next hop")
    } else if !sender.direct {
        Some("a link-local next hop without a global address, from a peer not on our link")
    } else {
        None
    }
}

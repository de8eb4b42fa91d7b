//! Capability negotiation: what two OPEN messages agree on.
//!
//! This module owns the rules that turn our OPEN and the peer's into one
//! [`Negotiated`] (RFC 4271 §4.2 and §6.2, RFC 4760, RFC 5492, RFC 6793,
//! RFC 7911, RFC 8950, RFC 4724/8538, RFC 9234, RFC 8654, RFC 2918/7313),
//! and the OPEN checks that depend on configuration (peer AS, BGP
//! identifier, role). It keeps no state and touches no timers: the session
//! FSM ([`crate::fsm`]) calls [`negotiate`] when the peer's OPEN arrives.

use std::net::Ipv4Addr;

use crate::fsm::PeerConfig;
use crate::wire::capability::{AddPathMode, Capability, GracefulRestartFamily, Role};
use crate::wire::context::{Sender, SessionContext};
use crate::wire::family::{Afi, Family};
use crate::wire::notification::{Notification, cease_subcode, code, open_subcode};
use crate::wire::open::Open;
use crate::wire::update::Update;

/// The peer's graceful restart capability, as far as we act on it (we are
/// the helper, RFC 4724 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerGracefulRestart {
    /// How long to keep the peer's routes after the session drops, seconds.
    pub restart_time: u16,
    /// The peer says it has restarted (R bit).
    pub restarting: bool,
    /// Both sides sent the N bit (RFC 8538): graceful restart also applies
    /// after a NOTIFICATION other than Cease/Hard Reset.
    pub notification: bool,
    /// The peer's families that we negotiated too, with their F bits.
    pub families: Vec<GracefulRestartFamily>,
}

impl PeerGracefulRestart {
    /// Whether the peer kept forwarding state for `family` (F bit).
    pub fn forwarding_preserved(&self, family: Family) -> bool {
        self.families.iter().any(|f| f.family == family && f.forwarding_preserved())
    }
}

/// What a session negotiated.
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// The peer's AS (4-octet AS capability, else My AS).
    pub peer_asn: u32,
    pub peer_id: Ipv4Addr,
    /// Peer AS equals ours (iBGP).
    pub internal: bool,
    /// Negotiated hold time, seconds: the smaller offer; 0 means no hold
    /// and no keepalive timer.
    pub hold_time: u16,
    /// Keepalive interval, seconds: `hold_time / 3`.
    pub keepalive: u16,
    /// Families both sides offered (IPv4 unicast is implied for a side that
    /// sends no multiprotocol capability, RFC 4760 §8), in our order.
    pub families: Vec<Family>,
    pub four_octet_as: bool,
    pub route_refresh: bool,
    pub enhanced_route_refresh: bool,
    pub extended_message: bool,
    /// (family, next-hop AFI) both sides offered (RFC 8950).
    pub extended_next_hop: Vec<(Family, Afi)>,
    /// Families whose NLRI the peer sends with path identifiers (we said
    /// receive, they said send; RFC 7911).
    pub add_path_receive: Vec<Family>,
    /// Families whose NLRI we send with path identifiers (we said send,
    /// they said receive).
    pub add_path_send: Vec<Family>,
    /// Both sides sent the graceful restart capability.
    pub graceful_restart: Option<PeerGracefulRestart>,
    /// Our role and the peer's (RFC 9234), eBGP only.
    pub local_role: Option<Role>,
    pub peer_role: Option<Role>,
    /// The peer's hostname and domain (FQDN capability).
    pub fqdn: Option<(String, String)>,
    /// Context to decode what the peer sends.
    pub rx: SessionContext,
    /// Context to encode what we send.
    pub tx: SessionContext,
}

fn context_eq(a: &SessionContext, b: &SessionContext) -> bool {
    a.four_octet_as == b.four_octet_as
        && a.extended_message == b.extended_message
        && a.add_path == b.add_path
        && a.extended_next_hop == b.extended_next_hop
        && a.family_codecs.iter().map(|c| c.family).eq(b.family_codecs.iter().map(|c| c.family))
}

/// Contexts compare by their data and the families of their codecs
/// (function pointers have no meaningful equality).
impl PartialEq for Negotiated {
    fn eq(&self, other: &Self) -> bool {
        self.peer_asn == other.peer_asn
            && self.peer_id == other.peer_id
            && self.internal == other.internal
            && self.hold_time == other.hold_time
            && self.keepalive == other.keepalive
            && self.families == other.families
            && self.four_octet_as == other.four_octet_as
            && self.route_refresh == other.route_refresh
            && self.enhanced_route_refresh == other.enhanced_route_refresh
            && self.extended_message == other.extended_message
            && self.extended_next_hop == other.extended_next_hop
            && self.add_path_receive == other.add_path_receive
            && self.add_path_send == other.add_path_send
            && self.graceful_restart == other.graceful_restart
            && self.local_role == other.local_role
            && self.peer_role == other.peer_role
            && self.fqdn == other.fqdn
            && context_eq(&self.rx, &other.rx)
            && context_eq(&self.tx, &other.tx)
    }
}

impl Eq for Negotiated {}

impl Negotiated {
    /// Whether the RFC 9234 route leak prevention (OTC attribute) applies:
    /// both sides sent a role.
    pub fn otc(&self) -> bool {
        self.local_role.is_some() && self.peer_role.is_some()
    }

    /// The End-of-RIB markers to send after the initial table, one per
    /// negotiated family (RFC 4724 §2; GoBGP and FRR wait for each).
    pub fn end_of_rib_markers(&self) -> Vec<Update> {
        self.families.iter().map(|f| Update::end_of_rib_marker(*f)).collect()
    }
}

fn open_error(subcode: u8) -> Notification {
    Notification::new(code::OPEN_MESSAGE, subcode, Vec::new())
}

/// Families an OPEN offers: its multiprotocol capabilities (deduplicated,
/// in order), or IPv4 unicast when it has none.
pub fn offered_families(open: &Open) -> Vec<Family> {
    let mut out: Vec<Family> = Vec::new();
    for f in open.families() {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    if out.is_empty() {
        out.push(Family::IPV4_UNICAST);
    }
    out
}

fn add_path_mode(open: &Open, family: Family) -> AddPathMode {
    // RFC 7911 §4: a family appearing more than once: the last tuple wins
    // (FRR does the same).
    open.add_path().filter(|t| t.family == family).last().map_or(AddPathMode(0), |t| t.mode)
}

/// Validate the peer's OPEN against ours and the configuration, and work
/// out what the session negotiated. `Err` is the NOTIFICATION to send.
///
/// Checks, in RFC 4271 §6.2 order: [`Open::validate`] (version, AS 0,
/// hold time 1-2, BGP identifier 0, unknown optional parameters, repeated
/// conflicting roles); peer AS against [`crate::fsm::RemoteAs`] (OPEN/2);
/// an iBGP peer using our BGP identifier (OPEN/3, RFC 6286); no family in
/// common (OPEN/7 Unsupported Capability); role mismatch or, in strict
/// mode, a missing role (OPEN/11, RFC 9234).
pub fn negotiate(config: &PeerConfig, ours: &Open, theirs: &Open) -> Result<Negotiated, Notification> {
    theirs.validate()?;
    let peer_asn = theirs.asn();
    if !config.remote_as.accepts(peer_asn, config.local_as) {
        return Err(open_error(open_subcode::BAD_PEER_AS));
    }
    let internal = peer_asn == config.local_as;
    if internal && theirs.bgp_id == ours.bgp_id {
        return Err(open_error(open_subcode::BAD_BGP_IDENTIFIER));
    }
    let hold_time = ours.hold_time.min(theirs.hold_time);

    let their_families = offered_families(theirs);
    let families: Vec<Family> =
        offered_families(ours).into_iter().filter(|f| their_families.contains(f)).collect();
    if families.is_empty() {
        let mut data = Vec::new();
        // Our multiprotocol capabilities are the ones the peer lacks.
        let caps: Vec<Capability> = ours.families().map(Capability::Multiprotocol).collect();
        if Capability::encode_list(&caps, &mut data).is_err() {
            data.clear();
        }
        return Err(Notification::new(code::OPEN_MESSAGE, open_subcode::UNSUPPORTED_CAPABILITY, data));
    }

    let (local_role, peer_role) = if internal {
        // RFC 9234 §4.2: the role capability is for eBGP; ignore it on iBGP.
        (None, None)
    } else {
        let peer_role = theirs.role();
        if let Some(local) = config.role {
            match peer_role {
                Some(p) if Some(p) != local.expected_peer_role() => {
                    return Err(open_error(open_subcode::ROLE_MISMATCH));
                }
                None if config.strict_role => return Err(open_error(open_subcode::ROLE_MISMATCH)),
                _ => {}
            }
        }
        (config.role, peer_role)
    };

    let four_octet_as = ours.four_octet_as().is_some() && theirs.four_octet_as().is_some();
    let extended_message = ours.extended_message() && theirs.extended_message();

    let mut extended_next_hop: Vec<(Family, Afi)> = Vec::new();
    for t in ours.extended_next_hop() {
        let pair = (t.family, t.next_hop_afi);
        if families.contains(&t.family)
            && theirs.extended_next_hop().any(|p| p.family == t.family && p.next_hop_afi == t.next_hop_afi)
            && !extended_next_hop.contains(&pair)
        {
            extended_next_hop.push(pair);
        }
    }

    let mut add_path_receive = Vec::new();
    let mut add_path_send = Vec::new();
    for &f in &families {
        let (mine, theirs_mode) = (add_path_mode(ours, f), add_path_mode(theirs, f));
        if mine.can_receive() && theirs_mode.can_send() {
            add_path_receive.push(f);
        }
        if mine.can_send() && theirs_mode.can_receive() {
            add_path_send.push(f);
        }
    }

    let graceful_restart = match (ours.graceful_restart(), theirs.graceful_restart()) {
        (Some(mine), Some(peer)) => Some(PeerGracefulRestart {
            restart_time: peer.restart_time,
            restarting: peer.restart_state(),
            notification: mine.notification() && peer.notification(),
            families: peer.families.iter().filter(|f| families.contains(&f.family)).cloned().collect(),
        }),
        _ => None,
    };

    let context = |add_path: &[Family]| SessionContext {
        four_octet_as,
        extended_message,
        add_path: add_path.to_vec(),
        extended_next_hop: extended_next_hop.clone(),
        family_codecs: config.family_codecs.clone(),
        sender: None,
    };
    let sender = Sender {
        external: !internal,
        peer_as: peer_asn,
        enforce_first_as: config.enforce_first_as,
        local_address: None,
        direct: config.direct,
    };
    let rx = SessionContext { sender: Some(sender), ..context(&add_path_receive) };
    let tx = context(&add_path_send);

    Ok(Negotiated {
        peer_asn,
        peer_id: theirs.bgp_id,
        internal,
        hold_time,
        keepalive: hold_time / 3,
        families,
        four_octet_as,
        route_refresh: ours.route_refresh() && theirs.route_refresh(),
        enhanced_route_refresh: ours.enhanced_route_refresh() && theirs.enhanced_route_refresh(),
        extended_message,
        extended_next_hop,
        add_path_receive,
        add_path_send,
        graceful_restart,
        local_role,
        peer_role,
        fqdn: theirs.fqdn().map(|(h, d)| (h.to_owned(), d.to_owned())),
        rx,
        tx,
    })
}

/// Whether a Cease with this subcode must be sent as a Hard Reset when the
/// N bit was negotiated (RFC 8538 §5: "Force").
pub fn forces_hard_reset(subcode: u8) -> bool {
    matches!(
        subcode,
        cease_subcode::MAX_PREFIXES_REACHED
            | cease_subcode::ADMINISTRATIVE_SHUTDOWN
            | cease_subcode::PEER_DECONFIGURED
            | cease_subcode::HARD_RESET
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsm::{GracefulRestartConfig, RemoteAs};
    use crate::wire::capability::{AddPathFamily, ExtendedNextHop, GracefulRestart};
    use crate::wire::notification::open_subcode as sub;

    const V4: Family = Family::IPV4_UNICAST;
    const V6: Family = Family::IPV6_UNICAST;
    const EVPN: Family = Family::L2VPN_EVPN;

    fn ours() -> PeerConfig {
        PeerConfig::new(65001, RemoteAs::Exact(65002), Ipv4Addr::new(192, 0, 2, 1))
    }

    fn theirs() -> PeerConfig {
        PeerConfig::new(65002, RemoteAs::Exact(65001), Ipv4Addr::new(192, 0, 2, 2))
    }

    fn run(us: &PeerConfig, them: &PeerConfig) -> Result<Negotiated, Notification> {
        negotiate(us, &us.open(), &them.open())
    }

    fn subcode(r: Result<Negotiated, Notification>) -> (u8, u8) {
        let n = r.expect_err("the OPEN must be rejected");
        (n.code, n.subcode)
    }

    #[test]
    fn defaults_negotiate_everything_both_offer() {
        let n = run(&ours(), &theirs()).unwrap();
        assert_eq!((n.hold_time, n.keepalive), (90, 30));
        assert_eq!(n.families, vec![V4, V6]);
        assert!(n.four_octet_as && n.route_refresh && n.enhanced_route_refresh && n.extended_message);
        assert_eq!((n.peer_asn, n.peer_id, n.internal), (65002, Ipv4Addr::new(192, 0, 2, 2), false));
        let gr = n.graceful_restart.as_ref().unwrap();
        assert_eq!(gr.restart_time, 120);
        assert!(gr.notification);
        assert!(n.rx.four_octet_as && n.rx.extended_message && n.tx.four_octet_as);
        assert_eq!(n.rx.max_message_len(), 65535);
        assert_eq!(n.end_of_rib_markers().len(), 2);
        assert_eq!(n.end_of_rib_markers()[1].end_of_rib(), Some(V6));
    }

    #[test]
    fn hold_time_is_the_smaller_offer_and_zero_disables_keepalives() {
        let mut them = theirs();
        them.hold_time = 9;
        let n = run(&ours(), &them).unwrap();
        assert_eq!((n.hold_time, n.keepalive), (9, 3));
        them.hold_time = 0;
        let n = run(&ours(), &them).unwrap();
        assert_eq!((n.hold_time, n.keepalive), (0, 0));
        them.hold_time = 3;
        assert_eq!(run(&ours(), &them).unwrap().keepalive, 1);
    }

    #[test]
    fn hold_time_of_one_or_two_seconds_is_rejected() {
        for hold in [1, 2] {
            let mut open = theirs().open();
            open.hold_time = hold;
            let r = negotiate(&ours(), &ours().open(), &open);
            assert_eq!(subcode(r), (2, sub::UNACCEPTABLE_HOLD_TIME));
        }
    }

    #[test]
    fn families_are_the_intersection_and_ipv4_is_implied_without_mp() {
        let mut us = ours();
        us.families = vec![V4, V6, EVPN];
        let mut them = theirs();
        them.families = vec![EVPN, V6];
        assert_eq!(run(&us, &them).unwrap().families, vec![V6, EVPN]);
        // A peer that sends no multiprotocol capability speaks IPv4 unicast.
        them.families.clear();
        assert_eq!(run(&us, &them).unwrap().families, vec![V4]);
        // Nothing in common: OPEN/Unsupported Capability naming our families.
        us.families = vec![V6];
        let n = run(&us, &them).unwrap_err();
        assert_eq!((n.code, n.subcode), (2, sub::UNSUPPORTED_CAPABILITY));
        assert_eq!(n.data, vec![1, 4, 0, 2, 0, 1]);
    }

    #[test]
    fn add_path_directions_follow_both_offers() {
        let mut us = ours();
        us.add_path = vec![
            AddPathFamily { family: V4, mode: AddPathMode::BOTH },
            AddPathFamily { family: V6, mode: AddPathMode::RECEIVE },
        ];
        let mut them = theirs();
        them.add_path = vec![
            AddPathFamily { family: V4, mode: AddPathMode::RECEIVE },
            AddPathFamily { family: V6, mode: AddPathMode::BOTH },
        ];
        let n = run(&us, &them).unwrap();
        assert_eq!(n.add_path_send, vec![V4]);
        assert_eq!(n.add_path_receive, vec![V6]);
        assert!(n.tx.add_path(V4) && !n.tx.add_path(V6));
        assert!(n.rx.add_path(V6) && !n.rx.add_path(V4));
        // Not offered by the peer at all: nothing either way.
        them.add_path.clear();
        let n = run(&us, &them).unwrap();
        assert!(n.add_path_send.is_empty() && n.add_path_receive.is_empty());
    }

    #[test]
    fn four_octet_as_needs_both_and_sets_the_peer_as() {
        let mut them = PeerConfig::new(4_200_000_000, RemoteAs::External, Ipv4Addr::new(192, 0, 2, 2));
        let mut us = ours();
        us.remote_as = RemoteAs::Exact(4_200_000_000);
        let n = run(&us, &them).unwrap();
        assert_eq!(n.peer_asn, 4_200_000_000);
        assert!(n.four_octet_as);
        // A 2-octet-only peer: its My AS, and 2-octet AS_PATHs.
        them = PeerConfig::new(65002, RemoteAs::External, Ipv4Addr::new(192, 0, 2, 2));
        them.four_octet_as = false;
        let n = run(&ours(), &them).unwrap();
        assert_eq!(n.peer_asn, 65002);
        assert!(!n.four_octet_as && !n.rx.four_octet_as && !n.tx.four_octet_as);
    }

    #[test]
    fn bad_peer_as_is_rejected() {
        let mut us = ours();
        us.remote_as = RemoteAs::Exact(65099);
        assert_eq!(subcode(run(&us, &theirs())), (2, sub::BAD_PEER_AS));
        us.remote_as = RemoteAs::Internal;
        assert_eq!(subcode(run(&us, &theirs())), (2, sub::BAD_PEER_AS));
        us.remote_as = RemoteAs::External;
        assert!(run(&us, &theirs()).is_ok());
        let mut same = theirs();
        same.local_as = 65001;
        assert_eq!(subcode(run(&us, &same)), (2, sub::BAD_PEER_AS));
    }

    #[test]
    fn ibgp_peer_with_our_identifier_is_rejected_but_ebgp_is_not() {
        let mut us = ours();
        us.remote_as = RemoteAs::Internal;
        let mut them = PeerConfig::new(65001, RemoteAs::Internal, us.router_id);
        assert_eq!(subcode(run(&us, &them)), (2, sub::BAD_BGP_IDENTIFIER));
        them.router_id = Ipv4Addr::new(192, 0, 2, 9);
        assert!(run(&us, &them).unwrap().internal);
        let them = PeerConfig::new(65002, RemoteAs::External, ours().router_id);
        assert!(run(&ours(), &them).is_ok());
    }

    #[test]
    fn extended_next_hop_needs_both_sides() {
        let t = ExtendedNextHop { family: V4, next_hop_afi: Afi::IPV6 };
        let mut us = ours();
        us.extended_next_hop = vec![t];
        assert!(run(&us, &theirs()).unwrap().extended_next_hop.is_empty());
        let mut them = theirs();
        them.extended_next_hop = vec![t];
        let n = run(&us, &them).unwrap();
        assert_eq!(n.extended_next_hop, vec![(V4, Afi::IPV6)]);
        assert_eq!(n.rx.extended_next_hop, vec![(V4, Afi::IPV6)]);
        assert_eq!(n.tx.extended_next_hop, vec![(V4, Afi::IPV6)]);
    }

    #[test]
    fn graceful_restart_takes_the_peer_time_families_and_both_n_bits() {
        let mut them = theirs();
        them.graceful_restart = Some(GracefulRestartConfig {
            restart_time: 300,
            notification: false,
            forwarding_families: vec![V4, EVPN],
            ..GracefulRestartConfig::default()
        });
        let n = run(&ours(), &them).unwrap();
        let gr = n.graceful_restart.unwrap();
        assert_eq!(gr.restart_time, 300);
        assert!(!gr.notification, "the N bit needs both sides");
        // EVPN was not negotiated: not a GR family of this session.
        assert_eq!(gr.families.iter().map(|f| f.family).collect::<Vec<_>>(), vec![V4]);
        assert!(gr.forwarding_preserved(V4) && !gr.forwarding_preserved(V6));
        // Without our capability we are no helper.
        let mut us = ours();
        us.graceful_restart = None;
        assert!(run(&us, &them).unwrap().graceful_restart.is_none());
        // Restart flag of the peer.
        let mut open = them.open();
        for p in &mut open.params {
            if let crate::wire::open::OptionalParameter::Capabilities(caps) = p {
                for c in caps {
                    if let Capability::GracefulRestart(g) = c {
                        g.flags |= GracefulRestart::RESTART_STATE;
                    }
                }
            }
        }
        assert!(negotiate(&ours(), &ours().open(), &open).unwrap().graceful_restart.unwrap().restarting);
    }

    #[test]
    fn role_mismatch_and_strict_mode() {
        let mut us = ours();
        us.role = Some(Role::CUSTOMER);
        let mut them = theirs();
        them.role = Some(Role::PROVIDER);
        let n = run(&us, &them).unwrap();
        assert_eq!((n.local_role, n.peer_role), (Some(Role::CUSTOMER), Some(Role::PROVIDER)));
        assert!(n.otc());
        them.role = Some(Role::PEER);
        assert_eq!(subcode(run(&us, &them)), (2, sub::ROLE_MISMATCH));
        them.role = None;
        assert!(!run(&us, &them).unwrap().otc());
        us.strict_role = true;
        assert_eq!(subcode(run(&us, &them)), (2, sub::ROLE_MISMATCH));
    }

    #[test]
    fn fqdn_and_refresh_capabilities() {
        let mut them = theirs();
        them.fqdn = Some(("leaf1".into(), "example.net".into()));
        them.enhanced_route_refresh = false;
        let n = run(&ours(), &them).unwrap();
        assert_eq!(n.fqdn, Some(("leaf1".into(), "example.net".into())));
        assert!(n.route_refresh && !n.enhanced_route_refresh);
    }

    #[test]
    fn hard_reset_is_forced_for_the_rfc_8538_subcodes() {
        assert!(forces_hard_reset(cease_subcode::ADMINISTRATIVE_SHUTDOWN));
        assert!(forces_hard_reset(cease_subcode::MAX_PREFIXES_REACHED));
        assert!(!forces_hard_reset(cease_subcode::CONNECTION_COLLISION_RESOLUTION));
        assert!(!forces_hard_reset(cease_subcode::ADMINISTRATIVE_RESET));
    }
}

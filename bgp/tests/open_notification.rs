//! OPEN, ROUTE-REFRESH and NOTIFICATION through the public API only, as the
//! session layer will use them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::Ipv4Addr;

use mdc_bgp::capability::{
    AddPathFamily, AddPathMode, Capability, GracefulRestart, GracefulRestartFamily, LlgrFamily, Role,
};
use mdc_bgp::notification::{cease_subcode, code, open_subcode};
use mdc_bgp::open::{AS_TRANS, Open, OptionalParameter};
use mdc_bgp::route_refresh::{RouteRefresh, Subtype};
use mdc_bgp::{Family, Message, Notification, SessionContext};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn round_trip(msg: &[u8]) -> Message {
    let ctx = SessionContext::default();
    let m = Message::decode(msg, &ctx).unwrap();
    assert_eq!(m.encode(&ctx).unwrap(), vec![msg.to_vec()], "{m:?}");
    m
}

/// An OPEN laid out the way FRR writes one: one capability per optional
/// parameter, AS_TRANS with a 4-octet AS, datacenter timers.
#[test]
fn frr_layout_open() {
    let msg = hex("ffffffffffffffffffffffffffffffff 005d 01
         04 5ba0 0009 0a000001 40
         02 06 01 04 0001 00 01
         02 06 01 04 0019 00 46
         02 02 80 00
         02 02 02 00
         02 02 46 00
         02 06 41 04 fa56ea01
         02 06 45 04 0001 01 01
         02 08 49 06 02 6c31 02 6463
         02 08 40 06 4078 0001 01 80");
    let Message::Open(open) = round_trip(&msg) else { panic!("not an OPEN") };
    assert_eq!(open.validate(), Ok(()));
    assert_eq!(open.my_as, AS_TRANS);
    assert_eq!(open.asn(), 4_200_000_001);
    assert_eq!(open.hold_time, 9);
    assert_eq!(open.params.len(), 9);
    assert!(!open.extended_params);
    assert_eq!(open.families().collect::<Vec<_>>(), vec![Family::IPV4_UNICAST, Family::L2VPN_EVPN]);
    assert_eq!(
        open.add_path().copied().collect::<Vec<_>>(),
        vec![AddPathFamily { family: Family::IPV4_UNICAST, mode: AddPathMode::RECEIVE }]
    );
    assert!(open.route_refresh() && open.enhanced_route_refresh());
    assert_eq!(open.fqdn(), Some(("l1", "dc")));
    let gr = open.graceful_restart().unwrap();
    assert!(gr.notification() && !gr.restart_state());
    assert_eq!(gr.restart_time, 120);
    assert!(gr.family(Family::IPV4_UNICAST).unwrap().forwarding_preserved());
}

/// The constructor puts everything in one parameter and re-decodes to itself.
#[test]
fn constructed_open() {
    let caps = vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::Multiprotocol(Family::IPV6_UNICAST),
        Capability::RouteRefresh,
        Capability::ExtendedMessage,
        Capability::Role(Role::CUSTOMER),
        Capability::FourOctetAs(65010),
        Capability::GracefulRestart(GracefulRestart {
            flags: GracefulRestart::NOTIFICATION,
            restart_time: 120,
            families: vec![GracefulRestartFamily { family: Family::IPV4_UNICAST, flags: 0 }],
        }),
        Capability::LongLivedGracefulRestart(vec![LlgrFamily {
            family: Family::IPV4_UNICAST,
            flags: 0,
            stale_time: 86_400,
        }]),
        Capability::fqdn("node-1", ""),
    ];
    let open = Open::new(65010, 90, Ipv4Addr::new(192, 0, 2, 7), caps.clone());
    assert_eq!(open.my_as, 65010);
    assert_eq!(open.params, vec![OptionalParameter::Capabilities(caps)]);
    let ctx = SessionContext::default();
    let bytes = Message::Open(open.clone()).encode(&ctx).unwrap();
    assert_eq!(Message::decode(&bytes[0], &ctx).unwrap(), Message::Open(open.clone()));
    assert_eq!(open.role(), Some(Role::CUSTOMER));
    assert_eq!(open.long_lived_graceful_restart().count(), 1);
}

#[test]
fn open_errors_name_the_notification() {
    // Version 3 decodes; validate() answers OPEN/Unsupported Version, data 4.
    let msg = hex("ffffffffffffffffffffffffffffffff 001d 01 03 fde8 00b4 0a000001 00");
    let Message::Open(open) = round_trip(&msg) else { panic!("not an OPEN") };
    let n = open.validate().unwrap_err();
    assert_eq!(
        (n.code, n.subcode, n.data.as_slice()),
        (code::OPEN_MESSAGE, open_subcode::UNSUPPORTED_VERSION, &[0u8, 4][..])
    );
    assert_eq!(n.to_string(), "OPEN Message Error/Unsupported Version Number (data: 00 04)");
    // A malformed graceful-restart capability (length 3) is OPEN/0 at the
    // capability value's offset.
    let msg = hex("ffffffffffffffffffffffffffffffff 0024 01 04 fde8 00b4 0a000001 07 02 05 40 03 0078 00");
    let err = Message::decode(&msg, &SessionContext::default()).unwrap_err();
    assert_eq!(
        (err.notification.code, err.notification.subcode),
        (code::OPEN_MESSAGE, open_subcode::UNSPECIFIC)
    );
    assert_eq!(err.error.offset, 33);
    assert_eq!(err.error.field, "graceful restart capability");
}

#[test]
fn route_refresh_messages() {
    let msg = hex("ffffffffffffffffffffffffffffffff 0017 05 0019 01 46");
    let Message::RouteRefresh(rr) = round_trip(&msg) else { panic!("not a ROUTE-REFRESH") };
    assert_eq!(rr, RouteRefresh::begin(Family::L2VPN_EVPN));
    assert_eq!(rr.subtype, Subtype::BEGIN);
    // EoRR with a trailing byte: ROUTE-REFRESH Message Error / Invalid
    // Message Length carrying the whole message.
    let msg = hex("ffffffffffffffffffffffffffffffff 0018 05 0001 02 01 00");
    let err = Message::decode(&msg, &SessionContext::default()).unwrap_err();
    assert_eq!((err.notification.code, err.notification.subcode), (7, 1));
    assert_eq!(err.notification.data, msg);
}

#[test]
fn notifications() {
    let msg = hex("ffffffffffffffffffffffffffffffff 0021 03 06 02 0b 6d61696e74656e616e6365");
    let Message::Notification(n) = round_trip(&msg) else { panic!("not a NOTIFICATION") };
    assert_eq!(n, Notification::admin_shutdown("maintenance"));
    assert_eq!(n.to_string(), "Cease/Administrative Shutdown: \"maintenance\"");
    let hard = Notification::hard_reset(n.clone());
    assert_eq!(hard.subcode, cease_subcode::HARD_RESET);
    assert_eq!(hard.hard_reset_inner(), Some(n));
    assert_eq!(Notification::send_hold_timer_expired().to_string(), "Send Hold Timer Expired");
}

//! The session FSM (RFC 4271 §8): one test per transition the RFC names,
//! then timers, End-of-RIB, graceful restart helper, collisions, and a
//! proptest over random event sequences.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use mdc_bgp::attr::{code as attr_code, flag};
use mdc_bgp::capability::{AddPathFamily, AddPathMode, Role};
use mdc_bgp::family::Family;
use mdc_bgp::fsm::{
    Action, DownReason, Event, Fsm, GracefulRestartConfig, OPEN_SENT_HOLD_MS, Origin, PeerConfig, RemoteAs,
    Side, State, Timer, resolve_collision,
};
use mdc_bgp::message::Message;
use mdc_bgp::negotiate::offered_families;
use mdc_bgp::notification::{Notification, cease_subcode, code};
use mdc_bgp::route_refresh::RouteRefresh;
use mdc_bgp::update::Update;
use mdc_bgp::{SessionContext, route_refresh::Subtype};

const V4: Family = Family::IPV4_UNICAST;
const V6: Family = Family::IPV6_UNICAST;
const US: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const THEM: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn ours() -> PeerConfig {
    PeerConfig::new(65001, RemoteAs::Exact(65002), US)
}

fn theirs() -> PeerConfig {
    PeerConfig::new(65002, RemoteAs::Exact(65001), THEM)
}

fn enc(m: &Message) -> Vec<u8> {
    m.encode(&SessionContext::modern()).unwrap().remove(0)
}

fn open_from(c: &PeerConfig) -> Vec<u8> {
    enc(&Message::Open(c.open()))
}

fn keepalive() -> Vec<u8> {
    enc(&Message::Keepalive)
}

fn notification(n: Notification) -> Vec<u8> {
    enc(&Message::Notification(n))
}

fn eor(f: Family) -> Vec<u8> {
    Update::end_of_rib_marker(f).encode(&SessionContext::modern()).unwrap().remove(0)
}

/// An UPDATE from raw attributes and NLRI bytes.
fn raw_update(attrs: &[Vec<u8>], nlri: &[u8]) -> Vec<u8> {
    let attrs: Vec<u8> = attrs.concat();
    let mut m = vec![0xff; 16];
    let len = 19 + 2 + 2 + attrs.len() + nlri.len();
    m.extend_from_slice(&(len as u16).to_be_bytes());
    m.push(2);
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&attrs);
    m.extend_from_slice(nlri);
    m
}

fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, code, value.len() as u8];
    assert_eq!(flags & flag::EXTENDED_LENGTH, 0);
    a.extend_from_slice(value);
    a
}

fn v4_attrs() -> Vec<Vec<u8>> {
    vec![
        attr(0x40, attr_code::ORIGIN, &[0]),
        attr(0x40, attr_code::AS_PATH, &[2, 1, 0, 0, 0xfd, 0xea]),
        attr(0x40, attr_code::NEXT_HOP, &[192, 0, 2, 2]),
    ]
}

/// A clean UPDATE announcing 198.51.100.0/24.
fn good_update() -> Vec<u8> {
    raw_update(&v4_attrs(), &[24, 198, 51, 100])
}

/// An UPDATE whose NLRI field is malformed: session reset (UPDATE/10).
fn reset_update() -> Vec<u8> {
    raw_update(&v4_attrs(), &[33, 1, 2, 3, 4, 5])
}

/// IPv4 routes plus an MP_REACH_NLRI for IPv6 with a 5-byte next hop:
/// RFC 7606 AFI/SAFI disable for IPv6 unicast.
fn disable_v6_update() -> Vec<u8> {
    let mut mp = vec![0, 2, 1, 5, 1, 2, 3, 4, 5, 0];
    mp.extend_from_slice(&[48, 0x20, 0x01, 0x0d, 0xb8, 0, 1]);
    let mut attrs = v4_attrs();
    attrs.push(attr(0x90 & !flag::EXTENDED_LENGTH, attr_code::MP_REACH_NLRI, &mp));
    raw_update(&attrs, &[24, 198, 51, 100])
}

fn route_refresh(f: Family, subtype: Subtype) -> Vec<u8> {
    enc(&Message::RouteRefresh(RouteRefresh::with_subtype(f, subtype)))
}

/// A driver for one FSM with a clock.
struct T {
    fsm: Fsm,
    now: u64,
}

impl T {
    fn new(c: PeerConfig) -> T {
        T { fsm: Fsm::new(c).unwrap(), now: 1_000 }
    }

    fn ev(&mut self, e: Event) -> Vec<Action> {
        self.fsm.handle(e, self.now)
    }

    fn msg(&mut self, bytes: Vec<u8>) -> Vec<Action> {
        self.ev(Event::MessageReceived(bytes))
    }

    fn fire(&mut self, t: Timer) -> Vec<Action> {
        self.now = self.fsm.deadline(t).unwrap_or_else(|| panic!("{t:?} is not armed"));
        self.ev(Event::TimerExpired(t))
    }

    fn state(&self) -> State {
        self.fsm.state()
    }

    fn to_connect(c: PeerConfig) -> T {
        let mut t = T::new(c);
        t.ev(Event::ManualStart);
        assert_eq!(t.state(), State::Connect);
        t
    }

    fn to_active() -> T {
        let mut c = ours();
        c.passive = true;
        let mut t = T::new(c);
        t.ev(Event::ManualStart);
        assert_eq!(t.state(), State::Active);
        t
    }

    fn to_open_sent(c: PeerConfig) -> T {
        let mut t = T::to_connect(c);
        t.ev(Event::TcpCrAcked);
        assert_eq!(t.state(), State::OpenSent);
        t
    }

    fn to_open_confirm_with(c: PeerConfig, peer: &PeerConfig) -> T {
        let mut t = T::to_open_sent(c);
        t.msg(open_from(peer));
        assert_eq!(t.state(), State::OpenConfirm);
        t
    }

    fn to_open_confirm() -> T {
        T::to_open_confirm_with(ours(), &theirs())
    }

    fn to_established_with(c: PeerConfig, peer: &PeerConfig) -> T {
        let mut t = T::to_open_confirm_with(c, peer);
        let a = t.msg(keepalive());
        assert_eq!(t.state(), State::Established);
        assert!(a.iter().any(|a| matches!(a, Action::SessionEstablished(_))));
        t
    }

    fn to_established() -> T {
        T::to_established_with(ours(), &theirs())
    }
}

fn sent(a: &[Action]) -> Vec<&Message> {
    a.iter()
        .filter_map(|a| match a {
            Action::Send(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn sent_notification(a: &[Action]) -> Option<&Notification> {
    sent(a).into_iter().find_map(|m| match m {
        Message::Notification(n) => Some(n),
        _ => None,
    })
}

fn codes(a: &[Action]) -> Option<(u8, u8)> {
    sent_notification(a).map(|n| (n.code, n.subcode))
}

fn armed(a: &[Action], t: Timer) -> Option<u64> {
    a.iter().rev().find_map(|a| match a {
        Action::ArmTimer(x, ms) if *x == t => Some(*ms),
        _ => None,
    })
}

fn has(a: &[Action], want: &Action) -> bool {
    a.contains(want)
}

fn session_down(a: &[Action]) -> Option<(&DownReason, &[Family])> {
    a.iter().find_map(|a| match a {
        Action::SessionDown { reason, stale } => Some((reason, stale.as_slice())),
        _ => None,
    })
}

fn flushed(a: &[Action]) -> Vec<Family> {
    a.iter()
        .filter_map(|a| match a {
            Action::FlushStale(f) => Some(*f),
            _ => None,
        })
        .collect()
}

// ---- Idle -----------------------------------------------------------------

#[test]
fn idle_manual_start_connects() {
    let mut t = T::new(ours());
    let a = t.ev(Event::ManualStart);
    assert_eq!(t.state(), State::Connect);
    assert_eq!(a, vec![Action::ArmTimer(Timer::ConnectRetry, 120_000), Action::Connect]);
}

#[test]
fn idle_manual_start_passive_waits_in_active_without_connecting() {
    let t = T::to_active();
    assert!(!t.fsm.is_armed(Timer::ConnectRetry));
    assert!(t.fsm.accepts_connection());
}

#[test]
fn idle_automatic_start_connects() {
    let mut t = T::new(ours());
    let a = t.ev(Event::AutomaticStart);
    assert_eq!(t.state(), State::Connect);
    assert!(has(&a, &Action::Connect));
}

#[test]
fn idle_ignores_stop_and_other_events() {
    let mut t = T::new(ours());
    for e in [
        Event::ManualStop(None),
        Event::AutomaticStop(Notification::cease(1)),
        Event::TcpConnectionConfirmed,
        Event::TcpCrAcked,
        Event::TcpConnectionFails,
        Event::MessageReceived(keepalive()),
        Event::TimerExpired(Timer::Hold),
        Event::TimerExpired(Timer::ConnectRetry),
        Event::SendStalled,
        Event::OpenCollisionDump,
    ] {
        assert_eq!(t.ev(e.clone()), vec![], "{e:?}");
        assert_eq!(t.state(), State::Idle);
    }
    assert!(!t.fsm.accepts_connection());
}

// ---- Connect --------------------------------------------------------------

#[test]
fn connect_manual_stop_goes_idle() {
    let mut t = T::to_connect(ours());
    let a = t.ev(Event::ManualStop(None));
    assert_eq!(t.state(), State::Idle);
    assert_eq!(a, vec![Action::CancelConnect, Action::CancelTimer(Timer::ConnectRetry)]);
    assert_eq!(t.fsm.connect_retry_counter(), 0);
}

#[test]
fn connect_retry_expiry_redials() {
    let mut t = T::to_connect(ours());
    let a = t.fire(Timer::ConnectRetry);
    assert_eq!(t.state(), State::Connect);
    assert_eq!(
        a,
        vec![Action::CancelConnect, Action::ArmTimer(Timer::ConnectRetry, 120_000), Action::Connect]
    );
}

#[test]
fn connect_tcp_cr_acked_sends_open() {
    let mut t = T::to_connect(ours());
    let a = t.ev(Event::TcpCrAcked);
    assert_eq!(t.state(), State::OpenSent);
    assert_eq!(t.fsm.origin(), Some(Origin::Local));
    assert_eq!(
        a,
        vec![
            Action::CancelTimer(Timer::ConnectRetry),
            Action::Send(Message::Open(ours().open())),
            Action::ArmTimer(Timer::Hold, OPEN_SENT_HOLD_MS),
        ]
    );
}

#[test]
fn connect_tcp_connection_confirmed_takes_the_inbound_connection() {
    let mut t = T::to_connect(ours());
    let a = t.ev(Event::TcpConnectionConfirmed);
    assert_eq!(t.state(), State::OpenSent);
    assert_eq!(t.fsm.origin(), Some(Origin::Remote));
    assert_eq!(a[0], Action::CancelConnect);
    assert!(matches!(sent(&a)[..], [Message::Open(_)]));
}

#[test]
fn connect_tcp_failure_waits_in_active_with_backoff() {
    let mut t = T::to_connect(ours());
    let a = t.ev(Event::TcpConnectionFails);
    assert_eq!(t.state(), State::Active);
    assert_eq!(armed(&a, Timer::ConnectRetry), Some(1_000));
    assert!(t.fsm.accepts_connection());
}

#[test]
fn connect_unexpected_message_goes_idle_and_counts() {
    let mut t = T::to_connect(ours());
    let a = t.msg(keepalive());
    assert_eq!(t.state(), State::Idle);
    assert!(has(&a, &Action::CancelConnect));
    assert_eq!(t.fsm.connect_retry_counter(), 1);
    assert_eq!(armed(&a, Timer::IdleHold), Some(1_000));
}

// ---- Active ---------------------------------------------------------------

#[test]
fn active_manual_stop_goes_idle() {
    let mut t = T::to_active();
    let a = t.ev(Event::ManualStop(Some("bye".into())));
    assert_eq!(t.state(), State::Idle);
    assert!(sent(&a).is_empty(), "no connection to send on");
}

#[test]
fn active_connect_retry_expiry_dials() {
    let mut t = T::to_connect(ours());
    t.ev(Event::TcpConnectionFails);
    let a = t.fire(Timer::ConnectRetry);
    assert_eq!(t.state(), State::Connect);
    assert_eq!(a, vec![Action::ArmTimer(Timer::ConnectRetry, 120_000), Action::Connect]);
}

#[test]
fn active_tcp_connection_confirmed_sends_open() {
    let mut t = T::to_active();
    let a = t.ev(Event::TcpConnectionConfirmed);
    assert_eq!(t.state(), State::OpenSent);
    assert!(matches!(sent(&a)[..], [Message::Open(_)]));
    assert_eq!(armed(&a, Timer::Hold), Some(OPEN_SENT_HOLD_MS));
}

#[test]
fn active_tcp_failure_goes_idle_and_counts() {
    let mut t = T::to_active();
    let a = t.ev(Event::TcpConnectionFails);
    assert_eq!(t.state(), State::Idle);
    assert_eq!(t.fsm.connect_retry_counter(), 1);
    assert!(armed(&a, Timer::IdleHold).is_some());
}

#[test]
fn active_unexpected_message_goes_idle() {
    let mut t = T::to_active();
    t.msg(good_update());
    assert_eq!(t.state(), State::Idle);
    assert_eq!(t.fsm.connect_retry_counter(), 1);
}

// ---- OpenSent -------------------------------------------------------------

#[test]
fn open_sent_manual_stop_sends_admin_shutdown_with_message() {
    let mut t = T::to_open_sent(ours());
    let a = t.ev(Event::ManualStop(Some("maintenance".into())));
    assert_eq!(t.state(), State::Idle);
    let n = sent_notification(&a).unwrap();
    assert_eq!((n.code, n.subcode), (code::CEASE, cease_subcode::ADMINISTRATIVE_SHUTDOWN));
    assert_eq!(n.shutdown_message(), Some(Ok("maintenance")));
    assert!(has(&a, &Action::Close));
    assert!(!t.fsm.is_armed(Timer::IdleHold), "a manual stop stays down");
    assert_eq!(t.fsm.connect_retry_counter(), 0);
}

#[test]
fn open_sent_automatic_stop_sends_its_notification_and_restarts_later() {
    let mut t = T::to_open_sent(ours());
    let a = t.ev(Event::AutomaticStop(Notification::cease(cease_subcode::OUT_OF_RESOURCES)));
    assert_eq!(t.state(), State::Idle);
    assert_eq!(codes(&a), Some((code::CEASE, cease_subcode::OUT_OF_RESOURCES)));
    assert_eq!(t.fsm.connect_retry_counter(), 1);
    assert!(t.fsm.is_armed(Timer::IdleHold));
}

#[test]
fn open_sent_hold_timer_expiry_sends_notification() {
    let mut t = T::to_open_sent(ours());
    let a = t.fire(Timer::Hold);
    assert_eq!(t.now, 1_000 + OPEN_SENT_HOLD_MS);
    assert_eq!(codes(&a), Some((code::HOLD_TIMER_EXPIRED, 0)));
    assert!(has(&a, &Action::Close));
    assert_eq!(t.state(), State::Idle);
    assert!(matches!(
        a.last(),
        Some(Action::ConnectionFailed(_)) | Some(Action::ArmTimer(Timer::IdleHold, _))
    ));
}

#[test]
fn open_sent_second_connection_is_not_taken() {
    let mut t = T::to_open_sent(ours());
    assert_eq!(t.ev(Event::TcpConnectionConfirmed), vec![]);
    assert_eq!(t.ev(Event::TcpCrAcked), vec![]);
    assert_eq!(t.state(), State::OpenSent);
    assert!(!t.fsm.accepts_connection());
}

#[test]
fn open_sent_tcp_failure_goes_active() {
    let mut t = T::to_open_sent(ours());
    let a = t.ev(Event::TcpConnectionFails);
    assert_eq!(t.state(), State::Active);
    assert!(has(&a, &Action::Close));
    assert!(has(&a, &Action::CancelTimer(Timer::Hold)));
    assert_eq!(armed(&a, Timer::ConnectRetry), Some(1_000));
    assert_eq!(t.fsm.connect_retry_counter(), 0);
}

#[test]
fn open_sent_valid_open_goes_open_confirm() {
    let mut t = T::to_open_sent(ours());
    let a = t.msg(open_from(&theirs()));
    assert_eq!(t.state(), State::OpenConfirm);
    assert_eq!(
        a,
        vec![
            Action::Send(Message::Keepalive),
            Action::ArmTimer(Timer::Hold, 90_000),
            Action::ArmTimer(Timer::Keepalive, 30_000),
        ]
    );
    assert_eq!(t.fsm.peer_id(), Some(THEM));
    assert!(t.fsm.rx_context().four_octet_as);
}

#[test]
fn open_sent_hold_zero_runs_no_timers() {
    let mut peer = theirs();
    peer.hold_time = 0;
    let mut t = T::to_open_sent(ours());
    let a = t.msg(open_from(&peer));
    assert_eq!(a, vec![Action::Send(Message::Keepalive), Action::CancelTimer(Timer::Hold)]);
    t.msg(keepalive());
    assert_eq!(t.state(), State::Established);
    assert!(!t.fsm.is_armed(Timer::Hold) && !t.fsm.is_armed(Timer::Keepalive));
    let a = t.msg(keepalive());
    assert!(a.is_empty());
}

#[test]
fn open_sent_header_error_sends_header_notification() {
    let mut t = T::to_open_sent(ours());
    let mut bad = open_from(&theirs());
    bad[0] = 0;
    let a = t.msg(bad);
    assert_eq!(codes(&a), Some((1, 1)));
    assert_eq!(t.state(), State::Idle);
    assert!(matches!(a.iter().find(|a| matches!(a, Action::ConnectionFailed(_))),
        Some(Action::ConnectionFailed(DownReason::MalformedMessage(e))) if e.error.offset == 0));
}

#[test]
fn open_sent_open_error_sends_open_notification() {
    let mut wrong = theirs();
    wrong.local_as = 65003;
    let mut t = T::to_open_sent(ours());
    let a = t.msg(open_from(&wrong));
    assert_eq!(codes(&a), Some((2, 2)));
    assert_eq!(t.state(), State::Idle);
    assert_eq!(t.fsm.connect_retry_counter(), 1);
}

#[test]
fn open_sent_collision_dump_sends_cease_7_and_does_not_restart() {
    let mut t = T::to_open_sent(ours());
    let a = t.ev(Event::OpenCollisionDump);
    assert_eq!(codes(&a), Some((code::CEASE, cease_subcode::CONNECTION_COLLISION_RESOLUTION)));
    assert_eq!(t.state(), State::Idle);
    assert!(!t.fsm.is_armed(Timer::IdleHold));
}

#[test]
fn open_sent_notification_version_error_does_not_count() {
    let mut t = T::to_open_sent(ours());
    let a = t.msg(notification(Notification::new(2, 1, vec![0, 4])));
    assert_eq!(t.state(), State::Idle);
    assert!(sent(&a).is_empty(), "no NOTIFICATION in answer to one");
    assert_eq!(t.fsm.connect_retry_counter(), 0);
}

#[test]
fn open_sent_notification_goes_idle() {
    let mut t = T::to_open_sent(ours());
    let a = t.msg(notification(Notification::cease(cease_subcode::CONNECTION_REJECTED)));
    assert_eq!(t.state(), State::Idle);
    assert!(sent(&a).is_empty());
    assert!(has(&a, &Action::Close));
    assert_eq!(t.fsm.connect_retry_counter(), 1);
}

#[test]
fn open_sent_keepalive_or_update_is_an_fsm_error() {
    for (bytes, kind) in [(keepalive(), 4), (good_update(), 2), (route_refresh(V4, Subtype::NORMAL), 5)] {
        let mut t = T::to_open_sent(ours());
        let a = t.msg(bytes);
        let n = sent_notification(&a).unwrap();
        assert_eq!((n.code, n.subcode, n.data.clone()), (5, 1, vec![kind]));
        assert_eq!(t.state(), State::Idle);
    }
}

// ---- OpenConfirm ----------------------------------------------------------

#[test]
fn open_confirm_manual_stop_sends_cease() {
    let mut t = T::to_open_confirm();
    let a = t.ev(Event::ManualStop(None));
    // Not established yet: the N bit is negotiated, so the Cease is a Hard Reset.
    let n = sent_notification(&a).unwrap();
    assert_eq!((n.code, n.subcode), (code::CEASE, cease_subcode::HARD_RESET));
    assert_eq!(n.hard_reset_inner().map(|i| (i.code, i.subcode)), Some((6, 2)));
    assert_eq!(t.state(), State::Idle);
    assert!(!t.fsm.is_armed(Timer::Keepalive) && !t.fsm.is_armed(Timer::Hold));
}

#[test]
fn open_confirm_automatic_stop() {
    let mut t = T::to_open_confirm();
    let a = t.ev(Event::AutomaticStop(Notification::cease(cease_subcode::OTHER_CONFIGURATION_CHANGE)));
    assert_eq!(codes(&a), Some((6, 6)));
    assert_eq!(t.state(), State::Idle);
    assert_eq!(t.fsm.connect_retry_counter(), 1);
}

#[test]
fn open_confirm_hold_expiry() {
    let mut t = T::to_open_confirm();
    let a = t.fire(Timer::Hold);
    assert_eq!(codes(&a), Some((4, 0)));
    assert_eq!(t.state(), State::Idle);
}

#[test]
fn open_confirm_keepalive_timer_sends_keepalive() {
    let mut t = T::to_open_confirm();
    let a = t.fire(Timer::Keepalive);
    assert_eq!(a, vec![Action::Send(Message::Keepalive), Action::ArmTimer(Timer::Keepalive, 30_000)]);
    assert_eq!(t.state(), State::OpenConfirm);
}

#[test]
fn open_confirm_tcp_failure_goes_idle() {
    let mut t = T::to_open_confirm();
    let a = t.ev(Event::TcpConnectionFails);
    assert_eq!(t.state(), State::Idle);
    assert!(has(&a, &Action::ConnectionFailed(DownReason::ConnectionLost)));
    assert_eq!(t.fsm.connect_retry_counter(), 1);
}

#[test]
fn open_confirm_notification_goes_idle() {
    let mut t = T::to_open_confirm();
    let n = Notification::new(2, 2, vec![]);
    let a = t.msg(notification(n.clone()));
    assert_eq!(t.state(), State::Idle);
    assert!(has(&a, &Action::ConnectionFailed(DownReason::NotificationReceived(n))));
}

#[test]
fn open_confirm_second_open_is_an_fsm_error() {
    let mut t = T::to_open_confirm();
    let a = t.msg(open_from(&theirs()));
    assert_eq!(sent_notification(&a).map(|n| (n.code, n.subcode, n.data.clone())), Some((5, 2, vec![1])));
}

#[test]
fn open_confirm_update_is_an_fsm_error() {
    let mut t = T::to_open_confirm();
    let a = t.msg(good_update());
    assert_eq!(codes(&a), Some((5, 2)));
}

#[test]
fn open_confirm_header_error() {
    let mut t = T::to_open_confirm();
    let mut bad = keepalive();
    bad[17] = 20; // KEEPALIVE of length 20
    let a = t.msg(bad);
    assert_eq!(codes(&a), Some((1, 2)));
}

#[test]
fn open_confirm_collision_dump() {
    let mut t = T::to_open_confirm();
    let a = t.ev(Event::OpenCollisionDump);
    assert_eq!(codes(&a), Some((6, 7)), "collision resolution is never wrapped in a Hard Reset");
}

#[test]
fn open_confirm_keepalive_establishes() {
    let mut t = T::to_open_confirm();
    let a = t.msg(keepalive());
    assert_eq!(t.state(), State::Established);
    assert_eq!(a[0], Action::ArmTimer(Timer::Hold, 90_000));
    let Action::SessionEstablished(n) = &a[1] else { panic!("{a:?}") };
    assert_eq!((n.hold_time, n.keepalive, n.peer_asn), (90, 30, 65002));
    assert_eq!(n.families, vec![V4, V6]);
}

// ---- Established ----------------------------------------------------------

#[test]
fn established_manual_stop_sends_rfc_9003_message_and_flushes() {
    let mut us = ours();
    us.graceful_restart = None;
    let mut t = T::to_established_with(us, &theirs());
    let a = t.ev(Event::ManualStop(Some("upgrading to 2.0".into())));
    let n = sent_notification(&a).unwrap();
    assert_eq!(n.shutdown_message(), Some(Ok("upgrading to 2.0")));
    let (reason, stale) = session_down(&a).unwrap();
    assert!(matches!(reason, DownReason::NotificationSent(_)));
    assert!(stale.is_empty());
    assert_eq!(t.state(), State::Idle);
    assert!(t.fsm.next_deadline().is_none(), "nothing left running");
}

#[test]
fn established_manual_stop_with_n_bit_is_a_hard_reset_carrying_the_message() {
    let mut t = T::to_established();
    let a = t.ev(Event::ManualStop(Some("bye".into())));
    let n = sent_notification(&a).unwrap();
    assert_eq!(n.subcode, cease_subcode::HARD_RESET);
    assert_eq!(n.hard_reset_inner().unwrap().shutdown_message(), Some(Ok("bye")));
    assert_eq!(session_down(&a).unwrap().1, &[] as &[Family]);
}

#[test]
fn established_automatic_stop() {
    let mut t = T::to_established();
    let a = t.ev(Event::AutomaticStop(Notification::max_prefixes_reached(V4, 100)));
    let n = sent_notification(&a).unwrap();
    assert_eq!(n.subcode, cease_subcode::HARD_RESET, "max prefixes is forced to Hard Reset");
    assert!(session_down(&a).unwrap().1.is_empty());
    assert_eq!(t.fsm.connect_retry_counter(), 1);
    assert!(t.fsm.is_armed(Timer::IdleHold));
}

#[test]
fn established_hold_expiry() {
    let mut t = T::to_established();
    let a = t.fire(Timer::Hold);
    assert_eq!(codes(&a), Some((4, 0)));
    assert_eq!(t.state(), State::Idle);
    assert!(session_down(&a).is_some());
}

#[test]
fn established_keepalive_timer_sends_keepalive() {
    let mut t = T::to_established();
    let a = t.fire(Timer::Keepalive);
    assert_eq!(a, vec![Action::Send(Message::Keepalive), Action::ArmTimer(Timer::Keepalive, 30_000)]);
}

#[test]
fn established_keepalive_and_update_restart_the_hold_timer() {
    let mut t = T::to_established();
    t.now += 80_000;
    let a = t.msg(keepalive());
    assert_eq!(a, vec![Action::ArmTimer(Timer::Hold, 90_000)]);
    assert_eq!(t.fsm.deadline(Timer::Hold), Some(t.now + 90_000));
    t.now += 80_000;
    let a = t.msg(good_update());
    assert_eq!(a[0], Action::ArmTimer(Timer::Hold, 90_000));
    let Action::Routes(d) = &a[1] else { panic!("{a:?}") };
    assert_eq!(d.update.nlri.len(), 1);
}

#[test]
fn established_malformed_update_resets_with_its_notification() {
    let mut t = T::to_established();
    let a = t.msg(reset_update());
    assert_eq!(codes(&a), Some((3, 10)));
    assert_eq!(t.state(), State::Idle);
    let (reason, _) = session_down(&a).unwrap();
    assert!(matches!(reason, DownReason::MalformedMessage(_)));
}

#[test]
fn established_tcp_failure() {
    let mut t = T::to_established();
    let a = t.ev(Event::TcpConnectionFails);
    assert_eq!(session_down(&a).unwrap().0, &DownReason::ConnectionLost);
    assert_eq!(t.state(), State::Idle);
}

#[test]
fn established_notification() {
    let mut t = T::to_established();
    let a = t.msg(notification(Notification::admin_shutdown("later")));
    assert!(sent(&a).is_empty());
    let (reason, _) = session_down(&a).unwrap();
    assert_eq!(reason.notification().unwrap().shutdown_message(), Some(Ok("later")));
}

#[test]
fn established_open_is_an_fsm_error() {
    let mut t = T::to_established();
    let a = t.msg(open_from(&theirs()));
    assert_eq!(codes(&a), Some((5, 3)));
}

#[test]
fn established_collision_dump() {
    let mut t = T::to_established();
    let a = t.ev(Event::OpenCollisionDump);
    assert_eq!(codes(&a), Some((6, 7)));
    assert_eq!(t.state(), State::Idle);
}

#[test]
fn established_ignores_a_second_connection() {
    let mut t = T::to_established();
    assert!(t.ev(Event::TcpConnectionConfirmed).is_empty());
    assert_eq!(t.state(), State::Established);
}

#[test]
fn route_refresh_is_passed_on_only_when_negotiated() {
    let mut t = T::to_established();
    let a = t.msg(route_refresh(V6, Subtype::NORMAL));
    assert!(has(&a, &Action::RouteRefresh(RouteRefresh::new(V6))));
    let a = t.msg(route_refresh(V6, Subtype::BEGIN));
    assert!(has(&a, &Action::RouteRefresh(RouteRefresh::begin(V6))));
    // A family that was not negotiated is ignored (RFC 2918 §4).
    let a = t.msg(route_refresh(Family::L2VPN_EVPN, Subtype::NORMAL));
    assert!(!a.iter().any(|a| matches!(a, Action::RouteRefresh(_))));
    let mut peer = theirs();
    peer.enhanced_route_refresh = false;
    let mut t = T::to_established_with(ours(), &peer);
    let a = t.msg(route_refresh(V4, Subtype::END));
    assert!(!a.iter().any(|a| matches!(a, Action::RouteRefresh(_))));
}

#[test]
fn afi_safi_disable_drops_the_family_and_keeps_the_session() {
    let mut t = T::to_established();
    let a = t.msg(disable_v6_update());
    assert!(has(&a, &Action::FamilyDisabled(V6)));
    let Some(Action::Routes(d)) = a.iter().find(|a| matches!(a, Action::Routes(_))) else { panic!("{a:?}") };
    assert_eq!(d.update.nlri.len(), 1);
    assert_eq!(t.state(), State::Established);
    assert_eq!(t.fsm.disabled_families(), &[V6]);
    // Later IPv6 End-of-RIB is ignored for the disabled family.
    assert!(!t.msg(eor(V6)).iter().any(|a| matches!(a, Action::EndOfRib(_))));
}

#[test]
fn afi_safi_disable_of_the_last_family_resets() {
    let mut us = ours();
    us.families = vec![V6];
    let mut peer = theirs();
    peer.families = vec![V6];
    let mut t = T::to_established_with(us, &peer);
    let a = t.msg(disable_v6_update());
    assert!(has(&a, &Action::FamilyDisabled(V6)));
    assert_eq!(codes(&a), Some((3, 9)));
    assert_eq!(t.state(), State::Idle);
}

// ---- The sender's checks ----------------------------------------------------

/// The receive context names the peer (external, its AS, enforce-first-as,
/// our end of the connection), so the decoder checks what it sends: here
/// a next hop that is our own address, and a path not starting with 65002.
#[test]
fn the_receive_context_knows_the_sender() {
    let mut t = T::to_connect(ours());
    t.fsm.set_local_address("192.0.2.1".parse().unwrap());
    t.ev(Event::TcpCrAcked);
    t.msg(open_from(&theirs()));
    t.msg(keepalive());
    assert_eq!(t.state(), State::Established);
    let sender = t.fsm.rx_context().sender.clone().unwrap();
    assert_eq!(
        sender,
        mdc_bgp::context::Sender {
            external: true,
            peer_as: 65002,
            enforce_first_as: true,
            local_address: Some("192.0.2.1".parse().unwrap()),
            direct: false,
        }
    );
    assert_eq!(t.fsm.tx_context().sender, None, "what we send is not checked");
    let routes = |a: &[Action]| {
        a.iter()
            .find_map(|a| match a {
                Action::Routes(d) => Some(d.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{a:?}"))
    };
    let d = routes(&t.msg(good_update()));
    assert_eq!(d.update.nlri.len(), 1);
    let mut attrs = v4_attrs();
    attrs[2] = attr(0x40, attr_code::NEXT_HOP, &[192, 0, 2, 1]);
    let d = routes(&t.msg(raw_update(&attrs, &[24, 198, 51, 100])));
    assert!(d.update.nlri.is_empty() && d.update.withdrawn.len() == 1, "{d:?}");
    let mut attrs = v4_attrs();
    attrs[1] = attr(0x40, attr_code::AS_PATH, &[2, 1, 0, 0, 0xfd, 0xeb]);
    let d = routes(&t.msg(raw_update(&attrs, &[24, 198, 51, 100])));
    assert!(d.update.nlri.is_empty() && d.update.withdrawn.len() == 1, "{d:?}");
    // Switched off in the configuration, the path is taken.
    let mut c = ours();
    c.enforce_first_as = false;
    let mut t = T::to_established_with(c, &theirs());
    assert!(!t.fsm.rx_context().sender.as_ref().unwrap().enforce_first_as);
    assert_eq!(routes(&t.msg(raw_update(&attrs, &[24, 198, 51, 100]))).update.nlri.len(), 1);
    // An internal peer.
    let us = PeerConfig::new(65001, RemoteAs::Internal, US);
    let peer = PeerConfig::new(65001, RemoteAs::Internal, THEM);
    let t = T::to_established_with(us, &peer);
    let s = t.fsm.rx_context().sender.clone().unwrap();
    assert_eq!((s.external, s.peer_as, s.local_address), (false, 65001, None));
}

// ---- End-of-RIB -----------------------------------------------------------

/// An UPDATE whose only attribute is a malformed MP_UNREACH_NLRI is an
/// AFI/SAFI disable, not an IPv4 End-of-RIB (RFC 7606 §7.11).
#[test]
fn a_malformed_mp_unreach_alone_is_not_an_end_of_rib() {
    let mut t = T::to_established();
    // IPv6 unicast, one prefix of length 200.
    let bad = raw_update(&[attr(0x80, attr_code::MP_UNREACH_NLRI, &[0, 2, 1, 200, 0x20, 0x01])], &[]);
    let a = t.msg(bad);
    assert!(has(&a, &Action::FamilyDisabled(V6)), "{a:?}");
    assert!(!a.iter().any(|a| matches!(a, Action::EndOfRib(_))), "{a:?}");
    // It goes up with nothing to apply, for its diagnostics (the log).
    let routes: Vec<_> = a
        .iter()
        .filter_map(|a| match a {
            Action::Routes(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(routes.len(), 1, "{a:?}");
    assert_eq!(routes[0].update, Update::default());
    assert_eq!(routes[0].diagnostics.len(), 1);
    assert_eq!(t.state(), State::Established);
    // The real IPv4 marker still counts.
    assert!(has(&t.msg(eor(V4)), &Action::EndOfRib(V4)));
}

#[test]
fn end_of_rib_is_reported_per_family() {
    let mut t = T::to_established();
    let a = t.msg(eor(V4));
    assert_eq!(a, vec![Action::ArmTimer(Timer::Hold, 90_000), Action::EndOfRib(V4)]);
    let a = t.msg(eor(V6));
    assert!(has(&a, &Action::EndOfRib(V6)));
    // What we send: one marker per negotiated family.
    let n = t.fsm.negotiated().unwrap();
    let markers: Vec<_> = n.end_of_rib_markers().iter().map(Update::end_of_rib).collect();
    assert_eq!(markers, vec![Some(V4), Some(V6)]);
}

// ---- Timers: backoff, send hold --------------------------------------------

#[test]
fn backoff_doubles_up_to_connect_retry_and_resets_after_a_stable_session() {
    let mut t = T::to_connect(ours());
    let mut delays = Vec::new();
    for _ in 0..10 {
        // Dial fails: wait in Active, then dial again.
        let a = t.ev(Event::TcpConnectionFails);
        delays.push(armed(&a, Timer::ConnectRetry).unwrap() / 1000);
        t.fire(Timer::ConnectRetry);
        assert_eq!(t.state(), State::Connect);
    }
    assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 64, 120, 120, 120]);
    // A session that fails quickly keeps the backoff growing (IdleHold).
    t.ev(Event::TcpCrAcked);
    t.msg(open_from(&theirs()));
    t.msg(keepalive());
    t.now += 1_000;
    let a = t.ev(Event::TcpConnectionFails);
    assert_eq!(armed(&a, Timer::IdleHold), Some(120_000));
    // IdleHold expiry restarts automatically.
    let a = t.fire(Timer::IdleHold);
    assert!(has(&a, &Action::Connect));
    // A session that lasts longer than stable_ms resets it.
    t.ev(Event::TcpCrAcked);
    t.msg(open_from(&theirs()));
    t.msg(keepalive());
    t.now += 61_000;
    let a = t.ev(Event::TcpConnectionFails);
    assert_eq!(armed(&a, Timer::IdleHold), Some(1_000));
}

#[test]
fn automatic_start_waits_for_the_idle_hold_timer() {
    let mut t = T::to_active();
    t.ev(Event::TcpConnectionFails);
    assert!(t.fsm.is_armed(Timer::IdleHold));
    assert!(t.ev(Event::AutomaticStart).is_empty());
    assert_eq!(t.state(), State::Idle);
    // A manual start does not wait.
    t.ev(Event::ManualStart);
    assert_eq!(t.state(), State::Active);
    assert!(!t.fsm.is_armed(Timer::IdleHold));
}

#[test]
fn send_hold_timer_closes_a_peer_that_stops_reading() {
    let mut t = T::to_established();
    let a = t.ev(Event::SendStalled);
    assert_eq!(a, vec![Action::ArmTimer(Timer::SendHold, 480_000)]);
    // Stalling again does not push the deadline out.
    t.now += 10_000;
    assert!(t.ev(Event::SendStalled).is_empty());
    // Keepalives keep being generated while stalled; the peer's keepalives
    // keep the hold timer alive, but the send hold timer fires.
    t.msg(keepalive());
    let a = t.fire(Timer::SendHold);
    assert_eq!(t.now, 1_000 + 480_000);
    assert_eq!(codes(&a), Some((code::SEND_HOLD_TIMER_EXPIRED, 0)));
    assert_eq!(t.state(), State::Idle);
    assert!(has(&a, &Action::Close));
}

#[test]
fn send_progress_restarts_or_stops_the_send_hold_timer() {
    let mut peer = theirs();
    peer.hold_time = 300;
    let mut us = ours();
    us.hold_time = 300;
    let mut t = T::to_established_with(us, &peer);
    t.ev(Event::SendStalled);
    t.now += 100_000;
    let a = t.ev(Event::SendProgress { pending: true });
    assert_eq!(a, vec![Action::ArmTimer(Timer::SendHold, 600_000)], "2 × hold when above 8 min");
    let a = t.ev(Event::SendProgress { pending: false });
    assert_eq!(a, vec![Action::CancelTimer(Timer::SendHold)]);
    assert!(t.ev(Event::TimerExpired(Timer::SendHold)).is_empty(), "a late expiry is ignored");
    assert_eq!(t.state(), State::Established);
}

// ---- Graceful restart helper ----------------------------------------------

/// Our restart is over: the OPEN of the next connection has no R bit.
#[test]
fn restart_complete_clears_the_restart_state_bit_in_later_opens() {
    let mut us = ours();
    us.graceful_restart = Some(GracefulRestartConfig {
        forwarding_families: vec![V4],
        restarting: true,
        ..GracefulRestartConfig::default()
    });
    let mut t = T::to_connect(us);
    let a = t.ev(Event::TcpCrAcked);
    let open = |a: &[Action]| {
        sent(a)
            .into_iter()
            .find_map(|m| match m {
                Message::Open(o) => o.graceful_restart().cloned(),
                _ => None,
            })
            .unwrap()
    };
    assert!(open(&a).restart_state());
    t.fsm.restart_complete();
    // What the next connection sends.
    let gr = t.fsm.our_open().graceful_restart().cloned().unwrap();
    assert!(!gr.restart_state());
    assert_eq!(gr.families.iter().map(|f| (f.family, f.flags)).collect::<Vec<_>>(), vec![(V4, 0x80)]);
}

fn gr_peer(restart_time: u16, n_bit: bool) -> PeerConfig {
    let mut p = theirs();
    p.graceful_restart = Some(GracefulRestartConfig {
        restart_time,
        notification: n_bit,
        forwarding_families: vec![V4, V6],
        ..GracefulRestartConfig::default()
    });
    p
}

#[test]
fn gr_connection_loss_keeps_routes_stale_and_eor_flushes_per_family() {
    let peer = gr_peer(120, true);
    let mut t = T::to_established_with(ours(), &peer);
    let a = t.ev(Event::TcpConnectionFails);
    assert_eq!(session_down(&a).unwrap().1, &[V4, V6]);
    assert_eq!(armed(&a, Timer::GracefulRestart), Some(120_000));
    // The peer is back within its restart time.
    t.fire(Timer::IdleHold);
    t.ev(Event::TcpCrAcked);
    t.msg(open_from(&peer));
    let a = t.msg(keepalive());
    assert!(has(&a, &Action::CancelTimer(Timer::GracefulRestart)));
    assert_eq!(armed(&a, Timer::StalePath), Some(360_000));
    assert!(flushed(&a).is_empty());
    let a = t.msg(eor(V6));
    assert_eq!(flushed(&a), vec![V6]);
    assert_eq!(t.fsm.stale_families(), &[V4]);
    let a = t.msg(eor(V4));
    assert_eq!(flushed(&a), vec![V4]);
    assert!(has(&a, &Action::CancelTimer(Timer::StalePath)));
    assert!(t.fsm.stale_families().is_empty());
}

#[test]
fn gr_restart_timer_expiry_flushes_everything() {
    let mut t = T::to_established_with(ours(), &gr_peer(30, false));
    t.ev(Event::TcpConnectionFails);
    let a = t.fire(Timer::GracefulRestart);
    assert_eq!(flushed(&a), vec![V4, V6]);
    assert!(t.fsm.stale_families().is_empty());
}

#[test]
fn gr_families_without_forwarding_state_on_return_are_flushed_at_once() {
    let mut t = T::to_established_with(ours(), &gr_peer(120, true));
    t.ev(Event::TcpConnectionFails);
    t.fire(Timer::IdleHold);
    t.ev(Event::TcpCrAcked);
    let mut back = theirs();
    back.graceful_restart =
        Some(GracefulRestartConfig { forwarding_families: vec![V6], ..GracefulRestartConfig::default() });
    t.msg(open_from(&back));
    let a = t.msg(keepalive());
    assert_eq!(flushed(&a), vec![V4]);
    assert_eq!(t.fsm.stale_families(), &[V6]);
    // The stale path timer bounds the wait for End-of-RIB.
    let a = t.fire(Timer::StalePath);
    assert_eq!(flushed(&a), vec![V6]);
}

#[test]
fn gr_without_n_bit_a_notification_flushes() {
    let mut t = T::to_established_with(ours(), &gr_peer(120, false));
    let a = t.msg(notification(Notification::cease(cease_subcode::ADMINISTRATIVE_RESET)));
    assert!(session_down(&a).unwrap().1.is_empty());
    assert!(!t.fsm.is_armed(Timer::GracefulRestart));
}

#[test]
fn gr_with_n_bit_a_notification_keeps_routes_but_hard_reset_flushes() {
    let mut t = T::to_established_with(ours(), &gr_peer(120, true));
    let a = t.fire(Timer::Hold);
    assert_eq!(codes(&a), Some((4, 0)), "hold timer expiry is not wrapped");
    assert_eq!(session_down(&a).unwrap().1, &[V4, V6]);
    let mut t = T::to_established_with(ours(), &gr_peer(120, true));
    let hard = Notification::hard_reset(Notification::cease(cease_subcode::ADMINISTRATIVE_RESET));
    let a = t.msg(notification(hard));
    assert!(session_down(&a).unwrap().1.is_empty());
    // Sending one: a malformed UPDATE resets with UPDATE/10, not a Hard
    // Reset, so the routes stay; a max-prefix stop is a Hard Reset.
    let mut t = T::to_established_with(ours(), &gr_peer(120, true));
    let a = t.msg(reset_update());
    assert_eq!(session_down(&a).unwrap().1, &[V4, V6]);
    let mut t = T::to_established_with(ours(), &gr_peer(120, true));
    let a = t.ev(Event::AutomaticStop(Notification::max_prefixes_reached(V4, 10)));
    assert!(session_down(&a).unwrap().1.is_empty());
}

#[test]
fn gr_hard_reset_while_stale_flushes_at_once() {
    let peer = gr_peer(120, true);
    let mut t = T::to_established_with(ours(), &peer);
    t.ev(Event::TcpConnectionFails);
    t.fire(Timer::IdleHold);
    t.ev(Event::TcpCrAcked);
    let hard = Notification::hard_reset(Notification::cease(cease_subcode::PEER_DECONFIGURED));
    let a = t.msg(notification(hard));
    assert_eq!(flushed(&a), vec![V4, V6]);
    assert!(!t.fsm.is_armed(Timer::GracefulRestart));
}

#[test]
fn gr_manual_stop_while_stale_flushes() {
    let mut t = T::to_established_with(ours(), &gr_peer(120, true));
    t.ev(Event::TcpConnectionFails);
    let a = t.ev(Event::ManualStop(None));
    assert_eq!(flushed(&a), vec![V4, V6]);
    assert!(t.fsm.next_deadline().is_none());
}

#[test]
fn gr_needs_our_capability_too() {
    let mut us = ours();
    us.graceful_restart = None;
    let mut t = T::to_established_with(us, &gr_peer(120, true));
    let a = t.ev(Event::TcpConnectionFails);
    assert!(session_down(&a).unwrap().1.is_empty());
}

// ---- Collisions (RFC 4271 §6.8) -------------------------------------------

/// Our outgoing connection in OpenConfirm and the peer's incoming one in
/// OpenSent/OpenConfirm, with the peer's BGP identifier `peer_id`.
fn collide(peer_id: Ipv4Addr) -> (Fsm, Fsm, PeerConfig) {
    let mut peer = theirs();
    peer.router_id = peer_id;
    let mut out = Fsm::new(ours()).unwrap();
    out.handle(Event::ManualStart, 0);
    out.handle(Event::TcpCrAcked, 1);
    let (mut inbound, a) = Fsm::new_inbound(ours(), 2).unwrap();
    assert!(matches!(sent(&a)[..], [Message::Open(_)]));
    assert_eq!(inbound.origin(), Some(Origin::Remote));
    out.handle(Event::MessageReceived(open_from(&peer)), 3);
    inbound.handle(Event::MessageReceived(open_from(&peer)), 4);
    assert_eq!((out.state(), inbound.state()), (State::OpenConfirm, State::OpenConfirm));
    (out, inbound, peer)
}

#[test]
fn collision_closes_the_connection_opened_by_the_lower_identifier() {
    // We are 192.0.2.1, the peer is higher: our outgoing connection closes.
    let (mut out, mut inbound, _) = collide(Ipv4Addr::new(192, 0, 2, 200));
    let r = resolve_collision(&mut out, &mut inbound, 5).unwrap();
    assert_eq!(r.closed, Side::First);
    assert_eq!(codes(&r.closed_actions), Some((6, 7)));
    assert!(has(&r.closed_actions, &Action::Close));
    assert_eq!((out.state(), inbound.state()), (State::Idle, State::OpenConfirm));
    // The peer is lower: the connection it opened closes.
    let (mut out, mut inbound, _) = collide(Ipv4Addr::new(10, 0, 0, 1));
    let r = resolve_collision(&mut out, &mut inbound, 5).unwrap();
    assert_eq!(r.closed, Side::Second);
    assert_eq!((out.state(), inbound.state()), (State::OpenConfirm, State::Idle));
    // Argument order does not matter.
    let (mut out, mut inbound, _) = collide(Ipv4Addr::new(10, 0, 0, 1));
    let r = resolve_collision(&mut inbound, &mut out, 5).unwrap();
    assert_eq!(r.closed, Side::First);
    assert_eq!(inbound.state(), State::Idle);
}

#[test]
fn collision_with_equal_identifiers_compares_as_numbers() {
    // eBGP peers may share an identifier (RFC 6286): larger AS wins.
    let (mut out, mut inbound, _) = collide(US);
    let r = resolve_collision(&mut out, &mut inbound, 5).unwrap();
    // Peer AS 65002 > ours 65001: the connection we opened closes.
    assert_eq!(r.closed, Side::First);
}

#[test]
fn collision_is_resolved_with_one_side_still_in_open_sent() {
    let mut out = Fsm::new(ours()).unwrap();
    out.handle(Event::ManualStart, 0);
    out.handle(Event::TcpCrAcked, 1);
    let (mut inbound, _) = Fsm::new_inbound(ours(), 2).unwrap();
    assert!(resolve_collision(&mut out, &mut inbound, 3).is_none(), "no OPEN yet: nothing known");
    let mut peer = theirs();
    peer.router_id = Ipv4Addr::new(203, 0, 113, 1);
    inbound.handle(Event::MessageReceived(open_from(&peer)), 4);
    let r = resolve_collision(&mut out, &mut inbound, 5).unwrap();
    assert_eq!(r.closed, Side::First);
    assert_eq!(out.state(), State::Idle);
    assert!(!out.is_armed(Timer::IdleHold), "the loser does not restart");
}

#[test]
fn collision_with_an_established_session_closes_the_new_connection() {
    let mut t = T::to_established();
    let (mut inbound, _) = Fsm::new_inbound(ours(), t.now).unwrap();
    inbound.handle(Event::MessageReceived(open_from(&theirs())), t.now);
    let r = resolve_collision(&mut t.fsm, &mut inbound, t.now).unwrap();
    assert_eq!(r.closed, Side::Second);
    assert_eq!(t.state(), State::Established);
    assert!(r.survivor_actions.is_empty());
}

#[test]
fn collision_moves_pending_graceful_restart_to_the_survivor() {
    let peer = gr_peer(120, true);
    let mut t = T::to_established_with(ours(), &peer);
    t.ev(Event::TcpConnectionFails);
    t.fire(Timer::IdleHold);
    t.ev(Event::TcpCrAcked);
    t.msg(open_from(&peer));
    let (mut inbound, _) = Fsm::new_inbound(ours(), t.now).unwrap();
    inbound.handle(Event::MessageReceived(open_from(&peer)), t.now);
    // Peer id 192.0.2.2 > ours: our connection (with the stale state) loses.
    let r = resolve_collision(&mut t.fsm, &mut inbound, t.now + 10_000).unwrap();
    assert_eq!(r.closed, Side::First);
    assert!(has(&r.closed_actions, &Action::CancelTimer(Timer::GracefulRestart)));
    assert!(flushed(&r.closed_actions).is_empty());
    assert_eq!(inbound.stale_families(), &[V4, V6]);
    assert!(inbound.is_armed(Timer::GracefulRestart));
    // The survivor establishes and the End-of-RIB clears the stale routes.
    inbound.handle(Event::MessageReceived(keepalive()), t.now + 11_000);
    let a = inbound.handle(Event::MessageReceived(eor(V4)), t.now + 12_000);
    assert_eq!(flushed(&a), vec![V4]);
}

#[test]
fn inbound_fsm_restarts_only_once_it_survives_a_collision() {
    // A second connection that fails before any collision is resolved
    // never restarts by itself: the peer's main FSM does that.
    let (mut inbound, _) = Fsm::new_inbound(ours(), 0).unwrap();
    assert!(!inbound.restarts_automatically());
    inbound.handle(Event::MessageReceived(open_from(&theirs())), 1);
    inbound.handle(Event::TcpConnectionFails, 2);
    assert_eq!(inbound.state(), State::Idle);
    assert!(!inbound.is_armed(Timer::IdleHold));
    // The peer's id is higher: our outgoing connection loses, the inbound
    // one is the peer's FSM from now on and restarts as configured.
    let (mut out, mut inbound, peer) = collide(Ipv4Addr::new(192, 0, 2, 200));
    let r = resolve_collision(&mut out, &mut inbound, 5).unwrap();
    assert_eq!(r.closed, Side::First);
    assert!(inbound.restarts_automatically());
    inbound.handle(Event::MessageReceived(keepalive()), 6);
    assert_eq!(inbound.state(), State::Established);
    let a = inbound.handle(Event::TcpConnectionFails, 7);
    assert!(session_down(&a).is_some());
    assert_eq!(inbound.state(), State::Idle);
    assert!(inbound.is_armed(Timer::IdleHold), "the survivor restarts after the backoff");
    let d = inbound.deadline(Timer::IdleHold).unwrap();
    let a = inbound.handle(Event::TimerExpired(Timer::IdleHold), d);
    assert!(has(&a, &Action::Connect));
    assert_eq!(inbound.state(), State::Connect);
    // It dials the peer and runs the OPEN exchange like any main FSM.
    inbound.handle(Event::TcpCrAcked, d + 1);
    inbound.handle(Event::MessageReceived(open_from(&peer)), d + 2);
    inbound.handle(Event::MessageReceived(keepalive()), d + 3);
    assert_eq!(inbound.state(), State::Established);
}

#[test]
fn inbound_survivor_keeps_automatic_restart_off_when_configured_off() {
    let mut us = ours();
    us.automatic_restart = false;
    let mut peer = theirs();
    peer.router_id = Ipv4Addr::new(192, 0, 2, 200);
    let mut out = Fsm::new(us.clone()).unwrap();
    out.handle(Event::ManualStart, 0);
    out.handle(Event::TcpCrAcked, 1);
    let (mut inbound, _) = Fsm::new_inbound(us, 2).unwrap();
    inbound.handle(Event::MessageReceived(open_from(&peer)), 3);
    let r = resolve_collision(&mut out, &mut inbound, 4).unwrap();
    assert_eq!(r.closed, Side::First);
    assert!(!inbound.restarts_automatically());
    assert_eq!(inbound.state(), State::OpenConfirm);
    inbound.handle(Event::TcpConnectionFails, 5);
    assert_eq!(inbound.state(), State::Idle);
    assert!(!inbound.is_armed(Timer::IdleHold));
}

#[test]
fn collision_needs_different_origins_and_live_connections() {
    let mut a = Fsm::new(ours()).unwrap();
    let mut b = Fsm::new(ours()).unwrap();
    assert!(resolve_collision(&mut a, &mut b, 0).is_none());
    let (mut x, _) = Fsm::new_inbound(ours(), 0).unwrap();
    let (mut y, _) = Fsm::new_inbound(ours(), 0).unwrap();
    x.handle(Event::MessageReceived(open_from(&theirs())), 1);
    y.handle(Event::MessageReceived(open_from(&theirs())), 1);
    assert!(resolve_collision(&mut x, &mut y, 2).is_none());
}

// ---- Two FSMs talking ------------------------------------------------------

/// Deliver what `from` sent to `to`, encoded with `from`'s tx context.
fn deliver(actions: &[Action], from: &Fsm, to: &mut Fsm, now: u64) -> Vec<Action> {
    let mut out = Vec::new();
    for m in sent(actions) {
        for bytes in m.encode(from.tx_context()).unwrap() {
            out.extend(to.handle(Event::MessageReceived(bytes), now));
        }
    }
    out
}

#[test]
fn two_fsms_establish_with_each_other() {
    let mut us_cfg = ours();
    us_cfg.add_path = vec![AddPathFamily { family: V4, mode: AddPathMode::BOTH }];
    us_cfg.role = Some(Role::CUSTOMER);
    let mut peer_cfg = theirs();
    peer_cfg.passive = true;
    peer_cfg.add_path = vec![AddPathFamily { family: V4, mode: AddPathMode::RECEIVE }];
    peer_cfg.role = Some(Role::PROVIDER);
    let mut a = Fsm::new(us_cfg).unwrap();
    let mut b = Fsm::new(peer_cfg).unwrap();
    a.handle(Event::ManualStart, 0);
    b.handle(Event::ManualStart, 0);
    let a1 = a.handle(Event::TcpCrAcked, 1);
    let b1 = b.handle(Event::TcpConnectionConfirmed, 1);
    let b2 = deliver(&a1, &a, &mut b, 2); // our OPEN
    let a2 = deliver(&b1, &b, &mut a, 2); // their OPEN
    let b3 = deliver(&a2, &a, &mut b, 3); // our KEEPALIVE
    let a3 = deliver(&b2, &b, &mut a, 3); // their KEEPALIVE
    assert_eq!((a.state(), b.state()), (State::Established, State::Established));
    let na = a3.iter().find_map(|x| match x {
        Action::SessionEstablished(n) => Some(n.clone()),
        _ => None,
    });
    let nb = b3.iter().find_map(|x| match x {
        Action::SessionEstablished(n) => Some(n.clone()),
        _ => None,
    });
    let (na, nb) = (na.unwrap(), nb.unwrap());
    assert_eq!(na.add_path_send, vec![V4]);
    assert_eq!(nb.add_path_receive, vec![V4]);
    assert_eq!(na.tx.add_path, nb.rx.add_path);
    assert!(na.otc() && nb.otc());
    // An UPDATE encoded with our tx context decodes with their rx context:
    // the path identifier survives (ADD-PATH on in this direction only).
    let nlri = mdc_bgp::nlri::Nlri::new("198.51.100.0/24".parse().unwrap());
    let u = Update { nlri: vec![mdc_bgp::nlri::Nlri { path_id: Some(7), ..nlri }], ..Update::default() };
    for bytes in u.encode(a.tx_context()).unwrap() {
        let r = b.handle(Event::MessageReceived(bytes), 4);
        // Attributes are missing: treat-as-withdraw, session stays up.
        let Some(Action::Routes(d)) = r.iter().find(|x| matches!(x, Action::Routes(_))) else {
            panic!("{r:?}")
        };
        assert_eq!(d.update.withdrawn[0].path_id, Some(7));
    }
    // Our shutdown message arrives.
    let stop = a.handle(Event::ManualStop(Some("bye".into())), 5);
    let down = deliver(&stop, &a, &mut b, 5);
    let (reason, _) = session_down(&down).unwrap();
    let n = reason.notification().unwrap();
    assert_eq!(n.hard_reset_inner().unwrap_or_else(|| n.clone()).shutdown_message(), Some(Ok("bye")));
}

// ---- proptest: random event sequences --------------------------------------

mod random {
    use super::*;
    use proptest::prelude::*;

    fn peer_opens() -> Vec<Vec<u8>> {
        let mut v = vec![open_from(&theirs())];
        let mut p = theirs();
        p.hold_time = 0;
        v.push(open_from(&p));
        p.hold_time = 3;
        p.families = vec![V6, Family::L2VPN_EVPN];
        p.add_path = vec![
            AddPathFamily { family: V6, mode: AddPathMode::BOTH },
            AddPathFamily { family: V4, mode: AddPathMode::SEND },
        ];
        v.push(open_from(&p));
        let mut p = gr_peer(60, true);
        p.families.clear();
        v.push(open_from(&p));
        v.push(open_from(&gr_peer(5, false)));
        let mut p = theirs();
        p.local_as = 65003;
        v.push(open_from(&p));
        let mut p = theirs();
        p.role = Some(Role::PEER);
        v.push(open_from(&p));
        let mut p = theirs();
        p.four_octet_as = false;
        p.families = vec![Family::L2VPN_EVPN];
        v.push(open_from(&p));
        v
    }

    fn messages() -> Vec<Vec<u8>> {
        let mut v = peer_opens();
        v.extend([
            keepalive(),
            good_update(),
            reset_update(),
            disable_v6_update(),
            eor(V4),
            eor(V6),
            route_refresh(V4, Subtype::NORMAL),
            route_refresh(V6, Subtype::END),
            notification(Notification::cease(cease_subcode::ADMINISTRATIVE_RESET)),
            notification(Notification::hard_reset(Notification::cease(2))),
            notification(Notification::new(2, 1, vec![])),
            vec![0xff; 10],
            vec![0; 19],
        ]);
        v
    }

    fn event() -> impl Strategy<Value = Vec<Event>> {
        let msgs = messages();
        let n = msgs.len();
        let opens = peer_opens();
        let single = prop_oneof![
            1 => Just(Event::ManualStart),
            1 => Just(Event::ManualStop(None)),
            1 => Just(Event::ManualStop(Some("bye".into()))),
            1 => Just(Event::AutomaticStart),
            1 => Just(Event::AutomaticStop(Notification::cease(1))),
            1 => Just(Event::TcpCrAcked),
            1 => Just(Event::TcpConnectionConfirmed),
            2 => Just(Event::TcpConnectionFails),
            6 => (0..n).prop_map(move |i| Event::MessageReceived(msgs[i].clone())),
            2 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|mut b| {
                if b.len() >= 16 {
                    b[..16].fill(0xff);
                }
                Event::MessageReceived(b)
            }),
            6 => proptest::sample::select(Timer::ALL.to_vec()).prop_map(Event::TimerExpired),
            1 => Just(Event::SendStalled),
            1 => any::<bool>().prop_map(|pending| Event::SendProgress { pending }),
            1 => Just(Event::OpenCollisionDump),
        ];
        // Sessions rarely come up by chance: also bring one up on purpose
        // (start, connect either way, one of the OPENs, KEEPALIVE).
        let session = (any::<bool>(), 0..opens.len()).prop_map(move |(inbound, i)| {
            vec![
                Event::ManualStart,
                if inbound { Event::TcpConnectionConfirmed } else { Event::TcpCrAcked },
                Event::MessageReceived(opens[i].clone()),
                Event::MessageReceived(keepalive()),
            ]
        });
        prop_oneof![6 => single.prop_map(|e| vec![e]), 1 => session]
    }

    fn check_established(fsm: &Fsm, n: &mdc_bgp::negotiate::Negotiated) {
        assert!(n.hold_time == 0 || n.hold_time >= 3, "hold {}", n.hold_time);
        assert_eq!(n.keepalive, n.hold_time / 3);
        let ours = offered_families(fsm.our_open());
        let theirs = offered_families(fsm.peer_open().unwrap());
        for f in &n.families {
            assert!(ours.contains(f) && theirs.contains(f), "{f} not offered by both");
        }
        let mode = |o: &mdc_bgp::open::Open, f: Family| {
            o.add_path().filter(|t| t.family == f).last().map_or(AddPathMode(0), |t| t.mode)
        };
        let (mine, peer) = (fsm.our_open(), fsm.peer_open().unwrap());
        for f in &n.add_path_send {
            assert!(n.families.contains(f) && mode(mine, *f).can_send() && mode(peer, *f).can_receive());
        }
        for f in &n.add_path_receive {
            assert!(n.families.contains(f) && mode(mine, *f).can_receive() && mode(peer, *f).can_send());
        }
        assert_eq!(n.rx.add_path, n.add_path_receive);
        assert_eq!(n.tx.add_path, n.add_path_send);
        assert_eq!(n.four_octet_as, mine.four_octet_as().is_some() && peer.four_octet_as().is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_event_sequences_keep_the_invariants(
            passive in any::<bool>(),
            steps in proptest::collection::vec((event(), 0u64..200_000), 1..80),
        ) {
            let mut cfg = ours();
            cfg.passive = passive;
            cfg.families.push(Family::L2VPN_EVPN);
            cfg.add_path = vec![AddPathFamily { family: V6, mode: AddPathMode::RECEIVE }];
            let mut fsm = Fsm::new(cfg).unwrap();
            let mut now = 0u64;
            // The caller's view of the armed timers, from the actions alone.
            let mut shadow: BTreeSet<Timer> = BTreeSet::new();
            for (event, dt) in steps.into_iter().flat_map(|(events, dt)| events.into_iter().map(move |e| (e, dt))) {
                now += dt;
                let before = fsm.state();
                if let Event::TimerExpired(t) = &event {
                    // An expired timer is no longer armed, for the caller too.
                    shadow.remove(t);
                }
                let actions = fsm.handle(event, now);
                let after = fsm.state();
                for a in &actions {
                    match a {
                        Action::ArmTimer(t, ms) => {
                            shadow.insert(*t);
                            prop_assert!(*ms > 0 || *t == Timer::GracefulRestart);
                        }
                        Action::CancelTimer(t) => {
                            prop_assert!(shadow.remove(t), "cancel of {t:?} that was not armed");
                        }
                        Action::SessionEstablished(n) => {
                            prop_assert_eq!(after, State::Established);
                            check_established(&fsm, n);
                        }
                        Action::SessionDown { .. } => prop_assert_eq!(before, State::Established),
                        Action::Connect => {
                            prop_assert!(!passive);
                            prop_assert_eq!(after, State::Connect);
                        }
                        Action::Close => prop_assert!(matches!(after, State::Idle | State::Active)),
                        Action::Send(Message::Open(_)) => prop_assert_eq!(after, State::OpenSent),
                        Action::Routes(_) | Action::EndOfRib(_) | Action::RouteRefresh(_) => {
                            prop_assert_eq!(before, State::Established);
                        }
                        _ => {}
                    }
                }
                let armed: BTreeSet<Timer> = Timer::ALL.into_iter().filter(|t| fsm.is_armed(*t)).collect();
                prop_assert_eq!(&armed, &shadow);
                for t in &armed {
                    prop_assert!(t.allowed_in(after), "{t:?} armed in {after:?}");
                }
                if after == State::Established {
                    prop_assert!(fsm.negotiated().is_some());
                    let hold = fsm.negotiated().unwrap().hold_time;
                    prop_assert_eq!(fsm.is_armed(Timer::Hold), hold > 0);
                    prop_assert_eq!(fsm.is_armed(Timer::Keepalive), hold > 0);
                }
                if !fsm.stale_families().is_empty() {
                    prop_assert!(fsm.is_armed(Timer::GracefulRestart) || fsm.is_armed(Timer::StalePath));
                }
            }
        }
    }
}

#[test]
fn notification_for_a_huge_attribute_is_cut_to_fit_4096_bytes() {
    let mut t = T::to_established();
    assert!(t.fsm.rx_context().extended_message);
    // An unrecognised well-known attribute (Optional bit clear) of 5000
    // bytes: UPDATE/2 with the whole attribute as data.
    let mut a = vec![0x50, 99];
    a.extend_from_slice(&5000u16.to_be_bytes());
    a.extend(std::iter::repeat_n(0u8, 5000));
    let mut attrs = v4_attrs();
    attrs.push(a);
    let bytes = raw_update(&attrs, &[24, 198, 51, 100]);
    let err = Update::decode_message(&bytes, t.fsm.rx_context()).unwrap_err();
    assert!(err.notification.data.len() > 4096);
    let a = t.msg(bytes);
    let n = sent_notification(&a).unwrap();
    assert_eq!((n.code, n.subcode), (3, 2));
    let wire = Message::Notification(n.clone()).encode(&SessionContext::default()).unwrap();
    assert_eq!(wire[0].len(), 4096);
}

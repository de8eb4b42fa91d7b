//! The tokio speaker end to end on loopback: two speakers in one process
//! (127.0.0.x addresses, kernel-chosen ports), and raw TCP peers for the
//! hold and send hold timers. No root, no namespaces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use mdc_bgp::attr::{AttrValue, NextHop};
use mdc_bgp::community::Community;
use mdc_bgp::fsm::{DownReason, PeerConfig, RemoteAs, State};
use mdc_bgp::nlri::Nlri;
use mdc_bgp::notification::code;
use mdc_bgp::speaker::{PeerSettings, Route, Speaker, SpeakerConfig, SpeakerEvent, TransportOptions};
use mdc_bgp::{Family, Message, SessionContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::broadcast;
use tokio::time::{Instant, timeout};

const V4: Family = Family::IPV4_UNICAST;
const V6: Family = Family::IPV6_UNICAST;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A speaker listening on `addr` (kernel-chosen port).
fn speaker(addr: &str, asn: u32) -> Speaker {
    let id: Ipv4Addr = addr.parse().unwrap();
    Speaker::start(SpeakerConfig {
        listen: vec![SocketAddr::new(IpAddr::V4(id), 0)],
        ..SpeakerConfig::new(id, asn)
    })
    .unwrap()
}

/// Settings for a peer of `s` at `remote` (`port`), sourcing from `local`.
fn settings(s: &Speaker, local: &str, remote: &str, port: u16, asn: u32, passive: bool) -> PeerSettings {
    let mut p = s.peer_settings(ip(remote), RemoteAs::Exact(asn));
    p.remote.set_port(port);
    p.transport.local_address = Some(ip(local));
    p.config.passive = passive;
    p.config.retry_initial_ms = 200;
    p.config.connect_retry_ms = 2_000;
    p
}

/// Wait for the first event `f` maps to `Some`, skipping the rest.
async fn wait_for<T>(
    rx: &mut broadcast::Receiver<SpeakerEvent>,
    within: Duration,
    mut f: impl FnMut(&SpeakerEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, rx.recv()).await {
            Err(_) => panic!("no matching event within {within:?}"),
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(e)) => panic!("event channel: {e}"),
            Ok(Ok(ev)) => {
                if let Some(t) = f(&ev) {
                    return t;
                }
            }
        }
    }
}

async fn wait_up(rx: &mut broadcast::Receiver<SpeakerEvent>, peer: IpAddr) {
    wait_for(rx, Duration::from_secs(10), |e| {
        matches!(e, SpeakerEvent::PeerUp { peer: p, .. } if *p == peer).then_some(())
    })
    .await;
}

async fn wait_down(rx: &mut broadcast::Receiver<SpeakerEvent>, peer: IpAddr, within: Duration) -> DownReason {
    wait_for(rx, within, |e| match e {
        SpeakerEvent::PeerDown { peer: p, reason } if *p == peer => Some(reason.clone()),
        _ => None,
    })
    .await
}

/// Poll until `f` holds for the peer's received routes.
async fn wait_routes(
    s: &Speaker,
    peer: IpAddr,
    family: Family,
    f: impl Fn(&[mdc_bgp::speaker::ReceivedRoute]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let routes = s.received_routes(peer, family).await.unwrap();
        if f(&routes) {
            return;
        }
        assert!(Instant::now() < deadline, "routes never matched: {routes:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn attr(r: &mdc_bgp::speaker::ReceivedRoute, code: u8) -> Option<AttrValue> {
    r.attributes.get(code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_speakers_exchange_routes_withdrawals_end_of_rib_and_shutdown_message() {
    let a = speaker("127.0.0.1", 65001);
    let b = speaker("127.0.0.2", 65002);
    let (mut ea, mut eb) = (a.subscribe(), b.subscribe());
    let (pa, pb) = (ip("127.0.0.1"), ip("127.0.0.2"));

    // Originated before the session: part of the initial table.
    a.originate(
        Route::new("198.51.100.0/24".parse().unwrap())
            .with_med(10)
            .with_communities(vec![Community::new(65001, 7)]),
    )
    .unwrap();
    a.originate(Route::new("2001:db8:a::/48".parse().unwrap())).unwrap();
    b.originate(Route::new("203.0.113.0/24".parse().unwrap())).unwrap();

    // B is passive, A dials B.
    b.add_peer(settings(&b, "127.0.0.2", "127.0.0.1", a.listen_addrs()[0].port(), 65001, true))
        .await
        .unwrap();
    a.add_peer(settings(&a, "127.0.0.1", "127.0.0.2", b.listen_addrs()[0].port(), 65002, false))
        .await
        .unwrap();
    let neg = wait_for(&mut ea, Duration::from_secs(10), |e| match e {
        SpeakerEvent::PeerUp { peer, negotiated } if *peer == pb => Some(negotiated.clone()),
        _ => None,
    })
    .await;
    assert_eq!(neg.families, vec![V4, V6]);
    assert!(neg.four_octet_as && neg.route_refresh && neg.enhanced_route_refresh && neg.extended_message);
    assert_eq!((neg.peer_asn, neg.internal), (65002, false));

    // End-of-RIB for every negotiated family, both ways.
    let mut eors = Vec::new();
    while eors.len() < 2 {
        let f = wait_for(&mut eb, Duration::from_secs(10), |e| match e {
            SpeakerEvent::EndOfRib { peer, family } if *peer == pa => Some(*family),
            _ => None,
        })
        .await;
        eors.push(f);
    }
    eors.sort();
    assert_eq!(eors, vec![V4, V6]);

    // A's IPv4 route at B: AS path prepended, next hop self, MED and
    // community kept, no LOCAL_PREF on eBGP.
    wait_routes(&b, pa, V4, |r| r.len() == 1).await;
    let r = &b.received_routes(pa, V4).await.unwrap()[0];
    assert_eq!(r.nlri, Nlri::new("198.51.100.0/24".parse().unwrap()));
    assert_eq!(r.next_hop, Some(NextHop::V4("127.0.0.1".parse().unwrap())));
    match attr(r, 2) {
        Some(AttrValue::AsPath(p)) => assert_eq!(p.to_string(), "65001"),
        other => panic!("AS_PATH {other:?}"),
    }
    assert_eq!(attr(r, 4), Some(AttrValue::MultiExitDisc(10)));
    assert!(attr(r, 5).is_none(), "LOCAL_PREF sent on eBGP");
    match attr(r, 8) {
        Some(AttrValue::Communities(c)) => assert_eq!(c.0, vec![Community::new(65001, 7)]),
        other => panic!("COMMUNITIES {other:?}"),
    }
    // IPv6 over the IPv4 session: MP_REACH with our IPv4-mapped address.
    wait_routes(&b, pa, V6, |r| r.len() == 1).await;
    let r6 = &b.received_routes(pa, V6).await.unwrap()[0];
    assert_eq!(r6.nlri, Nlri::new("2001:db8:a::/48".parse().unwrap()));
    assert_eq!(
        r6.next_hop,
        Some(NextHop::V6 { global: "::ffff:127.0.0.1".parse().unwrap(), link_local: None })
    );
    // B's route at A.
    wait_routes(&a, pb, V4, |r| r.len() == 1).await;
    let r = &a.received_routes(pb, V4).await.unwrap()[0];
    assert_eq!(r.next_hop, Some(NextHop::V4("127.0.0.2".parse().unwrap())));
    match attr(r, 2) {
        Some(AttrValue::AsPath(p)) => assert_eq!(p.to_string(), "65002"),
        other => panic!("AS_PATH {other:?}"),
    }

    // A route originated while Established goes out at once; a withdrawal too.
    a.originate(Route::new("192.0.2.0/24".parse().unwrap())).unwrap();
    wait_routes(&b, pa, V4, |r| r.len() == 2).await;
    a.withdraw(V4, Nlri::new("198.51.100.0/24".parse().unwrap())).unwrap();
    a.withdraw(V6, Nlri::new("2001:db8:a::/48".parse().unwrap())).unwrap();
    wait_routes(&b, pa, V4, |r| r.len() == 1 && r[0].nlri == Nlri::new("192.0.2.0/24".parse().unwrap()))
        .await;
    wait_routes(&b, pa, V6, <[_]>::is_empty).await;

    // Status.
    let peers = b.peers().await.unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!((peers[0].state, peers[0].remote_as), (State::Established, Some(65001)));
    assert!(peers[0].messages_in >= 5 && peers[0].uptime.is_some());
    assert_eq!(peers[0].prefixes_received, vec![(V4, 1), (V6, 0)]);

    // Route refresh: B asks, A sends its table again framed by BoRR/EoRR.
    b.route_refresh(pa, V4).await.unwrap();
    wait_for(&mut eb, Duration::from_secs(5), |e| match e {
        SpeakerEvent::RoutesReceived { peer, update } if *peer == pa && !update.update.nlri.is_empty() => {
            Some(())
        }
        _ => None,
    })
    .await;
    wait_routes(&b, pa, V4, |r| r.len() == 1 && !r[0].stale).await;

    // Administrative shutdown: B sees our RFC 9003 message.
    a.shutdown("maintenance window 42").await.unwrap();
    let reason = wait_down(&mut eb, pa, Duration::from_secs(5)).await;
    let DownReason::NotificationReceived(n) = reason else { panic!("{reason:?}") };
    let n = n.hard_reset_inner().unwrap_or(n);
    assert_eq!((n.code, n.subcode), (code::CEASE, 2));
    assert_eq!(n.shutdown_message(), Some(Ok("maintenance window 42")));
    // Routes of a peer that shut down are gone (a Cease/2 is never graceful).
    wait_routes(&b, pa, V4, <[_]>::is_empty).await;
    b.shutdown("bye").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_md5_matching_keys_come_up_and_a_wrong_key_does_not() {
    let a = speaker("127.0.0.21", 65001);
    let b = speaker("127.0.0.22", 65002);
    let c = speaker("127.0.0.23", 65003);
    let (mut ea, mut ec, mut eb) = (a.subscribe(), c.subscribe(), b.subscribe());
    let bport = b.listen_addrs()[0].port();
    let key = |k: &[u8]| TransportOptions { md5_key: Some(k.to_vec()), ..Default::default() };

    let mut pa = settings(&b, "127.0.0.22", "127.0.0.21", 1, 65001, true);
    pa.transport = TransportOptions { local_address: pa.transport.local_address, ..key(b"s3cret") };
    b.add_peer(pa).await.unwrap();
    let mut pc = settings(&b, "127.0.0.22", "127.0.0.23", 1, 65003, true);
    pc.transport = TransportOptions { local_address: pc.transport.local_address, ..key(b"right") };
    b.add_peer(pc).await.unwrap();

    let mut to_b = settings(&a, "127.0.0.21", "127.0.0.22", bport, 65002, false);
    to_b.transport.md5_key = Some(b"s3cret".to_vec());
    a.add_peer(to_b).await.unwrap();
    let mut wrong = settings(&c, "127.0.0.23", "127.0.0.22", bport, 65002, false);
    wrong.transport.md5_key = Some(b"wrong".to_vec());
    wrong.config.connect_retry_ms = 1_000;
    c.add_peer(wrong).await.unwrap();

    wait_up(&mut ea, ip("127.0.0.22")).await;
    let why = wait_for(&mut ec, Duration::from_secs(10), |e| match e {
        SpeakerEvent::ConnectionFailed { reason, .. } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(why.contains("TCP-MD5"), "{why}");
    let status = c.peers().await.unwrap();
    assert_ne!(status[0].state, State::Established);
    // B never saw C come up.
    while let Ok(ev) = eb.try_recv() {
        assert!(!matches!(ev, SpeakerEvent::PeerUp { peer, .. } if peer == ip("127.0.0.23")));
    }
    for s in [a, b, c] {
        s.shutdown("done").await.unwrap();
    }
}

/// A raw BGP peer from `local` to `to`: sends OPEN (hold `hold`) and
/// KEEPALIVE at once, then nothing.
async fn raw_peer(local: &str, to: SocketAddr, asn: u32, peer_as: u32, hold: u16) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(ip(local), 0)).unwrap();
    let mut s = sock.connect(to).await.unwrap();
    let mut cfg = PeerConfig::new(asn, RemoteAs::Exact(peer_as), local.parse().unwrap());
    cfg.hold_time = hold;
    let ctx = SessionContext::default();
    for m in [Message::Open(cfg.open()), Message::Keepalive] {
        for wire in m.encode(&ctx).unwrap() {
            s.write_all(&wire).await.unwrap();
        }
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_declared_down_by_the_hold_timer() {
    let s = speaker("127.0.0.31", 65000);
    let mut ev = s.subscribe();
    let mut p = settings(&s, "127.0.0.31", "127.0.0.32", 1, 65010, true);
    p.config.hold_time = 3;
    s.add_peer(p).await.unwrap();
    let peer = ip("127.0.0.32");
    let mut raw = raw_peer("127.0.0.32", s.listen_addrs()[0], 65010, 65000, 3).await;
    wait_up(&mut ev, peer).await;
    let up = Instant::now();
    // Keep reading (our keepalives arrive) but never send.
    let drain = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while matches!(raw.read(&mut buf).await, Ok(n) if n > 0) {}
    });
    let reason = wait_down(&mut ev, peer, Duration::from_secs(8)).await;
    let took = up.elapsed();
    assert!(
        matches!(&reason, DownReason::NotificationSent(n) if n.code == code::HOLD_TIMER_EXPIRED),
        "{reason:?}"
    );
    assert!(took >= Duration::from_millis(2_500) && took < Duration::from_secs(5), "{took:?}");
    drain.abort();
    s.shutdown("done").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_that_stops_reading_is_dropped_by_send_hold_while_another_stays_up() {
    let s = speaker("127.0.0.41", 65000);
    let t = speaker("127.0.0.43", 65020);
    let (mut es, mut et) = (s.subscribe(), t.subscribe());
    let (raw_ip, t_ip, s_ip) = (ip("127.0.0.42"), ip("127.0.0.43"), ip("127.0.0.41"));

    let mut stalled = settings(&s, "127.0.0.41", "127.0.0.42", 1, 65010, true);
    stalled.config.send_hold_ms = Some(2_000);
    s.add_peer(stalled).await.unwrap();
    let mut healthy = settings(&s, "127.0.0.41", "127.0.0.43", 1, 65020, true);
    healthy.config.hold_time = 3;
    s.add_peer(healthy).await.unwrap();
    let mut to_s = settings(&t, "127.0.0.43", "127.0.0.41", s.listen_addrs()[0].port(), 65000, false);
    to_s.config.hold_time = 3;
    t.add_peer(to_s).await.unwrap();
    wait_up(&mut es, t_ip).await;

    // Hold time 0: only the send hold timer can drop this one. It never reads.
    let _raw = raw_peer("127.0.0.42", s.listen_addrs()[0], 65010, 65000, 0).await;
    wait_up(&mut es, raw_ip).await;

    // ~15 MB of UPDATEs: far more than the socket buffers hold.
    let communities: Vec<Community> = (0..900).map(|i| Community::new(65000, i)).collect();
    for i in 0..4_000u32 {
        let prefix = format!("10.{}.{}.0/24", i / 256, i % 256);
        s.originate(Route::new(prefix.parse().unwrap()).with_communities(communities.clone())).unwrap();
    }
    let started = Instant::now();
    let reason = wait_for(&mut es, Duration::from_secs(15), |e| match e {
        SpeakerEvent::PeerDown { peer, reason } => Some((*peer, reason.clone())),
        _ => None,
    })
    .await;
    assert_eq!(reason.0, raw_ip, "the healthy session went down first: {:?}", reason.1);
    assert!(
        matches!(&reason.1, DownReason::NotificationSent(n) if n.code == code::SEND_HOLD_TIMER_EXPIRED),
        "{:?}",
        reason.1
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // The other session kept its keepalives on time (hold 3 s) through it
    // all and got every route.
    wait_routes(&t, s_ip, Family::IPV4_UNICAST, |r| r.len() == 4_000).await;
    let before = s.peers().await.unwrap().into_iter().find(|p| p.address.ip() == t_ip).unwrap();
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let after = s.peers().await.unwrap().into_iter().find(|p| p.address.ip() == t_ip).unwrap();
    assert_eq!(after.state, State::Established);
    assert!(after.messages_in > before.messages_in, "no keepalive from the healthy peer");
    for rx in [&mut es, &mut et] {
        while let Ok(ev) = rx.try_recv() {
            assert!(
                !matches!(&ev, SpeakerEvent::PeerDown { peer, .. } if *peer == t_ip || *peer == s_ip),
                "healthy session went down: {ev:?}"
            );
        }
    }
    s.shutdown("done").await.unwrap();
    t.shutdown("done").await.unwrap();
}

/// Both sides active and dialling at once (RFC 4271 §6.8): the collision is
/// resolved to one session per side, it stays up, and routes flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_dials_collide_into_one_stable_session() {
    for round in 0..3 {
        let (ip_a, ip_b) = ("127.0.0.1", "127.0.0.2");
        let a = speaker(ip_a, 65001);
        let b = speaker(ip_b, 65002);
        let (mut ea, mut eb) = (a.subscribe(), b.subscribe());
        a.originate(Route::new("198.51.100.0/24".parse().unwrap())).unwrap();
        b.originate(Route::new("203.0.113.0/24".parse().unwrap())).unwrap();
        let sa = settings(&a, ip_a, ip_b, b.listen_addrs()[0].port(), 65002, false);
        let sb = settings(&b, ip_b, ip_a, a.listen_addrs()[0].port(), 65001, false);
        // Both add (and so dial) at the same moment.
        let (ra, rb) = tokio::join!(a.add_peer(sa), b.add_peer(sb));
        ra.unwrap();
        rb.unwrap();
        wait_up(&mut ea, ip(ip_b)).await;
        wait_up(&mut eb, ip(ip_a)).await;
        wait_routes(&a, ip(ip_b), V4, |r| r.len() == 1).await;
        wait_routes(&b, ip(ip_a), V4, |r| r.len() == 1).await;
        // Stable: no session goes down over three seconds, and each side
        // has exactly one Established session with the other.
        let quiet = Duration::from_secs(3);
        let down = timeout(quiet, async {
            loop {
                let ev = tokio::select! {
                    ev = ea.recv() => ev,
                    ev = eb.recv() => ev,
                };
                if let Ok(SpeakerEvent::PeerDown { peer, reason }) = ev {
                    return (peer, reason);
                }
            }
        })
        .await;
        assert!(down.is_err(), "round {round}: a session went down after the collision: {down:?}");
        for (s, other) in [(&a, ip(ip_b)), (&b, ip(ip_a))] {
            let peers = s.peers().await.unwrap();
            let st: Vec<_> = peers.iter().filter(|p| p.address.ip() == other).map(|p| p.state).collect();
            assert_eq!(st, vec![mdc_bgp::fsm::State::Established], "round {round}");
        }
        a.shutdown("done").await.unwrap();
        b.shutdown("done").await.unwrap();
    }
}

/// `reset_peer` sends Cease/Administrative Reset and the session comes back;
/// `remove_peer` sends Cease/Peer De-configured and forgets the peer and its
/// routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_and_remove_peer() {
    let (ip_a, ip_b) = ("127.0.0.1", "127.0.0.2");
    let a = speaker(ip_a, 65001);
    let b = speaker(ip_b, 65002);
    let (mut ea, mut eb) = (a.subscribe(), b.subscribe());
    b.originate(Route::new("203.0.113.0/24".parse().unwrap())).unwrap();
    b.add_peer(settings(&b, ip_b, ip_a, a.listen_addrs()[0].port(), 65001, true)).await.unwrap();
    a.add_peer(settings(&a, ip_a, ip_b, b.listen_addrs()[0].port(), 65002, false)).await.unwrap();
    wait_up(&mut ea, ip(ip_b)).await;
    wait_routes(&a, ip(ip_b), V4, |r| r.len() == 1).await;

    a.reset_peer(ip(ip_b)).await.unwrap();
    let why = wait_down(&mut eb, ip(ip_a), Duration::from_secs(5)).await;
    let n = why.notification().cloned().unwrap();
    assert_eq!((n.code, n.subcode), (6, 4), "{why:?}");
    wait_up(&mut ea, ip(ip_b)).await;
    wait_routes(&a, ip(ip_b), V4, |r| r.len() == 1).await;

    a.remove_peer(ip(ip_b)).await.unwrap();
    let why = wait_down(&mut eb, ip(ip_a), Duration::from_secs(5)).await;
    let n = why.notification().cloned().unwrap();
    // Both sides negotiated the GR N bit: Peer De-configured goes inside a
    // Hard Reset (RFC 8538 §5.1).
    assert_eq!((n.code, n.subcode), (6, 9), "{why:?}");
    let inner = n.hard_reset_inner().unwrap();
    assert_eq!((inner.code, inner.subcode), (6, 3), "{why:?}");
    assert!(a.peers().await.unwrap().iter().all(|p| p.address.ip() != ip(ip_b)), "the peer is forgotten");
    assert!(a.received_routes(ip(ip_b), V4).await.is_err(), "and so are its routes");
}

/// A peer whose OPEN gives another AS than configured: Bad Peer AS, and
/// the peer's status says which AS came and which was expected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_peer_as_says_which_came_and_which_was_expected() {
    let (ip_a, ip_b) = ("127.0.0.1", "127.0.0.3");
    let a = speaker(ip_a, 65001);
    let b = speaker(ip_b, 65002);
    b.add_peer(settings(&b, ip_b, ip_a, a.listen_addrs()[0].port(), 65001, true)).await.unwrap();
    // a expects 65009 at b.
    a.add_peer(settings(&a, ip_a, ip_b, b.listen_addrs()[0].port(), 65009, false)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = a.peers().await.unwrap();
        let why = status.iter().find(|p| p.address.ip() == ip(ip_b)).and_then(|p| p.last_down.clone());
        if let Some(why) = why.filter(|w| w.contains("Bad Peer AS")) {
            assert!(
                why.ends_with(": the peer's OPEN says AS 65002, the configuration expects AS 65009"),
                "{why}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no Bad Peer AS reported: {status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

//! The daemon: a BGP speaker configured from [`Config`], the API socket, and
//! an orderly shutdown (Cease/2 with a message to every peer) on SIGTERM or
//! SIGINT.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use mdc_bgp::attr::{AttrValue, NextHop};
use mdc_bgp::capability::ExtendedNextHop;
use mdc_bgp::family::Family;
use mdc_bgp::fsm::RemoteAs as FsmRemoteAs;
use mdc_bgp::nlri::{Nlri, Prefix};
use mdc_bgp::speaker::socket::TransportOptions;
use mdc_bgp::speaker::{Route, Speaker, SpeakerConfig};
use tracing::{info, warn};

use crate::api::{self, NeighborView, RouteView, StateSource};
use crate::config::{Config, PeerAddress, PeerConfig, RemoteAs};

/// Start the speaker and its peers, serve the API, and run until SIGTERM or
/// SIGINT. SIGHUP re-reads `path`: a valid file replaces the originated
/// prefixes (new ones announced, dropped ones withdrawn); an invalid one is
/// rejected with its errors and changes nothing.
pub async fn run(config: Config, path: std::path::PathBuf) -> std::io::Result<()> {
    let listen = vec![SocketAddr::new(IpAddr::from([0u16; 8]), config.listen_port)];
    let mut speaker_config = SpeakerConfig::new(config.router_id, config.local_as);
    speaker_config.listen = listen;
    let speaker = Speaker::start(speaker_config)?;
    info!(router_id = %config.router_id, local_as = config.local_as, "mdcd started");

    for peer in &config.peers {
        match (&peer.address, peer_settings(&speaker, peer, config.local_as)) {
            (_, Some(settings)) => {
                if let Err(e) = speaker.add_peer(settings).await {
                    warn!(peer = %peer.address, "cannot add peer: {e}");
                }
            }
            (PeerAddress::Interface(ifname), None) => {
                tokio::spawn(unnumbered_peer(speaker.clone(), peer.clone(), ifname.clone(), config.local_as));
            }
            (PeerAddress::Ip(_), None) => {}
        }
    }
    for prefix in &config.originate {
        if let Err(e) = speaker.originate(Route::new(*prefix)) {
            warn!(%prefix, "cannot originate: {e}");
        }
    }

    let listener = api::bind(&config.api_socket)?;
    let source = Arc::new(SpeakerState { speaker: speaker.clone(), config: Arc::new(config.clone()) });
    let api_task = tokio::spawn(api::serve(listener, source));

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut originated = config.originate.clone();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                info!("SIGINT");
                break;
            }
            _ = term.recv() => {
                info!("SIGTERM");
                break;
            }
            _ = hup.recv() => originated = reload(&speaker, &path, &config, originated),
        }
    }
    api_task.abort();
    if let Err(e) = speaker.shutdown("mdcd is shutting down").await {
        warn!("shutdown: {e}");
    }
    let _ = std::fs::remove_file(&config.api_socket);
    info!("mdcd stopped");
    Ok(())
}

/// SIGHUP: apply the originated prefixes of a valid new file; report an
/// invalid one and keep everything as it is. Returns what is originated now.
fn reload(
    speaker: &Speaker,
    path: &std::path::Path,
    running: &Config,
    originated: Vec<Prefix>,
) -> Vec<Prefix> {
    let new = match Config::load(path) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors.0 {
                warn!("reload rejected: {e}");
            }
            return originated;
        }
    };
    if new.peers != running.peers || new.router_id != running.router_id || new.local_as != running.local_as {
        warn!("reload: only `originate` is applied at run time; restart mdcd for peer or identity changes");
    }
    for p in new.originate.iter().filter(|p| !originated.contains(p)) {
        match speaker.originate(Route::new(*p)) {
            Ok(()) => info!(prefix = %p, "reload: originating"),
            Err(e) => warn!(prefix = %p, "reload: cannot originate: {e}"),
        }
    }
    for p in originated.iter().filter(|p| !new.originate.contains(p)) {
        let family = if p.afi() == mdc_bgp::Afi::IPV6 { Family::IPV6_UNICAST } else { Family::IPV4_UNICAST };
        match speaker.withdraw(family, Nlri::new(*p)) {
            Ok(()) => info!(prefix = %p, "reload: withdrawn"),
            Err(e) => warn!(prefix = %p, "reload: cannot withdraw: {e}"),
        }
    }
    new.originate
}

/// The speaker's settings for one configured peer.
fn peer_settings(
    speaker: &Speaker,
    peer: &PeerConfig,
    local_as: u32,
) -> Option<mdc_bgp::speaker::PeerSettings> {
    let PeerAddress::Ip(ip) = &peer.address else { return None };
    let remote_as = match peer.remote_as {
        RemoteAs::Number(n) => FsmRemoteAs::Exact(n),
        RemoteAs::Internal => FsmRemoteAs::Internal,
        RemoteAs::External => FsmRemoteAs::External,
    };
    // Like FRR and BIRD: a single-hop eBGP session sends with TTL 1 unless
    // multihop (or GTSM) says otherwise; iBGP keeps the kernel default.
    let external = match peer.remote_as {
        RemoteAs::Number(n) => n != local_as,
        RemoteAs::Internal => false,
        RemoteAs::External => true,
    };
    let mut s = speaker.peer_settings(*ip, remote_as);
    s.remote = SocketAddr::new(*ip, peer.port);
    s.config.hold_time = peer.hold_time;
    s.config.connect_retry_ms = u64::from(peer.connect_retry) * 1000;
    s.config.passive = peer.passive;
    s.config.families = peer.families.clone();
    s.config.send_hold_ms = peer.send_hold_time.map(|t| u64::from(t) * 1000);
    if peer.extended_nexthop {
        s.config.extended_next_hop =
            vec![ExtendedNextHop { family: Family::IPV4_UNICAST, next_hop_afi: mdc_bgp::Afi::IPV6 }];
    }
    if peer.families.contains(&Family::L2VPN_EVPN) {
        s.config.family_codecs.push(mdc_evpn::family_codec());
    }
    s.transport = TransportOptions {
        md5_key: peer.password.as_ref().map(|p| p.as_bytes().to_vec()),
        ttl: peer.multihop.or(if external { Some(1) } else { None }),
        gtsm_hops: if peer.gtsm { Some(peer.multihop.unwrap_or(1)) } else { None },
        interface: None,
        local_address: peer.local_address,
    };
    Some(s)
}

/// An unnumbered peer: advertise ourselves on the interface, wait for the
/// neighbour's router advertisement, then peer with its link-local address
/// (IPv4 routes with RFC 8950 next hops).
async fn unnumbered_peer(speaker: Speaker, peer: PeerConfig, ifname: String, local_as: u32) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let name = ifname.clone();
    std::thread::spawn(move || crate::unnumbered::run(name, tx));
    info!(interface = %ifname, "unnumbered peer: waiting for the neighbour's router advertisement");
    let (ll, ifindex) = match rx.await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            warn!(interface = %ifname, "unnumbered peer: {e}");
            return;
        }
        Err(_) => return,
    };
    info!(interface = %ifname, neighbour = %ll, "unnumbered peer found");
    let mut with_ip = peer.clone();
    with_ip.address = PeerAddress::Ip(IpAddr::V6(ll));
    let Some(mut s) = peer_settings(&speaker, &with_ip, local_as) else { return };
    s.remote = SocketAddr::V6(std::net::SocketAddrV6::new(ll, peer.port, 0, ifindex));
    s.transport.interface = Some(ifname.clone());
    if peer.families.contains(&Family::IPV4_UNICAST) {
        s.config.extended_next_hop =
            vec![ExtendedNextHop { family: Family::IPV4_UNICAST, next_hop_afi: mdc_bgp::Afi::IPV6 }];
    }
    if let Err(e) = speaker.add_peer(s).await {
        warn!(interface = %ifname, "cannot add the unnumbered peer: {e}");
    }
}

/// The API's view of a running speaker.
struct SpeakerState {
    speaker: Speaker,
    config: Arc<Config>,
}

impl StateSource for SpeakerState {
    async fn neighbors(&self) -> Vec<NeighborView> {
        let peers = self.speaker.peers().await.unwrap_or_default();
        peers
            .into_iter()
            .map(|p| {
                let description = self
                    .config
                    .peers
                    .iter()
                    .find(|c| c.address == PeerAddress::Ip(p.address.ip()))
                    .and_then(|c| c.description.clone());
                NeighborView {
                    address: p.address.ip().to_string(),
                    remote_as: p.remote_as,
                    description,
                    state: format!("{:?}", p.state),
                    state_secs: p.uptime.map_or(0, |d| d.as_secs()),
                    prefixes_received: p.prefixes_received.iter().map(|(_, n)| *n as u64).sum(),
                    messages_received: p.messages_in,
                    messages_sent: p.messages_out,
                    capabilities: p
                        .negotiated
                        .as_ref()
                        .map(|n| n.families.iter().map(|f| f.to_string()).collect())
                        .unwrap_or_default(),
                    last_error: None,
                }
            })
            .collect()
    }

    async fn routes(&self, family: Option<&str>) -> Vec<RouteView> {
        let families: Vec<Family> = match family {
            Some("ipv4-unicast") => vec![Family::IPV4_UNICAST],
            Some("ipv6-unicast") => vec![Family::IPV6_UNICAST],
            Some(_) => vec![],
            None => vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        };
        let mut out = Vec::new();
        for prefix in &self.config.originate {
            let fam =
                if prefix.afi() == mdc_bgp::Afi::IPV6 { Family::IPV6_UNICAST } else { Family::IPV4_UNICAST };
            if families.contains(&fam) {
                out.push(RouteView {
                    family: fam.to_string(),
                    prefix: prefix.to_string(),
                    path_id: None,
                    peer: None,
                    next_hop: "self".into(),
                    as_path: String::new(),
                    origin: "IGP".into(),
                    med: None,
                    local_pref: None,
                    communities: vec![],
                    stale: false,
                });
            }
        }
        let peers = self.speaker.peers().await.unwrap_or_default();
        for p in peers {
            for fam in &families {
                let routes = self.speaker.received_routes(p.address.ip(), *fam).await.unwrap_or_default();
                for r in routes {
                    out.push(route_view(*fam, &p.address.ip().to_string(), &r));
                }
            }
        }
        out
    }
}

fn route_view(family: Family, peer: &str, r: &mdc_bgp::speaker::ReceivedRoute) -> RouteView {
    let mut v = RouteView {
        family: family.to_string(),
        prefix: r.nlri.prefix.to_string(),
        path_id: r.nlri.path_id,
        peer: Some(peer.to_string()),
        next_hop: match &r.next_hop {
            Some(NextHop::V4(a)) => a.to_string(),
            Some(NextHop::V6 { global, .. }) => global.to_string(),
            Some(other) => other.to_string(),
            None => String::new(),
        },
        as_path: String::new(),
        origin: String::new(),
        med: None,
        local_pref: None,
        communities: vec![],
        stale: r.stale,
    };
    for a in r.attributes.list() {
        match &a.value {
            AttrValue::Origin(o) => v.origin = o.to_string(),
            AttrValue::AsPath(p) => v.as_path = p.to_string(),
            AttrValue::MultiExitDisc(m) => v.med = Some(*m),
            AttrValue::LocalPref(l) => v.local_pref = Some(*l),
            AttrValue::Communities(c) => v.communities.extend(c.0.iter().map(ToString::to_string)),
            AttrValue::LargeCommunities(c) => v.communities.extend(c.0.iter().map(ToString::to_string)),
            _ => {}
        }
    }
    v
}

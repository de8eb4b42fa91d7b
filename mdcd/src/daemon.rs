//! The daemon: a BGP speaker configured from [`Config`], the API socket, and
//! an orderly shutdown (Cease/2 with a message to every peer) on SIGTERM or
//! SIGINT.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mdc_bgp::attr::{AttrValue, NextHop};
use mdc_bgp::capability::ExtendedNextHop;
use mdc_bgp::family::Family;
use mdc_bgp::fsm::RemoteAs as FsmRemoteAs;
use mdc_bgp::nlri::{Nlri, Prefix};
use mdc_bgp::policy::{Policy, RibPolicy};
use mdc_bgp::rib::{
    AddPathSend, Dest, MaxPrefix as RibMaxPrefix, PathView, PeerPolicy, RibConfig, RoutePolicy,
};
use mdc_bgp::speaker::socket::TransportOptions;
use mdc_bgp::speaker::{Route, Speaker, SpeakerConfig};
use tracing::{info, warn};

use crate::api::{self, FibView, NeighborView, RouteFilter, RouteView, SoftReset, StateSource};
use crate::config::{Config, PeerAddress, PeerConfig, RemoteAs};
use crate::fib;

/// Start the speaker and its peers, serve the API, and run until SIGTERM or
/// SIGINT. SIGHUP re-reads `path`: a valid file replaces the originated
/// prefixes (new ones announced, dropped ones withdrawn); an invalid one is
/// rejected with its errors and changes nothing.
pub async fn run(config: Config, path: std::path::PathBuf) -> std::io::Result<()> {
    let listen = vec![SocketAddr::new(IpAddr::from([0u16; 8]), config.listen_port)];
    let mut speaker_config = SpeakerConfig::new(config.router_id, config.local_as);
    speaker_config.listen = listen;
    speaker_config.rib = rib_config(&config);
    // The kernel is opened first: without the rights, nothing starts.
    let kernel = if config.fib.install {
        let k = fib::Prepared::open().map_err(|e| {
            std::io::Error::other(format!("[fib] install = true, but the kernel's routing tables: {e}"))
        })?;
        speaker_config.fib = Some(k.sink());
        Some(k)
    } else {
        None
    };
    let speaker = Speaker::start(speaker_config)?;
    info!(router_id = %config.router_id, local_as = config.local_as, "mdcd started");
    for w in &config.warnings {
        warn!("{w}");
    }
    let started = kernel.map(|k| k.start(&config.fib, speaker.clone(), tokio::runtime::Handle::current()));
    let (fib, kept) = match started {
        Some((f, kept)) => (Some(f), kept),
        None => (None, None),
    };
    // Our side of graceful restart (RFC 4724): with the kernel routes kept
    // across a stop, the peers keep ours; after a restart that found them,
    // the OPENs say so (R bit) until BGP converged.
    let restart = Restart {
        preserves_forwarding: config.fib.install && config.fib.graceful_restart,
        restart_time: config.fib.restart_time,
        restarted: kept.is_some(),
    };
    if !restart.restarted {
        let _ = speaker.restart_complete();
    }
    // A graceful start with routes of an earlier run to keep: they stay
    // until the peers they may come from sent their initial tables.
    if let (Some(f), Some(gateways)) = (&fib, kept) {
        // Subscribed before any peer is added: no End-of-RIB is missed.
        let end_of_ribs = speaker.end_of_ribs();
        let adoption = fib::adopt::Adoption::new(&config, &gateways);
        for (peer, why) in adoption.not_waited_for() {
            info!("fib: graceful restart: not waiting for {peer}: {why}");
        }
        let within = Duration::from_secs(u64::from(config.fib.restart_time));
        if adoption.done() {
            f.converged();
            let _ = speaker.restart_complete();
        } else {
            info!(
                "fib: graceful restart: waiting at most {} s for End-of-RIB from {}",
                within.as_secs(),
                adoption.describe()
            );
            tokio::spawn(converge(end_of_ribs, adoption, within, f.clone(), speaker.clone()));
        }
    }
    let mut policies = Policies::new(&config, None);

    {
        let here = Here { speaker: &speaker, restart: &restart, fib: &fib };
        for peer in &config.peers {
            match &peer.address {
                PeerAddress::Ip(_) => add_peer(&here, peer, config.local_as, &policies).await,
                PeerAddress::Interface(ifname) => {
                    spawn_unnumbered(&here, peer, ifname, config.local_as, &policies)
                }
            }
        }
    }
    for prefix in &config.originate {
        if let Err(e) = speaker.originate(Route::new(*prefix)) {
            warn!(%prefix, "cannot originate: {e}");
        }
    }

    let listener = api::bind(&config.api_socket)?;
    let source = Arc::new(SpeakerState {
        speaker: speaker.clone(),
        config: std::sync::RwLock::new(Arc::new(config.clone())),
        fib: fib.clone(),
    });
    let api_task = tokio::spawn(api::serve(listener, Arc::clone(&source)));

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut running = config.clone();
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
            _ = hup.recv() => {
                let here = Here { speaker: &speaker, restart: &restart, fib: &fib };
                reload(&here, &path, &mut running, &mut policies).await;
                if let Ok(mut c) = source.config.write() {
                    *c = Arc::new(running.clone());
                }
            }
        }
    }
    api_task.abort();
    if let Some(f) = &fib {
        // The peers going down must not empty a table graceful restart
        // keeps; without it, the routes go below anyway.
        f.freeze();
    }
    if let Err(e) = speaker.shutdown("mdcd is shutting down").await {
        warn!("shutdown: {e}");
    }
    if let Some(f) = fib {
        tokio::task::spawn_blocking(move || f.stop()).await.map_err(std::io::Error::other)?;
    }
    let _ = std::fs::remove_file(&config.api_socket);
    info!("mdcd stopped");
    Ok(())
}

/// A graceful start ends when every peer sent its initial table, or after
/// `within`: then the FIB removes the routes of the previous run that BGP
/// did not learn again.
async fn converge(
    mut end_of_ribs: tokio::sync::broadcast::Receiver<(IpAddr, Family)>,
    mut adoption: fib::adopt::Adoption,
    within: Duration,
    fib: fib::FibHandle,
    speaker: Speaker,
) {
    use tokio::sync::broadcast::error::RecvError;
    let deadline = tokio::time::sleep(within);
    tokio::pin!(deadline);
    fib.waiting_for(adoption.tables());
    while !adoption.done() {
        tokio::select! {
            () = &mut deadline => {
                info!("{}", adoption.expired(within.as_secs()));
                break;
            }
            ev = end_of_ribs.recv() => match ev {
                Ok((peer, family)) => {
                    if adoption.end_of_rib(peer, family) {
                        info!("fib: graceful restart: every awaited peer sent its initial tables");
                    }
                    fib.waiting_for(adoption.tables());
                }
                // An End-of-RIB may be among the missed events: the
                // deadline decides then.
                Err(RecvError::Lagged(_)) => adoption.missed_some(),
                Err(RecvError::Closed) => return,
            },
        }
    }
    fib.converged();
    // The restart is over: later OPENs carry no Restart State bit.
    let _ = speaker.restart_complete();
}

/// What our OPENs say of graceful restart (RFC 4724), from `[fib]`.
#[derive(Debug, Clone)]
struct Restart {
    /// `[fib] install` and `graceful-restart`: the kernel routes outlive
    /// mdcd, so a peer may keep ours while mdcd restarts.
    preserves_forwarding: bool,
    /// `[fib] restart-time`.
    restart_time: u16,
    /// This start found the routes of an earlier run.
    restarted: bool,
}

impl Restart {
    /// The capability for a peer of `families`: with the kernel routes
    /// kept, its unicast families (the ones installed) with the Forwarding
    /// State bit, the configured restart time, and the Restart State bit
    /// after a restart; otherwise a helper only (no family).
    fn capability(&self, families: &[Family]) -> mdc_bgp::fsm::GracefulRestartConfig {
        let mut gr = mdc_bgp::fsm::GracefulRestartConfig::default();
        if self.preserves_forwarding {
            gr.restart_time = self.restart_time;
            gr.forwarding_families = families
                .iter()
                .copied()
                .filter(|f| *f == Family::IPV4_UNICAST || *f == Family::IPV6_UNICAST)
                .collect();
            gr.restarting = self.restarted;
        }
        gr
    }
}

/// SIGHUP: apply a valid new file's originated prefixes, policies, peer
/// policy options and `[bgp]` options (policy changes with a soft reset: the
/// sessions stay up); report an invalid file and keep everything as it is.
/// What a reload needs of the running daemon.
struct Here<'a> {
    speaker: &'a Speaker,
    restart: &'a Restart,
    fib: &'a Option<fib::FibHandle>,
}

async fn reload(here: &Here<'_>, path: &std::path::Path, running: &mut Config, policies: &mut Policies) {
    let speaker = here.speaker;
    let new = match Config::load(path) {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors.0 {
                warn!("reload rejected: {e}");
            }
            return;
        }
    };
    for w in &new.warnings {
        warn!("reload: {w}");
    }
    if new.router_id != running.router_id || new.local_as != running.local_as {
        warn!("reload: router-id and local-as need a restart of mdcd; the rest of the file is applied now");
    }
    if new.bgp != running.bgp {
        info!("reload: [bgp] options changed: deciding every route again");
        if let Err(e) = speaker.set_rib_config(rib_config(&new)) {
            warn!("reload: {e}");
        }
    }
    let fresh = Policies::new(&new, Some(policies));
    // Peers gone from the file: Cease/Peer De-configured, and their routes go.
    for old in running.peers.iter().filter(|o| !new.peers.iter().any(|p| p.address == o.address)) {
        match &old.address {
            PeerAddress::Ip(ip) => match speaker.remove_peer(*ip).await {
                Ok(()) => info!(peer = %ip, "reload: peer removed"),
                Err(e) => warn!(peer = %ip, "reload: cannot remove the peer: {e}"),
            },
            PeerAddress::Interface(name) => {
                warn!(interface = %name, "reload: removing an unnumbered peer needs a restart of mdcd")
            }
        }
    }
    for peer in &new.peers {
        let old = running.peers.iter().find(|p| p.address == peer.address);
        let changed = old.map(|o| session_changes(o, peer));
        match (&peer.address, &changed) {
            // New, or its session settings changed: (re)started alone.
            (PeerAddress::Ip(ip), None) => {
                info!(peer = %ip, "reload: peer added");
                add_peer(here, peer, new.local_as, &fresh).await;
                continue;
            }
            (PeerAddress::Ip(ip), Some(fields)) if !fields.is_empty() => {
                info!(peer = %ip, "reload: {} changed: the session is reset", fields.join(", "));
                if let Err(e) = speaker.remove_peer(*ip).await {
                    warn!(peer = %ip, "reload: {e}");
                }
                add_peer(here, peer, new.local_as, &fresh).await;
                continue;
            }
            (PeerAddress::Interface(name), None) => {
                info!(interface = %name, "reload: unnumbered peer added");
                spawn_unnumbered(here, peer, name, new.local_as, &fresh);
                continue;
            }
            (PeerAddress::Interface(name), Some(fields)) if !fields.is_empty() => {
                warn!(interface = %name, "reload: {} of an unnumbered peer: needs a restart of mdcd", fields.join(", "));
                continue;
            }
            _ => {}
        }
        let Some(old) = old else { continue };
        let ip = match &peer.address {
            PeerAddress::Ip(ip) => *ip,
            // Unnumbered: policies apply from the next start.
            PeerAddress::Interface(_) => continue,
        };
        let changed_names = old.import != peer.import || old.export != peer.export;
        let changed_policy =
            [&peer.import, &peer.export].into_iter().flatten().any(|name| !fresh.same_as(policies, name));
        if changed_names || changed_policy || rib_options(old) != rib_options(peer) {
            info!(peer = %ip, "reload: policies changed: soft reset");
            if let Err(e) = speaker.set_peer_policy(ip, peer_policy(peer, ip, &fresh)).await {
                warn!(peer = %ip, "reload: {e}");
            }
        }
    }
    *policies = fresh;
    let originated = std::mem::take(&mut running.originate);
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
    *running = new;
}

/// The decision process options of `[bgp]`.
fn rib_config(config: &Config) -> RibConfig {
    let b = &config.bgp;
    let mut r = RibConfig::new(config.local_as, config.router_id);
    r.cluster_id = b.cluster_id;
    r.ebgp_requires_policy = b.ebgp_requires_policy;
    r.decision.always_compare_med = b.always_compare_med;
    r.decision.missing_med_worst = b.missing_med_worst;
    r.maximum_paths = usize::from(b.maximum_paths.default);
    r.maximum_paths_by_family =
        b.maximum_paths.per_family.iter().map(|(f, n)| (*f, usize::from(*n))).collect();
    r.multipath_relax = b.multipath_relax;
    r
}

/// Add a configured IP peer to the running speaker.
async fn add_peer(here: &Here<'_>, peer: &PeerConfig, local_as: u32, policies: &Policies) {
    let Some(settings) = peer_settings(here.speaker, peer, local_as, policies, here.restart) else { return };
    if let Err(e) = here.speaker.add_peer(settings).await {
        warn!(peer = %peer.address, "cannot add peer: {e}");
    }
}

/// Look for an unnumbered peer's neighbour and add it when found.
fn spawn_unnumbered(here: &Here<'_>, peer: &PeerConfig, ifname: &str, local_as: u32, policies: &Policies) {
    tokio::spawn(unnumbered_peer(
        here.speaker.clone(),
        peer.clone(),
        ifname.to_string(),
        local_as,
        policies.clone(),
        here.fib.clone(),
        here.restart.clone(),
    ));
}

/// The session settings that differ between two configurations of one
/// peer, by their names in the file (empty: nothing that needs a reset).
fn session_changes(old: &PeerConfig, new: &PeerConfig) -> Vec<&'static str> {
    let (a, b) = (session_part(old), session_part(new));
    let mut changed = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            changed.push(name);
        }
    };
    check("remote-as", a.remote_as != b.remote_as);
    check("password", a.password != b.password);
    check("local-address", a.local_address != b.local_address);
    check("multihop", a.multihop != b.multihop);
    check("gtsm", a.gtsm != b.gtsm);
    check("hold-time", a.hold_time != b.hold_time);
    check("keepalive", a.keepalive != b.keepalive);
    check("connect-retry", a.connect_retry != b.connect_retry);
    check("passive", a.passive != b.passive);
    check("families", a.families != b.families);
    check("port", a.port != b.port);
    check("send-hold-time", a.send_hold_time != b.send_hold_time);
    check("extended-nexthop", a.extended_nexthop != b.extended_nexthop);
    check("add-path-receive", a.add_path_receive != b.add_path_receive);
    check("enforce-first-as", a.enforce_first_as != b.enforce_first_as);
    check("ipv6-next-hop", a.ipv6_next_hop != b.ipv6_next_hop);
    // Anything else that would make the two differ is a field this list
    // does not know yet: reset rather than miss it.
    // add-path-send is applied at run time: the RIB sends as many paths as
    // the session's negotiated ADD-PATH allows (the capability follows at
    // the next session), so a change does not reset the session.
    let mut a = a;
    a.description.clone_from(&b.description);
    a.add_path_send = b.add_path_send;
    if changed.is_empty() && a != b {
        changed.push("session settings");
    }
    changed
}

/// A peer's settings without what a reload applies at run time.
fn session_part(p: &PeerConfig) -> PeerConfig {
    let mut p = p.clone();
    p.import = None;
    p.export = None;
    p.route_reflector_client = false;
    p.next_hop_self = false;
    p.soft_reconfiguration_inbound = false;
    p.max_prefix = None;
    // How many paths is applied now; whether any is sent at all is the
    // ADD-PATH capability of the OPEN: a restart.
    p.add_path_send = p.add_path_send.map(|_| crate::config::AddPathSend::All);
    p
}

/// The policy options a reload applies to a peer.
fn rib_options(p: &PeerConfig) -> impl PartialEq {
    (
        p.route_reflector_client,
        p.next_hop_self,
        p.soft_reconfiguration_inbound,
        p.max_prefix.clone(),
        p.add_path_send,
    )
}

/// The configured policies as the RIB runs them, by name. A policy whose
/// definition did not change across a reload keeps its `Arc`, so the RIB
/// sees it as unchanged and does not soft-reset.
#[derive(Clone, Default)]
struct Policies {
    by_name: BTreeMap<String, (Arc<Policy>, Arc<dyn RoutePolicy>)>,
}

impl Policies {
    fn new(config: &Config, old: Option<&Policies>) -> Policies {
        let mut by_name = BTreeMap::new();
        for (name, policy) in &config.policies {
            let kept = old.and_then(|o| o.by_name.get(name)).filter(|(p, _)| **p == **policy).cloned();
            let entry = kept.unwrap_or_else(|| {
                let run: Arc<dyn RoutePolicy> = Arc::new(RibPolicy::new(Arc::clone(policy), config.local_as));
                (Arc::clone(policy), run)
            });
            by_name.insert(name.clone(), entry);
        }
        Policies { by_name }
    }

    fn get(&self, name: Option<&String>) -> Option<Arc<dyn RoutePolicy>> {
        name.and_then(|n| self.by_name.get(n)).map(|(_, r)| Arc::clone(r))
    }

    /// `name` runs the same policy object here as in `other`.
    fn same_as(&self, other: &Policies, name: &str) -> bool {
        match (self.by_name.get(name), other.by_name.get(name)) {
            (Some((_, a)), Some((_, b))) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// What the RIB needs of a configured peer.
fn peer_policy(peer: &PeerConfig, ip: IpAddr, policies: &Policies) -> PeerPolicy {
    let mut p = PeerPolicy::new(ip);
    p.import = policies.get(peer.import.as_ref());
    p.export = policies.get(peer.export.as_ref());
    p.route_reflector_client = peer.route_reflector_client;
    p.next_hop_self = peer.next_hop_self;
    p.soft_reconfiguration_inbound = peer.soft_reconfiguration_inbound;
    p.max_prefix = peer
        .max_prefix
        .as_ref()
        .map(|m| RibMaxPrefix { limits: m.limits.clone(), warning_only: m.warning_only });
    p.add_path_send = peer.add_path_send.map(|a| match a {
        crate::config::AddPathSend::All => AddPathSend::All,
        crate::config::AddPathSend::Best(n) => AddPathSend::Best(usize::from(n)),
    });
    p
}

/// The speaker's settings for one configured peer.
fn peer_settings(
    speaker: &Speaker,
    peer: &PeerConfig,
    local_as: u32,
    policies: &Policies,
    restart: &Restart,
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
    s.config.enforce_first_as = peer.enforce_first_as;
    s.config.graceful_restart = Some(restart.capability(&peer.families));
    s.ipv6_next_hop = mdc_bgp::speaker::Ipv6NextHop {
        global: peer.ipv6_next_hop,
        interface: Some(crate::addresses::interface_lookup()),
    };
    if peer.extended_nexthop {
        s.config.extended_next_hop =
            vec![ExtendedNextHop { family: Family::IPV4_UNICAST, next_hop_afi: mdc_bgp::Afi::IPV6 }];
    }
    if peer.families.contains(&Family::L2VPN_EVPN) {
        s.config.family_codecs.push(mdc_evpn::family_codec());
    }
    s.config.add_path = peer.add_path_capability();
    s.policy = peer_policy(peer, *ip, policies);
    s.max_prefix_restart =
        peer.max_prefix.as_ref().and_then(|m| m.restart_after).map(|t| Duration::from_secs(u64::from(t)));
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
async fn unnumbered_peer(
    speaker: Speaker,
    peer: PeerConfig,
    ifname: String,
    local_as: u32,
    policies: Policies,
    fib: Option<fib::FibHandle>,
    restart: Restart,
) {
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
    if let Some(f) = &fib {
        f.link_local(IpAddr::V6(ll), ifindex);
    }
    let mut with_ip = peer.clone();
    with_ip.address = PeerAddress::Ip(IpAddr::V6(ll));
    let Some(mut s) = peer_settings(&speaker, &with_ip, local_as, &policies, &restart) else { return };
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
    /// The configuration in force (replaced by a reload).
    config: std::sync::RwLock<Arc<Config>>,
    fib: Option<fib::FibHandle>,
}

impl SpeakerState {
    fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(c) => Arc::clone(&c),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

impl StateSource for SpeakerState {
    async fn neighbors(&self) -> Vec<NeighborView> {
        let peers = self.speaker.peers().await.unwrap_or_default();
        let config = self.config();
        peers
            .into_iter()
            .map(|p| {
                let configured = config.peers.iter().find(|c| c.address == PeerAddress::Ip(p.address.ip()));
                let description = configured.and_then(|c| c.description.clone());
                // RFC 8212, as FRR's "(Policy)": what the missing policy blocks.
                let blocked = |policy: Option<&String>| {
                    config.bgp.ebgp_requires_policy
                        && configured.is_some_and(|c| c.is_ebgp(config.local_as))
                        && policy.is_none()
                };
                NeighborView {
                    address: p.address.ip().to_string(),
                    remote_as: p.remote_as,
                    description,
                    state: p.state.to_string(),
                    state_secs: p.uptime.map_or(0, |d| d.as_secs()),
                    prefixes_received: p.prefixes_received.iter().map(|(_, n)| *n as u64).sum(),
                    prefixes_advertised: p.prefixes_advertised.iter().map(|(_, n)| *n as u64).sum(),
                    messages_received: p.messages_in,
                    messages_sent: p.messages_out,
                    capabilities: p
                        .negotiated
                        .as_ref()
                        .map(|n| n.families.iter().map(|f| f.to_string()).collect())
                        .unwrap_or_default(),
                    last_error: p.last_down.clone(),
                    update_errors: p.update_errors.total(),
                    last_update_error: p.update_errors.last.clone(),
                    no_import_policy: blocked(configured.and_then(|c| c.import.as_ref())),
                    no_export_policy: blocked(configured.and_then(|c| c.export.as_ref())),
                }
            })
            .collect()
    }

    async fn clear_bgp(&self, peer: IpAddr, soft: Option<SoftReset>) -> Result<String, String> {
        self.clear(peer, soft).await
    }

    async fn fib(&self) -> Result<FibView, String> {
        match &self.fib {
            Some(f) => f.show().await.ok_or_else(|| "the FIB thread has stopped".to_string()),
            None => Err("mdcd does not install routes ([fib] install = false)".into()),
        }
    }

    async fn routes(&self, filter: &RouteFilter) -> Vec<RouteView> {
        let mut out = Vec::new();
        for family in &filter.families {
            let routes = self.speaker.routes(*family).await.unwrap_or_default();
            for r in routes {
                let inside = match (&filter.prefix, r.dest.prefix()) {
                    (None, _) => true,
                    (Some(p), Some(q)) if filter.longer_prefixes => prefix_contains(p, q),
                    (Some(p), Some(q)) => p == q,
                    (Some(_), None) => false,
                };
                if !inside {
                    continue;
                }
                for path in &r.paths {
                    if filter.peer.is_some_and(|want| want != path.from) {
                        continue;
                    }
                    let v = route_view(*family, &r.dest, path);
                    if filter.community.as_ref().is_some_and(|c| !v.communities.contains(c)) {
                        continue;
                    }
                    out.push(v);
                }
            }
        }
        out
    }
}

impl SpeakerState {
    async fn clear(&self, peer: IpAddr, soft: Option<SoftReset>) -> Result<String, String> {
        let r = match soft {
            None => self.speaker.reset_peer(peer).await.map(|()| "session reset (Cease/4)"),
            Some(SoftReset::In) => self.speaker.soft_reset(peer, true, false).await.map(|()| "soft reset in"),
            Some(SoftReset::Out) => {
                self.speaker.soft_reset(peer, false, true).await.map(|()| "soft reset out")
            }
            Some(SoftReset::Both) => {
                self.speaker.soft_reset(peer, true, true).await.map(|()| "soft reset in and out")
            }
        };
        match r {
            Ok(done) => {
                info!(%peer, "mdcctl: {done}");
                Ok(format!("{peer}: {done}"))
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// `inner` lies inside `outer` (or is it).
fn prefix_contains(outer: &Prefix, inner: &Prefix) -> bool {
    match (outer, inner) {
        (Prefix::V4(o), Prefix::V4(i)) => o.contains(i),
        (Prefix::V6(o), Prefix::V6(i)) => o.contains(i),
        _ => false,
    }
}

fn route_view(family: Family, dest: &Dest, p: &PathView) -> RouteView {
    let attrs = &p.path.attrs;
    // An EVPN route shows as its NLRI (with the labels of this path).
    let prefix = match (dest, attrs.nlri()) {
        (Dest::Key(_), Some(nlri)) if family == Family::L2VPN_EVPN => {
            match mdc_evpn::route::EvpnRoute::decode(nlri, 0) {
                Ok((route, _)) => route.to_string(),
                Err(_) => dest.to_string(),
            }
        }
        _ => dest.to_string(),
    };
    let mut v = RouteView {
        family: family.to_string(),
        prefix,
        path_id: (p.path.path_id != 0).then_some(p.path.path_id),
        peer: p.from.map(|a| a.to_string()),
        next_hop: match attrs.next_hop() {
            Some(NextHop::V4(a)) => a.to_string(),
            Some(NextHop::V6 { global, .. }) => global.to_string(),
            Some(other) => other.to_string(),
            None => "self".into(),
        },
        origin: "IGP".into(),
        stale: p.path.stale,
        best: p.best,
        multipath: p.multipath,
        lost: p.lost.map(|r| r.to_string()),
        weight: attrs.weight(),
        ..RouteView::default()
    };
    for a in attrs.list() {
        match &a.value {
            AttrValue::Origin(o) => v.origin = o.to_string(),
            AttrValue::AsPath(path) => v.as_path = path.to_string(),
            AttrValue::MultiExitDisc(m) => v.med = Some(*m),
            AttrValue::LocalPref(l) => v.local_pref = Some(*l),
            AttrValue::Communities(c) => v.communities.extend(c.0.iter().map(ToString::to_string)),
            AttrValue::LargeCommunities(c) => v.communities.extend(c.0.iter().map(ToString::to_string)),
            AttrValue::OriginatorId(o) => v.originator_id = Some(o.to_string()),
            AttrValue::ClusterList(c) => v.cluster_list = c.iter().map(ToString::to_string).collect(),
            AttrValue::AtomicAggregate => v.other_attributes.push("ATOMIC_AGGREGATE".into()),
            AttrValue::Aggregator(ag) => {
                v.other_attributes.push(format!("AGGREGATOR {} {}", ag.asn, ag.address))
            }
            AttrValue::ExtendedCommunities(c) => {
                let list: Vec<String> = c.0.iter().map(ToString::to_string).collect();
                v.other_attributes.push(format!("extended communities {}", list.join(" ")));
            }
            AttrValue::Otc(asn) => v.other_attributes.push(format!("OTC {asn}")),
            AttrValue::Unknown { code, value } => v.other_attributes.push(format!(
                "unknown attribute {code} (flags 0x{:02x}, {} bytes{})",
                a.flags,
                value.len(),
                if a.flags & mdc_bgp::attr::flag::PARTIAL != 0 { ", partial" } else { "" }
            )),
            other => v.other_attributes.push(format!("attribute {}", other.code())),
        }
    }
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn peer(add_path: &str) -> PeerConfig {
        let text = format!(
            "router-id = \"192.0.2.1\"\nlocal-as = 65001\n[[peer]]\naddress = \"192.0.2.2\"\nremote-as = 65002\n{add_path}\n"
        );
        let config = Config::parse(std::path::Path::new("mdcd.toml"), &text).unwrap();
        config.peers.into_iter().next().unwrap()
    }

    /// With the kernel routes kept across a stop, our capability lists the
    /// installed families with the F bit and `[fib] restart-time`, and the
    /// R bit after a restart; otherwise we are a helper only.
    #[test]
    fn the_graceful_restart_capability_follows_fib() {
        let families = [Family::IPV4_UNICAST, Family::IPV6_UNICAST, Family::L2VPN_EVPN];
        let restart = Restart { preserves_forwarding: true, restart_time: 60, restarted: true };
        let gr = restart.capability(&families);
        assert_eq!((gr.restart_time, gr.restarting), (60, true));
        assert_eq!(gr.forwarding_families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
        let fresh = Restart { restarted: false, ..restart.clone() }.capability(&families);
        assert!(!fresh.restarting && fresh.forwarding_families.len() == 2);
        let helper = Restart { preserves_forwarding: false, ..restart }.capability(&families);
        assert!(!helper.restarting && helper.forwarding_families.is_empty() && helper.families.is_empty());
    }

    /// A reload resets a peer's session only for a session setting, and
    /// names it; policies, description and add-path-send are applied live.
    #[test]
    fn a_reload_resets_a_session_only_for_its_session_settings() {
        let base = peer("");
        assert!(session_changes(&base, &peer("")).is_empty(), "the same file changes nothing");
        for (line, name) in [
            ("hold-time = 30", "hold-time"),
            ("passive = true", "passive"),
            ("password = \"x\"", "password"),
            ("families = [\"ipv6-unicast\"]", "families"),
            ("enforce-first-as = false", "enforce-first-as"),
            ("ipv6-next-hop = \"2001:db8::9\"", "ipv6-next-hop"),
            ("remote-as = 65009", "remote-as"),
        ] {
            let text = format!(
                "router-id = \"192.0.2.1\"\nlocal-as = 65001\n[[peer]]\naddress = \"192.0.2.2\"\n{}{line}\n",
                if name == "remote-as" { "" } else { "remote-as = 65002\n" }
            );
            let changed = Config::parse(std::path::Path::new("mdcd.toml"), &text).unwrap().peers.remove(0);
            assert_eq!(session_changes(&base, &changed), vec![name], "{line}");
        }
        for line in ["description = \"core\"", "next-hop-self = true", "add-path-send = \"all\""] {
            assert!(session_changes(&base, &peer(line)).is_empty(), "{line}");
        }
    }

    #[test]
    fn session_part_keeps_whether_add_path_is_sent_not_how_many_paths() {
        let (none, all, two) = (peer(""), peer("add-path-send = \"all\""), peer("add-path-send = 2"));
        assert!(session_part(&all) == session_part(&two), "the count is applied at run time");
        assert!(rib_options(&all) != rib_options(&two));
        assert!(session_part(&none) != session_part(&all), "the capability changes: a restart");
        assert!(session_part(&none) != session_part(&two));
    }
}

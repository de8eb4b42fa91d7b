//! The tokio speaker: sockets and tasks around the sans-IO FSM and RIB.
//!
//! This module owns the tasks, sockets and the clock of a BGP speaker; the
//! codec, the FSM and the RIB stay free of tokio. One speaker task owns the
//! peer table and the [`Rib`]; one task per peer owns that peer's FSM(s)
//! and timers (and decodes its UPDATEs); each connection has a reader and a
//! writer task. They talk through typed channels; no lock is held across
//! an await. docs/adr/0005-speaker.md explains the choices.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use mdc_bgp::fsm::RemoteAs;
//! use mdc_bgp::speaker::{Route, Speaker, SpeakerConfig};
//! let speaker = Speaker::start(SpeakerConfig::new("192.0.2.254".parse()?, 65000))?;
//! speaker.add_peer(speaker.peer_settings("192.0.2.1".parse()?, RemoteAs::Exact(65001))).await?;
//! speaker.originate(Route::new("198.51.100.0/24".parse()?))?;
//! # Ok(()) }
//! ```

mod peer;
mod route;
pub mod socket;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use peer::{CLOSE_GRACE, MAX_QUEUED_BYTES, STALL_AFTER};
pub use route::Route;
pub use socket::{BGP_PORT, TransportOptions};

use crate::attr::{NextHop, PathAttribute};
use crate::family::Family;
use crate::fsm::{ConfigError, DownReason, PeerConfig, RemoteAs, State};
use crate::negotiate::Negotiated;
use crate::nlri::{Nlri, Prefix};
use crate::notification::Notification;
use crate::rib::{
    Attrs, Dest, FibChange, Output, PeerId, PeerPolicy, Rib, RibConfig, RibStats, RouteView, SessionInfo,
};
use crate::update::UpdateDecode;
use peer::{PeerCmd, PeerEvent, StopKind};

/// One route as a peer sent it (after its import policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRoute {
    pub nlri: Nlri,
    /// NEXT_HOP, or the next hop of MP_REACH_NLRI.
    pub next_hop: Option<NextHop>,
    /// The path attributes other than NEXT_HOP and MP_REACH/MP_UNREACH.
    pub attributes: Arc<Attrs>,
    /// Kept from a session that ended (graceful restart) or from before a
    /// BoRR, and not announced again yet.
    pub stale: bool,
}

impl ReceivedRoute {
    /// The attributes, sorted by type code (decoded: a copy).
    pub fn attribute_list(&self) -> Vec<PathAttribute> {
        self.attributes.list()
    }
}

/// Who the speaker is and where it listens.
#[derive(Debug, Clone)]
pub struct SpeakerConfig {
    pub router_id: Ipv4Addr,
    pub local_as: u32,
    /// Addresses to accept sessions on (port 0 picks a free port; see
    /// [`Speaker::listen_addrs`]). Empty: active peers only.
    pub listen: Vec<SocketAddr>,
    /// Decision process and RIB options (its AS and router id are the
    /// speaker's). The library's default accepts eBGP routes without a
    /// policy; mdcd turns RFC 8212 on.
    pub rib: RibConfig,
    /// Where to send what unicast destinations forward to (one batch per
    /// RIB flush), for a program that installs them in the kernel.
    pub fib: Option<FibSink>,
}

/// Takes the RIB's FIB changes, one batch per flush, on the RIB's thread:
/// it must not block (send them on to the installer).
#[derive(Clone)]
pub struct FibSink(Arc<dyn Fn(Vec<FibChange>) + Send + Sync>);

impl FibSink {
    pub fn new(f: impl Fn(Vec<FibChange>) + Send + Sync + 'static) -> FibSink {
        FibSink(Arc::new(f))
    }
}

impl std::fmt::Debug for FibSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FibSink")
    }
}

impl From<std::sync::mpsc::Sender<Vec<FibChange>>> for FibSink {
    fn from(tx: std::sync::mpsc::Sender<Vec<FibChange>>) -> FibSink {
        FibSink::new(move |changes| {
            let _ = tx.send(changes);
        })
    }
}

impl SpeakerConfig {
    /// Listen on every address, IPv4 and IPv6, port 179.
    pub fn new(router_id: Ipv4Addr, local_as: u32) -> SpeakerConfig {
        SpeakerConfig {
            router_id,
            local_as,
            listen: vec![SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), BGP_PORT)],
            rib: RibConfig { ebgp_requires_policy: false, ..RibConfig::new(local_as, router_id) },
            fib: None,
        }
    }
}

/// One peer: its session configuration, where to reach it and how.
#[derive(Debug, Clone)]
pub struct PeerSettings {
    pub config: PeerConfig,
    /// The peer's address and port (179). A link-local IPv6 peer needs
    /// `transport.interface` (unnumbered peering).
    pub remote: SocketAddr,
    pub transport: TransportOptions,
    /// Policies and RIB options (its address is set from `remote`).
    pub policy: PeerPolicy,
    /// After a max-prefix reset: start again after this long (else stay
    /// down until [`Speaker::start_peer`]).
    pub max_prefix_restart: Option<Duration>,
    /// Our next hop for IPv6 routes ([`Ipv6NextHop`]).
    pub ipv6_next_hop: Ipv6NextHop,
}

/// The addresses of the interface that holds a local address: its global
/// IPv6 address and its IPv6 link-local one, each if it has one. The
/// embedding program answers it (mdcd from the kernel, through mdc-fib).
pub type InterfaceAddresses = Arc<dyn Fn(IpAddr) -> (Option<Ipv6Addr>, Option<Ipv6Addr>) + Send + Sync>;

/// Where our IPv6 next hop comes from when we are the next hop of an IPv6
/// route (or of an IPv4 one with an IPv6 next hop, RFC 8950). Found when
/// the session comes up:
/// - the global address: `global` if set, else the interface's (from
///   `interface`), else our end of an IPv6 session;
/// - the link-local address (as the second next hop, RFC 2545 §3) only
///   when the peer shares our link ([`PeerSettings::is_direct`]);
/// - neither (an IPv4 session over an interface without IPv6): the
///   IPv4-mapped form of our IPv4 address, which the peer may not be able
///   to install.
#[derive(Clone, Default)]
pub struct Ipv6NextHop {
    /// A configured global address.
    pub global: Option<Ipv6Addr>,
    /// Asks for the addresses of the interface the session runs over.
    pub interface: Option<InterfaceAddresses>,
}

impl std::fmt::Debug for Ipv6NextHop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipv6NextHop")
            .field("global", &self.global)
            .field("interface", &self.interface.as_ref().map(|_| "lookup"))
            .finish()
    }
}

impl Ipv6NextHop {
    /// The next hop for a session whose end is `local`; `direct`: the
    /// peer shares our link. `None`: nothing better than `local` itself.
    pub fn resolve(&self, local: IpAddr, direct: bool) -> Option<NextHop> {
        let (found_global, found_ll) = self.interface.as_ref().map_or((None, None), |f| f(local));
        let own_global = match local {
            IpAddr::V6(a) if !a.is_unicast_link_local() => Some(a),
            _ => None,
        };
        let own_ll = match local {
            IpAddr::V6(a) if a.is_unicast_link_local() => Some(a),
            _ => None,
        };
        let global = self.global.or(own_global).or(found_global);
        let link_local = if direct { own_ll.or(found_ll) } else { None };
        match (global, link_local) {
            (Some(global), link_local) => Some(NextHop::V6 { global, link_local }),
            // Link-local only (unnumbered): in both fields, as before.
            (None, Some(ll)) => Some(NextHop::V6 { global: ll, link_local: Some(ll) }),
            (None, None) => None,
        }
    }
}

impl PeerSettings {
    /// The peer shares a link with us: a link-local address, TTL 1
    /// (single-hop eBGP) or GTSM with one hop.
    pub fn is_direct(&self) -> bool {
        let link_local = match self.remote.ip() {
            IpAddr::V6(a) => a.is_unicast_link_local(),
            IpAddr::V4(a) => a.is_link_local(),
        };
        link_local || self.transport.ttl == Some(1) || self.transport.gtsm_hops == Some(1)
    }
}

/// A peer's state, as [`Speaker::peers`] reports it.
#[derive(Debug, Clone)]
pub struct PeerStatus {
    pub address: SocketAddr,
    /// The negotiated AS, else the configured one if exact.
    pub remote_as: Option<u32>,
    pub state: State,
    /// Time since the session reached Established.
    pub uptime: Option<Duration>,
    /// Our end of the established session.
    pub local_address: Option<SocketAddr>,
    pub messages_in: u64,
    pub messages_out: u64,
    /// Routes accepted from the peer (post-policy Adj-RIB-In), per
    /// negotiated family.
    pub prefixes_received: Vec<(Family, usize)>,
    /// Routes the peer holds from us (Adj-RIB-Out), per negotiated family.
    pub prefixes_advertised: Vec<(Family, usize)>,
    /// What the established session negotiated.
    pub negotiated: Option<Arc<Negotiated>>,
    /// Why the last session ended (e.g. `sent NOTIFICATION 6/1 (Cease /
    /// Maximum Number of Prefixes Reached)`).
    pub last_down: Option<String>,
    /// UPDATEs that were not taken as they came (RFC 7606, the sender's
    /// checks), since the peer was added.
    pub update_errors: UpdateErrors,
}

/// How many of a peer's UPDATEs each RFC 7606 action was taken on (the
/// strongest, one per UPDATE), and the last error: why a route the peer
/// sent is not in the table, without reading the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateErrors {
    pub attribute_discard: u64,
    pub treat_as_withdraw: u64,
    pub afi_safi_disable: u64,
    /// The strongest error of the last such UPDATE, in words (e.g.
    /// `treat-as-withdraw: NEXT_HOP at byte 35: 0.0.0.0/8 is not a usable
    /// next hop (attribute 3)`).
    pub last: Option<String>,
}

impl UpdateErrors {
    pub fn total(&self) -> u64 {
        self.attribute_discard + self.treat_as_withdraw + self.afi_safi_disable
    }

    /// Count one decoded UPDATE (nothing if it was clean).
    pub fn count(&mut self, decoded: &crate::update::UpdateDecode) {
        let Some(strongest) = decoded.diagnostics.iter().max_by_key(|d| d.action) else { return };
        match strongest.action {
            crate::rfc7606::Action::AttributeDiscard => self.attribute_discard += 1,
            crate::rfc7606::Action::TreatAsWithdraw => self.treat_as_withdraw += 1,
            crate::rfc7606::Action::AfiSafiDisable => self.afi_safi_disable += 1,
            crate::rfc7606::Action::SessionReset => {}
        }
        self.last = Some(strongest.to_string());
    }
}

impl PeerStatus {
    fn idle(settings: &PeerSettings) -> PeerStatus {
        PeerStatus {
            address: settings.remote,
            remote_as: None,
            state: State::Idle,
            uptime: None,
            local_address: None,
            messages_in: 0,
            messages_out: 0,
            prefixes_received: Vec::new(),
            prefixes_advertised: Vec::new(),
            negotiated: None,
            last_down: None,
            update_errors: UpdateErrors::default(),
        }
    }
}

/// What [`Speaker::subscribe`] delivers. Peers are named by address.
#[derive(Debug, Clone)]
pub enum SpeakerEvent {
    /// A session reached Established.
    PeerUp { peer: IpAddr, negotiated: Arc<Negotiated> },
    /// An Established session ended (the NOTIFICATION sent or received is
    /// in `reason`; an RFC 9003 shutdown message with it).
    PeerDown { peer: IpAddr, reason: DownReason },
    /// A connection attempt failed (before any BGP message).
    ConnectionFailed { peer: IpAddr, reason: String },
    /// An UPDATE from the peer, after RFC 7606 handling (what the
    /// Adj-RIB-In applied).
    RoutesReceived { peer: IpAddr, update: Arc<UpdateDecode> },
    /// The peer finished its initial table for a family. Sent once the RIB
    /// holds that table: a query after it sees the routes.
    EndOfRib { peer: IpAddr, family: Family },
}

/// What a [`Speaker`] call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    #[error("peer {0} is already configured")]
    PeerExists(IpAddr),
    #[error("no peer {0} is configured")]
    NoSuchPeer(IpAddr),
    #[error("peer configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("route {route}: {why}")]
    Route { route: String, why: &'static str },
    #[error(
        "route refresh for {family} is not possible with {peer}: no Established session that negotiated it"
    )]
    RouteRefreshUnavailable { peer: IpAddr, family: Family },
    #[error("the speaker has stopped")]
    Stopped,
    #[error("socket: {0}")]
    Io(#[from] io::Error),
}

type Reply<T = ()> = oneshot::Sender<Result<T, SpeakerError>>;

enum Command {
    AddPeer(Box<PeerSettings>, Reply),
    RemovePeer(IpAddr, Reply),
    ToPeer(IpAddr, PeerCmd),
    Originate(Arc<Route>),
    Withdraw(Family, Nlri),
    Peers(oneshot::Sender<Vec<PeerStatus>>),
    Received(IpAddr, Family, Reply<Vec<ReceivedRoute>>),
    ReceivedPrePolicy(IpAddr, Family, Reply<Vec<ReceivedRoute>>),
    Advertised(IpAddr, Family, Reply<Vec<(Dest, Arc<Attrs>)>>),
    Routes(Family, oneshot::Sender<Vec<RouteView>>),
    SetPeerPolicy(IpAddr, Box<PeerPolicy>, Reply),
    SoftReset { peer: IpAddr, inbound: bool, outbound: bool, reply: Reply },
    SetRibConfig(Box<RibConfig>),
    SetNextHop(IpAddr, Option<u32>),
    FibTable(oneshot::Sender<Vec<FibChange>>),
    RefreshFib(Family, Prefix),
    Stats(oneshot::Sender<RibStats>),
    Shutdown(Option<String>, oneshot::Sender<()>),
    RestartComplete,
}

/// A running speaker. Cheap to clone; every clone drives the same speaker.
/// When the last clone is dropped the speaker stops (Cease/2 to every peer).
#[derive(Clone, Debug)]
pub struct Speaker {
    tx: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<SpeakerEvent>,
    end_of_ribs: broadcast::Sender<(IpAddr, Family)>,
    listen: Arc<Vec<SocketAddr>>,
    config: Arc<SpeakerConfig>,
}

/// Peers are keyed by address; an IPv4-mapped IPv6 address is its IPv4.
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Speaker {
    /// Bind the listeners and start the speaker task. Must be called inside
    /// a tokio runtime (with the time and I/O drivers enabled).
    pub fn start(config: SpeakerConfig) -> io::Result<Speaker> {
        let mut listeners = Vec::new();
        let mut addrs = Vec::new();
        for a in &config.listen {
            let l = socket::listen(*a)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {a} for BGP: {e}")))?;
            addrs.push(l.local_addr()?);
            listeners.push(Arc::new(l));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(16 * 1024);
        let (end_of_ribs, _) = broadcast::channel(1024);
        let (accept_tx, accept_rx) = mpsc::channel(64);
        let accept_tasks = listeners
            .iter()
            .map(|l| {
                let (l, tx) = (Arc::clone(l), accept_tx.clone());
                tokio::spawn(async move {
                    loop {
                        match l.accept().await {
                            Ok(conn) => {
                                if tx.send(conn).await.is_err() {
                                    return;
                                }
                            }
                            Err(e) => {
                                tracing::warn!("accept failed: {e}");
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                    }
                })
            })
            .collect();
        let mut rib_config = config.rib.clone();
        rib_config.local_as = config.local_as;
        rib_config.router_id = config.router_id;
        rib_config.fib = config.fib.is_some();
        let (to_rib, from_peers) = mpsc::unbounded_channel();
        let task = SpeakerTask {
            base: Instant::now(),
            peers: Default::default(),
            rib: Rib::new(rib_config),
            listeners,
            accept_tasks,
            events: events.clone(),
            end_of_ribs: end_of_ribs.clone(),
            to_rib,
            backlog: Arc::new(AtomicUsize::new(0)),
            fib: config.fib.clone(),
            restart_complete: false,
        };
        let run = task.run(rx, accept_rx, from_peers);
        let rt = tokio::runtime::Handle::current();
        if rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            // The RIB task gets a thread of its own (it still spawns onto,
            // and uses the drivers of, the runtime): as a task, the peer
            // task that wakes it would often run it on the same worker,
            // and a full table would go through on one core.
            std::thread::Builder::new().name("mdc-rib".into()).spawn(move || rt.block_on(run))?;
        } else {
            tokio::spawn(run);
        }
        Ok(Speaker { tx, events, end_of_ribs, listen: Arc::new(addrs), config: Arc::new(config) })
    }

    /// The addresses the speaker listens on (with the ports the kernel chose).
    pub fn listen_addrs(&self) -> &[SocketAddr] {
        &self.listen
    }

    /// A peer configuration with this speaker's AS and router id and mdc's
    /// defaults (docs/adr/0004), reaching the peer on port 179.
    pub fn peer_settings(&self, remote: IpAddr, remote_as: RemoteAs) -> PeerSettings {
        PeerSettings {
            config: PeerConfig::new(self.config.local_as, remote_as, self.config.router_id),
            remote: SocketAddr::new(remote, BGP_PORT),
            transport: TransportOptions::default(),
            policy: PeerPolicy::new(remote),
            max_prefix_restart: None,
            ipv6_next_hop: Ipv6NextHop::default(),
        }
    }

    fn send(&self, cmd: Command) -> Result<(), SpeakerError> {
        self.tx.send(cmd).map_err(|_| SpeakerError::Stopped)
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, SpeakerError> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx))?;
        rx.await.map_err(|_| SpeakerError::Stopped)?
    }

    async fn to_peer<T>(
        &self,
        peer: IpAddr,
        make: impl FnOnce(Reply<T>) -> PeerCmd,
    ) -> Result<T, SpeakerError> {
        let peer = peer_key(peer);
        let (tx, rx) = oneshot::channel();
        self.send(Command::ToPeer(peer, make(tx)))?;
        // Dropped unanswered: the speaker has no such peer.
        rx.await.map_err(|_| SpeakerError::NoSuchPeer(peer))?
    }

    /// Configure a peer and start it (connect, unless passive). TCP-MD5
    /// keys go on the listeners too.
    pub async fn add_peer(&self, settings: PeerSettings) -> Result<(), SpeakerError> {
        self.call(|r| Command::AddPeer(Box::new(settings), r)).await
    }

    /// Stop the session with Cease/Peer De-configured and forget the peer
    /// and its routes. Returns once the NOTIFICATION is written (or
    /// [`CLOSE_GRACE`] passed).
    pub async fn remove_peer(&self, peer: IpAddr) -> Result<(), SpeakerError> {
        self.call(|r| Command::RemovePeer(peer_key(peer), r)).await
    }

    /// Reset the session with Cease/Administrative Reset; it comes back
    /// after the backoff delay.
    pub async fn reset_peer(&self, peer: IpAddr) -> Result<(), SpeakerError> {
        self.to_peer(peer, |r| PeerCmd::Stop { kind: StopKind::Reset, exit: false, done: Some(r) }).await
    }

    /// Administratively shut the session down: Cease/Administrative
    /// Shutdown with this RFC 9003 message. It stays down until
    /// [`Speaker::start_peer`].
    pub async fn shutdown_peer(&self, peer: IpAddr, message: &str) -> Result<(), SpeakerError> {
        let kind = StopKind::Shutdown(Some(message.to_owned()));
        self.to_peer(peer, |r| PeerCmd::Stop { kind, exit: false, done: Some(r) }).await
    }

    /// Start a peer that was shut down.
    pub async fn start_peer(&self, peer: IpAddr) -> Result<(), SpeakerError> {
        self.to_peer(peer, PeerCmd::Start).await
    }

    /// Announce a route to every peer that negotiated its family (now, and
    /// to each peer whose session comes up later). Replaces a route with
    /// the same family and NLRI.
    pub fn originate(&self, route: Route) -> Result<(), SpeakerError> {
        let fits = matches!(
            (route.family, route.nlri.prefix),
            (Family::IPV4_UNICAST, Prefix::V4(_)) | (Family::IPV6_UNICAST, Prefix::V6(_))
        );
        if !fits {
            return Err(SpeakerError::Route {
                route: route.nlri.to_string(),
                why: "the family must be IPv4 or IPv6 unicast and match the prefix",
            });
        }
        self.send(Command::Originate(Arc::new(route)))
    }

    /// Withdraw a route originated with [`Speaker::originate`].
    pub fn withdraw(&self, family: Family, nlri: Nlri) -> Result<(), SpeakerError> {
        self.send(Command::Withdraw(family, nlri))
    }

    /// Session and route events from now on. A receiver that falls more
    /// than 16384 events behind gets `RecvError::Lagged`.
    pub fn subscribe(&self) -> broadcast::Receiver<SpeakerEvent> {
        self.events.subscribe()
    }

    /// Only the End-of-RIBs, (peer, family), each sent once the RIB holds
    /// the table it ends. Unlike [`Speaker::subscribe`] this costs nothing
    /// per UPDATE (a subscriber there gets every UPDATE decoded).
    pub fn end_of_ribs(&self) -> broadcast::Receiver<(IpAddr, Family)> {
        self.end_of_ribs.subscribe()
    }

    /// Every configured peer's state.
    pub async fn peers(&self) -> Result<Vec<PeerStatus>, SpeakerError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Peers(tx))?;
        rx.await.map_err(|_| SpeakerError::Stopped)
    }

    /// The routes of `family` the peer announced and its import policy
    /// accepted (its post-policy Adj-RIB-In). IP prefix families only;
    /// [`Speaker::routes`] has every family.
    pub async fn received_routes(
        &self,
        peer: IpAddr,
        family: Family,
    ) -> Result<Vec<ReceivedRoute>, SpeakerError> {
        self.call(|r| Command::Received(peer_key(peer), family, r)).await
    }

    /// The routes of `family` as the peer sent them, before the import
    /// policy (kept only with soft reconfiguration inbound).
    pub async fn received_routes_pre_policy(
        &self,
        peer: IpAddr,
        family: Family,
    ) -> Result<Vec<ReceivedRoute>, SpeakerError> {
        self.call(|r| Command::ReceivedPrePolicy(peer_key(peer), family, r)).await
    }

    /// What the peer holds from us for `family` (its Adj-RIB-Out).
    pub async fn advertised_routes(
        &self,
        peer: IpAddr,
        family: Family,
    ) -> Result<Vec<(Dest, Arc<Attrs>)>, SpeakerError> {
        self.call(|r| Command::Advertised(peer_key(peer), family, r)).await
    }

    /// The Loc-RIB of `family`: every destination with all its paths,
    /// best first, with the decision process's verdicts.
    pub async fn routes(&self, family: Family) -> Result<Vec<RouteView>, SpeakerError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Routes(family, tx))?;
        rx.await.map_err(|_| SpeakerError::Stopped)
    }

    /// Change a peer's policies; applied with a soft reset (the session
    /// stays up).
    pub async fn set_peer_policy(&self, peer: IpAddr, policy: PeerPolicy) -> Result<(), SpeakerError> {
        self.call(|r| Command::SetPeerPolicy(peer_key(peer), Box::new(policy), r)).await
    }

    /// Soft reset: run the import policy again (from the pre-policy copy,
    /// or by asking the peer for a route refresh) and/or send the peer
    /// what its export rules give now.
    pub async fn soft_reset(&self, peer: IpAddr, inbound: bool, outbound: bool) -> Result<(), SpeakerError> {
        self.call(|reply| Command::SoftReset { peer: peer_key(peer), inbound, outbound, reply }).await
    }

    /// Change the decision options (every destination is decided again).
    /// The AS and router id stay the speaker's.
    pub fn set_rib_config(&self, config: RibConfig) -> Result<(), SpeakerError> {
        self.send(Command::SetRibConfig(Box::new(config)))
    }

    /// Next-hop tracking: BGP next hop `addr` is unreachable (`None`) or
    /// reachable at an IGP cost (see [`Rib::set_next_hop`]).
    pub fn set_next_hop(&self, addr: IpAddr, reach: Option<u32>) -> Result<(), SpeakerError> {
        self.send(Command::SetNextHop(addr, reach))
    }

    /// What every unicast destination forwards to now (see
    /// [`Rib::fib_table`]).
    pub async fn fib_table(&self) -> Result<Vec<FibChange>, SpeakerError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::FibTable(tx))?;
        rx.await.map_err(|_| SpeakerError::Stopped)
    }

    /// Send the FIB consumer this destination's route again (see
    /// [`Rib::refresh_fib`]).
    pub fn refresh_fib(&self, family: Family, prefix: Prefix) -> Result<(), SpeakerError> {
        self.send(Command::RefreshFib(family, prefix))
    }

    /// RIB size.
    pub async fn rib_stats(&self) -> Result<RibStats, SpeakerError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Stats(tx))?;
        rx.await.map_err(|_| SpeakerError::Stopped)
    }

    /// Ask the peer to send its routes of `family` again (RFC 2918).
    pub async fn route_refresh(&self, peer: IpAddr, family: Family) -> Result<(), SpeakerError> {
        self.to_peer(peer, |r| PeerCmd::RouteRefresh(family, r)).await
    }

    /// Our graceful (re)start is over and our forwarding state is in
    /// place (RFC 4724): from now on every peer's OPEN carries no Restart
    /// State bit and the Forwarding State bit for its graceful restart
    /// families, and so do peers added later.
    pub fn restart_complete(&self) -> Result<(), SpeakerError> {
        self.send(Command::RestartComplete)
    }

    /// Stop the whole speaker: Cease/Administrative Shutdown with this
    /// RFC 9003 message to every peer, then close everything. Returns once
    /// the NOTIFICATIONs are written (each bounded by [`CLOSE_GRACE`]).
    pub async fn shutdown(&self, message: &str) -> Result<(), SpeakerError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Shutdown(Some(message.to_owned()), tx))?;
        rx.await.map_err(|_| SpeakerError::Stopped)
    }
}

struct PeerEntry {
    id: PeerId,
    /// Batches handed to the peer's task and not encoded yet.
    unsent: Arc<AtomicUsize>,
    tx: mpsc::UnboundedSender<PeerCmd>,
    status: watch::Receiver<PeerStatus>,
    task: JoinHandle<()>,
    transport: TransportOptions,
    max_prefix_restart: Option<Duration>,
}

/// Most peer events handled before the RIB sends out what changed: large
/// enough to pack UPDATEs, small enough to keep latency low.
const EVENT_BATCH: usize = 512;

/// Most changed destinations before the RIB sends out what changed: keeps
/// a flush (and the UPDATEs it builds) small when UPDATEs carry a thousand
/// withdrawals each.
const MAX_PENDING: usize = 16 * 1024;

/// Most RIB batches waiting in one peer's task before the RIB stops taking
/// input: bounds the memory of exported routes not encoded yet.
const MAX_UNSENT: usize = 16;

/// The task that owns the peer table and the RIB.
struct SpeakerTask {
    base: Instant,
    /// Keyed by configured addresses, looked up per UPDATE (the RIB's
    /// hash, as everywhere in the crate).
    peers: crate::rib::hash::RibHashMap<IpAddr, PeerEntry>,
    rib: Rib,
    listeners: Vec<Arc<TcpListener>>,
    accept_tasks: Vec<JoinHandle<()>>,
    events: broadcast::Sender<SpeakerEvent>,
    end_of_ribs: broadcast::Sender<(IpAddr, Family)>,
    to_rib: mpsc::UnboundedSender<(IpAddr, PeerEvent)>,
    /// Routes queued for the RIB (see `peer::MAX_RIB_BACKLOG`).
    backlog: Arc<AtomicUsize>,
    /// See [`SpeakerConfig::fib`].
    fib: Option<FibSink>,
    /// [`Speaker::restart_complete`] was called: peers added later start
    /// with their graceful restart capability completed too.
    restart_complete: bool,
}

impl SpeakerTask {
    async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<Command>,
        mut accepted: mpsc::Receiver<(TcpStream, SocketAddr)>,
        mut from_peers: mpsc::UnboundedReceiver<(IpAddr, PeerEvent)>,
    ) {
        let done = loop {
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    None => break None,
                    Some(Command::Shutdown(message, done)) => {
                        self.shutdown(message).await;
                        break Some(done);
                    }
                    Some(cmd) => self.on_cmd(cmd),
                },
                // While a peer's task is behind with what the RIB sent it,
                // the RIB takes no more input (the feeders' sockets fill).
                Some((ip, ev)) = from_peers.recv(), if !self.peers_behind() => {
                    self.on_peer_event(ip, ev);
                    for _ in 1..EVENT_BATCH {
                        if self.rib.pending() >= MAX_PENDING {
                            break;
                        }
                        match from_peers.try_recv() {
                            Ok((ip, ev)) => self.on_peer_event(ip, ev),
                            Err(_) => break,
                        }
                    }
                }
                () = tokio::time::sleep(Duration::from_millis(1)), if self.peers_behind() => {}
                Some((stream, remote)) = accepted.recv() => self.on_accept(stream, remote),
            }
            self.flush();
            if from_peers.is_empty() {
                let gone = self.rib.idle();
                if !gone.is_empty() {
                    tokio::task::spawn_blocking(move || drop(gone));
                }
            }
        };
        if done.is_none() {
            self.shutdown(None).await;
        }
        for t in &self.accept_tasks {
            t.abort();
        }
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    async fn shutdown(&mut self, message: Option<String>) {
        for p in self.peers.values() {
            let kind = StopKind::Shutdown(message.clone());
            let _ = p.tx.send(PeerCmd::Stop { kind, exit: true, done: None });
        }
        for (_, p) in self.peers.drain() {
            let _ = p.task.await;
        }
    }

    fn on_cmd(&mut self, cmd: Command) {
        match cmd {
            Command::AddPeer(settings, reply) => {
                let mut settings = *settings;
                if self.restart_complete
                    && let Some(gr) = &mut settings.config.graceful_restart
                {
                    gr.complete();
                }
                let _ = reply.send(self.add_peer(settings));
            }
            Command::RestartComplete => {
                self.restart_complete = true;
                for p in self.peers.values() {
                    let _ = p.tx.send(PeerCmd::RestartComplete);
                }
            }
            Command::RemovePeer(ip, reply) => match self.peers.remove(&ip) {
                None => {
                    let _ = reply.send(Err(SpeakerError::NoSuchPeer(ip)));
                }
                Some(p) => {
                    self.rib.remove_peer(p.id);
                    let _ = p.tx.send(PeerCmd::Stop { kind: StopKind::Deconfigured, exit: true, done: None });
                    if p.transport.md5_key.is_some() {
                        self.set_listener_keys(ip, &[]);
                    }
                    tokio::spawn(async move {
                        let _ = p.task.await;
                        let _ = reply.send(Ok(()));
                    });
                }
            },
            Command::ToPeer(ip, cmd) => {
                if let Some(p) = self.peers.get(&ip) {
                    let _ = p.tx.send(cmd);
                }
            }
            Command::Originate(route) => {
                let (family, prefix, attrs) = route.to_rib();
                self.rib.originate(family, prefix, attrs);
            }
            Command::Withdraw(family, nlri) => self.rib.withdraw_local(family, nlri.prefix),
            Command::Peers(reply) => {
                let mut v: Vec<PeerStatus> = self
                    .peers
                    .values()
                    .map(|p| {
                        let mut s = p.status.borrow().clone();
                        if let Some(neg) = &s.negotiated {
                            let per_family = |counts: Vec<(Family, usize)>| -> Vec<(Family, usize)> {
                                neg.families
                                    .iter()
                                    .map(|f| (*f, counts.iter().find(|(g, _)| g == f).map_or(0, |(_, n)| *n)))
                                    .collect()
                            };
                            s.prefixes_received = per_family(self.rib.counts(p.id));
                            s.prefixes_advertised = per_family(self.rib.advertised_counts(p.id));
                        }
                        s
                    })
                    .collect();
                v.sort_by_key(|s| s.address);
                let _ = reply.send(v);
            }
            Command::Received(ip, family, reply) => {
                let r = self.peer_id(ip).map(|id| {
                    self.rib
                        .received(id, family)
                        .into_iter()
                        .filter_map(|(dest, p)| Some((*dest.prefix()?, p)))
                        .map(|(prefix, p)| ReceivedRoute {
                            nlri: Nlri { path_id: (p.path_id != 0).then_some(p.path_id), prefix },
                            next_hop: p.attrs.next_hop().cloned(),
                            attributes: p.attrs,
                            stale: p.stale,
                        })
                        .collect()
                });
                let _ = reply.send(r);
            }
            Command::ReceivedPrePolicy(ip, family, reply) => {
                let r = self.peer_id(ip).map(|id| {
                    self.rib
                        .received_pre_policy(id, family)
                        .into_iter()
                        .filter_map(|(dest, id, attrs)| Some((*dest.prefix()?, id, attrs)))
                        .map(|(prefix, path_id, attrs)| ReceivedRoute {
                            nlri: Nlri { path_id: (path_id != 0).then_some(path_id), prefix },
                            next_hop: attrs.next_hop().cloned(),
                            attributes: attrs,
                            stale: false,
                        })
                        .collect()
                });
                let _ = reply.send(r);
            }
            Command::Advertised(ip, family, reply) => {
                let r = self.peer_id(ip).map(|id| self.rib.advertised(id, family));
                let _ = reply.send(r);
            }
            Command::Routes(family, reply) => {
                let _ = reply.send(self.rib.routes(family, |_| true));
            }
            Command::SetPeerPolicy(ip, policy, reply) => {
                let r = self.peer_id(ip).map(|id| {
                    let mut policy = *policy;
                    policy.address = ip;
                    self.rib.set_peer_policy(id, policy);
                });
                let _ = reply.send(r);
            }
            Command::SoftReset { peer, inbound, outbound, reply } => {
                let r = self.peer_id(peer).map(|id| {
                    if inbound {
                        self.rib.soft_reset_in(id);
                    }
                    if outbound {
                        self.rib.soft_reset_out(id);
                    }
                });
                let _ = reply.send(r);
            }
            Command::SetRibConfig(config) => {
                let mut config = *config;
                config.local_as = self.rib.config().local_as;
                config.router_id = self.rib.config().router_id;
                config.fib = self.fib.is_some();
                self.rib.set_config(config);
            }
            Command::Stats(reply) => {
                let _ = reply.send(self.rib.stats());
            }
            Command::SetNextHop(addr, reach) => self.rib.set_next_hop(addr, reach),
            Command::FibTable(reply) => {
                let _ = reply.send(self.rib.fib_table());
            }
            Command::RefreshFib(family, prefix) => self.rib.refresh_fib(family, prefix),
            // Handled by the loop.
            Command::Shutdown(..) => {}
        }
    }

    fn add_peer(&mut self, settings: PeerSettings) -> Result<(), SpeakerError> {
        let ip = peer_key(settings.remote.ip());
        if self.peers.contains_key(&ip) {
            return Err(SpeakerError::PeerExists(ip));
        }
        if let Some(key) = &settings.transport.md5_key {
            if key.len() > socket::MD5_MAX_KEY_LEN {
                return Err(SpeakerError::Io(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("TCP-MD5 key of {} bytes; at most {}", key.len(), socket::MD5_MAX_KEY_LEN),
                )));
            }
            self.set_listener_keys(ip, key);
        }
        let transport = settings.transport.clone();
        let max_prefix_restart = settings.max_prefix_restart;
        let mut policy = settings.policy.clone();
        policy.address = ip;
        let unsent = Arc::new(AtomicUsize::new(0));
        let (tx, status, task) = peer::spawn(
            settings,
            ip,
            self.base,
            self.events.clone(),
            peer::RibLink {
                to_rib: self.to_rib.clone(),
                backlog: Arc::clone(&self.backlog),
                interner: self.rib.interner(),
            },
            Arc::clone(&unsent),
        )?;
        let id = self.rib.add_peer(policy);
        self.peers.insert(ip, PeerEntry { id, unsent, tx, status, task, transport, max_prefix_restart });
        Ok(())
    }

    /// Some peer's task has more than [`MAX_UNSENT`] batches to encode.
    fn peers_behind(&self) -> bool {
        self.peers.values().any(|p| p.unsent.load(Ordering::Relaxed) > MAX_UNSENT)
    }

    fn peer_id(&self, ip: IpAddr) -> Result<PeerId, SpeakerError> {
        self.peers.get(&ip).map(|p| p.id).ok_or(SpeakerError::NoSuchPeer(ip))
    }

    fn on_peer_event(&mut self, ip: IpAddr, event: PeerEvent) {
        if let PeerEvent::Update(d) = &event {
            self.backlog.fetch_sub(d.weight(), Ordering::Relaxed);
        }
        // Events of a removed peer (still in flight) are dropped.
        let Some(id) = self.peers.get(&ip).map(|p| p.id) else { return };
        match event {
            PeerEvent::Up { negotiated, local, generation, ipv6_next_hop } => {
                self.rib.peer_up(id, SessionInfo { negotiated, local, generation, ipv6_next_hop })
            }
            PeerEvent::Down { stale } => self.rib.peer_down(id, &stale),
            PeerEvent::Update(digest) => self.rib.apply(id, digest),
            PeerEvent::MarkStale(f) => self.rib.mark_stale(id, f),
            PeerEvent::FlushStale(f) => self.rib.flush_stale(id, f),
            PeerEvent::ClearFamily(f) => self.rib.clear_family(id, f),
            PeerEvent::RefreshRequested(f) => self.rib.refresh_out(id, f),
            PeerEvent::EndOfRib(family) => {
                let _ = self.events.send(SpeakerEvent::EndOfRib { peer: ip, family });
                let _ = self.end_of_ribs.send((ip, family));
            }
        }
    }

    /// Hand what the RIB decided to the peers.
    fn flush(&mut self) {
        for out in self.rib.flush() {
            match out {
                Output::Send { peer, generation, messages } => {
                    if let Some(p) = self.peers.values().find(|p| p.id == peer) {
                        p.unsent.fetch_add(1, Ordering::Relaxed);
                        let _ = p.tx.send(PeerCmd::Send { generation, messages });
                    }
                }
                Output::MaxPrefix { peer, family, limit, count, warning_only } => {
                    let Some((ip, p)) = self.peers.iter().find(|(_, p)| p.id == peer) else { continue };
                    if warning_only {
                        tracing::warn!(peer = %ip, %family, "{count} prefixes, more than the limit of {limit} (warning only)");
                        continue;
                    }
                    tracing::warn!(peer = %ip, %family, "{count} prefixes, more than the limit of {limit}: closing the session (Cease/1)");
                    let notification = Notification::max_prefixes_reached(family, limit);
                    let kind = StopKind::MaxPrefix { notification, restart_after: p.max_prefix_restart };
                    let _ = p.tx.send(PeerCmd::Stop { kind, exit: false, done: None });
                }
                Output::RequestRefresh { peer, family } => {
                    if let Some(p) = self.peers.values().find(|p| p.id == peer) {
                        let (tx, _) = oneshot::channel();
                        let _ = p.tx.send(PeerCmd::RouteRefresh(family, tx));
                    }
                }
                Output::Fib(changes) => {
                    if let Some(fib) = &self.fib {
                        (fib.0)(changes);
                    }
                }
            }
        }
    }

    /// Set (or with an empty key, remove) the peer's TCP-MD5 key on every
    /// listener of a matching family.
    fn set_listener_keys(&self, ip: IpAddr, key: &[u8]) {
        for l in &self.listeners {
            let addr = match (l.local_addr().map(|a| a.is_ipv6()), ip) {
                (Ok(true), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
                (Ok(false), IpAddr::V6(_)) => continue,
                _ => ip,
            };
            if let Err(e) = socket::set_md5_key(l.as_ref(), addr, key) {
                tracing::warn!(peer = %ip, "cannot set the TCP-MD5 key on a listener: {e}");
            }
        }
    }

    fn on_accept(&mut self, stream: TcpStream, remote: SocketAddr) {
        let ip = peer_key(remote.ip());
        let Some(p) = self.peers.get(&ip) else {
            tracing::info!(%remote, "connection from an unknown peer closed");
            return;
        };
        // GTSM cannot be enforced on an accepted connection: the minimum TTL
        // can only be set after accept(), when the peer's first segments
        // (its OPEN) may already be queued, and setting it on the shared
        // listener would hold every other peer to it. So a GTSM peer is
        // always dialled, with the minimum TTL set before connect().
        if p.transport.gtsm_hops.is_some() {
            tracing::info!(peer = %ip, "GTSM peer: incoming connection refused, we connect to it");
            return;
        }
        // TTL options follow the peer's real family (IPv4 peers reach a
        // dual-stack listener as IPv4-mapped addresses).
        if let Err(e) = socket::apply_accepted(&stream, ip.is_ipv6(), &p.transport) {
            tracing::warn!(peer = %ip, "cannot apply TTL/GTSM to an accepted connection: {e}");
            return;
        }
        let _ = p.tx.send(PeerCmd::Incoming(stream));
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv6Addr};
    use std::sync::Arc;

    use super::{Ipv6NextHop, UpdateErrors};
    use crate::attr::NextHop;

    /// The IPv6 next hop of a session: configured or the interface's
    /// global address, else the session's own; the link-local one only
    /// for a peer on our link; nothing on an IPv4 session without IPv6.
    #[test]
    fn the_ipv6_next_hop_comes_from_config_the_interface_or_the_session() {
        let v6 = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let nh = |g: &str, ll: Option<&str>| Some(NextHop::V6 { global: v6(g), link_local: ll.map(v6) });
        let interface = Ipv6NextHop {
            global: None,
            interface: Some(Arc::new(move |local: IpAddr| {
                if local == ip("192.0.2.1") || local == ip("2001:db8:1::1") {
                    (Some(v6("2001:db8:1::1")), Some(v6("fe80::1")))
                } else {
                    (None, None)
                }
            })),
        };
        assert_eq!(interface.resolve(ip("192.0.2.1"), true), nh("2001:db8:1::1", Some("fe80::1")));
        assert_eq!(interface.resolve(ip("192.0.2.1"), false), nh("2001:db8:1::1", None));
        assert_eq!(interface.resolve(ip("2001:db8:1::1"), true), nh("2001:db8:1::1", Some("fe80::1")));
        // An interface without IPv6: nothing better than the session's address.
        assert_eq!(interface.resolve(ip("198.51.100.1"), true), None);
        let configured = Ipv6NextHop { global: Some(v6("2001:db8:1::11")), ..interface.clone() };
        assert_eq!(configured.resolve(ip("192.0.2.1"), true), nh("2001:db8:1::11", Some("fe80::1")));
        // Unnumbered (the session itself link-local): in both fields.
        assert_eq!(Ipv6NextHop::default().resolve(ip("fe80::2"), true), nh("fe80::2", Some("fe80::2")));
        assert_eq!(Ipv6NextHop::default().resolve(ip("2001:db8::5"), true), nh("2001:db8::5", None));
        assert_eq!(Ipv6NextHop::default().resolve(ip("192.0.2.1"), true), None);
    }

    use crate::context::{Sender, SessionContext};
    use crate::update::Update;

    /// Each UPDATE counts once, under its strongest action; a clean one
    /// not at all; the last error is kept in words.
    #[test]
    fn update_errors_count_the_strongest_action_of_each_update() {
        let ctx = SessionContext::modern().with_sender(Sender {
            external: true,
            peer_as: 65002,
            enforce_first_as: true,
            local_address: None,
            direct: true,
        });
        let update = |attrs: &[u8]| {
            let mut m = vec![0xff; 16];
            let len = 19 + 4 + attrs.len() + 4;
            m.extend_from_slice(&(len as u16).to_be_bytes());
            m.extend_from_slice(&[2, 0, 0, 0, attrs.len() as u8]);
            m.extend_from_slice(attrs);
            m.extend_from_slice(&[24, 198, 51, 100]);
            Update::decode_message(&m, &ctx).unwrap()
        };
        let origin = [0x40, 1, 1, 0];
        let path = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xea];
        let nh = |a: [u8; 4]| [0x40, 3, 4, a[0], a[1], a[2], a[3]];
        let local_pref = [0x40, 5, 4, 0, 0, 0, 100];
        let mut errors = UpdateErrors::default();
        errors.count(&update(&[&origin[..], &path, &nh([192, 0, 2, 2])].concat()));
        assert_eq!(errors, UpdateErrors::default());
        errors.count(&update(&[&origin[..], &path, &nh([192, 0, 2, 2]), &local_pref].concat()));
        errors.count(&update(&[&origin[..], &path, &nh([0, 0, 0, 0]), &local_pref].concat()));
        assert_eq!((errors.attribute_discard, errors.treat_as_withdraw, errors.total()), (1, 1, 2));
        let last = errors.last.unwrap();
        assert!(last.starts_with("treat-as-withdraw: NEXT_HOP at byte"), "{last}");
        assert!(last.contains("0.0.0.0/8 is not a usable next hop"), "{last}");
    }
}

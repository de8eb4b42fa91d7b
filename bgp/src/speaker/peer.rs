//! One configured peer: a task that owns its FSM(s) and its connections.
//! Routes go to the speaker task, which owns the RIB, as [`PeerEvent`]s;
//! what to send comes back as [`PeerCmd::Send`].
//!
//! The peer task feeds the FSM (bytes, connection events, timer expiries)
//! and carries out its actions. It never awaits a socket: each connection
//! has a reader task (bytes in, through a bounded channel) and a writer
//! task (messages out, through a byte-counted queue) that report back as
//! [`Internal`] messages, so a peer that stops reading stalls only its own
//! writer, and the FSM's send hold timer drops it (RFC 9687).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{PeerSettings, PeerStatus, SpeakerError, SpeakerEvent, UpdateErrors};
use crate::family::Family;
use crate::fsm::{Action, ConfigError, DownReason, Event, Fsm, State, collision_loser, resolve_collision};
use crate::message::{HEADER_LEN, Message, frame_len};
use crate::negotiate::Negotiated;
use crate::notification::{Notification, cease_subcode};
use crate::rib::{Digest, Message as RibMessage, SharedInterner};
use crate::route_refresh::{RouteRefresh, Subtype};
use crate::update::{Update, UpdateDecode};

/// Most bytes queued for one peer before the session is reset with
/// Cease/Out of Resources.
pub const MAX_QUEUED_BYTES: usize = 64 << 20;
/// A write that makes no progress this long reports the session stalled
/// (starts the FSM's send hold timer).
pub const STALL_AFTER: Duration = Duration::from_secs(1);

/// A writer sends up to this much of its queue in one write.
const COALESCE_BYTES: usize = 256 * 1024;
/// Most routes (announced or withdrawn), from all peers, waiting for the
/// RIB before peers stop reading their sockets (TCP then slows the senders
/// down): about 20 ms of the RIB's work. Counted in routes, not UPDATEs: a
/// withdrawal carries a thousand, and a backlog of 4096 of them held the
/// whole table a second time.
pub const MAX_RIB_BACKLOG: usize = 32 * 1024;

/// How long a closing connection may take to write what is queued
/// (e.g. the NOTIFICATION) before it is dropped.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How a stop command ends the session.
#[derive(Debug, Clone)]
pub(crate) enum StopKind {
    /// Cease/2 with an RFC 9003 message (ManualStop); stays down.
    Shutdown(Option<String>),
    /// Cease/3: the peer is removed.
    Deconfigured,
    /// Cease/4: reset; the session comes back after the backoff.
    Reset,
    /// Cease/1 (RFC 4486): stays down, or restarts after the delay.
    MaxPrefix { notification: Notification, restart_after: Option<Duration> },
}

/// What a peer task tells the speaker task (which owns the RIB).
#[derive(Debug)]
pub(crate) enum PeerEvent {
    Up {
        negotiated: Arc<Negotiated>,
        local: IpAddr,
        generation: u64,
        ipv6_next_hop: Option<crate::attr::NextHop>,
    },
    /// The session ended; routes of `stale` families are kept (GR).
    Down {
        stale: Vec<Family>,
    },
    Update(Digest),
    /// BoRR (RFC 7313) from the peer.
    MarkStale(Family),
    /// EoRR, or the graceful restart ended.
    FlushStale(Family),
    /// RFC 7606 AFI/SAFI disable.
    ClearFamily(Family),
    /// The peer asked for our routes again (RFC 2918).
    RefreshRequested(Family),
    /// The peer's initial table of a family is complete.
    EndOfRib(Family),
}

/// Commands from the speaker task.
#[derive(Debug)]
pub(crate) enum PeerCmd {
    Incoming(TcpStream),
    /// Messages from the RIB for session `generation`.
    Send {
        generation: u64,
        messages: Vec<RibMessage>,
    },
    Start(oneshot::Sender<Result<(), SpeakerError>>),
    Stop {
        kind: StopKind,
        exit: bool,
        done: Option<oneshot::Sender<Result<(), SpeakerError>>>,
    },
    RouteRefresh(Family, oneshot::Sender<Result<(), SpeakerError>>),
    /// Our graceful (re)start is over (RFC 4724): later OPENs say so.
    RestartComplete,
}

/// Reports from the connect, reader and writer tasks, tagged with the
/// connection they belong to.
#[derive(Debug)]
pub(crate) enum Internal {
    Connected {
        key: u64,
        result: io::Result<TcpStream>,
    },
    Bytes {
        key: u64,
        data: Vec<u8>,
    },
    Closed {
        key: u64,
        error: Option<io::Error>,
    },
    Stalled {
        key: u64,
    },
    Progress {
        key: u64,
        pending: bool,
    },
    /// The max-prefix hold-down is over.
    Restart,
}

struct Io {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
    local: SocketAddr,
}

struct SessionInfo {
    negotiated: Arc<Negotiated>,
    since: Instant,
    generation: u64,
}

/// One TCP connection's worth: its FSM and its I/O.
struct Conn {
    key: u64,
    fsm: Fsm,
    io: Option<Io>,
    buf: Vec<u8>,
    session: Option<SessionInfo>,
}

impl Conn {
    fn new(key: u64, fsm: Fsm) -> Conn {
        Conn { key, fsm, io: None, buf: Vec::new(), session: None }
    }
}

pub(crate) struct PeerTask {
    settings: PeerSettings,
    ip: IpAddr,
    base: Instant,
    events: broadcast::Sender<SpeakerEvent>,
    status: watch::Sender<PeerStatus>,
    to_rib: mpsc::UnboundedSender<(IpAddr, PeerEvent)>,
    /// Routes sent to the RIB and not applied yet (all peers).
    backlog: Arc<AtomicUsize>,
    /// The RIB's: decoded attribute sets are interned here.
    interner: SharedInterner,
    /// `PeerCmd::Send` batches from the RIB not handled yet.
    unsent: Arc<AtomicUsize>,
    generation: u64,
    last_down: Option<String>,
    main: Conn,
    extra: Option<Conn>,
    next_key: u64,
    connecting: Option<(u64, JoinHandle<()>)>,
    internal: mpsc::Sender<Internal>,
    closing: Vec<JoinHandle<()>>,
    overflow: Vec<u64>,
    messages_in: u64,
    messages_out: u64,
    update_errors: UpdateErrors,
    /// When malformed UPDATEs were last logged, and how many since were not.
    errors_logged: Option<Instant>,
    errors_not_logged: u64,
}

/// At most one log line per peer for malformed UPDATEs in this long: a peer
/// that sends a bad attribute on every route must not flood the log (the
/// counts are in the peer's status).
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What the speaker task keeps of a peer task: its command channel, its
/// status and its handle.
pub(crate) type PeerHandles = (mpsc::UnboundedSender<PeerCmd>, watch::Receiver<PeerStatus>, JoinHandle<()>);

/// A peer task's way to the RIB: the event channel, the backlog it counts
/// into, and the interner it puts decoded attribute sets in.
pub(crate) struct RibLink {
    pub to_rib: mpsc::UnboundedSender<(IpAddr, PeerEvent)>,
    pub backlog: Arc<AtomicUsize>,
    pub interner: SharedInterner,
}

/// Start a peer task; it runs until told to exit or the speaker goes away.
pub(crate) fn spawn(
    settings: PeerSettings,
    ip: IpAddr,
    base: Instant,
    events: broadcast::Sender<SpeakerEvent>,
    rib: RibLink,
    unsent: Arc<AtomicUsize>,
) -> Result<PeerHandles, ConfigError> {
    let RibLink { to_rib, backlog, interner } = rib;
    let mut settings = settings;
    settings.config.direct |= settings.is_direct();
    let fsm = Fsm::new(settings.config.clone())?;
    let (status, status_rx) = watch::channel(PeerStatus::idle(&settings));
    let (internal, internal_rx) = mpsc::channel(64);
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let mut task = PeerTask {
        ip,
        base,
        events,
        status,
        to_rib,
        backlog,
        interner,
        unsent,
        generation: 0,
        last_down: None,
        main: Conn::new(0, fsm),
        extra: None,
        next_key: 1,
        connecting: None,
        internal,
        closing: Vec::new(),
        overflow: Vec::new(),
        messages_in: 0,
        messages_out: 0,
        update_errors: UpdateErrors::default(),
        errors_logged: None,
        errors_not_logged: 0,
        settings,
    };
    let handle = tokio::spawn(async move {
        let key = task.main.key;
        task.feed(key, Event::ManualStart);
        task.run(cmd_rx, internal_rx).await;
    });
    Ok((cmd_tx, status_rx, handle))
}

impl PeerTask {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn new_key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<PeerCmd>,
        mut internal: mpsc::Receiver<Internal>,
    ) {
        loop {
            let at = self.next_deadline().map(|ms| self.base + Duration::from_millis(ms));
            let sleep = async move {
                match at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    Some(cmd) => {
                        if self.on_cmd(cmd) {
                            break;
                        }
                    }
                    None => {
                        self.stop(StopKind::Deconfigured);
                        break;
                    }
                },
                // While the RIB is behind, the socket is not read.
                Some(ev) = internal.recv(), if !self.rib_behind() => self.on_internal(ev),
                () = tokio::time::sleep(Duration::from_millis(2)), if self.rib_behind() => {}
                () = sleep => self.on_timers(),
            }
            self.after();
        }
        self.after();
        self.finish().await;
    }

    fn next_deadline(&self) -> Option<u64> {
        let a = self.main.fsm.next_deadline().map(|(_, d)| d);
        let b = self.extra.as_ref().and_then(|c| c.fsm.next_deadline()).map(|(_, d)| d);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn conn_mut(&mut self, key: u64) -> Option<&mut Conn> {
        if self.main.key == key {
            return Some(&mut self.main);
        }
        self.extra.as_mut().filter(|c| c.key == key)
    }

    /// The connection whose session is Established, if any.
    fn established(&self) -> Option<&Conn> {
        std::iter::once(&self.main).chain(self.extra.as_ref()).find(|c| c.session.is_some() && c.io.is_some())
    }

    fn emit(&self, event: SpeakerEvent) {
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    fn rib_behind(&self) -> bool {
        self.backlog.load(Ordering::Relaxed) >= MAX_RIB_BACKLOG
    }

    fn to_rib(&self, event: PeerEvent) {
        if let PeerEvent::Update(d) = &event {
            self.backlog.fetch_add(d.weight(), Ordering::Relaxed);
        }
        // The speaker task outlives its peers.
        let _ = self.to_rib.send((self.ip, event));
    }

    /// Returns true when the task is to exit.
    fn on_cmd(&mut self, cmd: PeerCmd) -> bool {
        match cmd {
            PeerCmd::Incoming(stream) => self.on_incoming(stream),
            PeerCmd::Send { generation, messages } => {
                self.unsent.fetch_sub(1, Ordering::Relaxed);
                let key = self
                    .established()
                    .filter(|c| c.session.as_ref().is_some_and(|s| s.generation == generation))
                    .map(|c| c.key);
                // Messages for a session that has ended are dropped: the
                // RIB sends the whole table to the next one.
                if let Some(key) = key {
                    for m in &messages {
                        match m {
                            RibMessage::Update(u) => self.send_update(key, u),
                            RibMessage::Announce { family, attrs, nlri } => {
                                let four =
                                    self.established().is_some_and(|c| c.fsm.tx_context().four_octet_as);
                                let u = crate::rib::announcement(*family, attrs, nlri.clone(), four);
                                self.send_update(key, &u);
                            }
                            RibMessage::RouteRefresh(rr) => {
                                self.send_message(key, &Message::RouteRefresh(rr.clone()))
                            }
                        }
                    }
                }
            }
            PeerCmd::Start(done) => {
                let key = self.main.key;
                self.feed(key, Event::ManualStart);
                let _ = done.send(Ok(()));
            }
            PeerCmd::Stop { kind, exit, done } => {
                self.stop(kind);
                if let Some(done) = done {
                    let _ = done.send(Ok(()));
                }
                return exit;
            }
            PeerCmd::RestartComplete => {
                if let Some(gr) = &mut self.settings.config.graceful_restart {
                    gr.complete();
                }
                self.main.fsm.restart_complete();
                if let Some(c) = &mut self.extra {
                    c.fsm.restart_complete();
                }
            }
            PeerCmd::RouteRefresh(family, done) => {
                let ok = self.established().and_then(|c| c.session.as_ref().map(|s| (c.key, s))).and_then(
                    |(key, s)| {
                        (s.negotiated.route_refresh && s.negotiated.families.contains(&family)).then_some(key)
                    },
                );
                let r = match ok {
                    Some(key) => {
                        self.send_message(key, &Message::RouteRefresh(RouteRefresh::new(family)));
                        Ok(())
                    }
                    None => Err(SpeakerError::RouteRefreshUnavailable { peer: self.ip, family }),
                };
                let _ = done.send(r);
            }
        }
        false
    }

    fn stop(&mut self, kind: StopKind) {
        if let StopKind::MaxPrefix { notification, restart_after } = kind {
            self.feed_all(Event::AutomaticStop(notification));
            // Stay in Idle (no automatic restart) until the delay passes.
            self.feed_all(Event::ManualStop(None));
            if let Some(delay) = restart_after {
                let tx = self.internal.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(Internal::Restart).await;
                });
            }
            return;
        }
        let event = match kind {
            StopKind::Shutdown(text) => Event::ManualStop(text),
            StopKind::Deconfigured => {
                Event::AutomaticStop(Notification::cease(cease_subcode::PEER_DECONFIGURED))
            }
            StopKind::Reset => Event::AutomaticStop(Notification::cease(cease_subcode::ADMINISTRATIVE_RESET)),
            StopKind::MaxPrefix { .. } => return,
        };
        self.feed_all(event);
    }

    fn feed_all(&mut self, event: Event) {
        if let Some(key) = self.extra.as_ref().map(|c| c.key) {
            self.feed(key, event.clone());
        }
        let key = self.main.key;
        self.feed(key, event);
    }

    fn on_incoming(&mut self, stream: TcpStream) {
        if self.main.io.is_none() && self.main.fsm.accepts_connection() {
            let key = self.new_key();
            self.main.key = key;
            self.attach(key, stream);
            self.feed(key, Event::TcpConnectionConfirmed);
        } else if self.extra.is_none()
            && matches!(self.main.fsm.state(), State::OpenSent | State::OpenConfirm | State::Established)
        {
            let now = self.now_ms();
            match Fsm::new_inbound(self.settings.config.clone(), now) {
                Ok((fsm, actions)) => {
                    let key = self.new_key();
                    self.extra = Some(Conn::new(key, fsm));
                    self.attach(key, stream);
                    self.run_actions(key, actions);
                }
                Err(e) => tracing::warn!(peer = %self.ip, "cannot run a second connection: {e}"),
            }
        } else {
            tracing::debug!(peer = %self.ip, state = %self.main.fsm.state(), "refusing a connection");
        }
    }

    fn attach(&mut self, key: u64, stream: TcpStream) {
        let local = stream.local_addr().unwrap_or_else(|_| SocketAddr::new(self.ip, 0));
        // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; our next
        // hop for them must be the IPv4 address.
        let local = SocketAddr::new(local.ip().to_canonical(), local.port());
        let (rd, wr) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let reader = tokio::spawn(reader(rd, key, self.internal.clone()));
        let writer = tokio::spawn(writer(wr, key, rx, Arc::clone(&queued), self.internal.clone()));
        if let Some(c) = self.conn_mut(key) {
            c.buf.clear();
            c.fsm.set_local_address(local.ip());
            c.io = Some(Io { tx, queued, reader, writer, local });
        }
    }

    fn close_io(&mut self, key: u64) {
        let Some(c) = self.conn_mut(key) else { return };
        c.buf.clear();
        c.session = None;
        let Some(io) = c.io.take() else { return };
        io.reader.abort();
        drop(io.tx);
        let mut writer = io.writer;
        self.closing.push(tokio::spawn(async move {
            if tokio::time::timeout(CLOSE_GRACE, &mut writer).await.is_err() {
                writer.abort();
            }
        }));
        self.closing.retain(|h| !h.is_finished());
    }

    fn on_internal(&mut self, ev: Internal) {
        match ev {
            Internal::Connected { key, result } => {
                if self.connecting.as_ref().is_none_or(|(k, _)| *k != key) {
                    return;
                }
                self.connecting = None;
                match result {
                    Ok(stream) if self.main.io.is_none() && self.main.fsm.state() == State::Connect => {
                        self.main.key = key;
                        self.attach(key, stream);
                        self.feed(key, Event::TcpCrAcked);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        self.connect_failed(&e);
                        let key = self.main.key;
                        self.feed(key, Event::TcpConnectionFails);
                    }
                }
            }
            Internal::Bytes { key, data } => self.on_bytes(key, data),
            Internal::Closed { key, error } => {
                if self.conn_mut(key).is_some_and(|c| c.io.is_some()) {
                    if let Some(e) = error {
                        tracing::info!(peer = %self.ip, "connection error: {e}");
                    }
                    self.feed(key, Event::TcpConnectionFails);
                    self.close_io(key);
                }
            }
            Internal::Stalled { key } => {
                if self.conn_mut(key).is_some_and(|c| c.io.is_some()) {
                    self.feed(key, Event::SendStalled);
                }
            }
            Internal::Progress { key, pending } => {
                if self.conn_mut(key).is_some_and(|c| c.io.is_some()) {
                    self.feed(key, Event::SendProgress { pending });
                }
            }
            Internal::Restart => {
                tracing::info!(peer = %self.ip, "max-prefix hold-down over: starting the session again");
                let key = self.main.key;
                self.feed(key, Event::ManualStart);
            }
        }
    }

    fn connect_failed(&self, e: &io::Error) {
        let reason = if self.settings.transport.md5_key.is_some() {
            tracing::warn!(
                peer = %self.ip,
                "connection to {} failed: {e}; TCP-MD5 is configured for this peer, and a TCP-MD5 key mismatch \
                 looks like this (the peer drops our SYNs; Linux also logs \"MD5 Hash failed\" in dmesg)",
                self.settings.remote
            );
            format!("{e} (TCP-MD5 configured: a key mismatch looks like this)")
        } else {
            tracing::info!(peer = %self.ip, "connection to {} failed: {e}", self.settings.remote);
            e.to_string()
        };
        self.emit(SpeakerEvent::ConnectionFailed { peer: self.ip, reason });
    }

    fn on_bytes(&mut self, key: u64, data: Vec<u8>) {
        let Some(c) = self.conn_mut(key) else { return };
        if c.io.is_none() {
            return;
        }
        // Frame with a cursor and compact once at the end: draining each
        // message from the front would move the rest of a 64 KiB read per
        // message.
        let mut buf = if c.buf.is_empty() {
            data
        } else {
            let mut b = std::mem::take(&mut c.buf);
            b.extend_from_slice(&data);
            b
        };
        let mut off = 0;
        loop {
            let Some(c) = self.conn_mut(key) else { return };
            if c.io.is_none() {
                return;
            }
            let rest = buf.get(off..).unwrap_or_default();
            let msg = match frame_len(rest, c.fsm.rx_context()) {
                Ok(Some(n)) => {
                    off += n;
                    rest.get(..n).unwrap_or_default().to_vec()
                }
                Ok(None) => break,
                Err(_) => {
                    // The FSM decodes the same header, finds the same error
                    // and sends the NOTIFICATION.
                    let head = rest.get(..HEADER_LEN.min(rest.len())).unwrap_or_default().to_vec();
                    off = buf.len();
                    head
                }
            };
            self.messages_in += 1;
            self.feed(key, Event::MessageReceived(msg));
            if self.extra.is_some() {
                self.check_collision();
            }
        }
        buf.drain(..off);
        if let Some(c) = self.conn_mut(key) {
            c.buf = buf;
        }
    }

    fn check_collision(&mut self) {
        let now = self.now_ms();
        let Some(extra) = self.extra.as_mut() else { return };
        // RFC 4271 §6.8 closes the losing connection at once. When it is in
        // OpenConfirm, our KEEPALIVE has gone out on it and the peer may be
        // Established there already (it saw no collision yet); it would
        // then close the other connection, and both would die. Wait for
        // the peer's KEEPALIVE (this connection becomes Established and
        // wins) or its Cease (it closes and the other wins); the hold timer
        // bounds the wait.
        let (main, other) = (&self.main.fsm, &extra.fsm);
        let by_rule = main.state() != State::Established && other.state() != State::Established;
        let loser = match collision_loser(main, other) {
            Some(crate::fsm::Side::First) => main,
            Some(crate::fsm::Side::Second) => other,
            None => return,
        };
        if by_rule && loser.state() == State::OpenConfirm {
            return;
        }
        let Some(outcome) = resolve_collision(&mut self.main.fsm, &mut extra.fsm, now) else { return };
        let (main_key, extra_key) = (self.main.key, extra.key);
        let (closed, survivor) = match outcome.closed {
            crate::fsm::Side::First => (main_key, extra_key),
            crate::fsm::Side::Second => (extra_key, main_key),
        };
        tracing::info!(peer = %self.ip, "connection collision resolved (RFC 4271 §6.8)");
        self.run_actions(closed, outcome.closed_actions);
        self.run_actions(survivor, outcome.survivor_actions);
        self.close_io(closed);
        if closed == main_key
            && let Some(extra) = self.extra.take()
        {
            self.main = extra;
        } else {
            self.extra = None;
        }
    }

    fn on_timers(&mut self) {
        let now = self.now_ms();
        let keys: Vec<u64> =
            std::iter::once(self.main.key).chain(self.extra.as_ref().map(|c| c.key)).collect();
        for key in keys {
            for _ in 0..16 {
                let Some(c) = self.conn_mut(key) else { break };
                match c.fsm.next_deadline() {
                    Some((t, d)) if d <= now => self.feed(key, Event::TimerExpired(t)),
                    _ => break,
                }
            }
        }
    }

    /// Feed one event to the FSM of connection `key` and carry out its actions.
    fn feed(&mut self, key: u64, event: Event) {
        let now = self.now_ms();
        let Some(c) = self.conn_mut(key) else { return };
        let actions = c.fsm.handle(event, now);
        self.run_actions(key, actions);
    }

    fn run_actions(&mut self, key: u64, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Connect => self.connect(key),
                Action::CancelConnect => {
                    if let Some((_, h)) = self.connecting.take() {
                        h.abort();
                    }
                }
                Action::Send(m) => self.send_message(key, &m),
                Action::Close => self.close_io(key),
                // The FSM keeps the deadlines; the loop sleeps until the next.
                Action::ArmTimer(..) | Action::CancelTimer(_) => {}
                Action::SessionEstablished(neg) => self.on_established(key, *neg),
                Action::SessionDown { reason, stale } => {
                    if let Some(c) = self.conn_mut(key) {
                        c.session = None;
                    }
                    self.to_rib(PeerEvent::Down { stale });
                    let why = describe(&reason);
                    tracing::info!(peer = %self.ip, "session down: {why}");
                    self.last_down = Some(why);
                    self.emit(SpeakerEvent::PeerDown { peer: self.ip, reason });
                }
                Action::ConnectionFailed(reason) => {
                    let mut why = describe(&reason);
                    match self.conn_mut(key).and_then(|c| bad_peer_as(&reason, &c.fsm)) {
                        Some(wrong) => {
                            why.push_str(&wrong);
                            tracing::warn!(peer = %self.ip, "connection failed before Established: {why}");
                        }
                        None => {
                            tracing::info!(peer = %self.ip, "connection failed before Established: {why}")
                        }
                    }
                    self.last_down = Some(why);
                }
                Action::Routes(decoded) => {
                    if !decoded.diagnostics.is_empty() {
                        self.log_update_errors(&decoded);
                    }
                    // Shared only when someone listens; the RIB gets the
                    // attributes without a copy otherwise.
                    let update = if self.events.receiver_count() > 0 {
                        let update = decoded.update.clone();
                        self.emit(SpeakerEvent::RoutesReceived { peer: self.ip, update: Arc::new(decoded) });
                        update
                    } else {
                        decoded.update
                    };
                    // Turned into destinations and attribute sets here, on
                    // the peer's task: the RIB's task is the bottleneck.
                    if update.withdrawn.is_empty() && update.nlri.is_empty() && update.attributes.is_empty() {
                        continue;
                    }
                    let Some(c) = self.conn_mut(key) else { continue };
                    let ebgp = c.session.as_ref().is_some_and(|s| !s.negotiated.internal);
                    let mut digest = Digest::new(update, c.fsm.rx_context(), ebgp);
                    digest.prepare(&self.interner, self.settings.config.local_as);
                    self.to_rib(PeerEvent::Update(digest));
                }
                // Announced by the RIB's task once it holds what came
                // before: a subscriber may then read the table.
                Action::EndOfRib(family) => self.to_rib(PeerEvent::EndOfRib(family)),
                Action::FamilyDisabled(family) => {
                    tracing::warn!(peer = %self.ip, %family, "family disabled for this session (RFC 7606)");
                    self.to_rib(PeerEvent::ClearFamily(family));
                }
                Action::RouteRefresh(rr) => {
                    let family = rr.family();
                    self.to_rib(match rr.subtype {
                        Subtype::BEGIN => PeerEvent::MarkStale(family),
                        Subtype::END => PeerEvent::FlushStale(family),
                        _ => PeerEvent::RefreshRequested(family),
                    });
                }
                Action::FlushStale(family) => self.to_rib(PeerEvent::FlushStale(family)),
            }
        }
    }

    /// Count an UPDATE that was not taken as it came, and log it unless
    /// one was logged less than [`ERROR_LOG_INTERVAL`] ago.
    fn log_update_errors(&mut self, decoded: &UpdateDecode) {
        self.update_errors.count(decoded);
        if self.errors_logged.is_some_and(|t| t.elapsed() < ERROR_LOG_INTERVAL) {
            self.errors_not_logged += 1;
            return;
        }
        let errors: Vec<String> = decoded.diagnostics.iter().map(ToString::to_string).collect();
        let more = std::mem::take(&mut self.errors_not_logged);
        tracing::warn!(
            peer = %self.ip,
            outcome = %decoded.outcome.action().map_or_else(|| "none".to_string(), |a| a.to_string()),
            not_logged_since = more,
            "UPDATE not taken as sent: {}",
            errors.join("; ")
        );
        self.errors_logged = Some(Instant::now());
    }

    fn connect(&mut self, key: u64) {
        if key != self.main.key {
            return;
        }
        if let Some((_, h)) = self.connecting.take() {
            h.abort();
        }
        let key = self.new_key();
        let remote = self.settings.remote;
        let opts = self.settings.transport.clone();
        // Give up just before the FSM's ConnectRetry would, so the failure
        // (and its TCP-MD5 hint) is reported.
        let ms = self.settings.config.connect_retry_ms.saturating_mul(9) / 10;
        let timeout = Duration::from_millis(ms.max(100));
        let tx = self.internal.clone();
        let h = tokio::spawn(async move {
            let result = super::socket::connect(remote, &opts, timeout).await;
            let _ = tx.send(Internal::Connected { key, result }).await;
        });
        self.connecting = Some((key, h));
    }

    fn on_established(&mut self, key: u64, neg: Negotiated) {
        let negotiated = Arc::new(neg);
        self.generation += 1;
        let generation = self.generation;
        let Some(c) = self.conn_mut(key) else { return };
        let local = c.io.as_ref().map_or(IpAddr::from([0, 0, 0, 0]), |io| io.local.ip());
        c.session =
            Some(SessionInfo { negotiated: Arc::clone(&negotiated), since: Instant::now(), generation });
        let families: Vec<String> = negotiated.families.iter().map(ToString::to_string).collect();
        tracing::info!(peer = %self.ip, asn = negotiated.peer_asn, families = %families.join(" "), "session established");
        self.emit(SpeakerEvent::PeerUp { peer: self.ip, negotiated: Arc::clone(&negotiated) });
        // The RIB answers with the table and End-of-RIB.
        // Asked once per session (a short kernel dump in mdcd).
        let ipv6_next_hop = self.settings.ipv6_next_hop.resolve(local, self.settings.is_direct());
        self.to_rib(PeerEvent::Up { negotiated, local, generation, ipv6_next_hop });
    }

    fn send_update(&mut self, key: u64, update: &Update) {
        let Some(c) = self.conn_mut(key) else { return };
        match update.encode(c.fsm.tx_context()) {
            Ok(wire) => self.enqueue(key, wire),
            Err(e) => tracing::warn!(peer = %self.ip, "cannot encode an UPDATE: {e}"),
        }
    }

    fn send_message(&mut self, key: u64, message: &Message) {
        let Some(c) = self.conn_mut(key) else { return };
        match message.encode(c.fsm.tx_context()) {
            Ok(wire) => self.enqueue(key, wire),
            Err(e) => tracing::warn!(peer = %self.ip, "cannot encode a message: {e}"),
        }
    }

    fn enqueue(&mut self, key: u64, wire: Vec<Vec<u8>>) {
        let Some(c) = self.conn_mut(key) else { return };
        let Some(io) = &c.io else { return };
        let mut over = false;
        let mut sent = 0;
        for m in wire {
            let total = io.queued.fetch_add(m.len(), Ordering::Relaxed) + m.len();
            over |= total > MAX_QUEUED_BYTES;
            if io.tx.send(m).is_ok() {
                sent += 1;
            }
        }
        self.messages_out += sent;
        if over && !self.overflow.contains(&key) {
            self.overflow.push(key);
        }
    }

    /// Housekeeping after every event: queue overflow, I/O of connections
    /// that have none any more, status.
    fn after(&mut self) {
        for key in std::mem::take(&mut self.overflow) {
            tracing::warn!(peer = %self.ip, "more than {MAX_QUEUED_BYTES} bytes queued: resetting the session");
            self.feed(key, Event::AutomaticStop(Notification::cease(cease_subcode::OUT_OF_RESOURCES)));
        }
        let keys: Vec<u64> =
            std::iter::once(self.main.key).chain(self.extra.as_ref().map(|c| c.key)).collect();
        for key in keys {
            let dead = self.conn_mut(key).is_some_and(|c| {
                c.io.is_some()
                    && !matches!(c.fsm.state(), State::OpenSent | State::OpenConfirm | State::Established)
            });
            if dead {
                self.close_io(key);
            }
        }
        if self.extra.as_ref().is_some_and(|c| c.fsm.state() == State::Idle && c.io.is_none()) {
            self.extra = None;
        }
        self.publish_status();
    }

    fn publish_status(&self) {
        let est = self.established();
        let session = est.and_then(|c| c.session.as_ref());
        let state = est.map_or(self.main.fsm.state(), |c| c.fsm.state());
        let status = PeerStatus {
            address: self.settings.remote,
            remote_as: session.map(|s| s.negotiated.peer_asn).or(match self.settings.config.remote_as {
                crate::fsm::RemoteAs::Exact(a) => Some(a),
                crate::fsm::RemoteAs::Internal => Some(self.settings.config.local_as),
                _ => None,
            }),
            state,
            uptime: session.map(|s| s.since.elapsed()),
            local_address: est.and_then(|c| c.io.as_ref()).map(|io| io.local),
            messages_in: self.messages_in,
            messages_out: self.messages_out,
            prefixes_received: Vec::new(),
            prefixes_advertised: Vec::new(),
            last_down: self.last_down.clone(),
            update_errors: self.update_errors.clone(),
            negotiated: session.map(|s| Arc::clone(&s.negotiated)),
        };
        self.status.send_replace(status);
    }

    /// Let closing connections write what they can, then stop.
    async fn finish(mut self) {
        if let Some((_, h)) = self.connecting.take() {
            h.abort();
        }
        let keys: Vec<u64> =
            std::iter::once(self.main.key).chain(self.extra.as_ref().map(|c| c.key)).collect();
        for key in keys {
            self.close_io(key);
        }
        for h in std::mem::take(&mut self.closing) {
            let _ = h.await;
        }
        self.publish_status();
    }
}

/// For a Bad Peer AS we sent: which AS the peer's OPEN gave and which
/// the configuration expects.
fn bad_peer_as(reason: &DownReason, fsm: &Fsm) -> Option<String> {
    use crate::fsm::RemoteAs;
    use crate::notification::{code, open_subcode};
    let DownReason::NotificationSent(n) = reason else { return None };
    if (n.code, n.subcode) != (code::OPEN_MESSAGE, open_subcode::BAD_PEER_AS) {
        return None;
    }
    let got = fsm.last_open_as()?;
    let config = fsm.config();
    let expected = match config.remote_as {
        RemoteAs::Exact(a) => format!("AS {a}"),
        RemoteAs::Internal => format!("our own AS {} (remote-as internal)", config.local_as),
        RemoteAs::External => format!("any AS but our own {} (remote-as external)", config.local_as),
        RemoteAs::Any => "any AS".to_string(),
    };
    Some(format!(": the peer's OPEN says AS {got}, the configuration expects {expected}"))
}

fn describe(reason: &DownReason) -> String {
    match reason {
        DownReason::NotificationSent(n) => format!("sent NOTIFICATION {}", describe_notification(n)),
        DownReason::NotificationReceived(n) => format!("received NOTIFICATION {}", describe_notification(n)),
        DownReason::MalformedMessage(e) => {
            format!(
                "malformed message ({}), sent NOTIFICATION {}",
                e.error,
                describe_notification(&e.notification)
            )
        }
        DownReason::ConnectionLost => "connection lost".to_owned(),
    }
}

fn describe_notification(n: &Notification) -> String {
    use crate::notification::{code_name, subcode_name};
    let mut s = format!(
        "{}/{} ({} / {})",
        n.code,
        n.subcode,
        code_name(n.code).unwrap_or("unknown"),
        subcode_name(n.code, n.subcode).unwrap_or("unknown")
    );
    let inner = n.hard_reset_inner();
    if let Some(Ok(text)) = inner.as_ref().unwrap_or(n).shutdown_message() {
        s.push_str(&format!(": \"{text}\""));
    }
    s
}

async fn reader(mut rd: OwnedReadHalf, key: u64, tx: mpsc::Sender<Internal>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) => {
                let _ = tx.send(Internal::Closed { key, error: None }).await;
                return;
            }
            Ok(n) => {
                let data = buf.get(..n).unwrap_or_default().to_vec();
                if tx.send(Internal::Bytes { key, data }).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Internal::Closed { key, error: Some(e) }).await;
                return;
            }
        }
    }
}

/// Write queued messages in order. Reports `Stalled` when a write makes no
/// progress for [`STALL_AFTER`], then `Progress` after each write until
/// the queue is empty again.
async fn writer(
    mut wr: OwnedWriteHalf,
    key: u64,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    tx: mpsc::Sender<Internal>,
) {
    let mut reported = false;
    let mut buf: Vec<u8> = Vec::new();
    while let Some(first) = rx.recv().await {
        // What is queued already goes out in one write: a full table is
        // hundreds of thousands of small UPDATEs, and a system call (and a
        // timer) per message cost more than the copy.
        buf.clear();
        buf.extend_from_slice(&first);
        while buf.len() < COALESCE_BYTES {
            match rx.try_recv() {
                Ok(m) => buf.extend_from_slice(&m),
                Err(_) => break,
            }
        }
        let stall = tokio::time::sleep(STALL_AFTER);
        tokio::pin!(stall);
        let mut off = 0;
        while off < buf.len() {
            let chunk = buf.get(off..).unwrap_or_default();
            tokio::select! {
                biased;
                r = wr.write(chunk) => match r {
                    Ok(n) if n > 0 => {
                        off += n;
                        let left = queued.fetch_sub(n, Ordering::Relaxed).saturating_sub(n);
                        if reported {
                            let pending = left > 0;
                            reported = pending;
                            let _ = tx.send(Internal::Progress { key, pending }).await;
                        }
                        if off < buf.len() {
                            stall.as_mut().reset(Instant::now() + STALL_AFTER);
                        }
                    }
                    Ok(_) => {
                        let _ = tx.send(Internal::Closed { key, error: None }).await;
                        return;
                    }
                    Err(e) => {
                        let _ = tx.send(Internal::Closed { key, error: Some(e) }).await;
                        return;
                    }
                },
                () = &mut stall => {
                    if !reported {
                        reported = true;
                        let _ = tx.send(Internal::Stalled { key }).await;
                    }
                    stall.as_mut().reset(Instant::now() + STALL_AFTER);
                }
            }
        }
        // A burst's buffer is not kept for the session's quiet hours.
        if buf.capacity() > 4 * COALESCE_BYTES {
            buf = Vec::new();
        }
    }
    let _ = wr.shutdown().await;
}

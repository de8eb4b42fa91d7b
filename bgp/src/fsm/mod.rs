//! The BGP session state machine (RFC 4271 §8), sans I/O.
//!
//! This module owns one TCP connection's worth of session state for one
//! peer: the six states, the timers (as deadlines it asks the caller to
//! keep), the OPEN exchange and negotiation, keepalives, the hold and send
//! hold timers, UPDATE decoding with RFC 7606 outcomes, End-of-RIB, and the
//! helper side of graceful restart. It owns no socket, no task and no
//! clock: [`Fsm::handle`] takes an [`Event`] and the current monotonic time
//! in milliseconds and returns the [`Action`]s to carry out, in order. It
//! never fails and never panics. The RIB, the outbound UPDATE stream and
//! everything on the far side of a socket are the caller's.
//!
//! Two TCP connections to the same peer (a collision, RFC 4271 §6.8) are
//! two [`Fsm`]s; [`resolve_collision`] decides which one closes.
//! docs/adr/0004-fsm.md explains the choices.

mod config;
pub mod negotiate;

pub use config::{
    ConfigError, DEFAULT_CONNECT_RETRY_MS, DEFAULT_HOLD_TIME, DEFAULT_RESTART_TIME, DEFAULT_RETRY_INITIAL_MS,
    DEFAULT_STABLE_MS, DEFAULT_STALE_PATH_MS, GracefulRestartConfig, MIN_DEFAULT_SEND_HOLD_MS,
    OPEN_SENT_HOLD_MS, PeerConfig, RemoteAs,
};

use std::net::{IpAddr, Ipv4Addr};

use crate::wire::attr::AttrValue;
use crate::wire::context::{MAX_MESSAGE_LEN, SessionContext};
use crate::wire::error::MessageError;
use crate::wire::family::Family;
use crate::wire::message::{HEADER_LEN, Message, decode_header, kind};
use crate::wire::notification::{
    Notification, cease_subcode, code, fsm_subcode, open_subcode, update_subcode,
};
use crate::wire::open::Open;
use crate::wire::route_refresh::{RouteRefresh, Subtype};
use crate::wire::update::{Outcome, Update, UpdateDecode};
use negotiate::{Negotiated, forces_hard_reset, negotiate};

/// The session states of RFC 4271 §8.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Idle,
    Connect,
    Active,
    OpenSent,
    OpenConfirm,
    Established,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        })
    }
}

/// The timers the FSM asks the caller to run. Each is either armed (with
/// a deadline the FSM remembers) or not; an expiry of a timer that is not
/// armed (a late event after a cancel) is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// ConnectRetryTimer: bounds an outgoing connection attempt (Connect)
    /// or delays the next one (Active).
    ConnectRetry,
    /// HoldTimer: the peer has been silent too long.
    Hold,
    /// KeepaliveTimer: time to send a KEEPALIVE.
    Keepalive,
    /// SendHoldTimer (RFC 9687): we could not write for too long.
    SendHold,
    /// IdleHoldTimer: the backoff before an automatic restart.
    IdleHold,
    /// The peer's graceful restart time is running (RFC 4724 §4.2).
    GracefulRestart,
    /// Stale routes wait for End-of-RIB from the returned peer.
    StalePath,
}

impl Timer {
    pub const ALL: [Timer; 7] = [
        Timer::ConnectRetry,
        Timer::Hold,
        Timer::Keepalive,
        Timer::SendHold,
        Timer::IdleHold,
        Timer::GracefulRestart,
        Timer::StalePath,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// Whether this timer may run in `state`. The FSM cancels every timer
    /// that may not run in a state it enters.
    pub fn allowed_in(self, state: State) -> bool {
        use State::*;
        match self {
            Timer::ConnectRetry => matches!(state, Connect | Active),
            Timer::Hold | Timer::SendHold => matches!(state, OpenSent | OpenConfirm | Established),
            Timer::Keepalive => matches!(state, OpenConfirm | Established),
            Timer::IdleHold => state == Idle,
            Timer::GracefulRestart => state != Established,
            Timer::StalePath => state == Established,
        }
    }
}

/// Who opened the TCP connection an [`Fsm`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// We connected (Tcp_CR_Acked).
    Local,
    /// The peer connected (TcpConnectionConfirmed).
    Remote,
}

/// Inputs, with their RFC 4271 §8.1 event numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Events 1, 4: Start the peer (connect, or wait if passive). Resets the
    /// backoff.
    ManualStart,
    /// Event 2: Stop the peer: Cease/Administrative Shutdown with this RFC 9003
    /// message (Hard Reset when the N bit was negotiated, RFC 8538 §5).
    /// Flushes the peer's routes, including stale ones. Stays in Idle.
    ManualStop(Option<String>),
    /// Events 3, 5: Start, unless the backoff timer (IdleHold) is running.
    AutomaticStart,
    /// Event 8: Stop with this NOTIFICATION (e.g. Cease/Maximum Number of
    /// Prefixes Reached); restarts after the backoff if automatic restart
    /// is on.
    AutomaticStop(Notification),
    /// Event 16: Our outgoing connection is up.
    TcpCrAcked,
    /// Event 17: The caller accepted a connection from the peer for this FSM
    /// (only when [`Fsm::accepts_connection`]; otherwise it belongs to a
    /// second FSM, see [`Fsm::new_inbound`]).
    TcpConnectionConfirmed,
    /// Event 18: The connection (or the attempt) failed or was closed by the peer.
    TcpConnectionFails,
    /// Events 19-28: One whole message as framed by
    /// [`crate::wire::message::frame_len`] with [`Fsm::rx_context`].
    MessageReceived(Vec<u8>),
    /// Events 9-13: A timer the FSM armed has expired.
    TimerExpired(Timer),
    /// Queued output could not be written (the peer's window is closed):
    /// starts the send hold timer if it is not running (RFC 9687).
    SendStalled,
    /// Some queued output was written; `pending` says whether more remains.
    /// Restarts the send hold timer if it does, stops it if not.
    SendProgress { pending: bool },
    /// Event 23: This connection lost a collision (see [`resolve_collision`]):
    /// Cease/Connection Collision Resolution, then Idle without a restart.
    OpenCollisionDump,
}

/// Why a connection or session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// We sent this NOTIFICATION (hold timer, FSM error, OPEN rejected,
    /// stop, collision).
    NotificationSent(Notification),
    /// A message from the peer was malformed; we sent the NOTIFICATION in it.
    MalformedMessage(MessageError),
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// The TCP connection closed or failed without a NOTIFICATION.
    ConnectionLost,
}

impl DownReason {
    /// The NOTIFICATION sent or received, if any.
    pub fn notification(&self) -> Option<&Notification> {
        match self {
            DownReason::NotificationSent(n) | DownReason::NotificationReceived(n) => Some(n),
            DownReason::MalformedMessage(e) => Some(&e.notification),
            DownReason::ConnectionLost => None,
        }
    }
}

/// Outputs, to be carried out in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a TCP connection to the peer; report [`Event::TcpCrAcked`] or
    /// [`Event::TcpConnectionFails`].
    Connect,
    /// Abandon the outgoing connection attempt, if one is in progress.
    CancelConnect,
    /// Encode with [`Fsm::tx_context`] (any context will do: OPEN,
    /// KEEPALIVE and NOTIFICATION from the FSM always fit in 4096 bytes)
    /// and write. UPDATEs are the caller's, encoded with
    /// [`Negotiated::tx`].
    Send(Message),
    /// Close the TCP connection (after writing what was sent before).
    Close,
    /// Arm (or re-arm) a timer to expire this many milliseconds from now.
    ArmTimer(Timer, u64),
    CancelTimer(Timer),
    /// The session is up; send the initial table, then
    /// [`Negotiated::end_of_rib_markers`].
    SessionEstablished(Box<Negotiated>),
    /// The Established session ended. Every route learned from the peer is
    /// to be removed, except those of the families in `stale`, which are
    /// kept and marked stale (graceful restart helper, RFC 4724 §4.2) until
    /// [`Action::FlushStale`] or replaced by the returning peer.
    SessionDown {
        reason: DownReason,
        stale: Vec<Family>,
    },
    /// A connection that had not reached Established ended.
    ConnectionFailed(DownReason),
    /// Routes from the peer (RFC 7606 outcome included; disabled families
    /// already removed). The update may be empty when an error emptied it:
    /// the diagnostics are then all there is, for the log.
    Routes(UpdateDecode),
    /// The peer sent End-of-RIB for this family.
    EndOfRib(Family),
    /// RFC 7606 AFI/SAFI disable: drop every route of this family from the
    /// peer and ignore it for the rest of the session.
    FamilyDisabled(Family),
    /// The peer asks for a route refresh (RFC 2918), or marks its start or
    /// end (RFC 7313).
    RouteRefresh(RouteRefresh),
    /// Remove the peer's routes of this family that are still stale.
    FlushStale(Family),
}

/// Graceful restart state kept across sessions (helper side).
#[derive(Debug, Clone, Default)]
struct Stale {
    /// Families whose routes from the previous session are stale.
    families: Vec<Family>,
}

/// One peer's session state machine, for one TCP connection at a time.
#[derive(Debug, Clone)]
pub struct Fsm {
    config: PeerConfig,
    our_open: Open,
    state: State,
    origin: Option<Origin>,
    /// RFC 4271 ConnectRetryCounter.
    connect_retry_counter: u32,
    /// Consecutive failures, for the backoff.
    failures: u32,
    /// Deadline of each armed timer (absolute ms), by [`Timer::index`].
    timers: [Option<u64>; 7],
    peer_open: Option<Open>,
    negotiated: Option<Negotiated>,
    rx: SessionContext,
    tx: SessionContext,
    established_at: Option<u64>,
    disabled: Vec<Family>,
    stale: Stale,
    /// Made by [`Fsm::new_inbound`] and not yet the survivor of a
    /// collision: a second connection, which never restarts by itself.
    /// [`resolve_collision`] clears it on the survivor, which from then on
    /// is the peer's FSM and restarts as the configuration says.
    secondary: bool,
    /// Our end of the connection ([`Fsm::set_local_address`]).
    local_address: Option<IpAddr>,
    /// The AS of the last OPEN received, even one that was refused.
    last_open_as: Option<u32>,
    now: u64,
    out: Vec<Action>,
}

fn fsm_error(state: State, message_kind: u8) -> Notification {
    let subcode = match state {
        State::OpenSent => fsm_subcode::UNEXPECTED_IN_OPEN_SENT,
        State::OpenConfirm => fsm_subcode::UNEXPECTED_IN_OPEN_CONFIRM,
        State::Established => fsm_subcode::UNEXPECTED_IN_ESTABLISHED,
        _ => fsm_subcode::UNSPECIFIED,
    };
    // RFC 6608 §4: the data is the type of the unexpected message.
    let data = if message_kind == 0 { Vec::new() } else { vec![message_kind] };
    Notification::new(code::FSM, subcode, data)
}

fn is_hard_reset(n: &Notification) -> bool {
    n.code == code::CEASE && n.subcode == cease_subcode::HARD_RESET
}

/// Before the OPEN exchange: 2-octet AS, 4096-byte messages.
fn initial_context(config: &PeerConfig) -> SessionContext {
    SessionContext { family_codecs: config.family_codecs.clone(), ..SessionContext::default() }
}

impl Fsm {
    /// A peer in Idle. Nothing happens until [`Event::ManualStart`].
    pub fn new(config: PeerConfig) -> Result<Fsm, ConfigError> {
        config.validate()?;
        let ctx = initial_context(&config);
        Ok(Fsm {
            our_open: config.open(),
            config,
            state: State::Idle,
            origin: None,
            connect_retry_counter: 0,
            failures: 0,
            timers: [None; 7],
            peer_open: None,
            negotiated: None,
            rx: ctx.clone(),
            tx: ctx,
            established_at: None,
            disabled: Vec::new(),
            stale: Stale::default(),
            secondary: false,
            local_address: None,
            last_open_as: None,
            now: 0,
            out: Vec::new(),
        })
    }

    /// An FSM for a connection the peer opened while this peer's main FSM
    /// could not take it (OpenSent, OpenConfirm or Established): it sends
    /// OPEN and waits in OpenSent. Run both until [`resolve_collision`]
    /// picks one. Until it survives a collision it never restarts by
    /// itself; the survivor restarts as `config.automatic_restart` says,
    /// like the FSM it replaces (see [`Fsm::restarts_automatically`]).
    pub fn new_inbound(config: PeerConfig, now_ms: u64) -> Result<(Fsm, Vec<Action>), ConfigError> {
        let mut fsm = Fsm::new(config)?;
        fsm.secondary = true;
        fsm.state = State::Active;
        let actions = fsm.handle(Event::TcpConnectionConfirmed, now_ms);
        Ok((fsm, actions))
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// The OPEN we send.
    pub fn our_open(&self) -> &Open {
        &self.our_open
    }

    /// The peer's OPEN (OpenConfirm and Established).
    pub fn peer_open(&self) -> Option<&Open> {
        self.peer_open.as_ref()
    }

    /// The peer's BGP identifier, once its OPEN arrived.
    pub fn peer_id(&self) -> Option<Ipv4Addr> {
        self.peer_open.as_ref().map(|o| o.bgp_id)
    }

    /// What the session negotiated (OpenConfirm and Established).
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Who opened the current connection.
    pub fn origin(&self) -> Option<Origin> {
        self.origin
    }

    /// Our (re)start is over and our forwarding state is in place (RFC
    /// 4724): the OPENs we send from now on carry no Restart State bit,
    /// and the Forwarding State bit for every family we restart gracefully
    /// for (it survives the loss of a session). An OPEN already sent stays
    /// as it was.
    pub fn restart_complete(&mut self) {
        if self.config.graceful_restart.as_mut().is_some_and(GracefulRestartConfig::complete) {
            self.our_open = self.config.open();
        }
    }

    /// The AS of the last OPEN the peer sent, even one that was refused
    /// (to say why a Bad Peer AS was sent).
    pub fn last_open_as(&self) -> Option<u32> {
        self.last_open_as
    }

    /// Our end of the connection, as the transport gives it: a next hop
    /// equal to it is not usable (RFC 4271 §6.3). Set it when the
    /// connection is up, before the peer's OPEN.
    pub fn set_local_address(&mut self, address: IpAddr) {
        self.local_address = Some(address);
    }

    /// Context to frame and decode what the peer sends now.
    pub fn rx_context(&self) -> &SessionContext {
        &self.rx
    }

    /// Context to encode what we send now.
    pub fn tx_context(&self) -> &SessionContext {
        &self.tx
    }

    /// RFC 4271 ConnectRetryCounter.
    pub fn connect_retry_counter(&self) -> u32 {
        self.connect_retry_counter
    }

    /// Consecutive failures counted by the backoff.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether this FSM goes back to Idle with an automatic restart after
    /// an error: the configured `automatic_restart`, except for a second
    /// connection from [`Fsm::new_inbound`] that has not (yet) survived a
    /// collision.
    pub fn restarts_automatically(&self) -> bool {
        self.config.automatic_restart && !self.secondary
    }

    /// Families the peer's routes are stale for (graceful restart helper).
    pub fn stale_families(&self) -> &[Family] {
        &self.stale.families
    }

    /// Families disabled in this session (RFC 7606).
    pub fn disabled_families(&self) -> &[Family] {
        &self.disabled
    }

    /// Whether a timer is armed.
    pub fn is_armed(&self, timer: Timer) -> bool {
        self.deadline(timer).is_some()
    }

    /// When an armed timer expires (absolute ms).
    pub fn deadline(&self, timer: Timer) -> Option<u64> {
        self.timers.get(timer.index()).copied().flatten()
    }

    /// The earliest deadline of any armed timer.
    pub fn next_deadline(&self) -> Option<(Timer, u64)> {
        Timer::ALL.iter().filter_map(|t| self.deadline(*t).map(|d| (*t, d))).min_by_key(|(_, d)| *d)
    }

    /// Whether a new connection from the peer may be handed to this FSM as
    /// [`Event::TcpConnectionConfirmed`] (Connect or Active).
    pub fn accepts_connection(&self) -> bool {
        matches!(self.state, State::Connect | State::Active)
    }

    /// Feed one event at time `now_ms` (monotonic milliseconds); returns
    /// what to do, in order.
    pub fn handle(&mut self, event: Event, now_ms: u64) -> Vec<Action> {
        self.now = now_ms;
        match event {
            Event::ManualStart => self.on_start(true),
            Event::AutomaticStart => self.on_start(false),
            Event::ManualStop(text) => self.on_manual_stop(text.as_deref()),
            Event::AutomaticStop(n) => self.on_automatic_stop(n),
            Event::TcpCrAcked => self.on_connection(Origin::Local),
            Event::TcpConnectionConfirmed => self.on_connection(Origin::Remote),
            Event::TcpConnectionFails => self.on_connection_fails(),
            Event::MessageReceived(bytes) => self.on_message(&bytes),
            Event::TimerExpired(timer) => self.on_timer(timer),
            Event::SendStalled => self.on_send_stalled(),
            Event::SendProgress { pending } => self.on_send_progress(pending),
            Event::OpenCollisionDump => self.on_collision_dump(),
        }
        std::mem::take(&mut self.out)
    }

    // ---- plumbing -------------------------------------------------------

    fn push(&mut self, action: Action) {
        self.out.push(action);
    }

    fn arm(&mut self, timer: Timer, ms: u64) {
        if let Some(slot) = self.timers.get_mut(timer.index()) {
            *slot = Some(self.now.saturating_add(ms));
        }
        self.push(Action::ArmTimer(timer, ms));
    }

    fn cancel(&mut self, timer: Timer) {
        if let Some(slot) = self.timers.get_mut(timer.index())
            && slot.take().is_some()
        {
            self.out.push(Action::CancelTimer(timer));
        }
    }

    fn set_state(&mut self, state: State) {
        for t in Timer::ALL {
            if !t.allowed_in(state) {
                self.cancel(t);
            }
        }
        self.state = state;
    }

    fn send(&mut self, message: Message) {
        let message = match message {
            // Keep every NOTIFICATION within 4096 bytes so that it encodes
            // under any context (the data of an UPDATE error may be a whole
            // attribute from an extended message).
            Message::Notification(mut n) => {
                n.data.truncate(MAX_MESSAGE_LEN - HEADER_LEN - 2);
                Message::Notification(n)
            }
            other => other,
        };
        self.push(Action::Send(message));
    }

    fn hold_time(&self) -> u16 {
        self.negotiated.as_ref().map_or(self.config.hold_time, |n| n.hold_time)
    }

    fn has_connection(&self) -> bool {
        matches!(self.state, State::OpenSent | State::OpenConfirm | State::Established)
    }

    /// Hard Reset wrapping of a Cease we send (RFC 8538 §5).
    fn outgoing(&self, n: Notification) -> Notification {
        let n_bit = self
            .negotiated
            .as_ref()
            .and_then(|n| n.graceful_restart.as_ref())
            .is_some_and(|g| g.notification);
        if n_bit && n.code == code::CEASE && forces_hard_reset(n.subcode) && !is_hard_reset(&n) {
            Notification::hard_reset(n)
        } else {
            n
        }
    }

    fn reset_connection(&mut self) {
        self.origin = None;
        self.peer_open = None;
        self.negotiated = None;
        self.established_at = None;
        self.disabled.clear();
        self.rx = initial_context(&self.config);
        self.tx = self.rx.clone();
    }

    fn flush_all_stale(&mut self) {
        for f in std::mem::take(&mut self.stale.families) {
            self.push(Action::FlushStale(f));
        }
        self.cancel(Timer::GracefulRestart);
        self.cancel(Timer::StalePath);
    }

    /// Leave the current state for Idle after an error or a stop.
    ///
    /// `notification`: to send first (already wrapped for Hard Reset).
    /// `count`: increment the ConnectRetryCounter and the backoff.
    /// `restart`: arm IdleHold for an automatic restart (if configured).
    fn enter_idle(
        &mut self,
        notification: Option<Notification>,
        reason: DownReason,
        count: bool,
        restart: bool,
    ) {
        let was = self.state;
        if let Some(n) = notification
            && self.has_connection()
        {
            self.send(Message::Notification(n));
        }
        match was {
            State::Connect => self.push(Action::CancelConnect),
            State::OpenSent | State::OpenConfirm | State::Established => self.push(Action::Close),
            State::Idle | State::Active => {}
        }
        let hard_reset = reason.notification().is_some_and(is_hard_reset);
        if was == State::Established {
            if let Some(since) = self.established_at
                && self.now.saturating_sub(since) >= self.config.stable_ms
            {
                self.failures = 0;
            }
            let stale = self.retained_families(&reason);
            self.set_state(State::Idle);
            self.stale.families.clone_from(&stale);
            let restart_ms = self
                .negotiated
                .as_ref()
                .and_then(|n| n.graceful_restart.as_ref())
                .map_or(0, |g| u64::from(g.restart_time) * 1000);
            if stale.is_empty() {
                self.cancel(Timer::GracefulRestart);
            } else {
                self.arm(Timer::GracefulRestart, restart_ms);
            }
            self.push(Action::SessionDown { reason, stale });
        } else {
            self.set_state(State::Idle);
            if hard_reset {
                self.flush_all_stale();
            }
            if matches!(was, State::OpenSent | State::OpenConfirm) {
                self.push(Action::ConnectionFailed(reason));
            }
        }
        self.reset_connection();
        if count {
            self.connect_retry_counter = self.connect_retry_counter.saturating_add(1);
        }
        if restart && self.restarts_automatically() {
            let delay = self.config.retry_delay_ms(self.failures);
            self.failures = self.failures.saturating_add(1);
            self.arm(Timer::IdleHold, delay);
        }
    }

    /// Families whose routes survive the end of an Established session.
    fn retained_families(&self, reason: &DownReason) -> Vec<Family> {
        let Some(neg) = &self.negotiated else { return Vec::new() };
        let Some(gr) = &neg.graceful_restart else { return Vec::new() };
        if gr.restart_time == 0 {
            return Vec::new();
        }
        let retain = match reason.notification() {
            None => true,
            Some(n) => gr.notification && !is_hard_reset(n),
        };
        if !retain {
            return Vec::new();
        }
        gr.families.iter().map(|f| f.family).filter(|f| !self.disabled.contains(f)).collect()
    }

    fn error_close(&mut self, n: Notification) {
        let n = self.outgoing(n);
        self.enter_idle(Some(n.clone()), DownReason::NotificationSent(n), true, true);
    }

    // ---- events ---------------------------------------------------------

    fn on_start(&mut self, manual: bool) {
        if self.state != State::Idle {
            return;
        }
        if manual {
            self.connect_retry_counter = 0;
            self.failures = 0;
            self.cancel(Timer::IdleHold);
        } else if self.is_armed(Timer::IdleHold) {
            // DampPeerOscillations: wait for the backoff.
            return;
        }
        if self.config.passive {
            self.set_state(State::Active);
        } else {
            self.set_state(State::Connect);
            self.arm(Timer::ConnectRetry, self.config.connect_retry_ms);
            self.push(Action::Connect);
        }
    }

    fn on_manual_stop(&mut self, text: Option<&str>) {
        let n = match text {
            Some(t) => Notification::admin_shutdown(t),
            None => Notification::cease(cease_subcode::ADMINISTRATIVE_SHUTDOWN),
        };
        let n = self.outgoing(n);
        if self.state == State::Idle {
            self.cancel(Timer::IdleHold);
        } else {
            // A Cease/2 is never followed by graceful restart: without the
            // N bit any NOTIFICATION ends it, with it the Cease is a Hard
            // Reset (RFC 8538 §5), so SessionDown carries no stale family.
            self.enter_idle(Some(n.clone()), DownReason::NotificationSent(n), false, false);
        }
        // An administrative stop removes everything the peer sent.
        self.flush_all_stale();
        self.connect_retry_counter = 0;
        self.failures = 0;
    }

    fn on_automatic_stop(&mut self, n: Notification) {
        match self.state {
            State::Idle => {}
            State::Connect | State::Active => {
                self.enter_idle(None, DownReason::NotificationSent(n), true, true);
            }
            _ => self.error_close(n),
        }
    }

    fn on_connection(&mut self, origin: Origin) {
        match self.state {
            State::Connect | State::Active => {
                if self.state == State::Connect && origin == Origin::Remote {
                    self.push(Action::CancelConnect);
                }
                self.origin = Some(origin);
                self.set_state(State::OpenSent);
                self.send(Message::Open(self.our_open.clone()));
                self.arm(Timer::Hold, OPEN_SENT_HOLD_MS);
            }
            // Idle: RFC 4271 says no change. OpenSent and later: a second
            // connection is tracked by a second FSM (§6.8).
            _ => {}
        }
    }

    fn on_connection_fails(&mut self) {
        match self.state {
            State::Idle => {}
            State::Connect => {
                // Deviation (docs/adr/0004): like RFC 4271 with DelayOpen,
                // keep listening in Active and retry after the backoff.
                self.push(Action::CancelConnect);
                self.set_state(State::Active);
                self.arm_retry();
            }
            State::Active => self.enter_idle(None, DownReason::ConnectionLost, true, true),
            State::OpenSent => {
                self.push(Action::Close);
                self.set_state(State::Active);
                self.reset_connection();
                self.push(Action::ConnectionFailed(DownReason::ConnectionLost));
                self.arm_retry();
            }
            State::OpenConfirm | State::Established => {
                self.enter_idle(None, DownReason::ConnectionLost, true, true);
            }
        }
    }

    /// In Active: wait the backoff delay, then connect (never if passive).
    fn arm_retry(&mut self) {
        if self.config.passive {
            return;
        }
        let delay = self.config.retry_delay_ms(self.failures);
        self.failures = self.failures.saturating_add(1);
        self.arm(Timer::ConnectRetry, delay);
    }

    fn on_timer(&mut self, timer: Timer) {
        let armed = self.timers.get_mut(timer.index()).and_then(Option::take).is_some();
        if !armed {
            return;
        }
        match timer {
            Timer::ConnectRetry => match self.state {
                State::Connect => {
                    self.push(Action::CancelConnect);
                    self.arm(Timer::ConnectRetry, self.config.connect_retry_ms);
                    self.push(Action::Connect);
                }
                State::Active => {
                    self.set_state(State::Connect);
                    self.arm(Timer::ConnectRetry, self.config.connect_retry_ms);
                    self.push(Action::Connect);
                }
                _ => {}
            },
            Timer::Hold => self.error_close(Notification::hold_timer_expired()),
            Timer::SendHold => self.error_close(Notification::send_hold_timer_expired()),
            Timer::Keepalive => {
                self.send(Message::Keepalive);
                self.arm_keepalive();
            }
            Timer::IdleHold => self.on_start(false),
            Timer::GracefulRestart | Timer::StalePath => self.flush_all_stale(),
        }
    }

    fn arm_keepalive(&mut self) {
        if let Some(n) = &self.negotiated
            && n.hold_time > 0
        {
            let ms = u64::from(n.keepalive) * 1000;
            self.arm(Timer::Keepalive, ms);
        }
    }

    fn restart_hold(&mut self) {
        if let Some(n) = &self.negotiated
            && n.hold_time > 0
        {
            let ms = u64::from(n.hold_time) * 1000;
            self.arm(Timer::Hold, ms);
        }
    }

    fn on_send_stalled(&mut self) {
        if self.has_connection() && !self.is_armed(Timer::SendHold) {
            self.arm(Timer::SendHold, self.config.send_hold_ms(self.hold_time()));
        }
    }

    fn on_send_progress(&mut self, pending: bool) {
        if !self.has_connection() {
            return;
        }
        if pending {
            self.arm(Timer::SendHold, self.config.send_hold_ms(self.hold_time()));
        } else {
            self.cancel(Timer::SendHold);
        }
    }

    fn on_collision_dump(&mut self) {
        match self.state {
            State::Idle => {}
            State::Connect | State::Active => {
                self.enter_idle(None, DownReason::ConnectionLost, true, false);
            }
            _ => {
                let n = Notification::cease(cease_subcode::CONNECTION_COLLISION_RESOLUTION);
                self.enter_idle(Some(n.clone()), DownReason::NotificationSent(n), true, false);
            }
        }
    }

    fn on_message(&mut self, bytes: &[u8]) {
        match self.state {
            State::Idle => return,
            // No connection exists: RFC 4271 "any other event".
            State::Connect | State::Active => {
                self.enter_idle(None, DownReason::ConnectionLost, true, true);
                return;
            }
            _ => {}
        }
        let message_kind = match decode_header(bytes, &self.rx) {
            Ok(Some(h)) => h.kind,
            Ok(None) => 0,
            Err(e) => return self.malformed(e),
        };
        let expected = match self.state {
            State::OpenSent => matches!(message_kind, kind::OPEN | kind::NOTIFICATION),
            State::OpenConfirm => matches!(message_kind, kind::KEEPALIVE | kind::NOTIFICATION),
            _ => message_kind != kind::OPEN,
        };
        if !expected && message_kind != 0 {
            return self.error_close(fsm_error(self.state, message_kind));
        }
        match Message::decode(bytes, &self.rx) {
            Err(e) => self.malformed(e),
            Ok(Message::Notification(n)) => {
                // RFC 4271: NotifMsgVerErr does not count as a failure.
                let version = n.code == code::OPEN_MESSAGE && n.subcode == open_subcode::UNSUPPORTED_VERSION;
                self.enter_idle(None, DownReason::NotificationReceived(n), !version, true);
            }
            Ok(Message::Open(open)) => self.on_open(open),
            Ok(Message::Keepalive) => self.on_keepalive(),
            Ok(Message::Update(update)) => self.on_update(update),
            Ok(Message::RouteRefresh(rr)) => self.on_route_refresh(rr),
        }
    }

    fn malformed(&mut self, e: MessageError) {
        let n = e.notification.clone();
        self.enter_idle(Some(n), DownReason::MalformedMessage(e), true, true);
    }

    fn on_open(&mut self, open: Open) {
        self.last_open_as = Some(open.asn());
        match negotiate(&self.config, &self.our_open, &open) {
            Err(n) => self.error_close(n),
            Ok(mut neg) => {
                if let Some(sender) = &mut neg.rx.sender {
                    sender.local_address = self.local_address;
                }
                self.rx = neg.rx.clone();
                self.tx = neg.tx.clone();
                self.negotiated = Some(neg);
                self.peer_open = Some(open);
                self.set_state(State::OpenConfirm);
                self.send(Message::Keepalive);
                if self.hold_time() > 0 {
                    self.restart_hold();
                    self.arm_keepalive();
                } else {
                    self.cancel(Timer::Hold);
                }
            }
        }
    }

    fn on_keepalive(&mut self) {
        match self.state {
            State::OpenConfirm => self.establish(),
            State::Established => self.restart_hold(),
            _ => {}
        }
    }

    fn establish(&mut self) {
        self.set_state(State::Established);
        self.established_at = Some(self.now);
        self.disabled.clear();
        self.restart_hold();
        let Some(neg) = self.negotiated.clone() else { return };
        self.push(Action::SessionEstablished(Box::new(neg.clone())));
        // Graceful restart helper: the peer is back (RFC 4724 §4.2).
        let keep = |f: &Family| neg.graceful_restart.as_ref().is_some_and(|g| g.forwarding_preserved(*f));
        let (kept, flushed): (Vec<Family>, Vec<Family>) = self.stale.families.iter().partition(|f| keep(f));
        for f in flushed {
            self.push(Action::FlushStale(f));
        }
        self.stale.families = kept;
        if !self.stale.families.is_empty() {
            let ms = self
                .config
                .graceful_restart
                .as_ref()
                .map_or(config::DEFAULT_STALE_PATH_MS, |g| g.stale_path_ms);
            self.arm(Timer::StalePath, ms);
        }
    }

    fn on_update(&mut self, mut decoded: UpdateDecode) {
        self.restart_hold();
        if let Some(family) = decoded.end_of_rib() {
            if !self.disabled.contains(&family) {
                self.push(Action::EndOfRib(family));
                if let Some(pos) = self.stale.families.iter().position(|f| *f == family) {
                    self.stale.families.remove(pos);
                    self.push(Action::FlushStale(family));
                    if self.stale.families.is_empty() {
                        self.cancel(Timer::StalePath);
                    }
                }
            }
            return;
        }
        if let Outcome::AfiSafiDisable(families) = &decoded.outcome {
            for f in families.clone() {
                if !self.disabled.contains(&f) {
                    self.disabled.push(f);
                    self.stale.families.retain(|s| *s != f);
                    self.push(Action::FamilyDisabled(f));
                }
            }
            if self.stale.families.is_empty() {
                self.cancel(Timer::StalePath);
            }
            let negotiated = self.negotiated.as_ref().map_or(&[][..], |n| n.families.as_slice());
            if negotiated.iter().all(|f| self.disabled.contains(f)) {
                // No family left: RFC 4760 §7 Optional Attribute Error.
                return self.error_close(Notification::new(
                    code::UPDATE_MESSAGE,
                    update_subcode::OPTIONAL_ATTRIBUTE_ERROR,
                    Vec::new(),
                ));
            }
        }
        if !self.disabled.is_empty() {
            strip_families(&mut decoded.update, &self.disabled);
        }
        // An UPDATE emptied by an error still goes up: its diagnostics are
        // what the operator needs to see (and count).
        if !is_empty(&decoded.update) || !decoded.diagnostics.is_empty() {
            self.push(Action::Routes(decoded));
        }
    }

    fn on_route_refresh(&mut self, rr: RouteRefresh) {
        self.restart_hold();
        let Some(neg) = &self.negotiated else { return };
        let family = Family::new(rr.afi, rr.safi);
        let allowed = match rr.subtype {
            Subtype::NORMAL => neg.route_refresh,
            Subtype::BEGIN | Subtype::END => neg.enhanced_route_refresh,
            _ => false,
        };
        // RFC 2918 §4 / RFC 7313 §5: ignore what was not negotiated.
        if allowed && neg.families.contains(&family) && !self.disabled.contains(&family) {
            self.push(Action::RouteRefresh(rr));
        }
    }
}

/// Remove what an UPDATE carries for disabled families.
fn strip_families(update: &mut Update, disabled: &[Family]) {
    if disabled.contains(&Family::IPV4_UNICAST) {
        update.nlri.clear();
        update.withdrawn.clear();
    }
    update.attributes.retain(|a| match &a.value {
        AttrValue::MpReach(m) => !disabled.contains(&m.family),
        AttrValue::MpUnreach(m) => !disabled.contains(&m.family),
        _ => true,
    });
}

fn is_empty(update: &Update) -> bool {
    update.nlri.is_empty()
        && update.withdrawn.is_empty()
        && !update
            .attributes
            .iter()
            .any(|a| matches!(a.value, AttrValue::MpReach(_) | AttrValue::MpUnreach(_)))
}

/// Which of two connections [`resolve_collision`] closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    First,
    Second,
}

/// The result of a collision: which connection lost, what its FSM does
/// (Cease/7, close, Idle) and what the surviving FSM does (it takes over
/// pending graceful restart state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollisionOutcome {
    pub closed: Side,
    pub closed_actions: Vec<Action>,
    pub survivor_actions: Vec<Action>,
}

/// Which connection [`resolve_collision`] would close, without closing it.
pub fn collision_loser(first: &Fsm, second: &Fsm) -> Option<Side> {
    let live = |f: &Fsm| f.has_connection();
    if !live(first) || !live(second) {
        return None;
    }
    Some(match (first.state, second.state) {
        (State::Established, _) => Side::Second,
        (_, State::Established) => Side::First,
        _ => {
            let peer = first.peer_open.as_ref().or(second.peer_open.as_ref())?;
            let (a, b) = (first.origin?, second.origin?);
            if a == b {
                return None;
            }
            let local = (u32::from(first.config.router_id), first.config.local_as);
            let remote = (u32::from(peer.bgp_id), peer.asn());
            let close_origin = if local < remote { Origin::Local } else { Origin::Remote };
            if a == close_origin { Side::First } else { Side::Second }
        }
    })
}

/// Collision detection (RFC 4271 §6.8) between two FSMs of the same peer,
/// one per TCP connection. Call it whenever either receives an OPEN.
///
/// - Established beats anything (the newer connection closes).
/// - Otherwise the peer's BGP identifier must be known on one of them
///   (its OPEN arrived); an OPEN on either connection names the same peer,
///   so a connection in OpenSent is examined too. The connection opened by
///   the speaker with the lower BGP identifier closes; equal identifiers
///   (eBGP, RFC 6286 §2.3) compare AS numbers the same way.
/// - `None`: no collision to resolve (a side not in OpenSent, OpenConfirm
///   or Established, no OPEN yet, or both connections opened by the same
///   side).
pub fn resolve_collision(first: &mut Fsm, second: &mut Fsm, now_ms: u64) -> Option<CollisionOutcome> {
    let closed = collision_loser(first, second)?;
    let (loser, survivor) = match closed {
        Side::First => (first, second),
        Side::Second => (second, first),
    };
    let mut closed_actions = loser.handle(Event::OpenCollisionDump, now_ms);
    // The survivor is the peer's FSM from now on (it restarts as
    // configured); pending graceful restart state and the backoff move to it.
    survivor.secondary = false;
    survivor.now = now_ms;
    survivor.failures = survivor.failures.max(loser.failures);
    if !loser.stale.families.is_empty() {
        let remaining = loser.deadline(Timer::GracefulRestart).map(|d| d.saturating_sub(now_ms));
        for f in std::mem::take(&mut loser.stale.families) {
            if !survivor.stale.families.contains(&f) {
                survivor.stale.families.push(f);
            }
        }
        loser.now = now_ms;
        loser.cancel(Timer::GracefulRestart);
        closed_actions.append(&mut loser.out);
        if let Some(ms) = remaining
            && !survivor.is_armed(Timer::GracefulRestart)
            && survivor.state != State::Established
        {
            survivor.arm(Timer::GracefulRestart, ms);
        }
    }
    let survivor_actions = std::mem::take(&mut survivor.out);
    Some(CollisionOutcome { closed, closed_actions, survivor_actions })
}

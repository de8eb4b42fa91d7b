//! Configuration of one peer as the session FSM sees it: who we are, whom
//! we expect, which timers to run and which capabilities to offer.
//!
//! This module owns the defaults (see docs/adr/0004-fsm.md for why each) and
//! the OPEN we send. It does not know about sockets, addresses or passwords:
//! those are the speaker's.

use std::net::Ipv4Addr;

use crate::wire::capability::{
    AddPathFamily, Capability, ExtendedNextHop, GracefulRestart, GracefulRestartFamily, Role,
};
use crate::wire::context::{FamilyCodec, SessionContext};
use crate::wire::error::EncodeError;
use crate::wire::family::Family;
use crate::wire::message::Message;
use crate::wire::open::Open;

/// Default hold time in seconds (GoBGP, Cilium, AWS Direct Connect; FRR's
/// traditional profile uses 180, its datacenter profile 9).
pub const DEFAULT_HOLD_TIME: u16 = 90;
/// Hold time while waiting for the peer's OPEN (RFC 4271 §8.2.2: "a large
/// value", 4 minutes suggested).
pub const OPEN_SENT_HOLD_MS: u64 = 240_000;
/// Default ConnectRetryTime (RFC 4271 §10; FRR, BIRD, GoBGP all use 120 s).
pub const DEFAULT_CONNECT_RETRY_MS: u64 = 120_000;
/// First delay of the reconnect backoff.
pub const DEFAULT_RETRY_INITIAL_MS: u64 = 1_000;
/// A session that stayed Established this long resets the backoff.
pub const DEFAULT_STABLE_MS: u64 = 60_000;
/// Lower bound of the default send hold time (RFC 9687 §4: 8 minutes).
pub const MIN_DEFAULT_SEND_HOLD_MS: u64 = 480_000;
/// Default graceful restart time we advertise (FRR, GoBGP: 120 s).
pub const DEFAULT_RESTART_TIME: u16 = 120;
/// How long stale routes wait for End-of-RIB after the peer is back
/// (FRR's stale-path time).
pub const DEFAULT_STALE_PATH_MS: u64 = 360_000;

/// Which AS the peer must be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteAs {
    /// Exactly this AS.
    Exact(u32),
    /// Our own AS (iBGP).
    Internal,
    /// Any AS but ours (eBGP).
    External,
    /// Any AS (the session type follows from the OPEN).
    Any,
}

impl RemoteAs {
    /// Whether `asn` is acceptable when we are in `local_as`.
    pub fn accepts(self, asn: u32, local_as: u32) -> bool {
        match self {
            RemoteAs::Exact(want) => asn == want,
            RemoteAs::Internal => asn == local_as,
            RemoteAs::External => asn != local_as,
            RemoteAs::Any => true,
        }
    }
}

/// Graceful restart as we advertise it (RFC 4724, RFC 8538).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestartConfig {
    /// Restart Time we advertise, seconds (12 bits).
    pub restart_time: u16,
    /// Advertise the N bit (RFC 8538: graceful restart also after a
    /// NOTIFICATION other than Hard Reset).
    pub notification: bool,
    /// Families whose forwarding state we preserved across our own
    /// restart (advertised with the F bit).
    pub forwarding_families: Vec<Family>,
    /// Families we restart gracefully for, whose forwarding state was not
    /// preserved this time (advertised without the F bit; RFC 4724 §3).
    /// Empty, with `forwarding_families`: we are a helper only.
    pub families: Vec<Family>,
    /// We restarted (the R bit, RFC 4724 §3): the peer does not wait for
    /// our End-of-RIB before it sends us its routes. Cleared, and
    /// `families` given the F bit, once the restart is over
    /// ([`crate::fsm::Fsm::restart_complete`]).
    pub restarting: bool,
    /// How long the peer's stale routes wait for its End-of-RIB once it is
    /// back, milliseconds.
    pub stale_path_ms: u64,
}

impl GracefulRestartConfig {
    /// Our (re)start is over and our forwarding state is in place: no
    /// Restart State bit, and the Forwarding State bit for every family
    /// (it survives the loss of a session). False if nothing changed.
    pub fn complete(&mut self) -> bool {
        if !self.restarting && self.families.is_empty() {
            return false;
        }
        self.restarting = false;
        for f in std::mem::take(&mut self.families) {
            if !self.forwarding_families.contains(&f) {
                self.forwarding_families.push(f);
            }
        }
        true
    }
}

impl Default for GracefulRestartConfig {
    fn default() -> Self {
        GracefulRestartConfig {
            restart_time: DEFAULT_RESTART_TIME,
            notification: true,
            forwarding_families: Vec::new(),
            families: Vec::new(),
            restarting: false,
            stale_path_ms: DEFAULT_STALE_PATH_MS,
        }
    }
}

/// One peer's session configuration.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    pub local_as: u32,
    pub remote_as: RemoteAs,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Hold time we offer, seconds: 0 (no keepalives) or at least 3.
    pub hold_time: u16,
    /// ConnectRetryTime: how long one outgoing connection attempt may take,
    /// and the cap of the reconnect backoff, milliseconds.
    pub connect_retry_ms: u64,
    /// First reconnect delay; it doubles with every consecutive failure up
    /// to `connect_retry_ms`.
    pub retry_initial_ms: u64,
    /// An Established session that lasted this long resets the backoff.
    pub stable_ms: u64,
    /// Send hold time (RFC 9687), milliseconds; `None`: max(8 min, 2 × hold).
    pub send_hold_ms: Option<u64>,
    /// Never connect; wait for the peer.
    pub passive: bool,
    /// Restart by itself (after a backoff delay) when a session fails.
    pub automatic_restart: bool,
    /// Families offered in multiprotocol capabilities. Empty: none sent,
    /// which means IPv4 unicast only (RFC 4760 §8).
    pub families: Vec<Family>,
    pub route_refresh: bool,
    pub enhanced_route_refresh: bool,
    pub extended_message: bool,
    /// Send the 4-octet AS capability (RFC 6793). Needed when `local_as`
    /// does not fit in 16 bits.
    pub four_octet_as: bool,
    /// Extended next hop tuples offered (RFC 8950).
    pub extended_next_hop: Vec<ExtendedNextHop>,
    /// ADD-PATH tuples offered (RFC 7911).
    pub add_path: Vec<AddPathFamily>,
    /// Graceful restart capability; `None` sends none (and so cannot be a
    /// helper either).
    pub graceful_restart: Option<GracefulRestartConfig>,
    /// Our BGP role (RFC 9234), eBGP only.
    pub role: Option<Role>,
    /// Reject a peer that sends no role (RFC 9234 strict mode).
    pub strict_role: bool,
    /// Hostname and domain for the FQDN capability.
    pub fqdn: Option<(String, String)>,
    /// Codecs for families whose NLRI the `bgp` crate carries as bytes.
    pub family_codecs: Vec<FamilyCodec>,
    /// An external peer's AS paths must start with its AS (RFC 4271 §6.3):
    /// else its routes are withdrawn. On by default, as in FRR; off for a
    /// route server, which does not prepend its own AS.
    pub enforce_first_as: bool,
    /// The peer is on a link we share (single-hop eBGP, a link-local
    /// address): an IPv6 next hop with only a link-local address is usable
    /// from it. The speaker sets it from the transport (TTL 1, GTSM with one
    /// hop, or a link-local peer).
    pub direct: bool,
}

/// A configuration the FSM cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("hold time {0} s: must be 0 or at least 3 (RFC 4271 §4.2)")]
    HoldTime(u16),
    #[error("local AS 0 is reserved (RFC 7607)")]
    LocalAsZero,
    #[error("local AS {0} needs the 4-octet AS capability, which is switched off")]
    NeedsFourOctetAs(u32),
    #[error("router id 0.0.0.0 is not a valid BGP identifier")]
    RouterIdZero,
    #[error("BGP role is for eBGP sessions only (RFC 9234 §4.2)")]
    RoleOnInternal,
    #[error("graceful restart time {0} s does not fit in 12 bits (max 4095)")]
    RestartTime(u16),
    #[error(
        "connect retry {connect_retry_ms} ms must be at least the initial retry {retry_initial_ms} ms, which must not be 0"
    )]
    Retry { connect_retry_ms: u64, retry_initial_ms: u64 },
    #[error("our OPEN message cannot be encoded: {0}")]
    Open(EncodeError),
}

impl PeerConfig {
    /// A configuration with mdc's defaults: hold 90 s, connect retry 120 s
    /// with a 1 s initial backoff, IPv4 and IPv6 unicast, route refresh,
    /// enhanced route refresh, extended message, 4-octet AS, and graceful
    /// restart helper with the N bit.
    pub fn new(local_as: u32, remote_as: RemoteAs, router_id: Ipv4Addr) -> Self {
        PeerConfig {
            local_as,
            remote_as,
            router_id,
            hold_time: DEFAULT_HOLD_TIME,
            connect_retry_ms: DEFAULT_CONNECT_RETRY_MS,
            retry_initial_ms: DEFAULT_RETRY_INITIAL_MS,
            stable_ms: DEFAULT_STABLE_MS,
            send_hold_ms: None,
            passive: false,
            automatic_restart: true,
            families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            route_refresh: true,
            enhanced_route_refresh: true,
            extended_message: true,
            four_octet_as: true,
            extended_next_hop: Vec::new(),
            add_path: Vec::new(),
            graceful_restart: Some(GracefulRestartConfig::default()),
            role: None,
            strict_role: false,
            fqdn: None,
            family_codecs: Vec::new(),
            enforce_first_as: true,
            direct: false,
        }
    }

    /// Check everything the FSM relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.hold_time == 1 || self.hold_time == 2 {
            return Err(ConfigError::HoldTime(self.hold_time));
        }
        if self.local_as == 0 {
            return Err(ConfigError::LocalAsZero);
        }
        if self.local_as > u32::from(u16::MAX) && !self.four_octet_as {
            return Err(ConfigError::NeedsFourOctetAs(self.local_as));
        }
        if self.router_id.is_unspecified() {
            return Err(ConfigError::RouterIdZero);
        }
        if self.role.is_some() && self.remote_as == RemoteAs::Internal {
            return Err(ConfigError::RoleOnInternal);
        }
        if let Some(gr) = &self.graceful_restart
            && gr.restart_time > GracefulRestart::MAX_RESTART_TIME
        {
            return Err(ConfigError::RestartTime(gr.restart_time));
        }
        if self.retry_initial_ms == 0 || self.connect_retry_ms < self.retry_initial_ms {
            return Err(ConfigError::Retry {
                connect_retry_ms: self.connect_retry_ms,
                retry_initial_ms: self.retry_initial_ms,
            });
        }
        Message::Open(self.open()).encode(&SessionContext::default()).map(drop).map_err(ConfigError::Open)
    }

    /// The capabilities we advertise, in the order we send them.
    pub fn capabilities(&self) -> Vec<Capability> {
        let mut caps: Vec<Capability> = self.families.iter().map(|f| Capability::Multiprotocol(*f)).collect();
        if self.route_refresh {
            caps.push(Capability::RouteRefresh);
        }
        if self.enhanced_route_refresh {
            caps.push(Capability::EnhancedRouteRefresh);
        }
        if self.extended_message {
            caps.push(Capability::ExtendedMessage);
        }
        if self.four_octet_as {
            caps.push(Capability::FourOctetAs(self.local_as));
        }
        if !self.extended_next_hop.is_empty() {
            caps.push(Capability::ExtendedNextHop(self.extended_next_hop.clone()));
        }
        if !self.add_path.is_empty() {
            caps.push(Capability::AddPath(self.add_path.clone()));
        }
        if let Some(gr) = &self.graceful_restart {
            let mut flags = if gr.notification { GracefulRestart::NOTIFICATION } else { 0 };
            if gr.restarting {
                flags |= GracefulRestart::RESTART_STATE;
            }
            let preserved = gr.forwarding_families.iter().map(|f| GracefulRestartFamily {
                family: *f,
                flags: GracefulRestartFamily::FORWARDING_STATE,
            });
            let not_preserved = gr
                .families
                .iter()
                .filter(|f| !gr.forwarding_families.contains(f))
                .map(|f| GracefulRestartFamily { family: *f, flags: 0 });
            caps.push(Capability::GracefulRestart(GracefulRestart {
                flags,
                restart_time: gr.restart_time.min(GracefulRestart::MAX_RESTART_TIME),
                families: preserved.chain(not_preserved).collect(),
            }));
        }
        if let Some(role) = self.role {
            caps.push(Capability::Role(role));
        }
        if let Some((host, domain)) = &self.fqdn {
            caps.push(Capability::fqdn(host.clone(), domain.clone()));
        }
        caps
    }

    /// The OPEN we send.
    pub fn open(&self) -> Open {
        Open::new(self.local_as, self.hold_time, self.router_id, self.capabilities())
    }

    /// Reconnect delay after `failures` consecutive failures:
    /// `retry_initial_ms × 2^failures`, at most `connect_retry_ms`.
    pub fn retry_delay_ms(&self, failures: u32) -> u64 {
        let factor = 1u64.checked_shl(failures.min(63)).unwrap_or(u64::MAX);
        self.retry_initial_ms.saturating_mul(factor).min(self.connect_retry_ms)
    }

    /// The send hold time for a session whose hold time is `hold_time`
    /// seconds (RFC 9687 §4: at least 8 minutes, or twice the hold time).
    pub fn send_hold_ms(&self, hold_time: u16) -> u64 {
        self.send_hold_ms.unwrap_or_else(|| MIN_DEFAULT_SEND_HOLD_MS.max(2_000 * u64::from(hold_time)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PeerConfig {
        PeerConfig::new(65001, RemoteAs::External, Ipv4Addr::new(192, 0, 2, 1))
    }

    #[test]
    fn defaults_are_valid_and_offer_what_the_adr_says() {
        let c = config();
        assert_eq!(c.validate(), Ok(()));
        let open = c.open();
        assert_eq!((open.hold_time, open.my_as), (90, 65001));
        assert_eq!(open.families().collect::<Vec<_>>(), vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
        assert!(open.route_refresh() && open.enhanced_route_refresh() && open.extended_message());
        assert_eq!(open.four_octet_as(), Some(65001));
        let gr = open.graceful_restart().unwrap();
        assert_eq!((gr.restart_time, gr.notification(), gr.families.len()), (120, true, 0));
    }

    /// RFC 4724 §3: the families we restart gracefully for, with the F bit
    /// where the forwarding state was kept, the R bit after a restart; once
    /// the restart is over, no R bit and every family with F.
    #[test]
    fn the_graceful_restart_capability_says_what_a_restart_kept() {
        let mut c = config();
        c.graceful_restart = Some(GracefulRestartConfig {
            restart_time: 60,
            forwarding_families: vec![Family::IPV4_UNICAST],
            families: vec![Family::IPV6_UNICAST],
            restarting: true,
            ..Default::default()
        });
        let gr = c.open().graceful_restart().unwrap().clone();
        assert!(gr.restart_state() && gr.notification());
        assert_eq!(gr.restart_time, 60);
        let flags: Vec<(Family, u8)> = gr.families.iter().map(|f| (f.family, f.flags)).collect();
        assert_eq!(flags, vec![(Family::IPV4_UNICAST, 0x80), (Family::IPV6_UNICAST, 0)]);
        let mut done = c.graceful_restart.clone().unwrap();
        assert!(done.complete());
        assert!(!done.complete(), "once");
        c.graceful_restart = Some(done);
        let gr = c.open().graceful_restart().unwrap().clone();
        assert!(!gr.restart_state());
        let flags: Vec<(Family, u8)> = gr.families.iter().map(|f| (f.family, f.flags)).collect();
        assert_eq!(flags, vec![(Family::IPV4_UNICAST, 0x80), (Family::IPV6_UNICAST, 0x80)]);
    }

    #[test]
    fn invalid_configurations_are_refused() {
        let mut c = config();
        c.hold_time = 2;
        assert_eq!(c.validate(), Err(ConfigError::HoldTime(2)));
        let mut c = config();
        c.local_as = 4_200_000_000;
        c.four_octet_as = false;
        assert_eq!(c.validate(), Err(ConfigError::NeedsFourOctetAs(4_200_000_000)));
        let mut c = config();
        c.remote_as = RemoteAs::Internal;
        c.role = Some(Role::PEER);
        assert_eq!(c.validate(), Err(ConfigError::RoleOnInternal));
        let mut c = config();
        c.router_id = Ipv4Addr::UNSPECIFIED;
        assert_eq!(c.validate(), Err(ConfigError::RouterIdZero));
        let mut c = config();
        c.retry_initial_ms = 0;
        assert!(matches!(c.validate(), Err(ConfigError::Retry { .. })));
        let mut c = config();
        c.graceful_restart = Some(GracefulRestartConfig { restart_time: 5000, ..Default::default() });
        assert_eq!(c.validate(), Err(ConfigError::RestartTime(5000)));
        let mut c = config();
        c.hold_time = 0;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn retry_delay_doubles_and_saturates() {
        let c = config();
        let d: Vec<u64> = (0..9).map(|n| c.retry_delay_ms(n)).collect();
        assert_eq!(d, vec![1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 120_000, 120_000]);
        assert_eq!(c.retry_delay_ms(u32::MAX), 120_000);
    }

    #[test]
    fn send_hold_time_is_at_least_eight_minutes_or_twice_the_hold_time() {
        let mut c = config();
        assert_eq!(c.send_hold_ms(90), 480_000);
        assert_eq!(c.send_hold_ms(0), 480_000);
        assert_eq!(c.send_hold_ms(600), 1_200_000);
        c.send_hold_ms = Some(30_000);
        assert_eq!(c.send_hold_ms(90), 30_000);
    }
}

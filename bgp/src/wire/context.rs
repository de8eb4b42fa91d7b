//! What a session negotiated, as far as the wire format depends on it.
//!
//! Every decoder and encoder whose output depends on capabilities takes a
//! [`SessionContext`] explicitly. A session keeps two: one for what it
//! receives and one for what it sends (ADD-PATH is negotiated per direction).

use std::net::IpAddr;

use crate::wire::error::DecodeError;
use crate::wire::family::{Afi, Family};

/// Largest message without the extended message capability (RFC 4271).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest message with the extended message capability (RFC 8654).
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// Checks the body of one NLRI of a family the `bgp` crate does not model
/// (e.g. EVPN). Called with the NLRI bytes after the path identifier; the
/// offset is that of the NLRI within the message. An error makes the UPDATE
/// an NLRI error under RFC 7606 §5.3. See docs/adr/0002.
pub type NlriCheck = fn(family: Family, nlri: &[u8], offset: usize) -> Result<(), DecodeError>;

/// Splits the NLRI field of a typed-NLRI family into single NLRI: returns
/// the length of the first one (RFC 7606 §5.4 framing), or an error.
pub type NlriSplit = fn(family: Family, nlri: &[u8], offset: usize) -> Result<usize, DecodeError>;

/// The bytes under which the RIB stores one (checked) NLRI: equal for two
/// NLRI exactly when one replaces the other (e.g. EVPN's route key, RFC
/// 7432 §7, without labels and ESI). `None`: not a valid NLRI.
pub type NlriKey = fn(family: Family, nlri: &[u8]) -> Option<Vec<u8>>;

/// A plug-in for one address family whose NLRI `bgp` carries as bytes.
#[derive(Debug, Clone, Copy)]
pub struct FamilyCodec {
    pub family: Family,
    /// Length of the first NLRI in the slice (framing only).
    pub split: NlriSplit,
    /// Full syntax check of one NLRI.
    pub check: NlriCheck,
    /// The RIB key of one NLRI; `None`: the whole NLRI is the key.
    pub key: Option<NlriKey>,
}

#[derive(Debug, Clone, Default)]
pub struct SessionContext {
    /// Both sides sent the 4-octet AS capability (RFC 6793): AS_PATH and
    /// AGGREGATOR carry 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Both sides sent the extended message capability (RFC 8654).
    pub extended_message: bool,
    /// Families whose NLRI carry a 4-byte path identifier in this
    /// direction (RFC 7911).
    pub add_path: Vec<Family>,
    /// Families for which a next hop of another AFI was negotiated
    /// (RFC 8950), as (NLRI family, next-hop AFI).
    pub extended_next_hop: Vec<(Family, Afi)>,
    /// Codecs for families whose NLRI `bgp` does not parse itself.
    pub family_codecs: Vec<FamilyCodec>,
    /// Who sends what this context decodes, for the checks that depend on
    /// the peer. `None` (a decoder without a session, e.g. reading a
    /// capture): syntax only, every UPDATE is taken as it came.
    pub sender: Option<Sender>,
}

/// The peer an UPDATE comes from, as far as RFC 7606's action table and the
/// semantic checks of RFC 4271 §6.3 and RFC 5065 §5 depend on it. Set in a
/// session's receive context when it is established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// An external (eBGP) peer: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST
    /// are discarded (RFC 7606 §7.5, §7.9, §7.10), and an AS path with a
    /// confederation segment withdraws its routes (RFC 5065 §5: mdc is
    /// never a confederation member).
    pub external: bool,
    /// The peer's AS, as its OPEN gave it.
    pub peer_as: u32,
    /// An external peer's AS path must start with `peer_as` (RFC 4271
    /// §6.3; FRR's `enforce-first-as`): else, or when it is empty, its
    /// routes are withdrawn. Off for a route server, which does not
    /// prepend its AS (RFC 7947 §2.2.2.1).
    pub enforce_first_as: bool,
    /// Our end of the session: a next hop equal to it is not usable
    /// (RFC 4271 §6.3).
    pub local_address: Option<IpAddr>,
    /// The peer shares a link with us (single-hop eBGP, or a link-local
    /// peer address): an IPv6 next hop with only a link-local address is
    /// usable. From any other peer it needs a global one (RFC 2545 §3).
    pub direct: bool,
}

impl SessionContext {
    /// The context of a session that negotiated 4-octet AS and nothing else,
    /// which is what every modern peer sends.
    pub fn modern() -> Self {
        SessionContext { four_octet_as: true, ..Default::default() }
    }

    /// The largest message this session may carry (OPEN and KEEPALIVE are
    /// always limited to 4096, RFC 8654 §3).
    pub fn max_message_len(&self) -> usize {
        if self.extended_message { MAX_EXTENDED_MESSAGE_LEN } else { MAX_MESSAGE_LEN }
    }

    #[inline]
    pub fn add_path(&self, family: Family) -> bool {
        self.add_path.contains(&family)
    }

    pub fn with_add_path(mut self, family: Family) -> Self {
        if !self.add_path.contains(&family) {
            self.add_path.push(family);
        }
        self
    }

    pub fn with_family_codec(mut self, codec: FamilyCodec) -> Self {
        self.family_codecs.retain(|c| c.family != codec.family);
        self.family_codecs.push(codec);
        self
    }

    /// A receive context for UPDATEs from `sender` (the peer-dependent checks).
    pub fn with_sender(mut self, sender: Sender) -> Self {
        self.sender = Some(sender);
        self
    }

    pub fn family_codec(&self, family: Family) -> Option<&FamilyCodec> {
        self.family_codecs.iter().find(|c| c.family == family)
    }
}

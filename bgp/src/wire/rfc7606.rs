//! Revised error handling for UPDATE messages (RFC 7606).
//!
//! Every malformation maps to one [`Action`]; when several apply, the
//! strongest wins (§3 e). Which attribute gets which action:
//!
//! | attribute | malformed → |
//! | --- | --- |
//! | ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF (§7.1-7.5) | treat-as-withdraw |
//! | ATOMIC_AGGREGATE, AGGREGATOR (§7.6, §7.7) | attribute discard |
//! | COMMUNITIES, ORIGINATOR_ID, CLUSTER_LIST, EXTENDED COMMUNITIES (§7.8-7.10, §7.14) | treat-as-withdraw |
//! | IPv6 extended communities, LARGE_COMMUNITY, OTC, PMSI_TUNNEL, TUNNEL_ENCAPSULATION | treat-as-withdraw |
//! | AS4_PATH, AS4_AGGREGATOR (RFC 6793 §6) | attribute discard |
//! | AS 0 in AS_PATH (RFC 7607) | treat-as-withdraw |
//! | AS 0 in AS4_PATH, AGGREGATOR, AS4_AGGREGATOR (RFC 7607) | attribute discard |
//! | MP_REACH_NLRI / MP_UNREACH_NLRI whose AFI/SAFI can be read (§7.11, §5.3) | AFI/SAFI disable |
//! | MP_REACH_NLRI / MP_UNREACH_NLRI too short to name a family, or repeated (§3 g) | session reset |
//! | unrecognised well-known attribute (RFC 4271 §6.3) | session reset |
//! | attribute list overrun (§4) | treat-as-withdraw |
//! | withdrawn/attribute length fields overrun the message, bad NLRI field (§3 f, §5.3) | session reset |
//! | missing ORIGIN, AS_PATH, or NEXT_HOP for classic NLRI (§3 d) | treat-as-withdraw |
//! | any other attribute repeated (§3 g) | later copies discarded |
//!
//! What depends on the peer (LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST
//! from an external peer: attribute discard, well-formed or not;
//! confederation segments, enforce-first-as, unusable next hops:
//! treat-as-withdraw) is in [`crate::wire::semantic`], run by the same
//! decoder when the session context names the sender.

use std::fmt;

use crate::wire::attr::code;
use crate::wire::error::DecodeError;
use crate::wire::family::Family;

/// What a malformation costs, weakest first (the derived order is the
/// strength order of RFC 7606 §3 e).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Drop the attribute, use the rest of the UPDATE.
    AttributeDiscard,
    /// Withdraw every route the UPDATE carries.
    TreatAsWithdraw,
    /// Drop every route of the family and ignore it for the session.
    AfiSafiDisable,
    /// Send a NOTIFICATION and close the session.
    SessionReset,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::AttributeDiscard => "attribute discard",
            Action::TreatAsWithdraw => "treat-as-withdraw",
            Action::AfiSafiDisable => "AFI/SAFI disable",
            Action::SessionReset => "session reset",
        })
    }
}

/// The action for a malformed attribute of a recognised type (never the
/// MP attributes: their action depends on whether the family is readable).
pub fn malformed_attribute_action(type_code: u8) -> Action {
    match type_code {
        code::ATOMIC_AGGREGATE | code::AGGREGATOR | code::AS4_PATH | code::AS4_AGGREGATOR => {
            Action::AttributeDiscard
        }
        code::MP_REACH_NLRI | code::MP_UNREACH_NLRI => Action::AfiSafiDisable,
        _ => Action::TreatAsWithdraw,
    }
}

/// One error found in an UPDATE: what it cost and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub action: Action,
    /// The attribute type code, if an attribute was at fault.
    pub attribute: Option<u8>,
    /// The family, for AFI/SAFI disable.
    pub family: Option<Family>,
    /// The UPDATE error subcode RFC 4271 gives this error.
    pub subcode: u8,
    pub error: DecodeError,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.action, self.error)?;
        if let Some(a) = self.attribute {
            write!(f, " (attribute {a})")?;
        }
        if let Some(fam) = self.family {
            write!(f, " ({fam})")?;
        }
        Ok(())
    }
}

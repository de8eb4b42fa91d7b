//! OPEN message (RFC 4271 §4.2) with RFC 9072 extended optional parameters
//! length.
//!
//! This module owns the structure of an OPEN: its fixed fields and the
//! optional parameters, kept grouped exactly as the peer sent them (FRR puts
//! each capability in its own parameter, BIRD and GoBGP put all of them in
//! one), so that a decoded OPEN re-encodes byte for byte. Capabilities
//! themselves live in [`crate::wire::capability`]. Negotiation (what two OPENs
//! agree on) is not done here.
//!
//! Decoding is structural only; [`Open::validate`] applies the RFC 4271
//! §6.2 checks a receiver must make before accepting the OPEN.

use std::net::Ipv4Addr;

use crate::wire::capability::{
    AddPathFamily, Capability, ExtendedNextHop, GracefulRestart, LlgrFamily, Role,
};
use crate::wire::error::{DecodeError, EncodeError, ErrorKind, MessageError};
use crate::wire::family::Family;
use crate::wire::message::HEADER_LEN;
use crate::wire::notification::{Notification, code, header_subcode, open_subcode};
use crate::wire::reader::Reader;

/// The BGP version mdc speaks.
pub const BGP_VERSION: u8 = 4;
/// AS_TRANS (RFC 6793): the 2-octet "My AS" of a speaker whose AS does not
/// fit in 16 bits.
pub const AS_TRANS: u16 = 23456;
/// Optional parameter type of capabilities (RFC 5492).
pub const PARAM_CAPABILITIES: u8 = 2;
/// Non-Ext OP Type marking the RFC 9072 encoding.
pub const PARAM_EXTENDED_LENGTH: u8 = 255;
/// Length of the fixed part of the OPEN body (version to Opt Parm Len).
pub const FIXED_LEN: usize = 10;

/// One optional parameter.
///
/// ```text
///  0                   1
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Parm. Type   | Parm. Length  |  Parameter Value (variable)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// With RFC 9072 the Parameter Length is two octets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OptionalParameter {
    /// Type 2: a list of capabilities (possibly empty).
    Capabilities(Vec<Capability>),
    /// Any other type (including the deprecated authentication, type 1).
    Unknown { param_type: u8, value: Vec<u8> },
}

impl OptionalParameter {
    pub fn param_type(&self) -> u8 {
        match self {
            OptionalParameter::Capabilities(_) => PARAM_CAPABILITIES,
            OptionalParameter::Unknown { param_type, .. } => *param_type,
        }
    }

    /// Length of the parameter value.
    pub fn value_len(&self) -> usize {
        match self {
            OptionalParameter::Capabilities(caps) => caps.iter().map(Capability::encoded_len).sum(),
            OptionalParameter::Unknown { value, .. } => value.len(),
        }
    }

    fn encode_value(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            OptionalParameter::Capabilities(caps) => Capability::encode_list(caps, out),
            OptionalParameter::Unknown { value, .. } => {
                out.extend_from_slice(value);
                Ok(())
            }
        }
    }
}

/// An OPEN message.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+
/// |    Version    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     My Autonomous System      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Hold Time           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         BGP Identifier                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Opt Parm Len  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             Optional Parameters (variable)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// RFC 9072 extended form (`extended_params`): Opt Parm Len is 255, then
/// Non-Ext OP Type 255, a 2-octet Extended Opt. Parm. Length, and
/// parameters with 2-octet lengths:
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Non-Ext OP Len.|Non-Ext OP Type|  Extended Opt. Parm. Length   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Parm. Type  |        Parm. Length           | Value ...     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Open {
    pub version: u8,
    /// The 2-octet My Autonomous System field (AS_TRANS for a 4-octet AS).
    pub my_as: u16,
    pub hold_time: u16,
    pub bgp_id: Ipv4Addr,
    pub params: Vec<OptionalParameter>,
    /// Use the RFC 9072 encoding of the optional parameters.
    pub extended_params: bool,
}

fn open_error(subcode: u8, error: DecodeError) -> MessageError {
    MessageError::new(code::OPEN_MESSAGE, subcode, Vec::new(), error)
}

impl Open {
    /// An OPEN for AS `asn` carrying `caps` in one Capabilities parameter.
    /// Puts AS_TRANS in My AS when `asn` does not fit in 16 bits (the caller
    /// includes [`Capability::FourOctetAs`]); uses the RFC 9072 encoding
    /// only if the parameters do not fit in 255 bytes.
    pub fn new(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, caps: Vec<Capability>) -> Open {
        let my_as = u16::try_from(asn).unwrap_or(AS_TRANS);
        let params = if caps.is_empty() { Vec::new() } else { vec![OptionalParameter::Capabilities(caps)] };
        let extended_params = !Open::fits_non_extended(&params);
        Open { version: BGP_VERSION, my_as, hold_time, bgp_id, params, extended_params }
    }

    /// Whether `params` can be encoded without RFC 9072 (every value at most
    /// 255 bytes, all of them at most 255 bytes with their headers, and the
    /// first parameter not of type 255, which would read as the marker).
    pub fn fits_non_extended(params: &[OptionalParameter]) -> bool {
        let mut total = 0usize;
        for p in params {
            let len = p.value_len();
            if len > 255 {
                return false;
            }
            total += 2 + len;
        }
        total <= 255 && params.first().is_none_or(|p| p.param_type() != PARAM_EXTENDED_LENGTH)
    }

    /// Decode the body of an OPEN (after the 19-byte header, which starts
    /// at `base - 19`). Structural checks only; see [`Open::validate`].
    pub fn decode_body(body: &[u8], base: usize) -> Result<Open, MessageError> {
        let mut r = Reader::at(body, base);
        if body.len() < FIXED_LEN {
            // decode_header enforces this for whole messages.
            let len = body.len() + HEADER_LEN;
            return Err(MessageError::new(
                code::MESSAGE_HEADER,
                header_subcode::BAD_MESSAGE_LENGTH,
                u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes().to_vec(),
                r.error("OPEN message", ErrorKind::BadLength { length: len }),
            ));
        }
        let fixed = |e| open_error(open_subcode::UNSPECIFIC, e);
        let version = r.u8("OPEN version").map_err(fixed)?;
        let my_as = r.u16("OPEN my AS").map_err(fixed)?;
        let hold_time = r.u16("OPEN hold time").map_err(fixed)?;
        let bgp_id = r.ipv4("OPEN BGP identifier").map_err(fixed)?;
        Open::decode_params(&mut r)
            .map(|(params, extended_params)| Open {
                version,
                my_as,
                hold_time,
                bgp_id,
                params,
                extended_params,
            })
            .map_err(|e| open_error(open_subcode::UNSPECIFIC, e))
    }

    /// Decode Opt Parm Len and the parameters; `r` must end with them.
    fn decode_params(r: &mut Reader<'_>) -> Result<(Vec<OptionalParameter>, bool), DecodeError> {
        let len_offset = r.offset();
        let non_ext_len = r.u8("optional parameters length")?;
        let extended = non_ext_len != 0 && r.peek_rest().first() == Some(&PARAM_EXTENDED_LENGTH);
        let params_len = if extended {
            if non_ext_len != 255 {
                // RFC 9072 §2: the sender MUST set it to 255.
                return Err(DecodeError::new(
                    len_offset,
                    "optional parameters length",
                    ErrorKind::Invalid("extended optional parameters without length 255"),
                ));
            }
            r.u8("non-ext optional parameter type")?;
            usize::from(r.u16("extended optional parameters length")?)
        } else {
            usize::from(non_ext_len)
        };
        let field_offset = r.offset();
        if params_len != r.remaining() {
            return Err(DecodeError::new(
                field_offset,
                "optional parameters",
                if params_len > r.remaining() {
                    ErrorKind::Truncated { needed: params_len, available: r.remaining() }
                } else {
                    ErrorKind::TrailingBytes { count: r.remaining() - params_len }
                },
            ));
        }
        let mut params = Vec::new();
        while !r.is_empty() {
            let param_type = r.u8("optional parameter type")?;
            let len = if extended {
                usize::from(r.u16("optional parameter length")?)
            } else {
                usize::from(r.u8("optional parameter length")?)
            };
            let mut value = r.sub(len, "optional parameter value")?;
            params.push(if param_type == PARAM_CAPABILITIES {
                OptionalParameter::Capabilities(Capability::decode_list(&mut value)?)
            } else {
                OptionalParameter::Unknown { param_type, value: value.rest().to_vec() }
            });
        }
        Ok((params, extended))
    }

    /// Append the body (without header).
    pub fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(self.version);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        let total: usize =
            self.params.iter().map(|p| p.value_len() + if self.extended_params { 3 } else { 2 }).sum();
        if self.extended_params {
            let total16 = u16::try_from(total).map_err(|_| EncodeError::TooLong {
                field: "optional parameters",
                length: total,
                max: usize::from(u16::MAX),
            })?;
            out.push(255);
            out.push(PARAM_EXTENDED_LENGTH);
            out.extend_from_slice(&total16.to_be_bytes());
        } else {
            let total8 = u8::try_from(total).map_err(|_| EncodeError::TooLong {
                field: "optional parameters",
                length: total,
                max: 255,
            })?;
            if total8 != 0
                && self.params.first().map(OptionalParameter::param_type) == Some(PARAM_EXTENDED_LENGTH)
            {
                return Err(EncodeError::Unrepresentable {
                    field: "optional parameter type",
                    why: "a first parameter of type 255 reads as the RFC 9072 marker",
                });
            }
            out.push(total8);
        }
        for p in &self.params {
            let len = p.value_len();
            out.push(p.param_type());
            if self.extended_params {
                let len16 = u16::try_from(len).map_err(|_| EncodeError::TooLong {
                    field: "optional parameter value",
                    length: len,
                    max: usize::from(u16::MAX),
                })?;
                out.extend_from_slice(&len16.to_be_bytes());
            } else {
                let len8 = u8::try_from(len).map_err(|_| EncodeError::TooLong {
                    field: "optional parameter value",
                    length: len,
                    max: 255,
                })?;
                out.push(len8);
            }
            p.encode_value(out)?;
        }
        Ok(())
    }

    /// The semantic checks of RFC 4271 §6.2 (and RFC 7607, RFC 9234): the
    /// NOTIFICATION to send if the OPEN is not acceptable. Checks that
    /// depend on configuration (peer AS, local role, hold time policy,
    /// BGP identifier collision) are the session's.
    pub fn validate(&self) -> Result<(), Notification> {
        if self.version != BGP_VERSION {
            return Err(Notification::new(
                code::OPEN_MESSAGE,
                open_subcode::UNSUPPORTED_VERSION,
                u16::from(BGP_VERSION).to_be_bytes().to_vec(),
            ));
        }
        // RFC 7607: AS 0 in My AS or in the 4-octet AS capability.
        if self.my_as == 0 || self.four_octet_as() == Some(0) {
            return Err(Notification::new(code::OPEN_MESSAGE, open_subcode::BAD_PEER_AS, Vec::new()));
        }
        if self.hold_time == 1 || self.hold_time == 2 {
            return Err(Notification::new(
                code::OPEN_MESSAGE,
                open_subcode::UNACCEPTABLE_HOLD_TIME,
                Vec::new(),
            ));
        }
        if self.bgp_id.is_unspecified() {
            return Err(Notification::new(code::OPEN_MESSAGE, open_subcode::BAD_BGP_IDENTIFIER, Vec::new()));
        }
        if self.params.iter().any(|p| matches!(p, OptionalParameter::Unknown { .. })) {
            return Err(Notification::new(
                code::OPEN_MESSAGE,
                open_subcode::UNSUPPORTED_OPTIONAL_PARAMETER,
                Vec::new(),
            ));
        }
        // RFC 9234 §4.2: several role capabilities with different values.
        let mut roles = self.capabilities().filter_map(|c| match c {
            Capability::Role(r) => Some(*r),
            _ => None,
        });
        let first = roles.next();
        if roles.any(|r| Some(r) != first) {
            return Err(Notification::new(code::OPEN_MESSAGE, open_subcode::ROLE_MISMATCH, Vec::new()));
        }
        Ok(())
    }

    /// Every capability, in order, across all Capabilities parameters.
    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.params.iter().flat_map(|p| match p {
            OptionalParameter::Capabilities(caps) => caps.as_slice(),
            OptionalParameter::Unknown { .. } => &[],
        })
    }

    /// Whether a capability with this code was sent.
    pub fn has_capability(&self, code: u8) -> bool {
        self.capabilities().any(|c| c.code() == code)
    }

    /// The AS in the 4-octet AS capability (the first, if repeated).
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities().find_map(|c| match c {
            Capability::FourOctetAs(asn) => Some(*asn),
            _ => None,
        })
    }

    /// The speaker's AS: the 4-octet AS capability if present, else My AS.
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or_else(|| u32::from(self.my_as))
    }

    /// Families of the multiprotocol capabilities, in order (duplicates kept).
    pub fn families(&self) -> impl Iterator<Item = Family> + '_ {
        self.capabilities().filter_map(|c| match c {
            Capability::Multiprotocol(f) => Some(*f),
            _ => None,
        })
    }

    /// ADD-PATH tuples of every ADD-PATH capability.
    pub fn add_path(&self) -> impl Iterator<Item = &AddPathFamily> {
        self.capabilities().flat_map(|c| match c {
            Capability::AddPath(t) => t.as_slice(),
            _ => &[],
        })
    }

    /// Extended next hop tuples of every extended next hop capability.
    pub fn extended_next_hop(&self) -> impl Iterator<Item = &ExtendedNextHop> {
        self.capabilities().flat_map(|c| match c {
            Capability::ExtendedNextHop(t) => t.as_slice(),
            _ => &[],
        })
    }

    /// The graceful restart capability (the first, if repeated).
    pub fn graceful_restart(&self) -> Option<&GracefulRestart> {
        self.capabilities().find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr),
            _ => None,
        })
    }

    /// Long-lived GR tuples of every LLGR capability.
    pub fn long_lived_graceful_restart(&self) -> impl Iterator<Item = &LlgrFamily> {
        self.capabilities().flat_map(|c| match c {
            Capability::LongLivedGracefulRestart(t) => t.as_slice(),
            _ => &[],
        })
    }

    /// Route refresh (RFC 2918, code 2; the pre-standard code 128 counts too).
    pub fn route_refresh(&self) -> bool {
        self.capabilities().any(|c| {
            matches!(c, Capability::RouteRefresh)
                || c.code() == crate::wire::capability::code::ROUTE_REFRESH_CISCO
        })
    }

    pub fn enhanced_route_refresh(&self) -> bool {
        self.capabilities().any(|c| matches!(c, Capability::EnhancedRouteRefresh))
    }

    pub fn extended_message(&self) -> bool {
        self.capabilities().any(|c| matches!(c, Capability::ExtendedMessage))
    }

    /// The BGP role (the first, if repeated; see [`Open::validate`]).
    pub fn role(&self) -> Option<Role> {
        self.capabilities().find_map(|c| match c {
            Capability::Role(r) => Some(*r),
            _ => None,
        })
    }

    /// Hostname and domain name of the FQDN capability.
    pub fn fqdn(&self) -> Option<(&str, &str)> {
        self.capabilities().find_map(|c| match c {
            Capability::Fqdn { hostname, domain } => Some((hostname.as_str(), domain.as_str())),
            _ => None,
        })
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use crate::wire::capability::strategies::capability;
    use proptest::prelude::*;

    pub fn param() -> impl Strategy<Value = OptionalParameter> {
        prop_oneof![
            4 => prop::collection::vec(capability(), 0..4).prop_map(OptionalParameter::Capabilities),
            1 => (
                any::<u8>().prop_filter("typed or marker", |t| *t != PARAM_CAPABILITIES
                    && *t != PARAM_EXTENDED_LENGTH),
                prop::collection::vec(any::<u8>(), 0..20)
            )
                .prop_map(|(param_type, value)| OptionalParameter::Unknown { param_type, value }),
        ]
    }

    /// An OPEN that encodes: the RFC 9072 form is used when needed and
    /// otherwise at random.
    pub fn open() -> impl Strategy<Value = Open> {
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            prop::collection::vec(param(), 0..6),
            any::<bool>(),
        )
            .prop_map(|(version, my_as, hold_time, id, params, ext)| {
                let extended_params = ext || !Open::fits_non_extended(&params);
                Open { version, my_as, hold_time, bgp_id: Ipv4Addr::from(id), params, extended_params }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::capability::{AddPathMode, GracefulRestartFamily};
    use crate::wire::context::SessionContext;
    use crate::wire::message::Message;
    use proptest::prelude::*;

    /// A whole OPEN message with `body`.
    fn message(body: &[u8]) -> Vec<u8> {
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&((body.len() + 19) as u16).to_be_bytes());
        m.push(1);
        m.extend_from_slice(body);
        m
    }

    fn decode(body: &[u8]) -> Result<Open, MessageError> {
        match Message::decode(&message(body), &SessionContext::default())? {
            Message::Open(o) => Ok(o),
            other => panic!("not an OPEN: {other:?}"),
        }
    }

    fn encode(open: &Open) -> Vec<u8> {
        let mut msgs = Message::Open(open.clone()).encode(&SessionContext::default()).unwrap();
        assert_eq!(msgs.len(), 1);
        msgs.remove(0)
    }

    fn fixed(my_as: u16, hold: u16, id: [u8; 4]) -> Vec<u8> {
        let mut b = vec![4];
        b.extend_from_slice(&my_as.to_be_bytes());
        b.extend_from_slice(&hold.to_be_bytes());
        b.extend_from_slice(&id);
        b
    }

    /// FRR style: each capability in its own parameter.
    fn frr_body() -> Vec<u8> {
        let mut b = fixed(65001, 180, [10, 0, 0, 1]);
        let params: &[&[u8]] = &[
            &[2, 6, 1, 4, 0, 1, 0, 1],                    // MP ipv4 unicast
            &[2, 2, 128, 0],                              // Cisco route refresh
            &[2, 2, 2, 0],                                // route refresh
            &[2, 2, 70, 0],                               // enhanced route refresh
            &[2, 6, 65, 4, 0, 0, 0xfd, 0xe9],             // 4-octet AS 65001
            &[2, 6, 69, 4, 0, 1, 1, 1],                   // ADD-PATH ipv4 receive
            &[2, 8, 73, 6, 2, b'r', b'1', 2, b'd', b'c'], // FQDN
            &[2, 4, 64, 2, 0x40, 120],                    // GR, N bit, 120 s
            &[2, 2, 71, 0],                               // LLGR empty
        ];
        let len: usize = params.iter().map(|p| p.len()).sum();
        b.push(len as u8);
        for p in params {
            b.extend_from_slice(p);
        }
        b
    }

    #[test]
    fn frr_style_open() {
        let body = frr_body();
        let open = decode(&body).unwrap();
        assert_eq!(open.version, 4);
        assert_eq!(open.my_as, 65001);
        assert_eq!(open.hold_time, 180);
        assert_eq!(open.bgp_id, Ipv4Addr::new(10, 0, 0, 1));
        assert!(!open.extended_params);
        assert_eq!(open.params.len(), 9);
        assert_eq!(open.asn(), 65001);
        assert_eq!(open.four_octet_as(), Some(65001));
        assert_eq!(open.families().collect::<Vec<_>>(), vec![Family::IPV4_UNICAST]);
        assert!(open.route_refresh());
        assert!(open.enhanced_route_refresh());
        assert!(!open.extended_message());
        assert_eq!(open.fqdn(), Some(("r1", "dc")));
        let ap: Vec<_> = open.add_path().collect();
        assert_eq!(ap.len(), 1);
        assert_eq!(ap[0].mode, AddPathMode::RECEIVE);
        let gr = open.graceful_restart().unwrap();
        assert!(gr.notification());
        assert_eq!(gr.restart_time, 120);
        assert_eq!(open.long_lived_graceful_restart().count(), 0);
        assert_eq!(open.validate(), Ok(()));
        // Byte-exact re-encoding keeps the grouping.
        assert_eq!(encode(&open), message(&body));
    }

    #[test]
    fn one_parameter_style_open() {
        // BIRD / GoBGP style: all capabilities in one parameter.
        let mut body = fixed(23456, 90, [192, 0, 2, 1]);
        let caps = [
            1, 4, 0, 2, 0, 1, // MP ipv6 unicast
            2, 0, // route refresh
            6, 0, // extended message
            65, 4, 0xfa, 0x56, 0xea, 0x00, // AS 4200000000
        ];
        body.push(2 + caps.len() as u8);
        body.push(2);
        body.push(caps.len() as u8);
        body.extend_from_slice(&caps);
        let open = decode(&body).unwrap();
        assert_eq!(open.params.len(), 1);
        assert_eq!(open.asn(), 4_200_000_000);
        assert!(open.extended_message());
        assert_eq!(encode(&open), message(&body));
        // The constructor builds the same message.
        let built = Open::new(
            4_200_000_000,
            90,
            Ipv4Addr::new(192, 0, 2, 1),
            vec![
                Capability::Multiprotocol(Family::IPV6_UNICAST),
                Capability::RouteRefresh,
                Capability::ExtendedMessage,
                Capability::FourOctetAs(4_200_000_000),
            ],
        );
        assert_eq!(built, open);
    }

    #[test]
    fn no_optional_parameters() {
        let mut body = fixed(100, 0, [1, 1, 1, 1]);
        body.push(0);
        let open = decode(&body).unwrap();
        assert!(open.params.is_empty());
        assert_eq!(open.asn(), 100);
        assert_eq!(open.four_octet_as(), None);
        assert_eq!(Open::new(100, 0, Ipv4Addr::new(1, 1, 1, 1), vec![]), open);
        assert_eq!(encode(&open), message(&body));
    }

    fn big_caps() -> Vec<Capability> {
        // 40 GR families: 2 + 2 + 160 bytes; plus 20 MP caps: 120 bytes.
        let gr = Capability::GracefulRestart(GracefulRestart {
            flags: 0,
            restart_time: 120,
            families: (0..40)
                .map(|i| GracefulRestartFamily {
                    family: Family::new(crate::wire::family::Afi(i), crate::wire::family::Safi(1)),
                    flags: 0,
                })
                .collect(),
        });
        let mut caps = vec![gr];
        caps.extend((0..20).map(|i| {
            Capability::Multiprotocol(Family::new(
                crate::wire::family::Afi(100 + i),
                crate::wire::family::Safi(1),
            ))
        }));
        caps
    }

    #[test]
    fn extended_parameters_rfc9072() {
        let caps = big_caps();
        let open = Open::new(65000, 9, Ipv4Addr::new(10, 1, 1, 1), caps.clone());
        assert!(open.extended_params);
        let bytes = encode(&open);
        let cap_len: usize = caps.iter().map(Capability::encoded_len).sum();
        assert_eq!(cap_len, 284);
        // Non-Ext OP Len 255, Non-Ext OP Type 255, Ext length = 3 + 284.
        assert_eq!(&bytes[28..32], &[255, 255, 0x01, 0x1f]);
        // Parameter: type 2, 2-octet length 284.
        assert_eq!(&bytes[32..35], &[2, 0x01, 0x1c]);
        assert_eq!(bytes.len(), 19 + 10 + 3 + 3 + 284);
        let back = decode(&bytes[19..]).unwrap();
        assert_eq!(back, open);
        assert_eq!(back.families().count(), 20);
    }

    #[test]
    fn extended_parameters_small_kept() {
        // A peer may use the extended form even when not needed.
        let mut body = fixed(65000, 90, [10, 0, 0, 2]);
        body.extend_from_slice(&[255, 255, 0, 5, 2, 0, 2, 2, 0]);
        let open = decode(&body).unwrap();
        assert!(open.extended_params);
        assert_eq!(open.params, vec![OptionalParameter::Capabilities(vec![Capability::RouteRefresh])]);
        assert_eq!(encode(&open), message(&body));
        // Empty extended parameters.
        let mut body = fixed(65000, 90, [10, 0, 0, 2]);
        body.extend_from_slice(&[255, 255, 0, 0]);
        let open = decode(&body).unwrap();
        assert!(open.extended_params && open.params.is_empty());
        assert_eq!(encode(&open), message(&body));
    }

    #[test]
    fn extended_marker_needs_length_255() {
        let mut body = fixed(65000, 90, [10, 0, 0, 2]);
        body.extend_from_slice(&[8, 255, 0, 5, 2, 0, 2, 2, 0]);
        let err = decode(&body).unwrap_err();
        assert_eq!(err.notification.code, 2);
        assert_eq!(err.notification.subcode, 0);
        assert_eq!(err.error.offset, 28);
        assert_eq!(err.error.field, "optional parameters length");
    }

    #[test]
    fn unknown_parameter_kept_and_rejected_by_validate() {
        let mut body = fixed(65000, 90, [10, 0, 0, 2]);
        body.extend_from_slice(&[7, 1, 3, 9, 9, 9, 2, 0]);
        let open = decode(&body).unwrap();
        assert_eq!(
            open.params,
            vec![
                OptionalParameter::Unknown { param_type: 1, value: vec![9, 9, 9] },
                OptionalParameter::Capabilities(vec![]),
            ]
        );
        assert_eq!(encode(&open), message(&body));
        let n = open.validate().unwrap_err();
        assert_eq!((n.code, n.subcode), (2, 4));
    }

    #[test]
    fn unknown_capability_kept() {
        let mut body = fixed(65000, 90, [10, 0, 0, 2]);
        body.extend_from_slice(&[7, 2, 5, 200, 3, 1, 2, 3]);
        let open = decode(&body).unwrap();
        assert_eq!(
            open.capabilities().collect::<Vec<_>>(),
            vec![&Capability::Unknown { code: 200, value: vec![1, 2, 3] }]
        );
        assert_eq!(open.validate(), Ok(()));
        assert_eq!(encode(&open), message(&body));
    }

    fn assert_open_error(body: &[u8], subcode: u8, offset: usize, field: &str) {
        let err = decode(body).unwrap_err();
        assert_eq!((err.notification.code, err.notification.subcode), (2, subcode), "{err}");
        assert_eq!(err.error.offset, offset, "{err}");
        assert_eq!(err.error.field, field, "{err}");
    }

    #[test]
    fn malformed_parameters() {
        let base = fixed(65000, 90, [10, 0, 0, 2]);
        // Opt Parm Len larger than the rest of the message.
        let mut b = base.clone();
        b.extend_from_slice(&[5, 2, 2, 2, 0]);
        assert_open_error(&b, 0, 29, "optional parameters");
        // Trailing bytes after the parameters.
        let mut b = base.clone();
        b.extend_from_slice(&[2, 2, 0, 9]);
        assert_open_error(&b, 0, 29, "optional parameters");
        // Parameter length past the parameters.
        let mut b = base.clone();
        b.extend_from_slice(&[3, 2, 4, 2]);
        assert_open_error(&b, 0, 31, "optional parameter value");
        // Parameter header cut short.
        let mut b = base.clone();
        b.extend_from_slice(&[1, 2]);
        assert_open_error(&b, 0, 30, "optional parameter length");
        // Capability length past its parameter.
        let mut b = base.clone();
        b.extend_from_slice(&[4, 2, 2, 65, 4]);
        assert_open_error(&b, 0, 33, "capability value");
        // Capability header cut short inside its parameter.
        let mut b = base.clone();
        b.extend_from_slice(&[3, 2, 1, 65]);
        assert_open_error(&b, 0, 32, "capability length");
        // Malformed known capability: 4-octet AS of length 2.
        let mut b = base.clone();
        b.extend_from_slice(&[6, 2, 4, 65, 2, 0, 1]);
        assert_open_error(&b, 0, 33, "4-octet AS capability");
        // Extended length cut short.
        let mut b = base.clone();
        b.extend_from_slice(&[255, 255, 0]);
        assert_open_error(&b, 0, 30, "extended optional parameters length");
    }

    #[test]
    fn short_body_is_a_length_error() {
        let err = Open::decode_body(&[4, 0, 1], 19).unwrap_err();
        assert_eq!((err.notification.code, err.notification.subcode), (1, 2));
        assert_eq!(err.notification.data, vec![0, 22]);
    }

    #[test]
    fn validate_fixed_fields() {
        let good = Open::new(65000, 90, Ipv4Addr::new(1, 2, 3, 4), vec![]);
        assert_eq!(good.validate(), Ok(()));
        let check = |o: Open, sub: u8, data: &[u8]| {
            let n = o.validate().unwrap_err();
            assert_eq!((n.code, n.subcode, n.data.as_slice()), (2, sub, data));
        };
        check(Open { version: 3, ..good.clone() }, 1, &[0, 4]);
        check(Open { hold_time: 1, ..good.clone() }, 6, &[]);
        check(Open { hold_time: 2, ..good.clone() }, 6, &[]);
        assert_eq!(Open { hold_time: 3, ..good.clone() }.validate(), Ok(()));
        assert_eq!(Open { hold_time: 0, ..good.clone() }.validate(), Ok(()));
        check(Open { bgp_id: Ipv4Addr::UNSPECIFIED, ..good.clone() }, 3, &[]);
        check(Open { my_as: 0, ..good.clone() }, 2, &[]);
        check(Open::new(0, 90, Ipv4Addr::new(1, 2, 3, 4), vec![Capability::FourOctetAs(0)]), 2, &[]);
        check(
            Open::new(
                65000,
                90,
                Ipv4Addr::new(1, 2, 3, 4),
                vec![Capability::Role(Role::PEER), Capability::Role(Role::CUSTOMER)],
            ),
            11,
            &[],
        );
        let same_roles = Open::new(
            65000,
            90,
            Ipv4Addr::new(1, 2, 3, 4),
            vec![Capability::Role(Role::PEER), Capability::Role(Role::PEER)],
        );
        assert_eq!(same_roles.validate(), Ok(()));
        assert_eq!(same_roles.role(), Some(Role::PEER));
    }

    #[test]
    fn new_uses_as_trans() {
        let o = Open::new(65536, 90, Ipv4Addr::new(1, 2, 3, 4), vec![Capability::FourOctetAs(65536)]);
        assert_eq!(o.my_as, AS_TRANS);
        assert_eq!(o.asn(), 65536);
        let o = Open::new(65535, 90, Ipv4Addr::new(1, 2, 3, 4), vec![]);
        assert_eq!(o.my_as, 65535);
    }

    #[test]
    fn encode_limits() {
        let mut open = Open::new(65000, 90, Ipv4Addr::new(1, 2, 3, 4), big_caps());
        open.extended_params = false;
        let err = open.encode_body(&mut Vec::new()).unwrap_err();
        assert!(matches!(err, EncodeError::TooLong { .. }), "{err:?}");
        let marker_first = Open {
            params: vec![OptionalParameter::Unknown { param_type: 255, value: vec![] }],
            extended_params: false,
            ..Open::new(65000, 90, Ipv4Addr::new(1, 2, 3, 4), vec![])
        };
        assert!(!Open::fits_non_extended(&marker_first.params));
        assert!(marker_first.encode_body(&mut Vec::new()).is_err());
        // In the extended form a type-255 parameter is fine.
        let ext = Open { extended_params: true, ..marker_first };
        let bytes = encode(&ext);
        assert_eq!(decode(&bytes[19..]).unwrap(), ext);
    }

    proptest! {
        #[test]
        fn round_trip(open in strategies::open()) {
            let ctx = SessionContext::default();
            let msgs = match Message::Open(open.clone()).encode(&ctx) {
                Ok(m) => m,
                // Over 4096 bytes: not an OPEN anyone can send.
                Err(EncodeError::ExceedsMessageSize { .. }) => return Ok(()),
                Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
            };
            let back = Message::decode(&msgs[0], &ctx).unwrap();
            prop_assert_eq!(&back, &Message::Open(open));
            prop_assert_eq!(&back.encode(&ctx).unwrap(), &msgs);
        }

        #[test]
        fn decode_never_panics(body in prop::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(open) = Open::decode_body(&body, 19) {
                let mut out = Vec::new();
                open.encode_body(&mut out).unwrap();
                // Byte-exact except the ignored MP reserved octets, which
                // re-encode as 0: lengths always agree.
                prop_assert_eq!(out.len(), body.len());
            }
        }
    }
}

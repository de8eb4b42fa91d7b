//! UPDATE message (RFC 4271 §4.3, RFC 4760, RFC 7606).
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```
//!
//! Two ways in:
//! - [`UpdateView`] splits the three sections and hands out lazy iterators
//!   over prefixes and raw attributes without allocating (the fast path for
//!   a route server that drops most of what it reads);
//! - [`Update::decode_body`] decodes everything into the owned [`Update`]
//!   model and applies RFC 7606, returning an [`UpdateDecode`] whose
//!   `update` is what the receiver should apply and whose `outcome` says
//!   which of the RFC's actions was taken.

use crate::wire::aspath::{AS_TRANS, AsPath};
use crate::wire::attr::{self, AttrValue, MpNlri, MpReach, MpUnreach, Origin, PathAttribute, code, flag};
use crate::wire::context::SessionContext;
use crate::wire::error::{DecodeError, EncodeError, ErrorKind, MessageError};
use crate::wire::family::Family;
use crate::wire::message::{self, HEADER_LEN, kind};
use crate::wire::nlri::{Ipv4Prefix, Nlri, PrefixIter, decode_prefixes};
use crate::wire::notification::{code as notif_code, update_subcode};
use crate::wire::reader::Reader;
use crate::wire::rfc7606::{Action, Diagnostic};
use crate::wire::semantic;

/// The three sections of an UPDATE, located but not decoded.
#[derive(Debug, Clone, Copy)]
pub struct UpdateView<'a> {
    withdrawn: Reader<'a>,
    attributes: Reader<'a>,
    nlri: Reader<'a>,
}

fn malformed_list(error: DecodeError) -> MessageError {
    MessageError::new(notif_code::UPDATE_MESSAGE, update_subcode::MALFORMED_ATTRIBUTE_LIST, Vec::new(), error)
}

impl<'a> UpdateView<'a> {
    /// Locate the sections of the UPDATE body that starts `base` bytes into
    /// the message. Length fields that overrun the message reset the session
    /// (RFC 7606 §3 a).
    pub fn parse(body: &'a [u8], base: usize) -> Result<Self, MessageError> {
        let mut r = Reader::at(body, base);
        let wlen = r.u16("withdrawn routes length").map_err(malformed_list)?;
        let withdrawn = r.sub(wlen.into(), "withdrawn routes").map_err(malformed_list)?;
        let alen = r.u16("total path attribute length").map_err(malformed_list)?;
        let attributes = r.sub(alen.into(), "path attributes").map_err(malformed_list)?;
        Ok(UpdateView { withdrawn, attributes, nlri: r })
    }

    /// Parse a whole message (header included).
    pub fn from_message(msg: &'a [u8]) -> Result<Self, MessageError> {
        UpdateView::parse(msg.get(HEADER_LEN..).unwrap_or_default(), HEADER_LEN)
    }

    /// Withdrawn IPv4 prefixes (classic field).
    pub fn withdrawn(&self, add_path: bool) -> PrefixIter<'a, Ipv4Prefix> {
        PrefixIter::new(self.withdrawn.peek_rest(), self.withdrawn.offset(), add_path)
    }

    /// Announced IPv4 prefixes (classic field).
    pub fn nlri(&self, add_path: bool) -> PrefixIter<'a, Ipv4Prefix> {
        PrefixIter::new(self.nlri.peek_rest(), self.nlri.offset(), add_path)
    }

    /// The path attributes, undecoded.
    pub fn attributes(&self) -> RawAttributes<'a> {
        RawAttributes { r: self.attributes, done: false }
    }

    /// True for the IPv4 unicast End-of-RIB marker (an empty UPDATE).
    pub fn is_ipv4_end_of_rib(&self) -> bool {
        self.withdrawn.is_empty() && self.attributes.is_empty() && self.nlri.is_empty()
    }
}

/// One attribute as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttribute<'a> {
    pub flags: u8,
    pub code: u8,
    pub value: &'a [u8],
    /// Offset of the value in the message.
    pub offset: usize,
    /// The whole attribute: flags, type, length and value.
    pub raw: &'a [u8],
}

/// Iterator over the attributes of an UPDATE. A length that overruns the
/// attribute field is yielded as an error, then iteration stops.
#[derive(Debug, Clone)]
pub struct RawAttributes<'a> {
    r: Reader<'a>,
    done: bool,
}

impl<'a> RawAttributes<'a> {
    fn read(&mut self) -> Result<RawAttribute<'a>, DecodeError> {
        let start = self.r;
        let flags = self.r.u8("attribute flags")?;
        let code = self.r.u8("attribute type")?;
        let len = if flags & flag::EXTENDED_LENGTH != 0 {
            usize::from(self.r.u16("attribute length")?)
        } else {
            usize::from(self.r.u8("attribute length")?)
        };
        let offset = self.r.offset();
        let value = self.r.bytes(len, "attribute value")?;
        let raw_len = self.r.offset() - start.offset();
        let raw = start.peek_rest().get(..raw_len).unwrap_or_default();
        Ok(RawAttribute { flags, code, value, offset, raw })
    }
}

impl<'a> Iterator for RawAttributes<'a> {
    type Item = Result<RawAttribute<'a>, DecodeError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.r.is_empty() {
            return None;
        }
        let item = self.read();
        self.done = item.is_err();
        Some(item)
    }
}

/// An UPDATE, decoded. Attributes stay in wire order with their flags, so
/// what was decoded re-encodes byte-exact.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Update {
    /// Withdrawn IPv4 unicast routes (classic field).
    pub withdrawn: Vec<Nlri>,
    pub attributes: Vec<PathAttribute>,
    /// Announced IPv4 unicast routes (classic field).
    pub nlri: Vec<Nlri>,
}

/// Which RFC 7606 action a decoded UPDATE needed. Session reset is not here:
/// it comes back as `Err(MessageError)` carrying the NOTIFICATION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing was wrong.
    Clean,
    /// Attributes were dropped (malformed, or repeated); `update` holds the rest.
    AttributeDiscard,
    /// Every route in the message is to be withdrawn; `update` holds only
    /// withdrawals (classic and MP_UNREACH_NLRI), built from everything
    /// the message carried.
    TreatAsWithdraw,
    /// These families must be dropped and ignored for the session; `update`
    /// holds what the message carried for other families.
    AfiSafiDisable(Vec<Family>),
}

impl Outcome {
    /// The RFC 7606 action, if any.
    pub fn action(&self) -> Option<Action> {
        match self {
            Outcome::Clean => None,
            Outcome::AttributeDiscard => Some(Action::AttributeDiscard),
            Outcome::TreatAsWithdraw => Some(Action::TreatAsWithdraw),
            Outcome::AfiSafiDisable(_) => Some(Action::AfiSafiDisable),
        }
    }
}

/// The result of decoding an UPDATE that did not reset the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateDecode {
    /// What the receiver should apply.
    pub update: Update,
    pub outcome: Outcome,
    /// Every error found, for the log.
    pub diagnostics: Vec<Diagnostic>,
}

impl UpdateDecode {
    /// The family whose End-of-RIB marker the message was (RFC 4724 §2).
    /// Only a clean message is one: an UPDATE left empty because its one
    /// attribute was malformed (e.g. an MP_UNREACH_NLRI whose prefixes do
    /// not parse, RFC 7606 §7.11) is that error, not an End-of-RIB.
    pub fn end_of_rib(&self) -> Option<Family> {
        if self.diagnostics.is_empty() { self.update.end_of_rib() } else { None }
    }
}

fn reset(subcode: u8, data: &[u8], error: DecodeError) -> MessageError {
    MessageError::new(notif_code::UPDATE_MESSAGE, subcode, data.to_vec(), error)
}

impl Update {
    /// Decode the body of an UPDATE (after the 19-byte header) under the
    /// session context, applying RFC 7606.
    pub fn decode_body(body: &[u8], base: usize, ctx: &SessionContext) -> Result<UpdateDecode, MessageError> {
        let view = UpdateView::parse(body, base)?;
        let v4_add_path = ctx.add_path(Family::IPV4_UNICAST);
        let invalid_network = |e: DecodeError| reset(update_subcode::INVALID_NETWORK_FIELD, &[], e);

        let mut withdrawn = Vec::with_capacity(view.withdrawn.remaining() / 2);
        decode_prefixes(
            crate::wire::family::Afi::IPV4,
            view.withdrawn.peek_rest(),
            view.withdrawn.offset(),
            v4_add_path,
            &mut withdrawn,
        )
        .map_err(invalid_network)?;
        let mut nlri = Vec::with_capacity(view.nlri.remaining() / 2);
        decode_prefixes(
            crate::wire::family::Afi::IPV4,
            view.nlri.peek_rest(),
            view.nlri.offset(),
            v4_add_path,
            &mut nlri,
        )
        .map_err(invalid_network)?;

        let mut diagnostics = Vec::new();
        let mut attributes: Vec<PathAttribute> = Vec::with_capacity(8);
        let mut seen = [0u64; 4];
        let (mut as_path_at, mut next_hop_at, mut mp_next_hop_at) = (0, 0, 0);
        for item in view.attributes() {
            let raw = match item {
                Ok(raw) => raw,
                Err(error) => {
                    // RFC 7606 §4: the attribute list overruns its length.
                    diagnostics.push(Diagnostic {
                        action: Action::TreatAsWithdraw,
                        attribute: None,
                        family: None,
                        subcode: update_subcode::MALFORMED_ATTRIBUTE_LIST,
                        error,
                    });
                    break;
                }
            };
            let (word, bit) = (usize::from(raw.code / 64), 1u64 << (raw.code % 64));
            let already = seen.get(word).is_some_and(|w| w & bit != 0);
            if let Some(w) = seen.get_mut(word) {
                *w |= bit;
            }
            if already {
                let error = DecodeError::new(
                    raw.offset.saturating_sub(raw.raw.len() - raw.value.len()),
                    "attribute type",
                    ErrorKind::Invalid("attribute repeated"),
                );
                if matches!(raw.code, code::MP_REACH_NLRI | code::MP_UNREACH_NLRI) {
                    return Err(reset(update_subcode::MALFORMED_ATTRIBUTE_LIST, &[], error));
                }
                diagnostics.push(Diagnostic {
                    action: Action::AttributeDiscard,
                    attribute: Some(raw.code),
                    family: None,
                    subcode: update_subcode::MALFORMED_ATTRIBUTE_LIST,
                    error,
                });
                continue;
            }
            let start = raw.offset.saturating_sub(raw.raw.len() - raw.value.len());
            if let Some(d) = ctx.sender.as_ref().and_then(|s| semantic::refused_attribute(s, raw.code, start))
            {
                diagnostics.push(d);
                continue;
            }
            match attr::decode_value(raw.flags, raw.code, raw.value, raw.offset, ctx) {
                Ok(value) => {
                    match raw.code {
                        code::AS_PATH => as_path_at = raw.offset,
                        code::NEXT_HOP => next_hop_at = raw.offset,
                        // After AFI (2), SAFI (1) and the next hop's length (1).
                        code::MP_REACH_NLRI => mp_next_hop_at = raw.offset + 4,
                        _ => {}
                    }
                    attributes.push(PathAttribute { flags: raw.flags, value });
                }
                Err(f) if f.action == Action::SessionReset => {
                    return Err(reset(f.subcode, raw.raw, f.error));
                }
                Err(f) => diagnostics.push(Diagnostic {
                    action: f.action,
                    attribute: Some(raw.code),
                    family: f.family,
                    subcode: f.subcode,
                    error: f.error,
                }),
            }
        }

        let mut update = Update { withdrawn, attributes, nlri };
        update.check_mandatory(base, &mut diagnostics);
        if let Some(sender) = &ctx.sender {
            let mp_next_hop =
                update.mp_reach().filter(|m| !m.nlri.is_empty()).map(|m| (&m.next_hop, mp_next_hop_at));
            let next_hop = update.next_hop().filter(|_| !update.nlri.is_empty()).map(|a| (a, next_hop_at));
            if next_hop.is_some() || mp_next_hop.is_some() {
                let announced = semantic::Announced {
                    as_path: update.as_path().map(|p| (p, as_path_at)),
                    next_hop,
                    mp_next_hop,
                };
                semantic::check(sender, ctx.four_octet_as, &announced, &mut diagnostics);
            }
        }

        let strongest = diagnostics.iter().map(|d| d.action).max();
        let outcome = match strongest {
            None => Outcome::Clean,
            Some(Action::AttributeDiscard) => Outcome::AttributeDiscard,
            Some(Action::TreatAsWithdraw) => {
                update.treat_as_withdraw();
                Outcome::TreatAsWithdraw
            }
            Some(Action::AfiSafiDisable) => {
                let mut families: Vec<Family> = diagnostics.iter().filter_map(|d| d.family).collect();
                families.dedup();
                if diagnostics.iter().any(|d| d.action == Action::TreatAsWithdraw) {
                    update.treat_as_withdraw();
                }
                update.drop_families(&families);
                Outcome::AfiSafiDisable(families)
            }
            Some(Action::SessionReset) => Outcome::Clean, // returned above
        };
        Ok(UpdateDecode { update, outcome, diagnostics })
    }

    /// Decode a whole UPDATE message (header included).
    pub fn decode_message(msg: &[u8], ctx: &SessionContext) -> Result<UpdateDecode, MessageError> {
        match message::Message::decode(msg, ctx)? {
            message::Message::Update(u) => Ok(u),
            _ => Err(MessageError::new(
                notif_code::MESSAGE_HEADER,
                crate::wire::notification::header_subcode::BAD_MESSAGE_TYPE,
                msg.get(18..19).unwrap_or_default().to_vec(),
                DecodeError::new(18, "message type", ErrorKind::Invalid("not an UPDATE")),
            )),
        }
    }

    /// RFC 7606 §3 d: ORIGIN and AS_PATH must come with any NLRI, NEXT_HOP
    /// with classic NLRI; a missing one means treat-as-withdraw.
    fn check_mandatory(&self, base: usize, diagnostics: &mut Vec<Diagnostic>) {
        let mp_nlri = self.mp_reach().is_some_and(|m| !m.nlri.is_empty());
        if self.nlri.is_empty() && !mp_nlri {
            return;
        }
        let required: &[u8] = if self.nlri.is_empty() {
            &[code::ORIGIN, code::AS_PATH]
        } else {
            &[code::ORIGIN, code::AS_PATH, code::NEXT_HOP]
        };
        for &c in required {
            let present = self.attributes.iter().any(|a| a.code() == c);
            let failed = diagnostics.iter().any(|d| d.attribute == Some(c));
            if !present && !failed {
                diagnostics.push(Diagnostic {
                    action: Action::TreatAsWithdraw,
                    attribute: Some(c),
                    family: None,
                    subcode: update_subcode::MISSING_WELL_KNOWN_ATTRIBUTE,
                    error: DecodeError::new(
                        base,
                        "path attributes",
                        ErrorKind::Invalid("missing well-known attribute"),
                    ),
                });
            }
        }
    }

    /// Turn every announcement into a withdrawal and drop the attributes.
    fn treat_as_withdraw(&mut self) {
        self.withdrawn.append(&mut self.nlri);
        let mut unreach: Vec<MpUnreach> = Vec::new();
        for a in std::mem::take(&mut self.attributes) {
            let (family, nlri) = match a.value {
                AttrValue::MpReach(m) => (m.family, m.nlri),
                AttrValue::MpUnreach(m) => (m.family, m.nlri),
                _ => continue,
            };
            match unreach.iter_mut().find(|u| u.family == family) {
                Some(u) => {
                    if let Err(nlri) = u.nlri.extend(nlri) {
                        unreach.push(MpUnreach { family, nlri });
                    }
                }
                None => unreach.push(MpUnreach { family, nlri }),
            }
        }
        self.attributes =
            unreach.into_iter().map(|u| PathAttribute::new(AttrValue::MpUnreach(Box::new(u)))).collect();
    }

    fn drop_families(&mut self, families: &[Family]) {
        if families.contains(&Family::IPV4_UNICAST) {
            self.withdrawn.clear();
            self.nlri.clear();
        }
        self.attributes.retain(|a| match &a.value {
            AttrValue::MpReach(m) => !families.contains(&m.family),
            AttrValue::MpUnreach(m) => !families.contains(&m.family),
            _ => true,
        });
    }

    /// The first attribute with this type code.
    pub fn attribute(&self, type_code: u8) -> Option<&PathAttribute> {
        self.attributes.iter().find(|a| a.code() == type_code)
    }

    pub fn origin(&self) -> Option<Origin> {
        self.attributes.iter().find_map(|a| match a.value {
            AttrValue::Origin(o) => Some(o),
            _ => None,
        })
    }

    pub fn as_path(&self) -> Option<&AsPath> {
        self.attributes.iter().find_map(|a| match &a.value {
            AttrValue::AsPath(p) => Some(p),
            _ => None,
        })
    }

    pub fn as4_path(&self) -> Option<&AsPath> {
        self.attributes.iter().find_map(|a| match &a.value {
            AttrValue::As4Path(p) => Some(p),
            _ => None,
        })
    }

    /// The AS path as it really is: AS_PATH merged with AS4_PATH when the
    /// session is 2-octet only (RFC 6793 §4.2.3). AS4_PATH is ignored when
    /// AGGREGATOR names an AS other than AS_TRANS, and on 4-octet sessions.
    pub fn effective_as_path(&self, ctx: &SessionContext) -> Option<AsPath> {
        let p = self.as_path()?;
        if ctx.four_octet_as {
            return Some(p.clone());
        }
        let aggregator_not_trans = self
            .attributes
            .iter()
            .any(|a| matches!(a.value, AttrValue::Aggregator(ag) if ag.asn != AS_TRANS));
        match self.as4_path() {
            Some(as4) if !aggregator_not_trans => Some(p.merge_as4(as4)),
            _ => Some(p.clone()),
        }
    }

    /// The aggregator as it really is (AS4_AGGREGATOR when AGGREGATOR
    /// carries AS_TRANS on a 2-octet session).
    pub fn effective_aggregator(&self, ctx: &SessionContext) -> Option<attr::Aggregator> {
        let ag = self.attributes.iter().find_map(|a| match a.value {
            AttrValue::Aggregator(ag) => Some(ag),
            _ => None,
        })?;
        if !ctx.four_octet_as && ag.asn == AS_TRANS {
            let as4 = self.attributes.iter().find_map(|a| match a.value {
                AttrValue::As4Aggregator(ag) => Some(ag),
                _ => None,
            });
            return Some(as4.unwrap_or(ag));
        }
        Some(ag)
    }

    pub fn next_hop(&self) -> Option<std::net::Ipv4Addr> {
        self.attributes.iter().find_map(|a| match a.value {
            AttrValue::NextHop(n) => Some(n),
            _ => None,
        })
    }

    pub fn mp_reach(&self) -> Option<&MpReach> {
        self.attributes.iter().find_map(|a| match &a.value {
            AttrValue::MpReach(m) => Some(&**m),
            _ => None,
        })
    }

    pub fn mp_unreach(&self) -> Option<&MpUnreach> {
        self.attributes.iter().find_map(|a| match &a.value {
            AttrValue::MpUnreach(m) => Some(&**m),
            _ => None,
        })
    }

    /// The family whose End-of-RIB marker this is (RFC 4724 §2), if any.
    pub fn end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match self.attributes.as_slice() {
            [] => Some(Family::IPV4_UNICAST),
            [PathAttribute { value: AttrValue::MpUnreach(m), .. }] if m.nlri.is_empty() => Some(m.family),
            _ => None,
        }
    }

    /// The End-of-RIB marker of a family.
    pub fn end_of_rib_marker(family: Family) -> Update {
        if family == Family::IPV4_UNICAST {
            return Update::default();
        }
        let nlri =
            if family.is_ip_unicast() { MpNlri::Prefixes(Vec::new()) } else { MpNlri::Typed(Vec::new()) };
        Update {
            attributes: vec![PathAttribute::new(AttrValue::MpUnreach(Box::new(MpUnreach { family, nlri })))],
            ..Update::default()
        }
    }

    /// Encode as one message if it fits the session's maximum size, or
    /// else as several, splitting NLRI: withdrawals first (classic, then
    /// each MP_UNREACH_NLRI alone), then announcements, each message with
    /// every non-MP attribute. Never emits a message above the maximum.
    pub fn encode(&self, ctx: &SessionContext) -> Result<Vec<Vec<u8>>, EncodeError> {
        let max = ctx.max_message_len();
        // One message may hold at most one MP_REACH_NLRI and one
        // MP_UNREACH_NLRI (RFC 7606 §3 g); a model with more (e.g. the
        // withdrawals of two families after treat-as-withdraw) is split.
        let count = |code: u8| self.attributes.iter().filter(|a| a.code() == code).count();
        if count(code::MP_REACH_NLRI) <= 1 && count(code::MP_UNREACH_NLRI) <= 1 {
            let mut out = Vec::with_capacity(256);
            // Too long for one message, or for one attribute's length
            // field (an MP_REACH_NLRI with thousands of prefixes): split.
            if encode_one(&mut out, &self.withdrawn, &self.attributes, None, &self.nlri, ctx).is_ok()
                && out.len() <= max
            {
                return Ok(vec![out]);
            }
        }
        self.encode_split(ctx, max)
    }

    fn encode_split(&self, ctx: &SessionContext, max: usize) -> Result<Vec<Vec<u8>>, EncodeError> {
        // Header, the two length fields.
        const FIXED: usize = HEADER_LEN + 4;
        // Attribute header with extended length.
        const ATTR_HEAD: usize = 4;
        let mut messages = Vec::new();
        let plain: Vec<PathAttribute> = self
            .attributes
            .iter()
            .filter(|a| !matches!(a.value, AttrValue::MpReach(_) | AttrValue::MpUnreach(_)))
            .cloned()
            .collect();
        let mut plain_bytes = Vec::new();
        for a in &plain {
            a.encode(&mut plain_bytes, ctx)?;
        }

        // Classic withdrawals, alone.
        for chunk in chunks(self.withdrawn.iter().map(Nlri::wire_len_any), max - FIXED)? {
            let mut m = Vec::new();
            encode_one(&mut m, self.withdrawn.get(chunk).unwrap_or_default(), &[], None, &[], ctx)?;
            messages.push(m);
        }
        for a in &self.attributes {
            match &a.value {
                AttrValue::MpUnreach(u) => {
                    let room = max - FIXED - ATTR_HEAD - 3;
                    // An MP attribute without NLRI (End-of-RIB) still gets its message.
                    for chunk in at_least_one(chunks(u.nlri.item_lens().into_iter(), room)?) {
                        let part = MpUnreach { family: u.family, nlri: u.nlri.slice(chunk) };
                        let attr =
                            PathAttribute { flags: a.flags, value: AttrValue::MpUnreach(Box::new(part)) };
                        let mut m = Vec::new();
                        encode_one(&mut m, &[], std::slice::from_ref(&attr), None, &[], ctx)?;
                        messages.push(m);
                    }
                }
                AttrValue::MpReach(r) => {
                    let room = (max - FIXED - ATTR_HEAD - r.header_len())
                        .checked_sub(plain_bytes.len())
                        .ok_or(EncodeError::ExceedsMessageSize {
                            field: "path attributes",
                            length: plain_bytes.len(),
                            max,
                        })?;
                    for chunk in at_least_one(chunks(r.nlri.item_lens().into_iter(), room)?) {
                        let part = MpReach {
                            family: r.family,
                            next_hop: r.next_hop.clone(),
                            nlri: r.nlri.slice(chunk),
                        };
                        let attr =
                            PathAttribute { flags: a.flags, value: AttrValue::MpReach(Box::new(part)) };
                        let mut m = Vec::new();
                        encode_one(&mut m, &[], std::slice::from_ref(&attr), Some(&plain_bytes), &[], ctx)?;
                        messages.push(m);
                    }
                }
                _ => {}
            }
        }
        if !self.nlri.is_empty() {
            let room =
                (max - FIXED).checked_sub(plain_bytes.len()).ok_or(EncodeError::ExceedsMessageSize {
                    field: "path attributes",
                    length: plain_bytes.len(),
                    max,
                })?;
            for chunk in chunks(self.nlri.iter().map(Nlri::wire_len_any), room)? {
                let mut m = Vec::new();
                encode_one(
                    &mut m,
                    &[],
                    &[],
                    Some(&plain_bytes),
                    self.nlri.get(chunk).unwrap_or_default(),
                    ctx,
                )?;
                messages.push(m);
            }
        }
        if let Some(too_big) = messages.iter().find(|m| m.len() > max) {
            return Err(EncodeError::ExceedsMessageSize { field: "UPDATE", length: too_big.len(), max });
        }
        Ok(messages)
    }
}

/// Greedy split of items with the given sizes into runs of at most `room`
/// bytes. An item larger than `room` is an error.
fn chunks(
    sizes: impl Iterator<Item = usize>,
    room: usize,
) -> Result<Vec<std::ops::Range<usize>>, EncodeError> {
    let mut out = Vec::new();
    let (mut start, mut used, mut n) = (0, 0, 0);
    for (i, size) in sizes.enumerate() {
        if size > room {
            return Err(EncodeError::ExceedsMessageSize { field: "NLRI", length: size, max: room });
        }
        if used + size > room {
            out.push(start..i);
            start = i;
            used = 0;
        }
        used += size;
        n = i + 1;
    }
    if n > start {
        out.push(start..n);
    }
    Ok(out)
}

/// The runs, or one empty run when there are none.
fn at_least_one(runs: Vec<std::ops::Range<usize>>) -> Vec<std::ops::Range<usize>> {
    if runs.is_empty() { vec![std::ops::Range { start: 0, end: 0 }] } else { runs }
}

/// Write one UPDATE message: withdrawn, then `attrs`, then the pre-encoded
/// `extra` attributes, then NLRI.
fn encode_one(
    out: &mut Vec<u8>,
    withdrawn: &[Nlri],
    attrs: &[PathAttribute],
    extra: Option<&[u8]>,
    nlri: &[Nlri],
    ctx: &SessionContext,
) -> Result<(), EncodeError> {
    let start = out.len();
    message::begin(out);
    let wpos = out.len();
    out.extend_from_slice(&[0, 0]);
    withdrawn.iter().for_each(|n| n.encode_any(out));
    let wlen = out.len() - wpos - 2;
    let apos = out.len();
    out.extend_from_slice(&[0, 0]);
    for a in attrs {
        a.encode(out, ctx)?;
    }
    if let Some(extra) = extra {
        out.extend_from_slice(extra);
    }
    let alen = out.len() - apos - 2;
    nlri.iter().for_each(|n| n.encode_any(out));
    for (pos, len, field) in [(wpos, wlen, "withdrawn routes"), (apos, alen, "path attributes")] {
        let v = u16::try_from(len).map_err(|_| EncodeError::TooLong { field, length: len, max: 65535 })?;
        if let Some(slot) = out.get_mut(pos..pos + 2) {
            slot.copy_from_slice(&v.to_be_bytes());
        }
    }
    // Length may exceed the session maximum here; the caller checks.
    message::finish(out, start, kind::UPDATE, usize::MAX)
}

#[cfg(test)]
pub(crate) mod strategies {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;
    use crate::wire::attr::{Aggregator, NextHop};
    use crate::wire::community::strategies as comm;
    use crate::wire::family::Afi;
    use crate::wire::nlri::strategies::nlri_list;
    use crate::wire::tunnel::strategies as tun;

    fn optional_attr(four_octet: bool) -> impl Strategy<Value = AttrValue> {
        // Never AS 0: an aggregator naming it is discarded (RFC 7607).
        let asn = if four_octet { (1u32..=u32::MAX).boxed() } else { (1u32..=0xffff).boxed() };
        prop_oneof![
            any::<u32>().prop_map(AttrValue::MultiExitDisc),
            any::<u32>().prop_map(AttrValue::LocalPref),
            Just(AttrValue::AtomicAggregate),
            (asn, any::<u32>())
                .prop_map(|(asn, a)| AttrValue::Aggregator(Aggregator { asn, address: Ipv4Addr::from(a) })),
            comm::communities().prop_map(AttrValue::Communities),
            any::<u32>().prop_map(|a| AttrValue::OriginatorId(Ipv4Addr::from(a))),
            proptest::collection::vec(any::<u32>().prop_map(Ipv4Addr::from), 1..5)
                .prop_map(AttrValue::ClusterList),
            comm::extended_communities().prop_map(AttrValue::ExtendedCommunities),
            crate::wire::aspath::strategies::as_path(true)
                .prop_filter("no confed in AS4_PATH", |p| !p.has_confed())
                .prop_map(AttrValue::As4Path),
            (1u32..=u32::MAX, any::<u32>()).prop_map(|(asn, a)| AttrValue::As4Aggregator(Aggregator {
                asn,
                address: Ipv4Addr::from(a)
            })),
            tun::pmsi_tunnel().prop_map(AttrValue::PmsiTunnel),
            tun::tunnel_encapsulation().prop_map(AttrValue::TunnelEncapsulation),
            comm::ipv6_extended_communities().prop_map(AttrValue::Ipv6ExtendedCommunities),
            comm::large_communities().prop_map(AttrValue::LargeCommunities),
            any::<u32>().prop_map(AttrValue::Otc),
            (200u8..=255, proptest::collection::vec(any::<u8>(), 0..40))
                .prop_map(|(code, value)| AttrValue::Unknown { code, value }),
        ]
    }

    fn mp_attrs(add_path: bool) -> impl Strategy<Value = Vec<AttrValue>> {
        let reach = (nlri_list(Afi::IPV6, add_path, 20), any::<u128>(), proptest::option::of(any::<u128>()))
            .prop_map(|(n, g, ll)| {
                AttrValue::MpReach(Box::new(MpReach {
                    family: Family::IPV6_UNICAST,
                    next_hop: NextHop::V6 { global: Ipv6Addr::from(g), link_local: ll.map(Ipv6Addr::from) },
                    nlri: MpNlri::Prefixes(n),
                }))
            });
        let unreach = nlri_list(Afi::IPV6, add_path, 20).prop_map(|n| {
            AttrValue::MpUnreach(Box::new(MpUnreach {
                family: Family::IPV6_UNICAST,
                nlri: MpNlri::Prefixes(n),
            }))
        });
        (proptest::option::of(reach), proptest::option::of(unreach))
            .prop_map(|(r, u)| r.into_iter().chain(u).collect())
    }

    /// A well-formed UPDATE: mandatory attributes, a random set of other
    /// attributes in random order, each with default or extended-length flags.
    pub fn update(four_octet: bool, add_path: bool) -> impl Strategy<Value = Update> {
        let mandatory = (
            prop_oneof![Just(Origin::Igp), Just(Origin::Egp), Just(Origin::Incomplete)],
            crate::wire::aspath::strategies::as_path(four_octet),
            any::<u32>(),
        )
            .prop_map(|(o, p, nh)| {
                vec![AttrValue::Origin(o), AttrValue::AsPath(p), AttrValue::NextHop(Ipv4Addr::from(nh))]
            });
        (
            nlri_list(Afi::IPV4, add_path, 30),
            mandatory,
            proptest::collection::vec(optional_attr(four_octet), 0..8),
            mp_attrs(add_path),
            nlri_list(Afi::IPV4, add_path, 30),
            any::<u64>(),
        )
            .prop_map(|(withdrawn, mut values, optional, mp, nlri, shuffle)| {
                for v in optional.into_iter().chain(mp) {
                    if !values.iter().any(|x| x.code() == v.code()) {
                        values.push(v);
                    }
                }
                // Deterministic shuffle and extended-length choice from one seed.
                let mut s = shuffle | 1;
                let mut attrs: Vec<PathAttribute> = values
                    .into_iter()
                    .map(|v| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        let mut a = PathAttribute::new(v);
                        if s & 1 == 1 {
                            a.flags |= flag::EXTENDED_LENGTH;
                        }
                        a
                    })
                    .collect();
                let n = attrs.len();
                for i in (1..n).rev() {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    attrs.swap(i, (s % (i as u64 + 1)) as usize);
                }
                Update { withdrawn, attributes: attrs, nlri }
            })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The model as the encoder must put it on the wire: a value over 255
    /// bytes forces the Extended Length bit.
    fn with_needed_extended_length(u: &Update, ctx: &SessionContext) -> Update {
        let mut u = u.clone();
        for a in &mut u.attributes {
            let mut buf = Vec::new();
            a.encode(&mut buf, ctx).unwrap();
            if buf.len() > 255 + 3 {
                a.flags |= flag::EXTENDED_LENGTH;
            }
        }
        u
    }

    fn round_trip(u: &Update, ctx: &SessionContext) -> Result<(), TestCaseError> {
        let u = &with_needed_extended_length(u, ctx);
        let msgs = u.encode(ctx).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(msgs.len(), 1, "small updates fit one message");
        let d = Update::decode_message(&msgs[0], ctx).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&d.outcome, &Outcome::Clean, "{:?}", d.diagnostics);
        prop_assert_eq!(&d.update, u);
        // And the bytes are stable: encode(decode(bytes)) == bytes.
        let again = d.update.encode(ctx).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&again, &msgs);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn update_round_trip_four_octet(u in strategies::update(true, false)) {
            round_trip(&u, &SessionContext::modern())?;
        }

        #[test]
        fn update_round_trip_two_octet(u in strategies::update(false, false)) {
            round_trip(&u, &SessionContext::default())?;
        }

        #[test]
        fn update_round_trip_add_path(u in strategies::update(true, true)) {
            let ctx = SessionContext::modern()
                .with_add_path(Family::IPV4_UNICAST)
                .with_add_path(Family::IPV6_UNICAST);
            round_trip(&u, &ctx)?;
        }

        #[test]
        fn decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300), ctx_pick in 0u8..4) {
            let ctx = match ctx_pick {
                0 => SessionContext::modern(),
                1 => SessionContext::default(),
                2 => SessionContext::modern().with_add_path(Family::IPV4_UNICAST),
                _ => SessionContext { extended_message: true, ..SessionContext::modern() },
            };
            if let Ok(d) = Update::decode_body(&body, HEADER_LEN, &ctx) {
                // Whatever was accepted can be encoded again within limits.
                if let Ok(msgs) = d.update.encode(&ctx) {
                    prop_assert!(msgs.iter().all(|m| m.len() <= ctx.max_message_len()));
                }
            }
        }
    }
}

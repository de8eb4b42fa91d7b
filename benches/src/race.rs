//! The moving parts of the full-table race (mdc issue 4): a blocking BGP
//! session (OPEN, KEEPALIVE, nothing else), a replayer that writes a
//! pre-encoded UPDATE stream, and a monitor that keeps the set of prefixes
//! a device under test re-advertises and says when it holds every expected
//! one (with the expected best path).
//!
//! Plain std threads and blocking sockets: the replayer must never be the
//! bottleneck, and the monitor only reads. No tokio, no clocks besides
//! `SystemTime` for timestamps. Owns no processes and no namespaces.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mdc_bgp::capability::Capability;
use mdc_bgp::family::Family;
use mdc_bgp::message::{HEADER_LEN, Message, kind};
use mdc_bgp::nlri::{Ipv4Prefix, Ipv6Prefix, PrefixIter};
use mdc_bgp::open::Open;
use mdc_bgp::update::UpdateView;
use mdc_bgp::{Afi, SessionContext};

use crate::table::messages;

/// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
pub fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// A multiplicative hasher for the prefix keys (already well mixed
/// integers): much cheaper than SipHash for a million lookups.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u128(&mut self, n: u128) {
        let x = (n as u64) ^ ((n >> 64) as u64).rotate_left(29);
        self.0 = (x ^ (x >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

pub type KeyMap<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;

/// Map key of an IPv4 prefix.
pub fn key_v4(p: &Ipv4Prefix) -> u128 {
    (1u128 << 120) | (u128::from(u32::from(p.addr())) << 8) | u128::from(p.length())
}

/// Map key of an IPv6 prefix (prefixes up to /64 are distinct keys; the
/// length keeps longer ones from aliasing them).
pub fn key_v6(p: &Ipv6Prefix) -> u128 {
    let hi = (u128::from(p.addr()) >> 64) as u64;
    (2u128 << 120) | (u128::from(hi) << 8) | u128::from(p.length())
}

/// What one UPDATE says about its paths: the AS at a position of its
/// AS_PATH (the neighbor AS a path came through) and the path length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathInfo {
    pub as_at: u32,
    pub path_len: u32,
}

/// AS_PATH value (4-octet ASNs): the AS at `pos` counting AS_SEQUENCE
/// members, and the RFC 4271 path length (an AS_SET counts one).
fn path_info(value: &[u8], pos: usize) -> PathInfo {
    let mut info = PathInfo::default();
    let mut rest = value;
    let mut seen = 0usize;
    while let [seg_type, count, tail @ ..] = rest {
        let n = usize::from(*count);
        let Some((asns, next)) = tail.split_at_checked(n * 4) else { break };
        if *seg_type == 2 {
            info.path_len += n as u32;
            if pos >= seen && pos < seen + n {
                let i = (pos - seen) * 4;
                if let Some(&[a, b, c, d]) = asns.get(i..i + 4) {
                    info.as_at = u32::from_be_bytes([a, b, c, d]);
                }
            }
            seen += n;
        } else {
            info.path_len += 1;
        }
        rest = next;
    }
    info
}

/// MP_REACH_NLRI / MP_UNREACH_NLRI value: (AFI, NLRI field, its offset
/// inside the value).
fn mp_nlri(value: &[u8], reach: bool) -> Option<(Afi, &[u8])> {
    let afi = Afi(u16::from_be_bytes([*value.first()?, *value.get(1)?]));
    if !reach {
        return Some((afi, value.get(3..)?));
    }
    let nh_len = usize::from(*value.get(3)?);
    Some((afi, value.get(4 + nh_len + 1..)?))
}

fn each_in<P: mdc_bgp::nlri::WirePrefix>(
    field: &[u8],
    key: impl Fn(&P) -> u128,
    f: &mut impl FnMut(bool, u128),
    announce: bool,
) -> Result<(), String> {
    for n in PrefixIter::<P>::new(field, 0, false) {
        let n = n.map_err(|e| e.to_string())?;
        f(announce, key(&n.prefix));
    }
    Ok(())
}

/// Call `f(announce, key)` for every prefix an UPDATE message (header
/// included) withdraws or announces, withdrawals first; returns the path
/// info (AS at `as_pos`) of its announcements.
pub fn for_each_prefix(msg: &[u8], as_pos: usize, mut f: impl FnMut(bool, u128)) -> Result<PathInfo, String> {
    let view = UpdateView::from_message(msg).map_err(|e| e.to_string())?;
    let mut info = PathInfo::default();
    let mut reach = None;
    for a in view.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        match a.code {
            2 => info = path_info(a.value, as_pos),
            14 => reach = mp_nlri(a.value, true),
            15 => match mp_nlri(a.value, false) {
                Some((Afi::IPV6, field)) => each_in::<Ipv6Prefix>(field, key_v6, &mut f, false)?,
                Some((_, field)) => each_in::<Ipv4Prefix>(field, key_v4, &mut f, false)?,
                None => return Err("short MP_UNREACH_NLRI".into()),
            },
            _ => {}
        }
    }
    for p in view.withdrawn(false) {
        f(false, key_v4(&p.map_err(|e| e.to_string())?.prefix));
    }
    match reach {
        Some((Afi::IPV6, field)) => each_in::<Ipv6Prefix>(field, key_v6, &mut f, true)?,
        Some((_, field)) => each_in::<Ipv4Prefix>(field, key_v4, &mut f, true)?,
        None => {}
    }
    for p in view.nlri(false) {
        f(true, key_v4(&p.map_err(|e| e.to_string())?.prefix));
    }
    Ok(info)
}

/// The expected end state: every prefix and the neighbor AS its best path
/// must come through (0: any, when feeders tie).
#[derive(Debug, Default, Clone)]
pub struct Expect {
    map: KeyMap<(u32, u32)>,
}

impl Expect {
    /// Add an announcement stream of one feeder: its prefixes, each won by
    /// the feeder with the shortest AS path (first AS of the stream's
    /// paths is the feeder's own).
    pub fn add_stream(&mut self, stream: &[u8]) -> Result<(), String> {
        for m in messages(stream) {
            if m.get(18) != Some(&kind::UPDATE) {
                continue;
            }
            let mut keys = Vec::new();
            let info = for_each_prefix(m, 0, |announce, k| {
                if announce {
                    keys.push(k);
                }
            })?;
            for k in keys {
                // (winner AS, its path length)
                let e = self.map.entry(k).or_insert((info.as_at, info.path_len));
                if info.path_len < e.1 {
                    *e = (info.as_at, info.path_len);
                } else if info.path_len == e.1 && info.as_at != e.0 {
                    e.0 = 0;
                }
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The expected neighbor AS of `key` (0: any), if expected at all.
    pub fn winner(&self, key: u128) -> Option<u32> {
        self.map.get(&key).map(|(a, _)| *a)
    }
}

/// What a monitor publishes while it reads.
#[derive(Debug, Default)]
pub struct MonitorStats {
    /// Expected prefixes currently held.
    pub held: AtomicU64,
    /// Expected prefixes held with the expected best path.
    pub correct: AtomicU64,
    /// Number of expected prefixes.
    pub expected: AtomicU64,
    /// Time (ns) of the last read that changed `held` or `correct`.
    pub last_change_ns: AtomicU64,
    /// Announcements of prefixes that were not expected.
    pub unexpected: AtomicU64,
    pub updates: AtomicU64,
    pub bytes: AtomicU64,
    pub error: Mutex<Option<String>>,
    pub closed: AtomicBool,
}

impl MonitorStats {
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
    fn fail(&self, e: String) {
        *self.error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
    }
}

/// The monitor's table: expected prefixes and what it holds for them.
pub struct MonitorTable {
    /// key -> (expected neighbor AS or 0, held neighbor AS or 0 = absent)
    map: KeyMap<(u32, u32)>,
    held: u64,
    correct: u64,
    unexpected: u64,
}

impl MonitorTable {
    pub fn new(expect: &Expect, family: Family) -> MonitorTable {
        let tag: u128 = if family == Family::IPV6_UNICAST { 2 } else { 1 };
        let map =
            expect.map.iter().filter(|(k, _)| *k >> 120 == tag).map(|(k, (a, _))| (*k, (*a, 0))).collect();
        MonitorTable { map, held: 0, correct: 0, unexpected: 0 }
    }

    pub fn expected(&self) -> u64 {
        self.map.len() as u64
    }

    /// Apply one UPDATE message (header included); `as_pos`: where in the
    /// AS_PATH the feeder's AS is (1 behind a device under test).
    pub fn apply(&mut self, msg: &[u8], as_pos: usize) -> Result<(), String> {
        let mut changes: Vec<(bool, u128)> = Vec::new();
        let info = for_each_prefix(msg, as_pos, |a, k| changes.push((a, k)))?;
        for (announce, key) in changes {
            let Some((want, have)) = self.map.get_mut(&key) else {
                if announce {
                    self.unexpected += 1;
                }
                continue;
            };
            let ok = |held: u32| held != 0 && (*want == 0 || held == *want);
            let was_ok = ok(*have);
            if *have != 0 {
                self.held -= 1;
            }
            *have = if announce { info.as_at.max(1) } else { 0 };
            if *have != 0 {
                self.held += 1;
            }
            match (was_ok, ok(*have)) {
                (false, true) => self.correct += 1,
                (true, false) => self.correct -= 1,
                _ => {}
            }
        }
        Ok(())
    }

    pub fn held(&self) -> u64 {
        self.held
    }
    pub fn correct(&self) -> u64 {
        self.correct
    }
    pub fn unexpected(&self) -> u64 {
        self.unexpected
    }
}

/// Reads whole BGP messages from a stream into one reusable buffer.
pub struct FrameReader {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl FrameReader {
    pub fn new(stream: TcpStream) -> FrameReader {
        FrameReader { stream, buf: vec![0; 1 << 20], start: 0, end: 0 }
    }

    /// The complete message at the front of the buffer, if any.
    fn complete(&self) -> Option<Range<usize>> {
        let have = self.buf.get(self.start..self.end)?;
        let len = match have.get(16..18) {
            Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])),
            _ => return None,
        };
        (have.len() >= len).then(|| self.start..self.start + len)
    }

    /// The next message (a range of [`FrameReader::buf`]), reading as
    /// needed; `None` at end of stream.
    pub fn next_message(&mut self) -> io::Result<Option<Range<usize>>> {
        loop {
            if let Some(r) = self.complete() {
                if r.len() < HEADER_LEN {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "message length below 19"));
                }
                self.start = r.end;
                return Ok(Some(r));
            }
            if self.fill()? == 0 {
                return Ok(None);
            }
        }
    }

    /// Messages already buffered, without reading.
    pub fn buffered_message(&mut self) -> Option<Range<usize>> {
        let r = self.complete()?;
        self.start = r.end;
        Some(r)
    }

    /// Read once (after compacting); bytes read, 0 at end of stream.
    pub fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let Some(room) = self.buf.get_mut(self.end..) else { return Ok(0) };
        let n = self.stream.read(room)?;
        self.end += n;
        Ok(n)
    }

    pub fn buf(&self) -> &[u8] {
        &self.buf
    }
}

/// One side of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Address to bind before connecting (`None`: any).
    pub local: Option<IpAddr>,
    pub remote: SocketAddr,
    pub asn: u32,
    pub router_id: Ipv4Addr,
    pub family: Family,
    pub hold: u16,
}

/// An established session.
pub struct Session {
    pub reader: FrameReader,
    pub writer: Arc<Mutex<TcpStream>>,
    /// Keepalive interval (a third of the negotiated hold time; `None` for 0).
    pub keepalive: Option<Duration>,
    pub peer: Open,
}

fn encode(m: &Message) -> io::Result<Vec<u8>> {
    m.encode(&SessionContext::modern())
        .map(|v| v.concat())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

/// Connect to `cfg.remote` from `cfg.local`, retrying until `deadline`.
pub fn dial(cfg: &SessionConfig, deadline: Instant) -> io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    loop {
        let attempt = (|| {
            let s = Socket::new(Domain::for_address(cfg.remote), Type::STREAM, None)?;
            if let Some(l) = cfg.local {
                s.bind(&SocketAddr::new(l, 0).into())?;
            }
            s.connect_timeout(&cfg.remote.into(), Duration::from_secs(1))?;
            Ok::<TcpStream, io::Error>(s.into())
        })();
        match attempt {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Run the OPEN / KEEPALIVE exchange on a connected stream (either side:
/// both send OPEN first). Fails on a NOTIFICATION or a closed stream.
pub fn handshake(stream: TcpStream, cfg: &SessionConfig) -> io::Result<Session> {
    stream.set_nodelay(true)?;
    let caps = vec![
        Capability::Multiprotocol(cfg.family),
        Capability::RouteRefresh,
        Capability::FourOctetAs(cfg.asn),
    ];
    let open = Open::new(cfg.asn, cfg.hold, cfg.router_id, caps);
    let mut w = stream.try_clone()?;
    w.write_all(&encode(&Message::Open(open))?)?;
    let mut reader = FrameReader::new(stream);
    let mut peer = None;
    let ctx = SessionContext::modern();
    loop {
        let Some(r) = reader.next_message()? else {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed during OPEN exchange"));
        };
        let msg = reader.buf().get(r).unwrap_or_default();
        match Message::decode(msg, &ctx) {
            Ok(Message::Open(o)) => {
                w.write_all(&encode(&Message::Keepalive)?)?;
                peer = Some(o);
            }
            Ok(Message::Keepalive) if peer.is_some() => break,
            Ok(Message::Notification(n)) => {
                return Err(io::Error::new(io::ErrorKind::ConnectionRefused, format!("NOTIFICATION {n:?}")));
            }
            Ok(_) => {}
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
        }
    }
    let peer = peer.ok_or_else(|| io::Error::other("no OPEN"))?;
    let hold = cfg.hold.min(peer.hold_time);
    let keepalive = (hold > 0).then(|| Duration::from_secs(u64::from(hold / 3).max(1)));
    Ok(Session { reader, writer: Arc::new(Mutex::new(w)), keepalive, peer })
}

/// Send KEEPALIVEs on `writer` every `interval` until `stop`.
pub fn spawn_keepalive(writer: Arc<Mutex<TcpStream>>, interval: Duration, stop: Arc<AtomicBool>) {
    thread::spawn(move || {
        let Ok(ka) = encode(&Message::Keepalive) else { return };
        let mut last = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(100));
            if last.elapsed() >= interval {
                let mut w = writer.lock().unwrap_or_else(PoisonError::into_inner);
                if w.write_all(&ka).is_err() {
                    return;
                }
                last = Instant::now();
            }
        }
    });
}

/// Write a stream of whole messages in chunks of about `chunk` bytes cut
/// at message boundaries, so KEEPALIVEs can go in between. Returns the
/// time (ns) of the first byte written.
pub fn send_stream(writer: &Mutex<TcpStream>, stream: &[u8], chunk: usize) -> io::Result<u64> {
    let mut first = 0;
    let mut start = 0;
    let mut end = 0;
    let mut flush = |from: usize, to: usize| -> io::Result<()> {
        let mut w = writer.lock().unwrap_or_else(PoisonError::into_inner);
        if first == 0 {
            first = now_ns();
        }
        w.write_all(stream.get(from..to).unwrap_or_default())
    };
    for m in messages(stream) {
        end += m.len();
        if end - start >= chunk {
            flush(start, end)?;
            start = end;
        }
    }
    if end > start {
        flush(start, end)?;
    }
    Ok(first)
}

/// Read a session until it closes: UPDATEs go to `table` (if any) and the
/// published `stats`. Returns on end of stream, NOTIFICATION or error
/// (recorded in `stats`).
pub fn monitor(
    mut reader: FrameReader,
    mut table: Option<MonitorTable>,
    as_pos: usize,
    stats: &MonitorStats,
) {
    if let Some(t) = &table {
        stats.expected.store(t.expected(), Ordering::Relaxed);
    }
    let mut updates = 0u64;
    let mut bytes = 0u64;
    let mut announced = 0u64;
    loop {
        // Everything already buffered, then one read.
        let before = table.as_ref().map(|t| (t.held(), t.correct()));
        while let Some(r) = reader.buffered_message() {
            let msg = reader.buf().get(r).unwrap_or_default();
            bytes += msg.len() as u64;
            match msg.get(18) {
                Some(&kind::UPDATE) => {
                    updates += 1;
                    let res = match table.as_mut() {
                        Some(t) => t.apply(msg, as_pos),
                        None => for_each_prefix(msg, as_pos, |a, _| announced += u64::from(a)).map(|_| ()),
                    };
                    if let Err(e) = res {
                        stats.fail(format!("bad UPDATE: {e}"));
                        return;
                    }
                }
                Some(&kind::NOTIFICATION) => {
                    let n = Message::decode(msg, &SessionContext::modern());
                    stats.fail(format!("NOTIFICATION received: {n:?}"));
                    stats.closed.store(true, Ordering::Relaxed);
                    return;
                }
                _ => {}
            }
        }
        let now = now_ns();
        if let Some(t) = &table {
            if before != Some((t.held(), t.correct())) {
                stats.last_change_ns.store(now, Ordering::Relaxed);
            }
            stats.held.store(t.held(), Ordering::Relaxed);
            stats.correct.store(t.correct(), Ordering::Relaxed);
            stats.unexpected.store(t.unexpected(), Ordering::Relaxed);
        } else {
            stats.unexpected.store(announced, Ordering::Relaxed);
        }
        stats.updates.store(updates, Ordering::Relaxed);
        stats.bytes.store(bytes, Ordering::Relaxed);
        match reader.fill() {
            Ok(0) => {
                stats.fail("session closed by the peer".into());
                stats.closed.store(true, Ordering::Relaxed);
                return;
            }
            Ok(_) => {}
            Err(e) => {
                stats.fail(format!("read: {e}"));
                stats.closed.store(true, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// CPU seconds (utime + stime) of a process, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks as f64 / 100.0)
}

/// A `kB` field of `/proc/PID/status` (`VmHWM`, `VmRSS`), in bytes.
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

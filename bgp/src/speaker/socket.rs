//! BGP transport sockets: TCP-MD5 (RFC 2385), TTL for eBGP multihop, GTSM
//! (RFC 5082), binding to a local address or an interface, IPv6 link-local
//! peers by interface scope.
//!
//! This is the only module of the crate that calls `setsockopt` directly;
//! everything else goes through `socket2` and tokio.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::{TcpListener, TcpStream};

/// TCP port 179.
pub const BGP_PORT: u16 = 179;

/// How a session's socket is set up, whichever side opens it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportOptions {
    /// TCP-MD5 key shared with the peer (RFC 2385), at most 80 bytes.
    pub md5_key: Option<Vec<u8>>,
    /// TTL (hop limit) of our packets: 1 for directly connected eBGP,
    /// more for multihop. `None` leaves the kernel default (64).
    pub ttl: Option<u8>,
    /// GTSM (RFC 5082): send with TTL 255 and accept only packets whose TTL
    /// is at least 256 - hops. Excludes `ttl`.
    pub gtsm_hops: Option<u8>,
    /// Bind to this interface (SO_BINDTODEVICE), e.g. for link-local peers.
    pub interface: Option<String>,
    /// Source address to bind to; port 0 lets the kernel choose.
    pub local_address: Option<IpAddr>,
}

/// Linux `struct tcp_md5sig` (include/uapi/linux/tcp.h).
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; 80],
}

/// The longest key Linux takes (TCP_MD5SIG_MAXKEYLEN).
pub const MD5_MAX_KEY_LEN: usize = 80;

/// Set (or with an empty key, remove) the TCP-MD5 key for `peer` on a
/// socket. On a listening socket this covers the connections it accepts
/// from that peer.
pub fn set_md5_key(socket: &impl AsRawFd, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP-MD5 key of {} bytes; at most {MD5_MAX_KEY_LEN}", key.len()),
        ));
    }
    let peer = SockAddr::from(SocketAddr::new(peer, 0));
    // SAFETY: all-zero bytes are a valid value of this plain C struct.
    #[allow(unsafe_code)]
    let mut sig: TcpMd5Sig = unsafe { std::mem::zeroed() };
    // SAFETY: `peer` holds a valid sockaddr of `peer.len()` bytes, which is
    // at most the size of sockaddr_storage.
    #[allow(unsafe_code)]
    unsafe {
        std::ptr::copy_nonoverlapping(
            peer.as_ptr().cast::<u8>(),
            (&raw mut sig.addr).cast::<u8>(),
            (peer.len() as usize).min(std::mem::size_of::<libc::sockaddr_storage>()),
        );
    }
    sig.keylen = key.len() as u16;
    if let Some(dst) = sig.key.get_mut(..key.len()) {
        dst.copy_from_slice(key);
    }
    // SAFETY: the fd is open for the duration of the call; the option value
    // points to a live struct of the size we pass.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            (&raw const sig).cast::<libc::c_void>(),
            std::mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

fn set_int_opt(socket: &Socket, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the fd is open; the value is a live c_int of the size passed.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const value).cast::<libc::c_void>(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Apply TTL or GTSM to a socket of the given family.
fn apply_ttl(socket: &Socket, v6: bool, opts: &TransportOptions) -> io::Result<()> {
    let (ttl, min) = match (opts.gtsm_hops, opts.ttl) {
        (Some(hops), _) => (255u32, Some(256 - u32::from(hops.max(1)))),
        (None, Some(ttl)) => (u32::from(ttl), None),
        (None, None) => return Ok(()),
    };
    if v6 {
        socket.set_unicast_hops_v6(ttl)?;
        if let Some(min) = min {
            set_int_opt(socket, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, min as libc::c_int)?;
        }
    } else {
        socket.set_ttl_v4(ttl)?;
        if let Some(min) = min {
            set_int_opt(socket, libc::IPPROTO_IP, libc::IP_MINTTL, min as libc::c_int)?;
        }
    }
    Ok(())
}

fn new_socket(v6: bool) -> io::Result<Socket> {
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    Ok(socket)
}

/// Open a BGP connection to `peer` with the given options. For an IPv6
/// link-local peer, give the interface (its scope) in `opts.interface`.
pub async fn connect(peer: SocketAddr, opts: &TransportOptions, timeout: Duration) -> io::Result<TcpStream> {
    let v6 = peer.is_ipv6();
    let socket = new_socket(v6)?;
    if let Some(dev) = &opts.interface {
        socket.bind_device(Some(dev.as_bytes()))?;
    }
    if let Some(local) = opts.local_address {
        socket.bind(&SockAddr::from(SocketAddr::new(local, 0)))?;
    }
    if let Some(key) = &opts.md5_key {
        set_md5_key(&socket, peer.ip(), key)?;
    }
    apply_ttl(&socket, v6, opts)?;
    let peer = with_scope(peer, opts.interface.as_deref())?;
    match socket.connect(&SockAddr::from(peer)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    let stream = TcpStream::from_std(std::net::TcpStream::from(socket))?;
    match tokio::time::timeout(timeout, stream.writable()).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                // The caller knows whether TCP-MD5 is configured and says
                // that a key mismatch looks exactly like this.
                format!("no answer from {peer} within {timeout:?}"),
            ));
        }
    }
    if let Some(e) = stream.take_error()? {
        return Err(e);
    }
    Ok(stream)
}

/// Give a link-local IPv6 address the scope of `interface`.
fn with_scope(peer: SocketAddr, interface: Option<&str>) -> io::Result<SocketAddr> {
    match (peer, interface) {
        (SocketAddr::V6(mut a), Some(ifname)) if a.ip().is_unicast_link_local() && a.scope_id() == 0 => {
            a.set_scope_id(interface_index(ifname)?);
            Ok(SocketAddr::V6(a))
        }
        _ => Ok(peer),
    }
}

/// The kernel's index of an interface.
pub fn interface_index(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in name"))?;
    // SAFETY: `c` is a valid NUL-terminated string for the call.
    #[allow(unsafe_code)]
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 { Err(io::Error::last_os_error()) } else { Ok(index) }
}

/// A listening socket for incoming sessions. TCP-MD5 keys for the peers
/// that use one are set with [`set_md5_key`] on the listener; GTSM and TTL
/// are applied per accepted connection with [`apply_accepted`].
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = new_socket(addr.is_ipv6())?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(128)?;
    TcpListener::from_std(std::net::TcpListener::from(socket))
}

/// Apply TTL/GTSM to a connection we accepted (the peer's options decide).
pub fn apply_accepted(stream: &TcpStream, peer_is_v6: bool, opts: &TransportOptions) -> io::Result<()> {
    let socket = socket2::SockRef::from(stream);
    let (ttl, min) = match (opts.gtsm_hops, opts.ttl) {
        (Some(hops), _) => (255u32, Some(256 - u32::from(hops.max(1)))),
        (None, Some(ttl)) => (u32::from(ttl), None),
        (None, None) => return Ok(()),
    };
    if peer_is_v6 {
        socket.set_unicast_hops_v6(ttl)?;
    } else {
        socket.set_ttl_v4(ttl)?;
    }
    if let Some(min) = min {
        let (level, name) = if peer_is_v6 {
            (libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT)
        } else {
            (libc::IPPROTO_IP, libc::IP_MINTTL)
        };
        // SAFETY: the fd is open; the value is a live c_int.
        #[allow(unsafe_code)]
        let rc = unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                level,
                name,
                (&raw const min).cast::<libc::c_void>(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    /// TCP-MD5 on loopback: matching keys connect, a wrong key or none
    /// never completes the handshake (the kernel drops the segments).
    #[test]
    fn md5_keys_must_match() {
        rt().block_on(async {
            let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = listener.local_addr().unwrap();
            set_md5_key(&listener, "127.0.0.1".parse().unwrap(), b"right").unwrap();
            // The listener stays up for the whole test: a connection
            // attempt must fail because of the key, not a closed port.
            let server = tokio::spawn(async move {
                loop {
                    let (mut s, _) = listener.accept().await.unwrap();
                    s.write_all(b"hi").await.unwrap();
                }
            });
            let good = TransportOptions { md5_key: Some(b"right".to_vec()), ..Default::default() };
            let mut c = connect(addr, &good, Duration::from_secs(2)).await.unwrap();
            let mut buf = [0u8; 2];
            c.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hi");

            let wrong = TransportOptions { md5_key: Some(b"wrong".to_vec()), ..Default::default() };
            let e = connect(addr, &wrong, Duration::from_millis(700)).await.unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            let none =
                connect(addr, &TransportOptions::default(), Duration::from_millis(700)).await.unwrap_err();
            assert_eq!(none.kind(), io::ErrorKind::TimedOut);
            // And the right key still works afterwards.
            connect(addr, &good, Duration::from_secs(2)).await.unwrap();
            server.abort();
        });
    }

    #[test]
    fn keys_longer_than_80_bytes_are_refused() {
        let s = new_socket(false).unwrap();
        let e = set_md5_key(&s, "192.0.2.1".parse().unwrap(), &[1; 81]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn ttl_and_gtsm_are_set() {
        let s = new_socket(false).unwrap();
        apply_ttl(&s, false, &TransportOptions { ttl: Some(2), ..Default::default() }).unwrap();
        assert_eq!(s.ttl_v4().unwrap(), 2);
        let g = new_socket(true).unwrap();
        apply_ttl(&g, true, &TransportOptions { gtsm_hops: Some(1), ..Default::default() }).unwrap();
        assert_eq!(g.unicast_hops_v6().unwrap(), 255);
    }

    #[test]
    fn unknown_interfaces_are_an_error() {
        assert!(interface_index("mdc-no-such-if").is_err());
        assert!(interface_index("lo").is_ok());
    }
}

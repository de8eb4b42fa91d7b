//! `rawpeer`: a minimal BGP speaker for tests, run inside a lab namespace by
//! [`mdc_tests::RawPeer`]. It opens a session (OPEN with IPv4/IPv6 unicast,
//! route refresh and 4-octet AS, encoded by mdc-bgp), answers OPEN with
//! KEEPALIVE, keeps the session alive, and otherwise sends exactly the bytes
//! it is given, so tests can inject any (malformed) message.
//!
//! ```text
//! rawpeer --local-as 65005 --router-id 192.0.2.2 --peer 192.0.2.1 [--hold 9] [--passive]
//!         [--stop-reading] [--two-octet-as]
//! stdin:  send <hex of one or more whole messages, header included> | close
//! stdout: connected <local> <peer> | recv <type> <hex> | established | retry after <why>
//!         | closed <why> | error <what> | stopped reading
//! ```
//!
//! `--stop-reading`: once the session is established, never read the
//! socket again (keepalives still go out), so the peer's send window
//! closes: a test of its send hold timer (RFC 9687).
//!
//! `--two-octet-as`: leave the 4-octet AS capability out of the OPEN, so
//! the session carries 2-octet AS paths (an "OLD" speaker, RFC 6793).

use std::io::{BufRead, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use mdc_bgp::capability::Capability;
use mdc_bgp::message::Message;
use mdc_bgp::open::Open;
use mdc_bgp::{Family, SessionContext};

struct Args {
    local_as: u32,
    router_id: Ipv4Addr,
    peer: IpAddr,
    hold: u16,
    passive: bool,
    stop_reading: bool,
    two_octet_as: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        local_as: 0,
        router_id: Ipv4Addr::UNSPECIFIED,
        peer: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        hold: 9,
        passive: false,
        stop_reading: false,
        two_octet_as: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--local-as" => a.local_as = val()?.parse().map_err(|e| format!("--local-as: {e}"))?,
            "--router-id" => a.router_id = val()?.parse().map_err(|e| format!("--router-id: {e}"))?,
            "--peer" => a.peer = val()?.parse().map_err(|e| format!("--peer: {e}"))?,
            "--hold" => a.hold = val()?.parse().map_err(|e| format!("--hold: {e}"))?,
            "--passive" => a.passive = true,
            "--stop-reading" => a.stop_reading = true,
            "--two-octet-as" => a.two_octet_as = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.local_as == 0 || a.peer.is_unspecified() {
        return Err("--local-as and --peer are required".into());
    }
    Ok(a)
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !s.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("bad hex at {i}"))
        })
        .collect()
}

fn connect(a: &Args) -> Result<TcpStream, String> {
    if a.passive {
        let bind = match a.peer {
            IpAddr::V4(_) => "0.0.0.0:179",
            IpAddr::V6(_) => "[::]:179",
        };
        let l = TcpListener::bind(bind).map_err(|e| format!("listen {bind}: {e}"))?;
        loop {
            let (s, from) = l.accept().map_err(|e| format!("accept: {e}"))?;
            if from.ip() == a.peer {
                return Ok(s);
            }
        }
    }
    let to = SocketAddr::new(a.peer, 179);
    let start = Instant::now();
    loop {
        match TcpStream::connect_timeout(&to, Duration::from_secs(1)) {
            Ok(s) => return Ok(s),
            Err(e) if start.elapsed() > Duration::from_secs(30) => return Err(format!("connect {to}: {e}")),
            Err(_) => thread::sleep(Duration::from_millis(500)),
        }
    }
}

fn encode(m: &Message) -> Result<Vec<u8>, String> {
    let ctx = SessionContext::modern();
    m.encode(&ctx).map(|v| v.concat()).map_err(|e| format!("encode: {e}"))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            say(&format!("error {e}"));
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(&format!("error {e}"));
            ExitCode::FAILURE
        }
    }
}

type Writer = Arc<Mutex<Option<TcpStream>>>;

fn send_to(writer: &Writer, bytes: &[u8]) -> Result<(), String> {
    match writer.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
        Some(s) => s.write_all(bytes).map_err(|e| format!("write: {e}")),
        None => Err("not connected".into()),
    }
}

fn run(a: &Args) -> Result<(), String> {
    let writer: Writer = Arc::new(Mutex::new(None));
    let keepalive = encode(&Message::Keepalive)?;
    let mut caps = vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::Multiprotocol(Family::IPV6_UNICAST),
        Capability::RouteRefresh,
    ];
    if !a.two_octet_as {
        caps.push(Capability::FourOctetAs(a.local_as));
    }
    let open = encode(&Message::Open(Open::new(a.local_as, a.hold, a.router_id, caps)))?;

    // Keepalives every hold/3 seconds on the current connection.
    {
        let writer = Arc::clone(&writer);
        let keepalive = keepalive.clone();
        let every = Duration::from_secs(u64::from((a.hold / 3).max(1)));
        thread::spawn(move || {
            loop {
                thread::sleep(every);
                let _ = send_to(&writer, &keepalive);
            }
        });
    }

    // Commands from stdin; `close` or end of input ends the program.
    {
        let writer = Arc::clone(&writer);
        thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                let line = line.trim();
                if line == "close" {
                    break;
                }
                let result = match line.strip_prefix("send ") {
                    Some(h) => unhex(h).and_then(|b| send_to(&writer, &b)),
                    None if line.is_empty() => Ok(()),
                    None => Err(format!("unknown command {line:?}")),
                };
                if let Err(e) = result {
                    say(&format!("error {e}"));
                }
            }
            if let Some(s) = writer.lock().unwrap_or_else(PoisonError::into_inner).take() {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
            say("closed by harness");
            std::process::exit(0);
        });
    }

    // A session that closes before it is established (the peer was still
    // loading its config, a connection collision) is retried for 30 s;
    // after that, the first close ends the program.
    let start = Instant::now();
    loop {
        let stream = connect(a)?;
        let local = stream.local_addr().map_err(|e| e.to_string())?;
        say(&format!("connected {} {}", local.ip(), a.peer));
        *writer.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(stream.try_clone().map_err(|e| e.to_string())?);
        send_to(&writer, &open)?;
        let (established, why) = session(stream, &writer, &keepalive, a.stop_reading);
        writer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if established || start.elapsed() > Duration::from_secs(30) {
            say(&format!("closed {why}"));
            return Ok(());
        }
        say(&format!("retry after {why}"));
        thread::sleep(Duration::from_secs(1));
    }
}

/// Read messages until the connection ends: whether it was established,
/// and why it ended.
fn session(mut reader: TcpStream, writer: &Writer, keepalive: &[u8], stop_reading: bool) -> (bool, String) {
    let mut established = false;
    let mut got_open = false;
    loop {
        let mut header = [0u8; 19];
        if let Err(e) = reader.read_exact(&mut header) {
            return (established, e.to_string());
        }
        let len = usize::from(u16::from_be_bytes([header[16], header[17]]));
        if len < 19 {
            return (established, format!("bad length {len}"));
        }
        let mut msg = header.to_vec();
        msg.resize(len, 0);
        if let Some(body) = msg.get_mut(19..)
            && let Err(e) = reader.read_exact(body)
        {
            return (established, e.to_string());
        }
        let kind = match header[18] {
            1 => "open",
            2 => "update",
            3 => "notification",
            4 => "keepalive",
            5 => "route-refresh",
            _ => "unknown",
        };
        say(&format!("recv {kind} {}", hex(&msg)));
        match kind {
            "open" => {
                got_open = true;
                if let Err(e) = send_to(writer, keepalive) {
                    return (established, e);
                }
            }
            "keepalive" if got_open && !established => {
                established = true;
                say("established");
                if stop_reading {
                    say("stopped reading");
                    // Keep the socket (and its closed receive window) open
                    // until the harness ends the program.
                    loop {
                        thread::park();
                    }
                }
            }
            "notification" => return (established, "notification".into()),
            _ => {}
        }
    }
}

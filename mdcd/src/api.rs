//! The local API: a Unix socket only root can open, one JSON request per
//! line, one JSON response per line. `mdcctl` is its client. It reads state,
//! and resets sessions (`clear bgp`, as FRR's `clear bgp ... [soft] [in|out]`).
//!
//! ```text
//! > {"request":"neighbors"}
//! < {"ok":{"neighbors":[{"address":"192.0.2.1","remote_as":65000,...}]}}
//! > {"request":"routes","family":"ipv4-unicast","prefix":"198.51.100.0/22","longer-prefixes":true}
//! < {"ok":{"routes":[{"prefix":"198.51.100.0/24","next_hop":"192.0.2.1","best":true,...}]}}
//! > {"request":"clear-bgp","peer":"192.0.2.1","soft":"in"}
//! < {"ok":{"done":"192.0.2.1: soft reset in"}}
//! ```

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// One BGP neighbor, as `mdcctl show neighbors` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborView {
    pub address: String,
    pub remote_as: Option<u32>,
    pub description: Option<String>,
    pub state: String,
    /// Seconds in the current state.
    pub state_secs: u64,
    pub prefixes_received: u64,
    /// Routes the neighbor holds from us (Adj-RIB-Out).
    #[serde(default)]
    pub prefixes_advertised: u64,
    pub messages_received: u64,
    pub messages_sent: u64,
    /// Negotiated capabilities, in words, when Established.
    pub capabilities: Vec<String>,
    /// Why the last session ended, if it did.
    pub last_error: Option<String>,
    /// UPDATEs not taken as they came (RFC 7606, the sender's checks:
    /// attributes discarded, routes withdrawn, families disabled).
    #[serde(default)]
    pub update_errors: u64,
    /// The last of them, in words.
    #[serde(default)]
    pub last_update_error: Option<String>,
    /// An eBGP peer without an import policy under RFC 8212: nothing it
    /// sends is accepted (FRR's "(Policy)").
    #[serde(default)]
    pub no_import_policy: bool,
    /// Likewise without an export policy: it is sent nothing.
    #[serde(default)]
    pub no_export_policy: bool,
}

/// One path in the Loc-RIB, as `mdcctl show routes` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RouteView {
    pub family: String,
    pub prefix: String,
    pub path_id: Option<u32>,
    /// The neighbor it came from, or `None` for a route we originate.
    pub peer: Option<String>,
    pub next_hop: String,
    pub as_path: String,
    pub origin: String,
    pub med: Option<u32>,
    pub local_pref: Option<u32>,
    /// RFC 1997 and large communities.
    pub communities: Vec<String>,
    pub stale: bool,
    /// The best path to its prefix.
    #[serde(default)]
    pub best: bool,
    /// Used for ECMP (the best path is too).
    #[serde(default)]
    pub multipath: bool,
    /// Why it is not the best path: the decision step that preferred the best.
    #[serde(default)]
    pub lost: Option<String>,
    #[serde(default)]
    pub weight: u32,
    #[serde(default)]
    pub originator_id: Option<String>,
    #[serde(default)]
    pub cluster_list: Vec<String>,
    /// Every other attribute, in words (extended communities, AGGREGATOR,
    /// ATOMIC_AGGREGATE, unknown ones with their flags and length...).
    #[serde(default)]
    pub other_attributes: Vec<String>,
}

/// `mdcctl show fib`: the kernel table against what the RIB wants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibView {
    pub table: u32,
    pub metric: u32,
    pub graceful_restart: bool,
    /// Still keeping routes of an earlier run while BGP converges.
    pub adopting: bool,
    /// While adopting: the initial tables (peer and family) still awaited.
    #[serde(default)]
    pub waiting_for: Vec<String>,
    pub uptime_secs: u64,
    /// Routes the RIB wants installed.
    pub desired: usize,
    /// Routes of ours in the kernel table.
    pub installed: usize,
    /// Desired and installed alike.
    pub in_sync: usize,
    /// Every difference: wanted but missing or different, or installed but
    /// not wanted.
    pub drift: Vec<DriftView>,
    pub next_hops: Vec<NextHopView>,
    pub failed_total: u64,
    pub recent_failures: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftView {
    pub prefix: String,
    /// `None`: not wanted (stale).
    pub desired: Option<String>,
    /// `None`: missing from the kernel.
    pub kernel: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextHopView {
    pub address: String,
    pub reachable: bool,
    pub igp_cost: Option<u32>,
    /// The kernel route it resolves through.
    pub via: Option<String>,
    pub kernel_next_hops: Vec<String>,
}

/// Which routes `show routes` wants. Absent fields do not filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub struct RouteQuery {
    /// `ipv4-unicast`, `ipv6-unicast`, or all when absent.
    #[serde(default)]
    pub family: Option<String>,
    /// This prefix exactly, or with `longer_prefixes` every prefix inside it.
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub longer_prefixes: bool,
    /// Paths learned from this neighbor (`local`: originated here).
    #[serde(default)]
    pub peer: Option<String>,
    /// Paths carrying this community (`65000:1`, `65000:1:2`, or a
    /// well-known name such as `no-export`).
    #[serde(default)]
    pub community: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "request")]
pub enum Request {
    Neighbors,
    Routes(RouteQuery),
    /// Reset a session (Cease/4), or with `soft` re-run the import policy
    /// (`in`: from the pre-policy copy or a ROUTE-REFRESH), re-send the
    /// table (`out`), or both. The session stays up with `soft`.
    ClearBgp {
        peer: String,
        #[serde(default)]
        soft: Option<SoftReset>,
    },
    /// The kernel table against what the RIB wants installed.
    Fib,
    /// The daemon's version and the git commit it was built from.
    Version,
}

/// Which way a soft reset goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SoftReset {
    In,
    Out,
    Both,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    Neighbors(Vec<NeighborView>),
    Routes(Vec<RouteView>),
    Fib(Box<FibView>),
    /// What a command did.
    Done(String),
    /// The running daemon's version and the git commit it was built from.
    Version {
        version: String,
        commit: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Response {
    Ok(Answer),
    Error(String),
}

/// Where the daemon's state comes from.
pub trait StateSource: Send + Sync + 'static {
    fn neighbors(&self) -> impl Future<Output = Vec<NeighborView>> + Send;
    /// Paths matching `query`; the query is already validated.
    fn routes(&self, query: &RouteFilter) -> impl Future<Output = Vec<RouteView>> + Send;
    /// Reset the session with `peer` (see [`Request::ClearBgp`]).
    fn clear_bgp(
        &self,
        peer: std::net::IpAddr,
        soft: Option<SoftReset>,
    ) -> impl Future<Output = Result<String, String>> + Send;
    /// The FIB, if mdcd installs routes.
    fn fib(&self) -> impl Future<Output = Result<FibView, String>> + Send;
}

/// A validated [`RouteQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteFilter {
    pub families: Vec<mdc_bgp::family::Family>,
    pub prefix: Option<mdc_bgp::nlri::Prefix>,
    pub longer_prefixes: bool,
    /// `Some(None)`: originated here.
    pub peer: Option<Option<std::net::IpAddr>>,
    /// The community as [`RouteView::communities`] spells it.
    pub community: Option<String>,
}

impl RouteFilter {
    /// Check a query; the error says what was wrong and what is allowed.
    pub fn new(q: &RouteQuery) -> Result<RouteFilter, String> {
        use mdc_bgp::family::Family;
        let families = match q.family.as_deref() {
            None => vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST, Family::L2VPN_EVPN],
            Some("ipv4-unicast") => vec![Family::IPV4_UNICAST],
            Some("ipv6-unicast") => vec![Family::IPV6_UNICAST],
            Some("l2vpn-evpn") => vec![Family::L2VPN_EVPN],
            Some(other) => {
                return Err(format!(
                    "unknown family {other:?}; expected ipv4-unicast, ipv6-unicast or l2vpn-evpn"
                ));
            }
        };
        let prefix =
            match &q.prefix {
                None => None,
                Some(p) => Some(p.parse::<mdc_bgp::nlri::Prefix>().map_err(|e| {
                    format!("prefix {p:?}: {e}; expected e.g. 198.51.100.0/24 or 2001:db8::/32")
                })?),
            };
        let peer = match q.peer.as_deref() {
            None => None,
            Some("local") => Some(None),
            Some(a) => Some(Some(
                a.parse().map_err(|_| format!("peer {a:?}: expected a neighbor address or `local`"))?,
            )),
        };
        let community = match &q.community {
            None => None,
            Some(c) => Some(normalise_community(c)?),
        };
        Ok(RouteFilter { families, prefix, longer_prefixes: q.longer_prefixes, peer, community })
    }
}

/// A community as `RouteView::communities` prints it.
fn normalise_community(c: &str) -> Result<String, String> {
    use mdc_bgp::community::{Community, LargeCommunity};
    if let Ok(v) = c.parse::<Community>() {
        return Ok(v.to_string());
    }
    if let Ok(v) = c.parse::<LargeCommunity>() {
        return Ok(v.to_string());
    }
    Err(format!(
        "community {c:?}: expected ASN:VALUE (65000:100), GLOBAL:LOCAL1:LOCAL2 (65000:1:2) or a well-known name (no-export, no-advertise, blackhole, ...)"
    ))
}

/// The longest request line accepted (a request is a few dozen bytes).
const MAX_REQUEST: u64 = 4096;

/// Bind the API socket: any stale socket file is replaced, the mode is
/// 0600 so only root (the daemon's user) can connect.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Answer requests until the listener fails.
pub async fn serve<S: StateSource>(listener: UnixListener, source: std::sync::Arc<S>) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let source = source.clone();
        tokio::spawn(async move {
            // A client that goes away mid-answer is not our problem.
            let _ = answer(stream, &*source).await;
        });
    }
}

async fn answer<S: StateSource>(stream: UnixStream, source: &S) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(tokio::io::AsyncReadExt::take(read, MAX_REQUEST)).lines();
    while let Some(line) = lines.next_line().await? {
        let response = match serde_json::from_str::<Request>(&line) {
            Ok(Request::Neighbors) => Response::Ok(Answer::Neighbors(source.neighbors().await)),
            Ok(Request::Routes(q)) => match RouteFilter::new(&q) {
                Ok(filter) => Response::Ok(Answer::Routes(source.routes(&filter).await)),
                Err(e) => Response::Error(e),
            },
            Ok(Request::ClearBgp { peer, soft }) => match peer.parse() {
                Ok(ip) => match source.clear_bgp(ip, soft).await {
                    Ok(done) => Response::Ok(Answer::Done(done)),
                    Err(e) => Response::Error(e),
                },
                Err(_) => Response::Error(format!("peer {peer:?}: expected a neighbor address")),
            },
            Ok(Request::Fib) => match source.fib().await {
                Ok(v) => Response::Ok(Answer::Fib(Box::new(v))),
                Err(e) => Response::Error(e),
            },
            Ok(Request::Version) => Response::Ok(Answer::Version {
                version: env!("CARGO_PKG_VERSION").to_string(),
                commit: crate::COMMIT.to_string(),
            }),
            Err(e) => Response::Error(format!("bad request: {e}")),
        };
        let mut out = serde_json::to_vec(&response).map_err(io::Error::other)?;
        out.push(b'\n');
        write.write_all(&out).await?;
    }
    Ok(())
}

/// Send one request and read its response (the `mdcctl` side).
pub async fn request(path: &Path, req: &Request) -> io::Result<Response> {
    let stream = UnixStream::connect(path).await.map_err(|e| {
        io::Error::new(e.kind(), format!("{}: {e} (is mdcd running, and are you root?)", path.display()))
    })?;
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(req).map_err(io::Error::other)?;
    line.push(b'\n');
    write.write_all(&line).await?;
    let mut lines = BufReader::new(read).lines();
    let answer = lines.next_line().await?.ok_or_else(|| {
        io::Error::new(io::ErrorKind::UnexpectedEof, "mdcd closed the connection without answering")
    })?;
    serde_json::from_str(&answer).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// `hh:mm:ss`, or `NdHHh` past a day, as FRR prints up/down times.
pub fn format_duration(secs: u64) -> String {
    if secs >= 86_400 {
        format!("{}d{:02}h", secs / 86_400, secs % 86_400 / 3600)
    } else {
        format!("{:02}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
    }
}

/// The neighbor table, in the spirit of `show bgp summary`.
pub fn neighbors_table(neighbors: &[NeighborView]) -> String {
    let mut rows = vec![[
        "Neighbor".to_string(),
        "AS".into(),
        "State".into(),
        "Up/Down".into(),
        "PfxRcd".into(),
        "PfxSnt".into(),
        "MsgRcvd".into(),
        "MsgSent".into(),
        "Description".into(),
    ]];
    for n in neighbors {
        rows.push([
            n.address.clone(),
            n.remote_as.map_or_else(|| "-".into(), |a| a.to_string()),
            n.state.clone(),
            format_duration(n.state_secs),
            if n.no_import_policy { "(Policy)".into() } else { n.prefixes_received.to_string() },
            if n.no_export_policy { "(Policy)".into() } else { n.prefixes_advertised.to_string() },
            n.messages_received.to_string(),
            n.messages_sent.to_string(),
            n.description.clone().unwrap_or_default(),
        ]);
    }
    let mut out = table(&rows);
    // What went wrong, below the table (as `show bgp neighbors` would say).
    for n in neighbors {
        if let Some(e) = &n.last_error {
            out.push_str(&format!("{}: last down: {e}\n", n.address));
        }
        if let Some(e) = &n.last_update_error {
            out.push_str(&format!(
                "{}: {} UPDATEs not taken as sent; last: {e}\n",
                n.address, n.update_errors
            ));
        }
    }
    out
}

/// The route table, in the spirit of `show bgp ipv4 unicast`: `*` valid,
/// `>` best, `=` multipath (ECMP), `S` stale.
pub fn routes_table(routes: &[RouteView]) -> String {
    let mut rows = vec![[
        "  ".to_string(),
        "Network".into(),
        "Next Hop".into(),
        "MED".into(),
        "LocPrf".into(),
        "Path".into(),
        "From".into(),
    ]];
    for r in routes {
        let origin = match r.origin.as_str() {
            "IGP" => "i",
            "EGP" => "e",
            _ => "?",
        };
        let prefix = match r.path_id {
            Some(id) => format!("{} (id {id})", r.prefix),
            None => r.prefix.clone(),
        };
        let status = format!(
            "{}{}",
            if r.stale { "S" } else { "*" },
            if r.best {
                ">"
            } else if r.multipath {
                "="
            } else {
                ""
            }
        );
        rows.push([
            status,
            prefix,
            r.next_hop.clone(),
            r.med.map(|m| m.to_string()).unwrap_or_default(),
            r.local_pref.map(|m| m.to_string()).unwrap_or_default(),
            format!("{} {origin}", r.as_path).trim_start().to_string(),
            r.peer.clone().unwrap_or_else(|| "local".into()),
        ]);
    }
    let mut out = table(&rows);
    let best = routes.iter().filter(|r| r.best).count();
    out.push_str(&format!("\n{best} prefix(es), {} path(s)\n", routes.len()));
    out
}

/// Every path in full, with why it is not the best (`--detail`).
pub fn routes_detail(routes: &[RouteView]) -> String {
    let mut out = String::new();
    let mut last: Option<(&str, &str)> = None;
    for r in routes {
        if last != Some((&r.family, &r.prefix)) {
            out.push_str(&format!("{} ({})\n", r.prefix, r.family));
            last = Some((&r.family, &r.prefix));
        }
        let mut flags = Vec::new();
        if r.best {
            flags.push("best".to_string());
        }
        if r.multipath {
            flags.push("multipath".to_string());
        }
        if r.stale {
            flags.push("stale".to_string());
        }
        if let Some(why) = &r.lost {
            flags.push(format!("not best: lost on {why}"));
        }
        let from = r.peer.clone().unwrap_or_else(|| "local (originated here)".into());
        let id = r.path_id.map(|i| format!(", path id {i}")).unwrap_or_default();
        out.push_str(&format!("  from {from}{id}: {}\n", flags.join(", ")));
        let path = if r.as_path.is_empty() { "(empty)" } else { &r.as_path };
        out.push_str(&format!("    AS path {path}, origin {}, next hop {}\n", r.origin, r.next_hop));
        let med = r.med.map_or("none".to_string(), |m| m.to_string());
        let lp = r.local_pref.map_or("none".to_string(), |m| m.to_string());
        out.push_str(&format!("    MED {med}, local preference {lp}, weight {}\n", r.weight));
        if !r.communities.is_empty() {
            out.push_str(&format!("    communities {}\n", r.communities.join(" ")));
        }
        if let Some(o) = &r.originator_id {
            out.push_str(&format!("    originator {o}, cluster list {}\n", r.cluster_list.join(" ")));
        }
        for a in &r.other_attributes {
            out.push_str(&format!("    {a}\n"));
        }
    }
    out
}

/// Left-aligned columns, two spaces apart, trailing spaces trimmed.
/// `mdcctl show fib`: a summary, the next hops and how the kernel reaches
/// them, then every difference between the RIB and the kernel.
pub fn fib_table(v: &FibView) -> String {
    let mut out = format!(
        "Table {}, metric {}, graceful restart {}{}\n",
        v.table,
        v.metric,
        if v.graceful_restart { "on" } else { "off" },
        if v.adopting { " (keeping the previous run's routes until BGP converges)" } else { "" }
    );
    if v.adopting && !v.waiting_for.is_empty() {
        out.push_str(&format!("Waiting for End-of-RIB from: {}\n", v.waiting_for.join(", ")));
    }
    out.push_str(&format!(
        "Routes: {} wanted, {} in the kernel, {} in sync, {} differ\n",
        v.desired,
        v.installed,
        v.in_sync,
        v.drift.len()
    ));
    if !v.next_hops.is_empty() {
        out.push_str("\nNext hops:\n");
        let mut rows = vec![[
            "Next Hop".to_string(),
            "Reachable".into(),
            "IGP cost".into(),
            "Via".into(),
            "Kernel".into(),
        ]];
        for n in &v.next_hops {
            rows.push([
                n.address.clone(),
                if n.reachable { "yes" } else { "no" }.into(),
                n.igp_cost.map_or_else(|| "-".into(), |c| c.to_string()),
                n.via.clone().unwrap_or_else(|| "-".into()),
                n.kernel_next_hops.join(", "),
            ]);
        }
        out.push_str(&table(&rows));
    }
    if !v.drift.is_empty() {
        out.push_str("\nDrift (RIB against kernel):\n");
        let mut rows = vec![["Prefix".to_string(), "Wanted".into(), "Kernel".into()]];
        for d in &v.drift {
            rows.push([
                d.prefix.clone(),
                d.desired.clone().unwrap_or_else(|| "(not wanted)".into()),
                d.kernel.clone().unwrap_or_else(|| "(missing)".into()),
            ]);
        }
        out.push_str(&table(&rows));
    }
    if v.failed_total > 0 {
        out.push_str(&format!("\nFailures: {} in total; the latest:\n", v.failed_total));
        for f in &v.recent_failures {
            out.push_str(&format!("  {f}\n"));
        }
    }
    out
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<w$}  "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl StateSource for Fixed {
        async fn neighbors(&self) -> Vec<NeighborView> {
            vec![NeighborView {
                address: "192.0.2.1".into(),
                remote_as: Some(65000),
                description: Some("core".into()),
                state: "Established".into(),
                state_secs: 3723,
                prefixes_received: 3,
                prefixes_advertised: 2,
                messages_received: 10,
                messages_sent: 12,
                capabilities: vec!["4-octet-as 65000".into()],
                last_error: None,
                no_import_policy: false,
                no_export_policy: true,
                update_errors: 2,
                last_update_error: Some(
                    "treat-as-withdraw: NEXT_HOP at byte 35: 0.0.0.0/8 is not a usable next hop".into(),
                ),
            }]
        }
        async fn routes(&self, q: &RouteFilter) -> Vec<RouteView> {
            let r = RouteView {
                family: "ipv4-unicast".into(),
                prefix: "198.51.100.0/24".into(),
                path_id: None,
                peer: Some("192.0.2.1".into()),
                next_hop: "192.0.2.1".into(),
                as_path: "65000".into(),
                origin: "IGP".into(),
                med: Some(0),
                local_pref: None,
                communities: vec![],
                stale: false,
                best: true,
                ..RouteView::default()
            };
            if q.families.contains(&mdc_bgp::family::Family::IPV4_UNICAST) { vec![r] } else { vec![] }
        }
        async fn clear_bgp(&self, peer: std::net::IpAddr, soft: Option<SoftReset>) -> Result<String, String> {
            match (peer.to_string().as_str(), soft) {
                ("192.0.2.1", Some(SoftReset::In)) => Ok("soft in".into()),
                (p, _) => Err(format!("no neighbor {p}")),
            }
        }

        async fn fib(&self) -> Result<FibView, String> {
            Err("mdcd does not install routes ([fib] install = false)".into())
        }
    }

    #[test]
    fn the_fib_table_shows_next_hops_and_every_difference() {
        let v = FibView {
            table: 254,
            metric: 20,
            desired: 2,
            installed: 2,
            in_sync: 1,
            drift: vec![
                DriftView {
                    prefix: "198.51.100.0/24".into(),
                    desired: Some("via 192.0.2.2 dev to-n".into()),
                    kernel: None,
                },
                DriftView {
                    prefix: "203.0.113.0/24".into(),
                    desired: None,
                    kernel: Some("via 192.0.2.66".into()),
                },
            ],
            next_hops: vec![NextHopView {
                address: "192.0.2.2".into(),
                reachable: true,
                igp_cost: Some(0),
                via: Some("192.0.2.0/26".into()),
                kernel_next_hops: vec!["via 192.0.2.2 dev to-n".into()],
            }],
            failed_total: 1,
            recent_failures: vec!["198.51.100.0/24: No such device".into()],
            ..FibView::default()
        };
        assert_eq!(
            fib_table(&v),
            "Table 254, metric 20, graceful restart off\n\
             Routes: 2 wanted, 2 in the kernel, 1 in sync, 2 differ\n\
             \n\
             Next hops:\n\
             Next Hop   Reachable  IGP cost  Via           Kernel\n\
             192.0.2.2  yes        0         192.0.2.0/26  via 192.0.2.2 dev to-n\n\
             \n\
             Drift (RIB against kernel):\n\
             Prefix           Wanted                  Kernel\n\
             198.51.100.0/24  via 192.0.2.2 dev to-n  (missing)\n\
             203.0.113.0/24   (not wanted)            via 192.0.2.66\n\
             \n\
             Failures: 1 in total; the latest:\n  198.51.100.0/24: No such device\n"
        );
    }

    #[test]
    fn requests_are_answered_over_a_root_only_socket() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = std::env::temp_dir().join(format!("mdcd-api-test-{}", std::process::id()));
            let path = dir.join("mdcd.sock");
            let listener = bind(&path).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let server = tokio::spawn(serve(listener, std::sync::Arc::new(Fixed)));

            let Response::Ok(Answer::Neighbors(n)) = request(&path, &Request::Neighbors).await.unwrap()
            else {
                panic!("not a neighbor list")
            };
            assert_eq!(n[0].address, "192.0.2.1");
            let table = neighbors_table(&n);
            assert!(table.starts_with("Neighbor   AS     State"), "{table}");
            assert!(table.contains("192.0.2.1  65000  Established  01:02:03  3       (Policy)"), "{table}");
            assert!(
                table.ends_with(
                    "192.0.2.1: 2 UPDATEs not taken as sent; last: treat-as-withdraw: NEXT_HOP at byte 35: \
                     0.0.0.0/8 is not a usable next hop\n"
                ),
                "{table}"
            );

            let clear = |peer: &str, soft| Request::ClearBgp { peer: peer.into(), soft };
            assert_eq!(
                request(&path, &clear("192.0.2.1", Some(SoftReset::In))).await.unwrap(),
                Response::Ok(Answer::Done("soft in".into()))
            );
            assert!(matches!(request(&path, &clear("192.0.2.9", None)).await.unwrap(), Response::Error(e) if e.contains("192.0.2.9")));
            assert!(matches!(request(&path, &clear("nowhere", None)).await.unwrap(), Response::Error(e) if e.contains("nowhere")));

            let q = |f: &str| RouteQuery { family: Some(f.into()), ..RouteQuery::default() };
            let req = Request::Routes(q("ipv6-unicast"));
            assert_eq!(request(&path, &req).await.unwrap(), Response::Ok(Answer::Routes(vec![])));
            let req = Request::Routes(q("ipv4-unicast"));
            let Response::Ok(Answer::Routes(r)) = request(&path, &req).await.unwrap() else { panic!() };
            let table = routes_table(&r);
            assert!(table.contains("*>  198.51.100.0/24  192.0.2.1  0"), "{table}");
            assert!(table.contains("65000 i"), "{table}");
            let detail = routes_detail(&r);
            assert!(detail.contains("198.51.100.0/24 (ipv4-unicast)\n  from 192.0.2.1: best\n"), "{detail}");
            for (bad, says) in [
                (q("ipv9"), "ipv9"),
                (RouteQuery { prefix: Some("10.0.0.0/33".into()), ..RouteQuery::default() }, "10.0.0.0/33"),
                (RouteQuery { peer: Some("nowhere".into()), ..RouteQuery::default() }, "nowhere"),
                (RouteQuery { community: Some("65000:x".into()), ..RouteQuery::default() }, "65000:x"),
            ] {
                let answer = request(&path, &Request::Routes(bad)).await.unwrap();
                assert!(matches!(&answer, Response::Error(e) if e.contains(says)), "{answer:?}");
            }

            let Response::Ok(Answer::Version { version, commit }) = request(&path, &Request::Version).await.unwrap()
            else {
                panic!("not a version")
            };
            assert_eq!(version, env!("CARGO_PKG_VERSION"));
            assert_eq!(commit, crate::COMMIT);

            server.abort();
            let _ = std::fs::remove_dir_all(&dir);
        });
    }

    /// The build records the commit of the checkout it was built from (a
    /// checkout without git says "unknown": then git must really be absent).
    #[test]
    fn the_build_names_its_git_commit() {
        let head = std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        match (head, std::env::var("MDC_GIT_COMMIT")) {
            (_, Ok(set)) if !set.is_empty() => assert_eq!(crate::COMMIT, set),
            (Some(head), _) => {
                assert!(crate::COMMIT.starts_with(&head), "{} is not HEAD {head}", crate::COMMIT)
            }
            (None, _) => assert_eq!(crate::COMMIT, "unknown"),
        }
        assert!(crate::VERSION.contains(crate::COMMIT), "{}", crate::VERSION);
    }

    #[test]
    fn durations_like_frr() {
        assert_eq!(format_duration(59), "00:00:59");
        assert_eq!(format_duration(3 * 86_400 + 7200), "3d02h");
    }
}

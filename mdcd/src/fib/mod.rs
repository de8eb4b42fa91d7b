//! Installing the Loc-RIB in the kernel (`[fib]`, ADR 0009).
//!
//! The RIB sends each flush's changed destinations (their ECMP set's BGP
//! next hops) to a thread of its own here, which turns every BGP next hop
//! into the kernel next hops that reach it and installs the routes through
//! `mdc-fib`, many per system call.
//!
//! The parts:
//!
//! - [`resolve`]: the next-hop resolution rules (connected, recursive,
//!   what never resolves a next hop), pure.
//! - [`installer`]: the logic (install, next-hop tracking, reconcile,
//!   graceful-restart adoption, `show fib`), written against
//!   [`mdc_fib::Dataplane`] and [`installer::RibLink`] so that its unit
//!   tests run on an in-memory kernel without root.
//! - [`adopt`]: which initial tables a graceful start waits for.
//! - this module: the shell. Two threads (the installer's, and the
//!   kernel watcher's that feeds it events), the channel between them and
//!   the daemon, and the speaker as the installer's RIB.
//!
//! Start and stop: without graceful restart, the table is reconciled at
//! once (routes of an earlier run go) and our routes are removed when mdcd
//! stops. With it, routes stay when mdcd stops or dies; the next start
//! leaves the kernel as it found it until every peer sent End-of-RIB (or
//! `restart-time` passed), then reconciles once: routes still wanted are
//! kept or replaced in place, the rest removed.

pub mod adopt;
pub mod installer;
pub mod resolve;

use std::net::IpAddr;
use std::sync::mpsc;

use mdc_bgp::family::Family;
use mdc_bgp::nlri::Prefix;
use mdc_bgp::rib::FibChange;
use mdc_bgp::speaker::{FibSink, Speaker};
use mdc_fib::{Event, Fib, FibError, Watcher};
use tokio::runtime::Handle;
use tracing::{info, warn};

use crate::api::FibView;
use crate::config::FibOptions;
use installer::{Installer, RibLink};

/// Changes applied together at most, when several flushes' wait.
const COALESCE: usize = 16 * 1024;

/// What the FIB thread is asked to do.
enum Input {
    Changes(Vec<FibChange>),
    Kernel(Vec<Event>),
    WatchFailed(String),
    /// BGP converged after a graceful start: remove what it did not learn
    /// again.
    Converged,
    /// The initial tables a graceful start still waits for.
    WaitingFor(Vec<String>),
    Show(tokio::sync::oneshot::Sender<FibView>),
    /// An unnumbered peer's link-local address and its interface.
    LinkLocal(IpAddr, u32),
    /// Stop applying the RIB's changes (the speaker is about to stop, and
    /// its peers going down must not empty a table graceful restart keeps).
    Freeze,
    Stop(mpsc::Sender<()>),
}

impl Input {
    /// How many changes or events it carries; inputs that are not batches
    /// count as full.
    fn batch_len(&self) -> usize {
        match self {
            Input::Changes(v) => v.len(),
            Input::Kernel(v) => v.len(),
            _ => COALESCE,
        }
    }

    /// Take `more` into this batch if it is of the same kind; else give it
    /// back.
    fn absorb(&mut self, more: Input) -> Result<(), Input> {
        match (self, more) {
            (Input::Changes(v), Input::Changes(m)) => v.extend(m),
            (Input::Kernel(v), Input::Kernel(m)) => v.extend(m),
            (_, other) => return Err(other),
        }
        Ok(())
    }
}

/// The running FIB thread.
#[derive(Clone)]
pub struct FibHandle {
    tx: mpsc::Sender<Input>,
    thread: std::sync::Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

/// What the daemon starts with: the kernel opened before the speaker, so
/// that an error (not root) stops the start.
pub struct Prepared {
    fib: Fib,
    watcher: Watcher,
    tx: mpsc::Sender<Input>,
    rx: mpsc::Receiver<Input>,
}

impl Prepared {
    pub fn open() -> Result<Prepared, FibError> {
        let fib = Fib::open(mdc_fib::PROTOCOL)?;
        let watcher = Watcher::open(mdc_fib::PROTOCOL)?;
        watcher.ignore_port(fib.port_id()?)?;
        let (tx, rx) = mpsc::channel();
        Ok(Prepared { fib, watcher, tx, rx })
    }

    /// For `SpeakerConfig::fib`.
    pub fn sink(&self) -> FibSink {
        let tx = self.tx.clone();
        FibSink::new(move |changes| {
            let _ = tx.send(Input::Changes(changes));
        })
    }

    /// Start installing. A graceful start keeps the routes of an earlier
    /// run until [`FibHandle::converged`]; it returns their gateways then
    /// (`None`: nothing kept, nothing to wait for).
    pub fn start(
        self,
        options: &FibOptions,
        speaker: Speaker,
        rt: Handle,
    ) -> (FibHandle, Option<std::collections::BTreeSet<IpAddr>>) {
        let Prepared { fib, mut watcher, tx, rx } = self;
        name_protocol();
        let events = tx.clone();
        let spawned = std::thread::Builder::new().name("mdc-fib-watch".into()).spawn(move || {
            loop {
                match watcher.wait() {
                    Ok(e) if e.is_empty() => {}
                    Ok(e) => {
                        if events.send(Input::Kernel(e)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = events.send(Input::WatchFailed(e.to_string()));
                        return;
                    }
                }
            }
        });
        if let Err(e) = spawned {
            warn!("fib: cannot start the kernel watcher: {e}");
        }
        let rib = SpeakerRib { speaker, rt };
        let mut installer = Installer::new(fib, rib, options, mdc_fib::PROTOCOL);
        // Before any peer is added: what an earlier run left is read
        // before anything changes it.
        let kept = installer.survey();
        let thread = std::thread::Builder::new()
            .name("mdc-fib".into())
            .spawn(move || {
                installer.start();
                let mut next = None;
                while let Some(mut input) = next.take().or_else(|| rx.recv().ok()) {
                    // Batches waiting behind this one go to the kernel with
                    // it (fewer, fuller system calls while a table arrives),
                    // and a burst of kernel events is resolved once.
                    while input.batch_len() < COALESCE {
                        let Ok(more) = rx.try_recv() else { break };
                        if let Err(other) = input.absorb(more) {
                            next = Some(other);
                            break;
                        }
                    }
                    if !on(&mut installer, input) {
                        break;
                    }
                }
            })
            .map_err(|e| warn!("fib: cannot start: {e}"))
            .ok();
        (FibHandle { tx, thread: std::sync::Arc::new(std::sync::Mutex::new(thread)) }, kept)
    }
}

impl FibHandle {
    /// The initial tables a graceful start still waits for (`show fib`).
    pub fn waiting_for(&self, tables: Vec<String>) {
        let _ = self.tx.send(Input::WaitingFor(tables));
    }

    /// Every peer finished its initial table (or the restart time passed).
    pub fn converged(&self) {
        let _ = self.tx.send(Input::Converged);
    }

    /// Next hops at `addr` (an unnumbered peer's link-local address, RFC
    /// 8950) are on interface `ifindex`: the kernel cannot tell which
    /// interface a link-local address is on.
    pub fn link_local(&self, addr: IpAddr, ifindex: u32) {
        let _ = self.tx.send(Input::LinkLocal(addr, ifindex));
    }

    pub fn freeze(&self) {
        let _ = self.tx.send(Input::Freeze);
    }

    /// The table for `mdcctl show fib`.
    pub async fn show(&self) -> Option<FibView> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx.send(Input::Show(tx)).ok()?;
        rx.await.ok()
    }

    /// Remove our routes (without graceful restart) and end the thread.
    pub fn stop(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Input::Stop(tx)).is_ok() {
            let _ = rx.recv();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// The speaker, as the installer's RIB.
struct SpeakerRib {
    speaker: Speaker,
    rt: Handle,
}

impl RibLink for SpeakerRib {
    fn set_next_hop(&mut self, nh: IpAddr, reach: Option<u32>) -> Result<(), String> {
        self.speaker.set_next_hop(nh, reach).map_err(|e| e.to_string())
    }

    fn refresh(&mut self, family: Family, prefix: Prefix) -> Result<(), String> {
        self.speaker.refresh_fib(family, prefix).map_err(|e| e.to_string())
    }

    fn table(&mut self) -> Result<Vec<FibChange>, String> {
        let speaker = self.speaker.clone();
        self.rt.block_on(speaker.fib_table()).map_err(|e| e.to_string())
    }
}

/// Hand one input to the installer; false to end the thread.
fn on(installer: &mut Installer<Fib, SpeakerRib>, input: Input) -> bool {
    match input {
        Input::Changes(c) => installer.changes(c),
        Input::Kernel(events) => installer.events(events),
        Input::WatchFailed(e) => {
            warn!("fib: the kernel watcher stopped: {e}; next hops are no longer tracked")
        }
        Input::Converged => installer.converged(),
        Input::WaitingFor(tables) => installer.waiting_for(tables),
        Input::Show(reply) => {
            let _ = reply.send(installer.view(link_name));
        }
        Input::LinkLocal(addr, ifindex) => installer.link_local(addr, ifindex),
        Input::Freeze => installer.freeze(),
        Input::Stop(done) => {
            installer.stop();
            let _ = done.send(());
            return false;
        }
    }
    true
}

/// An interface's name, or its index.
fn link_name(ifindex: u32) -> String {
    std::fs::read_dir("/sys/class/net")
        .ok()
        .and_then(|d| {
            d.flatten().find_map(|e| {
                let idx = std::fs::read_to_string(e.path().join("ifindex")).ok()?;
                (idx.trim().parse::<u32>().ok()? == ifindex)
                    .then(|| e.file_name().to_string_lossy().into_owned())
            })
        })
        .unwrap_or_else(|| format!("#{ifindex}"))
}

/// Name protocol 210 for `ip route` ("proto mdc"), where iproute2 reads
/// names from `rt_protos.d` and nobody named it yet.
fn name_protocol() {
    let dir = std::path::Path::new("/etc/iproute2/rt_protos.d");
    let file = dir.join("mdc.conf");
    if dir.is_dir() && !file.exists() {
        let text = format!("# written by mdcd: the protocol of its routes\n{} mdc\n", mdc_fib::PROTOCOL);
        if let Err(e) = std::fs::write(&file, text) {
            info!("fib: cannot name protocol {} in {}: {e}", mdc_fib::PROTOCOL, file.display());
        }
    }
}

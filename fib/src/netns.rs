//! Opening a socket in another network namespace: a short-lived thread
//! joins the namespace, runs the opener and ends. A socket stays in the
//! namespace it was made in, so the caller's threads never move.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::FibError;

/// Run `open` in the network namespace `name` (as `ip netns add` names it).
pub(crate) fn run_in<T, F>(name: &str, open: F) -> Result<T, FibError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(FibError::Protocol(format!("bad network namespace name {name:?}")));
    }
    let path = Path::new("/run/netns").join(name);
    let file = File::open(&path)
        .map_err(|e| FibError::Io(io::Error::new(e.kind(), format!("{}: {e}", path.display()))))?;
    let joined = std::thread::spawn(move || -> io::Result<T> {
        setns(&file)?;
        Ok(open())
    })
    .join()
    .map_err(|_| FibError::Protocol("the network namespace thread panicked".into()))?;
    joined.map_err(|e| FibError::Io(io::Error::new(e.kind(), format!("joining {}: {e}", path.display()))))
}

#[allow(unsafe_code)]
fn setns(file: &File) -> io::Result<()> {
    // SAFETY: setns reads the descriptor, which `file` keeps open for the
    // call; it changes only the calling thread's network namespace, and
    // that thread ends once the opener has run.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

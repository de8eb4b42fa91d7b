//! [`wait_until`]: poll a condition with a deadline and a useful timeout error.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// One observation of a polled condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check<T> {
    /// The condition holds; `wait_until` returns this value.
    Done(T),
    /// Not yet; the text describes what was observed (it ends up in the
    /// timeout error).
    Pending(String),
}

/// Poll `probe` every `poll` until it returns [`Check::Done`] or `timeout`
/// passes. An `Err` from `probe` counts as pending (a daemon's CLI may not be
/// up yet) and its text as the observed state. The timeout error names
/// `what`, the timeout and the last observed state.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    poll: Duration,
    mut probe: impl FnMut() -> Result<Check<T>>,
) -> Result<T> {
    let start = Instant::now();
    let mut polls = 0u32;
    loop {
        polls += 1;
        let observed = match probe() {
            Ok(Check::Done(v)) => return Ok(v),
            Ok(Check::Pending(s)) => s,
            Err(e) => format!("error: {e}"),
        };
        if start.elapsed() >= timeout {
            return Err(Error::msg(format!(
                "timed out after {timeout:?} ({polls} polls) waiting for {what}; last observed: {observed}"
            )));
        }
        sleep(poll.min(timeout.saturating_sub(start.elapsed())));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_once_done() {
        let mut n = 0;
        let v = wait_until("n to reach 3", Duration::from_secs(5), Duration::from_millis(1), || {
            n += 1;
            Ok(if n >= 3 { Check::Done(n * 10) } else { Check::Pending(format!("n={n}")) })
        })
        .unwrap();
        assert_eq!(v, 30);
    }

    #[test]
    fn timeout_names_the_last_state() {
        let e = wait_until::<()>("never", Duration::from_millis(30), Duration::from_millis(5), || {
            Err(Error::msg("cli down"))
        })
        .unwrap_err();
        assert!(e.message().contains("waiting for never"), "{e}");
        assert!(e.message().contains("last observed: error: cli down"), "{e}");
    }
}

//! Interop test harness (grows with the sessions issue).

//! Capabilities (RFC 5492). Placeholder: being written.

//! `[api]`: where the API socket (root only) is.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::errors::Errors;

/// The API socket without `[api]`.
pub const DEFAULT_API_SOCKET: &str = "/run/mdcd/mdcd.sock";

/// `[api]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawApi {
    socket: Spanned<String>,
}

/// The API socket's path: `[api] socket`, or the default.
pub(super) fn parse(_errors: &mut Errors<'_>, raw: Option<&RawApi>) -> Option<PathBuf> {
    Some(raw.map_or_else(|| PathBuf::from(DEFAULT_API_SOCKET), |a| PathBuf::from(a.socket.get_ref())))
}

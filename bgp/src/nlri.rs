//! NLRI. Placeholder.

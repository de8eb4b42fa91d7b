//! Path attributes. Placeholder.

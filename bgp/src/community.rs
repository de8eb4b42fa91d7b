//! Communities (RFC 1997), extended communities (RFC 4360, 5701, 7153,
//! 7432), large communities (RFC 8092). Placeholder: being written.

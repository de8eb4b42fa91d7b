//! # mdc-evpn: MP-BGP EVPN for mdc. Placeholder: being written.

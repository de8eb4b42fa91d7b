//! mdcd: the routing daemon on every node. Sessions arrive with the sessions
//! issue; today it only reports its version.

fn main() {
    println!("mdcd {} (wire codec only; no sessions yet)", env!("CARGO_PKG_VERSION"));
}

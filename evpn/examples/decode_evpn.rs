//! Print the EVPN routes in UPDATE messages stored one per file:
//! `cargo run -p mdc-evpn --example decode_evpn -- FILE...`.

use std::process::ExitCode;

use mdc_bgp::SessionContext;
use mdc_bgp::attr::{AttrValue, MpNlri};
use mdc_bgp::update::Update;
use mdc_evpn::EvpnRoutes;

fn main() -> ExitCode {
    let ctx = SessionContext::modern().with_family_codec(mdc_evpn::family_codec());
    let mut status = ExitCode::SUCCESS;
    for f in std::env::args().skip(1) {
        let d = match std::fs::read(&f)
            .map_err(|e| e.to_string())
            .and_then(|b| Update::decode_message(&b, &ctx).map_err(|e| e.to_string()))
        {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{f}: {e}");
                status = ExitCode::FAILURE;
                continue;
            }
        };
        println!("{f}: {:?}", d.outcome);
        for a in &d.update.attributes {
            let (what, nlri) = match &a.value {
                AttrValue::MpReach(m) => (format!("reach nh {}", m.next_hop), &m.nlri),
                AttrValue::MpUnreach(m) => ("unreach".to_string(), &m.nlri),
                other => {
                    println!("  {other:?}");
                    continue;
                }
            };
            if let MpNlri::Typed(items) = nlri {
                for n in items {
                    for r in EvpnRoutes::new(&n.bytes, 0) {
                        match r {
                            Ok(r) => println!("  {what}: {r} {r:?}"),
                            Err(e) => println!("  {what}: error {e}"),
                        }
                    }
                }
            }
        }
    }
    status
}

//! Announce prefixes to one BGP peer and keep the session up.
//!
//! ```text
//! cargo run -p mdc-bgp --features speaker --example announce -- PEER PEER_AS LOCAL_AS ROUTER_ID PREFIX...
//! cargo run -p mdc-bgp --features speaker --example announce -- 192.0.2.1 65001 65000 192.0.2.254 198.51.100.0/24
//! ```
//!
//! Dials the peer on port 179 (no listener) and prints session and route
//! events until the peer shuts the session down (Ctrl-C ends it abruptly;
//! an embedder would call `Speaker::shutdown` for a Cease with a message).

use std::error::Error;

use mdc_bgp::fsm::RemoteAs;
use mdc_bgp::speaker::{Route, Speaker, SpeakerConfig, SpeakerEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [peer, peer_as, local_as, router_id, prefixes @ ..] = args.as_slice() else {
        return Err("usage: announce PEER PEER_AS LOCAL_AS ROUTER_ID PREFIX...".into());
    };
    let mut config = SpeakerConfig::new(router_id.parse()?, local_as.parse()?);
    config.listen.clear();
    let speaker = Speaker::start(config)?;
    let mut events = speaker.subscribe();
    speaker.add_peer(speaker.peer_settings(peer.parse()?, RemoteAs::Exact(peer_as.parse()?))).await?;
    for p in prefixes {
        speaker.originate(Route::new(p.parse()?))?;
    }
    loop {
        match events.recv().await? {
            SpeakerEvent::PeerUp { peer, negotiated } => println!("{peer} up: {:?}", negotiated.families),
            SpeakerEvent::PeerDown { peer, reason } => {
                println!("{peer} down: {reason:?}");
                if reason.notification().is_some_and(|n| n.code == 6) {
                    break;
                }
            }
            SpeakerEvent::ConnectionFailed { peer, reason } => println!("{peer}: {reason}"),
            SpeakerEvent::RoutesReceived { peer, update } => println!("{peer}: {:?}", update.update),
            SpeakerEvent::EndOfRib { peer, family } => println!("{peer}: End-of-RIB {family}"),
        }
    }
    speaker.shutdown("announce example stopped").await?;
    Ok(())
}

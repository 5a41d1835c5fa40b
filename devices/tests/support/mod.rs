//! Helpers shared by the driver tests: link settings for loopback and waiting
//! for a matching event (with a hang guard, never a timing assertion).
#![allow(dead_code)]

use std::time::Duration;

use serialstation_devices::link::LinkConfig;
use serialstation_devices::traits::{DeviceEvent, DeviceEventKind, LinkState};
use tokio::sync::mpsc;

/// Generous bound that only protects the test run from hanging.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

pub fn loopback_link(name: &str, address: std::net::SocketAddr) -> LinkConfig {
    LinkConfig {
        request_timeout: Duration::from_millis(400),
        connect_timeout: Duration::from_secs(2),
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(200),
        keepalive_interval: Duration::from_secs(30),
        ..LinkConfig::new(name, address.to_string())
    }
}

/// Waits for the first event for which `pick` returns Some, skipping others.
pub async fn wait_for<T>(
    events: &mut mpsc::Receiver<DeviceEvent>,
    mut pick: impl FnMut(&DeviceEventKind) -> Option<T>,
) -> T {
    let search = async {
        loop {
            let Some(event) = events.recv().await else {
                panic!("event channel closed")
            };
            if let Some(found) = pick(&event.kind) {
                return found;
            }
        }
    };
    tokio::time::timeout(HANG_GUARD, search)
        .await
        .unwrap_or_else(|_| panic!("no matching event within the hang guard"))
}

pub async fn wait_up(events: &mut mpsc::Receiver<DeviceEvent>) {
    wait_for(events, |kind| {
        matches!(kind, DeviceEventKind::Link(LinkState::Up)).then_some(())
    })
    .await
}

pub async fn wait_down(events: &mut mpsc::Receiver<DeviceEvent>) -> String {
    wait_for(events, |kind| match kind {
        DeviceEventKind::Link(LinkState::Down { reason }) => Some(reason.clone()),
        _ => None,
    })
    .await
}

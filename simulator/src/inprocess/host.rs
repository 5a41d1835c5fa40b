//! The host side of the in-process devices: the one event channel the station reads
//! (what its drivers would report), each device's connection (up, or dropped by a
//! disconnect fault until the driver reconnects; a slow reply holding back what
//! follows it; pushes waiting to go out, in order), the PLC driver's own poll state,
//! and the camera results waiting out their latency. Events never block the line: what
//! the channel has no room for waits here, in order, like bytes in a socket buffer.
//! Pure apart from the channel.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serialstation_devices::plc::fate_cursor::FateCursor;
use serialstation_devices::plc::register_map::{AlarmBits, PackMlState};
use serialstation_devices::readout::CameraReadout;
use serialstation_devices::traits::{DeviceEvent, DeviceEventKind, LinkState};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;

use super::DeviceNames;

/// One of the three devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dev {
    Printer,
    Camera,
    Plc,
}

impl Dev {
    /// In the order their links come up.
    pub(super) const ALL: [Dev; 3] = [Dev::Printer, Dev::Camera, Dev::Plc];

    fn index(self) -> usize {
        match self {
            Dev::Printer => 0,
            Dev::Camera => 1,
            Dev::Plc => 2,
        }
    }
}

/// One device's connection to the station.
#[derive(Debug, Default)]
struct Link {
    /// Dropped by a disconnect fault; the driver is back at this instant.
    down_until: Option<Instant>,
    /// A slow reply holds back everything behind it on the connection until then.
    busy_until: Option<Instant>,
    /// Pushed notifications (print complete, camera result), oldest first, each with
    /// the instant it may go out.
    outgoing: VecDeque<(Instant, DeviceEventKind)>,
}

/// The station's side of the line: see the module documentation.
#[derive(Debug)]
pub(super) struct Host {
    names: DeviceNames,
    sender: Option<mpsc::Sender<DeviceEvent>>,
    /// Events the channel had no room for yet, oldest first.
    backlog: VecDeque<DeviceEvent>,
    links: [Link; 3],
    /// What the PLC driver last reported of the line state and alarms (reported again
    /// after every (re)connect).
    pub(super) plc_reported: Option<(PackMlState, AlarmBits)>,
    /// The PLC driver's fate cursor: lives as long as one station's driver.
    pub(super) fates: FateCursor,
    /// When the PLC driver polls next (`None`: no station connected).
    pub(super) next_plc_poll: Option<Instant>,
    /// Camera results waiting out their latency, by due instant and arrival.
    camera_pending: BTreeMap<(Instant, u64), CameraReadout>,
    next_shot: u64,
}

impl Host {
    pub(super) fn new(names: DeviceNames) -> Host {
        Host {
            names,
            sender: None,
            backlog: VecDeque::new(),
            links: std::array::from_fn(|_| Link::default()),
            plc_reported: None,
            fates: FateCursor::new(None),
            next_plc_poll: None,
            camera_pending: BTreeMap::new(),
            next_shot: 0,
        }
    }

    fn name(&self, dev: Dev) -> &str {
        match dev {
            Dev::Printer => &self.names.printer,
            Dev::Camera => &self.names.camera,
            Dev::Plc => &self.names.plc,
        }
    }

    /// Whether a station is connected (its event channel is open: a crashed station
    /// dropped its end).
    pub(super) fn connected(&self) -> bool {
        self.sender
            .as_ref()
            .is_some_and(|sender| !sender.is_closed())
    }

    /// A station (re)starts with fresh drivers on `sender`: whatever the last one left
    /// unread is gone with it; every link comes up, in device order; the PLC driver
    /// starts its poll with a fresh fate cursor (no history replayed).
    pub(super) fn connect(&mut self, sender: mpsc::Sender<DeviceEvent>, now: Instant) {
        self.sender = Some(sender);
        self.backlog.clear();
        self.links = std::array::from_fn(|_| Link::default());
        self.plc_reported = None;
        self.fates = FateCursor::new(None);
        self.next_plc_poll = Some(now);
        for dev in Dev::ALL {
            self.emit(dev, DeviceEventKind::Link(LinkState::Up));
        }
    }

    /// Whether the device's connection is dropped (requests fail until it is back).
    pub(super) fn is_down(&self, dev: Dev) -> bool {
        self.links[dev.index()].down_until.is_some()
    }

    /// Whether a push on the device's connection has anyone to go to.
    pub(super) fn can_push(&self, dev: Dev) -> bool {
        self.connected() && !self.is_down(dev)
    }

    /// A disconnect fault: the link goes down at once (the driver says so), what was
    /// waiting on the connection is lost, and the driver reconnects after `reconnect`.
    pub(super) fn drop_link(&mut self, dev: Dev, reason: &str, now: Instant, reconnect: Duration) {
        let link = &mut self.links[dev.index()];
        if link.down_until.is_some() {
            return;
        }
        link.down_until = Some(now + reconnect);
        link.busy_until = None;
        link.outgoing.clear();
        self.emit(
            dev,
            DeviceEventKind::Link(LinkState::Down {
                reason: reason.to_string(),
            }),
        );
    }

    /// Until when a slow reply holds the device's connection, if it does.
    pub(super) fn busy_until(&self, dev: Dev) -> Option<Instant> {
        self.links[dev.index()].busy_until
    }

    /// A slow reply: nothing behind it on the connection goes out before `until`.
    pub(super) fn stall(&mut self, dev: Dev, until: Instant) {
        let busy = &mut self.links[dev.index()].busy_until;
        *busy = Some(busy.map_or(until, |b| b.max(until)));
    }

    /// Queues a pushed notification on the device's connection; lost when the
    /// connection is down.
    pub(super) fn push(&mut self, dev: Dev, at: Instant, kind: DeviceEventKind) {
        let link = &mut self.links[dev.index()];
        if link.down_until.is_some() {
            return;
        }
        link.outgoing.push_back((at, kind));
    }

    /// A camera result that goes out at `due` (its latency), in due order.
    pub(super) fn schedule_camera(&mut self, due: Instant, readout: CameraReadout) {
        self.next_shot += 1;
        self.camera_pending.insert((due, self.next_shot), readout);
    }

    /// The camera results whose latency is over at `now`, in due order.
    pub(super) fn take_due_camera(&mut self, now: Instant) -> Vec<CameraReadout> {
        let mut due = Vec::new();
        while let Some(entry) = self.camera_pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        due
    }

    /// Links whose driver is back come up again; pushes whose time has come go out.
    /// Returns the seqs of the camera results handed to the station.
    pub(super) fn advance(&mut self, now: Instant) -> Vec<u32> {
        let mut camera_sent = Vec::new();
        for dev in Dev::ALL {
            let i = dev.index();
            if self.links[i].down_until.is_some_and(|back| back <= now) {
                self.links[i].down_until = None;
                if dev == Dev::Plc {
                    // The driver reports the line state again on its first poll.
                    self.plc_reported = None;
                }
                self.emit(dev, DeviceEventKind::Link(LinkState::Up));
            }
            loop {
                let link = &mut self.links[i];
                if link.down_until.is_some() || link.busy_until.is_some_and(|b| b > now) {
                    break;
                }
                if link.outgoing.front().is_none_or(|(at, _)| *at > now) {
                    break;
                }
                let Some((_, kind)) = link.outgoing.pop_front() else {
                    break;
                };
                let seq = match &kind {
                    DeviceEventKind::CameraResult(readout) => Some(readout.seq),
                    _ => None,
                };
                if self.emit(dev, kind)
                    && let Some(seq) = seq
                {
                    camera_sent.push(seq);
                }
            }
        }
        self.flush();
        camera_sent
    }

    /// Reports one event of `dev` to the station. False when no station is connected
    /// (the event is lost, like a notification on a closed socket).
    pub(super) fn emit(&mut self, dev: Dev, kind: DeviceEventKind) -> bool {
        if self.sender.is_none() {
            return false;
        }
        let event = DeviceEvent {
            device: self.name(dev).to_string(),
            kind,
        };
        self.backlog.push_back(event);
        self.flush();
        self.sender.is_some()
    }

    /// Hands the backlog to the channel, in order, as far as it has room.
    fn flush(&mut self) {
        loop {
            let Some(sender) = self.sender.as_ref() else {
                self.backlog.clear();
                return;
            };
            let Some(event) = self.backlog.pop_front() else {
                return;
            };
            match sender.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(event)) => {
                    self.backlog.push_front(event);
                    return;
                }
                Err(TrySendError::Closed(_)) => self.sender = None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serialstation_devices::readout::ReadOutcome;

    fn names() -> DeviceNames {
        DeviceNames {
            printer: "printer".into(),
            camera: "camera".into(),
            plc: "plc".into(),
        }
    }

    fn drain(rx: &mut mpsc::Receiver<DeviceEvent>) -> Vec<(String, DeviceEventKind)> {
        let mut out = Vec::new();
        while let Ok(event) = rx.try_recv() {
            out.push((event.device, event.kind));
        }
        out
    }

    fn no_read(seq: u32) -> CameraReadout {
        CameraReadout {
            seq,
            outcome: ReadOutcome::NoRead,
        }
    }

    #[test]
    fn connecting_brings_every_link_up_in_order() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut host = Host::new(names());
        assert!(!host.emit(
            Dev::Printer,
            DeviceEventKind::PrintComplete { message_id: 1 }
        ));
        host.connect(tx, Instant::now());
        let got = drain(&mut rx);
        let devices: Vec<&str> = got.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(devices, ["printer", "camera", "plc"]);
        assert!(
            got.iter()
                .all(|(_, k)| *k == DeviceEventKind::Link(LinkState::Up))
        );
    }

    #[test]
    fn a_full_channel_keeps_events_in_order_and_loses_none() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut host = Host::new(names());
        host.connect(tx, Instant::now());
        for id in 1..=5 {
            host.emit(
                Dev::Printer,
                DeviceEventKind::PrintComplete { message_id: id },
            );
        }
        let mut ids = Vec::new();
        for _ in 0..10 {
            for (_, kind) in drain(&mut rx) {
                if let DeviceEventKind::PrintComplete { message_id } = kind {
                    ids.push(message_id);
                }
            }
            host.advance(Instant::now());
        }
        assert_eq!(ids, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_dropped_link_loses_its_pushes_and_comes_back_after_the_reconnect_time() {
        let (tx, mut rx) = mpsc::channel(64);
        let mut host = Host::new(names());
        let t0 = Instant::now();
        host.connect(tx, t0);
        drain(&mut rx);
        host.push(Dev::Camera, t0, DeviceEventKind::CameraResult(no_read(7)));
        host.drop_link(Dev::Camera, "test", t0, Duration::from_millis(100));
        assert!(host.is_down(Dev::Camera) && !host.can_push(Dev::Camera));
        host.push(Dev::Camera, t0, DeviceEventKind::CameraResult(no_read(8)));
        assert!(host.advance(t0 + Duration::from_millis(50)).is_empty());
        let got = drain(&mut rx);
        assert_eq!(got.len(), 1, "only the link going down: {got:?}");
        assert!(matches!(
            got[0].1,
            DeviceEventKind::Link(LinkState::Down { .. })
        ));
        host.advance(t0 + Duration::from_millis(100));
        let got = drain(&mut rx);
        assert_eq!(
            got,
            [("camera".to_string(), DeviceEventKind::Link(LinkState::Up))]
        );
    }

    #[test]
    fn a_slow_reply_holds_back_what_follows_it() {
        let (tx, mut rx) = mpsc::channel(64);
        let mut host = Host::new(names());
        let t0 = Instant::now();
        host.connect(tx, t0);
        drain(&mut rx);
        host.stall(Dev::Camera, t0 + Duration::from_millis(30));
        host.push(Dev::Camera, t0, DeviceEventKind::CameraResult(no_read(1)));
        assert!(host.advance(t0 + Duration::from_millis(10)).is_empty());
        assert_eq!(host.advance(t0 + Duration::from_millis(30)), [1]);
    }

    #[test]
    fn camera_results_come_due_in_latency_order() {
        let mut host = Host::new(names());
        let t0 = Instant::now();
        host.schedule_camera(t0 + Duration::from_millis(40), no_read(1));
        host.schedule_camera(t0, no_read(2));
        host.schedule_camera(t0, no_read(3));
        let seqs = |v: Vec<CameraReadout>| v.into_iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(host.take_due_camera(t0)), [2, 3]);
        assert!(
            host.take_due_camera(t0 + Duration::from_millis(39))
                .is_empty()
        );
        assert_eq!(
            seqs(host.take_due_camera(t0 + Duration::from_millis(40))),
            [1]
        );
    }

    #[test]
    fn a_closed_channel_disconnects_the_host() {
        let (tx, rx) = mpsc::channel(4);
        let mut host = Host::new(names());
        host.connect(tx, Instant::now());
        drop(rx);
        assert!(!host.emit(Dev::Plc, DeviceEventKind::ProtocolError("x".into())));
        assert!(!host.connected());
    }
}

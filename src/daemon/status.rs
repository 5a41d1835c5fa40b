//! The status report the daemon answers `batch status` with: devices, the active
//! batch's counts, its rate over the last seconds and the time to finish.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::control::protocol::{AlarmView, BatchView, CallerView, DeviceView, StatusReport};
use crate::daemon::access::ResumeKind;
use crate::line::{BatchStatus, Device, RejectReason};
use crate::station::Station;

/// The window over which the rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(10);
/// Least time between two samples.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// Items decided over time, for the rate (items per minute) of the active batch.
#[derive(Debug, Default)]
pub struct RateWindow {
    samples: VecDeque<(Instant, u64)>,
}

impl RateWindow {
    /// Records the number of items decided so far (pass 0 / a new batch restarts it).
    pub fn sample(&mut self, decided: u64, now: Instant) {
        if let Some(&(_, last)) = self.samples.back()
            && decided < last
        {
            self.samples.clear();
        }
        if self
            .samples
            .back()
            .is_some_and(|(at, _)| now.duration_since(*at) < SAMPLE_EVERY)
        {
            return;
        }
        self.samples.push_back((now, decided));
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > RATE_WINDOW)
        {
            self.samples.pop_front();
        }
    }

    /// Items per minute over the window (0 until two samples are apart).
    pub fn per_minute(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => {
                let minutes = t1.duration_since(*t0).as_secs_f64() / 60.0;
                (n1.saturating_sub(*n0)) as f64 / minutes
            }
            _ => 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.samples.clear();
    }
}

/// The rate history's bucket and length: one value per 10 s over 10 minutes.
const HISTORY_BUCKET: Duration = Duration::from_secs(10);
const HISTORY_BUCKETS: usize = 60;

/// What the daemon watches between requests for the status report: the rate and its
/// history, the alarms with their ids and acknowledgements, and when each device's
/// link last changed.
#[derive(Debug, Default)]
pub struct LiveView {
    pub rate: RateWindow,
    history: VecDeque<f64>,
    bucket: Option<(Instant, u64)>,
    alarms: AlarmBook,
    devices: BTreeMap<&'static str, (bool, String)>,
}

/// The active batch's alarms, numbered from 1 in the order they were raised, with
/// the time the daemon first saw each and whether an operator acknowledged it.
#[derive(Debug, Default)]
struct AlarmBook {
    batch: Option<i64>,
    entries: Vec<AlarmView>,
}

impl LiveView {
    /// Looks at the station after every wake-up; returns what a resume of the active
    /// batch would be (from the same status, built once per wake-up).
    pub fn observe(&mut self, station: &Station, now: Instant) -> ResumeKind {
        let status = station.batch_status();
        match &status {
            Some(status) => {
                let decided = decided(status);
                self.rate.sample(decided, now);
                match self.bucket {
                    Some((start, count)) if now.duration_since(start) >= HISTORY_BUCKET => {
                        let minutes = now.duration_since(start).as_secs_f64() / 60.0;
                        self.history
                            .push_back(decided.saturating_sub(count) as f64 / minutes);
                        while self.history.len() > HISTORY_BUCKETS {
                            self.history.pop_front();
                        }
                        self.bucket = Some((now, decided));
                    }
                    Some(_) => {}
                    None => self.bucket = Some((now, decided)),
                }
            }
            None => {
                self.rate.reset();
                self.bucket = None;
            }
        }
        let batch = station.active_batch().map(|line| line.batch.0);
        if batch != self.alarms.batch {
            self.alarms = AlarmBook {
                batch,
                entries: Vec::new(),
            };
            self.history.clear();
        }
        let raised = station.alarms();
        if raised.len() < self.alarms.entries.len() {
            self.alarms.entries.clear();
        }
        for text in &raised[self.alarms.entries.len()..] {
            let id = self.alarms.entries.len() as u64 + 1;
            self.alarms.entries.push(AlarmView {
                id,
                at: crate::store::clock::now(),
                text: text.clone(),
                acknowledged: false,
            });
        }
        for device in Device::ALL {
            let online = station.device_online(device);
            let entry = self
                .devices
                .entry(device.as_str())
                .or_insert_with(|| (online, crate::store::clock::now()));
            if entry.0 != online {
                *entry = (online, crate::store::clock::now());
            }
        }
        ResumeKind::of(status.as_ref())
    }

    /// Acknowledges alarm `id`, or every alarm; returns how many were newly
    /// acknowledged, or a message when there is no such alarm.
    pub fn acknowledge(&mut self, id: Option<u64>) -> Result<Vec<AlarmView>, String> {
        let mut done = Vec::new();
        match id {
            Some(id) => {
                let Some(alarm) = self.alarms.entries.iter_mut().find(|a| a.id == id) else {
                    return Err(format!(
                        "there is no alarm {id} for the active batch: see the alarm list in `serialstation batch status`"
                    ));
                };
                if !alarm.acknowledged {
                    alarm.acknowledged = true;
                    done.push(alarm.clone());
                }
            }
            None => {
                for alarm in self.alarms.entries.iter_mut().filter(|a| !a.acknowledged) {
                    alarm.acknowledged = true;
                    done.push(alarm.clone());
                }
            }
        }
        Ok(done)
    }
}

/// Items with a verdict so far.
pub fn decided(status: &BatchStatus) -> u64 {
    status.stats.good_verdicts + status.stats.total_rejects()
}

/// Builds the report from the station's live state.
pub fn report(
    station: &Station,
    live: &LiveView,
    store: &str,
    recovering: Option<String>,
    caller: Option<CallerView>,
) -> StatusReport {
    let rate = &live.rate;
    let devices = Device::ALL
        .iter()
        .map(|device| DeviceView {
            name: device.as_str().to_string(),
            online: station.device_online(*device),
            since: live.devices.get(device.as_str()).map(|(_, at)| at.clone()),
        })
        .collect();
    let batch = station
        .batch_status()
        .zip(station.active_batch())
        .map(|(status, line)| {
            let per_minute = rate.per_minute();
            let counts = status.counts;
            let left = u64::from(status.quantity).saturating_sub(counts.commissioned);
            let good_share = if decided(&status) == 0 {
                1.0
            } else {
                status.stats.good_verdicts as f64 / decided(&status) as f64
            };
            let eta_s = (per_minute > 0.0 && good_share > 0.0 && status.hold.is_none())
                .then(|| left as f64 / (per_minute * good_share) * 60.0);
            let rejects_by_reason: BTreeMap<String, u64> = RejectReason::ALL
                .iter()
                .filter(|r| status.stats.rejects(**r) > 0)
                .map(|r| (r.as_str().to_string(), status.stats.rejects(*r)))
                .collect();
            BatchView {
                id: line.batch.0,
                gtin: line.gtin.to_string(),
                client: line.client_id.clone(),
                lot: line.lot.clone(),
                expiry: line.expiry.clone(),
                state: status.state.as_str().to_string(),
                hold: status.hold.as_ref().map(|h| h.to_string()),
                quantity: u64::from(status.quantity),
                commissioned: counts.commissioned,
                good_verdicts: status.stats.good_verdicts,
                rejects: status.stats.total_rejects(),
                rejects_by_reason,
                scrapped: counts.scrapped,
                sampled: counts.sampled,
                invalidated: counts.invalidated,
                returned: counts.returned,
                allocated: counts.allocated,
                rate_per_min: per_minute,
                eta_s,
                printer_queue: status.printer_queue as u64,
                items_in_flight: status.items_in_flight as u64,
                holds: station.holds(),
            }
        });
    let alarms = station.alarms();
    StatusReport {
        pid: std::process::id(),
        store: store.to_string(),
        recovering,
        devices,
        plc_alarms: station.plc_alarms().describe(),
        batch,
        alarms: alarms[alarms.len().saturating_sub(10)..].to_vec(),
        alarm_list: live.alarms.entries[live.alarms.entries.len().saturating_sub(20)..].to_vec(),
        rate_history: live.history.iter().copied().collect(),
        caller,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_items_per_minute_over_the_window() {
        let mut rate = RateWindow::default();
        let t0 = Instant::now();
        rate.sample(0, t0);
        rate.sample(10, t0 + Duration::from_secs(1));
        assert!((rate.per_minute() - 600.0).abs() < 1e-6);
        // A new batch (count going down) starts over.
        rate.sample(0, t0 + Duration::from_secs(2));
        assert_eq!(rate.per_minute(), 0.0);
    }
}

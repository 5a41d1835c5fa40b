//! The simulation driver: runs the engine against the simulated line with a simple
//! operator (starts batches, sometimes with a challenge test, resumes after holds,
//! clears the PLC's alarms at the line, closes stopped batches) and checks the
//! invariants after every step.

use serialstation_simulator::SimConfig;

use crate::gs1::{Gs1Date, Gtin};
use crate::line::command::{BatchState, Command, Transition};
use crate::line::config::{DecisionWindow, EngineConfig};
use crate::line::engine::Engine;
use crate::line::event::{BatchStart, CodeTemplate, Event, OperatorCommand, ProductSpec};
use crate::line::types::{BatchId, Device, Grade, MessageId, Verdict};

use super::ledger::{Ledger, SerialState};
use super::profiles::Faults;
use super::sim_line::{SimLine, line_config};
use super::truth::Whereabouts;

/// What one simulation run does.
#[derive(Debug, Clone)]
pub struct SimSettings {
    /// Physical items to run through the line (the last batch then finishes).
    pub items: u64,
    /// The simulator's faults for the run ([`super::profiles`]).
    pub faults: Faults,
    /// The simulated line (geometry, speed, PLC); its seed and faults are the run's.
    pub line: SimConfig,
    pub engine: EngineConfig,
    pub min_grade: Grade,
    pub consecutive_reject_limit: u32,
}

impl SimSettings {
    pub fn new(items: u64, faults: Faults) -> SimSettings {
        let line = line_config();
        let geometry = line.line.geometry();
        let counts =
            |from: u64, to: u64| u32::try_from(to.saturating_sub(from)).unwrap_or(u32::MAX);
        SimSettings {
            items,
            faults,
            engine: EngineConfig {
                printer_queue_depth: 6,
                serial_block_size: 200,
                serial_low_water: 40,
                decision_window: DecisionWindow::EncoderCounts(400),
                printer_to_gate_counts: counts(geometry.print_head, geometry.reject_gate),
                gate_margin_counts: 150,
                max_result_lead: 64,
                printer_to_camera_counts: counts(geometry.print_head, geometry.camera),
            },
            line,
            min_grade: Grade::from_tenths(15).unwrap_or(Grade::C),
            consecutive_reject_limit: 8,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimReport {
    pub seed: u64,
    pub steps: u64,
    pub items: u64,
    pub batches: u64,
    pub commissioned: u64,
    pub scrapped: u64,
    pub returned: u64,
    pub invalidated: u64,
    pub good_verdicts: u64,
    pub reject_verdicts: u64,
    pub holds: u64,
    pub escaped: u64,
    pub challenges_failed: u64,
    pub abandoned_batches: u64,
    /// Running batches the operator stopped because nothing was commissioned for a
    /// while (the line had stopped feeding); each still closes balanced.
    pub stall_stops: u64,
}

/// An invariant that did not hold, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimFailure {
    pub seed: u64,
    pub step: u64,
    pub message: String,
}

impl std::fmt::Display for SimFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seed {} step {}: {}", self.seed, self.step, self.message)
    }
}

/// Steps a batch may go without commissioning anything before the run gives up on
/// waiting and stops it (or, if it is already stopping, abandons in-flight items).
const STALL_STEPS: u64 = 20_000;

struct Driver {
    seed: u64,
    settings: SimSettings,
    engine: Engine,
    model: SimLine,
    ledger: Ledger,
    out: Vec<Command>,
    events: Vec<Event>,
    report: SimReport,
    product: ProductSpec,
    batch: Option<BatchRun>,
    next_batch: u64,
    operator_wait: u64,
}

struct BatchRun {
    id: BatchId,
    quantity: u32,
    abandoned: bool,
    /// The operator stopped it early because it stalled.
    stalled: bool,
    last_progress_step: u64,
    last_commissioned: u64,
    was_held: bool,
}

impl Driver {
    fn fail(&self, message: impl Into<String>) -> SimFailure {
        SimFailure {
            seed: self.seed,
            step: self.model.step_count(),
            message: message.into(),
        }
    }

    fn deliver(&mut self, event: Event) -> Result<(), SimFailure> {
        self.out.clear();
        let is_operator = matches!(event, Event::Operator(_));
        let mut out = std::mem::take(&mut self.out);
        let result = self.engine.handle(event, &mut out);
        self.out = out;
        if let Err(error) = result {
            if !is_operator {
                return Err(self.fail(format!("a device event was refused: {error}")));
            }
            return Err(self.fail(format!("operator command refused: {error}")));
        }
        self.apply_commands()
    }

    fn apply_commands(&mut self) -> Result<(), SimFailure> {
        let commands = std::mem::take(&mut self.out);
        for command in &commands {
            self.ledger
                .check_order(command)
                .map_err(|message| self.fail(message))?;
            match command {
                Command::Persist(transition) => {
                    self.ledger
                        .apply(transition)
                        .map_err(|message| self.fail(message))?;
                    if let Transition::SerialCommissioned { serial, seq } = transition {
                        self.check_commission(serial, seq.0)?;
                    }
                }
                Command::RequestSerials { batch, count } => {
                    let serials = self.ledger.allocate(*batch, *count);
                    self.model.deliver_serials(serials);
                }
                Command::QueuePrint {
                    message_id,
                    serial,
                    encoder_data,
                } => self
                    .model
                    .apply_queue_print(*message_id, serial, encoder_data)
                    .map_err(|message| self.fail(message))?,
                Command::ClearPrinterBuffer => self.model.apply_clear_printer(),
                Command::WriteVerdict { seq, verdict } => self.model.apply_verdict(*seq, *verdict),
                Command::StartLine => self.model.apply_start_line(),
                Command::StopLine { .. } => self.model.apply_stop_line(),
                Command::RaiseAlarm(_) => {}
            }
        }
        self.out = commands;
        Ok(())
    }

    /// A commissioned serial must be the good, uncorrupted print on an item that left
    /// through the good exit with a GOOD verdict for it, printed exactly once (twice
    /// only by the printer's own silent repeat).
    fn check_commission(&self, serial: &str, seq: u32) -> Result<(), SimFailure> {
        let truth = &self.model.truth;
        let item = truth
            .items
            .get(&seq)
            .ok_or_else(|| self.fail(format!("commissioned {serial} for unknown item {seq}")))?;
        if item.whereabouts != Whereabouts::GoodExit {
            return Err(self.fail(format!(
                "commissioned {serial} for item {seq}, which is {:?}",
                item.whereabouts
            )));
        }
        let Some(label) = &item.label else {
            return Err(self.fail(format!("commissioned {serial} for blank item {seq}")));
        };
        if label.serial.as_deref() != Some(serial) || label.corrupted {
            return Err(self.fail(format!(
                "commissioned {serial} for item {seq}, which carries {:?} (corrupted: {})",
                label.serial, label.corrupted
            )));
        }
        let printed = truth.print_counts.get(serial).copied();
        let repeated = printed == Some(2) && truth.doubled.contains(serial);
        if printed != Some(1) && !repeated {
            return Err(self.fail(format!("commissioned {serial}, printed {printed:?} times")));
        }
        Ok(())
    }

    /// Checks every item that left the line this step.
    fn check_exits(&mut self) -> Result<(), SimFailure> {
        let exits = std::mem::take(&mut self.model.truth.recent_exits);
        let truth = &self.model.truth;
        for seq in &exits {
            let Some(item) = truth.items.get(&seq.0) else {
                continue;
            };
            let Some(batch) = item.batch else { continue };
            match item.whereabouts {
                Whereabouts::GoodExit => {
                    let recorded = self.ledger.verdict(batch, seq.0);
                    let label = item.label.as_ref();
                    let matches = match (recorded, label) {
                        (Some((Verdict::Good, Some(serial))), Some(label)) => {
                            label.serial.as_ref() == Some(serial)
                                && !label.corrupted
                                && label.grade >= self.settings.min_grade
                        }
                        _ => false,
                    };
                    if !matches {
                        return Err(self.fail(format!(
                            "item {seq} left through the good exit with verdict {recorded:?} and label {label:?}"
                        )));
                    }
                }
                Whereabouts::RejectBin | Whereabouts::Escaped => {
                    let serial = item.label.as_ref().and_then(|label| label.serial.as_ref());
                    if let Some(serial) = serial
                        && !truth.doubled.contains(serial)
                        && self.ledger.state(serial) == Some(SerialState::Commissioned)
                    {
                        return Err(self.fail(format!(
                            "rejected item {seq} carries commissioned serial {serial}"
                        )));
                    }
                }
                Whereabouts::OnBelt => {}
            }
        }
        Ok(())
    }

    fn check_step(&mut self) -> Result<(), SimFailure> {
        if let Some(serial) = &self.model.truth.printed_twice {
            return Err(self.fail(format!("serial {serial} was printed on two items")));
        }
        self.check_exits()?;
        if let Some(status) = self.engine.status() {
            let ledger = self.ledger.counts(status.batch);
            let engine = status.counts;
            if status.counts.commissioned > u64::from(status.quantity) {
                return Err(self.fail(format!(
                    "commissioned {} of a batch of {}",
                    engine.commissioned, status.quantity
                )));
            }
            let same = engine.commissioned == ledger.commissioned
                && engine.scrapped == ledger.scrapped
                && engine.returned == ledger.returned
                && engine.invalidated == ledger.invalidated
                && engine.allocated <= ledger.allocated;
            if !same || engine.outstanding() < 0 {
                return Err(self.fail(format!(
                    "engine counts {engine:?} disagree with the store's {ledger:?}"
                )));
            }
        }
        Ok(())
    }

    fn start_batch(&mut self) -> Result<(), SimFailure> {
        self.next_batch += 1;
        let id = BatchId(self.next_batch);
        let remaining = self
            .settings
            .items
            .saturating_sub(self.model.items_entered());
        let quantity = (300 + self.model.random_below(1_700)).min(remaining.max(50)) as u32;
        let challenge_items = if self.model.random_below(10) < 3 {
            3 + self.model.random_below(4) as u32
        } else {
            0
        };
        let start = BatchStart {
            batch: id,
            product: self.product.clone(),
            lot: format!("L{:05}", self.next_batch),
            expiry: "281231".to_string(),
            quantity,
            pool_available: 1 << 40,
            today: Gs1Date {
                year: 2026,
                month: 11,
                day: 22,
                day_was_zero: false,
            },
            // Room for a million messages a batch, within the printer's 32-bit ids.
            first_message_id: MessageId(self.next_batch * 1_000_000),
            challenge_items,
        };
        self.ledger.set_active_batch(Some(id));
        self.model.current_batch = Some(id);
        self.model.queue_challenge(challenge_items);
        let step = self.model.step_count();
        self.batch = Some(BatchRun {
            id,
            quantity,
            abandoned: false,
            stalled: false,
            last_progress_step: step,
            last_commissioned: 0,
            was_held: false,
        });
        self.report.batches += 1;
        self.deliver(Event::Operator(OperatorCommand::Start(Box::new(start))))
    }

    /// The operator: starts, resumes, stops and closes batches.
    fn operate(&mut self) -> Result<bool, SimFailure> {
        let Some(status) = self.engine.status() else {
            if self.model.items_entered() >= self.settings.items {
                return Ok(false);
            }
            // The line is made ready before a batch: nothing latched in the PLC.
            if self.model.plc_alarm()
                && let Some(reset) = self.model.reset_plc_alarm()
            {
                self.deliver(reset)?;
            }
            if Device::ALL
                .iter()
                .all(|device| self.engine.device_online(*device))
            {
                self.start_batch()?;
            }
            return Ok(true);
        };
        let step = self.model.step_count();
        let Some(run) = self.batch.as_mut() else {
            return Err(self.fail("engine has a batch the driver did not start"));
        };
        if status.counts.commissioned != run.last_commissioned {
            run.last_commissioned = status.counts.commissioned;
            run.last_progress_step = step;
        }
        let held = status.hold.is_some();
        if held && !run.was_held {
            self.report.holds += 1;
        }
        run.was_held = held;
        match status.state {
            BatchState::Stopped | BatchState::ChallengeFailed => {
                return self.close_batch(status.state).map(|()| true);
            }
            BatchState::Paused => {
                if self.operator_wait == 0 {
                    self.operator_wait = step + 5 + self.model.random_below(40);
                } else if step >= self.operator_wait {
                    self.operator_wait = 0;
                    if let Some(reset) = self.model.reset_plc_alarm() {
                        self.deliver(reset)?;
                    }
                    let all_online = Device::ALL
                        .iter()
                        .all(|device| self.engine.device_online(*device));
                    if all_online && !self.model.plc_alarm() {
                        self.deliver(Event::Operator(OperatorCommand::Resume))?;
                    }
                }
            }
            BatchState::Running if self.model.items_entered() >= self.settings.items => {
                self.deliver(Event::Operator(OperatorCommand::Stop {
                    abandon_in_flight: false,
                }))?;
            }
            _ => {}
        }
        let Some(run) = self.batch.as_mut() else {
            return Ok(true);
        };
        if step.saturating_sub(run.last_progress_step) > STALL_STEPS {
            run.last_progress_step = step;
            let state = status.state;
            if state == BatchState::Stopping && !held {
                run.abandoned = true;
                self.report.abandoned_batches += 1;
                self.deliver(Event::Operator(OperatorCommand::Stop {
                    abandon_in_flight: true,
                }))?;
            } else if state == BatchState::Running {
                run.stalled = true;
                self.report.stall_stops += 1;
                self.deliver(Event::Operator(OperatorCommand::Stop {
                    abandon_in_flight: false,
                }))?;
            } else if state != BatchState::Paused {
                return Err(self.fail(format!("batch stalled in state {state:?}: {status:?}")));
            }
        }
        Ok(true)
    }

    fn close_batch(&mut self, state: BatchState) -> Result<(), SimFailure> {
        let Some(run) = self.batch.take() else {
            return Err(self.fail("closing a batch the driver did not start"));
        };
        if state == BatchState::ChallengeFailed {
            self.report.challenges_failed += 1;
        }
        let status = self
            .engine
            .status()
            .ok_or_else(|| self.fail("no status for a batch being closed"))?;
        let store_counts = self.ledger.counts(run.id);
        self.deliver(Event::Operator(OperatorCommand::Close {
            reason: None,
            store_counts: Some(store_counts),
        }))?;
        if status.counts != store_counts || !store_counts.balances() {
            return Err(self.fail(format!(
                "batch {} closed with engine {:?} and store {:?}",
                run.id, status.counts, store_counts
            )));
        }
        let open = self.ledger.open_serials(run.id);
        if !open.is_empty() {
            return Err(self.fail(format!(
                "batch {} closed with {} serials still open, e.g. {:?}",
                run.id,
                open.len(),
                open[0]
            )));
        }
        if state == BatchState::Stopped
            && !run.abandoned
            && !run.stalled
            && store_counts.commissioned != u64::from(run.quantity)
            && self.model.items_entered() < self.settings.items
        {
            return Err(self.fail(format!(
                "batch {} stopped at {} of {}",
                run.id, store_counts.commissioned, run.quantity
            )));
        }
        self.check_batch_items(run.id, run.abandoned)?;
        self.report.commissioned += store_counts.commissioned;
        self.report.scrapped += store_counts.scrapped;
        self.report.returned += store_counts.returned;
        self.report.invalidated += store_counts.invalidated;
        self.report.good_verdicts += status.stats.good_verdicts;
        self.report.reject_verdicts += status.stats.total_rejects();
        self.ledger.set_active_batch(None);
        self.model.current_batch = None;
        self.operator_wait = 0;
        // Items that left the line leave the truth table (keeps memory flat).
        self.model.truth.forget_departed();
        Ok(())
    }

    /// Every item of a closed batch that passed the camera: good items commissioned
    /// with their own serial, every other printed serial scrapped or invalidated,
    /// never commissioned (unless the printer's silent repeat put it on a good item
    /// too). A printed item still on the belt must carry a serial that is used up.
    fn check_batch_items(&self, batch: BatchId, abandoned: bool) -> Result<(), SimFailure> {
        let truth = &self.model.truth;
        for item in truth
            .items
            .values()
            .filter(|item| item.batch == Some(batch))
        {
            let Some(label) = &item.label else { continue };
            let Some(serial) = &label.serial else {
                continue;
            };
            let state = self.ledger.state(serial);
            let visible_good = item.whereabouts == Whereabouts::GoodExit && !label.corrupted;
            let expected_ok = if visible_good {
                state == Some(SerialState::Commissioned)
                    || (abandoned && state == Some(SerialState::LabelScrapped))
            } else {
                matches!(
                    state,
                    Some(SerialState::LabelScrapped | SerialState::SnInvalid)
                ) || (truth.doubled.contains(serial) && state == Some(SerialState::Commissioned))
            };
            if !expected_ok {
                return Err(self.fail(format!(
                    "after closing batch {batch}: item {} ({:?}) carries {serial} in state {state:?}",
                    item.seq, item.whereabouts
                )));
            }
        }
        Ok(())
    }
}

/// Runs one seed to the end; the failure names the seed and step.
pub fn run_seed(seed: u64, settings: &SimSettings) -> Result<SimReport, SimFailure> {
    let gtin = Gtin::parse("09506000134352").map_err(|error| SimFailure {
        seed,
        step: 0,
        message: format!("test GTIN refused: {error}"),
    })?;
    let product = ProductSpec {
        gtin,
        template: CodeTemplate::standard(),
        min_grade: settings.min_grade,
        consecutive_reject_limit: settings.consecutive_reject_limit,
    };
    let model =
        SimLine::new(seed, &settings.line, &settings.faults).map_err(|message| SimFailure {
            seed,
            step: 0,
            message,
        })?;
    let mut driver = Driver {
        seed,
        settings: settings.clone(),
        engine: Engine::new(settings.engine.clone()),
        model,
        ledger: Ledger::default(),
        out: Vec::new(),
        events: Vec::new(),
        report: SimReport {
            seed,
            ..SimReport::default()
        },
        product,
        batch: None,
        next_batch: 0,
        operator_wait: 0,
    };
    for device in Device::ALL {
        driver.deliver(Event::DeviceUp(device))?;
    }
    let step_limit = settings.items.saturating_mul(200).max(100_000);
    while driver.operate()? {
        driver
            .model
            .advance()
            .map_err(|message| driver.fail(message))?;
        let mut events = std::mem::take(&mut driver.events);
        driver.model.due_events(&mut events);
        for event in events.drain(..) {
            driver.deliver(event)?;
        }
        driver.events = events;
        driver.check_step()?;
        if driver.model.step_count() > step_limit {
            return Err(driver.fail(format!(
                "no end after {step_limit} steps: {:?}",
                driver.engine.status()
            )));
        }
    }
    driver.report.steps = driver.model.step_count();
    driver.report.items = driver.model.items_entered();
    driver.report.escaped = driver.model.truth.escaped;
    Ok(driver.report)
}

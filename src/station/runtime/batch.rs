//! Batch control of the station: start (with its checks), take-over after a
//! restart, the operator's commands, the supervision of a running batch (the
//! reject limit at its tail, counted holds, automatic resume, stall stop) and its
//! close. The decisions are the pure [`crate::station::policy`]'s; this module
//! observes, asks and acts. ARCHITECTURE.md §2 and §6 place it.

use std::collections::BTreeSet;

use crate::gs1::Gtin;
use crate::line::{
    BatchId as EngineBatchId, BatchRecovery, BatchStart, Command, Event, MessageId,
    OperatorCommand, RecoveredItem,
};
use crate::store::line_records::LineBatch;
use crate::store::{Actor, BatchId, NewBatch};

use crate::station::policy::{
    Observation, ResumeStep, SupervisionOptions, Supervisor, Watch, alarm_reset_command,
    resume_step,
};
use crate::station::product::product_spec;
use crate::station::records::reconciliation_of;

use super::{BatchOutcome, BatchRequest, Station, StationError, device_list, now};

impl Station {
    /// Starts a batch: checks the product and the pool, records the batch, hands it
    /// to the engine (which checks the rest: devices online, expiry, lot, quantity).
    pub async fn start_batch(&mut self, request: &BatchRequest) -> Result<BatchId, StationError> {
        self.start_batch_with_challenge(request, 0).await
    }

    /// [`Station::start_batch`] with a challenge test: `challenge_items` known-bad
    /// items are fed first, and production starts only if every one is rejected and
    /// its reject confirmed.
    pub async fn start_batch_with_challenge(
        &mut self,
        request: &BatchRequest,
        challenge_items: u32,
    ) -> Result<BatchId, StationError> {
        if let Some(status) = self.engine.status() {
            return Err(StationError::Refused(format!(
                "batch {} is still {}: stop and close it (`serialstation batch stop`, then `batch close`) before starting another",
                status.batch,
                status.state.as_str()
            )));
        }
        let product = self
            .store
            .product(&request.gtin)?
            .ok_or_else(|| {
                StationError::Refused(format!(
                    "GTIN {} is not in the product master: load its client file with `serialstation config load`, or check the GTIN (`serialstation product list`)",
                    request.gtin
                ))
            })?;
        let spec = product_spec(&product).map_err(StationError::Refused)?;
        let pool_available = self.pool_available(&request.gtin)?;
        let offline = self.engine.offline_devices();
        if !offline.is_empty() {
            return Err(StationError::Devices(format!(
                "the {} is offline: check its power, cable and the address in the line configuration, then start the batch again",
                device_list(&offline)
            )));
        }
        // The engine checks everything about the batch before the store records it.
        let probe = BatchStart {
            batch: EngineBatchId(0),
            product: spec.clone(),
            lot: request.lot.clone(),
            expiry: request.expiry.clone(),
            quantity: request.quantity,
            pool_available,
            today: crate::gs1::date::today_utc(),
            first_message_id: MessageId(1),
            challenge_items,
        };
        crate::line::check_batch_start(&probe, &[])
            .map_err(|e| StationError::Refused(e.message))?;
        let batch = self.store.create_batch(
            &NewBatch {
                gtin: request.gtin.clone(),
                lot: request.lot.clone(),
                expiry: request.expiry.clone(),
                quantity: u64::from(request.quantity),
            },
            &request.actor,
        )?;
        self.actor = request.actor.clone();
        self.latency.clear();
        self.line = Some(LineBatch {
            batch,
            gtin: request.gtin.clone(),
            client_id: product.client_id.clone(),
            lot: request.lot.clone(),
            expiry: request.expiry.clone(),
        });
        self.ready_line().await?;
        let start = BatchStart {
            batch: EngineBatchId(batch.0 as u64),
            first_message_id: MessageId(self.store.next_message_id()?),
            ..probe
        };
        let out = self.hand_to_engine(OperatorCommand::Start(Box::new(start)))?;
        self.supervision = Supervisor::new(request.supervision(), now());
        self.alarms.clear();
        self.execute(out).await?;
        Ok(batch)
    }

    /// Takes over a batch that the store's start-up recovery has settled, but for the
    /// items it handed over in flight (`in_flight`, settled by their fates): the engine
    /// gets it back held (paused) until the operator resumes it.
    pub async fn take_over(
        &mut self,
        line: LineBatch,
        stopping: bool,
        in_flight: Vec<RecoveredItem>,
        actor: &Actor,
    ) -> Result<(), StationError> {
        let record = self.store.batch(line.batch)?.ok_or_else(|| {
            StationError::Refused(format!("there is no batch {} to take over", line.batch.0))
        })?;
        let product = self.store.product(&line.gtin)?.ok_or_else(|| {
            StationError::Refused(format!(
                "batch {} is for GTIN {}, which is no longer in the product master: load its client file again",
                line.batch.0, line.gtin
            ))
        })?;
        let spec = product_spec(&product).map_err(StationError::Refused)?;
        let stored = self.store.batch_serial_counts(line.batch)?;
        self.check_handed_over(&line, &in_flight)?;
        let pool_available = self.pool_available(&line.gtin)?;
        self.ready_line().await?;
        let recovery = BatchRecovery {
            start: BatchStart {
                batch: EngineBatchId(line.batch.0 as u64),
                product: spec,
                lot: line.lot.clone(),
                expiry: line.expiry.clone(),
                quantity: u32::try_from(record.quantity).unwrap_or(u32::MAX),
                pool_available,
                today: crate::gs1::date::today_utc(),
                first_message_id: MessageId(self.store.next_message_id()?),
                challenge_items: 0,
            },
            counts: reconciliation_of(&stored),
            stopping,
            in_flight,
        };
        self.actor = actor.clone();
        self.latency.clear();
        self.line = Some(line.clone());
        let out = self.hand_to_engine(OperatorCommand::Recover(Box::new(recovery)))?;
        self.supervision = Supervisor::new(SupervisionOptions::default(), now());
        self.execute(out).await
    }

    /// The serials still outstanding in the store must be exactly those of the items
    /// handed over in flight: the engine settles those, and nothing else would be.
    fn check_handed_over(
        &self,
        line: &LineBatch,
        in_flight: &[RecoveredItem],
    ) -> Result<(), StationError> {
        let outstanding: BTreeSet<String> = self
            .store
            .unsettled_serials(line.batch)?
            .into_iter()
            .map(|unsettled| unsettled.serial)
            .collect();
        let handed: BTreeSet<String> = in_flight
            .iter()
            .filter_map(|item| item.serial.clone())
            .collect();
        if outstanding == handed {
            return Ok(());
        }
        let list = |set: &BTreeSet<String>| {
            if set.is_empty() {
                "none".to_string()
            } else {
                set.iter().cloned().collect::<Vec<_>>().join(", ")
            }
        };
        Err(StationError::Refused(format!(
            "batch {} cannot be taken over: the serials outstanding in the store ({}) are not those of the items handed over in flight ({}); start the daemon again so that start-up recovery runs again",
            line.batch.0,
            list(&outstanding),
            list(&handed)
        )))
    }

    /// Unallocated serials in the pool of `gtin`.
    fn pool_available(&self, gtin: &Gtin) -> Result<u64, StationError> {
        Ok(self.store.pool_unallocated(gtin)?)
    }

    /// Readies the line for a batch being started or taken over: the items already
    /// between the print head and the camera are blank, so the PLC's reject limit
    /// is raised until the first good item leaves (see [`TailRejectLimit`]); items
    /// the camera triggers on from now are the batch's.
    async fn ready_line(&mut self) -> Result<(), StationError> {
        let limit = self.reject_limit.at_start();
        if let Err(e) = self.devices.plc.set_consecutive_reject_limit(limit).await {
            self.note(format!(
                "could not set the PLC's consecutive-reject limit: {e}"
            ));
        }
        let status = self.read_plc().await?;
        self.camera_cursor = Some(status.camera_trigger_count);
        Ok(())
    }

    /// Hands a batch start or take-over to the engine; if the engine refuses it,
    /// the station lets go of the batch too.
    fn hand_to_engine(&mut self, command: OperatorCommand) -> Result<Vec<Command>, StationError> {
        let mut out = Vec::new();
        if let Err(e) = self.engine.handle(Event::Operator(command), &mut out) {
            self.line = None;
            self.camera_cursor = None;
            return Err(StationError::Refused(e.message));
        }
        Ok(out)
    }

    /// Pause, resume or stop the active batch for `actor`.
    pub async fn operator(
        &mut self,
        command: OperatorCommand,
        actor: &Actor,
    ) -> Result<(), StationError> {
        self.actor = actor.clone();
        if matches!(command, OperatorCommand::Resume) && self.plc_alarms.any() {
            // Latched PLC alarms are cleared by a reset once their cause is gone.
            self.reset_plc_alarms().await;
            self.poll_plc().await;
            self.drain_followups().await?;
        }
        let mut out = Vec::new();
        self.engine
            .handle(Event::Operator(command), &mut out)
            .map_err(|e| StationError::Refused(e.message))?;
        self.execute(out).await?;
        self.drain_followups().await
    }

    /// Observe → decide → act, once per wake-up: the PLC's reject limit follows
    /// the batch's tail; the supervisor counts holds, and for an unattended batch
    /// tries a resume and stops a stalled batch.
    pub(super) async fn supervise(&mut self) -> Result<(), StationError> {
        let Some(status) = self.engine.status() else {
            return Ok(());
        };
        // A handed-over item leaving good says nothing about the batch's tail: the
        // blank and fenced items behind it are still to be rejected.
        let good_exits = status.stats.exited_good - status.stats.handed_over_exited_good;
        self.follow_tail(status.no_more_prints, good_exits).await;
        match self.supervision.observe(Observation::of(&status), now()) {
            Watch::Over => return Ok(()),
            Watch::Continue => {}
            Watch::TryResume => self.try_resume().await?,
        }
        if let Some(stop) = self.supervision.stall_check(now()) {
            self.note(stop.describe());
            self.command_by_itself(stop.command()).await?;
        }
        Ok(())
    }

    /// Raises the PLC's consecutive-reject limit while nothing is printed and sets
    /// it back once a good item leaves afterwards (see [`TailRejectLimit`]).
    async fn follow_tail(&mut self, no_prints: bool, good_exits: u64) {
        let Some(limit) = self.reject_limit.decide(no_prints, good_exits).limit() else {
            return;
        };
        match self.devices.plc.set_consecutive_reject_limit(limit).await {
            Ok(()) => self.reject_limit.applied(limit, good_exits),
            Err(e) => self.note(format!(
                "could not set the PLC's consecutive-reject limit to {limit}: {e}"
            )),
        }
    }

    /// Clears PLC alarms at the line and resumes, as an unattended operator would.
    async fn try_resume(&mut self) -> Result<(), StationError> {
        let devices_offline = !self.engine.offline_devices().is_empty();
        match resume_step(devices_offline, self.plc_alarms.any()) {
            ResumeStep::WaitForDevices => Ok(()),
            ResumeStep::ResetPlcAlarms => {
                self.reset_plc_alarms().await;
                Ok(())
            }
            ResumeStep::Resume => self.command_by_itself(OperatorCommand::Resume).await,
        }
    }

    /// Gives the engine a command the station decided by itself (no operator
    /// asked): a refusal is noted, not an error.
    async fn command_by_itself(&mut self, command: OperatorCommand) -> Result<(), StationError> {
        let mut out = Vec::new();
        match self.engine.handle(Event::Operator(command), &mut out) {
            Ok(()) => self.execute(out).await?,
            Err(e) => self.note(e.message),
        }
        self.drain_followups().await
    }

    /// Asks the PLC to reset its latched alarms (they clear once their cause is gone).
    async fn reset_plc_alarms(&mut self) {
        if let Ok(status) = self.devices.plc.read_status().await {
            let command = alarm_reset_command(status.state);
            if let Err(e) = self.devices.plc.command(command).await {
                self.note(format!("could not reset the PLC: {e}"));
            }
        }
    }

    /// Closes the stopped batch with the store's counts; a batch that does not balance
    /// needs `reason`, which is recorded.
    pub async fn close_batch(
        &mut self,
        batch: BatchId,
        reason: Option<String>,
    ) -> Result<BatchOutcome, StationError> {
        let status = self.engine.status().ok_or_else(|| {
            StationError::Refused(
                "no batch is active: `serialstation batch list` shows the batches".into(),
            )
        })?;
        if status.batch.0 != batch.0 as u64 {
            return Err(StationError::Refused(format!(
                "batch {} is not the active batch (the active batch is {})",
                batch.0, status.batch
            )));
        }
        let stored = self.store.batch_serial_counts(batch)?;
        let counts = reconciliation_of(&stored);
        let mut out = Vec::new();
        let close = OperatorCommand::Close {
            reason,
            store_counts: Some(counts),
        };
        if let Err(e) = self.engine.handle(Event::Operator(close), &mut out) {
            return Err(StationError::Refused(format!(
                "batch {} cannot be closed: {} (store: {}, {} still outstanding)",
                batch.0,
                e.message,
                counts.describe(),
                stored.outstanding
            )));
        }
        self.execute(out).await?;
        self.line = None;
        self.camera_cursor = None;
        let outcome = BatchOutcome {
            batch,
            status,
            counts,
            alarms: self.alarms.clone(),
            holds: self.supervision.holds(),
            elapsed: self.supervision.elapsed(now()),
        };
        self.supervision = Supervisor::new(SupervisionOptions::default(), now());
        Ok(outcome)
    }
}

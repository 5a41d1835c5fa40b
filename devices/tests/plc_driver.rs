//! The PLC driver against an in-test Modbus/TCP server (tokio-modbus server,
//! applying the register map's own access rules) on a real loopback socket:
//! status, verdicts, commands, exceptions, fate events across a reconnect, and
//! a PLC that stops answering.

mod support;

use std::future::Ready;
use std::sync::{Arc, Mutex};

use serialstation_devices::plc::register_map::{
    self, AlarmBits, FateCode, FateSlot, HoldingWrite, LineStatus, MapException, PackMlCommand,
    PackMlState, VerdictCode, VerdictSlot, check_holding_read, check_holding_write,
    check_input_read,
};
use serialstation_devices::plc::{ModbusPlc, PlcConfig};
use serialstation_devices::traits::{DeviceError, DeviceEventKind, LineIo};
use support::{loopback_link, wait_down, wait_for, wait_up};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_modbus::prelude::{ExceptionCode, Request, Response};
use tokio_modbus::server::tcp::{Server, accept_tcp_connection};

/// The PLC's registers, laid out per the register map.
#[derive(Default)]
struct PlcRegisters {
    status: Option<LineStatus>,
    fates: Vec<u16>,
    holding: Vec<u16>,
    commands: Vec<PackMlCommand>,
    /// Reads of the whole status block served.
    status_reads: u32,
}

impl PlcRegisters {
    fn new() -> Self {
        let status = LineStatus {
            heartbeat: 0,
            state: PackMlState::Idle,
            alarms: AlarmBits::default(),
            items_detected: 0,
            camera_trigger_count: 0,
            gate_count: 0,
            good_exit_count: 0,
            reject_fired_count: 0,
            reject_confirmed_count: 0,
            encoder_count: 0,
            line_speed_per_min: 0,
            consecutive_rejects: 0,
            fate_write_count: 0,
        };
        PlcRegisters {
            status: Some(status),
            fates: vec![
                0;
                usize::from(register_map::FATE_RING_END - register_map::FATE_RING_START)
            ],
            holding: vec![0; usize::from(register_map::VERDICT_RING_END)],
            commands: Vec::new(),
            status_reads: 0,
        }
    }

    fn record_fate(&mut self, seq: u32, fate: FateCode) {
        let at = usize::from(register_map::fate_slot_address(seq) - register_map::FATE_RING_START);
        self.fates[at..at + 3].copy_from_slice(&FateSlot { seq, fate }.encode());
        if let Some(status) = self.status.as_mut() {
            status.fate_write_count = status.fate_write_count.wrapping_add(1);
            status.gate_count = seq.wrapping_add(1);
        }
    }

    fn answer(&mut self, request: Request<'static>) -> Result<Response, ExceptionCode> {
        let exception = |e: MapException| match e {
            MapException::IllegalFunction => ExceptionCode::IllegalFunction,
            MapException::IllegalDataAddress => ExceptionCode::IllegalDataAddress,
            MapException::IllegalDataValue => ExceptionCode::IllegalDataValue,
        };
        match request {
            Request::ReadInputRegisters(start, count) => {
                check_input_read(start, count).map_err(exception)?;
                if start == 0 && count == register_map::STATUS_BLOCK_LEN {
                    self.status_reads += 1;
                }
                let status = self.status.map(|s| s.encode().to_vec()).unwrap_or_default();
                let registers = if start < register_map::STATUS_BLOCK_LEN {
                    status[usize::from(start)..usize::from(start + count)].to_vec()
                } else {
                    let at = usize::from(start - register_map::FATE_RING_START);
                    self.fates[at..at + usize::from(count)].to_vec()
                };
                Ok(Response::ReadInputRegisters(registers))
            }
            Request::ReadHoldingRegisters(start, count) => {
                check_holding_read(start, count).map_err(exception)?;
                Ok(Response::ReadHoldingRegisters(
                    self.holding[usize::from(start)..usize::from(start + count)].to_vec(),
                ))
            }
            Request::WriteSingleRegister(address, value) => {
                self.apply(address, &[value]).map_err(exception)?;
                Ok(Response::WriteSingleRegister(address, value))
            }
            Request::WriteMultipleRegisters(address, values) => {
                self.apply(address, &values).map_err(exception)?;
                Ok(Response::WriteMultipleRegisters(
                    address,
                    values.len() as u16,
                ))
            }
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }

    fn apply(&mut self, start: u16, values: &[u16]) -> Result<(), MapException> {
        for write in check_holding_write(start, values)? {
            if let HoldingWrite::Command(command) = write {
                self.commands.push(command);
            }
        }
        self.holding[usize::from(start)..usize::from(start) + values.len()].copy_from_slice(values);
        self.holding[usize::from(register_map::HR_COMMAND)] = 0;
        Ok(())
    }
}

struct PlcService(Arc<Mutex<PlcRegisters>>);

impl tokio_modbus::server::Service for PlcService {
    type Request = Request<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Response, ExceptionCode>>;

    fn call(&self, request: Self::Request) -> Self::Future {
        let mut registers = self.0.lock().unwrap_or_else(|p| p.into_inner());
        std::future::ready(registers.answer(request))
    }
}

/// Serves `registers` on `listener` until `stop` fires (then every connection closes).
fn serve(listener: TcpListener, registers: Arc<Mutex<PlcRegisters>>, stop: oneshot::Receiver<()>) {
    let server = Server::new(listener);
    tokio::spawn(async move {
        let on_connected = move |stream, peer| {
            let registers = registers.clone();
            async move {
                accept_tcp_connection(stream, peer, move |_| {
                    Ok(Some(PlcService(registers.clone())))
                })
            }
        };
        let _ = server
            .serve_until(
                &on_connected,
                |error| eprintln!("test PLC: {error}"),
                async {
                    let _ = stop.await;
                },
            )
            .await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_verdicts_commands_and_exceptions() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let registers = Arc::new(Mutex::new(PlcRegisters::new()));
    let (_stop, stop_rx) = oneshot::channel();
    serve(listener, registers.clone(), stop_rx);
    let (events_tx, mut events) = mpsc::channel(256);
    let plc = ModbusPlc::spawn(PlcConfig::new(loopback_link("plc", address)), events_tx);
    wait_up(&mut events).await;

    {
        let mut regs = registers.lock().expect("lock");
        let status = regs.status.as_mut().expect("status");
        status.state = PackMlState::Execute;
        status.items_detected = 70_001;
        status.encoder_count = u32::MAX - 5;
        status.alarms = AlarmBits(AlarmBits::BIN_FULL);
    }
    let status = plc.read_status().await.expect("status");
    assert_eq!(status.state, PackMlState::Execute);
    assert_eq!(status.items_detected, 70_001);
    assert_eq!(status.encoder_count, u32::MAX - 5);
    let reported = wait_for(&mut events, |kind| match kind {
        DeviceEventKind::LineStatus(status) if status.alarms.contains(AlarmBits::BIN_FULL) => {
            Some(*status)
        }
        _ => None,
    })
    .await;
    assert_eq!(reported.alarms.names(), vec!["reject bin full"]);

    plc.write_verdict(70_000, true).await.expect("verdict");
    plc.write_verdict(70_001, false).await.expect("verdict");
    assert_eq!(
        plc.read_verdict_slot(70_000).await.expect("slot"),
        VerdictSlot {
            seq: 70_000,
            verdict: VerdictCode::Good
        }
    );
    assert_eq!(
        plc.read_verdict_slot(70_001).await.expect("slot"),
        VerdictSlot {
            seq: 70_001,
            verdict: VerdictCode::Reject
        }
    );
    let next_round = 70_000 + u32::from(register_map::VERDICT_RING_SLOTS);
    assert!(
        !plc.read_verdict_slot(next_round)
            .await
            .expect("slot")
            .releases(next_round)
    );

    plc.command(PackMlCommand::Stop).await.expect("command");
    plc.set_consecutive_reject_limit(3).await.expect("limit");
    assert_eq!(
        registers.lock().expect("lock").commands,
        vec![PackMlCommand::Stop]
    );
    assert_eq!(
        plc.read_holding_registers(register_map::HR_CONSECUTIVE_REJECT_LIMIT, 1)
            .await
            .expect("read"),
        vec![3]
    );

    let bad_value = plc.write_registers(register_map::HR_COMMAND, &[10]).await;
    assert!(
        matches!(&bad_value, Err(DeviceError::Refused { detail, .. }) if detail.contains("exception 03")),
        "{bad_value:?}"
    );
    let bad_address = plc.read_input_registers(500, 2).await;
    assert!(
        matches!(&bad_address, Err(DeviceError::Refused { detail, .. }) if detail.contains("exception 02")),
        "{bad_address:?}"
    );
    let local = plc.set_consecutive_reject_limit(0).await;
    assert!(
        matches!(local, Err(DeviceError::InvalidRequest { .. })),
        "{local:?}"
    );
    // The connection survives exceptions.
    assert!(plc.read_status().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fates_arrive_in_order_also_across_a_reconnect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let registers = Arc::new(Mutex::new(PlcRegisters::new()));
    let (stop, stop_rx) = oneshot::channel();
    serve(listener, registers.clone(), stop_rx);
    let (events_tx, mut events) = mpsc::channel(1024);
    let mut config = PlcConfig::new(loopback_link("plc", address));
    config.fate_cursor = Some(0);
    let plc = ModbusPlc::spawn(config, events_tx);
    wait_up(&mut events).await;

    let fate_of = |seq: u32| {
        if seq.is_multiple_of(3) {
            FateCode::RejectedConfirmed
        } else {
            FateCode::ExitedGood
        }
    };
    for seq in 0..50 {
        registers
            .lock()
            .expect("lock")
            .record_fate(seq, fate_of(seq));
    }
    let mut seen = Vec::new();
    while seen.len() < 50 {
        let (seq, fate) = wait_for(&mut events, |kind| match kind {
            DeviceEventKind::ItemFate { seq, fate } => Some((*seq, *fate)),
            _ => None,
        })
        .await;
        seen.push(seq);
        assert_eq!(fate, fate_of(seq));
    }
    assert_eq!(seen, (0..50).collect::<Vec<_>>());

    // The PLC goes away; meanwhile 100 more items get their fates.
    let _ = stop.send(());
    wait_down(&mut events).await;
    for seq in 50..150 {
        registers
            .lock()
            .expect("lock")
            .record_fate(seq, fate_of(seq));
    }
    let listener = TcpListener::bind(address)
        .await
        .expect("rebind the same port");
    let (_stop, stop_rx) = oneshot::channel();
    serve(listener, registers.clone(), stop_rx);
    wait_up(&mut events).await;
    let mut seen = Vec::new();
    while seen.len() < 100 {
        seen.push(
            wait_for(&mut events, |kind| match kind {
                DeviceEventKind::ItemFate { seq, .. } => Some(*seq),
                _ => None,
            })
            .await,
        );
    }
    assert_eq!(seen, (50..150).collect::<Vec<_>>());
    let read_back = plc.read_fates(140, 20).await.expect("read fates");
    assert_eq!(
        read_back.iter().map(|slot| slot.seq).collect::<Vec<_>>(),
        (140..150).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_plc_times_out_and_is_reported_down() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream); // accepts, never answers
        }
    });
    let (events_tx, mut events) = mpsc::channel(64);
    let plc = ModbusPlc::spawn(PlcConfig::new(loopback_link("plc", address)), events_tx);
    wait_up(&mut events).await;
    let reason = wait_down(&mut events).await;
    assert!(reason.contains("no reply"), "{reason}");
    let outcome = plc.write_verdict(1, true).await;
    assert!(
        matches!(
            outcome,
            Err(DeviceError::Timeout { .. }) | Err(DeviceError::NotConnected { .. })
        ),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fates_overwritten_while_away_are_reported_lost() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let registers = Arc::new(Mutex::new(PlcRegisters::new()));
    for seq in 0..300 {
        registers
            .lock()
            .expect("lock")
            .record_fate(seq, FateCode::ExitedGood);
    }
    let (_stop, stop_rx) = oneshot::channel();
    serve(listener, registers.clone(), stop_rx);
    let (events_tx, mut events) = mpsc::channel(1024);
    let mut config = PlcConfig::new(loopback_link("plc", address));
    config.fate_cursor = Some(0);
    let _plc = ModbusPlc::spawn(config, events_tx);
    let lost = wait_for(&mut events, |kind| match kind {
        DeviceEventKind::FatesLost { first_seq, count } => Some((*first_seq, *count)),
        _ => None,
    })
    .await;
    let ring = u32::from(register_map::FATE_RING_SLOTS);
    assert_eq!(
        lost,
        (0, 300 - ring),
        "300 fates, a ring of 256: the oldest 44 are gone"
    );
    let mut seen = Vec::new();
    while seen.len() < ring as usize {
        seen.push(
            wait_for(&mut events, |kind| match kind {
                DeviceEventKind::ItemFate { seq, .. } => Some(*seq),
                _ => None,
            })
            .await,
        );
    }
    assert_eq!(seen, (300 - ring..300).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_status_read_serves_as_the_drivers_poll() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let registers = Arc::new(Mutex::new(PlcRegisters::new()));
    let (_stop, stop_rx) = oneshot::channel();
    serve(listener, registers.clone(), stop_rx);
    let (events_tx, mut events) = mpsc::channel(1024);
    let mut config = PlcConfig::new(loopback_link("plc", address));
    config.fate_cursor = Some(0);
    // The driver's own poll would next come in an hour: only the caller reads.
    config.poll_interval = std::time::Duration::from_secs(3600);
    let plc = ModbusPlc::spawn(config, events_tx);
    wait_up(&mut events).await;
    let _ = plc.read_status().await.expect("status");
    let reads_before = registers.lock().expect("lock").status_reads;
    for seq in 0..5 {
        registers
            .lock()
            .expect("lock")
            .record_fate(seq, FateCode::ExitedGood);
    }
    let status = plc.read_status().await.expect("status");
    assert_eq!(status.gate_count, 5);
    let mut seen = Vec::new();
    while seen.len() < 5 {
        seen.push(
            wait_for(&mut events, |kind| match kind {
                DeviceEventKind::ItemFate { seq, .. } => Some(*seq),
                _ => None,
            })
            .await,
        );
    }
    assert_eq!(seen, (0..5).collect::<Vec<_>>());
    assert_eq!(
        registers.lock().expect("lock").status_reads,
        reads_before + 1,
        "the caller's read was the only status read: the driver read the fates it announced"
    );
}

//! The ZPL printer driver against a minimal label-printer peer on a real
//! loopback socket (written with the crate's own codecs): labels parsed back to
//! their DataMatrix data, prints inferred from the host status, clearing with
//! never-printed ids, and a printer that does not answer `~HS` (a fault).

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serialstation_devices::framing::decode_all;
use serialstation_devices::traits::{DeviceError, DeviceEventKind, Printer};
use serialstation_devices::zpl::{HostStatus, LabelLayout, ZplCommand, ZplLabel, ZplPrinter};
use support::{loopback_link, wait_down, wait_for, wait_up};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[derive(Default)]
struct LabelPrinter {
    formats: VecDeque<ZplLabel>,
    printed: Vec<ZplLabel>,
    paused: bool,
    head_open: bool,
}

async fn start_printer(state: Arc<Mutex<LabelPrinter>>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let state = state.clone();
            tokio::spawn(async move {
                let mut inbox = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    inbox.extend_from_slice(&chunk[..n]);
                    let (commands, consumed) = decode_all(&inbox, ZplCommand::decode);
                    inbox.drain(..consumed);
                    for command in commands.into_iter().flatten() {
                        let reply = {
                            let mut printer = state.lock().expect("lock");
                            match command {
                                ZplCommand::Label(label) => {
                                    printer.formats.push_back(label);
                                    None
                                }
                                ZplCommand::Pause => {
                                    printer.paused = true;
                                    None
                                }
                                ZplCommand::Resume => {
                                    printer.paused = false;
                                    None
                                }
                                ZplCommand::CancelAll => {
                                    printer.formats.clear();
                                    None
                                }
                                // A real printer stays silent with the head open.
                                ZplCommand::HostStatus if printer.head_open => None,
                                ZplCommand::HostStatus => Some(
                                    HostStatus {
                                        paused: printer.paused,
                                        formats_in_buffer: printer.formats.len() as u16,
                                        ..HostStatus::default()
                                    }
                                    .encode(),
                                ),
                            }
                        };
                        if let Some(bytes) = reply
                            && stream.write_all(&bytes).await.is_err()
                        {
                            return;
                        }
                    }
                }
            });
        }
    });
    address
}

fn print_one(state: &Mutex<LabelPrinter>) {
    let mut printer = state.lock().expect("lock");
    if let Some(label) = printer.formats.pop_front() {
        printer.printed.push(label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_prints_and_clear() {
    let state = Arc::new(Mutex::new(LabelPrinter::default()));
    let address = start_printer(state.clone()).await;
    let (events_tx, mut events) = mpsc::channel(64);
    let printer = ZplPrinter::spawn(
        loopback_link("zpl", address),
        LabelLayout::default(),
        events_tx,
    );
    wait_up(&mut events).await;
    let data = |n: u32| format!("0109506000134352\x1d21SN_{n}").into_bytes();
    for id in 1..=3 {
        printer
            .queue_message(id, &data(id))
            .await
            .expect("queue label");
    }
    let refused = printer.queue_message(4, b"21A^XZ").await;
    assert!(
        matches!(refused, Err(DeviceError::InvalidRequest { .. })),
        "{refused:?}"
    );
    assert_eq!(printer.buffer_level().await.expect("level"), 3);

    print_one(&state);
    assert_eq!(printer.buffer_level().await.expect("level"), 2);
    let printed = wait_for(&mut events, |kind| match kind {
        DeviceEventKind::PrintComplete { message_id } => Some(*message_id),
        _ => None,
    })
    .await;
    assert_eq!(printed, 1);
    {
        let printer_state = state.lock().expect("lock");
        assert_eq!(
            printer_state.printed[0].data,
            data(1),
            "GS and `_` survive the ZPL escapes"
        );
        assert!(printer_state.printed[0].gs1);
    }

    assert_eq!(printer.clear_buffer().await.expect("clear"), vec![2, 3]);
    // The status round trip also orders us after the resume the driver sent.
    assert!(printer.status().await.expect("status").ready);
    assert!(state.lock().expect("lock").formats.is_empty());
    assert!(
        !state.lock().expect("lock").paused,
        "resumed after the clear"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_host_status_answer_is_a_fault() {
    let state = Arc::new(Mutex::new(LabelPrinter::default()));
    let address = start_printer(state.clone()).await;
    let (events_tx, mut events) = mpsc::channel(64);
    let printer = ZplPrinter::spawn(
        loopback_link("zpl", address),
        LabelLayout::default(),
        events_tx,
    );
    wait_up(&mut events).await;
    state.lock().expect("lock").head_open = true;
    let outcome = printer.status().await;
    match outcome {
        Err(DeviceError::Timeout { request, .. }) => {
            assert!(request.contains("head open"), "{request}")
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let reason = wait_down(&mut events).await;
    assert!(reason.contains("no reply to ~HS"), "{reason}");
    state.lock().expect("lock").head_open = false;
    wait_up(&mut events).await;
    assert!(printer.status().await.expect("answers again").ready);
}

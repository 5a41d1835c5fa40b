//! The TIJ printer driver against a minimal printer peer on a real loopback
//! socket (written with the crate's own codec): queueing, print-complete
//! events, clearing with never-printed ids, reconnect, timeouts and garbage.

mod support;

use std::collections::VecDeque;
use std::time::Duration;

use serialstation_devices::framing::decode_all;
use serialstation_devices::tij::{
    TijCommand, TijErrorCode, TijErrorLevel, TijPrinter, TijReply, TijState, TijStatus,
};
use serialstation_devices::traits::{DeviceError, DeviceEventKind, Printer};
use support::{loopback_link, wait_down, wait_for, wait_up};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the test tells the peer to do.
enum PeerAction {
    /// Print the oldest buffered message (sends PRC).
    Print,
    /// Send raw bytes.
    Raw(Vec<u8>),
    /// Close the connection.
    Hangup,
    /// Stop answering commands.
    GoSilent,
}

/// Serves one connection until hangup; returns the buffer so the next connection keeps it.
async fn serve(
    mut stream: TcpStream,
    buffer: &mut VecDeque<u32>,
    actions: &mut mpsc::Receiver<PeerAction>,
) {
    let mut inbox = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut silent = false;
    loop {
        tokio::select! {
            read = stream.read(&mut chunk) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                inbox.extend_from_slice(&chunk[..n]);
                let (commands, consumed) = decode_all(&inbox, TijCommand::decode);
                inbox.drain(..consumed);
                for command in commands {
                    let reply = match command {
                        Ok(TijCommand::SelectJob { .. }) | Ok(TijCommand::SetRunning(_)) => TijReply::Ack,
                        Ok(TijCommand::QueueMessage { id, .. }) if buffer.contains(&id) => {
                            TijReply::Error { code: TijErrorCode::DuplicateId, text: "duplicate id".into() }
                        }
                        Ok(TijCommand::QueueMessage { id, .. }) => { buffer.push_back(id); TijReply::Queued { id } }
                        Ok(TijCommand::GetBufferCount) => TijReply::BufferCount { count: buffer.len() as u32 },
                        Ok(TijCommand::ClearBuffer) => TijReply::Cleared { never_printed: buffer.drain(..).collect() },
                        Ok(TijCommand::GetStatus) => TijReply::Status(TijStatus {
                            state: TijState::Running, error_level: TijErrorLevel::None, job: "GS1".into(), batch_count: 0, total_count: 0,
                        }),
                        Ok(TijCommand::GetFaults) => TijReply::Faults(vec![]),
                        Err(error) => TijReply::Error { code: TijErrorCode::BadSyntax, text: error.to_string() },
                    };
                    if !silent && stream.write_all(&reply.encode()).await.is_err() {
                        return;
                    }
                }
            }
            action = actions.recv() => match action {
                Some(PeerAction::Print) => {
                    if let Some(id) = buffer.pop_front()
                        && stream.write_all(&TijReply::PrintComplete { id }.encode()).await.is_err()
                    {
                        return;
                    }
                }
                Some(PeerAction::Raw(bytes)) => { if stream.write_all(&bytes).await.is_err() { return; } }
                Some(PeerAction::Hangup) | None => return,
                Some(PeerAction::GoSilent) => silent = true,
            }
        }
    }
}

async fn start_peer() -> (std::net::SocketAddr, mpsc::Sender<PeerAction>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    let (actions_tx, mut actions) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut buffer = VecDeque::new();
        while let Ok((stream, _)) = listener.accept().await {
            serve(stream, &mut buffer, &mut actions).await;
        }
    });
    (address, actions_tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_print_and_clear() {
    let (address, actions) = start_peer().await;
    let (events_tx, mut events) = mpsc::channel(64);
    let printer = TijPrinter::spawn(loopback_link("tij", address), events_tx);
    wait_up(&mut events).await;
    printer.select_job("GS1").await.expect("select job");
    for id in 1..=3 {
        printer
            .queue_message(id, b"0109506000134352\x1d21SN1")
            .await
            .expect("queue");
    }
    let refused = printer.queue_message(2, b"x").await;
    assert!(
        matches!(refused, Err(DeviceError::Refused { .. })),
        "{refused:?}"
    );
    assert_eq!(printer.buffer_level().await.expect("level"), 3);
    actions.send(PeerAction::Print).await.expect("peer alive");
    let printed = wait_for(&mut events, |kind| match kind {
        DeviceEventKind::PrintComplete { message_id } => Some(*message_id),
        _ => None,
    })
    .await;
    assert_eq!(printed, 1);
    assert_eq!(printer.clear_buffer().await.expect("clear"), vec![2, 3]);
    let status = printer.status().await.expect("status");
    assert!(status.ready);
    assert_eq!(status.job.as_deref(), Some("GS1"));
    assert_eq!(status.buffer_level, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_reported_and_the_stream_resyncs() {
    let (address, actions) = start_peer().await;
    let (events_tx, mut events) = mpsc::channel(64);
    let printer = TijPrinter::spawn(loopback_link("tij", address), events_tx);
    wait_up(&mut events).await;
    printer.queue_message(7, b"21A").await.expect("queue");
    let mut garbage = b"\xff\xfe|||NONSENSE\x00|\r".to_vec();
    garbage.extend(std::iter::repeat_n(b'x', 5000));
    garbage.extend(b"\r");
    actions
        .send(PeerAction::Raw(garbage))
        .await
        .expect("peer alive");
    actions.send(PeerAction::Print).await.expect("peer alive");
    let error = wait_for(&mut events, |kind| match kind {
        DeviceEventKind::ProtocolError(detail) => Some(detail.clone()),
        _ => None,
    })
    .await;
    assert!(error.contains("TIJ"), "{error}");
    let printed = wait_for(&mut events, |kind| match kind {
        DeviceEventKind::PrintComplete { message_id } => Some(*message_id),
        _ => None,
    })
    .await;
    assert_eq!(printed, 7);
    assert_eq!(printer.buffer_level().await.expect("still talking"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_hangup_and_times_out_silent_printer() {
    let (address, actions) = start_peer().await;
    let (events_tx, mut events) = mpsc::channel(64);
    let printer = TijPrinter::spawn(loopback_link("tij", address), events_tx);
    wait_up(&mut events).await;
    printer.queue_message(1, b"21A").await.expect("queue");
    actions.send(PeerAction::Hangup).await.expect("peer alive");
    let reason = wait_down(&mut events).await;
    assert!(reason.contains("closed"), "{reason}");
    wait_up(&mut events).await;
    assert_eq!(printer.buffer_level().await.expect("after reconnect"), 1);

    actions
        .send(PeerAction::GoSilent)
        .await
        .expect("peer alive");
    // Let the peer take the action before the request goes out.
    let mut outcome = printer.buffer_level().await;
    for _ in 0..50 {
        if outcome.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        outcome = printer.buffer_level().await;
    }
    assert!(
        matches!(outcome, Err(DeviceError::Timeout { .. })),
        "{outcome:?}"
    );
    let reason = wait_down(&mut events).await;
    assert!(reason.contains("no reply"), "{reason}");
    wait_up(&mut events).await;
    assert_eq!(
        printer
            .buffer_level()
            .await
            .expect("fresh connection answers"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fail_fast_while_the_printer_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let (events_tx, mut events) = mpsc::channel(64);
    let printer = TijPrinter::spawn(loopback_link("tij", address), events_tx);
    let reason = wait_down(&mut events).await;
    assert!(reason.contains("cannot connect"), "{reason}");
    let outcome = printer.queue_message(1, b"21A").await;
    assert!(
        matches!(outcome, Err(DeviceError::NotConnected { .. })),
        "{outcome:?}"
    );
}

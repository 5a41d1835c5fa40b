//! The simulated TIJ printer on TCP: decodes host commands with the devices TIJ
//! codec, applies them to the printer model, answers, and pushes `PRC` for every
//! print and `STA` on state changes.

use serialstation_devices::framing::decode_all;
use serialstation_devices::tij::codec::MAX_DATA;
use serialstation_devices::tij::{
    TijCodecError, TijCommand, TijErrorCode, TijErrorLevel, TijFault, TijReply, TijState, TijStatus,
};

use crate::printer::model::QueueError;
use crate::runtime::core::{SharedCore, lock};
use crate::runtime::net::DeviceProtocol;

/// One host connection to the TIJ printer.
#[derive(Debug, Default)]
pub struct TijConnection;

fn state_of(running: bool) -> TijState {
    if running {
        TijState::Running
    } else {
        TijState::Offline
    }
}

/// Answers one command (pure apart from the core).
pub fn answer(core: &SharedCore, command: TijCommand) -> Vec<TijReply> {
    let mut core = lock(core);
    let printer = &mut core.printer;
    match command {
        TijCommand::SelectJob { job } => {
            printer.select_job(&job);
            vec![TijReply::Ack]
        }
        TijCommand::QueueMessage { id, data } => match printer.queue(id, data, MAX_DATA) {
            Ok(()) => vec![TijReply::Queued { id }],
            Err(QueueError::BufferFull) => vec![TijReply::Error {
                code: TijErrorCode::BufferFull,
                text: "buffer full".into(),
            }],
            Err(QueueError::DuplicateId) => {
                vec![TijReply::Error {
                    code: TijErrorCode::DuplicateId,
                    text: format!("id {id} is already in the buffer"),
                }]
            }
            Err(QueueError::DataTooLong) => vec![TijReply::Error {
                code: TijErrorCode::BadData,
                text: "data too long".into(),
            }],
        },
        TijCommand::GetBufferCount => vec![TijReply::BufferCount {
            count: printer.buffer_len() as u32,
        }],
        TijCommand::ClearBuffer => {
            let never_printed = printer.clear();
            let detail = format!("buffer cleared, never printed: {never_printed:?}");
            core.note("printer", detail);
            vec![TijReply::Cleared { never_printed }]
        }
        TijCommand::GetStatus => vec![TijReply::Status(TijStatus {
            state: state_of(printer.running),
            error_level: if printer.underrun {
                TijErrorLevel::Warning
            } else {
                TijErrorLevel::None
            },
            job: printer.job.clone().unwrap_or_default(),
            batch_count: printer.batch_count,
            total_count: printer.total_count,
        })],
        TijCommand::GetFaults => {
            let faults = if printer.underrun {
                vec![TijFault::BufferUnderrun]
            } else {
                Vec::new()
            };
            vec![TijReply::Faults(faults)]
        }
        TijCommand::SetRunning(running) => {
            if running && printer.job.is_none() {
                return vec![TijReply::Error {
                    code: TijErrorCode::NotReady,
                    text: "no job selected".into(),
                }];
            }
            let changed = printer.running != running;
            printer.running = running;
            let mut replies = vec![TijReply::Ack];
            if changed {
                replies.push(TijReply::StateChanged {
                    state: state_of(running),
                    error_level: TijErrorLevel::None,
                });
            }
            replies
        }
    }
}

impl DeviceProtocol for TijConnection {
    type Push = u32;

    fn on_bytes(&mut self, core: &SharedCore, buf: &[u8]) -> (Vec<Vec<u8>>, usize) {
        let (messages, used) = decode_all(buf, TijCommand::decode);
        let mut out = Vec::new();
        for message in messages {
            let replies = match message {
                Ok(command) => answer(core, command),
                Err(e) => {
                    let code = match e {
                        TijCodecError::UnknownTag(_) => TijErrorCode::UnknownCommand,
                        _ => TijErrorCode::BadSyntax,
                    };
                    vec![TijReply::Error {
                        code,
                        text: e.to_string(),
                    }]
                }
            };
            // One reply per command goes out as one write; a state change follows it.
            let bytes: Vec<u8> = replies.iter().flat_map(TijReply::encode).collect();
            out.push(bytes);
        }
        (out, used)
    }

    fn on_push(&mut self, _core: &SharedCore, id: &u32) -> Option<Vec<u8>> {
        Some(TijReply::PrintComplete { id: *id }.encode())
    }
}

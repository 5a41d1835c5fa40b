//! The simulated label printer on a raw TCP port (9100-style): decodes ZPL with the
//! devices codec, queues each label's DataMatrix in the printer model, answers
//! `~HS` with the host status, and handles pause, resume and cancel-all.

use serialstation_devices::framing::decode_all;
use serialstation_devices::zpl::{HostStatus, ZplCommand};

use crate::runtime::core::{SharedCore, lock};
use crate::runtime::net::DeviceProtocol;

/// Largest label data the simulated printer accepts, bytes.
const MAX_LABEL_DATA: usize = 1024;

/// One host connection to the label printer.
#[derive(Debug, Default)]
pub struct ZplConnection;

/// Applies one command; returns the reply bytes (only `~HS` has one).
pub fn answer(core: &SharedCore, command: ZplCommand) -> Option<Vec<u8>> {
    let mut core = lock(core);
    match command {
        ZplCommand::Label(label) => {
            let id = core.next_zpl_label_id;
            core.next_zpl_label_id = id.wrapping_add(1);
            if let Err(e) = core
                .printer
                .queue_symbol(id, label.data, label.gs1, MAX_LABEL_DATA)
            {
                core.note("printer", format!("label {id} refused: {e:?}"));
            }
            None
        }
        ZplCommand::HostStatus => {
            let printer = &core.printer;
            let status = HostStatus {
                paused: !printer.running,
                label_length_dots: 1245,
                formats_in_buffer: printer.buffer_len().min(999) as u16,
                labels_remaining: printer.buffer_len() as u32,
                print_mode: 0,
                ..HostStatus::default()
            };
            Some(status.encode())
        }
        ZplCommand::Pause => {
            core.printer.running = false;
            None
        }
        ZplCommand::Resume => {
            core.printer.running = true;
            None
        }
        ZplCommand::CancelAll => {
            let never_printed = core.printer.clear();
            core.note(
                "printer",
                format!("all formats cancelled, never printed: {never_printed:?}"),
            );
            None
        }
    }
}

impl DeviceProtocol for ZplConnection {
    /// A label printer pushes nothing.
    type Push = u32;

    fn on_bytes(&mut self, core: &SharedCore, buf: &[u8]) -> (Vec<Vec<u8>>, usize) {
        let (messages, used) = decode_all(buf, ZplCommand::decode);
        let mut out = Vec::new();
        for message in messages {
            match message {
                Ok(command) => out.extend(answer(core, command)),
                Err(e) => lock(core).note("printer", format!("ZPL garbage ignored: {e}")),
            }
        }
        (out, used)
    }

    fn on_push(&mut self, _core: &SharedCore, _id: &u32) -> Option<Vec<u8>> {
        None
    }
}

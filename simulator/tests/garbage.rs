//! Arbitrary bytes sent to any simulated device, and arbitrary register accesses
//! to the PLC, never panic the simulator and always consume what they parsed.

use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use serialstation_simulator::SimConfig;
use serialstation_simulator::camera::{dmcc_server::DmccConnection, image_server::ImageConnection};
use serialstation_simulator::plc::registers;
use serialstation_simulator::printer::{tij_server::TijConnection, zpl_server::ZplConnection};
use serialstation_simulator::runtime::core::{LineCore, SharedCore};
use serialstation_simulator::runtime::net::DeviceProtocol;

fn core() -> SharedCore {
    Arc::new(Mutex::new(LineCore::new(&SimConfig::default_line(), None)))
}

fn feed<P: DeviceProtocol>(mut protocol: P, core: &SharedCore, bytes: &[u8]) {
    let (_, used) = protocol.on_bytes(core, bytes);
    assert!(used <= bytes.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn devices_survive_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let core = core();
        feed(TijConnection, &core, &bytes);
        feed(ZplConnection, &core, &bytes);
        feed(DmccConnection, &core, &bytes);
        feed(ImageConnection, &core, &bytes);
    }

    #[test]
    fn plc_survives_any_register_access(start in any::<u16>(), count in 0u16..200, values in proptest::collection::vec(any::<u16>(), 0..130)) {
        let core = core();
        let mut guard = core.lock().unwrap();
        let _ = registers::read_input(&guard, start, count);
        let _ = registers::read_holding(&guard, start, count);
        let _ = registers::write_holding(&mut guard, start, &values);
    }
}

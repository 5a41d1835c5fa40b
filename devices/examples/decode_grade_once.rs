//! Decodes and grades one cropped carton code (260×260, 10 px/module) a given number
//! of times: a small, repeatable workload for instruction counting, e.g.
//! `valgrind --tool=callgrind target/release/examples/decode_grade_once 20`.

use serialstation_devices::vision::{
    EncodeOptions, GradeOptions, decode_image, encode_text, grade,
};

const CARTON: &str = "(01)09506000134352(17)270131(10)ABC123(21)SN0000001";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let repetitions: usize = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .map_err(|_| format!("the repetition count must be a whole number, not {text:?}"))?,
        None => 1,
    };
    let symbol = encode_text(CARTON, &EncodeOptions::default())?.image;
    let options = GradeOptions::default();
    let mut last = None;
    for _ in 0..repetitions {
        let decoded = decode_image(&symbol)?;
        last = Some(grade(
            symbol.as_raw(),
            symbol.width() as usize,
            symbol.height() as usize,
            &decoded,
            &options,
        ));
    }
    if let Some(report) = last {
        println!(
            "{} ({}x{} image)",
            report.formatted,
            symbol.width(),
            symbol.height()
        );
    }
    Ok(())
}

//! `serialstation vision case-render | case-read` and the image side of
//! `container check-image`: a case seen from above by the case camera, packs in a
//! `ROWSxCOLS` layout (`serialstation_devices::vision::case_image`).
//!
//! - `vision case-render -o FILE.png --layout 6x8 [--module-px N] [--width W
//!   --height H] [--seed N] CODE...`: one CODE per place, row by row (GS1 data in
//!   any read form, `-` for an empty place).
//! - `vision case-read FILE.png --layout 6x8 [--json]`: what each place shows.

use std::path::Path;
use std::process::ExitCode;

use serialstation_devices::vision::case_image::{CaseLayout, render_case};

use crate::aggregation::case_check::PlaceRead;

/// Reads `ROWSxCOLS` (e.g. `6x8`).
pub fn layout_arg(text: &str) -> Result<(u32, u32), String> {
    let parsed = text
        .split_once(['x', 'X', '×'])
        .and_then(|(r, c)| Some((r.trim().parse::<u32>().ok()?, c.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((rows, cols)) if (1..=20).contains(&rows) && (1..=20).contains(&cols) => {
            Ok((rows, cols))
        }
        _ => Err(format!(
            "{text:?} is not a case layout: write ROWSxCOLS, e.g. 6x8 (1 to 20 each)"
        )),
    }
}

/// Renders a case frame to `output`.
pub fn render(
    output: &Path,
    (rows, cols): (u32, u32),
    size: (u32, u32),
    module_px: u32,
    seed: u64,
    codes: &[String],
) -> Result<ExitCode, String> {
    let layout = CaseLayout {
        rows,
        cols,
        width: size.0,
        height: size.1,
    };
    let places: Vec<Option<String>> = codes
        .iter()
        .map(|c| (c != "-").then(|| c.clone()))
        .collect();
    let frame = render_case(&layout, &places, module_px, seed).map_err(|e| e.to_string())?;
    frame
        .save(output)
        .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    println!(
        "wrote {} ({}×{}, {} of {} places with a code)",
        output.display(),
        layout.width,
        layout.height,
        places.iter().filter(|p| p.is_some()).count(),
        layout.cells()
    );
    Ok(ExitCode::SUCCESS)
}

/// What each place of the case frame in `file` shows, as the case check takes it.
pub fn read_places(file: &Path, layout: (u32, u32)) -> Result<Vec<PlaceRead>, String> {
    let frame = super::vision::read_png(file)?;
    crate::aggregation::case_check::read_frame(&frame, layout)
}

/// One place, as shown to an operator.
pub fn describe_place(read: &PlaceRead) -> String {
    match read {
        PlaceRead::Pack { gtin, serial, lot } => format!(
            "pack (01){gtin}(21){serial}{}",
            lot.as_ref().map_or(String::new(), |l| format!(" lot {l}"))
        ),
        PlaceRead::NotAPack(text) => format!("{text} (not a pack)"),
        PlaceRead::Unreadable(why) => format!("unreadable: {why}"),
        PlaceRead::Empty => "empty".to_string(),
    }
}

/// `vision case-read`.
pub fn read(file: &Path, layout: (u32, u32), json: bool) -> Result<ExitCode, String> {
    let places = read_places(file, layout)?;
    if json {
        let list: Vec<serde_json::Value> = places
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut v = serde_json::json!({ "place": i + 1, "read": describe_place(p) });
                if let PlaceRead::Pack { gtin, serial, lot } = p {
                    v["gtin"] = gtin.to_string().into();
                    v["serial"] = serial.clone().into();
                    v["lot"] = lot.clone().into();
                }
                v
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        for (i, p) in places.iter().enumerate() {
            println!("place {:>2}: {}", i + 1, describe_place(p));
        }
    }
    Ok(ExitCode::SUCCESS)
}

// Vision: GS1 DataMatrix encoding and decoding round trips, checked against rxing's
// own encoder and reader, across symbol sizes, shapes, polarity and print defects.

use image::GrayImage;
use rxing::common::HybridBinarizer;
use rxing::datamatrix::{DataMatrixReader, DataMatrixWriter};
use rxing::{
    BarcodeFormat, BinaryBitmap, DecodeHints, EncodeHints, Luma8LuminanceSource, Reader, Writer,
};
use serialstation_devices::vision::defects::{self, ModuleGeometry};
use serialstation_devices::vision::encode::encode_matrix;
use serialstation_devices::vision::render::render;
use serialstation_devices::vision::{
    EncodeOptions, Gs1Content, Polarity, RenderOptions, SymbolShape, decode_image, encode_text,
};

const CARTON: &str = "(01)09506000134352(17)270131(10)ABC123(21)SN0000001";
const CARTON_SCAN: &str = "01095060001343521727013110ABC123\u{1d}21SN0000001";

fn rxing_read(image: &GrayImage) -> (String, String) {
    let source =
        Luma8LuminanceSource::new(image.as_raw().clone(), image.width(), image.height()).unwrap();
    let hints = DecodeHints {
        TryHarder: Some(true),
        ..Default::default()
    };
    let result = DataMatrixReader
        .decode_with_hints(&mut BinaryBitmap::new(HybridBinarizer::new(source)), &hints)
        .unwrap();
    let id = match result
        .getRXingResultMetadata()
        .get(&rxing::RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
    {
        Some(rxing::RXingResultMetadataValue::SymbologyIdentifier(id)) => id.clone(),
        _ => String::new(),
    };
    (id, result.getText().to_string())
}

#[test]
fn carton_code_matches_rxing_gs1_encoder_module_for_module() {
    let symbol = encode_text(CARTON, &EncodeOptions::default()).unwrap();
    let hints = EncodeHints {
        Gs1Format: Some(true),
        DataMatrixCompact: Some(true),
        ..Default::default()
    };
    let reference = DataMatrixWriter
        .encode_with_hints(CARTON_SCAN, &BarcodeFormat::DATA_MATRIX, 0, 0, &hints)
        .unwrap();
    assert_eq!(
        (
            reference.getWidth() as usize,
            reference.getHeight() as usize
        ),
        (symbol.matrix.cols, symbol.matrix.rows)
    );
    for r in 0..symbol.matrix.rows {
        for c in 0..symbol.matrix.cols {
            assert_eq!(
                reference.get(c as u32, r as u32),
                symbol.matrix.get(r, c),
                "module ({r},{c})"
            );
        }
    }
}

#[test]
fn encoded_symbol_reads_as_gs1_with_rxing_reader_and_own_decoder() {
    let symbol = encode_text(CARTON, &EncodeOptions::default()).unwrap();
    assert_eq!(
        rxing_read(&symbol.image),
        ("]d2".to_string(), CARTON_SCAN.to_string())
    );
    let decoded = decode_image(&symbol.image).unwrap();
    assert_eq!(decoded.symbology_identifier, "]d2");
    assert_eq!(decoded.text, CARTON_SCAN);
    let es = decoded.element_string().expect("valid GS1");
    assert_eq!(es.get("21"), Some("SN0000001"));
    assert_eq!(es.get("10"), Some("ABC123"));
}

#[test]
fn rectangular_and_inverted_symbols_round_trip() {
    for shape in [
        SymbolShape::Rectangle,
        SymbolShape::Square,
        SymbolShape::Auto,
    ] {
        for polarity in [Polarity::DarkOnLight, Polarity::LightOnDark] {
            let options = EncodeOptions {
                shape,
                render: RenderOptions {
                    module_px: 6,
                    quiet_zone_modules: 2,
                    polarity,
                },
            };
            let symbol = encode_text("(01)09506000134352(21)ABC", &options).unwrap();
            if shape == SymbolShape::Rectangle {
                assert_ne!(symbol.matrix.rows, symbol.matrix.cols);
            }
            let decoded = decode_image(&symbol.image)
                .unwrap_or_else(|e| panic!("{shape:?} {polarity:?}: {e}"));
            assert!(decoded.is_valid_gs1(), "{shape:?} {polarity:?}");
            assert_eq!(decoded.polarity, polarity);
        }
    }
}

#[test]
fn every_symbol_size_round_trips_through_the_image_decoder() {
    // Serial lengths that push the data through many square sizes.
    for serial_len in [1usize, 8, 20] {
        let mut data = String::from("0109506000134352");
        data.push_str("21");
        data.push_str(&"7".repeat(serial_len));
        for extra in 0..6 {
            let mut d = data.clone();
            for k in 0..extra {
                d.push('\u{1d}');
                d.push_str(&format!("9{k}"));
                d.push_str(&"X".repeat(30));
            }
            let (size, _, matrix) = encode_matrix(d.as_bytes(), true, SymbolShape::Square).unwrap();
            let image = render(
                &matrix,
                &RenderOptions {
                    module_px: 4,
                    quiet_zone_modules: 2,
                    polarity: Polarity::DarkOnLight,
                },
            );
            let decoded =
                decode_image(&image).unwrap_or_else(|e| panic!("{}x{}: {e}", size.rows, size.cols));
            assert_eq!(decoded.text, d, "{}x{}", size.rows, size.cols);
            assert_eq!(decoded.symbology_identifier, "]d2");
        }
    }
}

#[test]
fn plain_data_matrix_is_never_reported_as_gs1() {
    let (_, _, matrix) = encode_matrix(CARTON_SCAN.as_bytes(), false, SymbolShape::Square).unwrap();
    let image = render(&matrix, &RenderOptions::default());
    let decoded = decode_image(&image).unwrap();
    assert_eq!(decoded.symbology_identifier, "]d1");
    assert_eq!(decoded.content, Gs1Content::NotGs1);
    assert!(!decoded.is_valid_gs1());
}

#[test]
fn gs1_symbol_with_bad_check_digit_is_reported_invalid() {
    // Check digit 3 instead of 2: encoded raw, bypassing validation.
    let (_, _, matrix) =
        encode_matrix(b"0109506000134353\x1d21SN1", true, SymbolShape::Square).unwrap();
    let decoded = decode_image(&render(&matrix, &RenderOptions::default())).unwrap();
    assert_eq!(decoded.symbology_identifier, "]d2");
    assert!(
        matches!(decoded.content, Gs1Content::Invalid(_)),
        "{:?}",
        decoded.content
    );
}

#[test]
fn invalid_gs1_data_is_refused_by_the_encoder() {
    assert!(encode_text("(01)09506000134353(21)SN1", &EncodeOptions::default()).is_err());
    assert!(encode_text("not gs1 at all", &EncodeOptions::default()).is_err());
}

#[test]
fn decodes_rotated_noisy_symbol_in_a_camera_frame() {
    let options = EncodeOptions {
        render: RenderOptions {
            module_px: 6,
            ..Default::default()
        },
        ..Default::default()
    };
    let symbol = encode_text(CARTON, &options).unwrap();
    for (k, angle) in [0.0f64, 17.0, 45.0, 90.0, 163.0, 250.0, 331.0]
        .into_iter()
        .enumerate()
    {
        let frame = defects::place_in_frame(
            &symbol.image,
            640,
            480,
            300.0 + 10.0 * k as f64,
            230.0,
            angle,
            220,
            8.0,
            k as u64,
        );
        let decoded = decode_image(&frame).unwrap_or_else(|e| panic!("angle {angle}: {e}"));
        assert_eq!(decoded.text, CARTON_SCAN, "angle {angle}");
        assert!(decoded.corners.is_some());
    }
}

#[test]
fn decodes_through_moderate_print_defects() {
    let options = EncodeOptions::default();
    let symbol = encode_text(CARTON, &options).unwrap();
    let geometry = ModuleGeometry::of_render(&symbol.matrix, &options.render);
    let px = geometry.module_px;
    let cases: Vec<(&str, GrayImage)> = vec![
        ("fade", defects::fade(&symbol.image, 0.6)),
        ("spread", defects::ink_spread(&symbol.image, 0.4, px)),
        ("erosion", defects::erosion(&symbol.image, 0.4, px)),
        (
            "dead nozzle",
            defects::dead_nozzle(&symbol.image, 0.3, &geometry, 7),
        ),
        ("dotted", defects::dotted(&symbol.image, 0.5, &geometry)),
        ("blur", defects::blur(&symbol.image, 0.4, px)),
        ("noise", defects::noise(&symbol.image, 0.3, 3)),
        ("skew", defects::skew(&symbol.image, 0.2)),
        ("rotation", defects::rotate(&symbol.image, 33.0)),
        ("perspective", defects::perspective(&symbol.image, 0.3)),
    ];
    for (name, image) in cases {
        let decoded = decode_image(&image).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded.text, CARTON_SCAN, "{name}");
    }
}

#[test]
fn heavy_partial_print_is_a_no_read_not_a_wrong_read() {
    let symbol = encode_text(CARTON, &EncodeOptions::default()).unwrap();
    let cut = defects::partial_print(&symbol.image, 1.0);
    match decode_image(&cut) {
        Err(_) => {}
        Ok(d) => panic!("partial print read as {:?}", d.text),
    }
}

#[test]
fn wrong_data_decodes_to_the_other_data() {
    let printed = encode_text("(01)09506000134352(21)OTHER", &EncodeOptions::default()).unwrap();
    let decoded = decode_image(&printed.image).unwrap();
    assert_eq!(
        decoded.element_string().and_then(|e| e.get("21")),
        Some("OTHER")
    );
}

#[test]
fn raw_luma_buffer_of_wrong_length_is_an_error() {
    assert!(serialstation_devices::vision::decode_luma(&[0u8; 10], 4, 4).is_err());
}

//! Vision benchmarks: encode + render one carton code; decode + grade a cropped
//! symbol; decode + grade a 640×480 camera frame with one rotated, noisy symbol.

use criterion::{Criterion, criterion_group, criterion_main};
use serialstation_devices::vision::defects::place_in_frame;
use serialstation_devices::vision::{
    EncodeOptions, GradeOptions, RenderOptions, decode_image, encode_text, grade,
};
use serialstation_gs1::ElementString;

const CARTON: &str = "(01)09506000134352(17)270131(10)ABC123(21)SN0000001";

fn benches(c: &mut Criterion) {
    let element_string = ElementString::parse(CARTON).expect("valid test data");
    let options = EncodeOptions::default();
    c.bench_function("encode+render carton 22x22 @10px", |b| {
        b.iter(|| {
            serialstation_devices::vision::encode(&element_string, &options).expect("encodes")
        })
    });

    let cropped = encode_text(CARTON, &options).expect("encodes").image;
    let grade_options = GradeOptions::default();
    c.bench_function("decode+grade cropped 260x260", |b| {
        b.iter(|| {
            let d = decode_image(&cropped).expect("decodes");
            grade(
                cropped.as_raw(),
                cropped.width() as usize,
                cropped.height() as usize,
                &d,
                &grade_options,
            )
        })
    });

    let small = EncodeOptions {
        render: RenderOptions {
            module_px: 6,
            ..Default::default()
        },
        ..Default::default()
    };
    let symbol = encode_text(CARTON, &small).expect("encodes").image;
    let frame = place_in_frame(&symbol, 640, 480, 300.0, 250.0, 17.0, 220, 8.0, 1);
    if let Ok(dir) = std::env::var("SERIALSTATION_BENCH_IMAGES") {
        let _ = cropped.save(format!("{dir}/cropped.png"));
        let _ = frame.save(format!("{dir}/frame.png"));
    }
    c.bench_function("decode+grade frame 640x480 rotated noisy", |b| {
        b.iter(|| {
            let d = decode_image(&frame).expect("decodes");
            grade(
                frame.as_raw(),
                frame.width() as usize,
                frame.height() as usize,
                &d,
                &grade_options,
            )
        })
    });
    c.bench_function("decode only frame 640x480 rotated noisy", |b| {
        b.iter(|| decode_image(&frame).expect("decodes"))
    });
}

criterion_group!(vision, benches);
criterion_main!(vision);

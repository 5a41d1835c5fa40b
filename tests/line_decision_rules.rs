//! One test per decision rule of the line engine (DESIGN.md, step 3 "Verify"):
//! `]d2` only, valid GS1 data, every AI equal to what was sent, no duplicate, grade
//! at or above the product's minimum.

use serialstation::gs1::ElementString;
use serialstation::line::decision::{Decision, SerialStatus, decide};
use serialstation::line::{Grade, RejectReason, SymbologyId};

fn sent() -> ElementString {
    ElementString::from_pairs([
        ("01", "09506000134352"),
        ("17", "281231"),
        ("10", "LOT1"),
        ("21", "SN0001"),
    ])
    .expect("the test's element string is valid")
}

fn min_grade() -> Grade {
    Grade::from_tenths(15).expect("1.5 is a grade")
}

fn decide_read(
    symbology: SymbologyId,
    data: &str,
    grade: Grade,
    status: SerialStatus<'_>,
) -> Decision {
    decide(symbology, data, grade, min_grade(), |_| status)
}

fn reason(decision: &Decision) -> Option<RejectReason> {
    match decision {
        Decision::Good { .. } => None,
        Decision::Reject { reason, .. } => Some(*reason),
    }
}

#[test]
fn exact_gs1_datamatrix_of_an_unverified_print_with_enough_grade_is_good() {
    let expected = sent();
    let data = expected.to_encoder_data();
    let decision = decide_read(
        SymbologyId::GS1_DATAMATRIX,
        &data,
        Grade::B,
        SerialStatus::Candidate(&expected),
    );
    assert_eq!(
        decision,
        Decision::Good {
            serial: "SN0001".to_string()
        }
    );
}

#[test]
fn grade_equal_to_the_minimum_is_good() {
    let expected = sent();
    let data = expected.to_encoder_data();
    let decision = decide_read(
        SymbologyId::GS1_DATAMATRIX,
        &data,
        min_grade(),
        SerialStatus::Candidate(&expected),
    );
    assert!(matches!(decision, Decision::Good { .. }));
}

#[test]
fn plain_datamatrix_is_not_gs1() {
    let expected = sent();
    let data = expected.to_encoder_data();
    let decision = decide_read(
        SymbologyId::PLAIN_DATAMATRIX,
        &data,
        Grade::A,
        SerialStatus::Candidate(&expected),
    );
    assert_eq!(reason(&decision), Some(RejectReason::NotGs1));
}

#[test]
fn another_symbology_is_not_gs1_datamatrix() {
    let expected = sent();
    let data = expected.to_encoder_data();
    let gs1_128 = SymbologyId::parse("]C1").expect("]C1 is a symbology identifier");
    let decision = decide_read(gs1_128, &data, Grade::A, SerialStatus::Candidate(&expected));
    assert_eq!(reason(&decision), Some(RejectReason::NotGs1));
}

#[test]
fn data_that_is_not_a_valid_element_string_is_invalid_data() {
    let expected = sent();
    for data in [
        "hello world",
        "0109506000134353",
        "01095060001343521799133210LOT1\u{1d}21SN0001",
        "",
    ] {
        let decision = decide_read(
            SymbologyId::GS1_DATAMATRIX,
            data,
            Grade::A,
            SerialStatus::Candidate(&expected),
        );
        assert_eq!(
            reason(&decision),
            Some(RejectReason::InvalidData),
            "data {data:?}"
        );
    }
}

#[test]
fn a_different_lot_on_a_known_serial_is_a_mismatch_that_identifies_the_serial() {
    let expected = sent();
    let printed = ElementString::from_pairs([
        ("01", "09506000134352"),
        ("17", "281231"),
        ("10", "LOT2"),
        ("21", "SN0001"),
    ])
    .expect("valid");
    let decision = decide_read(
        SymbologyId::GS1_DATAMATRIX,
        &printed.to_encoder_data(),
        Grade::A,
        SerialStatus::Candidate(&expected),
    );
    assert_eq!(
        decision,
        Decision::Reject {
            reason: RejectReason::Mismatch,
            identified: Some("SN0001".to_string())
        }
    );
}

#[test]
fn an_extra_ai_is_a_mismatch() {
    let expected = sent();
    let printed = ElementString::from_pairs([
        ("01", "09506000134352"),
        ("17", "281231"),
        ("10", "LOT1"),
        ("21", "SN0001"),
        ("240", "EXTRA"),
    ])
    .expect("valid");
    let decision = decide_read(
        SymbologyId::GS1_DATAMATRIX,
        &printed.to_encoder_data(),
        Grade::A,
        SerialStatus::Candidate(&expected),
    );
    assert_eq!(reason(&decision), Some(RejectReason::Mismatch));
}

#[test]
fn a_serial_that_is_no_unverified_print_of_this_batch_is_a_mismatch() {
    let data = sent().to_encoder_data();
    let decision = decide_read(
        SymbologyId::GS1_DATAMATRIX,
        &data,
        Grade::A,
        SerialStatus::Unknown,
    );
    assert_eq!(
        decision,
        Decision::Reject {
            reason: RejectReason::Mismatch,
            identified: None
        }
    );
}

#[test]
fn valid_gs1_without_a_serial_is_a_mismatch() {
    let expected = sent();
    let printed =
        ElementString::from_pairs([("01", "09506000134352"), ("17", "281231"), ("10", "LOT1")])
            .expect("valid");
    let decision = decide_read(
        SymbologyId::GS1_DATAMATRIX,
        &printed.to_encoder_data(),
        Grade::A,
        SerialStatus::Candidate(&expected),
    );
    assert_eq!(reason(&decision), Some(RejectReason::Mismatch));
}

#[test]
fn a_serial_verified_before_is_a_duplicate() {
    let data = sent().to_encoder_data();
    let decision = decide_read(
        SymbologyId::GS1_DATAMATRIX,
        &data,
        Grade::A,
        SerialStatus::VerifiedBefore,
    );
    assert_eq!(reason(&decision), Some(RejectReason::Duplicate));
}

#[test]
fn a_grade_below_the_minimum_is_rejected_and_identifies_the_serial() {
    let expected = sent();
    let data = expected.to_encoder_data();
    let low = Grade::from_tenths(14).expect("1.4 is a grade");
    let decision = decide_read(
        SymbologyId::GS1_DATAMATRIX,
        &data,
        low,
        SerialStatus::Candidate(&expected),
    );
    assert_eq!(
        decision,
        Decision::Reject {
            reason: RejectReason::Grade,
            identified: Some("SN0001".to_string())
        }
    );
}

#[test]
fn mismatch_outranks_grade() {
    let expected = sent();
    let printed = ElementString::from_pairs([
        ("01", "09506000134352"),
        ("17", "281130"),
        ("10", "LOT1"),
        ("21", "SN0001"),
    ])
    .expect("valid");
    let decision = decide_read(
        SymbologyId::GS1_DATAMATRIX,
        &printed.to_encoder_data(),
        Grade::F,
        SerialStatus::Candidate(&expected),
    );
    assert_eq!(reason(&decision), Some(RejectReason::Mismatch));
}

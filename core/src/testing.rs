//! Sample data for tests and demos across the workspace: valid applicants, appeals and IINs.
//! Real values that pass every validation; nothing here is a mock of behaviour.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::code::{LookupParams, SecretCode};
use crate::domain::{AppealKind, Applicant, Language, MediaRef};
use crate::ident::complete_with_check_digit;
use crate::store::NewAppeal;

/// Cheap Argon2id parameters for tests (the real ones cost ~50 ms per derivation).
pub const TEST_LOOKUP_PARAMS: LookupParams = LookupParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// A valid IIN for a person born on 1 January 1990 with serial `n` (skips serials without a
/// check digit).
pub fn sample_iin(n: u32) -> String {
    (n..n + 20)
        .find_map(|k| complete_with_check_digit(&format!("9001013{:04}", k % 10_000)))
        .unwrap_or_else(|| "900101300004".to_owned())
}

/// A Kazakh-speaking individual applicant with valid fields.
pub fn sample_applicant() -> Applicant {
    // Invariant: these literals pass validation (checked by `sample_data_is_valid`).
    let p = |s: &str| {
        s.parse()
            .unwrap_or_else(|e| unreachable!("sample name invalid: {e}"))
    };
    Applicant::Individual {
        surname: p("Қасымова"),
        name: p("Әлия"),
        patronymic: Some(p("Серікқызы")),
        iin: sample_iin(1).parse().ok(),
        address: "Алматы қ., Абай даңғылы, 10, 5 пәтер"
            .parse()
            .unwrap_or_else(|e| unreachable!("{e}")),
        email: "aliya@example.kz".parse().ok(),
    }
}

/// A new appeal with a fresh id and code; returns the code too (tests look it up by code).
pub fn sample_new_appeal(
    booth_id: &str,
    recorded_at: DateTime<Utc>,
    file_name: Option<String>,
) -> (NewAppeal, SecretCode) {
    let code = SecretCode::generate();
    let id = Uuid::now_v7();
    let lookup_id = code
        .lookup_id(&TEST_LOOKUP_PARAMS)
        .unwrap_or_else(|e| unreachable!("test params are valid: {e}"));
    let new = NewAppeal {
        id,
        booth_id: booth_id.to_owned(),
        applicant: sample_applicant(),
        addressee_id: "mintrud".into(),
        kind: AppealKind::Statement,
        complaint: None,
        language: Language::Kk,
        recorded_at,
        duration_ms: 42_000,
        media: MediaRef {
            file_name: file_name.unwrap_or_else(|| format!("{id}.age")),
            sealed_sha256: "0".repeat(64),
            sealed_size: 1024,
            content_type: "video/webm".into(),
        },
        lookup_id,
        expected_answer_date: Some(recorded_at.date_naive()),
        continuation_of: None,
        ticket: None,
        visit_id: None,
    };
    (new, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_data_is_valid() {
        assert!(sample_iin(7).parse::<crate::Iin>().is_ok());
        let Applicant::Individual { iin, email, .. } = sample_applicant() else {
            panic!("individual")
        };
        assert!(iin.is_some() && email.is_some());
    }
}

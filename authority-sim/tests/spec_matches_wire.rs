//! The OpenAPI document and booth-core's wire types describe the same JSON: a sample of every
//! wire type, with every optional field filled, validates against its schema, and uses every
//! property the schema lists (so a field added on one side only fails here).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;

use booth_core::wire::*;
use booth_core::{Agency, Answer, DecisionKind, Status, StatusEvent};
use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

fn spec() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol/openapi.yaml");
    let y: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    serde_json::to_value(y).unwrap()
}

fn resolve<'a>(spec: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(spec, &spec["components"]["schemas"][name])
        }
        None => s,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// A small JSON Schema check: types, enum/const, properties, required, additionalProperties,
/// items, prefixItems, oneOf. Returns the first mismatch.
fn check(spec: &Value, schema: &Value, v: &Value, path: &str) -> Result<(), String> {
    let s = resolve(spec, schema);
    if let Some(alts) = s.get("oneOf").and_then(Value::as_array) {
        let errs: Vec<String> = alts
            .iter()
            .filter_map(|a| check(spec, a, v, path).err())
            .collect();
        return if errs.len() < alts.len() {
            Ok(())
        } else {
            Err(format!("{path}: no oneOf branch fits: {errs:?}"))
        };
    }
    match s.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => {
            return Err(format!("{path}: expected {t}, got {v}"));
        }
        Some(Value::Array(ts)) if !ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)) => {
            return Err(format!("{path}: expected one of {ts:?}, got {v}"));
        }
        _ => {}
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        return Err(format!("{path}: {v} not in enum {e:?}"));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        return Err(format!("{path}: {v} is not {c}"));
    }
    if let (Some(props), Some(obj)) = (
        s.get("properties").and_then(Value::as_object),
        v.as_object(),
    ) {
        for (k, val) in obj {
            match props.get(k) {
                Some(ps) => check(spec, ps, val, &format!("{path}.{k}"))?,
                None => return Err(format!("{path}: field {k} is not in the spec")),
            }
        }
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap_or_default();
            if !obj.contains_key(r) {
                return Err(format!(
                    "{path}: required field {r} missing from the Rust type's JSON"
                ));
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(spec, items, x, &format!("{path}[{i}]"))?;
        }
    }
    if let (Some(pi), Some(arr)) = (s.get("prefixItems").and_then(Value::as_array), v.as_array()) {
        for (i, (ps, x)) in pi.iter().zip(arr).enumerate() {
            check(spec, ps, x, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

/// Every property the schema lists appears in the sample (the sample fills all optionals).
fn covers(spec: &Value, name: &str, v: &Value) -> Result<(), String> {
    let s = &spec["components"]["schemas"][name];
    let obj = v
        .as_object()
        .ok_or(format!("{name}: sample is not an object"))?;
    for k in s["properties"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
    {
        if !obj.contains_key(k) {
            return Err(format!(
                "{name}: the spec's field {k} is not in the Rust type"
            ));
        }
    }
    Ok(())
}

fn answer() -> Answer {
    Answer {
        appeal_id: Uuid::now_v7(),
        decision: DecisionKind::Satisfied,
        text: "t".into(),
        signed_by: "s".into(),
        signed_on: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
        documents: vec!["plan.pdf".into()],
    }
}

fn timeline() -> Vec<StatusEvent> {
    let at = Utc::now();
    vec![
        StatusEvent {
            at,
            status: Status::Registered,
        },
        StatusEvent {
            at,
            status: Status::Delivered,
        },
        StatusEvent {
            at,
            status: Status::Forwarded {
                to_agency_id: "a".into(),
                to_agency_name: "A".into(),
            },
        },
        StatusEvent {
            at,
            status: Status::InReview,
        },
        StatusEvent {
            at,
            status: Status::Merged {
                into_registration_number: "ALM01-03-2026-000001".into(),
            },
        },
        StatusEvent {
            at,
            status: Status::Answered {
                decision: DecisionKind::Refused,
            },
        },
    ]
}

fn samples() -> Vec<(&'static str, Value, bool)> {
    let config = BoothConfig {
        version: 1,
        deadline_working_days: 15,
        forward_working_days: 3,
        max_recording_s: 180,
        pull_interval_s: 60,
        heartbeat_interval_s: 60,
        max_upload_bytes: 1,
        lookup: Default::default(),
        age_recipients: vec!["age1x".into()],
        branch_address: Some("г. Алматы, ул. Жандосова, 51".into()),
        answer_phone: Some("+7 727 000 00 00".into()),
        answer_web: Some("appeals.example.kz".into()),
    };
    let lookup_id: booth_core::LookupId = "ab".repeat(32).parse().unwrap();
    let create = CreateAppeal {
        id: Uuid::now_v7(),
        registration_number: "ALM01-03-2026-000127".parse().unwrap(),
        applicant: booth_core::Applicant::Individual {
            surname: "Абаев".parse().unwrap(),
            name: "Арман".parse().unwrap(),
            patronymic: Some("Серикович".parse().unwrap()),
            iin: None,
            address: "Алматы, Абая 1".parse().unwrap(),
            email: Some("a@example.kz".parse().unwrap()),
        },
        addressee_id: "akimat-almaty".into(),
        kind: booth_core::AppealKind::Complaint,
        complaint: Some(booth_core::ComplaintDetails {
            agency_or_position: "x".into(),
            officials: vec!["Y Z.".into()],
            motives: "m".into(),
            demands: "d".into(),
        }),
        language: booth_core::Language::Kk,
        recorded_at: Utc::now(),
        duration_ms: 1,
        media: MediaInfo {
            sha256: "0".repeat(64),
            size: 1,
            content_type: "video/webm".into(),
        },
        lookup_id: lookup_id.clone(),
        expected_answer_date: NaiveDate::from_ymd_opt(2026, 1, 5),
        continuation_of: Some(Uuid::now_v7()),
        visit_id: Some(Uuid::now_v7()),
    };
    // No calendar on the booth covered the date: the field is null (issue 15).
    let mut not_covered = create.clone();
    not_covered.expected_answer_date = None;
    let mut legal = create.clone();
    legal.applicant = booth_core::Applicant::LegalEntity {
        name: "ТОО Ромашка".parse().unwrap(),
        bin: None,
        address: "Астана, Кенесары 2".parse().unwrap(),
        email: None,
    };
    let update = AppealUpdate {
        cursor: 3,
        appeal_id: Uuid::now_v7(),
        registration_number: "r".into(),
        timeline: timeline(),
        answer: Some(answer()),
        expected_answer_date: Some(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()),
    };
    let mut versions = BTreeMap::new();
    versions.insert("kiosk".to_owned(), "0.1.0".to_owned());
    let v = |x: &dyn erased::Ser| x.json();
    vec![
        (
            "Problem",
            v(&{
                let mut p =
                    Problem::new(409, problem_codes::OFFSET_MISMATCH, "t", Some("d".into()));
                p.upload_offset = Some(5);
                p
            }),
            true,
        ),
        (
            "EnrollRequest",
            v(&EnrollRequest {
                token: "t".into(),
                csr_pem: "c".into(),
            }),
            true,
        ),
        (
            "EnrollResponse",
            v(&EnrollResponse {
                booth_id: "b".into(),
                client_cert_pem: "c".into(),
                ca_cert_pem: "c".into(),
                age_recipients: vec![],
                config: config.clone(),
            }),
            true,
        ),
        ("BoothConfig", v(&config), true),
        (
            "DirectoryResponse",
            v(&DirectoryResponse {
                version: "1".into(),
                agencies: vec![Agency {
                    id: "a".into(),
                    category: "c".into(),
                    name_kk: "k".into(),
                    name_ru: "r".into(),
                    name_en: "e".into(),
                }],
            }),
            true,
        ),
        ("CreateAppeal", v(&create), true),
        ("CreateAppeal", v(&not_covered), true),
        ("CreateAppeal", v(&legal), false),
        (
            "AppealAccepted",
            v(&AppealAccepted {
                appeal_id: Uuid::now_v7(),
                central_number: "c".into(),
                received_at: Utc::now(),
                media: MediaState::Uploaded,
                upload_url: Some("/v1/uploads/x".into()),
            }),
            true,
        ),
        (
            "CompleteRequest",
            v(&CompleteRequest {
                sha256: "0".repeat(64),
                size: 1,
            }),
            true,
        ),
        (
            "CompleteResponse",
            v(&CompleteResponse {
                appeal_id: Uuid::now_v7(),
                sha256: "0".repeat(64),
                size: 1,
                verified_at: Utc::now(),
            }),
            true,
        ),
        ("AppealUpdate", v(&update), true),
        (
            "AnswersPage",
            v(&AnswersPage {
                updates: vec![update.clone()],
                next_cursor: 3,
                more: false,
            }),
            true,
        ),
        (
            "LookupResponse",
            v(&LookupResponse {
                appeal_id: Uuid::now_v7(),
                registration_number: "r".into(),
                addressee_id: "a".into(),
                recorded_at: Utc::now(),
                expected_answer_date: NaiveDate::from_ymd_opt(2026, 1, 5),
                timeline: timeline(),
                answer: Some(answer()),
            }),
            true,
        ),
        (
            "LookupResponse",
            v(&LookupResponse {
                appeal_id: Uuid::now_v7(),
                registration_number: "r".into(),
                addressee_id: "a".into(),
                recorded_at: Utc::now(),
                expected_answer_date: None,
                timeline: timeline(),
                answer: None,
            }),
            true,
        ),
        (
            "RatingSubmission",
            v(&RatingSubmission {
                id: Uuid::now_v7(),
                appeal_id: Uuid::now_v7(),
                rating: booth_core::Rating::new(4).unwrap(),
                rated_at: Utc::now(),
            }),
            true,
        ),
        (
            "VisitSubmission",
            v(&VisitSubmission {
                id: Uuid::now_v7(),
                document_kind: "id".into(),
                document_number: "1".into(),
                iin: None,
                surname: "Абаев".parse().unwrap(),
                name: "Арман".parse().unwrap(),
                patronymic: None,
                entity: None,
                phone: Some("+7".into()),
                email: Some("a@example.kz".parse().unwrap()),
                consent: true,
                created_at: Utc::now(),
                receptionist: "r".into(),
                appeal_id: Some(Uuid::now_v7()),
            }),
            false,
        ),
        (
            "Accepted",
            v(&Accepted {
                id: Uuid::now_v7(),
                created: true,
            }),
            true,
        ),
        (
            "Heartbeat",
            v(&Heartbeat {
                sent_at: Utc::now(),
                queue_depth: 1,
                oldest_unsent_age_s: Some(5),
                disk_free_bytes: 1,
                disk_total_bytes: 2,
                printer: PrinterHealth::PaperLow,
                camera_ok: true,
                microphone_ok: Some(true),
                versions,
                uptime_s: Some(9),
            }),
            true,
        ),
        (
            "HeartbeatAck",
            v(&HeartbeatAck {
                server_time: Utc::now(),
                config_version: 1,
                directory_version: "d".into(),
                calendar_version: 2,
            }),
            true,
        ),
    ]
}

mod erased {
    /// Object-safe "serialize to JSON" so samples of different types share one list.
    pub trait Ser {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}

#[test]
fn every_wire_type_matches_its_schema() {
    let spec = spec();
    for (name, sample, full) in samples() {
        let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
        assert!(
            !spec["components"]["schemas"][name].is_null(),
            "{name} is missing from openapi.yaml"
        );
        check(&spec, &schema, &sample, name)
            .unwrap_or_else(|e| panic!("wire type and spec differ: {e}"));
        if full {
            covers(&spec, name, &sample)
                .unwrap_or_else(|e| panic!("wire type and spec differ: {e}"));
        }
    }
}

#[test]
fn enums_match() {
    let spec = spec();
    let en = |name: &str| {
        spec["components"]["schemas"][name]["enum"]
            .as_array()
            .unwrap()
            .clone()
    };
    for d in DecisionKind::ALL {
        assert!(en("DecisionKind").contains(&json!(d.as_str())));
    }
    for k in booth_core::AppealKind::ALL {
        assert!(en("AppealKind").contains(&json!(k.as_str())));
    }
    for p in [
        PrinterHealth::Ok,
        PrinterHealth::PaperLow,
        PrinterHealth::PaperOut,
        PrinterHealth::CoverOpen,
        PrinterHealth::Offline,
        PrinterHealth::Unknown,
    ] {
        assert!(en("PrinterHealth").contains(&serde_json::to_value(p).unwrap()));
    }
    assert_eq!(en("DecisionKind").len(), 4);
}

#[test]
fn spec_paths_are_the_wire_paths() {
    let spec = spec();
    let paths: Vec<&String> = spec["paths"].as_object().unwrap().keys().collect();
    for p in [
        paths::ENROLL,
        paths::DIRECTORY,
        paths::CALENDAR,
        paths::CONFIG,
        paths::APPEAL,
        paths::APPEAL_COMPLETE,
        paths::UPLOADS,
        paths::UPLOAD,
        paths::ANSWERS,
        paths::LOOKUP,
        paths::RATINGS,
        paths::VISITS,
        paths::HEARTBEAT,
    ] {
        assert!(
            paths.iter().any(|x| x.as_str() == p),
            "{p} is not in openapi.yaml"
        );
    }
    assert_eq!(
        paths.len(),
        13,
        "openapi.yaml has a path the wire module does not name"
    );
}

#[test]
fn the_checker_itself_detects_drift() {
    let spec = spec();
    let schema = json!({ "$ref": "#/components/schemas/CompleteRequest" });
    let extra = json!({ "sha256": "0".repeat(64), "size": 1, "sha512": "x" });
    assert!(
        check(&spec, &schema, &extra, "CompleteRequest")
            .unwrap_err()
            .contains("sha512")
    );
    let missing = json!({ "sha256": "0".repeat(64) });
    assert!(
        check(&spec, &schema, &missing, "CompleteRequest")
            .unwrap_err()
            .contains("size")
    );
    let wrong_type = json!({ "sha256": "0".repeat(64), "size": "1" });
    assert!(check(&spec, &schema, &wrong_type, "CompleteRequest").is_err());
}

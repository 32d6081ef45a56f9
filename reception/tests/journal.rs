//! The journal over real HTTP after the kiosk's side of the contract ran on the same database
//! file: a ticket redeemed, the appeal committed with its ticket and linked to the visit. The
//! journal then finds the visit by the appeal's registration number and shows the appeal.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use booth_core::store::appeals::{NewAppeal, commit_appeal};
use booth_core::store::reception as rs;
use booth_core::{AppealKind, Applicant, Clock, Language, MediaRef};
use common::*;

#[tokio::test]
async fn visit_is_found_by_appeal_registration_number_surname_and_ticket() {
    let srv = TestServer::start().await;
    let (c, csrf) = srv.signed_in("desk1").await;
    let (id, ticket) = register(&srv, &c, &visit_form(&csrf)).await;
    // A second visitor who never records anything.
    let mut other = visit_form(&csrf);
    for (k, v) in other.iter_mut() {
        match *k {
            "surname" => *v = "Иванов".into(),
            "name" => *v = "Пётр".into(),
            _ => {}
        }
    }
    register(&srv, &c, &other).await;

    // The kiosk: redeem, record, commit the appeal and link it to the visit in one transaction.
    let mut kiosk = srv.store();
    let appeal = kiosk_records(&srv, &mut kiosk, &ticket, true);
    let regno = appeal.registration_number.to_string();

    let page = c
        .get(srv.url(&format!("/journal?regno={}", regno.to_lowercase())))
        .send()
        .await
        .expect("journal")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains(&format!("/visits/{id}")),
        "found by registration number"
    );
    assert!(page.contains(&regno), "the row shows the appeal's number");
    assert!(!page.contains("Иванов"), "only the matching visit");

    let page = c
        .get(srv.url("/journal?surname=%D0%B8%D0%B2%D0%B0%D0%BD"))
        .send()
        .await
        .expect("j")
        .text()
        .await
        .expect("t");
    assert!(
        page.contains("Иванов Пётр") && !page.contains("Қасымқызы"),
        "surname search, case-insensitive Cyrillic"
    );
    assert!(
        page.contains("өтініш жоқ"),
        "a visit without an appeal says so"
    );

    let page = c
        .get(srv.url(&format!("/visits/{id}")))
        .send()
        .await
        .expect("visit")
        .text()
        .await
        .expect("t");
    assert!(page.contains(&regno), "the visit page shows the appeal");
    assert!(
        !page.contains(&iin()),
        "the visit page shows the IIN masked only"
    );

    // A kiosk that committed the appeal with the ticket but missed the link step: the journal
    // still finds the visit through the ticket.
    let mut third = visit_form(&csrf);
    for (k, v) in third.iter_mut() {
        if *k == "surname" {
            *v = "Сейітқали".into();
        }
    }
    let (id3, ticket3) = register(&srv, &c, &third).await;
    let appeal3 = kiosk_records(&srv, &mut kiosk, &ticket3, false);
    let regno3 = appeal3.registration_number.to_string();
    let page = c
        .get(srv.url(&format!("/journal?regno={regno3}")))
        .send()
        .await
        .expect("j")
        .text()
        .await
        .expect("t");
    assert!(
        page.contains(&format!("/visits/{id3}")) && page.contains(&regno3),
        "found through the ticket"
    );

    // The sync agent sees both visits as unsent; the linked one carries the appeal id.
    let unsent = kiosk.write(|tx| rs::unsent_visits(tx, 10)).expect("unsent");
    assert_eq!(unsent.len(), 3);
    assert!(unsent.iter().any(|u| u.appeal_id == Some(appeal.id)));

    // Every search and view was audited under the receptionist's login, without names.
    let audit: Vec<(String, String, String)> = {
        let s = srv.store();
        let mut st = s
            .connection()
            .prepare("SELECT actor, action, object FROM audit_log")
            .expect("prep");
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("q")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert!(
        audit
            .iter()
            .any(|(a, act, o)| a == "desk1" && act == "view_visit" && *o == id)
    );
    assert!(
        audit
            .iter()
            .filter(|(_, act, _)| act == "search_journal")
            .count()
            >= 2
    );
    assert!(
        audit
            .iter()
            .all(|(_, _, o)| !o.contains("Иванов") && !o.contains("иван")),
        "no names in the audit objects"
    );
}

/// What the kiosk does with a ticket: redeem it, commit an appeal carrying it and, when `link`,
/// link the visit to the appeal in the same transaction.
fn kiosk_records(
    srv: &TestServer,
    kiosk: &mut booth_core::store::Store,
    ticket: &str,
    link: bool,
) -> booth_core::Appeal {
    let now = srv.clock.now();
    let prefill = rs::redeem_ticket(kiosk, ticket, &srv.cfg.booth.id, now).expect("redeem");
    let new = NewAppeal {
        id: uuid::Uuid::now_v7(),
        booth_id: srv.cfg.booth.id.clone(),
        applicant: Applicant::Individual {
            surname: prefill.surname.clone(),
            name: prefill.name.clone(),
            patronymic: prefill.patronymic.clone(),
            iin: prefill.iin.clone(),
            address: "Алматы, Абай даңғылы, 10".parse().expect("address"),
            email: prefill.email.clone(),
        },
        addressee_id: "akimat-almaty".into(),
        kind: AppealKind::Proposal,
        complaint: None,
        language: Language::Kk,
        recorded_at: now,
        duration_ms: 42_000,
        media: MediaRef {
            file_name: format!("{}.age", prefill.visit_id),
            sealed_sha256: "0".repeat(64),
            sealed_size: 1,
            content_type: "video/webm".into(),
        },
        lookup_id: format!("{:0>64}", hex_of(prefill.visit_id))
            .parse()
            .expect("lookup id"),
        expected_answer_date: Some(now.date_naive()),
        continuation_of: None,
        ticket: Some(ticket.to_owned()),
        // The appeal names its visit exactly when the link is written (booth_core::intake).
        visit_id: link.then_some(prefill.visit_id),
    };
    kiosk
        .write(|tx| {
            let a = commit_appeal(tx, &new, &srv.cfg.booth.branch, srv.cfg.booth.number)?;
            if link {
                rs::link_visit_to_appeal(tx, prefill.visit_id, a.id)?;
            }
            Ok::<_, booth_core::store::StoreError>(a)
        })
        .expect("commit appeal")
}

fn hex_of(id: uuid::Uuid) -> String {
    id.simple().to_string()
}

//! The reception visit (journal entry, 003 p.22) and its appeal reach a real authority-sim on
//! 127.0.0.1 through the agent: the visit goes when registered, the appeal goes with its
//! `visit_id`, and the visit goes again with its `appeal_id` once the appeal is linked, so the
//! centre holds both ends of the link. A rating of the still unanswered appeal is refused by
//! the centre (seed 004: only an answer is rated), kept unsent, and blocks nothing.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::time::Duration;

use authority_sim::db::VisitLink;
use booth_core::store::{appeals, kiosk, reception, sync as store_sync};
use booth_core::testing::sample_new_appeal;
use booth_core::{Rating, Visit};
use common::*;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn journal_entry() -> Visit {
    Visit {
        id: Uuid::now_v7(),
        document_kind: "passport".into(),
        document_number: "N12345678".into(),
        iin: None,
        surname: "Қасымқызы".parse().unwrap(),
        name: "Әлия".parse().unwrap(),
        patronymic: None,
        entity: None,
        phone: None,
        email: None,
        consent: true,
        created_at: chrono::Utc::now(),
        receptionist: "desk1".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_appeal_carries_its_visit_and_the_visit_its_appeal_to_the_centre() {
    let data = tempfile::tempdir().expect("tmp");
    let server = start_sim(data.path(), reserve_addr()).await;
    let b = Booth::new("ALM-0001", BoothOpts::default());
    b.enroll(&server).await;

    // Reception registers the visitor: the journal entry waits for the agent.
    let v = journal_entry();
    b.store()
        .write(|tx| reception::insert_visit(tx, &v))
        .expect("visit");
    let cancel = CancellationToken::new();
    let agent = tokio::spawn(sync_agent::agent::run(b.cfg.clone(), cancel.clone()));
    wait_for(
        Duration::from_secs(30),
        "the unlinked visit reaches the centre",
        || server.state.db.visit(v.id).expect("db").is_some(),
    )
    .await;
    assert_eq!(
        server.state.db.visit(v.id).unwrap().unwrap().body.appeal_id,
        None
    );

    // The citizen records with the visit's ticket: the appeal, naming its visit, and the
    // journal's link are committed together (as booth_core::intake does). The citizen also
    // rates the appeal before any answer exists (a kiosk that should not have offered it).
    let recipient: age::x25519::Recipient = server.age_recipient.parse().expect("recipient");
    let enc = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .expect("encryptor");
    let mut sealed = Vec::new();
    let mut w = enc.wrap_output(&mut sealed).expect("wrap");
    w.write_all(&[7u8; 4096]).expect("encrypt");
    w.finish().expect("finish");
    let (mut new, _code) = sample_new_appeal(&b.cfg.booth.id, chrono::Utc::now(), None);
    std::fs::write(b.cfg.paths.outbox_dir.join(&new.media.file_name), &sealed).expect("sealed");
    new.media.sealed_sha256 = hex::encode(Sha256::digest(&sealed));
    new.media.sealed_size = sealed.len() as u64;
    new.media.content_type = "video/webm".into();
    new.visit_id = Some(v.id);
    let (branch, number) = (b.cfg.booth.branch.clone(), b.cfg.booth.number);
    let appeal_id = new.id;
    b.store()
        .write(|tx| {
            appeals::commit_appeal(tx, &new, &branch, number)?;
            reception::link_visit_to_appeal(tx, v.id, appeal_id)?;
            kiosk::insert_rating(
                tx,
                appeal_id,
                Rating::new(2).expect("rating"),
                chrono::Utc::now(),
            )
        })
        .expect("commit");
    assert!(matches!(
        sync_agent_now(&b).await,
        booth_core::localapi::Response::SyncQueued
    ));

    wait_for(
        Duration::from_secs(45),
        "the appeal with its visit_id and the visit with its appeal_id at the centre",
        || {
            let a = server.state.db.appeal(appeal_id).expect("db");
            let linked = server
                .state
                .db
                .visit(v.id)
                .expect("db")
                .is_some_and(|sv| sv.body.appeal_id == Some(appeal_id));
            a.is_some_and(|a| a.body.visit_id == Some(v.id) && a.verified_at.is_some()) && linked
        },
    )
    .await;
    match server.state.db.visit_link(appeal_id).expect("link") {
        VisitLink::Received(sv) => {
            assert_eq!(sv.body.id, v.id);
            assert_eq!(sv.body.receptionist, "desk1");
            assert_eq!(sv.booth_id, "ALM-0001");
        }
        other => panic!("the centre does not link the appeal to its visit: {other:?}"),
    }
    // The visit is marked sent on the booth (with its link), so it is not sent a third time.
    wait_for(
        Duration::from_secs(10),
        "the linked visit marked sent",
        || {
            b.store()
                .read(|tx| reception::unsent_visits(tx, 10))
                .expect("unsent")
                .is_empty()
        },
    )
    .await;

    // The rating was refused with its own code and stays unsent on the booth; it blocked
    // neither the visit nor the pulls job.
    let ratings = server
        .faults()
        .counters()
        .get("POST /v1/ratings")
        .cloned()
        .unwrap_or_default();
    assert!(
        ratings.responses.get(&409).copied().unwrap_or(0) >= 1,
        "{ratings:?}"
    );
    assert_eq!(ratings.responses.get(&200), None);
    assert!(server.state.db.ratings().expect("ratings").is_empty());
    let unsent = b
        .store()
        .read(|tx| store_sync::unsent_ratings(tx, 10))
        .expect("unsent ratings");
    assert_eq!(unsent.len(), 1, "a refused rating is kept, never dropped");
    let pulls = b
        .store()
        .read(|tx| store_sync::job_status(tx, "pulls"))
        .expect("job");
    assert_eq!(pulls.consecutive_failures, 0, "{pulls:?}");

    cancel.cancel();
    agent.await.expect("join").expect("agent exits cleanly");
    server.shutdown().await;
}

/// Asks the running agent to sync now (local socket).
async fn sync_agent_now(b: &Booth) -> booth_core::localapi::Response {
    let path = b.socket();
    tokio::task::spawn_blocking(move || {
        booth_core::localapi::call(
            &path,
            &booth_core::localapi::Request::SyncNow,
            booth_core::localapi::CLIENT_TIMEOUT,
        )
    })
    .await
    .expect("join")
    .expect("local API answers")
}

//! Delivery against a real authority-sim on 127.0.0.1: offline then online (50 appeals,
//! exactly once, destruction log complete), a connection reset mid-PATCH (at most one
//! request's bytes sent again), a 5xx storm (backoff, Retry-After, visible in status), and
//! the kiosk's lookups and pulled answers through the local socket.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use booth_core::localapi::{self, Health, LookupAnswer, LookupSource, Request, Response};
use booth_core::store::{StoreError, outbox, sync as store_sync};
use booth_core::{Answer, DecisionKind};
use common::*;
use tokio_util::sync::CancellationToken;

fn start_agent(
    b: &Booth,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<(), sync_agent::SyncError>>,
) {
    let cancel = CancellationToken::new();
    let h = tokio::spawn(sync_agent::agent::run(b.cfg.clone(), cancel.clone()));
    (cancel, h)
}

async fn local(b: &Booth, req: Request) -> Response {
    let path = b.socket();
    tokio::task::spawn_blocking(move || localapi::call(&path, &req, localapi::CLIENT_TIMEOUT))
        .await
        .expect("join")
        .expect("local API answers")
}

async fn status(b: &Booth) -> localapi::AgentStatus {
    match local(b, Request::Status).await {
        Response::Status { status } => status,
        other => panic!("status answer expected, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_appeals_queued_offline_are_delivered_exactly_once_when_the_server_comes_up() {
    let data = tempfile::tempdir().expect("tmp");
    let addr = reserve_addr();
    let server = start_sim(data.path(), addr).await;
    let recipient = server.age_recipient.clone();
    let b = Booth::new(
        "ALM-0001",
        BoothOpts {
            chunk_bytes: 64 * 1024,
            ..Default::default()
        },
    );
    b.enroll(&server).await;
    server.shutdown().await;

    let sealed = b.seal_appeals(50, 20_000, &recipient);
    let total: u64 = {
        let mut s = b.store();
        s.read(|tx| {
            Ok::<_, StoreError>(
                outbox::pending(tx, 100)?
                    .iter()
                    .map(|i| i.media.sealed_size)
                    .sum(),
            )
        })
        .expect("sizes")
    };
    let (cancel, agent) = start_agent(&b);
    wait_for(
        Duration::from_secs(20),
        "outbox job reports the server down",
        || {
            let mut s = b.store();
            s.read(|tx| store_sync::job_status(tx, "outbox"))
                .map(|j| j.consecutive_failures >= 2)
                .unwrap_or(false)
        },
    )
    .await;
    let st = status(&b).await;
    assert_eq!(
        st.queue_depth, 50,
        "citizen's appeals must wait in the queue while offline"
    );
    assert_eq!(st.health, Health::Degraded);
    assert_eq!(b.sealed_files(), 50);

    let server = start_sim(data.path(), addr).await;
    assert!(matches!(
        local(&b, Request::SyncNow).await,
        Response::SyncQueued
    ));
    wait_for(
        Duration::from_secs(45),
        "all 50 appeals destroyed after confirmation",
        || b.outbox_counts() == (0, 50, 0),
    )
    .await;

    let (received, verified, sha_ok) = server_view(&server);
    assert_eq!(
        (received, verified),
        (50, 50),
        "each appeal exactly once on the server"
    );
    assert!(sha_ok, "server-side files match the booth's SHA-256");
    assert_eq!(patch_bytes(&server), total, "no byte was uploaded twice");
    assert_eq!(b.sealed_files(), 0, "sealed files destroyed");
    let mut s = b.store();
    let log = s.read(outbox::destruction_log).expect("log");
    for (id, _, _) in &sealed {
        let n = log
            .iter()
            .filter(|e| e.recording_id == *id && e.rule == outbox::RULE_UPLOADED)
            .count();
        assert_eq!(n, 1, "one destruction entry for {id}");
        let a = s
            .read(|tx| booth_core::store::appeals::get(tx, *id))
            .expect("appeal");
        assert!(
            a.applicant.is_none(),
            "personal data minimised after confirmation"
        );
    }
    let st = status(&b).await;
    assert_eq!(st.queue_depth, 0);
    cancel.cancel();
    agent.await.expect("join").expect("agent exits cleanly");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_reset_mid_patch_resends_at_most_one_request() {
    let data = tempfile::tempdir().expect("tmp");
    let server = start_sim(data.path(), reserve_addr()).await;
    let chunk = 256 * 1024u64;
    let b = Booth::new(
        "ALM-0002",
        BoothOpts {
            chunk_bytes: chunk,
            ..Default::default()
        },
    );
    b.enroll(&server).await;
    b.seal_appeals(1, 1024 * 1024, &server.age_recipient);
    let size: u64 = {
        let mut s = b.store();
        s.read(|tx| Ok::<_, StoreError>(outbox::pending(tx, 1)?[0].media.sealed_size))
            .expect("size")
    };
    // The second PATCH is cut after 100 000 bytes.
    server.faults().push(authority_sim::FaultRule {
        route: "PATCH /v1/uploads/{upload_id}".into(),
        reset_after_bytes: Some(100_000),
        times: Some(1),
        ..Default::default()
    });
    let (cancel, agent) = start_agent(&b);
    wait_for(
        Duration::from_secs(40),
        "the appeal is delivered after the reset",
        || b.outbox_counts() == (0, 1, 0),
    )
    .await;
    let aborted = server
        .faults()
        .counters()
        .get("PATCH /v1/uploads/{upload_id}")
        .and_then(|c| c.responses.get(&0).copied())
        .unwrap_or(0);
    assert_eq!(aborted, 1, "the injected reset happened once");
    let sent = patch_bytes(&server);
    assert!(sent >= size, "server got the whole file ({sent} < {size})");
    assert!(
        sent - size <= chunk,
        "resent {} bytes, more than one request ({chunk})",
        sent - size
    );
    let (received, verified, sha_ok) = server_view(&server);
    assert_eq!((received, verified, sha_ok), (1, 1, true));
    cancel.cancel();
    agent.await.expect("join").expect("clean exit");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_storm_backs_off_honours_retry_after_and_shows_in_status() {
    let data = tempfile::tempdir().expect("tmp");
    let server = start_sim(data.path(), reserve_addr()).await;
    let b = Booth::new("ALM-0003", BoothOpts::default());
    b.enroll(&server).await;
    b.seal_appeals(1, 10_000, &server.age_recipient);
    let route = "PUT /v1/appeals/{appeal_id}";
    server.faults().push(authority_sim::FaultRule {
        route: route.into(),
        status: Some(503),
        retry_after_s: 3,
        ..Default::default()
    });
    server.faults().reset_counters();
    let (cancel, agent) = start_agent(&b);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let n = requests(&server, route);
    // Retry-After 3 s: at most one attempt per 3 s (+ the first), never a busy loop.
    assert!(
        (2..=5).contains(&n),
        "{n} create attempts in 10 s during a 503 storm with Retry-After 3"
    );
    let st = status(&b).await;
    let job = st
        .jobs
        .iter()
        .find(|j| j.name == "outbox")
        .expect("outbox job in status");
    assert!(job.consecutive_failures >= 2, "{job:?}");
    assert!(
        job.last_error.as_deref().is_some_and(|e| e.contains("503")),
        "{job:?}"
    );
    assert!(
        job.next_attempt_at.is_some(),
        "backoff visible in status: {job:?}"
    );
    assert_eq!(st.health, Health::Degraded);
    assert_eq!(
        b.outbox_counts(),
        (1, 0, 0),
        "nothing marked while the server fails"
    );

    server.faults().set(Default::default());
    wait_for(
        Duration::from_secs(30),
        "delivered once the storm ends",
        || b.outbox_counts() == (0, 1, 0),
    )
    .await;
    cancel.cancel();
    agent.await.expect("join").expect("clean exit");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_answer_from_store_then_central_then_offline_and_answers_are_pulled() {
    let data = tempfile::tempdir().expect("tmp");
    let addr = reserve_addr();
    let server = start_sim(data.path(), addr).await;
    // Booth B records an appeal and delivers it; booth A's citizen looks it up.
    let other = Booth::new("AST-0009", BoothOpts::default());
    other.enroll(&server).await;
    let (other_id, _, other_lookup) = other
        .seal_appeals(1, 5_000, &server.age_recipient)
        .remove(0);
    let (c2, a2) = start_agent(&other);
    wait_for(Duration::from_secs(30), "booth B delivered", || {
        other.outbox_counts() == (0, 1, 0)
    })
    .await;
    c2.cancel();
    a2.await.expect("join").expect("clean");

    let b = Booth::new(
        "ALM-0004",
        BoothOpts {
            pull_interval_s: 1,
            ..Default::default()
        },
    );
    b.enroll(&server).await;
    let (own_id, _, own_lookup) = b.seal_appeals(1, 5_000, &server.age_recipient).remove(0);
    let (cancel, agent) = start_agent(&b);
    wait_for(Duration::from_secs(30), "own appeal delivered", || {
        b.outbox_counts() == (0, 1, 0)
    })
    .await;

    // The heartbeat reached the server with the booth's figures.
    wait_for(Duration::from_secs(20), "a heartbeat from ALM-0004", || {
        server
            .state
            .db
            .booths()
            .expect("booths")
            .iter()
            .any(|(id, _, _, hb)| {
                id == "ALM-0004"
                    && hb
                        .as_deref()
                        .is_some_and(|j| j.contains("queue_depth") && j.contains("sync-agent"))
            })
    })
    .await;

    // A reception visit is sent once and marked sent.
    let visit = booth_core::Visit {
        id: uuid::Uuid::now_v7(),
        document_kind: "id_card".into(),
        document_number: "012345678".into(),
        iin: None,
        surname: "Иванов".parse().expect("surname"),
        name: "Иван".parse().expect("name"),
        patronymic: None,
        entity: None,
        phone: None,
        email: None,
        consent: true,
        created_at: chrono::Utc::now(),
        receptionist: "reception1".into(),
    };
    {
        let mut s = b.store();
        s.write(|tx| booth_core::store::reception::insert_visit(tx, &visit))
            .expect("visit");
    }
    assert!(matches!(
        local(&b, Request::SyncNow).await,
        Response::SyncQueued
    ));
    wait_for(Duration::from_secs(20), "visit sent", || {
        let mut s = b.store();
        s.read(store_sync::unsent_counts)
            .map(|c| c == (0, 0))
            .unwrap_or(false)
    })
    .await;
    assert_eq!(server.state.db.visit_count().expect("visits"), 1);

    // The operator answers our appeal; the pull brings it into the store for the kiosk.
    let today = chrono::Utc::now().date_naive();
    let ans = Answer {
        appeal_id: own_id,
        decision: DecisionKind::Explained,
        text: "Сіздің өтінішіңіз қаралды".into(),
        signed_by: "Head of department".into(),
        signed_on: today,
        documents: vec![],
    };
    server
        .state
        .db
        .attach_answer(&ans, chrono::Utc::now())
        .expect("operator answers");
    assert!(matches!(
        local(&b, Request::SyncNow).await,
        Response::SyncQueued
    ));
    wait_for(
        Duration::from_secs(20),
        "answer pulled into the store",
        || {
            let mut s = b.store();
            s.read(|tx| store_sync::answer(tx, own_id))
                .map(|a| a.is_some())
                .unwrap_or(false)
        },
    )
    .await;
    match local(
        &b,
        Request::Lookup {
            lookup_id: own_lookup,
        },
    )
    .await
    {
        Response::Lookup {
            answer:
                LookupAnswer::Found {
                    source: LookupSource::Local,
                    appeal,
                },
        } => {
            assert_eq!(
                appeal.answer.as_ref().map(|a| a.decision),
                Some(DecisionKind::Explained)
            );
        }
        other => panic!("own appeal must be found locally with its answer, got {other:?}"),
    }

    // The citizen rates the answer (kiosk); the rating is sent once and marked sent. (A rating
    // before the answer is refused by the centre: seed 004, see tests/visit_link.rs.)
    {
        let mut s = b.store();
        s.write(|tx| {
            booth_core::store::kiosk::insert_rating(
                tx,
                own_id,
                booth_core::Rating::new(5).expect("rating"),
                chrono::Utc::now(),
            )
        })
        .expect("rating");
    }
    assert!(matches!(
        local(&b, Request::SyncNow).await,
        Response::SyncQueued
    ));
    wait_for(Duration::from_secs(20), "rating sent", || {
        let mut s = b.store();
        s.read(store_sync::unsent_counts)
            .map(|c| c == (0, 0))
            .unwrap_or(false)
    })
    .await;
    assert_eq!(
        server
            .state
            .db
            .ratings()
            .expect("ratings")
            .iter()
            .filter(|(id, r, _)| *id == own_id && *r == 5)
            .count(),
        1
    );
    match local(
        &b,
        Request::Lookup {
            lookup_id: other_lookup.clone(),
        },
    )
    .await
    {
        Response::Lookup {
            answer:
                LookupAnswer::Found {
                    source: LookupSource::Central,
                    appeal,
                },
        } => {
            assert_eq!(appeal.appeal_id, other_id)
        }
        other => panic!("another branch's appeal must be found centrally, got {other:?}"),
    }
    let unknown: booth_core::LookupId = "0f".repeat(32).parse().expect("lid");
    assert_eq!(
        local(&b, Request::Lookup { lookup_id: unknown }).await,
        Response::Lookup {
            answer: LookupAnswer::NotFound
        }
    );

    server.shutdown().await;
    match local(
        &b,
        Request::Lookup {
            lookup_id: other_lookup,
        },
    )
    .await
    {
        Response::Lookup {
            answer: LookupAnswer::Offline { retry_after_s },
        } => assert!(retry_after_s > 0),
        other => {
            panic!("with the server down the kiosk must hear 'offline, try later', got {other:?}")
        }
    }
    cancel.cancel();
    agent.await.expect("join").expect("clean exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_refusal_parks_the_appeal_and_the_technician_can_requeue_it() {
    let data = tempfile::tempdir().expect("tmp");
    let server = start_sim(data.path(), reserve_addr()).await;
    let b = Booth::new("ALM-0005", BoothOpts::default());
    b.enroll(&server).await;
    let (id, _, _) = b.seal_appeals(1, 10_000, &server.age_recipient).remove(0);
    let set_addressee = |a: &str| {
        let mut s = b.store();
        s.write(|tx| {
            tx.execute("UPDATE appeals SET addressee_id = ?1", [a])
                .map_err(booth_core::store::StoreError::from)
        })
        .expect("update");
    };
    // An addressee the central directory does not know: the server refuses with 400.
    set_addressee("no-such-agency");
    let (cancel, agent) = start_agent(&b);
    wait_for(
        Duration::from_secs(20),
        "the refused appeal is parked",
        || b.outbox_counts() == (0, 0, 1),
    )
    .await;
    let st = status(&b).await;
    assert_eq!(st.parked.len(), 1);
    assert_eq!(st.parked[0].appeal_id, id);
    assert!(
        st.parked[0].reason.contains("400") && st.parked[0].reason.contains("addressee_id"),
        "the technician sees why: {:?}",
        st.parked[0]
    );
    assert_eq!(st.health, Health::Degraded);
    assert_eq!(
        b.sealed_files(),
        1,
        "a parked recording is kept, never dropped"
    );
    let (code, out, err) = b.run_cli(&["status"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("PARKED"), "{out}");

    set_addressee("mintrud");
    let (code, out, err) = b.run_cli(&["requeue"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("requeued {id}")), "{out}");
    assert!(matches!(
        local(&b, Request::SyncNow).await,
        Response::SyncQueued
    ));
    wait_for(Duration::from_secs(20), "delivered after requeue", || {
        b.outbox_counts() == (0, 1, 0)
    })
    .await;
    assert_eq!(server_view(&server), (1, 1, true));
    cancel.cancel();
    agent.await.expect("join").expect("clean exit");
    server.shutdown().await;
}

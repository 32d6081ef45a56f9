//! The whole loop with real processes on 127.0.0.1 (issue 11):
//! 1. reception registers a visitor → ticket;
//! 2. the kiosk (headless script, simulated camera and microphone, real recorder, sealing,
//!    store and virtual printer over TCP) uses the ticket, records, finishes, shows the code;
//!    the virtual printer's PNG holds the same code (QR decoded);
//! 3. the sync agent uploads; authority-sim holds the appeal, playable (decrypts, decodes), with
//!    the reception visit (003 p.22) linked to it;
//! 4. the operator answers through the operator API;
//! 5. the agent pulls the answer; the kiosk's lookup by typed code, by the receipt's QR held up
//!    to the camera and by a barcode scanner shows it; the citizen rates it; the rating reaches authority-sim;
//! and a second booth looks the appeal up online, then gets "try later" when the central
//! service is down.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use booth_e2e::process::{bin, run, tail, wait_until};
use booth_e2e::stack::{Authority, Booth, BoothOptions, OPERATOR_PASSWORD, RECEPTIONIST};
use booth_e2e::web::{Operator, Reception, Visitor, crop_to_qr, decode_qr};

/// Runs the headless kiosk with a script; returns its output directory.
fn kiosk(booth: &Booth, name: &str, script: &str) -> PathBuf {
    kiosk_with(&booth.config_path, booth, name, script)
}

/// As [`kiosk`], with another config file.
fn kiosk_with(config: &Path, booth: &Booth, name: &str, script: &str) -> PathBuf {
    let out = booth.dir.join(format!("kiosk-{name}"));
    std::fs::create_dir_all(&out).expect("out dir");
    let script_path = out.join(format!("{name}.script"));
    std::fs::write(&script_path, script).expect("script");
    let res = run(
        &format!("kiosk {name}"),
        Command::new(bin("kiosk").expect("kiosk built"))
            .arg("--config")
            .arg(config)
            .arg("--headless")
            .arg("--script")
            .arg(&script_path)
            .arg("--out")
            .arg(&out)
            .env("RUST_LOG", "info")
            .env("BOOTH_KIOSK_REAL", "1"),
    );
    if let Err(e) = res {
        panic!("the citizen's kiosk journey '{name}' failed: {e}");
    }
    out
}

fn pngs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "png"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn has_png(dir: &Path, name: &str) -> bool {
    pngs(dir)
        .iter()
        .any(|p| p.to_string_lossy().ends_with(&format!("-{name}.png")))
}

fn tap_digits(s: &str) -> String {
    s.chars().map(|c| format!("tap {c}\n")).collect()
}

#[test]
fn appeal_travels_the_whole_way_and_back() {
    let root = tempfile::tempdir().expect("tmp");
    let root = root.path();
    let authority = Authority::start(root).expect("authority-sim starts");
    let booth = Booth::start(
        root,
        &authority,
        "ALM-0001",
        "ALM01",
        1,
        BoothOptions {
            printer: true,
            reception: true,
        },
    )
    .expect("booth A starts and enrolls");

    // 1. Reception registers a visitor with a Kazakh name and hands out a ticket.
    let reception = Reception::sign_in(
        booth.reception_url.as_deref().expect("reception"),
        RECEPTIONIST.0,
        RECEPTIONIST.1,
    )
    .expect("receptionist signs in");
    let visitor = Visitor {
        iin: booth_core::testing::sample_iin(3),
        surname: "Қасымқызы".into(),
        name: "Әлия".into(),
        email: "aliya@mail.kz".into(),
    };
    let ticket = reception.register(&visitor).expect("visit registered");

    // 2. The citizen records at the kiosk with the ticket.
    let record = format!(
        "tap Touch the screen to start\ntap English\ntap Record an appeal\n{}tap Next\nexpect consent\ntap I agree\n\
         expect applicant\nshot prefilled\ntap Postal address\ntype Almaty, Abai ave 10, apt 5\ntap Next\nexpect addressee\n\
         type labour\ntap Ministry of Labour and Social Protection\nexpect kind\ntap Statement\nexpect check\nwait 1\n\
         tap Start recording\nwait 3\nexpect recording\nwait 4\ntap Finish recording\nexpect receipt\n\
         tap Next\ntap No, finish\n",
        tap_digits(&ticket)
    );
    let out = kiosk(&booth, "record", &record);
    let receipt_screen = pngs(&out)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with("-receipt.png"))
        .expect("the kiosk showed the receipt screen");
    assert!(
        has_png(&out, "prefilled"),
        "the applicant screen after the ticket was rendered"
    );

    // The virtual printer's PNG holds the same code.
    let printed = wait_until("the virtual printer's receipt PNG", 30, || {
        pngs(&booth.receipts_dir).into_iter().next()
    });
    let qr = decode_qr(&printed).expect("QR on the printed receipt");
    let mut parts = qr.split(':');
    assert_eq!(parts.next(), Some("VA1"), "QR payload {qr}");
    let regno = parts.next().expect("registration number in QR").to_owned();
    let code = parts.next().expect("code in QR").to_owned();
    // The printed code is the code of the committed appeal: its lookup id finds it.
    let secret: booth_core::SecretCode = code.parse().expect("printed code checks");
    let lid = secret
        .lookup_id(&booth.config.lookup.argon2)
        .expect("lookup id");
    let mut store = booth_core::store::Store::open(&booth.config.paths.database()).expect("store");
    let found = store
        .read(|tx| booth_core::store::appeals::find_by_lookup_id(tx, &lid))
        .expect("read")
        .expect("the printed code finds the committed appeal");
    assert_eq!(found.registration_number.to_string(), regno);
    assert!(receipt_screen.exists());
    drop(store);

    // 3. The sync agent uploads; authority-sim holds the appeal, playable.
    let operator = Operator::new(&authority.url, &authority.ca_cert, OPERATOR_PASSWORD)
        .expect("operator client");
    let appeal = wait_until("the appeal at the central service", 90, || {
        operator.appeals().ok()?.into_iter().find(|a| {
            a["registration_number"].as_str() == Some(regno.as_str())
                && a["media_verified"].as_bool() != Some(false)
        })
    });
    let id = appeal["id"].as_str().expect("id").to_owned();
    // 003 p.22: the visit identified at reception reaches the centre linked to its appeal (the
    // agent sends the journal entry again once the kiosk's commit linked it).
    let visit = wait_until(
        "the reception visit linked to the appeal at the centre",
        90,
        || {
            let list = operator.appeals().ok()?;
            let a = list
                .into_iter()
                .find(|a| a["id"].as_str() == Some(id.as_str()))?;
            let v = a["visit"].clone();
            (v["state"] == "received" && v["appeal_id"].as_str() == Some(id.as_str())).then_some(v)
        },
    );
    assert_eq!(visit["receptionist"].as_str(), Some(RECEPTIONIST.0));
    assert!(
        visit["document_number_masked"]
            .as_str()
            .is_some_and(|d| d.ends_with("3789") && !d.contains("045123")),
        "document number masked but for its last 4 characters: {visit}"
    );
    let media = wait_until("the verified recording", 90, || {
        operator.media(&id).ok().filter(|m| m.len() > 1000)
    });
    let media_path = root.join("central-media.bin");
    std::fs::write(&media_path, &media).expect("media");
    let decode = Command::new("gst-launch-1.0")
        .args(["-q", "filesrc"])
        .arg(format!("location={}", media_path.display()))
        .args([
            "!",
            "decodebin",
            "name=d",
            "d.",
            "!",
            "queue",
            "!",
            "fakesink",
            "d.",
            "!",
            "queue",
            "!",
            "fakesink",
        ])
        .output()
        .expect("gst-launch");
    assert!(
        decode.status.success(),
        "the central copy decodes with audio and video: {}",
        String::from_utf8_lossy(&decode.stderr)
    );
    let outbox_files = std::fs::read_dir(&booth.config.paths.outbox_dir)
        .map(|rd| rd.count())
        .unwrap_or(0);
    wait_until(
        "the sealed file to be destroyed after confirmation",
        60,
        || {
            (std::fs::read_dir(&booth.config.paths.outbox_dir)
                .map(|rd| rd.count())
                .unwrap_or(0)
                == 0)
                .then_some(())
        },
    );
    let _ = outbox_files;

    // 4. The operator answers.
    operator
        .answer(
            &id,
            "explained",
            "Сіздің өтінішіңіз қаралды. Жәрдемақы 1 мамырдан бастап төленеді.",
        )
        .expect("operator answers");

    // 5. The agent pulls the answer; lookup by typed code and by QR; rating.
    let db = booth.config.paths.database();
    wait_until("the answer in the booth's store", 60, || {
        let c = rusqlite_count(&db, "SELECT COUNT(*) FROM answers");
        (c > 0).then_some(())
    });
    let lookup_typed = format!(
        "tap Touch the screen to start\ntap English\ntap View an answer\nexpect lookup\n{}expect result\nshot answer\n\
         tap Rate the answer\nexpect rating\ntap Satisfied\ntap Finish\n",
        tap_digits(&code)
    );
    let out = kiosk(&booth, "lookup-typed", &lookup_typed);
    assert!(has_png(&out, "answer"));
    // By QR: the citizen holds the printed receipt's code up to the camera (a still-picture
    // camera showing the virtual printer's PNG); the kiosk decodes preview frames.
    let held = root.join("receipt-qr-held-up.png");
    crop_to_qr(&printed, &held).expect("the receipt's QR region");
    let mut qr_config = booth.config.clone();
    qr_config.recorder.camera = "image".into();
    qr_config.recorder.camera_device = held.to_string_lossy().into_owned();
    let qr_config_path = booth.dir.join("booth-qr-camera.toml");
    std::fs::write(&qr_config_path, qr_config.to_toml()).expect("config with the still camera");
    let lookup_qr = "tap Touch the screen to start\ntap English\ntap View an answer\nexpect lookup\n\
                     tap Show QR code\nwait 3\nexpect result\nshot answer-qr\n";
    let out = kiosk_with(&qr_config_path, &booth, "lookup-qr", lookup_qr);
    assert!(has_png(&out, "answer-qr"));
    // A keyboard-wedge barcode scanner types the payload and Enter.
    let lookup_scanner = format!(
        "tap Touch the screen to start\ntap English\ntap View an answer\nexpect lookup\ntype {qr}\nkey enter\nexpect result\nshot answer-scanner\n"
    );
    let out = kiosk(&booth, "lookup-scanner", &lookup_scanner);
    assert!(has_png(&out, "answer-scanner"));
    wait_until("the rating at the central service", 60, || {
        let r = operator.ratings().ok()?;
        r.to_string().contains(&id).then_some(())
    });

    // The journal shows the visit with its appeal.
    let journal = reception.journal(&visitor.surname).expect("journal");
    assert!(
        journal.contains(&regno),
        "the journal links the visit to appeal {regno}"
    );

    // A second booth: online lookup, then offline "try later".
    let booth_b = Booth::start(
        root,
        &authority,
        "AST-0002",
        "AST01",
        2,
        BoothOptions {
            printer: false,
            reception: false,
        },
    )
    .expect("booth B");
    let lookup_b = format!(
        "tap Touch the screen to start\ntap English\ntap View an answer\nexpect lookup\n{}expect result\nshot remote-answer\n",
        tap_digits(&code)
    );
    kiosk(&booth_b, "remote", &lookup_b);
    let mut authority = authority;
    authority.proc.stop(Duration::from_secs(10));
    let offline = format!(
        "tap Touch the screen to start\ntap English\ntap View an answer\nexpect lookup\n{}wait 1\nexpect lookup\nshot offline\n",
        tap_digits(&code)
    );
    let out = kiosk(&booth_b, "offline", &offline);
    assert!(has_png(&out, "offline"));
    let agent_log = booth
        .agent
        .as_ref()
        .map(|a| tail(&a.log, 5))
        .unwrap_or_default();
    println!("journey complete; last agent lines:\n{agent_log}");
}

fn rusqlite_count(db: &Path, sql: &str) -> i64 {
    let Ok(c) = rusqlite::Connection::open(db) else {
        return 0;
    };
    c.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

//! UI tests through Slint's own testing backend (`i-slint-backend-testing`, pinned to the Slint
//! version; the build script sets `SLINT_EMIT_DEBUG_INFO=1`): elements are found by their
//! accessible label, as assistive technology would, and pressed. No renderer, no display.
//!
//! One test per process: Slint's platform can be installed only once.

use booth_core::store::{Store, appeals};
use kiosk::flow::Screen;
use kiosk::headless::{Session, headless_config};

fn step(s: &mut Session, line: &str) {
    s.run_line(line)
        .unwrap_or_else(|e| panic!("step {line:?} failed: {e}"));
}

#[test]
fn a_kazakh_appeal_with_typed_name_and_email_then_its_lookup() {
    i_slint_backend_testing::init_no_event_loop();
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = headless_config(dir.path());
    // No reception ticket: the citizen types every field on the on-screen keyboard.
    cfg.kiosk.ticket_required = false;
    let db = cfg.paths.database();
    let mut s = Session::start_on_current_platform(cfg, (1920, 1080)).expect("kiosk starts");
    assert_eq!(s.screen(), Screen::Attract);

    let iin = booth_core::testing::sample_iin(7).to_string();
    let appeal = [
        "tap Бастау үшін экранды түртіңіз",
        "tap Қазақша",
        "expect menu",
        "tap Өтініш жазу",
        "expect consent",
        "tap Келісемін",
        "expect applicant",
        "tap Тегі",
        "osk Қасымқызы",
        "tap Аты",
        "osk Әлия",
        "tap ЖСН",
        &format!("osk {iin}"),
        "tap Пошталық мекенжай",
        "osk Алматы, Абай 10",
        "tap Электрондық пошта",
        "osk aliya@mail.kz",
        "tap Әрі қарай",
        "expect addressee",
        "type денсаулық",
        "tap ҚР Денсаулық сақтау министрлігі",
        "expect kind",
        "tap Өтініш",
        "expect check",
        "wait 1",
        "tap Жазуды бастау",
        "expect countdown",
        "wait 3",
        "expect recording",
        "wait 12",
        "tap Жазуды аяқтау",
        "expect receipt",
        "tap Әрі қарай",
        "expect continuation",
        "tap Жоқ, аяқтау",
        "expect thanks",
        "wait 8",
        "expect attract",
    ];
    for line in appeal {
        step(&mut s, line);
    }

    // What was typed is what the booth stored.
    let mut store = Store::open(&db).expect("store");
    assert_eq!(store.read(appeals::count).expect("count"), 1, "one appeal");
    drop(store);
    let conn = rusqlite::Connection::open(&db).expect("db");
    let json: String = conn
        .query_row("SELECT applicant_json FROM appeals", [], |r| r.get(0))
        .expect("the applicant as stored");
    assert!(json.contains("Қасымқызы"), "{json}");
    assert!(json.contains("Әлия"), "{json}");
    assert!(json.contains("aliya@mail.kz"), "{json}");
    assert!(json.contains(&iin), "{json}");
    drop(conn);

    // The agency answers (as the sync agent would store it); the citizen types the receipt's
    // code on the keypad, sees the answer and rates it.
    let lookup = [
        "sim answer explained Сіздің өтінішіңіз қаралды.",
        "tap Бастау үшін экранды түртіңіз",
        "tap Қазақша",
        "tap Жауапты қарау",
        "expect lookup",
        "code receipt",
        "expect result",
        "tap Жауапты бағалау",
        "expect rating",
        "tap Ризамын",
        "tap Аяқтау",
        "expect thanks",
    ];
    for line in lookup {
        step(&mut s, line);
    }
}

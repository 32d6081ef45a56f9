//! Unit tests of the flow machine: every transition, every timeout, every error path.

use std::time::Duration;

use booth_core::config::{Config, LookupSection};
use booth_core::{Clock, ManualClock};
use chrono::{TimeZone, Utc};

use super::*;

fn clock() -> ManualClock {
    ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 20, 10, 0, 0)
            .single()
            .expect("date"),
    )
}

fn agencies() -> Vec<Agency> {
    crate::directory::demo_directory()
}

fn flow(c: &ManualClock) -> Flow {
    let mut cfg = Config::default();
    cfg.kiosk.technician_pin = "246810".into();
    Flow::new(FlowConfig::from_config(&cfg), agencies(), c.monotonic())
}

/// A reception journal entry id (UUID text, as the store gives it).
const VISIT: &str = "0192f3a0-0000-7000-8000-000000000001";

struct T {
    c: ManualClock,
    f: Flow,
}

impl T {
    fn new() -> T {
        let c = clock();
        let f = flow(&c);
        T { c, f }
    }
    fn tap(&mut self, a: &str) -> Vec<Effect> {
        let a = Action::parse(a).unwrap_or_else(|| panic!("bad action {a}"));
        self.f.handle(Event::Tap(a), self.c.monotonic())
    }
    fn ev(&mut self, e: Event) -> Vec<Effect> {
        self.f.handle(e, self.c.monotonic())
    }
    fn typ(&mut self, s: &str) -> Vec<Effect> {
        self.f
            .handle(Event::Key(Key::Text(s.into())), self.c.monotonic())
    }
    fn wait(&mut self, secs: u64) -> Vec<Effect> {
        let mut fx = Vec::new();
        // Tick every second, as the controller does (more often, in fact).
        for _ in 0..secs {
            self.c.advance(Duration::from_secs(1));
            fx.extend(self.f.tick(self.c.monotonic()));
        }
        fx
    }
    fn screen(&self) -> Screen {
        self.f.screen()
    }
    fn to_menu(&mut self) {
        self.tap("start");
        self.tap("lang:kk");
        assert_eq!(self.screen(), Screen::Menu);
    }
    fn to_applicant(&mut self) {
        self.to_menu();
        self.tap("record");
        self.typ("123456");
        assert_eq!(
            self.tap("next"),
            vec![Effect::RedeemTicket("123456".into())]
        );
        self.ev(Event::TicketChecked(Ok(Prefill {
            visit_id: VISIT.into(),
            surname: "Қасымова".into(),
            name: "Әлия".into(),
            ..Prefill::default()
        })));
        assert_eq!(self.screen(), Screen::Consent);
        self.tap("agree");
        assert_eq!(self.screen(), Screen::Applicant);
    }
    fn to_check(&mut self) {
        self.to_applicant();
        self.tap("field:address");
        self.typ("Алматы қ., Абай даңғылы 10");
        self.tap("next");
        assert_eq!(self.screen(), Screen::Addressee);
        self.tap("agency:akimat-almaty");
        assert_eq!(self.screen(), Screen::Kind);
        let fx = self.tap("kind:statement");
        assert_eq!(fx, vec![Effect::StartPreview, Effect::CheckPrinter]);
        assert_eq!(self.screen(), Screen::Check);
        self.ev(Event::PreviewStarted(Ok(())));
        self.ev(Event::PrinterStatus(PrinterState::Ready));
    }
    fn to_recording(&mut self) {
        self.to_check();
        self.tap("begin");
        assert_eq!(self.screen(), Screen::Countdown);
        let fx = self.wait(COUNTDOWN_S);
        assert_eq!(fx, vec![Effect::StartRecording]);
        assert_eq!(self.screen(), Screen::Recording);
        self.ev(Event::RecordingStarted(Ok(())));
    }
    /// Records 20 s and presses "Finish recording"; returns the commit request the stop led to.
    fn to_finishing(&mut self) -> CommitRequest {
        self.to_recording();
        self.wait(20);
        assert_eq!(self.tap("finish"), vec![Effect::StopRecording]);
        let fx = self.ev(Event::RecordingStopped(Ok(Take {
            duration_ms: 20_000,
            speech_fraction: 0.6,
            ended_at: Utc::now(),
        })));
        assert_eq!(self.screen(), Screen::Finishing);
        match fx.as_slice() {
            [Effect::StopPreview, Effect::Commit(req)] => (**req).clone(),
            other => panic!("finish did not commit: {other:?}"),
        }
    }
    fn receipt(&self) -> ReceiptData {
        ReceiptData {
            appeal_id: Uuid::now_v7(),
            registration_number: "DEV01-01-2026-000001".into(),
            recorded_at: self.c.now(),
            recorded_local: "20.03.2026 15:00".into(),
            code: SecretCode::generate(),
            expected_answer_date: NaiveDate::from_ymd_opt(2026, 4, 13),
            addressee: "Алматы қаласының әкімдігі".into(),
            kind: AppealKind::Statement,
            branch_name: "Demo".into(),
            language: Language::Kk,
        }
    }
}

#[test]
fn attract_language_menu_and_back() {
    let mut t = T::new();
    assert_eq!(t.screen(), Screen::Attract);
    t.tap("start");
    assert_eq!(t.screen(), Screen::Language);
    t.tap("lang:ru");
    assert_eq!(t.screen(), Screen::Menu);
    assert_eq!(t.f.session().language, Language::Ru);
    t.tap("back");
    assert_eq!(t.screen(), Screen::Language);
    let fx = t.tap("back");
    assert_eq!(t.screen(), Screen::Attract);
    assert_eq!(fx, vec![Effect::SessionWiped]);
}

#[test]
fn actions_that_do_not_belong_to_a_screen_change_nothing() {
    let mut t = T::new();
    assert!(t.tap("record").is_empty());
    assert!(t.tap("finish").is_empty());
    assert_eq!(t.screen(), Screen::Attract);
    assert_eq!(Action::parse("nonsense"), None);
    assert_eq!(Action::parse("lang:xx"), None);
    assert_eq!(Action::parse("rate:x"), None);
}

#[test]
fn help_returns_to_the_screen_it_was_opened_from() {
    let mut t = T::new();
    t.to_menu();
    t.tap("help");
    assert_eq!(t.screen(), Screen::Help);
    t.tap("back");
    assert_eq!(t.screen(), Screen::Menu);
    t.tap("record");
    t.tap("help");
    t.tap("back");
    assert_eq!(t.screen(), Screen::Ticket);
}

#[test]
fn ticket_is_skipped_when_not_required() {
    let c = clock();
    let mut cfg = Config::default();
    cfg.kiosk.ticket_required = false;
    let mut f = Flow::new(FlowConfig::from_config(&cfg), agencies(), c.monotonic());
    let now = c.monotonic();
    f.handle(Event::Tap(Action::Start), now);
    f.handle(Event::Tap(Action::Language(Language::En)), now);
    f.handle(Event::Tap(Action::Record), now);
    assert_eq!(f.screen(), Screen::Consent);
}

#[test]
fn ticket_needs_six_digits_and_reports_each_refusal() {
    let mut t = T::new();
    t.to_menu();
    t.tap("record");
    assert_eq!(t.screen(), Screen::Ticket);
    t.typ("12a3");
    assert_eq!(t.f.session().ticket, "123");
    assert!(t.tap("next").is_empty());
    assert_eq!(t.f.session().error, Some("ticket-six-digits"));
    t.typ("4567890");
    assert_eq!(t.f.session().ticket, "123456", "at most six digits");
    t.ev(Event::Key(Key::Backspace));
    assert_eq!(t.f.session().ticket, "12345");
    t.typ("6");
    assert_eq!(
        t.ev(Event::Key(Key::Enter)),
        vec![Effect::RedeemTicket("123456".into())]
    );
    assert!(t.tap("next").is_empty(), "no second check while one runs");
    for (e, key) in [
        (TicketError::Unknown, "ticket-unknown"),
        (TicketError::Used, "ticket-used"),
        (TicketError::Expired, "ticket-expired"),
        (TicketError::TooManyAttempts, "ticket-too-many"),
        (TicketError::Unavailable, "ticket-unavailable"),
    ] {
        t.typ("123456");
        t.tap("next");
        t.ev(Event::TicketChecked(Err(e)));
        assert_eq!(t.screen(), Screen::Ticket);
        assert_eq!(t.f.session().error, Some(key));
        assert!(t.f.session().ticket.is_empty());
    }
    t.tap("back");
    assert_eq!(t.screen(), Screen::Menu);
}

#[test]
fn ticket_prefills_the_applicant_including_a_legal_entity() {
    let mut t = T::new();
    t.to_menu();
    t.tap("record");
    t.typ("654321");
    t.tap("next");
    t.ev(Event::TicketChecked(Ok(Prefill {
        visit_id: "v".into(),
        surname: "Иванов".into(),
        name: "Пётр".into(),
        email: "info@example.kz".into(),
        entity: Some(("180340021791".into(), "ТОО «Береке»".into())),
        ..Prefill::default()
    })));
    assert_eq!(t.f.session().applicant_type, ApplicantType::LegalEntity);
    assert_eq!(
        t.f.session()
            .fields
            .get(&FieldId::EntityName)
            .map(String::as_str),
        Some("ТОО «Береке»")
    );
    assert_eq!(
        t.f.session()
            .fields
            .get(&FieldId::EntityEmail)
            .map(String::as_str),
        Some("info@example.kz")
    );
    assert_eq!(t.f.session().ticket_ok.as_deref(), Some("654321"));
    t.tap("back");
    assert_eq!(t.screen(), Screen::Menu);
}

#[test]
fn seed_003_p22_identity_from_the_ticket_is_read_only_with_a_way_back_to_reception() {
    let mut t = T::new();
    t.to_applicant();
    assert!(t.f.session().locked.contains(&FieldId::Surname));
    assert!(t.f.session().locked.contains(&FieldId::Name));
    assert!(
        !t.f.session().locked.contains(&FieldId::Address),
        "the address is the citizen's"
    );
    t.tap("field:surname");
    assert_ne!(
        t.f.session().active_field,
        Some(FieldId::Surname),
        "a locked field takes no focus"
    );
    t.tap("legal");
    assert_eq!(
        t.f.session().applicant_type,
        ApplicantType::Individual,
        "type fixed by the journal"
    );
    t.tap("field:address");
    t.typ("Алматы");
    assert_eq!(
        t.f.session()
            .fields
            .get(&FieldId::Address)
            .map(String::as_str),
        Some("Алматы")
    );
    t.tap("not-me");
    assert_eq!(t.screen(), Screen::BackToReception);
    let fx = t.wait(THANK_YOU_S);
    assert_eq!(t.screen(), Screen::Attract);
    assert!(fx.contains(&Effect::SessionWiped));
    // Without a ticket nothing is locked and "not me" means nothing.
    let mut cfg = Config::default();
    cfg.kiosk.ticket_required = false;
    let mut t = T::new();
    t.f = Flow::new(FlowConfig::from_config(&cfg), agencies(), t.c.monotonic());
    t.to_menu();
    t.tap("record");
    t.tap("agree");
    assert_eq!(t.screen(), Screen::Applicant);
    assert!(t.f.session().locked.is_empty());
    assert!(t.tap("not-me").is_empty());
    assert_eq!(t.screen(), Screen::Applicant);
}

#[test]
fn applicant_errors_come_from_booth_core_validators() {
    let mut t = T::new();
    t.to_applicant();
    assert_eq!(
        t.f.session().active_field,
        Some(FieldId::Patronymic),
        "the first field the citizen can type in (names came from the journal)"
    );
    t.tap("field:email");
    t.typ("not-an-email");
    t.tap("next");
    assert_eq!(t.screen(), Screen::Applicant);
    let errs = &t.f.session().field_errors;
    assert_eq!(errs.get(&FieldId::Address), Some(&"error-field-required"));
    assert_eq!(errs.get(&FieldId::Email), Some(&"error-email-shape"));
    assert!(
        !errs.contains_key(&FieldId::Surname),
        "prefilled surname is valid"
    );
    // Typing into a field clears its error.
    t.tap("field:email");
    t.ev(Event::Key(Key::Backspace));
    assert!(!t.f.session().field_errors.contains_key(&FieldId::Email));
    t.tap("back");
    assert_eq!(t.screen(), Screen::Consent);
    // Legal entity (no ticket: the citizen chooses): different fields.
    let mut cfg = Config::default();
    cfg.kiosk.ticket_required = false;
    let mut t = T::new();
    t.f = Flow::new(FlowConfig::from_config(&cfg), agencies(), t.c.monotonic());
    t.to_menu();
    t.tap("record");
    t.tap("agree");
    assert_eq!(t.f.session().active_field, Some(FieldId::Surname));
    t.tap("legal");
    assert_eq!(t.f.session().active_field, Some(FieldId::EntityName));
    t.tap("next");
    assert_eq!(
        t.f.session().field_errors.get(&FieldId::EntityName),
        Some(&"error-field-required")
    );
}

#[test]
fn enter_moves_to_the_next_field_the_citizen_can_type_in() {
    let mut t = T::new();
    t.to_applicant();
    t.tap("field:address");
    t.ev(Event::Key(Key::Enter));
    assert_eq!(t.f.session().active_field, Some(FieldId::Email));
    t.tap("field:patronymic");
    t.ev(Event::Key(Key::Enter));
    assert_ne!(t.f.session().active_field, Some(FieldId::Patronymic));
}

#[test]
fn addressee_search_as_you_type_and_browse_by_category() {
    let mut t = T::new();
    t.to_applicant();
    t.tap("field:address");
    t.typ("Астана, Мәңгілік Ел 8");
    t.tap("next");
    assert_eq!(t.screen(), Screen::Addressee);
    let all = t.f.matching_agencies().len();
    assert_eq!(all, agencies().len());
    t.typ("денсаулық");
    let m: Vec<String> =
        t.f.matching_agencies()
            .iter()
            .map(|a| a.id.clone())
            .collect();
    assert_eq!(m, vec!["min-health".to_string()]);
    // Any language matches.
    for _ in 0.."денсаулық".chars().count() {
        t.ev(Event::Key(Key::Backspace));
    }
    t.typ("HEALTH");
    assert_eq!(t.f.matching_agencies().len(), 1);
    t.ev(Event::Key(Key::Enter));
    assert_eq!(t.screen(), Screen::Kind, "enter picks the only match");
    t.tap("back");
    t.f.session.search.clear();
    let cats = t.f.categories();
    assert!(cats.len() >= 3);
    t.tap(&format!("category:{}", cats[0]));
    assert!(
        t.f.matching_agencies()
            .iter()
            .all(|a| a.category == cats[0])
    );
    assert!(t.f.matching_agencies().len() < all);
    t.tap("agency:no-such-agency");
    assert_eq!(t.screen(), Screen::Addressee);
    t.tap("back");
    assert_eq!(t.screen(), Screen::Applicant);
}

#[test]
fn complaint_needs_the_fields_of_p25() {
    let mut t = T::new();
    t.to_applicant();
    t.tap("field:address");
    t.typ("Алматы, Абай 10");
    t.tap("next");
    t.tap("agency:akimat-almaty");
    assert!(t.tap("kind:complaint").is_empty());
    assert_eq!(t.screen(), Screen::Complaint);
    t.tap("next");
    assert_eq!(t.f.session().field_errors.len(), 4);
    for (f, v) in [
        ("complaint-agency", "Аудан әкімдігі"),
        ("complaint-officials", "Сейітов А. Б., Омарова Г. К."),
        ("complaint-motives", "Өтінішіме жауап бермеді"),
        ("complaint-demands", "Жауап беруді талап етемін"),
    ] {
        t.tap(&format!("field:{f}"));
        t.typ(v);
    }
    let fx = t.tap("next");
    assert_eq!(fx, vec![Effect::StartPreview, Effect::CheckPrinter]);
    assert_eq!(t.screen(), Screen::Check);
    let c = parse_complaint(&t.f.session().fields).expect("complaint");
    assert_eq!(
        c.officials,
        vec!["Сейітов А. Б.".to_string(), "Омарова Г. К.".to_string()]
    );
    t.tap("back");
    assert_eq!(t.screen(), Screen::Kind);
}

#[test]
fn camera_missing_blocks_recording_with_a_message() {
    let mut t = T::new();
    t.to_applicant();
    t.tap("field:address");
    t.typ("Алматы, Абай 10");
    t.tap("next");
    t.tap("agency:akimat-almaty");
    t.tap("kind:request");
    t.ev(Event::PreviewStarted(Err(RecorderError::CameraMissing)));
    assert_eq!(t.f.session().error, Some("error-camera-missing"));
    assert!(!t.f.can_begin());
    assert!(t.tap("begin").is_empty());
    assert_eq!(t.screen(), Screen::Check);
    assert_eq!(t.tap("back"), vec![Effect::StopPreview]);
}

#[test]
fn printer_out_of_paper_is_shown_before_recording_starts() {
    let mut t = T::new();
    t.to_check();
    t.ev(Event::PrinterStatus(PrinterState::PaperOut));
    assert_eq!(
        t.f.session().printer.and_then(PrinterState::warning_key),
        Some("printer-paper-out")
    );
    assert!(!PrinterState::PaperOut.can_print());
    // The citizen may still record: the code is shown on screen.
    assert!(t.f.can_begin());
    for (p, k) in [
        (PrinterState::CoverOpen, Some("printer-cover-open")),
        (PrinterState::Offline, Some("printer-offline")),
        (PrinterState::PaperLow, Some("printer-paper-low")),
        (PrinterState::Ready, None),
    ] {
        assert_eq!(p.warning_key(), k);
    }
}

#[test]
fn microphone_check_hears_a_voice() {
    let mut t = T::new();
    t.to_check();
    t.ev(Event::MicLevel(0.05));
    assert!(!t.f.session().voice_heard);
    t.ev(Event::MicLevel(0.4));
    assert!(t.f.session().voice_heard);
    t.ev(Event::MicLevel(7.0));
    assert_eq!(t.f.session().mic_level, 1.0);
}

#[test]
fn seed_003_p24_p27_countdown_recording_warning_and_the_hard_stop_sends_the_appeal() {
    let mut t = T::new();
    t.to_check();
    t.tap("begin");
    assert!(t.wait(COUNTDOWN_S - 1).is_empty());
    assert_eq!(t.screen(), Screen::Countdown);
    assert_eq!(t.wait(1), vec![Effect::StartRecording]);
    assert_eq!(
        t.f.recorded(t.c.monotonic()),
        Duration::ZERO,
        "clock starts when the recorder confirms"
    );
    t.ev(Event::RecordingStarted(Ok(())));
    assert!(t.wait(149).is_empty());
    assert!(!t.f.recording().warned);
    t.wait(1);
    assert!(t.f.recording().warned, "warning at 2:30");
    assert!(t.wait(29).is_empty());
    assert_eq!(t.wait(1), vec![Effect::StopRecording], "hard stop at 3:00");
    assert!(t.wait(2).is_empty(), "stop asked once");
    assert!(
        t.tap("finish").is_empty(),
        "finish after the hard stop does nothing"
    );
    let fx = t.ev(Event::RecordingStopped(Ok(Take {
        duration_ms: 180_000,
        speech_fraction: 0.5,
        ended_at: Utc::now(),
    })));
    assert_eq!(
        t.screen(),
        Screen::Finishing,
        "the 3:00 limit sends like Finish"
    );
    assert!(
        matches!(fx.as_slice(), [Effect::StopPreview, Effect::Commit(r)] if r.duration_ms == 180_000)
    );
}

#[test]
fn idle_timeout_does_not_interrupt_recording_nor_the_commit_nor_greet_the_receipt() {
    let mut t = T::new();
    t.to_recording();
    t.wait(170);
    assert!(t.f.idle_prompt().is_none());
    t.wait(10);
    t.ev(Event::RecordingStopped(Ok(Take {
        duration_ms: 180_000,
        speech_fraction: 0.5,
        ended_at: Utc::now(),
    })));
    assert_eq!(t.screen(), Screen::Finishing);
    t.wait(300);
    assert!(
        t.f.idle_prompt().is_none(),
        "no idle question over a commit"
    );
    t.ev(Event::Committed(Ok(Box::new(t.receipt()))));
    assert_eq!(t.screen(), Screen::Receipt);
    t.wait(1);
    assert!(
        t.f.idle_prompt().is_none(),
        "the idle clock restarts with the receipt screen"
    );
    t.wait(89);
    assert!(t.f.idle_prompt().is_some());
}

#[test]
fn recorder_failing_to_start_returns_to_check_with_the_reason() {
    let mut t = T::new();
    t.to_check();
    t.tap("begin");
    t.wait(COUNTDOWN_S);
    t.ev(Event::RecordingStarted(Err(RecorderError::CameraMissing)));
    assert_eq!(t.screen(), Screen::Check);
    assert_eq!(t.f.session().error, Some("error-camera-missing"));
    assert!(!t.f.can_begin());
}

#[test]
fn disk_full_during_recording_discards_and_says_so() {
    let mut t = T::new();
    t.to_recording();
    t.wait(5);
    t.tap("finish");
    let fx = t.ev(Event::RecordingStopped(Err(RecorderError::DiskFull)));
    assert_eq!(fx, vec![Effect::DiscardRecording]);
    assert_eq!(t.screen(), Screen::Check);
    assert_eq!(t.f.session().error, Some("error-disk-full"));
}

#[test]
fn seed_003_p26_a_silent_take_is_sent_and_the_receipt_says_it_may_not_be_considered() {
    let mut t = T::new();
    t.to_recording();
    t.wait(10);
    t.tap("finish");
    let fx = t.ev(Event::RecordingStopped(Ok(Take {
        duration_ms: 10_000,
        speech_fraction: 0.01,
        ended_at: Utc::now(),
    })));
    assert!(matches!(fx.get(1), Some(Effect::Commit(_))), "{fx:?}");
    t.ev(Event::Committed(Ok(Box::new(t.receipt()))));
    assert_eq!(t.screen(), Screen::Receipt);
    assert_eq!(t.f.session().error, Some("warning-silent-sent"));
}

#[test]
fn discard_asks_first_then_deletes_the_take_and_starts_again_up_to_the_limit() {
    let mut t = T::new();
    t.to_recording();
    t.wait(5);
    assert_eq!(t.f.rerecords_left(), 2);
    assert!(t.tap("discard").is_empty());
    assert!(t.f.session().confirm_discard, "asks before deleting");
    assert!(t.tap("discard-cancel").is_empty());
    assert!(!t.f.session().confirm_discard);
    assert_eq!(t.screen(), Screen::Recording, "cancel keeps recording");
    assert!(
        t.tap("discard-confirm").is_empty(),
        "no confirmation without the question"
    );
    for left in [2, 1] {
        assert_eq!(t.f.rerecords_left(), left);
        t.tap("discard");
        assert_eq!(t.tap("discard-confirm"), vec![Effect::StopRecording]);
        assert!(t.tap("finish").is_empty(), "the stop is already a discard");
        let fx = t.ev(Event::RecordingStopped(Ok(Take {
            duration_ms: 5_000,
            speech_fraction: 0.5,
            ended_at: Utc::now(),
        })));
        assert_eq!(fx, vec![Effect::DiscardRecording], "deleted, not sent");
        assert_eq!(t.screen(), Screen::Check);
        t.tap("begin");
        t.wait(COUNTDOWN_S);
        t.ev(Event::RecordingStarted(Ok(())));
        t.wait(3);
    }
    assert_eq!(t.f.rerecords_left(), 0);
    assert!(t.tap("discard").is_empty(), "no discard left");
    assert!(!t.f.session().confirm_discard);
    t.tap("finish");
    let fx = t.ev(Event::RecordingStopped(Ok(Take {
        duration_ms: 3_000,
        speech_fraction: 0.5,
        ended_at: Utc::now(),
    })));
    assert!(
        matches!(fx.get(1), Some(Effect::Commit(_))),
        "the last take is sent"
    );
}

#[test]
fn seed_003_p27_finish_commits_then_prints_then_offers_continuation() {
    let mut t = T::new();
    let req = t.to_finishing();
    assert_eq!(req.addressee_id, "akimat-almaty");
    assert_eq!(req.duration_ms, 20_000);
    assert_eq!(req.ticket.as_deref(), Some("123456"));
    assert_eq!(
        req.visit_id,
        VISIT.parse().ok(),
        "003 p.22: the visit goes with the appeal"
    );
    assert_eq!(req.kind, AppealKind::Statement);
    assert!(req.complaint.is_none());
    assert!(
        matches!(&req.applicant, Applicant::Individual { surname, .. } if surname.as_str() == "Қасымова")
    );
    // Idle never wipes a commit in flight.
    t.wait(300);
    assert_eq!(t.screen(), Screen::Finishing);
    let r = t.receipt();
    let fx = t.ev(Event::Committed(Ok(Box::new(r.clone()))));
    assert_eq!(fx, vec![Effect::Print(Box::new(r.clone()))]);
    assert_eq!(t.screen(), Screen::Receipt);
    t.ev(Event::Printed(PrintOutcome::Failed(PrinterState::PaperOut)));
    assert_eq!(
        t.f.session().print,
        Some(PrintOutcome::Failed(PrinterState::PaperOut))
    );
    assert_eq!(
        t.tap("print-again"),
        vec![Effect::Print(Box::new(r.clone()))]
    );
    t.ev(Event::Printed(PrintOutcome::Printed));
    t.tap("next");
    assert_eq!(t.screen(), Screen::Continuation);
    let fx = t.tap("continue");
    assert_eq!(fx, vec![Effect::StartPreview, Effect::CheckPrinter]);
    assert_eq!(t.screen(), Screen::Check);
    assert_eq!(t.f.session().continuation_of, Some(r.appeal_id));
    assert_eq!(t.f.rerecords_left(), 2, "a continuation has its own takes");
    t.ev(Event::PreviewStarted(Ok(())));
    t.tap("begin");
    t.wait(COUNTDOWN_S);
    t.ev(Event::RecordingStarted(Ok(())));
    t.wait(4);
    t.tap("finish");
    let fx = t.ev(Event::RecordingStopped(Ok(Take {
        duration_ms: 4_000,
        speech_fraction: 0.5,
        ended_at: Utc::now(),
    })));
    let Some(Effect::Commit(req)) = fx.get(1) else {
        panic!("{fx:?}")
    };
    assert_eq!(req.continuation_of, Some(r.appeal_id));
    assert_eq!(req.addressee_id, "akimat-almaty", "same addressee");
    assert_eq!(
        req.visit_id,
        VISIT.parse().ok(),
        "p.24: the continuation comes from the same visit"
    );
}

#[test]
fn disk_full_at_commit_keeps_the_recording_for_retry() {
    let mut t = T::new();
    t.to_finishing();
    let fx = t.ev(Event::Committed(Err(CommitError::DiskFull)));
    assert!(fx.is_empty(), "nothing discarded");
    assert_eq!(t.screen(), Screen::Finishing);
    assert_eq!(t.f.session().error, Some("error-disk-full"));
    assert!(t.f.session().take.is_some());
    let fx = t.tap("retry");
    assert!(matches!(fx.get(1), Some(Effect::Commit(_))));
    t.ev(Event::Committed(Err(CommitError::Seal)));
    assert_eq!(t.f.session().error, Some("error-seal"));
    t.tap("retry");
    let r = t.receipt();
    t.ev(Event::Committed(Ok(Box::new(r))));
    assert_eq!(t.screen(), Screen::Receipt);
}

#[test]
fn thank_you_returns_to_attract_by_itself() {
    let mut t = T::new();
    t.to_finishing();
    let r = t.receipt();
    t.ev(Event::Committed(Ok(Box::new(r))));
    t.tap("next");
    t.tap("done");
    assert_eq!(t.screen(), Screen::ThankYou);
    let fx = t.wait(THANK_YOU_S);
    assert_eq!(t.screen(), Screen::Attract);
    assert!(fx.contains(&Effect::SessionWiped));
    assert!(t.f.session().receipt.is_none(), "secret code forgotten");
}

#[test]
fn seed_003_p27_a_citizen_who_walks_away_mid_take_is_sent_and_only_then_wiped() {
    let mut t = T::new();
    t.to_recording();
    // Nobody touches the booth: the take runs to the 3:00 limit and is committed.
    let fx = t.wait(180);
    assert!(fx.contains(&Effect::StopRecording), "{fx:?}");
    let fx = t.ev(Event::RecordingStopped(Ok(Take {
        duration_ms: 180_000,
        speech_fraction: 0.4,
        ended_at: Utc::now(),
    })));
    assert!(matches!(fx.get(1), Some(Effect::Commit(_))), "{fx:?}");
    let r = t.receipt();
    t.ev(Event::Committed(Ok(Box::new(r.clone()))));
    t.ev(Event::Printed(PrintOutcome::Printed));
    assert_eq!(t.screen(), Screen::Receipt);
    t.wait(89);
    assert!(t.f.idle_prompt().is_none());
    t.wait(1);
    assert!(t.f.idle_prompt().is_some(), "asked after 90 s");
    let fx = t.wait(20);
    assert_eq!(t.screen(), Screen::Attract);
    assert!(
        !fx.contains(&Effect::DiscardRecording),
        "a sent take is never discarded: {fx:?}"
    );
    assert!(
        !fx.contains(&Effect::GiveUpReceipt(r.appeal_id)),
        "it printed"
    );
    assert!(fx.contains(&Effect::SessionWiped));
    assert!(t.f.session().fields.is_empty());
    assert_eq!(t.f.session().language, Language::Kk);
}

#[test]
fn an_idle_wipe_before_recording_has_nothing_to_discard_and_stops_the_camera() {
    let mut t = T::new();
    t.to_check();
    t.wait(110);
    assert_eq!(t.screen(), Screen::Attract);
}

#[test]
fn a_receipt_that_never_printed_is_given_up_when_the_session_ends() {
    let mut t = T::new();
    t.to_finishing();
    let r = t.receipt();
    t.ev(Event::Committed(Ok(Box::new(r.clone()))));
    t.ev(Event::Printed(PrintOutcome::Failed(PrinterState::PaperOut)));
    let fx = t.wait(110);
    assert_eq!(t.screen(), Screen::Attract);
    assert!(fx.contains(&Effect::GiveUpReceipt(r.appeal_id)), "{fx:?}");
}

#[test]
fn a_failed_commit_is_retried_by_itself_while_nobody_touches_the_booth() {
    let mut t = T::new();
    t.to_finishing();
    t.ev(Event::Committed(Err(CommitError::DiskFull)));
    let fx = t.wait(90);
    assert!(matches!(fx.get(1), Some(Effect::Commit(_))), "{fx:?}");
    assert_eq!(t.screen(), Screen::Finishing);
    assert!(
        t.f.idle_prompt().is_none(),
        "never a wipe over an unsent take"
    );
}

#[test]
fn a_receipt_recovered_at_start_up_is_shown_and_printed_then_ends_the_session() {
    let mut t = T::new();
    let r = t.receipt();
    let fx = t.ev(Event::ReceiptRecovered(Box::new(r.clone())));
    assert_eq!(fx, vec![Effect::Print(Box::new(r.clone()))]);
    assert_eq!(t.screen(), Screen::Receipt);
    t.ev(Event::Printed(PrintOutcome::Printed));
    t.tap("next");
    assert_eq!(t.screen(), Screen::ThankYou, "no session to continue");
    // Somebody is already using the booth: the recovered receipt goes to the service list.
    let mut t = T::new();
    t.to_menu();
    let fx = t.ev(Event::ReceiptRecovered(Box::new(r.clone())));
    assert_eq!(fx, vec![Effect::GiveUpReceipt(r.appeal_id)]);
    assert_eq!(t.screen(), Screen::Menu);
}

#[test]
fn answering_the_idle_question_keeps_the_session() {
    let mut t = T::new();
    t.to_applicant();
    t.wait(90);
    assert!(t.f.idle_prompt().is_some());
    assert!(t.tap("still-here").is_empty());
    assert!(t.f.idle_prompt().is_none());
    t.wait(30);
    assert_eq!(t.screen(), Screen::Applicant);
    assert_eq!(
        t.f.session()
            .fields
            .get(&FieldId::Surname)
            .map(String::as_str),
        Some("Қасымова")
    );
}

#[test]
fn attract_screen_has_no_idle_question() {
    let mut t = T::new();
    t.wait(500);
    assert!(t.f.idle_prompt().is_none());
}

#[test]
fn display_toggles_and_reset_with_the_session() {
    let mut t = T::new();
    t.to_menu();
    t.tap("contrast");
    t.tap("large");
    assert!(t.f.display().high_contrast && t.f.display().large_type);
    t.wait(110);
    assert_eq!(t.screen(), Screen::Attract);
    assert_eq!(t.f.display(), Display::default());
}

fn valid_code() -> SecretCode {
    SecretCode::generate()
}

#[test]
fn lookup_keypad_validates_the_check_digit_as_typed() {
    let mut t = T::new();
    t.to_menu();
    t.tap("view-answer");
    assert_eq!(t.screen(), Screen::LookupCode);
    let code = valid_code().digits();
    t.typ(&code[..11]);
    assert_eq!(t.f.code_check(), Ok(None));
    assert!(t.tap("next").is_empty());
    assert_eq!(t.f.session().lookup_error, Some("error-code-length"));
    // A typo in the last digit is caught on the 12th digit, before any lookup.
    let last = code.as_bytes()[11] - b'0';
    let fx = t.typ(&((last + 1) % 10).to_string());
    assert!(fx.is_empty());
    assert_eq!(t.f.session().lookup_error, Some("error-code-check"));
    t.ev(Event::Key(Key::Backspace));
    let fx = t.typ(&code[11..]);
    assert!(
        matches!(fx.as_slice(), [Effect::Lookup(c)] if c.digits() == code),
        "{fx:?}"
    );
    assert!(t.tap("next").is_empty(), "one lookup at a time");
}

#[test]
fn wrong_code_then_rate_limit_then_unlock() {
    let mut t = T::new();
    t.to_menu();
    t.tap("view-answer");
    t.typ(&valid_code().digits());
    t.ev(Event::LookedUp(LookupOutcome::NotFound));
    assert_eq!(t.f.session().lookup_error, Some("lookup-not-found"));
    assert!(t.f.session().code.is_empty());
    t.typ(&valid_code().digits());
    t.ev(Event::LookedUp(LookupOutcome::RateLimited(10)));
    assert_eq!(t.f.session().lookup_error, Some("lookup-wait"));
    assert!(t.typ("1").is_empty());
    assert!(t.f.session().code.is_empty(), "keypad locked");
    t.wait(9);
    assert!(t.f.session().locked_until.is_some());
    t.wait(1);
    assert!(t.f.session().locked_until.is_none());
    assert_eq!(t.f.session().lookup_error, None);
    let fx = t.typ(&valid_code().digits());
    assert_eq!(fx.len(), 1);
    t.ev(Event::LookedUp(LookupOutcome::Unavailable));
    assert_eq!(t.f.session().lookup_error, Some("lookup-unavailable"));
}

#[test]
fn lookup_delay_doubles_after_free_attempts_and_is_capped() {
    let cfg = LookupSection::default();
    assert_eq!(lookup_delay_s(0, &cfg), 0);
    assert_eq!(lookup_delay_s(2, &cfg), 0);
    assert_eq!(lookup_delay_s(3, &cfg), 5);
    assert_eq!(lookup_delay_s(4, &cfg), 10);
    assert_eq!(lookup_delay_s(5, &cfg), 20);
    assert_eq!(lookup_delay_s(40, &cfg), 300);
}

fn found(rated: Option<u8>) -> LookupOutcome {
    LookupOutcome::Found(Box::new(LookupView {
        appeal_id: Uuid::now_v7(),
        registration_number: "DEV01-01-2026-000001".into(),
        addressee: "Әкімдік".into(),
        recorded_local: "20.03.2026 15:00".into(),
        expected_answer_date: NaiveDate::from_ymd_opt(2026, 4, 13),
        timeline: Vec::new(),
        answer: Some(AnswerView {
            decision: DecisionKind::Satisfied,
            text: "Жауап".into(),
            signed_by: "Әкім".into(),
            signed_on: NaiveDate::from_ymd_opt(2026, 4, 10).expect("date"),
            documents: Vec::new(),
        }),
        rated,
    }))
}

#[test]
fn seed_004_an_appeal_without_an_answer_is_not_offered_a_rating() {
    let mut t = T::new();
    t.to_menu();
    t.tap("view-answer");
    t.typ(&valid_code().digits());
    let LookupOutcome::Found(mut v) = found(None) else {
        unreachable!()
    };
    v.answer = None;
    t.ev(Event::LookedUp(LookupOutcome::Found(v)));
    assert_eq!(t.screen(), Screen::LookupResult);
    t.tap("next");
    assert_eq!(t.screen(), Screen::ThankYou, "nothing to rate yet");
    assert!(t.tap("rate:5").is_empty());
}

#[test]
fn scanner_payload_and_qr_frames_find_the_code() {
    let code = valid_code();
    let payload = format!("BOOTH:DEV01-01-2026-000001:{}", code.digits());
    assert_eq!(
        code_from_payload(&payload).as_deref(),
        Some(code.digits().as_str())
    );
    assert_eq!(
        code_from_payload(&code.grouped()).as_deref(),
        Some(code.digits().as_str())
    );
    assert_eq!(code_from_payload("no code here 123"), None);
    // Keyboard-wedge scanner: the payload arrives as keys, then Enter.
    let mut t = T::new();
    t.to_menu();
    t.tap("view-answer");
    t.typ(&payload);
    let fx = t.ev(Event::Key(Key::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::Lookup(c)] if *c == code),
        "{fx:?}"
    );
    t.ev(Event::LookedUp(found(None)));
    assert_eq!(t.screen(), Screen::LookupResult);
    // Camera QR.
    let mut t = T::new();
    t.to_menu();
    t.tap("view-answer");
    assert_eq!(t.tap("scan-qr"), vec![Effect::StartQrScan]);
    t.ev(Event::QrDecoded("garbage".into()));
    assert_eq!(t.f.session().lookup_error, Some("error-qr-unreadable"));
    let fx = t.ev(Event::QrDecoded(payload));
    assert_eq!(fx.len(), 2);
    assert_eq!(fx[0], Effect::StopQrScan);
    assert!(matches!(&fx[1], Effect::Lookup(c) if *c == code));
    t.ev(Event::LookedUp(found(None)));
    assert_eq!(t.screen(), Screen::LookupResult);
}

#[test]
fn result_then_rating_then_thanks() {
    let mut t = T::new();
    t.to_menu();
    t.tap("view-answer");
    t.typ(&valid_code().digits());
    t.ev(Event::LookedUp(found(None)));
    assert_eq!(t.screen(), Screen::LookupResult);
    t.tap("back");
    assert_eq!(t.screen(), Screen::LookupCode);
    t.typ(&valid_code().digits());
    t.ev(Event::LookedUp(found(None)));
    t.tap("next");
    assert_eq!(t.screen(), Screen::Rating, "an answered appeal is rated");
    assert!(t.tap("rate:9").is_empty());
    let fx = t.tap("rate:4");
    assert!(matches!(
        fx.as_slice(),
        [Effect::SaveRating { rating: 4, .. }]
    ));
    t.ev(Event::Rated);
    assert_eq!(t.f.session().rated, Some(4));
    t.tap("done");
    assert_eq!(t.screen(), Screen::ThankYou);
    t.tap("done");
    assert_eq!(t.screen(), Screen::Attract);
}

#[test]
fn lookup_back_stops_the_scanner() {
    let mut t = T::new();
    t.to_menu();
    t.tap("view-answer");
    t.tap("scan-qr");
    assert_eq!(t.tap("back"), vec![Effect::StopQrScan]);
    assert_eq!(t.screen(), Screen::Menu);
}

#[test]
fn service_mode_needs_the_pin() {
    let mut t = T::new();
    t.tap("service-corner");
    assert_eq!(t.screen(), Screen::ServicePin);
    t.typ("111111");
    assert!(t.tap("next").is_empty());
    assert!(t.f.session().pin_error);
    assert_eq!(t.screen(), Screen::ServicePin);
    t.typ("246810");
    assert_eq!(t.ev(Event::Key(Key::Enter)), vec![Effect::ReadDiagnostics]);
    assert_eq!(t.screen(), Screen::Service);
    assert_eq!(t.tap("service-print-test"), vec![Effect::PrintTest]);
    assert_eq!(t.tap("service-reprint"), vec![Effect::Reprint]);
    assert_eq!(t.tap("service-refresh"), vec![Effect::ReadDiagnostics]);
    t.ev(Event::Diagnostics(Diagnostics {
        lines: vec![("camera".into(), "ok".into())],
    }));
    assert_eq!(t.f.session().diagnostics.lines.len(), 1);
    t.tap("service-exit");
    assert_eq!(t.screen(), Screen::Attract);
    // The corner does nothing in the middle of a citizen's session.
    t.to_menu();
    t.tap("record");
    t.tap("service-corner");
    assert_eq!(t.screen(), Screen::Ticket);
}

#[test]
fn late_recorder_result_after_a_wipe_is_discarded() {
    let mut t = T::new();
    t.to_menu();
    let fx = t.ev(Event::RecordingStopped(Ok(Take {
        duration_ms: 1,
        speech_fraction: 1.0,
        ended_at: Utc::now(),
    })));
    assert_eq!(fx, vec![Effect::DiscardRecording]);
}

#[test]
fn every_screen_has_a_distinct_name() {
    let all = [
        Screen::Attract,
        Screen::Language,
        Screen::Menu,
        Screen::Ticket,
        Screen::Consent,
        Screen::Applicant,
        Screen::Addressee,
        Screen::Kind,
        Screen::Complaint,
        Screen::Check,
        Screen::Countdown,
        Screen::Recording,
        Screen::Finishing,
        Screen::Receipt,
        Screen::Continuation,
        Screen::ThankYou,
        Screen::BackToReception,
        Screen::LookupCode,
        Screen::LookupResult,
        Screen::Rating,
        Screen::Help,
        Screen::ServicePin,
        Screen::Service,
    ];
    let names: std::collections::BTreeSet<_> = all.iter().map(|s| s.name()).collect();
    assert_eq!(names.len(), all.len());
}

#[test]
fn an_untrusted_clock_refuses_appeals_but_not_lookups_until_it_is_fixed() {
    let mut t = T::new();
    t.ev(Event::ClockChecked(Some(ClockProblem::NotSynchronized {
        marker: "/run/systemd/timesync/synchronized".into(),
    })));
    t.to_menu();
    assert!(t.tap("record").is_empty());
    assert_eq!(t.screen(), Screen::Menu, "no appeal is started");
    assert_eq!(t.f.session().error, Some("record-unavailable-clock"));
    // Answers can still be looked up.
    t.tap("view-answer");
    assert_eq!(t.screen(), Screen::LookupCode);
    t.tap("back");
    // Time sync succeeds: the refusal goes away and recording starts.
    t.ev(Event::ClockChecked(None));
    assert_eq!(t.f.session().error, None);
    assert!(t.f.clock_problem().is_none());
    t.tap("record");
    assert_eq!(t.screen(), Screen::Ticket);
}

#[test]
fn the_clock_guard_wants_sync_and_a_date_after_the_build() {
    use crate::controller::clock_problem;
    let built = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .expect("date");
    let dir = tempfile::tempdir().expect("tmp");
    let marker = dir.path().join("synchronized");
    let marker = marker.to_string_lossy().into_owned();
    let after = built + chrono::TimeDelta::days(3);
    // No marker yet: not synchronised, and the message names the file for the technician.
    let p = clock_problem(&marker, after, built).expect("refused");
    assert!(matches!(p, ClockProblem::NotSynchronized { .. }));
    assert!(p.to_string().contains(&marker), "{p}");
    std::fs::write(&marker, "").expect("marker");
    assert_eq!(clock_problem(&marker, after, built), None);
    // A clock that went back to 2000 (flat RTC battery) is refused even when synchronised.
    let old = Utc
        .with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .expect("date");
    let p = clock_problem(&marker, old, built).expect("refused");
    assert!(p.to_string().contains("2000-01-01"), "{p}");
    assert!(p.to_string().contains("2026-11-01"), "{p}");
    // Development configs turn the sync check off; the build date still counts.
    assert_eq!(clock_problem("", after, built), None);
    assert!(clock_problem("", old, built).is_some());
    // This build's own date is not in the future.
    assert!(crate::controller::build_time() <= Utc::now());
}

//! Renders the flow's state into the Slint globals (one global per screen area) and wires the
//! globals' callbacks back to the controller. Only this module and [`crate::headless`] /
//! `main` touch Slint types; the flow knows nothing of them.

use std::rc::Rc;
use std::time::Instant;

use booth_core::{AppealKind, Language, Status};
use slint::{
    ComponentHandle, Image, Model, ModelRc, Rgb8Pixel, SharedPixelBuffer, SharedString, VecModel,
};

use crate::flow::{Event, Flow, Key, LookupView, PrintOutcome, Screen};
use crate::i18n::{t, tf};
use crate::ports::Frame;
use crate::ui::{
    App, AppWindow, DiagLine, Directory, FieldRow, Form, Keyboard, Lookup, Rec, Receipt, Service,
    TextItem, Theme, Tr,
};

/// Translation keys of status steps.
pub const STATUS_KEYS: &[&str] = &[
    "status-registered",
    "status-delivered",
    "status-forwarded",
    "status-in-review",
    "status-merged",
    "status-answered",
];

/// Converts a preview frame into a Slint image (copies the pixels once).
pub fn frame_image(f: &Frame) -> Image {
    let buf = SharedPixelBuffer::<Rgb8Pixel>::clone_from_slice(&f.rgb, f.width, f.height);
    Image::from_rgb8(buf)
}

/// Maps a key name from the `.slint` side (`"BACKSPACE"`, `"ENTER"` or text) to a flow key.
pub fn key_from_ui(s: &str) -> Key {
    match s {
        "BACKSPACE" | "\u{8}" | "\u{7f}" => Key::Backspace,
        "ENTER" | "\n" | "\r" => Key::Enter,
        other => Key::Text(other.to_owned()),
    }
}

/// Installs the translation callbacks.
pub fn install_translations(ui: &AppWindow) {
    let tr = ui.global::<Tr>();
    tr.on_translate(|lang, key| {
        SharedString::from(t(Language::from_code(&lang).unwrap_or_default(), &key))
    });
    tr.on_translate_arg(|lang, key, arg| {
        SharedString::from(tf(
            Language::from_code(&lang).unwrap_or_default(),
            &key,
            &[&arg],
        ))
    });
}

fn mmss(d: std::time::Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}", s / 60, s % 60)
}

fn status_text(lang: Language, s: &Status) -> (String, bool) {
    match s {
        Status::Registered => (t(lang, "status-registered"), false),
        Status::Delivered => (t(lang, "status-delivered"), false),
        Status::Forwarded { to_agency_name, .. } => {
            (tf(lang, "status-forwarded", &[to_agency_name]), false)
        }
        Status::InReview => (t(lang, "status-in-review"), false),
        Status::Merged {
            into_registration_number,
        } => (
            tf(lang, "status-merged", &[into_registration_number]),
            false,
        ),
        Status::Answered { decision } => (
            tf(
                lang,
                "status-answered",
                &[&t(lang, &format!("decision-{}", decision.as_str()))],
            ),
            true,
        ),
    }
}

fn model<T: Clone + 'static>(v: Vec<T>) -> ModelRc<T> {
    ModelRc::from(Rc::new(VecModel::from(v)))
}

/// Sets a model only when its content changed (keeps the screen's elements and their focus).
fn set_model<T: Clone + PartialEq + 'static>(
    current: ModelRc<T>,
    new: Vec<T>,
    set: impl FnOnce(ModelRc<T>),
) {
    let same =
        current.row_count() == new.len() && current.iter().zip(new.iter()).all(|(a, b)| a == *b);
    if !same {
        set(model(new));
    }
}

/// Remembers what the view last pushed so it only changes what changed.
#[derive(Debug, Default)]
pub struct ViewState {
    last_field: Option<crate::flow::FieldId>,
    last_screen: Option<Screen>,
}

/// Pushes the whole flow state into the window's globals.
pub fn render(ui: &AppWindow, flow: &Flow, now: Instant, vs: &mut ViewState, portrait: bool) {
    let s = flow.session();
    let lang = s.language;
    let tx = |k: &str| SharedString::from(t(lang, k));

    ui.global::<Tr>().set_lang(lang.code().into());
    let theme = ui.global::<Theme>();
    theme.set_high_contrast(flow.display().high_contrast);
    theme.set_large(flow.display().large_type);
    theme.set_portrait(portrait);

    let app = ui.global::<App>();
    app.set_screen(flow.screen().name().into());
    let warning = s.error == Some("warning-silent-sent");
    app.set_error(s.error.map(|k| tx(k)).unwrap_or_default());
    app.set_error_is_warning(warning);
    match flow.idle_prompt() {
        Some(p) => {
            app.set_idle_prompt(true);
            app.set_idle_left(p.wipe_at.saturating_duration_since(now).as_secs().max(1) as i32);
        }
        None => app.set_idle_prompt(false),
    }

    // Forms.
    let form = ui.global::<Form>();
    form.set_legal(s.applicant_type == crate::flow::ApplicantType::LegalEntity);
    form.set_ticket(s.ticket.clone().into());
    form.set_ticket_checking(s.ticket_checking);
    form.set_from_ticket(!s.locked.is_empty());
    let rows: Vec<FieldRow> = if matches!(flow.screen(), Screen::Applicant | Screen::Complaint) {
        flow.field_order()
            .into_iter()
            .map(|f| FieldRow {
                id: f.name().into(),
                label: tx(&f.label_key()),
                value: s.fields.get(&f).cloned().unwrap_or_default().into(),
                error: s.field_errors.get(&f).map(|k| tx(k)).unwrap_or_default(),
                active: s.active_field == Some(f),
                optional: f.optional(),
                locked: s.locked.contains(&f),
            })
            .collect()
    } else {
        Vec::new()
    };
    set_model(form.get_fields(), rows, |m| form.set_fields(m));
    // The keyboard starts in the layout that suits the field: Latin for e-mail, digits for
    // IIN/BIN, the session language's alphabet otherwise.
    if s.active_field != vs.last_field || vs.last_screen != Some(flow.screen()) {
        let kb = ui.global::<Keyboard>();
        let layout = match s.active_field {
            Some(f) if f.wants_latin() => "en",
            Some(f) if f.digits_only() => "digits",
            _ => match lang {
                Language::Kk => "kk",
                Language::Ru => "ru",
                Language::En => "en",
            },
        };
        kb.set_layout(layout.into());
        kb.set_shift(!s.active_field.is_some_and(|f| f.wants_latin()));
        vs.last_field = s.active_field;
    }

    // Directory and kinds.
    let dir = ui.global::<Directory>();
    dir.set_search(s.search.clone().into());
    dir.set_category(s.category.clone().into());
    if flow.screen() == Screen::Addressee {
        let cats: Vec<TextItem> = flow
            .categories()
            .into_iter()
            .map(|c| TextItem {
                id: c.clone().into(),
                text: tx(&crate::directory::category_key(&c)),
                sub: SharedString::new(),
                selected: c == s.category,
            })
            .collect();
        set_model(dir.get_categories(), cats, |m| dir.set_categories(m));
        let list: Vec<TextItem> = flow
            .matching_agencies()
            .into_iter()
            .map(|a| TextItem {
                id: a.id.clone().into(),
                text: a.name(lang).into(),
                sub: tx(&crate::directory::category_key(&a.category)),
                selected: s.addressee.as_deref() == Some(a.id.as_str()),
            })
            .collect();
        set_model(dir.get_agencies(), list, |m| dir.set_agencies(m));
    }
    let kinds: Vec<TextItem> = AppealKind::ALL
        .iter()
        .map(|k| TextItem {
            id: k.as_str().into(),
            text: tx(&format!("kind-{}", k.as_str())),
            sub: SharedString::new(),
            selected: s.kind == Some(*k),
        })
        .collect();
    set_model(dir.get_kinds(), kinds, |m| dir.set_kinds(m));

    // Camera and recording.
    let rec = ui.global::<Rec>();
    rec.set_level(s.mic_level);
    rec.set_voice_heard(s.voice_heard);
    rec.set_can_begin(flow.can_begin());
    rec.set_checking_text(match s.preview_ok {
        Some(Err(e)) => tx(e.message_key()),
        _ => tx("check-starting"),
    });
    rec.set_printer_warning(
        s.printer
            .and_then(|p| p.warning_key())
            .map(|k| tx(k))
            .unwrap_or_default(),
    );
    let since = now.saturating_duration_since(flow.screen_since()).as_secs();
    rec.set_countdown((crate::flow::COUNTDOWN_S.saturating_sub(since)).max(1) as i32);
    let recorded = flow.recorded(now);
    let max = flow.config().max_recording;
    rec.set_timer(mmss(recorded).into());
    rec.set_remaining(mmss(max.saturating_sub(recorded)).into());
    rec.set_progress((recorded.as_secs_f32() / max.as_secs_f32().max(1.0)).min(1.0));
    rec.set_warned(flow.recording().warned);
    rec.set_rec_blink(recorded.as_secs() % 2 == 0);
    rec.set_can_rerecord(flow.rerecords_left() > 0);
    rec.set_confirm_discard(s.confirm_discard);
    rec.set_commit_failed(s.commit_error.is_some());
    if !matches!(
        flow.screen(),
        Screen::Check | Screen::Countdown | Screen::Recording | Screen::LookupCode
    ) {
        rec.set_has_preview(false);
    }

    // Receipt.
    let rc = ui.global::<Receipt>();
    if let Some(r) = &s.receipt {
        rc.set_date(r.recorded_local.clone().into());
        rc.set_number(r.registration_number.clone().into());
        rc.set_code(r.code.grouped().into());
        rc.set_expected(match r.expected_answer_date {
            Some(d) => d.format("%d.%m.%Y").to_string().into(),
            None => tx("receipt-date-with-answer"),
        });
        rc.set_addressee(r.addressee.clone().into());
    } else {
        rc.set_code(SharedString::new());
    }
    match s.print {
        None => {
            rc.set_printing(true);
            rc.set_print_failed(false);
            rc.set_print_status(tx("receipt-printing"));
        }
        Some(PrintOutcome::Printed) => {
            rc.set_printing(false);
            rc.set_print_failed(false);
            rc.set_print_status(SharedString::from(format!(
                "✔ {}",
                t(lang, "receipt-printed")
            )));
        }
        Some(PrintOutcome::Failed(p)) => {
            rc.set_printing(false);
            rc.set_print_failed(true);
            let why = p.warning_key().map(|k| t(lang, k)).unwrap_or_default();
            rc.set_print_status(SharedString::from(format!(
                "{}. {}",
                t(lang, "receipt-not-printed"),
                why
            )));
        }
    }

    // Lookup.
    let lk = ui.global::<Lookup>();
    let plain = s.code.chars().all(|c| c.is_ascii_digit() || c == ' ');
    let shown = if plain {
        let d: String = s.code.chars().filter(char::is_ascii_digit).collect();
        d.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        "▣ …".to_string()
    };
    lk.set_code(shown.into());
    lk.set_typed(s.code.chars().filter(char::is_ascii_digit).count() as i32);
    lk.set_check(match flow.code_check() {
        Ok(Some(_)) => "ok".into(),
        Err(booth_core::code::CodeError::BadCheckDigit) => "bad".into(),
        _ => SharedString::new(),
    });
    let locked = s.locked_until.is_some_and(|t| now < t);
    lk.set_locked(locked);
    if locked {
        let left = s
            .locked_until
            .map(|t| t.saturating_duration_since(now).as_secs() + 1)
            .unwrap_or(0);
        app.set_error(SharedString::from(tf(
            lang,
            "lookup-wait",
            &[&left.to_string()],
        )));
    } else if flow.screen() == Screen::LookupCode {
        app.set_error(s.lookup_error.map(|k| tx(k)).unwrap_or_default());
    }
    lk.set_scanning(s.scanning);
    lk.set_searching(s.looking_up);
    if let Some(v) = &s.result {
        render_result(ui, v, lang);
    }
    lk.set_rated(i32::from(s.rated.unwrap_or(0)));

    // Service.
    let sv = ui.global::<Service>();
    sv.set_pin_dots("●".repeat(s.pin.len()).into());
    sv.set_pin_error(s.pin_error);
    let lines: Vec<DiagLine> = s
        .diagnostics
        .lines
        .iter()
        .map(|(n, v)| DiagLine {
            name: n.clone().into(),
            value: v.clone().into(),
        })
        .collect();
    set_model(sv.get_lines(), lines, |m| sv.set_lines(m));
    sv.set_last_print(match (flow.screen(), s.print) {
        (Screen::Service, Some(PrintOutcome::Printed)) => tx("receipt-printed"),
        (Screen::Service, Some(PrintOutcome::Failed(p))) => {
            SharedString::from(format!("{}: {:?}", t(lang, "receipt-not-printed"), p))
        }
        _ => SharedString::new(),
    });
    vs.last_screen = Some(flow.screen());
}

fn render_result(ui: &AppWindow, v: &LookupView, lang: Language) {
    let lk = ui.global::<Lookup>();
    lk.set_number(v.registration_number.clone().into());
    lk.set_addressee(v.addressee.clone().into());
    lk.set_recorded(v.recorded_local.clone().into());
    lk.set_expected(match v.expected_answer_date {
        Some(d) => d.format("%d.%m.%Y").to_string().into(),
        None => t(lang, "receipt-date-with-answer").into(),
    });
    let tl: Vec<TextItem> = v
        .timeline
        .iter()
        .map(|e| {
            let (text, done) = status_text(lang, &e.status);
            TextItem {
                id: SharedString::new(),
                text: text.into(),
                sub: crate::adapters::local_text(e.at, 300).into(),
                selected: done,
            }
        })
        .collect();
    set_model(lk.get_timeline(), tl, |m| lk.set_timeline(m));
    match &v.answer {
        Some(a) => {
            lk.set_has_answer(true);
            lk.set_decision(t(lang, &format!("decision-{}", a.decision.as_str())).into());
            lk.set_answer(a.text.clone().into());
            lk.set_signed(format!("{}, {}", a.signed_by, a.signed_on.format("%d.%m.%Y")).into());
            let docs: Vec<SharedString> = a.documents.iter().map(|d| d.clone().into()).collect();
            set_model(lk.get_documents(), docs, |m| lk.set_documents(m));
        }
        None => {
            lk.set_has_answer(false);
            lk.set_documents(model(Vec::new()));
        }
    }
}

/// Shows a preview frame.
pub fn show_frame(ui: &AppWindow, f: &Frame) {
    let rec = ui.global::<Rec>();
    rec.set_preview(frame_image(f));
    rec.set_has_preview(true);
}

/// Wires the window's callbacks to a sink of flow events (the controller's dispatch) and of
/// the hidden corner's press/release.
pub fn wire(
    ui: &AppWindow,
    on_event: impl Fn(Event) + 'static,
    on_corner: impl Fn(bool) + 'static,
) {
    let on_event = Rc::new(on_event);
    let app = ui.global::<App>();
    let e1 = on_event.clone();
    app.on_act(move |a| match crate::flow::Action::parse(&a) {
        Some(action) => e1(Event::Tap(action)),
        None => tracing::warn!(action = %a, "unknown action from the UI"),
    });
    let e2 = on_event.clone();
    app.on_key(move |k| e2(Event::Key(key_from_ui(&k))));
    app.on_corner(on_corner);
}

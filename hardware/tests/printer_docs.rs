//! The receipt pictures in docs/ (80 mm: `receipt-{kk,ru,en}.png`, 58 mm:
//! `receipt-{kk,ru,en}-58mm.png`) are what the virtual printer prints for a demo receipt with
//! a branch address, phone and web address: each decodes to its own QR payload and is as wide
//! as its paper. `RECEIPT_PNG_DIR=docs cargo test -p booth-hardware --test printer_docs`
//! (run from the workspace root) prints them again through the virtual printer.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use booth_core::code::{RegistrationNumber, SecretCode};
use booth_core::config::PrinterSection;
use booth_core::domain::{AppealKind, Language};
use booth_hardware::printer::{
    ReceiptContacts, ReceiptData, ReceiptPrinter, parse_receipt_qr, sim,
};

/// A realistic receipt (random code: never issued).
fn demo_receipt(lang: Language) -> ReceiptData {
    let (addressee, branch) = match lang {
        Language::Kk => (
            "Қазақстан Республикасы Әділет министрлігі",
            "Алматы қ., Әуезов ауданы ХҚКО бөлімшесі",
        ),
        Language::Ru => (
            "Министерство юстиции Республики Казахстан",
            "ЦОН Ауэзовского района г. Алматы",
        ),
        Language::En => (
            "Ministry of Justice of the Republic of Kazakhstan",
            "Almaty, Auezov district PSC",
        ),
    };
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(2026, m, d).expect("date");
    ReceiptData {
        branch_name: branch.into(),
        booth_id: "ALM01-BOOTH-03".into(),
        registration_number: RegistrationNumber::new("ALM01", 3, 2026, 127).expect("number"),
        recorded_at: day(11, 23).and_hms_opt(14, 5, 0).expect("time"),
        addressee: addressee.into(),
        kind: AppealKind::Complaint,
        secret_code: SecretCode::generate(),
        expected_answer_date: Some(day(12, 14)),
        language: lang,
    }
}

/// Demo contact details, as the central service's booth config would give them.
fn demo_contacts(lang: Language) -> ReceiptContacts {
    ReceiptContacts {
        branch_address: Some(
            match lang {
                Language::Kk => "Алматы қ., Жандосов к-сі, 51",
                Language::Ru => "г. Алматы, ул. Жандосова, 51",
                Language::En => "51 Zhandosov St, Almaty",
            }
            .into(),
        ),
        answer_phone: Some("+7 727 000 00 00".into()),
        answer_web: Some("appeals.example.kz".into()),
    }
}

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

fn name(lang: Language, width: u32) -> String {
    match width {
        576 => format!("receipt-{}.png", lang.code()),
        _ => format!("receipt-{}-58mm.png", lang.code()),
    }
}

fn decode_qr(png: &Path) -> (u32, String) {
    let img = image::open(png).expect("PNG opens").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32).0[0],
    );
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "{}: one QR code", png.display());
    (img.width(), grids[0].decode().expect("QR decodes").1)
}

#[test]
fn receipt_pictures_in_docs_are_printed_receipts() {
    let regenerate = std::env::var_os("RECEIPT_PNG_DIR").map(PathBuf::from);
    if let Some(out) = &regenerate {
        for width in [576u32, 384] {
            let dir = tempfile::tempdir().expect("tempdir");
            let printer_sim = sim::spawn(dir.path(), width).expect("virtual printer");
            let mut printer = ReceiptPrinter::from_config(&PrinterSection {
                transport: "tcp".into(),
                address: printer_sim.addr.to_string(),
                width_dots: width,
                ..PrinterSection::default()
            })
            .expect("config");
            for (i, lang) in Language::ALL.into_iter().enumerate() {
                printer.set_contacts(demo_contacts(lang));
                printer.print(&demo_receipt(lang)).expect("prints");
                let pages = printer_sim
                    .state
                    .wait_for_pages(i + 1, Duration::from_secs(10));
                std::fs::copy(&pages[i], out.join(name(lang, width))).expect("copy to docs");
            }
        }
    }
    for width in [576u32, 384] {
        for lang in Language::ALL {
            let path = docs_dir().join(name(lang, width));
            assert!(path.exists(), "{} missing", path.display());
            let (w, text) = decode_qr(&path);
            assert_eq!(w, width, "{}", path.display());
            let qr = parse_receipt_qr(&text).expect("a receipt payload");
            assert_eq!(qr.registration_number.to_string(), "ALM01-03-2026-000127");
        }
    }
}

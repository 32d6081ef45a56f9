//! The serial transport through a real pseudo-terminal: the booth opens the pty's slave like a
//! `/dev/ttyUSB0` printer, the virtual printer's session answers on the master side. Proves
//! the line is switched to raw mode (cooked mode would corrupt raster bytes and hold back
//! status answers) and that status and printing work over serial.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Duration;

use booth_core::code::{RegistrationNumber, SecretCode};
use booth_core::config::PrinterSection;
use booth_core::domain::{AppealKind, Language};
use booth_hardware::printer::{
    PrinterError, PrinterStatus, ReceiptData, ReceiptPrinter, parse_receipt_qr, render_receipt, sim,
};

struct SerialPrinter {
    cfg: PrinterSection,
    state: std::sync::Arc<sim::SimState>,
    _slave: std::os::fd::OwnedFd,
    _dir: tempfile::TempDir,
}

/// A virtual printer behind a pty; the returned config points at the pty's slave at 115200 baud.
fn serial_printer() -> SerialPrinter {
    let dir = tempfile::tempdir().expect("tempdir");
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave_path: PathBuf =
        std::fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd())).expect("pty name");
    let state = sim::SimState::new(576);
    let mut master = std::fs::File::from(pty.master);
    let mut answers = master.try_clone().expect("clone master");
    let mut session = sim::Session::new(state.clone(), dir.path());
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        // Ends when the test process exits (the slave stays open in the test).
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            let answer = session.receive(&buf[..n]);
            if !answer.is_empty() && answers.write_all(&answer).is_err() {
                break;
            }
        }
    });
    let cfg = PrinterSection {
        transport: "serial".into(),
        address: format!("{}@115200", slave_path.display()),
        ..PrinterSection::default()
    };
    SerialPrinter {
        cfg,
        state,
        _slave: pty.slave,
        _dir: dir,
    }
}

fn receipt() -> ReceiptData {
    ReceiptData {
        branch_name: "Шымкент қ. ХҚКО".into(),
        booth_id: "SHY02-BOOTH-01".into(),
        registration_number: RegistrationNumber::new("SHY02", 1, 2026, 42).expect("valid"),
        recorded_at: chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
            .and_then(|d| d.and_hms_opt(9, 30, 0))
            .expect("valid"),
        addressee: "Ұлттық экономика министрлігі".into(),
        kind: AppealKind::Request,
        secret_code: SecretCode::generate(),
        expected_answer_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 23),
        language: Language::Kk,
    }
}

#[test]
fn receipt_prints_over_a_raw_serial_line() {
    let p = serial_printer();
    let mut printer = ReceiptPrinter::from_config(&p.cfg).expect("config");
    assert_eq!(
        printer.status(),
        PrinterStatus::Ready,
        "status bytes must pass a raw serial line"
    );
    let r = receipt();
    printer.print(&r).expect("prints over serial");
    let pages = p.state.wait_for_pages(1, Duration::from_secs(10));
    assert_eq!(pages.len(), 1);
    let img = image::open(&pages[0]).expect("png").to_luma8();
    let raster = render_receipt(&r, 576).expect("render");
    // A cooked line would have added CR before every 0x0A in the raster and broken the image.
    assert_eq!(img.height(), raster.height() + 4 * sim::LINE_DOTS as u32);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32).0[0],
    );
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, text) = grids[0].decode().expect("QR decodes");
    let qr = parse_receipt_qr(&text).expect("receipt payload");
    assert_eq!(qr.registration_number, r.registration_number);
    assert_eq!(qr.secret_code, r.secret_code);
    assert_eq!(p.state.errors(), 0);
}

#[test]
fn paper_out_on_a_serial_printer_blocks_the_print() {
    let p = serial_printer();
    p.state.set_paper_out(true);
    let mut printer = ReceiptPrinter::from_config(&p.cfg).expect("config");
    assert_eq!(printer.status(), PrinterStatus::PaperOut);
    assert!(matches!(
        printer.print(&receipt()),
        Err(PrinterError::NotReady(PrinterStatus::PaperOut))
    ));
    assert!(p.state.pages().is_empty());
}

#[test]
fn missing_serial_device_is_a_connect_error() {
    let cfg = PrinterSection {
        transport: "serial".into(),
        address: "/dev/booth-printer-that-does-not-exist".into(),
        ..PrinterSection::default()
    };
    let mut printer = ReceiptPrinter::from_config(&cfg).expect("config");
    assert!(matches!(
        printer.print(&receipt()),
        Err(PrinterError::Connect { .. })
    ));
    match printer.status() {
        PrinterStatus::NotConnected { reason } => assert!(
            reason.contains("booth-printer-that-does-not-exist"),
            "{reason}"
        ),
        other => panic!("a missing printer must not look ready: {other:?}"),
    }
}

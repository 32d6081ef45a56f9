//! The receipt printer against the virtual printer over real TCP on 127.0.0.1: Kazakh receipt
//! → PNG → QR decoded back; status switches; failures keep the receipt; dead printers fail fast.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use booth_core::code::{RegistrationNumber, SecretCode};
use booth_core::config::PrinterSection;
use booth_core::domain::{AppealKind, Language};
use booth_hardware::printer::{
    PrinterError, PrinterStatus, ReceiptData, ReceiptPrinter, commands, parse_receipt_qr,
    printer_status, render_receipt, sim,
};

fn tcp_cfg(addr: impl ToString) -> PrinterSection {
    PrinterSection {
        transport: "tcp".into(),
        address: addr.to_string(),
        ..PrinterSection::default()
    }
}

fn kazakh_receipt(seq: u32) -> ReceiptData {
    ReceiptData {
        branch_name: "Алматы қ., Әуезов ауданы ХҚКО".into(),
        booth_id: "ALM01-BOOTH-03".into(),
        registration_number: RegistrationNumber::new("ALM01", 3, 2026, seq).expect("valid number"),
        recorded_at: chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .and_then(|d| d.and_hms_opt(14, 5, 0))
            .expect("valid time"),
        addressee: "Қазақстан Республикасы Әділет министрлігі (Ғ Ң Ө Ұ Ү Һ І)".into(),
        kind: AppealKind::Complaint,
        secret_code: SecretCode::generate(),
        expected_answer_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 14),
        language: Language::Kk,
    }
}

fn decode_qr(png: &Path) -> (u32, String) {
    let img = image::open(png)
        .expect("PNG from the virtual printer opens")
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32).0[0],
    );
    let grids = prepared.detect_grids();
    assert_eq!(
        grids.len(),
        1,
        "the citizen's receipt must carry exactly one readable QR code"
    );
    let (_, text) = grids[0].decode().expect("QR decodes");
    (img.width(), text)
}

#[test]
fn kazakh_receipt_over_tcp_prints_a_readable_qr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printer_sim = sim::spawn(dir.path(), 576).expect("virtual printer starts");
    let mut printer = ReceiptPrinter::from_config(&tcp_cfg(printer_sim.addr)).expect("config");
    let receipt = kazakh_receipt(127);

    assert_eq!(printer.status(), PrinterStatus::Ready);
    let report = printer.print(&receipt).expect("receipt prints");
    assert_eq!(report.status_after, PrinterStatus::Ready);
    assert_eq!(
        report.confirmation,
        booth_hardware::printer::Confirmation::ProcessId,
        "counted printed because the printer confirmed it"
    );

    let pages = printer_sim.state.wait_for_pages(1, Duration::from_secs(10));
    assert_eq!(pages.len(), 1, "one cut, one page");
    let (width, text) = decode_qr(&pages[0]);
    assert_eq!(width, 576, "80 mm paper is 576 dots wide");
    let qr = parse_receipt_qr(&text).expect("QR holds a receipt payload");
    assert_eq!(qr.registration_number, receipt.registration_number);
    assert_eq!(
        qr.secret_code, receipt.secret_code,
        "the QR must open this citizen's answer"
    );
    assert!(text.contains("ALM01-03-2026-000127"));

    // The virtual printer drew exactly the raster we sent (the rendered one with real-time
    // command pairs broken by single added dots), plus the 4-line feed.
    let rendered = render_receipt(&receipt, 576).expect("render");
    let raster = commands::raster_as_sent(&rendered);
    let added: u32 = raster
        .bits()
        .iter()
        .zip(rendered.bits())
        .map(|(a, b)| (a ^ b).count_ones())
        .sum();
    assert!(added < 50, "{added} dots added to break DLE sequences");
    let img = image::open(&pages[0]).expect("png").to_luma8();
    assert_eq!(img.height(), raster.height() + 4 * sim::LINE_DOTS as u32);
    for y in 0..raster.height() {
        for x in 0..raster.width() {
            assert_eq!(
                img.get_pixel(x, y).0[0] == 0,
                raster.is_black(x, y),
                "dot ({x},{y}) differs"
            );
        }
    }
    assert_eq!(
        printer_sim.state.errors(),
        0,
        "the booth sent nothing the printer refused"
    );
    assert_eq!(printer.kept().last().map(|k| k.printed), Some(true));
}

#[test]
fn narrow_paper_receipt_is_384_dots_and_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printer_sim = sim::spawn(dir.path(), 384).expect("virtual printer starts");
    let cfg = PrinterSection {
        width_dots: 384,
        ..tcp_cfg(printer_sim.addr)
    };
    let mut receipt = kazakh_receipt(5);
    receipt.language = Language::Ru;
    ReceiptPrinter::from_config(&cfg)
        .expect("config")
        .print(&receipt)
        .expect("prints");
    let pages = printer_sim.state.wait_for_pages(1, Duration::from_secs(10));
    let (width, text) = decode_qr(&pages[0]);
    assert_eq!(width, 384);
    assert_eq!(
        parse_receipt_qr(&text)
            .expect("payload")
            .registration_number,
        receipt.registration_number
    );
}

fn control(addr: std::net::SocketAddr, line: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("control port");
    writeln!(s, "{line}").expect("send");
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer).expect("answer");
    answer.trim().to_owned()
}

#[test]
fn paper_out_and_cover_open_reach_the_status_api_and_failed_prints_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printer_sim = sim::spawn(dir.path(), 576).expect("virtual printer starts");
    let cfg = tcp_cfg(printer_sim.addr);
    let mut printer = ReceiptPrinter::from_config(&cfg).expect("config");

    assert_eq!(control(printer_sim.control_addr, "paper-out on"), "ok");
    let status = printer_status(&cfg).expect("config");
    assert_eq!(status, PrinterStatus::PaperOut);
    assert_eq!(status.message_key(), "printer-unavailable");
    assert!(status.technician_detail().contains("out of paper"));

    let receipt = kazakh_receipt(9);
    match printer.print(&receipt) {
        Err(PrinterError::NotReady(PrinterStatus::PaperOut)) => {}
        other => panic!("a citizen would get no receipt and no warning: {other:?}"),
    }
    let kept = printer
        .kept()
        .get(&receipt.registration_number)
        .expect("failed receipt is kept for reprint");
    assert!(!kept.printed);

    assert_eq!(control(printer_sim.control_addr, "paper-out off"), "ok");
    assert_eq!(control(printer_sim.control_addr, "cover-open on"), "ok");
    assert_eq!(printer.status(), PrinterStatus::CoverOpen);
    assert!(matches!(
        printer.reprint(&receipt.registration_number),
        Err(PrinterError::NotReady(PrinterStatus::CoverOpen))
    ));

    assert_eq!(control(printer_sim.control_addr, "cover-open off"), "ok");
    assert_eq!(control(printer_sim.control_addr, "near-end on"), "ok");
    assert_eq!(printer.status(), PrinterStatus::PaperNearEnd);
    let report = printer
        .reprint(&receipt.registration_number)
        .expect("reprint after the technician fixed it");
    assert_eq!(report.status_after, PrinterStatus::PaperNearEnd);
    assert!(
        printer
            .kept()
            .get(&receipt.registration_number)
            .expect("kept")
            .printed
    );

    let pages = printer_sim.state.wait_for_pages(1, Duration::from_secs(10));
    assert_eq!(
        pages.len(),
        1,
        "nothing printed while stopped, one page after"
    );
    let (_, text) = decode_qr(&pages[0]);
    assert_eq!(
        parse_receipt_qr(&text).expect("payload").secret_code,
        receipt.secret_code
    );
    assert!(control(printer_sim.control_addr, "status").contains("pages=1"));
    printer
        .reprint_last()
        .expect("service-mode reprint of the last receipt");
    printer
        .print_test(Language::En)
        .expect("service-mode test print");
    let pages = printer_sim.state.wait_for_pages(3, Duration::from_secs(10));
    assert_eq!(pages.len(), 3);
    let (_, text) = decode_qr(&pages[1]);
    assert_eq!(
        parse_receipt_qr(&text)
            .expect("payload")
            .registration_number,
        receipt.registration_number
    );
    let (_, text) = decode_qr(&pages[2]);
    assert!(text.starts_with("VA1:TEST-00-"), "{text}");
    assert_eq!(printer.kept().len(), 1, "test prints are not kept");
}

#[test]
fn dead_tcp_printer_fails_fast_with_a_typed_error() {
    // A port that was just ours and is now closed: connection refused on loopback.
    let addr = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let mut printer = ReceiptPrinter::from_config(&tcp_cfg(addr)).expect("config");
    let receipt = kazakh_receipt(11);
    let started = Instant::now();
    let err = printer.print(&receipt).expect_err("nothing listens there");
    let elapsed = started.elapsed();
    assert!(matches!(err, PrinterError::Connect { .. }), "{err:?}");
    assert_eq!(err.message_key(), "printer-unavailable");
    assert!(
        elapsed <= Duration::from_secs(2),
        "kiosk waited {elapsed:?} for a dead printer"
    );
    assert!(matches!(
        printer.status(),
        PrinterStatus::NotConnected { .. }
    ));
    assert!(
        printer.kept().get(&receipt.registration_number).is_some(),
        "receipt kept for reprint"
    );
}

#[test]
fn silent_printer_is_not_connected() {
    // Accepts the connection, never answers DLE EOT.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let status = printer_status(&tcp_cfg(addr)).expect("config");
    match status {
        PrinterStatus::NotConnected { reason } => assert!(reason.contains("status"), "{reason}"),
        other => panic!("a mute printer must not look ready: {other:?}"),
    }
}

#[test]
fn virtual_printer_refuses_garbage_and_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printer_sim = sim::spawn(dir.path(), 576).expect("virtual printer starts");
    let mut s = TcpStream::connect(printer_sim.addr).expect("connect");
    s.write_all(&[0x07, 0x1b, 0xfe, 0x1d, 0x99, 0x10, 0x04, 0x09, 0x01])
        .expect("send garbage");
    s.write_all(&commands::dle_eot(1)).expect("status query");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut b = [0u8; 1];
    s.read_exact(&mut b).expect("printer still answers");
    assert_eq!(b[0], 0x12, "online, after refusing garbage");
    assert!(
        printer_sim.state.errors() >= 4,
        "garbage was refused: {}",
        printer_sim.state.errors()
    );
    // A hostile client is cut off; the printer still serves the next one.
    let mut hostile = TcpStream::connect(printer_sim.addr).expect("connect");
    let _ = hostile.write_all(&vec![0x07u8; (sim::MAX_GARBAGE as usize) + 10]);
    hostile
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut rest = Vec::new();
    let _ = hostile.read_to_end(&mut rest);
    assert!(rest.is_empty());
    let mut printer = ReceiptPrinter::from_config(&tcp_cfg(printer_sim.addr)).expect("config");
    printer
        .print(&kazakh_receipt(12))
        .expect("prints after garbage");
    assert_eq!(
        printer_sim
            .state
            .wait_for_pages(1, Duration::from_secs(10))
            .len(),
        1
    );
}

#[test]
fn file_transport_writes_a_job_the_virtual_printer_renders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let job_path = dir.path().join("spool.bin");
    let cfg = PrinterSection {
        transport: "file".into(),
        address: job_path.display().to_string(),
        ..PrinterSection::default()
    };
    let receipt = kazakh_receipt(13);
    let report = ReceiptPrinter::from_config(&cfg)
        .expect("config")
        .print(&receipt)
        .expect("spools");
    let bytes = std::fs::read(&job_path).expect("spool file");
    assert_eq!(bytes.len(), report.bytes_sent);
    let state = sim::SimState::new(576);
    let out = dir.path().join("png");
    std::fs::create_dir_all(&out).expect("mkdir");
    let mut session = sim::Session::new(state.clone(), &out);
    assert!(session.receive(&bytes).is_empty());
    session.finish();
    let pages = state.pages();
    assert_eq!(pages.len(), 1);
    let (_, text) = decode_qr(&pages[0]);
    assert_eq!(
        parse_receipt_qr(&text)
            .expect("payload")
            .registration_number,
        receipt.registration_number
    );
}

#[test]
fn simulator_binary_answers_status_with_its_flags_and_control_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_booth-printer-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--control",
            "127.0.0.1:0",
            "--out",
        ])
        .arg(dir.path())
        .arg("--cover-open")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("booth-printer-sim starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let field = |line: &str, key: &str| {
        line.split(key)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
    };
    let (mut addr, mut control_addr) = (None, None);
    while addr.is_none() {
        let line = lines.next().expect("log line").expect("utf-8 log");
        control_addr = control_addr.or_else(|| field(&line, "control="));
        addr = field(&line, "listen=");
    }
    let addr = addr.expect("listen address");
    let control_addr: std::net::SocketAddr = control_addr
        .expect("control address logged")
        .parse()
        .expect("socket address");
    let before = printer_status(&tcp_cfg(&addr)).expect("config");
    let answer = control(control_addr, "cover-open off");
    let after = printer_status(&tcp_cfg(&addr)).expect("config");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(before, PrinterStatus::CoverOpen);
    assert_eq!(answer, "ok");
    assert_eq!(after, PrinterStatus::Ready);
}

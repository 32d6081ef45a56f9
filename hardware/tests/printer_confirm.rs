//! Status you can trust, against the virtual printer in "answers inside raster" mode (an Epson
//! TM answers `DLE EOT n` wherever those bytes arrive, even inside image data): near-end and a
//! cover opened at the cut are reported for the receipt they hit, and a receipt is never
//! counted printed unless the printer confirmed it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use booth_core::code::{RegistrationNumber, SecretCode};
use booth_core::config::PrinterSection;
use booth_core::domain::{AppealKind, Language};
use booth_hardware::printer::exchange::{Completion, Exchange};
use booth_hardware::printer::sim::{self, CutFault};
use booth_hardware::printer::{
    Confirmation, PrinterError, PrinterStatus, ReceiptData, ReceiptPrinter, Transport, commands,
    printer_status, render_receipt,
};

fn tcp_cfg(addr: impl ToString) -> PrinterSection {
    PrinterSection {
        transport: "tcp".into(),
        address: addr.to_string(),
        ..PrinterSection::default()
    }
}

fn receipt(seq: u32) -> ReceiptData {
    ReceiptData {
        branch_name: "Астана қ., Есіл ауданы ХҚКО".into(),
        booth_id: "AST01-BOOTH-02".into(),
        registration_number: RegistrationNumber::new("AST01", 2, 2026, seq).expect("valid"),
        recorded_at: chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .and_then(|d| d.and_hms_opt(10, 15, 0))
            .expect("valid time"),
        addressee: "Қазақстан Республикасы Денсаулық сақтау министрлігі".into(),
        kind: AppealKind::Complaint,
        secret_code: SecretCode::generate(),
        expected_answer_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 14),
        language: Language::Kk,
    }
}

/// A receipt whose rendered raster holds `DLE EOT n` patterns: without care, an Epson printer
/// answers each of them while the receipt is being sent. (Today the Russian 80 mm layout has
/// one in a fixed label; if the layout changes, another language or number will have one.)
fn receipt_with_status_bytes_in_its_raster() -> ReceiptData {
    for lang in [Language::Ru, Language::Kk, Language::En] {
        for seq in 1..60 {
            let mut r = receipt(seq);
            r.language = lang;
            let raster = render_receipt(&r, 576).expect("render");
            if commands::status_requests_in(raster.bits()) > 0 {
                return r;
            }
        }
    }
    panic!("no sample receipt holds DLE EOT in its raster: widen the search");
}

fn epson_like_printer(dir: &std::path::Path) -> sim::SimHandle {
    let printer_sim = sim::spawn(dir, 576).expect("virtual printer starts");
    printer_sim.state.set_realtime_in_data(true);
    printer_sim
}

#[test]
fn near_end_is_reported_after_a_receipt_whose_raster_holds_status_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printer_sim = epson_like_printer(dir.path());
    printer_sim.state.set_near_end(true);
    let mut printer = ReceiptPrinter::from_config(&tcp_cfg(printer_sim.addr)).expect("config");
    let r = receipt_with_status_bytes_in_its_raster();

    let report = printer.print(&r).expect("prints");
    assert_eq!(report.confirmation, Confirmation::ProcessId);
    assert_eq!(
        report.status_after,
        PrinterStatus::PaperNearEnd,
        "the technician must learn the roll is nearly finished"
    );
    assert_eq!(printer.status(), PrinterStatus::PaperNearEnd);
    assert_eq!(
        printer_sim
            .state
            .wait_for_pages(1, Duration::from_secs(10))
            .len(),
        1
    );
    assert_eq!(printer_sim.state.errors(), 0);
}

#[test]
fn status_bytes_provoked_by_image_data_are_drained_and_never_read_as_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printer_sim = epson_like_printer(dir.path());
    printer_sim.state.set_near_end(true);
    // A job built by someone else: raster data with DLE EOT 2 and DLE EOT 1 left in it.
    let mut job = vec![0x1b, b'@', 0x1d, b'v', b'0', 0, 4, 0, 2, 0];
    job.extend_from_slice(&[0x10, 0x04, 0x02, 0x00, 0x10, 0x04, 0x01, 0x00]);
    job.extend_from_slice(&[0x1b, b'd', 2, 0x1d, b'V', b'A', 0]);
    assert_eq!(commands::status_requests_in(&job), 2);
    let transport = Transport::Tcp(printer_sim.addr.to_string());

    // What a driver that reads one byte per query after such a job sees: the answer to the
    // DLE EOT 2 hidden in the image (0x12, "no problem") instead of the roll sensor's near-end.
    let mut naive = transport.connect().expect("connect");
    naive
        .send(&job, Duration::from_secs(5))
        .expect("send the job");
    std::thread::sleep(Duration::from_millis(200));
    naive
        .send(&commands::dle_eot(4), Duration::from_secs(1))
        .expect("ask DLE EOT 4");
    let mut b = [0u8; 1];
    assert_eq!(
        naive
            .read_some(&mut b, Duration::from_secs(2))
            .expect("read"),
        1
    );
    assert_eq!(
        b[0], 0x12,
        "the unmatched first byte is the image's answer, not near-end"
    );
    drop(naive);

    // The driver: waits for the job's own confirmation, then drains and reads all four bytes.
    let mut conn = transport.connect().expect("connect");
    let mut ex = Exchange::new(&mut conn);
    assert_eq!(ex.status().expect("status"), PrinterStatus::PaperNearEnd);
    assert_eq!(ex.probe(*b"P001").expect("probe"), Completion::ProcessId);
    assert_eq!(
        ex.print_confirmed(&job, Completion::ProcessId, *b"J001")
            .expect("confirmed"),
        Confirmation::ProcessId
    );
    assert_eq!(ex.status().expect("status"), PrinterStatus::PaperNearEnd);
}

#[test]
fn cover_opened_at_the_cut_is_reported_and_the_receipt_is_not_counted_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printer_sim = epson_like_printer(dir.path());
    let mut printer = ReceiptPrinter::from_config(&tcp_cfg(printer_sim.addr)).expect("config");
    let r = receipt_with_status_bytes_in_its_raster();

    printer_sim.state.arm_at_cut(CutFault::CoverOpen);
    let started = Instant::now();
    match printer.print(&r) {
        Err(PrinterError::NotReady(PrinterStatus::CoverOpen)) => {}
        other => {
            panic!("the citizen would leave without a receipt the booth counts printed: {other:?}")
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "noticed while waiting, not after the full timeout: {:?}",
        started.elapsed()
    );
    let kept = printer
        .kept()
        .get(&r.registration_number)
        .expect("kept for reprint");
    assert!(!kept.printed, "a receipt cut short is not printed");
    assert!(printer_sim.state.pages().is_empty(), "no page was cut");
    assert_eq!(printer.status(), PrinterStatus::CoverOpen);

    // The technician closes the cover; the kept receipt prints and only now counts printed.
    printer_sim.state.set_cover_open(false);
    let report = printer
        .reprint(&r.registration_number)
        .expect("reprint after the cover is closed");
    assert_eq!(report.confirmation, Confirmation::ProcessId);
    assert!(
        printer
            .kept()
            .get(&r.registration_number)
            .expect("kept")
            .printed
    );
    assert_eq!(
        printer_sim
            .state
            .wait_for_pages(1, Duration::from_secs(10))
            .len(),
        1
    );
}

#[test]
fn a_receipt_is_never_counted_printed_when_the_printer_was_not_ready() {
    type Switch = fn(&sim::SimState);
    let before: [(&str, Switch, PrinterStatus); 4] = [
        (
            "paper out",
            |s| s.set_paper_out(true),
            PrinterStatus::PaperOut,
        ),
        (
            "cover open",
            |s| s.set_cover_open(true),
            PrinterStatus::CoverOpen,
        ),
        (
            "paper out and cover open",
            |s| {
                s.set_paper_out(true);
                s.set_cover_open(true)
            },
            PrinterStatus::CoverOpen,
        ),
        (
            "cutter jam",
            |s| s.set_jam(true),
            PrinterStatus::Offline {
                detail: String::new(),
            },
        ),
    ];
    let at_cut = [
        (CutFault::CoverOpen, PrinterStatus::CoverOpen),
        (CutFault::PaperOut, PrinterStatus::PaperOut),
        (
            CutFault::Jam,
            PrinterStatus::Offline {
                detail: String::new(),
            },
        ),
    ];
    let same_state = |a: &PrinterStatus, b: &PrinterStatus| {
        std::mem::discriminant(a) == std::mem::discriminant(b)
    };
    for process_id in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let printer_sim = epson_like_printer(dir.path());
        printer_sim.state.set_process_id(process_id);
        let mut printer = ReceiptPrinter::from_config(&tcp_cfg(printer_sim.addr)).expect("config");
        let mut seq = 100;
        let mut check = |what: &str, want: &PrinterStatus, printer: &mut ReceiptPrinter| {
            seq += 1;
            let r = receipt(seq);
            match printer.print(&r) {
                Err(PrinterError::NotReady(got)) if same_state(&got, want) => {
                    if let PrinterStatus::Offline { detail } = &got {
                        assert!(detail.contains("cutter is jammed"), "{detail}");
                    }
                }
                other => panic!("{what} (process ID {process_id}): counted printed? {other:?}"),
            }
            assert!(
                !printer
                    .kept()
                    .get(&r.registration_number)
                    .expect("kept")
                    .printed,
                "{what}"
            );
        };
        for (what, set, want) in &before {
            set(&printer_sim.state);
            check(what, want, &mut printer);
            for s in [
                sim::SimState::set_paper_out,
                sim::SimState::set_cover_open,
                sim::SimState::set_jam,
            ] {
                s(&printer_sim.state, false);
            }
        }
        for (fault, want) in &at_cut {
            printer_sim.state.arm_at_cut(*fault);
            check(fault.as_str(), want, &mut printer);
            for s in [
                sim::SimState::set_paper_out,
                sim::SimState::set_cover_open,
                sim::SimState::set_jam,
            ] {
                s(&printer_sim.state, false);
            }
        }
        assert!(
            printer_sim.state.pages().is_empty(),
            "nothing was cut in any of these cases"
        );
        // And when all is well, the same printer confirms with the method it offers.
        let report = printer.print(&receipt(999)).expect("prints when ready");
        assert_eq!(
            report.confirmation,
            if process_id {
                Confirmation::ProcessId
            } else {
                Confirmation::PaperSensor
            }
        );
    }
}

/// A printer that answers status (all well) and `GS r 1` when idle, but never confirms a job.
fn printer_that_never_confirms() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut printing = false;
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let data = &buf[..n];
                    printing |= data.contains(&0x1b);
                    let mut answer = Vec::new();
                    for w in data.windows(3) {
                        if w[0] == 0x10 && w[1] == 0x04 {
                            answer.push(0x12);
                        }
                        if w == [0x1d, b'r', 1] && !printing {
                            answer.push(0x00);
                        }
                    }
                    if s.write_all(&answer).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_printer_that_stays_silent_after_the_job_leaves_the_receipt_unconfirmed() {
    let addr = printer_that_never_confirms();
    let mut conn = Transport::Tcp(addr.to_string()).connect().expect("connect");
    let mut ex = Exchange::new(&mut conn);
    assert_eq!(ex.status().expect("status"), PrinterStatus::Ready);
    assert_eq!(ex.probe(*b"P002").expect("probe"), Completion::PaperSensor);
    let started = Instant::now();
    let err = ex
        .print_confirmed(
            &[0x1b, b'@', b'h', b'i', 0x0a, 0x1d, b'V', 0],
            Completion::PaperSensor,
            *b"J002",
        )
        .expect_err("no confirmation");
    assert!(matches!(err, PrinterError::Unconfirmed { .. }), "{err:?}");
    assert!(started.elapsed() >= Duration::from_secs(5));
    let text = err.to_string();
    assert!(
        text.contains("did not confirm") && text.contains("kept for reprint"),
        "{text}"
    );
    assert!(matches!(err.as_status(), PrinterStatus::Offline { .. }));
}

#[test]
fn a_printer_that_never_answers_is_described_in_plain_words() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    match printer_status(&tcp_cfg(addr)).expect("config") {
        PrinterStatus::NotConnected { reason } => {
            assert!(
                reason.contains(&format!("tcp {addr}"))
                    && reason.contains("does not answer")
                    && reason.contains("check its cable and power"),
                "{reason}"
            );
            assert!(!reason.contains("os error"), "{reason}");
        }
        other => panic!("a mute printer must not look ready: {other:?}"),
    }
    let refused = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let reason = printer_status(&tcp_cfg(refused))
        .expect("config")
        .technician_detail();
    assert!(
        reason.contains("nothing accepts connections there") && reason.contains("check its power"),
        "{reason}"
    );
}

#[test]
fn booth_diag_print_test_fails_when_the_cover_is_opened_at_the_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printer_sim = epson_like_printer(dir.path());
    let config = dir.path().join("booth.toml");
    std::fs::write(
        &config,
        format!(
            "[printer]\ntransport = \"tcp\"\naddress = \"{}\"\n",
            printer_sim.addr
        ),
    )
    .expect("config");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_booth-diag"))
            .arg("--config")
            .arg(&config)
            .arg("print-test")
            .env("RUST_LOG", "off")
            .output()
            .expect("booth-diag runs")
    };
    printer_sim.state.arm_at_cut(CutFault::CoverOpen);
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("NOT printed") && stderr.contains("the cover is open"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("CoverOpen"),
        "no Rust debug names: {stderr}"
    );

    printer_sim.state.set_cover_open(false);
    printer_sim.state.set_near_end(true);
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("printed and cut (confirmed by the printer)")
            && stdout.contains("paper roll is nearly finished"),
        "{stdout}"
    );
}

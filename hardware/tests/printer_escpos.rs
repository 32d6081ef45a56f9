//! The virtual printer prints what a TM-T20 prints for jobs the way third-party producers
//! (python-escpos and the `escpos` crate) build them: text with code pages, emphasis, sizes,
//! alignment and underline, a native QR code (`GS ( k`), CODE128 (`GS k 73`), an `ESC *` column
//! image, partial and full cuts. The PNGs are checked: the QR decodes with rqrr, the CODE128
//! decodes with a decoder here, text lines are where and as large as they should be, and the
//! cut kind is in the file name. Bytes it cannot parse are reported, never a silent blank page.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use booth_hardware::printer::Transport;
use booth_hardware::printer::sim::{self, CutKind};
use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{
    JustifyMode, PageCode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption,
    UnderlineMode,
};
use image::GrayImage;

/// An `escpos` driver that only collects the bytes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Driver for Capture {
    fn name(&self) -> String {
        "capture".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.lock().expect("capture").extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

const QR_TEXT: &str = "VA1:ALM01-03-2026-000127:123456789018";
const BARCODE_TEXT: &str = "ALM01-03-2026-000127";

/// Page 1 (partial cut): text in PC437, a QR code, a CODE128 and a 48×24 black `ESC *` block.
/// Page 2 (full cut): Russian text in PC866, and a Kazakh word the encoder cannot map.
fn job() -> Vec<u8> {
    let capture = Capture::default();
    let options = PrinterOptions::new(Some(PageCode::PC437), None, 48);
    let mut p = Printer::new(capture.clone(), Protocol::default(), Some(options));
    p.init()
        .unwrap()
        .justify(JustifyMode::CENTER)
        .unwrap()
        .bold(true)
        .unwrap()
        .size(2, 2)
        .unwrap()
        .writeln("BOOTH TEST")
        .unwrap()
        .reset_size()
        .unwrap()
        .bold(false)
        .unwrap()
        .justify(JustifyMode::LEFT)
        .unwrap()
        .writeln("Plain line 0123")
        .unwrap()
        .bold(true)
        .unwrap()
        .writeln("HEAVY HEAVY")
        .unwrap()
        .bold(false)
        .unwrap()
        .writeln("HEAVY HEAVY")
        .unwrap()
        .underline(UnderlineMode::Single)
        .unwrap()
        .writeln("Underlined")
        .unwrap()
        .underline(UnderlineMode::None)
        .unwrap()
        .justify(JustifyMode::CENTER)
        .unwrap()
        .qrcode_option(
            QR_TEXT,
            QRCodeOption::new(QRCodeModel::Model2, 6, QRCodeCorrectionLevel::M),
        )
        .unwrap()
        .feeds(2)
        .unwrap();
    // CODE128 the way python-escpos sends it: GS h, GS w, GS H, then GS k 73 n "{B" data.
    let mut code128 = vec![0x1d, b'h', 80, 0x1d, b'w', 2, 0x1d, b'H', 2, 0x1d, b'k', 73];
    code128.push((BARCODE_TEXT.len() + 2) as u8);
    code128.extend_from_slice(b"{B");
    code128.extend_from_slice(BARCODE_TEXT.as_bytes());
    // ESC * 33 (24-dot double density): 48 columns of 3 black bytes, then LF.
    let mut column_image = vec![0x1b, b'a', 0, 0x1b, b'3', 24, 0x1b, b'*', 33, 48, 0];
    column_image.extend(std::iter::repeat_n(0xffu8, 48 * 3));
    column_image.push(0x0a);
    p.custom(&code128)
        .unwrap()
        .feeds(2)
        .unwrap()
        .custom(&column_image)
        .unwrap()
        .feeds(3)
        .unwrap()
        // python-escpos' partial cut, GS V 1. (The escpos crate's `partial_cut()` sends GS V A 1,
        // which Epson defines as a *full* cut after a 1-dot feed; the virtual printer agrees.)
        .custom(&[0x1d, b'V', 1])
        .unwrap()
        .print()
        .unwrap();
    let mut p = Printer::new(capture.clone(), Protocol::default(), None);
    p.init()
        .unwrap()
        .page_code(PageCode::PC866)
        .unwrap()
        .writeln("Привет, КАБИНА")
        .unwrap()
        .writeln("Қазақ")
        .unwrap()
        .feeds(3)
        .unwrap()
        .print_cut()
        .unwrap();
    capture.0.lock().expect("capture").clone()
}

/// Bands of rows that hold ink, top to bottom: (first row, rows, leftmost x, rightmost x, dots).
fn ink_bands(img: &GrayImage) -> Vec<(u32, u32, u32, u32, u32)> {
    let mut bands = Vec::new();
    let mut current: Option<(u32, u32, u32, u32, u32)> = None;
    for y in 0..img.height() {
        let xs: Vec<u32> = (0..img.width())
            .filter(|x| img.get_pixel(*x, y).0[0] < 128)
            .collect();
        match (xs.is_empty(), current.as_mut()) {
            (false, Some(b)) => {
                b.1 += 1;
                b.2 = b.2.min(xs[0]);
                b.3 = b.3.max(*xs.last().unwrap());
                b.4 += xs.len() as u32;
            }
            (false, None) => current = Some((y, 1, xs[0], *xs.last().unwrap(), xs.len() as u32)),
            (true, Some(_)) => bands.extend(current.take()),
            (true, None) => {}
        }
    }
    bands.extend(current);
    bands
}

/// Module patterns of every CODE128 symbol value, taken from barcoders' encoder.
fn code128_table() -> HashMap<Vec<u8>, u8> {
    use barcoders::sym::code128::Code128;
    let enc = |s: &str| Code128::new(s).expect("encodes").encode();
    let mut t = HashMap::new();
    for v in 0..100u8 {
        t.insert(enc(&format!("Ć{v:02}"))[11..22].to_vec(), v);
    }
    t.insert(enc("Ć00ƁA")[22..33].to_vec(), 100);
    t.insert(enc("Ć00ÀA")[22..33].to_vec(), 101);
    t.insert(enc("ÀA")[..11].to_vec(), 103);
    t.insert(enc("ƁA")[..11].to_vec(), 104);
    t.insert(enc("Ć00")[..11].to_vec(), 105);
    t
}

/// Decodes the CODE128 crossing row `y` of `img` (narrow module `module` dots); verifies the
/// check symbol.
fn decode_code128(img: &GrayImage, y: u32, module: u32) -> Option<String> {
    let black = |x: u32| img.get_pixel(x, y).0[0] < 128;
    let first = (0..img.width()).find(|x| black(*x))?;
    let last = (0..img.width()).rev().find(|x| black(*x))?;
    let modules: Vec<u8> = (first..=last)
        .step_by(module as usize)
        .map(|x| u8::from(black(x)))
        .collect();
    let table = code128_table();
    let mut values = Vec::new();
    let mut i = 0;
    while i + 11 <= modules.len() {
        let sym = &modules[i..i + 11];
        if sym == [1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0] {
            break; // stop
        }
        values.push(*table.get(sym)?);
        i += 11;
    }
    let (&start, rest) = values.split_first()?;
    let (&check, data) = rest.split_last()?;
    let sum = data
        .iter()
        .enumerate()
        .fold(u32::from(start), |acc, (k, v)| {
            acc + (k as u32 + 1) * u32::from(*v)
        });
    if sum % 103 != u32::from(check) {
        return None;
    }
    let mut set = start;
    let mut out = String::new();
    for &v in data {
        match (set, v) {
            (_, 99) => set = 105,
            (_, 100) => set = 104,
            (_, 101) => set = 103,
            (105, v) => out.push_str(&format!("{v:02}")),
            (104, v) => out.push(char::from(v + 32)),
            (_, v) if v < 64 => out.push(char::from(v + 32)),
            (_, v) => out.push(char::from(v - 64)),
        }
    }
    Some(out)
}

#[test]
fn a_third_party_job_prints_text_qr_code128_image_and_both_cuts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printer_sim = sim::spawn(dir.path(), 576).expect("virtual printer starts");
    let mut conn = Transport::Tcp(printer_sim.addr.to_string())
        .connect()
        .expect("connect");
    conn.send(&job(), Duration::from_secs(5)).expect("send");
    printer_sim.state.wait_for_pages(2, Duration::from_secs(10));
    let pages = printer_sim.state.page_reports();
    assert_eq!(pages.len(), 2, "two cuts, two pages: {pages:?}");

    // Page 1: partial cut, nothing refused, the text lines as sent.
    let p1 = &pages[0];
    assert_eq!(p1.cut, CutKind::Partial);
    assert!(
        p1.path.to_string_lossy().ends_with("-partial.png"),
        "{p1:?}"
    );
    assert_eq!(p1.notes.errors, 0, "{p1:?}");
    assert!(p1.notes.not_drawn.is_empty(), "{p1:?}");
    for line in [
        "BOOTH TEST",
        "Plain line 0123",
        "HEAVY HEAVY",
        "Underlined",
        BARCODE_TEXT,
    ] {
        assert!(
            p1.notes.text.iter().any(|t| t == line),
            "{line:?} missing from {:?}",
            p1.notes.text
        );
    }
    let txt = std::fs::read_to_string(p1.path.with_extension("txt")).expect("text journal");
    assert!(txt.contains("Plain line 0123"));

    let img = image::open(&p1.path).expect("png").to_luma8();
    assert_eq!(img.width(), 576);
    let bands = ink_bands(&img);
    // Title: double height and width, centred; plain line: left-aligned at font A size.
    let (title, plain, heavy, normal, underlined) =
        (bands[0], bands[1], bands[2], bands[3], bands[4]);
    assert!(
        title.1 >= normal.1 * 17 / 10,
        "double-height capitals {} rows vs {} rows",
        title.1,
        normal.1
    );
    let title_centre = (title.2 + title.3) / 2;
    assert!(title_centre.abs_diff(288) < 16, "title centred: {title:?}");
    assert!(
        plain.2 < 8,
        "plain line starts at the left margin: {plain:?}"
    );
    assert!(
        plain.1 <= 26 && plain.1 >= 14,
        "font A is 24 dots high: {plain:?}"
    );
    assert!(
        heavy.4 * 100 > normal.4 * 115,
        "emphasis prints more ink: {} vs {}",
        heavy.4,
        normal.4
    );
    // The underline: a separate row of ink under the word, as wide as the word (10 cells).
    let rule = bands[5];
    assert_eq!(
        (rule.1, rule.2),
        (1, 0),
        "one dot thick from the margin: {rule:?}"
    );
    assert!(
        rule.3 + 1 >= 10 * 12 - 2 && rule.4 >= 110,
        "{rule:?} under {underlined:?}"
    );
    assert!(rule.0 > underlined.0, "below the word");

    // The QR code decodes.
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32).0[0],
    );
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    assert_eq!(grids[0].decode().expect("QR decodes").1, QR_TEXT);

    // The CODE128 decodes: the band with the most black/white transitions in a row.
    let transitions = |y: u32| {
        (1..img.width())
            .filter(|x| (img.get_pixel(*x, y).0[0] < 128) != (img.get_pixel(x - 1, y).0[0] < 128))
            .count()
    };
    let bar_row = (0..img.height()).max_by_key(|y| transitions(*y)).unwrap();
    assert_eq!(
        decode_code128(&img, bar_row, 2).as_deref(),
        Some(BARCODE_TEXT),
        "CODE128 at row {bar_row}"
    );

    // The ESC * block: 48 columns × 24 dots, solid, at the left margin.
    let block = bands.last().copied().unwrap();
    assert_eq!((block.1, block.2, block.3), (24, 0, 47), "{block:?}");
    assert_eq!(block.4, 48 * 24);

    // Page 2: full cut; PC866 text as sent; the Kazakh letter the encoder could not map went
    // out as its UTF-8 bytes and prints as two PC866 characters, as on a real printer.
    let p2 = &pages[1];
    assert_eq!(p2.cut, CutKind::Full);
    assert!(p2.path.to_string_lossy().ends_with("-full.png"), "{p2:?}");
    assert_eq!(p2.notes.text[0], "Привет, КАБИНА");
    assert_eq!(
        p2.notes.text[1], "╥Ъаза╥Ы",
        "Қ and қ are not in PC866: their UTF-8 bytes print as box-drawing and Cyrillic letters"
    );
    let img2 = image::open(&p2.path).expect("png").to_luma8();
    assert_eq!(ink_bands(&img2).len(), 2, "two lines of text");
    assert_eq!(printer_sim.state.errors(), 0);
}

#[test]
fn bytes_the_printer_cannot_parse_are_reported_never_a_silent_blank_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = sim::SimState::new(576);
    let mut session = sim::Session::new(state.clone(), dir.path());
    // Garbage only, then a cut: a page is still written, and it says why it is empty.
    session.receive(&[0x07, 0x1b, 0x05, 0x1d, 0x01, 0x1d, b'V', 0]);
    // Text with garbage inside, a PDF417 (not drawn), a model 1 QR, then a full cut.
    let mut job = b"Line one\n".to_vec();
    job.extend_from_slice(&[0x11, 0x12]);
    job.extend_from_slice(&[0x1d, b'(', b'k', 4, 0, 48, 80, 48, b'X']);
    job.extend_from_slice(&[0x1d, b'(', b'k', 4, 0, 49, 65, 49, 0]);
    job.extend_from_slice(&[0x1d, b'(', b'k', 4, 0, 49, 80, 48, b'Q']);
    job.extend_from_slice(&[0x1d, b'(', b'k', 3, 0, 49, 81, 48]);
    job.extend_from_slice(b"Line two\n");
    job.extend_from_slice(&[0x1d, b'V', 0]);
    session.receive(&job);
    session.finish();
    let pages = state.page_reports();
    assert_eq!(pages.len(), 2);
    let (empty, text) = (&pages[0], &pages[1]);
    assert!(
        empty.path.to_string_lossy().ends_with("-full-errors.png"),
        "{empty:?}"
    );
    assert_eq!(empty.notes.errors, 5);
    let journal = std::fs::read_to_string(empty.path.with_extension("txt")).expect("txt");
    assert!(journal.contains("5 refused byte sequence(s)"), "{journal}");

    assert!(
        text.path.to_string_lossy().ends_with("-full-errors.png"),
        "{text:?}"
    );
    assert_eq!(text.notes.errors, 2);
    assert_eq!(
        text.notes.text,
        vec!["Line one", "[QR code, 1 bytes]", "Line two"]
    );
    assert!(
        text.notes.not_drawn.iter().any(|w| w.contains("PDF417"))
            && text.notes.not_drawn.iter().any(|w| w.contains("model 1")),
        "{:?}",
        text.notes.not_drawn
    );
    assert!(state.errors() >= 9, "counted: {}", state.errors());
}

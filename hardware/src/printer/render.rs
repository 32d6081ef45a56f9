//! Lays a receipt out once and rasterises it to a 1-bit image as wide as the paper, with the
//! DejaVu fonts shipped in `assets/fonts/`, so every Kazakh letter prints whatever code pages
//! the printer has.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use booth_core::domain::Language;

use super::receipt::{ReceiptContacts, ReceiptData, kind_label, labels, qr_payload};

pub(crate) static REGULAR_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
pub(crate) static BOLD_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// A receipt cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The paper width is not one the layout supports.
    #[error("paper width {0} dots is not supported: use 576 (80 mm) or 384 (58 mm)")]
    Width(u32),
    /// A shipped font does not parse (a corrupted build).
    #[error("embedded font {0} is unreadable")]
    Font(&'static str),
    /// The QR payload does not fit a QR code.
    #[error("QR code cannot be built: {0}")]
    Qr(String),
    /// The registration number cannot be encoded as Code128.
    #[error("Code128 barcode cannot be built: {0}")]
    Barcode(String),
}

/// A 1-bit image: rows of `width / 8` bytes, most significant bit leftmost, 1 = black (the
/// layout of ESC/POS `GS v 0`). Width is always a multiple of 8.
#[derive(Clone, PartialEq, Eq)]
pub struct Raster {
    width: u32,
    height: u32,
    bits: Vec<u8>,
}

impl std::fmt::Debug for Raster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Raster({}x{})", self.width, self.height)
    }
}

impl Raster {
    /// Packs a row-major 0/1 pixel buffer (`width * height` bytes, nonzero = black).
    /// `width` must be a multiple of 8 and `pixels.len()` a multiple of `width`.
    pub fn from_pixels(width: u32, pixels: &[u8]) -> Raster {
        let w = width as usize;
        let height = pixels.len().checked_div(w).unwrap_or(0);
        let stride = w / 8;
        let mut bits = vec![0u8; stride * height];
        for (i, px) in pixels.iter().take(w * height).enumerate() {
            if *px != 0 {
                let (y, x) = (i / w, i % w);
                bits[y * stride + x / 8] |= 0x80 >> (x % 8);
            }
        }
        Raster {
            width,
            height: height as u32,
            bits,
        }
    }
    /// Wraps packed rows (`width / 8` bytes each, see the type's doc); `None` when `width` is
    /// not a multiple of 8 or `bits` is not a whole number of rows.
    pub fn from_packed(width: u32, bits: Vec<u8>) -> Option<Raster> {
        let stride = width as usize / 8;
        if !width.is_multiple_of(8) || stride == 0 || !bits.len().is_multiple_of(stride) {
            return None;
        }
        let height = u32::try_from(bits.len() / stride).ok()?;
        Some(Raster {
            width,
            height,
            bits,
        })
    }
    /// Width in dots.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height in dots.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.width as usize / 8
    }
    /// Packed rows.
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }
    /// Whether the dot at (x, y) is black; false outside the image.
    pub fn is_black(&self, x: u32, y: u32) -> bool {
        if x >= self.width || y >= self.height {
            return false;
        }
        let b = self.bits[y as usize * self.stride() + x as usize / 8];
        b & (0x80 >> (x % 8)) != 0
    }
    /// An 8-bit greyscale PNG of the raster (black on white), for docs and the virtual printer.
    pub fn to_png(&self) -> Result<Vec<u8>, image::ImageError> {
        let img = image::GrayImage::from_fn(self.width, self.height, |x, y| {
            image::Luma([if self.is_black(x, y) { 0 } else { 255 }])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)?;
        Ok(out.into_inner())
    }
}

struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

fn fonts() -> Result<Fonts, RenderError> {
    Ok(Fonts {
        regular: FontRef::try_from_slice(REGULAR_TTF)
            .map_err(|_| RenderError::Font("DejaVuSans.ttf"))?,
        bold: FontRef::try_from_slice(BOLD_TTF)
            .map_err(|_| RenderError::Font("DejaVuSans-Bold.ttf"))?,
    })
}

/// Characters of `text` the shipped regular font has no glyph for (they would print as boxes).
pub fn missing_glyphs(text: &str) -> Vec<char> {
    let Ok(f) = fonts() else {
        return text.chars().collect();
    };
    text.chars()
        .filter(|c| !c.is_whitespace() && f.regular.glyph_id(*c).0 == 0)
        .collect()
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Center,
}

/// A white canvas of fixed width that grows downwards as the layout adds content.
struct Canvas {
    width: usize,
    pixels: Vec<u8>,
    y: usize,
    margin: usize,
}

impl Canvas {
    fn new(width: usize, margin: usize) -> Canvas {
        Canvas {
            width,
            pixels: Vec::new(),
            y: margin,
            margin,
        }
    }
    fn ensure(&mut self, rows: usize) {
        if self.pixels.len() < rows * self.width {
            self.pixels.resize(rows * self.width, 0);
        }
    }
    fn set(&mut self, x: usize, y: usize) {
        if x < self.width {
            self.ensure(y + 1);
            self.pixels[y * self.width + x] = 1;
        }
    }
    fn fill(&mut self, x0: usize, y0: usize, w: usize, h: usize) {
        self.ensure(y0 + h);
        for y in y0..y0 + h {
            for x in x0..(x0 + w).min(self.width) {
                self.pixels[y * self.width + x] = 1;
            }
        }
    }
    fn inner_width(&self) -> usize {
        self.width - 2 * self.margin
    }
    fn space(&mut self, dots: usize) {
        self.y += dots;
    }
    fn rule(&mut self) {
        self.space(8);
        let (m, w, y) = (self.margin, self.inner_width(), self.y);
        self.fill(m, y, w, 2);
        self.space(12);
    }

    fn text_width(font: &FontRef<'_>, px: f32, text: &str) -> f32 {
        let sf = font.as_scaled(PxScale::from(px));
        let mut w = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = sf.glyph_id(c);
            if let Some(p) = prev {
                w += sf.kern(p, id);
            }
            w += sf.h_advance(id);
            prev = Some(id);
        }
        w
    }

    /// Greedy word wrap to the inner width; a word longer than a line is split by characters.
    fn wrap(font: &FontRef<'_>, px: f32, text: &str, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if Self::text_width(font, px, &candidate) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if Self::text_width(font, px, &piece) > max && piece.chars().count() > 1 {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Draws `text` on one line, shrinking the type (to 60 % at most) when it is wider than the
    /// line: for things that must never be split (a registration number, a phone number, a web
    /// address). Wraps only if even 60 % does not fit.
    fn text_unbroken(&mut self, font: &FontRef<'_>, px: f32, text: &str, align: Align) {
        let max = self.inner_width() as f32;
        let w = Self::text_width(font, px, text);
        let px = if w > max {
            (px * max / w).floor().max(px * 0.6)
        } else {
            px
        };
        self.text(font, px, text, align);
    }

    /// Draws wrapped text in the given font and size; advances the cursor below it.
    fn text(&mut self, font: &FontRef<'_>, px: f32, text: &str, align: Align) {
        let max = self.inner_width() as f32;
        let sf = font.as_scaled(PxScale::from(px));
        let line_height = (sf.ascent() - sf.descent() + sf.line_gap()).ceil() as usize;
        for line in Self::wrap(font, px, text, max) {
            let w = Self::text_width(font, px, &line);
            let x0 = match align {
                Align::Left => self.margin as f32,
                Align::Center => self.margin as f32 + ((max - w) / 2.0).max(0.0),
            };
            let baseline = self.y as f32 + sf.ascent();
            let mut x = x0;
            let mut prev = None;
            for c in line.chars() {
                let id = sf.glyph_id(c);
                if let Some(p) = prev {
                    x += sf.kern(p, id);
                }
                let glyph = id.with_scale_and_position(PxScale::from(px), point(x, baseline));
                x += sf.h_advance(id);
                prev = Some(id);
                if let Some(outlined) = font.outline_glyph(glyph) {
                    let b = outlined.px_bounds();
                    let mut dots = Vec::new();
                    // Thermal dots are on or off: half coverage is the fairest threshold.
                    outlined.draw(|gx, gy, cov| {
                        if cov >= 0.5 {
                            let px_x = b.min.x as i64 + i64::from(gx);
                            let px_y = b.min.y as i64 + i64::from(gy);
                            if px_x >= 0 && px_y >= 0 {
                                dots.push((px_x as usize, px_y as usize));
                            }
                        }
                    });
                    for (dx, dy) in dots {
                        self.set(dx, dy);
                    }
                }
            }
            self.y += line_height;
        }
    }

    /// Draws a square matrix of modules (true = black) centred, `scale` dots per module.
    fn matrix(&mut self, modules: &[bool], side: usize, scale: usize) {
        let size = side * scale;
        let x0 = self.margin + (self.inner_width().saturating_sub(size)) / 2;
        let y0 = self.y;
        for my in 0..side {
            for mx in 0..side {
                if modules[my * side + mx] {
                    self.fill(x0 + mx * scale, y0 + my * scale, scale, scale);
                }
            }
        }
        self.y += size;
    }

    /// Draws a 1-D barcode (one entry per module, 1 = bar) centred on the paper (not the
    /// text column: its quiet zones may use the margins).
    fn barcode(&mut self, bars: &[u8], module: usize, height: usize) {
        let size = bars.len() * module;
        let x0 = self.width.saturating_sub(size) / 2;
        let y0 = self.y;
        for (i, b) in bars.iter().enumerate() {
            if *b != 0 {
                self.fill(x0 + i * module, y0, module, height);
            }
        }
        self.y += height;
    }

    fn finish(mut self) -> Raster {
        let rows = self.y + self.margin;
        self.ensure(rows);
        self.pixels.truncate(rows * self.width);
        Raster::from_pixels(self.width as u32, &self.pixels)
    }
}

/// Longest addressee printed; longer names are cut with "…" so a directory entry can never
/// run the roll out.
pub const MAX_ADDRESSEE_CHARS: usize = 200;

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// Dots per typographic point at the printers' 203 dpi.
pub const DOTS_PER_PT: f32 = 203.0 / 72.0;

/// Size of the body text (labels, the ways to get the answer, what to do if the receipt is
/// lost), in points of em size: at least 9 pt on any paper, for elderly readers. On 58 mm paper
/// lines wrap; they never shrink.
pub const BODY_PT: f32 = 9.0;

/// The pixel scale (ab_glyph's `PxScale` is ascent to descent, not the em) that sets type of
/// `points` em size at 203 dpi.
fn pt(points: f32) -> f32 {
    // DejaVu Sans: ascent − descent = 1.164 em (the same in the bold cut).
    const HEIGHT_PER_EM: f32 = (1901.0 + 483.0) / 2048.0;
    points * DOTS_PER_PT * HEIGHT_PER_EM
}

/// Renders `receipt` for paper `width_dots` wide (576 or 384) without contact details; see
/// [`render_receipt_with`].
pub fn render_receipt(receipt: &ReceiptData, width_dots: u32) -> Result<Raster, RenderError> {
    render_receipt_with(receipt, &ReceiptContacts::default(), width_dots)
}

/// Renders `receipt` for paper `width_dots` wide (576 or 384) with the booth's `contacts`
/// (each printed only when known). Body text is [`BODY_PT`] (≥ 9 pt) on both widths; headings
/// and values scale down to 85 % at most on 58 mm paper, where lines wrap instead. The QR
/// code always has at least 4 dots per module and a 4-module quiet zone, so phone and kiosk
/// cameras read it from the printed paper.
///
/// Top to bottom: title; branch name, address, booth; registration number, time of recording,
/// addressee, kind; the secret code; the expected answer date (or "the date will come with the
/// answer"); the QR code (number and code, see [`super::receipt::qr_payload`] for why); the
/// CODE128 of the number alone; how the answer arrives (post, e-mail, any booth: 003 p.33;
/// phone and web when known); what to do if the receipt is lost; keep it private.
pub fn render_receipt_with(
    receipt: &ReceiptData,
    contacts: &ReceiptContacts,
    width_dots: u32,
) -> Result<Raster, RenderError> {
    if !matches!(width_dots, 384 | 576) {
        return Err(RenderError::Width(width_dots));
    }
    let f = fonts()?;
    let k = width_dots as f32 / 576.0;
    // Headings and values never shrink below 85 %; body text never shrinks at all. Only the
    // secret code (one unbreakable line) scales with the paper.
    let kt = k.max(0.85);
    let body = pt(BODY_PT);
    let margin = (16.0 * k) as usize;
    let mut c = Canvas::new(width_dots as usize, margin);
    let l = labels(receipt.language);
    let known = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };

    c.text(&f.bold, pt(12.0) * kt, l.title, Align::Center);
    c.space(4);
    c.text(
        &f.regular,
        body,
        &format!("{}: {}", l.branch, receipt.branch_name),
        Align::Center,
    );
    if let Some(address) = known(&contacts.branch_address) {
        c.text(
            &f.regular,
            body,
            &format!(
                "{}: {}",
                l.branch_address,
                clip(&address, MAX_CONTACT_CHARS)
            ),
            Align::Center,
        );
    }
    c.text(
        &f.regular,
        body,
        &format!("{}: {}", l.booth, receipt.booth_id),
        Align::Center,
    );
    c.rule();

    let field = |c: &mut Canvas, label: &str, value: &str, big: bool| {
        c.text(&f.regular, body, label, Align::Left);
        if big {
            c.text_unbroken(&f.bold, pt(12.0) * kt, value, Align::Left);
        } else {
            c.text(&f.bold, pt(10.5) * kt, value, Align::Left);
        }
        c.space(6);
    };
    field(
        &mut c,
        l.registration_number,
        &receipt.registration_number.to_string(),
        true,
    );
    field(
        &mut c,
        l.recorded_at,
        &receipt.recorded_at.format("%d.%m.%Y %H:%M").to_string(),
        false,
    );
    field(
        &mut c,
        l.addressee,
        &clip(&receipt.addressee, MAX_ADDRESSEE_CHARS),
        false,
    );
    field(
        &mut c,
        l.kind,
        kind_label(receipt.kind, receipt.language),
        false,
    );
    c.rule();

    c.text(&f.regular, body, l.secret_code, Align::Center);
    c.space(4);
    c.text(
        &f.bold,
        60.0 * k,
        &receipt.secret_code.grouped(),
        Align::Center,
    );
    c.space(8);
    c.text(&f.regular, body, l.expected_answer_date, Align::Center);
    match receipt.expected_answer_date {
        Some(d) => c.text(
            &f.bold,
            pt(12.0) * kt,
            &d.format("%d.%m.%Y").to_string(),
            Align::Center,
        ),
        None => c.text(&f.bold, pt(10.0) * kt, l.answer_date_later, Align::Center),
    }
    c.space(16);

    let payload = qr_payload(&receipt.registration_number, &receipt.secret_code);
    let qr = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| RenderError::Qr(e.to_string()))?;
    let side = qr.width();
    let modules: Vec<bool> = qr
        .to_colors()
        .into_iter()
        .map(|m| m == qrcode::Color::Dark)
        .collect();
    // Quiet zone of 4 modules each side is part of the available width.
    let scale = (c.inner_width() / (side + 8)).clamp(4, 8);
    c.space(4 * scale);
    c.matrix(&modules, side, scale);
    c.space(4 * scale);

    let bars = barcoders::sym::code128::Code128::new(format!("Ɓ{}", receipt.registration_number))
        .map_err(|e| RenderError::Barcode(e.to_string()))?
        .encode();
    // Widest module that leaves a 20-dot quiet zone each side: 2 dots (0.25 mm) on 80 mm paper,
    // which every handheld scanner reads; 1 dot on 58 mm paper.
    let module = (width_dots as usize)
        .saturating_sub(40)
        .checked_div(bars.len())
        .unwrap_or(1)
        .clamp(1, 3);
    c.barcode(&bars, module, (72.0 * k) as usize);
    c.space(4);
    c.text_unbroken(
        &f.regular,
        body,
        &receipt.registration_number.to_string(),
        Align::Center,
    );
    c.rule();

    c.text(&f.bold, pt(10.0) * kt, l.answer_ways, Align::Left);
    c.space(2);
    for way in [l.answer_by_post, l.answer_by_email, l.answer_at_booth] {
        c.text(&f.regular, body, &format!("• {way}"), Align::Left);
    }
    for (label, value) in [
        (l.answer_phone, known(&contacts.answer_phone)),
        (l.answer_web, known(&contacts.answer_web)),
    ] {
        if let Some(v) = value {
            // Label and value on lines of their own: a phone number or address never splits.
            c.space(4);
            c.text(&f.regular, body, &format!("{label}:"), Align::Left);
            c.text_unbroken(&f.bold, body, &clip(&v, MAX_CONTACT_CHARS), Align::Left);
        }
    }
    c.rule();
    c.text(&f.bold, pt(10.0) * kt, l.lost_title, Align::Left);
    c.space(2);
    c.text(&f.regular, body, l.lost_text, Align::Left);
    c.space(8);
    c.text(&f.bold, body, l.instructions, Align::Left);
    Ok(c.finish())
}

/// Longest branch address, phone or web address printed (central config is trusted, but a
/// mistake there must not run the roll out).
pub const MAX_CONTACT_CHARS: usize = 160;

/// A short sample line in `lang` for the technician's test print.
pub fn sample_addressee(lang: Language) -> &'static str {
    match lang {
        Language::Kk => "СЫНАҚ БАСЫП ШЫҒАРУ — Әділет министрлігі (Ә Ғ Қ Ң Ө Ұ Ү Һ І)",
        Language::Ru => "ТЕСТОВАЯ ПЕЧАТЬ — Министерство юстиции",
        Language::En => "TEST PRINT — Ministry of Justice",
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::printer::receipt::{Labels, labels};
    use booth_core::domain::AppealKind;

    #[test]
    fn every_printed_label_has_glyphs() {
        for lang in Language::ALL {
            let Labels {
                title,
                branch,
                booth,
                registration_number,
                recorded_at,
                addressee,
                kind,
                secret_code,
                expected_answer_date,
                answer_date_later,
                branch_address,
                answer_ways,
                answer_by_post,
                answer_by_email,
                answer_at_booth,
                answer_phone,
                answer_web,
                lost_title,
                lost_text,
                instructions,
            } = labels(lang);
            let mut all = vec![
                title,
                branch,
                booth,
                registration_number,
                recorded_at,
                addressee,
                kind,
                secret_code,
                expected_answer_date,
                answer_date_later,
                branch_address,
                answer_ways,
                answer_by_post,
                answer_by_email,
                answer_at_booth,
                answer_phone,
                answer_web,
                lost_title,
                lost_text,
                instructions,
                sample_addressee(lang),
                "•",
            ];
            all.extend(AppealKind::ALL.iter().map(|k| kind_label(*k, lang)));
            for text in all {
                assert_eq!(missing_glyphs(text), Vec::<char>::new(), "{text}");
            }
        }
        assert_eq!(missing_glyphs("ӘҒҚҢӨҰҮҺІәғқңөұүһі"), Vec::<char>::new());
    }

    #[test]
    fn a_huge_addressee_cannot_run_the_roll_out() {
        let mut r = crate::printer::sample_receipt(Language::Ru).expect("sample");
        let normal = render_receipt(&r, 576).expect("render").height();
        r.addressee = "Министерство ".repeat(500);
        let huge = render_receipt(&r, 576).expect("render").height();
        assert!(huge < normal + 400, "{normal} -> {huge} dots");
        assert_eq!(clip("абв", 3), "абв");
        assert_eq!(clip("абвг", 3), "аб…");
    }

    /// Issue 15: where no calendar covers the answer date the receipt prints "the date will
    /// come with the answer" in the citizen's language instead of a date, never a guess.
    #[test]
    fn a_receipt_without_an_answer_date_prints_the_later_line_instead() {
        for lang in Language::ALL {
            let mut r = crate::printer::sample_receipt(lang).expect("sample");
            r.expected_answer_date = chrono::NaiveDate::from_ymd_opt(2027, 12, 23);
            let dated = render_receipt(&r, 576).expect("render with a date");
            r.expected_answer_date = None;
            let later = render_receipt(&r, 576).expect("render without a date");
            assert_ne!(
                dated.bits(),
                later.bits(),
                "{lang:?}: the date line differs"
            );
            assert!(!labels(lang).answer_date_later.is_empty());
            assert_eq!(
                missing_glyphs(labels(lang).answer_date_later),
                Vec::<char>::new()
            );
        }
    }

    #[test]
    fn body_text_is_at_least_9_pt_on_both_papers() {
        const { assert!(BODY_PT >= 9.0) };
        let f = fonts().expect("fonts");
        for font in [&f.regular, &f.bold] {
            let per_em = font.height_unscaled() / font.units_per_em().expect("units per em");
            assert!(
                (per_em - pt(1.0) / DOTS_PER_PT).abs() < 0.001,
                "pt() assumes DejaVu's metrics: {per_em}"
            );
        }
        // Cap height of a Cyrillic capital at the body size, in dots: 9 pt type has a cap
        // height of about 18.5 dots (0.73 em) at 203 dpi.
        let mut c = Canvas::new(128, 0);
        c.text(&f.regular, pt(BODY_PT), "Н", Align::Left);
        let r = c.finish();
        let rows: Vec<u32> = (0..r.height())
            .filter(|y| (0..r.width()).any(|x| r.is_black(x, *y)))
            .collect();
        let cap = rows.last().unwrap() - rows.first().unwrap() + 1;
        assert!(cap >= 18, "cap height {cap} dots");
    }

    #[test]
    fn contacts_print_only_when_known() {
        let r = crate::printer::sample_receipt(Language::Ru).expect("sample");
        let plain = render_receipt(&r, 576).expect("render");
        let blank = ReceiptContacts {
            branch_address: Some("  ".into()),
            answer_phone: Some(String::new()),
            answer_web: None,
        };
        assert_eq!(render_receipt_with(&r, &blank, 576).expect("render"), plain);
        let full = ReceiptContacts {
            branch_address: Some("г. Алматы, ул. Жандосова, 51".into()),
            answer_phone: Some("1414".into()),
            answer_web: Some("egov.kz".into()),
        };
        for width in [576, 384] {
            let with = render_receipt_with(&r, &full, width).expect("render");
            let without = render_receipt(&r, width).expect("render");
            assert!(
                with.height() >= without.height() + 3 * 30,
                "three more lines on {width}: {} vs {}",
                with.height(),
                without.height()
            );
        }
    }

    #[test]
    fn raster_packs_msb_first() {
        let mut px = vec![0u8; 16 * 2];
        px[0] = 1;
        px[9] = 1;
        px[16 + 15] = 1;
        let r = Raster::from_pixels(16, &px);
        assert_eq!(r.bits(), &[0x80, 0x40, 0x00, 0x01]);
        assert!(r.is_black(0, 0) && r.is_black(9, 0) && r.is_black(15, 1) && !r.is_black(1, 0));
    }

    #[test]
    fn wrap_never_overflows() {
        let f = fonts().expect("fonts");
        let text = "Қазақстан Республикасының Әділет министрлігі Өскемен Ұлытау Һ Үштөбе \
                    аааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааааа";
        for line in Canvas::wrap(&f.regular, 26.0, text, 300.0) {
            assert!(
                Canvas::text_width(&f.regular, 26.0, &line) <= 300.0,
                "{line}"
            );
        }
    }
}

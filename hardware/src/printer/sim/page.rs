//! What the virtual printer puts on paper: one page (everything between two cuts) drawn dot by
//! dot the way a TM-T20 lays it out.
//!
//! - **Text mode**: a line buffer of characters in font A (12×24 dots) or B (9×17), emphasis,
//!   underline, white-on-black, width/height ×1..×8, alignment, line spacing; bytes decoded with
//!   the selected code page ([`super::codepage`]). Glyphs come from the shipped DejaVu Sans fitted
//!   into the printer's cells, not Epson's ROM font: shapes differ, positions and sizes match.
//!   A line prints on `LF`, `ESC d`, `ESC J`, a full line, or before an image or a cut; the
//!   paper then moves by the line spacing or the line's height, whichever is larger.
//! - **Images**: `GS v 0` rasters (all four scalings) and `ESC *` column images (8- and 24-dot,
//!   single and double density; part of the text line, as on the printer).
//! - **Codes**: `GS ( k` QR (model 2; a model 1 or micro request is drawn as model 2 and reported),
//!   and `GS k` barcodes CODE128 (with `{A {B {C` code sets), EAN-13, EAN-8, CODE39, ITF,
//!   CODABAR and CODE93, with module width, height and human-readable text above/below.
//!
//! Anything understood but not drawn (PDF417, page mode, NV graphics, an unknown code page, a
//! barcode wider than the paper) is listed in the page's report and counted; the page is never
//! silently blank.

use std::collections::HashMap;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use super::codepage;
use super::parse::{BarcodeSetting, Command, LINE_DOTS, QrCommand, Style};
use crate::printer::render::{BOLD_TTF, REGULAR_TTF};

/// Longest page in dots (2.5 m of paper); a longer page is discarded with an error.
pub const MAX_PAGE_DOTS: usize = 20_000;

/// What one cut page held, beyond its dots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageNotes {
    /// Lines printed in text mode, as decoded (HRI text of barcodes included).
    pub text: Vec<String>,
    /// Content the virtual printer understood but did not draw, one line each.
    pub not_drawn: Vec<String>,
    /// Byte sequences refused while this page was printed.
    pub errors: u64,
}

#[derive(Clone, Copy)]
struct TextMode {
    font_b: bool,
    bold: bool,
    underline: u8,
    width: usize,
    height: usize,
    align: u8,
    code_page: u8,
    line_spacing: usize,
    reverse: bool,
    // ESC ! sets these; GS ! overrides width/height.
    mode_double_w: bool,
    mode_double_h: bool,
}

impl Default for TextMode {
    fn default() -> TextMode {
        TextMode {
            font_b: false,
            bold: false,
            underline: 0,
            width: 1,
            height: 1,
            align: 0,
            code_page: 0,
            line_spacing: LINE_DOTS,
            reverse: false,
            mode_double_w: false,
            mode_double_h: false,
        }
    }
}

struct CodeMode {
    qr_model: u8,
    qr_module: usize,
    qr_level: u8,
    qr_data: Vec<u8>,
    bar_height: usize,
    bar_module: usize,
    hri: u8,
    hri_font_b: bool,
}

impl Default for CodeMode {
    fn default() -> CodeMode {
        CodeMode {
            qr_model: 50,
            qr_module: 3,
            qr_level: 48,
            qr_data: Vec::new(),
            bar_height: 162,
            bar_module: 3,
            hri: 0,
            hri_font_b: false,
        }
    }
}

/// A black/white picture: `w * h` dots, row-major.
#[derive(Clone)]
struct Bitmap {
    w: usize,
    h: usize,
    dots: Vec<bool>,
}

impl Bitmap {
    fn new(w: usize, h: usize) -> Bitmap {
        Bitmap {
            w,
            h,
            dots: vec![false; w * h],
        }
    }
    fn get(&self, x: usize, y: usize) -> bool {
        x < self.w && y < self.h && self.dots[y * self.w + x]
    }
    fn set(&mut self, x: usize, y: usize) {
        if x < self.w && y < self.h {
            self.dots[y * self.w + x] = true;
        }
    }
}

/// One page being printed.
pub struct Page {
    width: usize,
    bits: Vec<u8>,
    line: Vec<Bitmap>,
    line_width: usize,
    line_text: String,
    text: TextMode,
    codes: CodeMode,
    notes: PageNotes,
    fonts: Option<(FontRef<'static>, FontRef<'static>)>,
    glyphs: HashMap<(char, bool, bool), Bitmap>,
    overflowed: bool,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Page({}x{})", self.width, self.rows())
    }
}

impl Page {
    /// An empty page on paper `width` dots wide (a multiple of 8).
    pub fn new(width: usize) -> Page {
        let fonts = FontRef::try_from_slice(REGULAR_TTF)
            .ok()
            .zip(FontRef::try_from_slice(BOLD_TTF).ok());
        Page {
            width,
            bits: Vec::new(),
            line: Vec::new(),
            line_width: 0,
            line_text: String::new(),
            text: TextMode::default(),
            codes: CodeMode::default(),
            notes: PageNotes::default(),
            fonts,
            glyphs: HashMap::new(),
            overflowed: false,
        }
    }

    fn stride(&self) -> usize {
        self.width / 8
    }

    /// Dot rows printed so far.
    pub fn rows(&self) -> usize {
        self.bits.len() / self.stride().max(1)
    }

    /// Whether nothing has been printed or buffered on this page.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty() && self.line.is_empty() && self.notes.not_drawn.is_empty()
    }

    /// Counts a refused byte sequence against this page.
    pub fn add_error(&mut self) {
        self.notes.errors += 1;
    }

    /// Things not drawn on this page so far.
    pub fn not_drawn_count(&self) -> usize {
        self.notes.not_drawn.len()
    }

    /// Notes a thing not drawn.
    pub fn not_drawn(&mut self, what: impl Into<String>) {
        let what = what.into();
        tracing::warn!(what, "virtual printer did not draw this");
        self.notes.not_drawn.push(what);
    }

    /// `ESC @`: back to power-on settings; the page itself stays (the line buffer is dropped,
    /// as on the printer).
    pub fn reset_modes(&mut self) {
        self.line.clear();
        self.line_width = 0;
        self.line_text.clear();
        self.text = TextMode::default();
        self.codes = CodeMode::default();
    }

    /// Whether the page grew beyond [`MAX_PAGE_DOTS`] (and was discarded).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    fn grow(&mut self, rows: usize) -> bool {
        let now = self.rows();
        if now + rows > MAX_PAGE_DOTS {
            if !self.overflowed {
                tracing::error!(
                    rows = now + rows,
                    "page longer than {MAX_PAGE_DOTS} dots: discarded"
                );
            }
            self.overflowed = true;
            self.bits.clear();
            return false;
        }
        let stride = self.stride();
        self.bits.resize((now + rows) * stride, 0);
        true
    }

    fn dot(&mut self, x: usize, y: usize) {
        if x < self.width && y < self.rows() {
            let stride = self.stride();
            self.bits[y * stride + x / 8] |= 0x80 >> (x % 8);
        }
    }

    /// Draws `bmp` with its top-left corner at (`x0`, `y0`) of the page (rows must exist).
    fn blit(&mut self, bmp: &Bitmap, x0: usize, y0: usize) {
        for y in 0..bmp.h {
            for x in 0..bmp.w {
                if bmp.dots[y * bmp.w + x] {
                    self.dot(x0 + x, y0 + y);
                }
            }
        }
    }

    fn aligned_x(&self, w: usize) -> usize {
        match self.text.align {
            1 => self.width.saturating_sub(w) / 2,
            2 => self.width.saturating_sub(w),
            _ => 0,
        }
    }

    /// Prints the line buffer (if any) and returns its height in dots.
    fn print_line(&mut self) -> usize {
        if self.line.is_empty() {
            return 0;
        }
        let items = std::mem::take(&mut self.line);
        let h = items.iter().map(|b| b.h).max().unwrap_or(0);
        let w = std::mem::take(&mut self.line_width);
        let top = self.rows();
        if !self.grow(h) {
            return 0;
        }
        let mut x = self.aligned_x(w);
        for item in &items {
            self.blit(item, x, top + h - item.h);
            x += item.w;
        }
        let text = std::mem::take(&mut self.line_text);
        if !text.trim().is_empty() {
            self.notes.text.push(text.trim_end().to_owned());
        }
        h
    }

    /// Prints the line and moves the paper by `feed(line height)` dots in all.
    fn print_and_feed(&mut self, feed: impl Fn(usize) -> usize) {
        let h = self.print_line();
        let more = feed(h).saturating_sub(h);
        self.grow(more);
    }

    fn push_item(&mut self, item: Bitmap, text: Option<char>) {
        if self.line_width + item.w > self.width && !self.line.is_empty() {
            let spacing = self.text.line_spacing;
            self.print_and_feed(|h| h.max(spacing));
        }
        self.line_width += item.w;
        self.line.push(item);
        if let Some(c) = text {
            self.line_text.push(c);
        }
    }

    fn cell(&self, font_b: bool) -> (usize, usize) {
        if font_b { (9, 17) } else { (12, 24) }
    }

    /// The glyph of `c` fitted into a font A or B cell.
    fn glyph(&mut self, c: char, font_b: bool, bold: bool) -> Bitmap {
        if let Some(g) = self.glyphs.get(&(c, font_b, bold)) {
            return g.clone();
        }
        let (cw, ch) = self.cell(font_b);
        let mut bmp = Bitmap::new(cw, ch);
        if let Some((regular, heavy)) = &self.fonts {
            let font = if bold { heavy } else { regular };
            let unit = font.as_scaled(PxScale::from(1.0));
            let py = ch as f32 / (unit.ascent() - unit.descent());
            let id = font.glyph_id(c);
            let advance = unit.h_advance(id) * py;
            // Wide letters (Ж, Ш, M, W) are squeezed into the cell like a printer's ROM font.
            let px = if advance > cw as f32 {
                py * cw as f32 / advance
            } else {
                py
            };
            let scaled = font.as_scaled(PxScale { x: px, y: py });
            let x0 = (cw as f32 - scaled.h_advance(id)) / 2.0;
            let glyph =
                id.with_scale_and_position(PxScale { x: px, y: py }, point(x0, scaled.ascent()));
            if let Some(outlined) = font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                outlined.draw(|gx, gy, cov| {
                    if cov >= 0.5 {
                        let x = b.min.x as i64 + i64::from(gx);
                        let y = b.min.y as i64 + i64::from(gy);
                        if x >= 0 && y >= 0 {
                            bmp.set(x as usize, y as usize);
                        }
                    }
                });
            }
        }
        self.glyphs.insert((c, font_b, bold), bmp.clone());
        bmp
    }

    fn scaled(src: &Bitmap, sx: usize, sy: usize) -> Bitmap {
        let mut out = Bitmap::new(src.w * sx, src.h * sy);
        for y in 0..out.h {
            for x in 0..out.w {
                if src.get(x / sx, y / sy) {
                    out.dots[y * out.w + x] = true;
                }
            }
        }
        out
    }

    fn text(&mut self, bytes: &[u8]) {
        let page = self.text.code_page;
        let mut unknown = false;
        for &b in bytes {
            let c = match codepage::decode(page, b) {
                Some(c) => c,
                None => {
                    unknown = true;
                    '?'
                }
            };
            let m = self.text;
            let g = self.glyph(c, m.font_b, m.bold);
            let (sx, sy) = (m.width, m.height);
            let mut cell = Self::scaled(&g, sx, sy);
            if m.underline > 0 {
                for t in 0..usize::from(m.underline) {
                    let y = cell.h - 1 - t;
                    for x in 0..cell.w {
                        cell.set(x, y);
                    }
                }
            }
            if m.reverse {
                cell.dots.iter_mut().for_each(|d| *d = !*d);
            }
            self.push_item(cell, Some(c));
        }
        if unknown {
            self.not_drawn(format!(
                "code page {page} (ESC t {page}) is not known to the virtual printer: bytes \
                 0x80..0xFF printed as ?"
            ));
        }
    }

    fn style(&mut self, s: Style) {
        let t = &mut self.text;
        match s {
            Style::PrintMode(n) => {
                t.font_b = n & 0x01 != 0;
                t.bold = n & 0x08 != 0;
                t.mode_double_h = n & 0x10 != 0;
                t.mode_double_w = n & 0x20 != 0;
                t.underline = if n & 0x80 != 0 { 1 } else { 0 };
                t.width = if t.mode_double_w { 2 } else { 1 };
                t.height = if t.mode_double_h { 2 } else { 1 };
            }
            Style::Emphasis(on) => t.bold = on,
            Style::Underline(n) => t.underline = n,
            Style::Align(n) => t.align = n,
            Style::Font(n) => t.font_b = n == 1,
            Style::CodePage(n) => {
                t.code_page = n;
                if !codepage::KNOWN.contains(&n) {
                    tracing::warn!(page = n, "unknown code page selected");
                }
            }
            Style::LineSpacing(n) => {
                t.line_spacing = n.map_or(LINE_DOTS, usize::from);
            }
            Style::CharSize(n) => {
                t.width = usize::from(n >> 4 & 0x07) + 1;
                t.height = usize::from(n & 0x07) + 1;
            }
            Style::Reverse(on) => t.reverse = on,
        }
    }

    /// `GS v 0`: prints the line buffer first, then the raster at the left margin.
    fn raster(&mut self, mode: u8, width_bytes: usize, height: usize, data: &[u8]) {
        self.print_line();
        let (sx, sy) = (
            if mode & 1 != 0 { 2 } else { 1 },
            if mode & 2 != 0 { 2 } else { 1 },
        );
        if width_bytes * 8 * sx > self.width {
            // Real printers clip what is beyond the paper; say so, since we never send it.
            tracing::warn!(
                width = width_bytes * 8 * sx,
                paper = self.width,
                "raster wider than the paper: clipped"
            );
        }
        let top = self.rows();
        if !self.grow(height * sy) {
            return;
        }
        let stride = self.stride();
        let paper = self.width;
        for y in 0..height {
            for xb in 0..width_bytes {
                let byte = data[y * width_bytes + xb];
                if byte == 0 {
                    continue;
                }
                for bit in 0..8 {
                    if byte & (0x80 >> bit) == 0 {
                        continue;
                    }
                    for dy in 0..sy {
                        for dx in 0..sx {
                            let x = (xb * 8 + bit) * sx + dx;
                            if x < paper {
                                let row = top + y * sy + dy;
                                self.bits[row * stride + x / 8] |= 0x80 >> (x % 8);
                            }
                        }
                    }
                }
            }
        }
    }

    /// `ESC *`: a column image joins the line buffer.
    fn column_image(&mut self, mode: u8, columns: usize, data: &[u8]) {
        let (per_col, sx, sy) = match mode {
            0 => (1, 2, 3),
            1 => (1, 1, 3),
            32 => (3, 2, 1),
            _ => (3, 1, 1),
        };
        let mut bmp = Bitmap::new(columns, per_col * 8);
        for col in 0..columns {
            for k in 0..per_col {
                let byte = data[col * per_col + k];
                for bit in 0..8 {
                    if byte & (0x80 >> bit) != 0 {
                        bmp.set(col, k * 8 + bit);
                    }
                }
            }
        }
        let img = Self::scaled(&bmp, sx, sy);
        if img.w > self.width {
            self.not_drawn(format!(
                "ESC * image {} dots wide on {}-dot paper: clipped",
                img.w, self.width
            ));
        }
        self.push_item(img, None);
    }

    fn qr(&mut self, q: QrCommand) {
        let c = &mut self.codes;
        match q {
            QrCommand::Model(m) => c.qr_model = m,
            QrCommand::ModuleSize(n) => c.qr_module = usize::from(n.clamp(1, 16)),
            QrCommand::ErrorLevel(n) => c.qr_level = n,
            QrCommand::Store(d) => c.qr_data = d,
            QrCommand::Print => self.print_qr(),
        }
    }

    fn print_qr(&mut self) {
        self.print_line();
        let level = match self.codes.qr_level {
            48 => qrcode::EcLevel::L,
            50 => qrcode::EcLevel::Q,
            51 => qrcode::EcLevel::H,
            _ => qrcode::EcLevel::M,
        };
        if self.codes.qr_model != 50 {
            self.not_drawn(format!(
                "QR model {} requested: drawn as model 2",
                match self.codes.qr_model {
                    49 => "1",
                    51 => "micro",
                    _ => "unknown",
                }
            ));
        }
        let data = self.codes.qr_data.clone();
        let code = match qrcode::QrCode::with_error_correction_level(&data, level) {
            Ok(c) => c,
            Err(e) => {
                self.not_drawn(format!("QR code of {} bytes not drawn: {e}", data.len()));
                return;
            }
        };
        let side = code.width();
        let module = self.codes.qr_module;
        let colors = code.to_colors();
        let mut bmp = Bitmap::new(side * module, side * module);
        for (i, c) in colors.iter().enumerate() {
            if *c == qrcode::Color::Dark {
                let (mx, my) = (i % side, i / side);
                for dy in 0..module {
                    for dx in 0..module {
                        bmp.set(mx * module + dx, my * module + dy);
                    }
                }
            }
        }
        if bmp.w > self.width {
            self.not_drawn(format!(
                "QR code {} dots wide on {}-dot paper: not printed",
                bmp.w, self.width
            ));
            return;
        }
        let top = self.rows();
        if !self.grow(bmp.h) {
            return;
        }
        let x = self.aligned_x(bmp.w);
        self.blit(&bmp, x, top);
        self.notes
            .text
            .push(format!("[QR code, {} bytes]", data.len()));
    }

    fn barcode_setting(&mut self, s: BarcodeSetting) {
        let c = &mut self.codes;
        match s {
            BarcodeSetting::Height(n) => c.bar_height = usize::from(n.max(1)),
            BarcodeSetting::ModuleWidth(n) => c.bar_module = usize::from(n.clamp(1, 6)),
            BarcodeSetting::HriPosition(n) => c.hri = n,
            BarcodeSetting::HriFont(n) => c.hri_font_b = n == 1,
        }
    }

    /// Bars (one entry per module) and the human-readable text of a `GS k` barcode.
    fn encode_barcode(system: u8, data: &[u8]) -> Result<(Vec<u8>, String), String> {
        use barcoders::sym;
        let text = String::from_utf8_lossy(data).into_owned();
        let err = |e: barcoders::error::Error| e.to_string();
        Ok(match system {
            73 => {
                // ESC/POS CODE128: "{A" "{B" "{C" select a code set; in C each byte is a pair.
                let mut s = String::new();
                let mut hri = String::new();
                let mut set = 0u8;
                let mut i = 0;
                while i < data.len() {
                    let b = data[i];
                    if b == b'{' {
                        match data.get(i + 1) {
                            Some(b'A') => s.push('À'),
                            Some(b'B') => s.push('Ɓ'),
                            Some(b'C') => s.push('Ć'),
                            Some(b'{') => {
                                s.push('{');
                                hri.push('{');
                            }
                            other => {
                                return Err(format!(
                                    "CODE128 function {{{} not drawn",
                                    other.map(|c| char::from(*c)).unwrap_or(' ')
                                ));
                            }
                        }
                        if let Some(c @ (b'A' | b'B' | b'C')) = data.get(i + 1) {
                            set = *c;
                        }
                        i += 2;
                        continue;
                    }
                    if set == b'C' {
                        if b > 99 {
                            return Err(format!("CODE128 code C byte {b} is not 0..99"));
                        }
                        s.push_str(&format!("{b:02}"));
                        hri.push_str(&format!("{b:02}"));
                    } else {
                        s.push(char::from(b));
                        hri.push(char::from(b));
                    }
                    i += 1;
                }
                if set == 0 {
                    return Err("CODE128 data must start with {A, {B or {C".into());
                }
                (sym::code128::Code128::new(s).map_err(err)?.encode(), hri)
            }
            67 => (sym::ean13::EAN13::new(&text).map_err(err)?.encode(), text),
            68 => (sym::ean8::EAN8::new(&text).map_err(err)?.encode(), text),
            69 => {
                let inner = text.trim_matches('*').to_owned();
                (
                    sym::code39::Code39::new(&inner).map_err(err)?.encode(),
                    text,
                )
            }
            70 => (sym::tf::TF::interleaved(&text).map_err(err)?.encode(), text),
            71 => (
                sym::codabar::Codabar::new(&text).map_err(err)?.encode(),
                text,
            ),
            72 => (sym::code93::Code93::new(&text).map_err(err)?.encode(), text),
            _ => {
                return Err(format!(
                    "barcode system {system} (UPC-A/UPC-E/GS1) not drawn"
                ));
            }
        })
    }

    fn barcode(&mut self, system: u8, data: &[u8]) {
        self.print_line();
        let (bars, hri) = match Self::encode_barcode(system, data) {
            Ok(x) => x,
            Err(e) => {
                self.not_drawn(format!("barcode not printed: {e}"));
                return;
            }
        };
        let module = self.codes.bar_module;
        let w = bars.len() * module;
        if w > self.width {
            // The printer ignores a barcode that does not fit.
            self.not_drawn(format!(
                "barcode {w} dots wide on {}-dot paper: not printed",
                self.width
            ));
            return;
        }
        let hri_pos = self.codes.hri;
        let font_b = self.codes.hri_font_b;
        if hri_pos & 1 != 0 {
            self.hri_line(&hri, font_b);
        }
        let h = self.codes.bar_height;
        let top = self.rows();
        if !self.grow(h) {
            return;
        }
        let x0 = self.aligned_x(w);
        let mut bmp = Bitmap::new(w, h);
        for (i, b) in bars.iter().enumerate() {
            if *b != 0 {
                for x in i * module..(i + 1) * module {
                    for y in 0..h {
                        bmp.set(x, y);
                    }
                }
            }
        }
        self.blit(&bmp, x0, top);
        if hri_pos & 2 != 0 {
            self.hri_line(&hri, font_b);
        }
        self.notes.text.push(format!("[barcode {system}: {hri}]"));
    }

    fn hri_line(&mut self, text: &str, font_b: bool) {
        let glyphs: Vec<Bitmap> = text.chars().map(|c| self.glyph(c, font_b, false)).collect();
        let (cw, ch) = self.cell(font_b);
        let w = glyphs.len() * cw;
        let top = self.rows();
        if !self.grow(ch + 2) {
            return;
        }
        let mut x = self.aligned_x(w);
        for g in &glyphs {
            self.blit(g, x, top + 1);
            x += cw;
        }
        self.notes.text.push(text.to_owned());
    }

    /// Applies a drawing command (status, cut and process-ID commands are the session's).
    pub fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::Init => self.reset_modes(),
            Command::Raster {
                mode,
                width_bytes,
                height,
                data,
            } => self.raster(mode, width_bytes, height, &data),
            Command::ColumnImage {
                mode,
                columns,
                data,
            } => self.column_image(mode, columns, &data),
            Command::LineFeed => {
                let s = self.text.line_spacing;
                self.print_and_feed(|h| h.max(s));
            }
            Command::FeedLines(n) => {
                let s = self.text.line_spacing;
                self.print_and_feed(|h| if n == 0 { h } else { h.max(s) + (n - 1) * s });
            }
            Command::FeedDots(n) => self.print_and_feed(|h| h.max(n)),
            Command::Text(bytes) => self.text(&bytes),
            Command::Style(s) => self.style(s),
            Command::Qr(q) => self.qr(q),
            Command::Barcode { system, data } => self.barcode(system, &data),
            Command::BarcodeSetting(s) => self.barcode_setting(s),
            Command::NotDrawn(what) => self.not_drawn(what),
            Command::Cut { .. }
            | Command::Status(_)
            | Command::SensorStatus(_)
            | Command::ProcessId(_)
            | Command::Ignored(_) => {}
        }
    }

    /// Ends the page at a cut: prints the line buffer, feeds `feed` dots, and returns the
    /// packed rows with the notes; the page is empty afterwards (settings stay).
    pub fn cut(&mut self, feed: usize) -> (Vec<u8>, PageNotes) {
        self.print_line();
        if !self.bits.is_empty() {
            self.grow(feed);
        }
        let overflowed = std::mem::take(&mut self.overflowed);
        let mut notes = std::mem::take(&mut self.notes);
        if overflowed {
            notes
                .not_drawn
                .push(format!("page longer than {MAX_PAGE_DOTS} dots: discarded"));
        }
        (std::mem::take(&mut self.bits), notes)
    }

    /// Drops everything printed or buffered on this page (printer stopped, `ESC @` after an
    /// uncut page is the session's call).
    pub fn discard(&mut self) {
        self.bits.clear();
        self.line.clear();
        self.line_width = 0;
        self.line_text.clear();
    }
}

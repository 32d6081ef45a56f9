//! The provisioning slip: a short receipt for the technician's paperwork (booth id, branch,
//! central service, enrollment, diagnostics summary, date). Rendered to a 1-bit raster with the
//! shipped DejaVu font, like citizen receipts, and sent with the configured printer transport.
//! It never carries the token or the technician PIN.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use booth_core::config::Config;
use booth_hardware::printer::commands::receipt_job;
use booth_hardware::printer::transport::{Transport, WRITE_TIMEOUT};
use booth_hardware::printer::{PrinterError, Raster};

static FONT_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Why the slip was not printed.
#[derive(Debug, thiserror::Error)]
pub enum SlipError {
    /// The shipped font does not parse (a corrupted build).
    #[error("embedded font is unreadable")]
    Font,
    /// The printer refused or could not be reached.
    #[error(transparent)]
    Printer(#[from] PrinterError),
    /// ESC/POS encoding failed.
    #[error("ESC/POS encoding: {0}")]
    Encode(String),
}

/// The slip's text lines (first line is the title).
pub fn lines(
    cfg: &Config,
    enrollment: &str,
    diagnostics: &[String],
    diagnostics_ok: bool,
) -> Vec<String> {
    let mut out = vec![
        "BOOTH PROVISIONED".to_owned(),
        format!("Booth: {}", cfg.booth.id),
        format!("Branch: {} ({})", cfg.booth.branch, cfg.booth.branch_name),
        format!("Central: {}", cfg.sync.central_url),
        format!("Enrollment: {enrollment}"),
        format!(
            "Printer: {} {} mm",
            cfg.printer.transport,
            if cfg.printer.width_dots == 384 {
                58
            } else {
                80
            }
        ),
        format!("Screen: {}", cfg.kiosk.orientation),
        format!(
            "Diagnostics: {}",
            if diagnostics_ok {
                "all passed"
            } else {
                "see below"
            }
        ),
    ];
    out.extend(diagnostics.iter().take(12).map(|d| format!("  {d}")));
    out.push(format!(
        "Date: {}",
        chrono::Local::now().format("%Y-%m-%d %H:%M")
    ));
    out.push("Technician: ______________".to_owned());
    out
}

/// Renders lines to a raster `width_dots` wide; long lines wrap at the paper edge.
pub fn render(lines: &[String], width_dots: u32) -> Result<Raster, SlipError> {
    let font = FontRef::try_from_slice(FONT_TTF).map_err(|_| SlipError::Font)?;
    let margin = 8.0;
    let max_w = width_dots as f32 - 2.0 * margin;
    let mut rows: Vec<(String, f32)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let px = if i == 0 { 34.0 } else { 22.0 };
        let sf = font.as_scaled(PxScale::from(px));
        let mut current = String::new();
        let mut w = 0.0;
        for c in line.chars() {
            let adv = sf.h_advance(font.glyph_id(c));
            if w + adv > max_w && !current.is_empty() {
                rows.push((std::mem::take(&mut current), px));
                w = 0.0;
            }
            current.push(c);
            w += adv;
        }
        rows.push((current, px));
    }
    let height: f32 = rows.iter().map(|(_, px)| px * 1.3).sum::<f32>() + 2.0 * margin;
    let (w, h) = (width_dots as usize, height.ceil() as usize);
    let mut pixels = vec![0u8; w * h];
    let mut y = margin;
    for (text, px) in &rows {
        let scale = PxScale::from(*px);
        let sf = font.as_scaled(scale);
        let mut x = margin;
        let baseline = y + sf.ascent();
        for c in text.chars() {
            let id = font.glyph_id(c);
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(x, baseline));
            x += sf.h_advance(id);
            if let Some(outline) = font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                outline.draw(|gx, gy, cov| {
                    let (px_x, px_y) = (
                        b.min.x as i64 + i64::from(gx),
                        b.min.y as i64 + i64::from(gy),
                    );
                    if cov > 0.5 && (0..w as i64).contains(&px_x) && (0..h as i64).contains(&px_y) {
                        pixels[px_y as usize * w + px_x as usize] = 1;
                    }
                });
            }
        }
        y += px * 1.3;
    }
    Ok(Raster::from_pixels(width_dots, &pixels))
}

/// Prints the slip on the configured printer; returns where it went.
pub fn print(
    cfg: &Config,
    enrollment: &str,
    diagnostics: &[String],
    diagnostics_ok: bool,
) -> Result<String, SlipError> {
    let raster = render(
        &lines(cfg, enrollment, diagnostics, diagnostics_ok),
        cfg.printer.width_dots,
    )?;
    let job = receipt_job(&raster).map_err(|e| SlipError::Encode(e.to_string()))?;
    let transport = Transport::from_config(&cfg.printer)?;
    let mut conn = transport.connect()?;
    conn.send(&job, WRITE_TIMEOUT)?;
    Ok(transport.describe())
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn slip_renders_to_paper_width_without_secrets() {
        let mut cfg = Config::default();
        cfg.booth.id = "ALM-0001".into();
        cfg.sync.central_url = "https://central.example:8443".into();
        cfg.kiosk.technician_pin = "482916".into();
        let diag = vec![
            "printer: ok".to_owned(),
            "camera: missing /dev/booth-camera".to_owned(),
        ];
        let l = lines(
            &cfg,
            "enrolled as ALM-0001 with https://central.example:8443",
            &diag,
            false,
        );
        assert!(
            l.iter().all(|x| !x.contains("482916")),
            "the PIN is never printed"
        );
        for width in [576, 384] {
            let r = render(&l, width).expect("render");
            assert_eq!(r.width(), width);
            assert!(r.height() > 300, "{}", r.height());
            let black = r.bits().iter().map(|b| b.count_ones()).sum::<u32>();
            assert!(black > 2000, "slip has text: {black} black dots");
            let png = r.to_png().expect("png");
            std::fs::write(
                std::env::temp_dir().join(format!("provision-slip-{width}.png")),
                png,
            )
            .expect("write png");
        }
    }
}

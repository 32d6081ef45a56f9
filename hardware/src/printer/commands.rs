//! The ESC/POS bytes the booth sends: initialise, the receipt raster as `GS v 0` bands, feed,
//! full cut; and the `DLE EOT n` status queries.
//!
//! The `escpos` crate builds the init/feed/cut commands through a capture driver that only
//! collects bytes; the raster bands are our own bytes (`escpos` needs its `graphics` feature,
//! i.e. a second image pipeline, to make them). The transport is ours too (see `transport.rs`).

use std::sync::{Arc, Mutex};

use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::utils::Protocol;

use super::render::Raster;

/// `DLE EOT n`: real-time status request; the printer answers one byte at once.
pub fn dle_eot(n: u8) -> [u8; 3] {
    [0x10, 0x04, n]
}

/// Rows per `GS v 0` band. Printers take at most 2303..4095 rows per command and small input
/// buffers; 256-row bands keep every model happy at no cost.
pub const BAND_ROWS: u32 = 256;

/// Dot lines fed before the cut so the QR code and text clear the cutter.
pub const FEED_LINES: u8 = 4;

/// A capture driver: `escpos` writes its commands here instead of a device.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Driver for Capture {
    fn name(&self) -> String {
        "capture".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0
            .lock()
            .map_err(|_| escpos::errors::PrinterError::Io("capture buffer poisoned".into()))?
            .extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// `GS v 0 0 xL xH yL yH` + data for rows `y0..y0+h` of `raster`.
fn raster_band(raster: &Raster, y0: u32, h: u32) -> Vec<u8> {
    let stride = raster.stride();
    let x = stride as u16;
    let mut out = Vec::with_capacity(8 + stride * h as usize);
    out.extend_from_slice(&[0x1d, b'v', b'0', 0]);
    out.extend_from_slice(&x.to_le_bytes());
    out.extend_from_slice(&(h as u16).to_le_bytes());
    let start = y0 as usize * stride;
    out.extend_from_slice(&raster.bits()[start..start + h as usize * stride]);
    out
}

/// The complete job for one receipt: `ESC @`, the raster in [`BAND_ROWS`] bands, a feed of
/// [`FEED_LINES`] lines, and a full cut (`GS V A 0`).
pub fn receipt_job(raster: &Raster) -> Result<Vec<u8>, escpos::errors::PrinterError> {
    let capture = Capture::default();
    let mut p = Printer::new(capture.clone(), Protocol::default(), None);
    p.init()?;
    let mut y = 0;
    while y < raster.height() {
        let h = BAND_ROWS.min(raster.height() - y);
        p.custom(&raster_band(raster, y, h))?;
        y += h;
    }
    p.feeds(FEED_LINES)?.print_cut()?;
    let bytes = capture
        .0
        .lock()
        .map_err(|_| escpos::errors::PrinterError::Io("capture buffer poisoned".into()))?
        .clone();
    Ok(bytes)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn job_is_init_bands_feed_cut() {
        let raster = Raster::from_pixels(16, &vec![1u8; 16 * 300]);
        let job = receipt_job(&raster).expect("job");
        assert_eq!(&job[..2], &[0x1b, b'@']);
        // First band: 2 bytes wide, 256 rows.
        assert_eq!(&job[2..10], &[0x1d, b'v', b'0', 0, 2, 0, 0, 1]);
        let second = 10 + 2 * 256;
        assert_eq!(
            &job[second..second + 8],
            &[0x1d, b'v', b'0', 0, 2, 0, 44, 0]
        );
        let tail = &job[second + 8 + 2 * 44..];
        assert_eq!(tail, &[0x1b, b'd', FEED_LINES, 0x1d, b'V', b'A', 0]);
    }
}

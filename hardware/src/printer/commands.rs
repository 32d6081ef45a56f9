//! The ESC/POS bytes the booth sends: initialise, the receipt raster as `GS v 0` bands, feed,
//! full cut; the `DLE EOT n` status queries; and the two requests that make a printer confirm a
//! job, `GS ( H` (process ID) and `GS r 1` (paper sensor status).
//!
//! The `escpos` crate builds the init/feed/cut commands through a capture driver that only
//! collects bytes; the raster bands are our own bytes (`escpos` needs its `graphics` feature,
//! i.e. a second image pipeline, to make them). The transport is ours too (see `transport.rs`).
//!
//! **Real-time sequences inside image data.** An Epson TM printer acts on `DLE EOT n`, `DLE ENQ
//! n` and `DLE DC4 …` the moment the bytes arrive, even when they are the data of a `GS v 0`
//! raster (Epson's reference says so for `DLE EOT`). A receipt raster contains such byte pairs
//! by chance (a dot pattern `0x10` followed by `0x04`), so the printer would send status bytes
//! nobody asked for, or even recover from an error by clearing its buffers (`DLE ENQ 2`).
//! `GS ( D` does not help: it switches off only `DLE DC4` (drawer pulse, power-off), never
//! `DLE EOT`. So [`receipt_job`] breaks every such pair in the raster data by adding one dot next
//! to an existing one ([`break_realtime_sequences`]): invisible at 0.125 mm, and the bytes the
//! printer sees are then only the commands we meant. The driver does not rely on it alone: it
//! drains and matches answers (see `exchange.rs`).

use std::sync::{Arc, Mutex};

use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::utils::Protocol;

use super::render::Raster;

/// `DLE EOT n`: real-time status request; the printer answers one byte at once.
pub fn dle_eot(n: u8) -> [u8; 3] {
    [0x10, 0x04, n]
}

/// `DLE` (0x10): first byte of every real-time command.
pub const DLE: u8 = 0x10;

/// Second bytes after [`DLE`] that make a real-time command: `EOT` (status), `ENQ` (error
/// recovery), `DC4` (pulse, power-off, buffer clear).
const REALTIME_SECOND: [u8; 3] = [0x04, 0x05, 0x14];

/// Whether `data[i..]` starts a real-time command a printer would act on inside image data.
fn realtime_at(data: &[u8], i: usize) -> bool {
    data[i] == DLE && data.get(i + 1).is_some_and(|b| REALTIME_SECOND.contains(b))
}

/// Breaks every real-time command pair (`DLE EOT`, `DLE ENQ`, `DLE DC4`) in image data by turning
/// the `0x10` byte into `0x18`: one more black dot right of an existing one. Never creates a new
/// `0x10` byte, so one pass is enough. Returns how many dots were added.
pub fn break_realtime_sequences(data: &mut [u8]) -> usize {
    let mut fixed = 0;
    for i in 0..data.len() {
        if realtime_at(data, i) {
            data[i] = 0x18;
            fixed += 1;
        }
    }
    fixed
}

/// How many `DLE EOT n` (n = 1..4) sequences `stream` holds anywhere, as an Epson printer scans
/// received bytes: the number of unrequested status bytes such a printer would send for it.
pub fn status_requests_in(stream: &[u8]) -> usize {
    stream
        .windows(3)
        .filter(|w| w[0] == DLE && w[1] == 0x04 && (1..=4).contains(&w[2]))
        .count()
}

/// First two bytes of the printer's answer to [`process_id_request`]: header `0x37`, identifier
/// `0x22`; then the four ID bytes and `NUL`.
pub const PROCESS_ID_RESPONSE: [u8; 2] = [0x37, 0x22];

/// `GS ( H 6 0 48 48 d1 d2 d3 d4` (Epson "specify the process ID response"): the printer answers
/// `37 22 d1 d2 d3 d4 00` once everything sent before it has been *printed* (a cut included), or
/// at once when nothing is pending. `id` bytes must be 0x20..=0x7E.
pub fn process_id_request(id: [u8; 4]) -> [u8; 11] {
    [0x1d, b'(', b'H', 6, 0, 48, 48, id[0], id[1], id[2], id[3]]
}

/// `GS r 1`: transmit the paper sensor status. Not a real-time command: the printer answers one
/// byte (bit 4 clear, unlike every `DLE EOT` answer) only after processing everything sent before
/// it, so its answer after a job means the printer got through the job.
pub const PAPER_SENSOR_REQUEST: [u8; 3] = [0x1d, b'r', 1];

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

/// `GS v 0 0 xL xH yL yH` + data for rows `y0..y0+h` of `raster`, with real-time command pairs
/// broken ([`break_realtime_sequences`]).
fn raster_band(raster: &Raster, y0: u32, h: u32) -> Vec<u8> {
    let stride = raster.stride();
    let x = stride as u16;
    let mut out = Vec::with_capacity(8 + stride * h as usize);
    out.extend_from_slice(&[0x1d, b'v', b'0', 0]);
    out.extend_from_slice(&x.to_le_bytes());
    out.extend_from_slice(&(h as u16).to_le_bytes());
    let start = y0 as usize * stride;
    out.extend_from_slice(&raster.bits()[start..start + h as usize * stride]);
    break_realtime_sequences(&mut out[8..]);
    out
}

/// The raster exactly as [`receipt_job`] sends it: `raster` with every real-time command pair
/// broken band by band (a handful of added dots). Tests compare the virtual printer's page to it.
pub fn raster_as_sent(raster: &Raster) -> Raster {
    let mut bits = Vec::with_capacity(raster.bits().len());
    let mut y = 0;
    while y < raster.height() {
        let h = BAND_ROWS.min(raster.height() - y);
        bits.extend_from_slice(&raster_band(raster, y, h)[8..]);
        y += h;
    }
    Raster::from_packed(raster.width(), bits).unwrap_or_else(|| raster.clone())
}

/// The complete job for one receipt: `ESC @`, the raster in [`BAND_ROWS`] bands (real-time
/// command pairs broken, see the module doc), a feed of [`FEED_LINES`] lines, and a full cut
/// (`GS V A 0`). The driver appends its confirmation request ([`process_id_request`] or
/// [`PAPER_SENSOR_REQUEST`]) when it sends the job.
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

    #[test]
    fn realtime_pairs_in_image_data_are_broken() {
        // Rows whose bytes read 10 04 02 (DLE EOT 2), 10 05 02 (DLE ENQ 2), 10 14 01 (DLE DC4 1).
        let mut bits = vec![0u8; 16 * 8];
        bits[..3].copy_from_slice(&[0x10, 0x04, 0x02]);
        bits[20..23].copy_from_slice(&[0x10, 0x05, 0x02]);
        bits[40..43].copy_from_slice(&[0x10, 0x14, 0x01]);
        bits[60..62].copy_from_slice(&[0x10, 0x10]); // harmless: stays
        let raster = Raster::from_packed(128, bits).expect("raster");
        assert_eq!(status_requests_in(raster.bits()), 1);
        let job = receipt_job(&raster).expect("job");
        assert_eq!(status_requests_in(&job), 0);
        assert!(!(0..job.len()).any(|i| realtime_at(&job, i)), "{job:02x?}");
        let sent = raster_as_sent(&raster);
        let added: u32 = sent
            .bits()
            .iter()
            .zip(raster.bits())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        assert_eq!(added, 3, "one dot per broken pair");
        assert!(
            sent.bits()
                .iter()
                .zip(raster.bits())
                .all(|(a, b)| a & b == *b),
            "dots are only added, never removed"
        );
    }

    #[test]
    fn confirmation_requests_are_epson_bytes() {
        assert_eq!(
            process_id_request(*b"B001"),
            [0x1d, 0x28, 0x48, 6, 0, 0x30, 0x30, b'B', b'0', b'0', b'1']
        );
        assert_eq!(PAPER_SENSOR_REQUEST, [0x1d, 0x72, 0x01]);
    }
}

//! Simulated devices for the headless mode, tests, the demo and a booth whose real backend has
//! not landed yet. They behave like the real ones where the kiosk can tell: the recorder
//! writes a real WAV file whose length follows the clock and whose speech fraction is measured
//! from its samples; the printer runs out of paper; tickets are single-use and expire.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use booth_core::{Clock, MediaRef};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::flow::{Prefill, PrintOutcome, PrinterState, ReceiptData, RecorderError, TicketError};
use crate::ports::{Frame, Printer, RecordedTake, Recorder, SealError, Sealer, TicketRedeemer};

/// Audio sample rate of simulated takes.
const RATE: u32 = 8000;
/// Most audio a simulated take writes (keeps files small; the duration still follows the clock).
const MAX_AUDIO_S: u32 = 4;

/// How the simulated recorder should behave.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRecorderOptions {
    /// A camera is connected.
    pub camera: bool,
    /// A microphone is connected.
    pub microphone: bool,
    /// The citizen speaks (false: a silent take).
    pub voice: bool,
    /// The RAM directory is full.
    pub disk_full: bool,
    /// Preview frame size.
    pub width: u32,
    /// Preview frame height.
    pub height: u32,
}

impl Default for SimRecorderOptions {
    fn default() -> Self {
        SimRecorderOptions {
            camera: true,
            microphone: true,
            voice: true,
            disk_full: false,
            width: 640,
            height: 360,
        }
    }
}

/// Shared knobs a script or test can turn while the recorder runs (show a QR code to the
/// camera, fall silent).
#[derive(Debug, Default)]
pub struct SimCameraScene {
    /// A QR code held up to the camera: payload text.
    pub qr: Mutex<Option<String>>,
}

/// A recorder with a synthetic camera (moving test pattern, optional QR code) and microphone.
pub struct SimRecorder {
    opts: SimRecorderOptions,
    ram_dir: PathBuf,
    clock: Arc<dyn Clock>,
    scene: Arc<SimCameraScene>,
    preview: bool,
    frame_no: u64,
    take: Option<(PathBuf, Instant)>,
    last: Option<PathBuf>,
}

impl std::fmt::Debug for SimRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimRecorder")
            .field("opts", &self.opts)
            .finish()
    }
}

impl SimRecorder {
    /// A recorder writing takes into `ram_dir`.
    pub fn new(
        opts: SimRecorderOptions,
        ram_dir: &Path,
        clock: Arc<dyn Clock>,
        scene: Arc<SimCameraScene>,
    ) -> SimRecorder {
        SimRecorder {
            opts,
            ram_dir: ram_dir.to_owned(),
            clock,
            scene,
            preview: false,
            frame_no: 0,
            take: None,
            last: None,
        }
    }

    fn voice_level(&self) -> f32 {
        if !self.opts.voice {
            return 0.02;
        }
        let t = self.frame_no as f32 / 30.0;
        (0.45 + 0.35 * (t * 2.1).sin() * (t * 0.7).cos()).clamp(0.0, 1.0)
    }
}

/// Renders a QR code of `payload` into `frame` (centred, black on white, with a quiet zone).
pub fn draw_qr(frame: &mut Frame, payload: &str) {
    let Ok(code) = qrcode::QrCode::new(payload.as_bytes()) else {
        return;
    };
    let n = code.width();
    let colors = code.to_colors();
    let module = ((frame.height.min(frame.width) as usize * 8 / 10) / (n + 8)).max(2);
    let side = module * (n + 8);
    let x0 = (frame.width as usize).saturating_sub(side) / 2;
    let y0 = (frame.height as usize).saturating_sub(side) / 2;
    let w = frame.width as usize;
    for y in 0..side.min(frame.height as usize) {
        for x in 0..side.min(frame.width as usize) {
            let (mx, my) = (x / module, y / module);
            let dark = mx >= 4
                && my >= 4
                && mx < n + 4
                && my < n + 4
                && colors[(my - 4) * n + (mx - 4)] == qrcode::Color::Dark;
            let v = if dark { 10 } else { 245 };
            let i = ((y0 + y) * w + (x0 + x)) * 3;
            if i + 2 < frame.rgb.len() {
                frame.rgb[i..i + 3].copy_from_slice(&[v, v, v]);
            }
        }
    }
}

impl Recorder for SimRecorder {
    fn start_preview(&mut self) -> Result<(), RecorderError> {
        if !self.opts.camera {
            return Err(RecorderError::CameraMissing);
        }
        if !self.opts.microphone {
            return Err(RecorderError::MicrophoneMissing);
        }
        self.preview = true;
        Ok(())
    }
    fn stop_preview(&mut self) {
        self.preview = false;
    }
    fn preview_frame(&mut self) -> Option<Frame> {
        if !self.opts.camera {
            return None;
        }
        self.frame_no += 1;
        let (w, h) = (self.opts.width, self.opts.height);
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        let shift = (self.frame_no * 4) as u32;
        for y in 0..h {
            for x in 0..w {
                let i = ((y * w + x) * 3) as usize;
                // A soft room background with a moving light band and a head-and-shoulders
                // silhouette, so the preview visibly lives.
                let band = ((x + shift) % w) as f32 / w as f32;
                let base = 70.0 + 60.0 * (band * std::f32::consts::PI).sin();
                let (cx, cy) = (w as f32 / 2.0, h as f32 * 0.42);
                let dx = (x as f32 - cx) / (w as f32 * 0.11);
                let dy = (y as f32 - cy) / (h as f32 * 0.22);
                let head = dx * dx + dy * dy < 1.0;
                let sx = (x as f32 - cx) / (w as f32 * 0.25);
                let shoulders = y as f32 > h as f32 * 0.68
                    && sx * sx < 1.0 - ((h as f32 - y as f32) / h as f32) * 0.5;
                let px = if head {
                    [214, 170, 140]
                } else if shoulders {
                    [40, 70, 120]
                } else {
                    [(base * 0.8) as u8, (base * 0.9) as u8, base as u8]
                };
                rgb[i..i + 3].copy_from_slice(&px);
            }
        }
        let mut f = Frame {
            width: w,
            height: h,
            rgb,
        };
        if let Some(p) = self
            .scene
            .qr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_deref()
        {
            draw_qr(&mut f, p);
        }
        Some(f)
    }
    fn mic_level(&mut self) -> f32 {
        if self.opts.microphone {
            self.voice_level()
        } else {
            0.0
        }
    }
    fn start(&mut self) -> Result<(), RecorderError> {
        if !self.opts.camera {
            return Err(RecorderError::CameraMissing);
        }
        if self.opts.disk_full {
            return Err(RecorderError::DiskFull);
        }
        std::fs::create_dir_all(&self.ram_dir).map_err(|_| RecorderError::Failed)?;
        let path = self.ram_dir.join(format!("take-{}.wav", Uuid::now_v7()));
        File::create(&path).map_err(|_| RecorderError::Failed)?;
        self.take = Some((path, self.clock.monotonic()));
        Ok(())
    }
    fn stop(&mut self) -> Result<RecordedTake, RecorderError> {
        let Some((path, started)) = self.take.take() else {
            return Err(RecorderError::Failed);
        };
        let elapsed = self.clock.monotonic().saturating_duration_since(started);
        let duration_ms = u32::try_from(elapsed.as_millis()).unwrap_or(u32::MAX);
        let audio_s = (elapsed.as_secs() as u32).clamp(1, MAX_AUDIO_S);
        let samples = synth_audio(audio_s * RATE, self.opts.voice);
        write_wav(&path, &samples).map_err(|e| {
            let _ = std::fs::remove_file(&path);
            if e.raw_os_error() == Some(28) {
                RecorderError::DiskFull
            } else {
                RecorderError::Failed
            }
        })?;
        let speech_fraction = speech_fraction(&samples);
        self.last = Some(path.clone());
        Ok(RecordedTake {
            path,
            duration_ms,
            speech_fraction,
            content_type: "audio/wav".into(),
        })
    }
    fn discard(&mut self) {
        for p in [self.take.take().map(|t| t.0), self.last.take()]
            .into_iter()
            .flatten()
        {
            if let Err(e) = std::fs::remove_file(&p) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, "could not delete a discarded take");
                }
            }
        }
    }
    fn describe(&self) -> String {
        format!(
            "sim camera={} mic={} preview={}",
            if self.opts.camera { "ok" } else { "missing" },
            if self.opts.microphone {
                "ok"
            } else {
                "missing"
            },
            self.preview
        )
    }
}

/// Speech-like audio: a voiced tone with syllable-rate amplitude changes and pauses; or
/// near-silence (a little noise) when `voice` is false.
pub fn synth_audio(n: u32, voice: bool) -> Vec<i16> {
    let mut seed = 0x1234_5678u32;
    (0..n)
        .map(|i| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = ((seed >> 16) as f32 / 65536.0 - 0.5) * 60.0;
            if !voice {
                return noise as i16;
            }
            let t = i as f32 / RATE as f32;
            let syllable = (t * 4.0 * std::f32::consts::TAU).sin().max(0.0);
            let pause = if (t * 0.8).fract() < 0.15 { 0.0 } else { 1.0 };
            let tone = (t * 180.0 * std::f32::consts::TAU).sin()
                + 0.5 * (t * 360.0 * std::f32::consts::TAU).sin();
            (tone * syllable * pause * 9000.0 + noise) as i16
        })
        .collect()
}

/// Fraction of 20 ms frames whose RMS is above a voice threshold (the 003 p.26 check).
pub fn speech_fraction(samples: &[i16]) -> f32 {
    let frame = (RATE / 50) as usize;
    let frames: Vec<&[i16]> = samples.chunks(frame).filter(|c| c.len() == frame).collect();
    if frames.is_empty() {
        return 0.0;
    }
    let voiced = frames
        .iter()
        .filter(|c| {
            let e: f64 =
                c.iter().map(|s| f64::from(*s) * f64::from(*s)).sum::<f64>() / c.len() as f64;
            e.sqrt() > 500.0
        })
        .count();
    voiced as f32 / frames.len() as f32
}

fn write_wav(path: &Path, samples: &[i16]) -> std::io::Result<()> {
    let data_len = (samples.len() * 2) as u32;
    let mut f = File::create(path)?;
    let mut h = Vec::with_capacity(44 + data_len as usize);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_len).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&RATE.to_le_bytes());
    h.extend_from_slice(&(RATE * 2).to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        h.extend_from_slice(&s.to_le_bytes());
    }
    f.write_all(&h)?;
    f.sync_all()
}

/// Moves a take into the outbox the way a real sealer must (write to a temporary name, fsync,
/// rename, fsync the directory, delete the plaintext) but does NOT encrypt: it stands in until
/// booth-hardware's age sealer is wired in, and names its files `.sim-sealed` so nothing
/// mistakes them for sealed media.
#[derive(Debug)]
pub struct SimSealer {
    outbox_dir: PathBuf,
}

impl SimSealer {
    /// Seals into `outbox_dir`.
    pub fn new(outbox_dir: &Path) -> SimSealer {
        SimSealer {
            outbox_dir: outbox_dir.to_owned(),
        }
    }
}

impl Sealer for SimSealer {
    fn seal(&self, take: &RecordedTake, id: Uuid) -> Result<MediaRef, SealError> {
        std::fs::create_dir_all(&self.outbox_dir).map_err(SealError::from_io)?;
        let bytes = std::fs::read(&take.path).map_err(SealError::from_io)?;
        let file_name = format!("{id}.sim-sealed");
        let tmp = self.outbox_dir.join(format!("{file_name}.tmp"));
        let dst = self.outbox_dir.join(&file_name);
        let mut f = File::create(&tmp).map_err(SealError::from_io)?;
        f.write_all(&bytes).map_err(SealError::from_io)?;
        f.sync_all().map_err(SealError::from_io)?;
        drop(f);
        std::fs::rename(&tmp, &dst).map_err(SealError::from_io)?;
        File::open(&self.outbox_dir)
            .and_then(|d| d.sync_all())
            .map_err(SealError::from_io)?;
        if let Err(e) = std::fs::remove_file(&take.path) {
            tracing::warn!(error = %e, "plaintext take not deleted after sealing");
        }
        Ok(MediaRef {
            file_name,
            sealed_sha256: hex::encode(Sha256::digest(&bytes)),
            sealed_size: bytes.len() as u64,
            content_type: take.content_type.clone(),
        })
    }
}

/// A receipt printer with a paper roll that runs out, a cover and a connection; receipts are
/// written as text files into `out_dir` (one per print) when given.
#[derive(Debug)]
pub struct SimPrinter {
    /// Receipts left on the roll.
    pub paper: u32,
    /// Cover open.
    pub cover_open: bool,
    /// Disconnected.
    pub offline: bool,
    out_dir: Option<PathBuf>,
    printed: u32,
    last: Option<String>,
}

impl SimPrinter {
    /// A printer with `paper` receipts on the roll.
    pub fn new(paper: u32, out_dir: Option<&Path>) -> SimPrinter {
        SimPrinter {
            paper,
            cover_open: false,
            offline: false,
            out_dir: out_dir.map(Path::to_owned),
            printed: 0,
            last: None,
        }
    }
    fn state(&self) -> PrinterState {
        if self.offline {
            PrinterState::Offline
        } else if self.cover_open {
            PrinterState::CoverOpen
        } else if self.paper == 0 {
            PrinterState::PaperOut
        } else if self.paper <= 5 {
            PrinterState::PaperLow
        } else {
            PrinterState::Ready
        }
    }
    fn emit(&mut self, text: String) -> PrintOutcome {
        let s = self.state();
        if !s.can_print() {
            return PrintOutcome::Failed(s);
        }
        self.paper -= 1;
        self.printed += 1;
        if let Some(dir) = &self.out_dir {
            let p = dir.join(format!("receipt-{:03}.txt", self.printed));
            if let Err(e) = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&p, &text)) {
                tracing::warn!(error = %e, "sim printer could not write its output");
            }
        }
        self.last = Some(text);
        PrintOutcome::Printed
    }
}

/// The receipt as plain text lines (what the sim printer prints; the real printer renders the
/// same fields to a raster).
pub fn receipt_text(r: &ReceiptData) -> String {
    use crate::i18n::t;
    let l = r.language;
    format!(
        "{}\n{}\n\n{}: {}\n{}: {}\n{}: {}\n{}: {}\n{}: {}\n\n{}\n{}\n",
        r.branch_name,
        t(l, "receipt-title"),
        t(l, "receipt-date"),
        r.recorded_local,
        t(l, "receipt-number"),
        r.registration_number,
        t(l, "receipt-addressee"),
        r.addressee,
        t(l, "receipt-expected"),
        r.expected_answer_date
            .map(|d| d.format("%d.%m.%Y").to_string())
            .unwrap_or_else(|| t(l, "receipt-date-with-answer")),
        t(l, "receipt-code"),
        r.code.grouped(),
        t(l, "receipt-code-note"),
        qr_payload(r),
    )
}

/// The QR payload printed on a receipt: registration number and code.
pub fn qr_payload(r: &ReceiptData) -> String {
    format!("VA1:{}:{}", r.registration_number, r.code.digits())
}

impl Printer for SimPrinter {
    fn status(&mut self) -> PrinterState {
        self.state()
    }
    fn print_receipt(&mut self, r: &ReceiptData) -> PrintOutcome {
        self.emit(receipt_text(r))
    }
    fn print_test(&mut self) -> PrintOutcome {
        self.emit("TEST / СЫНАҚ / ТЕСТ\nӘәҒғҚқҢңӨөҰұҮүҺһІі\n".into())
    }
    fn reprint_last(&mut self) -> PrintOutcome {
        match self.last.clone() {
            Some(t) => self.emit(t),
            None => PrintOutcome::Failed(PrinterState::Ready),
        }
    }
}

/// Booth tickets as the reception journal issues them: six digits, valid once, for a while.
/// Stands in for booth-core's reception store until the kiosk is wired to it.
pub struct SimTicketRedeemer {
    tickets: Mutex<HashMap<String, (Prefill, Instant, bool)>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SimTicketRedeemer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimTicketRedeemer")
    }
}

impl SimTicketRedeemer {
    /// Empty journal.
    pub fn new(clock: Arc<dyn Clock>) -> SimTicketRedeemer {
        SimTicketRedeemer {
            tickets: Mutex::new(HashMap::new()),
            clock,
        }
    }
    /// Issues `ticket` for `visitor`, valid for `ttl`.
    pub fn issue(&self, ticket: &str, visitor: Prefill, ttl: Duration) {
        let exp = self.clock.monotonic() + ttl;
        self.tickets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(ticket.into(), (visitor, exp, false));
    }
    /// A journal with the demo visitors (tickets 123456: individual, 654321: legal entity).
    pub fn demo(clock: Arc<dyn Clock>) -> SimTicketRedeemer {
        let r = SimTicketRedeemer::new(clock);
        let day = Duration::from_secs(86_400);
        r.issue(
            "123456",
            Prefill {
                visit_id: "demo-visit-1".into(),
                surname: "Қасымова".into(),
                name: "Әлия".into(),
                patronymic: "Серікқызы".into(),
                iin: booth_core::testing::sample_iin(1),
                email: String::new(),
                entity: None,
            },
            day,
        );
        r.issue(
            "654321",
            Prefill {
                visit_id: "demo-visit-2".into(),
                surname: "Иванов".into(),
                name: "Пётр".into(),
                patronymic: String::new(),
                iin: String::new(),
                email: "office@bereke.kz".into(),
                entity: Some((String::new(), "ТОО Береке".into())),
            },
            day,
        );
        r
    }
}

impl TicketRedeemer for SimTicketRedeemer {
    fn redeem(&self, ticket: &str) -> Result<Prefill, TicketError> {
        let mut g = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        let Some((p, exp, used)) = g.get_mut(ticket) else {
            return Err(TicketError::Unknown);
        };
        if *used {
            return Err(TicketError::Used);
        }
        if self.clock.monotonic() > *exp {
            return Err(TicketError::Expired);
        }
        *used = true;
        Ok(p.clone())
    }
}

#[cfg(test)]
mod tests {
    use booth_core::ManualClock;
    use chrono::Utc;

    use super::*;

    #[test]
    fn recorder_writes_a_real_take_whose_length_follows_the_clock() {
        let dir = tempfile::tempdir().expect("tmp");
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let mut r = SimRecorder::new(
            SimRecorderOptions::default(),
            dir.path(),
            clock.clone(),
            Arc::default(),
        );
        r.start_preview().expect("preview");
        let f = r.preview_frame().expect("frame");
        assert_eq!(f.rgb.len(), (f.width * f.height * 3) as usize);
        r.start().expect("start");
        clock.advance(Duration::from_secs(12));
        let take = r.stop().expect("stop");
        assert_eq!(take.duration_ms, 12_000);
        assert!(take.speech_fraction > 0.3, "{}", take.speech_fraction);
        let bytes = std::fs::read(&take.path).expect("file");
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(bytes.len(), 44 + 2 * (MAX_AUDIO_S * RATE) as usize);
        r.discard();
        assert!(!take.path.exists());
    }

    #[test]
    fn silent_take_measures_no_speech_and_missing_devices_fail() {
        let dir = tempfile::tempdir().expect("tmp");
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let opts = SimRecorderOptions {
            voice: false,
            ..SimRecorderOptions::default()
        };
        let mut r = SimRecorder::new(opts, dir.path(), clock.clone(), Arc::default());
        r.start().expect("start");
        clock.advance(Duration::from_secs(3));
        assert!(r.stop().expect("stop").speech_fraction < 0.05);
        let mut r = SimRecorder::new(
            SimRecorderOptions {
                camera: false,
                ..Default::default()
            },
            dir.path(),
            clock.clone(),
            Arc::default(),
        );
        assert_eq!(r.start_preview(), Err(RecorderError::CameraMissing));
        let mut r = SimRecorder::new(
            SimRecorderOptions {
                disk_full: true,
                ..Default::default()
            },
            dir.path(),
            clock,
            Arc::default(),
        );
        assert_eq!(r.start(), Err(RecorderError::DiskFull));
    }

    #[test]
    fn qr_drawn_into_a_frame_is_decoded_by_rqrr() {
        let dir = tempfile::tempdir().expect("tmp");
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let scene = Arc::new(SimCameraScene::default());
        *scene.qr.lock().expect("lock") = Some("VA1:DEV01-01-2026-000001:123456789012".into());
        let mut r = SimRecorder::new(SimRecorderOptions::default(), dir.path(), clock, scene);
        let f = r.preview_frame().expect("frame");
        assert_eq!(
            crate::qr::decode(&f).as_deref(),
            Some("VA1:DEV01-01-2026-000001:123456789012")
        );
    }

    #[test]
    fn printer_runs_out_of_paper_and_tickets_are_single_use() {
        let mut p = SimPrinter::new(1, None);
        assert_eq!(p.status(), PrinterState::PaperLow);
        assert_eq!(p.print_test(), PrintOutcome::Printed);
        assert_eq!(p.print_test(), PrintOutcome::Failed(PrinterState::PaperOut));
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let t = SimTicketRedeemer::demo(clock.clone());
        assert_eq!(t.redeem("000000"), Err(TicketError::Unknown));
        assert_eq!(t.redeem("123456").expect("ok").surname, "Қасымова");
        assert_eq!(t.redeem("123456"), Err(TicketError::Used));
        clock.advance(Duration::from_secs(90_000));
        assert_eq!(t.redeem("654321"), Err(TicketError::Expired));
    }

    #[test]
    fn sealer_moves_the_take_into_the_outbox_durably() {
        let dir = tempfile::tempdir().expect("tmp");
        let take_path = dir.path().join("take.wav");
        write_wav(&take_path, &synth_audio(800, true)).expect("wav");
        let take = RecordedTake {
            path: take_path.clone(),
            duration_ms: 100,
            speech_fraction: 1.0,
            content_type: "audio/wav".into(),
        };
        let id = Uuid::now_v7();
        let m = SimSealer::new(&dir.path().join("outbox"))
            .seal(&take, id)
            .expect("seal");
        assert!(!take_path.exists(), "plaintext deleted");
        let sealed = std::fs::read(dir.path().join("outbox").join(&m.file_name)).expect("sealed");
        assert_eq!(m.sealed_size, sealed.len() as u64);
        assert_eq!(m.sealed_sha256, hex::encode(Sha256::digest(&sealed)));
    }
}

//! The booth's microphone: one owner of the capture device ([`Microphone::open`]), whose
//! samples go to a [`MicSink`] that feeds the level meter, the speech estimate and the
//! recording pipeline alike ([`SpeechAnalyzer`] + `appsrc`). Real backend: `cpal` (ALSA);
//! simulated: a generated voice-like signal, silence, or a WAV file, paced in real time.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Microphone failures.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MicError {
    /// No capture device with that name (or no default device).
    #[error("microphone {device:?} not found (devices: {available})")]
    NotFound {
        /// Asked device.
        device: String,
        /// What exists, comma-separated.
        available: String,
    },
    /// The device exists but could not be opened or started.
    #[error("microphone {device:?} could not start: {detail}")]
    Start {
        /// Device.
        device: String,
        /// Cause.
        detail: String,
    },
    /// A WAV file for the simulated microphone is unusable.
    #[error("WAV file {path}: {detail}")]
    Wav {
        /// File.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// Receives captured audio: mono signed 16-bit samples at `rate` Hz, in chunks of about 10 ms.
/// Called on the microphone's owner thread; implementations must not block for long.
pub trait MicSink: Send {
    /// New samples.
    fn samples(&mut self, rate: u32, samples: &[i16]);
    /// The device failed (unplugged, overrun it cannot recover from). No samples follow.
    fn failed(&mut self, detail: String);
}

/// A capture device. Opening it starts an owner thread that delivers samples to the sink
/// until the returned [`MicStream`] is dropped or stopped.
pub trait Microphone: Send + Sync + Debug {
    /// Human-readable description for logs and diagnostics.
    fn describe(&self) -> String;
    /// Starts capture. Returns once the device is running (or failed to start).
    fn open(&self, sink: Box<dyn MicSink>) -> Result<MicStream, MicError>;
}

/// A running capture; stops and joins its owner thread when dropped.
#[derive(Debug)]
pub struct MicStream {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MicStream {
    /// Stops capture and waits for the owner thread (which checks the flag every 10–50 ms).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("microphone thread panicked");
        }
    }
}

impl Drop for MicStream {
    fn drop(&mut self) {
        self.halt();
    }
}

/// What a simulated microphone "hears".
#[derive(Debug, Clone, PartialEq)]
pub enum SimulatedSignal {
    /// A voice-like signal: a 140 Hz harmonic tone shaped into syllables (about 4 per second)
    /// and phrases with pauses, over faint noise.
    Voice,
    /// Digital silence with faint noise (-70 dBFS), like a muted microphone.
    Silence,
    /// A 16-bit PCM WAV file, looped.
    Wav(PathBuf),
}

/// A simulated microphone paced in real time by its own thread.
#[derive(Debug, Clone)]
pub struct SimulatedMicrophone {
    /// The signal.
    pub signal: SimulatedSignal,
    /// Simulates an unplugged microphone: after this long the sink gets `failed`.
    pub fail_after: Option<Duration>,
}

impl SimulatedMicrophone {
    /// A simulated microphone with `signal` that never fails.
    pub fn new(signal: SimulatedSignal) -> SimulatedMicrophone {
        SimulatedMicrophone {
            signal,
            fail_after: None,
        }
    }
}

/// Mono 16-bit PCM read from a WAV file.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    /// Sample rate.
    pub rate: u32,
    /// Samples (first channel only when the file has several).
    pub samples: Vec<i16>,
}

/// Reads a RIFF/WAVE file of 16-bit PCM (any rate, first channel kept).
pub fn read_wav(path: &Path) -> Result<Pcm, MicError> {
    let bad = |detail: &str| MicError::Wav {
        path: path.to_owned(),
        detail: detail.into(),
    };
    let data = std::fs::read(path).map_err(|e| MicError::Wav {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    if data.len() < 12 || &data[0..4] != b"RIFF" || &data[8..12] != b"WAVE" {
        return Err(bad("not a RIFF/WAVE file"));
    }
    let (mut rate, mut channels, mut bits) = (0u32, 0u16, 0u16);
    let mut pos = 12;
    while pos + 8 <= data.len() {
        let id = &data[pos..pos + 4];
        let declared =
            u32::from_le_bytes([data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]])
                as usize;
        let body_start = pos + 8;
        // espeak-ng writes 0x7fffffff as the data size when it streams; clamp to the file.
        let body_end = body_start.saturating_add(declared).min(data.len());
        let body = &data[body_start..body_end];
        if id == b"fmt " {
            if body.len() < 16 {
                return Err(bad("short fmt chunk"));
            }
            let format = u16::from_le_bytes([body[0], body[1]]);
            channels = u16::from_le_bytes([body[2], body[3]]);
            rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            bits = u16::from_le_bytes([body[14], body[15]]);
            if format != 1 && format != 0xfffe {
                return Err(bad("not PCM"));
            }
        } else if id == b"data" {
            if bits != 16 || channels == 0 || rate == 0 {
                return Err(bad("need 16-bit PCM with a fmt chunk before data"));
            }
            let frame = 2 * channels as usize;
            let samples = body
                .chunks_exact(frame)
                .map(|f| i16::from_le_bytes([f[0], f[1]]))
                .collect::<Vec<_>>();
            if samples.is_empty() {
                return Err(bad("no samples"));
            }
            return Ok(Pcm { rate, samples });
        }
        pos = body_end + (declared & 1);
    }
    Err(bad("no data chunk"))
}

/// Deterministic generator of the simulated voice (no randomness: tests are repeatable).
struct VoiceGen {
    rate: u32,
    n: u64,
    noise: u32,
}

impl VoiceGen {
    fn next(&mut self) -> i16 {
        let t = self.n as f64 / self.rate as f64;
        self.n += 1;
        // Phrases of 2.5 s: 2 s of syllables then 0.5 s pause.
        let in_phrase = t % 2.5 < 2.0;
        let syllable = (t * 4.0 * std::f64::consts::PI).sin().max(0.0); // 4 syllables/s
        let env = if in_phrase { syllable.powf(0.7) } else { 0.0 };
        let f0 = 140.0 + 20.0 * (t * 3.0 * std::f64::consts::TAU).sin();
        let phase = t * f0 * std::f64::consts::TAU;
        let tone = (1..=6)
            .map(|h| (phase * h as f64).sin() / h as f64)
            .sum::<f64>()
            * 0.5;
        // Linear congruential noise at about -70 dBFS.
        self.noise = self
            .noise
            .wrapping_mul(1_664_525)
            .wrapping_add(1_013_904_223);
        let noise = ((self.noise >> 16) as f64 / 65_535.0 - 0.5) * 0.001;
        ((tone * env * 0.4 + noise) * 32_767.0).clamp(-32_768.0, 32_767.0) as i16
    }
}

impl Microphone for SimulatedMicrophone {
    fn describe(&self) -> String {
        match &self.signal {
            SimulatedSignal::Voice => "simulated microphone (generated voice)".into(),
            SimulatedSignal::Silence => "simulated microphone (silence)".into(),
            SimulatedSignal::Wav(p) => format!("simulated microphone (WAV {})", p.display()),
        }
    }

    fn open(&self, mut sink: Box<dyn MicSink>) -> Result<MicStream, MicError> {
        let pcm = match &self.signal {
            SimulatedSignal::Wav(p) => Some(read_wav(p)?),
            _ => None,
        };
        let rate = pcm.as_ref().map_or(48_000, |p| p.rate);
        let silent = self.signal == SimulatedSignal::Silence;
        let fail_after = self.fail_after;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("mic-simulated".into())
            .spawn(move || {
                let chunk = (rate / 100).max(1) as usize;
                let mut voice = VoiceGen {
                    rate,
                    n: 0,
                    noise: 12_345,
                };
                let mut pos = 0usize;
                let mut buf = vec![0i16; chunk];
                let start = Instant::now();
                let mut sent: u64 = 0;
                while !stop2.load(Ordering::SeqCst) {
                    if fail_after.is_some_and(|f| start.elapsed() >= f) {
                        sink.failed(
                            "Could not read from resource: device disconnected (simulated)".into(),
                        );
                        return;
                    }
                    for s in buf.iter_mut() {
                        *s = match &pcm {
                            Some(p) => {
                                let v = p.samples[pos % p.samples.len()];
                                pos += 1;
                                v
                            }
                            None if silent => {
                                voice.next();
                                (voice.noise >> 29) as i16 - 4 // ±4 LSB: about -70 dBFS
                            }
                            None => voice.next(),
                        };
                    }
                    sink.samples(rate, &buf);
                    sent += chunk as u64;
                    // Real-time pacing against the start instant: no drift from sleep jitter.
                    let due = start + Duration::from_nanos(sent * 1_000_000_000 / rate as u64);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                }
            })
            .map_err(|e| MicError::Start {
                device: self.describe(),
                detail: e.to_string(),
            })?;
        Ok(MicStream {
            stop,
            thread: Some(thread),
        })
    }
}

/// A real microphone through `cpal` (ALSA on the booth). The cpal stream is not `Send`, so it
/// lives on its own owner thread for its whole life.
#[derive(Debug, Clone)]
pub struct CpalMicrophone {
    /// ALSA device name as cpal lists it, or `"default"`.
    pub device: String,
}

/// Names of the capture devices cpal sees (empty without a sound card).
pub fn list_microphones() -> Vec<String> {
    use cpal::traits::{DeviceTrait, HostTrait};
    let host = cpal::default_host();
    match host.input_devices() {
        Ok(devs) => devs.filter_map(|d| d.name().ok()).collect(),
        Err(e) => {
            tracing::info!(error = %e, "cannot list capture devices");
            Vec::new()
        }
    }
}

fn to_i16_mono<T: Copy>(data: &[T], channels: usize, conv: impl Fn(T) -> i16, out: &mut Vec<i16>) {
    out.clear();
    out.extend(data.chunks(channels.max(1)).map(|f| conv(f[0])));
}

impl Microphone for CpalMicrophone {
    fn describe(&self) -> String {
        format!("ALSA microphone {:?} (cpal)", self.device)
    }

    fn open(&self, sink: Box<dyn MicSink>) -> Result<MicStream, MicError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let wanted = self.device.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<(), MicError>>(1);
        let thread = std::thread::Builder::new()
            .name("mic-cpal".into())
            .spawn(move || {
                use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
                let host = cpal::default_host();
                let device = if wanted == "default" {
                    host.default_input_device()
                } else {
                    host.input_devices().ok().and_then(|mut ds| {
                        ds.find(|d| d.name().ok().as_deref() == Some(wanted.as_str()))
                    })
                };
                let Some(device) = device else {
                    let _ = ready_tx.send(Err(MicError::NotFound {
                        device: wanted,
                        available: list_microphones().join(", "),
                    }));
                    return;
                };
                let start_err = |detail: String| MicError::Start {
                    device: wanted.clone(),
                    detail,
                };
                let config = match device.default_input_config() {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(start_err(e.to_string())));
                        return;
                    }
                };
                let rate = config.sample_rate().0;
                let channels = config.channels() as usize;
                let sink = Arc::new(Mutex::new(sink));
                let err_sink = sink.clone();
                let on_error = move |e: cpal::StreamError| {
                    err_sink
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .failed(format!("Could not read from resource: {e}"));
                };
                let stream_config: cpal::StreamConfig = config.clone().into();
                let mut mono = Vec::new();
                let stream = match config.sample_format() {
                    cpal::SampleFormat::I16 => device.build_input_stream(
                        &stream_config,
                        move |d: &[i16], _: &cpal::InputCallbackInfo| {
                            to_i16_mono(d, channels, |s| s, &mut mono);
                            sink.lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .samples(rate, &mono);
                        },
                        on_error,
                        None,
                    ),
                    cpal::SampleFormat::F32 => device.build_input_stream(
                        &stream_config,
                        move |d: &[f32], _: &cpal::InputCallbackInfo| {
                            to_i16_mono(
                                d,
                                channels,
                                |s| (s.clamp(-1.0, 1.0) * 32_767.0) as i16,
                                &mut mono,
                            );
                            sink.lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .samples(rate, &mono);
                        },
                        on_error,
                        None,
                    ),
                    cpal::SampleFormat::I32 => device.build_input_stream(
                        &stream_config,
                        move |d: &[i32], _: &cpal::InputCallbackInfo| {
                            to_i16_mono(d, channels, |s| (s >> 16) as i16, &mut mono);
                            sink.lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .samples(rate, &mono);
                        },
                        on_error,
                        None,
                    ),
                    cpal::SampleFormat::U16 => device.build_input_stream(
                        &stream_config,
                        move |d: &[u16], _: &cpal::InputCallbackInfo| {
                            to_i16_mono(d, channels, |s| (i32::from(s) - 32_768) as i16, &mut mono);
                            sink.lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .samples(rate, &mono);
                        },
                        on_error,
                        None,
                    ),
                    other => {
                        let _ = ready_tx.send(Err(start_err(format!(
                            "unsupported sample format {other:?}"
                        ))));
                        return;
                    }
                };
                let stream = match stream {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(start_err(e.to_string())));
                        return;
                    }
                };
                if let Err(e) = stream.play() {
                    let _ = ready_tx.send(Err(start_err(e.to_string())));
                    return;
                }
                let _ = ready_tx.send(Ok(()));
                while !stop2.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                drop(stream);
            })
            .map_err(|e| MicError::Start {
                device: self.device.clone(),
                detail: e.to_string(),
            })?;
        let mut stream = MicStream {
            stop,
            thread: Some(thread),
        };
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(stream),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                stream.stop.store(true, Ordering::SeqCst);
                // Do not join a thread stuck in the driver: detach it and report.
                stream.thread.take();
                Err(MicError::Start {
                    device: self.device.clone(),
                    detail: "device did not start within 5 s".into(),
                })
            }
        }
    }
}

/// Builds the microphone `recorder.microphone` names: `"simulated"` (generated voice),
/// `"silent"` (simulated silence), `"alsa"` (cpal, device `recorder.microphone_device`), or a
/// path to a WAV file (simulated, looped).
pub fn microphone_from_config(
    section: &booth_core::config::RecorderSection,
) -> Arc<dyn Microphone> {
    match section.microphone.as_str() {
        "simulated" => Arc::new(SimulatedMicrophone::new(SimulatedSignal::Voice)),
        "silent" => Arc::new(SimulatedMicrophone::new(SimulatedSignal::Silence)),
        "alsa" => Arc::new(CpalMicrophone {
            device: section.microphone_device.clone(),
        }),
        path => Arc::new(SimulatedMicrophone::new(SimulatedSignal::Wav(path.into()))),
    }
}

/// Audio level of the last ~100 ms, for the level meter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Level {
    /// RMS in dBFS (-100 for digital silence).
    pub rms_db: f32,
    /// Peak in dBFS.
    pub peak_db: f32,
    /// Whether the last frame was counted as voiced.
    pub voiced: bool,
}

/// Energy-based voice-activity estimate over 20 ms frames with an adaptive noise floor: a frame
/// is voiced when it is above -50 dBFS and 12 dB above the floor. The floor follows quiet
/// frames at once and rises slowly (2.5 dB/s), so a steady hum stops counting as speech.
#[derive(Debug, Clone)]
pub struct SpeechAnalyzer {
    rate: u32,
    frame: Vec<i16>,
    noise_floor_db: f32,
    frames: u64,
    voiced: u64,
    window_sq: f64,
    window_n: u64,
    window_peak: i32,
    last_voiced: bool,
}

fn db(x: f64) -> f32 {
    if x <= 1e-10 {
        -100.0
    } else {
        (20.0 * x.log10()).max(-100.0) as f32
    }
}

impl SpeechAnalyzer {
    /// A fresh analyser for `rate` Hz.
    pub fn new(rate: u32) -> SpeechAnalyzer {
        SpeechAnalyzer {
            rate: rate.max(1),
            frame: Vec::new(),
            noise_floor_db: -70.0,
            frames: 0,
            voiced: 0,
            window_sq: 0.0,
            window_n: 0,
            window_peak: 0,
            last_voiced: false,
        }
    }

    /// Feeds samples; returns a [`Level`] every ~100 ms of audio.
    pub fn push(&mut self, rate: u32, samples: &[i16]) -> Vec<Level> {
        if rate != self.rate {
            *self = SpeechAnalyzer::new(rate);
        }
        let frame_len = (self.rate / 50).max(1) as usize;
        let mut levels = Vec::new();
        for &s in samples {
            self.frame.push(s);
            let v = i32::from(s);
            self.window_sq += f64::from(v * v);
            self.window_n += 1;
            self.window_peak = self.window_peak.max(v.abs());
            if self.frame.len() == frame_len {
                let sq: f64 = self
                    .frame
                    .iter()
                    .map(|&x| f64::from(i32::from(x) * i32::from(x)))
                    .sum();
                let rms_db = db((sq / frame_len as f64).sqrt() / 32_768.0);
                let voiced = rms_db > -50.0 && rms_db > self.noise_floor_db + 12.0;
                if rms_db < self.noise_floor_db {
                    self.noise_floor_db = rms_db.max(-90.0);
                } else {
                    self.noise_floor_db += 0.05;
                }
                self.frames += 1;
                self.voiced += u64::from(voiced);
                self.last_voiced = voiced;
                self.frame.clear();
            }
            if self.window_n >= u64::from(self.rate / 10) {
                levels.push(Level {
                    rms_db: db((self.window_sq / self.window_n as f64).sqrt() / 32_768.0),
                    peak_db: db(f64::from(self.window_peak) / 32_768.0),
                    voiced: self.last_voiced,
                });
                self.window_sq = 0.0;
                self.window_n = 0;
                self.window_peak = 0;
            }
        }
        levels
    }

    /// Fraction of voiced 20 ms frames so far (0 when nothing was heard yet).
    pub fn speech_fraction(&self) -> f32 {
        if self.frames == 0 {
            0.0
        } else {
            self.voiced as f32 / self.frames as f32
        }
    }

    /// Number of 20 ms frames analysed.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_voice_is_mostly_voiced_and_silence_is_not() {
        let mut g = VoiceGen {
            rate: 48_000,
            n: 0,
            noise: 1,
        };
        let voice: Vec<i16> = (0..48_000 * 5).map(|_| g.next()).collect();
        let mut a = SpeechAnalyzer::new(48_000);
        a.push(48_000, &voice);
        assert!(
            a.speech_fraction() > 0.4,
            "voice fraction {}",
            a.speech_fraction()
        );
        let mut s = SpeechAnalyzer::new(48_000);
        s.push(48_000, &vec![3i16; 48_000 * 5]);
        assert!(
            s.speech_fraction() < 0.01,
            "silence fraction {}",
            s.speech_fraction()
        );
    }

    #[test]
    fn steady_hum_stops_counting_as_speech() {
        let hum: Vec<i16> = (0..48_000 * 30)
            .map(|i| ((i as f64 * 0.0131).sin() * 3000.0) as i16)
            .collect();
        let mut a = SpeechAnalyzer::new(48_000);
        a.push(48_000, &hum);
        assert!(
            a.speech_fraction() < 0.5,
            "hum fraction {}",
            a.speech_fraction()
        );
    }

    #[test]
    fn wav_reader_rejects_garbage_and_reads_pcm() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("bad.wav");
        std::fs::write(&bad, b"not a wav").expect("write");
        assert!(matches!(read_wav(&bad), Err(MicError::Wav { .. })));
        let good = dir.path().join("good.wav");
        let mut f = Vec::new();
        let samples: [i16; 4] = [0, 1000, -1000, 32_767];
        f.extend_from_slice(b"RIFF");
        f.extend_from_slice(&(36u32 + 8).to_le_bytes());
        f.extend_from_slice(b"WAVEfmt ");
        f.extend_from_slice(&16u32.to_le_bytes());
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&22_050u32.to_le_bytes());
        f.extend_from_slice(&44_100u32.to_le_bytes());
        f.extend_from_slice(&2u16.to_le_bytes());
        f.extend_from_slice(&16u16.to_le_bytes());
        f.extend_from_slice(b"data");
        f.extend_from_slice(&8u32.to_le_bytes());
        for s in samples {
            f.extend_from_slice(&s.to_le_bytes());
        }
        std::fs::write(&good, &f).expect("write");
        let pcm = read_wav(&good).expect("reads");
        assert_eq!(
            pcm,
            Pcm {
                rate: 22_050,
                samples: samples.to_vec()
            }
        );
    }
}

//! booth-hardware: the booth's devices (camera, microphone, recorder, receipt printer, scanner),
//! each behind a trait with a real backend and a simulated one chosen by config.
//!
//! ## Recording: the choices and why
//!
//! - **GStreamer** (gstreamer-rs 0.25, feature `v1_22`: Debian 12 ships GStreamer 1.22) does
//!   capture, encoding and muxing. V4L2 capture, VA-API/x264/openh264/VP8 encoders and the
//!   muxers are plugins, so the same pipeline runs on the booth and, with test sources, on CI.
//! - **Container, chosen with the encoder** ([`recorder::encoder`]): fragmented MP4
//!   (H.264 + Opus) when an H.264 encoder exists (VA-API, else x264 `veryfast`/`zerolatency`,
//!   else openh264), WebM (VP8 + Opus) otherwise. Both play in Chromium (the operator's page)
//!   and both survive truncation: `mp4mux fragment-duration=1000` writes a `moof` fragment
//!   every second and `webmmux` writes clusters as they fill, so a take cut short still plays
//!   up to its last second. H.264 comes first because VA-API costs almost no CPU and x264 is
//!   cheaper than libvpx in real time on the booth's two cores (see the recorder bench).
//!   Opus, not AAC, for audio: one encoder (`opusenc`, plugins-base) for both containers,
//!   no libav, and clear speech at 64 kbit/s.
//! - **The microphone has one owner: cpal** ([`microphone`]). Its samples feed the level
//!   meter, the speech-presence estimate and, through `appsrc`, the recording, so the meter
//!   shows exactly what is recorded and the device check needs no second capture path.
//!   Simulated microphones (generated voice, silence, a WAV file) deliver through the same
//!   `MicSink`, paced in real time.
//! - **v4l** lists cameras, formats, sizes and rates (for `booth-diag` and for choosing raw or
//!   MJPEG caps) without building a pipeline.
//! - **age** (X25519 recipients) seals recordings ([`seal`]): a small, reviewed format with
//!   streaming encryption; only the central service holds the identity.
//! - **nix** gives `statvfs` (free space of the outbox) without `unsafe`.
//!
//! Architecture invariant: only this crate touches devices. Every device that is not `Send`
//! (a cpal stream, an escpos driver, a GStreamer main loop) has one owner thread; others talk
//! to it through a channel.

pub mod camera;
pub mod diag;
pub mod microphone;
pub mod printer;
pub mod recorder;
pub mod seal;

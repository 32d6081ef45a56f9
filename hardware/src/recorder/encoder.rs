//! Run-time choice of the video encoder and, with it, the container: VA-API H.264 when the
//! booth has the hardware, else x264, else openh264 (all in fragmented MP4), else VP8 (WebM).
//! Audio is always Opus, which both containers carry and Chromium plays.

use gstreamer as gst;
use gstreamer::prelude::*;
use serde::Serialize;

use super::RecorderError;

/// What the configuration asks for (`recorder.encoder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EncoderPreference {
    /// The best available, in the order VA-API, x264, openh264, VP8.
    Auto,
    /// Only this encoder; a missing one is an error, not a silent fallback.
    Only(VideoEncoder),
}

impl EncoderPreference {
    /// Parses `"auto"`, `"vaapi"`, `"x264"`, `"openh264"` or `"vp8"`.
    pub fn parse(s: &str) -> Option<EncoderPreference> {
        Some(match s {
            "auto" => EncoderPreference::Auto,
            "vaapi" => EncoderPreference::Only(VideoEncoder::Vaapi),
            "x264" => EncoderPreference::Only(VideoEncoder::X264),
            "openh264" => EncoderPreference::Only(VideoEncoder::Openh264),
            "vp8" => EncoderPreference::Only(VideoEncoder::Vp8),
            _ => return None,
        })
    }
}

/// A video encoder the recorder can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoEncoder {
    /// Intel/AMD hardware H.264 through VA-API (`vaapih264enc`).
    Vaapi,
    /// x264 in software, `veryfast` + `zerolatency` (`x264enc`).
    X264,
    /// Cisco's openh264 in software (`openh264enc`).
    Openh264,
    /// libvpx VP8 in real-time mode (`vp8enc`).
    Vp8,
}

/// The preference order of [`EncoderPreference::Auto`].
pub const LADDER: [VideoEncoder; 4] = [
    VideoEncoder::Vaapi,
    VideoEncoder::X264,
    VideoEncoder::Openh264,
    VideoEncoder::Vp8,
];

/// The file format of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Container {
    /// Fragmented MP4 (H.264 + Opus): a `moof` every second, so a truncated file still plays.
    FragmentedMp4,
    /// WebM (VP8 + Opus): clusters written as they fill, so a truncated file still plays.
    WebM,
}

impl Container {
    /// File extension without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Container::FragmentedMp4 => "mp4",
            Container::WebM => "webm",
        }
    }

    /// MIME type with codecs, as stored in the outbox row and sent with the upload.
    pub fn content_type(self) -> &'static str {
        match self {
            Container::FragmentedMp4 => "video/mp4; codecs=\"avc1, opus\"",
            Container::WebM => "video/webm; codecs=\"vp8, opus\"",
        }
    }

    /// The container of a file, from its extension.
    pub fn from_path(path: &std::path::Path) -> Option<Container> {
        match path.extension()?.to_str()? {
            "mp4" => Some(Container::FragmentedMp4),
            "webm" => Some(Container::WebM),
            _ => None,
        }
    }

    pub(crate) fn muxer(self) -> &'static str {
        match self {
            Container::FragmentedMp4 => "mp4mux",
            Container::WebM => "webmmux",
        }
    }
}

impl VideoEncoder {
    /// The GStreamer element.
    pub fn element(self) -> &'static str {
        match self {
            VideoEncoder::Vaapi => "vaapih264enc",
            VideoEncoder::X264 => "x264enc",
            VideoEncoder::Openh264 => "openh264enc",
            VideoEncoder::Vp8 => "vp8enc",
        }
    }

    /// The Debian package that provides the element.
    pub fn package(self) -> &'static str {
        match self {
            VideoEncoder::Vaapi => "gstreamer1.0-vaapi",
            VideoEncoder::X264 => "gstreamer1.0-plugins-ugly",
            VideoEncoder::Openh264 => "gstreamer1.0-plugins-bad",
            VideoEncoder::Vp8 => "gstreamer1.0-plugins-good",
        }
    }

    /// The container this encoder's stream goes into.
    pub fn container(self) -> Container {
        match self {
            VideoEncoder::Vp8 => Container::WebM,
            _ => Container::FragmentedMp4,
        }
    }

    /// Elements that must exist besides the encoder (parser, muxer).
    fn companions(self) -> &'static [&'static str] {
        match self {
            VideoEncoder::Vp8 => &["webmmux", "opusenc"],
            _ => &["h264parse", "mp4mux", "opusenc"],
        }
    }

    /// Whether the encoder and its companions are installed. For VA-API this also needs a
    /// working GPU: the element only registers when the driver loads.
    pub fn available(self) -> bool {
        if super::init().is_err() {
            return false;
        }
        std::iter::once(self.element())
            .chain(self.companions().iter().copied())
            .all(|e| gst::ElementFactory::find(e).is_some())
    }

    /// Creates and configures the encoder for `width`×`height` at `fps`.
    pub(crate) fn make(
        self,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<gst::Element, RecorderError> {
        // About 0.09 bit per pixel and frame: 2.5 Mbit/s at 720p30, plenty for a talking head.
        let kbit = (u64::from(width) * u64::from(height) * u64::from(fps) * 9 / 100 / 1000)
            .clamp(300, 8000) as u32;
        let e = gst::ElementFactory::make(self.element())
            .name("encoder")
            .build()
            .map_err(|_| RecorderError::EncoderMissing {
                element: self.element().into(),
                package: self.package().into(),
            })?;
        let gop = fps.max(1) * 2;
        match self {
            VideoEncoder::Vaapi => {
                e.set_property("bitrate", kbit);
                e.set_property("keyframe-period", gop);
            }
            VideoEncoder::X264 => {
                e.set_property_from_str("speed-preset", "veryfast");
                e.set_property_from_str("tune", "zerolatency");
                e.set_property("bitrate", kbit);
                e.set_property("key-int-max", gop);
            }
            VideoEncoder::Openh264 => {
                e.set_property("bitrate", kbit * 1000);
                e.set_property("gop-size", gop);
            }
            VideoEncoder::Vp8 => {
                e.set_property("deadline", 1i64);
                e.set_property("cpu-used", 8i32);
                e.set_property("threads", 2i32);
                e.set_property("lag-in-frames", 0i32);
                e.set_property_from_str("end-usage", "cbr");
                e.set_property("target-bitrate", (kbit * 1000) as i32);
                e.set_property("keyframe-max-dist", gop as i32);
            }
        }
        Ok(e)
    }
}

/// The encoder in use and why it was chosen (for the log and `booth-diag`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EncoderChoice {
    /// The chosen encoder.
    pub encoder: VideoEncoder,
    /// One line, e.g. "vaapih264enc not available (gstreamer1.0-vaapi or no GPU); using x264enc".
    pub reason: String,
}

/// Picks the encoder for `pref` (initialising GStreamer if needed).
pub fn choose_encoder(pref: EncoderPreference) -> Result<EncoderChoice, RecorderError> {
    super::init()?;
    match pref {
        EncoderPreference::Only(e) => {
            if e.available() {
                Ok(EncoderChoice {
                    encoder: e,
                    reason: format!("{} configured explicitly", e.element()),
                })
            } else {
                Err(RecorderError::EncoderMissing {
                    element: e.element().into(),
                    package: e.package().into(),
                })
            }
        }
        EncoderPreference::Auto => {
            let mut skipped = Vec::new();
            for e in LADDER {
                if e.available() {
                    let reason = if skipped.is_empty() {
                        format!("{} is the first choice and is available", e.element())
                    } else {
                        format!(
                            "{} not available; using {}",
                            skipped.join(", "),
                            e.element()
                        )
                    };
                    return Ok(EncoderChoice { encoder: e, reason });
                }
                skipped.push(format!("{} ({})", e.element(), e.package()));
            }
            Err(RecorderError::EncoderMissing {
                element: "x264enc".into(),
                package: VideoEncoder::X264.package().into(),
            })
        }
    }
}

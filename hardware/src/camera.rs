//! The booth's camera: discovery of V4L2 devices and their formats (for `booth-diag` and the
//! capture caps), and the live video source of the recorder behind one [`Camera`] trait with
//! a real backend ([`V4l2Camera`], GStreamer `v4l2src`) and a simulated one
//! ([`SimulatedCamera`], a moving person-sized shape with a burnt-in clock).

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use serde::Serialize;

use crate::recorder::RecorderError;

/// Name of the camera bin inside every pipeline; errors from elements whose name starts with
/// it are reported as camera failures.
pub const CAMERA_BIN: &str = "camera";

/// A live video source. Implementations build a GStreamer bin named [`CAMERA_BIN`] with one
/// `src` pad giving raw video of exactly the asked size and frame rate.
pub trait Camera: Send + Sync + Debug {
    /// Human-readable description for logs and diagnostics (no personal data).
    fn describe(&self) -> String;

    /// Builds the source bin. Fails with a typed error naming the missing element or device.
    fn source(&self, width: u32, height: u32, fps: u32) -> Result<gst::Bin, RecorderError>;
}

fn make(factory: &str, name: &str) -> Result<gst::Element, RecorderError> {
    crate::recorder::init()?;
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .map_err(|_| RecorderError::ElementMissing {
            element: factory.into(),
            package: crate::recorder::package_of(factory).into(),
        })
}

fn raw_caps(width: u32, height: u32, fps: u32) -> gst::Caps {
    gst::Caps::builder("video/x-raw")
        .field("width", width as i32)
        .field("height", height as i32)
        .field("framerate", gst::Fraction::new(fps as i32, 1))
        .build()
}

/// Wraps a chain of elements into a bin named [`CAMERA_BIN`] with a ghost `src` pad.
fn bin_of(chain: &[gst::Element]) -> Result<gst::Bin, RecorderError> {
    let bin = gst::Bin::builder().name(CAMERA_BIN).build();
    let link_err = |detail: String| RecorderError::Pipeline {
        element: CAMERA_BIN.into(),
        detail,
    };
    bin.add_many(chain).map_err(|e| link_err(e.to_string()))?;
    gst::Element::link_many(chain).map_err(|e| link_err(e.to_string()))?;
    let last = chain
        .last()
        .ok_or_else(|| link_err("empty camera chain".into()))?;
    let pad = last
        .static_pad("src")
        .ok_or_else(|| link_err("camera chain has no src pad".into()))?;
    let ghost = gst::GhostPad::builder_with_target(&pad)
        .map_err(|e| link_err(e.to_string()))?
        .name("src")
        .build();
    bin.add_pad(&ghost).map_err(|e| link_err(e.to_string()))?;
    Ok(bin)
}

/// A simulated camera for development, tests and the demo: a large soft disc (about the size
/// of a head and shoulders) moving over a dark background, with the wall-clock date and time
/// burnt into the top-left corner, as a live source paced by the pipeline clock.
#[derive(Debug, Clone, Default)]
pub struct SimulatedCamera {
    /// Simulates an unplugged camera: after this much running time the source posts the same
    /// `ResourceError::Read` that `v4l2src` posts when a USB camera disappears.
    pub fail_after: Option<Duration>,
}

impl Camera for SimulatedCamera {
    fn describe(&self) -> String {
        "simulated camera (videotestsrc ball + clockoverlay)".into()
    }

    fn source(&self, width: u32, height: u32, fps: u32) -> Result<gst::Bin, RecorderError> {
        let src = make("videotestsrc", "camera-src")?;
        src.set_property("is-live", true);
        src.set_property_from_str("pattern", "ball");
        src.set_property("background-color", 0xff30_4050u32);
        src.set_property("foreground-color", 0xffe0_c090u32);
        // The ball is ~20 px across whatever the frame size: drawing a small frame and scaling it
        // up makes it person-sized and costs far less than drawing at 720p.
        let small_w = 96.min(width).max(16);
        let small_h = (small_w * height / width.max(1)).max(9);
        let small = make("capsfilter", "camera-small")?;
        small.set_property("caps", raw_caps(small_w, small_h, fps));
        let scale = make("videoscale", "camera-scale")?;
        let caps = make("capsfilter", "camera-caps")?;
        caps.set_property("caps", raw_caps(width, height, fps));
        let mut chain = vec![src.clone(), small, scale, caps];
        match make("clockoverlay", "camera-clock") {
            Ok(clock) => {
                clock.set_property("time-format", "%Y-%m-%d %H:%M:%S");
                clock.set_property("font-desc", format!("Sans {}", (height / 26).max(8)));
                clock.set_property("shaded-background", true);
                chain.push(clock);
            }
            // Without the pango plugin the scene still moves; only the clock is missing.
            Err(_) => tracing::warn!(
                "clockoverlay missing (install gstreamer1.0-x): simulated camera without clock"
            ),
        }
        if let Some(after) = self.fail_after {
            install_failure(&src, after);
        }
        bin_of(&chain)
    }
}

/// After `after` of stream time, makes `element` post a read error and stop producing, as an
/// unplugged device does.
fn install_failure(element: &gst::Element, after: Duration) {
    let Some(pad) = element.static_pad("src") else {
        return;
    };
    let weak = element.downgrade();
    let failed = Arc::new(AtomicBool::new(false));
    let after = gst::ClockTime::from_nseconds(after.as_nanos() as u64);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let late = info
            .buffer()
            .and_then(|b| b.pts())
            .is_some_and(|pts| pts >= after);
        if !late {
            return gst::PadProbeReturn::Ok;
        }
        if !failed.swap(true, Ordering::SeqCst)
            && let Some(e) = weak.upgrade()
        {
            gst::element_error!(
                e,
                gst::ResourceError::Read,
                ["Could not read from resource: device disconnected (simulated)"]
            );
        }
        gst::PadProbeReturn::Drop
    });
}

/// A USB (UVC) camera through V4L2. Raw YUY2 is used when the device offers the size and
/// rate, else MJPEG decoded with `jpegdec` (most webcams give 720p30 only as MJPEG).
#[derive(Debug, Clone)]
pub struct V4l2Camera {
    /// Device node, e.g. `/dev/booth-camera`.
    pub device: PathBuf,
}

impl Camera for V4l2Camera {
    fn describe(&self) -> String {
        format!("V4L2 camera {}", self.device.display())
    }

    fn source(&self, width: u32, height: u32, fps: u32) -> Result<gst::Bin, RecorderError> {
        let info = probe_device(&self.device).map_err(|e| RecorderError::CameraFailed {
            element: "camera-src".into(),
            detail: format!("cannot open {}: {e}", self.device.display()),
        })?;
        let offers = |fourcc: &str| {
            info.formats.iter().any(|f| {
                f.fourcc == fourcc
                    && f.sizes
                        .iter()
                        .any(|s| s.width == width && s.height == height)
            })
        };
        let src = make("v4l2src", "camera-src")?;
        src.set_property("device", self.device.to_string_lossy().to_string());
        let caps = make("capsfilter", "camera-caps")?;
        let mut chain = vec![src];
        if !offers("YUYV") && offers("MJPG") {
            caps.set_property(
                "caps",
                gst::Caps::builder("image/jpeg")
                    .field("width", width as i32)
                    .field("height", height as i32)
                    .field("framerate", gst::Fraction::new(fps as i32, 1))
                    .build(),
            );
            chain.push(caps);
            chain.push(make("jpegdec", "camera-jpegdec")?);
        } else {
            caps.set_property("caps", raw_caps(width, height, fps));
            chain.push(caps);
        }
        chain.push(make("videoconvert", "camera-convert")?);
        bin_of(&chain)
    }
}

/// A still picture held in front of the camera: a PNG or JPEG file shown as a live source,
/// letterboxed into the asked frame size. Used where a test or the demo needs the camera to
/// see something definite, e.g. a printed receipt whose QR code the lookup screen must read.
#[derive(Debug, Clone)]
pub struct ImageCamera {
    /// The picture (`.png`, `.jpg` or `.jpeg`).
    pub path: PathBuf,
}

impl Camera for ImageCamera {
    fn describe(&self) -> String {
        "still-picture camera (test image)".into()
    }

    fn source(&self, width: u32, height: u32, fps: u32) -> Result<gst::Bin, RecorderError> {
        let ext = self
            .path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let decoder = match ext.as_str() {
            "png" => "pngdec",
            "jpg" | "jpeg" => "jpegdec",
            _ => {
                return Err(RecorderError::Config {
                    key: "recorder.camera_device".into(),
                    message: format!(
                        "the still-picture camera needs a .png or .jpg file, not {}",
                        self.path.display()
                    ),
                });
            }
        };
        if !self.path.is_file() {
            return Err(RecorderError::CameraFailed {
                element: "camera-src".into(),
                detail: format!("no picture at {}", self.path.display()),
            });
        }
        let src = make("filesrc", "camera-src")?;
        src.set_property("location", self.path.to_string_lossy().to_string());
        let dec = make(decoder, "camera-decode")?;
        let convert = make("videoconvert", "camera-convert")?;
        let freeze = make("imagefreeze", "camera-freeze")?;
        freeze.set_property("is-live", true);
        let scale = make("videoscale", "camera-scale")?;
        scale.set_property("add-borders", true);
        let rate = make("videorate", "camera-rate")?;
        let caps = make("capsfilter", "camera-caps")?;
        caps.set_property("caps", raw_caps(width, height, fps));
        bin_of(&[src, dec, convert, freeze, scale, rate, caps])
    }
}

/// Builds the camera that `recorder.camera` names: `"simulated"`, `"v4l2"` or `"image"`
/// (a still picture from `recorder.camera_device`).
pub fn camera_from_config(
    section: &booth_core::config::RecorderSection,
) -> Result<Arc<dyn Camera>, RecorderError> {
    match section.camera.as_str() {
        "simulated" => Ok(Arc::new(SimulatedCamera::default())),
        "v4l2" => Ok(Arc::new(V4l2Camera {
            device: section.camera_device.clone().into(),
        })),
        "image" => Ok(Arc::new(ImageCamera {
            path: section.camera_device.clone().into(),
        })),
        other => Err(RecorderError::Config {
            key: "recorder.camera".into(),
            message: format!("unknown camera {other:?}: use \"simulated\", \"v4l2\" or \"image\""),
        }),
    }
}

/// One frame size a V4L2 format offers, with its frame rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraSize {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frame rates (frames per second); empty when the device gives a continuous range.
    pub fps: Vec<f32>,
}

/// One pixel format a V4L2 device offers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraFormat {
    /// FourCC, e.g. `YUYV` or `MJPG`.
    pub fourcc: String,
    /// Driver's description.
    pub description: String,
    /// Discrete sizes (stepwise ranges are reported by their largest size).
    pub sizes: Vec<CameraSize>,
}

/// A V4L2 video capture device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraDevice {
    /// Device node.
    pub path: PathBuf,
    /// Card name, e.g. "HD Pro Webcam C920".
    pub card: String,
    /// Driver, e.g. "uvcvideo".
    pub driver: String,
    /// Bus, e.g. "usb-0000:00:14.0-1".
    pub bus: String,
    /// Capture formats.
    pub formats: Vec<CameraFormat>,
}

/// Queries one device node's identity and capture formats.
pub fn probe_device(path: &Path) -> std::io::Result<CameraDevice> {
    use v4l::video::Capture;
    let dev = v4l::Device::with_path(path)?;
    let caps = dev.query_caps()?;
    let mut formats = Vec::new();
    for desc in dev.enum_formats()? {
        let fourcc = desc.fourcc.str().unwrap_or("????").to_owned();
        let mut sizes = Vec::new();
        for fs in dev.enum_framesizes(desc.fourcc).unwrap_or_default() {
            let (width, height) = match fs.size {
                v4l::framesize::FrameSizeEnum::Discrete(d) => (d.width, d.height),
                v4l::framesize::FrameSizeEnum::Stepwise(s) => (s.max_width, s.max_height),
            };
            let fps = dev
                .enum_frameintervals(desc.fourcc, width, height)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| match i.interval {
                    v4l::frameinterval::FrameIntervalEnum::Discrete(f) if f.numerator > 0 => {
                        Some(f.denominator as f32 / f.numerator as f32)
                    }
                    _ => None,
                })
                .collect();
            sizes.push(CameraSize { width, height, fps });
        }
        formats.push(CameraFormat {
            fourcc,
            description: desc.description,
            sizes,
        });
    }
    Ok(CameraDevice {
        path: path.to_owned(),
        card: caps.card,
        driver: caps.driver,
        bus: caps.bus,
        formats,
    })
}

/// All V4L2 capture devices with their formats (empty on a machine without cameras). Nodes
/// that cannot be opened or queried (metadata nodes, busy devices) are skipped with a log line.
pub fn list_cameras() -> Vec<CameraDevice> {
    let mut out = Vec::new();
    for node in v4l::context::enum_devices() {
        match probe_device(node.path()) {
            Ok(d) if !d.formats.is_empty() => out.push(d),
            Ok(_) => {}
            Err(e) => {
                tracing::info!(device = %node.path().display(), error = %e, "camera node not usable")
            }
        }
    }
    out
}

//! Reading the receipt's QR code from camera preview frames (`rqrr`: pure Rust, no OpenCV or
//! zbar system library to install on the booth image).

use crate::ports::Frame;

/// Decodes the first QR code found in `frame`, if any.
pub fn decode(frame: &Frame) -> Option<String> {
    let luma = frame.luma();
    let (w, h) = (frame.width as usize, frame.height as usize);
    if luma.len() != w * h {
        return None;
    }
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    img.detect_grids()
        .into_iter()
        .find_map(|g| g.decode().ok().map(|(_, text)| text))
}

//! Compiles the kiosk's `.slint` files.
#[allow(unsafe_code)]
fn main() {
    // SAFETY: the build script is single-threaded here; the testing backend finds elements by
    // accessible label only when the compiler emits debug info.
    unsafe { std::env::set_var("SLINT_EMIT_DEBUG_INFO", "1") };
    slint_build::compile("ui/app.slint").expect("slint compile");
}

//! Compiles the kiosk's `.slint` files and records the build time (the clock guard refuses
//! appeals while the booth's clock reads earlier than this).
#[allow(unsafe_code)]
fn main() {
    // SAFETY: the build script is single-threaded here; the testing backend finds elements by
    // accessible label only when the compiler emits debug info.
    unsafe { std::env::set_var("SLINT_EMIT_DEBUG_INFO", "1") };
    slint_build::compile("ui/app.slint").expect("slint compile");
    // Reproducible builds set SOURCE_DATE_EPOCH; otherwise the build machine's clock.
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    println!("cargo:rustc-env=BOOTH_BUILD_EPOCH={epoch}");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}

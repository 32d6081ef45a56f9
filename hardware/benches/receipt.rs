//! Receipt benchmark (`cargo bench -p booth-hardware --bench receipt`): time to lay out and
//! rasterise one receipt (median of N), the ESC/POS job size, and one print to an in-process
//! virtual printer over TCP. Prints figures; asserts nothing about speed. With
//! `RECEIPT_PNG_DIR=docs` it also rewrites the README pictures `docs/receipt-{kk,ru,en}.png`.

use std::time::{Duration, Instant};

use booth_core::code::{RegistrationNumber, SecretCode};
use booth_core::config::PrinterSection;
use booth_core::domain::{AppealKind, Language};
use booth_hardware::printer::{
    ReceiptData, ReceiptPrinter, commands, render_receipt, sample_receipt, sim,
};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A realistic receipt for the README pictures (random code: never issued).
fn demo_receipt(lang: Language) -> Result<ReceiptData, Box<dyn std::error::Error>> {
    let (addressee, branch) = match lang {
        Language::Kk => (
            "Қазақстан Республикасы Әділет министрлігі",
            "Алматы қ., Әуезов ауданы ХҚКО бөлімшесі",
        ),
        Language::Ru => (
            "Министерство юстиции Республики Казахстан",
            "ЦОН Ауэзовского района г. Алматы",
        ),
        Language::En => (
            "Ministry of Justice of the Republic of Kazakhstan",
            "Almaty, Auezov district PSC",
        ),
    };
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(2026, m, d).ok_or("bad date");
    Ok(ReceiptData {
        branch_name: branch.into(),
        booth_id: "ALM01-BOOTH-03".into(),
        registration_number: RegistrationNumber::new("ALM01", 3, 2026, 127)?,
        recorded_at: day(11, 23)?.and_hms_opt(14, 5, 0).ok_or("bad time")?,
        addressee: addressee.into(),
        kind: AppealKind::Complaint,
        secret_code: SecretCode::generate(),
        expected_answer_date: Some(day(12, 14)?),
        language: lang,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::var("RECEIPT_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(21);
    for width in [576u32, 384] {
        for lang in Language::ALL {
            let receipt = sample_receipt(lang)?;
            let mut render = Vec::with_capacity(runs);
            let mut encode = Vec::with_capacity(runs);
            let mut job_len = 0;
            let mut height = 0;
            for _ in 0..runs {
                let t = Instant::now();
                let raster = render_receipt(&receipt, width)?;
                render.push(t.elapsed());
                let t = Instant::now();
                let job = commands::receipt_job(&raster)?;
                encode.push(t.elapsed());
                job_len = job.len();
                height = raster.height();
            }
            println!(
                "receipt_render width={width} lang={} median_ms={:.2} encode_median_ms={:.3} height_dots={height} \
                 bytes_sent={job_len} runs={runs}",
                lang.code(),
                median(render).as_secs_f64() * 1e3,
                median(encode).as_secs_f64() * 1e3,
            );
        }
    }

    // RECEIPT_PNG_DIR=docs regenerates docs/receipt-{kk,ru,en}.png.
    if let Some(out) = std::env::var_os("RECEIPT_PNG_DIR") {
        for lang in Language::ALL {
            let path = std::path::Path::new(&out).join(format!("receipt-{}.png", lang.code()));
            std::fs::write(&path, render_receipt(&demo_receipt(lang)?, 576)?.to_png()?)?;
            println!("wrote {}", path.display());
        }
    }

    let dir = std::env::temp_dir().join(format!("receipt-bench-{}", std::process::id()));
    let printer_sim = sim::spawn(&dir, 576)?;
    let cfg = PrinterSection {
        transport: "tcp".into(),
        address: printer_sim.addr.to_string(),
        ..PrinterSection::default()
    };
    let mut printer = ReceiptPrinter::from_config(&cfg)?;
    let mut prints = Vec::new();
    let mut bytes = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let report = printer.print(&sample_receipt(Language::Kk)?)?;
        prints.push(t.elapsed());
        bytes = report.bytes_sent;
    }
    println!(
        "receipt_print_tcp_virtual median_ms={:.1} bytes_sent={bytes} runs=5",
        median(prints).as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

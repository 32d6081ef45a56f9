//! `booth-printer-sim`: the virtual receipt printer for the demo, tests across processes and
//! development without hardware. Listens for ESC/POS on TCP, writes one PNG per cut into
//! `--out` (`receipt-NNNNNN-full.png` / `-partial.png`, `-errors` when something was refused or
//! not drawn, with a `.txt` beside it), answers `DLE EOT`, `GS r 1` and `GS ( H`, and takes
//! `paper-out|cover-open|near-end|jam|realtime-in-data|process-id on|off`, `at-cut
//! cover-open|paper-out|jam|none` and `status` lines on `--control` (see
//! `booth_hardware::printer::sim`). `--answer-in-raster` makes it answer `DLE EOT n` inside image
//! data like an Epson TM printer.

use std::io::IsTerminal;
use std::net::TcpListener;
use std::path::PathBuf;

use anyhow::Context;
use booth_hardware::printer::sim;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Virtual ESC/POS receipt printer: renders each cut to a PNG"
)]
struct Args {
    /// ESC/POS listen address.
    #[arg(long, default_value = "127.0.0.1:9100")]
    listen: String,
    /// Control-port listen address (line commands); off when not given.
    #[arg(long)]
    control: Option<String>,
    /// Directory for the PNGs (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Paper width in dots (576 = 80 mm, 384 = 58 mm).
    #[arg(long, default_value_t = 576)]
    width: u32,
    /// Start with the paper out.
    #[arg(long)]
    paper_out: bool,
    /// Start with the cover open.
    #[arg(long)]
    cover_open: bool,
    /// Start with the paper near its end.
    #[arg(long)]
    near_end: bool,
    /// Start with the cutter jammed.
    #[arg(long)]
    jam: bool,
    /// Answer DLE EOT n wherever those bytes arrive, inside raster and image data too, as Epson
    /// TM printers do.
    #[arg(long, alias = "realtime-in-data")]
    answer_in_raster: bool,
    /// Ignore GS ( H process ID requests, like printers without print-completion answers.
    #[arg(long)]
    no_process_id: bool,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    let state = sim::SimState::new(args.width);
    state.set_paper_out(args.paper_out);
    state.set_cover_open(args.cover_open);
    state.set_near_end(args.near_end);
    state.set_jam(args.jam);
    state.set_realtime_in_data(args.answer_in_raster);
    state.set_process_id(!args.no_process_id);
    let listener = TcpListener::bind(&args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    if let Some(control) = &args.control {
        let control_listener = TcpListener::bind(control)
            .with_context(|| format!("cannot listen on control address {control}"))?;
        let control_addr = control_listener.local_addr()?;
        let state = state.clone();
        std::thread::spawn(move || {
            if let Err(e) = sim::serve_control(control_listener, state) {
                tracing::error!(error = %e, "control port stopped");
            }
        });
        tracing::info!(control = %control_addr, "control port listening");
    }
    tracing::info!(
        listen = %listener.local_addr()?,
        out = %args.out.display(),
        width = args.width,
        answer_in_raster = args.answer_in_raster,
        process_id = !args.no_process_id,
        "virtual printer ready"
    );
    sim::serve(listener, &args.out, state)
        .with_context(|| format!("virtual printer on {} failed", args.listen))
}

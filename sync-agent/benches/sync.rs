//! Sync agent benchmark (prints figures, asserts nothing): against a real authority-sim on
//! 127.0.0.1 in this process,
//! 1. upload throughput of the agent's uploader vs `curl` sending the same-sized sealed file
//!    to the same server in the same run (tus creation + one PATCH + complete), as a ratio;
//! 2. the same with the bandwidth cap (`sync.bandwidth_kib_s`), achieved rate vs cap;
//! 3. time and peak RSS (VmHWM) of the real `sync-agent` binary draining 1 000 small appeals.
//!
//! `cargo bench -p sync-agent --bench sync` (optimised) or `cargo test -p sync-agent --bench
//! sync` (debug build, quicker to compile). Sizes: `BENCH_MB` (default 32), `BENCH_SMALL`
//! (default 1000).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use authority_sim::{RunningServer, ServeOptions};
use booth_core::config::Config;
use booth_core::store::{Store, StoreError, appeals, outbox, sync as store_sync};
use booth_core::testing::sample_new_appeal;
use booth_core::wire::{CreateAppeal, MediaInfo, paths};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sync_agent::db::Db;
use sync_agent::enroll::{EnrollOptions, enroll};
use sync_agent::http::Central;
use sync_agent::outbox::Uploader;
use sync_agent::state::StateDir;
use sync_agent::throttle::Throttle;
use tokio_util::sync::CancellationToken;

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn booth_config(root: &Path, id: &str, bw: u32) -> (Config, std::path::PathBuf) {
    let text = format!(
        "[booth]\nid = \"{id}\"\nbranch = \"ALM01\"\nnumber = 3\n\n[paths]\nstate_dir = \"{s}\"\noutbox_dir = \"{s}/outbox\"\nram_dir = \"{s}/ram\"\n\n[sync]\nbandwidth_kib_s = {bw}\npull_interval_s = 60\nheartbeat_interval_s = 600\nsocket = \"{s}/sync.sock\"\nchunk_bytes = 4194304\n",
        s = root.join("state").display()
    );
    let p = root.join("booth.toml");
    std::fs::write(&p, &text).expect("config");
    let cfg = Config::parse(&text, &p).expect("parse");
    std::fs::create_dir_all(&cfg.paths.outbox_dir).expect("outbox");
    (cfg, p)
}

/// Seals `n` files of `size` random bytes and commits them; returns their ids.
fn seal(cfg: &Config, n: usize, size: usize, recipient: &str) -> Vec<uuid::Uuid> {
    let r: age::x25519::Recipient = recipient.parse().expect("recipient");
    let mut store = Store::open(&cfg.paths.database()).expect("store");
    let mut ids = Vec::new();
    let mut plain = vec![0u8; size];
    for _ in 0..n {
        rand::rng().fill_bytes(&mut plain);
        let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
            .expect("enc");
        let mut sealed = Vec::with_capacity(size + 1024);
        let mut w = enc.wrap_output(&mut sealed).expect("wrap");
        w.write_all(&plain).expect("write");
        w.finish().expect("finish");
        let (mut new, _) = sample_new_appeal(&cfg.booth.id, chrono::Utc::now(), None);
        std::fs::write(cfg.paths.outbox_dir.join(&new.media.file_name), &sealed).expect("file");
        new.media.sealed_sha256 = hex::encode(Sha256::digest(&sealed));
        new.media.sealed_size = sealed.len() as u64;
        store
            .write(|tx| appeals::commit_appeal(tx, &new, "ALM01", 3))
            .expect("commit");
        ids.push(new.id);
    }
    ids
}

async fn enrolled(
    server: &RunningServer,
    root: &Path,
    id: &str,
    bw: u32,
) -> (Config, std::path::PathBuf, Db) {
    let (cfg, p) = booth_config(root, id, bw);
    let ca = root.join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).expect("ca");
    let db = Db::open(&cfg.paths.database()).expect("db");
    let token = server.issue_token(id).expect("token");
    enroll(
        &StateDir::new(&cfg.paths.state_dir),
        &db,
        &EnrollOptions {
            url: server.url.clone(),
            token,
            ca_cert: Some(ca),
            force: false,
        },
    )
    .await
    .expect("enroll");
    (cfg, p, db)
}

fn uploader(cfg: &Config, db: &Db, bw: u32) -> Uploader {
    Uploader {
        central: Central::from_state(&StateDir::new(&cfg.paths.state_dir)).expect("client"),
        db: db.clone(),
        outbox_dir: cfg.paths.outbox_dir.clone(),
        chunk_bytes: cfg.sync.chunk_bytes,
        throttle: Throttle::new(bw),
        cancel: CancellationToken::new(),
    }
}

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1_048_576.0 / d.as_secs_f64()
}

/// Uploads appeal `id` with curl (creation, one PATCH of the whole file, complete); returns
/// the time of those three curl calls.
async fn curl_upload(
    server: &RunningServer,
    cfg: &Config,
    db: &Db,
    id: uuid::Uuid,
) -> Option<Duration> {
    let st = StateDir::new(&cfg.paths.state_dir);
    let a = db
        .read(move |tx| store_sync::appeal_to_send(tx, id))
        .await
        .expect("appeal");
    let body = CreateAppeal {
        id,
        registration_number: a.registration_number,
        applicant: a.applicant.expect("applicant"),
        addressee_id: a.addressee_id,
        kind: a.kind,
        complaint: a.complaint,
        language: a.language,
        recorded_at: a.recorded_at,
        duration_ms: a.duration_ms,
        media: MediaInfo {
            sha256: a.media.sealed_sha256.clone(),
            size: a.media.sealed_size,
            content_type: a.media.content_type.clone(),
        },
        lookup_id: a.lookup_id,
        expected_answer_date: a.expected_answer_date,
        continuation_of: a.continuation_of,
        visit_id: a.visit_id,
    };
    let central = Central::from_state(&st).expect("client");
    let _: booth_core::wire::AppealAccepted = central
        .send_json(reqwest::Method::PUT, &paths::appeal(id), &body)
        .await
        .expect("create");
    let file = cfg.paths.outbox_dir.join(&a.media.file_name);
    let bytes = std::fs::read(&file).expect("read");
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let checksum = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes))
    };
    let tls = |c: &mut Command| {
        c.arg("-sS")
            .arg("--cacert")
            .arg(st.ca())
            .arg("--cert")
            .arg(st.cert())
            .arg("--key")
            .arg(st.key());
    };
    let start = Instant::now();
    let mut c = Command::new("curl");
    tls(&mut c);
    let out = c
        .args([
            "-X",
            "POST",
            "-D",
            "-",
            "-o",
            "/dev/null",
            "-H",
            "Tus-Resumable: 1.0.0",
            "-H",
            "Content-Length: 0",
        ])
        .arg("-H")
        .arg(format!("Upload-Length: {}", bytes.len()))
        .arg("-H")
        .arg(format!(
            "Upload-Metadata: appeal_id {},content_type {}",
            b64(&id.to_string()),
            b64("video/webm")
        ))
        .arg(format!("{}{}", server.url, paths::UPLOADS))
        .output()
        .ok()?;
    let headers = String::from_utf8_lossy(&out.stdout).into_owned();
    let loc = headers
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })?
        .trim()
        .to_owned();
    let url = if loc.starts_with('/') {
        format!("{}{loc}", server.url)
    } else {
        loc
    };
    let mut c = Command::new("curl");
    tls(&mut c);
    let ok = c
        .args([
            "-X",
            "PATCH",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            "Tus-Resumable: 1.0.0",
            "-H",
            "Upload-Offset: 0",
        ])
        .args(["-H", "Content-Type: application/offset+octet-stream"])
        .arg("-H")
        .arg(format!("Upload-Checksum: sha256 {checksum}"))
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(&url)
        .output()
        .ok()?;
    if String::from_utf8_lossy(&ok.stdout) != "204" {
        eprintln!(
            "curl PATCH answered {}",
            String::from_utf8_lossy(&ok.stdout)
        );
        return None;
    }
    let mut c = Command::new("curl");
    tls(&mut c);
    let done = c
        .args([
            "-X",
            "POST",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            "Content-Type: application/json",
            "--data",
        ])
        .arg(format!(
            "{{\"sha256\":\"{}\",\"size\":{}}}",
            a.media.sealed_sha256, a.media.sealed_size
        ))
        .arg(format!("{}{}", server.url, paths::appeal_complete(id)))
        .output()
        .ok()?;
    let elapsed = start.elapsed();
    (String::from_utf8_lossy(&done.stdout) == "200").then_some(elapsed)
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mb = env_usize("BENCH_MB", 32);
        let small = env_usize("BENCH_SMALL", 1000);
        let data = tempfile::tempdir().expect("tmp");
        let server = authority_sim::serve(ServeOptions::new("127.0.0.1:0".parse().expect("addr"), data.path().to_path_buf()))
            .await
            .expect("authority-sim");
        let recipient = server.age_recipient.clone();

        // 1. Uncapped throughput vs curl.
        let root = tempfile::tempdir().expect("tmp");
        let (cfg, _, db) = enrolled(&server, root.path(), "BENCH-1", 0).await;
        let ids = seal(&cfg, 2, mb * 1024 * 1024, &recipient);
        let (id0, id1) = (ids[0], ids[1]);
        let size: u64 = db
            .read(move |tx| Ok::<_, StoreError>(outbox::get(tx, id0)?.media.sealed_size))
            .await
            .expect("size");
        let curl = curl_upload(&server, &cfg, &db, id1).await;
        let up = uploader(&cfg, &db, 0);
        let item = db.read(move |tx| outbox::get(tx, id0)).await.expect("item");
        let t = Instant::now();
        up.deliver(&item).await.expect("agent upload");
        let agent = t.elapsed();
        println!("upload {mb} MiB sealed file, no cap: agent {:.1} MiB/s ({:.2} s)", mib_s(size, agent), agent.as_secs_f64());
        match curl {
            Some(c) => println!(
                "upload {mb} MiB sealed file: curl {:.1} MiB/s ({:.2} s); agent/curl throughput ratio {:.2}",
                mib_s(size, c),
                c.as_secs_f64(),
                c.as_secs_f64() / agent.as_secs_f64()
            ),
            None => println!("curl upload failed or curl missing: no ratio"),
        }

        // 2. With the cap.
        let cap_kib = 4096u32;
        let root2 = tempfile::tempdir().expect("tmp");
        let (cfg2, _, db2) = enrolled(&server, root2.path(), "BENCH-2", cap_kib).await;
        let capped_mb = (mb / 4).max(4);
        let ids2 = seal(&cfg2, 1, capped_mb * 1024 * 1024, &recipient);
        let id2 = ids2[0];
        let item = db2.read(move |tx| outbox::get(tx, id2)).await.expect("item");
        let up = uploader(&cfg2, &db2, cap_kib);
        let t = Instant::now();
        up.deliver(&item).await.expect("capped upload");
        let d = t.elapsed();
        println!(
            "upload {capped_mb} MiB with cap {cap_kib} KiB/s: {:.2} MiB/s achieved ({:.0}% of the cap, {:.2} s)",
            mib_s(item.media.sealed_size, d),
            100.0 * item.media.sealed_size as f64 / 1024.0 / f64::from(cap_kib) / d.as_secs_f64(),
            d.as_secs_f64()
        );

        // 3. Drain 1000 small appeals with the real binary.
        let root3 = tempfile::tempdir().expect("tmp");
        let (cfg3, cfg3_path, _db3) = enrolled(&server, root3.path(), "BENCH-3", 0).await;
        let t = Instant::now();
        seal(&cfg3, small, 4096, &recipient);
        println!("sealed {small} small appeals in {:.2} s (setup)", t.elapsed().as_secs_f64());
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync-agent"))
            .arg("--config")
            .arg(&cfg3_path)
            .arg("run")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn agent");
        let t = Instant::now();
        let mut store = Store::open(&cfg3.paths.database()).expect("store");
        let mut hwm = 0;
        loop {
            hwm = hwm.max(vm_hwm_kib(child.id()).unwrap_or(0));
            let left = store.read(|tx| Ok::<_, StoreError>(outbox::pending(tx, 10)?.len())).expect("pending");
            if left == 0 || t.elapsed() > Duration::from_secs(600) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let d = t.elapsed();
        hwm = hwm.max(vm_hwm_kib(child.id()).unwrap_or(0));
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let _ = child.wait();
        println!(
            "drain {small} small appeals (4 KiB each): {:.2} s ({:.0} appeals/s), agent peak RSS {:.1} MiB",
            d.as_secs_f64(),
            small as f64 / d.as_secs_f64(),
            hwm as f64 / 1024.0
        );
        server.shutdown().await;
    });
}

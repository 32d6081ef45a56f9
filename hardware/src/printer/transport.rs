//! Where the ESC/POS bytes go: TCP 9100, a USB printer (the Linux `usblp` node found by
//! vendor/product id in sysfs), a serial device, or a plain file. Every operation has a
//! deadline, so a dead printer becomes a typed error in seconds, never a hung kiosk.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use booth_core::config::PrinterSection;

use super::PrinterError;

/// How long connecting to a TCP printer may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long a printer may take to answer one status query.
pub const STATUS_TIMEOUT: Duration = Duration::from_millis(1000);
/// How long writing one receipt (~100 KiB) may take.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// [`Connection::drain`] stops after this long without a byte.
pub const DRAIN_QUIET: Duration = Duration::from_millis(25);
/// [`Connection::drain`] never takes longer than this.
pub const DRAIN_MAX: Duration = Duration::from_millis(300);

/// Baud rate of a serial printer when the address has no `@baud` suffix (the factory default of
/// most ESC/POS serial printers).
pub const DEFAULT_BAUD: u32 = 9600;

/// A configured printer transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Raw TCP (JetDirect / port 9100).
    Tcp(String),
    /// USB printer class device by vendor and product id.
    Usb {
        /// USB vendor id.
        vendor: u16,
        /// USB product id.
        product: u16,
    },
    /// A serial device, set to raw 8N1 at `baud` on every open.
    Serial {
        /// Device node, e.g. `/dev/ttyUSB0` (udev names it `/dev/booth-printer`).
        path: PathBuf,
        /// Baud rate.
        baud: u32,
    },
    /// Append the bytes to a file (spooling, debugging): never reports a problem.
    File(PathBuf),
    /// No printer configured: every receipt is shown on screen only.
    None,
}

impl Transport {
    /// Reads `[printer] transport` and `address`; a malformed address is an error naming the key.
    pub fn from_config(cfg: &PrinterSection) -> Result<Transport, PrinterError> {
        let bad = |message: &str| PrinterError::Config {
            key: "printer.address",
            message: message.to_owned(),
        };
        match cfg.transport.as_str() {
            "tcp" => {
                if cfg
                    .address
                    .rsplit_once(':')
                    .and_then(|(_, p)| p.parse::<u16>().ok())
                    .is_none()
                {
                    return Err(bad("tcp needs host:port, e.g. 192.168.1.50:9100"));
                }
                Ok(Transport::Tcp(cfg.address.clone()))
            }
            "usb" => {
                let (v, p) = cfg
                    .address
                    .split_once(':')
                    .ok_or_else(|| bad("usb needs vid:pid in hex, e.g. 04b8:0e15"))?;
                let hex = |s: &str| u16::from_str_radix(s.trim_start_matches("0x"), 16);
                match (hex(v), hex(p)) {
                    (Ok(vendor), Ok(product)) => Ok(Transport::Usb { vendor, product }),
                    _ => Err(bad("usb needs vid:pid in hex, e.g. 04b8:0e15")),
                }
            }
            "serial" if !cfg.address.is_empty() => {
                let (path, baud) = match cfg.address.rsplit_once('@') {
                    Some((path, baud)) => {
                        let baud = baud.parse::<u32>().ok().filter(|b| baud_rate(*b).is_some()).ok_or_else(|| {
                            bad("serial baud rate must be one of 9600, 19200, 38400, 57600, 115200")
                        })?;
                        (path, baud)
                    }
                    None => (cfg.address.as_str(), DEFAULT_BAUD),
                };
                Ok(Transport::Serial {
                    path: path.into(),
                    baud,
                })
            }
            "file" if !cfg.address.is_empty() => Ok(Transport::File(cfg.address.clone().into())),
            "serial" | "file" => Err(bad("needs a path")),
            "none" => Ok(Transport::None),
            other => Err(PrinterError::Config {
                key: "printer.transport",
                message: format!("unknown transport {other:?}: use tcp, usb, serial, file or none"),
            }),
        }
    }

    /// Human-readable target for logs and the technician.
    pub fn describe(&self) -> String {
        match self {
            Transport::Tcp(a) => format!("tcp {a}"),
            Transport::Usb { vendor, product } => format!("usb {vendor:04x}:{product:04x}"),
            Transport::Serial { path, baud } => format!("serial {} at {baud} baud", path.display()),
            Transport::File(p) => format!("file {}", p.display()),
            Transport::None => "none".into(),
        }
    }

    /// Opens a connection for one job (status queries and/or one receipt).
    pub fn connect(&self) -> Result<Connection, PrinterError> {
        let target = self.describe();
        match self {
            Transport::Tcp(address) => {
                let addrs: Vec<SocketAddr> = address
                    .to_socket_addrs()
                    .map_err(|source| PrinterError::Connect {
                        target: target.clone(),
                        source,
                    })?
                    .collect();
                let mut last =
                    std::io::Error::new(ErrorKind::NotFound, "address resolves to nothing");
                for addr in addrs {
                    match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                        Ok(s) => {
                            s.set_nodelay(true)
                                .map_err(|source| PrinterError::Connect {
                                    target: target.clone(),
                                    source,
                                })?;
                            return Ok(Connection {
                                inner: Inner::Tcp(s),
                                target,
                            });
                        }
                        Err(e) => last = e,
                    }
                }
                Err(PrinterError::Connect {
                    target,
                    source: last,
                })
            }
            Transport::Usb { vendor, product } => {
                let node = find_usblp(Path::new("/sys"), *vendor, *product).ok_or_else(|| {
                    PrinterError::Connect {
                        target: target.clone(),
                        source: std::io::Error::new(
                            ErrorKind::NotFound,
                            "no usblp device with this vendor:product",
                        ),
                    }
                })?;
                open_device(&node, target, None)
            }
            Transport::Serial { path, baud } => open_device(path, target, Some(*baud)),
            Transport::File(path) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| PrinterError::Connect {
                        target: target.clone(),
                        source,
                    })?;
                Ok(Connection {
                    inner: Inner::File(f),
                    target,
                })
            }
            Transport::None => Err(PrinterError::NoPrinter),
        }
    }
}

fn baud_rate(baud: u32) -> Option<nix::sys::termios::BaudRate> {
    use nix::sys::termios::BaudRate;
    Some(match baud {
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        115200 => BaudRate::B115200,
        _ => return None,
    })
}

/// Opens a device node non-blocking (so reads and writes honour deadlines); for a serial port
/// also switches the line to raw 8N1 at `baud`: in the default cooked mode the kernel would
/// turn LF into CR LF inside raster data and hold back status bytes until a newline.
fn open_device(path: &Path, target: String, baud: Option<u32>) -> Result<Connection, PrinterError> {
    use nix::sys::termios::{SetArg, cfmakeraw, cfsetspeed, tcgetattr, tcsetattr};
    use std::os::unix::fs::OpenOptionsExt;
    let connect_err = |source| PrinterError::Connect {
        target: target.clone(),
        source,
    };
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits() | nix::fcntl::OFlag::O_NOCTTY.bits())
        .open(path)
        .map_err(connect_err)?;
    if let Some(baud) = baud {
        let rate = baud_rate(baud).ok_or_else(|| {
            connect_err(std::io::Error::new(
                ErrorKind::InvalidInput,
                "unsupported baud rate",
            ))
        })?;
        let errno = |e: nix::errno::Errno| connect_err(std::io::Error::from(e));
        let mut t = tcgetattr(&f).map_err(errno)?;
        cfmakeraw(&mut t);
        cfsetspeed(&mut t, rate).map_err(errno)?;
        tcsetattr(&f, SetArg::TCSANOW, &t).map_err(errno)?;
    }
    Ok(Connection {
        inner: Inner::Device(f),
        target,
    })
}

/// The `/dev/usb/lpN` node of the USB printer with `vendor:product`, found through
/// `<sysfs>/class/usbmisc/lp*/device/../idVendor` (the interface's parent is the device).
pub fn find_usblp(sysfs: &Path, vendor: u16, product: u16) -> Option<PathBuf> {
    let class = sysfs.join("class/usbmisc");
    let mut names: Vec<String> = std::fs::read_dir(&class)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("lp"))
        .collect();
    names.sort();
    let read_hex = |p: PathBuf| -> Option<u16> {
        let s = std::fs::read_to_string(p).ok()?;
        u16::from_str_radix(s.trim(), 16).ok()
    };
    names.into_iter().find_map(|name| {
        let dev = class.join(&name).join("device/..");
        let ok = read_hex(dev.join("idVendor")) == Some(vendor)
            && read_hex(dev.join("idProduct")) == Some(product);
        ok.then(|| PathBuf::from("/dev/usb").join(&name))
    })
}

enum Inner {
    Tcp(TcpStream),
    Device(std::fs::File),
    File(std::fs::File),
}

/// An open connection to the printer; dropped after each job.
pub struct Connection {
    inner: Inner,
    target: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({})", self.target)
    }
}

impl Connection {
    /// What this connection talks to.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Whether the other end can answer status queries (files cannot).
    pub fn can_read(&self) -> bool {
        !matches!(self.inner, Inner::File(_))
    }

    /// Writes all of `data` within `timeout`.
    pub fn send(&mut self, data: &[u8], timeout: Duration) -> Result<(), PrinterError> {
        let target = self.target.clone();
        let io = |source| PrinterError::Io {
            target: target.clone(),
            during: "sending the receipt",
            source,
        };
        match &mut self.inner {
            Inner::Tcp(s) => {
                s.set_write_timeout(Some(timeout)).map_err(io)?;
                s.write_all(data).map_err(io)?;
                s.flush().map_err(io)
            }
            Inner::File(f) => f.write_all(data).and_then(|_| f.sync_data()).map_err(io),
            Inner::Device(f) => {
                let deadline = Instant::now() + timeout;
                let mut rest = data;
                while !rest.is_empty() {
                    match f.write(rest) {
                        Ok(0) => {
                            return Err(io(std::io::Error::new(
                                ErrorKind::WriteZero,
                                "device accepted nothing",
                            )));
                        }
                        Ok(n) => rest = &rest[n..],
                        Err(e)
                            if e.kind() == ErrorKind::WouldBlock
                                || e.kind() == ErrorKind::Interrupted =>
                        {
                            if Instant::now() >= deadline {
                                return Err(io(std::io::Error::new(
                                    ErrorKind::TimedOut,
                                    "device stopped accepting data",
                                )));
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(e) => return Err(io(e)),
                    }
                }
                Ok(())
            }
        }
    }

    /// Reads what the printer has sent, waiting at most `timeout` for the first byte; `Ok(0)`
    /// when nothing came in time. A closed connection is an error (the printer hung up).
    pub fn read_some(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, PrinterError> {
        let target = self.target.clone();
        let io = |source| PrinterError::Io {
            target: target.clone(),
            during: "reading the printer's answer",
            source,
        };
        let timed_out =
            |e: &std::io::Error| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
        match &mut self.inner {
            Inner::Tcp(s) => {
                // A zero timeout means "block forever" to the OS: never pass it.
                s.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
                    .map_err(io)?;
                loop {
                    match s.read(buf) {
                        Ok(0) => {
                            return Err(io(std::io::Error::new(
                                ErrorKind::UnexpectedEof,
                                "the printer closed the connection",
                            )));
                        }
                        Ok(n) => return Ok(n),
                        Err(e) if timed_out(&e) => return Ok(0),
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Err(io(e)),
                    }
                }
            }
            Inner::Device(f) => {
                let deadline = Instant::now() + timeout;
                loop {
                    match f.read(buf) {
                        Ok(n) if n > 0 => return Ok(n),
                        Ok(_) => {}
                        Err(e) if timed_out(&e) || e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Err(io(e)),
                    }
                    if Instant::now() >= deadline {
                        return Ok(0);
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            Inner::File(_) => Err(io(std::io::Error::new(
                ErrorKind::Unsupported,
                "a file cannot answer",
            ))),
        }
    }

    /// Throws away whatever the printer sent that nobody asked for yet (answers to status bytes
    /// hidden in earlier data, automatic status): reads until [`DRAIN_QUIET`] passes without a
    /// byte, at most [`DRAIN_MAX`] in all. Returns the number of bytes dropped.
    pub fn drain(&mut self) -> Result<usize, PrinterError> {
        let started = Instant::now();
        let mut dropped = 0;
        let mut buf = [0u8; 256];
        while started.elapsed() < DRAIN_MAX {
            match self.read_some(&mut buf, DRAIN_QUIET)? {
                0 => break,
                n => dropped += n,
            }
        }
        if dropped > 0 {
            tracing::debug!(target = %self.target, bytes = dropped, "dropped unrequested printer bytes");
        }
        Ok(dropped)
    }

    /// Drains, sends `DLE EOT n` and reads the one-byte answer within [`STATUS_TIMEOUT`]. A
    /// printer that sends nothing is [`PrinterError::NoAnswer`].
    pub fn query_status(&mut self, n: u8) -> Result<u8, PrinterError> {
        self.drain()?;
        self.send(&super::commands::dle_eot(n), STATUS_TIMEOUT)?;
        let mut b = [0u8; 1];
        match self.read_some(&mut b, STATUS_TIMEOUT)? {
            1 => Ok(b[0]),
            _ => Err(PrinterError::NoAnswer {
                target: self.target.clone(),
                waited: STATUS_TIMEOUT,
            }),
        }
    }
}

/// Plain words for an OS error met while talking to the printer, for the technician: what it
/// means at a booth rather than the OS's wording alone.
pub fn plain_io(e: &std::io::Error) -> String {
    let meaning = match e.kind() {
        ErrorKind::ConnectionRefused => {
            "nothing accepts connections there (printer off, or wrong address or port)"
        }
        ErrorKind::TimedOut | ErrorKind::WouldBlock => {
            "no answer in time (printer off, cable out, or wrong address)"
        }
        ErrorKind::NotFound => "no such device (printer unplugged, or wrong address)",
        ErrorKind::PermissionDenied => {
            "permission denied (the booth user needs the lp/dialout group)"
        }
        ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof => {
            "the printer dropped the connection (switched off or restarted?)"
        }
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
            "the network cannot reach that address"
        }
        _ => return e.to_string(),
    };
    // The OS wording stays in brackets: it is what a search engine knows.
    format!("{meaning} [{e}]")
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cfg(transport: &str, address: &str) -> PrinterSection {
        PrinterSection {
            transport: transport.into(),
            address: address.into(),
            ..PrinterSection::default()
        }
    }

    #[test]
    fn parses_config() {
        assert_eq!(
            Transport::from_config(&cfg("tcp", "10.0.0.5:9100")).ok(),
            Some(Transport::Tcp("10.0.0.5:9100".into()))
        );
        assert_eq!(
            Transport::from_config(&cfg("usb", "04b8:0e15")).ok(),
            Some(Transport::Usb {
                vendor: 0x04b8,
                product: 0x0e15
            })
        );
        assert_eq!(
            Transport::from_config(&cfg("none", "")).ok(),
            Some(Transport::None)
        );
        assert_eq!(
            Transport::from_config(&cfg("serial", "/dev/ttyUSB0")).ok(),
            Some(Transport::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: DEFAULT_BAUD
            })
        );
        assert_eq!(
            Transport::from_config(&cfg("serial", "/dev/booth-printer@115200")).ok(),
            Some(Transport::Serial {
                path: "/dev/booth-printer".into(),
                baud: 115200
            })
        );
        for (t, a, key) in [
            ("tcp", "nohost", "printer.address"),
            ("usb", "epson", "printer.address"),
            ("lpd", "x", "printer.transport"),
            ("file", "", "printer.address"),
            ("serial", "/dev/ttyS0@1234", "printer.address"),
        ] {
            match Transport::from_config(&cfg(t, a)) {
                Err(PrinterError::Config { key: k, .. }) => assert_eq!(k, key, "{t} {a}"),
                other => panic!("{t} {a}: expected a config error, got {other:?}"),
            }
        }
    }

    #[test]
    fn finds_usblp_in_a_sysfs_tree() {
        let root = tempfile::tempdir().expect("tempdir");
        let sys = root.path();
        // Real layout: class/usbmisc/lp0/device -> ../../../devices/.../1-1/1-1:1.0
        let dev = sys.join("devices/usb1/1-1");
        let iface = dev.join("1-1:1.0");
        std::fs::create_dir_all(&iface).expect("mkdir");
        std::fs::write(dev.join("idVendor"), "04b8\n").expect("write");
        std::fs::write(dev.join("idProduct"), "0e15\n").expect("write");
        let lp = sys.join("class/usbmisc/lp0");
        std::fs::create_dir_all(&lp).expect("mkdir");
        std::os::unix::fs::symlink(&iface, lp.join("device")).expect("symlink");
        assert_eq!(
            find_usblp(sys, 0x04b8, 0x0e15),
            Some(PathBuf::from("/dev/usb/lp0"))
        );
        assert_eq!(find_usblp(sys, 0x04b8, 0x0001), None);
    }
}

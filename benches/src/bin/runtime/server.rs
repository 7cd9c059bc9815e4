//! The measured process: `target/release/journey run journeys/` on a data folder of its own,
//! with the file transport (the default), no token (loopback), logs at `warn` to a file. Also
//! what the benchmark reads around it: `/metrics`, `/proc/<pid>/status`, the outbox folder, the
//! size of the data folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;
use crate::http::Client;

/// Where the binary and the journeys are.
#[derive(Clone)]
pub struct Setup {
    /// `target/release/journey`.
    pub binary: PathBuf,
    /// The shipped `journeys/` folder.
    pub journeys: PathBuf,
    /// Whether new stores are compressed (`[store] compression`).
    pub compressed: bool,
    /// Whether the store is in memory (`[store] backend = "memory"`).
    pub memory: bool,
}

/// A running `journey run`, killed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data folder.
    pub data: PathBuf,
    log: PathBuf,
}

/// A port nobody listens on now.
fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Server {
    /// Starts `journey run` on `data` (made if missing) with the clock `speed` times faster, and
    /// waits until `/healthz` answers. Returns the server and how long that took.
    pub async fn start(
        setup: &Setup,
        data: &Path,
        speed: u32,
    ) -> Result<(Server, Duration), Error> {
        std::fs::create_dir_all(data)?;
        let parent = data.parent().unwrap_or(data);
        let config = data.with_extension("toml");
        std::fs::write(
            &config,
            format!(
                "[log]\nlevel = \"warn\"\n\n[store]\ncompression = {}\nbackend = \"{}\"\n",
                setup.compressed,
                if setup.memory { "memory" } else { "sled" }
            ),
        )?;
        let port = free_port()?;
        let log = data.with_extension(format!("log-{port}"));
        let started = Instant::now();
        let child = Command::new(&setup.binary)
            .arg("run")
            .arg(&setup.journeys)
            .arg("--config")
            .arg(&config)
            .arg("--data")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--speed", &speed.to_string()])
            .current_dir(parent)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .map_err(|e| Error(format!("cannot start {}: {e}", setup.binary.display())))?;
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            data: data.to_path_buf(),
            log,
        };
        server.wait_healthy(Duration::from_secs(600)).await?;
        Ok((server, started.elapsed()))
    }

    /// Polls `/healthz` every 5 ms until it answers 200.
    async fn wait_healthy(&mut self, limit: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error(format!(
                    "journey run exited ({status}) before answering:\n{}",
                    self.log_tail()
                )));
            }
            let mut client = Client::new(self.addr);
            if let Ok(response) = client.request("GET", "/healthz", None).await
                && response.status == 200
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(Error(format!(
            "journey run did not answer /healthz in {} s:\n{}",
            limit.as_secs(),
            self.log_tail()
        )))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines
            .get(lines.len().saturating_sub(20)..)
            .unwrap_or_default()
            .join("\n")
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) -> Result<(), Error> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM (a clean stop: the last commit, deliveries in flight), and wait up to a minute.
    pub fn terminate(&mut self) -> Result<(), Error> {
        Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(Error(format!(
                        "journey run stopped with {status}:\n{}",
                        self.log_tail()
                    )))
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(Error("journey run did not stop on SIGTERM".to_string()))
    }

    /// Peak and current resident memory of the process.
    pub fn memory(&self) -> Result<Memory, Error> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kib = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(Memory {
            peak: kib("VmHWM:") * 1024,
            now: kib("VmRSS:") * 1024,
        })
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> Result<Metrics, Error> {
        let text = Client::new(self.addr)
            .expect("GET", "/metrics", None, 200)
            .await?;
        Ok(Metrics(text))
    }

    /// The outbox folder of the file transport.
    pub fn outbox(&self) -> PathBuf {
        self.data.join("outbox")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory, in bytes.
#[derive(Clone, Copy, Default)]
pub struct Memory {
    /// `VmHWM`: the peak.
    pub peak: u64,
    /// `VmRSS`: now.
    pub now: u64,
}

/// The Prometheus text of `/metrics`.
pub struct Metrics(String);

impl Metrics {
    /// The value of a metric without labels (0 if absent).
    pub fn get(&self, name: &str) -> f64 {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let (key, value) = line.split_once(' ')?;
                (key == name).then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0.0)
    }
}

/// Bytes a folder takes: the sum of file lengths (`du -sb`) and of allocated blocks (`du -sB1`).
pub fn disk_usage(folder: &Path) -> Result<(u64, u64), Error> {
    use std::os::unix::fs::MetadataExt;
    let mut apparent = 0;
    let mut allocated = 0;
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        if metadata.is_dir() {
            let (a, b) = disk_usage(&entry.path())?;
            apparent += a;
            allocated += b;
        } else {
            apparent += metadata.len();
            allocated += metadata.blocks() * 512;
        }
    }
    Ok((apparent, allocated))
}

/// The `.eml` files of an outbox folder.
pub fn emails(outbox: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(outbox)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default()
}

/// The value of a header of a message (the first occurrence, unfolded lines only).
pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then_some(value.trim())
        })
}

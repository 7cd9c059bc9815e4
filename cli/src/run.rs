//! `journey run`: the durable runtime. Compiles the journey folder, opens the store in the data
//! folder (sled: nothing to install), deploys, serves the ingest API, fires timers and delivers
//! messages until SIGTERM or Ctrl-C; `SIGHUP` recompiles and deploys the folder again (a folder
//! that does not compile is refused and the running versions stay).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use journey_runtime::api::Api;
use journey_runtime::config::{Config, StoreBackend};
use journey_runtime::engine::{self, Clock, Engine, Fast, SystemClock};
use journey_runtime::store::{Backend, Memory, Sled, Store};

use crate::check::usage_error;

/// Arguments of `journey run`.
#[derive(clap::Args)]
pub struct Args {
    /// The folder of `.journey` files (default: `journeys`, or `journeys` of the config file).
    journeys: Option<PathBuf>,
    /// The configuration file (default: `journey.toml` if there is one; every key is optional).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The data folder (store and outbox); overrides the config file.
    #[arg(long)]
    data: Option<PathBuf>,
    /// The address to listen on, e.g. `127.0.0.1:8787`; overrides the config file.
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Run the clock this many times faster, to try journeys out (never with real customers).
    #[arg(long)]
    speed: Option<u32>,
}

fn load_config(args: &Args) -> Result<Config, String> {
    let mut config = match &args.config {
        Some(path) => Config::read(path).map_err(|e| e.0)?,
        None if std::path::Path::new("journey.toml").exists() => {
            Config::read(std::path::Path::new("journey.toml")).map_err(|e| e.0)?
        }
        None => Config::default(),
    };
    if let Some(data) = &args.data {
        config.data = Some(data.clone());
    }
    if let Some(listen) = args.listen {
        config.ingest.listen = listen;
    }
    if let Some(speed) = args.speed {
        config.clock_speed = Some(speed);
    }
    if let Some(journeys) = &args.journeys {
        config.journeys = Some(journeys.clone());
    }
    config.ingest.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// Starts the runtime and serves until stopped.
pub fn run(args: &Args) -> ExitCode {
    let config = match load_config(args) {
        Ok(config) => config,
        Err(message) => return usage_error(&message),
    };
    init_logs(&config.log.level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return usage_error(&format!("cannot start the async runtime: {error}")),
    };
    runtime.block_on(serve(config))
}

fn init_logs(level: &str) {
    let level = match level {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// The engine's source of programs: the journey folder, compiled for a deploy over every version
/// the engine keeps (`migrate` lines checked against them).
fn source(folder: PathBuf) -> journey_runtime::engine::Source {
    Arc::new(move |library: &journey_runtime::vm::Library| {
        let running = library
            .programs()
            .map(|program| journey_compiler::check::migrations::RunningVersion::of(program))
            .collect();
        crate::compile::compile(std::slice::from_ref(&folder), false, Some(running))
            .map(|compiled| (compiled.programs, compiled.warnings))
            .map_err(|refused| refused.report)
    })
}

/// Deploys the folder (at start, on `SIGHUP`); the engine logs what changed, and the
/// compiler's warnings or report are printed here. Returns whether the folder deployed.
async fn deploy(engine: &Engine) -> bool {
    match engine.deploy_folder().await {
        Ok(view) => {
            if !view.warnings.is_empty() {
                eprint!("{}", view.warnings);
            }
            true
        }
        Err(journey_runtime::api::ApiError::Unprocessable(report)) => {
            eprint!("{report}");
            false
        }
        Err(error) => {
            tracing::error!("deploy failed: {error}");
            false
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let data = config.data_folder();
    let journeys = config
        .journeys
        .clone()
        .unwrap_or_else(|| PathBuf::from("journeys"));
    let secret = match config.secret(&data) {
        Ok(secret) => secret,
        Err(error) => return usage_error(&error.0),
    };
    let (backend, kind): (Arc<dyn Backend>, &str) = match config.store.backend {
        StoreBackend::Sled => {
            match Sled::open_with(&data.join("store"), config.store.compression) {
                Ok(sled) if sled.compressed() => (Arc::new(sled), "store compressed"),
                Ok(sled) => (Arc::new(sled), "store not compressed"),
                Err(error) => return usage_error(&error.message),
            }
        }
        StoreBackend::Memory => {
            tracing::warn!(
                "[store] backend = \"memory\": customers, timers and queued messages are lost when \
                 journey run stops; for demos and benchmarks only"
            );
            (Arc::new(Memory::new()), "store in memory, not kept")
        }
    };
    let store = match Store::open(backend) {
        Ok(store) => store,
        Err(error) => return usage_error(&error.message),
    };
    let clock: Arc<dyn Clock> = match config.clock_speed {
        Some(speed) if speed > 1 => {
            tracing::warn!(
                speed,
                "the clock runs faster than real time: for trying journeys out only"
            );
            Arc::new(Fast::new(speed))
        }
        _ => Arc::new(SystemClock),
    };
    let env = config.environment(secret);
    let engine = match Engine::start(store.clone(), env, clock) {
        Ok(engine) => engine,
        Err(error) => return usage_error(&error.message),
    };
    // Deploy the folder; without a running version, a folder that does not compile stops here.
    engine.set_source(source(journeys.clone()));
    if !deploy(&engine).await && engine.library().current_programs().next().is_none() {
        engine.shutdown();
        return ExitCode::from(1);
    }
    let deliverer = match journey_runtime::delivery::Deliverer::new(&config.delivery, &data).await {
        Ok(deliverer) => Arc::new(deliverer),
        Err(error) => {
            engine.shutdown();
            return usage_error(&error.to_string());
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let outbox = tokio::spawn(engine::outbox::run(
        engine.clone(),
        deliverer,
        data.join("outbox").join("other"),
        stop_rx.clone(),
    ));
    let listener = match tokio::net::TcpListener::bind(config.ingest.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            let _ = stop_tx.send(true);
            let _ = outbox.await;
            engine.shutdown();
            return usage_error(&format!(
                "cannot listen on {}: {error}",
                config.ingest.listen
            ));
        }
    };
    let address = listener
        .local_addr()
        .map_or_else(|_| config.ingest.listen.to_string(), |a| a.to_string());
    tracing::info!(
        "journey run: listening on http://{address}, data in {} ({kind}), journeys from {}",
        data.display(),
        journeys.display()
    );
    let router = journey_runtime::ingest::router(Arc::new(engine.clone()), &config.ingest);
    let mut shutdown = stop_rx.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = shutdown.changed().await;
            })
            .await
    });
    wait_for_signals(&engine, &journeys).await;
    tracing::info!("stopping: finishing requests in flight and the last commit");
    let _ = stop_tx.send(true);
    let _ = server.await;
    let _ = outbox.await;
    engine.shutdown();
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

async fn wait_for_signals(engine: &Engine, journeys: &std::path::Path) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot listen for signals; stop with SIGKILL");
        std::future::pending::<()>().await;
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: compiling {} again", journeys.display());
                deploy(engine).await;
            }
        }
    }
}

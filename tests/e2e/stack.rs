//! A real stack for the end-to-end tests: Redis, Dapr placement and
//! scheduler, daprd and the service, started by `scripts/stack.sh` (the
//! same script as `make run`) on free ports in a directory of its own.
//!
//! The service logs JSON; the harness keeps every line and reads the
//! subscriber's `order event received` lines from them, so a test sees
//! exactly what the subscriber handled.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long a stack may take to come up (cold caches, two cores, others
/// starting at the same time).
const START_DEADLINE: Duration = Duration::from_secs(180);

/// Settings of a stack that differ from the shared one.
#[derive(Default, Clone)]
pub struct StackOptions {
    /// Give the order store a Redis of its own, so a test can stop it while
    /// the workflow store keeps working.
    pub separate_order_store: bool,
    /// Extra environment for the service (e.g. `OUTBOX_SHAPED_EVENTS`).
    pub env: Vec<(&'static str, &'static str)>,
}

pub struct Stack {
    child: Mutex<Child>,
    run_dir: tempfile::TempDir,
    lines: Arc<Mutex<Vec<String>>>,
    pub base_url: String,
    pub order_store_redis_port: u16,
    pub dapr_grpc_port: u16,
    /// A client without a connection pool: each test runs on a Tokio
    /// runtime of its own, and a pooled connection belongs to the runtime
    /// that opened it; reused by a test after that runtime has ended, it
    /// fails with "runtime dropped the dispatch task".
    pub http: reqwest::Client,
}

/// The stack shared by tests that cannot disturb each other; each of them
/// uses order ids of its own.
pub fn shared() -> &'static Stack {
    static SHARED: OnceLock<Stack> = OnceLock::new();
    SHARED.get_or_init(|| Stack::start(StackOptions::default()))
}

/// A loopback port for one process of a test stack, never handed out twice
/// by this test process.
///
/// Ports come from below the kernel's ephemeral range (where `bind(0)`
/// would pick them): outgoing connections, which the running stacks open by
/// the hundred, take their local ports from that range, and one could take
/// a port between the moment it is picked here and the moment its process
/// binds it. Each candidate is still checked by binding it once.
fn free_port() -> u16 {
    static NEXT: OnceLock<Mutex<u16>> = OnceLock::new();
    let (low, high) = port_range();
    let span = u32::from(high - low);
    let next = NEXT.get_or_init(|| {
        // Start where another test process (a second `cargo test`) is
        // unlikely to be.
        let offset = (std::process::id() * 97) % span;
        Mutex::new(low + offset as u16)
    });
    let mut next = next.lock().expect("port lock");
    for _ in 0..span {
        let port = *next;
        *next = if port + 1 >= high { low } else { port + 1 };
        // The wildcard address: some Dapr servers bind every interface.
        if TcpListener::bind(("0.0.0.0", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {low}..{high}");
}

/// The ports test stacks use: from 20000 up to the start of the ephemeral
/// range (32768 by default on Linux).
fn port_range() -> (u16, u16) {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    assert!(
        ephemeral_low > 21000,
        "the ephemeral port range starts at {ephemeral_low}; test stacks need 20000..21000 free of it"
    );
    (20000, ephemeral_low)
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Stack {
    pub fn start(options: StackOptions) -> Stack {
        let run_dir = tempfile::Builder::new()
            .prefix("order-outbox-e2e-")
            .tempdir()
            .expect("temp dir");
        let redis_port = free_port();
        let order_store_redis_port = if options.separate_order_store {
            free_port()
        } else {
            redis_port
        };
        let app_port = free_port();
        let dapr_grpc_port = free_port();

        let mut command = Command::new(repo_root().join("scripts/stack.sh"));
        command
            .env("RUN_DIR", run_dir.path())
            .env("REMOVE_RUN_DIR_ON_EXIT", "1")
            .env("APP_BIN", env!("CARGO_BIN_EXE_order-outbox"))
            .env("STACK_PARENT_PID", std::process::id().to_string())
            .env("APP_PORT", app_port.to_string())
            .env("REDIS_PORT", redis_port.to_string())
            .env("ORDER_STORE_REDIS_PORT", order_store_redis_port.to_string())
            .env("DAPR_GRPC_PORT", dapr_grpc_port.to_string())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info,order_outbox=debug")
            .env("TRANSACTION_MAX_ATTEMPTS", "3")
            .env("TRANSACTION_RETRY_FIRST_INTERVAL_MS", "200");
        for name in [
            "DAPR_HTTP_PORT",
            "DAPR_INTERNAL_GRPC_PORT",
            "PLACEMENT_PORT",
            "PLACEMENT_HEALTH_PORT",
            "PLACEMENT_RAFT_PORT",
            "SCHEDULER_PORT",
            "SCHEDULER_HEALTH_PORT",
            "SCHEDULER_ETCD_CLIENT_PORT",
            "SCHEDULER_ETCD_PEER_PORT",
        ] {
            command.env(name, free_port().to_string());
        }
        for (name, value) in &options.env {
            command.env(name, value);
        }
        // A process group of its own, as a terminal gives `make run`, so a
        // test can send the group the SIGINT of a Ctrl-C.
        let mut child = command
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("scripts/stack.sh starts");

        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().expect("log lock").push(line);
            }
        });

        let stack = Stack {
            child: Mutex::new(child),
            run_dir,
            lines,
            base_url: format!("http://127.0.0.1:{app_port}"),
            order_store_redis_port,
            dapr_grpc_port,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("HTTP client"),
        };
        stack.wait_until_ready();
        stack
    }

    /// The stack's own directory; `scripts/stack.sh` removes it when the
    /// stack stops (the shared stack's [`TempDir`](tempfile::TempDir) is
    /// never dropped).
    fn stack_dir(&self) -> PathBuf {
        self.run_dir.path().to_path_buf()
    }

    fn wait_until_ready(&self) {
        let ready = self.stack_dir().join("ready");
        let deadline = Instant::now() + START_DEADLINE;
        while !ready.exists() {
            let exited = self
                .child
                .lock()
                .expect("child lock")
                .try_wait()
                .ok()
                .flatten();
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "the stack did not come up (last lines of each process):\n{}",
                    self.tail_per_process(15)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The last `n` lines of the stack's log, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.lines.lock().expect("log lock");
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The last `n` lines of each process's log: when the stack does not
    /// come up, the chatty processes must not hide the one that failed.
    fn tail_per_process(&self, n: usize) -> String {
        let lines = self.lines.lock().expect("log lock");
        let mut names: Vec<&str> = Vec::new();
        for line in lines.iter() {
            let name = line.split(" | ").next().unwrap_or_default();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let mut out = String::new();
        for name in names {
            let own: Vec<&String> = lines
                .iter()
                .filter(|l| l.split(" | ").next() == Some(name))
                .collect();
            for line in &own[own.len().saturating_sub(n)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// The service's JSON log records.
    fn app_records(&self) -> Vec<Value> {
        let lines = self.lines.lock().expect("log lock");
        lines
            .iter()
            .filter_map(|line| line.strip_prefix("app        | "))
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect()
    }

    /// The events the subscriber handled for `order_id`, each with its
    /// attributes and `data`.
    pub fn received_events(&self, order_id: &str) -> Vec<Value> {
        let records = self.app_records();
        let mut data: HashMap<String, Value> = HashMap::new();
        for record in records
            .iter()
            .filter(|r| r["message"] == "order event data")
        {
            if let (Some(id), Some(raw)) = (record["event_id"].as_str(), record["data"].as_str()) {
                data.insert(
                    id.to_owned(),
                    serde_json::from_str(raw).unwrap_or(Value::Null),
                );
            }
        }
        records
            .into_iter()
            .filter(|r| r["message"] == "order event received" && r["order_id"] == order_id)
            .map(|mut r| {
                let id = r["event_id"].as_str().unwrap_or_default().to_owned();
                r["data"] = data.remove(&id).unwrap_or(Value::Null);
                r
            })
            .collect()
    }

    /// Every delivery of an event for `order_id` to the subscriber route,
    /// handled or dropped.
    pub fn deliveries(&self, order_id: &str) -> usize {
        self.app_records()
            .iter()
            .filter(|r| r["order_id"] == order_id)
            .filter(|r| r["span"]["url.path"] == "/newOrderEvents")
            .filter(|r| {
                let message = r["message"].as_str().unwrap_or_default();
                message == "order event received" || message.starts_with("order event dropped")
            })
            .count()
    }

    /// Waits until the subscriber has handled `count` events for
    /// `order_id`, and returns them.
    pub async fn wait_for_events(&self, order_id: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let events = self.received_events(order_id);
            if events.len() >= count {
                return events;
            }
            assert!(
                Instant::now() < deadline,
                "{count} event(s) for {order_id} not received within 60s; got {}:\n{}",
                events.len(),
                self.tail(40)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGINT to the stack's whole process group, as Ctrl-C in the
    /// terminal of `make run` does, and waits for the script to exit.
    pub fn interrupt(&self) -> ExitStatus {
        let mut child = self.child.lock().expect("child lock");
        let group = format!("-{}", child.id());
        let sent = Command::new("kill").args(["-INT", "--", &group]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -INT {group}");

        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("wait for stack.sh") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the stack did not stop within 60s of SIGINT:\n{}",
                self.tail(40)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pids of the stack's processes (redis, placement, ..., app), by
    /// name, as the script recorded them.
    pub fn process_ids(&self) -> Vec<(String, String)> {
        let dir = self.stack_dir().join("pids");
        let mut pids: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("pid directory")
            .map(|entry| {
                let path = entry.expect("pid file").path();
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into();
                let pid = std::fs::read_to_string(&path)
                    .expect("pid")
                    .trim()
                    .to_owned();
                (name, pid)
            })
            .collect();
        pids.sort();
        pids
    }

    /// Stops one process of the stack (`redis`, `redis-orders`, ...).
    pub fn kill(&self, name: &str) {
        self.signal(name, "KILL");
    }

    /// Sends `signal` (`TERM`, `KILL`, ...) to one process of the stack.
    pub fn signal(&self, name: &str, signal: &str) {
        let pid_file = self.stack_dir().join("pids").join(format!("{name}.pid"));
        let pid = std::fs::read_to_string(&pid_file).expect("pid file");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.trim())
            .status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {name}");
    }

    /// Waits until the service has logged `message`.
    pub async fn wait_for_app_log(&self, message: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.app_records().iter().any(|r| r["message"] == message) {
            assert!(
                Instant::now() < deadline,
                "the service did not log {message:?} within 60s:\n{}",
                self.tail(40)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The order's value as the state store holds it in Redis, read with
    /// redis-cli under the exact key the README shows.
    pub fn stored_in_redis(&self, order_id: &str) -> Option<Value> {
        let data = self.order_store_cli(&["HGET", &order_key(order_id), "data"]);
        serde_json::from_str(&data).ok()
    }

    /// Deletes the order's value from Redis behind the service's back, as
    /// a Redis that lost its data would.
    pub fn forget_in_redis(&self, order_id: &str) {
        assert_eq!(self.order_store_cli(&["DEL", &order_key(order_id)]), "1");
    }

    /// Runs one redis-cli command against the order store's Redis and
    /// returns its trimmed output.
    fn order_store_cli(&self, command: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.order_store_redis_port.to_string()])
            .args(command)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Posts `body` as an order, with the JSON content type.
    pub async fn post_order(&self, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url("/process-order-with-outbox"))
            .json(body)
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Waits until the service says it is shutting down (`/readyz`), so a
    /// post sent next meets the shutdown instead of racing the signal.
    pub async fn wait_until_shutting_down(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, readiness) = self.get_json("/readyz").await;
            if readiness["shuttingDown"] == true {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the service did not start shutting down within 30s: {readiness}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls the workflow until it has ended, and returns its status.
    pub async fn wait_for_workflow_end(&self, instance_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (status, body) = self.get_json(&format!("/workflows/{instance_id}")).await;
            let runtime_status = body["runtimeStatus"].as_str().unwrap_or_default();
            if status == 200 && matches!(runtime_status, "COMPLETED" | "FAILED" | "TERMINATED") {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "workflow {instance_id} did not end within 90s: {status} {body}\n{}",
                self.tail(40)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Posts `body` again, an order whose earlier run (`earlier`) must not
    /// count as done: the answer is a `202` rerun; returns the new run once
    /// it has ended.
    pub async fn post_again_and_wait_for_rerun(&self, body: &Value, earlier: &Value) -> Value {
        let (status, answer) = self.post_order(body).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["rerun"], true, "{answer}");
        let order_id = body["orderId"].as_str().unwrap_or_default();
        self.wait_for_next_run(&format!("order-{order_id}"), earlier)
            .await
    }

    /// Waits until a run of `instance_id` other than `earlier` (a status
    /// from [`Stack::wait_for_workflow_end`]) has ended, and returns it.
    pub async fn wait_for_next_run(&self, instance_id: &str, earlier: &Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let run = self.wait_for_workflow_end(instance_id).await;
            if run["createdAt"] != earlier["createdAt"] {
                return run;
            }
            assert!(
                Instant::now() < deadline,
                "no second run of {instance_id} within 90s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let mut child = self.child.lock().expect("child lock");
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let _ = child.wait();
    }
}

/// An order id unique to this test run, so tests on the shared stack (and
/// reruns against a leftover Redis) never meet.
pub fn order_id(prefix: &str) -> String {
    static RUN: OnceLock<String> = OnceLock::new();
    let run = RUN.get_or_init(|| format!("{:x}", std::process::id()));
    format!("{prefix}-{run}")
}

/// The order store's Redis key for an order, as the README shows it.
fn order_key(order_id: &str) -> String {
    format!("order-outbox||{order_id}")
}

pub fn order(order_id: &str) -> Value {
    json!({"orderId": order_id, "item": "DaprBook", "quantity": 1})
}

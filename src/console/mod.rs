//! `serialstation console`: a full-screen terminal console for line operators,
//! over the station daemon's control socket.
//!
//! - [`state`]: the console's model and its key handling (pure);
//! - [`forms`]: the start, close, decommission and release forms, checked as the
//!   operator types (pure);
//! - [`view`]: drawing with ratatui (80×24 and up);
//! - this module: the terminal (raw mode and the alternate screen, restored on every
//!   way out, panics included), the main loop, and three helpers off the loop's
//!   thread: the status poller (every 500 ms, short timeout), the store reader (per-
//!   batch history and the upload backlog, every 2 s, read-only) and one thread per
//!   operator request (the answer may take a while; the screen keeps going).
//!
//! When the daemon cannot be reached the console says so and keeps retrying; when
//! it answers again the console simply continues. Passwords for electronic
//! signatures are typed into a masked prompt, sent once, and never drawn, logged or
//! kept.

pub mod forms;
pub mod state;
pub mod view;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Stdout};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

use crate::control::client::call_with_timeout;
use crate::control::protocol::{Request, Response};
use crate::store::{BatchId, Store, StoreResult};

use state::{Action, Backlog, Console, History, Key};

/// What the console says when it has no terminal.
pub const NO_TERMINAL: &str = "serialstation console needs a terminal: run it in a terminal window, or use `serialstation batch status --watch` from scripts";

/// How long the loop waits for a key before it redraws.
const TICK: Duration = Duration::from_millis(100);
/// How often the daemon's status is asked for.
const STATUS_EVERY: Duration = Duration::from_millis(500);
/// How long a status answer may take before the daemon counts as unreachable.
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the store-backed history is read (at least).
const STORE_EVERY: Duration = Duration::from_secs(2);
/// Rejected items read for the list.
const RECENT_REJECTS: usize = 50;

type Screen = Terminal<CrosstermBackend<Stdout>>;

/// Whether stdin and stdout are both terminals.
pub fn has_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Runs the console until the operator quits. `Err` says what went wrong (the
/// terminal is restored first).
pub fn run(db: &Path, socket: &Path) -> Result<(), String> {
    if !has_terminal() {
        return Err(NO_TERMINAL.to_string());
    }
    let guard = TerminalGuard::enter().map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let result = Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .map_err(|e| format!("cannot set up the terminal: {e}"))
        .and_then(|mut screen| main_loop(&mut screen, db, socket));
    drop(guard);
    result
}

/// Set while the terminal is in raw mode on the alternate screen.
static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// Leaves raw mode and the alternate screen, once, whoever calls first (the guard
/// or the panic hook).
fn restore_terminal() {
    if TERMINAL_TAKEN.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(
            std::io::stdout(),
            LeaveAlternateScreen,
            ratatui::crossterm::cursor::Show
        );
    }
}

/// Raw mode and the alternate screen for as long as it lives.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> std::io::Result<TerminalGuard> {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                // The message must land on the normal screen, in cooked mode.
                restore_terminal();
                previous(info);
            }));
        });
        enable_raw_mode()?;
        TERMINAL_TAKEN.store(true, Ordering::SeqCst);
        let guard = TerminalGuard;
        execute!(std::io::stdout(), EnterAlternateScreen)?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn main_loop(screen: &mut Screen, db: &Path, socket: &Path) -> Result<(), String> {
    let terminal_error = |e: std::io::Error| format!("the terminal failed: {e}");
    let mut console = Console::new(socket.display().to_string(), crate::gs1::date::today_utc());
    console.clock = clock();

    let (status_tx, status_rx) = mpsc::channel();
    spawn_status_poller(socket.to_path_buf(), db.to_path_buf(), status_tx)
        .map_err(|e| format!("cannot start the status poller: {e}"))?;
    let (history_tx, history_rx) = mpsc::channel();
    let (wanted_tx, wanted_rx) = mpsc::channel();
    spawn_store_reader(db.to_path_buf(), wanted_rx, history_tx)
        .map_err(|e| format!("cannot start the store reader: {e}"))?;
    let (answer_tx, answer_rx) = mpsc::channel();
    let mut wanted: Option<i64> = None;

    screen.clear().map_err(terminal_error)?;
    loop {
        while let Ok(result) = status_rx.try_recv() {
            console.on_status(result, &clock());
        }
        if console.history_batch() != wanted {
            wanted = console.history_batch();
            // The reader stops only with the console.
            let _ = wanted_tx.send(wanted);
        }
        while let Ok(history) = history_rx.try_recv() {
            console.on_history(history);
        }
        while let Ok(answer) = answer_rx.try_recv() {
            console.on_answer(answer);
        }
        console.clock = clock();
        console.today = crate::gs1::date::today_utc();
        screen
            .draw(|frame| view::draw(frame, &console))
            .map_err(terminal_error)?;

        if !event::poll(TICK).map_err(terminal_error)? {
            continue;
        }
        match event::read().map_err(terminal_error)? {
            Event::Key(key) if key.kind != KeyEventKind::Release => {
                let Some(key) = map_key(key) else {
                    continue;
                };
                match console.handle_key(key) {
                    Some(Action::Quit) => return Ok(()),
                    Some(Action::Send(request)) => {
                        if let Err(e) = spawn_request(socket, db, request, answer_tx.clone()) {
                            console.on_answer(Err(format!("cannot start the request: {e}")));
                        }
                    }
                    None => {}
                }
            }
            // The next draw takes the new size; clear so nothing of the old layout stays.
            Event::Resize(_, _) => screen.clear().map_err(terminal_error)?,
            _ => {}
        }
    }
}

/// The terminal's key as the console's.
fn map_key(event: KeyEvent) -> Option<Key> {
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    Some(match event.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        _ => return None,
    })
}

/// The time now (UTC) as HH:MM:SS.
fn clock() -> String {
    let now = crate::store::clock::now();
    now.get(11..19).unwrap_or(now.as_str()).to_string()
}

/// Asks for the status every [`STATUS_EVERY`], with a short timeout, until the
/// console is gone.
fn spawn_status_poller(
    socket: PathBuf,
    db: PathBuf,
    answers: Sender<Result<Response, String>>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("console-status".to_string())
        .spawn(move || {
            loop {
                let started = Instant::now();
                let result = call_with_timeout(&socket, &db, &Request::Status, STATUS_TIMEOUT)
                    .map_err(|e| e.to_string());
                if answers.send(result).is_err() {
                    return;
                }
                if let Some(rest) = STATUS_EVERY.checked_sub(started.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
        })
        .map(|_thread| ())
}

/// Sends one operator request on its own thread; the answer comes back on `answers`.
fn spawn_request(
    socket: &Path,
    db: &Path,
    request: Request,
    answers: Sender<Result<Response, String>>,
) -> std::io::Result<()> {
    let socket = socket.to_path_buf();
    let db = db.to_path_buf();
    std::thread::Builder::new()
        .name("console-request".to_string())
        .spawn(move || {
            let result = crate::control::call(&socket, &db, &request).map_err(|e| e.to_string());
            // The request (and any password in it) ends with this thread.
            drop(request);
            let _ = answers.send(result);
        })
        .map(|_thread| ())
}

/// Reads the history of the wanted batch and the upload backlog from the store,
/// every [`STORE_EVERY`] (longer if reading takes long), and at once when the
/// wanted batch changes. Opens the store when it can, and again after an error.
fn spawn_store_reader(
    db: PathBuf,
    wanted: Receiver<Option<i64>>,
    histories: Sender<History>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("console-store".to_string())
        .spawn(move || {
            let mut store: Option<Store> = None;
            let mut batch: Option<i64> = None;
            loop {
                let started = Instant::now();
                let history = read_history(&db, &mut store, batch);
                if histories.send(history).is_err() {
                    return;
                }
                // A big batch takes long to summarise: never spend more than a tenth
                // of the time reading.
                let pause = STORE_EVERY.max(started.elapsed() * 10);
                match wanted.recv_timeout(pause) {
                    Ok(next) => {
                        batch = next;
                        while let Ok(next) = wanted.try_recv() {
                            batch = next;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        })
        .map(|_thread| ())
}

fn read_history(db: &Path, slot: &mut Option<Store>, batch: Option<i64>) -> History {
    let unavailable = |error: String| History {
        batch,
        error: Some(error),
        ..History::default()
    };
    if slot.is_none() {
        match Store::open_existing(db) {
            Ok(store) => *slot = Some(store),
            Err(e) => return unavailable(e.to_string()),
        }
    }
    let Some(store) = slot.as_ref() else {
        return unavailable("the store is not open".to_string());
    };
    match gather(store, batch) {
        Ok(history) => history,
        Err(e) => {
            // Open it afresh next time.
            *slot = None;
            unavailable(e.to_string())
        }
    }
}

fn gather(store: &Store, batch: Option<i64>) -> StoreResult<History> {
    let mut history = History {
        batch,
        ..History::default()
    };
    if let Some(id) = batch {
        history.rejects = store.batch_last_rejects(BatchId(id), RECENT_REJECTS)?;
        history.grades = store.batch_item_summary(BatchId(id))?.grades;
    }
    let mut rows: BTreeMap<String, Backlog> = BTreeMap::new();
    for chunks in store.outbox_status()? {
        rows.insert(
            chunks.client_id.clone(),
            Backlog {
                client: chunks.client_id,
                waiting: 0,
                pending: chunks.pending,
                in_flight: chunks.in_flight,
                parked: chunks.parked,
                last_error: chunks.last_error,
            },
        );
    }
    for waiting in store.waiting_serials()? {
        rows.entry(waiting.client_id.clone())
            .or_insert_with(|| Backlog {
                client: waiting.client_id.clone(),
                ..Backlog::default()
            })
            .waiting = waiting.rows;
    }
    history.backlog = rows.into_values().collect();
    Ok(history)
}

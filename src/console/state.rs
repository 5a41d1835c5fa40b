//! The console's model, pure: what the daemon last said, whether it can be reached,
//! the per-batch history read from the store, the open dialog, the selected alarm
//! and the status line. Keys go in ([`Console::handle_key`]); what to send to the
//! daemon comes out ([`Action`]). Nothing here touches the terminal, the socket or
//! the store, so every key path is unit-tested.

use std::collections::BTreeMap;

use crate::control::protocol::{
    AlarmView, BatchView, Request, Response, SignatureInput, StatusReport,
};
use crate::gs1::Gs1Date;
use crate::store::record_reads::RejectedItem;

use super::forms::{Form, FormOutcome, Submission};

/// Longest password the prompt takes.
const MAX_PASSWORD_CHARS: usize = 256;

/// A key, as the console understands it (the terminal's events are mapped to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    /// A letter with Ctrl held (lowercase).
    Ctrl(char),
    Enter,
    Esc,
    Backspace,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
}

/// What the console asks of its runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this request to the daemon; the answer goes to [`Console::on_answer`].
    Send(Request),
    /// Leave the console.
    Quit,
}

/// Whether the daemon answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// No call finished yet.
    Connecting,
    Connected,
    /// The last call failed (`reason`); the console keeps retrying.
    Lost {
        reason: String,
    },
}

/// One client's upload backlog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    pub client: String,
    /// Per-serial rows not yet put into a document.
    pub waiting: u64,
    /// Documents not yet sent.
    pub pending: u64,
    /// Documents the site server is still working on.
    pub in_flight: u64,
    /// Documents refused by the site server, waiting for `upload retry`.
    pub parked: u64,
    pub last_error: Option<String>,
}

/// What the console reads from the store itself (refreshed every few seconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The batch the items belong to.
    pub batch: Option<i64>,
    /// The last rejected items, newest first.
    pub rejects: Vec<RejectedItem>,
    /// Items by grade letter (A to F).
    pub grades: BTreeMap<String, u64>,
    pub backlog: Vec<Backlog>,
    /// Why the store could not be read (it is tried again).
    pub error: Option<String>,
}

/// The kind of a status-line message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Done,
    Refused,
}

/// The status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub tone: Tone,
}

/// A request on its way to the daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct InFlight {
    pub what: String,
    /// The request without its signature (to sign and send again if asked).
    pub request: Request,
    pub signed: bool,
}

/// A yes/no question.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    /// The question, ending in "[y/n]".
    pub question: String,
    pub then: Then,
}

/// What "yes" does.
#[allow(clippy::large_enum_variant)] // one at a time, on screen
#[derive(Debug, Clone, PartialEq)]
pub enum Then {
    Send(Submission),
    /// Quit; "no" goes back to `back`.
    Quit {
        back: Option<Box<Dialog>>,
    },
}

/// The password prompt of an electronic signature.
#[derive(Clone, PartialEq)]
pub struct PasswordPrompt {
    pub submission: Submission,
    /// What the signature means ("approved").
    pub meaning: String,
    /// Why it is asked now (the daemon's words), if the daemon asked.
    pub note: Option<String>,
    /// The password typed so far: never shown, only its length as dots.
    pub input: String,
    pub error: Option<String>,
}

impl std::fmt::Debug for PasswordPrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPrompt")
            .field("submission", &self.submission)
            .field("meaning", &self.meaning)
            .field("note", &self.note)
            .field("input", &"<hidden>")
            .field("error", &self.error)
            .finish()
    }
}

/// The dialog over the main screen.
#[allow(clippy::large_enum_variant)] // one at a time, on screen
#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    Form(Form),
    Confirm(Confirm),
    Password(PasswordPrompt),
}

/// The console's whole model.
#[derive(Debug, Clone)]
pub struct Console {
    /// The daemon's socket, for the banner.
    pub socket: String,
    /// The last status report.
    pub status: Option<StatusReport>,
    /// The daemon answered, but without a status (its message).
    pub status_note: Option<String>,
    pub connection: Connection,
    /// Time (UTC, HH:MM:SS) of the last answer.
    pub last_contact: Option<String>,
    pub history: History,
    pub dialog: Option<Dialog>,
    pub message: Option<Message>,
    /// The id of the selected alarm.
    pub selected_alarm: Option<u64>,
    pub in_flight: Option<InFlight>,
    /// The last batch the daemon reported (its history stays shown after it ends).
    pub last_batch: Option<i64>,
    /// Today (UTC), for the expiry check.
    pub today: Gs1Date,
    /// The clock in the header (UTC, HH:MM:SS).
    pub clock: String,
}

impl Console {
    pub fn new(socket: String, today: Gs1Date) -> Console {
        Console {
            socket,
            status: None,
            status_note: None,
            connection: Connection::Connecting,
            last_contact: None,
            history: History::default(),
            dialog: None,
            message: None,
            selected_alarm: None,
            in_flight: None,
            last_batch: None,
            today,
            clock: String::new(),
        }
    }

    /// The active batch, as last reported.
    pub fn batch(&self) -> Option<&BatchView> {
        self.status.as_ref().and_then(|s| s.batch.as_ref())
    }

    /// The alarms, newest first (the order they are shown and selected in).
    pub fn alarms(&self) -> Vec<&AlarmView> {
        self.status
            .as_ref()
            .map(|s| s.alarm_list.iter().rev().collect())
            .unwrap_or_default()
    }

    /// The batch whose history the store reader should read.
    pub fn history_batch(&self) -> Option<i64> {
        self.last_batch
    }

    /// The answer (or failure) of one status poll, at `now` (HH:MM:SS).
    pub fn on_status(&mut self, result: Result<Response, String>, now: &str) {
        match result {
            Ok(response) => {
                self.connection = Connection::Connected;
                self.last_contact = Some(now.to_string());
                match response.status {
                    Some(status) => {
                        if let Some(batch) = &status.batch {
                            self.last_batch = Some(batch.id);
                        }
                        self.status = Some(status);
                        self.status_note = None;
                        self.fix_alarm_selection();
                    }
                    None => self.status_note = Some(response.message),
                }
            }
            Err(reason) => self.connection = Connection::Lost { reason },
        }
    }

    /// New history from the store.
    pub fn on_history(&mut self, history: History) {
        self.history = history;
    }

    /// The daemon's answer to the request in flight.
    pub fn on_answer(&mut self, result: Result<Response, String>) {
        let Some(flight) = self.in_flight.take() else {
            return;
        };
        match result {
            Ok(response) if response.ok => self.say(Tone::Done, response.message),
            Ok(response)
                if !flight.signed
                    && can_sign(&flight.request)
                    && asks_for_signature(&response.message)
                    && self.dialog.is_none() =>
            {
                let meaning = signature_meaning(&flight.request);
                // The daemon's advice for the command line (`--sign`) is not for here.
                let asked = response
                    .message
                    .split(": give it again")
                    .next()
                    .unwrap_or_default()
                    .to_string();
                self.say(Tone::Info, format!("{asked}: enter your password to sign"));
                self.dialog = Some(Dialog::Password(PasswordPrompt {
                    submission: Submission {
                        question: String::new(),
                        what: flight.what,
                        request: flight.request,
                        sign: Some(meaning.clone()),
                    },
                    meaning,
                    note: Some(asked),
                    input: String::new(),
                    error: None,
                }));
            }
            Ok(response) => self.say(Tone::Refused, response.message),
            Err(error) => self.say(Tone::Refused, format!("{} failed: {error}", flight.what)),
        }
    }

    /// One key.
    pub fn handle_key(&mut self, key: Key) -> Option<Action> {
        if key == Key::Ctrl('c') {
            return match self.dialog.take() {
                None => Some(Action::Quit),
                // Ctrl-C on the quit question itself: quit.
                Some(Dialog::Confirm(Confirm {
                    then: Then::Quit { .. },
                    ..
                })) => Some(Action::Quit),
                Some(open) => {
                    self.dialog = Some(Dialog::Confirm(Confirm {
                        question: "Quit the console? What you entered is lost. [y/n]".to_string(),
                        then: Then::Quit {
                            back: Some(Box::new(open)),
                        },
                    }));
                    None
                }
            };
        }
        match self.dialog.take() {
            Some(dialog) => self.dialog_key(dialog, key),
            None => self.main_key(key),
        }
    }

    fn main_key(&mut self, key: Key) -> Option<Action> {
        match key {
            Key::Char('q') => Some(Action::Quit),
            Key::Up => {
                self.move_alarm_selection(false);
                None
            }
            Key::Down => {
                self.move_alarm_selection(true);
                None
            }
            Key::Esc => {
                self.message = None;
                None
            }
            Key::Char(c) => {
                if matches!(c, 's' | 'p' | 'r' | 't' | 'T' | 'c' | 'd' | 'l' | 'a' | 'A')
                    && let Some(flight) = &self.in_flight
                {
                    let text = format!(
                        "waiting for the daemon's answer to \"{}\"; try again after it",
                        flight.what
                    );
                    self.say(Tone::Info, text);
                    return None;
                }
                self.command(c);
                None
            }
            _ => None,
        }
    }

    /// Opens the form or question of a command key.
    fn command(&mut self, c: char) {
        match c {
            's' => self.dialog = Some(Dialog::Form(Form::start(self.today))),
            'd' => {
                let gtin = self.batch().map(|b| b.gtin.clone());
                self.dialog = Some(Dialog::Form(Form::decommission(
                    gtin.as_deref(),
                    self.today,
                )));
            }
            'l' => {
                let batch = self.last_batch;
                self.dialog = Some(Dialog::Form(Form::release(batch, self.today)));
            }
            'a' => self.ack_selected(),
            'A' => {
                if self.alarms().iter().all(|a| a.acknowledged) {
                    self.say(Tone::Info, "no unacknowledged alarms".to_string());
                    return;
                }
                self.ask(Submission {
                    request: Request::AlarmAck { id: None },
                    what: "acknowledge every alarm".to_string(),
                    question: "Acknowledge every alarm?".to_string(),
                    sign: None,
                });
            }
            'p' | 'r' | 't' | 'T' | 'c' => {
                let Some(batch) = self.batch().cloned() else {
                    self.say(
                        Tone::Info,
                        "no batch running — press s to start one".to_string(),
                    );
                    return;
                };
                self.batch_command(c, &batch);
            }
            _ => {}
        }
    }

    fn batch_command(&mut self, c: char, batch: &BatchView) {
        let id = batch.id;
        match c {
            'p' => self.ask(Submission {
                request: Request::BatchPause { batch: Some(id) },
                what: format!("pause batch {id}"),
                question: format!("Pause batch {id}?"),
                sign: None,
            }),
            'r' => {
                let sign = resume_signature(batch);
                self.ask(Submission {
                    request: Request::BatchResume {
                        batch: Some(id),
                        signature: None,
                    },
                    what: format!("resume batch {id}"),
                    question: match &sign {
                        Some(meaning) => format!("Resume batch {id} ({meaning})?"),
                        None => format!("Resume batch {id}?"),
                    },
                    sign,
                });
            }
            't' | 'T' => {
                let abandon = c == 'T';
                self.ask(Submission {
                    request: Request::BatchStop {
                        batch: Some(id),
                        abandon_in_flight: abandon,
                    },
                    what: format!("stop batch {id}"),
                    question: if abandon {
                        format!("Stop batch {id} and count the items still in flight as rejected?")
                    } else {
                        format!("Stop batch {id}? No more prints; the items on the belt finish.")
                    },
                    sign: None,
                });
            }
            'c' => {
                if batch.is_stopped() {
                    self.dialog = Some(Dialog::Form(Form::close(batch, self.today)));
                } else {
                    self.say(
                        Tone::Info,
                        format!(
                            "batch {id} is {}: stop it first (t), then close it",
                            batch.state.replace('_', " ")
                        ),
                    );
                }
            }
            _ => {}
        }
    }

    fn ack_selected(&mut self) {
        let selected = self
            .alarms()
            .into_iter()
            .find(|a| Some(a.id) == self.selected_alarm)
            .cloned();
        match selected {
            None => self.say(Tone::Info, "no alarm to acknowledge".to_string()),
            Some(alarm) if alarm.acknowledged => self.say(
                Tone::Info,
                format!("alarm {} is already acknowledged", alarm.id),
            ),
            Some(alarm) => self.ask(Submission {
                request: Request::AlarmAck { id: Some(alarm.id) },
                what: format!("acknowledge alarm {}", alarm.id),
                question: format!("Acknowledge alarm {}?", alarm.id),
                sign: None,
            }),
        }
    }

    /// Opens the yes/no question of a submission.
    fn ask(&mut self, submission: Submission) {
        self.dialog = Some(Dialog::Confirm(Confirm {
            question: format!("{} [y/n]", submission.question),
            then: Then::Send(submission),
        }));
    }

    fn dialog_key(&mut self, dialog: Dialog, key: Key) -> Option<Action> {
        match dialog {
            Dialog::Form(mut form) => {
                match form.key(key) {
                    FormOutcome::Editing => self.dialog = Some(Dialog::Form(form)),
                    FormOutcome::Cancelled => {
                        self.say(Tone::Info, "cancelled: nothing was sent".to_string());
                    }
                    FormOutcome::Submitted(submission) => self.ask(submission),
                }
                None
            }
            Dialog::Confirm(confirm) => match key {
                Key::Char('y' | 'Y') => match confirm.then {
                    Then::Send(submission) => self.proceed(submission),
                    Then::Quit { .. } => Some(Action::Quit),
                },
                Key::Char('n' | 'N') | Key::Esc => {
                    match confirm.then {
                        Then::Quit { back } => self.dialog = back.map(|b| *b),
                        Then::Send(_) => {
                            self.say(Tone::Info, "cancelled: nothing was sent".to_string());
                        }
                    }
                    None
                }
                _ => {
                    self.dialog = Some(Dialog::Confirm(confirm));
                    None
                }
            },
            Dialog::Password(mut prompt) => match key {
                Key::Esc => {
                    self.say(Tone::Info, "cancelled: nothing was sent".to_string());
                    None
                }
                Key::Enter if prompt.input.is_empty() => {
                    prompt.error = Some("enter your password to sign".to_string());
                    self.dialog = Some(Dialog::Password(prompt));
                    None
                }
                Key::Enter => {
                    let password = std::mem::take(&mut prompt.input);
                    let request = with_signature(prompt.submission.request.clone(), password);
                    self.send(prompt.submission, request, true)
                }
                key => {
                    match key {
                        Key::Backspace => {
                            prompt.input.pop();
                        }
                        Key::Ctrl('u') => prompt.input.clear(),
                        Key::Char(c)
                            if !c.is_control()
                                && prompt.input.chars().count() < MAX_PASSWORD_CHARS =>
                        {
                            prompt.input.push(c);
                        }
                        _ => {}
                    }
                    prompt.error = None;
                    self.dialog = Some(Dialog::Password(prompt));
                    None
                }
            },
        }
    }

    /// After "yes": ask for the password first if the action is signed, else send.
    fn proceed(&mut self, submission: Submission) -> Option<Action> {
        // A station with no enrolled user signs nothing: no password to ask.
        let unrestricted = self
            .status
            .as_ref()
            .and_then(|s| s.caller.as_ref())
            .is_some_and(|c| c.role == "unrestricted");
        match submission.sign.clone().filter(|_| !unrestricted) {
            Some(meaning) => {
                self.dialog = Some(Dialog::Password(PasswordPrompt {
                    submission,
                    meaning,
                    note: None,
                    input: String::new(),
                    error: None,
                }));
                None
            }
            None => {
                let request = submission.request.clone();
                self.send(submission, request, false)
            }
        }
    }

    fn send(&mut self, submission: Submission, request: Request, signed: bool) -> Option<Action> {
        if let Some(flight) = &self.in_flight {
            let text = format!(
                "waiting for the daemon's answer to \"{}\"; nothing else was sent",
                flight.what
            );
            self.say(Tone::Info, text);
            return None;
        }
        self.say(Tone::Info, format!("sending: {}…", submission.what));
        self.in_flight = Some(InFlight {
            what: submission.what,
            request: submission.request,
            signed,
        });
        Some(Action::Send(request))
    }

    fn say(&mut self, tone: Tone, text: String) {
        self.message = Some(Message { text, tone });
    }

    /// Keeps the selection on an alarm that exists: the newest unacknowledged one
    /// when the selected one is gone.
    fn fix_alarm_selection(&mut self) {
        let pick = {
            let alarms = self.alarms();
            if alarms.iter().any(|a| Some(a.id) == self.selected_alarm) {
                return;
            }
            alarms
                .iter()
                .find(|a| !a.acknowledged)
                .or_else(|| alarms.first())
                .map(|a| a.id)
        };
        self.selected_alarm = pick;
    }

    fn move_alarm_selection(&mut self, down: bool) {
        let ids: Vec<u64> = self.alarms().iter().map(|a| a.id).collect();
        if ids.is_empty() {
            self.selected_alarm = None;
            return;
        }
        let position = ids.iter().position(|id| Some(*id) == self.selected_alarm);
        let next = match (position, down) {
            (None, _) => 0,
            (Some(p), true) => (p + 1).min(ids.len() - 1),
            (Some(p), false) => p.saturating_sub(1),
        };
        self.selected_alarm = ids.get(next).copied();
    }
}

/// The meaning of the signature a resume needs up front, if any: after a stop for
/// consecutive rejects or a failed challenge test.
pub fn resume_signature(batch: &BatchView) -> Option<String> {
    if batch.state == "challenge_failed" {
        return Some("resumed after a failed challenge test".to_string());
    }
    batch
        .hold
        .as_deref()
        .filter(|hold| hold.contains("consecutive rejects"))
        .map(|hold| format!("resumed after {hold}"))
}

/// Whether a refusal says a signature is needed.
pub fn asks_for_signature(message: &str) -> bool {
    message.to_ascii_lowercase().contains("signature")
}

/// Whether a request can carry a signature.
pub fn can_sign(request: &Request) -> bool {
    matches!(
        request,
        Request::BatchResume { .. }
            | Request::BatchClose { .. }
            | Request::BatchRelease { .. }
            | Request::ItemDecommission { .. }
    )
}

/// What a signature on `request` means.
pub fn signature_meaning(request: &Request) -> String {
    match request {
        Request::BatchResume { .. } => "resumed",
        Request::BatchClose { .. } => "closed with reason",
        Request::BatchRelease { .. } => "approved",
        Request::ItemDecommission { .. } => "decommissioned",
        _ => "signed",
    }
    .to_string()
}

/// `request` with the caller's password as its signature.
pub fn with_signature(request: Request, password: String) -> Request {
    let signature = Some(SignatureInput { password });
    match request {
        Request::BatchResume { batch, .. } => Request::BatchResume { batch, signature },
        Request::BatchClose { batch, reason, .. } => Request::BatchClose {
            batch,
            reason,
            signature,
        },
        Request::BatchRelease { batch, comment, .. } => Request::BatchRelease {
            batch,
            comment,
            signature,
        },
        Request::ItemDecommission {
            serial,
            gtin,
            reason,
            ..
        } => Request::ItemDecommission {
            serial,
            gtin,
            reason,
            signature,
        },
        other => other,
    }
}

/// The letter of an ISO/IEC 15415 grade (4.0 = A ... below 0.5 = F), as the batch
/// report gives it.
pub fn grade_letter(grade: f64) -> char {
    match grade {
        g if g >= 3.5 => 'A',
        g if g >= 2.5 => 'B',
        g if g >= 1.5 => 'C',
        g if g >= 0.5 => 'D',
        _ => 'F',
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::DeviceView;

    fn today() -> Gs1Date {
        Gs1Date {
            year: 2026,
            month: 5,
            day: 14,
            day_was_zero: false,
        }
    }

    fn batch(state: &str, hold: Option<&str>) -> BatchView {
        BatchView {
            id: 3,
            gtin: "09506000134352".into(),
            client: "acme".into(),
            lot: "L1".into(),
            expiry: "281231".into(),
            state: state.into(),
            hold: hold.map(str::to_string),
            quantity: 1000,
            commissioned: 10,
            good_verdicts: 10,
            rejects: 1,
            rejects_by_reason: BTreeMap::new(),
            scrapped: 1,
            sampled: 0,
            invalidated: 0,
            returned: 0,
            allocated: 11,
            rate_per_min: 60.0,
            eta_s: Some(600.0),
            printer_queue: 0,
            items_in_flight: 0,
            holds: 0,
        }
    }

    fn status(batch: Option<BatchView>, alarms: &[(u64, bool)]) -> Response {
        Response {
            ok: true,
            message: String::new(),
            batch: None,
            status: Some(StatusReport {
                pid: 1,
                store: "s".into(),
                recovering: None,
                devices: vec![DeviceView {
                    name: "printer".into(),
                    online: true,
                    since: None,
                }],
                plc_alarms: String::new(),
                batch,
                alarms: vec![],
                alarm_list: alarms
                    .iter()
                    .map(|(id, acknowledged)| AlarmView {
                        id: *id,
                        at: "2026-05-14T10:00:00Z".into(),
                        text: format!("alarm {id}"),
                        acknowledged: *acknowledged,
                    })
                    .collect(),
                rate_history: vec![],
                caller: None,
            }),
        }
    }

    fn console_with(batch: Option<BatchView>) -> Console {
        let mut console = Console::new("/tmp/s.sock".into(), today());
        console.on_status(Ok(status(batch, &[])), "10:00:00");
        console
    }

    fn answer(ok: bool, message: &str) -> Result<Response, String> {
        Ok(Response {
            ok,
            message: message.into(),
            batch: None,
            status: None,
        })
    }

    fn typed(console: &mut Console, text: &str) {
        for c in text.chars() {
            assert_eq!(console.handle_key(Key::Char(c)), None);
        }
    }

    #[test]
    fn q_quits_and_ctrl_c_quits_without_a_dialog() {
        let mut console = console_with(None);
        assert_eq!(console.handle_key(Key::Char('q')), Some(Action::Quit));
        assert_eq!(console.handle_key(Key::Ctrl('c')), Some(Action::Quit));
    }

    #[test]
    fn quitting_with_a_form_open_asks_first_and_no_goes_back_to_the_form() {
        let mut console = console_with(None);
        console.handle_key(Key::Char('s'));
        typed(&mut console, "0950q");
        // `q` typed into the form, not a quit.
        match &console.dialog {
            Some(Dialog::Form(form)) => assert_eq!(form.fields[0].value, "0950q"),
            other => panic!("{other:?}"),
        }
        assert_eq!(console.handle_key(Key::Ctrl('c')), None);
        assert!(matches!(console.dialog, Some(Dialog::Confirm(_))));
        assert_eq!(console.handle_key(Key::Char('n')), None);
        match &console.dialog {
            Some(Dialog::Form(form)) => assert_eq!(form.fields[0].value, "0950q"),
            other => panic!("{other:?}"),
        }
        console.handle_key(Key::Ctrl('c'));
        assert_eq!(console.handle_key(Key::Char('y')), Some(Action::Quit));
    }

    #[test]
    fn pause_is_confirmed_then_sent_and_the_answer_shows() {
        let mut console = console_with(Some(batch("running", None)));
        assert_eq!(console.handle_key(Key::Char('p')), None);
        match &console.dialog {
            Some(Dialog::Confirm(confirm)) => assert_eq!(confirm.question, "Pause batch 3? [y/n]"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            console.handle_key(Key::Char('y')),
            Some(Action::Send(Request::BatchPause { batch: Some(3) }))
        );
        assert!(console.dialog.is_none());
        // A second command waits for the answer.
        assert_eq!(console.handle_key(Key::Char('p')), None);
        assert!(console.dialog.is_none());
        console.on_answer(answer(true, "batch 3 paused"));
        assert_eq!(
            console.message,
            Some(Message {
                text: "batch 3 paused".into(),
                tone: Tone::Done
            })
        );
        assert!(console.in_flight.is_none());
    }

    #[test]
    fn no_cancels_and_nothing_is_sent() {
        let mut console = console_with(Some(batch("running", None)));
        console.handle_key(Key::Char('t'));
        assert_eq!(console.handle_key(Key::Char('n')), None);
        assert!(console.dialog.is_none());
        assert!(console.in_flight.is_none());
        assert!(console.message.as_ref().unwrap().text.contains("cancelled"));
    }

    #[test]
    fn batch_commands_without_a_batch_say_how_to_start_one() {
        let mut console = console_with(None);
        assert_eq!(console.handle_key(Key::Char('p')), None);
        assert!(console.dialog.is_none());
        assert_eq!(
            console.message.as_ref().unwrap().text,
            "no batch running — press s to start one"
        );
    }

    #[test]
    fn resume_after_consecutive_rejects_asks_for_the_password_up_front() {
        let mut console = console_with(Some(batch("paused", Some("5 consecutive rejects"))));
        console.handle_key(Key::Char('r'));
        assert_eq!(console.handle_key(Key::Char('y')), None);
        assert!(matches!(console.dialog, Some(Dialog::Password(_))));
        // An empty password is refused; the dots never show the text.
        assert_eq!(console.handle_key(Key::Enter), None);
        typed(&mut console, "s3cret");
        match &console.dialog {
            Some(Dialog::Password(prompt)) => {
                assert_eq!(prompt.input, "s3cret");
                assert_eq!(prompt.meaning, "resumed after 5 consecutive rejects");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            console.handle_key(Key::Enter),
            Some(Action::Send(Request::BatchResume {
                batch: Some(3),
                signature: Some(SignatureInput {
                    password: "s3cret".into()
                }),
            }))
        );
        // What is kept in flight has no password.
        assert_eq!(
            console.in_flight.as_ref().unwrap().request,
            Request::BatchResume {
                batch: Some(3),
                signature: None
            }
        );
    }

    #[test]
    fn a_refusal_asking_for_a_signature_opens_the_prompt_and_resends_signed() {
        let mut console = console_with(Some(batch("paused", Some("paused by the operator"))));
        console.handle_key(Key::Char('r'));
        assert_eq!(
            console.handle_key(Key::Char('y')),
            Some(Action::Send(Request::BatchResume {
                batch: Some(3),
                signature: None
            }))
        );
        console.on_answer(answer(false, "a signature is required to resume"));
        assert!(matches!(console.dialog, Some(Dialog::Password(_))));
        typed(&mut console, "pw");
        assert_eq!(
            console.handle_key(Key::Enter),
            Some(Action::Send(Request::BatchResume {
                batch: Some(3),
                signature: Some(SignatureInput {
                    password: "pw".into()
                }),
            }))
        );
        // A refused signed request does not loop back to the prompt.
        console.on_answer(answer(false, "the signature is not valid"));
        assert!(console.dialog.is_none());
        assert_eq!(console.message.as_ref().unwrap().tone, Tone::Refused);
    }

    #[test]
    fn close_needs_a_stopped_batch() {
        let mut console = console_with(Some(batch("running", None)));
        console.handle_key(Key::Char('c'));
        assert!(console.dialog.is_none());
        assert!(
            console
                .message
                .as_ref()
                .unwrap()
                .text
                .contains("stop it first")
        );
        let mut console = console_with(Some(batch("stopped", None)));
        console.handle_key(Key::Char('c'));
        assert!(matches!(console.dialog, Some(Dialog::Form(_))));
    }

    #[test]
    fn the_start_form_goes_through_confirmation_to_a_batch_start() {
        let mut console = console_with(None);
        console.handle_key(Key::Char('s'));
        typed(&mut console, "09506000134352");
        console.handle_key(Key::Tab);
        typed(&mut console, "L1");
        console.handle_key(Key::Tab);
        typed(&mut console, "2028-12-31");
        console.handle_key(Key::Tab);
        typed(&mut console, "1000");
        assert_eq!(console.handle_key(Key::Enter), None);
        match &console.dialog {
            Some(Dialog::Confirm(confirm)) => {
                assert!(
                    confirm.question.ends_with("? [y/n]"),
                    "{}",
                    confirm.question
                );
                assert!(
                    confirm.question.contains("1,000 packs"),
                    "{}",
                    confirm.question
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            console.handle_key(Key::Char('y')),
            Some(Action::Send(Request::BatchStart {
                gtin: "09506000134352".into(),
                lot: "L1".into(),
                expiry: "281231".into(),
                quantity: 1000,
                client: None,
                challenge: 0,
            }))
        );
    }

    #[test]
    fn alarms_are_selected_newest_first_and_acknowledged_by_id() {
        let mut console = Console::new("s".into(), today());
        console.on_status(
            Ok(status(
                Some(batch("running", None)),
                &[(1, true), (2, false), (3, false)],
            )),
            "10:00:00",
        );
        // Newest unacknowledged first.
        assert_eq!(console.selected_alarm, Some(3));
        console.handle_key(Key::Down);
        assert_eq!(console.selected_alarm, Some(2));
        console.handle_key(Key::Down);
        console.handle_key(Key::Down);
        assert_eq!(console.selected_alarm, Some(1));
        console.handle_key(Key::Char('a'));
        assert!(console.dialog.is_none(), "alarm 1 is acknowledged already");
        console.handle_key(Key::Up);
        console.handle_key(Key::Char('a'));
        assert_eq!(
            console.handle_key(Key::Char('y')),
            Some(Action::Send(Request::AlarmAck { id: Some(2) }))
        );
    }

    #[test]
    fn a_lost_daemon_keeps_the_last_status_and_the_last_contact() {
        let mut console = console_with(Some(batch("running", None)));
        console.on_status(Err("connection refused".into()), "10:00:05");
        assert_eq!(
            console.connection,
            Connection::Lost {
                reason: "connection refused".into()
            }
        );
        assert_eq!(console.last_contact.as_deref(), Some("10:00:00"));
        assert!(console.batch().is_some());
        console.on_status(Ok(status(None, &[])), "10:00:09");
        assert_eq!(console.connection, Connection::Connected);
        assert_eq!(
            console.history_batch(),
            Some(3),
            "the last batch's history stays"
        );
    }

    #[test]
    fn decommission_always_asks_for_the_password() {
        let mut console = console_with(Some(batch("running", None)));
        console.handle_key(Key::Char('d'));
        typed(&mut console, "SN1");
        console.handle_key(Key::Tab);
        typed(&mut console, "damaged");
        console.handle_key(Key::Enter);
        assert_eq!(console.handle_key(Key::Char('y')), None);
        match &console.dialog {
            Some(Dialog::Password(prompt)) => assert_eq!(prompt.meaning, "decommissioned"),
            other => panic!("{other:?}"),
        }
        assert_eq!(console.handle_key(Key::Esc), None);
        assert!(console.dialog.is_none());
        assert!(console.in_flight.is_none());
    }

    #[test]
    fn grades_have_letters() {
        assert_eq!(grade_letter(4.0), 'A');
        assert_eq!(grade_letter(2.5), 'B');
        assert_eq!(grade_letter(0.2), 'F');
    }
}

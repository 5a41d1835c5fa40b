//! The PackML commands the station sends to run the line: the walk to Execute when
//! the engine asks to start the line (`Command::StartLine`), one command per look at
//! the PLC's state, and the command that resets its latched alarms.
//!
//! Start-up recovery has its own walk (`super::super::recovery`), which also stops
//! an Idle line whose alarms are still set.

use std::time::Duration;

use serialstation_devices::plc::register_map::{PackMlCommand, PackMlState};

/// Most looks at the PLC's state before the walk gives up (the operator is told
/// to check the PLC's alarms at the line).
pub const MAX_LOOKS: u32 = 100;
/// Pause after each look (and its command), for the PLC to move on.
pub const LOOK_INTERVAL: Duration = Duration::from_millis(10);

/// What to do after one look at the PLC's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartStep {
    /// The line runs (Execute): the walk is done.
    Running,
    /// Send this command, then look again.
    Send(PackMlCommand),
    /// The PLC is on its way between states (or in none the station knows how
    /// to leave): look again.
    Wait,
}

/// The next step toward Execute from `state`. Latched alarms are cleared the
/// PackML way on the way: Clear from Aborted, Reset from Stopped or Complete.
pub fn start_step(state: PackMlState) -> StartStep {
    match state {
        PackMlState::Execute => StartStep::Running,
        PackMlState::Aborted => StartStep::Send(PackMlCommand::Clear),
        PackMlState::Stopped | PackMlState::Complete => StartStep::Send(PackMlCommand::Reset),
        PackMlState::Idle => StartStep::Send(PackMlCommand::Start),
        PackMlState::Held => StartStep::Send(PackMlCommand::Unhold),
        PackMlState::Suspended => StartStep::Send(PackMlCommand::Unsuspend),
        PackMlState::Undefined
        | PackMlState::Clearing
        | PackMlState::Starting
        | PackMlState::Stopping
        | PackMlState::Aborting
        | PackMlState::Holding
        | PackMlState::Unholding
        | PackMlState::Suspending
        | PackMlState::Unsuspending
        | PackMlState::Resetting
        | PackMlState::Completing => StartStep::Wait,
    }
}

/// The command that resets the PLC's latched alarms from `state` (they clear once
/// their cause is gone): Clear from Aborted, Reset otherwise.
pub fn alarm_reset_command(state: PackMlState) -> PackMlCommand {
    match state {
        PackMlState::Aborted => PackMlCommand::Clear,
        _ => PackMlCommand::Reset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PLC that finishes each acting state by the next look and takes only the
    /// commands PackML allows from its state.
    fn plc_after(state: PackMlState, command: Option<PackMlCommand>) -> PackMlState {
        use PackMlCommand as C;
        use PackMlState as S;
        match (state, command) {
            (S::Aborted, Some(C::Clear)) => S::Clearing,
            (S::Stopped | S::Complete, Some(C::Reset)) => S::Resetting,
            (S::Idle, Some(C::Start)) => S::Starting,
            (S::Held, Some(C::Unhold)) => S::Unholding,
            (S::Suspended, Some(C::Unsuspend)) => S::Unsuspending,
            (S::Clearing | S::Stopping, _) => S::Stopped,
            (S::Aborting, _) => S::Aborted,
            (S::Resetting, _) => S::Idle,
            (S::Starting | S::Unholding | S::Unsuspending, _) => S::Execute,
            (S::Holding, _) => S::Held,
            (S::Suspending, _) => S::Suspended,
            (S::Completing, _) => S::Complete,
            (other, _) => other,
        }
    }

    /// Walks a model PLC from `from`: the commands sent, and whether it reached
    /// Execute within [`MAX_LOOKS`].
    fn walk(from: PackMlState) -> (Vec<PackMlCommand>, bool) {
        let mut state = from;
        let mut sent = Vec::new();
        for _ in 0..MAX_LOOKS {
            let command = match start_step(state) {
                StartStep::Running => return (sent, true),
                StartStep::Send(command) => Some(command),
                StartStep::Wait => None,
            };
            sent.extend(command);
            state = plc_after(state, command);
        }
        (sent, false)
    }

    #[test]
    fn each_resting_state_gets_the_command_toward_execute() {
        use PackMlCommand as C;
        use PackMlState as S;
        assert_eq!(start_step(S::Execute), StartStep::Running);
        assert_eq!(start_step(S::Aborted), StartStep::Send(C::Clear));
        assert_eq!(start_step(S::Stopped), StartStep::Send(C::Reset));
        assert_eq!(start_step(S::Complete), StartStep::Send(C::Reset));
        assert_eq!(start_step(S::Idle), StartStep::Send(C::Start));
        assert_eq!(start_step(S::Held), StartStep::Send(C::Unhold));
        assert_eq!(start_step(S::Suspended), StartStep::Send(C::Unsuspend));
        for moving in [
            S::Undefined,
            S::Clearing,
            S::Starting,
            S::Stopping,
            S::Aborting,
            S::Holding,
            S::Unholding,
            S::Suspending,
            S::Unsuspending,
            S::Resetting,
            S::Completing,
        ] {
            assert_eq!(start_step(moving), StartStep::Wait, "{moving:?}");
        }
    }

    #[test]
    fn the_walk_never_sends_a_command_that_stops_the_line() {
        for state in PackMlState::ALL {
            if let StartStep::Send(command) = start_step(state) {
                assert!(
                    !matches!(
                        command,
                        PackMlCommand::Hold
                            | PackMlCommand::Stop
                            | PackMlCommand::Suspend
                            | PackMlCommand::Abort
                    ),
                    "{state:?} → {command:?}"
                );
            }
        }
    }

    #[test]
    fn the_walk_reaches_execute_from_every_state_the_plc_can_leave() {
        use PackMlCommand as C;
        use PackMlState as S;
        assert_eq!(walk(S::Execute), (vec![], true));
        assert_eq!(walk(S::Aborted), (vec![C::Clear, C::Reset, C::Start], true));
        assert_eq!(
            walk(S::Aborting),
            (vec![C::Clear, C::Reset, C::Start], true)
        );
        assert_eq!(walk(S::Stopped), (vec![C::Reset, C::Start], true));
        assert_eq!(walk(S::Complete), (vec![C::Reset, C::Start], true));
        assert_eq!(walk(S::Completing), (vec![C::Reset, C::Start], true));
        assert_eq!(walk(S::Idle), (vec![C::Start], true));
        assert_eq!(walk(S::Held), (vec![C::Unhold], true));
        assert_eq!(walk(S::Holding), (vec![C::Unhold], true));
        assert_eq!(walk(S::Suspended), (vec![C::Unsuspend], true));
        assert_eq!(walk(S::Starting), (vec![], true));
        for state in PackMlState::ALL {
            let (sent, arrived) = walk(state);
            assert_eq!(arrived, state != S::Undefined, "{state:?}");
            assert!(sent.len() <= 3, "{state:?}: {sent:?}");
        }
    }

    #[test]
    fn an_undefined_plc_is_waited_for_until_the_walk_gives_up() {
        assert_eq!(walk(PackMlState::Undefined), (vec![], false));
    }

    #[test]
    fn alarms_are_reset_with_clear_from_aborted_and_reset_elsewhere() {
        assert_eq!(
            alarm_reset_command(PackMlState::Aborted),
            PackMlCommand::Clear
        );
        for state in PackMlState::ALL {
            if state != PackMlState::Aborted {
                assert_eq!(
                    alarm_reset_command(state),
                    PackMlCommand::Reset,
                    "{state:?}"
                );
            }
        }
    }
}

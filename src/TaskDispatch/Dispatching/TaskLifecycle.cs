using System.Diagnostics;

namespace TaskDispatch;

/// <summary>The engine's record of where a task is in its life: the state word (state and transition counter, changed
/// only by compare-and-swap, so that exactly one party wins each transition and only one wins the terminal one), the
/// stop request, the pending permit, the attempt count and the current attempt's context. Embedded in the task's handle,
/// so it costs no allocation; only the engine touches it, and it tells the handle (its owner) what it changed.</summary>
internal struct TaskLifecycle
{
    /// <summary>The stop reason of a cancellation (by the handle, the options' token or a dispatcher stop).</summary>
    internal const int StopCancelled = 1;

    /// <summary>The stop reason of an expired <see cref="TaskOptions.OverallTimeout"/>.</summary>
    internal const int StopTimedOut = 2;

    private const long StateMask = 0xFF;
    private const int VersionShift = 8;

    /// <summary>The state in the low byte and a transition counter above it, changed together by one compare-and-swap.</summary>
    private long _stateWord;

    /// <summary>1 while the task counts against <see cref="TaskDispatcherOptions.MaxPendingTasks"/>.</summary>
    private int _holdsPermit;

    /// <summary>Why the task must stop, once asked: <see cref="StopCancelled"/> or <see cref="StopTimedOut"/>; 0 until then.</summary>
    private int _stopReason;

    /// <summary>The attempts started so far.</summary>
    private int _attempts;

    /// <summary>The current (or last) attempt's context, so that a stop reaches a running attempt.</summary>
    private TaskContext? _context;

    /// <summary>Gets the task's current state.</summary>
    internal TaskState State => StateOf(Volatile.Read(ref _stateWord));

    /// <summary>Gets the state word now: the state and the number of transitions so far.</summary>
    internal long Word => Volatile.Read(ref _stateWord);

    /// <summary>Gets the number of attempts started so far.</summary>
    internal int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Gets the current (or last) attempt's context.</summary>
    internal TaskContext? Context => Volatile.Read(ref _context);

    /// <summary>Gets whether the task was asked to stop: cancelled, or out of overall time.</summary>
    internal bool IsCancellationRequested => Volatile.Read(ref _stopReason) != 0;

    /// <summary>Gets whether the stop request is the overall timeout rather than a cancellation.</summary>
    internal bool IsTimedOut => Volatile.Read(ref _stopReason) == StopTimedOut;

    /// <summary>Gets the state held in a state word.</summary>
    internal static TaskState StateOf(long word) => (TaskState)(word & StateMask);

    /// <summary>Gets the transition count held in a state word.</summary>
    internal static long VersionOf(long word) => word >> VersionShift;

    internal int BeginAttempt() => Interlocked.Increment(ref _attempts);

    /// <summary>Sets the attempts a replayed task had started before its process stopped; before anyone else sees it.</summary>
    internal void RestoreAttempts(int attempts) => _attempts = attempts;

    /// <summary>Puts a task rebuilt from a durable store straight into its terminal state; before anyone else sees it.</summary>
    internal void RestoreEnded(TaskState terminal, int attempts)
    {
        Debug.Assert(terminal.IsTerminal(), "Only an ended task is restored ended.");
        _attempts = attempts;
        _stateWord = (long)terminal;
    }

    /// <summary>Marks the task as counting against the pending bound.</summary>
    internal void TakePermit() => _holdsPermit = 1;

    /// <summary>Stops counting the task against the pending bound; <see langword="true"/> the one time it did.</summary>
    internal bool TryReturnPermit() => Interlocked.Exchange(ref _holdsPermit, 0) == 1;

    /// <summary>Installs a starting attempt's context, then honours a stop that came first.</summary>
    internal void SetContext(TaskContext context)
    {
        // Published with a full fence before the flag is read; a stop sets the flag before it reads the context.
        Interlocked.Exchange(ref _context, context);
        if (IsCancellationRequested)
        {
            context.CancelAttempt();
        }
    }

    /// <summary>Drops the reference to the first attempt's context once it completed the task (see the handle).</summary>
    internal void ForgetCompletedContext(TaskContext context)
    {
        if (context.Attempt == 1)
        {
            Interlocked.CompareExchange(ref _context, null, context);
        }
    }

    /// <summary>The state and exception a stopped task ends with, by the first stop reason given.</summary>
    internal (TaskState State, Exception? Exception) StopOutcome(TaskHandle owner) => IsTimedOut
        ? (TaskState.Failed, new TaskTimeoutException($"Task '{owner.Id}' did not finish within its overall timeout of {owner.Options.OverallTimeout}."))
        : (TaskState.Cancelled, null);

    /// <summary>Asks the task to stop for <paramref name="reason"/>: a waiting task ends at once; a running attempt has its
    /// token cancelled (its worker ends the task).</summary>
    /// <returns>Whether the request was made before the task finished.</returns>
    internal bool RequestStop(TaskHandle owner, int reason)
    {
        if (State.IsTerminal())
        {
            return false;
        }

        // The first reason stands: a cancellation after the overall timeout does not turn the failure into a cancellation.
        var first = Interlocked.CompareExchange(ref _stopReason, reason, 0) == 0;
        while (true)
        {
            var word = Volatile.Read(ref _stateWord);
            var state = StateOf(word);
            switch (state)
            {
                case TaskState.Pending:
                case TaskState.Retrying:
                    var (terminal, exception) = StopOutcome(owner);
                    if (TryFinishFrom(owner, word, terminal, exception))
                    {
                        return true;
                    }

                    continue;

                case TaskState.Assigning:
                case TaskState.Running:
                    // The worker owns these states; it sees the flag before it starts an attempt, and the token while one runs.
                    Context?.CancelAttempt();
                    return true;

                default:
                    // Ended meanwhile. If by this request (a worker saw the flag we set and stopped the task before we
                    // read the state), the request was made in time; any other ending came first.
                    return first && state == (reason == StopTimedOut ? TaskState.Failed : TaskState.Cancelled);
            }
        }
    }

    /// <summary>Moves the task from <see cref="TaskState.Assigning"/> to <see cref="TaskState.Running"/> for the attempt
    /// of <paramref name="context"/>, which from then on owns the task until its state word changes.</summary>
    internal bool TryStartRunning(TaskHandle owner, TaskContext context)
    {
        var word = Volatile.Read(ref _stateWord);
        if (StateOf(word) != TaskState.Assigning)
        {
            return false;
        }

        var next = NextWord(word, TaskState.Running);
        context.RunningWord = next;
        if (Interlocked.CompareExchange(ref _stateWord, next, word) != word)
        {
            return false;
        }

        owner.Dispatcher.OnTransition(owner, TaskState.Assigning, TaskState.Running, VersionOf(next));
        return true;
    }

    /// <summary>Moves the task to <see cref="TaskState.Retrying"/> after the attempt of <paramref name="context"/>
    /// failed, if that attempt still owns it.</summary>
    internal bool TryRetryAttempt(TaskHandle owner, TaskContext context)
    {
        var word = context.RunningWord;
        var next = NextWord(word, TaskState.Retrying);
        if (Interlocked.CompareExchange(ref _stateWord, next, word) != word)
        {
            return false;
        }

        owner.Dispatcher.OnTransition(owner, TaskState.Running, TaskState.Retrying, VersionOf(next));
        return true;
    }

    /// <summary>Moves from <paramref name="from"/> to the non-terminal <paramref name="to"/>.</summary>
    internal bool TryTransition(TaskHandle owner, TaskState from, TaskState to)
    {
        Debug.Assert(!to.IsTerminal(), "Terminal transitions go through TryFinish.");
        var word = Volatile.Read(ref _stateWord);
        if (StateOf(word) != from)
        {
            return false;
        }

        var next = NextWord(word, to);
        if (Interlocked.CompareExchange(ref _stateWord, next, word) != word)
        {
            return false;
        }

        owner.Dispatcher.OnTransition(owner, from, to, VersionOf(next));
        return true;
    }

    /// <summary>Moves a waiting task (pending or retrying) to <see cref="TaskState.Assigning"/>.</summary>
    internal bool TryBeginAssigning(TaskHandle owner)
    {
        while (true)
        {
            var word = Volatile.Read(ref _stateWord);
            var state = StateOf(word);
            if (state is not (TaskState.Pending or TaskState.Retrying))
            {
                return false;
            }

            var next = NextWord(word, TaskState.Assigning);
            if (Interlocked.CompareExchange(ref _stateWord, next, word) == word)
            {
                owner.Dispatcher.OnTransition(owner, state, TaskState.Assigning, VersionOf(next));
                return true;
            }
        }
    }

    /// <summary>Ends the task in <paramref name="terminal"/> unless it already ended. Exactly one caller ever wins.</summary>
    internal bool TryFinish(TaskHandle owner, TaskState terminal, Exception? exception)
    {
        while (true)
        {
            var word = Volatile.Read(ref _stateWord);
            if (StateOf(word).IsTerminal())
            {
                return false;
            }

            if (TryFinishFrom(owner, word, terminal, exception))
            {
                return true;
            }
        }
    }

    /// <summary>Ends the task in <paramref name="terminal"/> if its state word is still <paramref name="word"/>, and
    /// has the owner record the end.</summary>
    internal bool TryFinishFrom(TaskHandle owner, long word, TaskState terminal, Exception? exception)
    {
        Debug.Assert(terminal.IsTerminal(), "Only terminal states finish a task.");
        var next = NextWord(word, terminal);
        if (Interlocked.CompareExchange(ref _stateWord, next, word) != word)
        {
            return false;
        }

        owner.OnEnded(StateOf(word), terminal, VersionOf(next), exception);
        return true;
    }

    private static long NextWord(long word, TaskState state) => ((VersionOf(word) + 1) << VersionShift) | (long)state;
}

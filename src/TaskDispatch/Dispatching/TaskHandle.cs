using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace TaskDispatch;

/// <summary>A submitted task, as its submitter holds it: id, live state, progress, cancellation and an awaitable outcome.</summary>
/// <remarks>
/// <c>await handle</c> completes when the task reaches its terminal state: it returns normally when the task
/// <see cref="TaskState.Completed"/>, throws the last attempt's exception when it <see cref="TaskState.Failed"/>, and
/// throws <see cref="OperationCanceledException"/> when it was <see cref="TaskState.Cancelled"/>. All members are thread-safe.
/// </remarks>
public abstract partial class TaskHandle
{
    /// <summary>The engine's record of the task's life (state word, stop request, permit, attempts, context), kept in
    /// the handle so that it costs no allocation of its own.</summary>
    private TaskLifecycle _lifecycle;

    private string? _nodeName;
    private object? _kindKey;

    /// <summary>The caller's id, the id a resubmitted task keeps, or the generated id once asked for; <see langword="null"/>
    /// until then, so that a task with a generated id formats no string unless someone needs it.</summary>
    private string? _id;

    private protected TaskHandle(TaskDispatcher dispatcher, string? id, TaskOptions options, long sequenceNumber, DateTimeOffset submittedAt)
    {
        Dispatcher = dispatcher;
        _id = id;
        Options = options;
        SequenceNumber = sequenceNumber;
        _submittedAtTicks = submittedAt.UtcTicks;
    }

    /// <summary>Gets the task's id: the caller's <see cref="TaskOptions.Id"/>, or a generated one
    /// (<see cref="TaskDispatcherDefaults.GeneratedIdPrefix"/> and the <see cref="SequenceNumber"/>).</summary>
    public string Id => _id ??= string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{TaskDispatcherDefaults.GeneratedIdPrefix}{SequenceNumber}");

    /// <summary>Gets whether the task has a caller-given id, by which the registry keys it.</summary>
    internal bool HasCallerId => Options.Id is not null;

    /// <summary>The next (earlier readied) task in the scheduler's ready intake; written by whoever readies the task and by
    /// the step that takes it.</summary>
    internal TaskHandle? NextReady { get; set; }

    /// <summary>1 while the task waits in the scheduler's ready intake.</summary>
    private int _inReadyIntake;

    /// <summary>Marks the task as waiting in the ready intake; <see langword="false"/> if it already was.</summary>
    internal bool TryEnterReadyIntake() => Interlocked.Exchange(ref _inReadyIntake, 1) == 0;

    /// <summary>Marks the task as taken out of the ready intake.</summary>
    internal void LeaveReadyIntake() => Volatile.Write(ref _inReadyIntake, 0);

    /// <summary>Where the task sits in the registry's live set (stripe and index), or -1; written under the stripe's lock.</summary>
    internal int LivePosition { get; set; } = -1;

    /// <summary>Tells whether <paramref name="id"/> is this task's id, without formatting a generated one.</summary>
    internal bool HasId(string id)
    {
        if (Volatile.Read(ref _id) is { } known)
        {
            return string.Equals(known, id, StringComparison.Ordinal);
        }

        return id.StartsWith(TaskDispatcherDefaults.GeneratedIdPrefix, StringComparison.Ordinal)
            && long.TryParse(id.AsSpan(TaskDispatcherDefaults.GeneratedIdPrefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var sequence)
            && sequence == SequenceNumber
            && string.Equals(Id, id, StringComparison.Ordinal);
    }

    /// <summary>Gets the options the task was submitted with.</summary>
    public TaskOptions Options { get; }

    /// <summary>Gets the dispatcher-wide arrival number: lower numbers were submitted earlier.</summary>
    public long SequenceNumber { get; }

    /// <summary>Gets when the task was submitted, from the dispatcher's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset SubmittedAt => new(_submittedAtTicks, TimeSpan.Zero);

    /// <summary>Gets when the task could first start: its submission, or its <see cref="TaskOptions.NotBefore"/> or
    /// <see cref="TaskOptions.Delay"/>. Policies that age waiting tasks count from here.</summary>
    public DateTimeOffset ReadyAt
    {
        get => new(_readyAtTicks, TimeSpan.Zero);
        internal set => _readyAtTicks = value.UtcTicks;
    }

    /// <summary>When the task was submitted, in UTC ticks: half the size of a <see cref="DateTimeOffset"/>.</summary>
    private readonly long _submittedAtTicks;

    /// <summary>When the task could first start, in UTC ticks.</summary>
    private long _readyAtTicks;

    /// <summary>When the first attempt started, in UTC ticks; 0 until then.</summary>
    private long _startedAtTicks;

    /// <summary>When the task reached its terminal state, in UTC ticks; 0 until then.</summary>
    private long _endedAtTicks;

    /// <summary>Gets when the task's first attempt started, from the dispatcher's <see cref="TimeProvider"/>;
    /// <see langword="null"/> while it has not started (or if it ended without ever starting).</summary>
    public DateTimeOffset? StartedAt => Volatile.Read(ref _startedAtTicks) is var ticks and not 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>Gets when the task reached its terminal state, from the dispatcher's <see cref="TimeProvider"/>;
    /// <see langword="null"/> while it is live.</summary>
    public DateTimeOffset? EndedAt => Volatile.Read(ref _endedAtTicks) is var ticks and not 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>Records the start of the first attempt; later attempts leave it.</summary>
    internal void MarkStarted(DateTimeOffset at)
    {
        if (Volatile.Read(ref _startedAtTicks) == 0)
        {
            Volatile.Write(ref _startedAtTicks, at.UtcTicks);
        }
    }

    /// <summary>Sets the attempts a replayed task had started before its process stopped.</summary>
    internal void RestoreAttempts(int attempts) => _lifecycle.RestoreAttempts(attempts);

    /// <summary>Makes a handle rebuilt from a durable store an ended one, whose awaitable has completed; never counted as live.</summary>
    internal void RestoreEnded(TaskState terminal, Exception? exception, int attempts, DateTimeOffset? startedAt, DateTimeOffset endedAt)
    {
        _lifecycle.RestoreEnded(terminal, attempts);
        if (exception is not null)
        {
            Side.Exception = exception;
        }

        _startedAtTicks = startedAt?.UtcTicks ?? 0;
        _endedAtTicks = endedAt.UtcTicks;
        ReleaseWaiters();
    }

    /// <summary>Records the end; called once, by the winner of the terminal transition.</summary>
    internal void MarkEnded(DateTimeOffset at) => Volatile.Write(ref _endedAtTicks, at.UtcTicks);

    /// <summary>Gets the kind of work: <see cref="TaskOptions.Kind"/>, else the handler type or the delegate's method.</summary>
    public string Kind => KindKey is string kind ? kind : Side.KindName ??= KindKey switch
    {
        Type type => type.FullName ?? type.Name,
        System.Reflection.MethodInfo method => $"{method.DeclaringType?.FullName}.{method.Name}",
        _ => string.Empty,
    };

    /// <summary>Gets the identity behind <see cref="Kind"/> (a string, a handler type or a method), compared without
    /// formatting a name; learning policies key their tables by it.</summary>
    /// <remarks>Worked out on first use, since only learning policies need it and a delegate's method is not free to get.</remarks>
    public object KindKey
    {
        get => _kindKey ??= Options.Kind ?? TaskIntake.KindOf(Work);
        internal set => _kindKey = value;
    }

    /// <summary>Gets what the task runs: the submitted delegate, or the handler input that names the handler type.</summary>
    internal abstract object? Work { get; }

    /// <summary>Gets or sets the task's position in the scheduling policy's queue (an index, a heap slot or an entry
    /// stamp), or -1: storage on the task that the policy holding it may use, so that <see cref="ISchedulingPolicy.Remove"/>
    /// costs O(1) or O(log n) instead of a search. The built-in policies use it; the engine never reads it.</summary>
    /// <value>The default value is -1. Only the policy named by <see cref="QueueOwner"/> may change it.</value>
    public long QueuePosition { get; set; } = -1;

    /// <summary>Gets or sets the queue holding the task, set by the policy (or inner queue) that enqueued it, so that a
    /// removal asked of another queue can tell the task is not its own. A task is in one queue at a time.</summary>
    /// <value>The default value is <see langword="null"/>: in no queue.</value>
    public object? QueueOwner { get; set; }

    /// <summary>Gets the task's current state.</summary>
    public TaskState State => _lifecycle.State;

    /// <summary>Gets whether the task has reached its terminal state.</summary>
    public bool IsFinished => State.IsTerminal();

    /// <summary>Gets the number of attempts started so far.</summary>
    public int Attempts => _lifecycle.Attempts;

    /// <summary>Gets the node the latest attempt was assigned to, or <see langword="null"/> before the first assignment.</summary>
    public string? NodeName => Volatile.Read(ref _nodeName);

    /// <summary>Gets the latest progress the task reported, or <see langword="null"/> if it reported none.</summary>
    public TaskProgress? Progress => Volatile.Read(ref _extras)?.Progress;

    /// <summary>Gets the exception the task failed with, once it is <see cref="TaskState.Failed"/>.</summary>
    public Exception? Exception => Volatile.Read(ref _extras) is { } extras ? Volatile.Read(ref extras.Exception) : null;

    /// <summary>Gets a task that completes with the handle: successfully, faulted or cancelled.</summary>
    public abstract Task Completion { get; }

    /// <summary>Raised on the reporting thread whenever the running task reports progress. A handler added after the
    /// task has reported is raised at once, on the subscribing thread, with the latest report, so that subscribing
    /// after <c>SubmitAsync</c> returns misses nothing of the current state however fast the task started. Every handler
    /// receives the reports in the order they were made, that replay included: the deliveries of one task's progress
    /// run one at a time, and adding or removing a handler waits for a delivery in progress. So a handler that blocks
    /// holds up the task's next report, and must wait neither for that report nor for a thread that may be adding or
    /// removing a handler of this task (a handler that marshals to a UI thread synchronously, while that thread
    /// subscribes, would deadlock).</summary>
    public event EventHandler<TaskProgress>? ProgressChanged
    {
        add
        {
            if (value is null)
            {
                return;
            }

            var extras = Side;

            // The replay runs under the lock that deliveries hold: a report made meanwhile reaches this handler after it,
            // never before.
            lock (extras)
            {
                extras.ProgressChanged += value;
                if (extras.Progress is { } latest)
                {
                    value(this, latest);
                }
            }
        }

        remove
        {
            if (Volatile.Read(ref _extras) is { } extras)
            {
                lock (extras)
                {
                    extras.ProgressChanged -= value;
                }
            }
        }
    }

    /// <summary>Gets the dispatcher that owns the task.</summary>
    internal TaskDispatcher Dispatcher { get; }

    /// <summary>The number of the task's latest hand-off to a node, unique within the dispatcher; written by the step that
    /// places it, read by the worker that takes it (through the node's channel). A probe is known by it, not by its
    /// task, so a given-up attempt of the same task that frees its slot later cannot end the probe.</summary>
    internal long Placement { get; set; }

    /// <summary>Where the scheduler keeps the task; read and written only inside scheduler steps.</summary>
    internal TaskLocation Location { get; set; }

    /// <summary>Gets whether the task asks for a particular node, tags or resources, so the scheduler must filter nodes for it.</summary>
    internal bool HasPlacementConstraints =>
        Options.RequiredNode is not null || Options.RequiredTags is { Count: > 0 } || Options.ResourceDemand is { Count: > 0 };

    /// <summary>Gets the current (or last) attempt's context; set by the worker before the attempt runs.</summary>
    internal TaskContext? Context => _lifecycle.Context;

    /// <summary>Gets every failed attempt so far, oldest first: its number, node, exception and time, and whether it was
    /// a node fault. A task that ended <see cref="TaskState.Failed"/> after several attempts has them all here; awaiting
    /// it throws the last one's exception, which is also <see cref="Exception"/>.</summary>
    public IReadOnlyList<AttemptFailure> AttemptFailures => Volatile.Read(ref _extras) is { } extras ? Volatile.Read(ref extras.Failures) : [];


    /// <summary>Gets whether someone watches this task, so that transitions must be published.</summary>
    internal bool HasWatchers => Volatile.Read(ref _extras) is { Watchers: not null };

    /// <summary>Gets whether the task was asked to stop: cancelled, or out of overall time.</summary>
    internal bool IsCancellationRequested => _lifecycle.IsCancellationRequested;

    /// <summary>Gets whether the stop request is the overall timeout rather than a cancellation.</summary>
    internal bool IsTimedOut => _lifecycle.IsTimedOut;

    /// <summary>Gets whether running this task needs a dependency-injection scope per attempt.</summary>
    internal virtual bool RequiresScope => false;

    /// <summary>Asks the task to stop: a waiting task ends <see cref="TaskState.Cancelled"/> at once; a running one has its token cancelled.</summary>
    /// <returns><see langword="true"/> if the request was made before the task finished; <see langword="false"/> if it had already finished.</returns>
    public bool Cancel() => _lifecycle.RequestStop(this, TaskLifecycle.StopCancelled);

    /// <summary>Ends the task for its <see cref="TaskOptions.OverallTimeout"/>: a waiting task fails at once; a running
    /// attempt has its token cancelled and the task fails when it returns.</summary>
    internal void ExpireOverallTimeout() => _lifecycle.RequestStop(this, TaskLifecycle.StopTimedOut);

    /// <summary>The state and exception a stopped task ends with, by the first stop reason given.</summary>
    internal (TaskState State, Exception? Exception) StopOutcome() => _lifecycle.StopOutcome(this);

    /// <summary>Ends a task that was asked to stop, as its first stop reason says, unless it already ended.</summary>
    internal bool TryFinishStopped()
    {
        var (terminal, exception) = StopOutcome();
        return TryFinish(terminal, exception);
    }

    /// <summary>Streams this task's state changes: first the current state, then every later change, ending with the terminal one.</summary>
    /// <param name="cancellationToken">Stops the stream early.</param>
    /// <returns>The changes, each delivered once; the terminal change is always the last.</returns>
    public async IAsyncEnumerable<TaskStateChange> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<TaskStateChange>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
        var extras = Side;
        Watchers.Add(ref extras.Watchers, channel);
        try
        {
            // The watcher is visible before the state is read (full fence), so a transition is either in the snapshot or published to us.
            var word = _lifecycle.Word;
            var state = TaskLifecycle.StateOf(word);
            var lastVersion = TaskLifecycle.VersionOf(word);
            yield return new TaskStateChange(this, state, state, Dispatcher.TimeProvider.GetUtcNow(), lastVersion);
            if (state.IsTerminal())
            {
                yield break;
            }

            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var change))
                {
                    if (change.Version <= lastVersion)
                    {
                        continue;
                    }

                    lastVersion = change.Version;
                    yield return change;
                    if (change.IsTerminal)
                    {
                        yield break;
                    }
                }
            }
        }
        finally
        {
            Watchers.Remove(ref extras.Watchers, channel);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Id} ({State})";

    /// <summary>Creates a new task that runs the same work under the same id, for resubmission.</summary>
    internal abstract TaskHandle Recreate(TaskDispatcher dispatcher, TaskOptions options, long sequenceNumber, DateTimeOffset submittedAt);

    /// <summary>Runs one attempt of the work and keeps its result for the awaitable.</summary>
    internal abstract ValueTask RunAsync(TaskContext context);

    internal void SetNode(string nodeName) => Volatile.Write(ref _nodeName, nodeName);

    internal int BeginAttempt() => _lifecycle.BeginAttempt();

    /// <summary>Marks the task as counting against the pending bound; released once by <see cref="ReleasePermit"/>.</summary>
    internal void TakePermit() => _lifecycle.TakePermit();

    internal void ReleasePermit()
    {
        if (_lifecycle.TryReturnPermit())
        {
            Dispatcher.ReleasePendingPermit();
        }
    }

    internal void RegisterCancellation(CancellationToken token)
    {
        if (token.CanBeCanceled)
        {
            Side.CancellationRegistration = token.UnsafeRegister(static state => ((TaskHandle)state!).Cancel(), this);
        }
    }

    internal void SetReadyTimer(ITimer timer)
    {
        Volatile.Write(ref Side.ReadyTimer, timer);

        // A cancellation that finished the task before the timer was stored could not dispose it.
        if (IsFinished)
        {
            DisposeReadyTimer();
        }
    }

    internal void DisposeReadyTimer()
    {
        if (Volatile.Read(ref _extras) is { } extras)
        {
            Interlocked.Exchange(ref extras.ReadyTimer, null)?.Dispose();
        }
    }

    internal void SetOverallTimer(ITimer timer)
    {
        var extras = Side;
        Volatile.Write(ref extras.OverallTimer, timer);
        if (IsFinished)
        {
            Interlocked.Exchange(ref extras.OverallTimer, null)?.Dispose();
        }
    }

    /// <summary>Drops the reference to the context of the first attempt once it has completed the task: the result is in
    /// the handle, nothing reads the context any more, and a submitter that keeps many finished handles (awaiting them
    /// in turn) should not keep their contexts alive too. A later attempt's context holds its result and stays.</summary>
    internal void ForgetCompletedContext(TaskContext context) => _lifecycle.ForgetCompletedContext(context);

    /// <summary>Installs a starting attempt's context, then honours a stop that came first.</summary>
    internal void SetContext(TaskContext context) => _lifecycle.SetContext(context);

    /// <summary>Moves the task from <see cref="TaskState.Assigning"/> to <see cref="TaskState.Running"/> for the attempt
    /// of <paramref name="context"/>, which from then on owns the task until its state word changes.</summary>
    internal bool TryStartRunning(TaskContext context) => _lifecycle.TryStartRunning(this, context);

    /// <summary>Ends the task with the outcome of the attempt of <paramref name="context"/>, if that attempt still owns it.</summary>
    internal bool TryFinishAttempt(TaskContext context, TaskState terminal, Exception? exception) =>
        _lifecycle.TryFinishFrom(this, context.RunningWord, terminal, exception);

    /// <summary>Moves the task to <see cref="TaskState.Retrying"/> after the attempt of <paramref name="context"/>
    /// failed, if that attempt still owns it.</summary>
    internal bool TryRetryAttempt(TaskContext context) => _lifecycle.TryRetryAttempt(this, context);

    /// <summary>Gets or sets the <see cref="TimeProvider"/> timestamp of the submission, when the dispatcher measures timings.</summary>
    internal long SubmittedTimestamp { get; set; }

    /// <summary>Records a failed attempt; called only by the party concluding that attempt, before it changes the state.</summary>
    internal void RecordFailure(AttemptFailure failure)
    {
        var extras = Side;
        extras.LastFailureTimestamp = Dispatcher.TimeProvider.GetTimestamp();
        if (extras.FirstFailureTimestamp == 0)
        {
            extras.FirstFailureTimestamp = extras.LastFailureTimestamp;
        }

        Volatile.Write(ref extras.Failures, [.. extras.Failures, failure]);
    }

    internal void ReportProgress(TaskProgress progress)
    {
        var extras = Side;

        // Under the subscribers' lock, held while the handlers run: a handler added meanwhile gets this report either from
        // the subscription's replay or from here, never from neither, and never after a newer one.
        lock (extras)
        {
            Volatile.Write(ref extras.Progress, progress);
            extras.ProgressChanged?.Invoke(this, progress);
        }
    }

    /// <summary>Moves from <paramref name="from"/> to the non-terminal <paramref name="to"/>.</summary>
    internal bool TryTransition(TaskState from, TaskState to) => _lifecycle.TryTransition(this, from, to);

    /// <summary>Moves a waiting task (pending or retrying) to <see cref="TaskState.Assigning"/>.</summary>
    internal bool TryBeginAssigning() => _lifecycle.TryBeginAssigning(this);

    /// <summary>Ends the task in <paramref name="terminal"/> unless it already ended. Exactly one caller ever wins.</summary>
    internal bool TryFinish(TaskState terminal, Exception? exception) => _lifecycle.TryFinish(this, terminal, exception);

    /// <summary>Called once, by the lifecycle, for the party that won the task's terminal transition: keeps the
    /// exception, returns the permit, releases timers and the cancellation registration, and has the dispatcher record
    /// the end.</summary>
    internal void OnEnded(TaskState previous, TaskState terminal, long version, Exception? exception)
    {
        if (exception is not null)
        {
            Volatile.Write(ref Side.Exception, exception);
        }

        ReleasePermit();
        if (Volatile.Read(ref _extras) is { } extras)
        {
            extras.CancellationRegistration.Unregister();
            Interlocked.Exchange(ref extras.ReadyTimer, null)?.Dispose();
            Interlocked.Exchange(ref extras.OverallTimer, null)?.Dispose();
        }

        Dispatcher.OnFinished(this, previous, terminal, version);
    }

    /// <summary>Completes the awaitable with the task's outcome and stops counting the task as live; called once, by
    /// the notifier, after observers and watchers have heard of the end.</summary>
    internal void CompleteAwaitable()
    {
        ReleaseWaiters();
        Dispatcher.ReleaseLive();
    }

    internal void PublishToWatchers(in TaskStateChange change)
    {
        var watchers = Volatile.Read(ref _extras)?.Watchers;
        if (watchers is null)
        {
            return;
        }

        foreach (var watcher in watchers)
        {
            watcher.Writer.TryWrite(change);
        }
    }
}

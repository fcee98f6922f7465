namespace TaskDispatch;

/// <summary>What a running attempt knows and can do: cancellation, attempt number, node, services, progress,
/// heartbeats and checkpoints. Every attempt gets a context of its own.</summary>
public sealed partial class TaskContext
{
    private readonly TaskHandle _task;

    /// <summary>The attempt's token source: created up front for a timeout, otherwise on first read of the token.</summary>
    private CancellationTokenSource? _cancellation;

    /// <summary>Whether <see cref="_cancellation"/> was created for the attempt's timeout (it is then timer-backed and
    /// this attempt's to dispose).</summary>
    private bool _hasTimeout;

    /// <summary>1 once the attempt was given up by the engine (its node failed or it stopped heartbeating).</summary>
    private int _abandoned;

    /// <summary>1 once someone concluded the attempt: its worker when it returned, or the engine when it gave it up.</summary>
    private int _concluded;

    /// <summary>What only some attempts need (heartbeats, tracing, a result after the first attempt), created when first needed.</summary>
    private AttemptExtras? _extras;

    internal TaskContext(TaskHandle task, int attempt, NodeRuntime node)
    {
        _task = task;
        Attempt = attempt;
        Node = node;
    }

    /// <summary>Gets the task's id.</summary>
    public string TaskId => _task.Id;

    /// <summary>Gets the options the task was submitted with.</summary>
    public TaskOptions Options => _task.Options;

    /// <summary>Gets the number of this attempt, from 1.</summary>
    public int Attempt { get; }

    /// <summary>Gets the name of the node running this attempt.</summary>
    public string NodeName => Node.Name;

    /// <summary>Gets the token cancelled when the task is cancelled, its attempt or overall time runs out, the engine
    /// gives the attempt up (its node failed, or it stopped heartbeating), or the dispatcher stops.</summary>
    /// <remarks>The token's source is created on first read, so work that never looks at it costs no allocation for it.</remarks>
    public CancellationToken CancellationToken => GetCancellation().Token;

    /// <summary>Gets the services of this attempt: a scope of its own for handler tasks; the dispatcher's provider, if any, otherwise.</summary>
    public IServiceProvider? Services { get; internal set; }

    /// <summary>Gets the dispatcher's clock, to wait or read time the way the dispatcher does.</summary>
    public TimeProvider TimeProvider => _task.Dispatcher.TimeProvider;

    /// <summary>Gets the dispatcher running the task, to submit follow-up work; such submissions are never held back by the pending bound.</summary>
    public ITaskDispatcher Dispatcher => _task.Dispatcher;

    /// <summary>Gets the task this context belongs to.</summary>
    internal TaskHandle Handle => _task;

    /// <summary>Gets the dispatcher that runs the task.</summary>
    internal TaskDispatcher Owner => _task.Dispatcher;

    /// <summary>Gets the node running the attempt.</summary>
    internal NodeRuntime Node { get; }

    /// <summary>The task's state word as this attempt set it to <see cref="TaskState.Running"/>: only while the word is
    /// unchanged does the attempt own the task, so every outcome of the attempt is a compare-and-swap from it.</summary>
    internal long RunningWord { get; set; }

    /// <summary>The result of an attempt after the first, kept apart so that an abandoned earlier attempt that still
    /// returns cannot overwrite it.</summary>
    internal object? ResultBox
    {
        get => _extras?.ResultBox;
        set => Side.ResultBox = value;
    }

    /// <summary>Gets or sets the attempt's activity, for traced tasks.</summary>
    internal System.Diagnostics.Activity? Activity
    {
        get => _extras?.Activity;
        set => Side.Activity = value;
    }

    /// <summary>Gets or sets whether the attempt is the probe of its node's half-open circuit.</summary>
    internal bool IsProbe { get; set; }

    /// <summary>Gets or sets the timer that checks the attempt's heartbeats, when the task has a <see cref="TaskOptions.HeartbeatTimeout"/>.</summary>
    internal ITimer? Watchdog
    {
        get => _extras?.Watchdog;
        set => Side.Watchdog = value;
    }

    /// <summary>Gets whether the attempt has been concluded, by its worker or by the engine.</summary>
    internal bool IsConcluded => Volatile.Read(ref _concluded) != 0;

    /// <summary>Gets whether the attempt ran past its <see cref="TaskOptions.Timeout"/>.</summary>
    internal bool HasTimedOut => _hasTimeout && Volatile.Read(ref _cancellation) is { IsCancellationRequested: true };

    /// <summary>Gets whether the engine gave this attempt up; whatever it still does has no effect on the task.</summary>
    internal bool IsAbandoned => Volatile.Read(ref _abandoned) != 0;

    /// <summary>Gets the attempt's last heartbeat (or its start), as a <see cref="TimeProvider"/> timestamp.</summary>
    internal long LastHeartbeat => _extras is { } extras ? Volatile.Read(ref extras.LastHeartbeat) : 0;

    /// <summary>Reports progress; the submitter sees it on <see cref="TaskHandle.Progress"/> and <see cref="TaskHandle.ProgressChanged"/>.</summary>
    /// <param name="fraction">How much is done, from 0 to 1.</param>
    /// <param name="message">An optional description of the current step.</param>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="fraction"/> is not a number in [0, 1].</exception>
    /// <remarks>Reporting progress is also a heartbeat.</remarks>
    public void ReportProgress(double fraction, string? message = null)
    {
        var progress = new TaskProgress(fraction, message, Attempt);
        Heartbeat();
        if (!IsAbandoned)
        {
            _task.ReportProgress(progress);
        }
    }

    /// <summary>Tells the dispatcher that the attempt is alive. With <see cref="TaskOptions.HeartbeatTimeout"/> set, an
    /// attempt that goes longer than that without a heartbeat is given up and the task moves to another node.</summary>
    public void Heartbeat()
    {
        // Only an attempt with a heartbeat limit is watched; for the others a heartbeat has nothing to reset.
        if (_task.Options.HeartbeatTimeout is not null)
        {
            Volatile.Write(ref Side.LastHeartbeat, TimeProvider.GetTimestamp());
        }
    }

    /// <summary>Claims the right to conclude the attempt; exactly one caller (its worker or the engine giving it up) wins.</summary>
    internal bool TryConclude() => Interlocked.CompareExchange(ref _concluded, 1, 0) == 0;

    /// <summary>Installs the attempt's token source before it starts (for a timeout) and, for tasks that heartbeat, marks its start as one.</summary>
    internal void Start(CancellationTokenSource? timeout)
    {
        _hasTimeout = timeout is not null;
        _cancellation = timeout;
        if (_task.Options.HeartbeatTimeout is not null)
        {
            Heartbeat();
        }
    }

    /// <summary>Cancels the attempt's token if it has been handed out; later reads see the request through the flags.</summary>
    internal void CancelAttempt() => Cancel(Volatile.Read(ref _cancellation));

    /// <summary>Marks the attempt given up and cancels its token; called once the engine has moved the task on.</summary>
    internal void Abandon()
    {
        Interlocked.Exchange(ref _abandoned, 1);
        CancelAttempt();
    }

    /// <summary>Stops the attempt's timeout timer once the attempt has returned.</summary>
    internal void End()
    {
        // Plain sources hold nothing worth releasing; the timer-backed one holds its timer.
        if (_hasTimeout)
        {
            _cancellation!.Dispose();
        }

        _extras?.Watchdog?.Dispose();
    }

    private CancellationTokenSource GetCancellation()
    {
        var source = Volatile.Read(ref _cancellation);
        if (source is not null)
        {
            return source;
        }

        var created = new CancellationTokenSource();
        source = Interlocked.CompareExchange(ref _cancellation, created, null) ?? created;

        // Published with a full fence before the flags are read; a canceller sets its flag before it reads the source.
        if (_task.IsCancellationRequested || IsAbandoned)
        {
            Cancel(source);
        }

        return source;
    }

    private static void Cancel(CancellationTokenSource? source)
    {
        try
        {
            source?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The attempt has ended and released its timer-backed source; there is nothing left to cancel.
        }
    }

    /// <summary>Gets the attempt's side object, creating it if needed; only the attempt's worker and its work create it,
    /// and a race between them is settled by a compare-and-swap.</summary>
    private AttemptExtras Side => SideObject.Get(ref _extras);

    /// <summary>The rarely used state of an attempt.</summary>
    private sealed class AttemptExtras
    {
        public long LastHeartbeat;
        public ITimer? Watchdog;
        public System.Diagnostics.Activity? Activity;
        public object? ResultBox;
    }
}

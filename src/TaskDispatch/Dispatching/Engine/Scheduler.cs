using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>The scheduler: takes events (ready tasks, freed slots, removals, node changes) and runs steps that put ready
/// tasks into the scheduling policy and hand them to nodes with free slots. Owns the intake of events, the policy, the
/// tasks parked for want of a fitting node, and the free-slot count. Steps never overlap, so the scheduling policy and
/// the allocation strategy are called one decision at a time and need no locks.</summary>
internal sealed class Scheduler
{
    private readonly string _dispatcherName;
    private readonly ISchedulingPolicy _policy;
    private readonly NodePlacer _placer;
    private readonly NodeSet _nodes;
    private readonly TaskRegistry _registry;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly bool _failExpiredDeadlines;

    /// <summary>The intake: drained by whoever runs the next step. Steps never overlap, which is what
    /// <see cref="ChannelOptions.SingleReader"/> asks of readers.</summary>
    private readonly Channel<SchedulerEvent> _events = Channel.CreateUnbounded<SchedulerEvent>(new UnboundedChannelOptions
    {
        SingleReader = true,
        SingleWriter = false,
    });

    /// <summary>Ready tasks not yet taken by a step.</summary>
    private readonly ReadyIntake _ready = new();

    /// <summary>Set once, when the scheduling policy's TryDequeue threw: no step runs after that.</summary>
    private volatile Exception? _fault;

    internal Scheduler(string dispatcherName, ISchedulingPolicy policy, NodePlacer placer, NodeSet nodes, TaskRegistry registry, TimeProvider timeProvider, ILogger logger, bool failExpiredDeadlines, int freeSlots)
    {
        _dispatcherName = dispatcherName;
        _policy = policy;
        _placer = placer;
        _nodes = nodes;
        _registry = registry;
        _timeProvider = timeProvider;
        _logger = logger;
        _failExpiredDeadlines = failExpiredDeadlines;
        _freeSlots = freeSlots;
    }

    /// <summary>Gets what faulted the dispatcher (the scheduling policy's TryDequeue threw), or <see langword="null"/>.</summary>
    internal Exception? Fault => _fault;

    /// <summary>Gets the number of tasks the scheduling policy holds; read outside steps, so only an estimate.</summary>
    internal int QueuedCount => _policy.Count;

    /// <summary>Readies a task: hands it to a step run here when a slot is free and no step runs, else leaves it in the
    /// ready intake for the running step or the next one.</summary>
    internal void PostReady(TaskHandle task)
    {
        if (Volatile.Read(ref _freeSlots) > 0 && Interlocked.CompareExchange(ref _stepping, 1, 0) == 0)
        {
            RunHeldStep(SchedulerEvent.Ready(task));
            return;
        }

        // The push is a full fence. A ready task with no free slot anywhere need not be scheduled now: the worker that
        // frees the next slot runs a step, which takes the intake in one batch; that step frees the slot, lets go of the
        // step with a full fence and then reads the intake, while we pushed before reading the free slots.
        if (!_ready.Push(task) || Volatile.Read(ref _freeSlots) <= 0)
        {
            return;
        }

        RunSchedulerSteps();
    }

    /// <summary>Tells the scheduler a worker's slot is free, and how long a successful attempt ran.</summary>
    internal void PostSlotFreed(TaskHandle task, NodeRuntime node, TimeSpan? succeededAfter, long placement) =>
        Post(SchedulerEvent.SlotFreed(task, node, succeededAfter, placement));

    /// <summary>Tells the scheduler a task ended while it may wait in the ready queue.</summary>
    internal void PostRemoved(TaskHandle task) => Post(SchedulerEvent.Removed(task));

    /// <summary>Tells the scheduler that nodes were added or changed health.</summary>
    internal void PostNodesChanged() => Post(SchedulerEvent.NodesChanged());

    /// <summary>Tells the scheduler a node was taken out: a step closes its channel, between placements.</summary>
    internal void PostNodeRemoved(NodeRuntime node) => Post(SchedulerEvent.NodeRemoved(node));

    /// <summary>Events handled before a step dispatches again, so a flood of submissions cannot delay starts for long.</summary>
    private const int EventBatchSize = 256;

    /// <summary>Steps one caller runs back to back before it hands the remaining work to the thread pool.</summary>
    private const int MaxInlineRounds = 8;

    /// <summary>1 while a thread runs a scheduler step.</summary>
    private int _stepping;

    /// <summary>The managed id of the thread running a step, or 0; so that code called from a step never waits for one.</summary>
    private int _stepThread;

    /// <summary>Events posted and not yet taken by a step.</summary>
    private int _queuedEvents;

    /// <summary>Dequeued tasks that no node can take now (constraints or a strategy that declined), in policy order.</summary>
    private readonly List<TaskHandle> _parked = [];

    /// <summary>Hand-offs to nodes so far, numbering each (<see cref="TaskHandle.Placement"/>); owned by the running step.</summary>
    private long _placements;

    /// <summary>Free slots over all nodes; owned by the running step.</summary>
    private int _freeSlots;

    /// <summary>Queues an event and runs a scheduler step unless another thread is running one.</summary>
    /// <remarks>
    /// The scheduler is a step, not a thread: whoever posts an event (a submitter, a worker that freed a slot, a timer, a
    /// canceller) runs the step if no one else is, and a step drains every queued event. A worker that frees its slot thus
    /// hands itself the next task without any thread wake-up. Steps never overlap, so the policy and the strategy are
    /// still called by one thread at a time and need no locks.
    /// </remarks>
    private void Post(in SchedulerEvent item)
    {
        // The direct path: when no step runs, the poster runs one and hands it the event without queueing it, which
        // saves a channel write and read per ready task and per freed slot. A ready task with no free slot never takes
        // it: it waits in the intake for the step of the worker that frees the next slot, as below.
        if ((item.Kind != SchedulerEventKind.Ready || Volatile.Read(ref _freeSlots) > 0)
            && Interlocked.CompareExchange(ref _stepping, 1, 0) == 0)
        {
            RunHeldStep(item);
            return;
        }

        _events.Writer.TryWrite(item);

        // Counted after the write: a step that sees the count sees the event. Peeking the channel instead would make
        // a second, concurrent reader, which a single-reader channel forbids.
        Interlocked.Increment(ref _queuedEvents);

        // A ready task with no free slot anywhere need not be scheduled now: the worker that frees the next slot runs
        // a step, and that step drains the intake in one batch. This keeps a flood of submissions off the scheduler.
        // Safe against a slot freed concurrently: that step frees the slot, releases the step with a full fence and
        // then reads the event count, while we counted the event (full fence) before reading the free slots.
        if (item.Kind == SchedulerEventKind.Ready && Volatile.Read(ref _freeSlots) <= 0)
        {
            return;
        }

        RunSchedulerSteps();
    }

    /// <summary>Runs a step that this thread already holds, handling <paramref name="direct"/> after the queued events
    /// (which were posted before it), then lets go and runs further steps if events arrived meanwhile.</summary>
    private void RunHeldStep(in SchedulerEvent direct)
    {
        Volatile.Write(ref _stepThread, Environment.CurrentManagedThreadId);
        try
        {
            RunSchedulerStep(direct, hasDirect: true);
        }
        finally
        {
            Volatile.Write(ref _stepThread, 0);

            // A full fence: the emptiness check below must not be read before the flag is visibly released.
            Interlocked.Exchange(ref _stepping, 0);
        }

        if (HasQueuedWork)
        {
            RunSchedulerSteps();
        }
    }

    /// <summary>Gets whether events or ready tasks wait for a step.</summary>
    private bool HasQueuedWork => Volatile.Read(ref _queuedEvents) != 0 || !_ready.IsEmpty;

    internal void RunSchedulerSteps()
    {
        for (var round = 0; ; round++)
        {
            if (Interlocked.CompareExchange(ref _stepping, 1, 0) != 0)
            {
                // The running step will see our event: it checks the queue again after it lets go.
                return;
            }

            Volatile.Write(ref _stepThread, Environment.CurrentManagedThreadId);
            try
            {
                RunSchedulerStep(default, hasDirect: false);
            }
            finally
            {
                Volatile.Write(ref _stepThread, 0);

                // A full fence: the emptiness check below must not be read before the flag is visibly released.
                Interlocked.Exchange(ref _stepping, 0);
            }

            if (!HasQueuedWork)
            {
                return;
            }

            if (round >= MaxInlineRounds)
            {
                // Posters keep arriving: hand the rest to the thread pool rather than hold this caller any longer.
                ThreadPool.UnsafeQueueUserWorkItem(static scheduler => scheduler.RunSchedulerSteps(), this, preferLocal: false);
                return;
            }
        }
    }

    private void RunSchedulerStep(in SchedulerEvent direct, bool hasDirect)
    {
        if (_fault is not null)
        {
            return;
        }

        try
        {
            var handled = 0;
            while (_events.Reader.TryRead(out var item))
            {
                Interlocked.Decrement(ref _queuedEvents);
                Handle(item);
                if (++handled % EventBatchSize == 0)
                {
                    Dispatch();
                }
            }

            while (_ready.TryTake(out var task))
            {
                Handle(SchedulerEvent.Ready(task));
                if (++handled % EventBatchSize == 0)
                {
                    Dispatch();
                }
            }

            if (hasDirect)
            {
                Handle(direct);
            }

            Dispatch();
        }
        catch (Exception exception)
        {
            // Only a scheduling policy whose TryDequeue threw gets here: no single task is concerned, and what the policy
            // still holds can no longer be trusted. Fail loudly rather than strand tasks.
            EnterFault(exception);
        }
    }

    private void Handle(in SchedulerEvent item)
    {
        var task = item.Task;
        switch (item.Kind)
        {
            case SchedulerEventKind.Ready:
                if (task.IsFinished || task.Location != TaskLocation.None)
                {
                    return;
                }

                try
                {
                    _policy.Enqueue(task);
                    task.Location = TaskLocation.Queued;
                }
                catch (Exception exception)
                {
                    Log.SchedulingPolicyFailed(_logger, task.Id, exception);
                    task.TryFinish(TaskState.Failed, exception);
                }

                break;

            case SchedulerEventKind.SlotFreed:
                var node = item.Node!;
                var offered = node.State.OfferedSlots;
                node.State.ActiveTasks--;
                if (node.State.ProbePlacement == item.Placement)
                {
                    // The probe is over; if it decided nothing (it never ran), the next task may probe.
                    node.State.ProbePlacement = 0;
                }

                if (!node.Removed)
                {
                    _freeSlots += node.State.OfferedSlots - offered;
                }

                if (node.State.ActiveTasks == 0 && node.State.Health == NodeHealth.Draining)
                {
                    node.Drained.TrySetResult();
                }

                Debug.Assert(node.State.ActiveTasks >= 0, "A node freed more slots than it had in use.");
                if (task.Options.PositiveDemand is { Length: > 0 } demand)
                {
                    node.State.Reserve(demand, -1);
                }

                if (item.ProcessingTicks >= 0)
                {
                    var processingTime = TimeSpan.FromTicks(item.ProcessingTicks);
                    node.State.RecordProcessingTime(processingTime);
                    if (_policy is ILearningSchedulingPolicy learning)
                    {
                        try
                        {
                            learning.OnAttemptSucceeded(task, processingTime);
                        }
                        catch (Exception exception)
                        {
                            // The task has completed; a policy that failed to learn from it orders later tasks less well.
                            Log.SchedulingPolicyLearningFailed(_logger, task.Id, exception);
                        }
                    }
                }

                break;

            case SchedulerEventKind.NodesChanged:
                OnNodesChanged();
                break;

            case SchedulerEventKind.NodeRemoved:
                item.Node!.Queue.Writer.TryComplete();
                OnNodesChanged();
                break;

            case SchedulerEventKind.Removed:
                if (task.Location == TaskLocation.Queued)
                {
                    try
                    {
                        _policy.Remove(task);
                    }
                    catch (Exception exception)
                    {
                        // The task has already ended; if the policy still holds it, the dequeue that returns it skips it.
                        Log.SchedulingPolicyRemoveFailed(_logger, task.Id, exception);
                    }
                }
                else if (task.Location == TaskLocation.Parked)
                {
                    _parked.Remove(task);
                }

                task.Location = TaskLocation.None;
                break;
        }
    }

    /// <summary>Puts the dispatcher in its failed state: every live task fails with <paramref name="cause"/>, running
    /// attempts have their tokens cancelled so their work can return, and no new task is accepted.</summary>
    private void EnterFault(Exception cause)
    {
        _fault = cause;
        Log.EngineFailed(_logger, _dispatcherName, cause);
        var failure = new InvalidOperationException($"Dispatcher '{_dispatcherName}' failed: its scheduling policy threw from TryDequeue. See the inner exception.", cause);
        foreach (var task in _registry.Tasks)
        {
            if (task.TryFinish(TaskState.Failed, failure))
            {
                // The attempt no longer owns the task, but its work still holds a slot: ask it to return.
                task.Context?.CancelAttempt();
            }
        }

        // Submitters waiting for room are released by the permits the failed tasks returned, and then see the fault.
    }

    /// <summary>Recounts the free slots of the nodes that take work, signals drained nodes, and fails waiting tasks
    /// that no remaining node could ever run.</summary>
    private void OnNodesChanged()
    {
        var nodes = _nodes.Runtimes;
        var free = 0;
        foreach (var node in nodes)
        {
            // Health set by hand or by a breaker takes effect here, between decisions, never in the middle of one.
            node.State.Health = node.RequestedHealth;
            if (node.State.Health != NodeHealth.Probing)
            {
                node.State.ProbePlacement = 0;
            }

            free += node.State.OfferedSlots;
            if (node.State.Health == NodeHealth.Draining && node.State.ActiveTasks == 0)
            {
                node.Drained.TrySetResult();
            }
        }

        _placer.EnsureCapacity(nodes.Length);
        _freeSlots = free;
        for (var i = _parked.Count - 1; i >= 0; i--)
        {
            if (FailIfNoNodeCanEverRun(_parked[i]))
            {
                _parked[i].Location = TaskLocation.None;
                _parked.RemoveAt(i);
            }
        }
    }

    /// <summary>Fails a task that no node left could run even when idle (its node or tags were removed).</summary>
    private bool FailIfNoNodeCanEverRun(TaskHandle task)
    {
        if (!task.HasPlacementConstraints)
        {
            return false;
        }

        foreach (var node in _nodes.Runtimes)
        {
            if (node.State.CanEverRun(task.Options))
            {
                return false;
            }
        }

        // Consumed either way: failed now, or already finished by someone else.
        task.TryFinish(TaskState.Failed, new InvalidOperationException(
            $"No node of dispatcher '{_dispatcherName}' can run task '{task.Id}' any more: the nodes that had its required node name, tags or resources were removed."));
        return true;
    }

    /// <summary>Hands waiting tasks to nodes while any node has a free slot.</summary>
    private void Dispatch()
    {
        if (_parked.Count > 0 && _freeSlots > 0)
        {
            DispatchParked();
        }

        while (_freeSlots > 0 && _policy.TryDequeue(out var task))
        {
            task.Location = TaskLocation.None;
            if (task.IsFinished || FailIfDeadlinePassed(task))
            {
                continue;
            }

            if (!TryPlace(task) && !FailIfNoNodeCanEverRun(task))
            {
                task.Location = TaskLocation.Parked;
                _parked.Add(task);
            }
        }
    }

    private void DispatchParked()
    {
        var kept = 0;
        for (var i = 0; i < _parked.Count; i++)
        {
            var task = _parked[i];
            if (task.IsFinished || FailIfDeadlinePassed(task) || (_freeSlots > 0 && TryPlace(task)))
            {
                task.Location = TaskLocation.None;
                continue;
            }

            _parked[kept++] = task;
        }

        _parked.RemoveRange(kept, _parked.Count - kept);
    }

    /// <summary>Ends a task whose deadline passed while it waited, when the dispatcher is set to.</summary>
    private bool FailIfDeadlinePassed(TaskHandle task)
    {
        // A deadline is about the first start: a retry of a task that started in time keeps its own outcome.
        if (!_failExpiredDeadlines || task.Options.Deadline is not { } deadline || task.Attempts > 0)
        {
            return false;
        }

        var now = _timeProvider.GetUtcNow();
        if (now <= deadline)
        {
            return false;
        }

        task.TryFinish(TaskState.Failed, new DeadlineExceededException(
            $"Task '{task.Id}' could not start by its deadline {deadline:O}; it was still waiting at {now:O}."));
        return true;
    }

    /// <summary>Asks the placer for a node that can take the task now, and hands the task over.</summary>
    /// <returns><see langword="false"/> when the task must keep waiting; <see langword="true"/> when it was placed or has ended.</returns>
    private bool TryPlace(TaskHandle task)
    {
        switch (_placer.Choose(task, out var target))
        {
            case PlacementChoice.Wait:
                return false;
            case PlacementChoice.Ended:
                return true;
        }

        if (!task.TryBeginAssigning())
        {
            return true;
        }

        var offered = target!.State.OfferedSlots;
        target.State.ActiveTasks++;
        target.State.TasksAssigned++;
        task.Placement = ++_placements;
        if (target.State.Health == NodeHealth.Probing)
        {
            target.State.ProbePlacement = task.Placement;
        }

        _freeSlots += target.State.OfferedSlots - offered;
        if (task.Options.PositiveDemand is { Length: > 0 } demand)
        {
            target.State.Reserve(demand, +1);
        }

        task.SetNode(target.Name);
        if (!target.Queue.Writer.TryWrite(task))
        {
            // Only after a stop: a removed node's channel is closed by a step, never during one, so only a stop, which
            // forced every live task to a terminal state first, can have closed it under us.
            task.TryFinish(TaskState.Cancelled, null);
        }

        return true;
    }

    /// <summary>Waits for the scheduler step that applies a health set by hand, so that the caller reads back what it set
    /// and no placement decided after this returns uses the old health. Steps never block, so the wait is short.</summary>
    internal void WaitUntilApplied(NodeRuntime node, NodeHealth health)
    {
        var spinner = default(SpinWait);
        while (node.State.Health != health
            && node.RequestedHealth == health
            && !node.Removed
            && _fault is null
            && Volatile.Read(ref _stepThread) != Environment.CurrentManagedThreadId)
        {
            // The step that applies it may have been handed to the thread pool: make sure one runs.
            if (Volatile.Read(ref _stepping) == 0)
            {
                RunSchedulerSteps();
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>Gets whether a step is running now; a worker about to sleep spins briefly while one is.</summary>
    internal bool IsStepping => Volatile.Read(ref _stepping) != 0;
}

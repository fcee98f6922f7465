using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>The scheduler: takes events (ready tasks, freed slots, removals, node changes) and runs steps that put ready
/// tasks into the scheduling policy and hand them to nodes with free slots. Owns the intake of events, the policy, the
/// tasks parked for want of a fitting node, and the free-slot count. Steps never overlap, so the scheduling policy and
/// the allocation strategy are called one decision at a time and need no locks. When and on which thread a step runs is
/// the <see cref="SchedulerGate"/>'s business; what a step does is this class's.</summary>
internal sealed class Scheduler : ISchedulerStep, IParkedTaskPlacement
{
    private readonly string _dispatcherName;
    private readonly ISchedulingPolicy _policy;
    private readonly NodePlacer _placer;
    private readonly NodeSet _nodes;
    private readonly TaskRegistry _registry;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly bool _failExpiredDeadlines;

    /// <summary>Set once, when the scheduling policy's TryDequeue threw: the dispatcher's failure, which live tasks end
    /// with, wrapping what the policy threw. No step runs after that.</summary>
    private volatile InvalidOperationException? _failure;

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
        _slots = new SlotLedger(freeSlots);
        _parked = new ParkedTasks(nodes, failExpiredDeadlines);
        _gate = new SchedulerGate(this, _slots);
    }

    /// <summary>Gets what faulted the dispatcher (the scheduling policy's TryDequeue threw), or <see langword="null"/>.</summary>
    internal Exception? Fault => _failure?.InnerException;

    /// <summary>Readies a task: hands it to a step run here when a slot is free and no step runs, else leaves it in the
    /// ready intake for the running step or the next one.</summary>
    internal void PostReady(TaskHandle task) => _gate.PostReady(task);

    /// <summary>The node of the worker that is running a step on this thread right after freeing its slot.</summary>
    [ThreadStatic]
    private static NodeRuntime? t_freedNode;

    /// <summary>The task that step placed on <see cref="t_freedNode"/>, kept for the worker instead of written to the
    /// node's channel.</summary>
    [ThreadStatic]
    private static TaskHandle? t_handedBack;

    /// <summary>Tells the scheduler a worker's slot is free, and how long a successful attempt ran.</summary>
    /// <returns>The task a step run on this thread placed on <paramref name="node"/>, for the calling worker to run next
    /// without a round trip through the node's channel; <see langword="null"/> when the worker should read the channel.</returns>
    internal TaskHandle? PostSlotFreed(TaskHandle task, NodeRuntime node, TimeSpan? succeededAfter, long placement)
    {
        // Only a step on this very thread sees the marker, and the post runs any step it runs synchronously.
        t_freedNode = node;
        try
        {
            _gate.Post(SchedulerEvent.SlotFreed(task, node, succeededAfter, placement));
        }
        finally
        {
            t_freedNode = null;
        }

        var next = t_handedBack;
        t_handedBack = null;
        return next;
    }

    /// <summary>Tells the scheduler a task ended while it may wait in the ready queue.</summary>
    internal void PostRemoved(TaskHandle task) => _gate.Post(SchedulerEvent.Removed(task));

    /// <summary>Tells the scheduler that nodes were added or changed health.</summary>
    internal void PostNodesChanged() => _gate.Post(SchedulerEvent.NodesChanged());

    /// <summary>Tells the scheduler a node was taken out: a step closes its channel, between placements.</summary>
    internal void PostNodeRemoved(NodeRuntime node) => _gate.Post(SchedulerEvent.NodeRemoved(node));

    /// <summary>Events handled before a step dispatches again, so a flood of submissions cannot delay starts for long.</summary>
    private const int EventBatchSize = 256;

    /// <summary>Dequeued tasks that no node can take now (constraints or a strategy that declined).</summary>
    private readonly ParkedTasks _parked;

    /// <summary>The books on node slots; written only by steps.</summary>
    private readonly SlotLedger _slots;

    /// <summary>The intake of events and ready tasks, and the flag that keeps steps from overlapping.</summary>
    private readonly SchedulerGate _gate;

    /// <inheritdoc />
    public void RunStep(in SchedulerEvent direct, bool hasDirect)
    {
        if (_failure is { } failure)
        {
            DiscardAfterFault(failure, direct, hasDirect);
            return;
        }

        try
        {
            var handled = 0;
            while (_gate.TryReadEvent(out var item))
            {
                Handle(item);
                if (++handled % EventBatchSize == 0)
                {
                    Dispatch();
                }
            }

            while (_gate.TryTakeReady(out var task))
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
                _slots.Release(task, node, item.Placement);

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
        var failure = new InvalidOperationException($"Dispatcher '{_dispatcherName}' failed: its scheduling policy threw from TryDequeue. See the inner exception.", cause);
        _failure = failure;
        Log.EngineFailed(_logger, _dispatcherName, cause);
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

    /// <summary>Empties the intake after the fault. Events and ready tasks still arrive (tasks that ended in the fault
    /// post their removal, a timer readies a task); left queued, they would have the gate run steps for them without
    /// end, a thread-pool item spinning for the life of the process.</summary>
    private void DiscardAfterFault(InvalidOperationException failure, in SchedulerEvent direct, bool hasDirect)
    {
        while (_gate.TryReadEvent(out _))
        {
        }

        // Every task live at the fault failed then. One registered while the fault walked the live tasks is readied
        // after it, through the intake or (no step running) handed to this step directly: it fails too, never stranded.
        while (_gate.TryTakeReady(out var task))
        {
            task.TryFinish(TaskState.Failed, failure);
        }

        if (hasDirect && direct.Kind == SchedulerEventKind.Ready)
        {
            direct.Task.TryFinish(TaskState.Failed, failure);
        }
    }

    /// <summary>Recounts the free slots of the nodes that take work, signals drained nodes, and fails waiting tasks
    /// that no remaining node could ever run.</summary>
    private void OnNodesChanged()
    {
        var nodes = _nodes.Runtimes;
        _slots.Recount(nodes);
        _placer.EnsureCapacity(nodes.Length);
        _parked.OnNodesChanged(this);
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
        if (_parked.Count > 0 && _slots.HasFreeSlots)
        {
            _parked.Dispatch(this);
        }

        while (_slots.HasFreeSlots && _policy.TryDequeue(out var task))
        {
            task.Location = TaskLocation.None;
            if (task.IsFinished || FailIfDeadlinePassed(task))
            {
                continue;
            }

            if (!TryPlace(task) && !FailIfNoNodeCanEverRun(task))
            {
                _parked.Add(task, this);
            }
        }
    }

    /// <inheritdoc />
    bool IParkedTaskPlacement.HasFreeSlots => _slots.HasFreeSlots;

    /// <inheritdoc />
    bool IParkedTaskPlacement.TryTakeParked(TaskHandle task) => task.IsFinished || FailIfDeadlinePassed(task) || (_slots.HasFreeSlots && TryPlace(task));

    /// <inheritdoc />
    bool IParkedTaskPlacement.FailIfNoNodeCanEverRun(TaskHandle task) => FailIfNoNodeCanEverRun(task);

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

        _slots.Assign(task, target!);
        task.SetNode(target!.Name);
        if (ReferenceEquals(t_freedNode, target) && t_handedBack is null)
        {
            // The worker that freed a slot on this node runs this step: it takes the task when the step returns, which
            // saves the channel's lock, a read and possibly a wake-up of another worker of the node.
            t_handedBack = task;
        }
        else if (!target.Queue.Writer.TryWrite(task))
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
            && _failure is null
            && !_gate.IsOnStepThread)
        {
            // The step that applies it may have been handed to the thread pool: make sure one runs.
            if (!_gate.IsStepping)
            {
                _gate.RunSteps();
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>Gets whether events or ready tasks wait for a step.</summary>
    internal bool HasQueuedWork => _gate.HasQueuedWork;

    /// <summary>Gets whether a step is running now; a worker about to sleep spins briefly while one is.</summary>
    internal bool IsStepping => _gate.IsStepping;
}

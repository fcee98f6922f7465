using System.Diagnostics;

namespace TaskDispatch;

public sealed partial class TaskDispatcher
{
    /// <summary>Events handled before a step dispatches again, so a flood of submissions cannot delay starts for long.</summary>
    private const int EventBatchSize = 256;

    /// <summary>Steps one caller runs back to back before it hands the remaining work to the thread pool.</summary>
    private const int MaxInlineRounds = 8;

    /// <summary>1 while a thread runs a scheduler step.</summary>
    private int _stepping;

    /// <summary>The managed id of the thread running a step, or 0; so that code called from a step never waits for one.</summary>
    private int _stepThread;

    /// <summary>Allocation decisions made; written only by steps.</summary>
    private long _allocationDecisions;

    /// <summary>Events posted and not yet taken by a step.</summary>
    private int _queuedEvents;

    /// <summary>Scratch space for the eligible nodes of one decision; owned by the running step, grown as nodes are added.</summary>
    private NodeSnapshot[] _candidates;

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

    private void RunSchedulerSteps()
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
                RunSchedulerStep();
            }
            finally
            {
                Volatile.Write(ref _stepThread, 0);

                // A full fence: the emptiness check below must not be read before the flag is visibly released.
                Interlocked.Exchange(ref _stepping, 0);
            }

            if (Volatile.Read(ref _queuedEvents) == 0)
            {
                return;
            }

            if (round >= MaxInlineRounds)
            {
                // Posters keep arriving: hand the rest to the thread pool rather than hold this caller any longer.
                ThreadPool.UnsafeQueueUserWorkItem(static dispatcher => dispatcher.RunSchedulerSteps(), this, preferLocal: false);
                return;
            }
        }
    }

    private void RunSchedulerStep()
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

            Dispatch();
        }
        catch (Exception exception)
        {
            // Only a scheduling policy whose TryDequeue threw gets here: no single task is concerned, and what the policy
            // still holds can no longer be trusted. Fail loudly rather than strand tasks.
            Fault(exception);
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
                    _scheduling.Enqueue(task);
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
                var offered = node.Snapshot.OfferedSlots;
                node.Snapshot.ActiveTasks--;
                if (node.Snapshot.ProbePlacement == item.Placement)
                {
                    // The probe is over; if it decided nothing (it never ran), the next task may probe.
                    node.Snapshot.ProbePlacement = 0;
                }

                if (!node.Removed)
                {
                    _freeSlots += node.Snapshot.OfferedSlots - offered;
                }

                if (node.Snapshot.ActiveTasks == 0 && node.Snapshot.Health == NodeHealth.Draining)
                {
                    node.Drained.TrySetResult();
                }

                Debug.Assert(node.Snapshot.ActiveTasks >= 0, "A node freed more slots than it had in use.");
                if (task.Options.PositiveDemand is { Length: > 0 } demand)
                {
                    node.Snapshot.Reserve(demand, -1);
                }

                if (item.ProcessingTicks >= 0)
                {
                    var processingTime = TimeSpan.FromTicks(item.ProcessingTicks);
                    node.Snapshot.RecordProcessingTime(processingTime);
                    if (_scheduling is ILearningSchedulingPolicy learning)
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
                        _scheduling.Remove(task);
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
    private void Fault(Exception cause)
    {
        _fault = cause;
        Log.EngineFailed(_logger, Name, cause);
        var failure = new InvalidOperationException($"Dispatcher '{Name}' failed: its scheduling policy threw from TryDequeue. See the inner exception.", cause);
        foreach (var task in _tasks.Values)
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
        var nodes = _nodes;
        var free = 0;
        foreach (var node in nodes)
        {
            // Health set by hand or by a breaker takes effect here, between decisions, never in the middle of one.
            node.Snapshot.Health = node.RequestedHealth;
            if (node.Snapshot.Health != NodeHealth.Probing)
            {
                node.Snapshot.ProbePlacement = 0;
            }

            free += node.Snapshot.OfferedSlots;
            if (node.Snapshot.Health == NodeHealth.Draining && node.Snapshot.ActiveTasks == 0)
            {
                node.Drained.TrySetResult();
            }
        }

        if (_candidates.Length < nodes.Length)
        {
            _candidates = new NodeSnapshot[nodes.Length * 2];
        }

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

        foreach (var node in _nodes)
        {
            if (node.Snapshot.CanEverRun(task.Options))
            {
                return false;
            }
        }

        // Consumed either way: failed now, or already finished by someone else.
        task.TryFinish(TaskState.Failed, new InvalidOperationException(
            $"No node of dispatcher '{Name}' can run task '{task.Id}' any more: the nodes that had its required node name, tags or resources were removed."));
        return true;
    }

    /// <summary>Hands waiting tasks to nodes while any node has a free slot.</summary>
    private void Dispatch()
    {
        if (_parked.Count > 0 && _freeSlots > 0)
        {
            DispatchParked();
        }

        while (_freeSlots > 0 && _scheduling.TryDequeue(out var task))
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

    /// <summary>Narrows the candidates to those carrying the most preferred tags; keeps their order.</summary>
    private int KeepMostPreferred(IReadOnlyCollection<string> preferred, int count)
    {
        var most = 0;
        for (var i = 0; i < count; i++)
        {
            most = Math.Max(most, CountPreferred(_candidates[i], preferred));
        }

        if (most == 0)
        {
            return count;
        }

        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            if (CountPreferred(_candidates[i], preferred) == most)
            {
                _candidates[kept++] = _candidates[i];
            }
        }

        return kept;

        static int CountPreferred(NodeSnapshot node, IReadOnlyCollection<string> preferred)
        {
            var matches = 0;
            foreach (var tag in preferred)
            {
                if (node.Tags.Contains(tag))
                {
                    matches++;
                }
            }

            return matches;
        }
    }

    /// <summary>Tells whether a node outside <paramref name="excluded"/> takes work and could run the task when free.</summary>
    private bool AnyOtherNodeCouldRun(TaskHandle task, NodeRuntime[] excluded)
    {
        foreach (var node in _nodes)
        {
            if (node.Snapshot.IsAcceptingWork && Array.IndexOf(excluded, node) < 0 && node.Snapshot.CanEverRun(task.Options))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Ends a task whose deadline passed while it waited, when the dispatcher is set to.</summary>
    private bool FailIfDeadlinePassed(TaskHandle task)
    {
        // A deadline is about the first start: a retry of a task that started in time keeps its own outcome.
        if (!_options.FailExpiredDeadlines || task.Options.Deadline is not { } deadline || task.Attempts > 0)
        {
            return false;
        }

        var now = TimeProvider.GetUtcNow();
        if (now <= deadline)
        {
            return false;
        }

        task.TryFinish(TaskState.Failed, new DeadlineExceededException(
            $"Task '{task.Id}' could not start by its deadline {deadline:O}; it was still waiting at {now:O}."));
        return true;
    }

    /// <summary>Asks the allocation strategy for a node among those that can take the task now, and hands the task over.</summary>
    /// <returns><see langword="false"/> when the task must keep waiting; <see langword="true"/> when it was placed or has ended.</returns>
    private bool TryPlace(TaskHandle task)
    {
        var count = 0;
        var nodes = _nodes;
        if (_candidates.Length < nodes.Length)
        {
            // A node was added and its NodesChanged event is still queued.
            _candidates = new NodeSnapshot[nodes.Length * 2];
        }

        var constrained = task.HasPlacementConstraints;
        var excluded = task.ExcludedNodes;
        foreach (var node in nodes)
        {
            if (node.CanRunNow(task, constrained) && (excluded is null || Array.IndexOf(excluded, node) < 0))
            {
                _candidates[count++] = node.Snapshot;
            }
        }

        if (count == 0)
        {
            // A task kept off the nodes that failed it waits for the others; once no other node could take it at all,
            // a failed node (perhaps recovered) is better than waiting forever.
            if (excluded is not null && !AnyOtherNodeCouldRun(task, excluded))
            {
                task.ExcludedNodes = null;
                return TryPlace(task);
            }

            return false;
        }

        if (task.Options.PreferredTags is { Count: > 0 } preferred)
        {
            count = KeepMostPreferred(preferred, count);
        }

        int chosen;
        try
        {
            var timed = IsTimed(TaskDispatchMetrics.AllocationHistogram);
            var decisionStarted = timed ? TimeProvider.GetTimestamp() : 0;
            chosen = _allocation.SelectNode(task, new ReadOnlySpan<NodeSnapshot>(_candidates, 0, count));
            if (timed)
            {
                MeasureAllocation(TimeProvider.GetElapsedTime(decisionStarted));
            }

            _allocationDecisions++;
            if (chosen >= count || chosen < -1)
            {
                throw new InvalidOperationException($"{_allocation.GetType().Name}.SelectNode returned {chosen} for {count} candidate(s); expected -1 or an index below {count}.");
            }
        }
        catch (Exception exception)
        {
            Log.AllocationStrategyFailed(_logger, task.Id, exception);
            task.TryFinish(TaskState.Failed, exception);
            return true;
        }

        if (chosen < 0)
        {
            return false;
        }

        var target = _candidates[chosen].Runtime;
        if (target.Removed)
        {
            // Taken out after it drained, and a health set back by hand made it a candidate again: its channel closes
            // in a later step, so the task waits for another node.
            return false;
        }

        TracePlacement(task, target.Snapshot, count);
        if (!task.TryBeginAssigning())
        {
            return true;
        }

        var offered = target.Snapshot.OfferedSlots;
        target.Snapshot.ActiveTasks++;
        target.Snapshot.TasksAssigned++;
        task.Placement = ++_placements;
        if (target.Snapshot.Health == NodeHealth.Probing)
        {
            target.Snapshot.ProbePlacement = task.Placement;
        }

        _freeSlots += target.Snapshot.OfferedSlots - offered;
        if (task.Options.PositiveDemand is { Length: > 0 } demand)
        {
            target.Snapshot.Reserve(demand, +1);
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
}

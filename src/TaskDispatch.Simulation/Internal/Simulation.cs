using System.Diagnostics;

namespace TaskDispatch.Simulation;

/// <summary>One simulation's state and its event loop. Arrivals are drawn one ahead, in index order, so that the tasks
/// never depend on the policies; every other event (an attempt's end, a retry coming due, a node dying or coming back)
/// waits in one queue ordered by time.</summary>
internal sealed class Simulation
{
    // At one instant, attempts end first (in arrival order; an attempt that ends as its node dies has completed), then
    // nodes come back and die, then retries come due. Tasks start only once the instant's events are all handled, so
    // that nothing starts on a node in the instant it dies; arrivals at that instant come after (a slot freed now can
    // take a task arriving now).
    private const long EndRank = 0;
    private const long RestartRank = 1L << 32;
    private const long DeathRank = 2L << 32;
    private const long ReadyRank = 3L << 32;

    /// <summary>The most attempts one task may have: a recovery policy that retries an attempt bound to fail (a node
    /// whose failure rate is 1, a timeout shorter than the task) would otherwise keep the simulation going forever.</summary>
    internal const int MaxAttemptsPerTask = 10_000;

    private static readonly Func<TaskContext, object?, ValueTask> s_noWork = static (_, _) => ValueTask.CompletedTask;

    private readonly SimulatedWorkload _workload;
    private readonly SimulatedNode[] _nodes;
    private readonly NodeState[] _states;
    private readonly bool[] _alive;
    private readonly ISchedulingPolicy _scheduling;
    private readonly ILearningSchedulingPolicy? _learner;
    private readonly IAllocationStrategy _allocation;
    private readonly IRecoveryPolicy _recovery;
    private readonly IReadOnlyDictionary<string, double>? _fairnessWeights;
    private readonly Action<SimulatedOutcome>? _onTaskEnded;
    private readonly Random _random;
    private readonly Dictionary<string, TaskOptions> _optionsByKind = new(StringComparer.Ordinal);
    private readonly PriorityQueue<Event, (long Time, long Order)> _events = new();
    private readonly List<TaskHandle> _parked = [];
    private readonly NodeSnapshot[] _candidates;
    private readonly long? _checkpointTicks;

    // Per task, by index.
    private readonly TaskHandle[] _handles;
    private readonly long[] _arrivals;
    private readonly long[] _services;
    private readonly long[] _waits;
    private readonly long[] _responses;
    private readonly long[] _processing;
    private readonly long[] _attemptStarts;
    private readonly int[] _attempts;
    private readonly int[] _runningOn;
    private readonly byte[] _ends;
    private long[]? _remaining;
    private long[]? _firstFailures;
    private int[]? _nodeFaults;
    private Dictionary<int, Placement>? _placements;

    // Per node.
    private readonly long[] _busyTicks;
    private readonly long[] _tasksRun;
    private readonly long[] _attemptsFailedOn;
    private readonly int[] _deaths;

    private readonly Dictionary<string, long> _serviceByKey = new(StringComparer.Ordinal);
    private readonly List<long> _recoveryTimes = [];
    private long _deadlinesMissed;
    private long _tasksWithDeadline;
    private long _completed;
    private long _failed;
    private int _freeSlots;
    private long _now;

    /// <summary>When the last task ended: the makespan.</summary>
    private long _lastEnd;

    internal Simulation(SimulatedWorkload workload, IReadOnlyList<SimulatedNode> nodes, ISchedulingPolicy scheduling, IAllocationStrategy allocation, IRecoveryPolicy recovery, IReadOnlyDictionary<string, double>? fairnessWeights, Action<SimulatedOutcome>? onTaskEnded)
    {
        _workload = workload;
        _nodes = [.. nodes];
        _states = new NodeState[_nodes.Length];
        _alive = new bool[_nodes.Length];
        for (var i = 0; i < _nodes.Length; i++)
        {
            _states[i] = new NodeState(_nodes[i].Name, i, _nodes[i].ToOptions());
            _alive[i] = true;
            _freeSlots += _nodes[i].Slots;
            foreach (var outage in _nodes[i].Outages)
            {
                _events.Enqueue(new Event(EventKind.NodeDied, -1, i, 0), (outage.At.Ticks, DeathRank | (uint)i));
            }
        }

        _scheduling = scheduling;
        _learner = scheduling as ILearningSchedulingPolicy;
        _allocation = allocation;
        _recovery = recovery;
        _fairnessWeights = fairnessWeights;
        _onTaskEnded = onTaskEnded;
        _random = new Random(workload.Seed);
        _candidates = new NodeSnapshot[_nodes.Length];
        _checkpointTicks = workload.CheckpointInterval?.Ticks;
        var count = workload.Count;
        _handles = new TaskHandle[count];
        (_arrivals, _services, _waits, _responses, _processing, _attemptStarts) = (new long[count], new long[count], new long[count], new long[count], new long[count], new long[count]);
        (_attempts, _runningOn, _ends) = (new int[count], new int[count], new byte[count]);
        (_busyTicks, _tasksRun, _attemptsFailedOn, _deaths) = (new long[_nodes.Length], new long[_nodes.Length], new long[_nodes.Length], new int[_nodes.Length]);
    }

    private enum EventKind : byte
    {
        Completed,
        AttemptFailed,
        TimedOut,
        Ready,
        NodeRestarted,
        NodeDied,
    }

    private enum Ending : byte
    {
        Live = 0,
        Completed = 1,
        Failed = 2,
    }

    internal SimulationReport Execute()
    {
        var clock = Stopwatch.StartNew();
        var count = _workload.Count;
        var arrival = 0L;
        var next = 0;
        var nextArrival = NextArrival(ref arrival, next);
        while (_completed + _failed < count)
        {
            if (_events.TryPeek(out var pending, out var at) && (next >= count || at.Time <= nextArrival))
            {
                _events.Dequeue();

                // The end of an attempt its node's death already ended changes nothing, and does not move time.
                if (!IsStale(pending))
                {
                    _now = at.Time;
                    Handle(pending);
                }

                if (_events.TryPeek(out _, out var following) && following.Time == _now)
                {
                    continue;
                }
            }
            else if (next < count)
            {
                _now = nextArrival;
                Arrive(next++);
                nextArrival = next < count ? NextArrival(ref arrival, next) : long.MaxValue;
            }
            else
            {
                // Nothing left to happen, and some tasks wait for nodes that died for good.
                break;
            }

            Dispatch();
        }

        clock.Stop();
        return Report(clock.Elapsed);
    }

    private long NextArrival(ref long previous, int index)
    {
        previous = _workload.Arrivals.NextTicks(_random, previous, index);
        _arrivals[index] = previous;
        _services[index] = _workload.ServiceTime.SampleTicks(_random, index);
        return previous;
    }

    private void Arrive(int index)
    {
        var arrivedAt = DateTimeOffset.UnixEpoch.AddTicks(_arrivals[index]);
        var distributionKind = _workload.ServiceTime.KindOf(_services[index]);
        var options = OptionsOf(index, distributionKind);
        var task = new ActionTaskHandle(null!, null, options, index, arrivedAt, s_noWork, null) { ReadyAt = arrivedAt };

        // A task's kind is its options' kind, else the one the service-time distribution drew it from.
        if ((options.Kind ?? distributionKind) is { } kind)
        {
            task.KindKey = kind;
        }

        if (options.Deadline is not null)
        {
            _tasksWithDeadline++;
        }

        if (!AnyNodeCouldEverRun(options))
        {
            throw new InvalidOperationException($"Task {index} requires a node, tags or resources that no simulated node has.");
        }

        _handles[index] = task;
        _waits[index] = -1;
        _runningOn[index] = -1;
        _scheduling.Enqueue(task);
    }

    private bool AnyNodeCouldEverRun(TaskOptions options)
    {
        foreach (var state in _states)
        {
            if (state.CanEverRun(options))
            {
                return true;
            }
        }

        return false;
    }

    private TaskOptions OptionsOf(int index, string? kind)
    {
        if (_workload.Options is { } factory)
        {
            return factory(new SimulatedTask(index, TimeSpan.FromTicks(_arrivals[index]), TimeSpan.FromTicks(_services[index]), kind), _random);
        }

        if (kind is null)
        {
            return TaskOptions.Default;
        }

        if (!_optionsByKind.TryGetValue(kind, out var shared))
        {
            shared = new TaskOptions { Kind = kind };
            _optionsByKind.Add(kind, shared);
        }

        return shared;
    }

    private bool IsStale(in Event pending) =>
        pending.Kind is EventKind.Completed or EventKind.AttemptFailed or EventKind.TimedOut && !IsCurrent(pending);

    private void Handle(in Event happened)
    {
        switch (happened.Kind)
        {
            case EventKind.Completed:
                Complete(happened.Task, happened.Node);
                break;
            case EventKind.AttemptFailed:
                FailAttempt(happened.Task, happened.Node, new SimulatedTaskFailureException($"Attempt {happened.Attempt} of task {happened.Task} failed on node '{_nodes[happened.Node].Name}' (its failure rate)."), isNodeFault: false);
                break;
            case EventKind.TimedOut:
                FailAttempt(happened.Task, happened.Node, new TaskTimeoutException($"Attempt {happened.Attempt} of task {happened.Task} exceeded its timeout of {_handles[happened.Task].Options.Timeout}."), isNodeFault: false);
                break;
            case EventKind.Ready:
                _scheduling.Enqueue(_handles[happened.Task]);
                break;
            case EventKind.NodeDied:
                Die(happened.Node);
                break;
            case EventKind.NodeRestarted:
                _alive[happened.Node] = true;
                _states[happened.Node].Health = NodeHealth.Healthy;
                _freeSlots += _states[happened.Node].FreeSlots;
                break;
            default:
                throw new InvalidOperationException($"Unknown event {happened.Kind}.");
        }
    }

    private bool IsCurrent(in Event end) => _runningOn[end.Task] == end.Node && _attempts[end.Task] == end.Attempt;

    /// <summary>Starts tasks while a slot is free: the policy's next task goes to the strategy's choice among the
    /// live nodes with a free slot that can run it; a task none of them can run waits aside until something changes.</summary>
    private void Dispatch()
    {
        if (_parked.Count > 0 && _freeSlots > 0)
        {
            // In the order they were set aside, as the dispatcher does: those that still cannot start keep their places.
            var kept = 0;
            for (var i = 0; i < _parked.Count; i++)
            {
                var task = _parked[i];
                if (_freeSlots == 0 || !TryStart(task))
                {
                    _parked[kept++] = task;
                }
            }

            _parked.RemoveRange(kept, _parked.Count - kept);
        }

        while (_freeSlots > 0 && _scheduling.TryDequeue(out var task))
        {
            if (!TryStart(task))
            {
                _parked.Add(task);
            }
        }
    }

    private bool TryStart(TaskHandle task)
    {
        var index = (int)task.SequenceNumber;
        var placement = _placements is null ? null : _placements.GetValueOrDefault(index);
        var candidates = placement?.Pinned is { } pinned ? PinnedCandidate(task, placement, pinned) : -1;
        if (candidates < 0)
        {
            candidates = Candidates(task, placement?.Excluded);
            if (candidates == 0 && placement?.Excluded is { } excluded && !AnyOtherLiveNodeCouldRun(task.Options, excluded))
            {
                // As the dispatcher does: once no other node could take it at all, a node that failed it is better
                // than waiting forever.
                placement.Excluded = null;
                candidates = Candidates(task, null);
            }
        }

        if (candidates == 0)
        {
            return false;
        }

        if (task.Options.PreferredTags is { Count: > 0 } preferred)
        {
            candidates = NodePlacer.KeepMostPreferred(_candidates, preferred, candidates);
        }

        var choice = _allocation.SelectNode(task, _candidates.AsSpan(0, candidates));
        if (choice < 0)
        {
            // The strategy declined every candidate: the task waits, as in the dispatcher.
            return false;
        }

        if (choice >= candidates)
        {
            throw new InvalidOperationException($"The allocation strategy chose candidate {choice} of {candidates}.");
        }

        Start(task, index, _candidates[choice].Index);
        return true;
    }

    /// <summary>Offers the node a retry is pinned to while it lives and can run the task; 0 while it has no room,
    /// -1 (and the pin lifted) once it is dead.</summary>
    private int PinnedCandidate(TaskHandle task, Placement placement, int pinned)
    {
        if (!_alive[pinned] || !_states[pinned].CanEverRun(task.Options))
        {
            placement.Pinned = null;
            return -1;
        }

        var state = _states[pinned];
        if (state.FreeSlots == 0 || !state.FitsNow(task.Options.PositiveDemand))
        {
            return 0;
        }

        _candidates[0] = state.ToSnapshot();
        return 1;
    }

    private int Candidates(TaskHandle task, List<int>? excluded)
    {
        var options = task.Options;
        var demand = options.PositiveDemand;
        var candidates = 0;
        for (var i = 0; i < _states.Length; i++)
        {
            var state = _states[i];
            if (state.FreeSlots > 0 && _alive[i] && state.CanEverRun(options) && (demand.Length == 0 || state.FitsNow(demand)) && (excluded is null || !excluded.Contains(i)))
            {
                _candidates[candidates++] = state.ToSnapshot();
            }
        }

        return candidates;
    }

    private bool AnyOtherLiveNodeCouldRun(TaskOptions options, List<int> excluded)
    {
        for (var i = 0; i < _states.Length; i++)
        {
            if (_alive[i] && !excluded.Contains(i) && _states[i].CanEverRun(options))
            {
                return true;
            }
        }

        return false;
    }

    private void Start(TaskHandle task, int index, int node)
    {
        var state = _states[node];
        state.ActiveTasks++;
        state.TasksAssigned++;
        _freeSlots--;
        var demand = task.Options.PositiveDemand;
        if (demand.Length > 0)
        {
            state.Reserve(demand, +1);
        }

        var attempt = ++_attempts[index];
        if (_waits[index] < 0)
        {
            _waits[index] = _now - _arrivals[index];
        }

        var service = _remaining is { } remaining && remaining[index] > 0 ? remaining[index] : _services[index];
        var runFor = Math.Max(1, (long)Math.Round(service / _nodes[node].Speed));
        var ending = EventKind.Completed;
        // An attempt that would end just as its timeout fires is timed out: the dispatcher's timer ends it at that instant.
        if (task.Options.Timeout is { } timeout && runFor >= timeout.Ticks)
        {
            (ending, runFor) = (EventKind.TimedOut, Math.Max(1, timeout.Ticks));
        }

        var failureRate = _nodes[node].FailureRate;
        if (failureRate > 0 && Uniform(index, attempt, node, salt: 0) < failureRate)
        {
            var failsAfter = Math.Max(1, (long)(Uniform(index, attempt, node, salt: 1) * runFor));
            if (failsAfter < runFor || ending == EventKind.Completed)
            {
                (ending, runFor) = (EventKind.AttemptFailed, failsAfter);
            }
        }

        _runningOn[index] = node;
        _attemptStarts[index] = _now;
        _events.Enqueue(new Event(ending, index, node, attempt), (_now + runFor, EndRank | (uint)index));
    }

    /// <summary>Ends the running attempt on its node: its slot and resources are freed (the slot offered again while the
    /// node lives), and its run time counted.</summary>
    private long EndAttempt(int index, int node)
    {
        var state = _states[node];
        state.ActiveTasks--;
        if (_alive[node])
        {
            _freeSlots++;
        }

        var options = _handles[index].Options;
        var demand = options.PositiveDemand;
        if (demand.Length > 0)
        {
            state.Reserve(demand, -1);
        }

        var ran = _now - _attemptStarts[index];
        _processing[index] += ran;
        _busyTicks[node] += ran;
        _runningOn[index] = -1;
        if (options.FairnessKey is { } key)
        {
            _serviceByKey[key] = _serviceByKey.GetValueOrDefault(key) + ran;
        }

        return ran;
    }

    private void Complete(int index, int node)
    {
        var ran = EndAttempt(index, node);
        _tasksRun[node]++;
        _completed++;
        var task = _handles[index];

        if (_firstFailures is { } firstFailures && firstFailures[index] > 0)
        {
            // Stored one tick late, so that 0 means "never failed".
            _recoveryTimes.Add(_now - (firstFailures[index] - 1));
        }

        _learner?.OnAttemptSucceeded(task, TimeSpan.FromTicks(ran));
        End(index, node, Ending.Completed);
    }

    private void End(int index, int node, Ending ending)
    {
        _ends[index] = (byte)ending;
        _lastEnd = _now;
        _responses[index] = _now - _arrivals[index];
        var options = _handles[index].Options;
        if (options.Deadline is { } deadline && (ending != Ending.Completed || _now > deadline.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks))
        {
            _deadlinesMissed++;
        }

        // An ended task is let go at once: holding every handle to the end would make the collector promote and trace
        // them all, which cost more than the simulation itself on long runs.
        _handles[index] = null!;
        _onTaskEnded?.Invoke(new SimulatedOutcome(
            index,
            TimeSpan.FromTicks(_arrivals[index]),
            TimeSpan.FromTicks(_waits[index]),
            TimeSpan.FromTicks(_responses[index]),
            TimeSpan.FromTicks(_processing[index]),
            _nodes[node].Name,
            options,
            ending == Ending.Completed ? TaskState.Completed : TaskState.Failed,
            _attempts[index]));
    }

    /// <summary>Ends a running attempt as failed and carries out the recovery policy's decision, as the dispatcher does.</summary>
    private void FailAttempt(int index, int node, Exception error, bool isNodeFault)
    {
        var ran = EndAttempt(index, node);
        _attemptsFailedOn[node]++;
        _firstFailures ??= new long[_handles.Length];
        if (_firstFailures[index] == 0)
        {
            _firstFailures[index] = _now + 1;
        }

        // The policy hears the task's node faults so far on every failure, as from the dispatcher: failover counts on them.
        var nodeFaults = _nodeFaults?[index] ?? 0;
        if (isNodeFault)
        {
            _nodeFaults ??= new int[_handles.Length];
            nodeFaults = ++_nodeFaults[index];
        }

        SaveProgress(index, node, ran);
        var task = _handles[index];
        var attempt = _attempts[index];
        RecoveryDecision decision;
        try
        {
            decision = _recovery.Decide(new RecoveryContext(task, attempt, error, _nodes[node].Name, DateTimeOffset.UnixEpoch.AddTicks(_now), isNodeFault, nodeFaults));
        }
        catch (Exception exception)
        {
            throw new InvalidOperationException($"The recovery policy {_recovery.GetType().Name} threw deciding on attempt {attempt} of task {index}.", exception);
        }

        if (!decision.ShouldRetry)
        {
            _failed++;
            End(index, node, Ending.Failed);
            return;
        }

        if (attempt >= MaxAttemptsPerTask)
        {
            throw new InvalidOperationException($"Task {index} failed {attempt} attempts and the recovery policy {_recovery.GetType().Name} still retries it; a simulation stops there rather than run forever (is every attempt bound to fail: a failure rate of 1, a timeout shorter than the task?).");
        }

        Place(index, node, decision.Placement);
        if (decision.Delay > TimeSpan.Zero)
        {
            var due = _now + Math.Min(decision.Delay.Ticks, TaskDispatcherDefaults.MaxDelay.Ticks);
            _events.Enqueue(new Event(EventKind.Ready, index, -1, attempt), (due, ReadyRank | (uint)index));
        }
        else
        {
            _scheduling.Enqueue(task);
        }
    }

    /// <summary>Keeps the part of the work up to the last checkpoint reached, when tasks save checkpoints.</summary>
    private void SaveProgress(int index, int node, long ran)
    {
        if (_checkpointTicks is not { } interval)
        {
            return;
        }

        _remaining ??= new long[_handles.Length];
        var service = _services[index];
        var left = _remaining[index] > 0 ? _remaining[index] : service;
        var done = service - left + (long)(ran * _nodes[node].Speed);
        var saved = Math.Min(done / interval * interval, service - 1);
        _remaining[index] = service - saved;
    }

    /// <summary>Records where a retry may run: elsewhere keeps it off this node, the same node pins it there, anywhere
    /// lifts a pin.</summary>
    private void Place(int index, int node, RetryPlacement placement)
    {
        if (placement == RetryPlacement.Anywhere && (_placements is null || !_placements.ContainsKey(index)))
        {
            return;
        }

        _placements ??= [];
        if (!_placements.TryGetValue(index, out var place))
        {
            place = new Placement();
            _placements.Add(index, place);
        }

        switch (placement)
        {
            case RetryPlacement.OtherNode:
                place.Pinned = null;
                place.Excluded ??= [];
                if (!place.Excluded.Contains(node))
                {
                    place.Excluded.Add(node);
                }

                break;
            case RetryPlacement.SameNode:
                place.Pinned = node;
                break;
            default:
                place.Pinned = null;
                break;
        }
    }

    /// <summary>Kills a node: it takes no work until it comes back, and every attempt running on it fails as a node fault.</summary>
    private void Die(int node)
    {
        if (!_alive[node])
        {
            return;
        }

        var state = _states[node];
        _alive[node] = false;
        state.Health = NodeHealth.Unavailable;
        _freeSlots -= state.FreeSlots;
        _deaths[node]++;
        var outage = _nodes[node].Outages[_deaths[node] - 1];
        if (outage.Duration is { } down)
        {
            _events.Enqueue(new Event(EventKind.NodeRestarted, -1, node, 0), (_now + down.Ticks, RestartRank | (uint)node));
        }

        // The attempts running on it, in task order so that the recovery policy hears them in a fixed order.
        var killed = new List<int>();
        foreach (var (pending, _) in _events.UnorderedItems)
        {
            if (pending.Kind is EventKind.Completed or EventKind.AttemptFailed or EventKind.TimedOut && pending.Node == node && IsCurrent(pending))
            {
                killed.Add(pending.Task);
            }
        }

        killed.Sort();
        foreach (var index in killed)
        {
            FailAttempt(index, node, new NodeFailureException($"Node '{_nodes[node].Name}' died while attempt {_attempts[index]} of task {index} ran on it.") { NodeName = _nodes[node].Name }, isNodeFault: true);
        }
    }

    /// <summary>A uniform draw in [0, 1) that depends only on the seed, the task, the attempt and the node (SplitMix64),
    /// so that every policy compared on a workload meets the same failures.</summary>
    private double Uniform(int index, int attempt, int node, int salt)
    {
        var x = Mix((ulong)(uint)_workload.Seed ^ ((ulong)(uint)index << 32));
        x = Mix(x ^ ((ulong)(uint)attempt << 16) ^ (uint)salt);
        x = Mix(x ^ (uint)node);
        return (x >> 11) * (1.0 / (1UL << 53));

        static ulong Mix(ulong z)
        {
            z += 0x9E3779B97F4A7C15;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
            return z ^ (z >> 31);
        }
    }

    private SimulationReport Report(TimeSpan realTime)
    {
        var count = _workload.Count;
        var makespan = _lastEnd;
        var nodes = new SimulatedNodeReport[_nodes.Length];
        for (var i = 0; i < nodes.Length; i++)
        {
            var utilization = makespan == 0 ? 0 : (double)_busyTicks[i] / (_nodes[i].Slots * (double)makespan);
            nodes[i] = new SimulatedNodeReport(_nodes[i].Name, _tasksRun[i], utilization, _attemptsFailedOn[i], _deaths[i]);
        }

        var ended = _completed + _failed;
        var unfinished = count - ended;
        var deadlinesMissed = _deadlinesMissed;
        for (var i = 0; i < count && unfinished > 0; i++)
        {
            if (_ends[i] == (byte)Ending.Live && _handles[i].Options.Deadline is not null)
            {
                deadlinesMissed++;
            }
        }

        var (waits, started) = Keep(_waits, i => _waits[i] >= 0, ended == count);
        var (responses, endedCount) = Keep(_responses, i => _ends[i] != (byte)Ending.Live, ended == count);
        var (processing, _) = Keep(_processing, i => _ends[i] != (byte)Ending.Live, ended == count);
        var recoveryTimes = _recoveryTimes.ToArray();
        return new SimulationReport(
            _scheduling.GetType().Name,
            _allocation.GetType().Name,
            count,
            TimeSpan.FromTicks(makespan),
            DurationSummary.Of(waits, started),
            DurationSummary.Of(responses, endedCount),
            DurationSummary.Of(processing, endedCount),
            nodes,
            JainIndex(),
            deadlinesMissed,
            _tasksWithDeadline,
            realTime)
        {
            TasksCompleted = _completed,
            TasksFailed = _failed,
            TasksUnfinished = unfinished,
            AttemptsFailed = _attemptsFailedOn.Sum(),
            TasksRecovered = recoveryTimes.Length,
            Recovery = DurationSummary.Of(recoveryTimes, recoveryTimes.Length),
            ServiceShares = ServiceShares(),
        };
    }

    /// <summary>The values of the tasks that pass <paramref name="keep"/>; all of them, without a copy, when every task ended.</summary>
    private static (long[] Values, int Count) Keep(long[] values, Func<int, bool> keep, bool all)
    {
        if (all)
        {
            return (values, values.Length);
        }

        var kept = new long[values.Length];
        var count = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (keep(i))
            {
                kept[count++] = values[i];
            }
        }

        return (kept, count);
    }

    /// <summary>Each key's share of the service the keyed tasks got.</summary>
    private Dictionary<string, double> ServiceShares()
    {
        var total = (double)_serviceByKey.Values.Sum();
        return _serviceByKey.ToDictionary(pair => pair.Key, pair => total == 0 ? 0 : pair.Value / total, StringComparer.Ordinal);
    }

    /// <summary>Jain's index of the service each key got per unit of weight: (Σx)² / (n·Σx²).</summary>
    private double? JainIndex()
    {
        if (_serviceByKey.Count < 2)
        {
            return null;
        }

        double sum = 0, squares = 0;
        foreach (var (key, service) in _serviceByKey)
        {
            var share = service / (_fairnessWeights?.GetValueOrDefault(key, 1) ?? 1);
            sum += share;
            squares += share * share;
        }

        return squares == 0 ? 1 : sum * sum / (_serviceByKey.Count * squares);
    }

    /// <summary>Something that happens at a time: an attempt's end (Task, Node, Attempt), a retry coming due (Task),
    /// or a node dying or coming back (Node).</summary>
    private readonly record struct Event(EventKind Kind, int Task, int Node, int Attempt);

    /// <summary>Where a task's retries may run, after a recovery decision that said.</summary>
    private sealed class Placement
    {
        public int? Pinned { get; set; }

        public List<int>? Excluded { get; set; }
    }
}

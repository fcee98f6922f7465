using System.Diagnostics;

namespace TaskDispatch.Simulation;

/// <summary>A discrete-event simulator in virtual time that drives the very <see cref="ISchedulingPolicy"/> and
/// <see cref="IAllocationStrategy"/> objects a dispatcher runs: one central queue ordered by the policy, and whenever a
/// node has a free slot, the next task goes to the node the strategy chooses among those with a free slot that can run
/// it, as in <see cref="TaskDispatcher"/>. A learning policy hears every task's end. Nothing runs and no clock is read:
/// a workload and a seed always give the same report.</summary>
/// <remarks>Tasks do not fail and nodes do not die here; resource demands are not simulated (tags and required nodes
/// are). The policies are single-threaded objects: give each simulation fresh instances.</remarks>
public static class PolicySimulator
{
    private static readonly Func<TaskContext, object?, ValueTask> s_noWork = static (_, _) => ValueTask.CompletedTask;

    /// <summary>Runs <paramref name="workload"/> on <paramref name="nodes"/> under a scheduling policy and an allocation
    /// strategy, and reports what happened.</summary>
    /// <param name="workload">The tasks.</param>
    /// <param name="nodes">The cluster; at least one node, names unique.</param>
    /// <param name="scheduling">The scheduling policy, fresh (it keeps the queue).</param>
    /// <param name="allocation">The allocation strategy; <see langword="null"/> for round-robin.</param>
    /// <param name="fairnessWeights">The weight of each <see cref="TaskOptions.FairnessKey"/> for
    /// <see cref="SimulationReport.Fairness"/>; keys not listed weigh 1.</param>
    /// <param name="onTaskEnded">Hears each task's end, in end order: to record a trace, or to measure what the report
    /// does not (a class's waits, the order of starts).</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">The workload or the nodes are invalid.</exception>
    /// <exception cref="InvalidOperationException">A task requires a node or tags no node has, or the strategy chose a
    /// node outside its candidates.</exception>
    public static SimulationReport Run(SimulatedWorkload workload, IReadOnlyList<SimulatedNode> nodes, ISchedulingPolicy scheduling, IAllocationStrategy? allocation = null, IReadOnlyDictionary<string, double>? fairnessWeights = null, Action<SimulatedOutcome>? onTaskEnded = null)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(scheduling);
        workload.Validate();
        if (nodes.Count == 0)
        {
            throw new ArgumentException("A simulation needs at least one node.", nameof(nodes));
        }

        if (nodes.Select(node => node.Name).Distinct(StringComparer.Ordinal).Count() != nodes.Count)
        {
            throw new ArgumentException("Node names must be unique.", nameof(nodes));
        }

        if (scheduling.Count != 0)
        {
            throw new ArgumentException("The scheduling policy already holds tasks; give each simulation a fresh one.", nameof(scheduling));
        }

        var run = new Simulation(workload, nodes, scheduling, allocation ?? AllocationStrategy.RoundRobin(), fairnessWeights, onTaskEnded);
        return run.Execute();
    }

    /// <summary>One simulation's state.</summary>
    private sealed class Simulation
    {
        private readonly SimulatedWorkload _workload;
        private readonly SimulatedNode[] _nodes;
        private readonly NodeState[] _states;
        private readonly ISchedulingPolicy _scheduling;
        private readonly ILearningSchedulingPolicy? _learner;
        private readonly IAllocationStrategy _allocation;
        private readonly IReadOnlyDictionary<string, double>? _fairnessWeights;
        private readonly Action<SimulatedOutcome>? _onTaskEnded;
        private readonly Random _random;
        private readonly Dictionary<string, TaskOptions> _optionsByKind = new(StringComparer.Ordinal);
        private readonly PriorityQueue<Running, (long End, long Sequence)> _running = new();
        private readonly Queue<TaskHandle> _parked = new();
        private readonly NodeSnapshot[] _candidates;
        private readonly int[] _candidateNodes;
        private readonly long[] _arrivals;
        private readonly long[] _services;
        private readonly long[] _waits;
        private readonly long[] _responses;
        private readonly long[] _processing;
        private readonly long[] _busyTicks;
        private readonly long[] _tasksRun;
        private readonly Dictionary<string, long> _serviceByKey = new(StringComparer.Ordinal);
        private long _deadlinesMissed;
        private long _tasksWithDeadline;
        private int _freeSlots;
        private long _now;

        internal Simulation(SimulatedWorkload workload, IReadOnlyList<SimulatedNode> nodes, ISchedulingPolicy scheduling, IAllocationStrategy allocation, IReadOnlyDictionary<string, double>? fairnessWeights, Action<SimulatedOutcome>? onTaskEnded)
        {
            _onTaskEnded = onTaskEnded;
            _workload = workload;
            _nodes = [.. nodes];
            _states = new NodeState[_nodes.Length];
            for (var i = 0; i < _nodes.Length; i++)
            {
                _states[i] = new NodeState(_nodes[i].Name, i, _nodes[i].ToOptions());
                _freeSlots += _nodes[i].Slots;
            }

            _scheduling = scheduling;
            _learner = scheduling as ILearningSchedulingPolicy;
            _allocation = allocation;
            _fairnessWeights = fairnessWeights;
            _random = new Random(workload.Seed);
            _candidates = new NodeSnapshot[_nodes.Length];
            _candidateNodes = new int[_nodes.Length];
            var count = workload.Count;
            (_arrivals, _services, _waits, _responses, _processing) = (new long[count], new long[count], new long[count], new long[count], new long[count]);
            (_busyTicks, _tasksRun) = (new long[_nodes.Length], new long[_nodes.Length]);
        }

        internal SimulationReport Execute()
        {
            var clock = Stopwatch.StartNew();
            var count = _workload.Count;
            var arrival = 0L;
            var next = 0;
            var nextArrival = NextArrival(ref arrival, next);
            for (var done = 0; done < count;)
            {
                // Ends before arrivals at the same instant: a slot freed now can take a task arriving now.
                if (_running.TryPeek(out _, out var end) && (next >= count || end.End <= nextArrival))
                {
                    _now = end.End;
                    Finish(_running.Dequeue());
                    done++;
                }
                else
                {
                    _now = nextArrival;
                    Arrive(next++);
                    nextArrival = next < count ? NextArrival(ref arrival, next) : long.MaxValue;
                }

                Dispatch();
            }

            clock.Stop();
            return Report(clock.Elapsed);
        }

        private long NextArrival(ref long previous, int index)
        {
            previous = _workload.Arrivals.NextTicks(_random, previous);
            _arrivals[index] = previous;
            _services[index] = _workload.ServiceTime.SampleTicks(_random);
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

            _scheduling.Enqueue(task);
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

        /// <summary>Starts tasks while a slot is free: the policy's next task goes to the strategy's choice among the
        /// nodes with a free slot that can run it; a task none of them can run waits aside until a slot frees.</summary>
        private void Dispatch()
        {
            var parked = _parked.Count;
            for (var i = 0; i < parked && _freeSlots > 0; i++)
            {
                var task = _parked.Dequeue();
                if (!TryStart(task))
                {
                    _parked.Enqueue(task);
                }
            }

            while (_freeSlots > 0 && _scheduling.TryDequeue(out var task))
            {
                if (!TryStart(task))
                {
                    _parked.Enqueue(task);
                }
            }
        }

        private bool TryStart(TaskHandle task)
        {
            var candidates = 0;
            var eligibleAnywhere = false;
            for (var i = 0; i < _states.Length; i++)
            {
                var state = _states[i];
                if (!state.CanEverRun(task.Options))
                {
                    continue;
                }

                eligibleAnywhere = true;
                if (state.FreeSlots > 0)
                {
                    _candidateNodes[candidates] = i;
                    _candidates[candidates++] = state.ToSnapshot();
                }
            }

            if (!eligibleAnywhere)
            {
                throw new InvalidOperationException($"Task {task.SequenceNumber} requires a node or tags that no simulated node has.");
            }

            if (candidates == 0)
            {
                return false;
            }

            var choice = candidates == 1 ? 0 : _allocation.SelectNode(task, _candidates.AsSpan(0, candidates));
            if ((uint)choice >= (uint)candidates)
            {
                throw new InvalidOperationException($"The allocation strategy chose candidate {choice} of {candidates}.");
            }

            var node = _candidateNodes[choice];
            var chosen = _states[node];
            chosen.ActiveTasks++;
            chosen.TasksAssigned++;
            _freeSlots--;
            var index = (int)task.SequenceNumber;
            var processing = Math.Max(1, (long)Math.Round(_services[index] / _nodes[node].Speed));
            _waits[index] = _now - _arrivals[index];
            _processing[index] = processing;
            _running.Enqueue(new Running(task, node), (_now + processing, task.SequenceNumber));
            return true;
        }

        private void Finish(Running running)
        {
            var (task, node) = running;
            var state = _states[node];
            state.ActiveTasks--;
            _freeSlots++;
            var index = (int)task.SequenceNumber;
            _responses[index] = _now - _arrivals[index];
            _busyTicks[node] += _processing[index];
            _tasksRun[node]++;
            if (task.Options.Deadline is { } deadline && _now > deadline.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks)
            {
                _deadlinesMissed++;
            }

            if (task.Options.FairnessKey is { } key)
            {
                _serviceByKey[key] = _serviceByKey.GetValueOrDefault(key) + _processing[index];
            }

            _learner?.OnAttemptSucceeded(task, TimeSpan.FromTicks(_processing[index]));
            _onTaskEnded?.Invoke(new SimulatedOutcome(index, TimeSpan.FromTicks(_arrivals[index]), TimeSpan.FromTicks(_waits[index]), TimeSpan.FromTicks(_processing[index]), _nodes[node].Name, task.Options));
        }

        private SimulationReport Report(TimeSpan realTime)
        {
            var count = _workload.Count;
            var makespan = _now;
            var nodes = new SimulatedNodeReport[_nodes.Length];
            for (var i = 0; i < nodes.Length; i++)
            {
                nodes[i] = new SimulatedNodeReport(_nodes[i].Name, _tasksRun[i], makespan == 0 ? 0 : (double)_busyTicks[i] / (_nodes[i].Slots * (double)makespan));
            }

            return new SimulationReport(
                _scheduling.GetType().Name,
                _allocation.GetType().Name,
                count,
                TimeSpan.FromTicks(makespan),
                DurationSummary.Of(_waits, count),
                DurationSummary.Of(_responses, count),
                DurationSummary.Of(_processing, count),
                nodes,
                JainIndex(),
                _deadlinesMissed,
                _tasksWithDeadline,
                realTime);
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

        private readonly record struct Running(TaskHandle Task, int Node);
    }
}

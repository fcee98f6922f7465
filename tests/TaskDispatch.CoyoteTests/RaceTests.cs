using System.Collections.Concurrent;
using Microsoft.Coyote.Specifications;

namespace TaskDispatch.CoyoteTests;

/// <summary>Races of the dispatcher's completion, retry and cancel paths. Each method is one Coyote test: the engine
/// runs it many times, each time under a different interleaving of its tasks, and any failed
/// <see cref="Specification.Assert(bool, string)"/> or unhandled exception is a bug with a reproducible trace.</summary>
internal static class RaceTests
{
    /// <summary>How each iteration of the running test ended, by label, so the runner can tell that the exploration
    /// reached both sides of the race and not only the easy one.</summary>
    public static ConcurrentDictionary<string, int> Outcomes { get; } = new();

    private static void Record(string outcome) => Outcomes.AddOrUpdate(outcome, 1, static (_, n) => n + 1);

    /// <summary>(1) Attempt 1 fails and is retried (up to 3 attempts; the default is 1) while another task cancels the
    /// handle; also checks Cancel()'s documented result: a cancellation that ends the task Cancelled returns true (this
    /// test found the race in which the worker finished the task Cancelled between the flag and the state read).</summary>
    public static Task RetryRacesCancel() => RetryRacesCancelCore(checkCancelResult: true);

    private static async Task RetryRacesCancelCore(bool checkCancelResult)
    {
        var observer = new RecordingObserver();
        var dispatcher = new TaskDispatcherBuilder()
            .AddNode("n", static n => n.WithConcurrency(1))
            .AddObserver(observer)
            .Build();
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = await dispatcher.SubmitAsync(async context =>
        {
            await Task.Yield();
            if (context.Attempt == 1)
            {
                firstStarted.TrySetResult();
                await Task.Yield();
                throw new InvalidOperationException("attempt 1 fails");
            }

            return context.Attempt;
        }, new TaskOptions { MaxRetryAttempts = 2 });

        var cancelled = false;
        var seenByCancel = TaskState.Pending;
        var canceller = Task.Run(async () =>
        {
            await firstStarted.Task;
            seenByCancel = handle.State;
            cancelled = handle.Cancel();
        });

        await AwaitQuietly(handle.Completion);
        await canceller;
        await dispatcher.DisposeAsync();

        var terminal = observer.CheckSingleTerminal(handle);
        Record(terminal.ToString());
        Specification.Assert(
            terminal is TaskState.Completed or TaskState.Cancelled,
            $"Expected Completed or Cancelled, was {terminal}.");
        if (terminal == TaskState.Completed)
        {
            Specification.Assert(handle.Completion.Result == 2, $"Completed with {handle.Completion.Result}, not attempt 2's result.");
        }
        else if (checkCancelResult)
        {
            Specification.Assert(
                cancelled,
                $"The task ended Cancelled although Cancel() returned false (state before Cancel: {seenByCancel}; transitions: {observer.History}).");
        }
    }

    /// <summary>(2) A running attempt is cancelled while it completes successfully: the work checks its token once,
    /// so the cancellation wins if it lands before the check and the success wins after it.</summary>
    public static async Task CancelRacesSuccessfulCompletion()
    {
        var observer = new RecordingObserver();
        var dispatcher = new TaskDispatcherBuilder()
            .AddNode("n", static n => n.WithConcurrency(1))
            .AddObserver(observer)
            .Build();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = await dispatcher.SubmitAsync(async context =>
        {
            var token = context.CancellationToken;
            started.TrySetResult();
            await Task.Yield();
            token.ThrowIfCancellationRequested();
            return 42;
        });

        var canceller = Task.Run(async () =>
        {
            await started.Task;
            handle.Cancel();
        });

        await AwaitQuietly(handle.Completion);
        await canceller;
        await dispatcher.DisposeAsync();

        var terminal = observer.CheckSingleTerminal(handle);
        Record(terminal.ToString());
        Specification.Assert(
            terminal is TaskState.Completed or TaskState.Cancelled,
            $"Expected Completed or Cancelled, was {terminal}.");
        Specification.Assert(handle.Attempts == 1, $"Expected one attempt, saw {handle.Attempts}.");
        if (terminal == TaskState.Completed)
        {
            Specification.Assert(handle.Completion.Result == 42, $"Completed with {handle.Completion.Result}.");
        }
    }

    /// <summary>(3) The running attempt's node is marked unavailable while the attempt completes (2 nodes, default recovery).</summary>
    public static async Task NodeUnavailableRacesAttemptCompletion()
    {
        var observer = new RecordingObserver();
        var dispatcher = new TaskDispatcherBuilder()
            .AddNode("a", static n => n.WithConcurrency(1))
            .AddNode("b", static n => n.WithConcurrency(1))
            .AddObserver(observer)
            .Build();
        var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var returned = new ConcurrentQueue<string>();
        var handle = await dispatcher.SubmitAsync(async context =>
        {
            started.TrySetResult(context.NodeName);
            await Task.Yield();
            var result = $"attempt {context.Attempt} on {context.NodeName}";
            returned.Enqueue(result);
            return result;
        });

        var failer = Task.Run(async () =>
        {
            var node = await started.Task;
            dispatcher.SetNodeHealth(node, NodeHealth.Unavailable);
        });

        await AwaitQuietly(handle.Completion);
        await failer;
        await dispatcher.DisposeAsync();

        var terminal = observer.CheckSingleTerminal(handle);
        Record(handle.Attempts == 1 ? "completed on its first node" : "failed over");
        Specification.Assert(terminal == TaskState.Completed, $"Expected Completed, was {terminal}: {handle.Exception}");
        var result = handle.Completion.Result;
        Specification.Assert(returned.Contains(result), $"Result '{result}' is not what any attempt returned ({string.Join(", ", returned)}).");
        Specification.Assert(
            result.StartsWith($"attempt {handle.Attempts} ", StringComparison.Ordinal),
            $"Result '{result}' is not the last attempt's ({handle.Attempts} attempts; returned: {string.Join(", ", returned)}).");
    }

    private static async Task AwaitQuietly(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception)
        {
            // Failed or cancelled: checked afterwards against the handle's state.
        }
    }

    /// <summary>Records every transition and every OnCompleted call of every task.</summary>
    private sealed class RecordingObserver : ITaskObserver
    {
        private readonly ConcurrentQueue<(TaskState Previous, TaskState State)> _changes = new();
        private readonly ConcurrentQueue<TaskState> _completedCalls = new();

        public string History => string.Join(", ", _changes.Select(static c => $"{c.Previous}->{c.State}"));

        public void OnStateChanged(TaskStateChange change) => _changes.Enqueue((change.Previous, change.State));

        public void OnCompleted(TaskHandle task) => _completedCalls.Enqueue(task.State);

        /// <summary>Asserts one terminal transition, never left, one OnCompleted call that saw it, and a Completion that
        /// agrees; returns the terminal state.</summary>
        public TaskState CheckSingleTerminal(TaskHandle handle)
        {
            var changes = _changes.ToArray();
            var history = string.Join(", ", changes.Select(static c => $"{c.Previous}->{c.State}"));
            var terminals = changes.Count(static c => c.State.IsTerminal());
            Specification.Assert(terminals == 1, $"Expected exactly one terminal transition, saw {terminals}: {history}");
            Specification.Assert(
                !changes.Any(static c => c.Previous.IsTerminal()),
                $"A transition left a terminal state (e.g. Completed after Cancelled): {history}");
            // Not asserted: that the terminal transition reaches observers last. Transitions made on different threads
            // (the worker's Running->Retrying, a canceller's Retrying->Cancelled) are reported without ordering, and
            // Coyote finds schedules where an observer hears Retrying->Cancelled before Running->Retrying.
            var terminal = changes.First(static c => c.State.IsTerminal()).State;
            var calls = _completedCalls.ToArray();
            Specification.Assert(calls.Length == 1, $"OnCompleted called {calls.Length} times: {history}");
            Specification.Assert(calls[0] == terminal, $"OnCompleted saw {calls[0]}, the terminal transition was {terminal}.");
            Specification.Assert(handle.State == terminal, $"Handle state {handle.State}, terminal transition {terminal}.");

            var completion = handle.Completion;
            Specification.Assert(completion.IsCompleted, "Completion has not completed.");
            var expected = terminal switch
            {
                TaskState.Completed => TaskStatus.RanToCompletion,
                TaskState.Cancelled => TaskStatus.Canceled,
                _ => TaskStatus.Faulted,
            };
            Specification.Assert(completion.Status == expected, $"Completion is {completion.Status} for a {terminal} task: {history}");
            return terminal;
        }
    }
}

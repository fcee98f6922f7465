using System.Collections.Concurrent;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Issues;

/// <summary>Issue 10: a slow observer stalled SubmitAsync, because observers ran inside scheduler steps on submitters' threads.</summary>
public sealed partial class IssueTests
{
    [Test]
    public async Task SubmitAsync_ObserverBlocked_SubmissionsAndWorkGoOnAndAwaitersResumeAfterItHears()
    {
        using var gate = new ManualResetEventSlim(initialState: false);
        var observer = new BlockingObserver(gate);
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddObserver(observer)
            .AddNode("a", n => n.WithConcurrency(2))
            .Build();
        const int count = 100;
        var ran = 0;
        var handles = new List<TaskHandle<int>>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var value = i;
                handles.Add(await dispatcher.SubmitAsync(_ =>
                {
                    Interlocked.Increment(ref ran);
                    return ValueTask.FromResult(value);
                }).AsTask().WaitAsync(TestTimeouts.Generous));
            }

            await TestTimeouts.WaitUntilAsync(() => Volatile.Read(ref ran) == count, "every task to run while the observer is blocked");

            // The observers' consumer may not have been scheduled yet on a loaded machine: wait for it with a deadline.
            Assert.That(observer.Entered.Wait(TestTimeouts.Generous), Is.True, "the observer was called and is blocked");
            Assert.That(handles.Select(static h => h.State), Is.All.EqualTo(TaskState.Completed));
            Assert.That(handles.Count(static h => h.Completion.IsCompleted), Is.Zero, "awaiters resume only after the observers heard of the end");
        }
        finally
        {
            gate.Set();
        }

        var results = await Task.WhenAll(handles.Select(static h => h.Completion)).WaitAsync(TestTimeouts.Generous);

        Assert.That(results, Is.EqualTo(Enumerable.Range(0, count)));
        Assert.That(observer.Completed.Keys, Is.EquivalentTo(handles.Select(static h => h.Id)));
        Assert.That(observer.Completed.Values, Is.All.EqualTo(1));
        Assert.That(observer.SawEndBeforeCompletion, Is.True);
    }

    [Test]
    public async Task StopAsync_ObserverBlocked_ReturnsAtTheDeadlineWithOutcomesSettled()
    {
        using var gate = new ManualResetEventSlim(initialState: false);
        var observer = new BlockingObserver(gate);
        var dispatcher = new TaskDispatcherBuilder().AddObserver(observer).AddNode("a").Build();
        try
        {
            var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(7));
            await TestTimeouts.WaitUntilAsync(() => handle.IsFinished, "the task to end while the observer is blocked");

            await dispatcher.StopAsync(ShutdownMode.Drain, TimeSpan.FromMilliseconds(200)).WaitAsync(TestTimeouts.Generous);

            Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
            gate.Set();
            Assert.That(await handle.Completion.WaitAsync(TestTimeouts.Generous), Is.EqualTo(7));
        }
        finally
        {
            gate.Set();
            await dispatcher.DisposeAsync();
        }
    }

    /// <summary>Blocks on its first call until the gate opens, and records what it hears.</summary>
    private sealed class BlockingObserver(ManualResetEventSlim gate) : ITaskObserver
    {
        private int _completionsBeforeEnd;

        public ManualResetEventSlim Entered { get; } = new(initialState: false);

        public ConcurrentDictionary<string, int> Completed { get; } = new();

        private ConcurrentDictionary<string, byte> Ended { get; } = new();

        public bool SawEndBeforeCompletion => Volatile.Read(ref _completionsBeforeEnd) == 0;

        public void OnStateChanged(TaskStateChange change)
        {
            Entered.Set();
            gate.Wait();
            if (change.IsTerminal)
            {
                Ended.TryAdd(change.Task.Id, 0);
            }
        }

        public void OnCompleted(TaskHandle task)
        {
            if (!Ended.ContainsKey(task.Id) || task.Completion.IsCompleted)
            {
                Interlocked.Increment(ref _completionsBeforeEnd);
            }

            Completed.AddOrUpdate(task.Id, 1, static (_, n) => n + 1);
        }
    }
}

using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;

namespace TaskDispatch.Tests.Nodes;

[TestFixture]
[CancelAfter(60_000)]
public sealed class NodeExecutorTests
{
    [Test]
    public async Task ExecuteAsync_WrapsLocalRun_SeesEveryAttemptAndTheResultFlows()
    {
        var executor = new RecordingExecutor();
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("wrapped", n => n.WithConcurrency(1).WithExecutor(executor))
            .Build();

        var handle = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.NodeName + ":" + context.Attempt));

        Assert.That(await handle, Is.EqualTo("wrapped:1"));
        Assert.That(executor.Attempts.Single(), Is.EqualTo((handle.Id, "wrapped", 1)));
    }

    [Test]
    public async Task ExecuteAsync_SetsResultProducedElsewhere_TaskCompletesWithItAndWorkNeverRuns()
    {
        var ran = 0;
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("remote", n => n.WithExecutor(new FixedResultExecutor(42)))
            .Build();

        var handle = await dispatcher.SubmitAsync(_ =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.FromResult(0);
        });

        Assert.That(await handle, Is.EqualTo(42));
        Assert.That(ran, Is.Zero);
    }

    [Test]
    public async Task ExecuteAsync_Throws_IsTheAttemptsFailureAndRecoveryRetries()
    {
        var executor = new FailFirstExecutor();
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("flaky", n => n.WithExecutor(executor))
            .Build();

        var retried = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.Attempt), new TaskOptions { MaxRetryAttempts = 1 });
        Assert.That(await retried, Is.EqualTo(2));

        var failed = await dispatcher.SubmitAsync(static context => ValueTask.FromResult(context.Attempt));
        var error = await Assert.ThrowsAsync<IOException>(async () => await failed);
        Assert.That(error?.Message, Does.Contain("remote side"));
        Assert.That(failed.State, Is.EqualTo(TaskState.Failed));
    }

    [Test]
    public async Task SetResult_WrongType_FailsTheTaskWithAClearError()
    {
        await using var dispatcher = new TaskDispatcherBuilder()
            .AddNode("remote", n => n.WithExecutor(new FixedResultExecutor(42)))
            .Build();

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult("text"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await handle);
        Assert.That(error?.Message, Does.Contain("does not produce a Int32"));
    }

    [Test]
    public async Task Input_HandlerTask_IsTheSubmittedInputAndNullForDelegates()
    {
        var executor = new RecordingExecutor();
        var services = new ServiceCollection();
        services.AddTaskDispatch().AddNode("n", n => n.WithExecutor(executor));
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<ITaskDispatcher>();

        Assert.That(await await dispatcher.SubmitAsync<UpperCaseHandler, string, string>("hello"), Is.EqualTo("HELLO"));
        await await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask);

        Assert.That(executor.Inputs, Is.EqualTo(new object?[] { "hello", null }));
    }

    private sealed class RecordingExecutor : INodeExecutor
    {
        public ConcurrentQueue<(string TaskId, string Node, int Attempt)> Attempts { get; } = new();

        public ConcurrentQueue<object?> Inputs { get; } = new();

        public async ValueTask ExecuteAsync(NodeAttempt attempt)
        {
            Attempts.Enqueue((attempt.Task.Id, attempt.Node.Name, attempt.Context.Attempt));
            Inputs.Enqueue(attempt.Input);
            await attempt.RunLocallyAsync();
        }
    }

    private sealed class FixedResultExecutor(int result) : INodeExecutor
    {
        public ValueTask ExecuteAsync(NodeAttempt attempt)
        {
            attempt.SetResult(result);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class FailFirstExecutor : INodeExecutor
    {
        public ValueTask ExecuteAsync(NodeAttempt attempt) =>
            attempt.Context.Attempt == 1 ? throw new IOException("The remote side closed the connection.") : attempt.RunLocallyAsync();
    }

    private sealed class UpperCaseHandler : ITaskHandler<string, string>
    {
        public ValueTask<string> HandleAsync(string input, TaskContext context) => ValueTask.FromResult(input.ToUpperInvariant());
    }
}

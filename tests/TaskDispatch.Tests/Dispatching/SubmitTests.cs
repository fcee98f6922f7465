using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Dispatching;

[TestFixture]
[CancelAfter(60_000)]
public sealed class SubmitTests
{
    [Test]
    public async Task SubmitAsync_DelegateWithResult_AwaitReturnsResult()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();

        var handle = await dispatcher.SubmitAsync(static _ => ValueTask.FromResult(42));

        Assert.That(await handle, Is.EqualTo(42));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
        Assert.That(handle.Attempts, Is.EqualTo(1));
    }

    [Test]
    public async Task SubmitAsync_DelegateWithoutResult_Completes()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();
        var ran = 0;

        var handle = await dispatcher.SubmitAsync(_ =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.CompletedTask;
        });
        await handle;

        Assert.That(ran, Is.EqualTo(1));
        Assert.That(handle.State, Is.EqualTo(TaskState.Completed));
    }

    [Test]
    public async Task SubmitAsync_WorkThrows_AwaitThrowsSameException()
    {
        await using var dispatcher = new TaskDispatcherBuilder().Build();
        var boom = new InvalidOperationException("boom");

        var handle = await dispatcher.SubmitAsync<int>(_ => throw boom);

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(async () => await handle);
        Assert.That((object?)thrown, Is.SameAs(boom));
        Assert.That(handle.State, Is.EqualTo(TaskState.Failed));
        Assert.That(handle.Exception, Is.SameAs(boom));
    }
}

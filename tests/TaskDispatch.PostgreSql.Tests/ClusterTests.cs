using Npgsql;

namespace TaskDispatch.PostgreSql.Tests;

[TestFixture]
[CancelAfter(120_000)]
public sealed class ClusterTests
{
    private string _schema = null!;

    [SetUp]
    public void NewSchema() => _schema = PostgresServer.NewSchema();

    [TearDown]
    public async Task DropSchema() => await ClusterTestKit.DropAsync(_schema);

    [Test]
    public async Task A_task_submitted_by_one_member_runs_on_another_and_its_result_reaches_the_submitter()
    {
        await using var worker = await ClusterTestKit.Member("basic", _schema).AddNode("worker-1", node => node.WithConcurrency(2)).BuildAsync();
        await using var submitter = await ClusterTestKit.Member("basic", _schema).BuildAsync();

        var handle = await submitter.SubmitAsync<Square, int, long>(12);
        Assert.That(await handle, Is.EqualTo(144));

        var found = await submitter.FindAsync(handle.Id);
        Assert.That(found, Is.Not.Null);
        Assert.That(found!.State, Is.EqualTo(TaskState.Completed));
        Assert.That(found.Node, Is.EqualTo("worker-1"));
        Assert.That(found.ResultJson, Is.EqualTo("144"));
        Assert.That(found.Deliveries, Is.EqualTo(1));
    }
}

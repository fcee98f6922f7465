namespace TaskDispatch.Tests.Storage;

/// <summary>Stored options read back: each text gives its own options, whatever was read before it on the thread
/// (the last text read is parsed once and reused).</summary>
[TestFixture]
public sealed class StoredOptionsTests
{
    [Test]
    public void Deserialize_TextsReadInTurn_EachGivesItsOwnOptionsAndOverrides()
    {
        var urgent = StoredOptions.Serialize(new TaskOptions { Priority = 9, RequiredTags = ["gpu"], Timeout = TimeSpan.FromSeconds(3) });
        var plain = StoredOptions.Serialize(new TaskOptions { Priority = 1, FairnessKey = "tenant-a" });
        var readyAt = new DateTimeOffset(2026, 12, 2, 8, 0, 0, TimeSpan.Zero);

        var first = StoredOptions.Deserialize(urgent, readyAt, "task-1", "node-a");
        var second = StoredOptions.Deserialize(urgent, null, "task-2", "node-b");
        var third = StoredOptions.Deserialize(plain, readyAt);
        var fourth = StoredOptions.Deserialize(urgent, null, "task-4", null);

        Assert.That((first.Id, first.RequiredNode, first.NotBefore, first.Priority), Is.EqualTo(("task-1", "node-a", (DateTimeOffset?)readyAt, 9)));
        Assert.That((second.Id, second.RequiredNode, second.NotBefore, second.Priority), Is.EqualTo(("task-2", "node-b", (DateTimeOffset?)null, 9)));
        Assert.That(second.RequiredTags, Is.EquivalentTo(new[] { "gpu" }));
        Assert.That(second.Timeout, Is.EqualTo(TimeSpan.FromSeconds(3)));
        Assert.That((third.Id, third.Priority, third.FairnessKey, third.RequiredTags), Is.EqualTo(((string?)null, 1, "tenant-a", (IReadOnlyCollection<string>?)null)));
        Assert.That((fourth.Id, fourth.RequiredNode, fourth.Priority), Is.EqualTo(("task-4", (string?)null, 9)), "the text read before the last is parsed again, not confused with it");
    }

    [Test]
    public void Deserialize_OnManyThreadsAtOnce_EveryThreadReadsWhatItsTextSays()
    {
        var texts = Enumerable.Range(0, 8).Select(i => StoredOptions.Serialize(new TaskOptions { Priority = i, Kind = $"kind-{i}" })).ToArray();
        var wrong = 0;
        Parallel.For(0, 8_000, i =>
        {
            var which = (i * 7) % texts.Length;
            var options = StoredOptions.Deserialize(texts[which], null, $"task-{i}", null);
            if (options.Priority != which || options.Kind != $"kind-{which}" || options.Id != $"task-{i}")
            {
                Interlocked.Increment(ref wrong);
            }
        });

        Assert.That(wrong, Is.Zero);
    }
}

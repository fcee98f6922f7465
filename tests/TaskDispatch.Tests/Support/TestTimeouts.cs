namespace TaskDispatch.Tests.Support;

public static class TestTimeouts
{
    /// <summary>How long a test waits for something that should happen at once; generous for a loaded 2-core machine.</summary>
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes; for conditions without a signal.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Yield();
            await Task.Delay(1);
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using Microsoft.Coyote;
using Microsoft.Coyote.SystematicTesting;

namespace TaskDispatch.CoyoteTests;

/// <summary>Runs every race test under Coyote's <see cref="TestingEngine"/>. Arguments: [iterations] [test-name-filter].</summary>
/// <remarks>This assembly and TaskDispatch.dll must have been rewritten with <c>coyote rewrite</c> first
/// (eng/coyote-test.sh does it); an unrewritten run is refused, since it would explore nothing.</remarks>
internal static class Program
{
    /// <summary>The tests.</summary>
    private static readonly (string Name, Func<Task> Test)[] s_tests =
    [
        (nameof(RaceTests.RetryRacesCancel), RaceTests.RetryRacesCancel),
        (nameof(RaceTests.CancelRacesSuccessfulCompletion), RaceTests.CancelRacesSuccessfulCompletion),
        (nameof(RaceTests.NodeUnavailableRacesAttemptCompletion), RaceTests.NodeUnavailableRacesAttemptCompletion),
    ];

    private static int Main(string[] args)
    {
        var iterations = args.Length > 0 ? uint.Parse(args[0], CultureInfo.InvariantCulture) : 1000u;
        var filter = args.Length > 1 ? args[1] : null;
        var traceDirectory = Environment.GetEnvironmentVariable("COYOTE_TRACE_DIR") ?? Path.Combine(AppContext.BaseDirectory, "coyote-traces");
        int passed = 0, failed = 0;
        var total = Stopwatch.StartNew();
        foreach (var (name, test) in s_tests)
        {
            if (filter is not null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var configuration = Configuration.Create()
                .WithTestingIterations(iterations)
                .WithMaxSchedulingSteps(2_000)
                .WithRandomGeneratorSeed(0x5EED + (uint)passed + (uint)failed)
                .WithSystematicFuzzingFallbackEnabled(false);
            using var engine = TestingEngine.Create(configuration, test);
            if (!engine.IsTestRewritten())
            {
                Console.Error.WriteLine($"{name}: the test assembly was not rewritten by 'coyote rewrite'; run eng/coyote-test.sh.");
                failed++;
                continue;
            }

            RaceTests.Outcomes.Clear();
            var watch = Stopwatch.StartNew();
            engine.Run();
            watch.Stop();
            var report = engine.TestReport;
            Console.WriteLine(
                $"{name}: {report.NumOfExploredFairPaths + report.NumOfExploredUnfairPaths} iterations, " +
                $"{report.NumOfFoundBugs} bug(s), controlled operations max {report.MaxControlledOperations}, " +
                $"steps max {report.MaxExploredFairSteps}, uncontrolled invocations {report.UncontrolledInvocations.Count}, " +
                $"{watch.Elapsed.TotalSeconds:0.0}s");
            foreach (var invocation in report.UncontrolledInvocations)
            {
                Console.WriteLine($"  uncontrolled: {invocation}");
            }

            var outcomes = RaceTests.Outcomes.ToArray();
            Console.WriteLine($"  outcomes: {string.Join(", ", outcomes.OrderBy(static o => o.Key, StringComparer.Ordinal).Select(static o => $"{o.Key} {o.Value}"))}");
            if (report.NumOfFoundBugs == 0 && outcomes.Length < 2)
            {
                // Every iteration took the same side of the race: the test explored nothing worth the name.
                Console.WriteLine("  NOT EXPLORED: every iteration ended the same way; the race was never reached");
                failed++;
                continue;
            }

            if (report.NumOfFoundBugs == 0)
            {
                passed++;
                continue;
            }

            failed++;
            foreach (var bug in report.BugReports)
            {
                Console.WriteLine($"  BUG: {bug}");
            }

            Directory.CreateDirectory(traceDirectory);
            var tracePath = Path.Combine(traceDirectory, name + ".trace");
            File.WriteAllText(tracePath, engine.ReproducibleTrace);
            File.WriteAllText(Path.Combine(traceDirectory, name + ".txt"), engine.ReadableTrace);
            Console.WriteLine($"  reproducible trace: {tracePath} (readable: {Path.ChangeExtension(tracePath, ".txt")})");
        }

        Console.WriteLine($"coyote: {iterations} iterations per test, {total.Elapsed.TotalSeconds:0.0}s");
        Console.WriteLine($"coyote: {passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }
}

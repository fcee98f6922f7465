namespace TaskDispatch.Simulation.Tests;

/// <summary>The simulator against queueing theory, with the policy objects the dispatcher runs. Each check states its
/// sample size; the tolerance is 5 % of the textbook value, and the simulated mean is also given a 99.9 % confidence
/// interval by batch means (waits in a queue are correlated, so 40 consecutive batches stand in for independent
/// samples), which must lie within the tolerance for the check to mean something.</summary>
[TestFixture]
[CancelAfter(300_000)]
public sealed class TheoryTests
{
    private const double Tolerance = 0.05;

    /// <summary>Student's t at 99.9 % two-sided with 39 degrees of freedom.</summary>
    private const double T999 = 3.558;

    private static readonly TimeSpan MeanService = TimeSpan.FromMilliseconds(1);

    [TestCase(1, 0.5, 400_000)]
    [TestCase(1, 0.7, 1_000_000)]
    [TestCase(1, 0.9, 4_000_000)]
    [TestCase(4, 0.5, 2_000_000)]
    [TestCase(4, 0.7, 1_000_000)]
    [TestCase(4, 0.9, 4_000_000)]
    public void Fcfs_on_M_M_c_waits_as_Erlang_C_says(int servers, double load, int tasks)
    {
        var serviceRate = 1 / MeanService.TotalSeconds;
        var arrivalRate = load * servers * serviceRate;
        var expected = QueueingTheory.ErlangCMeanWait(servers, arrivalRate, serviceRate);

        var (report, waits) = Simulate(tasks, arrivalRate, SchedulingPolicy.FirstComeFirstServed(), servers);
        var (mean, halfWidth) = BatchMeans(waits, tasks);
        TestContext.Out.WriteLine($"M/M/{servers} at ρ = {load}: Erlang C {expected * 1000:0.0000} ms, simulated {mean * 1000:0.0000} ms ± {halfWidth * 1000:0.0000} (99.9 %), {tasks:N0} tasks, {report.TasksPerSecond:N0} simulated tasks/s");

        Assert.That(Math.Abs(mean - expected) / expected, Is.LessThan(Tolerance));
        Assert.That(halfWidth / expected, Is.LessThan(Tolerance), "the sample is large enough for the tolerance to mean something");
    }

    [Test]
    public void Two_priority_classes_in_M_M_1_wait_as_Cobham_says()
    {
        const int Tasks = 2_000_000;
        var serviceRate = 1 / MeanService.TotalSeconds;
        var rates = new[] { 0.4 * serviceRate, 0.4 * serviceRate };
        var expected = QueueingTheory.PriorityMeanWaits(rates, serviceRate);

        // Each task is high (priority 1) or low (0) with equal probability, independent of its size.
        var high = new bool[Tasks];
        var workload = Workload(Tasks, rates.Sum(), (task, random) =>
        {
            high[task.Index] = random.NextDouble() < 0.5;
            return high[task.Index] ? HighPriority : LowPriority;
        });
        var waits = new double[Tasks];
        var report = PolicySimulator.Run(workload, [new SimulatedNode("server")], SchedulingPolicy.Priority(), onTaskEnded: outcome => waits[outcome.Index] = outcome.Wait.TotalSeconds);

        for (var k = 0; k < 2; k++)
        {
            var isHigh = k == 0;
            var classWaits = waits.Where((_, index) => index >= Tasks / 20 && high[index] == isHigh).ToArray();
            var (mean, halfWidth) = BatchMeans(classWaits, classWaits.Length, skip: 0);
            TestContext.Out.WriteLine($"{(isHigh ? "high" : "low")} class: Cobham {expected[k] * 1000:0.0000} ms, simulated {mean * 1000:0.0000} ms ± {halfWidth * 1000:0.0000} (99.9 %)");
            Assert.That(Math.Abs(mean - expected[k]) / expected[k], Is.LessThan(Tolerance), isHigh ? "high" : "low");
            Assert.That(halfWidth / expected[k], Is.LessThan(Tolerance));
        }

        Assert.That(report.Tasks, Is.EqualTo(Tasks));
    }

    [Test]
    public void Shortest_job_first_on_M_M_1_waits_as_the_known_result_says()
    {
        const int Tasks = 2_000_000;
        var serviceRate = 1 / MeanService.TotalSeconds;
        var arrivalRate = 0.7 * serviceRate;
        var expected = QueueingTheory.ShortestJobFirstMeanWait(arrivalRate, serviceRate);
        var fcfs = QueueingTheory.ErlangCMeanWait(1, arrivalRate, serviceRate);

        var (_, waits) = Simulate(Tasks, arrivalRate, SchedulingPolicy.ShortestJobFirst(), 1, static (task, _) => new TaskOptions { EstimatedDuration = task.ServiceTime });
        var (mean, halfWidth) = BatchMeans(waits, Tasks);
        TestContext.Out.WriteLine($"SJF in M/M/1 at ρ = 0.7: theory {expected * 1000:0.0000} ms (FCFS {fcfs * 1000:0.0000} ms, a gain of {fcfs / expected:0.00}x), simulated {mean * 1000:0.0000} ms ± {halfWidth * 1000:0.0000} (99.9 %)");
        Assert.That(Math.Abs(mean - expected) / expected, Is.LessThan(Tolerance));
        Assert.That(halfWidth / expected, Is.LessThan(Tolerance));
    }

    [TestCaseSource(nameof(VaryingServiceTimes))]
    public void Shortest_job_first_never_waits_longer_than_fcfs_when_service_times_vary(string name, ServiceTime serviceTime)
    {
        foreach (var arrivals in new[] { Arrivals.AllAtOnce(), Arrivals.Poisson(0.85 / serviceTime.Mean.TotalSeconds), Arrivals.Bursty(2 / serviceTime.Mean.TotalSeconds, serviceTime.Mean * 200, serviceTime.Mean * 300) })
        {
            var workload = new SimulatedWorkload { Count = 20_000, Arrivals = arrivals, ServiceTime = serviceTime, Seed = 7, Options = static (task, _) => new TaskOptions { EstimatedDuration = task.ServiceTime } };
            var fcfs = PolicySimulator.Run(workload, [new SimulatedNode("a", 2)], SchedulingPolicy.FirstComeFirstServed());
            var sjf = PolicySimulator.Run(workload, [new SimulatedNode("a", 2)], SchedulingPolicy.ShortestJobFirst());
            TestContext.Out.WriteLine($"{name}, {arrivals.GetType().Name}: FCFS {fcfs.Waiting.Mean.TotalMilliseconds:0.###} ms, SJF {sjf.Waiting.Mean.TotalMilliseconds:0.###} ms");
            Assert.That(sjf.Waiting.Mean, Is.LessThanOrEqualTo(fcfs.Waiting.Mean), $"{name}, {arrivals.GetType().Name}");
        }
    }

    private static IEnumerable<TestCaseData> VaryingServiceTimes()
    {
        yield return new TestCaseData("exponential", ServiceTime.Exponential(TimeSpan.FromMilliseconds(10)));
        yield return new TestCaseData("log-normal", ServiceTime.LogNormal(TimeSpan.FromMilliseconds(10), 1));
        yield return new TestCaseData("bimodal", ServiceTime.Bimodal(0.8, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(1000)));
        yield return new TestCaseData("Pareto", ServiceTime.Pareto(TimeSpan.FromMilliseconds(1), 1.5));
    }

    private static readonly TaskOptions HighPriority = new() { Priority = 1 };
    private static readonly TaskOptions LowPriority = new() { Priority = 0 };

    private static SimulatedWorkload Workload(int tasks, double arrivalRate, Func<SimulatedTask, Random, TaskOptions>? options = null) => new()
    {
        Count = tasks,
        Arrivals = Arrivals.Poisson(arrivalRate),
        ServiceTime = ServiceTime.Exponential(MeanService),
        Seed = 20261201,
        Options = options,
    };

    private static (SimulationReport Report, double[] Waits) Simulate(int tasks, double arrivalRate, ISchedulingPolicy policy, int servers, Func<SimulatedTask, Random, TaskOptions>? options = null)
    {
        var waits = new double[tasks];
        var report = PolicySimulator.Run(Workload(tasks, arrivalRate, options), [new SimulatedNode("server", servers)], policy, onTaskEnded: outcome => waits[outcome.Index] = outcome.Wait.TotalSeconds);
        return (report, waits);
    }

    /// <summary>The mean wait after a warm-up (the first 5 %, from an empty system) and its 99.9 % half-width from 40
    /// batch means.</summary>
    private static (double Mean, double HalfWidth) BatchMeans(double[] waits, int count, int? skip = null)
    {
        const int Batches = 40;
        var start = skip ?? count / 20;
        var size = (count - start) / Batches;
        var means = new double[Batches];
        for (var b = 0; b < Batches; b++)
        {
            var sum = 0.0;
            for (var i = start + (b * size); i < start + ((b + 1) * size); i++)
            {
                sum += waits[i];
            }

            means[b] = sum / size;
        }

        var mean = means.Average();
        var variance = means.Sum(m => (m - mean) * (m - mean)) / (Batches - 1);
        return (mean, T999 * Math.Sqrt(variance / Batches));
    }
}

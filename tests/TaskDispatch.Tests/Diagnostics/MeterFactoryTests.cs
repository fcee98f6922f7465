using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using TaskDispatch.Tests.Support;

namespace TaskDispatch.Tests.Diagnostics;

/// <summary>Under DI, a dispatcher's meter comes from the container's <see cref="IMeterFactory"/>.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class MeterFactoryTests
{
    [Test]
    public async Task AddTaskDispatch_ContainerHasAMeterFactory_InstrumentsComeFromItsMeter()
    {
        using var factory = new RecordingMeterFactory();
        var services = new ServiceCollection();
        services.AddSingleton<IMeterFactory>(factory);
        services.AddTaskDispatch("metered").AddNode("a");
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredKeyedService<ITaskDispatcher>("metered");
        using var listener = new MeterListener();
        var submitted = 0L;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, factory.Created.SingleOrDefault()) && instrument.Name == TaskDispatchMetrics.TasksSubmitted)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref submitted, value));
        listener.Start();

        await (await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask)).AsValueTask();

        Assert.That(factory.Created, Has.Count.EqualTo(1));
        Assert.That(factory.Created[0].Name, Is.EqualTo(TaskDispatchMetrics.MeterName));
        Assert.That(Interlocked.Read(ref submitted), Is.EqualTo(1));
    }

    [Test]
    public async Task TaskDispatcherBuilder_NoServiceProvider_UsesTheProcessWideMeter()
    {
        await using var dispatcher = new TaskDispatcherBuilder("unmetered-by-factory").AddNode("a").Build();
        using var collector = new MeterCollector("unmetered-by-factory");

        await (await dispatcher.SubmitAsync(static _ => ValueTask.CompletedTask)).AsValueTask();

        Assert.That(collector.Of(TaskDispatchMetrics.TasksSubmitted).Count(), Is.EqualTo(1));
    }

    /// <summary>Creates meters as a host's factory does (one per name), and remembers them.</summary>
    private sealed class RecordingMeterFactory : IMeterFactory
    {
        public List<Meter> Created { get; } = [];

        public Meter Create(MeterOptions options)
        {
            lock (Created)
            {
                if (Created.Find(meter => meter.Name == options.Name) is { } existing)
                {
                    return existing;
                }

                var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
                Created.Add(meter);
                return meter;
            }
        }

        public void Dispose()
        {
            foreach (var meter in Created)
            {
                meter.Dispose();
            }
        }
    }
}

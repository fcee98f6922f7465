namespace TaskDispatch;

/// <summary>What the gate runs as one scheduler step.</summary>
internal interface ISchedulerStep
{
    /// <summary>Runs one step: the queued events and ready tasks, then <paramref name="direct"/> when given, then placement.</summary>
    void RunStep(in SchedulerEvent direct, bool hasDirect);
}

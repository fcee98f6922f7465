namespace TaskDispatch;

/// <summary>A scheduling policy that learns from finished work, for example how long each kind of task runs.</summary>
/// <remarks>The dispatcher calls <see cref="OnAttemptSucceeded"/> from its scheduler, never concurrently with the
/// policy's other members, so the policy still needs no locks.</remarks>
public interface ILearningSchedulingPolicy : ISchedulingPolicy
{
    /// <summary>Reports an attempt that completed successfully.</summary>
    /// <param name="task">The task; its <see cref="TaskHandle.Kind"/> says what kind of work it was.</param>
    /// <param name="processingTime">How long the attempt ran, on the dispatcher's clock.</param>
    void OnAttemptSucceeded(TaskHandle task, TimeSpan processingTime);
}
